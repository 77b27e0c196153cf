/* SPDX-License-Identifier: BSD-3-Clause */
/* Extended ACLs on rte_acl: see xacl.h. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_acl.h>
#include <rte_byteorder.h>
#include <rte_errno.h>

#include "xacl.h"

enum { F4_PROTO, F4_LIP, F4_RIP, F4_LPORT, F4_RPORT, F4_N };
enum { F6_PROTO, F6_LIP, F6_RIP = F6_LIP + 4, F6_LPORT = F6_RIP + 4, F6_RPORT, F6_N };

RTE_ACL_RULE_DEF(rule4, F4_N);
RTE_ACL_RULE_DEF(rule6, F6_N);

struct pol_xacl_set {
	struct rte_acl_ctx *ctx[2][2]; /* [dir: in, out][family: v4, v6] */
	unsigned int n, n_lcores;
	bool stateful; /* some rule is */
	struct pol_xacl_rule *rules;
	struct pol_hits *hits; /* [lcore * n + rule] */
};

static const struct rte_acl_field_def defs4[F4_N] = {
	{RTE_ACL_FIELD_TYPE_BITMASK, 1, F4_PROTO, 0, offsetof(struct pol_xacl_key4, proto)},
	{RTE_ACL_FIELD_TYPE_MASK, 4, F4_LIP, 1, offsetof(struct pol_xacl_key4, local_ip)},
	{RTE_ACL_FIELD_TYPE_MASK, 4, F4_RIP, 2, offsetof(struct pol_xacl_key4, remote_ip)},
	{RTE_ACL_FIELD_TYPE_RANGE, 2, F4_LPORT, 3, offsetof(struct pol_xacl_key4, local_port)},
	{RTE_ACL_FIELD_TYPE_RANGE, 2, F4_RPORT, 3, offsetof(struct pol_xacl_key4, remote_port)},
};

static void defs6(struct rte_acl_field_def *d)
{
	d[F6_PROTO] = (struct rte_acl_field_def){RTE_ACL_FIELD_TYPE_BITMASK, 1, F6_PROTO, 0,
						 offsetof(struct pol_xacl_key6, proto)};
	for (uint8_t i = 0; i < 4; i++) {
		d[F6_LIP + i] = (struct rte_acl_field_def){
			RTE_ACL_FIELD_TYPE_MASK, 4, (uint8_t)(F6_LIP + i), (uint8_t)(1 + i),
			(uint32_t)(offsetof(struct pol_xacl_key6, local_ip) + 4 * i)};
		d[F6_RIP + i] = (struct rte_acl_field_def){
			RTE_ACL_FIELD_TYPE_MASK, 4, (uint8_t)(F6_RIP + i), (uint8_t)(5 + i),
			(uint32_t)(offsetof(struct pol_xacl_key6, remote_ip) + 4 * i)};
	}
	d[F6_LPORT] = (struct rte_acl_field_def){RTE_ACL_FIELD_TYPE_RANGE, 2, F6_LPORT, 9,
						 offsetof(struct pol_xacl_key6, local_port)};
	d[F6_RPORT] = (struct rte_acl_field_def){RTE_ACL_FIELD_TYPE_RANGE, 2, F6_RPORT, 9,
						 offsetof(struct pol_xacl_key6, remote_port)};
}

int pol_xacl_rule_check(const struct pol_xacl_rule *r, struct ctl_err *err)
{
	if (r->weight < 1 || r->weight > POL_WEIGHT_MAX)
		return ctl_err_set(err, EINVAL, "weight: want 1-%d, got %u", POL_WEIGHT_MAX,
				   r->weight);
	if (r->local_ip.family && r->remote_ip.family && r->local_ip.family != r->remote_ip.family)
		return ctl_err_set(err, EINVAL,
				   "remote-ip: the local and remote prefixes must be of one family");
	if ((r->has_local_port || r->has_remote_port) && r->proto != POL_PROTO_TCP &&
	    r->proto != POL_PROTO_UDP)
		return ctl_err_set(err, EINVAL, "%s: ports need --protocol tcp or udp",
				   r->has_local_port ? "local-port" : "remote-port");
	if (r->stateful && r->action != POL_ALLOW)
		return ctl_err_set(err, EINVAL, "stateful: only an allow rule can be stateful");
	if (r->idle_timeout && !r->stateful)
		return ctl_err_set(err, EINVAL, "idle-timeout: only with --stateful");
	return 0;
}

