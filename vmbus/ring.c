/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * VMBus ring buffer implementation (see ring.h). Shared fields are accessed
 * with __atomic loads and stores; the peer's index is loaded with acquire
 * ordering and our own index is published with release ordering, so packet
 * bytes are visible before the index that covers them. Full barriers sit
 * between a store and the load that decides whether to signal (mask and
 * pending_send_sz protocols), as the Linux guest does with virt_mb().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"

struct vmbus_ring_hdr {
	uint32_t write_index;
	uint32_t read_index;
	uint32_t interrupt_mask;
	uint32_t pending_send_sz;
	uint32_t reserved1[12];
	uint32_t feature_bits;
};

_Static_assert(offsetof(struct vmbus_ring_hdr, write_index) == VMBUS_RING_OFF_WRITE_INDEX, "wi");
_Static_assert(offsetof(struct vmbus_ring_hdr, read_index) == VMBUS_RING_OFF_READ_INDEX, "ri");
_Static_assert(offsetof(struct vmbus_ring_hdr, interrupt_mask) == VMBUS_RING_OFF_INTERRUPT_MASK,
	       "im");
_Static_assert(offsetof(struct vmbus_ring_hdr, pending_send_sz) == VMBUS_RING_OFF_PENDING_SEND_SZ,
	       "ps");
_Static_assert(offsetof(struct vmbus_ring_hdr, feature_bits) == VMBUS_RING_OFF_FEATURE_BITS, "fb");

/* On-ring descriptor (little-endian host assumed: x86-64 only). */
struct vmbus_desc {
	uint16_t type;
	uint16_t offset8;
	uint16_t len8;
	uint16_t flags;
	uint64_t trans_id;
};

_Static_assert(sizeof(struct vmbus_desc) == VMBUS_PKT_DESC_SIZE, "descriptor size");

struct vmbus_ring {
	struct vmbus_ring_hdr *hdr;
	uint8_t *data;
	uint32_t size;		/* data area bytes */
	uint32_t priv_write;	/* writer: our write position */
	uint32_t priv_read;	/* reader: our read position (published at commit) */
	uint32_t batch_bytes;	/* reader: bytes consumed since the last commit */
	struct vmbus_ring_stats st;
};

