/* SPDX-License-Identifier: BSD-3-Clause */
/* Frame parsing for policy: see flow.h. */
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "flow.h"

/* Bytes of m from off, or NULL when the first segment is shorter. */
static const uint8_t *at(const struct rte_mbuf *m, uint32_t off, uint32_t len)
{
	if (off + len > m->data_len)
		return NULL;
	return rte_pktmbuf_mtod_offset(m, const uint8_t *, off);
}

static void parse_l4(const struct rte_mbuf *m, uint32_t off, struct pol_flow *f)
{
	const uint8_t *p;

	switch (f->proto) {
	case POL_PROTO_TCP:
		p = at(m, off, sizeof(struct rte_tcp_hdr));
		if (p) {
			f->sport = (uint16_t)(p[0] << 8 | p[1]);
			f->dport = (uint16_t)(p[2] << 8 | p[3]);
			f->tcp_flags = p[13];
		}
		break;
	case POL_PROTO_UDP:
		p = at(m, off, sizeof(struct rte_udp_hdr));
		if (p) {
			f->sport = (uint16_t)(p[0] << 8 | p[1]);
			f->dport = (uint16_t)(p[2] << 8 | p[3]);
		}
		break;
	case POL_PROTO_ICMP:
	case POL_PROTO_ICMPV6:
		p = at(m, off, 8);
		if (p) {
			f->icmp_type = p[0];
			/* echo request/reply: the identifier pairs the two directions */
			if (p[0] == 0 || p[0] == 8 || p[0] == 128 || p[0] == 129)
				f->sport = f->dport = (uint16_t)(p[4] << 8 | p[5]);
		}
		break;
	}
}

static void parse_ipv4(const struct rte_mbuf *m, uint32_t off, struct pol_flow *f)
{
	const uint8_t *p = at(m, off, sizeof(struct rte_ipv4_hdr));
	uint32_t ihl;

	if (!p || (p[0] >> 4) != 4)
		return;
	ihl = (uint32_t)(p[0] & 0xf) * 4;
	if (ihl < sizeof(struct rte_ipv4_hdr) || !at(m, off, ihl))
		return;
	f->family = POL_IPV4;
	f->proto = p[9];
	memcpy(f->src, p + 12, 4);
	memcpy(f->dst, p + 16, 4);
	/* only the first fragment carries the L4 header */
	if ((((uint16_t)p[6] << 8 | p[7]) & 0x1fff) == 0)
		parse_l4(m, off + ihl, f);
}

static void parse_ipv6(const struct rte_mbuf *m, uint32_t off, struct pol_flow *f)
{
	const uint8_t *p = at(m, off, sizeof(struct rte_ipv6_hdr));
	uint8_t next;

	if (!p || (p[0] >> 4) != 6)
		return;
	f->family = POL_IPV6;
	memcpy(f->src, p + 8, 16);
	memcpy(f->dst, p + 24, 16);
	next = p[6];
	off += sizeof(struct rte_ipv6_hdr);
	/* skip hop-by-hop, routing and destination options headers */
	for (int i = 0; i < 4 && (next == 0 || next == 43 || next == 60); i++) {
		const uint8_t *x = at(m, off, 8);

		if (!x) {
			f->proto = next;
			return;
		}
		next = x[0];
		off += (uint32_t)(x[1] + 1) * 8;
	}
	f->proto = next;
	if (next != 44) /* fragments: no L4 header here */
		parse_l4(m, off, f);
}

void pol_flow_parse(const struct rte_mbuf *m, struct pol_flow *f)
{
	const uint8_t *eth = at(m, 0, RTE_ETHER_HDR_LEN);
	uint32_t off = RTE_ETHER_HDR_LEN;

	memset(f, 0, sizeof(*f));
	if (!eth)
		return;
	memcpy(f->dmac, eth, 6);
	memcpy(f->smac, eth + 6, 6);
	f->ethertype = (uint16_t)(eth[12] << 8 | eth[13]);
	if (f->ethertype == RTE_ETHER_TYPE_VLAN) {
		const uint8_t *t = at(m, off, 4);

		if (!t)
			return;
		f->ethertype = (uint16_t)(t[2] << 8 | t[3]);
		off += 4;
	}
	if (f->ethertype == RTE_ETHER_TYPE_IPV4)
		parse_ipv4(m, off, f);
	else if (f->ethertype == RTE_ETHER_TYPE_IPV6)
		parse_ipv6(m, off, f);
}
