// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * detect_flood.c - SAFE-T2102 "Service Disruption via External API Flooding": the seed's
 * Sigma selections (selection_volume, selection_rapid, selection_rate_limit,
 * selection_parallel, selection_cost), its Prometheus ExponentialRequestGrowth and
 * CostAnomaly rules and APICostTracker, and its "persistent retries despite 429" indicator.
 *
 * In:  resolved requests and responses (detect_int.h). Out: matches via det_match/det_emit.
 * Thresholds, windows and comparisons come from the cgroup's policy profile
 * (docs/policy.md has the exact definition of every rule):
 *   volume      requests per (cgroup, host) in window_s >= threshold
 *   rapid       requests per (cgroup, endpoint) in window_s, each < max_gap_ms after the
 *               previous one to the endpoint, >= threshold
 *   rate_limit  429 responses per (cgroup, host) in window_s >= threshold, checked when the
 *               cgroup sends the host another request ("keeps sending")
 *   retry_loop  one request (method, host, path, query) re-sent after a 429/5xx response
 *               more than threshold times, each re-send within window_s of the error;
 *               the detail says whether Retry-After (RFC 6585 4, RFC 9110 10.2.3) was
 *               honoured
 *   parallel    requests sent while more than `concurrency` requests of the cgroup to the
 *               host were in flight (sent, no response yet), >= threshold in window_s
 *   growth      request rate of the cgroup in window_s > ratio x its rate in the baseline_s
 *               before, with >= min_requests in window_s and the baseline observed in full
 *   cost        USD (policy prices) per cgroup in window_s > max_usd, or > baseline_ratio x
 *               the cgroup's average per window_s over baseline_s (and >= min_usd)
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "detect_int.h"
#include "hash.h"

#define NS 1000000000ULL

static uint64_t first_in(uint64_t win_first, uint64_t entry_first)
{
	return win_first > entry_first ? win_first : entry_first;
}

/* @ts - @s seconds, not below 0 */
static uint64_t back_s(uint64_t ts, uint32_t s)
{
	return ts > (uint64_t)s * NS ? ts - (uint64_t)s * NS : 0;
}

/* Note the first event added since the window was last empty: @n is the count including
 * the event at @ts. */
static void note_first(uint64_t *first, uint64_t n, uint64_t ts)
{
	if (n == 1 || !*first)
		*first = ts;
}

/* The first event a window counts: the later of the start of its oldest non-empty bucket
 * and the first event since it was last empty. */
static uint64_t win_first(uint64_t first, uint64_t ts, uint32_t epoch, const uint32_t *slots,
			  unsigned nslots, uint64_t w)
{
	return first_in(win32_first_ns(epoch, slots, nslots, w, ts), first);
}

/* ---- volume ---- */

static void volume(struct detect *d, const struct det_req *q)
{
	const struct rule_volume *c = &q->r->volume;
	struct det_host *h = q->hs;
	uint64_t w = win_width(c->b.window_s, VOL_NB), n;
	struct tg_alert *a;

	if (!c->b.enabled)
		return;
	win32_add(&h->vol_epoch, h->vol, VOL_NB + 1, w, q->ts, 1);
	n = win32_sum(h->vol_epoch, h->vol, VOL_NB + 1, w, q->ts);
	note_first(&h->vol_first, n, q->ts);
	if (n < c->threshold || !(a = det_match(d, q, RULE_VOLUME, q->host_h, n, (double)n)))
		return;
	a->threshold = c->threshold;
	a->first_ts_ns = win_first(h->vol_first, q->ts, h->vol_epoch, h->vol, VOL_NB + 1, w);
	snprintf(d->detail, sizeof(d->detail), "%llu requests to %s in %u s",
		 (unsigned long long)n, q->host, c->b.window_s);
	a->detail = d->detail;
	det_emit(d, q, a, SCOPE_HOST);
}

/* ---- rapid ---- */

static void rapid(struct detect *d, const struct det_req *q)
{
	const struct rule_rapid *c = &q->r->rapid;
	struct det_ep *e = q->ep;
	uint64_t w = win_width(c->b.window_s, RAPID_NB), n, prev = e->last_ns;
	struct tg_alert *a;

	if (q->ts > e->last_ns)
		e->last_ns = q->ts;
	if (!c->b.enabled || !prev)
		return;
	uint64_t gap = q->ts > prev ? q->ts - prev : 0;
	if (gap >= (uint64_t)c->max_gap_ms * 1000000ULL)
		return;
	win32_add(&e->rp_epoch, e->rp, RAPID_NB + 1, w, q->ts, 1);
	n = win32_sum(e->rp_epoch, e->rp, RAPID_NB + 1, w, q->ts);
	note_first(&e->rp_first, n, q->ts);
	if (n < c->threshold || !(a = det_match(d, q, RULE_RAPID, q->ep_h, n, (double)n)))
		return;
	a->threshold = c->threshold;
	a->first_ts_ns = win_first(e->rp_first, q->ts, e->rp_epoch, e->rp, RAPID_NB + 1, w);
	snprintf(d->detail, sizeof(d->detail),
		 "%llu requests to %s in %u s, each less than %u ms after the one before",
		 (unsigned long long)n, q->endpoint, c->b.window_s, c->max_gap_ms);
	a->detail = d->detail;
	det_emit(d, q, a, SCOPE_ENDPOINT);
}

