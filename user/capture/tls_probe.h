/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * tls_probe.h - find the TLS libraries and executables on the host and attach the TLS
 * uprobes (bpf/tls.bpf.c) to them at the sites probe_site.c plans.
 *
 * In:  the standard library directories, /proc/PID/{exe,maps,root} of running processes,
 *      exec and exit records from bpf/proc.bpf.c.
 * Out: uprobe links. Host-wide mode attaches once per file for every process.
 *      Scoped mode (--cgroup) attaches per process of the watched cgroups only, so no other
 *      process on the host takes a breakpoint trap: the uprobe's pid filter keeps the
 *      breakpoint out of every other address space.
 *
 * Scoped mode races a new program's first TLS write: its probes must be in place within a
 * few ms of exec (curl's whole life is ~10 ms). Registering a uprobe takes the kernel's
 * dup_mmap_sem for writing, which waits for an RCU grace period: 7-20 ms here, ~0.3 ms
 * when grace periods are expedited. So, unless opts.expedite is 0, tollgate sets
 * /sys/kernel/rcu_expedited to 1 for the duration of each per-process attach (a
 * fraction of a millisecond) and restores the previous value right after.
 *
 * A file is identified by (st_dev, st_ino), so a library reached through several symlinks
 * or container roots is planned and attached once.
 */
#ifndef TG_TLS_PROBE_H
#define TG_TLS_PROBE_H

#include <stdint.h>

#include "uprobe_link.h"

struct tls_probe_opts {
	struct uprobe_progs progs;      /* tg_tls_enter, tg_tls_exit */
	int scoped;                     /* attach per process of the watched cgroups */
	int expedite;                   /* scoped: expedite RCU around per-process attaches */
	const char *const *watch_dirs;  /* scoped: absolute directories of watched cgroups */
	int nwatch;
	const char *const *lib_dirs;    /* NULL: the standard library directories */
	int max_files;                  /* files remembered; 0: 4,096 (see tls_probe.c) */
};

struct tls_probe_stats {
	uint64_t files;          /* files examined, ever */
	uint64_t files_cached;   /* of those, remembered now (at most opts.max_files, more
				  * only while host-wide links need them) */
	uint64_t files_forgotten; /* forgotten again, least recently seen first */
	uint64_t tls_files;      /* of those, files that define a TLS API */
	uint64_t links;          /* uprobe links attached now */
	uint64_t closing;        /* links detached, release in progress */
	uint64_t attach_errors;  /* failed attachments, ever */
	uint64_t stepped_sites;  /* planned sites whose instruction is single-stepped */
	uint64_t pids;           /* scoped: processes with probes */
	uint64_t rescans_dropped; /* post-exec rescans not scheduled: the queue was full */
};

struct tls_probes;

struct tls_probes *tls_probes_new(const struct tls_probe_opts *o);
void tls_probes_free(struct tls_probes *t);

/* Discover libraries, executables and (scoped) watched processes, and attach. Returns 0
 * (individual attach failures are logged and counted, not fatal). */
int tls_probes_start(struct tls_probes *t, uint64_t now_ns);

/*
 * A process executed a program (TG_EV_EXEC). @exe_dev is the kernel's encoding
 * (MAJOR << 20 | MINOR). Attaches what the new program needs before it gets far: its own
 * executable when it defines a TLS API, and in scoped mode every known TLS library for
 * this process (breakpoints go in when the library is mapped later). Schedules rescans of
 * the process's mappings for libraries from unusual paths.
 */
void tls_probes_exec(struct tls_probes *t, uint32_t pid, uint64_t exe_dev, uint64_t exe_ino,
		     uint64_t now_ns);

/* A watched process ended (TG_EV_EXIT, scoped mode): drop its probes. */
void tls_probes_exit(struct tls_probes *t, uint32_t pid);

/* Due rescans; scoped mode also reconciles the set of watched processes (the 1 s tick). */
void tls_probes_tick(struct tls_probes *t, uint64_t now_ns);

/*
 * The post-exec rescans of a process's mappings (150 ms and 1.5 s after its exec, for TLS
 * libraries loaded from paths nobody examined yet, a container's among them) are due at
 * their time, not at the next tick: tls_probes_next_due() is the earliest (CLOCK_MONOTONIC
 * ns, 0: none) for the event loop's timeout, tls_probes_run_due() runs those due at
 * @now_ns (cheap when none is).
 */
uint64_t tls_probes_next_due(const struct tls_probes *t);
void tls_probes_run_due(struct tls_probes *t, uint64_t now_ns);

const struct tls_probe_stats *tls_probes_stats(const struct tls_probes *t);

#endif
