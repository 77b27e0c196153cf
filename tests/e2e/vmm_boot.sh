#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# e2e: boots Debian's stock kernel under vmm (directly, or in the QEMU
# sandbox where the host KVM cannot run 64-bit guests) and checks, from the
# serial console: the guest init ran; `uname -r` is the packaged kernel's
# release; `nproc` equals --cpus; dmesg lists the VMM's ACPI tables (OEM id
# HVNET) and COM1 as a 16550A on irq 4, ACPI power-off is supported, PCI
# config access works, the TSC-deadline timer is used, all vCPUs are up, and
# no errors from the VMM's devices; vmm exits 0 (guest powered off) and
# reports the time to init. --hugepages backs guest RAM with 2 MiB hugepages
# (reserved inside the sandbox; directly only when the host has them free).
#
# --memory above 3 GiB also checks the RAM above the 32-bit hole (at 4 GiB).
# --vmlinux boots the uncompressed ELF vmlinux instead of the bzImage.
# vmm's default is a Hyper-V guest: the guest must say "Hypervisor detected:
# Microsoft Hyper-V" and its ACPI namespace must have the VMBus device
# (\_SB.VMBS, _HID "VMBus", _STA 0xF). --no-hyperv: a KVM guest, without the
# VMBus device unless --vmbus-acpi adds it.
#
#   vmm_boot.sh --vmm PATH --cpus N [--memory MIB] [--hugepages] [--vmlinux]
#               [--no-hyperv] [--vmbus-acpi]
set -uo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/scripts/lib.sh"
. "$TOP/scripts/vm-runner.sh"

vmm= cpus=1 mem=256 huge=() vmlinux=0 vmbus=() nohv=()
while [ $# -gt 0 ]; do
	case $1 in
	--vmm) vmm=$2; shift 2 ;;
	--cpus) cpus=$2; shift 2 ;;
	--memory) mem=$2; shift 2 ;;
	--vmlinux) vmlinux=1; shift ;;
	--vmbus-acpi) vmbus=(--vmbus-acpi); shift ;;
	--no-hyperv) nohv=(--no-hyperv); shift ;;
	--hugepages) huge=(--hugepages); shift ;;
	*) echo "usage: $0 --vmm PATH --cpus N" >&2; exit 2 ;;
	esac
done
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
pass() { echo "ok: $*"; }

if [ ! -e /dev/kvm ] && ! command -v qemu-system-x86_64 >/dev/null; then
	echo "SKIP: neither /dev/kvm nor qemu-system-x86_64 (for the sandbox) is available"
	exit 77
fi
img=$(timeout 900 "$TOP/scripts/guest-image") || { echo "FAIL: scripts/guest-image failed"; exit 1; }
eval "$img"
kernel=$HVNET_KERNEL
[ $vmlinux = 1 ] && kernel=$HVNET_VMLINUX
echo "kernel: $kernel"

