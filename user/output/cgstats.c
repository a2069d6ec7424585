// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * cgstats.c - per-cgroup live figures. See cgstats.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "cgstats.h"
#include "hash.h"
#include "tollgate_abi.h"
#include "util.h"
#include "window.h"

#define NEP 8
#define WIN_SLOTS (CGSTATS_WINDOW + 1) /* window.h: nb + 1 slots of one second */
#define SEC_NS 1000000000ULL

struct ep {
	uint64_t hash; /* of host and path: compared per request, the name only formatted once */
	char name[128];
	double score;  /* decays by half every second */
};

struct cg {
	uint64_t id;
	UT_hash_handle hh;
	char path[256];
	char comm[17];
	/* requests and 429s per second: window.h sliding windows of 1 s buckets */
	uint32_t req_epoch, req[WIN_SLOTS];
	uint32_t r429_epoch, r429[WIN_SLOTS];
	int64_t open;
	uint64_t alerts, requests;
	struct ep eps[NEP];
	uint64_t ep_sec;
};

struct cgstats {
	struct cg *by_id;
	uint64_t evictions;
};

struct cgstats *cgstats_new(void)
{
	return calloc(1, sizeof(struct cgstats));
}

void cgstats_free(struct cgstats *s)
{
	struct cg *c, *t;

	if (!s)
		return;
	HASH_ITER(hh, s->by_id, c, t) {
		HASH_DEL(s->by_id, c);
		free(c);
	}
	free(s);
}

static struct cg *get(struct cgstats *s, uint64_t id, const char *path)
{
	struct cg *c;

