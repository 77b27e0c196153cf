/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the VMBus channel-management message layouts and parser
 * (vmbus/msg.h): wire offsets, per-type length checks, field validation of
 * every guest->host type, GPADL range arithmetic and GUID conversion.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmbus/msg.h"

static void test_wire_offsets(void **state)
{
	(void)state;
	assert_int_equal(offsetof(struct vmbus_wire_offer, child_relid), 184);
	assert_int_equal(offsetof(struct vmbus_wire_offer, monitorid), 188);
	assert_int_equal(offsetof(struct vmbus_wire_offer, connection_id), 192);
	assert_int_equal(offsetof(struct vmbus_wire_offer, sub_channel_index), 180);
	assert_int_equal(offsetof(struct vmbus_wire_open, downstream_page_offset), 24);
	assert_int_equal(offsetof(struct vmbus_wire_open, userdata), 28);
	assert_int_equal(offsetof(struct vmbus_wire_initiate_contact, interrupt_page), 16);
	assert_int_equal(offsetof(struct vmbus_wire_initiate_contact, msg_sint), 16);
	assert_int_equal(offsetof(struct vmbus_wire_initiate_contact, monitor_page2), 32);
	assert_int_equal(offsetof(struct vmbus_wire_version_response, msg_conn_id), 12);
	assert_int_equal(offsetof(struct vmbus_wire_gpadl_header, rangecount), 18);
	assert_int_equal(vmbus_msg_min_size(VMBUS_MSG_OPENCHANNEL), 148);
	assert_int_equal(vmbus_msg_min_size(18), 0);
}

static size_t mk_contact(uint8_t *b, uint32_t version, uint8_t sint)
{
	struct vmbus_wire_initiate_contact c = { .hdr.msgtype = VMBUS_MSG_INITIATE_CONTACT };

	c.version_requested = version;
	c.target_vcpu = 1;
	c.msg_sint = sint;
	c.monitor_page1 = 0x1000;
	memcpy(b, &c, sizeof(c));
	return sizeof(c);
}

static void test_contact(void **state)
{
	uint8_t b[256];
	struct vmbus_msg m;
	size_t n = mk_contact(b, VMBUS_VERSION_5_3, 2);

	(void)state;
	assert_int_equal(vmbus_msg_parse(b, n, &m), 0);
	assert_int_equal(m.type, VMBUS_MSG_INITIATE_CONTACT);
	assert_int_equal(m.u.contact.version, VMBUS_VERSION_5_3);
	assert_int_equal(m.u.contact.target_vcpu, 1);
	assert_int_equal(m.u.contact.msg_sint, 2);
	assert_int_equal(m.u.contact.monitor_page1, 0x1000);
	assert_int_equal(vmbus_msg_parse(b, n - 1, &m), -EBADMSG);
	assert_int_equal(vmbus_msg_parse(b, 241, &m), -EBADMSG);
	assert_int_equal(vmbus_msg_parse(b, 4, &m), -EBADMSG);
	assert_int_equal(vmbus_msg_parse(NULL, 40, &m), -EBADMSG);
	n = mk_contact(b, VMBUS_VERSION_5_0, 16);
	assert_int_equal(vmbus_msg_parse(b, n, &m), -EINVAL);
	/* before 5.0 the same bytes are an interrupt page address */
	n = mk_contact(b, VMBUS_VERSION_4_0, 16);
	assert_int_equal(vmbus_msg_parse(b, n, &m), 0);
	assert_int_equal(m.u.contact.interrupt_page, 16);
}

static void test_unknown_types(void **state)
{
	uint32_t types[] = { 0, 18, 19, 20, 25, 99, 0xffffffff };
	uint8_t b[64] = { 0 };
	struct vmbus_msg m;

	(void)state;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		memcpy(b, &types[i], 4);
		assert_int_equal(vmbus_msg_parse(b, sizeof(b), &m), -ENOMSG);
	}
	assert_string_equal(vmbus_msg_type_name(VMBUS_MSG_GPADL_BODY), "GPADL_BODY");
	assert_string_equal(vmbus_msg_type_name(77), "UNKNOWN");
	assert_true(vmbus_msg_is_guest_to_host(VMBUS_MSG_OPENCHANNEL));
	assert_false(vmbus_msg_is_guest_to_host(VMBUS_MSG_OFFERCHANNEL));
}

