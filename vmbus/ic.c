/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Integration-service framework (see ic.h): registers the IC device, frames
 * requests (pipe header + IC header + body), negotiates framework and
 * service versions after the channel opens, reads and validates responses
 * and hands them to the service (ic_heartbeat.c, ic_shutdown.c,
 * ic_timesync.c). Everything the guest sends is checked: length, RESPONSE
 * flag, message type and the negotiated versions being ones we offered.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ic_private.h"

static const struct vmbus_ic_version framework_versions[] = { { 3, 0 }, { 1, 0 } };

#define N_FRAMEWORK (sizeof(framework_versions) / sizeof(framework_versions[0]))
#define PIPE_DATA   1u /* pipe header type: data */

int vmbus_ic_send_request(struct vmbus_ic *ic, uint16_t type, const void *body,
			  uint32_t body_len)
{
	struct vmbus_ic_pipe_hdr p = { .flags = PIPE_DATA };
	struct vmbus_ic_hdr h;
	uint32_t len = (uint32_t)VMBUS_IC_HDR_SIZE + body_len;
	int ret;

	if (!ic->ch)
		return -ENOTCONN;
	if (len > VMBUS_IC_MAX_MSG || body_len > UINT16_MAX)
		return -EMSGSIZE;
	memset(&h, 0, sizeof(h));
	h.icverframe = type == VMBUS_IC_MSG_NEGOTIATE ? framework_versions[N_FRAMEWORK - 1]
						      : ic->st.framework;
	h.icvermsg = type == VMBUS_IC_MSG_NEGOTIATE ? framework_versions[N_FRAMEWORK - 1]
						    : ic->st.service;
	h.icmsgtype = type;
	h.icmsgsize = (uint16_t)body_len;
	h.ictransaction_id = (uint8_t)ic->next_trans;
	h.icflags = VMBUS_IC_FLAG_TRANSACTION | VMBUS_IC_FLAG_REQUEST;
	p.msgsize = len - (uint32_t)sizeof(p);
	memcpy(ic->tx, &p, sizeof(p));
	memcpy(ic->tx + sizeof(p), &h, sizeof(h));
	memcpy(ic->tx + VMBUS_IC_HDR_SIZE, body, body_len);
	ret = vmbus_channel_send(ic->ch, VMBUS_PKT_DATA_INBAND, 0, ic->next_trans++, ic->tx, len);
	if (ret) {
		ic->st.send_failures++;
		return ret;
	}
	ic->st.requests++;
	return 0;
}

/* Time sync 4.x samples carry the guest reference counter: offer it only
 * when the VMM can read that counter, else the guest would add its whole
 * uptime to the host time. */
static bool version_usable(const struct vmbus_ic *ic, struct vmbus_ic_version v)
{
	return !(ic->svc == &vmbus_ic_timesync_service && !ic->cfg.ref_time && v.major >= 4);
}

static int send_negotiate(struct vmbus_ic *ic)
{
	uint8_t b[sizeof(struct vmbus_ic_negotiate) + 16 * sizeof(struct vmbus_ic_version)];
	struct vmbus_ic_negotiate *n = (struct vmbus_ic_negotiate *)b;
	unsigned int k = 0;

	memset(b, 0, sizeof(b));
	n->icframe_vercnt = N_FRAMEWORK;
	for (unsigned int i = 0; i < N_FRAMEWORK; i++)
		n->versions[k++] = framework_versions[i];
	for (unsigned int i = 0; i < ic->svc->nversions; i++)
		if (version_usable(ic, ic->svc->versions[i]))
			n->versions[k++] = ic->svc->versions[i];
	n->icmsg_vercnt = (uint16_t)(k - N_FRAMEWORK);
	ic->st.state = VMBUS_IC_NEGOTIATING;
	return vmbus_ic_send_request(ic, VMBUS_IC_MSG_NEGOTIATE, b,
				     (uint32_t)(sizeof(*n) + k * sizeof(n->versions[0])));
}

static bool offered(const struct vmbus_ic_version *list, unsigned int n, struct vmbus_ic_version v)
{
	for (unsigned int i = 0; i < n; i++)
		if (list[i].major == v.major && list[i].minor == v.minor)
			return true;
	return false;
}

static void on_negotiated(struct vmbus_ic *ic, const uint8_t *body, uint32_t body_len)
{
	struct vmbus_ic_negotiate n;
	struct vmbus_ic_version v[2];

	if (body_len < sizeof(n) + sizeof(v)) {
		ic->st.bad_responses++;
		return;
	}
	memcpy(&n, body, sizeof(n));
	memcpy(v, body + sizeof(n), sizeof(v));
	if (n.icframe_vercnt != 1 || n.icmsg_vercnt != 1 ||
	    !offered(framework_versions, N_FRAMEWORK, v[0]) ||
	    !offered(ic->svc->versions, ic->svc->nversions, v[1]) || !version_usable(ic, v[1])) {
		ic->st.state = VMBUS_IC_FAILED; /* no common version */
		return;
	}
	ic->st.responses++;
	ic->st.framework = v[0];
	ic->st.service = v[1];
	ic->st.state = VMBUS_IC_READY;
	if (ic->svc->ready)
		ic->svc->ready(ic);
}

