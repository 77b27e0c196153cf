/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the --nic value of "vm create" (ctl_parse_nic_spec() in
 * cli/ctl_parse.c): the accepted forms, formatting back, and for each
 * malformed one an error that names the field.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "ctl_parse.h"

static void test_switch_only(void **state)
{
	struct ctl_nic_spec n;

	(void)state;
	assert_int_equal(ctl_parse_nic_spec("s1", &n, NULL), 0);
	assert_string_equal(n.sw, "s1");
	assert_false(n.has_mac);
	assert_int_equal(n.vlan, 0);
}

static void test_all_options(void **state)
{
	static const uint8_t want[6] = {0x02, 0xaa, 0xbb, 0x00, 0x00, 0x01};
	struct ctl_nic_spec n;

	(void)state;
	assert_int_equal(ctl_parse_nic_spec("lan_1,mac=02:AA:bb:00:00:01,vlan=4094", &n, NULL), 0);
	assert_string_equal(n.sw, "lan_1");
	assert_true(n.has_mac);
	assert_memory_equal(n.mac, want, 6);
	assert_int_equal(n.vlan, 4094);
	assert_int_equal(ctl_parse_nic_spec("s,vlan=1,mac=02:aa:bb:00:00:01", &n, NULL), 0);
	assert_int_equal(n.vlan, 1);
	assert_memory_equal(n.mac, want, 6);
}

static void test_format(void **state)
{
	static const char *const specs[] = {"s1", "s1,vlan=7", "s1,mac=02:aa:bb:00:00:01",
					    "lan_1,mac=02:aa:bb:00:00:01,vlan=4094"};
	struct ctl_nic_spec n, again;
	char buf[64];

	(void)state;
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		assert_int_equal(ctl_parse_nic_spec(specs[i], &n, NULL), 0);
		ctl_format_nic_spec(&n, buf, sizeof(buf));
		assert_string_equal(buf, specs[i]);
		assert_int_equal(ctl_parse_nic_spec(buf, &again, NULL), 0);
		assert_memory_equal(&n, &again, sizeof(n));
	}
	assert_int_equal(ctl_parse_nic_spec("s1,vlan=7,mac=02:AA:bb:00:00:01", &n, NULL), 0);
	ctl_format_nic_spec(&n, buf, sizeof(buf));
	assert_string_equal(buf, "s1,mac=02:aa:bb:00:00:01,vlan=7");
}

static void test_errors(void **state)
{
	static const struct {
		const char *spec, *msg;
	} bad[] = {
		{"", "nic: '' has an empty field"},
		{",", "nic: ',' has an empty field"},
		{"s1,", "nic: 's1,' has an empty field"},
		{"s1,,vlan=1", "nic: 's1,,vlan=1' has an empty field"},
		{"s1,vlan=0", "nic vlan: VLAN id must be 1-4094, got 0"},
		{"s1,vlan=4095", "nic vlan: VLAN id must be 1-4094, got 4095"},
		{"s1,vlan=99999999999999999999",
		 "nic vlan: '99999999999999999999' is not a VLAN id"},
		{"s1,vlan=1x", "nic vlan: '1x' is not a VLAN id (1-4094)"},
		{"s1,vlan=-1", "nic vlan: '-1' is not a VLAN id (1-4094)"},
		{"s1,vlan=", "nic vlan: '' is not a VLAN id (1-4094)"},
		{"s1,mac=01:00:5e:00:00:01", "nic mac: 01:00:5e:00:00:01 is a multicast address"},
		{"s1,mac=00:00:00:00:00:00", "nic mac: 00:00:00:00:00:00 is not a station address"},
		{"s1,mac=02:00", "nic mac: '02:00' is not a MAC address"},
		{"s1,foo=1", "nic: 'foo=1' in 's1,foo=1' is not an option or repeats one "
			     "(want SWITCH[,mac=MAC][,vlan=VID])"},
		{"s1,vlan=1,vlan=2", "nic: 'vlan=2' in 's1,vlan=1,vlan=2' is not an option"},
		{"s1,mac=02:00:00:00:00:01,mac=02:00:00:00:00:02",
		 "nic: 'mac=02:00:00:00:00:02' in"},
		{"toolongswitchname", "nic: name must be 1-12 characters, got 17"},
		{"a/b,vlan=1", "nic: name 'a/b' may use only"},
	};
	char huge[400];
	struct ctl_err err;
	struct ctl_nic_spec n;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		assert_int_equal(ctl_parse_nic_spec(bad[i].spec, &n, &err), -EINVAL);
		if (!strstr(err.msg, bad[i].msg))
			fail_msg("'%s': got '%s', want '%s'", bad[i].spec, err.msg, bad[i].msg);
	}
	memset(huge, 'a', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	assert_int_equal(ctl_parse_nic_spec(huge, &n, &err), -EINVAL);
	assert_int_equal(ctl_parse_nic_spec(NULL, &n, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "nic: want SWITCH[,mac=MAC][,vlan=VID]"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_switch_only),
		cmocka_unit_test(test_all_options),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
