// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * enforce.c - actions on agent cgroups, protected cgroups, monitor mode, network rules.
 * See enforce.h.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uthash.h>

#include "cgroup.h"
#include "enforce.h"
#include "hash.h"
#include "log.h"
#include "policy.h"
#include "sink_jsonl.h"
#include "util.h"

#define EVIDENCE_MAX_CGROUPS 4096
#define EVIDENCE_SLOTS 8
#define BLOCKED_MAX 4096

/* ---- configuration ---- */

static const char *const act_names[ACT_MAX] = {"alert", "throttle", "freeze", "kill"};

const char *action_type_name(int type)
{
	return (type >= 0 && type < ACT_MAX) ? act_names[type] : "?";
}

int action_type_from_name(const char *name)
{
	for (int t = 0; t < ACT_MAX; t++)
		if (!strcmp(act_names[t], name))
			return t;
	return -1;
}

int net_rule_parse_cidr(const char *s, struct net_rule *r)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	uint64_t prefix;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%.*s", slash ? (int)(slash - s) : (int)strlen(s), s);
	memset(r->addr, 0, sizeof(r->addr));
	if (inet_pton(AF_INET, buf, r->addr) == 1)
		r->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, r->addr) == 1)
		r->family = AF_INET6;
	else
		return -EINVAL;
	int max = r->family == AF_INET ? 32 : 128;
	if (slash) {
		if (parse_u64(slash + 1, 0, (uint64_t)max, &prefix))
			return -EINVAL;
		r->prefix = (int)prefix;
	} else {
		r->prefix = max;
	}
	/* clear host bits: 10.1.2.3/8 means 10.0.0.0/8 */
	for (int bit = r->prefix; bit < max; bit++)
		r->addr[bit / 8] &= (uint8_t) ~(0x80 >> (bit % 8));
	return 0;
}

int enforce_config_from_policy(const struct policy *p, int dry_run, struct enforce_config *c)
{
	memset(c, 0, sizeof(*c));
	c->monitor = dry_run || !strcmp(p->mode, "monitor");
	if (p->nactions > ENFORCE_MAX_ACTIONS || p->protected_cgroups.n > ENFORCE_MAX_PROTECTED ||
	    p->nnetwork > ENFORCE_MAX_NET) {
		tg_err("policy %s: more actions, protected cgroups or network rules than %d, %d, %d",
		       p->source, ENFORCE_MAX_ACTIONS, ENFORCE_MAX_PROTECTED, ENFORCE_MAX_NET);
		return -EINVAL;
	}
	for (uint32_t i = 0; i < p->nactions; i++) {
		const struct policy_action *pa = &p->actions[i];
		struct action_rule *r = &c->actions[c->nactions++];
		snprintf(r->rule, sizeof(r->rule), "%s", pa->rule);
		r->min_severity = pa->min_severity;
		r->act.type = action_type_from_name(pa->action);
		r->act.rate = pa->rate;
		r->act.burst = pa->burst ? pa->burst : 1;
		r->act.duration_s = pa->duration_s;
	}
	for (uint32_t i = 0; i < p->protected_cgroups.n; i++)
		snprintf(c->protected_cgroups[c->nprotected++], sizeof(c->protected_cgroups[0]), "%s",
			 p->protected_cgroups.v[i]);
	for (uint32_t i = 0; i < p->nnetwork; i++) {
		const struct policy_net *pn = &p->network[i];
		struct net_rule *r = &c->net[c->nnet];
		memset(r, 0, sizeof(*r));
		if (net_rule_parse_cidr(pn->allow ? pn->allow : pn->deny, r)) {
			tg_err("policy %s: network[%u]: bad address", p->source, i);
			return -EINVAL;
		}
		r->verdict = pn->allow ? TG_NET_ALLOW : TG_NET_DENY;
		r->port = (uint16_t)pn->port;
		if (pn->cgroup)
			snprintf(r->cgroup, sizeof(r->cgroup), "%s", pn->cgroup);
		snprintf(r->text, sizeof(r->text), "%s %s%s%.0u%s%s", pn->allow ? "allow" : "deny",
			 pn->allow ? pn->allow : pn->deny, pn->port ? " port " : "", pn->port,
			 pn->cgroup ? " cgroup " : "", pn->cgroup ? pn->cgroup : "");
		c->nnet++;
	}
	return 0;
}

