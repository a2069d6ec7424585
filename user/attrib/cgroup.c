// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uthash.h>

#include "cgroup.h"

/* cgroup.max.depth is unlimited by default; the kernel keeps ids of any depth, we walk 64 */
#define CG_WALK_DEPTH_MAX 64

int cgroup2_mount(const char *mounts, char *out, size_t outlen)
{
	struct mntent *m;
	int ret = -ENOENT;
	FILE *f = setmntent(mounts, "r");

	if (!f)
		return -errno;
	while ((m = getmntent(f))) {
		if (strcmp(m->mnt_type, "cgroup2") != 0)
			continue;
		if (strlen(m->mnt_dir) >= outlen) {
			ret = -ENAMETOOLONG;
			break;
		}
		strcpy(out, m->mnt_dir);
		ret = 0;
		break;
	}
	endmntent(f);
	return ret;
}

struct cg_entry {
	uint64_t id;
	uint64_t gen; /* scan generation that last saw this cgroup */
	char *path;   /* relative to the root */
	int used;     /* cgcache_path() returned it: others may hold state for it */
	UT_hash_handle hh;
};

/* An id cgcache_path() was asked for and did not find, kept until the next scan. */
struct cg_unknown {
	uint64_t id;
	uint64_t gen; /* scans completed when it was asked for */
	UT_hash_handle hh;
};

struct cgroup_cache {
	char *root;
	size_t rootlen;
	struct cg_entry *by_id;
	struct cg_unknown *unknown;
	size_t nunknown;
	uint64_t *removed; /* ids for cgcache_take_removed() */
	size_t nremoved, removed_cap;
	uint64_t removed_lost;
	uint64_t last_scan_ns;
	uint64_t gen; /* number of completed scans */
	int scanned;
};

#define CG_UNKNOWN_MAX 4096
#define CG_REMOVED_MAX 65536

struct cgroup_cache *cgcache_new(const char *root)
{
	struct cgroup_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->root = strdup(root);
	if (!c->root) {
		free(c);
		return NULL;
	}
	/* "/sys/fs/cgroup/" and "/sys/fs/cgroup" are the same root */
	c->rootlen = strlen(c->root);
	while (c->rootlen > 1 && c->root[c->rootlen - 1] == '/')
		c->root[--c->rootlen] = 0;
	return c;
}

void cgcache_free(struct cgroup_cache *c)
{
	struct cg_entry *e, *tmp;
	struct cg_unknown *u, *utmp;

	if (!c)
		return;
	HASH_ITER(hh, c->by_id, e, tmp) {
		HASH_DEL(c->by_id, e);
		free(e->path);
		free(e);
	}
	HASH_ITER(hh, c->unknown, u, utmp) {
		HASH_DEL(c->unknown, u);
		free(u);
	}
	free(c->removed);
	free(c->root);
	free(c);
}

static int cg_add(struct cgroup_cache *c, uint64_t id, const char *rel)
{
	struct cg_entry *e;

	HASH_FIND(hh, c->by_id, &id, sizeof(id), e);
	if (e) {
		e->gen = c->gen;
		if (strcmp(e->path, rel) == 0)
			return 0;
		char *p = strdup(rel);
		if (!p)
			return -ENOMEM;
		free(e->path);
		e->path = p;
		return 0;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->id = id;
	e->gen = c->gen;
	e->path = strdup(rel);
	if (!e->path) {
		free(e);
		return -ENOMEM;
	}
	HASH_ADD(hh, c->by_id, id, sizeof(e->id), e);
	return 0;
}

/*
 * Add the cgroups under the directory @dfd (its path relative to the root in @rel, of
 * length @len) to the cache, depth first. readdir's d_type and d_ino are enough: kernfs
 * reports directories as DT_DIR and d_ino is the cgroup id, so no file is stat'ed (a
 * cgroup directory holds 30 to 60 control files). Consumes @dfd.
 */
static void walk_dir(struct cgroup_cache *c, int dfd, char *rel, size_t len, int depth)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;

	if (!d) {
		close(dfd);
		return;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
			continue;
		uint64_t ino = (uint64_t)de->d_ino;
		if (de->d_type == DT_UNKNOWN) { /* not kernfs: ask (tests run on a plain tree) */
			struct stat sb;
			if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
			    !S_ISDIR(sb.st_mode))
				continue;
			ino = (uint64_t)sb.st_ino;
		}
		size_t n = strlen(de->d_name);
		if (len + 1 + n >= PATH_MAX || depth >= CG_WALK_DEPTH_MAX)
			continue;
		rel[len] = '/';
		memcpy(rel + len + 1, de->d_name, n + 1);
		cg_add(c, ino, rel);
		int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (sub >= 0)
			walk_dir(c, sub, rel, len + 1 + n, depth + 1);
		rel[len] = 0;
	}
	closedir(d);
}

static void removed_add(struct cgroup_cache *c, uint64_t id)
{
	if (c->nremoved == c->removed_cap) {
		size_t cap = c->removed_cap ? 2 * c->removed_cap : 256;
		uint64_t *p = cap <= CG_REMOVED_MAX ? realloc(c->removed, cap * sizeof(*p)) : NULL;
		if (!p) {
			c->removed_lost++;
			return;
		}
		c->removed = p;
		c->removed_cap = cap;
	}
	c->removed[c->nremoved++] = id;
}

