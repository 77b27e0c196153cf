/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Extension programs on the control side: which program runs at which hook
 * of which switch or port, with which arguments. Adding, replacing and
 * removing rebuild the datapath snapshot; a replaced or removed program is
 * freed only after the rebuild, when no lcore can still run it, so a hot
 * swap loses no frame. Control thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "vsw_private.h"

void vsw_ext_hook_port(struct vsw *vsw, unsigned int i, struct vsw_dp_port *dp)
{
	/* switch-wide programs first, then the port's own, in attach order */
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned int s = 0; s < VSW_MAX_EXTS; s++) {
			const struct vsw_ext_slot *x = &vsw->exts[s];
			uint8_t *n = &dp->n_ext[x->hook];

			if (!x->used || x->sw != dp->sw || (pass ? x->port != (int)i : x->port >= 0))
				continue;
			if (*n < VSW_MAX_EXT_HOOKED)
				dp->ext[x->hook][(*n)++] = &x->att;
		}
	}
}

void vsw_ext_forget(struct vsw *vsw, int sw, int port)
{
	struct vsw_ext *gone[VSW_MAX_EXTS];
	unsigned int n = 0;

	for (unsigned int s = 0; s < VSW_MAX_EXTS; s++) {
		struct vsw_ext_slot *x = &vsw->exts[s];

		if (x->used && x->sw == sw && (port < 0 || x->port == port)) {
			gone[n++] = x->att.prog;
			memset(x, 0, sizeof(*x));
		}
	}
	if (!n)
		return;
	vsw_rebuild(vsw);
	for (unsigned int i = 0; i < n; i++)
		vsw_ext_free(gone[i]);
}

static struct vsw_ext_slot *find_ext(struct vsw *vsw, uint16_t sw, const char *name)
{
	for (unsigned int s = 0; s < VSW_MAX_EXTS; s++) {
		if (vsw->exts[s].used && vsw->exts[s].sw == sw && !strcmp(vsw->exts[s].name, name))
			return &vsw->exts[s];
	}
	return NULL;
}

/* Parses "20,monitor": numbers, or names of ports of switch sw (their ids). */
static int parse_args(struct vsw *vsw, uint16_t sw, const char *s, uint64_t args[4],
		      struct ctl_err *err)
{
	char buf[256], *save = NULL, *tok;
	unsigned int n = 0;

	memset(args, 0, 4 * sizeof(uint64_t));
	if (!s || !*s)
		return 0;
	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct vsw_port *p = vsw_find_port(vsw, tok, NULL);
		char *end;

		if (n == 4)
			return ctl_err_set(err, EINVAL, "args: at most 4 values");
		if (p && p->sw == sw) {
			args[n++] = (uint64_t)(p - vsw->ports);
			continue;
		}
		args[n++] = strtoull(tok, &end, 0);
		if (*end || end == tok)
			return ctl_err_set(err, EINVAL,
					   "args: '%s' is neither a number nor a port of the switch", tok);
	}
	return 0;
}

/* Puts prog in place of (or as) extension name; frees what it replaced after the rebuild. */
static int attach(struct vsw *vsw, struct vsw_switch *sw, const char *name, struct vsw_ext *prog,
		  enum vsw_ext_hook hook, int port, const uint64_t args[4], const char *object,
		  const char *section, struct ctl_err *err)
{
	uint16_t swi = (uint16_t)(sw - vsw->switches);
	struct vsw_ext_slot *x = find_ext(vsw, swi, name);
	struct vsw_ext *old = NULL;

	if (!x) {
		for (unsigned int s = 0; s < VSW_MAX_EXTS && !x; s++)
			x = vsw->exts[s].used ? NULL : &vsw->exts[s];
		if (!x) {
			vsw_ext_free(prog);
			return ctl_err_set(err, ENOSPC, "ext: all %d extension slots are in use",
					   VSW_MAX_EXTS);
		}
	} else {
		old = x->att.prog;
	}
	*x = (struct vsw_ext_slot){.used = true, .sw = swi, .port = port, .hook = hook,
				   .att = {.prog = prog}};
	memcpy(x->att.args, args, sizeof(x->att.args));
	snprintf(x->name, sizeof(x->name), "%s", name);
	snprintf(x->object, sizeof(x->object), "%s", object ? object : "");
	snprintf(x->section, sizeof(x->section), "%s", section ? section : "");
	vsw_rebuild(vsw);
	vsw_ext_free(old);
	vsw_log(VSW_LOG_INFO, "extension %s %s at the %s hook of %s%s%s", name,
		old ? "replaced" : "attached", vsw_ext_hook_name(hook), sw->name,
		port >= 0 ? " port " : "", port >= 0 ? vsw->ports[port].name : "");
	return 0;
}

