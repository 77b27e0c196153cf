/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NetVSP against a hostile guest: every malformed NVSP message, section
 * index, GPA range, RNDIS length/offset, packet-info element and ring index
 * must fail the channel (-EPROTO, state "failed", the reason counted) without
 * touching memory outside the guest's buffers (ASan builds check that), and a
 * second NIC in the same process must keep working.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nvsc_pair.h"
#include "nvsp_wire.h"
#include "rndis_wire.h"
#include "vmbus/ring.h"

static struct nvsc_pair *ready(void)
{
	struct nvsp_config h = {.mac = {0x00, 0x15, 0x5d, 9, 9, 9}};
	struct nvsc_pair *p = nvsc_pair_create(&h, NULL);

	assert_non_null(p);
	p->quiet = true;
	assert_int_equal(nvsc_pair_handshake(p), 0);
	return p;
}

/* The host fails the channel for reason; later calls stay failed. */
static void expect_failed(struct nvsc_pair *p, const char *reason)
{
	struct nvsp_frame fr = {"abcdefghijklmn", 14};
	struct nvsp_stats st;

	assert_int_equal(nvsp_poll(p->nv, &p->sink, 64), -EPROTO);
	nvsp_get_stats(p->nv, &st);
	assert_string_equal(st.state, "failed");
	assert_non_null(st.fail_reason);
	assert_string_equal(st.fail_reason, reason);
	assert_true(nvsp_failed(p->nv));
	assert_int_equal(p->log_lines, 1); /* one line says why */
	assert_int_equal(nvsp_poll(p->nv, &p->sink, 64), -EPROTO);
	assert_int_equal(nvsp_deliver(p->nv, &fr, 1), 0);
	assert_int_equal(nvsp_unmask(p->nv), -EPROTO);
	assert_int_equal(nvsp_save(p->nv, (uint8_t[NVSP_SAVE_MAX]){0}, NVSP_SAVE_MAX), -EPROTO);
}

/* A valid RNDIS data message for a frame of flen bytes at buf. */
static uint32_t data_msg(uint8_t *buf, uint32_t flen)
{
	struct rndis_hdr h = {RNDIS_MSG_PACKET, (uint32_t)(8 + sizeof(struct rndis_packet)) + flen};
	struct rndis_packet pk = {.data_offset = sizeof(pk), .data_len = flen};

	memcpy(buf, &h, sizeof(h));
	memcpy(buf + 8, &pk, sizeof(pk));
	memset(buf + 8 + sizeof(pk), 0xab, flen);
	return h.len;
}

static void send_section(struct nvsc_pair *p, uint32_t index, uint32_t size, const void *msg,
			 uint32_t len)
{
	assert_int_equal(
		nvsc_gsim_send_rndis_section(p->g, NVSP_CHANNEL_DATA, 0, index, size, msg, len), 0);
}

/* ---- NVSP ---- */

static void test_bad_nvsp_type(void **state)
{
	struct nvsc_pair *p = ready();
	struct nvsp_msg m = {.type = 9999};

	(void)state;
	assert_int_equal(nvsc_gsim_send_nvsp(p->g, &m, sizeof(m)), 0);
	expect_failed(p, "err_nvsp_type");
	nvsc_pair_free(p);
}

static void test_host_only_nvsp_type(void **state)
{
	struct nvsc_pair *p = ready();
	struct nvsp_msg m = {.type = NVSP_MSG1_SEND_RECV_BUF_COMPLETE};

	(void)state;
	assert_int_equal(nvsc_gsim_send_nvsp(p->g, &m, sizeof(m)), 0);
	expect_failed(p, "err_nvsp_type");
	nvsc_pair_free(p);
}

static void test_bad_nvsp_len(void **state)
{
	struct nvsc_pair *p = ready();
	struct nvsp_msg m = {.type = NVSP_MSG1_SEND_RNDIS_PKT};

	(void)state;
	/* the type fits, its fields do not */
	assert_int_equal(nvsc_gsim_send_nvsp(p->g, &m, 8), 0);
	expect_failed(p, "err_nvsp_len");
	nvsc_pair_free(p);
}

