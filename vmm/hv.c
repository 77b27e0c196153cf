/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Hyper-V SynIC transport and VMBus wiring (see hv.h): per-vCPU SynIC page
 * addresses learnt from KVM_EXIT_HYPERV_SYNIC, SINT 2 message slots with a
 * queue per vCPU, SIEF event bits, hypercall exits for HvPostMessage and
 * HvSignalEvent, KVM_HYPERV_EVENTFD doorbells, and the integration services
 * driven from the VMBus thread.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "host.h"
#include "hv.h"
#include "ic.h"
#include "memory.h"
#include "vsd_link.h"

#define HV_SINT_VMBUS 2
#define HV_MSG_SIZE 256
#define HV_MSG_PAYLOAD_MAX 240
#define HV_MSG_TYPE_CHANNEL 1u
#define HV_MSG_FLAG_PENDING 0x1
#define HV_SIEF_BITS 2048u	/* event flags per SINT (256 bytes) */
#define HV_PAGE_MASK (~0xfffull)

#define HVCALL_POST_MESSAGE 0x5c
#define HVCALL_SIGNAL_EVENT 0x5d
#define HV_HCALL_FAST (1ull << 16)
#define HV_STATUS_SUCCESS 0
#define HV_STATUS_INVALID_HYPERCALL_CODE 2
#define HV_STATUS_INVALID_HYPERCALL_INPUT 3
#define HV_STATUS_INVALID_ALIGNMENT 4
#define HV_STATUS_INVALID_PARAMETER 5
#define HV_STATUS_INSUFFICIENT_MEMORY 11
#define HV_STATUS_INVALID_CONNECTION_ID 0x12

#define HV_SINT_GSI_BASE 24	/* after the IOAPIC pins */
#define HV_IRQCHIP_GSIS 24
#define HV_PIC_GSIS 16
#define MSG_QUEUE_MAX 256
#define MAX_DOORBELLS 256
#define TICK_MS 100
#define POLL_BUSY_MS 5		/* a message waits for the slot: look again soon */
#define SHUTDOWN_REASON 0x00050000u /* planned, "other" */

/* Layout of a SynIC message slot (TLFS: HV_MESSAGE). */
struct hv_message {
	uint32_t type;
	uint8_t payload_size;
	uint8_t flags;
	uint8_t reserved[2];
	uint64_t sender;
	uint8_t payload[HV_MSG_PAYLOAD_MAX];
}; /* naturally aligned: no packing, so its fields can be accessed atomically */
_Static_assert(sizeof(struct hv_message) == HV_MSG_SIZE, "SynIC message slot is 256 bytes");

/* HvPostMessage input page. */
struct hv_post_message_input {
	uint32_t connection_id;
	uint32_t reserved;
	uint32_t message_type;
	uint32_t payload_size;
	uint8_t payload[HV_MSG_PAYLOAD_MAX];
};
_Static_assert(sizeof(struct hv_post_message_input) == 256, "HvPostMessage input is 256 bytes");

struct queued_msg {
	uint8_t len;
	uint8_t data[HV_MSG_PAYLOAD_MAX];
};

struct hv_vp {
	uint64_t simp, siefp;	/* enabled page GPAs, 0 when disabled */
	int sint_fd, ack_fd;	/* irqfd of the SINT 2 route and its EOM notification */
	struct queued_msg *q;	/* ring of MSG_QUEUE_MAX */
	unsigned q_head, q_len;
};

struct doorbell {
	uint32_t conn_id;
	int fd;
	bool external;	/* a network channel's: vswitchd polls it, we do not */
};

