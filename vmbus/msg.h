/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * VMBus channel-management messages: the wire layouts carried in SynIC
 * message payloads (at most 240 bytes) between the guest's vmbus driver and
 * the host, and a parser that validates a received message (length per type,
 * then every field whose value constrains the rest of the message) and
 * decodes it into struct vmbus_msg. Layouts follow the Hyper-V protocol as
 * Linux guests speak it (little-endian, packed). The host state machine
 * (host.c) and the guest-side simulator (guest_sim.c) both use this module.
 */
#ifndef HVNET_VMBUS_MSG_H
#define HVNET_VMBUS_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VMBUS_MSG_MAX_SIZE	240u	/* SynIC message payload */
#define VMBUS_MSG_CONN_ID	1u	/* guest->host messages, and contact up to 4.x */
#define VMBUS_MSG_CONN_ID_4	4u	/* INITIATE_CONTACT from version 5.0 on */
#define VMBUS_MSG_SINT		2u	/* SINT the host posts messages on */
#define VMBUS_PAGE_SIZE		4096u
#define VMBUS_USER_DEF_BYTES	120u

/* Protocol versions: major << 16 | minor. */
#define VMBUS_VERSION(maj, min)	(((uint32_t)(maj) << 16) | (uint32_t)(min))
#define VMBUS_VERSION_WIN8	VMBUS_VERSION(2, 4)
#define VMBUS_VERSION_WIN8_1	VMBUS_VERSION(3, 0)
#define VMBUS_VERSION_4_0	VMBUS_VERSION(4, 0)
#define VMBUS_VERSION_4_1	VMBUS_VERSION(4, 1)
#define VMBUS_VERSION_5_0	VMBUS_VERSION(5, 0)
#define VMBUS_VERSION_5_1	VMBUS_VERSION(5, 1)
#define VMBUS_VERSION_5_2	VMBUS_VERSION(5, 2)
#define VMBUS_VERSION_5_3	VMBUS_VERSION(5, 3)

enum vmbus_msg_type {
	VMBUS_MSG_INVALID = 0,
	VMBUS_MSG_OFFERCHANNEL = 1,
	VMBUS_MSG_RESCIND_CHANNELOFFER = 2,
	VMBUS_MSG_REQUESTOFFERS = 3,
	VMBUS_MSG_ALLOFFERS_DELIVERED = 4,
	VMBUS_MSG_OPENCHANNEL = 5,
	VMBUS_MSG_OPENCHANNEL_RESULT = 6,
	VMBUS_MSG_CLOSECHANNEL = 7,
	VMBUS_MSG_GPADL_HEADER = 8,
	VMBUS_MSG_GPADL_BODY = 9,
	VMBUS_MSG_GPADL_CREATED = 10,
	VMBUS_MSG_GPADL_TEARDOWN = 11,
	VMBUS_MSG_GPADL_TORNDOWN = 12,
	VMBUS_MSG_RELID_RELEASED = 13,
	VMBUS_MSG_INITIATE_CONTACT = 14,
	VMBUS_MSG_VERSION_RESPONSE = 15,
	VMBUS_MSG_UNLOAD = 16,
	VMBUS_MSG_UNLOAD_RESPONSE = 17,
	VMBUS_MSG_TL_CONNECT_REQUEST = 21,
	VMBUS_MSG_MODIFYCHANNEL = 22,
	VMBUS_MSG_TL_CONNECT_RESULT = 23,
	VMBUS_MSG_MODIFYCHANNEL_RESPONSE = 24,
	VMBUS_MSG_TYPE_COUNT
};

/* A GUID in wire order (first three fields little-endian). */
struct vmbus_guid {
	uint8_t b[16];
};

/* ---- wire layouts ---- */

struct vmbus_wire_hdr {
	uint32_t msgtype;
	uint32_t padding;
} __attribute__((packed));

struct vmbus_wire_offer {
	struct vmbus_wire_hdr hdr;
	struct vmbus_guid if_type;
	struct vmbus_guid if_instance;
	uint64_t reserved1;
	uint64_t reserved2;
	uint16_t chn_flags;
	uint16_t mmio_megabytes;
	uint8_t user_def[VMBUS_USER_DEF_BYTES];
	uint16_t sub_channel_index;
	uint16_t reserved3;
	uint32_t child_relid;
	uint8_t monitorid;
	uint8_t monitor_allocated; /* bit 0 */
	uint16_t is_dedicated_interrupt; /* bit 0 */
	uint32_t connection_id;
} __attribute__((packed));