	HASH_FIND(hh, s->by_id, &id, sizeof(id), c);
	if (c) {
		if (c->hh.next) { /* most recently used goes last (a flood: it already is) */
			HASH_DEL(s->by_id, c);
			HASH_ADD(hh, s->by_id, id, sizeof(c->id), c);
		}
		return c;
	}
	if (HASH_COUNT(s->by_id) >= CGSTATS_MAX) {
		struct cg *old = s->by_id;
		HASH_DEL(s->by_id, old);
		free(old);
		s->evictions++;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->id = id;
	snprintf(c->path, sizeof(c->path), "%s", path ? path : "?");
	HASH_ADD(hh, s->by_id, id, sizeof(c->id), c);
	return c;
}

static void decay(struct cg *c, uint64_t sec)
{
	if (sec <= c->ep_sec)
		return;
	uint64_t gap = sec - c->ep_sec;
	for (int i = 0; i < NEP; i++)
		c->eps[i].score = gap > 30 ? 0 : c->eps[i].score / (double)(1ULL << gap);
	c->ep_sec = sec;
}

static void endpoint_hit(struct cg *c, const char *host, const char *path)
{
	uint64_t h = tg_hash_seed(path ? path : "", path ? strlen(path) : 0,
				  tg_hash(host ? host : "", host ? strlen(host) : 0));
	int slot = -1, low = 0;

	for (int i = 0; i < NEP; i++) {
		if (c->eps[i].name[0] && c->eps[i].hash == h) {
			slot = i;
			break;
		}
		if (c->eps[i].score < c->eps[low].score)
			low = i;
	}
	if (slot < 0) {
		slot = low;
		c->eps[slot].hash = h;
		snprintf(c->eps[slot].name, sizeof(c->eps[slot].name), "%s%s", host ? host : "",
			 path ? path : "");
		c->eps[slot].score = 0;
	}
	c->eps[slot].score += 1;
}

void cgstats_obs(struct cgstats *s, const struct tg_obs *o)
{
	struct cg *c;
	uint64_t sec = o->ts_ns / 1000000000ULL;

	if (o->type != OBS_REQUEST && o->type != OBS_RESPONSE && o->type != OBS_CONNECT &&
	    o->type != OBS_CLOSE)
		return;
	c = get(s, o->cgroup_id, o->cgroup);
	if (!c)
		return;
	/* copied when they change (a rename, another process), not per observation */
	if (o->cgroup && strncmp(c->path, o->cgroup, sizeof(c->path) - 1))
		snprintf(c->path, sizeof(c->path), "%s", o->cgroup);
	if (o->comm[0] && strncmp(c->comm, o->comm, sizeof(c->comm) - 1))
		snprintf(c->comm, sizeof(c->comm), "%s", o->comm);
	decay(c, sec);
	switch (o->type) {
	case OBS_REQUEST:
		/* an observation older than the window is not counted (-1) */
		win32_add(&c->req_epoch, c->req, WIN_SLOTS, SEC_NS, o->ts_ns, 1);
		c->requests++;
		endpoint_hit(c, o->host, o->tpl);
		break;
	case OBS_RESPONSE:
		if (o->status == 429)
			win32_add(&c->r429_epoch, c->r429, WIN_SLOTS, SEC_NS, o->ts_ns, 1);
		break;
	case OBS_CONNECT:
		if (o->l4 != TG_IPPROTO_UDP)
			c->open++;
		break;
	case OBS_CLOSE:
		if (o->l4 != TG_IPPROTO_UDP && c->open > 0)
			c->open--;
		break;
	}
}

void cgstats_alert(struct cgstats *s, const struct tg_alert *a)
{
	struct cg *c = get(s, a->cgroup_id, a->cgroup);

	if (c)
		c->alerts++;
}

static int by_rate(const void *a, const void *b)
{
	const struct cgstats_row *x = a, *y = b;

	if (x->req_s != y->req_s)
		return x->req_s < y->req_s ? 1 : -1;
	return x->cgroup_id < y->cgroup_id ? -1 : x->cgroup_id > y->cgroup_id;
}

int cgstats_top(struct cgstats *s, uint64_t now_ns, struct cgstats_row *rows, int max)
{
	struct cg *c, *t;
	int n = 0;
	uint64_t sec = now_ns / 1000000000ULL;
	size_t total = HASH_COUNT(s->by_id);
	struct cgstats_row *all = calloc(total ? total : 1, sizeof(*all));

	if (!all)
		return 0;
	HASH_ITER(hh, s->by_id, c, t) {
		decay(c, sec);
		/* the current second and the CGSTATS_WINDOW - 1 before it */
		uint64_t req = win32_sum_range(c->req_epoch, c->req, WIN_SLOTS, SEC_NS, now_ns, 0,
					       CGSTATS_WINDOW - 1);
		uint64_t r429 = win32_sum_range(c->r429_epoch, c->r429, WIN_SLOTS, SEC_NS, now_ns,
						0, CGSTATS_WINDOW - 1);
		struct cgstats_row *r = &all[n++];
		r->cgroup_id = c->id;
		r->cgroup = c->path;
		r->comm = c->comm;
		r->req_s = (double)req / CGSTATS_WINDOW;
		r->r429_s = (double)r429 / CGSTATS_WINDOW;
		r->open_conns = c->open;
		r->alerts = c->alerts;
		r->requests = c->requests;
		int best = -1;
		for (int i = 0; i < NEP; i++)
			if (c->eps[i].name[0] && (best < 0 || c->eps[i].score > c->eps[best].score))
				best = i;
		r->top_endpoint = best >= 0 ? c->eps[best].name : NULL;
	}
	qsort(all, (size_t)n, sizeof(*all), by_rate);
	if (n > max)
		n = max;
	memcpy(rows, all, sizeof(*rows) * (size_t)n);
	free(all);
	return n;
}

uint64_t cgstats_count(const struct cgstats *s)
{
	return HASH_COUNT(s->by_id);
}

uint64_t cgstats_evictions(const struct cgstats *s)
{
	return s->evictions;
}

void cgstats_forget(struct cgstats *s, const uint64_t *ids, size_t n)
{
	struct cg *c, *t;

	if (!n)
		return;
	HASH_ITER(hh, s->by_id, c, t) {
		if (u64_in(ids, n, c->id)) {
			HASH_DEL(s->by_id, c);
			free(c);
		}
	}
}
