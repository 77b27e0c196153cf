/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Guest RAM from a memfd, mapped once; regions split around the MMIO hole.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/memfd.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "boot.h"
#include "memory.h"

#define HUGE_2M (2ull << 20)

struct vmm_memory {
	int fd;
	uint64_t size;
	uint8_t *host;
	unsigned nregions;
	struct vmm_memory_region regions[2];
};

static int map(struct vmm_memory *m, bool hugetlb)
{
	unsigned flags = MFD_CLOEXEC | MFD_ALLOW_SEALING | (hugetlb ? MFD_HUGETLB | MFD_HUGE_2MB : 0);

	m->fd = memfd_create(hugetlb ? "hvnet-guest-ram-huge" : "hvnet-guest-ram", flags);
	if (m->fd < 0)
		return -errno;
	/* sealed at its size: vswitchd maps it and must never see it shrink (SIGBUS) */
	if (ftruncate(m->fd, (off_t)m->size) < 0 ||
	    fcntl(m->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		return -errno;
	m->host = mmap(NULL, m->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
		       m->fd, 0);
	if (m->host == MAP_FAILED) {
		m->host = NULL;
		return -errno;
	}
	/* hugetlb pages are taken at fault time: fault them now to fail early */
	if (hugetlb && fallocate(m->fd, 0, 0, (off_t)m->size) < 0)
		return errno == ENOSPC ? -ENOMEM : -errno;
	return 0;
}

struct vmm_memory *vmm_memory_new(uint64_t size, bool hugetlb)
{
	struct vmm_memory *m;
	uint64_t low;
	int rc;

	if (size == 0 || (size & 0xfff) || (hugetlb && (size & (HUGE_2M - 1)))) {
		errno = EINVAL;
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->fd = -1;
	m->size = size;
	rc = map(m, hugetlb);
	if (rc < 0) {
		vmm_memory_free(m);
		errno = -rc;
		return NULL;
	}
	low = size < VMM_MMIO_HOLE_ADDR ? size : VMM_MMIO_HOLE_ADDR;
	m->regions[0] = (struct vmm_memory_region){ 0, low, 0, m->host };
	m->nregions = 1;
	if (size > low)
		m->regions[m->nregions++] = (struct vmm_memory_region){
			VMM_MMIO_HOLE_END, size - low, low, m->host + low };
	return m;
}

void vmm_memory_free(struct vmm_memory *m)
{
	if (!m)
		return;
	if (m->host)
		munmap(m->host, m->size);
	if (m->fd >= 0)
		close(m->fd);
	free(m);
}

int vmm_memory_fd(const struct vmm_memory *m)
{
	return m->fd;
}

uint64_t vmm_memory_size(const struct vmm_memory *m)
{
	return m->size;
}

unsigned vmm_memory_nregions(const struct vmm_memory *m)
{
	return m->nregions;
}

const struct vmm_memory_region *vmm_memory_region(const struct vmm_memory *m, unsigned i)
{
	return i < m->nregions ? &m->regions[i] : NULL;
}

void *vmm_memory_ptr(const struct vmm_memory *m, uint64_t gpa, uint64_t len)
{
	unsigned i;

	for (i = 0; i < m->nregions; i++) {
		const struct vmm_memory_region *r = &m->regions[i];

		if (gpa >= r->gpa && len <= r->size && gpa - r->gpa <= r->size - len)
			return r->host + (gpa - r->gpa);
	}
	return NULL;
}
