/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Linux x86 boot protocol, 64-bit entry (Documentation/arch/x86/boot.rst):
 * parses a bzImage's setup header, builds the e820 map for a guest memory
 * size and fills the zero page (struct boot_params) the kernel finds in RSI.
 * Pure functions over byte buffers; vmm_vm places the results in guest memory.
 */
#ifndef VMM_BOOT_H
#define VMM_BOOT_H

#include <stddef.h>
#include <stdint.h>

/* Guest physical layout used by the VMM (low memory and the 32-bit hole). */
#define VMM_GDT_ADDR 0x500u
#define VMM_IDT_ADDR 0x520u
#define VMM_ZERO_PAGE_ADDR 0x7000u
#define VMM_BOOT_STACK_ADDR 0x8ff0u
#define VMM_PML4_ADDR 0x9000u
#define VMM_PDPT_ADDR 0xa000u
#define VMM_PD_ADDR 0xb000u /* 4 pages: identity map of the first 4 GiB */
#define VMM_CMDLINE_ADDR 0x20000u
#define VMM_CMDLINE_MAX 2048u
#define VMM_EBDA_ADDR 0x9fc00u
#define VMM_ACPI_ADDR 0xe0000u /* RSDP first, then the tables */
#define VMM_ACPI_SIZE 0x20000u
#define VMM_HIGH_MEM_ADDR 0x100000u
#define VMM_MMIO_HOLE_ADDR 0xc0000000ull /* guest RAM above this moves to 4 GiB */
#define VMM_MMIO_HOLE_END 0x100000000ull

/* e820 entry types */
#define VMM_E820_RAM 1
#define VMM_E820_RESERVED 2
#define VMM_E820_ACPI 3

/* The zero page holds at most this many e820 entries. */
#define VMM_E820_MAX 128

struct vmm_e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

/* What the VMM needs from a bzImage's setup header. */
struct vmm_bzimage {
	uint16_t protocol;       /* boot protocol version, e.g. 0x020f */
	uint32_t setup_size;     /* bytes of real-mode setup, incl. boot sector */
	uint32_t kernel_size;    /* bytes of protected-mode kernel after setup */
	uint64_t pref_address;   /* preferred load address */
	uint32_t init_size;      /* memory the kernel needs from its load address */
	uint32_t initrd_addr_max;/* highest address an initrd byte may occupy */
	uint32_t cmdline_size;   /* longest command line, without the NUL */
	uint32_t kernel_alignment;
	uint16_t xloadflags;
};

/* Longest command line for an ELF vmlinux (it has no setup header to say). */
#define VMM_ELF_CMDLINE_SIZE 2047
/* initrd_addr_max assumed for an ELF vmlinux. */
#define VMM_ELF_INITRD_ADDR_MAX 0x7fffffffu

/*
 * Parses and validates a bzImage held in img[0..len). Requires boot protocol
 * >= 2.12, a relocatable kernel with a 64-bit entry point (XLF_KERNEL_64).
 * Returns 0 and fills *bz; -ENOEXEC when img is not a bzImage (bad magic or
 * sizes), -ENOTSUP when it is one the VMM cannot boot (old protocol, no 64-bit
 * entry). Any thread.
 */
int vmm_bzimage_parse(const uint8_t *img, size_t len, struct vmm_bzimage *bz);

/* An uncompressed ELF vmlinux (what Firecracker boots): entered at its
 * physical entry point in 64-bit mode, no decompression. */
#define VMM_ELF_MAX_SEGMENTS 16

struct vmm_elf_segment {
	uint64_t paddr;   /* guest physical load address */
	uint64_t offset;  /* file offset */
	uint64_t filesz;  /* bytes from the file; the rest up to memsz is zeroed */
	uint64_t memsz;
};

struct vmm_elf_kernel {
	uint64_t entry;   /* physical entry point (startup_64) */
	uint64_t start;   /* lowest and one past the highest loaded address */
	uint64_t end;
	unsigned nsegs;
	struct vmm_elf_segment segs[VMM_ELF_MAX_SEGMENTS];
};

/* True when img starts with the ELF magic. */
int vmm_is_elf(const uint8_t *img, size_t len);

/*
 * Parses and validates an x86-64 ELF executable: PT_LOAD segments inside the
 * file, physical addresses from 1 MiB up, no overlap with 64-bit wrap-around,
 * an entry point inside a loaded segment. Returns 0 and fills *k, -ENOEXEC
 * when img is not a usable ELF kernel. Any thread.
 */
int vmm_elf_parse(const uint8_t *img, size_t len, struct vmm_elf_kernel *k);

/*
 * Builds the e820 map for mem_size bytes of guest RAM: low RAM below the EBDA,
 * the EBDA/BIOS area (reserved, holds the ACPI tables), RAM from 1 MiB to
 * min(mem, 3 GiB) and the rest above 4 GiB. Writes at most max entries to out.
 * Returns the number of entries, -EINVAL when mem_size is below 2 MiB or not
 * 4 KiB aligned, -ENOSPC when max is too small. Any thread.
 */
int vmm_e820_build(uint64_t mem_size, struct vmm_e820_entry *out, int max);

/* Where the pieces of a boot go (guest physical addresses). */
struct vmm_boot_layout {
	uint64_t kernel_addr;
	uint64_t cmdline_addr;
	uint32_t cmdline_len; /* without the NUL */
	uint64_t initrd_addr; /* 0 when there is no initrd */
	uint64_t initrd_size;
	uint64_t rsdp_addr;   /* 0 when there are no ACPI tables */
};

/*
 * Fills the 4 KiB zero page zp: copies the setup header from the bzImage img
 * (or, with img NULL for an ELF vmlinux, writes a minimal protocol 2.15
 * header), sets loader type, command line, initrd, RSDP and the e820 table
 * (n entries). Returns 0, -EINVAL on n out of range or a command line longer
 * than the kernel takes, -ENOEXEC on an invalid image. Any thread.
 */
int vmm_boot_params_build(uint8_t zp[4096], const uint8_t *img, size_t len,
			  const struct vmm_boot_layout *lay, const struct vmm_e820_entry *e820, int n);

/*
 * Chooses where the initrd goes: the highest 4 KiB aligned address such that
 * it ends below min(initrd_addr_max + 1, low RAM end) and above kernel_end.
 * Returns the address or 0 when it does not fit. Any thread.
 */
uint64_t vmm_initrd_place(const struct vmm_bzimage *bz, uint64_t mem_size, uint64_t kernel_end,
			  uint64_t initrd_size);

/*
 * Writes identity-mapping page tables (2 MiB pages, first 4 GiB) for the
 * 64-bit entry into guest memory mem (at least 1 MiB, offset 0 = GPA 0) and a
 * GDT with a 64-bit code and a data segment. Any thread.
 */
void vmm_boot_write_tables(uint8_t *mem);

#endif
