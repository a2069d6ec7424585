// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_flow.c - user/flow/flow.c, from decoded records to observations. Synthetic records are
 * built per include/tollgate_abi.h (payload kinds from tg_classify, nothing copied for
 * OTHER, as the BPF side does), checked with tg_decode and fed to flow_record; the
 * observations are copied out of the callback and checked field by field:
 * plaintext request/response pairing (method, host, path, query, status, bytes, latency),
 * the pid of the connect record when an skb record has none, TLS requests held until their
 * bind record or until FLOW_BIND_WAIT_NS, responses finished by Content-Length, by the next
 * request, by close, by flow_tick and by flow_drain, pipelined requests and responses
 * paired in order, 100-continue skipped, HEAD/204 without a body, the HTTP/2 preface,
 * comm made printable UTF-8, redaction and auth_fp, orphan responses, bad heads, truncated request lines, and
 * eviction when max_conns is reached.
 */
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "unit.h"

#include "decode.h"
#include "flow.h"
#include "http_classify.h"
#include "redact.h"

#define MS 1000000ULL
#define SEC 1000000000ULL
#define CLOCK_OFF 1700000000000000000LL /* realtime - monotonic */
#define CG_AGENTS 7
#define FP_ABC fp_abc() /* the keyed fingerprint of "abc" in this process */

static const char *fp_abc(void)
{
	static char fp[REDACT_FP_HEX + 1];

	redact_fingerprint("abc", 3, fp);
	assert_string_not_equal(fp, "ba7816bf8f01"); /* SHA-256("abc"): unkeyed */
	return fp;
}

/* ---- observations, copied out of the callback ---- */

struct seen {
	struct tg_obs o; /* its string pointers point into the fields below, or are NULL */
	char method[64], host[256], path[2048], query[2048], cgroup[64];
};

#define MAX_SEEN 64
static struct seen seen[MAX_SEEN];
static int nseen;

static const char *keep(char *dst, size_t n, const char *src)
{
	if (!src)
		return NULL;
	assert_true(strlen(src) < n);
	strcpy(dst, src);
	return dst;
}

static void on_obs(void *ctx, const struct tg_obs *o)
{
	struct seen *s;

	assert_ptr_equal(ctx, seen);
	assert_true(nseen < MAX_SEEN);
	s = &seen[nseen++];
	s->o = *o;
	s->o.method = keep(s->method, sizeof(s->method), o->method);
	s->o.host = keep(s->host, sizeof(s->host), o->host);
	s->o.path = keep(s->path, sizeof(s->path), o->path);
	s->o.query = keep(s->query, sizeof(s->query), o->query);
	s->o.cgroup = keep(s->cgroup, sizeof(s->cgroup), o->cgroup);
}

static const char *cgroup_of(void *ctx, uint64_t id)
{
	assert_ptr_equal(ctx, seen);
	return id == CG_AGENTS ? "/agents" : NULL;
}

/* The flow of the running test, freed by teardown when an assertion ends the test early. */
static struct flow *live;

static struct flow *new_flow(uint32_t max_conns)
{
	struct flow_config cfg = {
		.emit = on_obs, .cgroup = cgroup_of, .ctx = seen, .max_conns = max_conns,
	};
	struct flow *f = flow_new(&cfg);

	assert_non_null(f);
	assert_null(live);
	live = f;
	flow_set_clock(f, CLOCK_OFF);
	memset(seen, 0, sizeof(seen));
	nseen = 0;
	return f;
}

static void done(struct flow *f)
{
	assert_ptr_equal(f, live);
	live = NULL;
	flow_free(f);
}

static int teardown(void **state)
{
	(void)state;
	flow_free(live);
	live = NULL;
	return 0;
}

/* ---- records ---- */

struct who {
	uint32_t pid, tid;
	const char *comm;
	uint64_t cgroup_id;
};

static const struct who CURL = {100, 101, "curl", CG_AGENTS};
static const struct who PY = {200, 202, "python3", CG_AGENTS};
static const struct who SOFTIRQ = {0, 0, "", CG_AGENTS}; /* skb hook outside the owner */

static void hdr(struct tg_hdr *h, int type, size_t size, uint64_t ts, const struct who *w)
{
	h->type = (__u16)type;
	h->size = (__u16)size;
	h->pid = w->pid;
	h->tid = w->tid;
	h->ts_ns = ts;
	h->cgroup_id = w->cgroup_id;
	/* like the kernel's, but without the NUL when the name takes all 16 bytes */
	size_t n = strlen(w->comm);
	memcpy(h->comm, w->comm, n < TG_COMM_LEN ? n : TG_COMM_LEN);
}

static struct tg_addr ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
{
	struct tg_addr x = {.family = AF_INET, .protocol = TG_IPPROTO_TCP, .dport = port};

	x.daddr[0] = a, x.daddr[1] = b, x.daddr[2] = c, x.daddr[3] = d;
	return x;
}

/* Decode @rec of @size bytes as the ring-buffer callback does and hand it to @f. */
static void feed(struct flow *f, const void *rec, size_t size)
{
	struct tg_record r;

	assert_int_equal(tg_decode(rec, size, &r), 0);
	flow_record(f, &r);
}

static void connect_rec(struct flow *f, uint64_t ts, const struct who *w, uint64_t cookie,
			struct tg_addr a)
{
	struct tg_connect_event e;

	memset(&e, 0, sizeof(e));
	hdr(&e.hdr, TG_EV_CONNECT, sizeof(e), ts, w);
	e.cookie = cookie;
	e.addr = a;
	feed(f, &e, sizeof(e));
}

static void close_rec(struct flow *f, uint64_t ts, const struct who *w, uint64_t cookie)
{
	struct tg_close_event e;

	memset(&e, 0, sizeof(e));
	hdr(&e.hdr, TG_EV_CLOSE, sizeof(e), ts, w);
	e.cookie = cookie;
	feed(f, &e, sizeof(e));
}

static void bind_rec(struct flow *f, uint64_t ts, const struct who *w, uint64_t conn_id,
		     uint64_t cookie, struct tg_addr a)
{
	struct tg_tls_bind_event e;

	memset(&e, 0, sizeof(e));
	hdr(&e.hdr, TG_EV_TLS_BIND, sizeof(e), ts, w);
	e.conn_id = conn_id;
	e.cookie = cookie;
	e.addr = a;
	feed(f, &e, sizeof(e));
}

/*
 * A payload of @n bytes at @data: classified like the BPF side does (first TG_PEEK_LEN
 * bytes), up to @capture bytes copied when it starts an HTTP message, none otherwise.
 */
