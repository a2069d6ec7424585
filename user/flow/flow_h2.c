// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * flow_h2.c - HTTP/2 over TLS: a request and a response per stream (RFC 9113 8.1).
 *
 * In:  the pieces of an HTTP/2 session (tollgate_abi.h), in order per direction.
 * Out: through flow.c's emitters, an http_request per request HEADERS and an
 *      http_response per stream once it ends (END_STREAM, RST_STREAM), paired by stream
 *      id; see flow.h.
 */
#include <stdlib.h>

#include "flow_int.h"
#include "http2.h"

struct h2_ctx {
	struct flow *f;
	struct conn *c;
	const struct tg_hdr *h;
};

/* The request of stream @stream on @c; unlinked from the connection's list when @take. */
static struct preq *stream_find(struct conn *c, uint32_t stream, int take)
{
	struct preq *q, *prev = NULL;

	for (q = c->head; q; prev = q, q = q->next) {
		if (q->stream != stream)
			continue;
		if (take) {
			if (prev)
				prev->next = q->next;
			else
				c->head = q->next;
			if (c->tail == q)
				c->tail = prev;
			c->depth--;
			q->next = NULL;
		}
		return q;
	}
	return NULL;
}

/* Stream @stream closed (END_STREAM, RST_STREAM, idle): its request and, when its head
 * came, its response are reported; the stream is forgotten. */
static void stream_end(struct flow *f, struct conn *c, uint32_t stream)
{
	struct preq *q = stream_find(c, stream, 1);

	if (!q)
		return;
	flow_emit_request(f, c, q);
	if (q->r_status)
		flow_emit_response(f, c, q, OBS_HTTP_H2, q->r_status, q->r_bytes, q->r_retry,
				   q->r_ts);
	free(q);
}

/* Report the responses in progress on @c as they are (the connection went idle). */
void flow_h2_flush(struct flow *f, struct conn *c)
{
	struct preq *q = c->head, *n;

	for (; q; q = n) {
		n = q->next;
		if (q->r_status)
			stream_end(f, c, q->stream);
	}
}

static void h2_out_block(void *ctx, const struct h2_block *b)
{
	struct h2_ctx *x = ctx;
	struct preq *q;

	if (b->kind != H2_REQUEST)
		return; /* trailers after a request body */
	q = flow_make_req(&b->req, x->h, b->wire_len);
	if (!q)
		return;
	q->http = OBS_HTTP_H2;
	q->stream = b->stream;
	if (b->req.content_length >= 0)
		q->bytes += (uint64_t)b->req.content_length;
	flow_enqueue(x->f, x->c, q);
	flow_request_seen(x->f, x->c, q);
}

static void h2_reset(void *ctx, uint32_t stream)
{
	struct h2_ctx *x = ctx;

	stream_end(x->f, x->c, stream);
}

static void h2_in_block(void *ctx, const struct h2_block *b)
{
	struct h2_ctx *x = ctx;
	struct preq *q;

	if (b->push || !(b->stream & 1))
		return; /* server push (RFC 9113 8.4): not a request of this client */
	q = stream_find(x->c, b->stream, 0);
	if (b->kind == H2_RESPONSE) {
		if (b->resp.status < 200)
			return; /* interim (RFC 9110 15.2): the final one follows */
		if (!q) {
			x->f->st.orphan_responses++;
			flow_emit_response(x->f, x->c, NULL, OBS_HTTP_H2, b->resp.status,
					   b->wire_len, b->resp.retry_after_s, x->h->ts_ns);
			return;
		}
		if (!q->r_status) {
			q->r_status = b->resp.status;
			q->r_retry = b->resp.retry_after_s;
			q->r_ts = x->h->ts_ns;
		}
	}
	if (q && q->r_status)
		q->r_bytes += b->wire_len;
	if (b->end_stream)
		stream_end(x->f, x->c, b->stream);
}

static void h2_in_data(void *ctx, uint32_t stream, uint64_t bytes, int end_stream)
{
	struct h2_ctx *x = ctx;
	struct preq *q = stream_find(x->c, stream, 0);

	if (!q || !q->r_status) {
		x->f->st.unmatched_bytes += bytes;
		return;
	}
	q->r_bytes += bytes;
	if (end_stream)
		stream_end(x->f, x->c, stream);
}

/* One buffer of an HTTP/2 session into the decoder of its direction. */
void flow_h2_feed(struct flow *f, struct conn *c, const struct tg_payload_event *p,
		  const struct tg_hdr *h)
{
	struct h2_ctx x = {f, c, h};
	int out = p->dir == TG_DIR_OUT, bit = out ? 1 : 2;
	struct h2_callbacks cb = {out ? h2_out_block : h2_in_block, out ? NULL : h2_in_data,
				  h2_reset, &x};
	int err = H2_LOST_GAP; /* a piece missing (dropped in the ring buffer) */

	if (p->seq == c->h2_seq[out ? TG_DIR_OUT : TG_DIR_IN]++)
		err = h2_dir_feed(out ? c->h2_out : c->h2_in, p->data, p->cap_len, p->len, &cb);
	if (err != H2_OK && !(c->h2_lost & bit)) {
		c->h2_lost |= bit;
		f->st.h2_lost++;
	}
}

/* HTTP/2 on @c is over: streams still open are reported, the decoders freed. */
void flow_h2_stop(struct flow *f, struct conn *c)
{
	while (c->head)
		stream_end(f, c, c->head->stream);
	if (c->h2_out)
		f->nh2--;
	h2_dir_free(c->h2_out);
	h2_dir_free(c->h2_in);
	c->h2_out = c->h2_in = NULL;
	c->h2_lost = 0;
}

/* The client preface on TLS session @c: decode HTTP/2 from here (a session address
 * reused for a new connection starts over). */
void flow_h2_start(struct flow *f, struct conn *c, const struct tg_payload_event *p,
		   const struct tg_hdr *h)
{
	flow_finish_response(f, c);
	if (c->h2_out)
		flow_h2_stop(f, c);
	f->st.h2_prefaces++;
	if (f->nh2 < FLOW_MAX_H2) {
		c->h2_out = h2_dir_new(1);
		c->h2_in = h2_dir_new(0);
	}
	c->h2_seq[TG_DIR_OUT] = c->h2_seq[TG_DIR_IN] = 0;
	if (!c->h2_out || !c->h2_in) { /* over FLOW_MAX_H2, or ENOMEM: counted, not decoded */
		h2_dir_free(c->h2_out);
		h2_dir_free(c->h2_in);
		c->h2_out = c->h2_in = NULL;
		c->h2_lost = 3;
		f->st.h2_lost += 2;
		c->opaque = 1;
		return;
	}
	f->nh2++;
	flow_h2_feed(f, c, p, h);
}
