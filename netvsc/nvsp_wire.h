/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NVSP (Network Virtual Service Protocol) wire formats: the messages that
 * Linux's hv_netvsc and the host's NetVSP exchange in VMBus packets on a
 * synthetic NIC channel, protocol versions 1 (0x2) to 6.1 (0x60001). Every
 * message starts with a 32-bit type; senders use a fixed 40-byte message
 * (struct nvsp_msg), receivers must accept any length that covers the fields
 * of the type. Little-endian, packed. Layouts learned from Linux
 * drivers/net/hyperv/hyperv_net.h and DPDK drivers/net/netvsc (names ours).
 */
#ifndef HVNET_NETVSC_NVSP_WIRE_H
#define HVNET_NETVSC_NVSP_WIRE_H

#include <stdint.h>

/* Protocol versions (what the guest offers in INIT). */
#define NVSP_VERSION_1	0x00002u
#define NVSP_VERSION_2	0x30002u
#define NVSP_VERSION_4	0x40000u
#define NVSP_VERSION_5	0x50000u
#define NVSP_VERSION_6	0x60000u
#define NVSP_VERSION_61 0x60001u

/* Message types. */
#define NVSP_MSG_INIT			  1u
#define NVSP_MSG_INIT_COMPLETE		  2u
#define NVSP_MSG1_SEND_NDIS_VERSION	  100u
#define NVSP_MSG1_SEND_RECV_BUF		  101u
#define NVSP_MSG1_SEND_RECV_BUF_COMPLETE  102u
#define NVSP_MSG1_REVOKE_RECV_BUF	  103u
#define NVSP_MSG1_SEND_SEND_BUF		  104u
#define NVSP_MSG1_SEND_SEND_BUF_COMPLETE  105u
#define NVSP_MSG1_REVOKE_SEND_BUF	  106u
#define NVSP_MSG1_SEND_RNDIS_PKT	  107u
#define NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE 108u
/* 109..124: chimney, VMQ and rx-buffer allocation messages (unused by Linux). */
#define NVSP_MSG2_SEND_NDIS_CONFIG	  125u
#define NVSP_MSG4_SEND_VF_ASSOCIATION	  128u
#define NVSP_MSG4_SWITCH_DATA_PATH	  129u
#define NVSP_MSG5_OID_QUERY_EX		  131u
#define NVSP_MSG5_OID_QUERY_EX_COMPLETE	  132u
#define NVSP_MSG5_SUBCHANNEL		  133u
#define NVSP_MSG5_SEND_INDIRECTION_TABLE  134u
#define NVSP_MSG6_PD_API		  135u
#define NVSP_MSG6_PD_POST_BATCH		  136u

/* Status values in completions. */
#define NVSP_STATUS_NONE    0u
#define NVSP_STATUS_SUCCESS 1u
#define NVSP_STATUS_FAIL    2u

/* SEND_RNDIS_PKT channel types and the "no section" index. */
#define NVSP_CHANNEL_DATA    0u
#define NVSP_CHANNEL_CONTROL 1u
#define NVSP_INVALID_SECTION 0xffffffffu

/* NDIS config capability bits (SEND_NDIS_CONFIG). */
#define NVSP_CAP_VMQ		(1u << 0)
#define NVSP_CAP_CHIMNEY	(1u << 1)
#define NVSP_CAP_SRIOV		(1u << 2)
#define NVSP_CAP_IEEE8021Q	(1u << 3)
#define NVSP_CAP_CORRELATION_ID (1u << 4)
#define NVSP_CAP_TEAMING	(1u << 5)
#define NVSP_CAP_VSUBNETID	(1u << 6)
#define NVSP_CAP_RSC		(1u << 7)

/* Subchannel request operation. */
#define NVSP_SUBCHANNEL_ALLOCATE 1u

struct nvsp_init {
	uint32_t min_version;
	uint32_t max_version;
} __attribute__((packed));

struct nvsp_init_complete {
	uint32_t negotiated_version;
	uint32_t max_mdl_chain_len;
	uint32_t status;
} __attribute__((packed));

struct nvsp_ndis_version {
	uint32_t major;
	uint32_t minor;
} __attribute__((packed));

