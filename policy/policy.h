/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A port's policy, as the datapath applies it: guards (MAC spoofing, DHCP
 * server, router advertisements), port ACLs, extended ACLs with connection
 * tracking, the maximum bandwidth and the storm limit. The control thread
 * compiles a struct pol_port_conf into an immutable struct pol_port and
 * publishes it with the switch's snapshot; a change compiles a new one.
 *
 * Order for frames from the port (direction out): guards, port ACLs,
 * extended ACLs (a tracked connection passes without the rules), then the
 * bandwidth meter. For frames to the port (direction in): port ACLs, then
 * extended ACLs. The storm limit applies when the switch floods a frame
 * that came from the port.
 */
#ifndef POL_POLICY_H
#define POL_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_meter.h>

#include "acl.h"
#include "conntrack.h"
#include "xacl.h"

/* What a port's configuration asks for (owned by the control thread). */
struct pol_port_conf {
	struct pol_acl_rule *acl;
	unsigned int n_acl;
	struct pol_xacl_rule *xacl;
	unsigned int n_xacl;
	bool mac_spoofing;	/* allowed: frames may come from any source MAC */
	bool dhcp_guard, router_guard;
	bool has_mac;		/* the port's assigned MAC, checked unless mac_spoofing */
	uint8_t mac[6];
	uint64_t max_bandwidth; /* bits per second, 0 = unlimited */
	uint64_t storm_limit;	/* flooded frames per second, 0 = unlimited */
};

/* Token buckets of one port; written only by the lcore polling the port. */
struct pol_meters {
	struct rte_meter_srtcm_profile bw_profile, storm_profile;
	struct rte_meter_srtcm bw, storm;
} __rte_cache_aligned;

struct pol_port {
	uint16_t port;
	bool in, out;		/* anything to do per direction */
	bool spoof_guard, dhcp_guard, router_guard, bw, storm;
	uint8_t mac[6];
	struct pol_acl_set *acl;   /* NULL without port ACLs */
	struct pol_xacl_set *xacl; /* NULL without extended ACLs */
	struct pol_meters *meters; /* NULL without limits; owned by the caller */
};

/* Why policy drops a frame. */
enum pol_verdict {
	POL_PASS,
	POL_DROP_ACL,
	POL_DROP_SPOOF,
	POL_DROP_DHCP,
	POL_DROP_ROUTER,
	POL_DROP_RATE,
};

/* What a datapath lcore brings to policy. */
struct pol_env {
	struct pol_ct *ct;
	unsigned int lcore;
	uint32_t now;	    /* seconds, as the MAC table counts them */
	uint64_t tsc;	    /* for the meters */
	uint64_t *ct_full;  /* counts connections not tracked for lack of room */
};

/*
 * Compiles conf for port index port and n_lcores lcores. meters (may be
 * NULL when conf sets no limit) are configured for conf's rates only when
 * configure_meters is true; the caller owns them and keeps them across
 * recompilations so that buckets are not refilled by unrelated changes.
 * Returns NULL with errno and err set.
 */
struct pol_port *pol_port_compile(const struct pol_port_conf *conf, uint16_t port,
				  unsigned int n_lcores, struct pol_meters *meters,
				  bool configure_meters, int socket, struct ctl_err *err);

/* Frees a compiled policy (not its meters). Accepts NULL. */
void pol_port_free(struct pol_port *pp);

/* Whether conf asks for nothing at all. */
bool pol_port_conf_empty(const struct pol_port_conf *conf);

/*
 * Decides a burst of n frames going in direction dir (IN or OUT) at the
 * port: verdict[i] says POL_PASS or why to drop. Datapath lcores.
 */
void pol_port_filter(const struct pol_port *pp, enum pol_dir dir, struct rte_mbuf **pkts,
		     uint16_t n, const struct pol_env *env, uint8_t *verdict);

/* Whether the storm limit admits one more flooded frame from the port now. */
static inline bool pol_storm_admit(const struct pol_port *pp, uint64_t tsc)
{
	if (!pp || !pp->storm)
		return true;
	return rte_meter_srtcm_color_blind_check(&pp->meters->storm, &pp->meters->storm_profile,
						 tsc, 1) == RTE_COLOR_GREEN;
}

#endif
