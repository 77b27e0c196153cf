/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hvnet-pktgen: traffic generator and sink for benchmarking a switch through
 * vhost-user (net_virtio_user) or memif ports. Runs a plan of trials on the
 * main lcore: optional MAC learning, warm-up, N max-rate (or fixed-rate)
 * trials, an optional RFC 2544 zero-loss search and an optional latency
 * trial at a fraction of the measured maximum; prints one line per trial
 * and writes every trial plus a summary (medians) as JSON.
 *
 *   hvnet-pktgen -l 1 --in-memory --single-file-segments --no-pci \
 *     --vdev net_virtio_user0,path=/tmp/a.sock,server=1 \
 *     --vdev net_virtio_user1,path=/tmp/b.sock,server=1 -- \
 *     --size 64 --flows 1 --duration 2 --repeat 3 --json out.json
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>

#include "bench_gen.h"
#include "bench_pkt.h"
#include "bench_report.h"
#include "bench_search.h"
#include "hvnet_config.h"

#define MAX_REPEAT 64

struct opts {
	struct bench_gen_config gen;
	double rate; /* 0 = max */
	double duration;
	unsigned int repeat;
	bool search;
	double loss_pct;
	double resolution_pct;
	unsigned int search_trials;
	double search_duration;
	double latency_at; /* fraction of the max rate, 0 = no latency trial */
	uint32_t learn;
	double learn_rate;
	double warmup;
	double link_timeout;
	const char *json_path;
	const char *wait_file;
	bool quiet;
};

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [EAL options] -- [options]\n"
		"Ports: the first two DPDK ports (e.g. --vdev net_virtio_user0,path=S,server=1);\n"
		"port 0 sends to port 1 and back. One port: frames return on it.\n"
		"  --size N[,N...]|imix  frame sizes with FCS, 64..9018 (default 64)\n"
		"                        imix = 64/594/1518 bytes at 7:4:1\n"
		"  --flows N             flows per direction (MAC pairs, IP/UDP tuples; default "
		"1)\n"
		"  --vlan P:VID          tag frames sent from port P with VID\n"
		"  --rx-only P           port P only receives (unidirectional)\n"
		"  --rate PPS|max        aggregate offered rate of the main trials (default max)\n"
		"  --duration S          transmit window of a trial (default 2)\n"
		"  --repeat N            main trials (default 1)\n"
		"  --search              RFC 2544 zero-loss search below the median max rate\n"
		"  --loss PCT            loss threshold of the search (default 0)\n"
		"  --resolution PCT      search stops when the interval is below this (default 2)\n"
		"  --search-trials N     at most N search trials (default 10)\n"
		"  --search-duration S   window of a search trial (default: --duration)\n"
		"  --latency-at F        latency trial at F x the median max rate (e.g. 0.5)\n"
		"  --learn N             teach the DUT N MAC addresses first\n"
		"  --learn-rate PPS      pace of the learning frames (default 500000)\n"
		"  --warmup S            low-rate warm-up before the trials (default 0.5)\n"
		"  --burst N             packets per burst (default 32)\n"
		"  --link-timeout S      wait this long for links (default 30)\n"
		"  --dut-pid PID         report the DUT's CPU time and cycles per packet\n"
		"  --dut-cpus LIST       DUT datapath CPUs as in Cpus_allowed_list (e.g. 0):\n"
		"                        cycles/packet counts only threads pinned there\n"
		"  --wait-file PATH      after link up, wait until PATH exists (DUT configured)\n"
		"  --json FILE           write results as JSON ('-' = stdout)\n"
		"  --quiet               no per-trial lines\n",
		prog);
}

