/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A small AML (ACPI Machine Language) encoder for the DSDT the VMM generates:
 * named objects, integers, strings, EISA ids, buffers, packages, scopes,
 * devices and methods, plus resource templates (I/O ports, legacy IRQs).
 * Nested terms are opened with a *_begin call and closed with vmm_aml_end,
 * which back-patches the PkgLength. Errors are sticky: check vmm_aml_error
 * once at the end. Used by vmm_acpi; a device model adds its own DSDT device
 * (e.g. the VMBus device) through a struct vmm_acpi_device callback.
 * A builder is used by one thread at a time.
 */
#ifndef VMM_AML_H
#define VMM_AML_H

#include <stddef.h>
#include <stdint.h>

struct vmm_aml;

/* Creates an empty encoder. Returns NULL and sets errno on failure. */
struct vmm_aml *vmm_aml_new(void);

/* Frees an encoder; NULL is fine. */
void vmm_aml_free(struct vmm_aml *a);

/* 0, or the first negative errno an operation hit (-EINVAL bad name or
 * unbalanced nesting, -ENOMEM, -E2BIG). Open terms count as -EINVAL. */
int vmm_aml_error(const struct vmm_aml *a);

/* The encoded bytes so far; *len gets their count. Owned by a. */
const uint8_t *vmm_aml_data(const struct vmm_aml *a, size_t *len);

/* NameString: "\\_SB_", "_SB.COM1", "^PCI0.ISA", "_HID"; segments of 1..4
 * chars from [A-Z0-9_] (first not a digit), padded with '_'. */
void vmm_aml_namestring(struct vmm_aml *a, const char *name);

/* Name (name, <next object>) : DefName header; the object follows. */
void vmm_aml_name(struct vmm_aml *a, const char *name);

/* Integer in its shortest encoding (Zero, One, Ones, Byte/Word/DWord/QWord). */
void vmm_aml_integer(struct vmm_aml *a, uint64_t v);

/* String constant (ASCII, no NUL inside). */
void vmm_aml_string(struct vmm_aml *a, const char *s);

/* EISAID("PNP0501") compressed into a DWord; -EINVAL unless 3 letters + 4 hex. */
void vmm_aml_eisaid(struct vmm_aml *a, const char *id);

/* Buffer of len bytes. */
void vmm_aml_buffer(struct vmm_aml *a, const uint8_t *data, size_t len);

/* Package (n) { ... } ; close with vmm_aml_end after n objects. */
void vmm_aml_package_begin(struct vmm_aml *a, uint8_t n);

/* Scope (name) { ... } ; close with vmm_aml_end. */
void vmm_aml_scope_begin(struct vmm_aml *a, const char *name);

/* Device (name) { ... } ; close with vmm_aml_end. */
void vmm_aml_device_begin(struct vmm_aml *a, const char *name);

/* Method (name, nargs 0..7, serialized) { ... } ; close with vmm_aml_end. */
void vmm_aml_method_begin(struct vmm_aml *a, const char *name, unsigned nargs, int serialized);

/* Return (<next object>) */
void vmm_aml_return(struct vmm_aml *a);

/* Closes the innermost open term and writes its PkgLength. */
void vmm_aml_end(struct vmm_aml *a);

/* Resource template builder: a byte list ending with the End Tag. */
struct vmm_aml_res {
	uint8_t buf[256];
	size_t len;
	int err;
};

/* Starts an empty resource template. */
void vmm_aml_res_init(struct vmm_aml_res *r);

/* IO (Decode16, min, max, align, len) descriptor. */
void vmm_aml_res_io(struct vmm_aml_res *r, uint16_t min, uint16_t max, uint8_t align,
		    uint8_t len);

/* IRQNoFlags () { irq } descriptor: legacy edge/high, irq 0..15. */
void vmm_aml_res_irq_noflags(struct vmm_aml_res *r, unsigned irq);

/* Memory32Fixed (ReadWrite, base, len) descriptor. */
void vmm_aml_res_mem32(struct vmm_aml_res *r, uint32_t base, uint32_t len);

/* Appends the End Tag and emits Buffer { descriptors } into a; errors of r
 * (too many descriptors, bad irq) are carried into a. */
void vmm_aml_res_emit(struct vmm_aml *a, struct vmm_aml_res *r);

#endif
