// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * SAFE-T1804 rules (detect_harvest.c) under the default policy unless said otherwise: each
 * fires at its threshold and not one below, and its window slides.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "detect_helpers.h"

#define H "crm.internal"

/* A GET and its 200 response 10 ms later. */
static void get(struct fixture *f, uint64_t ts, const char *host, const char *path,
		const char *query, uint64_t bytes)
{
	req(f, ts, 1, host, path, query);
	resp(f, ts + 10 * MS, 1, host, path, query, 200, bytes, 10, -1);
}

static void get_id(struct fixture *f, uint64_t ts, const char *fmt, uint64_t id)
{
	char path[64];
	snprintf(path, sizeof(path), fmt, (unsigned long long)id);
	get(f, ts, H, path, NULL, 500);
}

/* ---- enumeration: >= 20 distinct ids in 600 s, mostly increasing or dense ---- */

static void test_enumeration_threshold(void **state)
{
	struct fixture *f = fx_new(NULL);
	(void)state;
	/* paced: one id every 25 s; 19 ids take 450 s */
	for (uint64_t i = 1; i <= 19; i++)
		get_id(f, T0 + (i - 1) * 25 * SEC, "/v2/accounts/%llu", i);
	/* seen ids again add nothing */
	get_id(f, T0 + 460 * SEC, "/v2/accounts/%llu", 3);
	assert_int_equal(count_rule(&f->c, "enumeration"), 0);
	get_id(f, T0 + 475 * SEC, "/v2/accounts/%llu", 20);
	assert_int_equal(count_rule(&f->c, "enumeration"), 1);
	const struct caught *a = find_rule(&f->c, "enumeration");
	assert_string_equal(a->technique, "SAFE-T1804");
	assert_string_equal(a->endpoint, H "/v2/accounts/{id}");
	assert_string_equal(a->host, H);
	assert_int_equal(a->count, 20);
	assert_true(a->threshold == 20);
	assert_int_equal(a->window_s, 600);
	assert_int_equal(a->first_ts, T0);
	assert_string_equal(a->detail, "20 distinct ids (1..20) in " H "/v2/accounts/{id} within "
				       "600 s: 100% increasing, density 1.00");
	assert_string_equal(a->samples[4], "/v2/accounts/20");
	assert_string_equal(a->samples[3], "/v2/accounts/3");
	/* rate plays no part: 1 request a minute is no alert from the rate rules */
	assert_int_equal(count_rule(&f->c, "volume") + count_rule(&f->c, "rapid"), 0);
	fx_free(f);
}

static void test_enumeration_window_slides(void **state)
{
	struct fixture *f = fx_new(NULL);
	(void)state;
	/* 19 ids, then the 20th 11 minutes after the first */
	for (uint64_t i = 1; i <= 19; i++)
		get_id(f, T0 + i * SEC, "/v2/accounts/%llu", i);
	get_id(f, T0 + 662 * SEC, "/v2/accounts/%llu", 20);
	assert_int_equal(count_rule(&f->c, "enumeration"), 0);
	fx_free(f);
}

static void test_enumeration_shapes(void **state)
{
	struct fixture *f = fx_new(NULL), *g = fx_new(NULL), *h = fx_new(NULL);
	(void)state;
	/* decreasing but dense: fires on density */
	for (uint64_t i = 0; i < 20; i++)
		get_id(f, T0 + i * SEC, "/v2/orders/%llu/lines", 500 - i);
	assert_int_equal(count_rule(&f->c, "enumeration"), 1);
	assert_string_equal(find_rule(&f->c, "enumeration")->endpoint, H "/v2/orders/{id}/lines");
	/* 30 sparse random-looking ids: neither increasing nor dense */
	static const uint64_t ids[] = {9120, 33,   7781, 402,  15003, 2677, 98,   41000, 5123, 777,
				       30001, 1200, 66,   8888, 212,   4500, 19,   77000, 303,  6001,
				       12,    9999, 150,  3456, 27,    600,  8100, 45,    2222, 71};
	for (int i = 0; i < 30; i++)
		get_id(g, T0 + (uint64_t)i * SEC, "/v2/accounts/%llu", ids[i]);
	assert_int_equal(count_rule(&g->c, "enumeration"), 0);
	/* increasing but sparse (every 1000th id): fires on "mostly increasing" */
	for (uint64_t i = 0; i < 20; i++)
		get_id(h, T0 + i * SEC, "/v2/accounts/%llu", 1000 * i + 7);
	assert_int_equal(count_rule(&h->c, "enumeration"), 1);
	fx_free(f);
	fx_free(g);
	fx_free(h);
}

