#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The checks of vmm_hyperv.sh, run where vmm can run (maybe inside the
# sandbox). Arguments: VMM KERNEL INITRD [FAKE_VSWITCHD]. Exits 0 when all
# checks pass.
set -uo pipefail
vmm=$1 kernel=$2 initrd=$3 fake=${4:-}
fails=0
tmp=$(mktemp -d /tmp/hvnet-hyperv.XXXXXX)
fpid=
trap '[ -n "$fpid" ] && kill $fpid 2>/dev/null; rm -rf "$tmp"' EXIT
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

# In the guest: the kernel's orderly power-off runs poweroff_cmd (there is no
# /sbin/poweroff in the initramfs); wait until hv_utils has bound its three
# devices, print the kernel log, then idle until the host asks to shut down.
guest=$(cat <<'G'
echo "/bin/poweroff -f" >/proc/sys/kernel/poweroff_cmd
for i in $(seq 150); do
	[ "$(ls /sys/bus/vmbus/drivers/hv_utils 2>/dev/null | grep -c -- -)" -ge 3 ] && break
	sleep 0.2
done
sleep 1
echo "HVNET-GUEST-TIME $(date +%s)"
dmesg
echo HVNET-HV-READY
G
)
# a synthetic NIC served by the fake vswitchd (vmbus-user)
nic=()
if [ -n "$fake" ]; then
	"$fake" "$tmp/vsd.sock" "$tmp/vsd.log" &
	fpid=$!
	for _ in $(seq 100); do grep -q LISTENING "$tmp/vsd.log" 2>/dev/null && break; sleep 0.1; done
	nic=(--vswitchd "$tmp/vsd.sock" --nic sw0,vlan=10 --name e2e-vm)
fi
"$vmm" --kernel "$kernel" --initrd "$initrd" --memory 256 --hyperv --shutdown-grace 60 \
	--console "file:$tmp/console.log" "${nic[@]}" \
	--cmdline "console=ttyS0 hvnet_after=hang hvnet_run64=$(printf %s "$guest" | base64 -w0)" \
	2>"$tmp/vmm.err" &
pid=$!
for _ in $(seq 1500); do
	grep -q HVNET-HV-READY "$tmp/console.log" 2>/dev/null &&
		grep -q 'shutdown IC ready' "$tmp/vmm.err" && break
	kill -0 $pid 2>/dev/null || break
	[ -n "$fpid" ] && ! kill -0 $fpid 2>/dev/null && { echo "FAIL: the fake vswitchd died"; break; }
	sleep 0.1
done
log=$tmp/console.log
if [ -n "$fpid" ] && ! kill -0 $fpid 2>/dev/null; then
	kill -KILL $pid 2>/dev/null
	echo "---- fake vswitchd ----"; cat "$tmp/vsd.log"
	echo "---- vmm stderr ----"; tail -20 "$tmp/vmm.err"
	exit 1
fi
grep -q 'Hypervisor detected: Microsoft Hyper-V' "$log" && ok "guest detected Hyper-V" ||
	bad "no 'Hypervisor detected: Microsoft Hyper-V'"
grep -Eq 'hv_vmbus: Vmbus version:[45]\.[0-9]' "$log" &&
	ok "hv_vmbus negotiated $(grep -o 'Vmbus version:[0-9.]*' "$log" | head -1)" ||
	bad "no hv_vmbus 'Vmbus version:' line"
for ic in Heartbeat Shutdown TimeSync; do
	grep -Eq "hv_utils: $ic IC version [0-9]+\.[0-9]+" "$log" &&
		ok "hv_utils bound $(grep -Eo "$ic IC version [0-9.]+" "$log" | head -1)" ||
		bad "hv_utils did not bind the $ic IC"
done
# no RTC: the guest clock starts at 1970 unless the time sync IC set it
gtime=$(sed -n 's/^HVNET-GUEST-TIME \([0-9]*\).*/\1/p' "$log" | head -1)
now=$(date +%s)
[ -n "$gtime" ] && [ $((now - gtime)) -lt 300 ] && [ $((gtime - now)) -lt 300 ] &&
	ok "guest clock set by time sync: $(date -u -d "@$gtime" '+%F %T') (host $((now - gtime)) s later)" ||
	bad "guest clock '${gtime:-none}' is not the host's ($now)"
grep -q 'vmbus: guest connected (version 5\.' "$tmp/vmm.err" && ok "vmm saw the guest connect" ||
	bad "vmm did not report the VMBus connection"
sleep 2 # a heartbeat round trip
grep -q 'heartbeat: ok' "$tmp/vmm.err" && ok "vmm reports the guest heartbeat ok" ||
	bad "no 'heartbeat: ok' from vmm"