struct vmm_hv {
	struct vmm_hv_config cfg;
	pthread_mutex_t lock;
	struct vmbus_host *host;
	struct vmbus_ic *hb, *sd, *ts;
	struct hv_vp *vps;
	struct doorbell bells[MAX_DOORBELLS]; /* indexed by relid */
	int wake_fd;
	pthread_t thread;
	bool started;
	_Atomic bool stop;
	enum vmbus_ic_heartbeat_state hb_state;
	enum vmbus_ic_state ic_state[3];
	uint32_t version;
	uint64_t post_rejected;	/* HvPostMessage inputs refused */
	uint64_t hcall_events;	/* HvSignalEvent through hypercall exits */
	uint64_t doorbells;	/* HvSignalEvent through KVM_HYPERV_EVENTFD */
	unsigned eom_notified;	/* vCPUs whose EOM comes as a resample event */
	struct vmm_vsd *vsd;	/* link to vswitchd (synthetic NICs), or NULL */
	uint64_t start_ms;
	bool shutting_down;	/* a shutdown request went to the guest */
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void say(struct vmm_hv *hv, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(struct vmm_hv *hv, int level, const char *fmt, ...)
{
	va_list ap;

	if (hv->cfg.quiet && level > LOG_WARNING)
		return;
	va_start(ap, fmt);
	fputs("vmm: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void kick(int fd)
{
	uint64_t one = 1;

	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0) {
		/* counter overflow only: the reader is already due */
	}
}

static void drain(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nothing pending */
	}
}

/* ---- SynIC message slots (lock held) ---- */

static struct hv_message *vmbus_slot(struct vmm_hv *hv, struct hv_vp *vp)
{
	uint8_t *page;

	if (!vp->simp)
		return NULL;
	page = vmm_memory_ptr(hv->cfg.mem, vp->simp, 4096);
	return page ? (struct hv_message *)(page + HV_SINT_VMBUS * HV_MSG_SIZE) : NULL;
}

/* Moves queued messages into the slot while it is free; asks for an EOM
 * (pending flag) when it is not. */
static void flush_queue(struct vmm_hv *hv, struct hv_vp *vp)
{
	struct hv_message *m = vmbus_slot(hv, vp);
	bool delivered = false;

	while (m && vp->q_len) {
		struct queued_msg *q = &vp->q[vp->q_head];

		if (__atomic_load_n(&m->type, __ATOMIC_ACQUIRE) != 0) {
			__atomic_fetch_or(&m->flags, HV_MSG_FLAG_PENDING, __ATOMIC_SEQ_CST);
			/* the guest may have freed it meanwhile without seeing the flag */
			if (__atomic_load_n(&m->type, __ATOMIC_ACQUIRE) != 0)
				break;
		}
		memcpy(m->payload, q->data, q->len);
		m->payload_size = q->len;
		m->flags = 0;
		m->sender = 0;
		__atomic_store_n(&m->type, HV_MSG_TYPE_CHANNEL, __ATOMIC_RELEASE);
		vp->q_head = (vp->q_head + 1) % MSG_QUEUE_MAX;
		vp->q_len--;
		delivered = true;
	}
	if (delivered)
		kick(vp->sint_fd);
}

static int post_msg(void *ctx, uint32_t vpi, const void *msg, size_t len)
{
	struct vmm_hv *hv = ctx;
	struct hv_vp *vp;
	struct queued_msg *q;

	if (vpi >= hv->cfg.ncpus || len > HV_MSG_PAYLOAD_MAX)
		return -EINVAL;
	vp = &hv->vps[vpi];
	if (vp->q_len == MSG_QUEUE_MAX)
		return -ENOBUFS;
	q = &vp->q[(vp->q_head + vp->q_len) % MSG_QUEUE_MAX];
	memcpy(q->data, msg, len);
	q->len = (uint8_t)len;
	vp->q_len++;
	flush_queue(hv, vp);
	if (vp->q_len)
		kick(hv->wake_fd); /* the VMBus thread polls the slot */
	return 0;
}

static void signal_guest(void *ctx, uint32_t relid, uint32_t vpi)
{
	struct vmm_hv *hv = ctx;
	struct hv_vp *vp;
	uint8_t *page;
	uint32_t *flags;

	if (vpi >= hv->cfg.ncpus || relid >= HV_SIEF_BITS)
		return;
	vp = &hv->vps[vpi];
	page = vp->siefp ? vmm_memory_ptr(hv->cfg.mem, vp->siefp, 4096) : NULL;
	if (!page)
		return;
	flags = (uint32_t *)(page + HV_SINT_VMBUS * (HV_SIEF_BITS / 8));
	__atomic_fetch_or(&flags[relid / 32], 1u << (relid % 32), __ATOMIC_SEQ_CST);
	kick(vp->sint_fd);
}

static void *gpa_to_hva(void *ctx, uint64_t gpa, uint64_t len)
{
	struct vmm_hv *hv = ctx;

	return vmm_memory_ptr(hv->cfg.mem, gpa, len);
}

/* ---- doorbells: HvSignalEvent handled by KVM, counted here ---- */

/* Creates the doorbell of relid: an eventfd KVM writes on HvSignalEvent(conn_id). */
static int doorbell_create(struct vmm_hv *hv, uint32_t relid, uint32_t conn_id, bool external)
{
	struct kvm_hyperv_eventfd ev = { .conn_id = conn_id };
	struct doorbell *b;
	int rc;

	if (relid >= MAX_DOORBELLS)
		return -ERANGE;
	b = &hv->bells[relid];
	if (b->fd >= 0)
		return b->fd;
	b->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ev.fd = b->fd;
	if (b->fd < 0 || ioctl(hv->cfg.vm_fd, KVM_HYPERV_EVENTFD, &ev) < 0) {
		rc = -errno;
		if (b->fd >= 0)
			close(b->fd);
		b->fd = -1;
		return rc;
	}
	b->conn_id = conn_id;
	b->external = external;
	kick(hv->wake_fd);
	return b->fd;
}

static void channel_opened(void *ctx, uint32_t relid, uint32_t conn_id, uint32_t vp)
{
	(void)vp;
	/* without one, HvSignalEvent reaches us as a hypercall exit; a
	 * network channel got its doorbell in its VSP's open already */
	doorbell_create(ctx, relid, conn_id, false);
}

static void channel_closed(void *ctx, uint32_t relid, uint32_t conn_id)
{
	struct vmm_hv *hv = ctx;
	struct kvm_hyperv_eventfd ev = { .conn_id = conn_id, .flags = KVM_HYPERV_EVENTFD_DEASSIGN };
	struct doorbell *b;

	if (relid >= MAX_DOORBELLS || hv->bells[relid].fd < 0)
		return;
	b = &hv->bells[relid];
	ev.fd = b->fd;
	ioctl(hv->cfg.vm_fd, KVM_HYPERV_EVENTFD, &ev);
	close(b->fd);
	b->fd = -1;
	b->external = false;
	kick(hv->wake_fd);
}

static void host_log(void *ctx, int level, const char *line)
{
	say(ctx, level, "%s", line);
}

static const struct vmbus_host_ops host_ops = {
	.post_msg = post_msg,
	.signal_guest = signal_guest,
	.gpa_to_hva = gpa_to_hva,
	.channel_opened = channel_opened,
	.channel_closed = channel_closed,
	.log = host_log,
};

/* ---- vCPU exits ---- */

static uint64_t post_message(struct vmm_hv *hv, uint64_t ingpa)
{
	struct hv_post_message_input in;
	const void *p;
	int rc;

	if (ingpa & 7)
		return HV_STATUS_INVALID_ALIGNMENT;
	p = vmm_memory_ptr(hv->cfg.mem, ingpa, sizeof(in));
	if (!p)
		return HV_STATUS_INVALID_PARAMETER;
	memcpy(&in, p, sizeof(in)); /* one copy: the guest may change it meanwhile */
	if (in.message_type != HV_MSG_TYPE_CHANNEL || in.payload_size > HV_MSG_PAYLOAD_MAX) {
		hv->post_rejected++;
		return HV_STATUS_INVALID_PARAMETER;
	}
	rc = vmbus_host_handle_message(hv->host, in.connection_id, in.payload, in.payload_size);
	return rc == -ENOENT ? HV_STATUS_INVALID_CONNECTION_ID : HV_STATUS_SUCCESS;
}

static uint64_t signal_event(struct vmm_hv *hv, uint64_t input, uint64_t param)
{
	uint32_t conn_id;
	const uint32_t *p;

	if (input & HV_HCALL_FAST) {
		conn_id = (uint32_t)param;
	} else {
		if (param & 7)
			return HV_STATUS_INVALID_ALIGNMENT;
		p = vmm_memory_ptr(hv->cfg.mem, param, 8);
		if (!p)
			return HV_STATUS_INVALID_PARAMETER;
		conn_id = *p;
	}
	hv->hcall_events++;
	return vmbus_host_signal_event(hv->host, conn_id) == -ENOENT
		       ? HV_STATUS_INVALID_CONNECTION_ID : HV_STATUS_SUCCESS;
}

static void synic_exit(struct vmm_hv *hv, struct hv_vp *vp, struct kvm_run *run)
{
	uint64_t simp = run->hyperv.u.synic.msg_page, siefp = run->hyperv.u.synic.evt_page;
	bool on = run->hyperv.u.synic.control & 1;
	uint64_t old_siefp = vp->siefp;

	vp->simp = on && (simp & 1) ? simp & HV_PAGE_MASK : 0;
	vp->siefp = on && (siefp & 1) ? siefp & HV_PAGE_MASK : 0;
	if (hv->vsd && vp->siefp != old_siefp)
		vmm_vsd_sief_moved(hv->vsd, (uint32_t)(vp - hv->vps), vp->siefp);
	flush_queue(hv, vp);
}

void vmm_hv_handle_exit(struct vmm_hv *hv, unsigned vpi, struct kvm_run *run)
{
	uint64_t input = run->hyperv.u.hcall.input;

	pthread_mutex_lock(&hv->lock);
	if (run->hyperv.type == KVM_EXIT_HYPERV_SYNIC && vpi < hv->cfg.ncpus) {
		synic_exit(hv, &hv->vps[vpi], run);
	} else if (run->hyperv.type == KVM_EXIT_HYPERV_HCALL) {
		switch (input & 0xffff) {
		case HVCALL_POST_MESSAGE:
			run->hyperv.u.hcall.result =
				input & HV_HCALL_FAST ? HV_STATUS_INVALID_HYPERCALL_INPUT
						      : post_message(hv, run->hyperv.u.hcall.params[0]);
			break;
		case HVCALL_SIGNAL_EVENT:
			run->hyperv.u.hcall.result =
				signal_event(hv, input, run->hyperv.u.hcall.params[0]);
			break;
		default:
			run->hyperv.u.hcall.result = HV_STATUS_INVALID_HYPERCALL_CODE;
			break;
		}
	}
	pthread_mutex_unlock(&hv->lock);
}

/* ---- the VMBus thread ---- */

static const char *const ic_names[3] = { "heartbeat", "shutdown", "timesync" };

/* Logs what changed: VMBus connection, IC versions, heartbeat state. */
static void report(struct vmm_hv *hv)
{
	struct vmbus_ic *ics[3] = { hv->hb, hv->sd, hv->ts };
	struct vmbus_ic_stats st;
	uint32_t v = vmbus_host_version(hv->host);
	unsigned i;

	if (v != hv->version) {
		hv->version = v;
		say(hv, LOG_INFO, "vmbus: %s (version %u.%u)", v ? "guest connected" : "disconnected",
		    v >> 16, v & 0xffff);
	}
	for (i = 0; i < 3; i++) {
		vmbus_ic_get_stats(ics[i], &st);
		if (st.state != hv->ic_state[i] && st.state == VMBUS_IC_READY)
			say(hv, LOG_INFO, "vmbus: %s IC ready (framework %u.%u, service %u.%u)",
			    ic_names[i], st.framework.major, st.framework.minor, st.service.major,
			    st.service.minor);
		hv->ic_state[i] = st.state;
		if (i == 0 && st.heartbeat != hv->hb_state) {
			hv->hb_state = st.heartbeat;
			if (hv->vsd)
				vmm_vsd_status_changed(hv->vsd);
			say(hv, st.heartbeat == VMBUS_HB_LOST ? LOG_WARNING : LOG_INFO,
			    "heartbeat: %s", vmbus_ic_heartbeat_state_name(st.heartbeat));
		}
	}
}

/* Builds the poll set: wake fd, vswitchd link, EOM notifications, our
 * doorbells (not the network channels'). Returns its size; relids[i] names
 * the doorbell of entry i (-1: not a doorbell, -2: the vswitchd link). */
static unsigned poll_set(struct vmm_hv *hv, struct pollfd *p, int *relids)
{
	unsigned n = 0, i;

	p[n] = (struct pollfd){ .fd = hv->wake_fd, .events = POLLIN };
	relids[n++] = -1;
	p[n] = (struct pollfd){ .fd = hv->vsd ? vmm_vsd_fd(hv->vsd) : -1, .events = POLLIN };
	relids[n++] = -2;
	for (i = 0; i < hv->cfg.ncpus; i++) {
		p[n] = (struct pollfd){ .fd = hv->vps[i].ack_fd, .events = POLLIN };
		relids[n++] = -1;
	}
	for (i = 0; i < MAX_DOORBELLS; i++)
		if (hv->bells[i].fd >= 0 && !hv->bells[i].external) {
			p[n] = (struct pollfd){ .fd = hv->bells[i].fd, .events = POLLIN };
			relids[n++] = (int)i;
		}
	return n;
}

static bool queues_waiting(struct vmm_hv *hv)
{
	unsigned i;

	for (i = 0; i < hv->cfg.ncpus; i++)
		if (hv->vps[i].q_len)
			return true;
	return false;
}

static void service(struct vmm_hv *hv, struct pollfd *p, const int *relids, unsigned n,
		    uint64_t *next_tick)
{
	unsigned i;

	if (hv->vsd)
		vmm_vsd_service(hv->vsd, now_ms()); /* reads its socket itself */
	for (i = 0; i < n; i++) {
		if (!(p[i].revents & POLLIN) || relids[i] == -2)
			continue;
		drain(p[i].fd);
		if (relids[i] >= 0 && hv->bells[relids[i]].fd == p[i].fd) {
			hv->doorbells++;
			vmbus_host_signal_event(hv->host, hv->bells[relids[i]].conn_id);
		}
	}
	for (i = 0; i < hv->cfg.ncpus; i++)
		flush_queue(hv, &hv->vps[i]);
	if (now_ms() >= *next_tick) {
		vmbus_ic_tick(hv->hb, now_ms());
		vmbus_ic_tick(hv->sd, now_ms());
		vmbus_ic_tick(hv->ts, now_ms());
		report(hv);
		*next_tick = now_ms() + TICK_MS;
	}
}

static void *vmbus_thread(void *arg)
{
	struct vmm_hv *hv = arg;
	struct pollfd *p;
	int *relids;
	uint64_t next_tick = 0;
	unsigned n;
	int timeout;

	pthread_setname_np(pthread_self(), "vmbus");
	p = calloc(2 + hv->cfg.ncpus + MAX_DOORBELLS, sizeof(*p));
	relids = calloc(2 + hv->cfg.ncpus + MAX_DOORBELLS, sizeof(*relids));
	while (p && relids && !hv->stop) {
		pthread_mutex_lock(&hv->lock);
		n = poll_set(hv, p, relids);
		timeout = queues_waiting(hv) ? POLL_BUSY_MS : TICK_MS;
		if (hv->vsd && vmm_vsd_timeout_ms(hv->vsd, now_ms()) < timeout)
			timeout = vmm_vsd_timeout_ms(hv->vsd, now_ms());
		pthread_mutex_unlock(&hv->lock);
		if (poll(p, n, timeout) < 0 && errno != EINTR)
			break;
		pthread_mutex_lock(&hv->lock);
		service(hv, p, relids, n, &next_tick);
		pthread_mutex_unlock(&hv->lock);
	}
	free(p);
	free(relids);
	return NULL;
}

int vmm_hv_start(struct vmm_hv *hv)
{
	int rc = pthread_create(&hv->thread, NULL, vmbus_thread, hv);

	if (rc)
		return -rc;
	hv->started = true;
	return 0;
}

static int shutdown_locked(struct vmm_hv *hv)
{
	int rc = vmbus_ic_shutdown_request(hv->sd, 0, SHUTDOWN_REASON, 0, "hvnet: host shutdown");

	if (rc == 0 && !hv->shutting_down) {
		hv->shutting_down = true;
		if (hv->vsd)
			vmm_vsd_status_changed(hv->vsd);
	}
	return rc;
}

int vmm_hv_request_shutdown(struct vmm_hv *hv)
{
	int rc;

	pthread_mutex_lock(&hv->lock);
	rc = shutdown_locked(hv);
	pthread_mutex_unlock(&hv->lock);
	return rc;
}

static const char *heartbeat_locked(struct vmm_hv *hv)
{
	struct vmbus_ic_stats st;

	vmbus_ic_get_stats(hv->hb, &st);
	return vmbus_ic_heartbeat_state_name(st.heartbeat);
}

void vmm_hv_report(struct vmm_hv *hv)
{
	char line[1024];
	size_t n = 0;
	int c;

	pthread_mutex_lock(&hv->lock);
	for (c = 0; c < VMBUS_HC_COUNT && n < sizeof(line) - 64; c++) {
		uint64_t v = vmbus_host_counter(hv->host, (enum vmbus_host_counter)c);

		if (v)
			n += (size_t)snprintf(line + n, sizeof(line) - n, " %s %llu",
					      vmbus_host_counter_name((enum vmbus_host_counter)c),
					      (unsigned long long)v);
	}
	line[n] = 0;
	say(hv, LOG_INFO, "vmbus:%s; signal events: %llu doorbells, %llu hypercalls; "
	    "%llu bad posts; heartbeat %s", n ? line : " no messages",
	    (unsigned long long)hv->doorbells, (unsigned long long)hv->hcall_events,
	    (unsigned long long)hv->post_rejected, heartbeat_locked(hv));
	if (hv->vsd) {
		struct vmm_vsd_stats st;

		vmm_vsd_get_stats(hv->vsd, &st);
		say(hv, LOG_INFO, "vswitchd link: %llu connects, %llu disconnects, %llu messages "
		    "out, %llu in (%llu bad), %llu close timeouts, %llu channels failed by "
		    "vswitchd, %llu requests", (unsigned long long)st.connects,
		    (unsigned long long)st.disconnects, (unsigned long long)st.tx,
		    (unsigned long long)st.rx, (unsigned long long)st.bad_rx,
		    (unsigned long long)st.close_timeouts, (unsigned long long)st.failed,
		    (unsigned long long)st.requests);
	}
	pthread_mutex_unlock(&hv->lock);
}

const char *vmm_hv_heartbeat(struct vmm_hv *hv)
{
	const char *name;

	pthread_mutex_lock(&hv->lock);
	name = heartbeat_locked(hv);
	pthread_mutex_unlock(&hv->lock);
	return name;
}

/* ---- setup ---- */

/* Guest reference counter (HV_X64_MSR_TIME_REF_COUNT without a TSC page):
 * KVM's clock in 100 ns units. */
static uint64_t ref_time(void *ctx)
{
	struct vmm_hv *hv = ctx;
	struct kvm_clock_data c;

	memset(&c, 0, sizeof(c));
	if (ioctl(hv->cfg.vm_fd, KVM_GET_CLOCK, &c) < 0)
		return 0;
	return c.clock / 100;
}

static int enable_synic(const struct vmm_hv_config *cfg)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_HYPERV_SYNIC2 };
	unsigned i;

