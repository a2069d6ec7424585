// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_redact.c - user/flow/redact.c: secret query parameters replaced by REDACTED ('&' and ';'
 * separators, empty and missing values, a too small output buffer, the first secret
 * returned), which parameter names and which values (by shape: token prefixes, long
 * base64 or hex) are secrets, header names, the keyed fingerprint (HMAC-SHA-256 under a
 * per-process key: stable within a process, never the plain SHA-256 of the FIPS 180-2 test
 * vectors, different in another process), and the order in which redact_auth_fp prefers
 * credential carriers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "unit.h"

#include "redact.h"

/* SHA-256 test vectors (FIPS 180-2 appendix B and common published ones), first 12 hex:
 * what an unkeyed fingerprint would be, and auth_fp must not be */
#define SHA_ABC "ba7816bf8f01"      /* "abc" */
#define SHA_EMPTY "e3b0c44298fc"    /* "" */
#define SHA_MD "f7846f55cf23"       /* "message digest" */
#define SHA_448 "248d6a61d206"      /* "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq" */
#define SHA_FOX "d7a8fbb307d7"      /* "The quick brown fox jumps over the lazy dog" */
/* The keyed fingerprints of this process (the key is random per process) */
#define FP_ABC fp_of("abc")
#define FP_MD fp_of("message digest")
#define FP_448 fp_of(S_448)
#define FP_FOX fp_of(S_FOX)
#define S_448 "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
#define S_FOX "The quick brown fox jumps over the lazy dog"

/* redact_fingerprint of the string @s, in one of 4 rotating buffers. */
static const char *fp_of(const char *s)
{
	static char bufs[4][REDACT_FP_HEX + 1];
	static unsigned next;
	char *b = bufs[next++ % 4];

	redact_fingerprint(s, strlen(s), b);
	return b;
}

/* redact_query into an exactly @outlen-byte heap buffer (ASan catches any overrun). */
static size_t rq(const char *q, size_t outlen, char *copy, size_t copylen,
		 struct http_span *secret)
{
	char *out = malloc(outlen ? outlen : 1);
	size_t n;

	assert_non_null(out);
	memset(out, 'X', outlen);
	n = redact_query(q, strlen(q), out, outlen, secret);
	if (outlen) {
		assert_int_equal(strlen(out), n);
		snprintf(copy, copylen, "%s", out);
	} else {
		copy[0] = 0;
	}
	free(out);
	return n;
}

static void test_query_basic(void **state)
{
	const char *q = "model=gpt-4&token=tok123&limit=5";
	char out[128];
	struct http_span sec;

	(void)state;
	assert_int_equal(rq(q, 128, out, sizeof(out), &sec), 34);
	assert_string_equal(out, "model=gpt-4&token=REDACTED&limit=5");
	assert_span_equal(sec, "tok123");
	/* the span points into the input */
	assert_ptr_equal(sec.p, q + 18);

	/* nothing secret: copied as is, no span */
	rq("a=1&b=2&page=3", 128, out, sizeof(out), &sec);
	assert_string_equal(out, "a=1&b=2&page=3");
	assert_span_null(sec);

	/* secret as the last and the only parameter */
	rq("x=1&api_key=K", 128, out, sizeof(out), &sec);
	assert_string_equal(out, "x=1&api_key=REDACTED");
	assert_span_equal(sec, "K");
	rq("sig=abc", 128, out, sizeof(out), NULL);
	assert_string_equal(out, "sig=REDACTED");
	/* everything after the first '=' is the value */
	rq("password=a=b&c=d", 128, out, sizeof(out), &sec);
	assert_string_equal(out, "password=REDACTED&c=d");
	assert_span_equal(sec, "a=b");
}

static void test_query_separators(void **state)
{
	char out[128];
	struct http_span sec;

	(void)state;
	rq("x=1;Access_Token=zzz;y=2", 128, out, sizeof(out), &sec);
	assert_string_equal(out, "x=1;Access_Token=REDACTED;y=2");
	assert_span_equal(sec, "zzz");
	rq("a=1;key=k&b=2", 128, out, sizeof(out), &sec);
	assert_string_equal(out, "a=1;key=REDACTED&b=2");
	/* empty parameters and a trailing separator are kept */
	rq("a=1&&token=t&", 128, out, sizeof(out), &sec);
	assert_string_equal(out, "a=1&&token=REDACTED&");
	rq("", 128, out, sizeof(out), &sec);
	assert_string_equal(out, "");
	assert_span_null(sec);
}

