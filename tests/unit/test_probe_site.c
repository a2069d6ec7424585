// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_probe_site.c - user/capture/probe_site.c and user/capture/elf_file.c: which x86-64 instructions the
 * kernel emulates for a uprobe (push, push r8..r15, call, jmp, jcc rel8/rel32, nop) and
 * which it single-steps (sub, mov, lea, endbr64 ...); x86_arg_site and x86_first_call on
 * hand-assembled code, including the real prologues of Debian 12's libssl.so.3 SSL_write,
 * SSL_read and SSL_read_ex (argument clobbering, movslq %edx,%rdx, control transfers,
 * call target arithmetic); probe_plan on the installed libssl.so.3 (and libgnutls.so.30
 * when present), asserting structure, not offsets; elf_open on a non-ELF, empty,
 * wrong-class, wrong-machine and missing file.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

#include "probe_site.h"
#include "tollgate_abi.h"

#define LIBSSL "/lib/x86_64-linux-gnu/libssl.so.3"
#define LIBGNUTLS "/lib/x86_64-linux-gnu/libgnutls.so.30"

/* the bytes given as a compound literal */
#define CODE(...) (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})
#define EMU(...) x86_is_emulated(CODE(__VA_ARGS__))

static void test_is_emulated(void **state)
{
	(void)state;
	/* push r64, push r8..r15 */
	assert_true(EMU(0x55));                         /* push %rbp */
	assert_true(EMU(0x50));                         /* push %rax */
	assert_true(EMU(0x57));                         /* push %rdi */
	assert_true(EMU(0x41, 0x54));                   /* push %r12 */
	assert_true(EMU(0x41, 0x57));                   /* push %r15 */
	assert_true(EMU(0x41, 0x50));                   /* push %r8 */
	/* call, jmp */
	assert_true(EMU(0xe8, 0x00, 0x00, 0x00, 0x00)); /* call rel32 */
	assert_true(EMU(0xe9, 0x10, 0x00, 0x00, 0x00)); /* jmp rel32 */
	assert_true(EMU(0xeb, 0x05));                   /* jmp rel8 */
	/* jcc rel8, jcc rel32 */
	assert_true(EMU(0x70, 0x02));                   /* jo */
	assert_true(EMU(0x78, 0x2f));                   /* js */
	assert_true(EMU(0x7f, 0x02));                   /* jg */
	assert_true(EMU(0x0f, 0x84, 0x10, 0x00, 0x00, 0x00)); /* je rel32 */
	assert_true(EMU(0x0f, 0x80, 0, 0, 0, 0));
	assert_true(EMU(0x0f, 0x8f, 0, 0, 0, 0));
	/* nop */
	assert_true(EMU(0x90));

	/* single-stepped */
	assert_false(EMU(0x48, 0x83, 0xec, 0x18));      /* sub $0x18,%rsp */
	assert_false(EMU(0x48, 0x89, 0xe5));            /* mov %rsp,%rbp */
	assert_false(EMU(0x48, 0x8d, 0x05, 0, 0, 0, 0)); /* lea 0(%rip),%rax */
	assert_false(EMU(0xf3, 0x0f, 0x1e, 0xfa));      /* endbr64 */
	assert_false(EMU(0x64, 0x48, 0x8b, 0x04, 0x25, 0x28, 0, 0, 0)); /* mov %fs:0x28,%rax */
	assert_false(EMU(0x31, 0xc0));                  /* xor %eax,%eax */
	assert_false(EMU(0xc3));                        /* ret */
	assert_false(EMU(0x5d));                        /* pop %rbp */
	assert_false(EMU(0x41, 0x5c));                  /* pop %r12 */
	assert_false(EMU(0x41, 0x89, 0xd4));            /* mov %edx,%r12d */
	assert_false(EMU(0x6a, 0x00));                  /* push $0 */
	assert_false(EMU(0xff, 0xd0));                  /* call *%rax */
	assert_false(EMU(0xff, 0xe0));                  /* jmp *%rax */
	assert_false(EMU(0x0f, 0x1f, 0x00));            /* nopl (%rax) */
	assert_false(EMU(0x0f, 0x90, 0xc0));            /* seto %al */
	/* the REX prefix alone, and nothing */
	assert_false(EMU(0x41));
	assert_false(x86_is_emulated((const uint8_t *)"\x55", 0));
}

