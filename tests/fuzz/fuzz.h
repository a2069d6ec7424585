/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * fuzz.h - helpers shared by the libFuzzer targets in tests/fuzz/.
 *
 * A target aborts (FUZZ_CHECK) when an invariant of the code under test breaks, so a
 * wrong answer is a finding just like an out-of-bounds read that ASan/UBSan report.
 */
#ifndef TG_FUZZ_H
#define TG_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond)                                                              \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__,    \
				__LINE__, #cond);                                     \
			abort();                                                      \
		}                                                                     \
	} while (0)

/* A copy of the input in a buffer of exactly @n bytes (never NULL), so ASan sees any
 * read past the end. The caller frees it. */
static inline char *fuzz_dup(const uint8_t *data, size_t n)
{
	char *b = malloc(n ? n : 1);
	if (!b)
		abort();
	if (n)
		memcpy(b, data, n);
	return b;
}

/* Does the span [p, p+n) lie inside [buf, buf+len)? */
static inline int fuzz_within(const char *p, size_t n, const char *buf, size_t len)
{
	return p >= buf && n <= len && (size_t)(p - buf) <= len - n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
