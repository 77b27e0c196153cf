/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The pcap port kind, for tests and replay: receives the frames of a pcap
 * file and writes what the switch sends it to another. Replay starts when
 * the port goes administratively up and keeps the file's inter-frame gaps
 * (relative to its first frame), so a test can configure the switch first
 * and order events across ports in time. The tx file is flushed after
 * every burst, so it is a valid pcap at any moment.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <pcap/pcap.h>
#include <rte_cycles.h>

#include "port_provider.h"

#define SNAPLEN 65535

struct pcap_port {
	pcap_t *rx;		     /* NULL once the file is exhausted, or without --rx */
	pcap_t *tx_dead;	     /* format for the tx dumper */
	pcap_dumper_t *tx;
	struct rte_mempool *pool;
	struct rte_mbuf *pending;    /* read from the file but not yet due */
	uint64_t pending_due;	     /* TSC at which pending is due */
	struct timeval pending_ts;   /* its timestamp in the file */
	struct timeval first_ts;     /* timestamp of the file's first frame */
	bool have_first;
	uint64_t start_tsc;	     /* when the port went up */
	char rx_file[256], tx_file[256];
};

static uint64_t due_tsc(struct pcap_port *pp, const struct timeval *ts)
{
	int64_t us;

	if (!pp->have_first) {
		pp->first_ts = *ts;
		pp->have_first = true;
	}
	us = (int64_t)(ts->tv_sec - pp->first_ts.tv_sec) * 1000000 +
	     (ts->tv_usec - pp->first_ts.tv_usec);
	if (us < 0)
		us = 0;
	return pp->start_tsc + (uint64_t)us * (rte_get_tsc_hz() / 1000000);
}

/* Reads the next frame into pp->pending. Returns false at the end of the file. */
static bool read_next(struct pcap_port *pp)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	struct rte_mbuf *m;

	while (pp->rx && pcap_next_ex(pp->rx, &h, &data) == 1) {
		m = rte_pktmbuf_alloc(pp->pool);
		if (!m)
			return false; /* try again on the next poll */
		if (h->caplen > rte_pktmbuf_tailroom(m) || h->caplen < 1) {
			rte_pktmbuf_free(m); /* larger than one mbuf: skip it */
			continue;
		}
		memcpy(rte_pktmbuf_append(m, (uint16_t)h->caplen), data, h->caplen);
		pp->pending = m;
		pp->pending_ts = h->ts;
		pp->pending_due = due_tsc(pp, &h->ts);
		return true;
	}
	if (pp->rx) {
		pcap_close(pp->rx);
		pp->rx = NULL;
	}
	return false;
}

static uint16_t pcap_rx(void *ctx, struct rte_mbuf **pkts, uint16_t n)
{
	struct pcap_port *pp = ctx;
	uint64_t now = rte_rdtsc();
	uint16_t got = 0;

	while (got < n) {
		if (!pp->pending && !read_next(pp))
			break;
		if (pp->pending_due > now)
			break;
		pkts[got++] = pp->pending;
		pp->pending = NULL;
	}
	return got;
}

static uint16_t pcap_tx(void *ctx, uint16_t txq, struct rte_mbuf **pkts, uint16_t n)
{
	struct pcap_port *pp = ctx;
	uint8_t buf[SNAPLEN];

	(void)txq;
	for (uint16_t i = 0; i < n; i++) {
		struct pcap_pkthdr h = {.caplen = RTE_MIN(pkts[i]->pkt_len, (uint32_t)SNAPLEN),
					.len = pkts[i]->pkt_len};
		const void *data = rte_pktmbuf_read(pkts[i], 0, h.caplen, buf);

		if (pp->tx && data) {
			gettimeofday(&h.ts, NULL);
			pcap_dump((u_char *)pp->tx, &h, data);
		}
		rte_pktmbuf_free(pkts[i]);
	}
	if (pp->tx)
		pcap_dump_flush(pp->tx);
	return n;
}

static void pcap_port_close(void *priv)
{
	struct pcap_port *pp = priv;

	if (!pp)
		return;
	rte_pktmbuf_free(pp->pending);
	if (pp->rx)
		pcap_close(pp->rx);
	if (pp->tx)
		pcap_dump_close(pp->tx);
	if (pp->tx_dead)
		pcap_close(pp->tx_dead);
	free(pp);
}

static int open_files(struct pcap_port *pp, const struct vsw_port_params *p, struct ctl_err *err)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";

	if (p->rx_file && *p->rx_file) {
		pp->rx = pcap_open_offline(p->rx_file, ebuf);
		if (!pp->rx)
			return ctl_err_set(err, EINVAL, "rx: cannot read '%s': %s", p->rx_file, ebuf);
		if (pcap_datalink(pp->rx) != DLT_EN10MB)
			return ctl_err_set(err, EINVAL, "rx: '%s' is not an Ethernet capture",
					   p->rx_file);
		snprintf(pp->rx_file, sizeof(pp->rx_file), "%s", p->rx_file);
	}
	if (p->tx_file && *p->tx_file) {
		pp->tx_dead = pcap_open_dead(DLT_EN10MB, SNAPLEN);
		pp->tx = pp->tx_dead ? pcap_dump_open(pp->tx_dead, p->tx_file) : NULL;
		if (!pp->tx)
			return ctl_err_set(err, EINVAL, "tx: cannot write '%s': %s", p->tx_file,
					   pp->tx_dead ? pcap_geterr(pp->tx_dead) : "no memory");
		snprintf(pp->tx_file, sizeof(pp->tx_file), "%s", p->tx_file);
	}
	return 0;
}

static int pcap_port_open(const struct vsw_port_params *p, void **priv, struct vsw_port_io *io,
			  struct ctl_err *err)
{
	struct pcap_port *pp = calloc(1, sizeof(*pp));
	int rc;

	if (!pp)
		return ctl_err_set(err, ENOMEM, "out of memory");
	if ((!p->rx_file || !*p->rx_file) && (!p->tx_file || !*p->tx_file)) {
		free(pp);
		return ctl_err_set(err, EINVAL, "rx: a pcap port needs --rx FILE and/or --tx FILE");
	}
	pp->pool = p->pool;
	rc = open_files(pp, p, err);
	if (rc) {
		pcap_port_close(pp);
		return rc;
	}
	*priv = pp;
	*io = (struct vsw_port_io){.rx = pcap_rx, .tx = pcap_tx, .ctx = pp};
	return 0;
}

static void pcap_port_set_admin(void *priv, bool up)
{
	struct pcap_port *pp = priv;

	/* Replay time starts now, from the next frame of the file. */
	if (up) {
		pp->start_tsc = rte_rdtsc();
		pp->have_first = false;
		if (pp->pending)
			pp->pending_due = due_tsc(pp, &pp->pending_ts);
	}
}

static void pcap_port_describe(void *priv, json_t *obj)
{
	struct pcap_port *pp = priv;

	json_object_set_new(obj, "rx_file", json_string(pp->rx_file));
	json_object_set_new(obj, "tx_file", json_string(pp->tx_file));
	json_object_set_new(obj, "replay_done", json_boolean(!pp->rx && !pp->pending));
}

const struct vsw_port_class vsw_port_pcap_class = {
	.kind = "pcap",
	.open = pcap_port_open,
	.close = pcap_port_close,
	.set_admin = pcap_port_set_admin,
	.describe = pcap_port_describe,
};