/* ---- rate_limit ---- */

static void rate_limit_response(const struct det_req *q)
{
	const struct rule_rate_limit *c = &q->r->rate_limit;
	struct det_host *h = q->hs;

	uint64_t w = win_width(c->b.window_s, RL_NB);

	if (q->o->status != 429)
		return;
	win32_add(&h->rl_epoch, h->rl, RL_NB + 1, w, q->ts, 1);
	note_first(&h->rl_first, win32_sum(h->rl_epoch, h->rl, RL_NB + 1, w, q->ts), q->ts);
	if (q->ts > h->last429_ns)
		h->last429_ns = q->ts;
}

static void rate_limit_request(struct detect *d, const struct det_req *q)
{
	const struct rule_rate_limit *c = &q->r->rate_limit;
	struct det_host *h = q->hs;
	uint64_t w = win_width(c->b.window_s, RL_NB), n;
	struct tg_alert *a;

	/* only a request sent after a 429 within the window can match */
	if (!c->b.enabled || !h->last429_ns || q->ts < h->last429_ns ||
	    q->ts - h->last429_ns > (uint64_t)c->b.window_s * NS)
		return;
	n = win32_sum(h->rl_epoch, h->rl, RL_NB + 1, w, q->ts);
	if (n < c->threshold || !(a = det_match(d, q, RULE_RATE_LIMIT, q->host_h, n, (double)n)))
		return;
	a->threshold = c->threshold;
	a->first_ts_ns = win_first(h->rl_first, q->ts, h->rl_epoch, h->rl, RL_NB + 1, w);
	snprintf(d->detail, sizeof(d->detail),
		 "%llu responses 429 Too Many Requests from %s in %u s, and the cgroup keeps "
		 "sending",
		 (unsigned long long)n, q->host, c->b.window_s);
	a->detail = d->detail;
	det_emit(d, q, a, SCOPE_HOST);
}

/* ---- retry_loop ---- */

static int is_error(int status)
{
	return status == 429 || (status >= 500 && status <= 599);
}

/* The identity of a request: method, host, path, query (redacted). */
static uint64_t request_key(const struct det_req *q)
{
	const struct tg_obs *o = q->o;
	uint64_t h = tg_hash_seed(q->host, q->host_len, 0x7265747279ULL);

	h = tg_hash_seed(o->path, strlen(o->path), h);
	if (o->method)
		h = tg_hash_seed(o->method, strlen(o->method), h);
	if (o->query)
		h = tg_hash_seed(o->query, strlen(o->query), h ^ 0x3f);
	return h;
}

static void retry_response(struct detect *d, const struct det_req *q)
{
	const struct rule_retry_loop *c = &q->r->retry_loop;
	struct lru *t = &d->t[DT_RETRIES];
	struct det_retry *r;
	int status = q->o->status;

	if (!c->b.enabled || !status)
		return;
	if (!is_error(status)) {
		/* a success ends the chain */
		if (q->hs->err_ns && (r = lru_find(t, q->o->cgroup_id, request_key(q))))
			lru_del(t, r);
		return;
	}
	if (q->ts > q->hs->err_ns)
		q->hs->err_ns = q->ts;
	r = lru_get(t, q->o->cgroup_id, request_key(q), NULL);
	if (!r) {
		d->st.nomem++;
		return;
	}
	if (!r->first_ns)
		r->first_ns = q->ts;
	r->waiting = 1;
	r->err_ns = q->ts;
	r->last_status = (uint16_t)status;
	r->retry_after = q->o->retry_after_s;
}

