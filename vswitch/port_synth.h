/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Synthetic NIC ports: a VM's network adapter, served by NetVSP (netvsc/)
 * on the VMBus channel that the VM's process (vmm, or the guest simulator)
 * handed over the vmbus-user socket (vsw_vmbus.h). The guest's memory is
 * mapped here from the memfds it shares (struct vsw_gmem); ring and buffer
 * GPADLs are mapped page by page into contiguous address ranges.
 *
 * The datapath lcore that polls the port runs NetVSP: it reads the guest's
 * ring (control messages and frames), copies frames into mbufs, and copies
 * switched frames into the guest's receive buffer. The control thread
 * attaches and detaches the channel under a per-NIC spinlock that the
 * datapath only ever try-locks, so a channel change never blocks traffic
 * of other ports.
 *
 * Everything the guest wrote is untrusted: NetVSP validates it; a guest that
 * breaks the protocol loses its channel (vsw_synth_failed()), nothing more.
 */
#ifndef VSW_PORT_SYNTH_H
#define VSW_PORT_SYNTH_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

struct vsw_gmem;
struct vsw_synth;
struct vmbus_user_channel_open;

#define VSW_GMEM_MAX_REGIONS 4

/* Guest memory of one VM. Control thread. */
struct vsw_gmem *vsw_gmem_new(void);
/* Maps [gpa, gpa+size) from fd at offset (fd is taken over). 0 or -errno. */
int vsw_gmem_add(struct vsw_gmem *gm, int fd, uint64_t gpa, uint64_t size, uint64_t offset);
/* Host pointer for guest-physical [gpa, gpa+len) inside one region, else NULL. Any thread. */
void *vsw_gmem_ptr(const struct vsw_gmem *gm, uint64_t gpa, uint64_t len);
/* Maps n guest pages contiguously (NULL + errno when a page is outside RAM); undo with
 * vsw_gmem_unmap(). */
void *vsw_gmem_map_pages(const struct vsw_gmem *gm, const uint64_t *pfns, uint32_t n);
void vsw_gmem_unmap(void *va, uint32_t n);
/* Unmaps everything. NULL is fine. The NICs using it must be freed first. */
void vsw_gmem_free(struct vsw_gmem *gm);

/* A synthetic NIC. name is used in logs. NULL + errno. Control thread. */
struct vsw_synth *vsw_synth_new(struct vsw_gmem *gm, const char *name, const uint8_t mac[6],
				uint32_t mtu);
void vsw_synth_free(struct vsw_synth *s);

/* A buffer GPADL of the NIC's channel. 0, -EEXIST, -EINVAL (page outside RAM), -ENOSPC. */
int vsw_synth_add_gpadl(struct vsw_synth *s, uint32_t gpadl, const uint64_t *pfns, uint32_t n);
/* Forgets a GPADL (its mapping stays until the channel closes if NetVSP may use it). */
void vsw_synth_del_gpadl(struct vsw_synth *s, uint32_t gpadl);

/*
 * Attaches the channel described by o (ring GPADL pages, target vCPU, SIEF
 * page) with its doorbell and interrupt eventfds (taken over). A previously
 * saved NetVSP state (vsw_synth_set_restore()) is applied first. 0 or
 * -errno (ring pages outside RAM, corrupt ring header: EPROTO).
 */
int vsw_synth_open(struct vsw_synth *s, const struct vmbus_user_channel_open *o, int doorbell_fd,
		   int irq_fd);
/* Detaches the channel: the datapath stops touching the rings when it returns. */
void vsw_synth_close(struct vsw_synth *s);
/* The SIEF page of vCPU vp moved. */
void vsw_synth_set_sief(struct vsw_synth *s, uint32_t vp, uint64_t gpa);
/* NetVSP state to restore at the next open (from a NIC_STATE message); used once. */
int vsw_synth_set_restore(struct vsw_synth *s, const void *buf, size_t len);
/* The current NetVSP state when it changed since the last call (or since the channel opened):
 * bytes written to buf (at least NVSP_SAVE_MAX), 0 when unchanged, or -errno. */
int vsw_synth_take_state(struct vsw_synth *s, void *buf, size_t len);
/* True once (per failure) when the guest broke the protocol and the channel died. */
bool vsw_synth_take_failure(struct vsw_synth *s, char *why, size_t len);
bool vsw_synth_open_p(const struct vsw_synth *s);
/* The relid of the channel last opened (0 before the first open). */
uint32_t vsw_synth_relid(const struct vsw_synth *s);
const uint8_t *vsw_synth_mac(const struct vsw_synth *s);
/* While the port is administratively down the datapath does not poll it: the control
 * thread calls this (every few tens of ms) so that the guest's control requests are answered
 * and the frames it sends are completed and dropped (counted), not delivered later. */
void vsw_synth_service(struct vsw_synth *s);
/* NetVSP state and counters as JSON fields added to obj. */
void vsw_synth_describe(struct vsw_synth *s, json_t *obj);

#endif
