// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_http2.c - user/flow/http2.c, HTTP/2 frames and HPACK header blocks (RFC 9113, 7541).
 *
 * Header blocks are encoded by nghttp2's own HPACK deflater (a real encoder with its
 * dynamic table, so later requests refer to fields of earlier ones). Checked: the client
 * preface, requests (method, path/query split, :authority over Host, regular fields),
 * responses (status, Retry-After), END_STREAM on HEADERS and DATA, DATA sizes,
 * RST_STREAM, padding and priority, CONTINUATION, frames split at every byte across
 * buffers, DATA payloads beyond the capture skipped exactly, and the ways a direction is
 * lost (a frame header or header block beyond the capture, interleaved frames, bad
 * padding, HPACK garbage, an oversized block) with no callback afterwards.
 */
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>

#include "unit.h"

#include "http2.h"

/* ---- building frames ---- */

struct wire {
	uint8_t b[1 << 17];
	size_t n;
};

static void put_frame(struct wire *w, uint8_t type, uint8_t flags, uint32_t stream,
		      const uint8_t *p, size_t n)
{
	assert_true(w->n + 9 + n <= sizeof(w->b));
	w->b[w->n++] = (uint8_t)(n >> 16);
	w->b[w->n++] = (uint8_t)(n >> 8);
	w->b[w->n++] = (uint8_t)n;
	w->b[w->n++] = type;
	w->b[w->n++] = flags;
	w->b[w->n++] = (uint8_t)(stream >> 24);
	w->b[w->n++] = (uint8_t)(stream >> 16);
	w->b[w->n++] = (uint8_t)(stream >> 8);
	w->b[w->n++] = (uint8_t)stream;
	if (n)
		memcpy(w->b + w->n, p, n);
	w->n += n;
}

