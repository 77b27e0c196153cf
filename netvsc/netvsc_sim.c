/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * netvsc-sim: a simulated VM with synthetic NICs, without KVM. It plays both
 * the VM process (the vmbus-user side of vmm: shares its "guest memory"
 * memfd, hands each NIC's channel to vswitchd, reconnects and replays when
 * vswitchd restarts) and the guest's hv_netvsc driver (nvsc_gsim.h). Tests
 * and benchmarks use it to drive vswitchd's synthetic ports natively.
 *
 *   netvsc-sim --vswitchd SOCK --nic SWITCH[,mac=MAC][,vlan=VID][,port=NAME][,mtu=N]...
 *              [--name NAME] [--send N|--duration S] [--size BYTES] [--dst MAC]
 *              [--rate PPS] [--expect N] [--timeout S] [--gpa-direct] [--vlan-ppi VID]
 *              [--echo] [--json] [--linger] [--start-delay S] [--hold] [--inject KIND]
 *              [--batch N] [--window W] [--busy-poll]
 *
 * Frames go out of NIC 0 to --dst (default broadcast); every NIC counts what
 * it receives. Exit status: 0 when --expect frames arrived (or none were
 * expected) and no NIC failed, 1 otherwise, 2 for bad usage.
 *
 * For tests: --linger keeps the VM (and so its ports) up after the traffic
 * until SIGTERM/SIGINT; SIGUSR1 prints the report (one JSON line with --json)
 * at any time; --hold defers sending until SIGUSR2. --inject makes NIC 0 misbehave once its
 * handshake is done (bad-section, bad-range, bad-rndis-len, ring-corrupt, and more RNDIS
 * messages in one packet than vswitchd advertised: many-msgs in a send section, gpa-many-msgs
 * in a GPA-direct range): vswitchd must fail that channel only.
 *
 * Like Linux's hv_netvsc: each NIC reads its host->guest ring only when vswitchd interrupts it
 * (the channel's interrupt eventfd, after the SIEF bit) and then NAPI-style (interrupt masked,
 * a budget of 64 packets, unmask and look again); its transmit queue stops when the ring runs
 * low and wakes at a send completion; --batch N packs up to N frames per send section under
 * load (xmit_more), with Linux's partial copies. --busy-poll reads the rings on every pass.
 *
 * --window W makes the traffic TCP-like, in both directions: every NIC sends data frames (NIC 0
 * to --dst, the others to NIC 0) with at most W of them unacknowledged; a NIC answers the data
 * it received with cumulative 60-byte ACK frames (EtherType 0x88b6) on every pass; a sender
 * whose window stayed full for 200 ms without an ACK forgets what is outstanding (a lost
 * frame: its retransmission timeout).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "nvsc_gsim.h"
#include "nvsp_wire.h"
#include "ring.h"
#include "rndis_wire.h"
#include "vmbus_user.h"

#define SIM_MAX_NICS	       4
#define PAGE		       4096u
#define SIM_RELID	       20u
#define SIM_MAX_GPADLS	       4
#define SIM_RING_GPADL	       0xe1e10u
#define SIM_RING_PFNS	       1024
#define VMBUS_USER_MSG_LEN_SIM 128
#define SIM_RNDIS_HDR_MAX      64 /* RNDIS packet header + VLAN PPI */

struct sim;

struct sim_nic {
	struct sim *sim;
	unsigned int idx;
	struct vmbus_user_nic req;
	struct nvsc_gsim *g;
	uint64_t gpa; /* start of this NIC's memory */
	uint64_t ring_pfns[SIM_RING_PFNS];
	uint32_t ring_npfns, ring_out_offset;
	struct {
		uint32_t id, n;
		uint64_t *pfns;
	} gpadls[SIM_MAX_GPADLS];
	unsigned int n_gpadls;
	int irq;   /* interrupt eventfd (ours), -1 before the first open */
	bool napi; /* polling after an interrupt, interrupt masked */
	uint8_t state[VMBUS_USER_MAX_STATE];
	uint32_t state_len;
	char port[VMBUS_USER_NAME_LEN];
	uint8_t mac[6];
	bool ready_said, failed;
	int doorbell;		/* our copy of the doorbell eventfd, -1 before the first open */
	char failure[VMBUS_USER_MSG_LEN_SIM];
	uint64_t rx, rx_bytes, rx_test; /* rx_test: frames of the sim's EtherType 0x88b5 */
	/* --window: data sent, acknowledged by the peer, received and not acknowledged yet */
	uint64_t data_tx, acked, ack_due, acks_tx, rto;
	double last_ack;
};

struct sim {
	const char *sock_path, *name;
	int fd, memfd;
	uint8_t *mem;
	uint64_t mem_size, sief_gpa;
	unsigned int n_nics;
	struct sim_nic nics[SIM_MAX_NICS];
	uint32_t seq;
	unsigned int reconnects;
	uint8_t buf[VMBUS_USER_MAX_MSG] __attribute__((aligned(8)));
	/* traffic */
	int64_t send;
	double duration, timeout, rate, start_delay;
	uint32_t size;
	uint8_t dst[6];
	uint64_t expect, tx, tx_busy;
	bool tx_failed; /* the driver refused a frame (too big for the MTU) */
	bool gpa_direct, echo, json, linger, busy_poll;
	uint32_t batch, window;
	int vlan_ppi;
	const char *inject;
	bool injected;
};

static volatile sig_atomic_t stop, report_now, go;

static void on_signal(int sig)
{
	stop = sig;
}

static void on_usr1(int sig)
{
	(void)sig;
	report_now = 1;
}

static void on_usr2(int sig)
{
	(void)sig;
	go = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void __attribute__((format(printf, 1, 2))) die_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "netvsc-sim: error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(2);
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char end;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &end) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

