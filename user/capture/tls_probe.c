// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * tls_probe.c - TLS library discovery and uprobe attachment. See tls_probe.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <uthash.h>

#include "elf_file.h"
#include "log.h"
#include "probe_site.h"
#include "reaper.h"
#include "tls_probe.h"
#include "util.h"

#define RESCAN_SCOPED_NS (2ULL * 1000000000ULL)    /* reconcile watched processes */
#define RESCAN_HOST_NS (30ULL * 1000000000ULL)     /* look for new libraries host-wide */
#define MAX_SCHEDULED 4096
/* Files examined and remembered (plan or "no TLS API"). Every new executable and library
 * a host runs is one, and a host that starts containers sees new (dev, ino) pairs all the
 * time: beyond this many, the least recently seen file without host-wide links is
 * forgotten (and examined again should it be seen again). */
#define TARGETS_MAX 4096

static const char *const std_lib_dirs[] = {
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64",
	"/lib", "/usr/lib", "/usr/local/lib", "/usr/local/lib64", "/usr/local/ssl/lib", NULL,
};

/* Executables known to link OpenSSL statically and export its API. */
static const char *const known_bins[] = {"/usr/bin/node", "/usr/local/bin/node",
					 "/usr/bin/nodejs", NULL};

struct file_key {
	uint64_t dev, ino;
};

struct target {
	struct file_key key;
	UT_hash_handle hh;
	char *ns_path;          /* path inside its mount namespace (NULL for an exe) */
	int host_visible;       /* ns_path names the same file in our namespace */
	int is_lib;             /* a shared library (not a process's executable) */
	struct probe_plan plan; /* plan.source == 0: no TLS API (negative cache) */
	int *fds;               /* host-wide links */
	int nfds;
};

struct pid_ent {
	uint32_t pid;
	UT_hash_handle hh;
	int *fds;              /* this process's links */
	int nfds;
	struct file_key *done; /* targets attached for this process */
	int ndone;
	uint64_t gen;          /* last reconcile that saw it */
};

struct sched {
	uint32_t pid;
	uint64_t due;
};

struct tls_probes {
	struct tls_probe_opts o;
	struct target *targets;
	struct pid_ent *pids;
	struct tls_probe_stats st;
	struct sched sched[MAX_SCHEDULED];
	int nsched;
	uint64_t next_due;      /* earliest sched[].due, 0 when none */
	uint64_t next_rescan;
	uint64_t gen;
	struct reaper *reaper;
	int expedite_fd;        /* /sys/kernel/rcu_expedited, -1 when not used */
	char expedite_saved;    /* its value before tollgate touched it */
	unsigned long long attach_errors;
};

/* ---- links ---- */

static void drop_links(struct tls_probes *t, int *fds, int n)
{
	for (int i = 0; i < n; i++)
		reaper_close(t->reaper, fds[i]);
	t->st.links -= (uint64_t)n;
	free(fds);
}

/* Expedite RCU grace periods around a per-process attach (see tls_probe.h). */
static void expedite(struct tls_probes *t, int on)
{
	char v = on ? '1' : t->expedite_saved;

	if (t->expedite_fd < 0 || t->expedite_saved == '1')
		return;
	if (pwrite(t->expedite_fd, &v, 1, 0) != 1) {
		if (on)
			tg_warn("write /sys/kernel/rcu_expedited: %s; per-process TLS probes may be "
				"attached too late for short-lived programs", strerror(errno));
		else
			tg_err("restore /sys/kernel/rcu_expedited to %c: %s; it stays 1 (RCU grace "
			       "periods expedited host-wide) until written back", v, strerror(errno));
		close(t->expedite_fd);
		t->expedite_fd = -1;
	}
}

/* Attach every site of @tg's plan through @path, for @pid (0: every process), appending
 * the links to @arr. */
static void attach_plan(struct tls_probes *t, const struct target *tg, const char *path, int pid,
			int **arr, int *n)
{
	int fds[ULINK_MAX_PER_PLAN];
	int got = ulink_attach(&t->o.progs, path, &tg->plan, pid, fds, ULINK_MAX_PER_PLAN,
			       &t->attach_errors);
	int *a;

	t->st.attach_errors = t->attach_errors;
	if (got <= 0)
		return;
	a = realloc(*arr, sizeof(**arr) * (size_t)(*n + got));
	if (!a) {
		for (int i = 0; i < got; i++)
			reaper_close(t->reaper, fds[i]);
		return;
	}
	memcpy(a + *n, fds, sizeof(*fds) * (size_t)got);
	*arr = a;
	*n += got;
	t->st.links += (uint64_t)got;
}

