/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the vmbus-user protocol (vmbus/vmbus_user.h) over a
 * SOCK_SEQPACKET socketpair: every message type round-trips with its
 * descriptors; malformed packets (short, wrong length, bad counts,
 * unterminated names, wrong number of descriptors) give -EPROTO and the
 * received descriptors are closed; a closed peer gives -ECONNRESET; listen
 * replaces a stale socket file and refuses a live one.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmbus/vmbus_user.h"

struct pair {
	int a, b;
	uint64_t *buf; /* 8-aligned, VMBUS_USER_MAX_MSG bytes */
};

static int setup(void **state)
{
	struct pair *p = calloc(1, sizeof(*p));
	int sv[2];

	assert_non_null(p);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	p->a = sv[0];
	p->b = sv[1];
	p->buf = malloc(VMBUS_USER_MAX_MSG);
	assert_non_null(p->buf);
	*state = p;
	return 0;
}

static int teardown(void **state)
{
	struct pair *p = *state;

	close(p->a);
	if (p->b >= 0)
		close(p->b);
	free(p->buf);
	free(p);
	return 0;
}

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static int open_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 1024; fd++)
		n += fd_open(fd);
	return n;
}

/* Sends body as type; receives it on the other end; checks header, body and
 * that each fd arrived as a working duplicate (eventfd counter shared). */
static void round_trip(struct pair *p, uint32_t type, uint32_t nic, const void *body, size_t len,
		       unsigned int nfds)
{
	struct vmbus_user_msg m;
	int fds[VMBUS_USER_MAX_FDS];

	for (unsigned int i = 0; i < nfds; i++) {
		fds[i] = eventfd(0, EFD_CLOEXEC);
		assert_true(fds[i] >= 0);
	}
	assert_int_equal(vmbus_user_send(p->a, type, nic, 77, body, len, fds, nfds), 0);
	assert_int_equal(vmbus_user_recv(p->b, p->buf, VMBUS_USER_MAX_MSG, &m), 0);
	assert_int_equal(m.hdr.type, type);
	assert_int_equal(m.hdr.len, sizeof(struct vmbus_user_hdr) + len);
	assert_int_equal(m.hdr.nic, nic);
	assert_int_equal(m.hdr.seq, 77);
	assert_int_equal(m.body_len, len);
	assert_memory_equal(m.body, body, len);
	assert_int_equal(m.nfds, nfds);
	for (unsigned int i = 0; i < nfds; i++) {
		uint64_t v = i + 5, r = 0;

		assert_true(m.fds[i] != fds[i]);
		assert_true(fcntl(m.fds[i], F_GETFD) & FD_CLOEXEC);
		assert_int_equal(write(m.fds[i], &v, 8), 8);
		assert_int_equal(read(fds[i], &r, 8), 8);
		assert_int_equal(r, v);
		close(m.fds[i]);
		close(fds[i]);
	}
	for (unsigned int i = nfds; i < VMBUS_USER_MAX_FDS; i++)
		assert_int_equal(m.fds[i], -1);
}

static size_t mk_hello(uint8_t *b, uint32_t nr)
{
	struct vmbus_user_hello h = {.version = VMBUS_USER_VERSION,
				     .nr_nics = nr,
				     .pid = 42,
				     .nr_vcpus = 2,
				     .memory_mib = 512};

	strcpy(h.vm_name, "vm1");
	memcpy(b, &h, sizeof(h));
	for (uint32_t i = 0; i < nr; i++) {
		struct vmbus_user_nic n = {
			.vlan = 10, .mtu = 1500, .mac = {0, 0x15, 0x5d, 1, 2, (uint8_t)i}};

		strcpy(n.switch_name, "sw0");
		snprintf(n.port_name, sizeof(n.port_name), "p%u", i);
		memcpy(b + sizeof(h) + i * sizeof(n), &n, sizeof(n));
	}
	return sizeof(h) + nr * sizeof(struct vmbus_user_nic);
}

static size_t mk_reply(uint8_t *b, uint32_t nr)
{
	struct vmbus_user_hello_reply r = {.version = VMBUS_USER_VERSION, .nr_nics = nr};

	strcpy(r.message, "welcome");
	memcpy(b, &r, sizeof(r));
	for (uint32_t i = 0; i < nr; i++) {
		struct vmbus_user_nic_reply n = {.mac = {0, 0x15, 0x5d, 9, 9, (uint8_t)i}};

		strcpy(n.port_name, "vm1-nic0");
		memcpy(b + sizeof(r) + i * sizeof(n), &n, sizeof(n));
	}
	return sizeof(r) + nr * sizeof(struct vmbus_user_nic_reply);
}

