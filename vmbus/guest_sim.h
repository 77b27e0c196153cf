/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Guest-side VMBus simulator: plays the part of a Linux guest (hv_vmbus +
 * hv_utils) against a vmbus_host over an in-memory transport, for tests,
 * fuzzing and benchmarks. It owns a "guest memory" (a memfd mapped once;
 * GPA 0 is its first byte), implements struct vmbus_host_ops for the host
 * (messages are queued, channel interrupts recorded, GPAs translated with
 * bounds checks, scattered pages remapped contiguously like a VMM would),
 * and drives the protocol as Linux does: newest-first version probing with
 * the right connection ids, REQUESTOFFERS, GPADLs split into header and
 * body messages, OPENCHANNEL with the ring offset, close + teardown, answers
 * to RESCIND (RELID_RELEASED) and UNLOAD. Open IC channels are answered as
 * hv_utils answers them (negotiation, heartbeat sequence + 1, shutdown
 * flags, time samples recorded).
 *
 * Everything runs synchronously on the caller's thread: the host's answers
 * are queued while it handles a message and consumed right after.
 */
#ifndef HVNET_VMBUS_GUEST_SIM_H
#define HVNET_VMBUS_GUEST_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host.h"

struct vmbus_gsim;

struct vmbus_gsim_config {
	size_t mem_size;	/* guest memory bytes (0: 16 MiB) */
	uint32_t target_vcpu;	/* INITIATE_CONTACT target */
	bool scatter_pages;	/* allocate GPADL pages in descending order */
};

struct vmbus_gsim_stats {
	/* connection */
	uint32_t version;		/* negotiated, 0 if none */
	uint32_t msg_conn_id;		/* connection id used after contact */
	uint32_t contact_conn_ids[16];	/* connection id of each INITIATE_CONTACT */
	uint32_t contact_versions[16];
	unsigned int contacts;
	unsigned int offers;
	bool all_offers_delivered;
	unsigned int msgs_rx;		/* messages from the host */
	unsigned int bad_msgs;		/* host messages the guest could not parse */
	uint32_t last_msg_vp;
	unsigned int rescinds;
	bool unloaded;
	uint64_t interrupts;		/* host->guest channel interrupts */
	uint32_t last_interrupt_vp;
	uint64_t signals_to_host;
	/* integration services, as hv_utils sees them */
	uint32_t fw_version;		/* major << 16 | minor */
	uint32_t hb_version;
	uint32_t sd_version;
	uint32_t ts_version;
	unsigned int negotiations;
	uint64_t hb_count;
	uint64_t hb_last_seq;		/* sequence number as received */
	unsigned int sd_requests;
	uint32_t sd_last_flags;
	bool poweroff;			/* shutdown accepted */
	bool reboot;			/* restart accepted */
	unsigned int ts_samples;
	uint64_t ts_parenttime;
	uint64_t ts_reftime;
	uint8_t ts_flags;
	unsigned int ic_dropped;	/* IC packets dropped as too short */
	unsigned int host_log_lines;	/* lines the host logged (ops->log) */
	unsigned int doorbells;		/* channel_opened minus channel_closed */
	uint32_t last_opened_conn_id;	/* from channel_opened */
	uint32_t last_opened_vp;
	int host_last_log_level;
};

/* Creates a simulator with zeroed guest memory. NULL + errno on failure. */
struct vmbus_gsim *vmbus_gsim_create(const struct vmbus_gsim_config *cfg);

/* Frees the simulator and its memory. The host must be destroyed first.
 * Accepts NULL. */
void vmbus_gsim_destroy(struct vmbus_gsim *g);

/* The transport ops to create a host with (ctx: the simulator). */
const struct vmbus_host_ops *vmbus_gsim_host_ops(void);

/* Connects the simulator to the host it will talk to. */
void vmbus_gsim_attach(struct vmbus_gsim *g, struct vmbus_host *h);

/*
 * Probes versions[0..n) in order (newest first) the way Linux does:
 * versions >= 5.0 on connection id 4 with msg_sint 2, older ones on
 * connection id 1 with an interrupt page. Stops at the first accepted one;
 * stores it in *negotiated. Returns 0, -ECONNREFUSED when all were refused,
 * -ETIMEDOUT when the host did not answer.
 */
int vmbus_gsim_connect(struct vmbus_gsim *g, const uint32_t *versions, unsigned int n,
		       uint32_t *negotiated);

