// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * http1.c - HTTP/1.x message heads, RFC 9112. See http1.h.
 */
#include <string.h>

#include "http1.h"

/* tchar (RFC 9110 5.6.2) */
static int is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return 1;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int is_vchar(unsigned char c)
{
	return c >= 0x21 && c <= 0x7e;
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

int http_span_ieq(struct http_span s, const char *l)
{
	size_t n = strlen(l);

	if (!s.p || s.n != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (lower(s.p[i]) != l[i])
			return 0;
	return 1;
}

/* Find the end of the line starting at @p: returns the offset of the LF (a CR before it is
 * excluded from the line by the caller), or -1 when there is none before @end. RFC 9112 2.2
 * lets a recipient accept a bare LF as a line terminator. */
static long line_end(const char *p, const char *end)
{
	const char *lf = memchr(p, '\n', (size_t)(end - p));
	return lf ? lf - p : -1;
}

static size_t trim_cr(const char *p, size_t len)
{
	return (len > 0 && p[len - 1] == '\r') ? len - 1 : len;
}

/* "HTTP/1.0" or "HTTP/1.1" -> 10/11; 0 otherwise */
static int parse_version(const char *p, size_t n)
{
	if (n != 8 || memcmp(p, "HTTP/1.", 7) != 0)
		return 0;
	if (p[7] == '0')
		return 10;
	if (p[7] == '1')
		return 11;
	return 0;
}

/* Could @p/@n be the start of "HTTP/1.0" or "HTTP/1.1" (a request line cut off in it)? */
static int version_prefix(const char *p, size_t n)
{
	if (n > 8 || memcmp(p, "HTTP/1.", n < 7 ? n : 7) != 0)
		return 0;
	return n < 8 || p[7] == '0' || p[7] == '1';
}

/* 1*DIGIT, no sign, no overflow past 2^62; -1 when invalid */
static int64_t parse_digits(const char *p, size_t n)
{
	int64_t v = 0;

	if (n == 0 || n > 18)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* Does a Transfer-Encoding value end in "chunked" (RFC 9112 6.1)? */
static int te_chunked(struct http_span v)
{
	size_t n = v.n;

	while (n > 0 && (v.p[n - 1] == ' ' || v.p[n - 1] == '\t'))
		n--;
	if (n < 7)
		return 0;
	struct http_span last = {v.p + n - 7, 7};
	if (!http_span_ieq(last, "chunked"))
		return 0;
	return n == 7 || v.p[n - 8] == ',' || v.p[n - 8] == ' ' || v.p[n - 8] == '\t';
}

/* uri-host [":" port], IP-literal included; rejects anything else. */
static int valid_host(struct http_span h)
{
	if (h.n == 0 || h.n > 255)
		return 0;
	for (size_t i = 0; i < h.n; i++) {
		unsigned char c = (unsigned char)h.p[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c && strchr("-._~:[]%!$&'()*+,;=", c))))
			return 0;
	}
	return 1;
}

/*
 * Parse header lines from @p up to @end. Calls back for each well-formed field line. Returns
 * the offset just past the empty line that ends the block, 0 when the block is cut off.
 * Malformed lines (no colon, whitespace before the colon, obs-fold) are skipped: RFC 9112
 * 5.1 and 5.2 say such lines must be rejected or replaced; a monitor must not invent them.
 */
typedef void (*field_cb)(void *ctx, struct http_span name, struct http_span value);

static size_t parse_fields(const char *start, const char *end, field_cb cb, void *ctx)
{
	const char *p = start;

	while (p < end) {
		long le = line_end(p, end);
		if (le < 0)
			return 0;
		size_t len = trim_cr(p, (size_t)le);
		const char *next = p + le + 1;
		if (len == 0)
			return (size_t)(next - start);
		if (p[0] == ' ' || p[0] == '\t') { /* obs-fold */
			p = next;
			continue;
		}
		size_t i = 0;
		while (i < len && is_tchar((unsigned char)p[i]))
			i++;
		if (i == 0 || i >= len || p[i] != ':') {
			p = next;
			continue;
		}
		struct http_span name = {p, i};
		size_t vs = i + 1, ve = len;
		while (vs < ve && (p[vs] == ' ' || p[vs] == '\t'))
			vs++;
		while (ve > vs && (p[ve - 1] == ' ' || p[ve - 1] == '\t'))
			ve--;
		struct http_span value = {p + vs, ve - vs};
		cb(ctx, name, value);
		p = next;
	}
	return 0;
}

void http_request_field(struct http_request *r, struct http_span name, struct http_span value)
{
	if (http_span_ieq(name, "host")) {
		/* absolute-form authority wins over Host (RFC 9112 3.2.2) */
		if (r->form != HTTP1_ABSOLUTE_FORM && valid_host(value))
			r->host = value;
	} else if (http_span_ieq(name, "content-length")) {
		int64_t v = parse_digits(value.p, value.n);
		if (r->content_length == -1 && v >= 0)
			r->content_length = v;
		else if (r->content_length != v || v < 0)
			r->content_length = -2; /* conflicting: invalid (6.3) */
	} else if (http_span_ieq(name, "transfer-encoding")) {
		r->chunked = te_chunked(value);
	}
	if (r->n_headers < HTTP1_MAX_HEADERS) {
		r->headers[r->n_headers].name = name;
		r->headers[r->n_headers].value = value;
		r->n_headers++;
	} else {
		r->n_headers_dropped++;
	}
}

static void request_field(void *ctx, struct http_span name, struct http_span value)
{
	http_request_field(ctx, name, value);
}

static void split_target(struct http_request *r)
{
	const char *t = r->target.p, *end = t + r->target.n;
	const char *path = t;

	if (r->target.n == 1 && t[0] == '*') {
		r->form = HTTP1_ASTERISK_FORM;
		r->path = r->target;
		return;
	}
	if (t[0] != '/') {
		const char *sep = NULL;
		for (const char *q = t; q + 2 < end; q++) {
			if (q[0] == ':' && q[1] == '/' && q[2] == '/') {
				sep = q;
				break;
			}
			if (q[0] == '/' || q[0] == '?')
				break;
		}
		if (!sep) {
			/* authority-form: CONNECT host:port */
			r->form = HTTP1_AUTHORITY_FORM;
			if (valid_host(r->target))
				r->host = r->target;
			return;
		}
		r->form = HTTP1_ABSOLUTE_FORM;
		const char *auth = sep + 3, *ae = auth;
		while (ae < end && *ae != '/' && *ae != '?')
			ae++;
		struct http_span a = {auth, (size_t)(ae - auth)};
		/* drop userinfo: it is a credential, never a host */
		const char *at = memchr(a.p, '@', a.n);
		if (at) {
			a.n -= (size_t)(at + 1 - a.p);
			a.p = at + 1;
		}
		if (valid_host(a))
			r->host = a;
		path = ae;
	} else {
		r->form = HTTP1_ORIGIN_FORM;
	}
	const char *qm = memchr(path, '?', (size_t)(end - path));
	if (qm) {
		r->path = (struct http_span){path, (size_t)(qm - path)};
		r->query = (struct http_span){qm + 1, (size_t)(end - qm - 1)};
	} else {
		r->path = (struct http_span){path, (size_t)(end - path)};
	}
	if (r->path.n == 0)
		r->path = (struct http_span){"/", 1};
}

int http1_parse_request(const char *buf, size_t n, int more, struct http_request *r)
{
	const char *end = buf + n;
	size_t i = 0, ts, te, llen;
	long le;

	memset(r, 0, sizeof(*r));
	r->content_length = -1;
	if (!buf || n == 0)
		return HTTP1_BAD;
	while (i < n && is_tchar((unsigned char)buf[i]))
		i++;
	if (i == 0 || i > 32 || i >= n || buf[i] != ' ')
		return HTTP1_BAD;
	r->method = (struct http_span){buf, i};
	ts = i + 1;

	le = line_end(buf, end);
	if (le < 0) {
		if (!more)
			return HTTP1_BAD;
		llen = trim_cr(buf, n); /* cut off inside the request line */
	} else {
		llen = trim_cr(buf, (size_t)le);
	}
	te = ts;
	while (te < llen && is_vchar((unsigned char)buf[te]))
		te++;
	if (te == ts)
		return HTTP1_BAD;
	r->target = (struct http_span){buf + ts, te - ts};
	if (le < 0) {
		/* cut off in the target, or after it in the version */
		if (te != llen && (buf[te] != ' ' || !version_prefix(buf + te + 1, llen - te - 1)))
			return HTTP1_BAD;
		r->line_truncated = 1;
		split_target(r);
		return HTTP1_PARTIAL;
	}
	if (te >= llen || buf[te] != ' ')
		return HTTP1_BAD;
	r->version = parse_version(buf + te + 1, llen - te - 1);
	if (!r->version)
		return HTTP1_BAD;
	split_target(r);

	size_t hl = parse_fields(buf + le + 1, end, request_field, r);
	if (r->content_length == -2)
		r->content_length = -1;
	if (hl == 0)
		return HTTP1_PARTIAL;
	r->header_len = (size_t)le + 1 + hl;
	return HTTP1_COMPLETE;
}

void http_response_field(struct http_response *r, struct http_span name, struct http_span value)
{
	if (http_span_ieq(name, "content-length")) {
		int64_t v = parse_digits(value.p, value.n);
		if (r->content_length == -1 && v >= 0)
			r->content_length = v;
		else if (r->content_length != v || v < 0)
			r->content_length = -2;
	} else if (http_span_ieq(name, "transfer-encoding")) {
		r->chunked = te_chunked(value);
	} else if (http_span_ieq(name, "retry-after")) {
		r->retry_after = value;
		r->retry_after_s = parse_digits(value.p, value.n);
		if (r->retry_after_s < 0 && value.n > 0)
			r->retry_after_s = -2; /* an HTTP-date */
	}
}

static void response_field(void *ctx, struct http_span name, struct http_span value)
{
	http_response_field(ctx, name, value);
}

void http_request_target(struct http_request *r, struct http_span target)
{
	r->target = target;
	if (target.n)
		split_target(r);
}

int http1_parse_response(const char *buf, size_t n, int more, struct http_response *r)
{
	const char *end = buf + n;
	size_t llen;
	long le;

	memset(r, 0, sizeof(*r));
	r->content_length = -1;
	r->retry_after_s = -1;
	if (!buf || n < 12)
		return HTTP1_BAD;
	r->version = parse_version(buf, 8);
	if (!r->version || buf[8] != ' ')
		return HTTP1_BAD;
	for (int k = 9; k < 12; k++)
		if (buf[k] < '0' || buf[k] > '9')
			return HTTP1_BAD;
	r->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	if (r->status < 100)
		return HTTP1_BAD;
	le = line_end(buf, end);
	if (le < 0)
		return more ? HTTP1_PARTIAL : HTTP1_BAD;
	llen = trim_cr(buf, (size_t)le);
	if (llen > 12) {
		if (buf[12] != ' ')
			return HTTP1_BAD;
		r->reason = (struct http_span){buf + 13, llen - 13};
	} else if (llen != 12) {
		return HTTP1_BAD;
	}
	size_t hl = parse_fields(buf + le + 1, end, response_field, r);
	if (r->content_length == -2)
		r->content_length = -1;
	if (hl == 0)
		return HTTP1_PARTIAL;
	r->header_len = (size_t)le + 1 + hl;
	return HTTP1_COMPLETE;
}

const struct http_header *http1_header(const struct http_request *r, const char *name)
{
	for (int i = 0; i < r->n_headers; i++)
		if (http_span_ieq(r->headers[i].name, name))
			return &r->headers[i];
	return NULL;
}

int64_t http1_response_body_len(const struct http_response *r, int request_was_head)
{
	if (request_was_head || (r->status >= 100 && r->status < 200) || r->status == 204 ||
	    r->status == 304)
		return 0;
	if (r->chunked)
		return -1;
	return r->content_length;
}
