/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The switch datapath loops: see datapath.h. A received burst goes
 * through stages, each a function over the burst (STYLE.md 11):
 * classify (parse, VLAN ingress), learn (bulk lookup of sources, learn
 * new or moved ones), forward (bulk lookup of destinations, unicast or
 * flood within the VLAN, egress tag edits into per-port tx buffers), and
 * flush (one tx burst per destination port).
 */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "datapath.h"

/*
 * A loop's MAC cache: recent answers of the MAC table (address, VLAN and
 * switch -> port), direct-mapped, so that a frame of a known flow needs no
 * table lookup. An answer counts only while the table's generation is the
 * one it was read at (fdb.h: deletions and moves change it). For sources it
 * also remembers the second the entry was last refreshed, so the table's
 * entry is touched once per second per address, not per frame.
 */
#define MAC_CACHE_BITS 16
#define MAC_CACHE_SIZE (1u << MAC_CACHE_BITS) /* 65,536 x 16 bytes = 1 MiB per loop */

struct mac_cache_ent {
	uint64_t addr;	/* the key's first word: address and VLAN (fdb_key_words) */
	uint32_t gen;
	uint16_t port;
	uint8_t seen;	/* low bits of the second of the last refresh through this entry */
	uint8_t sw1;	/* switch index + 1; 0: unused */
} __attribute__((aligned(16)));

_Static_assert(sizeof(struct vsw_fdb_key) == 16 && offsetof(struct vsw_fdb_key, vlan) == 6 &&
		       offsetof(struct vsw_fdb_key, sw) == 8 && VSW_MAX_SWITCHES < 255,
	       "MAC keys are two words: address | VLAN << 48, and the switch");

struct txbuf {
	uint16_t n;
	bool dirty; /* listed in dirty[] */
	struct rte_mbuf *pkts[VSW_BURST];
};

/* State of one loop: written by its lcore only. */
struct vsw_dp_lcore {
	struct vsw_dp *dp;
	unsigned int idx;
	/* this iteration */
	const struct vsw_dp_config *cfg;
	uint32_t now;
	uint64_t tsc;
	uint64_t fdb_full, ct_full;
	struct mac_cache_ent *mc; /* MAC_CACHE_SIZE entries */
	struct hvnet_ext_ctx ext_ctx[VSW_BURST];
	uint16_t n_dirty;
	uint16_t dirty[VSW_MAX_PORTS];
	struct txbuf tx[VSW_MAX_PORTS];
	struct vsw_port_counters counters[VSW_MAX_PORTS];
} __rte_cache_aligned;

struct vsw_dp {
	struct vsw_dp_config *cfg; /* published snapshot (atomic pointer) */
	unsigned int idle_sleep_us; /* 0: busy-poll */
	int wake_fd[VSW_MAX_LCORES]; /* with idle_sleep_us: eventfds that end a loop's sleep */
	struct vsw_fdb *fdb;
	struct pol_ct *ct;
	struct rte_mempool *pool;
	struct rte_rcu_qsbr *qs;
	uint64_t tsc_hz;
	unsigned int n_lcores;
	unsigned int lcore_ids[VSW_MAX_LCORES];
	bool running;
	volatile bool stop;
	struct vsw_dp_lcore *lc[VSW_MAX_LCORES];
};

/* Per-frame facts gathered by classify for the later stages. */
struct frame {
	struct rte_mbuf *m;
	uint16_t vlan;
	bool tagged;
};

struct burst {
	struct vsw_dp_lcore *lc;
	const struct vsw_dp_config *cfg;
	uint16_t in;		/* ingress port */
	uint16_t n;
	bool steered;		/* some fwd[] is set */
	uint16_t fwd[VSW_BURST]; /* forward extension's port + 1, or 0 */
	uint32_t now;
	uint64_t tsc;
	struct frame f[VSW_BURST];
	/* runs: frames first[r] .. first[r + 1] - 1 share addresses and VLAN (stage_runs) */
	uint16_t n_runs;
	uint16_t first[VSW_BURST + 1];
	struct vsw_fdb_key src[VSW_BURST], dst[VSW_BURST]; /* per run */
};

static inline void drop(struct vsw_dp_lcore *lc, uint16_t port, enum vsw_drop_reason r,
			struct rte_mbuf *m)
{
	lc->counters[port].drops[r]++;
	rte_pktmbuf_free(m);
}

/* Stage 1: parse Ethernet/802.1Q and classify each frame into a VLAN. */
static void stage_classify(struct burst *b, struct rte_mbuf **pkts, uint16_t n)
{
	const struct vsw_dp_port *p = &b->cfg->ports[b->in];
	struct vsw_port_counters *c = &b->lc->counters[b->in];

	b->n = 0;
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
		bool tagged = eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_VLAN);
		unsigned int vid = 0;
		struct frame *f;
		int vlan;

		c->rx_packets++;
		c->rx_bytes += m->pkt_len;
		if (m->data_len < sizeof(*eth) + (tagged ? sizeof(struct rte_vlan_hdr) : 0)) {
			drop(b->lc, b->in, VSW_DROP_MALFORMED, m);
			continue;
		}
		if (tagged)
			vid = rte_be_to_cpu_16(((const struct rte_vlan_hdr *)(eth + 1))->vlan_tci) &
			      0xfff;
		vlan = vsw_vlan_ingress(&p->vlan, tagged, vid);
		if (vlan < 0) {
			drop(b->lc, b->in, VSW_DROP_VLAN_FILTERED, m);
			continue;
		}
		f = &b->f[b->n++];
		*f = (struct frame){.m = m, .vlan = (uint16_t)vlan, .tagged = tagged};
	}
}

