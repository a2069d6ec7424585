// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The detection policy (policy.h): defaults, overrides, look-ups, and file:line errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "alert.h"
#include "enforce.h"
#include "policy.h"

struct errs {
	char msg[16][512];
	int n;
};

static void on_err(void *ctx, const char *m)
{
	struct errs *e = ctx;
	if (e->n < 16)
		snprintf(e->msg[e->n++], sizeof(e->msg[0]), "%s", m);
}

static int load(const char *yaml, struct policy **p, struct errs *e)
{
	memset(e, 0, sizeof(*e));
	return policy_load_string("p.yaml", yaml, strlen(yaml), p, on_err, e);
}

static void test_default_is_issue_3(void **state)
{
	struct policy *p = policy_default();
	const struct tg_rules *r = &p->base.rules;
	(void)state;
	assert_int_equal(p->cooldown_s, 300);
	assert_int_equal(r->volume.threshold, 100);
	assert_int_equal(r->volume.b.window_s, 300);
	assert_int_equal(r->rapid.threshold, 50);
	assert_int_equal(r->rapid.b.window_s, 60);
	assert_int_equal(r->rapid.max_gap_ms, 1000);
	assert_int_equal(r->rate_limit.threshold, 20);
	assert_int_equal(r->rate_limit.b.window_s, 300);
	assert_int_equal(r->retry_loop.threshold, 5);
	assert_int_equal(r->parallel.concurrency, 10);
	assert_int_equal(r->parallel.threshold, 5);
	assert_int_equal(r->parallel.b.window_s, 60);
	assert_true(r->growth.ratio == 3);
	assert_int_equal(r->growth.b.window_s, 300);
	assert_int_equal(r->growth.baseline_s, 900);
	assert_true(r->cost.max_usd == 100);
	assert_int_equal(r->cost.b.window_s, 3600);
	assert_true(r->cost.baseline_ratio == 3);
	assert_int_equal(r->enumeration.threshold, 20);
	assert_int_equal(r->enumeration.b.window_s, 600);
	assert_int_equal(r->pagination.threshold, 10);
	assert_int_equal(r->pagination.b.window_s, 60);
	assert_int_equal(r->pagination.params.n, 4); /* page, offset, cursor, after: not start */
	assert_int_equal(r->cross_endpoint.threshold, 5);
	assert_int_equal(r->cross_endpoint.b.window_s, 600);
	assert_int_equal(r->observability_api.threshold, 20);
	assert_int_equal(r->observability_api.b.window_s, 300);
	assert_int_equal(r->observability_api.paths.n, 8);
	assert_int_equal(r->data_volume.max_bytes, 50u << 20);
	assert_true(r->data_volume.baseline_ratio == 10);
	assert_int_equal(p->nprices, 0);
	assert_int_equal(p->noverrides, 0);
	for (int i = 0; i < RULE_MAX; i++)
		assert_true(rules_base(r, i)->enabled);
	assert_string_equal(rule_technique(RULE_COST), "SAFE-T2102");
	assert_string_equal(rule_technique(RULE_ENUMERATION), "SAFE-T1804");
	assert_int_equal(rule_from_name("cross_endpoint"), RULE_CROSS_ENDPOINT);
	policy_free(p);
}

static const char *good =
	"version: 1\n"
	"cooldown_s: 60\n"
	"limits: {cgroups: 100, endpoints: 5000}\n"
	"allow:\n"
	"  hosts: [\"*.internal\", \"127.0.0.1:*\"]\n"
	"  endpoints: [\"api.example.com/health*\"]\n"
	"prices:\n"
	"  - match: \"api.openai.com/v1/chat/*\"\n"
	"    usd: 0.01\n"
	"  - match: \"api.openai.com\"\n"
	"    usd: 0.001\n"
	"rules:\n"
	"  volume: {threshold: 200, severity: critical}\n"
	"  pagination:\n"
	"    params: [page, Offset]\n"
	"  growth: {enabled: false}\n"
	"overrides:\n"
	"  - cgroup: \"/agents/*\"\n"
	"    rules:\n"
	"      volume: {threshold: 50}\n"
	"  - cgroup: \"/ci/*\"\n"
	"    rules: {volume: {threshold: 1000}, rapid: {max_gap_ms: 10}}\n"
	"    allow: {hosts: [\"deb.debian.org\"]}\n";