/* ---- targets ---- */

/* The target of file @k, made the most recently seen (the table's insertion order is its
 * LRU order: oldest first), or NULL. */
static struct target *target_find(struct tls_probes *t, struct file_key k)
{
	struct target *tg;

	HASH_FIND(hh, t->targets, &k, sizeof(k), tg);
	if (tg && tg->hh.next) {
		HASH_DELETE(hh, t->targets, tg);
		HASH_ADD(hh, t->targets, key, sizeof(tg->key), tg);
	}
	return tg;
}

static void target_free(struct target *tg)
{
	free(tg->ns_path);
	free(tg);
}

/* Keep the table below opts.max_files so that one more fits: forget the least recently
 * seen files that hold no host-wide links (those stay: their links are per file). A
 * scoped process keeps its own links; it remembers the file's key, not the target. */
static void targets_trim(struct tls_probes *t)
{
	struct target *tg, *tmp;

	HASH_ITER(hh, t->targets, tg, tmp) {
		if (HASH_COUNT(t->targets) < (unsigned)t->o.max_files)
			break;
		if (tg->nfds)
			continue;
		HASH_DELETE(hh, t->targets, tg);
		target_free(tg);
		t->st.files_forgotten++;
	}
}

static void log_plan(const struct target *tg, const char *path)
{
	char sites[512] = "";
	size_t o = 0;

	for (int i = 0; i < tg->plan.n && o < sizeof(sites) - 80; i++)
		o += (size_t)snprintf(sites + o, sizeof(sites) - o, "%s%s%s", i ? ", " : "",
				      tg->plan.sites[i].desc,
				      tg->plan.sites[i].emulated ? "" : " (single-stepped)");
	tg_info("TLS probes on %s: %s", path, sites);
}

/*
 * Examine the file at @open_path (an absolute path valid now). @ns_path is its path in its
 * own mount namespace (NULL for an executable seen through /proc/PID/exe). Returns the
 * target (possibly a negative one) or NULL on error. Only what the file itself says is
 * cached: a plan, "no TLS API", or -ENOEXEC (not a 64-bit x86-64 ELF file); a failure to
 * read it (ENOENT, EMFILE, ENOMEM, EACCES ...) may pass, so the file is examined again
 * next time it is seen.
 */
static struct target *target_get(struct tls_probes *t, const char *open_path, const char *ns_path,
				 int is_lib)
{
	struct file_key k;
	struct target *tg;
	struct elf_file *e;
	struct stat st, hs;
	int err;

	if (stat(open_path, &st) != 0 || !S_ISREG(st.st_mode))
		return NULL;
	k.dev = st.st_dev;
	k.ino = st.st_ino;
	if ((tg = target_find(t, k)))
		return tg;
	targets_trim(t);
	tg = calloc(1, sizeof(*tg));
	if (!tg)
		return NULL;
	err = elf_open(open_path, &e);
	if (err == 0) {
		err = probe_plan(e, &tg->plan);
		elf_close(e);
	}
	if (err && err != -ENOEXEC) {
		tg_debug("examine %s: %s (not cached)", open_path, strerror(-err));
		free(tg);
		return NULL;
	}
	tg->key = k;
	tg->is_lib = is_lib;
	if (ns_path) {
		tg->ns_path = strdup(ns_path);
		if (!tg->ns_path) {
			free(tg);
			return NULL;
		}
		tg->host_visible = stat(ns_path, &hs) == 0 && hs.st_dev == st.st_dev &&
				   hs.st_ino == st.st_ino;
	}
	t->st.files++;
	if (tg->plan.source) {
		t->st.tls_files++;
		for (int i = 0; i < tg->plan.n; i++)
			t->st.stepped_sites += !tg->plan.sites[i].emulated;
		log_plan(tg, tg->host_visible ? tg->ns_path : open_path);
	}
	HASH_ADD(hh, t->targets, key, sizeof(tg->key), tg);
	return tg;
}

/* Host-wide: attach a TLS target for every process, once. */
static void target_attach_global(struct tls_probes *t, struct target *tg, const char *path)
{
	if (t->o.scoped || !tg->plan.source || tg->nfds)
		return;
	attach_plan(t, tg, path, 0, &tg->fds, &tg->nfds);
}