/*
 * Walk the whole hierarchy. Cgroups removed since the scan before last are forgotten, so
 * the cache holds the live cgroups plus those removed lately (their records may still be in
 * flight): bounded under cgroup churn. Forgotten cgroups that were used, and ids asked for
 * that no scan since has found, are queued for cgcache_take_removed().
 */
static void cg_scan(struct cgroup_cache *c)
{
	struct cg_entry *e, *tmp;
	struct cg_unknown *u, *utmp;
	char rel[PATH_MAX] = "";
	struct stat st;

	c->gen++;
	int fd = open(c->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 && fstat(fd, &st) == 0) {
		cg_add(c, (uint64_t)st.st_ino, "/");
		walk_dir(c, fd, rel, 0, 0);
	} else if (fd >= 0) {
		close(fd);
	}
	c->scanned = 1;
	HASH_ITER(hh, c->by_id, e, tmp) {
		if (e->gen + 1 < c->gen) {
			if (e->used)
				removed_add(c, e->id);
			HASH_DEL(c->by_id, e);
			free(e->path);
			free(e);
		}
	}
	HASH_ITER(hh, c->unknown, u, utmp) {
		if (u->gen >= c->gen)
			continue; /* asked for during this scan */
		HASH_FIND(hh, c->by_id, &u->id, sizeof(u->id), e);
		if (e)
			e->used = 1;
		else
			removed_add(c, u->id);
		HASH_DEL(c->unknown, u);
		free(u);
		c->nunknown--;
	}
}

/* Remember an id nobody could resolve, so that its state is forgotten after the next scan. */
static void unknown_add(struct cgroup_cache *c, uint64_t id)
{
	struct cg_unknown *u;

	HASH_FIND(hh, c->unknown, &id, sizeof(id), u);
	if (u)
		return;
	if (c->nunknown >= CG_UNKNOWN_MAX || !(u = calloc(1, sizeof(*u)))) {
		c->removed_lost++;
		return;
	}
	u->id = id;
	u->gen = c->gen;
	HASH_ADD(hh, c->unknown, id, sizeof(u->id), u);
	c->nunknown++;
}

const char *cgcache_path(struct cgroup_cache *c, uint64_t id, uint64_t now_ns,
			 uint64_t rescan_ns)
{
	struct cg_entry *e;

	HASH_FIND(hh, c->by_id, &id, sizeof(id), e);
	if (!e && !(c->scanned && rescan_ns && now_ns - c->last_scan_ns < rescan_ns)) {
		c->last_scan_ns = now_ns;
		cg_scan(c);
		HASH_FIND(hh, c->by_id, &id, sizeof(id), e);
	}
	if (!e) {
		unknown_add(c, id);
		return NULL;
	}
	e->used = 1;
	return e->path;
}

size_t cgcache_take_removed(struct cgroup_cache *c, uint64_t **ids, uint64_t *lost)
{
	size_t n = c->nremoved;

	*ids = c->removed;
	*lost = c->removed_lost;
	c->removed = NULL;
	c->nremoved = c->removed_cap = 0;
	c->removed_lost = 0;
	return n;
}

void cgcache_rescan(struct cgroup_cache *c, uint64_t now_ns)
{
	c->last_scan_ns = now_ns;
	cg_scan(c);
}

void cgcache_foreach(struct cgroup_cache *c, cgcache_fn fn, void *ctx)
{
	struct cg_entry *e, *tmp;

	HASH_ITER(hh, c->by_id, e, tmp)
		fn(ctx, e->id, e->path);
}

size_t cgcache_size(const struct cgroup_cache *c)
{
	return HASH_COUNT(c->by_id);
}

uint64_t cgroup_id_of(const char *dir)
{
	struct stat st;

	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return 0;
	return (uint64_t)st.st_ino;
}

int cgroup_level(const char *rel)
{
	int level = 0;
	const char *p = rel;

	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		level++;
		while (*p && *p != '/')
			p++;
	}
	return level;
}

int cgroup_resolve(const char *root, const char *arg, char *abs, size_t abslen, char *rel,
		   size_t rellen)
{
	char joined[PATH_MAX], real[PATH_MAX], realroot[PATH_MAX];
	struct stat st;
	size_t rl;
	int n;

	if (!realpath(root, realroot))
		return -errno;
	rl = strlen(realroot);
	if (strncmp(arg, realroot, rl) == 0 && (arg[rl] == '/' || arg[rl] == 0))
		n = snprintf(joined, sizeof(joined), "%s", arg);
	else
		n = snprintf(joined, sizeof(joined), "%s/%s", realroot, arg[0] == '/' ? arg + 1 : arg);
	if (n < 0 || (size_t)n >= sizeof(joined))
		return -ENAMETOOLONG;
	if (!realpath(joined, real))
		return -ENOENT;
	/* ".." must not lead out of the hierarchy */
	if (strncmp(real, realroot, rl) != 0 || (real[rl] != '/' && real[rl] != 0))
		return -ENOENT;
	if (stat(real, &st) != 0 || !S_ISDIR(st.st_mode))
		return -ENOENT;
	const char *r = real[rl] ? real + rl : "/";
	if (strlen(real) >= abslen || strlen(r) >= rellen)
		return -ENAMETOOLONG;
	strcpy(abs, real);
	strcpy(rel, r);
	return 0;
}
