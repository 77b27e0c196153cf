/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Guest CPUID: takes KVM_GET_SUPPORTED_CPUID's entries and adapts them per
 * vCPU: APIC ids and the CPU count (leaves 1, 4, 0xb, 0x1f, 0x80000008),
 * the hypervisor bit, no performance monitoring (leaf 0xa), no monitor/mwait,
 * XSAVE leaf 0xd consistent with the feature bits, and the TSC deadline timer
 * (emulated by KVM's in-kernel LAPIC but not reported by
 * KVM_GET_SUPPORTED_CPUID) when the caller says KVM has it. Pure function
 * over the uapi entry array, used by vmm_vm.
 */
#ifndef VMM_CPUID_H
#define VMM_CPUID_H

#include <linux/kvm.h>

/*
 * Rewrites the n entries in e for vCPU cpu (its APIC id) of ncpus.
 * Any thread.
 */
void vmm_cpuid_fixup(struct kvm_cpuid_entry2 *e, unsigned n, unsigned cpu, unsigned ncpus);

/* Sets the TSC-deadline bit of leaf 1 (call when KVM_CAP_TSC_DEADLINE_TIMER). */
void vmm_cpuid_set_tsc_deadline(struct kvm_cpuid_entry2 *e, unsigned n);

/*
 * Hyper-V view: removes every leaf in 0x40000000-0x4fffffff (KVM's signature
 * and features) and appends the Hyper-V leaves 0x40000000-0x40000006: vendor
 * "Microsoft Hv", interface "Hv#1", version 10.0, only what the VMM
 * implements with KVM (hypercall page, VP index, SynIC, reference time
 * counter, TSC and APIC frequency MSRs, so that the guest need not calibrate
 * its timers; PostMessage and SignalEvent), auto-EOI deprecated, ncpus VPs.
 * e must have room for n + VMM_CPUID_HYPERV_LEAVES entries. Returns the new
 * count. Any thread.
 */
#define VMM_CPUID_HYPERV_LEAVES 7
unsigned vmm_cpuid_set_hyperv(struct kvm_cpuid_entry2 *e, unsigned n, unsigned ncpus);

#endif
