/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Log-linear histogram (see bench_hist.h). Bucket index of v: v itself below
 * 256; otherwise, with s = msb(v) - 7, 128 * s + (v >> s), whose top part
 * (v >> s) lies in [128, 255]. 57 octaves cover all of uint64_t.
 */
#include "bench_hist.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SUB_BITS   7
#define SUB	   (1u << SUB_BITS)
#define NB_BUCKETS (SUB * (64 - SUB_BITS) + 2 * SUB)

struct bench_hist {
	uint64_t count;
	uint64_t min;
	uint64_t max;
	double sum;
	uint64_t buckets[NB_BUCKETS];
};

static unsigned int bucket_of(uint64_t v)
{
	unsigned int shift;

	if (v < 2 * SUB)
		return (unsigned int)v;
	shift = 63 - (unsigned int)__builtin_clzll(v) - SUB_BITS;
	return SUB * shift + (unsigned int)(v >> shift);
}

/* Midpoint of bucket @i. */
static uint64_t bucket_mid(unsigned int i)
{
	unsigned int shift;
	uint64_t lo;

	if (i < 2 * SUB)
		return i;
	shift = i / SUB - 1;
	lo = (uint64_t)(SUB + i % SUB) << shift;
	return lo + ((UINT64_C(1) << shift) >> 1);
}

struct bench_hist *bench_hist_new(void)
{
	struct bench_hist *h = calloc(1, sizeof(*h));

	if (h == NULL)
		errno = ENOMEM;
	return h;
}

void bench_hist_free(struct bench_hist *h)
{
	free(h);
}

void bench_hist_reset(struct bench_hist *h)
{
	memset(h, 0, sizeof(*h));
}

void bench_hist_add(struct bench_hist *h, uint64_t v)
{
	if (h->count == 0 || v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->count++;
	h->sum += (double)v;
	h->buckets[bucket_of(v)]++;
}

void bench_hist_merge(struct bench_hist *dst, const struct bench_hist *src)
{
	if (src->count == 0)
		return;
	if (dst->count == 0 || src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	dst->count += src->count;
	dst->sum += src->sum;
	for (unsigned int i = 0; i < NB_BUCKETS; i++)
		dst->buckets[i] += src->buckets[i];
}

uint64_t bench_hist_count(const struct bench_hist *h)
{
	return h->count;
}

uint64_t bench_hist_min(const struct bench_hist *h)
{
	return h->min;
}

uint64_t bench_hist_max(const struct bench_hist *h)
{
	return h->max;
}

double bench_hist_mean(const struct bench_hist *h)
{
	return h->count ? h->sum / (double)h->count : 0.0;
}

uint64_t bench_hist_percentile(const struct bench_hist *h, double p)
{
	uint64_t rank, seen = 0, v;

	if (h->count == 0)
		return 0;
	rank = (uint64_t)ceil(p / 100.0 * (double)h->count);
	if (rank < 1)
		rank = 1;
	for (unsigned int i = 0; i < NB_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen < rank)
			continue;
		v = bucket_mid(i);
		return v < h->min ? h->min : v > h->max ? h->max : v;
	}
	return h->max;
}