	if (ioctl(cfg->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_HYPERV_SYNIC2) <= 0 ||
	    ioctl(cfg->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_HYPERV_EVENTFD) <= 0)
		return -ENOTSUP;
	for (i = 0; i < cfg->ncpus; i++)
		if (ioctl(cfg->vcpu_fds[i], KVM_ENABLE_CAP, &cap) < 0)
			return -errno;
	return 0;
}

/* KVM_SET_GSI_ROUTING replaces the whole table: KVM's default PIC and
 * IOAPIC routes first, then one HV_SINT route per vCPU. */
static int set_routes(struct vmm_hv *hv)
{
	unsigned n = HV_PIC_GSIS + HV_IRQCHIP_GSIS + hv->cfg.ncpus, i, k = 0;
	struct kvm_irq_routing *r = calloc(1, sizeof(*r) + n * sizeof(r->entries[0]));
	int rc = 0;

	if (!r)
		return -ENOMEM;
	for (i = 0; i < HV_IRQCHIP_GSIS; i++) {
		r->entries[k].gsi = i;
		r->entries[k].type = KVM_IRQ_ROUTING_IRQCHIP;
		r->entries[k].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
		r->entries[k++].u.irqchip.pin = i;
		if (i >= HV_PIC_GSIS)
			continue;
		r->entries[k].gsi = i;
		r->entries[k].type = KVM_IRQ_ROUTING_IRQCHIP;
		r->entries[k].u.irqchip.irqchip = i < 8 ? KVM_IRQCHIP_PIC_MASTER
							: KVM_IRQCHIP_PIC_SLAVE;
		r->entries[k++].u.irqchip.pin = i % 8;
	}
	for (i = 0; i < hv->cfg.ncpus; i++) {
		r->entries[k].gsi = HV_SINT_GSI_BASE + i;
		r->entries[k].type = KVM_IRQ_ROUTING_HV_SINT;
		r->entries[k].u.hv_sint.vcpu = i;
		r->entries[k++].u.hv_sint.sint = HV_SINT_VMBUS;
	}
	r->nr = k;
	if (ioctl(hv->cfg.vm_fd, KVM_SET_GSI_ROUTING, r) < 0)
		rc = -errno;
	free(r);
	return rc;
}

