/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Logging for the daemons: one line per event on stderr, with a UTC
 * timestamp, the program name and the level. Messages below the level set
 * with vsw_log_set_level() are dropped. Any thread.
 */
#ifndef VSW_LOG_H
#define VSW_LOG_H

enum vsw_log_level {
	VSW_LOG_ERR,
	VSW_LOG_WARN,
	VSW_LOG_INFO,
	VSW_LOG_DEBUG,
};

/* Sets the program name shown in each line and the most verbose level printed. */
void vsw_log_init(const char *prog, enum vsw_log_level level);

/* Parses "error|warning|info|debug". Returns 0 or -EINVAL. */
int vsw_log_parse_level(const char *s, enum vsw_log_level *level);

void vsw_log(enum vsw_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
