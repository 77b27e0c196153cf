#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# e2e: VM networks end to end (issue 6). vswitchd, vswitchctl and vmm with
# three Debian-kernel guests whose stock hv_netvsc drivers get synthetic NICs
# (checks in vm_net_inner.sh), directly or in the sandbox (see
# scripts/vm-runner.sh). The sandbox's emulated CPU lacks instructions that
# -march=native may use, so there the binaries come from a portable build
# (build-portable/, -Dnative=false, built here when missing or stale).
# With --inner vm_tcp_inner.sh --tool-dir DIR it runs the bulk TCP checks
# instead: hvnet-tcp is built statically into DIR (for the guests and the
# host) and the guests' initramfs gets it and vm_tcp_guest.sh.
#
#   vm_net.sh --vswitchd PATH --vswitchctl PATH --vmm PATH [--inner SCRIPT --tool-dir DIR]
set -uo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/scripts/lib.sh"
. "$TOP/scripts/vm-runner.sh"
inner=vm_net_inner.sh tools=
while [ $# -gt 0 ]; do
	case $1 in
	--vswitchd) vsd=$2 ;;
	--vswitchctl) ctl=$2 ;;
	--vmm) vmm=$2 ;;
	--inner) inner=$2 ;;
	--tool-dir) tools=$2 ;;
	*) echo "usage: $0 --vswitchd PATH --vswitchctl PATH --vmm PATH [--inner SCRIPT --tool-dir DIR]" >&2; exit 2 ;;
	esac
	shift 2
done
if [ ! -e /dev/kvm ] && ! command -v qemu-system-x86_64 >/dev/null; then
	echo "SKIP: neither /dev/kvm nor qemu-system-x86_64 (for the sandbox) is available"
	exit 77
fi
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (DPDK, tap devices)"; exit 77; }
extra=() image=()
if [ "$inner" = vm_tcp_inner.sh ]; then
	[ -n "$tools" ] || { echo "usage: --inner vm_tcp_inner.sh needs --tool-dir" >&2; exit 2; }
	# static and without -march=native: it runs in the guests and in the sandbox
	mkdir -p "$tools"
	cc -O2 -static -o "$tools/hvnet-tcp" "$TOP/tests/e2e/hvnet_tcp.c" ||
		{ echo "FAIL: cannot build hvnet-tcp"; exit 1; }
	image=(--script "$TOP/tests/e2e/vm_tcp_guest.sh" --bin "$tools/hvnet-tcp")
	extra=("$tools/hvnet-tcp")
fi
img=$(timeout 900 "$TOP/scripts/guest-image" "${image[@]}") || { echo "FAIL: scripts/guest-image failed"; exit 1; }
eval "$img"
hvnet_vm_detect "$vmm"
echo "mode: $HVNET_VM_MODE"
if [ "$HVNET_VM_MODE" = sandbox ]; then
	echo "building portable binaries in $TOP/build-portable for the sandbox's CPU"
	p=$(hvnet_portable_build) || { echo "FAIL: portable build"; exit 1; }
	vsd=$p/vswitch/vswitchd ctl=$p/cli/vswitchctl vmm=$p/vmm/vmm
fi
# A run spoiled by a fault of the emulated machine (the sandbox died or hung,
# a guest triple-faulted, oopsed in its entry code or hung before its init or
# its heartbeat: HVNET-EMULATION-FAULT, hvnet_emulator_fault) earns another
# while the test has run for under HVNET_VM_RETRY_BEFORE seconds (default
# 1140: a vm_net run takes at most HVNET_VM_TIMEOUT, default 600 s; meson
# allows 1800).
res=$(mktemp /tmp/hvnet-vmnet-out.XXXXXX)
all=$(mktemp /tmp/hvnet-vmnet-all.XXXXXX)
trap 'rm -f "$res" "$all"' EXIT
# A test in phases (vm_tcp) prints "phase-done: N" after each; a rerun starts
# after the last one done (HVNET_VM_FROM), so a fault costs only its phase.
attempt=0 from=1 why=
while attempt=$((attempt + 1)); do
	HVNET_VM_FROM=$from HVNET_VM_TIMEOUT=${HVNET_VM_TIMEOUT:-600} hvnet_vm_run "$vmm" bash \
		"$TOP/tests/e2e/$inner" "$vsd" "$ctl" "$vmm" "$HVNET_VMLINUX" "$HVNET_INITRD" \
		"${extra[@]}" >"$res" 2>&1
	rc=$?
	cat "$res"
	cat "$res" >>"$all"
	why=
	if [ $rc -eq 0 ] || [ $SECONDS -ge "${HVNET_VM_RETRY_BEFORE:-1140}" ]; then
		why=$(hvnet_emulator_fault "$res") || why=
		break
	fi
	grep -q '^FAIL' "$res" && break # a failed check is not the emulation's
	why=$(hvnet_emulator_fault "$res") || break
	last=$(sed -n 's/^phase-done: \([0-9]*\)$/\1/p' "$res" | tail -1)
	[ -z "$last" ] || from=$((last + 1))
	echo "note: attempt $attempt: a fault of the emulation ($why), not of hvnet; running the test again${last:+ from phase $from}"
done
# a check that failed in any attempt fails the test
if grep -q '^FAIL' "$all"; then
	exit 1
fi
# vm_tcp loads the emulated machine for minutes: when its faults stopped every
# attempt before the end, say what was shown and skip, never pass
if [ "$rc" -ne 0 ] && [ -n "$why" ] && [ "$inner" = vm_tcp_inner.sh ]; then
	echo "SKIP: the emulated machine faulted under the load in every attempt ($why); phases done: $(sed -n 's/^phase-done: //p' "$all" | sort -un | tr '\n' ' ')"
	exit 77
fi
exit "$rc"
