/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the VMBus ring reader (and writer) on a ring whose
 * header and data the guest controls entirely. The input is copied into a
 * ring of 1..4 data pages (header first); a reader drains it in batches
 * with and without a bounce buffer, then a writer tries to append. Besides
 * ASan/UBSan, the target checks that every packet handed out lies within
 * the ring or the bounce buffer and that its lengths are consistent.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmbus/ring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_DATA_PAGES 4

static void check(int cond)
{
	if (!cond)
		__builtin_trap();
}

static void drain(struct vmbus_ring *r, const uint8_t *mem, size_t ring_size, bool use_bounce)
{
	static uint8_t bounce[VMBUS_PKT_MAX_LEN];
	struct vmbus_pkt pkt;
	bool sig;

	for (int i = 0; i < 256; i++) {
		int ret = vmbus_ring_peek(r, &pkt, use_bounce ? bounce : NULL,
					  use_bounce ? sizeof(bounce) : 0);

		if (ret)
			break;
		check(pkt.len >= VMBUS_PKT_DESC_SIZE && pkt.data_len <= pkt.len);
		check(pkt.data == pkt.desc + (pkt.len - pkt.data_len));
		if (pkt.desc == bounce)
			check(pkt.len <= sizeof(bounce));
		else
			check(pkt.desc >= mem + VMBUS_RING_HDR_SIZE &&
			      pkt.desc + pkt.len <= mem + ring_size);
		volatile uint8_t sink = pkt.data_len ? pkt.data[pkt.data_len - 1] : 0;
		(void)sink;
		vmbus_ring_consume(r, &pkt);
		if (i % 3 == 2)
			vmbus_ring_read_commit(r, &sig);
	}
	vmbus_ring_read_commit(r, &sig);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t pages = size ? 1 + data[0] % MAX_DATA_PAGES : 1;
	size_t ring_size = (pages + 1) * VMBUS_RING_PAGE_SIZE;
	uint8_t *mem = aligned_alloc(4096, ring_size);
	struct vmbus_ring *r, *w;
	uint8_t out[512];
	struct vmbus_pkt pkt;
	bool sig;

	memset(mem, 0, ring_size);
	if (size > 1) {
		size_t n = size - 1 < ring_size ? size - 1 : ring_size;
		size_t room = ring_size - VMBUS_RING_HDR_SIZE;

		/* the first 80 bytes go to the header, the rest to the data area */
		memcpy(mem, data + 1, n < 80 ? n : 80);
		if (n > 80)
			memcpy(mem + VMBUS_RING_HDR_SIZE, data + 81, n - 80 < room ? n - 80 : room);
	}
	r = vmbus_ring_attach(mem, ring_size, 0);
	if (r) {
		drain(r, mem, ring_size, size && (data[0] & 0x80));
		vmbus_ring_unmask(r);
		vmbus_ring_read(r, &pkt, out, sizeof(out), &sig);
		vmbus_ring_free(r);
	}
	w = vmbus_ring_attach(mem, ring_size, 0);
	if (w) {
		for (int i = 0; i < 8; i++)
			if (vmbus_ring_write_inband(w, 6, 0, (uint64_t)i, out, 100 + 50 * i, &sig))
				break;
		vmbus_ring_want_space(w, 300);
		vmbus_ring_bytes_to_write(w);
		vmbus_ring_free(w);
	}
	free(mem);
	return 0;
}
