/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * JSON views of the switch state for the control protocol. Keys follow
 * the command contract (docs/vswitchctl.md): counts, VLAN ids, sizes and
 * times are numbers; MACs lowercase strings.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
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
	return json_pack("{s:s,s:I,s:o,s:i,s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "version",
			 HVNET_VERSION, "uptime",
			 (json_int_t)((rte_rdtsc() - vsw->start_tsc) / rte_get_tsc_hz()), "lcores",
			 lcores, "switches", n_sw, "ports", n_ports, "fdb_entries",
			 (json_int_t)vsw_fdb_count(vsw->fdb), "fdb_capacity",
			 (json_int_t)vsw_fdb_capacity(vsw->fdb), "fdb_full",
			 (json_int_t)vsw_dp_fdb_full(vsw->dp), "connections",
			 (json_int_t)pol_ct_count(vsw->ct), "connections_untracked",
			 (json_int_t)vsw_dp_ct_full(vsw->dp), "rx_packets", (json_int_t)rx,
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
	json_t *o = json_pack("{s:s,s:i,s:s,s:s,s:s,s:s,s:o}", "name", p->name, "id",
			      (int)(p - vsw->ports), "switch",
			      vsw->switches[p->sw].name, "kind", p->cls->kind, "role",
			      role_name(p->role), "admin", p->up ? "up" : "down", "vlan",
			      vlan_json(&p->vlan));
	uint8_t mac[6];

	if (p->cls->get_mac && p->cls->get_mac(p->priv, mac) == 0)
		json_object_set_new(o, "mac", mac_json(mac));
	if (p->has_static_mac)
		json_object_set_new(o, "static_mac", mac_json(p->static_mac));
	if (detail) {
		const struct pol_port_conf *c = &p->policy.conf;

		json_object_set_new(o, "mac_spoofing", json_string(c->mac_spoofing ? "on" : "off"));
		json_object_set_new(o, "dhcp_guard", json_string(c->dhcp_guard ? "on" : "off"));
		json_object_set_new(o, "router_guard", json_string(c->router_guard ? "on" : "off"));
		json_object_set_new(o, "max_bandwidth", json_integer((json_int_t)c->max_bandwidth));
		json_object_set_new(o, "storm_limit", json_integer((json_int_t)c->storm_limit));
		json_object_set_new(o, "mirror", json_string(p->mirror == VSW_MIRROR_SOURCE ? "source"
							     : p->mirror == VSW_MIRROR_DESTINATION
								     ? "destination"
								     : "none"));
		json_object_set_new(o, "acl_rules", json_integer(p->policy.n_acl));
		json_object_set_new(o, "xacl_rules", json_integer(p->policy.n_xacl));
	}
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

static json_t *hits_json(struct pol_hits base, struct pol_hits now)
{
	return json_pack("{s:I,s:I}", "packets", (json_int_t)(base.packets + now.packets), "bytes",
			 (json_int_t)(base.bytes + now.bytes));
}

static json_t *prefix_json(const struct pol_prefix *p)
{
	char buf[64];

	if (!p->set)
		return json_null();
	pol_format_prefix(p, buf);
	return json_string(buf);
}

static json_t *acl_rule_json(const struct vsw_acl_entry *e, const struct pol_port *compiled,
			     unsigned int i)
{
	const struct pol_acl_rule *r = &e->rule;
	struct pol_hits now = compiled && compiled->acl ? pol_acl_hits(compiled->acl, i)
							: (struct pol_hits){0, 0};

	return json_pack("{s:s,s:s,s:o,s:o,s:o,s:o,s:o}", "direction", pol_dir_name(r->dir),
			 "action", pol_action_name(r->action), "local_ip",
			 prefix_json(&r->local_ip), "remote_ip", prefix_json(&r->remote_ip),
			 "local_mac", r->has_local_mac ? mac_json(r->local_mac) : json_null(),
			 "remote_mac", r->has_remote_mac ? mac_json(r->remote_mac) : json_null(),
			 "hits", hits_json(e->head.base, now));
}

json_t *vsw_acl_json(struct vsw *vsw, const char *name, struct ctl_err *err)
{
	struct vsw_port *p = vsw_find_port(vsw, name, err);
	json_t *rules;

	if (!p)
		return NULL;
	rules = json_array();
	for (unsigned int i = 0; i < p->policy.n_acl; i++)
		json_array_append_new(rules, acl_rule_json(&p->policy.acl[i], p->policy.compiled, i));
	return json_pack("{s:s,s:o}", "port", p->name, "rules", rules);
}

static json_t *port_range_json(bool has, uint16_t lo, uint16_t hi)
{
	char buf[16];

	if (!has)
		return json_null();
	if (lo == hi)
		snprintf(buf, sizeof(buf), "%u", lo);
	else
		snprintf(buf, sizeof(buf), "%u-%u", lo, hi);
	return json_string(buf);
}

static json_t *xacl_rule_json(const struct vsw_xacl_entry *e, const struct pol_port *compiled,
			      unsigned int i)
{
	const struct pol_xacl_rule *r = &e->rule;
	struct pol_hits now = compiled && compiled->xacl ? pol_xacl_hits(compiled->xacl, i)
							 : (struct pol_hits){0, 0};
	char pbuf[8];

	return json_pack("{s:s,s:s,s:i,s:s,s:o,s:o,s:o,s:o,s:b,s:i,s:o}", "direction",
			 pol_dir_name(r->dir), "action", pol_action_name(r->action), "weight",
			 (int)r->weight, "protocol", pol_protocol_name(r->proto, pbuf), "local_ip",
			 prefix_json(&r->local_ip), "remote_ip", prefix_json(&r->remote_ip),
			 "local_port", port_range_json(r->has_local_port, r->local_lo, r->local_hi),
			 "remote_port",
			 port_range_json(r->has_remote_port, r->remote_lo, r->remote_hi),
			 "stateful", r->stateful, "idle_timeout", (int)r->idle_timeout, "hits",
			 hits_json(e->head.base, now));
}

/* Orders rules as they are evaluated: direction, then weight, largest first. */
static int by_weight(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int dx = strcmp(json_string_value(json_object_get(x, "direction")),
			json_string_value(json_object_get(y, "direction")));

	if (dx)
		return dx;
	return (int)(json_integer_value(json_object_get(y, "weight")) -
		     json_integer_value(json_object_get(x, "weight")));
}

json_t *vsw_xacl_json(struct vsw *vsw, const char *name, struct ctl_err *err)
{
	struct vsw_port *p = vsw_find_port(vsw, name, err);
	unsigned int n;
	json_t **v, *rules;

	if (!p)
		return NULL;
	n = p->policy.n_xacl;
	v = calloc(n + 1, sizeof(*v));
	if (!v) {
		ctl_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	for (unsigned int i = 0; i < n; i++)
		v[i] = xacl_rule_json(&p->policy.xacl[i], p->policy.compiled, i);
	qsort(v, n, sizeof(*v), by_weight);
	rules = json_array();
	for (unsigned int i = 0; i < n; i++)
		json_array_append_new(rules, v[i]);
	free(v);
	return json_pack("{s:s,s:o}", "port", p->name, "rules", rules);
}

struct ct_show_arg {
	struct vsw *vsw;
	int port;
	uint32_t now;
	unsigned int total;
	json_t *list;
};

static json_t *addr_json(uint8_t family, const uint8_t *a)
{
	struct pol_prefix p = {.set = true, .family = family,
			       .len = (uint8_t)(pol_addr_len(family) * 8)};
	char buf[64], *slash;

	memcpy(p.addr, a, pol_addr_len(family));
	pol_format_prefix(&p, buf);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	return json_string(buf);
}

static int ct_show_one(void *arg, const struct pol_ct_key *k, const struct pol_ct_entry *e)
{
	struct ct_show_arg *a = arg;
	char pbuf[8];

	if (a->port >= 0 && k->port != a->port)
		return 0;
	if (a->total++ >= FDB_SHOW_MAX)
		return 0;
	json_array_append_new(
		a->list,
		json_pack("{s:s,s:s,s:o,s:i,s:o,s:i,s:s,s:I,s:i}", "port",
			  k->port < VSW_MAX_PORTS ? a->vsw->ports[k->port].name : "?", "protocol",
			  pol_protocol_name(k->proto, pbuf), "local_ip",
			  addr_json(k->family, k->local), "local_port", k->local_port, "remote_ip",
			  addr_json(k->family, k->remote), "remote_port", k->remote_port, "state",
			  pol_ct_state_name(e->state), "age", (json_int_t)(a->now - e->last_seen),
			  "timeout", (int)e->timeout));
	return 0;
}

json_t *vsw_conntrack_json(struct vsw *vsw, const char *name, struct ctl_err *err)
{
	struct ct_show_arg a = {.vsw = vsw, .port = -1, .now = vsw_fdb_now()};
	struct vsw_port *p;

	if (name) {
		p = vsw_find_port(vsw, name, err);
		if (!p)
			return NULL;
		a.port = (int)(p - vsw->ports);
	}
	a.list = json_array();
	pol_ct_walk(vsw->ct, ct_show_one, &a);
	return json_pack("{s:o,s:i,s:b}", "connections", a.list, "total", a.total, "truncated",
			 a.total > FDB_SHOW_MAX);
}
