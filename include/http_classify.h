/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * http_classify.h - is this payload the start of an HTTP message?
 *
 * Pure static inline code with no BPF helpers: the BPF programs use it to decide what to
 * copy (a request or status line and its headers) and what to count only (bodies, non-HTTP
 * traffic); the cmocka tests exercise the very same code.
 *
 * Implements the first-token checks of RFC 9112: request-line = method SP request-target SP
 * HTTP-version (section 3), status-line = HTTP-version SP status-code (section 4), and the
 * HTTP/2 connection preface of RFC 9113 section 3.4 ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").
 */
#ifndef TOLLGATE_HTTP_CLASSIFY_H
#define TOLLGATE_HTTP_CLASSIFY_H

#include "tollgate_abi.h"

static inline int tg__is_upper(__u8 c)
{
	return c >= 'A' && c <= 'Z';
}

/*
 * tg_classify - classify the first bytes of a payload.
 * @p: the first min(n, TG_PEEK_LEN) bytes of the payload
 * @n: how many bytes of @p are valid (0..TG_PEEK_LEN)
 *
 * Returns an enum tg_kind. A request needs a method of 3 to 8 upper-case letters (the
 * registered methods GET .. OPTIONS, PROPFIND, and extension methods of that shape) followed
 * by one SP and the first byte of a request-target: '/', '*', or a letter (absolute-form or
 * authority-form). Anything shorter than 5 bytes is OTHER: it cannot be told from binary.
 */
static inline int tg_classify(const __u8 *p, __u32 n)
{
	__u32 i, mlen = 0;

	if (n >= 14 && p[0] == 'P' && p[1] == 'R' && p[2] == 'I' && p[3] == ' ' && p[4] == '*' &&
	    p[5] == ' ' && p[6] == 'H' && p[7] == 'T' && p[8] == 'T' && p[9] == 'P' &&
	    p[10] == '/' && p[11] == '2' && p[12] == '.' && p[13] == '0')
		return TG_KIND_H2_PREFACE;
	if (n >= 8 && p[0] == 'H' && p[1] == 'T' && p[2] == 'T' && p[3] == 'P' && p[4] == '/' &&
	    p[5] == '1' && p[6] == '.' && p[7] >= '0' && p[7] <= '9')
		return TG_KIND_RESPONSE;
	if (n < 5)
		return TG_KIND_OTHER;
	for (i = 0; i < 9 && i < n; i++) {
		if (!tg__is_upper(p[i]))
			break;
		mlen++;
	}
	if (mlen < 3 || mlen > 8 || mlen + 1 >= n || p[mlen] != ' ')
		return TG_KIND_OTHER;
	{
		__u8 t = p[mlen + 1];
		if (t == '/' || t == '*' || (t >= 'a' && t <= 'z') || tg__is_upper(t) ||
		    (t >= '0' && t <= '9'))
			return TG_KIND_REQUEST;
	}
	return TG_KIND_OTHER;
}

#endif /* TOLLGATE_HTTP_CLASSIFY_H */
