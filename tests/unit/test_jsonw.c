// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_jsonw.c - user/output/jsonw.c, the JSON line builder: string escaping (quotes, backslash,
 * control characters, DEL, NUL), UTF-8 passed through when valid and written as \u00XX
 * when not (stray continuation bytes, truncated, overlong, surrogate and out-of-range
 * sequences), integers at their limits, doubles and non-finite values, nesting and
 * commas, RFC 3339 formatting and parsing, and jw_write to a file, to /dev/full (ENOSPC)
 * and after an allocation failure. Every line built is also parsed back with jansson to
 * prove it is valid JSON.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "unit.h"

#include "jsonw.h"
#include "sink_jsonl.h"

#include <arpa/inet.h>
#include <sys/socket.h>

/* The buffer as a NUL-terminated string (the builder does not terminate it). */
static const char *line(struct jsonw *w)
{
	static char out[8192];

	assert_true(w->len < sizeof(out));
	memcpy(out, w->buf, w->len);
	out[w->len] = 0;
	return out;
}

/* Parse one line with jansson; the caller owns the result. */
static json_t *parse(struct jsonw *w)
{
	json_error_t err;
	json_t *j = json_loadb(w->buf, w->len, JSON_ALLOW_NUL, &err);

	if (!j)
		fail_msg("jansson rejects %s: %s at %d", line(w), err.text, err.position);
	return j;
}

/* {"s": <jw_strn(s, n)>}: checks the exact text and what jansson decodes. */
static void check_str(const char *s, size_t n, const char *want_json, const char *want_utf8,
		      size_t want_len)
{
	struct jsonw w;
	char expect[1024];
	json_t *j;

	jw_init(&w);
	jw_begin(&w);
	jw_key(&w, "s");
	jw_strn(&w, s, n);
	jw_end(&w);
	snprintf(expect, sizeof(expect), "{\"s\":\"%s\"}\n", want_json);
	assert_string_equal(line(&w), expect);
	j = parse(&w);
	assert_int_equal(json_string_length(json_object_get(j, "s")), want_len);
	assert_memory_equal(json_string_value(json_object_get(j, "s")), want_utf8, want_len);
	json_decref(j);
	jw_free(&w);
}

#define CHECK_STR(lit, want_json, want_utf8) \
	check_str(lit, sizeof(lit) - 1, want_json, want_utf8, sizeof(want_utf8) - 1)

static void test_escape_ascii(void **state)
{
	(void)state;
	CHECK_STR("plain text /path?q=1", "plain text /path?q=1", "plain text /path?q=1");
	CHECK_STR("", "", "");
	CHECK_STR("a\"b", "a\\\"b", "a\"b");
	CHECK_STR("a\\b", "a\\\\b", "a\\b");
	CHECK_STR("\n\r\t", "\\n\\r\\t", "\n\r\t");
	CHECK_STR("\x01\x08\x0b\x0c\x1f", "\\u0001\\u0008\\u000b\\u000c\\u001f",
		  "\x01\x08\x0b\x0c\x1f");
	CHECK_STR("\x7f", "\\u007f", "\x7f");
	CHECK_STR("a\0b", "a\\u0000b", "a\0b");
	/* '/' needs no escape, and a space or '~' neither */
	CHECK_STR(" ~/", " ~/", " ~/");
}

static void test_escape_utf8(void **state)
{
	(void)state;
	/* valid sequences of every length pass through as they are */
	CHECK_STR("caf\xc3\xa9", "caf\xc3\xa9", "caf\xc3\xa9");
	CHECK_STR("\xc2\x80", "\xc2\x80", "\xc2\x80");                 /* U+0080 */
	CHECK_STR("\xdf\xbf", "\xdf\xbf", "\xdf\xbf");                 /* U+07FF */
	CHECK_STR("\xe0\xa0\x80", "\xe0\xa0\x80", "\xe0\xa0\x80");     /* U+0800 */
	CHECK_STR("\xe2\x82\xac", "\xe2\x82\xac", "\xe2\x82\xac");     /* EURO SIGN */
	CHECK_STR("\xed\x9f\xbf", "\xed\x9f\xbf", "\xed\x9f\xbf");     /* U+D7FF */
	CHECK_STR("\xee\x80\x80", "\xee\x80\x80", "\xee\x80\x80");     /* U+E000 */
	CHECK_STR("\xef\xbf\xbf", "\xef\xbf\xbf", "\xef\xbf\xbf");     /* U+FFFF */
	CHECK_STR("\xf0\x90\x80\x80", "\xf0\x90\x80\x80", "\xf0\x90\x80\x80"); /* U+10000 */
	CHECK_STR("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"); /* emoji */
	CHECK_STR("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"); /* U+10FFFF */
}