/*
 * Stage 1c: groups consecutive frames with the same destination, source
 * and VLAN into runs (the frames of one flow travel together), so that the
 * MAC table is read and the forwarding decided once per run. Builds the
 * runs' lookup keys.
 */
static void stage_runs(struct burst *b)
{
	uint16_t sw = b->cfg->ports[b->in].sw, nr = 0;
	uint64_t prev_lo = 0;
	uint32_t prev_hi = 0;

	for (uint16_t i = 0; i < b->n; i++) {
		const uint8_t *h = rte_pktmbuf_mtod(b->f[i].m, const uint8_t *);
		uint64_t lo, vlan = (uint64_t)b->f[i].vlan << 48, *d, *sk;
		uint32_t hi;

		memcpy(&lo, h, sizeof(lo)); /* classify checked that both addresses are there */
		memcpy(&hi, h + sizeof(lo), sizeof(hi));
		if (i && lo == prev_lo && hi == prev_hi && b->f[i].vlan == b->f[i - 1].vlan)
			continue;
		prev_lo = lo;
		prev_hi = hi;
		b->first[nr] = i;
		/* the keys as two words each (little endian: the address, then the VLAN) */
		d = (uint64_t *)&b->dst[nr];
		sk = (uint64_t *)&b->src[nr];
		d[0] = (lo & 0xffffffffffffULL) | vlan;
		d[1] = sw;
		sk[0] = (lo >> 48 | (uint64_t)hi << 16) | vlan;
		sk[1] = sw;
		nr++;
	}
	b->first[nr] = b->n;
	b->n_runs = nr;
}

/* The drop reason of each policy verdict. */
static const uint8_t verdict_drop[] = {
	[POL_DROP_ACL] = VSW_DROP_ACL_DENY,	    [POL_DROP_SPOOF] = VSW_DROP_MAC_SPOOFING,
	[POL_DROP_DHCP] = VSW_DROP_DHCP_GUARD,	    [POL_DROP_ROUTER] = VSW_DROP_ROUTER_GUARD,
	[POL_DROP_RATE] = VSW_DROP_RATE_LIMIT,
};

static inline struct pol_env policy_env(struct vsw_dp_lcore *lc, uint32_t now, uint64_t tsc)
{
	return (struct pol_env){.ct = lc->dp->ct, .lcore = lc->idx, .now = now, .tsc = tsc,
				.ct_full = &lc->ct_full};
}

/*
 * Runs port's policy for direction dir over pkts, drops (and counts on
 * port) what it refuses, and compacts pkts. Returns the frames left; keep,
 * when not NULL, receives the surviving indices.
 */
static uint16_t apply_policy(struct vsw_dp_lcore *lc, const struct pol_port *pol, uint16_t port,
			     enum pol_dir dir, struct rte_mbuf **pkts, uint16_t n, uint32_t now,
			     uint64_t tsc, uint16_t *keep)
{
	struct pol_env env = policy_env(lc, now, tsc);
	uint8_t verdict[VSW_BURST];
	uint16_t k = 0;

	pol_port_filter(pol, dir, pkts, n, &env, verdict);
	for (uint16_t i = 0; i < n; i++) {
		if (verdict[i] != POL_PASS) {
			drop(lc, port, verdict_drop[verdict[i]], pkts[i]);
			continue;
		}
		if (keep)
			keep[k] = i;
		pkts[k++] = pkts[i];
	}
	return k;
}

/* Stage 1b: the ingress port's policy for frames coming from it. */
static void stage_policy_out(struct burst *b)
{
	const struct pol_port *pol = b->cfg->ports[b->in].pol;
	struct rte_mbuf *pkts[VSW_BURST];
	uint16_t keep[VSW_BURST], n;

	if (!pol || !pol->out || !b->n)
		return;
	for (uint16_t i = 0; i < b->n; i++)
		pkts[i] = b->f[i].m;
	n = apply_policy(b->lc, pol, b->in, POL_DIR_OUT, pkts, b->n, b->now, b->tsc, keep);
	for (uint16_t k = 0; k < n; k++) {
		b->f[k] = b->f[keep[k]];
		b->fwd[k] = b->fwd[keep[k]];
	}
	b->n = n;
}

static void output(struct burst *b, uint16_t out, struct rte_mbuf *m, const struct frame *f);

/* Fills the program context of frame f that came from port in. */
static void ext_context(struct hvnet_ext_ctx *ctx, const struct frame *f, uint16_t in, uint16_t sw)
{
	struct rte_mbuf *m = f->m;
	struct pol_flow fl;
	const void *d;

	ctx->len = m->pkt_len;
	ctx->caplen = RTE_MIN(m->pkt_len, (uint32_t)HVNET_EXT_DATA);
	d = rte_pktmbuf_read(m, 0, ctx->caplen, ctx->data);
	if (d != ctx->data)
		memcpy(ctx->data, d, ctx->caplen);
	ctx->in_port = in;
	ctx->vlan = f->vlan;
	ctx->sw = sw;
	pol_flow_parse(m, &fl);
	ctx->ethertype = fl.ethertype;
	ctx->family = fl.family;
	ctx->proto = fl.proto;
	ctx->tcp_flags = fl.tcp_flags;
	ctx->icmp_type = fl.icmp_type;
	ctx->sport = fl.sport;
	ctx->dport = fl.dport;
	memcpy(ctx->src, fl.src, 16);
	memcpy(ctx->dst, fl.dst, 16);
	ctx->src4 = fl.family == POL_IPV4 ? (uint32_t)fl.src[0] << 24 | fl.src[1] << 16 |
							fl.src[2] << 8 | fl.src[3]
					    : 0;
	ctx->dst4 = fl.family == POL_IPV4 ? (uint32_t)fl.dst[0] << 24 | fl.dst[1] << 16 |
							fl.dst[2] << 8 | fl.dst[3]
					    : 0;
}

