/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * sink_jsonl.h - the JSON lines output of `tollgate run` (--json FILE|-), the audit log.
 *
 * In:  observations (obs.h), and alert/action lines other stages build with jsonw.
 * Out: one JSON object per line; the schema is documented in README.md ("Event schema").
 *
 * The audit log is opened the way a root daemon must open a path others may have
 * prepared: never through a symbolic link in the last component (O_NOFOLLOW), never a
 * file owned by another user or one with other hard links, never truncated (an existing
 * log is appended to: a restart keeps the record), new files 0600. JSONL_ANY lifts the
 * link and owner checks for an operator who wants them (`--json-any`).
 *
 * Lines are written whole or not at all: a failed or short write to a regular file is
 * cut back (ftruncate) to the end of the last whole line, so the stream never holds half
 * a line. The lines of a failed write are lost, counted in lost_lines and reported on
 * stderr once per minute; when writing works again, one line
 *   {"ts":…,"event":"lost","lines":N,"first_ts":…,"last_ts":…}
 * says how many lines are missing and the time span of their events, before any later
 * line. A stream that cannot be cut back (a pipe, a terminal) gets a newline after a
 * fragment instead, so only that one line is unreadable; it is counted as lost.
 */
#ifndef TG_SINK_JSONL_H
#define TG_SINK_JSONL_H

#include <stdint.h>
#include <stdio.h>

#include "alert.h"
#include "jsonw.h"
#include "obs.h"

/* jsonl_open flags */
#define JSONL_ANY 0x1 /* follow a symbolic link, accept a file of another owner or with
		       * other hard links */

struct jsonl_sink {
	int fd;               /* -1: closed */
	int flags;            /* JSONL_* given to jsonl_open */
	int seekable;         /* a regular file: failed writes are cut back */
	int need_newline;     /* a fragment was left on an unseekable stream */
	char path[256];
	struct jsonw w;
	uint64_t lines;       /* lines written */
	uint64_t lost_lines;  /* lines lost to write errors */
	uint64_t pending;     /* lines in w not written yet */
	uint64_t pending_first_ns, pending_last_ns; /* event times of the pending lines */
	uint64_t gap_lines;   /* lost lines not yet announced by a "lost" line */
	uint64_t gap_first_ns, gap_last_ns; /* their event times */
	uint64_t reopens;     /* successful reopens (SIGHUP) */
	int last_err;         /* -errno of the last failed write, 0 */
	uint64_t last_err_report_ns;
};

/* Open @path for appending ("-" is stdout) under the rules above; @flags JSONL_*.
 * Returns 0, or -errno after one stderr line that says why (-ELOOP: a symbolic link;
 * -EPERM: another owner or other hard links; -EISDIR). */
int jsonl_open(struct jsonl_sink *s, const char *path, int flags);
/* Use an open descriptor (tests, benchmarks); the sink does not close it. */
void jsonl_open_fd(struct jsonl_sink *s, int fd);
/* Close and open the path again (logrotate's SIGHUP): pending lines are flushed to the
 * old file first. On failure the old descriptor is kept and -errno returned. */
int jsonl_reopen(struct jsonl_sink *s, uint64_t now_ns);
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
