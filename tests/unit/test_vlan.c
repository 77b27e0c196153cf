/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the VLAN model (vswitch/vlan.c): ingress classification
 * and egress decisions for every mode, and every pair of port modes end to
 * end (a frame entering one port and leaving another).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "vlan.h"

enum { UNTAGGED, ACCESS10, ACCESS20, TRUNK, TRUNK_NATIVE1, N_CFG };

static struct vsw_vlan_cfg cfgs[N_CFG];

static int setup(void **state)
{
	struct ctl_vid_set allowed;

	(void)state;
	vsw_vlan_set_untagged(&cfgs[UNTAGGED]);
	assert_int_equal(vsw_vlan_set_access(&cfgs[ACCESS10], 10, NULL), 0);
	assert_int_equal(vsw_vlan_set_access(&cfgs[ACCESS20], 20, NULL), 0);
	assert_int_equal(ctl_parse_vid_list("allowed", "10,20", &allowed, NULL), 0);
	assert_int_equal(vsw_vlan_set_trunk(&cfgs[TRUNK], &allowed, 0, NULL), 0);
	assert_int_equal(vsw_vlan_set_trunk(&cfgs[TRUNK_NATIVE1], &allowed, 1, NULL), 0);
	return 0;
}

/* Frames: untagged, tagged 10, tagged 20, tagged 30, priority-tagged (VID 0). */
static const struct {
	bool tagged;
	unsigned int vid;
} frames[] = {{false, 0}, {true, 10}, {true, 20}, {true, 30}, {true, 0}};

static void test_ingress(void **state)
{
	/* internal VLAN per (port config, frame); -1 = not accepted */
	static const int want[N_CFG][5] = {
		[UNTAGGED] = {0, -1, -1, -1, 0},
		[ACCESS10] = {10, -1, -1, -1, 10},
		[ACCESS20] = {20, -1, -1, -1, 20},
		[TRUNK] = {0, 10, 20, -1, 0},
		[TRUNK_NATIVE1] = {1, 10, 20, -1, 1},
	};

	(void)state;
	for (int c = 0; c < N_CFG; c++) {
		for (int f = 0; f < 5; f++)
			assert_int_equal(vsw_vlan_ingress(&cfgs[c], frames[f].tagged, frames[f].vid),
					 want[c][f]);
	}
}

static void test_egress(void **state)
{
	static const unsigned int vlans[] = {0, 1, 10, 20, 30};
	enum { D = VSW_EGRESS_DROP, U = VSW_EGRESS_UNTAGGED, T = VSW_EGRESS_TAGGED };
	static const int want[N_CFG][5] = {
		[UNTAGGED] = {U, D, D, D, D},
		[ACCESS10] = {D, D, U, D, D},
		[ACCESS20] = {D, D, D, U, D},
		[TRUNK] = {U, D, T, T, D},
		[TRUNK_NATIVE1] = {D, U, T, T, D},
	};

	(void)state;
	for (int c = 0; c < N_CFG; c++) {
		for (int v = 0; v < 5; v++)
			assert_int_equal(vsw_vlan_egress(&cfgs[c], vlans[v]), want[c][v]);
	}
}

/* Every pair of port modes: what leaves port `out` for each frame entering `in`. */
static void test_mode_pairs(void **state)
{
	enum { D = -1, U = 0 }; /* drop, untagged; other values: tagged with that VID */
	static const int want[N_CFG][N_CFG][5] = {
		/* frames: untagged, tag 10, tag 20, tag 30, prio-tag */
		[UNTAGGED] = {[UNTAGGED] = {U, D, D, D, U}, [ACCESS10] = {D, D, D, D, D},
			      [ACCESS20] = {D, D, D, D, D}, [TRUNK] = {U, D, D, D, U},
			      [TRUNK_NATIVE1] = {D, D, D, D, D}},
		[ACCESS10] = {[UNTAGGED] = {D, D, D, D, D}, [ACCESS10] = {U, D, D, D, U},
			      [ACCESS20] = {D, D, D, D, D}, [TRUNK] = {10, D, D, D, 10},
			      [TRUNK_NATIVE1] = {10, D, D, D, 10}},
		[ACCESS20] = {[UNTAGGED] = {D, D, D, D, D}, [ACCESS10] = {D, D, D, D, D},
			      [ACCESS20] = {U, D, D, D, U}, [TRUNK] = {20, D, D, D, 20},
			      [TRUNK_NATIVE1] = {20, D, D, D, 20}},
		[TRUNK] = {[UNTAGGED] = {U, D, D, D, U}, [ACCESS10] = {D, U, D, D, D},
			   [ACCESS20] = {D, D, U, D, D}, [TRUNK] = {U, 10, 20, D, U},
			   [TRUNK_NATIVE1] = {D, 10, 20, D, D}},
		[TRUNK_NATIVE1] = {[UNTAGGED] = {D, D, D, D, D}, [ACCESS10] = {D, U, D, D, D},
				   [ACCESS20] = {D, D, U, D, D}, [TRUNK] = {D, 10, 20, D, D},
				   [TRUNK_NATIVE1] = {U, 10, 20, D, U}},
	};

	(void)state;
	for (int in = 0; in < N_CFG; in++) {
		for (int out = 0; out < N_CFG; out++) {
			for (int f = 0; f < 5; f++) {
				int vlan = vsw_vlan_ingress(&cfgs[in], frames[f].tagged, frames[f].vid);
				int got = D;

				if (vlan >= 0) {
					enum vsw_vlan_egress e = vsw_vlan_egress(&cfgs[out], (unsigned int)vlan);

					got = e == VSW_EGRESS_DROP ? D : e == VSW_EGRESS_UNTAGGED ? U : vlan;
				}
				if (got != want[in][out][f])
					fail_msg("in %d out %d frame %d: got %d want %d", in, out, f, got,
						 want[in][out][f]);
			}
		}
	}
}

static void test_config_errors(void **state)
{
	struct vsw_vlan_cfg cfg;
	struct ctl_vid_set empty = {{0}}, allowed;
	struct ctl_err err;

	(void)state;
	assert_int_equal(vsw_vlan_set_access(&cfg, 0, &err), -EINVAL);
	assert_string_equal(err.msg, "vlan: VLAN id must be 1-4094, got 0");
	assert_int_equal(vsw_vlan_set_access(&cfg, 4095, &err), -EINVAL);
	assert_int_equal(vsw_vlan_set_trunk(&cfg, &empty, 0, &err), -EINVAL);
	assert_string_equal(err.msg, "allowed: a trunk needs at least one VLAN id 1-4094");
	ctl_parse_vid_list("allowed", "5", &allowed, NULL);
	assert_int_equal(vsw_vlan_set_trunk(&cfg, &allowed, 4095, &err), -EINVAL);
	assert_string_equal(err.msg, "native: VLAN id must be 1-4094, got 4095");
}

static void test_describe(void **state)
{
	char buf[128];

	(void)state;
	vsw_vlan_describe(&cfgs[TRUNK_NATIVE1], buf, sizeof(buf));
	assert_string_equal(buf, "trunk 10,20 native 1");
	vsw_vlan_describe(&cfgs[ACCESS10], buf, sizeof(buf));
	assert_string_equal(buf, "access 10");
	vsw_vlan_describe(&cfgs[UNTAGGED], buf, sizeof(buf));
	assert_string_equal(buf, "untagged");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ingress),	     cmocka_unit_test(test_egress),
		cmocka_unit_test(test_mode_pairs),    cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_describe),
	};

	return cmocka_run_group_tests_name("vlan", tests, setup, NULL);
}
