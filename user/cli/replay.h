/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * replay.h - `tollgate replay`: the JSON lines `tollgate run` wrote, read back into
 * observations (obs.h) and fed to the same detectors (detect.h) as live.
 *
 * In:  JSON lines (README "Event schema"), parsed with jansson. Time is each event's "ts";
 *      detect_tick() is called with the latest event time whenever it passes a second,
 *      detect_flush() at the end, so cool-down summaries come out as they would live.
 * Out: the detectors' alerts (through the detect callback); lines that are not valid JSON
 *      objects or whose fields have the wrong types are counted and reported as
 *      "NAME:LINE: reason", never fatal. "alert" lines (a run's own alerts) and unknown
 *      event types are skipped and counted.
 */
#ifndef TG_REPLAY_H
#define TG_REPLAY_H

#include <stdint.h>
#include <stdio.h>

#include "detect.h"
#include "obs.h"

struct replay_stats {
	uint64_t lines;        /* lines read, empty ones included */
	uint64_t observations; /* fed to the detectors */
	uint64_t skipped;      /* alert lines and unknown event types */
	uint64_t bad;          /* not parsed: reported */
	uint64_t first_bad;    /* line number of the first bad line, 0 */
};

typedef void (*replay_err_fn)(void *ctx, const char *msg);

/*
 * replay_stream - read @in to its end, feeding @d. @name stands for the input in
 * messages. Bad lines are reported through @err (NULL: tg_warn on stderr), the first
 * @max_reports of them (then only counted). Returns 0, or -errno when reading failed.
 */
int replay_stream(FILE *in, const char *name, struct detect *d, struct replay_stats *st,
		  replay_err_fn err, void *ctx, unsigned max_reports);

/*
 * replay_parse_line - one JSON line (@len bytes, no newline needed) into @o.
 * String fields of @o point into *@hold, which the caller releases with
 * json_decref(*@hold) after using @o (NULL on failure is fine to decref), and the path
 * template (o->tpl, as flow.c sets it live) into @tb.
 * Returns 1 for an observation, 0 for a line to skip (alert, unknown event), -EINVAL with
 * @why (a static string or @whybuf) for a bad line.
 */
int replay_parse_line(const char *line, size_t len, struct tg_obs *o, struct obs_tpl *tb,
		      void **hold, const char **why, char *whybuf, size_t whylen);

/* `tollgate replay [--policy FILE] [--json FILE|-] [-q] FILE|-` */
int cmd_replay(int argc, char **argv);

#endif
