/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * uprobe_link.h - attach the TLS entry and return programs to the planned sites of one
 * binary, for one process or for all.
 *
 * Kernels >= 6.6 get uprobe_multi links: one link per program and binary, carrying every
 * site with its bpf cookie. That matters for cost, measured on this kernel: releasing a
 * uprobe link waits for RCU grace periods (~46 ms per uprobe_multi link, ~100 ms per
 * perf-event uprobe, the latter serialized on a kernel mutex), so fewer links per process
 * means cheaper teardown. Older kernels get one perf-event uprobe per site (libbpf).
 *
 * Links come back as plain file descriptors: closing one detaches it (reaper.h closes them
 * off the event loop).
 */
#ifndef TG_UPROBE_LINK_H
#define TG_UPROBE_LINK_H

#include "probe_site.h"

struct bpf_program;

struct uprobe_progs {
	struct bpf_program *enter; /* tg_tls_enter */
	struct bpf_program *exit;  /* tg_tls_exit */
	int multi_type;            /* BPF_TRACE_UPROBE_MULTI's value; 0: not supported */
};

/* The kernel's value of BPF_TRACE_UPROBE_MULTI, read from its BTF; 0 when it has none. */
int uprobe_multi_attach_type(void);

/*
 * ulink_attach - attach every site of @plan in the file at @path.
 * @pid: the process to probe, or 0 for every process.
 * Stores the link fds in @fds (room for @max) and returns how many; failures are logged
 * with the site, the file and the pid, and counted in *@errors, except ESRCH for a @pid
 * that has exited meanwhile (a short-lived process: nothing to probe, nothing lost).
 */
int ulink_attach(const struct uprobe_progs *p, const char *path, const struct probe_plan *plan,
		 int pid, int *fds, int max, unsigned long long *errors);

#define ULINK_MAX_PER_PLAN (2 * PROBE_MAX_SITES)

#endif
