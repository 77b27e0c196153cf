/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RNDIS wire formats as hv_netvsc uses them over NVSP: message types and
 * their bodies, status codes, the OIDs NetVSP answers, per-packet info
 * (802.1Q, checksum) and the NDIS objects the guest exchanges for offload
 * and RSS negotiation. Every message starts with a type and a total length;
 * offsets inside a body count from the body's start (just after those 8
 * bytes). Little-endian, packed. Layouts learned from Linux
 * include/linux/rndis.h and drivers/net/hyperv/hyperv_net.h (names ours).
 */
#ifndef HVNET_NETVSC_RNDIS_WIRE_H
#define HVNET_NETVSC_RNDIS_WIRE_H

#include <stdint.h>

/* Message types; a completion is the request type | RNDIS_MSG_COMPLETION. */
#define RNDIS_MSG_PACKET      1u
#define RNDIS_MSG_INIT	      2u
#define RNDIS_MSG_HALT	      3u
#define RNDIS_MSG_QUERY	      4u
#define RNDIS_MSG_SET	      5u
#define RNDIS_MSG_RESET	      6u
#define RNDIS_MSG_INDICATE    7u
#define RNDIS_MSG_KEEPALIVE   8u
#define RNDIS_MSG_COMPLETION  0x80000000u
#define RNDIS_MSG_INIT_C      (RNDIS_MSG_INIT | RNDIS_MSG_COMPLETION)
#define RNDIS_MSG_QUERY_C     (RNDIS_MSG_QUERY | RNDIS_MSG_COMPLETION)
#define RNDIS_MSG_SET_C	      (RNDIS_MSG_SET | RNDIS_MSG_COMPLETION)
#define RNDIS_MSG_RESET_C     (RNDIS_MSG_RESET | RNDIS_MSG_COMPLETION)
#define RNDIS_MSG_KEEPALIVE_C (RNDIS_MSG_KEEPALIVE | RNDIS_MSG_COMPLETION)

/* Status codes. */
#define RNDIS_STATUS_SUCCESS	      0x00000000u
#define RNDIS_STATUS_FAILURE	      0xc0000001u
#define RNDIS_STATUS_INVALID_DATA     0xc0010015u
#define RNDIS_STATUS_NOT_SUPPORTED    0xc00000bbu
#define RNDIS_STATUS_MEDIA_CONNECT    0x4001000bu
#define RNDIS_STATUS_MEDIA_DISCONNECT 0x4001000cu
#define RNDIS_STATUS_NETWORK_CHANGE   0x40010018u

#define RNDIS_MAJOR_VERSION	1u
#define RNDIS_MINOR_VERSION	0u
#define RNDIS_DF_CONNECTIONLESS 0x1u
#define RNDIS_MEDIUM_802_3	0u

/* OIDs. */
#define RNDIS_OID_GEN_SUPPORTED_LIST		 0x00010101u
#define RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE	 0x00010106u
#define RNDIS_OID_GEN_LINK_SPEED		 0x00010107u
#define RNDIS_OID_GEN_CURRENT_PACKET_FILTER	 0x0001010eu
#define RNDIS_OID_GEN_MAXIMUM_TOTAL_SIZE	 0x00010111u
#define RNDIS_OID_GEN_MEDIA_CONNECT_STATUS	 0x00010114u
#define RNDIS_OID_GEN_RNDIS_CONFIG_PARAMETER	 0x0001021bu
#define RNDIS_OID_GEN_RECEIVE_SCALE_CAPABILITIES 0x00010203u
#define RNDIS_OID_GEN_RECEIVE_SCALE_PARAMETERS	 0x00010204u
#define RNDIS_OID_OFFLOAD_ENCAPSULATION		 0x0101010au
#define RNDIS_OID_802_3_PERMANENT_ADDRESS	 0x01010101u
#define RNDIS_OID_802_3_CURRENT_ADDRESS		 0x01010102u
#define RNDIS_OID_802_3_MULTICAST_LIST		 0x01010103u
#define RNDIS_OID_TCP_OFFLOAD_PARAMETERS	 0xfc01020cu
#define RNDIS_OID_TCP_OFFLOAD_HW_CAPS		 0xfc01020du

/* OID_GEN_MEDIA_CONNECT_STATUS values. */
#define RNDIS_MEDIA_CONNECTED	 0u
#define RNDIS_MEDIA_DISCONNECTED 1u

/* Packet filter bits (OID_GEN_CURRENT_PACKET_FILTER). */
#define RNDIS_FILTER_DIRECTED	   0x01u
#define RNDIS_FILTER_MULTICAST	   0x02u
#define RNDIS_FILTER_ALL_MULTICAST 0x04u
#define RNDIS_FILTER_BROADCAST	   0x08u
#define RNDIS_FILTER_PROMISCUOUS   0x20u

/* Common header of every message. */
struct rndis_hdr {
	uint32_t type;
	uint32_t len; /* whole message incl. this header */
} __attribute__((packed));

#define RNDIS_HDR_SIZE 8u

