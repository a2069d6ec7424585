// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_cgroup.c - user/attrib/cgroup.c against temporary files and directory trees (no cgroupfs,
 * no privileges): cgroup2_mount on mounts tables (present, absent, the first of several,
 * escaped paths, too small a buffer), the id -> path cache (ids are the st_ino of the
 * directories: root, nested, rescans on a miss, rate limiting, renames, removed cgroups
 * forgotten after two scans, files and symlinks ignored), cgroup_id_of, cgroup_level and
 * cgroup_resolve (absolute under the root, relative, "..", symlinks out, missing, files,
 * buffers too small).
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

#include "cgroup.h"

struct fixture {
	char root[PATH_MAX]; /* realpath of a fresh temporary directory */
};

static int rm_cb(const char *p, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return (type == FTW_DP ? rmdir(p) : unlink(p)) ? -1 : 0;
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	const char *tmp = getenv("TMPDIR");
	char templ[PATH_MAX];

	if (!fx)
		return -1;
	snprintf(templ, sizeof(templ), "%s/tg-unit-cgroup.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(templ) || !realpath(templ, fx->root)) {
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	nftw(fx->root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

/* @fx->root/@rel into @out */
static const char *in_root(const struct fixture *fx, const char *rel, char *out)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", fx->root, rel);

	assert_true(n > 0 && n < PATH_MAX);
	return out;
}

static void mkdir_in(const struct fixture *fx, const char *rel)
{
	char p[PATH_MAX];

	assert_int_equal(mkdir(in_root(fx, rel, p), 0755), 0);
}

static uint64_t ino_of(const struct fixture *fx, const char *rel)
{
	char p[PATH_MAX];
	struct stat st;

	assert_int_equal(lstat(in_root(fx, rel, p), &st), 0);
	return (uint64_t)st.st_ino;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* ---- cgroup2_mount ---- */

static int mount_of(struct fixture *fx, const char *table, char *out, size_t outlen)
{
	char p[PATH_MAX];

	write_file(in_root(fx, "mounts", p), table);
	return cgroup2_mount(p, out, outlen);
}

static void test_mount_present(void **state)
{
	struct fixture *fx = *state;
	char out[PATH_MAX];

	assert_int_equal(mount_of(fx,
				  "sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0\n"
				  "tmpfs /sys/fs/cgroup tmpfs ro,nosuid,nodev,noexec,mode=755 0 0\n"
				  "cgroup2 /sys/fs/cgroup/unified cgroup2 rw,nosuid,nodev 0 0\n"
				  "cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\n",
				  out, sizeof(out)), 0);
	assert_string_equal(out, "/sys/fs/cgroup/unified");
	/* the usual unified layout */
	assert_int_equal(mount_of(fx, "cgroup2 /sys/fs/cgroup cgroup2 rw,nsdelegate 0 0\n", out,
				  sizeof(out)), 0);
	assert_string_equal(out, "/sys/fs/cgroup");
	/* the file system type decides, not the device name; octal escapes are decoded */
	assert_int_equal(mount_of(fx,
				  "cgroup2 /not/it tmpfs rw 0 0\n"
				  "none /run/my\\040cgroups cgroup2 rw 0 0\n",
				  out, sizeof(out)), 0);
	assert_string_equal(out, "/run/my cgroups");
}

static void test_mount_first_of_several(void **state)
{
	struct fixture *fx = *state;
	char out[PATH_MAX];

	assert_int_equal(mount_of(fx,
				  "proc /proc proc rw 0 0\n"
				  "cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n"
				  "cgroup2 /run/container/cgroup cgroup2 rw 0 0\n",
				  out, sizeof(out)), 0);
	assert_string_equal(out, "/sys/fs/cgroup");
}

static void test_mount_absent(void **state)
{
	struct fixture *fx = *state;
	char out[PATH_MAX], p[PATH_MAX];

	strcpy(out, "untouched");
	assert_int_equal(mount_of(fx,
				  "proc /proc proc rw 0 0\n"
				  "cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n",
				  out, sizeof(out)), -ENOENT);
	assert_string_equal(out, "untouched");
	assert_int_equal(mount_of(fx, "", out, sizeof(out)), -ENOENT);
	/* no mounts file at all */
	assert_int_equal(cgroup2_mount(in_root(fx, "no-such-file", p), out, sizeof(out)),
			 -ENOENT);
	/* a mount point longer than the buffer */
	assert_int_equal(mount_of(fx, "cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n", out, 14),
			 -ENAMETOOLONG);
	assert_int_equal(mount_of(fx, "cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n", out, 15), 0);
	assert_string_equal(out, "/sys/fs/cgroup");
}

/* ---- the id -> path cache ---- */

static void test_cache_paths(void **state)
{
	struct fixture *fx = *state;
	struct cgroup_cache *c;
	char p[PATH_MAX], q[PATH_MAX];

	mkdir_in(fx, "agents");
	mkdir_in(fx, "agents/a1");
	mkdir_in(fx, "system.slice");
	/* not cgroups: a file and a symlink to a directory */
	write_file(in_root(fx, "agents/cgroup.procs", p), "1\n");
	assert_int_equal(symlink(in_root(fx, "agents", p), in_root(fx, "link", q)), 0);

	c = cgcache_new(fx->root);
	assert_non_null(c);
	assert_int_equal(cgcache_size(c), 0);
	assert_string_equal(cgcache_path(c, ino_of(fx, "agents/a1"), 1000, 0), "/agents/a1");
	/* one scan found the root and the three directories, nothing else */
	assert_int_equal(cgcache_size(c), 4);
	assert_string_equal(cgcache_path(c, ino_of(fx, "."), 1000, 0), "/");
	assert_string_equal(cgcache_path(c, ino_of(fx, "agents"), 1000, 0), "/agents");
	assert_string_equal(cgcache_path(c, ino_of(fx, "system.slice"), 1000, 0),
			    "/system.slice");
	/* the file's and the symlink's inodes are not cgroups */
	assert_null(cgcache_path(c, ino_of(fx, "agents/cgroup.procs"), 1000, 0));
	assert_null(cgcache_path(c, ino_of(fx, "link"), 1000, 0));
	assert_int_equal(cgcache_size(c), 4);
	cgcache_free(c);

	/* a trailing '/' on the root changes nothing */
	assert_true(snprintf(p, sizeof(p), "%s//", fx->root) < (int)sizeof(p));
	c = cgcache_new(p);
	assert_non_null(c);
	assert_string_equal(cgcache_path(c, ino_of(fx, "agents/a1"), 0, 0), "/agents/a1");
	assert_string_equal(cgcache_path(c, ino_of(fx, "."), 0, 0), "/");
	cgcache_free(c);
	cgcache_free(NULL);
}

static void test_cache_rescan(void **state)
{
	struct fixture *fx = *state;
	const uint64_t rescan = 1000000000ULL; /* 1 s */
	uint64_t t0 = 5 * rescan;
	struct cgroup_cache *c = cgcache_new(fx->root);
	uint64_t id;

	assert_non_null(c);
	mkdir_in(fx, "a");
	assert_string_equal(cgcache_path(c, ino_of(fx, "a"), t0, rescan), "/a");
	assert_int_equal(cgcache_size(c), 2);

	/* a cgroup made after the scan: a miss within rescan_ns of it does not walk again */
	mkdir_in(fx, "b");
	id = ino_of(fx, "b");
	assert_null(cgcache_path(c, id, t0 + 1, rescan));
	assert_null(cgcache_path(c, id, t0 + rescan - 1, rescan));
	assert_int_equal(cgcache_size(c), 2);
	/* rescan_ns later it does */
	assert_string_equal(cgcache_path(c, id, t0 + rescan, rescan), "/b");
	assert_int_equal(cgcache_size(c), 3);

	/* misses do not move the last scan: the limit counts from t0 + rescan */
	mkdir_in(fx, "c");
	assert_null(cgcache_path(c, ino_of(fx, "c"), t0 + rescan + 10, rescan));
	assert_null(cgcache_path(c, ino_of(fx, "c"), t0 + 2 * rescan - 1, rescan));
	assert_string_equal(cgcache_path(c, ino_of(fx, "c"), t0 + 2 * rescan, rescan), "/c");

	/* rescan_ns 0 forces a walk */
	mkdir_in(fx, "d");
	assert_string_equal(cgcache_path(c, ino_of(fx, "d"), t0 + 2 * rescan, 0), "/d");
	assert_int_equal(cgcache_size(c), 5);
	/* hits never walk: an unknown id after a hit is still rate limited */
	assert_string_equal(cgcache_path(c, ino_of(fx, "a"), t0 + 2 * rescan + 1, rescan), "/a");
	/* an id that never existed stays unknown after a walk */
	assert_null(cgcache_path(c, 1, t0 + 10 * rescan, rescan));
	cgcache_free(c);
}

static void test_cache_rename(void **state)
{
	struct fixture *fx = *state;
	struct cgroup_cache *c = cgcache_new(fx->root);
	char from[PATH_MAX], to[PATH_MAX];
	uint64_t id;

	assert_non_null(c);
	mkdir_in(fx, "old");
	mkdir_in(fx, "old/child");
	id = ino_of(fx, "old/child");
	assert_string_equal(cgcache_path(c, id, 0, 0), "/old/child");
	assert_int_equal(rename(in_root(fx, "old", from), in_root(fx, "new", to)), 0);
	/* a hit is served from the cache until a walk happens */
	assert_string_equal(cgcache_path(c, id, 0, 0), "/old/child");
	assert_null(cgcache_path(c, 1, 0, 0)); /* a miss forces a walk */
	assert_string_equal(cgcache_path(c, id, 0, 0), "/new/child");
	assert_int_equal(cgcache_size(c), 3);
	cgcache_free(c);
}

static void test_cache_forget(void **state)
{
	struct fixture *fx = *state;
	struct cgroup_cache *c = cgcache_new(fx->root);
	char p[PATH_MAX];
	uint64_t gone;

	assert_non_null(c);
	mkdir_in(fx, "keep");
	mkdir_in(fx, "gone");
	gone = ino_of(fx, "gone");
	assert_string_equal(cgcache_path(c, gone, 0, 0), "/gone"); /* scan 1 */
	assert_int_equal(cgcache_size(c), 3);
	assert_int_equal(rmdir(in_root(fx, "gone", p)), 0);

	/* scan 2 does not see it: kept, its records may still be in flight */
	assert_null(cgcache_path(c, 1, 0, 0));
	assert_int_equal(cgcache_size(c), 3);
	assert_string_equal(cgcache_path(c, gone, 0, 0), "/gone");
	/* scan 3 does not see it either: forgotten */
	assert_null(cgcache_path(c, 1, 0, 0));
	assert_int_equal(cgcache_size(c), 2);
	assert_null(cgcache_path(c, gone, 0, 0));
	assert_string_equal(cgcache_path(c, ino_of(fx, "keep"), 0, 0), "/keep");
	cgcache_free(c);
}

static int has_id(const uint64_t *ids, size_t n, uint64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return 1;
	return 0;
}

/* Removed cgroups somebody asked about are handed out once, for their state to go too. */
static void test_cache_take_removed(void **state)
{
	struct fixture *fx = *state;
	struct cgroup_cache *c = cgcache_new(fx->root);
	char p[PATH_MAX];
	uint64_t *ids, lost, used, unused, brief, never = 1;
	size_t n;

	assert_non_null(c);
	mkdir_in(fx, "used");
	mkdir_in(fx, "unused");
	used = ino_of(fx, "used");
	unused = ino_of(fx, "unused");
	assert_string_equal(cgcache_path(c, used, 0, 0), "/used");
	assert_int_equal(cgcache_take_removed(c, &ids, &lost), 0);
	assert_null(ids);
	assert_int_equal(lost, 0);

	/* a cgroup made and removed between two scans, named by a record: unknown
	 * (made before the others go: a plain file system reuses inode numbers, kernfs ids
	 * are never reused) */
	mkdir_in(fx, "brief");
	brief = ino_of(fx, "brief");
	assert_int_equal(rmdir(in_root(fx, "brief", p)), 0);
	/* both removed; only the one a record named is reported, after two scans */
	assert_int_equal(rmdir(in_root(fx, "used", p)), 0);
	assert_int_equal(rmdir(in_root(fx, "unused", p)), 0);
	assert_null(cgcache_path(c, brief, 0, 0)); /* scan 2 */
	assert_null(cgcache_path(c, never, 0, 0)); /* scan 3 */
	n = cgcache_take_removed(c, &ids, &lost);
	assert_int_equal(lost, 0);
	assert_true(has_id(ids, n, used));
	assert_true(has_id(ids, n, brief));
	assert_false(has_id(ids, n, unused));
	assert_false(has_id(ids, n, never)); /* asked during the last scan: not yet */
	assert_int_equal(n, 2);
	free(ids);

	/* the next scan reports the id that is still unknown; nothing twice */
	cgcache_rescan(c, 0);
	n = cgcache_take_removed(c, &ids, &lost);
	assert_int_equal(n, 1);
	assert_true(has_id(ids, n, never));
	free(ids);
	cgcache_rescan(c, 0);
	assert_int_equal(cgcache_take_removed(c, &ids, &lost), 0);

	/* an id unknown at first and found by a later scan is not reported */
	mkdir_in(fx, "late");
	uint64_t late = ino_of(fx, "late");
	assert_null(cgcache_path(c, late, 1, 1000)); /* rate limited: no walk, unknown */
	cgcache_rescan(c, 0);
	assert_int_equal(cgcache_take_removed(c, &ids, &lost), 0);
	assert_string_equal(cgcache_path(c, late, 0, 1000), "/late");
	cgcache_free(c);
}

static void test_cache_missing_root(void **state)
{
	struct fixture *fx = *state;
	struct cgroup_cache *c;
	char p[PATH_MAX];

	c = cgcache_new(in_root(fx, "does-not-exist", p));
	assert_non_null(c);
	assert_null(cgcache_path(c, ino_of(fx, "."), 0, 0));
	assert_int_equal(cgcache_size(c), 0);
	cgcache_free(c);
}

/* ---- ids, levels, --cgroup arguments ---- */

static void test_id_of(void **state)
{
	struct fixture *fx = *state;
	char p[PATH_MAX];

	mkdir_in(fx, "x");
	write_file(in_root(fx, "f", p), "");
	assert_int_equal(cgroup_id_of(in_root(fx, "x", p)), ino_of(fx, "x"));
	assert_int_equal(cgroup_id_of(fx->root), ino_of(fx, "."));
	assert_int_equal(cgroup_id_of(in_root(fx, "f", p)), 0);
	assert_int_equal(cgroup_id_of(in_root(fx, "nope", p)), 0);
}

static void test_level(void **state)
{
	(void)state;
	assert_int_equal(cgroup_level("/"), 0);
	assert_int_equal(cgroup_level(""), 0);
	assert_int_equal(cgroup_level("//"), 0);
	assert_int_equal(cgroup_level("/a"), 1);
	assert_int_equal(cgroup_level("/agents/a1"), 2);
	assert_int_equal(cgroup_level("agents/a1/"), 2);
	assert_int_equal(cgroup_level("//a//b//c//"), 3);
	assert_int_equal(cgroup_level("/system.slice/foo.service"), 2);
}

static void test_resolve(void **state)
{
	struct fixture *fx = *state;
	char abs[PATH_MAX], rel[PATH_MAX], want[PATH_MAX], arg[PATH_MAX];

	mkdir_in(fx, "agents");
	mkdir_in(fx, "agents/a1");

	/* absolute, under the root */
	in_root(fx, "agents/a1", arg);
	assert_int_equal(cgroup_resolve(fx->root, arg, abs, sizeof(abs), rel, sizeof(rel)), 0);
	assert_string_equal(abs, in_root(fx, "agents/a1", want));
	assert_string_equal(rel, "/agents/a1");
	/* relative to the root, with and without the leading '/' */
	assert_int_equal(cgroup_resolve(fx->root, "/agents", abs, sizeof(abs), rel, sizeof(rel)),
			 0);
	assert_string_equal(abs, in_root(fx, "agents", want));
	assert_string_equal(rel, "/agents");
	assert_int_equal(cgroup_resolve(fx->root, "agents/a1/", abs, sizeof(abs), rel,
					sizeof(rel)), 0);
	assert_string_equal(rel, "/agents/a1");
	/* the root itself */
	assert_int_equal(cgroup_resolve(fx->root, "/", abs, sizeof(abs), rel, sizeof(rel)), 0);
	assert_string_equal(abs, fx->root);
	assert_string_equal(rel, "/");
	assert_int_equal(cgroup_resolve(fx->root, fx->root, abs, sizeof(abs), rel, sizeof(rel)),
			 0);
	assert_string_equal(rel, "/");
	/* ".." inside the hierarchy is fine */
	assert_int_equal(cgroup_resolve(fx->root, "agents/a1/..", abs, sizeof(abs), rel,
					sizeof(rel)), 0);
	assert_string_equal(rel, "/agents");
}

static void test_resolve_errors(void **state)
{
	struct fixture *fx = *state;
	char abs[PATH_MAX], rel[PATH_MAX], p[PATH_MAX], q[PATH_MAX];

	mkdir_in(fx, "agents");
	write_file(in_root(fx, "agents/cgroup.procs", p), "");
	/* out of the hierarchy */
	assert_int_equal(cgroup_resolve(fx->root, "..", abs, sizeof(abs), rel, sizeof(rel)),
			 -ENOENT);
	assert_int_equal(cgroup_resolve(fx->root, "/agents/../..", abs, sizeof(abs), rel,
					sizeof(rel)), -ENOENT);
	/* through a symlink that leads out */
	assert_int_equal(symlink("/", in_root(fx, "agents/out", p)), 0);
	assert_int_equal(cgroup_resolve(fx->root, "agents/out", abs, sizeof(abs), rel,
					sizeof(rel)), -ENOENT);
	/* a sibling whose name starts like the root is not under it */
	assert_true(snprintf(p, sizeof(p), "%s-sibling", fx->root) < (int)sizeof(p));
	assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(cgroup_resolve(fx->root, p, abs, sizeof(abs), rel, sizeof(rel)),
			 -ENOENT);
	assert_int_equal(rmdir(p), 0);
	/* missing, and not a directory */
	assert_int_equal(cgroup_resolve(fx->root, "nope", abs, sizeof(abs), rel, sizeof(rel)),
			 -ENOENT);
	assert_int_equal(cgroup_resolve(fx->root, "/agents/cgroup.procs", abs, sizeof(abs), rel,
					sizeof(rel)), -ENOENT);
	assert_int_equal(cgroup_resolve(in_root(fx, "no-root", q), "agents", abs, sizeof(abs),
					rel, sizeof(rel)), -ENOENT);
	/* buffers too small: "/agents" needs 8 bytes */
	assert_int_equal(cgroup_resolve(fx->root, "agents", abs, sizeof(abs), rel, 7),
			 -ENAMETOOLONG);
	assert_int_equal(cgroup_resolve(fx->root, "agents", abs, sizeof(abs), rel, 8), 0);
	assert_string_equal(rel, "/agents");
	assert_int_equal(cgroup_resolve(fx->root, "agents", abs, strlen(fx->root) + 7, rel,
					sizeof(rel)), -ENAMETOOLONG);
	/* an argument longer than PATH_MAX */
	{
		char *longarg = malloc(PATH_MAX + 16);
		assert_non_null(longarg);
		memset(longarg, 'a', PATH_MAX + 15);
		longarg[PATH_MAX + 15] = 0;
		assert_int_equal(cgroup_resolve(fx->root, longarg, abs, sizeof(abs), rel,
						sizeof(rel)), -ENAMETOOLONG);
		free(longarg);
	}
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_mount_present),
		T(test_mount_first_of_several),
		T(test_mount_absent),
		T(test_cache_paths),
		T(test_cache_rescan),
		T(test_cache_rename),
		T(test_cache_forget),
		T(test_cache_take_removed),
		T(test_cache_missing_root),
		T(test_id_of),
		T(test_level),
		T(test_resolve),
		T(test_resolve_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
