/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vswitchd's command handlers: each control-protocol command ("port.add")
 * checks its JSON arguments (unknown keys, types, ranges, names) and calls
 * the switch state in vsw.c. Errors name the field as the user typed it on
 * the vswitchctl command line (memif_id is reported as "memif-id").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vsw_ctl.h"
#include "vsw_private.h"
#include "vsw_vm.h"

/* Reports a field the way users type it: "memif_id" -> "memif-id". */
static const char *field(const char *key, char buf[64])
{
	snprintf(buf, 64, "%s", key);
	for (char *p = buf; *p; p++)
		*p = *p == '_' ? '-' : *p;
	return buf;
}

static int check_keys(json_t *args, const char *const *allowed, struct ctl_err *err)
{
	const char *key;
	json_t *v;
	char f[64];

	json_object_foreach(args, key, v) {
		const char *const *a = allowed;

		while (*a && strcmp(*a, key))
			a++;
		if (!*a)
			return ctl_err_set(err, EINVAL, "%s: not an option of this command",
					   field(key, f));
	}
	return 0;
}

static int arg_str(json_t *args, const char *key, bool required, const char **out,
		   struct ctl_err *err)
{
	json_t *v = json_object_get(args, key);
	char f[64];

	*out = NULL;
	if (!v && required)
		return ctl_err_set(err, EINVAL, "%s: required", field(key, f));
	if (v && !json_is_string(v))
		return ctl_err_set(err, EINVAL, "%s: want a string", field(key, f));
	*out = v ? json_string_value(v) : NULL;
	return 0;
}

static int arg_uint(json_t *args, const char *key, bool required, json_int_t max, json_int_t dflt,
		    json_int_t *out, struct ctl_err *err)
{
	json_t *v = json_object_get(args, key);
	char f[64];

	*out = dflt;
	if (!v && required)
		return ctl_err_set(err, EINVAL, "%s: required", field(key, f));
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max)
		return ctl_err_set(err, EINVAL, "%s: want an integer 0-%lld", field(key, f),
				   (long long)max);
	*out = json_integer_value(v);
	return 0;
}

static int arg_bool(json_t *args, const char *key, bool *out, struct ctl_err *err)
{
	json_t *v = json_object_get(args, key);
	char f[64];

	*out = false;
	if (v && !json_is_boolean(v))
		return ctl_err_set(err, EINVAL, "%s: want true or false", field(key, f));
	*out = v && json_is_true(v);
	return 0;
}

/* Accepts one of the '|'-separated words in choices. */
static int arg_choice(json_t *args, const char *key, bool required, const char *choices,
		      const char **out, struct ctl_err *err)
{
	size_t len;
	char f[64];

	if (arg_str(args, key, required, out, err))
		return -EINVAL;
	if (!*out)
		return 0;
	len = strlen(*out);
	for (const char *c = choices; *c;) {
		const char *end = strchr(c, '|');
		size_t n = end ? (size_t)(end - c) : strlen(c);

		if (n == len && !strncmp(c, *out, n))
			return 0;
		c += n + (end ? 1 : 0);
	}
	return ctl_err_set(err, EINVAL, "%s: '%s' is not one of %s", field(key, f), *out, choices);
}

static json_t *ok(void)
{
	return json_object();
}

static json_t *cmd_status(struct vsw *vsw, json_t *args, struct ctl_err *err)
{
	static const char *const keys[] = {NULL};

	return check_keys(args, keys, err) ? NULL : vsw_status_json(vsw);
}

static json_t *cmd_switch_add(struct vsw *vsw, json_t *args, struct ctl_err *err)
{
	static const char *const keys[] = {"name", "type", "uplink", "allow_management_os", NULL};
	const char *name, *type, *uplink;
	enum vsw_switch_type t;
	bool mgmt;

	if (check_keys(args, keys, err) || arg_str(args, "name", true, &name, err) ||
	    arg_str(args, "type", true, &type, err) || arg_str(args, "uplink", false, &uplink, err) ||
	    arg_bool(args, "allow_management_os", &mgmt, err) ||
	    vsw_switch_type_parse(type, &t, err) ||
	    vsw_switch_add(vsw, name, t, uplink, mgmt, err))
		return NULL;
	return vsw_switch_json(vsw, name, err);
}

static json_t *cmd_switch_del(struct vsw *vsw, json_t *args, struct ctl_err *err)
{
	static const char *const keys[] = {"name", NULL};
	const char *name;

	if (check_keys(args, keys, err) || arg_str(args, "name", true, &name, err) ||
	    vsw_switch_del(vsw, name, err))
		return NULL;
	return ok();
}

static json_t *cmd_switch_list(struct vsw *vsw, json_t *args, struct ctl_err *err)
{
	static const char *const keys[] = {NULL};

	return check_keys(args, keys, err) ? NULL : vsw_switch_list_json(vsw);
}