/*
 * Runs the programs of one hook over the frames whose verdict is still 0
 * (pass, no steering). filter: sets verdict 1 (drop); forward: the port + 1.
 */
static void run_hook(struct burst *b, const struct vsw_dp_port *p, enum vsw_ext_hook hook,
		     uint64_t *verdict)
{
	struct hvnet_ext_ctx *ctx = b->lc->ext_ctx;
	unsigned int idx = b->lc->idx;

	for (uint8_t k = 0; k < p->n_ext[hook]; k++) {
		const struct vsw_ext_att *a = p->ext[hook][k];

		for (uint16_t i = 0; i < b->n; i++) {
			uint64_t rc;

			if (verdict[i])
				continue;
			memcpy(ctx[i].arg, a->args, sizeof(a->args));
			rc = vsw_ext_run(a->prog, &ctx[i], idx);
			if (hook == VSW_EXT_FILTER && rc == HVNET_EXT_DROP)
				verdict[i] = 1;
			else if (hook == VSW_EXT_FORWARD)
				verdict[i] = rc;
			else
				continue;
			if (verdict[i])
				vsw_ext_count_verdict(a->prog, idx);
		}
		vsw_ext_burst_done(a->prog, idx);
	}
}

/* Stage 1a: extension programs at the capture, filter and forward hooks. */
static void stage_ext(struct burst *b)
{
	const struct vsw_dp_port *p = &b->cfg->ports[b->in];
	uint64_t verdict[VSW_BURST] = {0};
	uint16_t k = 0;

	if (!(p->n_ext[VSW_EXT_CAPTURE] | p->n_ext[VSW_EXT_FILTER] | p->n_ext[VSW_EXT_FORWARD]))
		return;
	for (uint16_t i = 0; i < b->n; i++)
		ext_context(&b->lc->ext_ctx[i], &b->f[i], b->in, p->sw);
	run_hook(b, p, VSW_EXT_CAPTURE, verdict);
	run_hook(b, p, VSW_EXT_FILTER, verdict);
	for (uint16_t i = 0; i < b->n; i++) {
		if (verdict[i]) {
			drop(b->lc, b->in, VSW_DROP_EXT_DROP, b->f[i].m);
			continue;
		}
		b->f[k++] = b->f[i];
	}
	b->n = k;
	if (!p->n_ext[VSW_EXT_FORWARD])
		return;
	memset(verdict, 0, sizeof(verdict));
	run_hook(b, p, VSW_EXT_FORWARD, verdict);
	for (uint16_t i = 0; i < b->n; i++) {
		b->fwd[i] = verdict[i] > VSW_MAX_PORTS ? UINT16_MAX : (uint16_t)verdict[i];
		b->steered |= b->fwd[i] != 0;
	}
}

/* Sends a frame where a forward extension steered it (port + 1 in fwd). */
static void steer(struct burst *b, const struct frame *f, uint16_t fwd)
{
	uint16_t out = (uint16_t)(fwd - 1);
	const struct vsw_dp_port *p = fwd <= VSW_MAX_PORTS ? &b->cfg->ports[out] : NULL;

	if (!p || !p->used || p->sw != b->cfg->ports[b->in].sw)
		drop(b->lc, b->in, VSW_DROP_EXT_DROP, f->m);
	else if (out == b->in)
		drop(b->lc, b->in, VSW_DROP_SAME_PORT, f->m);
	else if (!p->up)
		drop(b->lc, b->in, VSW_DROP_PORT_DOWN, f->m);
	else
		output(b, out, f->m, f);
}

/* The cache slot of key. */
static inline struct mac_cache_ent *mac_cache_slot(struct vsw_dp_lcore *lc,
						   const struct vsw_fdb_key *key)
{
	const uint64_t *w = (const uint64_t *)key;
	uint64_t h = (w[0] ^ (w[1] * 0xff51afd7ed558ccdULL)) * 0x9e3779b97f4a7c15ULL;

	return &lc->mc[h >> (64 - MAC_CACHE_BITS)];
}

/* Whether c holds key's answer of generation gen. */
static inline bool mac_cache_hit(const struct mac_cache_ent *c, const struct vsw_fdb_key *key,
				 uint32_t gen)
{
	const uint64_t *w = (const uint64_t *)key;

	return c->addr == w[0] && c->sw1 == w[1] + 1 && c->gen == gen;
}

static inline void mac_cache_fill(struct mac_cache_ent *c, const struct vsw_fdb_key *key,
				  uint32_t gen, uint16_t port, uint32_t seen)
{
	const uint64_t *w = (const uint64_t *)key;

	*c = (struct mac_cache_ent){.addr = w[0], .gen = gen, .port = port, .seen = (uint8_t)seen,
				    .sw1 = (uint8_t)(w[1] + 1)};
}