static void on_packet(struct vmbus_ic *ic, const uint8_t *buf, uint32_t len)
{
	struct vmbus_ic_hdr h;

	if (len < VMBUS_IC_HDR_SIZE) {
		ic->st.bad_responses++;
		return;
	}
	memcpy(&h, buf + sizeof(struct vmbus_ic_pipe_hdr), sizeof(h));
	if (!(h.icflags & VMBUS_IC_FLAG_RESPONSE)) {
		ic->st.bad_responses++;
		return;
	}
	if (h.icmsgtype == VMBUS_IC_MSG_NEGOTIATE && ic->st.state == VMBUS_IC_NEGOTIATING) {
		on_negotiated(ic, buf + VMBUS_IC_HDR_SIZE, len - (uint32_t)VMBUS_IC_HDR_SIZE);
		return;
	}
	if (h.icmsgtype != ic->svc->msgtype || ic->st.state != VMBUS_IC_READY) {
		ic->st.bad_responses++;
		return;
	}
	ic->svc->response(ic, &h, buf + VMBUS_IC_HDR_SIZE, len - (uint32_t)VMBUS_IC_HDR_SIZE);
}

/* ---- VSP callbacks ---- */

static int ic_open(void *vsp, struct vmbus_channel *ch, const uint8_t *userdata)
{
	struct vmbus_ic *ic = vsp;

	(void)userdata;
	ic->ch = ch;
	ic->st.state = VMBUS_IC_CLOSED;
	ic->st.framework = ic->st.service = (struct vmbus_ic_version){ 0, 0 };
	ic->hb_outstanding = false;
	ic->st.sd_pending = false;
	return 0;
}

static void ic_ready(void *vsp, struct vmbus_channel *ch)
{
	struct vmbus_ic *ic = vsp;

	(void)ch;
	if (send_negotiate(ic))
		ic->st.state = VMBUS_IC_FAILED;
}

static void ic_close(void *vsp, struct vmbus_channel *ch)
{
	struct vmbus_ic *ic = vsp;

	(void)ch;
	ic->ch = NULL;
	ic->st.state = VMBUS_IC_CLOSED;
	ic->st.heartbeat = VMBUS_HB_NO_CONTACT;
	ic->hb_outstanding = false;
	ic->st.sd_pending = false;
}

static void ic_signalled(void *vsp, struct vmbus_channel *ch)
{
	struct vmbus_ic *ic = vsp;
	struct vmbus_pkt pkt;
	int ret;

	while (ic->ch == ch) {
		ret = vmbus_channel_recv(ch, &pkt, ic->rx, sizeof(ic->rx));
		if (ret == -EAGAIN || ret == -EPROTO || ret == -EPIPE)
			break;
		if (ret < 0) {
			ic->st.bad_responses++;
			vmbus_channel_fail(ch, "oversized integration-service packet");
			break;
		}
		if (pkt.type != VMBUS_PKT_DATA_INBAND) {
			ic->st.bad_responses++;
			continue;
		}
		on_packet(ic, ic->rx, (uint32_t)ret);
	}
}

static const struct vmbus_vsp_ops ic_vsp_ops = {
	.name = "ic",
	.open = ic_open,
	.close = ic_close,
	.ready = ic_ready,
	.signalled = ic_signalled,
};

/* ---- public ---- */

static const struct vmbus_ic_service *service_of(enum vmbus_ic_kind kind)
{
	switch (kind) {
	case VMBUS_IC_HEARTBEAT:
		return &vmbus_ic_heartbeat_service;
	case VMBUS_IC_SHUTDOWN:
		return &vmbus_ic_shutdown_service;
	case VMBUS_IC_TIMESYNC:
		return &vmbus_ic_timesync_service;
	}
	return NULL;
}

static bool guid_zero(const struct vmbus_guid *g)
{
	static const struct vmbus_guid zero;

	return vmbus_guid_equal(g, &zero);
}

struct vmbus_ic *vmbus_ic_create(struct vmbus_host *h, const struct vmbus_ic_config *cfg)
{
	const struct vmbus_ic_service *svc = cfg ? service_of(cfg->kind) : NULL;
	struct vmbus_ic *ic;
	int ret;

	if (!h || !svc) {
		errno = EINVAL;
		return NULL;
	}
	ic = calloc(1, sizeof(*ic));
	if (!ic)
		return NULL;
	ic->host = h;
	ic->cfg = *cfg;
	ic->svc = svc;
	vmbus_guid_parse(svc->class_guid, &ic->dev.class_id);
	ic->dev.instance_id = cfg->instance_id;
	if (guid_zero(&ic->dev.instance_id))
		vmbus_guid_parse(svc->default_instance, &ic->dev.instance_id);
	ret = vmbus_host_add_device(h, &ic->dev, &ic_vsp_ops, ic, &ic->relid);
	if (ret) {
		free(ic);
		errno = -ret;
		return NULL;
	}
	return ic;
}

void vmbus_ic_destroy(struct vmbus_ic *ic)
{
	if (!ic)
		return;
	vmbus_host_remove_device(ic->host, ic->relid);
	free(ic);
}

void vmbus_ic_tick(struct vmbus_ic *ic, uint64_t now_ms)
{
	ic->now_ms = now_ms;
	if (ic->st.state == VMBUS_IC_READY && ic->svc->tick)
		ic->svc->tick(ic, now_ms);
}

void vmbus_ic_get_stats(const struct vmbus_ic *ic, struct vmbus_ic_stats *st)
{
	*st = ic->st;
}

uint32_t vmbus_ic_relid(const struct vmbus_ic *ic)
{
	return ic->relid;
}
