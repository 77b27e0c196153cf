/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vswitchd's control-protocol commands ("switch.add", "port.vlan", ...),
 * dispatched from ctl_server. Control thread only.
 */
#ifndef VSW_CTL_H
#define VSW_CTL_H

#include <jansson.h>

#include "ctl_err.h"
#include "ctl_server.h"

/* A ctl_handler_fn: ctx is the struct vsw. */
json_t *vsw_ctl_handle(void *ctx, const char *cmd, json_t *args, struct ctl_conn *conn,
		      struct ctl_err *err);

#endif
