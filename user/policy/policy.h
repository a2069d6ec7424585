/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * policy.h - the detection policy: every threshold and window of the SAFE-T2102 and
 * SAFE-T1804 rules, the endpoint lists, the price table, allow-lists, state limits, and
 * overrides per cgroup path glob. docs/policy.md documents every key.
 *
 * In:  a YAML file (libyaml), or nothing: policy_default() is the built-in policy, whose
 *      values are issue 3's (the seeds' Sigma and Prometheus rules).
 * Out: struct policy, read by the detectors (detect.c); policy_print() writes it back as
 *      YAML (`tollgate policy show`), which policy_load_*() accepts again.
 * Errors: "FILE:LINE: KEY: what is wrong" for YAML syntax errors, unknown keys, duplicate
 *      keys, wrong types and out-of-range values, through the caller's error callback;
 *      every error in the file is reported, then the load fails with -EINVAL.
 *
 * The schema is a table of keys (struct pkey in policy.c): a new section (enforcement's
 * `mode`, `actions`, ...) is one row in the top-level table plus the struct fields it
 * fills; parsing, range checks, error messages and `policy show` come from the table.
 */
#ifndef TG_POLICY_H
#define TG_POLICY_H

#include <stdint.h>
#include <stdio.h>

enum rule_id {
	/* SAFE-T2102 API flooding */
	RULE_VOLUME = 0,
	RULE_RAPID,
	RULE_RATE_LIMIT,
	RULE_RETRY_LOOP,
	RULE_PARALLEL,
	RULE_GROWTH,
	RULE_COST,
	/* SAFE-T1804 API data harvest */
	RULE_ENUMERATION,
	RULE_PAGINATION,
	RULE_CROSS_ENDPOINT,
	RULE_OBSERVABILITY_API,
	RULE_DATA_VOLUME,
	RULE_MAX,
};

/* Caps on what a policy may hold: one definition for the reader (so `tollgate policy
 * check` refuses what `tollgate run` could not hold) and for the tables sized by them. */
#define POLICY_MAX_BYTES (1u << 20) /* a policy file */
#define POLICY_MAX_DEPTH 16         /* nested mappings and lists */
#define POLICY_MAX_ACTIONS 64       /* actions */
#define POLICY_MAX_PROTECTED 32     /* protected_cgroups */
#define POLICY_MAX_NETWORK 256      /* network rules */
#define POLICY_MAX_PRICES 4096      /* prices */
#define POLICY_MAX_OVERRIDES 1024   /* overrides */
#define POLICY_MAX_STRINGS 4096     /* any other list of strings */

/* Capacities of the distinct-key sets (window.h dset) behind the "distinct" rules; their
 * thresholds are range-checked against these. */
#define ENUM_IDS_MAX 64    /* enumeration: ids remembered per (cgroup, endpoint) */
#define PAGE_VALUES_MAX 32 /* pagination: paging values per (cgroup, endpoint) */
#define CROSS_TPL_MAX 16   /* cross_endpoint: templates per (cgroup, host) */
#define OBS_TARGETS_MAX 32 /* observability_api: request targets per cgroup */
/* (powers of two: window.h's dset indexes with a mask) */

struct strlist {
	char **v;
	uint32_t n;
};

/* Keys every rule has. */
struct rule_base {
	int enabled;
	int severity;      /* enum alert_severity */
	uint32_t window_s;
};

