/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * 16550A UART model. Register map (DLAB = LCR bit 7 selects the divisor
 * latch at offsets 0 and 1): 0 RBR/THR, 1 IER, 2 IIR/FCR, 3 LCR, 4 MCR,
 * 5 LSR, 6 MSR, 7 SCR. Interrupt priority: line status, received data,
 * THR empty. The transmitter is always empty right after a THR write, so the
 * THR-empty interrupt becomes pending again at once (cleared by an IIR read
 * that reports it, as on hardware).
 */
#include <pthread.h>
#include <stdlib.h>

#include "serial.h"

enum {
	IER_RDI = 0x01, IER_THRI = 0x02, IER_RLSI = 0x04, IER_MSI = 0x08,
	IIR_NO_INT = 0x01, IIR_THRI = 0x02, IIR_RDI = 0x04, IIR_RLSI = 0x06, IIR_FIFO = 0xc0,
	FCR_ENABLE = 0x01, FCR_CLEAR_RX = 0x02,
	LCR_DLAB = 0x80,
	MCR_DTR = 0x01, MCR_RTS = 0x02, MCR_OUT1 = 0x04, MCR_OUT2 = 0x08, MCR_LOOP = 0x10,
	LSR_DR = 0x01, LSR_OE = 0x02, LSR_THRE = 0x20, LSR_TEMT = 0x40,
	MSR_CTS = 0x10, MSR_DSR = 0x20, MSR_RI = 0x40, MSR_DCD = 0x80,
};

struct vmm_serial {
	pthread_mutex_t lock;
	struct vmm_serial_ops ops;
	void *opaque;
	uint8_t ier, lcr, mcr, lsr_err, scr, dll, dlm, fcr;
	int thr_pending; /* THR-empty interrupt pending */
	int irq_level;
	uint8_t rx[VMM_SERIAL_RX_FIFO];
	unsigned rx_head, rx_count;
};

struct vmm_serial *vmm_serial_new(const struct vmm_serial_ops *ops, void *opaque)
{
	struct vmm_serial *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	s->ops = *ops;
	s->opaque = opaque;
	s->dll = 0x0c; /* 9600 baud */
	return s;
}

void vmm_serial_free(struct vmm_serial *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static uint8_t iir(const struct vmm_serial *s)
{
	uint8_t fifo = (s->fcr & FCR_ENABLE) ? IIR_FIFO : 0;

	if ((s->ier & IER_RLSI) && s->lsr_err)
		return fifo | IIR_RLSI;
	if ((s->ier & IER_RDI) && s->rx_count)
		return fifo | IIR_RDI;
	if ((s->ier & IER_THRI) && s->thr_pending)
		return fifo | IIR_THRI;
	return fifo | IIR_NO_INT;
}

/* Recomputes the interrupt line; OUT2 gates it to the PIC as on a PC. */
static void update_irq(struct vmm_serial *s)
{
	int level = !(iir(s) & IIR_NO_INT) && (s->mcr & MCR_OUT2);

	if (level != s->irq_level) {
		s->irq_level = level;
		s->ops.irq(s->opaque, level);
	}
}

static void rx_push(struct vmm_serial *s, uint8_t b)
{
	if (s->rx_count == VMM_SERIAL_RX_FIFO) {
		s->lsr_err |= LSR_OE;
		return;
	}
	s->rx[(s->rx_head + s->rx_count++) % VMM_SERIAL_RX_FIFO] = b;
}

static uint8_t rx_pop(struct vmm_serial *s)
{
	uint8_t b;

	if (!s->rx_count)
		return 0;
	b = s->rx[s->rx_head];
	s->rx_head = (s->rx_head + 1) % VMM_SERIAL_RX_FIFO;
	s->rx_count--;
	return b;
}

static uint8_t msr(const struct vmm_serial *s)
{
	uint8_t m = 0;

	if (!(s->mcr & MCR_LOOP))
		return MSR_DCD | MSR_DSR | MSR_CTS;
	if (s->mcr & MCR_DTR)
		m |= MSR_DSR;
	if (s->mcr & MCR_RTS)
		m |= MSR_CTS;
	if (s->mcr & MCR_OUT1)
		m |= MSR_RI;
	if (s->mcr & MCR_OUT2)
		m |= MSR_DCD;
	return m;
}

static uint8_t read_locked(struct vmm_serial *s, unsigned offset)
{
	uint8_t v;

	switch (offset) {
	case 0:
		return (s->lcr & LCR_DLAB) ? s->dll : rx_pop(s);
	case 1:
		return (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
	case 2:
		v = iir(s);
		if ((v & 0x0f) == IIR_THRI)
			s->thr_pending = 0;
		return v;
	case 3:
		return s->lcr;
	case 4:
		return s->mcr;
	case 5:
		v = LSR_THRE | LSR_TEMT | s->lsr_err | (s->rx_count ? LSR_DR : 0);
		s->lsr_err = 0;
		return v;
	case 6:
		return msr(s);
	default:
		return s->scr;
	}
}

static void write_thr(struct vmm_serial *s, uint8_t value)
{
	if (s->mcr & MCR_LOOP)
		rx_push(s, value);
	else
		s->ops.tx(s->opaque, value);
	s->thr_pending = 1;
}

static void write_locked(struct vmm_serial *s, unsigned offset, uint8_t value)
{
	switch (offset) {
	case 0:
		if (s->lcr & LCR_DLAB)
			s->dll = value;
		else
			write_thr(s, value);
		break;
	case 1:
		if (s->lcr & LCR_DLAB) {
			s->dlm = value;
			break;
		}
		if (!(s->ier & IER_THRI) && (value & IER_THRI))
			s->thr_pending = 1; /* enabling THRI with an empty THR interrupts */
		s->ier = value & (IER_RDI | IER_THRI | IER_RLSI | IER_MSI);
		break;
	case 2:
		s->fcr = value & FCR_ENABLE;
		if (value & FCR_CLEAR_RX)
			s->rx_count = 0;
		break;
	case 3:
		s->lcr = value;
		break;
	case 4:
		s->mcr = value & 0x1f;
		break;
	case 7:
		s->scr = value;
		break;
	default: /* LSR and MSR are read-only */
		break;
	}
}

uint8_t vmm_serial_read(struct vmm_serial *s, unsigned offset)
{
	uint8_t v;

	pthread_mutex_lock(&s->lock);
	v = read_locked(s, offset & 7);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return v;
}

void vmm_serial_write(struct vmm_serial *s, unsigned offset, uint8_t value)
{
	pthread_mutex_lock(&s->lock);
	write_locked(s, offset & 7, value);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

size_t vmm_serial_rx(struct vmm_serial *s, const uint8_t *buf, size_t n)
{
	size_t i;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < n && s->rx_count < VMM_SERIAL_RX_FIFO; i++)
		rx_push(s, buf[i]);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return i;
}