static int parse_sizes(struct opts *o, const char *arg)
{
	static const uint16_t imix[] = {64, 64, 594, 64, 64, 594, 64, 64, 594, 64, 594, 1518};
	char *copy, *tok, *save = NULL;

	o->gen.nb_sizes = 0;
	if (strcmp(arg, "imix") == 0) {
		memcpy(o->gen.sizes, imix, sizeof(imix));
		o->gen.nb_sizes = RTE_DIM(imix);
		return 0;
	}
	copy = strdup(arg);
	if (copy == NULL)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		long v = strtol(tok, NULL, 10);

		if (o->gen.nb_sizes == BENCH_MAX_SIZES || v < BENCH_PKT_MIN_SIZE ||
		    v > BENCH_PKT_MAX_SIZE) {
			free(copy);
			return -EINVAL;
		}
		o->gen.sizes[o->gen.nb_sizes++] = (uint16_t)v;
	}
	free(copy);
	return o->gen.nb_sizes ? 0 : -EINVAL;
}

static int parse_port_vid(struct opts *o, const char *arg)
{
	unsigned int p, vid;

	if (sscanf(arg, "%u:%u", &p, &vid) != 2 || p >= BENCH_MAX_PORTS || vid < 1 || vid > 4094)
		return -EINVAL;
	o->gen.vlan[p] = (uint16_t)vid;
	return 0;
}

static int parse_rx_only(struct opts *o, const char *arg)
{
	unsigned long p = strtoul(arg, NULL, 10);

	if (p >= BENCH_MAX_PORTS)
		return -EINVAL;
	o->gen.no_tx[p] = true;
	return 0;
}

enum {
	OPT_SIZE = 256,
	OPT_FLOWS,
	OPT_VLAN,
	OPT_RX_ONLY,
	OPT_RATE,
	OPT_DURATION,
	OPT_REPEAT,
	OPT_SEARCH,
	OPT_LOSS,
	OPT_RESOLUTION,
	OPT_SEARCH_TRIALS,
	OPT_SEARCH_DURATION,
	OPT_LATENCY_AT,
	OPT_LEARN,
	OPT_LEARN_RATE,
	OPT_WARMUP,
	OPT_BURST,
	OPT_LINK_TIMEOUT,
	OPT_DUT_PID,
	OPT_DUT_CPUS,
	OPT_WAIT_FILE,
	OPT_JSON,
	OPT_QUIET,
	OPT_HELP,
};

static const struct option long_opts[] = {
	{"size", required_argument, NULL, OPT_SIZE},
	{"flows", required_argument, NULL, OPT_FLOWS},
	{"vlan", required_argument, NULL, OPT_VLAN},
	{"rx-only", required_argument, NULL, OPT_RX_ONLY},
	{"rate", required_argument, NULL, OPT_RATE},
	{"duration", required_argument, NULL, OPT_DURATION},
	{"repeat", required_argument, NULL, OPT_REPEAT},
	{"search", no_argument, NULL, OPT_SEARCH},
	{"loss", required_argument, NULL, OPT_LOSS},
	{"resolution", required_argument, NULL, OPT_RESOLUTION},
	{"search-trials", required_argument, NULL, OPT_SEARCH_TRIALS},
	{"search-duration", required_argument, NULL, OPT_SEARCH_DURATION},
	{"latency-at", required_argument, NULL, OPT_LATENCY_AT},
	{"learn", required_argument, NULL, OPT_LEARN},
	{"learn-rate", required_argument, NULL, OPT_LEARN_RATE},
	{"warmup", required_argument, NULL, OPT_WARMUP},
	{"burst", required_argument, NULL, OPT_BURST},
	{"link-timeout", required_argument, NULL, OPT_LINK_TIMEOUT},
	{"dut-pid", required_argument, NULL, OPT_DUT_PID},
	{"dut-cpus", required_argument, NULL, OPT_DUT_CPUS},
	{"wait-file", required_argument, NULL, OPT_WAIT_FILE},
	{"json", required_argument, NULL, OPT_JSON},
	{"quiet", no_argument, NULL, OPT_QUIET},
	{"help", no_argument, NULL, OPT_HELP},
	{NULL, 0, NULL, 0},
};

