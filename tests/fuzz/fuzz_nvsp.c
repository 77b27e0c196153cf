/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: NetVSP's guest->host packet handling. Each input runs on
 * a fresh host + guest-simulator pair that finished the handshake; the input
 * is a sequence of records, each written into the guest->host ring as the
 * guest would (inband NVSP message, GPA-direct packet whose page list points
 * near the simulator's scratch pages, completion, any packet type, RNDIS
 * bytes in a send section) or an action (switch delivers frames, the guest
 * polls), and the host polls after each one, with a sink whose capacity
 * (8 to 32 frames, from the record) is that of the caller's burst array.
 * Besides ASan/UBSan the target checks that NetVSP never hands the sink more
 * frames than that (a guest batching RNDIS messages must not overrun
 * vswitchd's burst), that a failed channel stays failed and that the section
 * accounting stays within the buffer.
 *
 * Record: u8 kind, u8 len, len bytes. HVNET_FUZZ_SEEDS=dir writes seeds.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nvsc_pair.h"
#include "nvsp_wire.h"
#include "rndis_wire.h"
#include "seeds.h"
#include "vmbus/ring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

enum { K_NVSP, K_GPA, K_COMP, K_RAW, K_SECTION, K_DELIVER, K_GUEST_POLL, K_SCRATCH, K_KINDS };

static void check(int cond)
{
	if (!cond)
		__builtin_trap();
}

static struct nvsc_pair *setup(void)
{
	struct nvsp_config h = {.mac = {0, 0x15, 0x5d, 1, 2, 3}};
	struct nvsc_gsim_config g = {
		.ring_size = 4 * 4096, .recv_buf_size = 64 * 1024, .send_buf_size = 64 * 1024};
	struct nvsc_pair *p = nvsc_pair_create(&h, &g);

	if (!p)
		return NULL;
	p->quiet = true;
	if (nvsc_pair_handshake(p) < 0) {
		nvsc_pair_free(p);
		return NULL;
	}
	return p;
}

/* GPA record: u8 nranges, per range u16 count, u16 offset, u8 npfn, npfn page
 * indexes (relative to the scratch pages); the rest is the NVSP message. */
static void gpa_record(struct nvsc_pair *p, const uint8_t *d, uint32_t n)
{
	uint8_t ext[8 + 16 * (8 + 8 * 8)];
	struct nvsp_gpa_hdr gh = {0};
	uint32_t pos = sizeof(gh), i = 0;
	uint64_t gpa;
	uint32_t slen;

	nvsc_gsim_scratch(p->g, &gpa, &slen);
	if (n < 1)
		return;
	gh.range_count = d[i++] % 17u;
	for (uint32_t r = 0; r < gh.range_count && i + 5 <= n; r++) {
		struct nvsp_gpa_range gr;
		uint32_t np = d[i + 4] % 9u;

		gr.byte_count = (uint32_t)(d[i] | d[i + 1] << 8);
		gr.byte_offset = (uint32_t)(d[i + 2] | d[i + 3] << 8);
		i += 5;
		memcpy(ext + pos, &gr, sizeof(gr));
		pos += sizeof(gr);
		for (uint32_t k = 0; k < np && i < n; k++) {
			uint64_t pfn = gpa / 4096 + d[i++];

			memcpy(ext + pos, &pfn, 8);
			pos += 8;
		}
	}
	memcpy(ext, &gh, sizeof(gh));
	while (pos % 8)
		ext[pos++] = 0;
	nvsc_gsim_send_raw(p->g, VMBUS_PKT_DATA_GPA_DIRECT, VMBUS_PKT_F_COMPLETION_REQUESTED, 9,
			   ext, pos, d + i, n - i);
}

static void deliver(struct nvsc_pair *p, const uint8_t *d, uint32_t n)
{
	static uint8_t frame[2048];
	struct nvsp_frame fr[8];
	uint32_t cnt = n ? d[0] % 9u : 1;

	for (uint32_t i = 0; i < cnt; i++) {
		fr[i].data = frame;
		fr[i].len = n > 1 + i ? (uint32_t)d[1 + i] * 8u : 60;
	}
	check(nvsp_deliver(p->nv, fr, cnt) <= cnt);
}

/* Scratch record: u16 offset, then bytes for the scratch pages. */
static void scratch(struct nvsc_pair *p, const uint8_t *d, uint32_t n)
{
	uint64_t gpa;
	uint32_t len, off;
	uint8_t *s = nvsc_gsim_scratch(p->g, &gpa, &len);

	if (n < 2)
		return;
	off = (uint32_t)(d[0] | d[1] << 8);
	if (off + n - 2 <= len)
		memcpy(s + off, d + 2, n - 2);
}

static void record(struct nvsc_pair *p, uint8_t kind, const uint8_t *d, uint32_t n)
{
	uint64_t tid = 0;
	uint16_t type = 0;

	switch (kind % K_KINDS) {
	case K_NVSP:
		nvsc_gsim_send_nvsp(p->g, d, n);
		break;
	case K_GPA:
		gpa_record(p, d, n);
		break;
	case K_COMP:
		if (n >= 8)
			memcpy(&tid, d, 8);
		nvsc_gsim_send_raw(p->g, VMBUS_PKT_COMP, 0, tid, NULL, 0, d + (n >= 8 ? 8 : n),
				   n >= 8 ? n - 8 : 0);
		break;
	case K_RAW:
		if (n >= 2)
			memcpy(&type, d, 2);
		nvsc_gsim_send_raw(p->g, type, 1, 7, NULL, 0, d, n);
		break;
	case K_SECTION:
		if (n >= 8) {
			uint32_t idx, sz;

			memcpy(&idx, d, 4);
			memcpy(&sz, d + 4, 4);
			nvsc_gsim_send_rndis_section(p->g, idx & 1, 0, idx >> 1, sz, d + 8, n - 8);
		}
		break;
	case K_DELIVER:
		deliver(p, d, n);
		break;
	case K_SCRATCH:
		scratch(p, d, n);
		break;
	default:
		nvsc_gsim_poll(p->g, 64);
		break;
	}
}

/* The caller's burst array: frames beyond its capacity would overrun it. */
struct cap_sink {
	struct nvsc_pair *p;
	unsigned int n, cap;
};

static int cap_frame(void *arg, const struct iovec *iov, unsigned int iovcnt, uint32_t len,
		     const struct nvsp_frame_info *info)
{
	struct cap_sink *c = arg;

	check(c->n < c->cap);
	c->n++;
	return c->p->sink.frame(c->p->sink.arg, iov, iovcnt, len, info);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nvsc_pair *p = setup();
	struct nvsp_stats st;
	size_t off = 0;
	bool failed = false;

	if (!p)
		return 0;
	while (off + 2 <= size) {
		uint8_t kind = data[off];
		uint32_t n = data[off + 1];
		int r;

		if (n > size - off - 2)
			n = (uint32_t)(size - off - 2);
		struct cap_sink c = {p, 0, NVSP_MAX_PKTS_PER_MSG + n % 25u};
		struct nvsp_sink sink = {&c, cap_frame};

		record(p, kind, data + off + 2, n);
		off += 2 + n;
		r = nvsp_poll(p->nv, &sink, c.cap);
		check(r < 0 || ((unsigned int)r <= c.cap && (unsigned int)r <= c.n));
		check(!failed || r == -EPROTO);
		failed = r == -EPROTO;
		check(failed == nvsp_failed(p->nv));
	}
	nvsp_get_stats(p->nv, &st);
	check(st.recv_sections_in_use <= st.recv_sections);
	nvsc_pair_free(p);
	return 0;
}

/* ---- seeds ---- */

struct seedbuf {
	uint8_t b[1024];
	size_t n;
};

static void rec(struct seedbuf *s, uint8_t kind, const void *d, uint8_t len)
{
	s->b[s->n++] = kind;
	s->b[s->n++] = len;
	if (len)
		memcpy(s->b + s->n, d, len);
	s->n += len;
}

static uint8_t data_msg(uint8_t *buf, uint8_t flen)
{
	struct rndis_hdr h = {RNDIS_MSG_PACKET, 44u + flen};
	struct rndis_packet pk = {.data_offset = 36, .data_len = flen};

	memcpy(buf, &h, 8);
	memcpy(buf + 8, &pk, sizeof(pk));
	memset(buf + 44, 0xff, flen);
	return (uint8_t)(44 + flen);
}

/* Five batched data messages (padded to 8) in one section record. */
static void batched_section(struct seedbuf *s)
{
	uint8_t sec[8 + 5 * 48] = {0};
	uint32_t idx = 1u << 1, sz = 5 * 48;

	for (int i = 0; i < 5; i++) {
		data_msg(sec + 8 + 48 * i, 1);
		sec[8 + 48 * i + 4] = 48; /* h.len padded */
	}
	memcpy(sec, &idx, 4);
	memcpy(sec + 4, &sz, 4);
	for (int i = 0; i < 3; i++)
		rec(s, K_SECTION, sec, sizeof(sec));
}

/* A partial copy: section 2 holds one message and the header of a second
 * whose data follow in a GPA-direct range of the scratch pages. */
static void partial_copy(struct seedbuf *s)
{
	uint8_t sec[8 + 48 + 44] = {0}, hdr[44 + 60];
	uint8_t gpa[1 + 5 + 1 + NVSP_MSG_SIZE] = {1, 60, 0, 0, 0, 1, 0};
	uint8_t scr[2 + 60] = {0, 0};
	struct nvsp_msg m = {.type = NVSP_MSG1_SEND_RNDIS_PKT};
	uint32_t idx = 2u << 1, sz = 48 + 44;

	data_msg(sec + 8, 1);
	sec[8 + 4] = 48;
	data_msg(hdr, 60);
	memcpy(sec + 8 + 48, hdr, 44);
	memcpy(sec, &idx, 4);
	memcpy(sec + 4, &sz, 4);
	memset(scr + 2, 0xff, 60);
	rec(s, K_SCRATCH, scr, sizeof(scr));
	/* the section's bytes are copied (copy_to 0), the packet names section 0 */
	idx = 0;
	memcpy(sec, &idx, 4);
	rec(s, K_SECTION, sec, sizeof(sec)); /* alone: a message cut short (fails) */
	m.u.rndis_pkt.section_index = 0;
	m.u.rndis_pkt.section_size = sz;
	memcpy(gpa + 7, &m, NVSP_MSG_SIZE);
	rec(s, K_GPA, gpa, sizeof(gpa));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static struct seedbuf s[6];
	struct fuzz_seed seeds[6];
	uint8_t msg[200], sec[208];
	struct nvsp_msg m = {.type = NVSP_MSG1_SEND_NDIS_VERSION};
	uint8_t gpa[1 + 5 + 2 + NVSP_MSG_SIZE] = {1, 0, 0, 0xa0, 0x0f, 2, 0, 1};
	uint8_t scr[2 + 200] = {0xa0, 0x0f};
	uint8_t len = data_msg(msg, 60);
	uint32_t idx = 0 << 1, sz = len;

	(void)argc;
	(void)argv;
	memcpy(sec, &idx, 4);
	memcpy(sec + 4, &sz, 4);
	memcpy(sec + 8, msg, len);
	rec(&s[0], K_SECTION, sec, (uint8_t)(8 + len));
	rec(&s[0], K_DELIVER, (uint8_t[]){3, 20, 100, 180}, 4);
	rec(&s[0], K_GUEST_POLL, NULL, 0);
	m.u.ndis_version.major = 6;
	rec(&s[1], K_NVSP, &m, NVSP_MSG_SIZE);
	m.type = NVSP_MSG1_SEND_RNDIS_PKT;
	m.u.rndis_pkt.section_index = NVSP_INVALID_SECTION;
	gpa[1] = len; /* byte_count */
	memcpy(gpa + 8, &m, NVSP_MSG_SIZE);
	memcpy(scr + 2, msg, len);
	rec(&s[2], K_SCRATCH, scr, (uint8_t)(2 + len));
	rec(&s[2], K_GPA, gpa, sizeof(gpa));
	rec(&s[3], K_DELIVER, (uint8_t[]){8, 1, 2, 3, 4, 5, 6, 7, 8}, 9);
	rec(&s[3], K_COMP, (uint8_t[16]){0, 0, 0, 0, 1, 0, 0, 0, 108, 0, 0, 0, 1}, 16);
	batched_section(&s[4]);
	partial_copy(&s[5]);
	for (int i = 0; i < 6; i++)
		seeds[i] = (struct fuzz_seed){s[i].b, s[i].n};
	fuzz_write_seeds(seeds, 6);
	return 0;
}
