/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * util.h - small helpers with no better home: strict number parsing (bcc's get_int
 * pattern: whole string, range checked) and clocks.
 */
#ifndef TG_UTIL_H
#define TG_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Parse a decimal integer in [min, max]; the whole string must be the number.
 * Returns 0 or -EINVAL / -ERANGE. */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* The same for a floating point number. */
int parse_double(const char *s, double min, double max, double *out);

/* qsort comparator for uint64_t, ascending. */
int u64_cmp(const void *a, const void *b);
/* Whether @v is in the ascending array @ids of @n (binary search). */
int u64_in(const uint64_t *ids, size_t n, uint64_t v);
/*
 * name_sanitize - make a name that comes from outside (a process's comm, which it sets to
 * any bytes; a cgroup directory name) printable UTF-8 before it reaches a label, a JSON
 * string or a terminal. Valid UTF-8 (RFC 3629, jw_utf8_len) is kept except control
 * characters (C0, DEL, C1 U+0080..U+009F); each such character and each byte of an
 * invalid sequence becomes '?'. Reads @src up to @n bytes or its NUL; writes at most
 * @outlen - 1 bytes and a NUL (@outlen >= 1), never cutting a character. The output is
 * never longer than the input, so @out may be @src. Returns the length written.
 */
size_t name_sanitize(char *out, size_t outlen, const char *src, size_t n);

uint64_t now_mono_ns(void);
uint64_t now_real_ns(void);
/* CLOCK_REALTIME - CLOCK_MONOTONIC, ns */
int64_t realtime_offset_ns(void);

#endif