/* SEND_RECV_BUF and SEND_SEND_BUF. */
struct nvsp_send_buf {
	uint32_t gpadl;
	uint16_t id;
} __attribute__((packed));

struct nvsp_recv_section {
	uint32_t offset;
	uint32_t sub_alloc_size;
	uint32_t num_sub_allocs;
	uint32_t end_offset;
} __attribute__((packed));

struct nvsp_recv_buf_complete {
	uint32_t status;
	uint32_t num_sections;
	struct nvsp_recv_section section; /* exactly one */
} __attribute__((packed));

/* REVOKE_RECV_BUF and REVOKE_SEND_BUF. */
struct nvsp_revoke_buf {
	uint16_t id;
} __attribute__((packed));

struct nvsp_send_buf_complete {
	uint32_t status;
	uint32_t section_size;
} __attribute__((packed));

struct nvsp_rndis_pkt {
	uint32_t channel_type;
	uint32_t section_index;
	uint32_t section_size;
} __attribute__((packed));

struct nvsp_rndis_pkt_complete {
	uint32_t status;
} __attribute__((packed));

struct nvsp_ndis_config {
	uint32_t mtu; /* largest frame incl. the 14-byte Ethernet header */
	uint32_t reserved;
	uint64_t capability; /* NVSP_CAP_* */
} __attribute__((packed));

struct nvsp_switch_data_path {
	uint32_t active; /* 0 synthetic, 1 VF */
} __attribute__((packed));

struct nvsp_subchannel_req {
	uint32_t op;
	uint32_t num_subchannels;
} __attribute__((packed));

struct nvsp_subchannel_complete {
	uint32_t status;
	uint32_t num_subchannels;
} __attribute__((packed));

/* The fixed-size message that both sides send (Linux: 40 bytes). */
#define NVSP_MSG_SIZE 40u

struct nvsp_msg {
	uint32_t type;
	union {
		struct nvsp_init init;
		struct nvsp_init_complete init_complete;
		struct nvsp_ndis_version ndis_version;
		struct nvsp_send_buf send_buf;
		struct nvsp_recv_buf_complete recv_buf_complete;
		struct nvsp_revoke_buf revoke_buf;
		struct nvsp_send_buf_complete send_buf_complete;
		struct nvsp_rndis_pkt rndis_pkt;
		struct nvsp_rndis_pkt_complete rndis_pkt_complete;
		struct nvsp_ndis_config ndis_config;
		struct nvsp_switch_data_path switch_data_path;
		struct nvsp_subchannel_req subchannel_req;
		struct nvsp_subchannel_complete subchannel_complete;
		uint8_t pad[NVSP_MSG_SIZE - 4];
	} u;
} __attribute__((packed));

_Static_assert(sizeof(struct nvsp_msg) == NVSP_MSG_SIZE, "nvsp_msg size");

/* VMBus packet bodies that NetVSP uses besides inband messages. */

/* Transfer-page packet (type 7) descriptor extension: follows the 16-byte
 * descriptor; ranges index the receive buffer; the payload (an NVSP
 * SEND_RNDIS_PKT message) follows the ranges. */
struct nvsp_xfer_range {
	uint32_t byte_count;
	uint32_t byte_offset;
} __attribute__((packed));

struct nvsp_xfer_hdr {
	uint16_t pageset_id;
	uint8_t sender_owns_set;
	uint8_t reserved;
	uint32_t range_count;
	/* struct nvsp_xfer_range ranges[range_count]; */
} __attribute__((packed));

/* GPA-direct packet (type 9) descriptor extension: range_count ranges, each
 * a struct nvsp_gpa_range followed by its page numbers
 * ((byte_offset + byte_count + 4095) / 4096 of them); the payload follows. */
struct nvsp_gpa_hdr {
	uint32_t reserved;
	uint32_t range_count;
} __attribute__((packed));

struct nvsp_gpa_range {
	uint32_t byte_count;
	uint32_t byte_offset; /* into the first page, < 4096 */
			      /* uint64_t pfns[]; */
} __attribute__((packed));

#endif /* HVNET_NETVSC_NVSP_WIRE_H */