static void test_escape_invalid_utf8(void **state)
{
	(void)state;
	/* each bad byte is written as its Latin-1 reading, \u00XX, which jansson decodes
	 * to that code point (so 0xe9 comes back as U+00E9, c3 a9) */
	CHECK_STR("\x80", "\\u0080", "\xc2\x80");
	CHECK_STR("\xff", "\\u00ff", "\xc3\xbf");
	CHECK_STR("caf\xe9", "caf\\u00e9", "caf\xc3\xa9");
	/* a lead byte followed by a non-continuation byte */
	CHECK_STR("\xc3(", "\\u00c3(", "\xc3\x83(");
	/* truncated at the end of the string */
	CHECK_STR("x\xe2\x82", "x\\u00e2\\u0082", "x\xc3\xa2\xc2\x82");
	CHECK_STR("\xf0\x9f\x98", "\\u00f0\\u009f\\u0098", "\xc3\xb0\xc2\x9f\xc2\x98");
	/* overlong encodings */
	CHECK_STR("\xc0\xaf", "\\u00c0\\u00af", "\xc3\x80\xc2\xaf");
	CHECK_STR("\xc1\xbf", "\\u00c1\\u00bf", "\xc3\x81\xc2\xbf");
	CHECK_STR("\xe0\x80\xaf", "\\u00e0\\u0080\\u00af", "\xc3\xa0\xc2\x80\xc2\xaf");
	CHECK_STR("\xe0\x9f\xbf", "\\u00e0\\u009f\\u00bf", "\xc3\xa0\xc2\x9f\xc2\xbf");
	CHECK_STR("\xf0\x8f\xbf\xbf", "\\u00f0\\u008f\\u00bf\\u00bf",
		  "\xc3\xb0\xc2\x8f\xc2\xbf\xc2\xbf");
	/* UTF-16 surrogates */
	CHECK_STR("\xed\xa0\x80", "\\u00ed\\u00a0\\u0080", "\xc3\xad\xc2\xa0\xc2\x80");
	CHECK_STR("\xed\xbf\xbf", "\\u00ed\\u00bf\\u00bf", "\xc3\xad\xc2\xbf\xc2\xbf");
	/* past U+10FFFF, and bytes that never start a sequence */
	CHECK_STR("\xf4\x90\x80\x80", "\\u00f4\\u0090\\u0080\\u0080",
		  "\xc3\xb4\xc2\x90\xc2\x80\xc2\x80");
	CHECK_STR("\xf5\x80\x80\x80", "\\u00f5\\u0080\\u0080\\u0080",
		  "\xc3\xb5\xc2\x80\xc2\x80\xc2\x80");
	CHECK_STR("\xfe", "\\u00fe", "\xc3\xbe");
}

static void test_escape_fuzz(void **state)
{
	unsigned char s[64];
	uint32_t x = 0x9e3779b9u;
	struct jsonw w;

	(void)state;
	/* any byte string makes a valid JSON line */
	jw_init(&w);
	for (int round = 0; round < 3000; round++) {
		size_t n = (size_t)round % sizeof(s);
		for (size_t i = 0; i < n; i++) {
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			s[i] = (unsigned char)x;
		}
		jw_begin(&w);
		jw_key(&w, "k");
		jw_strn(&w, (const char *)s, n);
		jw_end(&w);
		json_decref(parse(&w));
		w.len = 0;
	}
	jw_free(&w);
}

