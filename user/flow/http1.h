/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * http1.h - HTTP/1.x message head parsing (RFC 9112), for the first bytes of captured
 * requests and responses.
 *
 * In:  a buffer that starts where tg_classify() saw a request or a status line; it may be
 *      a prefix of the message (capture truncation) or hold several pipelined messages.
 * Out: spans into that buffer (no copies, no allocation): method, request-target split into
 *      path and query, Host, Content-Length, Transfer-Encoding; status code, Retry-After.
 *
 * Nothing is invented: a field the buffer does not hold stays empty. Everything is bounds
 * checked; any byte sequence is safe input.
 */
#ifndef TG_HTTP1_H
#define TG_HTTP1_H

#include <stddef.h>
#include <stdint.h>

#define HTTP1_MAX_HEADERS 32

struct http_span {
	const char *p; /* NULL when absent */
	size_t n;
};

struct http_header {
	struct http_span name;  /* field-name, as sent */
	struct http_span value; /* field-value without surrounding whitespace */
};

enum http1_result {
	HTTP1_BAD = -1,     /* not an HTTP/1.x message head */
	HTTP1_PARTIAL = 0,  /* start line parsed, header block cut off by the end of the buffer */
	HTTP1_COMPLETE = 1, /* start line and the whole header block parsed */
};

enum http1_target_form {
	HTTP1_ORIGIN_FORM = 1,    /* "/path?query" (RFC 9112 3.2.1) */
	HTTP1_ABSOLUTE_FORM = 2,  /* "http://host/path?query" (3.2.2) */
	HTTP1_AUTHORITY_FORM = 3, /* "host:port", CONNECT only (3.2.3) */
	HTTP1_ASTERISK_FORM = 4,  /* "*", OPTIONS only (3.2.4) */
};

struct http_request {
	struct http_span method;
	struct http_span target; /* the whole request-target */
	struct http_span path;   /* absolute-path; "*" for asterisk-form; empty for CONNECT */
	struct http_span query;  /* after '?', without it; p == NULL when there is no '?' */
	struct http_span host;   /* Host field, or the authority of absolute-form (3.2.2) */
	int form;                /* enum http1_target_form */
	int version;             /* 10 or 11; 0 when the request line was cut off */
	int line_truncated;      /* the request line itself was cut off: target may be a prefix */
	int64_t content_length;  /* -1: absent or invalid (RFC 9112 6.3) */
	int chunked;             /* Transfer-Encoding ends in chunked */
	size_t header_len;       /* bytes of the head incl. the empty line; 0 unless COMPLETE */
	int n_headers;           /* headers kept in headers[] */
	int n_headers_dropped;   /* headers beyond HTTP1_MAX_HEADERS */
	struct http_header headers[HTTP1_MAX_HEADERS];
};

struct http_response {
	int version;            /* 10 or 11 */
	int status;             /* 100..999 (RFC 9110 15: three digits) */
	struct http_span reason;
	int64_t content_length; /* -1: absent or invalid */
	int chunked;
	int64_t retry_after_s;  /* Retry-After delay-seconds (RFC 9110 10.2.3); -1 absent,
				 * -2 an HTTP-date (see retry_after) */
	struct http_span retry_after; /* the raw field value */
	size_t header_len;      /* 0 unless COMPLETE */
};

/*
 * http1_parse_request - parse a request-line and header block (RFC 9112 sections 3 and 5).
 * @buf/@n: the captured bytes; @more: non-zero when the message continues past @n (the
 * capture was truncated), so a missing line end means "cut off", not "malformed".
 * Returns enum http1_result.
 */
int http1_parse_request(const char *buf, size_t n, int more, struct http_request *r);

/*
 * http1_parse_response - parse a status-line and header block (RFC 9112 section 4).
 * Returns enum http1_result; a status line cut off before the status code is HTTP1_BAD.
 */
int http1_parse_response(const char *buf, size_t n, int more, struct http_response *r);

/*
 * The field semantics of RFC 9110, shared by both versions (http2.c feeds them the
 * fields of a decoded header block). Start from a zeroed message with content_length
 * (and retry_after_s) -1; a conflicting Content-Length leaves -2, which the caller turns
 * into -1 (invalid, RFC 9112 6.3) once every field is in.
 * http_request_field: Host (kept when it is a valid host and the target is not in
 * absolute-form), Content-Length, Transfer-Encoding, and the field itself into headers[].
 * http_request_target: the request-target (RFC 9112 3.2) split into path and query, and
 * the host of absolute-form; an empty target leaves them empty.
 * http_response_field: Content-Length, Transfer-Encoding, Retry-After (RFC 9110 10.2.3).
 */
void http_request_field(struct http_request *r, struct http_span name, struct http_span value);
void http_request_target(struct http_request *r, struct http_span target);
void http_response_field(struct http_response *r, struct http_span name, struct http_span value);

/* Find a header by case-insensitive name; NULL when absent. */
const struct http_header *http1_header(const struct http_request *r, const char *name);

/* Case-insensitive comparison of a span with a NUL-terminated lower-case string. */
int http_span_ieq(struct http_span s, const char *lower);

/* Bytes a response body has when it is known from the head (RFC 9112 6.3): 0 for HEAD
 * requests, 1xx, 204 and 304; Content-Length otherwise; -1 unknown (chunked, close). */
int64_t http1_response_body_len(const struct http_response *r, int request_was_head);

#endif
