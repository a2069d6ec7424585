// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The detector engine (detect.c): cool-down and summaries, drops on alerts, bounded state,
 * allow-lists, per-cgroup overrides, what is skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/socket.h>

#include "detect_helpers.h"

#define H "api.example.com"

static void get(struct fixture *f, uint64_t ts, uint64_t cg, const char *host, const char *path)
{
	req(f, ts, cg, host, path, NULL);
	resp(f, ts + 10 * MS, cg, host, path, NULL, 200, 100, 10, -1);
}

/* 100 requests 1 s apart from T0 + @from: volume fires on the last */
static void hundred(struct fixture *f, uint64_t from, uint64_t cg)
{
	for (int i = 0; i < 100; i++)
		get(f, T0 + from + (uint64_t)i * SEC, cg, H, "/v1/x");
}

static void test_cooldown_and_summary(void **state)
{
	struct fixture *f = fx_new(NULL);
	(void)state;
	hundred(f, 0, 1);
	assert_int_equal(count_rule(&f->c, "volume"), 1);
	/* 50 more matches inside the 300 s cool-down: held back */
	for (int i = 0; i < 50; i++)
		get(f, T0 + 100 * SEC + (uint64_t)i * SEC, 1, H, "/v1/x");
	assert_int_equal(count_rule(&f->c, "volume"), 1);
	assert_int_equal(detect_stats(f->d)->suppressed, 50);
	/* a tick before the cool-down ends says nothing */
	detect_tick(f->d, T0 + 398 * SEC);
	assert_int_equal(count_rule(&f->c, "volume"), 1);
	/* the cool-down (from the alert at T0 + 99 s) ends at T0 + 399 s */
	detect_tick(f->d, T0 + 399 * SEC);
	assert_int_equal(count_rule(&f->c, "volume"), 2);
	const struct caught *s = &f->c.a[f->c.n - 1];
	assert_string_equal(s->rule, "volume");
	assert_int_equal(s->suppressed, 50);
	assert_int_equal(s->count, 150);
	assert_int_equal(s->first_ts, T0 + 100 * SEC);
	assert_int_equal(s->last_ts, T0 + 149 * SEC);
	assert_string_equal(s->host, H);
	assert_string_equal(s->cgroup, "/agents/a");
	assert_string_equal(s->detail, "summary: the rule matched 50 more times during the 300 s "
				       "cool-down; count and value are the latest match's");
	assert_int_equal(detect_stats(f->d)->summaries, 1);
	/* the summary started another cool-down; nothing matched in it: no more summaries */
	detect_tick(f->d, T0 + 800 * SEC);
	assert_int_equal(f->c.n, 2);
	/* and the next match is a fresh alert */
	hundred(f, 1000 * SEC, 1);
	assert_int_equal(count_rule(&f->c, "volume"), 3);
	assert_int_equal(f->c.a[f->c.n - 1].suppressed, 0);
	/* per key: another cgroup alerts on its own */
	hundred(f, 1000 * SEC, 2);
	assert_int_equal(count_rule(&f->c, "volume"), 4);
	fx_free(f);
}

static void test_flush_emits_pending_summaries(void **state)
{
	struct fixture *f = fx_new(NULL);
	(void)state;
	hundred(f, 0, 1);
	get(f, T0 + 100 * SEC, 1, H, "/v1/x");
	get(f, T0 + 101 * SEC, 1, H, "/v1/x");
	assert_int_equal(f->c.n, 1);
	detect_flush(f->d);
	assert_int_equal(f->c.n, 2);
	assert_int_equal(f->c.a[1].suppressed, 2);
	assert_int_equal(f->c.a[1].ts, T0 + 101 * SEC + 10 * MS); /* the latest event time */
	detect_flush(f->d);
	assert_int_equal(f->c.n, 2);
	fx_free(f);
}

static void test_cooldown_zero_alerts_every_match(void **state)
{
	struct fixture *f = fx_new("cooldown_s: 0\n");
	(void)state;
	hundred(f, 0, 1);
	get(f, T0 + 100 * SEC, 1, H, "/v1/x");
	assert_int_equal(count_rule(&f->c, "volume"), 2);
	fx_free(f);
}