/* ---- pagination: > 10 distinct paging values on an endpoint in 60 s ---- */

static void test_pagination(void **state)
{
	struct fixture *f = fx_new(NULL), *g = fx_new(NULL);
	char q[64];
	(void)state;
	for (int i = 1; i <= 10; i++) {
		snprintf(q, sizeof(q), "limit=100&page=%d", i);
		get(f, T0 + (uint64_t)i * 2 * SEC, H, "/api/tickets", q, 1000);
	}
	assert_int_equal(count_rule(&f->c, "pagination"), 0);
	get(f, T0 + 22 * SEC, H, "/api/tickets", "limit=100&page=11", 1000);
	assert_int_equal(count_rule(&f->c, "pagination"), 1);
	const struct caught *a = find_rule(&f->c, "pagination");
	assert_string_equal(a->endpoint, H "/api/tickets");
	assert_int_equal(a->count, 11);
	assert_true(a->threshold == 10);
	assert_int_equal(a->first_ts, T0 + 2 * SEC);
	assert_string_equal(a->detail, "11 distinct values of page= on " H "/api/tickets within 60 s");
	assert_string_equal(a->samples[4], "/api/tickets?limit=100&page=11");
	/* re-reading page 1, or walking slower than the window, walks nothing */
	for (int i = 0; i < 50; i++)
		get(g, T0 + (uint64_t)i * SEC, H, "/api/tickets", "page=1", 1000);
	for (int i = 0; i < 20; i++) {
		snprintf(q, sizeof(q), "offset=%d", i * 50);
		get(g, T0 + 100 * SEC + (uint64_t)i * 7 * SEC, H, "/api/tickets", q, 1000);
	}
	assert_int_equal(count_rule(&g->c, "pagination"), 0);
	fx_free(f);
	fx_free(g);
}

static void test_pagination_cursor(void **state)
{
	struct fixture *f = fx_new(NULL);
	char q[64];
	(void)state;
	for (int i = 0; i < 11; i++) {
		snprintf(q, sizeof(q), "cursor=c%04x&after=%d", i * 7919, i);
		get(f, T0 + (uint64_t)i * SEC, H, "/graph/items", q, 1000);
	}
	assert_int_equal(count_rule(&f->c, "pagination"), 1);
	assert_string_equal(find_rule(&f->c, "pagination")->detail,
			    "11 distinct values of cursor=, after= on " H "/graph/items within 60 s");
	fx_free(f);
}

/* ---- cross_endpoint: > 5 templates on a host in 600 s with list -> detail ---- */

static void test_cross_endpoint(void **state)
{
	struct fixture *f = fx_new(NULL);
	(void)state;
	get(f, T0, H, "/api/customers", "limit=1000", 5000);
	get(f, T0 + 1 * SEC, H, "/api/customers/17", NULL, 500);
	get(f, T0 + 2 * SEC, H, "/api/customers/17/metrics", NULL, 500);
	get(f, T0 + 3 * SEC, H, "/api/customers/17/logs", "start=2024-01-01", 500);
	get(f, T0 + 4 * SEC, H, "/api/customers/17/orders", NULL, 500);
	get(f, T0 + 5 * SEC, H, "/api/customers/18/metrics", NULL, 500); /* same template */
	assert_int_equal(count_rule(&f->c, "cross_endpoint"), 0);
	get(f, T0 + 6 * SEC, H, "/api/customers/17/invoices", NULL, 500);
	assert_int_equal(count_rule(&f->c, "cross_endpoint"), 1);
	const struct caught *a = find_rule(&f->c, "cross_endpoint");
	assert_string_equal(a->host, H);
	assert_string_equal(a->endpoint, "(null)");
	assert_int_equal(a->count, 6);
	assert_true(a->threshold == 5);
	assert_int_equal(a->first_ts, T0);
	fx_free(f);
}

