// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * detect.c - the detector engine: resolve each observation (cgroup, profile, host,
 * endpoint template, hashes, allow-lists, prices), hand it to the SAFE-T2102 and SAFE-T1804
 * rules, and turn their matches into alerts under the cool-down. See detect.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "detect_int.h"
#include "hash.h"
#include "util.h"

static const char *const table_names[DT_MAX] = {
	[DT_CGROUPS] = "cgroups",         [DT_HOSTS] = "hosts",
	[DT_ENDPOINTS] = "endpoints",     [DT_ENUMERATIONS] = "enumerations",
	[DT_PAGINATIONS] = "paginations", [DT_RETRIES] = "retries",
	[DT_COOLDOWNS] = "cooldowns",
};

static const size_t table_esize[DT_MAX] = {
	[DT_CGROUPS] = sizeof(struct det_cg),
	[DT_HOSTS] = sizeof(struct det_host),
	[DT_ENDPOINTS] = sizeof(struct det_ep),
	[DT_ENUMERATIONS] = sizeof(struct det_enum),
	[DT_PAGINATIONS] = sizeof(struct det_page),
	[DT_RETRIES] = sizeof(struct det_retry),
	[DT_COOLDOWNS] = sizeof(struct det_cool),
};

const char *detect_table_name(int t)
{
	return t >= 0 && t < DT_MAX ? table_names[t] : "?";
}

size_t detect_entry_bytes(int t)
{
	/* lru.c rounds entries to 8 bytes and keeps 2 index slots of 4 bytes per entry */
	return ((table_esize[t] + 7) & ~(size_t)7) + 8;
}

struct detect *detect_new(const struct policy *p, detect_alert_fn fn, void *ctx)
{
	const struct tg_limits *l = &p->limits;
	const uint32_t caps[DT_MAX] = {
		[DT_CGROUPS] = l->cgroups,           [DT_HOSTS] = l->hosts,
		[DT_ENDPOINTS] = l->endpoints,       [DT_ENUMERATIONS] = l->enumerations,
		[DT_PAGINATIONS] = l->paginations,   [DT_RETRIES] = l->retries,
		[DT_COOLDOWNS] = l->cooldowns,
	};
	struct detect *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->p = p;
	d->fn = fn;
	d->ctx = ctx;
	for (int i = 0; i < DT_MAX; i++) {
		int err = lru_init(&d->t[i], caps[i], table_esize[i]);
		if (err) {
			detect_free(d);
			errno = -err;
			return NULL;
		}
	}
	return d;
}

void detect_free(struct detect *d)
{
	if (!d)
		return;
	for (int i = 0; i < DT_MAX; i++)
		lru_free(&d->t[i]);
	free(d);
}

void detect_forget(struct detect *d, const uint64_t *ids, size_t n)
{
	if (!n)
		return;
	for (int t = 0; t < DT_MAX; t++) {
		if (t == DT_COOLDOWNS)
			continue;
		struct lru_hdr *e = lru_first(&d->t[t]), *next;
		for (; e; e = next) {
			next = lru_next(&d->t[t], e);
			if (u64_in(ids, n, e->k1))
				lru_del(&d->t[t], e);
		}
	}
}

uint64_t detect_evictions(const struct detect_stats *st)
{
	uint64_t n = 0;

	for (int t = 0; t < DT_MAX; t++)
		n += st->evictions[t];
	return n;
}

const struct detect_stats *detect_stats(struct detect *d)
{
	for (int i = 0; i < DT_MAX; i++) {
		d->st.evictions[i] = d->t[i].evictions;
		d->st.entries[i] = d->t[i].count;
	}
	return &d->st;
}

size_t detect_mem(const struct detect *d, size_t *max)
{
	size_t now = sizeof(*d), all = sizeof(*d);

	for (int i = 0; i < DT_MAX; i++) {
		now += lru_mem(&d->t[i]);
		all += lru_mem_max(&d->t[i]);
	}
	if (max)
		*max = all;
	return now;
}

/* ---- drops ---- */

