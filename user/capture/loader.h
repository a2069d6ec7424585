/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * loader.h - one load sequence for tollgate's BPF object: open -> settings (rodata,
 * autoload, ring buffer size) -> load -> fill maps -> attach the cgroup and raw_tp hooks;
 * and one cleanup path in reverse order.
 *
 * Every attachment is a bpf_link owned by this process: nothing is pinned, so when
 * tollgate exits - cleanly or by SIGKILL - the kernel detaches everything (fail open).
 * Cgroup links attach in the kernel's multi-attach mode, so other programs on the same
 * cgroups keep running (the link API implies BPF_F_ALLOW_MULTI).
 */
#ifndef TG_LOADER_H
#define TG_LOADER_H

#include <stdint.h>

#include "tollgate_abi.h"

enum tg_hook {
	HOOK_CONNECT,      /* cgroup/connect4, cgroup/connect6 */
	HOOK_SENDMSG,      /* cgroup/sendmsg4, cgroup/sendmsg6 */
	HOOK_SOCK_RELEASE, /* cgroup/sock_release */
	HOOK_SKB,          /* cgroup_skb/egress, cgroup_skb/ingress */
	HOOK_TLS,          /* uprobes on TLS libraries (attached by tls_probe.c) */
	HOOK_EXEC,         /* raw_tp/sched_process_exec, raw_tp/sched_process_exit */
	HOOK_MAX,
};

#define LOADER_MAX_CGROUPS 64

/* Programs per hook (hook_progs() in loader.c fills exactly these). */
#define LOADER_PROGS_CONNECT 2      /* connect4, connect6 */
#define LOADER_PROGS_SENDMSG 2      /* sendmsg4, sendmsg6 */
#define LOADER_PROGS_SOCK_RELEASE 1 /* sock_release */
#define LOADER_PROGS_SKB 2          /* egress, ingress */
#define LOADER_PROGS_TLS 2          /* uprobe entry, return (links owned by tls_probe.c) */
#define LOADER_PROGS_EXEC 2         /* raw_tp sched_process_exec, sched_process_exit */
/* Links per attached cgroup, and links loader_open() can own in all: one per cgroup
 * program and cgroup (the cgroup2 root counts as one in host-wide mode), plus raw_tps. */
#define LOADER_CGROUP_PROGS                                                                \
	(LOADER_PROGS_CONNECT + LOADER_PROGS_SENDMSG + LOADER_PROGS_SOCK_RELEASE +         \
	 LOADER_PROGS_SKB)
#define LOADER_MAX_LINKS (LOADER_CGROUP_PROGS * LOADER_MAX_CGROUPS + LOADER_PROGS_EXEC)

struct loader_opts {
	int ncgroups;                               /* 0: the cgroup2 root, host-wide */
	const char *cgroup_dirs[LOADER_MAX_CGROUPS]; /* absolute directories to attach to */
	uint64_t cgroup_ids[LOADER_MAX_CGROUPS];
	int cgroup_levels[LOADER_MAX_CGROUPS];
	const char *cgroup_root;                    /* the cgroup2 mount */
	uint32_t capture_bytes;                     /* [TG_CAP_MIN, TG_CAP_MAX] */
	uint32_t ringbuf_bytes;                     /* power of two, >= page size */
	unsigned disabled_hooks;                    /* bit (1 << enum tg_hook): do not load */
	int empty_tls_probes;                       /* benchmark floor: TLS probes do nothing */
};

struct tollgate_bpf;
struct bpf_link;

struct loader {
	struct tollgate_bpf *skel;
	struct bpf_link *links[LOADER_MAX_LINKS];
	int nlinks;
	unsigned hooks_up;     /* bit per enum tg_hook that is loaded and attached */
	unsigned hooks_failed; /* bit per hook that could not be loaded or attached */
	int uprobe_multi;      /* BPF_TRACE_UPROBE_MULTI's value, 0 when unsupported */
};

const char *hook_name(int hook);
/* enum tg_hook for a name, -1 when unknown */
int hook_from_name(const char *name);

/* Returns 0 or a negative errno; the reason is logged. */
int loader_open(struct loader *l, const struct loader_opts *o);
void loader_close(struct loader *l);

/* Sum the per-CPU counters (enum tg_counter). Returns 0 or -errno. */
int loader_counters(struct loader *l, uint64_t out[TG_CNT_MAX]);

struct uprobe_progs;
/* The TLS uprobe programs, for tls_probe.c to attach. */
void loader_tls_programs(struct loader *l, struct uprobe_progs *p);

struct enforce_env;
/* Fill the map descriptors and .bss pointers enforce.c writes. */
void loader_enforce_env(struct loader *l, struct enforce_env *env);

/* Visit every loaded program with its kernel run statistics (run_time_ns and run_cnt are
 * counted only while kernel.bpf_stats_enabled is 1). */
typedef void (*loader_prog_fn)(void *ctx, const char *name, uint64_t run_cnt,
			       uint64_t run_time_ns);
void loader_foreach_prog(struct loader *l, loader_prog_fn fn, void *ctx);

/* File descriptors of maps user space reads. */
int loader_events_fd(struct loader *l);
int loader_udp_fd(struct loader *l);
int loader_tls_reads_fd(struct loader *l); /* TLS reads in flight (tls_reads.h) */
int loader_traffic_fd(struct loader *l);

#endif
