// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * metrics.c - metric registry and the Prometheus text exposition format. See metrics.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "jsonw.h"
#include "metrics.h"
#include "util.h"

enum family {
	F_REQUESTS,
	F_DURATION,
	F_COST,
	F_RATE_LIMIT,
	F_CONCURRENT,
	F_EVENTS,
	F_ALERTS,
	F_ACTIONS,
	F_MAX,
};

static const struct {
	const char *name, *type, *help;
} fam[F_MAX] = {
	[F_REQUESTS] = {"mcp_agent_api_requests_total", "counter",
			"Total number of API requests (counted when the response is seen)"},
	[F_DURATION] = {"mcp_agent_api_request_duration_seconds", "histogram",
			"API request duration in seconds (request sent to first response byte)"},
	[F_COST] = {"mcp_agent_api_cost_total", "counter",
		    "Total API cost in currency units (the policy's price table)"},
	[F_RATE_LIMIT] = {"mcp_agent_rate_limit_errors_total", "counter",
			  "Total rate limit errors (HTTP 429)"},
	[F_CONCURRENT] = {"mcp_agent_concurrent_requests", "gauge",
			  "Number of concurrent API requests (sent, response not seen yet)"},
	[F_EVENTS] = {"tollgate_events_total", "counter",
		      "Records decoded from the kernel, by kind"},
	[F_ALERTS] = {"tollgate_alerts_total", "counter", "Alerts raised, by technique and rule"},
	[F_ACTIONS] = {"tollgate_actions_total", "counter",
		       "Enforcement actions, by action and result"},
};

static const double buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define NB (sizeof(buckets) / sizeof(buckets[0]))

struct series {
	UT_hash_handle hh;
	double value;
	uint64_t counts[NB]; /* histogram: observations <= buckets[i] (not cumulative) */
	double sum;
	uint64_t count;
	char labels[]; /* rendered: a="x",b="y" (the key) */
};

struct epname {
	UT_hash_handle hh;
	char name[];
};

struct session {
	uint64_t id; /* cgroup id: the session_id label */
	UT_hash_handle hh;
	struct epname *eps;
	uint32_t n;
	char *agent; /* its agent_id label, for metrics_forget */
};

struct metrics {
	struct metrics_config cfg;
	metrics_cost_fn cost;
	void *ctx;
	struct series *fams[F_MAX];
	struct session *sessions;
	uint64_t nseries;
	uint64_t dropped;
};

struct metrics *metrics_new(const struct metrics_config *cfg, metrics_cost_fn cost, void *ctx)
{
	struct metrics *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->cfg = *cfg;
	if (!m->cfg.max_endpoints)
		m->cfg.max_endpoints = 100;
	if (!m->cfg.max_series)
		m->cfg.max_series = 100000;
	m->cost = cost;
	m->ctx = ctx;
	return m;
}

static void session_del(struct metrics *m, struct session *x)
{
	struct epname *e, *et;

	HASH_ITER(hh, x->eps, e, et) {
		HASH_DEL(x->eps, e);
		free(e);
	}
	HASH_DEL(m->sessions, x);
	free(x->agent);
	free(x);
}

void metrics_free(struct metrics *m)
{
	struct series *s, *st;
	struct session *x, *xt;

	if (!m)
		return;
	for (int f = 0; f < F_MAX; f++)
		HASH_ITER(hh, m->fams[f], s, st) {
			HASH_DEL(m->fams[f], s);
			free(s);
		}
	HASH_ITER(hh, m->sessions, x, xt)
		session_del(m, x);
	free(m);
}

uint64_t metrics_series(const struct metrics *m)
{
	return m->nseries;
}

uint64_t metrics_sessions(const struct metrics *m)
{
	return HASH_COUNT(m->sessions);
}

/* Bytes of a label value kept (before escaping): longer values are cut on a UTF-8
 * character boundary, so two values that differ only past this share a series. */
#define LABEL_VALUE_MAX 256
/* Worst case of one rendered label: ",", a name of < 20 bytes, "=\"", every value byte
 * escaped to two, "\"". */
#define LABEL_MAX (24 + 2 * LABEL_VALUE_MAX)
/* Room for @n labels and the NUL. */
#define LABELS_BUF(n) ((n) * LABEL_MAX + 1)

/*
 * label - append name="value" to the label set in @out (text exposition format 0.0.4:
 * \\, \" and \n escaped), the value cut to LABEL_VALUE_MAX bytes on a UTF-8 character
 * boundary. Prometheus rejects a whole scrape over one label value that is not UTF-8, and
 * agent ids, cgroup paths and hosts come from outside: invalid UTF-8 and control
 * characters other than \n become '?' (as name_sanitize). @o: the set's length so far
 * (0 for the first label).
 * Returns the new length; @out is always NUL-terminated and every value closed: a label
 * that does not fit whole in @cap is left out (LABELS_BUF sizes avoid that).
 */
