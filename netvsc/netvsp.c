/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NetVSP, the host side of a synthetic NIC channel (see netvsp.h).
 *
 * Structure: nvsp_poll() peeks each guest packet, copies it (descriptor,
 * extension, NVSP message) into a private buffer and dispatches on the VMBus
 * packet type: inband NVSP control, SEND_RNDIS_PKT with the RNDIS message in a
 * send-buffer section or in GPA-direct page ranges, and completions of our
 * transfer-page packets. A message that cannot be finished now (GPADL not
 * mapped yet, no room for the reply) stays in the ring and is retried.
 *
 * Receive buffer: the guest's GPADL is cut into equal sections; free ones sit
 * on a stack. Each transfer-page packet owns a slot (its transaction id is
 * generation << 32 | slot) that chains its sections, so the guest's
 * completion frees them all. RNDIS control replies and status indications
 * also travel through sections; those that cannot be sent at once wait in a
 * small queue that poll and deliver flush first.
 *
 * The RNDIS bytes of a message are reached through a segment list (one
 * segment for a section, one per page run for GPA direct), so headers and
 * frames may cross pages. Headers are copied out before validation; frame
 * bytes are handed to the sink in place.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "netvsp.h"
#include "nvsp_wire.h"
#include "rndis_wire.h"
#include "vmbus/ring.h"

#define PAGE_SIZE	  4096u
#define MAX_RECV_SECTIONS 16384u
#define MAX_GPA_PAGES	  64u
#define MAX_SEGS	  (MAX_GPA_PAGES + 1u) /* a send section, then GPA-direct page runs */
#define PKT_COPY_MAX	  4096u /* largest guest packet we accept */
#define RNDIS_HDR_COPY	  512u	/* header + packet info of a data message */
#define RNDIS_CTRL_MAX	  4096u /* largest control message */
#define CTRL_Q_LEN	  8u
#define CTRL_REPLY_MAX	  256u
#define SEND_SECTION_SIZE 6144u /* what we ask nothing of: the guest picks the buffer */
#define GPADL_WAIT_MS	  2000u
#define LINK_SPEED_100BPS 250000000u /* 25 Gbit/s */
#define RNDIS_DATA_HDR	  (RNDIS_HDR_SIZE + sizeof(struct rndis_packet))
#define SAVE_MAGIC	  0x5053564eu /* "NVSP" */
#define SAVE_VERSION	  1u
#define LOG_BURST	  5u
#define LOG_WINDOW_MS	  5000u

/* Result of handling one guest packet. */
#define PKT_RETRY (-EAGAIN) /* leave it in the ring, stop this poll */

struct xfer_slot {
	uint32_t head; /* first section, chained through sec_next */
	uint32_t in_use;
};

struct ctrl_reply {
	uint32_t len;
	uint8_t buf[CTRL_REPLY_MAX];
};

/* A run of guest bytes reachable through one host pointer. */
struct seg {
	uint8_t *p;
	uint32_t len;
};

struct seglist {
	struct seg s[MAX_SEGS];
	unsigned int n;
	uint32_t total;
};

/* One RNDIS message of a guest packet, found by rndis_scan(). */
struct rndis_msg_ref {
	uint32_t off, len, type;
};

struct buf_map {
	bool set; /* guest sent the buffer message */
	uint32_t gpadl;
	uint16_t id;
	uint8_t *base; /* mapping, NULL while unmapped */
	size_t len;
	uint32_t sec_size;
	uint32_t sec_count;
};

struct nvsp {
	struct nvsp_config cfg;
	struct vmbus_ring *in;	/* guest -> host */
	struct vmbus_ring *out; /* host -> guest */
	bool failed;
	bool used; /* attached at least once */
	bool restored;
	int fail_reason; /* enum nvsp_counter */

	uint32_t nvsp_version;
	uint32_t ndis_version;
	uint32_t guest_mtu;
	struct buf_map recv;
	struct buf_map send;

	bool rndis_init;
	bool halted;
	uint32_t filter;
	bool link_up;
	bool link_known; /* what the guest believes, once it asked or was told */
	bool link_guest;
	bool flap_pending; /* restored: indicate down then up */

	/* receive sections and transfer-page slots */
	uint32_t *free_secs;
	uint32_t nfree;
	uint32_t *sec_next;
	struct xfer_slot *slots;
	uint32_t *free_slots;
	uint32_t nfree_slots;
	uint32_t gen;

	struct ctrl_reply ctrlq[CTRL_Q_LEN];
	unsigned int ctrlq_head;
	unsigned int ctrlq_n;

	uint64_t gpadl_wait_start;
	bool gpadl_waiting;
	bool out_full; /* a completion waits for ring space */
	bool signal;   /* signal the guest at the end of this call */
	uint64_t state_gen;
	uint64_t log_window;
	unsigned int log_n;

	uint64_t cnt[NVSP_CNT__COUNT];
	uint8_t pkt[PKT_COPY_MAX] __attribute__((aligned(8)));
	uint8_t ctrl[RNDIS_CTRL_MAX] __attribute__((aligned(8)));
	struct seglist segs;
	struct rndis_msg_ref msgs[NVSP_MAX_PKTS_PER_MSG];
	unsigned int n_msgs, n_data, n_ctrl;
};

static const char *const counter_names[] = {
#define NVSP_CNT_NAME(id, name) name,
	NVSP_COUNTERS(NVSP_CNT_NAME)
#undef NVSP_CNT_NAME
};

static const uint32_t supported_versions[] = {
	NVSP_VERSION_61, NVSP_VERSION_6, NVSP_VERSION_5,
	NVSP_VERSION_4,	 NVSP_VERSION_2, NVSP_VERSION_1,
};

/* ---- helpers ------------------------------------------------------------ */

