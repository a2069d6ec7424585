// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_tls_probe.c - the file cache of user/capture/tls_probe.c: a file examined once is answered
 * from the cache after, and the cache holds at most opts.max_files files however many a
 * host shows it (new executables, containers' libraries), forgetting the least recently
 * seen. Scoped mode with no watched cgroup: files are examined, nothing is attached, so
 * this runs without root. Attaching is covered by tests/integration/test_capture.py.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "tls_probe.h"

#define MAX_FILES 8

static char dir[] = "/tmp/tollgate-test-tls-probe.XXXXXX";

/* A copy of /bin/true (an ELF file with no TLS API, a new inode) named libssl.so.@i. */
static void add_lib(int i)
{
	char path[128], buf[65536];
	ssize_t n;
	int in = open("/bin/true", O_RDONLY | O_CLOEXEC);
	int out;

	snprintf(path, sizeof(path), "%s/libssl.so.%d", dir, i);
	out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	assert_true(in >= 0 && out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	assert_int_equal(n, 0);
	close(in);
	close(out);
}

static struct tls_probes *new_probes(void)
{
	static const char *dirs[2];
	struct tls_probe_opts o = {.scoped = 1, .lib_dirs = dirs, .max_files = MAX_FILES};

	dirs[0] = dir;
	return tls_probes_new(&o);
}

static void test_cache_answers_and_stays_bounded(void **state)
{
	struct tls_probes *t = new_probes();
	const struct tls_probe_stats *st;
	uint64_t files, known;

	(void)state;
	assert_non_null(t);
	for (int i = 0; i < 5; i++)
		add_lib(i);

	/* the 5 libraries and the TLS executables this machine has (node, 0 to 2 files) */
	tls_probes_start(t, 1);
	st = tls_probes_stats(t);
	files = st->files;
	known = files - 5;
	assert_true(files >= 5 && known <= 2);
	assert_int_equal(st->files_cached, files);
	assert_int_equal(st->files_forgotten, 0);

	/* seen again: answered from the cache, nothing examined twice */
	tls_probes_start(t, 2);
	st = tls_probes_stats(t);
	assert_int_equal(st->files, files);
	assert_int_equal(st->files_forgotten, 0);

	/* 10 more files than fit: the cache stays at its size, and what it forgot (least
	 * recently seen first) is examined again when seen again */
	for (int i = 5; i < 15; i++)
		add_lib(i);
	tls_probes_start(t, 3);
	st = tls_probes_stats(t);
	assert_true(st->files >= files + 10);
	assert_int_equal(st->files_cached, MAX_FILES);
	assert_int_equal(st->files_forgotten, st->files - MAX_FILES);
	files = st->files;
	tls_probes_start(t, 4);
	st = tls_probes_stats(t);
	/* 15 + known files cycle through 8 slots in the same order: none is still there */
	assert_int_equal(st->files, files + 15 + known);
	assert_int_equal(st->files_cached, MAX_FILES);
	assert_int_equal(st->files_forgotten, st->files - MAX_FILES);
	tls_probes_free(t);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cache_answers_and_stays_bounded),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