static size_t label(char *out, size_t cap, size_t o, const char *name, const char *v)
{
	const unsigned char *p = (const unsigned char *)(v ? v : "");
	size_t start = o, n = strlen((const char *)p), i = 0;
	int k;

	if (o >= cap)
		return o;
	if (n > LABEL_VALUE_MAX)
		n = LABEL_VALUE_MAX; /* a character that crosses it is dropped whole below */
	k = snprintf(out + o, cap - o, "%s%s=\"", o ? "," : "", name);
	if (k < 0 || (size_t)k >= cap - o)
		goto nofit;
	o += (size_t)k;
	while (i < n) {
		unsigned char c = p[i];
		size_t ul = 1;

		if (c >= 0x80) {
			ul = jw_utf8_len(p + i, strnlen((const char *)p + i, 4));
			if (ul && i + ul > n)
				break; /* the cut falls inside this character */
		}
		if (o + 2 + 2 > cap) /* up to two bytes, '"' and the NUL */
			goto nofit;
		if (c == '\\' || c == '"' || c == '\n') {
			out[o++] = '\\';
			out[o++] = c == '\n' ? 'n' : (char)c;
		} else if (ul == 0 || c < 0x20 || c == 0x7f || (c == 0xc2 && p[i + 1] < 0xa0)) {
			out[o++] = '?'; /* an invalid byte, or a C0, DEL or C1 control */
			ul = ul ? ul : 1;
		} else {
			if (o + ul + 2 > cap)
				goto nofit;
			memcpy(out + o, p + i, ul);
			o += ul;
		}
		i += ul;
	}
	out[o++] = '"';
	out[o] = 0;
	return o;
nofit:
	out[start] = 0;
	return start;
}

static struct series *get(struct metrics *m, int f, const char *labels)
{
	struct series *s;
	size_t n = strlen(labels);

	HASH_FIND(hh, m->fams[f], labels, n, s);
	if (s)
		return s;
	if (m->nseries >= m->cfg.max_series) {
		m->dropped++;
		return NULL;
	}
	s = calloc(1, sizeof(*s) + n + 1);
	if (!s)
		return NULL;
	memcpy(s->labels, labels, n + 1);
	HASH_ADD_KEYPTR(hh, m->fams[f], s->labels, n, s);
	m->nseries++;
	return s;
}

/* The session of cgroup @sid, made on first use, remembering its agent_id label. */
static struct session *session_get(struct metrics *m, uint64_t sid, const char *agent)
{
	struct session *x;

	HASH_FIND(hh, m->sessions, &sid, sizeof(sid), x);
	if (!x) {
		x = calloc(1, sizeof(*x));
		if (!x)
			return NULL;
		x->id = sid;
		HASH_ADD(hh, m->sessions, id, sizeof(x->id), x);
	}
	if (!x->agent || strcmp(x->agent, agent) != 0) {
		char *a = strdup(agent);
		if (a) {
			free(x->agent);
			x->agent = a;
		}
		/* its in-flight gauge exists from its first request on (0 until a scrape
		 * finds requests in flight: metrics_concurrent_add) */
		metrics_concurrent_add(m, agent, 0);
	}
	return x;
}

/* The endpoint label of a session, "other" past the per-session cap. */
static const char *capped_endpoint(struct metrics *m, struct session *x, const char *ep)
{
	struct epname *e;
	size_t n = strlen(ep);

	if (!x)
		return "other";
	HASH_FIND(hh, x->eps, ep, n, e);
	if (e)
		return e->name;
	if (x->n >= m->cfg.max_endpoints)
		return "other";
	e = calloc(1, sizeof(*e) + n + 1);
	if (!e)
		return "other";
	memcpy(e->name, ep, n + 1);
	HASH_ADD_KEYPTR(hh, x->eps, e->name, n, e);
	x->n++;
	return e->name;
}

