/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * http2.h - HTTP/2 frames and HPACK header blocks (RFC 9113, RFC 7541) from the captured
 * plaintext of one direction of a TLS session.
 *
 * In:  the buffers of one direction in order, each as its captured prefix and its real
 *      length (the capture keeps the first capture_bytes of each TLS write or read). The
 *      client direction starts with the connection preface (RFC 9113 section 3.4).
 * Out: through callbacks, per stream: each complete header block (HEADERS or PUSH_PROMISE
 *      plus CONTINUATION frames, decoded with nghttp2's HPACK inflater) as a request
 *      (:method, :path, :authority and the fields), a response (:status and the fields) or
 *      trailers; DATA frame sizes with END_STREAM; RST_STREAM.
 *
 * HPACK is stateful (a dynamic table per direction), so every header block must be seen
 * whole. Frame lengths are in the 9-byte frame headers, so DATA payloads beyond the
 * capture are skipped exactly; but a frame header or a header block that falls beyond a
 * buffer's captured prefix, an HPACK error, a header block over H2_BLOCK_MAX or a frame
 * that breaks RFC 9113 makes the direction "lost": it stops decoding for good (the
 * caller counts it; nothing is guessed).
 */
#ifndef TG_HTTP2_H
#define TG_HTTP2_H

#include <stddef.h>
#include <stdint.h>

#include "http1.h"

#define H2_PREFACE_LEN 24        /* "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" */
#define H2_BLOCK_MAX (64 * 1024) /* bytes of one encoded header block kept */
#define H2_TABLE_MAX (64 * 1024) /* largest HPACK dynamic table accepted */

enum h2_block_kind {
	H2_REQUEST = 1,  /* has :method */
	H2_RESPONSE = 2, /* has :status */
	H2_TRAILERS = 3, /* neither: trailer fields (RFC 9113 8.1) */
};

enum h2_lost {
	H2_OK = 0,
	H2_LOST_GAP = 1,      /* a frame header or header block beyond the captured bytes */
	H2_LOST_HPACK = 2,    /* the inflater failed (or the table outgrew H2_TABLE_MAX) */
	H2_LOST_TOO_BIG = 3,  /* a header block over H2_BLOCK_MAX */
	H2_LOST_PROTOCOL = 4, /* a frame RFC 9113 forbids (bad padding, stray CONTINUATION) */
	H2_LOST_NOMEM = 5,
};

/* One decoded header block. Spans point into the decoder: valid during the callback. */
struct h2_block {
	uint32_t stream;          /* stream identifier (RFC 9113 5.1.1) */
	int kind;                 /* enum h2_block_kind */
	int end_stream;           /* END_STREAM was set on its HEADERS frame */
	int push;                 /* a PUSH_PROMISE (server push): not a request of this peer */
	uint64_t wire_len;        /* frame bytes (headers and payloads) of the block */
	struct http_request req;  /* H2_REQUEST: method, target/path/query, host (:authority,
				   * else Host), regular fields; version 20 */
	struct http_response resp; /* H2_RESPONSE: status, Retry-After, Content-Length */
};

struct h2_callbacks {
	void (*block)(void *ctx, const struct h2_block *b);
	/* a DATA frame, once all of it has passed: @bytes incl. its 9-byte header */
	void (*data)(void *ctx, uint32_t stream, uint64_t bytes, int end_stream);
	/* RST_STREAM (RFC 9113 6.4): the stream is closed */
	void (*reset)(void *ctx, uint32_t stream);
	void *ctx;
};

struct h2_dir;

/*
 * h2_dir_new - a decoder for one direction; @client: 1 for the client's direction (it
 * starts with the connection preface). NULL on ENOMEM.
 */
struct h2_dir *h2_dir_new(int client);
void h2_dir_free(struct h2_dir *d);

/*
 * h2_dir_feed - decode one buffer of the direction.
 * @cap/@cap_len: the captured prefix; @len: the buffer's real length (>= cap_len).
 * Calls @cb for what completes in it. Returns enum h2_lost: H2_OK, or why the direction
 * is lost (then and on every later call, without calling @cb).
 */
int h2_dir_feed(struct h2_dir *d, const uint8_t *cap, size_t cap_len, uint64_t len,
		const struct h2_callbacks *cb);

#endif