static json_t *cmd_switch_show(struct vsw *vsw, json_t *args, struct ctl_err *err)
{
	static const char *const keys[] = {"name", NULL};
	const char *name;

	if (check_keys(args, keys, err) || arg_str(args, "name", true, &name, err))
		return NULL;
	return vsw_switch_json(vsw, name, err);
}

/* The options each port kind takes, beyond switch, name, kind and down. */
static const char *const *kind_keys(const char *kind)
{
	static const char *const memif[] = {"memif_socket", "memif_id", "role", NULL};
	static const char *const pcap[] = {"rx", "tx", NULL};
	static const char *const tap[] = {"ifname", NULL};
	static const char *const ethdev[] = {"devargs", NULL};
	static const char *const vhost[] = {"path", "server", NULL};
	static const struct {
		const char *kind;
		const char *const *keys;
	} map[] = {{"memif", memif}, {"pcap", pcap}, {"tap", tap}, {"ethdev", ethdev},
		   {"vhostuser", vhost}};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (!strcmp(map[i].kind, kind))
			return map[i].keys;
	}
	return NULL;
}

static int check_port_keys(json_t *args, const char *kind, struct ctl_err *err)
{
	static const char *const common[] = {"switch", "name", "kind", "down"};
	const char *const *own = kind_keys(kind);
	const char *key;
	json_t *v;
	char f[64];

	if (!own)
		return ctl_err_set(err, EINVAL, "kind: unknown port kind '%s' (want %s)", kind,
				   vsw_port_kinds());
	json_object_foreach(args, key, v) {
		bool known = false;

		for (size_t i = 0; i < 4; i++)
			known |= !strcmp(common[i], key);
		for (const char *const *k = own; *k; k++)
			known |= !strcmp(*k, key);
		if (!known)
			return ctl_err_set(err, EINVAL, "%s: not an option of port kind %s",
					   field(key, f), kind);
	}
	return 0;
}

static json_t *cmd_port_add(struct vsw *vsw, json_t *args, struct ctl_err *err)
{
	struct vsw_port_params p = {0};
	const char *sw, *role;
	json_int_t id;
	bool down;

	if (arg_str(args, "switch", true, &sw, err) || arg_str(args, "name", true, &p.name, err) ||
	    arg_str(args, "kind", true, &p.kind, err) || check_port_keys(args, p.kind, err) ||
	    arg_bool(args, "down", &down, err) ||
	    arg_str(args, "memif_socket", !strcmp(p.kind, "memif"), &p.memif_socket, err) ||
	    arg_uint(args, "memif_id", false, UINT32_MAX, 0, &id, err) ||
	    arg_choice(args, "role", false, "server|client", &role, err) ||
	    arg_str(args, "rx", false, &p.rx_file, err) || arg_str(args, "tx", false, &p.tx_file, err) ||
	    arg_str(args, "ifname", !strcmp(p.kind, "tap"), &p.ifname, err) ||
	    arg_str(args, "devargs", !strcmp(p.kind, "ethdev"), &p.devargs, err) ||
	    arg_str(args, "path", !strcmp(p.kind, "vhostuser"), &p.path, err) ||
	    arg_bool(args, "server", &p.server, err))
		return NULL;
	p.memif_id = (unsigned int)id;
	p.memif_server = role && !strcmp(role, "server");
	if (vsw_port_add(vsw, sw, &p, down, err))
		return NULL;
	return vsw_port_json(vsw, p.name, err);
}

static json_t *cmd_port_del(struct vsw *vsw, json_t *args, struct ctl_err *err)
{
	static const char *const keys[] = {"name", NULL};
	const char *name;

	if (check_keys(args, keys, err) || arg_str(args, "name", true, &name, err) ||
	    vsw_port_del(vsw, name, err))
		return NULL;
	return ok();
}

static json_t *cmd_port_list(struct vsw *vsw, json_t *args, struct ctl_err *err)
{
	static const char *const keys[] = {"switch", NULL};
	const char *sw;

	if (check_keys(args, keys, err) || arg_str(args, "switch", false, &sw, err))
		return NULL;
	return vsw_port_list_json(vsw, sw, err);
}

static json_t *cmd_port_show(struct vsw *vsw, json_t *args, struct ctl_err *err)
{
	static const char *const keys[] = {"name", NULL};
	const char *name;

	if (check_keys(args, keys, err) || arg_str(args, "name", true, &name, err))
		return NULL;
	return vsw_port_json(vsw, name, err);
}

/* Reads an optional boolean into *out (-1 when absent). */
static int arg_tristate(json_t *args, const char *key, int *out, struct ctl_err *err)
{
	bool b;

	*out = -1;
	if (!json_object_get(args, key))
		return 0;
	if (arg_bool(args, key, &b, err))
		return -EINVAL;
	*out = b;
	return 0;
}

