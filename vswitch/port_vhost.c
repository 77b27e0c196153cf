/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The vhostuser port kind on DPDK's vhost library directly (librte_vhost),
 * the way a virtio guest (QEMU, Cloud Hypervisor, a virtio-user
 * application) reaches the switch. One virtio queue pair: the datapath
 * dequeues the guest's transmit ring and enqueues into its receive ring,
 * both copies made by the vhost library, without the ethdev layer between
 * (no per-frame statistics or size histograms the switch keeps itself, and
 * transmitted frames are released in one bulk free).
 *
 * The device appears (new_device) and goes away (destroy_device) on the
 * library's event thread. The datapath reads the device id once per burst;
 * destroy_device clears it and waits, through the switch's RCU, until no
 * loop can still be using the old one, as the library requires.
 *
 * Offloads: the switch does not compute checksums or segment frames for
 * other ports, so the guest is not offered checksum or segmentation
 * offload for what it sends (it fills checksums itself).
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_net.h>
#include <rte_rcu_qsbr.h>
#include <rte_vhost.h>

#include "log.h"
#include "port_provider.h"

#define GUEST_RX 0 /* virtqueue the switch fills (the guest's receive ring) */
#define GUEST_TX 1 /* virtqueue the switch drains (the guest's transmit ring) */

/* What the guest may not hand us: offloads the switch would have to finish. */
#define UNSUPPORTED_FEATURES                                                                       \
	((1ULL << VIRTIO_NET_F_CSUM) | (1ULL << VIRTIO_NET_F_HOST_TSO4) |                          \
	 (1ULL << VIRTIO_NET_F_HOST_TSO6) | (1ULL << VIRTIO_NET_F_HOST_ECN) |                      \
	 (1ULL << VIRTIO_NET_F_HOST_UFO))

struct vh_port {
	int vid; /* the connected device, -1 when none (atomic) */
	bool server;
	struct rte_mempool *pool;
	struct rte_rcu_qsbr *qs;
	uint64_t connects; /* devices that came up on this port */
	char path[PATH_MAX];
	struct vh_port *next;
};

/* Open ports, for the callbacks to find theirs by socket path. */
static pthread_mutex_t ports_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vh_port *ports;

static uint16_t vh_rx(void *ctx, struct rte_mbuf **pkts, uint16_t n)
{
	struct vh_port *vp = ctx;
	int vid = __atomic_load_n(&vp->vid, __ATOMIC_ACQUIRE);

	if (vid < 0)
		return 0;
	return rte_vhost_dequeue_burst(vid, GUEST_TX, vp->pool, pkts, n);
}

/* The library copies the frames into the guest's buffers: the sent ones are released here. */
static uint16_t vh_tx(void *ctx, uint16_t txq, struct rte_mbuf **pkts, uint16_t n)
{
	struct vh_port *vp = ctx;
	int vid = __atomic_load_n(&vp->vid, __ATOMIC_ACQUIRE);
	uint16_t sent;

	(void)txq; /* the library serializes lcores on the one receive ring */
	if (vid < 0)
		return 0;
	sent = rte_vhost_enqueue_burst(vid, GUEST_RX, pkts, n);
	if (sent)
		rte_pktmbuf_free_bulk(pkts, sent);
	return sent;
}

/* The open port on socket path; ports_lock held. */
static struct vh_port *find_path(const char *path)
{
	for (struct vh_port *vp = ports; vp; vp = vp->next) {
		if (!strcmp(vp->path, path))
			return vp;
	}
	return NULL;
}

/* The open port of a device; ports_lock held. */
static struct vh_port *find_by_vid(int vid)
{
	char path[PATH_MAX];

	return rte_vhost_get_ifname(vid, path, sizeof(path)) ? NULL : find_path(path);
}

