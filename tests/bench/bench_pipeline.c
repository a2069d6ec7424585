// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * bench_pipeline.c - throughput of tollgate's user-space pipeline on an in-memory
 * synthetic stream, one thread (so "per core"), no kernel involved.
 *
 *   build/bench-pipeline [--records N] [--reps N] [--min-ms MS] [--seed N]
 *
 * 1. Pipeline: ring-buffer records -> tg_decode -> flow_record (connections, HTTP/1
 *    parsing, request/response pairing, redaction) -> observations -> JSON lines
 *    (jsonl_obs into memory, no write(2)). Stages are measured cumulatively: decode,
 *    decode+flow, decode+flow+JSON, decode+flow+detect+JSON (the twelve detectors under
 *    the built-in policy, as run.c's on_obs feeds them).
 * 2. Request-line and header parsing: http1_parse_request (user/flow/http1.c) against the
 *    reference parser of Debian's libhttp-parser-dev (nodejs/http-parser 2.9), on the same
 *    request heads; the same for responses.
 * 3. JSON lines: our writer (user/output/jsonw.c via jsonl_obs) against jansson (json_pack +
 *    json_dumps) on the same observations; both outputs are parsed back and compared.
 *
 * The stream imitates agent traffic: 80% of connections TLS (OpenSSL plaintext records,
 * bound to their socket after the first request), 20% plaintext (skb records); keep-alive
 * connections carry 5..40 requests; requests to AI/API hosts with SDK-style headers, half
 * with a bearer token, some with secret query parameters; responses with a
 * Content-Length body reported by length only, some 429s with Retry-After.
 *
 * Every figure is a median over --reps repetitions of thread CPU time
 * (CLOCK_THREAD_CPUTIME_ID), so time stolen by other processes on a shared machine does
 * not count, but cache pollution by them does.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <http_parser.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "decode.h"
#include "detect.h"
#include "flow.h"
#include "http1.h"
#include "obs.h"
#include "policy.h"
#include "sink_jsonl.h"
#include "tollgate_abi.h"
#include "util.h"

/* ---- options and timing ---- */

static size_t opt_records = 200000;
static int opt_reps = 5;
static double opt_min_ms = 300;
static uint64_t opt_seed = 42;

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * Run @fn (which processes @items items per call) until at least opt_min_ms of CPU time
 * has passed, opt_reps times; returns the median CPU ns per item.
 */
static double measure(void (*fn)(void *), void *arg, size_t items)
{
	double per[64];
	int reps = opt_reps > 64 ? 64 : opt_reps;

	fn(arg); /* warm caches and allocators */
	for (int r = 0; r < reps; r++) {
		uint64_t t0 = cpu_ns(), t;
		size_t done = 0;
		do {
			fn(arg);
			done += items;
			t = cpu_ns();
		} while ((double)(t - t0) < opt_min_ms * 1e6);
		per[r] = (double)(t - t0) / (double)done;
	}
	return median(per, reps);
}

/* ---- deterministic generator ---- */

static uint64_t rng_state;

static uint32_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717ULL) >> 32);
}

static uint32_t rnd_below(uint32_t n)
{
	return rnd() % n;
}

static const char *const hosts[] = {
	"api.openai.com", "api.anthropic.com", "generativelanguage.googleapis.com",
	"api.github.com", "pypi.org", "registry.npmjs.org", "huggingface.co",
	"api.mistral.ai", "127.0.0.1:8443", "internal-tools.corp.example:8080",
};

static const char *const agents[] = {
	"OpenAI/Python 1.51.0", "Anthropic/Python 0.39.0", "python-httpx/0.27.2",
	"curl/7.88.1", "node", "Go-http-client/1.1",
};

/* Write one request head (and for POST a JSON body) into @out; returns its length and
 * the length of the head in @head_len. */
