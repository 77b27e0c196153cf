/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * VMs managed by vswitchd (the "vm" commands, docs/vswitchctl.md): each
 * running VM is one vmm process that vswitchd spawns (in its own session,
 * its serial console and stderr going to a log file beside the control
 * socket) and that connects back over the vmbus-user socket
 * (vsw_vmbus.h). The vmbus server reports what the vmm says through
 * vsw_vm_connected() .. vsw_vm_disconnected(); a vmm that vswitchd did not
 * spawn ("standalone") gets a record when it says HELLO.
 *
 * States: off -> starting (spawned, no HELLO yet) -> running (HELLO) ->
 * shutting-down (the guest is shutting down) / stopping (vm stop: power
 * off, then SIGTERM, then SIGKILL) -> off (process reaped). vswitchd
 * exiting leaves the vmm processes running: the definitions and the pids of
 * running vmms are kept in vms.json beside the sockets, the next vswitchd
 * restores them (on the first command or tick) and adopts the vmms that
 * still run, which reconnect on their own.
 *
 * Commands that finish later (vm stop, vm shutdown, vm console) take the
 * client's connection over (ctl_conn_detach) and answer from
 * vsw_vm_tick(). Everything here runs on the control thread.
 */
#ifndef VSW_VM_H
#define VSW_VM_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "ctl_err.h"
#include "ctl_parse.h"
#include "ctl_server.h"
#include "vmbus_user.h"

struct vsw;
struct vsw_vms;

#define VSW_VM_MAX	  64 /* VM records */
#define VSW_VM_NAME_MAX	  26 /* so that the NIC ports "NAME-nicN" fit a port name */
#define VSW_VM_MAX_NICS	  VMBUS_USER_MAX_NICS
#define VSW_VM_MEMORY_MIN 64 /* MiB */
#define VSW_VM_MEMORY_MAX (1024 * 1024)
#define VSW_VM_CPUS_MAX	  64

/* What vm create takes. Strings are the caller's; vsw_vm_create() copies them. */
struct vsw_vm_params {
	const char *name;
	const char *kernel, *initrd, *cmdline, *disk; /* all but kernel may be NULL */
	uint32_t memory_mib;			      /* 0: 256 */
	uint32_t cpus;				      /* 0: 1 */
	struct ctl_nic_spec nics[VSW_VM_MAX_NICS]; /* ctl_parse_nic_spec() */
	unsigned int n_nics;
};

/* ---- life of the registry (vsw.c) ---- */

/* An empty registry. NULL + errno on allocation failure. */
struct vsw_vms *vsw_vms_new(void);

/*
 * Frees the registry: answers waiting clients, closes console streams and
 * leaves the vmm processes running (they reconnect to the next vswitchd).
 * Accepts NULL.
 */
void vsw_vms_free(struct vsw_vms *vms);

/* ---- commands (vsw_ctl.c) ---- */

/*
 * Defines a VM (state off): checks the name, that kernel/initrd/disk are
 * readable files, memory and cpus ranges, that each NIC's switch exists
 * and that no other VM uses a NIC's MAC. Changes nothing on error.
 * Returns 0 or a negative errno with err set.
 */
int vsw_vm_create(struct vsw *vsw, const struct vsw_vm_params *p, struct ctl_err *err);

/* Spawns the VM's vmm (state starting). 0, or -EBUSY (not off), -ENOENT, ... with err set. */
int vsw_vm_start(struct vsw *vsw, const char *name, struct ctl_err *err);

/*
 * Asks the guest to shut down through its shutdown service (REQUEST
 * SHUTDOWN over vmbus-user; a vmm not connected gets SIGTERM, which it
 * turns into the same request). On success the connection is taken over:
 * the reply ({"name","state"} or {"error"}) is written when the vmm
 * answers, or with wait when the VM is off; timeout_s bounds either.
 * Returns 0 or a negative errno with err set (the server answers then).
 */
int vsw_vm_shutdown(struct vsw *vsw, const char *name, bool wait, unsigned int timeout_s,
		    struct ctl_conn *conn, struct ctl_err *err);

/*
 * Powers the VM off: REQUEST POWEROFF when connected, SIGTERM after a
 * grace, SIGKILL after another; answers on the taken-over connection once
 * the process is gone (state off). Returns 0 or a negative errno.
 */
int vsw_vm_stop(struct vsw *vsw, const char *name, struct ctl_conn *conn, struct ctl_err *err);

/* Removes an off VM (and its console log). -EBUSY while it runs. */
int vsw_vm_del(struct vsw *vsw, const char *name, struct ctl_err *err);

/*
 * Streams the VM's console log on the taken-over connection: one JSON line
 * ({"name","log","follow"}) and then the raw bytes; with follow, new output
 * as it comes until the VM is off or the client hangs up. Read-only.
 */
int vsw_vm_console(struct vsw *vsw, const char *name, bool follow, struct ctl_conn *conn,
		   struct ctl_err *err);

/* {"name","state","pid","cpus","memory_mib","nics":[...],"heartbeat",...}; NULL + err. */
json_t *vsw_vm_json(struct vsw *vsw, const char *name, struct ctl_err *err);

/* {"vms": [vm show objects]}. */
json_t *vsw_vm_list_json(struct vsw *vsw);

/* ---- events from the vmbus-user server (vsw_vmbus.c) and the control loop ---- */

/*
 * A vmm said HELLO. name/pid/cpus/memory from the message; nic_ports: the
 * port names the server created for its NICs (in NIC order). A VM created
 * with vm create is matched by name (state -> running); an unknown name is
 * a standalone vmm: a record is created for it (it shows in vm list;
 * vm del of a standalone VM is refused while it runs). Returns 0, or a
 * negative errno with err set (-EEXIST: a VM of that name is connected
 * already, or vswitchd spawned that VM as another process; -ENOSPC).
 */
int vsw_vm_connected(struct vsw *vsw, const char *name, uint64_t pid, uint32_t cpus,
		     uint32_t memory_mib, const char *const *nic_ports, unsigned int n_nics,
		     struct ctl_err *err);

/* A STATUS message of a connected vmm: heartbeat and guest state. */
void vsw_vm_status(struct vsw *vsw, const char *name, const struct vmbus_user_status *st);

/* A REQUEST_REPLY: the vmm's answer to vsw_vmbus_request(). */
void vsw_vm_request_done(struct vsw *vsw, const char *name, const struct vmbus_user_request *reply);

/* The vmm's connection closed (the process may still run and reconnect). */
void vsw_vm_disconnected(struct vsw *vsw, const char *name);

/*
 * Periodic work, about every 100 ms: reaps exited vmm processes
 * (waitpid WNOHANG on each child), notices standalone vmms that died,
 * escalates vm stop, expires waits and feeds console streams.
 */
void vsw_vm_tick(struct vsw *vsw);

#endif
