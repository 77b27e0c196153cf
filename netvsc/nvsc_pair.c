/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * In-process NetVSP host + guest simulator fixture (see nvsc_pair.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvsc_pair.h"
#include "vmbus/ring.h"

#define PAIR_GPA_BASE 0x40000000ull

static void *pair_gpa_to_hva(void *ctx, uint64_t gpa, uint64_t len)
{
	struct nvsc_pair *p = ctx;

	if (gpa < p->gpa_base || len > p->mem_size || gpa - p->gpa_base > p->mem_size - len)
		return NULL;
	return p->mem + (gpa - p->gpa_base);
}

static void *pair_map_gpadl(void *ctx, uint32_t gpadl, size_t *len)
{
	struct nvsc_pair *p = ctx;

	if (p->hide_gpadls) {
		errno = EAGAIN;
		return NULL;
	}
	for (unsigned int i = 0; i < p->ngpadls; i++) {
		if (p->gpadls[i].id == gpadl) {
			*len = p->gpadls[i].len;
			return p->mem + p->gpadls[i].off;
		}
	}
	errno = ENOENT;
	return NULL;
}

static void pair_signal_guest(void *ctx)
{
	((struct nvsc_pair *)ctx)->host_signals++;
}

static void pair_log(void *ctx, int level, const char *line)
{
	((struct nvsc_pair *)ctx)->log_lines++;
	if (!((struct nvsc_pair *)ctx)->quiet)
		fprintf(stderr, "nvsp[%d]: %s\n", level, line);
}

static uint64_t pair_now(void *ctx)
{
	return ((struct nvsc_pair *)ctx)->now_ms;
}

/* Guest memory must be contiguous per GPADL here (the simulator's are). */
static int pair_create_gpadl(void *ctx, uint32_t id, const uint64_t *pfns, uint32_t n)
{
	struct nvsc_pair *p = ctx;
	struct nvsc_pair_gpadl *gp;

	if (p->ngpadls == 4 || n == 0)
		return -ENOSPC;
	for (uint32_t i = 1; i < n; i++)
		if (pfns[i] != pfns[0] + i)
			return -EINVAL;
	gp = &p->gpadls[p->ngpadls++];
	gp->id = id;
	gp->off = pfns[0] * 4096u - p->gpa_base;
	gp->len = (uint64_t)n * 4096u;
	return 0;
}

static void pair_signal_host(void *ctx)
{
	((struct nvsc_pair *)ctx)->guest_signals++;
}

static void keep(struct nvsc_pair_frame *f, const void *data, uint32_t len)
{
	f->len = len;
	memcpy(f->data, data, len < NVSC_PAIR_FRAME_MAX ? len : NVSC_PAIR_FRAME_MAX);
}

static void pair_guest_rx(void *arg, const void *frame, uint32_t len)
{
	struct nvsc_pair *p = arg;

	keep(&p->guest_rx[p->guest_frames++ % NVSC_PAIR_KEEP], frame, len);
}

static int pair_host_frame(void *arg, const struct iovec *iov, unsigned int iovcnt, uint32_t len,
			   const struct nvsp_frame_info *info)
{
	struct nvsc_pair *p = arg;
	struct nvsc_pair_frame *f = &p->host_rx[p->host_frames % NVSC_PAIR_KEEP];
	uint32_t off = 0;

	if (p->sink_ret)
		return p->sink_ret;
	p->host_frames++;
	f->len = len;
	f->iovcnt = iovcnt;
	f->info = *info;
	for (unsigned int i = 0; i < iovcnt; i++) {
		size_t n = iov[i].iov_len;

		if (off + n > NVSC_PAIR_FRAME_MAX)
			n = NVSC_PAIR_FRAME_MAX - off;
		memcpy(f->data + off, iov[i].iov_base, n);
		off += (uint32_t)n;
	}
	return 0;
}

static int attach_host(struct nvsc_pair *p)
{
	size_t sz;
	void *in = nvsc_gsim_ring(p->g, true, &sz);
	void *out = nvsc_gsim_ring(p->g, false, &sz);

	vmbus_ring_free(p->hin);
	vmbus_ring_free(p->hout);
	p->hin = vmbus_ring_attach(in, sz, 0);
	p->hout = vmbus_ring_attach(out, sz, VMBUS_RING_SET_FEAT);
	if (!p->hin || !p->hout)
		return -errno;
	return nvsp_attach(p->nv, p->hin, p->hout);
}

static struct nvsp *new_host(struct nvsc_pair *p)
{
	struct nvsp_config c = p->hcfg;

	c.ctx = p;
	c.gpa_to_hva = pair_gpa_to_hva;
	c.map_gpadl = pair_map_gpadl;
	c.signal_guest = pair_signal_guest;
	c.log = pair_log;
	c.now_ms = pair_now;
	return nvsp_create(&c);
}

struct nvsc_pair *nvsc_pair_create(const struct nvsp_config *hcfg,
				   const struct nvsc_gsim_config *gcfg)
{
	struct nvsc_gsim_config gc = gcfg ? *gcfg : (struct nvsc_gsim_config){0};
	struct nvsc_gsim_transport t = {0};
	struct nvsc_pair *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	if (hcfg)
		p->hcfg = *hcfg;
	p->gpa_base = PAIR_GPA_BASE;
	p->mem_size = nvsc_gsim_mem_needed(&gc);
	p->mem = aligned_alloc(4096, p->mem_size);
	p->host_rx = calloc(NVSC_PAIR_KEEP, sizeof(*p->host_rx));
	p->guest_rx = calloc(NVSC_PAIR_KEEP, sizeof(*p->guest_rx));
	if (!p->mem || !p->host_rx || !p->guest_rx)
		goto err_free;
	gc.rx = pair_guest_rx;
	gc.rx_arg = p;
	t = (struct nvsc_gsim_transport){
		p, p->mem, p->gpa_base, p->mem_size, pair_create_gpadl, pair_signal_host};
	p->g = nvsc_gsim_create(&t, &gc);
	p->nv = p->g ? new_host(p) : NULL;
	if (!p->nv || attach_host(p) < 0)
		goto err_free;
	p->sink = (struct nvsp_sink){p, pair_host_frame};
	return p;
err_free:
	nvsc_pair_free(p);
	errno = errno ? errno : ENOMEM;
	return NULL;
}

void nvsc_pair_free(struct nvsc_pair *p)
{
	if (!p)
		return;
	nvsp_free(p->nv);
	vmbus_ring_free(p->hin);
	vmbus_ring_free(p->hout);
	nvsc_gsim_free(p->g);
	free(p->mem);
	free(p->host_rx);
	free(p->guest_rx);
	free(p);
}

int nvsc_pair_pump(struct nvsc_pair *p, unsigned int rounds)
{
	for (unsigned int i = 0; i < rounds; i++) {
		int h = nvsp_poll(p->nv, &p->sink, 256);
		int g;

		if (h < 0)
			return h;
		g = nvsc_gsim_poll(p->g, 256);
		if (g < 0)
			return g;
		if (h == 0 && g == 0 && !nvsp_wants_poll(p->nv) &&
		    vmbus_ring_bytes_to_read(p->hin) == 0)
			return 0;
	}
	return 0;
}

int nvsc_pair_handshake(struct nvsc_pair *p)
{
	int r = nvsc_gsim_start(p->g);

	if (r < 0)
		return r;
	r = nvsc_pair_pump(p, 200);
	if (r < 0)
		return r;
	return nvsc_gsim_ready(p->g) ? 0 : -ETIMEDOUT;
}

int nvsc_pair_reconnect(struct nvsc_pair *p, const void *buf, size_t len)
{
	int r;

	nvsp_detach(p->nv);
	nvsp_free(p->nv);
	p->nv = new_host(p);
	if (!p->nv)
		return -errno;
	if (len) {
		r = nvsp_restore(p->nv, buf, len);
		if (r < 0)
			return r;
	}
	return attach_host(p);
}
