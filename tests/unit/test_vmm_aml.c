/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the AML encoder (vmm/aml.c): every encoding is compared with
 * bytes worked out by hand from the ACPI 6.4 spec (chapter 20 grammar,
 * chapter 6.4 resource descriptors), including PkgLength size boundaries,
 * the EISA id compression, and the VMBus device of docs/vmbus-notes.md.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "acpi.h"
#include "aml.h"

static struct vmm_aml *a;

static int setup(void **state)
{
	(void)state;
	a = vmm_aml_new();
	return a ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	vmm_aml_free(a);
	return 0;
}

static void expect_bytes(const uint8_t *want, size_t n)
{
	size_t len;
	const uint8_t *got = vmm_aml_data(a, &len);

	assert_int_equal(vmm_aml_error(a), 0);
	assert_int_equal(len, n);
	assert_memory_equal(got, want, n);
}

#define EXPECT(...)                                                                                \
	do {                                                                                       \
		static const uint8_t want_[] = { __VA_ARGS__ };                                    \
		expect_bytes(want_, sizeof(want_));                                                \
	} while (0)

static void test_integers(void **state)
{
	(void)state;
	vmm_aml_integer(a, 0);
	vmm_aml_integer(a, 1);
	vmm_aml_integer(a, 2);
	vmm_aml_integer(a, 0xff);
	vmm_aml_integer(a, 0x1234);
	vmm_aml_integer(a, 0x12345678);
	vmm_aml_integer(a, 0x123456789ull);
	vmm_aml_integer(a, UINT64_MAX);
	EXPECT(0x00, 0x01, 0x0a, 0x02, 0x0a, 0xff, 0x0b, 0x34, 0x12, 0x0c, 0x78, 0x56, 0x34, 0x12,
	       0x0e, 0x89, 0x67, 0x45, 0x23, 0x01, 0x00, 0x00, 0x00, 0xff);
}

static void test_namestrings(void **state)
{
	(void)state;
	vmm_aml_namestring(a, "\\_SB");
	vmm_aml_namestring(a, "_SB.COM1");
	vmm_aml_namestring(a, "A.B.C");
	vmm_aml_namestring(a, "^FOO");
	EXPECT('\\', '_', 'S', 'B', '_',
	       0x2e, '_', 'S', 'B', '_', 'C', 'O', 'M', '1',
	       0x2f, 0x03, 'A', '_', '_', '_', 'B', '_', '_', '_', 'C', '_', '_', '_',
	       '^', 'F', 'O', 'O', '_');
}

static void test_bad_names(void **state)
{
	const char *bad[] = { "1ABC", "TOOLONG", "_SB..X", "a", "_SB.", "X-Y" };
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vmm_aml *b = vmm_aml_new();

		vmm_aml_namestring(b, bad[i]);
		assert_int_equal(vmm_aml_error(b), -EINVAL);
		vmm_aml_free(b);
	}
}

static void test_name_eisaid(void **state)
{
	(void)state;
	vmm_aml_name(a, "_HID");
	vmm_aml_eisaid(a, "PNP0501"); /* the well-known 0x0105D041 */
	EXPECT(0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x05, 0x01);
}

static void test_eisaid_bad(void **state)
{
	(void)state;
	vmm_aml_eisaid(a, "PNP05");
	assert_int_equal(vmm_aml_error(a), -EINVAL);
}

static void test_name_string(void **state)
{
	(void)state;
	vmm_aml_name(a, "_HID");
	vmm_aml_string(a, "VMBus");
	EXPECT(0x08, '_', 'H', 'I', 'D', 0x0d, 'V', 'M', 'B', 'u', 's', 0x00);
}

