/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Synthetic NIC ports: see port_synth.h. Guest memory mapping, the
 * channel's attach/detach under the NIC's spinlock, and the port kind whose
 * rx/tx functions run NetVSP on the datapath lcore.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_spinlock.h>

#include "ctl_parse.h"
#include "log.h"
#include "netvsp.h"
#include "port_provider.h"
#include "port_synth.h"
#include "ring.h"
#include "vmbus_user.h"

#define PAGE_SIZE	  4096u
#define SYNTH_MAX_GPADLS  16
#define SYNTH_MAX_VPS	  256
#define SIEF_SINT_OFFSET  (2u * 256u) /* SINT 2's 2048 flag bits in the SIEF page */
#define SYNTH_STATE_MAX	  NVSP_SAVE_MAX
#define SYNTH_JUMBO	  9216u

struct gmem_region {
	uint64_t gpa, size, offset;
	int fd;
	uint8_t *hva;
};

struct vsw_gmem {
	unsigned int n;
	struct gmem_region r[VSW_GMEM_MAX_REGIONS];
};

struct synth_gpadl {
	uint32_t id, npages;
	void *va;
	bool live;	/* false: deleted by the guest, unmapped at close */
};

struct vsw_synth {
	rte_spinlock_t lock;	/* guards everything below against the datapath */
	char name[64];
	struct vsw_gmem *gm;
	uint8_t mac[6];
	uint32_t mtu;
	struct nvsp *nv;	/* NULL while closed */
	bool link_up;
	/* channel */
	struct vmbus_ring *in, *out;
	void *ring_va;
	uint32_t ring_pages, relid, target_vp;
	int doorbell_fd, irq_fd;
	uint64_t sief_gpa[SYNTH_MAX_VPS];
	struct synth_gpadl gpadls[SYNTH_MAX_GPADLS];
	/* datapath -> control thread */
	bool failed, failure_reported;
	/* reconnect */
	uint8_t restore[SYNTH_STATE_MAX];
	size_t restore_len;
	uint64_t last_state_gen;
	/* port */
	struct rte_mempool *pool;
	uint64_t rx_nombuf;
	uint64_t rx_drop_down;	/* guest frames dropped while the port was down */
	uint8_t bounce[SYNTH_JUMBO];
};

/* ---- guest memory ---- */

struct vsw_gmem *vsw_gmem_new(void)
{
	return calloc(1, sizeof(struct vsw_gmem));
}

int vsw_gmem_add(struct vsw_gmem *gm, int fd, uint64_t gpa, uint64_t size, uint64_t offset)
{
	struct gmem_region *r;
	struct stat st;
	int seals;
	void *va;

	if (gm->n >= VSW_GMEM_MAX_REGIONS || !size || size % PAGE_SIZE || gpa % PAGE_SIZE ||
	    offset % PAGE_SIZE || gpa + size < gpa) {
		close(fd);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < gm->n; i++) {
		if (gpa < gm->r[i].gpa + gm->r[i].size && gm->r[i].gpa < gpa + size) {
			close(fd);
			return -EEXIST;
		}
	}
	/* a mapping past the end of the file would fault (SIGBUS) on first touch; so would one
	 * whose file the VM side shrinks later: the memfd must be sealed against that */
	if (fstat(fd, &st) < 0 || offset > (uint64_t)st.st_size ||
	    size > (uint64_t)st.st_size - offset) {
		close(fd);
		return -ERANGE;
	}
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || !(seals & F_SEAL_SHRINK)) {
		close(fd);
		return -EPERM;
	}
	va = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)offset);
	if (va == MAP_FAILED) {
		int e = errno;

		close(fd);
		return -e;
	}
	r = &gm->r[gm->n++];
	*r = (struct gmem_region){.gpa = gpa, .size = size, .offset = offset, .fd = fd, .hva = va};
	return 0;
}

