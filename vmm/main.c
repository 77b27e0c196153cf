/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vmm: the per-VM process. Parses the command line, builds the VM with
 * vmm_vm, runs it, and exits with a status that says how the guest ended.
 * `vmm --probe` only checks whether this host's KVM can run 64-bit guests.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "console.h"
#include "hvnet_config.h"
#include "probe.h"
#include "vm.h"

static const char usage_text[] =
	"usage: vmm --kernel FILE [--initrd FILE] [--cmdline STR] [--memory MIB] [--cpus N]\n"
	"           [--console stdout|file:PATH|unix:PATH] [--hugepages] [--quiet]\n"
	"           [--hyperv|--no-hyperv] [--shutdown-grace SEC] [--vmbus-acpi]\n"
	"           [--vswitchd SOCKET --nic SWITCH[,mac=MAC][,vlan=VID][,port=NAME][,mtu=N]...]\n"
	"           [--name NAME]\n"
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
	"  --vswitchd SOCKET vswitchd's vmbus-user socket: it runs the NICs' data path;\n"
	"                    vmm shares guest memory and channel rings with it and keeps\n"
	"                    the guest running (reconnecting every second) if it goes away\n"
	"  --nic SPEC        a synthetic NIC (VMBus, hv_netvsc in the guest) on switch\n"
	"                    SWITCH; repeatable, at most 8; needs --vswitchd and Hyper-V.\n"
	"                    mac=xx:xx:xx:xx:xx:xx (unicast; default: vswitchd assigns),\n"
	"                    vlan=0..4094 (access VLAN, 0 untagged), port=NAME (switch port\n"
	"                    name; default: vswitchd's), mtu=68..9000 (default 1500)\n"
	"  --name NAME       the VM's name at vswitchd (default vm-PID); names are 1..31\n"
	"                    characters of A-Z a-z 0-9 . _ -, not starting with . or -\n"
	"  --probe           exit 0 if this host's KVM runs 64-bit guests, 1 if not\n"
	"\n"
	"Timing: vmm prints on stderr the time from its start to the guest console\n"
	"line containing \"" VMM_INIT_MARKER "\" (printed by the hvnet guest init).\n"
	"Exit status: 0 guest powered off, 1 VMM/KVM error, 2 usage or configuration\n"
	"error, 3 guest reset/reboot (or triple fault), 4 stopped by SIGTERM/SIGINT/SIGHUP,\n"
	"5 powered off by vswitchd (REQUEST POWEROFF). vswitchd refusing the VM or not\n"
	"answering at startup is status 1.\n";

enum { OPT_PROBE = 256, OPT_TIMEOUT, OPT_HUGE, OPT_QUIET, OPT_VSWITCHD, OPT_NIC, OPT_VMBUS_ACPI,
       OPT_HYPERV, OPT_NO_HYPERV, OPT_GRACE, OPT_NAME };

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

/* Names at vswitchd (its rule, cli/ctl_parse.c): 1..31 characters of
 * A-Z a-z 0-9 . _ -, not starting with . or - */
static bool name_ok(const char *s, size_t n)
{
	if (n == 0 || n >= VMBUS_USER_NAME_LEN || s[0] == '.' || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
			return false;
	return true;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char end;

	if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3],
				      &v[4], &v[5], &end) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	if ((mac[0] & 1) || !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
		return -EINVAL; /* multicast or zero */
	return 0;
}

/* One key=value of --nic; val is NUL-terminated. Returns a usage error or 0. */
static int nic_field(const char *spec, const char *key, size_t klen, const char *val,
		     struct vmm_vsd_nic *n, unsigned *seen)
{
	static const char *const keys[] = {"mac", "vlan", "port", "mtu"};
	uint64_t v;
	unsigned k;

