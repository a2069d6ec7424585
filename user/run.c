// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * run.c - `tollgate run`: load, attach, and drive the pipeline from one epoll loop.
 *
 *   ring buffer --> decode --> flow (connections, HTTP) --> observations --> JSON lines
 *        \--> exec/exit records --> tls_probe (attach uprobes to new programs)
 *   timerfd tick (1 s): kernel counters (drops), UDP send counts, idle responses, rescans
 *   signalfd: SIGINT/SIGTERM stop the loop; cleanup detaches everything.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <uthash.h>

#include "cgroup.h"
#include "cmd.h"
#include "decode.h"
#include "enforce.h"
#include "flow.h"
#include "loader.h"
#include "log.h"
#include "sink_jsonl.h"
#include "tls_probe.h"
#include "util.h"

#define TICK_NS 1000000000ULL

struct udp_seen {
	struct tg_udp_key key;
	UT_hash_handle hh;
	uint64_t count;
	uint64_t gen;
};

struct run {
	struct loader ld;
	struct enforcer *enf;
	struct tls_probes *tls;
	struct flow *flow;
	struct cgroup_cache *cg;
	struct jsonl_sink out;
	struct ring_buffer *rb;
	struct udp_seen *udp;
	uint64_t udp_gen;
	uint64_t kcnt[TG_CNT_MAX];   /* kernel counters already reported */
	uint64_t records;
	uint64_t decode_errors[DECODE_ERROR_MAX];
	uint64_t drops_reported;
	int64_t clock_off;
	int stop;
};

struct run_opts {
	char cgroup_args[LOADER_MAX_CGROUPS][PATH_MAX];
	int ncgroups;
	const char *json;
	uint64_t capture_bytes;
	uint64_t ringbuf_kb;
	unsigned disabled_hooks;
	int no_expedite;
	int dry_run;
	int bench_floor;
};

static void usage_run(FILE *f)
{
	fprintf(f,
		"Usage: tollgate run [OPTIONS]\n"
		"Capture outbound HTTP(S) request metadata per cgroup and write JSON lines.\n\n"
		"  --cgroup PATH        watch this cgroup and its descendants (repeatable); PATH is\n"
		"                       a directory under the cgroup2 mount or a path relative to\n"
		"                       it. Default: the whole host (the cgroup2 root)\n"
		"  --json FILE|-        write events to FILE (default -, standard output)\n"
		"  --capture-bytes N    bytes copied from each HTTP message head, %d..%d\n"
		"                       (default %d)\n"
		"  --ringbuf-kb N       ring buffer size in KiB, a power of two >= 4 (default 8192)\n"
		"  --disable-hook NAME  do not load hook NAME: connect, sendmsg, sock_release, skb,\n"
		"                       tls, exec (repeatable; to run on kernels that lack one)\n"
		"  --no-expedite        with --cgroup: do not expedite RCU grace periods while\n"
		"                       attaching TLS probes to a new process (see README)\n"
		"  --dry-run            monitor mode: compute and log every action, do nothing\n"
		"  --bench-floor        benchmark baseline: attach only the TLS probes, at the same\n"
		"                       sites, as programs that return at once\n"
		"  -v, --verbose        debug output, including libbpf's own log\n"
		"  -q, --quiet          only warnings and errors on stderr\n",
		TG_CAP_MIN, TG_CAP_MAX, TG_CAP_DEFAULT);
}

