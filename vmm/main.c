/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vmm: the per-VM process. Parses the command line, builds the VM with
 * vmm_vm, runs it, and exits with a status that says how the guest ended.
 * `vmm --probe` only checks whether this host's KVM can run 64-bit guests.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console.h"
#include "hvnet_config.h"
#include "probe.h"
#include "vm.h"

static const char usage_text[] =
	"usage: vmm --kernel FILE [--initrd FILE] [--cmdline STR] [--memory MIB] [--cpus N]\n"
	"           [--console stdout|file:PATH|unix:PATH] [--hugepages] [--quiet]\n"
	"           [--hyperv|--no-hyperv] [--shutdown-grace SEC] [--vmbus-acpi]\n"
	"       vmm --probe [--timeout-ms MS]\n"
	"\n"
	"Boots a Linux x86-64 bzImage (64-bit boot protocol) under KVM with a 16550A\n"
	"COM1 console (ttyS0) and ACPI tables; the guest's memory is a memfd.\n"
	"  --kernel FILE     bzImage (boot protocol 2.12+, 64-bit entry), or an\n"
	"                    uncompressed ELF vmlinux (no decompression: faster)\n"
	"  --initrd FILE     initramfs\n"
	"  --cmdline STR     kernel command line (default \"" VMM_DEFAULT_CMDLINE "\")\n"
	"  --memory MIB      guest RAM (default 256)\n"
	"  --cpus N          vCPUs (default 1)\n"
	"  --console SPEC    where COM1 goes (default stdout; input from stdin)\n"
	"  --hugepages       back guest RAM with 2 MiB hugetlbfs pages\n"
	"  --quiet           no timing report on stderr\n"
	"  --hyperv          look like Hyper-V to the guest: Hyper-V CPUID leaves, SynIC\n"
	"                    (KVM), VMBus device and host with the heartbeat, shutdown\n"
	"                    and time sync integration services; the default, except\n"
	"                    that without the option a KVM lacking SynIC2 gives a\n"
	"                    plain KVM guest (with a warning) instead of an error\n"
	"  --no-hyperv       a plain KVM guest: KVM's CPUID signature, no VMBus\n"
	"  --shutdown-grace SEC  with --hyperv: SIGTERM asks the guest to shut down\n"
	"                    through the shutdown IC and stops it after SEC s (default 30,\n"
	"                    0: stop at once); a second SIGTERM stops it at once\n"
	"  --vmbus-acpi      add the VMBus device to the DSDT even with --no-hyperv\n"
	"                    (developer option: no VMBus host, the guest only sees it)\n"
	"  --probe           exit 0 if this host's KVM runs 64-bit guests, 1 if not\n"
	"\n"
	"Timing: vmm prints on stderr the time from its start to the guest console\n"
	"line containing \"" VMM_INIT_MARKER "\" (printed by the hvnet guest init).\n"
	"Exit status: 0 guest powered off, 1 VMM/KVM error, 2 usage or configuration\n"
	"error, 3 guest reset/reboot (or triple fault), 4 stopped by SIGTERM/SIGINT/SIGHUP.\n";

enum { OPT_PROBE = 256, OPT_TIMEOUT, OPT_HUGE, OPT_QUIET, OPT_VSWITCHD, OPT_NIC, OPT_VMBUS_ACPI,
       OPT_HYPERV, OPT_NO_HYPERV, OPT_GRACE };

static int parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("vmm: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n(see vmm --help)\n", stderr);
	return VMM_STOP_USAGE;
}

