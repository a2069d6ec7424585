// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * fuzz_replay.c - the JSON lines reader of `tollgate replay` (user/cli/replay.c) and the
 * detectors behind it, on arbitrary input.
 *
 * Input: a stream of lines. Each line goes through replay_parse_line; the observations it
 * yields go through the built-in policy's detectors, then the whole input once more
 * through replay_stream (as `tollgate replay -` reads it). Checks memory safety, the
 * documented results (1, 0 or -EINVAL with a reason), and that every alert names a rule of
 * a known technique.
 */
#include <errno.h>
#include <jansson.h>

#include "detect.h"
#include "fuzz.h"
#include "policy.h"
#include "replay.h"

static uint64_t nalerts;

static void on_alert(void *ctx, const struct tg_alert *a)
{
	(void)ctx;
	FUZZ_CHECK(a->rule && a->technique);
	FUZZ_CHECK(!strcmp(a->technique, "SAFE-T2102") || !strcmp(a->technique, "SAFE-T1804"));
	FUZZ_CHECK(a->nsamples >= 0 && a->nsamples <= ALERT_MAX_SAMPLES);
	nalerts++;
}

static void quiet(void *ctx, const char *msg)
{
	(void)ctx;
	(void)msg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct policy *p;
	char whybuf[128];

	if (!p)
		p = policy_default();
	struct detect *d = detect_new(p, on_alert, NULL);
	FUZZ_CHECK(d);
	const char *s = (const char *)data, *end = s + size;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t len = nl ? (size_t)(nl - s) : (size_t)(end - s);
		char *line = fuzz_dup((const uint8_t *)s, len);
		struct tg_obs o;
		void *hold = NULL;
		const char *why = NULL;
		struct obs_tpl tb;
		int r = replay_parse_line(line, len, &o, &tb, &hold, &why, whybuf, sizeof(whybuf));
		FUZZ_CHECK(r == 1 || r == 0 || r == -EINVAL);
		if (r == -EINVAL)
			FUZZ_CHECK(why && *why);
		if (r == 1) {
			FUZZ_CHECK(o.type > 0 && o.type < OBS_TYPE_MAX);
			detect_obs(d, &o);
		}
		json_decref(hold);
		free(line);
		s += len + (nl ? 1 : 0);
	}
	detect_flush(d);
	detect_free(d);

	FILE *in = fmemopen((void *)data, size ? size : 1, "r");
	if (in && size) {
		struct replay_stats st;
		d = detect_new(p, on_alert, NULL);
		FUZZ_CHECK(d);
		FUZZ_CHECK(replay_stream(in, "fuzz", d, &st, quiet, NULL, 5) == 0);
		FUZZ_CHECK(st.observations + st.skipped + st.bad <= st.lines);
		detect_free(d);
	}
	if (in)
		fclose(in);
	return 0;
}
