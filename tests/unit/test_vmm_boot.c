/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the boot protocol helpers (vmm/boot.c): bzImage header
 * validation on a synthetic image, the e820 map for small and large guests,
 * the zero page fields (checked at their boot.rst offsets), initrd placement
 * and the identity page tables / GDT.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "boot.h"

#define IMG_LEN 0x4000
static uint8_t img[IMG_LEN];

static void put(uint8_t *p, uint64_t v, unsigned n)
{
	while (n--) {
		*p++ = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t rd(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

/* A minimal valid bzImage: 4 setup sectors, protocol 2.15, 64-bit entry. */
static int make_img(void **state)
{
	(void)state;
	memset(img, 0, sizeof(img));
	img[0x1f1] = 4;
	put(img + 0x1fe, 0xaa55, 2);
	img[0x200] = 0xeb;
	img[0x201] = 0x66; /* header ends at 0x268 */
	memcpy(img + 0x202, "HdrS", 4);
	put(img + 0x206, 0x020f, 2);
	img[0x211] = 0x01;                  /* LOADED_HIGH */
	put(img + 0x22c, 0x7fffffff, 4);    /* initrd_addr_max */
	put(img + 0x230, 0x200000, 4);      /* kernel_alignment */
	img[0x234] = 1;                     /* relocatable */
	put(img + 0x236, 0x3, 2);           /* XLF_KERNEL_64 | above 4G */
	put(img + 0x238, 2047, 4);          /* cmdline_size */
	put(img + 0x258, 0x1000000, 8);     /* pref_address */
	put(img + 0x260, 0x2000000, 4);     /* init_size */
	img[5 * 512] = 0xcc;                /* first byte of the protected-mode kernel */
	return 0;
}

static void test_parse_ok(void **state)
{
	struct vmm_bzimage bz;

	(void)state;
	assert_int_equal(vmm_bzimage_parse(img, IMG_LEN, &bz), 0);
	assert_int_equal(bz.protocol, 0x020f);
	assert_int_equal(bz.setup_size, 5 * 512);
	assert_int_equal(bz.kernel_size, IMG_LEN - 5 * 512);
	assert_int_equal(bz.pref_address, 0x1000000);
	assert_int_equal(bz.init_size, 0x2000000);
	assert_int_equal(bz.cmdline_size, 2047);
	assert_int_equal(bz.initrd_addr_max, 0x7fffffff);
	assert_int_equal(bz.kernel_alignment, 0x200000);
}

static void test_parse_zero_setup_sects_means_4(void **state)
{
	struct vmm_bzimage bz;

	(void)state;
	img[0x1f1] = 0;
	assert_int_equal(vmm_bzimage_parse(img, IMG_LEN, &bz), 0);
	assert_int_equal(bz.setup_size, 5 * 512);
}

static void test_parse_rejects(void **state)
{
	struct vmm_bzimage bz;

	(void)state;
	assert_int_equal(vmm_bzimage_parse(img, 0x200, &bz), -ENOEXEC);     /* too short */
	assert_int_equal(vmm_bzimage_parse(img, 5 * 512, &bz), -ENOEXEC);   /* no kernel */
	img[0x202] = 'X';
	assert_int_equal(vmm_bzimage_parse(img, IMG_LEN, &bz), -ENOEXEC);   /* magic */
	make_img(NULL);
	img[0x1fe] = 0;
	assert_int_equal(vmm_bzimage_parse(img, IMG_LEN, &bz), -ENOEXEC);   /* boot flag */
	make_img(NULL);
	put(img + 0x206, 0x020b, 2);
	assert_int_equal(vmm_bzimage_parse(img, IMG_LEN, &bz), -ENOTSUP);   /* protocol */
	make_img(NULL);
	put(img + 0x236, 0x2, 2);
	assert_int_equal(vmm_bzimage_parse(img, IMG_LEN, &bz), -ENOTSUP);   /* no 64-bit entry */
	make_img(NULL);
	img[0x234] = 0;
	assert_int_equal(vmm_bzimage_parse(img, IMG_LEN, &bz), -ENOTSUP);   /* not relocatable */
	make_img(NULL);
	put(img + 0x230, 0x3000, 4);
	assert_int_equal(vmm_bzimage_parse(img, IMG_LEN, &bz), -ENOEXEC);   /* alignment */
	make_img(NULL);
	put(img + 0x260, 0x100, 4);
	assert_int_equal(vmm_bzimage_parse(img, IMG_LEN, &bz), -ENOEXEC);   /* init_size */
	make_img(NULL);
	img[0x201] = 0x10;
	assert_int_equal(vmm_bzimage_parse(img, IMG_LEN, &bz), -ENOEXEC);   /* header length */
}

static void test_e820_small(void **state)
{
	struct vmm_e820_entry e[8];

	(void)state;
	assert_int_equal(vmm_e820_build(256ull << 20, e, 8), 3);
	assert_int_equal(e[0].addr, 0);
	assert_int_equal(e[0].size, 0x9fc00);
	assert_int_equal(e[0].type, VMM_E820_RAM);
	assert_int_equal(e[1].addr, 0x9fc00);
	assert_int_equal(e[1].size, 0x100000 - 0x9fc00);
	assert_int_equal(e[1].type, VMM_E820_RESERVED);
	assert_int_equal(e[2].addr, 0x100000);
	assert_int_equal(e[2].size, (256ull << 20) - 0x100000);
	assert_int_equal(e[2].type, VMM_E820_RAM);
}

static void test_e820_above_4g(void **state)
{
	struct vmm_e820_entry e[8];

	(void)state;
	assert_int_equal(vmm_e820_build(4ull << 30, e, 8), 4);
	assert_int_equal(e[2].addr + e[2].size, 0xc0000000ull);
	assert_int_equal(e[3].addr, 0x100000000ull);
	assert_int_equal(e[3].size, 1ull << 30); /* the 1 GiB above the hole */
	assert_int_equal(e[3].type, VMM_E820_RAM);
	assert_int_equal(vmm_e820_build(3ull << 30, e, 8), 3); /* exactly up to the hole */
}

static void test_e820_errors(void **state)
{
	struct vmm_e820_entry e[8];

	(void)state;
	assert_int_equal(vmm_e820_build(1 << 20, e, 8), -EINVAL);
	assert_int_equal(vmm_e820_build((256ull << 20) + 1, e, 8), -EINVAL);
	assert_int_equal(vmm_e820_build(256ull << 20, e, 2), -ENOSPC);
	assert_int_equal(vmm_e820_build(4ull << 30, e, 3), -ENOSPC);
}

static void test_boot_params(void **state)
{
	struct vmm_e820_entry e[8];
	struct vmm_boot_layout lay = {
		.kernel_addr = 0x1000000, .cmdline_addr = VMM_CMDLINE_ADDR, .cmdline_len = 13,
		.initrd_addr = 0x7f00000, .initrd_size = 0x12345, .rsdp_addr = VMM_ACPI_ADDR,
	};
	uint8_t *zp = malloc(4096);
	int n = vmm_e820_build(128ull << 20, e, 8), i;

	(void)state;
	assert_non_null(zp);
	memset(zp, 0xee, 4096);
	assert_int_equal(vmm_boot_params_build(zp, img, IMG_LEN, &lay, e, n), 0);
	assert_int_equal(zp[0x1f1], 4);                     /* setup header copied */
	assert_memory_equal(zp + 0x202, "HdrS", 4);
	assert_int_equal(rd(zp + 0x258, 8), 0x1000000);
	assert_int_equal(zp[0x210], 0xff);                  /* type_of_loader */
	assert_int_equal(zp[0x211] & 0x81, 0x81);           /* LOADED_HIGH | CAN_USE_HEAP */
	assert_int_equal(rd(zp + 0x1fa, 2), 0xffff);        /* vid_mode normal */
	assert_int_equal(rd(zp + 0x228, 4), VMM_CMDLINE_ADDR);
	assert_int_equal(rd(zp + 0x0c8, 4), 0);             /* ext_cmd_line_ptr */
	assert_int_equal(rd(zp + 0x218, 4), 0x7f00000);     /* ramdisk_image */
	assert_int_equal(rd(zp + 0x21c, 4), 0x12345);       /* ramdisk_size */
	assert_int_equal(rd(zp + 0x070, 8), VMM_ACPI_ADDR); /* acpi_rsdp_addr */
	assert_int_equal(zp[0x1e8], n);                     /* e820_entries */
	for (i = 0; i < n; i++) {
		const uint8_t *p = zp + 0x2d0 + 20 * i;

		assert_int_equal(rd(p, 8), e[i].addr);
		assert_int_equal(rd(p + 8, 8), e[i].size);
		assert_int_equal(rd(p + 16, 4), e[i].type);
	}
	assert_int_equal(zp[0x2d0 + 20 * n], 0);            /* rest cleared */
	assert_int_equal(zp[0x1ef], 0);                     /* sentinel */
	free(zp);
}

static void test_boot_params_errors(void **state)
{
	struct vmm_e820_entry e[1] = { { 0, 1 << 20, 1 } };
	struct vmm_boot_layout lay = { .cmdline_len = 2048 };
	uint8_t *zp = malloc(4096);

	(void)state;
	assert_int_equal(vmm_boot_params_build(zp, img, IMG_LEN, &lay, e, 1), -EINVAL);
	lay.cmdline_len = 10;
	assert_int_equal(vmm_boot_params_build(zp, img, IMG_LEN, &lay, e, 129), -EINVAL);
	assert_int_equal(vmm_boot_params_build(zp, img, 100, &lay, e, 1), -ENOEXEC);
	free(zp);
}

static void test_initrd_place(void **state)
{
	struct vmm_bzimage bz;

	(void)state;
	assert_int_equal(vmm_bzimage_parse(img, IMG_LEN, &bz), 0);
	/* top of 256 MiB RAM, 4 KiB aligned */
	assert_int_equal(vmm_initrd_place(&bz, 256ull << 20, 0x3000000, 0x1800),
			 (256ull << 20) - 0x2000);
	/* capped by initrd_addr_max and by the MMIO hole */
	bz.initrd_addr_max = 0x37ffffff;
	assert_int_equal(vmm_initrd_place(&bz, 4ull << 30, 0x3000000, 0x100000),
			 0x38000000 - 0x100000);
	bz.initrd_addr_max = 0xffffffff;
	assert_int_equal(vmm_initrd_place(&bz, 8ull << 30, 0x3000000, 0x1000),
			 0xc0000000ull - 0x1000);
	/* does not fit above the kernel */
	assert_int_equal(vmm_initrd_place(&bz, 64ull << 20, 60ull << 20, 8ull << 20), 0);
	assert_int_equal(vmm_initrd_place(&bz, 64ull << 20, 0, 0), 0);
}

static void test_page_tables(void **state)
{
	uint8_t *mem = calloc(1, 1 << 20);

	(void)state;
	assert_non_null(mem);
	vmm_boot_write_tables(mem);
	assert_int_equal(rd(mem + VMM_PML4_ADDR, 8), VMM_PDPT_ADDR | 3);
	assert_int_equal(rd(mem + VMM_PDPT_ADDR + 24, 8), (VMM_PD_ADDR + 3 * 4096) | 3);
	assert_int_equal(rd(mem + VMM_PD_ADDR, 8), 0x83);
	/* the last 2 MiB page below 4 GiB maps itself */
	assert_int_equal(rd(mem + VMM_PD_ADDR + 2047 * 8, 8), (2047ull << 21) | 0x83);
	/* GDT: 64-bit code at 0x08 (L=1, D=0), flat data at 0x10 */
	assert_int_equal(rd(mem + VMM_GDT_ADDR + 8, 8), 0x00af9b000000ffffull);
	assert_int_equal(rd(mem + VMM_GDT_ADDR + 16, 8), 0x00cf93000000ffffull);
	free(mem);
}

/* A synthetic vmlinux: text at 16 MiB (entry), data + bss at 32 MiB. */
#define ELF_LEN 0x3000
static uint8_t elf[ELF_LEN];

static void phdr(unsigned i, uint32_t type, uint64_t off, uint64_t paddr, uint64_t filesz,
		 uint64_t memsz)
{
	uint8_t *ph = elf + 64 + 56 * i;

	put(ph, type, 4);
	put(ph + 8, off, 8);
	put(ph + 16, 0xffffffff80000000ull + paddr, 8); /* vaddr: kernel map */
	put(ph + 24, paddr, 8);
	put(ph + 32, filesz, 8);
	put(ph + 40, memsz, 8);
}

static int make_elf(void **state)
{
	(void)state;
	memset(elf, 0, sizeof(elf));
	memcpy(elf, "\x7f" "ELF", 4);
	elf[4] = 2; /* 64-bit */
	elf[5] = 1; /* little endian */
	elf[6] = 1;
	put(elf + 16, 2, 2);         /* ET_EXEC */
	put(elf + 18, 62, 2);        /* EM_X86_64 */
	put(elf + 24, 0x1000000, 8); /* physical entry */
	put(elf + 32, 64, 8);        /* phoff */
	put(elf + 54, 56, 2);
	put(elf + 56, 3, 2);
	phdr(0, 1, 0x1000, 0x1000000, 0x1000, 0x1000);
	phdr(1, 4, 0x2000, 0x1800000, 0x100, 0x100);     /* PT_NOTE: ignored */
	phdr(2, 1, 0x2000, 0x2000000, 0x800, 0x100000);  /* data + bss */
	return 0;
}

static void test_elf_ok(void **state)
{
	struct vmm_elf_kernel k;

	(void)state;
	assert_true(vmm_is_elf(elf, ELF_LEN));
	assert_false(vmm_is_elf(img, IMG_LEN));
	assert_int_equal(vmm_elf_parse(elf, ELF_LEN, &k), 0);
	assert_int_equal(k.entry, 0x1000000);
	assert_int_equal(k.nsegs, 2);
	assert_int_equal(k.start, 0x1000000);
	assert_int_equal(k.end, 0x2100000);
	assert_int_equal(k.segs[1].paddr, 0x2000000);
	assert_int_equal(k.segs[1].offset, 0x2000);
	assert_int_equal(k.segs[1].filesz, 0x800);
	assert_int_equal(k.segs[1].memsz, 0x100000);
}

static void expect_bad_elf(void)
{
	struct vmm_elf_kernel k;

	assert_int_equal(vmm_elf_parse(elf, ELF_LEN, &k), -ENOEXEC);
	make_elf(NULL);
}

static void test_elf_rejects(void **state)
{
	struct vmm_elf_kernel k;

	(void)state;
	assert_int_equal(vmm_elf_parse(elf, 63, &k), -ENOEXEC);   /* short header */
	elf[4] = 1; expect_bad_elf();                               /* 32-bit */
	elf[5] = 2; expect_bad_elf();                               /* big endian */
	put(elf + 16, 3, 2); expect_bad_elf();                      /* ET_DYN */
	put(elf + 18, 3, 2); expect_bad_elf();                      /* i386 */
	put(elf + 56, 0, 2); expect_bad_elf();                      /* no program headers */
	put(elf + 32, ELF_LEN - 8, 8); expect_bad_elf();            /* phdrs past the end */
	phdr(2, 1, 0x2000, 0x2000000, 0x2000, 0x100000); expect_bad_elf(); /* data past EOF */
	phdr(2, 1, 0x2000, 0x2000000, 0x800, 0x400); expect_bad_elf();     /* filesz > memsz */
	phdr(2, 1, 0x2000, 0x80000, 0x800, 0x800); expect_bad_elf();       /* below 1 MiB */
	phdr(2, 1, 0x2000, 0xbffff000, 0x800, 0x2000); expect_bad_elf();   /* into the hole */
	phdr(2, 1, 0x2000, 0xfffffffffffff000ull, 0x800, 0x2000); expect_bad_elf(); /* wraps */
	put(elf + 24, 0x3000000, 8); expect_bad_elf();              /* entry not loaded */
	put(elf + 24, 0x2000900, 8); expect_bad_elf();              /* entry in bss only */
}

static void test_elf_boot_params(void **state)
{
	struct vmm_e820_entry e[8];
	struct vmm_boot_layout lay = {
		.cmdline_addr = VMM_CMDLINE_ADDR, .cmdline_len = 2047,
		.initrd_addr = 0x7f00000, .initrd_size = 0x1000, .rsdp_addr = VMM_ACPI_ADDR,
	};
	uint8_t *zp = malloc(4096);
	int n = vmm_e820_build(128ull << 20, e, 8);

	(void)state;
	assert_non_null(zp);
	assert_int_equal(vmm_boot_params_build(zp, NULL, 0, &lay, e, n), 0);
	assert_int_equal(rd(zp + 0x1fe, 2), 0xaa55);
	assert_memory_equal(zp + 0x202, "HdrS", 4);
	assert_int_equal(rd(zp + 0x206, 2), 0x020f);
	assert_int_equal(rd(zp + 0x238, 4), VMM_ELF_CMDLINE_SIZE);
	assert_int_equal(rd(zp + 0x22c, 4), VMM_ELF_INITRD_ADDR_MAX);
	assert_int_equal(zp[0x210], 0xff);
	assert_int_equal(rd(zp + 0x228, 4), VMM_CMDLINE_ADDR);
	assert_int_equal(rd(zp + 0x218, 4), 0x7f00000);
	assert_int_equal(zp[0x1e8], n);
	lay.cmdline_len = 2048;
	assert_int_equal(vmm_boot_params_build(zp, NULL, 0, &lay, e, n), -EINVAL);
	free(zp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_parse_ok, make_img),
		cmocka_unit_test_setup(test_parse_zero_setup_sects_means_4, make_img),
		cmocka_unit_test_setup(test_parse_rejects, make_img),
		cmocka_unit_test(test_e820_small),
		cmocka_unit_test(test_e820_above_4g),
		cmocka_unit_test(test_e820_errors),
		cmocka_unit_test_setup(test_boot_params, make_img),
		cmocka_unit_test_setup(test_boot_params_errors, make_img),
		cmocka_unit_test_setup(test_initrd_place, make_img),
		cmocka_unit_test(test_page_tables),
		cmocka_unit_test_setup(test_elf_ok, make_elf),
		cmocka_unit_test_setup(test_elf_rejects, make_elf),
		cmocka_unit_test(test_elf_boot_params),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