/* An irqfd per vCPU on its SINT 2 route; its resample fd reports EOM. */
static int set_irqfds(struct vmm_hv *hv)
{
	unsigned i;

	for (i = 0; i < hv->cfg.ncpus; i++) {
		struct hv_vp *vp = &hv->vps[i];
		struct kvm_irqfd irqfd = { .gsi = HV_SINT_GSI_BASE + i };

		vp->sint_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		vp->ack_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		vp->q = calloc(MSG_QUEUE_MAX, sizeof(*vp->q));
		if (vp->sint_fd < 0 || vp->ack_fd < 0 || !vp->q)
			return -ENOMEM;
		irqfd.fd = (uint32_t)vp->sint_fd;
		irqfd.flags = KVM_IRQFD_FLAG_RESAMPLE;
		irqfd.resamplefd = (uint32_t)vp->ack_fd;
		if (ioctl(hv->cfg.vm_fd, KVM_IRQFD, &irqfd) == 0) {
			hv->eom_notified++;
			continue;
		}
		/* no EOM notification: the VMBus thread polls busy slots */
		irqfd.flags = 0;
		irqfd.resamplefd = 0;
		if (ioctl(hv->cfg.vm_fd, KVM_IRQFD, &irqfd) < 0)
			return -errno;
	}
	return 0;
}

