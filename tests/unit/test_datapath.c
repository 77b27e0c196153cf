/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the datapath through the switch state (vswitch/vsw.c,
 * datapath.c) with dummy ports: one datapath lcore runs for real, frames
 * are injected into the ports' rx rings and collected from their tx rings.
 * Covers flooding and learning, unicast, 802.1Q tag insert/strip/keep with
 * priority bits, admin state, runt frames and full transmit queues; and
 * capture, which holds the switch's own mbufs (zero copy): the bytes
 * captured are the frame as it was at the tap although the switch then
 * pushes or pops a tag, every held mbuf goes back to the pool, and a writer
 * that cannot send holds at most its bound of mbufs while the switch goes
 * on forwarding everything and the capture counts its drops.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "vsw.h"

static struct vsw *vsw;
static struct rte_mempool *pool;
static const uint8_t MA[6] = {2, 0, 0, 0, 0, 0xa}, MB[6] = {2, 0, 0, 0, 0, 0xb};
static const uint8_t BCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* Builds a 64-byte frame (tci < 0: untagged) with payload byte id. */
static struct rte_mbuf *mkframe(const uint8_t dst[6], const uint8_t src[6], int tci, uint8_t id,
				uint16_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t *p;

	assert_non_null(m);
	p = (uint8_t *)rte_pktmbuf_append(m, len);
	memset(p, id, len);
	if (len < 14)
		return m;
	memcpy(p, dst, 6);
	memcpy(p + 6, src, 6);
	if (tci >= 0) {
		p[12] = 0x81, p[13] = 0x00, p[14] = (uint8_t)(tci >> 8), p[15] = (uint8_t)tci;
		p[16] = 0x88, p[17] = 0xb5;
	} else {
		p[12] = 0x88, p[13] = 0xb5;
	}
	return m;
}

static struct rte_ring *ring(const char *dir, const char *port)
{
	char name[64];

	snprintf(name, sizeof(name), "dummy_%s:%s", dir, port);
	return rte_ring_lookup(name);
}

static void inject(const char *port, struct rte_mbuf *m)
{
	assert_int_equal(rte_ring_enqueue(ring("rx", port), m), 0);
}

/* Waits until port has sent want frames (or 1 s) and returns how many it sent. */
static unsigned int collect(const char *port, struct rte_mbuf **out, unsigned int want)
{
	uint64_t deadline = rte_rdtsc() + rte_get_tsc_hz();
	unsigned int n = 0;

	while (n < want && rte_rdtsc() < deadline)
		n += rte_ring_dequeue_burst(ring("tx", port), (void **)out + n, want - n, NULL);
	usleep(20000); /* anything more that should not be there */
	n += rte_ring_dequeue_burst(ring("tx", port), (void **)out + n, 64 - n, NULL);
	return n;
}

static void free_all(struct rte_mbuf **m, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		rte_pktmbuf_free(m[i]);
}

static long long stat(const char *port, const char *key, const char *drop)
{
	struct ctl_err err;
	json_t *s = vsw_port_stats_json(vsw, port, false, &err);
	long long v;

	assert_non_null(s);
	v = json_integer_value(drop ? json_object_get(json_object_get(s, "drops"), drop)
				    : json_object_get(s, key));
	json_decref(s);
	return v;
}

static void add_port(const char *sw, const char *name, bool down)
{
	struct vsw_port_params p = {.kind = "dummy", .name = name};
	struct ctl_err err;

	if (vsw_port_add(vsw, sw, &p, down, &err))
		fail_msg("%s", err.msg);
}

static int setup_switch(void **state)
{
	struct ctl_err err;

	(void)state;
	if (vsw_switch_add(vsw, "s", VSW_SWITCH_PRIVATE, NULL, false, &err))
		return -1;
	add_port("s", "a", false);
	add_port("s", "b", false);
	add_port("s", "c", false);
	return 0;
}

static int teardown_switch(void **state)
{
	(void)state;
	return vsw_switch_del(vsw, "s", NULL);
}

