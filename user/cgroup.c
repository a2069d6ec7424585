// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uthash.h>

#include "cgroup.h"

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
	UT_hash_handle hh;
};

struct cgroup_cache {
	char *root;
	size_t rootlen;
	struct cg_entry *by_id;
	uint64_t last_scan_ns;
	uint64_t gen; /* number of completed scans */
	int scanned;
};

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

	if (!c)
		return;
	HASH_ITER(hh, c->by_id, e, tmp) {
		HASH_DEL(c->by_id, e);
		free(e->path);
		free(e);
	}
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

/* nftw has no user pointer: the walk is not reentrant, which is fine for one thread. */
static struct cgroup_cache *walk_cache;

static int walk_cb(const char *fpath, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)ftw;
	if (type != FTW_D)
		return 0;
	const char *rel = fpath + walk_cache->rootlen;
	if (*rel == 0)
		rel = "/";
	cg_add(walk_cache, (uint64_t)sb->st_ino, rel);
	return 0;
}

/* Walk the whole hierarchy. Cgroups removed since the scan before last are forgotten, so
 * the cache holds the live cgroups plus those removed lately (their records may still be in
 * flight): bounded under cgroup churn. */
static void cg_scan(struct cgroup_cache *c)
{
	struct cg_entry *e, *tmp;

	c->gen++;
	walk_cache = c;
	/* FTW_PHYS: cgroupfs has no symlinks, but never follow any; FTW_MOUNT: stay in it */
	nftw(c->root, walk_cb, 32, FTW_PHYS | FTW_MOUNT);
	walk_cache = NULL;
	c->scanned = 1;
	HASH_ITER(hh, c->by_id, e, tmp) {
		if (e->gen + 1 < c->gen) {
			HASH_DEL(c->by_id, e);
			free(e->path);
			free(e);
		}
	}
}

const char *cgcache_path(struct cgroup_cache *c, uint64_t id, uint64_t now_ns,
			 uint64_t rescan_ns)
{
	struct cg_entry *e;

	HASH_FIND(hh, c->by_id, &id, sizeof(id), e);
	if (e)
		return e->path;
	if (c->scanned && rescan_ns && now_ns - c->last_scan_ns < rescan_ns)
		return NULL;
	c->last_scan_ns = now_ns;
	cg_scan(c);
	HASH_FIND(hh, c->by_id, &id, sizeof(id), e);
	return e ? e->path : NULL;
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
