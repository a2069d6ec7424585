/*
 * test_elf_file.c - elf_open, elf_find_funcs and probe_plan (user/capture/elf_file.c,
 * user/capture/probe_site.c) on files that are not what their name says: text, empty, an ELF
 * header cut short, a 32-bit ELF, a directory, a missing file, the first pages of the
 * real libssl.so.3, and a copy of it truncated while open. None may crash; each gets the
 * error elf_file.h documents, or a plan with no TLS API. The real libssl.so.3 gets its
 * plan (the positive control).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "elf_file.h"
#include "probe_site.h"
#include "tollgate_abi.h"

#define LIBSSL "/usr/lib/x86_64-linux-gnu/libssl.so.3"

static char dir[] = "/tmp/tollgate-elf-XXXXXX";

static const char *path_of(const char *name)
{
	static char p[128];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

static void write_file(const char *name, const void *data, size_t n)
{
	FILE *f = fopen(path_of(name), "wb");
	assert_non_null(f);
	if (n)
		assert_int_equal(fwrite(data, 1, n, f), n);
	fclose(f);
}

/* The first @n bytes of the real libssl.so.3 as @name; returns the bytes copied. */
static size_t copy_prefix(const char *name, size_t n)
{
	char *buf = malloc(n);
	FILE *f = fopen(LIBSSL, "rb");
	size_t got;

	assert_non_null(buf);
	assert_non_null(f);
	got = fread(buf, 1, n, f);
	fclose(f);
	write_file(name, buf, got);
	free(buf);
	return got;
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	(void)state;
	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			unlink(path_of(de->d_name));
	closedir(d);
	return rmdir(dir);
}

/* Open @name: the return code; on success also run the symbol lookup and the planner. */
static int open_and_plan(const char *path, struct probe_plan *plan)
{
	struct elf_file *e = NULL;
	struct elf_func f[] = {{.name = "SSL_write"}, {.name = "gnutls_record_send"}};
	int err = elf_open(path, &e);

	memset(plan, 0, sizeof(*plan));
	if (err)
		return err;
	assert_non_null(e);
	assert_true(elf_find_funcs(e, f, 2) >= 0);
	int perr = probe_plan(e, plan);
	assert_true(perr == 0 || perr < 0);
	elf_close(e);
	return 0;
}

static void test_text_file(void **state)
{
	struct probe_plan plan;
	const char text[] = "#!/bin/sh\necho this is not an ELF file\n";

	(void)state;
	write_file("libssl.so.3", text, sizeof(text) - 1);
	assert_int_equal(open_and_plan(path_of("libssl.so.3"), &plan), -ENOEXEC);
}

static void test_empty_file(void **state)
{
	struct probe_plan plan;

	(void)state;
	write_file("empty.so", NULL, 0);
	assert_int_equal(open_and_plan(path_of("empty.so"), &plan), -ENOEXEC);
}

static void test_elf_magic_only(void **state)
{
	struct probe_plan plan;

	(void)state;
	write_file("magic.so", "\177ELF\002\001\001", 7);
	assert_int_equal(open_and_plan(path_of("magic.so"), &plan), -ENOEXEC);
}

static void test_elf32(void **state)
{
	struct probe_plan plan;
	unsigned char h[52] = {0x7f, 'E', 'L', 'F', 1 /* ELFCLASS32 */, 1, 1};

	(void)state;
	h[16] = 3;  /* ET_DYN */
	h[18] = 3;  /* EM_386 */
	h[20] = 1;  /* EV_CURRENT */
	h[40] = 52; /* e_ehsize */
	write_file("elf32.so", h, sizeof(h));
	assert_int_equal(open_and_plan(path_of("elf32.so"), &plan), -ENOEXEC);
}

static void test_cut_short(void **state)
{
	struct probe_plan plan;
	static const size_t sizes[] = {16, 64, 100, 4096, 65536};

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char name[32];
		snprintf(name, sizeof(name), "cut-%zu.so", sizes[i]);
		copy_prefix(name, sizes[i]);
		int err = open_and_plan(path_of(name), &plan);
		/* either rejected, or opened with no TLS API found: never a plan into missing
		 * bytes, never a crash */
		assert_true(err == 0 || err == -ENOEXEC);
		if (err == 0 && plan.source) {
			struct stat st;
			assert_int_equal(stat(path_of(name), &st), 0);
			for (int k = 0; k < plan.n; k++)
				assert_true(plan.sites[k].offset < (uint64_t)st.st_size);
		}
	}
}

static void test_directory_and_missing(void **state)
{
	struct probe_plan plan;

	(void)state;
	assert_int_equal(open_and_plan(dir, &plan), -ENOEXEC);
	assert_int_equal(open_and_plan(path_of("no-such-file.so"), &plan), -ENOENT);
}

static void test_real_libssl(void **state)
{
	struct probe_plan plan;

	(void)state;
	if (access(LIBSSL, R_OK) != 0)
		skip();
	assert_int_equal(open_and_plan(LIBSSL, &plan), 0);
	assert_int_equal(plan.source, TG_SRC_OPENSSL);
	assert_true(plan.n >= 2);
}

/* A file truncated after elf_open (an untrusted process owns it): the lookups fail or find
 * nothing, and nothing touches pages past the new end (with an mmap'ed file: SIGBUS). */
static void test_truncated_while_open(void **state)
{
	struct elf_func f[] = {{.name = "SSL_write"}, {.name = "SSL_read"}};
	struct elf_file *e = NULL;
	struct probe_plan plan;

	(void)state;
	if (access(LIBSSL, R_OK) != 0)
		skip();
	copy_prefix("shrinks.so", 4 << 20); /* all of it */
	assert_int_equal(elf_open(path_of("shrinks.so"), &e), 0);
	assert_int_equal(truncate(path_of("shrinks.so"), 4096), 0);
	assert_true(elf_find_funcs(e, f, 2) >= 0);
	assert_int_equal(probe_plan(e, &plan), 0);
	assert_int_equal(plan.source, 0);
	elf_close(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_file),
		cmocka_unit_test(test_empty_file),
		cmocka_unit_test(test_elf_magic_only),
		cmocka_unit_test(test_elf32),
		cmocka_unit_test(test_cut_short),
		cmocka_unit_test(test_directory_and_missing),
		cmocka_unit_test(test_real_libssl),
		cmocka_unit_test(test_truncated_while_open),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
