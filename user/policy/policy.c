// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * policy.c - the detection policy: built-in default, YAML reader (libyaml's document API),
 * YAML writer, and the look-ups the detectors make. See policy.h and docs/policy.md.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <yaml.h>

#include "alert.h"
#include "log.h"
#include "policy.h"
#include "util.h"

/* ---- an arena owning the policy's strings and arrays ---- */

struct arena {
	struct arena *next;
	size_t used, cap;
	_Alignas(16) char data[];
};

static void *arena_alloc(struct arena **a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	if (!*a || (*a)->used + n > (*a)->cap) {
		size_t cap = n > 16384 ? n : 16384;
		struct arena *b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->next = *a;
		b->used = 0;
		b->cap = cap;
		*a = b;
	}
	void *p = (*a)->data + (*a)->used;
	(*a)->used += n;
	return p;
}

static char *arena_strndup(struct arena **a, const char *s, size_t n)
{
	char *d = arena_alloc(a, n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = 0;
	}
	return d;
}

static void arena_free(struct arena *a)
{
	while (a) {
		struct arena *n = a->next;
		free(a);
		a = n;
	}
}

/* ---- rules ---- */

static const char *const rule_names[RULE_MAX] = {
	[RULE_VOLUME] = "volume",
	[RULE_RAPID] = "rapid",
	[RULE_RATE_LIMIT] = "rate_limit",
	[RULE_RETRY_LOOP] = "retry_loop",
	[RULE_PARALLEL] = "parallel",
	[RULE_GROWTH] = "growth",
	[RULE_COST] = "cost",
	[RULE_ENUMERATION] = "enumeration",
	[RULE_PAGINATION] = "pagination",
	[RULE_CROSS_ENDPOINT] = "cross_endpoint",
	[RULE_OBSERVABILITY_API] = "observability_api",
	[RULE_DATA_VOLUME] = "data_volume",
};

static const size_t rule_base_off[RULE_MAX] = {
	[RULE_VOLUME] = offsetof(struct tg_rules, volume.b),
	[RULE_RAPID] = offsetof(struct tg_rules, rapid.b),
	[RULE_RATE_LIMIT] = offsetof(struct tg_rules, rate_limit.b),
	[RULE_RETRY_LOOP] = offsetof(struct tg_rules, retry_loop.b),
	[RULE_PARALLEL] = offsetof(struct tg_rules, parallel.b),
	[RULE_GROWTH] = offsetof(struct tg_rules, growth.b),
	[RULE_COST] = offsetof(struct tg_rules, cost.b),
	[RULE_ENUMERATION] = offsetof(struct tg_rules, enumeration.b),
	[RULE_PAGINATION] = offsetof(struct tg_rules, pagination.b),
	[RULE_CROSS_ENDPOINT] = offsetof(struct tg_rules, cross_endpoint.b),
	[RULE_OBSERVABILITY_API] = offsetof(struct tg_rules, observability_api.b),
	[RULE_DATA_VOLUME] = offsetof(struct tg_rules, data_volume.b),
};

const char *rule_name(int id)
{
	return id >= 0 && id < RULE_MAX ? rule_names[id] : "unknown";
}

const char *rule_technique(int id)
{
	return id < RULE_ENUMERATION ? "SAFE-T2102" : "SAFE-T1804";
}

int rule_from_name(const char *name)
{
	for (int i = 0; i < RULE_MAX; i++)
		if (!strcmp(rule_names[i], name))
			return i;
	return -1;
}

const struct rule_base *rules_base(const struct tg_rules *r, int id)
{
	return (const struct rule_base *)((const char *)r + rule_base_off[id]);
}

/* ---- the built-in default (issue 3's numbers) ---- */

/* No "start": it is also a time-range parameter (Prometheus query_range, log APIs), and a
 * dashboard refreshing every 5 s would page through it; the seed names page, offset and
 * cursor (SAFE-T1804 selection_pagination_exploitation). */
static const char *def_page_params[] = {"page", "offset", "cursor", "after"};
static const char *def_obs_paths[] = {"/api/v1/query",   "/api/v1/series", "/api/datasources",
				      "/api/dashboards", "/api/metrics",   "/api/logs",
				      "/api/customers",  "/api/users"};
static const char *def_obs_ignore[] = {"start", "end", "time", "step", "from", "to", "_"};
static const char *def_protected[] = {"/init.scope", "/system.slice"};
static char def_mode[] = "enforce";

#define SLIST(a) ((struct strlist){(char **)(a), sizeof(a) / sizeof((a)[0])})
#define BASE(sev, win) {.enabled = 1, .severity = (sev), .window_s = (win)}

static void default_rules(struct tg_rules *r)
{
	memset(r, 0, sizeof(*r));
	r->volume.b = (struct rule_base)BASE(SEV_HIGH, 300);
	r->volume.threshold = 100;
	r->rapid.b = (struct rule_base)BASE(SEV_MEDIUM, 60);
	r->rapid.threshold = 50;
	r->rapid.max_gap_ms = 1000;
	r->rate_limit.b = (struct rule_base)BASE(SEV_CRITICAL, 300);
	r->rate_limit.threshold = 20;
	r->retry_loop.b = (struct rule_base)BASE(SEV_HIGH, 300);
	r->retry_loop.threshold = 5;
	r->parallel.b = (struct rule_base)BASE(SEV_MEDIUM, 60);
	r->parallel.concurrency = 10;
	r->parallel.threshold = 5;
	r->parallel.inflight_timeout_s = 60;
	r->growth.b = (struct rule_base)BASE(SEV_MEDIUM, 300);
	r->growth.ratio = 3;
	r->growth.baseline_s = 900;
	r->growth.min_requests = 300;
	r->cost.b = (struct rule_base)BASE(SEV_CRITICAL, 3600);
	r->cost.max_usd = 100;
	r->cost.baseline_ratio = 3;
	r->cost.baseline_s = 86400;
	r->cost.min_usd = 1;
	r->enumeration.b = (struct rule_base)BASE(SEV_HIGH, 600);
	r->enumeration.threshold = 20;
	r->enumeration.min_increasing = 0.8;
	r->enumeration.min_density = 0.5;
	r->pagination.b = (struct rule_base)BASE(SEV_MEDIUM, 60);
	r->pagination.threshold = 10;
	r->pagination.params = SLIST(def_page_params);
	r->cross_endpoint.b = (struct rule_base)BASE(SEV_HIGH, 600);
	r->cross_endpoint.threshold = 5;
	r->observability_api.b = (struct rule_base)BASE(SEV_HIGH, 300);
	r->observability_api.threshold = 20;
	r->observability_api.paths = SLIST(def_obs_paths);
	r->observability_api.ignore_params = SLIST(def_obs_ignore);
	r->data_volume.b = (struct rule_base)BASE(SEV_HIGH, 300);
	r->data_volume.max_bytes = 50ULL << 20;
	r->data_volume.baseline_ratio = 10;
	r->data_volume.baseline_s = 3600;
	r->data_volume.min_baseline_bytes = 1ULL << 20;
}

