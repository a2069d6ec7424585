// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * SAFE-T2102 rules (detect_flood.c) under the default policy unless said otherwise: each
 * fires at its threshold and not one below, and its window slides.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "detect_helpers.h"

#define H "api.example.com"

/* A GET and its 200 response 10 ms later. */
static void get(struct fixture *f, uint64_t ts, uint64_t cg, const char *host, const char *path,
		const char *query)
{
	req(f, ts, cg, host, path, query);
	resp(f, ts + 10 * MS, cg, host, path, query, 200, 100, 10, -1);
}

/* ---- volume: >= 100 requests per (cgroup, host) in 300 s ---- */

static void test_volume_threshold(void **state)
{
	struct fixture *f = fx_new(NULL);
	char path[32];
	(void)state;
	for (int i = 0; i < 99; i++) {
		/* 3 s apart, 9 endpoints: nothing but volume can count them */
		snprintf(path, sizeof(path), "/v1/things%d", i % 9);
		get(f, T0 + (uint64_t)i * 3 * SEC, 1, H, path, NULL);
	}
	assert_int_equal(f->c.n, 0);
	get(f, T0 + 297 * SEC, 1, H, "/v1/other", "a=1");
	assert_int_equal(f->c.n, 1);
	const struct caught *a = &f->c.a[0];
	assert_string_equal(a->technique, "SAFE-T2102");
	assert_string_equal(a->rule, "volume");
	assert_string_equal(a->severity, "high");
	assert_string_equal(a->host, H);
	assert_string_equal(a->endpoint, "(null)");
	assert_string_equal(a->cgroup, "/agents/a");
	assert_int_equal(a->cgroup_id, 1);
	assert_int_equal(a->count, 100);
	assert_true(a->value == 100 && a->threshold == 100);
	assert_int_equal(a->window_s, 300);
	assert_int_equal(a->first_ts, T0);
	assert_int_equal(a->last_ts, T0 + 297 * SEC);
	assert_int_equal(a->nsamples, 5);
	assert_string_equal(a->samples[4], "/v1/other?a=1");
	assert_string_equal(a->samples[3], "/v1/things8");
	assert_int_equal(a->suppressed, 0);
	assert_int_equal(a->drops, 0);
	fx_free(f);
}

static void test_volume_window_slides(void **state)
{
	struct fixture *f = fx_new(NULL);
	(void)state;
	/* 99 requests at T0 .. T0 + 9.8 s; the 100th 340 s later finds them gone */
	for (int i = 0; i < 99; i++)
		get(f, T0 + (uint64_t)i * 100 * MS, 1, H, "/x", NULL);
	get(f, T0 + 340 * SEC, 1, H, "/x", NULL);
	assert_int_equal(count_rule(&f->c, "volume"), 0);
	/* per host: another host's requests do not add up */
	for (int i = 0; i < 150; i++)
		get(f, T0 + 400 * SEC + (uint64_t)i * 2 * SEC, 1, i % 2 ? "a.com" : "b.com", "/x",
		    NULL);
	assert_int_equal(count_rule(&f->c, "volume"), 0);
	/* per cgroup: another cgroup's neither */
	for (int i = 0; i < 60; i++)
		get(f, T0 + 400 * SEC + (uint64_t)i * 2 * SEC, 2, "a.com", "/x", NULL);
	assert_int_equal(count_rule(&f->c, "volume"), 0);
	fx_free(f);
}

/* ---- rapid: >= 50 requests to an endpoint in 60 s, each < 1 s after the previous ---- */

static void test_rapid_threshold(void **state)
{
	struct fixture *f = fx_new(NULL);
	char path[32];
	(void)state;
	/* 50 requests 500 ms apart: the first follows nothing, so 49 are rapid */
	for (int i = 0; i < 50; i++) {
		snprintf(path, sizeof(path), "/api/users/%d/status", 1000 + i * 7);
		req(f, T0 + (uint64_t)i * 500 * MS, 1, H, path, NULL);
	}
	assert_int_equal(count_rule(&f->c, "rapid"), 0);
	req(f, T0 + 25 * SEC, 1, H, "/api/users/9/status", NULL);
	assert_int_equal(count_rule(&f->c, "rapid"), 1);
	const struct caught *a = find_rule(&f->c, "rapid");
	assert_string_equal(a->endpoint, H "/api/users/{id}/status");
	assert_string_equal(a->host, H);
	assert_int_equal(a->count, 50);
	assert_int_equal(a->window_s, 60);
	assert_int_equal(a->first_ts, T0 + 500 * MS);
	assert_string_equal(a->samples[4], "/api/users/9/status");
	assert_string_equal(a->severity, "medium");
	fx_free(f);
}

