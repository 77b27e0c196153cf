/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vswitchctl: the command line of hvnet (docs/vswitchctl.md). Turns
 * "OBJECT VERB ARGS" into one control-protocol request, prints the reply
 * as text (or as one JSON object with --json). Exit status: 0 success,
 * 1 error (the daemon's or a bad value, printed as "vswitchctl: error:"),
 * 2 usage error. Values are validated by vswitchd, so any client of the
 * socket gets the same checks; vswitchctl checks only the syntax.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_capture.h"
#include "ctl_console.h"
#include "ctl_proto.h"
#include "hvnet_config.h"

enum arg_type {
	A_STR,	 /* string */
	A_PATH,	 /* a file name, made absolute (vswitchd has another working directory) */
	A_INT,	 /* decimal integer, sent as a JSON number */
	A_FLAG,	 /* option without a value: true */
	A_ONOFF, /* on|off, sent as a boolean */
	A_LIST,	 /* repeatable option: each value appended to an array of strings */
};

struct arg {
	const char *name; /* option name without "--", or positional placeholder */
	const char *key;  /* JSON key */
	enum arg_type type;
};

struct command {
	const char *object, *verb, *cmd;
	struct arg pos[4];   /* positional arguments, all required, in order */
	struct arg opt[12];  /* options */
	const char *usage;
	struct arg optional; /* one optional positional argument after pos */
};

#define END {NULL, NULL, A_STR}
#define ACL_OPTS                                                                                   \
	{{"direction", "direction", A_STR}, {"action", "action", A_STR},                           \
	 {"local-ip", "local_ip", A_STR},   {"remote-ip", "remote_ip", A_STR},                      \
	 {"local-mac", "local_mac", A_STR}, {"remote-mac", "remote_mac", A_STR},                    \
	 END}
#define XACL_OPTS                                                                                  \
	{{"direction", "direction", A_STR},   {"action", "action", A_STR},                         \
	 {"weight", "weight", A_INT},	      {"protocol", "protocol", A_STR},                      \
	 {"local-ip", "local_ip", A_STR},     {"remote-ip", "remote_ip", A_STR},                    \
	 {"local-port", "local_port", A_STR}, {"remote-port", "remote_port", A_STR},                \
	 {"stateful", "stateful", A_FLAG},    {"idle-timeout", "idle_timeout", A_INT},              \
	 END}

static const struct command commands[] = {
	{"status", NULL, "status", {END}, {END}, "status"},
	{"switch", "add", "switch.add", {{"NAME", "name", A_STR}, END},
	 {{"type", "type", A_STR}, {"uplink", "uplink", A_STR},
	  {"allow-management-os", "allow_management_os", A_FLAG}, END},
	 "switch add NAME --type external|internal|private [--uplink DEVARGS] [--allow-management-os]"},
	{"switch", "del", "switch.del", {{"NAME", "name", A_STR}, END}, {END}, "switch del NAME"},
	{"switch", "list", "switch.list", {END}, {END}, "switch list"},
	{"switch", "show", "switch.show", {{"NAME", "name", A_STR}, END}, {END}, "switch show NAME"},
	{"port", "add", "port.add", {{"SWITCH", "switch", A_STR}, {"PORT", "name", A_STR}, END},
	 {{"kind", "kind", A_STR}, {"memif-socket", "memif_socket", A_PATH},
	  {"memif-id", "memif_id", A_INT}, {"role", "role", A_STR}, {"path", "path", A_PATH},
	  {"server", "server", A_FLAG}, {"rx", "rx", A_PATH}, {"tx", "tx", A_PATH},
	  {"ifname", "ifname", A_STR}, {"devargs", "devargs", A_STR}, {"down", "down", A_FLAG}, END},
	 "port add SWITCH PORT --kind memif|pcap|tap|ethdev|vhostuser [kind options] [--down]\n"
	 "    memif: --memif-socket PATH --memif-id N [--role server|client]\n"
	 "    vhostuser: --path SOCKET [--server]   pcap: --rx FILE [--tx FILE]\n"
	 "    tap: --ifname NAME   ethdev: --devargs STRING"},
	{"port", "del", "port.del", {{"PORT", "name", A_STR}, END}, {END}, "port del PORT"},
	{"port", "list", "port.list", {END}, {END}, "port list [SWITCH]", {"SWITCH", "switch", A_STR}},
	{"port", "show", "port.show", {{"PORT", "name", A_STR}, END}, {END}, "port show PORT"},
	{"port", "set", "port.set", {{"PORT", "name", A_STR}, END},
	 {{"admin", "admin", A_STR}, {"mac-spoofing", "mac_spoofing", A_ONOFF},
	  {"dhcp-guard", "dhcp_guard", A_ONOFF}, {"router-guard", "router_guard", A_ONOFF},
	  {"static-mac", "static_mac", A_STR}, {"max-bandwidth", "max_bandwidth", A_INT},
	  {"storm-limit", "storm_limit", A_INT}, {"mirror", "mirror", A_STR}, END},
	 "port set PORT [--admin up|down] [--static-mac MAC] [--mac-spoofing on|off]\n"
	 "    [--dhcp-guard on|off] [--router-guard on|off] [--max-bandwidth BPS]\n"
	 "    [--storm-limit PPS] [--mirror none|source|destination]"},
	{"port", "vlan", "port.vlan", {{"PORT", "name", A_STR}, {"MODE", "mode", A_STR}, END},
	 {{"allowed", "allowed", A_STR}, {"native", "native", A_INT}, END},
	 "port vlan PORT untagged | access VID | trunk --allowed LIST [--native VID]",
	 {"VID", "vid", A_INT}},
	{"port", "stats", "port.stats", {{"PORT", "name", A_STR}, END},
	 {{"clear", "clear", A_FLAG}, END}, "port stats PORT [--clear]"},
	{"fdb", "show", "fdb.show", {{"SWITCH", "switch", A_STR}, END},
	 {{"vlan", "vlan", A_INT}, END}, "fdb show SWITCH [--vlan VID]"},
	{"fdb", "add", "fdb.add",
	 {{"SWITCH", "switch", A_STR}, {"MAC", "mac", A_STR}, {"PORT", "port", A_STR}, END},
	 {{"vlan", "vlan", A_INT}, END}, "fdb add SWITCH MAC PORT [--vlan VID]"},
	{"fdb", "del", "fdb.del", {{"SWITCH", "switch", A_STR}, {"MAC", "mac", A_STR}, END},
	 {{"vlan", "vlan", A_INT}, END}, "fdb del SWITCH MAC [--vlan VID]"},
	{"fdb", "flush", "fdb.flush", {{"SWITCH", "switch", A_STR}, END}, {END}, "fdb flush SWITCH"},
	{"acl", "add", "acl.add", {{"PORT", "port", A_STR}, END}, ACL_OPTS,
	 "acl add PORT --direction in|out|both --action allow|deny|meter\n"
	 "    [--local-ip CIDR|any] [--remote-ip CIDR|any] [--local-mac MAC|any] [--remote-mac MAC|any]"},
	{"acl", "del", "acl.del", {{"PORT", "port", A_STR}, END}, ACL_OPTS,
	 "acl del PORT (the same fields as the entry's acl add)"},
	{"acl", "list", "acl.list", {{"PORT", "port", A_STR}, END}, {END}, "acl list PORT"},
	{"xacl", "add", "xacl.add", {{"PORT", "port", A_STR}, END}, XACL_OPTS,
	 "xacl add PORT --direction in|out --action allow|deny --weight N [--protocol tcp|udp|icmp|NUM]\n"
	 "    [--local-ip CIDR] [--remote-ip CIDR] [--local-port P|P-Q] [--remote-port P|P-Q]\n"
	 "    [--stateful [--idle-timeout S]]"},
	{"xacl", "load", "xacl.add", {{"PORT", "port", A_STR}, {"FILE", NULL, A_STR}, END}, XACL_OPTS,
	 "xacl load PORT FILE   (one rule per line, in xacl add's options; '#' comments)"},
	{"xacl", "del", "xacl.del", {{"PORT", "port", A_STR}, END},
	 {{"direction", "direction", A_STR}, {"weight", "weight", A_INT}, END},
	 "xacl del PORT --direction in|out --weight N"},
	{"xacl", "list", "xacl.list", {{"PORT", "port", A_STR}, END}, {END}, "xacl list PORT"},
	{"conntrack", "show", "conntrack.show", {END}, {END}, "conntrack show [PORT]",
	 {"PORT", "port", A_STR}},
	{"conntrack", "flush", "conntrack.flush", {END}, {END}, "conntrack flush [PORT]",
	 {"PORT", "port", A_STR}},
	{"ext", "add", "ext.add", {{"SWITCH", "switch", A_STR}, {"NAME", "name", A_STR}, END},
	 {{"object", "object", A_PATH}, {"section", "section", A_STR}, {"hook", "hook", A_STR},
	  {"port", "port", A_STR}, {"args", "args", A_STR}, END},
	 "ext add SWITCH NAME --object FILE.o [--section SEC] --hook capture|filter|forward\n"
	 "    [--port PORT] [--args LIST]   (LIST: up to 4 numbers or port names)"},
	{"ext", "del", "ext.del", {{"SWITCH", "switch", A_STR}, {"NAME", "name", A_STR}, END}, {END},
	 "ext del SWITCH NAME"},
	{"ext", "list", "ext.list", {END}, {END}, "ext list [SWITCH]", {"SWITCH", "switch", A_STR}},
	{"vm", "create", "vm.create", {{"NAME", "name", A_STR}, END},
	 {{"kernel", "kernel", A_PATH}, {"initrd", "initrd", A_PATH}, {"cmdline", "cmdline", A_STR},
	  {"memory", "memory", A_INT}, {"cpus", "cpus", A_INT}, {"nic", "nic", A_LIST},
	  {"disk", "disk", A_PATH}, END},
	 "vm create NAME --kernel FILE [--initrd FILE] [--cmdline STR] [--memory MIB] [--cpus N]\n"
	 "    [--nic SWITCH[,mac=MAC][,vlan=VID]]... [--disk FILE]"},
	{"vm", "start", "vm.start", {{"NAME", "name", A_STR}, END}, {END}, "vm start NAME"},
	{"vm", "shutdown", "vm.shutdown", {{"NAME", "name", A_STR}, END},
	 {{"wait", "wait", A_FLAG}, {"timeout", "timeout", A_INT}, END},
	 "vm shutdown NAME [--wait] [--timeout S]   (asks the guest's shutdown service; --wait:\n"
	 "    until the VM is off; S bounds the wait, default 10, 60 with --wait)"},
	{"vm", "stop", "vm.stop", {{"NAME", "name", A_STR}, END}, {END},
	 "vm stop NAME   (power off: the vmm stops at once, SIGTERM/SIGKILL if it hangs)"},
	{"vm", "del", "vm.del", {{"NAME", "name", A_STR}, END}, {END}, "vm del NAME"},
	{"vm", "list", "vm.list", {END}, {END}, "vm list"},
	{"vm", "show", "vm.show", {{"NAME", "name", A_STR}, END}, {END}, "vm show NAME"},
	{"vm", "console", "vm.console", {{"NAME", "name", A_STR}, END},
	 {{"no-follow", "no_follow", A_FLAG}, END},
	 "vm console NAME [--no-follow]   (the serial console log, read-only; follows new output\n"
	 "    until the VM stops or Ctrl-C)"},
};

static bool json_out;

static void usage(FILE *f)
{
	fprintf(f, "usage: vswitchctl [--socket PATH] [--json] OBJECT VERB [ARGS]\n\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %s\n", commands[i].usage);
	fprintf(f, "  capture PORT|SWITCH [--direction in|out|both] [--filter EXPR] [-w FILE|-]\n"
		   "    [-c COUNT] [--duration S] [--snaplen N]\n");
	fprintf(f, "\nsocket: --socket, else $HVNET_SOCKET, else %s\n", CTL_DEFAULT_SOCKET);
}

static void __attribute__((noreturn, format(printf, 2, 3))) fail(int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (json_out && status == 1) {
		json_t *o = json_pack("{s:s}", "error", msg);

		json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(o);
	}
	fprintf(stderr, "vswitchctl: %s: %s\n", status == 2 ? "usage" : "error", msg);
	exit(status);
}

/* The verbs of an object, "add|del|...", for usage errors. */
static const char *verbs_of(const char *object)
{
	static char buf[128];
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(commands[i].object, object) && commands[i].verb)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", len ? "|" : "",
						commands[i].verb);
	}
	return buf;
}