static int add_ics(struct vmm_hv *hv)
{
	struct vmbus_ic_config c = { .kind = VMBUS_IC_HEARTBEAT };

	hv->hb = vmbus_ic_create(hv->host, &c);
	c = (struct vmbus_ic_config){ .kind = VMBUS_IC_SHUTDOWN };
	hv->sd = hv->hb ? vmbus_ic_create(hv->host, &c) : NULL;
	c = (struct vmbus_ic_config){ .kind = VMBUS_IC_TIMESYNC, .ref_time = ref_time,
				      .time_ctx = hv };
	hv->ts = hv->sd ? vmbus_ic_create(hv->host, &c) : NULL;
	return hv->ts ? 0 : -errno;
}

/* ---- the vswitchd link's view of the VM (called under hv->lock) ---- */

static int vsd_doorbell(void *ctx, uint32_t relid, uint32_t conn_id)
{
	return doorbell_create(ctx, relid, conn_id, true);
}

static int vsd_irqfd(void *ctx, uint32_t vp)
{
	struct vmm_hv *hv = ctx;

	return vp < hv->cfg.ncpus ? hv->vps[vp].sint_fd : -EINVAL;
}

static uint64_t vsd_sief_gpa(void *ctx, uint32_t vp)
{
	struct vmm_hv *hv = ctx;

	return vp < hv->cfg.ncpus ? hv->vps[vp].siefp : 0;
}

