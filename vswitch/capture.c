/* SPDX-License-Identifier: BSD-3-Clause */
/* Packet capture sessions: see capture.h. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <pcap/pcap.h>
#include <rte_bpf.h>
#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_ring.h>

#include "capture.h"
#include "hvnet_config.h"
#include "datapath.h"

#define RING_SIZE 8192
#define CHUNK 65536

/* Kept in a copy's headroom, in front of the frame. */
struct copy_meta {
	uint64_t tsc;
	uint32_t orig_len;
	uint16_t ifidx;
	uint8_t dir;
	uint8_t pad;
};

struct lcore_stats {
	uint64_t filtered, dropped;
} __rte_cache_aligned;

struct vsw_capture {
	struct vsw_capture_params prm;
	char *filter;
	struct rte_bpf *bpf;
	struct rte_bpf_jit jit;
	struct rte_ring *ring;
	unsigned int n_ports;
	uint16_t *ports;
	char **names, **switches;
	int fd;
	unsigned int id;
	pthread_t writer;
	bool started;
	/* shared between threads */
	volatile bool stop, ending, released, finished;
	const char *volatile reason;
	uint64_t tsc0, real0_us; /* clock mapping */
	struct lcore_stats stats[VSW_MAX_LCORES];
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
	c->filter = strdup(prm->filter ? prm->filter : "");
	c->ports = calloc(n ? n : 1, sizeof(*c->ports));
	c->names = calloc(n ? n : 1, sizeof(*c->names));
	c->switches = calloc(n ? n : 1, sizeof(*c->switches));
	snprintf(name, sizeof(name), "capture%u", ring_seq++);
	c->ring = rte_ring_create(name, RING_SIZE, SOCKET_ID_ANY, RING_F_SC_DEQ);
	if (!c->filter || !c->ports || !c->names || !c->switches || !c->ring) {
		ctl_err_set(err, ENOMEM, "out of memory");
		goto err_free;
	}
	c->n_ports = n;
	for (unsigned int i = 0; i < n; i++) {
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

/*
 * Copies up to snaplen bytes of m into a fresh single-segment mbuf c, with
 * the capture metadata in front. Longer frames fall back to a chained copy.
 */
static struct rte_mbuf *copy_frame(struct vsw_capture *cap, struct rte_mbuf *m, struct rte_mbuf *c,
				   uint16_t ifidx, uint8_t dir, uint64_t tsc)
{
	uint32_t len = RTE_MIN(m->pkt_len, cap->prm.snaplen);
	struct copy_meta *meta;

	if (len + sizeof(*meta) > rte_pktmbuf_tailroom(c) || !rte_pktmbuf_is_contiguous(m)) {
		rte_pktmbuf_free(c);
		c = rte_pktmbuf_copy(m, cap->prm.pool, 0, cap->prm.snaplen);
		if (!c)
			return NULL;
	} else {
		memcpy(rte_pktmbuf_append(c, (uint16_t)len), rte_pktmbuf_mtod(m, void *), len);
	}
	meta = (struct copy_meta *)rte_pktmbuf_prepend(c, sizeof(*meta));
	if (!meta) {
		rte_pktmbuf_free(c);
		return NULL;
	}
	*meta = (struct copy_meta){.tsc = tsc, .orig_len = m->pkt_len, .ifidx = ifidx, .dir = dir};
	return c;
}

void vsw_capture_tap(struct vsw_capture *c, unsigned int lcore, uint16_t ifidx, uint8_t dir,
		     struct rte_mbuf **pkts, uint16_t n, uint64_t tsc)
{
	struct lcore_stats *st = &c->stats[lcore];
	struct rte_mbuf *match[64], *copies[64];
	unsigned int k = 0, nm = 0, sent;

	for (uint16_t i = 0; i < n && nm < 64; i++) {
		if (c->bpf && !(c->jit.func ? c->jit.func(pkts[i]) : rte_bpf_exec(c->bpf, pkts[i])))
			st->filtered++;
		else
			match[nm++] = pkts[i];
	}
	if (!nm)
		return;
	if (rte_pktmbuf_alloc_bulk(c->prm.pool, copies, nm)) {
		st->dropped += nm;
		return;
	}
	for (unsigned int i = 0; i < nm; i++) {
		struct rte_mbuf *cp = copy_frame(c, match[i], copies[i], ifidx, dir, tsc);

		if (cp)
			copies[k++] = cp;
		else
			st->dropped++;
	}
	sent = rte_ring_enqueue_burst(c->ring, (void **)copies, k, NULL);
	if (sent < k) {
		st->dropped += k - sent;
		rte_pktmbuf_free_bulk(copies + sent, k - sent);
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

static uint64_t real_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Encodes one copy; returns 1 if written, 0 if not (count reached). */
static int write_copy(struct vsw_capture *c, struct vsw_pcapng_buf *b, struct rte_mbuf *m,
		      uint64_t *written)
{
	struct copy_meta meta = *rte_pktmbuf_mtod(m, struct copy_meta *);
	uint8_t tmp[RTE_MBUF_DEFAULT_BUF_SIZE * 4];
	const void *data;
	uint32_t len;

	if (c->prm.count && *written >= c->prm.count)
		return 0;
	rte_pktmbuf_adj(m, sizeof(meta));
	len = RTE_MIN(m->pkt_len, (uint32_t)sizeof(tmp));
	data = rte_pktmbuf_read(m, 0, len, tmp);
	if (!data)
		return 0;
	vsw_pcapng_epb(b, meta.ifidx,
		       c->real0_us + (meta.tsc - c->tsc0) * 1000000 / rte_get_tsc_hz(), data, len,
		       meta.orig_len,
		       meta.dir == VSW_CAPTURE_IN ? VSW_PCAPNG_IN : VSW_PCAPNG_OUT);
	(*written)++;
	return 1;
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

/* Moves what the ring holds into b; returns how many copies were taken. */
static unsigned int drain(struct vsw_capture *c, struct vsw_pcapng_buf *b, uint64_t *written)
{
	struct rte_mbuf *m[64];
	unsigned int n = rte_ring_dequeue_burst(c->ring, (void **)m, 64, NULL);

	for (unsigned int i = 0; i < n; i++)
		write_copy(c, b, m[i], written);
	if (n)
		rte_pktmbuf_free_bulk(m, n);
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
	sum = json_pack("{s:I,s:I,s:I,s:s}", "captured", (json_int_t)written, "filtered_out",
			(json_int_t)filtered, "dropped", (json_int_t)dropped, "reason",
			c->reason ? c->reason : "ended");
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

static void *writer_main(void *arg)
{
	struct vsw_capture *c = arg;
	struct vsw_pcapng_buf b = {0};
	uint64_t written = 0, end = c->prm.duration > 0
					    ? rte_rdtsc() + (uint64_t)(c->prm.duration * rte_get_tsc_hz())
					    : UINT64_MAX;
	bool ok = true;

	while (!c->stop) {
		unsigned int n;

		if (client_gone(c->fd)) {
			c->reason = "stopped by the client";
			break;
		}
		if (rte_rdtsc() >= end) {
			c->reason = "duration reached";
			break;
		}
		n = drain(c, &b, &written);
		if (c->prm.count && written >= c->prm.count) {
			c->reason = "count reached";
			break;
		}
		if ((b.len > CHUNK || (!n && b.len)) && send_chunk(c->fd, &b)) {
			c->reason = "client gone";
			ok = false;
			break;
		}
		if (!n)
			usleep(500);
	}
	c->ending = true;
	for (int i = 0; i < 10000 && !c->released; i++)
		usleep(1000);
	while (drain(c, &b, &written))
		;
	finish(c, &b, written, ok);
	vsw_pcapng_buf_free(&b);
	c->finished = true;
	return NULL;
}

/* The JSON line that opens the stream, and the pcapng headers. */
static int send_headers(struct vsw_capture *c)
{
	struct vsw_pcapng_buf b = {0};
	json_t *ifs = json_array(), *hdr;
	char descr[128], *line;
	int rc = 0;

	vsw_pcapng_shb(&b, "hvnet vswitchd " HVNET_VERSION);
	for (unsigned int i = 0; i < c->n_ports; i++) {
		snprintf(descr, sizeof(descr), "hvnet switch %s port %s", c->switches[i],
			 c->names[i]);
		vsw_pcapng_idb(&b, c->names[i], descr, c->prm.snaplen, c->filter);
		json_array_append_new(ifs, json_string(c->names[i]));
	}
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

int vsw_capture_start(struct vsw_capture *c, int fd, unsigned int id)
{
	int rc;

	c->fd = fd;
	c->id = id;
	c->tsc0 = rte_rdtsc();
	c->real0_us = real_us();
	rc = send_headers(c);
	if (rc)
		return rc;
	rc = -pthread_create(&c->writer, NULL, writer_main, c);
	if (rc == 0)
		c->started = true;
	return rc;
}

void vsw_capture_stop(struct vsw_capture *c, const char *reason)
{
	if (!c->stop) {
		c->reason = reason;
		c->stop = true;
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
	struct rte_mbuf *m;

	if (!c)
		return;
	if (c->started) {
		c->stop = true;
		c->released = true;
		pthread_join(c->writer, NULL);
	}
	if (c->fd >= 0)
		close(c->fd);
	while (c->ring && rte_ring_dequeue(c->ring, (void **)&m) == 0)
		rte_pktmbuf_free(m);
	rte_ring_free(c->ring);
	rte_bpf_destroy(c->bpf);
	for (unsigned int i = 0; i < c->n_ports; i++) {
		free(c->names[i]);
		free(c->switches[i]);
	}
	free(c->names);
	free(c->switches);
	free(c->ports);
	free(c->filter);
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