static uint64_t now_ms(const struct nvsp *nv)
{
	struct timespec ts;

	if (nv->cfg.now_ms)
		return nv->cfg.now_ms(nv->cfg.ctx);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

__attribute__((format(printf, 3, 4))) static void nv_log(struct nvsp *nv, int level,
							 const char *fmt, ...)
{
	char line[256];
	va_list ap;

	uint64_t t;

	if (!nv->cfg.log)
		return;
	t = now_ms(nv);
	if (t - nv->log_window > LOG_WINDOW_MS) {
		nv->log_window = t;
		nv->log_n = 0;
	}
	if (nv->log_n++ >= LOG_BURST)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	nv->cfg.log(nv->cfg.ctx, level, line);
}

/* The guest broke the protocol: the channel is dead from now on. */
static int fail(struct nvsp *nv, int reason, const char *what)
{
	if (!nv->failed) {
		nv->failed = true;
		nv->fail_reason = reason;
		nv->cnt[reason]++;
		nv->state_gen++;
		nv_log(nv, LOG_ERR, "netvsp: guest protocol violation (%s): %s",
		       counter_names[reason], what);
	}
	return -EPROTO;
}

static bool version_supported(uint32_t v)
{
	for (size_t i = 0; i < sizeof(supported_versions) / sizeof(supported_versions[0]); i++)
		if (supported_versions[i] == v)
			return true;
	return false;
}

/* Largest frame (Ethernet header + payload + one VLAN tag) the channel carries. */
static uint32_t max_frame(const struct nvsp *nv)
{
	return nv->cfg.mtu + 18u;
}

static uint32_t recv_section_size(const struct nvsp *nv)
{
	uint32_t need = max_frame(nv) + (uint32_t)RNDIS_DATA_HDR + 64u;

	return (need + 127u) & ~127u;
}

/* ---- ring output -------------------------------------------------------- */

static int ring_put(struct nvsp *nv, const struct vmbus_pkt_out *p)
{
	bool sig = false;
	int r = vmbus_ring_write(nv->out, p, &sig);

	if (r == -EPROTO)
		return fail(nv, NVSP_CNT_ERR_RING, "host->guest ring read index");
	if (sig)
		nv->signal = true;
	return r;
}

static int send_nvsp(struct nvsp *nv, uint16_t type, uint64_t tid, const struct nvsp_msg *m)
{
	struct iovec iov = {.iov_base = (void *)m, .iov_len = NVSP_MSG_SIZE};
	struct vmbus_pkt_out p = {.type = type, .trans_id = tid, .iov = &iov, .iovcnt = 1};

	return ring_put(nv, &p);
}

/* Room for one more NVSP completion in the host->guest ring? Sets the
 * pending_send_sz request when not. */
static bool out_has_room(struct nvsp *nv)
{
	uint32_t need = vmbus_ring_pkt_space(0, NVSP_MSG_SIZE) + 8u;
	int64_t avail = vmbus_ring_bytes_to_write(nv->out);

	if (avail >= (int64_t)need) {
		if (nv->out_full) {
			nv->out_full = false;
			vmbus_ring_want_space(nv->out, 0);
		}
		return true;
	}
	if (avail < 0)
		return false;
	if (vmbus_ring_want_space(nv->out, need) == 1)
		return true;
	nv->out_full = true;
	nv->cnt[NVSP_CNT_RING_FULL_WAITS]++;
	return false;
}

static void finish_signal(struct nvsp *nv)
{
	if (!nv->signal)
		return;
	nv->signal = false;
	nv->cnt[NVSP_CNT_INTERRUPTS]++;
	nv->cfg.signal_guest(nv->cfg.ctx);
}

/* ---- receive sections and transfer-page packets ------------------------- */

static void sections_reset(struct nvsp *nv)
{
	nv->nfree = 0;
	for (uint32_t i = nv->recv.sec_count; i-- > 0;)
		nv->free_secs[nv->nfree++] = i;
	nv->nfree_slots = 0;
	for (uint32_t i = nv->recv.sec_count; i-- > 0;) {
		nv->slots[i].in_use = 0;
		nv->free_slots[nv->nfree_slots++] = i;
	}
	nv->gen++;
}

static uint8_t *section_ptr(const struct nvsp *nv, uint32_t idx)
{
	return nv->recv.base + (size_t)idx * nv->recv.sec_size;
}

/* A batch of sections being filled for one transfer-page packet. */
struct xfer_batch {
	struct nvsp_xfer_hdr hdr;
	struct nvsp_xfer_range ranges[NVSP_MAX_XFER_RANGES];
	uint32_t secs[NVSP_MAX_XFER_RANGES];
	uint32_t n;
	uint32_t bytes;
};

static void batch_undo(struct nvsp *nv, struct xfer_batch *b)
{
	while (b->n > 0)
		nv->free_secs[nv->nfree++] = b->secs[--b->n];
}

/* Takes a section and fills it with one RNDIS message (header hdr of hlen bytes,
 * then len bytes of data). Returns false when no section is free. */
static bool batch_add(struct nvsp *nv, struct xfer_batch *b, const void *hdr, uint32_t hlen,
		      const void *data, uint32_t len)
{
	uint32_t idx;
	uint8_t *p;

	if (nv->nfree == 0 || nv->nfree_slots == 0)
		return false;
	idx = nv->free_secs[--nv->nfree];
	p = section_ptr(nv, idx);
	memcpy(p, hdr, hlen);
	if (len)
		memcpy(p + hlen, data, len);
	b->ranges[b->n].byte_count = hlen + len;
	b->ranges[b->n].byte_offset = idx * nv->recv.sec_size;
	b->secs[b->n++] = idx;
	b->bytes += len;
	return true;
}

/* Posts the batch as one transfer-page packet. 0, -EAGAIN (ring full: the
 * sections are returned) or -EPROTO. */
static int batch_post(struct nvsp *nv, struct xfer_batch *b, uint32_t channel_type)
{
	struct nvsp_msg m = {.type = NVSP_MSG1_SEND_RNDIS_PKT};
	struct iovec iov = {.iov_base = &m, .iov_len = NVSP_MSG_SIZE};
	struct vmbus_pkt_out p = {.type = VMBUS_PKT_DATA_XFER_PAGES,
				  .flags = VMBUS_PKT_F_COMPLETION_REQUESTED,
				  .iov = &iov,
				  .iovcnt = 1};
	uint32_t slot;
	int r;

	m.u.rndis_pkt.channel_type = channel_type;
	m.u.rndis_pkt.section_index = NVSP_INVALID_SECTION;
	b->hdr.pageset_id = nv->recv.id;
	b->hdr.sender_owns_set = 0;
	b->hdr.reserved = 0;
	b->hdr.range_count = b->n;
	slot = nv->free_slots[nv->nfree_slots - 1];
	p.trans_id = (uint64_t)nv->gen << 32 | slot;
	p.ext = &b->hdr;
	p.ext_len = (uint32_t)(sizeof(b->hdr) + b->n * sizeof(b->ranges[0]));
	r = ring_put(nv, &p);
	if (r < 0) {
		batch_undo(nv, b);
		return r == -EPROTO ? r : -EAGAIN;
	}
	nv->nfree_slots--;
	for (uint32_t i = 0; i + 1 < b->n; i++)
		nv->sec_next[b->secs[i]] = b->secs[i + 1];
	nv->sec_next[b->secs[b->n - 1]] = UINT32_MAX;
	nv->slots[slot].head = b->secs[0];
	nv->slots[slot].in_use = 1;
	b->n = 0;
	return 0;
}

static void complete_xfer(struct nvsp *nv, uint64_t tid)
{
	uint32_t slot = (uint32_t)tid;
	uint32_t s;

	if ((uint32_t)(tid >> 32) != nv->gen || slot >= nv->recv.sec_count ||
	    !nv->slots[slot].in_use) {
		nv->cnt[NVSP_CNT_STALE_COMPLETIONS]++;
		return;
	}
	for (s = nv->slots[slot].head; s != UINT32_MAX && s < nv->recv.sec_count;
	     s = nv->sec_next[s])
		nv->free_secs[nv->nfree++] = s;
	nv->slots[slot].in_use = 0;
	nv->free_slots[nv->nfree_slots++] = slot;
	nv->cnt[NVSP_CNT_TX_COMPLETIONS]++;
}

/* ---- buffers ------------------------------------------------------------ */

/* Maps a buffer GPADL. 0, -EAGAIN (not known yet), -ENOENT (unknown), -EPROTO
 * (gave up waiting). */
static int map_buf(struct nvsp *nv, struct buf_map *b)
{
	size_t len = 0;
	void *p;

	errno = 0;
	p = nv->cfg.map_gpadl(nv->cfg.ctx, b->gpadl, &len);
	if (p) {
		nv->gpadl_waiting = false;
		b->base = p;
		b->len = len;
		return 0;
	}
	if (errno != EAGAIN) {
		nv->gpadl_waiting = false;
		nv->cnt[NVSP_CNT_GPADL_UNKNOWN]++;
		nv_log(nv, LOG_WARNING, "netvsp: buffer GPADL %#x unknown", b->gpadl);
		return -ENOENT;
	}
	if (!nv->gpadl_waiting) {
		nv->gpadl_waiting = true;
		nv->gpadl_wait_start = now_ms(nv);
		nv->cnt[NVSP_CNT_GPADL_WAITS]++;
	} else if (now_ms(nv) - nv->gpadl_wait_start > GPADL_WAIT_MS) {
		return fail(nv, NVSP_CNT_ERR_GPADL_TIMEOUT, "buffer GPADL never arrived");
	}
	return -EAGAIN;
}

/* After attach of a restored channel: map the buffers again. */
static int remap_buffers(struct nvsp *nv)
{
	struct buf_map *bufs[2] = {&nv->recv, &nv->send};

	for (int i = 0; i < 2; i++) {
		struct buf_map *b = bufs[i];
		int r;

		if (!b->set || b->base)
			continue;
		r = map_buf(nv, b);
		if (r == -ENOENT)
			return fail(nv, NVSP_CNT_GPADL_UNKNOWN, "restored buffer GPADL unknown");
		if (r < 0)
			return r;
		if ((uint64_t)b->sec_size * b->sec_count > b->len) {
			b->base = NULL;
			return fail(nv, NVSP_CNT_ERR_SECTION,
				    "restored buffer smaller than layout");
		}
	}
	return 0;
}

/* ---- RNDIS control replies ---------------------------------------------- */

static int ctrl_send_now(struct nvsp *nv, const uint8_t *buf, uint32_t len)
{
	struct xfer_batch b;

	b.n = 0;
	b.bytes = 0;
	if (!nv->recv.base)
		return -EAGAIN;
	if (!batch_add(nv, &b, buf, len, NULL, 0))
		return -EAGAIN;
	return batch_post(nv, &b, NVSP_CHANNEL_CONTROL);
}

/* Sends queued control replies in order. 0, -EAGAIN (some still wait), -EPROTO. */
static int ctrl_flush(struct nvsp *nv)
{
	while (nv->ctrlq_n > 0) {
		struct ctrl_reply *c = &nv->ctrlq[nv->ctrlq_head];
		int r = ctrl_send_now(nv, c->buf, c->len);

		if (r < 0)
			return r;
		nv->ctrlq_head = (nv->ctrlq_head + 1) % CTRL_Q_LEN;
		nv->ctrlq_n--;
	}
	return 0;
}

/* Queues one RNDIS message for the guest; ctrl_flush() sends it (at the end of
 * the poll, so that nothing but the packet's own completion is written to the
 * host->guest ring while a guest packet is handled). The caller made sure the
 * queue has room. */
static int ctrl_reply(struct nvsp *nv, const void *buf, uint32_t len)
{
	struct ctrl_reply *c = &nv->ctrlq[(nv->ctrlq_head + nv->ctrlq_n) % CTRL_Q_LEN];

	if (nv->ctrlq_n == CTRL_Q_LEN || len > CTRL_REPLY_MAX)
		return fail(nv, NVSP_CNT_ERR_NVSP_STATE, "too many outstanding RNDIS requests");
	memcpy(c->buf, buf, len);
	c->len = len;
	nv->ctrlq_n++;
	nv->cnt[NVSP_CNT_RNDIS_CTRL_MSGS]++;
	return 0;
}

static int indicate(struct nvsp *nv, uint32_t status)
{
	struct {
		struct rndis_hdr h;
		struct rndis_indicate i;
	} __attribute__((packed)) m = {{RNDIS_MSG_INDICATE, sizeof(m)}, {status, 0, 0}};

	nv->cnt[NVSP_CNT_LINK_INDICATIONS]++;
	return ctrl_reply(nv, &m, sizeof(m));
}

/* Sends what the guest must learn about the link (restore flap, changes). */
static int link_flush(struct nvsp *nv)
{
	if (!nv->rndis_init || !nv->in)
		return 0;
	if (nv->flap_pending) {
		if (nv->ctrlq_n + 2 > CTRL_Q_LEN)
			return 0;
		nv->flap_pending = false;
		nv->link_known = true;
		nv->link_guest = false;
		if (indicate(nv, RNDIS_STATUS_MEDIA_DISCONNECT) < 0)
			return -EPROTO;
	}
	if (!nv->link_known || nv->link_guest == nv->link_up)
		return 0; /* the guest asks OID_GEN_MEDIA_CONNECT_STATUS first */
	if (nv->ctrlq_n >= CTRL_Q_LEN)
		return 0;
	nv->link_known = true;
	nv->link_guest = nv->link_up;
	return indicate(nv,
			nv->link_up ? RNDIS_STATUS_MEDIA_CONNECT : RNDIS_STATUS_MEDIA_DISCONNECT);
}

/* ---- RNDIS control requests --------------------------------------------- */

struct query_answer {
	uint32_t status;
	uint32_t len;
	uint8_t data[NDIS_OFFLOAD_SIZE];
};

static void answer_u32(struct query_answer *a, uint32_t v)
{
	memcpy(a->data, &v, 4);
	a->len = 4;
}

static void answer_hw_caps(const struct nvsp *nv, struct query_answer *a)
{
	struct ndis_offload caps;

	memset(&caps, 0, sizeof(caps));
	caps.hdr.type = NDIS_OBJ_TYPE_OFFLOAD;
	if (nv->ndis_version >= 0x6001eu) {
		caps.hdr.revision = 3;
		caps.hdr.size = NDIS_OFFLOAD_SIZE;
	} else if (nv->ndis_version >= 0x60001u) {
		caps.hdr.revision = 2;
		caps.hdr.size = NDIS_OFFLOAD_SIZE_6_1;
	} else {
		caps.hdr.revision = 1;
		caps.hdr.size = NDIS_OFFLOAD_SIZE_6_0;
	}
	memcpy(a->data, &caps, caps.hdr.size);
	a->len = caps.hdr.size;
}

static void answer_query(struct nvsp *nv, uint32_t oid, struct query_answer *a)
{
	a->status = RNDIS_STATUS_SUCCESS;
	a->len = 0;
	switch (oid) {
	case RNDIS_OID_802_3_PERMANENT_ADDRESS:
	case RNDIS_OID_802_3_CURRENT_ADDRESS:
		memcpy(a->data, nv->cfg.mac, 6);
		a->len = 6;
		break;
	case RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE:
		answer_u32(a, nv->cfg.mtu);
		break;
	case RNDIS_OID_GEN_MAXIMUM_TOTAL_SIZE:
		answer_u32(a, nv->cfg.mtu + 14u);
		break;
	case RNDIS_OID_GEN_MEDIA_CONNECT_STATUS:
		answer_u32(a, nv->link_up ? RNDIS_MEDIA_CONNECTED : RNDIS_MEDIA_DISCONNECTED);
		nv->link_known = true;
		nv->link_guest = nv->link_up;
		break;
	case RNDIS_OID_GEN_LINK_SPEED:
		answer_u32(a, LINK_SPEED_100BPS);
		break;
	case RNDIS_OID_GEN_CURRENT_PACKET_FILTER:
		answer_u32(a, nv->filter);
		break;
	case RNDIS_OID_TCP_OFFLOAD_HW_CAPS:
		answer_hw_caps(nv, a);
		break;
	default: /* incl. RSS capabilities: single queue */
		a->status = RNDIS_STATUS_NOT_SUPPORTED;
		nv->cnt[NVSP_CNT_RNDIS_NOT_SUPPORTED]++;
		break;
	}
}

static uint32_t do_set(struct nvsp *nv, uint32_t oid, const uint8_t *info, uint32_t len)
{
	uint32_t v;

	switch (oid) {
	case RNDIS_OID_GEN_CURRENT_PACKET_FILTER:
		if (len < 4)
			return RNDIS_STATUS_INVALID_DATA;
		memcpy(&v, info, 4);
		if (v != nv->filter)
			nv->state_gen++;
		nv->filter = v;
		return RNDIS_STATUS_SUCCESS;
	case RNDIS_OID_TCP_OFFLOAD_PARAMETERS: /* nothing is offloaded; accept "off" */
	case RNDIS_OID_OFFLOAD_ENCAPSULATION:
	case RNDIS_OID_802_3_MULTICAST_LIST: /* multicast is not filtered here */
		return RNDIS_STATUS_SUCCESS;
	default: /* incl. config parameters (MAC change) and RSS parameters */
		nv->cnt[NVSP_CNT_RNDIS_NOT_SUPPORTED]++;
		return RNDIS_STATUS_NOT_SUPPORTED;
	}
}

/* Validates a QUERY/SET body: its info buffer lies inside the message. */
static int oid_req_parse(struct nvsp *nv, const uint8_t *msg, uint32_t len,
			 struct rndis_oid_req *req, const uint8_t **info)
{
	uint32_t body = len - RNDIS_HDR_SIZE;

	if (body < sizeof(*req))
		return fail(nv, NVSP_CNT_ERR_RNDIS_LEN, "short OID request");
	memcpy(req, msg + RNDIS_HDR_SIZE, sizeof(*req));
	if (req->info_len == 0) {
		*info = NULL;
		return 0;
	}
	if (req->info_offset < sizeof(*req) || (uint64_t)req->info_offset + req->info_len > body)
		return fail(nv, NVSP_CNT_ERR_RNDIS_LEN, "OID info buffer outside the message");
	*info = msg + RNDIS_HDR_SIZE + req->info_offset;
	return 0;
}

static int rndis_query(struct nvsp *nv, const uint8_t *msg, uint32_t len)
{
	struct {
		struct rndis_hdr h;
		struct rndis_query_cmplt c;
		uint8_t data[NDIS_OFFLOAD_SIZE];
	} __attribute__((packed)) out;
	struct rndis_oid_req req;
	struct query_answer a;
	const uint8_t *info;

	if (oid_req_parse(nv, msg, len, &req, &info) < 0)
		return -EPROTO;
	answer_query(nv, req.oid, &a);
	out.h.type = RNDIS_MSG_QUERY_C;
	out.h.len = (uint32_t)(RNDIS_HDR_SIZE + sizeof(out.c) + a.len);
	out.c.req_id = req.req_id;
	out.c.status = a.status;
	out.c.info_len = a.len;
	out.c.info_offset = a.len ? (uint32_t)sizeof(out.c) : 0;
	memcpy(out.data, a.data, a.len);
	return ctrl_reply(nv, &out, out.h.len);
}

static int rndis_set(struct nvsp *nv, const uint8_t *msg, uint32_t len)
{
	struct {
		struct rndis_hdr h;
		struct rndis_set_cmplt c;
	} __attribute__((packed)) out = {{RNDIS_MSG_SET_C, sizeof(out)}};
	struct rndis_oid_req req;
	const uint8_t *info;

	if (oid_req_parse(nv, msg, len, &req, &info) < 0)
		return -EPROTO;
	out.c.req_id = req.req_id;
	out.c.status = do_set(nv, req.oid, info, req.info_len);
	return ctrl_reply(nv, &out, sizeof(out));
}

static int rndis_init(struct nvsp *nv, const uint8_t *msg, uint32_t len)
{
	struct {
		struct rndis_hdr h;
		struct rndis_init_cmplt c;
	} __attribute__((packed)) out = {{RNDIS_MSG_INIT_C, sizeof(out)}};
	struct rndis_init_req req;

	if (len < RNDIS_HDR_SIZE + sizeof(req))
		return fail(nv, NVSP_CNT_ERR_RNDIS_LEN, "short RNDIS INITIALIZE");
	memcpy(&req, msg + RNDIS_HDR_SIZE, sizeof(req));
	out.c.req_id = req.req_id;
	out.c.status = RNDIS_STATUS_SUCCESS;
	out.c.major = RNDIS_MAJOR_VERSION;
	out.c.minor = RNDIS_MINOR_VERSION;
	out.c.dev_flags = RNDIS_DF_CONNECTIONLESS;
	out.c.medium = RNDIS_MEDIUM_802_3;
	out.c.max_pkts_per_msg = NVSP_MAX_PKTS_PER_MSG;
	out.c.max_xfer_size = nv->send.sec_size ? nv->send.sec_size : SEND_SECTION_SIZE;
	out.c.pkt_align_shift = 3;
	if (!nv->rndis_init)
		nv->state_gen++;
	nv->rndis_init = true;
	nv->halted = false;
	return ctrl_reply(nv, &out, sizeof(out));
}

static int rndis_id_reply(struct nvsp *nv, uint32_t type, const uint8_t *msg, uint32_t len)
{
	struct {
		struct rndis_hdr h;
		struct rndis_keepalive_cmplt c;
	} __attribute__((packed)) out = {{type, sizeof(out)}};
	struct rndis_id_req req;

	if (len < RNDIS_HDR_SIZE + sizeof(req))
		return fail(nv, NVSP_CNT_ERR_RNDIS_LEN, "short RNDIS request");
	memcpy(&req, msg + RNDIS_HDR_SIZE, sizeof(req));
	out.c.req_id = req.req_id;
	out.c.status = RNDIS_STATUS_SUCCESS;
	return ctrl_reply(nv, &out, sizeof(out));
}

static int rndis_reset(struct nvsp *nv)
{
	struct {
		struct rndis_hdr h;
		struct rndis_reset_cmplt c;
	} __attribute__((packed))
	out = {{RNDIS_MSG_RESET_C, sizeof(out)}, {RNDIS_STATUS_SUCCESS, 0}};

	return ctrl_reply(nv, &out, sizeof(out));
}

/* One control message, copied out of guest memory into nv->ctrl. */
static int rndis_control(struct nvsp *nv, uint32_t type, uint32_t len)
{
	const uint8_t *msg = nv->ctrl;

	switch (type) {
	case RNDIS_MSG_INIT:
		return rndis_init(nv, msg, len);
	case RNDIS_MSG_QUERY:
		return rndis_query(nv, msg, len);
	case RNDIS_MSG_SET:
		return rndis_set(nv, msg, len);
	case RNDIS_MSG_KEEPALIVE:
		return rndis_id_reply(nv, RNDIS_MSG_KEEPALIVE_C, msg, len);
	case RNDIS_MSG_RESET:
		return rndis_reset(nv);
	case RNDIS_MSG_HALT:
		nv->cnt[NVSP_CNT_RNDIS_CTRL_MSGS]++;
		nv->rndis_init = false;
		nv->halted = true;
		nv->filter = 0;
		nv->state_gen++;
		return 0;
	default:
		return fail(nv, NVSP_CNT_ERR_RNDIS_TYPE, "unknown RNDIS message type");
	}
}

/* ---- guest bytes through segments --------------------------------------- */

static void seg_copy(const struct seglist *sl, uint32_t off, void *dst, uint32_t len)
{
	uint8_t *d = dst;

	for (unsigned int i = 0; i < sl->n && len > 0; i++) {
		uint32_t n;

		if (off >= sl->s[i].len) {
			off -= sl->s[i].len;
			continue;
		}
		n = sl->s[i].len - off;
		if (n > len)
			n = len;
		memcpy(d, sl->s[i].p + off, n);
		d += n;
		len -= n;
		off = 0;
	}
}

/* Points iov at [off, off+len) of the segments; returns the entries used. */
static unsigned int seg_iov(const struct seglist *sl, uint32_t off, uint32_t len, struct iovec *iov)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < sl->n && len > 0; i++) {
		uint32_t n;

		if (off >= sl->s[i].len) {
			off -= sl->s[i].len;
			continue;
		}
		n = sl->s[i].len - off;
		if (n > len)
			n = len;
		iov[k].iov_base = sl->s[i].p + off;
		iov[k++].iov_len = n;
		len -= n;
		off = 0;
	}
	return k;
}

