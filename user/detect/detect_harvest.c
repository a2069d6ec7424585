// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * detect_harvest.c - SAFE-T1804 "API Data Harvest": the seed's Sigma selections
 * (selection_enumeration_pattern, selection_pagination_exploitation,
 * selection_cross_endpoint, selection_observability_apis) and its "unusual data volume"
 * indicator.
 *
 * In:  resolved requests and responses (detect_int.h). Out: matches via det_match/det_emit.
 * Thresholds and windows from the cgroup's policy profile (docs/policy.md):
 *   enumeration        distinct numeric ids in one path template ((cgroup, endpoint)) in
 *                      window_s >= threshold, and the ids mostly increasing (share of ids
 *                      larger than the one before >= min_increasing) or dense (distinct /
 *                      (max - min + 1) >= min_density). Rate plays no part: a walk paced at
 *                      one request a minute still fires ("rate limit evasion").
 *   pagination         distinct values of the paging parameters (page=, offset=, cursor=,
 *                      after=, start=) on one endpoint in window_s > threshold: a client
 *                      re-reading page 1 walks nothing
 *   cross_endpoint     distinct path templates on one (cgroup, host) in window_s >
 *                      threshold, among them a collection and, first seen after it, a
 *                      template of its {id} children (list -> detail)
 *   observability_api  distinct requests (path + query without time-range parameters) to
 *                      the observability/data API paths per cgroup in window_s > threshold:
 *                      a dashboard re-running its 8 panel queries counts 8
 *   data_volume        response bytes per cgroup in window_s > max_bytes, or >
 *                      baseline_ratio x the cgroup's bytes per window_s over baseline_s (when
 *                      that baseline is >= min_baseline_bytes)
 */
#include <stdio.h>
#include <string.h>

#include "detect_int.h"
#include "hash.h"

#define NS 1000000000ULL

/* ---- query parameters ---- */

struct qparam {
	const char *name, *all; /* "name=value" starts at all */
	size_t nlen, alen;
};

/* Next parameter of query @*q (advances it). Returns 0 at the end. */
static int next_param(const char **q, struct qparam *p)
{
	const char *s = *q, *e, *eq;

	while (*s == '&')
		s++;
	if (!*s)
		return 0;
	e = strchr(s, '&');
	if (!e)
		e = s + strlen(s);
	eq = memchr(s, '=', (size_t)(e - s));
	p->name = p->all = s;
	p->nlen = (size_t)((eq ? eq : e) - s);
	p->alen = (size_t)(e - s);
	*q = e;
	return 1;
}

/* ---- enumeration ---- */

static void enumeration(struct detect *d, const struct det_req *q)
{
	const struct rule_enumeration *c = &q->r->enumeration;
	struct det_enum *e;
	struct tg_alert *a;
	uint64_t lo = UINT64_MAX, hi = 0, prev = 0;
	unsigned n, inc = 0;

	if (!c->b.enabled || !q->ti->has_num)
		return;
	e = lru_get(&d->t[DT_ENUMERATIONS], q->o->cgroup_id, q->ep_h, NULL);
	if (!e) {
		d->st.nomem++;
		return;
	}
	if (!dset_add(&e->s, e->e, ENUM_IDS_MAX, q->ti->num, q->ms, c->b.window_s * 1000u))
		return; /* an id seen again adds no evidence */
	n = e->s.n;
	if (n < c->threshold)
		return;
	for (unsigned i = 0; i < n; i++) {
		uint64_t id = dset_at(&e->s, e->e, ENUM_IDS_MAX, i)->key;
		if (id < lo)
			lo = id;
		if (id > hi)
			hi = id;
		if (i && id > prev)
			inc++;
		prev = id;
	}
	double increasing = (double)inc / (n - 1);
	double density = (double)n / ((double)(hi - lo) + 1);
	if (increasing < c->min_increasing && density < c->min_density)
		return;
	if (!(a = det_match(d, q, RULE_ENUMERATION, q->ep_h, n, n)))
		return;
	a->threshold = c->threshold;
	a->first_ts_ns = det_ms_to_ns(q, dset_at(&e->s, e->e, ENUM_IDS_MAX, 0)->ms);
	snprintf(d->detail, sizeof(d->detail),
		 "%u distinct ids (%llu..%llu) in %s within %u s: %.0f%% increasing, density %.2f",
		 n, (unsigned long long)lo, (unsigned long long)hi, q->endpoint, c->b.window_s,
		 increasing * 100, density);
	a->detail = d->detail;
	det_emit(d, q, a, SCOPE_ENDPOINT);
}

