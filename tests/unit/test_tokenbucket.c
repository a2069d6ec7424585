/*
 * test_tokenbucket.c - include/tokenbucket.h, the GCRA token bucket the BPF throttle uses:
 * burst, steady rate, policing leaves the state alone when refusing, shaping hands out
 * slots one interval apart.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tokenbucket.h"

#define MS 1000000ULL
#define S (1000 * MS)

static void test_police_burst_then_rate(void **state)
{
	(void)state;
	__u64 tat = 0, T = 100 * MS, tau = 4 * T; /* 10/s, burst 5 */
	__u64 now = 10 * S;
	int ok = 0;

	for (int i = 0; i < 20; i++)
		ok += tg_gcra_police(&tat, now, T, tau);
	assert_int_equal(ok, 5); /* exactly the burst at one instant */
	/* the refusals did not move the state: the next token is due one interval later */
	assert_int_equal(tg_gcra_police(&tat, now + T - 1, T, tau), 0);
	assert_int_equal(tg_gcra_police(&tat, now + T, T, tau), 1);
	/* over 10 s of a flood at 1 kHz, 5 + 100 tokens */
	tat = 0;
	ok = 0;
	for (__u64 t = now; t < now + 10 * S; t += MS)
		ok += tg_gcra_police(&tat, t, T, tau);
	assert_int_equal(ok, 5 + 100 - 1);
}

static void test_police_idle_refills_to_burst_only(void **state)
{
	(void)state;
	__u64 tat = 0, T = 100 * MS, tau = 2 * T; /* burst 3 */
	__u64 now = 100 * S;
	int ok = 0;

	for (int i = 0; i < 10; i++)
		ok += tg_gcra_police(&tat, now, T, tau);
	assert_int_equal(ok, 3);
	now += 60 * S; /* a long idle period does not bank more than the burst */
	ok = 0;
	for (int i = 0; i < 10; i++)
		ok += tg_gcra_police(&tat, now, T, tau);
	assert_int_equal(ok, 3);
}

static void test_shape_slots(void **state)
{
	(void)state;
	__u64 tat = 0, T = 200 * MS, tau = 0; /* 5/s, burst 1 */
	__u64 now = 50 * S;

	assert_int_equal(tg_gcra_shape(&tat, now, T, tau), now);
	assert_int_equal(tg_gcra_shape(&tat, now, T, tau), now + T);
	assert_int_equal(tg_gcra_shape(&tat, now, T, tau), now + 2 * T);
	/* a request after the queue drained goes at once */
	assert_int_equal(tg_gcra_shape(&tat, now + 10 * S, T, tau), now + 10 * S);
}

static void test_shape_long_run_rate(void **state)
{
	(void)state;
	__u64 tat = 0, T = 100 * MS, tau = 4 * T;
	__u64 start = 5 * S, t = start, sent = 0;

	/* a sequential client: sends, waits for its slot, sends again; 30 s of it */
	while (t < start + 30 * S) {
		__u64 go = tg_gcra_shape(&tat, t, T, tau);
		if (go >= start + 30 * S)
			break;
		sent++;
		t = go + MS; /* the response takes 1 ms */
	}
	/* at most rate * 30 + burst */
	assert_true(sent <= 300 + 5);
	assert_true(sent >= 290);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_police_burst_then_rate),
		cmocka_unit_test(test_police_idle_refills_to_burst_only),
		cmocka_unit_test(test_shape_slots),
		cmocka_unit_test(test_shape_long_run_rate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