static const struct gmem_region *gmem_region(const struct vsw_gmem *gm, uint64_t gpa,
					     uint64_t len)
{
	for (unsigned int i = 0; i < gm->n; i++) {
		const struct gmem_region *r = &gm->r[i];

		if (gpa >= r->gpa && len <= r->size && gpa - r->gpa <= r->size - len)
			return r;
	}
	return NULL;
}

void *vsw_gmem_ptr(const struct vsw_gmem *gm, uint64_t gpa, uint64_t len)
{
	const struct gmem_region *r = gmem_region(gm, gpa, len);

	return r ? r->hva + (gpa - r->gpa) : NULL;
}

void *vsw_gmem_map_pages(const struct vsw_gmem *gm, const uint64_t *pfns, uint32_t n)
{
	uint8_t *base;
	uint32_t i = 0;

	if (!n || n > (1u << 20)) {
		errno = EINVAL;
		return NULL;
	}
	base = mmap(NULL, (size_t)n * PAGE_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return NULL;
	while (i < n) {
		const struct gmem_region *r;
		uint32_t run = 1;

		if (pfns[i] > UINT64_MAX / PAGE_SIZE ||
		    !(r = gmem_region(gm, pfns[i] * PAGE_SIZE, PAGE_SIZE)))
			goto fail;
		/* Coalesce pages that follow each other in the same region. */
		while (i + run < n && pfns[i + run] == pfns[i] + run &&
		       (pfns[i] + run + 1) * PAGE_SIZE <= r->gpa + r->size)
			run++;
		if (mmap(base + (size_t)i * PAGE_SIZE, (size_t)run * PAGE_SIZE,
			 PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, r->fd,
			 (off_t)(r->offset + pfns[i] * PAGE_SIZE - r->gpa)) == MAP_FAILED)
			goto fail;
		i += run;
	}
	return base;
fail:
	munmap(base, (size_t)n * PAGE_SIZE);
	errno = EINVAL;
	return NULL;
}

void vsw_gmem_unmap(void *va, uint32_t n)
{
	if (va)
		munmap(va, (size_t)n * PAGE_SIZE);
}

void vsw_gmem_free(struct vsw_gmem *gm)
{
	if (!gm)
		return;
	for (unsigned int i = 0; i < gm->n; i++) {
		munmap(gm->r[i].hva, gm->r[i].size);
		close(gm->r[i].fd);
	}
	free(gm);
}

/* ---- NetVSP callbacks (datapath lcore, NIC lock held) ---- */

static void *cb_gpa_to_hva(void *ctx, uint64_t gpa, uint64_t len)
{
	struct vsw_synth *s = ctx;

	return vsw_gmem_ptr(s->gm, gpa, len);
}

static void *cb_map_gpadl(void *ctx, uint32_t gpadl, size_t *len)
{
	struct vsw_synth *s = ctx;

	for (unsigned int i = 0; i < SYNTH_MAX_GPADLS; i++) {
		struct synth_gpadl *g = &s->gpadls[i];

		if (g->va && g->live && g->id == gpadl) {
			*len = (size_t)g->npages * PAGE_SIZE;
			return g->va;
		}
	}
	/* The control thread may not have read the GPADL message yet. */
	errno = EAGAIN;
	return NULL;
}

static void cb_signal_guest(void *ctx)
{
	struct vsw_synth *s = ctx;
	uint64_t one = 1, gpa = s->target_vp < SYNTH_MAX_VPS ? s->sief_gpa[s->target_vp] : 0;
	uint32_t *flags;

	if (!gpa)
		return;
	flags = vsw_gmem_ptr(s->gm, gpa + SIEF_SINT_OFFSET, 256);
	if (!flags)
		return;
	__atomic_fetch_or(&flags[s->relid / 32], 1u << (s->relid % 32), __ATOMIC_SEQ_CST);
	if (write(s->irq_fd, &one, sizeof(one)) < 0)
		return; /* an eventfd write fails only on overflow: the guest is signalled anyway */
}

static void cb_log(void *ctx, int level, const char *line)
{
	struct vsw_synth *s = ctx;

	vsw_log(level <= 3 ? VSW_LOG_ERR : level <= 4 ? VSW_LOG_WARN : VSW_LOG_INFO, "%s: %s",
		s->name, line);
}

/* ---- NIC ---- */

struct vsw_synth *vsw_synth_new(struct vsw_gmem *gm, const char *name, const uint8_t mac[6],
				uint32_t mtu)
{
	struct vsw_synth *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	rte_spinlock_init(&s->lock);
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->gm = gm;
	memcpy(s->mac, mac, 6);
	s->mtu = mtu ? mtu : 1500;
	s->doorbell_fd = s->irq_fd = -1;
	s->link_up = true;
	return s;
}

/* Unmaps what the closed channel used. Lock held or datapath gone. */
static void synth_release(struct vsw_synth *s)
{
	if (s->nv)
		nvsp_detach(s->nv);
	vmbus_ring_free(s->in);
	vmbus_ring_free(s->out);
	s->in = s->out = NULL;
	vsw_gmem_unmap(s->ring_va, s->ring_pages);
	s->ring_va = NULL;
	if (s->doorbell_fd >= 0)
		close(s->doorbell_fd);
	if (s->irq_fd >= 0)
		close(s->irq_fd);
	s->doorbell_fd = s->irq_fd = -1;
	for (unsigned int i = 0; i < SYNTH_MAX_GPADLS; i++) {
		struct synth_gpadl *g = &s->gpadls[i];

		if (g->va && !g->live) {
			vsw_gmem_unmap(g->va, g->npages);
			*g = (struct synth_gpadl){0};
		}
	}
}

void vsw_synth_free(struct vsw_synth *s)
{
	if (!s)
		return;
	synth_release(s);
	nvsp_free(s->nv);
	for (unsigned int i = 0; i < SYNTH_MAX_GPADLS; i++)
		vsw_gmem_unmap(s->gpadls[i].va, s->gpadls[i].npages);
	free(s);
}

int vsw_synth_add_gpadl(struct vsw_synth *s, uint32_t gpadl, const uint64_t *pfns, uint32_t n)
{
	struct synth_gpadl *slot = NULL;
	void *va;

	for (unsigned int i = 0; i < SYNTH_MAX_GPADLS; i++) {
		if (s->gpadls[i].va && s->gpadls[i].live && s->gpadls[i].id == gpadl)
			return -EEXIST;
		if (!s->gpadls[i].va && !slot)
			slot = &s->gpadls[i];
	}
	if (!slot)
		return -ENOSPC;
	va = vsw_gmem_map_pages(s->gm, pfns, n);
	if (!va)
		return -EINVAL;
	rte_spinlock_lock(&s->lock);
	*slot = (struct synth_gpadl){.id = gpadl, .npages = n, .va = va, .live = true};
	rte_spinlock_unlock(&s->lock);
	return 0;
}

void vsw_synth_del_gpadl(struct vsw_synth *s, uint32_t gpadl)
{
	rte_spinlock_lock(&s->lock);
	for (unsigned int i = 0; i < SYNTH_MAX_GPADLS; i++) {
		struct synth_gpadl *g = &s->gpadls[i];

		if (!g->va || !g->live || g->id != gpadl)
			continue;
		if (s->in) {
			g->live = false; /* NetVSP may still point into it: unmap at close */
		} else {
			vsw_gmem_unmap(g->va, g->npages);
			*g = (struct synth_gpadl){0};
		}
	}
	rte_spinlock_unlock(&s->lock);
}

static struct nvsp *synth_new_nvsp(struct vsw_synth *s, uint32_t vmbus_version)
{
	struct nvsp_config cfg = {
		.mtu = s->mtu,
		.vmbus_version = vmbus_version,
		.ctx = s,
		.gpa_to_hva = cb_gpa_to_hva,
		.map_gpadl = cb_map_gpadl,
		.signal_guest = cb_signal_guest,
		.log = cb_log,
	};
	struct nvsp *nv;

	memcpy(cfg.mac, s->mac, 6);
	nv = nvsp_create(&cfg);
	if (nv && s->restore_len && nvsp_restore(nv, s->restore, s->restore_len) < 0) {
		vsw_log(VSW_LOG_WARN, "%s: saved NetVSP state refused; the guest driver must "
				      "reinitialize", s->name);
	}
	/* the state belongs to the channel it was saved from: a later open is a new driver */
	s->restore_len = 0;
	return nv;
}

int vsw_synth_open(struct vsw_synth *s, const struct vmbus_user_channel_open *o, int doorbell_fd,
		   int irq_fd)
{
	struct vmbus_ring *in = NULL, *out = NULL;
	struct nvsp *nv = NULL;
	void *va;
	int rc;

	if (o->out_offset < 2 || o->npfns < o->out_offset + 2 || o->target_vp >= SYNTH_MAX_VPS ||
	    o->relid > VMBUS_USER_MAX_RELID) { /* cb_signal_guest sets bit relid of 2048 */
		rc = -EINVAL;
		goto close_fds;
	}
	va = vsw_gmem_map_pages(s->gm, o->pfns, o->npfns);
	if (!va) {
		rc = -EINVAL;
		goto close_fds;
	}
	in = vmbus_ring_attach(va, (size_t)o->out_offset * PAGE_SIZE, 0);
	out = vmbus_ring_attach((uint8_t *)va + (size_t)o->out_offset * PAGE_SIZE,
				(size_t)(o->npfns - o->out_offset) * PAGE_SIZE, VMBUS_RING_SET_FEAT);
	nv = synth_new_nvsp(s, o->vmbus_version);
	if (!in || !out || !nv) {
		rc = !in || !out ? -EPROTO : -ENOMEM;
		goto unmap;
	}
	vsw_synth_close(s);
	rte_spinlock_lock(&s->lock);
	nvsp_free(s->nv);
	s->nv = nv;
	s->in = in;
	s->out = out;
	s->ring_va = va;
	s->ring_pages = o->npfns;
	s->relid = o->relid;
	s->target_vp = o->target_vp;
	s->sief_gpa[o->target_vp] = o->sief_gpa;
	s->doorbell_fd = doorbell_fd;
	s->irq_fd = irq_fd;
	s->failed = s->failure_reported = false;
	s->last_state_gen = 0;
	rc = nvsp_attach(nv, in, out);
	if (rc == 0) {
		nvsp_mask(nv); /* the datapath polls: the guest need not signal */
		nvsp_set_link(nv, s->link_up);
	}
	rte_spinlock_unlock(&s->lock);
	if (rc < 0)
		vsw_synth_close(s);
	return rc;
unmap:
	vmbus_ring_free(in);
	vmbus_ring_free(out);
	nvsp_free(nv);
	vsw_gmem_unmap(va, o->npfns);
close_fds:
	close(doorbell_fd);
	close(irq_fd);
	return rc;
}

void vsw_synth_close(struct vsw_synth *s)
{
	rte_spinlock_lock(&s->lock);
	synth_release(s);
	rte_spinlock_unlock(&s->lock);
}

void vsw_synth_set_sief(struct vsw_synth *s, uint32_t vp, uint64_t gpa)
{
	if (vp >= SYNTH_MAX_VPS)
		return;
	rte_spinlock_lock(&s->lock);
	s->sief_gpa[vp] = gpa;
	rte_spinlock_unlock(&s->lock);
}

int vsw_synth_set_restore(struct vsw_synth *s, const void *buf, size_t len)
{
	if (len > sizeof(s->restore))
		return -EMSGSIZE;
	memcpy(s->restore, buf, len);
	s->restore_len = len;
	return 0;
}

int vsw_synth_take_state(struct vsw_synth *s, void *buf, size_t len)
{
	int n = 0;

	rte_spinlock_lock(&s->lock);
	if (s->nv && s->in && !s->failed && nvsp_state_gen(s->nv) != s->last_state_gen) {
		s->last_state_gen = nvsp_state_gen(s->nv);
		n = nvsp_save(s->nv, buf, len);
	}
	rte_spinlock_unlock(&s->lock);
	return n;
}

bool vsw_synth_take_failure(struct vsw_synth *s, char *why, size_t len)
{
	bool report;

	rte_spinlock_lock(&s->lock);
	report = s->failed && !s->failure_reported;
	s->failure_reported |= report;
	rte_spinlock_unlock(&s->lock);
	if (report)
		snprintf(why, len, "guest broke the NetVSP protocol (see vswitchd log and port stats)");
	return report;
}

bool vsw_synth_open_p(const struct vsw_synth *s)
{
	return s->in != NULL;
}

uint32_t vsw_synth_relid(const struct vsw_synth *s)
{
	return s->relid;
}

const uint8_t *vsw_synth_mac(const struct vsw_synth *s)
{
	return s->mac;
}

void vsw_synth_describe(struct vsw_synth *s, json_t *obj)
{
	struct nvsp_stats st;
	json_t *c;
	char mac[18];

	ctl_format_mac(s->mac, mac);
	json_object_set_new(obj, "mac", json_string(mac));
	json_object_set_new(obj, "mtu", json_integer(s->mtu));
	json_object_set_new(obj, "channel", json_string(s->in ? "open" : "closed"));
	rte_spinlock_lock(&s->lock);
	if (!s->nv) {
		rte_spinlock_unlock(&s->lock);
		return;
	}
	nvsp_get_stats(s->nv, &st);
	rte_spinlock_unlock(&s->lock);
	json_object_set_new(obj, "netvsp_state", json_string(st.state));
	if (st.fail_reason)
		json_object_set_new(obj, "netvsp_failure", json_string(st.fail_reason));
	json_object_set_new(obj, "nvsp_version", json_integer(st.nvsp_version));
	json_object_set_new(obj, "ndis_version", json_integer(st.ndis_version));
	json_object_set_new(obj, "packet_filter", json_integer(st.packet_filter));
	json_object_set_new(obj, "recv_sections", json_integer(st.recv_sections));
	json_object_set_new(obj, "recv_section_size", json_integer(st.recv_section_size));
	json_object_set_new(obj, "send_sections", json_integer(st.send_sections));
	json_object_set_new(obj, "link", json_string(st.link_up ? "up" : "down"));
	c = json_object();
	for (unsigned int i = 0; i < NVSP_CNT__COUNT; i++) {
		if (st.counters[i])
			json_object_set_new(c, nvsp_counter_name(i), json_integer((json_int_t)st.counters[i]));
	}
	json_object_set_new(c, "rx_nombuf", json_integer((json_int_t)s->rx_nombuf));
	json_object_set_new(c, "rx_drop_port_down", json_integer((json_int_t)s->rx_drop_down));
	json_object_set_new(obj, "netvsp", c);
}

/* ---- port kind ---- */

struct synth_rx {
	struct vsw_synth *s;
	struct rte_mbuf **pkts;
	uint16_t n, cap; /* frames in pkts, its capacity */
};

/* Copies a guest frame into a (chained) mbuf. */
static struct rte_mbuf *frame_to_mbuf(struct rte_mempool *pool, const struct iovec *iov,
				      unsigned int iovcnt, uint32_t len)
{
	struct rte_mbuf *head = rte_pktmbuf_alloc(pool), *seg = head;
	unsigned int v = 0;
	size_t voff = 0;

	if (!head)
		return NULL;
	while (len) {
		uint16_t room = (uint16_t)(rte_pktmbuf_tailroom(seg));
		uint32_t chunk;

		if (!room) {
			struct rte_mbuf *next = rte_pktmbuf_alloc(pool);

			if (!next || rte_pktmbuf_chain(head, next) < 0) {
				rte_pktmbuf_free(next);
				rte_pktmbuf_free(head);
				return NULL;
			}
			seg = next;
			continue;
		}
		while (v < iovcnt && voff == iov[v].iov_len) {
			v++;
			voff = 0;
		}
		if (v == iovcnt)
			break;
		chunk = RTE_MIN(RTE_MIN((uint32_t)room, len), (uint32_t)(iov[v].iov_len - voff));
		memcpy(rte_pktmbuf_mtod_offset(seg, uint8_t *, seg->data_len),
		       (const uint8_t *)iov[v].iov_base + voff, chunk);
		seg->data_len = (uint16_t)(seg->data_len + chunk);
		if (seg != head)
			head->pkt_len += chunk;
		else
			head->pkt_len = seg->data_len;
		voff += chunk;
		len -= chunk;
	}
	return head;
}

static int sink_frame(void *arg, const struct iovec *iov, unsigned int iovcnt, uint32_t len,
		      const struct nvsp_frame_info *info)
{
	struct synth_rx *rx = arg;
	struct rte_mbuf *m;

	if (rx->n >= rx->cap) /* nvsp_poll() hands at most cap frames: never taken */
		return -ENOBUFS;
	m = frame_to_mbuf(rx->s->pool, iov, iovcnt, len);
	if (!m) {
		rx->s->rx_nombuf++;
		return -ENOBUFS;
	}
	if (info && info->has_vlan) {
		m->vlan_tci = info->vlan_tci;
		if (rte_vlan_insert(&m) < 0) {
			rte_pktmbuf_free(m);
			return -ENOBUFS;
		}
	}
	rx->pkts[rx->n++] = m;
	return 0;
}

static int sink_drop(void *arg, const struct iovec *iov, unsigned int iovcnt, uint32_t len,
		     const struct nvsp_frame_info *info)
{
	struct vsw_synth *s = arg;

	(void)iov, (void)iovcnt, (void)len, (void)info;
	s->rx_drop_down++;
	return 0;
}

void vsw_synth_service(struct vsw_synth *s)
{
	struct nvsp_sink sink = {.arg = s, .frame = sink_drop};

	if (s->link_up || !rte_spinlock_trylock(&s->lock))
		return;
	if (!s->link_up && s->in && !s->failed && nvsp_poll(s->nv, &sink, 256) == -EPROTO)
		s->failed = true;
	rte_spinlock_unlock(&s->lock);
}

static uint16_t synth_rx(void *ctx, struct rte_mbuf **pkts, uint16_t n)
{
	struct vsw_synth *s = ctx;
	struct synth_rx rx = {.s = s, .pkts = pkts, .cap = n};
	struct nvsp_sink sink = {.arg = &rx, .frame = sink_frame};

	if (!rte_spinlock_trylock(&s->lock))
		return 0;
	if (s->in && !s->failed && nvsp_poll(s->nv, &sink, n) == -EPROTO)
		s->failed = true;
	rte_spinlock_unlock(&s->lock);
	return rx.n;
}

/* Delivers a multi-segment frame through the bounce buffer. */
static bool deliver_chained(struct vsw_synth *s, struct rte_mbuf *m)
{
	struct nvsp_frame f = {.data = s->bounce, .len = m->pkt_len};

	if (m->pkt_len > sizeof(s->bounce))
		return false;
	rte_pktmbuf_read(m, 0, m->pkt_len, s->bounce);
	return nvsp_deliver(s->nv, &f, 1) == 1;
}

static uint16_t synth_tx(void *ctx, uint16_t txq, struct rte_mbuf **pkts, uint16_t n)
{
	struct vsw_synth *s = ctx;
	struct nvsp_frame f[64];
	uint16_t done = 0;
	uint32_t max_len = s->mtu + RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN;

	(void)txq;
	/* frames longer than the NIC's MTU go to the tail: the caller drops and counts them rather
	 * than the port counting them as sent */
	for (uint16_t i = 0, end = n; i < end;) {
		if (pkts[i]->pkt_len > max_len) {
			struct rte_mbuf *big = pkts[i];

			memmove(&pkts[i], &pkts[i + 1], (size_t)(n - i - 1) * sizeof(*pkts));
			pkts[n - 1] = big;
			end--;
		} else {
			i++;
		}
	}
	rte_spinlock_lock(&s->lock);
	while (s->in && !s->failed && done < n && pkts[done]->pkt_len <= max_len) {
		unsigned int k = 0, ok;

		while (done + k < n && k < RTE_DIM(f) && pkts[done + k]->pkt_len <= max_len && rte_pktmbuf_is_contiguous(pkts[done + k])) {
			f[k].data = rte_pktmbuf_mtod(pkts[done + k], const void *);
			f[k].len = pkts[done + k]->pkt_len;
			k++;
		}
		if (k == 0) {
			if (!deliver_chained(s, pkts[done]))
				break;
			done++;
			continue;
		}
		ok = nvsp_deliver(s->nv, f, k);
		done = (uint16_t)(done + ok);
		if (ok < k)
			break;
	}
	rte_spinlock_unlock(&s->lock);
	rte_pktmbuf_free_bulk(pkts, done);
	return done;
}

/* The datapath goes to sleep (arm) or wakes (disarm): the guest rings the doorbell only while
 * the ring's interrupt is unmasked. */
static int synth_idle(void *ctx, bool arm)
{
	struct vsw_synth *s = ctx;
	int rc = -ENOTCONN;

	if (!rte_spinlock_trylock(&s->lock))
		return -EAGAIN;
	if (s->in && !s->failed) {
		if (!arm) {
			nvsp_mask(s->nv);
			rc = 0;
		} else {
			uint64_t v;

			/* drain the doorbell: the datapath never reads it after the sleep, when the
			 * channel may be gone */
			if (read(s->doorbell_fd, &v, sizeof(v)) < 0)
				v = 0;
			rc = nvsp_unmask(s->nv) > 0 || nvsp_wants_poll(s->nv) ? -EAGAIN : s->doorbell_fd;
		}
	}
	rte_spinlock_unlock(&s->lock);
	return rc;
}

static int synth_open(const struct vsw_port_params *p, void **priv, struct vsw_port_io *io,
		      struct ctl_err *err)
{
	struct vsw_synth *s = p->synth;

	if (!s)
		return ctl_err_set(err, EINVAL,
				   "port: synthetic ports are created by VMs (vm create, or vmm "
				   "--vswitchd), not by port add");
	s->pool = p->pool;
	*priv = s;
	*io = (struct vsw_port_io){.rx = synth_rx, .tx = synth_tx, .ctx = s, .idle = synth_idle};
	return 0;
}

/* The NIC belongs to its VM's connection, which frees it after the port is gone. */
static void synth_close(void *priv)
{
	(void)priv;
}

static void synth_set_admin(void *priv, bool up)
{
	struct vsw_synth *s = priv;

	rte_spinlock_lock(&s->lock);
	s->link_up = up;
	if (s->in && !s->failed)
		nvsp_set_link(s->nv, up);
	rte_spinlock_unlock(&s->lock);
}

static void synth_describe(void *priv, json_t *obj)
{
	vsw_synth_describe(priv, obj);
}

static int synth_get_mac(void *priv, uint8_t mac[6])
{
	memcpy(mac, vsw_synth_mac(priv), 6);
	return 0;
}

const struct vsw_port_class vsw_port_synth_class = {
	.kind = "synthetic",
	.open = synth_open,
	.close = synth_close,
	.set_admin = synth_set_admin,
	.describe = synth_describe,
	.get_mac = synth_get_mac,
};