/* Debian 12 libssl.so.3 (OpenSSL 3.0) SSL_write, from its start at 0x359c0:
 *   0: sub $0x18,%rsp           4: mov %fs:0x28,%rax      d: mov %rax,0x8(%rsp)
 *  12: xor %eax,%eax           14: test %edx,%edx        16: js +0x2f
 *  18: mov %rsp,%rcx           1b: movslq %edx,%rdx      1e: call ssl_write_internal
 * SSL_read is the same with another callee. */
static const uint8_t ssl_write[] = {
	0x48, 0x83, 0xec, 0x18, 0x64, 0x48, 0x8b, 0x04, 0x25, 0x28, 0x00, 0x00, 0x00,
	0x48, 0x89, 0x44, 0x24, 0x08, 0x31, 0xc0, 0x85, 0xd2, 0x78, 0x2f, 0x48, 0x89,
	0xe1, 0x48, 0x63, 0xd2, 0xe8, 0xfd, 0xfb, 0xff, 0xff, 0x85, 0xc0, 0x7e, 0x03,
};
static const uint8_t ssl_read[] = {
	0x48, 0x83, 0xec, 0x18, 0x64, 0x48, 0x8b, 0x04, 0x25, 0x28, 0x00, 0x00, 0x00,
	0x48, 0x89, 0x44, 0x24, 0x08, 0x31, 0xc0, 0x85, 0xd2, 0x78, 0x2f, 0x48, 0x89,
	0xe1, 0x48, 0x63, 0xd2, 0xe8, 0x3d, 0xfe, 0xff, 0xff, 0x85, 0xc0, 0x7e, 0x03,
};
/* SSL_read_ex at 0x35500: sub $0x8,%rsp; call ssl_read_internal; xor %edx,%edx ... */
static const uint8_t ssl_read_ex[] = {
	0x48, 0x83, 0xec, 0x08, 0xe8, 0xc7, 0xfd, 0xff, 0xff, 0x31, 0xd2, 0x85, 0xc0,
};

#define ARG_SITE(nargs, site, ...) x86_arg_site(CODE(__VA_ARGS__), nargs, site)

static void test_arg_site_libssl(void **state)
{
	uint64_t site = 999;

	(void)state;
	/* the first emulated instruction is the js at +0x16: rdi, rsi, rdx intact there */
	assert_int_equal(x86_arg_site(ssl_write, sizeof(ssl_write), 3, &site), 0);
	assert_int_equal(site, 0x16);
	/* the same with 4 arguments: rcx is not written before the js either */
	site = 999;
	assert_int_equal(x86_arg_site(ssl_write, sizeof(ssl_write), 4, &site), 0);
	assert_int_equal(site, 0x16);
	/* SSL_read_ex (and SSL_write_ex, the same shape): the call at +4 */
	assert_int_equal(x86_arg_site(ssl_read_ex, sizeof(ssl_read_ex), 3, &site), 0);
	assert_int_equal(site, 4);
	/* cut off before the js: none */
	site = 999;
	assert_int_equal(x86_arg_site(ssl_write, 0x16, 3, &site), -ENOENT);
	assert_int_equal(site, 999);
	assert_int_equal(x86_arg_site(ssl_write, 0, 3, &site), -ENOENT);
}

