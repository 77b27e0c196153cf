/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The switch daemon's state: switches (external, internal, private),
 * their ports, the MAC table and the datapath. Every change is validated
 * completely before anything is touched, so a rejected request changes
 * nothing; an accepted one is applied by building a new datapath snapshot
 * and publishing it (see datapath.h), so traffic on other ports never
 * stops. All functions: control thread only.
 */
#ifndef VSW_VSW_H
#define VSW_VSW_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "capture.h"
#include "ctl_err.h"
#include "ctl_server.h"
#include "datapath.h"
#include "policy.h"
#include "port_provider.h"
#include "vlan.h"

struct vsw;

enum vsw_switch_type {
	VSW_SWITCH_EXTERNAL,
	VSW_SWITCH_INTERNAL,
	VSW_SWITCH_PRIVATE,
};

struct vsw_opts {
	unsigned int n_lcores;		/* datapath loops */
	const unsigned int *lcore_ids;	/* EAL lcore of each loop */
	uint32_t fdb_size;		/* MAC table capacity */
	uint32_t ct_size;		/* connection table capacity */
	uint32_t aging;			/* seconds; 0 = never */
	uint32_t n_mbufs;		/* packet buffer pool size */
	uint32_t idle_sleep_us;		/* datapath nap when idle, 0 = busy-poll */
};

/* Creates the switch state and starts the datapath loops. NULL + errno, err set. */
struct vsw *vsw_create(const struct vsw_opts *opts, struct ctl_err *err);

/* Stops the datapath and closes every port and switch. Accepts NULL. */
void vsw_destroy(struct vsw *vsw);

/* Periodic work (MAC aging); call about every 100 ms. */
void vsw_tick(struct vsw *vsw);

/* Parses "external|internal|private". Returns 0 or -EINVAL with err set. */
int vsw_switch_type_parse(const char *s, enum vsw_switch_type *type, struct ctl_err *err);

/*
 * Adds a switch. uplink (DPDK devargs) is required for external and
 * rejected otherwise; allow_mgmt (external only) adds a host vNIC like an
 * internal switch's, a tap device named vs-NAME. Returns 0 or -errno.
 */
int vsw_switch_add(struct vsw *vsw, const char *name, enum vsw_switch_type type,
		   const char *uplink, bool allow_mgmt, struct ctl_err *err);

/* Removes a switch with all its ports. Returns 0 or -ENOENT. */
int vsw_switch_del(struct vsw *vsw, const char *name, struct ctl_err *err);

/*
 * Adds a port of p->kind named p->name to switch sw (p->index, n_txq, pool
 * and socket are filled in here). The port starts up unless down. Returns
 * 0 or -errno.
 */
int vsw_port_add(struct vsw *vsw, const char *sw, struct vsw_port_params *p, bool down,
		 struct ctl_err *err);

/* Removes a port (not a switch's uplink or host vNIC). Returns 0 or -errno. */
int vsw_port_del(struct vsw *vsw, const char *name, struct ctl_err *err);

/* Sets a port's administrative state. Returns 0 or -ENOENT. */
int vsw_port_set_admin(struct vsw *vsw, const char *name, bool up, struct ctl_err *err);

/*
 * Sets a port's VLAN mode and flushes the MAC entries it learned (they
 * belong to the old VLANs). Returns 0 or -errno.
 */
int vsw_port_set_vlan(struct vsw *vsw, const char *name, const struct vsw_vlan_cfg *vlan,
		      struct ctl_err *err);

/*
 * Gives a port a static MAC address: a static MAC-table entry on the VLAN
 * its untagged frames belong to, kept across VLAN changes. Returns 0 or -errno.
 */
int vsw_port_set_static_mac(struct vsw *vsw, const char *name, const uint8_t mac[6],
			    struct ctl_err *err);

/* Adds a static MAC entry on switch sw for port on VLAN vlan (0 = untagged). */
int vsw_fdb_add_entry(struct vsw *vsw, const char *sw, const uint8_t mac[6], const char *port,
		      unsigned int vlan, struct ctl_err *err);

/* Deletes the MAC entry of mac on VLAN vlan of switch sw. Returns 0 or -ENOENT. */
int vsw_fdb_del_entry(struct vsw *vsw, const char *sw, const uint8_t mac[6], unsigned int vlan,
		      struct ctl_err *err);

/* Flushes the MAC table of switch sw (learned and static). Returns entries removed or -ENOENT. */
int vsw_fdb_flush_switch(struct vsw *vsw, const char *sw, struct ctl_err *err);

