/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the control socket's request handling
 * (cli/ctl_server.c): framing, size limits, JSON validation and dispatch.
 * Each input is what one client sends (several lines, garbage, partial
 * requests); the server must answer each complete line with one JSON
 * object, never crash, and keep serving the next client.
 * HVNET_FUZZ_SEEDS=dir writes a seed corpus and exits.
 */
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl_proto.h"
#include "ctl_server.h"
#include "seeds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct ctl_server *srv;
static char sock_path[108];

/* Echoes the command; fails "fail" to exercise the error path. */
static json_t *handler(void *ctx, const char *cmd, json_t *args, struct ctl_conn *conn,
		       struct ctl_err *err)
{
	(void)ctx;
	(void)conn;
	if (!strcmp(cmd, "fail")) {
		ctl_err_set(err, 22, "cmd: asked to fail");
		return NULL;
	}
	return json_pack("{s:s,s:O}", "cmd", cmd, "args", args);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_err err;
	char buf[65536];
	int fd;

	if (size > 200000)
		return 0;
	fd = ctl_connect(sock_path, &err);
	if (fd < 0)
		abort();
	for (size_t off = 0; off < size;) {
		ssize_t n = send(fd, data + off, size - off, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n > 0)
			off += (size_t)n;
		ctl_server_poll(srv, 0);
		while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
		if (n <= 0 && off < size && send(fd, "", 0, MSG_NOSIGNAL) < 0)
			break; /* the server closed the connection (oversized request) */
	}
	ctl_server_poll(srv, 0);
	close(fd);
	ctl_server_poll(srv, 0);
	/* the server still serves a fresh, valid request */
	fd = ctl_connect(sock_path, &err);
	if (fd < 0)
		abort();
	if (send(fd, "{\"cmd\":\"ping\"}\n", 15, MSG_NOSIGNAL) != 15)
		abort();
	for (int i = 0; i < 100; i++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};

		ctl_server_poll(srv, 0);
		if (poll(&p, 1, 0) == 1)
			break;
	}
	if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0 || strncmp(buf, "{\"cmd\":\"ping\"", 13))
		abort();
	close(fd);
	ctl_server_poll(srv, 0);
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const s[] = {
		"{\"cmd\":\"status\"}\n",
		"{\"cmd\":\"port.add\",\"args\":{\"switch\":\"s\",\"name\":\"p\"}}\n{\"cmd\":\"fail\"}\n",
		"{\"cmd\":\"x\",\"args\":[1,2]}\n[]\n\n{\"cmd\":",
		"not json\n{\"cmd\":\"a\",\"cmd\":\"b\"}\n",
	};
	struct fuzz_seed seeds[4];
	struct ctl_err err;

	(void)argc;
	(void)argv;
	for (size_t i = 0; i < 4; i++)
		seeds[i] = (struct fuzz_seed){s[i], strlen(s[i])};
	fuzz_write_seeds(seeds, 4);
	snprintf(sock_path, sizeof(sock_path), "/tmp/hvnet-fuzz-%d.sock", (int)getpid());
	srv = ctl_server_create(sock_path, handler, NULL, &err);
	if (!srv) {
		fprintf(stderr, "fuzz_ctl_server: %s\n", err.msg);
		abort();
	}
	return 0;
}
