/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Packet capture sessions ("vswitchctl capture"). A session taps a set of
 * ports in one or both directions; the datapath runs its filter (a tcpdump
 * expression compiled by libpcap, converted to eBPF and JIT-compiled by
 * DPDK) on each frame and queues matches, without copying them, on the
 * session's bounded ring: it takes a reference on the mbuf and queues it
 * with its data address and length (one ring operation per burst). A
 * writer thread turns them into pcapng (up to snaplen bytes each) without
 * reading the mbufs (but those of frames of several segments): it copies
 * frames of up to 256 bytes into its buffer and passes longer ones to
 * writev straight from the switch's buffers; it writes to the destination
 * the client passed, or streams to the client's connection. It hands the mbufs back on a return ring, and the next tap
 * releases them on its lcore (the writer itself once traffic stops). A
 * full ring, or the bound on frames a session may hold, queued or handed
 * back (VSW_CAPTURE_HELD_MAX; the writer holds up to 256 more), drops the
 * capture of a frame (counted), never the frame, and the switch's pool
 * cannot run dry because of a slow writer.
 *
 * Zero copy relies on one rule of the datapath: a frame whose mbuf is
 * shared (reference count above 1) is never edited in place; an edit (VLAN
 * push, pop or rewrite) goes to a copy. So the writer encodes each frame as
 * it was at the tap, and a frame tapped twice (in on one port, out on
 * another) is simply held twice.
 *
 * Stream to the client: one JSON line ({"capture": id, "interfaces": [..]}),
 * then chunks of pcapng framed as a 4-byte little-endian length and the
 * bytes, then a zero length and one JSON summary line ({"captured",
 * "filtered_out", "dropped", "reason"}, and "error" when the destination
 * could not be written). The client ends a capture by shutting down its
 * writing side.
 *
 * With a destination of its own (params.pass_fd: "vswitchctl capture -w"),
 * the client answers the JSON line with one byte carrying the destination's
 * file descriptor (SCM_RIGHTS; no descriptor, or end of stream: the client
 * gave up). The writer then writes the pcapng straight into it, no chunk
 * crosses the connection: only the zero length and the summary, sent after
 * the destination is closed (a reader of a pipe has seen its end by then).
 *
 * Threads: vsw_capture_tap() runs on datapath lcores; the writer thread is
 * the session's own, placed on the CPUs vswitchd may use minus those of the
 * datapath lcores (all of them if that leaves none), so that encoding and
 * writing take no time from the datapath; everything else is for the
 * control thread. An idle writer sleeps until the datapath queues a frame
 * (or for at most 50 ms): a capture whose filter matches nothing costs the
 * datapath its filter runs and nothing else.
 */
#ifndef VSW_CAPTURE_H
#define VSW_CAPTURE_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "ctl_err.h"
#include "pcapng.h"

#define VSW_CAPTURE_MAX 8      /* sessions at once */
#define VSW_CAPTURE_MAX_IFS 512u/* interfaces (ports) of one session, over its life */
#define VSW_CAPTURE_IN 1       /* frames the switch receives from the port */
#define VSW_CAPTURE_OUT 2      /* frames the switch sends to the port */
#define VSW_CAPTURE_SNAPLEN_MAX 262144

/*
 * The most frames of a pool of pool_size mbufs that one session holds at a
 * time (queued or being written; the writer holds up to 256 more while it
 * encodes and writes them): all sessions together hold at most half of the pool.
 */
#define VSW_CAPTURE_HELD_MAX(pool_size) ((pool_size) / (2 * VSW_CAPTURE_MAX))

struct vsw_capture;

struct vsw_capture_params {
	const char *filter;   /* tcpdump expression, or NULL for everything */
	uint32_t snaplen;     /* bytes kept per frame */
	uint64_t count;	      /* stop after this many frames (0: no limit) */
	double duration;      /* stop after this many seconds (0: no limit) */
	uint8_t dirs;	      /* VSW_CAPTURE_IN | VSW_CAPTURE_OUT */
	uint32_t max_held;    /* a lower bound on held frames than the default (0: none) */
	bool pass_fd;	      /* the client passes the destination (see above) */
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
 * header line and, unless the client passes a destination, the pcapng
 * headers; starts the writer thread. Returns 0 or -errno (the session is
 * then freed by the caller, fd closed).
 */
int vsw_capture_start(struct vsw_capture *c, int fd, unsigned int id);

/*
 * Queues the frames of pkts that pass the filter, holding a reference on
 * each (datapath lcore lcore; tsc is the burst's time). The caller must not
 * edit a frame in place while its reference count is above 1.
 */
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

/*
 * Adds a port to a switch capture (the switch gained it): a new interface,
 * or the interface of a deleted port of the same name and switch (a VM that
 * restarted). The writer describes a new interface before its first frame.
 * Returns the interface index, -ENOSPC (VSW_CAPTURE_MAX_IFS) or -ENOMEM.
 * Control thread, before the snapshot that taps the port.
 */
int vsw_capture_add_port(struct vsw_capture *c, const struct vsw_capture_port *p);

/* The session's tapped ports (UINT16_MAX: deleted) and directions, for the snapshot. */
unsigned int vsw_capture_n_ports(const struct vsw_capture *c);
uint16_t vsw_capture_port(const struct vsw_capture *c, unsigned int i);
uint8_t vsw_capture_dirs(const struct vsw_capture *c);

#endif
