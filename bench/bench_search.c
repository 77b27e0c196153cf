/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Binary search for RFC 2544 throughput (see bench_search.h). The first
 * trial is at the upper bound itself: a device that forwards everything the
 * generator can offer is done in one trial. Afterwards [lo, hi] brackets the
 * answer: lo passed (or is 0), hi failed.
 */
#include "bench_search.h"

#include <errno.h>
#include <stdlib.h>

struct bench_search {
	double upper;
	double threshold;
	double resolution;
	unsigned int max_trials;
	unsigned int trials;
	double lo;
	double hi;
	double current;
	double best;
	bool done;
};

struct bench_search *bench_search_new(double upper_pps, double loss_threshold, double resolution,
				      unsigned int max_trials)
{
	struct bench_search *s;

	if (!(upper_pps > 0) || loss_threshold < 0 || !(resolution > 0) || max_trials == 0) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	s->upper = upper_pps;
	s->threshold = loss_threshold;
	s->resolution = resolution;
	s->max_trials = max_trials;
	s->hi = upper_pps;
	s->current = upper_pps;
	return s;
}

void bench_search_free(struct bench_search *s)
{
	free(s);
}

bool bench_search_next(struct bench_search *s, double *rate_pps)
{
	if (s->done || s->trials >= s->max_trials)
		return false;
	*rate_pps = s->current;
	return true;
}

void bench_search_report(struct bench_search *s, double loss_ratio)
{
	bool pass = loss_ratio <= s->threshold;

	s->trials++;
	if (pass) {
		s->lo = s->current;
		if (s->current > s->best)
			s->best = s->current;
	} else {
		s->hi = s->current;
	}
	if (pass && s->current >= s->upper) {
		s->done = true;
		return;
	}
	if (s->hi - s->lo < s->resolution * s->upper)
		s->done = true;
	s->current = (s->lo + s->hi) / 2;
}

double bench_search_result(const struct bench_search *s)
{
	return s->best;
}

unsigned int bench_search_trials(const struct bench_search *s)
{
	return s->trials;
}
