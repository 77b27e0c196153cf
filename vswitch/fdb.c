/* SPDX-License-Identifier: BSD-3-Clause */
/* The MAC table: see fdb.h for the threading rules. */
#include <errno.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_malloc.h>

#include "fdb.h"
#include "rcu_hash.h"

struct vsw_fdb {
	struct pol_rhash h;
	struct vsw_fdb_entry *entries; /* indexed by hash position */
	uint32_t gen;		       /* see vsw_fdb_generation() */
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
	struct vsw_fdb *fdb = rte_zmalloc_socket("vsw_fdb", sizeof(*fdb), 0, socket);
	int rc;

	if (!fdb) {
		errno = ENOMEM;
		return NULL;
	}
	fdb->gen = 1;
	rc = pol_rhash_init(&fdb->h, name, capacity, sizeof(struct vsw_fdb_key), qs, socket);
	if (rc)
		goto err_free;
	fdb->entries = rte_zmalloc_socket("vsw_fdb_entries",
					  sizeof(*fdb->entries) * fdb->h.n_slots, 64, socket);
	if (!fdb->entries) {
		rc = -ENOMEM;
		goto err_free;
	}
	return fdb;

err_free:
	vsw_fdb_free(fdb);
	errno = -rc;
	return NULL;
}

void vsw_fdb_free(struct vsw_fdb *fdb)
{
	if (!fdb)
		return;
	pol_rhash_fini(&fdb->h);
	rte_free(fdb->entries);
	rte_free(fdb);
}

uint32_t vsw_fdb_generation(const struct vsw_fdb *fdb)
{
	return __atomic_load_n(&fdb->gen, __ATOMIC_ACQUIRE);
}

void vsw_fdb_changed(struct vsw_fdb *fdb)
{
	__atomic_fetch_add(&fdb->gen, 1, __ATOMIC_RELEASE);
}

const struct rte_hash *vsw_fdb_hash(const struct vsw_fdb *fdb)
{
	return fdb->h.hash;
}

struct vsw_fdb_entry *vsw_fdb_entry(struct vsw_fdb *fdb, int32_t pos)
{
	return &fdb->entries[pos];
}

struct vsw_fdb_entry *vsw_fdb_lookup(struct vsw_fdb *fdb, const struct vsw_fdb_key *key)
{
	int32_t pos = rte_hash_lookup(fdb->h.hash, key);

	return pos >= 0 ? &fdb->entries[pos] : NULL;
}

int vsw_fdb_learn(struct vsw_fdb *fdb, const struct vsw_fdb_key *key, uint16_t port,
		  uint32_t now)
{
	int32_t pos = rte_hash_lookup(fdb->h.hash, key);
	struct vsw_fdb_entry *e;

	if (pos >= 0) {
		if (vsw_fdb_touch(&fdb->entries[pos], port, now))
			vsw_fdb_changed(fdb);
		return 0;
	}
	pos = pol_rhash_add(&fdb->h, key);
	if (pos < 0)
		return -ENOSPC;
	e = &fdb->entries[pos];
	e->is_static = 0;
	e->port = port;
	e->last_seen = now;
	return 0;
}

int vsw_fdb_add_static(struct vsw_fdb *fdb, const struct vsw_fdb_key *key, uint16_t port)
{
	int32_t pos = pol_rhash_add(&fdb->h, key);
	struct vsw_fdb_entry *e;

	if (pos < 0)
		return -ENOSPC;
	e = &fdb->entries[pos];
	e->port = port;
	e->is_static = 1;
	e->last_seen = vsw_fdb_now();
	vsw_fdb_changed(fdb); /* it may have replaced a learned entry */
	return 0;
}

int vsw_fdb_del(struct vsw_fdb *fdb, const struct vsw_fdb_key *key)
{
	int rc = pol_rhash_del(&fdb->h, key);

	if (rc == 0)
		vsw_fdb_changed(fdb); /* after the delete: no reader can find it again */
	return rc;
}

struct match_arg {
	const struct vsw_fdb *fdb;
	const struct vsw_fdb_filter *f;
	uint32_t now, aging; /* aging != 0: select aged learned entries instead */
};

static bool select_entry(const void *arg, const void *key, int32_t pos)
{
	const struct match_arg *a = arg;
	const struct vsw_fdb_key *k = key;
	const struct vsw_fdb_entry *e = &a->fdb->entries[pos];
	const struct vsw_fdb_filter *f = a->f;

	if (a->aging)
		return !e->is_static && (uint32_t)(a->now - e->last_seen) > a->aging;
	return (f->sw < 0 || f->sw == k->sw) && (f->vlan < 0 || f->vlan == k->vlan) &&
	       (f->port < 0 || f->port == e->port) && !(f->learned_only && e->is_static);
}

unsigned int vsw_fdb_flush(struct vsw_fdb *fdb, const struct vsw_fdb_filter *filter)
{
	struct match_arg a = {.fdb = fdb, .f = filter};
	unsigned int n = pol_rhash_delete_where(&fdb->h, select_entry, &a);

	if (n)
		vsw_fdb_changed(fdb);
	return n;
}

unsigned int vsw_fdb_age(struct vsw_fdb *fdb, uint32_t now, uint32_t aging)
{
	struct match_arg a = {.fdb = fdb, .now = now, .aging = aging};
	unsigned int n = aging ? pol_rhash_delete_where(&fdb->h, select_entry, &a) : 0;

	if (n)
		vsw_fdb_changed(fdb);
	return n;
}

struct walk_arg {
	struct vsw_fdb *fdb;
	vsw_fdb_walk_fn *fn;
	void *arg;
};

static int walk_one(void *arg, const void *key, int32_t pos)
{
	struct walk_arg *w = arg;

	return w->fn(w->arg, key, &w->fdb->entries[pos]);
}

int vsw_fdb_walk(struct vsw_fdb *fdb, vsw_fdb_walk_fn *fn, void *arg)
{
	struct walk_arg w = {fdb, fn, arg};

	return pol_rhash_walk(&fdb->h, walk_one, &w);
}

uint32_t vsw_fdb_count(const struct vsw_fdb *fdb)
{
	return pol_rhash_count(&fdb->h);
}

uint32_t vsw_fdb_capacity(const struct vsw_fdb *fdb)
{
	return fdb->h.capacity;
}