static void test_fixed_types(void **state)
{
	uint8_t b[256];
	struct vmbus_msg m;
	struct vmbus_wire_open o = { .hdr.msgtype = VMBUS_MSG_OPENCHANNEL };
	struct vmbus_wire_relid c = { .hdr.msgtype = VMBUS_MSG_CLOSECHANNEL, .child_relid = 0 };
	struct vmbus_wire_gpadl_teardown t = { .hdr.msgtype = VMBUS_MSG_GPADL_TEARDOWN };
	uint32_t u = VMBUS_MSG_UNLOAD;

	(void)state;
	o.child_relid = 3;
	o.openid = 3;
	o.ringbuffer_gpadl = 0xe1e10;
	o.downstream_page_offset = 4;
	o.userdata[0] = 0xab;
	memcpy(b, &o, sizeof(o));
	assert_int_equal(vmbus_msg_parse(b, sizeof(o), &m), 0);
	assert_int_equal(m.u.open.gpadl, 0xe1e10);
	assert_int_equal(m.u.open.downstream_page_offset, 4);
	assert_int_equal(m.u.open.userdata[0], 0xab);
	assert_int_equal(vmbus_msg_parse(b, sizeof(o) - 1, &m), -EBADMSG);
	o.downstream_page_offset = 0;
	memcpy(b, &o, sizeof(o));
	assert_int_equal(vmbus_msg_parse(b, sizeof(o), &m), -EINVAL);
	o.downstream_page_offset = 4;
	o.ringbuffer_gpadl = 0;
	memcpy(b, &o, sizeof(o));
	assert_int_equal(vmbus_msg_parse(b, sizeof(o), &m), -EINVAL);

	memcpy(b, &c, sizeof(c));
	assert_int_equal(vmbus_msg_parse(b, sizeof(c), &m), -EINVAL); /* relid 0 */
	c.child_relid = 5;
	memcpy(b, &c, sizeof(c));
	assert_int_equal(vmbus_msg_parse(b, sizeof(c), &m), 0);
	assert_int_equal(m.u.child_relid, 5);
	assert_int_equal(vmbus_msg_parse(b, 11, &m), -EBADMSG);

	memcpy(b, &t, sizeof(t));
	assert_int_equal(vmbus_msg_parse(b, sizeof(t), &m), -EINVAL); /* gpadl 0 */
	t.gpadl = 7;
	memcpy(b, &t, sizeof(t));
	assert_int_equal(vmbus_msg_parse(b, sizeof(t), &m), 0);
	assert_int_equal(vmbus_msg_parse(b, 15, &m), -EBADMSG);

	memset(b, 0, 16);
	memcpy(b, &u, 4);
	assert_int_equal(vmbus_msg_parse(b, 8, &m), 0);
	assert_int_equal(vmbus_msg_parse(b, 7, &m), -EBADMSG);
}

/* GPADL header with one range of npages pfns, of which `carry` ride along. */
static size_t mk_gpadl_header(uint8_t *b, uint32_t gpadl, uint32_t npages, uint32_t carry)
{
	struct vmbus_wire_gpadl_header h = { .hdr.msgtype = VMBUS_MSG_GPADL_HEADER };
	struct vmbus_wire_gpa_range r = { .byte_count = npages * 4096, .byte_offset = 0 };

	h.child_relid = 1;
	h.gpadl = gpadl;
	h.rangecount = 1;
	h.range_buflen = (uint16_t)(sizeof(r) + npages * 8);
	memcpy(b, &h, sizeof(h));
	memcpy(b + sizeof(h), &r, sizeof(r));
	for (uint32_t i = 0; i < carry; i++) {
		uint64_t pfn = 100 + i;

		memcpy(b + sizeof(h) + sizeof(r) + i * 8, &pfn, 8);
	}
	return sizeof(h) + sizeof(r) + carry * 8;
}

static void test_gpadl_header(void **state)
{
	uint8_t b[256];
	struct vmbus_msg m;
	size_t n;

	(void)state;
	n = mk_gpadl_header(b, 9, 4, 4);
	assert_int_equal(vmbus_msg_parse(b, n, &m), 0);
	assert_int_equal(m.u.gpadl_header.gpadl, 9);
	assert_int_equal(m.u.gpadl_header.ranges_len, 8 + 32);
	assert_int_equal(m.u.gpadl_header.range_buflen, 40);
	/* more pfns announced than carried: bodies follow */
	n = mk_gpadl_header(b, 9, 60, 26);
	assert_int_equal(n, 236);
	assert_int_equal(vmbus_msg_parse(b, n, &m), 0);
	/* misaligned pfn area */
	n = mk_gpadl_header(b, 9, 4, 4);
	assert_int_equal(vmbus_msg_parse(b, n - 3, &m), -EBADMSG);
	/* carries more than range_buflen announces */
	b[16] = 16;
	b[17] = 0;
	assert_int_equal(vmbus_msg_parse(b, n, &m), -EINVAL);
	/* range_buflen not a multiple of 8 */
	n = mk_gpadl_header(b, 9, 4, 4);
	b[16] = 41;
	assert_int_equal(vmbus_msg_parse(b, n, &m), -EINVAL);
	/* rangecount 0, and rangecount larger than range_buflen can hold */
	n = mk_gpadl_header(b, 9, 4, 4);
	b[18] = 0;
	assert_int_equal(vmbus_msg_parse(b, n, &m), -EINVAL);
	b[18] = 3;
	assert_int_equal(vmbus_msg_parse(b, n, &m), -EINVAL);
	/* gpadl handle 0 */
	n = mk_gpadl_header(b, 0, 4, 4);
	assert_int_equal(vmbus_msg_parse(b, n, &m), -EINVAL);
	/* no room for even one pfn */
	n = mk_gpadl_header(b, 9, 4, 0);
	assert_int_equal(vmbus_msg_parse(b, n, &m), -EBADMSG);
}

