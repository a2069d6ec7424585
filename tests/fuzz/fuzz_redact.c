// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * fuzz_redact.c - redact_query and redact_auth_fp (user/flow/redact.c) on arbitrary input.
 *
 * Input: byte 0 picks the output size for redact_query (1..256); the rest is used twice:
 * as a query string, and as a request head whose headers and query feed redact_auth_fp.
 * Checks: memory safety; redact_query NUL-terminates within the output and returns the
 * length written; the secret span lies inside the query; with room enough, the output is
 * the query with exactly the secret values replaced; auth_fp is REDACT_FP_HEX lower-case
 * hex digits.
 */
#include "fuzz.h"
#include "http1.h"
#include "redact.h"

static void check_fp(const char *fp)
{
	for (int i = 0; i < REDACT_FP_HEX; i++)
		FUZZ_CHECK((fp[i] >= '0' && fp[i] <= '9') || (fp[i] >= 'a' && fp[i] <= 'f'));
	FUZZ_CHECK(fp[REDACT_FP_HEX] == 0);
}

/* With an output large enough not to be cut: parameters map one to one, separators are
 * kept, and every parameter with a value secret by name or by shape reads name=REDACTED. */
static void check_full(const char *q, size_t qn)
{
	size_t cap = 8 * qn + 16, i = 0, o = 0;
	char *out = malloc(cap);
	if (!out)
		abort();
	size_t on = redact_query(q, qn, out, cap, NULL);

	FUZZ_CHECK(on < cap && out[on] == 0);
	while (i < qn) {
		size_t pe = i, oe = o;
		while (pe < qn && q[pe] != '&' && q[pe] != ';')
			pe++;
		while (oe < on && out[oe] != '&' && out[oe] != ';')
			oe++;
		size_t eq = i;
		while (eq < pe && q[eq] != '=')
			eq++;
		if (eq < pe && pe - eq > 1 &&
		    (redact_param_is_secret(q + i, eq - i) ||
		     redact_value_is_secret(q + eq + 1, pe - eq - 1))) {
			FUZZ_CHECK(oe - o == eq - i + 1 + strlen(REDACTED));
			FUZZ_CHECK(memcmp(out + o, q + i, eq - i + 1) == 0);
			FUZZ_CHECK(memcmp(out + o + (eq - i + 1), REDACTED, strlen(REDACTED)) == 0);
		} else {
			FUZZ_CHECK(oe - o == pe - i && memcmp(out + o, q + i, pe - i) == 0);
		}
		if (pe < qn)
			FUZZ_CHECK(oe < on && out[oe] == q[pe]);
		i = pe + 1;
		o = oe + 1;
	}
	FUZZ_CHECK(o >= on);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_span secret;
	struct http_request r;
	char fp[REDACT_FP_HEX + 1];

	if (size < 1)
		return 0;
	size_t outlen = (size_t)data[0] + 1;
	size_t n = size - 1;
	char *q = fuzz_dup(data + 1, n);
	char *out = malloc(outlen);
	if (!out)
		abort();

	size_t w = redact_query(q, n, out, outlen, &secret);
	FUZZ_CHECK(w < outlen);
	FUZZ_CHECK(out[w] == 0);
	if (secret.p)
		FUZZ_CHECK(fuzz_within(secret.p, secret.n, q, n) && secret.n > 0);
	check_full(q, n);
	(void)redact_param_is_secret(q, n);
	(void)redact_value_is_secret(q, n);
	(void)redact_header_rank(q, n);

	/* the same bytes as a request head: its credential headers and query */
	if (http1_parse_request(q, n, 1, &r) != HTTP1_BAD) {
		struct http_span qs = {NULL, 0};
		char big[1024];
		if (r.query.p)
			redact_query(r.query.p, r.query.n, big, sizeof(big), &qs);
		memset(fp, 'x', sizeof(fp));
		if (redact_auth_fp(&r, qs, fp))
			check_fp(fp);
	}
	free(out);
	free(q);
	return 0;
}
