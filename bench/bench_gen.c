/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Traffic engine (see bench_gen.h). One loop on the calling lcore visits
 * every port in turn: receive a burst (parse stamp, sequence check, latency
 * sample, free), then send a burst (headers copied from a per-flow template,
 * stamp written, token-bucket pacing on the TSC). Frames a full tx ring
 * refuses are freed and their sequence numbers reused, so a sequence gap at
 * the sink always means a frame the DUT accepted and lost.
 */
#include "bench_gen.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "bench_hist.h"
#include "bench_pkt.h"

#define RX_BURST    64
#define TMPL_LEN    64
#define NB_MBUFS    16383
#define MBUF_CACHE  256
#define DRAIN_S	    0.1
#define L1_OVERHEAD 20 /* preamble 8 + inter-frame gap 12 */

struct gen_port {
	uint16_t id;
	uint16_t peer; /* index of the port this one sends to */
	uint16_t vlan;
	bool tx;
	uint16_t stamp_off;
	uint32_t seq;
	uint32_t flow_next;
	uint32_t size_next;
	double tokens;
	uint8_t (*tmpl)[TMPL_LEN];	  /* per-flow headers */
	uint32_t expect[BENCH_MAX_PORTS]; /* next sequence number from each sender */
	struct bench_port_result res;
};

struct bench_gen {
	struct bench_gen_config cfg;
	struct rte_mempool *pool;
	uint64_t hz;
	uint8_t trial; /* id stamped into the current trial's frames */
	unsigned int nb_started;
	struct bench_hist *lat;
	struct gen_port port[BENCH_MAX_PORTS];
};

static unsigned int max_size(const struct bench_gen_config *cfg)
{
	unsigned int m = 0;

	for (unsigned int i = 0; i < cfg->nb_sizes; i++)
		m = cfg->sizes[i] > m ? cfg->sizes[i] : m;
	return m;
}

static int check_config(const struct bench_gen_config *cfg)
{
	if (cfg->nb_ports < 1 || cfg->nb_ports > BENCH_MAX_PORTS)
		return -EINVAL;
	if (cfg->nb_sizes < 1 || cfg->nb_sizes > BENCH_MAX_SIZES)
		return -EINVAL;
	for (unsigned int i = 0; i < cfg->nb_sizes; i++)
		if (cfg->sizes[i] < BENCH_PKT_MIN_SIZE || cfg->sizes[i] > BENCH_PKT_MAX_SIZE)
			return -EINVAL;
	if (cfg->flows < 1 || cfg->flows > BENCH_MAX_FLOWS)
		return -EINVAL;
	if (cfg->burst < 1 || cfg->burst > RX_BURST)
		return -EINVAL;
	for (unsigned int i = 0; i < cfg->nb_ports; i++)
		if (cfg->vlan[i] > 4094 || !rte_eth_dev_is_valid_port(cfg->port_ids[i]))
			return -EINVAL;
	return 0;
}

static int build_templates(struct gen_port *p, unsigned int index, uint32_t flows,
			   unsigned int size)
{
	struct bench_pkt_hdr h;
	int off = 0;

	p->tmpl = calloc(flows, TMPL_LEN);
	if (p->tmpl == NULL)
		return -ENOMEM;
	for (uint32_t f = 0; f < flows; f++) {
		bench_pkt_flow(&h, index, p->peer, f, p->vlan);
		off = bench_pkt_build(p->tmpl[f], &h, size);
		if (off < 0)
			return off;
	}
	p->stamp_off = (uint16_t)off;
	return 0;
}

static int start_port(struct bench_gen *g, struct gen_port *p, unsigned int frame)
{
	struct rte_eth_conf conf = {0};
	int socket = rte_eth_dev_socket_id(p->id);
	int rc;

	rc = rte_eth_dev_configure(p->id, 1, 1, &conf);
	if (rc < 0)
		return rc;
	if (frame > RTE_ETHER_MAX_LEN)
		rte_eth_dev_set_mtu(p->id,
				    (uint16_t)(frame - RTE_ETHER_HDR_LEN - RTE_ETHER_CRC_LEN));
	rc = rte_eth_rx_queue_setup(p->id, 0, 0, socket < 0 ? 0 : socket, NULL, g->pool);
	if (rc < 0)
		return rc;
	rc = rte_eth_tx_queue_setup(p->id, 0, 0, socket < 0 ? 0 : socket, NULL);
	if (rc < 0)
		return rc;
	return rte_eth_dev_start(p->id);
}

