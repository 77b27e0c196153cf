/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Changes to the switch state: see vsw.h. Each function validates
 * everything first, then applies, then republishes the datapath snapshot
 * (vsw_rebuild()). Ports leave the datapath before they are closed: publish
 * waits for every loop to pass a quiescent state.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "log.h"
#include "vsw_private.h"
#include "vsw_vm.h"

struct vsw_switch *vsw_find_switch(struct vsw *vsw, const char *name, struct ctl_err *err)
{
	for (unsigned int i = 0; name && i < VSW_MAX_SWITCHES; i++) {
		if (vsw->switches[i].used && !strcmp(vsw->switches[i].name, name))
			return &vsw->switches[i];
	}
	ctl_err_set(err, ENOENT, "switch: no switch named '%s'", name ? name : "");
	return NULL;
}

struct vsw_port *vsw_find_port(struct vsw *vsw, const char *name, struct ctl_err *err)
{
	for (unsigned int i = 0; name && i < VSW_MAX_PORTS; i++) {
		if (vsw->ports[i].used && !strcmp(vsw->ports[i].name, name))
			return &vsw->ports[i];
	}
	ctl_err_set(err, ENOENT, "port: no port named '%s'", name ? name : "");
	return NULL;
}

unsigned int vsw_port_untagged_vlan(const struct vsw_port *p)
{
	switch (p->vlan.mode) {
	case VSW_VLAN_ACCESS:
		return p->vlan.access_vid;
	case VSW_VLAN_TRUNK:
		return p->vlan.native_vid;
	default:
		return 0;
	}
}

void vsw_port_counters_now(struct vsw *vsw, const struct vsw_port *p,
			   struct vsw_port_counters *out)
{
	vsw_dp_port_counters(vsw->dp, (unsigned int)(p - vsw->ports), out);
	out->rx_packets -= p->base.rx_packets;
	out->rx_bytes -= p->base.rx_bytes;
	out->tx_packets -= p->base.tx_packets;
	out->tx_bytes -= p->base.tx_bytes;
	out->flood_packets -= p->base.flood_packets;
	for (unsigned int r = 0; r < VSW_DROP_MAX; r++)
		out->drops[r] -= p->base.drops[r];
}

/* Adds the taps of the capture sessions that are not ending to the snapshot. */
static void add_taps(struct vsw *vsw, struct vsw_dp_config *cfg)
{
	for (unsigned int s = 0; s < VSW_CAPTURE_MAX; s++) {
		struct vsw_capture *c = vsw->captures[s];

		if (!c || vsw_capture_ending(c))
			continue;
		for (unsigned int i = 0; i < vsw_capture_n_ports(c); i++) {
			uint16_t port = vsw_capture_port(c, i);
			struct vsw_dp_port *dp = port < VSW_MAX_PORTS ? &cfg->ports[port] : NULL;

			if (!dp || !dp->used || dp->n_taps == VSW_MAX_TAPS)
				continue;
			dp->taps[dp->n_taps++] = (struct vsw_dp_tap){
				.cap = c, .ifidx = (uint16_t)i, .dirs = vsw_capture_dirs(c)};
		}
	}
}

int vsw_rebuild(struct vsw *vsw)
{
	struct vsw_dp_config *cfg = vsw_dp_config_alloc();
	unsigned int next_lcore = 0;

	if (!cfg)
		return -ENOMEM;
	for (unsigned int i = 0; i < VSW_MAX_PORTS; i++) {
		const struct vsw_port *p = &vsw->ports[i];
		struct vsw_dp_switch *sw;
		unsigned int lc;

		if (!p->used)
			continue;
		cfg->ports[i] = (struct vsw_dp_port){
			.rx = p->io.rx, .tx = p->io.tx, .ctx = p->io.ctx, .idle = p->io.idle, .sw = p->sw,
			.used = true, .up = p->up, .pol = p->policy.compiled, .mirror = p->mirror,
			.vlan = p->vlan,
		};
		sw = &cfg->switches[p->sw];
		sw->ports[sw->n_ports++] = (uint16_t)i;
		if (p->mirror == VSW_MIRROR_DESTINATION)
			sw->mirror_dst[sw->n_mirror_dst++] = (uint16_t)i;
		vsw_ext_hook_port(vsw, i, &cfg->ports[i]);
		lc = next_lcore++ % vsw->opts.n_lcores;
		cfg->rx_ports[lc][cfg->n_rx[lc]++] = (uint16_t)i;
	}
	add_taps(vsw, cfg);
	vsw_dp_publish(vsw->dp, cfg);
	return 0;
}

