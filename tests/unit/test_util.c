// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_util.c - user/util/util.c: name_sanitize, which makes names from outside (comm, cgroup
 * directory names) printable UTF-8: ASCII and valid UTF-8 kept, C0/DEL/C1 controls and
 * each byte of an invalid sequence (stray continuation, truncated, overlong, surrogate,
 * past U+10FFFF) replaced by '?', output bounded without cutting a character, NUL and
 * length limits honoured, in place.
 */
#include <stdio.h>

#include "unit.h"

#include "util.h"

static const char *san(const char *in, size_t n, size_t outlen)
{
	static char out[256];

	assert_true(outlen <= sizeof(out));
	memset(out, 'Z', sizeof(out));
	size_t len = name_sanitize(out, outlen, in, n);
	assert_int_equal(strlen(out), len);
	assert_true(len < outlen);
	return out;
}

#define S(in, want) assert_string_equal(san(in, sizeof(in) - 1, 256), want)

static void test_kept(void **state)
{
	(void)state;
	S("curl", "curl");
	S("python3 -m x", "python3 -m x");
	S("/system.slice/a b.service", "/system.slice/a b.service");
	S("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	S("\xc2\xa0nbsp", "\xc2\xa0nbsp"); /* U+00A0 is not a control */
}

static void test_replaced(void **state)
{
	(void)state;
	S("\x1b[31m\xff", "?[31m?");
	S("a\tb\nc\rd\x7f", "a?b?c?d?");
	S("\xc2\x9b" "2J", "?2J");              /* C1 CSI: one character */
	S("\x80\xbf", "??");                    /* stray continuations */
	S("\xe2\x82", "??");                    /* truncated */
	S("\xc0\xaf", "??");                    /* overlong '/' */
	S("\xed\xa0\x80", "???");               /* surrogate U+D800 */
	S("\xf4\x90\x80\x80", "????");          /* U+110000 */
	S("\xe2\x82x", "??x");
}

static void test_bounds(void **state)
{
	(void)state;
	/* stops at NUL and at n */
	assert_string_equal(san("ab\0cd", 5, 256), "ab");
	assert_string_equal(san("abcdef", 3, 256), "abc");
	/* a character that does not fit whole is left out, never cut */
	assert_string_equal(san("ab\xe2\x82\xac", 5, 5), "ab");
	assert_string_equal(san("ab\xe2\x82\xac", 5, 6), "ab\xe2\x82\xac");
	assert_string_equal(san("abcdef", 6, 4), "abc");
	assert_string_equal(san("abc", 3, 1), "");
	/* a 16-byte comm without a NUL */
	assert_string_equal(san("0123456789abcdefXXXX", 16, 17), "0123456789abcdef");
}

static void test_in_place(void **state)
{
	(void)state;
	char buf[17] = "\x1b]0;x\x07\xff\xc3\xa9z";

	assert_int_equal(name_sanitize(buf, sizeof(buf), buf, 16), 10);
	assert_string_equal(buf, "?]0;x??\xc3\xa9z");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kept),
		cmocka_unit_test(test_replaced),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_in_place),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
