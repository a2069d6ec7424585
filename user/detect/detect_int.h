/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * detect_int.h - what the detector engine (detect.c) shares with its rule files
 * (detect_flood.c: SAFE-T2102, detect_harvest.c: SAFE-T1804). Not a public interface.
 *
 * detect.c resolves each observation into a struct det_req: the cgroup's state and
 * profile, the (cgroup, host) and (cgroup, endpoint) state, the path template and the
 * hashes. The rule files update their windows in those entries (or in their own tables)
 * and report a match with det_match()/det_emit(), which apply the cool-down.
 */
#ifndef TG_DETECT_INT_H
#define TG_DETECT_INT_H

#include "detect.h"
#include "lru.h"
#include "template.h"
#include "window.h"

/* buckets per window (window.h: nb; slots nb + 1) */
#define VOL_NB 10      /* volume: requests per (cgroup, host) */
#define RL_NB 10       /* rate_limit: 429s per (cgroup, host) */
#define RAPID_NB 6     /* rapid: rapid requests per (cgroup, endpoint) */
#define PAR_NB 6       /* parallel: requests above the concurrency per (cgroup, host) */
#define INF_NB 3       /* parallel: requests in flight, by request time */
#define GROWTH_NB 20   /* growth: requests per cgroup over window_s + baseline_s */
#define COST_NB 12     /* cost: micro-USD per cgroup over window_s */
#define COSTB_NB 24    /* cost: micro-USD per cgroup over baseline_s */
#define DV_NB 10       /* data_volume: response bytes per cgroup over window_s */
#define DVB_NB 12      /* data_volume: over baseline_s */
#define DROP_FINE_S 3600   /* drops: 1 s buckets for the last hour ... */
#define DROP_COARSE_NB 1440 /* ... and 1 min buckets for the last day */

#define HOST_MAX 264
#define SAMPLE_LEN 104 /* request target in a sample, NUL included */
#define NSAMPLES 8     /* recent request targets kept per cgroup */

_Static_assert(!(ENUM_IDS_MAX & (ENUM_IDS_MAX - 1)) && !(PAGE_VALUES_MAX & (PAGE_VALUES_MAX - 1)) &&
		       !(CROSS_TPL_MAX & (CROSS_TPL_MAX - 1)) &&
		       !(OBS_TARGETS_MAX & (OBS_TARGETS_MAX - 1)) && ENUM_IDS_MAX <= 128,
	       "dset capacities are powers of two <= 128");

struct det_sample {
	uint32_t host_h, ep_h; /* low 32 bits of the hashes, to pick samples per key */
	char target[SAMPLE_LEN];
};

struct det_cg {
	struct lru_hdr h;          /* k1: cgroup id */
	uint64_t first_ns;         /* first observation of this entry */
	uint16_t profile;
	uint8_t have_path;         /* the profile was chosen from a known cgroup path */
	uint8_t s_next;            /* next sample slot */
	uint32_t g_epoch, c_epoch, cn_epoch, cb_epoch, v_epoch, vb_epoch;
	uint32_t g[GROWTH_NB + 1];
	uint32_t cn[COST_NB + 1];
	uint64_t c[COST_NB + 1];
	uint64_t cb[COSTB_NB + 1];
	uint64_t v[DV_NB + 1];
	uint64_t vb[DVB_NB + 1];
	struct dset obs;
	struct dset_ent obs_e[OBS_TARGETS_MAX];
	struct det_sample samples[NSAMPLES];
};

struct det_host {
	struct lru_hdr h;          /* k1: cgroup id, k2: host hash */
	uint64_t first_ns;
	uint64_t last429_ns;       /* latest 429 response */
	uint64_t err_ns;           /* latest 429/5xx response (retry_loop look-ups) */
	uint64_t vol_first, rl_first, par_first; /* first event since the window was empty */
	uint16_t profile;
	uint8_t allowed;
	uint32_t vol_epoch, rl_epoch, inf_epoch, par_epoch;
	uint32_t vol[VOL_NB + 1];
	uint32_t rl[RL_NB + 1];
	uint32_t inf[INF_NB + 1];
	uint32_t par[PAR_NB + 1];
	struct dset cross;
	struct dset_ent cross_e[CROSS_TPL_MAX];
};

struct det_ep {
	struct lru_hdr h;          /* k1: cgroup id, k2: endpoint hash */
	uint64_t last_ns;          /* latest request */
	uint64_t rp_first;         /* first rapid request since the window was empty */
	float price;               /* USD per request (policy prices) */
	uint16_t profile;
	uint8_t allowed, is_obs;
	uint32_t rp_epoch;
	uint32_t rp[RAPID_NB + 1];
};

struct det_enum {
	struct lru_hdr h;          /* k1: cgroup id, k2: endpoint hash */
	struct dset s;
	struct dset_ent e[ENUM_IDS_MAX];
};

