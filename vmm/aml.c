/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * AML encoder (ACPI 6.x, chapter 20 "ACPI Machine Language Specification").
 * Terms with a PkgLength are encoded body-first: *_begin records where the
 * PkgLength goes, vmm_aml_end measures the body and inserts the 1..4 byte
 * PkgLength there. Resource descriptors follow chapter 6.4.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aml.h"

#define AML_MAX_DEPTH 16
#define AML_MAX_SIZE (1u << 20)

enum {
	AML_ZERO = 0x00,
	AML_ONE = 0x01,
	AML_NAME = 0x08,
	AML_BYTE = 0x0a,
	AML_WORD = 0x0b,
	AML_DWORD = 0x0c,
	AML_STRING = 0x0d,
	AML_QWORD = 0x0e,
	AML_SCOPE = 0x10,
	AML_BUFFER = 0x11,
	AML_PACKAGE = 0x12,
	AML_METHOD = 0x14,
	AML_DUAL_NAME = 0x2e,
	AML_MULTI_NAME = 0x2f,
	AML_EXT = 0x5b,
	AML_EXT_DEVICE = 0x82,
	AML_ROOT = 0x5c,
	AML_PARENT = 0x5e,
	AML_RETURN = 0xa4,
	AML_ONES = 0xff,
};

struct vmm_aml {
	uint8_t *buf;
	size_t len, cap;
	size_t open[AML_MAX_DEPTH]; /* offsets where a PkgLength goes */
	int depth;
	int err;
};

struct vmm_aml *vmm_aml_new(void)
{
	return calloc(1, sizeof(struct vmm_aml));
}

void vmm_aml_free(struct vmm_aml *a)
{
	if (!a)
		return;
	free(a->buf);
	free(a);
}

int vmm_aml_error(const struct vmm_aml *a)
{
	if (a->err)
		return a->err;
	return a->depth ? -EINVAL : 0;
}

const uint8_t *vmm_aml_data(const struct vmm_aml *a, size_t *len)
{
	*len = a->len;
	return a->buf;
}

static void fail(struct vmm_aml *a, int err)
{
	if (!a->err)
		a->err = err;
}

static int reserve(struct vmm_aml *a, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (a->err)
		return -1;
	if (a->len + n > AML_MAX_SIZE) {
		fail(a, -E2BIG);
		return -1;
	}
	if (a->len + n <= a->cap)
		return 0;
	cap = a->cap ? a->cap * 2 : 256;
	while (cap < a->len + n)
		cap *= 2;
	p = realloc(a->buf, cap);
	if (!p) {
		fail(a, -ENOMEM);
		return -1;
	}
	a->buf = p;
	a->cap = cap;
	return 0;
}

static void emit(struct vmm_aml *a, const void *data, size_t n)
{
	if (reserve(a, n) < 0)
		return;
	memcpy(a->buf + a->len, data, n);
	a->len += n;
}

static void emit8(struct vmm_aml *a, uint8_t b)
{
	emit(a, &b, 1);
}

static void emit_le(struct vmm_aml *a, uint64_t v, unsigned n)
{
	while (n--) {
		emit8(a, (uint8_t)v);
		v >>= 8;
	}
}

static int seg_char_ok(char c, int first)
{
	return (c >= 'A' && c <= 'Z') || c == '_' || (!first && c >= '0' && c <= '9');
}

/* Encodes one NameSeg from s (up to '.' or NUL) into out[4]; returns the
 * number of chars consumed or -1 when invalid. */
static int name_seg(const char *s, uint8_t out[4])
{
	int i;

	for (i = 0; s[i] && s[i] != '.'; i++) {
		if (i == 4 || !seg_char_ok(s[i], i == 0))
			return -1;
		out[i] = (uint8_t)s[i];
	}
	if (i == 0)
		return -1;
	memset(out + i, '_', (size_t)(4 - i));
	return i;
}

