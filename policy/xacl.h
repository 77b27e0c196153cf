/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Extended port ACLs (Add-VMNetworkAdapterExtendedAcl): rules on protocol,
 * local/remote IP prefix and local/remote port range, in one direction,
 * with a weight. Of the matching rules the one with the largest weight
 * decides; no matching rule allows. A stateful allow rule makes the
 * datapath track the connection (conntrack.h) so its return traffic
 * passes whatever the rules of the other direction say.
 *
 * A rule set compiles off the fast path into DPDK rte_acl tries, one per
 * direction and address family (weights become rte_acl priorities), and
 * the datapath classifies whole bursts at once.
 */
#ifndef POL_XACL_H
#define POL_XACL_H

#include <stdbool.h>
#include <stdint.h>

#include "acl.h"
#include "rule.h"

#define POL_XACL_MAX 65536 /* rules per port */
#define POL_WEIGHT_MAX 65535

struct pol_xacl_rule {
	enum pol_dir dir;	/* IN or OUT */
	enum pol_action action;	/* ALLOW or DENY */
	uint32_t weight;	/* 1-65535, unique per (port, direction) */
	int proto;		/* POL_PROTO_ANY, POL_PROTO_ICMP_ANY or 0-255 */
	struct pol_prefix local_ip, remote_ip;
	bool has_local_port, has_remote_port;
	uint16_t local_lo, local_hi, remote_lo, remote_hi;
	bool stateful;
	uint32_t idle_timeout;	/* seconds; 0 = the protocol's default */
};

/* The rte_acl input of one frame: fields in network byte order. */
struct pol_xacl_key4 {
	uint8_t proto;
	uint8_t pad[3];
	uint32_t local_ip, remote_ip;
	uint16_t local_port, remote_port;
};

struct pol_xacl_key6 {
	uint8_t proto;
	uint8_t pad[3];
	uint8_t local_ip[16], remote_ip[16];
	uint16_t local_port, remote_port;
};

union pol_xacl_key {
	struct pol_xacl_key4 v4;
	struct pol_xacl_key6 v6;
};

struct pol_xacl_set;

/* Checks one rule on its own (ranges, family agreement). Returns 0 or -EINVAL. */
int pol_xacl_rule_check(const struct pol_xacl_rule *r, struct ctl_err *err);

/*
 * Compiles n rules for n_lcores lcores on NUMA socket. Returns the set, or
 * NULL with errno set and err filled.
 */
struct pol_xacl_set *pol_xacl_compile(const struct pol_xacl_rule *rules, unsigned int n,
				      unsigned int n_lcores, int socket, struct ctl_err *err);
void pol_xacl_free(struct pol_xacl_set *s);

/* Fills the classifier input of a frame going in direction dir. */
void pol_xacl_key(const struct pol_flow *f, enum pol_dir dir, union pol_xacl_key *k);

/*
 * Classifies n keys of one family and direction. rule[i] is the index of
 * the deciding rule or -1. Counts hits (with len[i] bytes) on lcore.
 */
void pol_xacl_classify(struct pol_xacl_set *s, enum pol_dir dir, uint8_t family,
		       const union pol_xacl_key **keys, const uint32_t *len, unsigned int n,
		       int32_t *rule, unsigned int lcore);

/* Rule i of the set (the compiled copy). */
const struct pol_xacl_rule *pol_xacl_rule(const struct pol_xacl_set *s, unsigned int i);

/* Whether the set has rules for a direction. */
bool pol_xacl_has(const struct pol_xacl_set *s, enum pol_dir dir);

/* Whether any rule is stateful (else connection tracking has nothing to find). */
bool pol_xacl_stateful(const struct pol_xacl_set *s);

struct pol_hits pol_xacl_hits(const struct pol_xacl_set *s, unsigned int i);

#endif
