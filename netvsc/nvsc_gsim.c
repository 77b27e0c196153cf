/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Guest-side synthetic NIC simulator (see nvsc_gsim.h). The handshake is a
 * small state machine: NVSP INIT per version (newest first), NDIS config
 * and version, receive buffer, send buffer, then the RNDIS requests Linux's
 * rndis_filter_device_add() and rndis_filter_open() make, one at a time.
 * Memory layout from the start of the transport's memory: guest->host ring,
 * host->guest ring, receive buffer, send buffer, GPA-direct slots, scratch.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvsc_gsim.h"
#include "nvsp_wire.h"
#include "rndis_wire.h"
#include "vmbus/ring.h"

#define PAGE	      4096u
#define GPA_SLOTS     16u
#define GPA_SLOT_SIZE (16u * 1024u)
#define SCRATCH_SIZE  (64u * 1024u)
#define PENDING_MAX   1024u
#define REQ_MAX	      512u

#define TID_CTRL    0x10000000ull
#define TID_SEC	    0x20000000ull
#define TID_GPA	    0x30000000ull
#define TID_RAW	    0x40000000ull
#define TID_PART    0x50000000ull /* partial copy: section << 8 | GPA slot */
#define TID_KIND(t) ((t)&0xf0000000ull)

enum gstate { G_IDLE, G_INIT, G_RECV, G_SEND, G_RNDIS, G_READY, G_FAILED };

/* RNDIS requests of the handshake, in Linux's order. */
enum rstep {
	R_INIT,
	R_MAX_FRAME,
	R_MAC,
	R_HW_CAPS,
	R_OFFLOAD_PARAMS,
	R_LINK_SPEED,
	R_MEDIA,
	R_RSS_CAPS,
	R_FILTER,
	R_DONE,
};

struct nvsc_gsim {
	struct nvsc_gsim_transport t;
	struct nvsc_gsim_config cfg;
	struct vmbus_ring *out; /* guest -> host */
	struct vmbus_ring *in;	/* host -> guest */
	uint64_t off_ring, off_recv, off_send, off_gpa, off_scratch;

	enum gstate state;
	const char *error;
	uint32_t version;
	uint32_t vidx;
	enum rstep rstep;
	bool req_out; /* the current RNDIS request was sent */
	uint32_t req_id;
	uint32_t filter;

	uint32_t recv_sec_size, recv_sec_count;
	uint32_t send_sec_size, send_sec_count;
	uint8_t *send_used;
	uint32_t send_in_use;
	bool gpa_used[GPA_SLOTS];

	/* Linux's multi-send data: a send section being filled with frames sent
	 * with "more" (xmit_more), sent once full, at a frame without "more", or
	 * by nvsc_gsim_flush(). */
	int msd_idx; /* -1: none */
	uint32_t msd_len, msd_count;
	bool msd_retry;		/* its send found the ring full: sent again once woken */
	uint32_t host_max_pkts; /* max_pkts_per_msg from RNDIS INITIALIZE */
	uint32_t pkt_align;
	/* transmit queue: stopped as Linux stops it (ring nearly full), woken by
	 * a send completion */
	bool tx_stopped;
	uint32_t queue_sends; /* data packets sent and not completed */

	uint64_t pending[PENDING_MAX];
	uint32_t npending;

	struct nvsc_gsim_stats st;
	uint8_t bounce[8192] __attribute__((aligned(8)));
	uint8_t req[REQ_MAX] __attribute__((aligned(8)));
};

static const uint32_t versions[] = {
	NVSP_VERSION_61, NVSP_VERSION_6, NVSP_VERSION_5,
	NVSP_VERSION_4,	 NVSP_VERSION_2, NVSP_VERSION_1,
};
#define NVERSIONS (sizeof(versions) / sizeof(versions[0]))

static int gfail(struct nvsc_gsim *g, const char *why)
{
	if (g->state != G_FAILED) {
		g->state = G_FAILED;
		g->error = why;
	}
	return -EPROTO;
}

static uint64_t gpa_of(const struct nvsc_gsim *g, uint64_t off)
{
	return g->t.gpa_base + off;
}

static void cfg_defaults(struct nvsc_gsim_config *c)
{
	if (!c->max_version)
		c->max_version = NVSP_VERSION_61;
	if (!c->min_version)
		c->min_version = NVSP_VERSION_1;
	if (!c->mtu)
		c->mtu = 1500;
	if (!c->ring_size)
		c->ring_size = 128u * 1024u;
	if (!c->recv_buf_size)
		c->recv_buf_size = 2u * 1024u * 1024u;
	if (!c->send_buf_size)
		c->send_buf_size = 1024u * 1024u;
	if (!c->ring_gpadl)
		c->ring_gpadl = 0xe1e10;
	if (!c->recv_gpadl)
		c->recv_gpadl = 0xe1e11;
	if (!c->send_gpadl)
		c->send_gpadl = 0xe1e12;
	if (!c->batch)
		c->batch = 1;
}

uint64_t nvsc_gsim_mem_needed(const struct nvsc_gsim_config *cfg)
{
	struct nvsc_gsim_config c = *cfg;

	cfg_defaults(&c);
	return 2ull * c.ring_size + c.recv_buf_size + c.send_buf_size +
	       (uint64_t)GPA_SLOTS * GPA_SLOT_SIZE + SCRATCH_SIZE;
}

/* ---- output ------------------------------------------------------------- */

static int put(struct nvsc_gsim *g, const struct vmbus_pkt_out *p)
{
	bool sig = false;
	int r = vmbus_ring_write(g->out, p, &sig);

	if (r == -EPROTO)
		return gfail(g, "guest->host ring corrupt");
	if (sig) {
		g->st.signals++;
		g->t.signal_host(g->t.ctx);
	}
	return r;
}

int nvsc_gsim_send_raw(struct nvsc_gsim *g, uint16_t type, uint16_t flags, uint64_t trans_id,
		       const void *ext, uint32_t ext_len, const void *payload, uint32_t len)
{
	struct iovec iov = {.iov_base = (void *)payload, .iov_len = len};
	struct vmbus_pkt_out p = {.type = type,
				  .flags = flags,
				  .trans_id = trans_id,
				  .ext = ext,
				  .ext_len = ext_len,
				  .iov = &iov,
				  .iovcnt = len ? 1 : 0};

	return put(g, &p);
}