static void test_cross_endpoint_needs_list_first(void **state)
{
	struct fixture *f = fx_new(NULL), *g = fx_new(NULL);
	static const char *const paths[] = {"/api/a", "/api/b/1", "/api/c/2/x", "/api/d",
					    "/api/e/5", "/api/f", "/api/g/9", "/api/h"};
	(void)state;
	/* 8 templates, none a collection of another */
	for (int i = 0; i < 8; i++)
		get(f, T0 + (uint64_t)i * SEC, H, paths[i], NULL, 100);
	assert_int_equal(count_rule(&f->c, "cross_endpoint"), 0);
	/* children first, their collection last: a detail -> list walk is not a crawl */
	get(g, T0, H, "/api/users/1/projects", NULL, 100);
	get(g, T0 + 1 * SEC, H, "/api/users/1/keys", NULL, 100);
	get(g, T0 + 2 * SEC, H, "/api/users/1/teams", NULL, 100);
	get(g, T0 + 3 * SEC, H, "/api/users/1/tokens", NULL, 100);
	get(g, T0 + 4 * SEC, H, "/api/users/1", NULL, 100);
	get(g, T0 + 5 * SEC, H, "/api/users", NULL, 100);
	assert_int_equal(count_rule(&g->c, "cross_endpoint"), 0);
	fx_free(f);
	fx_free(g);
}

/* ---- observability_api: > 20 distinct requests to the listed paths in 300 s ---- */

static void test_observability_api(void **state)
{
	struct fixture *f = fx_new(NULL);
	char q[64];
	(void)state;
	get(f, T0, "prometheus.internal:9090", "/api/v1/query", "query=up", 100);
	get(f, T0 + SEC, "prometheus.internal:9090", "/api/v1/series", "match[]=up", 100);
	get(f, T0 + 2 * SEC, "grafana.internal:3000", "/api/datasources", NULL, 100);
	for (int i = 0; i < 17; i++) {
		snprintf(q, sizeof(q), "query=metric_%d", i);
		get(f, T0 + (uint64_t)(3 + i) * SEC, "prometheus.internal:9090", "/api/v1/query", q,
		    100);
	}
	/* 20 distinct so far, plus repeats that add nothing */
	get(f, T0 + 30 * SEC, "prometheus.internal:9090", "/api/v1/query", "query=up", 100);
	assert_int_equal(count_rule(&f->c, "observability_api"), 0);
	get(f, T0 + 31 * SEC, "grafana.internal:3000", "/api/dashboards/uid/abc123", NULL, 100);
	assert_int_equal(count_rule(&f->c, "observability_api"), 1);
	const struct caught *a = find_rule(&f->c, "observability_api");
	assert_string_equal(a->technique, "SAFE-T1804");
	assert_string_equal(a->host, "(null)");
	assert_string_equal(a->endpoint, "(null)");
	assert_int_equal(a->count, 21);
	assert_true(a->threshold == 20);
	assert_int_equal(a->first_ts, T0);
	fx_free(f);
}

static void test_observability_dashboard_quiet(void **state)
{
	struct fixture *f = fx_new(NULL);
	char q[128];
	(void)state;
	/* 8 panels every 30 s for an hour; start/end move with every refresh */
	for (int r = 0; r < 120; r++) {
		uint64_t t = T0 + (uint64_t)r * 30 * SEC;
		for (int p = 0; p < 8; p++) {
			snprintf(q, sizeof(q), "query=panel_%d&start=%llu&end=%llu&step=15", p,
				 (unsigned long long)(1795248000 + r * 30 - 3600),
				 (unsigned long long)(1795248000 + r * 30));
			get(f, t + (uint64_t)p * 20 * MS, "prometheus.internal:9090",
			    "/api/v1/query_range", q, 4000);
		}
	}
	assert_int_equal(f->c.n, 0);
	fx_free(f);
}

