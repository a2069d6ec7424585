// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_sink_jsonl.c - user/output/sink_jsonl.c, how the audit log is opened and written:
 * a symbolic link, a directory, another owner's file and a hard-linked file are refused
 * (and accepted with JSONL_ANY), an existing log is appended to and never truncated, a new
 * one is made 0600, a reopen follows a rotated file, and a write cut short by the file
 * size limit (RLIMIT_FSIZE: the same short write a full disk gives) leaves no half line:
 * once writing works again a "lost" line accounts for exactly the lines that are missing.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

#include "sink_jsonl.h"

struct fx {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/tg-sink-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/events.jsonl", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

/* The whole file; the caller frees it. */
static char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "r");
	char *buf;
	long n;

	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

/* One observation line with event time @ts_s seconds. */
static void add_line(struct jsonl_sink *s, uint64_t ts_s)
{
	struct jsonw *w = jsonl_begin(s, ts_s * 1000000000ULL, "http_request", 42, "/agents/a",
				      7, 7, "curl");
	jw_kstr(w, "path", "/api/customers/123456789012345678901234567890");
	jsonl_end(s);
}

static void symlink_refused(void **state)
{
	struct fx *f = *state;
	struct jsonl_sink s;
	char target[160], *text;
	size_t len;

	snprintf(target, sizeof(target), "%s/precious", f->dir);
	write_file(target, "keep me\n");
	assert_int_equal(symlink(target, f->path), 0);
	assert_int_equal(jsonl_open(&s, f->path, 0), -ELOOP);
	text = slurp(target, &len);
	assert_string_equal(text, "keep me\n");
	free(text);
	/* asked for: followed, and appended to rather than truncated */
	assert_int_equal(jsonl_open(&s, f->path, JSONL_ANY), 0);
	add_line(&s, 1);
	jsonl_close(&s);
	text = slurp(target, &len);
	assert_true(strncmp(text, "keep me\n{", 9) == 0);
	free(text);
}

static void directory_refused(void **state)
{
	struct fx *f = *state;
	struct jsonl_sink s;

	assert_int_equal(jsonl_open(&s, f->dir, JSONL_ANY), -EISDIR);
}

static void hard_link_refused(void **state)
{
	struct fx *f = *state;
	struct jsonl_sink s;
	char other[160];

	snprintf(other, sizeof(other), "%s/other", f->dir);
	write_file(other, "x\n");
	assert_int_equal(link(other, f->path), 0);
	assert_int_equal(jsonl_open(&s, f->path, 0), -EPERM);
	assert_int_equal(jsonl_open(&s, f->path, JSONL_ANY), 0);
	jsonl_close(&s);
}

static void other_owner_refused(void **state)
{
	struct fx *f = *state;
	struct jsonl_sink s;

	if (geteuid() != 0)
		skip(); /* chown needs root; CI runs the unit tests as root */
	write_file(f->path, "");
	assert_int_equal(chown(f->path, 65534, 65534), 0);
	assert_int_equal(jsonl_open(&s, f->path, 0), -EPERM);
	assert_int_equal(jsonl_open(&s, f->path, JSONL_ANY), 0);
	jsonl_close(&s);
}

static void new_file_0600_existing_appended(void **state)
{
	struct fx *f = *state;
	struct jsonl_sink s;
	struct stat st;
	char *text;
	size_t len;

	assert_int_equal(jsonl_open(&s, f->path, 0), 0);
	add_line(&s, 1);
	jsonl_close(&s);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(jsonl_open(&s, f->path, 0), 0); /* a restart */
	add_line(&s, 2);
	jsonl_close(&s);
	text = slurp(f->path, &len);
	assert_non_null(strstr(text, "1970-01-01T00:00:01"));
	assert_non_null(strstr(text, "1970-01-01T00:00:02"));
	free(text);
}

static void reopen_follows_rotation(void **state)
{
	struct fx *f = *state;
	struct jsonl_sink s;
	char rotated[160], *text;
	size_t len;

	snprintf(rotated, sizeof(rotated), "%s/events.jsonl.1", f->dir);
	assert_int_equal(jsonl_open(&s, f->path, 0), 0);
	add_line(&s, 1);
	jsonl_flush(&s, 0);
	assert_int_equal(rename(f->path, rotated), 0);
	add_line(&s, 2); /* pending at the reopen: written to the old file */
	assert_int_equal(jsonl_reopen(&s, 0), 0);
	add_line(&s, 3);
	jsonl_close(&s);
	text = slurp(rotated, &len);
	assert_non_null(strstr(text, "T00:00:02"));
	assert_null(strstr(text, "T00:00:03"));
	free(text);
	text = slurp(f->path, &len);
	assert_non_null(strstr(text, "T00:00:03"));
	free(text);
}

/* Every line of @text parses as a JSON object; returns the number of lines, adds the
 * "lines" of "lost" lines to *lost. */
static int check_lines(const char *text, size_t len, uint64_t *lost, int *ngaps)
{
	int n = 0;
	const char *p = text, *end = text + len;

	assert_true(len == 0 || text[len - 1] == '\n');
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		json_error_t e;
		json_t *j;

		assert_non_null(nl);
		j = json_loadb(p, (size_t)(nl - p), 0, &e);
		if (!j)
			fail_msg("line %d is not JSON (%s): %.*s", n + 1, e.text, (int)(nl - p), p);
		if (strcmp(json_string_value(json_object_get(j, "event")), "lost") == 0) {
			*lost += (uint64_t)json_integer_value(json_object_get(j, "lines"));
			(*ngaps)++;
			assert_string_equal(json_string_value(json_object_get(j, "first_ts")),
					    "1970-01-01T00:00:21.000000Z");
		}
		json_decref(j);
		n++;
		p = nl + 1;
	}
	return n;
}

static void short_write_leaves_no_half_line(void **state)
{
	struct fx *f = *state;
	struct jsonl_sink s;
	struct rlimit old, lim;
	uint64_t lost = 0;
	size_t len;
	char *text;
	int lines, gaps = 0;

	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(jsonl_open(&s, f->path, 0), 0);
	for (int i = 0; i < 20; i++)
		add_line(&s, 1 + (uint64_t)i);
	assert_int_equal(jsonl_flush(&s, 1), 0);
	text = slurp(f->path, &len);
	free(text);
	/* room for a few more lines and a half: the write is cut in the middle of one */
	lim = old;
	lim.rlim_cur = len + 3 * 170 + 50;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	for (int i = 0; i < 50; i++)
		add_line(&s, 21 + (uint64_t)i);
	assert_int_equal(jsonl_flush(&s, 2), -EFBIG);
	for (int i = 0; i < 10; i++)
		add_line(&s, 71 + (uint64_t)i);
	assert_int_equal(jsonl_flush(&s, 3), -EFBIG); /* still full: lost too */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	for (int i = 0; i < 5; i++)
		add_line(&s, 81 + (uint64_t)i);
	assert_int_equal(jsonl_flush(&s, 4), 0);
	jsonl_close(&s);
	text = slurp(f->path, &len);
	lines = check_lines(text, len, &lost, &gaps);
	free(text);
	assert_int_equal(gaps, 1);
	assert_true(lost > 0);
	assert_int_equal(lost, s.lost_lines);
	/* every line is either in the file or counted in the lost line */
	assert_int_equal((uint64_t)lines - 1 + lost, 85);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(symlink_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(directory_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(hard_link_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(other_owner_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(new_file_0600_existing_appended, setup, teardown),
		cmocka_unit_test_setup_teardown(reopen_follows_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(short_write_leaves_no_half_line, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