static int send_msg(struct nvsc_gsim *g, const struct nvsp_msg *m, uint64_t tid)
{
	return nvsc_gsim_send_raw(g, VMBUS_PKT_DATA_INBAND, VMBUS_PKT_F_COMPLETION_REQUESTED, tid,
				  NULL, 0, m, NVSP_MSG_SIZE);
}

int nvsc_gsim_send_nvsp(struct nvsc_gsim *g, const void *msg, uint32_t len)
{
	return nvsc_gsim_send_raw(g, VMBUS_PKT_DATA_INBAND, VMBUS_PKT_F_COMPLETION_REQUESTED,
				  TID_RAW, NULL, 0, msg, len);
}

static int send_section_msg(struct nvsc_gsim *g, uint32_t channel, uint32_t idx, uint32_t size,
			    uint64_t tid)
{
	struct nvsp_msg m = {.type = NVSP_MSG1_SEND_RNDIS_PKT};

	m.u.rndis_pkt.channel_type = channel;
	m.u.rndis_pkt.section_index = idx;
	m.u.rndis_pkt.section_size = size;
	return send_msg(g, &m, tid);
}

int nvsc_gsim_send_rndis_section(struct nvsc_gsim *g, uint32_t channel, uint32_t copy_to,
				 uint32_t section_index, uint32_t section_size, const void *rndis,
				 uint32_t len)
{
	if (copy_to >= g->send_sec_count || len > g->send_sec_size)
		return -EINVAL;
	memcpy(g->t.mem + g->off_send + (uint64_t)copy_to * g->send_sec_size, rndis, len);
	return send_section_msg(g, channel, section_index, section_size, TID_RAW);
}

void *nvsc_gsim_scratch(struct nvsc_gsim *g, uint64_t *gpa, uint32_t *len)
{
	*gpa = gpa_of(g, g->off_scratch);
	*len = SCRATCH_SIZE;
	return g->t.mem + g->off_scratch;
}

/* ---- send sections and GPA slots ---------------------------------------- */

static int section_get(struct nvsc_gsim *g)
{
	for (uint32_t i = 0; i < g->send_sec_count; i++) {
		if (!g->send_used[i]) {
			g->send_used[i] = 1;
			g->send_in_use++;
			return (int)i;
		}
	}
	return -EAGAIN;
}

static void section_put(struct nvsc_gsim *g, uint32_t i)
{
	if (i < g->send_sec_count && g->send_used[i]) {
		g->send_used[i] = 0;
		g->send_in_use--;
	}
}

static int slot_get(struct nvsc_gsim *g)
{
	for (uint32_t i = 0; i < GPA_SLOTS; i++) {
		if (!g->gpa_used[i]) {
			g->gpa_used[i] = true;
			return (int)i;
		}
	}
	return -EAGAIN;
}

/* Appends a GPA range for [off, off+len) of guest memory to ext. */
static uint32_t gpa_range(const struct nvsc_gsim *g, uint8_t *ext, uint32_t pos, uint64_t off,
			  uint32_t len)
{
	uint64_t gpa = gpa_of(g, off);
	struct nvsp_gpa_range r = {.byte_count = len, .byte_offset = (uint32_t)(gpa % PAGE)};
	uint32_t np = (r.byte_offset + len + PAGE - 1) / PAGE;

	memcpy(ext + pos, &r, sizeof(r));
	pos += sizeof(r);
	for (uint32_t k = 0; k < np; k++) {
		uint64_t pfn = gpa / PAGE + k;

		memcpy(ext + pos, &pfn, 8);
		pos += 8;
	}
	return pos;
}

/* Sends the RNDIS message at guest offset off (hlen header bytes, then
 * len - hlen data bytes) as GPA direct with one range per part; with a send
 * section (section != NVSP_INVALID_SECTION, section_size bytes of RNDIS
 * messages) the ranges continue what the section holds (Linux's partial
 * copy), and hlen is 0. */
static int send_gpa_sec(struct nvsc_gsim *g, uint32_t channel, uint64_t off, uint32_t hlen,
			uint32_t len, uint64_t tid, uint32_t section, uint32_t section_size)
{
	uint8_t ext[8 + 2 * (8 + 8 * 8)];
	struct nvsp_gpa_hdr gh = {.range_count = hlen && hlen < len ? 2 : 1};
	struct nvsp_msg m = {.type = NVSP_MSG1_SEND_RNDIS_PKT};
	uint32_t pos;
	struct iovec iov = {.iov_base = &m, .iov_len = NVSP_MSG_SIZE};
	struct vmbus_pkt_out p = {.type = VMBUS_PKT_DATA_GPA_DIRECT,
				  .flags = VMBUS_PKT_F_COMPLETION_REQUESTED,
				  .trans_id = tid,
				  .ext = ext,
				  .iov = &iov,
				  .iovcnt = 1};

	memcpy(ext, &gh, sizeof(gh));
	if (hlen && hlen < len) {
		pos = gpa_range(g, ext, sizeof(gh), off, hlen);
		pos = gpa_range(g, ext, pos, off + hlen, len - hlen);
	} else {
		pos = gpa_range(g, ext, sizeof(gh), off, len);
	}
	p.ext_len = (pos + 7u) & ~7u;
	memset(ext + pos, 0, p.ext_len - pos);
	m.u.rndis_pkt.channel_type = channel;
	m.u.rndis_pkt.section_index = section;
	m.u.rndis_pkt.section_size = section == NVSP_INVALID_SECTION ? 0 : section_size;
	return put(g, &p);
}

static int send_gpa(struct nvsc_gsim *g, uint32_t channel, uint64_t off, uint32_t hlen,
		    uint32_t len, uint64_t tid)
{
	return send_gpa_sec(g, channel, off, hlen, len, tid, NVSP_INVALID_SECTION, 0);
}