static void install_static_mac(struct vsw *vsw, struct vsw_port *p)
{
	struct vsw_fdb_key key = {.vlan = (uint16_t)vsw_port_untagged_vlan(p), .sw = p->sw};

	if (!p->has_static_mac)
		return;
	memcpy(key.mac, p->static_mac, 6);
	if (vsw_fdb_add_static(vsw->fdb, &key, (uint16_t)(p - vsw->ports)))
		vsw_log(VSW_LOG_WARN, "port %s: MAC table full, static MAC not installed", p->name);
}

static void flush_port(struct vsw *vsw, const struct vsw_port *p)
{
	struct vsw_fdb_filter f = {.sw = -1, .vlan = -1, .port = (int)(p - vsw->ports)};

	vsw_fdb_flush(vsw->fdb, &f);
}

static int check_new_port_name(struct vsw *vsw, const char *name, struct ctl_err *err)
{
	if (ctl_parse_name("port", name, CTL_NAME_MAX, err))
		return -EINVAL;
	if (vsw_find_port(vsw, name, NULL))
		return ctl_err_set(err, EEXIST, "port: a port named '%s' exists already", name);
	return 0;
}

static struct vsw_port *free_port_slot(struct vsw *vsw, struct ctl_err *err)
{
	for (unsigned int i = 0; i < VSW_MAX_PORTS; i++) {
		if (!vsw->ports[i].used)
			return &vsw->ports[i];
	}
	ctl_err_set(err, ENOSPC, "port: all %d ports are in use", VSW_MAX_PORTS);
	return NULL;
}

/*
 * Opens a port in a free slot of switch sw without publishing it. Returns
 * the slot, or NULL with err set (nothing changed).
 */
static struct vsw_port *open_port(struct vsw *vsw, uint16_t sw, struct vsw_port_params *p,
				  enum vsw_port_role role, bool up, struct ctl_err *err)
{
	const struct vsw_port_class *cls = vsw_port_class_find(p->kind);
	struct vsw_port *port;

	if (check_new_port_name(vsw, p->name, err))
		return NULL;
	if (!cls) {
		ctl_err_set(err, EINVAL, "kind: unknown port kind '%s' (want %s)",
			    p->kind ? p->kind : "", vsw_port_kinds());
		return NULL;
	}
	port = free_port_slot(vsw, err);
	if (!port)
		return NULL;
	p->index = (unsigned int)(port - vsw->ports);
	p->n_txq = (uint16_t)vsw->opts.n_lcores;
	p->pool = vsw->pool;
	p->socket = (int)rte_socket_id();
	p->qs = vsw->qs;
	memset(port, 0, sizeof(*port));
	if (cls->open(p, &port->priv, &port->io, err))
		return NULL;
	port->used = true;
	port->up = up;
	port->sw = sw;
	port->role = role;
	port->cls = cls;
	snprintf(port->name, sizeof(port->name), "%s", p->name);
	vsw_vlan_set_untagged(&port->vlan);
	vsw_dp_port_counters(vsw->dp, p->index, &port->base);
	if (up && cls->set_admin)
		cls->set_admin(port->priv, true);
	return port;
}

/* Closes ports that vsw_rebuild() has already taken out of the datapath. */
/* Ends the sessions that capture nothing any more once port is gone. */
static void forget_captured_port(struct vsw *vsw, uint16_t port)
{
	for (unsigned int s = 0; s < VSW_CAPTURE_MAX; s++) {
		struct vsw_capture *c = vsw->captures[s];

		/* a switch capture goes on while the switch exists: VMs' ports come and go */
		if (c && vsw_capture_forget_port(c, port) == 0 && vsw->capture_sw[s] < 0)
			vsw_capture_stop(c, "port deleted");
	}
}

/* A new port joins the running captures of its switch. */
static void join_switch_captures(struct vsw *vsw, struct vsw_port *p)
{
	struct vsw_capture_port cp = {(uint16_t)(p - vsw->ports), p->name,
				      vsw->switches[p->sw].name};

	for (unsigned int s = 0; s < VSW_CAPTURE_MAX; s++) {
		struct vsw_capture *c = vsw->captures[s];

		if (c && !vsw_capture_ending(c) && vsw->capture_sw[s] == p->sw &&
		    vsw_capture_add_port(c, &cp) < 0)
			vsw_log(VSW_LOG_WARN, "capture: port %s not added to the capture of switch %s",
				p->name, vsw->switches[p->sw].name);
	}
}