static size_t gen_request(char *out, size_t cap, size_t *head_len)
{
	const char *host = hosts[rnd_below(sizeof(hosts) / sizeof(hosts[0]))];
	int post = rnd_below(100) < 30;
	char path[256], query[160] = "";
	size_t body = post ? 200 + rnd_below(1500) : 0;
	int n;

	switch (rnd_below(5)) {
	case 0:
		snprintf(path, sizeof(path), "/v1/chat/completions");
		break;
	case 1:
		snprintf(path, sizeof(path), "/v1/models/model-%u", rnd_below(50));
		break;
	case 2:
		snprintf(path, sizeof(path), "/repos/org%u/repo%u/issues/%u", rnd_below(20),
			 rnd_below(100), rnd_below(5000));
		break;
	case 3:
		snprintf(path, sizeof(path), "/simple/package-%u/", rnd_below(1000));
		break;
	default:
		snprintf(path, sizeof(path), "/api/v2/search");
		break;
	}
	switch (rnd_below(6)) {
	case 0:
		snprintf(query, sizeof(query), "?q=term%u&page=%u&per_page=50", rnd_below(999),
			 rnd_below(10));
		break;
	case 1:
		snprintf(query, sizeof(query), "?limit=20&api_key=sk-%08x%08x", rnd(), rnd());
		break;
	case 2:
		snprintf(query, sizeof(query), "?after=%u&access_token=gho_%08x", rnd(), rnd());
		break;
	default:
		break;
	}
	n = snprintf(out, cap,
		     "%s %s%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nAccept: application/json\r\n"
		     "Accept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n",
		     post ? "POST" : "GET", path, query, host,
		     agents[rnd_below(sizeof(agents) / sizeof(agents[0]))]);
	if (rnd_below(2))
		n += snprintf(out + n, cap - (size_t)n, "Authorization: Bearer sk-ant-%08x%08x%08x\r\n",
			      rnd(), rnd(), rnd());
	else if (rnd_below(4) == 0)
		n += snprintf(out + n, cap - (size_t)n, "X-Api-Key: %08x%08x\r\n", rnd(), rnd());
	if (rnd_below(3) == 0)
		n += snprintf(out + n, cap - (size_t)n,
			      "X-Stainless-Lang: python\r\nX-Stainless-Package-Version: 1.51.0\r\n"
			      "X-Stainless-Runtime: CPython\r\nX-Stainless-Retry-Count: 0\r\n");
	if (post)
		n += snprintf(out + n, cap - (size_t)n,
			      "Content-Type: application/json\r\nContent-Length: %zu\r\n", body);
	n += snprintf(out + n, cap - (size_t)n, "\r\n");
	*head_len = (size_t)n;
	for (size_t i = 0; i < body && (size_t)n + 1 < cap; i++)
		out[n++] = (char)("{\"model\":\"x\",\"messages\":[]} "[i % 29]);
	out[n] = 0;
	return (size_t)n;
}

static size_t gen_response(char *out, size_t cap, size_t *body)
{
	int n;

	*body = 50 + rnd_below(4000);
	if (rnd_below(50) == 0) {
		*body = 0;
		n = snprintf(out, cap,
			     "HTTP/1.1 429 Too Many Requests\r\nDate: Sat, 21 Nov 2026 07:00:00 GMT\r\n"
			     "Content-Type: application/json\r\nRetry-After: %u\r\n"
			     "Content-Length: 0\r\n\r\n",
			     1 + rnd_below(60));
		return (size_t)n;
	}
	n = snprintf(out, cap,
		     "HTTP/1.1 200 OK\r\nDate: Sat, 21 Nov 2026 07:00:00 GMT\r\n"
		     "Content-Type: application/json\r\nContent-Length: %zu\r\n"
		     "Connection: keep-alive\r\nx-request-id: req_%08x%08x\r\n"
		     "openai-processing-ms: %u\r\nstrict-transport-security: max-age=31536000\r\n\r\n",
		     *body, rnd(), rnd(), rnd_below(2000));
	return (size_t)n;
}

/* ---- the synthetic record stream ---- */

struct stream {
	uint8_t *buf;
	size_t len, cap;
	size_t *off;  /* offset of each record */
	size_t *size; /* sample size of each record */
	size_t n, ncap;
	uint64_t ts;
};

static void *stream_add(struct stream *s, size_t size)
{
	size_t asz = (size + 7) & ~(size_t)7;

	if (s->len + asz > s->cap) {
		s->cap = s->cap ? s->cap * 2 : 1 << 20;
		while (s->len + asz > s->cap)
			s->cap *= 2;
		s->buf = realloc(s->buf, s->cap);
	}
	if (s->n == s->ncap) {
		s->ncap = s->ncap ? s->ncap * 2 : 4096;
		s->off = realloc(s->off, s->ncap * sizeof(*s->off));
		s->size = realloc(s->size, s->ncap * sizeof(*s->size));
	}
	if (!s->buf || !s->off || !s->size) {
		fprintf(stderr, "bench-pipeline: out of memory\n");
		exit(1);
	}
	void *p = s->buf + s->len;
	memset(p, 0, asz);
	s->off[s->n] = s->len;
	s->size[s->n] = size;
	s->n++;
	s->len += asz;
	return p;
}

