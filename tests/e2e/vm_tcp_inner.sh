#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The checks of vm_tcp (run by vm_net.sh --inner, maybe inside the sandbox):
# bulk TCP through synthetic NICs between two stock Debian guests (1 vCPU
# each) and between a guest and the host's vNIC, every byte checked against
# its generator and the streams compared by checksum at both ends (hvnet-tcp):
#   1  a <-> b over a private switch: 4 connections each way, 64 MiB per
#      direction, both directions at once (vswitchd with --idle-sleep)
#   2  a <-> the host (vs-lan, internal switch): 4 connections each way, 16
#      MiB per direction (the host's end runs in the sandbox's own kernel,
#      whose emulation faults most under load)
#   3  a <-> b, 2 connections each way, 16 MiB per direction, while vswitchd
#      is killed and restarted under the transfer (the new one busy-polls:
#      no --idle-sleep)
#   4  a <-> b, the same, while a's interface goes down for 3 s and up again
# The guests run tests/e2e/vm_tcp_guest.sh; each phase's verdict lines are
# read from their consoles. Under load the emulated machine of the sandbox
# triple-faults guests now and then (hvnet_vm_fault): the VMs are then
# started again at the phase that was cut short, at most 5 times; each phase
# done prints "phase-done: N", and HVNET_VM_FROM=N starts at phase N (vm_net.sh
# runs the test again there when the sandbox machine itself died).
#   vm_tcp_inner.sh VSWITCHD VSWITCHCTL VMM KERNEL INITRD HVNET_TCP
set -uo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/scripts/lib.sh"
. "$TOP/scripts/vm-runner.sh"
vsd=$1 ctl=$2 vmm=$3 kernel=$4 initrd=$5 tcp=$6
fails=0 faults=0
tmp=$(mktemp -d /tmp/hvnet-vmtcp.XXXXXX)
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
phase() { echo "phase: $* (${SECONDS} s)"; }
export HVNET_SOCKET=$tmp/vswitchd.sock HVNET_VMM=$vmm
vs() { "$ctl" "$@"; }
cleanup() {
	for v in a b; do vs vm stop $v >/dev/null 2>&1; done
	[ -n "${vpid:-}" ] && kill "$vpid" 2>/dev/null && wait "$vpid" 2>/dev/null
	jobs -p | xargs -r kill 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

mem=()
[ -n "$(ls /dev/hugepages 2>/dev/null)" ] || mem=(--no-huge --memory 192)
start_vswitchd() { # extra options
	"$vsd" --socket "$HVNET_SOCKET" --foreground --lcores 1 "${mem[@]}" --mbufs 8192 \
		--fdb-size 4096 --conntrack-size 4096 "$@" >>"$tmp/vswitchd.log" 2>&1 &
	vpid=$!
	hvnet_wait 30 "vswitchd answers" vs status || return 1
	vs switch add priv --type private && vs switch add lan --type internal &&
		ip addr add 10.0.1.1/24 dev vs-lan && ip link set vs-lan up
}
start_vswitchd --idle-sleep 20000 || { bad "vswitchd did not start"; cat "$tmp/vswitchd.log"; exit 1; }

# A console from this boot on (a VM started again appends to its log).
clean() { tr -d '\r' <"$1" | awk '/HVNET-GUEST-INIT/ { n = 0 } { l[n++] = $0 } END { for (i = 0; i < n; i++) print l[i] }'; }
# A fault of the emulation (hvnet_vm_fault) sets $fault; 1 otherwise.
fault=
faulted() {
	local f
	f=$(hvnet_vm_fault "$ctl" a b) || return 1
	fault=$f
	return 0
}
# until LOG has a line matching PATTERN: 0; 1 at the deadline; 2 on a fault
wait_log() { # LOG PATTERN SECONDS
	local end=$((SECONDS + $3)) i=0
	while [ $SECONDS -lt $end ]; do
		clean "$1" | grep -q -- "$2" && return 0
		[ $((++i % 25)) = 0 ] && faulted && return 2
		sleep 0.2
	done
	faulted && return 2
	return 1
}

args=(--kernel "$kernel" --initrd "$initrd" --memory 256 --cpus 1)
cmd="console=ttyS0 quiet panic=-1 hvnet_after=hang"
# (Re)creates and starts both VMs at phase FROM; 0, 1 (failed), 2 (a fault).
boot_vms() { # FROM
	local v r
	for v in a b; do vs vm stop $v >/dev/null 2>&1; vs vm del $v >/dev/null 2>&1; done
	if ! vs vm create b "${args[@]}" --cmdline "$cmd hvnet_role=b hvnet_from=$1" \
		--nic priv,mac=00:15:5d:0f:00:0b ||
		! vs vm create a "${args[@]}" --cmdline "$cmd hvnet_role=a hvnet_from=$1" \
			--nic priv,mac=00:15:5d:0f:00:0a --nic lan,mac=00:15:5d:0f:01:0a; then
		bad "vm create"
		return 1
	fi
	for v in b a; do vs vm start $v || { bad "vm start $v"; return 1; }; done
	alog=$(vs --json vm show a | jq -r .console_log)
	blog=$(vs --json vm show b | jq -r .console_log)
	phase "VMs started at phase $1"
	wait_log "$alog" HVNET-TCP-READY 360 && wait_log "$blog" HVNET-TCP-READY 60
	r=$?
	[ $r = 0 ] && { phase "guests up"; return 0; }
	[ $r = 2 ] && return 2
	if [ "${HVNET_VM_MODE:-}" = sandbox ] && { ! clean "$alog" | grep -q HVNET-GUEST-INIT ||
		! clean "$blog" | grep -q HVNET-GUEST-INIT; }; then
		fault="a guest did not reach its init in 360 s"
		return 2
	fi
	bad "the guests did not come up: a: $(clean "$alog" | tail -2) b: $(clean "$blog" | tail -2)"
	return 1
}

# The verdict of hvnet-tcp ROLE in PHASE from LOG (its last HVNET-TCP line there).
verdict() { # LOG PHASE ROLE
	clean "$1" | sed -n "/^HVNET-PHASE $2 begin/,/^HVNET-PHASE $2 end/p" |
		grep "^HVNET-TCP {\"role\": \"$3\"" | tail -1 | sed 's/^HVNET-TCP //'
}
# Checks one guest's phase: its receiver and its sender report every byte intact.
check_phase() { # VM LOG PHASE WHAT
	local r s
	if ! clean "$2" | grep -q "^HVNET-PHASE $3 end rc=0"; then
		bad "$4: guest $1: $(clean "$2" | grep "^HVNET-PHASE $3 end" || echo 'phase did not end')"
		clean "$2" | grep -E "^HVNET-TCP" | tail -4 | cut -c1-400
		return 1
	fi
	r=$(verdict "$2" "$3" recv) s=$(verdict "$2" "$3" send)
	if [ "$(echo "$r" | jq -r .ok)" = true ] && [ "$(echo "$s" | jq -r .ok)" = true ]; then
		ok "$4: guest $1 received $(echo "$r" | jq .bytes) bytes intact on $(echo "$r" | jq .conns) connections ($(echo "$r" | jq .mbit_s) Mbit/s); the $(echo "$s" | jq .bytes) it sent arrived, checksums equal"
	else
		bad "$4: guest $1: recv $r send $s"
	fi
}
# A guest the emulated machine stopped: in the sandbox, its heartbeat lost for
# over 10 s (a guest stuck in hvnet's NIC still answers its heartbeat).
hung() { # VM
	[ "${HVNET_VM_MODE:-}" = sandbox ] || return 1
	[ "$(vs --json vm show "$1" | jq -r .heartbeat)" = lost-contact ] || return 1
	sleep 10
	[ "$(vs --json vm show "$1" | jq -r .heartbeat)" = lost-contact ]
}
# Waits for PHASE to end in the VMs: 0, 1 (time out: a failure), 2 (a fault).
wait_phase() { # PHASE SECONDS VM...
	local v w log r
	for v in "${@:3}"; do
		[ "$v" = a ] && log=$alog || log=$blog
		# the whole line: the serial console writes it a byte at a time
		wait_log "$log" "^HVNET-PHASE $1 end rc=[0-9]" "$2"
		r=$?
		[ $r = 2 ] && return 2
		if [ $r = 1 ]; then
			for w in a b; do
				if hung $w; then
					fault="guest $w stopped answering its heartbeat in phase $1"
					return 2
				fi
			done
			bad "phase $1: guest $v did not finish in $2 s"
			return 1
		fi
	done
	return 0
}
port_rx() { vs --json port stats "$1" | jq -r .rx_bytes; }
moved_since() { [ $(($(port_rx "$1") - $2)) -ge "$3" ]; } # PORT RX0 BYTES
host_tcp() { # ROLE FILE ARGS...: the host's end of phase 2
	local v
	v=$(grep '^HVNET-TCP {' "$2" | tail -1 | sed 's/^HVNET-TCP //')
	if [ "$(echo "$v" | jq -r .ok 2>/dev/null)" = true ]; then
		ok "VM <-> host: the host's $1 end: $(echo "$v" | jq .bytes) bytes on $(echo "$v" | jq .conns) connections intact ($(echo "$v" | jq .mbit_s) Mbit/s)"
	else
		bad "VM <-> host: the host's $1 end: $(tail -2 "$2" | cut -c1-400)"
	fi
}

# Waits for VM <-> VM phase N in both guests and checks both: 0, or 2 (a fault).
vmvm_phase() { # N WHAT
	wait_phase "$1" 420 a b
	[ $? = 2 ] && return 2
	check_phase a "$alog" "$1" "$2"
	check_phase b "$blog" "$1" "$2"
	return 0
}

run_phase() { # N: 0 done (checks recorded), 2 a fault cut it short
	local r hr hs
	case $1 in
	1)
		phase "1: a <-> b, 4 connections each way, 64 MiB per direction, both at once"
		vmvm_phase 1 "VM <-> VM" || return 2
		;;
	2)
		phase "2: a <-> host vNIC, 4 connections each way, 16 MiB per direction"
		wait_log "$alog" "^HVNET-PHASE 2 begin" 120
		[ $? = 2 ] && return 2
		# the guest listens on 5201 and sends to the host's 5202
		"$tcp" recv 5202 4 400 >"$tmp/host-recv" 2>&1 &
		hr=$!
		"$tcp" send 10.0.1.2 5201 4 4194304 7 400 >"$tmp/host-send" 2>&1 &
		hs=$!
		wait_phase 2 420 a
		r=$?
		[ $r = 2 ] && kill $hr $hs 2>/dev/null
		wait $hr $hs
		[ $r = 2 ] && return 2
		check_phase a "$alog" 2 "VM <-> host"
		host_tcp recv "$tmp/host-recv"
		host_tcp send "$tmp/host-send"
		;;
	3)
		phase "3: a <-> b while vswitchd is killed and restarted"
		# both guests begin (b may still be finishing phase 2), then 4 MiB flow
		for v in "$alog" "$blog"; do
			wait_log "$v" "^HVNET-PHASE 3 begin" 420
			[ $? = 2 ] && return 2
		done
		rx0=$(port_rx a-nic0)
		if ! hvnet_wait 300 "4 MiB of phase 3 through a-nic0" moved_since a-nic0 "$rx0" 4194304; then
			faulted && return 2
			bad "phase 3 did not get going: a-nic0 rx_bytes $rx0 then $(port_rx a-nic0)"
		fi
		kill -KILL "$vpid"
		wait "$vpid" 2>/dev/null
		echo "vswitchd killed mid-transfer; starting one that busy-polls"
		start_vswitchd || bad "vswitchd did not come back"
		vmvm_phase 3 "VM <-> VM across a vswitchd restart" || return 2
		;;
	4)
		phase "4: a <-> b, 2 connections each way, while a's interface goes down and up"
		vmvm_phase 4 "VM <-> VM across a link flap" || return 2
		if clean "$alog" | grep -q "^HVNET-LINK up"; then
			ok "a took its interface down for 3 s mid-transfer and up again"
		else
			bad "a's link flap did not happen"
		fi
		;;
	esac
	return 0
}