static void test_drops_reported(void **state)
{
	struct fixture *f = fx_new(NULL);
	(void)state;
	drops(f, T0 - 400 * SEC, 1000); /* outside the 300 s window */
	drops(f, T0 + 50 * SEC, 7);
	hundred(f, 0, 1);
	const struct caught *a = find_rule(&f->c, "volume");
	assert_non_null(a);
	assert_int_equal(a->drops, 7);
	assert_int_equal(detect_stats(f->d)->drops, 1007);
	fx_free(f);
}

static void test_state_is_bounded(void **state)
{
	struct fixture *f = fx_new("limits: {cgroups: 16, hosts: 32, endpoints: 64}\n");
	char host[32], path[32];
	(void)state;
	for (uint64_t cg = 1; cg <= 100; cg++) {
		snprintf(host, sizeof(host), "h%llu.example", (unsigned long long)cg);
		for (int e = 0; e < 5; e++) {
			snprintf(path, sizeof(path), "/e%d", e);
			get(f, T0 + cg * SEC, cg, host, path);
		}
	}
	const struct detect_stats *st = detect_stats(f->d);
	assert_int_equal(st->entries[DT_CGROUPS], 16);
	assert_int_equal(st->evictions[DT_CGROUPS], 84);
	assert_int_equal(st->entries[DT_HOSTS], 32);
	assert_int_equal(st->evictions[DT_HOSTS], 68);
	assert_int_equal(st->entries[DT_ENDPOINTS], 64);
	assert_int_equal(st->evictions[DT_ENDPOINTS], 436);
	size_t max, now = detect_mem(f->d, &max);
	assert_true(now <= max);
	/* evicted state starts over: 99 requests, their (cgroup, host) evicted, 1 request: no
	 * volume alert */
	for (int i = 0; i < 99; i++)
		get(f, T0 + 200 * SEC + (uint64_t)i * MS, 500, H, "/v1/x");
	for (uint64_t cg = 1000; cg < 1032; cg++)
		get(f, T0 + 201 * SEC, cg, H, "/v1/x");
	get(f, T0 + 202 * SEC, 500, H, "/v1/x");
	assert_int_equal(count_rule(&f->c, "volume"), 0);
	fx_free(f);
}

static void test_allow_lists(void **state)
{
	struct fixture *f = fx_new("allow:\n  hosts: [\"*.example.com\"]\n  endpoints: "
				   "[\"mirror.local/debian/*\"]\n");
	(void)state;
	hundred(f, 0, 1);
	for (int i = 0; i < 100; i++)
		get(f, T0 + (uint64_t)i * SEC, 1, "mirror.local", "/debian/pool/x.deb");
	assert_int_equal(f->c.n, 0);
	assert_int_equal(detect_stats(f->d)->allowed, 400);
	/* an endpoint of the host that is not allowed still counts */
	for (int i = 0; i < 100; i++)
		get(f, T0 + 200 * SEC + (uint64_t)i * SEC, 1, "mirror.local", "/other");
	assert_int_equal(count_rule(&f->c, "volume"), 1);
	assert_int_equal(find_rule(&f->c, "volume")->count, 100);
	fx_free(f);
}

static void test_overrides(void **state)
{
	struct fixture *f = fx_new("overrides:\n"
				   "  - cgroup: \"/agents/*\"\n"
				   "    rules: {volume: {threshold: 10, severity: critical}}\n"
				   "  - cgroup: \"/ci/*\"\n"
				   "    rules: {volume: {enabled: false}}\n");
	struct tg_obs o;
	(void)state;
	/* the helpers' cgroup is /agents/a: the 10th request fires */
	for (int i = 0; i < 10; i++)
		get(f, T0 + (uint64_t)i * SEC, 1, H, "/x");
	assert_int_equal(count_rule(&f->c, "volume"), 1);
	assert_int_equal(find_rule(&f->c, "volume")->count, 10);
	assert_string_equal(find_rule(&f->c, "volume")->severity, "critical");
	/* /ci/build: volume is off */
	for (int i = 0; i < 200; i++) {
		o = mk_obs(OBS_REQUEST, T0 + (uint64_t)i * SEC, 2, "/ci/build", H, "GET", "/x", NULL);
		detect_obs(f->d, &o);
		o = mk_obs(OBS_RESPONSE, T0 + (uint64_t)i * SEC + MS, 2, "/ci/build", H, "GET", "/x",
			   NULL);
		o.status = 200;
		o.latency_ms = 1;
		detect_obs(f->d, &o);
	}
	assert_int_equal(count_rule(&f->c, "volume"), 1);
	/* a cgroup whose path is unknown at first gets the base policy, then its own */
	for (int i = 0; i < 10; i++) {
		o = mk_obs(OBS_REQUEST, T0 + (uint64_t)i * SEC, 3, i < 5 ? NULL : "/agents/late", H,
			   "GET", "/x", NULL);
		detect_obs(f->d, &o);
	}
	assert_int_equal(count_rule(&f->c, "volume"), 1); /* 5 under /agents/late so far */
	o = mk_obs(OBS_REQUEST, T0 + 20 * SEC, 3, "/agents/late", H, "GET", "/x", NULL);
	for (int i = 0; i < 5; i++)
		detect_obs(f->d, &o);
	assert_int_equal(count_rule(&f->c, "volume"), 2);
	fx_free(f);
}

