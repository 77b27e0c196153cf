/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the VMBus ring buffer (vmbus/ring.h): packet layout,
 * wrap-around, full ring, interrupt-mask and pending_send_sz signalling,
 * batched reads and corrupted indices/descriptors. A writer and a reader
 * object attach to the same memory, as host and guest do.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <time.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmbus/ring.h"

#define RING_BYTES (2 * 4096) /* header + 4096 data bytes */

struct pair {
	uint8_t *mem;
	struct vmbus_ring *w;
	struct vmbus_ring *r;
};

static uint32_t *hdr32(struct pair *p, unsigned int off)
{
	return (uint32_t *)(p->mem + off);
}

static int setup(void **state)
{
	struct pair *p = calloc(1, sizeof(*p));

	p->mem = aligned_alloc(4096, RING_BYTES);
	memset(p->mem, 0xa5, RING_BYTES);
	p->w = vmbus_ring_attach(p->mem, RING_BYTES, VMBUS_RING_INIT);
	p->r = vmbus_ring_attach(p->mem, RING_BYTES, VMBUS_RING_SET_FEAT);
	assert_non_null(p->w);
	assert_non_null(p->r);
	*state = p;
	return 0;
}

static int teardown(void **state)
{
	struct pair *p = *state;

	vmbus_ring_free(p->w);
	vmbus_ring_free(p->r);
	free(p->mem);
	free(p);
	return 0;
}

static void fill(uint8_t *b, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(seed + i * 7);
}

static void test_layout_roundtrip(void **state)
{
	struct pair *p = *state;
	uint8_t msg[13], out[64];
	struct vmbus_pkt pkt;
	bool sig;
	uint64_t trailer;

	fill(msg, sizeof(msg), 1);
	assert_int_equal(vmbus_ring_write_inband(p->w, VMBUS_PKT_DATA_INBAND,
						 VMBUS_PKT_F_COMPLETION_REQUESTED,
						 0x1122334455667788ull, msg, sizeof(msg), &sig),
			 0);
	assert_true(sig); /* empty before, reader unmasked */
	/* 16 desc + 13 payload -> 32 bytes, plus 8 trailer */
	assert_int_equal(*hdr32(p, VMBUS_RING_OFF_WRITE_INDEX), 40);
	uint8_t *d = p->mem + 4096;
	assert_int_equal(*(uint16_t *)(d + 0), VMBUS_PKT_DATA_INBAND);
	assert_int_equal(*(uint16_t *)(d + 2), 2);
	assert_int_equal(*(uint16_t *)(d + 4), 4);
	assert_int_equal(*(uint16_t *)(d + 6), 1);
	assert_memory_equal(d + 16, msg, sizeof(msg));
	assert_int_equal(d[29], 0); /* padding zeroed */
	memcpy(&trailer, d + 32, 8);
	assert_int_equal(trailer, 0); /* previous write index 0 in upper half */

	assert_int_equal(vmbus_ring_read(p->r, &pkt, out, sizeof(out), &sig), 16);
	assert_int_equal(pkt.type, VMBUS_PKT_DATA_INBAND);
	assert_int_equal(pkt.flags, 1);
	assert_int_equal(pkt.trans_id, 0x1122334455667788ull);
	assert_memory_equal(out, msg, sizeof(msg));
	assert_int_equal(*hdr32(p, VMBUS_RING_OFF_READ_INDEX), 40);
	assert_int_equal(vmbus_ring_read(p->r, &pkt, out, sizeof(out), &sig), -EAGAIN);

	/* second packet's trailer carries the first packet's end (40) */
	assert_int_equal(vmbus_ring_write_inband(p->w, 6, 0, 2, msg, 8, &sig), 0);
	memcpy(&trailer, d + 40 + 24, 8);
	assert_int_equal(trailer >> 32, 40);
}