/* ---- state ---- */

/* Kept per request on the hot path, so compared in binary and formatted only when an
 * action writes them out. */
struct dest {
	uint8_t family;
	uint16_t port;
	uint8_t addr[16];
};

struct evidence {
	uint64_t cgroup_id;
	UT_hash_handle hh;
	char comm[17];
	uint32_t pid;
	uint64_t requests;
	struct dest dest[EVIDENCE_SLOTS];
	uint64_t endpoint_hash[EVIDENCE_SLOTS];
	char endpoint[EVIDENCE_SLOTS][128]; /* host + path */
	char fp[EVIDENCE_SLOTS][REDACT_FP_HEX + 1];
	int ndest, nendpoint, nfp;
};

struct verdict_ent {
	uint64_t cgroup_id;
	UT_hash_handle hh;
	char path[PATH_MAX];
	int action;             /* enum action_type */
	char rule[32];
	uint64_t expires_mono;  /* 0: until unblocked */
	uint64_t expires_real;
	int in_map;             /* has an entry in the BPF verdicts map */
	int frozen;             /* we wrote cgroup.freeze = 1 */
	int level;
};

struct blocked_key {
	uint64_t cgroup_id;
	uint8_t reason, hook;
	uint16_t dport;
	uint32_t rule_id;
	uint8_t family;
	uint8_t daddr[16];
};

struct blocked_ent {
	struct blocked_key key;
	UT_hash_handle hh;
	uint64_t count;
	uint64_t first_real;
	uint32_t pid;
	char comm[17];
};

struct net_installed {
	struct { uint32_t rule; uint64_t cgroup_id; } key;
	UT_hash_handle hh;
};

struct enforcer {
	struct enforce_config cfg;
	struct enforce_env env;
	struct enforce_stats st;
	struct evidence *evidence;
	struct verdict_ent *verdicts;
	struct blocked_ent *blocked;
	struct net_installed *net_done;
	char self_cgroup[PATH_MAX];
	int guard_fd; /* write end of the freeze guard's pipe, -1 none */
	pid_t guard_pid;
	int has_cgroup_net; /* some network rule is per cgroup glob */
	uint64_t next_net_scan;
};

/* ---- protection ---- */

static int is_ancestor_or_self(const char *anc, const char *path)
{
	size_t n = strlen(anc);

	if (!strcmp(anc, "/"))
		return 1;
	return !strncmp(anc, path, n) && (path[n] == 0 || path[n] == '/');
}

int enforcer_protected(const struct enforcer *e, const char *path)
{
	if (!path || !strcmp(path, "/"))
		return 1; /* the root, and cgroups we cannot name */
	/* tollgate's own cgroup and its ancestors */
	if (is_ancestor_or_self(path, e->self_cgroup))
		return 1;
	for (int i = 0; i < e->cfg.nprotected; i++) {
		const char *p = e->cfg.protected_cgroups[i];
		if (is_ancestor_or_self(p, path) || fnmatch(p, path, 0) == 0)
			return 1;
	}
	return 0;
}

static void read_self_cgroup(struct enforcer *e)
{
	char line[PATH_MAX + 8];
	FILE *f = fopen("/proc/self/cgroup", "re");

	snprintf(e->self_cgroup, sizeof(e->self_cgroup), "/");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3) == 0) {
			line[strcspn(line, "\n")] = 0;
			snprintf(e->self_cgroup, sizeof(e->self_cgroup), "%s", line + 3);
		}
	}
	fclose(f);
}

/* ---- freeze guard ---- */

/* A child that thaws every cgroup it was told about when our end of the pipe closes,
 * which happens however tollgate ends (SIGKILL included). It leaves tollgate's session so a
 * terminal's Ctrl-C does not reach it, and ignores the polite signals. */