static const struct command *find_command(const char *object, const char *verb)
{
	bool object_known = false;

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct command *c = &commands[i];

		if (strcmp(c->object, object))
			continue;
		object_known = true;
		if (!c->verb || (verb && !strcmp(c->verb, verb)))
			return c;
	}
	if (!object_known)
		fail(2, "unknown object '%s' (want "
			"status|switch|port|fdb|acl|xacl|conntrack|capture|ext|vm)",
		     object);
	fail(2, "'%s' needs a verb: %s", object, verbs_of(object));
}

static json_t *value(const struct arg *a, const char *s)
{
	const char *p = s;

	switch (a->type) {
	case A_INT:
		while (isdigit((unsigned char)*p))
			p++;
		if (!*s || *p || p - s > 18)
			fail(1, "%s: want a whole number, got '%s'", a->name, s);
		return json_integer(strtoll(s, NULL, 10));
	case A_ONOFF:
		if (strcmp(s, "on") && strcmp(s, "off"))
			fail(1, "%s: want on or off, got '%s'", a->name, s);
		return json_boolean(!strcmp(s, "on"));
	case A_PATH:
		if (s[0] != '/') {
			char cwd[4096], abs[8192];

			if (getcwd(cwd, sizeof(cwd))) {
				snprintf(abs, sizeof(abs), "%s/%s", cwd, s);
				return json_string(abs);
			}
		}
		return json_string(s);
	default:
		return json_string(s);
	}
}