/*
 * Stage 2: learn the source addresses of the burst, once per run; an
 * address the cache saw on this port in this second needs nothing.
 */
static void stage_learn(struct burst *b, uint32_t gen)
{
	struct vsw_fdb *fdb = b->lc->dp->fdb;
	const void *keys[VSW_BURST];
	uint16_t runs[VSW_BURST], nk = 0;
	int32_t pos[VSW_BURST];

	for (uint16_t r = 0; r < b->n_runs; r++) {
		const struct mac_cache_ent *c = mac_cache_slot(b->lc, &b->src[r]);

		if (b->src[r].mac[0] & 1)
			continue; /* a group address is never a source */
		/* a wrong skip (seconds 256 apart) only delays a refresh by a second */
		if (mac_cache_hit(c, &b->src[r], gen) && c->seen == (uint8_t)b->now &&
		    c->port == b->in)
			continue;
		runs[nk] = r;
		keys[nk++] = &b->src[r];
	}
	if (!nk)
		return;
	rte_hash_lookup_bulk(vsw_fdb_hash(fdb), keys, nk, pos);
	for (uint16_t k = 0; k < nk; k++) {
		const struct vsw_fdb_key *key = &b->src[runs[k]];
		struct vsw_fdb_entry *e;

		if (pos[k] < 0) {
			if (vsw_fdb_learn(fdb, key, b->in, b->now))
				b->lc->fdb_full++;
			else
				mac_cache_fill(mac_cache_slot(b->lc, key), key, gen, b->in, b->now);
			continue;
		}
		e = vsw_fdb_entry(fdb, pos[k]);
		if (vsw_fdb_touch(e, b->in, b->now))
			vsw_fdb_changed(fdb);
		mac_cache_fill(mac_cache_slot(b->lc, key), key, gen,
			       __atomic_load_n(&e->port, __ATOMIC_RELAXED), b->now);
	}
}

/* Rewrites the frame's tag for an egress port. Returns false when out of headroom. */
static inline bool vlan_edit(struct rte_mbuf *m, bool tagged, enum vsw_vlan_egress act,
			     uint16_t vlan)
{
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_vlan_hdr *vh;

	if (act == VSW_EGRESS_UNTAGGED) {
		if (tagged) {
			memmove(p + sizeof(struct rte_vlan_hdr), p, 2 * RTE_ETHER_ADDR_LEN);
			rte_pktmbuf_adj(m, sizeof(struct rte_vlan_hdr));
		}
		return true;
	}
	if (!tagged) {
		p = (uint8_t *)rte_pktmbuf_prepend(m, sizeof(struct rte_vlan_hdr));
		if (!p)
			return false;
		memmove(p, p + sizeof(struct rte_vlan_hdr), 2 * RTE_ETHER_ADDR_LEN);
		((struct rte_ether_hdr *)p)->ether_type = RTE_BE16(RTE_ETHER_TYPE_VLAN);
		vh = (struct rte_vlan_hdr *)(p + sizeof(struct rte_ether_hdr));
		vh->vlan_tci = rte_cpu_to_be_16(vlan);
		return true;
	}
	vh = (struct rte_vlan_hdr *)(p + sizeof(struct rte_ether_hdr));
	vh->vlan_tci = rte_cpu_to_be_16((rte_be_to_cpu_16(vh->vlan_tci) & 0xf000) | vlan);
	return true;
}

/* Whether vlan_edit() would change the frame (a tag already right stays untouched). */
static inline bool vlan_edits(const struct rte_mbuf *m, bool tagged, enum vsw_vlan_egress act,
			      uint16_t vlan)
{
	const struct rte_vlan_hdr *vh;

	if (act == VSW_EGRESS_UNTAGGED)
		return tagged;
	if (!tagged)
		return true;
	vh = rte_pktmbuf_mtod_offset(m, const struct rte_vlan_hdr *, sizeof(struct rte_ether_hdr));
	return (rte_be_to_cpu_16(vh->vlan_tci) & 0xfff) != vlan;
}

/*
 * m itself when this lcore is its only user, else (a capture session holds
 * it, capture.h) a private copy for an in-place edit, m's reference
 * released. NULL when no buffer is left (m released too).
 */
static inline struct rte_mbuf *private_frame(struct rte_mbuf *m, struct rte_mempool *pool)
{
	struct rte_mbuf *c;

	if (likely(__atomic_load_n(&m->refcnt, __ATOMIC_ACQUIRE) == 1 && RTE_MBUF_DIRECT(m)))
		return m;
	c = rte_pktmbuf_copy(m, pool, 0, UINT32_MAX);
	rte_pktmbuf_free(m);
	return c;
}

static void flush_port(struct vsw_dp_lcore *lc, uint16_t out);

/* Queues m for port out; a full buffer is sent at once. */
static inline void enqueue(struct vsw_dp_lcore *lc, uint16_t out, struct rte_mbuf *m)
{
	struct txbuf *tb = &lc->tx[out];

	if (!tb->dirty) {
		tb->dirty = true;
		lc->dirty[lc->n_dirty++] = out;
	}
	if (tb->n == VSW_BURST)
		flush_port(lc, out);
	tb->pkts[tb->n++] = m;
}

