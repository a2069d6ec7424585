// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * bench_detect.c - detector throughput and memory (scripts/bench-detect.sh runs it).
 *
 * 1. detector + path templates on an in-memory synthetic stream (one core): observations/s
 *    through detect_obs(), against the 2 M/s target; a templating-and-hashing-only pass over
 *    the same stream is shown for scale.
 * 2. JSONL replay: the same stream written as `tollgate run` JSON lines, read back through
 *    replay_stream() (jansson + detectors), against jansson parsing the lines alone.
 * 3. memory: 10,000 cgroups x 1,000 endpoints, one request per (cgroup, endpoint), under the
 *    default caps (or --full: caps that hold every pair): entries, evictions, table bytes
 *    and the process's peak RSS.
 *
 * Usage: bench-detect [--n N] [--full] [--only detect|replay|memory]
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "detect.h"
#include "hash.h"
#include "obs.h"
#include "replay.h"
#include "sink_jsonl.h"
#include "template.h"
#include "util.h"

#define T0 (1795248000ULL * 1000000000ULL)

static uint64_t alerts;

/* Allocator calls, counted through the linker's --wrap (Makefile): the detectors must not
 * allocate once their tables have grown to the stream's working set. */
static uint64_t nalloc;
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n)
{
	nalloc++;
	return __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t m)
{
	nalloc++;
	return __real_calloc(n, m);
}
void *__wrap_realloc(void *p, size_t n)
{
	nalloc++;
	return __real_realloc(p, n);
}

static void on_alert(void *ctx, const struct tg_alert *a)
{
	(void)ctx;
	(void)a;
	alerts++;
}

static double secs(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long status_kb(const char *key)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)))
			v = strtol(line + strlen(key) + 1, NULL, 10);
	fclose(f);
	return v;
}

/* ---- the synthetic stream ---- */

#define NCG 1000
#define NHOST 40
#define NPATH 64

struct stream {
	struct tg_obs *o;
	size_t n;
	char *pool;
	size_t used, cap;
	char cgpath[NCG][32];
	char host[NHOST][48];
};

static const char *intern(struct stream *s, const char *fmt, unsigned long long a,
			  unsigned long long b)
{
	char tmp[128];
	int n = snprintf(tmp, sizeof(tmp), fmt, a, b);
	if (s->used + (size_t)n + 1 > s->cap) {
		fprintf(stderr, "pool full\n");
		exit(1);
	}
	char *p = s->pool + s->used;
	memcpy(p, tmp, (size_t)n + 1);
	s->used += (size_t)n + 1;
	return p;
}

/*
 * Requests and their responses from NCG cgroups, each talking to 4 of NHOST hosts: REST
 * paths with numeric ids and hex digests, list endpoints with paging, a few 429s. Event
 * time advances 2 ms per request (500 requests/s over the 4,000 (cgroup, host) pairs),
 * so most of the stream is ordinary traffic and alerts are rare, as on a real host: the
 * rate measures the common path, not alert formatting.
 */
static void make_stream(struct stream *s, size_t n)
{
	static const char *const paths[] = {
		"/crm/customers/%llu",          "/crm/customers/%llu/orders",
		"/v1/chat/completions",         "/api/v1/query",
		"/repos/acme/app/issues/%llu",  "/api/items",
		"/objects/%016llx%016llx",      "/v2/users/%llu/profile",
	};
	uint64_t x = 88172645463325252ULL;

	s->o = calloc(n, sizeof(*s->o));
	s->cap = n * 48 + 4096;
	s->pool = malloc(s->cap);
	if (!s->o || !s->pool)
		exit(1);
	for (int i = 0; i < NCG; i++)
		snprintf(s->cgpath[i], sizeof(s->cgpath[i]), "/agents/agent-%d", i);
	for (int i = 0; i < NHOST; i++)
		snprintf(s->host[i], sizeof(s->host[i]), "api%d.service.example.com", i);
	for (size_t i = 0; i < n; i += 2) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		unsigned cg = (unsigned)(x % NCG);
		unsigned h = (unsigned)((cg * 7 + ((x >> 12) & 3) * 11) % NHOST);
		unsigned p = (unsigned)((x >> 24) % 8);
		uint64_t id = (x >> 32) % 100000;
		struct tg_obs *q = &s->o[i], *r = &s->o[i + 1 < n ? i + 1 : i];
		memset(q, 0, sizeof(*q));
		q->type = OBS_REQUEST;
		q->ts_ns = T0 + i * 1000000ULL;
		q->cgroup_id = 1000 + cg;
		q->cgroup = s->cgpath[cg];
		q->pid = q->tid = 2000 + cg;
		snprintf(q->comm, sizeof(q->comm), "agent");
		q->http = OBS_HTTP_11;
		q->tls = 1;
		q->method = (x & 0x100) ? "POST" : "GET";
		q->host = s->host[h];
		q->path = intern(s, paths[p], id, id * 2654435761ULL);
		q->query = p == 5 ? intern(s, "page=%llu&limit=%llu", id % 50, 100) :
			   p == 3 ? "query=up&time=1795248000" : NULL;
		q->bytes = 300;
		q->latency_ms = -1;
		q->retry_after_s = -1;
		if (i + 1 < n) {
			*r = *q;
			r->type = OBS_RESPONSE;
			r->ts_ns = q->ts_ns + 10000;
			r->status = (x & 0xff) == 7 ? 429 : 200;
			r->bytes = 2000 + (x >> 40) % 20000;
			r->latency_ms = 0.01;
		}
	}
	s->n = n;
}

