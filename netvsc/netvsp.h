/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NetVSP: the host side of one VMBus synthetic NIC channel (the peer of
 * Linux's hv_netvsc). It reads the guest->host ring (NVSP control messages,
 * RNDIS control messages and guest frames), writes the host->guest ring
 * (completions and transfer-page packets pointing into the guest's receive
 * buffer) and copies switched frames into receive-buffer sections.
 *
 * Plain C without DPDK: vswitchd's synthetic-NIC port (vswitch/port_synth)
 * drives it from a datapath lcore; tests drive it against the guest-side
 * simulator (nvsc_gsim.h). Rings are vmbus/ring.h objects the caller
 * attaches; buffer GPADLs are mapped by the caller through map_gpadl().
 *
 * Everything the guest wrote is untrusted and validated before use; a guest
 * that breaks the protocol moves the channel to FAILED (counted per reason,
 * logged rate-limited) and nothing else is touched.
 *
 * Thread rules: one nvsp is used by one thread at a time (the datapath lcore
 * that polls it). nvsp_create/free/save/restore/attach/detach are control
 * operations that the caller must not run concurrently with poll/deliver on
 * the same nvsp. No locks, no allocation and no syscalls on the per-frame
 * path (poll, deliver); callbacks run on the calling thread.
 */
#ifndef HVNET_NETVSC_NETVSP_H
#define HVNET_NETVSC_NETVSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct vmbus_ring;
struct nvsp; /* one synthetic NIC channel, host side */

struct nvsp_config {
	uint8_t mac[6];
	uint32_t mtu;		/* 0: 1500; 68..9000 */
	uint32_t vmbus_version; /* negotiated VMBus version (informational) */
	void *ctx;		/* passed to the callbacks */
	/* Host pointer for guest-physical [gpa, gpa+len) or NULL if any byte is outside RAM. */
	void *(*gpa_to_hva)(void *ctx, uint64_t gpa, uint64_t len);
	/* Contiguous host mapping of the GPADL the guest created for this channel (receive or
	 * send buffer), *len its size; NULL with errno EAGAIN when not known YET (the message is
	 * left in the ring and retried on a later poll; after ~2 s the channel fails), NULL with
	 * another errno: unknown GPADL (the request is answered with a failure status). */
	void *(*map_gpadl)(void *ctx, uint32_t gpadl, size_t *len);
	/* Raise the channel interrupt (the caller sets the SIEF bit and writes the irqfd). */
	void (*signal_guest)(void *ctx);
	/* Optional log line (syslog level, no newline); bad-guest messages are rate-limited. */
	void (*log)(void *ctx, int level, const char *line);
	/* Optional monotonic milliseconds (GPADL retry timeout); NULL: CLOCK_MONOTONIC. */
	uint64_t (*now_ms)(void *ctx);
};

/*
 * Creates a channel in state "init" (no rings). cfg (gpa_to_hva, map_gpadl and
 * signal_guest required) is copied. Allocates every table the per-frame path
 * needs. Returns NULL with errno EINVAL (bad MTU, missing callback) or ENOMEM.
 * Control thread.
 */
struct nvsp *nvsp_create(const struct nvsp_config *cfg);

/* Frees the channel (the rings are the caller's). Accepts NULL. */
void nvsp_free(struct nvsp *nv);

/*
 * Attaches the two rings (already vmbus_ring_attach()ed by the caller on the
 * mapped ring GPADL: in = guest->host, out = host->guest with
 * VMBUS_RING_SET_FEAT). Both are borrowed until nvsp_detach(). A restored
 * nvsp (nvsp_restore) resumes with every receive section free, ignores stale
 * completions and indicates the link down then up. Returns 0, -EINVAL (NULL
 * ring), -EBUSY (already attached) or -EPROTO (the channel FAILED before).
 */
int nvsp_attach(struct nvsp *nv, struct vmbus_ring *in, struct vmbus_ring *out);

/* Channel closed: forgets the rings and buffer mappings; negotiated state is
 * kept for nvsp_save(). A FAILED channel stays FAILED. Accepts NULL. */
void nvsp_detach(struct nvsp *nv);

/* Per-packet information of a guest frame. */
struct nvsp_frame_info {
	uint16_t vlan_tci; /* 802.1Q TCI from the guest's per-packet info */
	bool has_vlan;
	uint32_t csum_info; /* raw NDIS checksum info when the guest sent one, else 0 */
};

/* Where guest frames go. */
struct nvsp_sink {
	void *arg;
	/* iov points into guest memory (send-buffer section or GPA-direct pages) and is
	 * valid only during the call: copy it before returning. Return 0, or -ENOBUFS to
	 * drop this frame (counted as rx_drop_sink) and continue. */
	int (*frame)(void *arg, const struct iovec *iov, unsigned int iovcnt, uint32_t len,
		     const struct nvsp_frame_info *info);
};

