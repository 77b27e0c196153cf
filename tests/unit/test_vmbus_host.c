/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the VMBus host state machine (vmbus/host.h), driven end to
 * end by the guest-side simulator (vmbus/guest_sim.h) playing a Linux guest:
 * version negotiation and fallback with connection ids, offers, GPADLs with
 * body messages, open/close/teardown, data through the rings to a dummy VSP,
 * rescind, unload, malformed messages (each rejected and counted) and
 * corrupted rings.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <cmocka.h>

#include "vmbus/guest_sim.h"
#include "vmbus/host.h"

#define NIC_GUID "f8615163-df3e-46c5-913f-f2d2f965ed0e"
#define SCSI_GUID "ba6163d9-04a1-4d29-b605-72e2ffb1dc7f"

struct dummy {
	int opens;
	int closes;
	int readies;
	int signals;
	int refuse;
	int recv_err;
	struct vmbus_channel *ch;
	uint8_t last[512];
	int last_len;
	uint64_t last_trans;
};

static int d_open(void *vsp, struct vmbus_channel *ch, const uint8_t *userdata)
{
	struct dummy *d = vsp;

	(void)userdata;
	if (d->refuse)
		return -EIO;
	assert_non_null(vmbus_channel_in_ring(ch));
	assert_non_null(vmbus_channel_out_ring(ch));
	d->opens++;
	d->ch = ch;
	return 0;
}

static void d_close(void *vsp, struct vmbus_channel *ch)
{
	struct dummy *d = vsp;

	assert_ptr_equal(d->ch, ch);
	d->closes++;
	d->ch = NULL;
}

static void d_ready(void *vsp, struct vmbus_channel *ch)
{
	struct dummy *d = vsp;

	(void)ch;
	d->readies++;
}

/* Reads everything and echoes each packet back. */
static void d_signalled(void *vsp, struct vmbus_channel *ch)
{
	struct dummy *d = vsp;
	struct vmbus_pkt pkt;
	int ret;

	d->signals++;
	while (d->ch == ch) {
		ret = vmbus_channel_recv(ch, &pkt, d->last, sizeof(d->last));
		if (ret < 0) {
			if (ret != -EAGAIN)
				d->recv_err = ret;
			break;
		}
		d->last_len = ret;
		d->last_trans = pkt.trans_id;
		assert_int_equal(vmbus_channel_send(ch, VMBUS_PKT_COMP, 0, pkt.trans_id, d->last,
						    (size_t)ret),
				 0);
	}
}

static const struct vmbus_vsp_ops dummy_ops = {
	.name = "dummy",
	.open = d_open,
	.close = d_close,
	.ready = d_ready,
	.signalled = d_signalled,
};

struct env {
	struct vmbus_gsim *g;
	struct vmbus_host *h;
	struct dummy nic;
	struct dummy scsi;
	uint32_t nic_relid;
	uint32_t scsi_relid;
};

static void add_dev(struct env *e, const char *class_guid, uint8_t inst, struct dummy *d,
		    uint32_t *relid)
{
	struct vmbus_device_info info;

	memset(&info, 0, sizeof(info));
	assert_int_equal(vmbus_guid_parse(class_guid, &info.class_id), 0);
	info.instance_id.b[0] = inst;
	info.instance_id.b[15] = 0x42;
	assert_int_equal(vmbus_host_add_device(e->h, &info, &dummy_ops, d, relid), 0);
}

static struct env *env_new(const struct vmbus_host_config *hc, bool scatter)
{
	struct vmbus_gsim_config gc = { .mem_size = 8u << 20, .scatter_pages = scatter };
	struct vmbus_host_config def = { .nr_vcpus = 2, .guest_mem_size = 8u << 20 };
	struct env *e = calloc(1, sizeof(*e));

	e->g = vmbus_gsim_create(&gc);
	assert_non_null(e->g);
	e->h = vmbus_host_create(vmbus_gsim_host_ops(), e->g, hc ? hc : &def);
	assert_non_null(e->h);
	vmbus_gsim_attach(e->g, e->h);
	add_dev(e, NIC_GUID, 1, &e->nic, &e->nic_relid);
	add_dev(e, SCSI_GUID, 2, &e->scsi, &e->scsi_relid);
	return e;
}

static void env_free(struct env *e)
{
	/* the host never sent the guest anything it could not parse */
	assert_int_equal(vmbus_gsim_stats(e->g)->bad_msgs, 0);
	vmbus_host_destroy(e->h);
	vmbus_gsim_destroy(e->g);
	free(e);
}

static uint64_t ctr(struct env *e, enum vmbus_host_counter c)
{
	return vmbus_host_counter(e->h, c);
}

static struct env *env_connected(bool scatter)
{
	struct env *e = env_new(NULL, scatter);
	uint32_t v;

	assert_int_equal(vmbus_gsim_connect_linux(e->g, &v), 0);
	assert_int_equal(vmbus_gsim_request_offers(e->g), 2);
	return e;
}

