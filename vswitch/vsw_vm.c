/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * VM records and vmm processes (vsw_vm.h). The registry is a fixed array
 * of records hanging off struct vsw; requests that answer later (stop,
 * shutdown) and console streams hold the client's socket in small tables
 * that vsw_vm_tick() services. A vmm is spawned with posix_spawn (a vfork
 * under glibc: nothing of vswitchd's DPDK memory is copied) in a new
 * session, with stdin /dev/null, stdout and stderr on the console log and
 * every other descriptor closed. Control thread only.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl_parse.h"
#include "ctl_proto.h"
#include "log.h"
#include "vsw_private.h"
#include "vsw_vm.h"
#include "vsw_vmbus.h"

extern char **environ;

#define VM_WAITERS_MAX	    32
#define VM_CONSOLES_MAX	    16
#define VM_STOP_TERM_MS	    3000 /* vm stop: SIGTERM this long after the power-off request */
#define VM_STOP_TERM2_MS    300	 /* a second SIGTERM (vmm: stop at once) this long after */
#define VM_STOP_KILL_MS	    6000 /* SIGKILL this long after vm stop */
#define VM_STOP_GIVE_UP_MS  15000
#define VM_LOG_MAX	    (8u << 20) /* a console log over this moves to vm-NAME.log.1 */
#define VM_LOG_CHECK_MS	    1000
#define VM_CONSOLE_CHUNK    65536
#define VM_CONSOLE_TICK_MAX (4u << 20) /* bytes per stream per tick */

enum vm_state { VM_OFF, VM_STARTING, VM_RUNNING, VM_SHUTTING_DOWN, VM_STOPPING };

static const char *const state_names[] = {"off", "starting", "running", "shutting-down",
					  "stopping"};
static const char *const heartbeat_names[] = {"no-contact", "ok", "lost-contact"};

struct vsw_vm {
	bool used;
	bool managed;	/* defined with vm create (else a standalone vmm) */
	bool child;	/* spawned by this vswitchd: reaped with waitpid */
	bool connected; /* vmbus-user connection up (HELLO accepted) */
	char name[VMBUS_USER_NAME_LEN];
	char *kernel, *initrd, *cmdline, *disk;
	uint32_t memory_mib, cpus;
	struct ctl_nic_spec nics[VSW_VM_MAX_NICS];
	unsigned int n_nics;
	char ports[VSW_VM_MAX_NICS][VMBUS_USER_NAME_LEN]; /* from the last HELLO */
	unsigned int n_ports;
	enum vm_state state;
	pid_t pid;
	int heartbeat; /* enum vmbus_user_heartbeat, -1 unknown */
	uint64_t started_ms, stop_ms, term_ms;
	unsigned int sent_term; /* SIGTERMs sent by vm stop */
	bool sent_kill;
	bool shutdown_pending; /* REQUEST SHUTDOWN sent, no reply yet */
	char last_exit[96];
};

/* A client waiting for a VM: the guest's answer to a shutdown request (ack) and/or off. */
struct vm_waiter {
	int fd;
	unsigned int vm;
	bool need_ack, need_off;
	bool shutdown; /* else stop */
	unsigned int timeout_s;
	uint64_t deadline_ms;
};

/* A client following a console log. */
struct vm_console {
	int fd, log_fd;
	unsigned int vm;
	bool follow;
	bool vm_off; /* drain what is left, then end */
	off_t off;
};

struct vsw_vms {
	struct vsw_vm vm[VSW_VM_MAX];
	struct vm_waiter waiters[VM_WAITERS_MAX];
	unsigned int n_waiters;
	struct vm_console consoles[VM_CONSOLES_MAX];
	unsigned int n_consoles;
	bool loaded; /* vms.json read */
	uint64_t log_check_ms;
};

static void defs_load_once(struct vsw *vsw);
static void defs_save(struct vsw *vsw);
static bool foreign_gone(pid_t pid);

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- records ---- */

struct vsw_vms *vsw_vms_new(void)
{
	struct vsw_vms *vms = calloc(1, sizeof(*vms));

	if (!vms)
		errno = ENOMEM;
	return vms;
}

static void record_clear(struct vsw_vm *vm)
{
	free(vm->kernel);
	free(vm->initrd);
	free(vm->cmdline);
	free(vm->disk);
	memset(vm, 0, sizeof(*vm));
}

static struct vsw_vm *find_vm(struct vsw *vsw, const char *name, struct ctl_err *err)
{
	defs_load_once(vsw);
	for (unsigned int i = 0; name && vsw->vms && i < VSW_VM_MAX; i++) {
		if (vsw->vms->vm[i].used && !strcmp(vsw->vms->vm[i].name, name))
			return &vsw->vms->vm[i];
	}
	ctl_err_set(err, ENOENT, "vm: no VM named '%s'", name ? name : "");
	return NULL;
}

static struct vsw_vm *free_record(struct vsw *vsw)
{
	for (unsigned int i = 0; vsw->vms && i < VSW_VM_MAX; i++) {
		if (!vsw->vms->vm[i].used)
			return &vsw->vms->vm[i];
	}
	return NULL;
}

static unsigned int vm_index(struct vsw *vsw, const struct vsw_vm *vm)
{
	return (unsigned int)(vm - vsw->vms->vm);
}

static bool alive(const struct vsw_vm *vm)
{
	return vm->state != VM_OFF;
}

/* ---- values ---- */

/* Checks that path names a readable regular file. */
static int check_file(const char *field, const char *path, struct ctl_err *err)
{
	struct stat st;

	if (!path)
		return 0;
	if (path[0] != '/')
		return ctl_err_set(err, EINVAL, "%s: want an absolute path, got '%s'", field, path);
	if (stat(path, &st) < 0 || access(path, R_OK) < 0)
		return ctl_err_set(err, errno, "%s: cannot read '%s': %s", field, path,
				   strerror(errno));
	if (!S_ISREG(st.st_mode))
		return ctl_err_set(err, EINVAL, "%s: '%s' is not a regular file", field, path);
	return 0;
}

static const struct vsw_vm *mac_user(struct vsw *vsw, const uint8_t mac[6])
{
	for (unsigned int i = 0; i < VSW_VM_MAX; i++) {
		const struct vsw_vm *vm = &vsw->vms->vm[i];

		for (unsigned int n = 0; vm->used && n < vm->n_nics; n++) {
			if (vm->nics[n].has_mac && !memcmp(vm->nics[n].mac, mac, 6))
				return vm;
		}
	}
	return NULL;
}

static int check_nics(struct vsw *vsw, const struct vsw_vm_params *p, struct ctl_err *err)
{
	char m[18];

	for (unsigned int i = 0; i < p->n_nics; i++) {
		const struct ctl_nic_spec *n = &p->nics[i];
		const struct vsw_vm *other = n->has_mac ? mac_user(vsw, n->mac) : NULL;

		if (!vsw_find_switch(vsw, n->sw, NULL))
			return ctl_err_set(err, ENOENT, "nic: no switch named '%s'", n->sw);
		if (n->has_mac)
			ctl_format_mac(n->mac, m);
		if (other)
			return ctl_err_set(err, EEXIST, "nic mac: %s is used by VM '%s' already", m,
					   other->name);
		for (unsigned int j = 0; n->has_mac && j < i; j++) {
			if (p->nics[j].has_mac && !memcmp(p->nics[j].mac, n->mac, 6))
				return ctl_err_set(err, EEXIST, "nic mac: %s is given twice", m);
		}
	}
	return 0;
}

/*
 * Checks a definition. strict (vm create) also checks the files, that the
 * switches exist and that the MACs are free; a definition restored from
 * vms.json gets those checks at vm start.
 */
static int check_params(struct vsw *vsw, const struct vsw_vm_params *p, bool strict,
			struct ctl_err *err)
{
	if (ctl_parse_name("vm", p->name, VSW_VM_NAME_MAX, err))
		return -EINVAL;
	if (find_vm(vsw, p->name, NULL))
		return ctl_err_set(err, EEXIST, "vm: a VM named '%s' exists already", p->name);
	if (!p->kernel)
		return ctl_err_set(err, EINVAL, "kernel: required");
	if (strict && (check_file("kernel", p->kernel, err) ||
		       check_file("initrd", p->initrd, err) || check_file("disk", p->disk, err)))
		return -EINVAL;
	if (p->cmdline && strlen(p->cmdline) > 2048)
		return ctl_err_set(err, EINVAL, "cmdline: at most 2048 characters, got %zu",
				   strlen(p->cmdline));
	if (p->memory_mib &&
	    (p->memory_mib < VSW_VM_MEMORY_MIN || p->memory_mib > VSW_VM_MEMORY_MAX))
		return ctl_err_set(err, EINVAL, "memory: want %d-%d MiB, got %u", VSW_VM_MEMORY_MIN,
				   VSW_VM_MEMORY_MAX, p->memory_mib);
	if (p->cpus > VSW_VM_CPUS_MAX)
		return ctl_err_set(err, EINVAL, "cpus: want 1-%d, got %u", VSW_VM_CPUS_MAX,
				   p->cpus);
	if (p->n_nics > VSW_VM_MAX_NICS)
		return ctl_err_set(err, EINVAL, "nic: at most %d NICs, got %u", VSW_VM_MAX_NICS,
				   p->n_nics);
	return strict ? check_nics(vsw, p, err) : 0;
}

static char *dup_opt(const char *s, bool *fail)
{
	char *d = s ? strdup(s) : NULL;

	*fail |= s && !d;
	return d;
}

/* Adds the record of a checked definition. */
static struct vsw_vm *define(struct vsw *vsw, const struct vsw_vm_params *p, struct ctl_err *err)
{
	struct vsw_vm *vm = free_record(vsw);
	bool nomem = false;

	if (!vm) {
		ctl_err_set(err, ENOSPC, "vm: at most %d VMs", VSW_VM_MAX);
		return NULL;
	}
	vm->kernel = dup_opt(p->kernel, &nomem);
	vm->initrd = dup_opt(p->initrd, &nomem);
	vm->cmdline = dup_opt(p->cmdline, &nomem);
	vm->disk = dup_opt(p->disk, &nomem);
	if (nomem) {
		record_clear(vm);
		ctl_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	snprintf(vm->name, sizeof(vm->name), "%s", p->name);
	vm->memory_mib = p->memory_mib ? p->memory_mib : 256;
	vm->cpus = p->cpus ? p->cpus : 1;
	memcpy(vm->nics, p->nics, sizeof(p->nics[0]) * p->n_nics);
	vm->n_nics = p->n_nics;
	vm->managed = true;
	vm->heartbeat = -1;
	vm->used = true;
	return vm;
}

int vsw_vm_create(struct vsw *vsw, const struct vsw_vm_params *p, struct ctl_err *err)
{
	struct vsw_vm *vm;

	if (check_params(vsw, p, true, err))
		return -EINVAL;
	vm = define(vsw, p, err);
	if (!vm)
		return -ENOMEM;
	vsw_log(VSW_LOG_INFO, "vm %s: created (%u MiB, %u vCPU, %u NIC)", vm->name, vm->memory_mib,
		vm->cpus, vm->n_nics);
	defs_save(vsw);
	return 0;
}

/* ---- spawning ---- */

/* The directory of the control and vmbus-user sockets, where console logs go. */
static void run_dir(struct vsw *vsw, char *buf, size_t len)
{
	const char *path = vsw_vmbus_path(vsw);
	const char *slash = path ? strrchr(path, '/') : NULL;

	if (!slash)
		snprintf(buf, len, ".");
	else
		snprintf(buf, len, "%.*s", (int)(slash == path ? 1 : slash - path), path);
}

static void log_path(struct vsw *vsw, const struct vsw_vm *vm, char *buf, size_t len)
{
	char dir[PATH_MAX - 64];

	run_dir(vsw, dir, sizeof(dir));
	snprintf(buf, len, "%s/vm-%s.log", dir, vm->name);
}

static bool executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* $HVNET_VMM, else vmm/vmm of the build tree beside vswitchd, else vmm in $PATH. */
static int find_vmm(char *out, size_t len, struct ctl_err *err)
{
	const char *env = getenv("HVNET_VMM"), *path = getenv("PATH");
	char self[PATH_MAX - 16], *slash;
	ssize_t n;

	if (env && *env) {
		snprintf(out, len, "%s", env);
		if (!executable(out))
			return ctl_err_set(err, ENOENT,
					   "vm: HVNET_VMM='%s' is not an executable file", env);
		return 0;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			char real[PATH_MAX];

			*slash = '\0';
			snprintf(out, len, "%s/../vmm/vmm", self);
			if (executable(out)) {
				if (realpath(out, real))
					snprintf(out, len, "%s", real);
				return 0;
			}
		}
	}
	for (const char *p = path ? path : "/usr/local/bin:/usr/bin"; *p;) {
		size_t l = strcspn(p, ":");

		snprintf(out, len, "%.*s/vmm", (int)l, p);
		if (l && executable(out))
			return 0;
		p += l + (p[l] == ':');
	}
	return ctl_err_set(err, ENOENT, "vm: no vmm program (set HVNET_VMM, or put vmm in PATH)");
}

/* ---- definitions kept beside the sockets across vswitchd restarts ---- */

static void defs_path(struct vsw *vsw, char *buf, size_t len)
{
	char dir[PATH_MAX - 64];

	run_dir(vsw, dir, sizeof(dir));
	snprintf(buf, len, "%s/vms.json", dir);
}

static void set_str(json_t *o, const char *key, const char *s)
{
	if (s)
		json_object_set_new(o, key, json_string(s));
}

/* A definition as vm.create's arguments, plus the pid of its running vmm. */
static json_t *def_json(const struct vsw_vm *vm)
{
	json_t *o = json_pack("{s:s,s:s,s:i,s:i,s:i,s:[]}", "name", vm->name, "kernel", vm->kernel,
			      "memory", (int)vm->memory_mib, "cpus", (int)vm->cpus, "pid",
			      vm->state != VM_OFF ? (int)vm->pid : 0, "nic");
	char spec[64];

	if (!o)
		return NULL;
	set_str(o, "initrd", vm->initrd);
	set_str(o, "cmdline", vm->cmdline);
	set_str(o, "disk", vm->disk);
	for (unsigned int i = 0; i < vm->n_nics; i++) {
		ctl_format_nic_spec(&vm->nics[i], spec, sizeof(spec));
		json_array_append_new(json_object_get(o, "nic"), json_string(spec));
	}
	return o;
}

/* Writes every managed VM's definition to vms.json (mode 0600: command lines may be secret). */
static void defs_save(struct vsw *vsw)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	json_t *all = json_array(), *o;
	int fd = -1;

	for (unsigned int i = 0; all && i < VSW_VM_MAX; i++) {
		if (vsw->vms->vm[i].used && vsw->vms->vm[i].managed)
			json_array_append_new(all, def_json(&vsw->vms->vm[i]));
	}
	o = json_pack("{s:o}", "vms", all);
	defs_path(vsw, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (o)
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || json_dumpfd(o, fd, JSON_INDENT(1)) || fsync(fd) || rename(tmp, path))
		vsw_log(VSW_LOG_WARN, "vm: cannot save the VM definitions to %s: %s", path,
			strerror(errno));
	if (fd >= 0)
		close(fd);
	json_decref(o);
}

