/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Connection tracking for stateful extended ACLs: a lock-free rte_hash of
 * connections keyed by (port, family, protocol, local address and port,
 * remote address and port), oriented from the port's side so both
 * directions of a flow find the same entry. A connection is created by a
 * frame that a stateful allow rule admits; while it lives, frames of the
 * flow in either direction pass without consulting the rules.
 *
 * TCP is state-aware: a RST closes the connection at once (it expires
 * within POL_CT_CLOSE_TIMEOUT), and so do FINs seen from both sides; other
 * connections expire after their rule's idle timeout (defaults: TCP 300 s,
 * UDP and others 60 s).
 *
 * Threads: datapath lcores look up and create; the control thread expires,
 * flushes and lists. Deleted slots are reused only after the datapath's RCU
 * grace period, as in the MAC table.
 */
#ifndef POL_CONNTRACK_H
#define POL_CONNTRACK_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_rcu_qsbr.h>

#include "flow.h"
#include "rule.h"

#define POL_CT_DEFAULT_TCP_TIMEOUT 300
#define POL_CT_DEFAULT_TIMEOUT 60
#define POL_CT_CLOSE_TIMEOUT 10

struct pol_ct;

struct pol_ct_key {
	uint16_t port;
	uint8_t family, proto;
	uint16_t local_port, remote_port;
	uint16_t pad;
	uint8_t local[16], remote[16];
	uint8_t pad2[6];
} __attribute__((aligned(8)));

enum pol_ct_state {
	POL_CT_OPEN,
	POL_CT_FIN_LOCAL = 1,  /* the port's side sent a FIN */
	POL_CT_FIN_REMOTE = 2, /* the other side sent a FIN */
	POL_CT_CLOSED = 4,     /* RST, or FINs from both sides */
};

struct pol_ct_entry {
	uint32_t last_seen; /* seconds */
	uint32_t timeout;   /* idle timeout, seconds */
	uint8_t state;	    /* enum pol_ct_state bits */
};

/* Creates a table of capacity connections (guaranteed). NULL + errno. */
struct pol_ct *pol_ct_create(const char *name, uint32_t capacity, struct rte_rcu_qsbr *qs,
			     int socket);
void pol_ct_free(struct pol_ct *ct);

/* The key of frame f at port going in direction dir (IN or OUT). */
void pol_ct_key(const struct pol_flow *f, uint16_t port, enum pol_dir dir, struct pol_ct_key *k);

/*
 * Looks up the connection of key; when found, refreshes it with the frame
 * (time now, TCP flags, direction) and returns true. Any thread.
 */
bool pol_ct_hit(struct pol_ct *ct, const struct pol_ct_key *key, uint32_t now, uint8_t tcp_flags,
		enum pol_dir dir);

/*
 * Creates the connection of key (idle timeout in seconds) as seen on a
 * first frame with tcp_flags in direction dir. Any thread. Returns 0, or
 * -ENOSPC when the table is full (the frame still passes; it is counted).
 */
int pol_ct_open(struct pol_ct *ct, const struct pol_ct_key *key, uint32_t now, uint32_t timeout,
		uint8_t tcp_flags, enum pol_dir dir);

/* Deletes connections idle past their timeout. Control thread. Returns how many. */
unsigned int pol_ct_expire(struct pol_ct *ct, uint32_t now);

/* Deletes the connections of port (all when port < 0). Control thread. Returns how many. */
unsigned int pol_ct_flush(struct pol_ct *ct, int port);

typedef int pol_ct_walk_fn(void *arg, const struct pol_ct_key *k, const struct pol_ct_entry *e);

/* Calls fn for every connection until it returns non-zero. Control thread. */
int pol_ct_walk(struct pol_ct *ct, pol_ct_walk_fn *fn, void *arg);

uint32_t pol_ct_count(const struct pol_ct *ct);

/* A state's name: "open", "fin_local", "fin_remote", "fin_both" or "closed". */
const char *pol_ct_state_name(uint8_t state);

#endif
