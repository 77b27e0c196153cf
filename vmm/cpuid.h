/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Guest CPUID: takes KVM_GET_SUPPORTED_CPUID's entries and adapts them per
 * vCPU: APIC ids and the CPU count (leaves 1, 4, 0xb, 0x1f, 0x80000008),
 * the hypervisor bit, no performance monitoring (leaf 0xa) and no
 * monitor/mwait. Pure function over the uapi entry array, used by vmm_vm.
 */
#ifndef VMM_CPUID_H
#define VMM_CPUID_H

#include <linux/kvm.h>

/*
 * Rewrites the n entries in e for vCPU cpu (its APIC id) of ncpus.
 * Any thread.
 */
void vmm_cpuid_fixup(struct kvm_cpuid_entry2 *e, unsigned n, unsigned cpu, unsigned ncpus);

#endif