/* Copies frames of a mirror-source port to the mirror destinations of its switch. */
static void mirror(struct vsw_dp_lcore *lc, const struct vsw_dp_port *p, uint16_t port,
		   struct rte_mbuf **pkts, uint16_t n)
{
	const struct vsw_dp_switch *sw = &lc->cfg->switches[p->sw];

	for (uint16_t d = 0; d < sw->n_mirror_dst; d++) {
		uint16_t dst = sw->mirror_dst[d];

		if (dst == port || !lc->cfg->ports[dst].up)
			continue;
		for (uint16_t i = 0; i < n; i++) {
			struct rte_mbuf *c = rte_pktmbuf_copy(pkts[i], lc->dp->pool, 0, UINT32_MAX);

			if (!c) {
				lc->counters[dst].drops[VSW_DROP_NO_BUFFER]++;
				continue;
			}
			enqueue(lc, dst, c);
		}
	}
}

/* Hands frames to the capture sessions tapping a port in direction dir. */
static inline void tap(struct vsw_dp_lcore *lc, const struct vsw_dp_port *p, uint8_t dir,
		       struct rte_mbuf **pkts, uint16_t n)
{
	for (uint8_t t = 0; t < p->n_taps; t++) {
		if (p->taps[t].dirs & dir)
			vsw_capture_tap(p->taps[t].cap, lc->idx, p->taps[t].ifidx, dir, pkts, n,
					lc->tsc);
	}
}

/* Sends m (frame f) to port out with the tag edit act, which is not VSW_EGRESS_DROP. */
static inline void output_act(struct burst *b, uint16_t out, enum vsw_vlan_egress act,
			      struct rte_mbuf *m, const struct frame *f)
{
	if (unlikely(vlan_edits(m, f->tagged, act, f->vlan))) {
		m = private_frame(m, b->lc->dp->pool); /* a capture still reads the frame as it came */
		if (!m) {
			b->lc->counters[b->in].drops[VSW_DROP_NO_BUFFER]++;
			return;
		}
		if (!vlan_edit(m, f->tagged, act, f->vlan)) {
			drop(b->lc, b->in, VSW_DROP_NO_BUFFER, m);
			return;
		}
	}
	enqueue(b->lc, out, m);
}

/* Sends f to port out with the tag edit that port needs. */
static void output(struct burst *b, uint16_t out, struct rte_mbuf *m, const struct frame *f)
{
	enum vsw_vlan_egress act = vsw_vlan_egress(&b->cfg->ports[out].vlan, f->vlan);

	if (act == VSW_EGRESS_DROP)
		drop(b->lc, b->in, VSW_DROP_VLAN_FILTERED, m);
	else
		output_act(b, out, act, m, f);
}

/* Floods f to every up port of the switch that carries its VLAN, except the ingress. */
static void flood(struct burst *b, const struct frame *f)
{
	const struct vsw_dp_switch *sw = &b->cfg->switches[b->cfg->ports[b->in].sw];
	uint16_t dests[VSW_MAX_PORTS], nd = 0;

	if (!pol_storm_admit(b->cfg->ports[b->in].pol, b->tsc)) {
		drop(b->lc, b->in, VSW_DROP_STORM, f->m);
		return;
	}
	b->lc->counters[b->in].flood_packets++;
	for (uint16_t i = 0; i < sw->n_ports; i++) {
		uint16_t q = sw->ports[i];
		const struct vsw_dp_port *p = &b->cfg->ports[q];

		if (q != b->in && p->up && vsw_vlan_egress(&p->vlan, f->vlan) != VSW_EGRESS_DROP)
			dests[nd++] = q;
	}
	if (nd == 0) {
		rte_pktmbuf_free(f->m);
		return;
	}
	/* Copies first, while the original is unedited; the last port gets the original. */
	for (uint16_t i = 0; i + 1 < nd; i++) {
		struct rte_mbuf *c = rte_pktmbuf_copy(f->m, b->lc->dp->pool, 0, UINT32_MAX);

		if (!c) {
			b->lc->counters[b->in].drops[VSW_DROP_NO_BUFFER]++;
			continue;
		}
		output(b, dests[i], c, f);
	}
	output(b, dests[nd - 1], f->m, f);
}

/* Drops frames first .. end - 1 for reason r. */
static void drop_run(struct burst *b, uint16_t first, uint16_t end, enum vsw_drop_reason r)
{
	for (uint16_t i = first; i < end; i++)
		drop(b->lc, b->in, r, b->f[i].m);
}

/*
 * Forwards frames first .. end - 1 of run r (one destination, one VLAN) to
 * port out (< 0: unknown destination): the checks and the egress tag
 * decision once, then each frame.
 */
static void forward_frames(struct burst *b, uint16_t r, uint16_t first, uint16_t end, int32_t out)
{
	enum vsw_vlan_egress act;

	if ((b->dst[r].mac[0] & 1) || out < 0)
		goto flood_run;
	if (out >= VSW_MAX_PORTS || !b->cfg->ports[out].used)
		goto flood_run; /* entry of a port being removed */
	if (out == b->in)
		return drop_run(b, first, end, VSW_DROP_SAME_PORT);
	if (!b->cfg->ports[out].up)
		return drop_run(b, first, end, VSW_DROP_PORT_DOWN);
	act = vsw_vlan_egress(&b->cfg->ports[out].vlan, b->dst[r].vlan);
	if (act == VSW_EGRESS_DROP)
		return drop_run(b, first, end, VSW_DROP_VLAN_FILTERED);
	for (uint16_t i = first; i < end; i++) {
		if (act == VSW_EGRESS_UNTAGGED && !b->f[i].tagged)
			enqueue(b->lc, out, b->f[i].m); /* nothing to edit */
		else
			output_act(b, out, act, b->f[i].m, &b->f[i]);
	}
	return;

flood_run:
	for (uint16_t i = first; i < end; i++)
		flood(b, &b->f[i]);
}