static void test_rapid_needs_short_gaps(void **state)
{
	struct fixture *f = fx_new(NULL);
	(void)state;
	/* 80 requests exactly 1 s apart: none is rapid (gap must be < 1000 ms) */
	for (int i = 0; i < 80; i++)
		req(f, T0 + (uint64_t)i * SEC, 1, H, "/poll", NULL);
	assert_int_equal(count_rule(&f->c, "rapid"), 0);
	/* 49 rapid, a 2-minute pause, 49 rapid: the window slid */
	for (int i = 0; i < 50; i++)
		req(f, T0 + 100 * SEC + (uint64_t)i * 100 * MS, 1, H, "/burst", NULL);
	for (int i = 0; i < 50; i++)
		req(f, T0 + 240 * SEC + (uint64_t)i * 100 * MS, 1, H, "/burst", NULL);
	assert_int_equal(count_rule(&f->c, "rapid"), 0);
	fx_free(f);
}

/* ---- rate_limit: >= 20 429s per (cgroup, host) in 300 s, then another request ---- */

static void test_rate_limit(void **state)
{
	struct fixture *f = fx_new(NULL);
	char path[32];
	(void)state;
	for (int i = 0; i < 20; i++) {
		snprintf(path, sizeof(path), "/q%d", i);
		uint64_t t = T0 + (uint64_t)i * 5 * SEC;
		req(f, t, 1, H, path, NULL);
		resp(f, t + 10 * MS, 1, H, path, NULL, i == 0 ? 200 : 429, 10, 10, -1);
	}
	/* 19 429s, and a request after them: nothing */
	req(f, T0 + 101 * SEC, 1, H, "/next", NULL);
	assert_int_equal(count_rule(&f->c, "rate_limit"), 0);
	resp(f, T0 + 101 * SEC + 5 * MS, 1, H, "/next", NULL, 429, 10, 5, -1);
	/* the 20th 429: no alert until the cgroup sends again */
	assert_int_equal(count_rule(&f->c, "rate_limit"), 0);
	req(f, T0 + 102 * SEC, 1, H, "/again", NULL);
	assert_int_equal(count_rule(&f->c, "rate_limit"), 1);
	const struct caught *a = find_rule(&f->c, "rate_limit");
	assert_string_equal(a->severity, "critical");
	assert_string_equal(a->host, H);
	assert_int_equal(a->count, 20);
	assert_true(a->threshold == 20);
	assert_int_equal(a->first_ts, T0 + 5 * SEC + 10 * MS);
	/* another host's requests are not "keeps sending" to this one */
	struct fixture *g = fx_new(NULL);
	for (int i = 0; i < 20; i++) {
		req(g, T0 + (uint64_t)i * SEC, 1, H, "/x", NULL);
		resp(g, T0 + (uint64_t)i * SEC + MS, 1, H, "/x", NULL, 429, 10, 1, -1);
	}
	req(g, T0 + 30 * SEC, 1, "other.example.com", "/x", NULL);
	resp(g, T0 + 30 * SEC + MS, 1, "other.example.com", "/x", NULL, 200, 10, 1, -1);
	assert_int_equal(count_rule(&g->c, "rate_limit"), 0);
	fx_free(g);
	fx_free(f);
}

/* ---- retry_loop: the same request re-sent after 429/5xx more than 5 times ---- */

static void retry_chain(struct fixture *f, int resends, uint64_t gap, int status, int64_t ra)
{
	uint64_t t = T0;
	req(f, t, 1, H, "/v1/send", "to=1");
	for (int i = 0; i < resends; i++) {
		resp(f, t + 50 * MS, 1, H, "/v1/send", "to=1", status, 10, 50, ra);
		t += 50 * MS + gap;
		req(f, t, 1, H, "/v1/send", "to=1");
	}
}

