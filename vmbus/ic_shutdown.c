/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shutdown integration service: the host asks the guest to shut down,
 * restart or hibernate (flags, optional force bit, reason code, timeout and
 * a message). The guest's answer status is kept for the caller (the VMM's
 * `vm shutdown` waits for it and then for the guest to power off).
 */
#include <errno.h>
#include <string.h>

#include "ic_private.h"

static const struct vmbus_ic_version sd_versions[] = { { 3, 0 }, { 1, 0 } };

static void sd_response(struct vmbus_ic *ic, const struct vmbus_ic_hdr *h, const uint8_t *body,
			uint32_t body_len)
{
	(void)body;
	(void)body_len;
	if (!ic->st.sd_pending) {
		ic->st.bad_responses++;
		return;
	}
	ic->st.sd_pending = false;
	ic->st.sd_answered = true;
	ic->st.sd_status = h->status;
	ic->st.responses++;
}

int vmbus_ic_shutdown_request(struct vmbus_ic *ic, uint32_t flags, uint32_t reason,
			      uint32_t timeout_s, const char *message)
{
	struct vmbus_ic_shutdown_msg m;
	int ret;

	if (ic->svc != &vmbus_ic_shutdown_service)
		return -EINVAL;
	if (ic->st.state != VMBUS_IC_READY)
		return -ENOTCONN;
	if (ic->st.sd_pending)
		return -EBUSY;
	memset(&m, 0, sizeof(m));
	m.flags = flags;
	m.reason_code = reason;
	m.timeout_seconds = timeout_s;
	if (message)
		strncpy((char *)m.display_message, message, sizeof(m.display_message) - 1);
	ret = vmbus_ic_send_request(ic, VMBUS_IC_MSG_SHUTDOWN, &m, sizeof(m));
	if (ret)
		return ret;
	ic->st.sd_pending = true;
	ic->st.sd_answered = false;
	return 0;
}

const struct vmbus_ic_service vmbus_ic_shutdown_service = {
	.name = "shutdown",
	.class_guid = VMBUS_IC_SHUTDOWN_GUID,
	.default_instance = "b6650ff7-33bc-4840-8048-e0676786f393",
	.msgtype = VMBUS_IC_MSG_SHUTDOWN,
	.versions = sd_versions,
	.nversions = 2,
	.response = sd_response,
};