static void test_s5_package(void **state)
{
	(void)state;
	vmm_aml_name(a, "\\_S5");
	vmm_aml_package_begin(a, 4);
	vmm_aml_integer(a, 5);
	vmm_aml_integer(a, 5);
	vmm_aml_integer(a, 0);
	vmm_aml_integer(a, 0);
	vmm_aml_end(a);
	/* PkgLength 8 = itself + NumElements + 6 bytes of elements */
	EXPECT(0x08, '\\', '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00);
}

static void test_method_return(void **state)
{
	(void)state;
	vmm_aml_method_begin(a, "_STA", 0, 0);
	vmm_aml_return(a);
	vmm_aml_integer(a, 0xf);
	vmm_aml_end(a);
	EXPECT(0x14, 0x09, '_', 'S', 'T', 'A', 0x00, 0xa4, 0x0a, 0x0f);
}

static void test_method_flags(void **state)
{
	(void)state;
	vmm_aml_method_begin(a, "M", 3, 1);
	vmm_aml_end(a);
	EXPECT(0x14, 0x06, 'M', '_', '_', '_', 0x0b);
}

static void test_resource_irq(void **state)
{
	struct vmm_aml_res r;

	(void)state;
	vmm_aml_res_init(&r);
	vmm_aml_res_irq_noflags(&r, 5);
	vmm_aml_res_emit(a, &r);
	/* 0x22 0x20 0x00 (IRQ 5), end tag 0x79 + checksum 0x45 (sum 0) */
	EXPECT(0x11, 0x08, 0x0a, 0x05, 0x22, 0x20, 0x00, 0x79, 0x45);
}

static void test_resource_io_mem(void **state)
{
	struct vmm_aml_res r;

	(void)state;
	vmm_aml_res_init(&r);
	vmm_aml_res_io(&r, 0x3f8, 0x3f8, 0, 8);
	vmm_aml_res_mem32(&r, 0xfec00000, 0x1000);
	vmm_aml_res_emit(a, &r);
	/* checksum: IO bytes 0x246 + Memory32Fixed bytes 0x25e + 0x79 = 0x51d -> 0xe3 */
	EXPECT(0x11, 0x19, 0x0a, 0x16,
	       0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x00, 0x08,
	       0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0xc0, 0xfe, 0x00, 0x10, 0x00, 0x00,
	       0x79, 0xe3);
}

static void test_resource_bad_irq(void **state)
{
	struct vmm_aml_res r;

	(void)state;
	vmm_aml_res_init(&r);
	vmm_aml_res_irq_noflags(&r, 16);
	vmm_aml_res_emit(a, &r);
	assert_int_equal(vmm_aml_error(a), -EINVAL);
}

/* PkgLength: 63 is the largest one-byte value, 64 needs two bytes. */
static void test_pkglength_boundary(void **state)
{
	uint8_t data[200];
	size_t len;
	const uint8_t *out;

	(void)state;
	memset(data, 0xaa, sizeof(data));
	vmm_aml_buffer(a, data, 60); /* body 2 + 60 = 62, +1 = 63 */
	out = vmm_aml_data(a, &len);
	assert_int_equal(len, 1 + 1 + 2 + 60);
	assert_int_equal(out[1], 0x3f);
	vmm_aml_free(a);
	a = vmm_aml_new();
	vmm_aml_buffer(a, data, 61); /* body 63, +2 = 65 = 0x41 */
	out = vmm_aml_data(a, &len);
	assert_int_equal(len, 1 + 2 + 2 + 61);
	assert_int_equal(out[1], 0x41); /* 1 follow byte, low nibble 1 */
	assert_int_equal(out[2], 0x04);
	assert_int_equal(out[3], 0x0a);
	assert_int_equal(out[4], 61);
	vmm_aml_free(a);
	a = vmm_aml_new();
	vmm_aml_buffer(a, data, 200); /* body 2 + 200 = 202, +2 = 204 = 0xcc */
	out = vmm_aml_data(a, &len);
	assert_int_equal(len, 1 + 2 + 2 + 200);
	assert_int_equal(out[1], 0x4c);
	assert_int_equal(out[2], 0x0c);
	assert_int_equal(out[3], 0x0a); /* BytePrefix 200 */
	assert_int_equal(out[4], 200);
}

static void test_pkglength_three_bytes(void **state)
{
	static uint8_t big[5000];
	size_t len;
	const uint8_t *out;

	(void)state;
	vmm_aml_buffer(a, big, sizeof(big)); /* body 3 + 5000 = 5003, +3 = 5006 = 0x138e */
	out = vmm_aml_data(a, &len);
	assert_int_equal(vmm_aml_error(a), 0);
	assert_int_equal(len, 1 + 3 + 3 + 5000);
	assert_int_equal(out[1], 0x80 | 0x0e);
	assert_int_equal(out[2], 0x38);
	assert_int_equal(out[3], 0x01);
	assert_int_equal(out[4], 0x0b);
}

static void test_unbalanced(void **state)
{
	(void)state;
	vmm_aml_scope_begin(a, "\\_SB");
	assert_int_equal(vmm_aml_error(a), -EINVAL); /* still open */
	vmm_aml_end(a);
	assert_int_equal(vmm_aml_error(a), 0);
	vmm_aml_end(a);
	assert_int_equal(vmm_aml_error(a), -EINVAL); /* nothing to close */
}

/* The VMBus device as hv_vmbus wants it (docs/vmbus-notes.md). */
static void test_vmbus_device(void **state)
{
	unsigned irq = 5;

	(void)state;
	vmm_acpi_emit_vmbus(a, &irq);
	EXPECT(0x5b, 0x82, 0x2f, 'V', 'M', 'B', 'S',
	       0x08, '_', 'H', 'I', 'D', 0x0d, 'V', 'M', 'B', 'u', 's', 0x00,
	       0x08, '_', 'U', 'I', 'D', 0x00,
	       0x14, 0x09, '_', 'S', 'T', 'A', 0x00, 0xa4, 0x0a, 0x0f,
	       0x08, '_', 'C', 'R', 'S', 0x11, 0x08, 0x0a, 0x05, 0x22, 0x20, 0x00, 0x79, 0x45);
}

static void test_scope_device_nesting(void **state)
{
	(void)state;
	vmm_aml_scope_begin(a, "\\_SB");
	vmm_aml_device_begin(a, "DEV0");
	vmm_aml_name(a, "_UID");
	vmm_aml_integer(a, 1);
	vmm_aml_end(a);
	vmm_aml_end(a);
	/* device: 5b 82 len(1+4+6=11 -> 0x0b) ; scope: len(1+5+13=19 -> 0x13) */
	EXPECT(0x10, 0x13, '\\', '_', 'S', 'B', '_',
	       0x5b, 0x82, 0x0b, 'D', 'E', 'V', '0', 0x08, '_', 'U', 'I', 'D', 0x01);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_integers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_namestrings, setup, teardown),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test_setup_teardown(test_name_eisaid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eisaid_bad, setup, teardown),
		cmocka_unit_test_setup_teardown(test_name_string, setup, teardown),
		cmocka_unit_test_setup_teardown(test_s5_package, setup, teardown),
		cmocka_unit_test_setup_teardown(test_method_return, setup, teardown),
		cmocka_unit_test_setup_teardown(test_method_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resource_irq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resource_io_mem, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resource_bad_irq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pkglength_boundary, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pkglength_three_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unbalanced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vmbus_device, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scope_device_nesting, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