static json_t *cmd_port_set(struct vsw *vsw, json_t *args, struct ctl_err *err)
{
	static const char *const keys[] = {"name", "admin", "static_mac", "mac_spoofing",
					   "dhcp_guard", "router_guard", "max_bandwidth",
					   "storm_limit", "mirror", NULL};
	struct vsw_port_guards g;
	const char *name, *admin, *smac, *mirror;
	json_int_t bw, storm;
	uint8_t mac[6];

	if (check_keys(args, keys, err) || arg_str(args, "name", true, &name, err) ||
	    arg_choice(args, "admin", false, "up|down", &admin, err) ||
	    arg_choice(args, "mirror", false, "none|source|destination", &mirror, err) ||
	    arg_str(args, "static_mac", false, &smac, err) ||
	    arg_tristate(args, "mac_spoofing", &g.mac_spoofing, err) ||
	    arg_tristate(args, "dhcp_guard", &g.dhcp_guard, err) ||
	    arg_tristate(args, "router_guard", &g.router_guard, err) ||
	    arg_uint(args, "max_bandwidth", false, INT64_C(400000000000), -1, &bw, err) ||
	    arg_uint(args, "storm_limit", false, INT64_C(1000000000), -1, &storm, err))
		return NULL;
	g.max_bandwidth = bw;
	g.storm_limit = storm;
	if ((smac && ctl_parse_mac("static-mac", smac, mac, err)) ||
	    !vsw_find_port(vsw, name, err))
		return NULL;
	if ((smac && vsw_port_set_static_mac(vsw, name, mac, err)) ||
	    ((g.mac_spoofing >= 0 || g.dhcp_guard >= 0 || g.router_guard >= 0 ||
	      g.max_bandwidth >= 0 || g.storm_limit >= 0) &&
	     vsw_port_set_guards(vsw, name, &g, err)) ||
	    (mirror && vsw_port_set_mirror(vsw, name,
					   !strcmp(mirror, "source")	    ? VSW_MIRROR_SOURCE
					   : !strcmp(mirror, "destination") ? VSW_MIRROR_DESTINATION
									    : VSW_MIRROR_NONE,
					   err)) ||
	    (admin && vsw_port_set_admin(vsw, name, !strcmp(admin, "up"), err)))
		return NULL;
	return vsw_port_json(vsw, name, err);
}

static json_t *cmd_port_vlan(struct vsw *vsw, json_t *args, struct ctl_err *err)
{
	static const char *const keys[] = {"name", "mode", "vid", "allowed", "native", NULL};
	const char *name, *mode, *allowed;
	struct vsw_vlan_cfg cfg;
	struct ctl_vid_set set;
	json_int_t vid, native;

	if (check_keys(args, keys, err) || arg_str(args, "name", true, &name, err) ||
	    arg_choice(args, "mode", true, "untagged|access|trunk", &mode, err) ||
	    arg_uint(args, "vid", !strcmp(mode, "access"), 99999, 0, &vid, err) ||
	    arg_str(args, "allowed", !strcmp(mode, "trunk"), &allowed, err) ||
	    arg_uint(args, "native", false, 99999, 0, &native, err) ||
	    !vsw_find_port(vsw, name, err))
		return NULL;
	if (strcmp(mode, "access") && json_object_get(args, "vid")) {
		ctl_err_set(err, EINVAL, "vid: only access mode takes a VLAN id");
		return NULL;
	}
	if (strcmp(mode, "trunk") && (allowed || json_object_get(args, "native"))) {
		ctl_err_set(err, EINVAL, "%s: only trunk mode takes it", allowed ? "allowed" : "native");
		return NULL;
	}
	if (!strcmp(mode, "untagged"))
		vsw_vlan_set_untagged(&cfg);
	else if (!strcmp(mode, "access") ? vsw_vlan_set_access(&cfg, (unsigned int)vid, err)
		 : ctl_parse_vid_list("allowed", allowed, &set, err) ||
			   (json_object_get(args, "native") && ctl_check_vid("native", native, err)) ||
			   vsw_vlan_set_trunk(&cfg, &set, (unsigned int)native, err))
		return NULL;
	if (vsw_port_set_vlan(vsw, name, &cfg, err))
		return NULL;
	return vsw_port_json(vsw, name, err);
}

static json_t *cmd_port_stats(struct vsw *vsw, json_t *args, struct ctl_err *err)
{
	static const char *const keys[] = {"name", "clear", NULL};
	const char *name;
	bool clear;

	if (check_keys(args, keys, err) || arg_str(args, "name", true, &name, err) ||
	    arg_bool(args, "clear", &clear, err))
		return NULL;
	return vsw_port_stats_json(vsw, name, clear, err);
}

