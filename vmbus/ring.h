/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * VMBus ring buffer: one direction of a VMBus channel, laid out in memory the
 * caller supplies (usually guest memory mapped through a GPADL). The first
 * 4 KiB page is the shared header (write_index @0, read_index @4,
 * interrupt_mask @8, pending_send_sz @12, feature_bits @64); the data area
 * follows it. Packets are a 16-byte descriptor (type, data offset and total
 * length in 8-byte units, flags, transaction id), an optional descriptor
 * extension, the payload padded to 8 bytes, and an 8-byte trailer holding the
 * writer's previous write index in its upper 32 bits.
 *
 * The same code serves both ends: the host (vmm ICs, vswitchd NetVSP) reads
 * the guest->host ring and writes the host->guest ring, and the guest-side
 * simulator does the reverse. Each end keeps a private copy of its own index;
 * the peer's index and every descriptor are untrusted: they are validated
 * and a bad one yields -EPROTO (and only then), after which the caller must
 * stop using the ring and close the channel.
 *
 * Signalling follows what Linux guests do: a writer signals only when the
 * reader has not masked interrupts and the ring was empty before the write;
 * a reader that frees space signals the writer when the writer advertised
 * pending_send_sz (feature bit 0) and the free space just crossed it.
 *
 * Thread rules: one thread writes and one thread reads a given ring; the
 * peer runs concurrently in another address space or thread.
 */
#ifndef HVNET_VMBUS_RING_H
#define HVNET_VMBUS_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define VMBUS_RING_HDR_SIZE	4096u
#define VMBUS_RING_PAGE_SIZE	4096u
#define VMBUS_PKT_DESC_SIZE	16u
#define VMBUS_PKT_TRAILER_SIZE	8u
/* Largest packet the 16-bit len8 field can describe. */
#define VMBUS_PKT_MAX_LEN	(0xffffu * 8u)

/* Shared header offsets (bytes from the start of the header page). */
#define VMBUS_RING_OFF_WRITE_INDEX	0
#define VMBUS_RING_OFF_READ_INDEX	4
#define VMBUS_RING_OFF_INTERRUPT_MASK	8
#define VMBUS_RING_OFF_PENDING_SEND_SZ	12
#define VMBUS_RING_OFF_FEATURE_BITS	64
#define VMBUS_RING_FEAT_PENDING_SEND_SZ	0x1u

/* Packet types (vmpacket_descriptor.type). */
#define VMBUS_PKT_DATA_INBAND		0x6
#define VMBUS_PKT_DATA_XFER_PAGES	0x7
#define VMBUS_PKT_DATA_GPA_DIRECT	0x9
#define VMBUS_PKT_COMP			0xb
/* Packet flags. */
#define VMBUS_PKT_F_COMPLETION_REQUESTED 0x1

/* vmbus_ring_attach() flags. */
#define VMBUS_RING_INIT		0x1u /* zero the shared header (fresh ring) */
#define VMBUS_RING_SET_FEAT	0x2u /* set feature bit 0 (we honour pending_send_sz) */

struct vmbus_ring;

/* A packet seen by the reader. Fields come from a private copy of the
 * descriptor; desc and data point either into the ring (contiguous packet)
 * or into the caller's bounce buffer (packet that wraps). Bytes behind desc
 * that live in the ring remain writable by the peer: copy before validating
 * nested fields. */
struct vmbus_pkt {
	uint16_t type;
	uint16_t flags;
	uint64_t trans_id;
	const uint8_t *desc;	/* start of the packet (descriptor) */
	uint32_t len;		/* len8 * 8: descriptor + extension + payload */
	const uint8_t *data;	/* desc + offset8 * 8 */
	uint32_t data_len;	/* (len8 - offset8) * 8 */
	uint32_t ring_len;	/* bytes this packet occupies incl. the trailer */
};

/* A packet to write. ext (multiple of 8 bytes, may be NULL) follows the
 * 16-byte descriptor; the payload is gathered from iov and padded to 8. */
struct vmbus_pkt_out {
	uint16_t type;
	uint16_t flags;
	uint64_t trans_id;
	const void *ext;
	uint32_t ext_len;
	const struct iovec *iov;
	unsigned int iovcnt;
};

/*
 * Attaches to a ring of ring_size bytes at base (header page + data area).
 * ring_size must be a multiple of 4 KiB and at least 8 KiB; base must be
 * 8-byte aligned. flags: VMBUS_RING_INIT zeroes the header first (the side
 * that allocates the ring), VMBUS_RING_SET_FEAT sets feature bit 0. The
 * indices already in the header are validated and become the private
 * positions. The ring does not own the memory, which must outlive it.
 * Returns a new ring, or NULL with errno EINVAL (bad size/alignment), EPROTO
 * (corrupt indices) or ENOMEM. Any thread.
 */