# What the guest runs: uname, nproc and the dmesg lines of interest
# (ACPI, serial, anything error-like), between markers.
guest_cmd='uname -r; nproc; grep MemTotal /proc/meminfo
v=/sys/bus/acpi/devices/VMBUS:00
echo "vmbus-acpi: $(cat $v/status $v/hid $v/uid $v/path 2>/dev/null | tr "\n" " ")"
echo HVNET-DMESG-BEGIN
dmesg | grep -i -E "acpi|ttys|serial|8250|error|fail|firmware bug|nobody cared|irq|call trace|warning|xsave|pci|tsc|smp|e820|hypervisor detected"
echo HVNET-DMESG-END'
run64=$(printf '%s' "$guest_cmd" | base64 -w0)
log=$(mktemp /tmp/hvnet-e2e-vmm.XXXXXX)
err=$log.err # vmm's own messages: apart, so they cannot split console lines
trap 'rm -f "$log" "$err"' EXIT
hvnet_vm_detect "$vmm"
echo "mode: $HVNET_VM_MODE"
if [ ${#huge[@]} -gt 0 ]; then
	export HVNET_SANDBOX_HUGEPAGES=$((mem / 2 + 32)) # guest RAM + slack, inside the sandbox
	free=$(awk '/^HugePages_Free/ {print $2}' /proc/meminfo)
	if [ "$HVNET_VM_MODE" = direct ] && [ "${free:-0}" -lt $((mem / 2)) ]; then
		echo "note: only ${free:-0} free hugepages on this host; guest RAM without hugepages"
		huge=()
	fi
fi
start=$(date +%s.%N)
# The emulated machine of the sandbox has faults of its own (docs/nested-kvm.md,
# hvnet_emulator_fault): it dies or hangs, or the guest triple-faults or
# oopses in its entry code, or it stops with no output, in about one
# multi-vCPU boot in three. Such a run says nothing about vmm: run again, up
# to four times, saying why. (panic=-1: a guest that panics resets at once.)
for attempt in 1 2 3 4; do
	HVNET_VM_TIMEOUT=150 hvnet_vm_run "$vmm" "$vmm" --kernel "$kernel" --initrd "$HVNET_INITRD" \
		--cpus "$cpus" --memory "$mem" "${huge[@]}" "${vmbus[@]}" "${nohv[@]}" \
		--cmdline "console=ttyS0 loglevel=4 panic=-1 hvnet_run64=$run64" >"$log" 2>"$err" </dev/null
	rc=$?
	why=
	[ $rc = 124 ] && [ "$HVNET_VM_MODE" = sandbox ] && why="the guest stopped in the emulator"
	[ $rc -ne 0 ] && [ $attempt -lt 4 ] && { [ -n "$why" ] || why=$(hvnet_emulator_fault "$log" "$err"); } || break
	echo "note: attempt $attempt: a fault of the emulation ($why), not of vmm; running again"
	grep -E '^sandbox' "$err" | tail -n 3
done
end=$(date +%s.%N)
grep -m1 '^notice:' "$err"
echo "vmm exit status $rc; whole run $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }') s"

[ $rc -eq 0 ] && pass "vmm exited 0 (guest powered off)" || fail "vmm exit status $rc (want 0)"
grep -q '^HVNET-GUEST-INIT' "$log" && pass "guest init ran" || fail "no HVNET-GUEST-INIT line"
out=$(sed -n '/^HVNET-RUN-BEGIN/,/^HVNET-DMESG-BEGIN/p' "$log" | tr -d '\r' | sed '1d;$d')
got_rel=$(echo "$out" | sed -n 1p)
got_cpus=$(echo "$out" | sed -n 2p)
[ "$got_rel" = "$HVNET_KERNEL_RELEASE" ] && pass "uname -r = $got_rel" ||
	fail "uname -r: got '$got_rel', want '$HVNET_KERNEL_RELEASE'"
[ "$got_cpus" = "$cpus" ] && pass "nproc = $got_cpus" || fail "nproc: got '$got_cpus', want '$cpus'"
got_vmbus=$(echo "$out" | sed -n 4p)
if [ ${#vmbus[@]} -gt 0 ] || [ ${#nohv[@]} -eq 0 ]; then
	[ "$got_vmbus" = 'vmbus-acpi: 15 VMBUS 0 \_SB_.VMBS ' ] &&
		pass "guest ACPI has the VMBus device: ${got_vmbus#vmbus-acpi: }" ||
		fail "VMBus ACPI device: got '$got_vmbus'"
else
	[ "$got_vmbus" = 'vmbus-acpi: ' ] && pass "no VMBus ACPI device unless asked" ||
		fail "unexpected VMBus ACPI device: '$got_vmbus'"
fi
got_kb=$(echo "$out" | sed -n 3p | awk '{print $2}')
# the kernel keeps its image (~30 MiB) and a few percent (struct pages) for itself
[ "${got_kb:-0}" -gt $((mem * 1024 * 85 / 100 - 32768)) ] && [ "${got_kb:-0}" -le $((mem * 1024)) ] &&
	pass "MemTotal = $got_kb kB of $mem MiB" || fail "MemTotal: got '$got_kb' kB for $mem MiB"
grep -q '^HVNET-RUN-END rc=0' "$log" && pass "guest command exited 0" || fail "no 'HVNET-RUN-END rc=0'"

dmesg=$(sed -n '/^HVNET-DMESG-BEGIN/,/^HVNET-DMESG-END/p' "$log" | tr -d '\r')
# `echo "$dmesg" | grep -q` below: grep may exit at its match before echo has
# written everything; echo's SIGPIPE must not count as a failed check.
set +o pipefail
want_hv='Hypervisor detected: Microsoft Hyper-V'
[ ${#nohv[@]} -gt 0 ] && want_hv='Hypervisor detected: KVM'
echo "$dmesg" | grep -q "$want_hv" && pass "dmesg: $want_hv" || fail "dmesg: no '$want_hv'"
for t in RSDP XSDT FACP DSDT APIC; do
	echo "$dmesg" | grep -q "ACPI: $t .*HVNET" && pass "dmesg: ACPI $t from the VMM" ||
		fail "dmesg has no 'ACPI: $t ... HVNET' line"
done
echo "$dmesg" | grep -q 'ACPI: PM: (supports S0 S5)' && pass "dmesg: ACPI S5 (power-off) supported" ||
	fail "dmesg: no 'ACPI: PM: (supports S0 S5)'"
echo "$dmesg" | grep -q 'ACPI: Interpreter enabled' && pass "dmesg: ACPI interpreter enabled" ||
	fail "dmesg: ACPI interpreter not enabled"
echo "$dmesg" | grep -q 'ttyS0 at I/O 0x3f8 (irq = 4.*16550A' && pass "dmesg: COM1 is a 16550A on irq 4" ||
	fail "dmesg: no 'ttyS0 at I/O 0x3f8 (irq = 4 ...) is a 16550A'"
echo "$dmesg" | grep -q 'PnP ACPI: found 1 devices' && pass "dmesg: COM1 found through the DSDT" ||
	fail "dmesg: PnP ACPI did not find the DSDT's COM1"
echo "$dmesg" | grep -q 'PCI: Using configuration type 1 for base access' &&
	! echo "$dmesg" | grep -q 'PCI: Fatal' && pass "dmesg: PCI config access through 0xcf8/0xcfc" ||
	fail "dmesg: no working PCI config access"
echo "$dmesg" | grep -q 'TSC deadline timer available' && pass "dmesg: TSC deadline timer" ||
	fail "dmesg: no 'TSC deadline timer available'"
if [ "$mem" -gt 3072 ]; then
	echo "$dmesg" | grep -q 'BIOS-e820: \[mem 0x0000000100000000-' && pass "dmesg: RAM above 4 GiB" ||
		fail "dmesg: no e820 RAM at 4 GiB"
fi
want_up="smp: Brought up 1 node, $cpus CPU"
echo "$dmesg" | grep -q "$want_up" && pass "dmesg: $want_up" || fail "dmesg: no '$want_up'"
# Errors that would come from the VMM's devices and tables. Expected, in the
# sandbox only, "XSAVE consistency problem" with its
# WARNING and call trace (TCG's SVM does not intercept XSETBV, so the inner
# KVM cannot keep CPUID 0xd.EBX in step with the guest's XCR0) is dropped.
bad=$(echo "$dmesg" | grep -i -E 'ACPI (BIOS )?(Error|Warning)|AE_[A-Z_]+|Firmware Bug|nobody cared|serial8250.*(fail|too much)|ttyS.*(error|fail)|irq.*(fail|error)|APIC.*(error|fail)|PCI.*(fatal|error|fail)|timer.*(fail|disabled)|WARNING: CPU|Call Trace' || true)
if [ "$HVNET_VM_MODE" = sandbox ] && echo "$dmesg" | grep -q 'XSAVE consistency problem'; then
	bad=$(echo "$bad" | grep -v -E 'fpu__init_system_xstate' | awk '/Call Trace/ && !n++ {next} {print}')
fi
[ -z "$bad" ] && pass "dmesg: no errors from the VMM's devices" || fail "dmesg errors: $bad"
if [ ${#huge[@]} -gt 0 ]; then
	grep -q "^vmm: $cpus vCPUs*, $mem MiB RAM on 2 MiB hugepages" "$err" &&
		pass "guest RAM on hugepages" || fail "vmm did not report guest RAM on hugepages"
fi
grep -E '^vmm: guest init reached' "$err" && pass "vmm reported the time to init" ||
	fail "vmm printed no 'guest init reached' line"

if [ $fails -ne 0 ]; then
	echo "---- vmm stderr ----"
	cat "$err"
	echo "---- console log ----"
	tail -80 "$log"
	exit 1
fi
exit 0
