/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Integration-service framework internals shared by ic.c (channel handling,
 * version negotiation, request framing) and the per-service files
 * (ic_heartbeat.c, ic_shutdown.c, ic_timesync.c). A service is a table of
 * hooks; the framework calls them once versions are agreed, for each
 * response of the service's message type, and on every tick.
 */
#ifndef HVNET_VMBUS_IC_PRIVATE_H
#define HVNET_VMBUS_IC_PRIVATE_H

#include "ic.h"

#define VMBUS_IC_MAX_MSG 4096u /* hv_utils reads into one page */

struct vmbus_ic_service {
	const char *name;
	const char *class_guid;
	const char *default_instance;
	uint16_t msgtype;
	const struct vmbus_ic_version *versions; /* service versions offered, newest first */
	unsigned int nversions;
	/* Versions agreed: the service may send. */
	void (*ready)(struct vmbus_ic *ic);
	/* A response of msgtype: h is the IC header, body its body_len bytes. */
	void (*response)(struct vmbus_ic *ic, const struct vmbus_ic_hdr *h, const uint8_t *body,
			 uint32_t body_len);
	/* Timers. */
	void (*tick)(struct vmbus_ic *ic, uint64_t now_ms);
};

struct vmbus_ic {
	struct vmbus_host *host;
	struct vmbus_ic_config cfg;
	const struct vmbus_ic_service *svc;
	struct vmbus_device_info dev;
	uint32_t relid;
	struct vmbus_channel *ch;
	struct vmbus_ic_stats st;
	uint64_t next_trans;
	uint64_t now_ms;	/* last tick */
	/* heartbeat */
	bool hb_outstanding;
	uint64_t hb_sent_ms;
	/* timesync */
	uint64_t ts_last_ms;
	uint8_t tx[VMBUS_IC_MAX_MSG];	/* request being framed */
	uint8_t rx[VMBUS_IC_MAX_MSG];	/* response being parsed */
};

/* Frames body (body_len bytes) as an IC request of type and sends it.
 * Returns 0, -ENOTCONN without an open channel, -EMSGSIZE, or a ring error
 * (counted in send_failures). */
int vmbus_ic_send_request(struct vmbus_ic *ic, uint16_t type, const void *body,
			  uint32_t body_len);

extern const struct vmbus_ic_service vmbus_ic_heartbeat_service;
extern const struct vmbus_ic_service vmbus_ic_shutdown_service;
extern const struct vmbus_ic_service vmbus_ic_timesync_service;

#endif /* HVNET_VMBUS_IC_PRIVATE_H */