static void test_arg_site_handmade(void **state)
{
	uint64_t site = 999;

	(void)state;
	/* an emulated first instruction is the entry itself */
	assert_int_equal(ARG_SITE(3, &site, 0x55, 0x48, 0x89, 0xe5), 0);
	assert_int_equal(site, 0);
	assert_int_equal(ARG_SITE(3, &site, 0xf3, 0x0f, 0x1e, 0xfa, 0x41, 0x54), 0);
	assert_int_equal(site, 4);
	/* rdi clobbered before any emulated instruction: none */
	site = 999;
	assert_int_equal(ARG_SITE(3, &site, 0x48, 0x83, 0xec, 0x08,   /* sub $8,%rsp */
				  0x48, 0x89, 0xf7,                 /* mov %rsi,%rdi */
				  0xe8, 0, 0, 0, 0), -ENOENT);
	assert_int_equal(site, 999);
	/* an 8-bit write to sil counts as rsi; an edx write as rdx */
	assert_int_equal(ARG_SITE(3, &site, 0x40, 0xb6, 0x01, 0x90), -ENOENT); /* mov $1,%sil */
	assert_int_equal(ARG_SITE(3, &site, 0x31, 0xd2, 0x90), -ENOENT);       /* xor %edx,%edx */
	assert_int_equal(ARG_SITE(3, &site, 0x48, 0x8b, 0x17, 0x90), -ENOENT); /* mov (%rdi),%rdx */
	assert_int_equal(ARG_SITE(3, &site, 0x89, 0xf2, 0x90), -ENOENT);       /* mov %esi,%edx */
	/* widening the int length in place keeps it: movslq %edx,%rdx, mov %edx,%edx */
	assert_int_equal(ARG_SITE(3, &site, 0x48, 0x83, 0xec, 0x08, 0x48, 0x63, 0xd2, 0xe8, 0, 0,
				  0, 0), 0);
	assert_int_equal(site, 7);
	assert_int_equal(ARG_SITE(3, &site, 0x89, 0xd2, 0x90), 0);
	assert_int_equal(site, 2);
	/* rcx only matters with 4 arguments */
	assert_int_equal(ARG_SITE(3, &site, 0x48, 0x89, 0xe1, 0x90), 0); /* mov %rsp,%rcx */
	assert_int_equal(site, 3);
	assert_int_equal(ARG_SITE(4, &site, 0x48, 0x89, 0xe1, 0x90), -ENOENT);
	/* reading the arguments is fine */
	assert_int_equal(ARG_SITE(3, &site, 0x48, 0x89, 0xfb, 0x48, 0x89, 0xf5, 0x90), 0);
	assert_int_equal(site, 6); /* mov %rdi,%rbx; mov %rsi,%rbp; nop */
	/* the walk stops at a control transfer the kernel does not emulate */
	assert_int_equal(ARG_SITE(3, &site, 0x48, 0x83, 0xec, 0x08, 0xc3, 0x90), -ENOENT);
	assert_int_equal(ARG_SITE(3, &site, 0x48, 0x83, 0xec, 0x08, 0xff, 0xe0, 0x90), -ENOENT);
	assert_int_equal(ARG_SITE(3, &site, 0x48, 0x83, 0xec, 0x08, 0xff, 0xd0, 0x90), -ENOENT);
	/* nothing emulated in the window */
	assert_int_equal(ARG_SITE(3, &site, 0x48, 0x83, 0xec, 0x08, 0x48, 0x89, 0xe5), -ENOENT);
	/* ud2, and bytes that do not decode in 64-bit mode, end the walk */
	assert_int_equal(ARG_SITE(3, &site, 0x48, 0x83, 0xec, 0x08, 0x0f, 0x0b, 0x90), -ENOENT);
	assert_int_equal(ARG_SITE(3, &site, 0x48, 0x83, 0xec, 0x08, 0x06, 0x90), -ENOENT);
}

#define FIRST_CALL(vaddr, nargs, t, ...) x86_first_call(CODE(__VA_ARGS__), vaddr, nargs, t)

