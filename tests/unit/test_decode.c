// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_decode.c - user/decode/decode.c, ring-buffer sample validation against
 * include/tollgate_abi.h: every record type accepted at its exact size (and with the ring
 * buffer's 8-byte round-up), samples too short for a header or for their type, hdr.size
 * disagreeing with the sample, unknown types (0, 99, TG_EV_MAX), and payload fields out of
 * range (cap_len > len, cap_len > TG_CAP_MAX, cap_len not matching the size, dir, source,
 * kind). Samples live in exactly-sized heap blocks, so ASan catches any read past them.
 */
#include <stdlib.h>

#include "unit.h"

#include "decode.h"

/* A zeroed heap sample of exactly @size bytes whose header says @type and @hdr_size. */
static void *sample(size_t size, __u16 type, __u16 hdr_size)
{
	void *p = calloc(1, size ? size : 1);
	struct tg_hdr *h = p;

	assert_non_null(p);
	if (size >= sizeof(*h)) {
		h->type = type;
		h->size = hdr_size;
		h->pid = 1234;
		h->tid = 1235;
		h->ts_ns = 42;
		h->cgroup_id = 7;
		memcpy(h->comm, "curl", 5);
	}
	return p;
}

static int decode(void *p, size_t size, struct tg_record *rec)
{
	int ret;

	memset(rec, 0xa5, sizeof(*rec));
	ret = tg_decode(p, size, rec);
	free(p);
	return ret;
}

/* A payload sample: @cap bytes of data, @extra bytes of ring-buffer padding. */
static struct tg_payload_event *payload(__u16 cap, __u32 len, size_t extra)
{
	size_t size = sizeof(struct tg_payload_event) + cap;
	struct tg_payload_event *e = sample(size + extra, TG_EV_PAYLOAD, (__u16)size);

	e->conn_id = 99;
	e->len = len;
	e->cap_len = cap;
	e->dir = TG_DIR_OUT;
	e->source = TG_SRC_SKB;
	e->kind = cap ? TG_KIND_REQUEST : TG_KIND_OTHER;
	memset(e->data, 'G', cap);
	return e;
}

static void test_each_type(void **state)
{
	static const struct {
		int type;
		size_t size;
	} types[] = {
		{TG_EV_CONNECT, sizeof(struct tg_connect_event)},
		{TG_EV_CLOSE, sizeof(struct tg_close_event)},
		{TG_EV_TLS_BIND, sizeof(struct tg_tls_bind_event)},
		{TG_EV_EXEC, sizeof(struct tg_exec_event)},
		{TG_EV_EXIT, sizeof(struct tg_hdr)},
	};
	struct tg_record rec;

	(void)state;
	/* the ABI sizes the BPF side was built with */
	assert_int_equal(sizeof(struct tg_connect_event), 80);
	assert_int_equal(sizeof(struct tg_close_event), 56);
	assert_int_equal(sizeof(struct tg_tls_bind_event), 88);
	assert_int_equal(sizeof(struct tg_exec_event), 320);
	assert_int_equal(sizeof(struct tg_payload_event), 96);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		size_t sz = types[i].size;
		void *p = sample(sz, (__u16)types[i].type, (__u16)sz);

		memset(&rec, 0xa5, sizeof(rec));
		assert_int_equal(tg_decode(p, sz, &rec), 0);
		assert_int_equal(rec.type, types[i].type);
		assert_ptr_equal(rec.hdr, p);
		assert_ptr_equal(rec.connect, p);
		assert_int_equal(rec.hdr->pid, 1234);
		assert_int_equal(rec.hdr->cgroup_id, 7);
		free(p);

		/* rounded up to 8 bytes by the ring buffer: still fine, up to 7 more */
		p = sample(sz + 7, (__u16)types[i].type, (__u16)sz);
		assert_int_equal(decode(p, sz + 7, &rec), 0);
		/* 8 or more extra bytes: not this record */
		p = sample(sz + 8, (__u16)types[i].type, (__u16)sz);
		assert_int_equal(decode(p, sz + 8, &rec), -DECODE_SIZE);
		/* a header claiming more than the type's struct */
		p = sample(sz + 8, (__u16)types[i].type, (__u16)(sz + 8));
		assert_int_equal(decode(p, sz + 8, &rec), -DECODE_SIZE);
		/* one byte short of the type's struct */
		if (sz > sizeof(struct tg_hdr)) {
			p = sample(sz - 1, (__u16)types[i].type, (__u16)(sz - 1));
			assert_int_equal(decode(p, sz - 1, &rec), -DECODE_SHORT);
		}
	}
}

