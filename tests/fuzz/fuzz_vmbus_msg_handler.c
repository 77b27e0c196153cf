/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the VMBus host's channel-management message handler.
 * Each input starts a fresh host (two dummy devices, heartbeat and shutdown
 * ICs) and guest simulator, runs a valid prefix chosen by the first byte
 * (connected; + offers; + one open channel), then feeds the rest as a
 * sequence of records: [selector][length][bytes]. Selectors below 0xf0 post
 * a message on connection 1, 4, 5 (the negotiated msg_conn_id) or an odd
 * one; 0xf0.. run guest actions (poll, signal, ticks, shutdown request,
 * remove device). Invariant checked besides ASan/UBSan: the host never sends
 * the guest a message the guest cannot parse.
 *
 * HVNET_FUZZ_SEEDS=dir writes a seed corpus of valid sequences and exits.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmbus/guest_sim.h"
#include "vmbus/ic.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define MSG_CONN 5u

static int d_open(void *vsp, struct vmbus_channel *ch, const uint8_t *userdata)
{
	(void)userdata;
	*(struct vmbus_channel **)vsp = ch;
	return 0;
}

static void d_close(void *vsp, struct vmbus_channel *ch)
{
	(void)ch;
	*(struct vmbus_channel **)vsp = NULL;
}

static void d_signalled(void *vsp, struct vmbus_channel *ch)
{
	uint8_t buf[256];
	struct vmbus_pkt pkt;
	int ret;

	while (*(struct vmbus_channel **)vsp == ch &&
	       (ret = vmbus_channel_recv(ch, &pkt, buf, sizeof(buf))) >= 0)
		vmbus_channel_send(ch, VMBUS_PKT_COMP, 0, pkt.trans_id, buf, (size_t)ret);
}

static const struct vmbus_vsp_ops dummy_ops = {
	.name = "fuzz", .open = d_open, .close = d_close, .signalled = d_signalled,
};

struct world {
	struct vmbus_gsim *g;
	struct vmbus_host *h;
	struct vmbus_ic *hb;
	struct vmbus_ic *sd;
	struct vmbus_channel *dev_ch[2];
	uint32_t relid[2];
};

static int world_up(struct world *w, unsigned int depth)
{
	struct vmbus_gsim_config gc = { .mem_size = 2u << 20 };
	struct vmbus_host_config hc = {
		.nr_vcpus = 2, .guest_mem_size = 2u << 20, .msg_conn_id = MSG_CONN,
	};
	struct vmbus_ic_config ic = { .kind = VMBUS_IC_HEARTBEAT };
	struct vmbus_device_info info;
	uint32_t v;

	memset(w, 0, sizeof(*w));
	w->g = vmbus_gsim_create(&gc);
	if (!w->g)
		return -1;
	w->h = vmbus_host_create(vmbus_gsim_host_ops(), w->g, &hc);
	if (!w->h)
		return -1;
	vmbus_gsim_attach(w->g, w->h);
	for (int i = 0; i < 2; i++) {
		memset(&info, 0, sizeof(info));
		vmbus_guid_parse("f8615163-df3e-46c5-913f-f2d2f965ed0e", &info.class_id);
		info.instance_id.b[0] = (uint8_t)(i + 1);
		vmbus_host_add_device(w->h, &info, &dummy_ops, &w->dev_ch[i], &w->relid[i]);
	}
	w->hb = vmbus_ic_create(w->h, &ic);
	ic.kind = VMBUS_IC_SHUTDOWN;
	w->sd = vmbus_ic_create(w->h, &ic);
	if (vmbus_gsim_connect_linux(w->g, &v))
		return -1;
	if (depth >= 1 && vmbus_gsim_request_offers(w->g) < 0)
		return -1;
	if (depth >= 2 && vmbus_gsim_open(w->g, w->relid[0], 2, 2, 0))
		return -1;
	if (depth >= 2 && vmbus_gsim_open(w->g, vmbus_ic_relid(w->hb), 2, 2, 0) == 0)
		vmbus_gsim_poll(w->g);
	return 0;
}

static void world_down(struct world *w)
{
	if (w->g && vmbus_gsim_stats(w->g)->bad_msgs)
		__builtin_trap(); /* the host sent an unparsable message */
	vmbus_ic_destroy(w->hb);
	vmbus_ic_destroy(w->sd);
	vmbus_host_destroy(w->h);
	vmbus_gsim_destroy(w->g);
}

