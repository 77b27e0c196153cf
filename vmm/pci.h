/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * PCI configuration mechanism #1 (ports 0xcf8 address, 0xcfc-0xcff data)
 * with one device: a host bridge at 00:00.0. It gives the guest a working
 * config-space access method (Linux otherwise logs "PCI: Fatal: No config
 * space access function found") without any PCI devices to drive. Every
 * other bus/device/function reads as absent (all ones); writes are ignored.
 * Port accesses come from vCPU threads: the address latch is per VM and
 * updated atomically (a guest racing two vCPUs on it gets what hardware
 * gives: one of the addresses).
 */
#ifndef VMM_PCI_H
#define VMM_PCI_H

#include <stdbool.h>
#include <stdint.h>

#define VMM_PCI_ADDR_PORT 0xcf8
#define VMM_PCI_DATA_PORT 0xcfc
#define VMM_PCI_HOST_VENDOR 0x1b36 /* generic "QEMU PCIe host bridge" ids: no Linux quirks */
#define VMM_PCI_HOST_DEVICE 0x0008

struct vmm_pci {
	_Atomic uint32_t addr;
};

/* Handles a guest access to port (0xcf8..0xcff) of size 1, 2 or 4; *v is
 * the value written or receives the value read. Returns false when the
 * access is not a PCI config access (e.g. a byte at 0xcf9, the reset
 * register), so the caller can route it elsewhere. */
bool vmm_pci_pio(struct vmm_pci *pci, uint16_t port, unsigned size, bool is_write, uint32_t *v);

#endif
