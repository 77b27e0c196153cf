/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * JSON views of the switch state for the control protocol. Keys follow
 * the command contract (docs/vswitchctl.md): counts, VLAN ids, sizes and
 * times are numbers; MACs lowercase strings.
 */
#include <errno.h>
#include <string.h>

#include <rte_cycles.h>

#include "hvnet_config.h"
#include "vsw_private.h"

#define FDB_SHOW_MAX 100000 /* entries per reply; "total" says how many exist */

static const char *type_name(enum vsw_switch_type t)
{
	static const char *const names[] = {"external", "internal", "private"};

	return names[t];
}

static const char *role_name(enum vsw_port_role r)
{
	static const char *const names[] = {"port", "uplink", "host"};

	return names[r];
}

static json_t *mac_json(const uint8_t mac[6])
{
	char buf[18];

	ctl_format_mac(mac, buf);
	return json_string(buf);
}

static json_t *port_name_or_null(struct vsw *vsw, int idx)
{
	return idx < 0 ? json_null() : json_string(vsw->ports[idx].name);
}

static json_t *vlan_json(const struct vsw_vlan_cfg *v)
{
	static const char *const modes[] = {"untagged", "access", "trunk"};
	json_t *o = json_pack("{s:s}", "mode", modes[v->mode]);
	char list[256];

	if (v->mode == VSW_VLAN_ACCESS)
		json_object_set_new(o, "access_vid", json_integer(v->access_vid));
	if (v->mode == VSW_VLAN_TRUNK) {
		json_object_set_new(o, "allowed",
				    json_string(ctl_format_vid_list(&v->allowed, list, sizeof(list))));
		json_object_set_new(o, "native_vid", json_integer(v->native_vid));
	}
	return o;
}

json_t *vsw_status_json(struct vsw *vsw)
{
	json_t *lcores = json_array();
	uint64_t rx = 0, tx = 0, drops = 0;
	unsigned int n_sw = 0, n_ports = 0;

	for (unsigned int i = 0; i < vsw->opts.n_lcores; i++)
		json_array_append_new(lcores, json_integer(vsw->lcore_ids[i]));
	for (unsigned int i = 0; i < VSW_MAX_SWITCHES; i++)
		n_sw += vsw->switches[i].used;
	for (unsigned int i = 0; i < VSW_MAX_PORTS; i++) {
		struct vsw_port_counters c;

		if (!vsw->ports[i].used)
			continue;
		n_ports++;
		vsw_port_counters_now(vsw, &vsw->ports[i], &c);
		rx += c.rx_packets;
		tx += c.tx_packets;
		for (unsigned int r = 0; r < VSW_DROP_MAX; r++)
			drops += c.drops[r];
	}
	return json_pack("{s:s,s:I,s:o,s:i,s:i,s:I,s:I,s:I,s:I,s:I,s:I}", "version", HVNET_VERSION,
			 "uptime", (json_int_t)((rte_rdtsc() - vsw->start_tsc) / rte_get_tsc_hz()),
			 "lcores", lcores, "switches", n_sw, "ports", n_ports, "fdb_entries",
			 (json_int_t)vsw_fdb_count(vsw->fdb), "fdb_capacity",
			 (json_int_t)vsw_fdb_capacity(vsw->fdb), "fdb_full",
			 (json_int_t)vsw_dp_fdb_full(vsw->dp), "rx_packets", (json_int_t)rx,
			 "tx_packets", (json_int_t)tx, "drops", (json_int_t)drops);
}

struct count_arg {
	int sw;
	unsigned int n;
};

static int count_switch_entries(void *arg, const struct vsw_fdb_key *k,
				const struct vsw_fdb_entry *e)
{
	struct count_arg *a = arg;

	(void)e;
	a->n += k->sw == a->sw;
	return 0;
}

static json_t *switch_json(struct vsw *vsw, struct vsw_switch *sw, bool detail)
{
	unsigned int idx = (unsigned int)(sw - vsw->switches);
	json_t *ports = json_array(), *o;
	struct count_arg ca = {.sw = (int)idx};
	uint64_t flood = 0;

	for (unsigned int i = 0; i < VSW_MAX_PORTS; i++) {
		struct vsw_port_counters c;

		if (!vsw->ports[i].used || vsw->ports[i].sw != idx)
			continue;
		json_array_append_new(ports, json_string(vsw->ports[i].name));
		vsw_port_counters_now(vsw, &vsw->ports[i], &c);
		flood += c.flood_packets;
	}
	o = json_pack("{s:s,s:s,s:o,s:o}", "name", sw->name, "type", type_name(sw->type), "uplink",
		      port_name_or_null(vsw, sw->uplink), "host_vnic",
		      port_name_or_null(vsw, sw->host));
	if (!detail) {
		json_object_set_new(o, "ports", json_integer((json_int_t)json_array_size(ports)));
		json_decref(ports);
		return o;
	}
	vsw_fdb_walk(vsw->fdb, count_switch_entries, &ca);
	json_object_set_new(o, "ports", ports);
	json_object_set_new(o, "fdb_entries", json_integer(ca.n));
	json_object_set_new(o, "flood_packets", json_integer((json_int_t)flood));
	return o;
}

