/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NetVSP host against the Linux-like guest simulator in one process:
 * handshake per NVSP version and MTU, guest TX through send sections and
 * GPA-direct ranges (page-crossing, 802.1Q info), RX bursts in one
 * transfer-page packet, section exhaustion, ring full, interrupt masking,
 * link indications, packet filter, GPADL waits, save/restore.
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

static const uint8_t MAC[6] = {0x00, 0x15, 0x5d, 0x01, 0x02, 0x03};

static struct nvsc_pair *make(uint32_t version, uint32_t mtu, const struct nvsc_gsim_config *gc)
{
	struct nvsp_config h = {.mtu = mtu};
	struct nvsc_gsim_config g = gc ? *gc : (struct nvsc_gsim_config){0};
	struct nvsc_pair *p;

	memcpy(h.mac, MAC, 6);
	g.max_version = version;
	g.mtu = mtu;
	p = nvsc_pair_create(&h, &g);
	assert_non_null(p);
	p->quiet = true;
	return p;
}

static struct nvsc_pair *ready(uint32_t version, uint32_t mtu, const struct nvsc_gsim_config *gc)
{
	struct nvsc_pair *p = make(version, mtu, gc);

	assert_int_equal(nvsc_pair_handshake(p), 0);
	return p;
}

static uint64_t cnt(const struct nvsc_pair *p, enum nvsp_counter c)
{
	struct nvsp_stats st;

	nvsp_get_stats(p->nv, &st);
	return st.counters[c];
}

static void fill(uint8_t *buf, uint32_t len, uint32_t seed)
{
	for (uint32_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed * 31u + i * 7u);
	memset(buf, 0xff, 6); /* broadcast destination */
}

/* ---- handshake ---- */

static void check_handshake(uint32_t version, uint32_t mtu)
{
	struct nvsc_pair *p = ready(version, mtu, NULL);
	struct nvsc_gsim_stats gs;
	struct nvsp_stats st;

	nvsp_get_stats(p->nv, &st);
	nvsc_gsim_get_stats(p->g, &gs);
	assert_string_equal(st.state, "ready");
	assert_int_equal(st.nvsp_version, version);
	assert_int_equal(gs.nvsp_version, version);
	assert_int_equal(st.ndis_version, version <= NVSP_VERSION_4 ? 0x60001u : 0x6001eu);
	assert_int_equal(st.packet_filter, RNDIS_FILTER_DIRECTED | RNDIS_FILTER_ALL_MULTICAST |
						   RNDIS_FILTER_BROADCAST);
	assert_int_equal(st.guest_mtu, version >= NVSP_VERSION_2 ? mtu : 0);
	assert_memory_equal(gs.mac, MAC, 6);
	assert_int_equal(gs.host_mtu, mtu);
	assert_int_equal(gs.link_speed, 250000000u);
	assert_true(gs.link_up);
	assert_true(gs.recv_section_size >= mtu + 18u + 44u);
	assert_int_equal(gs.recv_sections, (2u << 20) / gs.recv_section_size);
	assert_int_equal(st.recv_sections, gs.recv_sections);
	assert_int_equal(gs.send_section_size, 6144u);
	assert_int_equal(gs.send_sections, (1u << 20) / 6144u);
	if (version >= NVSP_VERSION_5)
		assert_true(gs.rss_refused);
	assert_true(st.counters[NVSP_CNT_INTERRUPTS] > 0);
	nvsc_pair_free(p);
}

static void test_handshake_versions(void **state)
{
	static const uint32_t vers[] = {NVSP_VERSION_1, NVSP_VERSION_2, NVSP_VERSION_4,
					NVSP_VERSION_5, NVSP_VERSION_6, NVSP_VERSION_61};

	(void)state;
	for (size_t i = 0; i < sizeof(vers) / sizeof(vers[0]); i++) {
		check_handshake(vers[i], 1500);
		check_handshake(vers[i], 9000);
	}
}

/* Versions the host does not know are refused, the guest falls back. */
static void test_handshake_fallback(void **state)
{
	struct nvsc_pair *p = make(NVSP_VERSION_61, 1500, NULL);
	struct nvsp_msg m = {.type = NVSP_MSG_INIT};
	struct nvsp_stats st;

	(void)state;
	m.u.init.min_version = 0x70000;
	m.u.init.max_version = 0x70000;
	assert_int_equal(nvsc_gsim_send_nvsp(p->g, &m, sizeof(m)), 0);
	assert_int_equal(nvsp_poll(p->nv, &p->sink, 8), 0);
	nvsp_get_stats(p->nv, &st);
	assert_int_equal(st.nvsp_version, 0);
	assert_string_equal(st.state, "init");
	nvsc_pair_free(p);
}