static void test_first_call(void **state)
{
	uint64_t t = 999;

	(void)state;
	/* SSL_read at 0x35470 and SSL_read_ex at 0x35500 both call the worker at 0x352d0 */
	assert_int_equal(x86_first_call(ssl_read, sizeof(ssl_read), 0x35470, 3, &t), 0);
	assert_int_equal(t, 0x352d0);
	t = 999;
	assert_int_equal(x86_first_call(ssl_read_ex, sizeof(ssl_read_ex), 0x35500, 4, &t), 0);
	assert_int_equal(t, 0x352d0);
	/* SSL_write calls its own worker */
	assert_int_equal(x86_first_call(ssl_write, sizeof(ssl_write), 0x359c0, 3, &t), 0);
	assert_int_equal(t, 0x355e0);
	/* SSL_read puts &readbytes in rcx: as a 4-argument function it does not pass its
	 * own fourth argument on */
	t = 999;
	assert_int_equal(x86_first_call(ssl_read, sizeof(ssl_read), 0x35470, 4, &t), -ENOENT);
	assert_int_equal(t, 999);
	/* the call cut off by the window */
	assert_int_equal(x86_first_call(ssl_read, 0x20, 0x35470, 3, &t), -ENOENT);

	/* target arithmetic: forward and backward, relative to the next instruction */
	assert_int_equal(FIRST_CALL(0x1000, 3, &t, 0xe8, 0x10, 0x00, 0x00, 0x00), 0);
	assert_int_equal(t, 0x1015);
	assert_int_equal(FIRST_CALL(0x1000, 3, &t, 0x90, 0xe8, 0xfb, 0xff, 0xff, 0xff), 0);
	assert_int_equal(t, 0x1001);
	assert_int_equal(FIRST_CALL(0x400000, 3, &t, 0xe8, 0x00, 0x00, 0x00, 0x80), 0);
	assert_int_equal(t, 0x400005 - 0x80000000ULL);
	/* conditional jumps are passed over */
	assert_int_equal(FIRST_CALL(0x2000, 3, &t, 0x85, 0xd2, 0x78, 0x10, 0x0f, 0x84, 0, 0, 0, 0,
				    0xe8, 0, 0, 0, 0), 0);
	assert_int_equal(t, 0x200f);
	/* an argument clobbered before the call: not a delegation */
	assert_int_equal(FIRST_CALL(0x2000, 3, &t, 0x31, 0xff, 0xe8, 0, 0, 0, 0), -ENOENT);
	assert_int_equal(FIRST_CALL(0x2000, 1, &t, 0x31, 0xd2, 0xe8, 0, 0, 0, 0), 0);
	assert_int_equal(t, 0x2007);
	/* a return, an unconditional or indirect jump, an indirect call end the search */
	assert_int_equal(FIRST_CALL(0x2000, 3, &t, 0xc3, 0xe8, 0, 0, 0, 0), -ENOENT);
	assert_int_equal(FIRST_CALL(0x2000, 3, &t, 0xeb, 0x00, 0xe8, 0, 0, 0, 0), -ENOENT);
	assert_int_equal(FIRST_CALL(0x2000, 3, &t, 0xe9, 0, 0, 0, 0, 0xe8, 0, 0, 0, 0), -ENOENT);
	assert_int_equal(FIRST_CALL(0x2000, 3, &t, 0xff, 0xe0, 0xe8, 0, 0, 0, 0), -ENOENT);
	assert_int_equal(FIRST_CALL(0x2000, 3, &t, 0xff, 0xd0, 0xe8, 0, 0, 0, 0), -ENOENT);
	assert_int_equal(FIRST_CALL(0x2000, 3, &t, 0x90), -ENOENT);
}

/* ---- ELF files ---- */

static long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* The byte at @off of @path. */
static uint8_t byte_at(const char *path, uint64_t off, uint8_t *two)
{
	uint8_t b[2] = {0, 0};
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, b, 2, (off_t)off), 2);
	close(fd);
	if (two)
		*two = b[1];
	return b[0];
}

