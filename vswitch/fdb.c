/* SPDX-License-Identifier: BSD-3-Clause */
/* The MAC table: see fdb.h for the threading rules. */
#include <errno.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "fdb.h"

struct vsw_fdb {
	struct rte_hash *hash;
	struct vsw_fdb_entry *entries; /* indexed by hash position */
	int32_t *dead;		       /* scratch: positions awaiting reuse */
	uint32_t capacity, n_slots;
	struct rte_rcu_qsbr *qs;
};

static uint64_t tsc_hz;

uint32_t vsw_fdb_now(void)
{
	if (!tsc_hz)
		tsc_hz = rte_get_tsc_hz();
	return (uint32_t)(rte_rdtsc() / tsc_hz);
}

struct vsw_fdb *vsw_fdb_create(const char *name, uint32_t capacity, struct rte_rcu_qsbr *qs,
			       int socket)
{
	struct rte_hash_parameters hp = {
		.name = name,
		.entries = capacity < 8 ? 8 : capacity,
		.key_len = sizeof(struct vsw_fdb_key),
		.hash_func = rte_hash_crc,
		.socket_id = socket,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF |
			      RTE_HASH_EXTRA_FLAGS_MULTI_WRITER_ADD | RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	struct vsw_fdb *fdb = rte_zmalloc_socket("vsw_fdb", sizeof(*fdb), 0, socket);

	if (!fdb)
		goto err_nomem;
	fdb->hash = rte_hash_create(&hp);
	if (!fdb->hash) {
		errno = rte_errno ? rte_errno : ENOMEM;
		goto err_free_fdb;
	}
	fdb->n_slots = (uint32_t)rte_hash_max_key_id(fdb->hash) + 1;
	fdb->entries = rte_zmalloc_socket("vsw_fdb_entries",
					  sizeof(*fdb->entries) * fdb->n_slots, 64, socket);
	fdb->dead = rte_malloc_socket("vsw_fdb_dead", sizeof(int32_t) * fdb->n_slots, 0, socket);
	if (!fdb->entries || !fdb->dead)
		goto err_free_hash;
	fdb->capacity = capacity;
	fdb->qs = qs;
	return fdb;

err_free_hash:
	rte_free(fdb->entries);
	rte_free(fdb->dead);
	rte_hash_free(fdb->hash);
err_free_fdb:
	rte_free(fdb);
	return NULL;
err_nomem:
	errno = ENOMEM;
	return NULL;
}

void vsw_fdb_free(struct vsw_fdb *fdb)
{
	if (!fdb)
		return;
	rte_hash_free(fdb->hash);
	rte_free(fdb->entries);
	rte_free(fdb->dead);
	rte_free(fdb);
}

const struct rte_hash *vsw_fdb_hash(const struct vsw_fdb *fdb)
{
	return fdb->hash;
}

struct vsw_fdb_entry *vsw_fdb_entry(struct vsw_fdb *fdb, int32_t pos)
{
	return &fdb->entries[pos];
}

struct vsw_fdb_entry *vsw_fdb_lookup(struct vsw_fdb *fdb, const struct vsw_fdb_key *key)
{
	int32_t pos = rte_hash_lookup(fdb->hash, key);

	return pos >= 0 ? &fdb->entries[pos] : NULL;
}

int vsw_fdb_learn(struct vsw_fdb *fdb, const struct vsw_fdb_key *key, uint16_t port,
		  uint32_t now)
{
	int32_t pos = rte_hash_lookup(fdb->hash, key);
	struct vsw_fdb_entry *e;

	if (pos < 0) {
		if ((uint32_t)rte_hash_count(fdb->hash) >= fdb->capacity)
			return -ENOSPC;
		pos = rte_hash_add_key(fdb->hash, key);
		if (pos < 0)
			return -ENOSPC;
		e = &fdb->entries[pos];
		e->is_static = 0;
		e->port = port;
		e->last_seen = now;
		return 0;
	}
	vsw_fdb_touch(&fdb->entries[pos], port, now);
	return 0;
}

int vsw_fdb_add_static(struct vsw_fdb *fdb, const struct vsw_fdb_key *key, uint16_t port)
{
	int32_t pos = rte_hash_lookup(fdb->hash, key);
	struct vsw_fdb_entry *e;

	if (pos < 0 && (uint32_t)rte_hash_count(fdb->hash) >= fdb->capacity)
		return -ENOSPC;
	if (pos < 0)
		pos = rte_hash_add_key(fdb->hash, key);
	if (pos < 0)
		return -ENOSPC;
	e = &fdb->entries[pos];
	e->port = port;
	e->is_static = 1;
	e->last_seen = vsw_fdb_now();
	return 0;
}

/* Returns the deleted positions' slots to the hash once no reader can hold them. */
static void reclaim(struct vsw_fdb *fdb, unsigned int n)
{
	if (!n)
		return;
	if (fdb->qs)
		rte_rcu_qsbr_synchronize(fdb->qs, RTE_QSBR_THRID_INVALID);
	for (unsigned int i = 0; i < n; i++)
		rte_hash_free_key_with_position(fdb->hash, fdb->dead[i]);
}

int vsw_fdb_del(struct vsw_fdb *fdb, const struct vsw_fdb_key *key)
{
	int32_t pos = rte_hash_del_key(fdb->hash, key);

	if (pos < 0)
		return -ENOENT;
	fdb->dead[0] = pos;
	reclaim(fdb, 1);
	return 0;
}

static bool filter_match(const struct vsw_fdb_filter *f, const struct vsw_fdb_key *k,
			 const struct vsw_fdb_entry *e)
{
	return (f->sw < 0 || f->sw == k->sw) && (f->vlan < 0 || f->vlan == k->vlan) &&
	       (f->port < 0 || f->port == e->port) && !(f->learned_only && e->is_static);
}

/* Deletes every entry for which drop() is true; returns how many. */
static unsigned int delete_where(struct vsw_fdb *fdb,
				 bool (*drop)(const void *arg, const struct vsw_fdb_key *,
					      const struct vsw_fdb_entry *),
				 const void *arg)
{
	const void *key;
	void *data;
	uint32_t next = 0;
	unsigned int n = 0;
	int32_t pos;

	while ((pos = rte_hash_iterate(fdb->hash, &key, &data, &next)) >= 0) {
		if (!drop(arg, key, &fdb->entries[pos]))
			continue;
		/* Deleting during iteration is safe: slots are freed only in reclaim(). */
		pos = rte_hash_del_key(fdb->hash, key);
		if (pos >= 0)
			fdb->dead[n++] = pos;
	}
	reclaim(fdb, n);
	return n;
}

static bool drop_filtered(const void *arg, const struct vsw_fdb_key *k,
			  const struct vsw_fdb_entry *e)
{
	return filter_match(arg, k, e);
}

unsigned int vsw_fdb_flush(struct vsw_fdb *fdb, const struct vsw_fdb_filter *filter)
{
	return delete_where(fdb, drop_filtered, filter);
}

struct age_arg {
	uint32_t now, aging;
};

static bool drop_aged(const void *arg, const struct vsw_fdb_key *k, const struct vsw_fdb_entry *e)
{
	const struct age_arg *a = arg;

	(void)k;
	return !e->is_static && (uint32_t)(a->now - e->last_seen) > a->aging;
}

unsigned int vsw_fdb_age(struct vsw_fdb *fdb, uint32_t now, uint32_t aging)
{
	struct age_arg a = {now, aging};

	return delete_where(fdb, drop_aged, &a);
}

int vsw_fdb_walk(struct vsw_fdb *fdb, vsw_fdb_walk_fn *fn, void *arg)
{
	const void *key;
	void *data;
	uint32_t next = 0;
	int32_t pos;
	int rc;

	while ((pos = rte_hash_iterate(fdb->hash, &key, &data, &next)) >= 0) {
		rc = fn(arg, key, &fdb->entries[pos]);
		if (rc)
			return rc;
	}
	return 0;
}

uint32_t vsw_fdb_count(const struct vsw_fdb *fdb)
{
	return (uint32_t)rte_hash_count(fdb->hash);
}

uint32_t vsw_fdb_capacity(const struct vsw_fdb *fdb)
{
	return fdb->capacity;
}