static size_t mk_gpadl(uint8_t *b, uint32_t npfns)
{
	struct vmbus_user_gpadl g = {.gpadl = 0xe1e10, .npfns = npfns};

	memcpy(b, &g, sizeof(g));
	for (uint32_t i = 0; i < npfns; i++) {
		uint64_t pfn = 0x100 + i;

		memcpy(b + sizeof(g) + i * 8, &pfn, 8);
	}
	return sizeof(g) + npfns * 8ul;
}

static size_t mk_open(uint8_t *b, uint32_t npfns, uint32_t out_offset)
{
	struct vmbus_user_channel_open o = {.relid = 4,
					    .conn_id = 0x1004,
					    .target_vp = 1,
					    .ring_gpadl = 0xe1e11,
					    .out_offset = out_offset,
					    .npfns = npfns,
					    .sief_gpa = 0x7000,
					    .vmbus_version = 0x50003};

	memcpy(b, &o, sizeof(o));
	for (uint32_t i = 0; i < npfns; i++) {
		uint64_t pfn = 0x200 + i;

		memcpy(b + sizeof(o) + i * 8, &pfn, 8);
	}
	return sizeof(o) + npfns * 8ul;
}

static void test_round_trip_all(void **state)
{
	struct pair *p = *state;
	uint8_t *b = malloc(VMBUS_USER_MAX_MSG);
	struct vmbus_user_mem mem = {.gpa = 0x100000, .size = 0x200000, .offset = 0x100000};
	struct vmbus_user_gpadl_del del = {.gpadl = 0xe1e10};
	struct vmbus_user_channel_event ev = {.relid = 4, .reason = -EIO};
	struct vmbus_user_sief sief = {.vp = 1, .gpa = 0x9000};
	struct vmbus_user_status st = {
		.state = VMBUS_USER_VM_RUNNING, .heartbeat = VMBUS_USER_HB_OK, .uptime_ms = 1234};
	struct vmbus_user_request rq = {.op = VMBUS_USER_REQ_SHUTDOWN};
	struct vmbus_user_nic_state ns = {.len = 5};
	size_t n;

	assert_non_null(b);
	round_trip(p, VMBUS_USER_HELLO, 0, b, mk_hello(b, 1), 0);
	round_trip(p, VMBUS_USER_HELLO, 0, b, mk_hello(b, VMBUS_USER_MAX_NICS), 0);
	round_trip(p, VMBUS_USER_HELLO_REPLY, 0, b, mk_reply(b, 2), 0);
	round_trip(p, VMBUS_USER_HELLO_REPLY, 0, b, mk_reply(b, 0), 0);
	round_trip(p, VMBUS_USER_MEM, 0, &mem, sizeof(mem), 1);
	round_trip(p, VMBUS_USER_GPADL, 3, b, mk_gpadl(b, 3), 0);
	round_trip(p, VMBUS_USER_GPADL, 3, b, mk_gpadl(b, VMBUS_USER_MAX_PFNS), 0);
	round_trip(p, VMBUS_USER_GPADL_DEL, 3, &del, sizeof(del), 0);
	round_trip(p, VMBUS_USER_CHANNEL_OPEN, 1, b, mk_open(b, 64, 32), 2);
	round_trip(p, VMBUS_USER_CHANNEL_OPEN, 1, b, mk_open(b, VMBUS_USER_MAX_PFNS, 1), 2);
	strcpy(ev.message, "bad ring index");
	round_trip(p, VMBUS_USER_CHANNEL_CLOSE, 1, &ev, sizeof(ev), 0);
	round_trip(p, VMBUS_USER_CHANNEL_CLOSED, 1, &ev, sizeof(ev), 0);
	round_trip(p, VMBUS_USER_CHANNEL_FAILED, 1, &ev, sizeof(ev), 0);
	round_trip(p, VMBUS_USER_SIEF, 0, &sief, sizeof(sief), 0);
	memcpy(b, &ns, sizeof(ns));
	memcpy(b + sizeof(ns), "state", 5);
	round_trip(p, VMBUS_USER_NIC_STATE, 2, b, sizeof(ns) + 5, 0);
	round_trip(p, VMBUS_USER_STATUS, 0, &st, sizeof(st), 0);
	round_trip(p, VMBUS_USER_REQUEST, 0, &rq, sizeof(rq), 0);
	rq.status = -ETIMEDOUT;
	strcpy(rq.message, "guest did not answer");
	round_trip(p, VMBUS_USER_REQUEST_REPLY, 0, &rq, sizeof(rq), 0);
	n = mk_gpadl(b, 1);
	assert_int_equal(
		vmbus_user_send(p->a, VMBUS_USER_GPADL, 0, 1, b, VMBUS_USER_MAX_MSG, NULL, 0),
		-EINVAL);
	assert_int_equal(vmbus_user_send(p->a, VMBUS_USER_GPADL, 0, 1, b, n, NULL, 5), -EINVAL);
	free(b);
}