static void test_flood_learn_unicast(void **state)
{
	struct rte_mbuf *out[64];

	(void)state;
	inject("a", mkframe(BCAST, MA, -1, 1, 64));
	assert_int_equal(collect("b", out, 1), 1);
	free_all(out, 1);
	assert_int_equal(collect("c", out, 1), 1);
	free_all(out, 1);
	assert_int_equal(collect("a", out, 0), 0); /* never back to the ingress */
	inject("b", mkframe(MA, MB, -1, 2, 64));
	assert_int_equal(collect("a", out, 1), 1);
	assert_int_equal(rte_pktmbuf_mtod(out[0], uint8_t *)[20], 2);
	free_all(out, 1);
	assert_int_equal(collect("c", out, 0), 0); /* learned unicast: only to a */
	inject("a", mkframe(MB, MA, -1, 3, 64));
	assert_int_equal(collect("b", out, 1), 1);
	free_all(out, 1);
	assert_int_equal(collect("c", out, 0), 0);
	assert_int_equal(stat("a", "rx_packets", NULL), 2);
	assert_int_equal(stat("a", "tx_packets", NULL), 1);
	assert_int_equal(stat("a", "flood_packets", NULL), 1);
	assert_int_equal(stat("c", "tx_packets", NULL), 1);
}

/* Sends a frame dst <- src into port in and checks that it leaves by exactly the ports in want. */
static void expect_out(const char *in, const uint8_t dst[6], const uint8_t src[6],
		       const char *want)
{
	static const char *const ports[] = {"a", "b", "c"};
	struct rte_mbuf *out[64];

	inject(in, mkframe(dst, src, -1, 7, 64));
	for (unsigned int i = 0; i < 3; i++) {
		unsigned int expected = strchr(want, ports[i][0]) ? 1 : 0;
		unsigned int k = collect(ports[i], out, expected);

		free_all(out, k);
		if (k != expected)
			fail_msg("from %s: port %s sent %u frame(s), want %u (expected ports '%s')", in,
				 ports[i], k, expected, want);
	}
}

/*
 * The datapath caches MAC-table answers per loop: after each change of the
 * table (a move, a deletion, a static entry) frames follow the table, not
 * the cache.
 */
static void test_mac_cache_follows_table(void **state)
{
	static const uint8_t MC[6] = {2, 0, 0, 0, 0, 0xc};
	struct ctl_err err;

	(void)state;
	expect_out("a", BCAST, MA, "bc");
	expect_out("b", MA, MB, "a");
	expect_out("b", MA, MB, "a"); /* now from the cache */
	expect_out("a", MB, MA, "b");
	/* MA moves to c */
	expect_out("c", MB, MA, "b");
	expect_out("b", MA, MB, "c");
	expect_out("b", MA, MB, "c");
	/* deleted: flooded again until MA shows up */
	assert_int_equal(vsw_fdb_del_entry(vsw, "s", MA, 0, &err), 0);
	expect_out("b", MA, MB, "ac");
	/* a static entry wins over the cache and over learning */
	assert_int_equal(vsw_fdb_add_entry(vsw, "s", MA, "a", 0, &err), 0);
	expect_out("b", MA, MB, "a");
	expect_out("c", MB, MA, "b");
	expect_out("b", MA, MB, "a");
	/* a flush of the switch forgets everything cached */
	expect_out("c", MB, MC, "b");
	expect_out("a", MC, MB, "c");
	assert_true(vsw_fdb_flush_switch(vsw, "s", &err) >= 0);
	expect_out("a", MC, MB, "bc");
}

