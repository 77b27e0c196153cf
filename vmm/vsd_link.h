/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The VM's link to vswitchd (vmbus-user protocol, vmbus/vmbus_user.h) and
 * the VMM half of its synthetic NICs. Each NIC is a VMBus device with the
 * synthetic network class GUID whose VSP never touches data: when the guest
 * opens the channel it hands the ring pages, the target vCPU's SIEF page, a
 * doorbell eventfd (KVM_HYPERV_EVENTFD on the channel's connection id) and
 * the vCPU's SINT 2 irqfd to vswitchd, which runs the NetVSP in its own poll
 * loop. Every GPADL the guest creates for the channel is sent before the
 * guest learns its id; a close waits (bounded) until vswitchd stopped
 * touching the rings. If vswitchd goes away the guest keeps running and the
 * link reconnects every second, replaying HELLO, MEM, the last NIC_STATE,
 * the GPADLs and CHANNEL_OPEN of open channels.
 *
 * It knows nothing of KVM: the VMM supplies struct vmm_vsd_ops (hv.c), a
 * test supplies fakes. Thread rules: every call, including the VSP callbacks
 * the VMBus host makes, runs under the caller's one lock (hv.c's VMBus
 * lock) — the link has no thread of its own. The owner polls
 * vmm_vsd_fd() for input and calls vmm_vsd_service() when it is readable or
 * vmm_vsd_timeout_ms() elapsed. Blocking is bounded: sends time out after
 * 1 s (the link then counts as dead), a close waits at most close_timeout_ms
 * for CHANNEL_CLOSED.
 */
#ifndef VMM_VSD_LINK_H
#define VMM_VSD_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmbus_user.h"

struct vmbus_host;
struct vmm_vsd;

/* Class GUID of the synthetic network adapter (hv_netvsc binds to it). */
#define VMM_VSD_NIC_CLASS "f8615163-df3e-46c5-913f-f2d2f965ed0e"

/* One NIC as the user asked for it (--nic). */
struct vmm_vsd_nic {
	char switch_name[VMBUS_USER_NAME_LEN];
	char port_name[VMBUS_USER_NAME_LEN]; /* "": vswitchd picks one */
	uint8_t mac[6];			     /* all zero: vswitchd assigns one */
	uint16_t vlan;			     /* 0: untagged */
	uint32_t mtu;			     /* 0: 1500 */
};

/* One guest RAM region: guest physical [gpa, gpa + size) at offset in the memfd. */
struct vmm_vsd_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t offset;
};

/* What the VM side provides; every op runs under the caller's lock. */
struct vmm_vsd_ops {
	/* The doorbell eventfd of channel relid: registered with
	 * KVM_HYPERV_EVENTFD for conn_id and never polled by the VMM. Created
	 * on the first call, then the same fd; owned by the provider (closed
	 * when the host reports the channel closed). Returns it or -errno. */
	int (*doorbell)(void *ctx, uint32_t relid, uint32_t conn_id);
	/* The irqfd of vCPU vp's SINT 2 route (borrowed), or -errno. */
	int (*irqfd)(void *ctx, uint32_t vp);
	/* GPA of vCPU vp's SIEF page, 0 while disabled. */
	uint64_t (*sief_gpa)(void *ctx, uint32_t vp);
	/* REQUEST SHUTDOWN: ask the guest through the shutdown IC; 0 or -errno. */
	int (*shutdown)(void *ctx);
	/* REQUEST POWEROFF: stop the VM now (asynchronously). */
	void (*poweroff)(void *ctx);
	/* Fills state, heartbeat, uptime_ms and vmbus_version for STATUS. */
	void (*status)(void *ctx, struct vmbus_user_status *st);
	/* Optional: one log line (syslog level, no newline). */
	void (*log)(void *ctx, int level, const char *line);
};