/* Sends one RNDIS message (control or data) from buf through a section or GPA. */
static int send_rndis(struct nvsc_gsim *g, uint32_t channel, const void *hdr, uint32_t hlen,
		      const void *data, uint32_t dlen, bool gpa, uint32_t page_off)
{
	uint32_t len = hlen + dlen;
	uint64_t off;
	int idx, r;

	if (gpa) {
		if (page_off >= PAGE || page_off + len > GPA_SLOT_SIZE)
			return -EINVAL;
		idx = slot_get(g);
		if (idx < 0)
			return idx;
		off = g->off_gpa + (uint64_t)idx * GPA_SLOT_SIZE + page_off;
		memcpy(g->t.mem + off, hdr, hlen);
		if (dlen)
			memcpy(g->t.mem + off + hlen, data, dlen);
		r = send_gpa(g, channel, off, hlen, len, TID_GPA | (uint32_t)idx);
		if (r < 0)
			g->gpa_used[idx] = false;
		return r;
	}
	if (len > g->send_sec_size)
		return -EINVAL;
	idx = section_get(g);
	if (idx < 0)
		return idx;
	off = g->off_send + (uint64_t)idx * g->send_sec_size;
	memcpy(g->t.mem + off, hdr, hlen);
	if (dlen)
		memcpy(g->t.mem + off + hlen, data, dlen);
	r = send_section_msg(g, channel, (uint32_t)idx, len, TID_SEC | (uint32_t)idx);
	if (r < 0)
		section_put(g, (uint32_t)idx);
	return r;
}

/* ---- transmit queue and batching (Linux's netvsc_send) ------------------ */

/* Linux stops a queue whose ring has less than 10% free after a send and
 * wakes it at a send completion once over 20% is free or nothing is in flight. */
#define RING_LOWATER 10u
#define RING_HIWATER 20u

static uint32_t out_avail_percent(struct nvsc_gsim *g)
{
	int64_t f = vmbus_ring_bytes_to_write(g->out);

	return f <= 0 ? 0 : (uint32_t)(f * 100 / vmbus_ring_data_size(g->out));
}

static void tx_stop(struct nvsc_gsim *g)
{
	if (!g->tx_stopped) {
		g->tx_stopped = true;
		g->st.tx_stops++;
	}
}

/* After a data packet went out: count it, stop the queue when the ring is low. */
static void tx_sent(struct nvsc_gsim *g, uint32_t frames)
{
	g->st.tx_frames += frames;
	g->st.tx_packets++;
	g->queue_sends++;
	if (out_avail_percent(g) < RING_LOWATER)
		tx_stop(g);
}

static void tx_completed(struct nvsc_gsim *g)
{
	if (g->queue_sends)
		g->queue_sends--;
	if (g->tx_stopped && (out_avail_percent(g) > RING_HIWATER || g->queue_sends < 1)) {
		g->tx_stopped = false;
		g->st.tx_wakes++;
	}
}

/* Sends the open batch. 0, -EAGAIN (ring full: the batch stays, the queue
 * stops until a completion wakes it), -EPROTO. */
static int msd_flush(struct nvsc_gsim *g)
{
	int r;

	if (g->msd_idx < 0)
		return 0;
	r = send_section_msg(g, NVSP_CHANNEL_DATA, (uint32_t)g->msd_idx, g->msd_len,
			     TID_SEC | (uint32_t)g->msd_idx);
	g->msd_retry = r == -EAGAIN;
	if (r == -EAGAIN)
		tx_stop(g);
	if (r < 0)
		return r;
	if (g->msd_count > 1)
		g->st.tx_batches++;
	tx_sent(g, g->msd_count);
	g->msd_idx = -1;
	g->msd_len = g->msd_count = 0;
	return 0;
}

int nvsc_gsim_flush(struct nvsc_gsim *g)
{
	return g->state == G_READY ? msd_flush(g) : 0;
}

/* Copies an RNDIS data message (header hdr of hlen bytes, then the frame) to
 * the open batch's section, padded to the host's alignment when more follow. */
static void msd_append(struct nvsc_gsim *g, void *hdr, uint32_t hlen, const void *frame,
		       uint32_t len, bool pad)
{
	uint8_t *p = g->t.mem + g->off_send + (uint64_t)g->msd_idx * g->send_sec_size + g->msd_len;
	uint32_t total = hlen + len, padding = 0;
	struct rndis_hdr h;

	if (pad && total % g->pkt_align)
		padding = g->pkt_align - total % g->pkt_align;
	memcpy(&h, hdr, sizeof(h));
	h.len = total + padding;
	memcpy(p, &h, sizeof(h));
	memcpy(p + sizeof(h), (const uint8_t *)hdr + sizeof(h), hlen - sizeof(h));
	memcpy(p + hlen, frame, len);
	memset(p + total, 0, padding);
	g->msd_len += total + padding;
	g->msd_count++;
}

/* Partial copy: the message's header goes into the open batch's section, its
 * frame into a GPA slot, and both go out as one GPA-direct packet naming the
 * section. -ENOSPC when no slot is free (the caller sends the batch alone). */
static int msd_partial(struct nvsc_gsim *g, const void *hdr, uint32_t hlen, const void *frame,
		       uint32_t len)
{
	uint8_t *sec = g->t.mem + g->off_send + (uint64_t)g->msd_idx * g->send_sec_size;
	int slot = slot_get(g);
	uint64_t off;
	int r;

	if (slot < 0)
		return -ENOSPC;
	off = g->off_gpa + (uint64_t)slot * GPA_SLOT_SIZE;
	memcpy(sec + g->msd_len, hdr, hlen);
	memcpy(g->t.mem + off, frame, len);
	r = send_gpa_sec(g, NVSP_CHANNEL_DATA, off, 0, len,
			 TID_PART | (uint32_t)g->msd_idx << 8 | (uint32_t)slot,
			 (uint32_t)g->msd_idx, g->msd_len + hlen);
	if (r < 0) {
		g->gpa_used[slot] = false;
		if (r == -EAGAIN)
			tx_stop(g);
		return r;
	}
	g->st.tx_partial++;
	tx_sent(g, g->msd_count + 1);
	g->msd_idx = -1;
	g->msd_len = g->msd_count = 0;
	return 0;
}

/* The batching decision of Linux's netvsc_send() for one data message. Returns
 * 0 (sent or batched), 1 (not batched: the caller sends it alone), -EAGAIN,
 * -EPROTO. */
