// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * http2.c - HTTP/2 frames and HPACK header blocks. See http2.h.
 */
#include <nghttp2/nghttp2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "http2.h"

/* Frame types (RFC 9113 section 6) and flags */
#define F_DATA 0x0
#define F_HEADERS 0x1
#define F_RST_STREAM 0x3
#define F_PUSH_PROMISE 0x5
#define F_CONTINUATION 0x9
#define FL_END_STREAM 0x1
#define FL_END_HEADERS 0x4
#define FL_PADDED 0x8
#define FL_PRIORITY 0x20

#define FRAME_HDR 9
#define FIELDS_MAX (64 * 1024) /* decoded bytes of one block's fields kept */

struct h2_dir {
	nghttp2_hd_inflater *inf;
	int lost;             /* enum h2_lost */
	uint32_t preface;     /* preface bytes still to pass */
	uint8_t hdr[FRAME_HDR];
	uint32_t hdr_have;    /* bytes of the next frame header seen */
	uint64_t rem;         /* payload bytes of the current frame still to pass */
	int in_frame;         /* a frame header was read: its payload is passing */
	uint8_t type, flags;
	uint32_t stream, flen;
	/* the header block being gathered (HEADERS/PUSH_PROMISE + CONTINUATION) */
	int in_block;         /* a block started and END_HEADERS has not been seen */
	int block_push;
	uint32_t block_stream;
	int block_end_stream;
	uint64_t block_wire;
	uint8_t *blk;         /* the current frame's payload is appended from frame_start */
	size_t blk_len, blk_cap, frame_start;
	char *fields;         /* decoded names and values of one block */
	size_t fields_len;
};

struct h2_dir *h2_dir_new(int client)
{
	struct h2_dir *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	if (nghttp2_hd_inflate_new(&d->inf) != 0) {
		free(d);
		return NULL;
	}
	/* only raises the bound a dynamic table size update may ask for (RFC 7541 6.3) */
	nghttp2_hd_inflate_change_table_size(d->inf, H2_TABLE_MAX);
	d->preface = client ? H2_PREFACE_LEN : 0;
	return d;
}

void h2_dir_free(struct h2_dir *d)
{
	if (!d)
		return;
	nghttp2_hd_inflate_del(d->inf);
	free(d->blk);
	free(d->fields);
	free(d);
}

static void release_buffers(struct h2_dir *d)
{
	free(d->blk);
	d->blk = NULL;
	d->blk_len = d->blk_cap = 0;
	free(d->fields);
	d->fields = NULL;
	d->fields_len = 0;
}

static int lose(struct h2_dir *d, int why)
{
	d->lost = why;
	release_buffers(d);
	return why;
}

static uint32_t be24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static uint32_t be31(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]) &
	       0x7fffffffu;
}

static int blk_append(struct h2_dir *d, const uint8_t *p, size_t n)
{
	if (n == 0)
		return H2_OK;
	if (d->blk_len + n > H2_BLOCK_MAX)
		return H2_LOST_TOO_BIG;
	if (d->blk_len + n > d->blk_cap) {
		size_t cap = d->blk_cap ? d->blk_cap : 1024;
		while (cap < d->blk_len + n)
			cap *= 2;
		uint8_t *b = realloc(d->blk, cap);
		if (!b)
			return H2_LOST_NOMEM;
		d->blk = b;
		d->blk_cap = cap;
	}
	memcpy(d->blk + d->blk_len, p, n);
	d->blk_len += n;
	return H2_OK;
}

/* Keep a copy of @n bytes of @p in the fields arena; NULL when it is full. */
static const char *keep(struct h2_dir *d, const uint8_t *p, size_t n)
{
	if (!d->fields && !(d->fields = malloc(FIELDS_MAX)))
		return NULL;
	if (n > FIELDS_MAX - d->fields_len)
		return NULL;
	char *s = d->fields + d->fields_len;
	memcpy(s, p, n);
	d->fields_len += n;
	return s;
}

static int is_name(const nghttp2_nv *nv, const char *name)
{
	size_t n = strlen(name);
	return nv->namelen == n && memcmp(nv->name, name, n) == 0;
}