static void note_drops(struct detect *d, const struct tg_obs *o)
{
	d->st.drops += o->count;
	win64_add(&d->df_epoch, d->drop_fine, DROP_FINE_S + 1, 1000000000ULL, o->ts_ns, o->count);
	win64_add(&d->dc_epoch, d->drop_coarse, DROP_COARSE_NB + 1, 60000000000ULL, o->ts_ns,
		  o->count);
}

/* Drops reported within @window_s before @now_ns (to the bucket). */
static uint64_t drops_in(struct detect *d, uint32_t window_s, uint64_t now_ns)
{
	if (!d->st.drops)
		return 0;
	if (window_s <= DROP_FINE_S)
		return win64_sum_range(d->df_epoch, d->drop_fine, DROP_FINE_S + 1, 1000000000ULL,
				       now_ns, 0, window_s);
	return win64_sum_range(d->dc_epoch, d->drop_coarse, DROP_COARSE_NB + 1, 60000000000ULL,
			       now_ns, 0, (window_s + 59) / 60);
}

/* ---- alerts and cool-downs ---- */

static void copy_str(char *dst, size_t len, const char *s)
{
	snprintf(dst, len, "%s", s ? s : "");
}

static void emit_summary(struct detect *d, struct det_cool *c, uint64_t now_ns)
{
	struct tg_alert a;
	char detail[200], host[sizeof(c->is)];

	memset(&a, 0, sizeof(a));
	a.ts_ns = now_ns > c->last_ns ? now_ns : c->last_ns;
	a.technique = rule_technique(c->rule);
	a.rule = rule_name(c->rule);
	a.severity = c->severity;
	a.cgroup_id = c->h.k1;
	a.cgroup = c->has_cgroup ? c->cgroup : NULL;
	a.pid = c->pid;
	memcpy(a.comm, c->comm, sizeof(a.comm));
	snprintf(host, sizeof(host), "%.*s", (int)c->host_len, c->is);
	a.host = c->has_host ? host : NULL;
	a.endpoint = c->has_endpoint ? c->is : NULL;
	a.count = c->count;
	a.value = c->value;
	a.window_s = c->window_s;
	a.threshold = c->threshold;
	a.first_ts_ns = c->first_ns;
	a.last_ts_ns = c->last_ns;
	a.drops = drops_in(d, c->window_s, c->last_ns);
	a.suppressed = c->suppressed;
	snprintf(detail, sizeof(detail),
		 "summary: the rule matched %llu more times during the %u s cool-down; count and "
		 "value are the latest match's",
		 (unsigned long long)c->suppressed, d->p->cooldown_s);
	a.detail = detail;
	d->st.alerts++;
	d->st.summaries++;
	d->fn(d->ctx, &a);
	c->alert_ns = a.ts_ns;
	c->suppressed = 0;
	c->first_ns = c->last_ns = 0;
}

struct tg_alert *det_match(struct detect *d, const struct det_req *q, int rule, uint64_t key,
			   uint64_t count, double value)
{
	struct lru *t = &d->t[DT_COOLDOWNS];
	uint64_t k2 = key ^ ((uint64_t)(rule + 1) * 0x9E3779B97F4A7C15ULL);
	const struct rule_base *b = rules_base(q->r, rule);
	struct det_cool *c = lru_find(t, q->o->cgroup_id, k2);
	struct tg_alert *a = &d->alert;

	if (c && q->ts < c->until_ns) {
		if (!c->suppressed)
			c->first_ns = q->ts;
		c->suppressed++;
		if (q->ts > c->last_ns)
			c->last_ns = q->ts;
		c->count = count;
		c->value = value;
		d->st.suppressed++;
		return NULL;
	}
	if (c && c->suppressed) /* its cool-down ended before a tick said so */
		emit_summary(d, c, c->until_ns);
	memset(a, 0, sizeof(*a));
	a->ts_ns = q->ts;
	a->technique = rule_technique(rule);
	a->rule = rule_name(rule);
	a->severity = b->severity;
	a->cgroup_id = q->o->cgroup_id;
	a->cgroup = q->o->cgroup;
	a->pid = q->o->pid;
	memcpy(a->comm, q->o->comm, sizeof(a->comm));
	a->count = count;
	a->value = value;
	a->window_s = b->window_s;
	a->last_ts_ns = q->ts;
	a->first_ts_ns = q->ts;
	a->drops = drops_in(d, b->window_s, q->ts);
	d->b_rule = rule;
	d->b_k2 = k2;
	return a;
}

