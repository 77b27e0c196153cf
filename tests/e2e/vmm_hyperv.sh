#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# e2e: vmm --hyperv with the unmodified Debian guest (directly or in the
# sandbox, see scripts/vm-runner.sh). The checks run in vmm_hyperv_inner.sh:
# the guest detects Hyper-V, hv_vmbus negotiates a version, hv_utils binds
# heartbeat, shutdown and timesync, time sync sets the guest clock (no RTC),
# vmm reports the heartbeat, and SIGTERM
# powers the guest off through the shutdown IC (vmm exits 0). With a fake
# vswitchd (tests/e2e/fake_vswitchd.c) the VM also gets a synthetic NIC
# (--vswitchd, --nic): hv_netvsc probes it, the channel's rings, doorbell and
# interrupt reach the fake over vmbus-user and it answers NVSP INIT.
#
#   vmm_hyperv.sh --vmm PATH [--fake-vswitchd PATH]
set -uo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/scripts/lib.sh"
. "$TOP/scripts/vm-runner.sh"
[ "${1:-}" = --vmm ] || { echo "usage: $0 --vmm PATH [--fake-vswitchd PATH]" >&2; exit 2; }
vmm=$2
fake=
[ "${3:-}" = --fake-vswitchd ] && fake=$4
if [ ! -e /dev/kvm ] && ! command -v qemu-system-x86_64 >/dev/null; then
	echo "SKIP: neither /dev/kvm nor qemu-system-x86_64 (for the sandbox) is available"
	exit 77
fi
img=$(timeout 900 "$TOP/scripts/guest-image") || { echo "FAIL: scripts/guest-image failed"; exit 1; }
eval "$img"
hvnet_vm_detect "$vmm"
echo "mode: $HVNET_VM_MODE"
HVNET_VM_TIMEOUT=260 hvnet_vm_run_retry "$vmm" bash "$TOP/tests/e2e/vmm_hyperv_inner.sh" \
	"$vmm" "$HVNET_VMLINUX" "$HVNET_INITRD" $fake