static const char *jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static uint32_t juint(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) && json_integer_value(v) > 0 && json_integer_value(v) <= INT_MAX
		       ? (uint32_t)json_integer_value(v)
		       : 0;
}

/* True when pid is a live process whose command line has "--name NAME" (our vmm). */
static bool is_vmm_of(pid_t pid, const char *name)
{
	char path[64], buf[8192];
	size_t want = strlen(name) + 8;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	for (ssize_t i = 0; n > 0 && i + (ssize_t)want <= n; i++) {
		if ((i == 0 || buf[i - 1] == '\0') && !memcmp(buf + i, "--name", 7) &&
		    !memcmp(buf + i + 7, name, want - 7))
			return !foreign_gone(pid);
	}
	return false;
}

/* Restores one definition; a vmm of it that still runs is adopted. */
static void def_load(struct vsw *vsw, json_t *d)
{
	struct vsw_vm_params p = {.name = jstr(d, "name"),
				  .kernel = jstr(d, "kernel"),
				  .initrd = jstr(d, "initrd"),
				  .cmdline = jstr(d, "cmdline"),
				  .disk = jstr(d, "disk"),
				  .memory_mib = juint(d, "memory"),
				  .cpus = juint(d, "cpus")};
	json_t *nics = json_object_get(d, "nic"), *v;
	struct ctl_err err = {.msg = "malformed entry"};
	pid_t pid = (pid_t)juint(d, "pid");
	struct vsw_vm *vm = NULL;
	size_t i;

	p.n_nics = (unsigned int)json_array_size(nics);
	json_array_foreach(nics, i, v) {
		if (i >= VSW_VM_MAX_NICS ||
		    ctl_parse_nic_spec(json_string_value(v), &p.nics[i], &err))
			goto err_skip;
	}
	if (check_params(vsw, &p, false, &err) || !(vm = define(vsw, &p, &err)))
		goto err_skip;
	if (pid > 0 && is_vmm_of(pid, vm->name)) {
		vm->pid = pid;
		vm->state = VM_RUNNING;
		vm->started_ms = now_ms();
	}
	vsw_log(VSW_LOG_INFO, "vm %s: definition restored%s", vm->name,
		vm->pid ? ", its vmm still runs" : "");
	return;

err_skip:
	vsw_log(VSW_LOG_WARN, "vm: skipping a definition in vms.json: %s", err.msg);
}

