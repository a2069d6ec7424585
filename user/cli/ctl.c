// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * ctl.c - commands that talk to a running daemon over its control socket (control.h):
 * `tollgate status`, `tollgate top`, `tollgate block`, `tollgate unblock`.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "control.h"
#include "log.h"
#include "util.h"

#define CTL_TIMEOUT_MS 5000

/* Send @req, print a clear line and return 2 when there is no daemon, 1 when it refused. */
static int ask(const char *path, json_t *req, json_t **resp)
{
	int err = control_request(path, req, resp, CTL_TIMEOUT_MS);

	json_decref(req);
	if (err == -ENOENT || err == -ECONNREFUSED) {
		tg_err("no daemon on %s (is `tollgate run` running?)", path);
		return 2;
	}
	if (err == -EACCES) {
		tg_err("%s: permission denied (the control socket is root-only)", path);
		return 2;
	}
	if (err) {
		tg_err("%s: %s", path, strerror(-err));
		return 2;
	}
	if (!json_is_true(json_object_get(*resp, "ok"))) {
		const char *e = json_string_value(json_object_get(*resp, "error"));
		tg_err("%s", e ? e : "the daemon refused the request");
		json_decref(*resp);
		return 1;
	}
	return 0;
}

/*
 * str - string member @k of @o for the terminal ("-" when absent), with control characters
 * (C0, DEL, C1 U+0080..U+009F) written as \xNN: names come from agents and must not move
 * the cursor or recolour the screen. The result lives in one of 8 rotating buffers (enough
 * for one printf); a string of more than 4096 bytes is cut and ends in "...".
 */
static const char *str(json_t *o, const char *k)
{
	static char bufs[8][4 * 4096 + 4];
	static unsigned next;
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)json_string_value(json_object_get(o, k));
	char *b = bufs[next++ % 8], *w = b;

	if (!s)
		return "-";
	for (size_t i = 0; s[i]; i++) {
		unsigned char c = s[i];
		int c1 = c == 0xc2 && s[i + 1] >= 0x80 && s[i + 1] < 0xa0;
		if (i >= 4096) {
			memcpy(w, "...", 3);
			w += 3;
			break;
		}
		if (c >= 0x20 && c != 0x7f && !c1) {
			*w++ = (char)c;
			continue;
		}
		if (c1)
			c = s[++i]; /* the code point U+0080..U+009F */
		w[0] = '\\', w[1] = 'x', w[2] = hex[c >> 4], w[3] = hex[c & 15];
		w += 4;
	}
	*w = 0;
	return b;
}