/* vmbus_gsim_connect() with Linux 6.1's list: 5.3 5.2 5.1 5.0 4.1 4.0 3.0 2.4. */
int vmbus_gsim_connect_linux(struct vmbus_gsim *g, uint32_t *negotiated);

/* Sends REQUESTOFFERS; returns the number of offers known once
 * ALLOFFERS_DELIVERED arrived, or -ETIMEDOUT. */
int vmbus_gsim_request_offers(struct vmbus_gsim *g);

/* Finds the offer of a device class. 0 and *relid, or -ENOENT. */
int vmbus_gsim_find_offer(struct vmbus_gsim *g, const char *class_guid, uint32_t *relid);

/* Creates a GPADL of npages fresh pages for relid (header plus as many body
 * messages as needed). 0 and *gpadl, -EIO when the host refused,
 * -ETIMEDOUT without an answer, -ENOMEM when guest memory is exhausted. */
int vmbus_gsim_gpadl_create(struct vmbus_gsim *g, uint32_t relid, uint32_t npages,
			    uint32_t *gpadl);

/* Tears a GPADL down. 0, or -ETIMEDOUT when GPADL_TORNDOWN did not come. */
int vmbus_gsim_gpadl_teardown(struct vmbus_gsim *g, uint32_t relid, uint32_t gpadl);

/* Opens a channel as vmbus_open() does: ring GPADL of send + recv pages
 * (each including its header page), rings initialised, OPENCHANNEL with
 * downstream offset send_pages. 0, -EIO (status != 0), -ETIMEDOUT. */
int vmbus_gsim_open(struct vmbus_gsim *g, uint32_t relid, uint32_t send_pages,
		    uint32_t recv_pages, uint32_t target_vp);

/* Closes a channel as vmbus_close() does: CLOSECHANNEL, then teardown of the
 * ring GPADL. 0 or -ETIMEDOUT. */
int vmbus_gsim_close(struct vmbus_gsim *g, uint32_t relid);

/* Sends UNLOAD; 0 once UNLOAD_RESPONSE arrived, else -ETIMEDOUT. */
int vmbus_gsim_unload(struct vmbus_gsim *g);

/* Posts a raw message on conn_id and returns the host's result. Answers
 * are queued for vmbus_gsim_poll(). */
int vmbus_gsim_post(struct vmbus_gsim *g, uint32_t conn_id, const void *msg, size_t len);

/* Handles queued host messages (rescind: close + RELID_RELEASED) and
 * services every open IC channel. Returns the number of events handled. */
int vmbus_gsim_poll(struct vmbus_gsim *g);

/* Writes an inband packet on relid's guest->host ring and signals the host
 * when the ring rules say so. Returns the ring result. */
int vmbus_gsim_send(struct vmbus_gsim *g, uint32_t relid, uint64_t trans_id, const void *buf,
		    size_t len);

/* Reads one packet from relid's host->guest ring (non-IC channels). */
int vmbus_gsim_recv(struct vmbus_gsim *g, uint32_t relid, void *buf, size_t len,
		    struct vmbus_pkt *pkt);

/* Host pointer to guest physical address gpa (for tests that corrupt
 * guest memory), NULL when outside guest memory. */
void *vmbus_gsim_gpa(struct vmbus_gsim *g, uint64_t gpa);

/* GPA of relid's ring GPADL (first page), 0 when not open. */
uint64_t vmbus_gsim_ring_gpa(struct vmbus_gsim *g, uint32_t relid);

/* Last answer status seen for relid's OPENCHANNEL, and the GPADL_CREATED
 * status of gpadl (UINT32_MAX when none arrived). */
uint32_t vmbus_gsim_open_status(struct vmbus_gsim *g, uint32_t relid);
uint32_t vmbus_gsim_gpadl_status(struct vmbus_gsim *g, uint32_t gpadl);

/* Connection id the host's offer gave relid (0 when not offered). */
uint32_t vmbus_gsim_offer_conn_id(struct vmbus_gsim *g, uint32_t relid);

/* Subchannel index of relid's offer and whether its instance GUID equals
 * that of primary's offer (how Linux attaches subchannels). -ENOENT when
 * either was not offered, else the index. */
int vmbus_gsim_offer_subchannel(struct vmbus_gsim *g, uint32_t relid, uint32_t primary,
				bool *same_instance);

/* Next GPADL handle the simulator will use. */
uint32_t vmbus_gsim_next_gpadl(struct vmbus_gsim *g);

const struct vmbus_gsim_stats *vmbus_gsim_stats(const struct vmbus_gsim *g);

#endif /* HVNET_VMBUS_GUEST_SIM_H */