static void test_vlan_tags(void **state)
{
	struct ctl_vid_set allowed;
	struct vsw_vlan_cfg access, trunk;
	struct rte_mbuf *out[64];
	const uint8_t *p;

	(void)state;
	assert_int_equal(vsw_vlan_set_access(&access, 10, NULL), 0);
	ctl_parse_vid_list("allowed", "10,20", &allowed, NULL);
	assert_int_equal(vsw_vlan_set_trunk(&trunk, &allowed, 1, NULL), 0);
	assert_int_equal(vsw_port_set_vlan(vsw, "a", &access, NULL), 0);
	assert_int_equal(vsw_port_set_vlan(vsw, "b", &trunk, NULL), 0);
	assert_int_equal(vsw_port_set_vlan(vsw, "c", &trunk, NULL), 0);
	/* access -> trunks: a tag of VLAN 10 is pushed, priority 0 */
	inject("a", mkframe(BCAST, MA, -1, 4, 64));
	assert_int_equal(collect("b", out, 1), 1);
	p = rte_pktmbuf_mtod(out[0], const uint8_t *);
	assert_int_equal(out[0]->pkt_len, 68);
	assert_true(p[12] == 0x81 && p[13] == 0 && p[14] == 0 && p[15] == 10);
	assert_true(p[16] == 0x88 && p[17] == 0xb5 && p[18] == 4);
	assert_memory_equal(p + 6, MA, 6);
	free_all(out, collect("c", out, 1));
	free_all(out, 1);
	/* trunk -> trunk keeps the tag and its priority; trunk -> access strips it */
	inject("b", mkframe(BCAST, MB, 0xa00a, 5, 64)); /* PCP 5, VID 10 */
	assert_int_equal(collect("c", out, 1), 1);
	p = rte_pktmbuf_mtod(out[0], const uint8_t *);
	assert_true(p[12] == 0x81 && p[14] == 0xa0 && p[15] == 10 && out[0]->pkt_len == 64);
	free_all(out, 1);
	assert_int_equal(collect("a", out, 1), 1);
	p = rte_pktmbuf_mtod(out[0], const uint8_t *);
	assert_int_equal(out[0]->pkt_len, 60);
	assert_true(p[12] == 0x88 && p[13] == 0xb5 && p[14] == 5);
	assert_memory_equal(p, BCAST, 6);
	free_all(out, 1);
	/* native VLAN 1 leaves the trunks untagged and never reaches VLAN 10 */
	inject("b", mkframe(BCAST, MB, -1, 6, 64));
	assert_int_equal(collect("c", out, 1), 1);
	assert_true(rte_pktmbuf_mtod(out[0], uint8_t *)[12] == 0x88);
	free_all(out, 1);
	assert_int_equal(collect("a", out, 0), 0);
	/* VLAN 30 is not allowed on the trunk */
	inject("b", mkframe(BCAST, MB, 30, 7, 64));
	assert_int_equal(collect("c", out, 0), 0);
	assert_int_equal(stat("b", NULL, "vlan_filtered"), 1);
}

static void test_admin_down(void **state)
{
	struct rte_mbuf *out[64];
	struct ctl_err err;

	(void)state;
	inject("a", mkframe(BCAST, MA, -1, 8, 64)); /* learn MA on a */
	free_all(out, collect("b", out, 1));
	free_all(out, collect("c", out, 1));
	assert_int_equal(vsw_port_set_admin(vsw, "a", false, &err), 0);
	inject("b", mkframe(BCAST, MB, -1, 9, 64));
	assert_int_equal(collect("c", out, 1), 1);
	free_all(out, 1);
	assert_int_equal(collect("a", out, 0), 0);
	inject("b", mkframe(MA, MB, -1, 10, 64));
	assert_int_equal(collect("a", out, 0), 0);
	assert_int_equal(stat("b", NULL, "port_down"), 1);
	inject("a", mkframe(BCAST, MA, -1, 11, 64)); /* a down port is not polled */
	assert_int_equal(collect("b", out, 0), 0);
	assert_int_equal(vsw_port_set_admin(vsw, "a", true, &err), 0);
	assert_int_equal(collect("b", out, 1), 1); /* ... until it is up again */
	free_all(out, 1);
	free_all(out, collect("c", out, 1));
}

