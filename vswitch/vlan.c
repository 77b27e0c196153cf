/* SPDX-License-Identifier: BSD-3-Clause */
/* Per-port VLAN configuration: see vlan.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vlan.h"

void vsw_vlan_set_untagged(struct vsw_vlan_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mode = VSW_VLAN_UNTAGGED;
	ctl_vid_set_add(&cfg->carried, 0);
}

int vsw_vlan_set_access(struct vsw_vlan_cfg *cfg, unsigned int vid, struct ctl_err *err)
{
	if (ctl_check_vid("vlan", vid, err))
		return -EINVAL;
	memset(cfg, 0, sizeof(*cfg));
	cfg->mode = VSW_VLAN_ACCESS;
	cfg->access_vid = (uint16_t)vid;
	ctl_vid_set_add(&cfg->carried, vid);
	return 0;
}

int vsw_vlan_set_trunk(struct vsw_vlan_cfg *cfg, const struct ctl_vid_set *allowed,
		       unsigned int native_vid, struct ctl_err *err)
{
	bool any = false;

	if (native_vid && ctl_check_vid("native", native_vid, err))
		return -EINVAL;
	for (unsigned int v = 0; v < 4096; v++) {
		if (!ctl_vid_set_has(allowed, v))
			continue;
		if (v < CTL_VID_MIN || v > CTL_VID_MAX)
			return ctl_check_vid("allowed", v, err);
		any = true;
	}
	if (!any)
		return ctl_err_set(err, EINVAL, "allowed: a trunk needs at least one VLAN id 1-4094");
	memset(cfg, 0, sizeof(*cfg));
	cfg->mode = VSW_VLAN_TRUNK;
	cfg->carried = *allowed;
	cfg->allowed = *allowed;
	cfg->native_vid = (uint16_t)native_vid;
	/* Untagged frames of a trunk belong to the native VLAN, or to VLAN 0. */
	ctl_vid_set_add(&cfg->carried, native_vid);
	return 0;
}

void vsw_vlan_describe(const struct vsw_vlan_cfg *cfg, char *buf, unsigned int len)
{
	char list[256];

	switch (cfg->mode) {
	case VSW_VLAN_UNTAGGED:
		snprintf(buf, len, "untagged");
		break;
	case VSW_VLAN_ACCESS:
		snprintf(buf, len, "access %u", cfg->access_vid);
		break;
	case VSW_VLAN_TRUNK:
		ctl_format_vid_list(&cfg->allowed, list, sizeof(list));
		if (cfg->native_vid)
			snprintf(buf, len, "trunk %s native %u", list, cfg->native_vid);
		else
			snprintf(buf, len, "trunk %s", list);
		break;
	}
}
