/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the ACPI tables (vmm/acpi.c): RSDP checksums (20-byte and
 * extended), every table's checksum and length, the pointer chain RSDP ->
 * XSDT -> FADT -> DSDT and XSDT -> MADT, FADT fields the VMM emulates
 * (PM1a blocks, reset register, SCI), MADT entries per vCPU, the DSDT's
 * \_S5 and COM1, an extra device (VMBus) through the hook, and errors.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "acpi.h"

#define BASE 0xe0000u
static uint8_t buf[0x20000];

static uint64_t rd(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

static const uint8_t *at(uint64_t gpa)
{
	assert_true(gpa >= BASE && gpa < BASE + sizeof(buf));
	return buf + (gpa - BASE);
}

/* Checks signature, checksum, OEM id; returns the table. */
static const uint8_t *table(uint64_t gpa, const char *sig)
{
	const uint8_t *t = at(gpa);
	uint32_t len = (uint32_t)rd(t + 4, 4);

	assert_memory_equal(t, sig, 4);
	assert_true(len >= 36 && gpa + len <= BASE + sizeof(buf));
	assert_int_equal(vmm_acpi_checksum(t, len), 0);
	assert_memory_equal(t + 10, VMM_ACPI_OEM_ID, 6);
	assert_memory_equal(t + 16, VMM_ACPI_OEM_TABLE_ID, 8);
	return t;
}

static long build(unsigned ncpus, const struct vmm_acpi_device *devs, unsigned ndevs)
{
	struct vmm_acpi_config cfg = { .ncpus = ncpus, .devices = devs, .ndevices = ndevs };

	memset(buf, 0x5a, sizeof(buf));
	return vmm_acpi_build(buf, sizeof(buf), BASE, &cfg);
}

static const uint8_t *xsdt_entry(unsigned i)
{
	const uint8_t *x = table(rd(buf + 24, 8), "XSDT");

	assert_int_equal(rd(x + 4, 4), 36 + 2 * 8);
	return at(rd(x + 36 + 8 * i, 8));
}

static void test_rsdp(void **state)
{
	(void)state;
	assert_true(build(1, NULL, 0) > 0);
	assert_memory_equal(buf, "RSD PTR ", 8);
	assert_int_equal(vmm_acpi_checksum(buf, 20), 0);
	assert_int_equal(vmm_acpi_checksum(buf, 36), 0);
	assert_int_equal(buf[15], 2);
	assert_int_equal(rd(buf + 20, 4), 36);
	assert_memory_equal(buf + 9, VMM_ACPI_OEM_ID, 6);
}

static void test_fadt(void **state)
{
	const uint8_t *f;

	(void)state;
	assert_true(build(1, NULL, 0) > 0);
	f = xsdt_entry(0);
	f = table(BASE + (uint64_t)(f - buf), "FACP");
	assert_int_equal(rd(f + 4, 4), 276);
	assert_int_equal(f[8], 6);
	assert_int_equal(rd(f + 40, 4), rd(f + 140, 8)); /* DSDT == X_DSDT */
	table(rd(f + 140, 8), "DSDT");
	assert_int_equal(rd(f + 46, 2), VMM_ACPI_SCI_IRQ);
	assert_int_equal(rd(f + 48, 4), 0); /* no SMI_CMD: ACPI mode already */
	assert_int_equal(rd(f + 56, 4), VMM_ACPI_PM1A_EVT_PORT);
	assert_int_equal(rd(f + 64, 4), VMM_ACPI_PM1A_CNT_PORT);
	assert_int_equal(f[88], 4);
	assert_int_equal(f[89], 2);
	assert_int_equal(rd(f + 112, 4) & (1u << 10), 1u << 10); /* RESET_REG_SUP */
	assert_int_equal(rd(f + 112, 4) & (1u << 20), 0);       /* not HW-reduced */
	assert_int_equal(f[116], 1);                             /* reset reg in I/O space */
	assert_int_equal(rd(f + 120, 8), VMM_ACPI_RESET_PORT);
	assert_int_equal(f[128], VMM_ACPI_RESET_VALUE);
	assert_int_equal(rd(f + 109, 2) & (1u << 5), 1u << 5);   /* no CMOS RTC */
	assert_int_equal(rd(f + 109, 2) & (1u << 1), 0);         /* no 8042 */
	assert_int_equal(f[148], 1);                             /* X_PM1a_EVT: I/O */
	assert_int_equal(rd(f + 152, 8), VMM_ACPI_PM1A_EVT_PORT);
	assert_int_equal(rd(f + 176, 8), VMM_ACPI_PM1A_CNT_PORT);
}

static void test_madt(void **state)
{
	const uint8_t *m;
	unsigned i, n = 4;

	(void)state;
	assert_true(build(n, NULL, 0) > 0);
	m = xsdt_entry(1);
	m = table(BASE + (uint64_t)(m - buf), "APIC");
	assert_int_equal(rd(m + 4, 4), 44 + 8 * n + 12);
	assert_int_equal(rd(m + 36, 4), VMM_LAPIC_ADDR);
	assert_int_equal(rd(m + 40, 4), 1); /* PCAT_COMPAT */
	for (i = 0; i < n; i++) {
		const uint8_t *e = m + 44 + 8 * i;

		assert_int_equal(e[0], 0);
		assert_int_equal(e[1], 8);
		assert_int_equal(e[2], i); /* processor UID */
		assert_int_equal(e[3], i); /* APIC id */
		assert_int_equal(rd(e + 4, 4), 1);
	}
	m += 44 + 8 * n;
	assert_int_equal(m[0], 1);
	assert_int_equal(m[1], 12);
	assert_int_equal(rd(m + 4, 4), VMM_IOAPIC_ADDR);
	assert_int_equal(rd(m + 8, 4), 0);
}

static const uint8_t *find(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m)
{
	size_t i;

	for (i = 0; i + m <= n; i++)
		if (memcmp(hay + i, needle, m) == 0)
			return hay + i;
	return NULL;
}

static const uint8_t *dsdt(size_t *len)
{
	const uint8_t *f = xsdt_entry(0), *d = table(rd(f + 140, 8), "DSDT");

	*len = rd(d + 4, 4);
	return d;
}

static void test_dsdt(void **state)
{
	static const uint8_t s5[] = { 0x08, '\\', '_', 'S', '5', '_', 0x12, 0x08, 0x04,
				      0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00 };
	static const uint8_t com1[] = { 0x5b, 0x82 };
	static const uint8_t hid[] = { 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x05, 0x01 };
	static const uint8_t crs[] = { 0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x00, 0x08,
				       0x22, 0x10, 0x00, 0x79 };
	const uint8_t *d;
	size_t len;

	(void)state;
	assert_true(build(2, NULL, 0) > 0);
	d = dsdt(&len);
	assert_int_equal(d[8], 2);
	assert_memory_equal(d + 36, "\x10", 1);              /* Scope (\_SB) first */
	assert_non_null(find(d, len, s5, sizeof(s5)));
	assert_non_null(find(d, len, com1, sizeof(com1)));
	assert_non_null(find(d, len, hid, sizeof(hid)));
	assert_non_null(find(d, len, crs, sizeof(crs)));
	assert_null(find(d, len, (const uint8_t *)"VMBus", 5));
}

static void test_dsdt_vmbus_hook(void **state)
{
	static unsigned irq = 7;
	const struct vmm_acpi_device dev = { vmm_acpi_emit_vmbus, &irq };
	static const uint8_t crs[] = { 0x22, 0x80, 0x00, 0x79 };
	const uint8_t *d;
	size_t len;

	(void)state;
	assert_true(build(1, &dev, 1) > 0);
	d = dsdt(&len);
	assert_non_null(find(d, len, (const uint8_t *)"VMBus", 6));
	assert_non_null(find(d, len, (const uint8_t *)"VMBS", 4));
	assert_non_null(find(d, len, crs, sizeof(crs)));
}

static void test_all_tables_distinct(void **state)
{
	long used;

	(void)state;
	used = build(VMM_ACPI_MAX_CPUS, NULL, 0);
	assert_true(used > 0 && used < (long)sizeof(buf));
	table(BASE + (uint64_t)(xsdt_entry(1) - buf), "APIC");
	assert_int_equal(buf[used], 0x5a); /* nothing written past the reported size */
}

static void test_errors(void **state)
{
	struct vmm_acpi_config cfg = { .ncpus = 0 };

	(void)state;
	assert_int_equal(vmm_acpi_build(buf, sizeof(buf), BASE, &cfg), -EINVAL);
	cfg.ncpus = VMM_ACPI_MAX_CPUS + 1;
	assert_int_equal(vmm_acpi_build(buf, sizeof(buf), BASE, &cfg), -EINVAL);
	cfg.ncpus = 1;
	cfg.ndevices = 1;
	assert_int_equal(vmm_acpi_build(buf, sizeof(buf), BASE, &cfg), -EINVAL);
	cfg.ndevices = 0;
	assert_int_equal(vmm_acpi_build(buf, 100, BASE, &cfg), -ENOSPC);
	assert_int_equal(vmm_acpi_build(buf, 300, BASE, &cfg), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rsdp),
		cmocka_unit_test(test_fadt),
		cmocka_unit_test(test_madt),
		cmocka_unit_test(test_dsdt),
		cmocka_unit_test(test_dsdt_vmbus_hook),
		cmocka_unit_test(test_all_tables_distinct),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
