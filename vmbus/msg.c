/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * VMBus channel-management message parser (see msg.h). Each type has a row
 * in one table: its name, minimum size, direction and a decoder. The generic
 * part checks the header and the size; the decoder copies fields out of the
 * (packed, possibly unaligned) buffer and checks their values.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "msg.h"

_Static_assert(sizeof(struct vmbus_wire_hdr) == 8, "hdr");
_Static_assert(sizeof(struct vmbus_wire_offer) == 196, "offer");
_Static_assert(sizeof(struct vmbus_wire_relid) == 12, "relid");
_Static_assert(sizeof(struct vmbus_wire_open) == 148, "open");
_Static_assert(sizeof(struct vmbus_wire_open_result) == 20, "open result");
_Static_assert(sizeof(struct vmbus_wire_gpadl_header) == 20, "gpadl header");
_Static_assert(sizeof(struct vmbus_wire_gpadl_body) == 16, "gpadl body");
_Static_assert(sizeof(struct vmbus_wire_gpadl_created) == 20, "gpadl created");
_Static_assert(sizeof(struct vmbus_wire_gpadl_teardown) == 16, "gpadl teardown");
_Static_assert(sizeof(struct vmbus_wire_gpadl_torndown) == 12, "gpadl torndown");
_Static_assert(sizeof(struct vmbus_wire_initiate_contact) == 40, "initiate contact");
_Static_assert(sizeof(struct vmbus_wire_version_response) == 16, "version response");
_Static_assert(sizeof(struct vmbus_wire_tl_connect_request) == 40, "tl connect");
_Static_assert(VMBUS_GPADL_HEADER_MAX_PFNS == 26, "header pfns");
_Static_assert(VMBUS_GPADL_BODY_MAX_PFNS == 28, "body pfns");

typedef int vmbus_msg_decode_fn(const uint8_t *buf, size_t len, struct vmbus_msg *m);

struct msg_kind {
	const char *name;
	size_t min_size;
	bool from_guest;
	vmbus_msg_decode_fn *decode;
};

#define LOAD(dst, buf, type, field)                                                                \
	memcpy(&(dst), (buf) + offsetof(type, field), sizeof(dst))

static int dec_none(const uint8_t *buf, size_t len, struct vmbus_msg *m)
{
	(void)buf;
	(void)len;
	(void)m;
	return 0;
}

static int dec_relid(const uint8_t *buf, size_t len, struct vmbus_msg *m)
{
	(void)len;
	LOAD(m->u.child_relid, buf, struct vmbus_wire_relid, child_relid);
	return m->u.child_relid ? 0 : -EINVAL;
}

static int dec_contact(const uint8_t *buf, size_t len, struct vmbus_msg *m)
{
	(void)len;
	LOAD(m->u.contact.version, buf, struct vmbus_wire_initiate_contact, version_requested);
	LOAD(m->u.contact.target_vcpu, buf, struct vmbus_wire_initiate_contact, target_vcpu);
	LOAD(m->u.contact.interrupt_page, buf, struct vmbus_wire_initiate_contact, interrupt_page);
	LOAD(m->u.contact.msg_sint, buf, struct vmbus_wire_initiate_contact, msg_sint);
	LOAD(m->u.contact.msg_vtl, buf, struct vmbus_wire_initiate_contact, msg_vtl);
	LOAD(m->u.contact.monitor_page1, buf, struct vmbus_wire_initiate_contact, monitor_page1);
	LOAD(m->u.contact.monitor_page2, buf, struct vmbus_wire_initiate_contact, monitor_page2);
	/* A SINT is 0..15; from 5.0 the guest names the one it listens on. */
	if (m->u.contact.version >= VMBUS_VERSION_5_0 && m->u.contact.msg_sint > 15)
		return -EINVAL;
	return 0;
}

static int dec_version_response(const uint8_t *buf, size_t len, struct vmbus_msg *m)
{
	uint8_t sup;

	(void)len;
	LOAD(sup, buf, struct vmbus_wire_version_response, version_supported);
	m->u.version_response.supported = sup != 0;
	LOAD(m->u.version_response.connection_state, buf, struct vmbus_wire_version_response,
	     connection_state);
	LOAD(m->u.version_response.msg_conn_id, buf, struct vmbus_wire_version_response,
	     msg_conn_id);
	return 0;
}

