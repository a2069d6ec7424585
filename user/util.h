/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * util.h - small helpers with no better home: strict number parsing (bcc's get_int
 * pattern: whole string, range checked) and clocks.
 */
#ifndef TG_UTIL_H
#define TG_UTIL_H

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

uint64_t now_mono_ns(void);
uint64_t now_real_ns(void);
/* CLOCK_REALTIME - CLOCK_MONOTONIC, ns */
int64_t realtime_offset_ns(void);

#endif