static void test_nvsp_shorter_than_type(void **state)
{
	struct nvsc_pair *p = ready();
	uint8_t two[2] = {1, 0};

	(void)state;
	assert_int_equal(nvsc_gsim_send_nvsp(p->g, two, sizeof(two)), 0);
	expect_failed(p, "err_nvsp_len");
	nvsc_pair_free(p);
}

static void test_rndis_before_buffers(void **state)
{
	struct nvsp_config h = {.mtu = 1500};
	struct nvsc_pair *p = nvsc_pair_create(&h, NULL);
	struct nvsp_msg m = {.type = NVSP_MSG1_SEND_RNDIS_PKT};

	(void)state;
	assert_non_null(p);
	p->quiet = true;
	m.u.rndis_pkt.section_index = 0;
	m.u.rndis_pkt.section_size = 64;
	assert_int_equal(nvsc_gsim_send_nvsp(p->g, &m, sizeof(m)), 0);
	expect_failed(p, "err_nvsp_state");
	nvsc_pair_free(p);
}

static void test_bad_vmbus_type(void **state)
{
	struct nvsc_pair *p = ready();
	struct nvsp_msg m = {.type = NVSP_MSG1_SEND_RNDIS_PKT};
	uint8_t ext[8] = {0};

	(void)state;
	assert_int_equal(nvsc_gsim_send_raw(p->g, VMBUS_PKT_DATA_XFER_PAGES, 0, 1, ext, sizeof(ext),
					    &m, sizeof(m)),
			 0);
	expect_failed(p, "err_pkt_type");
	nvsc_pair_free(p);
}

/* ---- send sections ---- */

static void test_section_index_out_of_range(void **state)
{
	struct nvsc_pair *p = ready();
	uint8_t msg[200];
	uint32_t len = data_msg(msg, 100);

	(void)state;
	send_section(p, 1u << 20, len, msg, len);
	expect_failed(p, "err_section");
	nvsc_pair_free(p);
}

static void test_section_size_too_big(void **state)
{
	struct nvsc_pair *p = ready();
	uint8_t msg[200];
	uint32_t len = data_msg(msg, 100);

	(void)state;
	send_section(p, 0, 6145, msg, len);
	expect_failed(p, "err_section");
	nvsc_pair_free(p);
}

static void test_inband_without_section(void **state)
{
	struct nvsc_pair *p = ready();
	uint8_t msg[200];
	uint32_t len = data_msg(msg, 100);

	(void)state;
	send_section(p, NVSP_INVALID_SECTION, len, msg, len);
	expect_failed(p, "err_section");
	nvsc_pair_free(p);
}

/* ---- RNDIS ---- */

static void test_rndis_len_past_section(void **state)
{
	struct nvsc_pair *p = ready();
	uint8_t msg[200];
	uint32_t len = data_msg(msg, 100);

	(void)state;
	send_section(p, 0, len - 1, msg, len); /* message claims more than the section holds */
	expect_failed(p, "err_rndis_len");
	nvsc_pair_free(p);
}

static void test_rndis_len_zero(void **state)
{
	struct nvsc_pair *p = ready();
	uint8_t msg[200];
	uint32_t len = data_msg(msg, 100);

	(void)state;
	memset(msg + 4, 0, 4);
	send_section(p, 0, len, msg, len);
	expect_failed(p, "err_rndis_len");
	nvsc_pair_free(p);
}

static void test_rndis_data_offset_past_message(void **state)
{
	struct nvsc_pair *p = ready();
	uint8_t msg[200];
	uint32_t len = data_msg(msg, 100), off = 150;

	(void)state;
	memcpy(msg + 8, &off, 4);
	send_section(p, 0, len, msg, len);
	expect_failed(p, "err_rndis_len");
	nvsc_pair_free(p);
}