/* One decoded field into @b (RFC 9113 8.3: pseudo-header fields come first). */
static void block_field(struct h2_dir *d, struct h2_block *b, const nghttp2_nv *nv)
{
	const char *name = keep(d, nv->name, nv->namelen);
	const char *value = name ? keep(d, nv->value, nv->valuelen) : NULL;
	struct http_span n = {name, nv->namelen}, v = {value, nv->valuelen};

	if (!value) {
		b->req.n_headers_dropped++;
		return;
	}
	if (nv->namelen && nv->name[0] == ':') {
		if (is_name(nv, ":method")) {
			b->req.method = v;
		} else if (is_name(nv, ":path")) {
			b->req.target = v;
		} else if (is_name(nv, ":authority")) {
			/* wins over Host (RFC 9113 8.3.1), which is read like HTTP/1's */
			struct http_request t = {0};
			http_request_field(&t, (struct http_span){"host", 4}, v);
			if (t.host.p)
				b->req.host = t.host;
		} else if (is_name(nv, ":status")) {
			int s = 0;
			for (size_t i = 0; i < v.n && i < 4; i++)
				s = (v.p[i] >= '0' && v.p[i] <= '9' && s >= 0) ? s * 10 + v.p[i] - '0' : -1;
			b->resp.status = v.n == 3 && s >= 100 ? s : 0;
		}
		return;
	}
	struct http_span host = b->req.host;
	http_request_field(&b->req, n, v);
	if (host.p) /* :authority came first */
		b->req.host = host;
	http_response_field(&b->resp, n, v);
}

/* Decode the gathered block and report it. */
static int block_done(struct h2_dir *d, const struct h2_callbacks *cb)
{
	struct h2_block b;
	static const uint8_t empty[1];
	const uint8_t *in = d->blk ? d->blk : empty; /* an empty block has no buffer */
	size_t left = d->blk_len;

	memset(&b, 0, sizeof(b));
	b.req.content_length = -1;
	b.resp.content_length = -1;
	b.resp.retry_after_s = -1;
	d->fields_len = 0;
	for (;;) {
		nghttp2_nv nv;
		int flags = 0;
		ssize_t rv = nghttp2_hd_inflate_hd2(d->inf, &nv, &flags, in, left, 1);

		if (rv < 0)
			return H2_LOST_HPACK;
		in += rv;
		left -= (size_t)rv;
		if (flags & NGHTTP2_HD_INFLATE_EMIT)
			block_field(d, &b, &nv);
		if (flags & NGHTTP2_HD_INFLATE_FINAL) {
			nghttp2_hd_inflate_end_headers(d->inf);
			break;
		}
		if (!(flags & NGHTTP2_HD_INFLATE_EMIT) && left == 0)
			return H2_LOST_HPACK;
	}
	b.stream = d->block_stream;
	b.push = d->block_push;
	b.end_stream = d->block_end_stream;
	b.wire_len = d->block_wire;
	if (b.req.content_length == -2)
		b.req.content_length = -1;
	if (b.resp.content_length == -2)
		b.resp.content_length = -1;
	if (b.req.method.p) {
		b.kind = H2_REQUEST;
		b.req.version = 20;
		http_request_target(&b.req, b.req.target);
	} else if (b.resp.status) {
		b.kind = H2_RESPONSE;
		b.resp.version = 20;
	} else {
		b.kind = H2_TRAILERS;
	}
	d->in_block = 0;
	if (cb->block)
		cb->block(cb->ctx, &b);
	/* an idle connection keeps only its HPACK tables: buffers go with each block */
	release_buffers(d);
	return H2_OK;
}

/* Does a frame of @type carry part of a header block (RFC 9113 4.3)? */
static int carries_block(uint8_t type)
{
	return type == F_HEADERS || type == F_PUSH_PROMISE || type == F_CONTINUATION;
}

