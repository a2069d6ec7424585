// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * decode.c - ring-buffer sample validation. See decode.h.
 */
#include <stddef.h>

#include "decode.h"

_Static_assert(sizeof(struct tg_hdr) == 48, "tg_hdr layout");
_Static_assert(sizeof(struct tg_addr) == 24, "tg_addr layout");
_Static_assert(sizeof(struct tg_connect_event) == 80, "tg_connect_event layout");
_Static_assert(sizeof(struct tg_close_event) == 56, "tg_close_event layout");
_Static_assert(sizeof(struct tg_payload_event) == 96, "tg_payload_event layout");
_Static_assert(offsetof(struct tg_payload_event, data) == 96, "payload data offset");
_Static_assert(sizeof(struct tg_tls_bind_event) == 88, "tg_tls_bind_event layout");
_Static_assert(sizeof(struct tg_exec_event) == 48 + 16 + TG_EXEC_PATH_LEN, "tg_exec_event");
_Static_assert(sizeof(struct tg_udp_key) == 32, "tg_udp_key layout");
_Static_assert(sizeof(struct tg_blocked_event) == 80, "tg_blocked_event layout");
_Static_assert(sizeof(struct tg_verdict) == 48, "tg_verdict layout");
_Static_assert(sizeof(struct tg_net_key) == 32, "tg_net_key layout");

static const size_t min_size[TG_EV_MAX] = {
	[TG_EV_CONNECT] = sizeof(struct tg_connect_event),
	[TG_EV_CLOSE] = sizeof(struct tg_close_event),
	[TG_EV_PAYLOAD] = sizeof(struct tg_payload_event),
	[TG_EV_TLS_BIND] = sizeof(struct tg_tls_bind_event),
	[TG_EV_EXEC] = sizeof(struct tg_exec_event),
	[TG_EV_EXIT] = sizeof(struct tg_hdr),
	[TG_EV_BLOCKED] = sizeof(struct tg_blocked_event),
};

int tg_decode(const void *data, size_t size, struct tg_record *rec)
{
	const struct tg_hdr *h = data;

	if (!data || size < sizeof(*h))
		return -DECODE_SHORT;
	if (h->type == 0 || h->type >= TG_EV_MAX)
		return -DECODE_TYPE;
	/* the ring buffer rounds sample sizes up to 8 bytes */
	if (h->size > size || (size_t)h->size + 8 <= size)
		return -DECODE_SIZE;
	if (h->size < min_size[h->type])
		return -DECODE_SHORT;
	rec->type = h->type;
	rec->hdr = h;
	rec->connect = data; /* all union members alias the same sample */
	if (h->type == TG_EV_PAYLOAD) {
		const struct tg_payload_event *p = data;
		if (p->cap_len > p->len || p->cap_len > TG_CAP_MAX ||
		    sizeof(*p) + p->cap_len != h->size || p->dir > TG_DIR_IN ||
		    p->source < TG_SRC_SKB || p->source > TG_SRC_GNUTLS ||
		    p->kind > TG_KIND_H2_FRAMES ||
		    (p->kind == TG_KIND_H2_FRAMES && p->source == TG_SRC_SKB))
			return -DECODE_FIELD;
	} else if (h->size != min_size[h->type]) {
		return -DECODE_SIZE;
	}
	return 0;
}

const char *decode_error_name(int err)
{
	switch (err < 0 ? -err : err) {
	case DECODE_SHORT: return "short record";
	case DECODE_SIZE: return "size mismatch";
	case DECODE_TYPE: return "unknown type";
	case DECODE_FIELD: return "field out of range";
	default: return "ok";
	}
}

const char *tg_event_name(int type)
{
	static const char *const names[TG_EV_MAX] = {
		[TG_EV_CONNECT] = "connect", [TG_EV_CLOSE] = "close",
		[TG_EV_PAYLOAD] = "payload", [TG_EV_TLS_BIND] = "tls_bind",
		[TG_EV_EXEC] = "exec",       [TG_EV_EXIT] = "exit",
		[TG_EV_BLOCKED] = "blocked",
	};
	return type > 0 && type < TG_EV_MAX && names[type] ? names[type] : "unknown";
}
