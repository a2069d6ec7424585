// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_metrics.c - user/output/metrics.c, the Prometheus text exposition (format 0.0.4): label
 * values full of quotes and backslashes, longer than the label cap, cut in the middle of a
 * UTF-8 character, not UTF-8 at all or with control characters; every rendered sample line is parsed back (name, {label="value",...},
 * value) to prove each value is closed and escaped, nothing follows the labels but the
 * value, and no byte beyond the labels reaches the output.
 */
#include <stdio.h>
#include <stdlib.h>

#include "unit.h"

#include "metrics.h"

#define VALUE_CAP 256 /* metrics.c LABEL_VALUE_MAX */

static int is_name_char(char c, int first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       (!first && c >= '0' && c <= '9');
}

/*
 * Parse one sample line [p, end) (without its '\n'). Every label value is unescaped into
 * @vals (at most @maxv, each VALUE_CAP * 2 bytes) with its name in @names; returns the
 * number of labels.
 */
static int parse_sample(const char *p, const char *end, char names[][32],
			char vals[][2 * VALUE_CAP], int maxv)
{
	int n = 0;

	assert_true(p < end && is_name_char(*p, 1));
	while (p < end && is_name_char(*p, 0))
		p++;
	if (p < end && *p == '{') {
		p++;
		for (;;) {
			size_t k = 0, v = 0;
			assert_true(n < maxv);
			assert_true(p < end && is_name_char(*p, 1));
			while (p < end && is_name_char(*p, 0)) {
				assert_true(k < 31);
				names[n][k++] = *p++;
			}
			names[n][k] = 0;
			assert_true(p + 1 < end && p[0] == '=' && p[1] == '"');
			p += 2;
			for (;;) {
				assert_true(p < end);
				assert_true(*p != '\n' && *p != 0);
				if (*p == '"')
					break;
				char c = *p++;
				if (c == '\\') {
					assert_true(p < end);
					assert_true(*p == '\\' || *p == '"' || *p == 'n');
					c = *p == 'n' ? '\n' : *p;
					p++;
				}
				assert_true(v < 2 * VALUE_CAP - 1);
				vals[n][v++] = c;
			}
			vals[n][v] = 0;
			n++;
			p++; /* the closing quote */
			assert_true(p < end);
			if (*p == '}')
				break;
			assert_int_equal(*p, ',');
			p++;
		}
		p++;
	}
	/* " value" and nothing else */
	assert_true(p < end && *p == ' ');
	p++;
	char num[64];
	assert_true((size_t)(end - p) > 0 && (size_t)(end - p) < sizeof(num));
	memcpy(num, p, (size_t)(end - p));
	num[end - p] = 0;
	char *e;
	strtod(num, &e);
	assert_true(e != num && *e == 0);
	return n;
}

/* Is @s valid UTF-8 (RFC 3629)? Enough for the test: no stray or missing continuations. */
static int utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		int len = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3
			: (*p & 0xf8) == 0xf0 ? 4 : 0;
		if (!len)
			return 0;
		for (int i = 1; i < len; i++)
			if ((p[i] & 0xc0) != 0x80)
				return 0;
		p += len;
	}
	return 1;
}

/* Render and check every line; returns how many samples carried agent_id == @want. */
static int check_render(struct metrics *m, const char *want)
{
	struct metrics_health h = {0};
	size_t len = 0;
	char *out = metrics_render(m, &h, &len);
	char names[8][32];
	static char vals[8][2 * VALUE_CAP];
	int hits = 0;

	assert_non_null(out);
	assert_int_equal(strlen(out), len); /* no NUL (nor anything after one) inside */
	assert_true(len > 0 && out[len - 1] == '\n');
	for (char *p = out; p < out + len;) {
		char *nl = memchr(p, '\n', (size_t)(out + len - p));
		assert_non_null(nl);
		if (*p != '#') {
			int n = parse_sample(p, nl, names, vals, 8);
			for (int i = 0; i < n; i++) {
				assert_true(strlen(vals[i]) <= VALUE_CAP);
				assert_true(utf8_ok(vals[i]));
				if (!strcmp(names[i], "agent_id") && !strcmp(vals[i], want))
					hits++;
			}
		}
		p = nl + 1;
	}
	free(out);
	return hits;
}