static void fill_hdr(struct stream *s, struct tg_hdr *h, int type, size_t size, uint32_t pid,
		     uint64_t cg)
{
	s->ts += 5000 + rnd_below(20000); /* 5-25 us apart */
	h->type = (uint16_t)type;
	h->size = (uint16_t)size;
	h->pid = pid;
	h->tid = pid + 1;
	h->ts_ns = s->ts;
	h->cgroup_id = cg;
	snprintf(h->comm, sizeof(h->comm), "agent-%u", pid % 100);
}

static void fill_addr(struct tg_addr *a, uint16_t port, uint32_t ip)
{
	a->family = AF_INET;
	a->protocol = TG_IPPROTO_TCP;
	a->dport = port;
	a->sport = (uint16_t)(30000 + rnd_below(30000));
	memcpy(a->daddr, &ip, 4);
}

struct gconn {
	int live;
	int tls;
	int bound;
	uint64_t cookie, ssl;
	uint32_t pid, ip;
	uint64_t cg;
	uint16_t port;
	int left; /* requests still to send */
};

static void add_payload(struct stream *s, struct gconn *c, const char *data, size_t len,
			int dir, int kind)
{
	size_t cap = kind == TG_KIND_OTHER ? 0 : (len < TG_CAP_DEFAULT ? len : TG_CAP_DEFAULT);
	size_t size = sizeof(struct tg_payload_event) + cap;
	struct tg_payload_event *p = stream_add(s, size);

	fill_hdr(s, &p->hdr, TG_EV_PAYLOAD, size, c->pid, c->cg);
	p->conn_id = c->tls ? c->ssl : c->cookie;
	p->len = (uint32_t)len;
	p->cap_len = (uint16_t)cap;
	p->dir = (uint8_t)dir;
	p->source = c->tls ? TG_SRC_OPENSSL : TG_SRC_SKB;
	p->kind = (uint8_t)kind;
	if (!c->tls)
		fill_addr(&p->addr, c->port, c->ip);
	memcpy(p->data, data, cap);
}

/* One step of connection @c: open it, send a request and get its response, or close. */
static void conn_step(struct stream *s, struct gconn *c, uint64_t *next_cookie)
{
	char buf[8192];
	size_t head, body;

	if (!c->live) {
		c->live = 1;
		c->tls = rnd_below(10) < 8;
		c->bound = 0;
		c->cookie = (*next_cookie)++;
		c->ssl = 0x7f0000000000ULL + c->cookie * 0x1000;
		c->pid = 1000 + rnd_below(64);
		c->cg = 5000 + rnd_below(8);
		c->ip = htonl(0x0a000000u + rnd_below(1 << 16));
		c->port = c->tls ? 443 : 80;
		c->left = 5 + (int)rnd_below(36);
		struct tg_connect_event *e = stream_add(s, sizeof(*e));
		fill_hdr(s, &e->hdr, TG_EV_CONNECT, sizeof(*e), c->pid, c->cg);
		e->cookie = c->cookie;
		fill_addr(&e->addr, c->port, c->ip);
		return;
	}
	if (c->left-- <= 0) {
		struct tg_close_event *e = stream_add(s, sizeof(*e));
		fill_hdr(s, &e->hdr, TG_EV_CLOSE, sizeof(*e), c->pid, c->cg);
		e->cookie = c->cookie;
		c->live = 0;
		return;
	}
	size_t len = gen_request(buf, sizeof(buf), &head);
	add_payload(s, c, buf, len, TG_DIR_OUT, TG_KIND_REQUEST);
	if (c->tls && !c->bound) {
		struct tg_tls_bind_event *b = stream_add(s, sizeof(*b));
		fill_hdr(s, &b->hdr, TG_EV_TLS_BIND, sizeof(*b), c->pid, c->cg);
		b->conn_id = c->ssl;
		b->cookie = c->cookie;
		fill_addr(&b->addr, c->port, c->ip);
		c->bound = 1;
	}
	len = gen_response(buf, sizeof(buf), &body);
	/* the head record carries the head and the start of the body (the first read) */
	size_t first = len + (body < 512 ? body : 512);
	for (size_t i = len; i < first; i++)
		buf[i] = 'x';
	add_payload(s, c, buf, first, TG_DIR_IN, TG_KIND_RESPONSE);
	if (body > first - len)
		add_payload(s, c, buf, body - (first - len), TG_DIR_IN, TG_KIND_OTHER);
}

static void build_stream(struct stream *s, size_t nrec)
{
	struct gconn conns[64];
	uint64_t cookie = 1;

	memset(s, 0, sizeof(*s));
	memset(conns, 0, sizeof(conns));
	s->ts = 1000000000ULL;
	while (s->n < nrec)
		conn_step(s, &conns[rnd_below(64)], &cookie);
	/* close what is open so each pass leaves the flow tables empty */
	for (int i = 0; i < 64; i++) {
		if (conns[i].live) {
			conns[i].left = 0;
			conn_step(s, &conns[i], &cookie);
		}
	}
}