static void action(struct world *w, uint8_t sel, const uint8_t *arg, size_t n)
{
	static uint64_t now;
	uint8_t b[64] = { 0 };

	switch (sel & 7) {
	case 0:
		vmbus_gsim_poll(w->g);
		break;
	case 1:
		vmbus_host_signal_event(w->h, 0x1000 + (n ? arg[0] : 1));
		break;
	case 2:
		now += 1500;
		vmbus_ic_tick(w->hb, now);
		vmbus_ic_tick(w->sd, now);
		break;
	case 3:
		vmbus_ic_shutdown_request(w->sd, n ? arg[0] : 0, 0, 0, "fuzz");
		break;
	case 4:
		vmbus_host_remove_device(w->h, w->relid[1]);
		break;
	case 5:
		memcpy(b, arg, n < sizeof(b) ? n : sizeof(b));
		vmbus_gsim_send(w->g, w->relid[0], 1, b, n < sizeof(b) ? n : sizeof(b));
		break;
	default:
		vmbus_gsim_poll(w->g);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t conns[] = { 1, 4, MSG_CONN, 0x1001 };
	struct world w;
	size_t pos = 1;

	if (size < 1)
		return 0;
	if (world_up(&w, data[0] % 3) == 0) {
		while (pos + 2 <= size) {
			uint8_t sel = data[pos], len = data[pos + 1];
			size_t n = len;

			pos += 2;
			if (n > size - pos)
				n = size - pos;
			if (sel >= 0xf0)
				action(&w, sel, data + pos, n);
			else
				vmbus_gsim_post(w.g, conns[sel & 3], data + pos, n);
			pos += n;
			vmbus_gsim_poll(w.g);
		}
	}
	world_down(&w);
	return 0;
}

/* ---- seed corpus ---- */

struct seed {
	uint8_t b[4096];
	size_t n;
};

static void put(struct seed *s, uint8_t sel, const void *msg, size_t len)
{
	if (s->n + 2 + len > sizeof(s->b))
		return;
	s->b[s->n++] = sel;
	s->b[s->n++] = (uint8_t)len;
	memcpy(s->b + s->n, msg, len);
	s->n += len;
}

static void put_gpadl(struct seed *s, uint32_t relid, uint32_t id, uint32_t npages)
{
	uint8_t b[240];
	struct vmbus_wire_gpadl_header h = { .hdr.msgtype = VMBUS_MSG_GPADL_HEADER };
	struct vmbus_wire_gpadl_body body = { .hdr.msgtype = VMBUS_MSG_GPADL_BODY, .gpadl = id };
	struct vmbus_wire_gpa_range r = { .byte_count = npages * 4096 };
	uint32_t sent = npages < 26 ? npages : 26;

	h.child_relid = relid;
	h.gpadl = id;
	h.rangecount = 1;
	h.range_buflen = (uint16_t)(8 + npages * 8);
	memcpy(b, &h, 20);
	memcpy(b + 20, &r, 8);
	for (uint32_t i = 0; i < sent; i++) {
		uint64_t pfn = 64 + i;
		memcpy(b + 28 + i * 8, &pfn, 8);
	}
	put(s, 2, b, 28 + sent * 8);
	while (sent < npages) {
		uint32_t k = npages - sent < 28 ? npages - sent : 28;

		memcpy(b, &body, 16);
		for (uint32_t i = 0; i < k; i++) {
			uint64_t pfn = 64 + sent + i;
			memcpy(b + 16 + i * 8, &pfn, 8);
		}
		put(s, 2, b, 16 + k * 8);
		sent += k;
	}
}

static void write_seed(const char *dir, int n, const struct seed *s)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/seed-%02d", dir, n);
	f = fopen(path, "wb");
	if (!f)
		return;
	fwrite(s->b, 1, s->n, f);
	fclose(f);
}

static void write_seeds(const char *dir)
{
	struct vmbus_wire_open o = { .hdr.msgtype = VMBUS_MSG_OPENCHANNEL };
	struct vmbus_wire_relid c = { .hdr.msgtype = VMBUS_MSG_CLOSECHANNEL, .child_relid = 2 };
	struct vmbus_wire_gpadl_teardown t = { .hdr.msgtype = VMBUS_MSG_GPADL_TEARDOWN };
	struct vmbus_wire_hdr u = { .msgtype = VMBUS_MSG_UNLOAD };
	struct vmbus_wire_hdr ro = { .msgtype = VMBUS_MSG_REQUESTOFFERS };
	struct vmbus_wire_initiate_contact ic = { .hdr.msgtype = VMBUS_MSG_INITIATE_CONTACT };
	struct vmbus_wire_relid rr = { .hdr.msgtype = VMBUS_MSG_RELID_RELEASED, .child_relid = 2 };
	struct vmbus_wire_modifychannel mc = { .hdr.msgtype = VMBUS_MSG_MODIFYCHANNEL };
	uint8_t act[2] = { 0, 1 };
	struct seed s;
	int n = 0;

	o.child_relid = 2;
	o.openid = 2;
	o.ringbuffer_gpadl = 0x100;
	o.downstream_page_offset = 3;
	t.child_relid = 2;
	t.gpadl = 0x100;
	mc.child_relid = 1;
	mc.target_vp = 1;
	ic.version_requested = VMBUS_VERSION_5_2;
	ic.msg_sint = 2;
	/* open, data, close, teardown */
	memset(&s, 0, sizeof(s));
	s.b[s.n++] = 1;
	put_gpadl(&s, 2, 0x100, 6);
	put(&s, 2, &o, sizeof(o));
	put(&s, 0xf5, "hello, ring", 11);
	put(&s, 2, &mc, sizeof(mc));
	put(&s, 2, &c, sizeof(c));
	put(&s, 2, &t, sizeof(t));
	write_seed(dir, n++, &s);
	/* big GPADL, unload, re-contact, offers */
	memset(&s, 0, sizeof(s));
	s.b[s.n++] = 2;
	put_gpadl(&s, 1, 0x200, 90);
	put(&s, 0xf2, act, 0);
	put(&s, 0xf3, act, 1);
	put(&s, 2, &u, sizeof(u));
	put(&s, 1, &ic, sizeof(ic));
	put(&s, 2, &ro, sizeof(ro));
	write_seed(dir, n++, &s);
	/* rescind and release */
	memset(&s, 0, sizeof(s));
	s.b[s.n++] = 1;
	put(&s, 0xf4, act, 0);
	put(&s, 2, &rr, sizeof(rr));
	put(&s, 0xf1, act + 1, 1);
	write_seed(dir, n++, &s);
	fprintf(stderr, "wrote %d seeds to %s\n", n, dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("HVNET_FUZZ_SEEDS");

	(void)argc;
	(void)argv;
	if (dir) {
		write_seeds(dir);
		exit(0);
	}
	return 0;
}