static struct rte_mempool *create_pool(unsigned int frame)
{
	unsigned int room = RTE_MBUF_DEFAULT_BUF_SIZE;
	unsigned int n = NB_MBUFS;

	if (frame + RTE_PKTMBUF_HEADROOM > room) {
		room = frame + RTE_PKTMBUF_HEADROOM;
		n = NB_MBUFS / 2;
	}
	return rte_pktmbuf_pool_create("bench_pool", n, MBUF_CACHE, 0, (uint16_t)room,
				       (int)rte_socket_id());
}

static int setup_ports(struct bench_gen *g)
{
	unsigned int frame = max_size(&g->cfg);
	int rc;

	for (unsigned int i = 0; i < g->cfg.nb_ports; i++) {
		struct gen_port *p = &g->port[i];

		p->id = g->cfg.port_ids[i];
		p->peer = (uint16_t)((i + 1) % g->cfg.nb_ports);
		p->vlan = g->cfg.vlan[i];
		p->tx = !g->cfg.no_tx[i];
		rc = build_templates(p, i, g->cfg.flows, g->cfg.sizes[0]);
		if (rc < 0)
			return rc;
		rc = start_port(g, p, frame);
		if (rc < 0)
			return rc;
		g->nb_started++;
	}
	return 0;
}

struct bench_gen *bench_gen_new(const struct bench_gen_config *cfg)
{
	struct bench_gen *g;
	int rc = check_config(cfg);

	if (rc < 0)
		goto err;
	rc = -ENOMEM;
	g = calloc(1, sizeof(*g));
	if (g == NULL)
		goto err;
	g->cfg = *cfg;
	g->hz = rte_get_tsc_hz();
	g->lat = bench_hist_new();
	g->pool = create_pool(max_size(cfg));
	if (g->lat == NULL || g->pool == NULL)
		goto err_free_gen;
	rc = setup_ports(g);
	if (rc < 0)
		goto err_free_gen;
	return g;

err_free_gen:
	bench_gen_free(g);
err:
	errno = -rc;
	return NULL;
}

void bench_gen_free(struct bench_gen *g)
{
	if (g == NULL)
		return;
	for (unsigned int i = 0; i < g->nb_started; i++) {
		rte_eth_dev_stop(g->port[i].id);
		rte_eth_dev_close(g->port[i].id);
	}
	for (unsigned int i = 0; i < BENCH_MAX_PORTS; i++)
		free(g->port[i].tmpl);
	rte_mempool_free(g->pool);
	bench_hist_free(g->lat);
	free(g);
}

uint64_t bench_gen_tsc_hz(const struct bench_gen *g)
{
	return g->hz;
}

int bench_gen_wait_link(struct bench_gen *g, double timeout_s)
{
	uint64_t end = rte_get_tsc_cycles() + (uint64_t)(timeout_s * (double)g->hz);
	struct rte_eth_link link;
	unsigned int up;

	do {
		up = 0;
		for (unsigned int i = 0; i < g->cfg.nb_ports; i++) {
			memset(&link, 0, sizeof(link));
			rte_eth_link_get_nowait(g->port[i].id, &link);
			up += link.link_status == RTE_ETH_LINK_UP;
		}
		if (up == g->cfg.nb_ports)
			return 0;
		rte_delay_ms(20);
	} while (rte_get_tsc_cycles() < end);
	return -ETIMEDOUT;
}

/* ---- receive side ---- */

static void account_seq(struct gen_port *p, unsigned int from, uint32_t seq)
{
	uint32_t want = p->expect[from];

	if (seq == want) {
		p->expect[from] = seq + 1;
	} else if ((int32_t)(seq - want) > 0) {
		p->res.seq_gaps += seq - want;
		p->expect[from] = seq + 1;
	} else {
		p->res.reordered++;
	}
}