/* ---- guest -> switch ---- */

static void send_and_check(struct nvsc_pair *p, uint32_t len, const struct nvsc_gsim_tx *tx,
			   uint32_t seed)
{
	uint8_t frame[9100];
	uint64_t before = p->host_frames;
	const struct nvsc_pair_frame *f;

	fill(frame, len, seed);
	assert_int_equal(nvsc_gsim_send(p->g, frame, len, tx), 0);
	assert_int_equal(nvsc_pair_pump(p, 20), 0);
	assert_int_equal(p->host_frames, before + 1);
	f = &p->host_rx[before % NVSC_PAIR_KEEP];
	assert_int_equal(f->len, len);
	assert_memory_equal(f->data, frame, len);
	assert_int_equal(f->info.has_vlan, tx && tx->has_vlan);
	if (tx && tx->has_vlan)
		assert_int_equal(f->info.vlan_tci, tx->vlan_tci);
}

static void test_tx_sections(void **state)
{
	struct nvsc_pair *p = ready(NVSP_VERSION_61, 1500, NULL);
	struct nvsc_gsim_tx vlan = {.has_vlan = true, .vlan_tci = 0xa00d}; /* pri 5, vid 13 */
	struct nvsc_gsim_stats gs;
	uint8_t frame[1518];

	(void)state;
	send_and_check(p, 60, NULL, 1);
	send_and_check(p, 1514, NULL, 2);
	send_and_check(p, 1518, &vlan, 3);
	vlan.vlan_tci = 0x1fff; /* DEI + vid 4095 */
	send_and_check(p, 100, &vlan, 4);
	/* a burst: each frame in its own section, all completed */
	for (uint32_t i = 0; i < 40; i++) {
		fill(frame, 200 + i, i);
		assert_int_equal(nvsc_gsim_send(p->g, frame, 200 + i, NULL), 0);
	}
	nvsc_gsim_get_stats(p->g, &gs);
	assert_int_equal(gs.send_sections_in_use, 40);
	assert_int_equal(nvsc_pair_pump(p, 20), 0);
	nvsc_gsim_get_stats(p->g, &gs);
	assert_int_equal(gs.send_sections_in_use, 0);
	assert_int_equal(p->host_frames, 44);
	assert_int_equal(cnt(p, NVSP_CNT_RX_FRAMES), 44);
	/* too big for the MTU: the simulator refuses like a driver would */
	assert_int_equal(nvsc_gsim_send(p->g, frame, 1519, NULL), -EINVAL);
	nvsc_pair_free(p);
}

static void test_tx_gpa_direct(void **state)
{
	struct nvsc_pair *p = ready(NVSP_VERSION_61, 9000, NULL);
	struct nvsc_gsim_tx tx = {.gpa_direct = true};

	(void)state;
	send_and_check(p, 64, &tx, 1);
	tx.page_offset = 4096 - 20; /* RNDIS header crosses a page */
	send_and_check(p, 3000, &tx, 2);
	assert_true(p->host_rx[1].iovcnt >= 1);
	tx.page_offset = 4000; /* frame crosses two page boundaries */
	tx.has_vlan = true;
	tx.vlan_tci = 42;
	send_and_check(p, 9018, &tx, 3);
	assert_true(p->host_rx[2].iovcnt >= 1);
	assert_int_equal(cnt(p, NVSP_CNT_RX_FRAMES), 3);
	nvsc_pair_free(p);
}

/* The whole handshake through GPA direct (control messages too). */
static void test_gpa_direct_handshake(void **state)
{
	struct nvsc_gsim_config gc = {.gpa_direct = true};
	struct nvsc_pair *p = ready(NVSP_VERSION_5, 1500, &gc);

	(void)state;
	send_and_check(p, 1514, NULL, 9);
	nvsc_pair_free(p);
}

static void test_tx_sink_drop(void **state)
{
	struct nvsc_pair *p = ready(NVSP_VERSION_61, 1500, NULL);
	uint8_t frame[100];
	struct nvsc_gsim_stats gs;

	(void)state;
	fill(frame, sizeof(frame), 1);
	p->sink_ret = -ENOBUFS;
	assert_int_equal(nvsc_gsim_send(p->g, frame, sizeof(frame), NULL), 0);
	assert_int_equal(nvsc_pair_pump(p, 20), 0);
	assert_int_equal(cnt(p, NVSP_CNT_RX_DROP_SINK), 1);
	nvsc_gsim_get_stats(p->g, &gs);
	assert_int_equal(gs.send_sections_in_use, 0); /* completed anyway */
	nvsc_pair_free(p);
}