static int new_device(int vid)
{
	struct vh_port *vp;

	pthread_mutex_lock(&ports_lock);
	vp = find_by_vid(vid);
	if (vp) {
		/* the switch polls both rings: the guest need not kick it */
		rte_vhost_enable_guest_notification(vid, GUEST_RX, 0);
		rte_vhost_enable_guest_notification(vid, GUEST_TX, 0);
		vp->connects++;
		__atomic_store_n(&vp->vid, vid, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&ports_lock);
	if (vp)
		vsw_log(VSW_LOG_INFO, "vhost-user %s: virtio device %d up", vp->path, vid);
	return vp ? 0 : -1;
}

static void destroy_device(int vid)
{
	struct rte_rcu_qsbr *qs = NULL;
	struct vh_port *vp;

	pthread_mutex_lock(&ports_lock);
	vp = find_by_vid(vid);
	if (vp && __atomic_load_n(&vp->vid, __ATOMIC_RELAXED) == vid) {
		__atomic_store_n(&vp->vid, -1, __ATOMIC_RELEASE);
		qs = vp->qs;
	}
	pthread_mutex_unlock(&ports_lock);
	/* no loop may touch the device once this returns */
	if (qs)
		rte_rcu_qsbr_synchronize(qs, RTE_QSBR_THRID_INVALID);
	if (vp)
		vsw_log(VSW_LOG_INFO, "vhost-user %s: virtio device %d down", vp->path, vid);
}

static const struct rte_vhost_device_ops vh_ops = {
	.new_device = new_device,
	.destroy_device = destroy_device,
};

static void unlink_port(struct vh_port *vp)
{
	pthread_mutex_lock(&ports_lock);
	for (struct vh_port **pp = &ports; *pp; pp = &(*pp)->next) {
		if (*pp == vp) {
			*pp = vp->next;
			break;
		}
	}
	pthread_mutex_unlock(&ports_lock);
}

static bool path_in_use(const char *path)
{
	bool used;

	pthread_mutex_lock(&ports_lock);
	used = find_path(path) != NULL;
	pthread_mutex_unlock(&ports_lock);
	return used;
}

/* Registers the socket with the library and starts connecting (client) or listening. */
static int start_driver(struct vh_port *vp, struct ctl_err *err)
{
	uint64_t flags = RTE_VHOST_USER_NET_COMPLIANT_OL_FLAGS |
			 (vp->server ? 0 : RTE_VHOST_USER_CLIENT);

	if (rte_vhost_driver_register(vp->path, flags))
		return ctl_err_set(err, EINVAL, "path: cannot use '%s' as a vhost-user socket%s",
				   vp->path, vp->server ? " (can vswitchd create it there?)" : "");
	if (rte_vhost_driver_disable_features(vp->path, UNSUPPORTED_FEATURES) ||
	    rte_vhost_driver_callback_register(vp->path, &vh_ops) ||
	    rte_vhost_driver_start(vp->path)) {
		rte_vhost_driver_unregister(vp->path);
		return ctl_err_set(err, EIO, "path: cannot start vhost-user on '%s'; the vswitchd log says more",
				   vp->path);
	}
	return 0;
}

static int vh_open(const struct vsw_port_params *p, void **priv, struct vsw_port_io *io,
		   struct ctl_err *err)
{
	struct vh_port *vp;
	int rc;

	if (!p->path || !*p->path)
		return ctl_err_set(err, EINVAL, "path: required (the vhost-user socket)");
	if (strlen(p->path) > 107) /* a socket address holds 107 bytes and the NUL */
		return ctl_err_set(err, EINVAL, "path: '%s' is longer than a socket path may be (107)",
				   p->path);
	if (path_in_use(p->path))
		return ctl_err_set(err, EBUSY, "path: '%s' is already used by a port", p->path);
	vp = calloc(1, sizeof(*vp));
	if (!vp)
		return ctl_err_set(err, ENOMEM, "out of memory");
	vp->vid = -1;
	vp->server = p->server;
	vp->pool = p->pool;
	vp->qs = p->qs;
	snprintf(vp->path, sizeof(vp->path), "%s", p->path);
	pthread_mutex_lock(&ports_lock);
	vp->next = ports;
	ports = vp;
	pthread_mutex_unlock(&ports_lock);
	rc = start_driver(vp, err);
	if (rc) {
		unlink_port(vp);
		free(vp);
		return rc;
	}
	*priv = vp;
	*io = (struct vsw_port_io){.rx = vh_rx, .tx = vh_tx, .ctx = vp};
	return 0;
}

/* The datapath no longer polls the port: the device goes (destroy_device) with the socket. */
static void vh_close(void *priv)
{
	struct vh_port *vp = priv;

	if (!vp)
		return;
	rte_vhost_driver_unregister(vp->path);
	unlink_port(vp);
	free(vp);
}

static void vh_describe(void *priv, json_t *obj)
{
	struct vh_port *vp = priv;
	int vid = __atomic_load_n(&vp->vid, __ATOMIC_ACQUIRE);
	uint64_t features;

	json_object_set_new(obj, "path", json_string(vp->path));
	json_object_set_new(obj, "server", json_boolean(vp->server));
	json_object_set_new(obj, "link", json_string(vid >= 0 ? "up" : "down"));
	json_object_set_new(obj, "connects", json_integer((json_int_t)vp->connects));
	if (vid >= 0 && rte_vhost_get_negotiated_features(vid, &features) == 0) {
		char hex[24];

		snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)features);
		json_object_set_new(obj, "virtio_features", json_string(hex));
	}
}

const struct vsw_port_class vsw_port_vhostuser_class = {
	.kind = "vhostuser",
	.open = vh_open,
	.close = vh_close,
	.describe = vh_describe,
};
