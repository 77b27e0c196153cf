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
};

struct vsw {
	struct vsw_opts opts;
	unsigned int lcore_ids[VSW_MAX_LCORES];
	struct rte_mempool *pool;
	struct rte_rcu_qsbr *qs;
	struct vsw_fdb *fdb;
	struct vsw_dp *dp;
	uint64_t start_tsc;
	uint32_t last_age;
	struct vsw_switch switches[VSW_MAX_SWITCHES];
	struct vsw_port ports[VSW_MAX_PORTS];
};

/* Lookups by name; NULL with err set ("switch: no switch named 'x'"). */
struct vsw_switch *vsw_find_switch(struct vsw *vsw, const char *name, struct ctl_err *err);
struct vsw_port *vsw_find_port(struct vsw *vsw, const char *name, struct ctl_err *err);

/* The internal VLAN a port's untagged frames belong to. */
unsigned int vsw_port_untagged_vlan(const struct vsw_port *p);

/* A port's counters since creation or the last clear. */
void vsw_port_counters_now(struct vsw *vsw, const struct vsw_port *p,
			   struct vsw_port_counters *out);

#endif