static void test_ext_header(void **state)
{
	struct pair *p = *state;
	uint64_t ext[2] = { 0xaaaa, 0xbbbb };
	uint8_t pay[24];
	struct iovec iov[2] = { { pay, 10 }, { pay + 10, 14 } };
	struct vmbus_pkt_out o = {
		.type = VMBUS_PKT_DATA_GPA_DIRECT, .trans_id = 9,
		.ext = ext, .ext_len = sizeof(ext), .iov = iov, .iovcnt = 2,
	};
	struct vmbus_pkt pkt;
	bool sig;

	fill(pay, sizeof(pay), 3);
	assert_int_equal(vmbus_ring_write(p->w, &o, &sig), 0);
	assert_int_equal(vmbus_ring_peek(p->r, &pkt, NULL, 0), 0);
	assert_int_equal(pkt.len, 16 + 16 + 24);
	assert_int_equal(pkt.data - pkt.desc, 32);
	assert_int_equal(pkt.data_len, 24);
	assert_memory_equal(pkt.desc + 16, ext, 16);
	assert_memory_equal(pkt.data, pay, 24);
	o.ext_len = 4;
	assert_int_equal(vmbus_ring_write(p->w, &o, &sig), -EINVAL);
}

/* Write and read packets of varying sizes many times around the ring, with
 * zero-copy peeks for contiguous packets and bounce copies for wrapped ones. */
static void test_wrap_around(void **state)
{
	struct pair *p = *state;
	uint8_t msg[700], out[700], bounce[800];
	unsigned int wrapped = 0, contiguous = 0;
	struct vmbus_pkt pkt;
	bool sig;

	for (int i = 0; i < 200; i++) {
		size_t n = 100 + (size_t)(i * 37) % 600;

		fill(msg, n, (uint8_t)i);
		assert_int_equal(vmbus_ring_write_inband(p->w, 6, 0, (uint64_t)i, msg, n, &sig),
				 0);
		assert_int_equal(vmbus_ring_peek(p->r, &pkt, bounce, sizeof(bounce)), 0);
		if (pkt.desc == bounce)
			wrapped++;
		else
			contiguous++;
		assert_int_equal(pkt.trans_id, (uint64_t)i);
		assert_true(pkt.data_len >= n && pkt.data_len < n + 8);
		memcpy(out, pkt.data, n);
		assert_memory_equal(out, msg, n);
		vmbus_ring_consume(p->r, &pkt);
		assert_int_equal(vmbus_ring_read_commit(p->r, &sig), 0);
	}
	assert_true(wrapped > 5);
	assert_true(contiguous > 100);
	/* a wrapping packet with no bounce buffer is refused, not consumed */
	while (*hdr32(p, 0) < 4096 - 300) {
		assert_int_equal(vmbus_ring_write_inband(p->w, 6, 0, 0, msg, 64, &sig), 0);
		assert_int_equal(vmbus_ring_read(p->r, &pkt, out, sizeof(out), &sig), 64);
	}
	assert_int_equal(vmbus_ring_write_inband(p->w, 6, 0, 77, msg, 600, &sig), 0);
	assert_int_equal(vmbus_ring_peek(p->r, &pkt, NULL, 0), -EMSGSIZE);
	assert_int_equal(vmbus_ring_read(p->r, &pkt, out, sizeof(out), &sig), 600);
	assert_int_equal(pkt.trans_id, 77);
	assert_memory_equal(out, msg, 600);
}

/* Descriptor extension and a three-piece payload written across the wrap
 * point at 120 different offsets; read back with peek (bounce) and read. */