static void guard_main(int rfd, const char *root)
{
	char paths[64][PATH_MAX];
	int n = 0;
	char line[PATH_MAX + 4];
	FILE *in = fdopen(rfd, "r");

	setsid();
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	prctl(PR_SET_NAME, "tollgate-guard");
	if (!in)
		_exit(1);
	while (fgets(line, sizeof(line), in)) {
		line[strcspn(line, "\n")] = 0;
		if (line[0] == 'F' && n < 64) {
			snprintf(paths[n++], PATH_MAX, "%s", line + 2);
		} else if (line[0] == 'T') {
			for (int i = 0; i < n; i++)
				if (!strcmp(paths[i], line + 2)) {
					snprintf(paths[i], PATH_MAX, "%s", paths[n - 1]);
					n--;
					break;
				}
		}
	}
	for (int i = 0; i < n; i++) {
		char f[PATH_MAX * 2];
		snprintf(f, sizeof(f), "%s%s/cgroup.freeze", root, paths[i]);
		int fd = open(f, O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t w = write(fd, "0", 1);
			(void)w; /* nothing to report to: tollgate is gone */
			close(fd);
		}
	}
	_exit(0);
}

static void guard_start(struct enforcer *e)
{
	int p[2];

	e->guard_fd = -1;
	if (pipe2(p, O_CLOEXEC))
		return;
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return;
	}
	if (pid == 0) {
		close(p[1]);
		guard_main(p[0], e->env.cgroup_root);
	}
	close(p[0]);
	e->guard_fd = p[1];
	e->guard_pid = pid;
}

static void guard_say(struct enforcer *e, char op, const char *path)
{
	char line[PATH_MAX + 4];
	int n = snprintf(line, sizeof(line), "%c %s\n", op, path);

	if (e->guard_fd >= 0 && write(e->guard_fd, line, (size_t)n) != n)
		tg_warn("freeze guard: %s", strerror(errno));
}

/* The state file lists the cgroups this tollgate froze, for a later start to thaw should
 * this one die with its guard: STATE_DIR/frozen.PID, one per running instance, so that
 * instances side by side never thaw each other's freezes. */
static void state_path(const struct enforcer *e, pid_t pid, char *out, size_t n)
{
	snprintf(out, n, "%s/frozen.%d", e->env.state_dir, (int)pid);
}

static void state_write(struct enforcer *e)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	struct verdict_ent *v, *t;
	FILE *f;
	int any = 0;

	if (!e->env.state_dir)
		return;
	state_path(e, getpid(), path, sizeof(path));
	HASH_ITER(hh, e->verdicts, v, t)
		any |= v->frozen;
	if (!any) {
		unlink(path);
		return;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	mkdir(e->env.state_dir, 0700);
	f = fopen(tmp, "we");
	if (!f)
		return;
	HASH_ITER(hh, e->verdicts, v, t)
		if (v->frozen)
			fprintf(f, "%s\n", v->path);
	if (fclose(f) == 0)
		rename(tmp, path);
}

static int write_cg_file(const struct enforcer *e, const char *cg, const char *file, const char *val,
			 char *err, size_t errlen)
{
	char path[PATH_MAX * 2];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s%s/%s", e->env.cgroup_root, strcmp(cg, "/") ? cg : "", file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		ret = -errno;
	if (fd >= 0)
		close(fd);
	if (ret)
		snprintf(err, errlen, "write %s: %s", path, strerror(-ret));
	return ret;
}