static void test_negotiate_5_3(void **state)
{
	struct env *e = env_new(NULL, false);
	const struct vmbus_gsim_stats *st = vmbus_gsim_stats(e->g);
	uint32_t v = 0;

	(void)state;
	assert_int_equal(vmbus_host_state(e->h), VMBUS_HOST_DISCONNECTED);
	assert_int_equal(vmbus_gsim_connect_linux(e->g, &v), 0);
	assert_int_equal(v, VMBUS_VERSION_5_3);
	assert_int_equal(st->contacts, 1);
	assert_int_equal(st->contact_conn_ids[0], VMBUS_MSG_CONN_ID_4);
	assert_int_equal(st->msg_conn_id, VMBUS_MSG_CONN_ID);
	assert_int_equal(vmbus_host_state(e->h), VMBUS_HOST_CONNECTED);
	assert_int_equal(vmbus_host_version(e->h), VMBUS_VERSION_5_3);
	assert_int_equal(ctr(e, VMBUS_HC_VERSION_REJECTED), 0);
	env_free(e);
}

/* A host limited to 4.0 refuses 5.3..5.0 on connection 4 and 4.1 on
 * connection 1, and accepts 4.0 on connection 1. */
static void test_version_fallback(void **state)
{
	struct vmbus_host_config hc = { .max_version = VMBUS_VERSION_4_0, .nr_vcpus = 1 };
	struct env *e = env_new(&hc, false);
	const struct vmbus_gsim_stats *st = vmbus_gsim_stats(e->g);
	static const uint32_t conn[] = { 4, 4, 4, 4, 1, 1 };
	uint32_t v = 0;

	(void)state;
	assert_int_equal(vmbus_gsim_connect_linux(e->g, &v), 0);
	assert_int_equal(v, VMBUS_VERSION_4_0);
	assert_int_equal(st->contacts, 6);
	for (int i = 0; i < 6; i++)
		assert_int_equal(st->contact_conn_ids[i], conn[i]);
	assert_int_equal(st->contact_versions[4], VMBUS_VERSION_4_1);
	assert_int_equal(ctr(e, VMBUS_HC_VERSION_REJECTED), 5);
	assert_int_equal(vmbus_host_version(e->h), VMBUS_VERSION_4_0);
	assert_int_equal(st->msg_conn_id, VMBUS_MSG_CONN_ID);
	/* the protocol works at 4.0 */
	assert_int_equal(vmbus_gsim_request_offers(e->g), 2);
	assert_int_equal(vmbus_gsim_open(e->g, e->nic_relid, 4, 4, 0), 0);
	assert_int_equal(e->nic.opens, 1);
	env_free(e);
}

static void post_contact(struct env *e, uint32_t conn, uint32_t v, uint8_t sint, uint32_t vcpu)
{
	struct vmbus_wire_initiate_contact c;

	memset(&c, 0, sizeof(c));
	c.hdr.msgtype = VMBUS_MSG_INITIATE_CONTACT;
	c.version_requested = v;
	c.target_vcpu = vcpu;
	c.msg_sint = sint;
	assert_int_equal(vmbus_gsim_post(e->g, conn, &c, sizeof(c)), 0);
}

static void test_contact_conn_ids(void **state)
{
	struct vmbus_host_config hc = { .nr_vcpus = 2, .msg_conn_id = 7 };
	struct env *e = env_new(&hc, false);
	struct vmbus_wire_hdr ro = { .msgtype = VMBUS_MSG_REQUESTOFFERS };

	(void)state;
	post_contact(e, 1, VMBUS_VERSION_5_0, 2, 0); /* 5.x must use connection 4 */
	post_contact(e, 4, VMBUS_VERSION_4_0, 0, 0); /* 4.0 must use connection 1 */
	post_contact(e, 4, VMBUS_VERSION_5_2, 3, 0); /* wrong SINT */
	post_contact(e, 4, VMBUS_VERSION_5_2, 2, 2); /* no such vCPU */
	post_contact(e, 4, VMBUS_VERSION(6, 0), 2, 0); /* unknown version */
	post_contact(e, 1, VMBUS_VERSION_WIN8_1, 0, 0);
	assert_int_equal(ctr(e, VMBUS_HC_VERSION_REJECTED), 6);
	assert_int_equal(vmbus_host_state(e->h), VMBUS_HOST_DISCONNECTED);
	assert_int_equal(vmbus_gsim_post(e->g, 9, &ro, sizeof(ro)), -ENOENT);
	assert_int_equal(ctr(e, VMBUS_HC_MSG_BAD_CONN_ID), 1);
	/* accepted: the guest then uses msg_conn_id 7 */
	post_contact(e, 4, VMBUS_VERSION_5_1, 2, 1);
	assert_int_equal(vmbus_host_version(e->h), VMBUS_VERSION_5_1);
	assert_int_equal(vmbus_host_target_vcpu(e->h), 1);
	assert_int_equal(vmbus_gsim_post(e->g, 1, &ro, sizeof(ro)), -EPERM);
	assert_int_equal(ctr(e, VMBUS_HC_MSG_BAD_CONN_ID), 2);
	assert_int_equal(vmbus_gsim_post(e->g, 7, &ro, sizeof(ro)), 0);
	vmbus_gsim_poll(e->g);
	assert_int_equal(vmbus_gsim_stats(e->g)->offers, 2);
	assert_int_equal(vmbus_gsim_stats(e->g)->last_msg_vp, 1); /* target_vcpu honoured */
	env_free(e);
}