/* ---- 1. in memory ---- */

static double run_detect(const struct policy *p, struct stream *s, int passes,
			 uint64_t *steady_allocs)
{
	struct detect *d = detect_new(p, on_alert, NULL);
	double t, best = 0;

	for (int k = 0; k < passes; k++) {
		uint64_t a0 = nalloc;
		uint64_t shift = (uint64_t)k * (s->n * 1000000ULL + 1000000000ULL);
		for (size_t i = 0; i < s->n; i++)
			s->o[i].ts_ns += shift;
		t = secs();
		for (size_t i = 0; i < s->n; i++) {
			struct obs_tpl tb; /* templated here, as flow.c does once per request */
			obs_set_template(&s->o[i], &tb);
			detect_obs(d, &s->o[i]);
		}
		t = secs() - t;
		if (k == passes - 1)
			*steady_allocs = nalloc - a0; /* the same keys again: no growth */
		for (size_t i = 0; i < s->n; i++)
			s->o[i].ts_ns -= shift;
		double rate = (double)s->n / t;
		if (rate > best)
			best = rate;
	}
	detect_flush(d);
	detect_free(d);
	return best;
}

static double run_template(struct stream *s)
{
	char tpl[TPL_MAX];
	struct tpl_info ti;
	uint64_t sink = 0;
	double t = secs();

	for (size_t i = 0; i < s->n; i++) {
		const struct tg_obs *o = &s->o[i];
		size_t n = tpl_path(o->path, strlen(o->path), tpl, sizeof(tpl), &ti);
		sink += tg_hash(o->host, strlen(o->host)) ^ tg_hash(tpl, n);
	}
	t = secs() - t;
	if (sink == 42)
		printf(" ");
	return (double)s->n / t;
}

/* ---- 2. JSONL replay ---- */

static char *write_jsonl(struct stream *s, size_t *len)
{
	struct jsonl_sink out;
	char *buf = NULL;
	int fd = memfd_create("bench-jsonl", MFD_CLOEXEC);
	struct stat st;

	if (fd < 0) {
		perror("memfd_create");
		exit(1);
	}
	jsonl_open_fd(&out, fd);
	for (size_t i = 0; i < s->n; i++) {
		jsonl_obs(&out, &s->o[i]);
		if (out.pending >= 1024)
			jsonl_flush(&out, 0);
	}
	jsonl_flush(&out, 0);
	jw_free(&out.w);
	if (fstat(fd, &st) || !(buf = malloc((size_t)st.st_size + 1)) ||
	    pread(fd, buf, (size_t)st.st_size, 0) != st.st_size) {
		perror("bench-jsonl");
		exit(1);
	}
	buf[st.st_size] = 0;
	*len = (size_t)st.st_size;
	close(fd);
	return buf;
}

static double run_parse_only(const char *buf, size_t len, size_t *lines)
{
	const char *p = buf, *end = buf + len;
	double t = secs();

	*lines = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		json_t *j = json_loadb(p, n, JSON_REJECT_DUPLICATES, NULL);
		json_decref(j);
		(*lines)++;
		p += n + 1;
	}
	return (double)*lines / (secs() - t);
}

static double run_replay(const struct policy *p, const char *buf, size_t len)
{
	FILE *f = fmemopen((void *)buf, len, "r");
	struct detect *d = detect_new(p, on_alert, NULL);
	struct replay_stats st;
	double t = secs();

	replay_stream(f, "bench", d, &st, NULL, NULL, 5);
	t = secs() - t;
	fclose(f);
	detect_free(d);
	if (st.bad)
		fprintf(stderr, "bench: %llu bad lines\n", (unsigned long long)st.bad);
	return (double)st.lines / t;
}

/* ---- 3. memory ---- */

