/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The dummy port kind, for tests and microbenchmarks (STYLE.md 13): a
 * port backed by two rte_rings named "dummy_rx:<port>" and
 * "dummy_tx:<port>". Whatever a test enqueues on the rx ring enters the
 * switch; whatever the switch sends lands on the tx ring (a full tx ring
 * refuses frames, as a full NIC queue does). Not offered to vswitchctl.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "port_provider.h"

#define DUMMY_RING_SIZE 1024

struct dummy_port {
	struct rte_ring *rx, *tx;
};

static uint16_t dummy_rx(void *ctx, struct rte_mbuf **pkts, uint16_t n)
{
	struct dummy_port *dp = ctx;

	return (uint16_t)rte_ring_dequeue_burst(dp->rx, (void **)pkts, n, NULL);
}

static uint16_t dummy_tx(void *ctx, uint16_t txq, struct rte_mbuf **pkts, uint16_t n)
{
	struct dummy_port *dp = ctx;

	(void)txq;
	return (uint16_t)rte_ring_enqueue_burst(dp->tx, (void **)pkts, n, NULL);
}

/* Frees the frames left on a ring. */
static void drain(struct rte_ring *r)
{
	struct rte_mbuf *m[32];
	unsigned int n;

	while (r && (n = rte_ring_dequeue_burst(r, (void **)m, 32, NULL)) > 0)
		rte_pktmbuf_free_bulk(m, n);
}

static void dummy_close(void *priv)
{
	struct dummy_port *dp = priv;

	if (!dp)
		return;
	drain(dp->rx);
	drain(dp->tx);
	rte_ring_free(dp->rx);
	rte_ring_free(dp->tx);
	free(dp);
}

static int dummy_open(const struct vsw_port_params *p, void **priv, struct vsw_port_io *io,
		      struct ctl_err *err)
{
	struct dummy_port *dp = calloc(1, sizeof(*dp));
	char name[RTE_RING_NAMESIZE];

	if (!dp)
		return ctl_err_set(err, ENOMEM, "out of memory");
	snprintf(name, sizeof(name), "dummy_rx:%s", p->name);
	dp->rx = rte_ring_create(name, DUMMY_RING_SIZE, p->socket, RING_F_SC_DEQ);
	snprintf(name, sizeof(name), "dummy_tx:%s", p->name);
	dp->tx = rte_ring_create(name, DUMMY_RING_SIZE, p->socket, 0);
	if (!dp->rx || !dp->tx) {
		dummy_close(dp);
		return ctl_err_set(err, ENOMEM, "dummy: cannot create rings for '%s': %s", p->name,
				   rte_strerror(rte_errno));
	}
	*priv = dp;
	*io = (struct vsw_port_io){.rx = dummy_rx, .tx = dummy_tx, .ctx = dp};
	return 0;
}

const struct vsw_port_class vsw_port_dummy_class = {
	.kind = "dummy",
	.open = dummy_open,
	.close = dummy_close,
};