static int dec_offer(const uint8_t *buf, size_t len, struct vmbus_msg *m)
{
	uint8_t mon;
	uint16_t ded;

	(void)len;
	LOAD(m->u.offer.if_type, buf, struct vmbus_wire_offer, if_type);
	LOAD(m->u.offer.if_instance, buf, struct vmbus_wire_offer, if_instance);
	LOAD(m->u.offer.chn_flags, buf, struct vmbus_wire_offer, chn_flags);
	LOAD(m->u.offer.mmio_megabytes, buf, struct vmbus_wire_offer, mmio_megabytes);
	LOAD(m->u.offer.sub_channel_index, buf, struct vmbus_wire_offer, sub_channel_index);
	LOAD(m->u.offer.child_relid, buf, struct vmbus_wire_offer, child_relid);
	LOAD(m->u.offer.monitorid, buf, struct vmbus_wire_offer, monitorid);
	LOAD(mon, buf, struct vmbus_wire_offer, monitor_allocated);
	LOAD(ded, buf, struct vmbus_wire_offer, is_dedicated_interrupt);
	LOAD(m->u.offer.connection_id, buf, struct vmbus_wire_offer, connection_id);
	m->u.offer.monitor_allocated = mon & 1;
	m->u.offer.dedicated_interrupt = ded & 1;
	return m->u.offer.child_relid ? 0 : -EINVAL;
}

static int dec_open(const uint8_t *buf, size_t len, struct vmbus_msg *m)
{
	(void)len;
	LOAD(m->u.open.child_relid, buf, struct vmbus_wire_open, child_relid);
	LOAD(m->u.open.openid, buf, struct vmbus_wire_open, openid);
	LOAD(m->u.open.gpadl, buf, struct vmbus_wire_open, ringbuffer_gpadl);
	LOAD(m->u.open.target_vp, buf, struct vmbus_wire_open, target_vp);
	LOAD(m->u.open.downstream_page_offset, buf, struct vmbus_wire_open,
	     downstream_page_offset);
	m->u.open.userdata = buf + offsetof(struct vmbus_wire_open, userdata);
	if (!m->u.open.child_relid || !m->u.open.gpadl || !m->u.open.downstream_page_offset)
		return -EINVAL;
	return 0;
}

static int dec_open_result(const uint8_t *buf, size_t len, struct vmbus_msg *m)
{
	(void)len;
	LOAD(m->u.open_result.child_relid, buf, struct vmbus_wire_open_result, child_relid);
	LOAD(m->u.open_result.openid, buf, struct vmbus_wire_open_result, openid);
	LOAD(m->u.open_result.status, buf, struct vmbus_wire_open_result, status);
	return m->u.open_result.child_relid ? 0 : -EINVAL;
}

/* GPADL header: the ranges carried here must be whole pfns, no more than the
 * announced range_buflen, which itself must hold rangecount minimal ranges. */
static int dec_gpadl_header(const uint8_t *buf, size_t len, struct vmbus_msg *m)
{
	size_t fixed = sizeof(struct vmbus_wire_gpadl_header);
	size_t carried = len - fixed;

	LOAD(m->u.gpadl_header.child_relid, buf, struct vmbus_wire_gpadl_header, child_relid);
	LOAD(m->u.gpadl_header.gpadl, buf, struct vmbus_wire_gpadl_header, gpadl);
	LOAD(m->u.gpadl_header.range_buflen, buf, struct vmbus_wire_gpadl_header, range_buflen);
	LOAD(m->u.gpadl_header.rangecount, buf, struct vmbus_wire_gpadl_header, rangecount);
	if (carried % 8 || carried < 16)
		return -EBADMSG;
	m->u.gpadl_header.ranges = buf + fixed;
	m->u.gpadl_header.ranges_len = (uint32_t)carried;
	if (!m->u.gpadl_header.child_relid || !m->u.gpadl_header.gpadl)
		return -EINVAL;
	if (!m->u.gpadl_header.rangecount || m->u.gpadl_header.range_buflen % 8 ||
	    m->u.gpadl_header.range_buflen < 16u * m->u.gpadl_header.rangecount ||
	    carried > m->u.gpadl_header.range_buflen)
		return -EINVAL;
	return 0;
}

static int dec_gpadl_body(const uint8_t *buf, size_t len, struct vmbus_msg *m)
{
	size_t fixed = sizeof(struct vmbus_wire_gpadl_body);

	LOAD(m->u.gpadl_body.msgnumber, buf, struct vmbus_wire_gpadl_body, msgnumber);
	LOAD(m->u.gpadl_body.gpadl, buf, struct vmbus_wire_gpadl_body, gpadl);
	if ((len - fixed) % 8 || len == fixed)
		return -EBADMSG;
	m->u.gpadl_body.pfns = buf + fixed;
	m->u.gpadl_body.npfns = (uint32_t)((len - fixed) / 8);
	return m->u.gpadl_body.gpadl ? 0 : -EINVAL;
}

