/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * template.h - request path -> path template, the "endpoint" of the detectors.
 *
 * In:  a request path (origin-form, RFC 9112 3.2.1, without the query; flow.c splits it).
 * Out: the path with every identifier-like segment replaced by "{id}", so that
 *      /api/customers/42/metrics and /api/customers/43/metrics are one endpoint:
 *      "/api/customers/{id}/metrics". An endpoint is host + template
 *      ("api.example.com/api/customers/{id}/metrics"), as SAFE-T1804 groups requests.
 *
 * A segment is an identifier when it is (tpl_segment_kind):
 *   - a decimal number:            42, 007, 1700000000
 *   - a UUID (8-4-4-4-12 hex):     123e4567-e89b-12d3-a456-426614174000
 *   - long hex, >= 16 hex digits:  a git object name, a content digest
 *   - base64-like, >= 16 bytes of [A-Za-z0-9_+=-] mixing digits, upper and lower case
 *     (an opaque key such as "cus_9s6XKzkNRiz8i3"), or >= 20 letters and digits with at
 *     least 3 digits and no separator (a lower-case token).
 * Anything else (words, file names with dots, version strings like "v1") stays as it is.
 * Trailing "/"s are dropped ("/api/customers/" -> "/api/customers"); "/" stays "/"; so
 * the template of a template is the template itself.
 * An absolute-form target ("http://host/path", RFC 9112 3.2.2) is reduced to its path.
 */
#ifndef TG_TEMPLATE_H
#define TG_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>

#define TPL_MAX 256 /* template buffer: longer templates are cut at a segment, "/..." */

enum tpl_kind {
	TPL_WORD = 0, /* not an identifier */
	TPL_NUM,      /* decimal number */
	TPL_UUID,
	TPL_HEX,
	TPL_B64,
};

struct tpl_info {
	size_t len;        /* bytes written to out, without the NUL */
	int nids;          /* segments replaced by {id} */
	int has_num;       /* the last {id} was a decimal number of <= 19 digits ... */
	uint64_t num;      /* ... with this value (the id an enumeration walks) */
	size_t parent_len; /* the template's prefix before its last "/{id}" (the collection the
			    * id belongs to: "/api/customers" for "/api/customers/{id}/logs");
			    * 0 when nids == 0 */
	int truncated;     /* the template was cut to fit */
};

/* Classify one path segment (bytes @s, length @n). Returns enum tpl_kind. */
int tpl_segment_kind(const char *s, size_t n);

/*
 * tpl_path - template of the path @path (@n bytes, need not be NUL-terminated).
 * @out/@outlen: receives the NUL-terminated template; @outlen >= 8 (TPL_MAX is enough
 * for any path: longer templates are cut at a segment boundary and end in "/...").
 * @ti (may be NULL): what was replaced. A path that does not start with '/' (after an
 * absolute-form prefix) is copied as it is, cut to fit.
 * Returns the template length.
 */
size_t tpl_path(const char *path, size_t n, char *out, size_t outlen, struct tpl_info *ti);

#endif
