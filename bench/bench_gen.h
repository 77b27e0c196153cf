/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Traffic engine of hvnet-pktgen: owns the generator's ethdev ports (any
 * DPDK port: net_virtio_user facing a vhost-user switch port, net_memif,
 * ...), sends benchmark frames (bench_pkt.h) at a paced or maximum rate and
 * receives them back after the device under test, on the calling lcore.
 *
 * With two ports, port 0 sends to port 1 and port 1 to port 0 at the same
 * time (a bidirectional L2 path through the DUT); with one port the frames
 * come back on the port that sent them. Frame sizes count the FCS, rates are
 * aggregate over the sending ports. Single-threaded: every function runs on
 * the thread that created the engine, after rte_eal_init().
 */
#ifndef BENCH_GEN_H
#define BENCH_GEN_H

#include <stdbool.h>
#include <stdint.h>

#define BENCH_MAX_PORTS 2
#define BENCH_MAX_SIZES 16
#define BENCH_MAX_FLOWS (1u << 22)

struct bench_gen;

struct bench_gen_config {
	unsigned int nb_ports;		    /* 1 or 2 */
	uint16_t port_ids[BENCH_MAX_PORTS]; /* DPDK port ids */
	uint16_t sizes[BENCH_MAX_SIZES];    /* frame sizes (with FCS), cycled per packet */
	unsigned int nb_sizes;		    /* 1 = fixed size, more = a mix such as IMIX */
	uint32_t flows;			    /* flows per direction, 1..BENCH_MAX_FLOWS */
	uint16_t vlan[BENCH_MAX_PORTS];	    /* VID of frames each port sends, 0 = none */
	bool no_tx[BENCH_MAX_PORTS];	    /* port only receives (unidirectional runs) */
	unsigned int burst;		    /* packets per tx burst, 1..64 */
	int dut_pid;			    /* > 0: sample the DUT's CPU time per trial */
	char dut_cpus[32];		    /* the DUT's datapath CPUs ("0"), "" = any */
};

/* Counters of one generator port over one trial. */
struct bench_port_result {
	uint64_t offered;	/* packets the pacer wanted to send */
	uint64_t tx;		/* packets the port accepted */
	uint64_t tx_bytes;	/* their frame bytes, FCS included */
	uint64_t rx;		/* benchmark frames of this trial received */
	uint64_t rx_bytes;	/* their frame bytes, FCS included */
	uint64_t rx_other;	/* other frames (foreign, stale trial, learning) */
	uint64_t seq_gaps;	/* sequence numbers skipped (lost or late) */
	uint64_t reordered;	/* frames older than one already received */
	uint64_t vlan_mismatch; /* received with a tag other than this port's own
				 * (untagged if the port sends untagged) */
	uint64_t bursts;	/* tx bursts attempted */
	uint64_t bursts_full;	/* of which the port refused some frames (ring full) */
};

/* Result of one trial. Latencies are in nanoseconds. */
struct bench_trial {
	double target_pps; /* requested aggregate rate, 0 = maximum */
	double elapsed_s;  /* length of the transmit window */
	struct bench_port_result port[BENCH_MAX_PORTS];
	uint64_t offered, tx, rx, tx_bytes, rx_bytes; /* sums over ports */
	double offered_pps, tx_pps, rx_pps;
	double loss_ratio;	      /* (offered - rx) / offered; offered = tx at max rate */
	double rx_l1_bps;	      /* received bits incl. preamble + IFG (20 B/frame) */
	double rx_l2_bps;	      /* received frame bits incl. FCS */
	double dut_cpu_s;	      /* CPU time of the DUT's datapath threads (those pinned
				       * to dut_cpus) in the window, -1 unknown */
	double dut_cycles_per_packet; /* dut_cpu_s * TSC Hz / rx (-1 unknown) */
	double dut_total_cpu_s;	      /* the same over every DUT thread */
	double dut_total_cycles_per_packet;
	double gen_cpu_s; /* CPU time the generator's thread got in the window */
	/* Share of tx bursts the DUT's ring could not take whole; near 0 at max
	 * rate means the generator, not the DUT, was the bottleneck. */
	double ring_full_ratio;
	uint64_t lat_samples;
	double lat_min_ns, lat_mean_ns, lat_p50_ns, lat_p99_ns, lat_p999_ns, lat_max_ns;
};

/*
 * Creates the engine: one mbuf pool, configures and starts every port in
 * @cfg (one rx and one tx queue each). Returns NULL with errno set (EINVAL
 * for a bad configuration, or the ethdev error).
 */
struct bench_gen *bench_gen_new(const struct bench_gen_config *cfg);

/* Stops the ports and frees the engine; NULL is accepted. */
void bench_gen_free(struct bench_gen *g);

/* TSC frequency used for timestamps and cycle counts. */
uint64_t bench_gen_tsc_hz(const struct bench_gen *g);

/*
 * Polls every port until its link is up (for a virtio-user server this is
 * also what accepts the backend's connection). Returns 0, or -ETIMEDOUT
 * after @timeout_s seconds.
 */
int bench_gen_wait_link(struct bench_gen *g, double timeout_s);

/*
 * Teaches the DUT's MAC table @nb_macs addresses: sends one frame from each
 * of MAC indexes 0..nb_macs/nb_ports-1 of every port (so traffic flows
 * 0..flows-1 are among them), paced at @rate_pps, then drains. Returns the
 * number of frames sent.
 */
uint64_t bench_gen_learn(struct bench_gen *g, uint32_t nb_macs, double rate_pps);

/*
 * Runs one trial: sends for @duration_s at aggregate @rate_pps (0 = as fast
 * as the ports take frames), keeps receiving for a drain period after, and
 * fills @out. Returns 0 or -EINVAL.
 */
int bench_gen_trial(struct bench_gen *g, double rate_pps, double duration_s,
		    struct bench_trial *out);

/*
 * Sends a trickle of frames (1000 pps) until every sending port's frames
 * arrive at its peer, so trials start only once the DUT forwards on every
 * path (a vhost-user backend may report link up before it polls). Returns
 * 0, or -ETIMEDOUT after @timeout_s.
 */
int bench_gen_probe(struct bench_gen *g, double timeout_s);

/* Sends at low rate for @duration_s and discards the results (MAC learning,
 * cache warm-up). */
void bench_gen_warmup(struct bench_gen *g, double duration_s);

#endif /* BENCH_GEN_H */
