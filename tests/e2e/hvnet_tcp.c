/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hvnet-tcp: bulk TCP for the e2e tests, run inside stock guests (linked
 * statically into their initramfs) and on the host. A sender streams a byte
 * sequence generated from a seed over N parallel connections; the receiver
 * checks every byte against the same generator, counts what arrived and
 * answers, at the sender's end of stream, with a checksum of what it read,
 * which the sender compares with its own. Each side prints one line
 * "HVNET-TCP {json}" with the verdict, and a progress line every 5 s.
 *
 *   hvnet-tcp recv PORT CONNS [TIMEOUT_S]
 *   hvnet-tcp send ADDR PORT CONNS BYTES SEED [TIMEOUT_S]
 *
 * Exit status: 0 when every connection moved all its bytes intact, 1 when
 * not (data mismatch, short stream, checksum mismatch, time out), 2 usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BLOCK	  4096u
#define MAX_CONNS 16
#define HDR_MAGIC 0x68767463u /* "hvtc" */
#define ACK_MAGIC 0x68766163u /* "hvac" */
#define CHUNK	  65536u

struct hdr {
	uint32_t magic;
	uint32_t seed;
	uint64_t bytes;
};

struct ack {
	uint32_t magic;
	uint32_t ok;
	uint64_t received;
	uint64_t sum;
};

/* The stream: block k is BLOCK bytes of xorshift64 output seeded from (seed, k). */
struct gen {
	uint32_t seed;
	uint64_t block; /* index of buf's block, UINT64_MAX: none */
	uint64_t buf[BLOCK / 8];
};

static void gen_fill(struct gen *g, uint64_t k)
{
	uint64_t x = ((uint64_t)g->seed << 32 | 0x9e3779b9u) ^ (k * 0xbf58476d1ce4e5b9ull);

	x = x ? x : 1;
	for (unsigned int i = 0; i < BLOCK / 8; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		g->buf[i] = x;
	}
	g->block = k;
}

/* Pointer to stream byte pos and how many bytes of its block follow it. */
static const uint8_t *gen_at(struct gen *g, uint64_t pos, uint32_t *avail)
{
	if (g->block != pos / BLOCK)
		gen_fill(g, pos / BLOCK);
	*avail = BLOCK - (uint32_t)(pos % BLOCK);
	return (const uint8_t *)g->buf + pos % BLOCK;
}

/* Checksum of a whole block (or the final partial one): word-wise, order-sensitive. */
static uint64_t block_sum(uint64_t sum, const struct gen *g, uint32_t len)
{
	uint64_t h = sum ^ (g->block * 0x9e3779b97f4a7c15ull);
	uint8_t tail[8] = {0};
	uint32_t words = len / 8;

	for (uint32_t i = 0; i < words; i++)
		h = (h ^ g->buf[i]) * 0x100000001b3ull;
	if (len % 8) {
		uint64_t w;

		memcpy(tail, (const uint8_t *)g->buf + words * 8, len % 8);
		memcpy(&w, tail, 8);
		h = (h ^ w) * 0x100000001b3ull;
	}
	return h;
}

