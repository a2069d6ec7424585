// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * fuzz_template.c - tpl_path and tpl_segment_kind (user/flow/template.c) on arbitrary bytes.
 *
 * Input: byte 0 = output buffer size - 8 (so 8..263 bytes), then a request path, up to its
 * first NUL byte (paths come from http1.c, which admits no NUL in a request-target).
 * Checks memory safety and what template.h promises: a NUL-terminated template that fits,
 * whose reported length is its strlen, that never grows an id count past the number of
 * segments, whose parent prefix is a prefix of the template, and templating is idempotent
 * on a path that was not cut ({id} segments stay {id}).
 */
#include "fuzz.h"
#include "template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tpl_info ti, ti2;

	if (size < 1)
		return 0;
	size_t outlen = (size_t)data[0] + 8, n = size - 1;
	char *path = fuzz_dup(data + 1, n);
	n = strnlen(path, n);
	char *out = malloc(outlen), again[512];

	size_t len = tpl_path(path, n, out, outlen, &ti);
	FUZZ_CHECK(len < outlen);
	FUZZ_CHECK(out[len] == 0 && strlen(out) == len);
	FUZZ_CHECK(ti.len == len);
	FUZZ_CHECK(ti.nids >= 0);
	size_t segs = 0;
	for (size_t i = 0; i < n; i++)
		segs += path[i] == '/';
	FUZZ_CHECK((size_t)ti.nids <= segs);
	if (ti.nids)
		FUZZ_CHECK(ti.parent_len < len);
	else
		FUZZ_CHECK(ti.parent_len == 0);
	if (!ti.truncated && out[0] == '/') {
		/* the same room: a template near the buffer size may not fit a smaller one */
		size_t l2 = tpl_path(out, len, again, outlen, &ti2);
		FUZZ_CHECK(l2 == len && !memcmp(out, again, len));
	}
	for (size_t i = 0, s = 0; i <= n; i++) {
		if (i == n || path[i] == '/') {
			int k = tpl_segment_kind(path + s, i - s);
			FUZZ_CHECK(k >= TPL_WORD && k <= TPL_B64);
			s = i + 1;
		}
	}
	free(out);
	free(path);
	return 0;
}
