/* SPDX-License-Identifier: BSD-3-Clause */
/* vswitchctl vm console: see ctl_console.h; the stream is described in vswitch/vsw_vm.h. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctl_console.h"
#include "ctl_proto.h"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* Reads the daemon's first line (the header or an error) byte by byte, so no stream is lost. */
static json_t *read_header(int fd)
{
	char line[4096];
	size_t len = 0;

	while (len + 1 < sizeof(line)) {
		ssize_t n = recv(fd, line + len, 1, 0);

		if (n < 0 && errno == EINTR && !interrupted)
			continue;
		if (n <= 0)
			return NULL;
		if (line[len] == '\n')
			break;
		len++;
	}
	line[len] = '\0';
	return json_loads(line, 0, NULL);
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Copies the socket to stdout until the daemon ends the stream or Ctrl-C. */
static int copy_stream(int fd)
{
	char buf[65536];

	while (!interrupted) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&pfd, 1, 200) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		if (write_all(STDOUT_FILENO, buf, (size_t)n))
			return 0; /* stdout closed (| head): done */
	}
	return 0;
}

int ctl_console_main(const char *socket_path, json_t *args, bool json_out)
{
	json_t *req, *hdr;
	struct ctl_err err;
	char *enc;
	size_t len;
	int fd, rc;

	fd = ctl_connect(ctl_socket_path(socket_path), &err);
	if (fd < 0) {
		json_decref(args);
		return ctl_print_error(json_out, err.msg);
	}
	req = json_pack("{s:s,s:o}", "cmd", "vm.console", "args", args);
	enc = req ? ctl_encode_line(req, &len) : NULL;
	json_decref(req);
	if (!enc || send(fd, enc, len, MSG_NOSIGNAL) != (ssize_t)len) {
		free(enc);
		close(fd);
		return ctl_print_error(json_out, "cannot send the request to vswitchd");
	}
	free(enc);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	hdr = read_header(fd);
	if (!hdr || json_object_get(hdr, "error")) {
		rc = ctl_print_error(json_out, hdr ? json_string_value(json_object_get(hdr, "error"))
					 : "vswitchd closed the connection");
		json_decref(hdr);
		close(fd);
		return rc;
	}
	json_decref(hdr);
	rc = copy_stream(fd);
	close(fd);
	return rc;
}