static void close_port(struct vsw *vsw, struct vsw_port *p)
{
	forget_captured_port(vsw, (uint16_t)(p - vsw->ports));
	vsw_ext_forget(vsw, p->sw, (int)(p - vsw->ports));
	flush_port(vsw, p);
	pol_ct_flush(vsw->ct, (int)(p - vsw->ports));
	vsw_policy_free(&p->policy);
	if (p->cls->set_admin && p->up)
		p->cls->set_admin(p->priv, false);
	p->cls->close(p->priv);
	memset(p, 0, sizeof(*p));
}

int vsw_port_add(struct vsw *vsw, const char *swname, struct vsw_port_params *p, bool down,
		 struct ctl_err *err)
{
	struct vsw_switch *sw = vsw_find_switch(vsw, swname, err);
	struct vsw_port *port;

	if (!sw)
		return -ENOENT;
	port = open_port(vsw, (uint16_t)(sw - vsw->switches), p, VSW_ROLE_PORT, !down, err);
	if (!port)
		return -EINVAL;
	join_switch_captures(vsw, port);
	vsw_rebuild(vsw);
	vsw_log(VSW_LOG_INFO, "port %s (%s) added to switch %s%s", port->name, p->kind, sw->name,
		down ? ", down" : "");
	return 0;
}

/* Takes ports out of the datapath and closes them. */
static void remove_ports(struct vsw *vsw, struct vsw_port **ports, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		ports[i]->used = false;
	vsw_rebuild(vsw);
	for (unsigned int i = 0; i < n; i++)
		close_port(vsw, ports[i]);
}

int vsw_port_del(struct vsw *vsw, const char *name, struct ctl_err *err)
{
	struct vsw_port *p = vsw_find_port(vsw, name, err);

	if (!p)
		return -ENOENT;
	if (p->role != VSW_ROLE_PORT)
		return ctl_err_set(err, EPERM,
				   "port: '%s' is the %s of switch '%s'; delete the switch instead",
				   name, p->role == VSW_ROLE_UPLINK ? "uplink" : "host vNIC",
				   vsw->switches[p->sw].name);
	remove_ports(vsw, &p, 1);
	vsw_log(VSW_LOG_INFO, "port %s deleted", name);
	return 0;
}

int vsw_port_set_admin(struct vsw *vsw, const char *name, bool up, struct ctl_err *err)
{
	struct vsw_port *p = vsw_find_port(vsw, name, err);

	if (!p)
		return -ENOENT;
	if (p->up == up)
		return 0;
	if (up && p->cls->set_admin)
		p->cls->set_admin(p->priv, true);
	p->up = up;
	vsw_rebuild(vsw);
	if (!up && p->cls->set_admin)
		p->cls->set_admin(p->priv, false);
	vsw_log(VSW_LOG_INFO, "port %s %s", name, up ? "up" : "down");
	return 0;
}

int vsw_port_set_vlan(struct vsw *vsw, const char *name, const struct vsw_vlan_cfg *vlan,
		      struct ctl_err *err)
{
	struct vsw_port *p = vsw_find_port(vsw, name, err);
	char desc[300];

	if (!p)
		return -ENOENT;
	p->vlan = *vlan;
	vsw_rebuild(vsw);
	flush_port(vsw, p);
	install_static_mac(vsw, p);
	vsw_vlan_describe(vlan, desc, sizeof(desc));
	vsw_log(VSW_LOG_INFO, "port %s vlan %s", name, desc);
	return 0;
}

int vsw_port_set_static_mac(struct vsw *vsw, const char *name, const uint8_t mac[6],
			    struct ctl_err *err)
{
	struct vsw_port *p = vsw_find_port(vsw, name, err);