static void pick_samples(struct detect *d, const struct det_req *q, struct tg_alert *a,
			 int scope)
{
	uint32_t hh = (uint32_t)q->host_h, eh = (uint32_t)q->ep_h;
	const struct det_cg *cg = q->cg;
	int n = 0;

	/* newest first into a small stack, then oldest first into the alert */
	const char *pick[ALERT_MAX_SAMPLES];
	for (int i = 1; i <= NSAMPLES && n < ALERT_MAX_SAMPLES; i++) {
		const struct det_sample *s = &cg->samples[(cg->s_next + NSAMPLES - i) % NSAMPLES];
		if (!s->target[0])
			continue;
		if (scope == SCOPE_HOST && s->host_h != hh)
			continue;
		if (scope == SCOPE_ENDPOINT && s->ep_h != eh)
			continue;
		pick[n++] = s->target;
	}
	for (int i = 0; i < n; i++) {
		memcpy(d->samples[i], pick[n - 1 - i], SAMPLE_LEN);
		a->samples[i] = d->samples[i];
	}
	a->nsamples = n;
}

void det_emit(struct detect *d, const struct det_req *q, struct tg_alert *a, int scope)
{
	struct lru *t = &d->t[DT_COOLDOWNS];
	struct det_cool *c;

	if (scope >= SCOPE_HOST)
		a->host = q->host;
	if (scope == SCOPE_ENDPOINT)
		a->endpoint = q->endpoint;
	pick_samples(d, q, a, scope);
	d->st.alerts++;
	d->fn(d->ctx, a);

	if (!d->p->cooldown_s)
		return;
	c = lru_find(t, a->cgroup_id, d->b_k2);
	if (!c) {
		/* a full table evicts its least recently used entry: summarize it first */
		struct det_cool *old = t->count >= t->cap ? lru_first(t) : NULL;
		if (old && old->suppressed)
			emit_summary(d, old, q->ts);
		c = lru_get(t, a->cgroup_id, d->b_k2, NULL);
		if (!c) {
			d->st.nomem++;
			return;
		}
	}
	c->until_ns = a->ts_ns + (uint64_t)d->p->cooldown_s * 1000000000ULL;
	c->alert_ns = a->ts_ns;
	c->suppressed = 0;
	c->first_ns = c->last_ns = 0;
	c->count = a->count;
	c->value = a->value;
	c->threshold = a->threshold;
	c->window_s = a->window_s;
	c->pid = a->pid;
	c->rule = (uint8_t)d->b_rule;
	c->severity = (uint8_t)a->severity;
	memcpy(c->comm, a->comm, sizeof(c->comm));
	c->has_cgroup = a->cgroup != NULL;
	copy_str(c->cgroup, sizeof(c->cgroup), a->cgroup);
	c->has_host = a->host != NULL;
	c->has_endpoint = a->endpoint != NULL;
	copy_str(c->is, sizeof(c->is), a->endpoint ? a->endpoint : a->host);
	c->host_len = (uint16_t)(a->host ? strnlen(c->is, q->host_len) : 0);
}

static void cooldowns(struct detect *d, uint64_t now_ns, int all)
{
	struct lru *t = &d->t[DT_COOLDOWNS];
	struct det_cool *c = lru_first(t), *next;

	for (; c; c = next) {
		next = lru_next(t, c);
		if (!all && c->until_ns > now_ns)
			continue;
		if (!c->suppressed) {
			if (c->until_ns <= now_ns)
				lru_del(t, c);
			continue;
		}
		uint64_t at = all && c->until_ns > now_ns ? now_ns : c->until_ns;
		emit_summary(d, c, at);
		/* matches went on: the summary starts the next cool-down */
		c->until_ns = at + (uint64_t)d->p->cooldown_s * 1000000000ULL;
	}
}

