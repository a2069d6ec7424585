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
#include <poll.h>
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

int enforce_config_from_policy(const struct policy *p, int dry_run, struct enforce_config *c)
{
	memset(c, 0, sizeof(*c));
	c->monitor = dry_run || !strcmp(p->mode, "monitor");
	/* the policy reader holds every list to these caps (policy.h) */
	if (p->nactions > ENFORCE_MAX_ACTIONS || p->protected_cgroups.n > ENFORCE_MAX_PROTECTED ||
	    p->nnetwork > ENFORCE_MAX_NET)
		return -EINVAL;
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
		r->family = pn->cidr.family;
		memcpy(r->addr, pn->cidr.addr, sizeof(r->addr));
		r->prefix = pn->cidr.prefix;
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
	int guard_fd; /* tollgate's end of the freeze guard's socket, -1 none */
	pid_t guard_pid;
	int has_cgroup_net; /* some network rule is per cgroup glob */
	uint64_t next_net_scan;
	char last_err[PATH_MAX * 3 + 256]; /* the last failed action's error */
};

/* ---- protection ---- */

static int is_ancestor_or_self(const char *anc, const char *path)
{
	size_t n = strlen(anc);

	if (!strcmp(anc, "/"))
		return 1;
	return !strncmp(anc, path, n) && (path[n] == 0 || path[n] == '/');
}

static int is_glob(const char *p)
{
	return strpbrk(p, "*?[") != NULL;
}

/* Does the glob @pat match @path or one of its ancestors (the entry's descendants are
 * protected too)? */
static int glob_covers(const char *pat, const char *path)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n >= sizeof(buf))
		return fnmatch(pat, path, 0) == 0;
	memcpy(buf, path, n + 1);
	while (n > 1) {
		if (fnmatch(pat, buf, 0) == 0)
			return 1;
		while (n > 1 && buf[n - 1] != '/')
			n--;
		if (n > 1)
			n--; /* drop the '/' */
		buf[n] = 0;
	}
	return 0;
}

/* Depth-first walk of the cgroup directories under @dir (@rel: its path under the cgroup2
 * root) for one that @pat matches; its path goes to @hit. Bounded by TG_MAX_CGROUP_LEVEL
 * levels below @rel. Returns 1 found, 0 not, -errno when a directory cannot be read (the
 * caller refuses: it cannot tell). */
static int glob_under(const char *pat, char *dir, size_t dirlen, char *rel, size_t rellen,
		      int depth, char *hit, size_t hitlen)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int ret = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while (!ret && (de = readdir(d))) {
		size_t dl = strlen(dir), rl = strlen(rel);
		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (dl + strlen(de->d_name) + 2 > dirlen || rl + strlen(de->d_name) + 2 > rellen)
			continue; /* longer than PATH_MAX: cannot be a cgroup we act on either */
		snprintf(dir + dl, dirlen - dl, "/%s", de->d_name);
		snprintf(rel + rl, rellen - rl, "%s%s", rl > 1 ? "/" : "", de->d_name);
		if (fnmatch(pat, rel, 0) == 0) {
			snprintf(hit, hitlen, "%s", rel);
			ret = 1;
		} else if (depth < TG_MAX_CGROUP_LEVEL) {
			ret = glob_under(pat, dir, dirlen, rel, rellen, depth + 1, hit, hitlen);
		}
		dir[dl] = 0;
		rel[rl] = 0;
	}
	closedir(d);
	return ret;
}

/*
 * protected_why - is @path (under the cgroup2 root) protected, and by what? cgroup.kill,
 * cgroup.freeze and verdicts act on the whole subtree, so a target is protected when it
 * is, is under, or is above a protected cgroup: the root, tollgate's own cgroup, a
 * protected_cgroups entry (literal path, or glob matched against the target, its
 * ancestors, and - when above - every cgroup directory under the target).
 * Returns 1 with the reason in @why, or 0.
 */
