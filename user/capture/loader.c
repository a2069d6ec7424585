// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * loader.c - BPF object lifecycle. See loader.h.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loader.h"
#include "log.h"
#include "tollgate.skel.h"
#include "uprobe_link.h"
#include "enforce.h"

static const char *const hook_names[HOOK_MAX] = {
	[HOOK_CONNECT] = "connect", [HOOK_SENDMSG] = "sendmsg",
	[HOOK_SOCK_RELEASE] = "sock_release", [HOOK_SKB] = "skb",
	[HOOK_TLS] = "tls", [HOOK_EXEC] = "exec",
};

const char *hook_name(int hook)
{
	return (hook >= 0 && hook < HOOK_MAX) ? hook_names[hook] : "?";
}

int hook_from_name(const char *name)
{
	for (int h = 0; h < HOOK_MAX; h++)
		if (strcmp(hook_names[h], name) == 0)
			return h;
	return -1;
}

/* hook_progs() fills at most this many; l->links holds every cgroup program on every
 * cgroup plus the raw_tps (LOADER_MAX_LINKS, derived from the same counts). */
#define HOOK_MAX_PROGS 4
_Static_assert(LOADER_PROGS_CONNECT <= HOOK_MAX_PROGS && LOADER_PROGS_SENDMSG <= HOOK_MAX_PROGS &&
		       LOADER_PROGS_SOCK_RELEASE <= HOOK_MAX_PROGS &&
		       LOADER_PROGS_SKB <= HOOK_MAX_PROGS && LOADER_PROGS_TLS <= HOOK_MAX_PROGS &&
		       LOADER_PROGS_EXEC <= HOOK_MAX_PROGS,
	       "hook_progs() output array too small");
_Static_assert(sizeof(((struct loader *)0)->links) / sizeof(struct bpf_link *) >=
		       LOADER_CGROUP_PROGS * LOADER_MAX_CGROUPS + LOADER_PROGS_EXEC,
	       "loader links array too small for LOADER_MAX_CGROUPS cgroups");

/* The programs of each hook, and the program type the kernel must support for it. */
static int hook_progs(struct tollgate_bpf *s, int hook, struct bpf_program **p)
{
	switch (hook) {
	case HOOK_CONNECT:
		p[0] = s->progs.tg_connect4, p[1] = s->progs.tg_connect6;
		return LOADER_PROGS_CONNECT;
	case HOOK_SENDMSG:
		p[0] = s->progs.tg_sendmsg4, p[1] = s->progs.tg_sendmsg6;
		return LOADER_PROGS_SENDMSG;
	case HOOK_SOCK_RELEASE:
		p[0] = s->progs.tg_sock_release;
		return LOADER_PROGS_SOCK_RELEASE;
	case HOOK_SKB:
		p[0] = s->progs.tg_skb_egress, p[1] = s->progs.tg_skb_ingress;
		return LOADER_PROGS_SKB;
	case HOOK_TLS:
		p[0] = s->progs.tg_tls_enter, p[1] = s->progs.tg_tls_exit;
		return LOADER_PROGS_TLS;
	case HOOK_EXEC:
		p[0] = s->progs.tg_exec, p[1] = s->progs.tg_exit;
		return LOADER_PROGS_EXEC;
	}
	return 0;
}

/* libbpf's own log only with -v: without it, failures are reported by us, with context,
 * in one line each (not as a libbpf dump). */
static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	return tg_verbose ? vfprintf(stderr, fmt, ap) : 0;
}

/* Own @link (destroyed by loader_close). Returns 0, or -E2BIG when l->links is full (the
 * link is destroyed: LOADER_MAX_LINKS is sized so that this cannot happen). */
static int push(struct loader *l, struct bpf_link *link)
{
	if (l->nlinks >= (int)(sizeof(l->links) / sizeof(l->links[0]))) {
		bpf_link__destroy(link);
		return -E2BIG;
	}
	l->links[l->nlinks++] = link;
	return 0;
}

static void disable_hook(struct loader *l, int hook, const char *why)
{
	struct bpf_program *p[HOOK_MAX_PROGS];
	int n = hook_progs(l->skel, hook, p);

	for (int i = 0; i < n; i++)
		bpf_program__set_autoload(p[i], false);
	l->hooks_failed |= 1u << hook;
	if (why)
		tg_warn("hook %s disabled: %s", hook_name(hook), why);
}

