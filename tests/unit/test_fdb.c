/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the MAC table (vswitch/fdb.c): learn, move, age, capacity, flush. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <rte_eal.h>

#include "fdb.h"

static struct vsw_fdb_key key(uint16_t sw, uint16_t vlan, uint32_t n)
{
	struct vsw_fdb_key k = {.mac = {0x02, 0, (uint8_t)(n >> 24), (uint8_t)(n >> 16),
					(uint8_t)(n >> 8), (uint8_t)n},
				.vlan = vlan, .sw = sw};
	return k;
}

static int setup(void **state)
{
	static unsigned int n;
	char name[32];

	snprintf(name, sizeof(name), "fdb%u", n++);
	*state = vsw_fdb_create(name, 1000, NULL, 0);
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	vsw_fdb_free(*state);
	return 0;
}

static void test_learn_and_lookup(void **state)
{
	struct vsw_fdb *fdb = *state;
	struct vsw_fdb_key k = key(0, 10, 1);
	struct vsw_fdb_entry *e;

	assert_null(vsw_fdb_lookup(fdb, &k));
	assert_int_equal(vsw_fdb_learn(fdb, &k, 3, 100), 0);
	e = vsw_fdb_lookup(fdb, &k);
	assert_non_null(e);
	assert_int_equal(e->port, 3);
	assert_int_equal(e->last_seen, 100);
	assert_int_equal(e->is_static, 0);
	assert_int_equal(vsw_fdb_count(fdb), 1);
	/* the same MAC on another VLAN or switch is another entry */
	k.vlan = 20;
	assert_null(vsw_fdb_lookup(fdb, &k));
	k.vlan = 10;
	k.sw = 1;
	assert_null(vsw_fdb_lookup(fdb, &k));
}

static void test_move_and_refresh(void **state)
{
	struct vsw_fdb *fdb = *state;
	struct vsw_fdb_key k = key(0, 10, 1), s = key(0, 10, 2);

	assert_int_equal(vsw_fdb_learn(fdb, &k, 3, 100), 0);
	assert_int_equal(vsw_fdb_learn(fdb, &k, 4, 150), 0);
	assert_int_equal(vsw_fdb_lookup(fdb, &k)->port, 4);
	assert_int_equal(vsw_fdb_lookup(fdb, &k)->last_seen, 150);
	assert_int_equal(vsw_fdb_count(fdb), 1);
	/* static entries never move */
	assert_int_equal(vsw_fdb_add_static(fdb, &s, 5), 0);
	assert_int_equal(vsw_fdb_learn(fdb, &s, 6, 160), 0);
	assert_int_equal(vsw_fdb_lookup(fdb, &s)->port, 5);
	assert_int_equal(vsw_fdb_lookup(fdb, &s)->is_static, 1);
	/* a static add over a learned entry makes it static */
	assert_int_equal(vsw_fdb_add_static(fdb, &k, 7), 0);
	assert_int_equal(vsw_fdb_lookup(fdb, &k)->port, 7);
	assert_int_equal(vsw_fdb_lookup(fdb, &k)->is_static, 1);
}

static void test_age(void **state)
{
	struct vsw_fdb *fdb = *state;
	struct vsw_fdb_key old = key(0, 1, 1), fresh = key(0, 1, 2), st = key(0, 1, 3);

	vsw_fdb_learn(fdb, &old, 1, 1000);
	vsw_fdb_learn(fdb, &fresh, 1, 1000);
	vsw_fdb_add_static(fdb, &st, 1);
	vsw_fdb_learn(fdb, &fresh, 1, 1250); /* refreshed */
	assert_int_equal(vsw_fdb_age(fdb, 1300, 300), 0); /* exactly 300 s: kept */
	assert_int_equal(vsw_fdb_age(fdb, 1301, 300), 1);
	assert_null(vsw_fdb_lookup(fdb, &old));
	assert_non_null(vsw_fdb_lookup(fdb, &fresh));
	assert_int_equal(vsw_fdb_age(fdb, 100000, 300), 1);
	assert_null(vsw_fdb_lookup(fdb, &fresh));
	assert_non_null(vsw_fdb_lookup(fdb, &st)); /* static never ages */
	assert_int_equal(vsw_fdb_count(fdb), 1);
}

