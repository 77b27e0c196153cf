/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A forward extension: sends every frame of VLAN arg[0] to port arg[1]
 * ("vswitchctl ext add SW steer --object steer_vlan.o --hook forward
 * --args 20,monitor"), and leaves the others to the MAC table.
 */
#include "hvnet_ext.h"

HVNET_EXT(forward) uint64_t steer_vlan(struct hvnet_ext_ctx *ctx)
{
	if (ctx->vlan == ctx->arg[0])
		return HVNET_EXT_PORT(ctx->arg[1]);
	return HVNET_EXT_L2;
}
