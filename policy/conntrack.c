/* SPDX-License-Identifier: BSD-3-Clause */
/* Connection tracking: see conntrack.h. */
#include <errno.h>
#include <string.h>

#include <rte_malloc.h>

#include "conntrack.h"
#include "rcu_hash.h"

struct pol_ct {
	struct pol_rhash h;
	struct pol_ct_entry *entries; /* indexed by hash position */
};

struct pol_ct *pol_ct_create(const char *name, uint32_t capacity, struct rte_rcu_qsbr *qs,
			     int socket)
{
	struct pol_ct *ct = rte_zmalloc_socket("pol_ct", sizeof(*ct), 0, socket);
	int rc = -ENOMEM;

	if (!ct)
		goto err;
	rc = pol_rhash_init(&ct->h, name, capacity, sizeof(struct pol_ct_key), qs, socket);
	if (rc)
		goto err;
	ct->entries = rte_zmalloc_socket("pol_ct_entries", sizeof(*ct->entries) * ct->h.n_slots,
					 64, socket);
	if (ct->entries)
		return ct;
	rc = -ENOMEM;
err:
	pol_ct_free(ct);
	errno = -rc;
	return NULL;
}

void pol_ct_free(struct pol_ct *ct)
{
	if (!ct)
		return;
	pol_rhash_fini(&ct->h);
	rte_free(ct->entries);
	rte_free(ct);
}

void pol_ct_key(const struct pol_flow *f, uint16_t port, enum pol_dir dir, struct pol_ct_key *k)
{
	bool out = dir == POL_DIR_OUT;
	unsigned int alen = pol_addr_len(f->family);

	memset(k, 0, sizeof(*k));
	k->port = port;
	k->family = f->family;
	k->proto = f->proto;
	k->local_port = out ? f->sport : f->dport;
	k->remote_port = out ? f->dport : f->sport;
	memcpy(k->local, out ? f->src : f->dst, alen);
	memcpy(k->remote, out ? f->dst : f->src, alen);
}

/* Applies a frame's TCP flags to a connection's state. */
static void tcp_update(struct pol_ct_entry *e, uint8_t flags, enum pol_dir dir)
{
	uint8_t st = e->state;

	if (flags & POL_TCP_RST)
		st |= POL_CT_CLOSED;
	if (flags & POL_TCP_FIN)
		st |= dir == POL_DIR_OUT ? POL_CT_FIN_LOCAL : POL_CT_FIN_REMOTE;
	if ((st & (POL_CT_FIN_LOCAL | POL_CT_FIN_REMOTE)) == (POL_CT_FIN_LOCAL | POL_CT_FIN_REMOTE))
		st |= POL_CT_CLOSED;
	if (st != e->state)
		e->state = st;
}

bool pol_ct_hit(struct pol_ct *ct, const struct pol_ct_key *key, uint32_t now, uint8_t tcp_flags,
		enum pol_dir dir)
{
	int32_t pos = rte_hash_lookup(ct->h.hash, key);
	struct pol_ct_entry *e;

	if (pos < 0)
		return false;
	e = &ct->entries[pos];
	if (e->last_seen != now)
		e->last_seen = now;
	if (key->proto == POL_PROTO_TCP && tcp_flags & (POL_TCP_FIN | POL_TCP_RST))
		tcp_update(e, tcp_flags, dir);
	return true;
}

int pol_ct_open(struct pol_ct *ct, const struct pol_ct_key *key, uint32_t now, uint32_t timeout,
		uint8_t tcp_flags, enum pol_dir dir)
{
	int32_t pos = pol_rhash_add(&ct->h, key);
	struct pol_ct_entry *e;

	if (pos < 0)
		return -ENOSPC;
	e = &ct->entries[pos];
	e->state = POL_CT_OPEN;
	e->timeout = timeout ? timeout
			     : key->proto == POL_PROTO_TCP ? POL_CT_DEFAULT_TCP_TIMEOUT
							    : POL_CT_DEFAULT_TIMEOUT;
	e->last_seen = now;
	if (key->proto == POL_PROTO_TCP)
		tcp_update(e, tcp_flags, dir);
	return 0;
}

struct expire_arg {
	const struct pol_ct *ct;
	uint32_t now;
	int port; /* flush: the port (-1 all); expire: -2 */
};

static bool select_conn(const void *arg, const void *key, int32_t pos)
{
	const struct expire_arg *a = arg;
	const struct pol_ct_entry *e = &a->ct->entries[pos];
	uint32_t timeout = e->timeout;

	if (a->port != -2)
		return a->port < 0 || ((const struct pol_ct_key *)key)->port == a->port;
	if ((e->state & POL_CT_CLOSED) && timeout > POL_CT_CLOSE_TIMEOUT)
		timeout = POL_CT_CLOSE_TIMEOUT;
	return (uint32_t)(a->now - e->last_seen) > timeout;
}

unsigned int pol_ct_expire(struct pol_ct *ct, uint32_t now)
{
	struct expire_arg a = {ct, now, -2};

	return pol_rhash_delete_where(&ct->h, select_conn, &a);
}

unsigned int pol_ct_flush(struct pol_ct *ct, int port)
{
	struct expire_arg a = {ct, 0, port < 0 ? -1 : port};

	return pol_rhash_delete_where(&ct->h, select_conn, &a);
}

struct walk_arg {
	struct pol_ct *ct;
	pol_ct_walk_fn *fn;
	void *arg;
};

static int walk_one(void *arg, const void *key, int32_t pos)
{
	struct walk_arg *w = arg;

	return w->fn(w->arg, key, &w->ct->entries[pos]);
}

int pol_ct_walk(struct pol_ct *ct, pol_ct_walk_fn *fn, void *arg)
{
	struct walk_arg w = {ct, fn, arg};

	return pol_rhash_walk(&ct->h, walk_one, &w);
}

uint32_t pol_ct_count(const struct pol_ct *ct)
{
	return pol_rhash_count(&ct->h);
}

const char *pol_ct_state_name(uint8_t state)
{
	if (state & POL_CT_CLOSED)
		return "closed";
	switch (state & (POL_CT_FIN_LOCAL | POL_CT_FIN_REMOTE)) {
	case POL_CT_FIN_LOCAL: return "fin_local";
	case POL_CT_FIN_REMOTE: return "fin_remote";
	default: return "open";
	}
}
