/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Values that policy rules are made of: IP prefixes (IPv4 or IPv6, or
 * "any"), port ranges, protocols, directions and actions, with parsers
 * that name the field and the allowed values in their errors, and
 * formatters for listings. Pure functions, any thread.
 *
 * Directions follow Hyper-V: "in" is traffic going to the port (into the
 * VM), "out" is traffic coming from it. "local" is the port's side of a
 * packet (the destination of inbound, the source of outbound traffic).
 */
#ifndef POL_RULE_H
#define POL_RULE_H

#include <stdbool.h>
#include <stdint.h>

#include "ctl_err.h"
#include "flow.h"

enum pol_dir {
	POL_DIR_IN = 1,	  /* to the port */
	POL_DIR_OUT = 2,  /* from the port */
	POL_DIR_BOTH = 3,
};

enum pol_action {
	POL_ALLOW,
	POL_DENY,
	POL_METER,
};

/* An address prefix; family 0 with set means "any" (IPv4 or IPv6). */
struct pol_prefix {
	bool set;	/* given in the rule */
	uint8_t family; /* 0 (any), POL_IPV4 or POL_IPV6 */
	uint8_t len;	/* prefix length in bits */
	uint8_t addr[16];
};

/* Parses "any", "10.1.0.0/16", "10.1.2.3", "fd00::/64" or "fd00::1". */
int pol_parse_prefix(const char *field, const char *s, struct pol_prefix *p, struct ctl_err *err);

/* Formats p as "10.1.0.0/16" or "any" into buf (64 bytes). */
void pol_format_prefix(const struct pol_prefix *p, char buf[64]);

/* Whether addr (of family) lies in p. An unset p matches everything. */
bool pol_prefix_match(const struct pol_prefix *p, uint8_t family, const uint8_t *addr);

/* Parses "P" or "P-Q" (0-65535, P <= Q). */
int pol_parse_port_range(const char *field, const char *s, uint16_t *lo, uint16_t *hi,
			 struct ctl_err *err);

/* The protocol "icmp" stands for ICMPv4 on IPv4 and ICMPv6 on IPv6. */
#define POL_PROTO_ANY -1
#define POL_PROTO_ICMP_ANY 256

/* Parses "tcp", "udp", "icmp", "icmpv6" or a number 0-255 into *proto. */
int pol_parse_protocol(const char *s, int *proto, struct ctl_err *err);

/* The name of a protocol value ("tcp", "icmp", "47", "any"). */
const char *pol_protocol_name(int proto, char buf[8]);

/* The protocol value a rule means on a family (icmp -> 1 or 58). */
static inline int pol_proto_for(int proto, uint8_t family)
{
	if (proto == POL_PROTO_ICMP_ANY)
		return family == POL_IPV6 ? POL_PROTO_ICMPV6 : POL_PROTO_ICMP;
	return proto;
}

int pol_parse_dir(const char *s, bool both_ok, enum pol_dir *dir, struct ctl_err *err);
const char *pol_dir_name(enum pol_dir d);
int pol_parse_action(const char *s, bool meter_ok, enum pol_action *a, struct ctl_err *err);
const char *pol_action_name(enum pol_action a);

#endif