struct det_page {
	struct lru_hdr h;          /* k1: cgroup id, k2: endpoint hash */
	struct dset s;
	struct dset_ent e[PAGE_VALUES_MAX];
};

struct det_retry {
	struct lru_hdr h;          /* k1: cgroup id, k2: hash of method, host, path, query */
	uint64_t first_ns;         /* first error response of the chain */
	uint64_t err_ns;           /* latest error response */
	int64_t retry_after;       /* of the latest error: seconds, -1 none, -2 an HTTP date */
	uint32_t retries;          /* re-sends after an error in this chain */
	uint32_t ra_given, ra_honoured, ra_date;
	uint16_t last_status;
	uint8_t waiting;           /* an error came; the next request is a re-send */
};

struct det_cool {
	struct lru_hdr h;          /* k1: cgroup id, k2: hash of (rule, key) */
	uint64_t until_ns;         /* the cool-down ends */
	uint64_t alert_ns;         /* the alert (or summary) that started it */
	uint64_t first_ns, last_ns;/* suppressed matches */
	uint64_t suppressed;
	uint64_t count;            /* of the latest match */
	double value, threshold;
	uint32_t window_s, pid;
	uint16_t host_len;         /* where is[] ends the host */
	uint8_t rule, severity, has_host, has_endpoint, has_cgroup;
	char comm[17];
	char cgroup[160];          /* cut to fit */
	char is[384];              /* the endpoint (host + template), or the host; cut to fit */
};

/* One observation, resolved. */
struct det_req {
	const struct tg_obs *o;
	uint64_t ts;
	uint64_t ms;               /* engine millisecond clock (dset stamps: its low 32 bits) */
	const struct profile *pr;
	const struct tg_rules *r;
	struct det_cg *cg;
	struct det_host *hs;       /* NULL: host unknown */
	struct det_ep *ep;         /* NULL: path unknown */
	const char *host;
	size_t host_len;
	const char *tpl;           /* path template */
	const char *endpoint;      /* host + template */
	const struct tpl_info *ti; /* the observation's (never NULL: zeros without a path) */
	uint64_t host_h, ep_h, tpl_h;
};

struct detect {
	const struct policy *p;
	detect_alert_fn fn;
	void *ctx;
	detect_profile_fn profile_fn; /* a container's named profile (OCI hook), or NULL */
	void *profile_ctx;
	struct lru t[DT_MAX];
	uint64_t base_ns;          /* origin of the millisecond clock */
	uint64_t now_ns;           /* latest time seen */
	uint32_t df_epoch, dc_epoch;
	uint64_t drop_fine[DROP_FINE_S + 1];
	uint64_t drop_coarse[DROP_COARSE_NB + 1];
	struct detect_stats st;
	struct tg_alert alert;     /* being built (det_match -> det_emit) */
	int b_rule;                /* its rule and cool-down key */
	uint64_t b_k2;
	char host[HOST_MAX];
	char endpoint[HOST_MAX + TPL_MAX];
	char detail[320];
	char samples[ALERT_MAX_SAMPLES][SAMPLE_LEN];
};

enum det_scope {
	SCOPE_CGROUP = 0,          /* host and endpoint null; samples of the cgroup */
	SCOPE_HOST,                /* host set; samples to that host */
	SCOPE_ENDPOINT,            /* host and endpoint set; samples to that endpoint */
};

/*
 * det_match - rule @rule matched @q with @count / @value (alert.h).
 * @key: the rule's key within the cgroup (0, a host hash, an endpoint hash, ...).
 * Returns the alert to complete (threshold, first_ts_ns, detail) and hand to det_emit(),
 * or NULL when the (rule, cgroup, key) cool-down holds it: then the match is counted for
 * the summary and the caller builds nothing.
 */
struct tg_alert *det_match(struct detect *d, const struct det_req *q, int rule, uint64_t key,
			   uint64_t count, double value);
/* Fill host/endpoint/samples per @scope, start the cool-down and call the callback. */
void det_emit(struct detect *d, const struct det_req *q, struct tg_alert *a, int scope);

/* ns timestamp of a dset entry's millisecond stamp, relative to @q's time. */
static inline uint64_t det_ms_to_ns(const struct det_req *q, uint32_t ms)
{
	uint32_t now = (uint32_t)q->ms;

	if ((int32_t)(now - ms) <= 0) /* stamped at or after now (events out of order) */
		return q->ts;
	uint64_t back = (uint64_t)(uint32_t)(now - ms) * 1000000ULL;
	return back < q->ts ? q->ts - back : 0;
}

/* the rules */
void flood_request(struct detect *d, const struct det_req *q);
void flood_response(struct detect *d, const struct det_req *q);
void harvest_request(struct detect *d, const struct det_req *q);
void harvest_response(struct detect *d, const struct det_req *q);

#endif
