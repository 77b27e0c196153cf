/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A capture extension: counts TCP SYNs (without ACK) per IPv4 source
 * address; the counter keys are the addresses as numbers (10.0.0.1 is
 * 167772161).
 */
#include "hvnet_ext.h"

HVNET_EXT(capture) uint64_t syn_count(struct hvnet_ext_ctx *ctx)
{
	if (ctx->family == 4 && ctx->proto == 6 && (ctx->tcp_flags & 0x12) == 0x02)
		hvnet_count(ctx->src4, 1);
	return 0;
}