/* One profile's rule settings. Comparisons: ">=" or ">" as documented per key. */
struct tg_rules {
	struct rule_volume {
		struct rule_base b;
		uint32_t threshold;      /* requests per (cgroup, host), >= */
	} volume;
	struct rule_rapid {
		struct rule_base b;
		uint32_t threshold;      /* rapid requests per (cgroup, endpoint), >= */
		uint32_t max_gap_ms;     /* a request is rapid when it follows the previous one to
					  * the endpoint by less than this */
	} rapid;
	struct rule_rate_limit {
		struct rule_base b;
		uint32_t threshold;      /* 429 responses per (cgroup, host), >=, then a request */
	} rate_limit;
	struct rule_retry_loop {
		struct rule_base b;      /* window_s: longest error -> re-send gap in a chain */
		uint32_t threshold;      /* re-sends after 429/5xx, > */
	} retry_loop;
	struct rule_parallel {
		struct rule_base b;
		uint32_t concurrency;    /* requests in flight per (cgroup, host), > */
		uint32_t threshold;      /* requests sent above that concurrency, >= */
		uint32_t inflight_timeout_s; /* a request with no response is forgotten after */
	} parallel;
	struct rule_growth {
		struct rule_base b;      /* window_s: the recent window */
		double ratio;            /* recent rate / baseline rate, > */
		uint32_t baseline_s;     /* the window before it */
		uint32_t min_requests;   /* requests in window_s, >= */
	} growth;
	struct rule_cost {
		struct rule_base b;
		double max_usd;          /* USD per cgroup in window_s, > */
		double baseline_ratio;   /* spend in window_s / hourly baseline, > */
		uint32_t baseline_s;     /* history the baseline averages */
		double min_usd;          /* the ratio test needs at least this spend */
	} cost;
	struct rule_enumeration {
		struct rule_base b;
		uint32_t threshold;      /* distinct numeric ids per (cgroup, endpoint), >= */
		double min_increasing;   /* share of increasing steps, >= ... */
		double min_density;      /* ... or distinct / (max - min + 1), >= */
	} enumeration;
	struct rule_pagination {
		struct rule_base b;
		uint32_t threshold;      /* distinct paging values per (cgroup, endpoint), > */
		struct strlist params;   /* query parameter names that page */
	} pagination;
	struct rule_cross_endpoint {
		struct rule_base b;
		uint32_t threshold;      /* distinct templates per (cgroup, host), > */
	} cross_endpoint;
	struct rule_observability_api {
		struct rule_base b;
		uint32_t threshold;      /* distinct requests per cgroup, > */
		struct strlist paths;    /* path prefixes */
		struct strlist ignore_params; /* query parameters that do not make a request
					       * distinct (time ranges) */
	} observability_api;
	struct rule_data_volume {
		struct rule_base b;
		uint64_t max_bytes;      /* response bytes per cgroup in window_s, > */
		double baseline_ratio;   /* window_s volume / baseline volume, > */
		uint32_t baseline_s;
		uint64_t min_baseline_bytes; /* the ratio test needs this baseline per window */
	} data_volume;
};

struct allowlist {
	struct strlist hosts;     /* fnmatch globs on host[:port] */
	struct strlist endpoints; /* fnmatch globs on host + path template */
};

struct profile {
	char *cgroup;             /* fnmatch glob on the cgroup path; NULL for the base */
	char *name;               /* profile name a container's tollgate.io/policy annotation
				   * selects (OCI hook); NULL: selected by cgroup glob only */
	int line;                 /* where the override starts in the file */
	struct tg_rules rules;
	struct allowlist allow;
};

struct price {
	char *match;              /* glob: on the endpoint when it holds '/', else the host */
	double usd;               /* per request */
};

/* State table caps (entries); see docs/policy.md for bytes per entry. */
struct tg_limits {
	uint32_t cgroups;
	uint32_t hosts;           /* (cgroup, host) */
	uint32_t endpoints;       /* (cgroup, endpoint) */
	uint32_t enumerations;    /* (cgroup, endpoint) with numeric ids */
	uint32_t paginations;     /* (cgroup, endpoint) with paging parameters */
	uint32_t retries;         /* (cgroup, request) after an error response */
	uint32_t cooldowns;       /* (rule, cgroup, key) alerted */
};

/* Enforcement (enforce.h): what happens when a rule fires. */
/* What an action does to a cgroup (the policy's `action:` words, in this order). */
enum action_type {
	ACT_ALERT = 0, /* nothing beyond the alert */
	ACT_THROTTLE,  /* hold the cgroup's HTTP request and TCP connect rate to rate/burst */
	ACT_FREEZE,    /* cgroup.freeze for duration_s, then thaw (the seed's "suspend session") */
	ACT_KILL,      /* cgroup.kill, and a kill verdict that stops the cgroup in the kernel */
	ACT_MAX,
};

const char *action_type_name(int type);      /* "?" when out of range */
int action_type_from_name(const char *name); /* -1 when unknown */

struct policy_action {
	char *rule;               /* a rule name, or "*" */
	int min_severity;         /* enum alert_severity; 0: any */
	char *action;             /* alert, throttle, freeze, kill (action_type_from_name) */
	double rate;              /* throttle: requests per second */
	uint32_t burst;           /* throttle: bucket depth */
	uint32_t duration_s;      /* verdict lifetime; 0: until `tollgate unblock` */
};

