/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Guest-side VMBus simulator (see guest_sim.h). Sections: guest memory and
 * the host transport; the message queue and the handlers of host messages;
 * connection, offers, GPADLs, open/close/unload as the Linux guest performs
 * them; the hv_utils-like answers on IC channels.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guest_sim.h"
#include "ic.h"
#include "msg.h"

#define GS_MAX_RELID	256u
#define GS_QUEUE	512u
#define GS_GPADL_SLOTS	128u
#define GS_FIRST_GPADL	0xe1e10u
#define GS_IC_BUF	(4 * 4096u)

enum gs_ic { GS_IC_NONE, GS_IC_HB, GS_IC_SD, GS_IC_TS };

struct gs_msg {
	uint32_t vp;
	uint32_t len;
	uint8_t b[VMBUS_MSG_MAX_SIZE];
};

struct gs_chan {
	bool offered;
	bool open;
	bool rescind_pending;
	bool open_answered;
	uint32_t open_status;
	struct vmbus_guid class_id;
	struct vmbus_guid instance_id;
	uint16_t sub_index;
	uint32_t conn_id;
	enum gs_ic ic;
	uint32_t ring_gpadl;
	uint64_t ring_gpa;
	uint32_t ring_pages;
	uint8_t *view;		/* contiguous view of the ring pages */
	bool view_mapped;	/* view from map_scattered() */
	struct vmbus_ring *out;	/* guest -> host */
	struct vmbus_ring *in;	/* host -> guest */
};

struct gs_gpadl {
	uint32_t id;
	uint32_t status;
	bool answered;
	bool torndown;
};

struct vmbus_gsim {
	struct vmbus_gsim_config cfg;
	int memfd;
	uint8_t *mem;
	uint64_t next_low;	/* next free page, ascending */
	uint64_t next_high;	/* next free page + 1, descending (scatter) */
	struct vmbus_host *h;
	struct gs_msg *q;
	unsigned int qhead;
	unsigned int qlen;
	struct gs_chan ch[GS_MAX_RELID];
	uint32_t relid_end;	/* 1 + highest relid ever offered */
	struct gs_gpadl gp[GS_GPADL_SLOTS];
	unsigned int ngp;
	uint32_t next_gpadl;
	bool vr_answered;
	bool vr_supported;
	uint32_t vr_conn_id;
	bool unload_answered;
	struct vmbus_gsim_stats st;
	uint8_t icbuf[GS_IC_BUF];
};

/* ---- guest memory and transport ---- */

static void *map_scattered(struct vmbus_gsim *g, const uint64_t *pfns, uint32_t n)
{
	size_t len = (size_t)n * VMBUS_PAGE_SIZE;
	uint8_t *va = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (va == MAP_FAILED)
		return NULL;
	for (uint32_t i = 0; i < n; i++) {
		void *p = mmap(va + (size_t)i * VMBUS_PAGE_SIZE, VMBUS_PAGE_SIZE,
			       PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, g->memfd,
			       (off_t)(pfns[i] * VMBUS_PAGE_SIZE));

		if (p == MAP_FAILED) {
			munmap(va, len);
			return NULL;
		}
	}
	return va;
}

static int op_post_msg(void *ctx, uint32_t vp, const void *msg, size_t len)
{
	struct vmbus_gsim *g = ctx;
	struct gs_msg *m;

	if (g->qlen == GS_QUEUE || len > VMBUS_MSG_MAX_SIZE)
		return -EAGAIN;
	m = &g->q[(g->qhead + g->qlen++) % GS_QUEUE];
	m->vp = vp;
	m->len = (uint32_t)len;
	memcpy(m->b, msg, len);
	return 0;
}

static void op_signal_guest(void *ctx, uint32_t relid, uint32_t vp)
{
	struct vmbus_gsim *g = ctx;

	(void)relid;
	g->st.interrupts++;
	g->st.last_interrupt_vp = vp;
}

static void *op_gpa_to_hva(void *ctx, uint64_t gpa, uint64_t len)
{
	struct vmbus_gsim *g = ctx;

	if (gpa >= g->cfg.mem_size || len > g->cfg.mem_size - gpa)
		return NULL;
	return g->mem + gpa;
}

static void *op_map_pages(void *ctx, const uint64_t *pfns, uint32_t n)
{
	struct vmbus_gsim *g = ctx;

	for (uint32_t i = 0; i < n; i++)
		if (!op_gpa_to_hva(ctx, pfns[i] * VMBUS_PAGE_SIZE, VMBUS_PAGE_SIZE))
			return NULL;
	return map_scattered(g, pfns, n);
}

static void op_unmap_pages(void *ctx, void *va, uint32_t n)
{
	(void)ctx;
	munmap(va, (size_t)n * VMBUS_PAGE_SIZE);
}

