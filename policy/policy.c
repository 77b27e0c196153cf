/* SPDX-License-Identifier: BSD-3-Clause */
/* Port policy compilation and the datapath filter: see policy.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>

#include "policy.h"

bool pol_port_conf_empty(const struct pol_port_conf *c)
{
	return !c->n_acl && !c->n_xacl && (c->mac_spoofing || !c->has_mac) && !c->dhcp_guard &&
	       !c->router_guard && !c->max_bandwidth && !c->storm_limit;
}

/* Configures a single-rate bucket: rate units per second, burst of 20 ms (at least min). */
static int meter_config(struct rte_meter_srtcm_profile *p, struct rte_meter_srtcm *m,
			uint64_t rate, uint64_t min_burst)
{
	struct rte_meter_srtcm_params prm = {.cir = rate, .cbs = rate / 50, .ebs = 0};

	if (prm.cbs < min_burst)
		prm.cbs = min_burst;
	if (rte_meter_srtcm_profile_config(p, &prm))
		return -EINVAL;
	return rte_meter_srtcm_config(m, p) ? -EINVAL : 0;
}

static int configure(struct pol_meters *m, const struct pol_port_conf *c, struct ctl_err *err)
{
	if (c->max_bandwidth && meter_config(&m->bw_profile, &m->bw, c->max_bandwidth / 8, 3028))
		return ctl_err_set(err, EINVAL, "max-bandwidth: %llu bit/s cannot be metered",
				   (unsigned long long)c->max_bandwidth);
	if (c->storm_limit && meter_config(&m->storm_profile, &m->storm, c->storm_limit, 1))
		return ctl_err_set(err, EINVAL, "storm-limit: %llu frames/s cannot be metered",
				   (unsigned long long)c->storm_limit);
	return 0;
}

struct pol_port *pol_port_compile(const struct pol_port_conf *c, uint16_t port,
				  unsigned int n_lcores, struct pol_meters *meters,
				  bool configure_meters, int socket, struct ctl_err *err)
{
	struct pol_port *pp = calloc(1, sizeof(*pp));

	if (!pp) {
		ctl_err_set(err, ENOMEM, "out of memory");
		goto err;
	}
	pp->port = port;
	pp->spoof_guard = c->has_mac && !c->mac_spoofing;
	memcpy(pp->mac, c->mac, 6);
	pp->dhcp_guard = c->dhcp_guard;
	pp->router_guard = c->router_guard;
	pp->bw = c->max_bandwidth != 0;
	pp->storm = c->storm_limit != 0;
	if ((pp->bw || pp->storm) &&
	    (!meters || (configure_meters && configure(meters, c, err))))
		goto err_free;
	pp->meters = meters;
	if (c->n_acl && !(pp->acl = pol_acl_compile(c->acl, c->n_acl, n_lcores))) {
		ctl_err_set(err, ENOMEM, "out of memory");
		goto err_free;
	}
	if (c->n_xacl && !(pp->xacl = pol_xacl_compile(c->xacl, c->n_xacl, n_lcores, socket, err)))
		goto err_free;
	pp->out = pp->spoof_guard || pp->dhcp_guard || pp->router_guard || pp->bw || pp->acl ||
		  pol_xacl_has(pp->xacl, POL_DIR_OUT);
	pp->in = pp->acl || pol_xacl_has(pp->xacl, POL_DIR_IN);
	return pp;

err_free:
	pol_port_free(pp);
err:
	errno = EINVAL;
	return NULL;
}

void pol_port_free(struct pol_port *pp)
{
	if (!pp)
		return;
	pol_acl_free(pp->acl);
	pol_xacl_free(pp->xacl);
	free(pp);
}

