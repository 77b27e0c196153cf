# SPDX-License-Identifier: BSD-3-Clause
# Runs VMM commands where they can work (sourced, not run; needs lib.sh):
# directly when this host's KVM runs 64-bit guests, otherwise inside the
# QEMU sandbox (scripts/sandbox, docs/nested-kvm.md) with a one-line notice.
# Used by tests/e2e, bench/vmm_boot and scripts/demo.
#
#   hvnet_vm_detect VMM      sets HVNET_VM_MODE to direct or sandbox (probes
#                            once with `VMM --probe`; a preset value forces it)
#   hvnet_vm_mode VMM        the same, and prints the mode
#   hvnet_vm_run VMM CMD...  runs CMD ARGS (usually VMM itself) in that mode;
#                            HVNET_VM_TIMEOUT (default 300 s) bounds the run
#   hvnet_vm_run_retry VMM CMD...  the same, running it once more when it
#                            failed with a sign of a fault of the emulation
#                            (hvnet_emulator_fault); prints the run's stdout,
#                            then its stderr
#   hvnet_emulator_fault FILE...  in sandbox mode, prints the first sign in
#                            FILEs (a run's output) of a known fault of the
#                            emulation, not of hvnet (also a test's own
#                            "HVNET-EMULATION-FAULT: why" line), and returns
#                            0; returns 1 when there is none (or in direct mode)
#   hvnet_vm_fault CTL VM...  for VMs managed by vswitchd (CTL is vswitchctl):
#                            the first one whose vmm exited 3 (reset) with a
#                            sign of such a fault on its console; prints
#                            "guest VM: why (exit ...)" and its console's
#                            last lines, returns 0; 1 when there is none
#   hvnet_console_tail VM     the last lines of a console (stdin) that say
#                            something, each prefixed "console VM: "
#   hvnet_portable_build     builds vswitchd, vswitchctl and vmm without
#                            -march=native (the sandbox's emulated CPU lacks
#                            what it may use) into build-portable/ and
#                            prints that directory; its log on failure

# Decides once per process (exported, so child scripts reuse the answer).
hvnet_vm_detect() {
	local vmm=$1 out
	[ -n "${HVNET_VM_MODE:-}" ] && return 0
	if out=$(timeout 20 "$vmm" --probe --timeout-ms 2000 2>&1); then
		HVNET_VM_MODE=direct
	else
		HVNET_VM_MODE=sandbox
		HVNET_VM_WHY=${out#kvm-probe: no: }
	fi
	export HVNET_VM_MODE HVNET_VM_WHY
}

hvnet_vm_mode() {
	hvnet_vm_detect "$1"
	echo "$HVNET_VM_MODE"
}

hvnet_vm_run() {
	local vmm=$1 t=${HVNET_VM_TIMEOUT:-300}
	shift
	hvnet_vm_detect "$vmm"
	case $HVNET_VM_MODE in
	direct)
		timeout -k 5 "$t" "$@"
		;;
	sandbox)
		if [ -z "${HVNET_VM_NOTICE_SHOWN:-}" ]; then
			printf 'notice: host KVM unusable for 64-bit guests (%s); running in the QEMU sandbox\n' \
				"${HVNET_VM_WHY:-forced by HVNET_VM_MODE}" >&2
			export HVNET_VM_NOTICE_SHOWN=1
		fi
		"$HVNET_TOP/scripts/sandbox" --timeout "$t" "$@"
		;;
	*)
		printf 'error: HVNET_VM_MODE must be direct or sandbox\n' >&2
		return 125
		;;
	esac
}

hvnet_vm_run_retry() {
	local out attempt rc why
	out=$(mktemp /tmp/hvnet-vmrun.XXXXXX)
	for attempt in 1 2; do
		hvnet_vm_run "$@" >"$out" 2>"$out.err"
		rc=$?
		[ $rc -ne 0 ] && [ $attempt = 1 ] && why=$(hvnet_emulator_fault "$out" "$out.err") || break
		echo "note: a fault of the emulation ($why), not of hvnet; running it again"
	done
	cat "$out"
	cat "$out.err" >&2
	rm -f "$out" "$out.err"
	return $rc
}