static void test_offers(void **state)
{
	struct env *e = env_connected(false);
	struct dummy extra = { 0 };
	uint32_t relid, extra_relid;

	(void)state;
	assert_int_equal(vmbus_gsim_find_offer(e->g, NIC_GUID, &relid), 0);
	assert_int_equal(relid, e->nic_relid);
	assert_int_equal(vmbus_gsim_find_offer(e->g, SCSI_GUID, &relid), 0);
	assert_int_equal(relid, e->scsi_relid);
	/* hot-add after REQUESTOFFERS is offered at once */
	add_dev(e, "57164f39-9115-4e78-ab55-382f3bd5422d", 3, &extra, &extra_relid);
	vmbus_gsim_poll(e->g);
	assert_int_equal(vmbus_gsim_stats(e->g)->offers, 3);
	/* duplicate instance GUID refused */
	struct vmbus_device_info info = { 0 };
	info.instance_id.b[0] = 3;
	info.instance_id.b[15] = 0x42;
	assert_int_equal(vmbus_host_add_device(e->h, &info, &dummy_ops, &extra, NULL), -EEXIST);
	env_free(e);
}

/* NetVSC-style subchannels: offered with the primary's GUIDs and an index,
 * opened independently, each with its own connection id. */
static void test_subchannels(void **state)
{
	struct env *e = env_connected(false);
	struct vmbus_device_info info;
	struct dummy sub[2] = { { 0 }, { 0 } };
	uint32_t relid[2];
	bool same;

	(void)state;
	memset(&info, 0, sizeof(info));
	assert_int_equal(vmbus_guid_parse(NIC_GUID, &info.class_id), 0);
	info.instance_id.b[0] = 1; /* the NIC's instance */
	info.instance_id.b[15] = 0x42;
	for (int i = 0; i < 2; i++) {
		info.sub_channel_index = (uint16_t)(i + 1);
		assert_int_equal(vmbus_host_add_device(e->h, &info, &dummy_ops, &sub[i], &relid[i]),
				 0);
	}
	assert_int_equal(vmbus_host_add_device(e->h, &info, &dummy_ops, &sub[0], NULL), -EEXIST);
	info.instance_id.b[0] = 7; /* no such primary */
	assert_int_equal(vmbus_host_add_device(e->h, &info, &dummy_ops, &sub[0], NULL), -ENOENT);
	vmbus_gsim_poll(e->g);
	assert_int_equal(vmbus_gsim_stats(e->g)->offers, 4);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(vmbus_gsim_offer_subchannel(e->g, relid[i], e->nic_relid, &same),
				 i + 1);
		assert_true(same);
		assert_int_equal(vmbus_gsim_open(e->g, relid[i], 2, 2, 0), 0);
		assert_int_equal(sub[i].opens, 1);
	}
	assert_int_not_equal(vmbus_channel_conn_id(sub[0].ch), vmbus_channel_conn_id(sub[1].ch));
	assert_int_equal(vmbus_gsim_offer_subchannel(e->g, e->nic_relid, e->nic_relid, &same), 0);
	env_free(e);
}

static void test_before_contact(void **state)
{
	struct env *e = env_new(NULL, false);
	struct vmbus_wire_hdr ro = { .msgtype = VMBUS_MSG_REQUESTOFFERS };

	(void)state;
	assert_int_equal(vmbus_gsim_post(e->g, 1, &ro, sizeof(ro)), -ENOTCONN);
	assert_int_equal(ctr(e, VMBUS_HC_MSG_BAD_STATE), 1);
	assert_int_equal(vmbus_gsim_stats(e->g)->offers, 0);
	env_free(e);
}

static void test_gpadl_bodies(void **state)
{
	struct env *e = env_connected(false);
	uint32_t id;
	uint64_t rx = ctr(e, VMBUS_HC_MSG_RX);

	(void)state;
	/* 100 pages: header with 26 pfns + 3 bodies (28 + 28 + 18) */
	assert_int_equal(vmbus_gsim_gpadl_create(e->g, e->nic_relid, 100, &id), 0);
	assert_int_equal(ctr(e, VMBUS_HC_MSG_RX) - rx, 4);
	assert_int_equal(ctr(e, VMBUS_HC_GPADL_CREATED), 1);
	/* a GPADL exactly filling the header, and one needing one body pfn */
	assert_int_equal(vmbus_gsim_gpadl_create(e->g, e->nic_relid, 26, &id), 0);
	assert_int_equal(vmbus_gsim_gpadl_create(e->g, e->nic_relid, 27, &id), 0);
	assert_int_equal(ctr(e, VMBUS_HC_GPADL_CREATED), 3);
	assert_int_equal(vmbus_gsim_gpadl_teardown(e->g, e->nic_relid, id), 0);
	assert_int_equal(ctr(e, VMBUS_HC_GPADL_TORNDOWN), 1);
	/* tearing it down again is refused */
	assert_int_equal(vmbus_gsim_gpadl_teardown(e->g, e->nic_relid, id), -ETIMEDOUT);
	assert_int_equal(ctr(e, VMBUS_HC_GPADL_UNKNOWN), 1);
	env_free(e);
}

/* GPADL header with explicit pfns. */
static int post_gpadl(struct env *e, uint32_t relid, uint32_t id, const uint64_t *pfns,
		      uint32_t n, uint32_t announced)
{
	uint8_t b[240];
	struct vmbus_wire_gpadl_header h = { .hdr.msgtype = VMBUS_MSG_GPADL_HEADER };
	struct vmbus_wire_gpa_range r = { .byte_count = announced * 4096 };

	h.child_relid = relid;
	h.gpadl = id;
	h.rangecount = 1;
	h.range_buflen = (uint16_t)(8 + announced * 8);
	memcpy(b, &h, sizeof(h));
	memcpy(b + 20, &r, 8);
	memcpy(b + 28, pfns, n * 8);
	return vmbus_gsim_post(e->g, 1, b, 28 + n * 8);
}

