/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Latency histogram: log-linear buckets (exact below 256, then 128 buckets
 * per power of two, so any value is kept within 0.8%), fixed size, no
 * allocation after creation. The generator adds one TSC delta per received
 * packet; percentiles are read after the trial. Not thread-safe: one writer.
 */
#ifndef BENCH_HIST_H
#define BENCH_HIST_H

#include <stdint.h>

struct bench_hist;

/* Returns an empty histogram, or NULL with errno set. */
struct bench_hist *bench_hist_new(void);

/* Frees @h; NULL is accepted. */
void bench_hist_free(struct bench_hist *h);

/* Forgets every sample. */
void bench_hist_reset(struct bench_hist *h);

/* Records one sample @v. Fast path: a few instructions, never fails. */
void bench_hist_add(struct bench_hist *h, uint64_t v);

/* Adds every sample of @src to @dst. */
void bench_hist_merge(struct bench_hist *dst, const struct bench_hist *src);

/* Number of samples recorded. */
uint64_t bench_hist_count(const struct bench_hist *h);

/* Smallest and largest sample (exact), 0 when empty. */
uint64_t bench_hist_min(const struct bench_hist *h);
uint64_t bench_hist_max(const struct bench_hist *h);

/* Mean of the samples (exact), 0 when empty. */
double bench_hist_mean(const struct bench_hist *h);

/*
 * Value at percentile @p (0 < p <= 100): the midpoint of the bucket holding
 * the sample of rank ceil(p/100 * count), clamped to [min, max]. 0 when empty.
 */
uint64_t bench_hist_percentile(const struct bench_hist *h, double p);

#endif /* BENCH_HIST_H */