static void test_query_empty_and_valueless(void **state)
{
	char out[128];
	struct http_span sec;

	(void)state;
	/* an empty secret value has nothing to hide: kept, and not a credential */
	rq("token=&a=1", 128, out, sizeof(out), &sec);
	assert_string_equal(out, "token=&a=1");
	assert_span_null(sec);
	/* a parameter without '=' has no value */
	rq("debug&token&key", 128, out, sizeof(out), &sec);
	assert_string_equal(out, "debug&token&key");
	assert_span_null(sec);
	/* the first non-empty secret is the one returned */
	rq("token=&key=first&secret=second", 128, out, sizeof(out), &sec);
	assert_string_equal(out, "token=&key=REDACTED&secret=REDACTED");
	assert_span_equal(sec, "first");
	/* '=' with no name */
	rq("=v&=", 128, out, sizeof(out), &sec);
	assert_string_equal(out, "=v&=");
	assert_span_null(sec);
}

static void test_query_small_buffer(void **state)
{
	const char *q = "a=1&token=abcdef&b=2";
	char out[64];
	struct http_span sec;

	(void)state;
	/* exactly enough: "a=1&token=REDACTED&b=2" is 22 bytes + NUL */
	assert_int_equal(rq(q, 23, out, sizeof(out), &sec), 22);
	assert_string_equal(out, "a=1&token=REDACTED&b=2");
	/* one short: cut at the parameter boundary; "..." needs 3 more bytes than are left */
	assert_int_equal(rq(q, 22, out, sizeof(out), &sec), 19);
	assert_string_equal(out, "a=1&token=REDACTED&");
	assert_span_equal(sec, "abcdef");
	/* with room for it, "..." marks the cut */
	assert_int_equal(rq("a=1&token=abcdef&bb=22", 24, out, sizeof(out), &sec), 22);
	assert_string_equal(out, "a=1&token=REDACTED&...");
	/* the secret parameter does not fit: neither it nor its value appear */
	assert_int_equal(rq(q, 10, out, sizeof(out), &sec), 7);
	assert_string_equal(out, "a=1&...");
	assert_span_null(sec);
	/* room for "..." only */
	assert_int_equal(rq(q, 4, out, sizeof(out), &sec), 3);
	assert_string_equal(out, "...");
	/* not even that: an empty string, still terminated */
	assert_int_equal(rq(q, 3, out, sizeof(out), &sec), 0);
	assert_string_equal(out, "");
	assert_int_equal(rq(q, 1, out, sizeof(out), &sec), 0);
	assert_string_equal(out, "");
	/* no room at all: nothing written */
	assert_int_equal(rq(q, 0, out, sizeof(out), &sec), 0);
	assert_span_null(sec);
	/* a value that is short in the input grows to REDACTED: the size counts the output */
	assert_int_equal(rq("key=1", 13, out, sizeof(out), &sec), 12);
	assert_string_equal(out, "key=REDACTED");
	assert_int_equal(rq("key=1", 12, out, sizeof(out), &sec), 3);
	assert_string_equal(out, "...");
	assert_span_null(sec);
}

static int is_secret(const char *name)
{
	return redact_param_is_secret(name, strlen(name));
}

static void test_param_names(void **state)
{
	static const char *const secret[] = {
		"token", "TOKEN", "key", "Key", "sig", "signature", "X-Amz-Signature", "secret",
		"client_secret", "password", "passwd", "pwd", "pass", "access_token",
		"refresh_token", "id_token", "api_key", "apikey", "api-key", "ApiKey", "auth",
		"session", "sid", "code", "jwt", "credential", "credentials",
		"X-Amz-Credential", "subscription-key", "privatekey", "authorization",
		"Authorization", "session_id", "SESSION_ID", "sessionid", "SessionId", "passphrase",
		"PassPhrase", "client_assertion", "Client_Assertion", "code_verifier",
		"CODE_VERIFIER", "SAMLResponse", "samlresponse", "bearer", "Bearer", NULL};
	static const char *const plain[] = {
		"a", "page", "limit", "model", "q", "keyboard", "keys", "author", "authority",
		"passenger", "signal", "sign", "sessions", "codec", "ke", "", "authorized",
		"session_ids_count", "assertion_mode", "verifier", "bearers", NULL};

	(void)state;
	for (int i = 0; secret[i]; i++)
		if (!is_secret(secret[i]))
			fail_msg("\"%s\" should be a secret parameter", secret[i]);
	for (int i = 0; plain[i]; i++)
		if (is_secret(plain[i]))
			fail_msg("\"%s\" should not be a secret parameter", plain[i]);
	/* any name containing "token" is one, whatever surrounds it */
	assert_true(is_secret("no_tokens_here"));
	/* the length bounds the name: "keyboard" cut to "key" is a secret */
	assert_true(redact_param_is_secret("keyboard", 3));
	assert_false(redact_param_is_secret("key", 0));
}