static void op_channel_opened(void *ctx, uint32_t relid, uint32_t conn_id, uint32_t vp)
{
	struct vmbus_gsim *g = ctx;

	(void)relid;
	g->st.doorbells++;
	g->st.last_opened_conn_id = conn_id;
	g->st.last_opened_vp = vp;
}

static void op_channel_closed(void *ctx, uint32_t relid, uint32_t conn_id)
{
	struct vmbus_gsim *g = ctx;

	(void)relid;
	(void)conn_id;
	g->st.doorbells--;
}

static void op_log(void *ctx, int level, const char *line)
{
	struct vmbus_gsim *g = ctx;

	g->st.host_log_lines++;
	g->st.host_last_log_level = level;
	if (getenv("VMBUS_GSIM_LOG"))
		fprintf(stderr, "host<%d> %s\n", level, line);
}

static const struct vmbus_host_ops gsim_ops = {
	.post_msg = op_post_msg,
	.signal_guest = op_signal_guest,
	.gpa_to_hva = op_gpa_to_hva,
	.map_pages = op_map_pages,
	.unmap_pages = op_unmap_pages,
	.channel_opened = op_channel_opened,
	.channel_closed = op_channel_closed,
	.log = op_log,
};

const struct vmbus_host_ops *vmbus_gsim_host_ops(void)
{
	return &gsim_ops;
}

struct vmbus_gsim *vmbus_gsim_create(const struct vmbus_gsim_config *cfg)
{
	struct vmbus_gsim *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	if (cfg)
		g->cfg = *cfg;
	if (!g->cfg.mem_size)
		g->cfg.mem_size = 16u << 20;
	g->cfg.mem_size &= ~(size_t)(VMBUS_PAGE_SIZE - 1);
	g->q = calloc(GS_QUEUE, sizeof(*g->q));
	g->memfd = memfd_create("vmbus-gsim", MFD_CLOEXEC);
	if (!g->q || g->memfd < 0 || ftruncate(g->memfd, (off_t)g->cfg.mem_size))
		goto err_free;
	g->mem = mmap(NULL, g->cfg.mem_size, PROT_READ | PROT_WRITE, MAP_SHARED, g->memfd, 0);
	if (g->mem == MAP_FAILED)
		goto err_free;
	g->next_low = 16;
	g->next_high = g->cfg.mem_size / VMBUS_PAGE_SIZE;
	g->next_gpadl = GS_FIRST_GPADL;
	return g;
err_free:
	if (g->memfd >= 0)
		close(g->memfd);
	free(g->q);
	free(g);
	return NULL;
}

static void drop_rings(struct gs_chan *c)
{
	vmbus_ring_free(c->out);
	vmbus_ring_free(c->in);
	c->out = c->in = NULL;
	if (c->view_mapped)
		munmap(c->view, (size_t)c->ring_pages * VMBUS_PAGE_SIZE);
	c->view = NULL;
	c->view_mapped = false;
	c->open = false;
}

void vmbus_gsim_destroy(struct vmbus_gsim *g)
{
	if (!g)
		return;
	for (uint32_t i = 0; i < GS_MAX_RELID; i++)
		drop_rings(&g->ch[i]);
	munmap(g->mem, g->cfg.mem_size);
	close(g->memfd);
	free(g->q);
	free(g);
}

void vmbus_gsim_attach(struct vmbus_gsim *g, struct vmbus_host *h)
{
	g->h = h;
}

/* Allocates n pages (contiguous ascending, or descending when scattering). */
static int alloc_pages(struct vmbus_gsim *g, uint32_t n, uint64_t *pfns)
{
	if (g->next_high - g->next_low < n)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		pfns[i] = g->cfg.scatter_pages ? --g->next_high : g->next_low++;
	for (uint32_t i = 0; i < n; i++)
		memset(g->mem + pfns[i] * VMBUS_PAGE_SIZE, 0, VMBUS_PAGE_SIZE);
	return 0;
}

/* ---- host messages ---- */

static struct gs_gpadl *gp_slot(struct vmbus_gsim *g, uint32_t id, bool create)
{
	for (unsigned int i = 0; i < g->ngp; i++)
		if (g->gp[i].id == id)
			return &g->gp[i];
	if (!create)
		return NULL;
	if (g->ngp == GS_GPADL_SLOTS) {
		memmove(g->gp, g->gp + 1, sizeof(g->gp[0]) * (GS_GPADL_SLOTS - 1));
		g->ngp--;
	}
	g->gp[g->ngp] = (struct gs_gpadl){ .id = id };
	return &g->gp[g->ngp++];
}