	if (!p)
		return -ENOENT;
	if (mac[0] & 1)
		return ctl_err_set(err, EINVAL, "static-mac: a multicast address cannot be a port's MAC");
	if (p->has_static_mac) {
		struct vsw_fdb_key old = {.vlan = (uint16_t)vsw_port_untagged_vlan(p), .sw = p->sw};

		memcpy(old.mac, p->static_mac, 6);
		vsw_fdb_del(vsw->fdb, &old);
	}
	memcpy(p->static_mac, mac, 6);
	p->has_static_mac = true;
	install_static_mac(vsw, p);
	/* the spoofing guard checks the port's MAC */
	return vsw_port_set_guards(vsw, name, &(struct vsw_port_guards){-1, -1, -1, -1, -1}, err);
}

int vsw_switch_type_parse(const char *s, enum vsw_switch_type *type, struct ctl_err *err)
{
	static const char *const names[] = {"external", "internal", "private"};

	for (unsigned int i = 0; s && i < RTE_DIM(names); i++) {
		if (!strcmp(s, names[i])) {
			*type = (enum vsw_switch_type)i;
			return 0;
		}
	}
	return ctl_err_set(err, EINVAL, "type: unknown switch type '%s' (want external|internal|private)",
			   s ? s : "");
}

static int check_switch_add(struct vsw *vsw, const char *name, enum vsw_switch_type type,
			    const char *uplink, bool allow_mgmt, struct ctl_err *err)
{
	char host[CTL_NAME_MAX + 1];

	if (ctl_parse_name("switch", name, CTL_SWITCH_NAME_MAX, err))
		return -EINVAL;
	if (vsw_find_switch(vsw, name, NULL))
		return ctl_err_set(err, EEXIST, "switch: a switch named '%s' exists already", name);
	if (type == VSW_SWITCH_EXTERNAL && (!uplink || !*uplink))
		return ctl_err_set(err, EINVAL,
				   "uplink: an external switch needs --uplink DEVARGS (a PCI address or a vdev like net_af_xdp0,iface=eth1)");
	if (type != VSW_SWITCH_EXTERNAL && uplink && *uplink)
		return ctl_err_set(err, EINVAL, "uplink: only an external switch has an uplink");
	if (type != VSW_SWITCH_EXTERNAL && allow_mgmt)
		return ctl_err_set(err, EINVAL,
				   "allow-management-os: only for external switches (an internal switch always has a host vNIC)");
	snprintf(host, sizeof(host), "vs-%s", name);
	if ((type == VSW_SWITCH_INTERNAL || allow_mgmt) && vsw_find_port(vsw, host, NULL))
		return ctl_err_set(err, EEXIST, "switch: the host vNIC name '%s' is taken by a port",
				   host);
	return 0;
}

static struct vsw_switch *free_switch_slot(struct vsw *vsw, struct ctl_err *err)
{
	for (unsigned int i = 0; i < VSW_MAX_SWITCHES; i++) {
		if (!vsw->switches[i].used)
			return &vsw->switches[i];
	}
	ctl_err_set(err, ENOSPC, "switch: all %d switches are in use", VSW_MAX_SWITCHES);
	return NULL;
}

int vsw_switch_add(struct vsw *vsw, const char *name, enum vsw_switch_type type,
		   const char *uplink, bool allow_mgmt, struct ctl_err *err)
{
	char up_name[CTL_NAME_MAX + 1], host_name[CTL_NAME_MAX + 1];
	struct vsw_port *up = NULL, *host = NULL;
	uint16_t idx;
	struct vsw_switch *sw;
	int rc;

	rc = check_switch_add(vsw, name, type, uplink, allow_mgmt, err);
	if (rc)
		return rc;
	sw = free_switch_slot(vsw, err);
	if (!sw)
		return -ENOSPC;
	idx = (uint16_t)(sw - vsw->switches);
	if (type == VSW_SWITCH_EXTERNAL) {
		struct vsw_port_params p = {.kind = "ethdev", .name = up_name, .devargs = uplink};

		snprintf(up_name, sizeof(up_name), "uplink-%s", name);
		up = open_port(vsw, idx, &p, VSW_ROLE_UPLINK, true, err);
		if (!up) {
			/* errors name the option users typed */
			if (err && !strncmp(err->msg, "devargs: ", 9)) {
				struct ctl_err e = *err;

				ctl_err_set(err, EINVAL, "uplink: %s", e.msg + 9);
			}
			return -EINVAL;
		}
	}
	if (type == VSW_SWITCH_INTERNAL || allow_mgmt) {
		struct vsw_port_params p = {.kind = "tap", .name = host_name, .ifname = host_name};

		snprintf(host_name, sizeof(host_name), "vs-%s", name);
		host = open_port(vsw, idx, &p, VSW_ROLE_HOST, true, err);
		if (!host) {
			if (up) {
				up->cls->close(up->priv);
				memset(up, 0, sizeof(*up));
			}
			return -EINVAL;
		}
	}
	*sw = (struct vsw_switch){.used = true, .type = type,
				  .uplink = up ? (int)(up - vsw->ports) : -1,
				  .host = host ? (int)(host - vsw->ports) : -1};
	snprintf(sw->name, sizeof(sw->name), "%s", name);
	vsw_rebuild(vsw);
	vsw_log(VSW_LOG_INFO, "switch %s added", name);
	return 0;
}

