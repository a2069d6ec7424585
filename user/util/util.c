// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jsonw.h"
#include "util.h"

size_t name_sanitize(char *out, size_t outlen, const char *src, size_t n)
{
	const unsigned char *p = (const unsigned char *)src;
	size_t i = 0, o = 0;

	while (i < n && p[i] && o + 1 < outlen) {
		unsigned char c = p[i];
		size_t ul = c >= 0x80 ? jw_utf8_len(p + i, n - i) : 1;

		if (ul == 0 || c < 0x20 || c == 0x7f || (c == 0xc2 && p[i + 1] < 0xa0)) {
			out[o++] = '?'; /* an invalid byte, or a C0, DEL or C1 (U+0080..U+009F) */
			i += ul ? ul : 1;
			continue;
		}
		if (o + ul + 1 > outlen)
			break; /* the character does not fit whole */
		memmove(out + o, p + i, ul);
		o += ul;
		i += ul;
	}
	if (outlen)
		out[o] = 0;
	return o;
}

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (end == s || *end)
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	if (!s || !*s || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end || !isfinite(v))
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t now_mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

uint64_t now_real_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

int64_t realtime_offset_ns(void)
{
	uint64_t m1 = now_mono_ns(), r = now_real_ns(), m2 = now_mono_ns();

	return (int64_t)r - (int64_t)(m1 + (m2 - m1) / 2);
}

int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int u64_in(const uint64_t *ids, size_t n, uint64_t v)
{
	return n && bsearch(&v, ids, n, sizeof(*ids), u64_cmp) != NULL;
}