static void test_malformed_and_tx_full(void **state)
{
	struct rte_mbuf *out[64], *fill[1023];

	(void)state;
	inject("a", mkframe(BCAST, MA, -1, 12, 10));
	assert_int_equal(collect("b", out, 0), 0);
	assert_int_equal(stat("a", NULL, "malformed"), 1);
	for (unsigned int i = 0; i < 1023; i++)
		fill[i] = mkframe(BCAST, MB, -1, 0, 60);
	assert_int_equal(rte_ring_enqueue_bulk(ring("tx", "c"), (void **)fill, 1023, NULL), 1023);
	for (uint8_t i = 0; i < 5; i++)
		inject("a", mkframe(BCAST, MA, -1, i, 64));
	assert_int_equal(collect("b", out, 5), 5);
	free_all(out, 5);
	usleep(50000);
	assert_int_equal(stat("c", NULL, "tx_full"), 5);
	assert_int_equal(stat("c", "tx_packets", NULL), 0);
	while (rte_ring_dequeue_burst(ring("tx", "c"), (void **)out, 64, NULL))
		;
}


/* A capture stream as read back: the pcapng blocks and the summary. */
struct cap_stream {
	uint8_t *data;
	size_t len;
	long long captured, dropped;
};

/* Starts a capture of target (both directions) streamed to the returned socket. */
static int open_capture(const char *target, int sndbuf)
{
	struct vsw_capture_params prm = {.snaplen = 262144, .dirs = VSW_CAPTURE_IN | VSW_CAPTURE_OUT};
	struct ctl_conn conn;
	struct ctl_err err;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	if (sndbuf) {
		setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
		setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sndbuf, sizeof(sndbuf));
	}
	conn = (struct ctl_conn){.fd = sv[0]};
	if (vsw_capture_open(vsw, target, &prm, &conn, &err))
		fail_msg("%s", err.msg);
	usleep(20000); /* the session is in the datapath's snapshot */
	return sv[1];
}

/* What a reader took from a capture's stream. */
struct cap_raw {
	int fd;
	uint8_t *raw;
	size_t cap;
	size_t len; /* read by other threads (atomic) */
	bool eof;
};

/* Reads a bit more of the stream (waits up to 10 ms); false at its end. */
static bool read_some(struct cap_raw *r)
{
	struct pollfd p = {.fd = r->fd, .events = POLLIN};
	ssize_t n;

	if (poll(&p, 1, 10) <= 0)
		return true;
	if (r->len == r->cap)
		assert_non_null(r->raw = realloc(r->raw, r->cap *= 2));
	n = read(r->fd, r->raw + r->len, r->cap - r->len);
	if (n <= 0)
		return false;
	__atomic_store_n(&r->len, r->len + (size_t)n, __ATOMIC_RELEASE);
	return true;
}

static void *reader_main(void *arg)
{
	struct cap_raw *r = arg;

	while (read_some(r))
		;
	__atomic_store_n(&r->eof, true, __ATOMIC_RELEASE);
	return NULL;
}

static void parse_stream(struct cap_raw *r, struct cap_stream *cs);

/* Ends the capture (as Ctrl-C does) and reads its whole stream, ticking the switch. */
static void close_capture(int fd, struct cap_stream *cs)
{
	uint64_t deadline = rte_rdtsc() + 10 * rte_get_tsc_hz();
	struct cap_raw r = {.fd = fd, .cap = 1 << 20};

	assert_non_null(r.raw = malloc(r.cap));
	shutdown(fd, SHUT_WR);
	while (rte_rdtsc() < deadline) {
		vsw_tick(vsw);
		if (!read_some(&r))
			break;
	}
	parse_stream(&r, cs);
}

/* The stream r read whole: the session leaves the switch, and its blocks and summary. */
static void parse_stream(struct cap_raw *r, struct cap_stream *cs)
{
	uint8_t *raw = r->raw;
	size_t len = r->len, pos;
	json_t *sum;
	char *nl;

	close(r->fd);
	for (int i = 0; i < 20; i++) { /* the session leaves the switch */
		vsw_tick(vsw);
		usleep(5000);
	}
	/* JSON line, chunks of a 4-byte length and pcapng, a zero length, the summary */
	nl = memchr(raw, '\n', len);
	assert_non_null(nl);
	pos = (size_t)(nl - (char *)raw) + 1;
	cs->data = malloc(len);
	cs->len = 0;
	for (;;) {
		uint32_t n;

		assert_true(pos + 4 <= len);
		memcpy(&n, raw + pos, 4);
		pos += 4;
		if (!n)
			break;
		assert_true(pos + n <= len);
		memcpy(cs->data + cs->len, raw + pos, n);
		cs->len += n;
		pos += n;
	}
	raw[len - 1] = 0;
	sum = json_loads((char *)raw + pos, 0, NULL);
	assert_non_null(sum);
	cs->captured = json_integer_value(json_object_get(sum, "captured"));
	cs->dropped = json_integer_value(json_object_get(sum, "dropped"));
	json_decref(sum);
	free(raw);
}

