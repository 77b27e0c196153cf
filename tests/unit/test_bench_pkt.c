/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the benchmark frame layout: build/stamp/parse round trip,
 * tagged and untagged, IPv4 checksum, resize, flow addressing, rejection of
 * foreign and truncated frames.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "bench_pkt.h"

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Ones' complement sum over the IPv4 header: 0xffff when the checksum is right. */
static uint16_t ip_sum(const uint8_t *ip)
{
	uint32_t s = 0;

	for (int i = 0; i < 20; i += 2)
		s += be16(ip + i);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static void roundtrip(uint16_t vlan, unsigned int size)
{
	uint8_t buf[128] = {0};
	struct bench_pkt_hdr h;
	struct bench_pkt_info info;
	size_t l3 = vlan ? 18 : 14;
	int off;

	bench_pkt_flow(&h, 1, 0, 77, vlan);
	off = bench_pkt_build(buf, &h, size);
	assert_int_equal(off, (int)l3 + 28);
	assert_true(off + BENCH_PKT_STAMP_LEN <= 60);
	bench_pkt_stamp(buf + off, 1, 9, 0xdeadbeef, UINT64_C(0x123456789abcdef));
	assert_int_equal(be16(buf + l3 + 2), size - 4 - l3);	   /* IPv4 total length */
	assert_int_equal(be16(buf + l3 + 24), size - 4 - l3 - 20); /* UDP length */
	assert_int_equal(ip_sum(buf + l3), 0xffff);
	assert_true(bench_pkt_parse(buf, size - 4 < sizeof(buf) ? size - 4 : sizeof(buf), &info));
	assert_int_equal(info.port, 1);
	assert_int_equal(info.trial, 9);
	assert_int_equal(info.vlan, vlan);
	assert_int_equal(info.seq, 0xdeadbeef);
	assert_int_equal(info.tsc48, UINT64_C(0x456789abcdef));
}

static void test_roundtrip_untagged(void **state)
{
	(void)state;
	roundtrip(0, 64);
	roundtrip(0, 1518);
}

static void test_roundtrip_tagged(void **state)
{
	(void)state;
	roundtrip(10, 64);
	roundtrip(4094, 9018);
}

static void test_flow_addressing(void **state)
{
	struct bench_pkt_hdr a, b, c;

	(void)state;
	bench_pkt_flow(&a, 0, 1, 5, 0);
	bench_pkt_flow(&b, 1, 0, 5, 0);
	bench_pkt_flow(&c, 0, 1, 6, 0);
	/* The reverse flow swaps addresses; another flow differs. */
	assert_memory_equal(a.src_mac, b.dst_mac, 6);
	assert_memory_equal(a.dst_mac, b.src_mac, 6);
	assert_int_equal(a.src_ip, b.dst_ip);
	assert_memory_not_equal(a.src_mac, c.src_mac, 6);
	assert_int_not_equal(a.src_ip, c.src_ip);
	assert_int_equal(a.src_mac[0] & 0x03, 0x02); /* local, unicast */
}

static void test_resize(void **state)
{
	uint8_t buf[64];
	struct bench_pkt_hdr h;

	(void)state;
	bench_pkt_flow(&h, 0, 1, 0, 0);
	bench_pkt_build(buf, &h, 64);
	assert_int_equal(bench_pkt_resize(buf, 594), 0);
	assert_int_equal(be16(buf + 16), 594 - 4 - 14);
	assert_int_equal(ip_sum(buf + 14), 0xffff);
	assert_int_equal(bench_pkt_resize(buf, 63), -EINVAL);
	assert_int_equal(bench_pkt_build(buf, &h, 9019), -EINVAL);
}

static void test_rejects(void **state)
{
	uint8_t buf[64] = {0};
	struct bench_pkt_hdr h;
	struct bench_pkt_info info;
	int off;

	(void)state;
	bench_pkt_flow(&h, 0, 1, 0, 0);
	off = bench_pkt_build(buf, &h, 64);
	bench_pkt_stamp(buf + off, 0, 1, 1, 1);
	assert_true(bench_pkt_parse(buf, 60, &info));
	assert_false(bench_pkt_parse(buf, (size_t)off + BENCH_PKT_STAMP_LEN - 1, &info));
	assert_false(bench_pkt_parse(buf, 10, &info));
	buf[off] ^= 0xff; /* magic */
	assert_false(bench_pkt_parse(buf, 60, &info));
	buf[off] ^= 0xff;
	buf[14 + 9] = 6; /* TCP */
	assert_false(bench_pkt_parse(buf, 60, &info));
	buf[14 + 9] = 17;
	buf[12] = 0x86; /* IPv6 ethertype */
	assert_false(bench_pkt_parse(buf, 60, &info));
}

static void test_tsc_wrap(void **state)
{
	(void)state;
	assert_int_equal(bench_pkt_tsc_diff(5, 3), 2);
	assert_int_equal(bench_pkt_tsc_diff(2, (UINT64_C(1) << 48) - 3), 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_untagged),
		cmocka_unit_test(test_roundtrip_tagged),
		cmocka_unit_test(test_flow_addressing),
		cmocka_unit_test(test_resize),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_tsc_wrap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