static inline void full_barrier(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static inline uint32_t load_peer(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void store_own(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static bool index_ok(const struct vmbus_ring *r, uint32_t idx)
{
	return idx < r->size && (idx & 7) == 0;
}

static uint32_t used_bytes(const struct vmbus_ring *r, uint32_t wr, uint32_t rd)
{
	return wr >= rd ? wr - rd : r->size - rd + wr;
}

static int corrupt(struct vmbus_ring *r)
{
	r->st.corrupt++;
	return -EPROTO;
}

struct vmbus_ring *vmbus_ring_attach(void *base, size_t ring_size, unsigned int flags)
{
	struct vmbus_ring *r;

	if (!base || ((uintptr_t)base & 7) || ring_size % VMBUS_RING_PAGE_SIZE ||
	    ring_size < 2 * VMBUS_RING_PAGE_SIZE || ring_size > (1u << 31)) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->hdr = base;
	r->data = (uint8_t *)base + VMBUS_RING_HDR_SIZE;
	r->size = (uint32_t)(ring_size - VMBUS_RING_HDR_SIZE);
	if (flags & VMBUS_RING_INIT)
		memset(r->hdr, 0, sizeof(*r->hdr));
	if (flags & VMBUS_RING_SET_FEAT)
		__atomic_or_fetch(&r->hdr->feature_bits, VMBUS_RING_FEAT_PENDING_SEND_SZ,
				  __ATOMIC_SEQ_CST);
	r->priv_write = load_peer(&r->hdr->write_index);
	r->priv_read = load_peer(&r->hdr->read_index);
	if (!index_ok(r, r->priv_write) || !index_ok(r, r->priv_read)) {
		free(r);
		errno = EPROTO;
		return NULL;
	}
	return r;
}

void vmbus_ring_free(struct vmbus_ring *r)
{
	free(r);
}

uint32_t vmbus_ring_data_size(const struct vmbus_ring *r)
{
	return r->size;
}

uint32_t vmbus_ring_pkt_space(uint32_t ext_len, uint32_t payload_len)
{
	uint64_t len = (uint64_t)VMBUS_PKT_DESC_SIZE + ext_len + payload_len;

	len = (len + 7) & ~(uint64_t)7;
	if (len > VMBUS_PKT_MAX_LEN)
		return UINT32_MAX;
	return (uint32_t)len + VMBUS_PKT_TRAILER_SIZE;
}

/* Copies n bytes into the data area at pos, wrapping; returns the new pos. */
static uint32_t copy_in(struct vmbus_ring *r, uint32_t pos, const void *src, uint32_t n)
{
	uint32_t first = r->size - pos;

	if (n < first) {
		memcpy(r->data + pos, src, n);
		return pos + n;
	}
	memcpy(r->data + pos, src, first);
	memcpy(r->data, (const uint8_t *)src + first, n - first);
	return n - first;
}

static void copy_out(const struct vmbus_ring *r, uint32_t pos, void *dst, uint32_t n)
{
	uint32_t first = r->size - pos;

	if (n <= first) {
		memcpy(dst, r->data + pos, n);
		return;
	}
	memcpy(dst, r->data + pos, first);
	memcpy((uint8_t *)dst + first, r->data, n - first);
}

static int64_t free_bytes(struct vmbus_ring *r)
{
	uint32_t rd = load_peer(&r->hdr->read_index);

	if (!index_ok(r, rd))
		return corrupt(r);
	return r->size - used_bytes(r, r->priv_write, rd);
}

int64_t vmbus_ring_bytes_to_write(struct vmbus_ring *r)
{
	int64_t f = free_bytes(r);

	return f <= 0 ? f : f - 1;
}

static uint64_t payload_len(const struct vmbus_pkt_out *p)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < p->iovcnt; i++)
		n += p->iov[i].iov_len;
	return n;
}

static uint32_t write_body(struct vmbus_ring *r, const struct vmbus_pkt_out *p, uint32_t len)
{
	static const uint8_t zero[8];
	struct vmbus_desc d = {
		.type = p->type,
		.offset8 = (uint16_t)((VMBUS_PKT_DESC_SIZE + p->ext_len) / 8),
		.len8 = (uint16_t)(len / 8),
		.flags = p->flags,
		.trans_id = p->trans_id,
	};
	uint32_t pos = copy_in(r, r->priv_write, &d, sizeof(d));
	uint32_t done = sizeof(d) + p->ext_len;

	if (p->ext_len)
		pos = copy_in(r, pos, p->ext, p->ext_len);
	for (unsigned int i = 0; i < p->iovcnt; i++) {
		pos = copy_in(r, pos, p->iov[i].iov_base, (uint32_t)p->iov[i].iov_len);
		done += (uint32_t)p->iov[i].iov_len;
	}
	if (len > done)
		pos = copy_in(r, pos, zero, len - done);
	return pos;
}

int vmbus_ring_write(struct vmbus_ring *r, const struct vmbus_pkt_out *p, bool *signal)
{
	uint64_t trailer;
	uint32_t old_write = r->priv_write, space, pos;
	int64_t avail;

	*signal = false;
	if ((p->ext_len & 7) || (p->iovcnt && !p->iov) || (p->ext_len && !p->ext))
		return -EINVAL;
	space = vmbus_ring_pkt_space(p->ext_len, (uint32_t)payload_len(p));
	if (payload_len(p) > VMBUS_PKT_MAX_LEN || space == UINT32_MAX || space >= r->size)
		return -EMSGSIZE;
	avail = free_bytes(r);
	if (avail < 0)
		return (int)avail;
	if ((uint64_t)avail <= space) {
		r->st.full++;
		return -EAGAIN;
	}
	pos = write_body(r, p, space - VMBUS_PKT_TRAILER_SIZE);
	trailer = (uint64_t)old_write << 32;
	pos = copy_in(r, pos, &trailer, sizeof(trailer));
	r->priv_write = pos;
	store_own(&r->hdr->write_index, pos);
	r->st.packets_written++;
	/* The reader may have masked, or drained the ring, meanwhile: decide
	 * on values read after the index store is globally visible. */
	full_barrier();
	if (__atomic_load_n(&r->hdr->interrupt_mask, __ATOMIC_RELAXED))
		return 0;
	if (load_peer(&r->hdr->read_index) == old_write) {
		*signal = true;
		r->st.signals++;
	}
	return 0;
}

int vmbus_ring_write_inband(struct vmbus_ring *r, uint16_t type, uint16_t flags,
			    uint64_t trans_id, const void *buf, size_t len, bool *signal)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct vmbus_pkt_out p = {
		.type = type,
		.flags = flags,
		.trans_id = trans_id,
		.iov = &iov,
		.iovcnt = len ? 1 : 0,
	};

	return vmbus_ring_write(r, &p, signal);
}

int vmbus_ring_want_space(struct vmbus_ring *r, uint32_t bytes)
{
	int64_t avail;

	__atomic_store_n(&r->hdr->pending_send_sz, bytes, __ATOMIC_RELAXED);
	full_barrier();
	if (!bytes)
		return 0;
	avail = free_bytes(r);
	if (avail < 0)
		return (int)avail;
	return (uint64_t)avail > bytes ? 1 : 0;
}

int64_t vmbus_ring_bytes_to_read(struct vmbus_ring *r)
{
	uint32_t wr = load_peer(&r->hdr->write_index);

	if (!index_ok(r, wr))
		return corrupt(r);
	return used_bytes(r, wr, r->priv_read);
}