static const struct arg *find_opt(const struct command *c, const char *name)
{
	for (const struct arg *a = c->opt; a->name; a++) {
		if (!strcmp(a->name, name))
			return a;
	}
	return NULL;
}

/* Fills args from argv (after OBJECT VERB) according to c. */
static void parse_args(const struct command *c, int argc, char **argv, json_t *args)
{
	const struct arg *pos = c->pos;
	int n_extra = 0;

	for (int i = 0; i < argc; i++) {
		const char *w = argv[i];
		const struct arg *a;

		if (strncmp(w, "--", 2)) {
			if (pos->name && pos->key)
				json_object_set_new(args, pos->key, value(pos, w));
			else if (pos->name)
				json_object_set_new(args, "_file", json_string(w)); /* xacl load */
			else if (c->optional.name && !n_extra++)
				json_object_set_new(args, c->optional.key, value(&c->optional, w));
			else
				fail(2, "unexpected argument '%s'\n  %s", w, c->usage);
			if (pos->name)
				pos++;
			continue;
		}
		a = find_opt(c, w + 2);
		if (!a)
			fail(2, "unknown option '%s'\n  %s", w, c->usage);
		if (a->type == A_FLAG) {
			json_object_set_new(args, a->key, json_true());
			continue;
		}
		if (++i == argc)
			fail(2, "option '%s' needs a value\n  %s", w, c->usage);
		if (a->type == A_LIST) {
			json_t *list = json_object_get(args, a->key);

			if (!list)
				json_object_set_new(args, a->key, list = json_array());
			json_array_append_new(list, json_string(argv[i]));
			continue;
		}
		json_object_set_new(args, a->key, value(a, argv[i]));
	}
	if (pos->name)
		fail(2, "missing %s\n  %s", pos->name, c->usage);
}

