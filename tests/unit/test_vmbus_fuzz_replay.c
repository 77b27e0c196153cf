/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Runs the channel-management fuzz harness (tests/fuzz/
 * fuzz_vmbus_msg_handler.c) on deterministic pseudo-random inputs built
 * from message templates, so ordinary (gcc, non-fuzz) builds exercise the
 * host's reject paths and the harness invariants on every test run. Files
 * given on the command line (crash reproducers) are replayed instead.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmbus/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUTS 10000

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

/* Field values that hit interesting cases more often than uniform ones. */
static uint32_t field(void)
{
	static const uint32_t pick[] = { 0, 1, 2, 3, 4, 5, 8, 16, 0x100, 0x101, 0xe1e10,
					 4096, 8192, 16384, 0x1001, 0xffffffff };

	switch (rnd() % 4) {
	case 0:
		return rnd();
	case 1:
		return rnd() % 600;
	default:
		return pick[rnd() % (sizeof(pick) / sizeof(pick[0]))];
	}
}

static size_t gen_msg(uint8_t *b)
{
	static const uint32_t types[] = { 3, 5, 7, 8, 8, 8, 9, 9, 11, 13, 14, 16, 22, 21, 1, 99 };
	uint32_t t = types[rnd() % (sizeof(types) / sizeof(types[0]))];
	size_t len = vmbus_msg_min_size(t);

	if (!len || rnd() % 8 == 0)
		len = rnd() % 241;
	else if (t == VMBUS_MSG_GPADL_HEADER || t == VMBUS_MSG_GPADL_BODY)
		len += 8 * (rnd() % 26);
	if (len > 240)
		len = 240;
	for (size_t i = 0; i + 4 <= len; i += 4) {
		uint32_t v = field();

		memcpy(b + i, &v, 4);
	}
	if (len >= 4)
		memcpy(b, &t, 4);
	if (t == VMBUS_MSG_GPADL_HEADER && len >= 20) {
		uint16_t rc = (uint16_t)(1 + rnd() % 2);
		uint16_t rb = (uint16_t)(len - 20 + 8 * (rnd() % 4));

		memcpy(b + 16, &rb, 2);
		memcpy(b + 18, &rc, 2);
	}
	return len;
}

static size_t gen_input(uint8_t *in, size_t cap)
{
	size_t n = 0, records = 1 + rnd() % 12;

	in[n++] = (uint8_t)(rnd() % 3);
	for (size_t r = 0; r < records && n + 2 + 240 <= cap; r++) {
		uint8_t sel = rnd() % 5 ? (uint8_t)(rnd() % 4) : (uint8_t)(0xf0 + rnd() % 8);
		size_t len = gen_msg(in + n + 2);

		in[n] = sel;
		in[n + 1] = (uint8_t)len;
		n += 2 + len;
	}
	return n;
}

static int replay_file(const char *path)
{
	static uint8_t buf[1 << 20];
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
	uint8_t in[4096];
	int ret = 0;

	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			ret |= replay_file(argv[i]);
		return ret;
	}
	for (int i = 0; i < INPUTS; i++)
		LLVMFuzzerTestOneInput(in, gen_input(in, sizeof(in)));
	printf("%d generated inputs ran without tripping the harness\n", INPUTS);
	return 0;
}