static void test_wrap_gather(void **state)
{
	struct pair *p = *state;
	uint64_t ext[3] = { 0x1111, 0x2222, 0x3333 };
	uint8_t msg[300], out[400], bounce[400];
	struct iovec iov[3] = { { msg, 7 }, { msg + 7, 200 }, { msg + 207, 93 } };
	struct vmbus_pkt_out o = {
		.type = 9, .ext = ext, .ext_len = sizeof(ext), .iov = iov, .iovcnt = 3,
	};
	struct vmbus_pkt pkt;
	bool sig;

	fill(msg, sizeof(msg), 9);
	for (int i = 0; i < 120; i++) {
		o.trans_id = (uint64_t)i;
		assert_int_equal(vmbus_ring_write(p->w, &o, &sig), 0);
		if (i % 2) {
			assert_int_equal(vmbus_ring_peek(p->r, &pkt, bounce, sizeof(bounce)), 0);
			assert_memory_equal(pkt.desc + 16, ext, sizeof(ext));
			assert_memory_equal(pkt.data, msg, sizeof(msg));
			vmbus_ring_consume(p->r, &pkt);
			assert_int_equal(vmbus_ring_read_commit(p->r, &sig), 0);
		} else {
			assert_int_equal(vmbus_ring_read(p->r, &pkt, out, sizeof(out), &sig), 304);
			assert_memory_equal(out, msg, sizeof(msg));
		}
		assert_int_equal(pkt.trans_id, (uint64_t)i);
		assert_int_equal(pkt.len, 16 + 24 + 304);
		/* an empty packet (24 bytes) moves the next start */
		assert_int_equal(vmbus_ring_write_inband(p->w, 6, 0, 0, NULL, 0, &sig), 0);
		assert_int_equal(vmbus_ring_read(p->r, &pkt, NULL, 0, &sig), 0);
	}
}

static void test_full_ring(void **state)
{
	struct pair *p = *state;
	uint8_t msg[232], out[256];
	struct vmbus_ring_stats st;
	struct vmbus_pkt pkt;
	int n = 0, ret;
	bool sig;

	/* each packet takes 16 + 232 + 8 = 256 bytes: 4096 / 256 = 16, but the
	 * ring is never filled completely, so only 15 fit */
	while ((ret = vmbus_ring_write_inband(p->w, 6, 0, (uint64_t)n, msg, sizeof(msg), &sig)) ==
	       0)
		n++;
	assert_int_equal(ret, -EAGAIN);
	assert_int_equal(n, 15);
	assert_int_equal(vmbus_ring_bytes_to_write(p->w), 255);
	assert_int_equal(vmbus_ring_bytes_to_read(p->r), 15 * 256);
	vmbus_ring_get_stats(p->w, &st);
	assert_int_equal(st.full, 1);
	/* too large for the ring at all */
	uint8_t *huge = calloc(1, 5000);
	assert_int_equal(vmbus_ring_write_inband(p->w, 6, 0, 0, huge, 5000, &sig), -EMSGSIZE);
	free(huge);
	/* one read frees room for exactly one more */
	assert_int_equal(vmbus_ring_read(p->r, &pkt, out, sizeof(out), &sig), 232);
	assert_int_equal(pkt.trans_id, 0);
	assert_int_equal(vmbus_ring_write_inband(p->w, 6, 0, 99, msg, sizeof(msg), &sig), 0);
	assert_false(sig); /* ring was not empty */
	assert_int_equal(vmbus_ring_write_inband(p->w, 6, 0, 100, msg, sizeof(msg), &sig),
			 -EAGAIN);
	for (int i = 1; i <= 15; i++) {
		assert_int_equal(vmbus_ring_read(p->r, &pkt, out, sizeof(out), &sig), 232);
		assert_int_equal(pkt.trans_id, i == 15 ? 99 : (uint64_t)i);
	}
	assert_int_equal(vmbus_ring_bytes_to_read(p->r), 0);
}

static void test_interrupt_mask(void **state)
{
	struct pair *p = *state;
	uint8_t msg[8] = { 0 }, out[16];
	struct vmbus_pkt pkt;
	bool sig;

	vmbus_ring_mask(p->r);
	assert_int_equal(*hdr32(p, VMBUS_RING_OFF_INTERRUPT_MASK), 1);
	assert_int_equal(vmbus_ring_write_inband(p->w, 6, 0, 1, msg, 8, &sig), 0);
	assert_false(sig); /* masked */
	/* unmask reports the data that arrived while masked */
	assert_int_equal(vmbus_ring_unmask(p->r), 32);
	assert_int_equal(*hdr32(p, VMBUS_RING_OFF_INTERRUPT_MASK), 0);
	assert_int_equal(vmbus_ring_write_inband(p->w, 6, 0, 2, msg, 8, &sig), 0);
	assert_false(sig); /* unmasked but not empty before the write */
	assert_int_equal(vmbus_ring_read(p->r, &pkt, out, sizeof(out), &sig), 8);
	assert_int_equal(vmbus_ring_read(p->r, &pkt, out, sizeof(out), &sig), 8);
	assert_int_equal(vmbus_ring_write_inband(p->w, 6, 0, 3, msg, 8, &sig), 0);
	assert_true(sig); /* empty again and unmasked */
	assert_int_equal(vmbus_ring_unmask(p->r), 32);
}