static void set_defaults(struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->gen.sizes[0] = 64;
	o->gen.nb_sizes = 1;
	o->gen.flows = 1;
	o->gen.burst = 32;
	o->duration = 2;
	o->repeat = 1;
	o->resolution_pct = 2;
	o->search_trials = 10;
	o->learn_rate = 500000;
	o->warmup = 0.5;
	o->link_timeout = 30;
}

/* Applies one option; returns 0, or -EINVAL for a bad value. */
static int apply_opt(struct opts *o, int c, const char *arg)
{
	switch (c) {
	case OPT_SIZE:
		return parse_sizes(o, arg);
	case OPT_FLOWS:
		o->gen.flows = (uint32_t)strtoul(arg, NULL, 10);
		return 0;
	case OPT_VLAN:
		return parse_port_vid(o, arg);
	case OPT_RX_ONLY:
		return parse_rx_only(o, arg);
	case OPT_RATE:
		o->rate = strcmp(arg, "max") ? strtod(arg, NULL) : 0;
		return o->rate < 0 ? -EINVAL : 0;
	case OPT_DURATION:
		o->duration = strtod(arg, NULL);
		return o->duration > 0 ? 0 : -EINVAL;
	case OPT_REPEAT:
		o->repeat = (unsigned int)strtoul(arg, NULL, 10);
		break;
	case OPT_SEARCH:
		o->search = true;
		return 0;
	case OPT_LOSS:
		o->loss_pct = strtod(arg, NULL);
		return o->loss_pct >= 0 ? 0 : -EINVAL;
	case OPT_RESOLUTION:
		o->resolution_pct = strtod(arg, NULL);
		return o->resolution_pct > 0 ? 0 : -EINVAL;
	case OPT_SEARCH_TRIALS:
		o->search_trials = (unsigned int)strtoul(arg, NULL, 10);
		return 0;
	case OPT_SEARCH_DURATION:
		o->search_duration = strtod(arg, NULL);
		return 0;
	case OPT_LATENCY_AT:
		o->latency_at = strtod(arg, NULL);
		return o->latency_at >= 0 ? 0 : -EINVAL;
	case OPT_LEARN:
		o->learn = (uint32_t)strtoul(arg, NULL, 10);
		return 0;
	case OPT_LEARN_RATE:
		o->learn_rate = strtod(arg, NULL);
		return 0;
	case OPT_WARMUP:
		o->warmup = strtod(arg, NULL);
		return 0;
	case OPT_BURST:
		o->gen.burst = (unsigned int)strtoul(arg, NULL, 10);
		return 0;
	case OPT_LINK_TIMEOUT:
		o->link_timeout = strtod(arg, NULL);
		return 0;
	case OPT_DUT_PID:
		o->gen.dut_pid = atoi(arg);
		return 0;
	case OPT_DUT_CPUS:
		snprintf(o->gen.dut_cpus, sizeof(o->gen.dut_cpus), "%s", arg);
		return 0;
	case OPT_WAIT_FILE:
		o->wait_file = arg;
		return 0;
	case OPT_JSON:
		o->json_path = arg;
		return 0;
	case OPT_QUIET:
		o->quiet = true;
		return 0;
	default:
		return -EINVAL;
	}
	return o->repeat >= 1 && o->repeat <= MAX_REPEAT ? 0 : -EINVAL;
}

static int parse_args(struct opts *o, int argc, char **argv)
{
	int c;

	set_defaults(o);
	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		if (c == OPT_HELP || apply_opt(o, c, optarg) < 0)
			return -EINVAL;
	}
	if (optind < argc)
		return -EINVAL;
	if (o->search_duration <= 0)
		o->search_duration = o->duration;
	return 0;
}

/* ---- reporting ---- */

