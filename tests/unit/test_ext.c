/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of extension loading (vswitch/ext.c): bad ELF, missing
 * section, a section's program at the wrong hook, programs the verifier
 * must reject (reads past the context, unknown helper), and the example
 * programs running on crafted contexts with their counters.
 * argv[1..3]: drop_telnet.o, steer_vlan.o, syn_count.o (when clang built them).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <rte_bpf.h>
#include <rte_eal.h>

#include "ext.h"

static const char *drop_telnet, *steer_vlan, *syn_count;

static void test_bad_objects(void **state)
{
	struct ctl_err err;

	(void)state;
	assert_null(vsw_ext_load("/nonexistent.o", NULL, VSW_EXT_FILTER, &err));
	assert_non_null(strstr(err.msg, "object: cannot read '/nonexistent.o'"));
	assert_null(vsw_ext_load("/proc/self/exe", NULL, VSW_EXT_FILTER, &err));
	assert_true(strstr(err.msg, "object:") == err.msg || strstr(err.msg, "section:") == err.msg);
	if (!drop_telnet)
		return;
	assert_null(vsw_ext_load(drop_telnet, "nosuch", VSW_EXT_FILTER, &err));
	assert_non_null(strstr(err.msg, "has no program in section 'nosuch'"));
	assert_null(vsw_ext_load(drop_telnet, NULL, VSW_EXT_FORWARD, &err));
	assert_non_null(strstr(err.msg, "has no program in section 'forward'"));
	assert_null(vsw_ext_load(drop_telnet, "filter", VSW_EXT_FORWARD, &err));
	assert_string_equal(err.msg,
			    "section: 'filter' holds a filter program; it cannot run at the forward hook");
}

static void test_verifier(void **state)
{
	/* r0 = *(u64 *)(r1 + 4096); exit: reads past the context */
	const struct ebpf_insn past[] = {
		{.code = BPF_LDX | BPF_MEM | EBPF_DW, .dst_reg = EBPF_REG_0, .src_reg = EBPF_REG_1,
		 .off = 4096},
		{.code = BPF_JMP | EBPF_EXIT},
	};
	/* call helper 7 (none such); exit */
	const struct ebpf_insn helper[] = {
		{.code = BPF_JMP | EBPF_CALL, .imm = 7},
		{.code = BPF_JMP | EBPF_EXIT},
	};
	/* r0 = 1; exit */
	const struct ebpf_insn pass[] = {
		{.code = EBPF_ALU64 | EBPF_MOV | BPF_K, .dst_reg = EBPF_REG_0, .imm = 1},
		{.code = BPF_JMP | EBPF_EXIT},
	};
	struct hvnet_ext_ctx ctx = {0};
	struct ctl_err err;
	struct vsw_ext *e;

	(void)state;
	assert_null(vsw_ext_load_insns(past, 2, VSW_EXT_FILTER, &err));
	assert_non_null(strstr(err.msg, "program: rejected by the verifier:"));
	assert_non_null(strstr(err.msg, "boundary"));
	assert_null(vsw_ext_load_insns(helper, 2, VSW_EXT_FILTER, &err));
	assert_non_null(strstr(err.msg, "program: rejected by the verifier:"));
	e = vsw_ext_load_insns(pass, 2, VSW_EXT_FILTER, &err);
	assert_non_null(e);
	assert_int_equal(vsw_ext_run(e, &ctx, 0), 1);
	vsw_ext_burst_done(e, 0);
	vsw_ext_free(e);
}

static int counter(struct vsw_ext *e, const char *key)
{
	json_t *s = vsw_ext_stats_json(e);
	int v = (int)json_integer_value(json_object_get(json_object_get(s, "counters"), key));

	json_decref(s);
	return v;
}

static void test_examples(void **state)
{
	struct hvnet_ext_ctx ctx = {.family = 4, .proto = 6, .sport = 40000, .dport = 23,
				    .tcp_flags = 0x02, .src4 = 0x0a000001};
	struct ctl_err err;
	struct vsw_ext *e;

	(void)state;
	if (!drop_telnet) {
		skip();
		return;
	}
	e = vsw_ext_load(drop_telnet, NULL, VSW_EXT_FILTER, &err);
	assert_non_null(e);
	assert_int_equal(vsw_ext_run(e, &ctx, 0), HVNET_EXT_DROP);
	ctx.dport = 80;
	assert_int_equal(vsw_ext_run(e, &ctx, 0), HVNET_EXT_PASS);
	vsw_ext_burst_done(e, 0);
	assert_int_equal(counter(e, "23"), 1);
	vsw_ext_free(e);

	e = vsw_ext_load(steer_vlan, NULL, VSW_EXT_FORWARD, &err);
	assert_non_null(e);
	ctx.arg[0] = 20, ctx.arg[1] = 5;
	ctx.vlan = 20;
	assert_int_equal(vsw_ext_run(e, &ctx, 0), HVNET_EXT_PORT(5));
	ctx.vlan = 10;
	assert_int_equal(vsw_ext_run(e, &ctx, 0), HVNET_EXT_L2);
	vsw_ext_burst_done(e, 0);
	vsw_ext_free(e);

	e = vsw_ext_load(syn_count, NULL, VSW_EXT_CAPTURE, &err);
	assert_non_null(e);
	vsw_ext_run(e, &ctx, 0);
	vsw_ext_run(e, &ctx, 0);
	ctx.tcp_flags = 0x12; /* SYN-ACK: not counted */
	vsw_ext_run(e, &ctx, 0);
	vsw_ext_burst_done(e, 0);
	assert_int_equal(counter(e, "167772161"), 2);
	vsw_ext_free(e);
}

int main(int argc, char **argv)
{
	char prefix[64];
	char *eal[] = {"test_ext", "--no-huge", "-m", "128", "--no-shconf", "--no-pci",
		       "--log-level", "error", "-l", "0", prefix, NULL};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_objects),
		cmocka_unit_test(test_verifier),
		cmocka_unit_test(test_examples),
	};

	if (argc == 4) {
		drop_telnet = argv[1];
		steer_vlan = argv[2];
		syn_count = argv[3];
	}
	snprintf(prefix, sizeof(prefix), "--file-prefix=unit%d", (int)getpid());
	if (rte_eal_init(11, eal) < 0)
		return 1;
	return cmocka_run_group_tests_name("ext", tests, NULL, NULL);
}
