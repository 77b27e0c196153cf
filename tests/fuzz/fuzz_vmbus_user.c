/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the vmbus-user message parser (vmbus/vmbus_user.h),
 * which vswitchd runs on everything a VM's process sends and vmm on what
 * vswitchd sends. The first input byte is the number of descriptors the
 * packet claims to carry; the rest is the packet. For accepted messages the
 * target walks every variable-length array the parser vouched for, so ASan
 * sees any read the counts would allow past the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmbus/vmbus_user.h"
#include "seeds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static volatile uint64_t sink;

static void touch(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sink += p[i];
}

/* Reads what a consumer reads for each type, sized by the parsed counts. */
static void walk(const struct vmbus_user_msg *m, const uint8_t *end)
{
	const uint8_t *b = m->body;
	uint32_t n = 0;
	size_t fixed = 0, each = 0;

	switch (m->hdr.type) {
	case VMBUS_USER_HELLO:
		memcpy(&n, b + offsetof(struct vmbus_user_hello, nr_nics), 4);
		fixed = sizeof(struct vmbus_user_hello);
		each = sizeof(struct vmbus_user_nic);
		for (uint32_t i = 0; i < n; i++)
			sink += strlen((const char *)b + fixed + i * each);
		break;
	case VMBUS_USER_HELLO_REPLY:
		memcpy(&n, b + offsetof(struct vmbus_user_hello_reply, nr_nics), 4);
		fixed = sizeof(struct vmbus_user_hello_reply);
		each = sizeof(struct vmbus_user_nic_reply);
		sink += strlen((const char *)b + offsetof(struct vmbus_user_hello_reply, message));
		break;
	case VMBUS_USER_GPADL:
		memcpy(&n, b + offsetof(struct vmbus_user_gpadl, npfns), 4);
		fixed = sizeof(struct vmbus_user_gpadl);
		each = 8;
		break;
	case VMBUS_USER_CHANNEL_OPEN:
		memcpy(&n, b + offsetof(struct vmbus_user_channel_open, npfns), 4);
		fixed = sizeof(struct vmbus_user_channel_open);
		each = 8;
		break;
	case VMBUS_USER_NIC_STATE:
		memcpy(&n, b, 4);
		fixed = sizeof(struct vmbus_user_nic_state);
		each = 1;
		break;
	case VMBUS_USER_CHANNEL_CLOSE:
	case VMBUS_USER_CHANNEL_CLOSED:
	case VMBUS_USER_CHANNEL_FAILED:
		sink += strlen((const char *)b +
			       offsetof(struct vmbus_user_channel_event, message));
		break;
	default:
		break;
	}
	if (b + m->body_len > end || (each && m->body_len != fixed + (size_t)n * each))
		__builtin_trap();
	touch(b, m->body_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmbus_user_msg m;
	uint8_t *copy;

	if (size < 1)
		return 0;
	/* an exact-size heap copy so ASan catches any over-read */
	copy = malloc(size - 1 ? size - 1 : 1);
	if (!copy)
		return 0;
	memcpy(copy, data + 1, size - 1);
	if (vmbus_user_parse(copy, size - 1, data[0] % 8, &m) == 0) {
		if (m.body_len + sizeof(m.hdr) != size - 1 || m.hdr.len != size - 1)
			__builtin_trap();
		walk(&m, copy + size - 1);
	}
	free(copy);
	return 0;
}

static uint8_t seed_buf[6][600];

/* Writes nfds, a header and body = fixed part + tail into out. */
static struct fuzz_seed seed(uint8_t *out, uint8_t nfds, uint32_t type, const void *fixed,
			     size_t flen, const void *tail, size_t tlen)
{
	struct vmbus_user_hdr h = {.type = type, .len = (uint32_t)(sizeof(h) + flen + tlen)};

	out[0] = nfds;
	memcpy(out + 1, &h, sizeof(h));
	memcpy(out + 1 + sizeof(h), fixed, flen);
	if (tlen)
		memcpy(out + 1 + sizeof(h) + flen, tail, tlen);
	return (struct fuzz_seed){out, 1 + h.len};
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct vmbus_user_hello hello = {
		.version = VMBUS_USER_VERSION, .nr_nics = 1, .vm_name = "vm"};
	struct vmbus_user_nic nic = {.switch_name = "sw", .mtu = 1500};
	struct vmbus_user_channel_open open = {
		.relid = 4, .ring_gpadl = 9, .out_offset = 2, .npfns = 4};
	struct vmbus_user_gpadl gpadl = {.gpadl = 5, .npfns = 2};
	struct vmbus_user_mem mem = {.size = 0x10000};
	struct vmbus_user_channel_event ev = {.relid = 4, .message = "x"};
	struct vmbus_user_nic_state ns = {.len = 4};
	uint64_t pfns[4] = {1, 2, 3, 4};
	struct fuzz_seed seeds[6];

	(void)argc;
	(void)argv;
	seeds[0] = seed(seed_buf[0], 0, VMBUS_USER_HELLO, &hello, sizeof(hello), &nic, sizeof(nic));
	seeds[1] = seed(seed_buf[1], 2, VMBUS_USER_CHANNEL_OPEN, &open, sizeof(open), pfns,
			sizeof(pfns));
	seeds[2] = seed(seed_buf[2], 0, VMBUS_USER_GPADL, &gpadl, sizeof(gpadl), pfns, 16);
	seeds[3] = seed(seed_buf[3], 1, VMBUS_USER_MEM, &mem, sizeof(mem), NULL, 0);
	seeds[4] = seed(seed_buf[4], 0, VMBUS_USER_CHANNEL_FAILED, &ev, sizeof(ev), NULL, 0);
	seeds[5] = seed(seed_buf[5], 0, VMBUS_USER_NIC_STATE, &ns, sizeof(ns), "abcd", 4);
	fuzz_write_seeds(seeds, 6);
	return 0;
}
