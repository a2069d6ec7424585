/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * tokenbucket.h - a token bucket kept in one 64-bit word: the Generic Cell Rate Algorithm
 * (ITU-T I.371, "virtual scheduling"), so BPF programs on several CPUs can share it with a
 * compare-and-swap instead of a lock.
 *
 * A bucket of rate r (tokens per second) and depth b (burst) is the theoretical arrival
 * time TAT (ns, CLOCK_MONOTONIC), the emission interval T = 1e9 / r ns and the tolerance
 * tau = (b - 1) * T. A request at time t conforms iff t >= TAT - tau; it then moves
 * TAT to max(TAT, t) + T.
 *
 * Pure static inline code, no BPF helpers: the same code runs in bpf/ and in the cmocka
 * tests (tests/unit/test_tokenbucket.c).
 */
#ifndef TOLLGATE_TOKENBUCKET_H
#define TOLLGATE_TOKENBUCKET_H

#ifndef __bpf__
#include <linux/types.h>
#endif

#define TG_GCRA_TRIES 4 /* compare-and-swap attempts before giving up (contention) */

/*
 * tg_gcra_police - take one token if there is one.
 * @tat: the shared state; @now: ns; @interval: T, ns; @tau: tolerance, ns.
 * Returns 1 (conforming: the token is taken) or 0 (no token; the state is unchanged).
 * Under heavy contention (TG_GCRA_TRIES lost races) the request is treated as conforming:
 * enforcement fails open, never closed, on our own limits.
 */
static inline int tg_gcra_police(__u64 *tat, __u64 now, __u64 interval, __u64 tau)
{
	for (int i = 0; i < TG_GCRA_TRIES; i++) {
		__u64 old = *(volatile __u64 *)tat;
		__u64 base = old > now ? old : now;
		if (old > now + tau)
			return 0;
		if (__sync_val_compare_and_swap(tat, old, base + interval) == old)
			return 1;
	}
	return 1;
}

/*
 * tg_gcra_shape - reserve the next slot for a request that will be sent anyway, later.
 * Returns the time (ns) from which the request conforms: <= @now means "now". The state
 * always advances by one interval, so queued requests leave at the bucket's rate.
 */
static inline __u64 tg_gcra_shape(__u64 *tat, __u64 now, __u64 interval, __u64 tau)
{
	for (int i = 0; i < TG_GCRA_TRIES; i++) {
		__u64 old = *(volatile __u64 *)tat;
		__u64 base = old > now ? old : now;
		if (__sync_val_compare_and_swap(tat, old, base + interval) == old)
			return old > now + tau ? old - tau : now;
	}
	return now;
}

#endif /* TOLLGATE_TOKENBUCKET_H */
