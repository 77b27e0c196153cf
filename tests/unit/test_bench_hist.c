/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the benchmark latency histogram: exact small values, bounded
 * relative error for large ones, percentiles, merge and reset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bench_hist.h"

static void test_empty(void **state)
{
	struct bench_hist *h = bench_hist_new();

	(void)state;
	assert_non_null(h);
	assert_int_equal(bench_hist_count(h), 0);
	assert_int_equal(bench_hist_percentile(h, 50), 0);
	assert_int_equal(bench_hist_max(h), 0);
	bench_hist_free(h);
	bench_hist_free(NULL);
}

static void test_small_values_exact(void **state)
{
	struct bench_hist *h = bench_hist_new();

	(void)state;
	for (uint64_t v = 1; v <= 100; v++)
		bench_hist_add(h, v);
	assert_int_equal(bench_hist_count(h), 100);
	assert_int_equal(bench_hist_min(h), 1);
	assert_int_equal(bench_hist_max(h), 100);
	assert_int_equal(bench_hist_percentile(h, 50), 50);
	assert_int_equal(bench_hist_percentile(h, 99), 99);
	assert_int_equal(bench_hist_percentile(h, 100), 100);
	assert_true(bench_hist_mean(h) > 50.49 && bench_hist_mean(h) < 50.51);
	bench_hist_free(h);
}

/* Every value comes back within 1% through a single-sample histogram. */
static void test_relative_error(void **state)
{
	struct bench_hist *h = bench_hist_new();
	uint64_t vals[] = {255,
			   256,
			   257,
			   1000,
			   4095,
			   4096,
			   123456,
			   9999999,
			   UINT64_C(1) << 40,
			   (UINT64_C(1) << 62) + 12345};

	(void)state;
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		uint64_t got;
		double err;

		bench_hist_reset(h);
		bench_hist_add(h, vals[i] / 3);
		bench_hist_add(h, vals[i]);
		bench_hist_add(h, vals[i] * 2 > vals[i] ? vals[i] * 2 : vals[i]);
		got = bench_hist_percentile(h, 50);
		err = ((double)got - (double)vals[i]) / (double)vals[i];
		assert_true(err < 0.01 && err > -0.01);
	}
	bench_hist_free(h);
}

static void test_tail_percentiles(void **state)
{
	struct bench_hist *h = bench_hist_new();

	(void)state;
	/* 99.8% at ~1000, 0.2% at ~1000000: p99 is small, p99.9 is the tail. */
	for (int i = 0; i < 998; i++)
		bench_hist_add(h, 1000);
	bench_hist_add(h, 1000000);
	bench_hist_add(h, 1000000);
	assert_true(bench_hist_percentile(h, 99) < 1010);
	assert_true(bench_hist_percentile(h, 99.9) > 990000);
	assert_int_equal(bench_hist_max(h), 1000000);
	bench_hist_free(h);
}

static void test_merge(void **state)
{
	struct bench_hist *a = bench_hist_new(), *b = bench_hist_new();

	(void)state;
	bench_hist_add(a, 10);
	bench_hist_add(b, 5);
	bench_hist_add(b, 20);
	bench_hist_merge(a, b);
	assert_int_equal(bench_hist_count(a), 3);
	assert_int_equal(bench_hist_min(a), 5);
	assert_int_equal(bench_hist_max(a), 20);
	assert_int_equal(bench_hist_percentile(a, 50), 10);
	bench_hist_free(a);
	bench_hist_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_small_values_exact),
		cmocka_unit_test(test_relative_error),
		cmocka_unit_test(test_tail_percentiles),
		cmocka_unit_test(test_merge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
