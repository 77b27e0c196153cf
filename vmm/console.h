/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Console backends for the guest's serial port: "stdout" (output to fd 1,
 * input from fd 0, a terminal there put in raw mode but for Ctrl-C, and
 * restored on close), "file:PATH" (output appended to PATH, no input) and
 * "unix:PATH" (a listening unix socket; one client at a time gets the output
 * and sends input; a client that connects first receives the last
 * VMM_CONSOLE_BACKLOG bytes written before, e.g. the boot log). Also keeps
 * the boot clock: the time of the first output byte and of the first line
 * containing a marker string (the guest init's "HVNET-GUEST-INIT").
 * Threads: vmm_console_write from vCPU threads (serialised by the UART lock);
 * one input thread started by vmm_console_start_input.
 */
#ifndef VMM_CONSOLE_H
#define VMM_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

struct vmm_console;

#define VMM_CONSOLE_BACKLOG (64 * 1024)

/* Receives console input for the guest; returns bytes accepted. */
typedef size_t vmm_console_input_fn(void *opaque, const uint8_t *buf, size_t n);

/*
 * Opens the backend described by spec. marker may be NULL (no init
 * timestamp). Returns NULL and sets errno (EINVAL for an unknown spec, or
 * the error of open/bind).
 */
struct vmm_console *vmm_console_open(const char *spec, const char *marker);

/* Stops the input thread, closes files and sockets (removes the unix socket
 * path); NULL is fine. */
void vmm_console_close(struct vmm_console *c);

/* Writes guest output. Never blocks on a slow unix client for long (drops). */
void vmm_console_write(struct vmm_console *c, const uint8_t *buf, size_t n);

/* Starts the input thread feeding fn. Returns 0 or -errno. */
int vmm_console_start_input(struct vmm_console *c, vmm_console_input_fn *fn, void *opaque);

/* Monotonic ns of the first output byte / of the marker line; 0 if not yet. */
uint64_t vmm_console_first_output_ns(const struct vmm_console *c);
uint64_t vmm_console_marker_ns(const struct vmm_console *c);

/* Monotonic clock in ns. */
uint64_t vmm_now_ns(void);

#endif