/* A --nic number field: exits with a usage error naming the field unless v is a whole
 * number in lo..hi. */
static long nic_num(const char *key, const char *v, long lo, long hi)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (*v == 0 || *end || errno)
		die_usage("nic: %s=%s is not a number", key, v);
	if (n < lo || n > hi)
		die_usage("nic: %s=%s is out of range (%ld..%ld)", key, v, lo, hi);
	return n;
}

/* SWITCH[,mac=MAC][,vlan=VID][,port=NAME][,mtu=N] */
static void parse_nic(const char *spec, struct vmbus_user_nic *n)
{
	char *copy = strdup(spec), *save = NULL, *tok;
	bool first = true;

	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save), first = false) {
		char *v = strchr(tok, '=');

		if (first && !v) {
			if (strlen(tok) >= sizeof(n->switch_name))
				die_usage("nic: switch name '%s' is too long", tok);
			strcpy(n->switch_name, tok);
			continue;
		}
		if (!v)
			die_usage("nic: '%s' is not KEY=VALUE (mac, vlan, port, mtu)", tok);
		*v++ = 0;
		if (!strcmp(tok, "mac") && parse_mac(v, n->mac) == 0)
			continue;
		if (!strcmp(tok, "vlan")) {
			n->vlan = (uint16_t)nic_num("vlan", v, 1, 4094);
			continue;
		}
		if (!strcmp(tok, "mtu")) {
			n->mtu = (uint32_t)nic_num("mtu", v, 68, 9000);
			continue;
		}
		if (!strcmp(tok, "port") && strlen(v) < sizeof(n->port_name)) {
			strcpy(n->port_name, v);
			continue;
		}
		die_usage("nic: bad option '%s' (mac=MAC, vlan=1..4094, port=NAME, mtu=68..9000)",
			  tok);
	}
	if (!n->switch_name[0])
		die_usage("nic: '%s' names no switch", spec);
	free(copy);
}

/* ---- vmbus-user side ---- */

static int sim_send(struct sim *s, uint32_t type, uint32_t nic, const void *body, size_t len,
		    const int *fds, unsigned int nfds)
{
	if (s->fd < 0)
		return -ENOTCONN;
	return vmbus_user_send(s->fd, type, nic, ++s->seq, body, len, fds, nfds);
}

/* Sends one buffer GPADL of a NIC to vswitchd. */
static int send_gpadl(struct sim *s, struct sim_nic *nic, unsigned int k)
{
	size_t len = sizeof(struct vmbus_user_gpadl) + nic->gpadls[k].n * sizeof(uint64_t);
	struct vmbus_user_gpadl *g = malloc(len);
	int rc;

	if (!g)
		return -ENOMEM;
	g->gpadl = nic->gpadls[k].id;
	g->npfns = nic->gpadls[k].n;
	memcpy(g->pfns, nic->gpadls[k].pfns, nic->gpadls[k].n * sizeof(uint64_t));
	rc = sim_send(s, VMBUS_USER_GPADL, nic->idx, g, len, NULL, 0);
	free(g);
	return rc;
}

/* nvsc_gsim transport: the guest created a GPADL. The ring's goes into CHANNEL_OPEN; the
 * buffers' go to vswitchd at once (and again after a reconnect). */
static int gpadl_cb(void *ctx, uint32_t id, const uint64_t *pfns, uint32_t n)
{
	struct sim_nic *nic = ctx;
	unsigned int k = nic->n_gpadls;

	if (id == SIM_RING_GPADL) {
		if (n > SIM_RING_PFNS)
			return -E2BIG;
		memcpy(nic->ring_pfns, pfns, n * sizeof(*pfns));
		nic->ring_npfns = n;
		return 0;
	}
	if (k >= SIM_MAX_GPADLS)
		return -ENOSPC;
	nic->gpadls[k].pfns = malloc(n * sizeof(*pfns));
	if (!nic->gpadls[k].pfns)
		return -ENOMEM;
	memcpy(nic->gpadls[k].pfns, pfns, n * sizeof(*pfns));
	nic->gpadls[k].id = id;
	nic->gpadls[k].n = n;
	nic->n_gpadls++;
	send_gpadl(nic->sim, nic, k);
	return 0;
}

/* The doorbell (KVM's HvSignalEvent eventfd in a real VM): wakes a sleeping datapath. */
static void signal_cb(void *ctx)
{
	struct sim_nic *nic = ctx;
	uint64_t one = 1;

	if (nic->doorbell >= 0 && write(nic->doorbell, &one, sizeof(one)) < 0)
		return; /* only fails when the counter would overflow: it is signalled anyway */
}

static void rx_cb(void *arg, const void *frame, uint32_t len)
{
	struct sim_nic *nic = arg;
	struct sim *s = nic->sim;

	nic->rx++;
	nic->rx_bytes += len;
	if (len >= 14 && ((const uint8_t *)frame)[12] == 0x88 &&
	    ((const uint8_t *)frame)[13] == 0xb5) {
		nic->rx_test++;
		nic->ack_due++;
	}
	if (s->window && len >= 22 && ((const uint8_t *)frame)[12] == 0x88 &&
	    ((const uint8_t *)frame)[13] == 0xb6) {
		uint64_t n;

		memcpy(&n, (const uint8_t *)frame + 14, sizeof(n));
		nic->acked = nic->acked + n > nic->data_tx ? nic->data_tx : nic->acked + n;
		nic->last_ack = now_s();
	}
	if (s->echo && len >= 14) {
		uint8_t out[9216];

		memcpy(out, (const uint8_t *)frame + 6, 6);
		memcpy(out + 6, nic->mac, 6);
		memcpy(out + 12, (const uint8_t *)frame + 12, len - 12);
		nvsc_gsim_send(nic->g, out, len, NULL);
	}
}

