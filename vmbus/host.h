/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * VMBus host: the host side of VMBus channel management as a state machine.
 * It negotiates the protocol version (5.0-5.3 on connection id 4, 4.0 on
 * connection id 1), offers the registered devices, assembles GPADLs from
 * header and body messages, opens channels by mapping their two rings,
 * closes, tears down, rescinds and unloads. It knows nothing of KVM: the VMM
 * supplies a transport (struct vmbus_host_ops) that posts messages into the
 * guest's SynIC, raises channel interrupts and translates guest addresses.
 *
 * Every message from the guest is untrusted: it is copied, parsed
 * (msg.h), checked against the current state, and on any error rejected,
 * counted (vmbus_host_counter()) and logged (rate-limited). GPADL pages are
 * checked against guest memory before they are accepted.
 *
 * Thread rules: a host and its channels are driven by one thread (the VMM's
 * VMBus thread); transport ops and VSP callbacks are called on it.
 */
#ifndef HVNET_VMBUS_HOST_H
#define HVNET_VMBUS_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "ring.h"
#include "vsp_provider.h"

struct vmbus_host;
struct vmbus_channel;

/* Transport supplied by the VMM (or by the guest simulator in tests). */
struct vmbus_host_ops {
	/* Delivers a channel-management message (len <= 240) to the guest's
	 * SINT2 message slot on vCPU vp (message type 1). The VMM queues it if
	 * the slot is busy and redelivers after EOM, preserving order.
	 * Returns 0 or a negative errno (the host counts a failure). */
	int (*post_msg)(void *ctx, uint32_t vp, const void *msg, size_t len);
	/* Raises the channel interrupt: sets bit relid in the SIEF page's SINT2
	 * flags of vCPU vp and asserts SINT2. */
	void (*signal_guest)(void *ctx, uint32_t relid, uint32_t vp);
	/* Returns a host pointer for guest physical [gpa, gpa + len), or NULL
	 * when any byte lies outside guest RAM. Contiguous in host memory. */
	void *(*gpa_to_hva)(void *ctx, uint64_t gpa, uint64_t len);
	/* Optional: maps npfns scattered guest pages contiguously; NULL on
	 * failure. Without it a ring's pages must be contiguous in host memory
	 * (true for Linux guests, which allocate rings physically contiguous). */
	void *(*map_pages)(void *ctx, const uint64_t *pfns, uint32_t npfns);
	/* Undoes map_pages. */
	void (*unmap_pages)(void *ctx, void *va, uint32_t npfns);
	/* Optional: the channel relid opened; the guest signals it with
	 * HvSignalEvent(conn_id): register the doorbell eventfd for conn_id and
	 * route it to vmbus_host_signal_event(). Interrupts go to vCPU vp. */
	void (*channel_opened)(void *ctx, uint32_t relid, uint32_t conn_id, uint32_t vp);
	/* Optional: the channel closed; unregister the doorbell. */
	void (*channel_closed)(void *ctx, uint32_t relid, uint32_t conn_id);
	/* Optional: one log line (no newline). level uses syslog values. */
	void (*log)(void *ctx, int level, const char *line);
};

struct vmbus_host_config {
	uint32_t max_version;	  /* newest version accepted; 0: VMBUS_VERSION_5_3 */
	uint32_t msg_conn_id;	  /* returned to 5.x guests; 0: VMBUS_MSG_CONN_ID */
	uint64_t guest_mem_size;  /* GPAs at or above are rejected; 0: gpa_to_hva decides */
	uint32_t nr_vcpus;	  /* valid target_vcpu/target_vp are < this; 0: 1 */
	uint32_t max_gpadl_pages; /* per GPADL; 0: 65536 (256 MiB) */
	uint32_t max_gpadls;	  /* 0: 1024 */
	uint32_t conn_id_base;	  /* offers' connection id = base + relid; 0: 0x1000 */
};

enum vmbus_host_state {
	VMBUS_HOST_DISCONNECTED,
	VMBUS_HOST_CONNECTED,
};

