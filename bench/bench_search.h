/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RFC 2544 throughput search: the highest offered rate whose loss stays at
 * or below a threshold, by binary search between 0 and an upper bound (the
 * measured max-rate throughput). The caller runs the trials; this module
 * only chooses the next rate and keeps the best passing one, so it is pure
 * and testable:
 *
 *	s = bench_search_new(max_pps, 0.001, 0.02, 12);
 *	while (bench_search_next(s, &rate))
 *		bench_search_report(s, run_trial(rate));
 *	zero_loss = bench_search_result(s);
 */
#ifndef BENCH_SEARCH_H
#define BENCH_SEARCH_H

#include <stdbool.h>

struct bench_search;

/*
 * Starts a search below @upper_pps (> 0). A trial passes when its loss ratio
 * (0..1) is <= @loss_threshold (0 = no loss at all). The search stops when
 * the interval is narrower than @resolution (a fraction of @upper_pps,
 * > 0) or after @max_trials trials. Returns NULL with errno EINVAL/ENOMEM.
 */
struct bench_search *bench_search_new(double upper_pps, double loss_threshold, double resolution,
				      unsigned int max_trials);

/* Frees @s; NULL is accepted. */
void bench_search_free(struct bench_search *s);

/* Stores in @rate_pps the rate of the next trial and returns true, or
 * returns false when the search is over. */
bool bench_search_next(struct bench_search *s, double *rate_pps);

/* Reports the loss ratio (0..1) of the trial bench_search_next() chose. */
void bench_search_report(struct bench_search *s, double loss_ratio);

/* Highest rate that passed so far (0 if none). */
double bench_search_result(const struct bench_search *s);

/* Number of trials reported so far. */
unsigned int bench_search_trials(const struct bench_search *s);

#endif /* BENCH_SEARCH_H */