/* One enhanced packet block of a capture. */
struct cap_frame {
	uint32_t ifidx, len, dir;
	const uint8_t *data;
};

/* Lists the stream's packets (at most max); returns how many. */
static unsigned int cap_frames(const struct cap_stream *cs, struct cap_frame *out, unsigned int max)
{
	unsigned int n = 0;

	for (size_t pos = 0; pos + 12 <= cs->len;) {
		uint32_t type, blen;

		memcpy(&type, cs->data + pos, 4);
		memcpy(&blen, cs->data + pos + 4, 4);
		assert_true(blen >= 12 && pos + blen <= cs->len);
		if (type == 6 && n < max) {
			struct cap_frame *f = &out[n++];
			size_t padded;

			memcpy(&f->ifidx, cs->data + pos + 8, 4);
			memcpy(&f->len, cs->data + pos + 20, 4);
			f->data = cs->data + pos + 28;
			padded = (f->len + 3) & ~3u;
			memcpy(&f->dir, cs->data + pos + 28 + padded + 4, 4); /* epb_flags option */
		}
		pos += blen;
	}
	return n;
}

/*
 * A capture of the whole switch sees a's untagged frames come in, although
 * the switch then pushes a VLAN tag into the very mbuf it received (the
 * last destination of a flood, or the only one of a unicast), and b's
 * tagged frame come in, although the switch pops its tag for a.
 */
static void test_capture_zero_copy_vlan(void **state)
{
	struct ctl_vid_set allowed;
	struct vsw_vlan_cfg access, trunk;
	struct rte_mbuf *out[64], *sent[3];
	uint8_t want[3][64];
	struct cap_frame f[16];
	struct cap_stream cs;
	unsigned int base, n, in_a = 0, in_b = 0, out_b = 0, out_a = 0;
	int fd;

	(void)state;
	assert_int_equal(vsw_vlan_set_access(&access, 10, NULL), 0);
	ctl_parse_vid_list("allowed", "10", &allowed, NULL);
	assert_int_equal(vsw_vlan_set_trunk(&trunk, &allowed, 1, NULL), 0);
	assert_int_equal(vsw_port_set_vlan(vsw, "a", &access, NULL), 0);
	assert_int_equal(vsw_port_set_vlan(vsw, "b", &trunk, NULL), 0);
	assert_int_equal(vsw_port_set_vlan(vsw, "c", &trunk, NULL), 0);
	base = rte_mempool_in_use_count(pool);
	fd = open_capture("s", 0);
	sent[0] = mkframe(BCAST, MA, -1, 0x21, 64); /* flood: b gets a copy, c the original */
	sent[1] = mkframe(BCAST, MB, 10, 0x22, 64); /* b learns MB; tagged in, popped for a */
	sent[2] = mkframe(MB, MA, -1, 0x23, 64);    /* unicast a -> b: tag pushed */
	for (int i = 0; i < 3; i++) {
		memcpy(want[i], rte_pktmbuf_mtod(sent[i], uint8_t *), 64);
		inject(i == 1 ? "b" : "a", sent[i]);
		usleep(20000);
	}
	n = collect("b", out, 2);
	assert_int_equal(n, 2);
	for (unsigned int i = 0; i < n; i++) {
		const uint8_t *p = rte_pktmbuf_mtod(out[i], const uint8_t *);

		assert_true(out[i]->pkt_len == 68 && p[12] == 0x81 && p[15] == 10);
	}
	free_all(out, n);
	free_all(out, collect("c", out, 2));
	n = collect("a", out, 1);
	assert_int_equal(n, 1);
	assert_int_equal(out[0]->pkt_len, 60);
	free_all(out, n);
	close_capture(fd, &cs);
	assert_int_equal(cs.dropped, 0);
	n = cap_frames(&cs, f, 16);
	assert_int_equal((long long)n, cs.captured);
	/* interfaces in the switch's port order: 0 a, 1 b, 2 c */
	for (unsigned int i = 0; i < n; i++) {
		if (f[i].ifidx == 0 && f[i].dir == 1) {
			const uint8_t *w = want[in_a == 0 ? 0 : 2];

			assert_int_equal(f[i].len, 64);
			assert_memory_equal(f[i].data, w, 64); /* untagged, as received */
			in_a++;
		} else if (f[i].ifidx == 1 && f[i].dir == 1) {
			assert_int_equal(f[i].len, 64);
			assert_memory_equal(f[i].data, want[1], 64); /* still tagged */
			in_b++;
		} else if (f[i].ifidx == 1 && f[i].dir == 2) {
			assert_true(f[i].len == 68 && f[i].data[12] == 0x81 && f[i].data[15] == 10);
			out_b++;
		} else if (f[i].ifidx == 0 && f[i].dir == 2) {
			assert_true(f[i].len == 60 && f[i].data[12] == 0x88);
			assert_memory_equal(f[i].data + 12, want[1] + 16, 48);
			out_a++;
		}
	}
	assert_true(in_a == 2 && in_b == 1 && out_b == 2 && out_a == 1);
	assert_int_equal(n, 2 + 1 + 2 + 1 + 2); /* and two tagged frames out of c */
	free(cs.data);
	/* every mbuf the capture held went back */
	assert_int_equal(rte_mempool_in_use_count(pool), base);
}

