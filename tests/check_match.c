/* match_output(), match_regex() and match_diff(): each kind of output
 * check passing and failing, the one-line message a student reads and the
 * expected-vs-actual details under it. */
#define _GNU_SOURCE
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "match.h"
#include "util.h"

#define LINES(...) .lines = (char *[]){ __VA_ARGS__ }, .nlines = sizeof((char *[]){ __VA_ARGS__ }) / sizeof(char *), .has_lines = 1

static const struct match_case {
	const char *name;
	struct matcher m;
	const char *out;
	size_t len; /* 0: strlen(out) */
	int ok;
	const char *message;    /* the exact message when !ok */
	const char *details[4]; /* substrings of the details */
	const char *absent;     /* must not be in the details */
} cases[] = {
	{ "no checks", { .present = 0, .exact = "never looked at" }, "anything", 0, 1, NULL, { NULL }, NULL },
	{ "exact, equal", { .present = 1, .exact = "hello\nworld\n" }, "hello\nworld\n", 0, 1, NULL, { NULL }, NULL },
	{ "exact, empty both", { .present = 1, .exact = "" }, "", 0, 1, NULL, { NULL }, NULL },
	{ "exact, differs",
	  { .present = 1, .exact = "hello\nworld\n" },
	  "hello\nWorld\n",
	  0,
	  0,
	  "client's stdout is not what was expected",
	  { "client's stdout, line by line (- expected, + actual):\n", "  hello\n", "- world\n", "+ World\n" },
	  "no newline at the end" },
	{ "exact, missing trailing newline",
	  { .present = 1, .exact = "hello back\n" },
	  "hello back",
	  0,
	  0,
	  "client's stdout is not what was expected",
	  { "(the actual output has no newline at the end)\n" },
	  NULL },
	{ "exact, extra output",
	  { .present = 1, .exact = "a\n" },
	  "a\nb\n",
	  0,
	  0,
	  "client's stdout is not what was expected",
	  { "  a\n+ b\n" },
	  "\n- " },
	{ "exact, nothing printed",
	  { .present = 1, .exact = "a\n" },
	  "",
	  0,
	  0,
	  "client's stdout is not what was expected",
	  { "- a\n" },
	  "\n+ " },
	{ "contains, found", { .present = 1, .contains = "hello back" }, "xx hello back yy\n", 0, 1, NULL, { NULL }, NULL },
	{ "contains, not found",
	  { .present = 1, .contains = "hello back" },
	  "hello\n",
	  0,
	  0,
	  "client's stdout does not contain \"hello back\"",
	  { "expected (contains): hello back\n", "actual client's stdout:\n| hello\n" },
	  "no newline" },
	{ "contains, nothing printed",
	  { .present = 1, .contains = "hello back" },
	  "",
	  0,
	  0,
	  "client's stdout does not contain \"hello back\"",
	  { "actual client's stdout: (nothing)\n" },
	  NULL },
	{ "contains, no final newline shown",
	  { .present = 1, .contains = "hello back" },
	  "hello",
	  0,
	  0,
	  "client's stdout does not contain \"hello back\"",
	  { "actual client's stdout:\n| hello\n(no newline at the end)\n" },
	  NULL },
	{ "contains, after a NUL byte", { .present = 1, .contains = "back" }, "hello\0back", 10, 1, NULL, { NULL }, NULL },
	{ "not_contains, absent", { .present = 1, .not_contains = "error" }, "all fine\n", 0, 1, NULL, { NULL }, NULL },
	{ "not_contains, present",
	  { .present = 1, .not_contains = "error" },
	  "an error here\n",
	  0,
	  0,
	  "client's stdout contains \"error\", which it should not",
	  { "actual client's stdout:\n| an error here\n" },
	  NULL },
	{ "regex, matches a middle line", { .present = 1, .regex = "^hello$" }, "say hello\nhello\nbye\n", 0, 1, NULL, { NULL }, NULL },
	{ "regex, $ before a final line without newline", { .present = 1, .regex = "^bye$" }, "hello\nbye", 0, 1, NULL, { NULL }, NULL },
	{ "regex, extended syntax", { .present = 1, .regex = "client 127\\.0\\.0\\.1:[0-9]{1,5}$" }, "client 127.0.0.1:40312\n", 0, 1, NULL, { NULL }, NULL },
	{ "regex, no line matches",
	  { .present = 1, .regex = "^hello$" },
	  "hello there\nsay hello\n",
	  0,
	  0,
	  "client's stdout has no line matching /^hello$/",
	  { "expected (regex): ^hello$\n", "actual client's stdout:\n| hello there\n| say hello\n" },
	  NULL },
	{ "regex, invalid", { .present = 1, .regex = "a(b" }, "a(b\n", 0, 0, "client's stdout has no line matching /a(b/", { NULL }, NULL },
	{ "lines, any order", { .present = 1, LINES("a", "b", "c") }, "c\na\nb\n", 0, 1, NULL, { NULL }, NULL },
	{ "lines, CRLF", { .present = 1, LINES("a", "b") }, "b\r\na\r\n", 0, 1, NULL, { NULL }, NULL },
	{ "lines, no final newline", { .present = 1, LINES("a", "b") }, "b\na", 0, 1, NULL, { NULL }, NULL },
	{ "lines, one missing",
	  { .present = 1, LINES("a", "b", "c") },
	  "b\na\n",
	  0,
	  0,
	  "client's stdout does not have the expected lines",
	  { "expected these lines in any order:\n  a\n  b\n  c\n", "missing:\n  c\n", "actual client's stdout:\n| b\n| a\n" },
	  "not expected:" },
	{ "lines, one extra",
	  { .present = 1, LINES("a", "b") },
	  "a\nd\nb\n",
	  0,
	  0,
	  "client's stdout does not have the expected lines",
	  { "not expected:\n  d\n" },
	  "missing:" },
	{ "lines, missing and extra",
	  { .present = 1, LINES("a", "b") },
	  "a\nx\n",
	  0,
	  0,
	  "client's stdout does not have the expected lines",
	  { "missing:\n  b\n", "not expected:\n  x\n" },
	  NULL },
	{ "lines, a duplicate expected once",
	  { .present = 1, LINES("a", "b") },
	  "a\nb\na\n",
	  0,
	  0,
	  "client's stdout does not have the expected lines",
	  { "not expected:\n  a\n" },
	  "missing:" },
	{ "lines, expected twice, printed once",
	  { .present = 1, LINES("a", "a", "b") },
	  "b\na\n",
	  0,
	  0,
	  "client's stdout does not have the expected lines",
	  { "missing:\n  a\n" },
	  "not expected:" },
	{ "lines, duplicates both sides", { .present = 1, LINES("a", "b", "a") }, "a\na\nb\n", 0, 1, NULL, { NULL }, NULL },
	{ "lines, none expected, none printed", { .present = 1, .lines = NULL, .nlines = 0, .has_lines = 1 }, "", 0, 1, NULL, { NULL }, NULL },
	{ "several keys, all hold",
	  { .present = 1, .contains = "hel", .regex = "^hello$", .not_contains = "bye", LINES("hello", "world") },
	  "hello\nworld\n",
	  0,
	  1,
	  NULL,
	  { NULL },
	  NULL },
	{ "several keys, one fails",
	  { .present = 1, .contains = "hel", .regex = "^hello$", .not_contains = "bye" },
	  "hello\nbye\n",
	  0,
	  0,
	  "client's stdout contains \"bye\", which it should not",
	  { NULL },
	  NULL },
	{ "binary output is shown printable",
	  { .present = 1, .contains = "zz" },
	  "a\0b\xff\x01\n",
	  6,
	  0,
	  "client's stdout does not contain \"zz\"",
	  { "actual client's stdout:\n| a\\x00b\\xff\\x01\n" },
	  NULL },
};