/* A Grafana panel refreshing query_range every 5 s: 11 distinct start= values in the
 * pagination window are a time range moving, not paging (start is not a default paging
 * parameter: the seed names page, offset and cursor). */
static void test_query_range_refresh_is_not_pagination(void **state)
{
	struct fixture *f = fx_new(NULL);
	char q[128];
	(void)state;
	for (int r = 0; r < 11; r++) {
		snprintf(q, sizeof(q), "query=up&start=%llu&end=%llu&step=15",
			 (unsigned long long)(1795248000 + r * 5 - 3600),
			 (unsigned long long)(1795248000 + r * 5));
		get(f, T0 + (uint64_t)r * 5 * SEC, "prometheus.internal:9090", "/api/v1/query_range",
		    q, 4000);
	}
	assert_int_equal(count_rule(&f->c, "pagination"), 0);
	fx_free(f);
}

/* ---- data_volume: > 50 MiB of responses per cgroup in 300 s, or 10x baseline ---- */

static void test_data_volume(void **state)
{
	struct fixture *f = fx_new(NULL);
	(void)state;
	/* 50 MiB exactly, in 50 responses */
	for (int i = 0; i < 50; i++)
		get(f, T0 + (uint64_t)i * 4 * SEC, "files.example.com", "/export", NULL, 1 << 20);
	assert_int_equal(count_rule(&f->c, "data_volume"), 0);
	get(f, T0 + 201 * SEC, "files.example.com", "/export", NULL, 1);
	assert_int_equal(count_rule(&f->c, "data_volume"), 1);
	const struct caught *a = find_rule(&f->c, "data_volume");
	assert_int_equal(a->count, (50 << 20) + 1);
	assert_true(a->threshold == 50 << 20);
	assert_string_equal(a->host, "(null)");
	fx_free(f);
}

static void test_data_volume_baseline(void **state)
{
	struct fixture *f = fx_new(NULL);
	(void)state;
	/* 80 min of 400 KiB a minute (2,048,000 bytes per 5 min), a pause, then 10x that in
	 * 5 min: not more; one byte more is */
	for (uint64_t t = 0; t < 4800; t += 60)
		get(f, T0 + t * SEC, "files.example.com", "/sync", NULL, 409600);
	assert_int_equal(count_rule(&f->c, "data_volume"), 0);
	uint64_t t0 = T0 + (4800 + 330) * SEC;
	for (int i = 0; i < 50; i++)
		get(f, t0 + (uint64_t)i * SEC, "files.example.com", "/sync", NULL, 409600);
	assert_int_equal(count_rule(&f->c, "data_volume"), 0);
	get(f, t0 + 50 * SEC, "files.example.com", "/sync", NULL, 1);
	assert_int_equal(count_rule(&f->c, "data_volume"), 1);
	const struct caught *a = find_rule(&f->c, "data_volume");
	assert_int_equal(a->count, 20480001);
	assert_true(a->threshold == 20480000.0);
	assert_string_equal(a->detail, "20480001 response bytes in 300 s: 10.0x the cgroup's "
				       "baseline of 2048000 bytes per 300 s");
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enumeration_threshold),
		cmocka_unit_test(test_enumeration_window_slides),
		cmocka_unit_test(test_enumeration_shapes),
		cmocka_unit_test(test_pagination),
		cmocka_unit_test(test_pagination_cursor),
		cmocka_unit_test(test_cross_endpoint),
		cmocka_unit_test(test_cross_endpoint_needs_list_first),
		cmocka_unit_test(test_observability_api),
		cmocka_unit_test(test_observability_dashboard_quiet),
		cmocka_unit_test(test_query_range_refresh_is_not_pagination),
		cmocka_unit_test(test_data_volume),
		cmocka_unit_test(test_data_volume_baseline),
	};
	return cmocka_run_group_tests_name("detect_harvest", tests, NULL, NULL);
}