/* Appends a run of guest bytes; false when the list is full. */
static bool seg_push(struct seglist *sl, uint8_t *p, uint32_t len)
{
	struct seg *last = sl->n ? &sl->s[sl->n - 1] : NULL;

	if (last && last->p + last->len == p) {
		last->len += len;
	} else {
		if (sl->n == MAX_SEGS)
			return false;
		sl->s[sl->n++] = (struct seg){p, len};
	}
	sl->total += len;
	return true;
}

/* ---- RNDIS data messages ------------------------------------------------ */

/* Reads the packet info elements (plen bytes at hdr + start, a private copy). */
static int parse_ppi(struct nvsp *nv, const uint8_t *hdr, uint32_t start, uint32_t plen,
		     struct nvsp_frame_info *fi)
{
	uint32_t off = 0;

	while (off < plen) {
		struct rndis_ppi e;
		uint32_t v;

		if (plen - off < sizeof(e))
			return fail(nv, NVSP_CNT_ERR_PPI, "truncated packet info");
		memcpy(&e, hdr + start + off, sizeof(e));
		if (e.size < sizeof(e) || e.size > plen - off || e.offset < sizeof(e) ||
		    e.offset > e.size)
			return fail(nv, NVSP_CNT_ERR_PPI, "packet info size/offset");
		if (e.type == RNDIS_PPI_8021Q || e.type == RNDIS_PPI_CHECKSUM) {
			if (e.size - e.offset < 4)
				return fail(nv, NVSP_CNT_ERR_PPI, "packet info value truncated");
			memcpy(&v, hdr + start + off + e.offset, 4);
			if (e.type == RNDIS_PPI_8021Q) {
				fi->has_vlan = true;
				fi->vlan_tci =
					(uint16_t)(RNDIS_8021Q_PRI(v) << 13 |
						   RNDIS_8021Q_CFI(v) << 12 | RNDIS_8021Q_VID(v));
			} else {
				fi->csum_info = v;
			}
		}
		off += e.size;
	}
	return 0;
}

