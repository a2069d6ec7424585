/*
 * test_fuzz_regress.c - every input the libFuzzer targets (tests/fuzz/) found a defect
 * with, replayed through the same code path and checked for the fixed behaviour.
 *
 * Inputs are the minimized crash files (libFuzzer -minimize_crash), byte for byte, in the
 * target's own input format (see the comment at the top of each tests/fuzz/fuzz_*.c).
 */
#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "decode.h"
#include "flow.h"
#include "sink_jsonl.h"

/* ---- the fuzz_flow input format: frames of a little-endian u16 length + one record ---- */

#define MAX_OBS 16

struct seen {
	struct tg_obs obs[MAX_OBS];
	char lines[MAX_OBS][1024];
	int n;
};

static void keep_obs(void *ctx, const struct tg_obs *o)
{
	struct seen *s = ctx;
	struct jsonl_sink sink;

	if (s->n >= MAX_OBS)
		return;
	s->obs[s->n] = *o;
	memset(&sink, 0, sizeof(sink));
	jw_init(&sink.w);
	jsonl_obs(&sink, o);
	assert_true(sink.w.len < sizeof(s->lines[0]));
	memcpy(s->lines[s->n], sink.w.buf, sink.w.len);
	s->lines[s->n][sink.w.len] = 0;
	jw_free(&sink.w);
	s->n++;
}

/* Feed @data (fuzz_flow frames) through tg_decode and flow_record, as fuzz_flow does. */
static void replay_flow(const uint8_t *data, size_t size, struct seen *s)
{
	struct flow_config cfg = {.emit = keep_obs, .ctx = s, .max_conns = 4, .max_socks = 4};
	struct flow *f = flow_new(&cfg);
	size_t off = 0;

	assert_non_null(f);
	memset(s, 0, sizeof(*s));
	while (off + 2 <= size) {
		size_t n = (size_t)data[off] | ((size_t)data[off + 1] << 8);
		off += 2;
		if (n > size - off)
			n = size - off;
		uint64_t rec[(n + 7) / 8 + 1];
		struct tg_record r;
		memcpy(rec, data + off, n);
		off += n;
		if (n && tg_decode(rec, n, &r) == 0)
			flow_record(f, &r);
	}
	flow_free(f);
}

/*
 * Found by fuzz_flow: a connect record whose comm field holds 16 non-NUL bytes (the kernel
 * always terminates it, a malformed record need not). flow.c copied 17 bytes out of the
 * 16-byte field (the 17th is the first byte of the socket cookie) into the observation,
 * so its comm was not NUL-terminated and the JSON writer read past it.
 */
static const uint8_t crash_comm_unterminated[] = {
	0x50, 0x00, 0x01, 0x00, 0x50, 0x00, 0x92, 0x10, 0x00, 0x00, 0x93, 0x10, 0x00, 0x9a,
	0x3b, 0x00, 0x00, 0x00, 0x20, 0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e, 0x31, 0x0d,
	0x0a, 0x48, 0x6f, 0x73, 0x74, 0x3a, 0x20, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65,
	0x2e, 0x63, 0x6f, 0x6d, 0x0d, 0x0a, 0x0d, 0x0a, 0x01, 0x00, 0x00, 0x00, 0x93, 0x00,
	0x00, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x93,
	0x00, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
};

static void test_flow_comm_unterminated(void **state)
{
	struct seen s;
	json_error_t err;

	(void)state;
	replay_flow(crash_comm_unterminated, sizeof(crash_comm_unterminated), &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.obs[0].type, OBS_CONNECT);
	/* exactly the 16 bytes of the field, then the terminator; control bytes made '?' */
	assert_int_equal(s.obs[0].comm[TG_COMM_LEN], 0);
	assert_memory_equal(s.obs[0].comm, " example.com????", TG_COMM_LEN);
	json_t *j = json_loads(s.lines[0], 0, &err);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "comm")), " example.com????");
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flow_comm_unterminated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