/* Reads the optional "vlan" of MAC-table commands: 0 (untagged) or 1-4094. */
static int arg_fdb_vlan(json_t *args, json_int_t *vlan, struct ctl_err *err)
{
	if (arg_uint(args, "vlan", false, 99999, 0, vlan, err))
		return -EINVAL;
	if (json_object_get(args, "vlan") && ctl_check_vid("vlan", *vlan, err))
		return -EINVAL;
	return 0;
}

static json_t *cmd_fdb_show(struct vsw *vsw, json_t *args, struct ctl_err *err)
{
	static const char *const keys[] = {"switch", "vlan", NULL};
	const char *sw;
	json_int_t vlan;

	if (check_keys(args, keys, err) || arg_str(args, "switch", true, &sw, err) ||
	    arg_fdb_vlan(args, &vlan, err))
		return NULL;
	return vsw_fdb_json(vsw, sw, json_object_get(args, "vlan") ? (int)vlan : -1, err);
}

static json_t *cmd_fdb_add(struct vsw *vsw, json_t *args, struct ctl_err *err)
{
	static const char *const keys[] = {"switch", "mac", "port", "vlan", NULL};
	const char *sw, *smac, *port;
	json_int_t vlan;
	uint8_t mac[6];

	if (check_keys(args, keys, err) || arg_str(args, "switch", true, &sw, err) ||
	    arg_str(args, "mac", true, &smac, err) || arg_str(args, "port", true, &port, err) ||
	    arg_fdb_vlan(args, &vlan, err) || ctl_parse_mac("mac", smac, mac, err) ||
	    vsw_fdb_add_entry(vsw, sw, mac, port, (unsigned int)vlan, err))
		return NULL;
	return ok();
}

static json_t *cmd_fdb_del(struct vsw *vsw, json_t *args, struct ctl_err *err)
{
	static const char *const keys[] = {"switch", "mac", "vlan", NULL};
	const char *sw, *smac;
	json_int_t vlan;
	uint8_t mac[6];

	if (check_keys(args, keys, err) || arg_str(args, "switch", true, &sw, err) ||
	    arg_str(args, "mac", true, &smac, err) || arg_fdb_vlan(args, &vlan, err) ||
	    ctl_parse_mac("mac", smac, mac, err) ||
	    vsw_fdb_del_entry(vsw, sw, mac, (unsigned int)vlan, err))
		return NULL;
	return ok();
}

static json_t *cmd_fdb_flush(struct vsw *vsw, json_t *args, struct ctl_err *err)
{
	static const char *const keys[] = {"switch", NULL};
	const char *sw;
	int n;

	if (check_keys(args, keys, err) || arg_str(args, "switch", true, &sw, err))
		return NULL;
	n = vsw_fdb_flush_switch(vsw, sw, err);
	return n < 0 ? NULL : json_pack("{s:i}", "flushed", n);
}

/* Reads an optional MAC field of an ACL entry. */
static int arg_mac(json_t *args, const char *key, const char *field, bool *has, uint8_t mac[6],
		   struct ctl_err *err)
{
	const char *s;

	*has = false;
	if (arg_str(args, key, false, &s, err))
		return -EINVAL;
	if (!s || !strcmp(s, "any"))
		return 0;
	*has = true;
	return ctl_parse_mac(field, s, mac, err);
}

static int arg_prefix(json_t *args, const char *key, const char *field, struct pol_prefix *p,
		      struct ctl_err *err)
{
	const char *s;

	memset(p, 0, sizeof(*p));
	if (arg_str(args, key, false, &s, err))
		return -EINVAL;
	return s ? pol_parse_prefix(field, s, p, err) : 0;
}

static const char *const acl_keys[] = {"port", "direction", "action", "local_ip", "remote_ip",
				       "local_mac", "remote_mac", NULL};

/* Parses the fields of a port ACL entry. */
static int parse_acl(json_t *args, const char **port, struct pol_acl_rule *r, struct ctl_err *err)
{
	const char *dir, *action;

	memset(r, 0, sizeof(*r));
	if (check_keys(args, acl_keys, err) || arg_str(args, "port", true, port, err) ||
	    arg_str(args, "direction", true, &dir, err) ||
	    arg_str(args, "action", true, &action, err) ||
	    pol_parse_dir(dir, true, &r->dir, err) || pol_parse_action(action, true, &r->action, err) ||
	    arg_prefix(args, "local_ip", "local-ip", &r->local_ip, err) ||
	    arg_prefix(args, "remote_ip", "remote-ip", &r->remote_ip, err) ||
	    arg_mac(args, "local_mac", "local-mac", &r->has_local_mac, r->local_mac, err) ||
	    arg_mac(args, "remote_mac", "remote-mac", &r->has_remote_mac, r->remote_mac, err))
		return -EINVAL;
	return pol_acl_rule_check(r, err);
}

