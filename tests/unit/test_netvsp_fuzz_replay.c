/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Runs a NetVSP fuzz harness (tests/fuzz/fuzz_nvsp.c or fuzz_rndis.c, linked
 * in by meson) on deterministic pseudo-random inputs, so ordinary builds
 * exercise the reject paths and the harness invariants on every test run.
 * Inputs look like RNDIS messages (type from the real set, length mostly
 * right, fields from values that hit edges); the NVSP harness reads the same
 * bytes as records. Files given on the command line are replayed instead
 * (crash reproducers from build-fuzz/crashes/).
 */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUTS 5000

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

static uint32_t field(void)
{
	static const uint32_t pick[] = {
		0,    1,      2,	  4,	      6,	  8,	      12,
		16,   36,     44,	  64,	      107,	  125,	      4096,
		6144, 0xfff0, 0xffffffff, 0xfc01020d, 0x00010114, 0x01010101, 0x0001010e};

	switch (rnd() % 3) {
	case 0:
		return rnd() % 300;
	default:
		return pick[rnd() % (sizeof(pick) / sizeof(pick[0]))];
	}
}

static size_t gen(uint8_t *b, size_t cap)
{
	static const uint32_t types[] = {1, 1, 1, 2, 3, 4, 4, 5, 5, 6, 8, 0x80000002, 77};
	size_t words = 2 + rnd() % 40, n;
	uint32_t v;

	b[0] = (uint8_t)rnd();
	b[1] = (uint8_t)rnd();
	n = 2 + 4 * words;
	if (n > cap)
		n = cap;
	for (size_t i = 2; i + 4 <= n; i += 4) {
		v = field();
		memcpy(b + i, &v, 4);
	}
	v = types[rnd() % (sizeof(types) / sizeof(types[0]))];
	memcpy(b + 2, &v, 4);
	v = rnd() % 4 ? (uint32_t)(n - 2) : field();
	memcpy(b + 6, &v, 4);
	return n;
}

static int replay(const char *path)
{
	static uint8_t buf[1 << 16];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f) {
		perror(path);
		return 1;
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	return 0;
}

int main(int argc, char **argv)
{
	static uint8_t buf[512];

	/* each input sets up a fresh host + guest pair (a few MiB): keep the freed
	 * memory in the heap for the next one instead of mapping and faulting it in
	 * anew (most of the time went to those system calls) */
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			if (replay(argv[i]))
				return 1;
		printf("replayed %d inputs\n", argc - 1);
		return 0;
	}
	for (int i = 0; i < INPUTS; i++) {
		size_t n = gen(buf, sizeof(buf));

		LLVMFuzzerTestOneInput(buf, n);
	}
	printf("ran %d generated inputs\n", INPUTS);
	return 0;
}
