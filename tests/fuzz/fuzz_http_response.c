// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * fuzz_http_response.c - http1_parse_response (user/flow/http1.c) on arbitrary bytes.
 *
 * Input: byte 0 bit 0 is the "more" flag, bit 1 "the request was HEAD"; the rest is the
 * captured head. Checks memory safety, spans inside the input, and the ranges http1.h
 * documents (status 100..999, Content-Length >= -1, Retry-After -2..).
 */
#include "fuzz.h"
#include "http1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_response r;

	if (size < 1)
		return 0;
	int more = data[0] & 1, head = (data[0] >> 1) & 1;
	size_t n = size - 1;
	char *buf = fuzz_dup(data + 1, n);
	int res = http1_parse_response(buf, n, more, &r);

	FUZZ_CHECK(res == HTTP1_BAD || res == HTTP1_PARTIAL || res == HTTP1_COMPLETE);
	if (res != HTTP1_BAD) {
		FUZZ_CHECK(r.version == 10 || r.version == 11);
		FUZZ_CHECK(r.status >= 100 && r.status <= 999);
		if (r.reason.p)
			FUZZ_CHECK(fuzz_within(r.reason.p, r.reason.n, buf, n));
		if (r.retry_after.p)
			FUZZ_CHECK(fuzz_within(r.retry_after.p, r.retry_after.n, buf, n));
		FUZZ_CHECK(r.header_len <= n);
		FUZZ_CHECK((res == HTTP1_COMPLETE) == (r.header_len > 0));
		FUZZ_CHECK(r.content_length >= -1);
		FUZZ_CHECK(r.retry_after_s >= -2);
		int64_t body = http1_response_body_len(&r, head);
		FUZZ_CHECK(body >= -1);
	}
	free(buf);
	return 0;
}
