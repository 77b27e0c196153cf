/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-vCPU CPUID adjustments. Topology: one package with ncpus cores of one
 * thread each; APIC id = vCPU index.
 */
#include "cpuid.h"

#define CPUID_1_ECX_MONITOR (1u << 3)
#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_1_EDX_HTT (1u << 28)

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

void vmm_cpuid_fixup(struct kvm_cpuid_entry2 *e, unsigned n, unsigned cpu, unsigned ncpus)
{
	unsigned i;

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
