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

#include <stddef.h>
#include <stdint.h>

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

void vsw_pcapng_buf_free(struct vsw_pcapng_buf *b);

#endif
