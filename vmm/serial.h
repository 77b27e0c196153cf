/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * 16550A UART model (COM1 for the guest console): registers, FIFO mode bits,
 * loopback, receive FIFO, THR-empty / receive-data / line-status interrupts.
 * Transmitted bytes go to ops->tx at once (no baud-rate pacing). The IRQ line
 * is reported with ops->irq(level) whenever it changes; the caller maps it
 * to KVM_IRQ_LINE. Thread rules: register access (vCPU threads) and
 * vmm_serial_rx (console input thread) may run concurrently; an internal
 * mutex serialises them, and the callbacks run with it held.
 */
#ifndef VMM_SERIAL_H
#define VMM_SERIAL_H

#include <stddef.h>
#include <stdint.h>

#define VMM_SERIAL_COM1_BASE 0x3f8
#define VMM_SERIAL_COM1_IRQ 4
#define VMM_SERIAL_RX_FIFO 64

struct vmm_serial;

struct vmm_serial_ops {
	void (*tx)(void *opaque, uint8_t byte);
	void (*irq)(void *opaque, int level);
};

/* Creates a UART in its reset state. Returns NULL and sets errno on failure. */
struct vmm_serial *vmm_serial_new(const struct vmm_serial_ops *ops, void *opaque);

/* Frees a UART; NULL is fine. */
void vmm_serial_free(struct vmm_serial *s);

/* Guest read of register offset 0..7. */
uint8_t vmm_serial_read(struct vmm_serial *s, unsigned offset);

/* Guest write of register offset 0..7. */
void vmm_serial_write(struct vmm_serial *s, unsigned offset, uint8_t value);

/* Queues host input; returns how many of the n bytes fit in the FIFO. */
size_t vmm_serial_rx(struct vmm_serial *s, const uint8_t *buf, size_t n);

#endif
