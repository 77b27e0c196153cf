/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The switch datapath: one run-to-completion loop per datapath lcore.
 * Each loop polls the receive bursts (32 frames) of the ports assigned to
 * it, classifies VLANs, learns and looks up MACs in bulk, floods within
 * the VLAN, edits 802.1Q tags per egress port and transmits in bursts. No
 * locks, allocation or system calls per frame (flood copies come from the
 * mbuf pool).
 *
 * Configuration is an immutable snapshot (struct vsw_dp_config) built by
 * the control thread and published by pointer swap with release ordering;
 * the loops acquire it once per iteration and report a quiescent state
 * (RCU QSBR) at the end of each iteration, after which the old snapshot is
 * freed (STYLE.md 10). Counters are per (lcore, port), written only by
 * their lcore.
 */
#ifndef VSW_DATAPATH_H
#define VSW_DATAPATH_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_rcu_qsbr.h>

#include "capture.h"
#include "ext.h"
#include "fdb.h"
#include "policy.h"
#include "port_provider.h"
#include "stats.h"
#include "vlan.h"

#define VSW_MAX_PORTS 256
#define VSW_MAX_SWITCHES 64
#define VSW_MAX_LCORES 16
#define VSW_BURST 32
#define VSW_MAX_TAPS 4 /* capture sessions tapping one port */

enum vsw_mirror {
	VSW_MIRROR_NONE,
	VSW_MIRROR_SOURCE,	/* its traffic, both ways, is copied to the destinations */
	VSW_MIRROR_DESTINATION,
};

#define VSW_MAX_EXT_HOOKED 8 /* programs at one hook of one port (switch-wide ones included) */

/* An extension program as attached: the program and its arguments. */
struct vsw_ext_att {
	struct vsw_ext *prog;
	uint64_t args[4];
};

/* A capture session tapping a port. */
struct vsw_dp_tap {
	struct vsw_capture *cap;
	uint16_t ifidx; /* the port's interface in the session's pcapng */
	uint8_t dirs;	/* VSW_CAPTURE_IN | VSW_CAPTURE_OUT */
};

/* One port as the datapath sees it. */
struct vsw_dp_port {
	vsw_port_rx_fn *rx;
	vsw_port_tx_fn *tx;
	void *ctx;
	vsw_port_idle_fn *idle;
	uint16_t sw;	/* switch index */
	bool used;	/* slot holds a port */
	bool up;	/* administratively up: polled and a destination */
	const struct pol_port *pol; /* policy, or NULL when the port has none */
	uint8_t mirror;		    /* enum vsw_mirror */
	uint8_t n_taps;
	uint8_t n_ext[VSW_EXT_HOOKS];
	const struct vsw_ext_att *ext[VSW_EXT_HOOKS][VSW_MAX_EXT_HOOKED];
	struct vsw_dp_tap taps[VSW_MAX_TAPS];
	struct vsw_vlan_cfg vlan;
} __rte_cache_aligned;

/* Member ports of one switch, for flooding, and its mirror destinations. */
struct vsw_dp_switch {
	uint16_t n_ports, n_mirror_dst;
	uint16_t ports[VSW_MAX_PORTS];
	uint16_t mirror_dst[VSW_MAX_PORTS];
};

/* An immutable configuration snapshot. */
struct vsw_dp_config {
	struct vsw_dp_port ports[VSW_MAX_PORTS];
	struct vsw_dp_switch switches[VSW_MAX_SWITCHES];
	uint16_t n_rx[VSW_MAX_LCORES];			/* ports each lcore polls */
	uint16_t rx_ports[VSW_MAX_LCORES][VSW_MAX_PORTS];
};

struct vsw_dp;

/*
 * Creates a datapath for n_lcores loops sharing fdb, the connection table
 * ct and pool. qs is the RCU variable (initialized for at least n_lcores
 * threads) the loops report to. The initial configuration is empty.
 * Returns NULL + errno.
 */
struct vsw_dp *vsw_dp_create(unsigned int n_lcores, struct vsw_fdb *fdb, struct pol_ct *ct,
			     struct rte_mempool *pool, struct rte_rcu_qsbr *qs);

/* Makes idle loops sleep once ~1000 polls in a row found nothing (0: busy-poll, the
 * default): at most us microseconds, less when a port that can wake the datapath (struct
 * vsw_port_io's idle) signals or a configuration is published. For hosts whose datapath
 * CPU is shared. Before start. Returns 0 or -errno (no eventfd). */
int vsw_dp_set_idle_sleep(struct vsw_dp *dp, unsigned int us);

/* Ends the idle sleep of every loop (e.g. a port can now signal). Any thread. */
void vsw_dp_wake(struct vsw_dp *dp);

/* Launches loop i on EAL lcore lcore_ids[i] for each i. Returns 0 or -errno. */
int vsw_dp_start(struct vsw_dp *dp, const unsigned int *lcore_ids);

/* Stops and joins the loops. Safe when not started. */
void vsw_dp_stop(struct vsw_dp *dp);

/* Frees the datapath (stopped first) and its current snapshot. Accepts NULL. */
void vsw_dp_free(struct vsw_dp *dp);

/* Allocates a zeroed snapshot for the control thread to fill. NULL + errno. */
struct vsw_dp_config *vsw_dp_config_alloc(void);

/*
 * Publishes cfg (ownership passes to the datapath), waits until every
 * loop has stopped using the previous snapshot, and frees it. Control
 * thread only. After return no loop touches anything only the old
 * snapshot referenced.
 */
void vsw_dp_publish(struct vsw_dp *dp, struct vsw_dp_config *cfg);

/*
 * Runs one iteration of loop idx on the calling thread (tests drive the
 * datapath this way without launching lcores). Returns frames received.
 */
unsigned int vsw_dp_run_once(struct vsw_dp *dp, unsigned int idx);

/* Sums the counters of port over all loops into out. Any thread. */
void vsw_dp_port_counters(const struct vsw_dp *dp, unsigned int port,
			  struct vsw_port_counters *out);

/* Datapath-wide totals: frames not learned because the MAC table was full. */
uint64_t vsw_dp_fdb_full(const struct vsw_dp *dp);

/* Datapath-wide totals: connections not tracked because the table was full. */
uint64_t vsw_dp_ct_full(const struct vsw_dp *dp);


#endif
