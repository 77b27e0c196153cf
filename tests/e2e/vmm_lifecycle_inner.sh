#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The checks of vmm_lifecycle.sh, run where vmm can run (maybe inside the
# sandbox). Arguments: VMM KERNEL INITRD. Exits 0 when all checks pass.
set -uo pipefail
vmm=$1 kernel=$2 initrd=$3
fails=0
tmp=$(mktemp -d /tmp/hvnet-lifecycle.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

# 1. unix console, typed input, reboot
sock=$tmp/console.sock
"$vmm" --kernel "$kernel" --initrd "$initrd" --memory 192 --console "unix:$sock" \
	--cmdline "console=ttyS0 quiet hvnet_modules=0 hvnet_after=shell" \
	2>"$tmp/vmm1.err" &
pid=$!
python3 - "$sock" "$tmp/console1.log" <<'PY'
import socket, sys, time
path, logpath = sys.argv[1], sys.argv[2]
log = open(logpath, "wb")
deadline = time.time() + 150
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
while True:
    try:
        s.connect(path)
        break
    except OSError:
        if time.time() > deadline:
            sys.exit("console socket never appeared")
        time.sleep(0.05)
s.settimeout(1)
buf = b""
def wait_for(token):
    global buf
    while token not in buf:
        if time.time() > deadline:
            sys.exit("timed out waiting for %r" % token)
        try:
            d = s.recv(4096)
        except socket.timeout:
            continue
        if not d:
            return False
        buf += d
        log.write(d)
        log.flush()
    return True
wait_for(b"HVNET-GUEST-INIT")
time.sleep(1)
# typed slowly, like a person: the UART FIFO is 64 bytes
for c in b"echo HVNET-TYPED-$((6*7))\n":
    s.send(bytes([c]))
    time.sleep(0.002)
if not wait_for(b"HVNET-TYPED-42"):
    sys.exit("no echo of the typed command")
s.send(b"reboot -f\n")
wait_for(b"HVNET-NEVER")  # read until vmm closes the socket
PY
prc=$?
timeout 30 tail --pid=$pid -f /dev/null
wait $pid
rc=$?
[ $prc -eq 0 ] && ok "unix console: typed a command into the guest shell and read its output" ||
	bad "unix console client failed (see log below)"
[ $rc -eq 3 ] && ok "guest reboot -> vmm exit 3" || bad "after reboot vmm exited $rc (want 3)"
grep -q 'reset (reboot)' "$tmp/vmm1.err" && ok "vmm reported the reset" || bad "no reset report"
[ ! -e "$sock" ] && ok "console socket removed on exit" || bad "console socket left behind"

# 2. file console, SIGTERM while the guest runs (--shutdown-grace 0: stop at
#    once, without asking the guest through the shutdown IC)
"$vmm" --kernel "$kernel" --initrd "$initrd" --memory 192 --shutdown-grace 0 \
	--console "file:$tmp/console2.log" \
	--cmdline "console=ttyS0 hvnet_after=hang" 2>"$tmp/vmm2.err" &
pid=$!
for _ in $(seq 1500); do
	[ -s "$tmp/console2.log" ] && break
	kill -0 $pid 2>/dev/null || break
	sleep 0.1
done
grep -q 'Linux version' "$tmp/console2.log" && ok "file console receives the kernel log" ||
	bad "file console is empty"
kill -TERM $pid
timeout 20 tail --pid=$pid -f /dev/null
wait $pid
rc=$?
[ $rc -eq 4 ] && ok "SIGTERM -> vmm exit 4" || bad "after SIGTERM vmm exited $rc (want 4)"
grep -q 'stopping the guest' "$tmp/vmm2.err" && ok "vmm reported the signal" ||
	bad "no signal report"

if [ $fails -ne 0 ]; then
	echo "---- vmm stderr ----"; cat "$tmp"/vmm*.err
	echo "---- console 1 ----"; tail -30 "$tmp/console1.log" 2>/dev/null
	exit 1
fi