static void rx_one(struct bench_gen *g, struct gen_port *p, struct rte_mbuf *m, uint64_t now)
{
	struct bench_pkt_info info;
	const uint8_t *data = rte_pktmbuf_mtod(m, const uint8_t *);

	if (!bench_pkt_parse(data, m->data_len, &info) || info.trial != g->trial ||
	    info.port >= g->cfg.nb_ports) {
		p->res.rx_other++;
		return;
	}
	p->res.rx++;
	p->res.vlan_mismatch += info.vlan != p->vlan;
	p->res.rx_bytes += m->pkt_len + BENCH_PKT_FCS_LEN;
	account_seq(p, info.port, info.seq);
	bench_hist_add(g->lat, bench_pkt_tsc_diff(now, info.tsc48));
}

static unsigned int rx_burst(struct bench_gen *g, struct gen_port *p)
{
	struct rte_mbuf *pkts[RX_BURST];
	uint16_t n = rte_eth_rx_burst(p->id, 0, pkts, RX_BURST);
	uint64_t now;

	if (n == 0)
		return 0;
	now = rte_rdtsc();
	for (uint16_t i = 0; i < n; i++) {
		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		rx_one(g, p, pkts[i], now);
	}
	rte_pktmbuf_free_bulk(pkts, n);
	return n;
}

/* ---- transmit side ---- */

static void fill_one(struct bench_gen *g, struct gen_port *p, unsigned int index,
		     struct rte_mbuf *m, uint32_t seq, uint64_t tsc)
{
	uint8_t *data = rte_pktmbuf_mtod(m, uint8_t *);
	unsigned int size = g->cfg.sizes[p->size_next];

	rte_memcpy(data, p->tmpl[p->flow_next], TMPL_LEN);
	if (g->cfg.nb_sizes > 1) {
		bench_pkt_resize(data, size);
		if (++p->size_next == g->cfg.nb_sizes)
			p->size_next = 0;
	}
	if (++p->flow_next == g->cfg.flows)
		p->flow_next = 0;
	bench_pkt_stamp(data + p->stamp_off, (uint8_t)index, g->trial, seq, tsc);
	m->data_len = (uint16_t)(size - BENCH_PKT_FCS_LEN);
	m->pkt_len = m->data_len;
}

/* Rewinds the flow and size cursors by @n frames that were not sent. */
static void rewind_cursors(struct bench_gen *g, struct gen_port *p, unsigned int n)
{
	p->flow_next = (uint32_t)((p->flow_next + g->cfg.flows - n % g->cfg.flows) % g->cfg.flows);
	if (g->cfg.nb_sizes > 1)
		p->size_next =
			(p->size_next + g->cfg.nb_sizes - n % g->cfg.nb_sizes) % g->cfg.nb_sizes;
}

static void tx_burst(struct bench_gen *g, struct gen_port *p, unsigned int index, unsigned int n)
{
	struct rte_mbuf *pkts[RX_BURST];
	uint64_t tsc = rte_rdtsc();
	uint16_t sent;

	if (rte_pktmbuf_alloc_bulk(g->pool, pkts, n) != 0)
		return;
	for (unsigned int i = 0; i < n; i++)
		fill_one(g, p, index, pkts[i], p->seq + i, tsc);
	sent = rte_eth_tx_burst(p->id, 0, pkts, (uint16_t)n);
	for (unsigned int i = 0; i < sent; i++)
		p->res.tx_bytes += pkts[i]->pkt_len + BENCH_PKT_FCS_LEN;
	p->seq += sent;
	p->res.tx += sent;
	p->res.offered += n;
	p->res.bursts++;
	if (sent < n) {
		p->res.bursts_full++;
		rewind_cursors(g, p, n - sent);
		rte_pktmbuf_free_bulk(pkts + sent, n - sent);
	}
}

/* Frames port @p may send now under pacing at @pps_per_port (0 = unpaced). */
static unsigned int pace(struct bench_gen *g, struct gen_port *p, double pps_per_port,
			 uint64_t *last, uint64_t now)
{
	double cap = 4.0 * g->cfg.burst;

	if (pps_per_port <= 0)
		return g->cfg.burst;
	p->tokens += (double)(now - *last) * pps_per_port / (double)g->hz;
	*last = now;
	if (p->tokens > cap)
		p->tokens = cap;
	if (p->tokens < 1.0)
		return 0;
	return p->tokens >= g->cfg.burst ? g->cfg.burst : (unsigned int)p->tokens;
}