struct vmm_vsd_config {
	const char *path;    /* vswitchd's vmbus-user socket */
	const char *vm_name; /* < VMBUS_USER_NAME_LEN bytes */
	uint64_t pid;
	uint32_t nr_vcpus;
	uint32_t memory_mib;
	const struct vmm_vsd_nic *nics; /* 1..VMBUS_USER_MAX_NICS, copied */
	unsigned nr_nics;
	const struct vmm_vsd_region *regions; /* 1..VMBUS_USER_MAX_REGIONS, copied */
	unsigned nr_regions;
	int mem_fd;		   /* the guest memory memfd (borrowed; dup'd per MEM) */
	unsigned close_timeout_ms; /* wait for CHANNEL_CLOSED; 0: 1000 */
	unsigned retry_ms;	   /* reconnect period; 0: 1000 */
	unsigned status_ms;	   /* STATUS period; 0: 2000 */
};

/* Counters for logs and tests. */
struct vmm_vsd_stats {
	uint64_t connects; /* HELLO_REPLY accepted (first connect included) */
	uint64_t disconnects;
	uint64_t tx, rx;	 /* messages */
	uint64_t bad_rx;	 /* malformed or unexpected messages */
	uint64_t close_timeouts; /* CHANNEL_CLOSED did not come in time */
	uint64_t failed;	 /* CHANNEL_FAILED applied */
	uint64_t requests;
};

/*
 * Creates the link (not connected) and checks cfg. ops and ctx are
 * borrowed. Returns NULL with errno EINVAL (bad config) or ENOMEM.
 */
struct vmm_vsd *vmm_vsd_new(const struct vmm_vsd_config *cfg, const struct vmm_vsd_ops *ops,
			    void *ctx);

/*
 * Registers one VMBus device per NIC with host h (the synthetic network
 * class, a fresh instance GUID each). Before the guest runs. 0 or -errno.
 */
int vmm_vsd_add_nics(struct vmm_vsd *l, struct vmbus_host *h);

/*
 * First connection at startup: connects, sends HELLO, waits up to
 * timeout_ms for HELLO_REPLY and sends MEM. Returns 0; -ECONNREFUSED when
 * vswitchd refused (its message in err); another -errno when the socket
 * cannot be reached or answered badly (reason in err).
 */
int vmm_vsd_connect(struct vmm_vsd *l, unsigned timeout_ms, char *err, size_t errlen);

/* The socket to poll for POLLIN, or -1 while disconnected. */
int vmm_vsd_fd(const struct vmm_vsd *l);

/* Milliseconds (0..1000) until vmm_vsd_service() has timed work (reconnect,
 * STATUS); now_ms as for vmm_vsd_service(). */
int vmm_vsd_timeout_ms(const struct vmm_vsd *l, uint64_t now_ms);

/*
 * Handles what arrived (without blocking), retries a lost connection and
 * sends STATUS when due. now_ms is CLOCK_MONOTONIC in ms (the link keeps
 * its deadlines on that clock).
 */
void vmm_vsd_service(struct vmm_vsd *l, uint64_t now_ms);

/* The guest moved vCPU vp's SIEF page (0: disabled): tells vswitchd. */
void vmm_vsd_sief_moved(struct vmm_vsd *l, uint32_t vp, uint64_t gpa);

/* Sends STATUS now (heartbeat or VM state changed). */
void vmm_vsd_status_changed(struct vmm_vsd *l);

/* Whether the link is up (HELLO_REPLY accepted on the current socket). */
bool vmm_vsd_connected(const struct vmm_vsd *l);

/* The NIC's relid (0: not registered). */
uint32_t vmm_vsd_nic_relid(const struct vmm_vsd *l, unsigned nic);

void vmm_vsd_get_stats(const struct vmm_vsd *l, struct vmm_vsd_stats *st);

/* Closes the socket and frees the link; remove the NICs from the host (or
 * destroy the host) first. NULL is fine. */
void vmm_vsd_free(struct vmm_vsd *l);

#endif
