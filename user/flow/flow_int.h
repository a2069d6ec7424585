/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * flow_int.h - what flow.c (connections, sockets, HTTP/1 pairing) and flow_h2.c (HTTP/2
 * streams) share. Not part of flow.h's interface: nothing else includes it.
 */
#ifndef TG_FLOW_INT_H
#define TG_FLOW_INT_H

#include <stdint.h>
#include <uthash.h>

#include "flow.h"
#include "http1.h"
#include "redact.h"
#include "template.h"

struct h2_dir;
struct sock;

/* A request seen on a connection, waiting for its response. */
struct preq {
	struct preq *next;
	uint64_t ts;         /* CLOCK_MONOTONIC ns */
	uint64_t cgroup_id;
	uint32_t pid, tid;
	char comm[17];
	int http;            /* enum obs_http */
	int is_head;         /* HEAD: the response has no body (RFC 9110 9.3.2) */
	int emitted;         /* its http_request observation went out */
	int truncated;
	uint64_t bytes;
	char auth_fp[REDACT_FP_HEX + 1];
	char *method, *host, *path, *query; /* into strs; NULL when absent */
	char *tpl;           /* the path's template, into strs; NULL with path */
	struct tpl_info ti;
	/* HTTP/2: its stream, and its response once the response's HEADERS arrived */
	uint32_t stream;
	int r_status;        /* 0 until then */
	int64_t r_retry;
	uint64_t r_ts, r_bytes;
	char strs[];
};

struct conn_key {
	uint64_t id;     /* socket cookie, or TLS session address */
	uint32_t pid;    /* 0 for sockets, tgid for TLS sessions */
	uint32_t source; /* enum tg_source */
};

struct conn {
	struct conn_key key;
	UT_hash_handle hh;
	struct conn *prev, *next; /* list of connections holding unbound TLS requests */
	int held;                 /* on that list */
	uint64_t held_since;      /* CLOCK_MONOTONIC of the oldest held request */
	uint64_t cgroup_id;
	uint32_t pid, tid;
	char comm[17];
	int has_addr;
	struct tg_addr addr;
	int opaque;               /* plaintext h2 or an upgraded (101) connection: no more
				   * HTTP/1 */
	struct h2_dir *h2_out, *h2_in; /* HTTP/2 over TLS: a decoder per direction */
	uint32_t h2_seq[2];       /* the piece expected next, by enum tg_dir */
	int h2_lost;              /* bit 0: out, bit 1: in; counted once each */
	struct preq *head, *tail;
	int depth;
	/* the response in progress */
	int resp_active;
	int resp_status;
	int resp_http;
	int64_t resp_retry;
	uint64_t resp_ts, resp_bytes;
	int64_t resp_expect;      /* total bytes when known from its head, -1 */
	struct preq *resp_req;
	uint64_t last_ts;
};

struct flow {
	struct flow_config cfg;
	int64_t clock_off;
	struct conn *conns;
	struct sock *socks;
	struct conn *held; /* utlist DL list */
	struct flow_stats st;
	uint32_t nconns;
	uint32_t nh2;      /* connections with HTTP/2 decoders */
};

/* Report @q's http_request observation, once. */
void flow_emit_request(struct flow *f, struct conn *c, struct preq *q);
/* Report a response to @q (NULL: no request known) on @c; @ts CLOCK_MONOTONIC ns of its
 * head, @bytes on the wire, @retry Retry-After as in struct http_response. */
void flow_emit_response(struct flow *f, struct conn *c, const struct preq *q, int http,
			int status, uint64_t bytes, int64_t retry, uint64_t ts);
/* Report @c's HTTP/1 response in progress, if any. */
void flow_finish_response(struct flow *f, struct conn *c);
/* A request from a parsed head (@wire_len: bytes its buffer carried): strings copied, the
 * query redacted, credentials fingerprinted, the path templated. NULL on ENOMEM. */
struct preq *flow_make_req(const struct http_request *r, const struct tg_hdr *h,
			   uint64_t wire_len);
/* Queue @q on @c (FLOW_MAX_PIPELINE, or FLOW_MAX_STREAMS for HTTP/2: the oldest is
 * reported and dropped beyond that, counted). */
void flow_enqueue(struct flow *f, struct conn *c, struct preq *q);
/* Report @q now, or hold it until the TLS session's socket is known. */
void flow_request_seen(struct flow *f, struct conn *c, struct preq *q);

/* flow_h2.c: HTTP/2 over TLS on @c. start: the client preface's piece @p (a session
 * address reused for a new connection starts over); feed: a later piece of either
 * direction; flush: report the responses in progress (the connection went idle); stop:
 * report every open stream and free the decoders. */
void flow_h2_start(struct flow *f, struct conn *c, const struct tg_payload_event *p,
		   const struct tg_hdr *h);
void flow_h2_feed(struct flow *f, struct conn *c, const struct tg_payload_event *p,
		  const struct tg_hdr *h);
void flow_h2_flush(struct flow *f, struct conn *c);
void flow_h2_stop(struct flow *f, struct conn *c);

#endif
