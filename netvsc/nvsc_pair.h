/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Test fixture: a NetVSP host (netvsp.h) and the guest simulator
 * (nvsc_gsim.h) wired together in one process on one block of "guest
 * memory", with an in-memory GPADL table, signal counters, a clock the test
 * controls and sinks that keep copies of the frames each side received.
 * Unit tests, fuzzers and benchmarks use it; vswitchd does not.
 *
 * Unlike the library's other objects its struct is public: tests read and
 * poke its fields (hide GPADLs, advance the clock, corrupt memory).
 */
#ifndef HVNET_NETVSC_NVSC_PAIR_H
#define HVNET_NETVSC_NVSC_PAIR_H

#include <stdbool.h>
#include <stdint.h>

#include "netvsp.h"
#include "nvsc_gsim.h"

struct vmbus_ring;

#define NVSC_PAIR_KEEP	    64u /* frames kept per direction */
#define NVSC_PAIR_FRAME_MAX 9100u

struct nvsc_pair_frame {
	uint32_t len;
	unsigned int iovcnt; /* host side: pieces the frame came in */
	struct nvsp_frame_info info;
	uint8_t data[NVSC_PAIR_FRAME_MAX];
};

struct nvsc_pair_gpadl {
	uint32_t id;
	uint64_t off; /* from mem */
	uint64_t len;
};

struct nvsc_pair {
	uint8_t *mem;
	uint64_t gpa_base;
	uint64_t mem_size;
	struct nvsc_gsim *g;
	struct nvsp *nv;
	struct vmbus_ring *hin;	 /* host's reader of the guest->host ring */
	struct vmbus_ring *hout; /* host's writer of the host->guest ring */
	struct nvsc_pair_gpadl gpadls[4];
	unsigned int ngpadls;
	bool hide_gpadls; /* map_gpadl answers EAGAIN */
	uint64_t now_ms;
	uint64_t host_signals;		 /* signal_guest calls */
	uint64_t guest_signals;		 /* signal_host calls */
	int sink_ret;			 /* what the host sink returns (0 or -ENOBUFS) */
	uint64_t host_frames;		 /* frames the host sink saw */
	uint64_t guest_frames;		 /* frames the guest received */
	struct nvsc_pair_frame *host_rx; /* NVSC_PAIR_KEEP, index frames % KEEP */
	struct nvsc_pair_frame *guest_rx;
	struct nvsp_sink sink;
	struct nvsp_config hcfg; /* what the host was created with */
	bool quiet;		 /* no log lines on stderr */
	uint64_t log_lines;	 /* lines the host logged */
};

/*
 * Creates a pair: allocates guest memory for gcfg, creates the simulator,
 * attaches host rings on its ring GPADL and a NetVSP with hcfg (callbacks,
 * ctx are filled in; mac/mtu taken from hcfg, which may be NULL). The
 * handshake is not started. NULL with errno on failure.
 */
struct nvsc_pair *nvsc_pair_create(const struct nvsp_config *hcfg,
				   const struct nvsc_gsim_config *gcfg);
void nvsc_pair_free(struct nvsc_pair *p);

/* Alternates host and guest polls until neither makes progress (at most
 * rounds rounds). Returns 0, or the first negative result (-EPROTO ...). */
int nvsc_pair_pump(struct nvsc_pair *p, unsigned int rounds);

/* Starts the handshake and pumps until the guest is ready. 0 or -errno. */
int nvsc_pair_handshake(struct nvsc_pair *p);

/* Re-attaches the host rings (reconnect): new vmbus_ring objects on the same
 * memory and a new nvsp that restores buf (when len > 0). 0 or -errno. */
int nvsc_pair_reconnect(struct nvsc_pair *p, const void *buf, size_t len);

#endif /* HVNET_NETVSC_NVSC_PAIR_H */
