/* SPDX-License-Identifier: BSD-3-Clause */
/* Switch extensions: see ext.h and include/hvnet_ext.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>
#include <rte_bpf.h>
#include <rte_cycles.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_per_lcore.h>

#include "datapath.h"
#include "ext.h"

#define COUNTER_SLOTS 256

struct lcore_stats {
	uint64_t runs, verdicts, cycles;
	uint64_t burst_start; /* TSC of the first run of the current burst, or 0 */
} __rte_cache_aligned;

struct counter {
	uint64_t key;
	uint64_t value;
	uint8_t used;
};

struct vsw_ext {
	enum vsw_ext_hook hook;
	struct rte_bpf *bpf;
	struct rte_bpf_jit jit;
	struct counter counters[COUNTER_SLOTS];
	struct lcore_stats stats[VSW_MAX_LCORES];
};

static const char *const hook_names[] = {"capture", "filter", "forward"};

/* The program running on this lcore, for the helpers. */
static RTE_DEFINE_PER_LCORE(struct vsw_ext *, running);

int vsw_ext_hook_parse(const char *s, enum vsw_ext_hook *hook, struct ctl_err *err)
{
	for (int i = 0; i < VSW_EXT_HOOKS; i++) {
		if (s && !strcmp(s, hook_names[i])) {
			*hook = (enum vsw_ext_hook)i;
			return 0;
		}
	}
	return ctl_err_set(err, EINVAL, "hook: '%s' is not one of capture|filter|forward",
			   s ? s : "");
}

const char *vsw_ext_hook_name(enum vsw_ext_hook hook)
{
	return hook_names[hook];
}

/*
 * hvnet_count(key, n): adds n to the running program's counter key.
 * Helpers have DPDK's five-argument signature; the unused ones are ignored.
 */
static uint64_t helper_count(uint64_t key, uint64_t n, uint64_t a3, uint64_t a4, uint64_t a5)
{
	struct vsw_ext *e = RTE_PER_LCORE(running);

	(void)a3;
	(void)a4;
	(void)a5;
	if (!e)
		return 0;
	for (unsigned int i = 0; i < COUNTER_SLOTS; i++) {
		struct counter *c = &e->counters[((key * 0x9e3779b97f4a7c15ull >> 56) + i) & 255];
		uint8_t zero = 0;

		if (__atomic_load_n(&c->used, __ATOMIC_ACQUIRE) == 2 && c->key == key)
			return __atomic_add_fetch(&c->value, n, __ATOMIC_RELAXED);
		if (__atomic_compare_exchange_n(&c->used, &zero, 1, false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE)) {
			c->key = key;
			__atomic_store_n(&c->used, 2, __ATOMIC_RELEASE);
			return __atomic_add_fetch(&c->value, n, __ATOMIC_RELAXED);
		}
		while (__atomic_load_n(&c->used, __ATOMIC_ACQUIRE) == 1)
			; /* another lcore is claiming this slot */
		if (c->key == key)
			return __atomic_add_fetch(&c->value, n, __ATOMIC_RELAXED);
	}
	return 0;
}

/* Helper index 0 is never valid: programs call helpers as (void *)1, ... */
static uint64_t helper_none(uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	(void)a1, (void)a2, (void)a3, (void)a4, (void)a5;
	return 0;
}

static const struct rte_bpf_xsym helpers[] = {
	{.name = "none", .type = RTE_BPF_XTYPE_FUNC,
	 .func = {.val = helper_none,
		  .nb_args = 0, .ret = {.type = RTE_BPF_ARG_RAW, .size = sizeof(uint64_t)}}},
	{.name = "hvnet_count", .type = RTE_BPF_XTYPE_FUNC,
	 .func = {.val = helper_count,
		  .nb_args = 2,
		  .args = {{.type = RTE_BPF_ARG_RAW, .size = sizeof(uint64_t)},
			   {.type = RTE_BPF_ARG_RAW, .size = sizeof(uint64_t)}},
		  .ret = {.type = RTE_BPF_ARG_RAW, .size = sizeof(uint64_t)}}},
};

