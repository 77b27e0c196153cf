/* SPDX-License-Identifier: BSD-3-Clause */
/* Daemon logging: see log.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"

static const char *const level_names[] = {"error", "warning", "info", "debug"};
static const char *log_prog = "hvnet";
static enum vsw_log_level log_level = VSW_LOG_INFO;

void vsw_log_init(const char *prog, enum vsw_log_level level)
{
	log_prog = prog;
	log_level = level;
}

int vsw_log_parse_level(const char *s, enum vsw_log_level *level)
{
	for (unsigned int i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (s && !strcmp(s, level_names[i])) {
			*level = (enum vsw_log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

void vsw_log(enum vsw_log_level level, const char *fmt, ...)
{
	char msg[1024], stamp[32];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ %s %s: %s\n", stamp, ts.tv_nsec / 1000000, log_prog,
		level_names[level], msg);
}