/* Sends raw bytes (no header fix-up) with nfds fresh eventfds; expects
 * -EPROTO and that every received descriptor was closed. */
static void expect_bad(struct pair *p, const void *raw, size_t len, unsigned int nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 8)];
		struct cmsghdr align;
	} cm;
	struct iovec iov = {(void *)raw, len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	struct vmbus_user_msg m;
	int fds[8], before;

	for (unsigned int i = 0; i < nfds; i++)
		fds[i] = eventfd(0, EFD_CLOEXEC);
	if (nfds) {
		struct cmsghdr *c;

		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	assert_int_equal(sendmsg(p->a, &mh, 0), (ssize_t)len);
	for (unsigned int i = 0; i < nfds; i++)
		close(fds[i]);
	before = open_fds();
	assert_int_equal(vmbus_user_recv(p->b, p->buf, VMBUS_USER_MAX_MSG, &m), -EPROTO);
	assert_int_equal(open_fds(), before);
	assert_int_equal(vmbus_user_parse(raw, len, nfds, &m), -EPROTO);
}

/* Builds header + body into out and returns the total length. */
static size_t mk_raw(uint8_t *out, uint32_t type, const void *body, size_t len)
{
	struct vmbus_user_hdr h = {.type = type, .len = (uint32_t)(sizeof(h) + len)};

	memcpy(out, &h, sizeof(h));
	memcpy(out + sizeof(h), body, len);
	return sizeof(h) + len;
}

static void set_u32(uint8_t *raw, size_t off, uint32_t v)
{
	memcpy(raw + sizeof(struct vmbus_user_hdr) + off, &v, 4);
}

static void test_malformed(void **state)
{
	struct pair *p = *state;
	uint8_t *b = malloc(VMBUS_USER_MAX_MSG), *raw = malloc(VMBUS_USER_MAX_MSG);
	struct vmbus_user_mem mem = {.gpa = 0, .size = 0x1000};
	struct vmbus_user_channel_event ev = {.relid = 4};
	struct vmbus_user_hdr h;
	size_t n;

	assert_non_null(b);
	assert_non_null(raw);
	/* short: less than a header */
	expect_bad(p, "\1\0\0\0", 4, 0);
	/* header len disagrees with the packet */
	n = mk_raw(raw, VMBUS_USER_MEM, &mem, sizeof(mem));
	memcpy(&h, raw, sizeof(h));
	h.len += 8;
	memcpy(raw, &h, sizeof(h));
	expect_bad(p, raw, n, 1);
	/* unknown types */
	n = mk_raw(raw, 0, &mem, sizeof(mem));
	expect_bad(p, raw, n, 0);
	n = mk_raw(raw, VMBUS_USER_TYPE_MAX, &mem, sizeof(mem));
	expect_bad(p, raw, n, 0);
	/* body size wrong for a fixed-size type */
	n = mk_raw(raw, VMBUS_USER_MEM, &mem, sizeof(mem) - 8);
	expect_bad(p, raw, n, 1);
	/* wrong descriptor counts */
	n = mk_raw(raw, VMBUS_USER_MEM, &mem, sizeof(mem));
	expect_bad(p, raw, n, 0);
	expect_bad(p, raw, n, 2);
	n = mk_raw(raw, VMBUS_USER_CHANNEL_OPEN, b, mk_open(b, 4, 2));
	expect_bad(p, raw, n, 1);
	expect_bad(p, raw, n, 3);
	expect_bad(p, raw, n, 6); /* more than VMBUS_USER_MAX_FDS */
	n = mk_raw(raw, VMBUS_USER_STATUS, b, sizeof(struct vmbus_user_status));
	memset(raw + 16, 0, n - 16);
	expect_bad(p, raw, n, 1);
	/* MEM: zero size, unaligned */
	mem.size = 0;
	expect_bad(p, raw, mk_raw(raw, VMBUS_USER_MEM, &mem, sizeof(mem)), 1);
	mem.size = 0x1000;
	mem.offset = 12;
	expect_bad(p, raw, mk_raw(raw, VMBUS_USER_MEM, &mem, sizeof(mem)), 1);
	/* HELLO: nr_nics 0, too many, disagreeing with the length */
	n = mk_raw(raw, VMBUS_USER_HELLO, b, mk_hello(b, 2));
	set_u32(raw, offsetof(struct vmbus_user_hello, nr_nics), 0);
	expect_bad(p, raw, n, 0);
	set_u32(raw, offsetof(struct vmbus_user_hello, nr_nics), VMBUS_USER_MAX_NICS + 1);
	expect_bad(p, raw, n, 0);
	set_u32(raw, offsetof(struct vmbus_user_hello, nr_nics), 3);
	expect_bad(p, raw, n, 0);
	/* HELLO: unterminated VM name, switch name, port name */
	n = mk_raw(raw, VMBUS_USER_HELLO, b, mk_hello(b, 1));
	memset(raw + 16 + offsetof(struct vmbus_user_hello, vm_name), 'x', VMBUS_USER_NAME_LEN);
	expect_bad(p, raw, n, 0);
	n = mk_raw(raw, VMBUS_USER_HELLO, b, mk_hello(b, 1));
	memset(raw + 16 + sizeof(struct vmbus_user_hello), 'x', VMBUS_USER_NAME_LEN);
	expect_bad(p, raw, n, 0);
	n = mk_raw(raw, VMBUS_USER_HELLO, b, mk_hello(b, 1));
	memset(raw + 16 + sizeof(struct vmbus_user_hello) + VMBUS_USER_NAME_LEN, 'x',
	       VMBUS_USER_NAME_LEN);
	expect_bad(p, raw, n, 0);
	/* HELLO_REPLY: too many NICs, unterminated message */
	n = mk_raw(raw, VMBUS_USER_HELLO_REPLY, b, mk_reply(b, 1));
	set_u32(raw, offsetof(struct vmbus_user_hello_reply, nr_nics), 2);
	expect_bad(p, raw, n, 0);
	n = mk_raw(raw, VMBUS_USER_HELLO_REPLY, b, mk_reply(b, 1));
	memset(raw + 16 + offsetof(struct vmbus_user_hello_reply, message), 'x', 128);
	expect_bad(p, raw, n, 0);
	/* GPADL: too many pfns, zero pfns, count disagreeing with the length */
	n = mk_raw(raw, VMBUS_USER_GPADL, b, mk_gpadl(b, 4));
	set_u32(raw, 4, VMBUS_USER_MAX_PFNS + 1);
	expect_bad(p, raw, n, 0);
	set_u32(raw, 4, 0);
	expect_bad(p, raw, n, 0);
	set_u32(raw, 4, 5);
	expect_bad(p, raw, n, 0);
	/* CHANNEL_OPEN: out_offset 0 or past the pages, too many pfns */
	n = mk_raw(raw, VMBUS_USER_CHANNEL_OPEN, b, mk_open(b, 4, 0));
	expect_bad(p, raw, n, 2);
	n = mk_raw(raw, VMBUS_USER_CHANNEL_OPEN, b, mk_open(b, 4, 4));
	expect_bad(p, raw, n, 2);
	n = mk_raw(raw, VMBUS_USER_CHANNEL_OPEN, b, mk_open(b, 4, 2));
	set_u32(raw, offsetof(struct vmbus_user_channel_open, npfns), VMBUS_USER_MAX_PFNS + 1);
	expect_bad(p, raw, n, 2);
	/* a relid past the SIEF area's 2048 bits */
	n = mk_raw(raw, VMBUS_USER_CHANNEL_OPEN, b, mk_open(b, 4, 2));
	set_u32(raw, offsetof(struct vmbus_user_channel_open, relid), VMBUS_USER_MAX_RELID + 1);
	expect_bad(p, raw, n, 2);
	/* events: unterminated message, positive reason */
	memset(ev.message, 'x', sizeof(ev.message));
	expect_bad(p, raw, mk_raw(raw, VMBUS_USER_CHANNEL_FAILED, &ev, sizeof(ev)), 0);
	memset(ev.message, 0, sizeof(ev.message));
	ev.reason = 5;
	expect_bad(p, raw, mk_raw(raw, VMBUS_USER_CHANNEL_FAILED, &ev, sizeof(ev)), 0);
	/* relid 0: only CHANNEL_FAILED may say "the NIC's channel" */
	ev.reason = 0;
	ev.relid = 0;
	expect_bad(p, raw, mk_raw(raw, VMBUS_USER_CHANNEL_CLOSE, &ev, sizeof(ev)), 0);
	expect_bad(p, raw, mk_raw(raw, VMBUS_USER_CHANNEL_CLOSED, &ev, sizeof(ev)), 0);
	n = mk_raw(raw, VMBUS_USER_CHANNEL_FAILED, &ev, sizeof(ev));
	assert_int_equal(vmbus_user_parse(raw, n, 0, &(struct vmbus_user_msg){0}), 0);
	/* NIC_STATE larger than allowed */
	memset(b, 0, 16);
	b[0] = (VMBUS_USER_MAX_STATE + 1) & 0xff;
	b[1] = (VMBUS_USER_MAX_STATE + 1) >> 8;
	n = mk_raw(raw, VMBUS_USER_NIC_STATE, b, 8 + VMBUS_USER_MAX_STATE + 1);
	expect_bad(p, raw, n, 0);
	/* REQUEST: unknown op */
	memset(b, 0, sizeof(struct vmbus_user_request));
	b[0] = 7;
	expect_bad(p, raw, mk_raw(raw, VMBUS_USER_REQUEST, b, sizeof(struct vmbus_user_request)),
		   0);
	/* NIC index out of range */
	n = mk_raw(raw, VMBUS_USER_GPADL_DEL, b, 8);
	memcpy(&h, raw, sizeof(h));
	h.nic = VMBUS_USER_MAX_NICS;
	memcpy(raw, &h, sizeof(h));
	expect_bad(p, raw, n, 0);
	/* still in sync: a good message after all that */
	assert_int_equal(vmbus_user_send(p->a, VMBUS_USER_GPADL_DEL, 0, 1, b, 8, NULL, 0), 0);
	assert_int_equal(
		vmbus_user_recv(p->b, p->buf, VMBUS_USER_MAX_MSG, &(struct vmbus_user_msg){0}), 0);
	free(b);
	free(raw);
}

static void test_peer_close(void **state)
{
	struct pair *p = *state;
	struct vmbus_user_msg m;
	struct vmbus_user_gpadl_del del = {.gpadl = 1};

	fcntl(p->b, F_SETFL, O_NONBLOCK);
	assert_int_equal(vmbus_user_recv(p->b, p->buf, VMBUS_USER_MAX_MSG, &m), -EAGAIN);
	assert_int_equal(vmbus_user_recv(p->b, p->buf, 100, &m), -EINVAL);
	close(p->a);
	p->a = -1;
	assert_int_equal(vmbus_user_recv(p->b, p->buf, VMBUS_USER_MAX_MSG, &m), -ECONNRESET);
	p->a = dup(p->b); /* teardown closes it */
	close(p->b);
	p->b = -1;
	{
		int sv[2];

		assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
		close(sv[1]);
		assert_int_equal(vmbus_user_send(sv[0], VMBUS_USER_GPADL_DEL, 0, 1, &del,
						 sizeof(del), NULL, 0),
				 -EPIPE);
		close(sv[0]);
	}
}

static void test_listen_connect(void **state)
{
	char path[64];
	struct stat st;
	int l, c, l2;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/vu-test-%d.sock", getpid());
	l = vmbus_user_listen(path);
	assert_true(l >= 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* a live listener is not replaced */
	assert_int_equal(vmbus_user_listen(path), -EADDRINUSE);
	c = vmbus_user_connect(path);
	assert_true(c >= 0);
	close(c);
	/* a stale socket file is */
	close(l);
	l2 = vmbus_user_listen(path);
	assert_true(l2 >= 0);
	close(l2);
	unlink(path);
	assert_int_equal(vmbus_user_connect(path), -ENOENT);
	assert_int_equal(vmbus_user_connect(""), -EINVAL);
	assert_string_equal(vmbus_user_type_name(VMBUS_USER_CHANNEL_OPEN), "CHANNEL_OPEN");
	assert_string_equal(vmbus_user_type_name(99), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_close, setup, teardown),
		cmocka_unit_test(test_listen_connect),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