#define VMBUS_HOST_COUNTERS(X)                                                                     \
	X(MSG_RX, "msg_rx")                                                                        \
	X(MSG_TX, "msg_tx")                                                                        \
	X(MSG_BAD_LEN, "msg_bad_len")                                                              \
	X(MSG_BAD_TYPE, "msg_bad_type")                                                            \
	X(MSG_BAD_FIELD, "msg_bad_field")                                                          \
	X(MSG_BAD_CONN_ID, "msg_bad_conn_id")                                                      \
	X(MSG_BAD_STATE, "msg_bad_state")                                                          \
	X(MSG_BAD_RELID, "msg_bad_relid")                                                          \
	X(MSG_UNSUPPORTED, "msg_unsupported")                                                      \
	X(VERSION_REJECTED, "version_rejected")                                                    \
	X(GPADL_CREATED, "gpadl_created")                                                          \
	X(GPADL_REJECTED, "gpadl_rejected")                                                        \
	X(GPADL_BAD_PFN, "gpadl_bad_pfn")                                                          \
	X(GPADL_UNKNOWN, "gpadl_unknown")                                                          \
	X(GPADL_TORNDOWN, "gpadl_torndown")                                                        \
	X(OPEN_OK, "open_ok")                                                                      \
	X(OPEN_FAILED, "open_failed")                                                              \
	X(CLOSE, "close")                                                                          \
	X(CHANNEL_FAILED, "channel_failed")                                                        \
	X(RESCIND, "rescind")                                                                      \
	X(UNLOAD, "unload")                                                                        \
	X(POST_FAILED, "post_failed")

#define VMBUS_HC_ENUM(id, name) VMBUS_HC_##id,
enum vmbus_host_counter { VMBUS_HOST_COUNTERS(VMBUS_HC_ENUM) VMBUS_HC_COUNT };
#undef VMBUS_HC_ENUM

/* Status values the host puts in OPENCHANNEL_RESULT / GPADL_CREATED. */
#define VMBUS_STATUS_SUCCESS	0u
#define VMBUS_STATUS_FAILURE	0xc0000001u

/*
 * Creates a host in the DISCONNECTED state. ops (post_msg, signal_guest and
 * gpa_to_hva required) and ctx are borrowed and must outlive the host; cfg
 * may be NULL for defaults. Returns NULL with errno EINVAL or ENOMEM.
 */
struct vmbus_host *vmbus_host_create(const struct vmbus_host_ops *ops, void *ctx,
				     const struct vmbus_host_config *cfg);

/* Closes every open channel (VSP close callbacks run), frees GPADLs and the
 * host. Accepts NULL. */
void vmbus_host_destroy(struct vmbus_host *h);

/*
 * Registers a device to offer. Its relid (1..255, stored in *relid when not
 * NULL) is fixed for the device's life; if the guest already asked for
 * offers it is offered at once. ops and vsp are borrowed until the device is
 * removed. A subchannel (info->sub_channel_index > 0) needs its primary
 * (same GUIDs, index 0) registered first. Returns 0, -ENOSPC when all
 * relids are used, -EEXIST for a duplicate instance GUID and index,
 * -ENOENT for a subchannel without primary, -EINVAL.
 */
int vmbus_host_add_device(struct vmbus_host *h, const struct vmbus_device_info *info,
			  const struct vmbus_vsp_ops *ops, void *vsp, uint32_t *relid);

/*
 * Removes a device: closes its channel if open (VSP close callback), and if
 * the guest knows the offer, sends RESCIND_CHANNELOFFER; the relid is freed
 * when the guest answers RELID_RELEASED (or on unload). Remove a primary's
 * subchannels before the primary. Returns 0 or -ENOENT.
 */
int vmbus_host_remove_device(struct vmbus_host *h, uint32_t relid);

/*
 * Entry point for HvPostMessage: a channel-management message of len bytes
 * that the guest posted on connection id conn_id (message type 1). The bytes
 * are copied first. Returns 0 when handled; -ENOENT when conn_id is not a
 * VMBus message connection (the VMM answers HV_STATUS_INVALID_CONNECTION_ID);
 * any other negative errno means the message was rejected and counted (the
 * hypercall itself still succeeds).
 */
int vmbus_host_handle_message(struct vmbus_host *h, uint32_t conn_id, const void *msg, size_t len);