static void test_skipped_and_host_fallback(void **state)
{
	struct fixture *f = fx_new(NULL);
	struct tg_obs o;
	(void)state;
	/* HTTP/2 prefaces (no path) are not requests */
	o = mk_obs(OBS_REQUEST, T0, 1, "/agents/a", H, NULL, NULL, NULL);
	o.http = OBS_HTTP_H2;
	for (int i = 0; i < 200; i++)
		detect_obs(f->d, &o);
	assert_int_equal(detect_stats(f->d)->no_path, 200);
	/* no Host header: the destination address stands for the host */
	for (int i = 0; i < 100; i++) {
		o = mk_obs(OBS_REQUEST, T0 + (uint64_t)i * SEC, 1, "/agents/a", NULL, "GET", "/x",
			   NULL);
		o.has_addr = 1;
		o.family = AF_INET;
		o.daddr[0] = 10, o.daddr[3] = 7;
		o.dport = 8080;
		detect_obs(f->d, &o);
	}
	const struct caught *a = find_rule(&f->c, "volume");
	assert_non_null(a);
	assert_string_equal(a->host, "10.0.0.7:8080");
	/* connect/close/udp observations are ignored */
	o = mk_obs(OBS_CONNECT, T0, 1, "/agents/a", NULL, NULL, NULL, NULL);
	detect_obs(f->d, &o);
	assert_int_equal(detect_stats(f->d)->observations, 301);
	fx_free(f);
}

static void test_samples_are_the_keys_own(void **state)
{
	struct fixture *f = fx_new(NULL);
	char path[32];
	(void)state;
	/* enumeration on one endpoint interleaved with noise on others: samples are the
	 * endpoint's among the cgroup's last 8 requests */
	for (int i = 1; i <= 20; i++) {
		snprintf(path, sizeof(path), "/api/items/%d", i);
		get(f, T0 + (uint64_t)i * SEC, 1, H, path);
		get(f, T0 + (uint64_t)i * SEC + 100 * MS, 1, "other.example", "/noise");
	}
	const struct caught *a = find_rule(&f->c, "enumeration");
	assert_non_null(a);
	assert_int_equal(a->nsamples, 4);
	for (int i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "/api/items/%d", 17 + i);
		assert_string_equal(a->samples[i], path);
	}
	/* a long target is cut and marked */
	char longq[300];
	memset(longq, 'q', sizeof(longq) - 1);
	longq[sizeof(longq) - 1] = 0;
	struct fixture *g = fx_new("cooldown_s: 0\n");
	for (int i = 0; i < 100; i++)
		req(g, T0 + (uint64_t)i * SEC, 1, H, "/v1/x", longq);
	a = find_rule(&g->c, "volume");
	assert_int_equal(strlen(a->samples[4]), 103);
	assert_string_equal(a->samples[4] + 100, "...");
	assert_memory_equal(a->samples[4], "/v1/x?qqqq", 10);
	fx_free(f);
	fx_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cooldown_and_summary),
		cmocka_unit_test(test_flush_emits_pending_summaries),
		cmocka_unit_test(test_cooldown_zero_alerts_every_match),
		cmocka_unit_test(test_drops_reported),
		cmocka_unit_test(test_state_is_bounded),
		cmocka_unit_test(test_allow_lists),
		cmocka_unit_test(test_overrides),
		cmocka_unit_test(test_skipped_and_host_fallback),
		cmocka_unit_test(test_samples_are_the_keys_own),
	};
	return cmocka_run_group_tests_name("detect_engine", tests, NULL, NULL);
}