static void retry_request(struct detect *d, const struct det_req *q)
{
	const struct rule_retry_loop *c = &q->r->retry_loop;
	uint64_t win = (uint64_t)c->b.window_s * NS;
	struct lru *t = &d->t[DT_RETRIES];
	struct det_retry *r;
	struct tg_alert *a;
	uint64_t key;
	char ra[128];

	/* no error response from this host ever: no chain to look up */
	if (!c->b.enabled || !q->hs->err_ns)
		return;
	key = request_key(q);
	r = lru_find(t, q->o->cgroup_id, key);
	if (!r)
		return;
	uint64_t gap = q->ts > r->err_ns ? q->ts - r->err_ns : 0;
	if (gap > win) {
		/* too late to be a retry: the chain is over (its first_ns, counts and waiting
		 * go too); the next error response starts a new one */
		lru_del(t, r);
		return;
	}
	if (!r->waiting)
		return;
	r->waiting = 0;
	r->retries++;
	if (r->retry_after >= 0) {
		r->ra_given++;
		if (gap >= (uint64_t)r->retry_after * NS)
			r->ra_honoured++;
	} else if (r->retry_after == -2) {
		r->ra_date++;
	}
	if (r->retries <= c->threshold ||
	    !(a = det_match(d, q, RULE_RETRY_LOOP, key, r->retries, r->retries)))
		return;
	a->threshold = c->threshold;
	a->first_ts_ns = r->first_ns;
	if (r->ra_given)
		snprintf(ra, sizeof(ra),
			 "Retry-After given on %u of them (last %lld s), honoured %u, ignored %u",
			 r->ra_given, (long long)(r->retry_after >= 0 ? r->retry_after : 0),
			 r->ra_honoured, r->ra_given - r->ra_honoured);
	else if (r->ra_date)
		snprintf(ra, sizeof(ra), "Retry-After given as an HTTP date (not checked)");
	else
		snprintf(ra, sizeof(ra), "no Retry-After in the error responses");
	snprintf(d->detail, sizeof(d->detail),
		 "%s %s re-sent %u times after 429/5xx responses (last %u); %s",
		 q->o->method ? q->o->method : "request", q->o->path, r->retries, r->last_status,
		 ra);
	a->detail = d->detail;
	det_emit(d, q, a, SCOPE_ENDPOINT);
}

/* ---- parallel ---- */

static void parallel_request(struct detect *d, const struct det_req *q)
{
	const struct rule_parallel *c = &q->r->parallel;
	struct det_host *h = q->hs;
	uint64_t wi = win_width(c->inflight_timeout_s, INF_NB);
	uint64_t w = win_width(c->b.window_s, PAR_NB), inflight, n;
	struct tg_alert *a;

	if (!c->b.enabled)
		return;
	win32_add(&h->inf_epoch, h->inf, INF_NB + 1, wi, q->ts, 1);
	inflight = win32_sum_range(h->inf_epoch, h->inf, INF_NB + 1, wi, q->ts, 0, INF_NB - 1);
	if (inflight <= c->concurrency)
		return;
	win32_add(&h->par_epoch, h->par, PAR_NB + 1, w, q->ts, 1);
	n = win32_sum(h->par_epoch, h->par, PAR_NB + 1, w, q->ts);
	note_first(&h->par_first, n, q->ts);
	if (n < c->threshold || !(a = det_match(d, q, RULE_PARALLEL, q->host_h, n, (double)n)))
		return;
	a->threshold = c->threshold;
	a->first_ts_ns = win_first(h->par_first, q->ts, h->par_epoch, h->par, PAR_NB + 1, w);
	snprintf(d->detail, sizeof(d->detail),
		 "%llu requests sent to %s in %u s while more than %u were in flight (now %llu)",
		 (unsigned long long)n, q->host, c->b.window_s, c->concurrency,
		 (unsigned long long)inflight);
	a->detail = d->detail;
	det_emit(d, q, a, SCOPE_HOST);
}

static void parallel_response(const struct det_req *q)
{
	const struct rule_parallel *c = &q->r->parallel;
	struct det_host *h = q->hs;
	uint64_t wi = win_width(c->inflight_timeout_s, INF_NB);
	uint64_t sent = q->ts;

	if (!c->b.enabled)
		return;
	if (q->o->latency_ms >= 0) {
		uint64_t lat = (uint64_t)(q->o->latency_ms * 1e6);
		sent = lat < q->ts ? q->ts - lat : 0;
	}
	win32_sub(&h->inf_epoch, h->inf, INF_NB + 1, wi, sent, 1);
}

/* ---- growth ---- */

