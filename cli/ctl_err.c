/* SPDX-License-Identifier: BSD-3-Clause */
/* Error reports for the control path: see ctl_err.h. */
#include <stdarg.h>
#include <stdio.h>

#include "ctl_err.h"

int ctl_err_set(struct ctl_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return -code;
}