/* Reads vms.json once, when the socket directory is known. */
static void defs_load_once(struct vsw *vsw)
{
	struct vsw_vms *vms = vsw->vms;
	char path[PATH_MAX];
	json_t *o, *d;
	size_t i;

	if (!vms || vms->loaded || !vsw_vmbus_path(vsw))
		return;
	vms->loaded = true;
	defs_path(vsw, path, sizeof(path));
	o = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
	if (!o && access(path, F_OK) == 0)
		vsw_log(VSW_LOG_WARN, "vm: %s is not valid JSON; no VM definitions restored", path);
	json_array_foreach(json_object_get(o, "vms"), i, d)
		def_load(vsw, d);
	json_decref(o);
}

struct spawn_args {
	char *argv[32 + VSW_VM_MAX_NICS * 2];
	char vmm[PATH_MAX], mem[16], cpus[16], nics[VSW_VM_MAX_NICS][64];
};

static void build_argv(struct vsw *vsw, const struct vsw_vm *vm, struct spawn_args *a)
{
	unsigned int n = 0;

	snprintf(a->mem, sizeof(a->mem), "%u", vm->memory_mib);
	snprintf(a->cpus, sizeof(a->cpus), "%u", vm->cpus);
	a->argv[n++] = a->vmm;
	a->argv[n++] = "--name";
	a->argv[n++] = (char *)vm->name;
	if (vm->n_nics) { /* vmm connects only to serve NICs */
		a->argv[n++] = "--vswitchd";
		a->argv[n++] = (char *)vsw_vmbus_path(vsw);
	}
	a->argv[n++] = "--kernel";
	a->argv[n++] = vm->kernel;
	if (vm->initrd) {
		a->argv[n++] = "--initrd";
		a->argv[n++] = vm->initrd;
	}
	if (vm->cmdline) {
		a->argv[n++] = "--cmdline";
		a->argv[n++] = vm->cmdline;
	}
	a->argv[n++] = "--memory";
	a->argv[n++] = a->mem;
	a->argv[n++] = "--cpus";
	a->argv[n++] = a->cpus;
	for (unsigned int i = 0; i < vm->n_nics; i++) {
		ctl_format_nic_spec(&vm->nics[i], a->nics[i], sizeof(a->nics[i]));
		a->argv[n++] = "--nic";
		a->argv[n++] = a->nics[i];
	}
	a->argv[n] = NULL;
}