static int check_desc(struct vmbus_ring *r, const struct vmbus_desc *d, int64_t avail)
{
	uint32_t len = (uint32_t)d->len8 * 8, off = (uint32_t)d->offset8 * 8;

	if (len < VMBUS_PKT_DESC_SIZE || off < VMBUS_PKT_DESC_SIZE || off > len)
		return corrupt(r);
	if ((uint64_t)len + VMBUS_PKT_TRAILER_SIZE > (uint64_t)avail)
		return corrupt(r);
	return 0;
}

/* Reads and validates the descriptor at the private read position; fills
 * the scalar fields of *pkt. 0, -EAGAIN (empty) or -EPROTO. */
static int next_desc(struct vmbus_ring *r, struct vmbus_pkt *pkt)
{
	struct vmbus_desc d;
	int64_t avail = vmbus_ring_bytes_to_read(r);

	if (avail <= 0)
		return avail == 0 ? -EAGAIN : (int)avail;
	if (avail < VMBUS_PKT_DESC_SIZE + VMBUS_PKT_TRAILER_SIZE)
		return corrupt(r);
	copy_out(r, r->priv_read, &d, sizeof(d));
	if (check_desc(r, &d, avail))
		return -EPROTO;
	pkt->type = d.type;
	pkt->flags = d.flags;
	pkt->trans_id = d.trans_id;
	pkt->len = (uint32_t)d.len8 * 8;
	pkt->data_len = pkt->len - (uint32_t)d.offset8 * 8;
	pkt->ring_len = pkt->len + VMBUS_PKT_TRAILER_SIZE;
	pkt->desc = pkt->data = NULL;
	return 0;
}

int vmbus_ring_peek(struct vmbus_ring *r, struct vmbus_pkt *pkt, void *bounce, size_t bounce_len)
{
	int ret = next_desc(r, pkt);

	if (ret)
		return ret;
	if (r->priv_read + pkt->len <= r->size) {
		pkt->desc = r->data + r->priv_read;
	} else {
		if (!bounce || bounce_len < pkt->len)
			return -EMSGSIZE;
		copy_out(r, r->priv_read, bounce, pkt->len);
		pkt->desc = bounce;
	}
	pkt->data = pkt->desc + (pkt->len - pkt->data_len);
	return 0;
}

void vmbus_ring_consume(struct vmbus_ring *r, const struct vmbus_pkt *pkt)
{
	r->priv_read = (uint32_t)(((uint64_t)r->priv_read + pkt->ring_len) % r->size);
	r->batch_bytes += pkt->ring_len;
	r->st.packets_read++;
}

int vmbus_ring_read_commit(struct vmbus_ring *r, bool *signal)
{
	uint32_t pending, bytes_read = r->batch_bytes;
	int64_t used, free_now;

	*signal = false;
	r->batch_bytes = 0;
	store_own(&r->hdr->read_index, r->priv_read);
	if (!bytes_read)
		return 0;
	if (!(__atomic_load_n(&r->hdr->feature_bits, __ATOMIC_RELAXED) &
	      VMBUS_RING_FEAT_PENDING_SEND_SZ))
		return 0;
	full_barrier();
	pending = __atomic_load_n(&r->hdr->pending_send_sz, __ATOMIC_RELAXED);
	if (!pending)
		return 0;
	used = vmbus_ring_bytes_to_read(r);
	if (used < 0)
		return (int)used;
	free_now = r->size - used;
	/* Enough room before this batch already: the writer was told then. */
	if (free_now - bytes_read > pending)
		return 0;
	if (free_now <= pending)
		return 0;
	*signal = true;
	r->st.signals++;
	return 0;
}

int vmbus_ring_read(struct vmbus_ring *r, struct vmbus_pkt *pkt, void *buf, size_t len,
		    bool *signal)
{
	uint32_t off;
	int ret;

	*signal = false;
	ret = next_desc(r, pkt);
	if (ret)
		return ret;
	if (pkt->data_len > len)
		return -EMSGSIZE;
	/* payload straight from the ring, in two pieces if it wraps */
	off = (uint32_t)(((uint64_t)r->priv_read + pkt->len - pkt->data_len) % r->size);
	if (pkt->data_len)
		copy_out(r, off, buf, pkt->data_len);
	vmbus_ring_consume(r, pkt);
	if (vmbus_ring_read_commit(r, signal))
		return -EPROTO;
	return (int)pkt->data_len;
}

void vmbus_ring_mask(struct vmbus_ring *r)
{
	__atomic_store_n(&r->hdr->interrupt_mask, 1, __ATOMIC_RELAXED);
	full_barrier();
}

int64_t vmbus_ring_unmask(struct vmbus_ring *r)
{
	__atomic_store_n(&r->hdr->interrupt_mask, 0, __ATOMIC_RELAXED);
	full_barrier();
	return vmbus_ring_bytes_to_read(r);
}

void vmbus_ring_get_stats(const struct vmbus_ring *r, struct vmbus_ring_stats *st)
{
	*st = r->st;
}
