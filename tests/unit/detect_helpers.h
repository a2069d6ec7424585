/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * detect_helpers.h - building observations and catching alerts for the detector tests.
 * Include after <cmocka.h>.
 */
#ifndef TG_TEST_DETECT_HELPERS_H
#define TG_TEST_DETECT_HELPERS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect.h"
#include "policy.h"

#define SEC 1000000000ULL
#define MS 1000000ULL
/* 2026-11-21T08:00:00Z */
#define T0 (1795248000ULL * SEC)

struct caught {
	char rule[32], technique[16], severity[16];
	char host[300], endpoint[600], cgroup[200], detail[400];
	char samples[5][120];
	int nsamples;
	uint64_t cgroup_id, count, window_s, drops, suppressed, ts, first_ts, last_ts;
	double value, threshold;
};

struct catcher {
	struct caught a[256];
	int n;
};

static __attribute__((unused)) void catch_alert(void *ctx, const struct tg_alert *a)
{
	struct catcher *c = ctx;
	struct caught *x;

	if (c->n >= 256)
		return;
	x = &c->a[c->n++];
	memset(x, 0, sizeof(*x));
	snprintf(x->rule, sizeof(x->rule), "%s", a->rule);
	snprintf(x->technique, sizeof(x->technique), "%s", a->technique);
	snprintf(x->severity, sizeof(x->severity), "%s", alert_severity_name(a->severity));
	snprintf(x->host, sizeof(x->host), "%s", a->host ? a->host : "(null)");
	snprintf(x->endpoint, sizeof(x->endpoint), "%s", a->endpoint ? a->endpoint : "(null)");
	snprintf(x->cgroup, sizeof(x->cgroup), "%s", a->cgroup ? a->cgroup : "(null)");
	snprintf(x->detail, sizeof(x->detail), "%s", a->detail ? a->detail : "");
	for (int i = 0; i < a->nsamples && i < 5; i++)
		snprintf(x->samples[i], sizeof(x->samples[i]), "%s", a->samples[i]);
	x->nsamples = a->nsamples;
	x->cgroup_id = a->cgroup_id;
	x->count = a->count;
	x->window_s = a->window_s;
	x->drops = a->drops;
	x->suppressed = a->suppressed;
	x->ts = a->ts_ns;
	x->first_ts = a->first_ts_ns;
	x->last_ts = a->last_ts_ns;
	x->value = a->value;
	x->threshold = a->threshold;
}

/* Alerts of one rule caught so far. */
static __attribute__((unused)) int count_rule(const struct catcher *c, const char *rule)
{
	int n = 0;
	for (int i = 0; i < c->n; i++)
		n += !strcmp(c->a[i].rule, rule);
	return n;
}

static __attribute__((unused)) const struct caught *find_rule(const struct catcher *c, const char *rule)
{
	for (int i = 0; i < c->n; i++)
		if (!strcmp(c->a[i].rule, rule))
			return &c->a[i];
	return NULL;
}

struct fixture {
	struct policy *p;
	struct detect *d;
	struct catcher c;
};

static void fx_errs(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "policy: %s\n", msg);
}

/* Detectors under the default policy, or under @yaml. */
static __attribute__((unused)) struct fixture *fx_new(const char *yaml)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	if (yaml)
		assert_int_equal(policy_load_string("test.yaml", yaml, strlen(yaml), &f->p, fx_errs,
						    NULL),
				 0);
	else
		f->p = policy_default();
	assert_non_null(f->p);
	f->d = detect_new(f->p, catch_alert, &f->c);
	assert_non_null(f->d);
	return f;
}

static __attribute__((unused)) void fx_free(struct fixture *f)
{
	detect_free(f->d);
	policy_free(f->p);
	free(f);
}

static __attribute__((unused)) struct tg_obs mk_obs(int type, uint64_t ts, uint64_t cg, const char *cgpath,
			    const char *host, const char *method, const char *path,
			    const char *query)
{
	/* the template lives until 8 more observations are made: each is used at once */
	static struct obs_tpl tb[8];
	static unsigned next;
	struct tg_obs o;

	memset(&o, 0, sizeof(o));
	o.type = type;
	o.ts_ns = ts;
	o.cgroup_id = cg;
	o.cgroup = cgpath;
	o.pid = 4242;
	o.tid = 4242;
	snprintf(o.comm, sizeof(o.comm), "agent");
	o.http = OBS_HTTP_11;
	o.method = method;
	o.host = host;
	o.path = path;
	o.query = query;
	o.latency_ms = -1;
	o.retry_after_s = -1;
	obs_set_template(&o, &tb[next++ % 8]);
	return o;
}

/* A GET request. */
static __attribute__((unused)) void req(struct fixture *f, uint64_t ts, uint64_t cg, const char *host, const char *path,
		const char *query)
{
	struct tg_obs o = mk_obs(OBS_REQUEST, ts, cg, "/agents/a", host, "GET", path, query);
	o.bytes = 100;
	detect_obs(f->d, &o);
}

/* The response to a GET sent latency_ms before @ts. */
static __attribute__((unused)) void resp(struct fixture *f, uint64_t ts, uint64_t cg, const char *host, const char *path,
		 const char *query, int status, uint64_t bytes, double latency_ms,
		 int64_t retry_after)
{
	struct tg_obs o = mk_obs(OBS_RESPONSE, ts, cg, "/agents/a", host, "GET", path, query);
	o.status = status;
	o.bytes = bytes;
	o.latency_ms = latency_ms;
	o.retry_after_s = retry_after;
	detect_obs(f->d, &o);
}

static __attribute__((unused)) void drops(struct fixture *f, uint64_t ts, uint64_t count)
{
	struct tg_obs o = mk_obs(OBS_DROPS, ts, 0, NULL, NULL, NULL, NULL, NULL);
	o.count = count;
	detect_obs(f->d, &o);
}

#endif
