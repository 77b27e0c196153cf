/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-port counters. Drop reasons come from one X-macro list so that the
 * enum, the JSON names and the human names never disagree (STYLE.md 11).
 * The datapath keeps one counter block per (lcore, port) and only that
 * lcore writes it; readers sum the blocks and may see a count a burst old.
 */
#ifndef VSW_STATS_H
#define VSW_STATS_H

#include <stdint.h>

#include <rte_common.h>

/* X(enum suffix, JSON name, what it means) */
#define VSW_DROP_REASONS(X)                                                                     \
	X(MALFORMED, "malformed", "frame shorter than an Ethernet header")                     \
	X(VLAN_FILTERED, "vlan_filtered", "VLAN not carried by the ingress or egress port")      \
	X(SAME_PORT, "same_port", "destination learned on the ingress port (no hairpin)")       \
	X(PORT_DOWN, "port_down", "destination port is administratively down")                 \
	X(TX_FULL, "tx_full", "egress queue full")                                             \
	X(NO_BUFFER, "no_buffer", "no mbuf for a flood copy or a VLAN tag")                     \
	X(ACL_DENY, "acl_deny", "denied by a port ACL or an extended ACL")                     \
	X(MAC_SPOOFING, "mac_spoofing", "source MAC not the port's (spoofing guard)")           \
	X(DHCP_GUARD, "dhcp_guard", "DHCP server message from a guarded port")                  \
	X(ROUTER_GUARD, "router_guard", "router advertisement or redirect from a guarded port") \
	X(STORM, "storm", "flooded frame over the port's storm limit")                         \
	X(RATE_LIMIT, "rate_limit", "over the port's maximum bandwidth")                        \
	X(EXT_DROP, "ext_drop", "dropped by an extension, or steered to a port it cannot use")

enum vsw_drop_reason {
#define VSW_DROP_ENUM(e, name, what) VSW_DROP_##e,
	VSW_DROP_REASONS(VSW_DROP_ENUM)
#undef VSW_DROP_ENUM
	VSW_DROP_MAX
};

/* Counters of one port as seen by one lcore (written by that lcore only). */
struct vsw_port_counters {
	uint64_t rx_packets, rx_bytes;
	uint64_t tx_packets, tx_bytes;
	uint64_t flood_packets; /* frames this port's ingress flooded */
	uint64_t drops[VSW_DROP_MAX];
} __rte_cache_aligned;

/* The JSON name of a drop reason ("vlan_filtered"). */
const char *vsw_drop_name(enum vsw_drop_reason r);

#endif
