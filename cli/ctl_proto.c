/* SPDX-License-Identifier: BSD-3-Clause */
/* Client side of the control protocol: see ctl_proto.h. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl_proto.h"

const char *ctl_socket_path(const char *path)
{
	const char *env = getenv("HVNET_SOCKET");

	if (path && *path)
		return path;
	return env && *env ? env : CTL_DEFAULT_SOCKET;
}

int ctl_connect(const char *path, struct ctl_err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return ctl_err_set(err, ENAMETOOLONG, "socket: path '%s' is too long", path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ctl_err_set(err, errno, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(fd);
		return ctl_err_set(err, e, "cannot reach vswitchd at %s: %s%s", path, strerror(e),
				   e == ENOENT || e == ECONNREFUSED ? " (is vswitchd running?)" : "");
	}
	return fd;
}

char *ctl_encode_line(const json_t *obj, size_t *len)
{
	char *s = json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII);
	char *line;

	if (!s)
		return NULL;
	*len = strlen(s);
	line = realloc(s, *len + 2);
	if (!line) {
		free(s);
		return NULL;
	}
	line[(*len)++] = '\n';
	line[*len] = '\0';
	return line;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads one '\n'-terminated line into a malloc'ed buffer, or NULL on error/timeout. */
static char *read_line(int fd, int timeout_ms, struct ctl_err *err)
{
	long long deadline = now_ms() + timeout_ms;
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);

	while (buf) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		long long left = deadline - now_ms();
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) == 0) {
			ctl_err_set(err, ETIMEDOUT, "vswitchd did not answer within %d ms",
				    timeout_ms);
			break;
		}
		if (len + 1 >= cap) {
			char *nb = cap < CTL_MAX_REPLY ? realloc(buf, cap * 2) : NULL;

			if (!nb) {
				ctl_err_set(err, ENOMEM, "reply from vswitchd too large");
				break;
			}
			buf = nb;
			cap *= 2;
		}
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ctl_err_set(err, EPIPE, "vswitchd closed the connection");
			break;
		}
		len += (size_t)n;
		buf[len] = '\0';
		if (memchr(buf + len - n, '\n', (size_t)n))
			return buf;
	}
	free(buf);
	return NULL;
}

json_t *ctl_call(int fd, const char *cmd, json_t *args, int timeout_ms, struct ctl_err *err)
{
	json_t *req = json_pack("{s:s,s:o}", "cmd", cmd, "args", args ? args : json_object());
	json_error_t jerr;
	json_t *reply = NULL;
	char *line, *in;
	size_t len;

	if (!req) {
		ctl_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	line = ctl_encode_line(req, &len);
	json_decref(req);
	if (!line || write_all(fd, line, len) < 0) {
		ctl_err_set(err, EPIPE, "cannot send the request to vswitchd");
		free(line);
		return NULL;
	}
	free(line);
	in = read_line(fd, timeout_ms, err);
	if (!in)
		return NULL;
	reply = json_loads(in, JSON_DISABLE_EOF_CHECK, &jerr);
	if (!reply || !json_is_object(reply)) {
		ctl_err_set(err, EPROTO, "vswitchd sent a malformed reply: %s", jerr.text);
		json_decref(reply);
		reply = NULL;
	}
	free(in);
	return reply;
}

int ctl_print_error(bool json_out, const char *msg)
{
	if (json_out) {
		json_t *o = json_pack("{s:s}", "error", msg);

		json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(o);
	}
	fprintf(stderr, "vswitchctl: error: %s\n", msg);
	return 1;
}
