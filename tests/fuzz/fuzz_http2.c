// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * fuzz_http2.c - h2_dir_feed (user/flow/http2.c) on arbitrary frame streams.
 *
 * Input: byte 0 bit 0 selects the client direction (a preface first); byte 1 is the
 * buffer size the stream is cut into (0: one buffer); byte 2 how much of each buffer is
 * captured (16 * (byte + 1) bytes); the rest is the stream. Checks memory safety, the
 * kinds and ranges http2.h documents, and that a lost direction reports nothing more.
 */
#include "fuzz.h"
#include "http2.h"

struct st {
	int lost;
	unsigned calls;
};

static void on_block(void *ctx, const struct h2_block *b)
{
	struct st *s = ctx;

	FUZZ_CHECK(!s->lost);
	FUZZ_CHECK(b->kind >= H2_REQUEST && b->kind <= H2_TRAILERS);
	FUZZ_CHECK(b->stream != 0 && b->stream <= 0x7fffffffu);
	FUZZ_CHECK(b->wire_len >= 9);
	if (b->kind == H2_REQUEST) {
		FUZZ_CHECK(b->req.method.p != NULL);
		FUZZ_CHECK(b->req.version == 20);
		FUZZ_CHECK(b->req.n_headers <= HTTP1_MAX_HEADERS);
		FUZZ_CHECK(b->req.content_length >= -1);
	}
	if (b->kind == H2_RESPONSE) {
		FUZZ_CHECK(b->resp.status >= 100 && b->resp.status <= 999);
		FUZZ_CHECK(b->resp.retry_after_s >= -2);
	}
	s->calls++;
}

static void on_data(void *ctx, uint32_t stream, uint64_t bytes, int end)
{
	struct st *s = ctx;

	(void)stream;
	(void)end;
	FUZZ_CHECK(!s->lost);
	FUZZ_CHECK(bytes >= 9 && bytes <= 9 + 0xffffffu);
	s->calls++;
}

static void on_reset(void *ctx, uint32_t stream)
{
	struct st *s = ctx;

	(void)stream;
	FUZZ_CHECK(!s->lost);
	s->calls++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st s = {0};
	struct h2_callbacks cb = {on_block, on_data, on_reset, &s};

	if (size < 3)
		return 0;
	int client = data[0] & 1;
	size_t chunk = data[1], capture = 16 * ((size_t)data[2] + 1);
	const uint8_t *p = data + 3;
	size_t n = size - 3;
	struct h2_dir *d = h2_dir_new(client);

	if (!d)
		return 0;
	if (!chunk)
		chunk = n ? n : 1;
	for (size_t off = 0; off < n; off += chunk) {
		size_t len = n - off < chunk ? n - off : chunk;
		size_t cap = len < capture ? len : capture;
		uint8_t *b = (uint8_t *)fuzz_dup(p + off, cap);
		int r = h2_dir_feed(d, b, cap, len, &cb);
		free(b);
		FUZZ_CHECK(r >= H2_OK && r <= H2_LOST_NOMEM);
		if (r != H2_OK)
			s.lost = 1;
	}
	h2_dir_free(d);
	return 0;
}