static struct policy *policy_new(void)
{
	struct policy *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->source = "built-in";
	p->version = 1;
	p->cooldown_s = 300;
	p->limits = (struct tg_limits){
		.cgroups = 16384,
		.hosts = 65536,
		.endpoints = 1048576,
		.enumerations = 16384,
		.paginations = 16384,
		.retries = 65536,
		.cooldowns = 32768,
	};
	default_rules(&p->base.rules);
	p->mode = def_mode;
	p->protected_cgroups = SLIST(def_protected);
	p->metrics = (struct policy_metrics){.max_endpoints = 100, .max_series = 100000};
	return p;
}

struct policy *policy_default(void)
{
	return policy_new();
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	arena_free(p->arena);
	free(p);
}

/* ---- the key table ---- */

enum pk_type {
	PK_BOOL,
	PK_U32,
	PK_U64,
	PK_DOUBLE,
	PK_SEVERITY,
	PK_STR,
	PK_STRLIST,
	PK_MAP,  /* a mapping described by .sub; its fields are at base + off + their off */
	PK_LIST, /* a sequence read and written by .list / .show */
};

struct pctx;

struct pkey {
	const char *name;
	int type;
	size_t off;
	double min, max;           /* numbers: accepted range */
	const struct pkey *sub;    /* PK_MAP */
	const char *doc;           /* unit and comparison, shown as a comment */
	int deferred;              /* read after the other keys of its mapping */
	int (*list)(struct pctx *c, yaml_node_t *n, void *field, const char *path);
	void (*show)(FILE *f, const struct policy *p, int indent);
};

#define U32(n, type_, field, lo, hi, d) {n, PK_U32, offsetof(type_, field), lo, hi, .doc = d}
#define U64(n, type_, field, lo, hi, d) {n, PK_U64, offsetof(type_, field), lo, hi, .doc = d}
#define DBL(n, type_, field, lo, hi, d) {n, PK_DOUBLE, offsetof(type_, field), lo, hi, .doc = d}
#define SLST(n, type_, field, d) {n, PK_STRLIST, offsetof(type_, field), 0, POLICY_MAX_STRINGS, .doc = d}
#define SLSTN(n, type_, field, cap, d) {n, PK_STRLIST, offsetof(type_, field), 0, cap, .doc = d}
#define RULE_COMMON(r, wlo, whi, wdoc)                                                      \
	{"enabled", PK_BOOL, offsetof(struct tg_rules, r.b.enabled), .doc = "true or false"}, \
	{"severity", PK_SEVERITY, offsetof(struct tg_rules, r.b.severity),                  \
	 .doc = "low, medium, high or critical"},                                          \
	U32("window_s", struct tg_rules, r.b.window_s, wlo, whi, wdoc)

static const struct pkey volume_keys[] = {
	RULE_COMMON(volume, 10, 86400, "seconds"),
	U32("threshold", struct tg_rules, volume.threshold, 1, 1e9,
	    "requests per (cgroup, host) in window_s; fires at >="),
	{0},
};
static const struct pkey rapid_keys[] = {
	RULE_COMMON(rapid, 10, 86400, "seconds"),
	U32("threshold", struct tg_rules, rapid.threshold, 1, 1e9,
	    "rapid requests per (cgroup, endpoint) in window_s; fires at >="),
	U32("max_gap_ms", struct tg_rules, rapid.max_gap_ms, 1, 3600000,
	    "a request is rapid when it follows the previous one to its endpoint by less"),
	{0},
};
static const struct pkey rate_limit_keys[] = {
	RULE_COMMON(rate_limit, 10, 86400, "seconds"),
	U32("threshold", struct tg_rules, rate_limit.threshold, 1, 1e9,
	    "429 responses per (cgroup, host) in window_s, then one more request; fires at >="),
	{0},
};
static const struct pkey retry_loop_keys[] = {
	RULE_COMMON(retry_loop, 1, 86400, "seconds: longest gap from an error to its re-send"),
	U32("threshold", struct tg_rules, retry_loop.threshold, 0, 1e6,
	    "re-sends of one request after 429/5xx; fires at >"),
	{0},
};
static const struct pkey parallel_keys[] = {
	RULE_COMMON(parallel, 10, 86400, "seconds"),
	U32("concurrency", struct tg_rules, parallel.concurrency, 1, 1e6,
	    "requests in flight per (cgroup, host); counts when >"),
	U32("threshold", struct tg_rules, parallel.threshold, 1, 1e9,
	    "requests sent above that concurrency in window_s; fires at >="),
	U32("inflight_timeout_s", struct tg_rules, parallel.inflight_timeout_s, 3, 3600,
	    "seconds after which a request with no response is no longer in flight"),
	{0},
};
static const struct pkey growth_keys[] = {
	RULE_COMMON(growth, 60, 86400, "seconds: the recent window"),
	DBL("ratio", struct tg_rules, growth.ratio, 1, 1e6,
	    "recent request rate / baseline rate; fires at >"),
	U32("baseline_s", struct tg_rules, growth.baseline_s, 60, 604800,
	    "seconds of history before the recent window"),
	U32("min_requests", struct tg_rules, growth.min_requests, 1, 1e9,
	    "requests in the recent window needed; >="),
	{0},
};
static const struct pkey cost_keys[] = {
	RULE_COMMON(cost, 60, 86400, "seconds"),
	DBL("max_usd", struct tg_rules, cost.max_usd, 0, 1e12,
	    "USD per cgroup in window_s (prices:); fires at >"),
	DBL("baseline_ratio", struct tg_rules, cost.baseline_ratio, 1, 1e6,
	    "spend in window_s / the cgroup's average per window_s; fires at >"),
	U32("baseline_s", struct tg_rules, cost.baseline_s, 3600, 2592000,
	    "seconds of history the baseline averages"),
	DBL("min_usd", struct tg_rules, cost.min_usd, 0, 1e12,
	    "the ratio test needs at least this spend in window_s"),
	{0},
};
static const struct pkey enumeration_keys[] = {
	RULE_COMMON(enumeration, 10, 86400, "seconds"),
	U32("threshold", struct tg_rules, enumeration.threshold, 2, ENUM_IDS_MAX,
	    "distinct numeric ids per (cgroup, endpoint) in window_s; fires at >="),
	DBL("min_increasing", struct tg_rules, enumeration.min_increasing, 0, 1,
	    "share of ids larger than the one before; >= ..."),
	DBL("min_density", struct tg_rules, enumeration.min_density, 0, 1,
	    "... or distinct ids / (max - min + 1); >="),
	{0},
};
static const struct pkey pagination_keys[] = {
	RULE_COMMON(pagination, 10, 86400, "seconds"),
	U32("threshold", struct tg_rules, pagination.threshold, 1, PAGE_VALUES_MAX - 1,
	    "distinct paging values per (cgroup, endpoint) in window_s; fires at >"),
	SLST("params", struct tg_rules, pagination.params,
	     "query parameter names that page (case-insensitive)"),
	{0},
};
static const struct pkey cross_endpoint_keys[] = {
	RULE_COMMON(cross_endpoint, 10, 86400, "seconds"),
	U32("threshold", struct tg_rules, cross_endpoint.threshold, 1, CROSS_TPL_MAX - 1,
	    "distinct path templates per (cgroup, host) in window_s, with a list -> detail "
	    "pair; fires at >"),
	{0},
};
static const struct pkey observability_api_keys[] = {
	RULE_COMMON(observability_api, 10, 86400, "seconds"),
	U32("threshold", struct tg_rules, observability_api.threshold, 1, OBS_TARGETS_MAX - 1,
	    "distinct requests per cgroup to these paths in window_s; fires at >"),
	SLST("paths", struct tg_rules, observability_api.paths, "path prefixes"),
	SLST("ignore_params", struct tg_rules, observability_api.ignore_params,
	     "query parameters that do not make a request distinct"),
	{0},
};
static const struct pkey data_volume_keys[] = {
	RULE_COMMON(data_volume, 10, 86400, "seconds"),
	U64("max_bytes", struct tg_rules, data_volume.max_bytes, 1, 1e15,
	    "response bytes per cgroup in window_s; fires at >"),
	DBL("baseline_ratio", struct tg_rules, data_volume.baseline_ratio, 1, 1e6,
	    "bytes in window_s / the baseline's bytes per window_s; fires at >"),
	U32("baseline_s", struct tg_rules, data_volume.baseline_s, 600, 604800,
	    "seconds of history the baseline averages"),
	U64("min_baseline_bytes", struct tg_rules, data_volume.min_baseline_bytes, 0, 1e15,
	    "the ratio test needs this baseline per window_s"),
	{0},
};

