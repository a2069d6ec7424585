/*
 * test_enforce.c - user/enforce/enforce.c without root: protection (literal and glob entries,
 * descendants and ancestors), action choice and strength, cool-down summaries never
 * acting, commits only on success, kill without a verdict map, CIDR parsing.
 *
 * The "cgroup2 root" is a temporary directory whose cgroup.freeze / cgroup.kill files are
 * plain files (present: the write succeeds; absent: it fails); the verdict map fd is -1,
 * so every map update fails with EBADF.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <unistd.h>

#include "unit.h"

#include "enforce.h"
#include "sink_jsonl.h"

struct fx {
	char root[64];
	char out[96];
	struct jsonl_sink sink;
	volatile uint32_t vcount, vmask, ncount, nmask;
	struct enforce_config cfg;
	struct enforce_env env;
	struct enforcer *e;
	char last_action[16];
	char last_result[512];
	int nactions;
};

static void on_action(void *ctx, const char *action, const char *result)
{
	struct fx *f = ctx;

	snprintf(f->last_action, sizeof(f->last_action), "%s", action);
	snprintf(f->last_result, sizeof(f->last_result), "%s", result);
	f->nactions++;
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->root, sizeof(f->root), "/tmp/tg-enforce-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->out, sizeof(f->out), "%s.jsonl", f->root);
	assert_int_equal(jsonl_open(&f->sink, f->out, 0), 0);
	f->env.cgroup_root = f->root;
	f->env.out = &f->sink;
	f->env.verdicts_fd = f->env.holds_fd = f->env.net_port_fd = f->env.net_any_fd = -1;
	f->env.verdict_count = &f->vcount;
	f->env.verdict_level_mask = &f->vmask;
	f->env.net_rule_count = &f->ncount;
	f->env.net_level_mask = &f->nmask;
	f->env.on_action = on_action;
	f->env.action_ctx = f;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	enforcer_free(f->e);
	jsonl_close(&f->sink);
	nftw(f->root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	unlink(f->out);
	free(f);
	return 0;
}

/* mkdir -p ROOT/@rel, and create the files in @files ("" none) inside it. */
static void mkcg(struct fx *f, const char *rel, const char *files)
{
	char p[512];
	size_t n = (size_t)snprintf(p, sizeof(p), "%s%s", f->root, rel);

	for (size_t i = strlen(f->root) + 1; i <= n; i++)
		if (p[i] == '/' || p[i] == 0) {
			char c = p[i];
			p[i] = 0;
			if (mkdir(p, 0755) && errno != EEXIST)
				fail_msg("mkdir %s: %s", p, strerror(errno));
			p[i] = c;
		}
	for (const char *s = files; *s;) {
		size_t l = strcspn(s, " ");
		char fp[600];
		snprintf(fp, sizeof(fp), "%s/%.*s", p, (int)l, s);
		int fd = open(fp, O_CREAT | O_WRONLY | O_TRUNC, 0644);
		assert_true(fd >= 0);
		close(fd);
		s += l;
		s += *s == ' ';
	}
}

static void readcg(struct fx *f, const char *rel, const char *file, char *buf, size_t n)
{
	char p[600];
	FILE *fp;

	snprintf(p, sizeof(p), "%s%s/%s", f->root, rel, file);
	buf[0] = 0;
	fp = fopen(p, "r");
	assert_non_null(fp);
	size_t r = fread(buf, 1, n - 1, fp);
	buf[r] = 0;
	fclose(fp);
}

static void add_action(struct fx *f, const char *rule, int min_sev, int type)
{
	struct action_rule *r = &f->cfg.actions[f->cfg.nactions++];

	snprintf(r->rule, sizeof(r->rule), "%s", rule);
	r->min_severity = min_sev;
	r->act.type = type;
	r->act.rate = 5;
	r->act.burst = 5;
}

