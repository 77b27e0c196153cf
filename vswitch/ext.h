/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Switch extensions: eBPF programs (include/hvnet_ext.h) loaded from ELF
 * objects with libbpf, verified and JIT-compiled by DPDK's rte_bpf, and run
 * by the datapath at the capture, filter and forward hooks. A loaded
 * program is immutable except for its statistics and counters, which the
 * datapath lcores update (per lcore, or atomically for counters).
 */
#ifndef VSW_EXT_H
#define VSW_EXT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "ctl_err.h"
#include "hvnet_ext.h"

enum vsw_ext_hook {
	VSW_EXT_CAPTURE,
	VSW_EXT_FILTER,
	VSW_EXT_FORWARD,
	VSW_EXT_HOOKS,
};

struct vsw_ext;

/* Parses "capture|filter|forward". Returns 0 or -EINVAL with err set. */
int vsw_ext_hook_parse(const char *s, enum vsw_ext_hook *hook, struct ctl_err *err);
const char *vsw_ext_hook_name(enum vsw_ext_hook hook);

/*
 * Reads section (default: the hook's name) of the ELF object at path,
 * checks that the section is for hook, verifies and JIT-compiles the
 * program. Returns NULL with err set: "object: ..."
 * for an unreadable or malformed file, "section: ..." for a missing or
 * mismatched section, "program: ..." with the verifier's reason.
 */
struct vsw_ext *vsw_ext_load(const char *path, const char *section, enum vsw_ext_hook hook,
			     struct ctl_err *err);

/* Verifies and compiles n raw instructions (struct ebpf_insn) for hook. */
struct vsw_ext *vsw_ext_load_insns(const void *insns, unsigned int n, enum vsw_ext_hook hook,
				   struct ctl_err *err);

void vsw_ext_free(struct vsw_ext *e);

/*
 * Runs the program on ctx on lcore. Datapath. Call vsw_ext_burst_done()
 * after the runs of one burst: cycles are measured per burst.
 */
uint64_t vsw_ext_run(struct vsw_ext *e, struct hvnet_ext_ctx *ctx, unsigned int lcore);
void vsw_ext_burst_done(struct vsw_ext *e, unsigned int lcore);

/* Counts, on lcore, a frame the program dropped (filter) or steered (forward). */
void vsw_ext_count_verdict(struct vsw_ext *e, unsigned int lcore);

/* Statistics and counters as JSON: runs, verdicts, avg_cycles, jit, counters. */
json_t *vsw_ext_stats_json(const struct vsw_ext *e);


#endif
