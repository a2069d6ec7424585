// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Path templates (template.h): which segments become {id}, what the endpoint keeps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "template.h"

static const char *tpl(const char *path, struct tpl_info *ti)
{
	static char out[TPL_MAX];
	tpl_path(path, strlen(path), out, sizeof(out), ti);
	return out;
}

static void test_numeric_ids(void **state)
{
	struct tpl_info ti;
	(void)state;
	assert_string_equal(tpl("/api/customers/42/metrics", &ti), "/api/customers/{id}/metrics");
	assert_int_equal(ti.nids, 1);
	assert_true(ti.has_num);
	assert_int_equal(ti.num, 42);
	assert_int_equal(ti.parent_len, strlen("/api/customers"));
	assert_string_equal(tpl("/api/customers/007", &ti), "/api/customers/{id}");
	assert_int_equal(ti.num, 7);
	/* the last id is the one an enumeration walks */
	assert_string_equal(tpl("/api/users/5/projects/77", &ti), "/api/users/{id}/projects/{id}");
	assert_int_equal(ti.nids, 2);
	assert_int_equal(ti.num, 77);
	assert_int_equal(ti.parent_len, strlen("/api/users/{id}/projects"));
	/* 20 digits: an id, but no value */
	assert_string_equal(tpl("/t/12345678901234567890", &ti), "/t/{id}");
	assert_false(ti.has_num);
}

static void test_uuid_hex_base64(void **state)
{
	struct tpl_info ti;
	(void)state;
	assert_string_equal(tpl("/api/dashboards/uid/123e4567-e89b-12d3-a456-426614174000", &ti),
			    "/api/dashboards/uid/{id}");
	assert_false(ti.has_num);
	assert_string_equal(tpl("/objects/0123456789abcdef0123456789abcdef01234567", &ti),
			    "/objects/{id}");
	assert_string_equal(tpl("/keys/DEADBEEFdeadbeef", &ti), "/keys/{id}");
	assert_string_equal(tpl("/v1/customers/cus_9s6XKzkNRiz8i3", &ti), "/v1/customers/{id}");
	assert_string_equal(tpl("/t/k3j4h5k3j4h5k3j4h5k3", &ti), "/t/{id}");
	/* 15 hex digits: not long enough */
	assert_string_equal(tpl("/x/0123456789abcde", &ti), "/x/0123456789abcde");
	assert_int_equal(ti.nids, 0);
	assert_int_equal(ti.parent_len, 0);
}

static void test_words_stay(void **state)
{
	(void)state;
	assert_string_equal(tpl("/v1/chat/completions", NULL), "/v1/chat/completions");
	assert_string_equal(tpl("/api/v1/query_range", NULL), "/api/v1/query_range");
	assert_string_equal(tpl("/getUserProfileSettings", NULL), "/getUserProfileSettings");
	assert_string_equal(tpl("/my-long-dashboard-name-here", NULL),
			    "/my-long-dashboard-name-here");
	assert_string_equal(tpl("/debian/pool/main/c/curl/curl_7.88.1-10_amd64.deb", NULL),
			    "/debian/pool/main/c/curl/curl_7.88.1-10_amd64.deb");
	assert_string_equal(tpl("/repo.git/info/refs", NULL), "/repo.git/info/refs");
}

static void test_kinds(void **state)
{
	(void)state;
	assert_int_equal(tpl_segment_kind("123", 3), TPL_NUM);
	assert_int_equal(tpl_segment_kind("123e4567-e89b-12d3-a456-426614174000", 36), TPL_UUID);
	assert_int_equal(tpl_segment_kind("0123456789abcdef", 16), TPL_HEX);
	assert_int_equal(tpl_segment_kind("aB3dEf7hIj9kLm1n", 16), TPL_B64);
	assert_int_equal(tpl_segment_kind("v1", 2), TPL_WORD);
	assert_int_equal(tpl_segment_kind("", 0), TPL_WORD);
	assert_int_equal(tpl_segment_kind("12.5", 4), TPL_WORD);
}

static void test_shapes(void **state)
{
	struct tpl_info ti;
	(void)state;
	assert_string_equal(tpl("/", &ti), "/");
	assert_string_equal(tpl("/api/customers/", &ti), "/api/customers");
	assert_string_equal(tpl("//a//3", &ti), "//a//{id}");
	assert_string_equal(tpl("http://example.com/api/items/9", &ti), "/api/items/{id}");
	assert_string_equal(tpl("https://example.com", &ti), "/");
	assert_string_equal(tpl("*", &ti), "*");
	/* an id first: its collection is the root */
	assert_string_equal(tpl("/42", &ti), "/{id}");
	assert_int_equal(ti.parent_len, 0);
	assert_int_equal(ti.nids, 1);
}

static void test_truncation(void **state)
{
	char path[2048], out[TPL_MAX];
	struct tpl_info ti;
	size_t o = 0;
	(void)state;
	for (int i = 0; i < 100; i++)
		o += (size_t)snprintf(path + o, sizeof(path) - o, "/segment%02d", i);
	size_t n = tpl_path(path, o, out, sizeof(out), &ti);
	assert_true(ti.truncated);
	assert_int_equal(n, strlen(out));
	assert_true(n < TPL_MAX);
	assert_string_equal(out + n - 4, "/...");
	/* a small buffer still gets a terminated, marked template */
	char small[8];
	tpl_path("/abcdef/ghijkl", 14, small, sizeof(small), &ti);
	assert_string_equal(small, "/...");
	assert_true(ti.truncated);
}

/* found by fuzz_template: "/a/b//" gave "/a/b/", whose template is "/a/b" - a template
 * must be its own template */
static void test_trailing_slashes(void **state)
{
	static const char *const in[] = {"/a/b//", "/a/b/", "/a/b", "/a/42///"};
	static const char *const want[] = {"/a/b", "/a/b", "/a/b", "/a/{id}"};
	char out[TPL_MAX], again[TPL_MAX];
	(void)state;
	for (int i = 0; i < 4; i++) {
		size_t n = tpl_path(in[i], strlen(in[i]), out, sizeof(out), NULL);
		assert_string_equal(out, want[i]);
		tpl_path(out, n, again, sizeof(again), NULL);
		assert_string_equal(again, out);
	}
	tpl_path("//", 2, out, sizeof(out), NULL);
	assert_string_equal(out, "/");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numeric_ids), cmocka_unit_test(test_uuid_hex_base64),
		cmocka_unit_test(test_words_stay),  cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_shapes),      cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_trailing_slashes),
	};
	return cmocka_run_group_tests_name("template", tests, NULL, NULL);
}