static void start(struct fx *f, int monitor)
{
	f->cfg.monitor = monitor;
	f->e = enforcer_new(&f->cfg, &f->env);
	assert_non_null(f->e);
}

static struct tg_alert alert(const char *rule, int sev, uint64_t id, const char *cg)
{
	struct tg_alert a;

	memset(&a, 0, sizeof(a));
	a.technique = "SAFE-T2102";
	a.rule = rule;
	a.severity = sev;
	a.cgroup_id = id;
	a.cgroup = cg;
	a.count = 50;
	return a;
}

/* Everything written to the JSON sink so far. */
static char *output(struct fx *f)
{
	static char buf[65536];
	FILE *fp;

	jsonl_flush(&f->sink, 0);
	fp = fopen(f->out, "r");
	assert_non_null(fp);
	size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = 0;
	fclose(fp);
	return buf;
}

/* ---- summaries ---- */

static void test_summary_never_acts(void **state)
{
	struct fx *f = *state;

	add_action(f, "*", 0, ACT_KILL);
	start(f, 1);
	struct tg_alert a = alert("volume", SEV_HIGH, 7, "/agents/a");
	a.suppressed = 12; /* a cool-down summary carries the latest match's count */
	enforcer_alert(f->e, &a);
	assert_int_equal(enforcer_stats(f->e)->actions[ACT_KILL], 0);
	assert_int_equal(f->nactions, 0);
	a.suppressed = 0;
	enforcer_alert(f->e, &a);
	assert_int_equal(enforcer_stats(f->e)->actions[ACT_KILL], 1);
	assert_string_equal(f->last_action, "kill");
	assert_string_equal(f->last_result, "ok");
}

static void test_summary_never_acts_enforcing(void **state)
{
	struct fx *f = *state;
	char buf[16];

	mkcg(f, "/agents/a", "cgroup.kill");
	add_action(f, "*", 0, ACT_KILL);
	start(f, 0);
	struct tg_alert a = alert("volume", SEV_HIGH, 7, "/agents/a");
	a.suppressed = 3;
	enforcer_alert(f->e, &a);
	readcg(f, "/agents/a", "cgroup.kill", buf, sizeof(buf));
	assert_string_equal(buf, "");
	assert_int_equal(f->nactions, 0);
}

/* ---- action choice ---- */

static void test_first_matching_action_by_rule_and_severity(void **state)
{
	struct fx *f = *state;

	add_action(f, "volume", SEV_HIGH, ACT_FREEZE);
	add_action(f, "pagination", 0, ACT_ALERT);
	add_action(f, "*", SEV_MEDIUM, ACT_THROTTLE);
	start(f, 1);
	struct tg_alert a = alert("volume", SEV_MEDIUM, 1, "/a");
	enforcer_alert(f->e, &a);
	assert_string_equal(f->last_action, "throttle");
	a = alert("volume", SEV_CRITICAL, 2, "/b");
	enforcer_alert(f->e, &a);
	assert_string_equal(f->last_action, "freeze");
	a = alert("pagination", SEV_CRITICAL, 3, "/c"); /* alert only: no action line */
	enforcer_alert(f->e, &a);
	a = alert("rapid", SEV_LOW, 4, "/d"); /* below every entry's severity */
	enforcer_alert(f->e, &a);
	assert_int_equal(f->nactions, 2);
	assert_non_null(strstr(output(f), "\"dry_run\":true"));
}

static void test_names(void **state)
{
	(void)state;
	for (int t = 0; t < ACT_MAX; t++)
		assert_int_equal(action_type_from_name(action_type_name(t)), t);
	assert_int_equal(action_type_from_name("suspend"), -1);
	assert_string_equal(action_type_name(ACT_MAX), "?");
}

/* ---- protection ---- */