static void test_numbers(void **state)
{
	struct jsonw w;
	json_t *j;

	(void)state;
	jw_init(&w);
	jw_begin(&w);
	jw_ku64(&w, "zero", 0);
	jw_ku64(&w, "umax", UINT64_MAX);
	jw_ki64(&w, "imin", INT64_MIN);
	jw_ki64(&w, "imax", INT64_MAX);
	jw_ki64(&w, "m1", -1);
	jw_ki64(&w, "i0", 0);
	jw_end(&w);
	assert_string_equal(line(&w), "{\"zero\":0,\"umax\":18446744073709551615,"
				      "\"imin\":-9223372036854775808,"
				      "\"imax\":9223372036854775807,\"m1\":-1,\"i0\":0}\n");
	/* UINT64_MAX does not fit jansson's json_int_t: read numbers as reals to check
	 * the syntax, then the signed ones exactly without it */
	{
		json_error_t err;
		j = json_loadb(w.buf, w.len, JSON_DECODE_INT_AS_REAL, &err);
		assert_non_null(j);
		assert_true(json_real_value(json_object_get(j, "umax")) == 18446744073709551615.0);
		json_decref(j);
	}
	w.len = 0;
	jw_begin(&w);
	jw_ki64(&w, "imin", INT64_MIN);
	jw_ki64(&w, "imax", INT64_MAX);
	jw_ki64(&w, "m1", -1);
	jw_end(&w);
	j = parse(&w);
	assert_true(json_integer_value(json_object_get(j, "imin")) == INT64_MIN);
	assert_true(json_integer_value(json_object_get(j, "imax")) == INT64_MAX);
	assert_true(json_integer_value(json_object_get(j, "m1")) == -1);
	json_decref(j);
	jw_free(&w);
}

static void test_doubles(void **state)
{
	struct jsonw w;
	json_t *j;

	(void)state;
	jw_init(&w);
	jw_begin(&w);
	jw_key(&w, "a");
	jw_double(&w, 12.5, 3);
	jw_key(&w, "b");
	jw_double(&w, -2.25, 2);
	jw_key(&w, "c");
	jw_double(&w, 0.0, 0);
	jw_key(&w, "d");
	jw_double(&w, 0.0004, 3);
	jw_key(&w, "nan");
	jw_double(&w, NAN, 3);
	jw_key(&w, "inf");
	jw_double(&w, INFINITY, 3);
	jw_key(&w, "ninf");
	jw_double(&w, -INFINITY, 3);
	/* does not fit the formatting buffer: null, never a cut-off number */
	jw_key(&w, "huge");
	jw_double(&w, 1e300, 3);
	jw_key(&w, "t");
	jw_bool(&w, 1);
	jw_key(&w, "f");
	jw_bool(&w, 0);
	jw_key(&w, "n");
	jw_null(&w);
	jw_key(&w, "s");
	jw_str(&w, NULL);
	jw_end(&w);
	assert_string_equal(line(&w), "{\"a\":12.500,\"b\":-2.25,\"c\":0,\"d\":0.000,"
				      "\"nan\":null,\"inf\":null,\"ninf\":null,\"huge\":null,"
				      "\"t\":true,\"f\":false,\"n\":null,\"s\":null}\n");
	j = parse(&w);
	assert_true(json_real_value(json_object_get(j, "a")) == 12.5);
	assert_true(json_is_null(json_object_get(j, "nan")));
	assert_true(json_is_true(json_object_get(j, "t")));
	json_decref(j);
	jw_free(&w);
}

/* Three decimals (latency_ms) are formatted without printf below 1e6: the same text as
 * "%.3f" for every value, ties (a whole number of ns ending in 500) included. */
static void test_doubles_3_decimals_as_printf(void **state)
{
	static const double fixed[] = {0,       0.0004,  0.0005,      0.0006, 0.001,
				       0.999,   0.9996,  1.2345,      6.365,  9.9999,
				       10,      2.0005,  99.99951,    999999.9994,
				       999999.9995, 1e6, 1234567.891, 999999999999.9};
	struct jsonw w;
	char want[64];
	uint64_t x = 88172645463325252ULL;

	(void)state;
	jw_init(&w);
	for (int i = 0; i < 200000; i++) {
		double v;
		if (i < (int)(sizeof(fixed) / sizeof(fixed[0]))) {
			v = fixed[i];
		} else {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
			/* a latency of a whole number of ns, from 1 ns to ~17 min (ties at every
			 * ...500 ns), or any double up to 2e6 */
			if (i & 1)
				v = (double)(x % 1000000000000ULL >> (x % 40)) / 1e6;
			else
				v = (double)(x >> 11) * 0x1p-53 * 2e6;
		}
		jw_begin(&w);
		jw_key(&w, "v");
		jw_double(&w, v, 3);
		jw_end(&w);
		snprintf(want, sizeof(want), "{\"v\":%.3f}\n", v);
		assert_string_equal(line(&w), want);
		w.len = 0;
	}
	jw_free(&w);
}