struct vmbus_wire_relid {	/* RESCIND_CHANNELOFFER, CLOSECHANNEL, RELID_RELEASED */
	struct vmbus_wire_hdr hdr;
	uint32_t child_relid;
} __attribute__((packed));

struct vmbus_wire_open {
	struct vmbus_wire_hdr hdr;
	uint32_t child_relid;
	uint32_t openid;
	uint32_t ringbuffer_gpadl;
	uint32_t target_vp;
	uint32_t downstream_page_offset;
	uint8_t userdata[VMBUS_USER_DEF_BYTES];
} __attribute__((packed));

struct vmbus_wire_open_result {
	struct vmbus_wire_hdr hdr;
	uint32_t child_relid;
	uint32_t openid;
	uint32_t status;
} __attribute__((packed));

struct vmbus_wire_gpa_range {
	uint32_t byte_count;
	uint32_t byte_offset;
	/* uint64_t pfn[] follows */
} __attribute__((packed));

struct vmbus_wire_gpadl_header {
	struct vmbus_wire_hdr hdr;
	uint32_t child_relid;
	uint32_t gpadl;
	uint16_t range_buflen;	/* bytes of all ranges incl. their pfn arrays */
	uint16_t rangecount;
	/* struct vmbus_wire_gpa_range + pfns follow */
} __attribute__((packed));

struct vmbus_wire_gpadl_body {
	struct vmbus_wire_hdr hdr;
	uint32_t msgnumber;
	uint32_t gpadl;
	/* uint64_t pfn[] follows */
} __attribute__((packed));

struct vmbus_wire_gpadl_created {
	struct vmbus_wire_hdr hdr;
	uint32_t child_relid;
	uint32_t gpadl;
	uint32_t creation_status;
} __attribute__((packed));

struct vmbus_wire_gpadl_teardown {
	struct vmbus_wire_hdr hdr;
	uint32_t child_relid;
	uint32_t gpadl;
} __attribute__((packed));

struct vmbus_wire_gpadl_torndown {
	struct vmbus_wire_hdr hdr;
	uint32_t gpadl;
} __attribute__((packed));

struct vmbus_wire_initiate_contact {
	struct vmbus_wire_hdr hdr;
	uint32_t version_requested;
	uint32_t target_vcpu;
	union {
		uint64_t interrupt_page;	/* before 5.0 */
		struct {			/* from 5.0 */
			uint8_t msg_sint;
			uint8_t msg_vtl;
			uint8_t reserved[6];
		} __attribute__((packed));
	};
	uint64_t monitor_page1;
	uint64_t monitor_page2;
} __attribute__((packed));

struct vmbus_wire_version_response {
	struct vmbus_wire_hdr hdr;
	uint8_t version_supported;
	uint8_t connection_state;
	uint16_t padding;
	uint32_t msg_conn_id;
} __attribute__((packed));

struct vmbus_wire_modifychannel {
	struct vmbus_wire_hdr hdr;
	uint32_t child_relid;
	uint32_t target_vp;
} __attribute__((packed));

struct vmbus_wire_modifychannel_response {
	struct vmbus_wire_hdr hdr;
	uint32_t child_relid;
	uint32_t status;
} __attribute__((packed));

struct vmbus_wire_tl_connect_request {
	struct vmbus_wire_hdr hdr;
	struct vmbus_guid guest_endpoint_id;
	struct vmbus_guid host_service_id;
} __attribute__((packed));

/* Fixed parts of the variable-size GPADL messages and their pfn capacity. */
#define VMBUS_GPADL_HEADER_MAX_PFNS                                                                \
	((VMBUS_MSG_MAX_SIZE - sizeof(struct vmbus_wire_gpadl_header) -                           \
	  sizeof(struct vmbus_wire_gpa_range)) / 8)
#define VMBUS_GPADL_BODY_MAX_PFNS ((VMBUS_MSG_MAX_SIZE - sizeof(struct vmbus_wire_gpadl_body)) / 8)

/* ---- decoded form ---- */

/* A validated message. Pointers (ranges, pfns, userdata) point into the
 * buffer given to vmbus_msg_parse(), which must stay valid and unchanged. */