void metrics_obs(struct metrics *m, const struct tg_obs *o, const char *agent_id)
{
	char agent[320], sid[24], ep[512], l[LABELS_BUF(5)], status[8];
	struct series *s;
	size_t n;

	if (o->type != OBS_REQUEST && o->type != OBS_RESPONSE)
		return;
	if (!agent_id)
		agent_id = o->cgroup;
	if (!agent_id) {
		snprintf(agent, sizeof(agent), "cgroup:%" PRIu64, o->cgroup_id);
		agent_id = agent;
	}
	snprintf(sid, sizeof(sid), "%" PRIu64, o->cgroup_id);
	struct session *x = session_get(m, o->cgroup_id, agent_id);
	/* endpoint = host + path template, as the detectors group requests */
	snprintf(ep, sizeof(ep), "%s%s", o->host ? o->host : "", o->tpl ? o->tpl : "");
	if (o->type == OBS_REQUEST) {
		double usd = m->cost && o->host ? m->cost(m->ctx, o->cgroup_id, o->host, ep) : 0;
		if (usd > 0) {
			n = label(l, sizeof(l), 0, "agent_id", agent_id);
			n = label(l, sizeof(l), n, "session_id", sid);
			label(l, sizeof(l), n, "api_provider", o->host ? o->host : "unknown");
			if ((s = get(m, F_COST, l)))
				s->value += usd;
		}
		return;
	}
	const char *epl = capped_endpoint(m, x, ep);
	snprintf(status, sizeof(status), "%d", o->status);

	n = label(l, sizeof(l), 0, "agent_id", agent_id);
	n = label(l, sizeof(l), n, "session_id", sid);
	n = label(l, sizeof(l), n, "tool_name", o->comm);
	n = label(l, sizeof(l), n, "endpoint", epl);
	label(l, sizeof(l), n, "status_code", status);
	if ((s = get(m, F_REQUESTS, l)))
		s->value++;

	if (o->latency_ms >= 0) {
		n = label(l, sizeof(l), 0, "agent_id", agent_id);
		label(l, sizeof(l), n, "endpoint", epl);
		if ((s = get(m, F_DURATION, l))) {
			double sec = o->latency_ms / 1000.0;
			for (size_t i = 0; i < NB; i++)
				if (sec <= buckets[i]) {
					s->counts[i]++;
					break;
				}
			s->sum += sec;
			s->count++;
		}
	}
	if (o->status == 429) {
		n = label(l, sizeof(l), 0, "agent_id", agent_id);
		n = label(l, sizeof(l), n, "session_id", sid);
		label(l, sizeof(l), n, "endpoint", epl);
		if ((s = get(m, F_RATE_LIMIT, l)))
			s->value++;
	}
}

static void series_del(struct metrics *m, int f, struct series *s)
{
	HASH_DEL(m->fams[f], s);
	free(s);
	m->nseries--;
}

void metrics_forget(struct metrics *m, const uint64_t *ids, size_t n)
{
	static const int by_session[] = {F_REQUESTS, F_COST, F_RATE_LIMIT};
	static const int by_agent[] = {F_DURATION, F_CONCURRENT};
	struct session *x, *xt;
	struct series *s, *st;
	char **dead = NULL;
	size_t ndead = 0;

	if (!n)
		return;
	/* agent_id labels of the sessions that end: their series go unless a live session
	 * (a new cgroup of the same name, say) still has that agent_id */
	HASH_ITER(hh, m->sessions, x, xt) {
		if (!u64_in(ids, n, x->id))
			continue;
		char **d = x->agent ? realloc(dead, (ndead + 1) * sizeof(*dead)) : NULL;
		if (d) {
			dead = d;
			dead[ndead++] = x->agent;
			x->agent = NULL;
		}
		session_del(m, x);
	}
	HASH_ITER(hh, m->sessions, x, xt)
		for (size_t i = 0; i < ndead; i++)
			if (dead[i] && x->agent && !strcmp(dead[i], x->agent)) {
				free(dead[i]);
				dead[i] = NULL;
			}
	for (size_t f = 0; f < sizeof(by_session) / sizeof(by_session[0]); f++)
		HASH_ITER(hh, m->fams[by_session[f]], s, st) {
			const char *p = strstr(s->labels, "session_id=\"");
			if (p && u64_in(ids, n, strtoull(p + 12, NULL, 10)))
				series_del(m, by_session[f], s);
		}
	for (size_t i = 0; i < ndead; i++) {
		char pre[LABELS_BUF(1)];
		size_t len;
		if (!dead[i])
			continue;
		len = label(pre, sizeof(pre), 0, "agent_id", dead[i]);
		for (size_t f = 0; f < sizeof(by_agent) / sizeof(by_agent[0]); f++)
			HASH_ITER(hh, m->fams[by_agent[f]], s, st)
				if (!strncmp(s->labels, pre, len) &&
				    (s->labels[len] == ',' || !s->labels[len]))
					series_del(m, by_agent[f], s);
		free(dead[i]);
	}
	free(dead);
}

void metrics_concurrent_reset(struct metrics *m)
{
	struct series *s, *t;

	HASH_ITER(hh, m->fams[F_CONCURRENT], s, t)
		s->value = 0;
}

void metrics_concurrent_add(struct metrics *m, const char *agent_id, uint32_t n)
{
	char l[LABELS_BUF(1)];
	struct series *s;

	label(l, sizeof(l), 0, "agent_id", agent_id);
	if ((s = get(m, F_CONCURRENT, l)))
		s->value += n;
}

