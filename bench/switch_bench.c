/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * switch-bench: the cost of hvnet's datapath itself, without NIC or
 * vhost copies in the way. One datapath lcore switches frames between two
 * dummy ports (rte_rings) of a private switch; the main lcore is the
 * traffic source and sink: it takes what port b sent, rewrites the flow
 * fields (so N distinct flows cycle), and feeds the frames back into port
 * a, keeping a fixed population in flight. Scenarios: plain L2, extended
 * ACLs (0, 1,000 and 10,000 rules, all but the last non-matching and
 * evaluated first), and 1,000,000 tracked connections. Reports Mpps,
 * datapath cycles per packet
 * and the ratio to plain L2, as a table and JSON; medians of --runs rounds
 * (each round runs every scenario once; ratios are medians of each round's
 * ratio to that round's L2).
 * Capture scenarios stream a capture of port a to a reading thread and add
 * the capture writer's CPU per frame and the share of frames captured (the
 * rest were dropped by a full ring: capture never slows the switch down).
 * The source never writes into a frame a capture still holds: it sends a
 * fresh one instead, as a NIC would receive into a new buffer. The writer
 * and the reader run on the datapath's CPU (--capture-cpu N to move them,
 * -1: not pinned, i.e. with the source): there they take time from the
 * datapath (Mpps shows the whole capture's cost) but not its CPU time
 * (cycles/pkt shows what capture adds to the datapath itself), and they
 * never starve the source, which would turn its shortfall into idle polls.
 * Cycles per packet come from the loop thread's CPU time (schedstat), which
 * other processes taking the CPU do not inflate (the loop polls all the
 * time, so its CPU time is its whole budget); on a shared machine compare
 * the ratios by cycles.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <rte_cycles.h>
#include <rte_bpf.h>
#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "vsw.h"

#define POPULATION 1024

struct scenario {
	const char *name;
	unsigned int xacl_rules; /* 0: no extended ACL */
	bool stateful;
	uint32_t flows;
	const char *capture;	 /* capture port a with this filter ("" = everything) */
	bool ext_filter;	 /* a trivial filter extension (passes everything) on the switch */
};

struct sample {
	double mpps, cpu_cycles;
	double writer_cycles, captured; /* capture: writer CPU per frame, share of frames captured */
};

static struct vsw *vsw;
static struct rte_ring *a_rx, *b_tx;
static uint16_t frame_size = 64;

static const uint8_t MAC_A[6] = {2, 0, 0, 0, 0, 0xa}, MAC_B[6] = {2, 0, 0, 0, 0, 0xb};

/* Only the flow fields change between laps: source address and port. */
static inline void set_flow(struct rte_mbuf *m, uint32_t f)
{
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
	uint16_t sport = (uint16_t)(1024 + (f & 0xffff) % 60000);

	p[27] = (uint8_t)(f >> 16), p[28] = (uint8_t)(f >> 8);
	p[34] = (uint8_t)(sport >> 8), p[35] = (uint8_t)sport;
}

/* Writes an Ethernet/IPv4/UDP frame of flow f (source port and address vary) into m. */
static void write_frame(struct rte_mbuf *m, uint32_t f)
{
	uint8_t *p;

	rte_pktmbuf_reset(m);
	p = (uint8_t *)rte_pktmbuf_append(m, frame_size);
	memset(p, 0, frame_size);
	memcpy(p, MAC_B, 6);
	memcpy(p + 6, MAC_A, 6);
	p[12] = 0x08, p[14] = 0x45, p[22] = 64, p[23] = 17;
	p[26] = 10, p[29] = 1;		    /* src 10.x.y.1: x, y from the flow */
	p[30] = 10, p[31] = 255, p[32] = 0, p[33] = 1;				      /* dst */
	p[36] = 0x13, p[37] = 0x88; /* dst port 5000 */
	set_flow(m, f);
}

/* The id of this process's thread named name (the datapath: rte-worker-N). */
static pid_t thread_by_name(const char *name)
{
	char want[32], path[300], comm[64];
	struct dirent *d;
	pid_t tid = 0;
	DIR *dir = opendir("/proc/self/task");

	snprintf(want, sizeof(want), "%s\n", name);
	while (dir && (d = readdir(dir))) {
		FILE *f;

		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", d->d_name);
		f = fopen(path, "r");
		if (f && fgets(comm, sizeof(comm), f) && !strcmp(comm, want))
			tid = atoi(d->d_name);
		if (f)
			fclose(f);
	}
	if (dir)
		closedir(dir);
	return tid;
}

/*
 * CPU time (ns) the thread has run, from schedstat: unlike TSC intervals it
 * does not grow while another process has the CPU, so cycles per packet
 * from it hold on a shared machine.
 */
static uint64_t thread_cpu_ns(pid_t tid)
{
	unsigned long long ns = 0;
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", (int)tid);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%llu", &ns) != 1)
			ns = 0;
		fclose(f);
	}
	return ns;
}