static void test_rndis_data_len_past_message(void **state)
{
	struct nvsc_pair *p = ready();
	uint8_t msg[200];
	uint32_t len = data_msg(msg, 100), dl = 0xfffffff0u;

	(void)state;
	memcpy(msg + 12, &dl, 4);
	send_section(p, 0, len, msg, len);
	expect_failed(p, "err_rndis_len");
	nvsc_pair_free(p);
}

static void test_ppi_past_message(void **state)
{
	struct nvsc_pair *p = ready();
	uint8_t msg[200];
	uint32_t len = data_msg(msg, 100);
	struct rndis_packet pk;

	(void)state;
	memcpy(&pk, msg + 8, sizeof(pk));
	pk.ppi_offset = sizeof(pk);
	pk.ppi_len = 4000;
	memcpy(msg + 8, &pk, sizeof(pk));
	send_section(p, 0, len, msg, len);
	expect_failed(p, "err_ppi");
	nvsc_pair_free(p);
}

static void test_ppi_element_size(void **state)
{
	struct nvsc_pair *p = ready();
	uint8_t msg[300];
	struct rndis_packet pk = {.data_offset = sizeof(pk) + 16,
				  .data_len = 60,
				  .ppi_offset = sizeof(pk),
				  .ppi_len = 16};
	struct rndis_ppi e = {.size = 0, .type = RNDIS_PPI_8021Q, .offset = 12};
	struct rndis_hdr h = {RNDIS_MSG_PACKET, 8 + sizeof(pk) + 16 + 60};

	(void)state;
	memset(msg, 0, sizeof(msg));
	memcpy(msg, &h, sizeof(h));
	memcpy(msg + 8, &pk, sizeof(pk));
	memcpy(msg + 8 + sizeof(pk), &e, sizeof(e)); /* size 0 would loop forever */
	send_section(p, 0, h.len, msg, h.len);
	expect_failed(p, "err_ppi");
	nvsc_pair_free(p);
}

static void test_ppi_value_outside_element(void **state)
{
	struct nvsc_pair *p = ready();
	uint8_t msg[300];
	struct rndis_packet pk = {.data_offset = sizeof(pk) + 16,
				  .data_len = 60,
				  .ppi_offset = sizeof(pk),
				  .ppi_len = 16};
	struct rndis_ppi e = {.size = 16, .type = RNDIS_PPI_8021Q, .offset = 14};
	struct rndis_hdr h = {RNDIS_MSG_PACKET, 8 + sizeof(pk) + 16 + 60};

	(void)state;
	memset(msg, 0, sizeof(msg));
	memcpy(msg, &h, sizeof(h));
	memcpy(msg + 8, &pk, sizeof(pk));
	memcpy(msg + 8 + sizeof(pk), &e, sizeof(e));
	send_section(p, 0, h.len, msg, h.len);
	expect_failed(p, "err_ppi");
	nvsc_pair_free(p);
}

static void test_rndis_unknown_type(void **state)
{
	struct nvsc_pair *p = ready();
	struct rndis_hdr h = {0x77, 16};
	uint8_t msg[16] = {0};

	(void)state;
	memcpy(msg, &h, sizeof(h));
	send_section(p, 0, sizeof(msg), msg, sizeof(msg));
	expect_failed(p, "err_rndis_type");
	nvsc_pair_free(p);
}

static void test_oid_info_past_message(void **state)
{
	struct nvsc_pair *p = ready();
	struct {
		struct rndis_hdr h;
		struct rndis_oid_req q;
		uint32_t v;
	} __attribute__((packed))
	m = {{RNDIS_MSG_SET, sizeof(m)}, {77, RNDIS_OID_GEN_CURRENT_PACKET_FILTER, 4, 200, 0}, 1};

	(void)state;
	send_section(p, 0, sizeof(m), &m, sizeof(m));
	expect_failed(p, "err_rndis_len");
	nvsc_pair_free(p);
}