/*
 * Finds the port of each run's destination (out[r], -1: unknown): in the
 * cache, else in the MAC table (one bulk lookup), caching what it finds.
 */
static void resolve_dst(struct burst *b, uint32_t gen, int32_t *out)
{
	struct vsw_fdb *fdb = b->lc->dp->fdb;
	const void *keys[VSW_BURST];
	uint16_t runs[VSW_BURST], nk = 0;
	int32_t pos[VSW_BURST];

	for (uint16_t r = 0; r < b->n_runs; r++) {
		const struct mac_cache_ent *c = mac_cache_slot(b->lc, &b->dst[r]);

		out[r] = -1;
		if (b->dst[r].mac[0] & 1)
			continue; /* flooded */
		if (mac_cache_hit(c, &b->dst[r], gen)) {
			out[r] = c->port;
			continue;
		}
		runs[nk] = r;
		keys[nk++] = &b->dst[r];
	}
	if (!nk)
		return;
	rte_hash_lookup_bulk(vsw_fdb_hash(fdb), keys, nk, pos);
	for (uint16_t k = 0; k < nk; k++) {
		const struct vsw_fdb_key *key = &b->dst[runs[k]];
		uint16_t port;

		if (pos[k] < 0)
			continue;
		port = __atomic_load_n(&vsw_fdb_entry(fdb, pos[k])->port, __ATOMIC_RELAXED);
		out[runs[k]] = port;
		/* a source seen this second stays so: only its port is refreshed here */
		mac_cache_fill(mac_cache_slot(b->lc, key), key, gen, port, 0);
	}
}

/* Stage 3: look destinations up, once per run, and forward each frame. */
static void stage_forward(struct burst *b, uint32_t gen)
{
	int32_t pos[VSW_BURST];

	resolve_dst(b, gen, pos);
	for (uint16_t r = 0; r < b->n_runs; r++) {
		uint16_t i = b->first[r], end = b->first[r + 1];

		if (!b->steered) {
			forward_frames(b, r, i, end, pos[r]);
			continue;
		}
		/* a forward extension chose the port of some frames: those go there */
		while (i < end) {
			uint16_t j = i;

			if (b->fwd[i]) {
				steer(b, &b->f[i], b->fwd[i]);
				i++;
				continue;
			}
			while (j < end && !b->fwd[j])
				j++;
			forward_frames(b, r, i, j, pos[r]);
			i = j;
		}
	}
}

/*
 * Sends what is queued for port out: its egress policy, capture taps and
 * mirror copies first, then one tx burst.
 */
static void flush_port(struct vsw_dp_lcore *lc, uint16_t out)
{
	struct txbuf *tb = &lc->tx[out];
	const struct vsw_dp_port *p = &lc->cfg->ports[out];
	struct vsw_port_counters *c = &lc->counters[out];
	uint64_t bytes = 0;
	uint16_t sent, n = tb->n;

	tb->n = 0;
	if (p->pol && p->pol->in)
		n = apply_policy(lc, p->pol, out, POL_DIR_IN, tb->pkts, n, lc->now, lc->tsc, NULL);
	if (!n)
		return;
	if (p->n_taps)
		tap(lc, p, VSW_CAPTURE_OUT, tb->pkts, n);
	if (p->mirror == VSW_MIRROR_SOURCE)
		mirror(lc, p, out, tb->pkts, n);
	for (uint16_t i = 0; i < n; i++)
		bytes += tb->pkts[i]->pkt_len;
	sent = p->tx(p->ctx, (uint16_t)lc->idx, tb->pkts, n);
	for (uint16_t i = sent; i < n; i++) {
		bytes -= tb->pkts[i]->pkt_len;
		drop(lc, out, VSW_DROP_TX_FULL, tb->pkts[i]);
	}
	c->tx_packets += sent;
	c->tx_bytes += bytes;
}

/* Stage 4: one tx burst per destination port (the list grows with mirror copies). */
static void stage_flush(struct vsw_dp_lcore *lc)
{
	for (uint16_t d = 0; d < lc->n_dirty; d++) {
		uint16_t out = lc->dirty[d];

		flush_port(lc, out);
		lc->tx[out].dirty = false;
	}
	lc->n_dirty = 0;
}

/* Reads the clock once per loop iteration that has frames (rdtsc is not free in a VM). */
static inline void clock_once(struct vsw_dp_lcore *lc)
{
	if (!lc->tsc) {
		lc->tsc = rte_rdtsc();
		lc->now = (uint32_t)(lc->tsc / lc->dp->tsc_hz);
	}
}

