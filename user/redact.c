// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * redact.c - credentials out of every output; fingerprints instead. See redact.h.
 */
#include <string.h>
#include <strings.h>
#include <openssl/evp.h>

#include "redact.h"

/* Does @p/@n contain @needle (lower case), ignoring case? Called for every header of
 * every request: compare the first byte inline, call strncasecmp only on a hit. */
static int span_contains(const char *p, size_t n, const char *needle)
{
	size_t k = strlen(needle);
	char c0 = needle[0];

	for (size_t i = 0; i + k <= n; i++) {
		char c = p[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c == c0 && strncasecmp(p + i + 1, needle + 1, k - 1) == 0)
			return 1;
	}
	return 0;
}

static int span_is(const char *p, size_t n, const char *word)
{
	return strlen(word) == n && strncasecmp(p, word, n) == 0;
}

int redact_param_is_secret(const char *name, size_t n)
{
	static const char *const exact[] = {"key", "sig", "pwd", "pass", "auth", "session",
					    "sid", "code", "jwt", NULL};
	static const char *const part[] = {"token", "secret", "passw", "signature", "credential",
					   "apikey", "api_key", "api-key", NULL};

	if (n == 0)
		return 0;
	for (int i = 0; exact[i]; i++)
		if (span_is(name, n, exact[i]))
			return 1;
	for (int i = 0; part[i]; i++)
		if (span_contains(name, n, part[i]))
			return 1;
	return n > 3 && strncasecmp(name + n - 3, "key", 3) == 0;
}

int redact_header_rank(const char *name, size_t n)
{
	if (span_is(name, n, "authorization"))
		return 1;
	if (span_is(name, n, "proxy-authorization"))
		return 2;
	if (span_is(name, n, "cookie"))
		return 5;
	if (span_contains(name, n, "api-key") || span_contains(name, n, "apikey") ||
	    span_contains(name, n, "api_key") || span_contains(name, n, "token") ||
	    span_contains(name, n, "secret") || span_contains(name, n, "password"))
		return 3;
	return 0;
}

size_t redact_query(const char *q, size_t qn, char *out, size_t outlen, struct http_span *secret)
{
	size_t o = 0, i = 0;

	if (secret)
		*secret = (struct http_span){NULL, 0};
	if (outlen == 0)
		return 0;
	while (i < qn) {
		size_t ps = i, pe = i;
		while (pe < qn && q[pe] != '&' && q[pe] != ';')
			pe++;
		size_t eq = ps;
		while (eq < pe && q[eq] != '=')
			eq++;
		const char *val = q + eq + 1;
		size_t vlen = eq < pe ? pe - eq - 1 : 0;
		int sec = eq < pe && vlen > 0 && redact_param_is_secret(q + ps, eq - ps);
		size_t need = sec ? (eq - ps + 1 + strlen(REDACTED)) : (pe - ps);
		need += (pe < qn); /* the separator */
		if (o + need + 1 > outlen) {
			if (o + 4 <= outlen) {
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (sec) {
			memcpy(out + o, q + ps, eq - ps + 1);
			o += eq - ps + 1;
			memcpy(out + o, REDACTED, strlen(REDACTED));
			o += strlen(REDACTED);
			if (secret && !secret->p)
				*secret = (struct http_span){val, vlen};
		} else {
			memcpy(out + o, q + ps, pe - ps);
			o += pe - ps;
		}
		if (pe < qn)
			out[o++] = q[pe];
		i = pe + 1;
	}
	out[o] = 0;
	return o;
}

void redact_fingerprint(const void *p, size_t n, char out[REDACT_FP_HEX + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL) || mdlen < REDACT_FP_HEX / 2) {
		/* libcrypto failed: never fall back to the clear value */
		memset(out, '0', REDACT_FP_HEX);
		out[REDACT_FP_HEX] = 0;
		return;
	}
	for (int i = 0; i < REDACT_FP_HEX / 2; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[REDACT_FP_HEX] = 0;
}

/* Authorization: auth-scheme [ 1*SP ( token68 / #auth-param ) ]; the credential is what
 * follows the scheme (or the whole value when there is no scheme). */
static struct http_span after_scheme(struct http_span v)
{
	const char *sp = memchr(v.p, ' ', v.n);

	if (!sp)
		return v;
	while (sp < v.p + v.n && *sp == ' ')
		sp++;
	if (sp == v.p + v.n)
		return v;
	return (struct http_span){sp, (size_t)(v.p + v.n - sp)};
}

int redact_auth_fp(const struct http_request *r, struct http_span query_secret,
		   char out[REDACT_FP_HEX + 1])
{
	struct http_span best = {NULL, 0};
	int best_rank = 99;

	for (int i = 0; i < r->n_headers; i++) {
		const struct http_header *h = &r->headers[i];
		int rank = redact_header_rank(h->name.p, h->name.n);
		if (!rank || rank >= best_rank || h->value.n == 0)
			continue;
		best_rank = rank;
		best = rank <= 2 ? after_scheme(h->value) : h->value;
	}
	if (query_secret.p && query_secret.n && best_rank > 4) {
		best = query_secret;
		best_rank = 4;
	}
	if (!best.p)
		return 0;
	redact_fingerprint(best.p, best.n, out);
	return 1;
}
