/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the user-value parsers (cli/ctl_parse.c) and their error messages. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "ctl_parse.h"

static void test_names(void **state)
{
	struct ctl_err err;

	(void)state;
	assert_int_equal(ctl_parse_name("port", "vm1.eth0_a-b", CTL_NAME_MAX, &err), 0);
	assert_int_equal(ctl_parse_name("port", "", CTL_NAME_MAX, &err), -EINVAL);
	assert_string_equal(err.msg, "port: name must be 1-32 characters, got 0");
	assert_int_equal(ctl_parse_name("switch", "thirteen-char", 12, &err), -EINVAL);
	assert_string_equal(err.msg, "switch: name must be 1-12 characters, got 13");
	assert_int_equal(ctl_parse_name("port", "a b", CTL_NAME_MAX, &err), -EINVAL);
	assert_string_equal(err.msg, "port: name 'a b' may use only letters, digits, '_', '.' and '-'");
	assert_int_equal(ctl_parse_name("port", "-x", CTL_NAME_MAX, &err), -EINVAL);
	assert_int_equal(ctl_parse_name("port", ".x", CTL_NAME_MAX, &err), -EINVAL);
}

static void test_mac(void **state)
{
	static const uint8_t want[6] = {0x02, 0xab, 0xcd, 0xef, 0x00, 0x01};
	struct ctl_err err;
	uint8_t mac[6];
	char buf[18];

	(void)state;
	assert_int_equal(ctl_parse_mac("mac", "02:AB:cd:ef:00:01", mac, &err), 0);
	assert_memory_equal(mac, want, 6);
	assert_int_equal(ctl_parse_mac("mac", "02-ab-cd-ef-00-01", mac, &err), 0);
	assert_memory_equal(mac, want, 6);
	ctl_format_mac(want, buf);
	assert_string_equal(buf, "02:ab:cd:ef:00:01");
	const char *bad[] = {"", "02:ab:cd:ef:00", "02:ab:cd:ef:00:01:02", "02:ab:cd:ef:00:0g",
			     "02ab:cd:ef:00:01:", "2:ab:cd:ef:00:01"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(ctl_parse_mac("mac", bad[i], mac, &err), -EINVAL);
	assert_string_equal(err.msg, "mac: '2:ab:cd:ef:00:01' is not a MAC address (want aa:bb:cc:dd:ee:ff)");
}

static void test_vid_list(void **state)
{
	struct ctl_vid_set set;
	struct ctl_err err;
	char buf[64];

	(void)state;
	assert_int_equal(ctl_parse_vid_list("allowed", "10,20-30,4094", &set, &err), 0);
	assert_true(ctl_vid_set_has(&set, 10));
	assert_false(ctl_vid_set_has(&set, 11));
	assert_true(ctl_vid_set_has(&set, 20));
	assert_true(ctl_vid_set_has(&set, 25));
	assert_true(ctl_vid_set_has(&set, 30));
	assert_false(ctl_vid_set_has(&set, 31));
	assert_true(ctl_vid_set_has(&set, 4094));
	assert_string_equal(ctl_format_vid_list(&set, buf, sizeof(buf)), "10,20-30,4094");
	assert_int_equal(ctl_parse_vid_list("allowed", "0", &set, &err), -EINVAL);
	assert_string_equal(err.msg, "allowed: VLAN id must be 1-4094, got 0");
	assert_int_equal(ctl_parse_vid_list("allowed", "10-4095", &set, &err), -EINVAL);
	assert_string_equal(err.msg, "allowed: VLAN id must be 1-4094, got 4095");
	assert_int_equal(ctl_parse_vid_list("allowed", "99999999999999999999", &set, &err), -EINVAL);
	assert_int_equal(ctl_parse_vid_list("allowed", "30-20", &set, &err), -EINVAL);
	assert_string_equal(err.msg, "allowed: range 30-20 is descending (want low-high)");
	const char *bad[] = {"", ",", "10,", ",10", "10,,20", "10-", "-10", "a", "10 20", "10;20"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(ctl_parse_vid_list("allowed", bad[i], &set, &err), -EINVAL);
		assert_non_null(strstr(err.msg, "is not a VLAN list"));
	}
	/* a rejected list leaves an empty set */
	assert_false(ctl_vid_set_has(&set, 10));
}

static void test_numbers(void **state)
{
	struct ctl_err err;
	uint64_t v, mask;

	(void)state;
	assert_int_equal(ctl_parse_u64("aging", "300", 0, 1000, &v, &err), 0);
	assert_int_equal(v, 300);
	assert_int_equal(ctl_parse_u64("aging", "1001", 0, 1000, &v, &err), -EINVAL);
	assert_string_equal(err.msg, "aging: want an integer 0-1000, got '1001'");
	assert_int_equal(ctl_parse_u64("aging", "-1", 0, 1000, &v, &err), -EINVAL);
	assert_int_equal(ctl_parse_u64("aging", "12x", 0, 1000, &v, &err), -EINVAL);
	assert_int_equal(ctl_check_vid("vlan", 4094, &err), 0);
	assert_int_equal(ctl_check_vid("vlan", 4095, &err), -EINVAL);
	assert_int_equal(ctl_parse_cpu_list("lcores", "0,2-3", &mask, &err), 0);
	assert_int_equal(mask, 0xd);
	assert_int_equal(ctl_parse_cpu_list("lcores", "64", &mask, &err), -EINVAL);
	assert_string_equal(err.msg, "lcores: '64' is not a CPU list (want ids 0-63 like 1 or 0,2-3)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_mac),
		cmocka_unit_test(test_vid_list),
		cmocka_unit_test(test_numbers),
	};

	return cmocka_run_group_tests_name("ctl_parse", tests, NULL, NULL);
}
