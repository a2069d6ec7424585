/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * sink_jsonl.h - the JSON lines output of `tollgate run` (--json FILE|-), the audit log.
 *
 * In:  observations (obs.h), and alert/action lines other stages build with jsonw.
 * Out: one JSON object per line; the schema is documented in README.md ("Event schema").
 *
 * Write errors (a full disk) are reported once per minute on stderr and counted; the
 * lines of a failed write are lost and counted in lost_lines (never silently).
 */
#ifndef TG_SINK_JSONL_H
#define TG_SINK_JSONL_H

#include <stdint.h>
#include <stdio.h>

#include "alert.h"
#include "jsonw.h"
#include "obs.h"

struct jsonl_sink {
	FILE *f;
	char path[256];
	struct jsonw w;
	uint64_t lines;       /* lines written */
	uint64_t lost_lines;  /* lines lost to write errors */
	uint64_t pending;     /* lines in w not written yet */
	int last_err;         /* -errno of the last failed write, 0 */
	uint64_t last_err_report_ns;
};

/* Open @path for writing ("-" is stdout). Returns 0 or -errno. */
int jsonl_open(struct jsonl_sink *s, const char *path);
/* Flush and close. */
void jsonl_close(struct jsonl_sink *s);
/* Append an observation as one line (buffered until jsonl_flush). */
void jsonl_obs(struct jsonl_sink *s, const struct tg_obs *o);
/* Append an alert as one line: "event":"alert" with technique, rule, severity, host,
 * endpoint, count, value, window_s, threshold, first_ts, last_ts, samples, detail, drops,
 * suppressed (README "Alerts"). */
void jsonl_alert(struct jsonl_sink *s, const struct tg_alert *a);
/* Begin a line with the fields every event has (ts, event, cgroup_id, cgroup, pid, tid,
 * comm); the caller adds its own fields with jsonw and ends with jsonl_end(). */
struct jsonw *jsonl_begin(struct jsonl_sink *s, uint64_t ts_ns, const char *event,
			  uint64_t cgroup_id, const char *cgroup, uint32_t pid, uint32_t tid,
			  const char *comm);
void jsonl_end(struct jsonl_sink *s);
/* Write buffered lines and fflush. @now_ns paces error reports. Returns 0 or -errno. */
int jsonl_flush(struct jsonl_sink *s, uint64_t now_ns);

/* Write an address as a JSON string value ("127.0.0.1", "::1"). */
void jw_addr(struct jsonw *w, int family, const uint8_t *addr);

#endif