/* Linux batches several RNDIS messages (padded to 8 bytes) into one section. */
static void test_tx_batched_section(void **state)
{
	struct nvsc_pair *p = ready(NVSP_VERSION_61, 1500, NULL);
	uint8_t sec[1024];
	uint32_t off = 0;

	(void)state;
	memset(sec, 0, sizeof(sec));
	for (uint32_t i = 0; i < 3; i++) {
		uint32_t flen = 61 + i * 100, mlen = (44 + flen + 7) & ~7u;
		struct rndis_hdr h = {RNDIS_MSG_PACKET, mlen};
		struct rndis_packet pk = {.data_offset = sizeof(pk), .data_len = flen};

		memcpy(sec + off, &h, sizeof(h));
		memcpy(sec + off + 8, &pk, sizeof(pk));
		fill(sec + off + 44, flen, i);
		off += mlen;
	}
	assert_int_equal(nvsc_gsim_send_rndis_section(p->g, NVSP_CHANNEL_DATA, 1, 1, off, sec, off),
			 0);
	assert_int_equal(nvsc_pair_pump(p, 20), 0);
	assert_int_equal(p->host_frames, 3);
	for (uint32_t i = 0; i < 3; i++) {
		uint8_t want[400];

		fill(want, 61 + i * 100, i);
		assert_int_equal(p->host_rx[i].len, 61 + i * 100);
		assert_memory_equal(p->host_rx[i].data, want, 61 + i * 100);
	}
	nvsc_pair_free(p);
}

/* Frames sent with "more" as Linux batches them under load: n frames of len
 * bytes, the last without "more" (which sends the batch). */
static void send_batch(struct nvsc_pair *p, unsigned int n, uint32_t len, uint32_t seed)
{
	struct nvsc_gsim_tx tx = {.more = true};
	uint8_t frame[1514];

	for (unsigned int i = 0; i < n; i++) {
		fill(frame, len, seed + i);
		tx.more = i + 1 < n;
		assert_int_equal(nvsc_gsim_send(p->g, frame, len, &tx), 0);
	}
}

/* nvsp_poll() hands the sink at most max frames: a packet whose data messages
 * do not fit the room left stays in the ring for the next call. */
static void test_poll_frame_bound(void **state)
{
	struct nvsc_gsim_config gc = {.batch = 8};
	struct nvsc_pair *p = ready(NVSP_VERSION_61, 1500, &gc);
	struct nvsc_gsim_stats gs;
	int r;

	(void)state;
	send_batch(p, 64, 64, 1); /* eight packets of eight frames */
	nvsc_gsim_get_stats(p->g, &gs);
	assert_int_equal(gs.tx_packets, 8);
	assert_int_equal(gs.tx_batches, 8);
	assert_int_equal(nvsp_poll(p->nv, &p->sink, NVSP_MAX_PKTS_PER_MSG - 1), -EINVAL);
	assert_int_equal(nvsp_poll(p->nv, &p->sink, 12), 8); /* the second packet does not fit */
	assert_int_equal(p->host_frames, 8);
	assert_int_equal(nvsp_poll(p->nv, &p->sink, 32), 32);
	assert_int_equal(p->host_frames, 40);
	r = nvsp_poll(p->nv, &p->sink, 32);
	assert_int_equal(r, 24);
	assert_int_equal(nvsc_pair_pump(p, 20), 0);
	assert_int_equal(p->host_frames, 64);
	for (unsigned int i = 0; i < NVSC_PAIR_KEEP; i++) {
		uint8_t want[64];

		fill(want, 64, 1 + i);
		assert_int_equal(p->host_rx[i].len, 64);
		assert_memory_equal(p->host_rx[i].data, want, 64);
	}
	nvsc_gsim_get_stats(p->g, &gs);
	assert_int_equal(gs.tx_in_flight, 0); /* every packet completed */
	assert_int_equal(gs.send_sections_in_use, 0);
	nvsc_pair_free(p);
}

/* Linux's partial copy: a batch's section holds the header of a frame that did
 * not fit, whose data follow by GPA-direct range in the same packet. */
