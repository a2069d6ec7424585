/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * alert.h - what a detector says when a rule fires: one line of `tollgate run` / `tollgate
 * replay` output with "event":"alert", in memory.
 *
 * Producers: the SAFE-T2102 and SAFE-T1804 detectors (detect*.c). Consumers: the JSON lines
 * sink, the enforcement engine (actions per rule and severity), the metrics exporter.
 * Strings are borrowed for the duration of the callback.
 */
#ifndef TG_ALERT_H
#define TG_ALERT_H

#include <stdint.h>

#define ALERT_MAX_SAMPLES 5

enum alert_severity {
	SEV_LOW = 1,
	SEV_MEDIUM,
	SEV_HIGH,
	SEV_CRITICAL,
};

struct tg_alert {
	uint64_t ts_ns;          /* CLOCK_REALTIME of the observation that fired the rule */
	const char *technique;   /* "SAFE-T2102" or "SAFE-T1804" */
	const char *rule;        /* "volume", "rapid", "rate_limit", "retry_loop", "parallel",
				  * "growth", "cost", "enumeration", "pagination",
				  * "cross_endpoint", "observability_api", "data_volume" */
	int severity;            /* enum alert_severity */
	uint64_t cgroup_id;
	const char *cgroup;      /* NULL when unknown */
	uint32_t pid;            /* the last request's tgid, 0 unknown */
	char comm[17];
	const char *host;        /* NULL when the rule is per cgroup only */
	const char *endpoint;    /* host + path template, NULL when not per endpoint */
	uint64_t count;          /* what was counted (requests, responses, ids, bytes, ...) */
	double value;            /* the measured value compared with threshold (rate ratio,
				  * USD, bytes); equals count for plain counts */
	uint32_t window_s;       /* the rule's window, seconds */
	double threshold;        /* the policy's threshold the value crossed */
	uint64_t first_ts_ns;    /* oldest observation in the window that counted */
	uint64_t last_ts_ns;
	const char *samples[ALERT_MAX_SAMPLES]; /* redacted request targets (path?query) */
	int nsamples;
	const char *detail;      /* rule-specific evidence in words, may be NULL */
	uint64_t drops;          /* kernel records lost inside the window: the count may be low */
	uint64_t suppressed;     /* > 0: a summary of alerts held back by the cool-down */
};

const char *alert_severity_name(int sev);
/* enum alert_severity for a name, 0 when unknown */
int alert_severity_from_name(const char *name);

#endif