static long long num(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static void print_status(json_t *r)
{
	json_t *v, *tls = json_object_get(r, "tls"), *hooks = json_object_get(r, "hooks");
	const char *k;
	size_t i;

	printf("tollgate %s, up %llds, %s mode, watching %s\n", str(r, "version"),
	       num(r, "uptime_s"), str(r, "mode"), str(r, "scope"));
	printf("hooks:");
	json_object_foreach(hooks, k, v)
		printf(" %s=%s", k, json_string_value(v));
	printf("\n");
	printf("tls probes: %lld files with a TLS API, %lld links, %lld closing, %lld attach "
	       "errors, %lld single-stepped sites, %lld processes; %lld files examined, %lld "
	       "remembered, %lld forgotten\n",
	       num(tls, "tls_files"), num(tls, "links"), num(tls, "closing"),
	       num(tls, "attach_errors"), num(tls, "stepped_sites"), num(tls, "pids"),
	       num(tls, "files"), num(tls, "files_cached"), num(tls, "files_forgotten"));
	printf("records: %lld; ring buffer drops: %lld; malformed: %lld\n", num(r, "records"),
	       num(r, "drops"), num(r, "malformed"));
	json_t *h2 = json_object_get(r, "http2");
	printf("http/2: %lld connections, %lld directions lost to the decoder\n",
	       num(h2, "connections"), num(h2, "directions_lost"));
	printf("tracked: %lld cgroups, %lld connections, %lld evictions\n",
	       num(r, "tracked_cgroups"), num(r, "tracked_connections"), num(r, "state_evictions"));
	json_t *cs = json_object_get(r, "cgroup_state");
	printf("per-cgroup state: %lld in detectors, %lld top rows, %lld metric sessions "
	       "(%lld series), %lld containers; %lld removed cgroups forgotten\n",
	       num(cs, "detector_cgroups"), num(cs, "top_rows"), num(cs, "metric_sessions"),
	       num(cs, "metric_series"), num(cs, "agents"), num(cs, "forgotten"));
	json_t *det = json_object_get(r, "detectors");
	printf("detectors: policy %s; %lld alerts, %lld suppressed; %lld KiB of %lld KiB; "
	       "%lld evictions\n",
	       str(det, "policy"), num(det, "alerts"), num(det, "suppressed"),
	       num(det, "memory_bytes") / 1024, num(det, "memory_cap_bytes") / 1024,
	       num(det, "evictions"));
	json_t *verdicts = json_object_get(r, "verdicts");
	printf("verdicts in force: %zu\n", json_array_size(verdicts));
	json_array_foreach(verdicts, i, v)
		printf("  %-40s %-8s rule=%s expires=%s\n", str(v, "cgroup"), str(v, "action"),
		       str(v, "rule"), str(v, "expires"));
	json_t *progs = json_object_get(r, "programs");
	if (json_array_size(progs)) {
		printf("programs (kernel.bpf_stats_enabled=%s):\n",
		       json_is_true(json_object_get(r, "bpf_stats")) ? "1" : "0 - enable it for times");
		json_array_foreach(progs, i, v)
			printf("  %-20s runs=%-12lld avg_ns=%.0f\n", str(v, "name"), num(v, "run_cnt"),
			       json_real_value(json_object_get(v, "avg_ns")));
	}
}

static const char *control_path_opt(int *argc, char ***argv, int *json_out)
{
	static const char *path;
	int w = 1;

	path = CONTROL_DEFAULT_PATH;
	for (int i = 1; i < *argc; i++) {
		if (!strcmp((*argv)[i], "--control") && i + 1 < *argc) {
			path = (*argv)[++i];
		} else if (!strncmp((*argv)[i], "--control=", 10)) {
			path = (*argv)[i] + 10;
		} else if (json_out && !strcmp((*argv)[i], "--json")) {
			*json_out = 1;
		} else {
			(*argv)[w++] = (*argv)[i];
		}
	}
	*argc = w;
	return path;
}

int cmd_status(int argc, char **argv)
{
	int json_out = 0, ret;
	const char *path = control_path_opt(&argc, &argv, &json_out);
	json_t *resp;

	if (argc > 1) {
		fprintf(stderr, "Usage: tollgate status [--control PATH] [--json]\n");
		return 2;
	}
	ret = ask(path, json_pack("{s:s}", "cmd", "status"), &resp);
	if (ret)
		return ret;
	if (json_out) {
		char *s = json_dumps(resp, JSON_COMPACT);
		printf("%s\n", s ? s : "{}");
		free(s);
	} else {
		print_status(resp);
	}
	json_decref(resp);
	return 0;
}

int cmd_top(int argc, char **argv)
{
	const char *path = control_path_opt(&argc, &argv, NULL);
	int once = 0, ret = 0;
	double interval = 1.0;
	json_t *resp;
	size_t i;
	json_t *row;

	for (int k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "--once")) {
			once = 1;
		} else if (!strcmp(argv[k], "--interval") && k + 1 < argc) {
			if (parse_double(argv[++k], 0.1, 3600, &interval)) {
				tg_err("--interval %s: not a number of seconds in 0.1..3600", argv[k]);
				return 2;
			}
		} else {
			fprintf(stderr, "Usage: tollgate top [--control PATH] [--once] "
					"[--interval SECONDS]\n");
			return 2;
		}
	}
	int tty = isatty(STDOUT_FILENO);
	for (;;) {
		ret = ask(path, json_pack("{s:s}", "cmd", "top"), &resp);
		if (ret)
			return ret;
		if (tty && !once)
			printf("\033[H\033[2J"); /* home, clear screen */
		printf("%-32s %-15s %8s %7s %6s %6s %-10s %s\n", "CGROUP", "COMM", "REQ/S", "429/S",
		       "CONNS", "ALERTS", "VERDICT", "TOP ENDPOINT");
		json_array_foreach(json_object_get(resp, "rows"), i, row) {
			printf("%-32.32s %-15.15s %8.1f %7.1f %6lld %6lld %-10s %s\n", str(row, "cgroup"),
			       str(row, "comm"), json_real_value(json_object_get(row, "req_s")),
			       json_real_value(json_object_get(row, "r429_s")), num(row, "open_conns"),
			       num(row, "alerts"), str(row, "verdict"), str(row, "top_endpoint"));
		}
		fflush(stdout);
		json_decref(resp);
		if (once)
			return 0;
		usleep((useconds_t)(interval * 1e6));
	}
}

int cmd_unblock(int argc, char **argv)
{
	const char *path = control_path_opt(&argc, &argv, NULL);
	json_t *resp;
	int ret;

	if (argc != 2) {
		fprintf(stderr, "Usage: tollgate unblock CGROUP [--control PATH]\n");
		return 2;
	}
	ret = ask(path, json_pack("{s:s, s:s}", "cmd", "unblock", "cgroup", argv[1]), &resp);
	if (ret)
		return ret;
	printf("unblocked %s\n", str(resp, "cgroup"));
	json_decref(resp);
	return 0;
}

int cmd_block(int argc, char **argv)
{
	static const struct option lo[] = {
		{"action", required_argument, 0, 'a'}, {"rate", required_argument, 0, 'r'},
		{"burst", required_argument, 0, 'b'},  {"duration", required_argument, 0, 'd'},
		{"help", no_argument, 0, 'h'},         {0, 0, 0, 0},
	};
	const char *path = control_path_opt(&argc, &argv, NULL);
	const char *action = NULL;
	double rate = 0;
	uint64_t burst = 1, duration = 0;
	json_t *resp;
	int c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'a': action = optarg; break;
		case 'r':
			if (parse_double(optarg, 0.001, 1e6, &rate)) {
				tg_err("--rate %s: not a number of requests per second", optarg);
				return 2;
			}
			break;
		case 'b':
			if (parse_u64(optarg, 1, 1000000, &burst)) {
				tg_err("--burst %s: not a number in 1..1000000", optarg);
				return 2;
			}
			break;
		case 'd':
			if (parse_u64(optarg, 0, 31536000, &duration)) {
				tg_err("--duration %s: not a number of seconds", optarg);
				return 2;
			}
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1 || !action)
		goto usage;
	ret = ask(path,
		  json_pack("{s:s, s:s, s:s, s:f, s:I, s:I}", "cmd", "block", "cgroup", argv[optind],
			    "action", action, "rate", rate, "burst", (json_int_t)burst, "duration",
			    (json_int_t)duration),
		  &resp);
	if (ret)
		return ret;
	printf("%s %s: %s\n", action, str(resp, "cgroup"), str(resp, "result"));
	json_decref(resp);
	return 0;
usage:
	fprintf(stderr, "Usage: tollgate block CGROUP --action kill|freeze|throttle [--rate N] "
			"[--burst N] [--duration SECONDS] [--control PATH]\n");
	return 2;
}
