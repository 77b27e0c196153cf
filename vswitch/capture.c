/* SPDX-License-Identifier: BSD-3-Clause */
/* Packet capture sessions: see capture.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <pcap/pcap.h>
#include <rte_bpf.h>
#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>
#include <rte_ring.h>

#include "capture.h"
#include "hvnet_config.h"
#include "datapath.h"

#define RING_SIZE 4096 /* ring slots: burst headers and frames */
#define RET_SIZE 8192  /* return ring: frames the writer is done with */
#define CHUNK 65536	  /* bytes of pcapng sent to the client in one chunk */
#define OUT_CHUNK 262144  /* bytes written to a passed destination in one go */
#define HDR_MARK 1	  /* set in a header's first word, never in an mbuf pointer */
#define TAP_MAX 64	  /* frames handed to the ring in one go */
#define RECLAIM_MAX 128	  /* frames a tap takes back from the return ring in one go */
#define DRAIN_MAX 256	  /* slots the writer takes in one go */
#define PEND_MAX 256	  /* frames written straight from their mbufs in one writev */
#define IDLE_MIN_US 20	  /* the writer's sleep when the ring is empty, doubling up to */
#define IDLE_MAX_US 640
#define DOZE_MS 50	  /* then it sleeps until woken by a tap, at most this long */
#define ADDR_BITS 48	  /* a frame word's data address; its length above */
#define COPY_MAX 256	  /* frames up to this many bytes are encoded by the tap */
#define RANGE_MARK 2	  /* set in a byte range's first word, never in an mbuf pointer */
#define BUF_SIZE (1u << 20) /* bytes of blocks encoded by one lcore for one session */

/*
 * A ring slot: 16 bytes. The ring carries bursts: a header slot (w0:
 * HDR_MARK, the direction in bits 2-3, the pcapng interface in bits
 * 16-31; w1: the TSC of the burst), then its frames in order, each in one
 * of two forms:
 *  - A frame of up to COPY_MAX bytes in one segment is encoded by the tap,
 *    whose CPU has it in cache, as a whole pcapng block into its lcore's
 *    byte ring (struct lcore_buf); consecutive ones make one byte range
 *    slot (w0: RANGE_MARK, the lcore in bits 2-5, the frames in bits
 *    16-31, the bytes in bits 32-63; w1: where the range starts, in bytes
 *    ever written). The mbuf is not held. The writer writes the range as
 *    it is and then releases it.
 *  - A longer frame, or one of several segments: w0 is an mbuf of the
 *    switch on which the session holds a reference; w1 the address of its
 *    data in bits 0-47 and its length above, read by the tap from the
 *    header it has in cache (0 for several segments). The writer writes
 *    the bytes from w1 (writev) and never reads the mbuf, which the
 *    datapath's CPU wrote last; it hands the mbuf back on the return ring,
 *    and the next tap drops the references in bulk (into its lcore's
 *    mempool cache). The datapath never edits a frame it shares
 *    (datapath.c copies before a VLAN edit), so the writer reads it as it
 *    was at the tap.
 * Bulk enqueues keep a burst together: every frame belongs to the last
 * header before it.
 */
struct slot {
	uint64_t w0, w1;
};

_Static_assert(sizeof(void *) == sizeof(uint64_t), "ring slots carry 64-bit words");
_Static_assert(VSW_MAX_LCORES <= 16, "a byte range slot carries its lcore in 4 bits");
_Static_assert(TAP_MAX <= UINT16_MAX, "a byte range slot carries its frames in 16 bits");

/* The burst the writer reads (writer thread only). */
struct reader {
	uint16_t ifidx;
	uint8_t dir;
	uint64_t ts_us;
};

/*
 * What the writer hands a passed destination in one writev: pieces of the
 * pcapng buffer (offsets: it may move as it grows) between the bytes of
 * the frames, read straight from their mbufs, which it holds until then.
 */
struct piece {
	const uint8_t *frame; /* NULL: the buffer from off */
	size_t off, len;
};

struct out_batch {
	struct rte_mbuf *held[PEND_MAX];
	unsigned int n_held, n_ranges, n_pieces; /* n_held + n_ranges <= PEND_MAX */
	uint64_t release[VSW_MAX_LCORES]; /* each lcore's bytes to release once written */
	uint16_t to_release;		   /* lcores with some */
	size_t b_from; /* the buffer's bytes from here on are in no piece yet */
	struct piece pieces[2 * PEND_MAX + 1];
	struct iovec iov[2 * PEND_MAX + 1];
};

struct lcore_stats {
	uint64_t filtered, dropped;
} __rte_cache_aligned;

/* The blocks one datapath lcore encoded for the session (see struct slot). */
struct lcore_buf {
	uint8_t *data;	/* BUF_SIZE bytes, and the 4 a block's padding may touch; NULL: none */
	uint64_t prod;	/* bytes ever written (that lcore) */
	uint64_t cons __rte_cache_aligned; /* bytes ever released (the writer) */
} __rte_cache_aligned;