/* The poll loop: sends until @tx_end, receives until @rx_end. */
static void run_loop(struct bench_gen *g, double pps, uint64_t tx_end, uint64_t rx_end)
{
	unsigned int nb = g->cfg.nb_ports, nb_tx = 0;
	uint64_t last[BENCH_MAX_PORTS], now = rte_rdtsc();
	double per_port;

	for (unsigned int i = 0; i < nb; i++) {
		nb_tx += g->port[i].tx;
		last[i] = now;
		g->port[i].tokens = 0;
	}
	per_port = nb_tx ? pps / nb_tx : 0;
	while (now < rx_end) {
		for (unsigned int i = 0; i < nb; i++) {
			struct gen_port *p = &g->port[i];
			unsigned int n;

			rx_burst(g, p);
			if (!p->tx || now >= tx_end)
				continue;
			n = pace(g, p, per_port, &last[i], now);
			if (n) {
				tx_burst(g, p, i, n);
				if (per_port > 0)
					p->tokens -= n;
			}
		}
		now = rte_rdtsc();
	}
}

/* ---- DUT CPU time from /proc/PID/task/TID/schedstat (ns on CPU) ---- */

/* True when thread @tid of @pid may only run on the CPUs @cpus (a
 * Cpus_allowed_list string such as "0" or "0-1"). */
static bool task_pinned_to(int pid, const char *tid, const char *cpus)
{
	char file[320], line[256];
	bool match = false;
	size_t n = strlen(cpus);
	FILE *f;

	snprintf(file, sizeof(file), "/proc/%d/task/%s/status", pid, tid);
	f = fopen(file, "r");
	if (f == NULL)
		return false;
	while (fgets(line, sizeof(line), f)) {
		const char *v = line + strlen("Cpus_allowed_list:");

		if (strncmp(line, "Cpus_allowed_list:", 18) != 0)
			continue;
		v += strspn(v, " \t");
		match = strncmp(v, cpus, n) == 0 && (v[n] == '\n' || v[n] == 0);
		break;
	}
	fclose(f);
	return match;
}

static double task_cpu_seconds(int pid, const char *tid)
{
	char file[320];
	unsigned long long ns;
	double s = 0;
	FILE *f;

	snprintf(file, sizeof(file), "/proc/%d/task/%s/schedstat", pid, tid);
	f = fopen(file, "r");
	if (f == NULL)
		return 0;
	if (fscanf(f, "%llu", &ns) == 1)
		s = (double)ns / 1e9;
	fclose(f);
	return s;
}

/* CPU seconds the calling thread has run so far. */
static double self_cpu_seconds(void)
{
	unsigned long long ns;
	double s = 0;
	FILE *f = fopen("/proc/thread-self/schedstat", "r");

	if (f == NULL)
		return 0;
	if (fscanf(f, "%llu", &ns) == 1)
		s = (double)ns / 1e9;
	fclose(f);
	return s;
}

/* CPU seconds used so far by the DUT: all threads into @total, threads
 * pinned to the DUT's CPUs (its datapath) into @pinned. -1 if unknown. */
static void dut_cpu_seconds(const struct bench_gen_config *cfg, double *total, double *pinned)
{
	char path[64];
	struct dirent *de;
	DIR *d;

	*total = *pinned = -1;
	snprintf(path, sizeof(path), "/proc/%d/task", cfg->dut_pid);
	d = opendir(path);
	if (d == NULL)
		return;
	*total = *pinned = 0;
	while ((de = readdir(d)) != NULL) {
		double s;

		if (de->d_name[0] == '.')
			continue;
		s = task_cpu_seconds(cfg->dut_pid, de->d_name);
		*total += s;
		if (cfg->dut_cpus[0] && task_pinned_to(cfg->dut_pid, de->d_name, cfg->dut_cpus))
			*pinned += s;
	}
	closedir(d);
}

/* ---- trials ---- */

static void reset_counters(struct bench_gen *g)
{
	g->trial = (uint8_t)((g->trial + 1) % BENCH_PKT_TRIAL_NONE);
	bench_hist_reset(g->lat);
	for (unsigned int i = 0; i < g->cfg.nb_ports; i++) {
		struct gen_port *p = &g->port[i];

		memset(&p->res, 0, sizeof(p->res));
		memset(p->expect, 0, sizeof(p->expect));
		p->seq = 0;
	}
}

