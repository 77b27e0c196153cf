/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Heartbeat integration service: once versions are agreed the host sends a
 * heartbeat request carrying a sequence number every interval; the guest
 * answers with the number plus one. An answer in time keeps the state OK; a
 * request unanswered past the timeout turns it to LOST (shown by `vm show`).
 */
#include <string.h>

#include "ic_private.h"

static const struct vmbus_ic_version hb_versions[] = { { 3, 0 }, { 1, 0 } };

static void hb_send(struct vmbus_ic *ic)
{
	struct vmbus_ic_heartbeat_msg m;

	memset(&m, 0, sizeof(m));
	m.seq_num = ic->st.hb_seq_sent + 1;
	if (vmbus_ic_send_request(ic, VMBUS_IC_MSG_HEARTBEAT, &m, sizeof(m)))
		return;
	ic->st.hb_seq_sent = m.seq_num;
	ic->hb_outstanding = true;
	ic->hb_sent_ms = ic->now_ms;
}

static void hb_ready(struct vmbus_ic *ic)
{
	hb_send(ic);
}

static void hb_response(struct vmbus_ic *ic, const struct vmbus_ic_hdr *h, const uint8_t *body,
			uint32_t body_len)
{
	uint64_t seq;

	(void)h;
	if (body_len < sizeof(seq)) {
		ic->st.bad_responses++;
		return;
	}
	memcpy(&seq, body, sizeof(seq));
	if (!ic->hb_outstanding || seq != ic->st.hb_seq_sent + 1) {
		ic->st.bad_responses++;
		return;
	}
	ic->hb_outstanding = false;
	ic->st.hb_seq_acked = ic->st.hb_seq_sent;
	ic->st.heartbeat = VMBUS_HB_OK;
	ic->st.responses++;
}

static void hb_tick(struct vmbus_ic *ic, uint64_t now_ms)
{
	uint32_t interval = ic->cfg.heartbeat_interval_ms ? ic->cfg.heartbeat_interval_ms : 1000;
	uint32_t timeout = ic->cfg.heartbeat_timeout_ms ? ic->cfg.heartbeat_timeout_ms
							: 3 * interval;

	if (ic->hb_outstanding && now_ms - ic->hb_sent_ms > timeout) {
		ic->hb_outstanding = false;
		ic->st.hb_misses++;
		ic->st.heartbeat = VMBUS_HB_LOST;
	}
	if (!ic->hb_outstanding && now_ms - ic->hb_sent_ms >= interval)
		hb_send(ic);
}

const struct vmbus_ic_service vmbus_ic_heartbeat_service = {
	.name = "heartbeat",
	.class_guid = VMBUS_IC_HEARTBEAT_GUID,
	.default_instance = "fd149e91-82e0-4a7d-afa6-2a4166cbd7c0",
	.msgtype = VMBUS_IC_MSG_HEARTBEAT,
	.versions = hb_versions,
	.nversions = 2,
	.ready = hb_ready,
	.response = hb_response,
	.tick = hb_tick,
};

const char *vmbus_ic_heartbeat_state_name(enum vmbus_ic_heartbeat_state s)
{
	switch (s) {
	case VMBUS_HB_NO_CONTACT:
		return "no-contact";
	case VMBUS_HB_OK:
		return "ok";
	case VMBUS_HB_LOST:
		return "lost-contact";
	}
	return "unknown";
}