static void payload_cap(struct flow *f, uint64_t ts, const struct who *w, int source, int dir,
			uint64_t conn_id, const struct tg_addr *a, const char *data, size_t n,
			size_t capture)
{
	int kind = tg_classify((const __u8 *)data, (__u32)(n < TG_PEEK_LEN ? n : TG_PEEK_LEN));
	size_t cap = kind == TG_KIND_OTHER ? 0 : (n < capture ? n : capture);
	size_t size = sizeof(struct tg_payload_event) + cap;
	struct tg_payload_event *e = calloc(1, size);

	assert_non_null(e);
	hdr(&e->hdr, TG_EV_PAYLOAD, size, ts, w);
	e->conn_id = conn_id;
	e->len = (__u32)n;
	e->cap_len = (__u16)cap;
	e->dir = (__u8)dir;
	e->source = (__u8)source;
	e->kind = (__u8)kind;
	if (a)
		e->addr = *a;
	memcpy(e->data, data, cap);
	feed(f, e, size);
	free(e);
}

static const struct tg_addr SERVER = {.family = AF_INET, .protocol = TG_IPPROTO_TCP,
				      .dport = 8080, .daddr = {10, 0, 0, 1}};

/* plaintext egress / ingress on socket @cookie */
static void out(struct flow *f, uint64_t ts, const struct who *w, uint64_t cookie,
		const char *s)
{
	payload_cap(f, ts, w, TG_SRC_SKB, TG_DIR_OUT, cookie, &SERVER, s, strlen(s),
		    TG_CAP_DEFAULT);
}

static void in(struct flow *f, uint64_t ts, const struct who *w, uint64_t cookie,
	       const char *s)
{
	payload_cap(f, ts, w, TG_SRC_SKB, TG_DIR_IN, cookie, &SERVER, s, strlen(s),
		    TG_CAP_DEFAULT);
}

/* TLS write / read of session @ssl */
static void tls_out(struct flow *f, uint64_t ts, const struct who *w, uint64_t ssl,
		    const char *s)
{
	payload_cap(f, ts, w, TG_SRC_OPENSSL, TG_DIR_OUT, ssl, NULL, s, strlen(s),
		    TG_CAP_DEFAULT);
}

static void tls_in(struct flow *f, uint64_t ts, const struct who *w, uint64_t ssl,
		   const char *s)
{
	payload_cap(f, ts, w, TG_SRC_OPENSSL, TG_DIR_IN, ssl, NULL, s, strlen(s),
		    TG_CAP_DEFAULT);
}

/* ---- checks ---- */

static const struct tg_obs *obs(int i, int type)
{
	if (i >= nseen)
		fail_msg("observation %d of %d wanted", i, nseen);
	if (seen[i].o.type != type)
		fail_msg("observation %d is a %s, not a %s", i, obs_type_name(seen[i].o.type),
			 obs_type_name(type));
	return &seen[i].o;
}

#define assert_str_or_null(got, want)                          \
	do {                                                   \
		const char *g_ = (got), *w_ = (want);          \
		if (!w_)                                       \
			assert_null(g_);                       \
		else {                                         \
			assert_non_null(g_);                   \
			assert_string_equal(g_, w_);           \
		}                                              \
	} while (0)

static void check_who(const struct tg_obs *o, const struct who *w)
{
	assert_int_equal(o->pid, w->pid);
	assert_int_equal(o->tid, w->tid);
	assert_string_equal(o->comm, w->comm);
	assert_int_equal(o->cgroup_id, w->cgroup_id);
	assert_str_or_null(o->cgroup, w->cgroup_id == CG_AGENTS ? "/agents" : NULL);
}

static void check_req(const struct tg_obs *o, const char *method, const char *host,
		      const char *path, const char *query)
{
	assert_str_or_null(o->method, method);
	assert_str_or_null(o->host, host);
	assert_str_or_null(o->path, path);
	assert_str_or_null(o->query, query);
}

static void check_addr(const struct tg_obs *o, const struct tg_addr *a)
{
	if (!a) {
		assert_int_equal(o->has_addr, 0);
		return;
	}
	assert_int_equal(o->has_addr, 1);
	assert_int_equal(o->family, a->family);
	assert_memory_equal(o->daddr, a->daddr, 16);
	assert_int_equal(o->dport, a->dport);
	assert_int_equal(o->l4, TG_IPPROTO_TCP);
}

/* ---- tests ---- */

static void test_plain_pair(void **state)
{
	const char *rq = "GET /v1/models?limit=5&token=abc HTTP/1.1\r\n"
			 "Host: API.Example.com\r\n"
			 "Authorization: Bearer abc\r\n\r\n";
	const char *rs = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
	struct flow *f = new_flow(0);
	const struct tg_obs *o;

	(void)state;
	connect_rec(f, 1 * SEC, &CURL, 1, SERVER);
	out(f, 2 * SEC, &CURL, 1, rq);
	in(f, 2 * SEC + 25 * MS, &CURL, 1, rs);
	close_rec(f, 3 * SEC, &CURL, 1);
	assert_int_equal(nseen, 4);

	o = obs(0, OBS_CONNECT);
	assert_int_equal(o->ts_ns, 1 * SEC + CLOCK_OFF);
	check_who(o, &CURL);
	check_addr(o, &SERVER);

	o = obs(1, OBS_REQUEST);
	assert_int_equal(o->ts_ns, 2 * SEC + CLOCK_OFF);
	check_who(o, &CURL);
	check_addr(o, &SERVER);
	/* the host in lower case, the query redacted, the credential fingerprinted */
	check_req(o, "GET", "api.example.com", "/v1/models", "limit=5&token=REDACTED");
	assert_string_equal(o->auth_fp, FP_ABC);
	assert_int_equal(o->http, OBS_HTTP_11);
	assert_int_equal(o->tls, 0);
	assert_int_equal(o->truncated, 0);
	/* no Content-Length: what the write carried */
	assert_int_equal(o->bytes, strlen(rq));
	assert_int_equal(o->status, 0);

	o = obs(2, OBS_RESPONSE);
	assert_int_equal(o->ts_ns, 2 * SEC + 25 * MS + CLOCK_OFF);
	check_who(o, &CURL);
	check_addr(o, &SERVER);
	check_req(o, "GET", "api.example.com", "/v1/models", "limit=5&token=REDACTED");
	assert_int_equal(o->status, 200);
	assert_int_equal(o->http, OBS_HTTP_11);
	assert_int_equal(o->bytes, strlen(rs));
	assert_true(o->latency_ms == 25.0);
	assert_int_equal(o->retry_after_s, -1);
	assert_string_equal(o->auth_fp, "");

	o = obs(3, OBS_CLOSE);
	check_addr(o, &SERVER);
	assert_int_equal(flow_stats(f)->requests, 1);
	assert_int_equal(flow_stats(f)->responses, 1);
	assert_int_equal(flow_conn_count(f), 0);
	done(f);
}

