/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * JSON rendering of benchmark results (jansson), shared by hvnet-pktgen and
 * the tests: one object per trial with the keys documented in
 * bench/README.md.
 */
#ifndef BENCH_REPORT_H
#define BENCH_REPORT_H

#include <jansson.h>

#include "bench_gen.h"

/*
 * Returns a new JSON object describing trial @t of kind @kind ("max",
 * "rate", "search", "latency") with @nb_ports port entries, or NULL on
 * allocation failure. The caller owns the reference.
 */
json_t *bench_report_trial(const struct bench_trial *t, unsigned int nb_ports, const char *kind);

/* Median of @n values (sorts a copy); 0 when @n is 0. */
double bench_report_median(const double *v, unsigned int n);

#endif /* BENCH_REPORT_H */
