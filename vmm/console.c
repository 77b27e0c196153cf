/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Console backends (stdout, file, unix socket) and the boot-time marker
 * scanner. The unix backend's input thread also accepts clients: it polls
 * the listening socket and the current client, and only it changes the
 * client fd, under client_lock, which writers hold while they use the fd
 * (their sends never block).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "console.h"

enum kind { CON_STDOUT, CON_FILE, CON_UNIX };

struct vmm_console {
	enum kind kind;
	int out_fd;          /* stdout or the file */
	int in_fd;           /* stdin, or -1 */
	int listen_fd;       /* unix: listening socket */
	int client;          /* unix: connected client or -1, under client_lock */
	pthread_mutex_t client_lock;
	struct termios saved_tty; /* stdout: the terminal's mode to restore */
	int tty_raw;
	uint8_t *backlog;    /* unix: last VMM_CONSOLE_BACKLOG bytes, under client_lock */
	size_t backlog_head, backlog_len;
	int stop_pipe[2];    /* wakes the input thread on close */
	char *path;          /* unix socket path to unlink */
	pthread_t thread;
	int thread_started;
	vmm_console_input_fn *input;
	void *opaque;
	char *marker;
	char line[256];
	size_t line_len;
	_Atomic uint64_t first_ns, marker_ns;
};

uint64_t vmm_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int open_unix(struct vmm_console *c, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->listen_fd < 0)
		return -errno;
	unlink(path);
	if (bind(c->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(c->listen_fd, 1) < 0)
		return -errno;
	c->path = strdup(path);
	return c->path ? 0 : -ENOMEM;
}

/* An interactive terminal on stdin goes raw (keys to the guest as typed),
 * except that Ctrl-C still signals vmm, which stops the guest. */
static void tty_raw(struct vmm_console *c)
{
	struct termios t;

	/* only in the foreground: a background process changing it would stop */
	if (!isatty(STDIN_FILENO) || tcgetpgrp(STDIN_FILENO) != getpgrp() ||
	    tcgetattr(STDIN_FILENO, &c->saved_tty) < 0)
		return;
	t = c->saved_tty;
	cfmakeraw(&t); /* the guest's output already has its \r\n */
	t.c_lflag |= ISIG;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0)
		c->tty_raw = 1;
}

static int open_backend(struct vmm_console *c, const char *spec)
{
	if (strcmp(spec, "stdout") == 0) {
		c->kind = CON_STDOUT;
		c->out_fd = STDOUT_FILENO;
		c->in_fd = STDIN_FILENO;
		tty_raw(c);
		return 0;
	}
	if (strncmp(spec, "file:", 5) == 0 && spec[5]) {
		c->kind = CON_FILE;
		c->out_fd = open(spec + 5, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		return c->out_fd < 0 ? -errno : 0;
	}
	if (strncmp(spec, "unix:", 5) == 0 && spec[5]) {
		c->kind = CON_UNIX;
		c->backlog = malloc(VMM_CONSOLE_BACKLOG);
		if (!c->backlog)
			return -ENOMEM;
		return open_unix(c, spec + 5);
	}
	return -EINVAL;
}

struct vmm_console *vmm_console_open(const char *spec, const char *marker)
{
	struct vmm_console *c = calloc(1, sizeof(*c));
	int rc;

	if (!c)
		return NULL;
	c->out_fd = c->in_fd = c->listen_fd = -1;
	c->client = -1;
	pthread_mutex_init(&c->client_lock, NULL);
	c->stop_pipe[0] = c->stop_pipe[1] = -1;
	if (marker && !(c->marker = strdup(marker))) {
		rc = -ENOMEM;
		goto err_close;
	}
	if (pipe2(c->stop_pipe, O_CLOEXEC) < 0) {
		rc = -errno;
		goto err_close;
	}
	rc = open_backend(c, spec);
	if (rc < 0)
		goto err_close;
	return c;
err_close:
	vmm_console_close(c);
	errno = -rc;
	return NULL;
}

void vmm_console_close(struct vmm_console *c)
{
	if (!c)
		return;
	if (c->thread_started) {
		if (write(c->stop_pipe[1], "x", 1) < 0) {
			/* the thread also stops on its fd's EOF */
		}
		pthread_join(c->thread, NULL);
	}
	if (c->tty_raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &c->saved_tty);
	if (c->kind == CON_FILE && c->out_fd >= 0)
		close(c->out_fd);
	if (c->client >= 0)
		close(c->client);
	if (c->listen_fd >= 0)
		close(c->listen_fd);
	if (c->path)
		unlink(c->path);
	if (c->stop_pipe[0] >= 0) {
		close(c->stop_pipe[0]);
		close(c->stop_pipe[1]);
	}
	free(c->path);
	free(c->marker);
	free(c->backlog);
	pthread_mutex_destroy(&c->client_lock);
	free(c);
}

/* Scans output for the marker, line by line (lines longer than the buffer
 * are checked in pieces). */
static void scan(struct vmm_console *c, const uint8_t *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (buf[i] != '\n' && buf[i] != '\r')
			c->line[c->line_len++] = (char)buf[i];
		if (buf[i] != '\n' && c->line_len < sizeof(c->line) - 1)
			continue;
		c->line[c->line_len] = 0;
		if (!c->marker_ns && strstr(c->line, c->marker))
			c->marker_ns = vmm_now_ns();
		c->line_len = 0;
	}
}