static void test_post_bytes_and_retry_after(void **state)
{
	const char *rq = "POST /v1/chat HTTP/1.0\r\nHost: h.example\r\nContent-Length: 2000\r\n"
			 "Cookie: abc\r\n\r\n{\"m\":1}";
	const char *rs = "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 30\r\n"
			 "Content-Length: 0\r\n\r\n";
	struct flow *f = new_flow(0);
	const struct tg_obs *o;
	size_t head = strstr(rq, "\r\n\r\n") + 4 - rq;

	(void)state;
	out(f, 1 * SEC, &CURL, 1, rq);
	in(f, 1 * SEC + 1500 * 1000, &CURL, 1, rs);
	assert_int_equal(nseen, 2);
	o = obs(0, OBS_REQUEST);
	check_req(o, "POST", "h.example", "/v1/chat", NULL);
	/* head plus Content-Length, not what the first write carried */
	assert_int_equal(o->bytes, head + 2000);
	assert_int_equal(o->http, OBS_HTTP_10);
	assert_string_equal(o->auth_fp, FP_ABC);
	o = obs(1, OBS_RESPONSE);
	assert_int_equal(o->status, 429);
	assert_int_equal(o->retry_after_s, 30);
	assert_true(o->latency_ms == 1.5);
	assert_int_equal(o->bytes, strlen(rs));
	done(f);
}

