/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * JSON rendering of trials (see bench_report.h). Rates are packets or bits
 * per second, times seconds, latencies nanoseconds; "gbps_l1" counts the 20
 * bytes of preamble and inter-frame gap per frame, "gbps_l2" the frame with
 * FCS.
 */
#include "bench_report.h"

#include <stdlib.h>
#include <string.h>

static json_t *port_json(const struct bench_port_result *r)
{
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "vlan_mismatch",
			 (json_int_t)r->vlan_mismatch, "bursts", (json_int_t)r->bursts,
			 "bursts_full", (json_int_t)r->bursts_full, "offered",
			 (json_int_t)r->offered, "tx", (json_int_t)r->tx, "tx_bytes",
			 (json_int_t)r->tx_bytes, "rx", (json_int_t)r->rx, "rx_bytes",
			 (json_int_t)r->rx_bytes, "rx_other", (json_int_t)r->rx_other, "seq_gaps",
			 (json_int_t)r->seq_gaps, "reordered", (json_int_t)r->reordered);
}

static json_t *latency_json(const struct bench_trial *t)
{
	return json_pack("{s:I,s:f,s:f,s:f,s:f,s:f,s:f}", "samples", (json_int_t)t->lat_samples,
			 "min", t->lat_min_ns, "mean", t->lat_mean_ns, "p50", t->lat_p50_ns, "p99",
			 t->lat_p99_ns, "p99.9", t->lat_p999_ns, "max", t->lat_max_ns);
}

json_t *bench_report_trial(const struct bench_trial *t, unsigned int nb_ports, const char *kind)
{
	json_t *o, *ports = json_array();

	for (unsigned int i = 0; i < nb_ports && ports; i++)
		json_array_append_new(ports, port_json(&t->port[i]));
	o = json_pack(
		"{s:f,s:f,s:f,s:s,s:f,s:f,s:I,s:I,s:I,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:o,s:o}",
		"dut_total_cpu_s", t->dut_total_cpu_s, "dut_total_cycles_per_packet",
		t->dut_total_cycles_per_packet, "ring_full_ratio", t->ring_full_ratio, "kind", kind,
		"target_pps", t->target_pps, "duration_s", t->elapsed_s, "offered",
		(json_int_t)t->offered, "tx", (json_int_t)t->tx, "rx", (json_int_t)t->rx,
		"offered_pps", t->offered_pps, "tx_pps", t->tx_pps, "rx_pps", t->rx_pps,
		"loss_ratio", t->loss_ratio, "gbps_l1", t->rx_l1_bps / 1e9, "gbps_l2",
		t->rx_l2_bps / 1e9, "dut_cpu_s", t->dut_cpu_s, "dut_cycles_per_packet",
		t->dut_cycles_per_packet, "latency_ns", latency_json(t), "ports", ports);
	if (o)
		json_object_set_new(o, "gen_cpu_s", json_real(t->gen_cpu_s));
	return o;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double bench_report_median(const double *v, unsigned int n)
{
	double *c, m;

	if (n == 0)
		return 0;
	c = malloc(n * sizeof(*c));
	if (c == NULL)
		return v[0];
	memcpy(c, v, n * sizeof(*c));
	qsort(c, n, sizeof(*c), cmp_double);
	m = n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
	free(c);
	return m;
}