static void test_payload_valid(void **state)
{
	struct tg_payload_event *e;
	struct tg_record rec;

	(void)state;
	e = payload(16, 16, 0);
	assert_int_equal(tg_decode(e, sizeof(*e) + 16, &rec), 0);
	assert_int_equal(rec.type, TG_EV_PAYLOAD);
	assert_ptr_equal(rec.payload, e);
	assert_int_equal(rec.payload->cap_len, 16);
	free(e);
	/* cap_len 5, padded to 104 */
	e = payload(5, 300, 3);
	assert_int_equal(decode(e, sizeof(*e) + 8, &rec), 0);
	/* nothing captured (a body, or not HTTP): only the length */
	e = payload(0, 65536, 0);
	assert_int_equal(decode(e, sizeof(*e), &rec), 0);
	/* the largest capture */
	e = payload(TG_CAP_MAX, 1u << 20, 0);
	assert_int_equal(decode(e, sizeof(*e) + TG_CAP_MAX, &rec), 0);
	/* every source, direction and kind */
	for (int src = TG_SRC_SKB; src <= TG_SRC_GNUTLS; src++)
		for (int dir = TG_DIR_OUT; dir <= TG_DIR_IN; dir++)
			for (int kind = TG_KIND_OTHER; kind <= TG_KIND_H2_PREFACE; kind++) {
				e = payload(8, 8, 0);
				e->source = (__u8)src;
				e->dir = (__u8)dir;
				e->kind = (__u8)kind;
				assert_int_equal(decode(e, sizeof(*e) + 8, &rec), 0);
			}
}

static void test_payload_fields(void **state)
{
	struct tg_payload_event *e;
	struct tg_record rec;
	const size_t sz = sizeof(*e) + 8;

	(void)state;
	/* more captured than the payload had */
	e = payload(8, 7, 0);
	assert_int_equal(decode(e, sz, &rec), -DECODE_FIELD);
	/* cap_len not matching the record size: the data would be read past the record, or
	 * left over */
	e = payload(8, 100, 0);
	e->cap_len = 9;
	assert_int_equal(decode(e, sz, &rec), -DECODE_FIELD);
	e = payload(8, 100, 0);
	e->cap_len = 7;
	assert_int_equal(decode(e, sz, &rec), -DECODE_FIELD);
	e = payload(8, 100, 0);
	e->cap_len = 0;
	assert_int_equal(decode(e, sz, &rec), -DECODE_FIELD);
	/* more than the hard limit, even when the size agrees */
	e = payload(TG_CAP_MAX + 8, 1u << 20, 0);
	assert_int_equal(decode(e, sizeof(*e) + TG_CAP_MAX + 8, &rec), -DECODE_FIELD);
	/* direction, source, kind out of range */
	e = payload(8, 8, 0);
	e->dir = 2;
	assert_int_equal(decode(e, sz, &rec), -DECODE_FIELD);
	e = payload(8, 8, 0);
	e->source = 0;
	assert_int_equal(decode(e, sz, &rec), -DECODE_FIELD);
	e = payload(8, 8, 0);
	e->source = TG_SRC_GNUTLS + 1;
	assert_int_equal(decode(e, sz, &rec), -DECODE_FIELD);
	e = payload(8, 8, 0);
	e->kind = TG_KIND_H2_FRAMES + 1;
	assert_int_equal(decode(e, sz, &rec), -DECODE_FIELD);
	/* HTTP/2 pieces come from TLS sessions only */
	e = payload(8, 8, 0);
	e->kind = TG_KIND_H2_FRAMES;
	e->source = TG_SRC_SKB;
	assert_int_equal(decode(e, sz, &rec), -DECODE_FIELD);
	e = payload(8, 8, 0);
	e->kind = TG_KIND_H2_FRAMES;
	e->source = TG_SRC_OPENSSL;
	assert_int_equal(decode(e, sz, &rec), 0);
	e = payload(8, 8, 0);
	e->kind = 0xff;
	assert_int_equal(decode(e, sz, &rec), -DECODE_FIELD);
}