/* CHANNEL_OPEN of NIC i with a fresh doorbell and interrupt eventfd. */
static int open_channel(struct sim *s, struct sim_nic *nic)
{
	size_t len = sizeof(struct vmbus_user_channel_open) + nic->ring_npfns * sizeof(uint64_t);
	struct vmbus_user_channel_open *o = calloc(1, len);
	int fds[2] = {eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK),
		      eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
	int rc = -ENOMEM;

	if (o && fds[0] >= 0 && fds[1] >= 0) {
		o->relid = SIM_RELID + nic->idx;
		o->conn_id = 0x1000 + o->relid;
		o->ring_gpadl = nvsc_gsim_ring_gpadl(nic->g);
		o->out_offset = nic->ring_out_offset;
		o->npfns = nic->ring_npfns;
		o->sief_gpa = s->sief_gpa;
		o->vmbus_version = 0x50003;
		memcpy(o->pfns, nic->ring_pfns, nic->ring_npfns * sizeof(uint64_t));
		rc = sim_send(s, VMBUS_USER_CHANNEL_OPEN, nic->idx, o, len, fds, 2);
	}
	if (rc == 0) {
		if (nic->doorbell >= 0)
			close(nic->doorbell);
		if (nic->irq >= 0)
			close(nic->irq);
		nic->doorbell = fds[0];
		nic->irq = fds[1];
		fds[0] = fds[1] = -1;
		nic->napi = true; /* look once: what came before this channel's interrupt */
	}
	for (int k = 0; k < 2; k++) {
		if (fds[k] >= 0)
			close(fds[k]);
	}
	free(o);
	return rc;
}

/* Connects and says HELLO; on refusal prints vswitchd's reason. 0, -errno. */
static int sim_hello(struct sim *s, bool quiet)
{
	/* HELLO and its NICs (a flexible array member: no struct may hold it) */
	uint8_t hbuf[sizeof(struct vmbus_user_hello) + SIM_MAX_NICS * sizeof(struct vmbus_user_nic)]
		__attribute__((aligned(8))) = {0};
	struct vmbus_user_hello *hello = (struct vmbus_user_hello *)hbuf;
	struct vmbus_user_msg m;
	const struct vmbus_user_hello_reply *r;
	int fd = vmbus_user_connect(s->sock_path), rc;
	struct pollfd pfd;

	if (fd < 0) {
		if (!quiet)
			fprintf(stderr, "netvsc-sim: cannot connect to %s: %s\n", s->sock_path,
				strerror(-fd));
		return fd;
	}
	s->fd = fd;
	hello->version = VMBUS_USER_VERSION;
	hello->nr_nics = s->n_nics;
	hello->pid = (uint64_t)getpid();
	hello->nr_vcpus = 1;
	hello->memory_mib = (uint32_t)(s->mem_size >> 20);
	snprintf(hello->vm_name, sizeof(hello->vm_name), "%s", s->name);
	for (unsigned int i = 0; i < s->n_nics; i++)
		hello->nics[i] = s->nics[i].req;
	rc = sim_send(s, VMBUS_USER_HELLO, 0, hello,
		      sizeof(*hello) + s->n_nics * sizeof(hello->nics[0]), NULL, 0);
	pfd = (struct pollfd){.fd = fd, .events = POLLIN};
	if (rc == 0 && poll(&pfd, 1, 5000) <= 0)
		rc = -ETIMEDOUT;
	if (rc == 0)
		rc = vmbus_user_recv(fd, s->buf, sizeof(s->buf), &m);
	if (rc == 0 && m.hdr.type != VMBUS_USER_HELLO_REPLY)
		rc = -EPROTO;
	if (rc == 0) {
		r = m.body;
		if (r->status < 0) {
			fprintf(stderr, "netvsc-sim: vswitchd refused the VM: %s\n", r->message);
			rc = r->status;
		}
		for (unsigned int i = 0; rc == 0 && i < s->n_nics && i < r->nr_nics; i++) {
			memcpy(s->nics[i].mac, r->nics[i].mac, 6);
			snprintf(s->nics[i].port, sizeof(s->nics[i].port), "%s",
				 r->nics[i].port_name);
		}
	}
	if (rc < 0) {
		close(fd);
		s->fd = -1;
		return rc;
	}
	/* from now on the main loop polls the socket */
	return fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 ? -errno : 0;
}

/* Shares the memory, restores saved NIC state and hands the channels over (at start and
 * after every reconnect). */
static int sim_attach(struct sim *s)
{
	struct vmbus_user_mem mem = {.gpa = 0, .size = s->mem_size};
	int rc = sim_send(s, VMBUS_USER_MEM, 0, &mem, sizeof(mem), &s->memfd, 1);

	for (unsigned int i = 0; rc == 0 && i < s->n_nics; i++) {
		struct sim_nic *nic = &s->nics[i];

		if (nic->state_len) {
			uint8_t buf[sizeof(struct vmbus_user_nic_state) + VMBUS_USER_MAX_STATE]
				__attribute__((aligned(8))) = {0};
			struct vmbus_user_nic_state *st = (struct vmbus_user_nic_state *)buf;

			st->len = nic->state_len;
			memcpy(st->data, nic->state, nic->state_len);
			rc = sim_send(s, VMBUS_USER_NIC_STATE, i, buf, sizeof(*st) + nic->state_len,
				      NULL, 0);
		}
		for (unsigned int k = 0; rc == 0 && k < nic->n_gpadls; k++)
			rc = send_gpadl(s, nic, k);
		if (rc == 0)
			rc = open_channel(s, nic);
	}
	return rc;
}

static void sim_disconnect(struct sim *s, const char *why)
{
	if (s->fd < 0)
		return;
	fprintf(stderr, "netvsc-sim: lost vswitchd (%s); reconnecting\n", why);
	close(s->fd);
	s->fd = -1;
}

