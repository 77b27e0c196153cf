/* SPDX-License-Identifier: BSD-3-Clause */
/* vswitchctl capture: see ctl_capture.h; the stream format is in vswitch/capture.h. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ctl_capture.h"
#include "ctl_proto.h"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static const char usage[] =
	"capture PORT|SWITCH [--direction in|out|both] [--filter EXPR] [-w FILE|-] [-c COUNT]\n"
	"    [--duration S] [--snaplen N]";

/* Prints "vswitchctl: usage: WHAT 'ARG'" and the synopsis; returns 2. */
static int usage_error(const char *what, const char *arg)
{
	fprintf(stderr, "vswitchctl: usage: %s '%s'\n  %s\n", what, arg, usage);
	return 2;
}

/* Reads exactly len bytes, waiting in slices so that Ctrl-C can end the capture. */
static int read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	bool shut = false;

	while (len) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (interrupted && !shut) {
			shutdown(fd, SHUT_WR); /* tells vswitchd to end the capture */
			shut = true;
		}
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		n = recv(fd, p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads one '\n'-terminated line (at most cap-1 bytes). */
static int read_line(int fd, char *buf, size_t cap)
{
	size_t len = 0;

	while (len + 1 < cap) {
		if (read_full(fd, buf + len, 1))
			return -EPIPE;
		if (buf[len] == '\n')
			break;
		len++;
	}
	buf[len] = '\0';
	return 0;
}

struct text_state {
	char names[256][40];
	unsigned int n_if;
};

/* Prints the frames of a chunk of pcapng blocks, one line each, tcpdump-like. */
static void print_blocks(struct text_state *ts, const uint8_t *p, size_t len)
{
	while (len >= 12) {
		uint32_t type, blen;

		memcpy(&type, p, 4);
		memcpy(&blen, p + 4, 4);
		if (blen < 12 || blen > len)
			return;
		if (type == 1 && ts->n_if < 256) { /* IDB: name is the first option */
			uint16_t code, olen;

			memcpy(&code, p + 16, 2);
			memcpy(&olen, p + 18, 2);
			snprintf(ts->names[ts->n_if++], 40, "%.*s", code == 2 ? (int)olen : 0,
				 (const char *)p + 20);
		} else if (type == 6 && blen >= 32) { /* EPB */
			uint32_t ifidx, hi, lo, caplen, origlen, flags = 0;
			const uint8_t *d = p + 28;
			char when[32];
			time_t sec;
			uint64_t us;

			memcpy(&ifidx, p + 8, 4);
			memcpy(&hi, p + 12, 4);
			memcpy(&lo, p + 16, 4);
			memcpy(&caplen, p + 20, 4);
			memcpy(&origlen, p + 24, 4);
			if (28 + ((caplen + 3) & ~3u) + 8 <= blen)
				memcpy(&flags, d + ((caplen + 3) & ~3u) + 4, 4);
			us = (uint64_t)hi << 32 | lo;
			sec = (time_t)(us / 1000000);
			strftime(when, sizeof(when), "%H:%M:%S", localtime(&sec));
			printf("%s.%06u %s %s %u bytes", when, (unsigned int)(us % 1000000),
			       ifidx < ts->n_if ? ts->names[ifidx] : "?",
			       (flags & 3) == 1 ? "In " : "Out", origlen);
			if (caplen >= 14) {
				unsigned int et = (unsigned int)(d[12] << 8 | d[13]);

				printf(": %02x:%02x:%02x:%02x:%02x:%02x > %02x:%02x:%02x:%02x:%02x:%02x",
				       d[6], d[7], d[8], d[9], d[10], d[11], d[0], d[1], d[2], d[3],
				       d[4], d[5]);
				if (et == 0x8100 && caplen >= 18) {
					printf(", vlan %u", (unsigned int)((d[14] << 8 | d[15]) & 0xfff));
					et = (unsigned int)(d[16] << 8 | d[17]);
				}
				printf(", ethertype 0x%04x", et);
			}
			putchar('\n');
			fflush(stdout);
		}
		p += blen;
		len -= blen;
	}
}

/* Hands the destination to vswitchd: one byte carrying the descriptor (capture.h). */
static int send_fd(int sock, int fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	char byte = 'w';
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf)};
	struct cmsghdr *h = CMSG_FIRSTHDR(&msg);

	memset(&ctl, 0, sizeof(ctl));
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &fd, sizeof(int));
	while (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

/* Builds the request from the command line; returns NULL after printing a usage error. */
static json_t *parse(int argc, char **argv, const char **out_path, int *status)
{
	json_t *args = json_object();
	const char *target = NULL;

	*out_path = NULL;
	for (int i = 0; i < argc; i++) {
		const char *w = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool takes = !strcmp(w, "--direction") || !strcmp(w, "--filter") || !strcmp(w, "-w") ||
			     !strcmp(w, "-c") || !strcmp(w, "--duration") || !strcmp(w, "--snaplen");

		if (w[0] != '-' || !strcmp(w, "-")) {
			if (target) {
				*status = usage_error("unexpected argument", w);
				goto fail;
			}
			target = w;
			continue;
		}
		if (!takes) {
			*status = usage_error("unknown option", w);
			goto fail;
		}
		if (!v) {
			*status = usage_error("a value is missing after", w);
			goto fail;
		}
		i++;
		if (!strcmp(w, "-w")) {
			*out_path = v;
		} else if (!strcmp(w, "--direction")) {
			json_object_set_new(args, "direction", json_string(v));
		} else if (!strcmp(w, "--filter")) {
			json_object_set_new(args, "filter", json_string(v));
		} else if (!strcmp(w, "--duration")) {
			char *end;
			double d = strtod(v, &end);

			json_object_set_new(args, "duration", *end || end == v ? json_string(v)
										: json_real(d));
		} else {
			const char *p = v;

			while (isdigit((unsigned char)*p))
				p++;
			json_object_set_new(args, !strcmp(w, "-c") ? "count" : "snaplen",
					    *p || p == v ? json_string(v) : json_integer(strtoll(v, NULL, 10)));
		}
	}
	if (!target) {
		*status = usage_error("missing", "PORT|SWITCH");
		goto fail;
	}
	json_object_set_new(args, "target", json_string(target));
	if (*out_path)
		json_object_set_new(args, "fd", json_true()); /* vswitchd writes the file */
	return args;
fail:
	json_decref(args);
	return NULL;
}

int ctl_capture_main(int argc, char **argv, const char *socket_path, bool json_out)
{
	struct text_state ts = {.n_if = 0};
	char line[4096];
	const char *path;
	json_t *args, *req, *hdr, *sum;
	json_error_t jerr;
	struct ctl_err err;
	int status = 2, fd, out = -1;
	size_t len;
	char *enc;

	args = parse(argc, argv, &path, &status);
	if (!args)
		return status;
	fd = ctl_connect(ctl_socket_path(socket_path), &err);
	if (fd < 0)
		return ctl_print_error(json_out, err.msg);
	req = json_pack("{s:s,s:o}", "cmd", "capture", "args", args);
	enc = ctl_encode_line(req, &len);
	json_decref(req);
	if (!enc || send(fd, enc, len, MSG_NOSIGNAL) != (ssize_t)len)
		return ctl_print_error(json_out, "cannot send the request to vswitchd");
	free(enc);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	if (read_line(fd, line, sizeof(line)))
		return ctl_print_error(json_out, "vswitchd closed the connection");
	hdr = json_loads(line, 0, &jerr);
	if (!hdr || json_object_get(hdr, "error")) {
		status = ctl_print_error(json_out, hdr ? json_string_value(json_object_get(hdr, "error"))
						     : "vswitchd sent a malformed reply");
		json_decref(hdr);
		return status;
	}
	json_decref(hdr);
	if (path && strcmp(path, "-")) {
		out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (out < 0) {
			snprintf(line, sizeof(line), "w: cannot write '%s': %s", path, strerror(errno));
			shutdown(fd, SHUT_WR);
			return ctl_print_error(json_out, line);
		}
	} else if (path) {
		out = STDOUT_FILENO;
	}
	if (out >= 0 && send_fd(fd, out)) {
		shutdown(fd, SHUT_WR);
		return ctl_print_error(json_out, "cannot hand the capture file to vswitchd");
	}
	if (out > STDOUT_FILENO) {
		close(out); /* vswitchd has its own: the file is complete when the summary comes */
		out = -1;
	}
	for (;;) {
		uint32_t n;
		uint8_t *chunk;

		if (read_full(fd, &n, 4))
			return ctl_print_error(json_out, "vswitchd ended the capture without a summary");
		if (n == 0)
			break;
		chunk = malloc(n);
		if (!chunk || read_full(fd, chunk, n)) {
			free(chunk);
			return ctl_print_error(json_out, "vswitchd ended the capture without a summary");
		}
		if (out >= 0) {
			for (size_t off = 0; off < n;) {
				ssize_t w = write(out, chunk + off, n - off);

				if (w <= 0) {
					free(chunk);
					return ctl_print_error(json_out, "cannot write the capture");
				}
				off += (size_t)w;
			}
		} else if (!path) {
			print_blocks(&ts, chunk, n);
		}
		free(chunk);
	}
	if (read_line(fd, line, sizeof(line)) || !(sum = json_loads(line, 0, &jerr)))
		return ctl_print_error(json_out, "vswitchd sent no capture summary");
	if (json_is_string(json_object_get(sum, "error"))) {
		snprintf(line, sizeof(line), "%s (%lld packets captured)",
			 json_string_value(json_object_get(sum, "error")),
			 (long long)json_integer_value(json_object_get(sum, "captured")));
		json_decref(sum);
		return ctl_print_error(json_out, line);
	}
	fprintf(stderr, "%lld packets captured\n%lld packets filtered out\n%lld packets dropped\n"
			"(%s)\n",
		(long long)json_integer_value(json_object_get(sum, "captured")),
		(long long)json_integer_value(json_object_get(sum, "filtered_out")),
		(long long)json_integer_value(json_object_get(sum, "dropped")),
		json_string_value(json_object_get(sum, "reason")));
	if (json_out && !(path && !strcmp(path, "-"))) {
		json_dumpf(sum, stdout, JSON_COMPACT);
		putchar('\n');
	}
	json_decref(sum);
	close(fd);
	return 0;
}