static void test_nesting(void **state)
{
	struct jsonw w;
	json_t *j;

	(void)state;
	jw_init(&w);
	jw_begin(&w);
	jw_ku64(&w, "a", 1);
	jw_key(&w, "o");
	jw_obj_begin(&w);
	jw_ku64(&w, "x", 1);
	jw_kstr(&w, "y", "z");
	jw_key(&w, "deep");
	jw_obj_begin(&w);
	jw_obj_end(&w);
	jw_obj_end(&w);
	jw_key(&w, "arr");
	jw_arr_begin(&w);
	jw_u64(&w, 1);
	jw_i64(&w, -2);
	jw_i64(&w, -3);
	jw_obj_begin(&w);
	jw_obj_end(&w);
	jw_arr_begin(&w);
	jw_arr_end(&w);
	jw_str(&w, "s");
	jw_null(&w);
	jw_arr_end(&w);
	jw_kstr(&w, "key \"q\"", "after");
	jw_end(&w);
	assert_string_equal(line(&w), "{\"a\":1,\"o\":{\"x\":1,\"y\":\"z\",\"deep\":{}},"
				      "\"arr\":[1,-2,-3,{},[],\"s\",null],"
				      "\"key \\\"q\\\"\":\"after\"}\n");
	j = parse(&w);
	assert_int_equal(json_array_size(json_object_get(j, "arr")), 7);
	assert_string_equal(json_string_value(json_object_get(j, "key \"q\"")), "after");
	json_decref(j);

	/* a second line starts without a comma */
	jw_begin(&w);
	jw_ku64(&w, "n", 2);
	jw_end(&w);
	assert_string_equal(strchr(line(&w), '\n') + 1, "{\"n\":2}\n");
	/* an empty object */
	w.len = 0;
	jw_begin(&w);
	jw_end(&w);
	assert_string_equal(line(&w), "{}\n");
	jw_free(&w);
}

static void test_rfc3339_format(void **state)
{
	char out[40];
	struct jsonw w;

	(void)state;
	rfc3339_us(0, out, sizeof(out));
	assert_string_equal(out, "1970-01-01T00:00:00.000000Z");
	/* microseconds are truncated, not rounded */
	rfc3339_us(1700000000123456999ULL, out, sizeof(out));
	assert_string_equal(out, "2023-11-14T22:13:20.123456Z");
	rfc3339_us(951782400000000000ULL + 999999000ULL, out, sizeof(out));
	assert_string_equal(out, "2000-02-29T00:00:00.999999Z");
	rfc3339_us(1709164799000001000ULL, out, sizeof(out));
	assert_string_equal(out, "2024-02-28T23:59:59.000001Z");
	rfc3339_us(UINT64_MAX, out, sizeof(out));
	assert_string_equal(out, "2554-07-21T23:34:33.709551Z");

	jw_init(&w);
	jw_begin(&w);
	jw_key(&w, "ts");
	jw_ts(&w, 1700000000123456789ULL);
	jw_end(&w);
	assert_string_equal(line(&w), "{\"ts\":\"2023-11-14T22:13:20.123456Z\"}\n");
	jw_free(&w);
}

