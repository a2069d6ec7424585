// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * fuzz_http_request.c - http1_parse_request (user/flow/http1.c) on arbitrary bytes.
 *
 * Input: byte 0 bit 0 is the "more" flag (the capture was truncated), the rest is the
 * captured head. Checks: no out-of-bounds access (ASan), no UB (UBSan), and every span
 * the parser returns lies inside the input (or is the static "/" of an empty path).
 */
#include "fuzz.h"
#include "http1.h"

static void check_span(struct http_span s, const char *buf, size_t n)
{
	if (!s.p)
		return;
	FUZZ_CHECK(fuzz_within(s.p, s.n, buf, n) || (s.n == 1 && s.p[0] == '/'));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request r;

	if (size < 1)
		return 0;
	int more = data[0] & 1;
	size_t n = size - 1;
	char *buf = fuzz_dup(data + 1, n);
	int res = http1_parse_request(buf, n, more, &r);

	FUZZ_CHECK(res == HTTP1_BAD || res == HTTP1_PARTIAL || res == HTTP1_COMPLETE);
	if (res != HTTP1_BAD) {
		FUZZ_CHECK(r.method.p == buf && r.method.n > 0 && r.method.n < n);
		check_span(r.target, buf, n);
		check_span(r.path, buf, n);
		check_span(r.query, buf, n);
		check_span(r.host, buf, n);
		FUZZ_CHECK(r.n_headers >= 0 && r.n_headers <= HTTP1_MAX_HEADERS);
		for (int i = 0; i < r.n_headers; i++) {
			check_span(r.headers[i].name, buf, n);
			check_span(r.headers[i].value, buf, n);
			FUZZ_CHECK(r.headers[i].name.n > 0);
		}
		FUZZ_CHECK(r.header_len <= n);
		FUZZ_CHECK((res == HTTP1_COMPLETE) == (r.header_len > 0));
		FUZZ_CHECK(r.content_length >= -1);
		FUZZ_CHECK(r.version == 0 || r.version == 10 || r.version == 11);
		FUZZ_CHECK(r.line_truncated || r.version != 0);
		(void)http1_header(&r, "host");
		(void)http1_header(&r, "authorization");
	}
	free(buf);
	return 0;
}
