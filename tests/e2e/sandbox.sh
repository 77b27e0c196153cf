#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# e2e: scripts/sandbox itself. One run checks: stdout passes through
# byte-exact (300 KB of binary), stderr separately, CMD's exit status,
# root, the caller's directory and HVNET_* variables, the host root
# read-only, /tmp writable, /dev/kvm present, hugepages reservable. A second
# run checks that --timeout ends a command that would never finish (124), a
# third that --stall stops a machine whose console falls silent (as a hung
# emulated machine's does) with 125 and says so.
set -uo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
command -v qemu-system-x86_64 >/dev/null || { echo "SKIP: qemu-system-x86_64 not installed"; exit 77; }
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
tmp=$(mktemp -d /tmp/hvnet-e2e-sandbox.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
img=$(timeout 900 "$TOP/scripts/guest-image") || { echo "FAIL: scripts/guest-image failed"; exit 1; }
eval "$img"

cd "$TOP"
inner='head -c 300000 "$HVNET_KERNEL"
echo "uid=$(id -u) pwd=$(pwd) var=$HVNET_E2E_PROBE" >&2
touch /hvnet-ro-check 2>/dev/null && echo "root fs writable" >&2
echo scratch >/tmp/x && [ "$(cat /tmp/x)" = scratch ] && echo "tmp=ok" >&2
[ -c /dev/kvm ] && echo "kvm=ok" >&2
echo "hugepages=$(cat /proc/sys/vm/nr_hugepages)" >&2
exit 7'
start=$(date +%s)
HVNET_E2E_PROBE='a b$c' HVNET_KERNEL=$HVNET_KERNEL "$TOP/scripts/sandbox" --hugepages 16 \
	bash -c "$inner" >"$tmp/out" 2>"$tmp/err"
rc=$?
echo "first run: $(($(date +%s) - start)) s"
[ $rc -eq 7 ] && ok "exit status of CMD (7)" || bad "exit status $rc, want 7"
[ "$(head -c 300000 "$HVNET_KERNEL" | sha256sum)" = "$(sha256sum <"$tmp/out")" ] &&
	ok "300 KB of binary stdout byte-exact" || bad "stdout differs ($(wc -c <"$tmp/out") bytes)"
grep -qx "uid=0 pwd=$TOP var=a b\$c" "$tmp/err" && ok "stderr apart; root, same directory, HVNET_* kept" ||
	bad "stderr/identity line wrong: $(head -3 "$tmp/err")"
grep -q 'root fs writable' "$tmp/err" && bad "host root is writable inside" || ok "host root read-only"
grep -qx 'tmp=ok' "$tmp/err" && ok "/tmp writable" || bad "/tmp not writable"
grep -qx 'kvm=ok' "$tmp/err" && ok "/dev/kvm inside" || bad "no /dev/kvm inside"
grep -qx 'hugepages=16' "$tmp/err" && ok "16 hugepages reserved inside" || bad "hugepages: $(grep hugepages "$tmp/err")"

start=$(date +%s)
"$TOP/scripts/sandbox" --timeout 20 sleep 600 >/dev/null 2>"$tmp/err2"
rc=$?
took=$(($(date +%s) - start))
[ $rc -eq 124 ] && [ $took -lt 40 ] && ok "--timeout 20 ends 'sleep 600' with 124 after $took s" ||
	bad "--timeout: status $rc after $took s: $(cat "$tmp/err2")"

# the sign of life is a subshell of the job script (bash .../job.sh): kill it
start=$(date +%s)
"$TOP/scripts/sandbox" --stall 15 --timeout 200 \
	bash -c 'pkill -f "hvnet-jo[b]/job.sh"; sleep 600' >/dev/null 2>"$tmp/err3"
rc=$?
took=$(($(date +%s) - start))
[ $rc -eq 125 ] && [ $took -lt 100 ] &&
	grep -q '^sandbox: the emulated machine stopped responding (no console output for 15s' "$tmp/err3" &&
	ok "--stall 15 stops a silent machine with 125 after $took s, saying so" ||
	bad "--stall: status $rc after $took s: $(head -3 "$tmp/err3")"
[ $fails -eq 0 ] || exit 1