static void test_rfc3339_parse(void **state)
{
	static const uint64_t samples[] = {0, 1000, 951782400000000000ULL,
					   1700000000123456000ULL, 4102444799999999000ULL};
	const uint64_t t = 1700000000ULL * 1000000000ULL;
	char out[40];
	uint64_t ns;

	(void)state;
	/* round trip at microsecond precision */
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		rfc3339_us(samples[i], out, sizeof(out));
		ns = 1;
		assert_int_equal(rfc3339_parse(out, &ns), 0);
		assert_int_equal(ns, samples[i]);
	}
	assert_int_equal(rfc3339_parse("2023-11-14T22:13:20Z", &ns), 0);
	assert_int_equal(ns, t);
	/* offsets: the same instant */
	assert_int_equal(rfc3339_parse("2023-11-15T00:13:20+02:00", &ns), 0);
	assert_int_equal(ns, t);
	assert_int_equal(rfc3339_parse("2023-11-14T17:43:20-04:30", &ns), 0);
	assert_int_equal(ns, t);
	assert_int_equal(rfc3339_parse("2023-11-14T22:13:20+00:00", &ns), 0);
	assert_int_equal(ns, t);
	/* fractions of any length up to ns; more digits are dropped */
	assert_int_equal(rfc3339_parse("2023-11-14T22:13:20.5Z", &ns), 0);
	assert_int_equal(ns, t + 500000000ULL);
	assert_int_equal(rfc3339_parse("2023-11-14T22:13:20.000000001Z", &ns), 0);
	assert_int_equal(ns, t + 1);
	assert_int_equal(rfc3339_parse("2023-11-14T22:13:20.1234567899Z", &ns), 0);
	assert_int_equal(ns, t + 123456789ULL);
	assert_int_equal(rfc3339_parse("2023-11-15T00:13:20.25+02:00", &ns), 0);
	assert_int_equal(ns, t + 250000000ULL);
	/* lower case t and z, and a space (RFC 3339 5.6 note) */
	assert_int_equal(rfc3339_parse("2023-11-14t22:13:20z", &ns), 0);
	assert_int_equal(ns, t);
	assert_int_equal(rfc3339_parse("2023-11-14 22:13:20Z", &ns), 0);
	assert_int_equal(ns, t);
	/* leap day */
	assert_int_equal(rfc3339_parse("2024-02-29T00:00:00Z", &ns), 0);
	assert_int_equal(ns, 1709164800ULL * 1000000000ULL);
}

static void test_rfc3339_reject(void **state)
{
	static const char *const bad[] = {
		"", "garbage", "2023-11-14", "2023-11-14T22:13:20", "2023-11-14T22:13Z",
		"2023/11/14T22:13:20Z", "2023-11-14X22:13:20Z", "2023-11-14T22-13-20Z",
		"20a3-11-14T22:13:20Z", "2023-00-14T22:13:20Z", "2023-13-14T22:13:20Z",
		"2023-11-00T22:13:20Z", "2023-11-32T22:13:20Z", "2023-11-14T24:00:00Z",
		"2023-11-14T22:60:00Z", "2023-11-14T22:13:61Z", "2023-11-14T22:13:20.Z",
		"2023-11-14T22:13:20.5", "2023-11-14T22:13:20+0200", "2023-11-14T22:13:20+02",
		"2023-11-14T22:13:20+02:00x", "2023-11-14T22:13:20Zjunk",
		"2023-11-14T22:13:20+24:00", "2023-11-14T22:13:20+02:60",
		"2023-11-14T22:13:20 Z", "1969-12-31T23:59:59Z", "1970-01-01T00:00:00+01:00",
		/* days the month does not have */
		"2023-02-29T00:00:00Z", "2023-02-30T00:00:00Z", "2023-04-31T00:00:00Z",
		"1900-02-29T00:00:00Z", NULL};
	uint64_t ns = 42;

	(void)state;
	for (int i = 0; bad[i]; i++) {
		if (rfc3339_parse(bad[i], &ns) != -EINVAL)
			fail_msg("rfc3339_parse accepted \"%s\"", bad[i]);
		assert_int_equal(ns, 42);
	}
	/* 2000 is a leap year (divisible by 400), 2023-12-31 has 31 days */
	assert_int_equal(rfc3339_parse("2000-02-29T00:00:00Z", &ns), 0);
	assert_int_equal(rfc3339_parse("2023-12-31T23:59:59Z", &ns), 0);
}

/* jw_addr formats IPv4 itself: exactly inet_ntop's text, for every octet value in every
 * position and for random addresses; IPv6 goes through inet_ntop. */
static void check_addr(int family, const uint8_t *a)
{
	struct jsonw w;
	char want[INET6_ADDRSTRLEN], expect[INET6_ADDRSTRLEN + 4];

	assert_non_null(inet_ntop(family, a, want, sizeof(want)));
	snprintf(expect, sizeof(expect), "\"%s\"", want);
	jw_init(&w);
	jw_addr(&w, family, a);
	assert_int_equal(w.len, strlen(expect));
	assert_memory_equal(w.buf, expect, w.len);
	jw_free(&w);
}