static void sum_ports(struct bench_gen *g, struct bench_trial *t)
{
	uint64_t bursts = 0, full = 0;

	for (unsigned int i = 0; i < g->cfg.nb_ports; i++) {
		const struct bench_port_result *r = &g->port[i].res;

		t->port[i] = *r;
		t->offered += r->offered;
		t->tx += r->tx;
		t->rx += r->rx;
		t->tx_bytes += r->tx_bytes;
		t->rx_bytes += r->rx_bytes;
		bursts += r->bursts;
		full += r->bursts_full;
	}
	t->ring_full_ratio = bursts ? (double)full / (double)bursts : 0;
}

static void fill_latency(struct bench_gen *g, struct bench_trial *t)
{
	double ns = 1e9 / (double)g->hz;

	t->lat_samples = bench_hist_count(g->lat);
	t->lat_min_ns = (double)bench_hist_min(g->lat) * ns;
	t->lat_mean_ns = bench_hist_mean(g->lat) * ns;
	t->lat_p50_ns = (double)bench_hist_percentile(g->lat, 50) * ns;
	t->lat_p99_ns = (double)bench_hist_percentile(g->lat, 99) * ns;
	t->lat_p999_ns = (double)bench_hist_percentile(g->lat, 99.9) * ns;
	t->lat_max_ns = (double)bench_hist_max(g->lat) * ns;
}

static void fill_rates(struct bench_gen *g, struct bench_trial *t, double cpu_s, double pin_s)
{
	double el = t->elapsed_s;
	uint64_t offered = t->target_pps > 0 ? t->offered : t->tx;

	t->offered_pps = (double)offered / el;
	t->tx_pps = (double)t->tx / el;
	t->rx_pps = (double)t->rx / el;
	t->loss_ratio =
		offered ? (double)(offered > t->rx ? offered - t->rx : 0) / (double)offered : 0;
	t->rx_l2_bps = (double)t->rx_bytes * 8 / el;
	t->rx_l1_bps = (double)(t->rx_bytes + t->rx * L1_OVERHEAD) * 8 / el;
	t->dut_total_cpu_s = cpu_s;
	t->dut_total_cycles_per_packet =
		cpu_s >= 0 && t->rx ? cpu_s * (double)g->hz / (double)t->rx : -1;
	/* Without --dut-cpus every thread counts as datapath. */
	if (!g->cfg.dut_cpus[0])
		pin_s = cpu_s;
	t->dut_cpu_s = pin_s;
	t->dut_cycles_per_packet = pin_s >= 0 && t->rx ? pin_s * (double)g->hz / (double)t->rx : -1;
}

int bench_gen_trial(struct bench_gen *g, double rate_pps, double duration_s,
		    struct bench_trial *out)
{
	double cpu0 = -1, cpu1 = -1, pin0 = -1, pin1 = -1, gen0;
	uint64_t start, tx_end;

	if (duration_s <= 0 || rate_pps < 0)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	reset_counters(g);
	if (g->cfg.dut_pid > 0)
		dut_cpu_seconds(&g->cfg, &cpu0, &pin0);
	gen0 = self_cpu_seconds();
	start = rte_rdtsc();
	tx_end = start + (uint64_t)(duration_s * (double)g->hz);
	run_loop(g, rate_pps, tx_end, tx_end);
	out->gen_cpu_s = self_cpu_seconds() - gen0;
	if (g->cfg.dut_pid > 0)
		dut_cpu_seconds(&g->cfg, &cpu1, &pin1);
	run_loop(g, 0, 0, rte_rdtsc() + (uint64_t)(DRAIN_S * (double)g->hz));
	out->target_pps = rate_pps;
	out->elapsed_s = (double)(tx_end - start) / (double)g->hz;
	sum_ports(g, out);
	fill_latency(g, out);
	fill_rates(g, out, cpu0 >= 0 && cpu1 >= 0 ? cpu1 - cpu0 : -1,
		   pin0 >= 0 && pin1 >= 0 ? pin1 - pin0 : -1);
	return 0;
}