static void test_load_and_lookups(void **state)
{
	struct policy *p;
	struct errs e;
	(void)state;
	assert_int_equal(load(good, &p, &e), 0);
	assert_int_equal(e.n, 0);
	assert_int_equal(p->cooldown_s, 60);
	assert_int_equal(p->limits.cgroups, 100);
	assert_int_equal(p->limits.endpoints, 5000);
	assert_int_equal(p->limits.hosts, 65536); /* untouched default */
	assert_int_equal(p->base.rules.volume.threshold, 200);
	assert_int_equal(p->base.rules.volume.b.severity, SEV_CRITICAL);
	assert_int_equal(p->base.rules.volume.b.window_s, 300);
	assert_false(p->base.rules.growth.b.enabled);
	assert_int_equal(p->noverrides, 2);
	/* overrides start from the base (after the base's own settings) */
	assert_int_equal(p->overrides[0].rules.volume.threshold, 50);
	assert_int_equal(p->overrides[0].rules.volume.b.severity, SEV_CRITICAL);
	assert_false(p->overrides[0].rules.growth.b.enabled);
	assert_int_equal(p->overrides[0].line, 18);
	assert_int_equal(p->overrides[1].rules.rapid.max_gap_ms, 10);
	assert_int_equal(policy_profile_for(p, "/agents/a"), 1);
	assert_int_equal(policy_profile_for(p, "/agents/a/b"), 1); /* '*' crosses '/' */
	assert_int_equal(policy_profile_for(p, "/ci/job1"), 2);
	assert_int_equal(policy_profile_for(p, "/other"), 0);
	assert_int_equal(policy_profile_for(p, NULL), 0);
	assert_true(policy_host_allowed(policy_profile(p, 0), "db.internal"));
	assert_true(policy_host_allowed(policy_profile(p, 0), "127.0.0.1:8443"));
	assert_false(policy_host_allowed(policy_profile(p, 0), "api.example.com"));
	/* a list in an override replaces the base's */
	assert_true(policy_host_allowed(policy_profile(p, 2), "deb.debian.org"));
	assert_false(policy_host_allowed(policy_profile(p, 2), "db.internal"));
	assert_true(policy_endpoint_allowed(policy_profile(p, 0), "api.example.com/healthz"));
	assert_true(policy_price(p, "api.openai.com", "api.openai.com/v1/chat/completions") == 0.01);
	assert_true(policy_price(p, "api.openai.com", "api.openai.com/v1/embeddings") == 0.001);
	assert_true(policy_price(p, "example.com", "example.com/v1/chat/x") == 0);
	assert_true(strlist_has(&p->base.rules.pagination.params, "offset", 6));
	assert_true(strlist_has(&p->base.rules.pagination.params, "PAGE", 4));
	assert_false(strlist_has(&p->base.rules.pagination.params, "cursor", 6));
	assert_true(policy_is_observability(&p->base.rules, "/api/v1/query_range"));
	assert_false(policy_is_observability(&p->base.rules, "/v1/chat/completions"));
	policy_free(p);
}