static void print_trial(const struct opts *o, const char *kind, const struct bench_trial *t)
{
	if (o->quiet)
		return;
	printf("%-7s target %8.3f Mpps  tx %7.3f Mpps  rx %7.3f Mpps  loss %7.4f%%  "
	       "L1 %6.3f / L2 %6.3f Gbit/s  lat p50 %7.1f p99 %8.1f p99.9 %8.1f us",
	       kind, t->target_pps / 1e6, t->tx_pps / 1e6, t->rx_pps / 1e6, t->loss_ratio * 100,
	       t->rx_l1_bps / 1e9, t->rx_l2_bps / 1e9, t->lat_p50_ns / 1e3, t->lat_p99_ns / 1e3,
	       t->lat_p999_ns / 1e3);
	if (t->dut_cycles_per_packet >= 0)
		printf("  dut %.0f cyc/pkt (all threads %.0f)", t->dut_cycles_per_packet,
		       t->dut_total_cycles_per_packet);
	if (t->target_pps <= 0)
		printf("  ring-full %.0f%%", t->ring_full_ratio * 100);
	printf("\n");
	fflush(stdout);
}

static json_t *config_json(const struct opts *o)
{
	json_t *sizes = json_array(), *vlan = json_array(), *ports = json_array();

	for (unsigned int i = 0; i < o->gen.nb_sizes; i++)
		json_array_append_new(sizes, json_integer(o->gen.sizes[i]));
	for (unsigned int i = 0; i < o->gen.nb_ports; i++) {
		struct rte_eth_dev_info info = {0};
		struct rte_ether_addr mac = {0};
		char buf[RTE_ETHER_ADDR_FMT_SIZE];

		rte_eth_dev_info_get(o->gen.port_ids[i], &info);
		rte_eth_macaddr_get(o->gen.port_ids[i], &mac);
		rte_ether_format_addr(buf, sizeof(buf), &mac);
		json_array_append_new(vlan, json_integer(o->gen.vlan[i]));
		json_array_append_new(ports, json_pack("{s:i,s:s,s:s,s:b}", "id",
						       o->gen.port_ids[i], "name",
						       info.device ? rte_dev_name(info.device) : "",
						       "mac", buf, "tx", !o->gen.no_tx[i]));
	}
	return json_pack("{s:o,s:s,s:i,s:o,s:o,s:i,s:f,s:i,s:i,s:i}", "sizes", sizes, "size_note",
			 "frame bytes including the 4-byte FCS; size-4 bytes are carried", "flows",
			 o->gen.flows, "vlan", vlan, "ports", ports, "burst", o->gen.burst,
			 "duration_s", o->duration, "repeat", o->repeat, "learn", o->learn,
			 "lcore_cpu", sched_getcpu());
}

static int write_json(const struct opts *o, json_t *root)
{
	int rc;

	if (o->json_path == NULL)
		return 0;
	if (strcmp(o->json_path, "-") == 0)
		rc = json_dumpf(root, stdout, JSON_INDENT(1) | JSON_REAL_PRECISION(8));
	else
		rc = json_dump_file(root, o->json_path, JSON_INDENT(1) | JSON_REAL_PRECISION(8));
	return rc == 0 ? 0 : -EIO;
}

/* ---- the plan ---- */

static int run_trial(struct bench_gen *g, const struct opts *o, json_t *trials, const char *kind,
		     double rate, double duration, struct bench_trial *t)
{
	int rc = bench_gen_trial(g, rate, duration, t);

	if (rc < 0)
		return rc;
	print_trial(o, kind, t);
	json_array_append_new(trials, bench_report_trial(t, o->gen.nb_ports, kind));
	return 0;
}