static const struct pkey rules_keys[] = {
	{"volume", PK_MAP, 0, .sub = volume_keys},
	{"rapid", PK_MAP, 0, .sub = rapid_keys},
	{"rate_limit", PK_MAP, 0, .sub = rate_limit_keys},
	{"retry_loop", PK_MAP, 0, .sub = retry_loop_keys},
	{"parallel", PK_MAP, 0, .sub = parallel_keys},
	{"growth", PK_MAP, 0, .sub = growth_keys},
	{"cost", PK_MAP, 0, .sub = cost_keys},
	{"enumeration", PK_MAP, 0, .sub = enumeration_keys},
	{"pagination", PK_MAP, 0, .sub = pagination_keys},
	{"cross_endpoint", PK_MAP, 0, .sub = cross_endpoint_keys},
	{"observability_api", PK_MAP, 0, .sub = observability_api_keys},
	{"data_volume", PK_MAP, 0, .sub = data_volume_keys},
	{0},
};

static const struct pkey allow_keys[] = {
	SLST("hosts", struct allowlist, hosts, "globs on host[:port]; matching requests are ignored"),
	SLST("endpoints", struct allowlist, endpoints,
	     "globs on host + path template; matching requests are ignored"),
	{0},
};

static const struct pkey limits_keys[] = {
	U32("cgroups", struct tg_limits, cgroups, 16, 1 << 24, "entries; least recently used evicted"),
	U32("hosts", struct tg_limits, hosts, 16, 1 << 26, "(cgroup, host) entries"),
	U32("endpoints", struct tg_limits, endpoints, 16, 1 << 28, "(cgroup, endpoint) entries"),
	U32("enumerations", struct tg_limits, enumerations, 16, 1 << 24,
	    "(cgroup, endpoint with a numeric id) entries"),
	U32("paginations", struct tg_limits, paginations, 16, 1 << 24,
	    "(cgroup, endpoint with paging parameters) entries"),
	U32("retries", struct tg_limits, retries, 16, 1 << 24,
	    "(cgroup, request after an error response) entries"),
	U32("cooldowns", struct tg_limits, cooldowns, 16, 1 << 24, "(rule, cgroup, key) entries"),
	{0},
};

static const struct pkey price_keys[] = {
	{"match", PK_STR, offsetof(struct price, match),
	 .doc = "glob on host + path template if it holds '/', else on host[:port]"},
	DBL("usd", struct price, usd, 0, 1e6, "USD per request"),
	{0},
};

static const struct pkey override_keys[] = {
	{"cgroup", PK_STR, offsetof(struct profile, cgroup), .doc = "glob on the cgroup path"},
	{"name", PK_STR, offsetof(struct profile, name),
	 .doc = "profile a container's tollgate.io/policy annotation selects"},
	{"rules", PK_MAP, offsetof(struct profile, rules), .sub = rules_keys},
	{"allow", PK_MAP, offsetof(struct profile, allow), .sub = allow_keys},
	{0},
};

static const struct pkey action_keys[] = {
	{"rule", PK_STR, offsetof(struct policy_action, rule), .doc = "a rule name, or \"*\""},
	{"min_severity", PK_SEVERITY, offsetof(struct policy_action, min_severity),
	 .doc = "alerts at or above this severity"},
	{"action", PK_STR, offsetof(struct policy_action, action),
	 .doc = "alert, throttle, freeze or kill"},
	DBL("rate", struct policy_action, rate, 0.001, 1e6, "throttle: requests per second"),
	U32("burst", struct policy_action, burst, 1, 1000000, "throttle: bucket depth"),
	U32("duration", struct policy_action, duration_s, 0, 31536000,
	    "seconds the verdict or freeze lasts; 0: until tollgate unblock"),
	{0},
};

static const struct pkey net_keys[] = {
	{"cgroup", PK_STR, offsetof(struct policy_net, cgroup), .doc = "glob on the cgroup path"},
	{"allow", PK_STR, offsetof(struct policy_net, allow), .doc = "CIDR"},
	{"deny", PK_STR, offsetof(struct policy_net, deny), .doc = "CIDR"},
	U32("port", struct policy_net, port, 1, 65535, "destination port; absent: any"),
	{0},
};

static const struct pkey metrics_keys[] = {
	U32("max_endpoints", struct policy_metrics, max_endpoints, 1, 1000000,
	    "endpoint labels per session; more count as endpoint=\"other\""),
	U32("max_series", struct policy_metrics, max_series, 100, 100000000,
	    "series in all; more are dropped and counted"),
	{0},
};

