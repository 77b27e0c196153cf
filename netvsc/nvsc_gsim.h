/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Guest-side simulator of a synthetic NIC: plays Linux's hv_netvsc on the
 * guest memory it is given. It lays out the channel's two rings, its receive
 * buffer (default 2 MiB; Linux uses 16 MiB), send buffer (1 MiB) and scratch
 * pages for GPA-direct frames in that memory, tells its transport about the
 * GPADLs, and runs the NVSP + RNDIS handshake in Linux's order without
 * blocking: every nvsc_gsim_poll() advances it. Then it sends frames (send
 * sections, or GPA-direct page ranges that may cross pages, optionally with
 * an 802.1Q per-packet info), receives transfer-page packets (frames go to a
 * callback, the packet is completed) and follows RNDIS status indications.
 *
 * It writes the guest->host ring and reads the host->guest ring (vmbus/ring.h
 * from the guest's end) and checks the host's replies the way Linux does; a
 * reply Linux would refuse puts the simulator in a failed state with a
 * reason (nvsc_gsim_error()).
 *
 * Usable in one process (unit tests: host nvsp and simulator on the same
 * memory, alternating polls) and across processes (the memory is a memfd
 * that both sides map; the transport carries GPADLs and doorbells). Also has
 * helpers to write malformed input for tests. One thread at a time.
 */
#ifndef HVNET_NETVSC_NVSC_GSIM_H
#define HVNET_NETVSC_NVSC_GSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nvsc_gsim;

/* How the simulator reaches its "host". */
struct nvsc_gsim_transport {
	void *ctx;
	uint8_t *mem;	   /* host pointer of guest memory at gpa_base */
	uint64_t gpa_base; /* page aligned */
	uint64_t mem_size; /* bytes the simulator may use from gpa_base */
	/* A GPADL the guest created (ring, receive or send buffer): n page numbers.
	 * 0 or -errno (the simulator fails). */
	int (*create_gpadl)(void *ctx, uint32_t gpadl_id, const uint64_t *pfns, uint32_t n);
	/* Guest->host doorbell (HvSignalEvent). */
	void (*signal_host)(void *ctx);
};

struct nvsc_gsim_config {
	uint32_t max_version;	/* newest NVSP version offered, older follow (0: 0x60001) */
	uint32_t min_version;	/* oldest version tried (0: 0x2) */
	uint32_t mtu;		/* 0: 1500 */
	uint32_t ring_size;	/* bytes per direction incl. header page (0: 128 KiB) */
	uint32_t recv_buf_size; /* 0: 2 MiB */
	uint32_t send_buf_size; /* 0: 1 MiB */
	uint32_t ring_gpadl;	/* GPADL ids (0: 0xe1e10, 0xe1e11, 0xe1e12) */
	uint32_t recv_gpadl;
	uint32_t send_gpadl;
	bool gpa_direct; /* send frames and control messages as GPA direct */
	/* RNDIS data messages per send section at most (0 or 1: no batching; the
	 * host's max_pkts_per_msg bounds it): frames sent with tx.more are
	 * batched as Linux batches under load (xmit_more), a frame that does not
	 * fit a batch's section goes as a partial copy (its header in the
	 * section, its data by GPA-direct range), as Linux does. */
	uint32_t batch;
	/* Frames from the host (untagged). */
	void (*rx)(void *arg, const void *frame, uint32_t len);
	void *rx_arg;
};

/* Space nvsc_gsim_create() needs from the transport's memory for cfg. */
uint64_t nvsc_gsim_mem_needed(const struct nvsc_gsim_config *cfg);

/*
 * Creates the simulator: lays out and zeroes rings and buffers in t->mem,
 * attaches its ring ends (the host attaches the other ends afterwards, see
 * nvsc_gsim_ring()) and reports the ring GPADL. t and cfg are copied.
 * Returns NULL with errno EINVAL (bad sizes, memory too small), ENOMEM, or the
 * create_gpadl error.
 */
struct nvsc_gsim *nvsc_gsim_create(const struct nvsc_gsim_transport *t,
				   const struct nvsc_gsim_config *cfg);
void nvsc_gsim_free(struct nvsc_gsim *g);

/* The ring GPADL: guest->host ring first (ring_size bytes), then host->guest.
 * Returns a host pointer to one direction's ring (header page first) and its
 * size in *size, so an in-process host can vmbus_ring_attach() it. */
void *nvsc_gsim_ring(struct nvsc_gsim *g, bool to_host, size_t *size);
uint32_t nvsc_gsim_ring_gpadl(const struct nvsc_gsim *g);

/* Starts the handshake (sends the first INIT). 0 or -errno. */
int nvsc_gsim_start(struct nvsc_gsim *g);

/*
 * Reads up to max packets from the host->guest ring: completions, transfer
 * pages (frames to cfg.rx, RNDIS replies advance the handshake), and sends
 * what the handshake needs next. Returns packets handled (>= 0), or -EPROTO
 * (ring corrupt or a host reply Linux would refuse: see nvsc_gsim_error()).
 */
int nvsc_gsim_poll(struct nvsc_gsim *g, unsigned int max);

/* Handshake done: RNDIS initialized, offloads set, packet filter set. */
bool nvsc_gsim_ready(const struct nvsc_gsim *g);
/* Reason of the failure, or NULL. */
const char *nvsc_gsim_error(const struct nvsc_gsim *g);

/* Per-frame send options. */
struct nvsc_gsim_tx {
	bool gpa_direct; /* override cfg.gpa_direct for this frame */
	bool has_vlan;	 /* add an 802.1Q per-packet info */
	uint16_t vlan_tci;
	uint32_t page_offset; /* GPA direct: offset of the RNDIS message in its first page */
	bool more;	      /* more frames follow at once (xmit_more): may be batched */
};

/*
 * Sends one frame (opt may be NULL): RNDIS packet message in a free send
 * section (batched with others when cfg.batch > 1 and opt->more), or in
 * scratch pages described by GPA-direct ranges. Like Linux's queue, the
 * simulator's stops when a send leaves less than 10% of the ring free or
 * finds it full, and wakes only at a send completion from the host (over 20%
 * free, or nothing in flight): a host that loses or withholds completions
 * stalls it. Returns 0, -ENOTCONN (handshake not done), -EAGAIN (queue
 * stopped, no free section/scratch slot or ring full), -EINVAL (frame too big).
 */
int nvsc_gsim_send(struct nvsc_gsim *g, const void *frame, uint32_t len,
		   const struct nvsc_gsim_tx *opt);

/* Sends the open batch now (the frames sent with "more"). 0, -EAGAIN (ring
 * full: sent once the queue wakes), -EPROTO. */
int nvsc_gsim_flush(struct nvsc_gsim *g);

/* Sets the RNDIS packet filter (as "ip link set down" sets 0). 0 or -errno. */
int nvsc_gsim_set_filter(struct nvsc_gsim *g, uint32_t filter);

/* Interrupt mask of the host->guest ring (the guest's NAPI polling). unmask
 * returns bytes waiting (> 0: poll again). */
void nvsc_gsim_mask(struct nvsc_gsim *g);
int64_t nvsc_gsim_unmask(struct nvsc_gsim *g);

struct nvsc_gsim_stats {
	uint64_t rx_frames;
	uint64_t rx_bytes;
	uint64_t rx_xfer_packets;
	uint64_t rx_ctrl_msgs;
	uint64_t tx_frames;
	uint64_t tx_completions;
	uint64_t signals;	      /* doorbells rung */
	uint64_t link_changes;	      /* status indications received */
	uint64_t pending_completions; /* receive completions waiting for ring space */
	uint64_t tx_batches;	      /* send sections that carried several frames */
	uint64_t tx_partial;	      /* partial copies (section + GPA range) */
	uint64_t tx_stops;	      /* transmit queue stopped (ring low or full) */
	uint64_t tx_wakes;	      /* ... and woken by a completion */
	uint64_t tx_packets;	      /* data packets sent (a batch or partial copy is one) */
	uint32_t tx_in_flight;	      /* ... not completed yet */
	uint32_t nvsp_version;
	uint32_t recv_sections;
	uint32_t recv_section_size;
	uint32_t send_sections;
	uint32_t send_section_size;
	uint32_t send_sections_in_use;
	uint32_t host_mtu;   /* from OID_GEN_MAXIMUM_FRAME_SIZE */
	uint32_t link_speed; /* 100 bit/s units */
	uint8_t mac[6];
	bool link_up;
	bool rss_refused; /* RSS capabilities query answered "single queue" */
};
void nvsc_gsim_get_stats(const struct nvsc_gsim *g, struct nvsc_gsim_stats *st);

/* ---- malformed-input helpers for tests and fuzzers ---- */

/* Writes an arbitrary packet into the guest->host ring and signals. ext
 * (ext_len, multiple of 8) follows the descriptor. 0 or the ring error. */
int nvsc_gsim_send_raw(struct nvsc_gsim *g, uint16_t type, uint16_t flags, uint64_t trans_id,
		       const void *ext, uint32_t ext_len, const void *payload, uint32_t len);
/* An inband NVSP message of len bytes (completion requested). */
int nvsc_gsim_send_nvsp(struct nvsc_gsim *g, const void *msg, uint32_t len);
/* Copies len bytes of RNDIS message(s) into send section copy_to (must exist)
 * and sends SEND_RNDIS_PKT naming section_index/section_size as given. */
int nvsc_gsim_send_rndis_section(struct nvsc_gsim *g, uint32_t channel, uint32_t copy_to,
				 uint32_t section_index, uint32_t section_size, const void *rndis,
				 uint32_t len);
/* Scratch pages for hand-made GPA-direct packets: host pointer, *gpa and
 * *len (at least 64 KiB). */
void *nvsc_gsim_scratch(struct nvsc_gsim *g, uint64_t *gpa, uint32_t *len);

#endif /* HVNET_NETVSC_NVSC_GSIM_H */
