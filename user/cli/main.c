// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * main.c - tollgate's entry point: a command table.
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "log.h"

static int cmd_version(int argc, char **argv);
static int cmd_help(int argc, char **argv);

static const struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} cmds[] = {
	{"run", cmd_run, "capture outbound HTTP(S) per cgroup, detect, enforce, write JSON lines"},
	{"status", cmd_status, "what the running daemon attached, lost, tracks and enforces"},
	{"top", cmd_top, "live table of cgroups by request rate"},
	{"block", cmd_block, "throttle, freeze or kill a cgroup now (operator action)"},
	{"unblock", cmd_unblock, "clear the verdict on a cgroup"},
	{"oci-hook", cmd_oci_hook, "OCI runtime hook: register a container with the daemon"},
	{"replay", cmd_replay, "run the detectors over recorded JSON lines"},
	{"policy", cmd_policy, "show the built-in detection policy or check a policy file"},
	{"version", cmd_version, "print the version"},
	{"help", cmd_help, "this text"},
	{NULL, NULL, NULL},
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: tollgate COMMAND [OPTIONS]\n"
		   "eBPF egress monitor and governor for hosts that run AI agents.\n\n"
		   "Commands:\n");
	for (const struct cmd *c = cmds; c->name; c++)
		fprintf(f, "  %-10s %s\n", c->name, c->help);
	fprintf(f, "\n`tollgate COMMAND --help` describes a command's options.\n");
}

static int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("tollgate %s\n", TOLLGATE_VERSION);
	return 0;
}

static int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	usage(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return cmd_help(argc - 1, argv + 1);
	if (!strcmp(argv[1], "--version"))
		return cmd_version(argc - 1, argv + 1);
	for (const struct cmd *c = cmds; c->name; c++)
		if (!strcmp(argv[1], c->name))
			return c->fn(argc - 1, argv + 1);
	tg_err("unknown command '%s' (try tollgate --help)", argv[1]);
	return 2;
}
