// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Sliding windows, distinct-key sets (window.h) and the bounded LRU table (lru.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "lru.h"
#include "window.h"

#define SEC 1000000000ULL
#define T0 (1795248000ULL * SEC)

static void test_window_counts_and_slides(void **state)
{
	/* 60 s in 6 buckets of 10 s: 7 slots */
	uint32_t ep = 0, s[7] = {0};
	uint64_t w = win_width(60, 6);
	(void)state;
	assert_int_equal(w, 10 * SEC);
	for (int i = 0; i < 30; i++)
		assert_int_equal(win32_add(&ep, s, 7, w, T0 + (uint64_t)i * SEC, 1), 0);
	assert_int_equal(win32_sum(ep, s, 7, w, T0 + 29 * SEC), 30);
	/* everything of the last 60 s still counts at T0 + 59 */
	assert_int_equal(win32_sum(ep, s, 7, w, T0 + 59 * SEC), 30);
	/* at T0 + 75 s the bucket [T0, T0+10) is gone (and the window may hold up to 70 s) */
	assert_int_equal(win32_sum(ep, s, 7, w, T0 + 75 * SEC), 20);
	/* after 70 s past the last event nothing is left */
	assert_int_equal(win32_sum(ep, s, 7, w, T0 + 100 * SEC), 0);
	/* an event older than the window is refused, a later one advances it */
	assert_int_equal(win32_add(&ep, s, 7, w, T0 + 200 * SEC, 5), 0);
	assert_int_equal(win32_add(&ep, s, 7, w, T0 + 100 * SEC, 1), -1);
	assert_int_equal(win32_sum(ep, s, 7, w, T0 + 200 * SEC), 5);
	/* first non-empty bucket start */
	assert_int_equal(win32_first_ns(ep, s, 7, w, T0 + 200 * SEC), T0 + 200 * SEC);
}

static void test_window_ranges_and_sub(void **state)
{
	uint32_t ep = 0, s[21] = {0};
	uint64_t w = 60 * SEC;
	(void)state;
	/* one event per minute for 20 minutes, then 10 in the current minute */
	for (int m = 0; m < 20; m++)
		win32_add(&ep, s, 21, w, T0 + (uint64_t)m * w, 1);
	win32_add(&ep, s, 21, w, T0 + 20 * w + SEC, 10);
	uint64_t now = T0 + 20 * w + 2 * SEC;
	assert_int_equal(win32_sum_range(ep, s, 21, w, now, 0, 4), 14);
	assert_int_equal(win32_sum_range(ep, s, 21, w, now, 5, 19), 15);
	assert_int_equal(win32_sub(&ep, s, 21, w, T0 + 20 * w + SEC, 3), 0);
	assert_int_equal(win32_sum_range(ep, s, 21, w, now, 0, 0), 7);
	/* nothing to take from an empty or unheld bucket */
	assert_int_equal(win32_sub(&ep, s, 21, w, T0 - 100 * w, 1), -1);
	uint32_t e64 = 0;
	uint64_t b[3] = {0};
	win64_add(&e64, b, 3, SEC, T0, UINT64_MAX - 1);
	win64_add(&e64, b, 3, SEC, T0, 5);
	assert_true(win64_sum(e64, b, 3, SEC, T0) == UINT64_MAX);
}

static void test_dset(void **state)
{
	struct dset s = {0};
	struct dset_ent e[4];
	(void)state;
	assert_non_null(dset_add(&s, e, 4, 1, 1000, 10000));
	assert_null(dset_add(&s, e, 4, 1, 2000, 10000)); /* seen */
	assert_non_null(dset_add(&s, e, 4, 2, 3000, 10000));
	assert_non_null(dset_add(&s, e, 4, 3, 4000, 10000));
	assert_int_equal(s.n, 3);
	/* key 1 (first seen at 1000) expires after 11001 */
	assert_non_null(dset_add(&s, e, 4, 4, 11500, 10000));
	assert_int_equal(s.n, 3);
	assert_int_equal(dset_at(&s, e, 4, 0)->key, 2);
	/* full: the oldest goes */
	assert_non_null(dset_add(&s, e, 4, 5, 11600, 10000));
	assert_non_null(dset_add(&s, e, 4, 6, 11700, 10000));
	assert_int_equal(s.n, 4);
	assert_int_equal(dset_at(&s, e, 4, 0)->key, 3);
	assert_int_equal(dset_at(&s, e, 4, 3)->key, 6);
	/* the stamps' 32-bit wrap */
	struct dset w = {0};
	assert_non_null(dset_add(&w, e, 4, 9, (1ULL << 32) - 10, 1000));
	assert_null(dset_add(&w, e, 4, 9, (1ULL << 32) + 500, 1000));
	assert_non_null(dset_add(&w, e, 4, 9, (1ULL << 32) + 2000, 1000));
}

