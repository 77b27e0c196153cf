/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Hyper-V integration services (ICs) on the host side: heartbeat, shutdown
 * and time synchronisation, each a VSP (vsp_provider.h) registered with a
 * vmbus_host. Every IC message is a VMBus inband packet carrying a pipe
 * header, an IC header (icmsg_hdr: framework and message versions, type,
 * size, status, transaction id, flags) and a type-specific body. After the
 * guest opens the channel the host sends a NEGOTIATE request listing the
 * framework and service versions it speaks; the guest (Linux hv_utils)
 * answers with the one pair it picked. Then the host sends requests and the
 * guest answers each with the same buffer, flags set to RESPONSE.
 *
 * The wire layouts below are shared with the guest-side simulator. Thread
 * rules: as for the host (one thread).
 */
#ifndef HVNET_VMBUS_IC_H
#define HVNET_VMBUS_IC_H

#include <stdbool.h>
#include <stdint.h>

#include "host.h"

/* ---- wire format ---- */

#define VMBUS_IC_MSG_NEGOTIATE	0
#define VMBUS_IC_MSG_HEARTBEAT	1
#define VMBUS_IC_MSG_SHUTDOWN	3
#define VMBUS_IC_MSG_TIMESYNC	4

#define VMBUS_IC_FLAG_TRANSACTION 0x1
#define VMBUS_IC_FLAG_REQUEST	  0x2
#define VMBUS_IC_FLAG_RESPONSE	  0x4

#define VMBUS_IC_S_OK	0u
#define VMBUS_IC_E_FAIL 0x80004005u

/* Shutdown request flags: 0 shut down, 2 restart, 4 hibernate; | 1 = force. */
#define VMBUS_IC_SHUTDOWN_FORCE	    0x1u
#define VMBUS_IC_SHUTDOWN_RESTART   0x2u
#define VMBUS_IC_SHUTDOWN_HIBERNATE 0x4u

/* Time sync sample flags. */
#define VMBUS_IC_TIMESYNC_PROBE	 0x0
#define VMBUS_IC_TIMESYNC_SYNC	 0x1 /* set the clock (sent after open) */
#define VMBUS_IC_TIMESYNC_SAMPLE 0x2 /* periodic hint */

/* 100 ns intervals between 1601-01-01 and 1970-01-01. */
#define VMBUS_IC_EPOCH_DELTA 116444736000000000ull

struct vmbus_ic_pipe_hdr {
	uint32_t flags;
	uint32_t msgsize;
} __attribute__((packed));

struct vmbus_ic_version {
	uint16_t major;
	uint16_t minor;
} __attribute__((packed));

struct vmbus_ic_hdr {
	struct vmbus_ic_version icverframe;
	uint16_t icmsgtype;
	struct vmbus_ic_version icvermsg;
	uint16_t icmsgsize;
	uint32_t status;
	uint8_t ictransaction_id;
	uint8_t icflags;
	uint8_t reserved[2];
} __attribute__((packed));

/* Pipe header + IC header: where every body starts. */
#define VMBUS_IC_HDR_SIZE (sizeof(struct vmbus_ic_pipe_hdr) + sizeof(struct vmbus_ic_hdr))

struct vmbus_ic_negotiate {
	uint16_t icframe_vercnt;
	uint16_t icmsg_vercnt;
	uint32_t reserved;
	struct vmbus_ic_version versions[]; /* framework versions, then message versions */
} __attribute__((packed));

#define VMBUS_IC_MAX_VERSIONS 100 /* per list, as guests enforce */

struct vmbus_ic_heartbeat_msg {
	uint64_t seq_num;
	uint32_t reserved[8];
} __attribute__((packed));

struct vmbus_ic_shutdown_msg {
	uint32_t reason_code;
	uint32_t timeout_seconds;
	uint32_t flags;
	uint8_t display_message[2048];
} __attribute__((packed));

/* Time sync body up to message version 3.x. */
struct vmbus_ic_timesync_msg {
	uint64_t parenttime;
	uint64_t childtime;
	uint64_t roundtriptime;
	uint8_t flags;
} __attribute__((packed));

/* Time sync body from message version 4.0: carries the guest reference
 * counter value at the moment parenttime was read. */
struct vmbus_ic_timesync_ref_msg {
	uint64_t parenttime;
	uint64_t vmreferencetime;
	uint8_t flags;
	int8_t leapflags;
	int8_t stratum;
	uint8_t reserved[3];
} __attribute__((packed));

/* Class GUIDs (text form). */
#define VMBUS_IC_HEARTBEAT_GUID "57164f39-9115-4e78-ab55-382f3bd5422d"
#define VMBUS_IC_SHUTDOWN_GUID	"0e0b6031-5213-4934-818b-38d90ced39db"
#define VMBUS_IC_TIMESYNC_GUID	"9527e630-d0ae-497b-adce-e80ab0175caf"