static int send_batched(struct nvsc_gsim *g, void *hdr, uint32_t hlen, const void *frame,
			uint32_t len, bool more)
{
	uint32_t limit = g->cfg.batch < g->host_max_pkts ? g->cfg.batch : g->host_max_pkts;
	uint32_t pktlen = hlen + len, sec = g->send_sec_size;
	bool try_batch = g->msd_idx >= 0 && g->msd_count < limit;
	int idx, r;

	if (try_batch && g->msd_len + pktlen + g->pkt_align < sec) {
		msd_append(g, hdr, hlen, frame, len, more && g->msd_count + 1 < limit);
		return more && g->msd_count < limit ? 0 : msd_flush(g);
	}
	if (try_batch && g->msd_len + hlen < sec && len <= GPA_SLOT_SIZE) {
		r = msd_partial(g, hdr, hlen, frame, len);
		if (r != -ENOSPC)
			return r;
	}
	r = msd_flush(g);
	if (r < 0)
		return r;
	if (pktlen + g->pkt_align >= sec || !more)
		return 1;
	idx = section_get(g);
	if (idx < 0)
		return 1;
	g->msd_idx = idx;
	msd_append(g, hdr, hlen, frame, len, true);
	return 0;
}

int nvsc_gsim_send(struct nvsc_gsim *g, const void *frame, uint32_t len,
		   const struct nvsc_gsim_tx *opt)
{
	struct {
		struct rndis_hdr h;
		struct rndis_packet p;
		struct rndis_ppi ppi;
		uint32_t vlan;
	} __attribute__((packed)) m;
	struct nvsc_gsim_tx o = {.gpa_direct = g->cfg.gpa_direct};
	uint32_t hlen;
	int r;

	if (opt)
		o = *opt;
	if (g->state != G_READY)
		return -ENOTCONN;
	if (len == 0 || len > g->cfg.mtu + 18u)
		return -EINVAL;
	if (g->tx_stopped)
		return -EAGAIN;
	memset(&m, 0, sizeof(m));
	hlen = RNDIS_HDR_SIZE + sizeof(m.p);
	if (o.has_vlan) {
		m.p.ppi_offset = sizeof(m.p);
		m.p.ppi_len = sizeof(m.ppi) + 4;
		m.ppi.size = sizeof(m.ppi) + 4;
		m.ppi.type = RNDIS_PPI_8021Q;
		m.ppi.offset = sizeof(m.ppi);
		m.vlan = (uint32_t)((o.vlan_tci >> 13) & 7u) |
			 (uint32_t)((o.vlan_tci >> 12) & 1u) << 3 |
			 (uint32_t)(o.vlan_tci & 0xfffu) << 4;
		hlen += m.p.ppi_len;
	}
	m.h.type = RNDIS_MSG_PACKET;
	m.h.len = hlen + len;
	m.p.data_offset = hlen - RNDIS_HDR_SIZE;
	m.p.data_len = len;
	if (g->cfg.batch > 1 && !o.gpa_direct) {
		r = send_batched(g, &m, hlen, frame, len, o.more);
		if (r <= 0)
			return r;
	} else {
		r = msd_flush(g);
		if (r < 0)
			return r;
	}
	r = send_rndis(g, NVSP_CHANNEL_DATA, &m, hlen, frame, len, o.gpa_direct, o.page_offset);
	if (r == -EAGAIN)
		tx_stop(g);
	else if (r == 0)
		tx_sent(g, 1);
	return r;
}

/* ---- handshake ---------------------------------------------------------- */

static int send_init(struct nvsc_gsim *g)
{
	struct nvsp_msg m = {.type = NVSP_MSG_INIT};

	m.u.init.min_version = versions[g->vidx];
	m.u.init.max_version = versions[g->vidx];
	g->state = G_INIT;
	return send_msg(g, &m, TID_CTRL | 1);
}

static int first_version(struct nvsc_gsim *g)
{
	for (g->vidx = 0; g->vidx < NVERSIONS; g->vidx++)
		if (versions[g->vidx] <= g->cfg.max_version)
			return 0;
	return gfail(g, "no NVSP version to offer");
}

int nvsc_gsim_start(struct nvsc_gsim *g)
{
	if (g->state != G_IDLE)
		return -EBUSY;
	if (first_version(g) < 0)
		return -EINVAL;
	return send_init(g);
}

/* After INIT succeeded: NDIS config, NDIS version, receive buffer. */
static int after_init(struct nvsc_gsim *g)
{
	struct nvsp_msg m = {.type = NVSP_MSG2_SEND_NDIS_CONFIG};
	int r;

	if (g->version >= NVSP_VERSION_2) {
		m.u.ndis_config.mtu = g->cfg.mtu + 14u;
		m.u.ndis_config.capability = NVSP_CAP_IEEE8021Q | NVSP_CAP_TEAMING;
		if (g->version >= NVSP_VERSION_5)
			m.u.ndis_config.capability |= NVSP_CAP_SRIOV;
		r = nvsc_gsim_send_raw(g, VMBUS_PKT_DATA_INBAND, 0, TID_CTRL | 2, NULL, 0, &m,
				       NVSP_MSG_SIZE);
		if (r < 0)
			return r;
	}
	memset(&m, 0, sizeof(m));
	m.type = NVSP_MSG1_SEND_NDIS_VERSION;
	m.u.ndis_version.major = 6;
	m.u.ndis_version.minor = g->version <= NVSP_VERSION_4 ? 1 : 30;
	r = nvsc_gsim_send_raw(g, VMBUS_PKT_DATA_INBAND, 0, TID_CTRL | 3, NULL, 0, &m,
			       NVSP_MSG_SIZE);
	if (r < 0)
		return r;
	memset(&m, 0, sizeof(m));
	m.type = NVSP_MSG1_SEND_RECV_BUF;
	m.u.send_buf.gpadl = g->cfg.recv_gpadl;
	m.u.send_buf.id = 0xcafe;
	g->state = G_RECV;
	return send_msg(g, &m, TID_CTRL | 4);
}

