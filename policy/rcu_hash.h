/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A lock-free rte_hash whose positions index the caller's entry array,
 * with deletions made safe for concurrent readers: a deleted key's slot
 * returns to the hash only after every datapath lcore has passed a
 * quiescent state of the RCU variable (so a reader that found the position
 * never sees it reused under it). The MAC table and connection tracking
 * are built on it.
 *
 * Threads: lookups and adds from any thread (adds take the hash's writer
 * lock); deletions, walks and the scratch space they use: control thread.
 */
#ifndef POL_RCU_HASH_H
#define POL_RCU_HASH_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_hash.h>
#include <rte_rcu_qsbr.h>

struct pol_rhash {
	struct rte_hash *hash;
	int32_t *dead;	    /* positions deleted, awaiting the grace period */
	uint32_t n_slots;   /* positions are 0 .. n_slots-1 */
	uint32_t capacity;  /* keys guaranteed to fit */
	struct rte_rcu_qsbr *qs;
};

/*
 * Creates the hash for capacity keys of key_len bytes (8-aligned keys
 * hash fastest). qs may be NULL when no other thread reads. Returns 0 or
 * a negative errno.
 */
int pol_rhash_init(struct pol_rhash *h, const char *name, uint32_t capacity, uint32_t key_len,
		   struct rte_rcu_qsbr *qs, int socket);

/* Frees the hash. Accepts a zeroed or half-built struct. */
void pol_rhash_fini(struct pol_rhash *h);

/* Adds key (or finds it). Returns its position, or -ENOSPC at capacity. Any thread. */
int32_t pol_rhash_add(struct pol_rhash *h, const void *key);

/* Deletes key. Returns 0 or -ENOENT. Control thread. */
int pol_rhash_del(struct pol_rhash *h, const void *key);

/* Decides, for a key at a position, whether a bulk deletion removes it. */
typedef bool pol_rhash_pred(const void *arg, const void *key, int32_t pos);

/* Deletes every key drop() selects. Control thread. Returns how many. */
unsigned int pol_rhash_delete_where(struct pol_rhash *h, pol_rhash_pred *drop, const void *arg);

/* Calls fn for each key until it returns non-zero; returns that value or 0. Control thread. */
typedef int pol_rhash_walk_fn(void *arg, const void *key, int32_t pos);
int pol_rhash_walk(struct pol_rhash *h, pol_rhash_walk_fn *fn, void *arg);

static inline uint32_t pol_rhash_count(const struct pol_rhash *h)
{
	return (uint32_t)rte_hash_count(h->hash);
}

#endif
