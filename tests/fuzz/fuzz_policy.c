/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: policy's parsers of untrusted input. The first byte
 * picks one: the frame parser (pol_flow_parse, fed what guests send), or
 * the rule-value parsers users type (prefixes, port ranges, protocols).
 * The frame parser must stay within the frame; a parsed prefix must format
 * and parse back to itself. HVNET_FUZZ_SEEDS=dir writes seeds and exits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_mbuf.h>

#include "flow.h"
#include "rule.h"
#include "seeds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Parses data as a frame held in an mbuf of exactly its size (ASan sees any overread). */
static void fuzz_frame(const uint8_t *data, size_t size)
{
	struct rte_mbuf m;
	struct pol_flow f;
	uint8_t *buf = malloc(size ? size : 1);

	memcpy(buf, data, size);
	memset(&m, 0, sizeof(m));
	m.buf_addr = buf;
	m.data_off = 0;
	m.buf_len = (uint16_t)size;
	m.data_len = (uint16_t)size;
	m.pkt_len = (uint32_t)size;
	pol_flow_parse(&m, &f);
	if (f.family != POL_NOT_IP && f.family != POL_IPV4 && f.family != POL_IPV6)
		abort();
	free(buf);
}

static void fuzz_values(uint8_t which, const char *s)
{
	struct pol_prefix p, q;
	char buf[64];
	uint16_t lo, hi;
	int proto;

	switch (which % 3) {
	case 0:
		if (pol_parse_prefix("ip", s, &p, NULL) == 0) {
			pol_format_prefix(&p, buf);
			if (pol_parse_prefix("ip", buf, &q, NULL) || memcmp(&p, &q, sizeof(p)))
				abort();
		}
		break;
	case 1:
		if (pol_parse_port_range("port", s, &lo, &hi, NULL) == 0 && lo > hi)
			abort();
		break;
	case 2:
		if (pol_parse_protocol(s, &proto, NULL) == 0 && (proto < 0 || proto > 256))
			abort();
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size < 1 || size > 9000)
		return 0;
	if (data[0] < 128) {
		fuzz_frame(data + 1, size - 1);
		return 0;
	}
	s = malloc(size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	fuzz_values(data[0], s);
	free(s);
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* IPv4/TCP frame, IPv6 with a hop-by-hop header and UDP, a prefix */
	static const uint8_t v4[] = {0x00, 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00,
				     0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0,
				     0, 2, 0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02};
	static const uint8_t v6[] = {0x01, 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x86, 0xdd, 0x60,
				     0, 0, 0, 0, 16, 0, 64, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0,
				     0, 0, 0, 0, 1, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
				     0, 2, 17, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x23, 0x02, 0x22, 0, 8, 0,
				     0};
	static const char prefix[] = "\x80" "fd00::/64";
	const struct fuzz_seed seeds[] = {
		{v4, sizeof(v4)}, {v6, sizeof(v6)}, {prefix, sizeof(prefix) - 1}};

	(void)argc;
	(void)argv;
	fuzz_write_seeds(seeds, sizeof(seeds) / sizeof(seeds[0]));
	return 0;
}
