/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ACPI table builder: fixed-layout tables written byte by byte (no packed
 * structs, so the layout is exact and endian-safe), the DSDT from vmm_aml.
 * Layout in the buffer: RSDP | XSDT | FADT | MADT | DSDT, 16-byte aligned.
 */
#include <errno.h>
#include <string.h>

#include "acpi.h"

#define HDR_LEN 36
#define FADT_LEN 276
#define RSDP_LEN 36

struct cursor {
	uint8_t *buf;
	size_t size, off;
	uint64_t base;
};

static void put(uint8_t *p, uint64_t v, unsigned n)
{
	while (n--) {
		*p++ = (uint8_t)v;
		v >>= 8;
	}
}

uint8_t vmm_acpi_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum = (uint8_t)(sum + *p++);
	return sum;
}

/* Reserves len bytes (16-byte aligned) and returns them zeroed, or NULL. */
static uint8_t *take(struct cursor *c, size_t len, uint64_t *gpa)
{
	size_t off = (c->off + 15) & ~(size_t)15;

	if (off + len > c->size)
		return NULL;
	c->off = off + len;
	*gpa = c->base + off;
	memset(c->buf + off, 0, len);
	return c->buf + off;
}

static void header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	put(t + 4, len, 4);
	t[8] = rev;
	memcpy(t + 10, VMM_ACPI_OEM_ID, 6);
	memcpy(t + 16, VMM_ACPI_OEM_TABLE_ID, 8);
	put(t + 24, 1, 4);
	memcpy(t + 28, "HVNT", 4);
	put(t + 32, 1, 4);
}

static void finish(uint8_t *t, uint32_t len)
{
	t[9] = 0;
	t[9] = (uint8_t)-vmm_acpi_checksum(t, len);
}

/* Generic Address Structure: system I/O space. */
static void gas_io(uint8_t *g, uint16_t port, uint8_t bits)
{
	g[0] = 1;
	g[1] = bits;
	g[2] = 0;
	g[3] = bits == 8 ? 1 : bits == 16 ? 2 : 3;
	put(g + 4, port, 8);
}

static void emit_com1(struct vmm_aml *a)
{
	struct vmm_aml_res r;

	vmm_aml_device_begin(a, "COM1");
	vmm_aml_name(a, "_HID");
	vmm_aml_eisaid(a, "PNP0501");
	vmm_aml_name(a, "_UID");
	vmm_aml_integer(a, 1);
	vmm_aml_name(a, "_STA");
	vmm_aml_integer(a, 0xf);
	vmm_aml_res_init(&r);
	vmm_aml_res_io(&r, 0x3f8, 0x3f8, 0, 8);
	vmm_aml_res_irq_noflags(&r, 4);
	vmm_aml_name(a, "_CRS");
	vmm_aml_res_emit(a, &r);
	vmm_aml_end(a);
}

void vmm_acpi_emit_vmbus(struct vmm_aml *a, void *opaque)
{
	struct vmm_aml_res r;

	vmm_aml_device_begin(a, "VMBS");
	vmm_aml_name(a, "_HID");
	vmm_aml_string(a, "VMBus");
	vmm_aml_name(a, "_UID");
	vmm_aml_integer(a, 0);
	vmm_aml_method_begin(a, "_STA", 0, 0);
	vmm_aml_return(a);
	vmm_aml_integer(a, 0xf);
	vmm_aml_end(a);
	vmm_aml_res_init(&r);
	vmm_aml_res_irq_noflags(&r, opaque ? *(const unsigned *)opaque : 5);
	vmm_aml_name(a, "_CRS");
	vmm_aml_res_emit(a, &r);
	vmm_aml_end(a);
}

/* DSDT body: \_SB with COM1 and the caller's devices, then \_S5. */
static int dsdt_aml(struct vmm_aml *a, const struct vmm_acpi_config *cfg)
{
	unsigned i;

	vmm_aml_scope_begin(a, "\\_SB");
	emit_com1(a);
	for (i = 0; i < cfg->ndevices; i++)
		cfg->devices[i].emit(a, cfg->devices[i].opaque);
	vmm_aml_end(a);
	vmm_aml_name(a, "\\_S5");
	vmm_aml_package_begin(a, 4);
	vmm_aml_integer(a, VMM_ACPI_S5_TYPE);
	vmm_aml_integer(a, VMM_ACPI_S5_TYPE);
	vmm_aml_integer(a, 0);
	vmm_aml_integer(a, 0);
	vmm_aml_end(a);
	return vmm_aml_error(a);
}

static int build_dsdt(struct cursor *c, const struct vmm_acpi_config *cfg, uint64_t *gpa)
{
	struct vmm_aml *a = vmm_aml_new();
	const uint8_t *aml;
	size_t len;
	uint8_t *t;
	int rc;

	if (!a)
		return -ENOMEM;
	rc = dsdt_aml(a, cfg);
	if (rc < 0)
		goto out_free_aml;
	aml = vmm_aml_data(a, &len);
	t = take(c, HDR_LEN + len, gpa);
	if (!t) {
		rc = -ENOSPC;
		goto out_free_aml;
	}
	header(t, "DSDT", (uint32_t)(HDR_LEN + len), 2);
	memcpy(t + HDR_LEN, aml, len);
	finish(t, (uint32_t)(HDR_LEN + len));
out_free_aml:
	vmm_aml_free(a);
	return rc;
}