/*
 * xacl load: turns {"port", "_file"} into {"port", "rules": [...]}, one
 * rule per line of the file, each line in xacl add's option syntax.
 */
static json_t *load_rules(const struct command *c, json_t *args)
{
	const char *path = json_string_value(json_object_get(args, "_file"));
	FILE *f = fopen(path, "r");
	json_t *rules = json_array(), *out;
	char line[4096];
	int lineno = 0;

	if (!f)
		fail(1, "FILE: cannot read '%s': %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		char *words[64], *save = NULL, *w;
		int n = 0;
		json_t *rule;

		lineno++;
		if (strchr(line, '#'))
			*strchr(line, '#') = '\0';
		for (w = strtok_r(line, " \t\r\n", &save); w && n < 64;
		     w = strtok_r(NULL, " \t\r\n", &save))
			words[n++] = w;
		if (!n)
			continue;
		rule = json_object();
		for (int i = 0; i < n; i++) {
			const struct arg *a = strncmp(words[i], "--", 2) ? NULL : find_opt(c, words[i] + 2);

			if (!a)
				fail(1, "%s:%d: '%s' is not an option of xacl add", path, lineno, words[i]);
			if (a->type == A_FLAG)
				json_object_set_new(rule, a->key, json_true());
			else if (++i < n)
				json_object_set_new(rule, a->key, value(a, words[i]));
			else
				fail(1, "%s:%d: option '%s' needs a value", path, lineno, words[i - 1]);
		}
		json_array_append_new(rules, rule);
	}
	fclose(f);
	out = json_pack("{s:O,s:o}", "port", json_object_get(args, "port"), "rules", rules);
	json_decref(args);
	return out;
}