/* Handles what vswitchd sent: NIC_STATE (kept for a reconnect), CHANNEL_FAILED. */
static void sim_read(struct sim *s)
{
	for (;;) {
		struct vmbus_user_msg m;
		int rc = vmbus_user_recv(s->fd, s->buf, sizeof(s->buf), &m);

		if (rc == -EAGAIN)
			return;
		if (rc < 0) {
			sim_disconnect(s, rc == -ECONNRESET ? "closed" : strerror(-rc));
			return;
		}
		for (unsigned int k = 0; k < m.nfds; k++)
			close(m.fds[k]);
		if (m.hdr.nic >= s->n_nics)
			continue;
		if (m.hdr.type == VMBUS_USER_NIC_STATE) {
			const struct vmbus_user_nic_state *st = m.body;

			memcpy(s->nics[m.hdr.nic].state, st->data, st->len);
			s->nics[m.hdr.nic].state_len = st->len;
		} else if (m.hdr.type == VMBUS_USER_CHANNEL_FAILED) {
			const struct vmbus_user_channel_event *ev = m.body;

			fprintf(stderr, "netvsc-sim: NIC %u channel failed: %s\n", m.hdr.nic,
				ev->message);
			s->nics[m.hdr.nic].failed = true;
			snprintf(s->nics[m.hdr.nic].failure, sizeof(s->nics[m.hdr.nic].failure),
				 "%s", ev->message);
		}
	}
}

static void sim_reconnect(struct sim *s)
{
	static double next;
	double t = now_s();

	if (t < next)
		return;
	next = t + 0.2;
	if (sim_hello(s, true) < 0)
		return;
	if (sim_attach(s) < 0) {
		sim_disconnect(s, "replay failed");
		return;
	}
	s->reconnects++;
	fprintf(stderr, "netvsc-sim: reconnected to vswitchd (replayed memory, state, channels)\n");
}

/* ---- setup ---- */

static int sim_setup(struct sim *s)
{
	struct nvsc_gsim_config cfg = {.rx = rx_cb, .ring_gpadl = SIM_RING_GPADL};
	uint64_t per, off = 2 * PAGE; /* page 1: SIEF page (vswitchd sets its bits) */

	cfg.mtu = 9000;
	per = (nvsc_gsim_mem_needed(&cfg) + PAGE - 1) / PAGE * PAGE;
	s->mem_size = (off + per * s->n_nics + (2u << 20) - 1) / (2u << 20) * (2u << 20);
	s->memfd = memfd_create("netvsc-sim", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (s->memfd < 0 || ftruncate(s->memfd, (off_t)s->mem_size) < 0 ||
	    fcntl(s->memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		return -errno;
	s->mem = mmap(NULL, s->mem_size, PROT_READ | PROT_WRITE, MAP_SHARED, s->memfd, 0);
	if (s->mem == MAP_FAILED)
		return -errno;
	s->sief_gpa = PAGE;
	for (unsigned int i = 0; i < s->n_nics; i++, off += per) {
		struct sim_nic *nic = &s->nics[i];
		struct nvsc_gsim_transport t = {.ctx = nic,
						.mem = s->mem + off,
						.gpa_base = off,
						.mem_size = per,
						.create_gpadl = gpadl_cb,
						.signal_host = signal_cb};
		size_t ring_size;

		nic->sim = s;
		nic->idx = i;
		nic->doorbell = nic->irq = -1;
		nic->gpa = off;
		cfg.mtu = nic->req.mtu ? nic->req.mtu : 1500;
		cfg.gpa_direct = s->gpa_direct;
		cfg.batch = s->batch;
		cfg.rx_arg = nic;
		nic->g = nvsc_gsim_create(&t, &cfg);
		if (!nic->g)
			return -errno;
		nvsc_gsim_ring(nic->g, true, &ring_size);
		nic->ring_out_offset = (uint32_t)(ring_size / PAGE);
	}
	return 0;
}

/* ---- traffic ---- */

static bool all_ready(struct sim *s)
{
	for (unsigned int i = 0; i < s->n_nics; i++) {
		if (!nvsc_gsim_ready(s->nics[i].g))
			return false;
	}
	return true;
}

static uint64_t rx_total(const struct sim *s)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < s->n_nics; i++)
		n += s->nics[i].rx;
	return n;
}

/* Sends what the rate allows now; false when sending is finished. */
static bool send_some(struct sim *s, double t0, double t)
{
	struct sim_nic *nic = &s->nics[0];
	struct nvsc_gsim_tx opt = {.gpa_direct = s->gpa_direct,
				   .has_vlan = s->vlan_ppi > 0,
				   .vlan_tci = (uint16_t)s->vlan_ppi};
	struct nvsc_gsim_stats st;
	uint8_t f[9216] = {0};
	uint64_t due;
	int r;

	if ((s->send >= 0 && s->tx >= (uint64_t)s->send) ||
	    (s->duration > 0 && t - t0 >= s->duration))
		return false;
	due = s->rate > 0 ? (uint64_t)((t - t0) * s->rate) + 1 : s->tx + 64;
	if (s->send >= 0 && due > (uint64_t)s->send)
		due = (uint64_t)s->send;
	/* as Linux does, a frame too big for a send section goes as GPA direct */
	nvsc_gsim_get_stats(nic->g, &st);
	if (s->size + SIM_RNDIS_HDR_MAX > st.send_section_size)
		opt.gpa_direct = true;
	memcpy(f, s->dst, 6);
	memcpy(f + 6, nic->mac, 6);
	f[12] = 0x88;
	f[13] = 0xb5;
	while (s->tx < due) {
		memcpy(f + 14, &s->tx, sizeof(s->tx));
		opt.more = s->tx + 1 < due; /* xmit_more: the stack has more for this queue */
		r = nvsc_gsim_send(nic->g, f, s->size, &opt);
		if (r == -EAGAIN) {
			s->tx_busy++;
			break;
		}
		if (r < 0) {
			fprintf(stderr, "netvsc-sim: NIC 0: cannot send a %u-byte frame: %s\n",
				s->size, strerror(-r));
			s->tx_failed = true;
			return false;
		}
		s->tx++;
	}
	return true;
}

/* --window: one NIC's pass: a cumulative ACK for the data it received, then data while its
 * window has room. False when the NIC could not send (queue stopped). */
static bool window_nic(struct sim *s, struct sim_nic *nic, const uint8_t dst[6], bool data,
		       double t)
{
	struct nvsc_gsim_tx opt = {0};
	uint8_t f[9216] = {0};
	uint32_t room;

	memcpy(f, dst, 6);
	memcpy(f + 6, nic->mac, 6);
	if (nic->ack_due) {
		f[12] = 0x88;
		f[13] = 0xb6;
		memcpy(f + 14, &nic->ack_due, sizeof(nic->ack_due));
		if (nvsc_gsim_send(nic->g, f, 60, NULL) < 0)
			return false;
		nic->ack_due = 0;
		nic->acks_tx++;
	}
	if (!data)
		return true;
	if (nic->data_tx - nic->acked >= s->window && t - nic->last_ack > 0.2) {
		nic->acked = nic->data_tx; /* retransmission timeout: forget the lost ones */
		nic->last_ack = t;
		nic->rto++;
	}
	room = (uint32_t)(s->window - (nic->data_tx - nic->acked));
	f[12] = 0x88;
	f[13] = 0xb5;
	for (uint32_t i = 0; i < room; i++) {
		opt.more = i + 1 < room;
		memcpy(f + 14, &nic->data_tx, sizeof(nic->data_tx));
		if (nvsc_gsim_send(nic->g, f, s->size, &opt) < 0) {
			nvsc_gsim_flush(nic->g);
			s->tx_busy++;
			return false;
		}
		nic->data_tx++;
		s->tx++;
	}
	return true;
}

/* --window: every NIC's pass; false when sending is finished. */
static bool send_window(struct sim *s, double t0, double t)
{
	bool more = !((s->send >= 0 && s->tx >= (uint64_t)s->send) ||
		      (s->duration > 0 && t - t0 >= s->duration));

	for (unsigned int i = 0; i < s->n_nics; i++) {
		struct sim_nic *nic = &s->nics[i];

		if (nic->last_ack == 0)
			nic->last_ack = t;
		window_nic(s, nic, i == 0 ? s->dst : s->nics[0].mac, more, t);
	}
	return more;
}

/* ---- fault injection ---- */

/* A valid-looking RNDIS data message header for a 64-byte frame, with len in h.len. */
static uint32_t rndis_pkt_hdr(uint8_t *buf, uint32_t len)
{
	struct rndis_hdr h = {.type = RNDIS_MSG_PACKET, .len = len};
	struct rndis_packet p = {.data_offset = sizeof(p), .data_len = 64};

	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), &p, sizeof(p));
	return (uint32_t)(sizeof(h) + sizeof(p) + 64);
}