int vsw_switch_del(struct vsw *vsw, const char *name, struct ctl_err *err)
{
	struct vsw_switch *sw = vsw_find_switch(vsw, name, err);
	struct vsw_port *ports[VSW_MAX_PORTS];
	struct vsw_fdb_filter f = {.vlan = -1, .port = -1};
	unsigned int n = 0;

	if (!sw)
		return -ENOENT;
	for (unsigned int i = 0; i < VSW_MAX_PORTS; i++) {
		if (vsw->ports[i].used && vsw->ports[i].sw == sw - vsw->switches)
			ports[n++] = &vsw->ports[i];
	}
	remove_ports(vsw, ports, n);
	f.sw = (int)(sw - vsw->switches);
	vsw_fdb_flush(vsw->fdb, &f);
	vsw_ext_forget(vsw, f.sw, -1);
	memset(sw, 0, sizeof(*sw));
	vsw_log(VSW_LOG_INFO, "switch %s deleted with %u ports", name, n);
	return 0;
}

/* Resolves a switch, a port on it and a VLAN for MAC-table commands. */
static int fdb_target(struct vsw *vsw, const char *swname, unsigned int vlan,
		      struct vsw_fdb_key *key, const uint8_t mac[6], struct ctl_err *err)
{
	struct vsw_switch *sw = vsw_find_switch(vsw, swname, err);

	if (!sw)
		return -ENOENT;
	if (vlan && ctl_check_vid("vlan", vlan, err))
		return -EINVAL;
	*key = (struct vsw_fdb_key){.vlan = (uint16_t)vlan, .sw = (uint16_t)(sw - vsw->switches)};
	memcpy(key->mac, mac, 6);
	return 0;
}

int vsw_fdb_add_entry(struct vsw *vsw, const char *sw, const uint8_t mac[6], const char *port,
		      unsigned int vlan, struct ctl_err *err)
{
	struct vsw_fdb_key key;
	struct vsw_port *p;
	int rc = fdb_target(vsw, sw, vlan, &key, mac, err);

	if (rc)
		return rc;
	if (mac[0] & 1)
		return ctl_err_set(err, EINVAL, "mac: a multicast address cannot be a MAC-table entry");
	p = vsw_find_port(vsw, port, err);
	if (!p)
		return -ENOENT;
	if (p->sw != key.sw)
		return ctl_err_set(err, EINVAL, "port: '%s' is not on switch '%s'", port, sw);
	if (vsw_vlan_egress(&p->vlan, vlan) == VSW_EGRESS_DROP)
		return ctl_err_set(err, EINVAL, "vlan: port '%s' does not carry VLAN %u", port, vlan);
	if (vsw_fdb_add_static(vsw->fdb, &key, (uint16_t)(p - vsw->ports)))
		return ctl_err_set(err, ENOSPC, "mac: the MAC table is full (%u entries)",
				   vsw_fdb_capacity(vsw->fdb));
	return 0;
}

int vsw_fdb_del_entry(struct vsw *vsw, const char *sw, const uint8_t mac[6], unsigned int vlan,
		      struct ctl_err *err)
{
	struct vsw_fdb_key key;
	char m[18];
	int rc = fdb_target(vsw, sw, vlan, &key, mac, err);

	if (rc)
		return rc;
	if (vsw_fdb_del(vsw->fdb, &key)) {
		ctl_format_mac(mac, m);
		return ctl_err_set(err, ENOENT, "mac: no entry for %s on VLAN %u of switch '%s'", m,
				   vlan, sw);
	}
	return 0;
}