static int init_complete(struct nvsc_gsim *g, const struct nvsp_msg *m)
{
	if (g->state != G_INIT)
		return gfail(g, "unexpected INIT_COMPLETE");
	if (m->u.init_complete.status == NVSP_STATUS_SUCCESS) {
		g->version = versions[g->vidx];
		g->st.nvsp_version = g->version;
		return after_init(g);
	}
	if (++g->vidx >= NVERSIONS || versions[g->vidx] < g->cfg.min_version)
		return gfail(g, "host accepted no NVSP version");
	return send_init(g);
}

static int recv_buf_complete(struct nvsc_gsim *g, const struct nvsp_msg *m)
{
	const struct nvsp_recv_buf_complete *c = &m->u.recv_buf_complete;
	struct nvsp_msg s = {.type = NVSP_MSG1_SEND_SEND_BUF};

	if (g->state != G_RECV)
		return gfail(g, "unexpected SEND_RECV_BUF_COMPLETE");
	if (c->status != NVSP_STATUS_SUCCESS || c->num_sections != 1 || c->section.offset != 0)
		return gfail(g, "receive buffer refused");
	if (c->section.sub_alloc_size < 68 ||
	    (uint64_t)c->section.sub_alloc_size * c->section.num_sub_allocs > g->cfg.recv_buf_size)
		return gfail(g, "receive sections do not fit the buffer");
	g->recv_sec_size = c->section.sub_alloc_size;
	g->recv_sec_count = c->section.num_sub_allocs;
	s.u.send_buf.gpadl = g->cfg.send_gpadl;
	s.u.send_buf.id = 0;
	g->state = G_SEND;
	return send_msg(g, &s, TID_CTRL | 5);
}

static int send_buf_complete(struct nvsc_gsim *g, const struct nvsp_msg *m)
{
	const struct nvsp_send_buf_complete *c = &m->u.send_buf_complete;

	if (g->state != G_SEND)
		return gfail(g, "unexpected SEND_SEND_BUF_COMPLETE");
	if (c->status != NVSP_STATUS_SUCCESS || c->section_size < 68 ||
	    c->section_size > g->cfg.send_buf_size)
		return gfail(g, "send buffer refused");
	g->send_sec_size = c->section_size;
	g->send_sec_count = g->cfg.send_buf_size / c->section_size;
	free(g->send_used);
	g->send_used = calloc(g->send_sec_count, 1);
	if (!g->send_used)
		return gfail(g, "out of memory");
	g->state = G_RNDIS;
	g->rstep = R_INIT;
	g->req_out = false;
	return 0;
}

/* Builds and sends an RNDIS QUERY/SET with info of ilen bytes. */
static int send_oid(struct nvsc_gsim *g, uint32_t type, uint32_t oid, const void *info,
		    uint32_t ilen)
{
	struct rndis_hdr h = {type,
			      (uint32_t)(RNDIS_HDR_SIZE + sizeof(struct rndis_oid_req)) + ilen};
	struct rndis_oid_req q = {.req_id = ++g->req_id, .oid = oid, .info_len = ilen};

	q.info_offset = ilen ? sizeof(q) : 0;
	memcpy(g->req, &h, sizeof(h));
	memcpy(g->req + sizeof(h), &q, sizeof(q));
	if (ilen)
		memcpy(g->req + sizeof(h) + sizeof(q), info, ilen);
	return send_rndis(g, NVSP_CHANNEL_CONTROL, g->req, h.len, NULL, 0, g->cfg.gpa_direct, 0);
}

static int send_hw_caps_query(struct nvsc_gsim *g)
{
	struct ndis_offload caps;

	memset(&caps, 0, sizeof(caps));
	caps.hdr.type = NDIS_OBJ_TYPE_OFFLOAD;
	caps.hdr.revision = g->version >= NVSP_VERSION_5 ? 3 : g->version >= NVSP_VERSION_4 ? 2 : 1;
	caps.hdr.size = g->version >= NVSP_VERSION_5   ? NDIS_OFFLOAD_SIZE
			: g->version >= NVSP_VERSION_4 ? NDIS_OFFLOAD_SIZE_6_1
						       : NDIS_OFFLOAD_SIZE_6_0;
	return send_oid(g, RNDIS_MSG_QUERY, RNDIS_OID_TCP_OFFLOAD_HW_CAPS, &caps, caps.hdr.size);
}

static int send_step(struct nvsc_gsim *g)
{
	struct {
		struct rndis_hdr h;
		struct rndis_init_req r;
	} __attribute__((packed)) init = {{RNDIS_MSG_INIT, sizeof(init)}, {0, 1, 0, 0x4000}};
	uint8_t params[32] = {NDIS_OBJ_TYPE_DEFAULT, 1, sizeof(params), 0};
	uint32_t v;

	switch (g->rstep) {
	case R_INIT:
		init.r.req_id = ++g->req_id;
		memcpy(g->req, &init, sizeof(init));
		return send_rndis(g, NVSP_CHANNEL_CONTROL, g->req, sizeof(init), NULL, 0,
				  g->cfg.gpa_direct, 0);
	case R_MAX_FRAME:
		return send_oid(g, RNDIS_MSG_QUERY, RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE, NULL, 0);
	case R_MAC:
		return send_oid(g, RNDIS_MSG_QUERY, RNDIS_OID_802_3_PERMANENT_ADDRESS, NULL, 0);
	case R_HW_CAPS:
		return send_hw_caps_query(g);
	case R_OFFLOAD_PARAMS:
		return send_oid(g, RNDIS_MSG_SET, RNDIS_OID_TCP_OFFLOAD_PARAMETERS, params,
				sizeof(params));
	case R_LINK_SPEED:
		return send_oid(g, RNDIS_MSG_QUERY, RNDIS_OID_GEN_LINK_SPEED, NULL, 0);
	case R_MEDIA:
		return send_oid(g, RNDIS_MSG_QUERY, RNDIS_OID_GEN_MEDIA_CONNECT_STATUS, NULL, 0);
	case R_RSS_CAPS:
		return send_oid(g, RNDIS_MSG_QUERY, RNDIS_OID_GEN_RECEIVE_SCALE_CAPABILITIES, NULL,
				0);
	case R_FILTER:
		v = g->filter;
		return send_oid(g, RNDIS_MSG_SET, RNDIS_OID_GEN_CURRENT_PACKET_FILTER, &v, 4);
	default:
		return 0;
	}
}