static void test_tx_partial_copy(void **state)
{
	struct nvsc_gsim_config gc = {.batch = 8};
	struct nvsc_pair *p = ready(NVSP_VERSION_61, 1500, &gc);
	struct nvsc_gsim_stats gs;

	(void)state;
	send_batch(p, 10, 1514, 7); /* 4 in a section + the 5th partially, twice */
	nvsc_gsim_get_stats(p->g, &gs);
	assert_int_equal(gs.tx_partial, 2);
	assert_int_equal(gs.tx_frames, 10);
	assert_int_equal(nvsc_pair_pump(p, 20), 0);
	assert_false(nvsp_failed(p->nv));
	assert_int_equal(p->host_frames, 10);
	for (unsigned int i = 0; i < 10; i++) {
		uint8_t want[1514];

		fill(want, 1514, 7 + i);
		assert_int_equal(p->host_rx[i].len, 1514);
		assert_memory_equal(p->host_rx[i].data, want, 1514);
	}
	nvsc_gsim_get_stats(p->g, &gs);
	assert_int_equal(gs.tx_in_flight, 0);
	assert_int_equal(gs.send_sections_in_use, 0);
	nvsc_pair_free(p);
}

/* More RNDIS messages in one packet than the advertised max_pkts_per_msg: the
 * channel fails (err_rndis_count) before any frame reaches the sink. */
static void test_too_many_messages(void **state)
{
	for (int gpa = 0; gpa < 2; gpa++) {
		struct nvsc_pair *p = ready(NVSP_VERSION_61, 1500, NULL);
		uint8_t msgs[9 * 108];
		uint32_t off = 0;

		(void)state;
		for (unsigned int i = 0; i <= NVSP_MAX_PKTS_PER_MSG; i++) {
			struct rndis_hdr h = {RNDIS_MSG_PACKET, 108};
			struct rndis_packet pk = {.data_offset = sizeof(pk), .data_len = 64};

			memcpy(msgs + off, &h, sizeof(h));
			memcpy(msgs + off + 8, &pk, sizeof(pk));
			fill(msgs + off + 44, 64, i);
			off += 108;
		}
		if (!gpa) {
			assert_int_equal(nvsc_gsim_send_rndis_section(p->g, NVSP_CHANNEL_DATA, 0, 0,
								      off, msgs, off),
					 0);
		} else {
			struct {
				struct nvsp_gpa_hdr h;
				struct nvsp_gpa_range r;
				uint64_t pfn;
			} __attribute__((packed))
			ext = {.h = {.range_count = 1}, .r = {.byte_count = off}};
			struct nvsp_msg m = {.type = NVSP_MSG1_SEND_RNDIS_PKT};
			uint64_t gpa_base;
			uint32_t room;

			memcpy(nvsc_gsim_scratch(p->g, &gpa_base, &room), msgs, off);
			ext.pfn = gpa_base / 4096;
			m.u.rndis_pkt.section_index = NVSP_INVALID_SECTION;
			assert_int_equal(nvsc_gsim_send_raw(p->g, VMBUS_PKT_DATA_GPA_DIRECT,
							    VMBUS_PKT_F_COMPLETION_REQUESTED, 1,
							    &ext, sizeof(ext), &m, NVSP_MSG_SIZE),
					 0);
		}
		assert_int_equal(nvsp_poll(p->nv, &p->sink, 64), -EPROTO);
		assert_int_equal(cnt(p, NVSP_CNT_ERR_RNDIS_COUNT), 1);
		assert_int_equal(p->host_frames, 0);
		nvsc_pair_free(p);
	}
}

/* KEEPALIVE is answered; an unknown OID gets NOT_SUPPORTED, not a failure. */
static void test_rndis_keepalive_and_unknown_oid(void **state)
{
	struct nvsc_pair *p = ready(NVSP_VERSION_61, 1500, NULL);
	struct {
		struct rndis_hdr h;
		struct rndis_id_req r;
	} __attribute__((packed)) ka = {{RNDIS_MSG_KEEPALIVE, sizeof(ka)}, {77}};
	struct {
		struct rndis_hdr h;
		struct rndis_oid_req q;
	} __attribute__((packed)) q = {{RNDIS_MSG_QUERY, sizeof(q)}, {78, 0x00010116, 0, 0, 0}};
	struct nvsc_gsim_stats gs0, gs1;
	uint64_t ctrl = cnt(p, NVSP_CNT_RNDIS_CTRL_MSGS);
	uint64_t nsup = cnt(p, NVSP_CNT_RNDIS_NOT_SUPPORTED); /* RSS caps in the handshake */

	(void)state;
	nvsc_gsim_get_stats(p->g, &gs0);
	assert_int_equal(nvsc_gsim_send_rndis_section(p->g, NVSP_CHANNEL_CONTROL, 0, 0, sizeof(ka),
						      &ka, sizeof(ka)),
			 0);
	assert_int_equal(nvsc_pair_pump(p, 20), 0);
	nvsc_gsim_get_stats(p->g, &gs1);
	assert_int_equal(gs1.rx_ctrl_msgs, gs0.rx_ctrl_msgs + 1);
	assert_int_equal(cnt(p, NVSP_CNT_RNDIS_CTRL_MSGS), ctrl + 1);
	assert_int_equal(nvsc_gsim_send_rndis_section(p->g, NVSP_CHANNEL_CONTROL, 0, 0, sizeof(q),
						      &q, sizeof(q)),
			 0);
	assert_int_equal(nvsp_poll(p->nv, &p->sink, 8), 0);
	assert_int_equal(nsup, 1);
	assert_int_equal(cnt(p, NVSP_CNT_RNDIS_NOT_SUPPORTED), nsup + 1);
	assert_false(nvsp_failed(p->nv));
	nvsc_pair_free(p);
}