struct vsw_capture {
	struct vsw_capture_params prm;
	char *filter;
	struct rte_bpf *bpf;
	struct rte_bpf_jit jit;
	struct rte_ring *ring; /* of struct slot */
	struct rte_ring *ret;  /* mbufs the writer is done with, freed by the taps */
	unsigned int ring_cap;
	unsigned int n_ports;	/* interfaces; grows (release) when a switch gains ports */
	unsigned int n_idb;	/* interfaces described in the stream (writer) */
	uint16_t *ports;
	char **names, **switches;
	int fd;		/* the client's connection */
	int out;	/* the destination the client passed, or -1 (stream on fd) */
	bool out_sock;	/* out is a socket (written with MSG_DONTWAIT) */
	int wake_fd;	/* eventfd: a tap woke the dozing writer */
	int out_err;	/* errno of a failed write to out */
	struct out_batch *ob; /* writer only, for out */
	unsigned int id;
	pthread_t writer;
	bool started;
	struct reader rd;
	uint8_t *scratch; /* a frame of several segments, made contiguous */
	/* shared between threads */
	volatile bool stop, ending, released, finished, cut;
	const char *volatile reason;
	/* the writer dozes (taps wake it); a line of its own, read by the taps */
	int asleep __rte_cache_aligned;
	uint64_t tsc0, real0_us, tsc_hz; /* clock mapping */
	struct lcore_stats stats[VSW_MAX_LCORES];
	struct lcore_buf bufs[VSW_MAX_LCORES];
};

static unsigned int ring_seq;

static int compile_filter(struct vsw_capture *c, const char *expr, struct ctl_err *err)
{
	struct bpf_program bp;
	struct rte_bpf_prm *prm;
	pcap_t *p;
	int rc = 0;

	if (!expr || !*expr)
		return 0;
	p = pcap_open_dead(DLT_EN10MB, (int)c->prm.snaplen);
	if (!p)
		return ctl_err_set(err, ENOMEM, "out of memory");
	if (pcap_compile(p, &bp, expr, 1, PCAP_NETMASK_UNKNOWN)) {
		rc = ctl_err_set(err, EINVAL, "filter: %s", pcap_geterr(p));
		goto out_close;
	}
	prm = rte_bpf_convert(&bp);
	pcap_freecode(&bp);
	if (!prm) {
		rc = ctl_err_set(err, EINVAL, "filter: DPDK cannot convert '%s' to eBPF", expr);
		goto out_close;
	}
	prm->prog_arg.type = RTE_BPF_ARG_PTR_MBUF;
	prm->prog_arg.size = sizeof(struct rte_mbuf);
	prm->prog_arg.buf_size = RTE_MBUF_DEFAULT_BUF_SIZE;
	c->bpf = rte_bpf_load(prm);
	rte_free(prm);
	if (!c->bpf) {
		rc = ctl_err_set(err, EINVAL, "filter: DPDK cannot load the program of '%s'", expr);
		goto out_close;
	}
	rte_bpf_get_jit(c->bpf, &c->jit);
out_close:
	pcap_close(p);
	return rc;
}

struct vsw_capture *vsw_capture_create(const struct vsw_capture_params *prm,
				       const struct vsw_capture_port *ports, unsigned int n,
				       struct ctl_err *err)
{
	struct vsw_capture *c = rte_zmalloc("vsw_capture", sizeof(*c), RTE_CACHE_LINE_SIZE);
	char name[RTE_RING_NAMESIZE];

	if (!c) {
		ctl_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	c->prm = *prm;
	c->fd = -1;
	c->out = -1;
	c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	c->filter = strdup(prm->filter ? prm->filter : "");
	c->ports = calloc(VSW_CAPTURE_MAX_IFS, sizeof(*c->ports));
	c->names = calloc(VSW_CAPTURE_MAX_IFS, sizeof(*c->names));
	c->switches = calloc(VSW_CAPTURE_MAX_IFS, sizeof(*c->switches));
	c->scratch = malloc(VSW_CAPTURE_SNAPLEN_MAX);
	c->ob = calloc(1, sizeof(*c->ob));
	snprintf(name, sizeof(name), "capture%u", ring_seq++);
	c->ring = rte_ring_create_elem(name, sizeof(struct slot), RING_SIZE, SOCKET_ID_ANY,
				       RING_F_SC_DEQ);
	snprintf(name, sizeof(name), "capret%u", ring_seq++);
	c->ret = rte_ring_create(name, RET_SIZE, SOCKET_ID_ANY, RING_F_SP_ENQ);
	if (!c->filter || !c->ports || !c->names || !c->switches || !c->scratch || !c->ring ||
	    !c->ret || !c->ob || c->wake_fd < 0) {
		ctl_err_set(err, ENOMEM, "out of memory");
		goto err_free;
	}
	c->ring_cap = rte_ring_get_capacity(c->ring);
	if (c->prm.max_held && c->prm.max_held < c->ring_cap)
		c->ring_cap = c->prm.max_held;
	/* a byte ring per lcore that may run a datapath, touched now rather than by the datapath */
	for (unsigned int l = 0; l < RTE_MIN(rte_lcore_count(), (unsigned int)VSW_MAX_LCORES); l++) {
		c->bufs[l].data = rte_malloc("vsw_capture_buf", BUF_SIZE + 4, RTE_CACHE_LINE_SIZE);
		if (c->bufs[l].data)
			memset(c->bufs[l].data, 0, BUF_SIZE + 4);
		/* else: that lcore queues every frame by reference */
	}
	c->n_ports = RTE_MIN(n, VSW_CAPTURE_MAX_IFS);
	for (unsigned int i = 0; i < c->n_ports; i++) {
		c->ports[i] = ports[i].port;
		c->names[i] = strdup(ports[i].name);
		c->switches[i] = strdup(ports[i].switch_name);
	}
	if (compile_filter(c, prm->filter, err))
		goto err_free;
	return c;

err_free:
	vsw_capture_free(c);
	return NULL;
}

/* Wakes the dozing writer (an eventfd cannot fail to count one more). */
static void wake(struct vsw_capture *c)
{
	uint64_t one = 1;
	ssize_t rc = write(c->wake_fd, &one, sizeof(one));

	(void)rc;
}

/* How many ring slots the session may fill with frames of m's pool. */
static inline unsigned int slot_limit(const struct vsw_capture *c, const struct rte_mbuf *m)
{
	unsigned int pool_share = m->pool ? VSW_CAPTURE_HELD_MAX(m->pool->size) : c->ring_cap;

	return RTE_MIN(c->ring_cap, pool_share);
}

/*
 * Takes (v 1) or gives back (v -1) a reference on every segment of m; a
 * single segment without reading m->next, on the mbuf's second cache line.
 */
static inline void hold(struct rte_mbuf *m, int16_t v)
{
	if (likely(m->nb_segs == 1))
		rte_mbuf_refcnt_update(m, v);
	else
		rte_pktmbuf_refcnt_update(m, v);
}

/* Releases n frames, their headers loaded together first. */
static void release(struct rte_mbuf **m, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		rte_prefetch0_write(m[i]);
		rte_prefetch0(&m[i]->next); /* the second line, read when the last reference goes */
	}
	rte_pktmbuf_free_bulk(m, n);
}

