/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Seed corpora for the fuzz targets: with HVNET_FUZZ_SEEDS=dir set, a
 * target's LLVMFuzzerInitialize writes its seeds there and exits
 * (scripts/fuzz does this when a corpus is empty).
 */
#ifndef FUZZ_SEEDS_H
#define FUZZ_SEEDS_H

#include <stdio.h>
#include <stdlib.h>

struct fuzz_seed {
	const void *data;
	size_t len;
};

/* Writes seeds to $HVNET_FUZZ_SEEDS/seedN and exits; returns when the variable is unset. */
static inline void fuzz_write_seeds(const struct fuzz_seed *seeds, size_t n)
{
	const char *dir = getenv("HVNET_FUZZ_SEEDS");

	if (!dir)
		return;
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		FILE *f;

		snprintf(path, sizeof(path), "%s/seed%zu", dir, i);
		f = fopen(path, "wb");
		if (f) {
			fwrite(seeds[i].data, 1, seeds[i].len, f);
			fclose(f);
		}
	}
	exit(0);
}

#endif
