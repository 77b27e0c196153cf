# SPDX-License-Identifier: BSD-3-Clause
# Runs VMM commands where they can work (sourced, not run; needs lib.sh):
# directly when this host's KVM runs 64-bit guests, otherwise inside the
# QEMU sandbox (scripts/sandbox, docs/nested-kvm.md) with a one-line notice.
# Used by tests/e2e, bench/vmm_boot and scripts/demo.
#
#   hvnet_vm_mode VMM        prints "direct" or "sandbox" (probes once with
#                            `VMM --probe`; HVNET_VM_MODE=direct|sandbox forces)
#   hvnet_vm_run VMM CMD...  runs CMD ARGS (usually VMM itself) in that mode;
#                            HVNET_VM_TIMEOUT (default 300 s) bounds the run

# Decides once per process (exported, so child scripts reuse the answer).
hvnet_vm_mode() {
	local vmm=$1 out
	if [ -z "${HVNET_VM_MODE:-}" ]; then
		if out=$(timeout 20 "$vmm" --probe --timeout-ms 2000 2>&1); then
			HVNET_VM_MODE=direct
		else
			HVNET_VM_MODE=sandbox
			HVNET_VM_WHY=${out#kvm-probe: no: }
		fi
		export HVNET_VM_MODE HVNET_VM_WHY
	fi
	echo "$HVNET_VM_MODE"
}

hvnet_vm_run() {
	local vmm=$1 t=${HVNET_VM_TIMEOUT:-300}
	shift
	case $(hvnet_vm_mode "$vmm") in
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
