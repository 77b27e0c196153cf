/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A tiny stand-in for vswitchd in the e2e test vmm_hyperv: it listens on a
 * vmbus-user socket, accepts the VM's HELLO, maps the guest memory it gets
 * with MEM, and for each CHANNEL_OPEN attaches the channel's rings in that
 * memory and waits on the doorbell eventfd. A fake NetVSP: it answers the
 * guest's NVSP INIT packets with a refusal (status FAIL) through the
 * host->guest ring, the SIEF bit and the SINT irqfd, so hv_netvsc's probe
 * ends cleanly instead of waiting forever. Every message and event is one
 * line in the log file (see vmm_hyperv_inner.sh for what is checked).
 *
 *   fake_vswitchd SOCKET LOG
 */
#include <errno.h>
#include <execinfo.h>
#include <stdbool.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ring.h"
#include "vmbus_user.h"

#define MAX_CH			    8
#define NVSP_MSG_TYPE_INIT	    1
#define NVSP_MSG_TYPE_INIT_COMPLETE 2
#define NVSP_STAT_FAIL		    2
#define SINT_VMBUS		    2

struct region {
	uint64_t gpa, size;
	uint8_t *host;
};

struct chan {
	uint32_t relid, vp;
	uint64_t sief;
	int bell, irq;
	struct vmbus_ring *in, *out;
};

static FILE *logf_;
static struct region regions[VMBUS_USER_MAX_REGIONS];
static unsigned nregions;
static struct chan chans[MAX_CH];
static uint64_t sief_of_vp[64];

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(logf_, fmt, ap);
	va_end(ap);
	fputc('\n', logf_);
	fflush(logf_);
}

static uint8_t *gpa_ptr(uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < nregions; i++)
		if (gpa >= regions[i].gpa && gpa - regions[i].gpa <= regions[i].size &&
		    len <= regions[i].size - (gpa - regions[i].gpa))
			return regions[i].host + (gpa - regions[i].gpa);
	return NULL;
}

static void on_hello(int c, const struct vmbus_user_msg *m)
{
	const struct vmbus_user_hello *h = m->body;
	uint8_t b[sizeof(struct vmbus_user_hello_reply) +
		  VMBUS_USER_MAX_NICS * sizeof(struct vmbus_user_nic_reply)];
	struct vmbus_user_hello_reply r = {.version = VMBUS_USER_VERSION, .nr_nics = h->nr_nics};

	say("HELLO vm=%s pid=%llu vcpus=%u memory_mib=%u nics=%u switch=%s", h->vm_name,
	    (unsigned long long)h->pid, h->nr_vcpus, h->memory_mib, h->nr_nics,
	    h->nics[0].switch_name);
	snprintf(r.message, sizeof(r.message), "fake vswitchd");
	memcpy(b, &r, sizeof(r));
	for (uint32_t i = 0; i < h->nr_nics; i++) {
		struct vmbus_user_nic_reply n = {.mac = {0, 0x15, 0x5d, 0, 0, (uint8_t)i}};

		snprintf(n.port_name, sizeof(n.port_name), "fake-nic%u", i);
		memcpy(b + sizeof(r) + i * sizeof(n), &n, sizeof(n));
	}
	vmbus_user_send(c, VMBUS_USER_HELLO_REPLY, 0, m->hdr.seq, b,
			sizeof(r) + h->nr_nics * sizeof(struct vmbus_user_nic_reply), NULL, 0);
}

static void on_mem(const struct vmbus_user_msg *m)
{
	const struct vmbus_user_mem *mm = m->body;
	void *p;

	if (nregions == VMBUS_USER_MAX_REGIONS)
		return;
	p = mmap(NULL, mm->size, PROT_READ | PROT_WRITE, MAP_SHARED, m->fds[0], (off_t)mm->offset);
	say("MEM gpa=%#llx size=%#llx offset=%#llx mapped=%s", (unsigned long long)mm->gpa,
	    (unsigned long long)mm->size, (unsigned long long)mm->offset,
	    p == MAP_FAILED ? strerror(errno) : "yes");
	if (p != MAP_FAILED)
		regions[nregions++] = (struct region){mm->gpa, mm->size, p};
}

