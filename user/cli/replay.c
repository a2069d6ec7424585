// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * replay.c - `tollgate replay`. See replay.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cmd.h"
#include "log.h"
#include "policy.h"
#include "replay.h"
#include "sink_jsonl.h"
#include "tollgate_abi.h"
#include "util.h"

#define NS 1000000000ULL

/* A field of the wrong type makes the line bad; an absent or null one is "unknown". */
struct rd {
	json_t *j;
	const char *why;
	char *buf;
	size_t len;
};

static json_t *field(json_t *j, const char *k)
{
	json_t *v = json_object_get(j, k);
	return v && !json_is_null(v) ? v : NULL;
}

static int bad_type(struct rd *r, const char *k, const char *what)
{
	snprintf(r->buf, r->len, "field \"%s\": expected %s", k, what);
	r->why = r->buf;
	return -EINVAL;
}

static int get_str(struct rd *r, const char *k, const char **out)
{
	json_t *v = field(r->j, k);

	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_string(v))
		return bad_type(r, k, "a string");
	*out = json_string_value(v);
	return 0;
}

static int get_u64(struct rd *r, const char *k, uint64_t max, uint64_t *out, int *present)
{
	json_t *v = field(r->j, k);

	if (present)
		*present = v != NULL;
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max)
		return bad_type(r, k, "a non-negative integer");
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

int replay_parse_line(const char *line, size_t len, struct tg_obs *o, struct obs_tpl *tb,
		      void **hold, const char **why, char *whybuf, size_t whylen)
{
	struct rd r = {.buf = whybuf, .len = whylen};
	json_error_t je;
	const char *s;
	uint64_t u;
	int present, type;

	*hold = NULL;
	memset(o, 0, sizeof(*o));
	o->latency_ms = -1;
	o->retry_after_s = -1;
	r.j = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
	if (!r.j) {
		snprintf(whybuf, whylen, "not JSON: %s", je.text);
		*why = whybuf;
		return -EINVAL;
	}
	*hold = r.j;
	if (!json_is_object(r.j)) {
		*why = "not a JSON object";
		return -EINVAL;
	}
	if (get_str(&r, "event", &s))
		goto bad;
	if (!s) {
		*why = "no \"event\"";
		return -EINVAL;
	}
	type = obs_type_from_name(s);
	if (!type)
		return 0; /* "alert", or an event this version does not know */
	o->type = type;
	if (get_str(&r, "ts", &s))
		goto bad;
	if (!s || rfc3339_parse(s, &o->ts_ns)) {
		*why = "\"ts\" is not an RFC 3339 timestamp";
		return -EINVAL;
	}
	if (get_u64(&r, "cgroup_id", UINT64_MAX, &o->cgroup_id, &present))
		goto bad;
	if (get_str(&r, "cgroup", &o->cgroup))
		goto bad;
	if (get_str(&r, "container", &o->agent))
		goto bad;
	u = 0;
	if (get_u64(&r, "pid", UINT32_MAX, &u, NULL))
		goto bad;
	o->pid = (uint32_t)u;
	u = 0;
	if (get_u64(&r, "tid", UINT32_MAX, &u, NULL))
		goto bad;
	o->tid = (uint32_t)u;
	if (get_str(&r, "comm", &s))
		goto bad;
	if (s)
		name_sanitize(o->comm, sizeof(o->comm), s, strlen(s));

	/* destination */
	if (get_str(&r, "daddr", &s))
		goto bad;
	if (s) {
		if (inet_pton(AF_INET, s, o->daddr) == 1)
			o->family = AF_INET;
		else if (inet_pton(AF_INET6, s, o->daddr) == 1)
			o->family = AF_INET6;
		else {
			*why = "\"daddr\" is not an IP address";
			return -EINVAL;
		}
		u = 0;
		if (get_u64(&r, "dport", 65535, &u, NULL))
			goto bad;
		o->dport = (uint16_t)u;
		o->has_addr = 1;
		o->l4 = TG_IPPROTO_TCP;
	}
	if (get_u64(&r, "count", UINT64_MAX, &o->count, NULL))
		goto bad;
	if (get_u64(&r, "bytes", UINT64_MAX, &o->bytes, NULL))
		goto bad;
	if (get_str(&r, "proto", &s))
		goto bad;
	if (type == OBS_REQUEST || type == OBS_RESPONSE) {
		json_t *v;
		o->http = s ? obs_http_from_name(s) : OBS_HTTP_UNKNOWN;
		if (get_str(&r, "tls", &s))
			goto bad;
		o->tls = s ? obs_tls_from_name(s) : 0;
		if (get_str(&r, "method", &o->method) || get_str(&r, "host", &o->host) ||
		    get_str(&r, "path", &o->path) || get_str(&r, "query", &o->query) ||
		    get_str(&r, "auth_fp", &s))
			goto bad;
		if (s)
			snprintf(o->auth_fp, sizeof(o->auth_fp), "%s", s);
		if ((v = field(r.j, "truncated")) && !json_is_boolean(v)) {
			bad_type(&r, "truncated", "true or false");
			goto bad;
		}
		o->truncated = v && json_is_true(v);
		u = 0;
		if (get_u64(&r, "status", 999, &u, NULL))
			goto bad;
		o->status = (int)u;
		if ((v = field(r.j, "latency_ms"))) {
			if (!json_is_number(v) || json_number_value(v) < 0) {
				bad_type(&r, "latency_ms", "a non-negative number");
				goto bad;
			}
			o->latency_ms = json_number_value(v);
		}
		u = 0;
		if (get_u64(&r, "retry_after", INT64_MAX, &u, &present))
			goto bad;
		if (present)
			o->retry_after_s = (int64_t)u;
	} else if (s) {
		o->l4 = !strcmp(s, "udp") ? TG_IPPROTO_UDP : TG_IPPROTO_TCP;
	}
	obs_set_template(o, tb);
	return 1;
bad:
	*why = r.why;
	return -EINVAL;
}