/* Adds a port ACL entry to port. Returns 0 or -errno (-EEXIST for a duplicate). */
int vsw_acl_add(struct vsw *vsw, const char *port, const struct pol_acl_rule *r,
		struct ctl_err *err);

/* Deletes the port ACL entry equal to r. Returns 0 or -ENOENT. */
int vsw_acl_del(struct vsw *vsw, const char *port, const struct pol_acl_rule *r,
		struct ctl_err *err);

/*
 * Adds n extended ACL rules to port at once (one compilation). Each must
 * have a weight unique for its direction on the port. All or nothing.
 */
int vsw_xacl_add(struct vsw *vsw, const char *port, const struct pol_xacl_rule *r, unsigned int n,
		 struct ctl_err *err);

/* Deletes the extended ACL rule of direction dir and weight. Returns 0 or -ENOENT. */
int vsw_xacl_del(struct vsw *vsw, const char *port, enum pol_dir dir, uint32_t weight,
		 struct ctl_err *err);

/* Guard and limit changes; fields < 0 stay as they are. */
struct vsw_port_guards {
	int mac_spoofing, dhcp_guard, router_guard; /* 0 off, 1 on */
	int64_t max_bandwidth, storm_limit;	    /* 0 = unlimited */
};

/* Applies guard and limit changes to port. Returns 0 or -errno. */
int vsw_port_set_guards(struct vsw *vsw, const char *port, const struct vsw_port_guards *g,
			struct ctl_err *err);

/* Deletes the tracked connections of port (all ports when NULL). Returns how many or -ENOENT. */
int vsw_conntrack_flush(struct vsw *vsw, const char *port, struct ctl_err *err);

/* Sets a port's mirroring role (Hyper-V PortMirroring: None, Source, Destination). */
int vsw_port_set_mirror(struct vsw *vsw, const char *name, enum vsw_mirror role,
			struct ctl_err *err);

/*
 * Starts a capture of target (a port, or all ports of a switch) streamed
 * on the request's connection, which it takes over (see capture.h).
 * Returns 0 (the answer is the stream) or -errno with err set (the caller
 * answers the error).
 */
int vsw_capture_open(struct vsw *vsw, const char *target, struct vsw_capture_params *prm,
		     struct ctl_conn *conn, struct ctl_err *err);

/*
 * Attaches extension program name to switch sw at hook, for one port when
 * port is not NULL: loads section (default: the hook's name) of the ELF
 * object. Replacing a program of the same name swaps it in without
 * stopping traffic. args (up to 4) are numbers or names of the switch's
 * ports (passed as port ids). Returns 0 or -errno.
 */
int vsw_ext_add(struct vsw *vsw, const char *sw, const char *name, const char *object,
		const char *section, enum vsw_ext_hook hook, const char *port, const char *args,
		struct ctl_err *err);

/* The same with a program given as raw instructions (tests, benchmarks). */
int vsw_ext_add_insns(struct vsw *vsw, const char *sw, const char *name, const void *insns,
		      unsigned int n, enum vsw_ext_hook hook, const char *port,
		      struct ctl_err *err);

/* Detaches and frees extension name of switch sw. Returns 0 or -ENOENT. */
int vsw_ext_del(struct vsw *vsw, const char *sw, const char *name, struct ctl_err *err);

/* Extensions (of one switch, or all) with their statistics and counters. */
json_t *vsw_ext_json(struct vsw *vsw, const char *sw, struct ctl_err *err);

/* JSON views, for the control protocol; NULL with err set when the object is unknown. */
json_t *vsw_status_json(struct vsw *vsw);
json_t *vsw_switch_list_json(struct vsw *vsw);
json_t *vsw_switch_json(struct vsw *vsw, const char *name, struct ctl_err *err);
json_t *vsw_port_list_json(struct vsw *vsw, const char *sw, struct ctl_err *err);
json_t *vsw_port_json(struct vsw *vsw, const char *name, struct ctl_err *err);
json_t *vsw_port_stats_json(struct vsw *vsw, const char *name, bool clear, struct ctl_err *err);
json_t *vsw_fdb_json(struct vsw *vsw, const char *sw, int vlan, struct ctl_err *err);
json_t *vsw_acl_json(struct vsw *vsw, const char *port, struct ctl_err *err);
json_t *vsw_xacl_json(struct vsw *vsw, const char *port, struct ctl_err *err);
json_t *vsw_conntrack_json(struct vsw *vsw, const char *port, struct ctl_err *err);

#endif