static enum gs_ic ic_kind_of(const struct vmbus_guid *class_id)
{
	static const char *const guids[] = { VMBUS_IC_HEARTBEAT_GUID, VMBUS_IC_SHUTDOWN_GUID,
					     VMBUS_IC_TIMESYNC_GUID };
	static const enum gs_ic kinds[] = { GS_IC_HB, GS_IC_SD, GS_IC_TS };
	struct vmbus_guid gd;

	for (unsigned int i = 0; i < 3; i++)
		if (!vmbus_guid_parse(guids[i], &gd) && vmbus_guid_equal(&gd, class_id))
			return kinds[i];
	return GS_IC_NONE;
}

static void on_offer(struct vmbus_gsim *g, const struct vmbus_msg *m)
{
	uint32_t relid = m->u.offer.child_relid;
	struct gs_chan *c;

	if (relid >= GS_MAX_RELID)
		return;
	c = &g->ch[relid];
	if (!c->offered)
		g->st.offers++;
	if (relid >= g->relid_end)
		g->relid_end = relid + 1;
	c->offered = true;
	c->class_id = m->u.offer.if_type;
	c->instance_id = m->u.offer.if_instance;
	c->sub_index = m->u.offer.sub_channel_index;
	c->conn_id = m->u.offer.connection_id;
	c->ic = ic_kind_of(&c->class_id);
}

static struct gs_chan *msg_chan(struct vmbus_gsim *g, uint32_t relid)
{
	/* answers about relids the simulator never used (raw posts) */
	if (relid >= GS_MAX_RELID)
		return NULL;
	if (relid >= g->relid_end)
		g->relid_end = relid + 1;
	return &g->ch[relid];
}

static void handle_host_msg(struct vmbus_gsim *g, const struct gs_msg *qm)
{
	struct vmbus_msg m;
	struct gs_gpadl *gp;
	struct gs_chan *c;

	g->st.msgs_rx++;
	g->st.last_msg_vp = qm->vp;
	if (vmbus_msg_parse(qm->b, qm->len, &m) || vmbus_msg_is_guest_to_host(m.type)) {
		g->st.bad_msgs++;
		return;
	}
	switch (m.type) {
	case VMBUS_MSG_VERSION_RESPONSE:
		g->vr_answered = true;
		g->vr_supported = m.u.version_response.supported;
		g->vr_conn_id = m.u.version_response.msg_conn_id;
		break;
	case VMBUS_MSG_OFFERCHANNEL:
		on_offer(g, &m);
		break;
	case VMBUS_MSG_ALLOFFERS_DELIVERED:
		g->st.all_offers_delivered = true;
		break;
	case VMBUS_MSG_GPADL_CREATED:
		gp = gp_slot(g, m.u.gpadl.gpadl, true);
		gp->answered = true;
		gp->status = m.u.gpadl.status;
		break;
	case VMBUS_MSG_GPADL_TORNDOWN:
		gp = gp_slot(g, m.u.gpadl.gpadl, true);
		gp->torndown = true;
		break;
	case VMBUS_MSG_OPENCHANNEL_RESULT:
		c = msg_chan(g, m.u.open_result.child_relid);
		if (c) {
			c->open_answered = true;
			c->open_status = m.u.open_result.status;
		}
		break;
	case VMBUS_MSG_RESCIND_CHANNELOFFER:
		c = msg_chan(g, m.u.child_relid);
		if (c) {
			c->rescind_pending = true;
			g->st.rescinds++;
		}
		break;
	case VMBUS_MSG_UNLOAD_RESPONSE:
		g->unload_answered = true;
		break;
	default:
		break;
	}
}

static void pump(struct vmbus_gsim *g)
{
	while (g->qlen) {
		struct gs_msg *m = &g->q[g->qhead];

		g->qhead = (g->qhead + 1) % GS_QUEUE;
		g->qlen--;
		handle_host_msg(g, m);
	}
}

int vmbus_gsim_post(struct vmbus_gsim *g, uint32_t conn_id, const void *msg, size_t len)
{
	return vmbus_host_handle_message(g->h, conn_id, msg, len);
}

static void post_pump(struct vmbus_gsim *g, const void *msg, size_t len)
{
	vmbus_gsim_post(g, g->st.msg_conn_id, msg, len);
	pump(g);
}

/* ---- connection and offers ---- */