/* RNDIS messages one guest packet may carry (advertised to the guest as
 * max_pkts_per_msg; Linux batches up to this many frames per send section). */
#define NVSP_MAX_PKTS_PER_MSG 8u

/*
 * Guest->switch: processes up to max packets from the guest ring, and hands
 * the sink at most max frames: a packet whose data messages do not fit the
 * room left stays in the ring for the next call (max must be at least
 * NVSP_MAX_PKTS_PER_MSG, so that any valid packet fits an empty call). A
 * packet with more RNDIS messages than that breaks the protocol. Control
 * messages (NVSP init, NDIS config/version, buffers, RNDIS init/query/set/
 * keepalive/halt/reset, completions of our transfer-page packets) are handled
 * inside; each guest frame goes to sink->frame(). The completion that lets
 * the guest reuse the memory is written after the callback returns; RNDIS
 * control replies follow at the end of the call; the guest is signalled at
 * most once per call. Stops early when the host->guest ring cannot take a
 * completion (then nvsp_wants_poll() is true).
 * Returns frames delivered to the sink (0..max), -EPROTO once the guest broke
 * the protocol (the channel is FAILED; every later call returns -EPROTO),
 * -ENOTCONN when not attached, -EINVAL without sink or with max too small.
 * Datapath thread.
 */
int nvsp_poll(struct nvsp *nv, const struct nvsp_sink *sink, unsigned int max);

/*
 * True when the caller must call nvsp_poll() again without waiting for the
 * guest's doorbell: a message waits for a GPADL mapping or for ring space, a
 * control reply waits for a free receive section, or a restored/link change
 * indication is pending.
 */
bool nvsp_wants_poll(const struct nvsp *nv);

/* A frame for the guest. */
struct nvsp_frame {
	const void *data;
	uint32_t len;
};

/*
 * Switch->guest: copies up to n frames into free receive-buffer sections and
 * posts them with ONE transfer-pages packet (one range per frame; split only
 * when the packet would exceed NVSP_MAX_XFER_RANGES ranges), signalling the
 * guest per the ring rules. Frames are accepted only once the guest set a
 * non-zero packet filter and the link is up. Returns how many leading frames
 * were accepted; the rest are the caller's to drop (counted in stats by
 * reason: tx_drop_not_ready / _filter / _no_section / _ring_full / _too_big).
 * A too-big frame in the middle is dropped (counted, reported as accepted) so
 * that one frame cannot stall a burst. Datapath thread.
 */
unsigned int nvsp_deliver(struct nvsp *nv, const struct nvsp_frame *frames, unsigned int n);

/* Ranges (frames) per transfer-pages packet at most. */
#define NVSP_MAX_XFER_RANGES 64u

/* Link state: RNDIS_INDICATE_STATUS media connect/disconnect once RNDIS is
 * initialized (sent on the next poll/deliver if it cannot be sent now).
 * Initially up. Datapath thread (or control thread while detached). */
void nvsp_set_link(struct nvsp *nv, bool up);

/* Polling mode: masks the guest->host ring interrupt while the caller polls. */
void nvsp_mask(struct nvsp *nv);

/* Going idle: unmasks and returns > 0 when data arrived meanwhile (poll again:
 * no doorbell will come for it), 0 when idle, -EPROTO or -ENOTCONN. */
int64_t nvsp_unmask(struct nvsp *nv);

/* Largest buffer nvsp_save() needs. */
#define NVSP_SAVE_MAX 1024u

/*
 * Reconnect support: serializes the negotiated state (versions, buffer GPADL
 * ids and section layout, RNDIS state, packet filter, MTU, MAC) into buf.
 * Returns bytes written (<= NVSP_SAVE_MAX), -ENOSPC (len too small) or -EPROTO
 * (FAILED channels are not saved).
 */
int nvsp_save(const struct nvsp *nv, void *buf, size_t len);

/*
 * Applies a saved state (untrusted: validated first) to a fresh nvsp that was
 * never attached. The saved MAC and MTU must equal nv's configuration.
 * Returns 0, -EINVAL (malformed or mismatching state; nv unchanged) or
 * -EBUSY (nv already attached or used).
 */
int nvsp_restore(struct nvsp *nv, const void *buf, size_t len);

/* Increments whenever state that nvsp_save() serializes changed (for callers
 * that persist it on change). */
uint64_t nvsp_state_gen(const struct nvsp *nv);

/* Counters, in the order of nvsp_stats.counters[]. "rx" is guest->switch
 * (nvsp_poll), "tx" is switch->guest (nvsp_deliver), as for a switch port. */