/* A set idle for 30 days (past the 24.8 days where 32-bit ms differences turn negative):
 * its entries are gone, the keys count anew. */
static void test_dset_long_idle(void **state)
{
	struct dset s = {0};
	struct dset_ent e[4];
	uint64_t t = 5000, day = 86400ULL * 1000;
	(void)state;
	assert_non_null(dset_add(&s, e, 4, 1, t, 60000));
	assert_non_null(dset_add(&s, e, 4, 2, t + 1, 60000));
	assert_int_equal(s.n, 2);
	t += 30 * day;
	dset_expire(&s, e, 4, t, 60000);
	assert_int_equal(s.n, 0);
	assert_non_null(dset_add(&s, e, 4, 1, t, 60000)); /* new again */
	assert_non_null(dset_add(&s, e, 4, 3, t + 1, 60000));
	assert_int_equal(s.n, 2);
	assert_int_equal(dset_at(&s, e, 4, 0)->key, 1);
	/* and straight through dset_add, without an expire call in between */
	t += 30 * day;
	assert_non_null(dset_add(&s, e, 4, 3, t, 60000));
	assert_int_equal(s.n, 1);
	/* 49.7 days (the 32-bit stamps come round again) */
	t += (1ULL << 32);
	assert_non_null(dset_add(&s, e, 4, 3, t, 60000));
	assert_int_equal(s.n, 1);
}

struct ent {
	struct lru_hdr h;
	uint64_t v;
};

static void test_lru(void **state)
{
	struct lru t;
	int created;
	(void)state;
	assert_int_equal(lru_init(&t, 3, sizeof(struct ent)), 0);
	for (uint64_t k = 1; k <= 3; k++) {
		struct ent *e = lru_get(&t, 7, k, &created);
		assert_true(created);
		e->v = k * 10;
	}
	/* touch 1: 2 becomes the least recently used */
	assert_int_equal(((struct ent *)lru_find(&t, 7, 1))->v, 10);
	struct ent *e = lru_get(&t, 7, 4, &created);
	assert_true(created);
	assert_int_equal(e->v, 0);
	assert_int_equal(t.evictions, 1);
	assert_null(lru_find(&t, 7, 2));
	assert_non_null(lru_find(&t, 7, 3));
	/* delete and reuse */
	lru_del(&t, lru_find(&t, 7, 1));
	assert_int_equal(t.count, 2);
	assert_null(lru_find(&t, 7, 1));
	assert_non_null(lru_get(&t, 8, 1, &created));
	assert_int_equal(t.count, 3);
	assert_int_equal(t.evictions, 1);
	int n = 0;
	for (void *x = lru_first(&t); x; x = lru_next(&t, x))
		n++;
	assert_int_equal(n, 3);
	lru_free(&t);
}

static void test_lru_many(void **state)
{
	struct lru t;
	(void)state;
	/* enough churn to exercise probing, backward-shift deletion and chunk reuse */
	assert_int_equal(lru_init(&t, 5000, sizeof(struct ent)), 0);
	for (uint64_t k = 0; k < 50000; k++) {
		struct ent *e = lru_get(&t, k % 7, k * 2654435761ULL, NULL);
		assert_non_null(e);
		e->v = k;
		if (k % 3 == 0)
			lru_del(&t, e);
	}
	assert_true(t.count <= 5000);
	assert_true(t.nchunks <= (5000 + LRU_CHUNK - 1) / LRU_CHUNK);
	/* the most recent survivors are all findable with their values */
	for (uint64_t k = 49000; k < 50000; k++) {
		struct ent *e = lru_find(&t, k % 7, k * 2654435761ULL);
		if (k % 3 == 0)
			assert_null(e);
		else
			assert_true(e && e->v == k);
	}
	assert_true(lru_mem(&t) <= lru_mem_max(&t));
	lru_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_counts_and_slides),
		cmocka_unit_test(test_window_ranges_and_sub),
		cmocka_unit_test(test_dset),
		cmocka_unit_test(test_dset_long_idle),
		cmocka_unit_test(test_lru),
		cmocka_unit_test(test_lru_many),
	};
	return cmocka_run_group_tests_name("window", tests, NULL, NULL);
}
