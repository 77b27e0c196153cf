/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-vCPU CPUID adjustments. Topology: one package with ncpus cores of one
 * thread each; APIC id = vCPU index.
 */
#include <stddef.h>
#include <stdint.h>

#include "cpuid.h"

#define CPUID_1_ECX_MONITOR (1u << 3)
#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_1_EDX_HTT (1u << 28)
#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID_1_ECX_AVX (1u << 28)
#define CPUID_7_EBX_MPX (1u << 14)
#define CPUID_7_EBX_AVX512F (1u << 16)
#define CPUID_7_ECX_PKU (1u << 3)
#define XSTATE_LEGACY_SIZE 576 /* legacy area + XSAVE header */

static unsigned order(unsigned n)
{
	unsigned b = 0;

	while ((1u << b) < n)
		b++;
	return b;
}

static void fix_leaf1(struct kvm_cpuid_entry2 *e, unsigned cpu, unsigned ncpus)
{
	e->ebx = (e->ebx & 0xffff) | (ncpus & 0xff) << 16 | cpu << 24;
	e->ecx = (e->ecx & ~CPUID_1_ECX_MONITOR) | CPUID_1_ECX_HYPERVISOR;
	if (ncpus > 1)
		e->edx |= CPUID_1_EDX_HTT;
	else
		e->edx &= ~CPUID_1_EDX_HTT;
}

/* Extended topology (0xb, 0x1f): level 0 SMT (1 thread), level 1 core. */
static void fix_topology(struct kvm_cpuid_entry2 *e, unsigned cpu, unsigned ncpus)
{
	e->edx = cpu;
	if (e->index == 0) {
		e->eax = 0;
		e->ebx = 1;
		e->ecx = 1u << 8;
	} else if (e->index == 1) {
		e->eax = order(ncpus);
		e->ebx = ncpus;
		e->ecx = 2u << 8 | 1;
	} else {
		e->eax = 0;
		e->ebx = 0;
		e->ecx = e->index;
	}
}

static struct kvm_cpuid_entry2 *find(struct kvm_cpuid_entry2 *e, unsigned n, uint32_t fn,
				      uint32_t index)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (e[i].function == fn && e[i].index == index)
			return &e[i];
	return NULL;
}

/* XSAVE state components whose CPU feature bits are present. */
static uint64_t xfeatures_allowed(struct kvm_cpuid_entry2 *e, unsigned n)
{
	struct kvm_cpuid_entry2 *l1 = find(e, n, 1, 0), *l7 = find(e, n, 7, 0);
	uint64_t ok = 0x3; /* x87, SSE */

	if (l1 && (l1->ecx & CPUID_1_ECX_AVX))
		ok |= 1u << 2;
	if (l7 && (l7->ebx & CPUID_7_EBX_MPX))
		ok |= 3u << 3;
	if (l7 && (l7->ebx & CPUID_7_EBX_AVX512F) && (ok & (1u << 2)))
		ok |= 7u << 5;
	if (l7 && (l7->ecx & CPUID_7_ECX_PKU))
		ok |= 1u << 9;
	return ok | ~0x2ffull; /* components from bit 10 on (AMX...) keep KVM's view */
}

/*
 * Leaf 0xd must agree with the feature bits (a guest kernel warns "XSAVE
 * consistency problem" otherwise): drop state components whose feature is
 * absent and recompute the maximum save area size in ECX.
 */
static void fix_xsave(struct kvm_cpuid_entry2 *e, unsigned n)
{
	struct kvm_cpuid_entry2 *d0 = find(e, n, 0xd, 0), *d;
	uint64_t ok = xfeatures_allowed(e, n), x;
	uint32_t size = XSTATE_LEGACY_SIZE;
	unsigned i;

	if (!d0)
		return;
	x = ((uint64_t)d0->edx << 32 | d0->eax) & ok;
	d0->eax = (uint32_t)x;
	d0->edx = (uint32_t)(x >> 32);
	for (i = 2; i < 64; i++) {
		d = find(e, n, 0xd, i);
		if (!d)
			continue;
		if (!(x & (1ull << i)) && i != 8 && i < 10) /* 8 (PT) is supervisor state */
			d->eax = d->ebx = d->ecx = d->edx = 0;
		else if (x & (1ull << i) && d->eax + d->ebx > size)
			size = d->eax + d->ebx;
	}
	d0->ecx = size;
	if (d0->ebx > size)
		d0->ebx = size;
}