static void test_retry_loop_threshold(void **state)
{
	struct fixture *f = fx_new(NULL);
	(void)state;
	retry_chain(f, 5, 200 * MS, 503, -1);
	assert_int_equal(count_rule(&f->c, "retry_loop"), 0);
	struct fixture *g = fx_new(NULL);
	retry_chain(g, 6, 200 * MS, 503, -1);
	assert_int_equal(count_rule(&g->c, "retry_loop"), 1);
	const struct caught *a = find_rule(&g->c, "retry_loop");
	assert_string_equal(a->endpoint, H "/v1/send");
	assert_int_equal(a->count, 6);
	assert_true(a->threshold == 5);
	assert_int_equal(a->first_ts, T0 + 50 * MS);
	assert_string_equal(a->detail, "GET /v1/send re-sent 6 times after 429/5xx responses "
				       "(last 503); no Retry-After in the error responses");
	assert_string_equal(a->samples[0], "/v1/send?to=1");
	fx_free(f);
	fx_free(g);
}

static void test_retry_after_honoured_or_not(void **state)
{
	struct fixture *f = fx_new(NULL), *g = fx_new(NULL);
	(void)state;
	/* Retry-After: 2, re-sent 100 ms later: ignored */
	retry_chain(f, 6, 100 * MS, 429, 2);
	assert_string_equal(find_rule(&f->c, "retry_loop")->detail,
			    "GET /v1/send re-sent 6 times after 429/5xx responses (last 429); "
			    "Retry-After given on 6 of them (last 2 s), honoured 0, ignored 6");
	/* re-sent 2 s later: honoured */
	retry_chain(g, 6, 2 * SEC, 429, 2);
	assert_string_equal(find_rule(&g->c, "retry_loop")->detail,
			    "GET /v1/send re-sent 6 times after 429/5xx responses (last 429); "
			    "Retry-After given on 6 of them (last 2 s), honoured 6, ignored 0");
	fx_free(f);
	fx_free(g);
}

/* A job that gets a 503, retries once and gives up, every hour: each hour's chain ends
 * with the window, so it never adds up to "re-sent 6 times". */
static void test_retry_hourly_once_is_not_a_loop(void **state)
{
	struct fixture *f = fx_new(NULL);
	(void)state;
	for (int h = 0; h < 10; h++) {
		uint64_t t = T0 + (uint64_t)h * 3600 * SEC;
		req(f, t, 1, H, "/v1/job", NULL);
		resp(f, t + 50 * MS, 1, H, "/v1/job", NULL, 503, 10, 50, -1);
		req(f, t + SEC, 1, H, "/v1/job", NULL);
		resp(f, t + SEC + 50 * MS, 1, H, "/v1/job", NULL, 503, 10, 50, -1);
	}
	assert_int_equal(count_rule(&f->c, "retry_loop"), 0);
	/* a real loop afterwards still fires, and its chain starts at its own first error */
	uint64_t t = T0 + 11 * 3600 * SEC;
	req(f, t, 1, H, "/v1/job", NULL);
	for (int i = 0; i < 6; i++) {
		resp(f, t + 50 * MS, 1, H, "/v1/job", NULL, 503, 10, 50, -1);
		t += 250 * MS;
		req(f, t, 1, H, "/v1/job", NULL);
	}
	assert_int_equal(count_rule(&f->c, "retry_loop"), 1);
	const struct caught *a = find_rule(&f->c, "retry_loop");
	assert_int_equal(a->count, 6);
	assert_int_equal(a->first_ts, T0 + 11 * 3600 * SEC + 50 * MS);
	fx_free(f);
}

static void test_retry_success_ends_chain(void **state)
{
	struct fixture *f = fx_new(NULL);
	uint64_t t = T0;
	(void)state;
	/* 4 retries, a success, 4 retries: never more than 5 in a chain */
	req(f, t, 1, H, "/r", NULL);
	for (int i = 0; i < 9; i++) {
		resp(f, t + MS, 1, H, "/r", NULL, i == 4 ? 200 : 500, 10, 1, -1);
		t += SEC;
		req(f, t, 1, H, "/r", NULL);
	}
	assert_int_equal(count_rule(&f->c, "retry_loop"), 0);
	/* a different query is a different request */
	struct fixture *g = fx_new(NULL);
	t = T0;
	for (int i = 0; i < 8; i++) {
		char q[16];
		snprintf(q, sizeof(q), "n=%d", i);
		req(g, t, 1, H, "/r", q);
		resp(g, t + MS, 1, H, "/r", q, 429, 10, 1, -1);
		t += SEC;
	}
	assert_int_equal(count_rule(&g->c, "retry_loop"), 0);
	fx_free(f);
	fx_free(g);
}