/* Makes b's address known (a's frames to it are unicast); returns the mbufs then in use. */
static unsigned int learn_b(void)
{
	struct rte_mbuf *out[64];

	inject("b", mkframe(BCAST, MB, -1, 1, 64));
	free_all(out, collect("a", out, 1));
	free_all(out, collect("c", out, 1));
	return rte_mempool_in_use_count(pool);
}

/*
 * A writer stuck on a client that does not read: the switch forwards every
 * frame anyway, and the capture counts what it could not keep. frames of
 * len bytes are sent; at most max_held mbufs may be in use besides those
 * in the rings and the test's hands.
 */
static void capture_bound(unsigned int frames, uint16_t len, unsigned int max_held)
{
	struct rte_mbuf *out[64], *burst[32];
	unsigned int base, got = 0, peak = 0;
	uint64_t deadline = rte_rdtsc() + 20 * rte_get_tsc_hz();
	struct cap_stream cs;
	int fd;

	base = learn_b();
	fd = open_capture("a", 4096);
	for (unsigned int sent = 0; got < frames && rte_rdtsc() < deadline;) {
		unsigned int k = 0, n;

		/* at most 64 frames waiting for the datapath (it may lose its CPU for a while) */
		while (sent < frames && k < 32 && rte_ring_count(ring("rx", "a")) + k < 64)
			burst[k++] = mkframe(MB, MA, -1, (uint8_t)sent++, len);
		if (k)
			assert_int_equal(rte_ring_enqueue_bulk(ring("rx", "a"), (void **)burst, k, NULL), k);
		usleep(200);
		n = rte_ring_dequeue_burst(ring("tx", "b"), (void **)out, 64, NULL);
		got += n;
		free_all(out, n);
		peak = RTE_MAX(peak, rte_mempool_in_use_count(pool) - base);
	}
	/* plus those in the rings and the test's hands */
	assert_true(peak <= max_held + 64 + 64 + 32);
	assert_int_equal(got, frames);
	assert_int_equal(stat("b", "tx_packets", NULL), frames);
	close_capture(fd, &cs);
	assert_true(cs.dropped > 0);
	assert_int_equal(cs.captured + cs.dropped, frames);
	free(cs.data);
	assert_int_equal(rte_mempool_in_use_count(pool), base);
}