START_TEST(match_table)
{
	const struct match_case *c = &cases[_i];
	size_t len = c->len ? c->len : strlen(c->out);
	/* the output in a buffer of exactly its size: nothing may read past it */
	char *out = xmalloc(len);
	memcpy(out, c->out, len);
	char *message = (char *)"untouched";
	struct strbuf details = STRBUF_INIT;
	int ok = match_output(&c->m, out, len, "client's stdout", &message, &details);
	ck_assert_msg(ok == c->ok, "%s: returned %d", c->name, ok);
	if (c->ok) {
		ck_assert_ptr_null(message);
		ck_assert_uint_eq(details.len, 0);
	} else {
		ck_assert_ptr_nonnull(message);
		ck_assert_str_eq(message, c->message);
		ck_assert_ptr_null(strchr(message, '\n'));
		ck_assert_msg(details.len > 0, "%s: no details", c->name);
	}
	for (int i = 0; i < 4 && c->details[i]; i++)
		ck_assert_msg(strstr(details.buf, c->details[i]), "%s: details lack\n%s\nin:\n%s", c->name,
			      c->details[i], details.buf);
	if (c->absent)
		ck_assert_msg(!details.buf || !strstr(details.buf, c->absent), "%s: details have \"%s\":\n%s",
			      c->name, c->absent, details.buf);
	free(message);
	free(out);
	sb_release(&details);
}
END_TEST

