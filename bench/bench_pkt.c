/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Benchmark frame builder and parser (see bench_pkt.h for the layout).
 * Byte-level code with explicit big-endian stores so it has no dependency
 * on DPDK headers and can be unit-tested on its own.
 */
#include "bench_pkt.h"

#include <errno.h>
#include <string.h>

#define ETH_HLEN	14
#define VLAN_HLEN	4
#define IP_HLEN		20
#define UDP_HLEN	8
#define ETHERTYPE_IPV4	0x0800
#define ETHERTYPE_VLAN	0x8100
#define IPPROTO_UDP_NUM 17

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static uint16_t ip_checksum(const uint8_t *ip)
{
	uint32_t sum = 0;

	for (int i = 0; i < IP_HLEN; i += 2)
		sum += get16(ip + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

void bench_pkt_mac(uint8_t mac[6], unsigned int port, uint32_t index)
{
	mac[0] = 0x02;
	mac[1] = (uint8_t)port;
	put32(mac + 2, index);
}

void bench_pkt_flow(struct bench_pkt_hdr *h, unsigned int port, unsigned int peer, uint32_t flow,
		    uint16_t vlan)
{
	bench_pkt_mac(h->src_mac, port, flow);
	bench_pkt_mac(h->dst_mac, peer, flow);
	h->vlan = vlan;
	h->src_ip = (10u << 24) | ((port & 0xff) << 16) | (flow & 0xffff);
	h->dst_ip = (10u << 24) | ((peer & 0xff) << 16) | (flow & 0xffff);
	/* Vary the UDP ports too, so 5-tuple flows are distinct beyond 65536. */
	h->src_port = (uint16_t)(1024 + (flow >> 16) + port);
	h->dst_port = (uint16_t)(1024 + (flow >> 16) + peer);
}

static bool size_ok(unsigned int size)
{
	return size >= BENCH_PKT_MIN_SIZE && size <= BENCH_PKT_MAX_SIZE;
}

/* Offset of the IPv4 header in a frame we built (or received). */
static size_t ip_offset(const uint8_t *buf)
{
	return get16(buf + 12) == ETHERTYPE_VLAN ? ETH_HLEN + VLAN_HLEN : ETH_HLEN;
}

int bench_pkt_resize(uint8_t *buf, unsigned int size)
{
	size_t l3 = ip_offset(buf);
	uint8_t *ip = buf + l3;
	unsigned int ip_len;

	if (!size_ok(size))
		return -EINVAL;
	ip_len = size - BENCH_PKT_FCS_LEN - (unsigned int)l3;
	put16(ip + 2, (uint16_t)ip_len);
	put16(ip + 10, 0);
	put16(ip + 10, ip_checksum(ip));
	put16(ip + IP_HLEN + 4, (uint16_t)(ip_len - IP_HLEN));
	return 0;
}

int bench_pkt_build(uint8_t *buf, const struct bench_pkt_hdr *h, unsigned int size)
{
	size_t off = 12;
	uint8_t *ip, *udp;

	if (!size_ok(size))
		return -EINVAL;
	memset(buf, 0, BENCH_PKT_HDR_MAX);
	memcpy(buf, h->dst_mac, 6);
	memcpy(buf + 6, h->src_mac, 6);
	if (h->vlan) {
		put16(buf + off, ETHERTYPE_VLAN);
		put16(buf + off + 2, h->vlan & 0x0fff);
		off += VLAN_HLEN;
	}
	put16(buf + off, ETHERTYPE_IPV4);
	ip = buf + off + 2;
	udp = ip + IP_HLEN;
	ip[0] = 0x45;
	ip[8] = 64; /* TTL */
	ip[9] = IPPROTO_UDP_NUM;
	put32(ip + 12, h->src_ip);
	put32(ip + 16, h->dst_ip);
	put16(udp, h->src_port);
	put16(udp + 2, h->dst_port);
	bench_pkt_resize(buf, size);
	return (int)(udp + UDP_HLEN - buf);
}

void bench_pkt_stamp(uint8_t *stamp, uint8_t port, uint8_t trial, uint32_t seq, uint64_t tsc)
{
	put16(stamp, BENCH_PKT_MAGIC);
	stamp[2] = port;
	stamp[3] = trial;
	put32(stamp + 4, seq);
	put16(stamp + 8, (uint16_t)(tsc >> 32));
	put32(stamp + 10, (uint32_t)tsc);
}

bool bench_pkt_parse(const uint8_t *buf, size_t len, struct bench_pkt_info *info)
{
	size_t l3, st;
	uint16_t vlan = 0;

	if (len < ETH_HLEN + IP_HLEN + UDP_HLEN + BENCH_PKT_STAMP_LEN)
		return false;
	l3 = ip_offset(buf);
	if (l3 != ETH_HLEN)
		vlan = get16(buf + ETH_HLEN) & 0x0fff;
	st = l3 + IP_HLEN + UDP_HLEN;
	if (len < st + BENCH_PKT_STAMP_LEN || get16(buf + l3 - 2) != ETHERTYPE_IPV4)
		return false;
	if (buf[l3] != 0x45 || buf[l3 + 9] != IPPROTO_UDP_NUM || get16(buf + st) != BENCH_PKT_MAGIC)
		return false;
	info->vlan = vlan;
	info->port = buf[st + 2];
	info->trial = buf[st + 3];
	info->seq = get32(buf + st + 4);
	info->tsc48 = (uint64_t)get16(buf + st + 8) << 32 | get32(buf + st + 10);
	return true;
}