static void test_pending_send_sz(void **state)
{
	struct pair *p = *state;
	uint8_t msg[232] = { 0 }, out[256];
	struct vmbus_pkt pkt;
	bool sig;
	int n = 0;

	while (vmbus_ring_write_inband(p->w, 6, 0, 0, msg, sizeof(msg), &sig) == 0)
		n++;
	/* writer needs 3 packets' room: free is 256 now */
	assert_int_equal(vmbus_ring_want_space(p->w, 3 * 256), 0);
	assert_int_equal(*hdr32(p, VMBUS_RING_OFF_PENDING_SEND_SZ), 768);
	/* free 256 -> 512: still <= 768, no signal */
	assert_int_equal(vmbus_ring_read(p->r, &pkt, out, sizeof(out), &sig), 232);
	assert_false(sig);
	assert_int_equal(vmbus_ring_read(p->r, &pkt, out, sizeof(out), &sig), 232);
	assert_false(sig); /* 768: not above */
	assert_int_equal(vmbus_ring_read(p->r, &pkt, out, sizeof(out), &sig), 232);
	assert_true(sig); /* 1024 > 768: crossed */
	assert_int_equal(vmbus_ring_read(p->r, &pkt, out, sizeof(out), &sig), 232);
	assert_false(sig); /* already above before this read */
	assert_int_equal(vmbus_ring_want_space(p->w, 768), 1); /* space is there now */
	assert_int_equal(vmbus_ring_want_space(p->w, 0), 0);
	assert_int_equal(*hdr32(p, VMBUS_RING_OFF_PENDING_SEND_SZ), 0);

	/* feature bit off: the reader never signals for space */
	*hdr32(p, VMBUS_RING_OFF_FEATURE_BITS) = 0;
	while (vmbus_ring_write_inband(p->w, 6, 0, 0, msg, sizeof(msg), &sig) == 0)
		;
	assert_int_equal(vmbus_ring_want_space(p->w, 300), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(vmbus_ring_read(p->r, &pkt, out, sizeof(out), &sig), 232);
		assert_false(sig);
	}
}

static void test_batched_read(void **state)
{
	struct pair *p = *state;
	uint8_t msg[40] = { 0 };
	struct vmbus_pkt pkt;
	bool sig;

	for (int i = 0; i < 5; i++)
		assert_int_equal(vmbus_ring_write_inband(p->w, 6, 0, (uint64_t)i, msg, 40, &sig),
				 0);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(vmbus_ring_peek(p->r, &pkt, NULL, 0), 0);
		assert_int_equal(pkt.trans_id, (uint64_t)i);
		vmbus_ring_consume(p->r, &pkt);
		/* not yet published */
		assert_int_equal(*hdr32(p, VMBUS_RING_OFF_READ_INDEX), 0);
	}
	assert_int_equal(vmbus_ring_peek(p->r, &pkt, NULL, 0), -EAGAIN);
	assert_int_equal(vmbus_ring_read_commit(p->r, &sig), 0);
	assert_int_equal(*hdr32(p, VMBUS_RING_OFF_READ_INDEX), 5 * 64);
	assert_int_equal(vmbus_ring_bytes_to_write(p->w), 4096 - 1);
}

