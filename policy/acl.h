/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Port ACLs (Add-VMNetworkAdapterAcl): entries match the local and/or
 * remote MAC address or IP prefix of a frame in a direction and allow,
 * deny or meter it. The most specific matching allow/deny entry decides
 * (specificity: 48 bits per MAC given plus the prefix lengths; on a tie
 * deny wins); no matching entry allows. Independently, the most specific
 * matching meter entry counts the frame. Every entry counts its hits.
 *
 * A set is compiled off the fast path into per-direction lists sorted by
 * precedence, so the datapath takes the first match. Compiled sets are
 * immutable except for their hit counters, one block per datapath lcore.
 */
#ifndef POL_ACL_H
#define POL_ACL_H

#include <stdbool.h>
#include <stdint.h>

#include "rule.h"

#define POL_ACL_MAX 1024 /* entries per port */

struct pol_acl_rule {
	enum pol_dir dir;
	enum pol_action action;
	bool has_local_mac, has_remote_mac;
	uint8_t local_mac[6], remote_mac[6];
	struct pol_prefix local_ip, remote_ip;
};

struct pol_hits {
	uint64_t packets, bytes;
};

struct pol_acl_set;

/* Checks that a rule names at least one address. Returns 0 or -EINVAL. */
int pol_acl_rule_check(const struct pol_acl_rule *r, struct ctl_err *err);

/* Whether two rules are the same entry (same direction, action and addresses). */
bool pol_acl_rule_equal(const struct pol_acl_rule *a, const struct pol_acl_rule *b);

/* Whether rule r matches a frame going in direction dir (IN or OUT). */
bool pol_acl_rule_match(const struct pol_acl_rule *r, enum pol_dir dir, const struct pol_flow *f);

/* Compiles n rules for n_lcores datapath lcores. NULL + errno. */
struct pol_acl_set *pol_acl_compile(const struct pol_acl_rule *rules, unsigned int n,
				    unsigned int n_lcores);
void pol_acl_free(struct pol_acl_set *s);

/*
 * Decides a frame of len bytes going in direction dir (IN or OUT) on lcore
 * lcore: counts the deciding and the metering entries' hits. Returns true
 * when the frame may pass.
 */
bool pol_acl_check(struct pol_acl_set *s, enum pol_dir dir, const struct pol_flow *f,
		   uint32_t len, unsigned int lcore);

/* Sums the hits of rule i of n over n_lcores per-lcore blocks [lcore * n + rule]. */
struct pol_hits pol_hits_sum(const struct pol_hits *hits, unsigned int n, unsigned int n_lcores,
			     unsigned int i);

/* Hits of rule i summed over lcores. */
struct pol_hits pol_acl_hits(const struct pol_acl_set *s, unsigned int i);

#endif
