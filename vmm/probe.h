/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Host capability probe: can this host's KVM run a 64-bit guest? Runs a tiny
 * long-mode guest (a 50 M iteration loop, then hlt) in a child process and
 * gives it a deadline, because a nested hypervisor that cannot run long mode
 * never returns from KVM_RUN (docs/nested-kvm.md).
 */
#ifndef VMM_PROBE_H
#define VMM_PROBE_H

#include <stddef.h>

/*
 * Returns 1 when the guest reached hlt with the expected result within
 * timeout_ms, 0 when it did not (msg says how), -errno when KVM is missing
 * or the probe could not run. msg gets a one-line explanation. Forks; call
 * from a single-threaded process or before starting threads.
 */
int vmm_kvm_probe(unsigned timeout_ms, char *msg, size_t msglen);

#endif