static pid_t dp_tid;
static int capture_cpu; /* where the capture writer and its reader run (-1: not pinned) */

/* Pins thread tid (0: the caller) to capture_cpu. */
static int pin_capture_thread(pid_t tid)
{
	cpu_set_t set;

	if (capture_cpu < 0)
		return 0;
	CPU_ZERO(&set);
	CPU_SET(capture_cpu, &set);
	return sched_setaffinity(tid, sizeof(set), &set) ? -errno : 0;
}

static int port_add(const char *name)
{
	struct vsw_port_params p = {.kind = "dummy", .name = name};
	struct ctl_err err;

	if (vsw_port_add(vsw, "s", &p, false, &err)) {
		fprintf(stderr, "switch-bench: %s\n", err.msg);
		return -1;
	}
	return 0;
}

/*
 * Installs n outbound rules on port a: n-1 that never match (remote port
 * 1-65534 other than 5000, weights above) and, last, the allow rule every
 * frame matches (stateful when asked).
 */
static int install_rules(unsigned int n, bool stateful)
{
	struct pol_xacl_rule *r = calloc(n, sizeof(*r));
	struct ctl_err err;
	int rc;

	if (!r)
		return -ENOMEM;
	for (unsigned int i = 0; i < n; i++) {
		r[i] = (struct pol_xacl_rule){.dir = POL_DIR_OUT, .action = POL_DENY,
					      .weight = n - i + 1, .proto = POL_PROTO_UDP,
					      .has_remote_port = true};
		r[i].remote_lo = r[i].remote_hi = (uint16_t)(i % 4000 + 6000);
		pol_parse_prefix("local-ip", "10.0.0.0/8", &r[i].local_ip, NULL);
		r[i].local_ip.addr[1] = (uint8_t)(i / 4000 + 100); /* 10.100.x, 10.101.x: never us */
		r[i].local_ip.len = 16;
	}
	r[n - 1] = (struct pol_xacl_rule){.dir = POL_DIR_OUT, .action = POL_ALLOW, .weight = 1,
					  .proto = POL_PROTO_UDP, .stateful = stateful};
	rc = vsw_xacl_add(vsw, "a", r, n, &err);
	if (rc)
		fprintf(stderr, "switch-bench: %s\n", err.msg);
	free(r);
	return rc;
}

static struct rte_mempool *pool;

/*
 * A frame to send instead of m, which a capture still holds: the source
 * must not write into a shared mbuf (a NIC would receive into a fresh one).
 * Waits for a buffer rather than shrinking the population.
 */
static struct rte_mbuf *fresh_frame(struct rte_mbuf *m)
{
	struct rte_mbuf *f;

	while (!(f = rte_pktmbuf_alloc(pool)))
		;
	write_frame(f, 0);
	rte_pktmbuf_free(m);
	return f;
}

/* Runs traffic for secs seconds; returns frames switched. */
static uint64_t pump(double secs, uint32_t flows, uint32_t *next_flow)
{
	uint64_t end = rte_rdtsc() + (uint64_t)(secs * rte_get_tsc_hz()), n = 0;
	struct rte_mbuf *m[32];

	while (rte_rdtsc() < end) {
		unsigned int k = rte_ring_dequeue_burst(b_tx, (void **)m, 32, NULL);

		for (unsigned int i = 0; i < k; i++) {
			if (rte_mbuf_refcnt_read(m[i]) != 1)
				m[i] = fresh_frame(m[i]);
			set_flow(m[i], *next_flow);
			if (++*next_flow >= flows)
				*next_flow = 0;
		}
		n += k;
		while (k && rte_ring_enqueue_burst(a_rx, (void **)m, k, NULL) != k)
			;
	}
	return n;
}

static int capture_sink[2] = {-1, -1};
static pthread_t sink_thread;
static uint64_t cap_captured, cap_dropped; /* the summary of the last capture */