static int value_secret(const char *v)
{
	return redact_value_is_secret(v, strlen(v));
}

static void test_value_shapes(void **state)
{
	static const char *const secret[] = {
		"sk-proj-abcdefghijklmnop", "sk-ant-api03-xxxxxxxxxxxx",
		"ghp_16C7e42F292c6912E7710c838347Ae178B4a", "gho_aaaaaaaaaaaaaaaaaaaaaaaa",
		"github_pat_11ABCDEFG0123456789_abcdef", "xoxb-1234-5678-abcdefghij",
		"xoxp-1234-5678-abcdefghij",
		"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", /* JWT */
		"AKIAIOSFODNN7EXAMPLE",
		/* high-entropy base64 (also percent-encoded, also with '/') and long hex */
		"dGhpc0lzQVNlY3JldDEyMw", "dGhpc0lz%2BQVNlY3JldDEyMw%3D%3D", "aB3dE/fG7hIj+kL9mN0p",
		"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		"abcdefghij0123456789abcd", NULL};
	static const char *const plain[] = {
		"3", "gpt-4", "sk-SK", "en-US", "eyJ", "AKIA", "2026-11-21T10:00:00Z", "ascending",
		"hello+world", "/api/customers/42", "deadbeefdeadbeef", /* hex, but short */
		"some_long_snake_case_value", "application%2Fjson", "created_at.desc", "", NULL};

	(void)state;
	for (int i = 0; secret[i]; i++)
		if (!value_secret(secret[i]))
			fail_msg("\"%s\" should be a secret value", secret[i]);
	for (int i = 0; plain[i]; i++)
		if (value_secret(plain[i]))
			fail_msg("\"%s\" should not be a secret value", plain[i]);

	/* in a query: redacted whatever the parameter's name, and the first one found is the
	 * secret the fingerprint uses */
	char out[256];
	struct http_span sec;
	rq("model=gpt-4&state=ghp_16C7e42F292c6912E7710c838347Ae178B4a&page=2", sizeof(out),
	   out, sizeof(out), &sec);
	assert_string_equal(out, "model=gpt-4&state=REDACTED&page=2");
	assert_span_equal(sec, "ghp_16C7e42F292c6912E7710c838347Ae178B4a");
	rq("x=AKIAIOSFODNN7EXAMPLE&id_token=abc&lang=sk-SK", sizeof(out), out, sizeof(out), &sec);
	assert_string_equal(out, "x=REDACTED&id_token=REDACTED&lang=sk-SK");
	assert_span_equal(sec, "AKIAIOSFODNN7EXAMPLE");
	rq("SAMLResponse=PHNhbWw%2B&Authorization=Basic%20YQ&bearer=t", sizeof(out), out,
	   sizeof(out), NULL);
	assert_string_equal(out, "SAMLResponse=REDACTED&Authorization=REDACTED&bearer=REDACTED");
}

static int rank(const char *name)
{
	return redact_header_rank(name, strlen(name));
}

static void test_header_rank(void **state)
{
	(void)state;
	assert_int_equal(rank("Authorization"), 1);
	assert_int_equal(rank("authorization"), 1);
	assert_int_equal(rank("Proxy-Authorization"), 2);
	assert_int_equal(rank("PROXY-AUTHORIZATION"), 2);
	assert_int_equal(rank("X-Api-Key"), 3);
	assert_int_equal(rank("Api-Key"), 3);
	assert_int_equal(rank("x-goog-api-key"), 3);
	assert_int_equal(rank("X-ApiKey"), 3);
	assert_int_equal(rank("X_API_KEY"), 3);
	assert_int_equal(rank("X-Auth-Token"), 3);
	assert_int_equal(rank("Private-Token"), 3);
	assert_int_equal(rank("X-Amz-Security-Token"), 3);
	assert_int_equal(rank("X-Client-Secret"), 3);
	assert_int_equal(rank("X-Password"), 3);
	assert_int_equal(rank("Cookie"), 5);
	assert_int_equal(rank("cookie"), 5);
	assert_int_equal(rank("Host"), 0);
	assert_int_equal(rank("Content-Type"), 0);
	assert_int_equal(rank("User-Agent"), 0);
	assert_int_equal(rank("Authorization-Info"), 0);
	assert_int_equal(rank("Set-Cookie"), 0);
	assert_int_equal(rank("Cookie2"), 0);
	assert_int_equal(rank("X-Key"), 0);
	assert_int_equal(rank(""), 0);
	/* the length bounds the name */
	assert_int_equal(redact_header_rank("Cookie-Monster", 6), 5);
}

/* This test binary run as "--fp": prints the fingerprint of "abc" in a fresh process. */
static void fp_other_process(char out[REDACT_FP_HEX + 1])
{
	char cmd[64];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "/proc/%d/exe --fp", (int)getpid());
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(out, REDACT_FP_HEX + 1, p));
	assert_int_equal(pclose(p), 0);
	assert_int_equal(strlen(out), REDACT_FP_HEX);
}

