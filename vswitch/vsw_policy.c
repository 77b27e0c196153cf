/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Port policy on the control side: the configured port ACLs, extended ACLs,
 * guards and limits of each port; every change compiles a new struct
 * pol_port and publishes it with the snapshot (traffic never stops), then
 * folds the hit counters of the set it replaced into the surviving
 * entries, so counts outlive recompilations. Control thread only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_lcore.h>
#include <rte_malloc.h>

#include "log.h"
#include "vsw_private.h"

void vsw_policy_free(struct vsw_port_policy *pol)
{
	pol_port_free(pol->compiled);
	rte_free(pol->meters);
	free(pol->acl);
	free(pol->xacl);
	memset(pol, 0, sizeof(*pol));
}

typedef struct pol_hits hits_fn(const void *set, unsigned int i);

static struct pol_hits acl_hits(const void *set, unsigned int i)
{
	return pol_acl_hits(set, i);
}

static struct pol_hits xacl_hits(const void *set, unsigned int i)
{
	return pol_xacl_hits(set, i);
}

/*
 * Adds the hits rule i had in the replaced compiled set to the entry that
 * survives it. Both arrays (of entries size bytes apart, each starting with
 * a struct vsw_rule_head) are in id order.
 */
static void carry(const void *set, hits_fn *hits, const void *old, unsigned int n_old,
		  void *new, unsigned int n_new, size_t size)
{
	for (unsigned int i = 0, j = 0; set && i < n_old && j < n_new;) {
		const struct vsw_rule_head *o = (const void *)((const char *)old + i * size);
		struct vsw_rule_head *n = (void *)((char *)new + j * size);

		if (o->id < n->id) {
			i++;
		} else if (o->id > n->id) {
			j++;
		} else {
			struct pol_hits h = hits(set, i++);

			n->base.packets += h.packets;
			n->base.bytes += h.bytes;
			j++;
		}
	}
}

/* Folds the hit counters of the replaced compiled policy into the surviving entries. */
static void carry_hits(struct vsw_port_policy *old, struct vsw_port_policy *new)
{
	if (!old->compiled)
		return;
	carry(old->compiled->acl, acl_hits, old->acl, old->n_acl, new->acl, new->n_acl,
	      sizeof(*old->acl));
	carry(old->compiled->xacl, xacl_hits, old->xacl, old->n_xacl, new->xacl, new->n_xacl,
	      sizeof(*old->xacl));
}