/* Frames longer than the tap encodes: the session holds at most its bound of mbufs. */
static void test_capture_bound(void **state)
{
	(void)state;
	/* held frames, and a batch the writer encodes */
	capture_bound(4000, 300, VSW_CAPTURE_HELD_MAX(8192) + 256);
}

/*
 * Short frames, which the tap encodes into its byte ring (1 MiB, about
 * 9700 blocks of 64-byte frames): the session holds no mbuf, and the
 * capture drops once the ring is full.
 */
static void test_capture_bound_encoded(void **state)
{
	(void)state;
	capture_bound(12000, 64, 0);
}

/*
 * A frame of two segments is captured whole (the writer reads such a frame
 * through its mbuf), next to a frame of one segment (encoded from the
 * address the tap queued), and both go back to the pool.
 */
static void test_capture_multi_segment(void **state)
{
	struct rte_mbuf *out[64], *head, *tail;
	struct cap_frame f[8];
	struct cap_stream cs;
	uint8_t want[100];
	unsigned int base, n;
	int fd;

	(void)state;
	base = learn_b();
	fd = open_capture("a", 0);
	head = mkframe(MB, MA, -1, 0x31, 60);
	assert_non_null(tail = rte_pktmbuf_alloc(pool));
	memset(rte_pktmbuf_append(tail, 40), 0x32, 40);
	memcpy(want, rte_pktmbuf_mtod(head, uint8_t *), 60);
	memset(want + 60, 0x32, 40);
	assert_int_equal(rte_pktmbuf_chain(head, tail), 0);
	inject("a", head);
	inject("a", mkframe(MB, MA, -1, 0x33, 64));
	n = collect("b", out, 2);
	assert_int_equal(n, 2);
	assert_int_equal(out[0]->pkt_len, 100);
	free_all(out, n);
	close_capture(fd, &cs);
	assert_int_equal(cs.dropped, 0);
	assert_int_equal(cs.captured, 2);
	assert_int_equal(cap_frames(&cs, f, 8), 2);
	assert_int_equal(f[0].len, 100);
	assert_memory_equal(f[0].data, want, 100);
	assert_int_equal(f[1].len, 64);
	assert_true(f[1].data[12] == 0x88 && f[1].data[20] == 0x33);
	free(cs.data);
	assert_int_equal(rte_mempool_in_use_count(pool), base);
}

/*
 * A capture that keeps up loses nothing however long the traffic flows,
 * and keeps the frames' order: short frames (encoded by the tap) and long
 * ones (held by reference) alternate. The long ones the writer is done
 * with go back to the pool through the taps (twice the session's bound of
 * them pass), and once the traffic stops, the capture, still running,
 * holds no mbuf.
 */