static unsigned int poll_port(struct vsw_dp_lcore *lc, const struct vsw_dp_config *cfg,
			      uint16_t in)
{
	const struct vsw_dp_port *p = &cfg->ports[in];
	struct rte_mbuf *pkts[VSW_BURST];
	struct burst b;
	uint16_t n;

	n = p->rx(p->ctx, pkts, VSW_BURST);
	if (n == 0)
		return 0;
	clock_once(lc);
	if (p->n_taps)
		tap(lc, p, VSW_CAPTURE_IN, pkts, n);
	if (p->mirror == VSW_MIRROR_SOURCE)
		mirror(lc, p, in, pkts, n);
	b.lc = lc;
	b.cfg = cfg;
	b.in = in;
	b.now = lc->now;
	b.tsc = lc->tsc;
	b.steered = false;
	stage_classify(&b, pkts, n);
	stage_ext(&b);
	stage_policy_out(&b);
	if (b.n) {
		uint32_t gen = vsw_fdb_generation(lc->dp->fdb);

		stage_runs(&b);
		stage_learn(&b, gen);
		stage_forward(&b, gen);
	}
	stage_flush(lc);
	return n;
}

unsigned int vsw_dp_run_once(struct vsw_dp *dp, unsigned int idx)
{
	struct vsw_dp_lcore *lc = dp->lc[idx];
	const struct vsw_dp_config *cfg = __atomic_load_n(&dp->cfg, __ATOMIC_ACQUIRE);
	unsigned int got = 0;

	lc->cfg = cfg;
	lc->tsc = 0; /* read at the first frame: idle polls read no clock */
	for (uint16_t i = 0; i < cfg->n_rx[idx]; i++) {
		uint16_t in = cfg->rx_ports[idx][i];

		if (cfg->ports[in].up)
			got += poll_port(lc, cfg, in);
	}
	return got;
}

/* Arms (or disarms) the wake-up of every port of loop idx that can signal; collects the fds
 * to sleep on into pfd. Returns false when a port has frames already. */
static bool arm_ports(const struct vsw_dp_config *cfg, unsigned int idx, bool arm,
		      struct pollfd *pfd, unsigned int *n)
{
	bool pending = false;

	for (uint16_t i = 0; i < cfg->n_rx[idx]; i++) {
		const struct vsw_dp_port *p = &cfg->ports[cfg->rx_ports[idx][i]];
		int fd;

		if (!p->up || !p->idle)
			continue;
		fd = p->idle(p->ctx, arm);
		if (fd == -EAGAIN)
			pending = true;
		else if (arm && fd >= 0)
			pfd[(*n)++] = (struct pollfd){.fd = fd, .events = POLLIN};
	}
	return !pending;
}

/*
 * Sleeps up to idle_sleep_us, woken early by the ports that can signal (their
 * eventfds) and by a new configuration. The loop is RCU-offline while it
 * sleeps, so publishers and table writers never wait for it; it touches no
 * port of the configuration it went to sleep with afterwards.
 */
static void idle_wait(struct vsw_dp *dp, unsigned int idx)
{
	struct timespec ts = {.tv_sec = dp->idle_sleep_us / 1000000,
			      .tv_nsec = (long)(dp->idle_sleep_us % 1000000) * 1000};
	struct pollfd pfd[VSW_MAX_PORTS + 1];
	unsigned int n = 1;
	uint64_t v;

	pfd[0] = (struct pollfd){.fd = dp->wake_fd[idx], .events = POLLIN};
	if (arm_ports(__atomic_load_n(&dp->cfg, __ATOMIC_ACQUIRE), idx, true, pfd, &n)) {
		rte_rcu_qsbr_thread_offline(dp->qs, idx);
		if (ppoll(pfd, n, &ts, NULL) > 0 && (pfd[0].revents & POLLIN) &&
		    read(dp->wake_fd[idx], &v, sizeof(v)) < 0)
			v = 0; /* nothing to drain */
		rte_rcu_qsbr_thread_online(dp->qs, idx);
	}
	arm_ports(__atomic_load_n(&dp->cfg, __ATOMIC_ACQUIRE), idx, false, NULL, NULL);
}

static int lcore_main(void *arg)
{
	struct vsw_dp_lcore *lc = arg;
	struct vsw_dp *dp = lc->dp;

	rte_rcu_qsbr_thread_register(dp->qs, lc->idx);
	rte_rcu_qsbr_thread_online(dp->qs, lc->idx);
	unsigned int idle = 0;

	while (!dp->stop) {
		idle = vsw_dp_run_once(dp, lc->idx) ? 0 : idle + 1;
		rte_rcu_qsbr_quiescent(dp->qs, lc->idx);
		/* optional: after ~1000 empty polls, sleep until a port signals (shared CPUs) */
		if (dp->idle_sleep_us && idle > 1000)
			idle_wait(dp, lc->idx);
	}
	rte_rcu_qsbr_thread_offline(dp->qs, lc->idx);
	rte_rcu_qsbr_thread_unregister(dp->qs, lc->idx);
	return 0;
}

int vsw_dp_set_idle_sleep(struct vsw_dp *dp, unsigned int us)
{
	for (unsigned int i = 0; us && i < dp->n_lcores; i++) {
		if (dp->wake_fd[i] < 0)
			dp->wake_fd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (dp->wake_fd[i] < 0)
			return -errno;
	}
	dp->idle_sleep_us = us;
	return 0;
}

void vsw_dp_wake(struct vsw_dp *dp)
{
	uint64_t one = 1;

	for (unsigned int i = 0; dp->idle_sleep_us && i < dp->n_lcores; i++) {
		if (write(dp->wake_fd[i], &one, sizeof(one)) < 0)
			continue; /* the counter is full: the loop is awake anyway */
	}
}