/* ---- pagination ---- */

static void pagination(struct detect *d, const struct det_req *q)
{
	const struct rule_pagination *c = &q->r->pagination;
	const char *s = q->o->query;
	struct qparam p;
	uint64_t h = 0x70616765ULL;
	char names[64] = "";
	size_t nl = 0;
	int found = 0;
	struct det_page *e;
	struct tg_alert *a;

	if (!c->b.enabled || !s || !c->params.n)
		return;
	while (next_param(&s, &p)) {
		if (!strlist_has(&c->params, p.name, p.nlen))
			continue;
		h = tg_hash_seed(p.all, p.alen, h);
		if (nl + p.nlen + 3 < sizeof(names))
			nl += (size_t)snprintf(names + nl, sizeof(names) - nl, "%s%.*s=", found ? ", " : "",
					       (int)p.nlen, p.name);
		found++;
	}
	if (!found)
		return;
	e = lru_get(&d->t[DT_PAGINATIONS], q->o->cgroup_id, q->ep_h, NULL);
	if (!e) {
		d->st.nomem++;
		return;
	}
	if (!dset_add(&e->s, e->e, PAGE_VALUES_MAX, h, q->ms, c->b.window_s * 1000u))
		return;
	unsigned n = e->s.n;
	if (n <= c->threshold || !(a = det_match(d, q, RULE_PAGINATION, q->ep_h, n, n)))
		return;
	a->threshold = c->threshold;
	a->first_ts_ns = det_ms_to_ns(q, dset_at(&e->s, e->e, PAGE_VALUES_MAX, 0)->ms);
	snprintf(d->detail, sizeof(d->detail), "%u distinct values of %s on %s within %u s", n,
		 names, q->endpoint, c->b.window_s);
	a->detail = d->detail;
	det_emit(d, q, a, SCOPE_ENDPOINT);
}

/* ---- cross_endpoint ---- */

static void cross_endpoint(struct detect *d, const struct det_req *q)
{
	const struct rule_cross_endpoint *c = &q->r->cross_endpoint;
	struct det_host *h = q->hs;
	struct dset_ent *x;
	struct tg_alert *a;
	int related = 0;

	if (!c->b.enabled)
		return;
	x = dset_add(&h->cross, h->cross_e, CROSS_TPL_MAX, q->tpl_h, q->ms, c->b.window_s * 1000u);
	if (!x)
		return;
	if (q->ti->nids) /* its collection: the template up to its last {id} */
		x->aux = (uint32_t)(q->ti->parent_len ? tg_hash(q->tpl, q->ti->parent_len)
						     : tg_hash("/", 1));
	unsigned n = h->cross.n;
	if (n <= c->threshold)
		return;
	for (unsigned i = 0; i < n && !related; i++) {
		struct dset_ent *child = dset_at(&h->cross, h->cross_e, CROSS_TPL_MAX, i);
		if (!child->aux)
			continue;
		for (unsigned j = 0; j < n; j++) {
			struct dset_ent *list = dset_at(&h->cross, h->cross_e, CROSS_TPL_MAX, j);
			if ((uint32_t)list->key == child->aux &&
			    (int32_t)(child->ms - list->ms) >= 0) {
				related = 1;
				break;
			}
		}
	}
	if (!related || !(a = det_match(d, q, RULE_CROSS_ENDPOINT, q->host_h, n, n)))
		return;
	a->threshold = c->threshold;
	a->first_ts_ns = det_ms_to_ns(q, dset_at(&h->cross, h->cross_e, CROSS_TPL_MAX, 0)->ms);
	snprintf(d->detail, sizeof(d->detail),
		 "%u distinct path templates on %s within %u s, among them a collection followed "
		 "by its {id} children (list -> detail)",
		 n, q->host, c->b.window_s);
	a->detail = d->detail;
	det_emit(d, q, a, SCOPE_HOST);
}

/* ---- observability_api ---- */

