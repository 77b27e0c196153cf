/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vmbus-user: the protocol between a VM's process (vmm, or the guest
 * simulator netvsc-sim) and vswitchd, which runs the NetVSP of the VM's
 * synthetic NICs in its own poll loop. It works like vhost-user: the VM side
 * shares the guest's memory (memfds) and, per open network channel, the
 * ring GPADL, the buffer GPADLs, a doorbell eventfd (guest -> host, written
 * by KVM when the guest calls HvSignalEvent on the channel's connection id)
 * and an interrupt eventfd (host -> guest, an irqfd on the vCPU's SINT 2
 * route; the host first sets the channel's bit in the SIEF page).
 *
 * Transport: a unix SOCK_SEQPACKET socket; the VM side connects to the path
 * vswitchd listens on. One message per packet: struct vmbus_user_hdr, then
 * the type's body; file descriptors travel as SCM_RIGHTS on the same packet.
 * Integers are little-endian host order (both ends run on one host).
 *
 * Conversation:
 *   VM side                              vswitchd
 *   HELLO (name, pid, NICs)        ->
 *                                  <-    HELLO_REPLY (status, ports)
 *   MEM (one per RAM region, fd)   ->
 *   NIC_STATE (after a reconnect)  ->    restores what vswitchd saved before
 *   GPADL (per buffer GPADL)       ->    sent before the guest learns the id
 *   CHANNEL_OPEN (ring, 2 fds)     ->
 *   SIEF (target vCPU's SIEF page) ->    when the guest moves it
 *   CHANNEL_CLOSE                  ->
 *                                  <-    CHANNEL_CLOSED (vswitchd stopped
 *                                        touching the rings)
 *   GPADL_DEL                      ->
 *                                  <-    NIC_STATE (opaque NetVSP state to
 *                                        keep for a reconnect)
 *                                  <-    CHANNEL_FAILED (guest broke the
 *                                        protocol; the channel is dead)
 *   STATUS (heartbeat, state)      ->    on change and every few seconds
 *                                  <-    REQUEST (shutdown, power off)
 *   REQUEST_REPLY                  ->
 *
 * If vswitchd goes away the VM side keeps the guest running and reconnects
 * (every second); it then replays HELLO, MEM, the NIC_STATE it last got,
 * the open channels' GPADLs and CHANNEL_OPEN, so the guest's driver never
 * notices more than a link flap.
 *
 * Every field is validated by the receiver (vmbus_user_parse()); vswitchd
 * treats the VM side as untrusted: the guest's own pages, indices and
 * lengths are checked again when they are used.
 *
 * Details fixed by the first implementation (vmbus_user.c, vmm/vsd_link.c):
 * - GPADL covers every GPADL the guest creates for the NIC's relid, the
 *   ring's included (CHANNEL_OPEN names it in ring_gpadl); replies and
 *   CHANNEL_CLOSED echo the request's seq.
 * - vswitchd answers every CHANNEL_CLOSE with CHANNEL_CLOSED (same relid),
 *   also after its own CHANNEL_FAILED; the VM side waits up to 1 s for it.
 * - The doorbell eventfd is non-blocking (the flag is shared by the dups);
 *   KVM writes it on the guest's HvSignalEvent. To interrupt the guest, set
 *   bit relid in the SINT 2 area (byte offset 2 * 256) of target_vp's SIEF
 *   page (the latest SIEF message for that vp wins over sief_gpa), then
 *   write 1 to the interrupt eventfd.
 * - The parser also requires: hdr.nic < VMBUS_USER_MAX_NICS; non-empty VM
 *   and switch names; vlan <= 4094; mtu <= 9000; page-aligned MEM gpa, size
 *   and offset (size > 0) and SIEF gpa; out_offset in 1..npfns-1; relid and
 *   ring_gpadl non-zero (CHANNEL_FAILED may carry relid 0: the NIC's open
 *   channel, whichever it is); status/reason fields <= 0; REQUEST op known.
 */
#ifndef HVNET_VMBUS_USER_H
#define HVNET_VMBUS_USER_H

#include <stddef.h>
#include <stdint.h>

#define VMBUS_USER_VERSION_MAJOR 1
#define VMBUS_USER_VERSION_MINOR 0
#define VMBUS_USER_VERSION	 ((VMBUS_USER_VERSION_MAJOR << 16) | VMBUS_USER_VERSION_MINOR)

#define VMBUS_USER_MAX_MSG	 (256u * 1024u) /* largest packet either side sends */
#define VMBUS_USER_MAX_FDS	 4
#define VMBUS_USER_MAX_NICS	 8
#define VMBUS_USER_NAME_LEN	 32 /* VM, switch and port names incl. NUL */
#define VMBUS_USER_MAX_PFNS	 ((VMBUS_USER_MAX_MSG - 64u) / 8u)
#define VMBUS_USER_MAX_STATE	 1024u /* NIC_STATE blob */
#define VMBUS_USER_MAX_REGIONS	 4
#define VMBUS_USER_MAX_RELID	 2047u /* a channel's bit in the SIEF area of SINT 2 (2048 bits) */

enum vmbus_user_type {
	VMBUS_USER_HELLO = 1,
	VMBUS_USER_HELLO_REPLY = 2,
	VMBUS_USER_MEM = 3,
	VMBUS_USER_GPADL = 4,
	VMBUS_USER_GPADL_DEL = 5,
	VMBUS_USER_CHANNEL_OPEN = 6,
	VMBUS_USER_CHANNEL_CLOSE = 7,
	VMBUS_USER_CHANNEL_CLOSED = 8,
	VMBUS_USER_CHANNEL_FAILED = 9,
	VMBUS_USER_SIEF = 10,
	VMBUS_USER_NIC_STATE = 11,
	VMBUS_USER_STATUS = 12,
	VMBUS_USER_REQUEST = 13,
	VMBUS_USER_REQUEST_REPLY = 14,
	VMBUS_USER_TYPE_MAX
};

/* Every message starts with this. len counts the header and the body. */
struct vmbus_user_hdr {
	uint32_t type;
	uint32_t len;
	uint32_t nic;	/* NIC index for per-NIC messages, else 0 */
	uint32_t seq;	/* sender's counter; replies echo the request's */
};

/* One synthetic NIC as the VM side asks for it. */
struct vmbus_user_nic {
	char switch_name[VMBUS_USER_NAME_LEN];
	char port_name[VMBUS_USER_NAME_LEN]; /* "" : vswitchd names it VM-nicN */
	uint8_t mac[6];			     /* all zero: vswitchd assigns one */
	uint16_t vlan;			     /* access VLAN, 0: untagged */
	uint32_t mtu;			     /* 0: 1500; at most 9000 */
	uint32_t reserved;
};

/* HELLO body. */
struct vmbus_user_hello {
	uint32_t version;
	uint32_t nr_nics;	/* 1..VMBUS_USER_MAX_NICS */
	uint64_t pid;
	char vm_name[VMBUS_USER_NAME_LEN];
	uint32_t nr_vcpus;
	uint32_t memory_mib;
	struct vmbus_user_nic nics[]; /* nr_nics */
};

/* Per-NIC result in HELLO_REPLY. */
struct vmbus_user_nic_reply {
	int32_t status;	/* 0 or a negative errno */
	uint8_t mac[6];	/* the MAC the NetVSP reports */
	uint16_t reserved;
	char port_name[VMBUS_USER_NAME_LEN];
};

/* HELLO_REPLY body. status < 0: refused (message says why); the VM side
 * retries later. */
struct vmbus_user_hello_reply {
	uint32_t version;
	int32_t status;
	char message[128];
	uint32_t nr_nics;
	uint32_t reserved;
	struct vmbus_user_nic_reply nics[];
};

/* MEM body, with one fd (memfd): guest physical [gpa, gpa + size) is at
 * offset in the fd. */
struct vmbus_user_mem {
	uint64_t gpa;
	uint64_t size;
	uint64_t offset;
};

/* GPADL body (hdr.nic names the channel's NIC): a complete GPADL the guest
 * created for the channel; pfns are guest page frame numbers (4 KiB). */
struct vmbus_user_gpadl {
	uint32_t gpadl;
	uint32_t npfns;
	uint64_t pfns[];
};

/* GPADL_DEL body. */
struct vmbus_user_gpadl_del {
	uint32_t gpadl;
	uint32_t reserved;
};

/* CHANNEL_OPEN body, with two fds: [0] doorbell eventfd (readable when the
 * guest signalled), [1] interrupt eventfd (write 1 to raise SINT 2 on
 * target_vp after setting bit relid in its SIEF page). The ring GPADL's
 * pages before out_offset hold the guest->host ring, the rest the
 * host->guest ring. */
struct vmbus_user_channel_open {
	uint32_t relid;
	uint32_t conn_id;
	uint32_t target_vp;
	uint32_t ring_gpadl;
	uint32_t out_offset;	/* in pages */
	uint32_t npfns;
	uint64_t sief_gpa;	/* SIEF page of target_vp, 0: not enabled yet */
	uint32_t vmbus_version;
	uint32_t reserved;
	uint64_t pfns[];
};

/* SIEF body: the SIEF page of vCPU vp moved (0: disabled). */
struct vmbus_user_sief {
	uint32_t vp;
	uint32_t reserved;
	uint64_t gpa;
};

/* CHANNEL_CLOSE / CHANNEL_CLOSED / CHANNEL_FAILED body. */
struct vmbus_user_channel_event {
	uint32_t relid;
	int32_t reason;	/* CHANNEL_FAILED: negative errno */
	char message[96];
};

/* NIC_STATE body: opaque to the VM side. */
struct vmbus_user_nic_state {
	uint32_t len;
	uint32_t reserved;
	uint8_t data[];
};

enum vmbus_user_vm_state {
	VMBUS_USER_VM_STARTING = 0,
	VMBUS_USER_VM_RUNNING = 1,
	VMBUS_USER_VM_SHUTTING_DOWN = 2,
};

enum vmbus_user_heartbeat {
	VMBUS_USER_HB_NO_CONTACT = 0,
	VMBUS_USER_HB_OK = 1,
	VMBUS_USER_HB_LOST_CONTACT = 2,
};

/* STATUS body. */
struct vmbus_user_status {
	uint32_t state;		/* enum vmbus_user_vm_state */
	uint32_t heartbeat;	/* enum vmbus_user_heartbeat */
	uint64_t uptime_ms;
	uint32_t vmbus_version;	/* negotiated, 0: not connected */
	uint32_t reserved;
};

enum vmbus_user_request_op {
	VMBUS_USER_REQ_SHUTDOWN = 1,	/* through the guest's shutdown service */
	VMBUS_USER_REQ_POWEROFF = 2,	/* stop the VM at once */
};

/* REQUEST / REQUEST_REPLY body. */
struct vmbus_user_request {
	uint32_t op;
	int32_t status;	/* reply: 0 or a negative errno */
	char message[96];
};

/* A received message: hdr and body point into the caller's buffer. */
struct vmbus_user_msg {
	struct vmbus_user_hdr hdr;
	const void *body;
	size_t body_len;
	int fds[VMBUS_USER_MAX_FDS];
	unsigned int nfds;
};

/*
 * Sends one message: header (type, nic, seq; len is filled in), body and
 * nfds descriptors as SCM_RIGHTS. Blocks until the packet is queued; raises
 * the socket's SO_SNDBUF on the first message larger than the default
 * buffer allows. Returns 0 or a negative errno (-EPIPE when the peer is
 * gone, -EINVAL for more than VMBUS_USER_MAX_MSG bytes or
 * VMBUS_USER_MAX_FDS descriptors). Any thread holding the socket.
 */
int vmbus_user_send(int sock, uint32_t type, uint32_t nic, uint32_t seq, const void *body,
		    size_t body_len, const int *fds, unsigned int nfds);

/*
 * Receives one message into buf (at least VMBUS_USER_MAX_MSG bytes, 8-byte
 * aligned so the body can be read through the structs above) and
 * validates it with vmbus_user_parse(). Received descriptors are returned
 * in msg->fds (the caller owns and closes them); on any error they are
 * closed already. Returns 0, -EAGAIN (non-blocking socket, nothing there),
 * -ECONNRESET (peer closed), -EPROTO (malformed: the caller drops the
 * connection) or another negative errno.
 */
int vmbus_user_recv(int sock, void *buf, size_t buf_len, struct vmbus_user_msg *msg);

/*
 * Validates a message of len bytes at buf that came with nfds descriptors:
 * known type, len matches the header, the body's size and the counts inside
 * it (nr_nics, npfns, state len), NUL-terminated names, the number of
 * descriptors the type carries. Fills msg (fds are left to the caller).
 * Returns 0 or -EPROTO. Pure; used by vmbus_user_recv() and the fuzzer.
 */
int vmbus_user_parse(const void *buf, size_t len, unsigned int nfds, struct vmbus_user_msg *msg);

/* Name of a message type for logs ("HELLO"), "?" when unknown. */
const char *vmbus_user_type_name(uint32_t type);

/* Connects a SOCK_SEQPACKET socket to path (close-on-exec). Returns the fd
 * or a negative errno. */
int vmbus_user_connect(const char *path);

/* Creates, binds (mode 0600, replacing a stale socket file) and listens on
 * path. Returns the fd or a negative errno. */
int vmbus_user_listen(const char *path);

#endif /* HVNET_VMBUS_USER_H */