struct vsw_dp_config *vsw_dp_config_alloc(void)
{
	struct vsw_dp_config *cfg = calloc(1, sizeof(*cfg));

	if (!cfg)
		errno = ENOMEM;
	return cfg;
}

struct vsw_dp *vsw_dp_create(unsigned int n_lcores, struct vsw_fdb *fdb, struct pol_ct *ct,
			     struct rte_mempool *pool, struct rte_rcu_qsbr *qs)
{
	struct vsw_dp *dp;

	if (n_lcores == 0 || n_lcores > VSW_MAX_LCORES) {
		errno = EINVAL;
		return NULL;
	}
	dp = calloc(1, sizeof(*dp));
	if (!dp)
		goto err_nomem;
	dp->cfg = vsw_dp_config_alloc();
	if (!dp->cfg)
		goto err_free;
	dp->n_lcores = n_lcores;
	for (unsigned int i = 0; i < VSW_MAX_LCORES; i++)
		dp->wake_fd[i] = -1;
	dp->tsc_hz = rte_get_tsc_hz();
	dp->fdb = fdb;
	dp->ct = ct;
	dp->pool = pool;
	dp->qs = qs;
	for (unsigned int i = 0; i < n_lcores; i++) {
		dp->lc[i] = rte_zmalloc("vsw_dp_lcore", sizeof(*dp->lc[i]), RTE_CACHE_LINE_SIZE);
		if (!dp->lc[i])
			goto err_free;
		dp->lc[i]->mc = rte_zmalloc("vsw_dp_mac_cache",
					    sizeof(*dp->lc[i]->mc) * MAC_CACHE_SIZE, RTE_CACHE_LINE_SIZE);
		if (!dp->lc[i]->mc)
			goto err_free;
		dp->lc[i]->dp = dp;
		dp->lc[i]->idx = i;
	}
	return dp;

err_free:
	vsw_dp_free(dp);
err_nomem:
	errno = ENOMEM;
	return NULL;
}

int vsw_dp_start(struct vsw_dp *dp, const unsigned int *lcore_ids)
{
	dp->stop = false;
	for (unsigned int i = 0; i < dp->n_lcores; i++) {
		int rc = rte_eal_remote_launch(lcore_main, dp->lc[i], lcore_ids[i]);

		if (rc) {
			vsw_dp_stop(dp);
			return rc < 0 ? rc : -rc;
		}
		dp->lcore_ids[i] = lcore_ids[i];
		dp->running = true;
	}
	return 0;
}

void vsw_dp_stop(struct vsw_dp *dp)
{
	if (!dp->running)
		return;
	dp->stop = true;
	vsw_dp_wake(dp);
	for (unsigned int i = 0; i < dp->n_lcores; i++)
		rte_eal_wait_lcore(dp->lcore_ids[i]);
	dp->running = false;
}

void vsw_dp_free(struct vsw_dp *dp)
{
	if (!dp)
		return;
	vsw_dp_stop(dp);
	for (unsigned int i = 0; i < VSW_MAX_LCORES; i++) {
		if (dp->lc[i])
			rte_free(dp->lc[i]->mc);
		rte_free(dp->lc[i]);
		if (dp->wake_fd[i] >= 0)
			close(dp->wake_fd[i]);
	}
	free(dp->cfg);
	free(dp);
}

void vsw_dp_publish(struct vsw_dp *dp, struct vsw_dp_config *cfg)
{
	struct vsw_dp_config *old = __atomic_exchange_n(&dp->cfg, cfg, __ATOMIC_ACQ_REL);

	if (dp->running) {
		/* the token first: a loop woken before it would go back to sleep unseen */
		uint64_t token = rte_rcu_qsbr_start(dp->qs);

		vsw_dp_wake(dp);
		rte_rcu_qsbr_check(dp->qs, token, true);
	}
	free(old);
}

void vsw_dp_port_counters(const struct vsw_dp *dp, unsigned int port,
			  struct vsw_port_counters *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned int i = 0; i < dp->n_lcores; i++) {
		const struct vsw_port_counters *c = &dp->lc[i]->counters[port];

		out->rx_packets += c->rx_packets;
		out->rx_bytes += c->rx_bytes;
		out->tx_packets += c->tx_packets;
		out->tx_bytes += c->tx_bytes;
		out->flood_packets += c->flood_packets;
		for (unsigned int r = 0; r < VSW_DROP_MAX; r++)
			out->drops[r] += c->drops[r];
	}
}

/* Sums a uint64_t member (at offset off) of every loop's state. */
static uint64_t sum_lcores(const struct vsw_dp *dp, size_t off)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < dp->n_lcores; i++)
		n += *(const uint64_t *)((const char *)dp->lc[i] + off);
	return n;
}

uint64_t vsw_dp_fdb_full(const struct vsw_dp *dp)
{
	return sum_lcores(dp, offsetof(struct vsw_dp_lcore, fdb_full));
}

uint64_t vsw_dp_ct_full(const struct vsw_dp *dp)
{
	return sum_lcores(dp, offsetof(struct vsw_dp_lcore, ct_full));
}


const char *vsw_drop_name(enum vsw_drop_reason r)
{
	static const char *const names[] = {
#define VSW_DROP_NAME(e, name, what) name,
		VSW_DROP_REASONS(VSW_DROP_NAME)
#undef VSW_DROP_NAME
	};

	return r < VSW_DROP_MAX ? names[r] : "unknown";
}
