/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Port kinds backed by a DPDK ethdev: memif, tap (each a
 * virtual device this module names and probes) and ethdev (any devargs:
 * a PCI address, net_af_xdp, net_af_packet, net_pcap, ...). One receive
 * queue, polled by one lcore; one transmit queue per datapath lcore when
 * the device has enough, else a lock around queue 0.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_spinlock.h>

#include "port_provider.h"

#define RX_DESC 1024
#define TX_DESC 1024

/* DPDK ports in use by a switch port (control thread only). */
static bool port_in_use[RTE_MAX_ETHPORTS];

struct eth_port {
	uint16_t port_id;
	uint16_t n_txq;	       /* transmit queues configured */
	bool shared_tx;	       /* fewer queues than lcores: lock queue 0 */
	bool owns_device;      /* probed by us: remove on close */
	rte_spinlock_t tx_lock;
	char devargs[512];
};

static uint16_t eth_rx(void *ctx, struct rte_mbuf **pkts, uint16_t n)
{
	struct eth_port *ep = ctx;

	return rte_eth_rx_burst(ep->port_id, 0, pkts, n);
}

static uint16_t eth_tx(void *ctx, uint16_t txq, struct rte_mbuf **pkts, uint16_t n)
{
	struct eth_port *ep = ctx;
	uint16_t sent;

	if (!ep->shared_tx)
		return rte_eth_tx_burst(ep->port_id, txq, pkts, n);
	rte_spinlock_lock(&ep->tx_lock);
	sent = rte_eth_tx_burst(ep->port_id, 0, pkts, n);
	rte_spinlock_unlock(&ep->tx_lock);
	return sent;
}

/* Finds the first port of the device devargs names. */
static int find_port(const char *devargs, uint16_t *port_id)
{
	struct rte_dev_iterator it;
	uint16_t pid;

	RTE_ETH_FOREACH_MATCHING_DEV(pid, devargs, &it) {
		*port_id = pid;
		rte_eth_iterator_cleanup(&it);
		return 0;
	}
	return -ENODEV;
}

static int configure(struct eth_port *ep, const struct vsw_port_params *p, struct ctl_err *err)
{
	struct rte_eth_conf conf = {0};
	struct rte_eth_dev_info info;
	uint16_t rxd = RX_DESC, txd = TX_DESC;
	int rc;

	rc = rte_eth_dev_info_get(ep->port_id, &info);
	if (rc)
		return ctl_err_set(err, -rc, "%s: cannot query the device: %s", p->kind,
				   strerror(-rc));
	ep->n_txq = RTE_MIN(p->n_txq ? p->n_txq : 1, info.max_tx_queues);
	ep->shared_tx = ep->n_txq < p->n_txq;
	rc = rte_eth_dev_configure(ep->port_id, 1, ep->n_txq, &conf);
	if (!rc)
		rc = rte_eth_dev_adjust_nb_rx_tx_desc(ep->port_id, &rxd, &txd);
	if (!rc)
		rc = rte_eth_rx_queue_setup(ep->port_id, 0, rxd, p->socket, NULL, p->pool);
	for (uint16_t q = 0; !rc && q < ep->n_txq; q++)
		rc = rte_eth_tx_queue_setup(ep->port_id, q, txd, p->socket, NULL);
	if (!rc)
		rc = rte_eth_dev_start(ep->port_id);
	if (rc)
		return ctl_err_set(err, -rc, "%s: cannot start the device: %s", p->kind,
				   strerror(-rc));
	rte_eth_promiscuous_enable(ep->port_id);
	return 0;
}

static void release(struct eth_port *ep)
{
	struct rte_eth_dev_info info;

	rte_eth_dev_stop(ep->port_id);
	if (ep->owns_device && rte_eth_dev_info_get(ep->port_id, &info) == 0 && info.device &&
	    rte_dev_remove(info.device) == 0)
		return;
	rte_eth_dev_close(ep->port_id);
}

/*
 * Probes devargs (a device we create when owned) and starts its first port.
 * field names the user's option in errors.
 */
static int open_devargs(const char *devargs, bool owned, const char *field,
			const struct vsw_port_params *p, void **priv, struct vsw_port_io *io,
			struct ctl_err *err)
{
	struct eth_port *ep = calloc(1, sizeof(*ep));
	int rc;