int vsw_fdb_flush_switch(struct vsw *vsw, const char *name, struct ctl_err *err)
{
	struct vsw_switch *sw = vsw_find_switch(vsw, name, err);
	struct vsw_fdb_filter f = {.vlan = -1, .port = -1};

	if (!sw)
		return -ENOENT;
	f.sw = (int)(sw - vsw->switches);
	return (int)vsw_fdb_flush(vsw->fdb, &f);
}

/* Takes ending capture sessions out of the datapath and frees finished ones. */
static void reap_captures(struct vsw *vsw)
{
	bool republish = false;

	for (unsigned int s = 0; s < VSW_CAPTURE_MAX; s++) {
		struct vsw_capture *c = vsw->captures[s];

		if (c && vsw_capture_ending(c))
			republish = true;
	}
	if (!republish)
		return;
	vsw_rebuild(vsw); /* ending sessions are left out: no lcore taps them after this */
	for (unsigned int s = 0; s < VSW_CAPTURE_MAX; s++) {
		struct vsw_capture *c = vsw->captures[s];

		if (!c || !vsw_capture_ending(c))
			continue;
		vsw_capture_released(c);
		if (vsw_capture_finished(c)) {
			vsw_capture_free(c);
			vsw->captures[s] = NULL;
		}
	}
}

void vsw_tick(struct vsw *vsw)
{
	uint32_t now = vsw_fdb_now();
	unsigned int n;

	reap_captures(vsw);
	if (now == vsw->last_age)
		return;
	vsw->last_age = now;
	n = vsw->opts.aging ? vsw_fdb_age(vsw->fdb, now, vsw->opts.aging) : 0;
	if (n)
		vsw_log(VSW_LOG_DEBUG, "aged out %u MAC entries", n);
	n = pol_ct_expire(vsw->ct, now);
	if (n)
		vsw_log(VSW_LOG_DEBUG, "expired %u connections", n);
}

struct vsw *vsw_create(const struct vsw_opts *opts, struct ctl_err *err)
{
	struct vsw *vsw = rte_zmalloc("vsw", sizeof(*vsw), RTE_CACHE_LINE_SIZE);
	size_t qs_size;

	if (!vsw)
		goto err_nomem;
	vsw->opts = *opts;
	memcpy(vsw->lcore_ids, opts->lcore_ids, sizeof(unsigned int) * opts->n_lcores);
	vsw->opts.lcore_ids = vsw->lcore_ids;
	vsw->pool = rte_pktmbuf_pool_create("hvnet_mbufs", opts->n_mbufs, 256, 0,
					    RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (!vsw->pool) {
		ctl_err_set(err, rte_errno, "cannot create a pool of %u packet buffers: %s",
			    opts->n_mbufs, rte_strerror(rte_errno));
		goto err_free;
	}
	qs_size = rte_rcu_qsbr_get_memsize(opts->n_lcores);
	vsw->qs = rte_zmalloc("vsw_qs", qs_size, RTE_CACHE_LINE_SIZE);
	if (!vsw->qs || rte_rcu_qsbr_init(vsw->qs, opts->n_lcores))
		goto err_free;
	vsw->fdb = vsw_fdb_create("hvnet_fdb", opts->fdb_size, vsw->qs, (int)rte_socket_id());
	if (!vsw->fdb) {
		ctl_err_set(err, errno, "cannot create a MAC table of %u entries: %s",
			    opts->fdb_size, strerror(errno));
		goto err_free;
	}
	vsw->ct = pol_ct_create("hvnet_ct", opts->ct_size, vsw->qs, (int)rte_socket_id());
	if (!vsw->ct) {
		ctl_err_set(err, errno, "cannot create a connection table of %u entries: %s",
			    opts->ct_size, strerror(errno));
		goto err_free;
	}
	vsw->dp = vsw_dp_create(opts->n_lcores, vsw->fdb, vsw->ct, vsw->pool, vsw->qs);
	if (vsw->dp && vsw_dp_set_idle_sleep(vsw->dp, opts->idle_sleep_us) < 0) {
		ctl_err_set(err, errno, "cannot create the datapath's wake-up eventfds");
		goto err_free;
	}
	if (!vsw->dp || vsw_dp_start(vsw->dp, vsw->lcore_ids)) {
		ctl_err_set(err, EINVAL, "cannot start the datapath lcores");
		goto err_free;
	}
	vsw->vms = vsw_vms_new();
	if (!vsw->vms) {
		ctl_err_set(err, ENOMEM, "out of memory");
		goto err_free;
	}
	vsw->start_tsc = rte_rdtsc();
	return vsw;

err_free:
	vsw_destroy(vsw);
	errno = EINVAL;
	return NULL;
err_nomem:
	ctl_err_set(err, ENOMEM, "out of memory");
	errno = ENOMEM;
	return NULL;
}

void vsw_destroy(struct vsw *vsw)
{
	if (!vsw)
		return;
	for (unsigned int s = 0; s < VSW_CAPTURE_MAX; s++) {
		if (vsw->captures[s])
			vsw_capture_stop(vsw->captures[s], "vswitchd stopping");
	}
	if (vsw->dp)
		vsw_dp_stop(vsw->dp);
	for (unsigned int s = 0; s < VSW_CAPTURE_MAX; s++)
		vsw_capture_free(vsw->captures[s]);
	for (unsigned int s = 0; s < VSW_MAX_EXTS; s++)
		vsw_ext_free(vsw->exts[s].att.prog);
	for (unsigned int i = 0; i < VSW_MAX_PORTS; i++) {
		if (vsw->ports[i].used)
			close_port(vsw, &vsw->ports[i]);
	}
	vsw_vms_free(vsw->vms);
	vsw_dp_free(vsw->dp);
	pol_ct_free(vsw->ct);
	vsw_fdb_free(vsw->fdb);
	rte_free(vsw->qs);
	rte_mempool_free(vsw->pool);
	rte_free(vsw);
}

int vsw_port_set_mirror(struct vsw *vsw, const char *name, enum vsw_mirror role,
			struct ctl_err *err)
{
	struct vsw_port *p = vsw_find_port(vsw, name, err);

