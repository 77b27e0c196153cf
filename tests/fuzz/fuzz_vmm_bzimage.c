/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the bzImage header parser and the zero-page builder of
 * vmm/boot.c, fed arbitrary "kernel files" (user-controlled input of vmm).
 * Whatever parses must also build a zero page without reading out of bounds.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "boot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t zp[4096];
	struct vmm_e820_entry e820[8];
	struct vmm_boot_layout lay = { .cmdline_addr = VMM_CMDLINE_ADDR, .cmdline_len = 16 };
	struct vmm_bzimage bz;
	int n;

	if (vmm_bzimage_parse(data, size, &bz) < 0)
		return 0;
	n = vmm_e820_build(256ull << 20, e820, 8);
	vmm_initrd_place(&bz, 256ull << 20, bz.pref_address + bz.init_size, 1 << 20);
	vmm_boot_params_build(zp, data, size, &lay, e820, n);
	return 0;
}