/* Releases up to RECLAIM_MAX frames of the return ring; returns how many. */
static unsigned int reclaim(struct vsw_capture *c)
{
	struct rte_mbuf *m[RECLAIM_MAX];
	unsigned int n = rte_ring_mc_dequeue_burst(c->ret, (void **)m, RECLAIM_MAX, NULL);

	if (n)
		release(m, n);
	return n;
}

/* Releases everything on the return ring (the writer, or the session's end). */
static void reclaim_all(struct vsw_capture *c)
{
	while (reclaim(c))
		;
}

/*
 * Hands n frames the writer is done with to the return ring, for the taps
 * to release on their lcores; once no lcore taps the session (or if the
 * ring is full, which its size rules out), releases them itself.
 */
static void give_back(struct vsw_capture *c, struct rte_mbuf **m, unsigned int n)
{
	unsigned int k = 0;

	if (!c->released && c->ret)
		k = rte_ring_sp_enqueue_burst(c->ret, (void **)m, n, NULL);

	if (k < n)
		release(m + k, n - k);
}

/* Gives the byte rings back up to what the writer is done with (none may be in a writev to come). */
static void release_ranges(struct vsw_capture *c)
{
	struct out_batch *ob = c->ob;

	for (unsigned int l = 0; ob->to_release; l++) {
		if (ob->to_release & (1u << l))
			__atomic_store_n(&c->bufs[l].cons, ob->release[l], __ATOMIC_RELEASE);
		ob->to_release &= (uint16_t)~(1u << l);
	}
}

/* The frame word of m: where its data is and how long it is (0: read the mbuf). */
static inline uint64_t frame_word(const struct rte_mbuf *m)
{
	uint64_t addr = (uint64_t)(uintptr_t)rte_pktmbuf_mtod(m, const void *);

	if (unlikely(m->nb_segs != 1 || addr >> ADDR_BITS))
		return 0;
	return addr | (uint64_t)m->data_len << ADDR_BITS;
}

/* The data address of a frame word. */
static inline const uint8_t *word_data(uint64_t fw)
{
	return (const uint8_t *)(uintptr_t)(fw & ((UINT64_C(1) << ADDR_BITS) - 1));
}

/* Microseconds since the epoch at TSC value tsc (no overflow for any capture length). */
static uint64_t tsc_to_us(const struct vsw_capture *c, uint64_t tsc)
{
	uint64_t d = tsc > c->tsc0 ? tsc - c->tsc0 : 0;

	return c->real0_us + d / c->tsc_hz * 1000000 + d % c->tsc_hz * 1000000 / c->tsc_hz;
}

/* A burst being queued by a tap: its slots and its lcore's open byte range. */
struct burst {
	struct slot *slot;
	unsigned int n;		 /* slots so far */
	struct lcore_buf *lb;	 /* NULL: frames go by reference */
	uint64_t pos, start;	 /* the byte ring's end so far, the open range's start */
	unsigned int in_range;	 /* frames in the open range */
	uint64_t limit;		 /* bytes up to which the byte ring is free */
	uint64_t ts_us;		 /* 0 until a block needs it */
};

/* Ends the open byte range, if any, into a slot. */
static inline void end_range(struct burst *q, unsigned int lcore)
{
	if (q->in_range)
		q->slot[q->n++] = (struct slot){(q->pos - q->start) << 32 |
							(uint64_t)q->in_range << 16 |
							(uint64_t)lcore << 2 | RANGE_MARK,
						q->start};
	q->in_range = 0;
	q->start = q->pos;
}

/*
 * Encodes m as a pcapng block into the lcore's byte ring (see struct
 * slot). Returns false when the ring has no room (the capture drops it).
 */
static inline bool encode(const struct vsw_capture *c, struct burst *q, unsigned int lcore,
			  const struct rte_mbuf *m, uint16_t ifidx, uint32_t dir, uint64_t tsc)
{
	uint32_t caplen = RTE_MIN(m->pkt_len, c->prm.snaplen);
	size_t need = vsw_pcapng_epb_size(caplen);
	uint64_t off = q->pos & (BUF_SIZE - 1);
	uint8_t *p;

	if (off + need > BUF_SIZE) { /* a block never wraps: the ring's end is skipped */
		end_range(q, lcore);
		q->pos += BUF_SIZE - off;
		q->start = q->pos;
		off = 0;
	}
	if (q->pos + need > q->limit)
		return false;
	if (!q->ts_us)
		q->ts_us = tsc_to_us(c, tsc);
	p = q->lb->data + off;
	vsw_pcapng_epb_write(p, ifidx, q->ts_us, caplen, m->pkt_len, dir, true);
	memcpy(p + sizeof(struct vsw_pcapng_epb_head), rte_pktmbuf_mtod(m, const void *), caplen);
	q->pos += need;
	q->in_range++;
	return true;
}