/* Main trials; fills the summary with medians. Returns the median rx pps. */
static double run_main(struct bench_gen *g, const struct opts *o, json_t *trials, json_t *sum)
{
	double rx[MAX_REPEAT], l1[MAX_REPEAT], l2[MAX_REPEAT], loss[MAX_REPEAT], cpp[MAX_REPEAT];
	double rf[MAX_REPEAT], dsh[MAX_REPEAT], gsh[MAX_REPEAT];
	const char *kind = o->rate > 0 ? "rate" : "max";
	struct bench_trial t;
	json_t *all = json_array();

	for (unsigned int i = 0; i < o->repeat; i++) {
		run_trial(g, o, trials, kind, o->rate, o->duration, &t);
		rx[i] = t.rx_pps;
		l1[i] = t.rx_l1_bps / 1e9;
		l2[i] = t.rx_l2_bps / 1e9;
		loss[i] = t.loss_ratio;
		cpp[i] = t.dut_cycles_per_packet;
		rf[i] = t.ring_full_ratio;
		dsh[i] = t.dut_cpu_s >= 0 ? t.dut_cpu_s / t.elapsed_s : -1;
		gsh[i] = t.gen_cpu_s / t.elapsed_s;
		json_array_append_new(all, json_real(t.rx_pps));
	}
	json_object_set_new(sum, "rx_pps", json_real(bench_report_median(rx, o->repeat)));
	json_object_set_new(sum, "rx_pps_all", all);
	json_object_set_new(sum, "gbps_l1", json_real(bench_report_median(l1, o->repeat)));
	json_object_set_new(sum, "gbps_l2", json_real(bench_report_median(l2, o->repeat)));
	json_object_set_new(sum, "loss_ratio", json_real(bench_report_median(loss, o->repeat)));
	json_object_set_new(sum, "dut_cycles_per_packet",
			    json_real(bench_report_median(cpp, o->repeat)));
	json_object_set_new(sum, "ring_full_ratio", json_real(bench_report_median(rf, o->repeat)));
	/* Share of the window the DUT datapath and the generator were on a CPU:
	 * below ~0.9 other processes took it and the trial measured them too. */
	json_object_set_new(sum, "dut_cpu_share", json_real(bench_report_median(dsh, o->repeat)));
	json_object_set_new(sum, "gen_cpu_share", json_real(bench_report_median(gsh, o->repeat)));
	return bench_report_median(rx, o->repeat);
}

static void run_search(struct bench_gen *g, const struct opts *o, double upper, json_t *trials,
		       json_t *sum)
{
	struct bench_search *s = bench_search_new(upper, o->loss_pct / 100, o->resolution_pct / 100,
						  o->search_trials);
	struct bench_trial t;
	double rate;

	if (s == NULL)
		return;
	while (bench_search_next(s, &rate)) {
		run_trial(g, o, trials, "search", rate, o->search_duration, &t);
		bench_search_report(s, t.loss_ratio);
	}
	json_object_set_new(sum, "zero_loss_pps", json_real(bench_search_result(s)));
	json_object_set_new(sum, "zero_loss_threshold_pct", json_real(o->loss_pct));
	json_object_set_new(sum, "search_trials", json_integer(bench_search_trials(s)));
	if (!o->quiet)
		printf("search  throughput at <= %g%% loss: %.3f Mpps (%u trials)\n", o->loss_pct,
		       bench_search_result(s) / 1e6, bench_search_trials(s));
	bench_search_free(s);
}

static void run_latency(struct bench_gen *g, const struct opts *o, double max_pps, json_t *trials,
			json_t *sum)
{
	struct bench_trial t;

	if (max_pps <= 0)
		return;
	run_trial(g, o, trials, "latency", max_pps * o->latency_at, o->duration, &t);
	json_object_set_new(sum, "latency",
			    json_pack("{s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f}", "fraction_of_max",
				      o->latency_at, "rate_pps", t.target_pps, "rx_pps", t.rx_pps,
				      "loss_ratio", t.loss_ratio, "p50_ns", t.lat_p50_ns, "p99_ns",
				      t.lat_p99_ns, "p99.9_ns", t.lat_p999_ns, "max_ns",
				      t.lat_max_ns));
}