struct conn {
	int fd;
	struct gen g;
	uint64_t bytes; /* to move */
	uint64_t done;	/* moved (and checked, on the receiving side) */
	uint64_t sum;
	uint8_t hdr[sizeof(struct hdr)];
	uint32_t hdr_got;
	uint8_t ack[sizeof(struct ack)];
	uint32_t ack_got;
	bool sent_eof, finished, ok;
	char why[96];
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void conn_fail(struct conn *c, const char *why)
{
	if (!c->finished) {
		snprintf(c->why, sizeof(c->why), "%s", why);
		c->finished = true;
		c->ok = false;
	}
}

/* Adds the checksum of every block that moving from byte from to byte to completed, and of
 * the last, partial block when to is the end of the stream. */
static void sum_to(struct conn *c, uint64_t from, uint64_t to)
{
	uint32_t avail;

	for (uint64_t k = from / BLOCK; k < to / BLOCK; k++) {
		gen_at(&c->g, k * BLOCK, &avail);
		c->sum = block_sum(c->sum, &c->g, BLOCK);
	}
	if (to == c->bytes && to % BLOCK) {
		gen_at(&c->g, to / BLOCK * BLOCK, &avail);
		c->sum = block_sum(c->sum, &c->g, (uint32_t)(to % BLOCK));
	}
}

/* ---- receiver ---- */

static void recv_data(struct conn *c)
{
	uint8_t buf[CHUNK];
	ssize_t n;

	for (;;) {
		n = read(c->fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				conn_fail(c, "read error");
			return;
		}
		if (n == 0)
			break;
		size_t off = 0;

		if (c->hdr_got < sizeof(c->hdr)) {
			size_t take = sizeof(c->hdr) - c->hdr_got;
			struct hdr h;

			take = take < (size_t)n ? take : (size_t)n;
			memcpy(c->hdr + c->hdr_got, buf, take);
			c->hdr_got += (uint32_t)take;
			off = take;
			if (c->hdr_got < sizeof(c->hdr))
				continue;
			memcpy(&h, c->hdr, sizeof(h));
			if (h.magic != HDR_MAGIC) {
				conn_fail(c, "bad stream header");
				return;
			}
			c->g.seed = h.seed;
			c->g.block = UINT64_MAX;
			c->bytes = h.bytes;
		}
		while (off < (size_t)n) {
			uint32_t avail;
			const uint8_t *want = gen_at(&c->g, c->done, &avail);
			size_t k = (size_t)n - off < avail ? (size_t)n - off : avail;
			uint64_t before = c->done;

			if (c->done + k > c->bytes) {
				conn_fail(c, "more bytes than announced");
				return;
			}
			if (memcmp(want, buf + off, k)) {
				char why[96];

				snprintf(why, sizeof(why), "data differs near byte %" PRIu64,
					 c->done);
				conn_fail(c, why);
				return;
			}
			c->done += k;
			off += k;
			sum_to(c, before, c->done);
		}
	}
	/* end of stream: answer with what arrived */
	struct ack a = {.magic = ACK_MAGIC, .received = c->done, .sum = c->sum};

	a.ok = c->hdr_got == sizeof(c->hdr) && c->done == c->bytes;
	if (write(c->fd, &a, sizeof(a)) != (ssize_t)sizeof(a)) {
		conn_fail(c, "cannot write the answer");
		return;
	}
	if (!a.ok) {
		conn_fail(c, "stream ended early");
		return;
	}
	c->finished = true;
	c->ok = true;
}

/* ---- sender ---- */

static void send_data(struct conn *c)
{
	for (;;) {
		const uint8_t *p;
		uint32_t avail;
		ssize_t n;

		if (c->hdr_got < sizeof(c->hdr)) {
			n = write(c->fd, c->hdr + c->hdr_got, sizeof(c->hdr) - c->hdr_got);
			if (n < 0)
				goto err;
			c->hdr_got += (uint32_t)n;
			continue;
		}
		if (c->done == c->bytes) {
			if (!c->sent_eof) {
				shutdown(c->fd, SHUT_WR);
				c->sent_eof = true;
			}
			return;
		}
		p = gen_at(&c->g, c->done, &avail);
		if (avail > c->bytes - c->done)
			avail = (uint32_t)(c->bytes - c->done);
		n = write(c->fd, p, avail);
		if (n < 0)
			goto err;
		sum_to(c, c->done, c->done + (uint64_t)n);
		c->done += (uint64_t)n;
	}
err:
	if (errno != EAGAIN && errno != EINTR)
		conn_fail(c, "write error");
}

static void read_ack(struct conn *c)
{
	struct ack a;
	ssize_t n = read(c->fd, c->ack + c->ack_got, sizeof(c->ack) - c->ack_got);

	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			conn_fail(c, "read error");
		return;
	}
	if (n == 0) {
		conn_fail(c, "closed without an answer");
		return;
	}
	c->ack_got += (uint32_t)n;
	if (c->ack_got < sizeof(c->ack))
		return;
	memcpy(&a, c->ack, sizeof(a));
	c->finished = true;
	c->ok = a.magic == ACK_MAGIC && a.ok && a.received == c->bytes && a.sum == c->sum;
	if (!c->ok)
		snprintf(c->why, sizeof(c->why), "receiver got %" PRIu64 " bytes, checksum %s",
			 a.received, a.sum == c->sum ? "equal" : "differs");
}

/* ---- main loop ---- */

static void report(const char *role, struct conn *c, unsigned int n, double secs, bool final)
{
	uint64_t total = 0;
	bool ok = true;

	for (unsigned int i = 0; i < n; i++) {
		total += c[i].done;
		ok = ok && c[i].finished && c[i].ok;
	}
	printf("HVNET-TCP%s {\"role\": \"%s\", \"conns\": %u, \"bytes\": %" PRIu64
	       ", \"seconds\": %.2f, \"mbit_s\": %.1f, \"ok\": %s, \"per_conn\": [",
	       final ? "" : "-PROGRESS", role, n, total, secs,
	       secs > 0 ? (double)total * 8 / secs / 1e6 : 0, final && ok ? "true" : "false");
	for (unsigned int i = 0; i < n; i++)
		printf("%s{\"bytes\": %" PRIu64 ", \"of\": %" PRIu64 ", \"sum\": \"%016" PRIx64
		       "\", \"done\": %s, \"error\": \"%s\"}",
		       i ? ", " : "", c[i].done, c[i].bytes, c[i].sum,
		       c[i].finished ? "true" : "false", c[i].why);
	printf("]}\n");
	fflush(stdout);
}

