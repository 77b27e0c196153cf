/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the 16550A model (vmm/serial.c) as Linux's 8250 driver
 * drives it: scratch and IER read-back, loopback (autoconfig), FIFO
 * detection through IIR, transmit with THR-empty interrupts (the IRQ line
 * must drop after the IIR read so the next one is an edge), receive with
 * data-ready interrupts, overrun, divisor latch, and OUT2 gating the line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "serial.h"

enum { RBR = 0, IER = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

static uint8_t txbuf[256];
static size_t ntx;
static int level, edges;
static struct vmm_serial *s;

static void tx(void *opaque, uint8_t b)
{
	(void)opaque;
	if (ntx < sizeof(txbuf))
		txbuf[ntx++] = b;
}

static void irq(void *opaque, int l)
{
	(void)opaque;
	assert_int_not_equal(l, level); /* only changes are reported */
	if (l)
		edges++;
	level = l;
}

static int setup(void **state)
{
	static const struct vmm_serial_ops ops = { .tx = tx, .irq = irq };

	(void)state;
	ntx = 0;
	level = edges = 0;
	s = vmm_serial_new(&ops, NULL);
	return s ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	vmm_serial_free(s);
	return 0;
}

static void test_registers(void **state)
{
	(void)state;
	vmm_serial_write(s, SCR, 0xa5);
	assert_int_equal(vmm_serial_read(s, SCR), 0xa5);
	vmm_serial_write(s, IER, 0x0f);
	assert_int_equal(vmm_serial_read(s, IER), 0x0f);
	vmm_serial_write(s, IER, 0xff);
	assert_int_equal(vmm_serial_read(s, IER), 0x0f); /* upper bits reserved */
	vmm_serial_write(s, LCR, 0x83);                   /* DLAB */
	vmm_serial_write(s, RBR, 0x01);
	vmm_serial_write(s, IER, 0x00);
	assert_int_equal(vmm_serial_read(s, RBR), 0x01);
	assert_int_equal(vmm_serial_read(s, IER), 0x00);
	vmm_serial_write(s, LCR, 0x03);
	assert_int_equal(vmm_serial_read(s, IER), 0x0f); /* IER untouched by DLAB writes */
	assert_int_equal(ntx, 0);                         /* divisor writes do not transmit */
	assert_int_equal(vmm_serial_read(s, LSR) & 0x60, 0x60);
	assert_int_equal(vmm_serial_read(s, MSR), 0xb0);  /* DCD DSR CTS */
}

static void test_fifo_detect(void **state)
{
	(void)state;
	assert_int_equal(vmm_serial_read(s, IIR), 0x01);
	vmm_serial_write(s, FCR, 0x07);
	assert_int_equal(vmm_serial_read(s, IIR) & 0xc0, 0xc0); /* 16550A */
	vmm_serial_write(s, FCR, 0x00);
	assert_int_equal(vmm_serial_read(s, IIR) & 0xc0, 0x00);
}

static void test_loopback(void **state)
{
	(void)state;
	vmm_serial_write(s, MCR, 0x10 | 0x0a); /* loop, RTS, OUT2 */
	assert_int_equal(vmm_serial_read(s, MSR) & 0xf0, 0x90); /* CTS, DCD */
	vmm_serial_write(s, MCR, 0x10 | 0x05); /* loop, DTR, OUT1 */
	assert_int_equal(vmm_serial_read(s, MSR) & 0xf0, 0x60); /* DSR, RI */
	vmm_serial_write(s, RBR, 'x');
	assert_int_equal(ntx, 0);
	assert_int_equal(vmm_serial_read(s, LSR) & 1, 1);
	assert_int_equal(vmm_serial_read(s, RBR), 'x');
	assert_int_equal(vmm_serial_read(s, LSR) & 1, 0);
}

static void test_tx_interrupts(void **state)
{
	(void)state;
	vmm_serial_write(s, MCR, 0x08); /* OUT2: IRQ line to the PIC */
	vmm_serial_write(s, FCR, 0x01);
	vmm_serial_write(s, IER, 0x02); /* THRI on an empty THR interrupts */
	assert_int_equal(level, 1);
	assert_int_equal(vmm_serial_read(s, IIR), 0xc2);
	assert_int_equal(level, 0); /* IIR read cleared it */
	assert_int_equal(vmm_serial_read(s, IIR), 0xc1);
	vmm_serial_write(s, RBR, 'h');
	vmm_serial_write(s, RBR, 'i');
	assert_int_equal(ntx, 2);
	assert_memory_equal(txbuf, "hi", 2);
	assert_int_equal(level, 1);
	assert_int_equal(edges, 2); /* a fresh edge for the next interrupt */
	vmm_serial_write(s, IER, 0x00);
	assert_int_equal(level, 0);
}

static void test_out2_gates_irq(void **state)
{
	(void)state;
	vmm_serial_write(s, IER, 0x02);
	assert_int_equal(level, 0);
	assert_int_equal(vmm_serial_read(s, IIR) & 0x0f, 0x02); /* pending, but gated */
	vmm_serial_write(s, IER, 0x00);
	vmm_serial_write(s, MCR, 0x08);
	vmm_serial_write(s, IER, 0x02);
	assert_int_equal(level, 1);
}

static void test_rx(void **state)
{
	uint8_t big[VMM_SERIAL_RX_FIFO + 10];

	(void)state;
	vmm_serial_write(s, MCR, 0x08);
	vmm_serial_write(s, IER, 0x01);
	assert_int_equal(level, 0);
	assert_int_equal(vmm_serial_rx(s, (const uint8_t *)"ab", 2), 2);
	assert_int_equal(level, 1);
	assert_int_equal(vmm_serial_read(s, IIR) & 0x0f, 0x04);
	assert_int_equal(vmm_serial_read(s, RBR), 'a');
	assert_int_equal(level, 1);
	assert_int_equal(vmm_serial_read(s, RBR), 'b');
	assert_int_equal(level, 0);
	assert_int_equal(vmm_serial_read(s, LSR) & 1, 0);
	memset(big, 'z', sizeof(big));
	assert_int_equal(vmm_serial_rx(s, big, sizeof(big)), VMM_SERIAL_RX_FIFO);
	assert_int_equal(vmm_serial_rx(s, big, 1), 0);
}

static void test_rx_priority_over_thr(void **state)
{
	(void)state;
	vmm_serial_write(s, MCR, 0x08);
	vmm_serial_write(s, IER, 0x03);
	vmm_serial_rx(s, (const uint8_t *)"q", 1);
	assert_int_equal(vmm_serial_read(s, IIR) & 0x0f, 0x04); /* data before THR empty */
	vmm_serial_read(s, RBR);
	assert_int_equal(vmm_serial_read(s, IIR) & 0x0f, 0x02);
	assert_int_equal(vmm_serial_read(s, IIR) & 0x0f, 0x01);
}

static void test_overrun(void **state)
{
	uint8_t b = 'o';
	int i;

	(void)state;
	vmm_serial_write(s, MCR, 0x10); /* loopback pushes past the FIFO */
	for (i = 0; i < VMM_SERIAL_RX_FIFO + 1; i++)
		vmm_serial_write(s, RBR, b);
	assert_int_equal(vmm_serial_read(s, LSR) & 0x03, 0x03); /* DR | OE */
	assert_int_equal(vmm_serial_read(s, LSR) & 0x02, 0);    /* OE clears on read */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_registers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo_detect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loopback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_interrupts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out2_gates_irq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_priority_over_thr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overrun, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