static void test_plan_libssl(void **state)
{
	struct elf_file *e = NULL;
	struct probe_plan pl;
	int writes = 0, writes32 = 0, reads = 0;
	long size = file_size(LIBSSL);

	(void)state;
	assert_true(size > 0);
	assert_int_equal(elf_open(LIBSSL, &e), 0);
	memset(&pl, 0x5a, sizeof(pl));
	assert_int_equal(probe_plan(e, &pl), 0);
	elf_close(e);
	assert_int_equal(pl.source, TG_SRC_OPENSSL);
	assert_in_range(pl.n, 3, PROBE_MAX_SITES);
	for (int i = 0; i < pl.n; i++) {
		const struct probe_site *s = &pl.sites[i];
		uint8_t code[2];

		/* Debian's libssl starts SSL_write/SSL_read with sub: every site chosen must
		 * still be one the kernel emulates */
		assert_int_equal(s->emulated, 1);
		assert_true(s->offset > 0 && (long)s->offset < size);
		code[0] = byte_at(LIBSSL, s->offset, &code[1]);
		assert_true(x86_is_emulated(code, 2));
		assert_int_equal(s->cookie & TG_TLS_SRC_MASK, TG_SRC_OPENSSL);
		assert_int_equal(s->cookie & TG_TLS_READ, 0); /* set at attach time from role */
		for (int k = 0; k < i; k++)
			assert_true(pl.sites[k].offset != s->offset);
		if (s->role == PROBE_WRITE) {
			writes++;
			assert_int_equal(s->cookie & TG_TLS_RET_PTR, 0);
			if (s->cookie & TG_TLS_NUM32) {
				writes32++;
				assert_memory_equal(s->desc, "SSL_write+0x", 12);
			} else {
				assert_memory_equal(s->desc, "SSL_write_ex+0x", 15);
			}
		} else {
			assert_int_equal(s->role, PROBE_READ);
			reads++;
			/* one read site for both SSL_read and SSL_read_ex: the _ex convention */
			assert_true(s->cookie & TG_TLS_RET_PTR);
			assert_int_equal(s->cookie & TG_TLS_NUM32, 0);
		}
	}
	assert_int_equal(writes, 2);
	assert_int_equal(writes32, 1);
	assert_int_equal(reads, 1);
}

static void test_plan_gnutls(void **state)
{
	struct elf_file *e = NULL;
	struct probe_plan pl;
	int writes = 0, reads = 0;

	(void)state;
	if (file_size(LIBGNUTLS) < 0)
		skip();
	assert_int_equal(elf_open(LIBGNUTLS, &e), 0);
	assert_int_equal(probe_plan(e, &pl), 0);
	elf_close(e);
	assert_int_equal(pl.source, TG_SRC_GNUTLS);
	assert_int_equal(pl.n, 2);
	for (int i = 0; i < pl.n; i++) {
		const struct probe_site *s = &pl.sites[i];
		uint8_t code[2];

		assert_int_equal(s->cookie, TG_SRC_GNUTLS);
		code[0] = byte_at(LIBGNUTLS, s->offset, &code[1]);
		/* the plan says whether the kernel emulates the site, and it is right */
		assert_int_equal(s->emulated, x86_is_emulated(code, 2));
		if (s->role == PROBE_WRITE) {
			writes++;
			assert_int_equal(s->emulated, 1);
			assert_memory_equal(s->desc, "gnutls_record_send+0x", 21);
		} else {
			reads++;
			assert_string_equal(s->desc, "gnutls_record_recv+0x0");
		}
	}
	assert_int_equal(writes, 1);
	assert_int_equal(reads, 1);
}

static void test_plan_no_tls(void **state)
{
	struct elf_file *e = NULL;
	struct probe_plan pl;

	(void)state;
	/* an ELF file without any TLS API: an empty plan, not an error */
	assert_int_equal(elf_open("/bin/true", &e), 0);
	memset(&pl, 0x5a, sizeof(pl));
	assert_int_equal(probe_plan(e, &pl), 0);
	assert_int_equal(pl.source, 0);
	assert_int_equal(pl.n, 0);
	elf_close(e);
}

static void test_elf_funcs(void **state)
{
	struct elf_file *e = NULL;
	struct elf_func fn[] = {{.name = "SSL_write"}, {.name = "no_such_symbol"},
				{.name = "SSL_read_ex"}};
	uint8_t code[16], direct[16];
	uint64_t off;
	int fd;

	(void)state;
	assert_int_equal(elf_open(LIBSSL, &e), 0);
	assert_int_equal(elf_find_funcs(e, fn, 3), 2);
	assert_true(fn[0].vaddr != 0 && fn[0].size > 0);
	assert_int_equal(fn[1].vaddr, 0);
	assert_true(fn[2].vaddr != 0 && fn[2].vaddr != fn[0].vaddr);
	/* the code read through the segment table is the file's bytes at that offset */
	assert_int_equal(elf_vaddr_to_offset(e, fn[0].vaddr, &off), 0);
	assert_int_equal(elf_read_code(e, fn[0].vaddr, code, sizeof(code)), sizeof(code));
	fd = open(LIBSSL, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, direct, sizeof(direct), (off_t)off), sizeof(direct));
	close(fd);
	assert_memory_equal(code, direct, sizeof(code));
	/* an address in no executable segment */
	assert_int_equal(elf_vaddr_to_offset(e, 0, &off), -ENOENT);
	assert_int_equal(elf_read_code(e, 0, code, sizeof(code)), -ENOENT);
	assert_int_equal(elf_vaddr_to_offset(e, UINT64_MAX - 16, &off), -ENOENT);
	elf_close(e);
	elf_close(NULL);
}