void detect_tick(struct detect *d, uint64_t now_ns)
{
	if (now_ns > d->now_ns)
		d->now_ns = now_ns;
	cooldowns(d, now_ns, 0);
}

void detect_flush(struct detect *d)
{
	cooldowns(d, d->now_ns, 1);
}

/* ---- resolving an observation ---- */

/* The engine's millisecond clock: ms since base_ns, 64-bit (dset stamps keep its low 32
 * bits; sets compare it whole against their last touch, window.h). */
static uint64_t ms_clock(struct detect *d, uint64_t ts)
{
	return (ts > d->base_ns ? ts - d->base_ns : 0) / 1000000ULL;
}

static void reset_cg(struct det_cg *cg, uint64_t ts)
{
	memset((char *)cg + sizeof(cg->h), 0, sizeof(*cg) - sizeof(cg->h));
	cg->first_ns = ts;
}

static struct det_cg *get_cg(struct detect *d, const struct tg_obs *o)
{
	int created;
	struct det_cg *cg = lru_get(&d->t[DT_CGROUPS], o->cgroup_id, 0, &created);

	if (!cg)
		return NULL;
	if (created || (!cg->have_path && o->cgroup)) {
		int named = d->profile_fn ? d->profile_fn(d->profile_ctx, o->cgroup_id) : -1;
		unsigned prof = named >= 0 ? (unsigned)named : policy_profile_for(d->p, o->cgroup);
		if (created || prof != cg->profile) {
			reset_cg(cg, o->ts_ns);
			cg->profile = (uint16_t)prof;
		}
		cg->have_path = o->cgroup != NULL;
	}
	return cg;
}

/* host[:port] of a request: its Host header, else the destination address */
static const char *req_host(struct detect *d, const struct tg_obs *o, size_t *len)
{
	char a[INET6_ADDRSTRLEN];
	int n;

	if (o->host && *o->host) {
		*len = strlen(o->host);
		if (*len < sizeof(d->host))
			return o->host;
		memcpy(d->host, o->host, sizeof(d->host) - 1);
		d->host[sizeof(d->host) - 1] = 0;
		*len = sizeof(d->host) - 1;
		return d->host;
	}
	if (!o->has_addr || !inet_ntop(o->family == AF_INET6 ? AF_INET6 : AF_INET, o->daddr, a,
				       sizeof(a))) {
		*len = 1;
		return "-";
	}
	n = snprintf(d->host, sizeof(d->host), o->family == AF_INET6 ? "[%s]:%u" : "%s:%u", a,
		     o->dport);
	*len = (size_t)n;
	return d->host;
}

/*
 * Fill @q for @o. Returns 0 to go on, 1 when the observation is to be skipped (allowed,
 * no path, no memory).
 */
