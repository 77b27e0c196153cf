#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# e2e: VM networks end to end (issue 6). vswitchd, vswitchctl and vmm with
# three Debian-kernel guests whose stock hv_netvsc drivers get synthetic NICs
# (checks in vm_net_inner.sh), directly or in the sandbox (see
# scripts/vm-runner.sh). The sandbox's emulated CPU lacks instructions that
# -march=native may use, so there the binaries come from a portable build
# (build-portable/, -Dnative=false, built here when missing or stale).
#
#   vm_net.sh --vswitchd PATH --vswitchctl PATH --vmm PATH
set -uo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/scripts/lib.sh"
. "$TOP/scripts/vm-runner.sh"
while [ $# -gt 0 ]; do
	case $1 in
	--vswitchd) vsd=$2 ;;
	--vswitchctl) ctl=$2 ;;
	--vmm) vmm=$2 ;;
	*) echo "usage: $0 --vswitchd PATH --vswitchctl PATH --vmm PATH" >&2; exit 2 ;;
	esac
	shift 2
done
if [ ! -e /dev/kvm ] && ! command -v qemu-system-x86_64 >/dev/null; then
	echo "SKIP: neither /dev/kvm nor qemu-system-x86_64 (for the sandbox) is available"
	exit 77
fi
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (DPDK, tap devices)"; exit 77; }
img=$(timeout 900 "$TOP/scripts/guest-image") || { echo "FAIL: scripts/guest-image failed"; exit 1; }
eval "$img"
hvnet_vm_detect "$vmm"
echo "mode: $HVNET_VM_MODE"
if [ "$HVNET_VM_MODE" = sandbox ]; then
	p=$TOP/build-portable
	echo "building portable binaries in $p for the sandbox's CPU"
	log=$(mktemp /tmp/hvnet-portable-build.XXXXXX)
	{ [ -f "$p/build.ninja" ] || meson setup "$p" "$TOP" -Dnative=false -Dtests=false; } >"$log" 2>&1 &&
		ninja -C "$p" vswitch/vswitchd cli/vswitchctl vmm/vmm >>"$log" 2>&1 ||
		{ tail -30 "$log"; rm -f "$log"; echo "FAIL: portable build"; exit 1; }
	rm -f "$log"
	vsd=$p/vswitch/vswitchd ctl=$p/cli/vswitchctl vmm=$p/vmm/vmm
fi
# A run spoiled by a fault of the emulated machine (the sandbox died or hung,
# a guest triple-faulted, oopsed in its entry code or hung before its init or
# its heartbeat: HVNET-EMULATION-FAULT, hvnet_emulator_fault) earns another
# while the test has run for under 19 minutes (a run takes at most 600 s;
# meson allows 1800).
res=$(mktemp /tmp/hvnet-vmnet-out.XXXXXX)
trap 'rm -f "$res"' EXIT
attempt=0
while attempt=$((attempt + 1)); do
	HVNET_VM_TIMEOUT=600 hvnet_vm_run "$vmm" bash "$TOP/tests/e2e/vm_net_inner.sh" \
		"$vsd" "$ctl" "$vmm" "$HVNET_VMLINUX" "$HVNET_INITRD" >"$res" 2>&1
	rc=$?
	cat "$res"
	[ $rc -ne 0 ] && [ $SECONDS -lt 1140 ] || break
	why=$(hvnet_emulator_fault "$res") || break
	echo "note: attempt $attempt: a fault of the emulation ($why), not of hvnet; running the test again"
done
exit $rc