static int vsd_shutdown(void *ctx)
{
	return shutdown_locked(ctx);
}

static void vsd_poweroff(void *ctx)
{
	struct vmm_hv *hv = ctx;

	if (hv->cfg.poweroff)
		hv->cfg.poweroff(hv->cfg.owner);
}

static void vsd_status(void *ctx, struct vmbus_user_status *st)
{
	struct vmm_hv *hv = ctx;
	struct vmbus_ic_stats ic;

	vmbus_ic_get_stats(hv->hb, &ic);
	st->state = hv->shutting_down ? VMBUS_USER_VM_SHUTTING_DOWN
		    : vmbus_host_version(hv->host) ? VMBUS_USER_VM_RUNNING : VMBUS_USER_VM_STARTING;
	st->heartbeat = ic.heartbeat == VMBUS_HB_OK ? VMBUS_USER_HB_OK
			: ic.heartbeat == VMBUS_HB_LOST ? VMBUS_USER_HB_LOST_CONTACT
							: VMBUS_USER_HB_NO_CONTACT;
	st->uptime_ms = now_ms() - hv->start_ms;
	st->vmbus_version = vmbus_host_version(hv->host);
}

static const struct vmm_vsd_ops vsd_ops = {
	.doorbell = vsd_doorbell,
	.irqfd = vsd_irqfd,
	.sief_gpa = vsd_sief_gpa,
	.shutdown = vsd_shutdown,
	.poweroff = vsd_poweroff,
	.status = vsd_status,
	.log = host_log,
};