static void test_gpadl_body(void **state)
{
	struct vmbus_wire_gpadl_body h = { .hdr.msgtype = VMBUS_MSG_GPADL_BODY, .gpadl = 5 };
	uint8_t b[256] = { 0 };
	struct vmbus_msg m;
	uint64_t pfn = 0x1234;

	(void)state;
	memcpy(b, &h, sizeof(h));
	memcpy(b + 16 + 8, &pfn, 8);
	assert_int_equal(vmbus_msg_parse(b, 16 + 28 * 8, &m), 0);
	assert_int_equal(m.u.gpadl_body.npfns, 28);
	assert_int_equal(vmbus_msg_pfn(m.u.gpadl_body.pfns, 1), 0x1234);
	assert_int_equal(vmbus_msg_parse(b, 16, &m), -EBADMSG);
	assert_int_equal(vmbus_msg_parse(b, 16 + 12, &m), -EBADMSG);
	assert_int_equal(vmbus_msg_parse(b, 248, &m), -EBADMSG);
	h.gpadl = 0;
	memcpy(b, &h, sizeof(h));
	assert_int_equal(vmbus_msg_parse(b, 24, &m), -EINVAL);
}

static size_t put_range(uint8_t *b, uint32_t off, uint32_t count, uint32_t npfn)
{
	struct vmbus_wire_gpa_range r = { .byte_count = count, .byte_offset = off };

	memcpy(b, &r, sizeof(r));
	memset(b + 8, 0, npfn * 8);
	return 8 + npfn * 8;
}

static void test_gpa_ranges(void **state)
{
	uint8_t b[512];
	uint32_t n, len;

	(void)state;
	len = (uint32_t)put_range(b, 0, 8192, 2);
	len += (uint32_t)put_range(b + len, 100, 4096, 2); /* crosses a page: 2 pfns */
	len += (uint32_t)put_range(b + len, 4095, 1, 1);
	assert_int_equal(vmbus_msg_gpa_ranges_check(b, len, 3, &n), 0);
	assert_int_equal(n, 5);
	assert_int_equal(vmbus_msg_gpa_ranges_check(b, len, 2, &n), -EINVAL); /* trailing */
	assert_int_equal(vmbus_msg_gpa_ranges_check(b, len, 4, &n), -EINVAL); /* short */
	len = (uint32_t)put_range(b, 4096, 10, 1);
	assert_int_equal(vmbus_msg_gpa_ranges_check(b, len, 1, &n), -EINVAL); /* offset */
	len = (uint32_t)put_range(b, 0, 0, 1);
	assert_int_equal(vmbus_msg_gpa_ranges_check(b, len, 1, &n), -EINVAL); /* count 0 */
	len = (uint32_t)put_range(b, 0, 0xffffffff, 1);
	assert_int_equal(vmbus_msg_gpa_ranges_check(b, len, 1, &n), -EINVAL); /* huge */
	len = (uint32_t)put_range(b, 0, 4097, 1);
	assert_int_equal(vmbus_msg_gpa_ranges_check(b, len, 1, &n), -EINVAL); /* needs 2 */
}

static void test_guid(void **state)
{
	static const uint8_t hb[16] = { 0x39, 0x4f, 0x16, 0x57, 0x15, 0x91, 0x78, 0x4e,
					0xab, 0x55, 0x38, 0x2f, 0x3b, 0xd5, 0x42, 0x2d };
	struct vmbus_guid g;
	char s[37];

	(void)state;
	assert_int_equal(vmbus_guid_parse("57164f39-9115-4e78-ab55-382f3bd5422d", &g), 0);
	assert_memory_equal(g.b, hb, 16);
	assert_string_equal(vmbus_guid_format(&g, s), "57164f39-9115-4e78-ab55-382f3bd5422d");
	assert_int_equal(vmbus_guid_parse("57164f39-9115-4e78-ab55-382f3bd5422", &g), -EINVAL);
	assert_int_equal(vmbus_guid_parse("57164f39-9115-4e78-ab55-382f3bd5422d0", &g), -EINVAL);
	assert_int_equal(vmbus_guid_parse("57164f39x9115-4e78-ab55-382f3bd5422d", &g), -EINVAL);
	assert_int_equal(vmbus_guid_parse("57164f39-9115-4e78-ab55-382f3bd5422g", &g), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wire_offsets),
		cmocka_unit_test(test_contact),
		cmocka_unit_test(test_unknown_types),
		cmocka_unit_test(test_fixed_types),
		cmocka_unit_test(test_gpadl_header),
		cmocka_unit_test(test_gpadl_body),
		cmocka_unit_test(test_gpa_ranges),
		cmocka_unit_test(test_guid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
