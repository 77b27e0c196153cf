#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The checks of vm_net.sh, run where vmm can run (maybe inside the sandbox):
# vswitchd with a private and an internal switch, three Debian-kernel VMs
# created and started with `vswitchctl vm`, their hv_netvsc eth0/eth1 on
# synthetic ports:
#   a: priv (access VLAN 10) + lan (internal switch)
#   b: priv (access VLAN 10)
#   c: priv (access VLAN 20)
# a pings b (private switch), a and the host ping each other over the
# internal switch's vs-lan, a cannot reach c (other VLAN); port counters
# match the traffic; `vm show` reports the heartbeat; vswitchd is killed and
# restarted under the guests, which keep their NICs without a reboot; `vm
# shutdown` powers the guests off through their shutdown service.
#   vm_net_inner.sh VSWITCHD VSWITCHCTL VMM KERNEL INITRD
set -uo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/scripts/lib.sh"
. "$TOP/scripts/vm-runner.sh"
vsd=$1 ctl=$2 vmm=$3 kernel=$4 initrd=$5
fails=0
tmp=$(mktemp -d /tmp/hvnet-vmnet.XXXXXX)
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
export HVNET_SOCKET=$tmp/vswitchd.sock HVNET_VMM=$vmm
vs() { "$ctl" "$@"; }
cleanup() {
	for v in a b c; do vs vm stop $v >/dev/null 2>&1; done
	[ -n "${vpid:-}" ] && kill $vpid 2>/dev/null && wait $vpid 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

mem=()
[ -n "$(ls /dev/hugepages 2>/dev/null)" ] || mem=(--no-huge --memory 192)
"$vsd" --socket "$HVNET_SOCKET" --foreground --lcores 1 "${mem[@]}" --mbufs 4096 \
	--fdb-size 4096 --conntrack-size 4096 --idle-sleep 20000 >"$tmp/vswitchd.log" 2>&1 &
vpid=$!
for _ in $(seq 300); do [ -S "$HVNET_SOCKET" ] && break; sleep 0.1; done
vs switch add priv --type private && vs switch add lan --type internal ||
	{ bad "vswitchd did not start"; cat "$tmp/vswitchd.log"; exit 1; }
ip addr add 10.0.1.1/24 dev vs-lan && ip link set vs-lan up || bad "host vNIC vs-lan"

# The guest: find each NIC by its MAC, address it, run the checks of its role.
guest() { # ROLE
	cat <<G
echo "/bin/poweroff -f" >/proc/sys/kernel/poweroff_cmd
ifname() { for d in /sys/class/net/*; do [ "\$(cat \$d/address)" = "\$1" ] && echo \${d##*/}; done; }
for i in \$(seq 300); do [ -n "\$(ifname 00:15:5d:0e:00:0a)\$(ifname 00:15:5d:0e:00:0b)\$(ifname 00:15:5d:0e:00:0c)" ] && break; sleep 0.2; done
dmesg | grep -i netvsc
G
	case $1 in
	a) cat <<'G'
e0=$(ifname 00:15:5d:0e:00:0a); e1=$(ifname 00:15:5d:0e:01:0a)
for i in $(seq 100); do [ -n "$e1" ] && break; sleep 0.2; e1=$(ifname 00:15:5d:0e:01:0a); done
echo "HVNET-IF eth-priv=$e0 eth-lan=$e1 mtu=$(cat /sys/class/net/$e0/mtu)"
ip addr add 10.0.0.1/24 dev $e0 && ip link set $e0 up
ip addr add 10.0.1.2/24 dev $e1 && ip link set $e1 up
for i in $(seq 120); do ping -c 1 -W 1 10.0.0.2 >/dev/null 2>&1 && break; done
ping -c 20 -i 0.2 -W 2 10.0.0.2 | sed 's/^/HVNET-PING-B /'
ping -c 5 -i 0.2 -W 2 10.0.1.1 | sed 's/^/HVNET-PING-HOST /'
ping -c 3 -W 1 10.0.0.3 | sed 's/^/HVNET-PING-C /'
echo HVNET-A-DONE
while :; do ping -c 1 -W 1 10.0.0.2 >/dev/null 2>&1 && echo HVNET-LOOP-OK || echo HVNET-LOOP-FAIL; sleep 1; done
G
		;;
	b) echo 'e0=$(ifname 00:15:5d:0e:00:0b); ip addr add 10.0.0.2/24 dev $e0 && ip link set $e0 up && echo HVNET-B-UP' ;;
	c) echo 'e0=$(ifname 00:15:5d:0e:00:0c); ip addr add 10.0.0.3/24 dev $e0 && ip link set $e0 up && echo HVNET-C-UP' ;;
	esac
}
cmdline() { echo "console=ttyS0 quiet panic=-1 hvnet_after=hang hvnet_run64=$(guest "$1" | base64 -w0)"; }
vs vm create b --kernel "$kernel" --initrd "$initrd" --memory 160 \
	--cmdline "$(cmdline b)" --nic priv,mac=00:15:5d:0e:00:0b,vlan=10 &&
