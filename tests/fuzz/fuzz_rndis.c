/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: NetVSP's RNDIS parser (data messages with packet info,
 * INITIALIZE/QUERY/SET/KEEPALIVE/RESET/HALT, several messages per section).
 * Each input runs on a fresh host + guest-simulator pair after the
 * handshake: byte 0 picks the transport (bit 0: GPA direct instead of a send
 * section, bit 1: control channel) and byte 1 the page offset of GPA data;
 * the rest are the RNDIS bytes. The host polls, the guest reads the replies,
 * the switch delivers a frame, and frames handed to the sink must lie inside
 * the message. HVNET_FUZZ_SEEDS=dir writes seeds.
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

#define SECTION 6144u

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

/* RNDIS bytes as GPA direct: one range of len bytes at scratch + off. */
static void send_gpa(struct nvsc_pair *p, const uint8_t *d, uint32_t len, uint32_t off)
{
	struct {
		struct nvsp_gpa_hdr h;
		struct nvsp_gpa_range r;
		uint64_t pfn[4];
	} __attribute__((packed)) ext = {{0, 1}, {len, off}};
	struct nvsp_msg m = {.type = NVSP_MSG1_SEND_RNDIS_PKT};
	uint32_t np = (off + len + 4095) / 4096;
	uint64_t gpa;
	uint32_t slen;
	uint8_t *s = nvsc_gsim_scratch(p->g, &gpa, &slen);

	memcpy(s + off, d, len);
	for (uint32_t i = 0; i < np; i++)
		ext.pfn[i] = gpa / 4096 + i;
	m.u.rndis_pkt.section_index = NVSP_INVALID_SECTION;
	nvsc_gsim_send_raw(p->g, VMBUS_PKT_DATA_GPA_DIRECT, VMBUS_PKT_F_COMPLETION_REQUESTED, 3,
			   &ext, (uint32_t)(sizeof(ext.h) + sizeof(ext.r) + 8 * np), &m, sizeof(m));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t frame[60] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	struct nvsp_frame fr = {frame, sizeof(frame)};
	struct nvsc_pair *p;
	uint32_t len;
	int r;

	if (size < 3 || size - 2 > SECTION)
		return 0;
	p = setup();
	if (!p)
		return 0;
	len = (uint32_t)(size - 2);
	if (data[0] & 1)
		send_gpa(p, data + 2, len, (uint32_t)data[1] * 16u);
	else
		nvsc_gsim_send_rndis_section(p->g, (data[0] >> 1) & 1, 0, 0, len, data + 2, len);
	r = nvsp_poll(p->nv, &p->sink, 8);
	check(r >= -EPROTO);
	for (uint64_t i = 0; i < p->host_frames && i < NVSC_PAIR_KEEP; i++)
		check(p->host_rx[i].len < len);
	nvsc_gsim_poll(p->g, 64);
	nvsp_deliver(p->nv, &fr, 1);
	r = nvsp_poll(p->nv, &p->sink, 8);
	check(!nvsp_failed(p->nv) || r == -EPROTO);
	nvsc_pair_free(p);
	return 0;
}

/* ---- seeds ---- */

struct seedbuf {
	uint8_t b[300];
	size_t n;
};

static void seed_oid(struct seedbuf *s, uint32_t type, uint32_t oid, const void *info,
		     uint32_t ilen)
{
	struct rndis_hdr h = {type, (uint32_t)(8 + sizeof(struct rndis_oid_req)) + ilen};
	struct rndis_oid_req q = {1, oid, ilen, ilen ? sizeof(q) : 0, 0};

	s->b[0] = 2; /* control, section */
	s->b[1] = 0;
	memcpy(s->b + 2, &h, 8);
	memcpy(s->b + 10, &q, sizeof(q));
	if (ilen)
		memcpy(s->b + 10 + sizeof(q), info, ilen);
	s->n = 2 + h.len;
}

static void seed_data(struct seedbuf *s, bool vlan, uint8_t mode)
{
	struct rndis_packet pk = {.data_offset = sizeof(pk), .data_len = 64};
	struct rndis_ppi e = {16, RNDIS_PPI_8021Q, 12};
	uint32_t v = 5u << 4, hl = 8 + sizeof(pk);
	struct rndis_hdr h;

	if (vlan) {
		pk.ppi_offset = sizeof(pk);
		pk.ppi_len = 16;
		pk.data_offset += 16;
		memcpy(s->b + 2 + hl, &e, sizeof(e));
		memcpy(s->b + 2 + hl + sizeof(e), &v, 4);
		hl += 16;
	}
	h = (struct rndis_hdr){RNDIS_MSG_PACKET, hl + 64};
	s->b[0] = mode;
	s->b[1] = 250;
	memcpy(s->b + 2, &h, 8);
	memcpy(s->b + 10, &pk, sizeof(pk));
	memset(s->b + 2 + hl, 0xee, 64);
	s->n = 2 + h.len;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static struct seedbuf s[10];
	struct fuzz_seed seeds[10];
	struct ndis_offload caps = {.hdr = {NDIS_OBJ_TYPE_OFFLOAD, 3, NDIS_OFFLOAD_SIZE}};
	uint32_t filter = RNDIS_FILTER_DIRECTED | RNDIS_FILTER_BROADCAST;
	struct {
		struct rndis_hdr h;
		struct rndis_id_req r;
	} __attribute__((packed)) ka = {{RNDIS_MSG_KEEPALIVE, 12}, {9}};

	(void)argc;
	(void)argv;
	seed_data(&s[0], false, 0);
	seed_data(&s[1], true, 0);
	seed_data(&s[2], true, 1);
	seed_oid(&s[3], RNDIS_MSG_QUERY, RNDIS_OID_802_3_PERMANENT_ADDRESS, NULL, 0);
	seed_oid(&s[4], RNDIS_MSG_QUERY, RNDIS_OID_TCP_OFFLOAD_HW_CAPS, &caps, sizeof(caps));
	seed_oid(&s[5], RNDIS_MSG_SET, RNDIS_OID_GEN_CURRENT_PACKET_FILTER, &filter, 4);
	seed_oid(&s[6], RNDIS_MSG_QUERY, RNDIS_OID_GEN_RECEIVE_SCALE_CAPABILITIES, NULL, 0);
	seed_oid(&s[7], RNDIS_MSG_SET, RNDIS_OID_GEN_RNDIS_CONFIG_PARAMETER, "NetworkAddress", 14);
	s[8].b[0] = 2;
	memcpy(s[8].b + 2, &ka, sizeof(ka));
	s[8].n = 2 + sizeof(ka);
	/* two data messages in one section */
	seed_data(&s[9], false, 0);
	memcpy(s[9].b + s[9].n, s[9].b + 2, s[9].n - 2);
	s[9].n = 2 + 2 * (s[9].n - 2);
	for (int i = 0; i < 10; i++)
		seeds[i] = (struct fuzz_seed){s[i].b, s[i].n};
	fuzz_write_seeds(seeds, 10);
	return 0;
}