static int try_version(struct vmbus_gsim *g, uint32_t v)
{
	struct vmbus_wire_initiate_contact c;
	uint64_t pages[3];
	uint32_t conn = v >= VMBUS_VERSION_5_0 ? VMBUS_MSG_CONN_ID_4 : VMBUS_MSG_CONN_ID;

	memset(&c, 0, sizeof(c));
	c.hdr.msgtype = VMBUS_MSG_INITIATE_CONTACT;
	c.version_requested = v;
	c.target_vcpu = g->cfg.target_vcpu;
	if (alloc_pages(g, 3, pages))
		return -ENOMEM;
	if (v >= VMBUS_VERSION_5_0)
		c.msg_sint = VMBUS_MSG_SINT;
	else
		c.interrupt_page = pages[0] * VMBUS_PAGE_SIZE;
	c.monitor_page1 = pages[1] * VMBUS_PAGE_SIZE;
	c.monitor_page2 = pages[2] * VMBUS_PAGE_SIZE;
	if (g->st.contacts < 16) {
		g->st.contact_conn_ids[g->st.contacts] = conn;
		g->st.contact_versions[g->st.contacts] = v;
	}
	g->st.contacts++;
	g->vr_answered = false;
	vmbus_gsim_post(g, conn, &c, sizeof(c));
	pump(g);
	if (!g->vr_answered)
		return -ETIMEDOUT;
	return g->vr_supported ? 0 : -ECONNREFUSED;
}

int vmbus_gsim_connect(struct vmbus_gsim *g, const uint32_t *versions, unsigned int n,
		       uint32_t *negotiated)
{
	for (unsigned int i = 0; i < n; i++) {
		int ret = try_version(g, versions[i]);

		if (ret == -ECONNREFUSED)
			continue;
		if (ret)
			return ret;
		g->st.version = versions[i];
		g->st.msg_conn_id =
			versions[i] >= VMBUS_VERSION_5_0 ? g->vr_conn_id : VMBUS_MSG_CONN_ID;
		if (negotiated)
			*negotiated = versions[i];
		return 0;
	}
	return -ECONNREFUSED;
}

int vmbus_gsim_connect_linux(struct vmbus_gsim *g, uint32_t *negotiated)
{
	static const uint32_t linux_versions[] = {
		VMBUS_VERSION_5_3, VMBUS_VERSION_5_2, VMBUS_VERSION_5_1,  VMBUS_VERSION_5_0,
		VMBUS_VERSION_4_1, VMBUS_VERSION_4_0, VMBUS_VERSION_WIN8_1, VMBUS_VERSION_WIN8,
	};

	return vmbus_gsim_connect(g, linux_versions, 8, negotiated);
}

int vmbus_gsim_request_offers(struct vmbus_gsim *g)
{
	struct vmbus_wire_hdr m = { .msgtype = VMBUS_MSG_REQUESTOFFERS };

	g->st.all_offers_delivered = false;
	post_pump(g, &m, sizeof(m));
	return g->st.all_offers_delivered ? (int)g->st.offers : -ETIMEDOUT;
}

int vmbus_gsim_find_offer(struct vmbus_gsim *g, const char *class_guid, uint32_t *relid)
{
	struct vmbus_guid gd;

	if (vmbus_guid_parse(class_guid, &gd))
		return -EINVAL;
	for (uint32_t i = 1; i < GS_MAX_RELID; i++) {
		if (g->ch[i].offered && vmbus_guid_equal(&g->ch[i].class_id, &gd)) {
			*relid = i;
			return 0;
		}
	}
	return -ENOENT;
}

/* ---- GPADLs ---- */

static void send_gpadl(struct vmbus_gsim *g, uint32_t relid, uint32_t id, const uint64_t *pfns,
		       uint32_t n)
{
	uint8_t b[VMBUS_MSG_MAX_SIZE];
	struct vmbus_wire_gpadl_header h = { .hdr.msgtype = VMBUS_MSG_GPADL_HEADER };
	struct vmbus_wire_gpadl_body body = { .hdr.msgtype = VMBUS_MSG_GPADL_BODY };
	struct vmbus_wire_gpa_range r = { .byte_count = n * VMBUS_PAGE_SIZE };
	uint32_t sent = n < VMBUS_GPADL_HEADER_MAX_PFNS ? n : (uint32_t)VMBUS_GPADL_HEADER_MAX_PFNS;
	uint32_t msgno = 1;

	h.child_relid = relid;
	h.gpadl = id;
	h.rangecount = 1;
	h.range_buflen = (uint16_t)(sizeof(r) + n * 8);
	memcpy(b, &h, sizeof(h));
	memcpy(b + sizeof(h), &r, sizeof(r));
	memcpy(b + sizeof(h) + sizeof(r), pfns, sent * 8);
	vmbus_gsim_post(g, g->st.msg_conn_id, b, sizeof(h) + sizeof(r) + sent * 8);
	while (sent < n) {
		uint32_t k = n - sent;

		if (k > VMBUS_GPADL_BODY_MAX_PFNS)
			k = (uint32_t)VMBUS_GPADL_BODY_MAX_PFNS;
		body.msgnumber = msgno++;
		body.gpadl = id;
		memcpy(b, &body, sizeof(body));
		memcpy(b + sizeof(body), pfns + sent, k * 8);
		vmbus_gsim_post(g, g->st.msg_conn_id, b, sizeof(body) + k * 8);
		sent += k;
	}
	pump(g);
}