#define NV(n, v)                                                                          \
	{ (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, sizeof(v) - 1, NGHTTP2_NV_FLAG_NONE }

static size_t deflate(nghttp2_hd_deflater *def, const nghttp2_nv *nv, size_t n, uint8_t *out,
		      size_t cap)
{
	ssize_t r = nghttp2_hd_deflate_hd(def, out, cap, nv, n);
	assert_true(r > 0);
	return (size_t)r;
}

/* A HEADERS frame (END_HEADERS) carrying @nv, encoded with @def. */
static void put_headers(struct wire *w, nghttp2_hd_deflater *def, uint32_t stream,
			uint8_t flags, const nghttp2_nv *nv, size_t n)
{
	uint8_t blk[4096];
	size_t len = deflate(def, nv, n, blk, sizeof(blk));
	put_frame(w, 1, (uint8_t)(flags | 0x4), stream, blk, len);
}

static void put_preface(struct wire *w)
{
	static const char pre[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	static const uint8_t settings[] = {0, 3, 0, 0, 0, 100};
	memcpy(w->b + w->n, pre, 24);
	w->n += 24;
	put_frame(w, 4, 0, 0, settings, sizeof(settings));
}

/* ---- collecting what the decoder reports ---- */

struct seen_block {
	uint32_t stream;
	int kind, end_stream, status;
	int64_t retry, clen;
	char method[16], path[256], query[256], host[128], auth[128];
	uint64_t wire;
};

struct seen {
	int nblocks, ndata, nreset;
	struct seen_block b[64];
	uint32_t data_stream[64];
	uint64_t data_bytes[64];
	int data_end[64];
	uint32_t reset_stream[8];
};

static void cp(char *dst, size_t n, struct http_span s)
{
	snprintf(dst, n, "%.*s", s.p ? (int)s.n : 0, s.p ? s.p : "");
}

static void on_block(void *ctx, const struct h2_block *b)
{
	struct seen *s = ctx;
	assert_true(s->nblocks < 64);
	struct seen_block *o = &s->b[s->nblocks++];
	o->stream = b->stream;
	o->kind = b->kind;
	o->end_stream = b->end_stream;
	o->status = b->resp.status;
	o->retry = b->resp.retry_after_s;
	o->clen = b->kind == H2_REQUEST ? b->req.content_length : b->resp.content_length;
	o->wire = b->wire_len;
	cp(o->method, sizeof(o->method), b->req.method);
	cp(o->path, sizeof(o->path), b->req.path);
	cp(o->query, sizeof(o->query), b->req.query);
	cp(o->host, sizeof(o->host), b->req.host);
	o->auth[0] = 0;
	const struct http_header *a = http1_header(&b->req, "authorization");
	if (a)
		cp(o->auth, sizeof(o->auth), a->value);
}

static void on_data(void *ctx, uint32_t stream, uint64_t bytes, int end)
{
	struct seen *s = ctx;
	assert_true(s->ndata < 64);
	s->data_stream[s->ndata] = stream;
	s->data_bytes[s->ndata] = bytes;
	s->data_end[s->ndata++] = end;
}

static void on_reset(void *ctx, uint32_t stream)
{
	struct seen *s = ctx;
	assert_true(s->nreset < 8);
	s->reset_stream[s->nreset++] = stream;
}

static struct h2_callbacks cbs(struct seen *s)
{
	memset(s, 0, sizeof(*s));
	return (struct h2_callbacks){on_block, on_data, on_reset, s};
}

/* Feed @w to a fresh decoder in buffers of @chunk bytes, each captured whole. */
static int feed_chunks(const struct wire *w, int client, size_t chunk, struct seen *s)
{
	struct h2_callbacks cb = cbs(s);
	struct h2_dir *d = h2_dir_new(client);
	int r = H2_OK;

	assert_non_null(d);
	for (size_t off = 0; off < w->n && r == H2_OK; off += chunk) {
		size_t n = w->n - off < chunk ? w->n - off : chunk;
		r = h2_dir_feed(d, w->b + off, n, n, &cb);
	}
	h2_dir_free(d);
	return r;
}

/* A client's three requests on streams 1, 3, 5 (the later ones reuse the dynamic table). */
static void client_wire(struct wire *w)
{
	nghttp2_hd_deflater *def;
	nghttp2_nv r1[] = {NV(":method", "GET"), NV(":scheme", "https"),
			   NV(":authority", "API.Example.com:8443"),
			   NV(":path", "/api/customers/1?fields=name&api_key=s3cr3t"),
			   NV("authorization", "Bearer tok-123"), NV("accept", "*/*")};
	nghttp2_nv r2[] = {NV(":method", "GET"), NV(":scheme", "https"),
			   NV(":authority", "API.Example.com:8443"),
			   NV(":path", "/api/customers/2"), NV("authorization", "Bearer tok-123"),
			   NV("accept", "*/*")};
	nghttp2_nv r3[] = {NV(":method", "POST"), NV(":scheme", "https"),
			   NV(":authority", "api.example.com"), NV(":path", "/v1/chat"),
			   NV("content-length", "11"), NV("host", "other.example")};
	static const uint8_t body[11] = "hello world";

	assert_int_equal(nghttp2_hd_deflate_new(&def, 4096), 0);
	w->n = 0;
	put_preface(w);
	put_headers(w, def, 1, 0x1, r1, 6);
	put_headers(w, def, 3, 0x1, r2, 6);
	put_headers(w, def, 5, 0, r3, 6);
	put_frame(w, 0, 0x1, 5, body, sizeof(body));
	nghttp2_hd_deflate_del(def);
}

static void check_client(const struct seen *s)
{
	assert_int_equal(s->nblocks, 3);
	assert_int_equal(s->b[0].kind, H2_REQUEST);
	assert_int_equal(s->b[0].stream, 1);
	assert_true(s->b[0].end_stream);
	assert_string_equal(s->b[0].method, "GET");
	assert_string_equal(s->b[0].path, "/api/customers/1");
	assert_string_equal(s->b[0].query, "fields=name&api_key=s3cr3t");
	assert_string_equal(s->b[0].host, "API.Example.com:8443");
	assert_string_equal(s->b[0].auth, "Bearer tok-123");
	assert_int_equal(s->b[1].stream, 3);
	assert_string_equal(s->b[1].path, "/api/customers/2");
	assert_string_equal(s->b[1].query, "");
	assert_string_equal(s->b[1].auth, "Bearer tok-123"); /* from the dynamic table */
	assert_int_equal(s->b[2].stream, 5);
	assert_false(s->b[2].end_stream);
	assert_string_equal(s->b[2].method, "POST");
	assert_string_equal(s->b[2].host, "api.example.com"); /* :authority over Host */
	assert_int_equal(s->b[2].clen, 11);
	assert_int_equal(s->ndata, 1);
	assert_int_equal(s->data_stream[0], 5);
	assert_int_equal(s->data_bytes[0], 9 + 11);
	assert_true(s->data_end[0]);
}

static void test_requests(void **state)
{
	struct wire *w = malloc(sizeof(*w));
	struct seen s;

	(void)state;
	client_wire(w);
	assert_int_equal(feed_chunks(w, 1, w->n, &s), H2_OK);
	check_client(&s);
	free(w);
}

/* Any split into buffers, down to one byte each, decodes the same. */
static void test_any_split(void **state)
{
	struct wire *w = malloc(sizeof(*w));
	struct seen s;

	(void)state;
	client_wire(w);
	for (size_t chunk = 1; chunk <= 64; chunk++) {
		assert_int_equal(feed_chunks(w, 1, chunk, &s), H2_OK);
		check_client(&s);
	}
	free(w);
}

static void test_responses(void **state)
{
	struct wire *w = malloc(sizeof(*w));
	nghttp2_hd_deflater *def;
	nghttp2_nv ok[] = {NV(":status", "200"), NV("content-type", "application/json"),
			   NV("content-length", "5000")};
	nghttp2_nv limited[] = {NV(":status", "429"), NV("retry-after", "30")};
	nghttp2_nv cont[] = {NV(":status", "100")};
	nghttp2_nv created[] = {NV(":status", "201")};
	nghttp2_nv trailers[] = {NV("grpc-status", "0")};
	static uint8_t data[5000];
	struct seen s;

	(void)state;
	assert_int_equal(nghttp2_hd_deflate_new(&def, 4096), 0);
	w->n = 0;
	static const uint8_t settings[] = {0, 1, 0, 0, 0x10, 0};
	put_frame(w, 4, 0, 0, settings, sizeof(settings));
	put_headers(w, def, 1, 0, ok, 3);
	put_frame(w, 0, 0, 1, data, 4000);
	put_headers(w, def, 3, 0x1, limited, 2);
	put_frame(w, 0, 0x1, 1, data, 1000);
	put_headers(w, def, 5, 0, cont, 1);
	put_headers(w, def, 5, 0, created, 1);
	put_headers(w, def, 5, 0x1, trailers, 1);
	static const uint8_t cancel[4] = {0, 0, 0, 8};
	put_frame(w, 3, 0, 7, cancel, 4);
	nghttp2_hd_deflate_del(def);

	/* one buffer with 200 bytes captured: the first response decodes, its DATA payload
	 * is skipped by its length, and the next frame header is beyond the capture */
	struct h2_callbacks cb = cbs(&s);
	struct h2_dir *d = h2_dir_new(0);
	assert_int_equal(h2_dir_feed(d, w->b, 200, w->n, &cb), H2_LOST_GAP);
	assert_int_equal(s.nblocks, 1);
	assert_int_equal(s.b[0].status, 200);
	h2_dir_free(d);

	/* whole buffers, captured whole */
	assert_int_equal(feed_chunks(w, 0, w->n, &s), H2_OK);
	assert_int_equal(s.nblocks, 5);
	assert_int_equal(s.b[0].kind, H2_RESPONSE);
	assert_int_equal(s.b[0].status, 200);
	assert_int_equal(s.b[0].clen, 5000);
	assert_int_equal(s.b[1].status, 429);
	assert_int_equal(s.b[1].retry, 30);
	assert_true(s.b[1].end_stream);
	assert_int_equal(s.b[2].status, 100);
	assert_int_equal(s.b[3].status, 201);
	assert_int_equal(s.b[4].kind, H2_TRAILERS);
	assert_true(s.b[4].end_stream);
	assert_int_equal(s.ndata, 2);
	assert_int_equal(s.data_bytes[0], 9 + 4000);
	assert_false(s.data_end[0]);
	assert_int_equal(s.data_bytes[1], 9 + 1000);
	assert_true(s.data_end[1]);
	assert_int_equal(s.nreset, 1);
	assert_int_equal(s.reset_stream[0], 7);
	free(w);
}

/* DATA payloads beyond the captured prefix are skipped by their length: the HEADERS
 * that follow in the next buffer still decode. */
static void test_data_beyond_capture(void **state)
{
	struct wire *w = malloc(sizeof(*w));
	nghttp2_hd_deflater *def;
	nghttp2_nv ok[] = {NV(":status", "200")};
	nghttp2_nv nf[] = {NV(":status", "404")};
	static uint8_t data[20000];
	struct seen s;
	struct h2_callbacks cb = cbs(&s);
	struct h2_dir *d = h2_dir_new(0);

	(void)state;
	assert_int_equal(nghttp2_hd_deflate_new(&def, 4096), 0);
	w->n = 0;
	put_headers(w, def, 1, 0, ok, 1);
	put_frame(w, 0, 0, 1, data, 16384);
	put_frame(w, 0, 0x1, 1, data, 3000);
	size_t second = w->n;
	put_headers(w, def, 3, 0x1, nf, 1);
	nghttp2_hd_deflate_del(def);

	/* buffer 1: HEADERS + the first DATA frame, only 64 bytes captured; buffer 2: the
	 * other DATA frame, 10 captured; buffer 3: the next response */
	size_t b1 = 9 + 1 + 9 + 16384;
	assert_true(w->b[9] != 0);
	assert_int_equal(h2_dir_feed(d, w->b, 64, b1, &cb), H2_OK);
	assert_int_equal(h2_dir_feed(d, w->b + b1, 10, second - b1, &cb), H2_OK);
	assert_int_equal(h2_dir_feed(d, w->b + second, w->n - second, w->n - second, &cb), H2_OK);
	assert_int_equal(s.nblocks, 2);
	assert_int_equal(s.b[0].status, 200);
	assert_int_equal(s.b[1].status, 404);
	assert_int_equal(s.ndata, 2);
	assert_int_equal(s.data_bytes[0], 9 + 16384);
	assert_int_equal(s.data_bytes[1], 9 + 3000);
	assert_true(s.data_end[1]);
	h2_dir_free(d);
	free(w);
}

static void test_padding_priority_continuation(void **state)
{
	struct wire *w = malloc(sizeof(*w));
	nghttp2_hd_deflater *def;
	nghttp2_nv r[] = {NV(":method", "GET"), NV(":scheme", "https"),
			  NV(":authority", "h.example"), NV(":path", "/padded/and/continued"),
			  NV("x-long", "0123456789012345678901234567890123456789")};
	uint8_t blk[1024], pay[1024];
	struct seen s;

	(void)state;
	assert_int_equal(nghttp2_hd_deflate_new(&def, 4096), 0);
	size_t n = deflate(def, r, 5, blk, sizeof(blk));
	nghttp2_hd_deflate_del(def);
	assert_true(n > 20);
	w->n = 0;
	put_preface(w);
	/* HEADERS: PADDED (3 bytes of padding) + PRIORITY, first 10 bytes of the block */
	size_t k = 0;
	pay[k++] = 3;
	memset(pay + k, 0, 5);
	k += 5;
	memcpy(pay + k, blk, 10);
	k += 10;
	memset(pay + k, 0, 3);
	k += 3;
	put_frame(w, 1, 0x8 | 0x20 | 0x1, 1, pay, k);
	/* two CONTINUATIONs, the last with END_HEADERS */
	put_frame(w, 9, 0, 1, blk + 10, 5);
	put_frame(w, 9, 0x4, 1, blk + 15, n - 15);
	for (size_t chunk = 1; chunk <= 16; chunk++) {
		assert_int_equal(feed_chunks(w, 1, chunk, &s), H2_OK);
		assert_int_equal(s.nblocks, 1);
		assert_string_equal(s.b[0].path, "/padded/and/continued");
		assert_string_equal(s.b[0].host, "h.example");
		assert_true(s.b[0].end_stream);
		assert_int_equal(s.b[0].wire, 9 + k + 9 + 5 + 9 + (n - 15));
	}
	/* padding longer than the frame */
	w->n = 0;
	put_preface(w);
	pay[0] = 200;
	put_frame(w, 1, 0x8 | 0x4, 1, pay, 12);
	assert_int_equal(feed_chunks(w, 1, w->n, &s), H2_LOST_PROTOCOL);
	assert_int_equal(s.nblocks, 0);
	/* a HEADERS without END_HEADERS followed by DATA (RFC 9113 6.10) */
	w->n = 0;
	put_preface(w);
	put_frame(w, 1, 0x1, 1, blk, 10);
	put_frame(w, 0, 0x1, 1, blk, 3);
	assert_int_equal(feed_chunks(w, 1, w->n, &s), H2_LOST_PROTOCOL);
	/* a CONTINUATION with no block open */
	w->n = 0;
	put_preface(w);
	put_frame(w, 9, 0x4, 1, blk, 10);
	assert_int_equal(feed_chunks(w, 1, w->n, &s), H2_LOST_PROTOCOL);
	free(w);
}

/* An empty header block (a fuzzer's find: no buffer behind it) and an empty HEADERS
 * with only padding are trailers with no fields, not errors. */
static void test_empty_blocks(void **state)
{
	struct wire *w = malloc(sizeof(*w));
	static const uint8_t padonly[3] = {2, 0, 0};
	struct seen s;

	(void)state;
	w->n = 0;
	put_frame(w, 1, 0x5, 1, NULL, 0);
	put_frame(w, 1, 0x5 | 0x8, 3, padonly, sizeof(padonly));
	assert_int_equal(feed_chunks(w, 0, w->n, &s), H2_OK);
	assert_int_equal(s.nblocks, 2);
	assert_int_equal(s.b[0].kind, H2_TRAILERS);
	assert_int_equal(s.b[1].kind, H2_TRAILERS);
	assert_int_equal(s.b[1].stream, 3);
	free(w);
}

/* What cannot be decoded makes the direction lost, for good: no callbacks afterwards. */
static void test_lost(void **state)
{
	struct wire *w = malloc(sizeof(*w));
	struct seen s;
	struct h2_callbacks cb;
	struct h2_dir *d;

	(void)state;
	client_wire(w);
	/* the first request's header block reaches past the capture */
	cb = cbs(&s);
	d = h2_dir_new(1);
	assert_int_equal(h2_dir_feed(d, w->b, 24 + 15 + 9 + 5, w->n, &cb), H2_LOST_GAP);
	assert_int_equal(h2_dir_feed(d, w->b, w->n, w->n, &cb), H2_LOST_GAP);
	assert_int_equal(s.nblocks, 0);
	h2_dir_free(d);
	/* the capture ends 3 bytes short of the first header block: those 3 bytes are not
	 * read (an exact-size copy, so the sanitizer sees any read past it) */
	size_t blk_end = 24 + 15 + 9 + ((size_t)w->b[39] << 16 | (size_t)w->b[40] << 8 | w->b[41]);
	uint8_t *exact = malloc(blk_end - 3);
	memcpy(exact, w->b, blk_end - 3);
	cb = cbs(&s);
	d = h2_dir_new(1);
	assert_int_equal(h2_dir_feed(d, exact, blk_end - 3, w->n, &cb), H2_LOST_GAP);
	assert_int_equal(s.nblocks, 0);
	h2_dir_free(d);
	free(exact);
	/* a frame header beyond the capture */
	cb = cbs(&s);
	d = h2_dir_new(1);
	assert_int_equal(h2_dir_feed(d, w->b, 24 + 15 + 4, w->n, &cb), H2_LOST_GAP);
	h2_dir_free(d);
	/* HPACK garbage: an index far past both tables */
	static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
	w->n = 0;
	put_preface(w);
	put_frame(w, 1, 0x5, 1, junk, sizeof(junk));
	assert_int_equal(feed_chunks(w, 1, w->n, &s), H2_LOST_HPACK);
	/* a dynamic table size update over H2_TABLE_MAX */
	static const uint8_t resize[] = {0x3f, 0xe1, 0xff, 0x7f}; /* 32 + 31 + ... > 64 KiB */
	w->n = 0;
	put_preface(w);
	put_frame(w, 1, 0x5, 1, resize, sizeof(resize));
	assert_int_equal(feed_chunks(w, 1, w->n, &s), H2_LOST_HPACK);
	/* a header block over H2_BLOCK_MAX, in CONTINUATIONs */
	static uint8_t big[16384];
	w->n = 0;
	put_preface(w);
	put_frame(w, 1, 0x1, 1, big, sizeof(big));
	for (int i = 0; i < 4; i++)
		put_frame(w, 9, 0, 1, big, sizeof(big));
	assert_int_equal(feed_chunks(w, 1, w->n, &s), H2_LOST_TOO_BIG);
	assert_int_equal(s.nblocks, 0);
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_any_split),
		cmocka_unit_test(test_responses),
		cmocka_unit_test(test_data_beyond_capture),
		cmocka_unit_test(test_padding_priority_continuation),
		cmocka_unit_test(test_empty_blocks),
		cmocka_unit_test(test_lost),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