static int parse_prices(struct pctx *c, yaml_node_t *n, void *field, const char *path);
static int parse_actions(struct pctx *c, yaml_node_t *n, void *field, const char *path);
static int parse_network(struct pctx *c, yaml_node_t *n, void *field, const char *path);
static void show_actions(FILE *f, const struct policy *p, int indent);
static void show_network(FILE *f, const struct policy *p, int indent);
static int parse_overrides(struct pctx *c, yaml_node_t *n, void *field, const char *path);
static void show_prices(FILE *f, const struct policy *p, int indent);
static void show_overrides(FILE *f, const struct policy *p, int indent);

static const struct pkey top_keys[] = {
	U32("version", struct policy, version, 1, 1, "schema version"),
	U32("cooldown_s", struct policy, cooldown_s, 0, 604800,
	    "one alert per (rule, cgroup, key) per cool-down, then a summary"),
	{"limits", PK_MAP, offsetof(struct policy, limits), .sub = limits_keys},
	{"allow", PK_MAP, offsetof(struct policy, base.allow), .sub = allow_keys},
	{"prices", PK_LIST, offsetof(struct policy, prices), .list = parse_prices,
	 .show = show_prices},
	{"rules", PK_MAP, offsetof(struct policy, base.rules), .sub = rules_keys},
	{"overrides", PK_LIST, offsetof(struct policy, overrides), .deferred = 1,
	 .list = parse_overrides, .show = show_overrides},
	{"mode", PK_STR, offsetof(struct policy, mode),
	 .doc = "enforce, or monitor: actions are logged with dry_run, nothing is done"},
	{"actions", PK_LIST, offsetof(struct policy, actions), .list = parse_actions,
	 .show = show_actions},
	SLSTN("protected_cgroups", struct policy, protected_cgroups, POLICY_MAX_PROTECTED,
	     "never acted on, with their descendants (the root and tollgate's own cgroup always)"),
	{"network", PK_LIST, offsetof(struct policy, network), .list = parse_network,
	 .show = show_network},
	{"metrics", PK_MAP, offsetof(struct policy, metrics), .sub = metrics_keys},
	{0},
};

static const char *const act_names[ACT_MAX] = {"alert", "throttle", "freeze", "kill"};

const char *action_type_name(int type)
{
	return (type >= 0 && type < ACT_MAX) ? act_names[type] : "?";
}

int action_type_from_name(const char *name)
{
	for (int t = 0; t < ACT_MAX; t++)
		if (!strcmp(act_names[t], name))
			return t;
	return -1;
}

/* ---- reading ---- */

struct pctx {
	const char *file;
	yaml_document_t *doc;
	struct policy *p;
	policy_err_fn err;
	void *ectx;
	int nerr;
};