static void test_capture_steady(void **state)
{
	enum { FRAMES = 4 * VSW_CAPTURE_HELD_MAX(8192), BURST = 8 };
	struct rte_mbuf *out[64], *burst[BURST];
	struct cap_raw r = {.cap = 1 << 20};
	uint64_t deadline = rte_rdtsc() + 20 * rte_get_tsc_hz();
	unsigned int base, got = 0;
	struct cap_stream cs;
	struct cap_frame *f;
	pthread_t reader;

	(void)state;
	base = learn_b();
	r.fd = open_capture("a", 0);
	assert_non_null(r.raw = malloc(r.cap));
	assert_int_equal(pthread_create(&reader, NULL, reader_main, &r), 0);
	for (unsigned int sent = 0; sent < FRAMES && rte_rdtsc() < deadline; sent += BURST) {
		size_t had = __atomic_load_n(&r.len, __ATOMIC_ACQUIRE);

		for (unsigned int i = 0; i < BURST; i++)
			burst[i] = mkframe(MB, MA, -1, (uint8_t)(sent + i), (sent + i) & 1 ? 300 : 64);
		assert_int_equal(rte_ring_enqueue_bulk(ring("rx", "a"), (void **)burst, BURST, NULL),
				 BURST);
		/* the writer has sent them (a 64-byte frame's block is longer than 64 bytes) */
		while (__atomic_load_n(&r.len, __ATOMIC_ACQUIRE) < had + BURST * 64 &&
		       rte_rdtsc() < deadline)
			usleep(20);
		for (unsigned int n; (n = rte_ring_dequeue_burst(ring("tx", "b"), (void **)out, 64,
								  NULL)) != 0;) {
			got += n;
			free_all(out, n);
		}
	}
	while (got < FRAMES && rte_rdtsc() < deadline) {
		unsigned int n = rte_ring_dequeue_burst(ring("tx", "b"), (void **)out, 64, NULL);

		got += n;
		free_all(out, n);
	}
	assert_int_equal(got, FRAMES);
	while (rte_mempool_in_use_count(pool) != base && rte_rdtsc() < deadline)
		usleep(1000);
	assert_int_equal(rte_mempool_in_use_count(pool), base); /* the capture runs on */
	shutdown(r.fd, SHUT_WR);
	while (!__atomic_load_n(&r.eof, __ATOMIC_ACQUIRE) && rte_rdtsc() < deadline) {
		vsw_tick(vsw);
		usleep(5000);
	}
	assert_true(__atomic_load_n(&r.eof, __ATOMIC_ACQUIRE));
	pthread_join(reader, NULL);
	parse_stream(&r, &cs);
	assert_int_equal(cs.dropped, 0);
	assert_int_equal(cs.captured, FRAMES);
	assert_non_null(f = calloc(FRAMES, sizeof(*f)));
	assert_int_equal(cap_frames(&cs, f, FRAMES), FRAMES);
	for (unsigned int i = 0; i < FRAMES; i++) {
		assert_int_equal(f[i].len, i & 1 ? 300 : 64);
		assert_int_equal(f[i].data[20], (uint8_t)i);
	}
	free(f);
	free(cs.data);
	assert_int_equal(rte_mempool_in_use_count(pool), base);
}

int main(void)
{
	char prefix[64];
	char *argv[] = {"test_datapath", "--no-huge", "-m", "512", "--no-shconf", "--no-pci",
			"--log-level", "error", "-l", "0,1", prefix, NULL};
	unsigned int lcore;
	struct ctl_err err;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_flood_learn_unicast, setup_switch, teardown_switch),
		cmocka_unit_test_setup_teardown(test_mac_cache_follows_table, setup_switch,
						teardown_switch),
		cmocka_unit_test_setup_teardown(test_vlan_tags, setup_switch, teardown_switch),
		cmocka_unit_test_setup_teardown(test_admin_down, setup_switch, teardown_switch),
		cmocka_unit_test_setup_teardown(test_malformed_and_tx_full, setup_switch,
						teardown_switch),
		cmocka_unit_test_setup_teardown(test_capture_zero_copy_vlan, setup_switch,
						teardown_switch),
		cmocka_unit_test_setup_teardown(test_capture_bound, setup_switch, teardown_switch),
		cmocka_unit_test_setup_teardown(test_capture_bound_encoded, setup_switch,
						teardown_switch),
		cmocka_unit_test_setup_teardown(test_capture_multi_segment, setup_switch,
						teardown_switch),
		cmocka_unit_test_setup_teardown(test_capture_steady, setup_switch, teardown_switch),
	};
	int rc;

	snprintf(prefix, sizeof(prefix), "--file-prefix=unit%d", (int)getpid());
	if (rte_eal_init(11, argv) < 0) {
		fprintf(stderr, "EAL init failed\n");
		return 1;
	}
	lcore = rte_get_next_lcore(-1, 1, 0);
	vsw = vsw_create(&(struct vsw_opts){.n_lcores = 1, .lcore_ids = &lcore, .fdb_size = 4096, .ct_size = 4096,
					    .aging = 300, .n_mbufs = 8192},
			 &err);
	if (!vsw) {
		fprintf(stderr, "vsw_create: %s\n", err.msg);
		return 1;
	}
	pool = rte_mempool_lookup("hvnet_mbufs");
	rc = cmocka_run_group_tests_name("datapath", tests, NULL, NULL);
	vsw_destroy(vsw);
	return rc;
}