static json_t *cmd_acl_add(struct vsw *vsw, json_t *args, struct ctl_err *err)
{
	struct pol_acl_rule r;
	const char *port;

	if (parse_acl(args, &port, &r, err) || vsw_acl_add(vsw, port, &r, err))
		return NULL;
	return vsw_acl_json(vsw, port, err);
}

static json_t *cmd_acl_del(struct vsw *vsw, json_t *args, struct ctl_err *err)
{
	struct pol_acl_rule r;
	const char *port;

	if (parse_acl(args, &port, &r, err) || vsw_acl_del(vsw, port, &r, err))
		return NULL;
	return ok();
}

static json_t *cmd_acl_list(struct vsw *vsw, json_t *args, struct ctl_err *err)
{
	static const char *const keys[] = {"port", NULL};
	const char *port;

	if (check_keys(args, keys, err) || arg_str(args, "port", true, &port, err))
		return NULL;
	return vsw_acl_json(vsw, port, err);
}

static int arg_port_range(json_t *args, const char *key, const char *field, bool *has,
			  uint16_t *lo, uint16_t *hi, struct ctl_err *err)
{
	const char *s;

	*has = false;
	if (arg_str(args, key, false, &s, err))
		return -EINVAL;
	if (!s)
		return 0;
	*has = true;
	return pol_parse_port_range(field, s, lo, hi, err);
}

/* Parses one extended ACL rule (without the port). */
static int parse_xacl(json_t *args, struct pol_xacl_rule *r, struct ctl_err *err)
{
	static const char *const keys[] = {"port", "direction", "action", "weight", "protocol",
					   "local_ip", "remote_ip", "local_port", "remote_port",
					   "stateful", "idle_timeout", NULL};
	const char *dir, *action, *proto;
	json_int_t weight, idle;

	memset(r, 0, sizeof(*r));
	r->proto = POL_PROTO_ANY;
	if (check_keys(args, keys, err) || arg_str(args, "direction", true, &dir, err) ||
	    arg_str(args, "action", true, &action, err) ||
	    arg_uint(args, "weight", true, UINT32_MAX, 0, &weight, err) ||
	    arg_str(args, "protocol", false, &proto, err) ||
	    pol_parse_dir(dir, false, &r->dir, err) ||
	    pol_parse_action(action, false, &r->action, err) ||
	    (proto && pol_parse_protocol(proto, &r->proto, err)) ||
	    arg_prefix(args, "local_ip", "local-ip", &r->local_ip, err) ||
	    arg_prefix(args, "remote_ip", "remote-ip", &r->remote_ip, err) ||
	    arg_port_range(args, "local_port", "local-port", &r->has_local_port, &r->local_lo,
			   &r->local_hi, err) ||
	    arg_port_range(args, "remote_port", "remote-port", &r->has_remote_port, &r->remote_lo,
			   &r->remote_hi, err) ||
	    arg_bool(args, "stateful", &r->stateful, err) ||
	    arg_uint(args, "idle_timeout", false, 86400 * 7, 0, &idle, err))
		return -EINVAL;
	if (json_object_get(args, "idle_timeout") && idle == 0)
		return ctl_err_set(err, EINVAL, "idle-timeout: want 1-604800 seconds");
	r->weight = (uint32_t)weight;
	r->idle_timeout = (uint32_t)idle;
	return pol_xacl_rule_check(r, err);
}