static void test_gpadl_rejects(void **state)
{
	struct env *e = env_connected(false);
	uint64_t good[2] = { 100, 101 }, bad[2] = { 100, 8u << 20 >> 12 }, huge[1] = { ~0ull };
	uint8_t b[64];
	struct vmbus_wire_gpadl_body body = { .hdr.msgtype = VMBUS_MSG_GPADL_BODY };

	(void)state;
	/* page just past guest memory */
	assert_int_equal(post_gpadl(e, e->nic_relid, 0x100, bad, 2, 2), -EINVAL);
	assert_int_equal(vmbus_gsim_stats(e->g)->bad_msgs, 0);
	vmbus_gsim_poll(e->g);
	assert_int_equal(vmbus_gsim_gpadl_status(e->g, 0x100), VMBUS_STATUS_FAILURE);
	assert_int_equal(ctr(e, VMBUS_HC_GPADL_BAD_PFN), 1);
	assert_int_equal(post_gpadl(e, e->nic_relid, 0x101, huge, 1, 1), -EINVAL);
	assert_int_equal(ctr(e, VMBUS_HC_GPADL_BAD_PFN), 2);
	/* unknown channel */
	assert_int_equal(post_gpadl(e, 77, 0x102, good, 2, 2), -EINVAL);
	assert_int_equal(ctr(e, VMBUS_HC_MSG_BAD_RELID), 1);
	/* duplicate handle */
	assert_int_equal(post_gpadl(e, e->nic_relid, 0x103, good, 2, 2), 0);
	assert_int_equal(post_gpadl(e, e->nic_relid, 0x103, good, 2, 2), -EINVAL);
	vmbus_gsim_poll(e->g);
	assert_int_equal(vmbus_gsim_gpadl_status(e->g, 0x103), VMBUS_STATUS_FAILURE);
	/* body for an unknown GPADL */
	body.gpadl = 0x999;
	memcpy(b, &body, sizeof(body));
	memcpy(b + 16, good, 16);
	assert_int_equal(vmbus_gsim_post(e->g, 1, b, 32), -ENOENT);
	assert_int_equal(ctr(e, VMBUS_HC_GPADL_UNKNOWN), 1);
	/* body overrunning the announced size */
	assert_int_equal(post_gpadl(e, e->nic_relid, 0x104, good, 1, 2), 0);
	body.gpadl = 0x104;
	memcpy(b, &body, sizeof(body));
	assert_int_equal(vmbus_gsim_post(e->g, 1, b, 32), -EINVAL);
	vmbus_gsim_poll(e->g);
	assert_int_equal(vmbus_gsim_gpadl_status(e->g, 0x104), VMBUS_STATUS_FAILURE);
	env_free(e);
}

static uint32_t open_with(struct env *e, uint32_t relid, uint32_t gpadl, uint32_t off,
			  uint32_t vp)
{
	struct vmbus_wire_open o;

	memset(&o, 0, sizeof(o));
	o.hdr.msgtype = VMBUS_MSG_OPENCHANNEL;
	o.child_relid = relid;
	o.openid = relid;
	o.ringbuffer_gpadl = gpadl;
	o.target_vp = vp;
	o.downstream_page_offset = off;
	vmbus_gsim_post(e->g, 1, &o, sizeof(o));
	vmbus_gsim_poll(e->g);
	return vmbus_gsim_open_status(e->g, relid);
}

