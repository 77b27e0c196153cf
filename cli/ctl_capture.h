/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The client side of "vswitchctl capture": parses its options, asks
 * vswitchd for a capture session; with -w it opens the file (or takes
 * stdout for "-w -") and hands the descriptor to vswitchd, which writes the
 * pcapng into it; without, it prints one line per frame of the stream. Ctrl-C (or
 * SIGTERM) ends the capture cleanly: the file stays valid and the counts
 * (captured, filtered out, dropped) are printed.
 */
#ifndef CTL_CAPTURE_H
#define CTL_CAPTURE_H

#include <stdbool.h>

/* Runs the capture command with argv after "capture". Returns the exit status. */
int ctl_capture_main(int argc, char **argv, const char *socket_path, bool json_out);

#endif
