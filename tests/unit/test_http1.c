// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_http1.c - user/flow/http1.c, HTTP/1.x message heads (RFC 9112).
 *
 * Requests: request line and headers (Host, Content-Length, Transfer-Encoding), path/query
 * split, absolute-form (userinfo never becomes the host), authority-form CONNECT,
 * asterisk-form, bare-LF line ends, malformed field lines skipped (no colon, whitespace
 * before the colon, obs-fold), conflicting or invalid Content-Length, truncation (of the
 * header block and of the request line), pipelining, binary junk, method length, bad
 * versions, more headers than are kept.
 * Responses: status line, reason, Content-Length, chunked, body length rules
 * (1xx/204/304/HEAD), Retry-After seconds and HTTP-date, short or malformed status lines.
 */
#include <stdio.h>
#include <stdlib.h>

#include "unit.h"

#include "http1.h"

static int req(const char *s, int more, struct http_request *r)
{
	return http1_parse_request(s, strlen(s), more, r);
}

static int resp(const char *s, int more, struct http_response *r)
{
	return http1_parse_response(s, strlen(s), more, r);
}

/* ---- requests ---- */

static void test_request_basic(void **state)
{
	const char *s = "GET /v1/models?limit=5&order=desc HTTP/1.1\r\n"
			"Host: api.example.com\r\n"
			"User-Agent: curl/7.88.1\r\n"
			"Accept: */*\r\n"
			"\r\n";
	struct http_request r;

	(void)state;
	assert_int_equal(req(s, 0, &r), HTTP1_COMPLETE);
	assert_span_equal(r.method, "GET");
	assert_span_equal(r.target, "/v1/models?limit=5&order=desc");
	assert_span_equal(r.path, "/v1/models");
	assert_span_equal(r.query, "limit=5&order=desc");
	assert_span_equal(r.host, "api.example.com");
	assert_int_equal(r.form, HTTP1_ORIGIN_FORM);
	assert_int_equal(r.version, 11);
	assert_int_equal(r.line_truncated, 0);
	assert_int_equal(r.content_length, -1);
	assert_int_equal(r.chunked, 0);
	assert_int_equal(r.header_len, strlen(s));
	assert_int_equal(r.n_headers, 3);
	assert_int_equal(r.n_headers_dropped, 0);
	assert_span_equal(r.headers[1].name, "User-Agent");
	assert_span_equal(r.headers[1].value, "curl/7.88.1");
	/* the name to look up is lower case (http_span_ieq), the field's name any case */
	assert_ptr_equal(http1_header(&r, "user-agent"), &r.headers[1]);
	assert_ptr_equal(http1_header(&r, "accept"), &r.headers[2]);
	assert_null(http1_header(&r, "cookie"));
}

