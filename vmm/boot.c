/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Linux x86 64-bit boot protocol: bzImage header parsing, the e820 map, the
 * zero page and the identity page tables the kernel expects at its 64-bit
 * entry point. No KVM here; vmm_vm calls these and loads the results.
 */
#include <errno.h>
#include <string.h>

#include "boot.h"

/* Offsets into the bzImage / zero page (boot.rst, "THE REAL-MODE KERNEL HEADER"). */
#define HDR_SETUP_SECTS 0x1f1
#define HDR_VID_MODE 0x1fa
#define HDR_BOOT_FLAG 0x1fe
#define HDR_JUMP_LEN 0x201
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS 0x211
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE 0x21c
#define HDR_HEAP_END_PTR 0x224
#define HDR_CMD_LINE_PTR 0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE 0x234
#define HDR_XLOADFLAGS 0x236
#define HDR_CMDLINE_SIZE 0x238
#define HDR_PREF_ADDRESS 0x258
#define HDR_INIT_SIZE 0x260
#define BP_ACPI_RSDP_ADDR 0x070
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES 0x1e8
#define BP_E820_TABLE 0x2d0
#define E820_ENTRY_SIZE 20

#define LOADED_HIGH 0x01
#define CAN_USE_HEAP 0x80
#define XLF_KERNEL_64 0x01
#define XLF_CAN_BE_LOADED_ABOVE_4G 0x02

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p) { return get16(p) | (uint32_t)get16(p + 2) << 16; }
static uint64_t get64(const uint8_t *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

/* Length of the setup header as copied into the zero page. */
static size_t setup_header_end(const uint8_t *img)
{
	return 0x202 + img[HDR_JUMP_LEN];
}

int vmm_bzimage_parse(const uint8_t *img, size_t len, struct vmm_bzimage *bz)
{
	uint32_t sects;

	if (len < 0x270 || get16(img + HDR_BOOT_FLAG) != 0xaa55 ||
	    memcmp(img + HDR_MAGIC, "HdrS", 4) != 0)
		return -ENOEXEC;
	if (setup_header_end(img) > 0x290 || setup_header_end(img) < 0x268 ||
	    setup_header_end(img) > len)
		return -ENOEXEC;
	memset(bz, 0, sizeof(*bz));
	bz->protocol = get16(img + HDR_VERSION);
	if (bz->protocol < 0x020c)
		return -ENOTSUP;
	sects = img[HDR_SETUP_SECTS] ? img[HDR_SETUP_SECTS] : 4;
	bz->setup_size = (sects + 1) * 512;
	if (bz->setup_size >= len)
		return -ENOEXEC;
	bz->kernel_size = (uint32_t)(len - bz->setup_size);
	bz->xloadflags = get16(img + HDR_XLOADFLAGS);
	if (!(bz->xloadflags & XLF_KERNEL_64) || !img[HDR_RELOCATABLE] ||
	    !(img[HDR_LOADFLAGS] & LOADED_HIGH))
		return -ENOTSUP;
	bz->pref_address = get64(img + HDR_PREF_ADDRESS);
	bz->init_size = get32(img + HDR_INIT_SIZE);
	bz->initrd_addr_max = get32(img + HDR_INITRD_ADDR_MAX);
	bz->cmdline_size = get32(img + HDR_CMDLINE_SIZE);
	bz->kernel_alignment = get32(img + HDR_KERNEL_ALIGNMENT);
	if (bz->init_size < bz->kernel_size || bz->pref_address < VMM_HIGH_MEM_ADDR ||
	    bz->kernel_alignment == 0 || (bz->kernel_alignment & (bz->kernel_alignment - 1)))
		return -ENOEXEC;
	return 0;
}

static int e820_add(struct vmm_e820_entry *out, int n, int max, uint64_t addr, uint64_t size,
		    uint32_t type)
{
	if (n >= max)
		return -ENOSPC;
	out[n].addr = addr;
	out[n].size = size;
	out[n].type = type;
	return n + 1;
}

int vmm_e820_build(uint64_t mem_size, struct vmm_e820_entry *out, int max)
{
	uint64_t low_end = mem_size < VMM_MMIO_HOLE_ADDR ? mem_size : VMM_MMIO_HOLE_ADDR;
	int n = 0;

	if (mem_size < 2 * VMM_HIGH_MEM_ADDR || (mem_size & 0xfff))
		return -EINVAL;
	n = e820_add(out, n, max, 0, VMM_EBDA_ADDR, VMM_E820_RAM);
	if (n >= 0)
		n = e820_add(out, n, max, VMM_EBDA_ADDR, VMM_HIGH_MEM_ADDR - VMM_EBDA_ADDR,
			     VMM_E820_RESERVED);
	if (n >= 0)
		n = e820_add(out, n, max, VMM_HIGH_MEM_ADDR, low_end - VMM_HIGH_MEM_ADDR,
			     VMM_E820_RAM);
	if (n >= 0 && mem_size > VMM_MMIO_HOLE_ADDR)
		n = e820_add(out, n, max, VMM_MMIO_HOLE_END, mem_size - VMM_MMIO_HOLE_ADDR,
			     VMM_E820_RAM);
	return n;
}

uint64_t vmm_initrd_place(const struct vmm_bzimage *bz, uint64_t mem_size, uint64_t kernel_end,
			  uint64_t initrd_size)
{
	uint64_t top = mem_size < VMM_MMIO_HOLE_ADDR ? mem_size : VMM_MMIO_HOLE_ADDR;
	uint64_t addr;

	if ((uint64_t)bz->initrd_addr_max + 1 < top)
		top = (uint64_t)bz->initrd_addr_max + 1;
	if (initrd_size == 0 || initrd_size > top)
		return 0;
	addr = (top - initrd_size) & ~0xfffull;
	return addr >= kernel_end ? addr : 0;
}

/* The setup header a bzImage would carry, for an ELF vmlinux. */
static void synth_header(uint8_t zp[4096])
{
	put16(zp + HDR_BOOT_FLAG, 0xaa55);
	memcpy(zp + HDR_MAGIC, "HdrS", 4);
	put16(zp + HDR_VERSION, 0x020f);
	zp[HDR_LOADFLAGS] = LOADED_HIGH;
	put32(zp + HDR_INITRD_ADDR_MAX, VMM_ELF_INITRD_ADDR_MAX);
	put32(zp + HDR_KERNEL_ALIGNMENT, 0x200000);
	zp[HDR_RELOCATABLE] = 0;
	put16(zp + HDR_XLOADFLAGS, XLF_KERNEL_64);
	put32(zp + HDR_CMDLINE_SIZE, VMM_ELF_CMDLINE_SIZE);
}

int vmm_boot_params_build(uint8_t zp[4096], const uint8_t *img, size_t len,
			  const struct vmm_boot_layout *lay, const struct vmm_e820_entry *e820, int n)
{
	struct vmm_bzimage bz = { .cmdline_size = VMM_ELF_CMDLINE_SIZE };
	int rc, i;

	if (img) {
		rc = vmm_bzimage_parse(img, len, &bz);
		if (rc < 0)
			return rc;
	}
	if (n < 0 || n > VMM_E820_MAX || lay->cmdline_len > bz.cmdline_size)
		return -EINVAL;
	memset(zp, 0, 4096);
	if (img)
		memcpy(zp + HDR_SETUP_SECTS, img + HDR_SETUP_SECTS,
		       setup_header_end(img) - HDR_SETUP_SECTS);
	else
		synth_header(zp);
	put16(zp + HDR_VID_MODE, 0xffff); /* "normal" */
	zp[HDR_TYPE_OF_LOADER] = 0xff;    /* undefined loader */
	zp[HDR_LOADFLAGS] |= CAN_USE_HEAP;
	put16(zp + HDR_HEAP_END_PTR, 0xfe00);
	put32(zp + HDR_CMD_LINE_PTR, (uint32_t)lay->cmdline_addr);
	put32(zp + BP_EXT_CMD_LINE_PTR, (uint32_t)(lay->cmdline_addr >> 32));
	put32(zp + HDR_RAMDISK_IMAGE, (uint32_t)lay->initrd_addr);
	put32(zp + HDR_RAMDISK_SIZE, (uint32_t)lay->initrd_size);
	put32(zp + BP_EXT_RAMDISK_IMAGE, (uint32_t)(lay->initrd_addr >> 32));
	put32(zp + BP_EXT_RAMDISK_SIZE, (uint32_t)(lay->initrd_size >> 32));
	put64(zp + BP_ACPI_RSDP_ADDR, lay->rsdp_addr);
	zp[BP_E820_ENTRIES] = (uint8_t)n;
	for (i = 0; i < n; i++) {
		uint8_t *e = zp + BP_E820_TABLE + i * E820_ENTRY_SIZE;

		put64(e, e820[i].addr);
		put64(e + 8, e820[i].size);
		put32(e + 16, e820[i].type);
	}
	return 0;
}

void vmm_boot_write_tables(uint8_t *mem)
{
	/* null, 64-bit code (0x08), data (0x10), 32-bit code (0x18) */
	static const uint64_t gdt[] = {
		0, 0x00af9b000000ffffull, 0x00cf93000000ffffull, 0x00cf9b000000ffffull,
	};
	uint64_t i;

	memcpy(mem + VMM_GDT_ADDR, gdt, sizeof(gdt));
	memset(mem + VMM_IDT_ADDR, 0, 8);
	memset(mem + VMM_PML4_ADDR, 0, 6 * 4096);
	put64(mem + VMM_PML4_ADDR, VMM_PDPT_ADDR | 0x3);
	for (i = 0; i < 4; i++)
		put64(mem + VMM_PDPT_ADDR + i * 8, (VMM_PD_ADDR + i * 4096) | 0x3);
	for (i = 0; i < 4 * 512; i++) /* present, writable, 2 MiB page */
		put64(mem + VMM_PD_ADDR + i * 8, (i << 21) | 0x83);
}

/* ELF64 (System V ABI): header and program header fields used here. */
#define EI_CLASS 4
#define EI_DATA 5
#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define ET_EXEC 2
#define EM_X86_64 62
#define PT_LOAD 1
#define EHDR_SIZE 64
#define PHDR_SIZE 56

int vmm_is_elf(const uint8_t *img, size_t len)
{
	return len >= 4 && memcmp(img, "\x7f" "ELF", 4) == 0;
}

/* Adds one PT_LOAD program header (at ph) to k after checking it. */
static int elf_segment(const uint8_t *ph, size_t len, struct vmm_elf_kernel *k)
{
	struct vmm_elf_segment s = {
		.offset = get64(ph + 8), .paddr = get64(ph + 24),
		.filesz = get64(ph + 32), .memsz = get64(ph + 40),
	};

	if (s.memsz == 0)
		return 0;
	if (k->nsegs == VMM_ELF_MAX_SEGMENTS || s.filesz > s.memsz || s.offset > len ||
	    s.filesz > len - s.offset || s.paddr < VMM_HIGH_MEM_ADDR ||
	    s.memsz > VMM_MMIO_HOLE_ADDR || s.paddr > VMM_MMIO_HOLE_ADDR - s.memsz)
		return -ENOEXEC;
	if (!k->nsegs || s.paddr < k->start)
		k->start = s.paddr;
	if (s.paddr + s.memsz > k->end)
		k->end = s.paddr + s.memsz;
	k->segs[k->nsegs++] = s;
	return 0;
}

int vmm_elf_parse(const uint8_t *img, size_t len, struct vmm_elf_kernel *k)
{
	uint64_t phoff;
	unsigned i, phnum;

	memset(k, 0, sizeof(*k));
	if (len < EHDR_SIZE || !vmm_is_elf(img, len) || img[EI_CLASS] != ELFCLASS64 ||
	    img[EI_DATA] != ELFDATA2LSB || get16(img + 16) != ET_EXEC ||
	    get16(img + 18) != EM_X86_64 || get16(img + 54) != PHDR_SIZE)
		return -ENOEXEC;
	phoff = get64(img + 32);
	phnum = get16(img + 56);
	if (phnum == 0 || phoff > len || (uint64_t)phnum * PHDR_SIZE > len - phoff)
		return -ENOEXEC;
	for (i = 0; i < phnum; i++) {
		const uint8_t *ph = img + phoff + (uint64_t)i * PHDR_SIZE;

		if (get32(ph) == PT_LOAD && elf_segment(ph, len, k) < 0)
			return -ENOEXEC;
	}
	k->entry = get64(img + 24);
	for (i = 0; i < k->nsegs; i++)
		if (k->entry >= k->segs[i].paddr && k->entry - k->segs[i].paddr < k->segs[i].filesz)
			return 0;
	return -ENOEXEC; /* no segments, or the entry point is not loaded */
}