void metrics_alert(struct metrics *m, const struct tg_alert *a)
{
	char l[LABELS_BUF(2)];
	struct series *s;
	size_t n = label(l, sizeof(l), 0, "technique", a->technique ? a->technique : "");

	label(l, sizeof(l), n, "rule", a->rule);
	if ((s = get(m, F_ALERTS, l)))
		s->value++;
}

void metrics_action(struct metrics *m, const char *action, const char *result)
{
	char l[LABELS_BUF(2)];
	struct series *s;
	/* an error result is the error text: keep the label set small */
	size_t n = label(l, sizeof(l), 0, "action", action);

	label(l, sizeof(l), n, "result",
	      !strcmp(result, "ok") ? "ok" : !strncmp(result, "refused", 7) ? "refused" : "error");
	if ((s = get(m, F_ACTIONS, l)))
		s->value++;
}

void metrics_event(struct metrics *m, const char *event)
{
	char l[LABELS_BUF(1)];
	struct series *s;

	label(l, sizeof(l), 0, "event", event);
	if ((s = get(m, F_EVENTS, l)))
		s->value++;
}

struct buf {
	char *p;
	size_t len, cap;
	int oom;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	for (;;) {
		if (b->oom)
			return;
		va_start(ap, fmt);
		int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap * 2 + (size_t)(n > 0 ? n : 0) + 1;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
}

static void value(struct buf *b, const char *name, const char *labels, double v)
{
	if (labels[0])
		put(b, "%s{%s} %.17g\n", name, labels, v);
	else
		put(b, "%s %.17g\n", name, v);
}

char *metrics_render(struct metrics *m, const struct metrics_health *h, size_t *len)
{
	struct buf b = {.cap = 65536};
	struct series *s, *st;

	b.p = malloc(b.cap);
	if (!b.p)
		return NULL;
	b.p[0] = 0;
	for (int f = 0; f < F_MAX; f++) {
		put(&b, "# HELP %s %s\n# TYPE %s %s\n", fam[f].name, fam[f].help, fam[f].name,
		    fam[f].type);
		HASH_ITER(hh, m->fams[f], s, st) {
			if (f != F_DURATION) {
				value(&b, fam[f].name, s->labels, s->value);
				continue;
			}
			uint64_t cum = 0;
			for (size_t i = 0; i < NB; i++) {
				cum += s->counts[i];
				put(&b, "%s_bucket{%s,le=\"%g\"} %" PRIu64 "\n", fam[f].name, s->labels,
				    buckets[i], cum);
			}
			put(&b, "%s_bucket{%s,le=\"+Inf\"} %" PRIu64 "\n", fam[f].name, s->labels,
			    s->count);
			put(&b, "%s_sum{%s} %.17g\n", fam[f].name, s->labels, s->sum);
			put(&b, "%s_count{%s} %" PRIu64 "\n", fam[f].name, s->labels, s->count);
		}
	}
	put(&b, "# HELP tollgate_ringbuf_drops_total Records the kernel could not deliver\n"
		"# TYPE tollgate_ringbuf_drops_total counter\ntollgate_ringbuf_drops_total %" PRIu64
		"\n",
	    h->ringbuf_drops);
	put(&b, "# HELP tollgate_probe_attach_errors_total Failed uprobe attachments\n"
		"# TYPE tollgate_probe_attach_errors_total counter\n"
		"tollgate_probe_attach_errors_total %" PRIu64 "\n",
	    h->probe_attach_errors);
	put(&b, "# HELP tollgate_tls_reads_untracked_total TLS reads whose response was not "
		"reported: table of reads in flight full\n"
		"# TYPE tollgate_tls_reads_untracked_total counter\n"
		"tollgate_tls_reads_untracked_total %" PRIu64 "\n",
	    h->tls_reads_full);
	put(&b, "# HELP tollgate_tracked_cgroups Cgroups tollgate holds state for\n"
		"# TYPE tollgate_tracked_cgroups gauge\ntollgate_tracked_cgroups %" PRIu64 "\n",
	    h->tracked_cgroups);
	put(&b, "# HELP tollgate_state_evictions_total State entries evicted from full tables\n"
		"# TYPE tollgate_state_evictions_total counter\n"
		"tollgate_state_evictions_total %" PRIu64 "\n",
	    h->state_evictions);
	put(&b, "# HELP tollgate_metrics_series_dropped_total Series not created: max_series\n"
		"# TYPE tollgate_metrics_series_dropped_total counter\n"
		"tollgate_metrics_series_dropped_total %" PRIu64 "\n",
	    m->dropped);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}