static void perr(struct pctx *c, const yaml_node_t *n, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void perr(struct pctx *c, const yaml_node_t *n, const char *path, const char *fmt, ...)
{
	char msg[768], body[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	snprintf(msg, sizeof(msg), "%s:%zu: %s%s%s", c->file, n ? n->start_mark.line + 1 : 1,
		 path && *path ? path : "", path && *path ? ": " : "", body);
	c->nerr++;
	if (c->err)
		c->err(c->ectx, msg);
	else
		tg_err("%s", msg);
}

static const char *scalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static int is_null(const yaml_node_t *n)
{
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	const char *s = scalar(n);
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	       !strcmp(s, "NULL");
}

/* What a node is, for "expected X, got Y". */
static void describe(const yaml_node_t *n, char *out, size_t len)
{
	if (n->type == YAML_MAPPING_NODE)
		snprintf(out, len, "a mapping");
	else if (n->type == YAML_SEQUENCE_NODE)
		snprintf(out, len, "a list");
	else if (is_null(n))
		snprintf(out, len, "nothing");
	else if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
		snprintf(out, len, "\"%.60s\"", scalar(n));
	else
		snprintf(out, len, "the quoted string \"%.60s\"", scalar(n));
}

static int expect(struct pctx *c, const yaml_node_t *n, const char *path, const char *what)
{
	char got[96];

	describe(n, got, sizeof(got));
	perr(c, n, path, "expected %s, got %s", what, got);
	return -EINVAL;
}

static int plain(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       !is_null(n);
}

static int parse_strlist(struct pctx *c, yaml_node_t *n, struct strlist *l, const char *path,
			 uint32_t max)
{
	yaml_node_item_t *it;
	uint32_t i = 0, cnt;

	if (is_null(n)) {
		l->v = NULL;
		l->n = 0;
		return 0;
	}
	if (n->type != YAML_SEQUENCE_NODE)
		return expect(c, n, path, "a list of strings");
	cnt = (uint32_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (cnt > max) {
		perr(c, n, path, "%u entries is more than %u", cnt, max);
		return -EINVAL;
	}
	l->v = arena_alloc(&c->p->arena, (cnt ? cnt : 1) * sizeof(char *));
	if (!l->v)
		return -ENOMEM;
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *e = yaml_document_get_node(c->doc, *it);
		char ep[300];
		if (snprintf(ep, sizeof(ep), "%s[%u]", path, i) >= (int)sizeof(ep))
			ep[sizeof(ep) - 1] = 0;
		if (!e || e->type != YAML_SCALAR_NODE || is_null(e) || !*scalar(e)) {
			expect(c, e ? e : n, ep, "a non-empty string");
			continue;
		}
		l->v[i] = arena_strndup(&c->p->arena, scalar(e), e->data.scalar.length);
		if (!l->v[i])
			return -ENOMEM;
		i++;
	}
	l->n = i;
	return 0;
}

static int parse_value(struct pctx *c, const struct pkey *k, yaml_node_t *n, char *base,
		       const char *path);

static int parse_map(struct pctx *c, const struct pkey *keys, yaml_node_t *n, char *base,
		     const char *path)
{
	yaml_node_pair_t *pr;
	uint64_t seen = 0;
	int err = 0;

	if (is_null(n))
		return 0;
	if (n->type != YAML_MAPPING_NODE)
		return expect(c, n, path, "a mapping");
	for (int pass = 0; pass < 2; pass++) {
		for (pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
			yaml_node_t *kn = yaml_document_get_node(c->doc, pr->key);
			yaml_node_t *vn = yaml_document_get_node(c->doc, pr->value);
			const struct pkey *k;
			char kp[300];
			int i;

			if (!kn || !vn)
				continue;
			if (kn->type != YAML_SCALAR_NODE) {
				if (pass == 0)
					expect(c, kn, path, "a key");
				continue;
			}
			for (i = 0, k = keys; k->name; k++, i++)
				if (!strcmp(k->name, scalar(kn)))
					break;
			if (!k->name) {
				if (pass == 0) {
					char known[512];
					size_t o = 0;
					known[0] = 0;
					for (const struct pkey *q = keys; q->name && o < sizeof(known);
					     q++)
						o += (size_t)snprintf(known + o, sizeof(known) - o,
								      "%s%s", q == keys ? "" : ", ",
								      q->name);
					perr(c, kn, NULL, "unknown key \"%s\"%s%s (known: %s)",
					     scalar(kn), *path ? " in " : "", path, known);
				}
				continue;
			}
			if (k->deferred != pass)
				continue;
			if (snprintf(kp, sizeof(kp), "%s%s%s", path, *path ? "." : "", k->name) >=
			    (int)sizeof(kp))
				kp[sizeof(kp) - 1] = 0;
			if (seen & (1ULL << i)) {
				perr(c, kn, NULL, "duplicate key \"%s\"%s%s", k->name,
				     *path ? " in " : "", path);
				continue;
			}
			seen |= 1ULL << i;
			int e = parse_value(c, k, vn, base, kp);
			if (e == -ENOMEM)
				return e;
			if (e)
				err = e;
		}
	}
	return err;
}

static int parse_value(struct pctx *c, const struct pkey *k, yaml_node_t *n, char *base,
		       const char *path)
{
	void *f = base + k->off;
	uint64_t u;
	double d;
	int e;

	switch (k->type) {
	case PK_BOOL: {
		static const char *const t[] = {"true", "yes", "on"}, *const fl[] = {"false", "no", "off"};
		if (plain(n)) {
			for (int i = 0; i < 3; i++) {
				if (!strcmp(scalar(n), t[i]))
					return *(int *)f = 1, 0;
				if (!strcmp(scalar(n), fl[i]))
					return *(int *)f = 0, 0;
			}
		}
		return expect(c, n, path, "true or false");
	}
	case PK_U32:
	case PK_U64:
		if (!plain(n))
			return expect(c, n, path, "an integer");
		e = parse_u64(scalar(n), 0, UINT64_MAX, &u);
		if (e == -EINVAL && scalar(n)[0] == '-' && !parse_u64(scalar(n) + 1, 0, UINT64_MAX, &u))
			e = -ERANGE; /* a negative integer */
		else if (e == -EINVAL)
			return expect(c, n, path, "an integer");
		if (e || (double)u < k->min || (double)u > k->max) {
			perr(c, n, path, "%s is out of range (%.0f..%.0f)", scalar(n), k->min, k->max);
			return -ERANGE;
		}
		if (k->type == PK_U32)
			*(uint32_t *)f = (uint32_t)u;
		else
			*(uint64_t *)f = u;
		return 0;
	case PK_DOUBLE:
		if (!plain(n))
			return expect(c, n, path, "a number");
		e = parse_double(scalar(n), -1e300, 1e300, &d);
		if (e)
			return expect(c, n, path, "a number");
		if (d < k->min || d > k->max) {
			perr(c, n, path, "%s is out of range (%g..%g)", scalar(n), k->min, k->max);
			return -ERANGE;
		}
		*(double *)f = d;
		return 0;
	case PK_SEVERITY: {
		int s = plain(n) ? alert_severity_from_name(scalar(n)) : 0;
		if (!s)
			return expect(c, n, path, "low, medium, high or critical");
		*(int *)f = s;
		return 0;
	}
	case PK_STR:
		if (n->type != YAML_SCALAR_NODE || is_null(n) || !*scalar(n))
			return expect(c, n, path, "a non-empty string");
		*(char **)f = arena_strndup(&c->p->arena, scalar(n), n->data.scalar.length);
		return *(char **)f ? 0 : -ENOMEM;
	case PK_STRLIST:
		return parse_strlist(c, n, f, path, (uint32_t)k->max);
	case PK_MAP:
		return parse_map(c, k->sub, n, (char *)f, path);
	case PK_LIST:
		if (is_null(n))
			return 0;
		if (n->type != YAML_SEQUENCE_NODE)
			return expect(c, n, path, "a list");
		return k->list(c, n, f, path);
	}
	return -EINVAL;
}

static uint32_t seq_len(const yaml_node_t *n)
{
	return (uint32_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}

/* Is key @name present in mapping @n? */
static int has_key(struct pctx *c, yaml_node_t *n, const char *name)
{
	if (n->type != YAML_MAPPING_NODE)
		return 0;
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
	     pr++) {
		yaml_node_t *kn = yaml_document_get_node(c->doc, pr->key);
		if (kn && kn->type == YAML_SCALAR_NODE && !strcmp(scalar(kn), name))
			return 1;
	}
	return 0;
}

/*
 * A list of mappings described by @keys, each an element of @size bytes: allocated in the
 * arena, zeroed, read with parse_map, then given to @check (may be NULL) for what the key
 * table cannot say (required keys, one-of, names). Every element's errors are reported.
 * Returns 0 or an error; *@out / *@count get the array either way.
 */
typedef int (*elem_check_fn)(struct pctx *c, yaml_node_t *e, void *elem, const char *path);

static int parse_list_of(struct pctx *c, yaml_node_t *n, const char *path, const struct pkey *keys,
			 size_t size, uint32_t max, const char *what, elem_check_fn check,
			 void **out, uint32_t *count)
{
	uint32_t cnt = seq_len(n), i = 0;
	char *v;
	int err = 0;

	if (cnt > max) {
		perr(c, n, path, "%u %s is more than %u", cnt, what, max);
		return -EINVAL;
	}
	v = arena_alloc(&c->p->arena, (cnt ? cnt : 1) * size);
	if (!v)
		return -ENOMEM;
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++, i++) {
		yaml_node_t *e = yaml_document_get_node(c->doc, *it);
		char *elem = v + i * size;
		char ip[300];
		if (snprintf(ip, sizeof(ip), "%s[%u]", path, i) >= (int)sizeof(ip))
			ip[sizeof(ip) - 1] = 0;
		memset(elem, 0, size);
		if (e->type != YAML_MAPPING_NODE) { /* an empty item would be all defaults */
			err = expect(c, e, ip, "a mapping");
			continue;
		}
		int r = parse_map(c, keys, e, elem, ip);
		if (r == -ENOMEM)
			return r;
		if (!r && check && e->type == YAML_MAPPING_NODE)
			r = check(c, e, elem, ip);
		if (r)
			err = r;
	}
	*out = v;
	*count = cnt;
	return err;
}

static int missing(struct pctx *c, yaml_node_t *e, const char *path, const char *key)
{
	if (has_key(c, e, key))
		return 0;
	perr(c, e, path, "missing key \"%s\"", key);
	return -EINVAL;
}

static int check_price(struct pctx *c, yaml_node_t *e, void *elem, const char *path)
{
	(void)elem;
	int a = missing(c, e, path, "match"), b = missing(c, e, path, "usd");
	return a ? a : b;
}

static int parse_prices(struct pctx *c, yaml_node_t *n, void *field, const char *path)
{
	(void)field;
	return parse_list_of(c, n, path, price_keys, sizeof(struct price), POLICY_MAX_PRICES, "prices",
			     check_price, (void **)&c->p->prices, &c->p->nprices);
}

static int parse_overrides(struct pctx *c, yaml_node_t *n, void *field, const char *path)
{
	uint32_t cnt = seq_len(n), i = 0;
	struct profile *v;
	int err = 0;

	(void)field;
	if (cnt > POLICY_MAX_OVERRIDES) {
		perr(c, n, path, "%u overrides is more than 1024", cnt);
		return -EINVAL;
	}
	v = arena_alloc(&c->p->arena, (cnt ? cnt : 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++, i++) {
		yaml_node_t *e = yaml_document_get_node(c->doc, *it);
		char ip[300];
		if (snprintf(ip, sizeof(ip), "%s[%u]", path, i) >= (int)sizeof(ip))
			ip[sizeof(ip) - 1] = 0;
		v[i] = c->p->base;
		v[i].cgroup = NULL;
		v[i].line = (int)e->start_mark.line + 1;
		if (e->type != YAML_MAPPING_NODE) {
			err = expect(c, e, ip, "a mapping");
			continue;
		}
		int r = parse_map(c, override_keys, e, (char *)&v[i], ip);
		if (r == -ENOMEM)
			return r;
		if (!r && e->type == YAML_MAPPING_NODE && !v[i].cgroup)
			perr(c, e, ip, "missing key \"cgroup\""), r = -EINVAL;
		if (r)
			err = r;
	}
	c->p->overrides = v;
	c->p->noverrides = cnt;
	return err;
}

static int known_rule(const char *r)
{
	return !strcmp(r, "*") || rule_from_name(r) >= 0;
}

static int check_action(struct pctx *c, yaml_node_t *e, void *elem, const char *path)
{
	struct policy_action *a = elem;
	int r = 0;

	if (!a->rule)
		return missing(c, e, path, "rule");
	if (!known_rule(a->rule)) {
		perr(c, e, path, "rule: unknown rule \"%s\"", a->rule);
		r = -EINVAL;
	}
	if (!a->action)
		return missing(c, e, path, "action");
	if (action_type_from_name(a->action) < 0) {
		perr(c, e, path, "action: expected alert, throttle, freeze or kill, got \"%s\"",
		     a->action);
		return -EINVAL;
	}
	if (!strcmp(a->action, "throttle")) {
		if (!has_key(c, e, "rate")) {
			perr(c, e, path, "a throttle needs \"rate\"");
			return -EINVAL;
		}
		if (!a->burst)
			a->burst = a->rate >= 1 ? (uint32_t)a->rate : 1;
	}
	return r;
}

static int parse_actions(struct pctx *c, yaml_node_t *n, void *field, const char *path)
{
	(void)field;
	return parse_list_of(c, n, path, action_keys, sizeof(struct policy_action), POLICY_MAX_ACTIONS,
			     "actions",
			     check_action, (void **)&c->p->actions, &c->p->nactions);
}

int policy_cidr_parse(const char *s, struct policy_cidr *r)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	uint64_t prefix;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%.*s", slash ? (int)(slash - s) : (int)strlen(s), s);
	memset(r->addr, 0, sizeof(r->addr));
	if (inet_pton(AF_INET, buf, r->addr) == 1)
		r->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, r->addr) == 1)
		r->family = AF_INET6;
	else
		return -EINVAL;
	int max = r->family == AF_INET ? 32 : 128;
	if (slash) {
		if (parse_u64(slash + 1, 0, (uint64_t)max, &prefix))
			return -EINVAL;
		r->prefix = (int)prefix;
	} else {
		r->prefix = max;
	}
	/* clear host bits: 10.1.2.3/8 means 10.0.0.0/8 */
	for (int bit = r->prefix; bit < max; bit++)
		r->addr[bit / 8] &= (uint8_t) ~(0x80 >> (bit % 8));
	/* the BPF side looks IPv4-mapped destinations (::ffff:a.b.c.d, RFC 4291 2.5.5.2) up as
	 * IPv4, so a mapped rule is installed as the IPv4 rule it means */
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (r->family == AF_INET6 && r->prefix >= 96 && !memcmp(r->addr, mapped, 12)) {
		memmove(r->addr, r->addr + 12, 4);
		memset(r->addr + 4, 0, 12);
		r->family = AF_INET;
		r->prefix -= 96;
	}
	return 0;
}

