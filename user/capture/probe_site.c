// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * probe_site.c - uprobe site planning with capstone. See probe_site.h.
 */
#include <capstone.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "probe_site.h"
#include "tollgate_abi.h"

#define CODE_WINDOW 96 /* prologue bytes examined */

int x86_is_emulated(const uint8_t *c, size_t n)
{
	if (n < 1)
		return 0;
	if (c[0] >= 0x50 && c[0] <= 0x57) /* push r64 */
		return 1;
	if (c[0] == 0x41 && n >= 2 && c[1] >= 0x50 && c[1] <= 0x57) /* push r8..r15 */
		return 1;
	if (c[0] == 0xe8 || c[0] == 0xe9 || c[0] == 0xeb) /* call/jmp rel32, jmp rel8 */
		return 1;
	if (c[0] >= 0x70 && c[0] <= 0x7f) /* jcc rel8 */
		return 1;
	if (c[0] == 0x0f && n >= 2 && c[1] >= 0x80 && c[1] <= 0x8f) /* jcc rel32 */
		return 1;
	return c[0] == 0x90; /* nop */
}

/* Which argument register (0..3: rdi, rsi, rdx, rcx) does a capstone register alias? */
static int arg_index(unsigned reg)
{
	switch (reg) {
	case X86_REG_RDI: case X86_REG_EDI: case X86_REG_DI: case X86_REG_DIL:
		return 0;
	case X86_REG_RSI: case X86_REG_ESI: case X86_REG_SI: case X86_REG_SIL:
		return 1;
	case X86_REG_RDX: case X86_REG_EDX: case X86_REG_DX: case X86_REG_DL: case X86_REG_DH:
		return 2;
	case X86_REG_RCX: case X86_REG_ECX: case X86_REG_CX: case X86_REG_CL: case X86_REG_CH:
		return 3;
	default:
		return -1;
	}
}

/* movsxd rdx, edx / mov edx, edx: the int length widened in place */
static int widens_edx(const cs_insn *in)
{
	const cs_x86 *x = &in->detail->x86;

	if ((in->id != X86_INS_MOVSXD && in->id != X86_INS_MOV) || x->op_count != 2)
		return 0;
	return x->operands[0].type == X86_OP_REG && x->operands[1].type == X86_OP_REG &&
	       (x->operands[0].reg == X86_REG_RDX || x->operands[0].reg == X86_REG_EDX) &&
	       x->operands[1].reg == X86_REG_EDX;
}

/* Update @clobbered (bit i: argument i no longer holds its value) after @in. */
static void track_writes(csh h, const cs_insn *in, unsigned *clobbered)
{
	cs_regs rr, rw;
	uint8_t nr = 0, nw = 0;

	if (cs_regs_access(h, in, rr, &nr, rw, &nw) != CS_ERR_OK) {
		*clobbered = ~0u; /* cannot tell: assume the worst */
		return;
	}
	for (int i = 0; i < nw; i++) {
		int a = arg_index(rw[i]);
		if (a < 0)
			continue;
		if (a == 2 && widens_edx(in))
			continue;
		*clobbered |= 1u << a;
	}
}

static int is_call_rel(const cs_insn *in)
{
	return in->id == X86_INS_CALL && in->size == 5 && in->bytes[0] == 0xe8;
}

static int ends_walk(const cs_insn *in)
{
	return in->id == X86_INS_RET || in->id == X86_INS_JMP || in->id == X86_INS_CALL ||
	       in->id == X86_INS_LJMP || in->id == X86_INS_LCALL || in->id == X86_INS_INT3 ||
	       in->id == X86_INS_UD2 || in->id == X86_INS_HLT;
}

static int open_cs(csh *h)
{
	if (cs_open(CS_ARCH_X86, CS_MODE_64, h) != CS_ERR_OK)
		return -ENOSYS;
	cs_option(*h, CS_OPT_DETAIL, CS_OPT_ON);
	return 0;
}

