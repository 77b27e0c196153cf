/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for the benchmark sink's frame parser: whatever the
 * device under test sends back to hvnet-pktgen is parsed by
 * bench_pkt_parse(), which must never read past the frame.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bench_pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bench_pkt_info info;
	uint8_t *copy = malloc(size ? size : 1);

	/* An exact-size heap copy, so ASan sees any read past the end. */
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	if (bench_pkt_parse(copy, size, &info) && info.vlan > 4095)
		abort();
	free(copy);
	return 0;
}
