// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * template.c - path templates. See template.h.
 */
#include <string.h>

#include "template.h"

static int is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int is_uuid(const char *s, size_t n)
{
	if (n != 36)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!is_hex(s[i])) {
			return 0;
		}
	}
	return 1;
}

int tpl_segment_kind(const char *s, size_t n)
{
	size_t digits = 0, upper = 0, lower = 0, hex = 0, b64 = 0, seps = 0;

	if (n == 0)
		return TPL_WORD;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c >= '0' && c <= '9')
			digits++;
		else if (c >= 'A' && c <= 'Z')
			upper++;
		else if (c >= 'a' && c <= 'z')
			lower++;
		else if (c == '-' || c == '_' || c == '+' || c == '=')
			seps++;
		else
			return is_uuid(s, n) ? TPL_UUID : TPL_WORD; /* '.', '%', '~', ... */
		if (is_hex(c))
			hex++;
	}
	b64 = digits + upper + lower + seps;
	if (digits == n)
		return TPL_NUM;
	if (is_uuid(s, n))
		return TPL_UUID;
	if (n >= 16 && hex == n)
		return TPL_HEX;
	if (n >= 16 && b64 == n && digits && upper && lower)
		return TPL_B64;
	if (n >= 20 && !seps && digits >= 3 && (upper || lower))
		return TPL_B64;
	return TPL_WORD;
}

static uint64_t parse_num(const char *s, size_t n, int *ok)
{
	uint64_t v = 0;

	*ok = n <= 19;
	if (!*ok)
		return 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (uint64_t)(s[i] - '0');
	return v;
}

size_t tpl_path(const char *path, size_t n, char *out, size_t outlen, struct tpl_info *ti)
{
	struct tpl_info tmp;
	size_t o = 0, i = 0;

	if (!ti)
		ti = &tmp;
	memset(ti, 0, sizeof(*ti));
	/* absolute-form: scheme "://" authority, then the path */
	if (n > 8 && (!strncmp(path, "http://", 7) || !strncmp(path, "https://", 8))) {
		const char *p = memchr(path + 8, '/', n - 8);
		size_t skip = p ? (size_t)(p - path) : n;
		path += skip;
		n -= skip;
		if (n == 0) {
			path = "/";
			n = 1;
		}
	}
	if (n == 0 || path[0] != '/') {
		o = n < outlen - 1 ? n : outlen - 1;
		memcpy(out, path, o);
		out[o] = 0;
		ti->len = o;
		ti->truncated = o < n;
		return o;
	}
	/* trailing slashes go, all of them: the template of a template is itself */
	while (n > 1 && path[n - 1] == '/')
		n--;
	while (i < n) {
		/* path[i] == '/': the segment is path[i+1 .. j) */
		size_t j = i + 1;
		while (j < n && path[j] != '/')
			j++;
		const char *seg = path + i + 1;
		size_t sn = j - i - 1;
		int kind = tpl_segment_kind(seg, sn);
		const char *w = kind ? "{id}" : seg;
		size_t wn = kind ? 4 : sn;

		if (o + 1 + wn > outlen - 1 || (j < n && o + 1 + wn > outlen - 5)) {
			/* o <= outlen - 5 holds here: "/..." fits */
			memcpy(out + o, "/...", 4);
			o += 4;
			ti->truncated = 1;
			break;
		}
		if (kind) {
			int ok;
			ti->nids++;
			ti->parent_len = o;
			ti->num = kind == TPL_NUM ? parse_num(seg, sn, &ok) : 0;
			ti->has_num = kind == TPL_NUM && ok;
		}
		out[o++] = '/';
		memcpy(out + o, w, wn);
		o += wn;
		i = j;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = 0;
	ti->len = o;
	return o;
}
