/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * VMBus service provider (VSP) interface: what a device behind a VMBus
 * channel implements so the host (host.h) can offer it to the guest and
 * drive it. A VSP registers a device (class and instance GUID plus offer
 * data) with vmbus_host_add_device() and receives callbacks when the guest
 * opens the channel, closes it, or signals it. The integration services
 * (ic.h) are VSPs; NetVSP (netvsc/) becomes one on the vmbus-user side.
 *
 * Callbacks run on the thread that drives the host (the VMM's control
 * thread) and must not call back into vmbus_host_handle_message().
 */
#ifndef HVNET_VMBUS_VSP_PROVIDER_H
#define HVNET_VMBUS_VSP_PROVIDER_H

#include <stdint.h>

#include "msg.h"

struct vmbus_channel;

/* What the OFFERCHANNEL message carries for a device. */
struct vmbus_device_info {
	struct vmbus_guid class_id;	/* interface type, e.g. the heartbeat GUID */
	struct vmbus_guid instance_id;	/* unique per device */
	uint16_t chn_flags;
	uint16_t mmio_megabytes;
	/* 0 for a primary channel; n > 0 for subchannel n of the primary with
	 * the same class and instance GUIDs (NetVSC receive-side scaling) */
	uint16_t sub_channel_index;
	uint8_t user_def[VMBUS_USER_DEF_BYTES];
};

struct vmbus_vsp_ops {
	/* Short name for logs ("heartbeat"). */
	const char *name;
	/* The guest opened the channel: both rings are mapped and validated
	 * (vmbus_channel_in_ring()/out_ring()); userdata is the 120 bytes of
	 * OPENCHANNEL. Return 0 to accept, or a negative errno to make the
	 * open fail (the guest sees a non-zero status). */
	int (*open)(void *vsp, struct vmbus_channel *ch, const uint8_t *userdata);
	/* The channel is going away (guest close, rescind, unload, corruption
	 * or host teardown). The rings are unmapped right after it returns. */
	void (*close)(void *vsp, struct vmbus_channel *ch);
	/* Optional: the successful OPENCHANNEL_RESULT has been posted; the
	 * VSP may start sending (the integration services negotiate here). */
	void (*ready)(void *vsp, struct vmbus_channel *ch);
	/* The guest signalled the channel (HvSignalEvent on its connection id). */
	void (*signalled)(void *vsp, struct vmbus_channel *ch);
	/* Optional: the guest completed GPADL gpadl of npfns pages for this
	 * device's relid (a ring or a buffer; open channel or not), called
	 * before GPADL_CREATED is posted. pfns are valid until gpadl_torndown.
	 * Return 0, or a negative errno to fail the GPADL (the guest sees a
	 * failure status). For VSPs whose data path runs elsewhere (vmbus-user). */
	int (*gpadl_created)(void *vsp, uint32_t relid, uint32_t gpadl, const uint64_t *pfns,
			     uint32_t npfns);
	/* Optional: a GPADL gpadl_created accepted is gone (guest teardown,
	 * unload, reconnect, device removal or host teardown); always after
	 * the close callback of a channel that used it as its ring. */
	void (*gpadl_torndown)(void *vsp, uint32_t relid, uint32_t gpadl);
	/* Optional: the guest asks to move the open channel's interrupts to
	 * vCPU vp (MODIFYCHANNEL). Return 0 to accept, a negative errno to
	 * keep the old target (a 5.3 guest gets a failure status). */
	int (*retarget)(void *vsp, struct vmbus_channel *ch, uint32_t vp);
};

#endif /* HVNET_VMBUS_VSP_PROVIDER_H */