/* Sends the current handshake request when it is not out yet. */
static int advance(struct nvsc_gsim *g)
{
	int r;

	if (g->state != G_RNDIS || g->req_out)
		return 0;
	if (g->rstep == R_RSS_CAPS && g->version < NVSP_VERSION_5)
		g->rstep = R_FILTER;
	if (g->rstep == R_DONE) {
		g->state = G_READY;
		return 0;
	}
	r = send_step(g);
	if (r == -EAGAIN)
		return 0; /* retried on the next poll */
	if (r < 0)
		return r;
	g->req_out = true;
	return 0;
}

/* ---- RNDIS replies ------------------------------------------------------ */

static int query_result(struct nvsc_gsim *g, const uint8_t *msg, uint32_t len, const uint8_t **info,
			uint32_t *ilen, uint32_t *status)
{
	struct rndis_query_cmplt c;

	if (len < RNDIS_HDR_SIZE + sizeof(c))
		return gfail(g, "short QUERY completion");
	memcpy(&c, msg + RNDIS_HDR_SIZE, sizeof(c));
	*status = c.status;
	*ilen = c.info_len;
	*info = NULL;
	if (c.status != RNDIS_STATUS_SUCCESS)
		return 0;
	if (!c.info_offset || (uint64_t)c.info_offset + c.info_len > len - RNDIS_HDR_SIZE)
		return gfail(g, "QUERY completion info outside the message");
	*info = msg + RNDIS_HDR_SIZE + c.info_offset;
	return 0;
}

static int check_hw_caps(struct nvsc_gsim *g, const uint8_t *info, uint32_t ilen)
{
	struct ndis_obj_hdr h;

	if (ilen < NDIS_OFFLOAD_SIZE_6_0 || ilen > NDIS_OFFLOAD_SIZE)
		return gfail(g, "offload capabilities size");
	memcpy(&h, info, sizeof(h));
	if (h.type != NDIS_OBJ_TYPE_OFFLOAD || h.revision < 1 || h.size > ilen ||
	    h.size < NDIS_OFFLOAD_SIZE_6_0)
		return gfail(g, "offload capabilities header");
	return 0;
}

static int query_step(struct nvsc_gsim *g, const uint8_t *info, uint32_t ilen, uint32_t status)
{
	uint32_t v = 0;

	if (ilen >= 4 && info)
		memcpy(&v, info, 4);
	switch (g->rstep) {
	case R_MAX_FRAME:
		if (status == RNDIS_STATUS_SUCCESS && ilen == 4)
			g->st.host_mtu = v;
		return 0;
	case R_MAC:
		if (status != RNDIS_STATUS_SUCCESS || ilen != 6)
			return gfail(g, "no MAC address");
		memcpy(g->st.mac, info, 6);
		return 0;
	case R_HW_CAPS:
		if (status != RNDIS_STATUS_SUCCESS)
			return gfail(g, "offload capabilities query failed");
		return check_hw_caps(g, info, ilen);
	case R_LINK_SPEED:
		if (status == RNDIS_STATUS_SUCCESS && ilen == 4)
			g->st.link_speed = v;
		return 0;
	case R_MEDIA:
		if (status == RNDIS_STATUS_SUCCESS && ilen == 4)
			g->st.link_up = v == RNDIS_MEDIA_CONNECTED;
		return 0;
	case R_RSS_CAPS:
		g->st.rss_refused = status != RNDIS_STATUS_SUCCESS || ilen < 18 ||
				    (memcpy(&v, info + 12, 4), v < 2);
		return 0;
	default:
		return gfail(g, "unexpected QUERY completion");
	}
}

/* INITIALIZE's answer: how many messages a send section may batch and their
 * alignment, checked as Linux checks them. */
static int init_result(struct nvsc_gsim *g, const uint8_t *msg, uint32_t len)
{
	struct rndis_init_cmplt c;

	if (len < RNDIS_HDR_SIZE + sizeof(c))
		return gfail(g, "short INITIALIZE completion");
	memcpy(&c, msg + RNDIS_HDR_SIZE, sizeof(c));
	if (c.pkt_align_shift > 12)
		return gfail(g, "INITIALIZE completion: packet alignment");
	g->host_max_pkts = c.max_pkts_per_msg ? c.max_pkts_per_msg : 1;
	g->pkt_align = 1u << c.pkt_align_shift;
	return 0;
}

/* A completion (INIT_C/QUERY_C/SET_C) of the current handshake request. */
static int rndis_completion(struct nvsc_gsim *g, uint32_t type, const uint8_t *msg, uint32_t len)
{
	uint32_t id, status, ilen;
	const uint8_t *info;

	if (len < RNDIS_HDR_SIZE + 8)
		return gfail(g, "short RNDIS completion");
	memcpy(&id, msg + RNDIS_HDR_SIZE, 4);
	memcpy(&status, msg + RNDIS_HDR_SIZE + 4, 4);
	if (type == RNDIS_MSG_KEEPALIVE_C)
		return 0;
	if (!g->req_out || id != g->req_id)
		return gfail(g, "RNDIS completion for no request");
	if (type == RNDIS_MSG_QUERY_C) {
		if (query_result(g, msg, len, &info, &ilen, &status) < 0 ||
		    query_step(g, info, ilen, status) < 0)
			return -EPROTO;
	} else if (type == RNDIS_MSG_INIT_C && status == RNDIS_STATUS_SUCCESS) {
		if (init_result(g, msg, len) < 0)
			return -EPROTO;
	} else if (status != RNDIS_STATUS_SUCCESS) {
		return gfail(g, type == RNDIS_MSG_INIT_C ? "RNDIS INITIALIZE failed"
							 : "RNDIS SET failed");
	}
	g->req_out = false;
	if (g->state == G_READY)
		return 0; /* a later SET (packet filter) */
	g->rstep++;
	return advance(g);
}

