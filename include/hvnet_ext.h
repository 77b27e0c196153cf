/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hvnet switch extensions: the interface for eBPF programs that vswitchd
 * runs at the extension points of the Hyper-V extensible switch. Build a
 * program with "clang -O2 -target bpf -c prog.c -o prog.o" and load it with
 * "vswitchctl ext add SWITCH NAME --object prog.o --hook HOOK [--port P]".
 *
 * A program is a function in an ELF section named after its hook
 * (HVNET_EXT(capture), HVNET_EXT(filter) or HVNET_EXT(forward)); it gets a
 * read-only copy of the frame and facts about it in struct hvnet_ext_ctx
 * and answers with its return value:
 *   capture: observes only (counters); the return value is ignored.
 *   filter:  HVNET_EXT_PASS lets the frame go on, HVNET_EXT_DROP drops it.
 *   forward: HVNET_EXT_L2 leaves the decision to the MAC table;
 *            HVNET_EXT_PORT(id) sends the frame to port id (the "id" of
 *            "vswitchctl port show"); VLAN and egress policy still apply.
 * On a frame's way in: capture programs, filter programs, forward
 * programs, then port policy and switching. Switch-wide programs see the
 * frames of every port, port programs those received from their port.
 *
 * vswitchd verifies a program when it loads it (DPDK's rte_bpf verifier):
 * a program that reads or writes outside its context (including data[]
 * past HVNET_EXT_DATA), loops, or calls an unknown helper is rejected
 * with the verifier's reason. Changes a program makes to its context are
 * not seen by the frame or by other programs. The verifier follows constant
 * offsets; prefer the parsed fields to computed offsets into data[].
 * Bytes of data[] past caplen are undefined.
 */
#ifndef HVNET_EXT_H
#define HVNET_EXT_H

#ifndef __BPF__
#include <stdint.h>
#else
typedef unsigned char uint8_t;
typedef unsigned short uint16_t;
typedef unsigned int uint32_t;
typedef unsigned long long uint64_t;
#endif

#define HVNET_EXT_DATA 256 /* bytes of each frame a program sees */

struct hvnet_ext_ctx {
	uint32_t len;	   /* frame length in bytes */
	uint32_t caplen;   /* bytes of the frame in data[]: min(len, HVNET_EXT_DATA) */
	uint16_t in_port;  /* id of the port the frame came from */
	uint16_t vlan;	   /* VLAN the ingress port put the frame in (0: untagged network) */
	uint16_t sw;	   /* id of the switch */
	uint16_t ethertype; /* after an 802.1Q tag, if any */
	/* the switch parses IPv4 and IPv6 headers for programs: */
	uint8_t family;	   /* 4, 6, or 0 when not IP */
	uint8_t proto;	   /* IP protocol (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6) */
	uint8_t tcp_flags; /* TCP: FIN 0x01, SYN 0x02, RST 0x04, ACK 0x10 */
	uint8_t icmp_type;
	uint16_t sport, dport; /* TCP/UDP ports (ICMP echo: the identifier) */
	uint32_t src4, dst4;   /* IPv4 addresses as numbers (10.0.0.1 is 0x0a000001) */
	uint8_t src[16], dst[16]; /* addresses as bytes (IPv4 in the first 4) */
	uint64_t arg[4];   /* the program's arguments ("ext add --args") */
	uint8_t data[HVNET_EXT_DATA]; /* the frame as received (with its 802.1Q tag, if any) */
};

#define HVNET_EXT_DROP 0
#define HVNET_EXT_PASS 1
#define HVNET_EXT_L2 0
#define HVNET_EXT_PORT(id) ((uint64_t)(id) + 1)

/* Places a program in the section of its hook. */
#define HVNET_EXT(hook) __attribute__((section(#hook), used))

/*
 * Helpers (called like functions; vswitchd provides them):
 * hvnet_count(key, n) adds n to the program's counter key (up to 256 keys
 * per program; "vswitchctl ext list" shows them). Returns the new value,
 * or 0 when the table is full.
 */
static uint64_t (*const hvnet_count)(uint64_t key, uint64_t n) = (void *)1;

#endif