static int gpadl_create_pfns(struct vmbus_gsim *g, uint32_t relid, const uint64_t *pfns,
			     uint32_t n, uint32_t *gpadl)
{
	uint32_t id = g->next_gpadl++;
	struct gs_gpadl *gp;

	if (!n || sizeof(struct vmbus_wire_gpa_range) + (size_t)n * 8 > UINT16_MAX)
		return -E2BIG;
	gp = gp_slot(g, id, true);
	gp->answered = false;
	send_gpadl(g, relid, id, pfns, n);
	gp = gp_slot(g, id, false);
	*gpadl = id;
	if (!gp || !gp->answered)
		return -ETIMEDOUT;
	return gp->status == VMBUS_STATUS_SUCCESS ? 0 : -EIO;
}

int vmbus_gsim_gpadl_create(struct vmbus_gsim *g, uint32_t relid, uint32_t npages,
			    uint32_t *gpadl)
{
	uint64_t *pfns = calloc(npages ? npages : 1, sizeof(*pfns));
	int ret;

	if (!pfns)
		return -ENOMEM;
	ret = alloc_pages(g, npages, pfns);
	if (!ret)
		ret = gpadl_create_pfns(g, relid, pfns, npages, gpadl);
	free(pfns);
	return ret;
}

int vmbus_gsim_gpadl_teardown(struct vmbus_gsim *g, uint32_t relid, uint32_t gpadl)
{
	struct vmbus_wire_gpadl_teardown t = { .hdr.msgtype = VMBUS_MSG_GPADL_TEARDOWN };
	struct gs_gpadl *gp = gp_slot(g, gpadl, true);

	gp->torndown = false;
	t.child_relid = relid;
	t.gpadl = gpadl;
	post_pump(g, &t, sizeof(t));
	gp = gp_slot(g, gpadl, false);
	return gp && gp->torndown ? 0 : -ETIMEDOUT;
}

/* ---- open / close / unload ---- */

static int ring_setup(struct vmbus_gsim *g, struct gs_chan *c, const uint64_t *pfns,
		      uint32_t send_pages, uint32_t total)
{
	bool contiguous = true;

	for (uint32_t i = 1; i < total; i++)
		contiguous &= pfns[i] == pfns[0] + i;
	c->ring_pages = total;
	c->ring_gpa = pfns[0] * VMBUS_PAGE_SIZE;
	c->view = contiguous ? g->mem + c->ring_gpa : map_scattered(g, pfns, total);
	c->view_mapped = !contiguous && c->view;
	if (!c->view)
		return -ENOMEM;
	c->out = vmbus_ring_attach(c->view, (size_t)send_pages * VMBUS_PAGE_SIZE,
				   VMBUS_RING_INIT | VMBUS_RING_SET_FEAT);
	c->in = vmbus_ring_attach(c->view + (size_t)send_pages * VMBUS_PAGE_SIZE,
				  (size_t)(total - send_pages) * VMBUS_PAGE_SIZE,
				  VMBUS_RING_INIT | VMBUS_RING_SET_FEAT);
	return c->out && c->in ? 0 : -EINVAL;
}

static int send_open(struct vmbus_gsim *g, uint32_t relid, uint32_t send_pages,
		     uint32_t target_vp)
{
	struct vmbus_wire_open o;
	struct gs_chan *c = &g->ch[relid];

	memset(&o, 0, sizeof(o));
	o.hdr.msgtype = VMBUS_MSG_OPENCHANNEL;
	o.child_relid = relid;
	o.openid = relid;
	o.ringbuffer_gpadl = c->ring_gpadl;
	o.target_vp = target_vp;
	o.downstream_page_offset = send_pages;
	c->open_answered = false;
	post_pump(g, &o, sizeof(o));
	if (!c->open_answered)
		return -ETIMEDOUT;
	return c->open_status == VMBUS_STATUS_SUCCESS ? 0 : -EIO;
}

