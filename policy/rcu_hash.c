/* SPDX-License-Identifier: BSD-3-Clause */
/* RCU-safe hash deletions: see rcu_hash.h. */
#include <errno.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "rcu_hash.h"

int pol_rhash_init(struct pol_rhash *h, const char *name, uint32_t capacity, uint32_t key_len,
		   struct rte_rcu_qsbr *qs, int socket)
{
	struct rte_hash_parameters hp = {
		.name = name,
		.entries = capacity < 8 ? 8 : capacity,
		.key_len = key_len,
		.hash_func = rte_hash_crc,
		.socket_id = socket,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF |
			      RTE_HASH_EXTRA_FLAGS_MULTI_WRITER_ADD | RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};

	memset(h, 0, sizeof(*h));
	h->hash = rte_hash_create(&hp);
	if (!h->hash)
		return -(rte_errno ? rte_errno : ENOMEM);
	h->n_slots = (uint32_t)rte_hash_max_key_id(h->hash) + 1;
	h->dead = rte_malloc_socket("pol_rhash_dead", sizeof(int32_t) * h->n_slots, 0, socket);
	if (!h->dead) {
		pol_rhash_fini(h);
		return -ENOMEM;
	}
	h->capacity = capacity;
	h->qs = qs;
	return 0;
}

void pol_rhash_fini(struct pol_rhash *h)
{
	rte_hash_free(h->hash);
	rte_free(h->dead);
	memset(h, 0, sizeof(*h));
}

int32_t pol_rhash_add(struct pol_rhash *h, const void *key)
{
	int32_t pos = rte_hash_lookup(h->hash, key);

	if (pos >= 0)
		return pos;
	if (pol_rhash_count(h) >= h->capacity)
		return -ENOSPC;
	pos = rte_hash_add_key(h->hash, key);
	return pos < 0 ? -ENOSPC : pos;
}

/* Returns deleted positions to the hash once no reader can hold them. */
static void reclaim(struct pol_rhash *h, unsigned int n)
{
	if (!n)
		return;
	if (h->qs)
		rte_rcu_qsbr_synchronize(h->qs, RTE_QSBR_THRID_INVALID);
	for (unsigned int i = 0; i < n; i++)
		rte_hash_free_key_with_position(h->hash, h->dead[i]);
}

int pol_rhash_del(struct pol_rhash *h, const void *key)
{
	int32_t pos = rte_hash_del_key(h->hash, key);

	if (pos < 0)
		return -ENOENT;
	h->dead[0] = pos;
	reclaim(h, 1);
	return 0;
}

unsigned int pol_rhash_delete_where(struct pol_rhash *h, pol_rhash_pred *drop, const void *arg)
{
	const void *key;
	void *data;
	uint32_t next = 0;
	unsigned int n = 0;
	int32_t pos;

	while ((pos = rte_hash_iterate(h->hash, &key, &data, &next)) >= 0) {
		if (!drop(arg, key, pos))
			continue;
		/* deleting while iterating is safe: slots are freed only in reclaim() */
		pos = rte_hash_del_key(h->hash, key);
		if (pos >= 0)
			h->dead[n++] = pos;
	}
	reclaim(h, n);
	return n;
}

int pol_rhash_walk(struct pol_rhash *h, pol_rhash_walk_fn *fn, void *arg)
{
	const void *key;
	void *data;
	uint32_t next = 0;
	int32_t pos;
	int rc;

	while ((pos = rte_hash_iterate(h->hash, &key, &data, &next)) >= 0) {
		rc = fn(arg, key, pos);
		if (rc)
			return rc;
	}
	return 0;
}