static void test_capacity(void **state)
{
	struct vsw_fdb *fdb = *state;
	struct vsw_fdb_key k;

	for (uint32_t i = 0; i < 1000; i++) {
		k = key((uint16_t)(i % 3), (uint16_t)(i % 7), i);
		assert_int_equal(vsw_fdb_learn(fdb, &k, (uint16_t)(i % 100), 5), 0);
	}
	assert_int_equal(vsw_fdb_count(fdb), 1000);
	k = key(0, 0, 5000);
	assert_int_equal(vsw_fdb_learn(fdb, &k, 1, 5), -ENOSPC);
	assert_int_equal(vsw_fdb_add_static(fdb, &k, 1), -ENOSPC);
	assert_int_equal(vsw_fdb_count(fdb), 1000);
	for (uint32_t i = 0; i < 1000; i++) {
		k = key((uint16_t)(i % 3), (uint16_t)(i % 7), i);
		assert_non_null(vsw_fdb_lookup(fdb, &k));
		assert_int_equal(vsw_fdb_lookup(fdb, &k)->port, i % 100);
	}
	/* freed slots are reusable */
	k = key(0, 0, 0);
	assert_int_equal(vsw_fdb_del(fdb, &k), 0);
	assert_int_equal(vsw_fdb_del(fdb, &k), -ENOENT);
	k = key(0, 0, 5000);
	assert_int_equal(vsw_fdb_learn(fdb, &k, 1, 5), 0);
}

static int count_cb(void *arg, const struct vsw_fdb_key *k, const struct vsw_fdb_entry *e)
{
	(void)k;
	(void)e;
	(*(unsigned int *)arg)++;
	return 0;
}

static void test_flush(void **state)
{
	struct vsw_fdb *fdb = *state;
	struct vsw_fdb_filter by_port = {.sw = -1, .vlan = -1, .port = 2};
	struct vsw_fdb_filter by_sw = {.sw = 1, .vlan = -1, .port = -1};
	struct vsw_fdb_filter learned = {.sw = -1, .vlan = -1, .port = -1, .learned_only = true};
	unsigned int n = 0;

	for (uint32_t i = 0; i < 60; i++) {
		struct vsw_fdb_key k = key((uint16_t)(i % 2), 1, i);

		vsw_fdb_learn(fdb, &k, (uint16_t)(i % 3), 1);
	}
	struct vsw_fdb_key s = key(0, 1, 999);
	vsw_fdb_add_static(fdb, &s, 9);
	assert_int_equal(vsw_fdb_flush(fdb, &by_port), 20);
	assert_int_equal(vsw_fdb_flush(fdb, &by_sw), 20);
	vsw_fdb_walk(fdb, count_cb, &n);
	assert_int_equal(n, 21);
	assert_int_equal(vsw_fdb_flush(fdb, &learned), 20);
	assert_int_equal(vsw_fdb_count(fdb), 1);
	assert_non_null(vsw_fdb_lookup(fdb, &s));
}

int main(void)
{
	char prefix[64];
	char *argv[] = {"test_fdb", "--no-huge", "-m", "256", "--no-shconf", "--no-pci",
			"--log-level", "error", "-l", "0", prefix, NULL};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_learn_and_lookup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_move_and_refresh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_age, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capacity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush, setup, teardown),
	};

	snprintf(prefix, sizeof(prefix), "--file-prefix=unit%d", (int)getpid());
	if (rte_eal_init(11, argv) < 0) {
		fprintf(stderr, "EAL init failed\n");
		return 1;
	}
	return cmocka_run_group_tests_name("fdb", tests, NULL, NULL);
}