/* Reads and validates the packet info of a data message into fi. */
static int data_ppi(struct nvsp *nv, uint32_t base, uint32_t len, const struct rndis_packet *pk,
		    struct nvsp_frame_info *fi)
{
	uint8_t ppi[RNDIS_HDR_COPY];

	if (pk->ppi_offset < sizeof(*pk) || pk->ppi_len > sizeof(ppi) ||
	    (uint64_t)RNDIS_HDR_SIZE + pk->ppi_offset + pk->ppi_len > len)
		return fail(nv, NVSP_CNT_ERR_PPI, "packet info outside the message");
	seg_copy(&nv->segs, base + RNDIS_HDR_SIZE + pk->ppi_offset, ppi, pk->ppi_len);
	return parse_ppi(nv, ppi, 0, pk->ppi_len, fi);
}

/* A data message at offset base of the segments, len bytes long. Returns 1
 * when a frame went to the sink, 0 when dropped, -EPROTO. */
static int rndis_data(struct nvsp *nv, uint32_t base, uint32_t len, const struct nvsp_sink *sink)
{
	struct rndis_packet pk;
	struct nvsp_frame_info fi = {0};
	struct iovec iov[MAX_SEGS];
	uint32_t body = len - RNDIS_HDR_SIZE;
	unsigned int n;

	if (len < RNDIS_DATA_HDR)
		return fail(nv, NVSP_CNT_ERR_RNDIS_LEN, "short RNDIS packet message");
	seg_copy(&nv->segs, base + RNDIS_HDR_SIZE, &pk, sizeof(pk));
	if (pk.data_offset < sizeof(pk) || pk.data_len == 0 ||
	    (uint64_t)pk.data_offset + pk.data_len > body)
		return fail(nv, NVSP_CNT_ERR_RNDIS_LEN, "packet data outside the message");
	if (pk.ppi_len && data_ppi(nv, base, len, &pk, &fi) < 0)
		return -EPROTO;
	if (!nv->rndis_init) {
		nv->cnt[NVSP_CNT_RX_DROP_NOT_READY]++;
		return 0;
	}
	if (pk.data_len > max_frame(nv)) {
		nv->cnt[NVSP_CNT_RX_DROP_TOO_BIG]++;
		return 0;
	}
	n = seg_iov(&nv->segs, base + RNDIS_HDR_SIZE + pk.data_offset, pk.data_len, iov);
	if (sink->frame(sink->arg, iov, n, pk.data_len, &fi) < 0) {
		nv->cnt[NVSP_CNT_RX_DROP_SINK]++;
		return 0;
	}
	nv->cnt[NVSP_CNT_RX_FRAMES]++;
	nv->cnt[NVSP_CNT_RX_BYTES] += pk.data_len;
	return 1;
}

