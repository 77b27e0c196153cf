/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the pcapng encoder (vswitch/pcapng.c): an enhanced packet
 * block laid out around the frame's bytes (vsw_pcapng_epb_around, which the
 * capture writer hands to writev with the bytes straight from the mbuf) is
 * byte for byte the block vsw_pcapng_epb copies the frame into, for every
 * padding; the block's lengths and fields are where pcapng puts them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pcapng.h"

static uint32_t word(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static void test_around_matches_copy(void **state)
{
	static const uint32_t lens[] = {0, 1, 2, 3, 4, 5, 14, 60, 61, 62, 63, 64, 1514, 1517};
	uint8_t frame[1600];

	(void)state;
	for (size_t i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(i * 7 + 3);
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		struct vsw_pcapng_buf a = {0}, b = {0};
		uint32_t len = lens[k], total;
		uint8_t joined[1700];
		size_t at = 0;

		/* something before the block: offsets are relative to the buffer */
		assert_int_equal(vsw_pcapng_shb(&a, "test"), 0);
		assert_int_equal(vsw_pcapng_shb(&b, "test"), 0);
		assert_int_equal(vsw_pcapng_epb(&a, 3, 0x123456789aULL, frame, len, len + 4,
						VSW_PCAPNG_OUT), 0);
		assert_int_equal(vsw_pcapng_epb_around(&b, 3, 0x123456789aULL, len, len + 4,
						       VSW_PCAPNG_OUT, &at), 0);
		assert_int_equal(b.len + len, a.len);
		memcpy(joined, b.data, at);
		memcpy(joined + at, frame, len);
		memcpy(joined + at + len, b.data + at, b.len - at);
		assert_memory_equal(joined, a.data, a.len);

		/* the block: type 6, total length at both ends, a multiple of 4 */
		total = (uint32_t)(a.len - (at - 28));
		assert_int_equal(word(a.data + at - 28), 6);
		assert_int_equal(word(a.data + at - 24), total);
		assert_int_equal(word(a.data + a.len - 4), total);
		assert_int_equal(total % 4, 0);
		assert_int_equal(word(a.data + at - 20), 3);	       /* interface */
		assert_int_equal(word(a.data + at - 8), len);	       /* captured */
		assert_int_equal(word(a.data + at - 4), len + 4);      /* original */
		assert_int_equal(word(a.data + a.len - 12), VSW_PCAPNG_OUT); /* epb_flags */
		vsw_pcapng_buf_free(&a);
		vsw_pcapng_buf_free(&b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_around_matches_copy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
