/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Error reports for the control path. A request that fails carries one
 * human-readable line that names the field at fault and the values it
 * allows ("vlan: VID must be 1-4094, got 5000"). Every control-path
 * function that can reject input takes a struct ctl_err and fills it on
 * failure; the daemon sends the text back as {"error": ...} and vswitchctl
 * prints it as "vswitchctl: error: ...".
 */
#ifndef CTL_ERR_H
#define CTL_ERR_H

#include <stddef.h>

#define CTL_ERR_MAX 256

struct ctl_err {
	char msg[CTL_ERR_MAX];
};

/*
 * Formats an error into err (which may be NULL) and returns -code, so that
 * callers can write "return ctl_err_set(err, EINVAL, ...)". code is a
 * positive errno value.
 */
int ctl_err_set(struct ctl_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
