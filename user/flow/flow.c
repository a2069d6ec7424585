// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * flow.c - connections, sockets, HTTP/1 request/response pairing. See flow.h; HTTP/2
 * streams are flow_h2.c's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <uthash.h>
#include <utlist.h>

#include "flow_int.h"
#include "http2.h"
#include "http_classify.h"
#include "util.h"

struct sock {
	uint64_t cookie;
	UT_hash_handle hh;
	uint64_t cgroup_id;
	uint32_t pid, tid;
	char comm[17];
	struct tg_addr addr;
	int has_tls;
	struct conn_key tls; /* the TLS session bound to this socket */
};

struct flow *flow_new(const struct flow_config *cfg)
{
	struct flow *f;
	int err = redact_init(); /* the per-process auth_fp key, before any request */

	if (err) {
		errno = -err;
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->cfg = *cfg;
	if (!f->cfg.max_conns)
		f->cfg.max_conns = 65536;
	if (!f->cfg.max_socks)
		f->cfg.max_socks = 65536;
	return f;
}

void flow_foreach_pending(const struct flow *f, flow_pending_fn fn, void *ctx)
{
	struct conn *c, *t;

	HASH_ITER(hh, f->conns, c, t) {
		uint32_t n = (uint32_t)c->depth + (c->resp_req ? 1 : 0);
		if (n)
			fn(ctx, c->cgroup_id, n);
	}
}

void flow_set_clock(struct flow *f, int64_t off)
{
	f->clock_off = off;
}

const struct flow_stats *flow_stats(const struct flow *f)
{
	return &f->st;
}

uint32_t flow_conn_count(const struct flow *f)
{
	return f->nconns;
}

/* A comm from a record (TG_COMM_LEN bytes, any bytes the process chose) into @dst
 * (TG_COMM_LEN + 1): where a process name enters the pipeline, so it is made printable
 * UTF-8 here once (name_sanitize) for metrics labels, JSON and terminals. */
static void copy_comm(char *dst, const char *src)
{
	name_sanitize(dst, TG_COMM_LEN + 1, src, TG_COMM_LEN);
}

/* ---- observations ---- */

static void obs_base(struct flow *f, struct tg_obs *o, int type, uint64_t ts, uint64_t cg,
		     uint32_t pid, uint32_t tid, const char *comm)
{
	memset(o, 0, sizeof(*o));
	o->type = type;
	o->ts_ns = ts + (uint64_t)f->clock_off;
	o->cgroup_id = cg;
	o->cgroup = f->cfg.cgroup ? f->cfg.cgroup(f->cfg.ctx, cg) : NULL;
	o->pid = pid;
	o->tid = tid;
	copy_comm(o->comm, comm);
	o->retry_after_s = -1;
	o->latency_ms = -1;
}

static void obs_addr(struct tg_obs *o, const struct tg_addr *a)
{
	if (!a->family)
		return;
	o->has_addr = 1;
	o->family = a->family;
	memcpy(o->daddr, a->daddr, sizeof(o->daddr));
	o->dport = a->dport;
	o->l4 = a->protocol ? a->protocol : TG_IPPROTO_TCP;
}

void flow_emit_request(struct flow *f, struct conn *c, struct preq *q)
{
	struct tg_obs o;

	if (q->emitted)
		return;
	q->emitted = 1;
	obs_base(f, &o, OBS_REQUEST, q->ts, q->cgroup_id, q->pid, q->tid, q->comm);
	if (c->has_addr)
		obs_addr(&o, &c->addr);
	o.http = q->http;
	o.tls = c->key.source == TG_SRC_SKB ? 0 : (int)c->key.source;
	o.method = q->method;
	o.host = q->host;
	o.path = q->path;
	o.tpl = q->tpl;
	o.tpl_info = q->tpl ? &q->ti : NULL;
	o.query = q->query;
	memcpy(o.auth_fp, q->auth_fp, sizeof(o.auth_fp));
	o.truncated = q->truncated;
	o.bytes = q->bytes;
	f->st.requests++;
	f->cfg.emit(f->cfg.ctx, &o);
}

/* Emit every held request of @c, in order. */
static void release_held(struct flow *f, struct conn *c)
{
	if (c->resp_req)
		flow_emit_request(f, c, c->resp_req);
	for (struct preq *q = c->head; q; q = q->next)
		flow_emit_request(f, c, q);
	if (c->held) {
		DL_DELETE(f->held, c);
		c->held = 0;
	}
}

/* see flow_int.h */
void flow_emit_response(struct flow *f, struct conn *c, const struct preq *q, int http,
			int status, uint64_t bytes, int64_t retry, uint64_t ts)
{
	struct tg_obs o;

	obs_base(f, &o, OBS_RESPONSE, ts, q ? q->cgroup_id : c->cgroup_id, q ? q->pid : c->pid,
		 q ? q->tid : c->tid, q ? q->comm : c->comm);
	if (c->has_addr)
		obs_addr(&o, &c->addr);
	o.http = http;
	o.tls = c->key.source == TG_SRC_SKB ? 0 : (int)c->key.source;
	o.status = status;
	o.bytes = bytes;
	o.retry_after_s = retry;
	if (q) {
		o.method = q->method;
		o.host = q->host;
		o.path = q->path;
		o.tpl = q->tpl;
		o.tpl_info = q->tpl ? &q->ti : NULL;
		o.query = q->query;
		o.latency_ms = ts >= q->ts ? (double)(ts - q->ts) / 1e6 : 0;
	}
	f->st.responses++;
	f->cfg.emit(f->cfg.ctx, &o);
}

void flow_finish_response(struct flow *f, struct conn *c)
{
	struct preq *q = c->resp_req;

	if (!c->resp_active)
		return;
	if (q)
		flow_emit_request(f, c, q);
	flow_emit_response(f, c, q, c->resp_http, c->resp_status, c->resp_bytes, c->resp_retry,
			   c->resp_ts);
	free(q);
	c->resp_req = NULL;
	c->resp_active = 0;
}

/* ---- connections ---- */

static struct conn *conn_find(struct flow *f, const struct conn_key *k)
{
	struct conn *c;

