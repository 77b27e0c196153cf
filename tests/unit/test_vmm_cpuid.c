/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the per-vCPU CPUID adjustments (vmm/cpuid.c) on a
 * hand-made KVM_GET_SUPPORTED_CPUID table: APIC ids and counts, the
 * hypervisor bit, topology leaves, PMU and MWAIT removal, XSAVE leaf 0xd
 * consistency, the TSC-deadline bit and the Hyper-V leaves.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cpuid.h"

static struct kvm_cpuid_entry2 e[32];
static unsigned n;

static struct kvm_cpuid_entry2 *add(uint32_t fn, uint32_t idx, uint32_t a, uint32_t b, uint32_t c,
				    uint32_t d)
{
	struct kvm_cpuid_entry2 *x = &e[n++];

	memset(x, 0, sizeof(*x));
	x->function = fn;
	x->index = idx;
	x->eax = a;
	x->ebx = b;
	x->ecx = c;
	x->edx = d;
	return x;
}

static struct kvm_cpuid_entry2 *get(uint32_t fn, uint32_t idx)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (e[i].function == fn && e[i].index == idx)
			return &e[i];
	fail();
	return NULL;
}

/* A table like KVM's: leaf 1 with AVX optional, xsave with AVX state. */
static void table(int avx)
{
	n = 0;
	add(1, 0, 0x800f12, 0x00020800, (avx ? 1u << 28 : 0) | 1u << 3 | 1u << 26,
	    1u << 28 | 1);
	add(4, 0, 0x121, 0, 0, 0);
	add(5, 0, 0x40, 0x40, 3, 0x11142120);
	add(7, 0, 0, 0, 0, 0);
	add(0xa, 0, 0x07300402, 0, 0, 0x603);
	add(0xb, 0, 1, 1, 0x100, 0);
	add(0xb, 1, 4, 4, 0x201, 0);
	add(0xd, 0, 0x7, 0x340, 0x340, 0);
	add(0xd, 1, 0x1, 0, 0, 0);
	add(0xd, 2, 0x100, 0x240, 0, 0);
	add(0x80000008, 0, 0x3030, 0, 0x0000f00f, 0);
}

static void test_leaf1(void **state)
{
	struct kvm_cpuid_entry2 *l1;

	(void)state;
	table(1);
	vmm_cpuid_fixup(e, n, 3, 4);
	l1 = get(1, 0);
	assert_int_equal(l1->ebx >> 24, 3);            /* APIC id */
	assert_int_equal((l1->ebx >> 16) & 0xff, 4);   /* logical count */
	assert_int_equal(l1->ebx & 0xffff, 0x0800);    /* CLFLUSH size kept */
	assert_true(l1->ecx & (1u << 31));             /* hypervisor */
	assert_false(l1->ecx & (1u << 3));             /* no MONITOR */
	assert_true(l1->edx & (1u << 28));             /* HTT with >1 CPU */
	table(1);
	vmm_cpuid_fixup(e, n, 0, 1);
	assert_false(get(1, 0)->edx & (1u << 28));
}

static void test_topology(void **state)
{
	(void)state;
	table(1);
	vmm_cpuid_fixup(e, n, 2, 3);
	assert_int_equal(get(0xb, 0)->edx, 2);
	assert_int_equal(get(0xb, 0)->ebx, 1);
	assert_int_equal(get(0xb, 1)->edx, 2);
	assert_int_equal(get(0xb, 1)->ebx, 3);
	assert_int_equal(get(0xb, 1)->eax, 2);          /* shift: ceil(log2(3)) */
	assert_int_equal(get(0xb, 1)->ecx, 0x201);
	assert_int_equal(get(4, 0)->eax >> 26, 2);      /* cores - 1 */
	assert_int_equal(get(0x80000008, 0)->ecx & 0xff, 2);
	assert_int_equal((get(0x80000008, 0)->ecx >> 12) & 0xf, 2);
}

static void test_pmu_mwait_removed(void **state)
{
	(void)state;
	table(1);
	vmm_cpuid_fixup(e, n, 0, 1);
	assert_int_equal(get(0xa, 0)->eax, 0);
	assert_int_equal(get(0xa, 0)->edx, 0);
	assert_int_equal(get(5, 0)->eax, 0);
	assert_int_equal(get(5, 0)->edx, 0);
}

static void test_xsave_consistent_with_avx(void **state)
{
	(void)state;
	table(1);
	vmm_cpuid_fixup(e, n, 0, 1);
	assert_int_equal(get(0xd, 0)->eax, 7);
	assert_int_equal(get(0xd, 0)->ecx, 0x340);
	assert_int_equal(get(0xd, 2)->eax, 0x100);
}

static void test_xsave_without_avx(void **state)
{
	(void)state;
	table(0);
	vmm_cpuid_fixup(e, n, 0, 1);
	assert_int_equal(get(0xd, 0)->eax, 3);        /* YMM dropped */
	assert_int_equal(get(0xd, 0)->ecx, 576);      /* legacy + header */
	assert_int_equal(get(0xd, 0)->ebx, 576);
	assert_int_equal(get(0xd, 2)->eax, 0);
	assert_int_equal(get(0xd, 2)->ebx, 0);
}

static void test_tsc_deadline(void **state)
{
	(void)state;
	table(1);
	assert_false(get(1, 0)->ecx & (1u << 24));
	vmm_cpuid_set_tsc_deadline(e, n);
	vmm_cpuid_fixup(e, n, 0, 1);
	assert_true(get(1, 0)->ecx & (1u << 24));
}

/* KVM's signature leaves go, the Hyper-V ones come, nothing else moves. */
static void test_hyperv(void **state)
{
	char vendor[13];
	unsigned i, before;

	(void)state;
	table(1);
	add(0x40000000, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d);
	add(0x40000001, 0, 0x01007afb, 0, 0, 0);
	before = n;
	n = vmm_cpuid_set_hyperv(e, n, 4);
	assert_int_equal(n, before - 2 + VMM_CPUID_HYPERV_LEAVES);
	assert_int_equal(get(0x40000000, 0)->eax, 0x40000006);
	memcpy(vendor, &get(0x40000000, 0)->ebx, 4);
	memcpy(vendor + 4, &get(0x40000000, 0)->ecx, 4);
	memcpy(vendor + 8, &get(0x40000000, 0)->edx, 4);
	vendor[12] = 0;
	assert_string_equal(vendor, "Microsoft Hv");
	assert_int_equal(get(0x40000001, 0)->eax, 0x31237648); /* "Hv#1" */
	/* hypercall, VP index, SynIC, time ref count, frequency MSRs; no APIC
	 * MSRs, no TSC page */
	assert_int_equal(get(0x40000003, 0)->eax, 0x866);
	assert_int_equal(get(0x40000003, 0)->edx, 0x100);
	assert_int_equal(get(0x40000003, 0)->ebx, 0x30); /* PostMessage, SignalEvent */
	assert_true(get(0x40000004, 0)->eax & (1u << 9)); /* auto-EOI deprecated */
	assert_int_equal(get(0x40000005, 0)->eax, 4);
	for (i = 0; i < n; i++) /* no KVM signature anywhere */
		assert_false(e[i].ebx == 0x4b4d564b);
	assert_int_equal(get(1, 0)->eax, 0x800f12);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_leaf1),
		cmocka_unit_test(test_topology),
		cmocka_unit_test(test_pmu_mwait_removed),
		cmocka_unit_test(test_xsave_consistent_with_avx),
		cmocka_unit_test(test_xsave_without_avx),
		cmocka_unit_test(test_tsc_deadline),
		cmocka_unit_test(test_hyperv),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