static int rndis_msg(struct nvsc_gsim *g, const uint8_t *msg, uint32_t len)
{
	struct rndis_hdr h;
	struct rndis_packet p;
	struct rndis_indicate ind;

	if (len < RNDIS_HDR_SIZE)
		return gfail(g, "short RNDIS message");
	memcpy(&h, msg, sizeof(h));
	if (h.len < RNDIS_HDR_SIZE || h.len > len)
		return gfail(g, "RNDIS length");
	switch (h.type) {
	case RNDIS_MSG_PACKET:
		if (h.len < RNDIS_HDR_SIZE + sizeof(p))
			return gfail(g, "short RNDIS packet");
		memcpy(&p, msg + RNDIS_HDR_SIZE, sizeof(p));
		if ((uint64_t)p.data_offset + p.data_len > h.len - RNDIS_HDR_SIZE)
			return gfail(g, "RNDIS packet data outside the message");
		g->st.rx_frames++;
		g->st.rx_bytes += p.data_len;
		if (g->cfg.rx)
			g->cfg.rx(g->cfg.rx_arg, msg + RNDIS_HDR_SIZE + p.data_offset, p.data_len);
		return 0;
	case RNDIS_MSG_INDICATE:
		if (h.len < RNDIS_HDR_SIZE + sizeof(ind))
			return gfail(g, "short status indication");
		memcpy(&ind, msg + RNDIS_HDR_SIZE, sizeof(ind));
		g->st.rx_ctrl_msgs++;
		g->st.link_changes++;
		if (ind.status == RNDIS_STATUS_MEDIA_CONNECT)
			g->st.link_up = true;
		else if (ind.status == RNDIS_STATUS_MEDIA_DISCONNECT)
			g->st.link_up = false;
		return 0;
	case RNDIS_MSG_INIT_C:
	case RNDIS_MSG_QUERY_C:
	case RNDIS_MSG_SET_C:
	case RNDIS_MSG_KEEPALIVE_C:
		g->st.rx_ctrl_msgs++;
		return rndis_completion(g, h.type, msg, h.len);
	default:
		return gfail(g, "unexpected RNDIS message from the host");
	}
}

/* ---- host -> guest packets ---------------------------------------------- */

static int complete_rx(struct nvsc_gsim *g, uint64_t tid)
{
	struct nvsp_msg m = {.type = NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE};

	m.u.rndis_pkt_complete.status = NVSP_STATUS_SUCCESS;
	return nvsc_gsim_send_raw(g, VMBUS_PKT_COMP, 0, tid, NULL, 0, &m, NVSP_MSG_SIZE);
}

static int flush_pending(struct nvsc_gsim *g)
{
	uint32_t done = 0;
	int r = 0;

	while (done < g->npending) {
		r = complete_rx(g, g->pending[done]);
		if (r < 0)
			break;
		done++;
	}
	memmove(g->pending, g->pending + done, (g->npending - done) * sizeof(g->pending[0]));
	g->npending -= done;
	g->st.pending_completions = g->npending;
	return r == -EAGAIN ? 0 : r;
}

static int xfer_pkt(struct nvsc_gsim *g, const struct vmbus_pkt *pkt)
{
	uint32_t off = pkt->len - pkt->data_len;
	struct nvsp_xfer_hdr xh;
	struct nvsp_msg m;
	uint8_t *rb = g->t.mem + g->off_recv;

	if (off < VMBUS_PKT_DESC_SIZE + sizeof(xh) || pkt->data_len < 12)
		return gfail(g, "short transfer-page packet");
	memcpy(&xh, pkt->desc + VMBUS_PKT_DESC_SIZE, sizeof(xh));
	memcpy(&m, pkt->data, 12);
	if (xh.pageset_id != 0xcafe || m.type != NVSP_MSG1_SEND_RNDIS_PKT || xh.range_count == 0 ||
	    xh.range_count > (off - VMBUS_PKT_DESC_SIZE - sizeof(xh)) / 8u)
		return gfail(g, "bad transfer-page packet");
	g->st.rx_xfer_packets++;
	for (uint32_t i = 0; i < xh.range_count; i++) {
		struct nvsp_xfer_range r;

		memcpy(&r, pkt->desc + VMBUS_PKT_DESC_SIZE + sizeof(xh) + 8u * i, sizeof(r));
		if ((uint64_t)r.byte_offset + r.byte_count > g->cfg.recv_buf_size)
			return gfail(g, "transfer range outside the receive buffer");
		if (r.byte_count > g->recv_sec_size)
			return gfail(g, "transfer range larger than a section");
		if (rndis_msg(g, rb + r.byte_offset, r.byte_count) < 0)
			return -EPROTO;
	}
	if (complete_rx(g, pkt->trans_id) == -EAGAIN) {
		g->pending[g->npending++] = pkt->trans_id;
		g->st.pending_completions = g->npending;
	}
	return g->state == G_FAILED ? -EPROTO : 0;
}

static int host_completion(struct nvsc_gsim *g, const struct vmbus_pkt *pkt)
{
	struct nvsp_msg m;
	uint64_t kind = TID_KIND(pkt->trans_id);
	uint32_t idx = (uint32_t)(pkt->trans_id & 0x0fffffffu);

	memset(&m, 0, sizeof(m));
	memcpy(&m, pkt->data, pkt->data_len < sizeof(m) ? pkt->data_len : sizeof(m));
	switch (m.type) {
	case NVSP_MSG_INIT_COMPLETE:
		return init_complete(g, &m);
	case NVSP_MSG1_SEND_RECV_BUF_COMPLETE:
		return recv_buf_complete(g, &m);
	case NVSP_MSG1_SEND_SEND_BUF_COMPLETE:
		return send_buf_complete(g, &m);
	case NVSP_MSG5_SUBCHANNEL:
		return 0;
	case NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE:
		g->st.tx_completions++;
		if (kind == TID_SEC)
			section_put(g, idx);
		else if (kind == TID_GPA && idx < GPA_SLOTS)
			g->gpa_used[idx] = false;
		else if (kind == TID_PART && (idx & 0xffu) < GPA_SLOTS) {
			section_put(g, idx >> 8);
			g->gpa_used[idx & 0xffu] = false;
		}
		if (kind == TID_SEC || kind == TID_GPA || kind == TID_PART)
			tx_completed(g);
		return 0;
	default:
		return gfail(g, "unexpected completion from the host");
	}
}

