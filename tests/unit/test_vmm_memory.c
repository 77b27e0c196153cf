/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of guest memory (vmm/memory.c): the memfd is shared (writes
 * through the mapping are visible through the fd, as vswitchd will see
 * them), the split around the 3 GiB..4 GiB MMIO hole, address translation
 * bounds, size validation and, where 2 MiB hugepages are free, hugetlb.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "memory.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)

static void test_small(void **state)
{
	struct vmm_memory *m = vmm_memory_new(64 * MIB, false);
	const struct vmm_memory_region *r;
	uint8_t *p, b = 0;

	(void)state;
	assert_non_null(m);
	assert_int_equal(vmm_memory_size(m), 64 * MIB);
	assert_int_equal(vmm_memory_nregions(m), 1);
	r = vmm_memory_region(m, 0);
	assert_int_equal(r->gpa, 0);
	assert_int_equal(r->size, 64 * MIB);
	assert_null(vmm_memory_region(m, 1));
	p = vmm_memory_ptr(m, 0x1000, 16);
	assert_ptr_equal(p, r->host + 0x1000);
	memcpy(p, "guest", 5);
	/* the same page through the memfd */
	assert_int_equal(pread(vmm_memory_fd(m), &b, 1, 0x1000), 1);
	assert_int_equal(b, 'g');
	assert_non_null(vmm_memory_ptr(m, 64 * MIB - 1, 1));
	assert_null(vmm_memory_ptr(m, 64 * MIB - 1, 2));
	assert_null(vmm_memory_ptr(m, 64 * MIB, 1));
	assert_null(vmm_memory_ptr(m, UINT64_MAX, 2));
	vmm_memory_free(m);
}

static void test_hole_split(void **state)
{
	struct vmm_memory *m = vmm_memory_new(4 * GIB, false); /* sparse: not touched */
	const struct vmm_memory_region *lo, *hi;

	(void)state;
	assert_non_null(m);
	assert_int_equal(vmm_memory_nregions(m), 2);
	lo = vmm_memory_region(m, 0);
	hi = vmm_memory_region(m, 1);
	assert_int_equal(lo->size, 3 * GIB);
	assert_int_equal(hi->gpa, 4 * GIB);
	assert_int_equal(hi->size, 1 * GIB);
	assert_int_equal(hi->fd_offset, 3 * GIB);
	assert_ptr_equal(hi->host, lo->host + 3 * GIB);
	assert_null(vmm_memory_ptr(m, 3 * GIB, 1));          /* in the hole */
	assert_null(vmm_memory_ptr(m, 3 * GIB - 4096, 8192)); /* across it */
	assert_ptr_equal(vmm_memory_ptr(m, 4 * GIB + 8, 8), hi->host + 8);
	assert_null(vmm_memory_ptr(m, 5 * GIB, 1));
	vmm_memory_free(m);
}

static void test_bad_sizes(void **state)
{
	(void)state;
	errno = 0;
	assert_null(vmm_memory_new(0, false));
	assert_int_equal(errno, EINVAL);
	assert_null(vmm_memory_new(MIB + 1, false));
	assert_int_equal(errno, EINVAL);
	assert_null(vmm_memory_new(3 * MIB, true)); /* hugetlb needs 2 MiB multiples */
	assert_int_equal(errno, EINVAL);
	vmm_memory_free(NULL);
}

/* The value of a /proc/meminfo line "key: N". */
static long meminfo(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "r");
	size_t klen = strlen(key);
	char line[128];
	long n = 0;

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			n = strtol(line + klen + 1, NULL, 10);
			break;
		}
	if (f)
		fclose(f);
	return n;
}

static long free_hugepages(void)
{
	return meminfo("HugePages_Free");
}

/* More 2 MiB pages than the pool can ever hold (its size plus overcommit). */
static long impossible_hugepages(void)
{
	FILE *f = fopen("/proc/sys/vm/nr_overcommit_hugepages", "r");
	long over = 0;

	if (f) {
		if (fscanf(f, "%ld", &over) != 1)
			over = 0;
		fclose(f);
	}
	return meminfo("HugePages_Total") + over + 64;
}

static void test_hugetlb(void **state)
{
	struct vmm_memory *m;

	(void)state;
	if (free_hugepages() < 8) {
		printf("hugetlb part skipped: fewer than 8 free 2 MiB hugepages\n");
		return;
	}
	m = vmm_memory_new(8 * MIB, true);
	assert_non_null(m);
	memset(vmm_memory_ptr(m, 0, 8 * MIB), 0x5a, 8 * MIB);
	vmm_memory_free(m);
	/* more than the pool: fails at creation, not at the guest's first touch */
	m = vmm_memory_new((uint64_t)impossible_hugepages() * 2 * MIB, true);
	assert_null(m);
	assert_int_equal(errno, ENOMEM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small),
		cmocka_unit_test(test_hole_split),
		cmocka_unit_test(test_bad_sizes),
		cmocka_unit_test(test_hugetlb),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
