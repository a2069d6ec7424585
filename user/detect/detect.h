/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * detect.h - the detectors: observations in, alerts out. The same code runs live
 * (`tollgate run`, run.c) and offline (`tollgate replay`, replay.c).
 *
 * In:  observations (obs.h) in roughly time order: http_request, http_response (paired
 *      with its request) and drops; connect/close/udp_send are ignored. Time is the
 *      observation's ts_ns only; detect_tick() brings time forward without one. The
 *      endpoint is host + o->tpl, the path template the observation carries (flow.c
 *      computes it once per request; obs_set_template() for others): an observation
 *      with a path but no template counts for the per-cgroup rules only.
 * Out: alerts (alert.h) through the callback given to detect_new(), synchronously, from
 *      detect_obs(), detect_tick() or detect_flush(). Strings in an alert are valid only
 *      during the callback.
 *
 * Rules (policy.h, docs/policy.md): SAFE-T2102 volume, rapid, rate_limit, retry_loop,
 * parallel, growth, cost (detect_flood.c); SAFE-T1804 enumeration, pagination,
 * cross_endpoint, observability_api, data_volume (detect_harvest.c).
 *
 * Alert fatigue prevention (the seed's): a rule alerts once per (rule, cgroup, key) per
 * policy cooldown_s; further matches in the cool-down are counted, and when it ends one
 * summary alert carries "suppressed": N (and starts the next cool-down if N > 0).
 * Ring-buffer drops (drops observations) inside a rule's window are reported on its alerts
 * as "drops": the counts may be low, never read as quiet.
 *
 * State lives in bounded LRU tables (lru.h), one per key kind, sized by the policy's
 * limits; evictions are counted. The per-observation path does not allocate once the
 * tables have grown to their working size.
 */
#ifndef TG_DETECT_H
#define TG_DETECT_H

#include <stddef.h>
#include <stdint.h>

#include "alert.h"
#include "obs.h"
#include "policy.h"

enum detect_table {
	DT_CGROUPS = 0,
	DT_HOSTS,
	DT_ENDPOINTS,
	DT_ENUMERATIONS,
	DT_PAGINATIONS,
	DT_RETRIES,
	DT_COOLDOWNS,
	DT_MAX,
};

struct detect_stats {
	uint64_t observations;      /* fed to detect_obs */
	uint64_t requests;          /* http_request with a path */
	uint64_t responses;
	uint64_t no_path;           /* http_request without a path (HTTP/2 prefaces): skipped */
	uint64_t allowed;           /* requests/responses skipped by the allow-lists */
	uint64_t drops;             /* kernel records lost, from drops observations */
	uint64_t alerts;            /* alerts emitted, summaries included */
	uint64_t summaries;         /* of which cool-down summaries */
	uint64_t suppressed;        /* matches held back by cool-downs */
	uint64_t evictions[DT_MAX]; /* entries evicted per table */
	uint64_t entries[DT_MAX];   /* entries live per table */
	uint64_t nomem;             /* observations not tracked for want of memory */
};

typedef void (*detect_alert_fn)(void *ctx, const struct tg_alert *a);

struct detect;

/* New detectors under @p (borrowed: it must outlive them). Returns NULL with errno set
 * (ENOMEM). */
struct detect *detect_new(const struct policy *p, detect_alert_fn fn, void *ctx);
void detect_free(struct detect *d);

/* Optional: choose a cgroup's profile by something other than its path (a container's
 * tollgate.io/policy annotation). @fn returns a profile index, or -1 for the path glob.
 * Consulted when a cgroup is first seen. */
typedef int (*detect_profile_fn)(void *ctx, uint64_t cgroup_id);
void detect_set_profile_fn(struct detect *d, detect_profile_fn fn, void *ctx);

/* Feed one observation. */
void detect_obs(struct detect *d, const struct tg_obs *o);
/* Time is @now_ns (CLOCK_REALTIME ns; live: the clock, replay: the latest event time):
 * emit the summaries of cool-downs that ended. Call about once a second. */
void detect_tick(struct detect *d, uint64_t now_ns);
/* Emit the summaries of every cool-down holding suppressed matches (at exit, at the end of
 * a replay), as of the latest observation time. */
void detect_flush(struct detect *d);

/*
 * detect_forget - drop the state of cgroups that are gone (cgcache_take_removed): every
 * table keyed by them except the cool-downs, which end on their own and still owe their
 * summaries. @ids sorted ascending (n may be 0). One pass over each table: O(entries x
 * log n).
 */
void detect_forget(struct detect *d, const uint64_t *ids, size_t n);

const struct detect_stats *detect_stats(struct detect *d);
/* Entries evicted from all the detectors' tables (the sum of @st->evictions). */
uint64_t detect_evictions(const struct detect_stats *st);
/* Bytes the tables hold now; *@max (may be NULL): bytes at the policy's caps. */
size_t detect_mem(const struct detect *d, size_t *max);
/* Bytes one entry of table @t takes (entry + index). */
size_t detect_entry_bytes(int t);
const char *detect_table_name(int t);

#endif