/* One bad value: exactly one error with this text. */
static void expect_error(const char *yaml, const char *msg)
{
	struct policy *p = (struct policy *)1;
	struct errs e;
	assert_int_equal(load(yaml, &p, &e), -EINVAL);
	assert_null(p);
	if (e.n != 1 || strcmp(e.msg[0], msg))
		fail_msg("yaml:\n%s\nwant: %s\ngot %d errors, first: %s", yaml, msg, e.n,
			 e.n ? e.msg[0] : "");
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("version: 1\nrules:\n  volume:\n    treshold: 5\n",
		     "p.yaml:4: unknown key \"treshold\" in rules.volume (known: enabled, severity, "
		     "window_s, threshold)");
	expect_error("colldown_s: 3\n",
		     "p.yaml:1: unknown key \"colldown_s\" (known: version, cooldown_s, limits, "
		     "allow, prices, rules, overrides, mode, actions, protected_cgroups, network, "
		     "metrics)");
	expect_error("rules:\n  volume:\n    threshold: lots\n",
		     "p.yaml:3: rules.volume.threshold: expected an integer, got \"lots\"");
	expect_error("rules:\n  volume:\n    threshold: \"100\"\n",
		     "p.yaml:3: rules.volume.threshold: expected an integer, got the quoted "
		     "string \"100\"");
	expect_error("rules:\n  volume:\n    threshold: 0\n",
		     "p.yaml:3: rules.volume.threshold: 0 is out of range (1..1000000000)");
	expect_error("rules:\n  enumeration: {threshold: 65}\n",
		     "p.yaml:2: rules.enumeration.threshold: 65 is out of range (2..64)");
	expect_error("rules:\n  growth: {ratio: 0.5}\n",
		     "p.yaml:2: rules.growth.ratio: 0.5 is out of range (1..1e+06)");
	expect_error("rules:\n  volume: {enabled: maybe}\n",
		     "p.yaml:2: rules.volume.enabled: expected true or false, got \"maybe\"");
	expect_error("rules:\n  volume: {severity: urgent}\n",
		     "p.yaml:2: rules.volume.severity: expected low, medium, high or critical, got "
		     "\"urgent\"");
	expect_error("rules:\n  rapid: [1, 2]\n",
		     "p.yaml:2: rules.rapid: expected a mapping, got a list");
	expect_error("allow:\n  hosts: example.com\n",
		     "p.yaml:2: allow.hosts: expected a list of strings, got \"example.com\"");
	expect_error("rules:\n  volume: {threshold: 5, threshold: 6}\n",
		     "p.yaml:2: duplicate key \"threshold\" in rules.volume");
	expect_error("version: 2\n", "p.yaml:1: version: 2 is out of range (1..1)");
	expect_error("prices:\n  - match: a.com\n    usd: -1\n",
		     "p.yaml:3: prices[0].usd: -1 is out of range (0..1e+06)");
	expect_error("prices:\n  - usd: 1\n", "p.yaml:2: prices[0]: missing key \"match\"");
	expect_error("overrides:\n  - rules: {volume: {threshold: 3}}\n",
		     "p.yaml:2: overrides[0]: missing key \"cgroup\"");
	expect_error("overrides:\n  - cgroup: /a\n    rules: {volume: {treshold: 3}}\n",
		     "p.yaml:3: unknown key \"treshold\" in overrides[0].rules.volume (known: "
		     "enabled, severity, window_s, threshold)");
	expect_error("rules:\n  volume: {threshold: 5\n",
		     "p.yaml:3: YAML syntax error: did not find expected ',' or '}' while parsing "
		     "a flow mapping");
	expect_error("- a\n- b\n", "p.yaml:1: expected a mapping, got a list");
}

static void test_all_errors_reported(void **state)
{
	struct policy *p;
	struct errs e;
	(void)state;
	assert_int_equal(load("cooldown_s: x\nrules:\n  volume: {threshold: 0}\nfoo: 1\n", &p, &e),
			 -EINVAL);
	assert_int_equal(e.n, 3);
	assert_string_equal(e.msg[0], "p.yaml:1: cooldown_s: expected an integer, got \"x\"");
	assert_string_equal(e.msg[1], "p.yaml:3: rules.volume.threshold: 0 is out of range "
				      "(1..1000000000)");
	assert_string_equal(e.msg[2], "p.yaml:4: unknown key \"foo\" (known: version, cooldown_s, "
				      "limits, allow, prices, rules, overrides, mode, actions, "
				      "protected_cgroups, network, metrics)");
}

static void test_empty_is_an_error(void **state)
{
	struct policy *p;
	struct errs e;
	(void)state;
	assert_int_equal(load("", &p, &e), -EINVAL);
	assert_string_equal(e.msg[0], "p.yaml:1: empty: a policy needs at least \"version: 1\"");
	assert_int_equal(load("# only a comment\n\n", &p, &e), -EINVAL);
	assert_int_equal(e.n, 1);
	/* a key with no value is a policy with the defaults */
	assert_int_equal(load("# nothing\nrules:\n", &p, &e), 0);
	assert_int_equal(p->base.rules.rapid.threshold, 50);
	policy_free(p);
}

static char *print(const struct policy *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	policy_print(f, p);
	fclose(f);
	return buf;
}

