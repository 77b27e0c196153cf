/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A minimal pcapng encoder for captures: section header, one interface
 * description per switch port (its name, its switch, the capture filter),
 * and enhanced packet blocks with microsecond timestamps and the direction
 * flag (inbound: the switch received the frame from the port; outbound:
 * the switch sent it). Blocks are appended to a growing buffer. Any thread.
 */
#ifndef VSW_PCAPNG_H
#define VSW_PCAPNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct vsw_pcapng_buf {
	uint8_t *data;
	size_t len, cap;
};

#define VSW_PCAPNG_IN 1
#define VSW_PCAPNG_OUT 2

/* Appends a section header block naming the writing application. Returns 0 or -ENOMEM. */
int vsw_pcapng_shb(struct vsw_pcapng_buf *b, const char *appl);

/* Appends an interface description block (Ethernet). Returns 0 or -ENOMEM. */
int vsw_pcapng_idb(struct vsw_pcapng_buf *b, const char *name, const char *descr,
		   uint32_t snaplen, const char *filter);

/*
 * Appends an enhanced packet block for interface ifidx: caplen bytes of
 * data from a frame of origlen bytes, at ts_us microseconds since the
 * epoch, in direction dir (VSW_PCAPNG_IN/OUT). Returns 0 or -ENOMEM.
 */
int vsw_pcapng_epb(struct vsw_pcapng_buf *b, uint32_t ifidx, uint64_t ts_us, const void *data,
		   uint32_t caplen, uint32_t origlen, uint32_t dir);

/*
 * Appends the same block as vsw_pcapng_epb() but for the frame's bytes:
 * *data_at is where they belong (the block's header ends there, its
 * padding, options and trailer follow). The caller writes the buffer up to
 * *data_at, the caplen bytes, then the buffer from *data_at on (writev
 * straight from the frame). Returns 0 or -ENOMEM.
 */
int vsw_pcapng_epb_around(struct vsw_pcapng_buf *b, uint32_t ifidx, uint64_t ts_us,
			  uint32_t caplen, uint32_t origlen, uint32_t dir, size_t *data_at);

/* Appends len bytes of blocks encoded elsewhere. Returns 0 or -ENOMEM. */
int vsw_pcapng_append(struct vsw_pcapng_buf *b, const void *p, size_t len);

void vsw_pcapng_buf_free(struct vsw_pcapng_buf *b);

/* An enhanced packet block before the frame's bytes, and after them (epb_flags, end). */
struct vsw_pcapng_epb_head {
	uint32_t type, total, ifidx, ts_hi, ts_lo, caplen, origlen;
};

struct vsw_pcapng_epb_tail {
	uint16_t flags_code, flags_len;
	uint32_t dir;
	uint16_t end_code, end_len;
	uint32_t total;
};

#define VSW_PCAPNG_EPB_OVERHEAD \
	(sizeof(struct vsw_pcapng_epb_head) + sizeof(struct vsw_pcapng_epb_tail))

/* The bytes of an enhanced packet block of caplen bytes of a frame. */
static inline size_t vsw_pcapng_epb_size(uint32_t caplen)
{
	return VSW_PCAPNG_EPB_OVERHEAD + ((caplen + 3) & ~3u);
}

/*
 * Writes the head of an enhanced packet block at p, and its zero padding
 * and tail after the frame's caplen bytes (at p + head + caplen when
 * with_data, which the caller copies there, else right after the head);
 * returns the bytes written besides the frame's. p must have room for the
 * block and 4 more bytes. Whole-word stores: a block costs a few stores.
 */
static inline size_t vsw_pcapng_epb_write(uint8_t *p, uint32_t ifidx, uint64_t ts_us,
					  uint32_t caplen, uint32_t origlen, uint32_t dir,
					  bool with_data)
{
	uint32_t pad = ((caplen + 3) & ~3u) - caplen,
		 total = (uint32_t)VSW_PCAPNG_EPB_OVERHEAD + caplen + pad;
	struct vsw_pcapng_epb_head h = {6 /* enhanced packet block */, total, ifidx,
					(uint32_t)(ts_us >> 32), (uint32_t)ts_us, caplen, origlen};
	struct vsw_pcapng_epb_tail t = {2 /* epb_flags */, 4, dir, 0 /* end */, 0, total};
	uint8_t *q = p + sizeof(h) + (with_data ? caplen : 0);
	uint32_t zero = 0;

	memcpy(p, &h, sizeof(h));
	memcpy(q, &zero, 4); /* the padding (up to 3 bytes), overwritten by the tail */
	memcpy(q + pad, &t, sizeof(t));
	return VSW_PCAPNG_EPB_OVERHEAD + pad;
}

#endif