static void test_fingerprint(void **state)
{
	static const char *const in[] = {"abc", "", "message digest", S_448, S_FOX};
	static const char *const sha[] = {SHA_ABC, SHA_EMPTY, SHA_MD, SHA_448, SHA_FOX};
	char fp[REDACT_FP_HEX + 1], again[REDACT_FP_HEX + 1], other[REDACT_FP_HEX + 1];

	(void)state;
	assert_int_equal(redact_init(), 0);
	assert_int_equal(redact_init(), 0); /* idempotent: the same key */
	for (int i = 0; i < 5; i++) {
		memset(fp, 'X', sizeof(fp));
		redact_fingerprint(in[i], strlen(in[i]), fp);
		assert_int_equal(fp[REDACT_FP_HEX], 0);
		for (int k = 0; k < REDACT_FP_HEX; k++)
			assert_true((fp[k] >= '0' && fp[k] <= '9') || (fp[k] >= 'a' && fp[k] <= 'f'));
		/* keyed: not the plain SHA-256 prefix a dictionary attack could match */
		assert_string_not_equal(fp, sha[i]);
		assert_string_not_equal(fp, "000000000000");
		/* stable within the process: correlates requests of one run */
		redact_fingerprint(in[i], strlen(in[i]), again);
		assert_string_equal(fp, again);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(fp, fp_of(in[j]));
	}
	/* the length counts, not a NUL */
	redact_fingerprint("abcdef", 3, fp);
	assert_string_equal(fp, FP_ABC);
	/* another process has another key */
	fp_other_process(other);
	assert_string_not_equal(other, FP_ABC);
	assert_string_not_equal(other, SHA_ABC);
}

/* Parse a request head (must be COMPLETE) and fingerprint it, with the query's secret. */
static int auth_fp(const char *head, char fp[REDACT_FP_HEX + 1])
{
	struct http_request r;
	struct http_span secret = {NULL, 0};
	char q[256];

	assert_int_equal(http1_parse_request(head, strlen(head), 0, &r), HTTP1_COMPLETE);
	if (r.query.p)
		redact_query(r.query.p, r.query.n, q, sizeof(q), &secret);
	memset(fp, 'X', REDACT_FP_HEX + 1);
	return redact_auth_fp(&r, secret, fp);
}

static void test_auth_fp_order(void **state)
{
	char fp[REDACT_FP_HEX + 1];

	(void)state;
	/* every carrier present, Cookie and the API key first: Authorization wins, and only
	 * the credentials after the auth-scheme count */
	assert_int_equal(auth_fp("GET /?token=" S_448 " HTTP/1.1\r\n"
				 "Cookie: " S_FOX "\r\n"
				 "X-Api-Key: message digest\r\n"
				 "Proxy-Authorization: Basic message digest\r\n"
				 "Authorization: Bearer abc\r\n\r\n", fp), 1);
	assert_string_equal(fp, FP_ABC);
	/* then Proxy-Authorization */
	assert_int_equal(auth_fp("GET /?token=abc HTTP/1.1\r\n"
				 "Cookie: abc\r\n"
				 "X-Api-Key: abc\r\n"
				 "Proxy-Authorization: Basic message digest\r\n\r\n", fp), 1);
	assert_string_equal(fp, FP_MD);
	/* then an API-key style header: the whole value, no scheme taken off */
	assert_int_equal(auth_fp("GET /?token=abc HTTP/1.1\r\n"
				 "Cookie: abc\r\n"
				 "X-Auth-Token: " S_FOX "\r\n\r\n", fp), 1);
	assert_string_equal(fp, FP_FOX);
	/* then the first secret query parameter */
	assert_int_equal(auth_fp("GET /v1?a=1&key=" S_448 "&sig=abc HTTP/1.1\r\n"
				 "Cookie: abc\r\n\r\n", fp), 1);
	assert_string_equal(fp, FP_448);
	/* then Cookie, the whole value */
	assert_int_equal(auth_fp("GET /?page=2 HTTP/1.1\r\nCookie: message digest\r\n\r\n", fp),
			 1);
	assert_string_equal(fp, FP_MD);
}

