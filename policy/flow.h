/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The L3/L4 view of a frame that policy needs: address family, protocol,
 * addresses, ports (ICMP: the echo identifier as both), TCP flags, ICMP
 * type. Parsed once per frame, only on ports that have policy. Every
 * length and offset is checked against the frame; a truncated header makes
 * the frame "not IP" for policy purposes (it still switches). Any thread.
 */
#ifndef POL_FLOW_H
#define POL_FLOW_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

enum pol_family {
	POL_NOT_IP = 0,
	POL_IPV4 = 4,
	POL_IPV6 = 6,
};

struct pol_flow {
	uint8_t family;	   /* enum pol_family */
	uint8_t proto;	   /* IP protocol (IPv6: after extension headers it skipped) */
	uint8_t tcp_flags;
	uint8_t icmp_type;
	uint16_t sport, dport; /* host order */
	uint8_t src[16], dst[16]; /* IPv4 in the first 4 bytes; network order */
	uint8_t smac[6], dmac[6];
	uint16_t ethertype;    /* after any VLAN tag, host order */
};

#define POL_PROTO_ICMP 1
#define POL_PROTO_TCP 6
#define POL_PROTO_UDP 17
#define POL_PROTO_ICMPV6 58

#define POL_TCP_FIN 0x01
#define POL_TCP_SYN 0x02
#define POL_TCP_RST 0x04
#define POL_TCP_ACK 0x10

/* Parses frame m (Ethernet, optionally one 802.1Q tag) into f. */
void pol_flow_parse(const struct rte_mbuf *m, struct pol_flow *f);

/* Address length in bytes of a family: 4, 16, or 0. */
static inline unsigned int pol_addr_len(uint8_t family)
{
	return family == POL_IPV4 ? 4 : family == POL_IPV6 ? 16 : 0;
}

#endif
