// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * jsonw.c - JSON line builder. See jsonw.h.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jsonw.h"

void jw_init(struct jsonw *w)
{
	memset(w, 0, sizeof(*w));
}

void jw_free(struct jsonw *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

static int reserve(struct jsonw *w, size_t more)
{
	if (w->len + more <= w->cap)
		return 0;
	size_t cap = w->cap ? w->cap : 1024;
	while (cap < w->len + more)
		cap *= 2;
	char *b = realloc(w->buf, cap);
	if (!b) {
		w->oom = 1;
		return -1;
	}
	w->buf = b;
	w->cap = cap;
	return 0;
}

/* Room for @n more bytes: the common case is one comparison, inline. */
static inline int room(struct jsonw *w, size_t n)
{
	return w->cap - w->len >= n || reserve(w, n) == 0;
}

static inline void put(struct jsonw *w, const char *s, size_t n)
{
	if (!room(w, n))
		return;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

static inline void putc_(struct jsonw *w, char c)
{
	if (room(w, 1))
		w->buf[w->len++] = c;
}

static void sep(struct jsonw *w)
{
	if (w->need_comma)
		putc_(w, ',');
	w->need_comma = 1;
}

void jw_begin(struct jsonw *w)
{
	putc_(w, '{');
	w->need_comma = 0;
}

void jw_end(struct jsonw *w)
{
	put(w, "}\n", 2);
	w->need_comma = 0;
}

void jw_obj_begin(struct jsonw *w)
{
	sep(w);
	putc_(w, '{');
	w->need_comma = 0;
}

void jw_obj_end(struct jsonw *w)
{
	putc_(w, '}');
	w->need_comma = 1;
}

void jw_arr_begin(struct jsonw *w)
{
	sep(w);
	putc_(w, '[');
	w->need_comma = 0;
}

void jw_arr_end(struct jsonw *w)
{
	putc_(w, ']');
	w->need_comma = 1;
}

size_t jw_utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t cp;

	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/* Bytes a JSON string holds as they are (RFC 8259 7): printable ASCII but '"' and '\\'. */
static const uint8_t plain[256] = {
	[' '] = 1, ['!'] = 1, ['#' ... '['] = 1, [']' ... '~'] = 1,
};

/* Write @s/@n as a JSON string. Room for the worst case (every byte a \u00XX escape) is
 * made once, so the loop writes without further checks; runs of plain bytes (all of a
 * typical host, path or cgroup) are copied at once. */
static void put_escaped(struct jsonw *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	char *o;

	if (n > (SIZE_MAX - w->len - 2) / 6) {
		w->oom = 1;
		return;
	}
	if (!room(w, 6 * n + 2))
		return;
	o = w->buf + w->len;
	*o++ = '"';
	while (i < n) {
		size_t run = i;
		while (run < n && plain[p[run]])
			run++;
		if (run > i) {
			memcpy(o, s + i, run - i);
			o += run - i;
			i = run;
			if (i == n)
				break;
		}
		unsigned char c = p[i];
		if (c >= 0x80) {
			size_t ul = jw_utf8_len(p + i, n - i);
			if (ul) {
				memcpy(o, s + i, ul);
				o += ul;
				i += ul;
				continue;
			}
		}
		*o++ = '\\';
		switch (c) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '\n': *o++ = 'n'; break;
		case '\r': *o++ = 'r'; break;
		case '\t': *o++ = 't'; break;
		default:
			o[0] = 'u', o[1] = '0', o[2] = '0', o[3] = hex[c >> 4], o[4] = hex[c & 15];
			o += 5;
		}
		i++;
	}
	*o++ = '"';
	w->len = (size_t)(o - w->buf);
}

void jw_keyn(struct jsonw *w, const char *key, size_t n)
{
	char *o;

	sep(w);
	for (size_t i = 0; i < n; i++) {
		if (!plain[(unsigned char)key[i]]) { /* not one of ours: escaped all the same */
			put_escaped(w, key, n);
			putc_(w, ':');
			w->need_comma = 0;
			return;
		}
	}
	if (!room(w, n + 3))
		return;
	o = w->buf + w->len;
	o[0] = '"';
	memcpy(o + 1, key, n);
	o[n + 1] = '"';
	o[n + 2] = ':';
	w->len += n + 3;
	w->need_comma = 0;
}

void jw_str(struct jsonw *w, const char *s)
{
	if (!s) {
		jw_null(w);
		return;
	}
	jw_strn(w, s, strlen(s));
}

void jw_strn(struct jsonw *w, const char *s, size_t n)
{
	sep(w);
	put_escaped(w, s, n);
}

/* "00".."99": two digits per division */
static const char digit_pairs[201] = "00010203040506070809101112131415161718192021222324"
				     "25262728293031323334353637383940414243444546474849"
				     "50515253545556575859606162636465666768697071727374"
				     "75767778798081828384858687888990919293949596979899";

/* Decimal digits of @v, right-aligned ending at @end. Returns where they start. */
static char *u64_digits(char *end, uint64_t v)
{
	while (v >= 100) {
		unsigned r = (unsigned)(v % 100);
		v /= 100;
		end -= 2;
		memcpy(end, digit_pairs + 2 * r, 2);
	}
	if (v >= 10) {
		end -= 2;
		memcpy(end, digit_pairs + 2 * v, 2);
	} else {
		*--end = (char)('0' + v);
	}
	return end;
}

void jw_u64(struct jsonw *w, uint64_t v)
{
	char tmp[24];
	char *p = u64_digits(tmp + sizeof(tmp), v);

	sep(w);
	put(w, p, (size_t)(tmp + sizeof(tmp) - p));
}

void jw_i64(struct jsonw *w, int64_t v)
{
	if (v >= 0) {
		jw_u64(w, (uint64_t)v);
		return;
	}
	sep(w);
	putc_(w, '-');
	w->need_comma = 0;
	jw_u64(w, v == INT64_MIN ? (uint64_t)INT64_MAX + 1 : (uint64_t)-v);
}

void jw_double(struct jsonw *w, double v, int decimals)
{
	char tmp[64];

	if (!isfinite(v)) {
		jw_null(w);
		return;
	}
	sep(w);
	if (decimals == 3 && v >= 0 && v < 1e6) {
		/* Milliseconds by hand: printf's float path is a tenth of a line's cost. Below
		 * 1e6, t is within 2^-23 of v * 1000, so rounding it gives printf's digits
		 * unless v * 1000 is within 1e-6 of a tie (x.xxx5, which a latency of a whole
		 * number of ns often is): printf rounds the exact binary value there. */
		double t = v * 1000.0, f = t - floor(t);
		if (fabs(f - 0.5) > 1e-6) {
			uint64_t m = (uint64_t)(t + 0.5);
			char *e = tmp + sizeof(tmp), *p;
			p = u64_digits(e, m % 1000 + 1000); /* "1ddd": keeps the leading zeros */
			p[0] = '.';
			p = u64_digits(p, m / 1000);
			put(w, p, (size_t)(e - p));
			return;
		}
	}
	int n = snprintf(tmp, sizeof(tmp), "%.*f", decimals, v);
	if (n > 0 && (size_t)n < sizeof(tmp))
		put(w, tmp, (size_t)n);
	else
		put(w, "null", 4);
}

void jw_num(struct jsonw *w, double v)
{
	char tmp[64];

	if (!isfinite(v)) {
		jw_null(w);
		return;
	}
	sep(w);
	int n = snprintf(tmp, sizeof(tmp), "%.10g", v);
	put(w, tmp, (size_t)n);
}

void jw_bool(struct jsonw *w, int v)
{
	sep(w);
	if (v)
		put(w, "true", 4);
	else
		put(w, "false", 5);
}

void jw_null(struct jsonw *w)
{
	sep(w);
	put(w, "null", 4);
}

/* Most timestamps of a JSON line stream fall in the second of the line before, and
 * gmtime_r + snprintf cost as much as the rest of a line: keep the formatted date and
 * time of the last second (per thread). */
static _Thread_local struct {
	time_t sec;
	int valid;
	char s[20]; /* "YYYY-MM-DDTHH:MM:SS" */
} ts_cache;

static void put_digits(char *p, unsigned v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
}

void rfc3339_us(uint64_t realtime_ns, char *out, size_t outlen)
{
	time_t sec = (time_t)(realtime_ns / 1000000000ULL);
	unsigned us = (unsigned)((realtime_ns % 1000000000ULL) / 1000);
	char tmp[28];

	if (!ts_cache.valid || ts_cache.sec != sec) {
		struct tm tm;
		if (!gmtime_r(&sec, &tm))
			memset(&tm, 0, sizeof(tm));
		/* a uint64_t of ns reaches the year 2554: always four digits */
		put_digits(ts_cache.s, (unsigned)(tm.tm_year + 1900), 4);
		ts_cache.s[4] = '-';
		put_digits(ts_cache.s + 5, (unsigned)tm.tm_mon + 1, 2);
		ts_cache.s[7] = '-';
		put_digits(ts_cache.s + 8, (unsigned)tm.tm_mday, 2);
		ts_cache.s[10] = 'T';
		put_digits(ts_cache.s + 11, (unsigned)tm.tm_hour, 2);
		ts_cache.s[13] = ':';
		put_digits(ts_cache.s + 14, (unsigned)tm.tm_min, 2);
		ts_cache.s[16] = ':';
		put_digits(ts_cache.s + 17, (unsigned)tm.tm_sec, 2);
		ts_cache.sec = sec;
		ts_cache.valid = 1;
	}
	memcpy(tmp, ts_cache.s, 19);
	tmp[19] = '.';
	put_digits(tmp + 20, us, 6);
	tmp[26] = 'Z';
	tmp[27] = 0;
	if (outlen == 0)
		return;
	size_t n = outlen - 1 < sizeof(tmp) - 1 ? outlen - 1 : sizeof(tmp) - 1;
	memcpy(out, tmp, n);
	out[n] = 0;
}

void jw_ts(struct jsonw *w, uint64_t realtime_ns)
{
	char tmp[40];

	rfc3339_us(realtime_ns, tmp + 1, sizeof(tmp) - 2);
	tmp[0] = '"';
	size_t n = strlen(tmp);
	tmp[n] = '"';
	sep(w);
	put(w, tmp, n + 1);
}

static int digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int rfc3339_parse(const char *s, uint64_t *ns)
{
	int Y, M, D, h, m, sec;
	uint64_t frac = 0;
	long off = 0;
	struct tm tm = {0};
	size_t n = strlen(s), i;

	if (n < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    s[13] != ':' || s[16] != ':')
		return -EINVAL;
	if (digits(s, 4, &Y) || digits(s + 5, 2, &M) || digits(s + 8, 2, &D) ||
	    digits(s + 11, 2, &h) || digits(s + 14, 2, &m) || digits(s + 17, 2, &sec))
		return -EINVAL;
	if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60 || Y < 1970)
		return -EINVAL;
	/* RFC 3339 5.7: the day must exist in its month (timegm would roll it over) */
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
	if (D > mdays[M - 1] + (M == 2 && leap))
		return -EINVAL;
	i = 19;
	if (s[i] == '.') {
		uint64_t scale = 100000000ULL;
		i++;
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		while (s[i] >= '0' && s[i] <= '9') {
			frac += (uint64_t)(s[i] - '0') * scale;
			scale /= 10;
			i++;
		}
	}
	if (s[i] == 'Z' || s[i] == 'z') {
		i++;
	} else if (s[i] == '+' || s[i] == '-') {
		int oh, om;
		if (n < i + 6 || s[i + 3] != ':' || digits(s + i + 1, 2, &oh) ||
		    digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
			return -EINVAL;
		off = (oh * 3600L + om * 60L) * (s[i] == '+' ? 1 : -1);
		i += 6;
	} else {
		return -EINVAL;
	}
	if (s[i] != 0)
		return -EINVAL;
	tm.tm_year = Y - 1900;
	tm.tm_mon = M - 1;
	tm.tm_mday = D;
	tm.tm_hour = h;
	tm.tm_min = m;
	tm.tm_sec = sec;
	time_t t = timegm(&tm);
	if (t == (time_t)-1 || (long)t < off)
		return -EINVAL;
	*ns = (uint64_t)(t - off) * 1000000000ULL + frac;
	return 0;
}

int jw_write(struct jsonw *w, FILE *f)
{
	int ret = 0;

	errno = 0;
	if (w->oom) {
		ret = -ENOMEM;
	} else if (w->len && fwrite(w->buf, 1, w->len, f) != w->len) {
		ret = errno ? -errno : -EIO;
	}
	w->len = 0;
	w->oom = 0;
	w->need_comma = 0;
	return ret;
}