/* Probe the kernel for each hook's program type; disable what it lacks. */
static void probe_hooks(struct loader *l, unsigned disabled)
{
	static const enum bpf_prog_type need[HOOK_MAX] = {
		[HOOK_CONNECT] = BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
		[HOOK_SENDMSG] = BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
		[HOOK_SOCK_RELEASE] = BPF_PROG_TYPE_CGROUP_SOCK,
		[HOOK_SKB] = BPF_PROG_TYPE_CGROUP_SKB,
		[HOOK_TLS] = BPF_PROG_TYPE_KPROBE,
		[HOOK_EXEC] = BPF_PROG_TYPE_RAW_TRACEPOINT,
	};
	for (int h = 0; h < HOOK_MAX; h++) {
		if (disabled & (1u << h)) {
			disable_hook(l, h, "disabled by --disable-hook");
			continue;
		}
		int r = libbpf_probe_bpf_prog_type(need[h], NULL);
		if (r <= 0)
			disable_hook(l, h, r == 0 ? "the kernel does not support its program type"
						  : "probing its program type failed");
	}
}

static void attach_cgroup_hook(struct loader *l, const struct loader_opts *o, int hook)
{
	struct bpf_program *p[HOOK_MAX_PROGS];
	int n = hook_progs(l->skel, hook, p), ok = 1, err;
	int ndirs = o->ncgroups ? o->ncgroups : 1;

	if (l->hooks_failed & (1u << hook))
		return;
	for (int d = 0; d < ndirs; d++) {
		const char *dir = o->ncgroups ? o->cgroup_dirs[d] : o->cgroup_root;
		int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0) {
			tg_warn("open cgroup %s: %s", dir, strerror(errno));
			ok = 0;
			continue;
		}
		for (int i = 0; i < n; i++) {
			struct bpf_link *link = bpf_program__attach_cgroup(p[i], fd);
			if (!link) {
				tg_warn("attach %s to cgroup %s: %s", bpf_program__name(p[i]), dir,
					strerror(errno));
				ok = 0;
				continue;
			}
			if ((err = push(l, link))) {
				tg_err("attach %s to cgroup %s: %s (more than %d links)",
				       bpf_program__name(p[i]), dir, strerror(-err), LOADER_MAX_LINKS);
				ok = 0;
			}
		}
		close(fd);
	}
	if (ok)
		l->hooks_up |= 1u << hook;
	else
		l->hooks_failed |= 1u << hook;
}

