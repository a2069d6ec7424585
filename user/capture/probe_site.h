/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * probe_site.h - where to put the TLS uprobes of one library or executable.
 *
 * In:  an ELF file that defines OpenSSL's SSL_write/SSL_write_ex/SSL_read/SSL_read_ex or
 *      GnuTLS's gnutls_record_send/gnutls_record_recv.
 * Out: a plan: file offsets, which BPF program goes there, and the calling convention at
 *      that spot (the bpf cookie bits of tollgate_abi.h).
 *
 * Why not just the function entry: on x86-64 a uprobe costs ~0.55 us when the kernel can
 * emulate the probed instruction (push, call, jmp, jcc, nop) but ~14 us on this VM when it
 * must single-step it out of line, and Debian's libssl.so.3 starts SSL_write and SSL_read
 * with `sub $0x18,%rsp` (single-stepped). So (capstone decodes the prologue):
 *  - a write site is the first emulated instruction before which the argument registers
 *    (rdi, rsi, rdx) still hold the arguments - it is on every path through the function;
 *  - a read needs a return probe, which must sit at a function entry: when SSL_read and
 *    SSL_read_ex both start by calling one internal worker with their arguments
 *    (OpenSSL 1.1.1 and 3.x: ssl_read_internal(s, buf, num, &readbytes)) and the worker
 *    starts with an emulated instruction, the entry and return probes go on the worker,
 *    with the _ex convention (result 1/0, size through argument 4);
 *  - otherwise the exported entry is used, single-stepped if it must be, and the plan says
 *    so (emulated = 0) so `tollgate status` and the log can tell.
 */
#ifndef TG_PROBE_SITE_H
#define TG_PROBE_SITE_H

#include <stddef.h>
#include <stdint.h>

#include "elf_file.h"

enum probe_role {
	PROBE_WRITE = 1, /* tg_tls_write */
	PROBE_READ = 2,  /* tg_tls_read_enter + tg_tls_read_exit at the same entry */
};

struct probe_site {
	uint64_t offset;  /* file offset of the probed instruction */
	int role;         /* enum probe_role */
	uint64_t cookie;  /* TG_TLS_* bits: source, NUM32, RET_PTR */
	int emulated;     /* 1 when the kernel emulates the probed instruction */
	char desc[64];    /* "SSL_write+0x16", "SSL_read->worker@0x352d0" */
};

#define PROBE_MAX_SITES 8

struct probe_plan {
	int source;       /* TG_SRC_OPENSSL or TG_SRC_GNUTLS; 0: no TLS API here */
	int n;
	struct probe_site sites[PROBE_MAX_SITES];
};

/* Plan the sites for @e. Returns 0 (plan->source is 0 when the file defines no TLS API),
 * or a negative errno when the file cannot be read. */
int probe_plan(struct elf_file *e, struct probe_plan *plan);

/* ---- x86-64 helpers, exposed for the unit tests ---- */

/* Does the kernel emulate (rather than single-step) the instruction at @code? */
int x86_is_emulated(const uint8_t *code, size_t n);

/*
 * x86_arg_site - offset of the first emulated instruction of a function body @code whose
 * first @nargs integer arguments (rdi, rsi, rdx, rcx) are still unchanged when it is
 * reached; the walk stops at the first control transfer. A sign- or zero-extension of edx
 * into rdx keeps the length argument. Returns 0 with *site set, -ENOENT when there is none.
 */
int x86_arg_site(const uint8_t *code, size_t n, int nargs, uint64_t *site);

/*
 * x86_first_call - target of the first direct call in @code (at @vaddr), provided the
 * first @nargs argument registers still hold the function's own arguments at the call.
 * Conditional jumps are passed over (their taken paths are error paths); a return, an
 * unconditional or indirect jump ends the search. Returns 0 with *target, or -ENOENT.
 */
int x86_first_call(const uint8_t *code, size_t n, uint64_t vaddr, int nargs, uint64_t *target);

#endif