/* ---- host-side services ---- */

struct vmbus_ic;

enum vmbus_ic_kind {
	VMBUS_IC_HEARTBEAT,
	VMBUS_IC_SHUTDOWN,
	VMBUS_IC_TIMESYNC,
};

enum vmbus_ic_state {
	VMBUS_IC_CLOSED,	/* channel not open */
	VMBUS_IC_NEGOTIATING,	/* NEGOTIATE sent, no answer yet */
	VMBUS_IC_READY,		/* versions agreed */
	VMBUS_IC_FAILED,	/* no common version, or the channel failed */
};

enum vmbus_ic_heartbeat_state {
	VMBUS_HB_NO_CONTACT,	/* never answered */
	VMBUS_HB_OK,		/* last request answered in time */
	VMBUS_HB_LOST,		/* a request went unanswered past the timeout */
};

struct vmbus_ic_config {
	enum vmbus_ic_kind kind;
	/* Instance GUID; all-zero: a fixed default per kind. */
	struct vmbus_guid instance_id;
	uint32_t heartbeat_interval_ms;	/* 0: 1000 */
	uint32_t heartbeat_timeout_ms;	/* 0: 3 * interval */
	uint32_t timesync_interval_ms;	/* 0: 5000 */
	/* Host wall clock in 100 ns units since 1601 (0: CLOCK_REALTIME). */
	uint64_t (*host_time)(void *ctx);
	/* Guest reference counter (100 ns, HV_X64_MSR_TIME_REF_COUNT) read at
	 * the same moment. NULL: time sync 4.0 is not offered, the guest
	 * negotiates 3.0 and stamps samples with its own counter on receipt. */
	uint64_t (*ref_time)(void *ctx);
	void *time_ctx;
};

struct vmbus_ic_stats {
	enum vmbus_ic_state state;
	struct vmbus_ic_version framework;	/* negotiated, 0.0 before */
	struct vmbus_ic_version service;
	uint64_t requests;		/* requests sent (negotiate included) */
	uint64_t responses;		/* well-formed responses matched */
	uint64_t bad_responses;		/* malformed or unexpected packets */
	uint64_t send_failures;		/* ring full or channel gone */
	/* heartbeat */
	enum vmbus_ic_heartbeat_state heartbeat;
	uint64_t hb_seq_sent;
	uint64_t hb_seq_acked;
	uint64_t hb_misses;
	/* shutdown */
	bool sd_pending;
	bool sd_answered;
	uint32_t sd_status;		/* guest's status (VMBUS_IC_S_OK: accepted) */
	/* timesync */
	uint64_t ts_samples;
};

/*
 * Creates an IC of cfg->kind and registers its device with h (offered at once
 * if the guest already asked for offers). Returns NULL with errno set
 * (EINVAL, ENOMEM, or the error of vmbus_host_add_device()).
 */
struct vmbus_ic *vmbus_ic_create(struct vmbus_host *h, const struct vmbus_ic_config *cfg);

/* Removes the device (rescinding it if offered) and frees the IC. Accepts
 * NULL. */
void vmbus_ic_destroy(struct vmbus_ic *ic);

/* Drives timers: heartbeat requests and timeouts, periodic time samples.
 * now_ms is any monotonic millisecond clock. Call at least every interval. */
void vmbus_ic_tick(struct vmbus_ic *ic, uint64_t now_ms);

/* Copies the IC's state and counters. */
void vmbus_ic_get_stats(const struct vmbus_ic *ic, struct vmbus_ic_stats *st);

/* The device's relid. */
uint32_t vmbus_ic_relid(const struct vmbus_ic *ic);

/* "no-contact", "ok", "lost-contact" (for `vm show`). */
const char *vmbus_ic_heartbeat_state_name(enum vmbus_ic_heartbeat_state s);

/*
 * Shutdown IC: asks the guest to shut down (flags 0), restart
 * (VMBUS_IC_SHUTDOWN_RESTART), hibernate; | VMBUS_IC_SHUTDOWN_FORCE.
 * message (may be NULL) is shown by Windows guests. The answer arrives
 * asynchronously (stats sd_answered / sd_status). Returns 0, -ENOTCONN when
 * the IC is not READY, -EBUSY when a request is pending, -EINVAL for
 * another kind, or a ring error.
 */
int vmbus_ic_shutdown_request(struct vmbus_ic *ic, uint32_t flags, uint32_t reason,
			      uint32_t timeout_s, const char *message);

/* Time sync IC: sends one sample now with flags (VMBUS_IC_TIMESYNC_*).
 * Returns 0, -ENOTCONN, -EINVAL or a ring error. */
int vmbus_ic_timesync_send(struct vmbus_ic *ic, uint8_t flags);

#endif /* HVNET_VMBUS_IC_H */