static void test_corrupt_indices(void **state)
{
	struct pair *p = *state;
	uint8_t msg[16] = { 0 }, out[64];
	struct vmbus_ring_stats st;
	struct vmbus_pkt pkt;
	bool sig;

	/* write index beyond the data area / unaligned */
	*hdr32(p, VMBUS_RING_OFF_WRITE_INDEX) = 4096;
	assert_int_equal(vmbus_ring_peek(p->r, &pkt, NULL, 0), -EPROTO);
	*hdr32(p, VMBUS_RING_OFF_WRITE_INDEX) = 12;
	assert_int_equal(vmbus_ring_peek(p->r, &pkt, NULL, 0), -EPROTO);
	assert_int_equal(vmbus_ring_unmask(p->r), -EPROTO);
	/* 8 published bytes cannot hold a packet */
	*hdr32(p, VMBUS_RING_OFF_WRITE_INDEX) = 8;
	assert_int_equal(vmbus_ring_peek(p->r, &pkt, NULL, 0), -EPROTO);
	vmbus_ring_get_stats(p->r, &st);
	assert_int_equal(st.corrupt, 4);

	/* read index corrupted under the writer */
	*hdr32(p, VMBUS_RING_OFF_WRITE_INDEX) = 0;
	*hdr32(p, VMBUS_RING_OFF_READ_INDEX) = 0xfffffff8;
	assert_int_equal(vmbus_ring_write_inband(p->w, 6, 0, 0, msg, 16, &sig), -EPROTO);
	*hdr32(p, VMBUS_RING_OFF_READ_INDEX) = 3;
	assert_int_equal(vmbus_ring_write_inband(p->w, 6, 0, 0, msg, 16, &sig), -EPROTO);
	assert_int_equal(vmbus_ring_want_space(p->w, 100), -EPROTO);
	*hdr32(p, VMBUS_RING_OFF_READ_INDEX) = 0;

	/* attach refuses corrupt initial indices */
	*hdr32(p, VMBUS_RING_OFF_READ_INDEX) = 4100;
	assert_null(vmbus_ring_attach(p->mem, RING_BYTES, 0));
	assert_int_equal(errno, EPROTO);
	*hdr32(p, VMBUS_RING_OFF_READ_INDEX) = 0;
	assert_null(vmbus_ring_attach(p->mem, 4096, 0));
	assert_int_equal(errno, EINVAL);
	assert_null(vmbus_ring_attach(p->mem, RING_BYTES + 100, 0));
	(void)out;
}

static void write_raw_desc(struct pair *p, uint16_t off8, uint16_t len8, uint32_t wi)
{
	uint16_t *d = (uint16_t *)(p->mem + 4096);

	d[0] = 6;
	d[1] = off8;
	d[2] = len8;
	d[3] = 0;
	*hdr32(p, VMBUS_RING_OFF_WRITE_INDEX) = wi;
}

static void test_corrupt_descriptors(void **state)
{
	struct pair *p = *state;
	struct vmbus_pkt pkt;

	write_raw_desc(p, 2, 4, 40);
	assert_int_equal(vmbus_ring_peek(p->r, &pkt, NULL, 0), 0); /* sane baseline */
	write_raw_desc(p, 2, 1, 40); /* len < descriptor */
	assert_int_equal(vmbus_ring_peek(p->r, &pkt, NULL, 0), -EPROTO);
	write_raw_desc(p, 1, 4, 40); /* offset inside the descriptor */
	assert_int_equal(vmbus_ring_peek(p->r, &pkt, NULL, 0), -EPROTO);
	write_raw_desc(p, 5, 4, 40); /* offset beyond length */
	assert_int_equal(vmbus_ring_peek(p->r, &pkt, NULL, 0), -EPROTO);
	write_raw_desc(p, 2, 5, 40); /* length + trailer beyond published bytes */
	assert_int_equal(vmbus_ring_peek(p->r, &pkt, NULL, 0), -EPROTO);
	write_raw_desc(p, 2, 0xffff, 4088); /* huge length */
	assert_int_equal(vmbus_ring_peek(p->r, &pkt, NULL, 0), -EPROTO);
	write_raw_desc(p, 2, 2, 24); /* empty payload is legal */
	assert_int_equal(vmbus_ring_peek(p->r, &pkt, NULL, 0), 0);
	assert_int_equal(pkt.data_len, 0);
}

/*
 * Writer and reader on two threads, each sleeping on a semaphore that only
 * the other side's signal decisions post: the reader masks while draining
 * and re-checks after unmasking; the writer advertises pending_send_sz when
 * full and re-checks. A wrong rule or a missing barrier loses a wake-up and
 * a wait times out.
 */