int nvsc_gsim_poll(struct nvsc_gsim *g, unsigned int max)
{
	unsigned int n = 0;
	bool sig = false;
	int r;

	if (g->state == G_FAILED)
		return -EPROTO;
	if (flush_pending(g) < 0 || advance(g) < 0)
		return -EPROTO;
	while (n < max && g->npending < PENDING_MAX) {
		struct vmbus_pkt pkt;

		r = vmbus_ring_peek(g->in, &pkt, g->bounce, sizeof(g->bounce));
		if (r == -EAGAIN)
			break;
		if (r < 0)
			return gfail(g, "host->guest ring corrupt");
		if (pkt.type == VMBUS_PKT_COMP)
			r = host_completion(g, &pkt);
		else if (pkt.type == VMBUS_PKT_DATA_XFER_PAGES)
			r = xfer_pkt(g, &pkt);
		else
			r = gfail(g, "unexpected packet type from the host");
		if (r < 0)
			return -EPROTO;
		vmbus_ring_consume(g->in, &pkt);
		n++;
	}
	if (vmbus_ring_read_commit(g->in, &sig) < 0)
		return gfail(g, "host->guest ring corrupt");
	if (sig) {
		g->st.signals++;
		g->t.signal_host(g->t.ctx);
	}
	if (advance(g) < 0)
		return -EPROTO;
	if (g->msd_retry && !g->tx_stopped && msd_flush(g) == -EPROTO)
		return -EPROTO;
	return (int)n;
}

int nvsc_gsim_set_filter(struct nvsc_gsim *g, uint32_t filter)
{
	int r;

	if (g->state != G_READY)
		return -ENOTCONN;
	if (g->req_out)
		return -EBUSY;
	g->filter = filter;
	g->rstep = R_FILTER;
	r = send_step(g);
	if (r == 0)
		g->req_out = true;
	return r;
}

/* ---- lifecycle ---------------------------------------------------------- */

static int report_gpadl(struct nvsc_gsim *g, uint32_t id, uint64_t off, uint64_t len)
{
	uint32_t n = (uint32_t)(len / PAGE);
	uint64_t *pfns = malloc(n * sizeof(*pfns));
	int r;

	if (!pfns)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		pfns[i] = gpa_of(g, off) / PAGE + i;
	r = g->t.create_gpadl(g->t.ctx, id, pfns, n);
	free(pfns);
	return r;
}

static int layout(struct nvsc_gsim *g)
{
	const struct nvsc_gsim_config *c = &g->cfg;
	int r;

	g->off_ring = 0;
	g->off_recv = 2ull * c->ring_size;
	g->off_send = g->off_recv + c->recv_buf_size;
	g->off_gpa = g->off_send + c->send_buf_size;
	g->off_scratch = g->off_gpa + (uint64_t)GPA_SLOTS * GPA_SLOT_SIZE;
	memset(g->t.mem, 0, nvsc_gsim_mem_needed(c));
	g->out = vmbus_ring_attach(g->t.mem, c->ring_size, VMBUS_RING_INIT | VMBUS_RING_SET_FEAT);
	g->in = vmbus_ring_attach(g->t.mem + c->ring_size, c->ring_size, VMBUS_RING_INIT);
	if (!g->out || !g->in)
		return -errno;
	r = report_gpadl(g, c->ring_gpadl, g->off_ring, 2ull * c->ring_size);
	if (!r)
		r = report_gpadl(g, c->recv_gpadl, g->off_recv, c->recv_buf_size);
	if (!r)
		r = report_gpadl(g, c->send_gpadl, g->off_send, c->send_buf_size);
	return r;
}

struct nvsc_gsim *nvsc_gsim_create(const struct nvsc_gsim_transport *t,
				   const struct nvsc_gsim_config *cfg)
{
	struct nvsc_gsim_config c = cfg ? *cfg : (struct nvsc_gsim_config){0};
	struct nvsc_gsim *g;
	int r;

	cfg_defaults(&c);
	if (!t || !t->mem || !t->create_gpadl || !t->signal_host || t->gpa_base % PAGE ||
	    c.ring_size % PAGE || c.ring_size < 2 * PAGE || c.recv_buf_size % PAGE ||
	    c.send_buf_size % PAGE || c.mtu < 68 || c.mtu > 9000 || c.batch > 64 ||
	    t->mem_size < nvsc_gsim_mem_needed(&c)) {
		errno = EINVAL;
		return NULL;
	}
	g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->t = *t;
	g->cfg = c;
	g->filter = RNDIS_FILTER_DIRECTED | RNDIS_FILTER_ALL_MULTICAST | RNDIS_FILTER_BROADCAST;
	g->msd_idx = -1;
	g->host_max_pkts = 1;
	g->pkt_align = 8;
	r = layout(g);
	if (r < 0) {
		nvsc_gsim_free(g);
		errno = -r;
		return NULL;
	}
	return g;
}

void nvsc_gsim_free(struct nvsc_gsim *g)
{
	if (!g)
		return;
	vmbus_ring_free(g->out);
	vmbus_ring_free(g->in);
	free(g->send_used);
	free(g);
}

void *nvsc_gsim_ring(struct nvsc_gsim *g, bool to_host, size_t *size)
{
	*size = g->cfg.ring_size;
	return g->t.mem + g->off_ring + (to_host ? 0 : g->cfg.ring_size);
}

uint32_t nvsc_gsim_ring_gpadl(const struct nvsc_gsim *g)
{
	return g->cfg.ring_gpadl;
}

bool nvsc_gsim_ready(const struct nvsc_gsim *g)
{
	return g->state == G_READY;
}

const char *nvsc_gsim_error(const struct nvsc_gsim *g)
{
	return g->error;
}

void nvsc_gsim_mask(struct nvsc_gsim *g)
{
	vmbus_ring_mask(g->in);
}

int64_t nvsc_gsim_unmask(struct nvsc_gsim *g)
{
	return vmbus_ring_unmask(g->in);
}

void nvsc_gsim_get_stats(const struct nvsc_gsim *g, struct nvsc_gsim_stats *st)
{
	*st = g->st;
	st->recv_sections = g->recv_sec_count;
	st->recv_section_size = g->recv_sec_size;
	st->send_sections = g->send_sec_count;
	st->send_section_size = g->send_sec_size;
	st->send_sections_in_use = g->send_in_use;
	st->tx_in_flight = g->queue_sends;
}