/* An address or CIDR block as a network rule means it (policy_cidr_parse). */
struct policy_cidr {
	int family;       /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network byte order, host bits cleared */
	int prefix;       /* 0..32 or 0..128 */
};

struct policy_net {
	char *cgroup;             /* glob on the cgroup path; NULL: every cgroup */
	char *allow, *deny;       /* as written */
	uint32_t port;            /* 0: any port */
	struct policy_cidr cidr;  /* allow or deny, parsed */
};

struct policy_metrics {
	uint32_t max_endpoints;   /* distinct endpoint labels per session */
	uint32_t max_series;      /* series in all */
};

struct policy {
	const char *source;       /* file name, or "built-in" */
	uint32_t version;
	uint32_t cooldown_s;
	struct tg_limits limits;
	struct price *prices;
	uint32_t nprices;
	struct profile base;      /* profile 0 */
	struct profile *overrides;/* profiles 1..noverrides, first match wins */
	uint32_t noverrides;
	char *mode;               /* "enforce" or "monitor" */
	struct policy_action *actions;
	uint32_t nactions;
	struct strlist protected_cgroups; /* globs; with descendants */
	struct policy_net *network;
	uint32_t nnetwork;
	struct policy_metrics metrics;
	struct arena *arena;      /* owns every string and array above */
};

typedef void (*policy_err_fn)(void *ctx, const char *msg);

/* The built-in policy. NULL on allocation failure. */
struct policy *policy_default(void);
/*
 * policy_load_file - read @path. Errors go to @err (NULL: tg_err on stderr), one
 * "FILE:LINE: ..." line each. A policy is one YAML document, not empty, at most
 * POLICY_MAX_BYTES long and POLICY_MAX_DEPTH deep, each list within its POLICY_MAX_* cap.
 * Returns 0 with *@out set, -EINVAL after errors in the file (reported), or -errno when it
 * cannot be read (-EISDIR for a directory; not reported: the caller names the option).
 */
int policy_load_file(const char *path, struct policy **out, policy_err_fn err, void *ctx);
/* The same for YAML in memory; @name stands for the file in messages. */
int policy_load_string(const char *name, const char *yaml, size_t len, struct policy **out,
		       policy_err_fn err, void *ctx);
void policy_free(struct policy *p);

/* Write @p as YAML that policy_load_* reads back (comments name units and comparisons). */
void policy_print(FILE *f, const struct policy *p);

/* Profile 0 (base) .. noverrides. */
static inline const struct profile *policy_profile(const struct policy *p, unsigned i)
{
	return i ? &p->overrides[i - 1] : &p->base;
}
/* Index of the profile for a cgroup path: the first override whose glob matches, else 0
 * (also for a NULL path). */
unsigned policy_profile_for(const struct policy *p, const char *cgroup);
/* Index of the override named @name (a container's tollgate.io/policy annotation), or -1. */
int policy_profile_named(const struct policy *p, const char *name);

/* Is @host (host[:port]) / @endpoint (host + template) allow-listed in @pr? */
int policy_host_allowed(const struct profile *pr, const char *host);
int policy_endpoint_allowed(const struct profile *pr, const char *endpoint);
/* USD per request for a request to @host / @endpoint: the first price that matches, 0. */
double policy_price(const struct policy *p, const char *host, const char *endpoint);
/* Does @path start with one of the observability_api paths of @r? */
int policy_is_observability(const struct tg_rules *r, const char *path);
/* Is @name (@n bytes) one of @l's entries (ASCII case-insensitive)? */
int strlist_has(const struct strlist *l, const char *name, size_t n);

/* The rule_base of rule @id in @r. */
const struct rule_base *rules_base(const struct tg_rules *r, int id);
const char *rule_name(int id);
/* "SAFE-T2102" or "SAFE-T1804" */
const char *rule_technique(int id);
/* enum rule_id for a name, -1 */
int rule_from_name(const char *name);

/*
 * policy_cidr_parse - "10.0.0.0/8", "2001:db8::/32" or a bare address (a /32 or /128)
 * into @r, host bits cleared. An IPv4-mapped IPv6 block of prefix >= 96
 * (::ffff:a.b.c.d, RFC 4291 2.5.5.2) is returned as the IPv4 block it means, since the
 * kernel side looks mapped destinations up as IPv4. Returns 0 or -EINVAL.
 */
int policy_cidr_parse(const char *s, struct policy_cidr *r);

#endif