/*
 * Finds the RNDIS messages in nv->segs (several may share a section: Linux
 * batches up to the max_pkts_per_msg we advertise) and records their offset,
 * length and type in nv->msgs, counting data and control messages. A packet
 * with more messages than advertised, or whose lengths do not tile it, breaks
 * the protocol. The record is what the second pass uses: a guest that changes
 * the headers meanwhile cannot add frames.
 */
static int rndis_scan(struct nvsp *nv)
{
	uint32_t off = 0;

	nv->n_msgs = nv->n_data = nv->n_ctrl = 0;
	while (off < nv->segs.total) {
		struct rndis_hdr h;

		if (nv->segs.total - off < RNDIS_HDR_SIZE)
			return fail(nv, NVSP_CNT_ERR_RNDIS_LEN,
				    "trailing bytes after RNDIS message");
		seg_copy(&nv->segs, off, &h, sizeof(h));
		if (h.len < RNDIS_HDR_SIZE || h.len > nv->segs.total - off)
			return fail(nv, NVSP_CNT_ERR_RNDIS_LEN, "RNDIS message length");
		if (nv->n_msgs == NVSP_MAX_PKTS_PER_MSG)
			return fail(nv, NVSP_CNT_ERR_RNDIS_COUNT,
				    "more RNDIS messages in one packet than advertised");
		if (h.type != RNDIS_MSG_PACKET && h.len > RNDIS_CTRL_MAX)
			return fail(nv, NVSP_CNT_ERR_RNDIS_LEN, "RNDIS control message too big");
		nv->msgs[nv->n_msgs++] = (struct rndis_msg_ref){off, h.len, h.type};
		if (h.type == RNDIS_MSG_PACKET)
			nv->n_data++;
		else
			nv->n_ctrl++;
		off += h.len;
	}
	return 0;
}

/* Handles the messages rndis_scan() recorded. Returns the frames that went
 * to the sink (at most nv->n_data), or -EPROTO. */
static int rndis_run(struct nvsp *nv, const struct nvsp_sink *sink)
{
	int frames = 0;

	for (unsigned int i = 0; i < nv->n_msgs; i++) {
		const struct rndis_msg_ref *m = &nv->msgs[i];
		int r;

		if (m->type == RNDIS_MSG_PACKET) {
			r = rndis_data(nv, m->off, m->len, sink);
		} else {
			seg_copy(&nv->segs, m->off, nv->ctrl, m->len);
			r = rndis_control(nv, m->type, m->len);
		}
		if (r < 0)
			return -EPROTO;
		frames += r;
	}
	return frames;
}

/* ---- NVSP SEND_RNDIS_PKT ------------------------------------------------ */

static int segs_from_section(struct nvsp *nv, const struct nvsp_rndis_pkt *rp)
{
	const struct buf_map *b = &nv->send;

	if (!b->base || rp->section_index >= b->sec_count)
		return fail(nv, NVSP_CNT_ERR_SECTION, "send section index out of range");
	if (rp->section_size == 0 || rp->section_size > b->sec_size)
		return fail(nv, NVSP_CNT_ERR_SECTION, "send section size");
	seg_push(&nv->segs, b->base + (size_t)rp->section_index * b->sec_size, rp->section_size);
	return 0;
}

/* GPA-direct ranges, appended to nv->segs: ext holds the range header and
 * ranges (ext_len bytes, private copy). */
static int segs_from_gpa(struct nvsp *nv, const uint8_t *ext, uint32_t ext_len)
{
	struct nvsp_gpa_hdr gh;
	uint32_t off = sizeof(gh), pages = 0;

	if (ext_len < sizeof(gh))
		return fail(nv, NVSP_CNT_ERR_RANGE, "GPA-direct header");
	memcpy(&gh, ext, sizeof(gh));
	if (gh.range_count == 0 || gh.range_count > MAX_GPA_PAGES)
		return fail(nv, NVSP_CNT_ERR_RANGE, "GPA-direct range count");
	for (uint32_t i = 0; i < gh.range_count; i++) {
		struct nvsp_gpa_range gr;
		uint32_t np, left;

		if (ext_len - off < sizeof(gr))
			return fail(nv, NVSP_CNT_ERR_RANGE, "GPA range outside the packet");
		memcpy(&gr, ext + off, sizeof(gr));
		off += sizeof(gr);
		if (gr.byte_offset >= PAGE_SIZE || gr.byte_count == 0 ||
		    gr.byte_count > MAX_GPA_PAGES * PAGE_SIZE)
			return fail(nv, NVSP_CNT_ERR_RANGE, "GPA range offset/length");
		np = (gr.byte_offset + gr.byte_count + PAGE_SIZE - 1) / PAGE_SIZE;
		pages += np;
		if (pages > MAX_GPA_PAGES || (ext_len - off) / 8u < np)
			return fail(nv, NVSP_CNT_ERR_RANGE, "GPA page list outside the packet");
		left = gr.byte_count;
		for (uint32_t k = 0; k < np; k++) {
			uint64_t pfn;
			uint32_t po = k ? 0 : gr.byte_offset;
			uint32_t n = PAGE_SIZE - po < left ? PAGE_SIZE - po : left;
			void *p;

			memcpy(&pfn, ext + off + 8u * k, 8);
			if (pfn >= (UINT64_MAX >> 12))
				return fail(nv, NVSP_CNT_ERR_RANGE, "GPA page number");
			p = nv->cfg.gpa_to_hva(nv->cfg.ctx, pfn * PAGE_SIZE + po, n);
			if (!p)
				return fail(nv, NVSP_CNT_ERR_RANGE, "GPA page outside guest RAM");
			if (!seg_push(&nv->segs, p, n))
				return fail(nv, NVSP_CNT_ERR_RANGE, "too many GPA page runs");
			left -= n;
		}
		off += 8u * np;
	}
	return 0;
}

/* ---- NVSP control ------------------------------------------------------- */

static int reply(struct nvsp *nv, uint64_t tid, const struct nvsp_msg *m)
{
	int r = send_nvsp(nv, VMBUS_PKT_COMP, tid, m);

	/* out_has_room() was checked before the message was taken */
	return r == -EPROTO ? r : 0;
}

static int nvsp_init_msg(struct nvsp *nv, const struct nvsp_msg *in, uint64_t tid)
{
	struct nvsp_msg m = {.type = NVSP_MSG_INIT_COMPLETE};
	uint32_t lo = in->u.init.min_version, hi = in->u.init.max_version;

	m.u.init_complete.status = NVSP_STATUS_FAIL;
	if (nv->recv.set || nv->send.set) {
		nv->cnt[NVSP_CNT_ERR_NVSP_STATE]++;
		return reply(nv, tid, &m);
	}
	for (size_t i = 0; i < sizeof(supported_versions) / sizeof(supported_versions[0]); i++) {
		uint32_t v = supported_versions[i];

		if (v >= lo && v <= hi) {
			nv->nvsp_version = v;
			nv->state_gen++;
			m.u.init_complete.negotiated_version = v;
			m.u.init_complete.status = NVSP_STATUS_SUCCESS;
			break;
		}
	}
	return reply(nv, tid, &m);
}

static int recv_buf_msg(struct nvsp *nv, const struct nvsp_msg *in, uint64_t tid)
{
	struct nvsp_msg m = {.type = NVSP_MSG1_SEND_RECV_BUF_COMPLETE};
	struct nvsp_recv_section *s = &m.u.recv_buf_complete.section;
	struct buf_map b = {.set = true};
	uint32_t size = recv_section_size(nv);
	int r;

	if (!nv->nvsp_version || nv->recv.set)
		return fail(nv, NVSP_CNT_ERR_NVSP_STATE, "receive buffer out of order");
	b.gpadl = in->u.send_buf.gpadl;
	b.id = in->u.send_buf.id;
	nv->recv.gpadl = b.gpadl;
	r = map_buf(nv, &b);
	if (r == -EAGAIN || r == -EPROTO)
		return r;
	m.u.recv_buf_complete.status = NVSP_STATUS_FAIL;
	if (r == 0 && b.len >= size) {
		b.sec_size = size;
		b.sec_count = (uint32_t)(b.len / size < MAX_RECV_SECTIONS ? b.len / size
									  : MAX_RECV_SECTIONS);
		nv->recv = b;
		sections_reset(nv);
		nv->state_gen++;
		m.u.recv_buf_complete.status = NVSP_STATUS_SUCCESS;
		m.u.recv_buf_complete.num_sections = 1;
		s->sub_alloc_size = size;
		s->num_sub_allocs = b.sec_count;
		s->end_offset = size * b.sec_count;
	}
	return reply(nv, tid, &m);
}