static void test_short(void **state)
{
	struct tg_record rec;
	void *p;

	(void)state;
	assert_int_equal(tg_decode(NULL, 100, &rec), -DECODE_SHORT);
	/* not even a header */
	p = sample(0, 0, 0);
	assert_int_equal(decode(p, 0, &rec), -DECODE_SHORT);
	p = sample(sizeof(struct tg_hdr) - 1, 0, 0);
	assert_int_equal(decode(p, sizeof(struct tg_hdr) - 1, &rec), -DECODE_SHORT);
	/* a header claiming less than its type needs, in a sample of that size */
	p = sample(sizeof(struct tg_hdr), TG_EV_CONNECT, sizeof(struct tg_hdr));
	assert_int_equal(decode(p, sizeof(struct tg_hdr), &rec), -DECODE_SHORT);
	p = sample(sizeof(struct tg_hdr), TG_EV_PAYLOAD, sizeof(struct tg_hdr));
	assert_int_equal(decode(p, sizeof(struct tg_hdr), &rec), -DECODE_SHORT);
	p = sample(sizeof(struct tg_hdr) + 8, TG_EV_EXEC, sizeof(struct tg_hdr) + 8);
	assert_int_equal(decode(p, sizeof(struct tg_hdr) + 8, &rec), -DECODE_SHORT);
	/* a header claiming more than the sample holds */
	p = sample(sizeof(struct tg_connect_event), TG_EV_CONNECT,
		   sizeof(struct tg_connect_event) + 1);
	assert_int_equal(decode(p, sizeof(struct tg_connect_event), &rec), -DECODE_SIZE);
	p = sample(sizeof(struct tg_hdr), TG_EV_EXIT, 0xffff);
	assert_int_equal(decode(p, sizeof(struct tg_hdr), &rec), -DECODE_SIZE);
	/* a payload header claiming its data, in a sample without it */
	{
		struct tg_payload_event *e = payload(16, 16, 0);
		assert_int_equal(decode(e, sizeof(*e) + 8, &rec), -DECODE_SIZE);
	}
}

static void test_types(void **state)
{
	struct tg_record rec;
	void *p;

	(void)state;
	p = sample(sizeof(struct tg_connect_event), 0, sizeof(struct tg_connect_event));
	assert_int_equal(decode(p, sizeof(struct tg_connect_event), &rec), -DECODE_TYPE);
	p = sample(sizeof(struct tg_connect_event), 99, sizeof(struct tg_connect_event));
	assert_int_equal(decode(p, sizeof(struct tg_connect_event), &rec), -DECODE_TYPE);
	p = sample(sizeof(struct tg_hdr), TG_EV_MAX, sizeof(struct tg_hdr));
	assert_int_equal(decode(p, sizeof(struct tg_hdr), &rec), -DECODE_TYPE);
	p = sample(sizeof(struct tg_hdr), 0xffff, sizeof(struct tg_hdr));
	assert_int_equal(decode(p, sizeof(struct tg_hdr), &rec), -DECODE_TYPE);
}

static void test_error_names(void **state)
{
	(void)state;
	assert_string_equal(decode_error_name(-DECODE_SHORT), "short record");
	assert_string_equal(decode_error_name(-DECODE_SIZE), "size mismatch");
	assert_string_equal(decode_error_name(-DECODE_TYPE), "unknown type");
	assert_string_equal(decode_error_name(-DECODE_FIELD), "field out of range");
	assert_string_equal(decode_error_name(DECODE_FIELD), "field out of range");
	assert_string_equal(decode_error_name(0), "ok");
	assert_string_equal(decode_error_name(-DECODE_ERROR_MAX), "ok");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_type),
		cmocka_unit_test(test_payload_valid),
		cmocka_unit_test(test_payload_fields),
		cmocka_unit_test(test_short),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_error_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
