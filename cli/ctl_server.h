/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The daemon side of the control protocol (see ctl_proto.h): a unix socket
 * (mode 0600, so root-only by default) served from one thread with poll().
 * Clients are non-blocking and bounded: a request over CTL_MAX_REQUEST, or
 * not JSON, or without a "cmd" string gets an {"error": ...} reply and the
 * connection is closed; a slow or silent client never blocks the daemon,
 * and when all client slots are taken the longest-idle client is dropped.
 * Single-threaded: all calls from the control thread.
 */
#ifndef CTL_SERVER_H
#define CTL_SERVER_H

#include <stdbool.h>

#include <jansson.h>

#include "ctl_err.h"

struct ctl_server;

/* The connection a request came on, for handlers that stream (capture). */
struct ctl_conn {
	int fd;
	bool detached; /* set by ctl_conn_detach() */
};

/*
 * Handles one request. args is the request's "args" object (never NULL).
 * Returns the result object (ownership passes to the server) or NULL with
 * err set. conn is the client's connection.
 */
typedef json_t *ctl_handler_fn(void *ctx, const char *cmd, json_t *args, struct ctl_conn *conn,
			       struct ctl_err *err);

/*
 * Takes the connection away from the server: the handler now owns the fd
 * (it will be in blocking mode) and answers on it itself; the server sends
 * no reply and forgets the client. Returns the fd.
 */
int ctl_conn_detach(struct ctl_conn *conn);

/*
 * Creates the listening socket at path (making its directory; replacing a
 * stale socket, refusing when a daemon already answers there). Returns the
 * server or NULL with errno set and err filled.
 */
struct ctl_server *ctl_server_create(const char *path, ctl_handler_fn *handler, void *ctx,
				     struct ctl_err *err);

/*
 * Waits up to timeout_ms for socket activity and serves it: accepts
 * clients, reads requests, runs the handler, writes replies. Returns 0, or
 * -EINTR when a signal interrupted the wait.
 */
int ctl_server_poll(struct ctl_server *srv, int timeout_ms);

/* Closes every client and the socket and removes the socket file. Accepts NULL. */
void ctl_server_free(struct ctl_server *srv);

#endif
