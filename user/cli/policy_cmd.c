// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * policy_cmd.c - `tollgate policy show [FILE]` and `tollgate policy check FILE`: the
 * policy reader (user/policy/) as a command.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "log.h"
#include "policy.h"

static void usage_policy(FILE *f)
{
	fprintf(f, "Usage: tollgate policy show [FILE]\n"
		   "       tollgate policy check FILE\n"
		   "show: print the built-in detection policy (or FILE's, defaults filled in) as "
		   "YAML.\n"
		   "check: validate FILE; errors are printed as FILE:LINE: ... (exit 1).\n"
		   "docs/policy.md describes every key.\n");
}

int cmd_policy(int argc, char **argv)
{
	struct policy *p = NULL;
	int err;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage_policy(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "show") && argc <= 3) {
		if (argc == 3) {
			err = policy_load_file(argv[2], &p, NULL, NULL);
			if (err) {
				if (err != -EINVAL)
					tg_err("%s: %s", argv[2], strerror(-err));
				return err == -EINVAL ? 1 : 2;
			}
		} else {
			p = policy_default();
			if (!p)
				return 1;
		}
		policy_print(stdout, p);
		policy_free(p);
		return 0;
	}
	if (!strcmp(argv[1], "check") && argc == 3) {
		err = policy_load_file(argv[2], &p, NULL, NULL);
		if (err) {
			if (err != -EINVAL)
				tg_err("%s: %s", argv[2], strerror(-err));
			return err == -EINVAL ? 1 : 2;
		}
		printf("%s: valid (%u overrides, %u prices)\n", argv[2], p->noverrides, p->nprices);
		policy_free(p);
		return 0;
	}
	usage_policy(stderr);
	return 2;
}
