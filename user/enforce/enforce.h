/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * enforce.h - what tollgate does to an agent's cgroup when a rule fires (PB-30
 * containment), and the static network allow/deny rules.
 *
 * In:  alerts (alert.h), observations (obs.h, for the evidence an action reports),
 *      TG_EV_BLOCKED records (what the kernel refused), the policy's actions, protected
 *      cgroups and network rules.
 * Out: verdicts in BPF maps (bpf/enforce.bpf.h) - throttle and kill act in the kernel -,
 *      cgroup.kill / cgroup.freeze writes, and one JSON line per action ("event":"action")
 *      and per second of refusals ("event":"blocked").
 *
 * Safety: monitor mode computes and logs every action with "dry_run":true and changes
 * nothing; protected cgroups (the cgroup2 root, tollgate's own cgroup and its ancestors,
 * the policy's list and their descendants) are never acted on, nor are their ancestors
 * (cgroup.kill, cgroup.freeze and verdicts act on a whole subtree) - the refusal is
 * logged, naming the protected cgroup; cool-down summaries (alert.suppressed > 0) never
 * act, they only go to the sinks; verdicts live in maps owned by this process (gone when
 * it is), and a frozen cgroup is thawed by the exit path, by a guard process if tollgate
 * is killed, or at the next start (state file). The guard starts with the first freeze, whatever asks for it; a freeze it
 * cannot track (no guard, too many frozen cgroups) is refused: fail open.
 */
#ifndef TG_ENFORCE_H
#define TG_ENFORCE_H

#include <stdint.h>

#include "alert.h"
#include "obs.h"
#include "policy.h"
#include "tollgate_abi.h"

struct action_spec {
	int type;            /* enum action_type */
	double rate;         /* throttle: requests (and connects) per second, > 0 */
	uint32_t burst;      /* throttle: bucket depth, >= 1 */
	uint32_t duration_s; /* verdict lifetime / freeze length; 0: until `tollgate unblock` */
};

/* One entry of the policy's actions list: alerts of @rule ("*": any) at or above
 * @min_severity get @act. The first matching entry wins. */
struct action_rule {
	char rule[32];
	int min_severity; /* enum alert_severity; 0: any */
	struct action_spec act;
};

/* One network rule: from cgroups matching @cgroup (empty: every cgroup), connecting or
 * sending to @addr/@prefix (and @port when non-zero): allow or deny (enum tg_net_verdict). */
struct net_rule {
	char cgroup[256];
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	int prefix;
	uint16_t port;
	int verdict;
	char text[96]; /* as written in the policy, for the log */
};

#define ENFORCE_MAX_ACTIONS POLICY_MAX_ACTIONS
#define ENFORCE_MAX_PROTECTED POLICY_MAX_PROTECTED
#define ENFORCE_MAX_NET POLICY_MAX_NETWORK

struct enforce_config {
	int monitor; /* 1: compute and log actions, do nothing */
	int nactions;
	struct action_rule actions[ENFORCE_MAX_ACTIONS];
	int nprotected;
	char protected_cgroups[ENFORCE_MAX_PROTECTED][256]; /* paths or globs (fnmatch) */
	int nnet;
	struct net_rule net[ENFORCE_MAX_NET];
};


struct policy;
/*
 * enforce_config_from_policy - the policy's mode, actions, protected_cgroups and network
 * sections as an enforcement configuration (the policy parser has checked them already).
 * @dry_run: --dry-run was given (monitor mode whatever the policy says).
 * Returns 0, or -EINVAL when a section holds more than the engine takes (the policy
 * reader already refuses that: the caps are policy.h's).
 */
int enforce_config_from_policy(const struct policy *p, int dry_run, struct enforce_config *c);


/* What the enforcer needs from the rest of the program. */
struct jsonl_sink;
struct cgroup_cache;

struct enforce_env {
	const char *cgroup_root;      /* the cgroup2 mount */
	struct cgroup_cache *cgroups; /* id -> path */
	struct jsonl_sink *out;       /* action and blocked lines */
	int verdicts_fd, holds_fd, net_port_fd, net_any_fd;
	volatile uint32_t *verdict_count, *verdict_level_mask; /* BPF .bss */
	volatile uint32_t *net_rule_count, *net_level_mask;
	const char *state_dir;        /* where the frozen-cgroup list is kept; NULL: none */
	/* told about every action line written (for tollgate_actions_total); may be NULL */
	void (*on_action)(void *ctx, const char *action, const char *result);
	void *action_ctx;
};

struct enforcer;

/* Returns NULL on ENOMEM or when a network rule cannot be installed (logged). */
struct enforcer *enforcer_new(const struct enforce_config *cfg, const struct enforce_env *env);
/* Thaw what this process froze, stop the guard. Verdicts go with the maps. */
void enforcer_free(struct enforcer *e);

/* An alert: find its action, check protection, act (or log it as dry run). */
void enforcer_alert(struct enforcer *e, const struct tg_alert *a);
/* Every observation: evidence per cgroup (destinations, endpoints, credentials). */
void enforcer_obs(struct enforcer *e, const struct tg_obs *o);
/* A refusal the kernel reported. */
void enforcer_blocked(struct enforcer *e, const struct tg_blocked_event *b, uint64_t realtime_ns);
/* Expire verdicts, thaw finished freezes, report refusals, apply network rules to new
 * cgroups. @now_mono: CLOCK_MONOTONIC ns, @now_real: CLOCK_REALTIME ns. */
/*
 * enforcer_forget - cgroups that are gone (@ids sorted ascending, from
 * cgcache_take_removed): drop their evidence, end their verdicts (an "action" line with
 * action "cgroup_removed"; the BPF verdict entry goes), and remove their per-cgroup
 * network rules from the BPF LPM maps. @now_real: CLOCK_REALTIME ns for the lines.
 */
void enforcer_forget(struct enforcer *e, const uint64_t *ids, size_t n, uint64_t now_real);

void enforcer_tick(struct enforcer *e, uint64_t now_mono, uint64_t now_real);

/*
 * enforcer_operator - an action an operator asked for (`tollgate block`), logged like an
 * alert's with "rule":"operator". Returns 0, -EPERM for a protected cgroup (the refusal is
 * logged), -EIO when the action failed or was refused for safety (the reason is in the
 * action line and enforcer_last_error()), -EEXIST when an equal or stronger verdict is in
 * force, -EINVAL.
 */
int enforcer_operator(struct enforcer *e, uint64_t cgroup_id, const char *cgroup,
		      const struct action_spec *spec);
/* The error of the last action that failed or was refused ("" none), as in its line. */
const char *enforcer_last_error(const struct enforcer *e);

/*
 * enforcer_unblock - clear the verdict on a cgroup and thaw it.
 * @cgroup: path under the cgroup2 root. Returns 0, or -ENOENT when tollgate holds no
 * verdict or freeze on it.
 */
int enforcer_unblock(struct enforcer *e, const char *cgroup, uint64_t now_real);

/* Is @path (under the cgroup2 root) protected: the root, tollgate's own cgroup or an
 * ancestor, a protected_cgroups entry, under one, or above one (literal entries by path;
 * glob entries matched against @path, its ancestors and the cgroup directories under it)?
 * Returns 1 or 0. For tests and status. */
int enforcer_protected(const struct enforcer *e, const char *path);

struct enforce_stats {
	uint64_t actions[ACT_MAX];  /* actions taken (or logged in monitor mode) */
	uint64_t refused;           /* actions refused on protected cgroups */
	uint64_t failed;            /* actions that failed (the error is in the line) */
	uint64_t verdicts;          /* verdicts in force */
	uint64_t frozen;            /* cgroups frozen now */
	uint64_t blocked;           /* refusals reported by the kernel */
};
const struct enforce_stats *enforcer_stats(const struct enforcer *e);

/* Visit every verdict or freeze in force (for `tollgate status`). */
typedef void (*enforcer_verdict_fn)(void *ctx, const char *cgroup, const char *action,
				    const char *rule, uint64_t expires_real_ns);
void enforcer_foreach(const struct enforcer *e, enforcer_verdict_fn fn, void *ctx);

#endif