static int dec_gpadl_created(const uint8_t *buf, size_t len, struct vmbus_msg *m)
{
	(void)len;
	LOAD(m->u.gpadl.child_relid, buf, struct vmbus_wire_gpadl_created, child_relid);
	LOAD(m->u.gpadl.gpadl, buf, struct vmbus_wire_gpadl_created, gpadl);
	LOAD(m->u.gpadl.status, buf, struct vmbus_wire_gpadl_created, creation_status);
	return m->u.gpadl.gpadl ? 0 : -EINVAL;
}

static int dec_gpadl_teardown(const uint8_t *buf, size_t len, struct vmbus_msg *m)
{
	(void)len;
	LOAD(m->u.gpadl.child_relid, buf, struct vmbus_wire_gpadl_teardown, child_relid);
	LOAD(m->u.gpadl.gpadl, buf, struct vmbus_wire_gpadl_teardown, gpadl);
	return m->u.gpadl.gpadl ? 0 : -EINVAL;
}

static int dec_gpadl_torndown(const uint8_t *buf, size_t len, struct vmbus_msg *m)
{
	(void)len;
	LOAD(m->u.gpadl.gpadl, buf, struct vmbus_wire_gpadl_torndown, gpadl);
	return m->u.gpadl.gpadl ? 0 : -EINVAL;
}

static int dec_modify(const uint8_t *buf, size_t len, struct vmbus_msg *m)
{
	(void)len;
	LOAD(m->u.modify.child_relid, buf, struct vmbus_wire_modifychannel, child_relid);
	LOAD(m->u.modify.target_vp, buf, struct vmbus_wire_modifychannel, target_vp);
	return m->u.modify.child_relid ? 0 : -EINVAL;
}

static int dec_modify_response(const uint8_t *buf, size_t len, struct vmbus_msg *m)
{
	(void)len;
	LOAD(m->u.modify.child_relid, buf, struct vmbus_wire_modifychannel_response, child_relid);
	LOAD(m->u.modify.status, buf, struct vmbus_wire_modifychannel_response, status);
	return m->u.modify.child_relid ? 0 : -EINVAL;
}

static int dec_tl_connect(const uint8_t *buf, size_t len, struct vmbus_msg *m)
{
	(void)len;
	LOAD(m->u.tl_connect.guest_endpoint_id, buf, struct vmbus_wire_tl_connect_request,
	     guest_endpoint_id);
	LOAD(m->u.tl_connect.host_service_id, buf, struct vmbus_wire_tl_connect_request,
	     host_service_id);
	return 0;
}

#define KIND(t, sz, g, fn) [VMBUS_MSG_##t] = { #t, sz, g, fn }

static const struct msg_kind kinds[VMBUS_MSG_TYPE_COUNT] = {
	KIND(OFFERCHANNEL, sizeof(struct vmbus_wire_offer), false, dec_offer),
	KIND(RESCIND_CHANNELOFFER, sizeof(struct vmbus_wire_relid), false, dec_relid),
	KIND(REQUESTOFFERS, sizeof(struct vmbus_wire_hdr), true, dec_none),
	KIND(ALLOFFERS_DELIVERED, sizeof(struct vmbus_wire_hdr), false, dec_none),
	KIND(OPENCHANNEL, sizeof(struct vmbus_wire_open), true, dec_open),
	KIND(OPENCHANNEL_RESULT, sizeof(struct vmbus_wire_open_result), false, dec_open_result),
	KIND(CLOSECHANNEL, sizeof(struct vmbus_wire_relid), true, dec_relid),
	/* header + at least one range header and one pfn */
	KIND(GPADL_HEADER, sizeof(struct vmbus_wire_gpadl_header) + 16, true, dec_gpadl_header),
	KIND(GPADL_BODY, sizeof(struct vmbus_wire_gpadl_body) + 8, true, dec_gpadl_body),
	KIND(GPADL_CREATED, sizeof(struct vmbus_wire_gpadl_created), false, dec_gpadl_created),
	KIND(GPADL_TEARDOWN, sizeof(struct vmbus_wire_gpadl_teardown), true, dec_gpadl_teardown),
	KIND(GPADL_TORNDOWN, sizeof(struct vmbus_wire_gpadl_torndown), false, dec_gpadl_torndown),
	KIND(RELID_RELEASED, sizeof(struct vmbus_wire_relid), true, dec_relid),
	KIND(INITIATE_CONTACT, sizeof(struct vmbus_wire_initiate_contact), true, dec_contact),
	KIND(VERSION_RESPONSE, sizeof(struct vmbus_wire_version_response), false,
	     dec_version_response),
	KIND(UNLOAD, sizeof(struct vmbus_wire_hdr), true, dec_none),
	KIND(UNLOAD_RESPONSE, sizeof(struct vmbus_wire_hdr), false, dec_none),
	KIND(TL_CONNECT_REQUEST, sizeof(struct vmbus_wire_tl_connect_request), true,
	     dec_tl_connect),
	KIND(MODIFYCHANNEL, sizeof(struct vmbus_wire_modifychannel), true, dec_modify),
	KIND(MODIFYCHANNEL_RESPONSE, sizeof(struct vmbus_wire_modifychannel_response), false,
	     dec_modify_response),
};

