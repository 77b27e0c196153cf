/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Time synchronisation integration service: right after versions are agreed
 * the host sends a SYNC sample (the guest sets its clock), then a SAMPLE
 * every interval. From service version 4.0 a sample carries the guest's
 * reference counter value read together with the host time, so the guest
 * can correct for delivery delay; older versions carry the host time only.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "ic_private.h"

static const struct vmbus_ic_version ts_versions[] = { { 4, 0 }, { 3, 0 }, { 1, 0 } };

static uint64_t host_time_now(const struct vmbus_ic *ic)
{
	struct timespec ts;

	if (ic->cfg.host_time)
		return ic->cfg.host_time(ic->cfg.time_ctx);
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 10000000u + (uint64_t)ts.tv_nsec / 100u +
	       VMBUS_IC_EPOCH_DELTA;
}

int vmbus_ic_timesync_send(struct vmbus_ic *ic, uint8_t flags)
{
	struct vmbus_ic_timesync_ref_msg r;
	struct vmbus_ic_timesync_msg t;
	int ret;

	if (ic->svc != &vmbus_ic_timesync_service)
		return -EINVAL;
	if (ic->st.state != VMBUS_IC_READY)
		return -ENOTCONN;
	if (ic->st.service.major >= 4) {
		memset(&r, 0, sizeof(r));
		r.parenttime = host_time_now(ic);
		r.vmreferencetime = ic->cfg.ref_time ? ic->cfg.ref_time(ic->cfg.time_ctx) : 0;
		r.flags = flags;
		ret = vmbus_ic_send_request(ic, VMBUS_IC_MSG_TIMESYNC, &r, sizeof(r));
	} else {
		memset(&t, 0, sizeof(t));
		t.parenttime = host_time_now(ic);
		t.flags = flags;
		ret = vmbus_ic_send_request(ic, VMBUS_IC_MSG_TIMESYNC, &t, sizeof(t));
	}
	if (!ret) {
		ic->st.ts_samples++;
		ic->ts_last_ms = ic->now_ms;
	}
	return ret;
}

static void ts_ready(struct vmbus_ic *ic)
{
	vmbus_ic_timesync_send(ic, VMBUS_IC_TIMESYNC_SYNC);
}

static void ts_response(struct vmbus_ic *ic, const struct vmbus_ic_hdr *h, const uint8_t *body,
			uint32_t body_len)
{
	(void)h;
	(void)body;
	(void)body_len;
	ic->st.responses++;
}

static void ts_tick(struct vmbus_ic *ic, uint64_t now_ms)
{
	uint32_t interval = ic->cfg.timesync_interval_ms ? ic->cfg.timesync_interval_ms : 5000;

	if (now_ms - ic->ts_last_ms >= interval)
		vmbus_ic_timesync_send(ic, VMBUS_IC_TIMESYNC_SAMPLE);
}

const struct vmbus_ic_service vmbus_ic_timesync_service = {
	.name = "timesync",
	.class_guid = VMBUS_IC_TIMESYNC_GUID,
	.default_instance = "2dd1ce17-079e-403c-b352-a1921ee207ee",
	.msgtype = VMBUS_IC_MSG_TIMESYNC,
	.versions = ts_versions,
	.nversions = 3,
	.ready = ts_ready,
	.response = ts_response,
	.tick = ts_tick,
};
