#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# e2e (no guest boots): vmm's command-line and configuration errors. Each bad
# invocation (--vswitchd/--nic/--name included) must exit 2 with a precise
# one-line reason; --help documents the exit statuses; --probe answers yes or
# no within its deadline.
#
#   vmm_cli_errors.sh --vmm PATH
set -uo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/scripts/lib.sh"
. "$TOP/scripts/vm-runner.sh"
[ "${1:-}" = --vmm ] || { echo "usage: $0 --vmm PATH" >&2; exit 2; }
vmm=$2
fails=0
tmp=$(mktemp -d /tmp/hvnet-e2e-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

img=$(timeout 900 "$TOP/scripts/guest-image") || { echo "FAIL: scripts/guest-image failed"; exit 1; }
eval "$img"
K=$HVNET_KERNEL
# a file with a bzImage header but protocol 2.11 (no 64-bit entry contract)
cp "$K" "$tmp/old-bzimage"
printf '\x0b\x02' | dd of="$tmp/old-bzimage" bs=1 seek=$((0x206)) conv=notrunc status=none
head -c 4096 /dev/zero >"$tmp/zeros"

# expect STATUS PATTERN ARGS...: runs vmm ARGS, checks status and stderr
expect() {
	local want=$1 pat=$2 out rc
	shift 2
	out=$(timeout 20 "$vmm" "$@" 2>&1 </dev/null)
	rc=$?
	if [ $rc -eq "$want" ] && echo "$out" | grep -q -E -- "$pat"; then
		echo "ok: vmm $(echo "$*" | cut -c1-100) -> $rc: $(echo "$out" | head -1 | cut -c1-160)"
	else
		echo "FAIL: vmm $*: exit $rc (want $want), output: $out (want /$pat/)"
		fails=$((fails + 1))
	fi
}

expect 2 'no kernel given' --memory 128
expect 2 "cannot read kernel '/nonexistent/k': No such file" --kernel /nonexistent/k
expect 2 "kernel '$tmp/zeros' is not a bzImage" --kernel "$tmp/zeros"
expect 2 "is not a bzImage" --kernel /etc/hostname
: >"$tmp/empty"
expect 2 "cannot read kernel '$tmp/empty': empty file" --kernel "$tmp/empty"
expect 2 "cannot read kernel '/tmp': not a regular file" --kernel /tmp
expect 2 "is an ELF file but not a loadable x86-64 kernel" --kernel /bin/true
expect 2 'without a 64-bit relocatable entry point' --kernel "$tmp/old-bzimage"
expect 2 'memory too small: 16 MiB' --kernel "$K" --memory 16
expect 2 'memory too small: 48 MiB given, this kernel needs at least [0-9]+ MiB' --kernel "$K" --memory 48
expect 2 'memory too small: 64 MiB given, this kernel and initrd need at least' --kernel "$K" --initrd "$HVNET_INITRD" --memory 64
expect 2 'memory too large' --kernel "$K" --memory 99999999
expect 2 'too many vCPUs: 300 requested, at most 254' --kernel "$K" --cpus 300
expect 2 'at least one vCPU' --kernel "$K" --cpus 0
expect 2 "--cpus wants a number, not 'two'" --kernel "$K" --cpus two
expect 2 "--memory wants a number of MiB, not '12x'" --kernel "$K" --memory 12x
expect 2 "cannot read initrd '/nonexistent/i'" --kernel "$K" --initrd /nonexistent/i
expect 2 "cannot open console 'tcp:1'" --kernel "$K" --console tcp:1
expect 2 "cannot open console 'file:/nonexistent/x'" --kernel "$K" --console file:/nonexistent/x
expect 2 'command line too long' --kernel "$K" --cmdline "$(head -c 3000 /dev/zero | tr '\0' x)"
expect 2 "unknown or incomplete option '--bogus'" --kernel "$K" --bogus
expect 2 "unexpected argument 'extra'" --kernel "$K" extra
expect 2 'multiple of 2 MiB with hugepages' --kernel "$K" --memory 129 --hugepages
expect 2 "--shutdown-grace wants 0..3600 s, not 'soon'" --kernel "$K" --shutdown-grace soon
# synthetic NICs (--vswitchd/--nic/--name): each field named with its allowed values
S=(--kernel "$K" --vswitchd "$tmp/vsd.sock")
expect 2 '--nic needs --vswitchd SOCKET' --kernel "$K" --nic sw0
expect 2 '--vswitchd needs at least one --nic' "${S[@]}"
expect 2 '--nic needs Hyper-V' "${S[@]}" --nic sw0 --no-hyperv
expect 2 "--nic '': switch name '' is not a name \(1..31 characters" "${S[@]}" --nic ''
expect 2 "--nic 'sw0,speed=10': unknown field 'speed' \(allowed: mac, vlan, port, mtu\)" "${S[@]}" --nic sw0,speed=10
expect 2 "mac '01:00:5e:00:00:01' is not a unicast MAC address" "${S[@]}" --nic sw0,mac=01:00:5e:00:00:01
expect 2 "mac '00:15:5d:zz:00:01' is not a unicast MAC address" "${S[@]}" --nic sw0,mac=00:15:5d:zz:00:01
expect 2 "vlan '4095' is not 0..4094" "${S[@]}" --nic sw0,vlan=4095
expect 2 "mtu '67' is not 68..9000" "${S[@]}" --nic sw0,mtu=67
expect 2 "port 'a b' is not a name" "${S[@]}" --nic 'sw0,port=a b'
expect 2 "vlan given twice" "${S[@]}" --nic sw0,vlan=1,vlan=2
expect 2 "'mtu' is not key=value" "${S[@]}" --nic sw0,mtu
expect 2 "--nic: at most 8 NICs" "${S[@]}" --nic a --nic a --nic a --nic a --nic a --nic a --nic a --nic a --nic a
expect 2 "--name 'x/y' is not a name" "${S[@]}" --nic sw0 --name x/y
expect 2 "--name '.vm' is not a name .*not starting with" "${S[@]}" --nic sw0 --name .vm
expect 0 'Exit status: 0 guest powered off.*' --help
expect 0 '^vmm \(hvnet\) [0-9]' --version

# --probe: yes (0) or no (1) with a reason, within its deadline
start=$(date +%s)
out=$(timeout 20 "$vmm" --probe --timeout-ms 1000)
rc=$?
if { [ $rc -eq 0 ] && [[ $out == "kvm-probe: yes:"* ]]; } ||
	{ [ $rc -eq 1 ] && [[ $out == "kvm-probe: no:"* ]]; } ||
	{ [ $rc -eq 2 ] && [ ! -e /dev/kvm ]; }; then
	echo "ok: --probe -> $rc: $out ($(($(date +%s) - start)) s)"
else
	echo "FAIL: --probe: exit $rc, output '$out'"
	fails=$((fails + 1))
fi
# console on a terminal: raw while vmm runs (Ctrl-C still signals it),
# exit 4 on Ctrl-C, the terminal's mode restored afterwards; vmm must run a
# guest for that: in the sandbox where this host's KVM cannot
hvnet_vm_detect "$vmm"
tvmm=$vmm
if [ "$HVNET_VM_MODE" = sandbox ]; then
	p=$(hvnet_portable_build) || { echo "FAIL: portable build"; exit 1; }
	tvmm=$p/vmm/vmm
fi
if out=$(HVNET_VM_TIMEOUT=120 hvnet_vm_run "$tvmm" python3 "$TOP/tests/e2e/vmm_tty.py" "$tvmm" "$K" 2>&1); then
	echo "ok: terminal console ($HVNET_VM_MODE): $(echo "$out" | tail -1)"
else
	echo "FAIL: terminal console ($HVNET_VM_MODE): $(echo "$out" | tail -5)"
	fails=$((fails + 1))
fi
[ $fails -eq 0 ] || { echo "$fails failures"; exit 1; }
