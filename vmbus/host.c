/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * VMBus host state machine (see host.h). Layout of this file: logging and
 * counters; channel and GPADL bookkeeping; one handler per guest->host
 * message type, dispatched from a table; the public entry points; the
 * channel API for VSPs.
 *
 * State: a host is DISCONNECTED until an acceptable INITIATE_CONTACT, then
 * CONNECTED until UNLOAD (or a new INITIATE_CONTACT, which resets it). A
 * channel slot (relid) exists from vmbus_host_add_device() until the device
 * is removed and, if the guest knew it, released by RELID_RELEASED. Its data
 * state is CLOSED, OPEN (rings mapped, VSP running) or FAILED (host stopped
 * it; waiting for the guest's CLOSECHANNEL).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "host.h"

#define MAX_RELID	 256u
#define LOG_FREE_LINES	 64u
#define LOG_EVERY_AFTER	 1024u
#define DEFAULT_CONN_BASE 0x1000u

enum chan_state { CH_CLOSED, CH_OPEN, CH_FAILED };

struct gpadl {
	struct gpadl *next;
	uint32_t id;
	uint32_t relid;
	uint16_t range_buflen;
	uint16_t rangecount;
	uint32_t received;
	uint8_t *rangebuf;	/* while incomplete */
	bool complete;
	bool in_use;		/* ring GPADL of an open (or failed) channel */
	bool announced;		/* the VSP's gpadl_created accepted it */
	uint64_t *pfns;
	uint32_t npfns;
	uint32_t first_offset;
	uint32_t first_count;
};

struct vmbus_channel {
	struct vmbus_host *h;
	uint32_t relid;
	uint32_t conn_id;
	uint32_t target_vp;
	bool offered;
	bool removed;		/* device removed; slot waits for RELID_RELEASED */
	enum chan_state state;
	struct vmbus_device_info info;
	const struct vmbus_vsp_ops *ops;
	void *vsp;
	void *priv;
	struct gpadl *ring_gpadl;
	uint32_t out_offset;	/* first page of the host->guest ring */
	struct vmbus_ring *in;
	struct vmbus_ring *out;
	void *map;		/* from ops->map_pages, or NULL */
	uint32_t map_pages;
};

struct vmbus_host {
	const struct vmbus_host_ops *ops;
	void *ctx;
	struct vmbus_host_config cfg;
	enum vmbus_host_state state;
	uint32_t version;
	uint32_t target_vcpu;
	uint32_t msg_conn_id;
	bool offers_requested;
	struct vmbus_channel *chans[MAX_RELID];
	struct gpadl *gpadls;
	uint32_t ngpadls;
	uint64_t counters[VMBUS_HC_COUNT];
	uint64_t log_lines;
};

typedef int vmbus_host_handler_fn(struct vmbus_host *h, const struct vmbus_msg *m);

/* ---- logging and counters ---- */

static void __attribute__((format(printf, 3, 4)))
hlog(struct vmbus_host *h, int level, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	if (!h->ops->log)
		return;
	h->log_lines++;
	if (level >= LOG_INFO && h->log_lines > LOG_FREE_LINES &&
	    h->log_lines % LOG_EVERY_AFTER)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	h->ops->log(h->ctx, level, line);
}

/* Counts and logs a rejected message; returns err for the caller to pass on. */
static int __attribute__((format(printf, 4, 5)))
reject(struct vmbus_host *h, enum vmbus_host_counter c, int err, const char *fmt, ...)
{
	char line[200];
	va_list ap;

	h->counters[c]++;
	h->log_lines++;
	if (!h->ops->log || (h->log_lines > LOG_FREE_LINES && h->log_lines % LOG_EVERY_AFTER))
		return err;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	h->ops->log(h->ctx, LOG_WARNING, line);
	return err;
}

static void post(struct vmbus_host *h, uint32_t vp, const void *msg, size_t len)
{
	if (h->ops->post_msg(h->ctx, vp, msg, len) == 0)
		h->counters[VMBUS_HC_MSG_TX]++;
	else
		h->counters[VMBUS_HC_POST_FAILED]++;
}

static void post_hdr_only(struct vmbus_host *h, uint32_t type)
{
	struct vmbus_wire_hdr m = { .msgtype = type };

	post(h, h->target_vcpu, &m, sizeof(m));
}

/* ---- bookkeeping ---- */

static struct vmbus_channel *chan(struct vmbus_host *h, uint32_t relid)
{
	return relid && relid < MAX_RELID ? h->chans[relid] : NULL;
}

static struct gpadl *find_gpadl(struct vmbus_host *h, uint32_t id)
{
	for (struct gpadl *g = h->gpadls; g; g = g->next)
		if (g->id == id)
			return g;
	return NULL;
}

static void free_gpadl(struct vmbus_host *h, struct gpadl *g)
{
	struct vmbus_channel *owner = chan(h, g->relid);

	if (g->announced && owner && owner->ops->gpadl_torndown)
		owner->ops->gpadl_torndown(owner->vsp, g->relid, g->id);
	for (struct gpadl **pp = &h->gpadls; *pp; pp = &(*pp)->next) {
		if (*pp == g) {
			*pp = g->next;
			break;
		}
	}
	h->ngpadls--;
	free(g->rangebuf);
	free(g->pfns);
	free(g);
}

static void free_gpadls_of(struct vmbus_host *h, uint32_t relid, bool all)
{
	struct gpadl *g = h->gpadls, *next;

	for (; g; g = next) {
		next = g->next;
		if (all || g->relid == relid)
			free_gpadl(h, g);
	}
}

static void unmap_rings(struct vmbus_channel *ch)
{
	struct vmbus_host *h = ch->h;

	vmbus_ring_free(ch->in);
	vmbus_ring_free(ch->out);
	ch->in = ch->out = NULL;
	if (ch->map && h->ops->unmap_pages)
		h->ops->unmap_pages(h->ctx, ch->map, ch->map_pages);
	ch->map = NULL;
}

/* Stops the data path of an open channel: VSP close, rings unmapped. */
static void stop_channel(struct vmbus_channel *ch)
{
	struct vmbus_host *h = ch->h;

	if (ch->state != CH_OPEN)
		return;
	ch->state = CH_FAILED;
	ch->ops->close(ch->vsp, ch);
	unmap_rings(ch);
	if (h->ops->channel_closed)
		h->ops->channel_closed(h->ctx, ch->relid, ch->conn_id);
}

/* Host and guest both consider the channel closed again. */
static void close_channel(struct vmbus_channel *ch)
{
	stop_channel(ch);
	ch->state = CH_CLOSED;
	if (ch->ring_gpadl)
		ch->ring_gpadl->in_use = false;
	ch->ring_gpadl = NULL;
}

static void free_slot(struct vmbus_host *h, struct vmbus_channel *ch)
{
	close_channel(ch);
	free_gpadls_of(h, ch->relid, false);
	h->chans[ch->relid] = NULL;
	free(ch);
}

/* Back to DISCONNECTED: everything the guest created is dropped. */
static void reset_connection(struct vmbus_host *h)
{
	for (uint32_t i = 1; i < MAX_RELID; i++) {
		struct vmbus_channel *ch = h->chans[i];

		if (!ch)
			continue;
		close_channel(ch);
		ch->offered = false;
		if (ch->removed)
			free_slot(h, ch);
	}
	free_gpadls_of(h, 0, true);
	h->state = VMBUS_HOST_DISCONNECTED;
	h->version = 0;
	h->offers_requested = false;
}

static void send_offer(struct vmbus_host *h, struct vmbus_channel *ch)
{
	struct vmbus_wire_offer o;

	memset(&o, 0, sizeof(o));
	o.hdr.msgtype = VMBUS_MSG_OFFERCHANNEL;
	o.if_type = ch->info.class_id;
	o.if_instance = ch->info.instance_id;
	o.chn_flags = ch->info.chn_flags;
	o.mmio_megabytes = ch->info.mmio_megabytes;
	memcpy(o.user_def, ch->info.user_def, sizeof(o.user_def));
	o.sub_channel_index = ch->info.sub_channel_index;
	o.child_relid = ch->relid;
	/* No monitor pages: the guest signals with HvSignalEvent(connection_id). */
	o.is_dedicated_interrupt = 1;
	o.connection_id = ch->conn_id;
	post(h, h->target_vcpu, &o, sizeof(o));
	ch->offered = true;
}

/* ---- version negotiation ---- */

static bool version_known(uint32_t v)
{
	return v == VMBUS_VERSION_4_0 || (v >= VMBUS_VERSION_5_0 && v <= VMBUS_VERSION_5_3);
}

static bool contact_acceptable(struct vmbus_host *h, uint32_t conn_id, const struct vmbus_msg *m)
{
	uint32_t v = m->u.contact.version;

	if (!version_known(v) || v > h->cfg.max_version)
		return false;
	if (m->u.contact.target_vcpu >= h->cfg.nr_vcpus)
		return false;
	if (v >= VMBUS_VERSION_5_0)
		return conn_id == VMBUS_MSG_CONN_ID_4 && m->u.contact.msg_sint == VMBUS_MSG_SINT;
	return conn_id == VMBUS_MSG_CONN_ID;
}

static int on_contact(struct vmbus_host *h, uint32_t conn_id, const struct vmbus_msg *m)
{
	struct vmbus_wire_version_response r = { .hdr.msgtype = VMBUS_MSG_VERSION_RESPONSE };
	uint32_t v = m->u.contact.version;
	bool ok = contact_acceptable(h, conn_id, m);

	if (h->state == VMBUS_HOST_CONNECTED) {
		hlog(h, LOG_NOTICE, "vmbus: INITIATE_CONTACT while connected: resetting");
		reset_connection(h);
	}
	h->target_vcpu = m->u.contact.target_vcpu < h->cfg.nr_vcpus ? m->u.contact.target_vcpu : 0;
	r.version_supported = ok;
	if (ok && v >= VMBUS_VERSION_5_0)
		r.msg_conn_id = h->cfg.msg_conn_id;
	post(h, h->target_vcpu, &r, sizeof(r));
	if (!ok) {
		h->counters[VMBUS_HC_VERSION_REJECTED]++;
		hlog(h, LOG_INFO, "vmbus: refused version %u.%u on connection %u", v >> 16,
		     v & 0xffff, conn_id);
		return 0;
	}
	h->state = VMBUS_HOST_CONNECTED;
	h->version = v;
	h->msg_conn_id = v >= VMBUS_VERSION_5_0 ? h->cfg.msg_conn_id : VMBUS_MSG_CONN_ID;
	hlog(h, LOG_INFO, "vmbus: negotiated version %u.%u, messages on connection %u", v >> 16,
	     v & 0xffff, h->msg_conn_id);
	return 0;
}

/* ---- offers ---- */

static int on_request_offers(struct vmbus_host *h, const struct vmbus_msg *m)
{
	(void)m;
	for (uint32_t i = 1; i < MAX_RELID; i++)
		if (h->chans[i] && !h->chans[i]->removed)
			send_offer(h, h->chans[i]);
	post_hdr_only(h, VMBUS_MSG_ALLOFFERS_DELIVERED);
	h->offers_requested = true;
	return 0;
}

/* ---- GPADLs ---- */

static int gpadl_fail(struct vmbus_host *h, uint32_t relid, uint32_t id, enum vmbus_host_counter c,
		      const char *why)
{
	struct vmbus_wire_gpadl_created r = { .hdr.msgtype = VMBUS_MSG_GPADL_CREATED };

	r.child_relid = relid;
	r.gpadl = id;
	r.creation_status = VMBUS_STATUS_FAILURE;
	post(h, h->target_vcpu, &r, sizeof(r));
	if (c != VMBUS_HC_GPADL_REJECTED)
		h->counters[VMBUS_HC_GPADL_REJECTED]++;
	return reject(h, c, -EINVAL, "vmbus: GPADL %#x (relid %u) rejected: %s", id, relid, why);
}

static bool pfn_ok(struct vmbus_host *h, uint64_t pfn)
{
	if (pfn >= (UINT64_MAX >> 12))
		return false;
	if (h->cfg.guest_mem_size && pfn >= h->cfg.guest_mem_size / VMBUS_PAGE_SIZE)
		return false;
	return h->ops->gpa_to_hva(h->ctx, pfn * VMBUS_PAGE_SIZE, VMBUS_PAGE_SIZE) != NULL;
}

/* Copies the pfns out of the complete range buffer, checking each page. */
static int gpadl_collect(struct vmbus_host *h, struct gpadl *g)
{
	struct vmbus_wire_gpa_range r;
	uint32_t pos = 0, n = 0;

	for (uint32_t i = 0; i < g->rangecount; i++) {
		uint32_t span;

		memcpy(&r, g->rangebuf + pos, sizeof(r));
		if (i == 0) {
			g->first_offset = r.byte_offset;
			g->first_count = r.byte_count;
		}
		span = (uint32_t)(((uint64_t)r.byte_offset + r.byte_count + VMBUS_PAGE_SIZE - 1) /
				  VMBUS_PAGE_SIZE);
		pos += sizeof(r);
		for (uint32_t k = 0; k < span; k++, pos += 8) {
			g->pfns[n] = vmbus_msg_pfn(g->rangebuf + pos, 0);
			if (!pfn_ok(h, g->pfns[n]))
				return -EFAULT;
			n++;
		}
	}
	return 0;
}

/* Tells the channel's VSP about a complete GPADL (before the guest learns
 * it exists). Returns the VSP's refusal or 0. */
static int gpadl_announce(struct vmbus_host *h, struct gpadl *g)
{
	struct vmbus_channel *ch = chan(h, g->relid);

	if (!ch || !ch->ops->gpadl_created)
		return 0;
	if (ch->ops->gpadl_created(ch->vsp, g->relid, g->id, g->pfns, g->npfns))
		return -EIO;
	g->announced = true;
	return 0;
}

static int gpadl_finish(struct vmbus_host *h, struct gpadl *g)
{
	struct vmbus_wire_gpadl_created r = { .hdr.msgtype = VMBUS_MSG_GPADL_CREATED };
	uint32_t relid = g->relid, id = g->id, npfns;

	if (vmbus_msg_gpa_ranges_check(g->rangebuf, g->range_buflen, g->rangecount, &npfns)) {
		free_gpadl(h, g);
		return gpadl_fail(h, relid, id, VMBUS_HC_MSG_BAD_FIELD, "inconsistent ranges");
	}
	if (npfns > h->cfg.max_gpadl_pages) {
		free_gpadl(h, g);
		return gpadl_fail(h, relid, id, VMBUS_HC_MSG_BAD_FIELD, "too many pages");
	}
	g->pfns = calloc(npfns, sizeof(*g->pfns));
	g->npfns = npfns;
	if (!g->pfns || gpadl_collect(h, g)) {
		free_gpadl(h, g);
		return gpadl_fail(h, relid, id, VMBUS_HC_GPADL_BAD_PFN,
				  "page outside guest memory");
	}
	free(g->rangebuf);
	g->rangebuf = NULL;
	g->complete = true;
	if (gpadl_announce(h, g)) {
		free_gpadl(h, g);
		return gpadl_fail(h, relid, id, VMBUS_HC_GPADL_REJECTED, "device refused");
	}
	h->counters[VMBUS_HC_GPADL_CREATED]++;
	r.child_relid = relid;
	r.gpadl = id;
	r.creation_status = VMBUS_STATUS_SUCCESS;
	post(h, h->target_vcpu, &r, sizeof(r));
	return 0;
}

static int on_gpadl_header(struct vmbus_host *h, const struct vmbus_msg *m)
{
	uint32_t relid = m->u.gpadl_header.child_relid, id = m->u.gpadl_header.gpadl;
	struct vmbus_channel *ch = chan(h, relid);
	uint32_t max_pfns;
	struct gpadl *g;

	if (!ch || !ch->offered || ch->removed)
		return gpadl_fail(h, relid, id, VMBUS_HC_MSG_BAD_RELID, "unknown channel");
	if (find_gpadl(h, id))
		return gpadl_fail(h, relid, id, VMBUS_HC_MSG_BAD_FIELD, "handle in use");
	if (h->ngpadls >= h->cfg.max_gpadls)
		return gpadl_fail(h, relid, id, VMBUS_HC_MSG_BAD_STATE, "too many GPADLs");
	max_pfns = (m->u.gpadl_header.range_buflen - 8u * m->u.gpadl_header.rangecount) / 8;
	if (max_pfns > h->cfg.max_gpadl_pages)
		return gpadl_fail(h, relid, id, VMBUS_HC_MSG_BAD_FIELD, "too many pages");
	g = calloc(1, sizeof(*g));
	if (g)
		g->rangebuf = malloc(m->u.gpadl_header.range_buflen);
	if (!g || !g->rangebuf) {
		free(g);
		return gpadl_fail(h, relid, id, VMBUS_HC_GPADL_REJECTED, "out of memory");
	}
	g->id = id;
	g->relid = relid;
	g->range_buflen = m->u.gpadl_header.range_buflen;
	g->rangecount = m->u.gpadl_header.rangecount;
	g->received = m->u.gpadl_header.ranges_len;
	memcpy(g->rangebuf, m->u.gpadl_header.ranges, g->received);
	g->next = h->gpadls;
	h->gpadls = g;
	h->ngpadls++;
	return g->received == g->range_buflen ? gpadl_finish(h, g) : 0;
}

static int on_gpadl_body(struct vmbus_host *h, const struct vmbus_msg *m)
{
	struct gpadl *g = find_gpadl(h, m->u.gpadl_body.gpadl);
	uint32_t bytes = m->u.gpadl_body.npfns * 8, relid, id;

	if (!g || g->complete)
		return reject(h, VMBUS_HC_GPADL_UNKNOWN, -ENOENT,
			      "vmbus: GPADL_BODY for unknown GPADL %#x", m->u.gpadl_body.gpadl);
	if (bytes > (uint32_t)g->range_buflen - g->received) {
		relid = g->relid;
		id = g->id;
		free_gpadl(h, g);
		return gpadl_fail(h, relid, id, VMBUS_HC_MSG_BAD_FIELD, "body overruns ranges");
	}
	memcpy(g->rangebuf + g->received, m->u.gpadl_body.pfns, bytes);
	g->received += bytes;
	return g->received == g->range_buflen ? gpadl_finish(h, g) : 0;
}

static int on_gpadl_teardown(struct vmbus_host *h, const struct vmbus_msg *m)
{
	struct vmbus_wire_gpadl_torndown r = { .hdr.msgtype = VMBUS_MSG_GPADL_TORNDOWN };
	struct gpadl *g = find_gpadl(h, m->u.gpadl.gpadl);

	if (!g)
		return reject(h, VMBUS_HC_GPADL_UNKNOWN, -ENOENT,
			      "vmbus: GPADL_TEARDOWN of unknown GPADL %#x", m->u.gpadl.gpadl);
	if (g->relid != m->u.gpadl.child_relid)
		return reject(h, VMBUS_HC_MSG_BAD_RELID, -EINVAL,
			      "vmbus: GPADL_TEARDOWN %#x names relid %u, owner is %u", g->id,
			      m->u.gpadl.child_relid, g->relid);
	if (g->in_use)
		return reject(h, VMBUS_HC_MSG_BAD_STATE, -EBUSY,
			      "vmbus: GPADL_TEARDOWN of GPADL %#x in use by an open channel",
			      g->id);
	r.gpadl = g->id;
	free_gpadl(h, g);
	h->counters[VMBUS_HC_GPADL_TORNDOWN]++;
	post(h, h->target_vcpu, &r, sizeof(r));
	return 0;
}

/* ---- open / close ---- */

static int open_fail(struct vmbus_host *h, const struct vmbus_msg *m, enum vmbus_host_counter c,
		     const char *why)
{
	struct vmbus_wire_open_result r = { .hdr.msgtype = VMBUS_MSG_OPENCHANNEL_RESULT };

	r.child_relid = m->u.open.child_relid;
	r.openid = m->u.open.openid;
	r.status = VMBUS_STATUS_FAILURE;
	post(h, h->target_vcpu, &r, sizeof(r));
	if (c != VMBUS_HC_OPEN_FAILED)
		h->counters[VMBUS_HC_OPEN_FAILED]++;
	return reject(h, c, -EINVAL, "vmbus: OPENCHANNEL relid %u refused: %s",
		      m->u.open.child_relid, why);
}

/* Host pointer to pages [first, first + n) of g, contiguous. */
static uint8_t *map_range(struct vmbus_channel *ch, struct gpadl *g, uint32_t first, uint32_t n)
{
	struct vmbus_host *h = ch->h;
	uint8_t *base = h->ops->gpa_to_hva(h->ctx, g->pfns[first] * VMBUS_PAGE_SIZE,
					   VMBUS_PAGE_SIZE);

	for (uint32_t i = 1; base && i < n; i++) {
		uint8_t *p = h->ops->gpa_to_hva(h->ctx, g->pfns[first + i] * VMBUS_PAGE_SIZE,
						VMBUS_PAGE_SIZE);

		if (p != base + (size_t)i * VMBUS_PAGE_SIZE)
			base = NULL;
	}
	return base;
}

static int map_rings(struct vmbus_channel *ch, struct gpadl *g, uint32_t off)
{
	struct vmbus_host *h = ch->h;
	uint8_t *in = map_range(ch, g, 0, off);
	uint8_t *out = map_range(ch, g, off, g->npfns - off);

	if ((!in || !out) && h->ops->map_pages) {
		/* scattered pages: map the whole GPADL contiguously */
		ch->map = h->ops->map_pages(h->ctx, g->pfns, g->npfns);
		if (!ch->map)
			return -EFAULT;
		ch->map_pages = g->npfns;
		in = ch->map;
		out = (uint8_t *)ch->map + (size_t)off * VMBUS_PAGE_SIZE;
	}
	if (!in || !out)
		return -EFAULT;
	ch->in = vmbus_ring_attach(in, (size_t)off * VMBUS_PAGE_SIZE, 0);
	ch->out = vmbus_ring_attach(out, (size_t)(g->npfns - off) * VMBUS_PAGE_SIZE,
				    VMBUS_RING_SET_FEAT);
	if (ch->in && ch->out)
		return 0;
	unmap_rings(ch);
	return -EPROTO;
}

static const char *open_check(struct vmbus_host *h, const struct vmbus_msg *m,
			      struct vmbus_channel *ch, struct gpadl *g, enum vmbus_host_counter *c)
{
	uint32_t off = m->u.open.downstream_page_offset;

	*c = VMBUS_HC_MSG_BAD_RELID;
	if (!ch || !ch->offered || ch->removed)
		return "unknown channel";
	*c = VMBUS_HC_MSG_BAD_STATE;
	if (ch->state != CH_CLOSED)
		return "channel not closed";
	*c = VMBUS_HC_GPADL_UNKNOWN;
	if (!g || !g->complete || g->in_use || g->relid != ch->relid)
		return "ring GPADL unknown, incomplete, busy or foreign";
	*c = VMBUS_HC_MSG_BAD_FIELD;
	if (g->rangecount != 1 || g->first_offset || g->first_count != g->npfns * VMBUS_PAGE_SIZE)
		return "ring GPADL is not one page-aligned range";
	if (off < 2 || g->npfns < 4 || off > g->npfns - 2)
		return "ring offset leaves a ring without header and data page";
	if (m->u.open.target_vp >= h->cfg.nr_vcpus)
		return "target VP out of range";
	return NULL;
}

static int on_open(struct vmbus_host *h, const struct vmbus_msg *m)
{
	struct vmbus_wire_open_result r = { .hdr.msgtype = VMBUS_MSG_OPENCHANNEL_RESULT };
	struct vmbus_channel *ch = chan(h, m->u.open.child_relid);
	struct gpadl *g = find_gpadl(h, m->u.open.gpadl);
	enum vmbus_host_counter c;
	const char *why = open_check(h, m, ch, g, &c);

	if (why)
		return open_fail(h, m, c, why);
	if (map_rings(ch, g, m->u.open.downstream_page_offset))
		return open_fail(h, m, VMBUS_HC_MSG_BAD_FIELD, "rings unmappable or corrupt");
	ch->target_vp = m->u.open.target_vp;
	ch->state = CH_OPEN;
	ch->ring_gpadl = g; /* vmbus_channel_ring_pages() works in the open callback */
	ch->out_offset = m->u.open.downstream_page_offset;
	if (ch->ops->open(ch->vsp, ch, m->u.open.userdata)) {
		ch->state = CH_CLOSED; /* the VSP refused: no close callback */
		ch->ring_gpadl = NULL;
		unmap_rings(ch);
		return open_fail(h, m, VMBUS_HC_OPEN_FAILED, "device refused");
	}
	g->in_use = true;
	h->counters[VMBUS_HC_OPEN_OK]++;
	if (h->ops->channel_opened)
		h->ops->channel_opened(h->ctx, ch->relid, ch->conn_id, ch->target_vp);
	r.child_relid = ch->relid;
	r.openid = m->u.open.openid;
	r.status = VMBUS_STATUS_SUCCESS;
	post(h, h->target_vcpu, &r, sizeof(r));
	if (ch->ops->ready && ch->state == CH_OPEN)
		ch->ops->ready(ch->vsp, ch);
	return 0;
}

static int on_close(struct vmbus_host *h, const struct vmbus_msg *m)
{
	struct vmbus_channel *ch = chan(h, m->u.child_relid);

	if (!ch || !ch->offered)
		return reject(h, VMBUS_HC_MSG_BAD_RELID, -EINVAL,
			      "vmbus: CLOSECHANNEL of unknown relid %u", m->u.child_relid);
	if (ch->state == CH_CLOSED)
		return reject(h, VMBUS_HC_MSG_BAD_STATE, -EINVAL,
			      "vmbus: CLOSECHANNEL of closed relid %u", m->u.child_relid);
	close_channel(ch);
	h->counters[VMBUS_HC_CLOSE]++;
	return 0;
}

/* ---- rescind, unload, misc ---- */

static int on_relid_released(struct vmbus_host *h, const struct vmbus_msg *m)
{
	struct vmbus_channel *ch = chan(h, m->u.child_relid);

	if (!ch || !ch->removed)
		return reject(h, VMBUS_HC_MSG_BAD_STATE, -EINVAL,
			      "vmbus: RELID_RELEASED of relid %u not rescinded", m->u.child_relid);
	free_slot(h, ch);
	return 0;
}

static int on_unload(struct vmbus_host *h, const struct vmbus_msg *m)
{
	(void)m;
	reset_connection(h);
	h->counters[VMBUS_HC_UNLOAD]++;
	post_hdr_only(h, VMBUS_MSG_UNLOAD_RESPONSE);
	hlog(h, LOG_INFO, "vmbus: guest unloaded");
	return 0;
}

static int on_modify(struct vmbus_host *h, const struct vmbus_msg *m)
{
	struct vmbus_wire_modifychannel_response r = {
		.hdr.msgtype = VMBUS_MSG_MODIFYCHANNEL_RESPONSE,
	};
	struct vmbus_channel *ch = chan(h, m->u.modify.child_relid);
	int ret = 0;

	r.child_relid = m->u.modify.child_relid;
	if (!ch || ch->state != CH_OPEN || m->u.modify.target_vp >= h->cfg.nr_vcpus) {
		r.status = VMBUS_STATUS_FAILURE;
		ret = reject(h, VMBUS_HC_MSG_BAD_FIELD, -EINVAL,
			     "vmbus: MODIFYCHANNEL relid %u vp %u refused", m->u.modify.child_relid,
			     m->u.modify.target_vp);
	} else if (ch->ops->retarget && ch->ops->retarget(ch->vsp, ch, m->u.modify.target_vp)) {
		r.status = VMBUS_STATUS_FAILURE;
		ret = reject(h, VMBUS_HC_MSG_UNSUPPORTED, -EOPNOTSUPP,
			     "vmbus: MODIFYCHANNEL relid %u vp %u refused by the device",
			     m->u.modify.child_relid, m->u.modify.target_vp);
	} else {
		ch->target_vp = m->u.modify.target_vp;
	}
	if (h->version >= VMBUS_VERSION_5_3)
		post(h, h->target_vcpu, &r, sizeof(r));
	return ret;
}

static int on_unsupported(struct vmbus_host *h, const struct vmbus_msg *m)
{
	return reject(h, VMBUS_HC_MSG_UNSUPPORTED, -EOPNOTSUPP, "vmbus: %s not supported",
		      vmbus_msg_type_name(m->type));
}

static vmbus_host_handler_fn *const handlers[VMBUS_MSG_TYPE_COUNT] = {
	[VMBUS_MSG_REQUESTOFFERS] = on_request_offers,
	[VMBUS_MSG_OPENCHANNEL] = on_open,
	[VMBUS_MSG_CLOSECHANNEL] = on_close,
	[VMBUS_MSG_GPADL_HEADER] = on_gpadl_header,
	[VMBUS_MSG_GPADL_BODY] = on_gpadl_body,
	[VMBUS_MSG_GPADL_TEARDOWN] = on_gpadl_teardown,
	[VMBUS_MSG_RELID_RELEASED] = on_relid_released,
	[VMBUS_MSG_UNLOAD] = on_unload,
	[VMBUS_MSG_MODIFYCHANNEL] = on_modify,
	[VMBUS_MSG_TL_CONNECT_REQUEST] = on_unsupported,
};

/* ---- entry points ---- */

struct vmbus_host *vmbus_host_create(const struct vmbus_host_ops *ops, void *ctx,
				     const struct vmbus_host_config *cfg)
{
	struct vmbus_host *h;

	if (!ops || !ops->post_msg || !ops->signal_guest || !ops->gpa_to_hva) {
		errno = EINVAL;
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->ops = ops;
	h->ctx = ctx;
	if (cfg)
		h->cfg = *cfg;
	if (!h->cfg.max_version)
		h->cfg.max_version = VMBUS_VERSION_5_3;
	if (!h->cfg.msg_conn_id)
		h->cfg.msg_conn_id = VMBUS_MSG_CONN_ID;
	if (!h->cfg.nr_vcpus)
		h->cfg.nr_vcpus = 1;
	if (!h->cfg.max_gpadl_pages)
		h->cfg.max_gpadl_pages = 65536;
	if (!h->cfg.max_gpadls)
		h->cfg.max_gpadls = 1024;
	if (!h->cfg.conn_id_base)
		h->cfg.conn_id_base = DEFAULT_CONN_BASE;
	return h;
}

void vmbus_host_destroy(struct vmbus_host *h)
{
	if (!h)
		return;
	for (uint32_t i = 1; i < MAX_RELID; i++)
		if (h->chans[i])
			free_slot(h, h->chans[i]);
	free_gpadls_of(h, 0, true);
	free(h);
}

/* The live device with info's instance GUID and the given subchannel index. */
static struct vmbus_channel *find_device(struct vmbus_host *h,
					 const struct vmbus_device_info *info, uint16_t index)
{
	for (uint32_t i = 1; i < MAX_RELID; i++) {
		struct vmbus_channel *ch = h->chans[i];

		if (ch && !ch->removed && ch->info.sub_channel_index == index &&
		    vmbus_guid_equal(&ch->info.instance_id, &info->instance_id))
			return ch;
	}
	return NULL;
}

int vmbus_host_add_device(struct vmbus_host *h, const struct vmbus_device_info *info,
			  const struct vmbus_vsp_ops *ops, void *vsp, uint32_t *relid)
{
	struct vmbus_channel *ch;
	uint32_t i;

	if (!info || !ops || !ops->open || !ops->close || !ops->signalled)
		return -EINVAL;
	if (find_device(h, info, info->sub_channel_index))
		return -EEXIST;
	if (info->sub_channel_index && !find_device(h, info, 0))
		return -ENOENT;
	for (i = 1; i < MAX_RELID && h->chans[i]; i++)
		;
	if (i == MAX_RELID)
		return -ENOSPC;
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return -ENOMEM;
	ch->h = h;
	ch->relid = i;
	ch->conn_id = h->cfg.conn_id_base + i;
	ch->info = *info;
	ch->ops = ops;
	ch->vsp = vsp;
	h->chans[i] = ch;
	if (relid)
		*relid = i;
	if (h->state == VMBUS_HOST_CONNECTED && h->offers_requested)
		send_offer(h, ch);
	return 0;
}

int vmbus_host_remove_device(struct vmbus_host *h, uint32_t relid)
{
	struct vmbus_channel *ch = chan(h, relid);
	struct vmbus_wire_relid r = { .hdr.msgtype = VMBUS_MSG_RESCIND_CHANNELOFFER };

	if (!ch || ch->removed)
		return -ENOENT;
	stop_channel(ch);
	ch->removed = true;
	if (!ch->offered || h->state != VMBUS_HOST_CONNECTED) {
		free_slot(h, ch);
		return 0;
	}
	r.child_relid = relid;
	h->counters[VMBUS_HC_RESCIND]++;
	post(h, h->target_vcpu, &r, sizeof(r));
	return 0;
}

/* A message the parser refused. For GPADL_HEADER and OPENCHANNEL the guest
 * waits for an answer: send a failure when the ids are readable. */
static int parse_failed(struct vmbus_host *h, const uint8_t *buf, size_t len, int err,
			uint32_t type)
{
	enum vmbus_host_counter c = err == -ENOMSG ? VMBUS_HC_MSG_BAD_TYPE
				    : err == -EBADMSG ? VMBUS_HC_MSG_BAD_LEN
						      : VMBUS_HC_MSG_BAD_FIELD;
	struct vmbus_msg m;
	uint32_t relid, id;

	if (h->state != VMBUS_HOST_CONNECTED || len < 16)
		goto out_reject;
	memcpy(&relid, buf + 8, 4);
	memcpy(&id, buf + 12, 4);
	if (type == VMBUS_MSG_GPADL_HEADER && relid && id)
		return gpadl_fail(h, relid, id, c, "malformed GPADL_HEADER");
	if (type == VMBUS_MSG_OPENCHANNEL && relid) {
		memset(&m, 0, sizeof(m));
		m.u.open.child_relid = relid;
		m.u.open.openid = id;
		return open_fail(h, &m, c, "malformed OPENCHANNEL");
	}
out_reject:
	return reject(h, c, err, "vmbus: malformed %s message (%zu bytes): %s",
		      vmbus_msg_type_name(type), len, strerror(-err));
}

int vmbus_host_handle_message(struct vmbus_host *h, uint32_t conn_id, const void *msg, size_t len)
{
	uint8_t buf[VMBUS_MSG_MAX_SIZE];
	struct vmbus_msg m;
	uint32_t type = 0;
	int ret;

	h->counters[VMBUS_HC_MSG_RX]++;
	if (conn_id != VMBUS_MSG_CONN_ID && conn_id != VMBUS_MSG_CONN_ID_4 &&
	    conn_id != h->cfg.msg_conn_id)
		return reject(h, VMBUS_HC_MSG_BAD_CONN_ID, -ENOENT,
			      "vmbus: message on unknown connection %u", conn_id);
	if (!msg || len < sizeof(struct vmbus_wire_hdr) || len > sizeof(buf))
		return reject(h, VMBUS_HC_MSG_BAD_LEN, -EBADMSG, "vmbus: message of %zu bytes",
			      len);
	memcpy(buf, msg, len);
	memcpy(&type, buf, sizeof(type));
	if (vmbus_msg_min_size(type) && !vmbus_msg_is_guest_to_host(type))
		return reject(h, VMBUS_HC_MSG_BAD_TYPE, -ENOMSG, "vmbus: %s from the guest",
			      vmbus_msg_type_name(type));
	ret = vmbus_msg_parse(buf, len, &m);
	if (ret)
		return parse_failed(h, buf, len, ret, type);
	if (m.type == VMBUS_MSG_INITIATE_CONTACT)
		return on_contact(h, conn_id, &m);
	if (h->state != VMBUS_HOST_CONNECTED)
		return reject(h, VMBUS_HC_MSG_BAD_STATE, -ENOTCONN, "vmbus: %s before contact",
			      vmbus_msg_type_name(m.type));
	if (conn_id != h->msg_conn_id)
		return reject(h, VMBUS_HC_MSG_BAD_CONN_ID, -EPERM,
			      "vmbus: %s on connection %u, expected %u",
			      vmbus_msg_type_name(m.type), conn_id, h->msg_conn_id);
	if (!handlers[m.type])
		return reject(h, VMBUS_HC_MSG_UNSUPPORTED, -EOPNOTSUPP, "vmbus: no handler");
	return handlers[m.type](h, &m);
}

int vmbus_host_signal_event(struct vmbus_host *h, uint32_t conn_id)
{
	struct vmbus_channel *ch;

	if (conn_id <= h->cfg.conn_id_base)
		return -ENOENT;
	ch = chan(h, conn_id - h->cfg.conn_id_base);
	if (!ch || ch->state != CH_OPEN)
		return -ENOENT;
	ch->ops->signalled(ch->vsp, ch);
	return 0;
}

enum vmbus_host_state vmbus_host_state(const struct vmbus_host *h)
{
	return h->state;
}

uint32_t vmbus_host_version(const struct vmbus_host *h)
{
	return h->version;
}

uint32_t vmbus_host_target_vcpu(const struct vmbus_host *h)
{
	return h->target_vcpu;
}

uint64_t vmbus_host_counter(const struct vmbus_host *h, enum vmbus_host_counter c)
{
	return c < VMBUS_HC_COUNT ? h->counters[c] : 0;
}

const char *vmbus_host_counter_name(enum vmbus_host_counter c)
{
#define VMBUS_HC_NAME(id, name) name,
	static const char *const names[] = { VMBUS_HOST_COUNTERS(VMBUS_HC_NAME) };
#undef VMBUS_HC_NAME
	return c < VMBUS_HC_COUNT ? names[c] : "unknown";
}

struct vmbus_channel *vmbus_host_channel(struct vmbus_host *h, uint32_t relid)
{
	struct vmbus_channel *ch = chan(h, relid);

	return ch && ch->state == CH_OPEN ? ch : NULL;
}

/* ---- channel API ---- */

uint32_t vmbus_channel_relid(const struct vmbus_channel *ch)
{
	return ch->relid;
}

uint32_t vmbus_channel_conn_id(const struct vmbus_channel *ch)
{
	return ch->conn_id;
}

uint32_t vmbus_channel_target_vp(const struct vmbus_channel *ch)
{
	return ch->target_vp;
}

struct vmbus_host *vmbus_channel_host(const struct vmbus_channel *ch)
{
	return ch->h;
}

struct vmbus_ring *vmbus_channel_in_ring(struct vmbus_channel *ch)
{
	return ch->in;
}

struct vmbus_ring *vmbus_channel_out_ring(struct vmbus_channel *ch)
{
	return ch->out;
}

void vmbus_channel_signal(struct vmbus_channel *ch)
{
	ch->h->ops->signal_guest(ch->h->ctx, ch->relid, ch->target_vp);
}

void vmbus_channel_fail(struct vmbus_channel *ch, const char *why)
{
	struct vmbus_host *h = ch->h;

	if (ch->state != CH_OPEN)
		return;
	stop_channel(ch);
	reject(h, VMBUS_HC_CHANNEL_FAILED, 0, "vmbus: channel %u stopped: %s", ch->relid, why);
}

int vmbus_channel_send(struct vmbus_channel *ch, uint16_t type, uint16_t flags,
		       uint64_t trans_id, const void *buf, size_t len)
{
	bool sig;
	int ret;

	if (ch->state != CH_OPEN)
		return -EPIPE;
	ret = vmbus_ring_write_inband(ch->out, type, flags, trans_id, buf, len, &sig);
	if (ret == -EPROTO)
		vmbus_channel_fail(ch, "corrupt host->guest ring");
	else if (!ret && sig)
		vmbus_channel_signal(ch);
	return ret;
}

int vmbus_channel_recv(struct vmbus_channel *ch, struct vmbus_pkt *pkt, void *buf, size_t len)
{
	bool sig;
	int ret;

	if (ch->state != CH_OPEN)
		return -EPIPE;
	ret = vmbus_ring_read(ch->in, pkt, buf, len, &sig);
	if (ret == -EPROTO)
		vmbus_channel_fail(ch, "corrupt guest->host ring");
	else if (ret >= 0 && sig)
		vmbus_channel_signal(ch);
	return ret;
}

void vmbus_channel_set_priv(struct vmbus_channel *ch, void *priv)
{
	ch->priv = priv;
}

void *vmbus_channel_priv(const struct vmbus_channel *ch)
{
	return ch->priv;
}

int vmbus_channel_ring_pages(struct vmbus_channel *ch, const uint64_t **pfns, uint32_t *npfns,
			     uint32_t *out_offset)
{
	if (ch->state != CH_OPEN || !ch->ring_gpadl)
		return -ENOENT;
	*pfns = ch->ring_gpadl->pfns;
	*npfns = ch->ring_gpadl->npfns;
	*out_offset = ch->out_offset;
	return 0;
}

uint32_t vmbus_channel_ring_gpadl(const struct vmbus_channel *ch)
{
	return ch->state == CH_OPEN && ch->ring_gpadl ? ch->ring_gpadl->id : 0;
}

int vmbus_channel_gpadl(struct vmbus_channel *ch, uint32_t gpadl, const uint64_t **pfns,
			uint32_t *npfns)
{
	struct gpadl *g = find_gpadl(ch->h, gpadl);

	if (!g || !g->complete || g->relid != ch->relid)
		return -ENOENT;
	*pfns = g->pfns;
	*npfns = g->npfns;
	return 0;
}
