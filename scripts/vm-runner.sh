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
#   hvnet_vm_run_retry VMM CMD...  the same, running it once more when the
#                            sandbox machine itself died (emulation); prints
#                            the run's stdout, then its stderr

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
	local out attempt rc
	out=$(mktemp /tmp/hvnet-vmrun.XXXXXX)
	for attempt in 1 2; do
		hvnet_vm_run "$@" >"$out" 2>"$out.err"
		rc=$?
		[ $rc -eq 125 ] && [ $attempt = 1 ] &&
			grep -q 'no exit status from the sandbox' "$out.err" || break
		echo "note: the sandbox machine died under the run (emulation); running it again"
	done
	cat "$out"
	cat "$out.err" >&2
	rm -f "$out" "$out.err"
	return $rc
}