static void test_auth_fp_details(void **state)
{
	char fp[REDACT_FP_HEX + 1];

	(void)state;
	/* no credential at all */
	assert_int_equal(auth_fp("GET /?a=1&token= HTTP/1.1\r\nHost: h\r\nUser-Agent: u\r\n\r\n",
				 fp), 0);
	assert_int_equal(auth_fp("GET / HTTP/1.1\r\n\r\n", fp), 0);
	/* an empty carrier is no credential: the next one counts */
	assert_int_equal(auth_fp("GET / HTTP/1.1\r\nAuthorization:\r\nCookie: abc\r\n\r\n", fp),
			 1);
	assert_string_equal(fp, FP_ABC);
	/* no auth-scheme: the whole value; several spaces after the scheme */
	assert_int_equal(auth_fp("GET / HTTP/1.1\r\nAuthorization: abc\r\n\r\n", fp), 1);
	assert_string_equal(fp, FP_ABC);
	assert_int_equal(auth_fp("GET / HTTP/1.1\r\nAuthorization: Bearer    abc\r\n\r\n", fp), 1);
	assert_string_equal(fp, FP_ABC);
	/* token68 with auth-params: everything after the scheme */
	assert_int_equal(auth_fp("GET / HTTP/1.1\r\nAuthorization: Digest message digest\r\n\r\n",
				 fp), 1);
	assert_string_equal(fp, FP_MD);
	/* the first Authorization of two */
	assert_int_equal(auth_fp("GET / HTTP/1.1\r\nAuthorization: Bearer abc\r\n"
				 "Authorization: Bearer message digest\r\n\r\n", fp), 1);
	assert_string_equal(fp, FP_ABC);
	/* a query secret beats Cookie only: an API-key header beats the query */
	assert_int_equal(auth_fp("GET /?sig=abc HTTP/1.1\r\nApi-Key: " S_FOX "\r\n\r\n", fp), 1);
	assert_string_equal(fp, FP_FOX);
	assert_int_equal(fp[REDACT_FP_HEX], 0);
}

/* The fingerprint cache (256 slots) changes nothing: 4,000 distinct credentials, many
 * sharing a slot, give the same fingerprints fresh, again in reverse order (each evicting
 * others), and all distinct. */
static void test_fingerprint_cache(void **state)
{
	enum { N = 4000 };
	static char fp[N][REDACT_FP_HEX + 1];
	char cred[32], again[REDACT_FP_HEX + 1];

	(void)state;
	for (int i = 0; i < N; i++) {
		int n = snprintf(cred, sizeof(cred), "sk-test-%d", i);
		redact_fingerprint(cred, (size_t)n, fp[i]);
	}
	for (int i = N - 1; i >= 0; i--) {
		int n = snprintf(cred, sizeof(cred), "sk-test-%d", i);
		redact_fingerprint(cred, (size_t)n, again);
		assert_string_equal(again, fp[i]);
		redact_fingerprint(cred, (size_t)n, again); /* now from the cache */
		assert_string_equal(again, fp[i]);
	}
	for (int i = 1; i < N; i++)
		assert_string_not_equal(fp[i], fp[i - 1]);
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--fp")) {
		printf("%s\n", fp_of("abc"));
		return 0;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_basic),
		cmocka_unit_test(test_query_separators),
		cmocka_unit_test(test_query_empty_and_valueless),
		cmocka_unit_test(test_query_small_buffer),
		cmocka_unit_test(test_param_names),
		cmocka_unit_test(test_value_shapes),
		cmocka_unit_test(test_header_rank),
		cmocka_unit_test(test_fingerprint),
		cmocka_unit_test(test_fingerprint_cache),
		cmocka_unit_test(test_auth_fp_order),
		cmocka_unit_test(test_auth_fp_details),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
