/* SPDX-License-Identifier: BSD-3-Clause */
/* pcapng encoder: see pcapng.h. Layout from the pcapng specification. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pcapng.h"

#define BT_SHB 0x0A0D0D0A
#define BT_IDB 0x00000001
#define OPT_END 0
#define OPT_SHB_USERAPPL 4
#define OPT_IF_NAME 2
#define OPT_IF_DESCRIPTION 3
#define OPT_IF_FILTER 11
#define LINKTYPE_ETHERNET 1

static int reserve(struct vsw_pcapng_buf *b, size_t more)
{
	uint8_t *n;
	size_t cap = b->cap ? b->cap : 4096;

	if (b->len + more <= b->cap)
		return 0;
	while (cap < b->len + more)
		cap *= 2;
	n = realloc(b->data, cap);
	if (!n)
		return -ENOMEM;
	b->data = n;
	b->cap = cap;
	return 0;
}

static void put32(struct vsw_pcapng_buf *b, uint32_t v)
{
	memcpy(b->data + b->len, &v, 4);
	b->len += 4;
}

static void put16(struct vsw_pcapng_buf *b, uint16_t v)
{
	memcpy(b->data + b->len, &v, 2);
	b->len += 2;
}

/* Appends len bytes padded with zeros to a multiple of 4. */
static void put_padded(struct vsw_pcapng_buf *b, const void *p, size_t len)
{
	size_t padded = (len + 3) & ~(size_t)3;

	memcpy(b->data + b->len, p, len);
	memset(b->data + b->len + len, 0, padded - len);
	b->len += padded;
}

static size_t opt_size(const char *s)
{
	return s && *s ? 4 + ((strlen(s) + 3) & ~(size_t)3) : 0;
}

static void put_opt(struct vsw_pcapng_buf *b, uint16_t code, const char *s)
{
	if (!s || !*s)
		return;
	put16(b, code);
	put16(b, (uint16_t)strlen(s));
	put_padded(b, s, strlen(s));
}

/* Closes a block started at start: end-of-options, trailing length, length fixed up. */
static void finish(struct vsw_pcapng_buf *b, size_t start)
{
	uint32_t total;

	put16(b, OPT_END);
	put16(b, 0);
	total = (uint32_t)(b->len - start + 4);
	put32(b, total);
	memcpy(b->data + start + 4, &total, 4);
}

int vsw_pcapng_shb(struct vsw_pcapng_buf *b, const char *appl)
{
	size_t start = b->len;

	if (reserve(b, 28 + opt_size(appl) + 8))
		return -ENOMEM;
	put32(b, BT_SHB);
	put32(b, 0);
	put32(b, 0x1A2B3C4D); /* byte-order magic */
	put16(b, 1);
	put16(b, 0);
	put32(b, 0xffffffff); /* section length unknown */
	put32(b, 0xffffffff);
	put_opt(b, OPT_SHB_USERAPPL, appl);
	finish(b, start);
	return 0;
}

int vsw_pcapng_idb(struct vsw_pcapng_buf *b, const char *name, const char *descr,
		   uint32_t snaplen, const char *filter)
{
	size_t start = b->len, flen = filter ? strlen(filter) : 0;

	if (reserve(b, 20 + opt_size(name) + opt_size(descr) + 8 + flen + 8 + 8))
		return -ENOMEM;
	put32(b, BT_IDB);
	put32(b, 0);
	put16(b, LINKTYPE_ETHERNET);
	put16(b, 0);
	put32(b, snaplen);
	put_opt(b, OPT_IF_NAME, name);
	put_opt(b, OPT_IF_DESCRIPTION, descr);
	if (flen) {
		/* if_filter: one byte of type (0 = libpcap string), then the string */
		uint8_t tmp[1 + 1024];
		size_t n = flen > 1024 ? 1024 : flen;

		tmp[0] = 0;
		memcpy(tmp + 1, filter, n);
		put16(b, OPT_IF_FILTER);
		put16(b, (uint16_t)(n + 1));
		put_padded(b, tmp, n + 1);
	}
	finish(b, start);
	return 0;
}

int vsw_pcapng_epb(struct vsw_pcapng_buf *b, uint32_t ifidx, uint64_t ts_us, const void *data,
		   uint32_t caplen, uint32_t origlen, uint32_t dir)
{
	uint8_t *p;

	if (reserve(b, VSW_PCAPNG_EPB_OVERHEAD + caplen + 4))
		return -ENOMEM;
	p = b->data + b->len;
	b->len += vsw_pcapng_epb_write(p, ifidx, ts_us, caplen, origlen, dir, true) + caplen;
	memcpy(p + sizeof(struct vsw_pcapng_epb_head), data, caplen);
	return 0;
}

int vsw_pcapng_epb_around(struct vsw_pcapng_buf *b, uint32_t ifidx, uint64_t ts_us,
			  uint32_t caplen, uint32_t origlen, uint32_t dir, size_t *data_at)
{
	if (reserve(b, VSW_PCAPNG_EPB_OVERHEAD + 4))
		return -ENOMEM;
	*data_at = b->len + sizeof(struct vsw_pcapng_epb_head);
	b->len += vsw_pcapng_epb_write(b->data + b->len, ifidx, ts_us, caplen, origlen, dir, false);
	return 0;
}

int vsw_pcapng_append(struct vsw_pcapng_buf *b, const void *p, size_t len)
{
	if (reserve(b, len))
		return -ENOMEM;
	memcpy(b->data + b->len, p, len);
	b->len += len;
	return 0;
}

void vsw_pcapng_buf_free(struct vsw_pcapng_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}