static int send_buf_msg(struct nvsp *nv, const struct nvsp_msg *in, uint64_t tid)
{
	struct nvsp_msg m = {.type = NVSP_MSG1_SEND_SEND_BUF_COMPLETE};
	struct buf_map b = {.set = true};
	int r;

	if (!nv->nvsp_version || nv->send.set)
		return fail(nv, NVSP_CNT_ERR_NVSP_STATE, "send buffer out of order");
	b.gpadl = in->u.send_buf.gpadl;
	b.id = in->u.send_buf.id;
	r = map_buf(nv, &b);
	if (r == -EAGAIN || r == -EPROTO)
		return r;
	m.u.send_buf_complete.status = NVSP_STATUS_FAIL;
	if (r == 0 && b.len >= SEND_SECTION_SIZE) {
		b.sec_size = SEND_SECTION_SIZE;
		b.sec_count = (uint32_t)(b.len / SEND_SECTION_SIZE);
		nv->send = b;
		nv->state_gen++;
		m.u.send_buf_complete.status = NVSP_STATUS_SUCCESS;
		m.u.send_buf_complete.section_size = SEND_SECTION_SIZE;
	}
	return reply(nv, tid, &m);
}

static int revoke_msg(struct nvsp *nv, struct buf_map *b)
{
	if (!b->set)
		return fail(nv, NVSP_CNT_ERR_NVSP_STATE, "revoke of a buffer never sent");
	if (b == &nv->recv) {
		nv->recv.sec_count = 0;
		nv->nfree = 0;
		nv->nfree_slots = 0;
		nv->gen++;
		nv->ctrlq_n = 0;
	}
	memset(b, 0, sizeof(*b));
	nv->state_gen++;
	return 0;
}

static int ndis_config_msg(struct nvsp *nv, const struct nvsp_msg *in)
{
	uint32_t mtu = in->u.ndis_config.mtu;

	if (!nv->nvsp_version)
		return fail(nv, NVSP_CNT_ERR_NVSP_STATE, "NDIS config before INIT");
	nv->guest_mtu = mtu > 14u ? mtu - 14u : 0;
	nv->state_gen++;
	return 0;
}

static int ndis_version_msg(struct nvsp *nv, const struct nvsp_msg *in)
{
	if (!nv->nvsp_version)
		return fail(nv, NVSP_CNT_ERR_NVSP_STATE, "NDIS version before INIT");
	nv->ndis_version = in->u.ndis_version.major << 16 | (in->u.ndis_version.minor & 0xffffu);
	nv->state_gen++;
	return 0;
}

/* Minimum message length per guest->host type (0: not accepted). */
static uint32_t nvsp_min_len(uint32_t type)
{
	switch (type) {
	case NVSP_MSG_INIT:
		return 4 + sizeof(struct nvsp_init);
	case NVSP_MSG1_SEND_NDIS_VERSION:
		return 4 + sizeof(struct nvsp_ndis_version);
	case NVSP_MSG1_SEND_RECV_BUF:
	case NVSP_MSG1_SEND_SEND_BUF:
		return 4 + sizeof(struct nvsp_send_buf);
	case NVSP_MSG1_REVOKE_RECV_BUF:
	case NVSP_MSG1_REVOKE_SEND_BUF:
		return 4 + sizeof(struct nvsp_revoke_buf);
	case NVSP_MSG1_SEND_RNDIS_PKT:
		return 4 + sizeof(struct nvsp_rndis_pkt);
	case NVSP_MSG2_SEND_NDIS_CONFIG:
		return 4 + sizeof(struct nvsp_ndis_config);
	case NVSP_MSG4_SWITCH_DATA_PATH:
		return 4 + sizeof(struct nvsp_switch_data_path);
	case NVSP_MSG5_SUBCHANNEL:
		return 4 + sizeof(struct nvsp_subchannel_req);
	default:
		return 0;
	}
}

/* Copies the NVSP message of a packet (payload of len bytes) into *m. */
static int nvsp_read(struct nvsp *nv, const uint8_t *data, uint32_t len, struct nvsp_msg *m)
{
	uint32_t need;

	memset(m, 0, sizeof(*m));
	if (len < 4)
		return fail(nv, NVSP_CNT_ERR_NVSP_LEN, "NVSP message shorter than its type");
	memcpy(m, data, len < NVSP_MSG_SIZE ? len : NVSP_MSG_SIZE);
	need = nvsp_min_len(m->type);
	if (need == 0)
		return fail(nv, NVSP_CNT_ERR_NVSP_TYPE, "unknown NVSP message type");
	if (len < need)
		return fail(nv, NVSP_CNT_ERR_NVSP_LEN, "NVSP message too short for its type");
	nv->cnt[NVSP_CNT_NVSP_MSGS]++;
	return 0;
}

static int subchannel_msg(struct nvsp *nv, uint64_t tid)
{
	struct nvsp_msg m = {.type = NVSP_MSG5_SUBCHANNEL};

	/* single queue: grant none */
	m.u.subchannel_complete.status = NVSP_STATUS_SUCCESS;
	m.u.subchannel_complete.num_subchannels = 0;
	return reply(nv, tid, &m);
}

/*
 * Gathers the RNDIS bytes of a SEND_RNDIS_PKT into nv->segs: the send section
 * it names (section_size bytes), then, for a GPA-direct packet, its page
 * ranges. Linux sends a section alone (one or several batched messages), the
 * ranges alone (a frame too big for a section), or both: a section holding
 * batched messages plus the header of a last one whose data follow in the
 * ranges ("partial copy"). 0, PKT_RETRY (send buffer not mapped again yet) or
 * -EPROTO.
 */
static int rndis_gather(struct nvsp *nv, const struct nvsp_msg *in, const struct vmbus_pkt *pkt)
{
	const uint8_t *ext = nv->pkt + VMBUS_PKT_DESC_SIZE;
	uint32_t ext_len = pkt->len - pkt->data_len - VMBUS_PKT_DESC_SIZE;

	nv->segs.n = 0;
	nv->segs.total = 0;
	if (in->u.rndis_pkt.section_index != NVSP_INVALID_SECTION) {
		if (nv->send.set && !nv->send.base)
			return PKT_RETRY;
		if (segs_from_section(nv, &in->u.rndis_pkt) < 0)
			return -EPROTO;
	} else if (pkt->type == VMBUS_PKT_DATA_INBAND) {
		return fail(nv, NVSP_CNT_ERR_SECTION, "inband RNDIS packet without section");
	}
	if (pkt->type == VMBUS_PKT_DATA_GPA_DIRECT && segs_from_gpa(nv, ext, ext_len) < 0)
		return -EPROTO;
	return 0;
}

/* SEND_RNDIS_PKT. Returns frames delivered, PKT_RETRY when its frames do not
 * fit room or its control replies the queue (the packet stays in the ring),
 * or -EPROTO. */
static int rndis_pkt_msg(struct nvsp *nv, const struct nvsp_msg *in, const struct vmbus_pkt *pkt,
			 const struct nvsp_sink *sink, unsigned int room)
{
	struct nvsp_msg m = {.type = NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE};
	int frames, r;

	if (!nv->recv.set)
		return fail(nv, NVSP_CNT_ERR_NVSP_STATE, "RNDIS before the receive buffer");
	if (!nv->recv.base)
		return PKT_RETRY; /* buffer not mapped again yet */
	r = rndis_gather(nv, in, pkt);
	if (r < 0)
		return r;
	if (rndis_scan(nv) < 0)
		return -EPROTO;
	if (nv->n_data > room || nv->ctrlq_n + nv->n_ctrl > CTRL_Q_LEN)
		return PKT_RETRY;
	frames = rndis_run(nv, sink);
	if (frames < 0)
		return frames;
	m.u.rndis_pkt_complete.status = NVSP_STATUS_SUCCESS;
	if (pkt->flags & VMBUS_PKT_F_COMPLETION_REQUESTED && reply(nv, pkt->trans_id, &m) < 0)
		return -EPROTO;
	return frames;
}

static int nvsp_dispatch(struct nvsp *nv, const struct nvsp_msg *m, const struct vmbus_pkt *pkt,
			 const struct nvsp_sink *sink, unsigned int room)
{
	switch (m->type) {
	case NVSP_MSG_INIT:
		return nvsp_init_msg(nv, m, pkt->trans_id);
	case NVSP_MSG2_SEND_NDIS_CONFIG:
		return ndis_config_msg(nv, m);
	case NVSP_MSG1_SEND_NDIS_VERSION:
		return ndis_version_msg(nv, m);
	case NVSP_MSG1_SEND_RECV_BUF:
		return recv_buf_msg(nv, m, pkt->trans_id);
	case NVSP_MSG1_SEND_SEND_BUF:
		return send_buf_msg(nv, m, pkt->trans_id);
	case NVSP_MSG1_REVOKE_RECV_BUF:
		return revoke_msg(nv, &nv->recv);
	case NVSP_MSG1_REVOKE_SEND_BUF:
		return revoke_msg(nv, &nv->send);
	case NVSP_MSG1_SEND_RNDIS_PKT:
		return rndis_pkt_msg(nv, m, pkt, sink, room);
	case NVSP_MSG4_SWITCH_DATA_PATH:
		return 0; /* no VF: stays synthetic */
	case NVSP_MSG5_SUBCHANNEL:
		return subchannel_msg(nv, pkt->trans_id);
	default:
		return fail(nv, NVSP_CNT_ERR_NVSP_TYPE, "unexpected NVSP message");
	}
}