/* xacl.add takes one rule, or {"port", "rules": [rule, ...]} to add many at once. */
static json_t *cmd_xacl_add(struct vsw *vsw, json_t *args, struct ctl_err *err)
{
	json_t *list = json_object_get(args, "rules"), *one;
	struct pol_xacl_rule *rules;
	const char *port;
	size_t n, i;
	json_t *res = NULL;

	if (arg_str(args, "port", true, &port, err))
		return NULL;
	if (list && (!json_is_array(list) || json_object_size(args) != 2)) {
		ctl_err_set(err, EINVAL, "rules: want an array of rules and no other field but port");
		return NULL;
	}
	n = list ? json_array_size(list) : 1;
	rules = calloc(n ? n : 1, sizeof(*rules));
	if (!rules) {
		ctl_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	for (i = 0; i < n; i++) {
		one = list ? json_array_get(list, i) : args;
		if (!json_is_object(one)) {
			ctl_err_set(err, EINVAL, "rules: entry %zu is not an object", i + 1);
			break;
		}
		if (parse_xacl(one, &rules[i], err)) {
			if (list) {
				struct ctl_err e = *err;

				ctl_err_set(err, EINVAL, "rule %zu: %s", i + 1, e.msg);
			}
			break;
		}
	}
	if (i == n && vsw_xacl_add(vsw, port, rules, (unsigned int)n, err) == 0)
		res = json_pack("{s:s,s:i}", "port", port, "added", (int)n);
	free(rules);
	return res;
}

static json_t *cmd_xacl_del(struct vsw *vsw, json_t *args, struct ctl_err *err)
{
	static const char *const keys[] = {"port", "direction", "weight", NULL};
	const char *port, *dir;
	enum pol_dir d;
	json_int_t weight;

	if (check_keys(args, keys, err) || arg_str(args, "port", true, &port, err) ||
	    arg_str(args, "direction", true, &dir, err) ||
	    arg_uint(args, "weight", true, UINT32_MAX, 0, &weight, err) ||
	    pol_parse_dir(dir, false, &d, err) || vsw_xacl_del(vsw, port, d, (uint32_t)weight, err))
		return NULL;
	return ok();
}

static json_t *cmd_xacl_list(struct vsw *vsw, json_t *args, struct ctl_err *err)
{
	static const char *const keys[] = {"port", NULL};
	const char *port;

	if (check_keys(args, keys, err) || arg_str(args, "port", true, &port, err))
		return NULL;
	return vsw_xacl_json(vsw, port, err);
}

static json_t *cmd_conntrack_show(struct vsw *vsw, json_t *args, struct ctl_err *err)
{
	static const char *const keys[] = {"port", NULL};
	const char *port;

	if (check_keys(args, keys, err) || arg_str(args, "port", false, &port, err))
		return NULL;
	return vsw_conntrack_json(vsw, port, err);
}

static json_t *cmd_conntrack_flush(struct vsw *vsw, json_t *args, struct ctl_err *err)
{
	static const char *const keys[] = {"port", NULL};
	const char *port;
	int n;

	if (check_keys(args, keys, err) || arg_str(args, "port", false, &port, err))
		return NULL;
	n = vsw_conntrack_flush(vsw, port, err);
	return n < 0 ? NULL : json_pack("{s:i}", "flushed", n);
}

static json_t *cmd_ext_add(struct vsw *vsw, json_t *args, struct ctl_err *err)
{
	static const char *const keys[] = {"switch", "name", "object", "section", "hook",
					   "port", "args", NULL};
	const char *sw, *name, *object, *section, *hook, *port, *a;
	enum vsw_ext_hook h;

	if (check_keys(args, keys, err) || arg_str(args, "switch", true, &sw, err) ||
	    arg_str(args, "name", true, &name, err) || arg_str(args, "object", true, &object, err) ||
	    arg_str(args, "section", false, &section, err) ||
	    arg_str(args, "hook", true, &hook, err) || arg_str(args, "port", false, &port, err) ||
	    arg_str(args, "args", false, &a, err) || vsw_ext_hook_parse(hook, &h, err) ||
	    vsw_ext_add(vsw, sw, name, object, section, h, port, a, err))
		return NULL;
	return vsw_ext_json(vsw, sw, err);
}

static json_t *cmd_ext_del(struct vsw *vsw, json_t *args, struct ctl_err *err)
{
	static const char *const keys[] = {"switch", "name", NULL};
	const char *sw, *name;

	if (check_keys(args, keys, err) || arg_str(args, "switch", true, &sw, err) ||
	    arg_str(args, "name", true, &name, err) || vsw_ext_del(vsw, sw, name, err))
		return NULL;
	return ok();
}

static json_t *cmd_ext_list(struct vsw *vsw, json_t *args, struct ctl_err *err)
{
	static const char *const keys[] = {"switch", NULL};
	const char *sw;

	if (check_keys(args, keys, err) || arg_str(args, "switch", false, &sw, err))
		return NULL;
	return vsw_ext_json(vsw, sw, err);
}

/* Reads an optional whole number in [min, max] (unit for the message, e.g. " MiB"). */
static int arg_range(json_t *args, const char *key, json_int_t min, json_int_t max,
		     const char *unit, json_int_t *out, struct ctl_err *err)
{
	json_t *v = json_object_get(args, key);
	char f[64];

	*out = 0;
	if (!v)
		return 0;
	if (!json_is_integer(v))
		return ctl_err_set(err, EINVAL, "%s: want a whole number %lld-%lld%s",
				   field(key, f), (long long)min, (long long)max, unit);
	*out = json_integer_value(v);
	if (*out < min || *out > max)
		return ctl_err_set(err, EINVAL, "%s: want %lld-%lld%s, got %lld", field(key, f),
				   (long long)min, (long long)max, unit, (long long)*out);
	return 0;
}

/* vm.create's "nic": an array of "SWITCH[,mac=MAC][,vlan=VID]" strings. */
static int arg_nics(json_t *args, struct vsw_vm_params *p, struct ctl_err *err)
{
	json_t *list = json_object_get(args, "nic"), *v;
	size_t i;

	if (!list)
		return 0;
	if (!json_is_array(list))
		return ctl_err_set(err, EINVAL,
				   "nic: want an array of SWITCH[,mac=MAC][,vlan=VID]");
	if (json_array_size(list) > VSW_VM_MAX_NICS)
		return ctl_err_set(err, EINVAL, "nic: at most %d NICs, got %zu", VSW_VM_MAX_NICS,
				   json_array_size(list));
	json_array_foreach(list, i, v) {
		if (!json_is_string(v))
			return ctl_err_set(err, EINVAL,
					   "nic: want SWITCH[,mac=MAC][,vlan=VID] strings");
		if (ctl_parse_nic_spec(json_string_value(v), &p->nics[i], err))
			return -EINVAL;
	}
	p->n_nics = (unsigned int)json_array_size(list);
	return 0;
}

static json_t *cmd_vm_create(struct vsw *vsw, json_t *args, struct ctl_err *err)
{
	static const char *const keys[] = {"name", "kernel", "initrd", "cmdline", "memory",
					   "cpus", "nic", "disk", NULL};
	struct vsw_vm_params p = {0};
	json_int_t mem, cpus;

	if (check_keys(args, keys, err) || arg_str(args, "name", true, &p.name, err) ||
	    arg_str(args, "kernel", true, &p.kernel, err) ||
	    arg_str(args, "initrd", false, &p.initrd, err) ||
	    arg_str(args, "cmdline", false, &p.cmdline, err) ||
	    arg_str(args, "disk", false, &p.disk, err) ||
	    arg_range(args, "memory", VSW_VM_MEMORY_MIN, VSW_VM_MEMORY_MAX, " MiB", &mem, err) ||
	    arg_range(args, "cpus", 1, VSW_VM_CPUS_MAX, "", &cpus, err) || arg_nics(args, &p, err))
		return NULL;
	p.memory_mib = (uint32_t)mem;
	p.cpus = (uint32_t)cpus;
	if (vsw_vm_create(vsw, &p, err))
		return NULL;
	return vsw_vm_json(vsw, p.name, err);
}

static json_t *cmd_vm_start(struct vsw *vsw, json_t *args, struct ctl_err *err)
{
	static const char *const keys[] = {"name", NULL};
	const char *name;

	if (check_keys(args, keys, err) || arg_str(args, "name", true, &name, err) ||
	    vsw_vm_start(vsw, name, err))
		return NULL;
	return vsw_vm_json(vsw, name, err);
}

static json_t *cmd_vm_del(struct vsw *vsw, json_t *args, struct ctl_err *err)
{
	static const char *const keys[] = {"name", NULL};
	const char *name;

	if (check_keys(args, keys, err) || arg_str(args, "name", true, &name, err) ||
	    vsw_vm_del(vsw, name, err))
		return NULL;
	return ok();
}

static json_t *cmd_vm_show(struct vsw *vsw, json_t *args, struct ctl_err *err)
{
	static const char *const keys[] = {"name", NULL};
	const char *name;

	if (check_keys(args, keys, err) || arg_str(args, "name", true, &name, err))
		return NULL;
	return vsw_vm_json(vsw, name, err);
}

static json_t *cmd_vm_list(struct vsw *vsw, json_t *args, struct ctl_err *err)
{
	static const char *const keys[] = {NULL};

	return check_keys(args, keys, err) ? NULL : vsw_vm_list_json(vsw);
}

/* vm shutdown, stop and console answer later, on the connection they take over. */
static json_t *cmd_vm_shutdown(struct vsw *vsw, json_t *args, struct ctl_conn *conn,
			       struct ctl_err *err)
{
	static const char *const keys[] = {"name", "wait", "timeout", NULL};
	const char *name;
	json_int_t timeout;
	bool wait;

	if (check_keys(args, keys, err) || arg_str(args, "name", true, &name, err) ||
	    arg_bool(args, "wait", &wait, err) ||
	    arg_range(args, "timeout", 1, 3600, " seconds", &timeout, err))
		return NULL;
	if (!timeout)
		timeout = wait ? 60 : 10;
	if (vsw_vm_shutdown(vsw, name, wait, (unsigned int)timeout, conn, err))
		return NULL;
	return json_object(); /* not sent */
}

static json_t *cmd_vm_stop(struct vsw *vsw, json_t *args, struct ctl_conn *conn,
			   struct ctl_err *err)
{
	static const char *const keys[] = {"name", NULL};
	const char *name;

	if (check_keys(args, keys, err) || arg_str(args, "name", true, &name, err) ||
	    vsw_vm_stop(vsw, name, conn, err))
		return NULL;
	return json_object(); /* not sent */
}

static json_t *cmd_vm_console(struct vsw *vsw, json_t *args, struct ctl_conn *conn,
			      struct ctl_err *err)
{
	static const char *const keys[] = {"name", "follow", NULL};
	json_t *follow = json_object_get(args, "follow");
	const char *name;

	if (check_keys(args, keys, err) || arg_str(args, "name", true, &name, err))
		return NULL;
	if (follow && !json_is_boolean(follow)) {
		ctl_err_set(err, EINVAL, "follow: want true or false");
		return NULL;
	}
	if (vsw_vm_console(vsw, name, !follow || json_is_true(follow), conn, err))
		return NULL;
	return json_object(); /* not sent */
}

static const struct {
	const char *name;
	json_t *(*fn)(struct vsw *vsw, json_t *args, struct ctl_err *err);
} commands[] = {
	{"status", cmd_status},		  {"switch.add", cmd_switch_add},
	{"switch.del", cmd_switch_del},	  {"switch.list", cmd_switch_list},
	{"switch.show", cmd_switch_show}, {"port.add", cmd_port_add},
	{"port.del", cmd_port_del},	  {"port.list", cmd_port_list},
	{"port.show", cmd_port_show},	  {"port.set", cmd_port_set},
	{"port.vlan", cmd_port_vlan},	  {"port.stats", cmd_port_stats},
	{"fdb.show", cmd_fdb_show},	  {"fdb.add", cmd_fdb_add},
	{"fdb.del", cmd_fdb_del},	  {"fdb.flush", cmd_fdb_flush},
	{"acl.add", cmd_acl_add},	  {"acl.del", cmd_acl_del},
	{"acl.list", cmd_acl_list},	  {"xacl.add", cmd_xacl_add},
	{"xacl.del", cmd_xacl_del},	  {"xacl.list", cmd_xacl_list},
	{"conntrack.show", cmd_conntrack_show}, {"conntrack.flush", cmd_conntrack_flush},
	{"ext.add", cmd_ext_add},	  {"ext.del", cmd_ext_del},
	{"ext.list", cmd_ext_list},
	{"vm.create", cmd_vm_create},	  {"vm.start", cmd_vm_start},
	{"vm.del", cmd_vm_del},		  {"vm.list", cmd_vm_list},
	{"vm.show", cmd_vm_show},
};

/*
 * capture streams on the connection instead of answering (see capture.h);
 * "fd": true, the client passes the destination after the first line.
 */
static json_t *cmd_capture(struct vsw *vsw, json_t *args, struct ctl_conn *conn,
			   struct ctl_err *err)
{
	static const char *const keys[] = {"target",  "direction", "filter", "count",
					   "duration", "snaplen",  "fd",     NULL};
	struct vsw_capture_params prm = {.snaplen = 262144, .dirs = VSW_CAPTURE_IN | VSW_CAPTURE_OUT};
	const char *target, *dir;
	json_int_t count, snaplen;
	json_t *dur;

	if (check_keys(args, keys, err) || arg_str(args, "target", true, &target, err) ||
	    arg_choice(args, "direction", false, "in|out|both", &dir, err) ||
	    arg_str(args, "filter", false, &prm.filter, err) ||
	    arg_uint(args, "count", false, INT64_C(1) << 40, 0, &count, err) ||
	    arg_uint(args, "snaplen", false, 262144, 262144, &snaplen, err) ||
	    arg_bool(args, "fd", &prm.pass_fd, err))
		return NULL;
	dur = json_object_get(args, "duration");
	if (dur && (!json_is_number(dur) || json_number_value(dur) <= 0)) {
		ctl_err_set(err, EINVAL, "duration: want a number of seconds > 0");
		return NULL;
	}
	if (snaplen < 14) {
		ctl_err_set(err, EINVAL, "snaplen: want 14-262144 bytes");
		return NULL;
	}
	if (dir && strcmp(dir, "both"))
		prm.dirs = !strcmp(dir, "in") ? VSW_CAPTURE_IN : VSW_CAPTURE_OUT;
	prm.count = (uint64_t)count;
	prm.snaplen = (uint32_t)snaplen;
	prm.duration = dur ? json_number_value(dur) : 0;
	if (vsw_capture_open(vsw, target, &prm, conn, err))
		return NULL;
	return json_object(); /* not sent: the connection streams now */
}

/* Commands that may take the connection over (ctl_conn_detach) and answer later. */
static const struct {
	const char *name;
	json_t *(*fn)(struct vsw *vsw, json_t *args, struct ctl_conn *conn, struct ctl_err *err);
} conn_commands[] = {
	{"capture", cmd_capture},
	{"vm.shutdown", cmd_vm_shutdown},
	{"vm.stop", cmd_vm_stop},
	{"vm.console", cmd_vm_console},
};

json_t *vsw_ctl_handle(void *ctx, const char *cmd, json_t *args, struct ctl_conn *conn,
		       struct ctl_err *err)
{
	for (size_t i = 0; i < sizeof(conn_commands) / sizeof(conn_commands[0]); i++) {
		if (!strcmp(conn_commands[i].name, cmd))
			return conn_commands[i].fn(ctx, args, conn, err);
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(commands[i].name, cmd))
			return commands[i].fn(ctx, args, err);
	}
	ctl_err_set(err, EINVAL, "cmd: unknown command '%s'", cmd);
	return NULL;
}