struct vmbus_ring *vmbus_ring_attach(void *base, size_t ring_size, unsigned int flags);

/* Frees the ring object (not the memory). Accepts NULL. */
void vmbus_ring_free(struct vmbus_ring *r);

/* Size of the data area in bytes. */
uint32_t vmbus_ring_data_size(const struct vmbus_ring *r);

/* Total bytes (packet + trailer) that writing a packet of payload_len bytes
 * with an ext_len-byte descriptor extension takes. */
uint32_t vmbus_ring_pkt_space(uint32_t ext_len, uint32_t payload_len);

/*
 * Writer side. Writes one packet and publishes the new write index with
 * release ordering. Sets *signal to true when the peer must be interrupted
 * (its interrupt_mask is 0 and the ring was empty before this write), else
 * false. Returns 0, -EAGAIN when the ring lacks space (nothing written; a
 * ring is never filled completely), -EMSGSIZE when the packet can never fit,
 * -EINVAL on a bad argument, -EPROTO when the peer's read index is corrupt.
 */
int vmbus_ring_write(struct vmbus_ring *r, const struct vmbus_pkt_out *p, bool *signal);

/* Convenience: writes an inband packet whose payload is buf[0..len). */
int vmbus_ring_write_inband(struct vmbus_ring *r, uint16_t type, uint16_t flags,
			    uint64_t trans_id, const void *buf, size_t len, bool *signal);

/*
 * Writer side, flow control: advertises that the writer waits for more than
 * bytes of free space (pending_send_sz), then re-reads the read index after a
 * full barrier. Returns 1 when the space is already there (the caller retries
 * at once; pending_send_sz is left set), 0 when the caller must wait for the
 * reader's signal, -EPROTO on a corrupt read index. bytes 0 clears the field.
 */
int vmbus_ring_want_space(struct vmbus_ring *r, uint32_t bytes);

/* Free bytes a writer could use now (at most data size - 1), or -EPROTO. */
int64_t vmbus_ring_bytes_to_write(struct vmbus_ring *r);

/*
 * Reader side. Looks at the next packet at the private read position without
 * consuming it. A packet that wraps around the end of the data area is
 * copied into bounce (bounce_len bytes). Returns 0 and fills *pkt, -EAGAIN
 * when the ring is empty, -EMSGSIZE when a wrapping packet does not fit in
 * bounce (nothing consumed), -EPROTO when the write index or the descriptor
 * is corrupt (offset/length out of range or beyond the published bytes).
 */
int vmbus_ring_peek(struct vmbus_ring *r, struct vmbus_pkt *pkt, void *bounce, size_t bounce_len);

/* Reader side: advances the private read position past pkt (from the last
 * vmbus_ring_peek). Does not publish: see vmbus_ring_read_commit(). */
void vmbus_ring_consume(struct vmbus_ring *r, const struct vmbus_pkt *pkt);

/*
 * Reader side: publishes the private read position (release) once per batch
 * and applies the pending_send_sz rule: *signal is true when the feature bit
 * is set, the writer advertised pending_send_sz, and the free space moved
 * from at most to above it with this batch. Returns 0 or -EPROTO.
 */
int vmbus_ring_read_commit(struct vmbus_ring *r, bool *signal);

/*
 * Reader side, convenience: copies the next packet's payload (data_len
 * bytes, at most len) straight from the ring into buf, consumes it and
 * commits. *pkt describes the packet (desc and data are NULL). Returns the
 * payload bytes copied, -EAGAIN, -EPROTO, or -EMSGSIZE when the payload
 * exceeds len (nothing consumed: the caller must fail the channel or retry
 * with a larger buffer).
 */
int vmbus_ring_read(struct vmbus_ring *r, struct vmbus_pkt *pkt, void *buf, size_t len,
		    bool *signal);

/* Bytes published by the writer and not yet consumed, or -EPROTO. */
int64_t vmbus_ring_bytes_to_read(struct vmbus_ring *r);

/* Reader side: sets interrupt_mask = 1 (polling; the writer will not signal). */
void vmbus_ring_mask(struct vmbus_ring *r);

/* Reader side: sets interrupt_mask = 0, full barrier, then re-reads the write
 * index. Returns the bytes that arrived meanwhile (> 0: poll again, no
 * signal will come for them), or -EPROTO. */
int64_t vmbus_ring_unmask(struct vmbus_ring *r);

/* Counters of one ring, for stats and tests. */
struct vmbus_ring_stats {
	uint64_t packets_written;
	uint64_t packets_read;
	uint64_t full;		/* writes refused for lack of space */
	uint64_t signals;	/* times *signal was set */
	uint64_t corrupt;	/* -EPROTO results */
};

/* Copies the counters. */
void vmbus_ring_get_stats(const struct vmbus_ring *r, struct vmbus_ring_stats *st);

#endif /* HVNET_VMBUS_RING_H */