from=${HVNET_VM_FROM:-1}
[ "$from" = 1 ] || echo "starting at phase $from (the phases before passed in an earlier run)"
while [ "$from" -le 4 ]; do
	boot_vms "$from"
	r=$?
	[ $r = 1 ] && break
	n=$from
	while [ $r = 0 ] && [ "$n" -le 4 ]; do
		run_phase "$n"
		r=$?
		if [ $r = 0 ]; then
			echo "phase-done: $n"
			n=$((n + 1))
		fi
	done
	from=$n
	[ $r = 2 ] || continue
	faults=$((faults + 1))
	echo "note: a fault of the emulation in phase $n ($fault), not of hvnet; the VMs start again at phase $n"
	if [ $faults -gt 5 ]; then
		echo "HVNET-EMULATION-FAULT: $faults faults of the emulation ($fault)"
		exit 75
	fi
done

echo "---- ports ----"
for p in a-nic0 b-nic0 a-nic1; do
	echo "$p: $(vs --json port stats $p | jq -M -c '{rx_packets, tx_packets, drops: (.drops | with_entries(select(.value != 0)))}')"
done
vs --json port show a-nic0 | jq -M -c '.netvsp // {}'
[ $faults = 0 ] || echo "the VMs were started again $faults time(s) after faults of the emulation"
if [ $fails -ne 0 ]; then
	echo "---- vswitchd ----"; tail -40 "$tmp/vswitchd.log"
	for f in "$alog" "$blog"; do echo "---- $f ----"; clean "$f" | grep -v '^\s*$' | tail -30; done
	exit 1
fi
echo "all checks passed"
