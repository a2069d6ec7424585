/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * cgstats.h - live per-cgroup figures for `tollgate top`: request and 429 rates over the
 * last 10 s, open connections, the busiest endpoint (host + path template, template.h),
 * alerts so far.
 *
 * In:  observations and alerts. Out: a table sorted by request rate.
 * Bounded: at most CGSTATS_MAX cgroups; the least recently active is evicted (counted).
 */
#ifndef TG_CGSTATS_H
#define TG_CGSTATS_H

#include <stdint.h>

#include "alert.h"
#include "obs.h"

#define CGSTATS_MAX 4096
#define CGSTATS_WINDOW 10 /* seconds */

struct cgstats_row {
	uint64_t cgroup_id;
	const char *cgroup;
	const char *comm;
	double req_s;         /* requests per second over the window */
	double r429_s;        /* 429 responses per second over the window */
	int64_t open_conns;   /* connects minus closes seen */
	const char *top_endpoint;
	uint64_t alerts;
	uint64_t requests;    /* since tracking began */
};

struct cgstats;

struct cgstats *cgstats_new(void);
void cgstats_free(struct cgstats *s);
/* @now_s: whole seconds of the observation's clock (windows move with it). */
void cgstats_obs(struct cgstats *s, const struct tg_obs *o);
void cgstats_alert(struct cgstats *s, const struct tg_alert *a);
/* Fill up to @max rows, busiest first, as of @now_ns (CLOCK_REALTIME). Returns the count.
 * Strings stay valid until the next call into @s. */
int cgstats_top(struct cgstats *s, uint64_t now_ns, struct cgstats_row *rows, int max);
/* Drop the rows of cgroups that are gone (@ids sorted ascending, from
 * cgcache_take_removed). */
void cgstats_forget(struct cgstats *s, const uint64_t *ids, size_t n);
uint64_t cgstats_count(const struct cgstats *s);
uint64_t cgstats_evictions(const struct cgstats *s);

#endif