/* ---- processes ---- */

static struct pid_ent *pid_get(struct tls_probes *t, uint32_t pid, int create)
{
	struct pid_ent *p;

	HASH_FIND(hh, t->pids, &pid, sizeof(pid), p);
	if (p || !create)
		return p;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	HASH_ADD(hh, t->pids, pid, sizeof(p->pid), p);
	t->st.pids++;
	return p;
}

static void pid_drop(struct tls_probes *t, struct pid_ent *p)
{
	drop_links(t, p->fds, p->nfds);
	free(p->done);
	HASH_DEL(t->pids, p);
	t->st.pids--;
	free(p);
}

static int pid_has(const struct pid_ent *p, struct file_key k)
{
	for (int i = 0; i < p->ndone; i++)
		if (p->done[i].dev == k.dev && p->done[i].ino == k.ino)
			return 1;
	return 0;
}

/* Scoped: attach @tg for process @pid through @path, with RCU grace periods expedited
 * (every path here: exec, the post-exec rescans of a process's maps, reconciles). */
static void pid_attach(struct tls_probes *t, struct pid_ent *p, struct target *tg, const char *path)
{
	struct file_key *d;

	if (!tg->plan.source || pid_has(p, tg->key))
		return;
	d = realloc(p->done, sizeof(*d) * (size_t)(p->ndone + 1));
	if (!d)
		return;
	p->done = d;
	p->done[p->ndone++] = tg->key;
	expedite(t, 1);
	attach_plan(t, tg, path, (int)p->pid, &p->fds, &p->nfds);
	expedite(t, 0);
}

/* Is @path the file @tg was planned for (same st_dev and st_ino)? A path names another
 * file after a package upgrade replaced it: its plan's offsets do not apply there. */
static int same_file(const struct target *tg, const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && st.st_dev == tg->key.dev && st.st_ino == tg->key.ino;
}

/* The path through which process @pid reaches library @tg: its host path while that is
 * still the same file, else the path in the process's mount namespace. Returns 0, or
 * -ENOENT when neither names the file @tg was planned for (it was replaced). */
static int lib_path_for(const struct target *tg, uint32_t pid, char *out, size_t n)
{
	if (!tg->ns_path)
		return -ENOENT;
	if (tg->host_visible) {
		snprintf(out, n, "%s", tg->ns_path);
		if (same_file(tg, out))
			return 0;
	}
	snprintf(out, n, "/proc/%u/root%s", pid, tg->ns_path);
	return same_file(tg, out) ? 0 : -ENOENT;
}

/* Scoped: give process @pid every known TLS library. */
static void pid_attach_libs(struct tls_probes *t, struct pid_ent *p)
{
	char path[PATH_MAX + 32];
	struct target *tg, *tmp;

	HASH_ITER(hh, t->targets, tg, tmp) {
		if (!tg->is_lib || !tg->plan.source || pid_has(p, tg->key))
			continue;
		if (lib_path_for(tg, p->pid, path, sizeof(path)) == 0)
			pid_attach(t, p, tg, path);
	}
}

/* Look at /proc/PID/exe: a TLS executable gets probes (globally or for this pid). */
static void examine_exe(struct tls_probes *t, uint32_t pid, struct pid_ent *p)
{
	char path[64];
	struct target *tg;

	snprintf(path, sizeof(path), "/proc/%u/exe", pid);
	tg = target_get(t, path, NULL, 0);
	if (!tg || !tg->plan.source)
		return;
	target_attach_global(t, tg, path);
	if (p)
		pid_attach(t, p, tg, path);
}

static int is_tls_lib_name(const char *base)
{
	return strncmp(base, "libssl.so", 9) == 0 || strncmp(base, "libgnutls.so", 12) == 0;
}