	if (!p)
		return -ENOENT;
	p->mirror = (uint8_t)role;
	vsw_rebuild(vsw);
	return 0;
}

/* Resolves a capture target: one port, or every port of a switch (*sw_idx). */
static int capture_ports(struct vsw *vsw, const char *target, struct vsw_capture_port *out,
			 unsigned int *n, int *sw_idx, struct ctl_err *err)
{
	struct vsw_port *p = vsw_find_port(vsw, target, NULL);
	struct vsw_switch *sw;

	*n = 0;
	*sw_idx = -1;
	if (p) {
		out[(*n)++] = (struct vsw_capture_port){(uint16_t)(p - vsw->ports), p->name,
							vsw->switches[p->sw].name};
		return 0;
	}
	sw = vsw_find_switch(vsw, target, NULL);
	if (!sw)
		return ctl_err_set(err, ENOENT, "capture: no port or switch named '%s'",
				   target ? target : "");
	*sw_idx = (int)(sw - vsw->switches);
	for (unsigned int i = 0; i < VSW_MAX_PORTS; i++) {
		if (vsw->ports[i].used && vsw->ports[i].sw == sw - vsw->switches)
			out[(*n)++] = (struct vsw_capture_port){(uint16_t)i, vsw->ports[i].name,
								sw->name};
	}
	return 0; /* a switch without ports yet: its ports join as they come */
}

int vsw_capture_open(struct vsw *vsw, const char *target, struct vsw_capture_params *prm,
		     struct ctl_conn *conn, struct ctl_err *err)
{
	struct vsw_capture_port ports[VSW_MAX_PORTS];
	struct vsw_capture *c;
	unsigned int n, slot;
	int fd, sw_idx;

	if (capture_ports(vsw, target, ports, &n, &sw_idx, err))
		return -ENOENT;
	for (slot = 0; slot < VSW_CAPTURE_MAX && vsw->captures[slot]; slot++)
		;
	if (slot == VSW_CAPTURE_MAX)
		return ctl_err_set(err, EBUSY, "capture: %d captures run already", VSW_CAPTURE_MAX);
	c = vsw_capture_create(prm, ports, n, err);
	if (!c)
		return -EINVAL;
	fd = ctl_conn_detach(conn);
	if (vsw_capture_start(c, fd, ++vsw->next_capture_id)) {
		vsw_capture_free(c);
		return 0; /* the client went away; nothing to answer */
	}
	vsw->captures[slot] = c;
	vsw->capture_sw[slot] = sw_idx;
	vsw_rebuild(vsw);
	vsw_log(VSW_LOG_INFO, "capture %u on %s (%u ports)%s%s", vsw->next_capture_id, target, n,
		prm->filter ? ", filter " : "", prm->filter ? prm->filter : "");
	return 0;
}