static void test_protection_literal(void **state)
{
	struct fx *f = *state;

	snprintf(f->cfg.protected_cgroups[f->cfg.nprotected++], 256, "/agents/trusted");
	start(f, 1);
	assert_true(enforcer_protected(f->e, "/"));
	assert_true(enforcer_protected(f->e, NULL));
	assert_true(enforcer_protected(f->e, "/agents/trusted"));
	assert_true(enforcer_protected(f->e, "/agents/trusted/sub"));
	/* cgroup.kill on /agents would kill /agents/trusted too */
	assert_true(enforcer_protected(f->e, "/agents"));
	assert_false(enforcer_protected(f->e, "/agents/trustedx"));
	assert_false(enforcer_protected(f->e, "/agents/other"));
	assert_false(enforcer_protected(f->e, "/agent"));
}

static void test_protection_glob(void **state)
{
	struct fx *f = *state;

	snprintf(f->cfg.protected_cgroups[f->cfg.nprotected++], 256, "/pool/agent-?/safe");
	mkcg(f, "/pool/agent-1/safe/inner", "");
	mkcg(f, "/pool/agent-2/work", "");
	mkcg(f, "/other/x", "");
	start(f, 1);
	assert_true(enforcer_protected(f->e, "/pool/agent-1/safe"));
	assert_true(enforcer_protected(f->e, "/pool/agent-1/safe/inner")); /* descendant */
	assert_true(enforcer_protected(f->e, "/pool/agent-1"));  /* a match is under it */
	assert_true(enforcer_protected(f->e, "/pool"));
	assert_false(enforcer_protected(f->e, "/pool/agent-2"));
	assert_false(enforcer_protected(f->e, "/pool/agent-2/work"));
	assert_false(enforcer_protected(f->e, "/other"));
	assert_false(enforcer_protected(f->e, "/gone")); /* no such cgroup: nothing under it */
}

static void test_refusal_names_the_protected_cgroup(void **state)
{
	struct fx *f = *state;
	char buf[16];

	snprintf(f->cfg.protected_cgroups[f->cfg.nprotected++], 256, "/agents/trusted");
	mkcg(f, "/agents/trusted", "cgroup.kill");
	mkcg(f, "/agents", "cgroup.kill");
	add_action(f, "*", 0, ACT_KILL);
	start(f, 0);
	struct tg_alert a = alert("volume", SEV_HIGH, 9, "/agents");
	enforcer_alert(f->e, &a);
	assert_string_equal(f->last_result,
			    "refused: protected cgroup /agents/trusted, under /agents");
	assert_int_equal(enforcer_stats(f->e)->refused, 1);
	readcg(f, "/agents", "cgroup.kill", buf, sizeof(buf));
	assert_string_equal(buf, "");
	assert_int_equal(enforcer_operator(f->e, 9, "/agents", &f->cfg.actions[0].act), -EPERM);
	assert_non_null(strstr(enforcer_last_error(f->e), "/agents/trusted"));
	assert_non_null(strstr(output(f), "refused: protected cgroup /agents/trusted"));
}

/* ---- acting ---- */

/* The verdict map refuses the entry (fd -1): cgroup.kill is written all the same. */
static void test_kill_without_verdict_map(void **state)
{
	struct fx *f = *state;
	char buf[16];

	mkcg(f, "/agents/a", "cgroup.kill");
	add_action(f, "*", 0, ACT_KILL);
	start(f, 0);
	struct tg_alert a = alert("volume", SEV_HIGH, 5, "/agents/a");
	enforcer_alert(f->e, &a);
	readcg(f, "/agents/a", "cgroup.kill", buf, sizeof(buf));
	assert_string_equal(buf, "1");
	assert_string_equal(f->last_result, "ok");
	assert_int_equal(enforcer_stats(f->e)->failed, 0);
	assert_int_equal(enforcer_stats(f->e)->verdicts, 0);
}

static void count_verdicts(void *ctx, const char *cg, const char *action, const char *rule,
			   uint64_t exp)
{
	(void)cg;
	(void)action;
	(void)rule;
	(void)exp;
	(*(int *)ctx)++;
}

