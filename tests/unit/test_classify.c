// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_classify.c - include/http_classify.h tg_classify(): the first-bytes check the BPF
 * programs use to decide what to copy. Requests (registered and extension methods, every
 * request-target form), responses (HTTP/1.0, HTTP/1.1), the HTTP/2 preface, and what must
 * stay OTHER: short buffers, lower-case methods, a method without SP, binary junk, TLS
 * records, "HTTP/2 200", n = 0.
 */
#include "unit.h"

#include "http_classify.h"

/* Classify a C string, looking at no more than TG_PEEK_LEN bytes, as BPF does. */
static int cls(const char *s)
{
	size_t n = strlen(s);

	return tg_classify((const __u8 *)s, (__u32)(n < TG_PEEK_LEN ? n : TG_PEEK_LEN));
}

static int cls_n(const void *p, __u32 n)
{
	return tg_classify(p, n);
}

static void test_requests(void **state)
{
	(void)state;
	assert_int_equal(cls("GET / HTTP/1.1\r\n"), TG_KIND_REQUEST);
	assert_int_equal(cls("POST /v1/chat/completions HTTP/1.1\r\n"), TG_KIND_REQUEST);
	assert_int_equal(cls("DELETE /x HTTP/1.1\r\n"), TG_KIND_REQUEST);
	assert_int_equal(cls("OPTIONS * HTTP/1.1\r\n"), TG_KIND_REQUEST);
	assert_int_equal(cls("PUT /x HTTP/1.0\r\n"), TG_KIND_REQUEST);
	assert_int_equal(cls("HEAD /x HTTP/1.1\r\n"), TG_KIND_REQUEST);
	assert_int_equal(cls("PATCH /x HTTP/1.1\r\n"), TG_KIND_REQUEST);
	assert_int_equal(cls("PROPFIND /dav HTTP/1.1\r\n"), TG_KIND_REQUEST);
	/* extension methods of 3..7 upper-case letters */
	assert_int_equal(cls("MKCOL /dav/x HTTP/1.1\r\n"), TG_KIND_REQUEST);
	assert_int_equal(cls("PURGE /cache HTTP/1.1\r\n"), TG_KIND_REQUEST);
	assert_int_equal(cls("ABCDEFG /x HTTP/1.1\r\n"), TG_KIND_REQUEST);
	/* request-target forms: absolute, authority (name or address), asterisk */
	assert_int_equal(cls("GET http://example.com/ HTTP/1.1\r\n"), TG_KIND_REQUEST);
	assert_int_equal(cls("GET HTTP://EXAMPLE.COM/ HTTP/1.1\r\n"), TG_KIND_REQUEST);
	assert_int_equal(cls("CONNECT example.com:443 HTTP/1.1\r\n"), TG_KIND_REQUEST);
	assert_int_equal(cls("CONNECT 10.0.0.1:443 HTTP/1.1\r\n"), TG_KIND_REQUEST);
	assert_int_equal(cls("OPTIONS *"), TG_KIND_REQUEST);
	/* exactly method SP and one target byte is enough */
	assert_int_equal(cls("GET /"), TG_KIND_REQUEST);
}

static void test_method_length(void **state)
{
	(void)state;
	/* PROPFIND (WebDAV, RFC 4918) is the longest method the check promises: 8 letters */
	assert_int_equal(cls("PROPFIND / HTTP/1.1\r\n"), TG_KIND_REQUEST);
	assert_int_equal(cls("ABCDEFGH /x HTTP/1.1\r\n"), TG_KIND_REQUEST);
	/* 9 letters and more: OTHER (PROPPATCH is not recognised) */
	assert_int_equal(cls("PROPPATCH / HTTP/1.1\r\n"), TG_KIND_OTHER);
	assert_int_equal(cls("ABCDEFGHIJKL / HTTP/1.1\r\n"), TG_KIND_OTHER);
	/* 2 letters: OTHER */
	assert_int_equal(cls("GE / HTTP/1.1\r\n"), TG_KIND_OTHER);
}

static void test_responses(void **state)
{
	(void)state;
	assert_int_equal(cls("HTTP/1.1 200 OK\r\n"), TG_KIND_RESPONSE);
	assert_int_equal(cls("HTTP/1.0 404 Not Found\r\n"), TG_KIND_RESPONSE);
	assert_int_equal(cls("HTTP/1.1 100 Continue\r\n"), TG_KIND_RESPONSE);
	/* 8 bytes are enough to tell */
	assert_int_equal(cls("HTTP/1.1"), TG_KIND_RESPONSE);
	assert_int_equal(cls("HTTP/1."), TG_KIND_OTHER);
	assert_int_equal(cls("HTTP/1.x 200"), TG_KIND_OTHER);
	/* HTTP/2 has no text status line: not an HTTP/1 response, and "HTTP" is 4 letters
	 * followed by '/', not SP, so not a request either */
	assert_int_equal(cls("HTTP/2 200\r\n"), TG_KIND_OTHER);
	assert_int_equal(cls("HTTP/2.0 200 OK\r\n"), TG_KIND_OTHER);
	assert_int_equal(cls("http/1.1 200 OK\r\n"), TG_KIND_OTHER);
}