/* Whether rule r applies to family (by its prefixes and protocol). */
static bool rule_in_family(const struct pol_xacl_rule *r, uint8_t family)
{
	if ((r->local_ip.family && r->local_ip.family != family) ||
	    (r->remote_ip.family && r->remote_ip.family != family))
		return false;
	if (r->proto == POL_PROTO_ICMP && family == POL_IPV6)
		return false;
	return !(r->proto == POL_PROTO_ICMPV6 && family == POL_IPV4);
}

static void set_proto(struct rte_acl_field *f, const struct pol_xacl_rule *r, uint8_t family)
{
	int p = pol_proto_for(r->proto, family);

	f->value.u8 = p < 0 ? 0 : (uint8_t)p;
	f->mask_range.u8 = p < 0 ? 0 : 0xff;
}

static void set_ports(struct rte_acl_field *l, struct rte_acl_field *rm,
		      const struct pol_xacl_rule *r)
{
	l->value.u16 = r->has_local_port ? r->local_lo : 0;
	l->mask_range.u16 = r->has_local_port ? r->local_hi : 0xffff;
	rm->value.u16 = r->has_remote_port ? r->remote_lo : 0;
	rm->mask_range.u16 = r->has_remote_port ? r->remote_hi : 0xffff;
}

/* Sets a 32-bit masked field from bytes [4*i, 4*i+4) of prefix p (host order value). */
static void set_ip32(struct rte_acl_field *f, const struct pol_prefix *p, unsigned int i)
{
	int bits = p->family ? (int)p->len - 32 * (int)i : 0;
	uint32_t be;

	memcpy(&be, p->addr + 4 * i, 4); /* the prefix bytes need not be aligned */
	f->value.u32 = rte_be_to_cpu_32(be);
	f->mask_range.u32 = (uint32_t)(bits < 0 ? 0 : bits > 32 ? 32 : bits);
}

static void make_rule4(struct rule4 *a, const struct pol_xacl_rule *r, unsigned int idx)
{
	memset(a, 0, sizeof(*a));
	a->data = (struct rte_acl_rule_data){.category_mask = 1, .priority = (int32_t)r->weight,
					     .userdata = idx + 1};
	set_proto(&a->field[F4_PROTO], r, POL_IPV4);
	set_ip32(&a->field[F4_LIP], &r->local_ip, 0);
	set_ip32(&a->field[F4_RIP], &r->remote_ip, 0);
	set_ports(&a->field[F4_LPORT], &a->field[F4_RPORT], r);
}

static void make_rule6(struct rule6 *a, const struct pol_xacl_rule *r, unsigned int idx)
{
	memset(a, 0, sizeof(*a));
	a->data = (struct rte_acl_rule_data){.category_mask = 1, .priority = (int32_t)r->weight,
					     .userdata = idx + 1};
	set_proto(&a->field[F6_PROTO], r, POL_IPV6);
	for (unsigned int i = 0; i < 4; i++) {
		set_ip32(&a->field[F6_LIP + i], &r->local_ip, i);
		set_ip32(&a->field[F6_RIP + i], &r->remote_ip, i);
	}
	set_ports(&a->field[F6_LPORT], &a->field[F6_RPORT], r);
}

static unsigned int ctx_seq;

/* Builds the trie of one direction and family, or leaves *ctx NULL when no rule applies. */
static int build_ctx(struct pol_xacl_set *s, enum pol_dir dir, uint8_t family, int socket,
		     struct rte_acl_ctx **ctx, struct ctl_err *err)
{
	bool v6 = family == POL_IPV6;
	size_t rsz = v6 ? sizeof(struct rule6) : sizeof(struct rule4);
	struct rte_acl_config cfg = {.num_categories = 1, .num_fields = v6 ? F6_N : F4_N};
	unsigned int n = 0;
	char name[RTE_ACL_NAMESIZE];
	uint8_t *buf;
	int rc;

	buf = calloc(s->n ? s->n : 1, rsz);
	if (!buf)
		return ctl_err_set(err, ENOMEM, "out of memory");
	for (unsigned int i = 0; i < s->n; i++) {
		if (s->rules[i].dir != dir || !rule_in_family(&s->rules[i], family))
			continue;
		if (v6)
			make_rule6((struct rule6 *)(buf + n * rsz), &s->rules[i], i);
		else
			make_rule4((struct rule4 *)(buf + n * rsz), &s->rules[i], i);
		n++;
	}
	rc = 0;
	if (n) {
		snprintf(name, sizeof(name), "xacl%u", ctx_seq++);
		*ctx = rte_acl_create(&(struct rte_acl_param){.name = name, .socket_id = socket,
							      .rule_size = (uint32_t)rsz,
							      .max_rule_num = n});
		if (v6)
			defs6(cfg.defs);
		else
			memcpy(cfg.defs, defs4, sizeof(defs4));
		if (!*ctx || rte_acl_add_rules(*ctx, (const struct rte_acl_rule *)buf, n) ||
		    rte_acl_build(*ctx, &cfg))
			rc = ctl_err_set(err, ENOMEM, "xacl: cannot compile %u rules: %s", n,
					 rte_strerror(rte_errno));
	}
	free(buf);
	return rc;
}