#define CONC_PKTS 200000

/* An interrupt line: posts coalesce into one pending wake-up. */
struct event {
	pthread_mutex_t m;
	pthread_cond_t c;
	bool set;
};

static void ev_post(struct event *e)
{
	pthread_mutex_lock(&e->m);
	e->set = true;
	pthread_cond_signal(&e->c);
	pthread_mutex_unlock(&e->m);
}

/* Waits up to 2 s for a post; returns 0, or -1 on timeout. */
static int ev_wait(struct event *e)
{
	struct timespec ts;
	int ret = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 2;
	pthread_mutex_lock(&e->m);
	while (!e->set && ret == 0)
		ret = pthread_cond_timedwait(&e->c, &e->m, &ts);
	e->set = false;
	pthread_mutex_unlock(&e->m);
	return ret ? -1 : 0;
}

struct conc {
	struct pair *p;
	struct event reader_wake;
	struct event writer_wake;
	int timeouts;
	uint64_t writer_sleeps;
	uint64_t reader_sleeps;
	uint64_t bad;
};

static void *conc_writer(void *arg)
{
	struct conc *c = arg;
	uint8_t msg[200];
	bool sig;

	for (uint64_t i = 0; i < CONC_PKTS && !c->timeouts;) {
		size_t n = 8 + (i * 13) % 190;
		int ret;

		memcpy(msg, &i, 8);
		ret = vmbus_ring_write_inband(c->p->w, 6, 0, i, msg, n, &sig);
		if (ret == 0) {
			if (sig)
				ev_post(&c->reader_wake);
			i++;
			continue;
		}
		assert_int_equal(ret, -EAGAIN);
		if (vmbus_ring_want_space(c->p->w, vmbus_ring_pkt_space(0, (uint32_t)n)) == 1)
			continue;
		c->writer_sleeps++;
		if (ev_wait(&c->writer_wake))
			c->timeouts++;
	}
	vmbus_ring_want_space(c->p->w, 0);
	return NULL;
}

static void *conc_reader(void *arg)
{
	struct conc *c = arg;
	uint8_t out[256];
	struct vmbus_pkt pkt;
	uint64_t next = 0, seq;
	bool sig;

	while (next < CONC_PKTS && !c->timeouts) {
		vmbus_ring_mask(c->p->r);
		while (vmbus_ring_peek(c->p->r, &pkt, out, sizeof(out)) == 0) {
			memcpy(&seq, pkt.data, 8);
			if (seq != next || pkt.trans_id != next)
				c->bad++;
			next++;
			vmbus_ring_consume(c->p->r, &pkt);
			if (next % 4 == 0) {
				vmbus_ring_read_commit(c->p->r, &sig);
				if (sig)
					ev_post(&c->writer_wake);
			}
		}
		vmbus_ring_read_commit(c->p->r, &sig);
		if (sig)
			ev_post(&c->writer_wake);
		if (vmbus_ring_unmask(c->p->r) > 0 || next == CONC_PKTS)
			continue;
		c->reader_sleeps++;
		if (ev_wait(&c->reader_wake))
			c->timeouts++;
	}
	return NULL;
}

static void test_concurrent_signalling(void **state)
{
	struct conc c = {
		.p = *state,
		.reader_wake = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false },
		.writer_wake = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false },
	};
	pthread_t w, r;

	pthread_create(&r, NULL, conc_reader, &c);
	pthread_create(&w, NULL, conc_writer, &c);
	pthread_join(w, NULL);
	pthread_join(r, NULL);
	assert_int_equal(c.timeouts, 0);
	assert_int_equal(c.bad, 0);
	assert_int_equal(vmbus_ring_bytes_to_read(c.p->r), 0);
	print_message("writer slept %llu times, reader %llu times\n",
		      (unsigned long long)c.writer_sleeps, (unsigned long long)c.reader_sleeps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_layout_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ext_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrap_around, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrap_gather, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interrupt_mask, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_send_sz, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batched_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_indices, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_descriptors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_signalling, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