/* A frame header is complete in d->hdr: start its frame. */
static int frame_start(struct h2_dir *d)
{
	d->flen = be24(d->hdr);
	d->type = d->hdr[3];
	d->flags = d->hdr[4];
	d->stream = be31(d->hdr + 5);
	d->rem = d->flen;
	d->in_frame = 1;
	d->hdr_have = 0;
	if (d->in_block && (d->type != F_CONTINUATION || d->stream != d->block_stream))
		return H2_LOST_PROTOCOL; /* RFC 9113 6.10: nothing may interleave */
	if (d->type == F_CONTINUATION && !d->in_block)
		return H2_LOST_PROTOCOL;
	if (d->type == F_HEADERS || d->type == F_PUSH_PROMISE) {
		if (d->stream == 0)
			return H2_LOST_PROTOCOL;
		d->in_block = 1;
		d->block_push = d->type == F_PUSH_PROMISE;
		d->block_stream = d->stream;
		d->block_end_stream = d->type == F_HEADERS && (d->flags & FL_END_STREAM);
		d->block_wire = 0;
	}
	if (carries_block(d->type)) {
		d->block_wire += FRAME_HDR + (uint64_t)d->flen;
		d->frame_start = d->blk_len;
	}
	return H2_OK;
}

/* The current frame's payload has all passed. */
static int frame_end(struct h2_dir *d, const struct h2_callbacks *cb)
{
	d->in_frame = 0;
	switch (d->type) {
	case F_DATA:
		if (cb->data)
			cb->data(cb->ctx, d->stream, FRAME_HDR + (uint64_t)d->flen,
				 d->flags & FL_END_STREAM);
		return H2_OK;
	case F_RST_STREAM:
		if (cb->reset)
			cb->reset(cb->ctx, d->stream);
		return H2_OK;
	case F_HEADERS:
	case F_PUSH_PROMISE:
	case F_CONTINUATION: {
		/* strip Pad Length, the priority or promised stream fields, and the padding
		 * (RFC 9113 6.2, 6.6) from this frame's payload in blk */
		size_t off = d->frame_start, n = d->blk_len - off, pad = 0, skip = 0;
		if (d->type != F_CONTINUATION && (d->flags & FL_PADDED)) {
			if (n < 1)
				return H2_LOST_PROTOCOL;
			pad = d->blk[off];
			skip = 1;
		}
		if (d->type == F_HEADERS && (d->flags & FL_PRIORITY))
			skip += 5;
		if (d->type == F_PUSH_PROMISE)
			skip += 4;
		if (skip + pad > n)
			return H2_LOST_PROTOCOL;
		if (skip && n > skip + pad)
			memmove(d->blk + off, d->blk + off + skip, n - skip - pad);
		d->blk_len = off + n - skip - pad;
		if (d->flags & FL_END_HEADERS)
			return block_done(d, cb);
		return H2_OK;
	}
	default:
		return H2_OK; /* SETTINGS, PING, WINDOW_UPDATE, GOAWAY, PRIORITY, unknown */
	}
}

int h2_dir_feed(struct h2_dir *d, const uint8_t *cap, size_t cap_len, uint64_t len,
		const struct h2_callbacks *cb)
{
	uint64_t pos = 0;
	int err;

	if (d->lost)
		return d->lost;
	if (cap_len > len)
		cap_len = (size_t)len;
	while (pos < len) {
		uint64_t avail = pos < cap_len ? cap_len - pos : 0; /* captured bytes from pos */
		if (d->preface) {
			/* the preface itself was checked by the classifier that chose HTTP/2 */
			uint64_t n = len - pos < d->preface ? len - pos : d->preface;
			d->preface -= (uint32_t)n;
			pos += n;
			continue;
		}
		if (!d->in_frame) {
			if (!avail)
				return lose(d, H2_LOST_GAP); /* a frame header we cannot read */
			uint64_t n = FRAME_HDR - d->hdr_have;
			if (n > avail)
				n = avail;
			memcpy(d->hdr + d->hdr_have, cap + pos, (size_t)n);
			d->hdr_have += (uint32_t)n;
			pos += n;
			if (d->hdr_have < FRAME_HDR) {
				if (pos < len)
					return lose(d, H2_LOST_GAP);
				break; /* continues in the next buffer */
			}
			if ((err = frame_start(d)))
				return lose(d, err);
		}
		uint64_t n = len - pos < d->rem ? len - pos : d->rem;
		avail = pos < cap_len ? cap_len - pos : 0;
		if (carries_block(d->type)) {
			if (n > avail)
				return lose(d, H2_LOST_GAP); /* part of a header block not captured */
			if ((err = blk_append(d, cap + pos, (size_t)n)))
				return lose(d, err);
		}
		pos += n;
		d->rem -= n;
		if (d->rem == 0 && (err = frame_end(d, cb)))
			return lose(d, err);
	}
	return H2_OK;
}