/* Read /proc/PID/maps: TLS libraries mapped from paths not seen before. */
static void examine_maps(struct tls_probes *t, uint32_t pid, struct pid_ent *p)
{
	char mpath[64], line[PATH_MAX + 128], open_path[PATH_MAX + 32];
	FILE *f;

	snprintf(mpath, sizeof(mpath), "/proc/%u/maps", pid);
	f = fopen(mpath, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *path = strchr(line, '/');
		if (!path)
			continue;
		path[strcspn(path, "\n")] = 0;
		const char *base = strrchr(path, '/') + 1;
		if (!is_tls_lib_name(base) || strstr(path, " (deleted)"))
			continue;
		snprintf(open_path, sizeof(open_path), "/proc/%u/root%s", pid, path);
		struct target *tg = target_get(t, open_path, path, 1);
		if (!tg || !tg->plan.source)
			continue;
		target_attach_global(t, tg, tg->host_visible && same_file(tg, tg->ns_path)
						    ? tg->ns_path
						    : open_path);
		if (p)
			pid_attach(t, p, tg, open_path);
	}
	fclose(f);
}

static void schedule(struct tls_probes *t, uint32_t pid, uint64_t due)
{
	if (t->nsched >= MAX_SCHEDULED) {
		t->st.rescans_dropped++;
		return;
	}
	t->sched[t->nsched++] = (struct sched){pid, due};
	if (!t->next_due || due < t->next_due)
		t->next_due = due;
}

/* ---- scoped mode: the processes of the watched cgroups ---- */

static struct tls_probes *walk_t; /* nftw has no user pointer; one thread */

static void watch_pid(struct tls_probes *t, uint32_t pid, uint64_t now)
{
	struct pid_ent *p = pid_get(t, pid, 0);

	if (!p) {
		p = pid_get(t, pid, 1);
		if (!p)
			return;
		pid_attach_libs(t, p);
		examine_exe(t, pid, p);
		examine_maps(t, pid, p);
		schedule(t, pid, now + 1000000000ULL);
	}
	p->gen = t->gen;
}

static uint64_t walk_now;

static int walk_procs(const char *fpath, const struct stat *sb, int type, struct FTW *ftw)
{
	char path[PATH_MAX];
	unsigned pid;
	FILE *f;

	(void)sb;
	(void)ftw;
	if (type != FTW_D)
		return 0;
	snprintf(path, sizeof(path), "%s/cgroup.procs", fpath);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fscanf(f, "%u", &pid) == 1)
		watch_pid(walk_t, pid, walk_now);
	fclose(f);
	return 0;
}

static void reconcile_watched(struct tls_probes *t, uint64_t now)
{
	struct pid_ent *p, *tmp;

	t->gen++;
	walk_t = t;
	walk_now = now;
	for (int i = 0; i < t->o.nwatch; i++)
		nftw(t->o.watch_dirs[i], walk_procs, 16, FTW_PHYS | FTW_MOUNT);
	walk_t = NULL;
	HASH_ITER(hh, t->pids, p, tmp) {
		if (p->gen != t->gen)
			pid_drop(t, p); /* gone, or moved out of the watched cgroups */
	}
}

/* ---- host-wide mode ---- */

static void scan_all_procs(struct tls_probes *t)
{
	DIR *d = opendir("/proc");
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char *end;
		unsigned long pid = strtoul(de->d_name, &end, 10);
		if (*end || !pid || pid > UINT32_MAX)
			continue;
		examine_exe(t, (uint32_t)pid, NULL);
		examine_maps(t, (uint32_t)pid, NULL);
	}
	closedir(d);
}

static void scan_lib_dirs(struct tls_probes *t)
{
	const char *const *dirs = t->o.lib_dirs ? t->o.lib_dirs : std_lib_dirs;
	char path[PATH_MAX];

	for (int i = 0; dirs[i]; i++) {
		DIR *d = opendir(dirs[i]);
		struct dirent *de;
		if (!d)
			continue;
		while ((de = readdir(d))) {
			if (!is_tls_lib_name(de->d_name))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dirs[i], de->d_name);
			struct target *tg = target_get(t, path, path, 1);
			if (tg)
				target_attach_global(t, tg, path);
		}
		closedir(d);
	}
	for (int i = 0; known_bins[i]; i++) {
		struct target *tg = target_get(t, known_bins[i], known_bins[i], 0);
		if (tg)
			target_attach_global(t, tg, known_bins[i]);
	}
}

/* ---- API ---- */

