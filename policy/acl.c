/* SPDX-License-Identifier: BSD-3-Clause */
/* Port ACLs: see acl.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"

struct pol_acl_set {
	unsigned int n, n_lcores;
	struct pol_acl_rule *rules;
	/* per direction (0 in, 1 out): decision entries, then meter entries, by precedence */
	uint16_t n_decide[2], n_meter[2];
	uint16_t *decide[2], *meter[2];
	struct pol_hits *hits; /* [lcore * n + rule] */
};

int pol_acl_rule_check(const struct pol_acl_rule *r, struct ctl_err *err)
{
	if (!r->has_local_mac && !r->has_remote_mac && !r->local_ip.set && !r->remote_ip.set)
		return ctl_err_set(err, EINVAL,
				   "acl: name an address (--local-ip, --remote-ip, --local-mac or --remote-mac)");
	return 0;
}

static bool prefix_equal(const struct pol_prefix *a, const struct pol_prefix *b)
{
	return a->set == b->set && a->family == b->family && a->len == b->len &&
	       !memcmp(a->addr, b->addr, 16);
}

bool pol_acl_rule_equal(const struct pol_acl_rule *a, const struct pol_acl_rule *b)
{
	return a->dir == b->dir && a->action == b->action &&
	       a->has_local_mac == b->has_local_mac && a->has_remote_mac == b->has_remote_mac &&
	       (!a->has_local_mac || !memcmp(a->local_mac, b->local_mac, 6)) &&
	       (!a->has_remote_mac || !memcmp(a->remote_mac, b->remote_mac, 6)) &&
	       prefix_equal(&a->local_ip, &b->local_ip) && prefix_equal(&a->remote_ip, &b->remote_ip);
}

bool pol_acl_rule_match(const struct pol_acl_rule *r, enum pol_dir dir, const struct pol_flow *f)
{
	bool out = dir == POL_DIR_OUT;
	const uint8_t *lmac = out ? f->smac : f->dmac, *rmac = out ? f->dmac : f->smac;
	const uint8_t *lip = out ? f->src : f->dst, *rip = out ? f->dst : f->src;

	return (r->dir & dir) && (!r->has_local_mac || !memcmp(r->local_mac, lmac, 6)) &&
	       (!r->has_remote_mac || !memcmp(r->remote_mac, rmac, 6)) &&
	       pol_prefix_match(&r->local_ip, f->family, lip) &&
	       pol_prefix_match(&r->remote_ip, f->family, rip);
}

static unsigned int specificity(const struct pol_acl_rule *r)
{
	return (r->has_local_mac ? 48u : 0u) + (r->has_remote_mac ? 48u : 0u) + r->local_ip.len +
	       r->remote_ip.len;
}

static const struct pol_acl_rule *sort_rules;

/* Precedence: more specific first; on a tie deny before allow; then older first. */
static int by_precedence(const void *a, const void *b)
{
	uint16_t i = *(const uint16_t *)a, j = *(const uint16_t *)b;
	unsigned int si = specificity(&sort_rules[i]), sj = specificity(&sort_rules[j]);

	if (si != sj)
		return si > sj ? -1 : 1;
	if (sort_rules[i].action != sort_rules[j].action)
		return sort_rules[i].action == POL_DENY ? -1 : 1;
	return i < j ? -1 : 1;
}

struct pol_acl_set *pol_acl_compile(const struct pol_acl_rule *rules, unsigned int n,
				    unsigned int n_lcores)
{
	struct pol_acl_set *s = calloc(1, sizeof(*s));

	if (!s)
		goto err;
	s->n = n;
	s->n_lcores = n_lcores;
	s->rules = calloc(n ? n : 1, sizeof(*rules));
	s->hits = calloc((size_t)(n ? n : 1) * n_lcores, sizeof(*s->hits));
	if (!s->rules || !s->hits)
		goto err_free;
	memcpy(s->rules, rules, n * sizeof(*rules));
	for (int d = 0; d < 2; d++) {
		enum pol_dir dir = d ? POL_DIR_OUT : POL_DIR_IN;

		s->decide[d] = calloc(n ? n : 1, sizeof(uint16_t));
		s->meter[d] = calloc(n ? n : 1, sizeof(uint16_t));
		if (!s->decide[d] || !s->meter[d])
			goto err_free;
		for (unsigned int i = 0; i < n; i++) {
			if (!(rules[i].dir & dir))
				continue;
			if (rules[i].action == POL_METER)
				s->meter[d][s->n_meter[d]++] = (uint16_t)i;
			else
				s->decide[d][s->n_decide[d]++] = (uint16_t)i;
		}
		sort_rules = rules;
		qsort(s->decide[d], s->n_decide[d], sizeof(uint16_t), by_precedence);
		qsort(s->meter[d], s->n_meter[d], sizeof(uint16_t), by_precedence);
	}
	return s;

err_free:
	pol_acl_free(s);
err:
	errno = ENOMEM;
	return NULL;
}

void pol_acl_free(struct pol_acl_set *s)
{
	if (!s)
		return;
	for (int d = 0; d < 2; d++) {
		free(s->decide[d]);
		free(s->meter[d]);
	}
	free(s->rules);
	free(s->hits);
	free(s);
}

/* The first of list[0..n) that matches, or -1. */
static int first_match(const struct pol_acl_set *s, const uint16_t *list, uint16_t n,
		       enum pol_dir dir, const struct pol_flow *f)
{
	for (uint16_t i = 0; i < n; i++) {
		if (pol_acl_rule_match(&s->rules[list[i]], dir, f))
			return list[i];
	}
	return -1;
}

bool pol_acl_check(struct pol_acl_set *s, enum pol_dir dir, const struct pol_flow *f,
		   uint32_t len, unsigned int lcore)
{
	int d = dir == POL_DIR_OUT, r;
	struct pol_hits *h = &s->hits[(size_t)lcore * s->n];
	bool pass = true;

	r = first_match(s, s->decide[d], s->n_decide[d], dir, f);
	if (r >= 0) {
		h[r].packets++;
		h[r].bytes += len;
		pass = s->rules[r].action == POL_ALLOW;
	}
	r = first_match(s, s->meter[d], s->n_meter[d], dir, f);
	if (r >= 0) {
		h[r].packets++;
		h[r].bytes += len;
	}
	return pass;
}

struct pol_hits pol_hits_sum(const struct pol_hits *hits, unsigned int n, unsigned int n_lcores,
			     unsigned int i)
{
	struct pol_hits sum = {0, 0};

	for (unsigned int l = 0; i < n && l < n_lcores; l++) {
		sum.packets += hits[(size_t)l * n + i].packets;
		sum.bytes += hits[(size_t)l * n + i].bytes;
	}
	return sum;
}

struct pol_hits pol_acl_hits(const struct pol_acl_set *s, unsigned int i)
{
	return pol_hits_sum(s->hits, s->n, s->n_lcores, i);
}
