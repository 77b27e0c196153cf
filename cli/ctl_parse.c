/* SPDX-License-Identifier: BSD-3-Clause */
/* Parsers for user-typed values: see ctl_parse.h. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_parse.h"

int ctl_parse_name(const char *field, const char *s, unsigned int max, struct ctl_err *err)
{
	size_t len = s ? strlen(s) : 0;

	if (len == 0 || len > max)
		return ctl_err_set(err, EINVAL, "%s: name must be 1-%u characters, got %zu", field,
				   max, len);
	if (s[0] == '-' || s[0] == '.')
		return ctl_err_set(err, EINVAL, "%s: name '%s' must not start with '-' or '.'",
				   field, s);
	for (size_t i = 0; i < len; i++) {
		if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
			return ctl_err_set(err, EINVAL,
					   "%s: name '%s' may use only letters, digits, '_', '.' and '-'",
					   field, s);
	}
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int ctl_parse_mac(const char *field, const char *s, uint8_t mac[6], struct ctl_err *err)
{
	if (!s || strlen(s) != 17)
		goto bad;
	for (int i = 0; i < 6; i++) {
		int hi = hexval(s[i * 3]), lo = hexval(s[i * 3 + 1]);

		if (hi < 0 || lo < 0)
			goto bad;
		if (i < 5 && s[i * 3 + 2] != ':' && s[i * 3 + 2] != '-')
			goto bad;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
bad:
	return ctl_err_set(err, EINVAL, "%s: '%s' is not a MAC address (want aa:bb:cc:dd:ee:ff)",
			   field, s ? s : "");
}

void ctl_format_mac(const uint8_t mac[6], char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
		 mac[5]);
}

int ctl_check_vid(const char *field, long long vid, struct ctl_err *err)
{
	if (vid < CTL_VID_MIN || vid > CTL_VID_MAX)
		return ctl_err_set(err, EINVAL, "%s: VLAN id must be %d-%d, got %lld", field,
				   CTL_VID_MIN, CTL_VID_MAX, vid);
	return 0;
}

/* Why an id list was rejected. */
struct list_fault {
	enum { FAULT_SYNTAX, FAULT_RANGE, FAULT_ORDER } kind;
	long lo, hi; /* the offending id (FAULT_RANGE: lo) or range */
};

/* Parses one id of a list at *p, advancing *p. Returns false on a syntax error. */
static bool parse_list_id(const char **p, long *v)
{
	char *end;

	if (!isdigit((unsigned char)**p))
		return false;
	errno = 0;
	*v = strtol(*p, &end, 10);
	if (errno)
		*v = LONG_MAX;
	*p = end;
	return true;
}

/*
 * Parses a list of decimal ids and ascending ranges ("1,5-7"), every id in
 * [min, max], setting their bits in bits (which the caller cleared).
 * Returns 0, or -EINVAL with the fault described in f.
 */
static int parse_id_list(const char *s, long min, long max, uint64_t *bits, struct list_fault *f)
{
	const char *p = s;
	long lo, hi;

	f->kind = FAULT_SYNTAX;
	do {
		if (!parse_list_id(&p, &lo))
			return -EINVAL;
		hi = lo;
		if (*p == '-' && (p++, !parse_list_id(&p, &hi)))
			return -EINVAL;
		f->lo = lo < min || lo > max ? lo : hi;
		if (f->lo < min || f->lo > max) {
			f->kind = FAULT_RANGE;
			return -EINVAL;
		}
		if (hi < lo) {
			*f = (struct list_fault){FAULT_ORDER, lo, hi};
			return -EINVAL;
		}
		for (long v = lo; v <= hi; v++)
			bits[v >> 6] |= UINT64_C(1) << (v & 63);
		if (*p != ',' && *p != '\0')
			return -EINVAL;
	} while (*p++ == ',');
	return 0;
}

int ctl_parse_vid_list(const char *field, const char *s, struct ctl_vid_set *set,
		       struct ctl_err *err)
{
	struct list_fault f;

	memset(set, 0, sizeof(*set));
	if (s && parse_id_list(s, CTL_VID_MIN, CTL_VID_MAX, set->bits, &f) == 0)
		return 0;
	memset(set, 0, sizeof(*set));
	if (s && f.kind == FAULT_RANGE)
		return ctl_check_vid(field, f.lo, err);
	if (s && f.kind == FAULT_ORDER)
		return ctl_err_set(err, EINVAL, "%s: range %ld-%ld is descending (want low-high)",
				   field, f.lo, f.hi);
	return ctl_err_set(err, EINVAL,
			   "%s: '%s' is not a VLAN list (want ids 1-4094 like 10,20-30)", field,
			   s ? s : "");
}