static const struct msg_kind *kind_of(uint32_t type)
{
	if (type >= VMBUS_MSG_TYPE_COUNT || !kinds[type].name)
		return NULL;
	return &kinds[type];
}

int vmbus_msg_parse(const void *buf, size_t len, struct vmbus_msg *m)
{
	const struct msg_kind *k;
	uint32_t type;

	memset(m, 0, sizeof(*m));
	if (!buf || len < sizeof(struct vmbus_wire_hdr) || len > VMBUS_MSG_MAX_SIZE)
		return -EBADMSG;
	memcpy(&type, buf, sizeof(type));
	m->type = type;
	k = kind_of(type);
	if (!k)
		return -ENOMSG;
	if (len < k->min_size)
		return -EBADMSG;
	return k->decode(buf, len, m);
}

size_t vmbus_msg_min_size(uint32_t type)
{
	const struct msg_kind *k = kind_of(type);

	return k ? k->min_size : 0;
}

const char *vmbus_msg_type_name(uint32_t type)
{
	const struct msg_kind *k = kind_of(type);

	return k ? k->name : "UNKNOWN";
}

bool vmbus_msg_is_guest_to_host(uint32_t type)
{
	const struct msg_kind *k = kind_of(type);

	return k && k->from_guest;
}

uint64_t vmbus_msg_pfn(const uint8_t *pfns, uint32_t i)
{
	uint64_t v;

	memcpy(&v, pfns + (size_t)i * 8, sizeof(v));
	return v;
}

int vmbus_msg_gpa_ranges_check(const uint8_t *buf, uint32_t len, uint32_t rangecount,
			       uint32_t *npfns)
{
	struct vmbus_wire_gpa_range r;
	uint32_t pos = 0, total = 0;

	for (uint32_t i = 0; i < rangecount; i++) {
		uint64_t span;

		if (len - pos < sizeof(r))
			return -EINVAL;
		memcpy(&r, buf + pos, sizeof(r));
		if (r.byte_offset >= VMBUS_PAGE_SIZE || !r.byte_count)
			return -EINVAL;
		span = ((uint64_t)r.byte_offset + r.byte_count + VMBUS_PAGE_SIZE - 1) /
		       VMBUS_PAGE_SIZE;
		pos += sizeof(r);
		if (span * 8 > len - pos)
			return -EINVAL;
		pos += (uint32_t)span * 8;
		total += (uint32_t)span;
	}
	if (pos != len)
		return -EINVAL;
	*npfns = total;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Byte order of the text form's 16 bytes within the wire form. */
static const uint8_t guid_order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };

int vmbus_guid_parse(const char *s, struct vmbus_guid *g)
{
	unsigned int n = 0;

	for (size_t i = 0; s[i]; i++) {
		int hi, lo;

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -EINVAL;
			continue;
		}
		hi = hexval(s[i]);
		lo = s[i + 1] ? hexval(s[i + 1]) : -1;
		if (hi < 0 || lo < 0 || n >= 16)
			return -EINVAL;
		g->b[guid_order[n++]] = (uint8_t)(hi << 4 | lo);
		i++;
	}
	return n == 16 ? 0 : -EINVAL;
}

char *vmbus_guid_format(const struct vmbus_guid *g, char *buf)
{
	char *p = buf;

	for (unsigned int n = 0; n < 16; n++) {
		if (n == 4 || n == 6 || n == 8 || n == 10)
			*p++ = '-';
		p += sprintf(p, "%02x", g->b[guid_order[n]]);
	}
	return buf;
}

bool vmbus_guid_equal(const struct vmbus_guid *a, const struct vmbus_guid *b)
{
	return memcmp(a->b, b->b, sizeof(a->b)) == 0;
}