static void on_open(const struct vmbus_user_msg *m)
{
	const struct vmbus_user_channel_open *o = m->body;
	struct chan *ch = NULL;
	uint8_t *base;
	uint32_t i;

	for (i = 0; i < MAX_CH && !ch; i++)
		if (!chans[i].relid)
			ch = &chans[i];
	for (i = 1; i < o->npfns; i++)
		if (o->pfns[i] != o->pfns[0] + i)
			break;
	base = gpa_ptr(o->pfns[0] * 4096, (uint64_t)o->npfns * 4096);
	say("CHANNEL_OPEN relid=%u conn_id=%#x vp=%u ring_gpadl=%#x npfns=%u out_offset=%u "
	    "sief=%#llx fds=%u contiguous=%s in_memory=%s",
	    o->relid, o->conn_id, o->target_vp, o->ring_gpadl, o->npfns, o->out_offset,
	    (unsigned long long)o->sief_gpa, m->nfds, i == o->npfns ? "yes" : "no",
	    base ? "yes" : "no");
	if (!ch || !base || i != o->npfns) {
		close(m->fds[0]);
		close(m->fds[1]);
		return;
	}
	*ch = (struct chan){.relid = o->relid,
			    .vp = o->target_vp,
			    .sief = o->sief_gpa,
			    .bell = m->fds[0],
			    .irq = m->fds[1]};
	if (o->target_vp < 64 && o->sief_gpa)
		sief_of_vp[o->target_vp] = o->sief_gpa;
	ch->in = vmbus_ring_attach(base, (size_t)o->out_offset * 4096, 0);
	ch->out = vmbus_ring_attach(base + (size_t)o->out_offset * 4096,
				    (size_t)(o->npfns - o->out_offset) * 4096, 0);
	say("RINGS relid=%u attached=%s", o->relid, ch->in && ch->out ? "yes" : "no");
}

static void chan_free(struct chan *ch)
{
	vmbus_ring_free(ch->in);
	vmbus_ring_free(ch->out);
	close(ch->bell);
	close(ch->irq);
	memset(ch, 0, sizeof(*ch));
}

static void on_close(int c, const struct vmbus_user_msg *m)
{
	const struct vmbus_user_channel_event *e = m->body;

	say("CHANNEL_CLOSE relid=%u", e->relid);
	for (unsigned i = 0; i < MAX_CH; i++)
		if (chans[i].relid == e->relid)
			chan_free(&chans[i]);
	vmbus_user_send(c, VMBUS_USER_CHANNEL_CLOSED, m->hdr.nic, m->hdr.seq, e, sizeof(*e), NULL,
			0);
}

/* Host -> guest interrupt: SIEF bit relid of SINT 2, then the irqfd. */
static void interrupt(struct chan *ch)
{
	uint64_t sief = ch->vp < 64 && sief_of_vp[ch->vp] ? sief_of_vp[ch->vp] : ch->sief;
	uint32_t *flags = sief ? (uint32_t *)gpa_ptr(sief + SINT_VMBUS * 256, 256) : NULL;
	uint64_t one = 1;

	if (flags)
		__atomic_fetch_or(&flags[ch->relid / 32], 1u << (ch->relid % 32), __ATOMIC_SEQ_CST);
	if (write(ch->irq, &one, 8) != 8)
		say("IRQ relid=%u write failed: %s", ch->relid, strerror(errno));
}

/* The guest signalled: reads its packets, refuses NVSP INIT. */
static void on_doorbell(struct chan *ch)
{
	uint8_t buf[4096];
	struct vmbus_pkt pkt;
	uint64_t n = 0;
	bool sig;

	if (read(ch->bell, &n, 8) != 8)
		return;
	say("DOORBELL relid=%u count=%llu", ch->relid, (unsigned long long)n);
	while (ch->in && vmbus_ring_read(ch->in, &pkt, buf, sizeof(buf), &sig) >= 0) {
		uint32_t t = 0, v[2] = {0, 0};

		if (pkt.data_len >= 12) { /* the payload is in buf */
			memcpy(&t, buf, 4);
			memcpy(v, buf + 4, 8);
		}
		say("PKT relid=%u type=%u len=%u nvsp=%u", ch->relid, pkt.type, pkt.data_len, t);
		if (t == NVSP_MSG_TYPE_INIT) {
			uint32_t reply[12] = {NVSP_MSG_TYPE_INIT_COMPLETE, 0, 0, NVSP_STAT_FAIL};

			vmbus_ring_write_inband(ch->out, VMBUS_PKT_COMP, 0, pkt.trans_id, reply,
						sizeof(reply), &sig);
			say("NVSP INIT version %#x..%#x: refused (fake NetVSP)", v[0], v[1]);
			interrupt(ch);
		}
	}
}