/* Resolves the switch and the optional port of an extension. */
static int target(struct vsw *vsw, const char *swname, const char *name, const char *port,
		  struct vsw_switch **sw, int *port_idx, struct ctl_err *err)
{
	struct vsw_port *p;

	*sw = vsw_find_switch(vsw, swname, err);
	if (!*sw || ctl_parse_name("name", name, CTL_NAME_MAX, err))
		return -EINVAL;
	*port_idx = -1;
	if (!port)
		return 0;
	p = vsw_find_port(vsw, port, err);
	if (!p)
		return -ENOENT;
	if (p->sw != *sw - vsw->switches)
		return ctl_err_set(err, EINVAL, "port: '%s' is not on switch '%s'", port, swname);
	*port_idx = (int)(p - vsw->ports);
	return 0;
}

int vsw_ext_add(struct vsw *vsw, const char *swname, const char *name, const char *object,
		const char *section, enum vsw_ext_hook hook, const char *port, const char *args,
		struct ctl_err *err)
{
	struct vsw_switch *sw;
	struct vsw_ext *prog;
	uint64_t a[4];
	int port_idx;

	if (target(vsw, swname, name, port, &sw, &port_idx, err) ||
	    parse_args(vsw, (uint16_t)(sw - vsw->switches), args, a, err))
		return -EINVAL;
	prog = vsw_ext_load(object, section, hook, err);
	if (!prog)
		return -EINVAL;
	return attach(vsw, sw, name, prog, hook, port_idx, a, object, section, err);
}

int vsw_ext_add_insns(struct vsw *vsw, const char *swname, const char *name, const void *insns,
		      unsigned int n, enum vsw_ext_hook hook, const char *port,
		      struct ctl_err *err)
{
	static const uint64_t none[4];
	struct vsw_switch *sw;
	struct vsw_ext *prog;
	int port_idx;

	if (target(vsw, swname, name, port, &sw, &port_idx, err))
		return -EINVAL;
	prog = vsw_ext_load_insns(insns, n, hook, err);
	if (!prog)
		return -EINVAL;
	return attach(vsw, sw, name, prog, hook, port_idx, none, NULL, NULL, err);
}

int vsw_ext_del(struct vsw *vsw, const char *swname, const char *name, struct ctl_err *err)
{
	struct vsw_switch *sw = vsw_find_switch(vsw, swname, err);
	struct vsw_ext_slot *x;
	struct vsw_ext *prog;

	if (!sw)
		return -ENOENT;
	x = find_ext(vsw, (uint16_t)(sw - vsw->switches), name ? name : "");
	if (!x)
		return ctl_err_set(err, ENOENT, "name: switch '%s' has no extension '%s'", swname,
				   name ? name : "");
	prog = x->att.prog;
	memset(x, 0, sizeof(*x));
	vsw_rebuild(vsw);
	vsw_ext_free(prog);
	return 0;
}

json_t *vsw_ext_json(struct vsw *vsw, const char *swname, struct ctl_err *err)
{
	struct vsw_switch *sw = NULL;
	json_t *list;

	if (swname && !(sw = vsw_find_switch(vsw, swname, err)))
		return NULL;
	list = json_array();
	for (unsigned int s = 0; s < VSW_MAX_EXTS; s++) {
		const struct vsw_ext_slot *x = &vsw->exts[s];
		json_t *o;

		if (!x->used || (sw && x->sw != sw - vsw->switches))
			continue;
		o = vsw_ext_stats_json(x->att.prog);
		json_object_set_new(o, "name", json_string(x->name));
		json_object_set_new(o, "switch", json_string(vsw->switches[x->sw].name));
		json_object_set_new(o, "port", x->port >= 0 ? json_string(vsw->ports[x->port].name)
							    : json_null());
		json_object_set_new(o, "hook", json_string(vsw_ext_hook_name(x->hook)));
		json_object_set_new(o, "object", json_string(x->object));
		json_array_append_new(list, o);
	}
	return json_pack("{s:o}", "extensions", list);
}