static void run_memory(int full)
{
	struct policy *p = policy_default();
	struct tg_obs o;
	struct obs_tpl tb;
	char path[64], host[48];
	const uint64_t ncg = 10000, nep = 1000;

	if (full) {
		p->limits.cgroups = 16384;
		p->limits.hosts = 1 << 20;
		p->limits.endpoints = 10 << 20;
	}
	struct detect *d = detect_new(p, on_alert, NULL);
	long rss0 = status_kb("VmRSS:");
	alerts = 0;
	double t = secs();
	memset(&o, 0, sizeof(o));
	o.type = OBS_REQUEST;
	o.http = OBS_HTTP_11;
	o.method = "GET";
	o.host = host;
	o.path = path;
	o.latency_ms = -1;
	o.retry_after_s = -1;
	snprintf(o.comm, sizeof(o.comm), "agent");
	/* endpoint-major: every cgroup touches endpoint e before any touches e + 1; 200 us
	 * of event time per request, so a (cgroup, host) pair sees a request every 100 s
	 * (these requests get no responses: closer together they would count as in flight) */
	for (uint64_t e = 0; e < nep; e++) {
		snprintf(host, sizeof(host), "svc%llu.example.com", (unsigned long long)(e % 50));
		snprintf(path, sizeof(path), "/api/resource%llu/items", (unsigned long long)e);
		obs_set_template(&o, &tb);
		for (uint64_t c = 0; c < ncg; c++) {
			o.ts_ns = T0 + (e * ncg + c) * 200000ULL;
			o.cgroup_id = 100000 + c;
			detect_obs(d, &o);
		}
	}
	t = secs() - t;
	const struct detect_stats *st = detect_stats(d);
	size_t max, now = detect_mem(d, &max);
	printf("memory: %llu cgroups x %llu endpoints = %llu requests in %.1f s (%.2f M/s), "
	       "caps: %s\n",
	       (unsigned long long)ncg, (unsigned long long)nep,
	       (unsigned long long)(ncg * nep), t, (double)(ncg * nep) / t / 1e6,
	       full ? "--full (every pair held)" : "default policy limits");
	printf("  %-13s %10s %10s %12s %10s %9s\n", "table", "cap", "entries", "evictions",
	       "B/entry", "MiB@cap");
	for (int i = 0; i < DT_MAX; i++) {
		uint32_t cap = ((const uint32_t *)&p->limits)[i];
		printf("  %-13s %10u %10llu %12llu %10zu %9.1f\n", detect_table_name(i), cap,
		       (unsigned long long)st->entries[i], (unsigned long long)st->evictions[i],
		       detect_entry_bytes(i), (double)detect_entry_bytes(i) * cap / 1048576.0);
	}
	printf("  alerts: %llu\n", (unsigned long long)alerts);
	printf("  tables: %.1f MiB held now, %.1f MiB at the caps; process RSS %.1f MiB "
	       "(%.1f MiB before), peak %.1f MiB\n",
	       (double)now / 1048576, (double)max / 1048576, status_kb("VmRSS:") / 1024.0,
	       rss0 / 1024.0, status_kb("VmHWM:") / 1024.0);
	detect_free(d);
	policy_free(p);
}

int main(int argc, char **argv)
{
	size_t n = 4000000;
	int full = 0;
	const char *only = NULL;
	uint64_t v;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--n") && i + 1 < argc && !parse_u64(argv[i + 1], 2, 1e9, &v))
			n = v, i++;
		else if (!strcmp(argv[i], "--full"))
			full = 1;
		else if (!strcmp(argv[i], "--only") && i + 1 < argc)
			only = argv[++i];
		else {
			fprintf(stderr, "usage: bench-detect [--n N] [--full] [--only detect|replay|"
					"memory]\n");
			return 2;
		}
	}
	/* memory first, so the peak RSS it reports is its own */
	if (!only || !strcmp(only, "memory"))
		run_memory(full);
	if (only && !strcmp(only, "memory"))
		return 0;

	struct policy *p = policy_default();
	struct stream s = {0};
	make_stream(&s, n);

	double tpl = run_template(&s);
	uint64_t steady = 0;
	double det = only && strcmp(only, "detect") ? 0 : run_detect(p, &s, 3, &steady);
	if (det > 0)
		printf("detector+template (in memory, 1 core): %.2f M observations/s over %zu "
	       "observations, %llu alerts; baseline: target 2.00 M/s -> ratio %.2f\n",
	       det / 1e6, n, (unsigned long long)alerts / 3, det / 2e6);
	if (det > 0)
		printf("  for scale: templating + hashing alone %.2f M/s; allocator calls in the "
		       "last pass (steady state): %llu\n",
		       tpl / 1e6, (unsigned long long)steady);
	if (only && !strcmp(only, "detect"))
		return 0;

	size_t len, lines;
	s.n = n < 1000000 ? n : 1000000; /* ~300 MiB of JSON lines in memory is plenty */
	char *buf = write_jsonl(&s, &len);
	double parse = run_parse_only(buf, len, &lines);
	double rep = run_replay(p, buf, len);
	printf("replay (JSONL %.1f MiB, %zu lines, jansson + detectors): %.0f k lines/s; baseline: "
	       "jansson parsing alone %.0f k lines/s -> ratio %.2f\n",
	       (double)len / 1048576, lines, rep / 1e3, parse / 1e3, rep / parse);
	free(buf);
	free(s.o);
	free(s.pool);
	policy_free(p);
	return 0;
}
