/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vswitchd link and synthetic NIC VSPs (see vsd_link.h). Layout: logging and
 * sending; the NIC VSP callbacks the VMBus host makes; what the link does
 * with vswitchd's messages; connecting, replaying and the timers.
 *
 * State: the socket is -1 (down: retry at next_retry), or open with
 * hello_pending (HELLO sent, waiting for HELLO_REPLY), or up. Per NIC the
 * link keeps what a new vswitchd needs to take over: the open channel, a
 * copy of every GPADL of the NIC's relid and the last NIC_STATE blob. All
 * of it is touched only under the caller's lock (vsd_link.h).
 */
#include "vsd_link.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "host.h"

#define SEND_TIMEOUT_MS 1000
#define MAX_DEFERRED	16

struct vsd_gpadl {
	struct vsd_gpadl *next;
	uint32_t id;
	uint32_t npfns;
	uint64_t pfns[];
};

struct vsd_nic {
	struct vmm_vsd *l;
	unsigned idx;
	uint32_t relid;
	struct vmm_vsd_nic cfg;
	struct vmbus_channel *ch; /* open channel, NULL when closed */
	struct vsd_gpadl *gpadls;
	bool have_state;
	uint32_t state_len;
	uint8_t state[VMBUS_USER_MAX_STATE];
};

/* CHANNEL_FAILED and REQUEST that arrived while a close waited. */
struct vsd_deferred {
	uint32_t type, nic, seq;
	union {
		struct vmbus_user_channel_event ev;
		struct vmbus_user_request rq;
	} u;
};