char *ctl_format_vid_list(const struct ctl_vid_set *set, char *buf, unsigned int len)
{
	unsigned int pos = 0;

	buf[0] = '\0';
	for (unsigned int v = 0; v < 4096; v++) {
		unsigned int end = v;
		int n;

		if (!ctl_vid_set_has(set, v))
			continue;
		while (end + 1 < 4096 && ctl_vid_set_has(set, end + 1))
			end++;
		if (end == v)
			n = snprintf(buf + pos, len - pos, "%s%u", pos ? "," : "", v);
		else
			n = snprintf(buf + pos, len - pos, "%s%u-%u", pos ? "," : "", v, end);
		if (n < 0 || (unsigned int)n >= len - pos)
			break;
		pos += (unsigned int)n;
		v = end;
	}
	return buf;
}

int ctl_parse_u64(const char *field, const char *s, uint64_t min, uint64_t max, uint64_t *out,
		  struct ctl_err *err)
{
	unsigned long long v;
	char *end;

	if (!s || !isdigit((unsigned char)s[0]))
		goto bad;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		goto bad;
	*out = v;
	return 0;
bad:
	return ctl_err_set(err, EINVAL, "%s: want an integer %llu-%llu, got '%s'", field,
			   (unsigned long long)min, (unsigned long long)max, s ? s : "");
}

int ctl_parse_cpu_list(const char *field, const char *s, uint64_t *mask, struct ctl_err *err)
{
	struct list_fault f;

	*mask = 0;
	if (s && parse_id_list(s, 0, 63, mask, &f) == 0)
		return 0;
	*mask = 0;
	return ctl_err_set(err, EINVAL, "%s: '%s' is not a CPU list (want ids 0-63 like 1 or 0,2-3)",
			   field, s ? s : "");
}

static int parse_nic_option(const char *opt, const char *spec, struct ctl_nic_spec *nic,
			    struct ctl_err *err)
{
	static const char syntax[] = "want SWITCH[,mac=MAC][,vlan=VID]";
	char *end;
	long v;

	if (!strncmp(opt, "mac=", 4) && !nic->has_mac) {
		if (ctl_parse_mac("nic mac", opt + 4, nic->mac, err))
			return -EINVAL;
		if (nic->mac[0] & 1)
			return ctl_err_set(err, EINVAL,
					   "nic mac: %s is a multicast address; want a unicast one",
					   opt + 4);
		if (!(nic->mac[0] | nic->mac[1] | nic->mac[2] | nic->mac[3] | nic->mac[4] |
		      nic->mac[5]))
			return ctl_err_set(err, EINVAL,
					   "nic mac: 00:00:00:00:00:00 is not a station address");
		nic->has_mac = true;
		return 0;
	}
	if (!strncmp(opt, "vlan=", 5) && !nic->vlan) {
		errno = 0;
		v = strtol(opt + 5, &end, 10);
		if (opt[5] < '0' || opt[5] > '9' || *end || errno)
			return ctl_err_set(err, EINVAL, "nic vlan: '%s' is not a VLAN id (1-4094)",
					   opt + 5);
		if (ctl_check_vid("nic vlan", v, err))
			return -EINVAL;
		nic->vlan = (uint16_t)v;
		return 0;
	}
	return ctl_err_set(err, EINVAL, "nic: '%s' in '%s' is not an option or repeats one (%s)",
			   opt, spec, syntax);
}

int ctl_parse_nic_spec(const char *spec, struct ctl_nic_spec *nic, struct ctl_err *err)
{
	char buf[256], *save = NULL, *tok;

	memset(nic, 0, sizeof(*nic));
	if (!spec || strlen(spec) >= sizeof(buf))
		return ctl_err_set(err, EINVAL, "nic: want SWITCH[,mac=MAC][,vlan=VID]");
	strcpy(buf, spec);
	if (!buf[0] || buf[0] == ',' || strstr(buf, ",,") || buf[strlen(buf) - 1] == ',')
		return ctl_err_set(err, EINVAL,
				   "nic: '%s' has an empty field (want "
				   "SWITCH[,mac=MAC][,vlan=VID])",
				   spec);
	tok = strtok_r(buf, ",", &save);
	if (ctl_parse_name("nic", tok, CTL_SWITCH_NAME_MAX, err))
		return -EINVAL;
	snprintf(nic->sw, sizeof(nic->sw), "%s", tok);
	while ((tok = strtok_r(NULL, ",", &save))) {
		if (parse_nic_option(tok, spec, nic, err))
			return -EINVAL;
	}
	return 0;
}

void ctl_format_nic_spec(const struct ctl_nic_spec *n, char *buf, size_t len)
{
	size_t pos = (size_t)snprintf(buf, len, "%s", n->sw);
	char m[18];

	if (n->has_mac) {
		ctl_format_mac(n->mac, m);
		pos += (size_t)snprintf(buf + pos, len - pos, ",mac=%s", m);
	}
	if (n->vlan)
		snprintf(buf + pos, len - pos, ",vlan=%u", n->vlan);
}