/* Prints a scalar JSON value as text. */
static void print_scalar(const json_t *v)
{
	if (json_is_string(v))
		fputs(json_string_value(v), stdout);
	else if (json_is_null(v))
		fputs("-", stdout);
	else {
		char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

		fputs(s ? s : "?", stdout);
		free(s);
	}
}

/* Prints a list of objects as a table with the given columns. */
static void print_table(const json_t *list, const char *const *cols, const int *widths)
{
	size_t i;
	json_t *row;

	for (int c = 0; cols[c]; c++)
		printf("%-*s", widths[c], cols[c]);
	putchar('\n');
	json_array_foreach(list, i, row) {
		for (int c = 0; cols[c]; c++) {
			json_t *v = json_object_get(row, cols[c]);
			/* objects show their headline: a VLAN its mode, hits their packets */
			json_t *inner = json_is_object(v) ? json_object_get(v, "mode") : NULL;
			char *s;

			if (json_is_object(v) && !inner)
				inner = json_object_get(v, "packets");
			if (inner)
				v = inner;
			s = json_is_string(v)	       ? strdup(json_string_value(v))
			    : !v || json_is_null(v) ? strdup("-")
						     : json_dumps(v, JSON_ENCODE_ANY);

			printf("%-*s", widths[c], s ? s : "-");
			free(s);
		}
		putchar('\n');
	}
}

/* Prints an object as "key: value" lines, nested objects indented. */
static void print_object(const json_t *o, int indent)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)o, key, v) {
		printf("%*s%s:", indent, "", key);
		if (json_is_object(v)) {
			putchar('\n');
			print_object(v, indent + 2);
			continue;
		}
		if (json_is_array(v)) {
			size_t i;
			json_t *e;

			json_array_foreach(v, i, e) {
				putchar(' ');
				print_scalar(e);
			}
			putchar('\n');
			continue;
		}
		putchar(' ');
		print_scalar(v);
		putchar('\n');
	}
}

/* vm show: the fields, then the NICs as a table. */
static void print_vm(const json_t *r)
{
	static const char *const nic_cols[] = {"port", "switch", "mac", "vlan", "link", NULL};
	static const int nic_w[] = {20, 14, 19, 6, 6};
	json_t *o = json_deep_copy(r);

	json_object_del(o, "nics");
	print_object(o, 0);
	json_decref(o);
	printf("nics:\n");
	print_table(json_object_get(r, "nics"), nic_cols, nic_w);
}

