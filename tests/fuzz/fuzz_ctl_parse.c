/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the parsers of user-typed values (cli/ctl_parse.c)
 * that vswitchd runs on every request: names, MAC addresses, VLAN lists,
 * CPU lists, bounded integers and VM NIC specs. The first byte picks the parser; the
 * rest is the string. Checks round-trips where they exist: a parsed VLAN
 * list formats back to a list that parses to the same set.
 * HVNET_FUZZ_SEEDS=dir writes a seed corpus and exits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_parse.h"
#include "seeds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static void check_vid_list(const char *s)
{
	struct ctl_vid_set a, b;
	struct ctl_err err;
	char buf[20000];

	if (ctl_parse_vid_list("allowed", s, &a, &err))
		return;
	ctl_format_vid_list(&a, buf, sizeof(buf));
	if (ctl_parse_vid_list("allowed", buf, &b, &err) || memcmp(&a, &b, sizeof(a)))
		abort();
}

/* A vm create --nic value formats back to one that parses to the same NIC. */
static void check_nic_spec(const char *s)
{
	struct ctl_nic_spec a, b;
	struct ctl_err err;
	char buf[64];

	if (ctl_parse_nic_spec(s, &a, &err))
		return;
	ctl_format_nic_spec(&a, buf, sizeof(buf));
	if (ctl_parse_nic_spec(buf, &b, &err) || memcmp(&a, &b, sizeof(a)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_err err;
	uint8_t mac[6];
	uint64_t v;
	char *s;

	if (size < 1 || size > 4096)
		return 0;
	s = malloc(size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 6) {
	case 0:
		ctl_parse_name("port", s, CTL_NAME_MAX, &err);
		break;
	case 1:
		if (ctl_parse_mac("mac", s, mac, &err) == 0) {
			char out[18];

			ctl_format_mac(mac, out);
			if (strcasecmp(out, s) && strlen(s) != 17)
				abort();
		}
		break;
	case 2:
		check_vid_list(s);
		break;
	case 3:
		ctl_parse_cpu_list("lcores", s, &v, &err);
		break;
	case 4:
		if (ctl_parse_u64("n", s, 1, 4094, &v, &err) == 0 && (v < 1 || v > 4094))
			abort();
		break;
	case 5:
		check_nic_spec(s);
		break;
	}
	free(s);
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* the first byte picks the parser */
	static const struct fuzz_seed seeds[] = {
		{"\0vm1.eth0", 9}, {"\00102:ab:cd:ef:00:01", 18}, {"\00210,20-30,4094", 15},
		{"\0030,2-3", 6}, {"\0044094", 5}, {"\005s1,mac=02:00:00:00:00:01,vlan=10", 33},
	};

	(void)argc;
	(void)argv;
	fuzz_write_seeds(seeds, sizeof(seeds) / sizeof(seeds[0]));
	return 0;
}
