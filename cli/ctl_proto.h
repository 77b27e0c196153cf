/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control protocol between vswitchctl (or any client) and vswitchd:
 * newline-delimited JSON over a unix stream socket. A request is one
 * object {"cmd": "switch.add", "args": {...}}; the reply is one object,
 * the command's result, or {"error": "field: what is wrong"}. Requests are
 * at most CTL_MAX_REQUEST bytes. This module holds the client side and the
 * framing shared with ctl_server.
 */
#ifndef CTL_PROTO_H
#define CTL_PROTO_H

#include <stdbool.h>

#include <jansson.h>

#include "ctl_err.h"

#define CTL_DEFAULT_SOCKET "/run/hvnet/vswitchd.sock"
#define CTL_MAX_REQUEST (64 * 1024)
#define CTL_MAX_REPLY (64 * 1024 * 1024)

/* The socket path to use: path if not NULL, else $HVNET_SOCKET, else the default. */
const char *ctl_socket_path(const char *path);

/* Connects to the daemon at path. Returns a socket fd or a negative errno with err set. */
int ctl_connect(const char *path, struct ctl_err *err);

/*
 * Sends {"cmd": cmd, "args": args} on fd and waits up to timeout_ms for the
 * reply. Steals the reference to args. Returns the reply object (the caller
 * owns it; it may be an {"error": ...} object) or NULL with err set when the
 * daemon could not be reached or answered garbage.
 */
json_t *ctl_call(int fd, const char *cmd, json_t *args, int timeout_ms, struct ctl_err *err);

/*
 * Serializes obj compactly followed by '\n' into a malloc'ed string and
 * stores its length in *len. Returns NULL on allocation failure.
 */
char *ctl_encode_line(const json_t *obj, size_t *len);

/* Prints "vswitchctl: error: MSG" on stderr (and {"error": MSG} on stdout when json_out);
 * returns 1, the exit status of a failed command. */
int ctl_print_error(bool json_out, const char *msg);

#endif
