// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * redact.c - credentials out of every output; fingerprints instead. See redact.h.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "hash.h"
#include "redact.h"
#include "template.h"

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
					    "sid", "code", "jwt", "authorization", "session_id",
					    "sessionid", "passphrase", "client_assertion",
					    "code_verifier", "samlresponse", "bearer", NULL};
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

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int redact_value_is_secret(const char *v, size_t n)
{
	static const char *const prefix[] = {"sk-", "ghp_", "gho_", "github_pat_", "xoxb-",
					     "xoxp-", "eyJ", "AKIA", NULL};
	char buf[256];
	size_t k = 0;

	if (n < 16)
		return 0;
	for (int i = 0; prefix[i]; i++)
		if (!strncmp(v, prefix[i], strlen(prefix[i])))
			return 1;
	/* percent-decoded and with '/' read as '_' (base64 vs base64url), so the path
	 * templater's segment classifier sees what the server will */
	for (size_t i = 0; i < n && k < sizeof(buf); i++) {
		char c = v[i];
		if (c == '%' && i + 2 < n && hexval(v[i + 1]) >= 0 && hexval(v[i + 2]) >= 0) {
			c = (char)(hexval(v[i + 1]) << 4 | hexval(v[i + 2]));
			i += 2;
		}
		buf[k++] = c == '/' ? '_' : c;
	}
	int kind = tpl_segment_kind(buf, k);
	return kind == TPL_B64 || (kind == TPL_HEX && k >= 32);
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
		int sec = eq < pe && vlen > 0 &&
			  (redact_param_is_secret(q + ps, eq - ps) || redact_value_is_secret(val, vlen));
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

/* HMAC-SHA-256 keyed once per process (redact_init); reinitialised per fingerprint with
 * the same key, so no fetch or allocation per call. */
static EVP_MAC_CTX *fp_mac;

/*
 * Fingerprints of the credentials seen lately, direct-mapped by XXH3 of the credential
 * under a random per-process seed: an agent sends the same token with every request, and
 * an HMAC through OpenSSL 3's EVP_MAC costs microseconds (15% of tollgate's CPU at 200
 * requests/s with a bearer token on every one), a seeded hash tens of nanoseconds. The
 * seed is secret like the key, so colliding tokens cannot be made to order.
 */
#define FP_CACHE_SLOTS 256
static struct {
	uint64_t h; /* 0: empty */
	char fp[REDACT_FP_HEX + 1];
} fp_cache[FP_CACHE_SLOTS];
static uint64_t fp_seed;

int redact_init(void)
{
	unsigned char key[32 + 8]; /* HMAC key, then the fingerprint cache's hash seed */
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx;
	EVP_MAC *mac;
	size_t got = 0;
	int ret = 0;

	if (fp_mac)
		return 0;
	while (got < sizeof(key)) {
		ssize_t r = getrandom(key + got, sizeof(key) - got, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)r;
	}
	mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
	if (!mac) {
		ret = -ENOSYS; /* libcrypto without HMAC (a provider problem) */
		goto out;
	}
	ctx = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac); /* the context keeps its own reference */
	if (!ctx) {
		ret = -ENOMEM;
		goto out;
	}
	memcpy(&fp_seed, key + 32, sizeof(fp_seed)); /* the cache's seed: the last 8 bytes */
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_init(ctx, key, 32, params)) {
		EVP_MAC_CTX_free(ctx);
		ret = -EINVAL;
		goto out;
	}
	fp_mac = ctx;
out:
	OPENSSL_cleanse(key, sizeof(key));
	return ret;
}

void redact_fingerprint(const void *p, size_t n, char out[REDACT_FP_HEX + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	size_t mdlen = 0;

	uint64_t h;

	if (!fp_mac && redact_init())
		goto fail;
	h = tg_hash_seed(p, n, fp_seed) | 1;
	if (fp_cache[h % FP_CACHE_SLOTS].h == h) {
		memcpy(out, fp_cache[h % FP_CACHE_SLOTS].fp, REDACT_FP_HEX + 1);
		return;
	}
	if (!EVP_MAC_init(fp_mac, NULL, 0, NULL) ||
	    !EVP_MAC_update(fp_mac, p, n) || !EVP_MAC_final(fp_mac, md, &mdlen, sizeof(md)) ||
	    mdlen < REDACT_FP_HEX / 2) {
		goto fail;
	}
	for (int i = 0; i < REDACT_FP_HEX / 2; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[REDACT_FP_HEX] = 0;
	fp_cache[h % FP_CACHE_SLOTS].h = h;
	memcpy(fp_cache[h % FP_CACHE_SLOTS].fp, out, REDACT_FP_HEX + 1);
	return;
fail:
	/* libcrypto failed: never fall back to the clear value or a plain digest */
	memset(out, '0', REDACT_FP_HEX);
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