/* ---- switch -> guest ---- */

static unsigned int deliver(struct nvsc_pair *p, unsigned int n, uint32_t len, uint32_t seed,
			    uint8_t (*bufs)[1514])
{
	struct nvsp_frame fr[128];

	for (unsigned int i = 0; i < n; i++) {
		fill(bufs[i], len, seed + i);
		fr[i].data = bufs[i];
		fr[i].len = len;
	}
	return nvsp_deliver(p->nv, fr, n);
}

static void test_rx_burst(void **state)
{
	static uint8_t bufs[128][1514];
	struct nvsc_pair *p = ready(NVSP_VERSION_61, 1500, NULL);
	struct nvsp_stats st;
	uint64_t pkts = cnt(p, NVSP_CNT_TX_PACKETS);

	(void)state;
	assert_int_equal(deliver(p, 32, 1514, 100, bufs), 32);
	assert_int_equal(cnt(p, NVSP_CNT_TX_PACKETS), pkts + 1); /* one transfer-page packet */
	nvsp_get_stats(p->nv, &st);
	assert_int_equal(st.recv_sections_in_use, 32);
	assert_int_equal(nvsc_pair_pump(p, 20), 0);
	assert_int_equal(p->guest_frames, 32);
	for (unsigned int i = 0; i < 32; i++) {
		assert_int_equal(p->guest_rx[i].len, 1514);
		assert_memory_equal(p->guest_rx[i].data, bufs[i], 1514);
	}
	nvsp_get_stats(p->nv, &st);
	assert_int_equal(st.recv_sections_in_use, 0); /* completion freed them */
	assert_int_equal(st.counters[NVSP_CNT_TX_FRAMES], 32);
	/* more than one packet's worth of ranges is split */
	assert_int_equal(deliver(p, 100, 60, 7, bufs), 100);
	assert_int_equal(cnt(p, NVSP_CNT_TX_PACKETS), pkts + 3);
	assert_int_equal(nvsc_pair_pump(p, 20), 0);
	assert_int_equal(p->guest_frames, 132);
	nvsc_pair_free(p);
}

static void test_rx_too_big(void **state)
{
	struct nvsc_pair *p = ready(NVSP_VERSION_61, 1500, NULL);
	static uint8_t big[2000];
	struct nvsp_frame fr[2] = {{big, 1600}, {big, 100}};

	(void)state;
	assert_int_equal(nvsp_deliver(p->nv, fr, 2), 2);
	assert_int_equal(cnt(p, NVSP_CNT_TX_DROP_TOO_BIG), 1);
	assert_int_equal(cnt(p, NVSP_CNT_TX_FRAMES), 1);
	nvsc_pair_free(p);
}

static void test_rx_section_exhaustion(void **state)
{
	static uint8_t bufs[128][1514];
	struct nvsc_gsim_config gc = {.recv_buf_size = 64 * 1024};
	struct nvsc_pair *p = ready(NVSP_VERSION_61, 1500, &gc);
	struct nvsp_stats st;
	unsigned int n;

	(void)state;
	nvsp_get_stats(p->nv, &st);
	assert_true(st.recv_sections > 10 && st.recv_sections < 64);
	n = deliver(p, 64, 200, 1, bufs);
	assert_int_equal(n, st.recv_sections);
	assert_int_equal(cnt(p, NVSP_CNT_TX_DROP_NO_SECTION), 64 - n);
	assert_int_equal(deliver(p, 1, 200, 1, bufs), 0);
	assert_int_equal(nvsc_pair_pump(p, 20), 0);
	assert_int_equal(p->guest_frames, n);
	assert_int_equal(deliver(p, 8, 200, 1, bufs), 8);
	nvsc_pair_free(p);
}

