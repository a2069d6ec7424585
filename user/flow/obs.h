/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * obs.h - an observation: one line of `tollgate run`'s JSON output, in memory.
 *
 * flow.c turns decoded kernel records into observations; the sinks (JSON lines, metrics)
 * and the detectors consume them; `tollgate replay` reads JSON lines back into the same
 * struct, so the detectors see exactly what they saw live. Strings are borrowed: they stay
 * valid for the duration of the callback that receives the observation.
 */
#ifndef TG_OBS_H
#define TG_OBS_H

#include <stdint.h>

#include "redact.h"
#include "template.h"

enum obs_type {
	OBS_CONNECT = 1,  /* "connect": a TCP or connected-UDP connect() */
	OBS_CLOSE,        /* "close": a connected socket was released */
	OBS_REQUEST,      /* "http_request" */
	OBS_RESPONSE,     /* "http_response" */
	OBS_UDP,          /* "udp_send": unconnected UDP sends to one destination */
	OBS_DROPS,        /* "drops": records the kernel could not deliver (ring buffer full) */
	OBS_TYPE_MAX,
};

enum obs_http {
	OBS_HTTP_UNKNOWN = 0,
	OBS_HTTP_10,
	OBS_HTTP_11,
	OBS_HTTP_H2,
};

struct tg_obs {
	int type;              /* enum obs_type */
	uint64_t ts_ns;        /* CLOCK_REALTIME, ns since the epoch */
	uint64_t cgroup_id;
	const char *cgroup;    /* path under the cgroup2 root; NULL when unknown */
	const char *agent;     /* container name registered by the OCI hook; NULL when none */
	uint32_t pid;          /* tgid; 0 when unknown */
	uint32_t tid;
	char comm[17];

	int has_addr;          /* daddr/dport/l4 are known */
	int family;            /* AF_INET or AF_INET6 */
	uint8_t daddr[16];
	uint16_t dport;
	int l4;                /* IPPROTO_TCP or IPPROTO_UDP */

	int http;              /* enum obs_http */
	int tls;               /* 0: plaintext; TG_SRC_OPENSSL or TG_SRC_GNUTLS */
	const char *method;    /* NULL when unknown */
	const char *host;      /* lower case; NULL when unknown */
	const char *path;      /* NULL when unknown (h2) */
	const char *tpl;       /* the path's template (template.h), the endpoint's path part:
				* computed once per request, where the path is parsed (flow.c,
				* replay.c, obs_set_template); NULL when path is NULL */
	const struct tpl_info *tpl_info; /* what tpl_path replaced in it; NULL with tpl */
	const char *query;     /* redacted; NULL when the target had no '?' */
	char auth_fp[REDACT_FP_HEX + 1]; /* "" when the request carried no credential */
	int truncated;         /* the request line was cut off by the capture size */
	uint64_t bytes;        /* request: head + Content-Length (or what was seen);
				* response: bytes read for it */
	int status;            /* response status code; 0 unknown */
	double latency_ms;     /* response: first response byte - request; < 0 unknown */
	int64_t retry_after_s; /* response Retry-After delay-seconds; -1 absent, -2 a date */
	uint64_t count;        /* udp_send: sends; drops: records lost */
};

/* Storage for the template of one observation's path. */
struct obs_tpl {
	char tpl[TPL_MAX];
	struct tpl_info info;
};

/* Set @o->tpl and @o->tpl_info from @o->path (both NULL when it is NULL), kept in @t,
 * which must live as long as @o is used. For observations not made by flow.c. */
void obs_set_template(struct tg_obs *o, struct obs_tpl *t);

/* "connect", "http_request", ... */
const char *obs_type_name(int type);
/* enum obs_type for a name, 0 when unknown */
int obs_type_from_name(const char *name);
/* "http/1.1", "http/1.0", "h2"; NULL for unknown */
const char *obs_http_name(int http);
int obs_http_from_name(const char *name);
/* "openssl", "gnutls"; NULL for plaintext */
const char *obs_tls_name(int tls);
int obs_tls_from_name(const char *name);

#endif
