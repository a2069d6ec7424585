// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * run.c - `tollgate run`: load, attach, and drive the pipeline from one epoll loop.
 *
 *   ring buffer --> decode --> flow (connections, HTTP) --> observations --> JSON lines
 *        |                                                     \--> detectors --> alerts
 *        \--> exec/exit records --> tls_probe (attach uprobes to new programs)
 *   timerfd tick (1 s): kernel counters (drops), UDP send counts, idle responses, rescans,
 *                       detector cool-down summaries
 *   signalfd: SIGINT/SIGTERM stop the loop; cleanup detaches everything.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <inttypes.h>
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

#include "agents.h"
#include "cgroup.h"
#include "cgstats.h"
#include "control.h"
#include "cmd.h"
#include "decode.h"
#include "detect.h"
#include "enforce.h"
#include "flow.h"
#include "loader.h"
#include "log.h"
#include "metrics.h"
#include "metrics_http.h"
#include "policy.h"
#include "sink_jsonl.h"
#include "tls_probe.h"
#include "tls_reads.h"
#include "util.h"

#define TICK_NS 1000000000ULL
/* The BPF side wakes us only at a watermark (see common.bpf.h); between wakeups the ring
 * buffer is drained every RUN_DRAIN_BUSY_MS while records flow, RUN_DRAIN_IDLE_MS when
 * quiet. Exec records (probe attachment) always wake us at once. */
#define RUN_DRAIN_BUSY_MS 10
#define RUN_DRAIN_IDLE_MS 100

struct udp_seen {
	struct tg_udp_key key;
	UT_hash_handle hh;
	uint64_t count;
	uint64_t gen;
};

/* A cgroup id no walk found: walk again at most this often (record path) */
#define CG_RESCAN_NS 200000000ULL
/* How often removed cgroups are looked for and their state dropped */
#define FORGET_INTERVAL_NS 5000000000ULL

struct run {
	struct loader ld;
	struct enforcer *enf;
	struct cgstats *stats;
	struct control *ctl;
	struct agents *agents;
	struct metrics *metrics;
	struct metrics_http *mhttp;
	const struct run_opts *opts;
	char root[PATH_MAX];
	uint64_t started_mono;
	struct tls_probes *tls;
	struct flow *flow;
	struct cgroup_cache *cg;
	struct jsonl_sink out;
	struct policy *policy;
	struct detect *det;
	struct ring_buffer *rb;
	struct udp_seen *udp;
	uint64_t udp_gen;
	uint64_t kcnt[TG_CNT_MAX];   /* kernel counters already reported */
	uint64_t records;
	uint64_t decode_errors[DECODE_ERROR_MAX];
	uint64_t drops_reported;
	uint64_t last_forget_ns;
	uint64_t cgroups_forgotten;  /* removed cgroups whose state was dropped */
	uint64_t cgroups_forget_lost; /* ... that could not be queued (state left to the caps) */
	uint64_t next_tls_sweep;  /* CLOCK_MONOTONIC ns of the next tls_reads sweep */
	uint64_t tls_reads_swept; /* entries of dead threads deleted from tls_reads */
	int64_t clock_off;
	int stop;
};

struct run_opts {
	char cgroup_args[LOADER_MAX_CGROUPS][PATH_MAX];
	int ncgroups;
	const char *json;
	int json_any;     /* --json-any: follow a link, another owner's file */
	const char *policy;
	uint64_t capture_bytes;
	uint64_t ringbuf_kb;
	unsigned disabled_hooks;
	int no_expedite;
	int dry_run;
	int bench_floor;
	const char *control;
	const char *metrics;
};