int x86_arg_site(const uint8_t *code, size_t n, int nargs, uint64_t *site)
{
	unsigned clobbered = 0, need = (1u << nargs) - 1;
	const uint8_t *p = code;
	uint64_t addr = 0;
	size_t left = n;
	int ret = -ENOENT;
	cs_insn *in;
	csh h;

	if (open_cs(&h))
		return -ENOSYS;
	in = cs_malloc(h);
	while (in && left && cs_disasm_iter(h, &p, &left, &addr, in)) {
		if (clobbered & need)
			break;
		if (x86_is_emulated(in->bytes, in->size)) {
			*site = in->address;
			ret = 0;
			break;
		}
		if (ends_walk(in))
			break;
		track_writes(h, in, &clobbered);
	}
	if (in)
		cs_free(in, 1);
	cs_close(&h);
	return ret;
}

int x86_first_call(const uint8_t *code, size_t n, uint64_t vaddr, int nargs, uint64_t *target)
{
	unsigned clobbered = 0, need = (1u << nargs) - 1;
	const uint8_t *p = code;
	uint64_t addr = vaddr;
	size_t left = n;
	int ret = -ENOENT;
	cs_insn *in;
	csh h;

	if (open_cs(&h))
		return -ENOSYS;
	in = cs_malloc(h);
	while (in && left && cs_disasm_iter(h, &p, &left, &addr, in)) {
		if (is_call_rel(in)) {
			if (!(clobbered & need)) {
				int32_t rel;
				memcpy(&rel, in->bytes + 1, 4);
				*target = in->address + in->size + (int64_t)rel;
				ret = 0;
			}
			break;
		}
		if (ends_walk(in))
			break;
		track_writes(h, in, &clobbered);
	}
	if (in)
		cs_free(in, 1);
	cs_close(&h);
	return ret;
}

/* ---- planning ---- */

enum { F_WRITE, F_WRITE_EX, F_READ, F_READ_EX, F_GT_SEND, F_GT_RECV, F_MAX };

static const char *const fnames[F_MAX] = {
	"SSL_write", "SSL_write_ex", "SSL_read", "SSL_read_ex",
	"gnutls_record_send", "gnutls_record_recv",
};

struct fn {
	uint64_t vaddr, off;
	uint8_t code[CODE_WINDOW];
	long ncode;
};

static int add_site(struct probe_plan *pl, uint64_t off, int role, uint64_t cookie, int emulated,
		    const char *fmt, const char *a, uint64_t b)
{
	struct probe_site *s;

	if (pl->n >= PROBE_MAX_SITES)
		return -E2BIG;
	s = &pl->sites[pl->n++];
	s->offset = off;
	s->role = role;
	s->cookie = cookie;
	s->emulated = emulated;
	snprintf(s->desc, sizeof(s->desc), fmt, a, (unsigned long long)b);
	return 0;
}

/* A write site in function @f (3 argument registers). */
static void plan_write(struct probe_plan *pl, const struct fn *f, const char *name,
		       uint64_t cookie)
{
	uint64_t site;

	if (f->ncode > 0 && x86_arg_site(f->code, (size_t)f->ncode, 3, &site) == 0)
		add_site(pl, f->off + site, PROBE_WRITE, cookie, 1, "%s+0x%llx", name, site);
	else
		add_site(pl, f->off, PROBE_WRITE, cookie,
			 f->ncode > 0 && x86_is_emulated(f->code, (size_t)f->ncode), "%s+0x%llx",
			 name, 0);
}

static void plan_entry_read(struct probe_plan *pl, const struct fn *f, const char *name,
			    uint64_t cookie)
{
	add_site(pl, f->off, PROBE_READ, cookie,
		 f->ncode > 0 && x86_is_emulated(f->code, (size_t)f->ncode), "%s+0x%llx", name, 0);
}

static int load_fn(struct elf_file *e, uint64_t vaddr, struct fn *f)
{
	f->vaddr = vaddr;
	if (elf_vaddr_to_offset(e, vaddr, &f->off))
		return -ENOENT;
	f->ncode = elf_read_code(e, vaddr, f->code, sizeof(f->code));
	return f->ncode > 0 ? 0 : -EIO;
}

/* Does @f start by calling @callee (it delegates to another exported function)? */
static int calls(const struct fn *f, uint64_t callee, int nargs)
{
	uint64_t t;

	return callee && x86_first_call(f->code, (size_t)f->ncode, f->vaddr, nargs, &t) == 0 &&
	       t == callee;
}

static void plan_openssl(struct elf_file *e, struct probe_plan *pl, const struct elf_func *ef,
			 struct fn *fn, const int *have)
{
	const uint64_t src = TG_SRC_OPENSSL;

