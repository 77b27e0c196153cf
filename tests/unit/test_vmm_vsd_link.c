/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the vswitchd link and synthetic NIC VSP (vmm/vsd_link.h):
 * the vmbus/ guest simulator drives a VMBus host carrying the link's NIC
 * devices, and a fake vswitchd (a thread on a listening vmbus-user socket)
 * records what arrives and answers HELLO and CHANNEL_CLOSE. Checked: HELLO
 * and MEM contents and the memfd, GPADL before the guest sees
 * GPADL_CREATED, CHANNEL_OPEN ring pages, SIEF and both eventfds working,
 * CHANNEL_CLOSE/CLOSED, GPADL_DEL, a close that vswitchd never confirms,
 * CHANNEL_FAILED stopping the channel, REQUEST round trips, NIC_STATE kept
 * and the replay after vswitchd restarts, and a refused HELLO.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "guest_sim.h"
#include "host.h"
#include "vmbus_user.h"
#include "vsd_link.h"

#define MAX_RECS 512

/* ---- fake vswitchd ---- */

struct rec {
	uint32_t type, nic, seq;
	size_t len;
	uint8_t *body;
	int fds[VMBUS_USER_MAX_FDS];
	unsigned nfds;
};

struct fake {
	int lsock, conn;
	pthread_t th;
	pthread_mutex_t mu;
	struct rec recs[MAX_RECS];
	unsigned n;
	unsigned accepts;
	bool refuse, silent_close, request_on_close, quit;
	uint64_t *buf;
};

static void fake_reply(struct fake *f, const struct vmbus_user_msg *m)
{
	if (m->hdr.type == VMBUS_USER_HELLO) {
		uint8_t b[sizeof(struct vmbus_user_hello_reply) +
			  sizeof(struct vmbus_user_nic_reply)];
		struct vmbus_user_hello_reply r = {.version = VMBUS_USER_VERSION, .nr_nics = 1};
		struct vmbus_user_nic_reply nr = {.mac = {0, 0x15, 0x5d, 1, 2, 3}};

		r.status = f->refuse ? -EPERM : 0;
		snprintf(r.message, sizeof(r.message), "%s",
			 f->refuse ? "no such switch 'sw0'" : "welcome");
		strcpy(nr.port_name, "vm1-nic0");
		memcpy(b, &r, sizeof(r));
		memcpy(b + sizeof(r), &nr, sizeof(nr));
		vmbus_user_send(f->conn, VMBUS_USER_HELLO_REPLY, 0, m->hdr.seq, b, sizeof(b), NULL,
				0);
	} else if (m->hdr.type == VMBUS_USER_CHANNEL_CLOSE && !f->silent_close) {
		struct vmbus_user_channel_event ev;
		struct vmbus_user_request rq = {.op = VMBUS_USER_REQ_SHUTDOWN};

		if (f->request_on_close) /* arrives while the VM side waits for CLOSED */
			vmbus_user_send(f->conn, VMBUS_USER_REQUEST, 0, 500, &rq, sizeof(rq), NULL,
					0);
		memcpy(&ev, m->body, sizeof(ev));
		vmbus_user_send(f->conn, VMBUS_USER_CHANNEL_CLOSED, m->hdr.nic, m->hdr.seq, &ev,
				sizeof(ev), NULL, 0);
	}
}

static void fake_record(struct fake *f, const struct vmbus_user_msg *m)
{
	struct rec *r;

	pthread_mutex_lock(&f->mu);
	assert_true(f->n < MAX_RECS);
	r = &f->recs[f->n];
	r->type = m->hdr.type;
	r->nic = m->hdr.nic;
	r->seq = m->hdr.seq;
	r->len = m->body_len;
	r->body = malloc(m->body_len + 1);
	memcpy(r->body, m->body, m->body_len);
	memcpy(r->fds, m->fds, sizeof(r->fds));
	r->nfds = m->nfds;
	f->n++;
	pthread_mutex_unlock(&f->mu);
}