static int check_net(struct pctx *c, yaml_node_t *e, void *elem, const char *path)
{
	struct policy_net *r = elem;

	if (!!r->allow == !!r->deny) {
		perr(c, e, path, "needs exactly one of \"allow\" and \"deny\"");
		return -EINVAL;
	}
	if (policy_cidr_parse(r->allow ? r->allow : r->deny, &r->cidr)) {
		perr(c, e, path, "%s: \"%s\" is not an address or CIDR", r->allow ? "allow" : "deny",
		     r->allow ? r->allow : r->deny);
		return -EINVAL;
	}
	return 0;
}

static int parse_network(struct pctx *c, yaml_node_t *n, void *field, const char *path)
{
	(void)field;
	return parse_list_of(c, n, path, net_keys, sizeof(struct policy_net), POLICY_MAX_NETWORK,
			     "network rules", check_net, (void **)&c->p->network, &c->p->nnetwork);
}

static void load_err(policy_err_fn err, void *ectx, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void load_err(policy_err_fn err, void *ectx, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (err)
		err(ectx, msg);
	else
		tg_err("%s", msg);
}

/*
 * One pass over the parser's events before the document is built: a policy is exactly
 * one YAML document, nested at most POLICY_MAX_DEPTH deep. The depth is checked here
 * because libyaml's own cost grows with the square of the nesting (a 100,000-deep
 * "[[[...]]]" took over 20 s to load); this pass stops at the first level too deep.
 * Returns 0, or -EINVAL after one "FILE:LINE: ..." message (YAML syntax errors are left
 * to the loader, which reports them the same way).
 */
static int prescan(const char *name, const char *yaml, size_t len, policy_err_fn err,
		   void *ectx)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	int depth = 0, docs = 0, ret = 0, done = 0, empty = 1;

	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
	while (!done && !ret) {
		if (!yaml_parser_parse(&parser, &ev))
			break; /* a syntax error: the loader reports it */
		size_t line = ev.start_mark.line + 1;
		switch (ev.type) {
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1) {
				load_err(err, ectx, "%s:%zu: a second YAML document; a policy is one "
					 "document", name, line);
				ret = -EINVAL;
			}
			break;
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT:
			empty = 0;
			if (++depth > POLICY_MAX_DEPTH) {
				load_err(err, ectx, "%s:%zu: nested more than %d levels deep", name,
					 line, POLICY_MAX_DEPTH);
				ret = -EINVAL;
			}
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			depth--;
			break;
		case YAML_SCALAR_EVENT:
		case YAML_ALIAS_EVENT:
			empty = 0;
			break;
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	if (done && !ret && empty) {
		load_err(err, ectx, "%s:1: empty: a policy needs at least \"version: 1\"", name);
		ret = -EINVAL;
	}
	yaml_parser_delete(&parser);
	return ret;
}

int policy_load_string(const char *name, const char *yaml, size_t len, struct policy **out,
		       policy_err_fn err, void *ectx)
{
	struct pctx c = {.file = name, .err = err, .ectx = ectx};
	yaml_parser_t parser;
	yaml_document_t doc;
	struct policy *p;
	int ret = 0;

	*out = NULL;
	if (len > POLICY_MAX_BYTES) {
		load_err(err, ectx, "%s: %zu bytes is more than a policy may have (%u)", name, len,
			 POLICY_MAX_BYTES);
		return -EINVAL;
	}
	ret = prescan(name, yaml, len, err, ectx);
	if (ret)
		return ret;
	p = policy_new();
	if (!p)
		return -ENOMEM;
	c.p = p;
	c.doc = &doc;
	if (!yaml_parser_initialize(&parser)) {
		policy_free(p);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
	if (!yaml_parser_load(&parser, &doc)) {
		char msg[512];
		snprintf(msg, sizeof(msg), "%s:%zu: YAML syntax error: %s%s%s", name,
			 parser.problem_mark.line + 1, parser.problem ? parser.problem : "?",
			 parser.context ? " " : "", parser.context ? parser.context : "");
		if (err)
			err(ectx, msg);
		else
			tg_err("%s", msg);
		yaml_parser_delete(&parser);
		policy_free(p);
		return -EINVAL;
	}
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (root)
		ret = parse_map(&c, top_keys, root, (char *)p, "");
	if (root && ret != -ENOMEM && strcmp(p->mode, "enforce") && strcmp(p->mode, "monitor")) {
		yaml_node_t *mn = root;
		for (yaml_node_pair_t *pr = root->data.mapping.pairs.start;
		     pr < root->data.mapping.pairs.top; pr++) {
			yaml_node_t *kn = yaml_document_get_node(&doc, pr->key);
			if (kn && kn->type == YAML_SCALAR_NODE && !strcmp(scalar(kn), "mode"))
				mn = yaml_document_get_node(&doc, pr->value);
		}
		perr(&c, mn, "mode", "expected enforce or monitor, got \"%s\"", p->mode);
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (ret == -ENOMEM || c.nerr) {
		policy_free(p);
		return ret == -ENOMEM ? ret : -EINVAL;
	}
	p->source = arena_strndup(&p->arena, name, strlen(name));
	if (!p->source) {
		policy_free(p);
		return -ENOMEM;
	}
	*out = p;
	return 0;
}

int policy_load_file(const char *path, struct policy **out, policy_err_fn err, void *ectx)
{
	FILE *f = fopen(path, "r");
	struct stat st;
	char *buf = NULL;
	size_t len = 0, n;
	int ret;

	*out = NULL;
	if (!f)
		return -errno;
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		return -EISDIR;
	}
	/* read one byte past the cap, so a larger file is told apart from one at the cap */
	buf = malloc(POLICY_MAX_BYTES + 1);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	do {
		n = fread(buf + len, 1, POLICY_MAX_BYTES + 1 - len, f);
		len += n;
	} while (n > 0 && len <= POLICY_MAX_BYTES);
	ret = ferror(f) ? -EIO : 0;
	fclose(f);
	if (!ret)
		ret = policy_load_string(path, buf, len, out, err, ectx);
	free(buf);
	return ret;
}

/* ---- writing ---- */

static void put_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			fprintf(f, "\\x%02x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void put_double(FILE *f, double v)
{
	char b[64];
	snprintf(b, sizeof(b), "%.15g", v);
	if (strtod(b, NULL) != v)
		snprintf(b, sizeof(b), "%.17g", v);
	fputs(b, f);
}

static int list_eq(const struct strlist *a, const struct strlist *b)
{
	if (a->n != b->n)
		return 0;
	for (uint32_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]))
			return 0;
	return 1;
}

/* Does the value of @k differ between @a and @b (same struct type)? */
static int differs(const struct pkey *k, const char *a, const char *b)
{
	const void *x = a + k->off, *y = b + k->off;

	switch (k->type) {
	case PK_BOOL:
	case PK_SEVERITY:
		return *(const int *)x != *(const int *)y;
	case PK_U32:
		return *(const uint32_t *)x != *(const uint32_t *)y;
	case PK_U64:
		return *(const uint64_t *)x != *(const uint64_t *)y;
	case PK_DOUBLE:
		return *(const double *)x != *(const double *)y;
	case PK_STR: {
		const char *s = *(char *const *)x, *t = *(char *const *)y;
		return (s && t) ? strcmp(s, t) != 0 : s != t;
	}
	case PK_STRLIST:
		return !list_eq(x, y);
	case PK_MAP:
		for (const struct pkey *q = k->sub; q->name; q++)
			if (differs(q, (const char *)x, (const char *)y))
				return 1;
		return 0;
	default:
		return 0;
	}
}

static void print_map(FILE *f, const struct policy *p, const struct pkey *keys, const char *base,
		      const char *diff, int indent);

static void print_key(FILE *f, const struct policy *p, const struct pkey *k, const char *base,
		      const char *diff, int indent)
{
	const void *v = base + k->off;

	if (diff && !differs(k, base, diff))
		return;
	fprintf(f, "%*s%s:", indent, "", k->name);
	switch (k->type) {
	case PK_BOOL:
		fprintf(f, " %s", *(const int *)v ? "true" : "false");
		break;
	case PK_U32:
		fprintf(f, " %u", *(const uint32_t *)v);
		break;
	case PK_U64:
		fprintf(f, " %llu", (unsigned long long)*(const uint64_t *)v);
		break;
	case PK_DOUBLE:
		fputc(' ', f);
		put_double(f, *(const double *)v);
		break;
	case PK_SEVERITY:
		fprintf(f, " %s", alert_severity_name(*(const int *)v));
		break;
	case PK_STR:
		fputc(' ', f);
		put_str(f, *(char *const *)v ? *(char *const *)v : "");
		break;
	case PK_STRLIST: {
		const struct strlist *l = v;
		fputs(" [", f);
		for (uint32_t i = 0; i < l->n; i++) {
			if (i)
				fputs(", ", f);
			put_str(f, l->v[i]);
		}
		fputc(']', f);
		break;
	}
	case PK_MAP:
		if (k->doc)
			fprintf(f, "  # %s", k->doc);
		fputc('\n', f);
		print_map(f, p, k->sub, (const char *)v, diff ? diff + k->off : NULL, indent + 2);
		return;
	case PK_LIST:
		k->show(f, p, indent);
		return;
	}
	if (k->doc)
		fprintf(f, "  # %s", k->doc);
	fputc('\n', f);
}

static void print_map(FILE *f, const struct policy *p, const struct pkey *keys, const char *base,
		      const char *diff, int indent)
{
	for (const struct pkey *k = keys; k->name; k++)
		print_key(f, p, k, base, diff, indent);
}

static void show_prices(FILE *f, const struct policy *p, int indent)
{
	if (!p->nprices) {
		fputs(" []  # {match: GLOB, usd: N}: USD per request, first match wins\n", f);
		return;
	}
	fputs("  # USD per request, first match wins\n", f);
	for (uint32_t i = 0; i < p->nprices; i++) {
		fprintf(f, "%*s- match: ", indent, "");
		put_str(f, p->prices[i].match);
		fprintf(f, "\n%*s  usd: ", indent, "");
		put_double(f, p->prices[i].usd);
		fputc('\n', f);
	}
}

static void show_overrides(FILE *f, const struct policy *p, int indent)
{
	if (!p->noverrides) {
		fputs(" []  # {cgroup: GLOB, rules: ..., allow: ...}: first match wins\n", f);
		return;
	}
	fputs("  # first match wins; only what differs from the base is shown\n", f);
	for (uint32_t i = 0; i < p->noverrides; i++) {
		const struct profile *o = &p->overrides[i];
		fprintf(f, "%*s- cgroup: ", indent, "");
		put_str(f, o->cgroup);
		fputc('\n', f);
		for (const struct pkey *k = override_keys + 1; k->name; k++)
			print_key(f, p, k, (const char *)o, (const char *)&p->base, indent + 2);
	}
}

static void show_actions(FILE *f, const struct policy *p, int indent)
{
	if (!p->nactions) {
		fputs(" []  # {rule: NAME|\"*\", min_severity: S, action: alert|throttle|freeze|kill,"
		      " rate, burst, duration}: first match wins; none: alert only\n", f);
		return;
	}
	fputs("  # first match wins\n", f);
	for (uint32_t i = 0; i < p->nactions; i++) {
		const struct policy_action *a = &p->actions[i];
		fprintf(f, "%*s- rule: ", indent, "");
		put_str(f, a->rule);
		if (a->min_severity)
			fprintf(f, "\n%*s  min_severity: %s", indent, "",
				alert_severity_name(a->min_severity));
		fprintf(f, "\n%*s  action: ", indent, "");
		put_str(f, a->action);
		if (!strcmp(a->action, "throttle")) {
			fprintf(f, "\n%*s  rate: ", indent, "");
			put_double(f, a->rate);
			fprintf(f, "\n%*s  burst: %u", indent, "", a->burst);
		}
		fprintf(f, "\n%*s  duration: %u\n", indent, "", a->duration_s);
	}
}

static void show_network(FILE *f, const struct policy *p, int indent)
{
	if (!p->nnetwork) {
		fputs(" []  # {allow|deny: CIDR, port: N, cgroup: GLOB}: at connect() and sendmsg()\n",
		      f);
		return;
	}
	fputs("  # the most specific cgroup scope decides, then port, then the longest prefix\n", f);
	for (uint32_t i = 0; i < p->nnetwork; i++) {
		const struct policy_net *r = &p->network[i];
		fprintf(f, "%*s- %s: ", indent, "", r->allow ? "allow" : "deny");
		put_str(f, r->allow ? r->allow : r->deny);
		fputc('\n', f);
		if (r->port)
			fprintf(f, "%*s  port: %u\n", indent, "", r->port);
		if (r->cgroup) {
			fprintf(f, "%*s  cgroup: ", indent, "");
			put_str(f, r->cgroup);
			fputc('\n', f);
		}
	}
}

void policy_print(FILE *f, const struct policy *p)
{
	fprintf(f, "# tollgate detection policy (%s); docs/policy.md describes every key\n",
		p->source);
	print_map(f, p, top_keys, (const char *)p, NULL, 0);
}

/* ---- look-ups ---- */

int policy_profile_named(const struct policy *p, const char *name)
{
	for (uint32_t i = 0; name && i < p->noverrides; i++)
		if (p->overrides[i].name && !strcmp(p->overrides[i].name, name))
			return (int)i + 1;
	return -1;
}

unsigned policy_profile_for(const struct policy *p, const char *cgroup)
{
	if (!cgroup)
		return 0;
	for (uint32_t i = 0; i < p->noverrides; i++)
		if (fnmatch(p->overrides[i].cgroup, cgroup, 0) == 0)
			return i + 1;
	return 0;
}

static int any_glob(const struct strlist *l, const char *s)
{
	for (uint32_t i = 0; i < l->n; i++)
		if (fnmatch(l->v[i], s, 0) == 0)
			return 1;
	return 0;
}

int policy_host_allowed(const struct profile *pr, const char *host)
{
	return any_glob(&pr->allow.hosts, host);
}

int policy_endpoint_allowed(const struct profile *pr, const char *endpoint)
{
	return any_glob(&pr->allow.endpoints, endpoint);
}

double policy_price(const struct policy *p, const char *host, const char *endpoint)
{
	for (uint32_t i = 0; i < p->nprices; i++) {
		const char *m = p->prices[i].match;
		if (fnmatch(m, strchr(m, '/') ? endpoint : host, 0) == 0)
			return p->prices[i].usd;
	}
	return 0;
}

int policy_is_observability(const struct tg_rules *r, const char *path)
{
	const struct strlist *l = &r->observability_api.paths;

	for (uint32_t i = 0; i < l->n; i++)
		if (!strncmp(path, l->v[i], strlen(l->v[i])))
			return 1;
	return 0;
}

int strlist_has(const struct strlist *l, const char *name, size_t n)
{
	for (uint32_t i = 0; i < l->n; i++)
		if (!strncasecmp(l->v[i], name, n) && l->v[i][n] == 0)
			return 1;
	return 0;
}
