/* SPDX-License-Identifier: BSD-3-Clause */
/* The registry of port kinds: see port_provider.h. */
#include <string.h>

#include <rte_common.h>

#include "port_provider.h"

static const struct vsw_port_class *const classes[] = {
	&vsw_port_memif_class,	&vsw_port_pcap_class,	   &vsw_port_tap_class,
	&vsw_port_ethdev_class, &vsw_port_vhostuser_class, &vsw_port_dummy_class,
	&vsw_port_synth_class,
};

const struct vsw_port_class *vsw_port_class_find(const char *kind)
{
	for (size_t i = 0; kind && i < RTE_DIM(classes); i++) {
		if (!strcmp(classes[i]->kind, kind))
			return classes[i];
	}
	return NULL;
}

/* "dummy" is for tests and "synthetic" ports come with VMs: found, but not offered to users. */
const char *vsw_port_kinds(void)
{
	return "memif|pcap|tap|ethdev|vhostuser";
}
