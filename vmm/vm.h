/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A virtual machine under KVM: guest memory (vmm_memory), in-kernel irqchip
 * and PIT, one thread per vCPU, the legacy I/O devices (COM1 through
 * vmm_serial and vmm_console, ACPI PM1 power-off, reset port 0xcf9, the
 * 8042 reset line, PCI config mechanism #1 with a host bridge), ACPI tables
 * and the Linux 64-bit boot. The owner thread
 * creates the VM, runs it with vmm_vm_run (which returns when the guest powers
 * off or resets, on vmm_vm_stop, or on an error) and frees it.
 */
#ifndef VMM_VM_H
#define VMM_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acpi.h"
#include "vsd_link.h"

struct vmm_vm;

/* Why a VM stopped; also vmm's exit status (documented in vmm --help). */
enum vmm_stop {
	VMM_STOP_POWEROFF = 0, /* guest powered off (ACPI S5) */
	VMM_STOP_ERROR = 1,    /* VMM or KVM failure, see stderr */
	VMM_STOP_USAGE = 2,    /* bad command line / configuration */
	VMM_STOP_REBOOT = 3,   /* guest reset: reboot, triple fault */
	VMM_STOP_SIGNAL = 4,   /* stopped by SIGTERM/SIGINT/SIGHUP */
	VMM_STOP_HOST_POWEROFF = 5, /* vswitchd sent REQUEST POWEROFF */
};

#define VMM_DEFAULT_CMDLINE "console=ttyS0"
#define VMM_DEFAULT_MEMORY_MIB 256
#define VMM_INIT_MARKER "HVNET-GUEST-INIT"

struct vmm_vm_config {
	const char *kernel;     /* bzImage path */
	const char *initrd;     /* NULL for none */
	const char *cmdline;    /* NULL for VMM_DEFAULT_CMDLINE */
	const char *console;    /* stdout | file:PATH | unix:PATH; NULL = stdout */
	const char *marker;     /* console line that means "init reached"; NULL = default */
	uint64_t memory_mib;
	unsigned cpus;
	bool hugetlb;
	bool quiet;             /* no timing report on stderr */
	bool hyperv;            /* Hyper-V CPUID, SynIC and VMBus (vmm_hv) */
	bool hyperv_optional;   /* without KVM's Hyper-V support: a KVM guest, warned */
	unsigned shutdown_grace_s; /* with hyperv: SIGTERM asks the guest to shut down
				    * through the shutdown IC and waits this long
				    * (0: stop at once) */
	uint64_t start_ns;      /* vmm_now_ns() at process start, for the report */
	/* extra DSDT devices (e.g. the VMBus device), copied by vmm_vm_new */
	const struct vmm_acpi_device *acpi_devices;
	unsigned n_acpi_devices;
	/* synthetic NICs (need hyperv): vswitchd's vmbus-user socket, the VM's
	 * name there and the NICs (copied); NULL / 0: none */
	const char *vswitchd;
	const char *name;
	const struct vmm_vsd_nic *nics;
	unsigned nr_nics;
};

/*
 * Builds the VM: checks the config, loads kernel and initrd, writes ACPI and
 * boot tables, creates vCPUs. Returns NULL, sets errno and writes a one-line
 * reason to err (errlen bytes) on failure; errno EINVAL/ENOEXEC/ENOTSUP/E2BIG
 * mean a configuration problem (exit status VMM_STOP_USAGE), others a host
 * problem. Owner thread.
 */
struct vmm_vm *vmm_vm_new(const struct vmm_vm_config *cfg, char *err, size_t errlen);

/*
 * Starts the vCPU threads and waits until the VM stops. SIGTERM, SIGINT and
 * SIGHUP stop it (the caller must have them blocked in every thread, see
 * vmm_vm_block_signals). Returns an enum vmm_stop. Owner thread, once.
 */
int vmm_vm_run(struct vmm_vm *vm);

/* Blocks the stop signals in the calling thread (call first in main). */
void vmm_vm_block_signals(void);

/* Frees the VM; NULL is fine. Owner thread, after vmm_vm_run returned. */
void vmm_vm_free(struct vmm_vm *vm);

/* The guest memory's memfd (owned by vm), for sharing with vswitchd later. */
int vmm_vm_memory_fd(const struct vmm_vm *vm);

#endif
