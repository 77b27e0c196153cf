/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The MAC table (forwarding database) of all switches: one lock-free
 * rte_hash keyed by (switch, VLAN, MAC) whose positions index a flat array
 * of entries (port, last-seen time, static flag).
 *
 * Threads: datapath lcores look up and learn concurrently (learning a new
 * address takes the hash's writer lock; refreshing or moving a known one is
 * a plain store into its entry). The control thread adds static entries,
 * deletes, flushes and ages. Deleted key slots are reused only after every
 * datapath lcore has passed a quiescent state of the RCU variable given at
 * creation, so a reader never sees a slot change under it.
 */
#ifndef VSW_FDB_H
#define VSW_FDB_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_hash.h>
#include <rte_rcu_qsbr.h>

#define VSW_FDB_DEFAULT_AGING 300 /* seconds */

struct vsw_fdb;

/* 16 bytes, 8-aligned: the hash reads keys as 64-bit words. */
struct vsw_fdb_key {
	uint8_t mac[6];
	uint16_t vlan;	   /* internal VLAN, 0-4094 */
	uint16_t sw;	   /* switch index */
	uint16_t pad[3];   /* always 0 */
} __attribute__((aligned(8)));

struct vsw_fdb_entry {
	uint32_t last_seen; /* vsw_fdb_now() seconds of the last frame from the address */
	uint16_t port;	    /* port index */
	uint8_t is_static;
	uint8_t pad;
};

/* What vsw_fdb_flush removes: fields set to -1 match anything. */
struct vsw_fdb_filter {
	int sw, vlan, port;
	bool learned_only;
};

/* Called by vsw_fdb_walk for each entry; returning non-zero stops the walk. */
typedef int vsw_fdb_walk_fn(void *arg, const struct vsw_fdb_key *key,
			    const struct vsw_fdb_entry *e);

/*
 * Creates a table for capacity entries (guaranteed: the hash uses an
 * extendable bucket table) on NUMA socket, named name (unique in the
 * process). qs is the datapath's RCU variable (NULL when no other thread
 * reads the table, as in tests). Returns NULL with errno set.
 */
struct vsw_fdb *vsw_fdb_create(const char *name, uint32_t capacity, struct rte_rcu_qsbr *qs,
			       int socket);

/* Frees the table. Accepts NULL. No lcore may use it any more. */
void vsw_fdb_free(struct vsw_fdb *fdb);

/* Coarse monotonic time in seconds, cheap enough for the datapath. */
uint32_t vsw_fdb_now(void);

/* The hash, for bulk lookups in the datapath (rte_hash_lookup_bulk). */
const struct rte_hash *vsw_fdb_hash(const struct vsw_fdb *fdb);

/* The entry at a position returned by a lookup. */
struct vsw_fdb_entry *vsw_fdb_entry(struct vsw_fdb *fdb, int32_t pos);

/*
 * The table's generation: it changes after any entry is deleted (del,
 * flush, aging), moves to another port, or is replaced by a static one, so
 * that a thread caching answers of the table (key -> port) can tell they
 * may be stale. A new entry does not change it. Any thread.
 */
uint32_t vsw_fdb_generation(const struct vsw_fdb *fdb);

/* Advances the generation: an entry moved (see vsw_fdb_touch). Any thread. */
void vsw_fdb_changed(struct vsw_fdb *fdb);

/*
 * Records that the address of a known entry was seen on port at time now:
 * refreshes it and moves it to port unless it is static. Any thread; the
 * stores touch only the entry's cache line, and only when something changed.
 * Returns true when the entry moved: the caller then calls vsw_fdb_changed().
 */
static inline bool vsw_fdb_touch(struct vsw_fdb_entry *e, uint16_t port, uint32_t now)
{
	if (e->last_seen != now)
		e->last_seen = now;
	if (e->port == port || e->is_static)
		return false;
	__atomic_store_n(&e->port, port, __ATOMIC_RELAXED);
	return true;
}

/*
 * Learns that key was seen on port at time now: refreshes a known entry,
 * moves a learned entry to port, adds a new one. Static entries are only
 * refreshed. Any thread. Returns 0, or -ENOSPC when the table is full.
 */
int vsw_fdb_learn(struct vsw_fdb *fdb, const struct vsw_fdb_key *key, uint16_t port,
		  uint32_t now);

/* Looks key up. Returns its entry or NULL. Any thread. */
struct vsw_fdb_entry *vsw_fdb_lookup(struct vsw_fdb *fdb, const struct vsw_fdb_key *key);

/*
 * Adds or replaces key as a static entry on port (never ages, never
 * moves). Control thread. Returns 0 or -ENOSPC.
 */
int vsw_fdb_add_static(struct vsw_fdb *fdb, const struct vsw_fdb_key *key, uint16_t port);

/* Deletes key. Control thread. Returns 0 or -ENOENT. */
int vsw_fdb_del(struct vsw_fdb *fdb, const struct vsw_fdb_key *key);

/* Deletes every entry the filter matches. Control thread. Returns how many. */
unsigned int vsw_fdb_flush(struct vsw_fdb *fdb, const struct vsw_fdb_filter *filter);

/*
 * Deletes learned entries not seen for more than aging seconds at time
 * now. Control thread. Returns how many.
 */
unsigned int vsw_fdb_age(struct vsw_fdb *fdb, uint32_t now, uint32_t aging);

/* Calls fn for every entry (no particular order) until it returns non-zero. Control thread. */
int vsw_fdb_walk(struct vsw_fdb *fdb, vsw_fdb_walk_fn *fn, void *arg);

/* Number of entries. */
uint32_t vsw_fdb_count(const struct vsw_fdb *fdb);

/* Capacity given at creation. */
uint32_t vsw_fdb_capacity(const struct vsw_fdb *fdb);

#endif