/* ---- 1. the pipeline ---- */

enum stage {
	STAGE_DECODE,  /* tg_decode only */
	STAGE_FLOW,    /* + flow_record: connections, HTTP parsing, pairing, redaction */
	STAGE_JSON,    /* + jsonl_obs: the JSON lines sink, into memory */
	STAGE_DETECT,  /* + the detectors (detect_obs), built-in policy */
	STAGE_MAX,
};

static const char *const stage_name[STAGE_MAX] = {
	[STAGE_DECODE] = "decode",
	[STAGE_FLOW] = "decode + flow",
	[STAGE_JSON] = "decode + flow + JSON lines",
	[STAGE_DETECT] = "decode + flow + detect + JSON lines",
};

/* The detector stage: the built-in policy, a fresh engine per pass (as a new tollgate). */
static struct policy *bench_policy;

static void count_alert(void *ctx, const struct tg_alert *a)
{
	(void)a;
	(*(uint64_t *)ctx)++;
}

struct pipe_run {
	const struct stream *s;
	int stage;
	struct jsonl_sink sink;
	struct detect *det;
	uint64_t obs;
	uint64_t errors;
	uint64_t alerts;
};

static void pipe_obs(void *ctx, const struct tg_obs *o)
{
	struct pipe_run *p = ctx;

	p->obs++;
	if (p->det)
		detect_obs(p->det, o);
	if (p->stage >= STAGE_JSON) {
		jsonl_obs(&p->sink, o);
		if (p->sink.w.len > 60000) { /* as if written: keep the buffer warm and small */
			p->sink.w.len = 0;
			p->sink.pending = 0;
		}
	}
}

static void pipe_pass(void *arg)
{
	struct pipe_run *p = arg;
	const struct stream *s = p->s;
	struct flow_config fc = {.emit = pipe_obs, .ctx = p};
	struct flow *f = p->stage >= STAGE_FLOW ? flow_new(&fc) : NULL;
	struct tg_record rec;

	if (f)
		flow_set_clock(f, 1700000000LL * 1000000000LL);
	if (p->stage >= STAGE_DETECT && !(p->det = detect_new(bench_policy, count_alert, &p->alerts))) {
		fprintf(stderr, "bench-pipeline: detect_new: out of memory\n");
		exit(1);
	}
	for (size_t i = 0; i < s->n; i++) {
		if (tg_decode(s->buf + s->off[i], s->size[i], &rec)) {
			p->errors++;
			continue;
		}
		if (f) {
			flow_record(f, &rec);
			if ((i & 8191) == 0) /* the 1 s tick of run.c */
				flow_tick(f, rec.hdr->ts_ns);
		}
	}
	flow_free(f);
	detect_free(p->det);
	p->det = NULL;
}

static void bench_pipeline(const struct stream *s)
{
	struct pipe_run p;
	double mb = (double)s->len / 1e6;

	printf("\n== 1. pipeline on a synthetic stream (one thread = one core)\n");
	printf("stream: %zu records, %.1f MB (80%% TLS / 20%% plaintext keep-alive connections, "
	       "5-40 requests each)\n", s->n, mb);
	printf("%-38s %12s %12s %14s\n", "stage", "ns/record", "records/s", "observations/s");
	for (int st = 0; st < STAGE_MAX; st++) {
		memset(&p, 0, sizeof(p));
		p.s = s;
		p.stage = st;
		jw_init(&p.sink.w);
		double ns = measure(pipe_pass, &p, s->n);
		uint64_t passes = 0;
		/* observations per pass: count on one clean pass */
		struct pipe_run q = p;
		q.obs = 0;
		q.errors = 0;
		q.alerts = 0;
		pipe_pass(&q);
		passes = q.obs;
		printf("%-38s %12.1f %12.0f %14.0f\n", stage_name[st], ns, 1e9 / ns,
		       st >= STAGE_FLOW ? (double)passes / ((double)s->n * ns) * 1e9 : 0.0);
		if (q.errors)
			printf("  warning: %llu records failed to decode\n", (unsigned long long)q.errors);
		if (st == STAGE_DETECT)
			printf("  (the detectors raised %llu alerts per pass over the stream)\n",
			       (unsigned long long)q.alerts);
		jw_free(&p.sink.w);
	}
}

/* ---- 2. HTTP head parsing against http-parser ---- */