#define NVSP_COUNTERS(X)                                                                           \
	X(RX_FRAMES, "rx_frames")                                                                  \
	X(RX_BYTES, "rx_bytes")                                                                    \
	X(RX_DROP_SINK, "rx_drop_sink")                                                            \
	X(RX_DROP_NOT_READY, "rx_drop_not_ready")                                                  \
	X(RX_DROP_TOO_BIG, "rx_drop_too_big")                                                      \
	X(TX_FRAMES, "tx_frames")                                                                  \
	X(TX_BYTES, "tx_bytes")                                                                    \
	X(TX_PACKETS, "tx_xfer_packets")                                                           \
	X(TX_DROP_NOT_READY, "tx_drop_not_ready")                                                  \
	X(TX_DROP_FILTER, "tx_drop_filter")                                                        \
	X(TX_DROP_NO_SECTION, "tx_drop_no_section")                                                \
	X(TX_DROP_RING_FULL, "tx_drop_ring_full")                                                  \
	X(TX_DROP_TOO_BIG, "tx_drop_too_big")                                                      \
	X(TX_COMPLETIONS, "tx_completions")                                                        \
	X(STALE_COMPLETIONS, "stale_completions")                                                  \
	X(NVSP_MSGS, "nvsp_msgs")                                                                  \
	X(RNDIS_CTRL_MSGS, "rndis_ctrl_msgs")                                                      \
	X(RNDIS_NOT_SUPPORTED, "rndis_not_supported")                                              \
	X(LINK_INDICATIONS, "link_indications")                                                    \
	X(INTERRUPTS, "interrupts")                                                                \
	X(GPADL_WAITS, "gpadl_waits")                                                              \
	X(GPADL_UNKNOWN, "gpadl_unknown")                                                          \
	X(RING_FULL_WAITS, "ring_full_waits")                                                      \
	X(ERR_RING, "err_ring")                                                                    \
	X(ERR_PKT_TYPE, "err_pkt_type")                                                            \
	X(ERR_NVSP_LEN, "err_nvsp_len")                                                            \
	X(ERR_NVSP_TYPE, "err_nvsp_type")                                                          \
	X(ERR_NVSP_STATE, "err_nvsp_state")                                                        \
	X(ERR_SECTION, "err_section")                                                              \
	X(ERR_RANGE, "err_range")                                                                  \
	X(ERR_RNDIS_LEN, "err_rndis_len")                                                          \
	X(ERR_RNDIS_TYPE, "err_rndis_type")                                                        \
	X(ERR_RNDIS_COUNT, "err_rndis_count")                                                      \
	X(ERR_PPI, "err_ppi")                                                                      \
	X(ERR_GPADL_TIMEOUT, "err_gpadl_timeout")

#define NVSP_CNT_ENUM(id, name) NVSP_CNT_##id,
enum nvsp_counter { NVSP_COUNTERS(NVSP_CNT_ENUM) NVSP_CNT__COUNT };
#undef NVSP_CNT_ENUM

struct nvsp_stats {
	uint64_t counters[NVSP_CNT__COUNT];
	const char *state;	 /* nvsp_state_name() of the current state */
	const char *fail_reason; /* counter name of the violation when FAILED, else NULL */
	uint32_t nvsp_version;	 /* 0 until negotiated */
	uint32_t ndis_version;	 /* major << 16 | minor, 0 until sent */
	uint32_t packet_filter;
	uint32_t mtu;		/* configured MTU */
	uint32_t guest_mtu;	/* from NDIS config (frame size minus 14), 0 if not sent */
	uint32_t recv_sections; /* receive-buffer sections (0: no receive buffer) */
	uint32_t recv_section_size;
	uint32_t recv_sections_in_use; /* posted to the guest, not completed yet */
	uint32_t send_sections;	       /* guest send-buffer sections */
	uint32_t send_section_size;
	bool rndis_initialized;
	bool link_up;
	bool attached;
};

/* Copies counters and state. Datapath thread (or any thread while detached). */
void nvsp_get_stats(const struct nvsp *nv, struct nvsp_stats *st);

/* Name of counter c ("rx_frames", ...), or NULL when out of range. */
const char *nvsp_counter_name(unsigned int c);

/* Current state: "init", "negotiated", "buffers", "ready" (RNDIS initialized
 * and packet filter set), "halted", "failed". */
const char *nvsp_state_name(const struct nvsp *nv);

/* True once the channel FAILED (a protocol violation); see stats.fail_reason. */
bool nvsp_failed(const struct nvsp *nv);

#endif /* HVNET_NETVSC_NETVSP_H */
