/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vCPU register state for the Linux 64-bit boot protocol: CS is a 64-bit
 * code segment (selector 0x08), data segments flat (0x10), CR0.PE|PG, CR4.PAE,
 * EFER.LME|LMA, CR3 = the boot PML4, interrupts off.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/kvm.h>

#include "boot.h"
#include "cpuid.h"
#include "x86.h"

#define CR0_PE 0x1ull
#define CR0_ET 0x10ull
#define CR0_PG 0x80000000ull
#define CR4_PAE 0x20ull
#define EFER_LME 0x100ull
#define EFER_LMA 0x400ull

static void flat_segment(struct kvm_segment *s, uint16_t sel, uint8_t type, int code64)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->l = (uint8_t)code64;
	s->db = (uint8_t)!code64;
	s->g = 1;
}

int vmm_x86_setup_long_mode(int vcpu_fd, uint64_t rip, uint64_t rsi, uint64_t rsp)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	flat_segment(&sregs.cs, 0x08, 0xb, 1);
	flat_segment(&sregs.ds, 0x10, 0x3, 0);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.gdt.base = VMM_GDT_ADDR;
	sregs.gdt.limit = 4 * 8 - 1;
	sregs.idt.base = VMM_IDT_ADDR;
	sregs.idt.limit = 7;
	sregs.cr0 = CR0_PE | CR0_ET | CR0_PG;
	sregs.cr3 = VMM_PML4_ADDR;
	sregs.cr4 = CR4_PAE;
	sregs.efer = EFER_LME | EFER_LMA;
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;
	memset(&regs, 0, sizeof(regs));
	regs.rflags = 2;
	regs.rip = rip;
	regs.rsi = rsi;
	regs.rsp = regs.rbp = rsp;
	return ioctl(vcpu_fd, KVM_SET_REGS, &regs) < 0 ? -errno : 0;
}

int vmm_x86_setup_fpu(int vcpu_fd)
{
	struct kvm_fpu fpu;

	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;
	fpu.mxcsr = 0x1f80;
	return ioctl(vcpu_fd, KVM_SET_FPU, &fpu) < 0 ? -errno : 0;
}

#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_MODE_NMI 0x4
#define APIC_MODE_EXTINT 0x7

static void set_lvt_mode(struct kvm_lapic_state *l, unsigned reg, uint32_t mode)
{
	uint32_t v;

	memcpy(&v, l->regs + reg, 4);
	v = (v & ~0x700u) | mode << 8;
	memcpy(l->regs + reg, &v, 4);
}

int vmm_x86_setup_lapic(int vcpu_fd)
{
	struct kvm_lapic_state l;

	if (ioctl(vcpu_fd, KVM_GET_LAPIC, &l) < 0)
		return -errno;
	set_lvt_mode(&l, APIC_LVT0, APIC_MODE_EXTINT);
	set_lvt_mode(&l, APIC_LVT1, APIC_MODE_NMI);
	return ioctl(vcpu_fd, KVM_SET_LAPIC, &l) < 0 ? -errno : 0;
}

struct kvm_cpuid2 *vmm_x86_supported_cpuid(int kvm_fd)
{
	unsigned n;

	for (n = 64; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

		if (!c)
			return NULL;
		c->nent = n;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0)
				vmm_cpuid_set_tsc_deadline(c->entries, c->nent);
			return c;
		}
		free(c);
		if (errno != E2BIG)
			return NULL;
	}
	errno = E2BIG;
	return NULL;
}

int vmm_x86_set_cpuid(int vcpu_fd, const struct kvm_cpuid2 *base, unsigned cpu, unsigned ncpus,
		      bool hyperv)
{
	size_t size = sizeof(*base) + base->nent * sizeof(base->entries[0]);
	struct kvm_cpuid2 *c = malloc(size + VMM_CPUID_HYPERV_LEAVES * sizeof(base->entries[0]));
	int rc = 0;

	if (!c)
		return -ENOMEM;
	memcpy(c, base, size);
	vmm_cpuid_fixup(c->entries, c->nent, cpu, ncpus);
	if (hyperv)
		c->nent = vmm_cpuid_set_hyperv(c->entries, c->nent, ncpus);
	if (ioctl(vcpu_fd, KVM_SET_CPUID2, c) < 0)
		rc = -errno;
	free(c);
	return rc;
}
