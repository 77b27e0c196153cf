/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * x86 vCPU state through KVM ioctls: the 64-bit boot entry state (long mode,
 * identity paging from vmm_boot_write_tables, flat segments), FPU reset
 * state, LAPIC LINT0/LINT1 wiring and CPUID. Used by vmm_vm for every vCPU
 * and by the KVM capability probe. Call from the thread owning the vCPU fd
 * (or before its thread starts).
 */
#ifndef VMM_X86_H
#define VMM_X86_H

#include <stdbool.h>
#include <stdint.h>

struct kvm_cpuid2;

/* Puts vcpu_fd in 64-bit mode at rip with rsi and rsp set. 0 or -errno. */
int vmm_x86_setup_long_mode(int vcpu_fd, uint64_t rip, uint64_t rsi, uint64_t rsp);

/* FPU reset state (FCW 0x37f, MXCSR 0x1f80). 0 or -errno. */
int vmm_x86_setup_fpu(int vcpu_fd);

/* LINT0 = ExtINT (8259 virtual wire), LINT1 = NMI. 0 or -errno. */
int vmm_x86_setup_lapic(int vcpu_fd);

/*
 * Returns KVM_GET_SUPPORTED_CPUID of /dev/kvm fd kvm_fd, plus the TSC
 * deadline timer bit when KVM emulates it, in a malloc'ed struct (free() it),
 * or NULL with errno set.
 */
struct kvm_cpuid2 *vmm_x86_supported_cpuid(int kvm_fd);

/* Sets a copy of base, adjusted by vmm_cpuid_fixup for cpu of ncpus, with the
 * Hyper-V leaves instead of KVM's when hyperv (vmm_cpuid_set_hyperv). */
int vmm_x86_set_cpuid(int vcpu_fd, const struct kvm_cpuid2 *base, unsigned cpu, unsigned ncpus,
		      bool hyperv);

#endif
