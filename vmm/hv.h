/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Hyper-V emulation of the VMM on top of KVM's in-kernel Hyper-V support:
 * SynIC (KVM_CAP_HYPERV_SYNIC2, one per vCPU; KVM keeps the MSRs, the
 * hypercall page, the VP index and the reference time counter), and the
 * VMBus transport for the vmbus/ host library: channel-management messages
 * are written into the guest's SIMP slot of SINT 2 (queued while the slot is
 * busy, redelivered when the guest writes EOM or frees the slot), channel
 * interrupts set SIEF bits and raise SINT 2 through an irqfd on a
 * KVM_IRQ_ROUTING_HV_SINT route, HvPostMessage arrives as a KVM_EXIT_HYPERV
 * hypercall exit and HvSignalEvent through KVM_HYPERV_EVENTFD doorbells (or
 * a hypercall exit for connection ids without one). The integration services
 * heartbeat, shutdown and time sync are registered at creation.
 *
 * Threads: a VMBus thread (vmm_hv_start) polls the doorbells, the EOM
 * notifications and the IC timers; vCPU threads call vmm_hv_handle_exit.
 * Everything that touches the VMBus host runs under one lock, so the
 * library sees one caller at a time.
 */
#ifndef VMM_HV_H
#define VMM_HV_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/kvm.h>

struct vmm_memory;
struct vmm_hv;
struct vmm_vsd_config;

struct vmm_hv_config {
	int vm_fd;
	const int *vcpu_fds;           /* ncpus vCPU fds, vCPU i = VP index i */
	unsigned ncpus;
	const struct vmm_memory *mem;  /* guest RAM: every guest address is checked */
	bool quiet;                    /* only warnings on stderr */
	/* synthetic NICs served by vswitchd (vsd_link.h): path, VM name, pid
	 * and NICs; hv fills in memory and vCPUs. NULL: none. Borrowed until
	 * vmm_hv_free. */
	const struct vmm_vsd_config *vsd;
	/* vswitchd's REQUEST POWEROFF: stop the VM (called on the VMBus thread) */
	void (*poweroff)(void *owner);
	void *owner;
};

/*
 * Enables SynIC on every vCPU, sets up the SINT 2 interrupt routes, creates
 * the VMBus host and the integration services. Call after the vCPUs got
 * their (Hyper-V) CPUID. Returns NULL with errno set (ENOTSUP when KVM lacks
 * KVM_CAP_HYPERV_SYNIC2 or the Hyper-V exits). Owner thread.
 */
struct vmm_hv *vmm_hv_new(const struct vmm_hv_config *cfg);

/*
 * With NICs: connects to vswitchd, sends HELLO and waits up to timeout_ms
 * for HELLO_REPLY, then sends the memory (vsd_link.h). 0 without NICs.
 * -ECONNREFUSED when vswitchd refused (its reason in err), another -errno
 * when it cannot be reached (reason in err). Owner thread, before start.
 */
int vmm_hv_connect_vswitchd(struct vmm_hv *hv, unsigned timeout_ms, char *err, size_t errlen);

/* Starts the VMBus thread. 0 or -errno. Owner thread, once. */
int vmm_hv_start(struct vmm_hv *hv);

/* Handles a KVM_EXIT_HYPERV of vCPU vp (SynIC MSR writes, hypercalls); the
 * hypercall result goes into run. vCPU thread. */
void vmm_hv_handle_exit(struct vmm_hv *hv, unsigned vp, struct kvm_run *run);

/*
 * Asks the guest to shut down through the shutdown IC. 0 when the request
 * was sent; -ENOTCONN when the guest has not opened the shutdown IC, -EBUSY
 * when a request is pending. Any thread.
 */
int vmm_hv_request_shutdown(struct vmm_hv *hv);

/* "no-contact", "ok" or "lost-contact": the guest's heartbeat. Any thread. */
const char *vmm_hv_heartbeat(struct vmm_hv *hv);

/* One line on stderr: the VMBus host's non-zero counters, how the guest
 * signalled, refused posts and the heartbeat; with NICs a second one with
 * the vswitchd link's counters. Any thread. */
void vmm_hv_report(struct vmm_hv *hv);

/* Stops the VMBus thread, closes channels and frees everything. NULL is
 * fine. Owner thread, after the vCPU threads stopped. */
void vmm_hv_free(struct vmm_hv *hv);

#endif
