/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of PCI configuration mechanism #1 (vmm/pci.c) as Linux's
 * pci_check_type1() and pci_sanity_check() probe it: the address register
 * reads back, the host bridge's ids and class are found at 00:00.0 with
 * byte/word/dword reads, every other function is absent, and byte accesses
 * at 0xcf9 are left to the reset register.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pci.h"

static uint32_t cfg(struct vmm_pci *p, unsigned bus, unsigned dev, unsigned fn, unsigned reg,
		    unsigned size)
{
	uint32_t a = 0x80000000u | bus << 16 | dev << 11 | fn << 8 | (reg & 0xfc), v = 0;

	assert_true(vmm_pci_pio(p, 0xcf8, 4, true, &a));
	assert_true(vmm_pci_pio(p, (uint16_t)(0xcfc + (reg & 3)), size, false, &v));
	return v;
}

static void test_address_readback(void **state)
{
	struct vmm_pci p = { 0 };
	uint32_t v = 0x80000000u;

	(void)state;
	assert_true(vmm_pci_pio(&p, 0xcf8, 4, true, &v));
	v = 0;
	assert_true(vmm_pci_pio(&p, 0xcf8, 4, false, &v));
	assert_int_equal(v, 0x80000000u);
	v = 0x01;
	assert_false(vmm_pci_pio(&p, 0xcfb, 1, true, &v)); /* not the address register */
	assert_false(vmm_pci_pio(&p, 0xcf9, 1, true, &v)); /* reset control register */
	assert_false(vmm_pci_pio(&p, 0xcfe, 4, false, &v)); /* crosses the data window */
}

static void test_host_bridge(void **state)
{
	struct vmm_pci p = { 0 };

	(void)state;
	assert_int_equal(cfg(&p, 0, 0, 0, 0x00, 4),
			 (uint32_t)VMM_PCI_HOST_DEVICE << 16 | VMM_PCI_HOST_VENDOR);
	assert_int_equal(cfg(&p, 0, 0, 0, 0x00, 2), VMM_PCI_HOST_VENDOR);
	assert_int_equal(cfg(&p, 0, 0, 0, 0x02, 2), VMM_PCI_HOST_DEVICE);
	assert_int_equal(cfg(&p, 0, 0, 0, 0x0a, 2), 0x0600); /* PCI_CLASS_BRIDGE_HOST */
	assert_int_equal(cfg(&p, 0, 0, 0, 0x0b, 1), 0x06);
	assert_int_equal(cfg(&p, 0, 0, 0, 0x0e, 1), 0x00);   /* header type 0 */
	assert_int_equal(cfg(&p, 0, 0, 0, 0x10, 4), 0);      /* no BARs */
}

/* AMD's extended config access puts register bits 11:8 in address bits 27:24. */
static void test_extended_registers(void **state)
{
	struct vmm_pci p = { 0 };
	uint32_t a = 0x80000000u | 1u << 24, v = 0;

	(void)state;
	assert_true(vmm_pci_pio(&p, 0xcf8, 4, true, &a));
	assert_true(vmm_pci_pio(&p, 0xcf8, 4, false, &v));
	assert_int_equal(v, a);
	assert_true(vmm_pci_pio(&p, 0xcfc, 4, false, &v));
	assert_int_equal(v, 0); /* offset 0x100: no extended capability, not the ids */
}

static void test_absent_functions(void **state)
{
	struct vmm_pci p = { 0 };
	uint32_t v = 0;

	(void)state;
	assert_int_equal(cfg(&p, 0, 1, 0, 0, 4), 0xffffffffu);
	assert_int_equal(cfg(&p, 0, 0, 1, 0, 2), 0xffff);
	assert_int_equal(cfg(&p, 1, 0, 0, 0, 1), 0xff);
	/* enable bit clear: nothing decoded */
	assert_true(vmm_pci_pio(&p, 0xcf8, 4, true, &v));
	assert_true(vmm_pci_pio(&p, 0xcfc, 4, false, &v));
	assert_int_equal(v, 0xffffffffu);
	/* writes are accepted and ignored */
	v = 0x1234;
	assert_true(vmm_pci_pio(&p, 0xcfc, 2, true, &v));
	assert_int_equal(cfg(&p, 0, 0, 0, 0x04, 4), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_address_readback),
		cmocka_unit_test(test_host_bridge),
		cmocka_unit_test(test_absent_functions),
		cmocka_unit_test(test_extended_registers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