static void test_rx_ring_full(void **state)
{
	static uint8_t bufs[128][1514];
	struct nvsc_gsim_config gc = {.ring_size = 3 * 4096};
	struct nvsc_pair *p = ready(NVSP_VERSION_61, 1500, &gc);
	unsigned int total = 0, n;

	(void)state;
	do {
		n = deliver(p, 1, 60, total, bufs);
		total += n;
	} while (n == 1 && total < 1000);
	assert_true(total > 10 && total < 1000);
	assert_int_equal(cnt(p, NVSP_CNT_TX_DROP_RING_FULL), 1);
	assert_int_equal(nvsc_pair_pump(p, 50), 0);
	assert_int_equal(p->guest_frames, total);
	assert_int_equal(deliver(p, 4, 60, 1, bufs), 4);
	assert_int_equal(nvsc_pair_pump(p, 50), 0);
	assert_int_equal(p->guest_frames, total + 4);
	nvsc_pair_free(p);
}

/* The host must still answer when its completions do not fit: the guest's
 * packet waits in the ring until the guest made room. */
static void test_tx_completion_ring_full(void **state)
{
	static uint8_t bufs[128][1514];
	struct nvsc_gsim_config gc = {.ring_size = 3 * 4096};
	struct nvsc_pair *p = ready(NVSP_VERSION_61, 1500, &gc);
	uint8_t frame[64];

	(void)state;
	while (deliver(p, 1, 60, 0, bufs) == 1)
		;
	fill(frame, sizeof(frame), 3);
	assert_int_equal(nvsc_gsim_send(p->g, frame, sizeof(frame), NULL), 0);
	assert_int_equal(nvsp_poll(p->nv, &p->sink, 8), 0); /* no room for the completion */
	assert_true(nvsp_wants_poll(p->nv));
	assert_int_equal(p->host_frames, 0);
	assert_int_equal(nvsc_pair_pump(p, 50), 0);
	assert_int_equal(p->host_frames, 1);
	nvsc_pair_free(p);
}

/* ---- interrupts ---- */

static void test_interrupt_mask(void **state)
{
	static uint8_t bufs[128][1514];
	struct nvsc_pair *p = ready(NVSP_VERSION_61, 1500, NULL);
	uint64_t sig;
	uint8_t frame[64];

	(void)state;
	/* guest polls (NAPI): the host must not interrupt */
	nvsc_gsim_mask(p->g);
	sig = p->host_signals;
	assert_int_equal(deliver(p, 4, 60, 1, bufs), 4);
	assert_int_equal(deliver(p, 4, 60, 1, bufs), 4);
	assert_int_equal(p->host_signals, sig);
	assert_true(nvsc_gsim_unmask(p->g) > 0);
	assert_int_equal(nvsc_pair_pump(p, 20), 0);
	assert_int_equal(p->guest_frames, 8);
	/* unmasked and empty: one interrupt per packet into an empty ring */
	sig = p->host_signals;
	assert_int_equal(deliver(p, 4, 60, 1, bufs), 4);
	assert_int_equal(p->host_signals, sig + 1);
	assert_int_equal(deliver(p, 4, 60, 1, bufs), 4); /* ring not empty: no signal */
	assert_int_equal(p->host_signals, sig + 1);
	assert_int_equal(nvsc_pair_pump(p, 20), 0);

	/* host polls: the guest must not ring the doorbell */
	nvsp_mask(p->nv);
	sig = p->guest_signals;
	fill(frame, sizeof(frame), 1);
	assert_int_equal(nvsc_gsim_send(p->g, frame, sizeof(frame), NULL), 0);
	assert_int_equal(p->guest_signals, sig);
	assert_true(nvsp_unmask(p->nv) > 0);
	assert_int_equal(nvsc_pair_pump(p, 20), 0);
	assert_int_equal(p->host_frames, 1);
	assert_int_equal(nvsp_unmask(p->nv), 0);
	assert_int_equal(nvsc_gsim_send(p->g, frame, sizeof(frame), NULL), 0);
	assert_int_equal(p->guest_signals, sig + 1);
	nvsc_pair_free(p);
}

/* ---- link and filter ---- */