/* A GPA-direct SEND_RNDIS_PKT of len bytes from the start of page pfn (no section). */
static int send_gpa_page(struct sim_nic *nic, uint64_t pfn, uint32_t len, uint64_t tid)
{
	struct {
		struct nvsp_gpa_hdr h;
		struct nvsp_gpa_range r;
		uint64_t pfn;
	} __attribute__((packed))
	ext = {.h = {.range_count = 1}, .r = {.byte_count = len}, .pfn = pfn};
	struct nvsp_msg m = {.type = NVSP_MSG1_SEND_RNDIS_PKT};

	m.u.rndis_pkt.channel_type = NVSP_CHANNEL_DATA;
	m.u.rndis_pkt.section_index = NVSP_INVALID_SECTION;
	return nvsc_gsim_send_raw(nic->g, VMBUS_PKT_DATA_GPA_DIRECT,
				  VMBUS_PKT_F_COMPLETION_REQUESTED, tid, &ext, sizeof(ext), &m,
				  NVSP_MSG_SIZE);
}

/* More RNDIS data messages in one packet than the advertised 8: 16 minimum-size messages in a
 * send section, or in a GPA-direct range of a scratch page. */
static int inject_many(struct sim_nic *nic, bool gpa)
{
	uint8_t buf[16 * 128] = {0};
	uint32_t total = 0, room;
	uint64_t base;

	for (unsigned int i = 0; i < 16; i++) {
		uint32_t one = rndis_pkt_hdr(buf + total, 0);

		((struct rndis_hdr *)(buf + total))->len = one;
		total += one;
	}
	if (!gpa)
		return nvsc_gsim_send_rndis_section(nic->g, NVSP_CHANNEL_DATA, 0, 0, total, buf,
						    total);
	memcpy(nvsc_gsim_scratch(nic->g, &base, &room), buf, total);
	return send_gpa_page(nic, base / PAGE, total, 0x2badull);
}