	for (k = 0; k < 4; k++)
		if (strlen(keys[k]) == klen && !strncmp(key, keys[k], klen))
			break;
	if (k == 4)
		return usage_error(
			"--nic '%s': unknown field '%.*s' (allowed: mac, vlan, port, mtu)", spec,
			(int)klen, key);
	if (*seen & (1u << k))
		return usage_error("--nic '%s': %s given twice", spec, keys[k]);
	*seen |= 1u << k;
	if (k == 0 && parse_mac(val, n->mac) < 0)
		return usage_error("--nic '%s': mac '%s' is not a unicast MAC address "
				   "(want xx:xx:xx:xx:xx:xx, not multicast, not all zero)",
				   spec, val);
	if (k == 1 && (parse_uint(val, 4094, &v) < 0))
		return usage_error("--nic '%s': vlan '%s' is not 0..4094 (0: untagged)", spec, val);
	if (k == 1)
		n->vlan = (uint16_t)v;
	if (k == 2 && !name_ok(val, strlen(val)))
		return usage_error("--nic '%s': port '%s' is not a name (1..31 characters of "
				   "A-Z a-z 0-9 . _ -, not starting with . or -)",
				   spec, val);
	if (k == 2)
		memcpy(n->port_name, val, strlen(val) + 1);
	if (k == 3 && (parse_uint(val, 9000, &v) < 0 || v < 68))
		return usage_error("--nic '%s': mtu '%s' is not 68..9000", spec, val);
	if (k == 3)
		n->mtu = (uint32_t)v;
	return 0;
}

/* --nic SWITCH[,mac=MAC][,vlan=VID][,port=NAME][,mtu=N] */
static int parse_nic(const char *spec, struct vmm_vsd_nic *n)
{
	char buf[256];
	char *field, *save = NULL;
	unsigned seen = 0;
	size_t sw = strcspn(spec, ",");

	memset(n, 0, sizeof(*n));
	if (!name_ok(spec, sw))
		return usage_error("--nic '%s': switch name '%.*s' is not a name (1..31 characters "
				   "of A-Z a-z 0-9 . _ -, not starting with . or -)",
				   spec, (int)sw, spec);
	memcpy(n->switch_name, spec, sw);
	if (strlen(spec) >= sizeof(buf))
		return usage_error("--nic '%.40s...': too long", spec);
	snprintf(buf, sizeof(buf), "%s", spec + sw);
	for (field = strtok_r(buf, ",", &save); field; field = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(field, '=');
		int rc;

		if (!eq || eq == field)
			return usage_error(
				"--nic '%s': '%s' is not key=value (keys: mac, vlan, port, "
				"mtu)",
				spec, field);
		rc = nic_field(spec, field, (size_t)(eq - field), eq + 1, n, &seen);
		if (rc)
			return rc;
	}
	if (spec[strlen(spec) - 1] == ',' || strstr(spec, ",,"))
		return usage_error("--nic '%s': empty field", spec);
	return 0;
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
		{ "name", required_argument, NULL, OPT_NAME },
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
	char err[512], name[VMBUS_USER_NAME_LEN];
	static struct vmm_vsd_nic nics[VMBUS_USER_MAX_NICS];

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
			if (!*optarg || strlen(optarg) >= 108)
				return usage_error(
					"--vswitchd wants a socket path of 1..107 bytes");
			cfg.vswitchd = optarg;
			break;
		case OPT_NIC:
			if (cfg.nr_nics == VMBUS_USER_MAX_NICS)
				return usage_error("--nic: at most %d NICs", VMBUS_USER_MAX_NICS);
			rc = parse_nic(optarg, &nics[cfg.nr_nics]);
			if (rc)
				return rc;
			cfg.nr_nics++;
			break;
		case OPT_NAME:
			if (!name_ok(optarg, strlen(optarg)))
				return usage_error("--name '%s' is not a name (1..31 characters of "
						   "A-Z a-z 0-9 . _ -, not starting with . or -)",
						   optarg);
			cfg.name = optarg;
			break;
		case 'h': fputs(usage_text, stdout); return 0;
		case 'V': printf("vmm (hvnet) %s\n", HVNET_VERSION); return 0;
		default:
			return usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (cfg.nr_nics && !cfg.vswitchd)
		return usage_error("--nic needs --vswitchd SOCKET (vswitchd runs the NICs)");
	if (cfg.vswitchd && !cfg.nr_nics)
		return usage_error("--vswitchd needs at least one --nic SWITCH");
	if (cfg.nr_nics && !cfg.hyperv)
		return usage_error("--nic needs Hyper-V (synthetic NICs are VMBus devices), "
				   "not --no-hyperv");
	if (cfg.nr_nics) {
		cfg.nics = nics;
		cfg.hyperv_optional = false; /* no silent fallback to a NIC-less KVM guest */
		if (!cfg.name) {
			snprintf(name, sizeof(name), "vm-%d", (int)getpid());
			cfg.name = name;
		}
	}
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
