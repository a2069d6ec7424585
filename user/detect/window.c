// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * window.c - sliding-window counters and distinct-key sets. See window.h.
 */
#include <string.h>

#include "window.h"

/* Buckets between @now and the newest slot @epoch, wrap-safe: > 0 when now is newer. */
static inline int32_t ahead(uint32_t now, uint32_t epoch)
{
	return (int32_t)(now - epoch);
}

#define WIN_ADVANCE(T)                                                                     \
	static void advance_##T(uint32_t *epoch, T *slots, unsigned n, uint32_t e)          \
	{                                                                                  \
		uint32_t d = (uint32_t)ahead(e, *epoch);                                   \
		if (d >= n) {                                                              \
			memset(slots, 0, n * sizeof(*slots));                              \
		} else {                                                                   \
			unsigned idx = *epoch % n;                                         \
			for (uint32_t k = 1; k <= d; k++) {                                \
				idx = idx + 1 < n ? idx + 1 : 0;                           \
				slots[idx] = 0;                                            \
			}                                                                  \
		}                                                                          \
		*epoch = e;                                                                \
	}
WIN_ADVANCE(uint32_t)
WIN_ADVANCE(uint64_t)

int win32_add(uint32_t *epoch, uint32_t *slots, unsigned n, uint64_t width_ns, uint64_t ts_ns,
	      uint32_t v)
{
	uint32_t e = win_epoch(ts_ns, width_ns);
	int32_t d = ahead(e, *epoch);

	if (d > 0)
		advance_uint32_t(epoch, slots, n, e);
	else if (-d >= (int32_t)n)
		return -1;
	uint32_t *s = &slots[e % n];
	*s = *s > UINT32_MAX - v ? UINT32_MAX : *s + v;
	return 0;
}

int win32_sub(uint32_t *epoch, uint32_t *slots, unsigned n, uint64_t width_ns, uint64_t ts_ns,
	      uint32_t v)
{
	uint32_t e = win_epoch(ts_ns, width_ns);
	int32_t d = ahead(e, *epoch);

	if (d > 0 || -d >= (int32_t)n || slots[e % n] < v)
		return -1;
	slots[e % n] -= v;
	return 0;
}

/*
 * Slot k (0 = newest) holds bucket epoch - k, at index (epoch - k) % n: walk the indexes
 * down from epoch % n (one division per call, not one per slot). @back0 is how many
 * buckets before now's the newest slot is: slot k is back0 + k buckets back.
 */
#define WIN_SUM_RANGE(T, name)                                                              	uint64_t name(uint32_t epoch, const T *slots, unsigned n, uint64_t width_ns,         		      uint64_t now_ns, unsigned from_back, unsigned to_back)                 	{                                                                                   		int64_t back0 = ahead(win_epoch(now_ns, width_ns), epoch);                  		unsigned idx = epoch % n;                                                   		uint64_t sum = 0;                                                           		for (unsigned k = 0; k < n; k++, idx = idx ? idx - 1 : n - 1) {             			int64_t back = back0 + k;                                           			if (back < (int64_t)from_back || back > (int64_t)to_back)           				continue;                                                   			sum = sum > UINT64_MAX - slots[idx] ? UINT64_MAX : sum + slots[idx]; 		}                                                                           		return sum;                                                                 	}
WIN_SUM_RANGE(uint32_t, win32_sum_range)
WIN_SUM_RANGE(uint64_t, win64_sum_range)

uint64_t win32_sum(uint32_t epoch, const uint32_t *slots, unsigned n, uint64_t width_ns,
		   uint64_t now_ns)
{
	return win32_sum_range(epoch, slots, n, width_ns, now_ns, 0, n - 1);
}

uint64_t win32_first_ns(uint32_t epoch, const uint32_t *slots, unsigned n, uint64_t width_ns,
			uint64_t now_ns)
{
	int64_t back0 = ahead(win_epoch(now_ns, width_ns), epoch);
	unsigned idx = epoch % n;
	uint64_t first = 0;

	for (unsigned k = 0; k < n; k++, idx = idx ? idx - 1 : n - 1) {
		int64_t back = back0 + k;
		if (back < 0 || back > (int64_t)n - 1 || !slots[idx])
			continue;
		/* the oldest: largest back; rebuild the full epoch from now_ns */
		first = (now_ns / width_ns - (uint64_t)back) * width_ns;
	}
	return first;
}

int win64_add(uint32_t *epoch, uint64_t *slots, unsigned n, uint64_t width_ns, uint64_t ts_ns,
	      uint64_t v)
{
	uint32_t e = win_epoch(ts_ns, width_ns);
	int32_t d = ahead(e, *epoch);

	if (d > 0)
		advance_uint64_t(epoch, slots, n, e);
	else if (-d >= (int32_t)n)
		return -1;
	uint64_t *s = &slots[e % n];
	*s = *s > UINT64_MAX - v ? UINT64_MAX : *s + v;
	return 0;
}

uint64_t win64_sum(uint32_t epoch, const uint64_t *slots, unsigned n, uint64_t width_ns,
		   uint64_t now_ns)
{
	return win64_sum_range(epoch, slots, n, width_ns, now_ns, 0, n - 1);
}

/* ---- distinct-key sets ---- */

void dset_expire(struct dset *s, struct dset_ent *e, unsigned cap, uint64_t now_ms,
		 uint32_t window_ms)
{
	uint32_t now32 = (uint32_t)now_ms;

	/* every stamp is at or before the last touch: a set idle for longer than the window
	 * holds nothing alive (and its 32-bit stamps may be ambiguous by now) */
	if (s->n && now_ms > s->last_ms && now_ms - s->last_ms > window_ms) {
		s->head = 0;
		s->n = 0;
		return;
	}
	/* otherwise every stamp is within 2 windows of now: the 32-bit difference is exact */
	while (s->n && (uint32_t)(now32 - e[s->head].ms) > window_ms &&
	       (int32_t)(now32 - e[s->head].ms) > 0) {
		s->head = (uint8_t)((s->head + 1) & (cap - 1));
		s->n--;
	}
}

struct dset_ent *dset_add(struct dset *s, struct dset_ent *e, unsigned cap, uint64_t key,
			  uint64_t now_ms, uint32_t window_ms)
{
	struct dset_ent *x;

	dset_expire(s, e, cap, now_ms, window_ms);
	if (now_ms > s->last_ms)
		s->last_ms = now_ms;
	/* newest first: a key seen again is most likely a recent one */
	for (unsigned i = s->n; i-- > 0;)
		if (e[(s->head + i) & (cap - 1)].key == key)
			return NULL;
	if (s->n == cap) { /* full: the oldest goes */
		s->head = (uint8_t)((s->head + 1) & (cap - 1));
		s->n--;
	}
	x = &e[(s->head + s->n) & (cap - 1)];
	s->n++;
	x->key = key;
	x->ms = (uint32_t)now_ms;
	x->aux = 0;
	return x;
}