/* Runs argv in a new session: stdin /dev/null, stdout and stderr to log_fd, nothing else open. */
static int spawn(char **argv, int log_fd, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	int rc;

	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, log_fd, 1);
	posix_spawn_file_actions_adddup2(&fa, log_fd, 2);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
						POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawn(pid, argv[0], &fa, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	return -rc;
}

static int check_start(struct vsw *vsw, const struct vsw_vm *vm, struct ctl_err *err)
{
	if (alive(vm))
		return ctl_err_set(err, EBUSY, "vm: '%s' is %s already (pid %d)", vm->name,
				   state_names[vm->state], (int)vm->pid);
	if (!vsw_vmbus_path(vsw))
		return ctl_err_set(err, ENOTCONN, "vm: vswitchd has no vmbus-user socket");
	if (check_file("kernel", vm->kernel, err) || check_file("initrd", vm->initrd, err))
		return -EINVAL;
	for (unsigned int i = 0; i < vm->n_nics; i++) {
		if (!vsw_find_switch(vsw, vm->nics[i].sw, NULL))
			return ctl_err_set(err, ENOENT,
					   "nic: switch '%s' of VM '%s' does not exist any more",
					   vm->nics[i].sw, vm->name);
	}
	return 0;
}

int vsw_vm_start(struct vsw *vsw, const char *name, struct ctl_err *err)
{
	struct vsw_vm *vm = find_vm(vsw, name, err);
	struct spawn_args *a;
	char log[PATH_MAX];
	int fd, rc;
	pid_t pid;

	if (!vm)
		return -ENOENT;
	if (check_start(vsw, vm, err))
		return -EINVAL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return ctl_err_set(err, ENOMEM, "out of memory");
	rc = find_vmm(a->vmm, sizeof(a->vmm), err);
	if (rc)
		goto err_free;
	build_argv(vsw, vm, a);
	log_path(vsw, vm, log, sizeof(log));
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = ctl_err_set(err, errno, "vm: cannot create the console log %s: %s", log,
				 strerror(errno));
		goto err_free;
	}
	rc = spawn(a->argv, fd, &pid);
	close(fd);
	if (rc) {
		ctl_err_set(err, -rc, "vm: cannot run %s: %s", a->vmm, strerror(-rc));
		goto err_free;
	}
	vm->pid = pid;
	vm->child = true;
	vm->state = vm->n_nics ? VM_STARTING : VM_RUNNING; /* no NICs: never connects */
	vm->started_ms = now_ms();
	vm->sent_term = 0;
	vm->sent_kill = vm->shutdown_pending = false;
	vm->heartbeat = -1;
	vm->last_exit[0] = '\0';
	vsw_log(VSW_LOG_INFO, "vm %s: started %s as pid %d, console %s", vm->name, a->vmm, (int)pid,
		log);
	free(a);
	defs_save(vsw);
	return 0;

err_free:
	free(a);
	return rc;
}

/* ---- answering waiting clients ---- */

/* Sends obj as one line on fd (flags: MSG_DONTWAIT or 0). Steals obj. */
static bool send_line(int fd, json_t *obj, int flags)
{
	size_t len;
	char *line = obj ? ctl_encode_line(obj, &len) : NULL;
	bool ok = line && send(fd, line, len, MSG_NOSIGNAL | flags) == (ssize_t)len;

	free(line);
	json_decref(obj);
	return ok;
}

/* Answers a waiting client (never blocking) and closes its connection. Steals obj. */
static void answer(int fd, json_t *obj)
{
	if (!send_line(fd, obj, MSG_DONTWAIT))
		vsw_log(VSW_LOG_DEBUG, "vm: client went away before its answer");
	close(fd);
}

static json_t *answer_ok(const struct vsw_vm *vm)
{
	json_t *o = json_pack("{s:s,s:s}", "name", vm->name, "state", state_names[vm->state]);

	if (o && vm->last_exit[0] && vm->state == VM_OFF)
		json_object_set_new(o, "exit", json_string(vm->last_exit));
	return o;
}

static json_t *answer_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static json_t *answer_error(const char *fmt, ...)
{
	char msg[CTL_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:s}", "error", msg);
}

static void waiter_remove(struct vsw_vms *vms, unsigned int i, json_t *reply)
{
	answer(vms->waiters[i].fd, reply);
	vms->waiters[i] = vms->waiters[--vms->n_waiters];
}

static int waiter_add(struct vsw *vsw, struct vsw_vm *vm, struct ctl_conn *conn,
		      const struct vm_waiter *w, struct ctl_err *err)
{
	struct vsw_vms *vms = vsw->vms;
	struct vm_waiter *n;

	if (vms->n_waiters == VM_WAITERS_MAX)
		return ctl_err_set(err, EBUSY, "vm: %d clients wait for VMs already",
				   VM_WAITERS_MAX);
	n = &vms->waiters[vms->n_waiters++];
	*n = *w;
	n->vm = vm_index(vsw, vm);
	n->fd = ctl_conn_detach(conn);
	n->deadline_ms = now_ms() + (uint64_t)w->timeout_s * 1000;
	return 0;
}

