/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the VMBus message parser and GPA range validator on
 * arbitrary bytes. Checks that accepted GPADL messages describe only bytes
 * inside the input.
 */
#include <stdint.h>
#include <string.h>

#include "vmbus/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmbus_msg m;
	uint32_t n;

	if (vmbus_msg_parse(data, size, &m) == 0) {
		if (m.type == VMBUS_MSG_GPADL_HEADER) {
			if (m.u.gpadl_header.ranges + m.u.gpadl_header.ranges_len > data + size)
				__builtin_trap();
			vmbus_msg_gpa_ranges_check(m.u.gpadl_header.ranges,
						   m.u.gpadl_header.ranges_len,
						   m.u.gpadl_header.rangecount, &n);
		}
		if (m.type == VMBUS_MSG_GPADL_BODY &&
		    m.u.gpadl_body.pfns + (size_t)m.u.gpadl_body.npfns * 8 > data + size)
			__builtin_trap();
	}
	if (size > 4)
		vmbus_msg_gpa_ranges_check(data + 4, (uint32_t)(size - 4), data[0] % 8, &n);
	return 0;
}