static void test_link(void **state)
{
	static uint8_t bufs[128][1514];
	struct nvsc_pair *p = ready(NVSP_VERSION_61, 1500, NULL);
	struct nvsc_gsim_stats gs;

	(void)state;
	nvsp_set_link(p->nv, false);
	assert_int_equal(nvsc_pair_pump(p, 20), 0);
	nvsc_gsim_get_stats(p->g, &gs);
	assert_false(gs.link_up);
	assert_int_equal(gs.link_changes, 1);
	assert_int_equal(deliver(p, 3, 60, 1, bufs), 0);
	assert_int_equal(cnt(p, NVSP_CNT_TX_DROP_NOT_READY), 3);
	nvsp_set_link(p->nv, true);
	assert_int_equal(nvsc_pair_pump(p, 20), 0);
	nvsc_gsim_get_stats(p->g, &gs);
	assert_true(gs.link_up);
	assert_int_equal(gs.link_changes, 2);
	assert_int_equal(deliver(p, 3, 60, 1, bufs), 3);
	nvsc_pair_free(p);
}

static void test_filter_zero(void **state)
{
	static uint8_t bufs[128][1514];
	struct nvsc_pair *p = ready(NVSP_VERSION_61, 1500, NULL);

	(void)state;
	assert_int_equal(nvsc_gsim_set_filter(p->g, 0), 0);
	assert_int_equal(nvsc_pair_pump(p, 20), 0);
	assert_int_equal(deliver(p, 5, 60, 1, bufs), 0);
	assert_int_equal(cnt(p, NVSP_CNT_TX_DROP_FILTER), 5);
	assert_int_equal(nvsc_gsim_set_filter(p->g, RNDIS_FILTER_DIRECTED), 0);
	assert_int_equal(nvsc_pair_pump(p, 20), 0);
	assert_int_equal(deliver(p, 5, 60, 1, bufs), 5);
	nvsc_pair_free(p);
}

/* Before the handshake nothing is delivered. */
static void test_not_ready(void **state)
{
	static uint8_t bufs[128][1514];
	struct nvsc_pair *p = make(NVSP_VERSION_61, 1500, NULL);

	(void)state;
	assert_int_equal(deliver(p, 2, 60, 1, bufs), 0);
	assert_int_equal(cnt(p, NVSP_CNT_TX_DROP_NOT_READY), 2);
	nvsc_pair_free(p);
}

/* ---- GPADL waits ---- */

static void test_gpadl_wait(void **state)
{
	struct nvsc_pair *p = make(NVSP_VERSION_61, 1500, NULL);
	struct nvsp_stats st;

	(void)state;
	p->hide_gpadls = true;
	assert_int_equal(nvsc_gsim_start(p->g), 0);
	assert_int_equal(nvsc_pair_pump(p, 10), 0);
	assert_false(nvsc_gsim_ready(p->g));
	assert_true(nvsp_wants_poll(p->nv));
	p->now_ms += 1500;
	assert_int_equal(nvsc_pair_pump(p, 10), 0);
	p->hide_gpadls = false;
	assert_int_equal(nvsc_pair_pump(p, 200), 0);
	assert_true(nvsc_gsim_ready(p->g));
	nvsp_get_stats(p->nv, &st);
	assert_int_equal(st.counters[NVSP_CNT_GPADL_WAITS], 1);
	nvsc_pair_free(p);
}

static void test_gpadl_timeout(void **state)
{
	struct nvsc_pair *p = make(NVSP_VERSION_61, 1500, NULL);
	struct nvsp_stats st;

	(void)state;
	p->hide_gpadls = true;
	assert_int_equal(nvsc_gsim_start(p->g), 0);
	assert_int_equal(nvsc_pair_pump(p, 10), 0);
	p->now_ms += 2500;
	assert_int_equal(nvsc_pair_pump(p, 10), -EPROTO);
	nvsp_get_stats(p->nv, &st);
	assert_string_equal(st.state, "failed");
	assert_string_equal(st.fail_reason, "err_gpadl_timeout");
	nvsc_pair_free(p);
}

static void test_gpadl_unknown(void **state)
{
	struct nvsc_pair *p = make(NVSP_VERSION_61, 1500, NULL);

	(void)state;
	p->gpadls[1].id = 0x999; /* the receive buffer's id is unknown to the host */
	assert_int_equal(nvsc_gsim_start(p->g), 0);
	assert_int_equal(nvsc_pair_pump(p, 20), -EPROTO); /* the guest refuses the failure */
	assert_string_equal(nvsc_gsim_error(p->g), "receive buffer refused");
	assert_int_equal(cnt(p, NVSP_CNT_GPADL_UNKNOWN), 1);
	assert_int_equal(p->log_lines, 1);
	assert_false(nvsp_failed(p->nv));
	nvsc_pair_free(p);
}

/* ---- save / restore ---- */