/* ---- GPA direct ---- */

struct gpa_pkt {
	struct nvsp_gpa_hdr h;
	struct nvsp_gpa_range r;
	uint64_t pfn[2];
} __attribute__((packed));

static void send_gpa(struct nvsc_pair *p, const struct gpa_pkt *g, uint32_t ext_len)
{
	struct nvsp_msg m = {.type = NVSP_MSG1_SEND_RNDIS_PKT};

	m.u.rndis_pkt.section_index = NVSP_INVALID_SECTION;
	assert_int_equal(nvsc_gsim_send_raw(p->g, VMBUS_PKT_DATA_GPA_DIRECT,
					    VMBUS_PKT_F_COMPLETION_REQUESTED, 5, g, ext_len, &m,
					    sizeof(m)),
			 0);
}

/* A good GPA-direct packet describing a data message in the scratch pages. */
static void gpa_good(struct nvsc_pair *p, struct gpa_pkt *g)
{
	uint64_t gpa;
	uint32_t len;
	uint8_t *s = nvsc_gsim_scratch(p->g, &gpa, &len);

	memset(g, 0, sizeof(*g));
	g->h.range_count = 1;
	g->r.byte_offset = 4000;
	g->r.byte_count = data_msg(s + 4000, 200);
	g->pfn[0] = gpa / 4096;
	g->pfn[1] = gpa / 4096 + 1;
}

static void test_gpa_good_then_bad_pfn(void **state)
{
	struct nvsc_pair *p = ready();
	struct gpa_pkt g;

	(void)state;
	gpa_good(p, &g);
	send_gpa(p, &g, sizeof(g));
	assert_int_equal(nvsc_pair_pump(p, 10), 0);
	assert_int_equal(p->host_frames, 1);
	assert_int_equal(p->host_rx[0].len, 200);
	assert_int_equal(p->host_rx[0].iovcnt, 1); /* consecutive pages merge */
	g.pfn[1] = 1ull << 40;			   /* second page outside guest RAM */
	send_gpa(p, &g, sizeof(g));
	expect_failed(p, "err_range");
	nvsc_pair_free(p);
}

static void test_gpa_range_offset(void **state)
{
	struct nvsc_pair *p = ready();
	struct gpa_pkt g;

	(void)state;
	gpa_good(p, &g);
	g.r.byte_offset = 4096;
	send_gpa(p, &g, sizeof(g));
	expect_failed(p, "err_range");
	nvsc_pair_free(p);
}

static void test_gpa_pfns_past_packet(void **state)
{
	struct nvsc_pair *p = ready();
	struct gpa_pkt g;

	(void)state;
	gpa_good(p, &g);
	g.r.byte_count = 3 * 4096; /* needs 4 page numbers, the packet has 2 */
	send_gpa(p, &g, sizeof(g));
	expect_failed(p, "err_range");
	nvsc_pair_free(p);
}

static void test_gpa_range_count(void **state)
{
	struct nvsc_pair *p = ready();
	struct gpa_pkt g;

	(void)state;
	gpa_good(p, &g);
	g.h.range_count = 0x10000;
	send_gpa(p, &g, sizeof(g));
	expect_failed(p, "err_range");
	nvsc_pair_free(p);
}

static void test_gpa_rndis_longer_than_ranges(void **state)
{
	struct nvsc_pair *p = ready();
	struct gpa_pkt g;

	(void)state;
	gpa_good(p, &g);
	g.r.byte_count -= 10;
	send_gpa(p, &g, sizeof(g));
	expect_failed(p, "err_rndis_len");
	nvsc_pair_free(p);
}

/* ---- ring ---- */

