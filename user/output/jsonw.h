/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * jsonw.h - a streaming JSON (RFC 8259) line builder.
 *
 * Builds one object per line into a growable buffer with no per-field allocation, because
 * it sits on the per-event path of `tollgate run` (scripts/bench-pipeline.sh measures it
 * against jansson's json_dumps). Any byte string is safe input: control characters are
 * escaped, invalid UTF-8 bytes are written as \u00XX (their Latin-1 reading), so the
 * output is always valid JSON. Reading JSON is jansson's job (replay.c).
 */
#ifndef TG_JSONW_H
#define TG_JSONW_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct jsonw {
	char *buf;
	size_t len, cap;
	int need_comma; /* a value was written at the current nesting level */
	int oom;        /* an allocation failed: the line is dropped by jw_flush_line */
};

void jw_init(struct jsonw *w);
void jw_free(struct jsonw *w);
/* Start a new line with "{". */
void jw_begin(struct jsonw *w);
/* Close the object and add "\n". */
void jw_end(struct jsonw *w);

/* An object key (@n bytes), escaped as jw_strn() does. Keys are tollgate's own field
 * names, so jw_key() is inline: the length of a literal is known at compile time. */
void jw_keyn(struct jsonw *w, const char *key, size_t n);
static inline void jw_key(struct jsonw *w, const char *key)
{
	jw_keyn(w, key, __builtin_strlen(key));
}
void jw_str(struct jsonw *w, const char *s);           /* NULL writes null */
void jw_strn(struct jsonw *w, const char *s, size_t n);
void jw_u64(struct jsonw *w, uint64_t v);
void jw_i64(struct jsonw *w, int64_t v);
void jw_double(struct jsonw *w, double v, int decimals); /* non-finite writes null */
/* A number with up to 10 significant digits, no trailing zeros ("100", "3.25", "1e+12");
 * non-finite writes null. */
void jw_num(struct jsonw *w, double v);
void jw_bool(struct jsonw *w, int v);
void jw_null(struct jsonw *w);
void jw_obj_begin(struct jsonw *w);
void jw_obj_end(struct jsonw *w);
void jw_arr_begin(struct jsonw *w);
void jw_arr_end(struct jsonw *w);
/* RFC 3339 UTC timestamp with microseconds, e.g. "2026-11-21T07:17:53.123456Z" */
void jw_ts(struct jsonw *w, uint64_t realtime_ns);

/* key + value shorthands */
#define jw_kstr(w, k, s) (jw_key(w, k), jw_str(w, s))
#define jw_ku64(w, k, v) (jw_key(w, k), jw_u64(w, v))
#define jw_ki64(w, k, v) (jw_key(w, k), jw_i64(w, v))

/*
 * jw_write - write the finished line(s) to @f and reset the buffer.
 * Returns 0, or -errno of the failed write (ENOSPC on a full disk); -ENOMEM when the line
 * was lost to an allocation failure.
 */
int jw_write(struct jsonw *w, FILE *f);

/* Length (2..4 bytes) of the valid multi-byte UTF-8 sequence (RFC 3629) at @s, @n >= 1
 * bytes available; 0 when there is none: ASCII (< 0x80), stray continuation bytes, overlong
 * forms, surrogates, code points past U+10FFFF and truncated sequences. */
size_t jw_utf8_len(const unsigned char *s, size_t n);

/* Format an RFC 3339 timestamp (as jw_ts) into @out (at least 32 bytes). */
void rfc3339_us(uint64_t realtime_ns, char *out, size_t outlen);

/* Parse an RFC 3339 timestamp ("...Z" or "+hh:mm" offsets, optional fraction) into ns
 * since the epoch. Returns 0 or -EINVAL. */
int rfc3339_parse(const char *s, uint64_t *ns);

#endif
