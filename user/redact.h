/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * redact.h - keep credentials seen in captured traffic out of every output.
 *
 * In:  a parsed request head (http1.h) and its query string.
 * Out: the query with the values of secret-looking parameters replaced by "REDACTED", and
 *      auth_fp: the first 12 hex digits of the SHA-256 of the request's credential, so an
 *      investigation can tell which key or token an agent used (PB-30 "source
 *      identification") without the key ever being written.
 *
 * Credential carriers, in the order auth_fp prefers them:
 *   1. Authorization, 2. Proxy-Authorization (the credentials after the auth-scheme,
 *      RFC 9110 11.4 and 11.7),
 *   3. API-key style headers: X-Api-Key, Api-Key, X-Auth-Token, Private-Token ... (any name
 *      containing "api-key", "apikey", "api_key", "token", "secret" or "password"),
 *   4. a secret query parameter (redact_param_is_secret),
 *   5. Cookie.
 */
#ifndef TG_REDACT_H
#define TG_REDACT_H

#include <stddef.h>

#include "http1.h"

#define REDACT_FP_HEX 12
#define REDACTED "REDACTED"

/* Is a query parameter with this name a secret? Case-insensitive: token, key, secret,
 * password, passwd, pwd, sig, signature, access_token, api_key, apikey, auth, credential,
 * client_secret, session, and any name containing token, secret, passw, signature,
 * credential, or ending in "key". */
int redact_param_is_secret(const char *name, size_t n);

/* Is a header with this name a credential carrier (ranks 1, 2, 3 or 5 above)? Returns the
 * rank, or 0. */
int redact_header_rank(const char *name, size_t n);

/*
 * redact_query - copy @q (without the '?') to @out, replacing the value of each secret
 * parameter with REDACTED. @out always gets a NUL-terminated string; when @outlen is too
 * small the copy is cut at a parameter boundary and "..." marks the cut.
 * @secret (may be NULL) receives the first secret value found (a span into @q).
 * Returns the length written.
 */
size_t redact_query(const char *q, size_t qn, char *out, size_t outlen, struct http_span *secret);

/* SHA-256 of @p/@n, first REDACT_FP_HEX hex digits, NUL-terminated into @out. */
void redact_fingerprint(const void *p, size_t n, char out[REDACT_FP_HEX + 1]);

/*
 * redact_auth_fp - fingerprint the best credential of a request (order above).
 * @query_secret: the span redact_query() returned (p == NULL for none).
 * Returns 1 with @out set, 0 when the request carries no credential.
 */
int redact_auth_fp(const struct http_request *r, struct http_span query_secret,
		   char out[REDACT_FP_HEX + 1]);

#endif