/* Data message body. Offsets count from the body start. */
struct rndis_packet {
	uint32_t data_offset;
	uint32_t data_len;
	uint32_t oob_offset;
	uint32_t oob_len;
	uint32_t num_oob;
	uint32_t ppi_offset;
	uint32_t ppi_len;
	uint32_t vc_handle;
	uint32_t reserved;
} __attribute__((packed));

/* Per-packet info element; offset counts from the element's start. */
struct rndis_ppi {
	uint32_t size; /* whole element incl. this header */
	uint32_t type; /* bit 31: "internal" (Linux's packet id), else RNDIS_PPI_* */
	uint32_t offset;
} __attribute__((packed));

#define RNDIS_PPI_CHECKSUM   0u
#define RNDIS_PPI_LSO	     2u
#define RNDIS_PPI_8021Q	     6u
#define RNDIS_PPI_HASH_VALUE 8u
#define RNDIS_PPI_INTERNAL   0x80000000u

/* 802.1Q PPI value: bits 0-2 priority, bit 3 CFI/DEI, bits 4-15 VLAN id. */
#define RNDIS_8021Q_PRI(v) ((v)&0x7u)
#define RNDIS_8021Q_CFI(v) (((v) >> 3) & 0x1u)
#define RNDIS_8021Q_VID(v) (((v) >> 4) & 0xfffu)

struct rndis_init_req {
	uint32_t req_id;
	uint32_t major;
	uint32_t minor;
	uint32_t max_xfer_size;
} __attribute__((packed));

struct rndis_init_cmplt {
	uint32_t req_id;
	uint32_t status;
	uint32_t major;
	uint32_t minor;
	uint32_t dev_flags;
	uint32_t medium;
	uint32_t max_pkts_per_msg;
	uint32_t max_xfer_size;
	uint32_t pkt_align_shift; /* alignment = 1 << this */
	uint32_t af_list_offset;
	uint32_t af_list_size;
} __attribute__((packed));

/* QUERY and SET requests share this layout. */
struct rndis_oid_req {
	uint32_t req_id;
	uint32_t oid;
	uint32_t info_len;
	uint32_t info_offset; /* from the body start */
	uint32_t vc_handle;
} __attribute__((packed));

struct rndis_query_cmplt {
	uint32_t req_id;
	uint32_t status;
	uint32_t info_len;
	uint32_t info_offset; /* from the body start */
} __attribute__((packed));

struct rndis_set_cmplt {
	uint32_t req_id;
	uint32_t status;
} __attribute__((packed));

struct rndis_reset_cmplt {
	uint32_t status;
	uint32_t addressing_reset;
} __attribute__((packed));

/* KEEPALIVE and HALT requests. */
struct rndis_id_req {
	uint32_t req_id;
} __attribute__((packed));

struct rndis_keepalive_cmplt {
	uint32_t req_id;
	uint32_t status;
} __attribute__((packed));

struct rndis_indicate {
	uint32_t status;
	uint32_t buf_len;
	uint32_t buf_offset;
} __attribute__((packed));

/* NDIS object header (offload, RSS objects). */
struct ndis_obj_hdr {
	uint8_t type;
	uint8_t revision;
	uint16_t size;
} __attribute__((packed));

#define NDIS_OBJ_TYPE_DEFAULT	 0x80u
#define NDIS_OBJ_TYPE_RSS_CAPS	 0x88u
#define NDIS_OBJ_TYPE_RSS_PARAMS 0x89u
#define NDIS_OBJ_TYPE_OFFLOAD	 0xa7u

/* OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES reply (NDIS_OFFLOAD). Revisions 1, 2
 * and 3 end at RNDIS_OFFLOAD_SIZE_6_0, _6_1 and sizeof respectively. */
struct ndis_offload {
	struct ndis_obj_hdr hdr;
	uint32_t csum[8];  /* ipv4 tx encap/caps, rx encap/caps; ipv6 likewise */
	uint32_t lsov1[4]; /* encap, max size, min segments, options */
	uint32_t ipsecv1[7];
	uint32_t lsov2[7]; /* ipv4 encap/max/min, ipv6 encap/max/min/options */
	uint32_t flags;
	uint32_t ipsecv2_encap; /* NDIS 6.1 */
	uint8_t ipsecv2_caps[11];
	uint8_t ipsecv2_pad;
	uint32_t ipsecv2_more[4];
	uint8_t rsc_ip4; /* NDIS 6.30 */
	uint8_t rsc_ip6;
	uint8_t rsc_pad[2];
	uint32_t encap_flags;
	uint32_t encap_max_hdr;
} __attribute__((packed));

#define NDIS_OFFLOAD_SIZE_6_0 112u
#define NDIS_OFFLOAD_SIZE_6_1 144u
#define NDIS_OFFLOAD_SIZE     156u
_Static_assert(sizeof(struct ndis_offload) == NDIS_OFFLOAD_SIZE, "ndis_offload size");

/* OID_GEN_RECEIVE_SCALE_CAPABILITIES reply. */
struct ndis_rss_caps {
	struct ndis_obj_hdr hdr;
	uint32_t flags;
	uint32_t num_int_msg;
	uint32_t num_queues;
	uint16_t num_indirection_entries;
} __attribute__((packed));

#endif /* HVNET_NETVSC_RNDIS_WIRE_H */
