/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The port-kind provider interface (STYLE.md 1): every kind of switch port
 * (memif, pcap, tap, ethdev, vhostuser, synthetic) is a table
 * of functions. The control thread opens and closes ports; the datapath
 * only calls the rx/tx burst functions, through the flat fast-path array
 * built from struct vsw_port_io.
 */
#ifndef VSW_PORT_PROVIDER_H
#define VSW_PORT_PROVIDER_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include "ctl_err.h"

/* What a port is opened with: the kind's options plus the switch's resources. */
struct vsw_port_params {
	const char *kind;
	const char *name;	/* unique port name */
	unsigned int index;	/* port index, unique while the port exists */
	/* memif */
	const char *memif_socket;
	unsigned int memif_id;
	bool memif_server;
	/* pcap */
	const char *rx_file, *tx_file;
	/* tap */
	const char *ifname;
	/* ethdev */
	const char *devargs;
	/* vhostuser */
	const char *path;
	bool server;
	/* synthetic: the VM's NIC (struct vsw_synth, see port_synth.h) */
	void *synth;
	/* resources */
	uint16_t n_txq;		/* transmit queues wanted: one per datapath lcore */
	struct rte_mempool *pool;
	int socket;
	struct rte_rcu_qsbr *qs; /* the datapath loops' RCU: waits until no loop uses a device */
};

/*
 * Receives up to n frames into pkts; returns how many. Transmits up to n
 * frames from pkts on queue txq (the calling lcore's index); returns how
 * many were taken (the caller frees the rest). Never fail otherwise.
 */
typedef uint16_t vsw_port_rx_fn(void *ctx, struct rte_mbuf **pkts, uint16_t n);
typedef uint16_t vsw_port_tx_fn(void *ctx, uint16_t txq, struct rte_mbuf **pkts, uint16_t n);

/*
 * Optional, for ports whose peer can wake a sleeping datapath: with arm
 * true, drains and returns the fd that becomes readable when the peer
 * signals new frames (an eventfd), after asking the peer to signal, or
 * -EAGAIN when frames arrived meanwhile (do not sleep); with arm false
 * (after the sleep), stops the signalling again (polling mode) and returns
 * 0. The datapath never reads the fd itself. Datapath lcore.
 */
typedef int vsw_port_idle_fn(void *ctx, bool arm);

struct vsw_port_io {
	vsw_port_rx_fn *rx;
	vsw_port_tx_fn *tx;
	void *ctx;
	vsw_port_idle_fn *idle; /* NULL: the port cannot wake the datapath */
};

struct vsw_port_class {
	const char *kind;
	/*
	 * Opens a port from p. On success stores the provider's state in
	 * *priv, fills io and returns 0; else returns a negative errno with
	 * err naming the faulty option.
	 */
	int (*open)(const struct vsw_port_params *p, void **priv, struct vsw_port_io *io,
		    struct ctl_err *err);
	/* Closes the port; the datapath no longer uses it. */
	void (*close)(void *priv);
	/* Optional: told before the port starts (up) or after it stops (down) passing traffic. */
	void (*set_admin)(void *priv, bool up);
	/* Optional: adds kind-specific fields to the port's JSON description. */
	void (*describe)(void *priv, json_t *obj);
	/* Optional: the port's own MAC address. Returns 0 or -ENOTSUP. */
	int (*get_mac)(void *priv, uint8_t mac[6]);
};

/* Finds the provider of a kind, or NULL. */
const struct vsw_port_class *vsw_port_class_find(const char *kind);

/* The kinds users may name, as "memif|pcap|..." for error messages. */
const char *vsw_port_kinds(void);

extern const struct vsw_port_class vsw_port_memif_class;
extern const struct vsw_port_class vsw_port_tap_class;
extern const struct vsw_port_class vsw_port_ethdev_class;
extern const struct vsw_port_class vsw_port_vhostuser_class;
extern const struct vsw_port_class vsw_port_pcap_class;
extern const struct vsw_port_class vsw_port_dummy_class;
extern const struct vsw_port_class vsw_port_synth_class;

#endif
