/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * redact.h - keep credentials seen in captured traffic out of every output.
 *
 * In:  a parsed request head (http1.h) and its query string.
 * Out: the query with the values of secret-looking parameters replaced by "REDACTED", and
 *      auth_fp: the first 12 hex digits of HMAC-SHA-256 (RFC 2104) of the request's
 *      credential under a 32-byte random key made once per process (redact_init), so an
 *      investigation can tell which key or token an agent used (PB-30 "source
 *      identification") without the key ever being written. Fingerprints correlate within
 *      one run of tollgate, not across runs; without the key a fingerprint cannot be
 *      checked against guessed credentials (a plain hash of a Basic-auth password can).
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

/* Is a query parameter with this name a secret? Case-insensitive: key, sig, pwd, pass,
 * auth, session, sid, code, jwt, authorization, session_id, sessionid, passphrase,
 * client_assertion, code_verifier, SAMLResponse, bearer, and any name containing token,
 * secret, passw, signature, credential, apikey, api_key, api-key, or ending in "key". */
int redact_param_is_secret(const char *name, size_t n);

/*
 * redact_value_is_secret - does a query value (@v/@n, as sent) look like a credential
 * whatever its parameter's name? Values of 16 bytes or more that start with a known token
 * prefix (sk-, ghp_, gho_, github_pat_, xoxb-, xoxp-, eyJ: a JWT, AKIA: an AWS key id), or
 * that, percent-decoded, the path templater classifies as base64-like (tpl_segment_kind
 * TPL_B64) or as hex of 32 digits or more. Errs towards redacting: a long mixed-case
 * search term with digits reads as a token too.
 */
int redact_value_is_secret(const char *v, size_t n);

/* Is a header with this name a credential carrier (ranks 1, 2, 3 or 5 above)? Returns the
 * rank, or 0. */
int redact_header_rank(const char *name, size_t n);

/*
 * redact_query - copy @q (without the '?') to @out, replacing the value of each secret
 * parameter (by name or by value) with REDACTED. @out always gets a NUL-terminated string; when @outlen is too
 * small the copy is cut at a parameter boundary and "..." marks the cut.
 * @secret (may be NULL) receives the first secret value found (a span into @q).
 * Returns the length written.
 */
size_t redact_query(const char *q, size_t qn, char *out, size_t outlen, struct http_span *secret);

/*
 * redact_init - make the fingerprint key: 32 bytes from getrandom(2), and the HMAC-SHA-256
 * context, fetched from libcrypto once. Called by flow_new; redact_fingerprint calls it
 * when nobody has. Idempotent. Returns 0, or -errno of getrandom, -ENOSYS when libcrypto
 * has no HMAC, -ENOMEM, -EINVAL when the key is refused.
 */
int redact_init(void);

/* HMAC-SHA-256 of @p/@n under this process's key (redact_init), first REDACT_FP_HEX hex
 * digits, NUL-terminated into @out; all '0' if libcrypto fails. */
void redact_fingerprint(const void *p, size_t n, char out[REDACT_FP_HEX + 1]);

/*
 * redact_auth_fp - fingerprint the best credential of a request (order above).
 * @query_secret: the span redact_query() returned (p == NULL for none).
 * Returns 1 with @out set, 0 when the request carries no credential.
 */
int redact_auth_fp(const struct http_request *r, struct http_span query_secret,
		   char out[REDACT_FP_HEX + 1]);

#endif