static int parse_run_opts(int argc, char **argv, struct run_opts *o)
{
	static const struct option lo[] = {
		{"cgroup", required_argument, 0, 'c'},
		{"json", required_argument, 0, 'j'},
		{"capture-bytes", required_argument, 0, 'b'},
		{"ringbuf-kb", required_argument, 0, 'r'},
		{"disable-hook", required_argument, 0, 'd'},
		{"no-expedite", no_argument, 0, 'E'},
		{"dry-run", no_argument, 0, 'n'},
		{"bench-floor", no_argument, 0, 'F'},
		{"verbose", no_argument, 0, 'v'},
		{"quiet", no_argument, 0, 'q'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	int c, h;

	memset(o, 0, sizeof(*o));
	o->json = "-";
	o->capture_bytes = TG_CAP_DEFAULT;
	o->ringbuf_kb = 8192;
	optind = 1;
	while ((c = getopt_long(argc, argv, "vqh", lo, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (o->ncgroups >= LOADER_MAX_CGROUPS) {
				tg_err("--cgroup: at most %d cgroups", LOADER_MAX_CGROUPS);
				return -EINVAL;
			}
			snprintf(o->cgroup_args[o->ncgroups++], PATH_MAX, "%s", optarg);
			break;
		case 'j':
			o->json = optarg;
			break;
		case 'b':
			if (parse_u64(optarg, TG_CAP_MIN, TG_CAP_MAX, &o->capture_bytes)) {
				tg_err("--capture-bytes %s: not a number in %d..%d", optarg, TG_CAP_MIN,
				       TG_CAP_MAX);
				return -EINVAL;
			}
			break;
		case 'r':
			if (parse_u64(optarg, 4, 1 << 20, &o->ringbuf_kb) ||
			    (o->ringbuf_kb & (o->ringbuf_kb - 1))) {
				tg_err("--ringbuf-kb %s: not a power of two in 4..1048576", optarg);
				return -EINVAL;
			}
			break;
		case 'd':
			h = hook_from_name(optarg);
			if (h < 0) {
				tg_err("--disable-hook %s: unknown hook (connect, sendmsg, sock_release, "
				       "skb, tls, exec)",
				       optarg);
				return -EINVAL;
			}
			o->disabled_hooks |= 1u << h;
			break;
		case 'E':
			o->no_expedite = 1;
			break;
		case 'n':
			o->dry_run = 1;
			break;
		case 'F':
			/* only the TLS probes, at the same sites, doing nothing */
			o->bench_floor = 1;
			o->disabled_hooks |= (1u << HOOK_CONNECT) | (1u << HOOK_SENDMSG) |
					     (1u << HOOK_SOCK_RELEASE) | (1u << HOOK_SKB);
			break;
		case 'v':
			tg_verbose = 1;
			break;
		case 'q':
			tg_quiet = 1;
			break;
		case 'h':
			usage_run(stdout);
			exit(0);
		default:
			usage_run(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		tg_err("run: unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

/* ---- pipeline callbacks ---- */

static const char *cg_path(void *ctx, uint64_t id)
{
	struct run *r = ctx;
	return cgcache_path(r->cg, id, now_mono_ns(), 200000000ULL);
}

static void on_obs(void *ctx, const struct tg_obs *o)
{
	struct run *r = ctx;

	if (r->enf)
		enforcer_obs(r->enf, o);
	jsonl_obs(&r->out, o);
}

static int on_sample(void *ctx, void *data, size_t size)
{
	struct run *r = ctx;
	struct tg_record rec;
	int err = tg_decode(data, size, &rec);

	r->records++;
	if (err) {
		r->decode_errors[-err]++;
		if (r->decode_errors[-err] == 1)
			tg_warn("dropping malformed ring buffer record: %s (counted)",
				decode_error_name(err));
		return 0;
	}
	switch (rec.type) {
	case TG_EV_EXEC:
		tg_debug("exec record for pid %u %.3f ms after the exec", rec.hdr->pid,
			 (double)(now_mono_ns() - rec.hdr->ts_ns) / 1e6);
		if (r->tls)
			tls_probes_exec(r->tls, rec.hdr->pid, rec.exec->exe_dev, rec.exec->exe_ino,
					now_mono_ns());
		break;
	case TG_EV_EXIT:
		if (r->tls)
			tls_probes_exit(r->tls, rec.hdr->pid);
		break;
	case TG_EV_BLOCKED:
		if (r->enf)
			enforcer_blocked(r->enf, rec.blocked, rec.hdr->ts_ns + (uint64_t)r->clock_off);
		break;
	default:
		flow_record(r->flow, &rec);
	}
	return 0;
}

/* ---- tick work ---- */

static void report_drops(struct run *r)
{
	uint64_t c[TG_CNT_MAX];
	struct tg_obs o;

	if (loader_counters(&r->ld, c))
		return;
	uint64_t lost = c[TG_CNT_RINGBUF_DROPS] - r->kcnt[TG_CNT_RINGBUF_DROPS];
	memcpy(r->kcnt, c, sizeof(c));
	if (!lost)
		return;
	memset(&o, 0, sizeof(o));
	o.type = OBS_DROPS;
	o.ts_ns = now_real_ns();
	o.count = lost;
	o.latency_ms = -1;
	o.retry_after_s = -1;
	r->drops_reported += lost;
	on_obs(r, &o);
}

static void report_udp(struct run *r)
{
	int fd = loader_udp_fd(&r->ld);
	struct tg_udp_key key, next;
	struct tg_udp_val v;
	struct udp_seen *s, *tmp;
	void *prev = NULL;

	r->udp_gen++;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &v))
			continue;
		HASH_FIND(hh, r->udp, &key, sizeof(key), s);
		if (!s) {
			s = calloc(1, sizeof(*s));
			if (!s)
				continue;
			s->key = key;
			HASH_ADD(hh, r->udp, key, sizeof(s->key), s);
		}
		s->gen = r->udp_gen;
		if (v.count <= s->count)
			continue;
		struct tg_obs o;
		memset(&o, 0, sizeof(o));
		o.type = OBS_UDP;
		o.ts_ns = v.last_ns + (uint64_t)r->clock_off;
		o.cgroup_id = key.cgroup_id;
		o.cgroup = cg_path(r, key.cgroup_id);
		o.pid = v.pid;
		o.tid = v.tid;
		memcpy(o.comm, v.comm, TG_COMM_LEN);
		o.has_addr = 1;
		o.family = key.addr.family;
		memcpy(o.daddr, key.addr.daddr, 16);
		o.dport = key.addr.dport;
		o.l4 = TG_IPPROTO_UDP;
		o.count = v.count - s->count;
		o.latency_ms = -1;
		o.retry_after_s = -1;
		s->count = v.count;
		on_obs(r, &o);
	}
	HASH_ITER(hh, r->udp, s, tmp) {
		if (s->gen != r->udp_gen) { /* evicted from the kernel's LRU map */
			HASH_DEL(r->udp, s);
			free(s);
		}
	}
}

static void tick(struct run *r)
{
	uint64_t now = now_mono_ns();

	r->clock_off = realtime_offset_ns();
	flow_set_clock(r->flow, r->clock_off);
	report_drops(r);
	report_udp(r);
	flow_tick(r->flow, now);
	if (r->tls)
		tls_probes_tick(r->tls, now);
	if (r->enf)
		enforcer_tick(r->enf, now, now_real_ns());
}

/* ---- setup ---- */

static int check_environment(void)
{
	if (geteuid() != 0) {
		tg_err("run needs root: loading BPF programs and attaching them to cgroups "
		       "requires CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN and CAP_SYS_ADMIN (try sudo)");
		return -EPERM;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		tg_err("this kernel has no BTF (/sys/kernel/btf/vmlinux): tollgate needs a kernel "
		       "built with CONFIG_DEBUG_INFO_BTF");
		return -ENOTSUP;
	}
	if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SOCKET_FILTER, NULL) <= 0) {
		tg_err("this kernel does not let tollgate load BPF programs (bpf() failed: %s)",
		       strerror(errno));
		return -ENOTSUP;
	}
	return 0;
}

static void summary(struct run *r)
{
	const struct flow_stats *fs = flow_stats(r->flow);
	uint64_t dec = 0;

	for (int i = 0; i < DECODE_ERROR_MAX; i++)
		dec += r->decode_errors[i];
	tg_info("stopped: %llu records, %llu http requests, %llu http responses, %llu h2 "
		"connections",
		(unsigned long long)r->records, (unsigned long long)fs->requests,
		(unsigned long long)fs->responses, (unsigned long long)fs->h2_prefaces);
	tg_info("lost: %llu ring buffer drops, %llu malformed records, %llu output lines; "
		"not reported: %llu unparsable HTTP heads, %llu non-HTTP TLS buffers",
		(unsigned long long)r->kcnt[TG_CNT_RINGBUF_DROPS], (unsigned long long)dec,
		(unsigned long long)r->out.lost_lines, (unsigned long long)fs->bad_heads,
		(unsigned long long)r->kcnt[TG_CNT_TLS_NON_HTTP]);
	if (r->tls) {
		const struct tls_probe_stats *ts = tls_probes_stats(r->tls);
		tg_info("tls: %llu files with a TLS API, %llu attach errors",
			(unsigned long long)ts->tls_files, (unsigned long long)ts->attach_errors);
	}
}

int cmd_run(int argc, char **argv)
{
	struct run_opts o;
	struct loader_opts lo;
	struct run *r;
	char root[PATH_MAX];
	static char absdirs[LOADER_MAX_CGROUPS][PATH_MAX];
	char rel[PATH_MAX];
	int err, efd = -1, sfd = -1, tfd = -1, ret = 1;
	sigset_t mask;

	if (parse_run_opts(argc, argv, &o))
		return 2;
	if (check_environment())
		return 2;
	err = cgroup2_mount("/proc/self/mounts", root, sizeof(root));
	if (err) {
		tg_err("no cgroup2 file system is mounted (looked in /proc/self/mounts): %s",
		       strerror(-err));
		return 2;
	}

	memset(&lo, 0, sizeof(lo));
	lo.cgroup_root = root;
	lo.capture_bytes = (uint32_t)o.capture_bytes;
	lo.ringbuf_bytes = (uint32_t)(o.ringbuf_kb * 1024);
	lo.disabled_hooks = o.disabled_hooks;
	lo.empty_tls_probes = o.bench_floor;
	for (int i = 0; i < o.ncgroups; i++) {
		err = cgroup_resolve(root, o.cgroup_args[i], absdirs[i], PATH_MAX, rel, sizeof(rel));
		if (err) {
			tg_err("--cgroup %s: %s", o.cgroup_args[i],
			       err == -ENOENT ? "no such cgroup under the cgroup2 mount" : strerror(-err));
			return 2;
		}
		lo.cgroup_dirs[i] = absdirs[i];
		lo.cgroup_ids[i] = cgroup_id_of(absdirs[i]);
		lo.cgroup_levels[i] = cgroup_level(rel);
		if (lo.cgroup_levels[i] >= TG_MAX_CGROUP_LEVEL) {
			tg_err("--cgroup %s: deeper than %d levels", o.cgroup_args[i],
			       TG_MAX_CGROUP_LEVEL - 1);
			return 2;
		}
	}
	lo.ncgroups = o.ncgroups;

	r = calloc(1, sizeof(*r));
	if (!r)
		return 1;
	r->clock_off = realtime_offset_ns();
	r->cg = cgcache_new(root);
	struct flow_config fc = {.emit = on_obs, .cgroup = cg_path, .ctx = r};
	r->flow = flow_new(&fc);
	if (!r->cg || !r->flow)
		goto out;
	flow_set_clock(r->flow, r->clock_off);
	err = jsonl_open(&r->out, o.json);
	if (err) {
		tg_err("--json %s: %s", o.json, strerror(-err));
		ret = 2;
		goto out;
	}

	/* block the signals before anything can fork or attach: they arrive via signalfd */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (loader_open(&r->ld, &lo)) {
		ret = 2;
		goto out;
	}
	{
		struct enforce_config ec;
		struct enforce_env env = {.cgroup_root = root, .cgroups = r->cg, .out = &r->out,
					  .state_dir = "/run/tollgate"};
		enforce_config_default(&ec);
		ec.monitor = o.dry_run;
		loader_enforce_env(&r->ld, &env);
		r->enf = enforcer_new(&ec, &env);
		if (!r->enf) {
			ret = 2;
			goto out;
		}
	}
	r->rb = ring_buffer__new(loader_events_fd(&r->ld), on_sample, r, NULL);
	if (!r->rb) {
		tg_err("ring buffer: %s", strerror(errno));
		goto out;
	}
	if (r->ld.hooks_up & (1u << HOOK_TLS)) {
		struct tls_probe_opts to = {.scoped = o.ncgroups > 0,
					    .expedite = !o.no_expedite,
					    .watch_dirs = (const char *const *)lo.cgroup_dirs,
					    .nwatch = o.ncgroups};
		loader_tls_programs(&r->ld, &to.progs);
		r->tls = tls_probes_new(&to);
		if (!r->tls || tls_probes_start(r->tls, now_mono_ns()))
			goto out;
	}

	efd = epoll_create1(EPOLL_CLOEXEC);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (efd < 0 || sfd < 0 || tfd < 0) {
		tg_err("epoll/signalfd/timerfd: %s", strerror(errno));
		goto out;
	}
	struct itimerspec its = {.it_interval = {1, 0}, .it_value = {1, 0}};
	timerfd_settime(tfd, 0, &its, NULL);
	struct epoll_event ev = {.events = EPOLLIN};
	ev.data.fd = ring_buffer__epoll_fd(r->rb);
	epoll_ctl(efd, EPOLL_CTL_ADD, ev.data.fd, &ev);
	ev.data.fd = sfd;
	epoll_ctl(efd, EPOLL_CTL_ADD, sfd, &ev);
	ev.data.fd = tfd;
	epoll_ctl(efd, EPOLL_CTL_ADD, tfd, &ev);

	tg_info("watching %s; writing JSON lines to %s",
		o.ncgroups ? "the given cgroups" : "every cgroup on the host",
		strcmp(o.json, "-") ? o.json : "stdout");
	ret = 0;
	while (!r->stop) {
		struct epoll_event evs[4];
		int timeout = -1;
		uint64_t dl = flow_next_deadline(r->flow);
		if (dl) {
			uint64_t now = now_mono_ns();
			timeout = dl > now ? (int)((dl - now) / 1000000ULL) + 1 : 0;
		}
		int n = epoll_wait(efd, evs, 4, timeout);
		if (n < 0 && errno != EINTR) {
			tg_err("epoll_wait: %s", strerror(errno));
			ret = 1;
			break;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == sfd) {
				struct signalfd_siginfo si;
				while (read(sfd, &si, sizeof(si)) == sizeof(si))
					r->stop = 1;
			} else if (fd == tfd) {
				uint64_t exp;
				while (read(tfd, &exp, sizeof(exp)) == sizeof(exp))
					;
				tick(r);
			} else {
				ring_buffer__consume(r->rb);
			}
		}
		if (dl && now_mono_ns() >= dl)
			flow_release_due(r->flow, now_mono_ns());
		jsonl_flush(&r->out, now_mono_ns());
	}
	/* drain what the kernel still holds, then what is in flight */
	ring_buffer__consume(r->rb);
	report_drops(r);
	report_udp(r);
	flow_drain(r->flow);
	jsonl_flush(&r->out, 0);
	summary(r);
out:
	if (tfd >= 0)
		close(tfd);
	if (sfd >= 0)
		close(sfd);
	if (efd >= 0)
		close(efd);
	tls_probes_free(r->tls);
	enforcer_free(r->enf);
	jsonl_flush(&r->out, 0);
	ring_buffer__free(r->rb);
	loader_close(&r->ld);
	jsonl_close(&r->out);
	flow_free(r->flow);
	cgcache_free(r->cg);
	struct udp_seen *s, *tmp;
	HASH_ITER(hh, r->udp, s, tmp) {
		HASH_DEL(r->udp, s);
		free(s);
	}
	free(r);
	return ret;
}