/* The last line DPDK logged while f captured the log, for error messages. */
static void last_log_line(char *log, char *out, size_t len)
{
	char *line = NULL, *save = NULL;

	for (char *l = strtok_r(log, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		line = l;
	snprintf(out, len, "%s", line ? line : "rejected");
}

struct vsw_ext *vsw_ext_load_insns(const void *insns, unsigned int n, enum vsw_ext_hook hook,
				   struct ctl_err *err)
{
	struct rte_bpf_prm prm = {
		.ins = insns,
		.nb_ins = n,
		.xsym = helpers,
		.nb_xsym = RTE_DIM(helpers),
		.prog_arg = {.type = RTE_BPF_ARG_PTR, .size = sizeof(struct hvnet_ext_ctx)},
	};
	struct vsw_ext *e = rte_zmalloc("vsw_ext", sizeof(*e), RTE_CACHE_LINE_SIZE);
	char *log = NULL, reason[256];
	size_t log_len = 0;
	FILE *f;

	if (!e) {
		ctl_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	e->hook = hook;
	/* capture the verifier's explanation, which DPDK logs */
	f = open_memstream(&log, &log_len);
	if (f)
		rte_openlog_stream(f);
	e->bpf = rte_bpf_load(&prm);
	if (f) {
		rte_openlog_stream(NULL);
		fclose(f);
	}
	if (!e->bpf) {
		last_log_line(log ? log : (char[]){""}, reason, sizeof(reason));
		ctl_err_set(err, EINVAL, "program: rejected by the verifier: %s", reason);
		free(log);
		rte_free(e);
		return NULL;
	}
	free(log);
	rte_bpf_get_jit(e->bpf, &e->jit);
	return e;
}

struct vsw_ext *vsw_ext_load(const char *path, const char *section, enum vsw_ext_hook hook,
			     struct ctl_err *err)
{
	const char *want = section && *section ? section : hook_names[hook];
	struct bpf_object *obj;
	struct bpf_program *prog, *found = NULL;
	struct vsw_ext *e = NULL;

	libbpf_set_print(NULL);
	obj = bpf_object__open_file(path, NULL);
	if (!obj || libbpf_get_error(obj)) {
		ctl_err_set(err, EINVAL, "object: cannot read '%s' as an eBPF ELF object", path);
		return NULL;
	}
	bpf_object__for_each_program(prog, obj) {
		if (!strcmp(bpf_program__section_name(prog), want))
			found = prog;
	}
	if (!found) {
		ctl_err_set(err, ENOENT, "section: '%s' has no program in section '%s'", path, want);
		goto out;
	}
	for (int i = 0; i < VSW_EXT_HOOKS; i++) {
		if (!strcmp(want, hook_names[i]) && i != (int)hook) {
			ctl_err_set(err, EINVAL,
				    "section: '%s' holds a %s program; it cannot run at the %s hook",
				    want, hook_names[i], hook_names[hook]);
			goto out;
		}
	}
	e = vsw_ext_load_insns(bpf_program__insns(found), (unsigned int)bpf_program__insn_cnt(found),
			       hook, err);
out:
	bpf_object__close(obj);
	return e;
}

void vsw_ext_free(struct vsw_ext *e)
{
	if (!e)
		return;
	rte_bpf_destroy(e->bpf);
	rte_free(e);
}

uint64_t vsw_ext_run(struct vsw_ext *e, struct hvnet_ext_ctx *ctx, unsigned int lcore)
{
	struct lcore_stats *st = &e->stats[lcore];

	if (!st->burst_start) {
		st->burst_start = rte_rdtsc();
		RTE_PER_LCORE(running) = e;
	}
	st->runs++;
	return e->jit.func ? e->jit.func(ctx) : rte_bpf_exec(e->bpf, ctx);
}

void vsw_ext_burst_done(struct vsw_ext *e, unsigned int lcore)
{
	struct lcore_stats *st = &e->stats[lcore];

	if (st->burst_start) {
		st->cycles += rte_rdtsc() - st->burst_start;
		st->burst_start = 0;
	}
}

void vsw_ext_count_verdict(struct vsw_ext *e, unsigned int lcore)
{
	e->stats[lcore].verdicts++;
}

json_t *vsw_ext_stats_json(const struct vsw_ext *e)
{
	uint64_t runs = 0, verdicts = 0, cycles = 0;
	json_t *counters = json_object();
	char key[24];

	for (unsigned int l = 0; l < VSW_MAX_LCORES; l++) {
		runs += e->stats[l].runs;
		verdicts += e->stats[l].verdicts;
		cycles += e->stats[l].cycles;
	}
	for (unsigned int i = 0; i < COUNTER_SLOTS; i++) {
		if (__atomic_load_n(&e->counters[i].used, __ATOMIC_ACQUIRE) != 2)
			continue;
		snprintf(key, sizeof(key), "%llu", (unsigned long long)e->counters[i].key);
		json_object_set_new(counters, key, json_integer((json_int_t)e->counters[i].value));
	}
	json_t *o = json_pack("{s:I,s:I,s:b,s:o}", "runs", (json_int_t)runs, "avg_cycles",
			      (json_int_t)(runs ? cycles / runs : 0), "jit", e->jit.func != NULL,
			      "counters", counters);

	if (e->hook != VSW_EXT_CAPTURE)
		json_object_set_new(o, e->hook == VSW_EXT_FILTER ? "drops" : "steered",
				    json_integer((json_int_t)verdicts));
	return o;
}