/* Compiles pol (whose entry arrays are its own) into pol->compiled. */
static int compile(struct vsw *vsw, struct vsw_port *p, struct vsw_port_policy *pol,
		   bool limits_changed, struct ctl_err *err)
{
	struct pol_port_conf c = pol->conf;
	struct pol_acl_rule *acl = calloc(pol->n_acl + 1, sizeof(*acl));
	struct pol_xacl_rule *xacl = calloc(pol->n_xacl + 1, sizeof(*xacl));
	int rc = 0;

	if (!acl || !xacl) {
		rc = ctl_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	for (unsigned int i = 0; i < pol->n_acl; i++)
		acl[i] = pol->acl[i].rule;
	for (unsigned int i = 0; i < pol->n_xacl; i++)
		xacl[i] = pol->xacl[i].rule;
	c.acl = acl;
	c.n_acl = pol->n_acl;
	c.xacl = xacl;
	c.n_xacl = pol->n_xacl;
	if ((c.max_bandwidth || c.storm_limit) && (limits_changed || !pol->meters)) {
		pol->meters = rte_zmalloc("pol_meters", sizeof(*pol->meters), RTE_CACHE_LINE_SIZE);
		limits_changed = true;
		if (!pol->meters) {
			rc = ctl_err_set(err, ENOMEM, "out of memory");
			goto out;
		}
	}
	pol->compiled = NULL;
	if (!pol_port_conf_empty(&c)) {
		pol->compiled = pol_port_compile(&c, (uint16_t)(p - vsw->ports), vsw->opts.n_lcores,
						 pol->meters, limits_changed, (int)rte_socket_id(),
						 err);
		if (!pol->compiled)
			rc = -EINVAL;
	}
out:
	free(acl);
	free(xacl);
	return rc;
}

/*
 * Makes next the port's policy: compiles it, publishes it, carries the
 * hit counters over and frees the old one. On failure frees next's own
 * parts and leaves the port as it was.
 */
static int commit(struct vsw *vsw, struct vsw_port *p, struct vsw_port_policy *next,
		  struct ctl_err *err)
{
	struct vsw_port_policy old = p->policy;
	bool limits_changed = next->conf.max_bandwidth != old.conf.max_bandwidth ||
			      next->conf.storm_limit != old.conf.storm_limit;
	int rc;

	next->meters = limits_changed ? NULL : old.meters;
	rc = compile(vsw, p, next, limits_changed, err);
	if (rc) {
		if (next->meters != old.meters)
			rte_free(next->meters);
		free(next->acl);
		free(next->xacl);
		return rc;
	}
	p->policy = *next;
	vsw_rebuild(vsw); /* after this, no lcore uses the old compiled policy */
	carry_hits(&old, &p->policy);
	if (old.meters == p->policy.meters)
		old.meters = NULL;
	vsw_policy_free(&old);
	return 0;
}

/* A copy of p's policy with room for extra more entries of each kind. */
static int copy_policy(const struct vsw_port_policy *src, unsigned int extra,
		       struct vsw_port_policy *dst, struct ctl_err *err)
{
	*dst = *src;
	dst->compiled = NULL;
	dst->acl = calloc(src->n_acl + extra + 1, sizeof(*dst->acl));
	dst->xacl = calloc(src->n_xacl + extra + 1, sizeof(*dst->xacl));
	if (!dst->acl || !dst->xacl) {
		free(dst->acl);
		free(dst->xacl);
		return ctl_err_set(err, ENOMEM, "out of memory");
	}
	if (src->n_acl)
		memcpy(dst->acl, src->acl, src->n_acl * sizeof(*dst->acl));
	if (src->n_xacl)
		memcpy(dst->xacl, src->xacl, src->n_xacl * sizeof(*dst->xacl));
	return 0;
}

static int find_acl(const struct vsw_port_policy *pol, const struct pol_acl_rule *r)
{
	for (unsigned int i = 0; i < pol->n_acl; i++) {
		if (pol_acl_rule_equal(&pol->acl[i].rule, r))
			return (int)i;
	}
	return -1;
}

int vsw_acl_add(struct vsw *vsw, const char *port, const struct pol_acl_rule *r,
		struct ctl_err *err)
{
	struct vsw_port *p = vsw_find_port(vsw, port, err);
	struct vsw_port_policy next;

	if (!p)
		return -ENOENT;
	if (pol_acl_rule_check(r, err))
		return -EINVAL;
	if (find_acl(&p->policy, r) >= 0)
		return ctl_err_set(err, EEXIST, "acl: port '%s' has this entry already", port);
	if (p->policy.n_acl >= POL_ACL_MAX)
		return ctl_err_set(err, ENOSPC, "acl: port '%s' has the most entries a port may have (%d)",
				   port, POL_ACL_MAX);
	if (copy_policy(&p->policy, 1, &next, err))
		return -ENOMEM;
	next.acl[next.n_acl++] = (struct vsw_acl_entry){.head.id = ++vsw->next_rule_id, .rule = *r};
	return commit(vsw, p, &next, err);
}

int vsw_acl_del(struct vsw *vsw, const char *port, const struct pol_acl_rule *r,
		struct ctl_err *err)
{
	struct vsw_port *p = vsw_find_port(vsw, port, err);
	struct vsw_port_policy next;
	int i;

	if (!p)
		return -ENOENT;
	i = find_acl(&p->policy, r);
	if (i < 0)
		return ctl_err_set(err, ENOENT, "acl: port '%s' has no such entry", port);
	if (copy_policy(&p->policy, 0, &next, err))
		return -ENOMEM;
	memmove(&next.acl[i], &next.acl[i + 1], (next.n_acl - (unsigned int)i - 1) * sizeof(*next.acl));
	next.n_acl--;
	return commit(vsw, p, &next, err);
}

static int find_xacl(const struct vsw_port_policy *pol, enum pol_dir dir, uint32_t weight)
{
	for (unsigned int i = 0; i < pol->n_xacl; i++) {
		if (pol->xacl[i].rule.dir == dir && pol->xacl[i].rule.weight == weight)
			return (int)i;
	}
	return -1;
}

/* Rejects rules whose (direction, weight) the port or the batch already has. */
static int check_weights(const struct vsw_port_policy *pol, const char *port,
			 const struct pol_xacl_rule *r, unsigned int n, struct ctl_err *err)
{
	uint8_t *seen = calloc(2 * (POL_WEIGHT_MAX + 1), 1);
	int rc = 0;

	if (!seen)
		return ctl_err_set(err, ENOMEM, "out of memory");
	for (unsigned int i = 0; i < pol->n_xacl; i++)
		seen[(pol->xacl[i].rule.dir == POL_DIR_OUT) * (POL_WEIGHT_MAX + 1) +
		     pol->xacl[i].rule.weight] = 1;
	for (unsigned int i = 0; i < n && !rc; i++) {
		uint8_t *s = &seen[(r[i].dir == POL_DIR_OUT) * (POL_WEIGHT_MAX + 1) + r[i].weight];

		if (pol_xacl_rule_check(&r[i], err))
			rc = -EINVAL;
		else if (*s)
			rc = ctl_err_set(err, EEXIST,
					 "weight: port '%s' has a%s rule with weight %u already (weights are unique per direction)",
					 port, r[i].dir == POL_DIR_IN ? "n inbound" : "n outbound",
					 r[i].weight);
		*s = 1;
	}
	free(seen);
	return rc;
}

int vsw_xacl_add(struct vsw *vsw, const char *port, const struct pol_xacl_rule *r, unsigned int n,
		 struct ctl_err *err)
{
	struct vsw_port *p = vsw_find_port(vsw, port, err);
	struct vsw_port_policy next;

	if (!p)
		return -ENOENT;
	if (p->policy.n_xacl + n > POL_XACL_MAX)
		return ctl_err_set(err, ENOSPC, "xacl: a port may have at most %d rules", POL_XACL_MAX);
	if (check_weights(&p->policy, port, r, n, err))
		return -EINVAL;
	if (copy_policy(&p->policy, n, &next, err))
		return -ENOMEM;
	for (unsigned int i = 0; i < n; i++)
		next.xacl[next.n_xacl++] =
			(struct vsw_xacl_entry){.head.id = ++vsw->next_rule_id, .rule = r[i]};
	return commit(vsw, p, &next, err);
}

int vsw_xacl_del(struct vsw *vsw, const char *port, enum pol_dir dir, uint32_t weight,
		 struct ctl_err *err)
{
	struct vsw_port *p = vsw_find_port(vsw, port, err);
	struct vsw_port_policy next;
	int i;

	if (!p)
		return -ENOENT;
	i = find_xacl(&p->policy, dir, weight);
	if (i < 0)
		return ctl_err_set(err, ENOENT, "weight: port '%s' has no %s rule with weight %u",
				   port, pol_dir_name(dir), weight);
	if (copy_policy(&p->policy, 0, &next, err))
		return -ENOMEM;
	memmove(&next.xacl[i], &next.xacl[i + 1],
		(next.n_xacl - (unsigned int)i - 1) * sizeof(*next.xacl));
	next.n_xacl--;
	return commit(vsw, p, &next, err);
}

int vsw_port_set_guards(struct vsw *vsw, const char *port, const struct vsw_port_guards *g,
			struct ctl_err *err)
{
	struct vsw_port *p = vsw_find_port(vsw, port, err);
	struct vsw_port_policy next;

	if (!p)
		return -ENOENT;
	if (copy_policy(&p->policy, 0, &next, err))
		return -ENOMEM;
	if (g->mac_spoofing >= 0)
		next.conf.mac_spoofing = g->mac_spoofing;
	if (g->dhcp_guard >= 0)
		next.conf.dhcp_guard = g->dhcp_guard;
	if (g->router_guard >= 0)
		next.conf.router_guard = g->router_guard;
	if (g->max_bandwidth >= 0)
		next.conf.max_bandwidth = (uint64_t)g->max_bandwidth;
	if (g->storm_limit >= 0)
		next.conf.storm_limit = (uint64_t)g->storm_limit;
	next.conf.has_mac = p->has_static_mac;
	memcpy(next.conf.mac, p->static_mac, 6);
	return commit(vsw, p, &next, err);
}

int vsw_conntrack_flush(struct vsw *vsw, const char *port, struct ctl_err *err)
{
	struct vsw_port *p = NULL;

	if (port && !(p = vsw_find_port(vsw, port, err)))
		return -ENOENT;
	return (int)pol_ct_flush(vsw->ct, p ? (int)(p - vsw->ports) : -1);
}