/* NIC 0 breaks the protocol once: 0, -EINVAL (unknown kind), or the send error. */
static int inject(struct sim *s)
{
	struct sim_nic *nic = &s->nics[0];
	struct nvsc_gsim_stats st;
	uint8_t buf[256] = {0};
	uint32_t len;

	nvsc_gsim_get_stats(nic->g, &st);
	len = rndis_pkt_hdr(buf, 0);
	((struct rndis_hdr *)buf)->len = len;
	if (!strcmp(s->inject, "bad-section")) /* a section past the send buffer */
		return nvsc_gsim_send_rndis_section(nic->g, NVSP_CHANNEL_DATA, 0,
						    st.send_sections + 7, len, buf, len);
	if (!strcmp(s->inject, "bad-rndis-len")) { /* RNDIS length past its section */
		((struct rndis_hdr *)buf)->len = 0x100000;
		return nvsc_gsim_send_rndis_section(nic->g, NVSP_CHANNEL_DATA, 0, 0, len, buf, len);
	}
	if (!strcmp(s->inject, "bad-range")) /* a GPA-direct page outside guest memory */
		return send_gpa_page(nic, s->mem_size / PAGE + 1000, len, 0x1badull);
	if (!strcmp(s->inject, "many-msgs") || !strcmp(s->inject, "gpa-many-msgs"))
		return inject_many(nic, !strcmp(s->inject, "gpa-many-msgs"));
	if (!strcmp(s->inject, "ring-corrupt")) { /* write index past the ring's data area */
		size_t size;
		uint32_t *hdr = nvsc_gsim_ring(nic->g, true, &size);

		__atomic_store_n(&hdr[0], (uint32_t)size + 8u, __ATOMIC_RELEASE);
		return 0;
	}
	return -EINVAL;
}

static bool inject_known(const char *kind)
{
	static const char *const kinds[] = {"bad-section",  "bad-range", "bad-rndis-len",
					    "ring-corrupt", "many-msgs", "gpa-many-msgs"};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (!strcmp(kind, kinds[i]))
			return true;
	}
	return false;
}

/* Prints s as a JSON string body (quotes and control characters escaped). */
static void json_str(const char *str)
{
	for (; *str; str++) {
		if (*str == '"' || *str == '\\')
			printf("\\%c", *str);
		else if ((unsigned char)*str < 0x20)
			printf("\\u%04x", (unsigned char)*str);
		else
			putchar(*str);
	}
}

static void report(struct sim *s, double elapsed, bool ok)
{
	if (!s->json) {
		fprintf(stderr,
			"netvsc-sim: %s: sent %" PRIu64 ", received %" PRIu64
			" in %.3f s (%.3f / %.3f Mpps), %u reconnect(s)\n",
			ok ? "ok" : "FAILED", s->tx, rx_total(s), elapsed,
			elapsed > 0 ? (double)s->tx / elapsed / 1e6 : 0,
			elapsed > 0 ? (double)rx_total(s) / elapsed / 1e6 : 0, s->reconnects);
		return;
	}
	printf("{\"name\": \"%s\", \"ok\": %s, \"elapsed_s\": %.6f, \"tx\": %" PRIu64
	       ", \"rx\": %" PRIu64 ", \"tx_busy\": %" PRIu64 ", \"reconnects\": %u, \"size\": %u, "
	       "\"tx_pps\": %.1f, \"rx_pps\": %.1f, \"nics\": [",
	       s->name, ok ? "true" : "false", elapsed, s->tx, rx_total(s), s->tx_busy,
	       s->reconnects, s->size, elapsed > 0 ? (double)s->tx / elapsed : 0,
	       elapsed > 0 ? (double)rx_total(s) / elapsed : 0);
	for (unsigned int i = 0; i < s->n_nics; i++) {
		struct nvsc_gsim_stats st;
		const uint8_t *m = s->nics[i].mac;

		nvsc_gsim_get_stats(s->nics[i].g, &st);
		printf("%s{\"port\": \"%s\", \"mac\": \"%02x:%02x:%02x:%02x:%02x:%02x\", "
		       "\"rx\": %" PRIu64 ", \"rx_bytes\": %" PRIu64 ", \"nvsp_version\": %u, "
		       "\"link_changes\": %" PRIu64 ", \"link_up\": %s, \"failed\": %s, "
		       "\"rx_test\": %" PRIu64 ", \"tx_frames\": %" PRIu64
		       ", \"tx_completions\": %" PRIu64 ", \"rx_ctrl_msgs\": %" PRIu64
		       ", \"tx_batches\": %" PRIu64 ", \"tx_partial\": %" PRIu64
		       ", \"tx_stops\": %" PRIu64 ", \"tx_wakes\": %" PRIu64
		       ", \"tx_packets\": %" PRIu64 ", \"tx_in_flight\": %u"
		       ", \"data_tx\": %" PRIu64 ", \"acked\": %" PRIu64 ", \"acks_tx\": %" PRIu64
		       ", \"rto\": %" PRIu64 ", \"ready\": %s, \"failure\": \"",
		       i ? ", " : "", s->nics[i].port, m[0], m[1], m[2], m[3], m[4], m[5],
		       s->nics[i].rx, s->nics[i].rx_bytes, st.nvsp_version, st.link_changes,
		       st.link_up ? "true" : "false", s->nics[i].failed ? "true" : "false",
		       s->nics[i].rx_test, st.tx_frames, st.tx_completions, st.rx_ctrl_msgs,
		       st.tx_batches, st.tx_partial, st.tx_stops, st.tx_wakes, st.tx_packets,
		       st.tx_in_flight, s->nics[i].data_tx, s->nics[i].acked, s->nics[i].acks_tx,
		       s->nics[i].rto, nvsc_gsim_ready(s->nics[i].g) ? "true" : "false");
		json_str(s->nics[i].failure);
		printf("\"}");
	}
	printf("]}\n");
	fflush(stdout);
}

#define NAPI_BUDGET 64

/* Reads a NIC's host->guest ring as Linux does: after an interrupt, with the
 * interrupt masked, a budget per pass; once a pass does not use it up, unmask
 * and look again (what came meanwhile raised no interrupt). Pending receive
 * completions keep it polling. --busy-poll: every pass. 0 or -EPROTO. */