static void growth(struct detect *d, const struct det_req *q)
{
	const struct rule_growth *c = &q->r->growth;
	struct det_cg *cg = q->cg;
	uint64_t span = (uint64_t)c->b.window_s + c->baseline_s;
	uint64_t w = span * NS / GROWTH_NB;
	unsigned nw = (unsigned)((c->b.window_s * NS + w / 2) / w), nb;
	uint64_t last, base;
	struct tg_alert *a;

	if (!c->b.enabled)
		return;
	win32_add(&cg->g_epoch, cg->g, GROWTH_NB + 1, w, q->ts, 1);
	if (nw < 1)
		nw = 1;
	if (nw > GROWTH_NB - 1)
		nw = GROWTH_NB - 1;
	nb = GROWTH_NB - nw;
	last = win32_sum_range(cg->g_epoch, cg->g, GROWTH_NB + 1, w, q->ts, 0, nw - 1);
	if (last < c->min_requests)
		return;
	/* the baseline must have been watched in full: no growth from "before we looked" */
	if ((q->ts / w - (nw + nb - 1)) * w < cg->first_ns)
		return;
	base = win32_sum_range(cg->g_epoch, cg->g, GROWTH_NB + 1, w, q->ts, nw, nw + nb - 1);
	double ratio = ((double)last / nw) / ((double)(base ? base : 1) / nb);
	if (ratio <= c->ratio || !(a = det_match(d, q, RULE_GROWTH, 0, last, ratio)))
		return;
	a->threshold = c->ratio;
	a->first_ts_ns = first_in(back_s(q->ts, c->b.window_s), cg->first_ns);
	snprintf(d->detail, sizeof(d->detail),
		 "%llu requests in the last %u s against %llu in the %u s before: the rate grew "
		 "%.1fx%s",
		 (unsigned long long)last, c->b.window_s, (unsigned long long)base, c->baseline_s,
		 ratio, base ? "" : " (baseline counted as 1 request)");
	a->detail = d->detail;
	det_emit(d, q, a, SCOPE_CGROUP);
}

/* ---- cost ---- */

static void cost(struct detect *d, const struct det_req *q)
{
	const struct rule_cost *c = &q->r->cost;
	struct det_cg *cg = q->cg;
	uint64_t w = win_width(c->b.window_s, COST_NB), wb = win_width(c->baseline_s, COSTB_NB);
	uint64_t micro, spend_u, reqs;
	double spend, base = -1, limit;
	struct tg_alert *a;
	unsigned used = 0;

	if (!c->b.enabled || q->ep->price <= 0)
		return;
	micro = (uint64_t)llround((double)q->ep->price * 1e6);
	win64_add(&cg->c_epoch, cg->c, COST_NB + 1, w, q->ts, micro);
	win32_add(&cg->cn_epoch, cg->cn, COST_NB + 1, w, q->ts, 1);
	win64_add(&cg->cb_epoch, cg->cb, COSTB_NB + 1, wb, q->ts, micro);
	spend_u = win64_sum(cg->c_epoch, cg->c, COST_NB + 1, w, q->ts);
	spend = (double)spend_u / 1e6;
	reqs = win32_sum(cg->cn_epoch, cg->cn, COST_NB + 1, w, q->ts);

	if (spend > c->max_usd) {
		limit = c->max_usd;
	} else if (spend < c->min_usd) {
		return; /* the ratio test cannot pass: skip the baseline sum */
	} else {
		/* baseline: baseline buckets wholly before this window and after the cgroup was
		 * first seen, averaged per window_s */
		unsigned k0 = (unsigned)((c->b.window_s * NS + wb - 1) / wb) + 1;
		uint64_t sum = 0, now_b = q->ts / wb;
		for (unsigned k = k0; k <= COSTB_NB; k++) {
			if ((now_b - k) * wb < cg->first_ns)
				break;
			sum += win64_sum_range(cg->cb_epoch, cg->cb, COSTB_NB + 1, wb, q->ts, k, k);
			used++;
		}
		if (!used)
			return;
		base = (double)sum / 1e6 * (double)c->b.window_s / ((double)used * (double)wb / 1e9);
		limit = c->baseline_ratio * base;
		if (base <= 0 || spend < c->min_usd || spend <= limit)
			return;
	}
	if (!(a = det_match(d, q, RULE_COST, 0, reqs, spend)))
		return;
	a->threshold = limit;
	a->first_ts_ns = first_in(back_s(q->ts, c->b.window_s), cg->first_ns);
	if (base < 0)
		snprintf(d->detail, sizeof(d->detail),
			 "%.2f USD in %u s over %llu priced requests (last to %s at %.4f USD), more "
			 "than max_usd %.2f",
			 spend, c->b.window_s, (unsigned long long)reqs, q->endpoint,
			 (double)q->ep->price, c->max_usd);
	else
		snprintf(d->detail, sizeof(d->detail),
			 "%.2f USD in %u s over %llu priced requests: %.1fx the cgroup's baseline of "
			 "%.2f USD per %u s (%u min of history)",
			 spend, c->b.window_s, (unsigned long long)reqs, spend / base, base,
			 c->b.window_s, (unsigned)(used * wb / NS / 60));
	a->detail = d->detail;
	det_emit(d, q, a, SCOPE_CGROUP);
}

/* ---- entry points ---- */

void flood_request(struct detect *d, const struct det_req *q)
{
	volume(d, q);
	rapid(d, q);
	rate_limit_request(d, q);
	retry_request(d, q);
	parallel_request(d, q);
	growth(d, q);
	cost(d, q);
}

void flood_response(struct detect *d, const struct det_req *q)
{
	if (!q->hs)
		return;
	rate_limit_response(q);
	retry_response(d, q);
	parallel_response(q);
}