	HASH_FIND(hh, f->conns, k, sizeof(*k), c);
	return c;
}

static void conn_free(struct flow *f, struct conn *c)
{
	struct preq *q, *n;

	flow_finish_response(f, c);
	release_held(f, c);
	if (c->h2_out)
		flow_h2_stop(f, c); /* reports the HTTP/2 responses cut short */
	for (q = c->head; q; q = n) {
		n = q->next;
		free(q);
	}
	HASH_DEL(f->conns, c);
	f->nconns--;
	free(c);
}

/* Move @c to the most-recently-used end of the table. */
static void conn_touch(struct flow *f, struct conn *c, uint64_t ts)
{
	c->last_ts = ts;
	if (c->hh.next) { /* to the end of the LRU order, unless it is there already */
		HASH_DEL(f->conns, c);
		HASH_ADD(hh, f->conns, key, sizeof(c->key), c);
	}
}

static struct conn *conn_new(struct flow *f, const struct conn_key *k, const struct tg_hdr *h)
{
	struct conn *c;

	if (f->nconns >= f->cfg.max_conns && f->conns) {
		f->st.conn_evictions++;
		conn_free(f, f->conns); /* the head is the least recently used */
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->key = *k;
	c->cgroup_id = h->cgroup_id;
	c->pid = h->pid;
	c->tid = h->tid;
	copy_comm(c->comm, h->comm);
	c->resp_expect = -1;
	HASH_ADD(hh, f->conns, key, sizeof(c->key), c);
	f->nconns++;
	return c;
}

/* ---- sockets ---- */

static struct sock *sock_find(struct flow *f, uint64_t cookie)
{
	struct sock *s;