/* ---- parallel: > 10 in flight to a host, seen >= 5 times in 60 s ---- */

static void test_parallel(void **state)
{
	struct fixture *f = fx_new(NULL), *g = fx_new(NULL);
	char path[32];
	(void)state;
	/* 14 requests in flight: the 11th..14th see more than 10: 4 times */
	for (int i = 0; i < 14; i++) {
		snprintf(path, sizeof(path), "/fan/%c", 'a' + i);
		req(f, T0 + (uint64_t)i * MS, 1, H, path, NULL);
	}
	assert_int_equal(count_rule(&f->c, "parallel"), 0);
	req(f, T0 + 20 * MS, 1, H, "/fan/z", NULL);
	assert_int_equal(count_rule(&f->c, "parallel"), 1);
	const struct caught *a = find_rule(&f->c, "parallel");
	assert_int_equal(a->count, 5);
	assert_string_equal(a->host, H);
	assert_int_equal(a->first_ts, T0 + 10 * MS);
	assert_string_equal(a->detail, "5 requests sent to " H " in 60 s while more than 10 were "
				       "in flight (now 15)");
	/* 10 at a time, answered before the next 10: never more than 10 in flight */
	for (int round = 0; round < 20; round++) {
		uint64_t t = T0 + (uint64_t)round * SEC;
		for (int i = 0; i < 10; i++)
			req(g, t + (uint64_t)i * MS, 1, H, "/fan", NULL);
		for (int i = 0; i < 10; i++)
			resp(g, t + 100 * MS + (uint64_t)i * MS, 1, H, "/fan", NULL, 200, 10,
			     (double)(100 - 0), -1);
	}
	assert_int_equal(count_rule(&g->c, "parallel"), 0);
	fx_free(f);
	fx_free(g);
}

static void test_parallel_forgets_unanswered(void **state)
{
	struct fixture *f = fx_new(NULL);
	(void)state;
	/* 10 requests never answered, then 80 s later more one at a time: not in flight */
	for (int i = 0; i < 10; i++)
		req(f, T0 + (uint64_t)i * MS, 1, H, "/lost", NULL);
	for (int i = 0; i < 10; i++)
		req(f, T0 + 90 * SEC + (uint64_t)i * SEC, 1, H, "/lost", NULL);
	assert_int_equal(count_rule(&f->c, "parallel"), 0);
	fx_free(f);
}

/* ---- growth: rate of the last 300 s > 3x the 900 s before, >= 300 requests ---- */

static void steady(struct fixture *f, uint64_t from, uint64_t secs, uint64_t every_ms, uint64_t cg)
{
	for (uint64_t t = 0; t < secs * 1000; t += every_ms)
		get(f, from + t * MS, cg, H, "/v1/chat/completions", NULL);
}

static void test_growth(void **state)
{
	struct fixture *f = fx_new(NULL);
	(void)state;
	/* 15 min at 10/min (150), then 60/min: 300 in the last 5 min is 20x */
	steady(f, T0, 900, 6000, 1);
	steady(f, T0 + 900 * SEC, 299, 1000, 1);
	assert_int_equal(count_rule(&f->c, "growth"), 0); /* 299 < min_requests */
	get(f, T0 + 1199 * SEC, 1, H, "/v1/chat/completions", NULL);
	assert_int_equal(count_rule(&f->c, "growth"), 1);
	const struct caught *a = find_rule(&f->c, "growth");
	assert_string_equal(a->host, "(null)");
	assert_int_equal(a->count, 300);
	assert_true(a->value > 3);
	assert_true(a->threshold == 3);
	assert_string_equal(a->severity, "medium");
	fx_free(f);
}

static void test_growth_quiet_cases(void **state)
{
	struct fixture *f = fx_new(NULL), *g = fx_new(NULL);
	(void)state;
	/* a new cgroup flooding at once: no baseline watched, no growth (volume covers it) */
	steady(f, T0, 300, 500, 1);
	assert_int_equal(count_rule(&f->c, "growth"), 0);
	assert_int_equal(count_rule(&f->c, "volume"), 1);
	/* steady 80/min for 25 min: rate x1 */
	steady(g, T0, 1500, 750, 1);
	assert_int_equal(count_rule(&g->c, "growth"), 0);
	fx_free(f);
	fx_free(g);
}