int replay_stream(FILE *in, const char *name, struct detect *d, struct replay_stats *st,
		  replay_err_fn err, void *ctx, unsigned max_reports)
{
	char *line = NULL, whybuf[256], msg[512];
	size_t cap = 0;
	ssize_t n;
	uint64_t tick_s = 0;
	struct tg_obs o;
	struct obs_tpl tb;
	int ret = 0;

	memset(st, 0, sizeof(*st));
	while ((n = getline(&line, &cap, in)) >= 0) {
		const char *why = NULL;
		void *hold;
		size_t len = (size_t)n;

		st->lines++;
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		if (!len)
			continue;
		int r = replay_parse_line(line, len, &o, &tb, &hold, &why, whybuf, sizeof(whybuf));
		if (r < 0) {
			st->bad++;
			if (!st->first_bad)
				st->first_bad = st->lines;
			if (st->bad <= max_reports) {
				snprintf(msg, sizeof(msg), "%s:%llu: %s", name,
					 (unsigned long long)st->lines, why ? why : "bad line");
				if (err)
					err(ctx, msg);
				else
					tg_warn("%s", msg);
			}
		} else if (r == 0) {
			st->skipped++;
		} else {
			/* event time drives the clock: summaries of ended cool-downs first */
			if (o.ts_ns / NS > tick_s) {
				if (tick_s)
					detect_tick(d, o.ts_ns);
				tick_s = o.ts_ns / NS;
			}
			st->observations++;
			detect_obs(d, &o);
		}
		json_decref(hold);
	}
	if (ferror(in))
		ret = -EIO;
	free(line);
	detect_flush(d);
	return ret;
}

/* ---- the command ---- */

static void usage_replay(FILE *f)
{
	fprintf(f, "Usage: tollgate replay [OPTIONS] FILE|-\n"
		   "Run the detectors over JSON lines written by `tollgate run` (- reads standard\n"
		   "input) and print their alerts as JSON lines. Time is the events' own.\n\n"
		   "  --policy FILE   detection policy (default: the built-in one, see\n"
		   "                  `tollgate policy show`)\n"
		   "  --json FILE|-   write alerts to FILE (default -, standard output)\n"
		   "  -q, --quiet     no summary on stderr\n");
}

static void on_alert(void *ctx, const struct tg_alert *a)
{
	struct jsonl_sink *out = ctx;

	jsonl_alert(out, a);
	if (out->pending >= 256)
		jsonl_flush(out, 0);
}

int cmd_replay(int argc, char **argv)
{
	static const struct option lo[] = {
		{"policy", required_argument, 0, 'p'},
		{"json", required_argument, 0, 'j'},
		{"quiet", no_argument, 0, 'q'},
		{"verbose", no_argument, 0, 'v'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	const char *policy_path = NULL, *json = "-", *input;
	struct policy *p = NULL;
	struct detect *d = NULL;
	struct jsonl_sink out;
	struct replay_stats st;
	FILE *in;
	int c, err, ret = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "qvh", lo, NULL)) != -1) {
		switch (c) {
		case 'p':
			policy_path = optarg;
			break;
		case 'j':
			json = optarg;
			break;
		case 'q':
			tg_quiet = 1;
			break;
		case 'v':
			tg_verbose = 1;
			break;
		case 'h':
			usage_replay(stdout);
			return 0;
		default:
			usage_replay(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage_replay(stderr);
		return 2;
	}
	input = argv[optind];
	if (policy_path) {
		err = policy_load_file(policy_path, &p, NULL, NULL);
		if (err) {
			if (err != -EINVAL)
				tg_err("--policy %s: %s", policy_path, strerror(-err));
			return 2;
		}
	} else if (!(p = policy_default())) {
		return 1;
	}
	in = strcmp(input, "-") ? fopen(input, "r") : stdin;
	if (!in) {
		tg_err("%s: %s", input, strerror(errno));
		policy_free(p);
		return 2;
	}
	err = jsonl_open(&out, json, 0);
	if (err) {
		ret = 2;
		goto out;
	}
	d = detect_new(p, on_alert, &out);
	if (!d) {
		tg_err("detectors: %s", strerror(errno));
		goto out_sink;
	}
	err = replay_stream(in, strcmp(input, "-") ? input : "stdin", d, &st, NULL, NULL, 20);
	jsonl_flush(&out, 0);
	if (err) {
		tg_err("read %s: %s", input, strerror(-err));
	} else {
		const struct detect_stats *ds = detect_stats(d);
		uint64_t ev = detect_evictions(ds);
		tg_info("replayed %llu lines: %llu observations, %llu skipped, %llu bad%s; %llu "
			"alerts (%llu summaries, %llu matches suppressed), %llu drops, %llu "
			"evictions",
			(unsigned long long)st.lines, (unsigned long long)st.observations,
			(unsigned long long)st.skipped, (unsigned long long)st.bad,
			st.bad ? " (see above)" : "", (unsigned long long)ds->alerts,
			(unsigned long long)ds->summaries, (unsigned long long)ds->suppressed,
			(unsigned long long)ds->drops, (unsigned long long)ev);
		ret = 0;
	}
	detect_free(d);
out_sink:
	jsonl_close(&out);
out:
	if (in != stdin)
		fclose(in);
	policy_free(p);
	return ret;
}
