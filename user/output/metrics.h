/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * metrics.h - Prometheus metrics: the SAFE-T2102 seed's "Prometheus Metrics Export" series,
 * fed from observations, and tollgate's own health.
 *
 * Mapping (README "Metrics"): agent_id = the container name registered by the OCI hook, or
 * the cgroup path; session_id = the cgroup id; tool_name = comm; endpoint = host + path
 * template; api_provider = host.
 *
 *   mcp_agent_api_requests_total{agent_id,session_id,tool_name,endpoint,status_code} counter
 *   mcp_agent_api_request_duration_seconds{agent_id,endpoint}                    histogram
 *   mcp_agent_api_cost_total{agent_id,session_id,api_provider}                   counter
 *   mcp_agent_rate_limit_errors_total{agent_id,session_id,endpoint}              counter
 *   mcp_agent_concurrent_requests{agent_id}                                     gauge
 *
 * Requests are counted when their response is seen (status_code is its status). Cardinality
 * is capped: each session keeps at most max_endpoints distinct endpoints (later ones are
 * counted as endpoint="other"), and the whole registry at most max_series series (more are
 * dropped and counted in tollgate_metrics_series_dropped_total).
 *
 * In: observations, alerts, actions. Out: the text exposition format (version 0.0.4).
 */
#ifndef TG_METRICS_H
#define TG_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "alert.h"
#include "obs.h"

struct metrics_config {
	uint32_t max_endpoints; /* per session; 0: 100 */
	uint32_t max_series;    /* in all; 0: 100000 */
};

/* USD a request costs under the policy's price table; 0 when unpriced. @endpoint: host +
 * path template, as the endpoint label. */
typedef double (*metrics_cost_fn)(void *ctx, uint64_t cgroup_id, const char *host,
				  const char *endpoint);

struct metrics;

/* @cost may be NULL (nothing is priced). */
struct metrics *metrics_new(const struct metrics_config *cfg, metrics_cost_fn cost, void *ctx);
void metrics_free(struct metrics *m);

/* An observation; @agent_id: container name or cgroup path (NULL: the cgroup id). */
void metrics_obs(struct metrics *m, const struct tg_obs *o, const char *agent_id);
void metrics_alert(struct metrics *m, const struct tg_alert *a);
void metrics_action(struct metrics *m, const char *action, const char *result);
/* tollgate_events_total{event}: records of each kind decoded from the kernel. */
void metrics_event(struct metrics *m, const char *event);

/* Gauges and counters read at scrape time. */
struct metrics_health {
	uint64_t ringbuf_drops;
	uint64_t probe_attach_errors;
	uint64_t tls_reads_full; /* TLS reads not tracked: map tls_reads full */
	uint64_t tracked_cgroups;
	uint64_t state_evictions;
};

/* Render everything; returns a malloc'd NUL-terminated buffer (NULL on ENOMEM). */
char *metrics_render(struct metrics *m, const struct metrics_health *h, size_t *len);

/* Series held now (for status and tests). */
/*
 * metrics_forget - drop the series of cgroups that are gone (@ids sorted ascending, from
 * cgcache_take_removed): those with their session_id, and those keyed by agent_id alone
 * (duration, concurrency) unless a live session carries the same agent_id. Prometheus sees
 * them go stale, as it does for a removed container's series.
 */
void metrics_forget(struct metrics *m, const uint64_t *ids, size_t n);

/*
 * mcp_agent_concurrent_requests is set when it is read, from the requests in flight
 * (flow_foreach_pending): metrics_concurrent_reset() zeroes every agent's gauge, then
 * metrics_concurrent_add() adds @n requests in flight to @agent_id's.
 */
void metrics_concurrent_reset(struct metrics *m);
void metrics_concurrent_add(struct metrics *m, const char *agent_id, uint32_t n);
uint64_t metrics_series(const struct metrics *m);
/* Number of sessions (cgroups) the registry holds. */
uint64_t metrics_sessions(const struct metrics *m);

#endif