static void test_show_round_trip(void **state)
{
	struct policy *p, *q, *d = policy_default();
	struct errs e;
	(void)state;
	/* the built-in default reads back as itself */
	char *a = print(d);
	assert_int_equal(load(a, &q, &e), 0);
	char *b = print(q);
	/* only the source name in the first line differs */
	assert_string_equal(strchr(a, '\n'), strchr(b, '\n'));
	free(a);
	free(b);
	policy_free(q);
	/* so does a policy with overrides and prices */
	assert_int_equal(load(good, &p, &e), 0);
	a = print(p);
	assert_int_equal(load(a, &q, &e), 0);
	b = print(q);
	assert_string_equal(strchr(a, '\n'), strchr(b, '\n'));
	assert_non_null(strstr(a, "- cgroup: \"/agents/*\"\n  rules:\n    volume:\n      threshold: 50"));
	assert_int_equal(q->overrides[1].rules.rapid.max_gap_ms, 10);
	assert_true(q->prices[0].usd == 0.01);
	free(a);
	free(b);
	policy_free(p);
	policy_free(q);
	policy_free(d);
}

static void test_file(void **state)
{
	struct policy *p;
	char path[] = "/tmp/tollgate-policy-XXXXXX";
	struct errs e = {0};
	(void)state;
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fputs("rules:\n  rapid:\n    threshold: -3\n", f);
	fclose(f);
	assert_int_equal(policy_load_file(path, &p, on_err, &e), -EINVAL);
	char want[256];
	snprintf(want, sizeof(want), "%s:3: rules.rapid.threshold: -3 is out of range (1..1000000000)",
		 path);
	assert_string_equal(e.msg[0], want);
	unlink(path);
	assert_int_equal(policy_load_file(path, &p, on_err, &e), -ENOENT);
	assert_int_equal(policy_load_file("/tmp", &p, on_err, &e), -EISDIR);
}

/* One document, nested at most POLICY_MAX_DEPTH, at most POLICY_MAX_BYTES. */
static void test_document_bounds(void **state)
{
	struct policy *p;
	struct errs e;
	char *y;
	(void)state;

	assert_int_equal(load("version: 1\n---\nmode: monitor\n", &p, &e), -EINVAL);
	assert_string_equal(e.msg[0], "p.yaml:2: a second YAML document; a policy is one document");
	/* depth: the top mapping is level 1; a list nested to exactly the cap is only a
	 * type error, one more level is refused before libyaml builds it */
	y = calloc(1, 4 * 100000 + 64);
	assert_non_null(y);
	strcpy(y, "prices: ");
	for (int i = 0; i < POLICY_MAX_DEPTH - 1; i++)
		strcat(y, "[");
	for (int i = 0; i < POLICY_MAX_DEPTH - 1; i++)
		strcat(y, "]");
	strcat(y, "\n");
	assert_int_equal(load(y, &p, &e), -EINVAL);
	assert_null(strstr(e.msg[0], "nested"));
	strcpy(y, "prices: ");
	for (int i = 0; i < POLICY_MAX_DEPTH; i++)
		strcat(y, "[");
	for (int i = 0; i < POLICY_MAX_DEPTH; i++)
		strcat(y, "]");
	strcat(y, "\n");
	assert_int_equal(load(y, &p, &e), -EINVAL);
	assert_string_equal(e.msg[0], "p.yaml:1: nested more than 16 levels deep");
	/* 100,000 deep: refused at once (libyaml alone took over 20 s to load it) */
	memset(y, '[', 100000);
	memset(y + 100000, ']', 100000);
	y[200000] = 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(load(y, &p, &e), -EINVAL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 2);
	assert_string_equal(e.msg[0], "p.yaml:1: nested more than 16 levels deep");
	free(y);
	/* size */
	size_t big = POLICY_MAX_BYTES + 1;
	y = malloc(big + 1);
	assert_non_null(y);
	memset(y, '#', big);
	y[0] = 'v', y[1] = ':', y[2] = ' ', y[3] = '1', y[4] = '\n';
	y[big] = 0;
	assert_int_equal(load(y, &p, &e), -EINVAL);
	assert_non_null(strstr(e.msg[0], "is more than a policy may have"));
	free(y);
}

/* Every list cap at the limit (accepted) and one above (refused): the caps `tollgate run`
 * sizes its tables by are the reader's (policy.h), so `policy check` and `run` agree. */
static void list_of(char *y, const char *key, const char *item, int n)
{
	sprintf(y, "%s:\n", key);
	for (int i = 0; i < n; i++) {
		char it[128];
		snprintf(it, sizeof(it), item, i % 250 + 1);
		strcat(y, "  - ");
		strcat(y, it);
		strcat(y, "\n");
	}
}