static void test_request_body_headers(void **state)
{
	const char *head = "POST /v1/chat/completions HTTP/1.0\r\n"
			   "host:   API.Example.com:8443  \r\n"
			   "Content-Length: 42\r\n"
			   "\r\n";
	char buf[256];
	struct http_request r;

	(void)state;
	snprintf(buf, sizeof(buf), "%s{\"model\":\"m\"}", head);
	assert_int_equal(req(buf, 0, &r), HTTP1_COMPLETE);
	assert_span_equal(r.method, "POST");
	assert_span_equal(r.path, "/v1/chat/completions");
	assert_span_null(r.query);
	/* value without the surrounding whitespace, case as sent */
	assert_span_equal(r.host, "API.Example.com:8443");
	assert_int_equal(r.version, 10);
	assert_int_equal(r.content_length, 42);
	assert_int_equal(r.header_len, strlen(head));

	assert_int_equal(req("POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 0, &r),
			 HTTP1_COMPLETE);
	assert_int_equal(r.chunked, 1);
	assert_int_equal(r.content_length, -1);
	assert_int_equal(req("POST /up HTTP/1.1\r\nTransfer-Encoding: gzip, CHUNKED \r\n\r\n",
			     0, &r), HTTP1_COMPLETE);
	assert_int_equal(r.chunked, 1);
	/* chunked must be the final coding (RFC 9112 6.1) */
	assert_int_equal(req("POST /up HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 0,
			     &r), HTTP1_COMPLETE);
	assert_int_equal(r.chunked, 0);
	assert_int_equal(req("POST /up HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n", 0, &r),
			 HTTP1_COMPLETE);
	assert_int_equal(r.chunked, 0);
}

static void test_request_query(void **state)
{
	struct http_request r;

	(void)state;
	assert_int_equal(req("GET /a/b?x=1?y=2 HTTP/1.1\r\n\r\n", 0, &r), HTTP1_COMPLETE);
	assert_span_equal(r.path, "/a/b");
	assert_span_equal(r.query, "x=1?y=2");
	/* an empty query is present (p != NULL), no query is absent */
	assert_int_equal(req("GET /a? HTTP/1.1\r\n\r\n", 0, &r), HTTP1_COMPLETE);
	assert_span_equal(r.path, "/a");
	assert_span_equal(r.query, "");
	assert_int_equal(req("GET / HTTP/1.1\r\n\r\n", 0, &r), HTTP1_COMPLETE);
	assert_span_equal(r.path, "/");
	assert_span_null(r.query);
	assert_span_null(r.host);
	assert_int_equal(r.n_headers, 0);
	assert_int_equal(r.header_len, 18);
}

static void test_request_absolute_form(void **state)
{
	struct http_request r;

	(void)state;
	/* the authority of absolute-form wins over Host (RFC 9112 3.2.2) */
	assert_int_equal(req("GET http://example.com:8080/a/b?c=d HTTP/1.1\r\n"
			     "Host: other.example\r\n\r\n", 0, &r), HTTP1_COMPLETE);
	assert_int_equal(r.form, HTTP1_ABSOLUTE_FORM);
	assert_span_equal(r.host, "example.com:8080");
	assert_span_equal(r.path, "/a/b");
	assert_span_equal(r.query, "c=d");
	assert_int_equal(r.n_headers, 1);

	/* no path: "/" */
	assert_int_equal(req("GET https://example.com HTTP/1.1\r\n\r\n", 0, &r), HTTP1_COMPLETE);
	assert_span_equal(r.host, "example.com");
	assert_span_equal(r.path, "/");
	assert_span_null(r.query);
	assert_int_equal(req("GET http://example.com?q=1 HTTP/1.1\r\n\r\n", 0, &r),
			 HTTP1_COMPLETE);
	assert_span_equal(r.host, "example.com");
	assert_span_equal(r.path, "/");
	assert_span_equal(r.query, "q=1");
}

static void test_request_userinfo(void **state)
{
	struct http_request r;

	(void)state;
	assert_int_equal(req("GET http://alice:s3cret@example.com/x HTTP/1.1\r\n\r\n", 0, &r),
			 HTTP1_COMPLETE);
	assert_span_equal(r.host, "example.com");
	assert_span_equal(r.path, "/x");
	/* the userinfo is the credential, the part after '@' is the host */
	assert_int_equal(req("GET http://api.example.com@evil.example/ HTTP/1.1\r\n\r\n", 0, &r),
			 HTTP1_COMPLETE);
	assert_span_equal(r.host, "evil.example");
	/* userinfo and nothing else: no host at all, not the userinfo, not the Host field */
	assert_int_equal(req("GET http://token@/p HTTP/1.1\r\nHost: h.example\r\n\r\n", 0, &r),
			 HTTP1_COMPLETE);
	assert_span_null(r.host);
	assert_span_equal(r.path, "/p");
	/* '@' in the path or the query is not userinfo */
	assert_int_equal(req("GET http://example.com/u@x?m=a@b HTTP/1.1\r\n\r\n", 0, &r),
			 HTTP1_COMPLETE);
	assert_span_equal(r.host, "example.com");
	assert_span_equal(r.path, "/u@x");
	assert_span_equal(r.query, "m=a@b");
}

static void test_request_connect_asterisk(void **state)
{
	struct http_request r;

	(void)state;
	assert_int_equal(req("CONNECT api.example.com:443 HTTP/1.1\r\n\r\n", 0, &r),
			 HTTP1_COMPLETE);
	assert_int_equal(r.form, HTTP1_AUTHORITY_FORM);
	assert_span_equal(r.host, "api.example.com:443");
	assert_span_equal(r.target, "api.example.com:443");
	assert_span_null(r.path);
	assert_int_equal(r.path.n, 0);
	assert_span_null(r.query);

	assert_int_equal(req("CONNECT [2001:db8::1]:443 HTTP/1.1\r\n\r\n", 0, &r),
			 HTTP1_COMPLETE);
	assert_span_equal(r.host, "[2001:db8::1]:443");

	assert_int_equal(req("OPTIONS * HTTP/1.1\r\nHost: h.example\r\n\r\n", 0, &r),
			 HTTP1_COMPLETE);
	assert_int_equal(r.form, HTTP1_ASTERISK_FORM);
	assert_span_equal(r.path, "*");
	assert_span_null(r.query);
	assert_span_equal(r.host, "h.example");
}

static void test_request_bare_lf(void **state)
{
	const char *s = "GET /lf HTTP/1.1\nHost: h.example\nContent-Length: 3\n\nabc";
	struct http_request r;

	(void)state;
	assert_int_equal(req(s, 0, &r), HTTP1_COMPLETE);
	assert_span_equal(r.path, "/lf");
	assert_int_equal(r.version, 11);
	assert_span_equal(r.host, "h.example");
	assert_int_equal(r.content_length, 3);
	assert_int_equal(r.header_len, strlen(s) - 3);
	/* mixed CRLF and LF */
	s = "GET /m HTTP/1.1\r\nHost: m.example\n\r\n";
	assert_int_equal(req(s, 0, &r), HTTP1_COMPLETE);
	assert_span_equal(r.host, "m.example");
	assert_int_equal(r.header_len, strlen(s));
}

static void test_request_malformed_fields(void **state)
{
	struct http_request r;

	(void)state;
	/* no colon: skipped */
	assert_int_equal(req("GET / HTTP/1.1\r\nBogus line\r\nHost: good.example\r\n\r\n", 0, &r),
			 HTTP1_COMPLETE);
	assert_int_equal(r.n_headers, 1);
	assert_span_equal(r.host, "good.example");
	/* whitespace before the colon (RFC 9112 5.1): skipped, never a Host */
	assert_int_equal(req("GET / HTTP/1.1\r\nHost : evil.example\r\n\r\n", 0, &r),
			 HTTP1_COMPLETE);
	assert_int_equal(r.n_headers, 0);
	assert_span_null(r.host);
	assert_int_equal(req("GET / HTTP/1.1\r\nContent-Length\t: 9\r\n\r\n", 0, &r),
			 HTTP1_COMPLETE);
	assert_int_equal(r.content_length, -1);
	/* obs-fold (RFC 9112 5.2): the continuation line is skipped, the field keeps its
	 * first line */
	assert_int_equal(req("GET / HTTP/1.1\r\nX-A: one\r\n two\r\n\tHost: folded.example\r\n"
			     "Host: h.example\r\n\r\n", 0, &r), HTTP1_COMPLETE);
	assert_int_equal(r.n_headers, 2);
	assert_span_equal(r.headers[0].name, "X-A");
	assert_span_equal(r.headers[0].value, "one");
	assert_span_equal(r.host, "h.example");
	/* empty name, and a name with a non-token byte */
	assert_int_equal(req("GET / HTTP/1.1\r\n: x\r\nHo\"st: y\r\n\r\n", 0, &r),
			 HTTP1_COMPLETE);
	assert_int_equal(r.n_headers, 0);
	/* an empty value is kept */
	assert_int_equal(req("GET / HTTP/1.1\r\nX-Empty:\r\n\r\n", 0, &r), HTTP1_COMPLETE);
	assert_int_equal(r.n_headers, 1);
	assert_span_equal(r.headers[0].value, "");
}

static void test_request_host_validation(void **state)
{
	static const char nul_host[] = "GET / HTTP/1.1\r\nHost: api.example.com\0evil\r\n\r\n";
	struct http_request r;

	(void)state;
	/* a Host that is not uri-host [":" port] is not reported */
	assert_int_equal(req("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 0, &r), HTTP1_COMPLETE);
	assert_span_null(r.host);
	assert_int_equal(req("GET / HTTP/1.1\r\nHost: <script>\r\n\r\n", 0, &r), HTTP1_COMPLETE);
	assert_span_null(r.host);
	assert_int_equal(req("GET / HTTP/1.1\r\nHost:\r\n\r\n", 0, &r), HTTP1_COMPLETE);
	assert_span_null(r.host);
	/* a NUL byte in the value: not a host (it would cut the name short downstream) */
	assert_int_equal(http1_parse_request(nul_host, sizeof(nul_host) - 1, 0, &r),
			 HTTP1_COMPLETE);
	assert_span_null(r.host);
	/* the last valid Host wins over an earlier one */
	assert_int_equal(req("GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n", 0,
			     &r), HTTP1_COMPLETE);
	assert_span_equal(r.host, "b.example");
}

static void test_request_content_length(void **state)
{
	struct http_request r;

	(void)state;
	assert_int_equal(req("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
			     0, &r), HTTP1_COMPLETE);
	assert_int_equal(r.content_length, -1);
	/* the same value twice is consistent */
	assert_int_equal(req("POST / HTTP/1.1\r\nContent-Length: 7\r\ncontent-length: 7\r\n\r\n",
			     0, &r), HTTP1_COMPLETE);
	assert_int_equal(r.content_length, 7);
	/* invalid values: absent or invalid is -1 */
	assert_int_equal(req("POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n", 0, &r),
			 HTTP1_COMPLETE);
	assert_int_equal(r.content_length, -1);
	assert_int_equal(req("POST / HTTP/1.1\r\nContent-Length: 12a\r\n\r\n", 0, &r),
			 HTTP1_COMPLETE);
	assert_int_equal(r.content_length, -1);
	assert_int_equal(req("POST / HTTP/1.1\r\nContent-Length: 1234567890123456789\r\n\r\n",
			     0, &r), HTTP1_COMPLETE);
	assert_int_equal(r.content_length, -1);
	assert_int_equal(req("POST / HTTP/1.1\r\nContent-Length: 123456789012345678\r\n\r\n",
			     0, &r), HTTP1_COMPLETE);
	assert_int_equal(r.content_length, 123456789012345678LL);
	/* valid then invalid, and invalid then valid, both conflict (RFC 9112 6.3) */
	assert_int_equal(req("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: x\r\n\r\n",
			     0, &r), HTTP1_COMPLETE);
	assert_int_equal(r.content_length, -1);
	assert_int_equal(req("POST / HTTP/1.1\r\nContent-Length: x\r\nContent-Length: 5\r\n\r\n",
			     0, &r), HTTP1_COMPLETE);
	assert_int_equal(r.content_length, -1);
	/* three fields, the third agreeing with the first: still a conflict */
	assert_int_equal(req("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n"
			     "Content-Length: 5\r\n\r\n", 0, &r), HTTP1_COMPLETE);
	assert_int_equal(r.content_length, -1);
}

static void test_request_truncated_headers(void **state)
{
	const char *s = "GET /a?b=1 HTTP/1.1\r\nHost: h.example\r\nUser-Ag";
	struct http_request r;

	(void)state;
	/* the head is cut off in a field line: what was parsed is kept, header_len is 0 */
	assert_int_equal(req(s, 1, &r), HTTP1_PARTIAL);
	assert_span_equal(r.method, "GET");
	assert_span_equal(r.path, "/a");
	assert_span_equal(r.query, "b=1");
	assert_span_equal(r.host, "h.example");
	assert_int_equal(r.version, 11);
	assert_int_equal(r.line_truncated, 0);
	assert_int_equal(r.header_len, 0);
	assert_int_equal(r.n_headers, 1);
	/* a head may span writes: a complete request line makes it PARTIAL without more too */
	assert_int_equal(req(s, 0, &r), HTTP1_PARTIAL);
	assert_span_equal(r.host, "h.example");
	/* cut right after the request line, or before the final empty line */
	assert_int_equal(req("GET / HTTP/1.1\r\n", 1, &r), HTTP1_PARTIAL);
	assert_int_equal(r.header_len, 0);
	assert_int_equal(req("GET / HTTP/1.1\r\nHost: h\r\n", 1, &r), HTTP1_PARTIAL);
	assert_span_equal(r.host, "h");
	assert_int_equal(req("GET / HTTP/1.1\r\nHost: h\r\n\r", 1, &r), HTTP1_PARTIAL);
	assert_int_equal(r.header_len, 0);
}

static void test_request_line_truncated(void **state)
{
	struct http_request r;

	(void)state;
	/* cut off inside the target: PARTIAL with more, the target is a prefix */
	assert_int_equal(req("GET /very/long/path?sig=abcdef", 1, &r), HTTP1_PARTIAL);
	assert_int_equal(r.line_truncated, 1);
	assert_int_equal(r.version, 0);
	assert_span_equal(r.method, "GET");
	assert_span_equal(r.target, "/very/long/path?sig=abcdef");
	assert_span_equal(r.path, "/very/long/path");
	assert_span_equal(r.query, "sig=abcdef");
	assert_int_equal(r.header_len, 0);
	/* ... and BAD without: a line end is missing */
	assert_int_equal(req("GET /very/long/path?sig=abcdef", 0, &r), HTTP1_BAD);
	/* absolute-form cut off in the path still has its host */
	assert_int_equal(req("GET http://example.com/lo", 1, &r), HTTP1_PARTIAL);
	assert_int_equal(r.line_truncated, 1);
	assert_span_equal(r.host, "example.com");
	assert_span_equal(r.path, "/lo");
	/* cut off after the target, inside the version: the target is whole */
	assert_int_equal(req("GET /whole HTTP/1", 1, &r), HTTP1_PARTIAL);
	assert_int_equal(r.line_truncated, 1);
	assert_int_equal(r.version, 0);
	assert_span_equal(r.path, "/whole");
	assert_int_equal(req("GET /whole ", 1, &r), HTTP1_PARTIAL);
	assert_span_equal(r.path, "/whole");
	assert_int_equal(req("GET /whole HTTP/1.1\r", 1, &r), HTTP1_PARTIAL);
	assert_span_equal(r.path, "/whole");
	/* but not when what follows the target cannot be a version */
	assert_int_equal(req("GET /whole junk", 1, &r), HTTP1_BAD);
	assert_int_equal(req("GET /whole HTTP/2", 1, &r), HTTP1_BAD);
	assert_int_equal(req("GET /whole HTTP/1.1 x", 1, &r), HTTP1_BAD);
	/* cut off right after the method: no target at all */
	assert_int_equal(req("GET ", 1, &r), HTTP1_BAD);
	assert_int_equal(req("GET", 1, &r), HTTP1_BAD);
}

static void test_request_pipelined(void **state)
{
	const char *first = "POST /one HTTP/1.1\r\nHost: h.example\r\nContent-Length: 4\r\n\r\n";
	const char *second = "GET /two?x=1 HTTP/1.1\r\nHost: h.example\r\n\r\n";
	char buf[512];
	struct http_request r;
	size_t off;

	(void)state;
	snprintf(buf, sizeof(buf), "%sbody%s", first, second);
	assert_int_equal(req(buf, 0, &r), HTTP1_COMPLETE);
	assert_span_equal(r.path, "/one");
	assert_int_equal(r.content_length, 4);
	assert_int_equal(r.header_len, strlen(first));
	off = r.header_len + 4;
	assert_int_equal(http1_parse_request(buf + off, strlen(buf) - off, 0, &r),
			 HTTP1_COMPLETE);
	assert_span_equal(r.method, "GET");
	assert_span_equal(r.path, "/two");
	assert_span_equal(r.query, "x=1");
	assert_int_equal(r.header_len, strlen(second));
}

static void test_request_junk(void **state)
{
	static const unsigned char tls[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc,
					    0x03, 0x03, 0x0d, 0x0a, 0x0d, 0x0a, 0x20};
	static const char nul_method[] = "GE\0T / HTTP/1.1\r\n\r\n";
	unsigned char buf[512];
	struct http_request r;
	uint32_t x = 2463534242u;

	(void)state;
	assert_int_equal(http1_parse_request((const char *)tls, sizeof(tls), 0, &r), HTTP1_BAD);
	assert_int_equal(http1_parse_request((const char *)tls, sizeof(tls), 1, &r), HTTP1_BAD);
	assert_int_equal(http1_parse_request(nul_method, sizeof(nul_method) - 1, 0, &r),
			 HTTP1_BAD);
	assert_int_equal(http1_parse_request("", 0, 1, &r), HTTP1_BAD);
	assert_int_equal(http1_parse_request(NULL, 0, 1, &r), HTTP1_BAD);
	assert_int_equal(r.content_length, -1);
	assert_int_equal(req(" GET / HTTP/1.1\r\n\r\n", 0, &r), HTTP1_BAD);
	assert_int_equal(req("GET  / HTTP/1.1\r\n\r\n", 0, &r), HTTP1_BAD);
	assert_int_equal(req("GET /a\x01z HTTP/1.1\r\n\r\n", 0, &r), HTTP1_BAD);
	assert_int_equal(req("GET /a\x7fz HTTP/1.1\r\n\r\n", 0, &r), HTTP1_BAD);
	assert_int_equal(req("GET /\xc3\xa9 HTTP/1.1\r\n\r\n", 0, &r), HTTP1_BAD);
	assert_int_equal(req("GET\r\n\r\n", 0, &r), HTTP1_BAD);
	/* pseudo-random bytes with a control byte up front never parse, and never fault
	 * (ASan watches the reads) */
	for (int round = 0; round < 2000; round++) {
		size_t n = 1 + (size_t)(round % (int)sizeof(buf));
		for (size_t i = 0; i < n; i++) {
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			buf[i] = (unsigned char)x;
		}
		buf[0] = (unsigned char)(buf[0] % 0x20);
		char *copy = malloc(n); /* exact size, so an overread is caught */
		assert_non_null(copy);
		memcpy(copy, buf, n);
		assert_int_equal(http1_parse_request(copy, n, round & 1, &r), HTTP1_BAD);
		free(copy);
	}
}

static void test_request_method_length(void **state)
{
	char buf[128];
	struct http_request r;

	(void)state;
	/* a token method of up to 32 bytes; lower case and extension tokens are tchar */
	snprintf(buf, sizeof(buf), "%.*s / HTTP/1.1\r\n\r\n", 32,
		 "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOP");
	assert_int_equal(req(buf, 0, &r), HTTP1_COMPLETE);
	assert_int_equal(r.method.n, 32);
	snprintf(buf, sizeof(buf), "%.*s / HTTP/1.1\r\n\r\n", 33,
		 "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOP");
	assert_int_equal(req(buf, 0, &r), HTTP1_BAD);
	assert_int_equal(req("ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOP", 1, &r), HTTP1_BAD);
	assert_int_equal(req("M-SEARCH * HTTP/1.1\r\n\r\n", 0, &r), HTTP1_COMPLETE);
	assert_span_equal(r.method, "M-SEARCH");
}

static void test_request_bad_version(void **state)
{
	struct http_request r;

	(void)state;
	assert_int_equal(req("GET / HTTP/2.0\r\n\r\n", 0, &r), HTTP1_BAD);
	assert_int_equal(req("GET / HTTP/1.x\r\n\r\n", 0, &r), HTTP1_BAD);
	assert_int_equal(req("GET / HTTP/1.2\r\n\r\n", 0, &r), HTTP1_BAD);
	assert_int_equal(req("GET / HTTP/1.10\r\n\r\n", 0, &r), HTTP1_BAD);
	assert_int_equal(req("GET / http/1.1\r\n\r\n", 0, &r), HTTP1_BAD);
	assert_int_equal(req("GET / HTTP/1.1 \r\n\r\n", 0, &r), HTTP1_BAD);
	assert_int_equal(req("GET /\r\n\r\n", 0, &r), HTTP1_BAD);
	assert_int_equal(req("GET / \r\n\r\n", 0, &r), HTTP1_BAD);
	assert_int_equal(req("GET / HTTP/1.0\r\n\r\n", 0, &r), HTTP1_COMPLETE);
	assert_int_equal(r.version, 10);
}

static void test_request_many_headers(void **state)
{
	char buf[4096];
	size_t o;
	struct http_request r;

	(void)state;
	o = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\n");
	for (int i = 0; i < HTTP1_MAX_HEADERS + 8; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "X-H%d: %d\r\n", i, i);
	/* fields past the kept ones are still interpreted */
	o += (size_t)snprintf(buf + o, sizeof(buf) - o, "Host: late.example\r\n"
			      "Content-Length: 0\r\n\r\n");
	assert_int_equal(req(buf, 0, &r), HTTP1_COMPLETE);
	assert_int_equal(r.n_headers, HTTP1_MAX_HEADERS);
	assert_int_equal(r.n_headers_dropped, 10);
	assert_span_equal(r.headers[HTTP1_MAX_HEADERS - 1].name, "X-H31");
	assert_span_equal(r.host, "late.example");
	assert_int_equal(r.content_length, 0);
	assert_int_equal(r.header_len, o);
}

static void test_span_ieq(void **state)
{
	struct http_span s = {"Content-Length", 14};
	struct http_span none = {NULL, 0};

	(void)state;
	assert_true(http_span_ieq(s, "content-length"));
	assert_false(http_span_ieq(s, "content-lengt"));
	assert_false(http_span_ieq(s, "content-lengthx"));
	assert_false(http_span_ieq(none, ""));
	s.n = 7;
	assert_true(http_span_ieq(s, "content"));
}

/* ---- responses ---- */

static void test_response_basic(void **state)
{
	const char *head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			   "Content-Length: 5\r\n\r\n";
	char buf[256];
	struct http_response r;

	(void)state;
	snprintf(buf, sizeof(buf), "%shello", head);
	assert_int_equal(resp(buf, 0, &r), HTTP1_COMPLETE);
	assert_int_equal(r.version, 11);
	assert_int_equal(r.status, 200);
	assert_span_equal(r.reason, "OK");
	assert_int_equal(r.content_length, 5);
	assert_int_equal(r.chunked, 0);
	assert_int_equal(r.retry_after_s, -1);
	assert_span_null(r.retry_after);
	assert_int_equal(r.header_len, strlen(head));
	assert_int_equal(http1_response_body_len(&r, 0), 5);

	assert_int_equal(resp("HTTP/1.0 404 Not Found\r\n\r\n", 0, &r), HTTP1_COMPLETE);
	assert_int_equal(r.version, 10);
	assert_int_equal(r.status, 404);
	assert_span_equal(r.reason, "Not Found");
	assert_int_equal(r.header_len, 26);
	/* no Content-Length: read until close */
	assert_int_equal(http1_response_body_len(&r, 0), -1);

	/* no reason phrase, with and without the SP */
	assert_int_equal(resp("HTTP/1.1 503\r\n\r\n", 0, &r), HTTP1_COMPLETE);
	assert_int_equal(r.status, 503);
	assert_span_null(r.reason);
	assert_int_equal(resp("HTTP/1.1 503 \r\n\r\n", 0, &r), HTTP1_COMPLETE);
	assert_span_equal(r.reason, "");
	/* bare LF */
	head = "HTTP/1.1 201 Created\nContent-Length: 0\n\n";
	assert_int_equal(resp(head, 0, &r), HTTP1_COMPLETE);
	assert_int_equal(r.status, 201);
	assert_int_equal(r.content_length, 0);
	assert_int_equal(r.header_len, strlen(head));
}

static void test_response_body_len(void **state)
{
	struct http_response r;

	(void)state;
	assert_int_equal(resp("HTTP/1.1 100 Continue\r\n\r\n", 0, &r), HTTP1_COMPLETE);
	assert_int_equal(r.status, 100);
	assert_int_equal(http1_response_body_len(&r, 0), 0);
	assert_int_equal(resp("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", 0, &r),
			 HTTP1_COMPLETE);
	assert_int_equal(r.content_length, 10);
	assert_int_equal(http1_response_body_len(&r, 0), 0);
	assert_int_equal(resp("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", 0, &r),
			 HTTP1_COMPLETE);
	assert_int_equal(http1_response_body_len(&r, 0), 0);
	/* the response to HEAD has no body whatever its Content-Length says */
	assert_int_equal(resp("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", 0, &r),
			 HTTP1_COMPLETE);
	assert_int_equal(http1_response_body_len(&r, 1), 0);
	assert_int_equal(http1_response_body_len(&r, 0), 1234);
	/* chunked: unknown from the head, even with a Content-Length */
	assert_int_equal(resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
			      "Content-Length: 3\r\n\r\n", 0, &r), HTTP1_COMPLETE);
	assert_int_equal(r.chunked, 1);
	assert_int_equal(http1_response_body_len(&r, 0), -1);
	/* conflicting Content-Length: unknown */
	assert_int_equal(resp("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
			      0, &r), HTTP1_COMPLETE);
	assert_int_equal(r.content_length, -1);
	assert_int_equal(http1_response_body_len(&r, 0), -1);
	assert_int_equal(resp("HTTP/1.1 200 OK\r\nContent-Length: x\r\nContent-Length: 4\r\n\r\n",
			      0, &r), HTTP1_COMPLETE);
	assert_int_equal(r.content_length, -1);
}

static void test_response_retry_after(void **state)
{
	struct http_response r;

	(void)state;
	assert_int_equal(resp("HTTP/1.1 429 Too Many Requests\r\nRetry-After: 120\r\n\r\n", 0,
			      &r), HTTP1_COMPLETE);
	assert_int_equal(r.status, 429);
	assert_int_equal(r.retry_after_s, 120);
	assert_span_equal(r.retry_after, "120");
	assert_int_equal(resp("HTTP/1.1 503 Busy\r\nretry-after: 0\r\n\r\n", 0, &r),
			 HTTP1_COMPLETE);
	assert_int_equal(r.retry_after_s, 0);
	assert_int_equal(resp("HTTP/1.1 503 Busy\r\nRetry-After: Fri, 31 Dec 1999 23:59:59 GMT\r\n"
			      "\r\n", 0, &r), HTTP1_COMPLETE);
	assert_int_equal(r.retry_after_s, -2);
	assert_span_equal(r.retry_after, "Fri, 31 Dec 1999 23:59:59 GMT");
	/* an empty value is no delay */
	assert_int_equal(resp("HTTP/1.1 503 Busy\r\nRetry-After:\r\n\r\n", 0, &r),
			 HTTP1_COMPLETE);
	assert_int_equal(r.retry_after_s, -1);
}

static void test_response_truncated(void **state)
{
	struct http_response r;

	(void)state;
	/* shorter than "HTTP/1.1 200": BAD even when more follows */
	assert_int_equal(resp("HTTP/1.1 20", 1, &r), HTTP1_BAD);
	assert_int_equal(resp("HTTP/1.1", 1, &r), HTTP1_BAD);
	assert_int_equal(http1_parse_response("HTTP/1.1 200 OK", 11, 1, &r), HTTP1_BAD);
	/* a status code and no line end */
	assert_int_equal(resp("HTTP/1.1 200", 1, &r), HTTP1_PARTIAL);
	assert_int_equal(r.status, 200);
	assert_int_equal(resp("HTTP/1.1 200", 0, &r), HTTP1_BAD);
	assert_int_equal(resp("HTTP/1.1 200 O", 1, &r), HTTP1_PARTIAL);
	assert_int_equal(r.status, 200);
	/* cut in the header block */
	assert_int_equal(resp("HTTP/1.1 302 Found\r\nLocation: /x\r\nRetry-After: 5\r\nConte", 1,
			      &r), HTTP1_PARTIAL);
	assert_int_equal(r.status, 302);
	assert_int_equal(r.retry_after_s, 5);
	assert_int_equal(r.header_len, 0);
}

static void test_response_bad(void **state)
{
	struct http_response r;

	(void)state;
	assert_int_equal(resp("HTTP/1.1 099 Low\r\n\r\n", 0, &r), HTTP1_BAD);
	assert_int_equal(resp("HTTP/1.1 000 Zero\r\n\r\n", 0, &r), HTTP1_BAD);
	assert_int_equal(resp("HTTP/1.1 abc OK\r\n\r\n", 0, &r), HTTP1_BAD);
	assert_int_equal(resp("HTTP/1.1 2x0 OK\r\n\r\n", 0, &r), HTTP1_BAD);
	assert_int_equal(resp("HTTP/1.1 2000 OK\r\n\r\n", 0, &r), HTTP1_BAD);
	assert_int_equal(resp("HTTP/1.1 200OK\r\n\r\n", 0, &r), HTTP1_BAD);
	assert_int_equal(resp("HTTP/1.1  200 OK\r\n\r\n", 0, &r), HTTP1_BAD);
	assert_int_equal(resp("HTTP/2.0 200 OK\r\n\r\n", 0, &r), HTTP1_BAD);
	assert_int_equal(resp("HTTP/2 200\r\n\r\n", 0, &r), HTTP1_BAD);
	assert_int_equal(resp("HTTP/1.x 200 OK\r\n\r\n", 0, &r), HTTP1_BAD);
	assert_int_equal(resp("http/1.1 200 OK\r\n\r\n", 0, &r), HTTP1_BAD);
	assert_int_equal(http1_parse_response(NULL, 0, 0, &r), HTTP1_BAD);
	assert_int_equal(r.retry_after_s, -1);
	assert_int_equal(r.content_length, -1);
	/* the top of the range is fine */
	assert_int_equal(resp("HTTP/1.1 999 Odd\r\n\r\n", 0, &r), HTTP1_COMPLETE);
	assert_int_equal(r.status, 999);
}

static void test_response_pipelined(void **state)
{
	const char *a = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n";
	const char *b = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
	char buf[256];
	struct http_response r;
	size_t off;

	(void)state;
	snprintf(buf, sizeof(buf), "%sok%s", a, b);
	assert_int_equal(resp(buf, 0, &r), HTTP1_COMPLETE);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.header_len, strlen(a));
	off = r.header_len + (size_t)http1_response_body_len(&r, 0);
	assert_int_equal(http1_parse_response(buf + off, strlen(buf) - off, 0, &r),
			 HTTP1_COMPLETE);
	assert_int_equal(r.status, 404);
	assert_int_equal(r.header_len, strlen(b));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_basic),
		cmocka_unit_test(test_request_body_headers),
		cmocka_unit_test(test_request_query),
		cmocka_unit_test(test_request_absolute_form),
		cmocka_unit_test(test_request_userinfo),
		cmocka_unit_test(test_request_connect_asterisk),
		cmocka_unit_test(test_request_bare_lf),
		cmocka_unit_test(test_request_malformed_fields),
		cmocka_unit_test(test_request_host_validation),
		cmocka_unit_test(test_request_content_length),
		cmocka_unit_test(test_request_truncated_headers),
		cmocka_unit_test(test_request_line_truncated),
		cmocka_unit_test(test_request_pipelined),
		cmocka_unit_test(test_request_junk),
		cmocka_unit_test(test_request_method_length),
		cmocka_unit_test(test_request_bad_version),
		cmocka_unit_test(test_request_many_headers),
		cmocka_unit_test(test_span_ieq),
		cmocka_unit_test(test_response_basic),
		cmocka_unit_test(test_response_body_len),
		cmocka_unit_test(test_response_retry_after),
		cmocka_unit_test(test_response_truncated),
		cmocka_unit_test(test_response_bad),
		cmocka_unit_test(test_response_pipelined),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
