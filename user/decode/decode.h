/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * decode.h - validate one ring-buffer sample and give it its type.
 *
 * In:  the bytes of one sample as libbpf's ring_buffer callback hands them over.
 * Out: a struct tg_record pointing into those bytes, or an error that the caller counts
 *      (decode errors are drops too: they are reported, never ignored).
 */
#ifndef TG_DECODE_H
#define TG_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "tollgate_abi.h"

struct tg_record {
	int type; /* enum tg_event_type */
	const struct tg_hdr *hdr;
	union {
		const struct tg_connect_event *connect;
		const struct tg_close_event *close;
		const struct tg_payload_event *payload;
		const struct tg_tls_bind_event *bind;
		const struct tg_exec_event *exec;
		const struct tg_blocked_event *blocked;
	};
};

enum decode_error {
	DECODE_SHORT = 1,    /* smaller than its header or its type's struct */
	DECODE_SIZE,         /* hdr.size disagrees with the sample size */
	DECODE_TYPE,         /* unknown record type */
	DECODE_FIELD,        /* a field out of range (cap_len > len, unknown source, ...) */
	DECODE_ERROR_MAX,
};

/*
 * tg_decode - check a sample and fill @rec.
 * Returns 0, or -enum decode_error. Never reads past @size.
 */
int tg_decode(const void *data, size_t size, struct tg_record *rec);

const char *decode_error_name(int err);
/* "connect", "close", "payload", "tls_bind", "exec", "exit", "blocked" */
const char *tg_event_name(int type);

#endif