struct vmbus_msg {
	uint32_t type;
	union {
		struct {
			uint32_t version;
			uint32_t target_vcpu;
			uint64_t interrupt_page;
			uint8_t msg_sint;
			uint8_t msg_vtl;
			uint64_t monitor_page1;
			uint64_t monitor_page2;
		} contact;
		struct {
			bool supported;
			uint8_t connection_state;
			uint32_t msg_conn_id;
		} version_response;
		struct {
			struct vmbus_guid if_type;
			struct vmbus_guid if_instance;
			uint16_t chn_flags;
			uint16_t mmio_megabytes;
			uint16_t sub_channel_index;
			uint32_t child_relid;
			uint8_t monitorid;
			bool monitor_allocated;
			bool dedicated_interrupt;
			uint32_t connection_id;
		} offer;
		uint32_t child_relid;	/* RESCIND, CLOSECHANNEL, RELID_RELEASED */
		struct {
			uint32_t child_relid;
			uint32_t openid;
			uint32_t gpadl;
			uint32_t target_vp;
			uint32_t downstream_page_offset;
			const uint8_t *userdata;
		} open;
		struct {
			uint32_t child_relid;
			uint32_t openid;
			uint32_t status;
		} open_result;
		struct {
			uint32_t child_relid;
			uint32_t gpadl;
			uint16_t range_buflen;
			uint16_t rangecount;
			const uint8_t *ranges;	/* range bytes carried in this message */
			uint32_t ranges_len;
		} gpadl_header;
		struct {
			uint32_t msgnumber;
			uint32_t gpadl;
			const uint8_t *pfns;	/* unaligned uint64_t array */
			uint32_t npfns;
		} gpadl_body;
		struct {
			uint32_t child_relid;
			uint32_t gpadl;
			uint32_t status;
		} gpadl;		/* GPADL_CREATED, GPADL_TEARDOWN, GPADL_TORNDOWN */
		struct {
			uint32_t child_relid;
			uint32_t target_vp;
			uint32_t status;
		} modify;
		struct {
			struct vmbus_guid guest_endpoint_id;
			struct vmbus_guid host_service_id;
		} tl_connect;
	} u;
};

/*
 * Validates and decodes one channel-management message of len bytes.
 * Returns 0, -ENOMSG for an unknown or reserved type, -EBADMSG when the
 * length does not fit the type (too short, over 240 bytes, or a GPADL pfn
 * area that is not a whole number of pfns), -EINVAL when a field is out of
 * range (zero relid or GPADL handle, GPADL range counts/lengths that
 * contradict each other or the message size, zero ring offset). Pure.
 */
int vmbus_msg_parse(const void *buf, size_t len, struct vmbus_msg *m);

/* Minimum payload size of a message type (0 for unknown types). */
size_t vmbus_msg_min_size(uint32_t type);

/* Name of a message type for logs ("OPENCHANNEL"), "UNKNOWN" otherwise. */
const char *vmbus_msg_type_name(uint32_t type);

/* True for the types a guest sends to the host. */
bool vmbus_msg_is_guest_to_host(uint32_t type);

/*
 * Validates the GPA range array of a complete GPADL (all range bytes from the
 * header and body messages, len bytes, rangecount ranges): every range has a
 * byte_offset below 4096, a non-zero byte_count, and exactly the pfns its
 * offset+count span; the ranges fill len exactly. On success returns 0 and
 * stores the total pfn count in *npfns. Returns -EINVAL otherwise. Pure.
 */
int vmbus_msg_gpa_ranges_check(const uint8_t *buf, uint32_t len, uint32_t rangecount,
			       uint32_t *npfns);

/* Reads pfn i of an unaligned little-endian pfn array. */
uint64_t vmbus_msg_pfn(const uint8_t *pfns, uint32_t i);

/* Parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" into wire order. 0 or -EINVAL. */
int vmbus_guid_parse(const char *s, struct vmbus_guid *g);

/* Formats g into buf (at least 37 bytes). Returns buf. */
char *vmbus_guid_format(const struct vmbus_guid *g, char *buf);

/* True when both GUIDs are equal. */
bool vmbus_guid_equal(const struct vmbus_guid *a, const struct vmbus_guid *b);

#endif /* HVNET_VMBUS_MSG_H */