# The sandbox machine itself reset or hung (scripts/sandbox's messages).
hvnet_sandbox_died() {
	grep -q -E '^sandbox: (no exit status from the sandbox|the emulated machine stopped responding)' "$@"
}

# Faults of the emulated machine seen under every kind of guest (also a
# 1-vCPU guest with no hvnet device) and in the sandbox's own kernel: it
# resets or hangs; a guest vCPU triple-faults (vmm exits 3 with "triple
# fault" and the vCPU's reset state); a guest kernel oopses with its per-CPU
# (GS) base lost, in its entry code. An oops or panic whose report names a
# Hyper-V driver (hv_*, vmbus, netvsc, storvsc) is not counted: that one may
# be hvnet's.
hvnet_emulator_fault() {
	local f
	[ "${HVNET_VM_MODE:-}" = sandbox ] || return 1
	# what a test's own check (hvnet_vm_fault, a guest hung) already named
	if f=$(grep -h -m1 -o 'HVNET-EMULATION-FAULT: .*' "$@" 2>/dev/null) && [ -n "$f" ]; then
		f=$(echo "$f" | head -1)
		echo "${f#HVNET-EMULATION-FAULT: }"
		return 0
	fi
	if hvnet_sandbox_died "$@" 2>/dev/null; then
		echo "the sandbox machine died or hung"
		return 0
	fi
	if f=$(grep -h -m1 -o -E 'vCPU [0-9]+: triple fault' "$@" 2>/dev/null) && [ -n "$f" ]; then
		echo "guest $(echo "$f" | head -1)"
		return 0
	fi
	if grep -q -E 'Kernel panic - not syncing|Oops: |BUG: |general protection fault|double fault' "$@" 2>/dev/null &&
		! grep -E '^\s*(\[[ 0-9.]+\] )?(RIP: |Call Trace|Workqueue|  ?[a-z_]+)' "$@" 2>/dev/null |
			grep -q -E 'hv_|vmbus|netvsc|storvsc'; then
		echo "guest kernel: $(grep -h -m1 -o -E '(Kernel panic - not syncing|Oops: |BUG: |general protection fault|double fault).*' "$@" | head -1 | tr -d '\r')"
		return 0
	fi
	return 1
}

hvnet_console_tail() {
	tr -d '\r' | grep -v '^\s*$' | tail -n 8 | sed "s/^/console $1: /"
}

hvnet_vm_fault() {
	local ctl=$1 v e log why out
	shift
	for v in "$@"; do
		# two lines: the exit of an off VM, its console log (no process
		# substitution here: the sandbox has no /dev/fd)
		out=$("$ctl" --json vm show "$v" 2>/dev/null |
			jq -r '(if .state == "off" then .last_exit // "" else "" end), .console_log // ""') || out=
		e=${out%%$'\n'*}
		case $out in *$'\n'*) log=${out#*$'\n'} ;; *) log= ;; esac
		case $e in "exit 3"*) ;; *) continue ;; esac
		why=$(hvnet_emulator_fault "$log") || continue
		echo "guest $v: $why ($e)"
		hvnet_console_tail "$v" <"$log"
		return 0
	done
	return 1
}

hvnet_portable_build() {
	local p=$HVNET_TOP/build-portable log
	log=$(mktemp /tmp/hvnet-portable-build.XXXXXX)
	if ! { [ -f "$p/build.ninja" ] || meson setup "$p" "$HVNET_TOP" -Dnative=false -Dtests=false; } >"$log" 2>&1 ||
		! ninja -C "$p" vswitch/vswitchd cli/vswitchctl vmm/vmm >>"$log" 2>&1; then
		tail -30 "$log" >&2
		rm -f "$log"
		return 1
	fi
	rm -f "$log"
	echo "$p"
}