static void observability_api(struct detect *d, const struct det_req *q)
{
	const struct rule_observability_api *c = &q->r->observability_api;
	struct det_cg *cg = q->cg;
	const char *s = q->o->query;
	struct qparam p;
	struct tg_alert *a;
	uint64_t h;

	if (!c->b.enabled || !q->ep->is_obs)
		return;
	h = tg_hash_seed(q->host, q->host_len, 0x6f6273ULL);
	h = tg_hash_seed(q->o->path, strlen(q->o->path), h);
	while (s && next_param(&s, &p))
		if (!strlist_has(&c->ignore_params, p.name, p.nlen))
			h = tg_hash_seed(p.all, p.alen, h);
	if (!dset_add(&cg->obs, cg->obs_e, OBS_TARGETS_MAX, h, q->ms, c->b.window_s * 1000u))
		return;
	unsigned n = cg->obs.n;
	if (n <= c->threshold || !(a = det_match(d, q, RULE_OBSERVABILITY_API, 0, n, n)))
		return;
	a->threshold = c->threshold;
	a->first_ts_ns = det_ms_to_ns(q, dset_at(&cg->obs, cg->obs_e, OBS_TARGETS_MAX, 0)->ms);
	snprintf(d->detail, sizeof(d->detail),
		 "%u distinct requests to observability and data API paths within %u s (last %s; "
		 "time-range parameters ignored)",
		 n, c->b.window_s, q->endpoint);
	a->detail = d->detail;
	det_emit(d, q, a, SCOPE_CGROUP);
}

/* ---- data_volume ---- */

static void data_volume(struct detect *d, const struct det_req *q)
{
	const struct rule_data_volume *c = &q->r->data_volume;
	struct det_cg *cg = q->cg;
	uint64_t w = win_width(c->b.window_s, DV_NB), wb = win_width(c->baseline_s, DVB_NB);
	uint64_t bytes = q->o->bytes, cur;
	double base = -1, limit;
	struct tg_alert *a;
	unsigned used = 0;

	if (!c->b.enabled || !bytes)
		return;
	win64_add(&cg->v_epoch, cg->v, DV_NB + 1, w, q->ts, bytes);
	win64_add(&cg->vb_epoch, cg->vb, DVB_NB + 1, wb, q->ts, bytes);
	cur = win64_sum(cg->v_epoch, cg->v, DV_NB + 1, w, q->ts);
	if (cur > c->max_bytes) {
		limit = (double)c->max_bytes;
	} else if ((double)cur <= c->baseline_ratio * (double)c->min_baseline_bytes) {
		return; /* the ratio test cannot pass: skip the baseline sum */
	} else {
		unsigned k0 = (unsigned)((c->b.window_s * NS + wb - 1) / wb) + 1;
		uint64_t sum = 0, now_b = q->ts / wb;
		for (unsigned k = k0; k <= DVB_NB; k++) {
			if ((now_b - k) * wb < cg->first_ns)
				break;
			sum += win64_sum_range(cg->vb_epoch, cg->vb, DVB_NB + 1, wb, q->ts, k, k);
			used++;
		}
		if (!used)
			return;
		base = (double)sum * (double)c->b.window_s / ((double)used * (double)wb / 1e9);
		limit = c->baseline_ratio * base;
		if (base < (double)c->min_baseline_bytes || (double)cur <= limit)
			return;
	}
	if (!(a = det_match(d, q, RULE_DATA_VOLUME, 0, cur, (double)cur)))
		return;
	a->threshold = limit;
	uint64_t from = q->ts > (uint64_t)c->b.window_s * NS ? q->ts - (uint64_t)c->b.window_s * NS : 0;
	a->first_ts_ns = from > cg->first_ns ? from : cg->first_ns;
	if (base < 0)
		snprintf(d->detail, sizeof(d->detail),
			 "%llu response bytes in %u s, more than max_bytes %llu",
			 (unsigned long long)cur, c->b.window_s, (unsigned long long)c->max_bytes);
	else
		snprintf(d->detail, sizeof(d->detail),
			 "%llu response bytes in %u s: %.1fx the cgroup's baseline of %.0f bytes per "
			 "%u s",
			 (unsigned long long)cur, c->b.window_s, (double)cur / base, base,
			 c->b.window_s);
	a->detail = d->detail;
	det_emit(d, q, a, SCOPE_CGROUP);
}

/* ---- entry points ---- */

void harvest_request(struct detect *d, const struct det_req *q)
{
	enumeration(d, q);
	pagination(d, q);
	cross_endpoint(d, q);
	observability_api(d, q);
}

void harvest_response(struct detect *d, const struct det_req *q)
{
	data_volume(d, q);
}