/* Reads n bytes (NULL: discards them); returns 0 or -1 at the end of the stream. */
static int read_full(int fd, void *buf, size_t n)
{
	static char junk[65536];

	while (n) {
		size_t want = buf ? n : RTE_MIN(n, sizeof(junk));
		ssize_t k = read(fd, buf ? buf : junk, want);

		if (k <= 0)
			return -1;
		n -= (size_t)k;
		if (buf)
			buf = (char *)buf + k;
	}
	return 0;
}

/*
 * Reads a capture stream as a client writing to /dev/null would: the JSON
 * line, the framed pcapng chunks (discarded), and the summary line.
 */
static void *sink_main(void *arg)
{
	char line[512];
	size_t n = 0;
	uint32_t len;
	json_t *sum;

	(void)arg;
	pin_capture_thread(0);
	while (n + 1 < sizeof(line) && read_full(capture_sink[1], line + n, 1) == 0 && line[n] != '\n')
		n++;
	while (read_full(capture_sink[1], &len, 4) == 0 && len)
		if (read_full(capture_sink[1], NULL, len))
			return NULL;
	n = 0;
	while (n + 1 < sizeof(line) && read_full(capture_sink[1], line + n, 1) == 0 && line[n] != '\n')
		n++;
	line[n] = 0;
	sum = json_loads(line, 0, NULL);
	cap_captured = (uint64_t)json_integer_value(json_object_get(sum, "captured"));
	cap_dropped = (uint64_t)json_integer_value(json_object_get(sum, "dropped"));
	json_decref(sum);
	return NULL;
}

/* Starts a capture of port a streamed into a discarding reader. */
static int start_capture(const char *filter)
{
	struct vsw_capture_params prm = {.filter = *filter ? filter : NULL, .snaplen = 262144,
					 .dirs = VSW_CAPTURE_IN | VSW_CAPTURE_OUT};
	struct ctl_err err;
	struct ctl_conn conn;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, capture_sink))
		return -errno;
	conn = (struct ctl_conn){.fd = capture_sink[0]};
	if (vsw_capture_open(vsw, "a", &prm, &conn, &err)) {
		fprintf(stderr, "switch-bench: %s\n", err.msg);
		return -1;
	}
	return pthread_create(&sink_thread, NULL, sink_main, NULL);
}

static int setup_scenario(const struct scenario *s)
{
	struct ctl_err err;
	struct rte_mbuf *m[POPULATION];
	struct rte_ring *b_rx;

	if (vsw_switch_add(vsw, "s", VSW_SWITCH_PRIVATE, NULL, false, &err) || port_add("a") ||
	    port_add("b"))
		return -1;
	pool = rte_mempool_lookup("hvnet_mbufs");
	a_rx = rte_ring_lookup("dummy_rx:a");
	b_tx = rte_ring_lookup("dummy_tx:b");
	b_rx = rte_ring_lookup("dummy_rx:b");
	if (s->xacl_rules && install_rules(s->xacl_rules, s->stateful))
		return -1;
	if (s->capture && start_capture(s->capture))
		return -1;
	if (s->ext_filter) {
		/* r0 = HVNET_EXT_PASS; exit */
		static const struct ebpf_insn pass[] = {
			{.code = EBPF_ALU64 | EBPF_MOV | BPF_K, .dst_reg = EBPF_REG_0, .imm = 1},
			{.code = BPF_JMP | EBPF_EXIT},
		};
		struct ctl_err err;

		if (vsw_ext_add_insns(vsw, "s", "pass", pass, 2, VSW_EXT_FILTER, NULL, &err)) {
			fprintf(stderr, "switch-bench: %s\n", err.msg);
			return -1;
		}
	}
	/* b announces itself so that a's frames are known unicast */
	if (rte_pktmbuf_alloc_bulk(pool, m, POPULATION))
		return -1;
	write_frame(m[0], 0);
	memcpy(rte_pktmbuf_mtod(m[0], uint8_t *), MAC_A, 6);
	memcpy(rte_pktmbuf_mtod(m[0], uint8_t *) + 6, MAC_B, 6);
	rte_ring_enqueue(b_rx, m[0]);
	rte_delay_ms(50);
	for (unsigned int i = 1; i < POPULATION; i++)
		write_frame(m[i], i % s->flows);
	rte_ring_enqueue_bulk(a_rx, (void **)m + 1, POPULATION - 1, NULL);
	return 0;
}