	HASH_FIND(hh, f->socks, &cookie, sizeof(cookie), s);
	return s;
}

static void on_connect(struct flow *f, const struct tg_connect_event *e)
{
	struct sock *s = sock_find(f, e->cookie);
	struct tg_obs o;

	if (!s) {
		if (HASH_COUNT(f->socks) >= f->cfg.max_socks && f->socks) {
			struct sock *old = f->socks;
			HASH_DEL(f->socks, old);
			free(old);
			f->st.sock_evictions++;
		}
		s = calloc(1, sizeof(*s));
		if (s) {
			s->cookie = e->cookie;
			HASH_ADD(hh, f->socks, cookie, sizeof(s->cookie), s);
		}
	}
	if (s) {
		s->cgroup_id = e->hdr.cgroup_id;
		s->pid = e->hdr.pid;
		s->tid = e->hdr.tid;
		copy_comm(s->comm, e->hdr.comm);
		s->addr = e->addr;
	}
	obs_base(f, &o, OBS_CONNECT, e->hdr.ts_ns, e->hdr.cgroup_id, e->hdr.pid, e->hdr.tid,
		 e->hdr.comm);
	obs_addr(&o, &e->addr);
	f->cfg.emit(f->cfg.ctx, &o);
}

static void on_close(struct flow *f, const struct tg_close_event *e)
{
	struct sock *s = sock_find(f, e->cookie);
	struct conn_key k = {.id = e->cookie, .pid = 0, .source = TG_SRC_SKB};
	struct conn *c = conn_find(f, &k);
	struct tg_obs o;

	if (c)
		conn_free(f, c);
	if (s && s->has_tls && (c = conn_find(f, &s->tls)))
		conn_free(f, c);
	obs_base(f, &o, OBS_CLOSE, e->hdr.ts_ns, e->hdr.cgroup_id, e->hdr.pid, e->hdr.tid,
		 e->hdr.comm);
	if (s) {
		obs_addr(&o, &s->addr);
		HASH_DEL(f->socks, s);
		free(s);
	}
	f->cfg.emit(f->cfg.ctx, &o);
}

static void on_bind(struct flow *f, const struct tg_tls_bind_event *e)
{
	struct conn_key k = {.id = e->conn_id, .pid = e->hdr.pid, .source = TG_SRC_OPENSSL};
	struct conn *c = conn_find(f, &k);
	struct sock *s;

	if (!c) {
		k.source = TG_SRC_GNUTLS;
		c = conn_find(f, &k);
	}
	if (!c)
		return;
	c->has_addr = 1;
	c->addr = e->addr;
	s = sock_find(f, e->cookie);
	if (s) {
		s->has_tls = 1;
		s->tls = c->key;
	}
	release_held(f, c);
}

/* ---- requests ---- */

static char *put_str(char **cursor, const char *s, size_t n, int lower)
{
	char *d = *cursor;

	for (size_t i = 0; i < n; i++)
		d[i] = (lower && s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
	d[n] = 0;
	*cursor = d + n + 1;
	return d;
}

struct preq *flow_make_req(const struct http_request *r, const struct tg_hdr *h,
			   uint64_t wire_len)
{
	char q[TG_CAP_MAX * 3 + 16], tpl[TPL_MAX];
	struct http_span secret = {NULL, 0};
	struct tpl_info ti;
	size_t qn = 0, tn = 0;
	struct preq *p;

	if (r->query.p)
		qn = redact_query(r->query.p, r->query.n, q, sizeof(q), &secret);
	if (r->path.p)
		tn = tpl_path(r->path.p, r->path.n, tpl, sizeof(tpl), &ti);
	size_t need = r->method.n + r->host.n + r->path.n + tn + qn + 5;
	p = calloc(1, sizeof(*p) + need);
	if (!p)
		return NULL;
	char *cur = p->strs;
	p->method = put_str(&cur, r->method.p, r->method.n, 0);
	p->host = r->host.p ? put_str(&cur, r->host.p, r->host.n, 1) : NULL;
	p->path = r->path.p ? put_str(&cur, r->path.p, r->path.n, 0) : NULL;
	if (r->path.p) {
		p->tpl = put_str(&cur, tpl, tn, 0);
		p->ti = ti;
	}
	p->query = r->query.p ? put_str(&cur, q, qn, 0) : NULL;
	if (!redact_auth_fp(r, secret, p->auth_fp))
		p->auth_fp[0] = 0;
	p->ts = h->ts_ns;
	p->cgroup_id = h->cgroup_id;
	p->pid = h->pid;
	p->tid = h->tid;
	copy_comm(p->comm, h->comm);
	p->http = r->version == 10 ? OBS_HTTP_10 : OBS_HTTP_11;
	p->is_head = http_span_ieq(r->method, "head");
	p->truncated = r->line_truncated;
	if (r->header_len && r->content_length >= 0 && !r->chunked)
		p->bytes = r->header_len + (uint64_t)r->content_length;
	else
		p->bytes = wire_len;
	return p;
}

void flow_enqueue(struct flow *f, struct conn *c, struct preq *q)
{
	if (c->depth >= (c->h2_out ? FLOW_MAX_STREAMS : FLOW_MAX_PIPELINE)) {
		struct preq *old = c->head;
		flow_emit_request(f, c, old);
		c->head = old->next;
		if (!c->head)
			c->tail = NULL;
		c->depth--;
		free(old);
		f->st.pipeline_drops++;
	}
	if (c->tail)
		c->tail->next = q;
	else
		c->head = q;
	c->tail = q;
	c->depth++;
}

static struct preq *dequeue(struct conn *c)
{
	struct preq *q = c->head;

	if (!q)
		return NULL;
	c->head = q->next;
	if (!c->head)
		c->tail = NULL;
	c->depth--;
	q->next = NULL;
	return q;
}

/* see flow_int.h */
void flow_request_seen(struct flow *f, struct conn *c, struct preq *q)
{
	if (c->key.source == TG_SRC_SKB || c->has_addr) {
		flow_emit_request(f, c, q);
		return;
	}
	if (!c->held) {
		c->held = 1;
		c->held_since = q->ts;
		DL_APPEND(f->held, c);
	}
}

static void on_request_bytes(struct flow *f, struct conn *c, const struct tg_payload_event *p,
			     const struct tg_hdr *h)
{
	const char *buf = (const char *)p->data;
	size_t cap = p->cap_len, off = 0;
	struct http_request r;

	if (p->kind == TG_KIND_H2_PREFACE && c->key.source != TG_SRC_SKB) {
		flow_h2_start(f, c, p, h);
		return;
	}
	if (p->kind == TG_KIND_H2_FRAMES) {
		if (c->h2_out)
			flow_h2_feed(f, c, p, h);
		return;
	}
	if (p->kind == TG_KIND_H2_PREFACE) {
		/* HTTP/2 in plaintext (prior knowledge, RFC 9113 3.3): the skb hooks see
		 * segments, not the writes, so it is reported per connection only */
		flow_finish_response(f, c);
		c->opaque = 1;
		f->st.h2_prefaces++;
		struct http_request none = {0};
		none.method = (struct http_span){"", 0};
		struct preq *q = flow_make_req(&none, h, p->len);
		if (!q)
			return;
		q->method = NULL;
		q->http = OBS_HTTP_H2;
		/* not queued: h2 responses are not paired (HTTP/2 decoding comes later) */
		if (c->key.source == TG_SRC_SKB || c->has_addr) {
			flow_emit_request(f, c, q);
			free(q);
		} else {
			flow_enqueue(f, c, q);
			flow_request_seen(f, c, q);
		}
		return;
	}
	if (p->kind != TG_KIND_REQUEST)
		return; /* a request body: counted in the head's Content-Length */
	if (c->h2_out)
		flow_h2_stop(f, c); /* the session address was reused for HTTP/1 */
	flow_finish_response(f, c);
	while (off < cap) {
		int more = p->cap_len < p->len;
		int res = http1_parse_request(buf + off, cap - off, more, &r);
		if (res == HTTP1_BAD) {
			f->st.bad_heads++;
			return;
		}
		if (r.line_truncated)
			f->st.truncated_heads++;
		struct preq *q = flow_make_req(&r, h, off == 0 ? p->len : p->len - off);
		if (!q)
			return;
		/* a request with neither Content-Length nor Transfer-Encoding has no body
		 * (RFC 9112 6.3); an invalid or conflicting Content-Length is unknown */
		int64_t body = r.content_length;
		if (body < 0 && !r.n_headers_dropped && !http1_header(&r, "content-length") &&
		    !http1_header(&r, "transfer-encoding"))
			body = 0;
		size_t next = 0;
		if (res == HTTP1_COMPLETE && !r.chunked && body >= 0)
			next = off + r.header_len + (size_t)body;
		if (next > off && next < cap) {
			size_t n = cap - next < TG_PEEK_LEN ? cap - next : TG_PEEK_LEN;
			if (tg_classify((const __u8 *)buf + next, (__u32)n) == TG_KIND_REQUEST)
				/* pipelined: this one was complete, so its size is known; set
				 * before flow_request_seen() reports it */
				q->bytes = r.header_len + (uint64_t)body;
			else
				next = 0;
		} else {
			next = 0;
		}
		flow_enqueue(f, c, q);
		flow_request_seen(f, c, q);
		if (!next)
			return;
		off = next;
	}
}

/* ---- responses ---- */

static void on_response_bytes(struct flow *f, struct conn *c, const struct tg_payload_event *p,
			      const struct tg_hdr *h)
{
	const char *buf = (const char *)p->data;
	size_t cap = p->cap_len, off = 0;
	struct http_response r;

	if (p->kind == TG_KIND_H2_FRAMES) {
		if (c->h2_in)
			flow_h2_feed(f, c, p, h);
		return;
	}
	if (p->kind != TG_KIND_RESPONSE) {
		if (c->resp_active) {
			c->resp_bytes += p->len;
			if (c->resp_expect >= 0 && c->resp_bytes >= (uint64_t)c->resp_expect)
				flow_finish_response(f, c);
		} else {
			f->st.unmatched_bytes += p->len;
		}
		return;
	}
	while (off < cap) {
		int more = p->cap_len < p->len;
		int res = http1_parse_response(buf + off, cap - off, more, &r);
		if (res == HTTP1_BAD) {
			f->st.bad_heads++;
			if (c->resp_active)
				c->resp_bytes += p->len - off;
			return;
		}
		flow_finish_response(f, c);
		uint64_t rest = p->len - off;
		if (r.status < 200 && r.status != 101) {
			/* an interim response (RFC 9110 15.2): the final one follows */
			if (res != HTTP1_COMPLETE || r.header_len >= cap - off)
				return;
			off += r.header_len;
			continue;
		}
		struct preq *q = dequeue(c);
		if (!q)
			f->st.orphan_responses++;
		c->resp_active = 1;
		c->resp_req = q;
		c->resp_status = r.status;
		c->resp_http = r.version == 10 ? OBS_HTTP_10 : OBS_HTTP_11;
		c->resp_retry = r.retry_after_s;
		c->resp_ts = h->ts_ns;
		c->resp_expect = -1;
		c->resp_bytes = rest;
		if (res == HTTP1_COMPLETE) {
			int64_t body = http1_response_body_len(&r, q && q->is_head);
			if (body >= 0)
				c->resp_expect = (int64_t)r.header_len + body;
		}
		if (r.status == 101) {
			c->opaque = 1; /* switched protocols: no HTTP/1 from here on */
			flow_finish_response(f, c);
			return;
		}
		if (c->resp_expect < 0 || rest < (uint64_t)c->resp_expect)
			return;
		/* complete within this buffer: another response may follow (pipelining) */
		size_t next = off + (size_t)c->resp_expect;
		c->resp_bytes = (uint64_t)c->resp_expect;
		flow_finish_response(f, c);
		if (next >= cap)
			return;
		size_t n = cap - next < TG_PEEK_LEN ? cap - next : TG_PEEK_LEN;
		if (tg_classify((const __u8 *)buf + next, (__u32)n) != TG_KIND_RESPONSE) {
			f->st.unmatched_bytes += p->len - next;
			return;
		}
		off = next;
	}
}

static void on_payload(struct flow *f, const struct tg_payload_event *p)
{
	struct tg_hdr h = p->hdr;
	struct conn_key k = {.id = p->conn_id, .source = p->source};
	struct conn *c;

	if (p->source != TG_SRC_SKB)
		k.pid = h.pid;
	c = conn_find(f, &k);
	if (!c) {
		if (p->dir != TG_DIR_OUT ||
		    (p->kind != TG_KIND_REQUEST && p->kind != TG_KIND_H2_PREFACE)) {
			if (p->dir == TG_DIR_IN && p->kind == TG_KIND_RESPONSE)
				f->st.orphan_responses++;
			else if (p->dir == TG_DIR_IN)
				f->st.unmatched_bytes += p->len;
			return;
		}
		if (!h.pid && p->source == TG_SRC_SKB) {
			struct sock *s = sock_find(f, p->conn_id);
			if (s) {
				h.pid = s->pid;
				h.tid = s->tid;
				memcpy(h.comm, s->comm, sizeof(h.comm));
			}
		}
		c = conn_new(f, &k, &h);
		if (!c)
			return;
		if (p->source == TG_SRC_SKB) {
			c->has_addr = 1;
			c->addr = p->addr;
		}
	}
	conn_touch(f, c, h.ts_ns);
	if (!h.pid) {
		/* sent or received outside the owner's context: the connection's owner */
		h.pid = c->pid;
		h.tid = c->tid;
		memcpy(h.comm, c->comm, sizeof(h.comm));
		h.cgroup_id = c->cgroup_id;
	}
	if (c->opaque)
		return;
	if (p->dir == TG_DIR_OUT)
		on_request_bytes(f, c, p, &h);
	else
		on_response_bytes(f, c, p, &h);
}

void flow_record(struct flow *f, const struct tg_record *r)
{
	switch (r->type) {
	case TG_EV_CONNECT:
		on_connect(f, r->connect);
		break;
	case TG_EV_CLOSE:
		on_close(f, r->close);
		break;
	case TG_EV_PAYLOAD:
		on_payload(f, r->payload);
		break;
	case TG_EV_TLS_BIND:
		on_bind(f, r->bind);
		break;
	default:
		break;
	}
}

void flow_release_due(struct flow *f, uint64_t now)
{
	struct conn *c, *tmp;

	DL_FOREACH_SAFE(f->held, c, tmp) {
		if (now - c->held_since >= FLOW_BIND_WAIT_NS)
			release_held(f, c);
	}
}

void flow_tick(struct flow *f, uint64_t now)
{
	struct conn *c, *tmp;

	flow_release_due(f, now);
	HASH_ITER(hh, f->conns, c, tmp) {
		if (now < c->last_ts)
			continue;
		if (now - c->last_ts >= FLOW_CONN_IDLE_NS)
			conn_free(f, c);
		else if (now - c->last_ts >= FLOW_RESPONSE_IDLE_NS) {
			if (c->resp_active)
				flow_finish_response(f, c);
			if (c->h2_in)
				flow_h2_flush(f, c);
		}
	}
}

uint64_t flow_next_deadline(const struct flow *f)
{
	uint64_t d = 0;
	struct conn *c;

	DL_FOREACH(f->held, c) {
		uint64_t t = c->held_since + FLOW_BIND_WAIT_NS;
		if (!d || t < d)
			d = t;
	}
	return d;
}

void flow_drain(struct flow *f)
{
	struct conn *c, *tmp;

	HASH_ITER(hh, f->conns, c, tmp)
		conn_free(f, c);
}

void flow_free(struct flow *f)
{
	struct sock *s, *stmp;

	if (!f)
		return;
	flow_drain(f);
	HASH_ITER(hh, f->socks, s, stmp) {
		HASH_DEL(f->socks, s);
		free(s);
	}
	free(f);
}