static void test_open_data_close(void **state)
{
	struct env *e = env_connected(false);
	uint8_t msg[100], out[128];
	struct vmbus_pkt pkt;
	const struct vmbus_gsim_stats *st = vmbus_gsim_stats(e->g);

	(void)state;
	for (int i = 0; i < 100; i++)
		msg[i] = (uint8_t)i;
	assert_int_equal(vmbus_gsim_open(e->g, e->nic_relid, 4, 6, 1), 0);
	assert_int_equal(e->nic.opens, 1);
	assert_int_equal(e->nic.readies, 1);
	assert_non_null(vmbus_host_channel(e->h, e->nic_relid));
	assert_int_equal(vmbus_channel_target_vp(e->nic.ch), 1);
	assert_int_equal(vmbus_ring_data_size(vmbus_channel_in_ring(e->nic.ch)), 3 * 4096);
	assert_int_equal(vmbus_ring_data_size(vmbus_channel_out_ring(e->nic.ch)), 5 * 4096);
	const uint64_t *pfns;
	uint32_t npfns, off;
	assert_int_equal(vmbus_channel_ring_pages(e->nic.ch, &pfns, &npfns, &off), 0);
	assert_int_equal(npfns, 10);
	assert_int_equal(off, 4);
	assert_int_equal(pfns[0] * 4096, vmbus_gsim_ring_gpa(e->g, e->nic_relid));
	assert_int_equal(pfns[9], pfns[0] + 9);
	/* a buffer GPADL (NetVSC receive buffer style) is visible to the VSP */
	uint32_t buf_id, foreign;
	assert_int_equal(vmbus_gsim_gpadl_create(e->g, e->nic_relid, 30, &buf_id), 0);
	assert_int_equal(vmbus_gsim_gpadl_create(e->g, e->scsi_relid, 2, &foreign), 0);
	assert_int_equal(vmbus_channel_gpadl(e->nic.ch, buf_id, &pfns, &npfns), 0);
	assert_int_equal(npfns, 30);
	assert_non_null(vmbus_gsim_gpa(e->g, pfns[29] * 4096));
	assert_int_equal(vmbus_channel_gpadl(e->nic.ch, foreign, &pfns, &npfns), -ENOENT);
	/* guest -> host -> echo -> guest */
	assert_int_equal(vmbus_gsim_send(e->g, e->nic_relid, 0xabc, msg, sizeof(msg)), 0);
	assert_int_equal(st->signals_to_host, 1);
	assert_int_equal(e->nic.signals, 1);
	assert_int_equal(e->nic.last_len, 104);
	assert_int_equal(st->interrupts, 1);
	assert_int_equal(st->last_interrupt_vp, 1);
	assert_int_equal(vmbus_gsim_recv(e->g, e->nic_relid, out, sizeof(out), &pkt), 104);
	assert_int_equal(pkt.type, VMBUS_PKT_COMP);
	assert_int_equal(pkt.trans_id, 0xabc);
	assert_memory_equal(out, msg, sizeof(msg));
	/* signal on an unknown connection id */
	assert_int_equal(vmbus_host_signal_event(e->h, 0x1000 + 99), -ENOENT);
	/* a second open of an open channel is refused */
	uint32_t gp2;
	assert_int_equal(vmbus_gsim_gpadl_create(e->g, e->nic_relid, 8, &gp2), 0);
	assert_int_equal(open_with(e, e->nic_relid, gp2, 4, 0), VMBUS_STATUS_FAILURE);
	assert_int_equal(ctr(e, VMBUS_HC_MSG_BAD_STATE), 1);
	/* close: VSP closed, ring GPADL torn down */
	uint64_t torn = ctr(e, VMBUS_HC_GPADL_TORNDOWN);
	assert_int_equal(vmbus_gsim_close(e->g, e->nic_relid), 0);
	assert_int_equal(e->nic.closes, 1);
	assert_null(vmbus_host_channel(e->h, e->nic_relid));
	assert_int_equal(ctr(e, VMBUS_HC_GPADL_TORNDOWN), torn + 1);
	/* and it opens again */
	assert_int_equal(vmbus_gsim_open(e->g, e->nic_relid, 4, 4, 0), 0);
	assert_int_equal(e->nic.opens, 2);
	vmbus_host_destroy(e->h);
	assert_int_equal(e->nic.closes, 2); /* host teardown closes */
	vmbus_gsim_destroy(e->g);
	free(e);
}

/* Multi-range GPADL: valid as a buffer, refused as a ring; inconsistent
 * ranges refused when the last body arrives. */
