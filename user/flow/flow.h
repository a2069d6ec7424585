/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * flow.h - per-connection state: from kernel records to HTTP observations.
 *
 * In:  decoded records (decode.h): connects, closes, TCP payloads (skb), TLS plaintext
 *      buffers, TLS-to-socket bindings.
 * Out: observations (obs.h) through a callback, in order per connection:
 *      connect / close, http_request as soon as a request head is parsed, http_response when
 *      the response is complete (its Content-Length is read, the next request or the next
 *      response starts, the socket closes, or it has been idle for FLOW_RESPONSE_IDLE_NS).
 *      Query strings are redacted and credentials fingerprinted here, so nothing downstream
 *      ever holds a secret in clear.
 *
 * Connections are keyed by socket cookie (plaintext) or by (tgid, TLS session address).
 * Requests wait in a FIFO per connection (HTTP/1.1 pipelining, RFC 9112 9.3.2) for their
 * responses. An HTTP/2 session over TLS (its pieces, tollgate_abi.h) goes through an
 * http2.h decoder per direction: a request per HEADERS, its response paired by stream id
 * and reported when the stream ends (END_STREAM, RST_STREAM, the connection closing or
 * idle for FLOW_RESPONSE_IDLE_NS). State is bounded: at most max_conns connections and
 * max_socks sockets, least recently active evicted first and counted.
 */
#ifndef TG_FLOW_H
#define TG_FLOW_H

#include <stdint.h>

#include "decode.h"
#include "obs.h"

#define FLOW_RESPONSE_IDLE_NS (2ULL * 1000000000ULL)  /* finish a response idle this long */
#define FLOW_CONN_IDLE_NS (300ULL * 1000000000ULL)    /* forget a connection idle this long */
#define FLOW_BIND_WAIT_NS (20ULL * 1000000ULL)        /* hold a TLS request for its 5-tuple */
#define FLOW_MAX_PIPELINE 16                          /* requests waiting per connection */
#define FLOW_MAX_STREAMS 256                          /* HTTP/2 streams open per connection */
#define FLOW_MAX_H2 4096 /* HTTP/2 connections decoded at once (2 HPACK tables, 4 KiB each) */

struct flow_stats {
	uint64_t requests;          /* http_request observations */
	uint64_t responses;         /* http_response observations */
	uint64_t h2_prefaces;       /* HTTP/2 connections seen (decoded per stream over TLS) */
	uint64_t h2_lost;           /* HTTP/2 directions no longer decoded (a frame header or
				     * header block beyond the capture, HPACK or frame errors,
				     * FLOW_MAX_H2 connections decoded already) */
	uint64_t bad_heads;         /* looked like HTTP, failed to parse: not reported */
	uint64_t truncated_heads;   /* request lines cut off by the capture size */
	uint64_t orphan_responses;  /* responses with no request waiting */
	uint64_t pipeline_drops;    /* requests dropped from a full FIFO, never paired */
	uint64_t conn_evictions;    /* connections forgotten because the table was full */
	uint64_t sock_evictions;    /* sockets forgotten because the table was full */
	uint64_t unmatched_bytes;   /* response-direction bytes with no response in progress */
};

typedef void (*flow_obs_fn)(void *ctx, const struct tg_obs *o);
typedef const char *(*flow_cgroup_fn)(void *ctx, uint64_t cgroup_id);

struct flow_config {
	flow_obs_fn emit;          /* receives every observation */
	flow_cgroup_fn cgroup;     /* cgroup id -> path, may return NULL */
	void *ctx;                 /* passed to both */
	uint32_t max_conns;        /* 0: 65536 */
	uint32_t max_socks;        /* 0: 65536 */
};

struct flow;

/* NULL with errno set: ENOMEM, or redact_init's error (no randomness or HMAC for the
 * auth_fp key). */
struct flow *flow_new(const struct flow_config *cfg);
void flow_free(struct flow *f);

/* Set CLOCK_REALTIME - CLOCK_MONOTONIC in ns, used to timestamp observations. */
void flow_set_clock(struct flow *f, int64_t realtime_minus_mono_ns);

/* Feed one decoded record (exec/exit records are ignored here). */
void flow_record(struct flow *f, const struct tg_record *r);

/* Finish idle responses, release held TLS requests whose wait is over, forget idle
 * connections. @now_mono_ns: CLOCK_MONOTONIC now. */
void flow_tick(struct flow *f, uint64_t now_mono_ns);

/* Release only the held TLS requests whose wait is over (cheap; for the deadline). */
void flow_release_due(struct flow *f, uint64_t now_mono_ns);

/* CLOCK_MONOTONIC deadline of the earliest held TLS request, 0 when none. */
uint64_t flow_next_deadline(const struct flow *f);

/* Finish everything in flight (at exit). */
void flow_drain(struct flow *f);

const struct flow_stats *flow_stats(const struct flow *f);
uint32_t flow_conn_count(const struct flow *f);

/*
 * flow_foreach_pending - requests in flight: for every connection with requests whose
 * response has not been seen to its end (queued, held for their socket, or being
 * answered), call @fn with its cgroup id and their number (>= 1). What the
 * mcp_agent_concurrent_requests gauge shows, computed when it is read, so a request that
 * never gets a response stops counting when its connection's state goes: at the socket's
 * release, or, for a TLS session never bound to its socket, at its idle expiry
 * (FLOW_CONN_IDLE_NS).
 */
typedef void (*flow_pending_fn)(void *ctx, uint64_t cgroup_id, uint32_t n);
void flow_foreach_pending(const struct flow *f, flow_pending_fn fn, void *ctx);

#endif
