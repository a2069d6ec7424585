// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * uprobe_link.c - uprobe_multi and perf-event uprobe attachment. See uprobe_link.h.
 */
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "tollgate_abi.h"
#include "uprobe_link.h"

int uprobe_multi_attach_type(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	int value = 0;

	if (!btf)
		return 0;
	int id = btf__find_by_name_kind(btf, "bpf_attach_type", BTF_KIND_ENUM);
	const struct btf_type *t = id > 0 ? btf__type_by_id(btf, id) : NULL;
	if (t) {
		const struct btf_enum *e = btf_enum(t);
		for (int i = 0; i < btf_vlen(t); i++, e++)
			if (!strcmp(btf__name_by_offset(btf, e->name_off), "BPF_TRACE_UPROBE_MULTI"))
				value = (int)e->val;
	}
	btf__free(btf);
	return value;
}

/* BPF_LINK_CREATE attributes for uprobe_multi (kernel 6.6 uapi; libbpf 1.1's headers
 * predate it). The layout is the kernel's union bpf_attr link_create member. */
struct link_create_umulti {
	uint32_t prog_fd;
	uint32_t target_fd;
	uint32_t attach_type;
	uint32_t flags;
	uint64_t path;
	uint64_t offsets;
	uint64_t ref_ctr_offsets;
	uint64_t cookies;
	uint32_t cnt;
	uint32_t umflags; /* BPF_F_UPROBE_MULTI_RETURN */
	uint32_t pid;
	uint32_t pad;
};

static int multi_link(const struct uprobe_progs *p, struct bpf_program *prog, int ret,
		      const char *path, const uint64_t *offs, const uint64_t *cookies, int n,
		      int pid)
{
	struct link_create_umulti a;
	int fd;

	memset(&a, 0, sizeof(a));
	a.prog_fd = (uint32_t)bpf_program__fd(prog);
	a.attach_type = (uint32_t)p->multi_type;
	a.path = (uint64_t)(uintptr_t)path;
	a.offsets = (uint64_t)(uintptr_t)offs;
	a.cookies = (uint64_t)(uintptr_t)cookies;
	a.cnt = (uint32_t)n;
	a.umflags = ret ? 1 : 0;
	a.pid = pid > 0 ? (uint32_t)pid : 0;
	fd = (int)syscall(__NR_bpf, BPF_LINK_CREATE, &a, sizeof(a));
	return fd < 0 ? -errno : fd;
}

static int perf_link(struct bpf_program *prog, int ret, const char *path,
		     const struct probe_site *s, int pid)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .bpf_cookie = s->cookie, .retprobe = ret);
	struct bpf_link *l = bpf_program__attach_uprobe_opts(prog, pid > 0 ? pid : -1, path,
							     s->offset, &uo);
	int fd;

	if (!l)
		return -errno;
	/* keep the fd, let go of libbpf's bookkeeping: the caller owns the link now (dup()
	 * would drop O_CLOEXEC and leak the link into children) */
	fd = fcntl(bpf_link__fd(l), F_DUPFD_CLOEXEC, 0);
	bpf_link__destroy(l);
	return fd < 0 ? -errno : fd;
}

static void report(const char *what, const char *path, int pid, int err,
		   unsigned long long *errors)
{
	if (pid > 0 && err == -ESRCH) { /* it exited first: nothing left to probe */
		tg_debug("attach %s to %s (pid %d): the process has exited", what, path, pid);
		return;
	}
	(*errors)++;
	tg_warn("attach %s to %s (%s%d): %s", what, path, pid > 0 ? "pid " : "all processes ",
		pid > 0 ? pid : 0, strerror(-err));
}

int ulink_attach(const struct uprobe_progs *p, const char *path, const struct probe_plan *plan,
		 int pid, int *fds, int max, unsigned long long *errors)
{
	uint64_t offs[PROBE_MAX_SITES], cks[PROBE_MAX_SITES], roffs[PROBE_MAX_SITES],
		rcks[PROBE_MAX_SITES];
	int n = 0, nr = 0, got = 0, fd;

	for (int i = 0; i < plan->n; i++) {
		const struct probe_site *s = &plan->sites[i];
		uint64_t ck = s->cookie | (s->role == PROBE_READ ? TG_TLS_READ : 0);
		offs[n] = s->offset, cks[n++] = ck;
		if (s->role == PROBE_READ)
			roffs[nr] = s->offset, rcks[nr++] = ck;
	}
	if (p->multi_type) {
		if (n && got < max) {
			fd = multi_link(p, p->enter, 0, path, offs, cks, n, pid);
			if (fd >= 0)
				fds[got++] = fd;
			else
				report("TLS entry probes", path, pid, fd, errors);
		}
		if (nr && got < max) {
			fd = multi_link(p, p->exit, 1, path, roffs, rcks, nr, pid);
			if (fd >= 0)
				fds[got++] = fd;
			else
				report("TLS return probes", path, pid, fd, errors);
		}
		return got;
	}
	for (int i = 0; i < plan->n && got < max; i++) {
		const struct probe_site *s = &plan->sites[i];
		struct probe_site site = *s;
		site.cookie |= s->role == PROBE_READ ? TG_TLS_READ : 0;
		fd = perf_link(p->enter, 0, path, &site, pid);
		if (fd >= 0)
			fds[got++] = fd;
		else
			report(s->desc, path, pid, fd, errors);
		if (s->role == PROBE_READ && got < max) {
			fd = perf_link(p->exit, 1, path, &site, pid);
			if (fd >= 0)
				fds[got++] = fd;
			else
				report(s->desc, path, pid, fd, errors);
		}
	}
	return got;
}