struct corpus {
	char **msg;
	size_t *len;
	size_t n;
};

static void corpus_build(struct corpus *c, size_t n, int responses)
{
	char buf[8192];
	size_t head, body;

	c->msg = calloc(n, sizeof(*c->msg));
	c->len = calloc(n, sizeof(*c->len));
	c->n = n;
	if (!c->msg || !c->len)
		exit(1);
	for (size_t i = 0; i < n; i++) {
		if (responses)
			head = gen_response(buf, sizeof(buf), &body);
		else
			gen_request(buf, sizeof(buf), &head); /* the head only */
		c->msg[i] = malloc(head + 1);
		if (!c->msg[i])
			exit(1);
		memcpy(c->msg[i], buf, head);
		c->msg[i][head] = 0;
		c->len[i] = head;
	}
}

static volatile size_t sink_sz; /* keeps results alive */

struct hp_ctx {
	const char *url;
	size_t url_len;
	int nh;
	struct {
		const char *p;
		size_t n;
	} f[2 * HTTP1_MAX_HEADERS];
	int done;
};

static int hp_on_url(http_parser *p, const char *at, size_t n)
{
	struct hp_ctx *c = p->data;
	if (!c->url)
		c->url = at;
	c->url_len += n;
	return 0;
}

static int hp_on_field(http_parser *p, const char *at, size_t n)
{
	struct hp_ctx *c = p->data;
	if (c->nh < 2 * HTTP1_MAX_HEADERS) {
		c->f[c->nh].p = at;
		c->f[c->nh].n = n;
		c->nh++;
	}
	return 0;
}

static int hp_on_complete(http_parser *p)
{
	struct hp_ctx *c = p->data;
	c->done = 1;
	return 0;
}

static http_parser_settings hp_settings = {
	.on_url = hp_on_url,
	.on_header_field = hp_on_field,
	.on_header_value = hp_on_field,
	.on_headers_complete = hp_on_complete,
};

struct parse_arg {
	const struct corpus *c;
	int with_url; /* http-parser: also split the URL (path, query) like split_target */
	uint64_t failures;
};

static void ours_req(void *arg)
{
	struct parse_arg *a = arg;
	struct http_request r;
	size_t acc = 0;

	for (size_t i = 0; i < a->c->n; i++) {
		if (http1_parse_request(a->c->msg[i], a->c->len[i], 0, &r) != HTTP1_COMPLETE)
			a->failures++;
		acc += r.path.n + r.query.n + r.host.n + (size_t)r.n_headers;
	}
	sink_sz = acc;
}

static void ref_req(void *arg)
{
	struct parse_arg *a = arg;
	http_parser p;
	struct hp_ctx c;
	size_t acc = 0;

	for (size_t i = 0; i < a->c->n; i++) {
		memset(&c, 0, sizeof(c));
		http_parser_init(&p, HTTP_REQUEST);
		p.data = &c;
		size_t got = http_parser_execute(&p, &hp_settings, a->c->msg[i], a->c->len[i]);
		if (got != a->c->len[i] || HTTP_PARSER_ERRNO(&p) != HPE_OK || !c.done)
			a->failures++;
		if (a->with_url) {
			struct http_parser_url u;
			http_parser_url_init(&u);
			if (http_parser_parse_url(c.url, c.url_len, 0, &u) == 0)
				acc += u.field_data[UF_PATH].len + u.field_data[UF_QUERY].len;
			else
				a->failures++;
		}
		acc += c.url_len + (size_t)c.nh;
	}
	sink_sz = acc;
}

static void ours_resp(void *arg)
{
	struct parse_arg *a = arg;
	struct http_response r;
	size_t acc = 0;

	for (size_t i = 0; i < a->c->n; i++) {
		if (http1_parse_response(a->c->msg[i], a->c->len[i], 0, &r) != HTTP1_COMPLETE)
			a->failures++;
		acc += (size_t)r.status + (size_t)r.content_length;
	}
	sink_sz = acc;
}

static void ref_resp(void *arg)
{
	struct parse_arg *a = arg;
	http_parser p;
	struct hp_ctx c;
	size_t acc = 0;

	for (size_t i = 0; i < a->c->n; i++) {
		memset(&c, 0, sizeof(c));
		http_parser_init(&p, HTTP_RESPONSE);
		p.data = &c;
		size_t got = http_parser_execute(&p, &hp_settings, a->c->msg[i], a->c->len[i]);
		if (got != a->c->len[i] || HTTP_PARSER_ERRNO(&p) != HPE_OK || !c.done)
			a->failures++;
		acc += p.status_code + (size_t)p.content_length;
	}
	sink_sz = acc;
}