struct pol_xacl_set *pol_xacl_compile(const struct pol_xacl_rule *rules, unsigned int n,
				      unsigned int n_lcores, int socket, struct ctl_err *err)
{
	struct pol_xacl_set *s = calloc(1, sizeof(*s));

	if (!s)
		goto err_nomem;
	s->n = n;
	s->n_lcores = n_lcores;
	s->rules = calloc(n ? n : 1, sizeof(*rules));
	s->hits = calloc((size_t)(n ? n : 1) * n_lcores, sizeof(*s->hits));
	if (!s->rules || !s->hits)
		goto err_nomem_free;
	memcpy(s->rules, rules, n * sizeof(*rules));
	for (unsigned int i = 0; i < n; i++)
		s->stateful |= rules[i].stateful;
	for (int d = 0; d < 2; d++) {
		for (int f = 0; f < 2; f++) {
			if (build_ctx(s, d ? POL_DIR_OUT : POL_DIR_IN, f ? POL_IPV6 : POL_IPV4,
				      socket, &s->ctx[d][f], err)) {
				pol_xacl_free(s);
				errno = EINVAL;
				return NULL;
			}
		}
	}
	return s;

err_nomem_free:
	pol_xacl_free(s);
err_nomem:
	ctl_err_set(err, ENOMEM, "out of memory");
	errno = ENOMEM;
	return NULL;
}

void pol_xacl_free(struct pol_xacl_set *s)
{
	if (!s)
		return;
	for (int d = 0; d < 2; d++) {
		for (int f = 0; f < 2; f++)
			rte_acl_free(s->ctx[d][f]);
	}
	free(s->rules);
	free(s->hits);
	free(s);
}

void pol_xacl_key(const struct pol_flow *f, enum pol_dir dir, union pol_xacl_key *k)
{
	bool out = dir == POL_DIR_OUT;
	const uint8_t *lip = out ? f->src : f->dst, *rip = out ? f->dst : f->src;
	uint16_t lport = out ? f->sport : f->dport, rport = out ? f->dport : f->sport;

	if (f->family == POL_IPV6) {
		k->v6.proto = f->proto;
		memcpy(k->v6.local_ip, lip, 16);
		memcpy(k->v6.remote_ip, rip, 16);
		k->v6.local_port = rte_cpu_to_be_16(lport);
		k->v6.remote_port = rte_cpu_to_be_16(rport);
		return;
	}
	k->v4.proto = f->proto;
	memcpy(&k->v4.local_ip, lip, 4);
	memcpy(&k->v4.remote_ip, rip, 4);
	k->v4.local_port = rte_cpu_to_be_16(lport);
	k->v4.remote_port = rte_cpu_to_be_16(rport);
}

void pol_xacl_classify(struct pol_xacl_set *s, enum pol_dir dir, uint8_t family,
		       const union pol_xacl_key **keys, const uint32_t *len, unsigned int n,
		       int32_t *rule, unsigned int lcore)
{
	struct rte_acl_ctx *ctx = s->ctx[dir == POL_DIR_OUT][family == POL_IPV6];
	struct pol_hits *h = &s->hits[(size_t)lcore * s->n];
	uint32_t res[64];

	if (!ctx || n > 64 || rte_acl_classify(ctx, (const uint8_t **)keys, res, n, 1)) {
		for (unsigned int i = 0; i < n; i++)
			rule[i] = -1;
		return;
	}
	for (unsigned int i = 0; i < n; i++) {
		rule[i] = (int32_t)res[i] - 1;
		if (rule[i] >= 0) {
			h[rule[i]].packets++;
			h[rule[i]].bytes += len[i];
		}
	}
}

const struct pol_xacl_rule *pol_xacl_rule(const struct pol_xacl_set *s, unsigned int i)
{
	return &s->rules[i];
}

bool pol_xacl_has(const struct pol_xacl_set *s, enum pol_dir dir)
{
	int d = dir == POL_DIR_OUT;

	return s && (s->ctx[d][0] || s->ctx[d][1]);
}

bool pol_xacl_stateful(const struct pol_xacl_set *s)
{
	return s && s->stateful;
}

struct pol_hits pol_xacl_hits(const struct pol_xacl_set *s, unsigned int i)
{
	return pol_hits_sum(s->hits, s->n, s->n_lcores, i);
}