static void test_failed_freeze_leaves_nothing(void **state)
{
	struct fx *f = *state;
	int n = 0;

	mkcg(f, "/agents/a", ""); /* no cgroup.freeze: the write fails */
	add_action(f, "*", 0, ACT_FREEZE);
	start(f, 0);
	struct tg_alert a = alert("volume", SEV_HIGH, 5, "/agents/a");
	enforcer_alert(f->e, &a);
	assert_non_null(strstr(f->last_result, "cgroup.freeze"));
	assert_int_equal(enforcer_stats(f->e)->failed, 1);
	assert_int_equal(enforcer_stats(f->e)->frozen, 0);
	enforcer_foreach(f->e, count_verdicts, &n);
	assert_int_equal(n, 0);
	/* a later alert tries again */
	enforcer_alert(f->e, &a);
	assert_int_equal(enforcer_stats(f->e)->failed, 2);
}

/* A freeze in force, then a kill that fails (no verdict map, no cgroup.kill): the freeze
 * stays what is in force, and the next alert tries the kill again. */
static void test_failed_upgrade_keeps_weaker_verdict(void **state)
{
	struct fx *f = *state;
	char buf[16];

	mkcg(f, "/agents/a", "cgroup.freeze");
	add_action(f, "volume", 0, ACT_FREEZE);
	add_action(f, "*", 0, ACT_KILL);
	start(f, 0);
	struct tg_alert a = alert("volume", SEV_HIGH, 5, "/agents/a");
	enforcer_alert(f->e, &a);
	assert_string_equal(f->last_result, "ok");
	readcg(f, "/agents/a", "cgroup.freeze", buf, sizeof(buf));
	assert_string_equal(buf, "1");
	assert_int_equal(enforcer_stats(f->e)->frozen, 1);
	/* equal strength: nothing happens */
	enforcer_alert(f->e, &a);
	assert_int_equal(f->nactions, 1);
	a.rule = "rapid";
	enforcer_alert(f->e, &a);
	assert_string_equal(f->last_action, "kill");
	assert_non_null(strstr(f->last_result, "cgroup.kill"));
	enforcer_alert(f->e, &a);
	assert_int_equal(enforcer_stats(f->e)->failed, 2); /* tried again: kill is not in force */
	assert_int_equal(enforcer_unblock(f->e, "/agents/a", 0), 0);
	readcg(f, "/agents/a", "cgroup.freeze", buf, sizeof(buf));
	assert_string_equal(buf, "0");
	assert_int_equal(enforcer_stats(f->e)->frozen, 0);
}

static void test_operator_failure_reports_the_error(void **state)
{
	struct fx *f = *state;
	struct action_spec s = {.type = ACT_FREEZE};

	mkcg(f, "/agents/b", "");
	start(f, 0); /* no freeze in the policy: the guard starts with this freeze */
	assert_int_equal(enforcer_operator(f->e, 6, "/agents/b", &s), -EIO);
	assert_non_null(strstr(enforcer_last_error(f->e), "cgroup.freeze"));
	mkcg(f, "/agents/b", "cgroup.freeze");
	assert_int_equal(enforcer_operator(f->e, 6, "/agents/b", &s), 0);
	assert_int_equal(enforcer_operator(f->e, 6, "/agents/b", &s), -EEXIST);
	s.type = ACT_ALERT;
	assert_int_equal(enforcer_operator(f->e, 6, "/agents/b", &s), -EINVAL);
}

/* ---- CIDR ---- */

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_summary_never_acts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_summary_never_acts_enforcing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_first_matching_action_by_rule_and_severity,
						setup, teardown),
		cmocka_unit_test(test_names),
		cmocka_unit_test_setup_teardown(test_protection_literal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_protection_glob, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusal_names_the_protected_cgroup, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_kill_without_verdict_map, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_freeze_leaves_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_upgrade_keeps_weaker_verdict, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_operator_failure_reports_the_error, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
