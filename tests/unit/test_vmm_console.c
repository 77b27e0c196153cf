/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the console backends and the init-marker clock
 * (vmm/console.c): file output, marker detection across writes and after
 * lines longer than the line buffer, bad specs, and the unix socket backend
 * (output to a connected client, client input to the guest callback, the
 * backlog a client gets on connecting, bounded to its newest 64 KiB).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "console.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/test_vmm_console.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void put(struct vmm_console *c, const char *s)
{
	vmm_console_write(c, (const uint8_t *)s, strlen(s));
}

static void test_file_and_marker(void **state)
{
	char spec[128], path[100], got[2048];
	char longline[1000];
	struct vmm_console *c;
	FILE *f;
	size_t n;

	(void)state;
	snprintf(path, sizeof(path), "%s/con.log", dir);
	snprintf(spec, sizeof(spec), "file:%s", path);
	c = vmm_console_open(spec, "HVNET-GUEST-INIT");
	assert_non_null(c);
	assert_int_equal(vmm_console_first_output_ns(c), 0);
	memset(longline, 'x', sizeof(longline) - 2);
	longline[sizeof(longline) - 2] = '\n';
	longline[sizeof(longline) - 1] = 0;
	put(c, longline); /* longer than the line buffer: must not overrun it */
	assert_int_not_equal(vmm_console_first_output_ns(c), 0);
	put(c, "HVNET-GUEST");
	assert_int_equal(vmm_console_marker_ns(c), 0); /* not a whole line yet */
	put(c, "-INIT uptime=1.0\r\n");
	assert_int_not_equal(vmm_console_marker_ns(c), 0);
	assert_true(vmm_console_marker_ns(c) >= vmm_console_first_output_ns(c));
	vmm_console_close(c);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(got, 1, sizeof(got), f);
	fclose(f);
	assert_int_equal(n, strlen(longline) + strlen("HVNET-GUEST-INIT uptime=1.0\r\n"));
	assert_memory_equal(got + strlen(longline), "HVNET-GUEST-INIT", 16);
}

static void test_no_marker_in_other_lines(void **state)
{
	char spec[128];
	struct vmm_console *c;

	(void)state;
	snprintf(spec, sizeof(spec), "file:%s/b.log", dir);
	c = vmm_console_open(spec, "MARK");
	assert_non_null(c);
	put(c, "MA\nRK\n");
	assert_int_equal(vmm_console_marker_ns(c), 0);
	vmm_console_close(c);
}

static void test_bad_specs(void **state)
{
	(void)state;
	errno = 0;
	assert_null(vmm_console_open("tcp:1234", NULL));
	assert_int_equal(errno, EINVAL);
	assert_null(vmm_console_open("file:", NULL));
	assert_int_equal(errno, EINVAL);
	assert_null(vmm_console_open("unix:", NULL));
	assert_null(vmm_console_open("file:/nonexistent-dir/x", NULL));
	assert_int_equal(errno, ENOENT);
}

static uint8_t input[64];
static size_t ninput;

static size_t on_input(void *opaque, const uint8_t *buf, size_t n)
{
	(void)opaque;
	if (n > sizeof(input) - ninput)
		n = sizeof(input) - ninput;
	memcpy(input + ninput, buf, n);
	ninput += n;
	return n;
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	strcpy(sa.sun_path, path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Reads exactly n bytes (or fewer on a 2 s timeout / EOF). */
static size_t read_n(int fd, void *buf, size_t n)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t got = 0;
	ssize_t r;

	while (got < n && poll(&p, 1, 2000) == 1) {
		r = read(fd, (char *)buf + got, n - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

static void test_unix(void **state)
{
	char spec[128], path[100], buf[16];
	struct vmm_console *c;
	int fd, i;

	(void)state;
	snprintf(path, sizeof(path), "%s/con.sock", dir);
	snprintf(spec, sizeof(spec), "unix:%s", path);
	c = vmm_console_open(spec, NULL);
	assert_non_null(c);
	assert_int_equal(vmm_console_start_input(c, on_input, NULL), 0);
	put(c, "dropped"); /* nobody connected: kept in the backlog */
	fd = connect_to(path);
	for (i = 0; i < 200 && ninput == 0; i++) { /* wait until accepted */
		put(c, "");
		assert_int_equal(write(fd, "k", 1), 1);
		sleep_ms(10);
	}
	assert_true(ninput > 0);
	assert_int_equal(input[0], 'k');
	put(c, "hello");
	assert_int_equal(read_n(fd, buf, 12), 12);
	assert_memory_equal(buf, "droppedhello", 12); /* backlog first, then live output */
	close(fd);
	vmm_console_close(c);
	assert_int_equal(access(path, F_OK), -1); /* socket removed */
}

static void test_unix_backlog_bounded(void **state)
{
	static uint8_t out[70000], got[VMM_CONSOLE_BACKLOG];
	char spec[128], path[100];
	struct vmm_console *c;
	struct pollfd p;
	size_t i;
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/backlog.sock", dir);
	snprintf(spec, sizeof(spec), "unix:%s", path);
	c = vmm_console_open(spec, NULL);
	assert_non_null(c);
	for (i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i % 251);
	vmm_console_write(c, out, 1000);
	vmm_console_write(c, out + 1000, sizeof(out) - 1000);
	assert_int_equal(vmm_console_start_input(c, on_input, NULL), 0);
	fd = connect_to(path);
	assert_int_equal(read_n(fd, got, VMM_CONSOLE_BACKLOG), VMM_CONSOLE_BACKLOG);
	assert_memory_equal(got, out + sizeof(out) - VMM_CONSOLE_BACKLOG, VMM_CONSOLE_BACKLOG);
	p.fd = fd;
	p.events = POLLIN;
	assert_int_equal(poll(&p, 1, 100), 0); /* nothing more than the newest 64 KiB */
	close(fd);
	vmm_console_close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_and_marker),
		cmocka_unit_test(test_no_marker_in_other_lines),
		cmocka_unit_test(test_bad_specs),
		cmocka_unit_test(test_unix),
		cmocka_unit_test(test_unix_backlog_bounded),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
