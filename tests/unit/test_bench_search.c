/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the RFC 2544 throughput search against simulated devices
 * with a known loss-free capacity.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bench_search.h"

/* A device that loses (rate - capacity) / rate of the frames above capacity. */
static double device_loss(double rate, double capacity)
{
	return rate <= capacity ? 0 : (rate - capacity) / rate;
}

static double search(double upper, double capacity, double threshold, unsigned int *trials)
{
	struct bench_search *s = bench_search_new(upper, threshold, 0.01, 20);
	double rate, result;

	assert_non_null(s);
	while (bench_search_next(s, &rate))
		bench_search_report(s, device_loss(rate, capacity));
	result = bench_search_result(s);
	*trials = bench_search_trials(s);
	bench_search_free(s);
	return result;
}

static void test_finds_capacity(void **state)
{
	unsigned int n;
	double r = search(10e6, 6.3e6, 0, &n);

	(void)state;
	assert_true(r <= 6.3e6);
	assert_true(r >= 6.3e6 - 0.01 * 10e6);
	assert_true(n <= 9);
}

static void test_line_rate_one_trial(void **state)
{
	unsigned int n;
	double r = search(5e6, 8e6, 0, &n);

	(void)state;
	assert_true(r == 5e6);
	assert_int_equal(n, 1);
}

static void test_threshold_admits_loss(void **state)
{
	unsigned int n;
	/* 10% loss allowed: up to capacity / 0.9. */
	double r = search(10e6, 4.5e6, 0.10, &n);

	(void)state;
	assert_true(r <= 5e6 + 1);
	assert_true(r >= 5e6 - 0.01 * 10e6);
}

static void test_nothing_passes(void **state)
{
	unsigned int n;
	double r = search(1e6, 0, 0, &n);

	(void)state;
	assert_true(r == 0);
	assert_true(n >= 1 && n <= 20);
}

static void test_bad_arguments(void **state)
{
	(void)state;
	assert_null(bench_search_new(0, 0, 0.01, 10));
	assert_int_equal(errno, EINVAL);
	assert_null(bench_search_new(1e6, -1, 0.01, 10));
	assert_null(bench_search_new(1e6, 0, 0, 10));
	assert_null(bench_search_new(1e6, 0, 0.01, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_finds_capacity),
		cmocka_unit_test(test_line_rate_one_trial),
		cmocka_unit_test(test_threshold_admits_loss),
		cmocka_unit_test(test_nothing_passes),
		cmocka_unit_test(test_bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
