#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# e2e: vmm lifecycle and console backends, with a real guest (directly or in
# the sandbox, see scripts/vm-runner.sh). The checks run in
# vmm_lifecycle_inner.sh, in one sandbox session:
#   1. console on a unix socket: a client reads the boot, types a command
#      into the guest shell (UART receive interrupts) and sees its output,
#      then types `reboot -f`: vmm exits 3 (guest reset);
#   2. console to a file: once the kernel prints, SIGTERM stops the guest
#      and vmm exits 4.
#
#   vmm_lifecycle.sh --vmm PATH
set -uo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/scripts/lib.sh"
. "$TOP/scripts/vm-runner.sh"
[ "${1:-}" = --vmm ] || { echo "usage: $0 --vmm PATH" >&2; exit 2; }
vmm=$2
if [ ! -e /dev/kvm ] && ! command -v qemu-system-x86_64 >/dev/null; then
	echo "SKIP: neither /dev/kvm nor qemu-system-x86_64 (for the sandbox) is available"
	exit 77
fi
img=$(timeout 900 "$TOP/scripts/guest-image") || { echo "FAIL: scripts/guest-image failed"; exit 1; }
eval "$img"
hvnet_vm_detect "$vmm"
echo "mode: $HVNET_VM_MODE"
# the ELF vmlinux: no decompression, so both boots are quicker. A sandbox
# machine that dies under the run (emulation, see vmm_boot.sh) is retried once.
HVNET_VM_TIMEOUT=200 hvnet_vm_run_retry "$vmm" bash "$TOP/tests/e2e/vmm_lifecycle_inner.sh" \
	"$vmm" "$HVNET_VMLINUX" "$HVNET_INITRD"
