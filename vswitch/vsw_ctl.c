/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vswitchd's command handlers: each control-protocol command ("port.add")
 * checks its JSON arguments (unknown keys, types, ranges, names) and calls
 * the switch state in vsw.c. Errors name the field as the user typed it on
 * the vswitchctl command line (memif_id is reported as "memif-id").
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vsw_ctl.h"
#include "vsw_private.h"

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

static json_t *cmd_port_set(struct vsw *vsw, json_t *args, struct ctl_err *err)
{
	static const char *const keys[] = {"name", "admin", "static_mac", "mac_spoofing",
					   "dhcp_guard", "router_guard", "max_bandwidth",
					   "storm_limit", "mirror", NULL};
	static const char *const later[] = {"mac_spoofing", "dhcp_guard", "router_guard",
					    "max_bandwidth", "storm_limit", "mirror", NULL};
	const char *name, *admin, *smac;
	uint8_t mac[6];
	char f[64];

	if (check_keys(args, keys, err) || arg_str(args, "name", true, &name, err) ||
	    arg_choice(args, "admin", false, "up|down", &admin, err) ||
	    arg_str(args, "static_mac", false, &smac, err))
		return NULL;
	for (const char *const *k = later; *k; k++) {
		if (json_object_get(args, *k)) {
			ctl_err_set(err, ENOTSUP, "%s: not supported by this vswitchd yet",
				    field(*k, f));
			return NULL;
		}
	}
	if ((smac && ctl_parse_mac("static-mac", smac, mac, err)) ||
	    !vsw_find_port(vsw, name, err))
		return NULL;
	if ((smac && vsw_port_set_static_mac(vsw, name, mac, err)) ||
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
};

json_t *vsw_ctl_handle(void *ctx, const char *cmd, json_t *args, struct ctl_err *err)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(commands[i].name, cmd))
			return commands[i].fn(ctx, args, err);
	}
	ctl_err_set(err, EINVAL, "cmd: unknown command '%s'", cmd);
	return NULL;
}