static void print_text(const struct command *c, const json_t *r)
{
	static const char *const sw_cols[] = {"name", "type", "uplink", "host_vnic", "ports", NULL};
	static const int sw_w[] = {16, 10, 20, 16, 6};
	static const char *const port_cols[] = {"name", "switch", "kind", "admin", "vlan", "mac", NULL};
	static const int port_w[] = {20, 14, 11, 7, 10, 18};
	static const char *const fdb_cols[] = {"mac", "vlan", "port", "type", "age", NULL};
	static const int fdb_w[] = {19, 6, 20, 9, 6};
	static const char *const acl_cols[] = {"direction", "action", "local_ip", "remote_ip",
					       "local_mac", "remote_mac", "hits", NULL};
	static const int acl_w[] = {10, 7, 20, 20, 19, 19, 10};
	static const char *const xacl_cols[] = {"direction", "weight", "action", "protocol",
						"local_ip", "local_port", "remote_ip",
						"remote_port", "stateful", "hits", NULL};
	static const int xacl_w[] = {10, 7, 7, 9, 20, 11, 20, 12, 9, 10};
	static const char *const ct_cols[] = {"port", "protocol", "local_ip", "local_port",
					      "remote_ip", "remote_port", "state", "age",
					      "timeout", NULL};
	static const int ct_w[] = {14, 9, 18, 11, 18, 12, 11, 6, 8};
	static const char *const ext_cols[] = {"name", "switch", "port", "hook", "runs",
					       "avg_cycles", "jit", NULL};
	static const int ext_w[] = {16, 12, 14, 9, 12, 11, 6};
	static const char *const vm_cols[] = {"name", "state", "pid", "cpus", "memory_mib",
					      "heartbeat", NULL};
	static const int vm_w[] = {20, 15, 9, 6, 12, 14};

	if (!strcmp(c->cmd, "switch.list"))
		print_table(json_object_get(r, "switches"), sw_cols, sw_w);
	else if (!strcmp(c->cmd, "port.list"))
		print_table(json_object_get(r, "ports"), port_cols, port_w);
	else if (!strcmp(c->cmd, "acl.list"))
		print_table(json_object_get(r, "rules"), acl_cols, acl_w);
	else if (!strcmp(c->cmd, "xacl.list"))
		print_table(json_object_get(r, "rules"), xacl_cols, xacl_w);
	else if (!strcmp(c->cmd, "ext.list"))
		print_table(json_object_get(r, "extensions"), ext_cols, ext_w);
	else if (!strcmp(c->cmd, "vm.list"))
		print_table(json_object_get(r, "vms"), vm_cols, vm_w);
	else if (!strcmp(c->cmd, "vm.show"))
		print_vm(r);
	else if (!strncmp(c->cmd, "vm.", 3))
		; /* create, start, shutdown, stop: silent like add and del */
	else if (!strcmp(c->cmd, "conntrack.show"))
		print_table(json_object_get(r, "connections"), ct_cols, ct_w);
	else if (!strcmp(c->cmd, "fdb.show")) {
		print_table(json_object_get(r, "entries"), fdb_cols, fdb_w);
		if (json_is_true(json_object_get(r, "truncated")))
			printf("(%lld entries, first shown)\n",
			       (long long)json_integer_value(json_object_get(r, "total")));
	} else if (!strstr(c->cmd, ".add") && !strstr(c->cmd, ".del") &&
		   !strstr(c->cmd, ".set") && !strstr(c->cmd, ".vlan"))
		print_object(r, 0);
}

/* How long to wait for the reply: vm shutdown and stop answer when the VM did it. */
static int call_timeout_ms(const struct command *c, json_t *args)
{
	json_int_t t = json_integer_value(json_object_get(args, "timeout"));

	if (!strcmp(c->cmd, "vm.shutdown"))
		return (int)((t > 0 && t <= 3600 ? t : 60) + 10) * 1000;
	return 60000;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"socket", required_argument, NULL, 's'}, {"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *socket_path = NULL;
	const struct command *c;
	struct ctl_err err;
	json_t *args, *reply, *e;
	int opt, fd, rc;

	while ((opt = getopt_long(argc, argv, "+hj", longopts, NULL)) != -1) {
		switch (opt) {
		case 's': socket_path = optarg; break;
		case 'j': json_out = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("vswitchctl %s\n", HVNET_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[optind], "capture"))
		return ctl_capture_main(argc - optind - 1, argv + optind + 1, socket_path, json_out);
	c = find_command(argv[optind], optind + 1 < argc ? argv[optind + 1] : NULL);
	args = json_object();
	optind += c->verb ? 2 : 1;
	parse_args(c, argc - optind, argv + optind, args);
	if (json_object_get(args, "_file"))
		args = load_rules(c, args);
	if (!strcmp(c->cmd, "vm.console")) {
		bool follow = !json_is_true(json_object_get(args, "no_follow"));

		json_object_set_new(args, "follow", json_boolean(follow));
		json_object_del(args, "no_follow");
		return ctl_console_main(socket_path, args, json_out);
	}
	fd = ctl_connect(ctl_socket_path(socket_path), &err);
	if (fd < 0)
		fail(1, "%s", err.msg);
	reply = ctl_call(fd, c->cmd, args, call_timeout_ms(c, args), &err);
	close(fd);
	if (!reply)
		fail(1, "%s", err.msg);
	e = json_object_get(reply, "error");
	rc = e ? 1 : 0;
	if (json_out) {
		json_dumpf(reply, stdout, JSON_COMPACT);
		putchar('\n');
	} else if (!e) {
		print_text(c, reply);
	}
	if (e)
		fprintf(stderr, "vswitchctl: error: %s\n", json_string_value(e));
	json_decref(reply);
	return rc;
}