static int napi_poll(struct sim *s, struct sim_nic *nic)
{
	struct nvsc_gsim_stats st;
	uint64_t v;
	int n;

	if (s->busy_poll)
		return nvsc_gsim_poll(nic->g, 256) < 0 ? -EPROTO : 0;
	if (nic->irq >= 0 && read(nic->irq, &v, sizeof(v)) == (ssize_t)sizeof(v) && !nic->napi) {
		nic->napi = true;
		nvsc_gsim_mask(nic->g);
	}
	if (!nic->napi)
		return nvsc_gsim_poll(nic->g, 0) < 0 ? -EPROTO : 0; /* handshake steps only */
	n = nvsc_gsim_poll(nic->g, NAPI_BUDGET);
	if (n < 0)
		return -EPROTO;
	nvsc_gsim_get_stats(nic->g, &st);
	if (n < NAPI_BUDGET && !st.pending_completions && nvsc_gsim_unmask(nic->g) == 0)
		nic->napi = false;
	else
		nvsc_gsim_mask(nic->g);
	return 0;
}

/* Polls the NICs; false when one failed for good. */
static bool poll_nics(struct sim *s)
{
	for (unsigned int i = 0; i < s->n_nics; i++) {
		struct sim_nic *nic = &s->nics[i];

		if (napi_poll(s, nic) < 0) {
			fprintf(stderr, "netvsc-sim: NIC %u: %s\n", i, nvsc_gsim_error(nic->g));
			nic->failed = true;
			return false;
		}
		if (!nic->ready_said && nvsc_gsim_ready(nic->g)) {
			struct nvsc_gsim_stats st;

			nvsc_gsim_get_stats(nic->g, &st);
			fprintf(stderr, "netvsc-sim: NIC %u ready: port %s, NVSP 0x%x, MTU %u\n", i,
				nic->port, st.nvsp_version, st.host_mtu);
			nic->ready_said = true;
		}
	}
	return true;
}

/* Whether NIC 0 has RNDIS messages the host did not complete yet: every frame and
 * every control request (one per reply; indications are not replies) is completed. */
static bool in_flight(const struct sim *s)
{
	struct nvsc_gsim_stats st;

	nvsc_gsim_get_stats(s->nics[0].g, &st);
	return st.tx_frames + (st.rx_ctrl_msgs - st.link_changes) > st.tx_completions;
}

static bool any_failed(const struct sim *s)
{
	for (unsigned int i = 0; i < s->n_nics; i++) {
		if (s->nics[i].failed)
			return true;
	}
	return false;
}

static int run(struct sim *s)
{
	double start = now_s(), t0 = 0, t1 = 0, t, last = 0; /* t1: sending starts */
	bool sending = s->send != 0 || s->duration > 0, ok = true;

	for (unsigned int i = 0; i < s->n_nics; i++) {
		if (nvsc_gsim_start(s->nics[i].g) < 0)
			return 1;
	}
	while (!stop) {
		t = now_s();
		if (s->fd >= 0)
			sim_read(s);
		else
			sim_reconnect(s);
		if (!poll_nics(s)) {
			ok = false;
			break;
		}
		if (t0 == 0 && all_ready(s))
			t0 = t;
		if (t0 > 0 && s->inject && !s->injected) {
			int r = inject(s);

			fprintf(stderr, "netvsc-sim: NIC 0: injected %s (%s)\n", s->inject,
				r < 0 ? strerror(-r) : "sent");
			s->injected = true;
		}
		if (report_now) {
			report_now = 0;
			report(s, t0 > 0 ? t - t0 : 0, true);
		}
		if (!s->linger && any_failed(s)) {
			ok = false;
			break;
		}
		if (t0 > 0 && go && t1 == 0)
			t1 = t + s->start_delay;
		/* --window: ACKs go on after the data (the peer's last frames want theirs) */
		if (t1 > 0 && (sending || s->window) && t >= t1)
			sending = s->window ? send_window(s, t1, t) : send_some(s, t1, t);
		if (t0 > 0 && !sending && !s->linger && rx_total(s) >= s->expect &&
		    (s->expect || s->send != 0 || s->duration > 0)) {
			/* let the last completions drain (the host took every frame) */
			if (last == 0)
				last = t;
			else if ((t - last > 0.05 && !in_flight(s)) || t - last > 2)
				break;
		}
		if (s->timeout > 0 && t - start > s->timeout && !(s->linger && t0 > 0)) {
			fprintf(stderr, "netvsc-sim: timeout after %.0f s (%s)\n", s->timeout,
				t0 == 0 ? "handshake not done" : "traffic not complete");
			ok = false;
			break;
		}
		if (s->busy_poll)
			continue; /* a NAPI guest under load never naps (benchmarks) */
		if (s->rate > 0 && s->rate < 1e5)
			usleep(200); /* paced: no need to spin */
		else if (!sending)
			usleep(s->expect && rx_total(s) < s->expect ? 0 : 1000);
	}
	for (unsigned int i = 0; i < s->n_nics; i++)
		ok &= !s->nics[i].failed;
	ok &= rx_total(s) >= s->expect && !s->tx_failed;
	report(s, t0 > 0 ? now_s() - t0 : 0, ok);
	return ok ? 0 : 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: netvsc-sim --vswitchd SOCK --nic SWITCH[,mac=MAC][,vlan=VID][,port=NAME]"
		"[,mtu=N]...\n"
		"                  [--name NAME] [--send N] [--duration S] [--size BYTES] [--dst "
		"MAC]\n"
		"                  [--rate PPS] [--expect N] [--timeout S] [--gpa-direct]\n"
		"                  [--vlan-ppi VID] [--echo] [--json] [--linger] [--start-delay "
		"S]\n"
		"                  [--hold] [--inject KIND] [--batch N] [--window W] "
		"[--busy-poll]\n"
		"A simulated VM (no KVM): its NICs' hv_netvsc-like drivers talk NVSP/RNDIS to\n"
		"vswitchd over the vmbus-user socket. Frames leave NIC 0 for --dst (broadcast);\n"
		"--send -1 with --duration sends for that long; --echo reflects what arrives.\n"
		"--start-delay waits that long after the handshake before sending; --hold waits\n"
		"for SIGUSR2 (then --start-delay).\n"
		"Without traffic options it stays up (Ctrl-C ends it); --linger keeps it up after\n"
		"the traffic too. SIGUSR1 prints the report. --inject bad-section|bad-range|\n"
		"bad-rndis-len|ring-corrupt|many-msgs|gpa-many-msgs: NIC 0 breaks the protocol\n"
		"once after its handshake.\n"
		"--batch N (1-8, default 1): up to N frames per send section, as Linux batches\n"
		"under load. Rings are read after the NIC's interrupt, NAPI-style; --busy-poll:\n"
		"read them on every pass and never nap, even when idle (benchmarks).\n"
		"--window W: TCP-like both ways: each NIC sends data (NIC 0 to --dst, the others "
		"to\n"
		"NIC 0) with at most W frames unacknowledged; the receivers answer with ACKs.\n");
}

