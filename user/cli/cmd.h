/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * cmd.h - tollgate's commands (main.c's command table, bpftool's struct cmd pattern).
 * Each takes the arguments after the command name (argv[0] is the command) and returns
 * the process exit code: 0 success, 1 failure, 2 usage or environment error.
 */
#ifndef TG_CMD_H
#define TG_CMD_H

#define TOLLGATE_VERSION "0.1.0"

int cmd_run(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_block(int argc, char **argv);
int cmd_unblock(int argc, char **argv);
int cmd_oci_hook(int argc, char **argv);
int cmd_replay(int argc, char **argv);  /* replay.c */
int cmd_policy(int argc, char **argv);  /* policy_cmd.c */

#endif
