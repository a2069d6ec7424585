// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_cgstats.c - user/output/cgstats.c, the per-cgroup figures of `tollgate top`: request and
 * 429 rates over the last CGSTATS_WINDOW seconds (window.h sliding windows), with late
 * observations counted in their own second and observations older than the window not
 * counted at all (they once landed in a newer second's bucket).
 */
#include <stdio.h>

#include "unit.h"

#include "cgstats.h"

#define SEC 1000000000ULL
#define T0 (1700000000ULL * SEC)

static void obs(struct cgstats *s, int type, uint64_t ts, int status)
{
	struct tg_obs o = {.type = type, .ts_ns = ts, .cgroup_id = 7, .cgroup = "/agents/a",
			   .comm = "curl", .host = "h", .path = "/v1/x", .status = status,
			   .latency_ms = -1, .retry_after_s = -1};
	struct obs_tpl tb;

	obs_set_template(&o, &tb);
	cgstats_obs(s, &o);
}

static struct cgstats_row top1(struct cgstats *s, uint64_t now)
{
	struct cgstats_row rows[4];

	assert_int_equal(cgstats_top(s, now, rows, 4), 1);
	assert_int_equal(rows[0].cgroup_id, 7);
	return rows[0];
}

static void test_rates(void **state)
{
	struct cgstats *s = cgstats_new();

	(void)state;
	assert_non_null(s);
	for (int i = 0; i < 10; i++)
		obs(s, OBS_REQUEST, T0 + (uint64_t)i * SEC, 0);
	obs(s, OBS_RESPONSE, T0 + 9 * SEC, 429);
	struct cgstats_row r = top1(s, T0 + 9 * SEC + SEC / 2);
	assert_true(r.req_s == 1.0);
	assert_true(r.r429_s == 0.1);
	assert_int_equal(r.requests, 10);
	assert_string_equal(r.comm, "curl");
	assert_string_equal(r.top_endpoint, "h/v1/x");
	/* a second later the request of T0 has left the window */
	assert_true(top1(s, T0 + 10 * SEC).req_s == 0.9);
	/* long after: nothing */
	r = top1(s, T0 + 100 * SEC);
	assert_true(r.req_s == 0 && r.r429_s == 0);
	cgstats_free(s);
}

static void test_late_and_stale(void **state)
{
	struct cgstats *s = cgstats_new();

	(void)state;
	assert_non_null(s);
	obs(s, OBS_REQUEST, T0 + 100 * SEC, 0);
	obs(s, OBS_REQUEST, T0 + 105 * SEC, 0);
	/* late but inside the window (96..105): counted in its own second */
	obs(s, OBS_REQUEST, T0 + 98 * SEC, 0);
	/* older than the window: 90 % 10 is the slot of second 100, it must not count there */
	obs(s, OBS_REQUEST, T0 + 90 * SEC, 0);
	obs(s, OBS_RESPONSE, T0 + 80 * SEC, 429);
	struct cgstats_row r = top1(s, T0 + 105 * SEC);
	assert_true(r.req_s == 0.3);
	assert_true(r.r429_s == 0);
	assert_int_equal(r.requests, 4); /* the total counts every request seen */
	/* at 108 the window is 99..108: the late one of 98 has left, 100 and 105 stay */
	assert_true(top1(s, T0 + 108 * SEC).req_s == 0.2);
	/* at 110, 100 has left too: another late one of 100 stays in 100's bucket */
	obs(s, OBS_REQUEST, T0 + 100 * SEC, 0);
	assert_true(top1(s, T0 + 110 * SEC).req_s == 0.1);
	cgstats_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rates),
		cmocka_unit_test(test_late_and_stale),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