static int protected_why(const struct enforcer *e, const char *path, char *why, size_t n)
{
	if (!path || !strcmp(path, "/")) {
		snprintf(why, n, "%s", path ? "the cgroup2 root" : "a cgroup without a known path");
		return 1;
	}
	/* tollgate's own cgroup and its ancestors */
	if (is_ancestor_or_self(path, e->self_cgroup)) {
		snprintf(why, n, "tollgate's own cgroup %s", e->self_cgroup);
		return 1;
	}
	for (int i = 0; i < e->cfg.nprotected; i++) {
		const char *p = e->cfg.protected_cgroups[i];
		if (!is_glob(p)) {
			if (is_ancestor_or_self(p, path)) {
				snprintf(why, n, "%s", p);
				return 1;
			}
			if (is_ancestor_or_self(path, p)) {
				snprintf(why, n, "%s, under %s", p, path);
				return 1;
			}
			continue;
		}
		if (glob_covers(p, path)) {
			snprintf(why, n, "%s (matches %s)", path, p);
			return 1;
		}
		if (e->env.cgroup_root) {
			char dir[PATH_MAX], rel[PATH_MAX], hit[PATH_MAX];
			snprintf(dir, sizeof(dir), "%s%s", e->env.cgroup_root, path);
			snprintf(rel, sizeof(rel), "%s", path);
			int r = glob_under(p, dir, sizeof(dir), rel, sizeof(rel), 0, hit, sizeof(hit));
			if (r > 0) {
				snprintf(why, n, "%s (matches %s), under %s", hit, p, path);
				return 1;
			}
			if (r < 0) {
				snprintf(why, n, "cannot list %s to look for %s: %s", dir, p,
					 strerror(-r));
				return 1;
			}
		}
	}
	return 0;
}

int enforcer_protected(const struct enforcer *e, const char *path)
{
	char why[PATH_MAX * 2 + 64];

	return protected_why(e, path, why, sizeof(why));
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

#define GUARD_MAX_PATHS 4096   /* cgroups one guard tracks; a freeze beyond is refused */
#define GUARD_ACK_MS 2000      /* how long a freeze waits for the guard's answer */

/* Close every descriptor of the guard but @keep (tollgate's BPF links and maps, its JSON
 * output, sockets, the cgroup directories it holds): the guard must not keep any of them
 * alive after tollgate is gone. stdin, stdout and stderr go to /dev/null. Returns the
 * guard's socket, now fd 3, or -errno. */
static int guard_close_fds(int keep)
{
	int null;

	if (keep != 3) {
		if (dup2(keep, 3) < 0)
			return -errno;
		keep = 3;
	}
	null = open("/dev/null", O_RDWR | O_CLOEXEC); /* not 3: that is taken */
	for (int fd = 0; fd < 3; fd++)
		if (null >= 0 && null != fd)
			dup2(null, fd);
	if (close_range(4, ~0U, 0)) {
		/* before Linux 5.9: one by one, up to the descriptor limit */
		long max = sysconf(_SC_OPEN_MAX);
		for (long fd = 4; fd < (max > 0 ? max : 65536); fd++)
			close((int)fd);
	}
	return keep;
}

/* A child that thaws every cgroup it was told about when tollgate's end of the socket
 * closes, which happens however tollgate ends (SIGKILL included). It leaves tollgate's
 * session so a terminal's Ctrl-C does not reach it, and ignores the polite signals.
 * Protocol (lines on the socket): "F path" - track it, answered by one byte, 'y' tracked
 * or 'n' not (GUARD_MAX_PATHS reached, out of memory): tollgate then does not freeze;
 * "T path" - thawed by tollgate, forget it (no answer). */
static void guard_main(int fd, const char *root)
{
	char **paths = NULL;
	size_t n = 0, cap = 0;
	char line[PATH_MAX + 4];
	FILE *in;

	setsid();
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_NAME, "tollgate-guard");
	fd = guard_close_fds(fd);
	if (fd < 0 || !(in = fdopen(fd, "r")))
		_exit(1);
	while (fgets(line, sizeof(line), in)) {
		line[strcspn(line, "\n")] = 0;
		if (line[0] == 'F') {
			char ok = 'n';
			if (n == cap && cap < GUARD_MAX_PATHS) {
				size_t ncap = cap ? cap * 2 : 16;
				char **np = realloc(paths, ncap * sizeof(*np));
				if (np) {
					paths = np;
					cap = ncap;
				}
			}
			if (n < cap && (paths[n] = strdup(line + 2))) {
				n++;
				ok = 'y';
			}
			if (send(fd, &ok, 1, MSG_NOSIGNAL) != 1)
				break; /* tollgate is gone */
		} else if (line[0] == 'T') {
			for (size_t i = 0; i < n; i++)
				if (!strcmp(paths[i], line + 2)) {
					free(paths[i]);
					paths[i] = paths[--n];
					break;
				}
		}
	}
	for (size_t i = 0; i < n; i++) {
		char f[PATH_MAX * 2];
		snprintf(f, sizeof(f), "%s%s/cgroup.freeze", root, paths[i]);
		int cfd = open(f, O_WRONLY | O_CLOEXEC);
		if (cfd >= 0) {
			ssize_t w = write(cfd, "0", 1);
			(void)w; /* nothing to report to: tollgate is gone */
			close(cfd);
		}
	}
	_exit(0);
}