struct vmm_vsd {
	struct vmm_vsd_config cfg;
	char path[108];
	char vm_name[VMBUS_USER_NAME_LEN];
	struct vmm_vsd_region regions[VMBUS_USER_MAX_REGIONS];
	struct vsd_nic nics[VMBUS_USER_MAX_NICS];
	const struct vmm_vsd_ops *ops;
	void *ctx;
	int sock;
	bool hello_pending, up, lost_logged;
	uint32_t seq, hello_seq;
	uint64_t next_retry, next_status;
	uint64_t *rx, *rx_wait, *tx; /* VMBUS_USER_MAX_MSG each, 8-aligned */
	struct vsd_deferred deferred[MAX_DEFERRED];
	unsigned ndeferred;
	struct vmm_vsd_stats st;
	uint8_t guid_seed[12];
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void vlog(struct vmm_vsd *l, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void vlog(struct vmm_vsd *l, int level, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	if (!l->ops->log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	l->ops->log(l->ctx, level, line);
}

/* Drops the socket; the guest keeps running and service() reconnects. */
static void link_lost(struct vmm_vsd *l, const char *why)
{
	if (l->sock < 0)
		return;
	close(l->sock);
	l->sock = -1;
	if (l->up)
		l->st.disconnects++;
	l->up = l->hello_pending = false;
	l->ndeferred = 0;
	l->next_retry = mono_ms() + l->cfg.retry_ms;
	if (!l->lost_logged)
		vlog(l, LOG_WARNING,
		     "vswitchd link lost (%s): the guest keeps running; "
		     "reconnecting every %u ms",
		     why, l->cfg.retry_ms);
	l->lost_logged = true;
}

static int vsd_send(struct vmm_vsd *l, uint32_t type, uint32_t nic, const void *body, size_t len,
		    const int *fds, unsigned nfds)
{
	int rc;

	if (l->sock < 0)
		return -ENOTCONN;
	rc = vmbus_user_send(l->sock, type, nic, ++l->seq, body, len, fds, nfds);
	if (rc) {
		char why[64];

		snprintf(why, sizeof(why), "sending %s: %s", vmbus_user_type_name(type),
			 strerror(-rc));
		link_lost(l, why);
		return rc;
	}
	l->st.tx++;
	return 0;
}

static int send_event(struct vmm_vsd *l, uint32_t type, unsigned nic, uint32_t relid,
		      const char *msg)
{
	struct vmbus_user_channel_event ev = {.relid = relid};

	snprintf(ev.message, sizeof(ev.message), "%s", msg);
	return vsd_send(l, type, nic, &ev, sizeof(ev), NULL, 0);
}

/* ---- messages about NICs ---- */

static int send_gpadl(struct vsd_nic *n, const struct vsd_gpadl *g)
{
	struct vmbus_user_gpadl h = {.gpadl = g->id, .npfns = g->npfns};
	uint8_t *b = (uint8_t *)n->l->tx;

	memcpy(b, &h, sizeof(h));
	memcpy(b + sizeof(h), g->pfns, (size_t)g->npfns * 8);
	return vsd_send(n->l, VMBUS_USER_GPADL, n->idx, b, sizeof(h) + (size_t)g->npfns * 8, NULL,
			0);
}

/* The two fds of an open channel: doorbell and the target vCPU's irqfd. */
static int channel_fds(struct vsd_nic *n, struct vmbus_channel *ch, int fds[2])
{
	struct vmm_vsd *l = n->l;

	fds[0] = l->ops->doorbell(l->ctx, vmbus_channel_relid(ch), vmbus_channel_conn_id(ch));
	if (fds[0] < 0)
		return fds[0];
	fds[1] = l->ops->irqfd(l->ctx, vmbus_channel_target_vp(ch));
	return fds[1] < 0 ? fds[1] : 0;
}

static int send_open(struct vsd_nic *n)
{
	struct vmm_vsd *l = n->l;
	struct vmbus_channel *ch = n->ch;
	struct vmbus_user_channel_open o;
	const uint64_t *pfns;
	uint8_t *b = (uint8_t *)l->tx;
	int fds[2], rc;

	memset(&o, 0, sizeof(o));
	rc = vmbus_channel_ring_pages(ch, &pfns, &o.npfns, &o.out_offset);
	if (!rc)
		rc = channel_fds(n, ch, fds);
	if (rc)
		return rc;
	o.relid = vmbus_channel_relid(ch);
	o.conn_id = vmbus_channel_conn_id(ch);
	o.target_vp = vmbus_channel_target_vp(ch);
	o.sief_gpa = l->ops->sief_gpa(l->ctx, o.target_vp);
	o.vmbus_version = vmbus_host_version(vmbus_channel_host(ch));
	o.ring_gpadl = vmbus_channel_ring_gpadl(ch);
	memcpy(b, &o, sizeof(o));
	memcpy(b + sizeof(o), pfns, (size_t)o.npfns * 8);
	return vsd_send(l, VMBUS_USER_CHANNEL_OPEN, n->idx, b, sizeof(o) + (size_t)o.npfns * 8, fds,
			2);
}

/* After CHANNEL_CLOSE: handles vswitchd's messages until CHANNEL_CLOSED for
 * relid, the timeout, or the link's end. Requests and failures wait in the
 * deferred list (they would re-enter the host). */
static void dispatch(struct vmm_vsd *l, const struct vmbus_user_msg *m, bool waiting);

static void wait_closed(struct vmm_vsd *l, uint32_t relid)
{
	uint64_t deadline = mono_ms() + l->cfg.close_timeout_ms;
	struct vmbus_user_msg m;

	while (l->up) {
		struct pollfd p = {.fd = l->sock, .events = POLLIN};
		uint64_t now = mono_ms();
		int rc;

		if (now >= deadline || poll(&p, 1, (int)(deadline - now)) == 0) {
			l->st.close_timeouts++;
			vlog(l, LOG_WARNING,
			     "vswitchd did not confirm CHANNEL_CLOSE of relid %u "
			     "within %u ms: the guest may reuse the ring",
			     relid, l->cfg.close_timeout_ms);
			return;
		}
		rc = vmbus_user_recv(l->sock, l->rx_wait, VMBUS_USER_MAX_MSG, &m);
		if (rc == -EAGAIN || rc == -EINTR)
			continue;
		if (rc) {
			link_lost(l, rc == -ECONNRESET ? "vswitchd closed the socket"
						       : "malformed message");
			return;
		}
		l->st.rx++;
		if (m.hdr.type == VMBUS_USER_CHANNEL_CLOSED &&
		    ((const struct vmbus_user_channel_event *)m.body)->relid == relid)
			return;
		dispatch(l, &m, true);
	}
}

/* ---- the NIC VSP (callbacks from the VMBus host, under the lock) ---- */

static int nic_open(void *vsp, struct vmbus_channel *ch, const uint8_t *userdata)
{
	struct vsd_nic *n = vsp;
	int fds[2], rc;

	(void)userdata;
	rc = channel_fds(n, ch, fds); /* no doorbell or irqfd: refuse the open */
	if (!rc && vmbus_channel_ring_gpadl(ch) == 0)
		rc = -ENOENT;
	if (rc) {
		vlog(n->l, LOG_ERR, "nic%u: cannot open relid %u: %s", n->idx,
		     vmbus_channel_relid(ch), strerror(-rc));
		return rc;
	}
	n->ch = ch;
	vlog(n->l, LOG_INFO, "nic%u: guest opened relid %u (vCPU %u)%s", n->idx,
	     vmbus_channel_relid(ch), vmbus_channel_target_vp(ch),
	     n->l->up ? "" : "; vswitchd gets it when the link is back");
	if (n->l->up)
		send_open(n);
	return 0;
}

static void nic_close(void *vsp, struct vmbus_channel *ch)
{
	struct vsd_nic *n = vsp;
	struct vmm_vsd *l = n->l;
	uint32_t relid = vmbus_channel_relid(ch);

	n->ch = NULL;
	n->have_state = false; /* NetVSP state of this channel: a reopened one starts afresh */
	if (l->up && send_event(l, VMBUS_USER_CHANNEL_CLOSE, n->idx, relid, "closed") == 0)
		wait_closed(l, relid);
}

/* HvSignalEvent that reached the VMM as a hypercall exit (no KVM doorbell
 * took it): passed on through the doorbell eventfd vswitchd sleeps on. */
static void nic_signalled(void *vsp, struct vmbus_channel *ch)
{
	struct vsd_nic *n = vsp;
	uint64_t one = 1;
	int fd = n->l->ops->doorbell(n->l->ctx, vmbus_channel_relid(ch), vmbus_channel_conn_id(ch));

	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0) {
		/* counter overflow only: vswitchd is due to look anyway */
	}
}

static int nic_gpadl_created(void *vsp, uint32_t relid, uint32_t id, const uint64_t *pfns,
			     uint32_t npfns)
{
	struct vsd_nic *n = vsp;
	struct vsd_gpadl *g;

	(void)relid;
	if (npfns == 0 || npfns > VMBUS_USER_MAX_PFNS)
		return -E2BIG;
	g = malloc(sizeof(*g) + (size_t)npfns * 8);
	if (!g)
		return -ENOMEM;
	g->id = id;
	g->npfns = npfns;
	memcpy(g->pfns, pfns, (size_t)npfns * 8);
	g->next = n->gpadls;
	n->gpadls = g;
	if (n->l->up)
		send_gpadl(n, g);
	return 0;
}

static void nic_gpadl_torndown(void *vsp, uint32_t relid, uint32_t id)
{
	struct vsd_nic *n = vsp;
	struct vmbus_user_gpadl_del d = {.gpadl = id};

	(void)relid;
	for (struct vsd_gpadl **pp = &n->gpadls; *pp; pp = &(*pp)->next) {
		struct vsd_gpadl *g = *pp;

		if (g->id != id)
			continue;
		*pp = g->next;
		free(g);
		if (n->l->up)
			vsd_send(n->l, VMBUS_USER_GPADL_DEL, n->idx, &d, sizeof(d), NULL, 0);
		return;
	}
}

/* vmbus-user has no message to move a channel's interrupt to another vCPU
 * (vswitchd holds the old vCPU's irqfd and SIEF): the channel stays. */
static int nic_retarget(void *vsp, struct vmbus_channel *ch, uint32_t vp)
{
	struct vsd_nic *n = vsp;

	vlog(n->l, LOG_NOTICE,
	     "nic%u: guest asked to move relid %u to vCPU %u: refused, "
	     "interrupts stay on vCPU %u",
	     n->idx, vmbus_channel_relid(ch), vp, vmbus_channel_target_vp(ch));
	return -EOPNOTSUPP;
}

static const struct vmbus_vsp_ops nic_vsp_ops = {
	.name = "netvsc",
	.open = nic_open,
	.close = nic_close,
	.signalled = nic_signalled,
	.gpadl_created = nic_gpadl_created,
	.gpadl_torndown = nic_gpadl_torndown,
	.retarget = nic_retarget,
};

/* ---- vswitchd's messages ---- */

static void on_failed(struct vmm_vsd *l, uint32_t nic, const struct vmbus_user_channel_event *e)
{
	struct vsd_nic *n = nic < l->cfg.nr_nics ? &l->nics[nic] : NULL;

	if (!n || !n->ch || (e->relid && e->relid != n->relid)) {
		l->st.bad_rx++;
		vlog(l, LOG_WARNING, "vswitchd: CHANNEL_FAILED for nic %u relid %u, not open", nic,
		     e->relid);
		return;
	}
	l->st.failed++;
	vlog(l, LOG_WARNING, "vswitchd failed nic%u relid %u (%s): %s", nic, e->relid,
	     strerror(-e->reason), e->message);
	vmbus_channel_fail(n->ch, "vswitchd: CHANNEL_FAILED");
}

static void on_request(struct vmm_vsd *l, uint32_t seq, const struct vmbus_user_request *rq)
{
	struct vmbus_user_request r = {.op = rq->op};

	l->st.requests++;
	if (rq->op == VMBUS_USER_REQ_SHUTDOWN) {
		r.status = l->ops->shutdown(l->ctx);
		snprintf(r.message, sizeof(r.message), "%s",
			 r.status == 0		 ? "shutdown requested through the shutdown IC"
			 : r.status == -ENOTCONN ? "the guest has no shutdown IC open"
			 : r.status == -EBUSY	 ? "a shutdown request is pending"
						 : strerror(-r.status));
	} else {
		snprintf(r.message, sizeof(r.message), "powering off");
	}
	vlog(l, LOG_NOTICE, "vswitchd asks: %s -> %s",
	     rq->op == VMBUS_USER_REQ_SHUTDOWN ? "shutdown" : "power off", r.message);
	if (l->sock >= 0)
		vmbus_user_send(l->sock, VMBUS_USER_REQUEST_REPLY, 0, seq, &r, sizeof(r), NULL, 0);
	if (rq->op == VMBUS_USER_REQ_POWEROFF)
		l->ops->poweroff(l->ctx);
}

static void on_nic_state(struct vmm_vsd *l, const struct vmbus_user_msg *m)
{
	const struct vmbus_user_nic_state *s = m->body;
	struct vsd_nic *n;

	if (m->hdr.nic >= l->cfg.nr_nics) {
		l->st.bad_rx++;
		return;
	}
	n = &l->nics[m->hdr.nic];
	memcpy(n->state, s->data, s->len);
	n->state_len = s->len;
	n->have_state = true;
}

static void defer(struct vmm_vsd *l, const struct vmbus_user_msg *m)
{
	struct vsd_deferred *d;

	if (l->ndeferred == MAX_DEFERRED) {
		l->st.bad_rx++;
		return;
	}
	d = &l->deferred[l->ndeferred++];
	d->type = m->hdr.type;
	d->nic = m->hdr.nic;
	d->seq = m->hdr.seq;
	memcpy(&d->u, m->body, m->body_len < sizeof(d->u) ? m->body_len : sizeof(d->u));
}

static void run_deferred(struct vmm_vsd *l)
{
	unsigned i;

	/* entries may be added while these run (a fail waits for CLOSED) */
	for (i = 0; i < l->ndeferred; i++) {
		struct vsd_deferred d = l->deferred[i];

		if (d.type == VMBUS_USER_CHANNEL_FAILED)
			on_failed(l, d.nic, &d.u.ev);
		else
			on_request(l, d.seq, &d.u.rq);
	}
	l->ndeferred = 0;
}

static void on_hello_reply(struct vmm_vsd *l, const struct vmbus_user_msg *m);

static void dispatch(struct vmm_vsd *l, const struct vmbus_user_msg *m, bool waiting)
{
	switch (m->hdr.type) {
	case VMBUS_USER_HELLO_REPLY:
		on_hello_reply(l, m);
		break;
	case VMBUS_USER_NIC_STATE:
		on_nic_state(l, m);
		break;
	case VMBUS_USER_CHANNEL_CLOSED:
		break; /* late confirmation of a close that timed out */
	case VMBUS_USER_CHANNEL_FAILED:
		if (waiting)
			defer(l, m);
		else
			on_failed(l, m->hdr.nic, m->body);
		break;
	case VMBUS_USER_REQUEST:
		if (waiting)
			defer(l, m);
		else
			on_request(l, m->hdr.seq, m->body);
		break;
	default:
		l->st.bad_rx++;
		vlog(l, LOG_WARNING, "vswitchd sent %s, which only the VM side sends: ignored",
		     vmbus_user_type_name(m->hdr.type));
		break;
	}
	for (unsigned i = 0; i < m->nfds; i++)
		close(m->fds[i]);
}

/* ---- connecting and replaying ---- */

static int send_hello(struct vmm_vsd *l)
{
	struct vmbus_user_hello h = {.version = VMBUS_USER_VERSION,
				     .nr_nics = l->cfg.nr_nics,
				     .pid = l->cfg.pid,
				     .nr_vcpus = l->cfg.nr_vcpus,
				     .memory_mib = l->cfg.memory_mib};
	uint8_t *b = (uint8_t *)l->tx;

	memcpy(h.vm_name, l->vm_name, sizeof(h.vm_name));
	memcpy(b, &h, sizeof(h));
	for (unsigned i = 0; i < l->cfg.nr_nics; i++) {
		const struct vmm_vsd_nic *c = &l->nics[i].cfg;
		struct vmbus_user_nic n = {.vlan = c->vlan, .mtu = c->mtu};

		memcpy(n.switch_name, c->switch_name, sizeof(n.switch_name));
		memcpy(n.port_name, c->port_name, sizeof(n.port_name));
		memcpy(n.mac, c->mac, 6);
		memcpy(b + sizeof(h) + i * sizeof(n), &n, sizeof(n));
	}
	l->hello_pending = true;
	l->hello_seq = l->seq + 1;
	return vsd_send(l, VMBUS_USER_HELLO, 0, b,
			sizeof(h) + l->cfg.nr_nics * sizeof(struct vmbus_user_nic), NULL, 0);
}

static int open_socket(struct vmm_vsd *l)
{
	struct timeval tv = {.tv_sec = SEND_TIMEOUT_MS / 1000};
	int fd = vmbus_user_connect(l->path);

	if (fd < 0)
		return fd;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	l->sock = fd;
	return send_hello(l);
}

static void send_status(struct vmm_vsd *l)
{
	struct vmbus_user_status st;

	memset(&st, 0, sizeof(st));
	l->ops->status(l->ctx, &st);
	vsd_send(l, VMBUS_USER_STATUS, 0, &st, sizeof(st), NULL, 0);
	l->next_status = mono_ms() + l->cfg.status_ms;
}

/* Everything vswitchd needs after HELLO_REPLY, in protocol order. */
static void replay(struct vmm_vsd *l)
{
	for (unsigned i = 0; i < l->cfg.nr_regions && l->up; i++) {
		struct vmbus_user_mem m = {.gpa = l->regions[i].gpa,
					   .size = l->regions[i].size,
					   .offset = l->regions[i].offset};

		vsd_send(l, VMBUS_USER_MEM, 0, &m, sizeof(m), &l->cfg.mem_fd, 1);
	}
	for (unsigned i = 0; i < l->cfg.nr_nics && l->up; i++) {
		struct vsd_nic *n = &l->nics[i];
		uint8_t *b = (uint8_t *)l->tx;
		struct vmbus_user_nic_state s = {.len = n->state_len};

		if (!n->have_state)
			continue;
		memcpy(b, &s, sizeof(s));
		memcpy(b + sizeof(s), n->state, n->state_len);
		vsd_send(l, VMBUS_USER_NIC_STATE, i, b, sizeof(s) + n->state_len, NULL, 0);
	}
	for (unsigned i = 0; i < l->cfg.nr_nics && l->up; i++) {
		struct vsd_nic *n = &l->nics[i];

		for (struct vsd_gpadl *g = n->gpadls; g && l->up; g = g->next)
			send_gpadl(n, g);
		if (n->ch && l->up)
			send_open(n);
	}
	if (l->up)
		send_status(l);
}

static void log_reply(struct vmm_vsd *l, const struct vmbus_user_hello_reply *r)
{
	const struct vmbus_user_nic_reply *nr = (const void *)(r + 1);

	for (uint32_t i = 0; i < r->nr_nics && i < l->cfg.nr_nics; i++) {
		const uint8_t *a = nr[i].mac;

		if (nr[i].status < 0)
			vlog(l, LOG_WARNING, "vswitchd: nic%u refused: %s", i,
			     strerror(-nr[i].status));
		else
			vlog(l, LOG_INFO,
			     "vswitchd: nic%u is port %s, MAC "
			     "%02x:%02x:%02x:%02x:%02x:%02x",
			     i, nr[i].port_name, a[0], a[1], a[2], a[3], a[4], a[5]);
	}
}

static void on_hello_reply(struct vmm_vsd *l, const struct vmbus_user_msg *m)
{
	const struct vmbus_user_hello_reply *r = m->body;

	if (!l->hello_pending) {
		l->st.bad_rx++;
		return;
	}
	l->hello_pending = false;
	if (r->status < 0) {
		vlog(l, LOG_WARNING, "vswitchd refused this VM: %s", r->message);
		link_lost(l, "HELLO refused");
		return;
	}
	l->up = true;
	l->st.connects++;
	if (l->lost_logged)
		vlog(l, LOG_NOTICE,
		     "vswitchd link restored: replaying memory, NIC state and "
		     "open channels");
	l->lost_logged = false;
	log_reply(l, r);
	replay(l);
}

/* Reads what is there without blocking. */
static void drain_socket(struct vmm_vsd *l)
{
	struct vmbus_user_msg m;

	while (l->sock >= 0) {
		struct pollfd p = {.fd = l->sock, .events = POLLIN};
		int rc;

		if (poll(&p, 1, 0) <= 0)
			return;
		rc = vmbus_user_recv(l->sock, l->rx, VMBUS_USER_MAX_MSG, &m);
		if (rc == -EAGAIN || rc == -EINTR)
			return;
		if (rc) {
			l->st.bad_rx += rc == -EPROTO;
			link_lost(l, rc == -ECONNRESET ? "vswitchd closed the socket"
				     : rc == -EPROTO   ? "malformed message"
						       : strerror(-rc));
			return;
		}
		l->st.rx++;
		dispatch(l, &m, false);
		run_deferred(l);
	}
}

void vmm_vsd_service(struct vmm_vsd *l, uint64_t now_ms)
{
	run_deferred(l);
	drain_socket(l);
	if (l->sock < 0 && now_ms >= l->next_retry) {
		l->next_retry = now_ms + l->cfg.retry_ms;
		if (open_socket(l) < 0 && l->sock >= 0)
			link_lost(l, "HELLO not sent");
	}
	if (l->up && now_ms >= l->next_status)
		send_status(l);
}

int vmm_vsd_timeout_ms(const struct vmm_vsd *l, uint64_t now_ms)
{
	uint64_t next = l->sock < 0 ? l->next_retry : l->up ? l->next_status : now_ms + 1000;

	return next <= now_ms ? 0 : next - now_ms > 1000 ? 1000 : (int)(next - now_ms);
}

int vmm_vsd_connect(struct vmm_vsd *l, unsigned timeout_ms, char *err, size_t errlen)
{
	uint64_t deadline = mono_ms() + timeout_ms;
	struct vmbus_user_msg m;
	int rc = open_socket(l);

	if (rc) {
		snprintf(err, errlen, "cannot reach vswitchd at %s: %s", l->path, strerror(-rc));
		link_lost(l, "connect");
		return rc;
	}
	while (l->hello_pending) {
		struct pollfd p = {.fd = l->sock, .events = POLLIN};
		uint64_t now = mono_ms();

		if (now >= deadline || poll(&p, 1, (int)(deadline - now)) == 0) {
			snprintf(err, errlen, "vswitchd at %s did not answer HELLO within %u ms",
				 l->path, timeout_ms);
			rc = -ETIMEDOUT;
			break;
		}
		rc = vmbus_user_recv(l->sock, l->rx, VMBUS_USER_MAX_MSG, &m);
		if (rc == -EINTR)
			continue;
		if (rc) {
			snprintf(err, errlen, "vswitchd at %s: %s", l->path,
				 rc == -ECONNRESET ? "closed the connection" : strerror(-rc));
			break;
		}
		l->st.rx++;
		if (m.hdr.type == VMBUS_USER_HELLO_REPLY &&
		    ((const struct vmbus_user_hello_reply *)m.body)->status < 0) {
			snprintf(err, errlen, "vswitchd refused this VM: %s",
				 ((const struct vmbus_user_hello_reply *)m.body)->message);
			rc = -ECONNREFUSED;
			break;
		}
		dispatch(l, &m, true);
	}
	if (rc || !l->up) {
		l->lost_logged = true; /* the caller reports it */
		link_lost(l, "connect");
		return rc ? rc : -EPROTO;
	}
	return 0;
}

/* ---- setup ---- */

static int check_config(const struct vmm_vsd_config *c)
{
	if (!c->path || strlen(c->path) >= 108 || !c->vm_name || !c->vm_name[0] ||
	    strlen(c->vm_name) >= VMBUS_USER_NAME_LEN || c->nr_nics < 1 ||
	    c->nr_nics > VMBUS_USER_MAX_NICS || !c->nics || c->nr_regions < 1 ||
	    c->nr_regions > VMBUS_USER_MAX_REGIONS || !c->regions || c->mem_fd < 0)
		return -EINVAL;
	for (unsigned i = 0; i < c->nr_nics; i++)
		if (!memchr(c->nics[i].switch_name, 0, VMBUS_USER_NAME_LEN) ||
		    !c->nics[i].switch_name[0] ||
		    !memchr(c->nics[i].port_name, 0, VMBUS_USER_NAME_LEN))
			return -EINVAL;
	return 0;
}

struct vmm_vsd *vmm_vsd_new(const struct vmm_vsd_config *cfg, const struct vmm_vsd_ops *ops,
			    void *ctx)
{
	struct vmm_vsd *l;

	if (check_config(cfg) || !ops || !ops->doorbell || !ops->irqfd || !ops->sief_gpa ||
	    !ops->shutdown || !ops->poweroff || !ops->status) {
		errno = EINVAL;
		return NULL;
	}
	l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->cfg = *cfg;
	l->ops = ops;
	l->ctx = ctx;
	l->sock = -1;
	snprintf(l->path, sizeof(l->path), "%s", cfg->path);
	snprintf(l->vm_name, sizeof(l->vm_name), "%s", cfg->vm_name);
	memcpy(l->regions, cfg->regions, cfg->nr_regions * sizeof(*cfg->regions));
	for (unsigned i = 0; i < cfg->nr_nics; i++)
		l->nics[i] = (struct vsd_nic){.l = l, .idx = i, .cfg = cfg->nics[i]};
	l->cfg.close_timeout_ms = cfg->close_timeout_ms ? cfg->close_timeout_ms : 1000;
	l->cfg.retry_ms = cfg->retry_ms ? cfg->retry_ms : 1000;
	l->cfg.status_ms = cfg->status_ms ? cfg->status_ms : 2000;
	l->rx = aligned_alloc(8, VMBUS_USER_MAX_MSG);
	l->rx_wait = aligned_alloc(8, VMBUS_USER_MAX_MSG);
	l->tx = aligned_alloc(8, VMBUS_USER_MAX_MSG);
	if (!l->rx || !l->rx_wait || !l->tx ||
	    getrandom(l->guid_seed, sizeof(l->guid_seed), 0) != sizeof(l->guid_seed)) {
		vmm_vsd_free(l);
		errno = ENOMEM;
		return NULL;
	}
	return l;
}

int vmm_vsd_add_nics(struct vmm_vsd *l, struct vmbus_host *h)
{
	for (unsigned i = 0; i < l->cfg.nr_nics; i++) {
		struct vmbus_device_info info;
		int rc;

		memset(&info, 0, sizeof(info));
		vmbus_guid_parse(VMM_VSD_NIC_CLASS, &info.class_id);
		memcpy(info.instance_id.b, l->guid_seed, sizeof(l->guid_seed));
		info.instance_id.b[7] = (uint8_t)((info.instance_id.b[7] & 0x0f) | 0x40);
		info.instance_id.b[8] = (uint8_t)((info.instance_id.b[8] & 0x3f) | 0x80);
		info.instance_id.b[15] = (uint8_t)i;
		rc = vmbus_host_add_device(h, &info, &nic_vsp_ops, &l->nics[i], &l->nics[i].relid);
		if (rc)
			return rc;
	}
	return 0;
}

int vmm_vsd_fd(const struct vmm_vsd *l)
{
	return l->sock;
}

bool vmm_vsd_connected(const struct vmm_vsd *l)
{
	return l->up;
}

uint32_t vmm_vsd_nic_relid(const struct vmm_vsd *l, unsigned nic)
{
	return nic < l->cfg.nr_nics ? l->nics[nic].relid : 0;
}

void vmm_vsd_sief_moved(struct vmm_vsd *l, uint32_t vp, uint64_t gpa)
{
	struct vmbus_user_sief s = {.vp = vp, .gpa = gpa};

	if (l->up)
		vsd_send(l, VMBUS_USER_SIEF, 0, &s, sizeof(s), NULL, 0);
}

void vmm_vsd_status_changed(struct vmm_vsd *l)
{
	if (l->up)
		send_status(l);
}

void vmm_vsd_get_stats(const struct vmm_vsd *l, struct vmm_vsd_stats *st)
{
	*st = l->st;
}

void vmm_vsd_free(struct vmm_vsd *l)
{
	if (!l)
		return;
	if (l->sock >= 0)
		close(l->sock);
	for (unsigned i = 0; i < VMBUS_USER_MAX_NICS; i++)
		while (l->nics[i].gpadls) {
			struct vsd_gpadl *g = l->nics[i].gpadls;

			l->nics[i].gpadls = g->next;
			free(g);
		}
	free(l->rx);
	free(l->rx_wait);
	free(l->tx);
	free(l);
}