/* ---- one guest packet --------------------------------------------------- */

static int guest_completion(struct nvsp *nv, const struct vmbus_pkt *pkt, const uint8_t *data)
{
	struct nvsp_msg m;

	if (pkt->data_len < 4 + sizeof(struct nvsp_rndis_pkt_complete))
		return fail(nv, NVSP_CNT_ERR_NVSP_LEN, "short completion");
	memcpy(&m, data, 8);
	if (m.type != NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE)
		return fail(nv, NVSP_CNT_ERR_NVSP_TYPE, "completion of an unknown kind");
	complete_xfer(nv, pkt->trans_id);
	return 0;
}

/* One guest packet; room: frames the sink may still take. Returns frames
 * delivered, PKT_RETRY or -EPROTO. */
static int handle_pkt(struct nvsp *nv, const struct vmbus_pkt *pkt, const struct nvsp_sink *sink,
		      unsigned int room)
{
	const uint8_t *p = nv->pkt;
	uint32_t off = pkt->len - pkt->data_len;
	struct nvsp_msg m;

	if (pkt->type == VMBUS_PKT_COMP)
		return guest_completion(nv, pkt, p + off);
	if (pkt->type != VMBUS_PKT_DATA_INBAND && pkt->type != VMBUS_PKT_DATA_GPA_DIRECT)
		return fail(nv, NVSP_CNT_ERR_PKT_TYPE, "unexpected VMBus packet type");
	if (!out_has_room(nv))
		return PKT_RETRY;
	if (nvsp_read(nv, p + off, pkt->data_len, &m) < 0)
		return -EPROTO;
	if (pkt->type == VMBUS_PKT_DATA_GPA_DIRECT && m.type != NVSP_MSG1_SEND_RNDIS_PKT)
		return fail(nv, NVSP_CNT_ERR_NVSP_TYPE, "GPA-direct packet not RNDIS");
	return nvsp_dispatch(nv, &m, pkt, sink, room);
}

/* Flushes what waits for sections or ring space. */
static int flush_pending(struct nvsp *nv)
{
	if (remap_buffers(nv) == -EPROTO)
		return -EPROTO;
	if (link_flush(nv) == -EPROTO)
		return -EPROTO;
	return ctrl_flush(nv) == -EPROTO ? -EPROTO : 0;
}

int nvsp_poll(struct nvsp *nv, const struct nvsp_sink *sink, unsigned int max)
{
	unsigned int frames = 0;
	bool sig = false;

	if (nv->failed)
		return -EPROTO;
	if (!nv->in)
		return -ENOTCONN;
	if (!sink || !sink->frame || max < NVSP_MAX_PKTS_PER_MSG)
		return -EINVAL;
	if (flush_pending(nv) < 0)
		goto failed;
	for (unsigned int i = 0; i < max && frames < max; i++) {
		struct vmbus_pkt pkt;
		int r = vmbus_ring_peek(nv->in, &pkt, nv->pkt, sizeof(nv->pkt));

		if (r == -EAGAIN)
			break;
		if (r < 0) {
			fail(nv, NVSP_CNT_ERR_RING, r == -EMSGSIZE ? "packet too large" : "ring");
			goto failed;
		}
		if (pkt.len > sizeof(nv->pkt)) {
			fail(nv, NVSP_CNT_ERR_RING, "packet too large");
			goto failed;
		}
		if (pkt.desc != nv->pkt)
			memcpy(nv->pkt, pkt.desc, pkt.len); /* private copy */
		r = handle_pkt(nv, &pkt, sink, max - frames);
		if (r == PKT_RETRY)
			break;
		if (r < 0)
			goto failed;
		vmbus_ring_consume(nv->in, &pkt);
		frames += (unsigned int)r;
	}
	if (vmbus_ring_read_commit(nv->in, &sig) < 0) {
		fail(nv, NVSP_CNT_ERR_RING, "guest->host write index");
		goto failed;
	}
	if (sig)
		nv->signal = true;
	if (ctrl_flush(nv) == -EPROTO)
		goto failed;
	finish_signal(nv);
	return (int)frames;
failed:
	finish_signal(nv);
	return -EPROTO;
}

bool nvsp_wants_poll(const struct nvsp *nv)
{
	if (nv->failed || !nv->in)
		return false;
	return nv->gpadl_waiting || nv->out_full || nv->ctrlq_n > 0 || nv->flap_pending ||
	       (nv->rndis_init && nv->link_known && nv->link_guest != nv->link_up) ||
	       ((nv->recv.set && !nv->recv.base) || (nv->send.set && !nv->send.base));
}

/* ---- switch -> guest ---------------------------------------------------- */

/* Posts the data batch and counts it. -1, or the drop reason (a counter) when it failed. */
static int post_data(struct nvsp *nv, struct xfer_batch *b)
{
	uint32_t bytes = b->bytes, cnt = b->n;
	int r = batch_post(nv, b, NVSP_CHANNEL_DATA);

	if (r < 0)
		return r == -EPROTO ? NVSP_CNT_TX_DROP_NOT_READY : NVSP_CNT_TX_DROP_RING_FULL;
	nv->cnt[NVSP_CNT_TX_PACKETS]++;
	nv->cnt[NVSP_CNT_TX_FRAMES] += cnt;
	nv->cnt[NVSP_CNT_TX_BYTES] += bytes;
	b->bytes = 0;
	return -1;
}

/* Copies one frame into a section of the batch. -1, or the drop reason. */
static int add_frame(struct nvsp *nv, struct xfer_batch *b, const struct nvsp_frame *f)
{
	struct {
		struct rndis_hdr h;
		struct rndis_packet p;
	} __attribute__((packed)) rh = {{RNDIS_MSG_PACKET, 0}, {0}};

	rh.h.len = (uint32_t)sizeof(rh) + f->len;
	rh.p.data_offset = sizeof(rh.p);
	rh.p.data_len = f->len;
	return batch_add(nv, b, &rh, sizeof(rh), f->data, f->len) ? -1
								  : NVSP_CNT_TX_DROP_NO_SECTION;
}

/* Why nothing can be delivered now (a counter), or -1 when frames may go. */
static int deliver_gate(struct nvsp *nv)
{
	if (!nv->failed && nv->in && flush_pending(nv) < 0)
		return NVSP_CNT_TX_DROP_NOT_READY;
	if (nv->failed || !nv->in || !nv->recv.base || !nv->rndis_init || !nv->link_up)
		return NVSP_CNT_TX_DROP_NOT_READY;
	if (nv->filter == 0)
		return NVSP_CNT_TX_DROP_FILTER;
	if (nv->ctrlq_n > 0)
		return NVSP_CNT_TX_DROP_NO_SECTION; /* control replies go first */
	return -1;
}

unsigned int nvsp_deliver(struct nvsp *nv, const struct nvsp_frame *frames, unsigned int n)
{
	struct xfer_batch b = {.n = 0, .bytes = 0};
	unsigned int i = 0, posted = 0;
	int reason = deliver_gate(nv);

	while (reason < 0 && i < n) {
		if (frames[i].len == 0 || frames[i].len > max_frame(nv)) {
			nv->cnt[NVSP_CNT_TX_DROP_TOO_BIG]++; /* dropped here, reported accepted */
		} else {
			reason = add_frame(nv, &b, &frames[i]);
			if (reason >= 0)
				break;
		}
		i++;
		if (b.n == NVSP_MAX_XFER_RANGES) {
			reason = post_data(nv, &b);
			if (reason >= 0)
				i = posted; /* the batch's frames were not accepted */
			else
				posted = i;
		}
	}
	if (b.n > 0) {
		int r = post_data(nv, &b);

		if (r >= 0) {
			i = posted;
			reason = r;
		}
	}
	if (i < n)
		nv->cnt[reason < 0 ? NVSP_CNT_TX_DROP_NOT_READY : reason] += n - i;
	finish_signal(nv);
	return i;
}

/* ---- control operations ------------------------------------------------- */

struct nvsp *nvsp_create(const struct nvsp_config *cfg)
{
	struct nvsp *nv;