/* Start the freeze guard (a forked child, see guard_main()). Returns 0 or -errno. */
static int guard_start(struct enforcer *e)
{
	int sv[2];

	e->guard_fd = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -errno;
	pid_t pid = fork();
	if (pid < 0) {
		int ret = -errno;
		close(sv[0]);
		close(sv[1]);
		return ret;
	}
	if (pid == 0)
		guard_main(sv[1], e->env.cgroup_root);
	close(sv[1]);
	e->guard_fd = sv[0];
	e->guard_pid = pid;
	return 0;
}

/* Tell the guard @op ('F' track, 'T' forget) about @path. For 'F', wait for its answer.
 * Returns 0, -ENOSPC when the guard cannot track one more cgroup, -ETIMEDOUT, or -errno of
 * the socket (the guard is gone: the caller stops using it). */
static int guard_tell(struct enforcer *e, char op, const char *path)
{
	char line[PATH_MAX + 4], ans;
	int n = snprintf(line, sizeof(line), "%c %s\n", op, path);
	struct pollfd pfd = {.fd = e->guard_fd, .events = POLLIN};

	if (e->guard_fd < 0)
		return -ENOTCONN;
	if (send(e->guard_fd, line, (size_t)n, MSG_NOSIGNAL) != n)
		return errno ? -errno : -EIO;
	if (op != 'F')
		return 0;
	int r = poll(&pfd, 1, GUARD_ACK_MS);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	r = (int)recv(e->guard_fd, &ans, 1, 0);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -EPIPE;
	return ans == 'y' ? 0 : -ENOSPC;
}

static void guard_stop(struct enforcer *e)
{
	if (e->guard_fd < 0)
		return;
	close(e->guard_fd); /* the guard thaws what it still tracks and exits */
	waitpid(e->guard_pid, NULL, 0);
	e->guard_fd = -1;
}

/* Have the guard track @path before it is frozen, starting the guard on the first freeze
 * (and again, told about every cgroup still frozen, if it died). Returns 0, or -errno with
 * the reason in @err: the caller does not freeze (fail open). */
static int guard_track(struct enforcer *e, const char *path, char *err, size_t errlen)
{
	int ret;

	for (int attempt = 0; attempt < 2; attempt++) {
		if (e->guard_fd < 0) {
			struct verdict_ent *v, *t;
			ret = guard_start(e);
			if (ret) {
				snprintf(err, errlen,
					 "refused: cannot start the freeze guard (it thaws frozen "
					 "cgroups if tollgate dies): %s", strerror(-ret));
				return ret;
			}
			HASH_ITER(hh, e->verdicts, v, t)
				if (v->frozen && (ret = guard_tell(e, 'F', v->path)))
					tg_warn("freeze guard: cannot track %s: %s", v->path,
						strerror(-ret));
		}
		ret = guard_tell(e, 'F', path);
		if (ret == -ENOSPC) {
			snprintf(err, errlen,
				 "refused: the freeze guard cannot track %s (it tracks at most %d "
				 "frozen cgroups, or is out of memory): not frozen", path,
				 GUARD_MAX_PATHS);
			return ret;
		}
		if (!ret)
			return 0;
		tg_warn("freeze guard (pid %d): %s; starting a new one", (int)e->guard_pid,
			strerror(-ret));
		/* SIGKILL first: a guard that sees its socket close thaws what it tracks, and
		 * those cgroups stay frozen (the new guard is told about them) */
		kill(e->guard_pid, SIGKILL);
		guard_stop(e);
	}
	snprintf(err, errlen, "refused: the freeze guard does not answer (%s): not frozen",
		 strerror(-ret));
	return ret;
}