/* True when every port that should receive has received since the reset. */
static bool all_paths_seen(struct bench_gen *g)
{
	for (unsigned int i = 0; i < g->cfg.nb_ports; i++) {
		struct gen_port *p = &g->port[i];

		if (p->tx && g->port[p->peer].res.rx == 0)
			return false;
	}
	return true;
}

int bench_gen_probe(struct bench_gen *g, double timeout_s)
{
	uint64_t end = rte_rdtsc() + (uint64_t)(timeout_s * (double)g->hz);
	bool seen = false;

	reset_counters(g);
	g->trial = BENCH_PKT_TRIAL_NONE;
	while (!seen && rte_rdtsc() < end) {
		uint64_t step = rte_rdtsc() + g->hz / 20;

		run_loop(g, 1000, step, step);
		seen = all_paths_seen(g);
	}
	run_loop(g, 0, 0, rte_rdtsc() + (uint64_t)(DRAIN_S * (double)g->hz));
	g->trial = 0;
	return seen ? 0 : -ETIMEDOUT;
}

void bench_gen_warmup(struct bench_gen *g, double duration_s)
{
	struct bench_trial t;

	bench_gen_trial(g, 100000, duration_s, &t);
}

/* ---- MAC learning ---- */

static void learn_frame(struct bench_gen *g, unsigned int index, uint32_t mac, struct rte_mbuf *m)
{
	struct gen_port *p = &g->port[index];
	uint8_t *data = rte_pktmbuf_mtod(m, uint8_t *);
	struct bench_pkt_hdr h;
	int off;

	bench_pkt_flow(&h, index, p->peer, mac, p->vlan);
	off = bench_pkt_build(data, &h, BENCH_PKT_MIN_SIZE);
	bench_pkt_stamp(data + off, (uint8_t)index, BENCH_PKT_TRIAL_NONE, mac, 0);
	m->data_len = BENCH_PKT_MIN_SIZE - BENCH_PKT_FCS_LEN;
	m->pkt_len = m->data_len;
}

/* Sends learning frames for MAC indexes [*next, per_port) of port @index, up
 * to @n of them; advances *next past those accepted. */
static void learn_burst(struct bench_gen *g, unsigned int index, uint32_t *next, uint32_t per_port,
			unsigned int n)
{
	struct rte_mbuf *pkts[RX_BURST];
	uint16_t sent;

	if (n > per_port - *next)
		n = per_port - *next;
	if (n == 0 || rte_pktmbuf_alloc_bulk(g->pool, pkts, n) != 0)
		return;
	for (unsigned int i = 0; i < n; i++)
		learn_frame(g, index, *next + i, pkts[i]);
	sent = rte_eth_tx_burst(g->port[index].id, 0, pkts, (uint16_t)n);
	*next += sent;
	if (sent < n)
		rte_pktmbuf_free_bulk(pkts + sent, n - sent);
}

uint64_t bench_gen_learn(struct bench_gen *g, uint32_t nb_macs, double rate_pps)
{
	uint32_t per_port = nb_macs / g->cfg.nb_ports, next[BENCH_MAX_PORTS] = {0};
	uint64_t start = rte_rdtsc(), sent = 0, due, deadline;
	double pps = rate_pps > 0 ? rate_pps : 1e6;

	/* Gives up at twice the planned time (plus slack) if the DUT stalls. */
	deadline = start + (uint64_t)((2.0 * nb_macs / pps + 5.0) * (double)g->hz);
	for (;;) {
		uint64_t now = rte_rdtsc();
		bool more = false;

		due = (uint64_t)((double)(now - start) * pps / (double)g->hz);
		for (unsigned int i = 0; i < g->cfg.nb_ports; i++) {
			rx_burst(g, &g->port[i]);
			if (sent < due)
				learn_burst(g, i, &next[i], per_port, g->cfg.burst);
			more |= next[i] < per_port;
		}
		sent = 0;
		for (unsigned int i = 0; i < g->cfg.nb_ports; i++)
			sent += next[i];
		if (!more || now > deadline)
			break;
	}
	run_loop(g, 0, 0, rte_rdtsc() + (uint64_t)(DRAIN_S * (double)g->hz));
	return sent;
}