static void teardown_scenario(void)
{
	struct rte_mbuf *m[32];
	unsigned int k;

	/* frames still in flight are freed with the ports' rings */
	while ((k = rte_ring_dequeue_burst(b_tx, (void **)m, 32, NULL)))
		rte_pktmbuf_free_bulk(m, k);
	vsw_switch_del(vsw, "s", NULL); /* ends a capture of its ports */
	vsw_conntrack_flush(vsw, NULL, NULL);
	if (capture_sink[1] >= 0) {
		for (int i = 0; i < 100; i++) { /* the session leaves on the control tick */
			vsw_tick(vsw);
			rte_delay_ms(10);
		}
		pthread_join(sink_thread, NULL);
		close(capture_sink[1]);
		capture_sink[1] = -1;
	}
}

static int run_scenario(const struct scenario *s, double secs, struct sample *out)
{
	uint64_t n, cpu0, cpu1, w0 = 0, w1 = 0;
	uint32_t flow = 0;
	pid_t writer = 0;
	double hz = (double)rte_get_tsc_hz();

	if (setup_scenario(s))
		return -1;
	if (s->capture) {
		writer = thread_by_name("capture-writer");
		if (!writer || pin_capture_thread(writer))
			fprintf(stderr, "switch-bench: cannot pin the capture writer\n");
	}
	/* warm-up: a whole lap of the flows (creates the tracked connections) */
	pump(s->flows > 100000 ? secs + 1.0 : 0.3, s->flows, &flow);
	cpu0 = thread_cpu_ns(dp_tid);
	w0 = writer ? thread_cpu_ns(writer) : 0;
	n = pump(secs, s->flows, &flow);
	cpu1 = thread_cpu_ns(dp_tid);
	w1 = writer ? thread_cpu_ns(writer) : 0;
	out->mpps = (double)n / secs / 1e6;
	/* the loop polls all the time: its CPU time is its budget */
	out->cpu_cycles = n ? (double)(cpu1 - cpu0) * 1e-9 * hz / (double)n : 0;
	out->writer_cycles = n ? (double)(w1 - w0) * 1e-9 * hz / (double)n : 0;
	teardown_scenario();
	out->captured = cap_captured + cap_dropped
				? (double)cap_captured / (double)(cap_captured + cap_dropped) : 0;
	cap_captured = cap_dropped = 0;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), cmp_double);
	return v[n / 2];
}

/* Every round's Mpps and cycles per packet, in the order they ran. */
static json_t *rounds_json(const struct sample *smp, int runs)
{
	json_t *a = json_array();

	for (int r = 0; r < runs; r++)
		json_array_append_new(a, json_pack("[f,f]", smp[r].mpps, smp[r].cpu_cycles));
	return a;
}