/* Details are appended: what the caller already had stays. */
START_TEST(details_appended)
{
	struct matcher m = { .present = 1, .contains = "x" };
	struct strbuf details = STRBUF_INIT;
	sb_adds(&details, "before\n");
	char *message;
	ck_assert_int_eq(match_output(&m, "y", 1, "server's stderr", &message, &details), 0);
	ck_assert_str_eq(message, "server's stderr does not contain \"x\"");
	ck_assert_int_eq(strncmp(details.buf, "before\nexpected (contains): x\n", 30), 0);
	free(message);
	sb_release(&details);
}
END_TEST

START_TEST(regex_direct)
{
	ck_assert_int_eq(match_regex("^b$", "a\nb\nc", 5), 1);
	ck_assert_int_eq(match_regex("^a.c$", "a\nc", 3), 0); /* . does not cross a newline */
	ck_assert_int_eq(match_regex("b", "abc", 1), 0);      /* only len bytes are looked at */
	ck_assert_int_eq(match_regex("(", "(", 1), -1);
	ck_assert_int_eq(match_regex("a[", "a[", 2), -1);
	ck_assert_int_eq(match_regex("x{2,1}", "xx", 2), -1);
	ck_assert_int_eq(match_regex("", "", 0), 1);
}
END_TEST

/* Student output is bytes: NULs, invalid UTF-8, no terminating NUL. */
START_TEST(regex_binary)
{
	static const char bin[] = { 'a', 'b', 'c', '\0', 'd', 'e', 'f', '\xff', '\xfe', '\n', 'x' };
	char *data = xmalloc(sizeof bin); /* exactly its size, no '\0' after it */
	memcpy(data, bin, sizeof bin);
	ck_assert_int_eq(match_regex("def", data, sizeof bin), 1);
	ck_assert_int_eq(match_regex("^x$", data, sizeof bin), 1);
	ck_assert_int_eq(match_regex("zzz", data, sizeof bin), 0);
	ck_assert_int_eq(match_regex("^abc", data, sizeof bin), 1);
	free(data);

	/* a large random buffer: no crash, no read past the end */
	size_t n = 1 << 16;
	data = xmalloc(n);
	unsigned x = 12345;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		data[i] = (char)(x >> 16);
	}
	ck_assert_int_eq(match_regex("[a-z]", data, n), 1);
	ck_assert_int_eq(match_regex("^[a-z]+[^a-z]", data, n), 1);
	ck_assert_int_eq(match_regex("this text is not in there", data, n), 0);
	free(data);
}
END_TEST

static char *
diff(const char *e, const char *a)
{
	struct strbuf sb = STRBUF_INIT;
	match_diff(&sb, e, strlen(e), a, strlen(a));
	return sb_detach(&sb);
}

static const struct diff_case {
	const char *name, *expected, *actual, *diff;
} diffs[] = {
	{ "identical", "a\nb\n", "a\nb\n", "  a\n  b\n" },
	{ "both empty", "", "", "" },
	{ "insertion", "a\nc\n", "a\nb\nc\n", "  a\n+ b\n  c\n" },
	{ "insertion at the start", "b\n", "a\nb\n", "+ a\n  b\n" },
	{ "deletion", "a\nb\nc\n", "a\nc\n", "  a\n- b\n  c\n" },
	{ "deletion at the end", "a\nb\n", "a\n", "  a\n- b\n" },
	{ "all new", "", "x\ny\n", "+ x\n+ y\n" },
	{ "all gone", "x\ny\n", "", "- x\n- y\n" },
	{ "final newline does not count", "a\nb", "a\nb\n", "  a\n  b\n" },
	{ "empty lines count", "a\n\nb\n", "a\nb\n", "  a\n- \n  b\n" },
};