/* ---- cost: > 100 USD per cgroup in 1 h, or > 3x the hourly baseline ---- */

static const char *priced = "prices:\n"
			    "  - match: \"api.llm.example/v1/*\"\n"
			    "    usd: 0.5\n"
			    "  - match: \"api.llm.example\"\n"
			    "    usd: 0\n"
			    "rules:\n"
			    "  parallel: {enabled: false}\n";

static void test_cost_max(void **state)
{
	struct fixture *f = fx_new(priced);
	(void)state;
	/* 200 requests at 0.5 USD in 20 min: 100.0 USD is not more than 100 */
	for (int i = 0; i < 200; i++)
		req(f, T0 + (uint64_t)i * 6 * SEC, 1, "api.llm.example", "/v1/chat/completions",
		    NULL);
	/* unpriced requests cost nothing */
	req(f, T0 + 1201 * SEC, 1, "api.llm.example", "/health", NULL);
	assert_int_equal(count_rule(&f->c, "cost"), 0);
	req(f, T0 + 1202 * SEC, 1, "api.llm.example", "/v1/chat/completions", NULL);
	assert_int_equal(count_rule(&f->c, "cost"), 1);
	const struct caught *a = find_rule(&f->c, "cost");
	assert_true(a->value == 100.5);
	assert_true(a->threshold == 100);
	assert_int_equal(a->count, 201);
	assert_int_equal(a->window_s, 3600);
	assert_string_equal(a->severity, "critical");
	assert_string_equal(a->detail, "100.50 USD in 3600 s over 201 priced requests (last to "
				       "api.llm.example/v1/chat/completions at 0.5000 USD), more than "
				       "max_usd 100.00");
	fx_free(f);
}

static void test_cost_baseline(void **state)
{
	char yaml[512];
	(void)state;
	snprintf(yaml, sizeof(yaml), "%s  cost: {window_s: 600, baseline_s: 7200, min_usd: 1}\n",
		 priced);
	struct fixture *f = fx_new(yaml);
	/* 3 h at 1 USD per 10 min (one 0.5 USD request per 5 min) ... */
	for (uint64_t t = 0; t < 3 * 3600; t += 300)
		get(f, T0 + t * SEC, 1, "api.llm.example", "/v1/embed", NULL);
	assert_int_equal(count_rule(&f->c, "cost"), 0);
	/* ... then, after a pause, 3 USD in 10 min is 3x: not more; 3.5 USD is */
	uint64_t t0 = T0 + (3 * 3600 + 400) * SEC;
	for (int i = 0; i < 6; i++)
		get(f, t0 + (uint64_t)i * 10 * SEC, 1, "api.llm.example", "/v1/embed", NULL);
	assert_int_equal(count_rule(&f->c, "cost"), 0);
	get(f, t0 + 70 * SEC, 1, "api.llm.example", "/v1/embed", NULL);
	assert_int_equal(count_rule(&f->c, "cost"), 1);
	const struct caught *a = find_rule(&f->c, "cost");
	assert_true(a->value == 3.5);
	assert_true(a->threshold == 3.0);
	assert_string_equal(a->detail, "3.50 USD in 600 s over 7 priced requests: 3.5x the cgroup's "
				       "baseline of 1.00 USD per 600 s (110 min of history)");
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_volume_threshold),
		cmocka_unit_test(test_volume_window_slides),
		cmocka_unit_test(test_rapid_threshold),
		cmocka_unit_test(test_rapid_needs_short_gaps),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_retry_loop_threshold),
		cmocka_unit_test(test_retry_after_honoured_or_not),
		cmocka_unit_test(test_retry_hourly_once_is_not_a_loop),
		cmocka_unit_test(test_retry_success_ends_chain),
		cmocka_unit_test(test_parallel),
		cmocka_unit_test(test_parallel_forgets_unanswered),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_growth_quiet_cases),
		cmocka_unit_test(test_cost_max),
		cmocka_unit_test(test_cost_baseline),
	};
	return cmocka_run_group_tests_name("detect_flood", tests, NULL, NULL);
}
