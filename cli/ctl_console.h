/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The client side of "vswitchctl vm console": asks vswitchd for a VM's
 * serial console log and copies what it streams to stdout, following new
 * output until the VM stops (or only what is there with --no-follow).
 * Read-only: nothing typed reaches the guest. Ctrl-C ends it (exit 0).
 */
#ifndef CTL_CONSOLE_H
#define CTL_CONSOLE_H

#include <stdbool.h>

#include <jansson.h>

/*
 * Sends the vm.console request (steals args: {"name", "follow"}) to the
 * daemon at socket_path and streams the answer to stdout. Errors are
 * printed as "vswitchctl: error: ..." (and as {"error"} with json_out).
 * Returns the exit status.
 */
int ctl_console_main(const char *socket_path, json_t *args, bool json_out);

#endif