vs vm create c --kernel "$kernel" --initrd "$initrd" --memory 160 \
	--cmdline "$(cmdline c)" --nic priv,mac=00:15:5d:0e:00:0c,vlan=20 &&
vs vm create a --kernel "$kernel" --initrd "$initrd" --memory 160 --cmdline "$(cmdline a)" \
	--nic priv,mac=00:15:5d:0e:00:0a,vlan=10 --nic lan,mac=00:15:5d:0e:01:0a ||
	bad "vm create"
for v in b c a; do vs vm start $v || bad "vm start $v"; done
console() { vs vm console "$1" --no-follow 2>/dev/null; }
# The emulated machine's own faults (hvnet_emulator_fault in
# scripts/vm-runner.sh): a guest triple-faults or oopses in its entry code and
# its vmm exits 3 (panic=-1: a panicking guest resets at once). Waiting for
# such a guest would only run into the time limit: say so and stop, and
# vm_net.sh runs the test again. A reset with no such sign (an oops in a
# Hyper-V driver, say) is a failure like any other.
fault_check() {
	local f
	f=$(hvnet_vm_fault "$ctl" a b c) || return 0
	echo "HVNET-EMULATION-FAULT: $f"
	exit 75
}
phase() { echo "phase: $* (${SECONDS} s)"; }
# A guest that has not reached its init by the deadline, or that stopped
# answering its heartbeat for over 10 s, was stopped by the emulated machine
# (its guest kernels hang like this with no hvnet device involved); on a
# real KVM it is a failure like any other.
hung_check() { # VM
	local hb
	[ "${HVNET_VM_MODE:-}" = sandbox ] || return 0
	if ! console "$1" | grep -q HVNET-GUEST-INIT; then
		echo "HVNET-EMULATION-FAULT: guest $1 did not reach its init in $SECONDS s"
		exit 75
	fi
	hb=$(vs --json vm show "$1" | jq -r .heartbeat)
	[ "$hb" = lost-contact ] && sleep 10 && hb=$(vs --json vm show "$1" | jq -r .heartbeat)
	if [ "$hb" = lost-contact ]; then
		echo "HVNET-EMULATION-FAULT: guest $1 stopped answering its heartbeat"
		console "$1" | hvnet_console_tail "$1"
		exit 75
	fi
}
wait_console() { # VM PATTERN: until the boot deadline
	local i=0
	while [ $SECONDS -lt $boot_deadline ]; do
		console "$1" | grep -q "$2" && return 0
		[ $((++i % 25)) = 0 ] && fault_check
		sleep 0.2
	done
	fault_check
	hung_check "$1"
	return 1
}
phase "three VMs started"
boot_deadline=$((SECONDS + 360))
wait_console b HVNET-B-UP && ok "b: hv_netvsc eth up on the private switch (VLAN 10)" ||
	bad "b: NIC did not come up"
wait_console c HVNET-C-UP && ok "c: hv_netvsc eth up on the private switch (VLAN 20)" ||
	bad "c: NIC did not come up"
wait_console a HVNET-A-DONE || bad "a: checks did not finish"
phase "guests up"
la=$(console a)
echo "$la" | grep -m1 HVNET-IF
echo "$la" | grep -q 'HVNET-PING-B 20 packets transmitted, 20 packets received' &&
	ok "a -> b over the private switch: 20/20 pings answered" ||
	bad "a -> b pings: $(echo "$la" | grep 'HVNET-PING-B.*transmitted')"
echo "$la" | grep -q 'HVNET-PING-HOST 5 packets transmitted, 5 packets received' &&
	ok "a -> host (vs-lan) over the internal switch: 5/5" ||
	bad "a -> host pings: $(echo "$la" | grep 'HVNET-PING-HOST.*transmitted')"
echo "$la" | grep -q 'HVNET-PING-C 3 packets transmitted, 0 packets received' &&
	ok "a (VLAN 10) cannot reach c (VLAN 20): 0/3" ||
	bad "a -> c across VLANs: $(echo "$la" | grep 'HVNET-PING-C.*transmitted')"
ping -c 5 -i 0.2 -W 2 10.0.1.2 >"$tmp/ping" 2>&1 && grep -q ' 0% packet loss' "$tmp/ping" &&
	ok "host -> a over the internal switch: 5/5" || bad "host -> a: $(tail -2 "$tmp/ping")"