	if (!cfg || !cfg->gpa_to_hva || !cfg->map_gpadl || !cfg->signal_guest ||
	    (cfg->mtu && (cfg->mtu < 68 || cfg->mtu > 9000))) {
		errno = EINVAL;
		return NULL;
	}
	nv = calloc(1, sizeof(*nv));
	if (!nv)
		return NULL;
	nv->cfg = *cfg;
	if (!nv->cfg.mtu)
		nv->cfg.mtu = 1500;
	nv->link_up = true;
	nv->free_secs = calloc(MAX_RECV_SECTIONS, sizeof(uint32_t));
	nv->sec_next = calloc(MAX_RECV_SECTIONS, sizeof(uint32_t));
	nv->free_slots = calloc(MAX_RECV_SECTIONS, sizeof(uint32_t));
	nv->slots = calloc(MAX_RECV_SECTIONS, sizeof(struct xfer_slot));
	if (!nv->free_secs || !nv->sec_next || !nv->free_slots || !nv->slots) {
		nvsp_free(nv);
		errno = ENOMEM;
		return NULL;
	}
	return nv;
}

void nvsp_free(struct nvsp *nv)
{
	if (!nv)
		return;
	free(nv->free_secs);
	free(nv->sec_next);
	free(nv->free_slots);
	free(nv->slots);
	free(nv);
}

int nvsp_attach(struct nvsp *nv, struct vmbus_ring *in, struct vmbus_ring *out)
{
	if (!in || !out)
		return -EINVAL;
	if (nv->failed)
		return -EPROTO;
	if (nv->in)
		return -EBUSY;
	nv->in = in;
	nv->out = out;
	if (nv->used || nv->restored) {
		/* in-flight sections of the old connection are free again */
		if (nv->recv.sec_count)
			sections_reset(nv);
		nv->ctrlq_n = 0;
		nv->flap_pending = nv->rndis_init;
	}
	nv->used = true;
	nv->out_full = false;
	nv->gpadl_waiting = false;
	return 0;
}

void nvsp_detach(struct nvsp *nv)
{
	if (!nv)
		return;
	nv->in = NULL;
	nv->out = NULL;
	nv->recv.base = NULL;
	nv->send.base = NULL;
	nv->ctrlq_n = 0;
	nv->out_full = false;
	nv->gpadl_waiting = false;
}

void nvsp_set_link(struct nvsp *nv, bool up)
{
	nv->link_up = up;
	if (!nv->failed && nv->in && link_flush(nv) == 0 && ctrl_flush(nv) != -EPROTO)
		finish_signal(nv);
}

void nvsp_mask(struct nvsp *nv)
{
	if (nv->in && !nv->failed)
		vmbus_ring_mask(nv->in);
}

int64_t nvsp_unmask(struct nvsp *nv)
{
	int64_t r;

	if (nv->failed)
		return -EPROTO;
	if (!nv->in)
		return -ENOTCONN;
	r = vmbus_ring_unmask(nv->in);
	if (r < 0)
		return fail(nv, NVSP_CNT_ERR_RING, "guest->host write index");
	return r;
}

/* ---- save / restore ----------------------------------------------------- */

struct saved_buf {
	uint32_t gpadl;
	uint16_t id;
	uint8_t set;
	uint8_t pad;
	uint32_t sec_size;
	uint32_t sec_count;
} __attribute__((packed));

struct saved {
	uint32_t magic;
	uint16_t version;
	uint16_t size;
	uint8_t mac[6];
	uint8_t rndis_init;
	uint8_t halted;
	uint32_t mtu;
	uint32_t nvsp_version;
	uint32_t ndis_version;
	uint32_t guest_mtu;
	uint32_t filter;
	uint32_t gen;
	struct saved_buf recv;
	struct saved_buf send;
} __attribute__((packed));

_Static_assert(sizeof(struct saved) <= NVSP_SAVE_MAX, "saved state size");

static void save_buf(struct saved_buf *s, const struct buf_map *b)
{
	s->gpadl = b->gpadl;
	s->id = b->id;
	s->set = b->set;
	s->pad = 0;
	s->sec_size = b->sec_size;
	s->sec_count = b->sec_count;
}

int nvsp_save(const struct nvsp *nv, void *buf, size_t len)
{
	struct saved s;

	if (nv->failed)
		return -EPROTO;
	if (len < sizeof(s))
		return -ENOSPC;
	memset(&s, 0, sizeof(s));
	s.magic = SAVE_MAGIC;
	s.version = SAVE_VERSION;
	s.size = sizeof(s);
	memcpy(s.mac, nv->cfg.mac, 6);
	s.rndis_init = nv->rndis_init;
	s.halted = nv->halted;
	s.mtu = nv->cfg.mtu;
	s.nvsp_version = nv->nvsp_version;
	s.ndis_version = nv->ndis_version;
	s.guest_mtu = nv->guest_mtu;
	s.filter = nv->filter;
	s.gen = nv->gen;
	save_buf(&s.recv, &nv->recv);
	save_buf(&s.send, &nv->send);
	memcpy(buf, &s, sizeof(s));
	return (int)sizeof(s);
}

static bool saved_valid(const struct nvsp *nv, const struct saved *s)
{
	if (s->magic != SAVE_MAGIC || s->version != SAVE_VERSION || s->size != sizeof(*s))
		return false;
	if (memcmp(s->mac, nv->cfg.mac, 6) || s->mtu != nv->cfg.mtu)
		return false;
	if (s->rndis_init > 1 || s->halted > 1 || s->recv.set > 1 || s->send.set > 1)
		return false;
	if (s->nvsp_version && !version_supported(s->nvsp_version))
		return false;
	if ((s->recv.set || s->send.set || s->rndis_init) && !s->nvsp_version)
		return false;
	if (s->recv.set && (s->recv.sec_size != recv_section_size(nv) || s->recv.sec_count == 0 ||
			    s->recv.sec_count > MAX_RECV_SECTIONS))
		return false;
	if (!s->recv.set && (s->recv.sec_count || s->rndis_init))
		return false;
	if (s->send.set && (s->send.sec_size != SEND_SECTION_SIZE || s->send.sec_count == 0))
		return false;
	return s->guest_mtu <= 65535u;
}

static void restore_buf(struct buf_map *b, const struct saved_buf *s)
{
	memset(b, 0, sizeof(*b));
	b->set = s->set;
	if (!b->set)
		return;
	b->gpadl = s->gpadl;
	b->id = s->id;
	b->sec_size = s->sec_size;
	b->sec_count = s->sec_count;
}

int nvsp_restore(struct nvsp *nv, const void *buf, size_t len)
{
	struct saved s;

	if (nv->used || nv->in || nv->nvsp_version)
		return -EBUSY;
	if (!buf || len != sizeof(s))
		return -EINVAL;
	memcpy(&s, buf, sizeof(s));
	if (!saved_valid(nv, &s))
		return -EINVAL;
	nv->nvsp_version = s.nvsp_version;
	nv->ndis_version = s.ndis_version;
	nv->guest_mtu = s.guest_mtu;
	nv->filter = s.filter;
	nv->rndis_init = s.rndis_init;
	nv->halted = s.halted;
	nv->gen = s.gen + 1u; /* completions of the old connection are stale */
	restore_buf(&nv->recv, &s.recv);
	restore_buf(&nv->send, &s.send);
	nv->restored = true;
	nv->state_gen++;
	return 0;
}

uint64_t nvsp_state_gen(const struct nvsp *nv)
{
	return nv->state_gen;
}

/* ---- stats -------------------------------------------------------------- */

const char *nvsp_counter_name(unsigned int c)
{
	return c < NVSP_CNT__COUNT ? counter_names[c] : NULL;
}

const char *nvsp_state_name(const struct nvsp *nv)
{
	if (nv->failed)
		return "failed";
	if (nv->halted)
		return "halted";
	if (nv->rndis_init && nv->filter)
		return "ready";
	if (nv->rndis_init)
		return "rndis";
	if (nv->recv.set && nv->send.set)
		return "buffers";
	if (nv->nvsp_version)
		return "negotiated";
	return "init";
}

bool nvsp_failed(const struct nvsp *nv)
{
	return nv->failed;
}

void nvsp_get_stats(const struct nvsp *nv, struct nvsp_stats *st)
{
	memset(st, 0, sizeof(*st));
	memcpy(st->counters, nv->cnt, sizeof(st->counters));
	st->state = nvsp_state_name(nv);
	st->fail_reason = nv->failed ? counter_names[nv->fail_reason] : NULL;
	st->nvsp_version = nv->nvsp_version;
	st->ndis_version = nv->ndis_version;
	st->packet_filter = nv->filter;
	st->mtu = nv->cfg.mtu;
	st->guest_mtu = nv->guest_mtu;
	st->recv_sections = nv->recv.sec_count;
	st->recv_section_size = nv->recv.sec_size;
	st->recv_sections_in_use = nv->recv.base ? nv->recv.sec_count - nv->nfree : 0;
	st->send_sections = nv->send.sec_count;
	st->send_section_size = nv->send.sec_size;
	st->rndis_initialized = nv->rndis_init;
	st->link_up = nv->link_up;
	st->attached = nv->in != NULL;
}