static void test_pid_fallback(void **state)
{
	struct flow *f = new_flow(0);

	(void)state;
	/* the skb hooks ran in softirq context: pid 0, so the connect record's owner */
	connect_rec(f, 1 * SEC, &CURL, 9, SERVER);
	out(f, 2 * SEC, &SOFTIRQ, 9, "GET /x HTTP/1.1\r\nHost: h\r\n\r\n");
	in(f, 3 * SEC, &SOFTIRQ, 9, "HTTP/1.1 204 No Content\r\n\r\n");
	assert_int_equal(nseen, 3);
	check_who(obs(1, OBS_REQUEST), &CURL);
	check_who(obs(2, OBS_RESPONSE), &CURL);
	assert_int_equal(obs(2, OBS_RESPONSE)->status, 204);
	done(f);

	/* without a connect record the pid stays unknown */
	f = new_flow(0);
	out(f, 2 * SEC, &SOFTIRQ, 9, "GET /x HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_int_equal(nseen, 1);
	assert_int_equal(obs(0, OBS_REQUEST)->pid, 0);
	assert_string_equal(obs(0, OBS_REQUEST)->comm, "");
	done(f);
}

static void test_comm_full_length(void **state)
{
	/* TG_COMM_LEN bytes without a NUL (the kernel NUL-terminates, the decoder does not
	 * check): the observation's comm must still be a terminated 16-byte string */
	static const struct who longname = {300, 301, "0123456789abcdef", CG_AGENTS};
	struct flow *f = new_flow(0);

	(void)state;
	connect_rec(f, 1 * SEC, &longname, 0x4141414141414141ULL, SERVER);
	close_rec(f, 2 * SEC, &longname, 0x4141414141414141ULL);
	out(f, 3 * SEC, &longname, 5, "GET / HTTP/1.1\r\n\r\n");
	assert_int_equal(nseen, 3);
	for (int i = 0; i < nseen; i++) {
		assert_int_equal(seen[i].o.comm[TG_COMM_LEN], 0);
		assert_string_equal(seen[i].o.comm, "0123456789abcdef");
	}
	done(f);
}

static void test_comm_sanitized(void **state)
{
	/* a process names itself with an escape sequence and invalid UTF-8: every observation
	 * (connect, close, request) carries the printable form */
	static const struct who evil = {400, 401, "\x1b[31m\xff\xc3\xa9", CG_AGENTS};
	struct flow *f = new_flow(0);

	(void)state;
	connect_rec(f, 1 * SEC, &evil, 0x4242424242424242ULL, SERVER);
	close_rec(f, 2 * SEC, &evil, 0x4242424242424242ULL);
	out(f, 3 * SEC, &evil, 5, "GET / HTTP/1.1\r\n\r\n");
	assert_int_equal(nseen, 3);
	for (int i = 0; i < nseen; i++)
		assert_string_equal(seen[i].o.comm, "?[31m?\xc3\xa9");
	done(f);
}

static void test_tls_bind(void **state)
{
	const struct tg_addr remote = ip4(93, 184, 216, 34, 443);
	const uint64_t ssl = 0x55550000abcdULL, cookie = 77;
	const char *rs1 = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n";
	const char *rs2 = "0\r\n\r\n";
	struct flow *f = new_flow(0);
	const struct tg_obs *o;

	(void)state;
	connect_rec(f, 1 * SEC, &PY, cookie, remote);
	assert_int_equal(nseen, 1);
	tls_out(f, 2 * SEC, &PY, ssl, "GET /tls?a=1 HTTP/1.1\r\nHost: example.com\r\n\r\n");
	/* held: its 5-tuple is not known yet */
	assert_int_equal(nseen, 1);
	assert_int_equal(flow_next_deadline(f), 2 * SEC + FLOW_BIND_WAIT_NS);
	/* a bind record of another process's session with the same address changes nothing */
	bind_rec(f, 2 * SEC + 1, &CURL, ssl, 78, remote);
	assert_int_equal(nseen, 1);
	bind_rec(f, 2 * SEC + 2 * MS, &PY, ssl, cookie, remote);
	assert_int_equal(nseen, 2);
	assert_int_equal(flow_next_deadline(f), 0);
	o = obs(1, OBS_REQUEST);
	/* reported with the time it was seen, not when it was released */
	assert_int_equal(o->ts_ns, 2 * SEC + CLOCK_OFF);
	check_who(o, &PY);
	check_addr(o, &remote);
	check_req(o, "GET", "example.com", "/tls", "a=1");
	assert_int_equal(o->tls, TG_SRC_OPENSSL);

	/* the next request on the session goes out at once, with the address */
	tls_out(f, 3 * SEC, &PY, ssl, "GET /second HTTP/1.1\r\nHost: example.com\r\n\r\n");
	assert_int_equal(nseen, 3);
	check_addr(obs(2, OBS_REQUEST), &remote);
	/* the response to the first request, chunked: open until the socket closes */
	tls_in(f, 3 * SEC + 10 * MS, &PY, ssl, rs1);
	tls_in(f, 3 * SEC + 11 * MS, &PY, ssl, rs2);
	assert_int_equal(nseen, 3);
	close_rec(f, 4 * SEC, &PY, cookie);
	assert_int_equal(nseen, 5);
	o = obs(3, OBS_RESPONSE);
	check_req(o, "GET", "example.com", "/tls", "a=1");
	assert_int_equal(o->tls, TG_SRC_OPENSSL);
	check_addr(o, &remote);
	assert_true(o->latency_ms == 1010.0);
	assert_int_equal(o->bytes, strlen(rs1) + strlen(rs2));
	obs(4, OBS_CLOSE);
	assert_int_equal(flow_conn_count(f), 0);
	done(f);
}

static void test_tls_release_due(void **state)
{
	const uint64_t t0 = 5 * SEC;
	struct flow *f = new_flow(0);
	const struct tg_obs *o;

	(void)state;
	tls_out(f, t0, &PY, 0x1000, "POST /up HTTP/1.1\r\nHost: up.example\r\n"
				     "Content-Length: 3\r\n\r\nabc");
	assert_int_equal(nseen, 0);
	assert_int_equal(flow_next_deadline(f), t0 + FLOW_BIND_WAIT_NS);
	flow_release_due(f, t0 + FLOW_BIND_WAIT_NS - 1);
	assert_int_equal(nseen, 0);
	flow_release_due(f, t0 + FLOW_BIND_WAIT_NS);
	assert_int_equal(nseen, 1);
	o = obs(0, OBS_REQUEST);
	check_addr(o, NULL);
	check_req(o, "POST", "up.example", "/up", NULL);
	assert_int_equal(o->tls, TG_SRC_OPENSSL);
	assert_int_equal(flow_next_deadline(f), 0);
	/* released once only: a late bind does not report it again */
	bind_rec(f, t0 + FLOW_BIND_WAIT_NS + 1, &PY, 0x1000, 5, SERVER);
	assert_int_equal(nseen, 1);
	/* the response still pairs */
	tls_in(f, t0 + 100 * MS, &PY, 0x1000, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(nseen, 2);
	o = obs(1, OBS_RESPONSE);
	assert_int_equal(o->status, 201);
	check_req(o, "POST", "up.example", "/up", NULL);
	done(f);

	/* flow_tick releases too; a response before the deadline releases its request first */
	f = new_flow(0);
	tls_out(f, t0, &PY, 0x2000, "GET /a HTTP/1.1\r\n\r\n");
	flow_tick(f, t0 + FLOW_BIND_WAIT_NS);
	assert_int_equal(nseen, 1);
	tls_out(f, t0, &PY, 0x3000, "GET /b HTTP/1.1\r\n\r\n");
	tls_in(f, t0 + 1 * MS, &PY, 0x3000, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(nseen, 3);
	check_req(obs(1, OBS_REQUEST), "GET", NULL, "/b", NULL);
	check_req(obs(2, OBS_RESPONSE), "GET", NULL, "/b", NULL);
	/* already emitted: releasing it later does not repeat it */
	flow_release_due(f, t0 + FLOW_BIND_WAIT_NS);
	assert_int_equal(nseen, 3);
	done(f);
}

static void test_response_content_length(void **state)
{
	const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";
	struct flow *f = new_flow(0);

	(void)state;
	out(f, 1 * SEC, &CURL, 1, "GET /cl HTTP/1.1\r\n\r\n");
	in(f, 2 * SEC, &CURL, 1, head);
	in(f, 2 * SEC + 1, &CURL, 1, "0123");
	assert_int_equal(nseen, 1);
	in(f, 2 * SEC + 2, &CURL, 1, "456789");
	assert_int_equal(nseen, 2);
	assert_int_equal(obs(1, OBS_RESPONSE)->bytes, strlen(head) + 10);
	/* latency is to the first response byte */
	assert_true(obs(1, OBS_RESPONSE)->latency_ms == 1000.0);
	/* more bytes with no response in progress are counted, not reported */
	in(f, 3 * SEC, &CURL, 1, "trailing junk");
	assert_int_equal(nseen, 2);
	assert_int_equal(flow_stats(f)->unmatched_bytes, 13);
	done(f);
}

static void test_response_next_request(void **state)
{
	const char *head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
	const char *chunks = "3\r\nabc\r\n0\r\n\r\n";
	struct flow *f = new_flow(0);

	(void)state;
	out(f, 1 * SEC, &CURL, 1, "GET /one HTTP/1.1\r\n\r\n");
	in(f, 2 * SEC, &CURL, 1, head);
	in(f, 2 * SEC + 1, &CURL, 1, chunks);
	assert_int_equal(nseen, 1);
	/* the next request finishes it: the response comes out before the request */
	out(f, 3 * SEC, &CURL, 1, "GET /two HTTP/1.1\r\n\r\n");
	assert_int_equal(nseen, 3);
	check_req(obs(1, OBS_RESPONSE), "GET", NULL, "/one", NULL);
	assert_int_equal(obs(1, OBS_RESPONSE)->bytes, strlen(head) + strlen(chunks));
	check_req(obs(2, OBS_REQUEST), "GET", NULL, "/two", NULL);
	/* a response without a length, finished by the next response */
	in(f, 4 * SEC, &CURL, 1, "HTTP/1.0 200 OK\r\n\r\nno length");
	in(f, 5 * SEC, &CURL, 1, "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(nseen, 5);
	assert_int_equal(obs(3, OBS_RESPONSE)->status, 200);
	assert_int_equal(obs(3, OBS_RESPONSE)->http, OBS_HTTP_10);
	check_req(obs(3, OBS_RESPONSE), "GET", NULL, "/two", NULL);
	/* the second has no request left: an orphan, still reported without request fields */
	assert_int_equal(obs(4, OBS_RESPONSE)->status, 500);
	check_req(obs(4, OBS_RESPONSE), NULL, NULL, NULL, NULL);
	assert_true(obs(4, OBS_RESPONSE)->latency_ms < 0);
	assert_int_equal(flow_stats(f)->orphan_responses, 1);
	done(f);
}

static void test_response_close_tick_drain(void **state)
{
	const char *head = "HTTP/1.1 200 OK\r\n\r\n";
	struct flow *f = new_flow(0);

	(void)state;
	/* by close: the response, then the close */
	connect_rec(f, 0, &CURL, 1, SERVER);
	out(f, 1 * SEC, &CURL, 1, "GET /c HTTP/1.1\r\n\r\n");
	in(f, 2 * SEC, &CURL, 1, head);
	in(f, 2 * SEC, &CURL, 1, "body");
	assert_int_equal(nseen, 2);
	close_rec(f, 3 * SEC, &CURL, 1);
	assert_int_equal(nseen, 4);
	assert_int_equal(obs(2, OBS_RESPONSE)->bytes, strlen(head) + 4);
	check_req(obs(2, OBS_RESPONSE), "GET", NULL, "/c", NULL);
	obs(3, OBS_CLOSE);

	/* by flow_tick, FLOW_RESPONSE_IDLE_NS after the last payload of the connection */
	out(f, 10 * SEC, &CURL, 2, "GET /t HTTP/1.1\r\n\r\n");
	in(f, 11 * SEC, &CURL, 2, head);
	in(f, 12 * SEC, &CURL, 2, "more");
	flow_tick(f, 12 * SEC + FLOW_RESPONSE_IDLE_NS - 1);
	assert_int_equal(nseen, 5);
	flow_tick(f, 12 * SEC + FLOW_RESPONSE_IDLE_NS);
	assert_int_equal(nseen, 6);
	check_req(obs(5, OBS_RESPONSE), "GET", NULL, "/t", NULL);
	assert_int_equal(obs(5, OBS_RESPONSE)->bytes, strlen(head) + 4);
	/* the connection itself is forgotten after FLOW_CONN_IDLE_NS */
	assert_int_equal(flow_conn_count(f), 1);
	flow_tick(f, 12 * SEC + FLOW_CONN_IDLE_NS - 1);
	assert_int_equal(flow_conn_count(f), 1);
	flow_tick(f, 12 * SEC + FLOW_CONN_IDLE_NS);
	assert_int_equal(flow_conn_count(f), 0);
	assert_int_equal(nseen, 6);

	/* by flow_drain at exit */
	out(f, 20 * SEC, &CURL, 3, "GET /d HTTP/1.1\r\n\r\n");
	in(f, 21 * SEC, &CURL, 3, head);
	assert_int_equal(nseen, 7);
	flow_drain(f);
	assert_int_equal(nseen, 8);
	check_req(obs(7, OBS_RESPONSE), "GET", NULL, "/d", NULL);
	assert_int_equal(flow_conn_count(f), 0);
	done(f);
}

/* flow_foreach_pending summed over connections: cgroup id -> requests in flight. */
static uint64_t pending_cg;
static uint32_t pending_n;

static void sum_pending(void *ctx, uint64_t cgroup_id, uint32_t n)
{
	(void)ctx;
	pending_cg = cgroup_id;
	pending_n += n;
}

static uint32_t in_flight(struct flow *f)
{
	pending_n = 0;
	flow_foreach_pending(f, sum_pending, NULL);
	return pending_n;
}

/* In flight: sent, response not seen to its end; a connection that closes with requests
 * unanswered takes them with it (the gauge cannot only climb). */
static void test_in_flight(void **state)
{
	const char *rq = "GET /a HTTP/1.1\r\nHost: h.example\r\n\r\n";
	const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab";
	struct flow *f = new_flow(0);

	(void)state;
	connect_rec(f, 1 * SEC, &CURL, 1, SERVER);
	assert_int_equal(in_flight(f), 0);
	out(f, 2 * SEC, &CURL, 1, rq);
	out(f, 2 * SEC, &CURL, 1, rq);
	assert_int_equal(in_flight(f), 2);
	assert_int_equal(pending_cg, CG_AGENTS);
	in(f, 3 * SEC, &CURL, 1, head); /* half a body: the first is still being answered */
	assert_int_equal(in_flight(f), 2);
	in(f, 3 * SEC, &CURL, 1, "cd");
	assert_int_equal(in_flight(f), 1);
	close_rec(f, 4 * SEC, &CURL, 1);
	assert_int_equal(in_flight(f), 0);
	done(f);
}

static void test_pipelined(void **state)
{
	const char *ra = "GET /a HTTP/1.1\r\nHost: h.example\r\n\r\n";
	const char *rb = "POST /b HTTP/1.1\r\nHost: h.example\r\nContent-Length: 4\r\n\r\nbody";
	const char *rc = "GET /c?q=1 HTTP/1.1\r\nHost: h.example\r\n\r\n";
	const char *sa = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	const char *sb = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
	const char *sc = "HTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nx";
	char buf[1024];
	struct flow *f = new_flow(0);

	(void)state;
	snprintf(buf, sizeof(buf), "%s%s%s", ra, rb, rc);
	out(f, 1 * SEC, &CURL, 1, buf);
	assert_int_equal(nseen, 3);
	check_req(obs(0, OBS_REQUEST), "GET", "h.example", "/a", NULL);
	check_req(obs(1, OBS_REQUEST), "POST", "h.example", "/b", NULL);
	check_req(obs(2, OBS_REQUEST), "GET", "h.example", "/c", "q=1");
	/* each its own size; the last what was left of the write */
	assert_int_equal(obs(0, OBS_REQUEST)->bytes, strlen(ra));
	assert_int_equal(obs(1, OBS_REQUEST)->bytes, strlen(rb));
	assert_int_equal(obs(2, OBS_REQUEST)->bytes, strlen(rc));

	snprintf(buf, sizeof(buf), "%s%s%s", sa, sb, sc);
	in(f, 2 * SEC, &CURL, 1, buf);
	assert_int_equal(nseen, 6);
	assert_int_equal(obs(3, OBS_RESPONSE)->status, 200);
	check_req(obs(3, OBS_RESPONSE), "GET", "h.example", "/a", NULL);
	assert_int_equal(obs(3, OBS_RESPONSE)->bytes, strlen(sa));
	assert_int_equal(obs(4, OBS_RESPONSE)->status, 404);
	check_req(obs(4, OBS_RESPONSE), "POST", "h.example", "/b", NULL);
	assert_int_equal(obs(4, OBS_RESPONSE)->bytes, strlen(sb));
	assert_int_equal(obs(5, OBS_RESPONSE)->status, 201);
	check_req(obs(5, OBS_RESPONSE), "GET", "h.example", "/c", "q=1");
	assert_int_equal(obs(5, OBS_RESPONSE)->bytes, strlen(sc));
	assert_int_equal(flow_stats(f)->orphan_responses, 0);
	assert_int_equal(flow_stats(f)->requests, 3);
	assert_int_equal(flow_stats(f)->responses, 3);
	done(f);
}

static void test_interim_100(void **state)
{
	const char *rq = "POST /upload HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
			 "Content-Length: 5\r\n\r\n";
	struct flow *f = new_flow(0);

	(void)state;
	out(f, 1 * SEC, &CURL, 1, rq);
	in(f, 2 * SEC, &CURL, 1, "HTTP/1.1 100 Continue\r\n\r\n");
	assert_int_equal(nseen, 1);
	out(f, 2 * SEC + 1, &CURL, 1, "hello"); /* the body: not a request */
	in(f, 3 * SEC, &CURL, 1, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(nseen, 2);
	assert_int_equal(obs(1, OBS_RESPONSE)->status, 200);
	check_req(obs(1, OBS_RESPONSE), "POST", "h", "/upload", NULL);
	/* the final response is the one timed */
	assert_true(obs(1, OBS_RESPONSE)->latency_ms == 2000.0);

	/* interim and final response in one read */
	out(f, 4 * SEC, &CURL, 1, rq);
	in(f, 5 * SEC, &CURL, 1, "HTTP/1.1 100 Continue\r\n\r\n"
				 "HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(nseen, 4);
	assert_int_equal(obs(3, OBS_RESPONSE)->status, 413);
	check_req(obs(3, OBS_RESPONSE), "POST", "h", "/upload", NULL);
	assert_int_equal(flow_stats(f)->orphan_responses, 0);
	assert_int_equal(flow_stats(f)->responses, 2);
	done(f);
}

static void test_no_body(void **state)
{
	const char *h200 = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
	struct flow *f = new_flow(0);

	(void)state;
	/* HEAD: the Content-Length describes the GET, no body follows */
	out(f, 1 * SEC, &CURL, 1, "HEAD /big HTTP/1.1\r\n\r\n");
	in(f, 2 * SEC, &CURL, 1, h200);
	assert_int_equal(nseen, 2);
	check_req(obs(1, OBS_RESPONSE), "HEAD", NULL, "/big", NULL);
	assert_int_equal(obs(1, OBS_RESPONSE)->bytes, strlen(h200));
	/* 204 and 304 */
	out(f, 3 * SEC, &CURL, 1, "DELETE /x HTTP/1.1\r\n\r\n");
	in(f, 4 * SEC, &CURL, 1, "HTTP/1.1 204 No Content\r\n\r\n");
	assert_int_equal(nseen, 4);
	assert_int_equal(obs(3, OBS_RESPONSE)->status, 204);
	out(f, 5 * SEC, &CURL, 1, "GET /cached HTTP/1.1\r\n\r\n");
	in(f, 6 * SEC, &CURL, 1, "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n");
	assert_int_equal(nseen, 6);
	assert_int_equal(obs(5, OBS_RESPONSE)->status, 304);
	/* a GET's 200 with the same head waits for its body */
	out(f, 7 * SEC, &CURL, 1, "GET /big HTTP/1.1\r\n\r\n");
	in(f, 8 * SEC, &CURL, 1, h200);
	assert_int_equal(nseen, 7);
	done(f);
}

static void test_h2_preface(void **state)
{
	static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
				      "\x00\x00\x00\x04\x00\x00\x00\x00\x00";
	struct flow *f = new_flow(0);
	const struct tg_obs *o;

	(void)state;
	/* plaintext (prior knowledge): reported per connection */
	payload_cap(f, 1 * SEC, &CURL, TG_SRC_SKB, TG_DIR_OUT, 1, &SERVER, preface,
		    sizeof(preface) - 1, TG_CAP_DEFAULT);
	assert_int_equal(nseen, 1);
	o = obs(0, OBS_REQUEST);
	assert_int_equal(o->http, OBS_HTTP_H2);
	check_req(o, NULL, NULL, NULL, NULL);
	assert_string_equal(o->auth_fp, "");
	assert_int_equal(o->bytes, sizeof(preface) - 1);
	check_who(o, &CURL);
	/* nothing after it is HTTP/1: neither requests nor responses */
	out(f, 2 * SEC, &CURL, 1, "GET /not-h1 HTTP/1.1\r\n\r\n");
	in(f, 3 * SEC, &CURL, 1, "HTTP/1.1 200 OK\r\n\r\n");
	assert_int_equal(nseen, 1);
	assert_int_equal(flow_stats(f)->h2_prefaces, 1);
	assert_int_equal(flow_stats(f)->orphan_responses, 0);
	flow_drain(f);
	assert_int_equal(nseen, 1);
	done(f);
}

/* An HTTP/2 piece of TLS session @conn_id (tollgate_abi.h), captured whole. */
static void h2_piece_on(struct flow *f, uint64_t conn_id, uint64_t ts, int dir, int kind,
			uint32_t seq, const uint8_t *data, size_t n)
{
	size_t size = sizeof(struct tg_payload_event) + n;
	struct tg_payload_event *e = calloc(1, size);

	assert_non_null(e);
	hdr(&e->hdr, TG_EV_PAYLOAD, size, ts, &PY);
	e->conn_id = conn_id;
	e->len = (__u32)n;
	e->cap_len = (__u16)n;
	e->dir = (__u8)dir;
	e->source = TG_SRC_OPENSSL;
	e->kind = (__u8)kind;
	e->seq = seq;
	memcpy(e->data, data, n);
	feed(f, e, size);
	free(e);
}

static void h2_piece(struct flow *f, uint64_t ts, int dir, int kind, uint32_t seq,
		     const uint8_t *data, size_t n)
{
	h2_piece_on(f, 0x77, ts, dir, kind, seq, data, n);
}

/* A frame: 9-byte header (RFC 9113 4.1) and payload, into @out; returns its size. */
static size_t frame(uint8_t *out, uint8_t type, uint8_t flags, uint32_t stream,
		    const uint8_t *p, size_t n)
{
	uint8_t h[9] = {(uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n, type, flags,
			(uint8_t)(stream >> 24), (uint8_t)(stream >> 16), (uint8_t)(stream >> 8),
			(uint8_t)stream};
	memcpy(out, h, 9);
	if (n)
		memcpy(out + 9, p, n);
	return 9 + n;
}

#define NV(n, v)                                                                          \
	{ (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, sizeof(v) - 1, NGHTTP2_NV_FLAG_NONE }

/* HEADERS (END_HEADERS, and END_STREAM when @end) of @nv encoded with @def. */
static size_t headers(uint8_t *out, nghttp2_hd_deflater *def, uint32_t stream, int end,
		      const nghttp2_nv *nv, size_t n)
{
	uint8_t blk[1024];
	ssize_t len = nghttp2_hd_deflate_hd(def, blk, sizeof(blk), nv, n);

	assert_true(len > 0);
	return frame(out, 1, (uint8_t)(0x4 | (end ? 0x1 : 0)), stream, blk, (size_t)len);
}

/* HTTP/2 over TLS: a request per HEADERS frame (held until the bind), responses paired
 * by stream in any order, the response's size from its DATA frames, and a piece missing
 * in the sequence stops the direction, counted. */
static void test_h2_streams(void **state)
{
	static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	static const uint8_t body[100];
	const struct tg_addr remote = ip4(127, 0, 0, 1, 8443);
	nghttp2_nv r1[] = {NV(":method", "GET"), NV(":scheme", "https"),
			   NV(":authority", "api.example.com"), NV(":path", "/api/customers/1"),
			   NV("authorization", "Bearer abc")};
	nghttp2_nv r2[] = {NV(":method", "GET"), NV(":scheme", "https"),
			   NV(":authority", "api.example.com"),
			   NV(":path", "/api/customers/2?api_key=abc")};
	nghttp2_nv ok[] = {NV(":status", "200")};
	nghttp2_nv limited[] = {NV(":status", "429"), NV("retry-after", "5")};
	nghttp2_hd_deflater *cdef, *sdef;
	uint8_t b[2048];
	size_t n;
	struct flow *f = new_flow(0);
	const struct tg_obs *o;

	(void)state;
	assert_int_equal(nghttp2_hd_deflate_new(&cdef, 4096), 0);
	assert_int_equal(nghttp2_hd_deflate_new(&sdef, 4096), 0);
	memcpy(b, preface, 24);
	n = 24 + frame(b + 24, 4, 0, 0, NULL, 0);
	h2_piece(f, 1 * SEC, TG_DIR_OUT, TG_KIND_H2_PREFACE, 0, b, n);
	assert_int_equal(nseen, 0);
	assert_int_equal(flow_stats(f)->h2_prefaces, 1);
	n = headers(b, cdef, 1, 1, r1, 5);
	h2_piece(f, 1 * SEC + 10, TG_DIR_OUT, TG_KIND_H2_FRAMES, 1, b, n);
	assert_int_equal(nseen, 0); /* held until the bind */
	bind_rec(f, 1 * SEC + 20, &PY, 0x77, 3, remote);
	assert_int_equal(nseen, 1);
	o = obs(0, OBS_REQUEST);
	assert_int_equal(o->http, OBS_HTTP_H2);
	assert_int_equal(o->tls, TG_SRC_OPENSSL);
	check_req(o, "GET", "api.example.com", "/api/customers/1", NULL);
	assert_string_equal(o->tpl, "/api/customers/{id}");
	assert_string_equal(o->auth_fp, FP_ABC);
	check_addr(o, &remote);
	n = headers(b, cdef, 3, 1, r2, 4);
	h2_piece(f, 2 * SEC, TG_DIR_OUT, TG_KIND_H2_FRAMES, 2, b, n);
	check_req(obs(1, OBS_REQUEST), "GET", "api.example.com", "/api/customers/2",
		  "api_key=REDACTED");
	assert_string_equal(obs(1, OBS_REQUEST)->auth_fp, FP_ABC);

	/* the server: SETTINGS, stream 3's 429 first, then stream 1's 200 and its body */
	n = frame(b, 4, 0, 0, NULL, 0);
	n += headers(b + n, sdef, 3, 1, limited, 2);
	h2_piece(f, 3 * SEC, TG_DIR_IN, TG_KIND_H2_FRAMES, 0, b, n);
	assert_int_equal(nseen, 3);
	o = obs(2, OBS_RESPONSE);
	assert_int_equal(o->http, OBS_HTTP_H2);
	assert_int_equal(o->status, 429);
	assert_int_equal(o->retry_after_s, 5);
	check_req(o, "GET", "api.example.com", "/api/customers/2", "api_key=REDACTED");
	assert_true(o->latency_ms > 999 && o->latency_ms < 1001);
	n = headers(b, sdef, 1, 0, ok, 1);
	size_t hn = n;
	h2_piece(f, 4 * SEC, TG_DIR_IN, TG_KIND_H2_FRAMES, 1, b, n);
	assert_int_equal(nseen, 3); /* the body is to come */
	n = frame(b, 0, 0x1, 1, body, sizeof(body));
	h2_piece(f, 4 * SEC + 5, TG_DIR_IN, TG_KIND_H2_FRAMES, 2, b, n);
	assert_int_equal(nseen, 4);
	o = obs(3, OBS_RESPONSE);
	assert_int_equal(o->status, 200);
	check_req(o, "GET", "api.example.com", "/api/customers/1", NULL);
	assert_int_equal(o->bytes, hn + 9 + sizeof(body));
	assert_int_equal(flow_stats(f)->h2_lost, 0);

	/* piece 4 of the client's direction arrives, piece 3 never did */
	n = headers(b, cdef, 5, 1, r1, 5);
	h2_piece(f, 5 * SEC, TG_DIR_OUT, TG_KIND_H2_FRAMES, 4, b, n);
	assert_int_equal(flow_stats(f)->h2_lost, 1);
	h2_piece(f, 5 * SEC, TG_DIR_OUT, TG_KIND_H2_FRAMES, 5, b, n);
	assert_int_equal(nseen, 4);
	assert_int_equal(flow_stats(f)->h2_lost, 1);
	assert_int_equal(flow_stats(f)->requests, 2);
	assert_int_equal(flow_stats(f)->responses, 2);
	flow_drain(f);
	assert_int_equal(nseen, 4);
	nghttp2_hd_deflate_del(cdef);
	nghttp2_hd_deflate_del(sdef);
	done(f);
}

/* At most FLOW_MAX_H2 connections hold HPACK decoders: one more is counted (both its
 * directions lost), not decoded; once one closes, a new one is decoded again. */
static void test_h2_decoder_bound(void **state)
{
	static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	nghttp2_nv r1[] = {NV(":method", "GET"), NV(":scheme", "https"),
			   NV(":authority", "api.example.com"), NV(":path", "/x")};
	nghttp2_hd_deflater *def;
	uint8_t b[512];
	size_t n;
	struct flow *f = new_flow(0);

	(void)state;
	for (uint64_t i = 0; i < FLOW_MAX_H2 + 1; i++)
		h2_piece_on(f, 0x1000 + i, 1 * SEC, TG_DIR_OUT, TG_KIND_H2_PREFACE, 0,
			    (const uint8_t *)preface, 24);
	assert_int_equal(flow_stats(f)->h2_prefaces, FLOW_MAX_H2 + 1);
	assert_int_equal(flow_stats(f)->h2_lost, 2);
	assert_int_equal(nghttp2_hd_deflate_new(&def, 4096), 0);
	n = headers(b, def, 1, 1, r1, 4);
	h2_piece_on(f, 0x1000 + FLOW_MAX_H2, 2 * SEC, TG_DIR_OUT, TG_KIND_H2_FRAMES, 1, b, n);
	h2_piece_on(f, 0x1000, 2 * SEC, TG_DIR_OUT, TG_KIND_H2_FRAMES, 1, b, n);
	flow_release_due(f, 2 * SEC + FLOW_BIND_WAIT_NS); /* no bind: released unbound */
	assert_int_equal(flow_stats(f)->requests, 1); /* the first connection's only */
	nghttp2_hd_deflate_del(def);
	/* the connections go idle and are forgotten: a new one is decoded */
	flow_tick(f, 1 * SEC + FLOW_CONN_IDLE_NS + 1);
	h2_piece_on(f, 0x9999, 400 * SEC, TG_DIR_OUT, TG_KIND_H2_PREFACE, 0,
		    (const uint8_t *)preface, 24);
	assert_int_equal(flow_stats(f)->h2_lost, 2);
	done(f);
}

static void test_credentials(void **state)
{
	struct flow *f = new_flow(0);
	const struct tg_obs *o;

	(void)state;
	out(f, 1 * SEC, &CURL, 1, "GET /s?user=bob&api_key=abc&sig=xyz HTTP/1.1\r\n"
				  "Cookie: session=1\r\n\r\n");
	o = obs(0, OBS_REQUEST);
	check_req(o, "GET", NULL, "/s", "user=bob&api_key=REDACTED&sig=REDACTED");
	/* the query's first secret beats the Cookie */
	assert_string_equal(o->auth_fp, FP_ABC);
	out(f, 2 * SEC, &CURL, 2, "GET /p HTTP/1.1\r\nX-Api-Key: abc\r\n\r\n");
	check_req(obs(1, OBS_REQUEST), "GET", NULL, "/p", NULL);
	assert_string_equal(obs(1, OBS_REQUEST)->auth_fp, FP_ABC);
	out(f, 3 * SEC, &CURL, 3, "GET /n?page=2 HTTP/1.1\r\n\r\n");
	check_req(obs(2, OBS_REQUEST), "GET", NULL, "/n", "page=2");
	assert_string_equal(obs(2, OBS_REQUEST)->auth_fp, "");
	/* absolute-form userinfo is neither the host nor anywhere else */
	out(f, 4 * SEC, &CURL, 4, "GET http://alice:abc@proxy.example/x HTTP/1.1\r\n\r\n");
	check_req(obs(3, OBS_REQUEST), "GET", "proxy.example", "/x", NULL);
	done(f);
}

static void test_orphans_and_bad_heads(void **state)
{
	struct flow *f = new_flow(0);

	(void)state;
	/* a response on a connection never seen */
	in(f, 1 * SEC, &CURL, 50, "HTTP/1.1 200 OK\r\n\r\n");
	assert_int_equal(flow_stats(f)->orphan_responses, 1);
	in(f, 1 * SEC, &CURL, 50, "some body bytes");
	assert_int_equal(flow_stats(f)->unmatched_bytes, 15);
	assert_int_equal(nseen, 0);
	assert_int_equal(flow_conn_count(f), 0);
	/* not HTTP, and bodies of unknown connections: nothing */
	out(f, 1 * SEC, &CURL, 51, "\x16\x03\x01\x01\x05hello");
	assert_int_equal(nseen, 0);
	assert_int_equal(flow_conn_count(f), 0);
	/* looks like a request, is not one: counted, not reported */
	out(f, 2 * SEC, &CURL, 52, "GET /x HTTP/2.0\r\n\r\n");
	assert_int_equal(flow_stats(f)->bad_heads, 1);
	assert_int_equal(nseen, 0);
	/* a bad status line on a connection waiting for its response */
	out(f, 3 * SEC, &CURL, 53, "GET /y HTTP/1.1\r\n\r\n");
	in(f, 4 * SEC, &CURL, 53, "HTTP/1.1 2x0 Bad\r\n\r\n");
	assert_int_equal(flow_stats(f)->bad_heads, 2);
	assert_int_equal(nseen, 1);
	/* the request still pairs with a good response */
	in(f, 5 * SEC, &CURL, 53, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(nseen, 2);
	check_req(obs(1, OBS_RESPONSE), "GET", NULL, "/y", NULL);
	assert_int_equal(flow_stats(f)->orphan_responses, 1);
	done(f);
}

static void test_truncated_line(void **state)
{
	char rq[2048];
	struct flow *f = new_flow(0);
	const struct tg_obs *o;

	(void)state;
	/* a request line longer than the capture */
	memset(rq, 0, sizeof(rq));
	strcpy(rq, "GET /long?sig=");
	memset(rq + strlen(rq), 'a', 1500);
	strcat(rq, " HTTP/1.1\r\nHost: h\r\n\r\n");
	payload_cap(f, 1 * SEC, &CURL, TG_SRC_SKB, TG_DIR_OUT, 1, &SERVER, rq, strlen(rq), 256);
	assert_int_equal(nseen, 1);
	o = obs(0, OBS_REQUEST);
	assert_int_equal(o->truncated, 1);
	check_req(o, "GET", NULL, "/long", "sig=REDACTED");
	assert_int_equal(o->bytes, strlen(rq));
	assert_int_equal(flow_stats(f)->truncated_heads, 1);
	/* a 64-byte capture cut inside the version: "GET " + 56-byte path + " HTT" */
	snprintf(rq, sizeof(rq), "GET /%.55s HTTP/1.1\r\nHost: h\r\n\r\n",
		 "cutcutcutcutcutcutcutcutcutcutcutcutcutcutcutcutcutcutcutcut");
	payload_cap(f, 2 * SEC, &CURL, TG_SRC_SKB, TG_DIR_OUT, 2, &SERVER, rq, strlen(rq),
		    TG_CAP_MIN);
	assert_int_equal(nseen, 2);
	assert_int_equal(strlen(obs(1, OBS_REQUEST)->path), 56);
	assert_memory_equal(obs(1, OBS_REQUEST)->path, "/cutcut", 7);
	assert_int_equal(obs(1, OBS_REQUEST)->truncated, 1);
	assert_int_equal(flow_stats(f)->bad_heads, 0);
	done(f);
}

static void test_eviction(void **state)
{
	struct flow *f = new_flow(2);

	(void)state;
	/* two TLS sessions hold unbound requests; a third evicts the least recently used,
	 * whose request is emitted then, not lost */
	tls_out(f, 1 * SEC, &PY, 0xa, "GET /a HTTP/1.1\r\n\r\n");
	tls_out(f, 2 * SEC, &PY, 0xb, "GET /b HTTP/1.1\r\n\r\n");
	assert_int_equal(nseen, 0);
	assert_int_equal(flow_conn_count(f), 2);
	tls_out(f, 3 * SEC, &PY, 0xc, "GET /c HTTP/1.1\r\n\r\n");
	assert_int_equal(flow_stats(f)->conn_evictions, 1);
	assert_int_equal(flow_conn_count(f), 2);
	assert_int_equal(nseen, 1);
	check_req(obs(0, OBS_REQUEST), "GET", NULL, "/a", NULL);
	/* activity moves a connection to the back: b is used again, so c goes next */
	tls_out(f, 4 * SEC, &PY, 0xb, "more body bytes");
	tls_out(f, 5 * SEC, &PY, 0xd, "GET /d HTTP/1.1\r\n\r\n");
	assert_int_equal(flow_stats(f)->conn_evictions, 2);
	assert_int_equal(nseen, 2);
	check_req(obs(1, OBS_REQUEST), "GET", NULL, "/c", NULL);
	/* an evicted connection's response in progress is finished too: b's request is
	 * still held (no bind), its response open (no length) */
	tls_in(f, 6 * SEC, &PY, 0xb, "HTTP/1.1 200 OK\r\n\r\n");
	assert_int_equal(nseen, 2);
	tls_out(f, 7 * SEC, &PY, 0xd, "x"); /* touch d: b is now the oldest */
	tls_out(f, 8 * SEC, &PY, 0xe, "GET /e HTTP/1.1\r\n\r\n");
	assert_int_equal(flow_stats(f)->conn_evictions, 3);
	assert_int_equal(nseen, 4);
	check_req(obs(2, OBS_REQUEST), "GET", NULL, "/b", NULL);
	assert_int_equal(obs(3, OBS_RESPONSE)->status, 200);
	check_req(obs(3, OBS_RESPONSE), "GET", NULL, "/b", NULL);
	assert_int_equal(flow_conn_count(f), 2);
	done(f);
}

#define T(f) cmocka_unit_test_teardown(f, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_plain_pair),
		T(test_post_bytes_and_retry_after),
		T(test_pid_fallback),
		T(test_comm_full_length),
		T(test_comm_sanitized),
		T(test_tls_bind),
		T(test_tls_release_due),
		T(test_response_content_length),
		T(test_response_next_request),
		T(test_response_close_tick_drain),
		T(test_pipelined),
		T(test_in_flight),
		T(test_interim_100),
		T(test_no_body),
		T(test_h2_preface),
		T(test_h2_streams),
		T(test_h2_decoder_bound),
		T(test_credentials),
		T(test_orphans_and_bad_heads),
		T(test_truncated_line),
		T(test_eviction),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