/* Whether name is one of the comma-separated list. */
static bool listed(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, name, n) && (p[n] == ',' || !p[n]))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	static const struct scenario all[] = {
		{"l2", 0, false, 1024},
		{"xacl-1", 1, false, 1024},
		{"xacl-1000", 1000, false, 1024},
		{"xacl-10000", 10000, false, 1024},
		{"conntrack-1M", 1, true, 1000000},
		{"capture-all", 0, false, 1024, ""},
		{"capture-none", 0, false, 1024, "tcp port 9"},
		{"ext-filter", 0, false, 1024, NULL, true},
	};
	static struct sample smp[RTE_DIM(all)][15]; /* [scenario][round] */
	static const struct option longopts[] = {
		{"runs", required_argument, NULL, 'r'},	   {"seconds", required_argument, NULL, 's'},
		{"json", required_argument, NULL, 'j'},	   {"size", required_argument, NULL, 'z'},
		{"quick", no_argument, NULL, 'q'},	   {"only", required_argument, NULL, 'o'},
		{"capture-cpu", required_argument, NULL, 'c'},
		{NULL, 0, NULL, 0},
	};
	int runs = 3, opt, eal, n_scen = (int)RTE_DIM(all);
	double secs = 2.0;
	const char *json_path = NULL, *only = NULL;
	unsigned int lcore;
	char name[32];
	bool capture_cpu_set = false;
	struct ctl_err err;
	json_t *out, *list;

	eal = rte_eal_init(argc, argv);
	if (eal < 0)
		return 1;
	argc -= eal;
	argv += eal;
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (opt == 'r')
			runs = atoi(optarg);
		else if (opt == 's')
			secs = atof(optarg);
		else if (opt == 'j')
			json_path = optarg;
		else if (opt == 'z')
			frame_size = (uint16_t)atoi(optarg);
		else if (opt == 'q')
			n_scen = 2; /* smoke: l2 and one rule */
		else if (opt == 'o')
			only = optarg;
		else if (opt == 'c')
			capture_cpu = atoi(optarg), capture_cpu_set = true;
		else
			return 2;
	}
	if (runs < 1 || runs > 15 || secs <= 0 || frame_size < 60 || frame_size > 1518) {
		fprintf(stderr, "switch-bench: --runs 1-15, --seconds > 0, --size 60-1518\n");
		return 2;
	}
	lcore = rte_get_next_lcore(-1, 1, 0);
	if (lcore >= RTE_MAX_LCORE) {
		fprintf(stderr, "switch-bench: needs two lcores (EAL -l 0,1)\n");
		return 2;
	}
	vsw = vsw_create(&(struct vsw_opts){.n_lcores = 1, .lcore_ids = &lcore,
					    .fdb_size = 1 << 16, .ct_size = 1 << 21, .aging = 0,
					    .n_mbufs = 32768 /* vswitchd's default */},
			 &err);
	if (!vsw) {
		fprintf(stderr, "switch-bench: %s\n", err.msg);
		return 1;
	}
	if (!capture_cpu_set)
		capture_cpu = rte_lcore_to_cpu_id((int)lcore);
	printf("switch-bench: %u-byte frames, datapath on lcore %u (cpu %d), source/sink on cpu %d,"
	       " capture writer and reader on cpu %d, %d runs of %.1f s, medians\n",
	       frame_size, lcore, rte_lcore_to_cpu_id((int)lcore),
	       rte_lcore_to_cpu_id((int)rte_get_main_lcore()), capture_cpu, runs, secs);
	snprintf(name, sizeof(name), "rte-worker-%u", lcore);
	dp_tid = thread_by_name(name);
	printf("%-14s %8s %10s %12s %10s %10s\n", "scenario", "flows", "Mpps", "cycles/pkt",
	       "vs l2", "vs l2 cyc");
	out = json_pack("{s:s,s:i,s:i,s:f}", "benchmark", "switch", "frame_size", frame_size,
			"runs", runs, "seconds", secs);
	list = json_array();
	/* rounds of every scenario, so that a noisy phase of the machine hits them all */
	for (int r = 0; r < runs; r++) {
		for (int i = 0; i < n_scen; i++) {
			if (only && i && !listed(only, all[i].name))
				continue; /* l2 always runs: it is the reference */
			if (run_scenario(&all[i], secs, &smp[i][r]))
				return 1;
		}
	}
	for (int i = 0; i < n_scen; i++) {
		double mpps[15], cpu[15], wcyc[15], kept[15], rm[15], rc[15];
		json_t *row;

		if (only && i && !listed(only, all[i].name))
			continue;
		for (int r = 0; r < runs; r++) {
			const struct sample *s = &smp[i][r], *l2 = &smp[0][r];

			mpps[r] = s->mpps;
			cpu[r] = s->cpu_cycles;
			wcyc[r] = s->writer_cycles;
			kept[r] = s->captured;
			rm[r] = l2->mpps ? s->mpps / l2->mpps : 0;
			rc[r] = s->cpu_cycles ? l2->cpu_cycles / s->cpu_cycles : 0;
		}
		double m = median(mpps, runs), u = median(cpu, runs);
		double ratio = median(rm, runs), ratio_cyc = median(rc, runs);

		printf("%-14s %8u %10.2f %12.1f %9.2fx %9.2fx", all[i].name, all[i].flows, m, u,
		       ratio, ratio_cyc);
		row = json_pack("{s:s,s:i,s:i,s:f,s:f,s:f,s:f}", "scenario", all[i].name,
				"xacl_rules", all[i].xacl_rules, "flows", all[i].flows, "mpps", m,
				"cycles_per_packet", u, "ratio_to_l2", ratio,
				"ratio_to_l2_by_cycles", ratio_cyc);
		json_object_set_new(row, "rounds", rounds_json(smp[i], runs));
		if (all[i].capture) {
			double w = median(wcyc, runs), k = median(kept, runs);

			printf("   writer %.1f cyc/pkt, %.1f%% captured", w, k * 100);
			json_object_set_new(row, "writer_cycles_per_packet", json_real(w));
			json_object_set_new(row, "captured_share", json_real(k));
		}
		putchar('\n');
		json_array_append_new(list, row);
	}
	json_object_set_new(out, "results", list);
	if (json_path)
		json_dump_file(out, json_path, JSON_INDENT(2));
	json_dumpf(out, stdout, JSON_COMPACT);
	putchar('\n');
	json_decref(out);
	vsw_destroy(vsw);
	rte_eal_cleanup();
	return 0;
}
