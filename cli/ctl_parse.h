/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Parsers for the values users type: names, MAC addresses, VLAN ids and
 * lists, bounded integers. vswitchd validates every request with these (so
 * a socket client gets the same checks as vswitchctl); the messages name
 * the field and the allowed values. Pure functions, any thread.
 */
#ifndef CTL_PARSE_H
#define CTL_PARSE_H

#include <stdbool.h>
#include <stdint.h>

#include "ctl_err.h"

#define CTL_NAME_MAX 32	       /* longest port name, without the NUL */
#define CTL_SWITCH_NAME_MAX 12 /* so that the host vNIC "vs-NAME" fits IFNAMSIZ */
#define CTL_VID_MIN 1
#define CTL_VID_MAX 4094

/* A set of VLAN ids 0-4095, one bit each. */
struct ctl_vid_set {
	uint64_t bits[64];
};

/*
 * Checks that s is a valid object name: 1..max characters from
 * [A-Za-z0-9_.-], not starting with '-' or '.'. field names the object in
 * the error ("switch", "port"). Returns 0 or -EINVAL.
 */
int ctl_parse_name(const char *field, const char *s, unsigned int max, struct ctl_err *err);

/*
 * Parses "aa:bb:cc:dd:ee:ff" (hex digits of either case; '-' also accepted
 * as separator) into mac. Returns 0 or -EINVAL.
 */
int ctl_parse_mac(const char *field, const char *s, uint8_t mac[6], struct ctl_err *err);

/* Formats mac as lowercase "aa:bb:cc:dd:ee:ff" into buf (18 bytes). */
void ctl_format_mac(const uint8_t mac[6], char buf[18]);

/* Checks a VLAN id (1-4094). Returns 0 or -EINVAL. */
int ctl_check_vid(const char *field, long long vid, struct ctl_err *err);

/*
 * Parses a VLAN list like "10,20-30" into set (cleared first). Each id must
 * be 1-4094 and each range ascending. Returns 0 or -EINVAL.
 */
int ctl_parse_vid_list(const char *field, const char *s, struct ctl_vid_set *set,
		       struct ctl_err *err);

/* Formats set as a compact list ("10,20-30") into buf; returns buf. */
char *ctl_format_vid_list(const struct ctl_vid_set *set, char *buf, unsigned int len);

static inline bool ctl_vid_set_has(const struct ctl_vid_set *set, unsigned int vid)
{
	return (set->bits[(vid >> 6) & 63] >> (vid & 63)) & 1;
}

static inline void ctl_vid_set_add(struct ctl_vid_set *set, unsigned int vid)
{
	set->bits[(vid >> 6) & 63] |= UINT64_C(1) << (vid & 63);
}

/*
 * Parses a decimal unsigned integer in [min, max] from s. Returns 0 or
 * -EINVAL with a message naming field and the range.
 */
int ctl_parse_u64(const char *field, const char *s, uint64_t min, uint64_t max, uint64_t *out,
		  struct ctl_err *err);

/*
 * Parses a CPU list like "1", "0,2" or "1-3" into a bitmask of at most 64
 * CPUs. Returns 0 or -EINVAL.
 */
int ctl_parse_cpu_list(const char *field, const char *s, uint64_t *mask, struct ctl_err *err);

/* A VM's synthetic NIC as "vm create --nic" (and vmm --nic) take it. */
struct ctl_nic_spec {
	char sw[CTL_SWITCH_NAME_MAX + 1];
	bool has_mac;
	uint8_t mac[6];
	uint16_t vlan; /* access VLAN, 0: untagged */
};

/*
 * Parses "SWITCH[,mac=MAC][,vlan=VID]" into nic (cleared first): a valid
 * switch name, a unicast non-zero MAC, VID 1-4094, each option at most
 * once. Does not check that the switch exists. Returns 0 or -EINVAL with a
 * message naming "nic" (or "nic mac", "nic vlan") and the syntax.
 */
int ctl_parse_nic_spec(const char *s, struct ctl_nic_spec *nic, struct ctl_err *err);

/* Formats nic back into "SWITCH[,mac=MAC][,vlan=VID]" (64 bytes always suffice). */
void ctl_format_nic_spec(const struct ctl_nic_spec *nic, char *buf, size_t len);

#endif
