#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Guest side of vm_tcp (run by the guest init as /hvnet/script; busybox sh).
# hvnet_role (kernel command line) is a or b; hvnet_from=N skips the phases
# before N (vm_tcp_inner.sh restarts the VMs there after a fault of the
# emulated machine). Addresses: a 10.0.0.1 on the
# private switch and 10.0.1.2 on the internal one (the host is 10.0.1.1);
# b 10.0.0.2. The phases run in order; each prints
# "HVNET-PHASE N begin" and "HVNET-PHASE N end rc=R" around hvnet-tcp's
# verdict lines (HVNET-TCP {json}); the host side (vm_tcp_inner.sh) reads them.
ifname() { for d in /sys/class/net/*; do [ "$(cat "$d/address")" = "$1" ] && echo "${d##*/}"; done; }
wait_if() { # MAC
	i=0
	while [ $i -lt 300 ]; do
		n=$(ifname "$1")
		[ -n "$n" ] && { echo "$n"; return 0; }
		i=$((i + 1))
		sleep 0.2
	done
	return 1
}
MB16=16777216 MB8=8388608
case ${hvnet_role:-} in
a)
	if ! e0=$(wait_if 00:15:5d:0f:00:0a) || ! e1=$(wait_if 00:15:5d:0f:01:0a); then
		echo "HVNET-TCP-NOIF"
		exit 1
	fi
	ip addr add 10.0.0.1/24 dev "$e0" && ip link set "$e0" up
	ip addr add 10.0.1.2/24 dev "$e1" && ip link set "$e1" up
	me=1 peer=10.0.0.2
	;;
b)
	e0=$(wait_if 00:15:5d:0f:00:0b) || { echo "HVNET-TCP-NOIF"; exit 1; }
	ip addr add 10.0.0.2/24 dev "$e0" && ip link set "$e0" up
	me=2 peer=10.0.0.1
	;;
*) echo "HVNET-TCP-NOROLE"; exit 1 ;;
esac
echo "HVNET-IF $e0 mtu=$(cat /sys/class/net/"$e0"/mtu)"
i=0
while [ $i -lt 120 ] && ! ping -c 1 -W 1 $peer >/dev/null 2>&1; do i=$((i + 1)); done
echo HVNET-TCP-READY
# VM to VM: recv on 5N0<me>, send to the peer's 5N0<peer>; both directions at once.
vmvm() { # PHASE CONNS BYTES_PER_CONN
	hvnet-tcp recv "5${1}0$me" "$2" 400 &
	r=$!
	hvnet-tcp send $peer "5${1}0$((3 - me))" "$2" "$3" "$((me * 100 + $1))" 400
	s=$?
	wait $r
	return $((s | $?))
}
phase() { # N CMD...
	n=$1
	shift
	[ "$n" -ge "${hvnet_from:-1}" ] || return 0
	echo "HVNET-PHASE $n begin"
	"$@"
	echo "HVNET-PHASE $n end rc=$?"
}
# 1: VM <-> VM, 4 connections each way, 64 MiB per direction
phase 1 vmvm 1 4 $MB16
# 2: a <-> the host's vNIC over the internal switch, 16 MiB per direction
if [ $me = 1 ]; then
	phase 2 sh -c "hvnet-tcp recv 5201 4 400 & r=\$!; hvnet-tcp send 10.0.1.1 5202 4 $((MB16 / 4)) 3 400; s=\$?; wait \$r; exit \$((s | \$?))"
fi
# 3: VM <-> VM, 16 MiB per direction, while the host kills and restarts
# vswitchd under it
phase 3 vmvm 3 2 $MB8
# 4: VM <-> VM, 16 MiB per direction, while a takes its interface down for
# 3 s and up again once 4 MiB arrived
if [ $me = 1 ] && [ "${hvnet_from:-1}" -le 4 ]; then
	(
		rx0=$(cat /sys/class/net/"$e0"/statistics/rx_bytes)
		while [ $(($(cat /sys/class/net/"$e0"/statistics/rx_bytes) - rx0)) -lt 4194304 ]; do sleep 0.2; done
		echo "HVNET-LINK down"
		ip link set "$e0" down
		sleep 3
		ip link set "$e0" up
		echo "HVNET-LINK up"
	) &
fi
phase 4 vmvm 4 2 $MB8
echo HVNET-TCP-ALL-DONE
