/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Guest RAM: one memfd (hugetlbfs-backed 2 MiB pages when asked) mapped
 * shared, so the same pages can later be handed to vswitchd over a unix
 * socket. RAM below the 32-bit MMIO hole (3 GiB) is GPA [0, low); the rest
 * is GPA [4 GiB, 4 GiB + high) at memfd offset low.
 * Immutable after creation; any thread may translate addresses.
 */
#ifndef VMM_MEMORY_H
#define VMM_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vmm_memory;

/* One contiguous guest-physical range backed by the memfd. */
struct vmm_memory_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t fd_offset;
	uint8_t *host;
};

/*
 * Creates size bytes of guest RAM (a multiple of 2 MiB when hugetlb). Returns
 * NULL and sets errno: EINVAL for a bad size, ENOMEM/ENOSPC when hugepages
 * are short, or the memfd/mmap error.
 */
struct vmm_memory *vmm_memory_new(uint64_t size, bool hugetlb);

/* Unmaps and closes; NULL is fine. */
void vmm_memory_free(struct vmm_memory *m);

/* The memfd (owned by m). */
int vmm_memory_fd(const struct vmm_memory *m);

/* Total RAM bytes. */
uint64_t vmm_memory_size(const struct vmm_memory *m);

/* Number of regions (1 or 2) and region i. */
unsigned vmm_memory_nregions(const struct vmm_memory *m);
const struct vmm_memory_region *vmm_memory_region(const struct vmm_memory *m, unsigned i);

/* Host pointer for [gpa, gpa + len) when it lies inside one region, else NULL. */
void *vmm_memory_ptr(const struct vmm_memory *m, uint64_t gpa, uint64_t len);

#endif