static void test_ring_index_corruption(void **state)
{
	struct nvsc_pair *p = ready();
	size_t size;
	uint8_t *ring = nvsc_gsim_ring(p->g, true, &size);
	uint32_t bad = (uint32_t)size; /* beyond the data area */

	(void)state;
	memcpy(ring + VMBUS_RING_OFF_WRITE_INDEX, &bad, 4);
	expect_failed(p, "err_ring");
	nvsc_pair_free(p);
}

static void test_ring_descriptor_corruption(void **state)
{
	struct nvsc_pair *p = ready();
	size_t size;
	uint8_t *ring = nvsc_gsim_ring(p->g, true, &size);
	struct nvsp_msg m = {.type = NVSP_MSG1_SEND_NDIS_VERSION};
	uint32_t wi;
	uint16_t len8 = 0xffff;

	(void)state;
	memcpy(&wi, ring + VMBUS_RING_OFF_WRITE_INDEX, 4);
	assert_int_equal(nvsc_gsim_send_nvsp(p->g, &m, sizeof(m)), 0);
	memcpy(ring + 4096 + wi + 4, &len8, 2); /* len8 of the new packet */
	expect_failed(p, "err_ring");
	nvsc_pair_free(p);
}

/* ---- isolation ---- */

static void test_other_nic_keeps_working(void **state)
{
	struct nvsc_pair *bad = ready();
	struct nvsc_pair *good = ready();
	struct nvsp_msg m = {.type = 4242};
	struct nvsp_frame fr = {"\xff\xff\xff\xff\xff\xff"
				"0123456789abcdef",
				22};
	uint8_t frame[64];

	(void)state;
	assert_int_equal(nvsc_gsim_send_nvsp(bad->g, &m, sizeof(m)), 0);
	expect_failed(bad, "err_nvsp_type");
	memset(frame, 0x5a, sizeof(frame));
	assert_int_equal(nvsc_gsim_send(good->g, frame, sizeof(frame), NULL), 0);
	assert_int_equal(nvsp_deliver(good->nv, &fr, 1), 1);
	assert_int_equal(nvsc_pair_pump(good, 20), 0);
	assert_int_equal(good->host_frames, 1);
	assert_memory_equal(good->host_rx[0].data, frame, sizeof(frame));
	assert_int_equal(good->guest_frames, 1);
	assert_memory_equal(good->guest_rx[0].data, fr.data, fr.len);
	nvsc_pair_free(bad);
	nvsc_pair_free(good);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_nvsp_type),
		cmocka_unit_test(test_host_only_nvsp_type),
		cmocka_unit_test(test_bad_nvsp_len),
		cmocka_unit_test(test_nvsp_shorter_than_type),
		cmocka_unit_test(test_rndis_before_buffers),
		cmocka_unit_test(test_bad_vmbus_type),
		cmocka_unit_test(test_section_index_out_of_range),
		cmocka_unit_test(test_section_size_too_big),
		cmocka_unit_test(test_inband_without_section),
		cmocka_unit_test(test_rndis_len_past_section),
		cmocka_unit_test(test_rndis_len_zero),
		cmocka_unit_test(test_rndis_data_offset_past_message),
		cmocka_unit_test(test_rndis_data_len_past_message),
		cmocka_unit_test(test_ppi_past_message),
		cmocka_unit_test(test_ppi_element_size),
		cmocka_unit_test(test_ppi_value_outside_element),
		cmocka_unit_test(test_rndis_unknown_type),
		cmocka_unit_test(test_oid_info_past_message),
		cmocka_unit_test(test_gpa_good_then_bad_pfn),
		cmocka_unit_test(test_gpa_range_offset),
		cmocka_unit_test(test_gpa_pfns_past_packet),
		cmocka_unit_test(test_gpa_range_count),
		cmocka_unit_test(test_gpa_rndis_longer_than_ranges),
		cmocka_unit_test(test_ring_index_corruption),
		cmocka_unit_test(test_ring_descriptor_corruption),
		cmocka_unit_test(test_other_nic_keeps_working),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
