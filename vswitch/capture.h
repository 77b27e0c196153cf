/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Packet capture sessions ("vswitchctl capture"). A session taps a set of
 * ports in one or both directions; the datapath runs its filter (a tcpdump
 * expression compiled by libpcap, converted to eBPF and JIT-compiled by
 * DPDK) on each frame and copies matches (up to snaplen bytes) into the
 * session's bounded ring. A writer thread turns the copies into pcapng and
 * streams it to the client's connection. A full ring, or no buffer for a
 * copy, drops the copy (counted), never the frame.
 *
 * Stream to the client: one JSON line ({"capture": id, "interfaces": [..]}),
 * then chunks of pcapng framed as a 4-byte little-endian length and the
 * bytes, then a zero length and one JSON summary line ({"captured",
 * "filtered_out", "dropped", "reason"}). The client ends a capture by
 * shutting down its writing side.
 *
 * Threads: vsw_capture_tap() runs on datapath lcores; the writer thread is
 * the session's own; everything else is for the control thread.
 */
#ifndef VSW_CAPTURE_H
#define VSW_CAPTURE_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "ctl_err.h"
#include "pcapng.h"

#define VSW_CAPTURE_MAX 8      /* sessions at once */
#define VSW_CAPTURE_IN 1       /* frames the switch receives from the port */
#define VSW_CAPTURE_OUT 2      /* frames the switch sends to the port */

struct vsw_capture;

struct vsw_capture_params {
	const char *filter;   /* tcpdump expression, or NULL for everything */
	uint32_t snaplen;     /* bytes kept per frame */
	uint64_t count;	      /* stop after this many frames (0: no limit) */
	double duration;      /* stop after this many seconds (0: no limit) */
	uint8_t dirs;	      /* VSW_CAPTURE_IN | VSW_CAPTURE_OUT */
	struct rte_mempool *pool; /* for the copies */
};

/* One tapped port: its index in the switch and the pcapng interface it becomes. */
struct vsw_capture_port {
	uint16_t port;
	const char *name, *switch_name;
};

/*
 * Compiles the filter and prepares a session for n ports. Returns NULL
 * with err set ("filter: ..." for a bad expression).
 */
struct vsw_capture *vsw_capture_create(const struct vsw_capture_params *prm,
				       const struct vsw_capture_port *ports, unsigned int n,
				       struct ctl_err *err);

/*
 * Starts streaming to fd (which the session now owns): writes the JSON
 * header line and the pcapng headers, starts the writer thread. Returns 0
 * or -errno (the session is then freed by the caller, fd closed).
 */
int vsw_capture_start(struct vsw_capture *c, int fd, unsigned int id);

/* Copies the frames of pkts that pass the filter (datapath lcore lcore). */
void vsw_capture_tap(struct vsw_capture *c, unsigned int lcore, uint16_t ifidx, uint8_t dir,
		     struct rte_mbuf **pkts, uint16_t n, uint64_t tsc);

/* Asks the session to end with a reason ("port deleted", "vswitchd stopping"). */
void vsw_capture_stop(struct vsw_capture *c, const char *reason);

/* Whether the session wants to leave the datapath (count, duration, client gone, stop). */
bool vsw_capture_ending(const struct vsw_capture *c);

/* Tells the session that no lcore taps it any more: it drains, reports and closes. */
void vsw_capture_released(struct vsw_capture *c);

/* Whether the writer finished; then vsw_capture_free() joins it. */
bool vsw_capture_finished(const struct vsw_capture *c);

/* Joins the writer (when started) and frees the session. Accepts NULL. */
void vsw_capture_free(struct vsw_capture *c);

/*
 * Forgets a deleted port (its index may be reused). Returns how many of the
 * session's ports remain.
 */
unsigned int vsw_capture_forget_port(struct vsw_capture *c, uint16_t port);

/* The session's tapped ports (UINT16_MAX: deleted) and directions, for the snapshot. */
unsigned int vsw_capture_n_ports(const struct vsw_capture *c);
uint16_t vsw_capture_port(const struct vsw_capture *c, unsigned int i);
uint8_t vsw_capture_dirs(const struct vsw_capture *c);

#endif