static int resolve(struct detect *d, struct det_req *q, const struct tg_obs *o)
{
	int created;

	static const struct tpl_info no_tpl;

	memset(q, 0, sizeof(*q));
	q->ti = &no_tpl;
	q->o = o;
	q->ts = o->ts_ns;
	q->ms = ms_clock(d, o->ts_ns);
	q->cg = get_cg(d, o);
	if (!q->cg) {
		d->st.nomem++;
		return 1;
	}
	q->pr = policy_profile(d->p, q->cg->profile);
	q->r = &q->pr->rules;
	if (!o->path || !o->tpl || !o->tpl_info)
		return 0; /* an orphan response: per-cgroup rules only */

	q->host = req_host(d, o, &q->host_len);
	q->ti = o->tpl_info;
	size_t tl = q->ti->len;
	memcpy(d->endpoint, q->host, q->host_len);
	memcpy(d->endpoint + q->host_len, o->tpl, tl + 1);
	q->tpl = o->tpl;
	q->endpoint = d->endpoint;
	q->host_h = tg_hash(q->host, q->host_len);
	q->tpl_h = tg_hash(o->tpl, tl);
	q->ep_h = tg_hash(d->endpoint, q->host_len + tl);

	q->hs = lru_get(&d->t[DT_HOSTS], o->cgroup_id, q->host_h, &created);
	if (!q->hs) {
		d->st.nomem++;
		return 1;
	}
	if (created || q->hs->profile != q->cg->profile) {
		/* new, or its cgroup changed profile: windows of another width start over */
		memset((char *)q->hs + sizeof(q->hs->h), 0, sizeof(*q->hs) - sizeof(q->hs->h));
		q->hs->first_ns = q->ts;
		q->hs->profile = q->cg->profile;
		q->hs->allowed = (uint8_t)policy_host_allowed(q->pr, q->host);
	}
	if (q->hs->allowed) {
		d->st.allowed++;
		return 1;
	}
	/* responses need the endpoint's state only for its allow-list flag */
	if (o->type == OBS_RESPONSE && !q->pr->allow.endpoints.n)
		return 0;
	q->ep = lru_get(&d->t[DT_ENDPOINTS], o->cgroup_id, q->ep_h, &created);
	if (!q->ep) {
		d->st.nomem++;
		return 1;
	}
	if (created || q->ep->profile != q->cg->profile) {
		memset((char *)q->ep + sizeof(q->ep->h), 0, sizeof(*q->ep) - sizeof(q->ep->h));
		q->ep->profile = q->cg->profile;
		q->ep->allowed = (uint8_t)policy_endpoint_allowed(q->pr, q->endpoint);
		q->ep->is_obs = (uint8_t)policy_is_observability(q->r, q->tpl);
		q->ep->price = (float)policy_price(d->p, q->host, q->endpoint);
	}
	if (q->ep->allowed) {
		d->st.allowed++;
		return 1;
	}
	return 0;
}

/* Keep the request target (path?query, already redacted) as a sample of its cgroup. */
static void note_sample(struct det_req *q)
{
	struct det_cg *cg = q->cg;
	struct det_sample *s = &cg->samples[cg->s_next];
	const struct tg_obs *o = q->o;
	size_t pl = strlen(o->path), ql = o->query ? strlen(o->query) : 0;
	size_t room = SAMPLE_LEN - 1, n = 0;

	cg->s_next = (uint8_t)((cg->s_next + 1) % NSAMPLES);
	s->host_h = (uint32_t)q->host_h;
	s->ep_h = (uint32_t)q->ep_h;
	size_t want = pl + (o->query ? 1 + ql : 0);
	if (want > room)
		room -= 3; /* "..." marks a cut */
	n = pl < room ? pl : room;
	memcpy(s->target, o->path, n);
	if (o->query && n < room) {
		s->target[n++] = '?';
		size_t m = ql < room - n ? ql : room - n;
		memcpy(s->target + n, o->query, m);
		n += m;
	}
	if (want > SAMPLE_LEN - 1) {
		memcpy(s->target + n, "...", 3);
		n += 3;
	}
	s->target[n] = 0;
}

void detect_set_profile_fn(struct detect *d, detect_profile_fn fn, void *ctx)
{
	d->profile_fn = fn;
	d->profile_ctx = ctx;
}

void detect_obs(struct detect *d, const struct tg_obs *o)
{
	struct det_req q;

	d->st.observations++;
	if (!d->base_ns)
		d->base_ns = o->ts_ns > 3600000000000ULL ? o->ts_ns - 3600000000000ULL : 1;
	if (o->ts_ns > d->now_ns)
		d->now_ns = o->ts_ns;
	switch (o->type) {
	case OBS_DROPS:
		note_drops(d, o);
		return;
	case OBS_REQUEST:
		if (!o->path) {
			d->st.no_path++;
			return;
		}
		d->st.requests++;
		if (resolve(d, &q, o))
			return;
		note_sample(&q);
		flood_request(d, &q);
		harvest_request(d, &q);
		return;
	case OBS_RESPONSE:
		d->st.responses++;
		if (resolve(d, &q, o))
			return;
		flood_response(d, &q);
		harvest_response(d, &q);
		return;
	default:
		return;
	}
}