/*
 * Queues the frames of match[] as one burst in slot[] (slot 0: the
 * header), in order: encodes the short ones into the lcore's byte ring
 * while it has room, and takes a reference on each other one the bound on
 * held frames (queued, and handed back but not yet released) lets in; the
 * rest are counted as dropped. First releases what the writer handed back.
 */
static void queue_burst(struct vsw_capture *c, unsigned int lcore, struct slot *slot,
			struct rte_mbuf **match, unsigned int nm, uint16_t ifidx, uint8_t dir,
			uint64_t tsc)
{
	struct burst q = {.slot = slot, .n = 1};
	uint32_t pdir = dir == VSW_CAPTURE_IN ? VSW_PCAPNG_IN : VSW_PCAPNG_OUT;
	unsigned int used, limit = slot_limit(c, match[0]), dropped = 0;

	if (rte_ring_count(c->ret))
		reclaim(c);
	used = rte_ring_count(c->ring) + rte_ring_count(c->ret);
	if (lcore < VSW_MAX_LCORES && c->bufs[lcore].data) {
		q.lb = &c->bufs[lcore];
		q.pos = q.start = q.lb->prod;
		q.limit = __atomic_load_n(&q.lb->cons, __ATOMIC_ACQUIRE) + BUF_SIZE;
	}
	slot[0] = (struct slot){(uint64_t)ifidx << 16 | (uint64_t)dir << 2 | HDR_MARK, tsc};
	for (unsigned int i = 0; i < nm; i++) {
		struct rte_mbuf *m = match[i];

		if (q.lb && m->nb_segs == 1 && m->pkt_len <= COPY_MAX) {
			dropped += !encode(c, &q, lcore, m, ifidx, pdir, tsc);
			continue;
		}
		end_range(&q, lcore);
		if (used + q.n >= limit) {
			dropped++;
			continue;
		}
		hold(m, 1);
		slot[q.n++] = (struct slot){(uint64_t)(uintptr_t)m, frame_word(m)};
	}
	end_range(&q, lcore);
	if (q.n > 1 && rte_ring_enqueue_bulk_elem(c->ring, slot, sizeof(*slot), q.n, NULL) == 0) {
		/* another lcore took the room first: the byte ring's end stays where it was */
		for (unsigned int i = 1; i < q.n; i++) {
			if (!(slot[i].w0 & RANGE_MARK))
				hold((struct rte_mbuf *)(uintptr_t)slot[i].w0, -1);
		}
		dropped = nm;
	} else if (q.n > 1) {
		if (q.lb)
			q.lb->prod = q.pos;
		if (unlikely(c->asleep) && __atomic_exchange_n(&c->asleep, 0, __ATOMIC_ACQ_REL))
			wake(c); /* once per doze; a missed wake costs at most DOZE_MS */
	}
	c->stats[lcore].dropped += dropped;
}

void vsw_capture_tap(struct vsw_capture *c, unsigned int lcore, uint16_t ifidx, uint8_t dir,
		     struct rte_mbuf **pkts, uint16_t n, uint64_t tsc)
{
	struct lcore_stats *st = &c->stats[lcore];
	struct slot slot[2 * TAP_MAX + 3]; /* a header, frames and byte ranges (one more at a wrap) */
	struct rte_mbuf *match[TAP_MAX];
	uint64_t (*jit)(void *) = c->jit.func;
	const struct rte_bpf *bpf = c->bpf;

	while (n) {
		uint16_t take = RTE_MIN(n, (uint16_t)TAP_MAX);
		unsigned int nm = 0;

		if (!bpf) {
			for (uint16_t i = 0; i < take; i++)
				match[i] = pkts[i];
			nm = take;
		} else if (jit) {
			for (uint16_t i = 0; i < take; i++) {
				match[nm] = pkts[i];
				nm += jit(pkts[i]) != 0;
			}
		} else {
			for (uint16_t i = 0; i < take; i++) {
				match[nm] = pkts[i];
				nm += rte_bpf_exec(bpf, pkts[i]) != 0;
			}
		}
		if (take != nm)
			st->filtered += take - nm;
		if (nm)
			queue_burst(c, lcore, slot, match, nm, ifidx, dir, tsc);
		pkts += take;
		n = (uint16_t)(n - take);
	}
}