static void test_caps(void **state)
{
	static const struct {
		const char *key, *item;
		int cap;
	} caps[] = {
		{"protected_cgroups", "/p%d", POLICY_MAX_PROTECTED},
		{"actions", "{rule: volume, action: alert, rate: %d}", POLICY_MAX_ACTIONS},
		{"network", "{deny: 10.0.0.%d}", POLICY_MAX_NETWORK},
	};
	struct policy *p;
	struct errs e;
	char *y = malloc(1 << 20);
	(void)state;
	assert_non_null(y);
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		list_of(y, caps[i].key, caps[i].item, caps[i].cap);
		if (load(y, &p, &e))
			fail_msg("%s x %d: %s", caps[i].key, caps[i].cap, e.msg[0]);
		struct enforce_config *c = malloc(sizeof(*c));
		assert_non_null(c);
		assert_int_equal(enforce_config_from_policy(p, 0, c), 0);
		free(c);
		policy_free(p);
		list_of(y, caps[i].key, caps[i].item, caps[i].cap + 1);
		assert_int_equal(load(y, &p, &e), -EINVAL);
		assert_non_null(strstr(e.msg[0], "is more than"));
	}
	free(y);
}


/* The enforcement and metrics sections: values, defaults, and exact file:line errors. */
static void test_enforcement_keys(void **state)
{
	struct policy *p;
	struct errs e;
	(void)state;
	static const char yaml[] = "mode: monitor\n"
				   "actions:\n"
				   "  - rule: volume\n"
				   "    min_severity: high\n"
				   "    action: throttle\n"
				   "    rate: 2.5\n"
				   "    burst: 4\n"
				   "    duration: 60\n"
				   "  - rule: \"*\"\n"
				   "    action: kill\n"
				   "protected_cgroups: [\"/agents/trusted\"]\n"
				   "network:\n"
				   "  - deny: 10.0.0.0/8\n"
				   "    port: 443\n"
				   "    cgroup: \"/agents/*\"\n"
				   "  - allow: \"::1\"\n"
				   "metrics: {max_endpoints: 7}\n"
				   "overrides:\n"
				   "  - cgroup: \"/x/*\"\n"
				   "    name: strict\n";
	assert_int_equal(load(yaml, &p, &e), 0);
	assert_string_equal(p->mode, "monitor");
	assert_int_equal(p->nactions, 2);
	assert_string_equal(p->actions[0].rule, "volume");
	assert_int_equal(p->actions[0].min_severity, SEV_HIGH);
	assert_string_equal(p->actions[0].action, "throttle");
	assert_true(p->actions[0].rate == 2.5);
	assert_int_equal(p->actions[0].burst, 4);
	assert_int_equal(p->actions[0].duration_s, 60);
	assert_string_equal(p->actions[1].rule, "*");
	assert_int_equal(p->protected_cgroups.n, 1);
	assert_int_equal(p->nnetwork, 2);
	assert_string_equal(p->network[0].deny, "10.0.0.0/8");
	assert_int_equal(p->network[0].port, 443);
	assert_string_equal(p->network[0].cgroup, "/agents/*");
	assert_string_equal(p->network[1].allow, "::1");
	assert_int_equal(p->metrics.max_endpoints, 7);
	assert_int_equal(p->metrics.max_series, 100000);
	assert_int_equal(policy_profile_named(p, "strict"), 1);
	assert_int_equal(policy_profile_named(p, "lax"), -1);
	assert_int_equal(policy_profile_named(p, NULL), -1);
	policy_free(p);

	p = policy_default();
	assert_string_equal(p->mode, "enforce");
	assert_int_equal(p->nactions, 0);
	assert_int_equal(p->protected_cgroups.n, 2);
	assert_string_equal(p->protected_cgroups.v[0], "/init.scope");
	assert_string_equal(p->protected_cgroups.v[1], "/system.slice");
	policy_free(p);

	expect_error("mode: paranoid\n",
		     "p.yaml:1: mode: expected enforce or monitor, got \"paranoid\"");
	expect_error("actions:\n  - rule: volum\n    action: kill\n",
		     "p.yaml:2: actions[0]: rule: unknown rule \"volum\"");
	expect_error("actions:\n  - rule: volume\n    action: nuke\n",
		     "p.yaml:2: actions[0]: action: expected alert, throttle, freeze or kill, got "
		     "\"nuke\"");
	expect_error("actions:\n  - rule: volume\n    action: throttle\n",
		     "p.yaml:2: actions[0]: a throttle needs \"rate\"");
	expect_error("actions:\n  - action: kill\n", "p.yaml:2: actions[0]: missing key \"rule\"");
	expect_error("actions:\n  - rule: volume\n    action: throttle\n    rate: 0\n",
		     "p.yaml:4: actions[0].rate: 0 is out of range (0.001..1e+06)");
	expect_error("network:\n  - deny: 10.0.0.0/33\n",
		     "p.yaml:2: network[0]: deny: \"10.0.0.0/33\" is not an address or CIDR");
	expect_error("network:\n  - allow: 1.2.3.4\n    deny: 1.2.3.4\n",
		     "p.yaml:2: network[0]: needs exactly one of \"allow\" and \"deny\"");
	/* found by fuzz_policy: an empty list item was an element with no fields */
	expect_error("overrides:\n  - \n", "p.yaml:2: overrides[0]: expected a mapping, got nothing");
	expect_error("prices:\n  - ~\n", "p.yaml:2: prices[0]: expected a mapping, got nothing");
	expect_error("actions: [kill]\n",
		     "p.yaml:1: actions[0]: expected a mapping, got \"kill\"");
	expect_error("network:\n  - deny: 1.2.3.4\n    port: 70000\n",
		     "p.yaml:3: network[0].port: 70000 is out of range (1..65535)");
}