/* Thaw what tollgates that are gone left frozen (each died with its guard). */
static void state_recover(struct enforcer *e)
{
	char path[PATH_MAX * 2], line[PATH_MAX], err[PATH_MAX + 64];
	struct dirent *de;
	DIR *d;

	if (!e->env.state_dir || !(d = opendir(e->env.state_dir)))
		return;
	while ((de = readdir(d))) {
		char *end;
		long pid;
		if (strncmp(de->d_name, "frozen.", 7))
			continue;
		pid = strtol(de->d_name + 7, &end, 10);
		if (*end || pid <= 0 || (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
			continue; /* a live instance's (or not ours to judge) */
		snprintf(path, sizeof(path), "%s/%s", e->env.state_dir, de->d_name);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\n")] = 0;
			if (line[0] &&
			    write_cg_file(e, line, "cgroup.freeze", "0", err, sizeof(err)) == 0)
				tg_warn("thawed %s, left frozen by tollgate %ld which is gone", line,
					pid);
		}
		fclose(f);
		unlink(path);
	}
	closedir(d);
}

/* ---- evidence (PB-30: source, destinations, endpoints, request count, credentials) ---- */

void enforcer_obs(struct enforcer *e, const struct tg_obs *o)
{
	struct evidence *ev;

	if (o->type != OBS_REQUEST && o->type != OBS_CONNECT)
		return;
	HASH_FIND(hh, e->evidence, &o->cgroup_id, sizeof(o->cgroup_id), ev);
	if (!ev) {
		if (HASH_COUNT(e->evidence) >= EVIDENCE_MAX_CGROUPS) {
			struct evidence *old = e->evidence; /* least recently added */
			HASH_DEL(e->evidence, old);
			free(old);
		}
		ev = calloc(1, sizeof(*ev));
		if (!ev)
			return;
		ev->cgroup_id = o->cgroup_id;
		HASH_ADD(hh, e->evidence, cgroup_id, sizeof(ev->cgroup_id), ev);
	}
	if (o->comm[0])
		memcpy(ev->comm, o->comm, sizeof(ev->comm));
	if (o->pid)
		ev->pid = o->pid;
	if (o->has_addr && ev->ndest < EVIDENCE_SLOTS) {
		int i;
		for (i = 0; i < ev->ndest; i++)
			if (ev->dest[i].port == o->dport && ev->dest[i].family == o->family &&
			    !memcmp(ev->dest[i].addr, o->daddr, 16))
				break;
		if (i == ev->ndest) {
			ev->dest[i].family = (uint8_t)o->family;
			ev->dest[i].port = o->dport;
			memcpy(ev->dest[i].addr, o->daddr, 16);
			ev->ndest++;
		}
	}
	if (o->type != OBS_REQUEST)
		return;
	ev->requests++;
	if ((o->host || o->path) && ev->nendpoint < EVIDENCE_SLOTS) {
		uint64_t h = tg_hash_seed(o->path ? o->path : "", o->path ? strlen(o->path) : 0,
					  tg_hash(o->host ? o->host : "", o->host ? strlen(o->host) : 0));
		int i;
		for (i = 0; i < ev->nendpoint; i++)
			if (ev->endpoint_hash[i] == h)
				break;
		if (i == ev->nendpoint) {
			ev->endpoint_hash[i] = h;
			snprintf(ev->endpoint[i], sizeof(ev->endpoint[i]), "%s%s", o->host ? o->host : "",
				 o->path ? o->path : "");
			ev->nendpoint++;
		}
	}
	if (o->auth_fp[0] && ev->nfp < EVIDENCE_SLOTS) {
		for (int i = 0; i < ev->nfp; i++)
			if (!strcmp(ev->fp[i], o->auth_fp))
				return;
		memcpy(ev->fp[ev->nfp++], o->auth_fp, sizeof(ev->fp[0]));
	}
}

static void write_evidence(struct enforcer *e, struct jsonw *w, uint64_t cgroup_id,
			   const char *cgroup)
{
	struct evidence *ev;

	HASH_FIND(hh, e->evidence, &cgroup_id, sizeof(cgroup_id), ev);
	jw_key(w, "evidence");
	jw_obj_begin(w);
	jw_kstr(w, "source", cgroup);
	jw_kstr(w, "comm", ev && ev->comm[0] ? ev->comm : NULL);
	jw_key(w, "destinations");
	jw_arr_begin(w);
	for (int i = 0; ev && i < ev->ndest; i++) {
		char a[INET6_ADDRSTRLEN], buf[INET6_ADDRSTRLEN + 16];
		inet_ntop(ev->dest[i].family, ev->dest[i].addr, a, sizeof(a));
		snprintf(buf, sizeof(buf), ev->dest[i].family == AF_INET6 ? "[%s]:%u" : "%s:%u", a,
			 ev->dest[i].port);
		jw_str(w, buf);
	}
	jw_arr_end(w);
	jw_key(w, "endpoints");
	jw_arr_begin(w);
	for (int i = 0; ev && i < ev->nendpoint; i++)
		jw_str(w, ev->endpoint[i]);
	jw_arr_end(w);
	jw_ku64(w, "requests", ev ? ev->requests : 0);
	jw_key(w, "auth_fps");
	jw_arr_begin(w);
	for (int i = 0; ev && i < ev->nfp; i++)
		jw_str(w, ev->fp[i]);
	jw_arr_end(w);
	jw_obj_end(w);
}

/* ---- verdicts in the kernel ---- */

static void recompute_levels(struct enforcer *e)
{
	struct verdict_ent *v, *t;
	uint32_t mask = 0, count = 0;

	HASH_ITER(hh, e->verdicts, v, t)
		if (v->in_map) {
			mask |= 1u << v->level;
			count++;
		}
	/* publish the mask before the count: a program that sees the count sees the mask */
	*e->env.verdict_level_mask = mask;
	__sync_synchronize();
	*e->env.verdict_count = count;
	e->st.verdicts = count;
}

static int map_put(struct enforcer *e, struct verdict_ent *v, const struct action_spec *a,
		   char *err, size_t errlen)
{
	struct tg_verdict kv;

	memset(&kv, 0, sizeof(kv));
	kv.expires_ns = v->expires_mono;
	kv.action = a->type == ACT_KILL ? TG_VERDICT_KILL : TG_VERDICT_THROTTLE;
	if (a->type == ACT_THROTTLE) {
		kv.interval_ns = (uint64_t)(1e9 / a->rate);
		kv.tolerance_ns = kv.interval_ns * (a->burst > 0 ? a->burst - 1 : 0);
	}
	if (bpf_map_update_elem(e->env.verdicts_fd, &v->cgroup_id, &kv, BPF_ANY)) {
		snprintf(err, errlen, "update verdict map: %s", strerror(errno));
		return -errno;
	}
	v->in_map = 1;
	recompute_levels(e);
	return 0;
}

static void verdict_clear(struct enforcer *e, struct verdict_ent *v)
{
	char err[PATH_MAX + 64];

	if (v->in_map) {
		v->in_map = 0;
		recompute_levels(e);
		bpf_map_delete_elem(e->env.verdicts_fd, &v->cgroup_id);
	}
	if (v->frozen) {
		if (write_cg_file(e, v->path, "cgroup.freeze", "0", err, sizeof(err)))
			tg_warn("thaw %s: %s", v->path, err);
		v->frozen = 0;
		e->st.frozen--;
		guard_say(e, 'T', v->path);
	}
	HASH_DEL(e->verdicts, v);
	free(v);
	state_write(e);
}

/* A verdict ends (@how: "expire", "unblock"): log it, then clear it. */
static void verdict_end(struct enforcer *e, struct verdict_ent *v, const char *how, uint64_t now_real)
{
	struct jsonw *w = jsonl_begin(e->env.out, now_real, "action", v->cgroup_id, v->path, 0, 0,
				      NULL);

	jw_kstr(w, "action", how);
	jw_kstr(w, "cleared", v->frozen ? "freeze" : action_type_name(v->action));
	jw_kstr(w, "rule", v->rule);
	jw_key(w, "dry_run");
	jw_bool(w, 0);
	jw_kstr(w, "result", "ok");
	jsonl_end(e->env.out);
	verdict_clear(e, v);
}

/* ---- actions ---- */

static const struct action_rule *find_action(const struct enforcer *e, const struct tg_alert *a)
{
	for (int i = 0; i < e->cfg.nactions; i++) {
		const struct action_rule *r = &e->cfg.actions[i];
		if ((!strcmp(r->rule, "*") || !strcmp(r->rule, a->rule)) &&
		    a->severity >= r->min_severity)
			return r;
	}
	return NULL;
}

static void action_line(struct enforcer *e, const struct tg_alert *a, const struct action_spec *act,
			const char *result, uint64_t expires_real)
{
	struct jsonw *w = jsonl_begin(e->env.out, now_real_ns(), "action", a->cgroup_id, a->cgroup,
				      a->pid, 0, a->comm);

	jw_kstr(w, "action", action_type_name(act->type));
	jw_kstr(w, "rule", a->rule);
	jw_kstr(w, "technique", a->technique);
	jw_kstr(w, "severity", alert_severity_name(a->severity));
	jw_key(w, "dry_run");
	jw_bool(w, e->cfg.monitor);
	jw_kstr(w, "result", result);
	if (act->type == ACT_THROTTLE) {
		jw_key(w, "rate");
		jw_double(w, act->rate, 3);
		jw_ku64(w, "burst", act->burst);
	}
	if (act->type != ACT_ALERT) {
		jw_ku64(w, "duration_s", act->duration_s);
		jw_key(w, "expires");
		if (expires_real)
			jw_ts(w, expires_real);
		else
			jw_null(w);
	}
	write_evidence(e, w, a->cgroup_id, a->cgroup);
	jsonl_end(e->env.out);
	if (e->env.on_action)
		e->env.on_action(e->env.action_ctx, action_type_name(act->type), result);
}

/* Strength of an action, to never replace a verdict with a weaker one. */
static int strength(int type)
{
	return type == ACT_KILL ? 3 : type == ACT_FREEZE ? 2 : type == ACT_THROTTLE ? 1 : 0;
}

/* Carry out @act on the alert's cgroup (or log it in monitor mode, or refuse it). */
static void act(struct enforcer *e, const struct tg_alert *a, const struct action_spec *act)
{
	char err[PATH_MAX + 128] = "", path[PATH_MAX];
	struct verdict_ent *v;
	uint64_t now_mono = now_mono_ns(), now_real = now_real_ns(), exp_real = 0;
	int ret = 0;

	HASH_FIND(hh, e->verdicts, &a->cgroup_id, sizeof(a->cgroup_id), v);
	if (v && strength(v->action) >= strength(act->type))
		return; /* already in force */
	if (enforcer_protected(e, a->cgroup)) {
		e->st.refused++;
		action_line(e, a, act, "refused: protected cgroup", 0);
		return;
	}
	if (act->duration_s)
		exp_real = now_real + (uint64_t)act->duration_s * 1000000000ULL;
	e->st.actions[act->type]++;
	if (e->cfg.monitor) {
		action_line(e, a, act, "ok", exp_real);
		return;
	}
	snprintf(path, sizeof(path), "%s", a->cgroup);
	if (!v) {
		v = calloc(1, sizeof(*v));
		if (!v)
			return;
		v->cgroup_id = a->cgroup_id;
		snprintf(v->path, sizeof(v->path), "%s", path);
		v->level = cgroup_level(path);
		HASH_ADD(hh, e->verdicts, cgroup_id, sizeof(v->cgroup_id), v);
	}
	v->action = act->type;
	snprintf(v->rule, sizeof(v->rule), "%s", a->rule);
	v->expires_mono = act->duration_s ? now_mono + (uint64_t)act->duration_s * 1000000000ULL : 0;
	v->expires_real = exp_real;

	switch (act->type) {
	case ACT_THROTTLE:
		ret = map_put(e, v, act, err, sizeof(err));
		break;
	case ACT_KILL:
		/* the kernel verdict first: from here on nothing of this cgroup leaves */
		ret = map_put(e, v, act, err, sizeof(err));
		if (!ret)
			ret = write_cg_file(e, path, "cgroup.kill", "1", err, sizeof(err));
		break;
	case ACT_FREEZE:
		ret = write_cg_file(e, path, "cgroup.freeze", "1", err, sizeof(err));
		if (!ret) {
			v->frozen = 1;
			e->st.frozen++;
			guard_say(e, 'F', path);
			state_write(e);
		}
		break;
	}
	if (ret) {
		e->st.failed++;
		if (!v->in_map && !v->frozen)
			verdict_clear(e, v);
	}
	action_line(e, a, act, ret ? err : "ok", exp_real);
}

void enforcer_alert(struct enforcer *e, const struct tg_alert *a)
{
	const struct action_rule *r = find_action(e, a);

	if (!r || r->act.type == ACT_ALERT)
		return;
	if (a->suppressed && !a->count)
		return; /* a cool-down summary is not a new finding */
	act(e, a, &r->act);
}

int enforcer_operator(struct enforcer *e, uint64_t cgroup_id, const char *cgroup,
		      const struct action_spec *spec)
{
	struct tg_alert a;

	if (spec->type <= ACT_ALERT || spec->type >= ACT_MAX || !cgroup_id || !cgroup)
		return -EINVAL;
	memset(&a, 0, sizeof(a));
	a.ts_ns = now_real_ns();
	a.technique = NULL;
	a.rule = "operator";
	a.severity = SEV_HIGH;
	a.cgroup_id = cgroup_id;
	a.cgroup = cgroup;
	uint64_t before = e->st.actions[spec->type] + e->st.refused + e->st.failed;
	act(e, &a, spec);
	if (enforcer_protected(e, cgroup))
		return -EPERM;
	return e->st.actions[spec->type] + e->st.refused + e->st.failed > before ? 0 : -EEXIST;
}

int enforcer_unblock(struct enforcer *e, const char *cgroup, uint64_t now_real)
{
	struct verdict_ent *v, *t;
	int found = 0;

	HASH_ITER(hh, e->verdicts, v, t) {
		if (strcmp(v->path, cgroup))
			continue;
		verdict_end(e, v, "unblock", now_real);
		found = 1;
	}
	return found ? 0 : -ENOENT;
}

/* ---- refusals reported by the kernel ---- */

static const char *reason_name(int r)
{
	switch (r) {
	case TG_BLOCK_KILL: return "kill";
	case TG_BLOCK_THROTTLE: return "throttle";
	case TG_BLOCK_NET: return "network_rule";
	default: return "?";
	}
}

static const char *hook_label(int h)
{
	switch (h) {
	case TG_HOOK_CONNECT: return "connect";
	case TG_HOOK_SENDMSG: return "sendmsg";
	case TG_HOOK_TLS: return "tls_write";
	case TG_HOOK_EXEC: return "exec";
	default: return "?";
	}
}

void enforcer_blocked(struct enforcer *e, const struct tg_blocked_event *b, uint64_t realtime_ns)
{
	struct blocked_key k;
	struct blocked_ent *be;

	e->st.blocked++;
	memset(&k, 0, sizeof(k));
	k.cgroup_id = b->hdr.cgroup_id;
	k.reason = b->reason;
	k.hook = b->hook;
	k.dport = b->addr.dport;
	k.rule_id = b->rule_id;
	k.family = b->addr.family;
	memcpy(k.daddr, b->addr.daddr, 16);
	HASH_FIND(hh, e->blocked, &k, sizeof(k), be);
	if (!be) {
		if (HASH_COUNT(e->blocked) >= BLOCKED_MAX)
			return; /* counted in st.blocked; reported at the next tick */
		be = calloc(1, sizeof(*be));
		if (!be)
			return;
		be->key = k;
		be->first_real = realtime_ns;
		HASH_ADD(hh, e->blocked, key, sizeof(be->key), be);
	}
	be->count++;
	be->pid = b->hdr.pid;
	name_sanitize(be->comm, sizeof(be->comm), b->hdr.comm, TG_COMM_LEN);
}

static void flush_blocked(struct enforcer *e)
{
	struct blocked_ent *be, *t;

	HASH_ITER(hh, e->blocked, be, t) {
		const char *cg = cgcache_path(e->env.cgroups, be->key.cgroup_id, 0, 0);
		struct jsonw *w = jsonl_begin(e->env.out, be->first_real, "blocked", be->key.cgroup_id,
					      cg, be->pid, 0, be->comm);
		jw_kstr(w, "reason", reason_name(be->key.reason));
		jw_kstr(w, "hook", hook_label(be->key.hook));
		if (be->key.family) {
			jw_key(w, "daddr");
			jw_addr(w, be->key.family, be->key.daddr);
			jw_ku64(w, "dport", be->key.dport);
		}
		if (be->key.reason == TG_BLOCK_NET && be->key.rule_id < (uint32_t)e->cfg.nnet)
			jw_kstr(w, "network_rule", e->cfg.net[be->key.rule_id].text);
		jw_ku64(w, "count", be->count);
		jsonl_end(e->env.out);
		HASH_DEL(e->blocked, be);
		free(be);
	}
}

/* ---- network rules ---- */

static void net_key(struct tg_net_key *k, uint64_t scope, const struct net_rule *r)
{
	memset(k, 0, sizeof(*k));
	k->prefixlen = TG_NET_KEY_FIXED_BITS + (uint32_t)r->prefix;
	for (int i = 0; i < 8; i++)
		k->data[i] = (uint8_t)(scope >> (56 - 8 * i));
	k->data[8] = (uint8_t)r->family;
	k->data[9] = (uint8_t)(r->port >> 8);
	k->data[10] = (uint8_t)(r->port & 0xff);
	memcpy(&k->data[11], r->addr, 16);
}

static int net_install(struct enforcer *e, uint32_t idx, uint64_t scope)
{
	const struct net_rule *r = &e->cfg.net[idx];
	struct tg_net_key k;
	struct tg_net_rule v = {.rule_id = idx, .verdict = (uint8_t)r->verdict};
	int fd = r->port ? e->env.net_port_fd : e->env.net_any_fd;

	net_key(&k, scope, r);
	/* the first rule written for a key wins, as in the policy's order */
	if (bpf_map_update_elem(fd, &k, &v, BPF_NOEXIST) && errno != EEXIST) {
		tg_err("install network rule '%s': %s", r->text, strerror(errno));
		return -errno;
	}
	(*e->env.net_rule_count)++;
	return 0;
}

struct net_scan {
	struct enforcer *e;
	uint32_t mask;
};

static void net_scan_cb(void *ctx, uint64_t id, const char *path)
{
	struct net_scan *ns = ctx;
	struct enforcer *e = ns->e;

	for (uint32_t i = 0; i < (uint32_t)e->cfg.nnet; i++) {
		const struct net_rule *r = &e->cfg.net[i];
		struct net_installed *ni;
		if (!r->cgroup[0] || fnmatch(r->cgroup, path, 0) != 0)
			continue;
		struct net_installed k = {.key = {i, id}};
		HASH_FIND(hh, e->net_done, &k.key, sizeof(k.key), ni);
		if (ni)
			continue;
		if (net_install(e, i, id))
			continue;
		ni = calloc(1, sizeof(*ni));
		if (!ni)
			continue;
		ni->key = k.key;
		HASH_ADD(hh, e->net_done, key, sizeof(ni->key), ni);
		int level = cgroup_level(path);
		if (level > 0 && level < TG_MAX_CGROUP_LEVEL)
			ns->mask |= 1u << level;
	}
}

static void net_scan(struct enforcer *e, uint64_t now)
{
	struct net_scan ns = {e, *e->env.net_level_mask};

	cgcache_rescan(e->env.cgroups, now);
	cgcache_foreach(e->env.cgroups, net_scan_cb, &ns);
	*e->env.net_level_mask = ns.mask;
}

/* ---- lifecycle ---- */

struct enforcer *enforcer_new(const struct enforce_config *cfg, const struct enforce_env *env)
{
	struct enforcer *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->cfg = *cfg;
	e->env = *env;
	e->guard_fd = -1;
	read_self_cgroup(e);
	state_recover(e);
	for (uint32_t i = 0; i < (uint32_t)cfg->nnet; i++) {
		if (cfg->net[i].cgroup[0]) {
			e->has_cgroup_net = 1;
			continue;
		}
		if (net_install(e, i, 0)) {
			free(e);
			return NULL;
		}
	}
	if (e->has_cgroup_net)
		net_scan(e, now_mono_ns());
	for (int i = 0; i < cfg->nactions; i++)
		if (cfg->actions[i].act.type == ACT_FREEZE && !cfg->monitor) {
			guard_start(e);
			break;
		}
	return e;
}

void enforcer_tick(struct enforcer *e, uint64_t now_mono, uint64_t now_real)
{
	struct verdict_ent *v, *t;

	HASH_ITER(hh, e->verdicts, v, t) {
		if (v->expires_mono && now_mono >= v->expires_mono)
			verdict_end(e, v, "expire", now_real);
	}
	flush_blocked(e);
	if (e->has_cgroup_net && now_mono >= e->next_net_scan) {
		net_scan(e, now_mono);
		e->next_net_scan = now_mono + 1000000000ULL;
	}
}

void enforcer_free(struct enforcer *e)
{
	struct verdict_ent *v, *t;
	struct evidence *ev, *et;
	struct net_installed *ni, *nt;

	if (!e)
		return;
	flush_blocked(e);
	HASH_ITER(hh, e->verdicts, v, t)
		verdict_clear(e, v);
	HASH_ITER(hh, e->evidence, ev, et) {
		HASH_DEL(e->evidence, ev);
		free(ev);
	}
	HASH_ITER(hh, e->net_done, ni, nt) {
		HASH_DEL(e->net_done, ni);
		free(ni);
	}
	if (e->guard_fd >= 0) {
		close(e->guard_fd); /* the guard thaws what is left and exits */
		waitpid(e->guard_pid, NULL, 0);
	}
	free(e);
}

const struct enforce_stats *enforcer_stats(const struct enforcer *e)
{
	return &e->st;
}

void enforcer_foreach(const struct enforcer *e, enforcer_verdict_fn fn, void *ctx)
{
	struct verdict_ent *v, *t;

	HASH_ITER(hh, e->verdicts, v, t)
		fn(ctx, v->path, v->frozen ? "freeze" : action_type_name(v->action), v->rule,
		   v->expires_real);
}