static void write_all(int fd, const uint8_t *buf, size_t n, int nonblock)
{
	while (n) {
		ssize_t w = send(fd, buf, n, MSG_NOSIGNAL | (nonblock ? MSG_DONTWAIT : 0));

		if (w < 0 && errno == ENOTSOCK)
			w = write(fd, buf, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* a full or closed client drops output */
		buf += w;
		n -= (size_t)w;
	}
}

/* Keeps the newest output for clients that connect later. client_lock held. */
static void backlog_add(struct vmm_console *c, const uint8_t *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		size_t at = (c->backlog_head + c->backlog_len) % VMM_CONSOLE_BACKLOG;

		c->backlog[at] = buf[i];
		if (c->backlog_len < VMM_CONSOLE_BACKLOG)
			c->backlog_len++;
		else
			c->backlog_head = (c->backlog_head + 1) % VMM_CONSOLE_BACKLOG;
	}
}

/* Sends the backlog to a new client (in at most two pieces). client_lock held. */
static void backlog_replay(struct vmm_console *c, int fd)
{
	size_t first = VMM_CONSOLE_BACKLOG - c->backlog_head;

	if (first > c->backlog_len)
		first = c->backlog_len;
	write_all(fd, c->backlog + c->backlog_head, first, 1);
	write_all(fd, c->backlog, c->backlog_len - first, 1);
}

void vmm_console_write(struct vmm_console *c, const uint8_t *buf, size_t n)
{
	int fd;

	if (!c->first_ns)
		c->first_ns = vmm_now_ns();
	if (c->marker)
		scan(c, buf, n);
	if (c->kind != CON_UNIX) {
		write_all(c->out_fd, buf, n, 0);
		return;
	}
	pthread_mutex_lock(&c->client_lock);
	backlog_add(c, buf, n);
	fd = c->client;
	if (fd >= 0)
		write_all(fd, buf, n, 1);
	pthread_mutex_unlock(&c->client_lock);
}

uint64_t vmm_console_first_output_ns(const struct vmm_console *c)
{
	return c->first_ns;
}

uint64_t vmm_console_marker_ns(const struct vmm_console *c)
{
	return c->marker_ns;
}

/* Reads from fd into the guest; returns -1 on EOF or error. */
static int pump(struct vmm_console *c, int fd)
{
	uint8_t buf[64];
	ssize_t r = read(fd, buf, sizeof(buf));
	size_t done = 0;

	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (r <= 0)
		return -1;
	/* the UART FIFO is small: retry until the guest drained it */
	while (done < (size_t)r) {
		size_t k = c->input(c->opaque, buf + done, (size_t)r - done);

		done += k;
		if (!k) {
			struct pollfd p = { .fd = c->stop_pipe[0], .events = POLLIN };

			if (poll(&p, 1, 10) > 0)
				return -1;
		}
	}
	return 0;
}

static void *input_thread(void *arg)
{
	struct vmm_console *c = arg;

	for (;;) {
		struct pollfd p[2] = { { .fd = c->stop_pipe[0], .events = POLLIN } };
		int client = c->client; /* only this thread changes it */
		int src = c->kind == CON_UNIX ? (client >= 0 ? client : c->listen_fd) : c->in_fd;

		p[1].fd = src;
		p[1].events = POLLIN;
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			break;
		if (!p[1].revents)
			continue;
		if (src == c->listen_fd) {
			int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC);

			pthread_mutex_lock(&c->client_lock);
			c->client = fd;
			if (fd >= 0)
				backlog_replay(c, fd);
			pthread_mutex_unlock(&c->client_lock);
			continue;
		}
		if (pump(c, src) < 0) {
			if (c->kind != CON_UNIX)
				break; /* stdin closed: no more input */
			pthread_mutex_lock(&c->client_lock);
			c->client = -1;
			close(src);
			pthread_mutex_unlock(&c->client_lock);
		}
	}
	return NULL;
}

int vmm_console_start_input(struct vmm_console *c, vmm_console_input_fn *fn, void *opaque)
{
	int rc;

	if (c->kind == CON_FILE)
		return 0;
	c->input = fn;
	c->opaque = opaque;
	rc = pthread_create(&c->thread, NULL, input_thread, c);
	if (rc)
		return -rc;
	c->thread_started = 1;
	return 0;
}