/* The VM's process is gone: every waiter of it is answered. */
static void waiters_vm_off(struct vsw *vsw, const struct vsw_vm *vm)
{
	struct vsw_vms *vms = vsw->vms;

	for (unsigned int i = vms->n_waiters; i-- > 0;) {
		if (vms->waiters[i].vm == vm_index(vsw, vm))
			waiter_remove(vms, i, answer_ok(vm));
	}
}

/* The vmm answered a shutdown request (status 0) or refused it. */
static void waiters_ack(struct vsw *vsw, const struct vsw_vm *vm, int status, const char *msg)
{
	struct vsw_vms *vms = vsw->vms;

	for (unsigned int i = vms->n_waiters; i-- > 0;) {
		struct vm_waiter *w = &vms->waiters[i];

		if (w->vm != vm_index(vsw, vm) || !w->need_ack)
			continue;
		w->need_ack = false;
		if (status)
			waiter_remove(vms, i, answer_error("shutdown: %s", msg));
		else if (!w->need_off)
			waiter_remove(vms, i, answer_ok(vm));
	}
}

static void waiters_expire(struct vsw *vsw, uint64_t now)
{
	struct vsw_vms *vms = vsw->vms;

	for (unsigned int i = vms->n_waiters; i-- > 0;) {
		struct vm_waiter *w = &vms->waiters[i];
		const struct vsw_vm *vm = &vms->vm[w->vm];

		if (now < w->deadline_ms)
			continue;
		if (w->need_ack)
			waiter_remove(vms, i,
				      answer_error("shutdown: no answer from the vmm of '%s' "
						   "within %u s",
						   vm->name, w->timeout_s));
		else if (w->shutdown)
			waiter_remove(vms, i,
				      answer_error("shutdown: '%s' is still %s after %u s "
						   "(vm stop powers it off)",
						   vm->name, state_names[vm->state], w->timeout_s));
		else
			waiter_remove(vms, i,
				      answer_error("stop: '%s' (pid %d) did not exit after SIGKILL",
						   vm->name, (int)vm->pid));
	}
}

/* ---- shutdown and stop ---- */

static const char *heartbeat_name(const struct vsw_vm *vm)
{
	if (!vm->connected || vm->heartbeat < 0)
		return "unknown";
	return heartbeat_names[vm->heartbeat];
}

static int check_shutdown(const struct vsw_vm *vm, struct ctl_err *err)
{
	if (vm->state == VM_OFF)
		return ctl_err_set(err, EINVAL, "vm: '%s' is off", vm->name);
	if (vm->state == VM_STOPPING)
		return ctl_err_set(err, EBUSY, "vm: '%s' is stopping already", vm->name);
	if (vm->shutdown_pending)
		return ctl_err_set(err, EBUSY, "vm: a shutdown request to '%s' is pending already",
				   vm->name);
	return 0;
}

int vsw_vm_shutdown(struct vsw *vsw, const char *name, bool wait, unsigned int timeout_s,
		    struct ctl_conn *conn, struct ctl_err *err)
{
	struct vsw_vm *vm = find_vm(vsw, name, err);
	struct vm_waiter w = {.need_off = wait, .shutdown = true, .timeout_s = timeout_s};
	int rc;

	if (!vm || check_shutdown(vm, err))
		return -EINVAL;
	rc = vm->connected ? vsw_vmbus_request(vsw, vm->name, VMBUS_USER_REQ_SHUTDOWN) : -ENOTCONN;
	if (rc == -ENOTCONN) {
		/* vmm turns SIGTERM into the same request to the guest */
		if (kill(vm->pid, SIGTERM) < 0)
			return ctl_err_set(err, errno, "shutdown: cannot signal pid %d: %s",
					   (int)vm->pid, strerror(errno));
		vm->state = VM_SHUTTING_DOWN;
	} else if (rc) {
		return ctl_err_set(err, -rc, "shutdown: cannot reach the vmm of '%s': %s", vm->name,
				   strerror(-rc));
	} else {
		w.need_ack = true;
		vm->shutdown_pending = true;
	}
	vsw_log(VSW_LOG_INFO, "vm %s: shutdown requested (%s)", vm->name,
		rc ? "SIGTERM, not connected" : "shutdown service");
	if (!w.need_ack && !w.need_off) {
		answer(ctl_conn_detach(conn), answer_ok(vm));
		return 0;
	}
	return waiter_add(vsw, vm, conn, &w, err);
}

static void send_signal(struct vsw_vm *vm, int sig)
{
	if (vm->pid > 0 && kill(vm->pid, sig) < 0 && errno != ESRCH)
		vsw_log(VSW_LOG_WARN, "vm %s: cannot send signal %d to pid %d: %s", vm->name, sig,
			(int)vm->pid, strerror(errno));
	if (sig == SIGTERM) {
		vm->sent_term++;
		vm->term_ms = now_ms();
	} else {
		vm->sent_kill = true;
	}
}

int vsw_vm_stop(struct vsw *vsw, const char *name, struct ctl_conn *conn, struct ctl_err *err)
{
	struct vsw_vm *vm = find_vm(vsw, name, err);
	struct vm_waiter w = {.need_off = true, .timeout_s = VM_STOP_GIVE_UP_MS / 1000};

	if (!vm)
		return -ENOENT;
	if (vm->state == VM_OFF)
		return ctl_err_set(err, EINVAL, "vm: '%s' is off already", vm->name);
	if (vm->state != VM_STOPPING) {
		vm->state = VM_STOPPING;
		vm->stop_ms = now_ms();
		vm->sent_term = 0;
		vm->sent_kill = false;
		if (!vm->connected || vsw_vmbus_request(vsw, vm->name, VMBUS_USER_REQ_POWEROFF) < 0)
			send_signal(vm, SIGTERM);
		vsw_log(VSW_LOG_INFO, "vm %s: stopping pid %d (%s)", vm->name, (int)vm->pid,
			vm->sent_term ? "SIGTERM" : "power-off request");
	}
	return waiter_add(vsw, vm, conn, &w, err);
}

/*
 * vm stop: SIGTERM when the process outlives the power-off request, a
 * second one (vmm takes the first as a shutdown request and the second as
 * stop at once), then SIGKILL.
 */