static void test_h2_preface(void **state)
{
	static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

	(void)state;
	assert_int_equal(cls_n(preface, TG_PEEK_LEN), TG_KIND_H2_PREFACE);
	assert_int_equal(cls_n(preface, 14), TG_KIND_H2_PREFACE);
	/* 13 bytes cannot be told from a request "PRI * HTTP/2." */
	assert_int_equal(cls_n(preface, 13), TG_KIND_REQUEST);
	assert_int_equal(cls("PRI * HTTP/1.1\r\n"), TG_KIND_REQUEST);
}

static void test_short(void **state)
{
	(void)state;
	assert_int_equal(cls_n("", 0), TG_KIND_OTHER);
	assert_int_equal(cls_n("GET /", 0), TG_KIND_OTHER);
	assert_int_equal(cls_n("G", 1), TG_KIND_OTHER);
	assert_int_equal(cls_n("GET ", 4), TG_KIND_OTHER);
	assert_int_equal(cls_n("GET /", 4), TG_KIND_OTHER);
	assert_int_equal(cls_n("HTTP", 4), TG_KIND_OTHER);
	/* n limits what is read even when more bytes follow in memory */
	assert_int_equal(cls_n("HTTP/1.1 200 OK", 7), TG_KIND_OTHER);
	assert_int_equal(cls_n("GET /x HTTP/1.1", 5), TG_KIND_REQUEST);
}

static void test_not_requests(void **state)
{
	(void)state;
	/* lower-case methods are not HTTP/1 methods on the wire */
	assert_int_equal(cls("get / HTTP/1.1\r\n"), TG_KIND_OTHER);
	assert_int_equal(cls("Get / HTTP/1.1\r\n"), TG_KIND_OTHER);
	/* method without SP */
	assert_int_equal(cls("GET/ HTTP/1.1\r\n"), TG_KIND_OTHER);
	assert_int_equal(cls("GETTING\r\n"), TG_KIND_OTHER);
	assert_int_equal(cls("GET\t/ HTTP/1.1\r\n"), TG_KIND_OTHER);
	/* two SPs, or a target starting with something else */
	assert_int_equal(cls("GET  / HTTP/1.1\r\n"), TG_KIND_OTHER);
	assert_int_equal(cls("GET \"x\" HTTP/1.1"), TG_KIND_OTHER);
	/* JSON body, plain text */
	assert_int_equal(cls("{\"model\":\"gpt\"}"), TG_KIND_OTHER);
	assert_int_equal(cls("hello world, this is text"), TG_KIND_OTHER);
}

static void test_binary(void **state)
{
	/* TLS 1.2 handshake record: ClientHello */
	static const __u8 tls_hello[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01,
					 0xfc, 0x03, 0x03, 0x11, 0x22, 0x33, 0x44, 0x55};
	/* TLS application data record */
	static const __u8 tls_app[] = {0x17, 0x03, 0x03, 0x00, 0x45, 0xde, 0xad, 0xbe,
				       0xef, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06};
	static const __u8 zeros[TG_PEEK_LEN] = {0};
	/* upper-case letters then a NUL, then binary */
	static const __u8 nul_after[] = {'G', 'E', 'T', 0x00, '/', 'x', 0xff, 0xfe};
	/* an HTTP/2 frame header (SETTINGS) */
	static const __u8 h2_frame[] = {0x00, 0x00, 0x12, 0x04, 0x00, 0x00, 0x00, 0x00,
					0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x64, 0x00};
	__u8 all[256];

	(void)state;
	assert_int_equal(cls_n(tls_hello, sizeof(tls_hello)), TG_KIND_OTHER);
	assert_int_equal(cls_n(tls_app, sizeof(tls_app)), TG_KIND_OTHER);
	assert_int_equal(cls_n(zeros, sizeof(zeros)), TG_KIND_OTHER);
	assert_int_equal(cls_n(nul_after, sizeof(nul_after)), TG_KIND_OTHER);
	assert_int_equal(cls_n(h2_frame, sizeof(h2_frame)), TG_KIND_OTHER);
	/* a window sliding over all 256 byte values never looks like a message */
	for (int i = 0; i < 256; i++)
		all[i] = (__u8)i;
	for (int i = 0; i + TG_PEEK_LEN <= 256; i++)
		assert_int_equal(cls_n(all + i, TG_PEEK_LEN), TG_KIND_OTHER);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_method_length),
		cmocka_unit_test(test_responses),
		cmocka_unit_test(test_h2_preface),
		cmocka_unit_test(test_short),
		cmocka_unit_test(test_not_requests),
		cmocka_unit_test(test_binary),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