int vmbus_gsim_open(struct vmbus_gsim *g, uint32_t relid, uint32_t send_pages,
		    uint32_t recv_pages, uint32_t target_vp)
{
	uint32_t total = send_pages + recv_pages;
	struct gs_chan *c;
	uint64_t *pfns;
	int ret;

	if (relid == 0 || relid >= GS_MAX_RELID || send_pages < 2 || recv_pages < 2)
		return -EINVAL;
	c = &g->ch[relid];
	pfns = calloc(total, sizeof(*pfns));
	if (!pfns)
		return -ENOMEM;
	ret = alloc_pages(g, total, pfns);
	if (!ret)
		ret = ring_setup(g, c, pfns, send_pages, total);
	if (!ret)
		ret = gpadl_create_pfns(g, relid, pfns, total, &c->ring_gpadl);
	free(pfns);
	if (!ret)
		ret = send_open(g, relid, send_pages, target_vp);
	if (!ret) {
		c->open = true;
		return 0;
	}
	if (c->ring_gpadl)
		vmbus_gsim_gpadl_teardown(g, relid, c->ring_gpadl);
	c->ring_gpadl = 0;
	drop_rings(c);
	return ret;
}

int vmbus_gsim_close(struct vmbus_gsim *g, uint32_t relid)
{
	struct vmbus_wire_relid m = { .hdr.msgtype = VMBUS_MSG_CLOSECHANNEL, .child_relid = relid };
	struct gs_chan *c;
	int ret;

	if (relid == 0 || relid >= GS_MAX_RELID || !g->ch[relid].open)
		return -EINVAL;
	c = &g->ch[relid];
	post_pump(g, &m, sizeof(m));
	ret = vmbus_gsim_gpadl_teardown(g, relid, c->ring_gpadl);
	c->ring_gpadl = 0;
	drop_rings(c);
	return ret;
}

int vmbus_gsim_unload(struct vmbus_gsim *g)
{
	struct vmbus_wire_hdr m = { .msgtype = VMBUS_MSG_UNLOAD };

	g->unload_answered = false;
	post_pump(g, &m, sizeof(m));
	if (!g->unload_answered)
		return -ETIMEDOUT;
	for (uint32_t i = 0; i < GS_MAX_RELID; i++) {
		drop_rings(&g->ch[i]);
		memset(&g->ch[i], 0, sizeof(g->ch[i]));
	}
	g->st.unloaded = true;
	g->st.version = 0;
	g->st.offers = 0;
	return 0;
}

/* ---- channel data ---- */

static int gs_send(struct vmbus_gsim *g, struct gs_chan *c, uint64_t trans_id, const void *buf,
		   size_t len)
{
	bool sig;
	int ret;

	if (!c->open)
		return -EPIPE;
	ret = vmbus_ring_write_inband(c->out, VMBUS_PKT_DATA_INBAND, 0, trans_id, buf, len, &sig);
	if (!ret && sig) {
		g->st.signals_to_host++;
		vmbus_host_signal_event(g->h, c->conn_id);
	}
	return ret;
}

int vmbus_gsim_send(struct vmbus_gsim *g, uint32_t relid, uint64_t trans_id, const void *buf,
		    size_t len)
{
	if (relid >= GS_MAX_RELID)
		return -EINVAL;
	return gs_send(g, &g->ch[relid], trans_id, buf, len);
}

int vmbus_gsim_recv(struct vmbus_gsim *g, uint32_t relid, void *buf, size_t len,
		    struct vmbus_pkt *pkt)
{
	struct gs_chan *c;
	bool sig;
	int ret;

	if (relid >= GS_MAX_RELID || !g->ch[relid].open)
		return -EINVAL;
	c = &g->ch[relid];
	ret = vmbus_ring_read(c->in, pkt, buf, len, &sig);
	if (ret >= 0 && sig) {
		g->st.signals_to_host++;
		vmbus_host_signal_event(g->h, c->conn_id);
	}
	return ret;
}

/* ---- integration services, answered like hv_utils ---- */

static bool find_version(const struct vmbus_ic_negotiate *n, unsigned int from, unsigned int cnt,
			 uint32_t want)
{
	for (unsigned int j = from; j < from + cnt; j++)
		if (n->versions[j].major == want >> 16 && n->versions[j].minor == (want & 0xffff))
			return true;
	return false;
}

/* Picks the first of our versions the host lists; 0 when none. */
static uint32_t pick(const struct vmbus_ic_negotiate *n, unsigned int from, unsigned int cnt,
		     const uint32_t *ours, unsigned int nours)
{
	for (unsigned int i = 0; i < nours; i++)
		if (find_version(n, from, cnt, ours[i]))
			return ours[i];
	return 0;
}