/*
 * Entry point for HvSignalEvent on conn_id (or its doorbell eventfd firing):
 * calls the VSP's signalled callback of the open channel with that
 * connection id. Returns 0, or -ENOENT when no open channel has it.
 */
int vmbus_host_signal_event(struct vmbus_host *h, uint32_t conn_id);

/* Current connection state, negotiated version (0 when disconnected), and
 * the vCPU the guest asked messages to go to. */
enum vmbus_host_state vmbus_host_state(const struct vmbus_host *h);
uint32_t vmbus_host_version(const struct vmbus_host *h);
uint32_t vmbus_host_target_vcpu(const struct vmbus_host *h);

/* Counter value and name. */
uint64_t vmbus_host_counter(const struct vmbus_host *h, enum vmbus_host_counter c);
const char *vmbus_host_counter_name(enum vmbus_host_counter c);

/* The open channel with this relid, or NULL. */
struct vmbus_channel *vmbus_host_channel(struct vmbus_host *h, uint32_t relid);

/* ---- channel API for VSPs (valid between the open and close callbacks) ---- */

uint32_t vmbus_channel_relid(const struct vmbus_channel *ch);
uint32_t vmbus_channel_conn_id(const struct vmbus_channel *ch);
uint32_t vmbus_channel_target_vp(const struct vmbus_channel *ch);
struct vmbus_host *vmbus_channel_host(const struct vmbus_channel *ch);

/* Guest->host ring (the host reads it) and host->guest ring (the host
 * writes it). */
struct vmbus_ring *vmbus_channel_in_ring(struct vmbus_channel *ch);
struct vmbus_ring *vmbus_channel_out_ring(struct vmbus_channel *ch);

/*
 * Writes one inband packet to the host->guest ring and raises the channel
 * interrupt when the ring rules ask for it. Returns 0, -EAGAIN (ring full),
 * -EMSGSIZE, or -EPROTO after which the channel has failed (see
 * vmbus_channel_fail()).
 */
int vmbus_channel_send(struct vmbus_channel *ch, uint16_t type, uint16_t flags,
		       uint64_t trans_id, const void *buf, size_t len);

/*
 * Reads one packet from the guest->host ring into buf (payload only) and
 * signals the guest if it waits for ring space. Returns the payload length,
 * -EAGAIN when empty, -EMSGSIZE, or -EPROTO after which the channel has
 * failed.
 */
int vmbus_channel_recv(struct vmbus_channel *ch, struct vmbus_pkt *pkt, void *buf, size_t len);

/* Raises the channel interrupt unconditionally. */
void vmbus_channel_signal(struct vmbus_channel *ch);

/*
 * Stops a channel whose guest data is corrupt: the VSP close callback runs,
 * the rings are unmapped, the channel counts as failed; the guest's later
 * CLOSECHANNEL is accepted. why is logged. Safe to call from VSP callbacks.
 */
void vmbus_channel_fail(struct vmbus_channel *ch, const char *why);

/* Private pointer for the VSP. */
void vmbus_channel_set_priv(struct vmbus_channel *ch, void *priv);
void *vmbus_channel_priv(const struct vmbus_channel *ch);

/*
 * The ring GPADL of the open channel: its pages and the page offset where
 * the host->guest ring starts (pages before it hold the guest->host ring).
 * For VSPs that run the data path in another process (vswitchd's NetVSP
 * over vmbus-user) and map the rings there. Returns 0, or -ENOENT when the
 * channel is not open. *pfns stays valid until the channel closes.
 */
int vmbus_channel_ring_pages(struct vmbus_channel *ch, const uint64_t **pfns, uint32_t *npfns,
			     uint32_t *out_offset);

/* Handle of the open channel's ring GPADL, 0 when the channel is not open. */
uint32_t vmbus_channel_ring_gpadl(const struct vmbus_channel *ch);

/*
 * The pages of a complete GPADL the guest created for this channel (e.g. a
 * NetVSC receive buffer). Returns 0 and sets *pfns (valid until the GPADL is
 * torn down) and *npfns, or -ENOENT.
 */
int vmbus_channel_gpadl(struct vmbus_channel *ch, uint32_t gpadl, const uint64_t **pfns,
			uint32_t *npfns);

#endif /* HVNET_VMBUS_HOST_H */
