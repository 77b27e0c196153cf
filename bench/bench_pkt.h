/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Benchmark frames: the layout the generator sends and the sink parses.
 *
 * A benchmark frame is Ethernet (optionally one 802.1Q tag) + IPv4 + UDP,
 * followed by a 14-byte stamp: magic, transmitting port, trial id, a 32-bit
 * sequence number and the low 48 bits of the sender's TSC. The stamp fits a
 * 64-byte frame even when tagged (46 header bytes + 14 = 60 = 64 - FCS).
 * Frame sizes in this module include the 4-byte FCS, as in RFC 2544; the
 * bytes actually carried over virtio/memif are size - 4.
 *
 * Flow f of port p uses source MAC 02:pp:ff:ff:ff:ff (f big-endian), source
 * IP 10.p.f16 and UDP ports derived from f; the destination is the same flow
 * on the peer port, so a learning switch forwards each flow to the peer.
 * Pure functions over byte buffers, no DPDK state: usable from tests.
 */
#ifndef BENCH_PKT_H
#define BENCH_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BENCH_PKT_MAGIC	     0xb7e5
#define BENCH_PKT_STAMP_LEN  14
#define BENCH_PKT_FCS_LEN    4
#define BENCH_PKT_MIN_SIZE   64
#define BENCH_PKT_MAX_SIZE   9018
/* Header bytes a template holds: Ethernet + tag + IPv4 + UDP, rounded up. */
#define BENCH_PKT_HDR_MAX    48
/* Trial id used for learning and warm-up frames; the sink ignores them. */
#define BENCH_PKT_TRIAL_NONE 0xff

/* What a frame's headers carry; filled by bench_pkt_flow(). */
struct bench_pkt_hdr {
	uint8_t src_mac[6];
	uint8_t dst_mac[6];
	uint16_t vlan;	 /* 802.1Q VID, 0 = untagged */
	uint32_t src_ip; /* host order */
	uint32_t dst_ip; /* host order */
	uint16_t src_port;
	uint16_t dst_port;
};

/* What bench_pkt_parse() finds in a received frame. */
struct bench_pkt_info {
	uint8_t port; /* transmitting generator port */
	uint8_t trial;
	uint16_t vlan; /* VID of the received tag, 0 = untagged */
	uint32_t seq;
	uint64_t tsc48; /* low 48 bits of the transmit TSC */
};

/*
 * Writes the generator MAC of flow index @index on port @port into @mac.
 * Locally administered unicast; distinct for every (port, index).
 */
void bench_pkt_mac(uint8_t mac[6], unsigned int port, uint32_t index);

/*
 * Fills @h for flow @flow sent from @port to @peer, tagged with @vlan
 * (0 = untagged). Deterministic: the reverse flow (peer to port) of the same
 * index swaps the MACs, IPs and UDP ports.
 */
void bench_pkt_flow(struct bench_pkt_hdr *h, unsigned int port, unsigned int peer, uint32_t flow,
		    uint16_t vlan);

/*
 * Writes the headers of @h into @buf for a frame of @size bytes (including
 * FCS, so @size - 4 bytes go on the wire) with IPv4 checksum and UDP length
 * set. @buf must hold BENCH_PKT_HDR_MAX bytes. Returns the offset of the
 * stamp (the header length), or -EINVAL if @size is outside
 * [BENCH_PKT_MIN_SIZE, BENCH_PKT_MAX_SIZE].
 */
int bench_pkt_build(uint8_t *buf, const struct bench_pkt_hdr *h, unsigned int size);

/*
 * Rewrites the IPv4 and UDP lengths (and IPv4 checksum) of a frame built by
 * bench_pkt_build() for a new @size. Returns 0, or -EINVAL for a bad size.
 */
int bench_pkt_resize(uint8_t *buf, unsigned int size);

/* Writes the stamp at @stamp (the offset returned by bench_pkt_build()). */
void bench_pkt_stamp(uint8_t *stamp, uint8_t port, uint8_t trial, uint32_t seq, uint64_t tsc);

/*
 * Parses @len bytes at @buf. Returns true and fills @info when the frame is
 * a benchmark frame (IPv4/UDP, optionally tagged, with our magic); false for
 * anything else, including truncated frames. Never reads past @len.
 */
bool bench_pkt_parse(const uint8_t *buf, size_t len, struct bench_pkt_info *info);

/* Difference a - b of two 48-bit TSC values, modulo 2^48. */
static inline uint64_t bench_pkt_tsc_diff(uint64_t a, uint64_t b)
{
	return (a - b) & ((UINT64_C(1) << 48) - 1);
}

#endif /* BENCH_PKT_H */