static double parse_num(const char *opt, const char *v, double lo, double hi)
{
	char *end;
	double d = strtod(v, &end);

	if (*v == 0 || *end || d < lo || d > hi) {
		fprintf(stderr, "netvsc-sim: error: %s: '%s' is not a number in %g..%g\n", opt, v,
			lo, hi);
		exit(2);
	}
	return d;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"vswitchd", required_argument, NULL, 'S'},
		{"nic", required_argument, NULL, 'n'},
		{"name", required_argument, NULL, 'N'},
		{"send", required_argument, NULL, 's'},
		{"duration", required_argument, NULL, 'd'},
		{"size", required_argument, NULL, 'z'},
		{"dst", required_argument, NULL, 'D'},
		{"rate", required_argument, NULL, 'r'},
		{"expect", required_argument, NULL, 'e'},
		{"timeout", required_argument, NULL, 't'},
		{"gpa-direct", no_argument, NULL, 'g'},
		{"vlan-ppi", required_argument, NULL, 'v'},
		{"echo", no_argument, NULL, 'E'},
		{"json", no_argument, NULL, 'j'},
		{"start-delay", required_argument, NULL, 'W'},
		{"hold", no_argument, NULL, 'H'},
		{"linger", no_argument, NULL, 'L'},
		{"inject", required_argument, NULL, 'I'},
		{"busy-poll", no_argument, NULL, 'B'},
		{"batch", required_argument, NULL, 'b'},
		{"window", required_argument, NULL, 'w'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static struct sim s = {.fd = -1,
			       .memfd = -1,
			       .size = 64,
			       .timeout = 30,
			       .dst = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
	char name[VMBUS_USER_NAME_LEN];
	bool hold = false;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'S':
			s.sock_path = optarg;
			break;
		case 'n':
			if (s.n_nics == SIM_MAX_NICS)
				die_usage("nic: at most %d NICs", SIM_MAX_NICS);
			parse_nic(optarg, &s.nics[s.n_nics++].req);
			break;
		case 'N':
			s.name = optarg;
			break;
		case 's':
			s.send = (int64_t)parse_num("send", optarg, -1, 1e12);
			break;
		case 'd':
			s.duration = parse_num("duration", optarg, 0, 86400);
			break;
		case 'z':
			s.size = (uint32_t)parse_num("size", optarg, 60, 9014);
			break;
		case 'D':
			if (parse_mac(optarg, s.dst) < 0)
				die_usage("dst: '%s' is not a MAC address (xx:xx:xx:xx:xx:xx)",
					  optarg);
			break;
		case 'r':
			s.rate = parse_num("rate", optarg, 0, 1e9);
			break;
		case 'e':
			s.expect = (uint64_t)parse_num("expect", optarg, 0, 1e12);
			break;
		case 't':
			s.timeout = parse_num("timeout", optarg, 0, 86400);
			break;
		case 'g':
			s.gpa_direct = true;
			break;
		case 'v':
			s.vlan_ppi = (int)parse_num("vlan-ppi", optarg, 1, 4094);
			break;
		case 'E':
			s.echo = true;
			break;
		case 'j':
			s.json = true;
			break;
		case 'L':
			s.linger = true;
			break;
		case 'B':
			s.busy_poll = true;
			break;
		case 'b':
			s.batch = (uint32_t)parse_num("batch", optarg, 1, 8);
			break;
		case 'w':
			s.window = (uint32_t)parse_num("window", optarg, 1, 4096);
			break;
		case 'W':
			s.start_delay = parse_num("start-delay", optarg, 0, 3600);
			break;
		case 'H':
			hold = true;
			break;
		case 'I':
			if (!inject_known(optarg))
				die_usage("inject: unknown fault '%s' (bad-section, bad-range, "
					  "bad-rndis-len, ring-corrupt, many-msgs, gpa-many-msgs)",
					  optarg);
			s.inject = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!s.sock_path || !s.n_nics || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (s.duration > 0 && s.send == 0)
		s.send = -1;
	if (!s.name) {
		snprintf(name, sizeof(name), "sim-%d", (int)getpid());
		s.name = name;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGUSR1, on_usr1);
	signal(SIGUSR2, on_usr2);
	go = !hold;
	rc = sim_setup(&s);
	if (rc < 0) {
		fprintf(stderr, "netvsc-sim: setup failed: %s\n", strerror(-rc));
		return 1;
	}
	if (sim_hello(&s, false) < 0 || sim_attach(&s) < 0)
		return 1;
	return run(&s);
}