static void ic_negotiate(struct vmbus_gsim *g, struct gs_chan *c, uint8_t *buf, uint32_t len)
{
	static const uint32_t fw[] = { VMBUS_VERSION(3, 0), VMBUS_VERSION(1, 0) };
	static const uint32_t hb[] = { VMBUS_VERSION(3, 0), VMBUS_VERSION(1, 0) };
	static const uint32_t sd[] = { VMBUS_VERSION(3, 2), VMBUS_VERSION(3, 1),
				       VMBUS_VERSION(3, 0), VMBUS_VERSION(1, 0) };
	static const uint32_t ts[] = { VMBUS_VERSION(4, 0), VMBUS_VERSION(3, 0),
				       VMBUS_VERSION(1, 0) };
	struct vmbus_ic_hdr *h = (struct vmbus_ic_hdr *)(buf + sizeof(struct vmbus_ic_pipe_hdr));
	struct vmbus_ic_negotiate *n = (struct vmbus_ic_negotiate *)(buf + VMBUS_IC_HDR_SIZE);
	const uint32_t *srv = c->ic == GS_IC_HB ? hb : c->ic == GS_IC_SD ? sd : ts;
	unsigned int nsrv = c->ic == GS_IC_HB ? 2 : c->ic == GS_IC_SD ? 4 : 3;
	uint32_t f = 0, s = 0, fc, mc;

	if (len < VMBUS_IC_HDR_SIZE + 4)
		return;
	h->icmsgsize = 0x10;
	fc = n->icframe_vercnt;
	mc = n->icmsg_vercnt;
	if (fc <= VMBUS_IC_MAX_VERSIONS && mc <= VMBUS_IC_MAX_VERSIONS &&
	    VMBUS_IC_HDR_SIZE + sizeof(*n) + (fc + mc) * 4 <= len) {
		f = pick(n, 0, fc, fw, 2);
		s = f ? pick(n, fc, mc, srv, nsrv) : 0;
	}
	n->icframe_vercnt = s ? 1 : 0;
	n->icmsg_vercnt = s ? 1 : 0;
	n->versions[0] = (struct vmbus_ic_version){ (uint16_t)(f >> 16), (uint16_t)f };
	n->versions[1] = (struct vmbus_ic_version){ (uint16_t)(s >> 16), (uint16_t)s };
	if (!s)
		return;
	g->st.negotiations++;
	g->st.fw_version = f;
	*(c->ic == GS_IC_HB ? &g->st.hb_version
	  : c->ic == GS_IC_SD ? &g->st.sd_version
			      : &g->st.ts_version) = s;
}

/* Returns false when the packet is dropped without an answer. */
static bool ic_shutdown(struct vmbus_gsim *g, struct vmbus_ic_hdr *h, uint8_t *body, uint32_t len)
{
	struct vmbus_ic_shutdown_msg *sd = (struct vmbus_ic_shutdown_msg *)body;

	if (len < VMBUS_IC_HDR_SIZE + sizeof(*sd))
		return false;
	g->st.sd_requests++;
	g->st.sd_last_flags = sd->flags;
	switch (sd->flags) {
	case 0:
	case 1:
		h->status = VMBUS_IC_S_OK;
		g->st.poweroff = true;
		break;
	case 2:
	case 3:
		h->status = VMBUS_IC_S_OK;
		g->st.reboot = true;
		break;
	default: /* hibernation unsupported, or nonsense */
		h->status = VMBUS_IC_E_FAIL;
		break;
	}
	return true;
}

static bool ic_timesync(struct vmbus_gsim *g, uint8_t *body, uint32_t len)
{
	struct vmbus_ic_timesync_ref_msg *r = (struct vmbus_ic_timesync_ref_msg *)body;
	struct vmbus_ic_timesync_msg *t = (struct vmbus_ic_timesync_msg *)body;

	if (g->st.ts_version > VMBUS_VERSION(3, 0)) {
		if (len < VMBUS_IC_HDR_SIZE + sizeof(*r))
			return false;
		g->st.ts_parenttime = r->parenttime;
		g->st.ts_reftime = r->vmreferencetime;
		g->st.ts_flags = r->flags;
	} else {
		if (len < VMBUS_IC_HDR_SIZE + sizeof(*t))
			return false;
		g->st.ts_parenttime = t->parenttime;
		g->st.ts_reftime = 0;
		g->st.ts_flags = t->flags;
	}
	g->st.ts_samples++;
	return true;
}