static int run(const char *role, struct conn *c, unsigned int n, int lfd, double timeout)
{
	struct pollfd pfd[MAX_CONNS + 1];
	double t0 = now_s(), last = t0;
	unsigned int accepted = lfd >= 0 ? 0 : n;
	bool recv = lfd >= 0, all;

	for (;;) {
		unsigned int np = 0;

		all = accepted == n;
		for (unsigned int i = 0; i < accepted; i++)
			all = all && c[i].finished;
		if (all)
			break;
		if (now_s() - t0 > timeout) {
			for (unsigned int i = 0; i < n; i++)
				conn_fail(&c[i], "timed out");
			break;
		}
		if (now_s() - last >= 5) {
			last = now_s();
			report(role, c, n, last - t0, false);
		}
		if (accepted < n)
			pfd[np++] = (struct pollfd){.fd = lfd, .events = POLLIN};
		for (unsigned int i = 0; i < accepted; i++) {
			short ev = POLLIN;

			if (!recv && !c[i].sent_eof)
				ev |= POLLOUT;
			pfd[np++] =
				(struct pollfd){.fd = c[i].finished ? -1 : c[i].fd, .events = ev};
		}
		if (poll(pfd, np, 1000) < 0 && errno != EINTR)
			return 1;
		np = 0;
		if (accepted < n && (pfd[np++].revents & POLLIN)) {
			int fd = accept(lfd, NULL, NULL);

			if (fd >= 0) {
				nonblock(fd);
				c[accepted].fd = fd;
				c[accepted].g.block = UINT64_MAX;
				accepted++;
			}
		}
		for (unsigned int i = 0; i < accepted && np < MAX_CONNS + 1; i++, np++) {
			if (c[i].finished || !pfd[np].revents)
				continue;
			if (recv) {
				recv_data(&c[i]);
				continue;
			}
			if (pfd[np].revents & POLLOUT)
				send_data(&c[i]);
			if (pfd[np].revents & (POLLIN | POLLHUP | POLLERR))
				read_ack(&c[i]);
		}
	}
	report(role, c, n, now_s() - t0, true);
	for (unsigned int i = 0; i < n; i++) {
		if (!c[i].finished || !c[i].ok)
			return 1;
	}
	return 0;
}

static int connect_to(const char *addr, int port, double deadline)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};

	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		return -1;
	while (now_s() < deadline) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		if (fd >= 0)
			close(fd);
		usleep(200000);
	}
	return -1;
}

static int usage(void)
{
	fprintf(stderr, "usage: hvnet-tcp recv PORT CONNS [TIMEOUT_S]\n"
			"       hvnet-tcp send ADDR PORT CONNS BYTES SEED [TIMEOUT_S]\n");
	return 2;
}

static long num(const char *s, long lo, long hi, bool *bad)
{
	char *end;
	long v = strtol(s, &end, 0);

	if (*end || v < lo || v > hi)
		*bad = true;
	return v;
}

int main(int argc, char **argv)
{
	static struct conn c[MAX_CONNS];
	bool bad = false;
	long conns, port;
	double timeout = 600;

	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 4 && !strcmp(argv[1], "recv")) {
		struct sockaddr_in sa = {.sin_family = AF_INET};
		int one = 1, lfd;

		port = num(argv[2], 1, 65535, &bad);
		conns = num(argv[3], 1, MAX_CONNS, &bad);
		if (argc > 4)
			timeout = (double)num(argv[4], 1, 86400, &bad);
		if (bad || argc > 5)
			return usage();
		sa.sin_port = htons((uint16_t)port);
		lfd = socket(AF_INET, SOCK_STREAM, 0);
		setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    listen(lfd, MAX_CONNS) < 0) {
			perror("hvnet-tcp: listen");
			return 1;
		}
		nonblock(lfd);
		printf("HVNET-TCP-LISTENING %ld\n", port);
		return run("recv", c, (unsigned int)conns, lfd, timeout);
	}
	if (argc >= 7 && !strcmp(argv[1], "send")) {
		long long bytes;
		long seed;
		double deadline;

		port = num(argv[3], 1, 65535, &bad);
		conns = num(argv[4], 1, MAX_CONNS, &bad);
		bytes = strtoll(argv[5], NULL, 0);
		seed = num(argv[6], 0, 0x7fffffff, &bad);
		if (argc > 7)
			timeout = (double)num(argv[7], 1, 86400, &bad);
		if (bad || bytes < 0 || argc > 8)
			return usage();
		deadline = now_s() + timeout; /* the receiver may start late (its peer's earlier phase) */
		for (long i = 0; i < conns; i++) {
			struct hdr h = {.magic = HDR_MAGIC,
					.seed = (uint32_t)(seed + i),
					.bytes = (uint64_t)bytes};

			c[i].fd = connect_to(argv[2], (int)port, deadline);
			if (c[i].fd < 0) {
				fprintf(stderr, "hvnet-tcp: cannot connect to %s:%ld\n", argv[2],
					port);
				return 1;
			}
			nonblock(c[i].fd);
			memcpy(c[i].hdr, &h, sizeof(h));
			c[i].g.seed = h.seed;
			c[i].g.block = UINT64_MAX;
			c[i].bytes = h.bytes;
		}
		return run("send", c, (unsigned int)conns, -1, timeout);
	}
	return usage();
}