static void stop_escalate(struct vsw_vm *vm, uint64_t now)
{
	if (vm->state != VM_STOPPING)
		return;
	if (!vm->sent_term && now >= vm->stop_ms + VM_STOP_TERM_MS)
		send_signal(vm, SIGTERM);
	if (vm->sent_term == 1 && now >= vm->term_ms + VM_STOP_TERM2_MS)
		send_signal(vm, SIGTERM);
	if (!vm->sent_kill && now >= vm->stop_ms + VM_STOP_KILL_MS) {
		vsw_log(VSW_LOG_WARN, "vm %s: pid %d ignored the power-off and SIGTERM; SIGKILL",
			vm->name, (int)vm->pid);
		send_signal(vm, SIGKILL);
	}
}

/* ---- the process went away ---- */

static void describe_exit(struct vsw_vm *vm, int status)
{
	static const char *const meaning[] = {
		"guest powered off", "vmm or KVM error",    "usage or configuration error",
		"guest reset",	     "stopped by a signal", "powered off by vswitchd"};

	if (status < 0)
		snprintf(vm->last_exit, sizeof(vm->last_exit),
			 "exited (status unknown: not a child of this vswitchd)");
	else if (WIFSIGNALED(status))
		snprintf(vm->last_exit, sizeof(vm->last_exit), "killed by signal %d",
			 WTERMSIG(status));
	else if (WEXITSTATUS(status) < 6)
		snprintf(vm->last_exit, sizeof(vm->last_exit), "exit %d: %s", WEXITSTATUS(status),
			 meaning[WEXITSTATUS(status)]);
	else
		snprintf(vm->last_exit, sizeof(vm->last_exit), "exit %d", WEXITSTATUS(status));
}

static void consoles_vm_off(struct vsw *vsw, const struct vsw_vm *vm)
{
	for (unsigned int i = 0; i < vsw->vms->n_consoles; i++) {
		if (vsw->vms->consoles[i].vm == vm_index(vsw, vm))
			vsw->vms->consoles[i].vm_off = true;
	}
}

static void went_off(struct vsw *vsw, struct vsw_vm *vm, int status)
{
	describe_exit(vm, status);
	vsw_log(VSW_LOG_INFO, "vm %s: pid %d %s", vm->name, (int)vm->pid, vm->last_exit);
	vm->state = VM_OFF;
	vm->pid = 0;
	vm->child = vm->connected = vm->shutdown_pending = false;
	vm->heartbeat = -1;
	vm->n_ports = 0; /* the server removes the ports with the connection */
	waiters_vm_off(vsw, vm);
	consoles_vm_off(vsw, vm);
	if (!vm->managed)
		record_clear(vm); /* a standalone vmm leaves nothing behind */
	else
		defs_save(vsw);
}

/* True when a process that is not our child is gone (or a zombie its parent did not reap). */
static bool foreign_gone(pid_t pid)
{
	char path[64], buf[256], *paren;
	ssize_t n;
	int fd;

	if (kill(pid, 0) < 0 && errno == ESRCH)
		return true;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	paren = strrchr(buf, ')');
	return paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X');
}

static void reap(struct vsw *vsw, struct vsw_vm *vm)
{
	int status;

	if (!alive(vm) || vm->pid <= 0)
		return;
	if (vm->child) {
		pid_t r = waitpid(vm->pid, &status, WNOHANG);

		if (r == vm->pid)
			went_off(vsw, vm, status);
		else if (r < 0 && errno == ECHILD) /* reaped elsewhere */
			went_off(vsw, vm, -1);
	} else if (foreign_gone(vm->pid)) {
		went_off(vsw, vm, -1);
	}
}

int vsw_vm_del(struct vsw *vsw, const char *name, struct ctl_err *err)
{
	struct vsw_vm *vm = find_vm(vsw, name, err);
	char log[PATH_MAX];

	if (!vm)
		return -ENOENT;
	if (!vm->managed)
		return ctl_err_set(err, EBUSY,
				   "vm: '%s' is a standalone vmm (pid %d) that is "
				   "running; stop it first (vm stop %s)",
				   vm->name, (int)vm->pid, vm->name);
	if (alive(vm))
		return ctl_err_set(err, EBUSY,
				   "vm: '%s' is %s (pid %d); stop it first (vm stop %s)", vm->name,
				   state_names[vm->state], (int)vm->pid, vm->name);
	for (unsigned int i = vsw->vms->n_consoles; i-- > 0;) {
		if (vsw->vms->consoles[i].vm == vm_index(vsw, vm))
			vsw->vms->consoles[i].vm_off = true;
	}
	log_path(vsw, vm, log, sizeof(log));
	unlink(log);
	strncat(log, ".1", sizeof(log) - strlen(log) - 1);
	unlink(log);
	vsw_log(VSW_LOG_INFO, "vm %s: deleted", vm->name);
	record_clear(vm);
	defs_save(vsw);
	return 0;
}

/* ---- console ---- */

static void console_close(struct vsw_vms *vms, unsigned int i)
{
	close(vms->consoles[i].fd);
	close(vms->consoles[i].log_fd);
	vms->consoles[i] = vms->consoles[--vms->n_consoles];
}

