/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internals of the switch state shared by vsw.c (changes) and
 * vsw_json.c (views). Directory-private. Control thread only.
 */
#ifndef VSW_PRIVATE_H
#define VSW_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>

#include "ctl_parse.h"
#include "datapath.h"
#include "fdb.h"
#include "policy.h"
#include "vsw.h"

enum vsw_port_role {
	VSW_ROLE_PORT,	 /* an ordinary port: VM, memif, pcap, ... */
	VSW_ROLE_UPLINK, /* an external switch's uplink */
	VSW_ROLE_HOST,	 /* a host vNIC (vs-NAME) */
};

struct vsw_switch {
	bool used;
	char name[CTL_SWITCH_NAME_MAX + 1];
	enum vsw_switch_type type;
	int uplink; /* port index or -1 */
	int host;   /* port index or -1 */
};

/* What every configured rule starts with: identity and the hits of compiled sets it outlived. */
struct vsw_rule_head {
	uint64_t id; /* creation order, unique */
	struct pol_hits base;
};

/* A port ACL or extended ACL as configured. */
struct vsw_acl_entry {
	struct vsw_rule_head head;
	struct pol_acl_rule rule;
};

struct vsw_xacl_entry {
	struct vsw_rule_head head;
	struct pol_xacl_rule rule;
};

/* A port's policy as configured, and as compiled for the datapath. */
struct vsw_port_policy {
	struct vsw_acl_entry *acl;
	unsigned int n_acl;
	struct vsw_xacl_entry *xacl;
	unsigned int n_xacl;
	struct pol_port_conf conf;  /* guards and limits (its rule arrays unused) */
	struct pol_meters *meters;  /* allocated with the first limit */
	struct pol_port *compiled;  /* NULL when the port has no policy */
};

struct vsw_port {
	bool used;
	bool up;
	char name[CTL_NAME_MAX + 1];
	uint16_t sw;
	enum vsw_port_role role;
	const struct vsw_port_class *cls;
	void *priv;
	struct vsw_port_io io;
	struct vsw_vlan_cfg vlan;
	bool has_static_mac;
	uint8_t static_mac[6];
	struct vsw_port_counters base; /* counters at creation or last clear */
	struct vsw_port_policy policy;
	uint8_t mirror; /* enum vsw_mirror */
};

#define VSW_MAX_EXTS 32

/* An extension program attached to a switch (port < 0) or to one of its ports. */
struct vsw_ext_slot {
	bool used;
	char name[CTL_NAME_MAX + 1];
	uint16_t sw;
	int port;
	enum vsw_ext_hook hook;
	char object[256], section[64];
	struct vsw_ext_att att; /* what the snapshot points to */
};

struct vsw {
	struct vsw_opts opts;
	unsigned int lcore_ids[VSW_MAX_LCORES];
	struct rte_mempool *pool;
	struct rte_rcu_qsbr *qs;
	struct vsw_fdb *fdb;
	struct pol_ct *ct;
	struct vsw_dp *dp;
	uint64_t next_rule_id;
	struct vsw_capture *captures[VSW_CAPTURE_MAX];
	int capture_sw[VSW_CAPTURE_MAX]; /* the switch a session captures, -1: one port */
	unsigned int next_capture_id;
	struct vsw_ext_slot exts[VSW_MAX_EXTS];
	uint64_t start_tsc;
	uint32_t last_age;
	struct vsw_switch switches[VSW_MAX_SWITCHES];
	struct vsw_port ports[VSW_MAX_PORTS];
	struct vsw_vmbus *vmbus; /* the VM socket (vsw_vmbus.h), NULL without one */
	struct vsw_vms *vms;	 /* VM records and vmm processes (vsw_vm.h) */
};

/* Lookups by name; NULL with err set ("switch: no switch named 'x'"). */
struct vsw_switch *vsw_find_switch(struct vsw *vsw, const char *name, struct ctl_err *err);
struct vsw_port *vsw_find_port(struct vsw *vsw, const char *name, struct ctl_err *err);

/* The internal VLAN a port's untagged frames belong to. */
unsigned int vsw_port_untagged_vlan(const struct vsw_port *p);

/* Republishes the datapath snapshot (after a change of any port). */
int vsw_rebuild(struct vsw *vsw);

/* Adds the extension programs attached to port i (switch-wide and its own) to dp. */
void vsw_ext_hook_port(struct vsw *vsw, unsigned int i, struct vsw_dp_port *dp);

/* Detaches the programs of a port (port >= 0) or of a whole switch; frees them after a rebuild. */
void vsw_ext_forget(struct vsw *vsw, int sw, int port);

/* Frees a port's policy (it must be out of the datapath). */
void vsw_policy_free(struct vsw_port_policy *pol);

/* A port's counters since creation or the last clear. */
void vsw_port_counters_now(struct vsw *vsw, const struct vsw_port *p,
			   struct vsw_port_counters *out);

#endif