/* Do both parsers find the same request-target, path and query? */
static size_t agree_req(const struct corpus *co)
{
	size_t ok = 0;

	for (size_t i = 0; i < co->n; i++) {
		struct http_request r;
		struct hp_ctx c;
		http_parser p;
		struct http_parser_url u;

		memset(&c, 0, sizeof(c));
		http_parser_init(&p, HTTP_REQUEST);
		p.data = &c;
		http_parser_execute(&p, &hp_settings, co->msg[i], co->len[i]);
		http_parser_url_init(&u);
		if (http1_parse_request(co->msg[i], co->len[i], 0, &r) != HTTP1_COMPLETE ||
		    http_parser_parse_url(c.url, c.url_len, 0, &u) != 0)
			continue;
		int same = r.target.n == c.url_len && r.target.p == c.url &&
			   r.path.n == u.field_data[UF_PATH].len &&
			   r.query.n == u.field_data[UF_QUERY].len &&
			   2 * r.n_headers == c.nh;
		ok += (size_t)same;
	}
	return ok;
}

static void bench_parsers(size_t n)
{
	struct corpus rq, rs;
	struct parse_arg a;
	double bytes = 0;

	corpus_build(&rq, n, 0);
	corpus_build(&rs, n, 1);
	for (size_t i = 0; i < n; i++)
		bytes += (double)rq.len[i];
	printf("\n== 2. HTTP/1 head parsing: ours (user/flow/http1.c) vs http-parser %lu.%lu.%lu "
	       "(libhttp-parser-dev)\n",
	       (http_parser_version() >> 16) & 255, (http_parser_version() >> 8) & 255,
	       http_parser_version() & 255);
	printf("corpus: %zu request heads (mean %.0f bytes, 6-14 header fields), %zu response "
	       "heads\n", n, bytes / (double)n, n);
	printf("%-58s %10s %9s\n", "parser", "ns/head", "failures");

	memset(&a, 0, sizeof(a));
	a.c = &rq;
	double ours = measure(ours_req, &a, n);
	uint64_t f_ours = a.failures;
	printf("%-58s %10.1f %9llu\n", "ours: http1_parse_request (line, target split, fields)",
	       ours, (unsigned long long)f_ours);
	memset(&a, 0, sizeof(a));
	a.c = &rq;
	double ref = measure(ref_req, &a, n);
	printf("%-58s %10.1f %9llu\n", "http-parser: http_parser_execute (line, fields)", ref,
	       (unsigned long long)a.failures);
	memset(&a, 0, sizeof(a));
	a.c = &rq;
	a.with_url = 1;
	double refu = measure(ref_req, &a, n);
	printf("%-58s %10.1f %9llu\n", "http-parser: + http_parser_parse_url (path, query)", refu,
	       (unsigned long long)a.failures);
	printf("ratio ours / http-parser+url: %.2f; both agree on target, path, query and field "
	       "count for %zu/%zu heads\n", ours / refu, agree_req(&rq), n);

	memset(&a, 0, sizeof(a));
	a.c = &rs;
	double ours_r = measure(ours_resp, &a, n);
	printf("%-58s %10.1f %9llu\n", "ours: http1_parse_response", ours_r,
	       (unsigned long long)a.failures);
	memset(&a, 0, sizeof(a));
	a.c = &rs;
	double ref_r = measure(ref_resp, &a, n);
	printf("%-58s %10.1f %9llu\n", "http-parser: http_parser_execute (response)", ref_r,
	       (unsigned long long)a.failures);
	printf("ratio ours / http-parser (responses): %.2f\n", ours_r / ref_r);
	/* the bench runs once per process: the corpora are left to the OS */
}

/* ---- 3. JSON lines: jsonw vs jansson ---- */

struct obs_copy {
	struct tg_obs o;
	char *strs[5]; /* cgroup, method, host, path, query */
};

struct obs_set {
	struct obs_copy *v;
	size_t n, cap;
};

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void collect_obs(void *ctx, const struct tg_obs *o)
{
	struct obs_set *set = ctx;

	if (set->n == set->cap)
		return;
	struct obs_copy *c = &set->v[set->n++];
	c->o = *o;
	c->o.cgroup = c->strs[0] = dup_or_null(o->cgroup);
	c->o.method = c->strs[1] = dup_or_null(o->method);
	c->o.host = c->strs[2] = dup_or_null(o->host);
	c->o.path = c->strs[3] = dup_or_null(o->path);
	c->o.query = c->strs[4] = dup_or_null(o->query);
}