	/* writes: SSL_write (int num) and SSL_write_ex (size_t num), unless one delegates to
	 * the other, which would report every write twice */
	if (have[F_WRITE] && !(have[F_WRITE_EX] && calls(&fn[F_WRITE], ef[F_WRITE_EX].vaddr, 3)))
		plan_write(pl, &fn[F_WRITE], "SSL_write", src | TG_TLS_NUM32);
	if (have[F_WRITE_EX] && !(have[F_WRITE] && calls(&fn[F_WRITE_EX], ef[F_WRITE].vaddr, 3)))
		plan_write(pl, &fn[F_WRITE_EX], "SSL_write_ex", src);

	if (!have[F_READ] && !have[F_READ_EX])
		return;
	int emu_r = have[F_READ] && x86_is_emulated(fn[F_READ].code, (size_t)fn[F_READ].ncode);
	int emu_rx =
		have[F_READ_EX] && x86_is_emulated(fn[F_READ_EX].code, (size_t)fn[F_READ_EX].ncode);
	if ((!have[F_READ] || emu_r) && (!have[F_READ_EX] || emu_rx)) {
		if (have[F_READ] && !(have[F_READ_EX] && calls(&fn[F_READ], ef[F_READ_EX].vaddr, 3)))
			plan_entry_read(pl, &fn[F_READ], "SSL_read", src | TG_TLS_NUM32);
		if (have[F_READ_EX] && !(have[F_READ] && calls(&fn[F_READ_EX], ef[F_READ].vaddr, 3)))
			plan_entry_read(pl, &fn[F_READ_EX], "SSL_read_ex", src | TG_TLS_RET_PTR);
		return;
	}
	/* single-stepped entries: look for the shared worker */
	uint64_t t1, t2;
	struct fn w;
	if (have[F_READ] && have[F_READ_EX] &&
	    x86_first_call(fn[F_READ].code, (size_t)fn[F_READ].ncode, fn[F_READ].vaddr, 3, &t1) == 0 &&
	    x86_first_call(fn[F_READ_EX].code, (size_t)fn[F_READ_EX].ncode, fn[F_READ_EX].vaddr, 4,
			   &t2) == 0 &&
	    t1 == t2 && load_fn(e, t1, &w) == 0 && x86_is_emulated(w.code, (size_t)w.ncode)) {
		add_site(pl, w.off, PROBE_READ, src | TG_TLS_RET_PTR, 1, "%s->worker@0x%llx",
			 "SSL_read/SSL_read_ex", t1);
		return;
	}
	if (have[F_READ])
		plan_entry_read(pl, &fn[F_READ], "SSL_read", src | TG_TLS_NUM32);
	if (have[F_READ_EX])
		plan_entry_read(pl, &fn[F_READ_EX], "SSL_read_ex", src | TG_TLS_RET_PTR);
}

int probe_plan(struct elf_file *e, struct probe_plan *pl)
{
	struct elf_func ef[F_MAX];
	struct fn fn[F_MAX];
	int have[F_MAX] = {0};

	memset(pl, 0, sizeof(*pl));
	memset(fn, 0, sizeof(fn));
	for (int i = 0; i < F_MAX; i++)
		ef[i].name = fnames[i];
	if (elf_find_funcs(e, ef, F_MAX) == 0)
		return 0;
	for (int i = 0; i < F_MAX; i++)
		have[i] = ef[i].vaddr && load_fn(e, ef[i].vaddr, &fn[i]) == 0;

	if (have[F_WRITE] || have[F_WRITE_EX] || have[F_READ] || have[F_READ_EX]) {
		pl->source = TG_SRC_OPENSSL;
		plan_openssl(e, pl, ef, fn, have);
	} else if (have[F_GT_SEND] || have[F_GT_RECV]) {
		pl->source = TG_SRC_GNUTLS;
		if (have[F_GT_SEND])
			plan_write(pl, &fn[F_GT_SEND], "gnutls_record_send", TG_SRC_GNUTLS);
		if (have[F_GT_RECV])
			plan_entry_read(pl, &fn[F_GT_RECV], "gnutls_record_recv", TG_SRC_GNUTLS);
	}
	return 0;
}
