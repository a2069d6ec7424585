// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * fuzz_policy.c - the policy parser (user/policy/policy.c, libyaml) on arbitrary bytes.
 *
 * Input: a YAML document. Checks memory safety; that a refused policy reports at least one
 * "NAME:LINE: ..." error and returns no policy; that an accepted one holds values inside
 * the documented ranges, converts to an enforcement configuration, and prints as YAML that
 * the parser accepts again with the same values (policy show / policy check round trip).
 */
#include <errno.h>

#include "enforce.h"
#include "fuzz.h"
#include "policy.h"

static int nerr;

static void on_err(void *ctx, const char *msg)
{
	(void)ctx;
	FUZZ_CHECK(!strncmp(msg, "fuzz.yaml:", 10));
	nerr++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy *p = NULL, *p2 = NULL;
	char *yaml = fuzz_dup(data, size), *shown = NULL;
	size_t shown_len = 0;

	nerr = 0;
	int r = policy_load_string("fuzz.yaml", yaml, size, &p, on_err, NULL);
	FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ENOMEM);
	if (r) {
		FUZZ_CHECK(!p);
		FUZZ_CHECK(r == -ENOMEM || nerr > 0);
		free(yaml);
		return 0;
	}
	FUZZ_CHECK(p && nerr == 0);
	FUZZ_CHECK(p->version == 1 && p->cooldown_s <= 604800);
	FUZZ_CHECK(!strcmp(p->mode, "enforce") || !strcmp(p->mode, "monitor"));
	FUZZ_CHECK(p->base.rules.enumeration.threshold <= ENUM_IDS_MAX);
	struct enforce_config ec;
	FUZZ_CHECK(enforce_config_from_policy(p, 0, &ec) == 0);
	for (int i = 0; i < ec.nactions; i++)
		FUZZ_CHECK(ec.actions[i].act.type >= ACT_ALERT && ec.actions[i].act.type < ACT_MAX);

	FILE *f = open_memstream(&shown, &shown_len);
	FUZZ_CHECK(f);
	policy_print(f, p);
	fclose(f);
	r = policy_load_string("fuzz.yaml", shown, shown_len, &p2, on_err, NULL);
	if (r)
		fprintf(stderr, "policy show output refused:\n%s\n", shown);
	FUZZ_CHECK(r == 0);
	FUZZ_CHECK(p2->cooldown_s == p->cooldown_s && p2->noverrides == p->noverrides &&
		   p2->nprices == p->nprices && p2->nactions == p->nactions &&
		   p2->nnetwork == p->nnetwork && !strcmp(p2->mode, p->mode));
	FUZZ_CHECK(p2->base.rules.volume.threshold == p->base.rules.volume.threshold);
	policy_free(p2);
	policy_free(p);
	free(shown);
	free(yaml);
	return 0;
}