void vmm_cpuid_fixup(struct kvm_cpuid_entry2 *e, unsigned n, unsigned cpu, unsigned ncpus)
{
	unsigned i;

	fix_xsave(e, n);

	for (i = 0; i < n; i++, e++) {
		switch (e->function) {
		case 1:
			fix_leaf1(e, cpu, ncpus);
			break;
		case 4: /* cores per package - 1 in EAX[31:26], for each cache level */
			if (e->eax & 0x1f)
				e->eax = (e->eax & 0x03ffffff) | (ncpus - 1) << 26;
			break;
		case 5: /* no MONITOR/MWAIT */
			e->eax = e->ebx = e->ecx = e->edx = 0;
			break;
		case 0xa: /* no architectural PMU */
			e->eax = e->ebx = e->ecx = e->edx = 0;
			break;
		case 0xb:
		case 0x1f:
			fix_topology(e, cpu, ncpus);
			break;
		case 0x80000008: /* AMD: number of cores - 1, APIC id size */
			e->ecx = (e->ecx & ~0xf0ffu) | (ncpus - 1) | order(ncpus) << 12;
			break;
		default:
			break;
		}
	}
}

/* Hyper-V leaves (TLFS "Feature and interface discovery"). */
#define HV_LEAF_VENDOR 0x40000000u
#define HV_LEAF_INTERFACE 0x40000001u
#define HV_LEAF_VERSION 0x40000002u
#define HV_LEAF_FEATURES 0x40000003u
#define HV_LEAF_ENLIGHTENMENTS 0x40000004u
#define HV_LEAF_LIMITS 0x40000005u
#define HV_LEAF_HWFEATURES 0x40000006u
#define HV_SIG_EAX 0x31237648u /* "Hv#1" */
/* 0x40000003 EAX: partition privileges, low half */
#define HV_MSR_TIME_REF_COUNT_AVAILABLE (1u << 1)
#define HV_MSR_SYNIC_AVAILABLE (1u << 2)
#define HV_MSR_HYPERCALL_AVAILABLE (1u << 5)
#define HV_MSR_VP_INDEX_AVAILABLE (1u << 6)
#define HV_ACCESS_FREQUENCY_MSRS (1u << 11)
/* 0x40000003 EBX: partition privileges, high half */
#define HV_POST_MESSAGES (1u << 4)
#define HV_SIGNAL_EVENTS (1u << 5)
/* 0x40000003 EDX: misc features */
#define HV_FEATURE_FREQUENCY_MSRS_AVAILABLE (1u << 8)
/* 0x40000004 EAX: recommendations */
#define HV_DEPRECATING_AEOI_RECOMMENDED (1u << 9)

static void set_leaf(struct kvm_cpuid_entry2 *e, uint32_t fn, uint32_t a, uint32_t b, uint32_t c,
		     uint32_t d)
{
	*e = (struct kvm_cpuid_entry2){ .function = fn, .eax = a, .ebx = b, .ecx = c, .edx = d };
}

unsigned vmm_cpuid_set_hyperv(struct kvm_cpuid_entry2 *e, unsigned n, unsigned ncpus)
{
	unsigned i, m = 0;

	for (i = 0; i < n; i++) /* drop KVM's leaves (its signature too) */
		if (e[i].function < HV_LEAF_VENDOR || e[i].function > 0x4fffffffu)
			e[m++] = e[i];
	/* "Microsoft Hv" in EBX, ECX, EDX */
	set_leaf(&e[m++], HV_LEAF_VENDOR, HV_LEAF_HWFEATURES, 0x7263694d, 0x666f736f, 0x76482074);
	set_leaf(&e[m++], HV_LEAF_INTERFACE, HV_SIG_EAX, 0, 0, 0);
	set_leaf(&e[m++], HV_LEAF_VERSION, 0x3839, 0x000a0000, 0, 0); /* build 14393, 10.0 */
	set_leaf(&e[m++], HV_LEAF_FEATURES,
		 HV_MSR_TIME_REF_COUNT_AVAILABLE | HV_MSR_SYNIC_AVAILABLE |
			 HV_MSR_HYPERCALL_AVAILABLE | HV_MSR_VP_INDEX_AVAILABLE |
			 HV_ACCESS_FREQUENCY_MSRS,
		 HV_POST_MESSAGES | HV_SIGNAL_EVENTS, 0, HV_FEATURE_FREQUENCY_MSRS_AVAILABLE);
	set_leaf(&e[m++], HV_LEAF_ENLIGHTENMENTS, HV_DEPRECATING_AEOI_RECOMMENDED, 0xffffffffu, 0,
		 0);
	set_leaf(&e[m++], HV_LEAF_LIMITS, ncpus, ncpus, 0, 0);
	set_leaf(&e[m++], HV_LEAF_HWFEATURES, 0, 0, 0, 0);
	return m;
}

void vmm_cpuid_set_tsc_deadline(struct kvm_cpuid_entry2 *e, unsigned n)
{
	struct kvm_cpuid_entry2 *l1 = find(e, n, 1, 0);

	if (l1)
		l1->ecx |= CPUID_1_ECX_TSC_DEADLINE;
}
