/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vswitchd's end of the vmbus-user protocol (vmbus/vmbus_user.h): a
 * listening socket that VM processes (vmm, netvsc-sim) connect to. A HELLO
 * creates one synthetic port per NIC on the named switches (static MAC
 * entry, access VLAN); MEM, GPADL and CHANNEL_OPEN messages map the guest's
 * memory and hand the channel to the port (port_synth.h); STATUS and
 * REQUEST_REPLY go to the VM records (vsw_vm.h). When the connection ends,
 * the VM's ports are removed. NetVSP state is sent back to the VM side
 * (NIC_STATE) whenever it changes, so a restarted vswitchd resumes the
 * guest's NICs without a reboot.
 *
 * All functions: control thread.
 */
#ifndef VSW_VSW_VMBUS_H
#define VSW_VSW_VMBUS_H

#include <stdint.h>

#include <jansson.h>

#include "ctl_err.h"

struct vsw;
struct vsw_vmbus;

/*
 * The default vmbus-user socket path for a control socket path: the same
 * name with "-vmbus" before ".sock" (or ".vmbus" appended). Writes buf.
 */
const char *vsw_vmbus_default_path(const char *ctl_path, char *buf, size_t len);

/* Listens on path and attaches the server to vsw. NULL with err set. */
struct vsw_vmbus *vsw_vmbus_new(struct vsw *vsw, const char *path, struct ctl_err *err);

/* Accepts connections and handles messages for up to timeout_ms; sends changed NetVSP state
 * and channel failures to the VM sides. */
void vsw_vmbus_poll(struct vsw_vmbus *vb, int timeout_ms);

/* Drops every connection (their ports go away) and the socket. NULL is fine. */
void vsw_vmbus_free(struct vsw_vmbus *vb);

/* Sends a REQUEST (enum vmbus_user_request_op) to the VM's process; the reply reaches
 * vsw_vm_request_done(). 0, -ENOTCONN when that VM is not connected, -EPIPE. */
int vsw_vmbus_request(struct vsw *vsw, const char *vm_name, uint32_t op);

/* The socket path VMs connect to (for vmm --vswitchd). */
const char *vsw_vmbus_path(struct vsw *vsw);

/* {"port","switch","mac","vlan","link"} of a VM's NIC port, or NULL. */
json_t *vsw_vmbus_nic_json(struct vsw *vsw, const char *port);

#endif