# Counters: the switch saw what the guests sent (each ping is one request and one reply; ARP
# and IPv6 neighbour traffic come on top, so at least).
stat() { vs --json port stats "$1" | jq -r ".$2"; }
arx=$(stat a-nic0 rx_packets) atx=$(stat a-nic0 tx_packets)
brx=$(stat b-nic0 rx_packets) btx=$(stat b-nic0 tx_packets)
[ "${arx:-0}" -ge 20 ] && [ "${btx:-0}" -ge 20 ] && [ "${brx:-0}" -ge 20 ] && [ "${atx:-0}" -ge 20 ] &&
	ok "port counters: a-nic0 rx $arx tx $atx, b-nic0 rx $brx tx $btx (>= 20 pings each way)" ||
	{ bad "port counters a-nic0 rx=$arx tx=$atx b-nic0 rx=$brx tx=$btx"; vs port list; }
ctx=$(stat c-nic0 tx_packets)
[ "$ctx" = 0 ] && ok "nothing sent in VLAN 10 reached c-nic0 (VLAN 20): tx 0" ||
	bad "c-nic0 (VLAN 20) was sent $ctx frames"
vs fdb show priv
vs vm list
hb=$(vs --json vm show a | jq -r '"\(.state) \(.heartbeat) \(.nics | length) \(.nics[0].link)"')
[ "$hb" = "running ok 2 up" ] && ok "vm show a: running, heartbeat ok, 2 NICs, link up" ||
	bad "vm show a: '$hb'"
# vswitchd restarts under the running guests: the vmms reconnect and replay,
# NetVSP resumes the guests' negotiated state; the guests see a link flap and
# are not rebooted. The new vswitchd adopts them from vms.json; the console
# is read from the file vmm writes, which outlives both vswitchds.
alog=$(vs --json vm show a | jq -r .console_log)
start_vswitchd() {
	"$vsd" --socket "$HVNET_SOCKET" --foreground --lcores 1 "${mem[@]}" --mbufs 4096 \
		--fdb-size 4096 --conntrack-size 4096 --idle-sleep 20000 >>"$tmp/vswitchd.log" 2>&1 &
	vpid=$!
	for _ in $(seq 300); do vs status >/dev/null 2>&1 && break; sleep 0.1; done
}
phase "killing and restarting vswitchd"
kill -KILL $vpid; wait $vpid 2>/dev/null
before=$(tr -d '\r' <"$alog" | grep -c '^HVNET-LOOP-OK')
start_vswitchd
vs switch add priv --type private && vs switch add lan --type internal ||
	bad "vswitchd did not come back"
ip addr add 10.0.1.1/24 dev vs-lan && ip link set vs-lan up
for _ in $(seq 150); do [ "$(vs --json vm list | jq '.vms | length')" = 3 ] && break; sleep 0.2; done
for _ in $(seq 150); do
	[ "$(tr -d '\r' <"$alog" | grep -c '^HVNET-LOOP-OK')" -ge $((before + 3)) ] && break
	sleep 0.2
done
after=$(tr -d '\r' <"$alog" | grep -c '^HVNET-LOOP-OK')
[ "$after" -ge $((before + 3)) ] &&
	ok "vswitchd killed and restarted: the vmms reconnected, a pings b again ($((after - before)) more answers), no guest reboot" ||
	bad "after the vswitchd restart a's pings to b: $before ok before, $after after; vm list: $(vs --json vm list | jq -c '[.vms[].name]')"
tr -d '\r' <"$alog" | grep -q 'HVNET-GUEST-INIT' && [ "$(tr -d '\r' <"$alog" | grep -c 'HVNET-GUEST-INIT')" = 1 ] &&
	ok "guest a booted once" || bad "guest a booted more than once"
ping -c 3 -i 0.3 -W 2 10.0.1.2 >"$tmp/ping" 2>&1 && ok "host -> a over the restarted internal switch" ||
	bad "host -> a after the restart: $(tail -2 "$tmp/ping")"
phase "shutting the guests down"
pids=$(vs --json vm list | jq -r '[.vms[].pid] | join(" ")')
for v in a b c; do
	vs vm shutdown $v --wait --timeout 60 >/dev/null || bad "vm shutdown $v"
done
sleep 1
alive=
for p in $pids; do kill -0 "$p" 2>/dev/null && alive="$alive $p"; done
[ -n "$pids" ] && [ -z "$alive" ] &&
	ok "vm shutdown: the three guests powered off through their shutdown service (vmm pids $pids gone)" ||
	bad "vmm processes still running after vm shutdown:${alive:- none listed}"
for _ in $(seq 50); do grep -q 'reboot: Power down' "$alog" && break; sleep 0.2; done
grep -q 'reboot: Power down' "$alog" && ok "guest a's kernel powered down" ||
	bad "a: no 'reboot: Power down' in $alog"
if [ $fails -ne 0 ]; then
	fault_check
	echo "---- vswitchd ----"; tail -40 "$tmp/vswitchd.log"
	for f in "$tmp"/*.log "$tmp"/*/*.log; do [ -f "$f" ] && { echo "---- $f ----"; tr -d '\r' <"$f" | grep -v '^\s*$' | tail -25; }; done
	exit 1
fi
echo "all checks passed"