static void ic_packet(struct vmbus_gsim *g, struct gs_chan *c, uint8_t *buf, uint32_t len,
		      uint64_t reqid)
{
	struct vmbus_ic_hdr *h = (struct vmbus_ic_hdr *)(buf + sizeof(struct vmbus_ic_pipe_hdr));
	uint8_t *body = buf + VMBUS_IC_HDR_SIZE;
	bool answer = true;

	if (len < VMBUS_IC_HDR_SIZE) {
		g->st.ic_dropped++;
		return;
	}
	if (h->icmsgtype == VMBUS_IC_MSG_NEGOTIATE) {
		ic_negotiate(g, c, buf, len);
	} else if (h->icmsgtype == VMBUS_IC_MSG_HEARTBEAT && c->ic == GS_IC_HB) {
		answer = len >= VMBUS_IC_HDR_SIZE + sizeof(uint64_t);
		if (answer) {
			struct vmbus_ic_heartbeat_msg *hb = (struct vmbus_ic_heartbeat_msg *)body;

			g->st.hb_last_seq = hb->seq_num;
			g->st.hb_count++;
			hb->seq_num += 1;
		}
	} else if (h->icmsgtype == VMBUS_IC_MSG_SHUTDOWN && c->ic == GS_IC_SD) {
		answer = ic_shutdown(g, h, body, len);
	} else if (h->icmsgtype == VMBUS_IC_MSG_TIMESYNC && c->ic == GS_IC_TS) {
		answer = ic_timesync(g, body, len);
	} else {
		h->status = VMBUS_IC_E_FAIL;
	}
	if (!answer) {
		g->st.ic_dropped++;
		return;
	}
	h->icflags = VMBUS_IC_FLAG_TRANSACTION | VMBUS_IC_FLAG_RESPONSE;
	gs_send(g, c, reqid, buf, len);
}

/* Reads the channel like the Linux guest: mask, drain, unmask, re-check. */
static int service_ic(struct vmbus_gsim *g, struct gs_chan *c)
{
	uint8_t *buf = g->icbuf;
	struct vmbus_pkt pkt;
	int n = 0, ret;
	bool sig;

	do {
		vmbus_ring_mask(c->in);
		while (c->open && (ret = vmbus_ring_read(c->in, &pkt, buf, GS_IC_BUF, &sig)) >= 0) {
			if (sig) {
				g->st.signals_to_host++;
				vmbus_host_signal_event(g->h, c->conn_id);
			}
			ic_packet(g, c, buf, (uint32_t)ret, pkt.trans_id);
			n++;
		}
	} while (c->open && vmbus_ring_unmask(c->in) > 0);
	return n;
}

static int handle_rescind(struct vmbus_gsim *g, uint32_t relid)
{
	struct vmbus_wire_relid m = { .hdr.msgtype = VMBUS_MSG_RELID_RELEASED };

	m.child_relid = relid;
	if (g->ch[relid].open)
		vmbus_gsim_close(g, relid);
	memset(&g->ch[relid], 0, sizeof(g->ch[relid]));
	post_pump(g, &m, sizeof(m));
	return 1;
}

int vmbus_gsim_poll(struct vmbus_gsim *g)
{
	int n = 0;

	pump(g);
	for (uint32_t i = 1; i < g->relid_end; i++)
		if (g->ch[i].rescind_pending)
			n += handle_rescind(g, i);
	for (uint32_t i = 1; i < g->relid_end; i++)
		if (g->ch[i].open && g->ch[i].ic != GS_IC_NONE)
			n += service_ic(g, &g->ch[i]);
	pump(g);
	return n;
}

void *vmbus_gsim_gpa(struct vmbus_gsim *g, uint64_t gpa)
{
	return op_gpa_to_hva(g, gpa, 1);
}

uint64_t vmbus_gsim_ring_gpa(struct vmbus_gsim *g, uint32_t relid)
{
	return relid < GS_MAX_RELID && g->ch[relid].open ? g->ch[relid].ring_gpa : 0;
}

uint32_t vmbus_gsim_open_status(struct vmbus_gsim *g, uint32_t relid)
{
	if (relid >= GS_MAX_RELID || !g->ch[relid].open_answered)
		return UINT32_MAX;
	return g->ch[relid].open_status;
}

uint32_t vmbus_gsim_gpadl_status(struct vmbus_gsim *g, uint32_t gpadl)
{
	struct gs_gpadl *gp = gp_slot(g, gpadl, false);

	return gp && gp->answered ? gp->status : UINT32_MAX;
}

uint32_t vmbus_gsim_offer_conn_id(struct vmbus_gsim *g, uint32_t relid)
{
	return relid < GS_MAX_RELID && g->ch[relid].offered ? g->ch[relid].conn_id : 0;
}

int vmbus_gsim_offer_subchannel(struct vmbus_gsim *g, uint32_t relid, uint32_t primary,
				bool *same_instance)
{
	if (relid >= GS_MAX_RELID || primary >= GS_MAX_RELID || !g->ch[relid].offered ||
	    !g->ch[primary].offered)
		return -ENOENT;
	*same_instance = vmbus_guid_equal(&g->ch[relid].instance_id, &g->ch[primary].instance_id) &&
			 vmbus_guid_equal(&g->ch[relid].class_id, &g->ch[primary].class_id);
	return g->ch[relid].sub_index;
}

uint32_t vmbus_gsim_next_gpadl(struct vmbus_gsim *g)
{
	return g->next_gpadl;
}

const struct vmbus_gsim_stats *vmbus_gsim_stats(const struct vmbus_gsim *g)
{
	return &g->st;
}