void vmm_aml_namestring(struct vmm_aml *a, const char *name)
{
	uint8_t segs[4 * 255];
	int n = 0, used;

	if (*name == '\\')
		emit8(a, *name++);
	else
		while (*name == '^')
			emit8(a, *name++);
	while (*name) {
		if (n == 255 || (used = name_seg(name, segs + 4 * n)) < 0) {
			fail(a, -EINVAL);
			return;
		}
		n++;
		name += used;
		if (*name == '.' && !*++name) {
			fail(a, -EINVAL);
			return;
		}
	}
	if (n == 0) {
		emit8(a, 0x00); /* NullName */
		return;
	}
	if (n == 2)
		emit8(a, AML_DUAL_NAME);
	else if (n > 2) {
		emit8(a, AML_MULTI_NAME);
		emit8(a, (uint8_t)n);
	}
	emit(a, segs, 4 * (size_t)n);
}

void vmm_aml_name(struct vmm_aml *a, const char *name)
{
	emit8(a, AML_NAME);
	vmm_aml_namestring(a, name);
}

void vmm_aml_integer(struct vmm_aml *a, uint64_t v)
{
	if (v == 0)
		emit8(a, AML_ZERO);
	else if (v == 1)
		emit8(a, AML_ONE);
	else if (v == UINT64_MAX)
		emit8(a, AML_ONES);
	else if (v <= 0xff) {
		emit8(a, AML_BYTE);
		emit_le(a, v, 1);
	} else if (v <= 0xffff) {
		emit8(a, AML_WORD);
		emit_le(a, v, 2);
	} else if (v <= 0xffffffff) {
		emit8(a, AML_DWORD);
		emit_le(a, v, 4);
	} else {
		emit8(a, AML_QWORD);
		emit_le(a, v, 8);
	}
}

