/* SPDX-License-Identifier: BSD-3-Clause */
/* Daemon side of the control protocol: see ctl_server.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl_proto.h"
#include "ctl_server.h"

#define CTL_MAX_CLIENTS 64
#define CTL_MAX_OUTPUT (16 * 1024 * 1024)

struct ctl_client {
	int fd;
	char *in;	/* bytes received, not yet a whole line */
	size_t in_len;
	char *out;	/* reply bytes not yet sent */
	size_t out_len, out_off;
	bool closing;	/* close once the output is flushed */
	uint64_t last_active; /* ctl_server's activity clock when it last sent or read */
};

struct ctl_server {
	int fd;
	char *path;
	ctl_handler_fn *handler;
	void *ctx;
	struct ctl_client clients[CTL_MAX_CLIENTS];
	unsigned int n_clients;
	uint64_t clock; /* counts served events, orders clients by activity */
};

/* Returns true when a live daemon answers on path. */
static bool socket_alive(const char *path)
{
	struct ctl_err err;
	int fd = ctl_connect(path, &err);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static int make_parent_dir(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int listen_on(const char *path, struct ctl_err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path))
		return ctl_err_set(err, ENAMETOOLONG, "socket: path '%s' is too long", path);
	if (socket_alive(path))
		return ctl_err_set(err, EADDRINUSE, "socket: a vswitchd already serves %s", path);
	rc = make_parent_dir(path);
	if (rc < 0)
		return ctl_err_set(err, -rc, "socket: cannot create the directory of %s: %s", path,
				   strerror(-rc));
	unlink(path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ctl_err_set(err, errno, "socket: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0600) < 0 ||
	    listen(fd, 16) < 0) {
		rc = errno;
		close(fd);
		return ctl_err_set(err, rc, "socket: cannot listen on %s: %s", path, strerror(rc));
	}
	return fd;
}

struct ctl_server *ctl_server_create(const char *path, ctl_handler_fn *handler, void *ctx,
				     struct ctl_err *err)
{
	struct ctl_server *srv = calloc(1, sizeof(*srv));
	int fd;

	if (!srv) {
		ctl_err_set(err, ENOMEM, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	fd = listen_on(path, err);
	if (fd < 0) {
		free(srv);
		errno = -fd;
		return NULL;
	}
	srv->fd = fd;
	srv->path = strdup(path);
	srv->handler = handler;
	srv->ctx = ctx;
	return srv;
}

static void client_close(struct ctl_server *srv, unsigned int i)
{
	struct ctl_client *c = &srv->clients[i];

	if (c->fd >= 0)
		close(c->fd);
	free(c->in);
	free(c->out);
	srv->clients[i] = srv->clients[--srv->n_clients];
	memset(&srv->clients[srv->n_clients], 0, sizeof(*c));
}

static void client_queue(struct ctl_client *c, json_t *reply)
{
	size_t len;
	char *line = ctl_encode_line(reply, &len);
	char *nb;

	json_decref(reply);
	if (!line || c->out_len + len > CTL_MAX_OUTPUT) {
		c->closing = true;
		free(line);
		return;
	}
	nb = realloc(c->out, c->out_len + len);
	if (!nb) {
		c->closing = true;
		free(line);
		return;
	}
	memcpy(nb + c->out_len, line, len);
	c->out = nb;
	c->out_len += len;
	free(line);
}

static json_t *error_reply(const char *msg)
{
	return json_pack("{s:s}", "error", msg);
}

int ctl_conn_detach(struct ctl_conn *conn)
{
	int flags = fcntl(conn->fd, F_GETFL);

	if (flags >= 0)
		fcntl(conn->fd, F_SETFL, flags & ~O_NONBLOCK);
	conn->detached = true;
	return conn->fd;
}

/* Parses and runs one request line; returns the reply object (NULL once detached). */
static json_t *dispatch(struct ctl_server *srv, struct ctl_conn *conn, const char *line,
			size_t len)
{
	struct ctl_err err = {.msg = "internal error"};
	json_error_t jerr;
	json_t *req, *cmd, *args, *reply;

	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!req)
		return error_reply("request: not valid JSON");
	cmd = json_object_get(req, "cmd");
	args = json_object_get(req, "args");
	if (!json_is_object(req) || !json_is_string(cmd)) {
		json_decref(req);
		return error_reply("request: want an object with a \"cmd\" string");
	}
	if (args && !json_is_object(args)) {
		json_decref(req);
		return error_reply("request: \"args\" must be an object");
	}
	if (!args)
		json_object_set_new(req, "args", args = json_object());
	reply = srv->handler(srv->ctx, json_string_value(cmd), args, conn, &err);
	json_decref(req);
	if (conn->detached) {
		json_decref(reply);
		return NULL;
	}
	return reply ? reply : error_reply(err.msg);
}

/*
 * Serves every complete line in the client's input buffer. Returns false
 * when a handler took the connection over.
 */
static bool client_serve_lines(struct ctl_server *srv, struct ctl_client *c)
{
	struct ctl_conn conn = {.fd = c->fd};
	char *nl;

	while (!c->closing && (nl = memchr(c->in, '\n', c->in_len))) {
		size_t len = (size_t)(nl - c->in);
		json_t *reply = dispatch(srv, &conn, c->in, len);

		if (conn.detached) {
			c->fd = -1;
			return false;
		}
		client_queue(c, reply);
		memmove(c->in, nl + 1, c->in_len - len - 1);
		c->in_len -= len + 1;
	}
	return true;
}

/* Reads what the client sent. Returns false when the client is gone. */
static bool client_read(struct ctl_server *srv, struct ctl_client *c)
{
	for (;;) {
		ssize_t n;

		if (!c->in)
			c->in = malloc(CTL_MAX_REQUEST + 1);
		if (!c->in)
			return false;
		n = recv(c->fd, c->in + c->in_len, CTL_MAX_REQUEST + 1 - c->in_len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (n <= 0)
			return false;
		c->in_len += (size_t)n;
		if (!client_serve_lines(srv, c))
			return false; /* detached: the fd is the handler's now */
		if (c->in_len > CTL_MAX_REQUEST) {
			client_queue(c, error_reply("request: larger than 65536 bytes"));
			c->closing = true;
			c->in_len = 0;
			return true;
		}
	}
}

/* Writes queued output. Returns false when the client is gone or done. */
static bool client_write(struct ctl_client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (n <= 0)
			return false;
		c->out_off += (size_t)n;
	}
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	return !c->closing;
}

/* Makes room for a new client by closing the one idle the longest. */
static void evict_idlest(struct ctl_server *srv)
{
	unsigned int oldest = 0;

	for (unsigned int i = 1; i < srv->n_clients; i++) {
		if (srv->clients[i].last_active < srv->clients[oldest].last_active)
			oldest = i;
	}
	client_close(srv, oldest);
}

static void accept_clients(struct ctl_server *srv)
{
	int fd;

	while ((fd = accept4(srv->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		if (srv->n_clients == CTL_MAX_CLIENTS)
			evict_idlest(srv);
		srv->clients[srv->n_clients++] =
			(struct ctl_client){.fd = fd, .last_active = ++srv->clock};
	}
}

int ctl_server_poll(struct ctl_server *srv, int timeout_ms)
{
	struct pollfd pfd[CTL_MAX_CLIENTS + 1];
	unsigned int n = srv->n_clients;
	int rc;

	for (unsigned int i = 0; i < n; i++) {
		pfd[i].fd = srv->clients[i].fd;
		pfd[i].events = srv->clients[i].out_len ? POLLOUT : POLLIN;
	}
	pfd[n] = (struct pollfd){.fd = srv->fd, .events = POLLIN};
	rc = poll(pfd, n + 1, timeout_ms);
	if (rc < 0)
		return errno == EINTR ? -EINTR : 0;
	/* Walk backwards: client_close moves the last client into slot i. */
	for (unsigned int i = n; i-- > 0;) {
		struct ctl_client *c = &srv->clients[i];
		bool alive = true;

		if (pfd[i].revents)
			c->last_active = ++srv->clock;
		if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
			alive = client_read(srv, c);
		if (alive && c->out_len)
			alive = client_write(c);
		if (!alive)
			client_close(srv, i);
	}
	if (pfd[n].revents & POLLIN)
		accept_clients(srv);
	return 0;
}

void ctl_server_free(struct ctl_server *srv)
{
	if (!srv)
		return;
	while (srv->n_clients)
		client_close(srv, srv->n_clients - 1);
	if (srv->fd >= 0)
		close(srv->fd);
	if (srv->path)
		unlink(srv->path);
	free(srv->path);
	free(srv);
}
