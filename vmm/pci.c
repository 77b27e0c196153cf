/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Configuration mechanism #1: the address register is only decoded for
 * 32-bit accesses at 0xcf8 (byte accesses in 0xcf8..0xcfb belong to other
 * chipset registers, such as the reset control register at 0xcf9); data
 * accesses at 0xcfc + n read bytes n.. of the addressed dword.
 */
#include "pci.h"

#define ADDR_ENABLE 0x80000000u

/* Config dword at reg (4-byte aligned) of the host bridge 00:00.0. */
static uint32_t host_bridge(unsigned reg)
{
	switch (reg) {
	case 0x00: return (uint32_t)VMM_PCI_HOST_DEVICE << 16 | VMM_PCI_HOST_VENDOR;
	case 0x04: return 0;                   /* command, status */
	case 0x08: return 0x06000000u | 0x01;  /* class: bridge/host, revision 1 */
	case 0x0c: return 0;                   /* header type 0, single function */
	case 0x2c: return (uint32_t)VMM_PCI_HOST_DEVICE << 16 | VMM_PCI_HOST_VENDOR;
	default: return 0;
	}
}

static uint32_t config_read(uint32_t addr)
{
	unsigned bus = (addr >> 16) & 0xff, devfn = (addr >> 8) & 0xff;

	if (!(addr & ADDR_ENABLE) || bus != 0 || devfn != 0)
		return 0xffffffffu;
	if (addr & 0x0f000000u) /* AMD extended register bits: no extended capabilities */
		return 0;
	return host_bridge(addr & 0xfc);
}

bool vmm_pci_pio(struct vmm_pci *pci, uint16_t port, unsigned size, bool is_write, uint32_t *v)
{
	unsigned shift;

	if (port == VMM_PCI_ADDR_PORT && size == 4) {
		if (is_write)
			pci->addr = *v & 0x8ffffffcu;
		else
			*v = pci->addr;
		return true;
	}
	if (port < VMM_PCI_DATA_PORT || port > VMM_PCI_DATA_PORT + 3 ||
	    port - VMM_PCI_DATA_PORT + size > 4)
		return false;
	if (!is_write) {
		shift = 8 * (port - VMM_PCI_DATA_PORT);
		*v = config_read(pci->addr) >> shift;
		if (size < 4)
			*v &= (1u << (8 * size)) - 1;
	}
	return true;
}