START_TEST(diff_table)
{
	const struct diff_case *c = &diffs[_i];
	char *d = diff(c->expected, c->actual);
	ck_assert_msg(!strcmp(d, c->diff), "%s: got\n%s\nexpected\n%s", c->name, d, c->diff);
	free(d);
}
END_TEST

/* A changed line shows as the expected one removed and the actual one
 * added, between the lines both have. */
START_TEST(diff_change)
{
	char *d = diff("a\nb\nc\n", "a\nB\nc\n");
	ck_assert_msg(!strncmp(d, "  a\n", 4), "%s", d);
	ck_assert_ptr_nonnull(strstr(d, "- b\n"));
	ck_assert_ptr_nonnull(strstr(d, "+ B\n"));
	ck_assert_msg(strlen(d) > 4 && !strcmp(d + strlen(d) - 4, "  c\n"), "%s", d);
	ck_assert_uint_eq(strlen(d), 16); /* four lines, nothing else */
	free(d);

	/* what the student printed is shown made safe */
	d = diff("a\n", "a\x01\n");
	ck_assert_ptr_nonnull(strstr(d, "- a\n"));
	ck_assert_ptr_nonnull(strstr(d, "+ a\\x01\n"));
	ck_assert_uint_eq(strlen(d), 4 + 8);
	free(d);
}
END_TEST

static char *
numbered(int n, int changed_at, const char *changed)
{
	struct strbuf sb = STRBUF_INIT;
	for (int i = 1; i <= n; i++)
		if (i == changed_at)
			sb_addf(&sb, "%s\n", changed);
		else
			sb_addf(&sb, "line %d\n", i);
	return sb_detach(&sb);
}

/* Over 300 lines: only the first difference, not a quadratic diff. */
START_TEST(diff_too_long)
{
	char *e = numbered(400, 0, NULL), *a = numbered(400, 250, "LINE 250");
	char *d = diff(e, a);
	ck_assert_str_eq(d, "(too long for a full diff) first difference at line 250:\n- line 250\n+ LINE 250\n");
	free(d);
	free(a);

	/* the actual output stops early */
	a = numbered(301, 0, NULL);
	d = diff(e, a);
	ck_assert_str_eq(d, "(too long for a full diff) first difference at line 302:\n- line 302\n");
	free(d);
	free(a);
	free(e);

	/* only one side long: still the short form */
	e = numbered(2, 0, NULL);
	a = numbered(20000, 0, NULL);
	d = diff(e, a);
	ck_assert_str_eq(d, "(too long for a full diff) first difference at line 3:\n+ line 3\n");
	free(d);
	free(a);
	free(e);

	/* 300 lines each is still a full diff */
	e = numbered(300, 0, NULL);
	a = numbered(300, 7, "seven");
	d = diff(e, a);
	ck_assert_ptr_null(strstr(d, "too long"));
	ck_assert_ptr_nonnull(strstr(d, "- line 7\n"));
	ck_assert_ptr_nonnull(strstr(d, "+ seven\n"));
	ck_assert_ptr_nonnull(strstr(d, "  line 300\n"));
	free(d);
	free(a);
	free(e);
}
END_TEST

static Suite *
match_suite(void)
{
	Suite *s = suite_create("match");
	TCase *tc = tcase_create("output");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, match_table, 0, sizeof cases / sizeof *cases);
	tcase_add_test(tc, details_appended);
	tcase_add_test(tc, regex_direct);
	tcase_add_test(tc, regex_binary);
	suite_add_tcase(s, tc);
	tc = tcase_create("diff");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, diff_table, 0, sizeof diffs / sizeof *diffs);
	tcase_add_test(tc, diff_change);
	tcase_add_test(tc, diff_too_long);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(match_suite());
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
