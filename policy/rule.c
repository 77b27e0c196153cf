/* SPDX-License-Identifier: BSD-3-Clause */
/* Rule values: see rule.h. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rule.h"

int pol_parse_prefix(const char *field, const char *s, struct pol_prefix *p, struct ctl_err *err)
{
	char addr[64], *slash, *end;
	long len;

	memset(p, 0, sizeof(*p));
	p->set = true;
	if (s && !strcmp(s, "any"))
		return 0;
	if (!s || strlen(s) >= sizeof(addr))
		goto bad;
	strcpy(addr, s);
	slash = strchr(addr, '/');
	if (slash)
		*slash++ = '\0';
	if (inet_pton(AF_INET, addr, p->addr) == 1)
		p->family = POL_IPV4;
	else if (inet_pton(AF_INET6, addr, p->addr) == 1)
		p->family = POL_IPV6;
	else
		goto bad;
	len = (long)pol_addr_len(p->family) * 8;
	if (slash) {
		if (!isdigit((unsigned char)*slash))
			goto bad;
		long l = strtol(slash, &end, 10);

		if (*end || l < 0 || l > len)
			return ctl_err_set(err, EINVAL, "%s: prefix length of '%s' must be 0-%ld",
					   field, s, len);
		len = l;
	}
	p->len = (uint8_t)len;
	/* keep the network part only, so equal prefixes compare equal */
	for (unsigned int bit = p->len; bit < pol_addr_len(p->family) * 8; bit++)
		p->addr[bit / 8] &= (uint8_t)~(0x80 >> (bit % 8));
	return 0;
bad:
	memset(p, 0, sizeof(*p));
	return ctl_err_set(err, EINVAL,
			   "%s: '%s' is not an address or prefix (want any, 10.0.0.0/8, 10.0.0.1, fd00::/64)",
			   field, s ? s : "");
}

void pol_format_prefix(const struct pol_prefix *p, char buf[64])
{
	char a[INET6_ADDRSTRLEN];

	if (!p->set || p->family == 0) {
		snprintf(buf, 64, "any");
		return;
	}
	inet_ntop(p->family == POL_IPV4 ? AF_INET : AF_INET6, p->addr, a, sizeof(a));
	snprintf(buf, 64, "%s/%u", a, p->len);
}

bool pol_prefix_match(const struct pol_prefix *p, uint8_t family, const uint8_t *addr)
{
	unsigned int full, rest;

	if (!p->set)
		return true;
	if (p->family == 0)
		return family != POL_NOT_IP;
	if (p->family != family)
		return false;
	full = p->len / 8;
	rest = p->len % 8;
	if (memcmp(p->addr, addr, full))
		return false;
	return !rest || ((p->addr[full] ^ addr[full]) & (uint8_t)(0xff00 >> rest)) == 0;
}

static bool parse_port(const char *s, const char **end, long *v)
{
	char *e;

	if (!isdigit((unsigned char)*s))
		return false;
	*v = strtol(s, &e, 10);
	*end = e;
	return *v >= 0 && *v <= 65535 && e - s <= 5;
}

int pol_parse_port_range(const char *field, const char *s, uint16_t *lo, uint16_t *hi,
			 struct ctl_err *err)
{
	const char *p = s ? s : "";
	long a, b;

	if (!parse_port(p, &p, &a))
		goto bad;
	b = a;
	if (*p == '-' && !parse_port(p + 1, &p, &b))
		goto bad;
	if (*p)
		goto bad;
	if (b < a)
		return ctl_err_set(err, EINVAL, "%s: range %ld-%ld is descending (want low-high)",
				   field, a, b);
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
bad:
	return ctl_err_set(err, EINVAL, "%s: '%s' is not a port or range (want 0-65535, like 80 or 1024-2047)",
			   field, s ? s : "");
}

int pol_parse_protocol(const char *s, int *proto, struct ctl_err *err)
{
	static const struct {
		const char *name;
		int proto;
	} names[] = {{"tcp", POL_PROTO_TCP},
		     {"udp", POL_PROTO_UDP},
		     {"icmp", POL_PROTO_ICMP_ANY},
		     {"icmpv4", POL_PROTO_ICMP},
		     {"icmpv6", POL_PROTO_ICMPV6}};
	char *end;
	long v;

	for (size_t i = 0; s && i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcasecmp(s, names[i].name)) {
			*proto = names[i].proto;
			return 0;
		}
	}
	if (s && isdigit((unsigned char)*s)) {
		v = strtol(s, &end, 10);
		if (!*end && v >= 0 && v <= 255) {
			*proto = (int)v;
			return 0;
		}
	}
	return ctl_err_set(err, EINVAL, "protocol: '%s' is not one of tcp|udp|icmp|icmpv6|0-255",
			   s ? s : "");
}

const char *pol_protocol_name(int proto, char buf[8])
{
	switch (proto) {
	case POL_PROTO_ANY: return "any";
	case POL_PROTO_TCP: return "tcp";
	case POL_PROTO_UDP: return "udp";
	case POL_PROTO_ICMP_ANY: return "icmp";
	case POL_PROTO_ICMP: return "icmpv4";
	case POL_PROTO_ICMPV6: return "icmpv6";
	}
	snprintf(buf, 8, "%d", proto);
	return buf;
}

int pol_parse_dir(const char *s, bool both_ok, enum pol_dir *dir, struct ctl_err *err)
{
	if (s && !strcmp(s, "in"))
		*dir = POL_DIR_IN;
	else if (s && !strcmp(s, "out"))
		*dir = POL_DIR_OUT;
	else if (s && both_ok && !strcmp(s, "both"))
		*dir = POL_DIR_BOTH;
	else
		return ctl_err_set(err, EINVAL, "direction: '%s' is not one of %s", s ? s : "",
				   both_ok ? "in|out|both" : "in|out");
	return 0;
}

const char *pol_dir_name(enum pol_dir d)
{
	return d == POL_DIR_IN ? "in" : d == POL_DIR_OUT ? "out" : "both";
}

int pol_parse_action(const char *s, bool meter_ok, enum pol_action *a, struct ctl_err *err)
{
	if (s && !strcmp(s, "allow"))
		*a = POL_ALLOW;
	else if (s && !strcmp(s, "deny"))
		*a = POL_DENY;
	else if (s && meter_ok && !strcmp(s, "meter"))
		*a = POL_METER;
	else
		return ctl_err_set(err, EINVAL, "action: '%s' is not one of %s", s ? s : "",
				   meter_ok ? "allow|deny|meter" : "allow|deny");
	return 0;
}

const char *pol_action_name(enum pol_action a)
{
	return a == POL_ALLOW ? "allow" : a == POL_DENY ? "deny" : "meter";
}