	if (!ep)
		return ctl_err_set(err, ENOMEM, "out of memory");
	snprintf(ep->devargs, sizeof(ep->devargs), "%s", devargs);
	rte_spinlock_init(&ep->tx_lock);
	rc = rte_dev_probe(devargs);
	if (rc < 0 && rc != -EEXIST) {
		ctl_err_set(err, -rc, "%s: DPDK rejected '%s' (%s)", field, devargs,
			    rc == -EFAULT || rc == -EINVAL || rc == -ENOENT
				    ? "unknown device or bad arguments; the vswitchd log says more"
				    : strerror(-rc));
		goto err_free;
	}
	ep->owns_device = owned || rc == 0;
	if (find_port(devargs, &ep->port_id)) {
		rc = ctl_err_set(err, ENODEV, "%s: '%s' has no ethernet port", field, devargs);
		goto err_free;
	}
	if (port_in_use[ep->port_id]) {
		rc = ctl_err_set(err, EBUSY, "%s: the device of '%s' is already used by a port",
				 field, devargs);
		goto err_free;
	}
	rc = configure(ep, p, err);
	if (rc)
		goto err_release;
	port_in_use[ep->port_id] = true;
	*priv = ep;
	*io = (struct vsw_port_io){.rx = eth_rx, .tx = eth_tx, .ctx = ep};
	return 0;

err_release:
	release(ep);
err_free:
	free(ep);
	return rc < 0 ? rc : -EINVAL;
}

static void eth_close(void *priv)
{
	struct eth_port *ep = priv;

	if (!ep)
		return;
	port_in_use[ep->port_id] = false;
	release(ep);
	free(priv);
}

static void eth_describe(void *priv, json_t *obj)
{
	struct eth_port *ep = priv;
	struct rte_eth_link link;

	json_object_set_new(obj, "devargs", json_string(ep->devargs));
	json_object_set_new(obj, "dpdk_port", json_integer(ep->port_id));
	json_object_set_new(obj, "tx_queues", json_integer(ep->n_txq));
	if (rte_eth_link_get_nowait(ep->port_id, &link) == 0) {
		json_object_set_new(obj, "link", json_string(link.link_status ? "up" : "down"));
		json_object_set_new(obj, "speed_mbps", json_integer(link.link_speed));
	}
}

static int eth_get_mac(void *priv, uint8_t mac[6])
{
	struct eth_port *ep = priv;
	struct rte_ether_addr a;

	if (rte_eth_macaddr_get(ep->port_id, &a))
		return -ENOTSUP;
	memcpy(mac, a.addr_bytes, 6);
	return 0;
}

static void eth_set_admin(void *priv, bool up)
{
	struct eth_port *ep = priv;

	if (up)
		rte_eth_dev_set_link_up(ep->port_id);
	else
		rte_eth_dev_set_link_down(ep->port_id);
}

/* Rejects option values that would smuggle extra devargs in. */
static int check_devarg_value(const char *field, const char *v, struct ctl_err *err)
{
	if (!v || !*v)
		return ctl_err_set(err, EINVAL, "%s: required", field);
	if (strpbrk(v, ",="))
		return ctl_err_set(err, EINVAL, "%s: '%s' must not contain ',' or '='", field, v);
	return 0;
}

static int memif_open(const struct vsw_port_params *p, void **priv, struct vsw_port_io *io,
		      struct ctl_err *err)
{
	char devargs[512];

	if (check_devarg_value("memif-socket", p->memif_socket, err))
		return -EINVAL;
	snprintf(devargs, sizeof(devargs), "net_memif_hv%u,socket=%s,id=%u,role=%s,socket-abstract=no",
		 p->index, p->memif_socket, p->memif_id, p->memif_server ? "server" : "client");
	return open_devargs(devargs, true, "memif", p, priv, io, err);
}

static int tap_open(const struct vsw_port_params *p, void **priv, struct vsw_port_io *io,
		    struct ctl_err *err)
{
	char devargs[128];

	if (check_devarg_value("ifname", p->ifname, err))
		return -EINVAL;
	if (strlen(p->ifname) > 15)
		return ctl_err_set(err, EINVAL, "ifname: '%s' is longer than 15 characters",
				   p->ifname);
	snprintf(devargs, sizeof(devargs), "net_tap_hv%u,iface=%s", p->index, p->ifname);
	return open_devargs(devargs, true, "ifname", p, priv, io, err);
}

static int ethdev_open(const struct vsw_port_params *p, void **priv, struct vsw_port_io *io,
		       struct ctl_err *err)
{
	if (!p->devargs || !*p->devargs)
		return ctl_err_set(err, EINVAL, "devargs: required (a PCI address or a vdev like net_af_xdp0,iface=eth1)");
	return open_devargs(p->devargs, false, "devargs", p, priv, io, err);
}

#define ETH_CLASS(k, open_fn)                                                                      \
	{                                                                                          \
		.kind = k, .open = open_fn, .close = eth_close, .set_admin = eth_set_admin,        \
		.describe = eth_describe, .get_mac = eth_get_mac,                                  \
	}

const struct vsw_port_class vsw_port_memif_class = ETH_CLASS("memif", memif_open);
const struct vsw_port_class vsw_port_tap_class = ETH_CLASS("tap", tap_open);
const struct vsw_port_class vsw_port_ethdev_class = ETH_CLASS("ethdev", ethdev_open);
