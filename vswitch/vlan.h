/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-port VLAN model (Set-VMNetworkAdapterVlan): untagged, access VID, or
 * trunk with an allowed list and a native VID. The switch classifies every
 * frame into one internal VLAN at ingress and decides per egress port
 * whether the frame leaves tagged, untagged or not at all. Internal VLAN 0
 * is the untagged network: frames of untagged ports, and untagged frames of
 * a trunk without a native VID. Pure functions over an immutable config;
 * safe from any thread.
 */
#ifndef VSW_VLAN_H
#define VSW_VLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "ctl_parse.h"

enum vsw_vlan_mode {
	VSW_VLAN_UNTAGGED,
	VSW_VLAN_ACCESS,
	VSW_VLAN_TRUNK,
};

struct vsw_vlan_cfg {
	enum vsw_vlan_mode mode;
	uint16_t access_vid;	 /* VSW_VLAN_ACCESS */
	uint16_t native_vid;	 /* VSW_VLAN_TRUNK: 0 = none */
	struct ctl_vid_set carried; /* every internal VLAN the port carries (incl. 0/native) */
	struct ctl_vid_set allowed; /* VSW_VLAN_TRUNK: the allowed list as configured */
};

/* What an egress port does with a frame of some VLAN. */
enum vsw_vlan_egress {
	VSW_EGRESS_DROP,     /* the port does not carry the VLAN */
	VSW_EGRESS_UNTAGGED, /* leave without a tag */
	VSW_EGRESS_TAGGED,   /* leave with an 802.1Q tag of the VLAN */
};

/* Sets cfg to untagged mode. */
void vsw_vlan_set_untagged(struct vsw_vlan_cfg *cfg);

/* Sets cfg to access mode with vid (1-4094). Returns 0 or -EINVAL with err set. */
int vsw_vlan_set_access(struct vsw_vlan_cfg *cfg, unsigned int vid, struct ctl_err *err);

/*
 * Sets cfg to trunk mode carrying allowed (ids 1-4094) and native_vid (0 =
 * none; otherwise 1-4094, carried untagged even when not in allowed).
 * Returns 0 or -EINVAL with err set (cfg unchanged).
 */
int vsw_vlan_set_trunk(struct vsw_vlan_cfg *cfg, const struct ctl_vid_set *allowed,
		       unsigned int native_vid, struct ctl_err *err);

/*
 * Classifies a frame arriving on a port: tagged says whether it carries an
 * 802.1Q tag and vid is the tag's id (a priority tag, VID 0, counts as
 * untagged). Returns the internal VLAN (0-4094), or -1 when the port does
 * not accept the frame.
 */
static inline int vsw_vlan_ingress(const struct vsw_vlan_cfg *cfg, bool tagged, unsigned int vid)
{
	if (tagged && vid == 0)
		tagged = false;
	switch (cfg->mode) {
	case VSW_VLAN_UNTAGGED:
		return tagged ? -1 : 0;
	case VSW_VLAN_ACCESS:
		return tagged ? -1 : cfg->access_vid;
	case VSW_VLAN_TRUNK:
		if (!tagged)
			return cfg->native_vid;
		if (!ctl_vid_set_has(&cfg->carried, vid))
			return -1;
		return (int)vid;
	}
	return -1;
}

/* Decides how a frame of internal VLAN vlan leaves a port with cfg. */
static inline enum vsw_vlan_egress vsw_vlan_egress(const struct vsw_vlan_cfg *cfg,
						   unsigned int vlan)
{
	if (!ctl_vid_set_has(&cfg->carried, vlan))
		return VSW_EGRESS_DROP;
	if (cfg->mode != VSW_VLAN_TRUNK || vlan == cfg->native_vid)
		return VSW_EGRESS_UNTAGGED;
	return VSW_EGRESS_TAGGED;
}

/* Describes cfg for users: "untagged", "access 10", "trunk 10,20 native 1". */
void vsw_vlan_describe(const struct vsw_vlan_cfg *cfg, char *buf, unsigned int len);

#endif