# vswitchd restarts under the running guest: vmm reconnects and replays
if [ -n "$fake" ]; then
	kill -KILL $fpid
	wait $fpid 2>/dev/null
	"$fake" "$tmp/vsd.sock" "$tmp/vsd2.log" &
	fpid=$!
	for _ in $(seq 100); do grep -q '^MEM ' "$tmp/vsd2.log" 2>/dev/null && break; sleep 0.1; done
	grep -q 'vswitchd link lost' "$tmp/vmm.err" && grep -q 'vswitchd link restored' "$tmp/vmm.err" &&
		grep -q '^HELLO vm=e2e-vm' "$tmp/vsd2.log" && grep -q '^MEM .*mapped=yes' "$tmp/vsd2.log" &&
		ok "vswitchd restarted: vmm reconnected and replayed HELLO and MEM, guest kept running" ||
		bad "no reconnect with HELLO/MEM replay after the fake vswitchd restarted"
	kill -0 $pid 2>/dev/null || bad "vmm died when vswitchd went away"
fi
kill -TERM $pid
timeout 90 tail --pid=$pid -f /dev/null
wait $pid
rc=$?
grep -q 'asked the guest to shut down' "$tmp/vmm.err" && ok "SIGTERM went to the shutdown IC" ||
	bad "vmm did not use the shutdown IC"
[ $rc -eq 0 ] && ok "guest powered off through the shutdown IC -> vmm exit 0" ||
	bad "after SIGTERM vmm exited $rc (want 0: guest power-off)"
grep -q 'reboot: Power down' "$log" && ok "guest kernel powered down" || bad "no 'reboot: Power down'"
if [ -n "$fake" ]; then
	v=$tmp/vsd.log
	grep -q '^HELLO vm=e2e-vm .* nics=1 switch=sw0' "$v" && ok "vswitchd got HELLO (VM e2e-vm, NIC on sw0)" ||
		bad "no HELLO at the fake vswitchd"
	grep -q '^MEM gpa=0 .*mapped=yes' "$v" && ok "vswitchd mapped guest memory from MEM" ||
		bad "no mapped MEM region at the fake vswitchd"
	grep -q 'hv_vmbus: registering driver hv_netvsc' "$log" && ok "guest loaded hv_netvsc" ||
		bad "guest did not register hv_netvsc"
	grep -Eq '^CHANNEL_OPEN relid=[0-9]+ .* fds=2 contiguous=yes in_memory=yes' "$v" &&
		ok "hv_netvsc opened the channel: $(grep -o '^CHANNEL_OPEN.*npfns=[0-9]*' "$v" | head -1)" ||
		bad "no CHANNEL_OPEN with ring pages in guest memory and 2 fds"
	grep -q '^RINGS relid=[0-9]* attached=yes' "$v" && ok "vswitchd attached the channel's rings" ||
		bad "the fake could not attach the rings"
	grep -q '^DOORBELL relid=' "$v" && grep -q '^PKT .* nvsp=1$' "$v" &&
		ok "guest HvSignalEvent reached the doorbell eventfd with NVSP INIT in the ring" ||
		bad "no doorbell / NVSP INIT packet at the fake"
	n=$(grep -c '^NVSP INIT .*refused' "$v")
	[ "$n" -ge 2 ] && ok "guest saw the fake's completions through ring + SIEF + irqfd ($n NVSP versions tried)" ||
		bad "the guest did not come back after the first refused NVSP INIT ($n)"
	grep -q '^CHANNEL_CLOSE relid=' "$v" && grep -q '^GPADL_DEL ' "$v" &&
		ok "hv_netvsc gave up: CHANNEL_CLOSE confirmed, ring GPADL deleted" ||
		bad "no CHANNEL_CLOSE / GPADL_DEL after the refused NVSP"
	grep -q 'hv_netvsc.*probe.*failed\|hv_netvsc.*unable to add' "$log" &&
		ok "guest: $(grep -o 'hv_netvsc.*\(failed\|unable to add\).*' "$log" | head -1)" ||
		bad "no hv_netvsc probe failure in the guest log"
	grep -q 'vswitchd: connected to' "$tmp/vmm.err" &&
		grep -Eq 'vswitchd link: 2 connects, 1 disconnects, .* \(0 bad\), 0 close timeouts' "$tmp/vmm.err" &&
		ok "vmm reports the vswitchd link: $(grep -o 'vswitchd link: .*' "$tmp/vmm.err" | cut -c1-90)" ||
		bad "vmm did not report the vswitchd link (connect, counters at exit)"
fi
if [ $fails -ne 0 ]; then
	echo "---- vmm stderr ----"; cat "$tmp/vmm.err"
	echo "---- console ----"; grep -i -e hv -e vmbus -e hyper -e power -e HVNET "$log" | tail -40
	[ -n "$fake" ] && { echo "---- fake vswitchd ----"; tail -40 "$tmp/vsd.log"; }
	exit 1
fi