/* Serves one connection until it ends; false when told to quit. */
static bool fake_serve(struct fake *f)
{
	struct vmbus_user_msg m;

	for (;;) {
		struct pollfd p = {.fd = f->conn, .events = POLLIN};
		int rc;

		if (f->quit)
			return false;
		if (poll(&p, 1, 20) <= 0)
			continue;
		rc = vmbus_user_recv(f->conn, f->buf, VMBUS_USER_MAX_MSG, &m);
		if (rc == -EAGAIN)
			continue;
		if (rc)
			return true;
		fake_record(f, &m);
		fake_reply(f, &m);
	}
}

static void *fake_thread(void *arg)
{
	struct fake *f = arg;

	while (!f->quit) {
		struct pollfd p = {.fd = f->lsock, .events = POLLIN};
		int c;

		if (poll(&p, 1, 20) <= 0)
			continue;
		c = accept4(f->lsock, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		pthread_mutex_lock(&f->mu);
		f->conn = c;
		f->accepts++;
		pthread_mutex_unlock(&f->mu);
		if (!fake_serve(f))
			break;
		pthread_mutex_lock(&f->mu);
		close(f->conn);
		f->conn = -1;
		pthread_mutex_unlock(&f->mu);
	}
	return NULL;
}

/* Sends a message to the VM side as vswitchd. */
static void fake_send(struct fake *f, uint32_t type, uint32_t nic, uint32_t seq, const void *b,
		      size_t len)
{
	pthread_mutex_lock(&f->mu);
	assert_int_equal(vmbus_user_send(f->conn, type, nic, seq, b, len, NULL, 0), 0);
	pthread_mutex_unlock(&f->mu);
}

/* vswitchd dies: its end of the connection goes away. */
static void fake_drop(struct fake *f)
{
	pthread_mutex_lock(&f->mu);
	shutdown(f->conn, SHUT_RDWR);
	pthread_mutex_unlock(&f->mu);
}

static unsigned fake_count(struct fake *f, uint32_t type)
{
	unsigned c = 0;

	pthread_mutex_lock(&f->mu);
	for (unsigned i = 0; i < f->n; i++)
		c += f->recs[i].type == type;
	pthread_mutex_unlock(&f->mu);
	return c;
}

/* Index of the nth (0-based) record of type at or after index from, or -1. */
static int fake_find(struct fake *f, uint32_t type, unsigned from, unsigned nth)
{
	int found = -1;

	pthread_mutex_lock(&f->mu);
	for (unsigned i = from; i < f->n && found < 0; i++)
		if (f->recs[i].type == type && nth-- == 0)
			found = (int)i;
	pthread_mutex_unlock(&f->mu);
	return found;
}

/* ---- the VM side's ops (fakes of hv.c) ---- */

struct env {
	struct fake f;
	char path[64];
	struct vmbus_gsim *g;
	struct vmbus_host *h;
	struct vmm_vsd *l;
	int memfd;
	int bells[256];
	int irq[2];
	unsigned shutdowns;
	int shutdown_rc;
	bool poweroff;
};

static int op_doorbell(void *ctx, uint32_t relid, uint32_t conn_id)
{
	struct env *e = ctx;

	assert_int_equal(conn_id, 0x1000 + relid);
	if (relid >= 256)
		return -ERANGE;
	if (e->bells[relid] < 0)
		e->bells[relid] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return e->bells[relid];
}

static int op_irqfd(void *ctx, uint32_t vp)
{
	struct env *e = ctx;

	return vp < 2 ? e->irq[vp] : -EINVAL;
}

static uint64_t op_sief(void *ctx, uint32_t vp)
{
	(void)ctx;
	return 0x7000 + vp * 0x1000;
}

static int op_shutdown(void *ctx)
{
	struct env *e = ctx;

	e->shutdowns++;
	return e->shutdown_rc;
}

static void op_poweroff(void *ctx)
{
	((struct env *)ctx)->poweroff = true;
}

static void op_status(void *ctx, struct vmbus_user_status *st)
{
	(void)ctx;
	st->state = VMBUS_USER_VM_RUNNING;
	st->heartbeat = VMBUS_USER_HB_OK;
	st->uptime_ms = 42;
}

static void op_log(void *ctx, int level, const char *line)
{
	(void)ctx;
	if (getenv("VMBUS_GSIM_LOG"))
		fprintf(stderr, "[%d] %s\n", level, line);
}

static const struct vmm_vsd_ops ops = {
	.doorbell = op_doorbell,
	.irqfd = op_irqfd,
	.sief_gpa = op_sief,
	.shutdown = op_shutdown,
	.poweroff = op_poweroff,
	.status = op_status,
	.log = op_log,
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

typedef bool pred_fn(struct env *e, unsigned arg);

/* Runs the VM side (link service + guest) until pred holds or 3 s passed. */
static bool pump(struct env *e, pred_fn *pred, unsigned arg)
{
	uint64_t end = mono_ms() + 3000;

	while (mono_ms() < end) {
		vmm_vsd_service(e->l, mono_ms());
		vmbus_gsim_poll(e->g);
		if (pred(e, arg))
			return true;
		usleep(1000);
	}
	return false;
}

static bool have_n(struct env *e, unsigned packed)
{
	return fake_count(&e->f, packed & 0xff) >= packed >> 8;
}

#define HAVE(type, n) ((n) << 8 | (type))

static const struct vmm_vsd_nic nic0 = {.switch_name = "sw0",
					.port_name = "web",
					.mac = {0, 0x15, 0x5d, 9, 8, 7},
					.vlan = 10,
					.mtu = 1500};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct vmbus_gsim_config gc = {.mem_size = 8u << 20};
	struct vmbus_host_config hc = {.nr_vcpus = 2};
	static const struct vmm_vsd_region regions[2] = {
		{.gpa = 0, .size = 1u << 20, .offset = 0},
		{.gpa = 4ull << 30, .size = 1u << 20, .offset = 1u << 20},
	};
	struct vmm_vsd_config c = {.vm_name = "vm1",
				   .pid = 4242,
				   .nr_vcpus = 2,
				   .memory_mib = 8,
				   .nics = &nic0,
				   .nr_nics = 1,
				   .regions = regions,
				   .nr_regions = 2,
				   .close_timeout_ms = 300,
				   .retry_ms = 50,
				   .status_ms = 100000};

	assert_non_null(e);
	for (int i = 0; i < 256; i++)
		e->bells[i] = -1;
	e->irq[0] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	e->irq[1] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	e->memfd = memfd_create("guest", MFD_CLOEXEC);
	assert_true(e->memfd >= 0);
	snprintf(e->path, sizeof(e->path), "/tmp/vsd-test-%d.sock", getpid());
	e->f.lsock = vmbus_user_listen(e->path);
	assert_true(e->f.lsock >= 0);
	e->f.conn = -1;
	e->f.buf = aligned_alloc(8, VMBUS_USER_MAX_MSG);
	pthread_mutex_init(&e->f.mu, NULL);
	assert_int_equal(pthread_create(&e->f.th, NULL, fake_thread, &e->f), 0);
	c.path = e->path;
	c.mem_fd = e->memfd;
	e->l = vmm_vsd_new(&c, &ops, e);
	assert_non_null(e->l);
	e->g = vmbus_gsim_create(&gc);
	e->h = vmbus_host_create(vmbus_gsim_host_ops(), e->g, &hc);
	assert_non_null(e->h);
	vmbus_gsim_attach(e->g, e->h);
	assert_int_equal(vmm_vsd_add_nics(e->l, e->h), 0);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	vmbus_host_destroy(e->h); /* closes the NIC channel through the link */
	vmbus_gsim_destroy(e->g);
	vmm_vsd_free(e->l);
	e->f.quit = true;
	pthread_join(e->f.th, NULL);
	close(e->f.lsock);
	if (e->f.conn >= 0)
		close(e->f.conn);
	unlink(e->path);
	for (unsigned i = 0; i < e->f.n; i++) {
		for (unsigned k = 0; k < e->f.recs[i].nfds; k++)
			close(e->f.recs[i].fds[k]);
		free(e->f.recs[i].body);
	}
	for (int i = 0; i < 256; i++)
		if (e->bells[i] >= 0)
			close(e->bells[i]);
	close(e->irq[0]);
	close(e->irq[1]);
	close(e->memfd);
	free(e->f.buf);
	free(e);
	return 0;
}

static struct rec *rec_at(struct env *e, int i)
{
	assert_true(i >= 0);
	return &e->f.recs[i];
}

static void check_hello_mem(struct env *e, unsigned from)
{
	struct vmbus_user_hello h;
	struct vmbus_user_nic n;
	struct vmbus_user_mem m;
	struct stat a, b;
	struct rec *r = rec_at(e, fake_find(&e->f, VMBUS_USER_HELLO, from, 0));

	memcpy(&h, r->body, sizeof(h));
	memcpy(&n, r->body + sizeof(h), sizeof(n));
	assert_int_equal(h.version, VMBUS_USER_VERSION);
	assert_int_equal(h.nr_nics, 1);
	assert_int_equal(h.pid, 4242);
	assert_string_equal(h.vm_name, "vm1");
	assert_int_equal(h.nr_vcpus, 2);
	assert_string_equal(n.switch_name, "sw0");
	assert_string_equal(n.port_name, "web");
	assert_int_equal(n.vlan, 10);
	assert_int_equal(n.mac[5], 7);
	r = rec_at(e, fake_find(&e->f, VMBUS_USER_MEM, from, 1));
	memcpy(&m, r->body, sizeof(m));
	assert_int_equal(m.gpa, 4ull << 30);
	assert_int_equal(m.offset, 1u << 20);
	assert_int_equal(r->nfds, 1);
	fstat(r->fds[0], &a);
	fstat(e->memfd, &b);
	assert_int_equal(a.st_ino, b.st_ino); /* the guest memfd itself */
}

/* Guest connects, finds the NIC and creates a 16-page buffer GPADL. */
static uint32_t guest_up(struct env *e, uint32_t *buf_gpadl)
{
	uint32_t v, relid;

	assert_int_equal(vmbus_gsim_connect_linux(e->g, &v), 0);
	assert_int_equal(vmbus_gsim_request_offers(e->g), 1);
	assert_int_equal(vmbus_gsim_find_offer(e->g, VMM_VSD_NIC_CLASS, &relid), 0);
	assert_int_equal(relid, vmm_vsd_nic_relid(e->l, 0));
	assert_int_equal(vmbus_gsim_gpadl_create(e->g, relid, 16, buf_gpadl), 0);
	return relid;
}

static void check_open(struct env *e, int i, uint32_t relid, uint32_t ring_gpadl)
{
	struct vmbus_user_channel_open o;
	struct rec *r = rec_at(e, i);
	uint64_t pfn0, v = 0, one = 1;

	memcpy(&o, r->body, sizeof(o));
	memcpy(&pfn0, r->body + sizeof(o), 8);
	assert_int_equal(o.relid, relid);
	assert_int_equal(o.conn_id, vmbus_gsim_offer_conn_id(e->g, relid));
	assert_int_equal(o.target_vp, 1);
	assert_int_equal(o.npfns, 8);
	assert_int_equal(o.out_offset, 4);
	assert_int_equal(o.ring_gpadl, ring_gpadl);
	assert_int_equal(o.sief_gpa, 0x8000);
	assert_int_equal(pfn0 * 4096, vmbus_gsim_ring_gpa(e->g, relid));
	assert_int_equal(r->nfds, 2);
	/* [1] is vCPU 1's irqfd: what vswitchd writes, the VMM's route gets */
	assert_int_equal(write(r->fds[1], &one, 8), 8);
	assert_int_equal(read(e->irq[1], &v, 8), 8);
	assert_int_equal(v, 1);
}

static void test_nic_lifecycle(void **state)
{
	struct env *e = *state;
	struct vmbus_user_request rq = {.op = VMBUS_USER_REQ_SHUTDOWN};
	struct vmbus_user_gpadl g;
	struct vmm_vsd_stats st;
	uint32_t relid, buf_gpadl, ring_gpadl;
	char err[256];
	uint64_t v = 0;
	int i;

	assert_int_equal(vmm_vsd_connect(e->l, 2000, err, sizeof(err)), 0);
	assert_true(vmm_vsd_connected(e->l));
	assert_true(pump(e, have_n, HAVE(VMBUS_USER_MEM, 2)));
	check_hello_mem(e, 0);

	/* a buffer GPADL reaches vswitchd before GPADL_CREATED reaches the guest:
	 * the send is synchronous in the host's GPADL completion */
	relid = guest_up(e, &buf_gpadl);
	assert_true(pump(e, have_n, HAVE(VMBUS_USER_GPADL, 1)));
	memcpy(&g, rec_at(e, fake_find(&e->f, VMBUS_USER_GPADL, 0, 0))->body, sizeof(g));
	assert_int_equal(g.gpadl, buf_gpadl);
	assert_int_equal(g.npfns, 16);
	assert_int_equal(rec_at(e, fake_find(&e->f, VMBUS_USER_GPADL, 0, 0))->nic, 0);

	/* open: the ring GPADL, then CHANNEL_OPEN with both fds */
	ring_gpadl = vmbus_gsim_next_gpadl(e->g);
	assert_int_equal(vmbus_gsim_open(e->g, relid, 4, 4, 1), 0);
	assert_true(pump(e, have_n, HAVE(VMBUS_USER_CHANNEL_OPEN, 1)));
	assert_true(fake_find(&e->f, VMBUS_USER_GPADL, 0, 1) <
		    fake_find(&e->f, VMBUS_USER_CHANNEL_OPEN, 0, 0));
	i = fake_find(&e->f, VMBUS_USER_CHANNEL_OPEN, 0, 0);
	check_open(e, i, relid, ring_gpadl);
	/* a guest signal that reached the VMM is passed to the doorbell vswitchd holds */
	vmbus_host_signal_event(e->h, 0x1000 + relid);
	assert_int_equal(read(rec_at(e, i)->fds[0], &v, 8), 8);
	assert_true(v >= 1);

	/* a MODIFYCHANNEL cannot move the interrupt vswitchd raises: refused */
	{
		struct vmbus_wire_modifychannel mc = {.hdr.msgtype = VMBUS_MSG_MODIFYCHANNEL,
						      .child_relid = relid,
						      .target_vp = 0};

		assert_int_equal(vmbus_gsim_post(e->g, 1, &mc, sizeof(mc)), -EOPNOTSUPP);
		assert_int_equal(vmbus_channel_target_vp(vmbus_host_channel(e->h, relid)), 1);
	}

	/* SIEF moves, NIC_STATE is kept, a shutdown request round-trips */
	vmm_vsd_sief_moved(e->l, 1, 0x9000);
	fake_send(&e->f, VMBUS_USER_NIC_STATE, 0, 1, "\3\0\0\0\0\0\0\0abc", 11);
	fake_send(&e->f, VMBUS_USER_REQUEST, 0, 77, &rq, sizeof(rq));
	assert_true(pump(e, have_n, HAVE(VMBUS_USER_REQUEST_REPLY, 1)));
	assert_int_equal(e->shutdowns, 1);
	i = fake_find(&e->f, VMBUS_USER_REQUEST_REPLY, 0, 0);
	assert_int_equal(rec_at(e, i)->seq, 77);
	memcpy(&rq, rec_at(e, i)->body, sizeof(rq));
	assert_int_equal(rq.status, 0);
	assert_int_equal(fake_count(&e->f, VMBUS_USER_SIEF), 1);
	{
		struct vmbus_user_sief sf;
		struct vmbus_user_status stt;

		memcpy(&sf, rec_at(e, fake_find(&e->f, VMBUS_USER_SIEF, 0, 0))->body, sizeof(sf));
		assert_int_equal(sf.vp, 1);
		assert_int_equal(sf.gpa, 0x9000);
		vmm_vsd_status_changed(e->l);
		assert_true(pump(e, have_n, HAVE(VMBUS_USER_STATUS, 2)));
		memcpy(&stt, rec_at(e, fake_find(&e->f, VMBUS_USER_STATUS, 0, 1))->body,
		       sizeof(stt));
		assert_int_equal(stt.state, VMBUS_USER_VM_RUNNING);
		assert_int_equal(stt.heartbeat, VMBUS_USER_HB_OK);
		assert_int_equal(stt.uptime_ms, 42);
	}

	/* guest closes: CHANNEL_CLOSE answered by CLOSED, ring GPADL deleted; a
	 * REQUEST that comes during the wait runs after it */
	e->f.request_on_close = true;
	assert_int_equal(vmbus_gsim_close(e->g, relid), 0);
	assert_int_equal(fake_count(&e->f, VMBUS_USER_CHANNEL_CLOSE), 1);
	assert_int_equal(e->shutdowns, 1);
	assert_true(pump(e, have_n, HAVE(VMBUS_USER_REQUEST_REPLY, 2)));
	assert_int_equal(e->shutdowns, 2);
	assert_int_equal(rec_at(e, fake_find(&e->f, VMBUS_USER_REQUEST_REPLY, 0, 1))->seq, 500);
	assert_true(pump(e, have_n, HAVE(VMBUS_USER_GPADL_DEL, 1)));
	memcpy(&g, rec_at(e, fake_find(&e->f, VMBUS_USER_GPADL_DEL, 0, 0))->body, 8);
	assert_int_equal(g.gpadl, ring_gpadl);
	vmm_vsd_get_stats(e->l, &st);
	assert_int_equal(st.close_timeouts, 0);
	assert_int_equal(st.bad_rx, 0);
}

static void test_reconnect_replay(void **state)
{
	struct env *e = *state;
	struct vmbus_user_nic_state ns;
	uint32_t relid, buf_gpadl, ring_gpadl;
	struct vmm_vsd_stats st;
	char err[256];
	unsigned base;
	int i;

	assert_int_equal(vmm_vsd_connect(e->l, 2000, err, sizeof(err)), 0);
	relid = guest_up(e, &buf_gpadl);
	ring_gpadl = vmbus_gsim_next_gpadl(e->g);
	assert_int_equal(vmbus_gsim_open(e->g, relid, 4, 4, 1), 0);
	fake_send(&e->f, VMBUS_USER_NIC_STATE, 0, 1, "\3\0\0\0\0\0\0\0xyz", 11);
	assert_true(pump(e, have_n, HAVE(VMBUS_USER_CHANNEL_OPEN, 1)));

	/* vswitchd restarts; the guest keeps its open channel */
	base = e->f.n;
	fake_drop(&e->f);
	assert_true(pump(e, have_n, HAVE(VMBUS_USER_HELLO, 2)));
	assert_true(pump(e, have_n, HAVE(VMBUS_USER_CHANNEL_OPEN, 2)));
	assert_true(pump(e, have_n, HAVE(VMBUS_USER_STATUS, 2)));
	assert_int_equal(e->f.accepts, 2);
	assert_non_null(vmbus_host_channel(e->h, relid));
	base = (unsigned)fake_find(&e->f, VMBUS_USER_HELLO, base, 0);
	check_hello_mem(e, base);
	/* protocol order: HELLO, MEM, NIC_STATE, GPADLs, CHANNEL_OPEN */
	assert_true(fake_find(&e->f, VMBUS_USER_MEM, base, 1) <
		    fake_find(&e->f, VMBUS_USER_NIC_STATE, base, 0));
	i = fake_find(&e->f, VMBUS_USER_NIC_STATE, base, 0);
	memcpy(&ns, rec_at(e, i)->body, sizeof(ns));
	assert_int_equal(ns.len, 3);
	assert_memory_equal(rec_at(e, i)->body + sizeof(ns), "xyz", 3);
	assert_true(i < fake_find(&e->f, VMBUS_USER_GPADL, base, 1));
	assert_true(fake_find(&e->f, VMBUS_USER_GPADL, base, 1) <
		    fake_find(&e->f, VMBUS_USER_CHANNEL_OPEN, base, 0));
	check_open(e, fake_find(&e->f, VMBUS_USER_CHANNEL_OPEN, base, 0), relid, ring_gpadl);
	vmm_vsd_get_stats(e->l, &st);
	assert_int_equal(st.connects, 2);
	assert_int_equal(st.disconnects, 1);
}

static void test_failed_timeout_poweroff(void **state)
{
	struct env *e = *state;
	struct vmbus_user_channel_event ev = {.reason = -EPROTO, .message = "bad RNDIS offset"};
	struct vmbus_user_request rq = {.op = VMBUS_USER_REQ_POWEROFF};
	uint32_t relid, buf_gpadl;
	struct vmm_vsd_stats st;
	char err[256];
	uint64_t t0;

	assert_int_equal(vmm_vsd_connect(e->l, 2000, err, sizeof(err)), 0);
	relid = guest_up(e, &buf_gpadl);
	assert_int_equal(vmbus_gsim_open(e->g, relid, 4, 4, 1), 0);
	assert_non_null(vmbus_host_channel(e->h, relid));

	/* vswitchd fails the channel: the host stops it (CLOSE/CLOSED on the way);
	 * relid 0 names the NIC's open channel, a wrong relid is ignored */
	ev.relid = relid + 1;
	fake_send(&e->f, VMBUS_USER_CHANNEL_FAILED, 0, 4, &ev, sizeof(ev));
	ev.relid = 0;
	fake_send(&e->f, VMBUS_USER_CHANNEL_FAILED, 0, 5, &ev, sizeof(ev));
	assert_true(pump(e, have_n, HAVE(VMBUS_USER_CHANNEL_CLOSE, 1)));
	assert_null(vmbus_host_channel(e->h, relid));
	assert_int_equal(vmbus_host_counter(e->h, VMBUS_HC_CHANNEL_FAILED), 1);
	vmm_vsd_get_stats(e->l, &st);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.bad_rx, 1); /* the wrong relid */
	assert_int_equal(vmbus_gsim_close(e->g, relid), 0);

	/* reopen; vswitchd never confirms the close: bounded wait, counted */
	assert_int_equal(vmbus_gsim_open(e->g, relid, 4, 4, 1), 0);
	e->f.silent_close = true;
	t0 = mono_ms();
	assert_int_equal(vmbus_gsim_close(e->g, relid), 0);
	assert_true(mono_ms() - t0 >= 290);
	vmm_vsd_get_stats(e->l, &st);
	assert_int_equal(st.close_timeouts, 1);

	/* power off */
	fake_send(&e->f, VMBUS_USER_REQUEST, 0, 9, &rq, sizeof(rq));
	assert_true(pump(e, have_n, HAVE(VMBUS_USER_REQUEST_REPLY, 1)));
	assert_true(e->poweroff);
	assert_int_equal(e->shutdowns, 0);
}

static void test_refused(void **state)
{
	struct env *e = *state;
	char err[256];

	e->f.refuse = true;
	assert_int_equal(vmm_vsd_connect(e->l, 2000, err, sizeof(err)), -ECONNREFUSED);
	assert_non_null(strstr(err, "no such switch 'sw0'"));
	assert_false(vmm_vsd_connected(e->l));
	assert_int_equal(vmm_vsd_fd(e->l), -1);
}

static void test_bad_config(void **state)
{
	struct vmm_vsd_config c = {.path = "/x", .vm_name = "vm", .nics = &nic0, .nr_nics = 0};

	(void)state;
	errno = 0;
	assert_null(vmm_vsd_new(&c, &ops, NULL));
	assert_int_equal(errno, EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_nic_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconnect_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_timeout_poweroff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test(test_bad_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