static int run_plan(struct bench_gen *g, const struct opts *o, json_t *root)
{
	json_t *trials = json_array(), *sum = json_object();
	double max_pps;

	json_object_set_new(root, "trials", trials);
	json_object_set_new(root, "summary", sum);
	if (o->learn) {
		uint64_t n = bench_gen_learn(g, o->learn, o->learn_rate);

		json_object_set_new(sum, "learn_frames", json_integer((json_int_t)n));
		if (!o->quiet)
			printf("learn   %" PRIu64 " source MACs sent\n", n);
	}
	if (o->warmup > 0)
		bench_gen_warmup(g, o->warmup);
	max_pps = run_main(g, o, trials, sum);
	if (o->search)
		run_search(g, o, max_pps, trials, sum);
	if (o->latency_at > 0)
		run_latency(g, o, max_pps, trials, sum);
	return 0;
}

/* Waits (up to the link timeout) until the runner says the DUT is ready. */
static int wait_file(const struct opts *o)
{
	for (double t = 0; o->wait_file && t < o->link_timeout; t += 0.02) {
		if (access(o->wait_file, F_OK) == 0)
			return 0;
		rte_delay_ms(20);
	}
	return o->wait_file ? -ETIMEDOUT : 0;
}

static int find_ports(struct opts *o)
{
	uint16_t pid;

	o->gen.nb_ports = 0;
	RTE_ETH_FOREACH_DEV(pid)
	{
		if (o->gen.nb_ports == BENCH_MAX_PORTS)
			break;
		o->gen.port_ids[o->gen.nb_ports++] = pid;
	}
	return o->gen.nb_ports ? 0 : -ENODEV;
}

int main(int argc, char **argv)
{
	struct bench_gen *g = NULL;
	struct opts o;
	json_t *root;
	int n, rc = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	n = rte_eal_init(argc, argv);
	if (n < 0) {
		fprintf(stderr, "hvnet-pktgen: EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argv[n] = argv[0];
	if (parse_args(&o, argc - n, argv + n) < 0) {
		usage(argv[0]);
		rc = 2;
		goto out_eal;
	}
	if (find_ports(&o) < 0) {
		fprintf(stderr, "hvnet-pktgen: no ports (pass --vdev)\n");
		goto out_eal;
	}
	g = bench_gen_new(&o.gen);
	if (g == NULL) {
		fprintf(stderr, "hvnet-pktgen: port setup failed: %s\n", strerror(errno));
		goto out_eal;
	}
	if (!o.quiet)
		printf("hvnet-pktgen: %u ports, lcore %u on cpu %d, sizes[0] %u, flows %u\n",
		       o.gen.nb_ports, rte_lcore_id(), sched_getcpu(), o.gen.sizes[0], o.gen.flows);
	if (bench_gen_wait_link(g, o.link_timeout) < 0) {
		fprintf(stderr, "hvnet-pktgen: link down after %.0f s (is the DUT connected?)\n",
			o.link_timeout);
		goto out_gen;
	}
	if (wait_file(&o) < 0) {
		fprintf(stderr, "hvnet-pktgen: %s did not appear\n", o.wait_file);
		goto out_gen;
	}
	if (bench_gen_probe(g, o.link_timeout) < 0) {
		fprintf(stderr,
			"hvnet-pktgen: no frames came back within %.0f s: the DUT "
			"does not forward\n",
			o.link_timeout);
		goto out_gen;
	}
	root = json_pack("{s:s,s:s,s:I,s:o}", "tool", "hvnet-pktgen", "version", HVNET_VERSION,
			 "tsc_hz", (json_int_t)bench_gen_tsc_hz(g), "config", config_json(&o));
	if (root && run_plan(g, &o, root) == 0 && write_json(&o, root) == 0)
		rc = 0;
	json_decref(root);
out_gen:
	bench_gen_free(g);
out_eal:
	rte_eal_cleanup();
	return rc;
}