/* True when the client closed its end (or sent something, which a console does not take). */
static bool client_gone(int fd)
{
	char buf[64];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* Sends what the log has beyond c->off. Returns false when the stream is over. */
static bool console_feed(struct vm_console *c)
{
	static char buf[VM_CONSOLE_CHUNK];
	unsigned int budget = VM_CONSOLE_TICK_MAX;
	struct stat st;

	if (client_gone(c->fd))
		return false;
	if (fstat(c->log_fd, &st) == 0 && st.st_size < c->off)
		c->off = 0; /* the VM started again: a new log */
	while (budget) {
		ssize_t n = pread(c->log_fd, buf, sizeof(buf), c->off), s;

		if (n <= 0)
			return c->follow && !c->vm_off;
		s = send(c->fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (s < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
		c->off += s;
		budget -= budget < (unsigned int)s ? budget : (unsigned int)s;
		if (s < n)
			return true; /* the client's buffer is full: more next tick */
	}
	return true;
}

static void consoles_feed(struct vsw_vms *vms)
{
	for (unsigned int i = vms->n_consoles; i-- > 0;) {
		if (!console_feed(&vms->consoles[i]))
			console_close(vms, i);
	}
}

int vsw_vm_console(struct vsw *vsw, const char *name, bool follow, struct ctl_conn *conn,
		   struct ctl_err *err)
{
	struct vsw_vm *vm = find_vm(vsw, name, err);
	struct vsw_vms *vms = vsw->vms;
	struct vm_console *c;
	char log[PATH_MAX];
	json_t *head;
	int fd;

	if (!vm)
		return -ENOENT;
	if (!vm->managed)
		return ctl_err_set(err, EINVAL,
				   "console: '%s' is a standalone vmm; its console is "
				   "where it was started",
				   vm->name);
	if (vms->n_consoles == VM_CONSOLES_MAX)
		return ctl_err_set(err, EBUSY, "console: %d console streams run already",
				   VM_CONSOLES_MAX);
	log_path(vsw, vm, log, sizeof(log));
	fd = open(log, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return ctl_err_set(err, ENOENT, "console: '%s' has not run yet (no console log)",
				   vm->name);
	if (fd < 0)
		return ctl_err_set(err, errno, "console: cannot read %s: %s", log, strerror(errno));
	c = &vms->consoles[vms->n_consoles++];
	*c = (struct vm_console){
		.log_fd = fd, .vm = vm_index(vsw, vm), .follow = follow, .vm_off = !alive(vm)};
	c->fd = ctl_conn_detach(conn);
	head = json_pack("{s:s,s:s,s:b}", "name", vm->name, "log", log, "follow", follow);
	if (!send_line(c->fd, head, 0) || !console_feed(c))
		console_close(vms, vms->n_consoles - 1);
	return 0;
}

/* ---- views ---- */

static json_t *nic_config_json(const struct vsw_vm *vm, unsigned int i)
{
	const struct ctl_nic_spec *n = &vm->nics[i];
	char m[18];

	if (n->has_mac)
		ctl_format_mac(n->mac, m);
	return json_pack("{s:o,s:s,s:o,s:o,s:s}", "port",
			 i < vm->n_ports ? json_string(vm->ports[i]) : json_null(), "switch", n->sw,
			 "mac", n->has_mac ? json_string(m) : json_null(), "vlan",
			 json_integer(n->vlan), "link", "down");
}

static json_t *nics_json(struct vsw *vsw, const struct vsw_vm *vm)
{
	unsigned int n = vm->managed ? vm->n_nics : vm->n_ports;
	json_t *a = json_array();

	for (unsigned int i = 0; a && i < n; i++) {
		json_t *j = vm->connected && i < vm->n_ports ? vsw_vmbus_nic_json(vsw, vm->ports[i])
							     : NULL;

		if (!j && vm->managed)
			j = nic_config_json(vm, i);
		if (j)
			json_array_append_new(a, j);
	}
	return a;
}

static json_t *opt_str(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *vm_json(struct vsw *vsw, const struct vsw_vm *vm)
{
	char log[PATH_MAX];
	json_t *o;

	log_path(vsw, vm, log, sizeof(log));
	o = json_pack("{s:s,s:s,s:o,s:i,s:i,s:o,s:s,s:b,s:b}", "name", vm->name, "state",
		      state_names[vm->state], "pid",
		      vm->pid > 0 ? json_integer(vm->pid) : json_null(), "cpus", (int)vm->cpus,
		      "memory_mib", (int)vm->memory_mib, "nics", nics_json(vsw, vm), "heartbeat",
		      heartbeat_name(vm), "managed", vm->managed, "connected", vm->connected);
	if (!o)
		return NULL;
	json_object_set_new(o, "uptime",
			    alive(vm) && vm->started_ms
				    ? json_integer((json_int_t)((now_ms() - vm->started_ms) / 1000))
				    : json_null());
	json_object_set_new(o, "kernel", opt_str(vm->kernel));
	json_object_set_new(o, "initrd", opt_str(vm->initrd));
	json_object_set_new(o, "cmdline", opt_str(vm->cmdline));
	json_object_set_new(o, "disk", opt_str(vm->disk));
	json_object_set_new(o, "console_log", vm->managed ? json_string(log) : json_null());
	json_object_set_new(o, "last_exit",
			    vm->last_exit[0] ? json_string(vm->last_exit) : json_null());
	return o;
}

json_t *vsw_vm_json(struct vsw *vsw, const char *name, struct ctl_err *err)
{
	struct vsw_vm *vm = find_vm(vsw, name, err);

	return vm ? vm_json(vsw, vm) : NULL;
}

json_t *vsw_vm_list_json(struct vsw *vsw)
{
	json_t *a = json_array();

	defs_load_once(vsw);
	for (unsigned int i = 0; a && vsw->vms && i < VSW_VM_MAX; i++) {
		if (vsw->vms->vm[i].used)
			json_array_append_new(a, vm_json(vsw, &vsw->vms->vm[i]));
	}
	return json_pack("{s:o}", "vms", a);
}

/* ---- events from the vmbus-user server ---- */

static int adopt(struct vsw_vm *vm, uint64_t pid, struct ctl_err *err)
{
	if (vm->connected)
		return ctl_err_set(err, EEXIST, "vm: a VM named '%s' is connected already (pid %d)",
				   vm->name, (int)vm->pid);
	if (vm->child && alive(vm) && (uint64_t)vm->pid != pid)
		return ctl_err_set(err, EEXIST, "vm: vswitchd started '%s' as pid %d, not %llu",
				   vm->name, (int)vm->pid, (unsigned long long)pid);
	if (!alive(vm)) { /* a defined VM that someone started by hand */
		vm->pid = (pid_t)pid;
		vm->child = false;
		vm->state = VM_RUNNING;
		vm->started_ms = now_ms();
		vm->last_exit[0] = '\0';
	}
	return 0;
}

int vsw_vm_connected(struct vsw *vsw, const char *name, uint64_t pid, uint32_t cpus,
		     uint32_t memory_mib, const char *const *nic_ports, unsigned int n_nics,
		     struct ctl_err *err)
{
	struct vsw_vm *vm;

	if (ctl_parse_name("vm", name, VMBUS_USER_NAME_LEN - 1, err))
		return -EINVAL;
	if (n_nics > VSW_VM_MAX_NICS || pid == 0 || pid > INT_MAX)
		return ctl_err_set(err, EINVAL, "vm: bad HELLO from '%s' (pid %llu, %u NICs)", name,
				   (unsigned long long)pid, n_nics);
	vm = find_vm(vsw, name, NULL);
	if (vm && adopt(vm, pid, err))
		return -EEXIST;
	if (vm && vm->managed && !vm->child)
		defs_save(vsw); /* a vmm started by hand for a defined VM: remember its pid */
	if (!vm) {
		vm = free_record(vsw);
		if (!vm)
			return ctl_err_set(err, ENOSPC, "vm: at most %d VMs", VSW_VM_MAX);
		snprintf(vm->name, sizeof(vm->name), "%s", name);
		vm->used = true;
		vm->pid = (pid_t)pid;
		vm->cpus = cpus;
		vm->memory_mib = memory_mib;
		vm->state = VM_RUNNING;
		vm->started_ms = now_ms();
	}
	for (unsigned int i = 0; i < n_nics; i++)
		snprintf(vm->ports[i], sizeof(vm->ports[i]), "%s",
			 nic_ports[i] ? nic_ports[i] : "");
	vm->n_ports = n_nics;
	vm->connected = true;
	vm->heartbeat = VMBUS_USER_HB_NO_CONTACT;
	if (vm->state == VM_STARTING)
		vm->state = VM_RUNNING;
	vsw_log(VSW_LOG_INFO, "vm %s: vmm pid %llu connected (%u NIC)%s", vm->name,
		(unsigned long long)pid, n_nics, vm->managed ? "" : ", standalone");
	return 0;
}

void vsw_vm_status(struct vsw *vsw, const char *name, const struct vmbus_user_status *st)
{
	struct vsw_vm *vm = find_vm(vsw, name, NULL);

	if (!vm || !vm->connected)
		return;
	if (st->heartbeat <= VMBUS_USER_HB_LOST_CONTACT)
		vm->heartbeat = (int)st->heartbeat;
	if (st->state == VMBUS_USER_VM_SHUTTING_DOWN && vm->state == VM_RUNNING)
		vm->state = VM_SHUTTING_DOWN;
}

void vsw_vm_request_done(struct vsw *vsw, const char *name, const struct vmbus_user_request *reply)
{
	struct vsw_vm *vm = find_vm(vsw, name, NULL);
	char msg[sizeof(reply->message) + 1];

	if (!vm)
		return;
	snprintf(msg, sizeof(msg), "%.*s", (int)sizeof(reply->message), reply->message);
	if (reply->op == VMBUS_USER_REQ_SHUTDOWN) {
		vm->shutdown_pending = false;
		if (!reply->status && vm->state == VM_RUNNING)
			vm->state = VM_SHUTTING_DOWN;
		if (reply->status && !msg[0])
			snprintf(msg, sizeof(msg), "guest has no shutdown service (heartbeat %s)",
				 heartbeat_name(vm));
		waiters_ack(vsw, vm, reply->status, msg);
	} else if (reply->op == VMBUS_USER_REQ_POWEROFF && reply->status &&
		   vm->state == VM_STOPPING && !vm->sent_term) {
		vsw_log(VSW_LOG_WARN, "vm %s: power-off refused (%s); SIGTERM", vm->name, msg);
		send_signal(vm, SIGTERM);
	}
}

void vsw_vm_disconnected(struct vsw *vsw, const char *name)
{
	struct vsw_vm *vm = find_vm(vsw, name, NULL);

	if (!vm || !vm->connected)
		return;
	vm->connected = false;
	vm->heartbeat = -1;
	if (vm->shutdown_pending) {
		vm->shutdown_pending = false;
		waiters_ack(vsw, vm, -ENOTCONN, "the vmm disconnected before it answered");
	}
	vsw_log(VSW_LOG_INFO, "vm %s: vmm disconnected", vm->name);
}

/* Copies src to dst (replacing it). Returns 0 or a negative errno. */
static int copy_file(int src, const char *dst)
{
	char buf[65536];
	int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), rc = 0;
	ssize_t n;

	if (out < 0)
		return -errno;
	while (!rc && (n = read(src, buf, sizeof(buf))) != 0) {
		if (n < 0 || write(out, buf, (size_t)n) != n)
			rc = -EIO;
	}
	close(out);
	return rc;
}

/*
 * Keeps a console log under VM_LOG_MAX: its content moves to vm-NAME.log.1
 * and the log is truncated; the vmm appends (O_APPEND) from the new start.
 * The socket directory is usually a tmpfs: a chatty guest must not fill it.
 */
static void log_rotate(struct vsw *vsw, const struct vsw_vm *vm)
{
	char log[PATH_MAX], old[PATH_MAX + 4];
	struct stat st;
	int fd;

	log_path(vsw, vm, log, sizeof(log));
	if (stat(log, &st) < 0 || st.st_size <= (off_t)VM_LOG_MAX)
		return;
	snprintf(old, sizeof(old), "%s.1", log);
	fd = open(log, O_RDWR | O_CLOEXEC);
	if (fd < 0 || copy_file(fd, old) || ftruncate(fd, 0))
		vsw_log(VSW_LOG_WARN, "vm %s: cannot rotate %s: %s", vm->name, log,
			strerror(errno));
	else
		vsw_log(VSW_LOG_INFO, "vm %s: console log over %u MiB, moved to %s", vm->name,
			VM_LOG_MAX >> 20, old);
	if (fd >= 0)
		close(fd);
}

void vsw_vm_tick(struct vsw *vsw)
{
	uint64_t now = now_ms();
	bool check_logs;

	if (!vsw->vms)
		return;
	defs_load_once(vsw);
	check_logs = now >= vsw->vms->log_check_ms + VM_LOG_CHECK_MS;
	if (check_logs)
		vsw->vms->log_check_ms = now;
	for (unsigned int i = 0; i < VSW_VM_MAX; i++) {
		struct vsw_vm *vm = &vsw->vms->vm[i];

		if (!vm->used)
			continue;
		reap(vsw, vm);
		stop_escalate(vm, now);
		if (check_logs && vm->managed && alive(vm))
			log_rotate(vsw, vm);
	}
	waiters_expire(vsw, now);
	consoles_feed(vsw->vms);
}

void vsw_vms_free(struct vsw_vms *vms)
{
	if (!vms)
		return;
	while (vms->n_waiters)
		waiter_remove(vms, vms->n_waiters - 1, answer_error("vm: vswitchd is stopping"));
	while (vms->n_consoles)
		console_close(vms, vms->n_consoles - 1);
	for (unsigned int i = 0; i < VSW_VM_MAX; i++)
		record_clear(&vms->vm[i]);
	free(vms);
}