static const char *cg_name(void *ctx, uint64_t id)
{
	static char buf[64];
	(void)ctx;
	snprintf(buf, sizeof(buf), "/agents/agent-%llu", (unsigned long long)(id % 100));
	return buf;
}

struct json_arg {
	const struct obs_set *set;
	struct jsonl_sink sink;
	size_t bytes;
};

static void ours_json(void *arg)
{
	struct json_arg *a = arg;
	size_t bytes = 0;

	for (size_t i = 0; i < a->set->n; i++) {
		a->sink.w.len = 0;
		jsonl_obs(&a->sink, &a->set->v[i].o);
		bytes += a->sink.w.len;
	}
	a->sink.pending = 0;
	a->bytes = bytes;
}

static json_t *opt_str(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *opt_u64(uint64_t v)
{
	return v ? json_integer((json_int_t)v) : json_null();
}

/* The same object jsonl_obs writes, built with jansson. */
static json_t *jansson_obs(const struct tg_obs *o)
{
	char ts[40], addr[INET6_ADDRSTRLEN];
	json_t *j;

	rfc3339_us(o->ts_ns, ts, sizeof(ts));
	j = json_pack("{s:s, s:s, s:I, s:o, s:o, s:o, s:o}", "ts", ts, "event",
		      obs_type_name(o->type), "cgroup_id", (json_int_t)o->cgroup_id, "cgroup",
		      opt_str(o->cgroup), "pid", opt_u64(o->pid), "tid", opt_u64(o->tid), "comm",
		      opt_str(o->comm[0] ? o->comm : NULL));
	if (!j)
		return NULL;
	if (o->type == OBS_REQUEST || o->type == OBS_RESPONSE) {
		json_object_set_new(j, "proto", opt_str(obs_http_name(o->http)));
		json_object_set_new(j, "tls", opt_str(obs_tls_name(o->tls)));
	}
	if (o->has_addr) {
		if (inet_ntop(o->family == AF_INET6 ? AF_INET6 : AF_INET, o->daddr, addr,
			      sizeof(addr)))
			json_object_set_new(j, "daddr", json_string(addr));
		else
			json_object_set_new(j, "daddr", json_null());
		json_object_set_new(j, "dport", json_integer(o->dport));
		if (o->type == OBS_CONNECT || o->type == OBS_CLOSE || o->type == OBS_UDP)
			json_object_set_new(j, "proto",
					    json_string(o->l4 == TG_IPPROTO_UDP ? "udp" : "tcp"));
	}
	switch (o->type) {
	case OBS_UDP:
	case OBS_DROPS:
		json_object_set_new(j, "count", json_integer((json_int_t)o->count));
		break;
	case OBS_REQUEST:
	case OBS_RESPONSE:
		if (o->type == OBS_RESPONSE)
			json_object_set_new(j, "status", opt_u64((uint64_t)o->status));
		json_object_set_new(j, "method", opt_str(o->method));
		json_object_set_new(j, "host", opt_str(o->host));
		json_object_set_new(j, "path", opt_str(o->path));
		json_object_set_new(j, "query", opt_str(o->query));
		if (o->type == OBS_REQUEST) {
			json_object_set_new(j, "auth_fp", opt_str(o->auth_fp[0] ? o->auth_fp : NULL));
			if (o->truncated)
				json_object_set_new(j, "truncated", json_true());
		}
		json_object_set_new(j, "bytes", json_integer((json_int_t)o->bytes));
		if (o->type == OBS_RESPONSE) {
			/* three decimals, as jw_double(..., 3) prints them */
			char ms[32];
			snprintf(ms, sizeof(ms), "%.3f", o->latency_ms);
			json_object_set_new(j, "latency_ms",
					    o->latency_ms >= 0 ? json_real(strtod(ms, NULL)) : json_null());
			if (o->retry_after_s >= 0)
				json_object_set_new(j, "retry_after", json_integer(o->retry_after_s));
		}
		break;
	default:
		break;
	}
	return j;
}

static void jansson_json(void *arg)
{
	struct json_arg *a = arg;
	size_t bytes = 0;

	for (size_t i = 0; i < a->set->n; i++) {
		json_t *j = jansson_obs(&a->set->v[i].o);
		char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (s) {
			bytes += strlen(s) + 1;
			free(s);
		}
		json_decref(j);
	}
	a->bytes = bytes;
}

/* Parse both writers' lines back and compare them as JSON values. */
static size_t json_agree(const struct obs_set *set)
{
	struct jsonl_sink sink;
	size_t ok = 0;

	memset(&sink, 0, sizeof(sink));
	jw_init(&sink.w);
	for (size_t i = 0; i < set->n; i++) {
		json_error_t e;
		sink.w.len = 0;
		jsonl_obs(&sink, &set->v[i].o);
		json_t *a = json_loadb(sink.w.buf, sink.w.len, 0, &e);
		json_t *b = jansson_obs(&set->v[i].o);
		ok += (size_t)(a && b && json_equal(a, b));
		json_decref(a);
		json_decref(b);
	}
	jw_free(&sink.w);
	return ok;
}

static void bench_json(const struct stream *s, size_t nobs)
{
	struct obs_set set = {.cap = nobs};
	struct flow_config fc = {.emit = collect_obs, .cgroup = cg_name, .ctx = &set};
	struct flow *f = flow_new(&fc);
	struct tg_record rec;
	struct json_arg a;
	size_t kinds[OBS_TYPE_MAX] = {0};

	set.v = calloc(nobs, sizeof(*set.v));
	if (!f || !set.v)
		exit(1);
	flow_set_clock(f, 1700000000LL * 1000000000LL);
	for (size_t i = 0; i < s->n && set.n < set.cap; i++)
		if (tg_decode(s->buf + s->off[i], s->size[i], &rec) == 0)
			flow_record(f, &rec);
	flow_free(f);
	for (size_t i = 0; i < set.n; i++)
		kinds[set.v[i].o.type]++;

	printf("\n== 3. JSON lines: ours (user/output/jsonw.c via jsonl_obs) vs jansson %s "
	       "(json_pack + json_dumps)\n", JANSSON_VERSION);
	printf("observations: %zu from the stream (%zu http_request, %zu http_response, %zu "
	       "connect, %zu close)\n", set.n, kinds[OBS_REQUEST], kinds[OBS_RESPONSE],
	       kinds[OBS_CONNECT], kinds[OBS_CLOSE]);
	memset(&a, 0, sizeof(a));
	a.set = &set;
	jw_init(&a.sink.w);
	double ours = measure(ours_json, &a, set.n);
	size_t ours_bytes = a.bytes;
	jw_free(&a.sink.w);
	memset(&a, 0, sizeof(a));
	a.set = &set;
	double jan = measure(jansson_json, &a, set.n);
	printf("%-40s %10s %12s %10s\n", "writer", "ns/line", "lines/s", "bytes/line");
	printf("%-40s %10.1f %12.0f %10.0f\n", "ours: jsonl_obs", ours, 1e9 / ours,
	       (double)ours_bytes / (double)set.n);
	printf("%-40s %10.1f %12.0f %10.0f\n", "jansson: json_pack + json_dumps", jan, 1e9 / jan,
	       (double)a.bytes / (double)set.n);
	printf("speed-up of ours over jansson: %.2fx; the two outputs are the same JSON value for "
	       "%zu/%zu observations\n", jan / ours, json_agree(&set), set.n);
	for (size_t i = 0; i < set.n; i++)
		for (int k = 0; k < 5; k++)
			free(set.v[i].strs[k]);
	free(set.v);
}

static void usage(void)
{
	fprintf(stderr, "usage: bench-pipeline [--records N] [--reps N] [--min-ms MS] [--seed N]\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"records", required_argument, 0, 'n'},
		{"reps", required_argument, 0, 'r'},
		{"min-ms", required_argument, 0, 'm'},
		{"seed", required_argument, 0, 's'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	uint64_t v;
	double d;
	int c;
	struct stream s;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (parse_u64(optarg, 1000, 100000000, &v))
				return usage(), 2;
			opt_records = v;
			break;
		case 'r':
			if (parse_u64(optarg, 1, 64, &v))
				return usage(), 2;
			opt_reps = (int)v;
			break;
		case 'm':
			if (parse_double(optarg, 1, 60000, &d))
				return usage(), 2;
			opt_min_ms = d;
			break;
		case 's':
			if (parse_u64(optarg, 1, UINT64_MAX, &v))
				return usage(), 2;
			opt_seed = v;
			break;
		case 'h':
			usage();
			return 0;
		default:
			usage();
			return 2;
		}
	}
	rng_state = opt_seed;
	bench_policy = policy_default();
	if (!bench_policy) {
		fprintf(stderr, "bench-pipeline: the built-in policy: out of memory\n");
		return 1;
	}
	printf("bench-pipeline: medians of %d repetitions, each >= %.0f ms of thread CPU time\n",
	       opt_reps, opt_min_ms);
	build_stream(&s, opt_records);
	bench_pipeline(&s);
	bench_parsers(4096);
	bench_json(&s, 20000);
	free(s.buf);
	free(s.off);
	free(s.size);
	policy_free(bench_policy);
	return 0;
}