json_t *vsw_switch_list_json(struct vsw *vsw)
{
	json_t *list = json_array();

	for (unsigned int i = 0; i < VSW_MAX_SWITCHES; i++) {
		if (vsw->switches[i].used)
			json_array_append_new(list, switch_json(vsw, &vsw->switches[i], false));
	}
	return json_pack("{s:o}", "switches", list);
}

json_t *vsw_switch_json(struct vsw *vsw, const char *name, struct ctl_err *err)
{
	struct vsw_switch *sw = vsw_find_switch(vsw, name, err);

	return sw ? switch_json(vsw, sw, true) : NULL;
}

static json_t *port_json(struct vsw *vsw, struct vsw_port *p, bool detail)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o}", "name", p->name, "switch",
			      vsw->switches[p->sw].name, "kind", p->cls->kind, "role",
			      role_name(p->role), "admin", p->up ? "up" : "down", "vlan",
			      vlan_json(&p->vlan));
	uint8_t mac[6];

	if (p->cls->get_mac && p->cls->get_mac(p->priv, mac) == 0)
		json_object_set_new(o, "mac", mac_json(mac));
	if (p->has_static_mac)
		json_object_set_new(o, "static_mac", mac_json(p->static_mac));
	if (detail && p->cls->describe)
		p->cls->describe(p->priv, o);
	return o;
}

json_t *vsw_port_list_json(struct vsw *vsw, const char *swname, struct ctl_err *err)
{
	struct vsw_switch *sw = NULL;
	json_t *list;

	if (swname && !(sw = vsw_find_switch(vsw, swname, err)))
		return NULL;
	list = json_array();
	for (unsigned int i = 0; i < VSW_MAX_PORTS; i++) {
		struct vsw_port *p = &vsw->ports[i];

		if (p->used && (!sw || p->sw == sw - vsw->switches))
			json_array_append_new(list, port_json(vsw, p, false));
	}
	return json_pack("{s:o}", "ports", list);
}

json_t *vsw_port_json(struct vsw *vsw, const char *name, struct ctl_err *err)
{
	struct vsw_port *p = vsw_find_port(vsw, name, err);

	return p ? port_json(vsw, p, true) : NULL;
}

json_t *vsw_port_stats_json(struct vsw *vsw, const char *name, bool clear, struct ctl_err *err)
{
	struct vsw_port *p = vsw_find_port(vsw, name, err);
	struct vsw_port_counters c;
	json_t *drops;

	if (!p)
		return NULL;
	vsw_port_counters_now(vsw, p, &c);
	drops = json_object();
	for (unsigned int r = 0; r < VSW_DROP_MAX; r++)
		json_object_set_new(drops, vsw_drop_name(r), json_integer((json_int_t)c.drops[r]));
	if (clear)
		vsw_dp_port_counters(vsw->dp, (unsigned int)(p - vsw->ports), &p->base);
	return json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:o}", "port", p->name, "rx_packets",
			 (json_int_t)c.rx_packets, "rx_bytes", (json_int_t)c.rx_bytes,
			 "tx_packets", (json_int_t)c.tx_packets, "tx_bytes",
			 (json_int_t)c.tx_bytes, "flood_packets", (json_int_t)c.flood_packets,
			 "drops", drops);
}

struct fdb_show_arg {
	struct vsw *vsw;
	int sw, vlan;
	uint32_t now;
	unsigned int total;
	json_t *entries;
};

static int fdb_show_one(void *arg, const struct vsw_fdb_key *k, const struct vsw_fdb_entry *e)
{
	struct fdb_show_arg *a = arg;
	uint16_t port = e->port;

	if (k->sw != a->sw || (a->vlan >= 0 && k->vlan != a->vlan))
		return 0;
	if (a->total++ >= FDB_SHOW_MAX)
		return 0;
	json_array_append_new(
		a->entries,
		json_pack("{s:o,s:i,s:s,s:s,s:I}", "mac", mac_json(k->mac), "vlan", k->vlan,
			  "port", port < VSW_MAX_PORTS ? a->vsw->ports[port].name : "?", "type",
			  e->is_static ? "static" : "learned", "age",
			  (json_int_t)(e->is_static ? 0 : (uint32_t)(a->now - e->last_seen))));
	return 0;
}

json_t *vsw_fdb_json(struct vsw *vsw, const char *swname, int vlan, struct ctl_err *err)
{
	struct vsw_switch *sw = vsw_find_switch(vsw, swname, err);
	struct fdb_show_arg a = {.vsw = vsw, .vlan = vlan, .now = vsw_fdb_now()};

	if (!sw)
		return NULL;
	a.sw = (int)(sw - vsw->switches);
	a.entries = json_array();
	vsw_fdb_walk(vsw->fdb, fdb_show_one, &a);
	return json_pack("{s:o,s:i,s:b}", "entries", a.entries, "total", a.total, "truncated",
			 a.total > FDB_SHOW_MAX);
}
