/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A filter extension: drops telnet (TCP to or from port 23), IPv4 or IPv6,
 * tagged or not, and counts what it dropped under key 23.
 */
#include "hvnet_ext.h"

HVNET_EXT(filter) uint64_t drop_telnet(struct hvnet_ext_ctx *ctx)
{
	if (ctx->proto == 6 && (ctx->sport == 23 || ctx->dport == 23)) {
		hvnet_count(23, 1);
		return HVNET_EXT_DROP;
	}
	return HVNET_EXT_PASS;
}
