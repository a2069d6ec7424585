// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * fuzz_flow.c - the decode + flow path (user/decode/decode.c, user/flow/flow.c) and the JSON lines
 * writer (user/output/sink_jsonl.c, user/output/jsonw.c) fed arbitrary ring-buffer records.
 *
 * Input: a sequence of frames, each a little-endian u16 length and that many bytes: one
 * ring-buffer sample (tollgate_abi.h records; any bytes are allowed, tg_decode must reject
 * what is malformed). Length 0 is a control frame: run flow_tick 2.5 s after the newest
 * timestamp seen (idle responses, held TLS requests, idle connections).
 * The flow tables are tiny (4 connections, 4 sockets) so eviction paths run too.
 *
 * Checks: memory safety (ASan: the sample is copied to a buffer of exactly its length),
 * no UB, no leak at flow_free (LeakSanitizer), and every observation written as a JSON
 * line parses back (jansson) as one object with the fields every event has.
 */
#include <jansson.h>

#include "decode.h"
#include "flow.h"
#include "fuzz.h"
#include "sink_jsonl.h"

static struct jsonl_sink sink;

static void on_obs(void *ctx, const struct tg_obs *o)
{
	json_error_t err;
	json_t *j;

	(void)ctx;
	FUZZ_CHECK(o->type > 0 && o->type < OBS_TYPE_MAX);
	/* a kernel command name is at most TG_COMM_LEN bytes: o->comm is a C string */
	FUZZ_CHECK(memchr(o->comm, 0, sizeof(o->comm)) != NULL);
	FUZZ_CHECK(strlen(o->comm) <= TG_COMM_LEN);
	sink.w.len = 0;
	jsonl_obs(&sink, o);
	FUZZ_CHECK(!sink.w.oom && sink.w.len > 2 && sink.w.buf[sink.w.len - 1] == '\n');
	FUZZ_CHECK(memchr(sink.w.buf, '\n', sink.w.len) == sink.w.buf + sink.w.len - 1);
	/* ids above 2^63 are valid JSON numbers that jansson's integers cannot hold */
	j = json_loadb(sink.w.buf, sink.w.len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL,
		       &err);
	if (!j)
		fprintf(stderr, "bad JSON line (%s): %.*s", err.text, (int)sink.w.len, sink.w.buf);
	FUZZ_CHECK(j && json_is_object(j));
	FUZZ_CHECK(json_is_string(json_object_get(j, "ts")));
	FUZZ_CHECK(json_is_string(json_object_get(j, "event")));
	FUZZ_CHECK(json_is_number(json_object_get(j, "cgroup_id")));
	json_decref(j);
	sink.w.len = 0;
	sink.pending = 0;
}

static const char *cgroup_name(void *ctx, uint64_t id)
{
	(void)ctx;
	return (id & 1) ? "/agents/fuzz" : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct flow_config cfg = {.emit = on_obs, .cgroup = cgroup_name, .max_conns = 4,
				  .max_socks = 4};
	struct flow *f;
	uint64_t newest = 0;
	size_t off = 0;

	if (!sink.w.buf)
		jw_init(&sink.w);
	f = flow_new(&cfg);
	if (!f)
		return 0;
	flow_set_clock(f, 1700000000LL * 1000000000LL);
	while (off + 2 <= size) {
		size_t n = (size_t)data[off] | ((size_t)data[off + 1] << 8);
		off += 2;
		if (n == 0) {
			flow_tick(f, newest + 2500000000ULL);
			continue;
		}
		if (n > size - off)
			n = size - off;
		/* exactly n bytes (malloc aligns to 16, as the ring buffer aligns to 8) */
		void *rec = malloc(n);
		if (!rec)
			abort();
		memcpy(rec, data + off, n);
		off += n;
		struct tg_record r;
		if (tg_decode(rec, n, &r) == 0) {
			FUZZ_CHECK(r.hdr == rec && r.hdr->size <= n);
			if (r.hdr->ts_ns > newest && r.hdr->ts_ns < (1ULL << 62))
				newest = r.hdr->ts_ns;
			flow_record(f, &r);
			if (flow_next_deadline(f))
				flow_release_due(f, newest);
		}
		free(rec);
	}
	flow_drain(f);
	FUZZ_CHECK(flow_conn_count(f) == 0);
	flow_free(f);
	return 0;
}