/* Guards on frames from the port. */
static enum pol_verdict guards(const struct pol_port *pp, const struct pol_flow *f)
{
	if (pp->spoof_guard && memcmp(f->smac, pp->mac, 6))
		return POL_DROP_SPOOF;
	if (pp->dhcp_guard && f->proto == POL_PROTO_UDP &&
	    ((f->family == POL_IPV4 && f->sport == 67) || (f->family == POL_IPV6 && f->sport == 547)))
		return POL_DROP_DHCP;
	if (pp->router_guard &&
	    ((f->family == POL_IPV6 && f->proto == POL_PROTO_ICMPV6 &&
	      (f->icmp_type == 134 || f->icmp_type == 137)) ||
	     (f->family == POL_IPV4 && f->proto == POL_PROTO_ICMP &&
	      (f->icmp_type == 5 || f->icmp_type == 9))))
		return POL_DROP_ROUTER;
	return POL_PASS;
}

/* Extended ACLs with connection tracking over the frames still passing. */
static void xacl_stage(const struct pol_port *pp, enum pol_dir dir, struct rte_mbuf **pkts,
		       const struct pol_flow *flows, uint16_t n, const struct pol_env *env,
		       uint8_t *verdict)
{
	const union pol_xacl_key *kp[2][64];
	union pol_xacl_key keys[64];
	struct pol_ct_key ck[64];
	uint16_t idx[2][64], nk[2] = {0, 0};
	uint32_t len[2][64];
	int32_t rule[64];
	bool track = env->ct && pol_xacl_stateful(pp->xacl);

	for (uint16_t i = 0; i < n; i++) {
		const struct pol_flow *f = &flows[i];
		int fam = f->family == POL_IPV6;

		if (verdict[i] != POL_PASS || f->family == POL_NOT_IP)
			continue;
		if (track) {
			pol_ct_key(f, pp->port, dir, &ck[i]);
			if (pol_ct_hit(env->ct, &ck[i], env->now, f->tcp_flags, dir))
				continue;
		}
		pol_xacl_key(f, dir, &keys[i]);
		kp[fam][nk[fam]] = &keys[i];
		len[fam][nk[fam]] = pkts[i]->pkt_len;
		idx[fam][nk[fam]++] = i;
	}
	for (int fam = 0; fam < 2; fam++) {
		if (!nk[fam])
			continue;
		pol_xacl_classify(pp->xacl, dir, fam ? POL_IPV6 : POL_IPV4, kp[fam], len[fam],
				  nk[fam], rule, env->lcore);
		for (uint16_t j = 0; j < nk[fam]; j++) {
			uint16_t i = idx[fam][j];
			const struct pol_xacl_rule *r;

			if (rule[j] < 0)
				continue;
			r = pol_xacl_rule(pp->xacl, (unsigned int)rule[j]);
			if (r->action == POL_DENY)
				verdict[i] = POL_DROP_ACL;
			else if (r->stateful && track &&
				 pol_ct_open(env->ct, &ck[i], env->now, r->idle_timeout,
					     flows[i].tcp_flags, dir))
				(*env->ct_full)++;
		}
	}
}

void pol_port_filter(const struct pol_port *pp, enum pol_dir dir, struct rte_mbuf **pkts,
		     uint16_t n, const struct pol_env *env, uint8_t *verdict)
{
	struct pol_flow flows[64];

	if (n > 64)
		n = 64;
	for (uint16_t i = 0; i < n; i++) {
		pol_flow_parse(pkts[i], &flows[i]);
		verdict[i] = dir == POL_DIR_OUT ? guards(pp, &flows[i]) : POL_PASS;
		if (verdict[i] == POL_PASS && pp->acl &&
		    !pol_acl_check(pp->acl, dir, &flows[i], pkts[i]->pkt_len, env->lcore))
			verdict[i] = POL_DROP_ACL;
	}
	if (pol_xacl_has(pp->xacl, dir))
		xacl_stage(pp, dir, pkts, flows, n, env, verdict);
	if (dir != POL_DIR_OUT || !pp->bw)
		return;
	for (uint16_t i = 0; i < n; i++) {
		if (verdict[i] == POL_PASS &&
		    rte_meter_srtcm_color_blind_check(&pp->meters->bw, &pp->meters->bw_profile,
						      env->tsc, pkts[i]->pkt_len) != RTE_COLOR_GREEN)
			verdict[i] = POL_DROP_RATE;
	}
}
