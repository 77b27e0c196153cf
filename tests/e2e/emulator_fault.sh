#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# e2e: how runs in the sandbox tell a fault of the emulated machine from a
# failure of hvnet (scripts/vm-runner.sh: hvnet_emulator_fault,
# hvnet_vm_fault), on recorded output: a vCPU triple fault, an oops in the
# guest's entry code, a sandbox that died or hung are the emulation's; an
# oops naming a Hyper-V driver, a plain failure, and anything in direct mode
# are not. hvnet_vm_fault reads `vswitchctl --json vm show` (a stand-in here).
set -uo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/scripts/lib.sh"
. "$TOP/scripts/vm-runner.sh"
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
tmp=$(mktemp -d /tmp/hvnet-e2e-fault.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# FILE WANT(fault|none) WHAT: the verdict in sandbox mode
check() {
	local got
	got=$(HVNET_VM_MODE=sandbox hvnet_emulator_fault "$1") && v=fault || v=none
	[ $v = "$2" ] && ok "$3: $v${got:+ ($got)}" || bad "$3: got $v${got:+ ($got)}, want $2"
}
printf '%s\n' 'vmm: vCPU 2: triple fault, resetting (exit reason 8, rip 0xfff0, rsp 0x0, cr0 0x10)' \
	'vmm: guest reset (reboot) after 17698.3 ms' >"$tmp/triple"
check "$tmp/triple" fault "a guest vCPU's triple fault"
printf '%s\r\n' '[   43.2] BUG: unable to handle page fault for address: 000000000001fb80' \
	'[   43.2] RIP: 0010:irqentry_enter+0x9/0x50' '[   43.2]  asm_exc_page_fault+0x22/0x30' \
	'[   43.2] Modules linked in: scsi_common hv_netvsc hv_utils hv_vmbus' \
	'[   56.0] Kernel panic - not syncing: Fatal exception in interrupt' >"$tmp/entry"
check "$tmp/entry" fault "an oops in the entry code (Hyper-V modules only loaded)"
printf '%s\r\n' '[   20.1] BUG: kernel NULL pointer dereference, address: 0000000000000008' \
	'[   20.1] RIP: 0010:netvsc_receive+0x1a/0x300 [hv_netvsc]' '[   20.1] Call Trace:' \
	'[   20.1]  <IRQ>' '[   20.1]  netvsc_poll+0x16f/0x4a0 [hv_netvsc]' \
	'[   20.2] Kernel panic - not syncing: Fatal exception in interrupt' >"$tmp/netvsc"
check "$tmp/netvsc" none "an oops in hv_netvsc (may be hvnet's)"
printf '%s\n' 'sandbox: the emulated machine stopped responding (no console output for 120s; a known fault of the emulation); its console:' >"$tmp/hung"
check "$tmp/hung" fault "a hung sandbox machine"
printf '%s\n' 'sandbox: no exit status from the sandbox (qemu exit 0); its console:' >"$tmp/died"
check "$tmp/died" fault "a sandbox machine that reset"
printf '%s\n' 'FAIL: a -> b pings: 20 packets transmitted, 0 packets received' 'sandbox: timed out after 600s' >"$tmp/plain"
check "$tmp/plain" none "a failed check and a timeout"
printf '%s\n' 'phase: three VMs started (5 s)' 'HVNET-EMULATION-FAULT: guest b did not reach its init in 366 s' >"$tmp/named"
got=$(HVNET_VM_MODE=sandbox hvnet_emulator_fault "$tmp/named")
[ "$got" = "guest b did not reach its init in 366 s" ] &&
	ok "a fault a test named itself (HVNET-EMULATION-FAULT): $got" || bad "HVNET-EMULATION-FAULT line: got '$got'"
HVNET_VM_MODE=direct hvnet_emulator_fault "$tmp/triple" >/dev/null &&
	bad "direct mode: a triple fault counted as the emulation's" ||
	ok "direct mode (real KVM): nothing is the emulation's"

# hvnet_vm_fault with a stand-in vswitchctl: VM a reset with a triple fault,
# b running again after such a reset, c reset with an oops in hv_netvsc (the
# fields of `vswitchctl --json vm show`: state, last_exit, console_log)
cat >"$tmp/ctl" <<CTL
#!/bin/sh
[ "\$1 \$2 \$3" = "--json vm show" ] || exit 2
case \$4 in
a) echo '{"state":"off","last_exit":"exit 3: guest reset","console_log":"$tmp/triple"}' ;;
b) echo '{"state":"running","last_exit":"exit 3: guest reset","console_log":"$tmp/triple"}' ;;
c) echo '{"state":"off","last_exit":"exit 3: guest reset","console_log":"$tmp/netvsc"}' ;;
*) exit 1 ;;
esac
CTL
chmod +x "$tmp/ctl"
out=$(HVNET_VM_MODE=sandbox hvnet_vm_fault "$tmp/ctl" b c a)
[ $? = 0 ] && echo "$out" | head -1 | grep -qx 'guest a: guest vCPU 2: triple fault (exit 3: guest reset)' &&
	echo "$out" | grep -q '^console a: vmm: guest reset (reboot)' &&
	ok "vm fault: a's triple fault named, with its console; b (running again) and c (hv_netvsc oops) passed over" ||
	bad "vm fault among b c a: $out"
HVNET_VM_MODE=sandbox hvnet_vm_fault "$tmp/ctl" b c >/dev/null &&
	bad "vm fault: b and c counted as the emulation's" || ok "vm fault: none among b (running again) and c (hv_netvsc oops)"
# the same inside the sandbox, whose /dev is a bare devtmpfs without /dev/fd
# (no process substitution): a /dev of its own in a mount namespace
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
	out=$(unshare -m bash -c 'mount -t tmpfs none /dev && mknod -m 666 /dev/null c 1 3 || exit 99
		. "$1/scripts/lib.sh"; . "$1/scripts/vm-runner.sh"
		HVNET_VM_MODE=sandbox hvnet_vm_fault "$2" b c a' _ "$TOP" "$tmp/ctl" 2>&1)
	[ $? = 0 ] && echo "$out" | head -1 | grep -qx 'guest a: guest vCPU 2: triple fault (exit 3: guest reset)' &&
		ok "vm fault without /dev/fd (as in the sandbox): a's triple fault named" ||
		bad "vm fault without /dev/fd: $out"
else
	echo "note: not root or no unshare: the check without /dev/fd is left out"
fi
[ $fails -eq 0 ] || exit 1