/* A 64-byte ELF header: class, machine as given, nothing else. */
static void write_ehdr(const char *path, uint8_t cls, uint16_t machine)
{
	uint8_t h[64] = {0x7f, 'E', 'L', 'F'};
	FILE *f = fopen(path, "wb");

	h[4] = cls;
	h[5] = 1; /* little endian */
	h[6] = 1; /* EV_CURRENT */
	h[16] = 3; /* ET_DYN */
	memcpy(h + 18, &machine, 2);
	h[20] = 1; /* e_version */
	if (cls == 2) {
		h[52] = 64; /* e_ehsize */
		h[54] = 56; /* e_phentsize */
		h[58] = 64; /* e_shentsize */
	} else {
		h[40] = 52;
		h[42] = 32;
		h[46] = 40;
	}
	assert_non_null(f);
	assert_int_equal(fwrite(h, 1, sizeof(h), f), sizeof(h));
	assert_int_equal(fclose(f), 0);
}

static void test_elf_open_errors(void **state)
{
	char dir[] = "/tmp/tg-unit-elf.XXXXXX";
	char path[PATH_MAX];
	struct elf_file *e = NULL; /* must stay untouched on errors */
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	/* missing */
	snprintf(path, sizeof(path), "%s/missing", dir);
	assert_int_equal(elf_open(path, &e), -ENOENT);
	/* a text file */
	snprintf(path, sizeof(path), "%s/text", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("#!/bin/sh\necho not an ELF file\n", f);
	fclose(f);
	assert_int_equal(elf_open(path, &e), -ENOEXEC);
	/* empty */
	snprintf(path, sizeof(path), "%s/empty", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(elf_open(path, &e), -ENOEXEC);
	/* a directory */
	assert_int_equal(elf_open(dir, &e), -ENOEXEC);
	/* ELF, but 32-bit, or for another machine */
	snprintf(path, sizeof(path), "%s/elf32", dir);
	write_ehdr(path, 1, 3 /* EM_386 */);
	assert_int_equal(elf_open(path, &e), -ENOEXEC);
	unlink(path);
	snprintf(path, sizeof(path), "%s/aarch64", dir);
	write_ehdr(path, 2, 183 /* EM_AARCH64 */);
	assert_int_equal(elf_open(path, &e), -ENOEXEC);
	unlink(path);
	/* the same header for x86-64 opens, and plans nothing */
	snprintf(path, sizeof(path), "%s/x86_64", dir);
	write_ehdr(path, 2, 62 /* EM_X86_64 */);
	assert_null(e);
	assert_int_equal(elf_open(path, &e), 0);
	assert_non_null(e);
	{
		struct probe_plan pl;
		assert_int_equal(probe_plan(e, &pl), 0);
		assert_int_equal(pl.source, 0);
	}
	elf_close(e);
	unlink(path);

	snprintf(path, sizeof(path), "%s/text", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/empty", dir);
	unlink(path);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_is_emulated),
		cmocka_unit_test(test_arg_site_libssl),
		cmocka_unit_test(test_arg_site_handmade),
		cmocka_unit_test(test_first_call),
		cmocka_unit_test(test_plan_libssl),
		cmocka_unit_test(test_plan_gnutls),
		cmocka_unit_test(test_plan_no_tls),
		cmocka_unit_test(test_elf_funcs),
		cmocka_unit_test(test_elf_open_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
