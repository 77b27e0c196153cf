/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The long-mode probe. The child builds a VM with 2 MiB of memory, the
 * VMM's own boot page tables and long-mode entry state (so the probe checks
 * exactly what a Linux boot needs), runs the loop and reports through its
 * exit status; the parent kills it at the deadline.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "boot.h"
#include "probe.h"
#include "x86.h"

#define PROBE_MEM (2u << 20)
#define PROBE_CODE 0x1000u

enum { PROBE_OK = 0, PROBE_NO_KVM = 10, PROBE_SETUP = 11, PROBE_BAD_EXIT = 12 };

/*
 * mov eax,0x2a; mov rcx,PROBE_LOOPS; 1: add eax,1; dec rcx; jnz 1b; hlt
 * 150 M instructions: well under 0.1 s on hardware-assisted KVM, 0.2 s under
 * the sandbox's inner KVM, minutes where long mode is emulated.
 */
#define PROBE_LOOPS 50000000u
static const uint8_t probe_code[] = {
	0xb8, 0x2a, 0x00, 0x00, 0x00, 0x48, 0xc7, 0xc1,
	PROBE_LOOPS & 0xff, (PROBE_LOOPS >> 8) & 0xff, (PROBE_LOOPS >> 16) & 0xff, PROBE_LOOPS >> 24,
	0x83, 0xc0, 0x01, 0x48, 0xff, 0xc9, 0x75, 0xf8, 0xf4,
};

static int probe_vm(int kvm, int vm, uint8_t *mem)
{
	struct kvm_userspace_memory_region r = {
		.memory_size = PROBE_MEM, .userspace_addr = (uintptr_t)mem,
	};
	struct kvm_cpuid2 *cpuid;
	struct kvm_regs regs;
	struct kvm_run *run;
	int cpu, sz;

	memcpy(mem + PROBE_CODE, probe_code, sizeof(probe_code));
	vmm_boot_write_tables(mem);
	cpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	sz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	cpuid = vmm_x86_supported_cpuid(kvm);
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r) < 0 || cpu < 0 || sz <= 0 || !cpuid ||
	    vmm_x86_set_cpuid(cpu, cpuid, 0, 1, false) < 0 ||
	    vmm_x86_setup_long_mode(cpu, PROBE_CODE, 0, PROBE_CODE))
		return PROBE_SETUP;
	run = mmap(NULL, (size_t)sz, PROT_READ | PROT_WRITE, MAP_SHARED, cpu, 0);
	if (run == MAP_FAILED)
		return PROBE_SETUP;
	if (ioctl(cpu, KVM_RUN, 0) < 0 || run->exit_reason != KVM_EXIT_HLT ||
	    ioctl(cpu, KVM_GET_REGS, &regs) < 0 || regs.rax != 0x2a + PROBE_LOOPS)
		return PROBE_BAD_EXIT;
	return PROBE_OK;
}

static int probe_child(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), vm;
	uint8_t *mem;

	if (kvm < 0)
		return PROBE_NO_KVM;
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	mem = mmap(NULL, PROBE_MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (vm < 0 || mem == MAP_FAILED)
		return PROBE_SETUP;
	return probe_vm(kvm, vm, mem);
}

static int wait_deadline(pid_t pid, unsigned timeout_ms, int *status)
{
	struct timespec nap = { .tv_nsec = 5 * 1000 * 1000 };
	unsigned waited;
	pid_t r;

	for (waited = 0; waited <= timeout_ms; waited += 5) {
		r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
		nanosleep(&nap, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, status, 0);
	return -ETIMEDOUT;
}

int vmm_kvm_probe(unsigned timeout_ms, char *msg, size_t msglen)
{
	int status = 0, rc;
	pid_t pid;

	if (access("/dev/kvm", R_OK | W_OK) < 0) {
		snprintf(msg, msglen, "no usable /dev/kvm (%s)", strerror(errno));
		return -ENODEV;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(msg, msglen, "fork: %s", strerror(errno));
		return -errno;
	}
	if (pid == 0)
		_exit(probe_child());
	rc = wait_deadline(pid, timeout_ms, &status);
	if (rc == -ETIMEDOUT) {
		snprintf(msg, msglen, "a 64-bit guest loop of 150 M instructions did not finish "
			 "within %u ms (this KVM cannot run long-mode guests at usable speed)",
			 timeout_ms);
		return 0;
	}
	if (rc < 0 || !WIFEXITED(status)) {
		snprintf(msg, msglen, "probe process failed");
		return rc < 0 ? rc : -EIO;
	}
	switch (WEXITSTATUS(status)) {
	case PROBE_OK:
		snprintf(msg, msglen, "KVM runs 64-bit guests");
		return 1;
	case PROBE_NO_KVM:
		snprintf(msg, msglen, "cannot open /dev/kvm");
		return -ENODEV;
	case PROBE_BAD_EXIT:
		snprintf(msg, msglen, "the 64-bit probe guest did not halt correctly");
		return 0;
	default:
		snprintf(msg, msglen, "cannot set up a KVM guest");
		return -EIO;
	}
}