/* Network rule CIDRs: host bits cleared; an IPv4-mapped prefix is its IPv4 rule, because
 * the BPF side reports and looks up mapped destinations as IPv4. */
static void test_net_cidr(void **state)
{
	struct policy_cidr r;
	const uint8_t ten[4] = {10, 0, 0, 0};

	(void)state;
	assert_int_equal(policy_cidr_parse("10.1.2.3/8", &r), 0);
	assert_int_equal(r.family, AF_INET);
	assert_int_equal(r.prefix, 8);
	assert_memory_equal(r.addr, ten, 4);
	memset(&r, 0x5a, sizeof(r));
	assert_int_equal(policy_cidr_parse("::ffff:10.1.2.3/104", &r), 0);
	assert_int_equal(r.family, AF_INET);
	assert_int_equal(r.prefix, 8);
	assert_memory_equal(r.addr, ten, 4);
	for (int i = 4; i < 16; i++)
		assert_int_equal(r.addr[i], 0);
	assert_int_equal(policy_cidr_parse("::ffff:127.0.0.1", &r), 0);
	assert_int_equal(r.family, AF_INET);
	assert_int_equal(r.prefix, 32);
	/* shorter than the mapped prefix: an IPv6 rule as written */
	assert_int_equal(policy_cidr_parse("::ffff:0:0/95", &r), 0);
	assert_int_equal(r.family, AF_INET6);
	assert_int_equal(r.prefix, 95);
	assert_int_equal(policy_cidr_parse("::1", &r), 0);
	assert_int_equal(r.family, AF_INET6);
	assert_int_equal(r.prefix, 128);
	assert_int_equal(policy_cidr_parse("2001:db8::1/33", &r), 0);
	assert_int_equal(r.family, AF_INET6);
	assert_int_equal(r.prefix, 33);
	const uint8_t db8[16] = {0x20, 0x01, 0x0d, 0xb8};
	assert_memory_equal(r.addr, db8, 16);
	assert_int_equal(policy_cidr_parse("10.0.0.0/33", &r), -EINVAL);
	assert_int_equal(policy_cidr_parse("10.0.0.0/", &r), -EINVAL);
	assert_int_equal(policy_cidr_parse("10.0.0/8", &r), -EINVAL);
	assert_int_equal(policy_cidr_parse("::1/129", &r), -EINVAL);
	assert_int_equal(policy_cidr_parse("example.com", &r), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_is_issue_3),  cmocka_unit_test(test_load_and_lookups),
		cmocka_unit_test(test_errors),              cmocka_unit_test(test_all_errors_reported),
		cmocka_unit_test(test_empty_is_an_error),    cmocka_unit_test(test_show_round_trip),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_document_bounds),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_enforcement_keys),
		cmocka_unit_test(test_net_cidr),
	};
	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
