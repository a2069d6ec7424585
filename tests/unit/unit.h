/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * unit.h - helpers shared by the cmocka unit tests (tests/unit/test_*.c).
 */
#ifndef TG_TEST_UNIT_H
#define TG_TEST_UNIT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

/* A span (struct http_span or anything with .p/.n) equals the string @s exactly. */
#define assert_span_equal(span, s)                                                        \
	do {                                                                              \
		const char *p_ = (span).p;                                                \
		size_t n_ = (span).n, sn_ = strlen(s);                                    \
		assert_non_null(p_);                                                      \
		if (n_ != sn_ || memcmp(p_, (s), sn_) != 0)                               \
			fail_msg("span \"%.*s\" != \"%s\"", (int)n_, p_, (s));            \
	} while (0)

/* A span is absent (p == NULL). */
#define assert_span_null(span) assert_null((span).p)

#endif
