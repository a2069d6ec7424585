/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * cgroup.h - cgroup v2 discovery and attribution: where the cgroup2 hierarchy is mounted,
 * which directory a cgroup id names, and what a --cgroup argument points to.
 *
 * In:  cgroup ids from BPF records (bpf_get_current_cgroup_id: the kernfs id, which is the
 *      inode number of the cgroup's directory in the cgroup2 mount).
 * Out: cgroup paths relative to the cgroup2 root ("/", "/system.slice/foo.service").
 */
#ifndef TG_CGROUP_H
#define TG_CGROUP_H

#include <stddef.h>
#include <stdint.h>

/*
 * cgroup2_mount - find the cgroup2 mount point in a mounts table.
 * @mounts: path of a mounts file in /proc/self/mounts format (fstab(5) fields)
 * @out/@outlen: receives the mount point
 * Returns 0, -ENOENT when no cgroup2 file system is mounted, or another negative errno.
 */
int cgroup2_mount(const char *mounts, char *out, size_t outlen);

/* A cgroup id -> path cache over one cgroup2 root directory. */
struct cgroup_cache;

/* Create a cache for the hierarchy rooted at @root (an absolute directory). NULL on ENOMEM. */
struct cgroup_cache *cgcache_new(const char *root);
void cgcache_free(struct cgroup_cache *c);

/*
 * cgcache_path - the path of cgroup @id relative to the root ("/" for the root itself).
 * On a miss the tree is walked again, at most once per @rescan_ns of @now_ns (pass 0 to
 * force); ids still unknown after that return NULL (the cgroup is gone or never existed).
 * The string stays valid until cgcache_free().
 */
const char *cgcache_path(struct cgroup_cache *c, uint64_t id, uint64_t now_ns,
			 uint64_t rescan_ns);

/* Walk the hierarchy now (new cgroups appear, removed ones age out). */
void cgcache_rescan(struct cgroup_cache *c, uint64_t now_ns);

/*
 * cgcache_take_removed - the cgroups that are gone and that others may hold state for:
 * ids cgcache_path() returned a path for, once two scans have not found their directory,
 * and ids it was asked for and could not resolve, once a later scan has not found them
 * either. Each id is reported once (more than once only if it is asked for again).
 * Returns their number and hands over the array in *@ids (unsorted; the caller frees it;
 * NULL when there are none); *@lost = ids that could not be queued for lack of memory or
 * room (their state stays until the owner's own bounds evict it).
 */
size_t cgcache_take_removed(struct cgroup_cache *c, uint64_t **ids, uint64_t *lost);

/* Visit every cgroup the cache holds. */
typedef void (*cgcache_fn)(void *ctx, uint64_t id, const char *path);
void cgcache_foreach(struct cgroup_cache *c, cgcache_fn fn, void *ctx);

/* Number of cgroups the cache holds (for status and tests). */
size_t cgcache_size(const struct cgroup_cache *c);

/* The id of the cgroup directory at absolute path @dir: its inode number. 0 on error. */
uint64_t cgroup_id_of(const char *dir);

/* Level of a cgroup given its path relative to the root: "/" is 0, "/a/b" is 2. */
int cgroup_level(const char *rel);

/*
 * cgroup_resolve - turn a --cgroup argument into the absolute directory and the path
 * relative to @root. @arg may be absolute under @root ("/sys/fs/cgroup/agents") or relative
 * to the root ("/agents", "agents"). Returns 0, -ENOENT if it is not a directory under
 * @root, -ENAMETOOLONG.
 */
int cgroup_resolve(const char *root, const char *arg, char *abs, size_t abslen, char *rel,
		   size_t rellen);

#endif
