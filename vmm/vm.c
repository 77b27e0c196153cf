/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The VM: KVM objects, boot loading, vCPU threads and legacy I/O dispatch
 * (COM1, ACPI PM1, PCI configuration mechanism #1, reset register, 8042).
 *
 * Threads: the owner thread creates everything, then sits in sigtimedwait
 * for the stop signals (SIGTERM/SIGINT/SIGHUP) and for SIGUSR2, which a
 * vCPU thread sends to the process when the guest powers off or resets. To
 * stop, the owner sets vm->stop and kicks every vCPU with SIGUSR1, whose
 * handler sets kvm_run->immediate_exit so a vCPU about to enter KVM_RUN
 * leaves at once. vCPU threads share: the UART (own lock), the PM1 registers
 * (atomics), vm->stop (atomic, first reason wins).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "acpi.h"
#include "boot.h"
#include "console.h"
#include "hv.h"
#include "memory.h"
#include "pci.h"
#include "serial.h"
#include "vm.h"
#include "x86.h"

#define MIN_MEMORY_MIB 32
#define MAX_MEMORY_MIB (1024ull * 1024)
#define MAX_CPUS VMM_ACPI_MAX_CPUS
#define KVM_TSS_ADDR 0xfffbd000ull
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ull
#define STOP_RUNNING (-1)

struct vcpu {
	struct vmm_vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
	int started;
};

struct vmm_vm {
	struct vmm_vm_config cfg;
	int kvm_fd, vm_fd;
	struct vmm_memory *mem;
	struct vmm_serial *serial;
	struct vmm_console *console;
	struct vmm_pci pci;
	struct kvm_cpuid2 *cpuid;
	struct vcpu *vcpus;
	unsigned ncpus;
	struct vmm_hv *hv; /* Hyper-V SynIC and VMBus; NULL without --hyperv */
	struct vmm_vsd_config vsd; /* synthetic NICs (vsd.nics points to nics) */
	struct vmm_vsd_nic nics[VMBUS_USER_MAX_NICS];
	uint64_t kernel_addr;
	uint64_t entry; /* 64-bit entry point (physical) */
	_Atomic int stop;
	_Atomic uint16_t pm1_sts, pm1_en, pm1_cnt;
	_Atomic uint8_t reset_reg;
	_Atomic int marker_reported;
	_Atomic uint64_t first_run_ns;
	_Atomic unsigned unhandled_io;
};

static __thread struct kvm_run *tls_run;

static void errf(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void errf(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

/* ---- stopping ---- */

static void request_stop(struct vmm_vm *vm, int why)
{
	int expected = STOP_RUNNING;

	if (atomic_compare_exchange_strong(&vm->stop, &expected, why))
		kill(getpid(), SIGUSR2); /* wakes the owner's sigtimedwait */
}

static void kick_handler(int sig)
{
	(void)sig;
	if (tls_run)
		tls_run->immediate_exit = 1;
}

void vmm_vm_block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* ---- devices ---- */

static double ms_since(uint64_t t0, uint64_t t)
{
	return (double)(t - t0) / 1e6;
}

static void report_marker(struct vmm_vm *vm)
{
	uint64_t m = vmm_console_marker_ns(vm->console);
	int no = 0;

	if (!m || vm->cfg.quiet || !atomic_compare_exchange_strong(&vm->marker_reported, &no, 1))
		return;
	fprintf(stderr,
		"vmm: guest init reached %.1f ms after vmm start (setup %.1f ms, "
		"first console output at %.1f ms)\n",
		ms_since(vm->cfg.start_ns, m), ms_since(vm->cfg.start_ns, vm->first_run_ns),
		ms_since(vm->cfg.start_ns, vmm_console_first_output_ns(vm->console)));
}

static void serial_tx(void *opaque, uint8_t byte)
{
	struct vmm_vm *vm = opaque;

	vmm_console_write(vm->console, &byte, 1);
	if (byte == '\n')
		report_marker(vm);
}

static void serial_irq(void *opaque, int level)
{
	struct vmm_vm *vm = opaque;
	struct kvm_irq_level irq = { .irq = VMM_SERIAL_COM1_IRQ, .level = (uint32_t)level };

	ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq);
}

static size_t console_input(void *opaque, const uint8_t *buf, size_t n)
{
	struct vmm_vm *vm = opaque;

	return vmm_serial_rx(vm->serial, buf, n);
}

/* A guest-requested reset. */
static void reset(struct vmm_vm *vm, const char *how)
{
	if (!vm->cfg.quiet && vm->stop == STOP_RUNNING)
		fprintf(stderr, "vmm: guest reset through the %s\n", how);
	request_stop(vm, VMM_STOP_REBOOT);
}

/* ACPI PM1a control: SLP_EN with the \_S5 SLP_TYP powers off. */
static void pm1_cnt_write(struct vmm_vm *vm, uint16_t v)
{
	if ((v & VMM_ACPI_PM1_SLP_EN) && VMM_ACPI_PM1_SLP_TYP(v) == VMM_ACPI_S5_TYPE)
		request_stop(vm, VMM_STOP_POWEROFF);
	vm->pm1_cnt = v & ~VMM_ACPI_PM1_SLP_EN;
}

static uint32_t pm_read(struct vmm_vm *vm, uint16_t port)
{
	switch (port) {
	case VMM_ACPI_PM1A_EVT_PORT: return vm->pm1_sts;
	case VMM_ACPI_PM1A_EVT_PORT + 2: return vm->pm1_en;
	case VMM_ACPI_PM1A_CNT_PORT: return vm->pm1_cnt | 1; /* SCI_EN: ACPI mode */
	default: return 0;
	}
}

static void pm_write(struct vmm_vm *vm, uint16_t port, uint32_t v)
{
	switch (port) {
	case VMM_ACPI_PM1A_EVT_PORT: vm->pm1_sts &= (uint16_t)~v; break; /* write 1 to clear */
	case VMM_ACPI_PM1A_EVT_PORT + 2: vm->pm1_en = (uint16_t)v; break;
	case VMM_ACPI_PM1A_CNT_PORT: pm1_cnt_write(vm, (uint16_t)v); break;
	default: break;
	}
}

/* One port access of size 1, 2 or 4; data in/out in *v. */
static void pio(struct vmm_vm *vm, uint16_t port, unsigned size, int is_write, uint32_t *v)
{
	if (port >= VMM_SERIAL_COM1_BASE && port < VMM_SERIAL_COM1_BASE + 8) {
		if (is_write)
			vmm_serial_write(vm->serial, port - VMM_SERIAL_COM1_BASE, (uint8_t)*v);
		else
			*v = vmm_serial_read(vm->serial, port - VMM_SERIAL_COM1_BASE);
	} else if (port >= VMM_ACPI_PM1A_EVT_PORT && port < VMM_ACPI_PM1A_CNT_PORT + 2) {
		if (is_write)
			pm_write(vm, port, *v);
		else
			*v = pm_read(vm, port);
	} else if (port >= VMM_PCI_ADDR_PORT && port < VMM_PCI_DATA_PORT + 4 &&
		   vmm_pci_pio(&vm->pci, port, size, is_write, v)) {
		/* PCI configuration space */
	} else if (port == VMM_ACPI_RESET_PORT && size == 1) {
		if (is_write && (*v & 0x04))
			reset(vm, "reset register 0xcf9");
		else if (is_write)
			vm->reset_reg = (uint8_t)*v;
		else
			*v = vm->reset_reg;
	} else if (port == 0x64) { /* 8042: pulse reset line; status "empty" */
		if (is_write && (uint8_t)*v == 0xfe)
			reset(vm, "8042 reset line");
		else if (!is_write)
			*v = 0;
	} else if (!is_write) {
		*v = 0xffffffff;
		vm->unhandled_io++;
	}
}

static void handle_io(struct vmm_vm *vm, struct kvm_run *run)
{
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	unsigned size = run->io.size, i;

	for (i = 0; i < run->io.count; i++, data += size) {
		uint32_t v = 0;

		if (size != 1 && size != 2 && size != 4)
			return;
		if (run->io.direction == KVM_EXIT_IO_OUT)
			memcpy(&v, data, size);
		pio(vm, run->io.port, size, run->io.direction == KVM_EXIT_IO_OUT, &v);
		if (run->io.direction == KVM_EXIT_IO_IN)
			memcpy(data, &v, size);
	}
}

/* ---- vCPUs ---- */

/* One line of vCPU state for a fatal or unusual exit. */
static void vcpu_report(struct vcpu *c, const char *what)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	memset(&regs, 0, sizeof(regs));
	memset(&sregs, 0, sizeof(sregs));
	ioctl(c->fd, KVM_GET_REGS, &regs);
	ioctl(c->fd, KVM_GET_SREGS, &sregs);
	fprintf(stderr, "vmm: vCPU %u: %s (exit reason %u, rip 0x%llx, rsp 0x%llx, cr0 0x%llx, "
		"cr2 0x%llx, cr3 0x%llx, cr4 0x%llx, efer 0x%llx)\n", c->id, what,
		c->run->exit_reason, (unsigned long long)regs.rip, (unsigned long long)regs.rsp,
		(unsigned long long)sregs.cr0, (unsigned long long)sregs.cr2,
		(unsigned long long)sregs.cr3, (unsigned long long)sregs.cr4,
		(unsigned long long)sregs.efer);
}

static void vcpu_fail(struct vcpu *c, const char *what)
{
	vcpu_report(c, what);
	request_stop(c->vm, VMM_STOP_ERROR);
}

/* Handles one exit; returns 0 to continue. */
static int vcpu_exit(struct vcpu *c)
{
	struct kvm_run *run = c->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(c->vm, run);
		return 0;
	case KVM_EXIT_MMIO:
		if (!run->mmio.is_write)
			memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
		return 0;
	case KVM_EXIT_SHUTDOWN: /* triple fault: a PC resets; say where, it is rarely wanted */
		vcpu_report(c, "triple fault, resetting");
		request_stop(c->vm, VMM_STOP_REBOOT);
		return -1;
	case KVM_EXIT_SYSTEM_EVENT:
		request_stop(c->vm, run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN
					    ? VMM_STOP_POWEROFF : VMM_STOP_REBOOT);
		return -1;
	case KVM_EXIT_INTR:
		return 0;
	case KVM_EXIT_HYPERV:
		if (c->vm->hv)
			vmm_hv_handle_exit(c->vm->hv, c->id, run);
		return 0;
	case KVM_EXIT_FAIL_ENTRY:
		vcpu_fail(c, "entry failed");
		return -1;
	case KVM_EXIT_INTERNAL_ERROR:
		vcpu_fail(c, "KVM internal error");
		return -1;
	default:
		vcpu_fail(c, "unexpected exit");
		return -1;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *c = arg;
	struct vmm_vm *vm = c->vm;
	char name[16];
	uint64_t zero = 0;

	snprintf(name, sizeof(name), "vcpu%u", c->id);
	pthread_setname_np(pthread_self(), name);
	tls_run = c->run;
	if (c->id == 0)
		atomic_compare_exchange_strong(&vm->first_run_ns, &zero, vmm_now_ns());
	while (vm->stop == STOP_RUNNING) {
		if (ioctl(c->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				c->run->immediate_exit = 0;
				continue;
			}
			fprintf(stderr, "vmm: vCPU %u: KVM_RUN: %s\n", c->id, strerror(errno));
			request_stop(vm, VMM_STOP_ERROR);
			break;
		}
		if (vcpu_exit(c) < 0)
			break;
	}
	return NULL;
}

static int vcpu_create(struct vmm_vm *vm, struct vcpu *c, unsigned id, char *err, size_t errlen)
{
	int mmap_size, rc;

	c->vm = vm;
	c->id = id;
	c->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	mmap_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (c->fd < 0 || mmap_size <= 0) {
		errf(err, errlen, "cannot create vCPU %u: %s", id, strerror(errno));
		return -errno;
	}
	c->run_size = (size_t)mmap_size;
	c->run = mmap(NULL, c->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
	if (c->run == MAP_FAILED) {
		c->run = NULL;
		errf(err, errlen, "cannot map vCPU %u: %s", id, strerror(errno));
		return -errno;
	}
	rc = vmm_x86_set_cpuid(c->fd, vm->cpuid, id, vm->ncpus, vm->cfg.hyperv);
	if (rc == 0)
		rc = vmm_x86_setup_lapic(c->fd);
	if (rc == 0)
		rc = vmm_x86_setup_fpu(c->fd);
	if (rc == 0 && id == 0)
		rc = vmm_x86_setup_long_mode(c->fd, vm->entry, VMM_ZERO_PAGE_ADDR,
					     VMM_BOOT_STACK_ADDR);
	if (rc < 0)
		errf(err, errlen, "cannot set up vCPU %u: %s", id, strerror(-rc));
	return rc;
}

/* ---- loading ---- */

/* Maps a whole regular file read-only (no copy: the kernel and the initrd
 * are copied once, straight into guest RAM). */
static int map_file(const char *path, uint8_t **buf, size_t *len, char *err, size_t errlen,
		    const char *what)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;
	void *p;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
		errf(err, errlen, "cannot read %s '%s': %s", what, path,
		     fd < 0 ? strerror(errno) : !S_ISREG(st.st_mode) ? "not a regular file"
									: "empty file");
		rc = fd < 0 ? -ENOENT : -EINVAL;
		goto out_close;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	if (p == MAP_FAILED) {
		errf(err, errlen, "cannot map %s '%s': %s", what, path, strerror(errno));
		rc = -EIO;
		goto out_close;
	}
	*buf = p;
	*len = (size_t)st.st_size;
out_close:
	if (fd >= 0)
		close(fd);
	return rc;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* What load_guest has read and decided so far. */
struct load {
	struct vmm_vm *vm;
	char *err;
	size_t errlen;
	uint8_t *img, *rd;
	size_t len, rdlen;
	struct vmm_bzimage bz; /* for an ELF vmlinux: only the limits are set */
	bool elf;
	struct vmm_elf_kernel ek;
	struct vmm_boot_layout lay;
	uint64_t need; /* guest RAM the kernel (+ initrd) needs */
};

/* An ELF vmlinux: loaded at its physical addresses, entered at e_entry. */
static int load_elf(struct load *l, const char *path)
{
	if (vmm_elf_parse(l->img, l->len, &l->ek) < 0) {
		errf(l->err, l->errlen, "kernel '%s' is an ELF file but not a loadable x86-64 "
		     "kernel (vmlinux)", path);
		return -ENOEXEC;
	}
	l->elf = true;
	l->bz.initrd_addr_max = VMM_ELF_INITRD_ADDR_MAX;
	l->bz.cmdline_size = VMM_ELF_CMDLINE_SIZE;
	l->vm->kernel_addr = l->ek.start;
	l->vm->entry = l->ek.entry;
	l->need = l->ek.end;
	return 0;
}

/* Reads and checks the kernel (bzImage or ELF vmlinux); sets the entry point. */
static int load_kernel(struct load *l)
{
	const char *path = l->vm->cfg.kernel;
	int rc = map_file(path, &l->img, &l->len, l->err, l->errlen, "kernel");

	if (rc < 0)
		return rc;
	if (vmm_is_elf(l->img, l->len))
		return load_elf(l, path);
	rc = vmm_bzimage_parse(l->img, l->len, &l->bz);
	if (rc == -ENOEXEC)
		errf(l->err, l->errlen, "kernel '%s' is not a bzImage (nor an ELF vmlinux)", path);
	else if (rc < 0)
		errf(l->err, l->errlen, "kernel '%s' is a bzImage without a 64-bit relocatable "
		     "entry point (boot protocol 2.12+ needed)", path);
	if (rc < 0)
		return rc;
	l->vm->kernel_addr = align_up(l->bz.pref_address, l->bz.kernel_alignment);
	l->vm->entry = l->vm->kernel_addr + 0x200; /* startup_64 of the decompressor */
	l->lay.kernel_addr = l->vm->kernel_addr;
	l->need = l->vm->kernel_addr + l->bz.init_size;
	return 0;
}

/* Reads the initrd (if any) and checks that everything fits in RAM. */
static int check_size(struct load *l)
{
	const struct vmm_vm_config *cfg = &l->vm->cfg;
	uint64_t mem = vmm_memory_size(l->vm->mem);
	int rc;

	if (cfg->initrd) {
		rc = map_file(cfg->initrd, &l->rd, &l->rdlen, l->err, l->errlen, "initrd");
		if (rc < 0)
			return rc;
	}
	/* plus 16 MiB for the kernel to run in before it can use the rest */
	l->need = align_up(l->need + align_up(l->rdlen, 4096) + (16 << 20), 1 << 20);
	if (mem < l->need) {
		errf(l->err, l->errlen, "memory too small: %" PRIu64 " MiB given, this kernel%s "
		     "at least %" PRIu64 " MiB", mem >> 20,
		     cfg->initrd ? " and initrd need" : " needs", l->need >> 20);
		return -EINVAL;
	}
	return 0;
}

/* Copies the protected-mode kernel and the initrd into guest RAM. */
static int place_payloads(struct load *l)
{
	struct vmm_memory *m = l->vm->mem;

	unsigned i;

	if (!l->elf)
		memcpy(vmm_memory_ptr(m, l->lay.kernel_addr, l->bz.kernel_size),
		       l->img + l->bz.setup_size, l->bz.kernel_size);
	for (i = 0; l->elf && i < l->ek.nsegs; i++) {
		const struct vmm_elf_segment *sg = &l->ek.segs[i];
		uint8_t *dst = vmm_memory_ptr(m, sg->paddr, sg->memsz);

		memcpy(dst, l->img + sg->offset, sg->filesz);
		memset(dst + sg->filesz, 0, sg->memsz - sg->filesz);
	}
	if (!l->rd)
		return 0;
	l->lay.initrd_addr = vmm_initrd_place(&l->bz, vmm_memory_size(m),
					      l->need - align_up(l->rdlen, 4096), l->rdlen);
	l->lay.initrd_size = l->rdlen;
	if (!l->lay.initrd_addr) {
		errf(l->err, l->errlen, "initrd does not fit below %#x", l->bz.initrd_addr_max);
		return -EINVAL;
	}
	memcpy(vmm_memory_ptr(m, l->lay.initrd_addr, l->rdlen), l->rd, l->rdlen);
	return 0;
}

static int write_cmdline(struct load *l, uint8_t *base)
{
	const char *cmdline = l->vm->cfg.cmdline;
	uint32_t max = l->bz.cmdline_size < VMM_CMDLINE_MAX - 1 ? l->bz.cmdline_size
								 : VMM_CMDLINE_MAX - 1;
	size_t len = strlen(cmdline);

	if (len > max) {
		errf(l->err, l->errlen, "command line too long: %zu bytes, the kernel takes %u",
		     len, max);
		return -EINVAL;
	}
	l->lay.cmdline_addr = VMM_CMDLINE_ADDR;
	l->lay.cmdline_len = (uint32_t)len;
	memcpy(base + VMM_CMDLINE_ADDR, cmdline, len + 1);
	return 0;
}

/* ACPI tables, e820 map, zero page and boot page tables. */
static int write_firmware(struct load *l, uint8_t *base)
{
	struct vmm_acpi_config acfg = {
		.ncpus = l->vm->ncpus,
		.devices = l->vm->cfg.acpi_devices,
		.ndevices = l->vm->cfg.n_acpi_devices,
	};
	struct vmm_e820_entry e820[8];
	long acpi_len;
	int n, rc;

	acpi_len = vmm_acpi_build(base + VMM_ACPI_ADDR, VMM_ACPI_SIZE, VMM_ACPI_ADDR, &acfg);
	if (acpi_len < 0) {
		errf(l->err, l->errlen, "cannot build ACPI tables: %s", strerror((int)-acpi_len));
		return (int)acpi_len;
	}
	l->lay.rsdp_addr = VMM_ACPI_ADDR;
	n = vmm_e820_build(vmm_memory_size(l->vm->mem), e820, 8);
	rc = n < 0 ? n : vmm_boot_params_build(base + VMM_ZERO_PAGE_ADDR, l->elf ? NULL : l->img,
					       l->len, &l->lay, e820, n);
	if (rc < 0) {
		errf(l->err, l->errlen, "cannot build boot parameters: %s", strerror(-rc));
		return rc;
	}
	vmm_boot_write_tables(base);
	return 0;
}

/* Loads kernel, initrd, command line, ACPI tables, zero page, page tables. */
static int load_guest(struct vmm_vm *vm, char *err, size_t errlen)
{
	struct load l = { .vm = vm, .err = err, .errlen = errlen };
	uint8_t *base = vmm_memory_ptr(vm->mem, 0, VMM_HIGH_MEM_ADDR);
	int rc;

	rc = load_kernel(&l);
	if (rc == 0)
		rc = check_size(&l);
	if (rc == 0)
		rc = place_payloads(&l);
	if (rc == 0)
		rc = write_cmdline(&l, base);
	if (rc == 0)
		rc = write_firmware(&l, base);
	if (l.rd)
		munmap(l.rd, l.rdlen);
	if (l.img)
		munmap(l.img, l.len);
	return rc;
}

/* ---- KVM ---- */

static bool hyperv_supported(int vm_fd)
{
	return ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_HYPERV_SYNIC2) > 0 &&
	       ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_HYPERV_EVENTFD) > 0;
}