static void usage_run(FILE *f)
{
	fprintf(f,
		"Usage: tollgate run [OPTIONS]\n"
		"Capture outbound HTTP(S) request metadata per cgroup and write JSON lines.\n\n"
		"  --cgroup PATH        watch this cgroup and its descendants (repeatable); PATH is\n"
		"                       a directory under the cgroup2 mount or a path relative to\n"
		"                       it. Default: the whole host (the cgroup2 root)\n"
		"  --json FILE|-        append events and alerts to FILE (default -, standard\n"
		"                       output); a new FILE is made 0600; SIGHUP reopens it\n"
		"  --json-any           let --json follow a symbolic link and append to a file\n"
		"                       of another owner or with other hard links (refused\n"
		"                       otherwise)\n"
		"  --policy FILE        detection policy (YAML, docs/policy.md); default: the\n"
		"                       built-in policy (`tollgate policy show`)\n"
		"  --capture-bytes N    bytes copied from each HTTP message head, %d..%d\n"
		"                       (default %d)\n"
		"  --ringbuf-kb N       ring buffer size in KiB, a power of two >= 4 (default 8192)\n"
		"  --disable-hook NAME  do not load hook NAME: connect, sendmsg, sock_release, skb,\n"
		"                       tls, exec (repeatable; to run on kernels that lack one)\n"
		"  --no-expedite        with --cgroup: do not expedite RCU grace periods while\n"
		"                       attaching TLS probes to a new process (see README)\n"
		"  --dry-run            monitor mode: compute and log every action, do nothing\n"
		"  --metrics [ADDR:]PORT serve Prometheus metrics on GET /metrics (a bare PORT\n"
		"                       listens on 127.0.0.1; other addresses only when given)\n"
		"  --control PATH       control socket for status/top/block/unblock (default\n"
		"                       " CONTROL_DEFAULT_PATH "; 'none' for no socket)\n"
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
		{"json-any", no_argument, 0, 'J'},
		{"policy", required_argument, 0, 'P'},
		{"capture-bytes", required_argument, 0, 'b'},
		{"ringbuf-kb", required_argument, 0, 'r'},
		{"disable-hook", required_argument, 0, 'd'},
		{"no-expedite", no_argument, 0, 'E'},
		{"dry-run", no_argument, 0, 'n'},
		{"bench-floor", no_argument, 0, 'F'},
		{"control", required_argument, 0, 'C'},
		{"metrics", required_argument, 0, 'M'},
		{"verbose", no_argument, 0, 'v'},
		{"quiet", no_argument, 0, 'q'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	int c, h;

	memset(o, 0, sizeof(*o));
	o->json = "-";
	o->control = CONTROL_DEFAULT_PATH;
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
		case 'J':
			o->json_any = 1;
			break;
		case 'P':
			o->policy = optarg;
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
		case 'C':
			o->control = optarg;
			break;
		case 'M':
			o->metrics = optarg;
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
	return cgcache_path(r->cg, id, now_mono_ns(), CG_RESCAN_NS);
}

static void on_obs(void *ctx, const struct tg_obs *obs)
{
	struct run *r = ctx;
	struct tg_obs o = *obs;

	o.agent = agents_name(r->agents, o.cgroup_id);
	if (r->enf)
		enforcer_obs(r->enf, &o);
	cgstats_obs(r->stats, &o);
	if (r->metrics)
		metrics_obs(r->metrics, &o, o.agent ? o.agent : o.cgroup);
	jsonl_obs(&r->out, &o);
	detect_obs(r->det, &o);
}

/* USD the policy's price table charges for a request. */
static double metrics_cost(void *ctx, uint64_t cgroup_id, const char *host, const char *endpoint)
{
	struct run *r = ctx;

	(void)cgroup_id;
	return policy_price(r->policy, host, endpoint);
}

/* A container's tollgate.io/policy annotation names its detection profile. */
static int named_profile(void *ctx, uint64_t cgroup_id)
{
	struct run *r = ctx;

	return policy_profile_named(r->policy, agents_profile(r->agents, cgroup_id));
}

static void on_action(void *ctx, const char *action, const char *result)
{
	struct run *r = ctx;

	if (r->metrics)
		metrics_action(r->metrics, action, result);
}

/*
 * A detector fired. Live, the alert's ts is when tollgate raised it (now); the evidence
 * window is first_ts..last_ts. The enforcement verdict, if any, goes into the kernel right
 * after: nothing the cgroup sends later gets out (replay stamps alerts with the firing
 * observation's time instead: it has no wall clock).
 */
static void on_alert(void *ctx, const struct tg_alert *alert)
{
	struct run *r = ctx;
	struct tg_alert a = *alert;

	a.ts_ns = now_real_ns();
	jsonl_alert(&r->out, &a);
	cgstats_alert(r->stats, &a);
	if (r->metrics)
		metrics_alert(r->metrics, &a);
	if (r->enf)
		enforcer_alert(r->enf, &a);
}

static int on_sample(void *ctx, void *data, size_t size)
{
	struct run *r = ctx;
	struct tg_record rec;
	int err = tg_decode(data, size, &rec);

	r->records++;
	if (r->metrics && !err)
		metrics_event(r->metrics, tg_event_name(rec.type));
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
		name_sanitize(o.comm, sizeof(o.comm), v.comm, TG_COMM_LEN);
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

/*
 * Cgroups that are gone: walk the hierarchy every FORGET_INTERVAL_NS and drop what every
 * stage holds for the cgroups the cache reports removed (detector windows, top's rows,
 * metric series, evidence, verdicts, per-cgroup network rules, container names), so that
 * memory follows the live cgroups under churn rather than every cgroup ever seen.
 */
static void forget_removed(struct run *r, uint64_t now)
{
	uint64_t *ids, lost;
	size_t n;

	if (now - r->last_forget_ns < FORGET_INTERVAL_NS)
		return;
	r->last_forget_ns = now;
	cgcache_rescan(r->cg, now);
	n = cgcache_take_removed(r->cg, &ids, &lost);
	r->cgroups_forget_lost += lost;
	if (!n) {
		free(ids);
		return;
	}
	qsort(ids, n, sizeof(*ids), u64_cmp);
	detect_forget(r->det, ids, n);
	cgstats_forget(r->stats, ids, n);
	agents_forget(r->agents, ids, n);
	if (r->metrics)
		metrics_forget(r->metrics, ids, n);
	if (r->enf)
		enforcer_forget(r->enf, ids, n, now_real_ns());
	r->cgroups_forgotten += n;
	free(ids);
}

/* Delete the TLS reads in flight of threads that died inside a read (tls_reads.h). */
static void sweep_tls_reads(struct run *r, uint64_t now)
{
	int n;

	if (now < r->next_tls_sweep)
		return;
	r->next_tls_sweep = now + TLS_READS_SWEEP_NS;
	n = tls_reads_sweep(loader_tls_reads_fd(&r->ld));
	if (n < 0) {
		tg_warn("sweep map tls_reads: %s", strerror(-n));
		return;
	}
	if (n)
		tg_debug("tls_reads: deleted %d entries of threads that ended inside a read", n);
	r->tls_reads_swept += (uint64_t)n;
}

static void tick(struct run *r)
{
	uint64_t now = now_mono_ns();

	r->clock_off = realtime_offset_ns();
	flow_set_clock(r->flow, r->clock_off);
	report_drops(r);
	report_udp(r);
	flow_tick(r->flow, now);
	detect_tick(r->det, now_real_ns());
	if (r->tls) {
		tls_probes_tick(r->tls, now);
		sweep_tls_reads(r, now);
	}
	if (r->enf)
		enforcer_tick(r->enf, now, now_real_ns());
	if (r->mhttp)
		metrics_http_run(r->mhttp);
	forget_removed(r, now);
}

/* Entries any bounded table of ours had to evict (flow, top, detectors). */
static uint64_t state_evictions(struct run *r)
{
	const struct flow_stats *fs = flow_stats(r->flow);
	uint64_t n = fs->conn_evictions + fs->sock_evictions + cgstats_evictions(r->stats) +
		     detect_evictions(detect_stats(r->det));

	if (r->tls)
		n += tls_probes_stats(r->tls)->files_forgotten;
	return n;
}

/* Requests in flight of one cgroup, under the agent_id its other series carry (on_obs). */
static void add_pending(void *ctx, uint64_t cgroup_id, uint32_t n)
{
	struct run *r = ctx;
	const char *agent = agents_name(r->agents, cgroup_id);
	char buf[32];

	if (!agent)
		agent = cg_path(r, cgroup_id);
	if (!agent) {
		snprintf(buf, sizeof(buf), "cgroup:%" PRIu64, cgroup_id);
		agent = buf;
	}
	metrics_concurrent_add(r->metrics, agent, n);
}

static char *render_metrics(void *ctx, size_t *len)
{
	struct run *r = ctx;

	metrics_concurrent_reset(r->metrics);
	flow_foreach_pending(r->flow, add_pending, r);
	struct metrics_health h = {
		.ringbuf_drops = r->kcnt[TG_CNT_RINGBUF_DROPS],
		.probe_attach_errors = r->tls ? tls_probes_stats(r->tls)->attach_errors : 0,
		.tls_reads_full = r->kcnt[TG_CNT_TLS_READS_FULL],
		.tracked_cgroups = cgstats_count(r->stats),
		.state_evictions = state_evictions(r),
	};
	return metrics_render(r->metrics, &h, len);
}

/* ---- control socket ---- */

static json_t *ctl_error(const char *fmt, const char *arg)
{
	char msg[512];

	snprintf(msg, sizeof(msg), fmt, arg);
	return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

static void status_prog(void *ctx, const char *name, uint64_t cnt, uint64_t ns)
{
	json_array_append_new(ctx, json_pack("{s:s, s:I, s:I, s:f}", "name", name, "run_cnt",
					     (json_int_t)cnt, "run_time_ns", (json_int_t)ns, "avg_ns",
					     cnt ? (double)ns / (double)cnt : 0.0));
}

/* @s as printable UTF-8 in @buf (name_sanitize): json_pack refuses invalid UTF-8, which
 * would drop a whole row of top or status. NULL stays NULL. */
static const char *json_safe(char *buf, size_t n, const char *s)
{
	if (!s)
		return NULL;
	name_sanitize(buf, n, s, strlen(s));
	return buf;
}

static void status_verdict(void *ctx, const char *cgroup, const char *action, const char *rule,
			   uint64_t expires)
{
	char ts[40] = "never", cg[PATH_MAX], rl[256];

	if (expires)
		rfc3339_us(expires, ts, sizeof(ts));
	json_array_append_new(ctx, json_pack("{s:s, s:s, s:s, s:s}", "cgroup",
					     json_safe(cg, sizeof(cg), cgroup), "action", action,
					     "rule", json_safe(rl, sizeof(rl), rule), "expires", ts));
}

static int bpf_stats_on(void)
{
	char c = '0';
	FILE *f = fopen("/proc/sys/kernel/bpf_stats_enabled", "re");

	if (f) {
		if (fread(&c, 1, 1, f) != 1)
			c = '0';
		fclose(f);
	}
	return c == '1';
}

static json_t *ctl_status(struct run *r)
{
	json_t *hooks = json_object(), *progs = json_array(), *verdicts = json_array();
	const struct flow_stats *fs = flow_stats(r->flow);
	uint64_t dec = 0;

	for (int h = 0; h < HOOK_MAX; h++)
		json_object_set_new(hooks, hook_name(h),
				    json_string(r->ld.hooks_up & (1u << h)       ? "up"
						: r->opts->disabled_hooks & (1u << h) ? "disabled"
										      : "failed"));
	loader_foreach_prog(&r->ld, status_prog, progs);
	if (r->enf)
		enforcer_foreach(r->enf, status_verdict, verdicts);
	for (int i = 0; i < DECODE_ERROR_MAX; i++)
		dec += r->decode_errors[i];
	json_t *o = json_pack("{s:b, s:s, s:I, s:s, s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
			      "s:I, s:o, s:o, s:b}",
			      "ok", 1, "version", TOLLGATE_VERSION, "uptime_s",
			      (json_int_t)((now_mono_ns() - r->started_mono) / 1000000000ULL), "mode",
			      r->opts->dry_run ? "monitor" : "enforce", "scope",
			      r->opts->ncgroups ? "cgroups" : "host", "hooks", hooks, "records",
			      (json_int_t)r->records, "drops",
			      (json_int_t)r->kcnt[TG_CNT_RINGBUF_DROPS], "malformed", (json_int_t)dec,
			      "requests", (json_int_t)fs->requests, "responses",
			      (json_int_t)fs->responses, "tracked_cgroups",
			      (json_int_t)cgcache_size(r->cg), "tracked_connections",
			      (json_int_t)flow_conn_count(r->flow), "state_evictions",
			      (json_int_t)state_evictions(r),
			      "programs", progs, "verdicts", verdicts, "bpf_stats", bpf_stats_on());
	json_object_set_new(o, "http2", json_pack("{s:I, s:I}", "connections",
						  (json_int_t)fs->h2_prefaces, "directions_lost",
						  (json_int_t)fs->h2_lost));
	if (r->tls) {
		const struct tls_probe_stats *t = tls_probes_stats(r->tls);
		json_object_set_new(o, "tls",
				    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
					      "files", (json_int_t)t->files, "files_cached",
					      (json_int_t)t->files_cached, "files_forgotten",
					      (json_int_t)t->files_forgotten, "tls_files", (json_int_t)t->tls_files,
					      "links", (json_int_t)t->links, "closing",
					      (json_int_t)t->closing, "attach_errors",
					      (json_int_t)t->attach_errors, "stepped_sites",
					      (json_int_t)t->stepped_sites, "pids", (json_int_t)t->pids,
					      "reads_swept", (json_int_t)r->tls_reads_swept,
					      "reads_untracked",
					      (json_int_t)r->kcnt[TG_CNT_TLS_READS_FULL],
					      "rescans_dropped", (json_int_t)t->rescans_dropped));
	}
	{
		const struct detect_stats *ds = detect_stats(r->det);
		size_t max, mem = detect_mem(r->det, &max);
		uint64_t ev = detect_evictions(ds);
		json_object_set_new(o, "detectors",
				    json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "policy",
					      r->policy->source, "alerts", (json_int_t)ds->alerts,
					      "suppressed", (json_int_t)ds->suppressed, "evictions",
					      (json_int_t)ev, "memory_bytes", (json_int_t)mem,
					      "memory_cap_bytes", (json_int_t)max, "drops",
					      (json_int_t)ds->drops));
	}
	/* what tollgate holds per cgroup, and what it dropped for removed ones */
	json_object_set_new(o, "cgroup_state",
			    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "detector_cgroups",
				      (json_int_t)detect_stats(r->det)->entries[DT_CGROUPS],
				      "top_rows", (json_int_t)cgstats_count(r->stats), "agents",
				      (json_int_t)agents_count(r->agents), "metric_series",
				      (json_int_t)(r->metrics ? metrics_series(r->metrics) : 0),
				      "metric_sessions",
				      (json_int_t)(r->metrics ? metrics_sessions(r->metrics) : 0),
				      "forgotten", (json_int_t)r->cgroups_forgotten, "forget_lost",
				      (json_int_t)r->cgroups_forget_lost));
	if (r->opts->ncgroups) {
		json_t *w = json_array();
		for (int i = 0; i < r->opts->ncgroups; i++)
			json_array_append_new(w, json_string(r->opts->cgroup_args[i]));
		json_object_set_new(o, "watched", w);
	}
	return o;
}

struct verdict_lookup {
	const char *cgroup;
	const char *action;
};

static void find_verdict(void *ctx, const char *cgroup, const char *action, const char *rule,
			 uint64_t expires)
{
	struct verdict_lookup *vl = ctx;

	(void)rule;
	(void)expires;
	if (!strcmp(cgroup, vl->cgroup))
		vl->action = action;
}

static json_t *ctl_top(struct run *r)
{
	struct cgstats_row rows[64];
	int n = cgstats_top(r->stats, now_real_ns(), rows, 64);
	json_t *arr = json_array();

	for (int i = 0; i < n; i++) {
		struct verdict_lookup vl = {rows[i].cgroup, NULL};
		char cg[PATH_MAX], ep[512]; /* comm is made printable where it enters (flow.c) */
		if (r->enf)
			enforcer_foreach(r->enf, find_verdict, &vl);
		json_array_append_new(
			arr, json_pack("{s:s, s:I, s:s?, s:f, s:f, s:I, s:s?, s:I, s:I, s:s?}", "cgroup",
				       json_safe(cg, sizeof(cg), rows[i].cgroup), "cgroup_id",
				       (json_int_t)rows[i].cgroup_id, "comm",
				       rows[i].comm[0] ? rows[i].comm : NULL,
				       "req_s", rows[i].req_s, "r429_s", rows[i].r429_s, "open_conns",
				       (json_int_t)rows[i].open_conns, "top_endpoint",
				       json_safe(ep, sizeof(ep), rows[i].top_endpoint), "alerts",
				       (json_int_t)rows[i].alerts,
				       "requests", (json_int_t)rows[i].requests, "verdict", vl.action));
	}
	return json_pack("{s:b, s:o}", "ok", 1, "rows", arr);
}

/* A cgroup argument of block/unblock: "/x", "x" or a directory under the cgroup2 mount. */
static int ctl_cgroup(struct run *r, const char *arg, char *rel, size_t n, uint64_t *id)
{
	char abs[PATH_MAX];

	if (cgroup_resolve(r->root, arg, abs, sizeof(abs), rel, n) == 0) {
		*id = cgroup_id_of(abs);
		return 0;
	}
	/* gone from the hierarchy: the path as given names the verdict */
	size_t rl = strlen(r->root);
	if (!strncmp(arg, r->root, rl) && arg[rl] == '/')
		arg += rl;
	snprintf(rel, n, "%s%s", arg[0] == '/' ? "" : "/", arg);
	*id = 0;
	return -ENOENT;
}

static json_t *on_control(void *ctx, json_t *req)
{
	struct run *r = ctx;
	const char *cmd = json_string_value(json_object_get(req, "cmd"));
	const char *cg = json_string_value(json_object_get(req, "cgroup"));
	char rel[PATH_MAX];
	uint64_t id;

	if (!cmd)
		return ctl_error("%s", "missing \"cmd\"");
	if (!strcmp(cmd, "status"))
		return ctl_status(r);
	if (!strcmp(cmd, "top"))
		return ctl_top(r);
	if (!strcmp(cmd, "register")) {
		const char *name = json_string_value(json_object_get(req, "name"));
		const char *profile = json_string_value(json_object_get(req, "profile"));
		if (!cg || !name)
			return ctl_error("%s", "register needs \"cgroup\" and \"name\"");
		if (ctl_cgroup(r, cg, rel, sizeof(rel), &id))
			return ctl_error("no such cgroup: %s", cg);
		if (agents_register(r->agents, id, rel, name, profile))
			return ctl_error("%s", "out of memory");
		/* looked up once, so that its removal is reported and the name forgotten */
		(void)cgcache_path(r->cg, id, now_mono_ns(), CG_RESCAN_NS);
		if (profile && policy_profile_named(r->policy, profile) < 0)
			tg_warn("container %s asks for policy profile %s, which the policy does not "
				"name: the cgroup globs decide", name, profile);
		tg_info("container %s registered: cgroup %s%s%s", name, rel,
			profile ? ", policy profile " : "", profile ? profile : "");
		return json_pack("{s:b, s:s, s:I}", "ok", 1, "cgroup", rel, "cgroup_id",
				 (json_int_t)id);
	}
	if (!strcmp(cmd, "unblock") || !strcmp(cmd, "block")) {
		if (!cg)
			return ctl_error("%s", "missing \"cgroup\"");
		if (!r->enf)
			return ctl_error("%s", "enforcement is not running");
		int found = ctl_cgroup(r, cg, rel, sizeof(rel), &id) == 0;
		if (!strcmp(cmd, "unblock")) {
			if (enforcer_unblock(r->enf, rel, now_real_ns()))
				return ctl_error("no verdict on %s", rel);
			return json_pack("{s:b, s:s}", "ok", 1, "cgroup", rel);
		}
		if (!found)
			return ctl_error("no such cgroup: %s", cg);
		struct action_spec spec = {0};
		const char *a = json_string_value(json_object_get(req, "action"));
		spec.type = a ? action_type_from_name(a) : -1;
		spec.rate = json_number_value(json_object_get(req, "rate"));
		spec.burst = (uint32_t)json_integer_value(json_object_get(req, "burst"));
		spec.duration_s = (uint32_t)json_integer_value(json_object_get(req, "duration"));
		if (spec.type <= ACT_ALERT)
			return ctl_error("action must be kill, freeze or throttle, not %s", a ? a : "-");
		if (spec.type == ACT_THROTTLE && (spec.rate <= 0 || spec.burst < 1))
			return ctl_error("%s", "throttle needs rate > 0 and burst >= 1");
		int err = enforcer_operator(r->enf, id, rel, &spec);
		jsonl_flush(&r->out, now_mono_ns());
		if (err == -EPERM)
			return ctl_error("%s", enforcer_last_error(r->enf));
		if (err == -EEXIST)
			return ctl_error("an equal or stronger verdict is in force on %s", rel);
		if (err == -EIO)
			return ctl_error("%s", enforcer_last_error(r->enf));
		if (err)
			return ctl_error("%s", strerror(-err));
		return json_pack("{s:b, s:s, s:s}", "ok", 1, "cgroup", rel, "result",
				 r->opts->dry_run ? "logged (monitor mode)" : "ok");
	}
	return ctl_error("unknown command: %s", cmd);
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
		"connections (%llu directions lost to the decoder)",
		(unsigned long long)r->records, (unsigned long long)fs->requests,
		(unsigned long long)fs->responses, (unsigned long long)fs->h2_prefaces,
		(unsigned long long)fs->h2_lost);
	tg_info("lost: %llu ring buffer drops, %llu malformed records, %llu output lines; "
		"not reported: %llu unparsable HTTP heads, %llu non-HTTP TLS buffers",
		(unsigned long long)r->kcnt[TG_CNT_RINGBUF_DROPS], (unsigned long long)dec,
		(unsigned long long)r->out.lost_lines, (unsigned long long)fs->bad_heads,
		(unsigned long long)r->kcnt[TG_CNT_TLS_NON_HTTP]);
	const struct detect_stats *ds = detect_stats(r->det);
	uint64_t ev = detect_evictions(ds);
	tg_info("detectors: %llu alerts (%llu cool-down summaries, %llu matches suppressed), "
		"%llu state evictions",
		(unsigned long long)ds->alerts, (unsigned long long)ds->summaries,
		(unsigned long long)ds->suppressed, (unsigned long long)ev);
	if (r->tls) {
		const struct tls_probe_stats *ts = tls_probes_stats(r->tls);
		tg_info("tls: %llu files with a TLS API, %llu attach errors",
			(unsigned long long)ts->tls_files, (unsigned long long)ts->attach_errors);
		if (r->kcnt[TG_CNT_TLS_READS_FULL] || r->tls_reads_swept)
			tg_info("tls reads: %llu not tracked (table full: responses not reported), "
				"%llu of ended threads swept",
				(unsigned long long)r->kcnt[TG_CNT_TLS_READS_FULL],
				(unsigned long long)r->tls_reads_swept);
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
	if (o.policy) {
		err = policy_load_file(o.policy, &r->policy, NULL, NULL);
		if (err) {
			if (err != -EINVAL)
				tg_err("--policy %s: %s", o.policy, strerror(-err));
			free(r);
			return 2;
		}
	} else if (!(r->policy = policy_default())) {
		free(r);
		return 1;
	}
	r->det = detect_new(r->policy, on_alert, r);
	if (!r->det) {
		tg_err("detectors: %s", strerror(errno));
		policy_free(r->policy);
		free(r);
		return 1;
	}
	detect_set_profile_fn(r->det, named_profile, r);
	r->clock_off = realtime_offset_ns();
	r->opts = &o;
	r->started_mono = now_mono_ns();
	snprintf(r->root, sizeof(r->root), "%s", root);
	r->stats = cgstats_new();
	r->agents = agents_new();
	r->cg = cgcache_new(root);
	struct flow_config fc = {.emit = on_obs, .cgroup = cg_path, .ctx = r};
	r->flow = flow_new(&fc);
	if (!r->cg || !r->flow || !r->stats || !r->agents)
		goto out;
	if (o.metrics) {
		struct metrics_config mc = {.max_endpoints = r->policy->metrics.max_endpoints,
					    .max_series = r->policy->metrics.max_series};
		r->metrics = metrics_new(&mc, metrics_cost, r);
		if (!r->metrics)
			goto out;
	}
	flow_set_clock(r->flow, r->clock_off);
	err = jsonl_open(&r->out, o.json, o.json_any ? JSONL_ANY : 0);
	if (err) {
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
		if (enforce_config_from_policy(r->policy, o.dry_run, &ec)) {
			ret = 2;
			goto out;
		}
		struct enforce_env env = {.cgroup_root = root, .cgroups = r->cg, .out = &r->out,
					  .state_dir = "/run/tollgate", .on_action = on_action,
					  .action_ctx = r};
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
	if (o.metrics) {
		r->mhttp = metrics_http_start(o.metrics, render_metrics, r);
		if (!r->mhttp) {
			ret = 2;
			goto out;
		}
		ev.data.fd = metrics_http_fd(r->mhttp);
		epoll_ctl(efd, EPOLL_CTL_ADD, ev.data.fd, &ev);
	}
	if (strcmp(o.control, "none")) {
		r->ctl = control_open(o.control, on_control, r);
		if (r->ctl) {
			ev.data.fd = control_fd(r->ctl);
			epoll_ctl(efd, EPOLL_CTL_ADD, ev.data.fd, &ev);
		} else if (errno == EADDRINUSE) {
			tg_warn("another tollgate answers on %s: running without a control socket "
				"(use --control PATH)", o.control);
		} else if (errno == ENOTSOCK) {
			tg_warn("control socket %s: a file that is not a socket is there; left as it "
				"is, running without a control socket", o.control);
		} else {
			tg_warn("control socket %s: %s", o.control, strerror(errno));
		}
	}

	tg_info("detection policy: %s (%u overrides, %u prices)", r->policy->source,
		r->policy->noverrides, r->policy->nprices);
	tg_info("watching %s; writing JSON lines to %s",
		o.ncgroups ? "the given cgroups" : "every cgroup on the host",
		strcmp(o.json, "-") ? o.json : "stdout");
	ret = 0;
	int busy = 0;
	while (!r->stop) {
		struct epoll_event evs[4];
		int timeout = busy ? RUN_DRAIN_BUSY_MS : RUN_DRAIN_IDLE_MS;
		uint64_t dl = flow_next_deadline(r->flow);
		uint64_t tdl = r->tls ? tls_probes_next_due(r->tls) : 0;
		uint64_t first = dl && tdl ? (dl < tdl ? dl : tdl) : dl ? dl : tdl;
		if (first) {
			uint64_t now = now_mono_ns();
			int until = first > now ? (int)((first - now) / 1000000ULL) + 1 : 0;
			if (until < timeout)
				timeout = until;
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
				while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo != SIGHUP) {
						r->stop = 1;
					} else if (jsonl_reopen(&r->out, now_mono_ns()) == 0) {
						tg_info("SIGHUP: reopened %s", o.json);
					}
				}
			} else if (r->ctl && fd == control_fd(r->ctl)) {
				control_process(r->ctl);
			} else if (r->mhttp && fd == metrics_http_fd(r->mhttp)) {
				metrics_http_run(r->mhttp);
			} else if (fd == tfd) {
				uint64_t exp;
				while (read(tfd, &exp, sizeof(exp)) == sizeof(exp))
					;
				tick(r);
			}
		}
		/* drain on every wakeup: watermark, timeout or any other fd */
		busy = ring_buffer__consume(r->rb) > 0;
		if (dl && now_mono_ns() >= dl)
			flow_release_due(r->flow, now_mono_ns());
		if (tdl)
			tls_probes_run_due(r->tls, now_mono_ns());
		jsonl_flush(&r->out, now_mono_ns());
	}
	/* drain what the kernel still holds, then what is in flight */
	ring_buffer__consume(r->rb);
	report_drops(r);
	report_udp(r);
	flow_drain(r->flow);
	detect_flush(r->det);
	jsonl_flush(&r->out, 0);
	summary(r);
out:
	if (tfd >= 0)
		close(tfd);
	if (sfd >= 0)
		close(sfd);
	if (efd >= 0)
		close(efd);
	control_close(r->ctl);
	metrics_http_stop(r->mhttp);
	tls_probes_free(r->tls);
	enforcer_free(r->enf);
	jsonl_flush(&r->out, 0);
	ring_buffer__free(r->rb);
	loader_close(&r->ld);
	jsonl_close(&r->out);
	flow_free(r->flow);
	detect_free(r->det);
	policy_free(r->policy);
	cgcache_free(r->cg);
	cgstats_free(r->stats);
	metrics_free(r->metrics);
	agents_free(r->agents);
	struct udp_seen *s, *tmp;
	HASH_ITER(hh, r->udp, s, tmp) {
		HASH_DEL(r->udp, s);
		free(s);
	}
	free(r);
	return ret;
}
