/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * window.h - the detectors' time-window primitives. Time is always an observation's
 * timestamp (ns since the epoch, CLOCK_REALTIME), never the clock on the wall, so replay
 * and live runs count alike.
 *
 * 1. Sliding-window counters over fixed buckets (win32_*, win64_*). A window of W seconds
 *    is split into nb buckets of W/nb; the caller owns an array of nb + 1 slots and the
 *    epoch (bucket number, ts / width, modulo 2^32) of the newest slot. A sum at time t
 *    covers the bucket of t and the nb before it: every event of the last W seconds, and
 *    possibly events up to W + W/nb old - the window never under-counts. Memory per key:
 *    4 + 4 * (nb + 1) bytes (8 per slot for win64).
 *    Events later than the newest slot advance the window (clearing what falls out);
 *    events older than the window are not counted (win*_add returns -1).
 *
 * 2. Distinct-key sets with expiry (dset_*): "how many distinct ids/targets/templates in
 *    the last W seconds". A fixed ring of cap entries in first-seen order, each with a
 *    32-bit millisecond timestamp (wrap-safe: windows must be < 12 days), and a 64-bit
 *    last touch per set: a set untouched for longer than W is cleared whole, so stamps
 *    never compare across more than 2 W however long the set sat idle; a key counts
 *    from its first sighting for W, then is forgotten (and counts anew if seen again).
 *    When more than cap distinct keys are alive, the oldest is dropped: counts saturate
 *    at cap, so thresholds must stay below it (policy.c enforces that).
 */
#ifndef TG_WINDOW_H
#define TG_WINDOW_H

#include <stdint.h>

/* ---- sliding-window counters ---- */

/* Bucket width in ns of a window of @window_s seconds split into @nb buckets. */
static inline uint64_t win_width(uint32_t window_s, unsigned nb)
{
	uint64_t w = (uint64_t)window_s * 1000000000ULL / nb;
	return w ? w : 1;
}

static inline uint32_t win_epoch(uint64_t ts_ns, uint64_t width_ns)
{
	return (uint32_t)(ts_ns / width_ns);
}

/*
 * win32_add - add @v to the bucket of @ts_ns.
 * @epoch/@slots/@n: the window's newest epoch and its @n slots (nb + 1).
 * Returns 0, or -1 when @ts_ns is older than the window (not counted). Counts saturate.
 */
int win32_add(uint32_t *epoch, uint32_t *slots, unsigned n, uint64_t width_ns, uint64_t ts_ns,
	      uint32_t v);
/* Sum of the slots whose bucket lies within @n buckets of @now_ns's bucket. */
uint64_t win32_sum(uint32_t epoch, const uint32_t *slots, unsigned n, uint64_t width_ns,
		   uint64_t now_ns);
/*
 * win32_sum_range - sum of the buckets (now's bucket - @to_back) .. (now's bucket -
 * @from_back), both counted back from @now_ns's bucket (0 = the current bucket).
 * Buckets not held (older than the slots) count 0. For growth's "last 5 min vs the 15 min
 * before" on one array.
 */
uint64_t win32_sum_range(uint32_t epoch, const uint32_t *slots, unsigned n, uint64_t width_ns,
			 uint64_t now_ns, unsigned from_back, unsigned to_back);
/* Start (ns) of the oldest non-empty bucket within the window at @now_ns; 0 when empty. */
uint64_t win32_first_ns(uint32_t epoch, const uint32_t *slots, unsigned n, uint64_t width_ns,
			uint64_t now_ns);
/* Subtract @v from the bucket of @ts_ns if it is held and holds at least @v.
 * Returns 0, or -1 when nothing was subtracted. */
int win32_sub(uint32_t *epoch, uint32_t *slots, unsigned n, uint64_t width_ns, uint64_t ts_ns,
	      uint32_t v);

/* The same for 64-bit slots (bytes, micro-USD). */
int win64_add(uint32_t *epoch, uint64_t *slots, unsigned n, uint64_t width_ns, uint64_t ts_ns,
	      uint64_t v);
uint64_t win64_sum(uint32_t epoch, const uint64_t *slots, unsigned n, uint64_t width_ns,
		   uint64_t now_ns);
uint64_t win64_sum_range(uint32_t epoch, const uint64_t *slots, unsigned n, uint64_t width_ns,
			 uint64_t now_ns, unsigned from_back, unsigned to_back);

/* ---- distinct-key sets ---- */

struct dset_ent {
	uint64_t key;
	uint32_t ms;  /* first sighting, ms (engine clock, wrap-safe) */
	uint32_t aux; /* caller's data (cross_endpoint: parent hash) */
};

struct dset {
	uint64_t last_ms; /* latest dset_add(), ms (engine clock, 64-bit: never wraps) */
	uint8_t head;     /* index of the oldest entry */
	uint8_t n;        /* entries held */
};

/* Forget the entries first seen more than @window_ms before @now_ms (engine clock, ms,
 * 64-bit). @cap: the entry array's length, a power of two <= 128. @window_ms < 12 days. */
void dset_expire(struct dset *s, struct dset_ent *e, unsigned cap, uint64_t now_ms,
		 uint32_t window_ms);
/*
 * dset_add - note @key at @now_ms (expiring first).
 * Returns a pointer to the new entry when the key was not held (the caller may set aux),
 * NULL when it was already held.
 */
struct dset_ent *dset_add(struct dset *s, struct dset_ent *e, unsigned cap, uint64_t key,
			  uint64_t now_ms, uint32_t window_ms);
/* The i-th entry in first-seen order (0 = oldest); i < s->n. */
static inline struct dset_ent *dset_at(const struct dset *s, struct dset_ent *e, unsigned cap,
				       unsigned i)
{
	return &e[(s->head + i) & (cap - 1)];
}

#endif