static void test_gpadl_ranges(void **state)
{
	struct env *e = env_connected(false);
	uint8_t b[240];
	struct vmbus_wire_gpadl_header h = { .hdr.msgtype = VMBUS_MSG_GPADL_HEADER };
	struct vmbus_wire_gpa_range r1 = { .byte_count = 2 * 4096 };
	struct vmbus_wire_gpa_range r2 = { .byte_count = 100, .byte_offset = 4000 };
	uint64_t pfns[6] = { 200, 201, 202, 203, 204, 205 };
	const uint64_t *got;
	uint32_t n;

	(void)state;
	h.child_relid = e->nic_relid;
	h.gpadl = 0x300;
	h.rangecount = 2;
	h.range_buflen = 8 + 16 + 8 + 16; /* 2 pfns each */
	memcpy(b, &h, 20);
	memcpy(b + 20, &r1, 8);
	memcpy(b + 28, pfns, 16);
	memcpy(b + 44, &r2, 8);
	memcpy(b + 52, pfns + 2, 16);
	assert_int_equal(vmbus_gsim_post(e->g, 1, b, 68), 0);
	vmbus_gsim_poll(e->g);
	assert_int_equal(vmbus_gsim_gpadl_status(e->g, 0x300), VMBUS_STATUS_SUCCESS);
	/* inconsistent: second range says 3 pfns but the buffer holds 2 */
	r2.byte_count = 8000;
	h.gpadl = 0x301;
	memcpy(b, &h, 20);
	memcpy(b + 44, &r2, 8);
	assert_int_equal(vmbus_gsim_post(e->g, 1, b, 68), -EINVAL);
	assert_int_equal(ctr(e, VMBUS_HC_MSG_BAD_FIELD), 1);
	/* the multi-range GPADL cannot carry rings */
	assert_int_equal(open_with(e, e->nic_relid, 0x300, 2, 0), VMBUS_STATUS_FAILURE);
	assert_int_equal(ctr(e, VMBUS_HC_MSG_BAD_FIELD), 2);
	assert_int_equal(vmbus_gsim_open(e->g, e->nic_relid, 4, 4, 0), 0);
	assert_int_equal(vmbus_channel_gpadl(e->nic.ch, 0x300, &got, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(got[3], 203);
	/* teardown naming the wrong channel is refused */
	struct vmbus_wire_gpadl_teardown t = { .hdr.msgtype = VMBUS_MSG_GPADL_TEARDOWN };
	t.child_relid = e->scsi_relid;
	t.gpadl = 0x300;
	assert_int_equal(vmbus_gsim_post(e->g, 1, &t, sizeof(t)), -EINVAL);
	assert_int_equal(ctr(e, VMBUS_HC_MSG_BAD_RELID), 1);
	/* a malformed header with readable ids still gets a failed answer */
	h.gpadl = 0x302;
	h.rangecount = 0;
	memcpy(b, &h, 20);
	assert_int_equal(vmbus_gsim_post(e->g, 1, b, 68), -EINVAL);
	vmbus_gsim_poll(e->g);
	assert_int_equal(vmbus_gsim_gpadl_status(e->g, 0x302), VMBUS_STATUS_FAILURE);
	env_free(e);
}

static void test_gpadl_limit(void **state)
{
	struct vmbus_host_config hc = { .nr_vcpus = 1, .max_gpadls = 3, .max_gpadl_pages = 40 };
	struct env *e = env_new(&hc, false);
	uint32_t v, id;

	(void)state;
	assert_int_equal(vmbus_gsim_connect_linux(e->g, &v), 0);
	assert_int_equal(vmbus_gsim_request_offers(e->g), 2);
	assert_int_equal(vmbus_gsim_gpadl_create(e->g, e->nic_relid, 41, &id), -EIO);
	for (int i = 0; i < 3; i++)
		assert_int_equal(vmbus_gsim_gpadl_create(e->g, e->nic_relid, 2, &id), 0);
	assert_int_equal(vmbus_gsim_gpadl_create(e->g, e->nic_relid, 2, &id), -EIO);
	assert_int_equal(ctr(e, VMBUS_HC_GPADL_REJECTED), 2);
	assert_int_equal(vmbus_gsim_gpadl_teardown(e->g, e->nic_relid, id - 1), 0);
	assert_int_equal(vmbus_gsim_gpadl_create(e->g, e->nic_relid, 2, &id), 0);
	env_free(e);
}

/* The VMM hears about doorbells; MODIFYCHANNEL retargets interrupts; a
 * second INITIATE_CONTACT (kexec without unload) resets everything. */
static void test_doorbell_modify_recontact(void **state)
{
	struct env *e = env_connected(false);
	const struct vmbus_gsim_stats *st = vmbus_gsim_stats(e->g);
	struct vmbus_wire_modifychannel mc = { .hdr.msgtype = VMBUS_MSG_MODIFYCHANNEL };
	uint8_t msg[8] = { 0 }, out[16];
	struct vmbus_pkt pkt;
	uint32_t v;

	(void)state;
	assert_int_equal(vmbus_gsim_open(e->g, e->nic_relid, 4, 4, 0), 0);
	assert_int_equal(st->doorbells, 1);
	assert_int_equal(st->last_opened_conn_id, vmbus_gsim_offer_conn_id(e->g, e->nic_relid));
	assert_int_equal(st->last_opened_conn_id, vmbus_channel_conn_id(e->nic.ch));
	mc.child_relid = e->nic_relid;
	mc.target_vp = 1;
	assert_int_equal(vmbus_gsim_post(e->g, 1, &mc, sizeof(mc)), 0);
	assert_int_equal(vmbus_channel_target_vp(e->nic.ch), 1);
	assert_int_equal(vmbus_gsim_send(e->g, e->nic_relid, 5, msg, 8), 0);
	assert_int_equal(st->last_interrupt_vp, 1);
	assert_int_equal(vmbus_gsim_recv(e->g, e->nic_relid, out, sizeof(out), &pkt), 8);
	assert_int_equal(vmbus_gsim_connect_linux(e->g, &v), 0);
	assert_int_equal(e->nic.closes, 1);
	assert_int_equal(st->doorbells, 0);
	assert_null(vmbus_host_channel(e->h, e->nic_relid));
	assert_int_equal(vmbus_gsim_request_offers(e->g), 2);
	env_free(e);
}

static void test_scattered_rings(void **state)
{
	struct env *e = env_connected(true);
	uint8_t msg[64] = { 7 }, out[64];
	struct vmbus_pkt pkt;

	(void)state;
	assert_int_equal(vmbus_gsim_open(e->g, e->scsi_relid, 3, 3, 0), 0);
	for (int i = 0; i < 300; i++) { /* wraps both rings many times */
		msg[1] = (uint8_t)i;
		assert_int_equal(vmbus_gsim_send(e->g, e->scsi_relid, (uint64_t)i, msg, 64), 0);
		assert_int_equal(vmbus_gsim_recv(e->g, e->scsi_relid, out, 64, &pkt), 64);
		assert_int_equal(pkt.trans_id, (uint64_t)i);
		assert_int_equal(out[1], (uint8_t)i);
	}
	assert_int_equal(vmbus_gsim_close(e->g, e->scsi_relid), 0);
	env_free(e);
}

static void test_open_rejects(void **state)
{
	struct env *e = env_connected(false);
	uint32_t gp, other;

	(void)state;
	assert_int_equal(vmbus_gsim_gpadl_create(e->g, e->nic_relid, 8, &gp), 0);
	assert_int_equal(vmbus_gsim_gpadl_create(e->g, e->scsi_relid, 8, &other), 0);
	assert_int_equal(open_with(e, e->nic_relid, gp, 1, 0), VMBUS_STATUS_FAILURE);
	assert_int_equal(open_with(e, e->nic_relid, gp, 7, 0), VMBUS_STATUS_FAILURE);
	assert_int_equal(open_with(e, e->nic_relid, gp, 4, 5), VMBUS_STATUS_FAILURE);
	assert_int_equal(ctr(e, VMBUS_HC_MSG_BAD_FIELD), 3);
	assert_int_equal(open_with(e, e->nic_relid, other, 4, 0), VMBUS_STATUS_FAILURE);
	assert_int_equal(open_with(e, e->nic_relid, 0x4444, 4, 0), VMBUS_STATUS_FAILURE);
	assert_int_equal(ctr(e, VMBUS_HC_GPADL_UNKNOWN), 2);
	assert_int_equal(open_with(e, 99, gp, 4, 0), VMBUS_STATUS_FAILURE);
	assert_int_equal(ctr(e, VMBUS_HC_MSG_BAD_RELID), 1);
	e->nic.refuse = 1;
	assert_int_equal(open_with(e, e->nic_relid, gp, 4, 0), VMBUS_STATUS_FAILURE);
	assert_int_equal(ctr(e, VMBUS_HC_OPEN_FAILED), 7);
	assert_int_equal(e->nic.opens, 0);
	e->nic.refuse = 0;
	assert_int_equal(open_with(e, e->nic_relid, gp, 4, 0), VMBUS_STATUS_SUCCESS);
	assert_int_equal(ctr(e, VMBUS_HC_OPEN_OK), 1);
	/* the ring GPADL cannot be torn down while open */
	assert_int_equal(vmbus_gsim_gpadl_teardown(e->g, e->nic_relid, gp), -ETIMEDOUT);
	assert_int_equal(ctr(e, VMBUS_HC_MSG_BAD_STATE), 1);
	env_free(e);
}

static void test_rescind(void **state)
{
	struct env *e = env_connected(false);
	const struct vmbus_gsim_stats *st = vmbus_gsim_stats(e->g);
	struct dummy again = { 0 };
	uint32_t relid;

	(void)state;
	assert_int_equal(vmbus_gsim_open(e->g, e->nic_relid, 4, 4, 0), 0);
	assert_int_equal(vmbus_host_remove_device(e->h, e->nic_relid), 0);
	assert_int_equal(e->nic.closes, 1); /* data path stopped at once */
	assert_int_equal(ctr(e, VMBUS_HC_RESCIND), 1);
	assert_true(vmbus_gsim_poll(e->g) >= 1); /* close, teardown, RELID_RELEASED */
	assert_int_equal(st->rescinds, 1);
	assert_int_equal(ctr(e, VMBUS_HC_CLOSE), 1);
	assert_int_equal(vmbus_gsim_find_offer(e->g, NIC_GUID, &relid), -ENOENT);
	assert_int_equal(vmbus_host_remove_device(e->h, e->nic_relid), -ENOENT);
	/* the relid is free again */
	add_dev(e, NIC_GUID, 9, &again, &relid);
	assert_int_equal(relid, e->nic_relid);
	vmbus_gsim_poll(e->g);
	assert_int_equal(vmbus_gsim_open(e->g, relid, 4, 4, 0), 0);
	assert_int_equal(again.opens, 1);
	assert_int_equal(ctr(e, VMBUS_HC_MSG_BAD_STATE) + ctr(e, VMBUS_HC_MSG_BAD_RELID), 0);
	env_free(e);
}

static void test_unload(void **state)
{
	struct env *e = env_connected(false);
	uint32_t gp, v;

	(void)state;
	assert_int_equal(vmbus_gsim_open(e->g, e->nic_relid, 4, 4, 0), 0);
	assert_int_equal(vmbus_gsim_gpadl_create(e->g, e->scsi_relid, 3, &gp), 0);
	assert_int_equal(vmbus_gsim_unload(e->g), 0);
	assert_int_equal(e->nic.closes, 1);
	assert_int_equal(vmbus_host_state(e->h), VMBUS_HOST_DISCONNECTED);
	assert_int_equal(vmbus_host_version(e->h), 0);
	assert_int_equal(ctr(e, VMBUS_HC_UNLOAD), 1);
	/* a new guest (kexec) connects and sees the offers again */
	assert_int_equal(vmbus_gsim_connect_linux(e->g, &v), 0);
	assert_int_equal(vmbus_gsim_request_offers(e->g), 2);
	/* old GPADLs are gone */
	assert_int_equal(vmbus_gsim_gpadl_teardown(e->g, e->scsi_relid, gp), -ETIMEDOUT);
	assert_int_equal(ctr(e, VMBUS_HC_GPADL_UNKNOWN), 1);
	assert_int_equal(vmbus_gsim_open(e->g, e->nic_relid, 4, 4, 0), 0);
	env_free(e);
}

static int post_raw(struct env *e, uint32_t type, uint32_t a, uint32_t b, size_t len)
{
	uint32_t m[64] = { type, 0, a, b };

	return vmbus_gsim_post(e->g, 1, m, len);
}

static void test_malformed(void **state)
{
	struct env *e = env_connected(false);
	uint8_t big[300] = { 3 };

	(void)state;
	assert_int_equal(post_raw(e, VMBUS_MSG_REQUESTOFFERS, 0, 0, 4), -EBADMSG);
	assert_int_equal(vmbus_gsim_post(e->g, 1, big, sizeof(big)), -EBADMSG);
	assert_int_equal(post_raw(e, VMBUS_MSG_CLOSECHANNEL, 1, 0, 11), -EBADMSG);
	assert_int_equal(ctr(e, VMBUS_HC_MSG_BAD_LEN), 3);
	assert_int_equal(post_raw(e, 99, 0, 0, 16), -ENOMSG);
	assert_int_equal(post_raw(e, VMBUS_MSG_OFFERCHANNEL, 0, 0, 200), -ENOMSG);
	assert_int_equal(post_raw(e, VMBUS_MSG_VERSION_RESPONSE, 1, 0, 16), -ENOMSG);
	assert_int_equal(ctr(e, VMBUS_HC_MSG_BAD_TYPE), 3);
	assert_int_equal(post_raw(e, VMBUS_MSG_CLOSECHANNEL, 0, 0, 12), -EINVAL);
	assert_int_equal(ctr(e, VMBUS_HC_MSG_BAD_FIELD), 1);
	assert_int_equal(post_raw(e, VMBUS_MSG_CLOSECHANNEL, 200, 0, 12), -EINVAL);
	assert_int_equal(ctr(e, VMBUS_HC_MSG_BAD_RELID), 1);
	assert_int_equal(post_raw(e, VMBUS_MSG_CLOSECHANNEL, e->nic_relid, 0, 12), -EINVAL);
	assert_int_equal(post_raw(e, VMBUS_MSG_RELID_RELEASED, e->nic_relid, 0, 12), -EINVAL);
	assert_int_equal(ctr(e, VMBUS_HC_MSG_BAD_STATE), 2);
	assert_int_equal(post_raw(e, VMBUS_MSG_GPADL_TEARDOWN, 1, 0x77, 16), -ENOENT);
	assert_int_equal(ctr(e, VMBUS_HC_GPADL_UNKNOWN), 1);
	assert_int_equal(post_raw(e, VMBUS_MSG_TL_CONNECT_REQUEST, 0, 0, 40), -EOPNOTSUPP);
	assert_int_equal(ctr(e, VMBUS_HC_MSG_UNSUPPORTED), 1);
	assert_int_equal(post_raw(e, VMBUS_MSG_MODIFYCHANNEL, e->nic_relid, 0, 16), -EINVAL);
	/* malformed OPENCHANNEL still gets a (failed) answer: Linux waits for it */
	assert_int_equal(post_raw(e, VMBUS_MSG_OPENCHANNEL, e->nic_relid, 5, 100), -EINVAL);
	vmbus_gsim_poll(e->g);
	assert_int_equal(vmbus_gsim_open_status(e->g, e->nic_relid), VMBUS_STATUS_FAILURE);
	/* nothing of this disturbed the connection */
	assert_int_equal(vmbus_host_state(e->h), VMBUS_HOST_CONNECTED);
	assert_int_equal(vmbus_gsim_open(e->g, e->nic_relid, 4, 4, 0), 0);
	assert_string_equal(vmbus_host_counter_name(VMBUS_HC_MSG_BAD_LEN), "msg_bad_len");
	/* every rejection was logged (below the rate limit) */
	assert_true(vmbus_gsim_stats(e->g)->host_log_lines >= 15); /* 14 + negotiation */
	env_free(e);
}

/* A guest that corrupts its ring indices gets its channel stopped. */
static void test_corrupt_ring(void **state)
{
	struct env *e = env_connected(false);
	uint8_t msg[16] = { 0 };
	uint32_t *wi;

	(void)state;
	assert_int_equal(vmbus_gsim_open(e->g, e->nic_relid, 4, 4, 0), 0);
	wi = vmbus_gsim_gpa(e->g, vmbus_gsim_ring_gpa(e->g, e->nic_relid));
	assert_non_null(wi);
	*wi = 3 * 4096 + 4; /* guest->host write index: unaligned */
	assert_int_equal(vmbus_host_signal_event(e->h, vmbus_channel_conn_id(e->nic.ch)), 0);
	assert_int_equal(e->nic.recv_err, -EPROTO);
	assert_int_equal(e->nic.closes, 1);
	assert_int_equal(ctr(e, VMBUS_HC_CHANNEL_FAILED), 1);
	assert_int_equal(vmbus_gsim_stats(e->g)->host_last_log_level, LOG_WARNING);
	assert_null(vmbus_host_channel(e->h, e->nic_relid));
	assert_int_equal(vmbus_host_signal_event(e->h, 0x1000 + e->nic_relid), -ENOENT);
	/* the guest's close is still accepted and the channel reopens */
	*wi = 0;
	assert_int_equal(vmbus_gsim_close(e->g, e->nic_relid), 0);
	assert_int_equal(vmbus_gsim_open(e->g, e->nic_relid, 4, 4, 0), 0);
	assert_int_equal(vmbus_gsim_send(e->g, e->nic_relid, 1, msg, 16), 0);
	assert_int_equal(e->nic.last_len, 16);
	env_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_negotiate_5_3),
		cmocka_unit_test(test_version_fallback),
		cmocka_unit_test(test_contact_conn_ids),
		cmocka_unit_test(test_offers),
		cmocka_unit_test(test_subchannels),
		cmocka_unit_test(test_before_contact),
		cmocka_unit_test(test_gpadl_bodies),
		cmocka_unit_test(test_gpadl_rejects),
		cmocka_unit_test(test_open_data_close),
		cmocka_unit_test(test_gpadl_ranges),
		cmocka_unit_test(test_gpadl_limit),
		cmocka_unit_test(test_doorbell_modify_recontact),
		cmocka_unit_test(test_scattered_rings),
		cmocka_unit_test(test_open_rejects),
		cmocka_unit_test(test_rescind),
		cmocka_unit_test(test_unload),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_corrupt_ring),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