static void test_addr(void **state)
{
	uint8_t a[16] = {0};

	(void)state;
	for (int pos = 0; pos < 4; pos++)
		for (int v = 0; v < 256; v++) {
			memset(a, pos == 0 ? 7 : 0, 4);
			a[pos] = (uint8_t)v;
			check_addr(AF_INET, a);
		}
	srand(7);
	for (int i = 0; i < 10000; i++) {
		for (int j = 0; j < 16; j++)
			a[j] = (uint8_t)rand();
		check_addr(AF_INET, a);
		check_addr(AF_INET6, a);
	}
	memset(a, 0, 16);
	check_addr(AF_INET6, a);
	a[15] = 1;
	check_addr(AF_INET6, a);
}

static void test_write_file(void **state)
{
	struct jsonw w;
	FILE *f = tmpfile();
	char back[256];
	size_t n;

	(void)state;
	assert_non_null(f);
	jw_init(&w);
	/* nothing to write is fine */
	assert_int_equal(jw_write(&w, f), 0);
	jw_begin(&w);
	jw_kstr(&w, "event", "connect");
	jw_end(&w);
	jw_begin(&w);
	jw_ku64(&w, "n", 2);
	jw_end(&w);
	assert_int_equal(jw_write(&w, f), 0);
	assert_int_equal(w.len, 0);
	/* the buffer is reused: the next line starts clean */
	jw_begin(&w);
	jw_ku64(&w, "n", 3);
	jw_end(&w);
	assert_int_equal(jw_write(&w, f), 0);
	assert_int_equal(fflush(f), 0);
	rewind(f);
	n = fread(back, 1, sizeof(back) - 1, f);
	back[n] = 0;
	assert_string_equal(back, "{\"event\":\"connect\"}\n{\"n\":2}\n{\"n\":3}\n");
	fclose(f);

	/* a line lost to an allocation failure is dropped and reported */
	f = tmpfile();
	assert_non_null(f);
	jw_begin(&w);
	jw_ku64(&w, "n", 4);
	jw_end(&w);
	w.oom = 1;
	assert_int_equal(jw_write(&w, f), -ENOMEM);
	assert_int_equal(w.len, 0);
	assert_int_equal(w.oom, 0);
	assert_int_equal(ftell(f), 0);
	fclose(f);
	jw_free(&w);
}

static void test_write_full(void **state)
{
	struct jsonw w;
	FILE *f;
	char big[3 * BUFSIZ];

	(void)state;
	jw_init(&w);
	/* unbuffered: the write itself fails */
	f = fopen("/dev/full", "w");
	assert_non_null(f);
	setvbuf(f, NULL, _IONBF, 0);
	jw_begin(&w);
	jw_kstr(&w, "event", "drops");
	jw_end(&w);
	assert_int_equal(jw_write(&w, f), -ENOSPC);
	assert_int_equal(w.len, 0);
	fclose(f);

	/* buffered, a line larger than the stdio buffer: the write fails too */
	f = fopen("/dev/full", "w");
	assert_non_null(f);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	jw_begin(&w);
	jw_kstr(&w, "big", big);
	jw_end(&w);
	assert_int_equal(jw_write(&w, f), -ENOSPC);
	fclose(f);

	/* buffered, a short line: stdio keeps it, the error shows at fflush, which is why
	 * sink_jsonl flushes after jw_write */
	f = fopen("/dev/full", "w");
	assert_non_null(f);
	jw_begin(&w);
	jw_ku64(&w, "n", 1);
	jw_end(&w);
	assert_int_equal(jw_write(&w, f), 0);
	errno = 0;
	assert_int_equal(fflush(f), EOF);
	assert_int_equal(errno, ENOSPC);
	fclose(f);
	jw_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_ascii),
		cmocka_unit_test(test_escape_utf8),
		cmocka_unit_test(test_escape_invalid_utf8),
		cmocka_unit_test(test_escape_fuzz),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_doubles),
		cmocka_unit_test(test_doubles_3_decimals_as_printf),
		cmocka_unit_test(test_nesting),
		cmocka_unit_test(test_rfc3339_format),
		cmocka_unit_test(test_rfc3339_parse),
		cmocka_unit_test(test_rfc3339_reject),
		cmocka_unit_test(test_addr),
		cmocka_unit_test(test_write_file),
		cmocka_unit_test(test_write_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