static int kvm_setup(struct vmm_vm *vm, char *err, size_t errlen)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t ident = KVM_IDENTITY_MAP_ADDR;
	unsigned i;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		errf(err, errlen, "cannot open /dev/kvm: %s", strerror(errno));
		return -errno;
	}
	if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		errf(err, errlen, "unsupported KVM API version");
		return -ENOTSUP;
	}
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		errf(err, errlen, "KVM_CREATE_VM: %s", strerror(errno));
		return -errno;
	}
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR) < 0 ||
	    ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0 ||
	    ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		errf(err, errlen, "cannot create the in-kernel irqchip/PIT: %s", strerror(errno));
		return -errno;
	}
	ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident); /* Intel only; harmless elsewhere */
	for (i = 0; i < vmm_memory_nregions(vm->mem); i++) {
		const struct vmm_memory_region *r = vmm_memory_region(vm->mem, i);
		struct kvm_userspace_memory_region kr = {
			.slot = i, .guest_phys_addr = r->gpa, .memory_size = r->size,
			.userspace_addr = (uintptr_t)r->host,
		};

		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &kr) < 0) {
			errf(err, errlen, "KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
			return -errno;
		}
	}
	if (vm->cfg.hyperv && !hyperv_supported(vm->vm_fd)) {
		if (!vm->cfg.hyperv_optional) {
			errf(err, errlen, "this KVM lacks Hyper-V SynIC2 or Hyper-V eventfds");
			return -ENOTSUP;
		}
		if (!vm->cfg.quiet)
			fprintf(stderr, "vmm: this KVM lacks Hyper-V SynIC2: a plain KVM guest\n");
		vm->cfg.hyperv = false; /* the DSDT keeps its VMBus device: nothing uses it */
	}
	vm->cpuid = vmm_x86_supported_cpuid(vm->kvm_fd);
	if (!vm->cpuid) {
		errf(err, errlen, "KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static int max_vcpus(int kvm_fd)
{
	int n = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);

	if (n <= 0)
		n = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (n <= 0)
		n = 4;
	return n < MAX_CPUS ? n : MAX_CPUS;
}

static int check_config(const struct vmm_vm_config *cfg, char *err, size_t errlen)
{
	if (!cfg->kernel) {
		errf(err, errlen, "no kernel given (--kernel FILE)");
		return -EINVAL;
	}
	if (cfg->memory_mib < MIN_MEMORY_MIB || cfg->memory_mib > MAX_MEMORY_MIB) {
		errf(err, errlen, "memory %s: %" PRIu64 " MiB (allowed %d..%llu MiB)",
		     cfg->memory_mib < MIN_MEMORY_MIB ? "too small" : "too large", cfg->memory_mib,
		     MIN_MEMORY_MIB, MAX_MEMORY_MIB);
		return -EINVAL;
	}
	if (cfg->hugetlb && (cfg->memory_mib & 1)) {
		errf(err, errlen, "memory must be a multiple of 2 MiB with hugepages");
		return -EINVAL;
	}
	if (cfg->cpus < 1) {
		errf(err, errlen, "at least one vCPU is needed");
		return -EINVAL;
	}
	if (cfg->cpus > MAX_CPUS) {
		errf(err, errlen, "too many vCPUs: %u requested, at most %d (xAPIC ids)", cfg->cpus,
		     MAX_CPUS);
		return -E2BIG;
	}
	if (cfg->nr_nics > VMBUS_USER_MAX_NICS || (cfg->nr_nics && (!cfg->hyperv ||
	    !cfg->vswitchd || !cfg->name || !cfg->nics))) {
		errf(err, errlen, "synthetic NICs need Hyper-V, a vswitchd socket and a name "
		     "(at most %d NICs)", VMBUS_USER_MAX_NICS);
		return -EINVAL;
	}
	return 0;
}

static int create_devices(struct vmm_vm *vm, char *err, size_t errlen)
{
	static const struct vmm_serial_ops ops = { .tx = serial_tx, .irq = serial_irq };

	vm->console = vmm_console_open(vm->cfg.console, vm->cfg.marker);
	if (!vm->console) {
		errf(err, errlen, "cannot open console '%s': %s", vm->cfg.console, strerror(errno));
		return errno == EINVAL ? -EINVAL : -errno;
	}
	vm->serial = vmm_serial_new(&ops, vm);
	if (!vm->serial) {
		errf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static void host_poweroff(void *owner)
{
	struct vmm_vm *vm = owner;

	if (!vm->cfg.quiet)
		fprintf(stderr, "vmm: vswitchd asked to power off: stopping the guest\n");
	request_stop(vm, VMM_STOP_HOST_POWEROFF);
}

/* The vswitchd link's part of the config; vm->nics holds the NICs. */
static void vsd_config(struct vmm_vm *vm)
{
	vm->vsd = (struct vmm_vsd_config){ .path = vm->cfg.vswitchd, .vm_name = vm->cfg.name,
					   .pid = (uint64_t)getpid(), .nics = vm->nics,
					   .nr_nics = vm->cfg.nr_nics };
	memcpy(vm->nics, vm->cfg.nics, vm->cfg.nr_nics * sizeof(*vm->nics));
}

/* With NICs: HELLO to vswitchd before the guest runs. */
static int vsd_connect(struct vmm_vm *vm, char *err, size_t errlen)
{
	int rc;

	if (!vm->cfg.nr_nics)
		return 0;
	rc = vmm_hv_connect_vswitchd(vm->hv, 5000, err, errlen);
	/* whatever went wrong, it is vswitchd's or the host's (exit status 1) */
	return rc ? -EHOSTDOWN : 0;
}

/* SynIC on the vCPUs, the VMBus host and its integration services. */
static int hv_create(struct vmm_vm *vm, char *err, size_t errlen)
{
	int *fds = calloc(vm->ncpus, sizeof(*fds));
	struct vmm_hv_config hc = { .vm_fd = vm->vm_fd, .vcpu_fds = fds, .ncpus = vm->ncpus,
				    .mem = vm->mem, .quiet = vm->cfg.quiet,
				    .poweroff = host_poweroff, .owner = vm };
	unsigned i;

	if (!fds)
		return -ENOMEM;
	if (vm->cfg.nr_nics) {
		vsd_config(vm);
		hc.vsd = &vm->vsd;
	}
	for (i = 0; i < vm->ncpus; i++)
		fds[i] = vm->vcpus[i].fd;
	vm->hv = vmm_hv_new(&hc);
	free(fds);
	if (vm->hv)
		return vsd_connect(vm, err, errlen);
	errf(err, errlen, "cannot set up Hyper-V emulation: %s%s", strerror(errno),
	     errno == ENOTSUP ? " (KVM lacks SynIC2 or Hyper-V eventfds)" : "");
	return -errno;
}

static int build(struct vmm_vm *vm, char *err, size_t errlen)
{
	unsigned i, max;
	int rc;

	/* files, sizes and the console first: their errors are the user's, and
	 * need no KVM (a host without /dev/kvm still names them) */
	rc = load_guest(vm, err, errlen);
	if (rc < 0)
		return rc;
	rc = create_devices(vm, err, errlen);
	if (rc < 0)
		return rc;
	rc = kvm_setup(vm, err, errlen);
	if (rc < 0)
		return rc;
	max = (unsigned)max_vcpus(vm->kvm_fd);
	if (vm->ncpus > max) {
		errf(err, errlen, "too many vCPUs: %u requested, at most %u on this host",
		     vm->ncpus, max);
		return -E2BIG;
	}
	vm->vcpus = calloc(vm->ncpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -ENOMEM;
	for (i = 0; i < vm->ncpus; i++)
		vm->vcpus[i].fd = -1;
	for (i = 0; i < vm->ncpus; i++) {
		rc = vcpu_create(vm, &vm->vcpus[i], i, err, errlen);
		if (rc < 0)
			return rc;
	}
	return vm->cfg.hyperv ? hv_create(vm, err, errlen) : 0;
}

struct vmm_vm *vmm_vm_new(const struct vmm_vm_config *cfg, char *err, size_t errlen)
{
	struct vmm_vm *vm;
	int rc;

	rc = check_config(cfg, err, errlen);
	if (rc < 0) {
		errno = -rc;
		return NULL;
	}
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return NULL;
	vm->cfg = *cfg;
	if (!vm->cfg.cmdline)
		vm->cfg.cmdline = VMM_DEFAULT_CMDLINE;
	if (!vm->cfg.console)
		vm->cfg.console = "stdout";
	if (!vm->cfg.marker)
		vm->cfg.marker = VMM_INIT_MARKER;
	vm->kvm_fd = vm->vm_fd = -1;
	vm->stop = STOP_RUNNING;
	vm->ncpus = cfg->cpus;
	vm->mem = vmm_memory_new(cfg->memory_mib << 20, cfg->hugetlb);
	if (!vm->mem) {
		rc = -errno;
		errf(err, errlen, "cannot allocate %" PRIu64 " MiB of guest memory%s: %s",
		     cfg->memory_mib, cfg->hugetlb ? " from hugepages" : "", strerror(errno));
	} else {
		rc = build(vm, err, errlen);
	}
	if (rc < 0) {
		vmm_vm_free(vm);
		errno = -rc;
		return NULL;
	}
	return vm;
}

/* ---- running ---- */

static int start_vcpus(struct vmm_vm *vm)
{
	struct sigaction sa = { .sa_handler = kick_handler };
	unsigned i;
	int rc;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL); /* no SA_RESTART: KVM_RUN returns EINTR */
	for (i = 0; i < vm->ncpus; i++) {
		rc = pthread_create(&vm->vcpus[i].thread, NULL, vcpu_thread, &vm->vcpus[i]);
		if (rc) {
			fprintf(stderr, "vmm: cannot start vCPU thread: %s\n", strerror(rc));
			request_stop(vm, VMM_STOP_ERROR);
			return -rc;
		}
		vm->vcpus[i].started = 1;
	}
	return 0;
}

/* SIGTERM with a grace period: ask the guest through the shutdown IC.
 * Returns whether it was asked. */
static bool ask_shutdown(struct vmm_vm *vm)
{
	int rc;

	if (!vm->hv || !vm->cfg.shutdown_grace_s)
		return false;
	rc = vmm_hv_request_shutdown(vm->hv);
	if (rc < 0) {
		if (!vm->cfg.quiet)
			fprintf(stderr, "vmm: SIGTERM: the guest has %s\n",
				rc == -ENOTCONN ? "no shutdown IC open" : "a shutdown pending");
		return false;
	}
	if (!vm->cfg.quiet)
		fprintf(stderr, "vmm: SIGTERM: asked the guest to shut down (grace %u s)\n",
			vm->cfg.shutdown_grace_s);
	return true;
}

static void wait_for_stop(struct vmm_vm *vm)
{
	uint64_t grace_until = 0;
	struct timespec tick = { .tv_sec = 1 };
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR2);
	while (vm->stop == STOP_RUNNING) {
		sig = sigtimedwait(&set, NULL, &tick);
		if (sig == SIGTERM && !grace_until && ask_shutdown(vm)) {
			grace_until = vmm_now_ns() + vm->cfg.shutdown_grace_s * 1000000000ull;
		} else if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP) {
			if (!vm->cfg.quiet)
				fprintf(stderr, "vmm: %s: stopping the guest\n", strsignal(sig));
			request_stop(vm, VMM_STOP_SIGNAL);
		} else if (grace_until && vmm_now_ns() > grace_until) {
			fprintf(stderr, "vmm: the guest did not shut down within %u s: stopping it\n",
				vm->cfg.shutdown_grace_s);
			request_stop(vm, VMM_STOP_SIGNAL);
		}
	}
}

int vmm_vm_run(struct vmm_vm *vm)
{
	unsigned i;
	int rc;

	if (!vm->cfg.quiet)
		fprintf(stderr, "vmm: %u vCPU%s, %" PRIu64 " MiB RAM%s, console %s\n", vm->ncpus,
			vm->ncpus > 1 ? "s" : "", vm->cfg.memory_mib,
			vm->cfg.hugetlb ? " on 2 MiB hugepages" : "", vm->cfg.console);

	rc = vmm_console_start_input(vm->console, console_input, vm);
	if (rc < 0)
		fprintf(stderr, "vmm: console input disabled: %s\n", strerror(-rc));
	if (vm->hv && vmm_hv_start(vm->hv) < 0) {
		fprintf(stderr, "vmm: cannot start the VMBus thread\n");
		return VMM_STOP_ERROR;
	}
	if (start_vcpus(vm) == 0)
		wait_for_stop(vm);
	for (i = 0; i < vm->ncpus; i++) /* kick until every vCPU thread left */
		if (vm->vcpus[i].started)
			pthread_kill(vm->vcpus[i].thread, SIGUSR1);
	for (i = 0; i < vm->ncpus; i++)
		if (vm->vcpus[i].started) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			while (pthread_timedjoin_np(vm->vcpus[i].thread, NULL, &ts) == ETIMEDOUT) {
				pthread_kill(vm->vcpus[i].thread, SIGUSR1);
				clock_gettime(CLOCK_REALTIME, &ts);
				ts.tv_sec += 1;
			}
			vm->vcpus[i].started = 0;
		}
	if (vm->hv && !vm->cfg.quiet)
		vmm_hv_report(vm->hv);
	if (!vm->cfg.quiet) {
		report_marker(vm);
		fprintf(stderr, "vmm: guest %s after %.1f ms\n",
			vm->stop == VMM_STOP_POWEROFF ? "powered off"
			: vm->stop == VMM_STOP_REBOOT ? "reset (reboot)"
			: vm->stop == VMM_STOP_SIGNAL ? "stopped by signal" : "failed",
			ms_since(vm->cfg.start_ns, vmm_now_ns()));
	}
	return vm->stop;
}

void vmm_vm_free(struct vmm_vm *vm)
{
	unsigned i;

	if (!vm)
		return;
	vmm_hv_free(vm->hv);
	vmm_console_close(vm->console);
	for (i = 0; vm->vcpus && i < vm->ncpus; i++) {
		if (vm->vcpus[i].run)
			munmap(vm->vcpus[i].run, vm->vcpus[i].run_size);
		if (vm->vcpus[i].fd >= 0)
			close(vm->vcpus[i].fd);
	}
	free(vm->vcpus);
	vmm_serial_free(vm->serial);
	free(vm->cpuid);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vmm_memory_free(vm->mem);
	free(vm);
}

int vmm_vm_memory_fd(const struct vmm_vm *vm)
{
	return vmm_memory_fd(vm->mem);
}