void vmm_aml_string(struct vmm_aml *a, const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if ((unsigned char)s[i] > 0x7f) {
			fail(a, -EINVAL);
			return;
		}
	emit8(a, AML_STRING);
	emit(a, s, strlen(s) + 1);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void vmm_aml_eisaid(struct vmm_aml *a, const char *id)
{
	uint8_t b[4];
	int i, h[4];

	if (strlen(id) != 7) {
		fail(a, -EINVAL);
		return;
	}
	for (i = 0; i < 3; i++)
		if (id[i] < 'A' || id[i] > 'Z') {
			fail(a, -EINVAL);
			return;
		}
	for (i = 0; i < 4; i++)
		if ((h[i] = hexval(id[3 + i])) < 0) {
			fail(a, -EINVAL);
			return;
		}
	/* three 5-bit letters ('A' = 1) then four nibbles, in byte order */
	b[0] = (uint8_t)(((id[0] - 0x40) << 2) | ((id[1] - 0x40) >> 3));
	b[1] = (uint8_t)((((id[1] - 0x40) & 7) << 5) | (id[2] - 0x40));
	b[2] = (uint8_t)(h[0] << 4 | h[1]);
	b[3] = (uint8_t)(h[2] << 4 | h[3]);
	emit8(a, AML_DWORD);
	emit(a, b, 4);
}

static void open_term(struct vmm_aml *a)
{
	if (a->depth == AML_MAX_DEPTH) {
		fail(a, -EINVAL);
		return;
	}
	a->open[a->depth++] = a->len;
}

void vmm_aml_end(struct vmm_aml *a)
{
	size_t at, body, total;
	uint8_t pl[4];
	unsigned n, i;

	if (a->depth == 0) {
		fail(a, -EINVAL);
		return;
	}
	at = a->open[--a->depth];
	body = a->len - at;
	/* PkgLength counts itself: 1 byte up to 63, else 2..4 bytes */
	for (n = 1; n <= 4; n++) {
		total = body + n;
		if ((n == 1 && total < 64) || (n > 1 && total < (1ull << (4 + 8 * (n - 1)))))
			break;
	}
	if (n > 4) {
		fail(a, -E2BIG);
		return;
	}
	if (n == 1) {
		pl[0] = (uint8_t)total;
	} else {
		pl[0] = (uint8_t)((n - 1) << 6 | (total & 0xf));
		for (i = 1; i < n; i++)
			pl[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	if (reserve(a, n) < 0)
		return;
	memmove(a->buf + at + n, a->buf + at, body);
	memcpy(a->buf + at, pl, n);
	a->len += n;
}

void vmm_aml_buffer(struct vmm_aml *a, const uint8_t *data, size_t len)
{
	emit8(a, AML_BUFFER);
	open_term(a);
	vmm_aml_integer(a, len);
	emit(a, data, len);
	vmm_aml_end(a);
}

void vmm_aml_package_begin(struct vmm_aml *a, uint8_t n)
{
	emit8(a, AML_PACKAGE);
	open_term(a);
	emit8(a, n);
}

void vmm_aml_scope_begin(struct vmm_aml *a, const char *name)
{
	emit8(a, AML_SCOPE);
	open_term(a);
	vmm_aml_namestring(a, name);
}

void vmm_aml_device_begin(struct vmm_aml *a, const char *name)
{
	emit8(a, AML_EXT);
	emit8(a, AML_EXT_DEVICE);
	open_term(a);
	vmm_aml_namestring(a, name);
}

void vmm_aml_method_begin(struct vmm_aml *a, const char *name, unsigned nargs, int serialized)
{
	if (nargs > 7) {
		fail(a, -EINVAL);
		return;
	}
	emit8(a, AML_METHOD);
	open_term(a);
	vmm_aml_namestring(a, name);
	emit8(a, (uint8_t)(nargs | (serialized ? 0x08 : 0)));
}

void vmm_aml_return(struct vmm_aml *a)
{
	emit8(a, AML_RETURN);
}

/* Resource descriptors (ACPI 6.4 "Resource Data Types for ACPI") */

void vmm_aml_res_init(struct vmm_aml_res *r)
{
	memset(r, 0, sizeof(*r));
}

static void res_emit(struct vmm_aml_res *r, const uint8_t *d, size_t n)
{
	if (r->err)
		return;
	if (r->len + n > sizeof(r->buf) - 2) { /* keep room for the End Tag */
		r->err = -E2BIG;
		return;
	}
	memcpy(r->buf + r->len, d, n);
	r->len += n;
}

void vmm_aml_res_io(struct vmm_aml_res *r, uint16_t min, uint16_t max, uint8_t align,
		    uint8_t len)
{
	const uint8_t d[8] = {
		0x47, 0x01, (uint8_t)min, (uint8_t)(min >> 8), (uint8_t)max, (uint8_t)(max >> 8),
		align, len,
	};

	res_emit(r, d, sizeof(d));
}

void vmm_aml_res_irq_noflags(struct vmm_aml_res *r, unsigned irq)
{
	uint8_t d[3] = { 0x22, 0, 0 };

	if (irq > 15) {
		if (!r->err)
			r->err = -EINVAL;
		return;
	}
	d[1] = (uint8_t)(1u << irq);
	d[2] = (uint8_t)((1u << irq) >> 8);
	res_emit(r, d, sizeof(d));
}

void vmm_aml_res_mem32(struct vmm_aml_res *r, uint32_t base, uint32_t len)
{
	uint8_t d[12] = { 0x86, 0x09, 0x00, 0x01 }; /* Memory32Fixed, ReadWrite */
	int i;

	for (i = 0; i < 4; i++) {
		d[4 + i] = (uint8_t)(base >> (8 * i));
		d[8 + i] = (uint8_t)(len >> (8 * i));
	}
	res_emit(r, d, sizeof(d));
}

void vmm_aml_res_emit(struct vmm_aml *a, struct vmm_aml_res *r)
{
	uint8_t sum = 0;
	size_t i;

	if (r->err) {
		fail(a, r->err);
		return;
	}
	r->buf[r->len++] = 0x79; /* End Tag, then a checksum making the sum 0 */
	for (i = 0; i < r->len; i++)
		sum = (uint8_t)(sum + r->buf[i]);
	r->buf[r->len++] = (uint8_t)-sum;
	vmm_aml_buffer(a, r->buf, r->len);
	r->len -= 2;
}