/* The link and its NIC devices (offered after the ICs). */
static int add_nics(struct vmm_hv *hv)
{
	struct vmm_vsd_config c = *hv->cfg.vsd;
	struct vmm_vsd_region r[VMBUS_USER_MAX_REGIONS];
	unsigned i;

	c.nr_regions = vmm_memory_nregions(hv->cfg.mem);
	for (i = 0; i < c.nr_regions && i < VMBUS_USER_MAX_REGIONS; i++) {
		const struct vmm_memory_region *m = vmm_memory_region(hv->cfg.mem, i);

		r[i] = (struct vmm_vsd_region){ .gpa = m->gpa, .size = m->size,
						.offset = m->fd_offset };
	}
	c.regions = r;
	c.mem_fd = vmm_memory_fd(hv->cfg.mem);
	c.nr_vcpus = hv->cfg.ncpus;
	c.memory_mib = (uint32_t)(vmm_memory_size(hv->cfg.mem) >> 20);
	hv->vsd = vmm_vsd_new(&c, &vsd_ops, hv);
	if (!hv->vsd)
		return -errno;
	return vmm_vsd_add_nics(hv->vsd, hv->host);
}

int vmm_hv_connect_vswitchd(struct vmm_hv *hv, unsigned timeout_ms, char *err, size_t errlen)
{
	int rc;

	if (!hv->vsd)
		return 0;
	pthread_mutex_lock(&hv->lock);
	rc = vmm_vsd_connect(hv->vsd, timeout_ms, err, errlen);
	pthread_mutex_unlock(&hv->lock);
	if (rc == 0)
		say(hv, LOG_INFO, "vswitchd: connected to %s, %u NIC%s", hv->cfg.vsd->path,
		    hv->cfg.vsd->nr_nics, hv->cfg.vsd->nr_nics > 1 ? "s" : "");
	return rc;
}