static void test_save_restore(void **state)
{
	static uint8_t bufs[128][1514];
	struct nvsc_pair *p = ready(NVSP_VERSION_61, 1500, NULL);
	uint8_t buf[NVSP_SAVE_MAX], bad[NVSP_SAVE_MAX];
	struct nvsc_gsim_stats gs;
	struct nvsp_stats st;
	int len;

	(void)state;
	/* in flight at the reconnect: the guest read the packet, its completion is still
	 * in the ring when the host goes away */
	assert_int_equal(deliver(p, 10, 100, 1, bufs), 10);
	assert_int_equal(nvsc_gsim_poll(p->g, 8), 1);
	assert_int_equal(p->guest_frames, 10);
	len = nvsp_save(p->nv, buf, sizeof(buf));
	assert_true(len > 0 && len <= (int)NVSP_SAVE_MAX);
	assert_int_equal(nvsp_save(p->nv, buf, 8), -ENOSPC);

	/* a corrupted state is refused; a good one applies */
	memcpy(bad, buf, (size_t)len);
	bad[20] ^= 0xff;
	assert_int_equal(nvsc_pair_reconnect(p, bad, (size_t)len), -EINVAL);
	assert_int_equal(nvsc_pair_reconnect(p, buf, (size_t)len), 0);
	nvsp_get_stats(p->nv, &st);
	assert_string_equal(st.state, "ready");
	assert_int_equal(st.nvsp_version, NVSP_VERSION_61);

	assert_int_equal(nvsc_pair_pump(p, 50), 0);
	nvsc_gsim_get_stats(p->g, &gs);
	assert_int_equal(gs.link_changes, 2); /* down, then up */
	assert_true(gs.link_up);
	assert_int_equal(cnt(p, NVSP_CNT_STALE_COMPLETIONS), 1);
	nvsp_get_stats(p->nv, &st);
	assert_int_equal(st.recv_sections_in_use, 0);

	/* traffic continues both ways */
	assert_int_equal(deliver(p, 5, 100, 1, bufs), 5);
	assert_int_equal(nvsc_pair_pump(p, 50), 0);
	assert_int_equal(p->guest_frames, 15);
	send_and_check(p, 300, NULL, 5);
	nvsc_pair_free(p);
}

static void test_restore_validation(void **state)
{
	struct nvsc_pair *p = ready(NVSP_VERSION_61, 1500, NULL);
	struct nvsp_config other = {.mtu = 9000};
	uint8_t buf[NVSP_SAVE_MAX];
	int len = nvsp_save(p->nv, buf, sizeof(buf));

	(void)state;
	assert_true(len > 0);
	assert_int_equal(nvsp_restore(p->nv, buf, (size_t)len), -EBUSY);
	/* a different MTU than the saved one */
	memcpy(other.mac, MAC, 6);
	p->hcfg = other;
	assert_int_equal(nvsc_pair_reconnect(p, buf, (size_t)len), -EINVAL);
	nvsc_pair_free(p);
}

/* ---- stats ---- */

static void test_counter_names(void **state)
{
	(void)state;
	assert_string_equal(nvsp_counter_name(NVSP_CNT_RX_FRAMES), "rx_frames");
	assert_string_equal(nvsp_counter_name(NVSP_CNT_ERR_GPADL_TIMEOUT), "err_gpadl_timeout");
	assert_null(nvsp_counter_name(NVSP_CNT__COUNT));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_versions),
		cmocka_unit_test(test_handshake_fallback),
		cmocka_unit_test(test_tx_sections),
		cmocka_unit_test(test_tx_gpa_direct),
		cmocka_unit_test(test_gpa_direct_handshake),
		cmocka_unit_test(test_tx_sink_drop),
		cmocka_unit_test(test_tx_batched_section),
		cmocka_unit_test(test_poll_frame_bound),
		cmocka_unit_test(test_tx_partial_copy),
		cmocka_unit_test(test_too_many_messages),
		cmocka_unit_test(test_rndis_keepalive_and_unknown_oid),
		cmocka_unit_test(test_rx_burst),
		cmocka_unit_test(test_rx_too_big),
		cmocka_unit_test(test_rx_section_exhaustion),
		cmocka_unit_test(test_rx_ring_full),
		cmocka_unit_test(test_tx_completion_ring_full),
		cmocka_unit_test(test_interrupt_mask),
		cmocka_unit_test(test_link),
		cmocka_unit_test(test_filter_zero),
		cmocka_unit_test(test_not_ready),
		cmocka_unit_test(test_gpadl_wait),
		cmocka_unit_test(test_gpadl_timeout),
		cmocka_unit_test(test_gpadl_unknown),
		cmocka_unit_test(test_save_restore),
		cmocka_unit_test(test_restore_validation),
		cmocka_unit_test(test_counter_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