static int build_fadt(struct cursor *c, uint64_t dsdt, uint64_t *gpa)
{
	uint8_t *t = take(c, FADT_LEN, gpa);

	if (!t)
		return -ENOSPC;
	header(t, "FACP", FADT_LEN, 6);
	put(t + 40, dsdt, 4);
	t[45] = 0;                              /* preferred PM profile: unspecified */
	put(t + 46, VMM_ACPI_SCI_IRQ, 2);
	put(t + 56, VMM_ACPI_PM1A_EVT_PORT, 4); /* no SMI_CMD: already in ACPI mode */
	put(t + 64, VMM_ACPI_PM1A_CNT_PORT, 4);
	t[88] = 4;                              /* PM1_EVT_LEN */
	t[89] = 2;                              /* PM1_CNT_LEN */
	put(t + 96, 101, 2);                    /* P_LVL2_LAT > 100: no C2 */
	put(t + 98, 1001, 2);                   /* P_LVL3_LAT > 1000: no C3 */
	put(t + 109, 1 << 0 | 1 << 2 | 1 << 5, 2); /* legacy devs, no VGA, no CMOS RTC */
	/* WBINVD, no fixed power/sleep button, reset register supported */
	put(t + 112, 1 << 0 | 1 << 4 | 1 << 5 | 1 << 10, 4);
	gas_io(t + 116, VMM_ACPI_RESET_PORT, 8);
	t[128] = VMM_ACPI_RESET_VALUE;
	t[131] = 0;                             /* FADT minor version */
	put(t + 140, dsdt, 8);                  /* X_DSDT */
	gas_io(t + 148, VMM_ACPI_PM1A_EVT_PORT, 32);
	gas_io(t + 172, VMM_ACPI_PM1A_CNT_PORT, 16);
	memcpy(t + 268, "HVNETVMM", 8);         /* hypervisor vendor identity */
	finish(t, FADT_LEN);
	return 0;
}

static int build_madt(struct cursor *c, unsigned ncpus, uint64_t *gpa)
{
	uint32_t len = HDR_LEN + 8 + 8 * ncpus + 12;
	uint8_t *t = take(c, len, gpa), *e;
	unsigned i;

	if (!t)
		return -ENOSPC;
	header(t, "APIC", len, 5);
	put(t + 36, VMM_LAPIC_ADDR, 4);
	put(t + 40, 1, 4); /* PCAT_COMPAT: 8259s present */
	e = t + 44;
	for (i = 0; i < ncpus; i++, e += 8) {
		e[0] = 0; /* processor local APIC */
		e[1] = 8;
		e[2] = (uint8_t)i;
		e[3] = (uint8_t)i;
		put(e + 4, 1, 4); /* enabled */
	}
	e[0] = 1; /* I/O APIC, id 0, GSI base 0 */
	e[1] = 12;
	put(e + 4, VMM_IOAPIC_ADDR, 4);
	finish(t, len);
	return 0;
}

static int build_xsdt(struct cursor *c, const uint64_t *tables, unsigned n, uint64_t *gpa)
{
	uint32_t len = HDR_LEN + 8 * n;
	uint8_t *t = take(c, len, gpa);
	unsigned i;

	if (!t)
		return -ENOSPC;
	header(t, "XSDT", len, 1);
	for (i = 0; i < n; i++)
		put(t + HDR_LEN + 8 * i, tables[i], 8);
	finish(t, len);
	return 0;
}

static void build_rsdp(uint8_t *r, uint64_t xsdt)
{
	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, VMM_ACPI_OEM_ID, 6);
	r[15] = 2;            /* revision: ACPI 2.0+ */
	put(r + 20, RSDP_LEN, 4);
	put(r + 24, xsdt, 8);
	r[8] = (uint8_t)-vmm_acpi_checksum(r, 20);
	r[32] = (uint8_t)-vmm_acpi_checksum(r, RSDP_LEN);
}

long vmm_acpi_build(uint8_t *buf, size_t size, uint64_t base, const struct vmm_acpi_config *cfg)
{
	struct cursor c = { .buf = buf, .size = size, .base = base };
	uint64_t rsdp, dsdt = 0, tables[2] = { 0, 0 }, xsdt = 0;
	uint8_t *r;
	int rc;

	if (cfg->ncpus < 1 || cfg->ncpus > VMM_ACPI_MAX_CPUS || (cfg->ndevices && !cfg->devices))
		return -EINVAL;
	r = take(&c, RSDP_LEN, &rsdp);
	if (!r)
		return -ENOSPC;
	rc = build_dsdt(&c, cfg, &dsdt);
	if (rc == 0)
		rc = build_fadt(&c, dsdt, &tables[0]);
	if (rc == 0)
		rc = build_madt(&c, cfg->ncpus, &tables[1]);
	if (rc == 0)
		rc = build_xsdt(&c, tables, 2, &xsdt);
	if (rc < 0)
		return rc;
	build_rsdp(r, xsdt);
	return (long)c.off;
}
