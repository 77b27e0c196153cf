/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fdb-bench: measures hvnet's MAC table (vswitch/fdb.c) at scale: memory
 * of a table of N entries (default 1,000,000), the rate of learning N new
 * addresses, of refreshing known ones, of bulk lookups in bursts of 32 as
 * the datapath does them, and the time of a full aging scan and a flush.
 * Prints a table and, with --json FILE, the medians as JSON. Runs on the
 * calling core only (single-threaded); pass EAL options after "--".
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "fdb.h"

struct result {
	double mem_mb, learn_mps, learn_cycles, refresh_mps, lookup_mps, lookup_cycles;
	double age_ms, flush_ms;
};

static uint64_t heap_used(void)
{
	struct rte_malloc_socket_stats st;

	rte_malloc_get_socket_stats((int)rte_socket_id(), &st);
	return st.heap_allocsz_bytes;
}

static void make_keys(struct vsw_fdb_key *keys, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		uint32_t x = i * 2654435761u; /* spread the addresses like real ones */

		keys[i] = (struct vsw_fdb_key){
			.mac = {0x02, (uint8_t)(i >> 24), (uint8_t)(x >> 24), (uint8_t)(x >> 16),
				(uint8_t)(x >> 8), (uint8_t)x},
			.vlan = (uint16_t)(i % 16),
			.sw = 0};
	}
}

static double ms(uint64_t cycles)
{
	return (double)cycles * 1000.0 / (double)rte_get_tsc_hz();
}