static void guard_say(struct enforcer *e, char op, const char *path)
{
	int ret = e->guard_fd >= 0 ? guard_tell(e, op, path) : 0;

	if (ret)
		tg_warn("freeze guard: %s", strerror(-ret));
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

/* Put @a's verdict for @v's cgroup, expiring at @expires_mono (CLOCK_MONOTONIC ns, 0
 * never), in the verdict map. Returns 0 or -errno with the reason in @err. */
static int map_put(struct enforcer *e, struct verdict_ent *v, uint64_t expires_mono,
		   const struct action_spec *a, char *err, size_t errlen)
{
	struct tg_verdict kv;

	memset(&kv, 0, sizeof(kv));
	kv.expires_ns = expires_mono;
	kv.action = a->type == ACT_KILL ? TG_VERDICT_KILL : TG_VERDICT_THROTTLE;
	if (a->type == ACT_THROTTLE) {
		kv.interval_ns = (uint64_t)(1e9 / a->rate);
		kv.tolerance_ns = kv.interval_ns * (a->burst > 0 ? a->burst - 1 : 0);
	}
	if (bpf_map_update_elem(e->env.verdicts_fd, &v->cgroup_id, &kv, BPF_ANY)) {
		int ret = -errno;
		snprintf(err, errlen, "update verdict map: %s", strerror(-ret));
		return ret;
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

/* Carry out @act on the alert's cgroup (or log it in monitor mode, or refuse it).
 * The verdict's new state (action, rule, expiry) is committed only when what carries it
 * took effect: the verdict map entry (throttle, kill) or cgroup.freeze (freeze); a failed
 * upgrade leaves the weaker verdict in force and says so. Kill writes cgroup.kill even when
 * the verdict map refuses the entry (the entry only makes respawns die at exec). */
static void act(struct enforcer *e, const struct tg_alert *a, const struct action_spec *act)
{
	char err[PATH_MAX * 3 + 256] = "", why[PATH_MAX * 2 + 64], path[PATH_MAX];
	struct verdict_ent *v;
	uint64_t now_mono = now_mono_ns(), now_real = now_real_ns(), exp_real = 0, exp_mono;
	int ret = 0, commit = 0, created = 0;

	HASH_FIND(hh, e->verdicts, &a->cgroup_id, sizeof(a->cgroup_id), v);
	if (v && strength(v->action) >= strength(act->type))
		return; /* already in force */
	if (protected_why(e, a->cgroup, why, sizeof(why))) {
		e->st.refused++;
		snprintf(err, sizeof(err), "refused: protected cgroup %s", why);
		action_line(e, a, act, err, 0);
		snprintf(e->last_err, sizeof(e->last_err), "%s", err);
		return;
	}
	if (act->duration_s)
		exp_real = now_real + (uint64_t)act->duration_s * 1000000000ULL;
	exp_mono = act->duration_s ? now_mono + (uint64_t)act->duration_s * 1000000000ULL : 0;
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
		v->action = ACT_ALERT; /* nothing in force yet */
		snprintf(v->path, sizeof(v->path), "%s", path);
		v->level = cgroup_level(path);
		HASH_ADD(hh, e->verdicts, cgroup_id, sizeof(v->cgroup_id), v);
		created = 1;
	}

	switch (act->type) {
	case ACT_THROTTLE:
		ret = map_put(e, v, exp_mono, act, err, sizeof(err));
		commit = !ret;
		break;
	case ACT_KILL: {
		/* the kernel verdict first: from here on nothing of this cgroup leaves */
		char merr[PATH_MAX + 64] = "";
		int mret = map_put(e, v, exp_mono, act, merr, sizeof(merr));
		if (mret)
			tg_warn("kill %s: %s; killing without the verdict (respawns are not "
				"stopped at exec)", path, merr);
		commit = !mret;
		ret = write_cg_file(e, path, "cgroup.kill", "1", err, sizeof(err));
		break;
	}
	case ACT_FREEZE:
		/* fail open: no freeze the guard cannot undo should tollgate die */
		ret = guard_track(e, path, err, sizeof(err));
		if (!ret) {
			ret = write_cg_file(e, path, "cgroup.freeze", "1", err, sizeof(err));
			if (ret)
				guard_say(e, 'T', path);
		}
		if (!ret) {
			v->frozen = 1;
			e->st.frozen++;
			commit = 1;
		}
		break;
	}
	if (commit) {
		v->action = act->type;
		snprintf(v->rule, sizeof(v->rule), "%s", a->rule);
		v->expires_mono = exp_mono;
		v->expires_real = exp_real;
		if (act->type == ACT_FREEZE)
			state_write(e);
	}
	if (ret)
		e->st.failed++;
	if (created && !commit) {
		HASH_DEL(e->verdicts, v);
		free(v);
	}
	action_line(e, a, act, ret ? err : "ok", commit ? exp_real : 0);
	if (ret)
		snprintf(e->last_err, sizeof(e->last_err), "%s", err);
}

void enforcer_alert(struct enforcer *e, const struct tg_alert *a)
{
	const struct action_rule *r;

	/* A cool-down summary (suppressed > 0, it carries the latest match's count) reports
	 * matches already acted on, and detect_flush() sends every pending one at exit: it
	 * goes to the alert sinks only, never to an action. */
	if (a->suppressed)
		return;
	r = find_action(e, a);
	if (!r || r->act.type == ACT_ALERT)
		return;
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
	uint64_t refused = e->st.refused, failed = e->st.failed, done = e->st.actions[spec->type];
	act(e, &a, spec);
	if (e->st.refused > refused)
		return -EPERM;
	if (e->st.failed > failed)
		return -EIO;
	return e->st.actions[spec->type] > done ? 0 : -EEXIST;
}

const char *enforcer_last_error(const struct enforcer *e)
{
	return e->last_err;
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
	/* the freeze guard starts with the first freeze, whatever asks for it (guard_track) */
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

void enforcer_forget(struct enforcer *e, const uint64_t *ids, size_t n, uint64_t now_real)
{
	struct verdict_ent *v, *vt;
	struct evidence *ev, *et;
	struct net_installed *ni, *nt;

	if (!n)
		return;
	HASH_ITER(hh, e->evidence, ev, et)
		if (u64_in(ids, n, ev->cgroup_id)) {
			HASH_DEL(e->evidence, ev);
			free(ev);
		}
	HASH_ITER(hh, e->verdicts, v, vt) {
		if (!u64_in(ids, n, v->cgroup_id))
			continue;
		if (v->frozen) { /* nothing left to thaw */
			v->frozen = 0;
			e->st.frozen--;
			guard_say(e, 'T', v->path);
		}
		verdict_end(e, v, "cgroup_removed", now_real);
	}
	HASH_ITER(hh, e->net_done, ni, nt) {
		if (!u64_in(ids, n, ni->key.cgroup_id))
			continue;
		const struct net_rule *r = &e->cfg.net[ni->key.rule];
		struct tg_net_key k;
		net_key(&k, ni->key.cgroup_id, r);
		if (!bpf_map_delete_elem(r->port ? e->env.net_port_fd : e->env.net_any_fd, &k))
			(*e->env.net_rule_count)--;
		HASH_DEL(e->net_done, ni);
		free(ni);
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
	guard_stop(e);
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