static int run_probe(uint64_t timeout_ms)
{
	char msg[256];
	int rc = vmm_kvm_probe((unsigned)timeout_ms, msg, sizeof(msg));

	printf("kvm-probe: %s: %s\n", rc > 0 ? "yes" : "no", msg);
	return rc > 0 ? 0 : rc == 0 ? 1 : 2;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "cmdline", required_argument, NULL, 'c' },
		{ "memory", required_argument, NULL, 'm' },
		{ "cpus", required_argument, NULL, 'n' },
		{ "console", required_argument, NULL, 's' },
		{ "hugepages", no_argument, NULL, OPT_HUGE },
		{ "quiet", no_argument, NULL, OPT_QUIET },
		{ "probe", no_argument, NULL, OPT_PROBE },
		{ "timeout-ms", required_argument, NULL, OPT_TIMEOUT },
		{ "vswitchd", required_argument, NULL, OPT_VSWITCHD },
		{ "nic", required_argument, NULL, OPT_NIC },
		{ "vmbus-acpi", no_argument, NULL, OPT_VMBUS_ACPI },
		{ "hyperv", no_argument, NULL, OPT_HYPERV },
		{ "no-hyperv", no_argument, NULL, OPT_NO_HYPERV },
		{ "shutdown-grace", required_argument, NULL, OPT_GRACE },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static unsigned vmbus_irq = 5;
	static const struct vmm_acpi_device vmbus_device = { vmm_acpi_emit_vmbus, &vmbus_irq };
	struct vmm_vm_config cfg = { .memory_mib = VMM_DEFAULT_MEMORY_MIB, .cpus = 1,
				     .shutdown_grace_s = 30, .hyperv = true,
				     .hyperv_optional = true };
	uint64_t v, timeout_ms = 1000;
	int probe = 0, opt, rc;
	bool vmbus_acpi = false;
	struct vmm_vm *vm;
	char err[512];

	cfg.start_ns = vmm_now_ns();
	vmm_vm_block_signals();
	signal(SIGPIPE, SIG_IGN);
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'k': cfg.kernel = optarg; break;
		case 'i': cfg.initrd = optarg; break;
		case 'c': cfg.cmdline = optarg; break;
		case 's': cfg.console = optarg; break;
		case OPT_HUGE: cfg.hugetlb = true; break;
		case OPT_QUIET: cfg.quiet = true; break;
		case OPT_HYPERV: cfg.hyperv = true; cfg.hyperv_optional = false; break;
		case OPT_NO_HYPERV: cfg.hyperv = false; break;
		case OPT_VMBUS_ACPI: vmbus_acpi = true; break;
		case OPT_PROBE: probe = 1; break;
		case 'm':
			if (parse_uint(optarg, UINT32_MAX, &cfg.memory_mib) < 0)
				return usage_error("--memory wants a number of MiB, not '%s'", optarg);
			break;
		case 'n':
			if (parse_uint(optarg, 65535, &v) < 0)
				return usage_error("--cpus wants a number, not '%s'", optarg);
			cfg.cpus = (unsigned)v;
			break;
		case OPT_GRACE:
			if (parse_uint(optarg, 3600, &v) < 0)
				return usage_error("--shutdown-grace wants 0..3600 s, not '%s'", optarg);
			cfg.shutdown_grace_s = (unsigned)v;
			break;
		case OPT_TIMEOUT:
			if (parse_uint(optarg, 600000, &timeout_ms) < 0 || timeout_ms == 0)
				return usage_error("--timeout-ms wants 1..600000, not '%s'", optarg);
			break;
		case OPT_VSWITCHD:
		case OPT_NIC:
			return usage_error("%s: synthetic NICs are not supported yet", argv[optind - 1]);
		case 'h': fputs(usage_text, stdout); return 0;
		case 'V': printf("vmm (hvnet) %s\n", HVNET_VERSION); return 0;
		default:
			return usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (cfg.hyperv || vmbus_acpi) { /* Hyper-V guests find VMBus in the DSDT */
		cfg.acpi_devices = &vmbus_device;
		cfg.n_acpi_devices = 1;
	}
	if (probe)
		return run_probe(timeout_ms);
	vm = vmm_vm_new(&cfg, err, sizeof(err));
	if (!vm) {
		fprintf(stderr, "vmm: %s\n", err);
		return errno == EINVAL || errno == ENOEXEC || errno == ENOTSUP || errno == E2BIG ||
			       errno == ENOENT
			       ? VMM_STOP_USAGE : VMM_STOP_ERROR;
	}
	rc = vmm_vm_run(vm);
	vmm_vm_free(vm);
	return rc;
}