static int run_once(const struct vsw_fdb_key *keys, uint32_t n, int run, struct result *r)
{
	const void *ptrs[32];
	int32_t pos[32];
	uint64_t before = heap_used(), t0, t1;
	char name[32];
	struct vsw_fdb *fdb;
	uint32_t found = 0;

	snprintf(name, sizeof(name), "bench_fdb%d", run);
	fdb = vsw_fdb_create(name, n, NULL, (int)rte_socket_id());
	if (!fdb)
		return -errno;
	r->mem_mb = (double)(heap_used() - before) / (1024.0 * 1024.0);
	t0 = rte_rdtsc();
	for (uint32_t i = 0; i < n; i++) {
		if (vsw_fdb_learn(fdb, &keys[i], (uint16_t)(i & 255), 1000))
			break;
	}
	t1 = rte_rdtsc();
	if (vsw_fdb_count(fdb) != n) {
		fprintf(stderr, "fdb-bench: learned only %u of %u addresses\n", vsw_fdb_count(fdb), n);
		vsw_fdb_free(fdb);
		return -ENOSPC;
	}
	r->learn_cycles = (double)(t1 - t0) / n;
	r->learn_mps = n / (ms(t1 - t0) * 1000.0);
	t0 = rte_rdtsc();
	for (uint32_t i = 0; i < n; i++)
		vsw_fdb_learn(fdb, &keys[i], (uint16_t)(i & 255), 1001);
	r->refresh_mps = n / (ms(rte_rdtsc() - t0) * 1000.0);
	t0 = rte_rdtsc();
	for (uint32_t i = 0; i + 32 <= n; i += 32) {
		for (int j = 0; j < 32; j++)
			ptrs[j] = &keys[i + (uint32_t)j];
		rte_hash_lookup_bulk(vsw_fdb_hash(fdb), ptrs, 32, pos);
		for (int j = 0; j < 32; j++)
			found += pos[j] >= 0;
	}
	t1 = rte_rdtsc();
	r->lookup_cycles = (double)(t1 - t0) / (n - n % 32);
	r->lookup_mps = (n - n % 32) / (ms(t1 - t0) * 1000.0);
	if (found != n - n % 32)
		fprintf(stderr, "fdb-bench: %u lookups missed\n", n - n % 32 - found);
	t0 = rte_rdtsc();
	vsw_fdb_age(fdb, 1001, 300); /* nothing is old: a pure scan */
	r->age_ms = ms(rte_rdtsc() - t0);
	t0 = rte_rdtsc();
	vsw_fdb_flush(fdb, &(struct vsw_fdb_filter){.sw = -1, .vlan = -1, .port = -1});
	r->flush_ms = ms(rte_rdtsc() - t0);
	vsw_fdb_free(fdb);
	return found == n - n % 32 ? 0 : -EIO;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median of field at offset off over runs results. */
static double median(const struct result *rs, int runs, size_t off)
{
	double v[64];

	for (int i = 0; i < runs; i++)
		v[i] = *(const double *)((const char *)&rs[i] + off);
	qsort(v, (size_t)runs, sizeof(double), cmp_double);
	return v[runs / 2];
}

int main(int argc, char **argv)
{
	static const struct {
		const char *key, *label, *unit;
		size_t off;
	} fields[] = {
		{"memory_mb", "table memory", "MiB", offsetof(struct result, mem_mb)},
		{"learn_mpps", "learn new address", "M/s", offsetof(struct result, learn_mps)},
		{"learn_cycles", "learn new address", "cycles", offsetof(struct result, learn_cycles)},
		{"refresh_mpps", "refresh known address", "M/s", offsetof(struct result, refresh_mps)},
		{"lookup_mpps", "bulk lookup (32)", "M/s", offsetof(struct result, lookup_mps)},
		{"lookup_cycles", "bulk lookup (32)", "cycles", offsetof(struct result, lookup_cycles)},
		{"age_scan_ms", "aging scan", "ms", offsetof(struct result, age_ms)},
		{"flush_ms", "flush all", "ms", offsetof(struct result, flush_ms)},
	};
	static const struct option longopts[] = {
		{"entries", required_argument, NULL, 'n'}, {"runs", required_argument, NULL, 'r'},
		{"json", required_argument, NULL, 'j'},	   {NULL, 0, NULL, 0},
	};
	struct result rs[64];
	const char *json_path = NULL;
	struct vsw_fdb_key *keys;
	uint32_t n = 1000000;
	int runs = 3, opt, eal;
	json_t *out;

	eal = rte_eal_init(argc, argv);
	if (eal < 0) {
		fprintf(stderr, "fdb-bench: EAL init failed\n");
		return 1;
	}
	argc -= eal;
	argv += eal;
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (opt == 'n')
			n = (uint32_t)strtoul(optarg, NULL, 10);
		else if (opt == 'r')
			runs = atoi(optarg);
		else if (opt == 'j')
			json_path = optarg;
		else {
			fprintf(stderr, "usage: fdb-bench [EAL args --] [--entries N] [--runs R] [--json FILE]\n");
			return 2;
		}
	}
	if (n < 32 || runs < 1 || runs > 64) {
		fprintf(stderr, "fdb-bench: --entries must be >= 32 and --runs 1-64\n");
		return 2;
	}
	keys = malloc(sizeof(*keys) * n);
	if (!keys)
		return 1;
	make_keys(keys, n);
	printf("fdb-bench: %u entries, %d runs, 1 core (lcore %u), medians\n", n, runs,
	       rte_lcore_id());
	for (int i = 0; i < runs; i++) {
		int rc = run_once(keys, n, i, &rs[i]);

		if (rc) {
			fprintf(stderr, "fdb-bench: run %d failed: %s\n", i, strerror(-rc));
			return 1;
		}
	}
	out = json_pack("{s:s,s:i,s:i,s:i}", "benchmark", "fdb", "entries", n, "runs", runs,
			"cores", 1);
	printf("%-24s %12s %8s\n", "metric", "median", "unit");
	for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
		double m = median(rs, runs, fields[f].off);

		printf("%-24s %12.2f %8s\n", fields[f].label, m, fields[f].unit);
		json_object_set_new(out, fields[f].key, json_real(m));
	}
	if (json_path && json_dump_file(out, json_path, JSON_INDENT(2)) < 0) {
		fprintf(stderr, "fdb-bench: cannot write %s\n", json_path);
		return 1;
	}
	json_dumpf(out, stdout, JSON_COMPACT);
	putchar('\n');
	json_decref(out);
	free(keys);
	rte_eal_cleanup();
	return 0;
}