static int send_all(int fd, const void *p, size_t len)
{
	const uint8_t *b = p;

	while (len) {
		ssize_t n = send(fd, b, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EPIPE;
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Sends the buffer as one framed chunk and empties it. */
static int send_chunk(int fd, struct vsw_pcapng_buf *b)
{
	uint32_t len = (uint32_t)b->len;

	if (!len)
		return 0;
	b->len = 0;
	if (send_all(fd, &len, 4) || send_all(fd, b->data, len))
		return -EPIPE;
	return 0;
}

/*
 * Writes len bytes to the passed destination. A destination that cannot
 * take more (a pipe nobody reads) is waited for until the client closes
 * its connection or the session is cut off (vsw_capture_free). Returns 0
 * or -errno.
 */
static int write_out(struct vsw_capture *c, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = c->out_sock ? send(c->out, p, len, MSG_NOSIGNAL | MSG_DONTWAIT)
					: write(c->out, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd p[2] = {{.fd = c->out, .events = POLLOUT}, {.fd = c->fd}};

			if (c->cut)
				return -EPIPE;
			if (poll(p, 2, 100) > 0 && (p[1].revents & (POLLHUP | POLLERR)))
				return -EPIPE; /* vswitchctl is gone (a Ctrl-C only shuts its side) */
			continue;
		}
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Writes the pieces of ob (the last one ends at b's end) to the destination. */
static int write_pieces(struct vsw_capture *c, struct out_batch *ob, struct vsw_pcapng_buf *b)
{
	struct iovec *iov = ob->iov;
	unsigned int n = 0;

	ob->pieces[ob->n_pieces++] = (struct piece){NULL, ob->b_from, b->len - ob->b_from};
	for (unsigned int i = 0; i < ob->n_pieces; i++) {
		const struct piece *p = &ob->pieces[i];

		if (p->len)
			iov[n++] = (struct iovec){(void *)(uintptr_t)(p->frame ? p->frame
									: b->data + p->off),
						  p->len};
	}
	while (n) {
		struct msghdr msg = {.msg_iov = iov, .msg_iovlen = n};
		ssize_t w = c->out_sock ? sendmsg(c->out, &msg, MSG_NOSIGNAL | MSG_DONTWAIT)
					: writev(c->out, iov, (int)n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			/* no room (a pipe, a socket): write_out waits for it */
			int rc = write_out(c, iov->iov_base, iov->iov_len);

			if (rc)
				return rc;
			n--;
			iov++;
			continue;
		}
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		for (; n && (size_t)w >= iov->iov_len; n--, iov++)
			w -= (ssize_t)iov->iov_len;
		if (n) {
			iov->iov_base = (uint8_t *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/*
 * Hands what b holds (and the frames written straight from their mbufs) to
 * the destination or the client, empties b and releases the frames.
 */
static int flush_out(struct vsw_capture *c, struct vsw_pcapng_buf *b)
{
	struct out_batch *ob = c->ob;
	int rc;

	if (c->out < 0)
		return send_chunk(c->fd, b);
	if (c->out_err) /* the destination failed already: only release */
		rc = -c->out_err;
	else
		rc = ob->n_held || ob->n_ranges ? write_pieces(c, ob, b) : write_out(c, b->data, b->len);
	if (ob->n_held)
		give_back(c, ob->held, ob->n_held);
	ob->n_held = ob->n_ranges = ob->n_pieces = 0;
	release_ranges(c);
	ob->b_from = 0;
	b->len = 0;
	if (rc && !c->out_err)
		c->out_err = -rc;
	return rc;
}

static uint64_t real_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Describes interfaces up to ifidx: ports a switch gained after the capture started. */
static void write_idbs(struct vsw_capture *c, struct vsw_pcapng_buf *b, unsigned int ifidx)
{
	unsigned int n = __atomic_load_n(&c->n_ports, __ATOMIC_ACQUIRE);
	char descr[128];

	while (c->n_idb <= ifidx && c->n_idb < n) {
		snprintf(descr, sizeof(descr), "hvnet switch %s port %s", c->switches[c->n_idb],
			 c->names[c->n_idb]);
		vsw_pcapng_idb(b, c->names[c->n_idb], descr, c->prm.snaplen, c->filter);
		c->n_idb++;
	}
}

/*
 * Encodes frame m (frame word fw, see struct slot) of the current burst,
 * unless the count is reached. For a passed destination a single-segment
 * frame's bytes are not copied: the frame is held for the next writev
 * (returns true: not to be given back yet).
 */
static bool write_frame(struct vsw_capture *c, struct vsw_pcapng_buf *b, struct rte_mbuf *m,
			uint64_t fw, uint64_t *written)
{
	uint32_t dir = c->rd.dir == VSW_CAPTURE_IN ? VSW_PCAPNG_IN : VSW_PCAPNG_OUT, len, orig;
	struct out_batch *ob = c->ob;
	const uint8_t *data = word_data(fw);
	size_t at;

	if (c->rd.ifidx >= c->n_idb)
		write_idbs(c, b, c->rd.ifidx);
	if (c->rd.ifidx >= c->n_idb)
		return false; /* cannot happen: taps name described interfaces only */
	if (c->prm.count && *written >= c->prm.count)
		return false;
	orig = fw ? (uint32_t)(fw >> ADDR_BITS) : m->pkt_len;
	len = RTE_MIN(RTE_MIN(orig, c->prm.snaplen), (uint32_t)VSW_CAPTURE_SNAPLEN_MAX);
	if (fw && c->out >= 0 && ob->n_held + ob->n_ranges < PEND_MAX) {
		if (vsw_pcapng_epb_around(b, c->rd.ifidx, c->rd.ts_us, len, orig, dir, &at))
			return false;
		ob->pieces[ob->n_pieces++] = (struct piece){NULL, ob->b_from, at - ob->b_from};
		ob->pieces[ob->n_pieces++] = (struct piece){data, 0, len};
		ob->b_from = at;
		ob->held[ob->n_held++] = m;
		(*written)++;
		return true;
	}
	if (!fw)
		data = rte_pktmbuf_read(m, 0, len, c->scratch); /* several segments */
	if (!data)
		return false;
	vsw_pcapng_epb(b, c->rd.ifidx, c->rd.ts_us, data, len, orig, dir);
	(*written)++;
	return false;
}

/* Whether the client shut its side down (Ctrl-C) or went away. */
static bool client_gone(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char buf[64];

	if (poll(&p, 1, 0) <= 0)
		return false;
	return recv(fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0;
}

/*
 * Takes a byte range (slot words w0, start) of encoded blocks: into the
 * next writev for a passed destination, else copied into b (NULL:
 * discarded), up to the count. Its bytes are released once written.
 */
static void take_range(struct vsw_capture *c, struct vsw_pcapng_buf *b, uint64_t w0,
		       uint64_t start, uint64_t *written)
{
	unsigned int l = (unsigned int)(w0 >> 2) & 15, nf = (uint16_t)(w0 >> 16);
	uint32_t len = (uint32_t)(w0 >> 32);
	const uint8_t *p = c->bufs[l].data + (start & (BUF_SIZE - 1));
	struct out_batch *ob = c->ob;

	ob->release[l] = start + len;
	ob->to_release |= (uint16_t)(1u << l);
	if (!b)
		return;
	if (c->rd.ifidx >= c->n_idb)
		write_idbs(c, b, c->rd.ifidx);
	if (c->prm.count && *written + nf > c->prm.count) {
		/* the count ends in this range: up to its last block */
		uint32_t cut = 0;

		for (nf = 0; *written + nf < c->prm.count; nf++) {
			uint32_t blen;

			memcpy(&blen, p + cut + 4, 4);
			cut += blen;
		}
		len = cut;
	}
	if (!nf)
		return;
	if (c->out >= 0 && ob->n_held + ob->n_ranges < PEND_MAX) {
		*written += nf;
		ob->pieces[ob->n_pieces++] = (struct piece){NULL, ob->b_from, b->len - ob->b_from};
		ob->pieces[ob->n_pieces++] = (struct piece){p, 0, len};
		ob->b_from = b->len;
		ob->n_ranges++;
		return;
	}
	if (vsw_pcapng_append(b, p, len) == 0)
		*written += nf;
}

/*
 * Moves what the ring holds into b (NULL: discards it) and gives the
 * frames back in one go; returns how many slots were taken.
 */
static unsigned int drain(struct vsw_capture *c, struct vsw_pcapng_buf *b, uint64_t *written)
{
	struct slot slot[DRAIN_MAX];
	struct rte_mbuf *done[DRAIN_MAX];
	unsigned int room = b && c->out >= 0 ? PEND_MAX - c->ob->n_held - c->ob->n_ranges : DRAIN_MAX,
		     nd = 0;
	unsigned int n = rte_ring_dequeue_burst_elem(c->ring, slot, sizeof(*slot),
						     RTE_MIN(room, (unsigned int)DRAIN_MAX), NULL);

	for (unsigned int i = 0; i < n; i++) {
		struct rte_mbuf *m = (struct rte_mbuf *)(uintptr_t)slot[i].w0;

		if (slot[i].w0 & HDR_MARK) {
			c->rd.ifidx = (uint16_t)(slot[i].w0 >> 16);
			c->rd.dir = (uint8_t)((slot[i].w0 >> 2) & 3);
			c->rd.ts_us = b ? tsc_to_us(c, slot[i].w1) : 0;
		} else if (slot[i].w0 & RANGE_MARK) {
			take_range(c, b, slot[i].w0, slot[i].w1, written);
		} else if (!b || !write_frame(c, b, m, slot[i].w1, written)) {
			done[nd++] = m;
		}
	}
	if (nd)
		give_back(c, done, nd);
	if (!c->ob->n_ranges)
		release_ranges(c);
	return n;
}

static void finish(struct vsw_capture *c, struct vsw_pcapng_buf *b, uint64_t written, bool ok)
{
	uint64_t filtered = 0, dropped = 0;
	uint32_t zero = 0;
	json_t *sum;
	char *line;

	for (unsigned int l = 0; l < VSW_MAX_LCORES; l++) {
		filtered += c->stats[l].filtered;
		dropped += c->stats[l].dropped;
	}
	if (ok && c->out >= 0)
		flush_out(c, b);
	if (c->out >= 0 && close(c->out) && !c->out_err && errno != EINTR)
		c->out_err = errno; /* e.g. a file system that reports a failed write at close */
	c->out = -1;
	sum = json_pack("{s:I,s:I,s:I,s:s}", "captured", (json_int_t)written, "filtered_out",
			(json_int_t)filtered, "dropped", (json_int_t)dropped, "reason",
			c->reason ? c->reason : "ended");
	if (sum && c->out_err)
		json_object_set_new(sum, "error", json_sprintf("cannot write the capture: %s",
							       strerror(c->out_err)));
	line = json_dumps(sum, JSON_COMPACT);
	if (ok && send_chunk(c->fd, b) == 0 && send_all(c->fd, &zero, 4) == 0 && line) {
		send_all(c->fd, line, strlen(line));
		send_all(c->fd, "\n", 1);
	}
	free(line);
	json_decref(sum);
	close(c->fd);
	c->fd = -1;
}

/* The section header and a description of every interface the session has. */
static void pcapng_headers(struct vsw_capture *c, struct vsw_pcapng_buf *b)
{
	vsw_pcapng_shb(b, "hvnet vswitchd " HVNET_VERSION);
	c->n_idb = 0;
	write_idbs(c, b, VSW_CAPTURE_MAX_IFS);
}

/*
 * Makes fd (passed by the client) the destination. A pipe, FIFO or
 * character device is reopened as a file description of the session's own,
 * non-blocking (the client's stays as it was), so that a reader that stops
 * reading cannot hold the writer; a socket is written with MSG_DONTWAIT; a
 * regular file is written as it is (its offset and O_APPEND shared).
 */
static void adopt_out(struct vsw_capture *c, int fd)
{
	struct stat st;
	char path[64];
	int nfd;

	c->out = fd;
	if (fstat(fd, &st))
		return;
	c->out_sock = S_ISSOCK(st.st_mode);
	if (!S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode))
		return;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	nfd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (nfd >= 0) {
		close(fd);
		c->out = nfd;
	}
}

/*
 * Waits for the client's destination: one byte carrying a descriptor.
 * Returns the descriptor, or -1 when the client gave up or the session stops.
 */
static int receive_out(struct vsw_capture *c)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} ctl;
	char byte;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	int fd = -1;

	while (!c->stop) {
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, 100) <= 0)
			continue;
		msg.msg_control = ctl.buf;
		msg.msg_controllen = sizeof(ctl.buf);
		n = recvmsg(c->fd, &msg, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		for (struct cmsghdr *h = CMSG_FIRSTHDR(&msg); h; h = CMSG_NXTHDR(&msg, h)) {
			if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
				continue;
			for (size_t i = 0; i < (h->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
				int got;

				memcpy(&got, CMSG_DATA(h) + i * sizeof(int), sizeof(int));
				if (fd < 0)
					fd = got;
				else
					close(got); /* one destination only */
			}
		}
		return fd;
	}
	return -1;
}

/*
 * Sleeps until a tap queues a frame, the client or the session's end needs
 * an answer, or DOZE_MS pass (or the capture's end time).
 */
static void doze(struct vsw_capture *c, uint64_t end)
{
	struct pollfd p[2] = {{.fd = c->wake_fd, .events = POLLIN}, {.fd = c->fd, .events = POLLIN}};
	uint64_t now = rte_rdtsc(), ms = DOZE_MS, v;

	if (end != UINT64_MAX)
		ms = RTE_MIN(ms, end > now ? (end - now) * 1000 / c->tsc_hz + 1 : 0);
	__atomic_store_n(&c->asleep, 1, __ATOMIC_SEQ_CST);
	if (!c->stop && rte_ring_count(c->ring) == 0)
		poll(p, 2, (int)ms);
	__atomic_store_n(&c->asleep, 0, __ATOMIC_RELAXED);
	if (read(c->wake_fd, &v, sizeof(v)) < 0)
		v = 0; /* not woken: nothing to reset */
}

/* Moves frames from the ring to the destination until the session ends. */
static bool writer_loop(struct vsw_capture *c, struct vsw_pcapng_buf *b, uint64_t *written)
{
	uint64_t end = c->prm.duration > 0 ? c->tsc0 + (uint64_t)(c->prm.duration * c->tsc_hz)
					   : UINT64_MAX;
	size_t chunk = c->out >= 0 ? OUT_CHUNK : CHUNK;
	unsigned int idle_us = IDLE_MIN_US, busy = 0;

	while (!c->stop) {
		unsigned int n;
		bool full;

		/* a busy writer looks at the client and the clock every 64 drains */
		if ((!busy || (busy & 63) == 0) && client_gone(c->fd)) {
			c->reason = "stopped by the client";
			break;
		}
		if (rte_rdtsc() >= end) {
			c->reason = "duration reached";
			break;
		}
		n = drain(c, b, written);
		if (c->prm.count && *written >= c->prm.count) {
			c->reason = "count reached";
			break;
		}
		full = c->ob->n_held + c->ob->n_ranges == PEND_MAX;
		if ((b->len > chunk || full || (!n && b->len)) && flush_out(c, b)) {
			c->reason = c->out >= 0 ? "cannot write the capture" : "client gone";
			return c->out >= 0; /* the client still waits for the summary */
		}
		if (n || full) {
			busy++;
			idle_us = IDLE_MIN_US;
			continue;
		}
		/* the ring is empty: sleep briefly while traffic flows, then doze */
		busy = 0;
		if (idle_us <= IDLE_MAX_US) {
			usleep(idle_us);
			idle_us *= 2;
		} else {
			/* traffic stopped: nothing stays held until the next tap */
			reclaim_all(c);
			doze(c, end);
		}
	}
	return true;
}

static void *writer_main(void *arg)
{
	struct vsw_capture *c = arg;
	struct vsw_pcapng_buf b = {0};
	uint64_t written = 0;
	bool ok = true;

	if (c->prm.pass_fd) {
		int fd = receive_out(c);

		if (fd >= 0) {
			adopt_out(c, fd);
			pcapng_headers(c, &b);
		} else if (!c->stop) {
			c->reason = "stopped by the client";
		}
	}
	if (!c->prm.pass_fd || c->out >= 0)
		ok = writer_loop(c, &b, &written);
	c->ending = true;
	for (int i = 0; i < 10000 && !c->released; i++)
		usleep(1000);
	for (;;) {
		unsigned int n = drain(c, c->out >= 0 || !c->prm.pass_fd ? &b : NULL, &written);

		if (c->ob->n_held + c->ob->n_ranges == PEND_MAX)
			flush_out(c, &b);
		else if (!n)
			break;
	}
	finish(c, &b, written, ok);
	reclaim_all(c);
	vsw_pcapng_buf_free(&b);
	c->finished = true;
	return NULL;
}

/* The JSON line that opens the stream, and the pcapng headers unless the client passes a file. */
static int send_headers(struct vsw_capture *c)
{
	struct vsw_pcapng_buf b = {0};
	json_t *ifs = json_array(), *hdr;
	char *line;
	int rc = 0;

	for (unsigned int i = 0; i < c->n_ports; i++)
		json_array_append_new(ifs, json_string(c->names[i]));
	if (!c->prm.pass_fd)
		pcapng_headers(c, &b);
	hdr = json_pack("{s:i,s:o,s:s}", "capture", c->id, "interfaces", ifs, "filter", c->filter);
	line = json_dumps(hdr, JSON_COMPACT);
	if (!line || send_all(c->fd, line, strlen(line)) || send_all(c->fd, "\n", 1) ||
	    send_chunk(c->fd, &b))
		rc = -EPIPE;
	free(line);
	json_decref(hdr);
	vsw_pcapng_buf_free(&b);
	return rc;
}

/*
 * Thread attributes that keep the writer off the datapath lcores' CPUs:
 * the CPUs the control thread may use minus theirs (all of them if that
 * leaves none, as on a machine whose every CPU polls).
 */
static void writer_cpus(pthread_attr_t *attr)
{
	cpu_set_t mine, off;
	unsigned int id;

	if (pthread_getaffinity_np(pthread_self(), sizeof(mine), &mine))
		return;
	off = mine;
	RTE_LCORE_FOREACH_WORKER(id) {
		rte_cpuset_t dp = rte_lcore_cpuset(id);

		for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
			if (CPU_ISSET(cpu, &dp))
				CPU_CLR(cpu, &off);
		}
	}
	pthread_attr_setaffinity_np(attr, sizeof(cpu_set_t), CPU_COUNT(&off) ? &off : &mine);
}

int vsw_capture_start(struct vsw_capture *c, int fd, unsigned int id)
{
	pthread_attr_t attr;
	int rc;

	c->fd = fd;
	c->id = id;
	c->tsc_hz = rte_get_tsc_hz();
	c->tsc0 = rte_rdtsc();
	c->real0_us = real_us();
	rc = send_headers(c);
	if (rc)
		return rc;
	pthread_attr_init(&attr);
	writer_cpus(&attr);
	rc = -pthread_create(&c->writer, &attr, writer_main, c);
	pthread_attr_destroy(&attr);
	if (rc == 0) {
		c->started = true;
		pthread_setname_np(c->writer, "capture-writer");
	}
	return rc;
}

void vsw_capture_stop(struct vsw_capture *c, const char *reason)
{
	if (!c->stop) {
		c->reason = reason;
		c->stop = true;
		wake(c);
	}
}

bool vsw_capture_ending(const struct vsw_capture *c)
{
	return c->ending || c->stop;
}

void vsw_capture_released(struct vsw_capture *c)
{
	c->released = true;
}

bool vsw_capture_finished(const struct vsw_capture *c)
{
	return !c->started || c->finished;
}

void vsw_capture_free(struct vsw_capture *c)
{
	if (!c)
		return;
	if (c->started) {
		int fd = c->fd;

		c->stop = true;
		c->released = true;
		wake(c);
		/* a client (or a pipe) that does not read keeps the writer waiting: cut it off */
		for (int i = 0; i < 2000 && !c->finished; i++)
			usleep(1000);
		c->cut = true;
		if (!c->finished && fd >= 0)
			shutdown(fd, SHUT_RDWR);
		pthread_join(c->writer, NULL);
	}
	if (c->fd >= 0)
		close(c->fd);
	if (c->out >= 0)
		close(c->out);
	if (c->wake_fd >= 0)
		close(c->wake_fd);
	while (c->ring && drain(c, NULL, NULL))
		;
	if (c->ret)
		reclaim_all(c);
	rte_ring_free(c->ring);
	rte_ring_free(c->ret);
	for (unsigned int l = 0; l < VSW_MAX_LCORES; l++)
		rte_free(c->bufs[l].data);
	rte_bpf_destroy(c->bpf);
	for (unsigned int i = 0; c->names && i < c->n_ports; i++) {
		free(c->names[i]);
		free(c->switches[i]);
	}
	free(c->names);
	free(c->switches);
	free(c->ports);
	free(c->filter);
	free(c->scratch);
	free(c->ob);
	rte_free(c);
}

unsigned int vsw_capture_forget_port(struct vsw_capture *c, uint16_t port)
{
	unsigned int left = 0;

	for (unsigned int i = 0; i < c->n_ports; i++) {
		if (c->ports[i] == port)
			c->ports[i] = UINT16_MAX;
		left += c->ports[i] != UINT16_MAX;
	}
	return left;
}

int vsw_capture_add_port(struct vsw_capture *c, const struct vsw_capture_port *p)
{
	unsigned int i;

	/* a port that comes back under its old name (a VM restarted) keeps its interface */
	for (i = 0; i < c->n_ports; i++) {
		if (c->ports[i] == UINT16_MAX && !strcmp(c->names[i], p->name) &&
		    !strcmp(c->switches[i], p->switch_name)) {
			c->ports[i] = p->port;
			return (int)i;
		}
	}
	if (c->n_ports == VSW_CAPTURE_MAX_IFS)
		return -ENOSPC;
	c->ports[i] = p->port;
	c->names[i] = strdup(p->name);
	c->switches[i] = strdup(p->switch_name);
	if (!c->names[i] || !c->switches[i]) {
		free(c->names[i]);
		free(c->switches[i]);
		return -ENOMEM;
	}
	__atomic_store_n(&c->n_ports, i + 1, __ATOMIC_RELEASE); /* the writer's IDB comes next */
	return (int)i;
}

unsigned int vsw_capture_n_ports(const struct vsw_capture *c)
{
	return c->n_ports;
}

uint16_t vsw_capture_port(const struct vsw_capture *c, unsigned int i)
{
	return c->ports[i];
}

uint8_t vsw_capture_dirs(const struct vsw_capture *c)
{
	return c->prm.dirs;
}