struct tls_probes *tls_probes_new(const struct tls_probe_opts *o)
{
	struct tls_probes *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->o = *o;
	if (t->o.max_files <= 0)
		t->o.max_files = TARGETS_MAX;
	t->expedite_fd = -1;
	/* closing links is slow (see reaper.h): scoped mode does it all the time, both modes
	 * at exit */
	t->reaper = reaper_new(8);
	if (o->scoped && o->expedite) {
		t->expedite_fd = open("/sys/kernel/rcu_expedited", O_RDWR | O_CLOEXEC);
		if (t->expedite_fd >= 0 && pread(t->expedite_fd, &t->expedite_saved, 1, 0) != 1) {
			close(t->expedite_fd);
			t->expedite_fd = -1;
		}
		if (t->expedite_fd < 0)
			tg_warn("cannot use /sys/kernel/rcu_expedited: per-process TLS probes may be "
				"attached too late for short-lived programs");
	}
	return t;
}

int tls_probes_start(struct tls_probes *t, uint64_t now)
{
	scan_lib_dirs(t);
	if (t->o.scoped) {
		reconcile_watched(t, now);
		t->next_rescan = now + RESCAN_SCOPED_NS;
	} else {
		scan_all_procs(t);
		t->next_rescan = now + RESCAN_HOST_NS;
	}
	return 0;
}

void tls_probes_exec(struct tls_probes *t, uint32_t pid, uint64_t kdev, uint64_t ino, uint64_t now)
{
	struct file_key k = {makedev((unsigned)(kdev >> 20), (unsigned)(kdev & 0xfffff)), ino};
	struct target *tg = target_find(t, k);
	struct pid_ent *p = NULL;

	tg_debug("exec: pid %u exe %llu:%llu", pid, (unsigned long long)kdev,
		 (unsigned long long)ino);
	if (t->o.scoped) {
		p = pid_get(t, pid, 1);
		if (!p)
			return;
		p->gen = t->gen;
		pid_attach_libs(t, p);
	}
	/* a known file answers from the cache; an unknown one is examined through the
	 * process (its path may live in another mount namespace) */
	if (!tg || tg->plan.source)
		examine_exe(t, pid, p);
	/* libraries are mapped after exec: look again once the loader is done */
	schedule(t, pid, now + 150000000ULL);
	schedule(t, pid, now + 1500000000ULL);
}

void tls_probes_exit(struct tls_probes *t, uint32_t pid)
{
	struct pid_ent *p = pid_get(t, pid, 0);

	if (p)
		pid_drop(t, p);
}

uint64_t tls_probes_next_due(const struct tls_probes *t)
{
	return t->next_due;
}

void tls_probes_run_due(struct tls_probes *t, uint64_t now)
{
	uint64_t next = 0;
	int i = 0;

	if (!t->next_due || now < t->next_due)
		return;
	while (i < t->nsched) {
		if (t->sched[i].due > now) {
			if (!next || t->sched[i].due < next)
				next = t->sched[i].due;
			i++;
			continue;
		}
		uint32_t pid = t->sched[i].pid;
		t->sched[i] = t->sched[--t->nsched];
		struct pid_ent *p = t->o.scoped ? pid_get(t, pid, 0) : NULL;
		if (!t->o.scoped || p)
			examine_maps(t, pid, p);
	}
	t->next_due = next;
}

void tls_probes_tick(struct tls_probes *t, uint64_t now)
{
	tls_probes_run_due(t, now);
	if (now >= t->next_rescan) {
		if (t->o.scoped) {
			reconcile_watched(t, now);
			t->next_rescan = now + RESCAN_SCOPED_NS;
		} else {
			scan_all_procs(t);
			t->next_rescan = now + RESCAN_HOST_NS;
		}
	}
}

const struct tls_probe_stats *tls_probes_stats(const struct tls_probes *t)
{
	struct tls_probes *m = (struct tls_probes *)t;

	m->st.closing = reaper_pending(t->reaper);
	m->st.files_cached = HASH_COUNT(t->targets);
	return &t->st;
}

void tls_probes_free(struct tls_probes *t)
{
	struct target *tg, *ttmp;
	struct pid_ent *p, *ptmp;

	if (!t)
		return;
	HASH_ITER(hh, t->pids, p, ptmp)
		pid_drop(t, p);
	HASH_ITER(hh, t->targets, tg, ttmp) {
		drop_links(t, tg->fds, tg->nfds);
		HASH_DEL(t->targets, tg);
		target_free(tg);
	}
	reaper_free(t->reaper); /* closes what is queued, in parallel */
	if (t->expedite_fd >= 0) {
		expedite(t, 0);
		close(t->expedite_fd);
	}
	free(t);
}