static void on_msg(int c, const struct vmbus_user_msg *m)
{
	const struct vmbus_user_gpadl *g = m->body;

	switch (m->hdr.type) {
	case VMBUS_USER_HELLO:
		on_hello(c, m);
		return;
	case VMBUS_USER_MEM:
		on_mem(m);
		break;
	case VMBUS_USER_CHANNEL_OPEN:
		on_open(m);
		return; /* keeps the fds */
	case VMBUS_USER_CHANNEL_CLOSE:
		on_close(c, m);
		break;
	case VMBUS_USER_GPADL:
		say("GPADL nic=%u gpadl=%#x npfns=%u", m->hdr.nic, g->gpadl, g->npfns);
		break;
	case VMBUS_USER_GPADL_DEL:
		say("GPADL_DEL nic=%u gpadl=%#x", m->hdr.nic, g->gpadl);
		break;
	case VMBUS_USER_SIEF: {
		const struct vmbus_user_sief *s = m->body;

		if (s->vp < 64)
			sief_of_vp[s->vp] = s->gpa;
		say("SIEF vp=%u gpa=%#llx", s->vp, (unsigned long long)s->gpa);
		break;
	}
	default:
		say("%s", vmbus_user_type_name(m->hdr.type));
		break;
	}
	for (unsigned i = 0; i < m->nfds; i++)
		close(m->fds[i]);
}

/* Serves one connection until it ends. */
static void serve(int c, uint64_t *buf)
{
	for (;;) {
		struct pollfd p[1 + MAX_CH] = {{.fd = c, .events = POLLIN}};
		struct vmbus_user_msg m;
		int rc;

		for (unsigned i = 0; i < MAX_CH; i++)
			p[1 + i] = (struct pollfd){.fd = chans[i].relid ? chans[i].bell : -1,
						   .events = POLLIN};
		if (poll(p, 1 + MAX_CH, -1) < 0)
			continue;
		for (unsigned i = 0; i < MAX_CH; i++)
			if (p[1 + i].revents & POLLIN)
				on_doorbell(&chans[i]);
		if (!(p[0].revents & (POLLIN | POLLHUP)))
			continue;
		rc = vmbus_user_recv(c, buf, VMBUS_USER_MAX_MSG, &m);
		if (rc) {
			say("END %s", rc == -ECONNRESET ? "peer closed" : strerror(-rc));
			return;
		}
		on_msg(c, &m);
	}
}

/* A crash leaves its backtrace in the log (the e2e run shows the log). */
static void on_crash(int sig)
{
	void *frames[32];
	int n = backtrace(frames, 32);

	fprintf(logf_, "CRASH signal %d\n", sig);
	fflush(logf_);
	backtrace_symbols_fd(frames, n, fileno(logf_));
	_exit(128 + sig);
}

int main(int argc, char **argv)
{
	uint64_t *buf = aligned_alloc(8, VMBUS_USER_MAX_MSG);
	int l, c;

	if (argc != 3 || !buf) {
		fprintf(stderr, "usage: fake_vswitchd SOCKET LOG\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGSEGV, on_crash);
	signal(SIGBUS, on_crash);
	logf_ = fopen(argv[2], "a");
	l = logf_ ? vmbus_user_listen(argv[1]) : -EINVAL;
	if (l < 0) {
		fprintf(stderr, "fake_vswitchd: %s: %s\n", argv[1], strerror(-l));
		return 1;
	}
	say("LISTENING %s", argv[1]);
	while ((c = accept(l, NULL, NULL)) >= 0) {
		say("ACCEPT");
		serve(c, buf);
		close(c);
		for (unsigned i = 0; i < MAX_CH; i++)
			if (chans[i].relid)
				chan_free(&chans[i]);
	}
	return 1;
}