int loader_open(struct loader *l, const struct loader_opts *o)
{
	struct tollgate_bpf *s;
	int err;

	memset(l, 0, sizeof(*l));
	libbpf_set_print(libbpf_log);
	s = tollgate_bpf__open();
	if (!s) {
		err = -errno;
		tg_err("open BPF object: %s", strerror(-err));
		return err;
	}
	l->skel = s;

	s->rodata->capture_bytes = o->capture_bytes;
	s->rodata->scope_all = o->ncgroups == 0;
	s->rodata->empty_tls_probes = o->empty_tls_probes ? 1 : 0;
	for (int i = 0; i < o->ncgroups; i++)
		s->rodata->watch_level_mask |= 1u << o->cgroup_levels[i];
	/* wake the reader at a quarter full at most (it also drains every RUN_DRAIN_MS) */
	uint32_t rb = o->ringbuf_bytes ? o->ringbuf_bytes : bpf_map__max_entries(s->maps.events);
	s->rodata->ringbuf_wakeup_bytes = rb / 4 < 65536 ? rb / 4 : 65536;
	if (o->ringbuf_bytes && (err = bpf_map__set_max_entries(s->maps.events, o->ringbuf_bytes))) {
		tg_err("ring buffer size %u: %s", o->ringbuf_bytes, strerror(-err));
		goto fail;
	}
	probe_hooks(l, o->disabled_hooks);
	l->uprobe_multi = uprobe_multi_attach_type();
	if (l->uprobe_multi) {
		bpf_program__set_expected_attach_type(s->progs.tg_tls_enter, l->uprobe_multi);
		bpf_program__set_expected_attach_type(s->progs.tg_tls_exit, l->uprobe_multi);
	} else {
		tg_info("the kernel has no uprobe_multi links: one perf-event uprobe per TLS site");
	}
	if (o->ncgroups == 0 && !(l->hooks_failed & (1u << HOOK_EXEC)))
		bpf_program__set_autoload(s->progs.tg_exit, false); /* only scoped mode needs it */

	err = tollgate_bpf__load(s);
	if (err) {
		tg_err("load BPF programs: %s%s", strerror(-err),
		       tg_verbose ? "" : " (run with -v for the kernel verifier's log)");
		goto fail;
	}

	for (int i = 0; i < o->ncgroups; i++) {
		__u8 one = 1;
		if (bpf_map_update_elem(bpf_map__fd(s->maps.watched_cgroups), &o->cgroup_ids[i], &one,
					BPF_ANY)) {
			err = -errno;
			tg_err("watch cgroup %s: %s", o->cgroup_dirs[i], strerror(errno));
			goto fail;
		}
	}

	attach_cgroup_hook(l, o, HOOK_CONNECT);
	attach_cgroup_hook(l, o, HOOK_SENDMSG);
	attach_cgroup_hook(l, o, HOOK_SOCK_RELEASE);
	attach_cgroup_hook(l, o, HOOK_SKB);
	if (!(l->hooks_failed & (1u << HOOK_EXEC))) {
		struct bpf_link *link = bpf_program__attach(s->progs.tg_exec);
		err = link ? push(l, link) : -errno;
		if (!err) {
			l->hooks_up |= 1u << HOOK_EXEC;
		} else {
			tg_warn("attach raw_tp/sched_process_exec: %s", strerror(-err));
			l->hooks_failed |= 1u << HOOK_EXEC;
		}
		if (!err && o->ncgroups) {
			link = bpf_program__attach(s->progs.tg_exit);
			err = link ? push(l, link) : -errno;
			if (err)
				tg_warn("attach raw_tp/sched_process_exit: %s", strerror(-err));
		}
	}
	if (!(l->hooks_failed & (1u << HOOK_TLS)))
		l->hooks_up |= 1u << HOOK_TLS; /* attached per library by tls_probe.c */
	if (!l->hooks_up) {
		tg_err("no hook could be attached");
		err = -ENODEV;
		goto fail;
	}
	return 0;
fail:
	loader_close(l);
	return err;
}

void loader_close(struct loader *l)
{
	for (int i = l->nlinks - 1; i >= 0; i--)
		bpf_link__destroy(l->links[i]);
	l->nlinks = 0;
	tollgate_bpf__destroy(l->skel);
	l->skel = NULL;
}

int loader_counters(struct loader *l, uint64_t out[TG_CNT_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals;

	if (ncpu <= 0)
		return -EINVAL;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (uint32_t k = 0; k < TG_CNT_MAX; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(bpf_map__fd(l->skel->maps.counters), &k, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			out[k] += vals[c];
	}
	free(vals);
	return 0;
}

void loader_tls_programs(struct loader *l, struct uprobe_progs *p)
{
	p->enter = l->skel->progs.tg_tls_enter;
	p->exit = l->skel->progs.tg_tls_exit;
	p->multi_type = l->uprobe_multi;
}

void loader_enforce_env(struct loader *l, struct enforce_env *env)
{
	struct tollgate_bpf *s = l->skel;

	env->verdicts_fd = bpf_map__fd(s->maps.verdicts);
	env->holds_fd = bpf_map__fd(s->maps.holds);
	env->net_port_fd = bpf_map__fd(s->maps.net_port);
	env->net_any_fd = bpf_map__fd(s->maps.net_any);
	env->verdict_count = &s->bss->verdict_count;
	env->verdict_level_mask = &s->bss->verdict_level_mask;
	env->net_rule_count = &s->bss->net_rule_count;
	env->net_level_mask = &s->bss->net_level_mask;
}

void loader_foreach_prog(struct loader *l, loader_prog_fn fn, void *ctx)
{
	struct bpf_program *p;

	bpf_object__for_each_program(p, l->skel->obj) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(p);

		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		fn(ctx, bpf_program__name(p), info.run_cnt, info.run_time_ns);
	}
}

int loader_events_fd(struct loader *l)
{
	return bpf_map__fd(l->skel->maps.events);
}

int loader_udp_fd(struct loader *l)
{
	return bpf_map__fd(l->skel->maps.udp_sends);
}

int loader_tls_reads_fd(struct loader *l)
{
	return bpf_map__fd(l->skel->maps.tls_reads);
}

int loader_traffic_fd(struct loader *l)
{
	return bpf_map__fd(l->skel->maps.cgroup_traffic);
}