static void feed(struct metrics *m, const char *agent, const char *comm)
{
	struct tg_obs o = {.type = OBS_REQUEST, .cgroup_id = 42, .host = "api.example.com",
			   .path = "/v1/x/42", .latency_ms = -1, .retry_after_s = -1};
	struct obs_tpl tb;

	obs_set_template(&o, &tb);
	snprintf(o.comm, sizeof(o.comm), "%s", comm);
	metrics_obs(m, &o, agent);
	o.type = OBS_RESPONSE;
	o.status = 429;
	o.latency_ms = 12;
	metrics_obs(m, &o, agent);
	/* the in-flight gauge, as render_metrics sets it from the flow: one more request */
	metrics_concurrent_reset(m);
	metrics_concurrent_add(m, agent, 1);
}

static void test_long_escaped_agent_id(void **state)
{
	(void)state;
	struct metrics_config cfg = {0};
	struct metrics *m = metrics_new(&cfg, NULL, NULL);
	static const char pat[] = "a\"\\\n";
	char agent[2001];

	assert_non_null(m);
	for (int i = 0; i < 2000; i++)
		agent[i] = pat[i % 4];
	agent[2000] = 0;
	feed(m, agent, "cur\"l\\");
	char want[VALUE_CAP + 1];
	memcpy(want, agent, VALUE_CAP);
	want[VALUE_CAP] = 0;
	/* concurrent, requests, 11 + 3 duration lines, rate limit */
	assert_int_equal(check_render(m, want), 1 + 1 + 14 + 1);
	metrics_free(m);
}

static void test_cut_on_utf8_boundary(void **state)
{
	(void)state;
	struct metrics_config cfg = {0};
	struct metrics *m = metrics_new(&cfg, NULL, NULL);
	char agent[2001];
	size_t o = 0;

	assert_non_null(m);
	agent[o++] = 'x'; /* so that byte 256 falls inside a 3-byte character */
	while (o + 3 <= 2000) {
		memcpy(agent + o, "\xe2\x82\xac", 3); /* U+20AC */
		o += 3;
	}
	agent[o] = 0;
	char want[VALUE_CAP + 1];
	memcpy(want, agent, 1 + 85 * 3); /* 256 bytes would split the 86th character */
	want[1 + 85 * 3] = 0;
	feed(m, agent, "python3");
	assert_int_equal(check_render(m, want), 17);
	metrics_free(m);
}

static void test_invalid_utf8_replaced(void **state)
{
	(void)state;
	struct metrics_config cfg = {0};
	struct metrics *m = metrics_new(&cfg, NULL, NULL);

	assert_non_null(m);
	/* a cgroup path and a host that are not UTF-8: Prometheus would refuse the scrape */
	struct tg_obs o = {.type = OBS_RESPONSE, .cgroup_id = 9, .host = "h\xc3(",
			   .path = "/\xe2\x82", .status = 200, .latency_ms = 1,
			   .retry_after_s = -1};
	struct obs_tpl tb;
	obs_set_template(&o, &tb);
	metrics_obs(m, &o, "/agents/\xff\x1b[31m\xc2\x9b\xc3\xa9");
	metrics_concurrent_add(m, "/agents/\xff\x1b[31m\xc2\x9b\xc3\xa9", 2);
	assert_int_equal(check_render(m, "/agents/??[31m?\xc3\xa9"), 1 + 1 + 14);
	metrics_free(m);
}

static void test_plain_labels(void **state)
{
	(void)state;
	struct metrics_config cfg = {0};
	struct metrics *m = metrics_new(&cfg, NULL, NULL);
	struct metrics_health h = {0};
	size_t len;

	assert_non_null(m);
	feed(m, "/agents/a", "curl");
	char *out = metrics_render(m, &h, &len);
	assert_non_null(out);
	assert_non_null(strstr(out, "mcp_agent_api_requests_total{agent_id=\"/agents/a\","
				    "session_id=\"42\",tool_name=\"curl\","
				    "endpoint=\"api.example.com/v1/x/{id}\",status_code=\"429\"} 1\n"));
	assert_non_null(strstr(out, "mcp_agent_concurrent_requests{agent_id=\"/agents/a\"} 1\n"));
	free(out);
	/* set when read: a reset with nothing in flight reads 0, not the last value */
	metrics_concurrent_reset(m);
	out = metrics_render(m, &h, &len);
	assert_non_null(out);
	assert_non_null(strstr(out, "mcp_agent_concurrent_requests{agent_id=\"/agents/a\"} 0\n"));
	free(out);
	assert_int_equal(check_render(m, "/agents/a"), 17);
	metrics_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_long_escaped_agent_id),
		cmocka_unit_test(test_cut_on_utf8_boundary),
		cmocka_unit_test(test_invalid_utf8_replaced),
		cmocka_unit_test(test_plain_labels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