static int setup(struct vmm_hv *hv)
{
	struct vmbus_host_config hc = { .nr_vcpus = hv->cfg.ncpus };
	int rc;

	rc = enable_synic(&hv->cfg);
	if (rc == 0)
		rc = set_routes(hv);
	if (rc == 0)
		rc = set_irqfds(hv);
	if (rc < 0)
		return rc;
	hv->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	hv->host = vmbus_host_create(&host_ops, hv, &hc);
	if (hv->wake_fd < 0 || !hv->host)
		return -ENOMEM;
	say(hv, LOG_INFO, "Hyper-V: SynIC on %u vCPU%s, EOM %s", hv->cfg.ncpus,
	    hv->cfg.ncpus > 1 ? "s" : "",
	    hv->eom_notified == hv->cfg.ncpus ? "through resample irqfds" : "by polling");
	rc = add_ics(hv);
	if (rc == 0 && hv->cfg.vsd)
		rc = add_nics(hv);
	return rc;
}

struct vmm_hv *vmm_hv_new(const struct vmm_hv_config *cfg)
{
	struct vmm_hv *hv = calloc(1, sizeof(*hv));
	unsigned i;
	int rc;

	if (!hv)
		return NULL;
	hv->cfg = *cfg;
	hv->wake_fd = -1;
	hv->start_ms = now_ms();
	pthread_mutex_init(&hv->lock, NULL);
	for (i = 0; i < MAX_DOORBELLS; i++)
		hv->bells[i].fd = -1;
	hv->vps = calloc(cfg->ncpus, sizeof(*hv->vps));
	for (i = 0; hv->vps && i < cfg->ncpus; i++)
		hv->vps[i].sint_fd = hv->vps[i].ack_fd = -1;
	rc = hv->vps ? setup(hv) : -ENOMEM;
	hv->cfg.vcpu_fds = NULL; /* borrowed for setup only */
	if (rc < 0) {
		vmm_hv_free(hv);
		errno = -rc;
		return NULL;
	}
	return hv;
}

void vmm_hv_free(struct vmm_hv *hv)
{
	unsigned i;

	if (!hv)
		return;
	if (hv->started) {
		hv->stop = true;
		kick(hv->wake_fd);
		pthread_join(hv->thread, NULL);
	}
	vmbus_ic_destroy(hv->ts);
	vmbus_ic_destroy(hv->sd);
	vmbus_ic_destroy(hv->hb);
	vmbus_host_destroy(hv->host); /* closes NIC channels through the link */
	vmm_vsd_free(hv->vsd);
	for (i = 0; i < MAX_DOORBELLS; i++)
		if (hv->bells[i].fd >= 0)
			close(hv->bells[i].fd);
	for (i = 0; hv->vps && i < hv->cfg.ncpus; i++) {
		if (hv->vps[i].sint_fd >= 0)
			close(hv->vps[i].sint_fd);
		if (hv->vps[i].ack_fd >= 0)
			close(hv->vps[i].ack_fd);
		free(hv->vps[i].q);
	}
	free(hv->vps);
	if (hv->wake_fd >= 0)
		close(hv->wake_fd);
	pthread_mutex_destroy(&hv->lock);
	free(hv);
}
