/* classreport: the class report of a batch folder.  Hostile strings
 * (markup, bidi overrides, control bytes) never become markup; failures
 * group by message with numbers ignored; the plots count what the results
 * say; the page asks for nothing outside itself; a folder with no result,
 * or with unreadable ones, is said so.  tests/class_report.sh renders a
 * report of real gradings in Chromium. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "classreport.h"
#include "util.h"

static char tmpdir[64];

static void
make_tmpdir(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/check-classreport-XXXXXX");
	if (!mkdtemp(tmpdir))
		abort();
}

static void
remove_tmpdir(void)
{
	rm_rf(tmpdir);
}

static const struct {
	const char *in, *out;
} escapes[] = {
	{ "plain text", "plain text" },
	{ "<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;" },
	{ "a \"quoted\" & 'single'", "a &quot;quoted&quot; &amp; &#39;single&#39;" },
	{ "\x1b[31mred\r\n", "\\x1b[31mred\\x0d\\x0a" },
	{ "left \xe2\x80\xae right", "left \\u{202E} right" }, /* a right-to-left override */
	{ "isolate \xe2\x81\xa6 x", "isolate \\u{2066} x" },
	{ "bad \xff\xfe bytes \xc0\xaf", "bad \\xff\\xfe bytes \\xc0\\xaf" },
	{ "C1 \xc2\x9b" "2J", "C1 \\x9b2J" },
	{ "caf\xc3\xa9 \xe2\x9c\x93", "caf\xc3\xa9 \xe2\x9c\x93" }, /* UTF-8 stays */
};

START_TEST(strings_are_escaped)
{
	struct strbuf sb = STRBUF_INIT;
	classreport_escape(&sb, escapes[_i].in);
	ck_assert_str_eq(sb.buf ? sb.buf : "", escapes[_i].out);
	sb_release(&sb);
}
END_TEST

static void
write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* One result in the --format json contract, with a batch id. */
static void
write_result(const char *dir, const char *file, const char *id, int score, const char *t1_status,
	     const char *t1_message, const char *build)
{
	char *path = xstrfmt("%s/results/%s", dir, file);
	char *text = xstrfmt(
		"{\"batch\": {\"id\": \"%s\"}, \"lab\": \"tcp-hello\", \"submission\": \"x\", \"score\": %d, "
		"\"max_score\": 3, \"build\": {\"status\": \"%s\", \"warnings\": 0, \"log\": \"\"}, "
		"\"isolation\": {\"mode\": \"namespaces\", \"detail\": \"\"}, \"seed\": 1, \"tests\": ["
		"{\"name\": \"answers\", \"status\": \"%s\", \"score\": %d, \"max_score\": 2, \"visible\": true, "
		"\"duration_ms\": 40, \"message\": \"%s\", \"details\": \"\", \"reproduce\": \"\"},"
		"{\"name\": \"valgrind\", \"status\": \"pass\", \"score\": 1, \"max_score\": 1, \"visible\": false, "
		"\"duration_ms\": 1500, \"message\": \"\", \"details\": \"\", \"reproduce\": \"\"}]}\n",
		id, score, build, t1_status, strcmp(t1_status, "pass") ? 0 : 2, t1_message);
	write_text(path, text);
	free(text);
	free(path);
}

static char *
make_batch(const char *name)
{
	char *dir = xstrfmt("%s/%s", tmpdir, name), *results = xstrfmt("%s/results", dir);
	ck_assert_int_eq(mkdir_p(results), 0);
	free(results);
	return dir;
}

static int
occurrences(const char *text, const char *what)
{
	int n = 0;
	for (const char *p = text; (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

START_TEST(report_of_a_class)
{
	char *dir = make_batch("class");
	write_result(dir, "alice.json", "alice", 3, "pass", "", "ok");
	write_result(dir, "bob.json", "bob", 1, "fail", "your server crashed at server.c:50", "ok");
	write_result(dir, "carol.json", "carol", 1, "fail", "your server crashed at server.c:52", "ok");
	write_result(dir, "x.json", "<script>alert(1)</script>\\u202e", 1, "crash",
		     "<img src=x onerror=alert(2)>", "ok");
	write_result(dir, "dave.json", "dave", 0, "build_failed", "the build failed", "failed");
	char *broken = xstrfmt("%s/results/broken.json", dir);
	write_text(broken, "{ not json");
	free(broken);
	struct strbuf html = STRBUF_INIT;
	char err[512] = "";
	int n = classreport_build(dir, &html, err, sizeof err);
	ck_assert_msg(n == 5, "%d results: %s", n, err);
	const char *h = html.buf;
	/* Offline and inert: a CSP that forbids every fetch, no script, no URL. */
	ck_assert_ptr_nonnull(strstr(h, "content=\"default-src 'none'; style-src 'unsafe-inline'\""));
	ck_assert_ptr_null(strstr(h, "<script"));
	ck_assert_ptr_null(strstr(h, "<img"));
	ck_assert_ptr_null(strstr(h, "http:"));
	ck_assert_ptr_null(strstr(h, "https:"));
	ck_assert_ptr_null(strstr(h, "url("));
	ck_assert_ptr_nonnull(strstr(h, "&lt;script&gt;alert(1)&lt;/script&gt;\\u{202E}"));
	ck_assert_ptr_nonnull(strstr(h, "<span class=\"st\" style=\"background:#8e44ad\">crash</span> "
				       "&lt;img src=x onerror=alert(2)&gt;"));
	/* The numbers. */
	ck_assert_ptr_nonnull(strstr(h, "5 submissions, 2 tests, 3 points"));
	ck_assert_ptr_nonnull(strstr(h, "<b>1.2 / 3</b><span>mean score (40%)</span>"));
	ck_assert_ptr_nonnull(strstr(h, "<b>1</b><span>median score</span>"));
	ck_assert_ptr_nonnull(strstr(h, "<b>1</b><span>full marks (20%)</span>"));
	ck_assert_ptr_nonnull(strstr(h, "<b>1</b><span>did not build</span>"));
	ck_assert_ptr_nonnull(strstr(h, "1 result file could not be read</b> and is left out: broken.json"));
	/* Histogram: scores 0, 1, 1, 1, 3 of 3. */
	ck_assert_ptr_nonnull(strstr(h, "<title>score 0: 1 submission</title>"));
	ck_assert_ptr_nonnull(strstr(h, "<title>score 1: 3 submissions</title>"));
	ck_assert_ptr_nonnull(strstr(h, "<title>score 2: 0 submissions</title>"));
	ck_assert_ptr_nonnull(strstr(h, "<title>score 3: 1 submission</title>"));
	/* Pass rates: answers passed 1 of 5, failed 2, crashed 1, build 1. */
	ck_assert_ptr_nonnull(strstr(h, "answers: pass 1 of 5</title>"));
	ck_assert_ptr_nonnull(strstr(h, "answers: fail 2 of 5</title>"));
	ck_assert_ptr_nonnull(strstr(h, "answers: crash 1 of 5</title>"));
	ck_assert_ptr_nonnull(strstr(h, "answers: build failed 1 of 5</title>"));
	ck_assert_ptr_nonnull(strstr(h, "valgrind (hidden)</text>"));
	/* Failures: bob's and carol's are one kind (line numbers differ), first. */
	const char *row = strstr(h, "<tr><td class=\"n\">2</td><td class=\"t\"><code>answers</code></td>"
				    "<td class=\"msg\">your server crashed at server.c:50</td>"
				    "<td class=\"ids\">bob, carol</td></tr>");
	ck_assert_msg(row != NULL, "no grouped failure row in:\n%s", h);
	ck_assert_ptr_null(strstr(h, "server.c:52"));
	ck_assert_int_eq(occurrences(h, "the build failed"), 1); /* in dave's row, not a failure */
	/* Slowest: valgrind first, 1.50 s mean. */
	const char *slow = strstr(h, "Slowest tests");
	ck_assert_ptr_nonnull(slow);
	ck_assert_ptr_nonnull(strstr(slow, "valgrind: mean 1.50 s, slowest 1.50 s"));
	ck_assert(strstr(slow, "valgrind: mean") < strstr(slow, "answers: mean"));
	sb_release(&html);
	free(dir);
}
END_TEST

/* batch.json gives the tests in the spec's order (a test nobody ran is
 * there too) and the submissions that have no result. */
START_TEST(batch_json_is_used)
{
	char *dir = make_batch("with-batch");
	write_result(dir, "alice.json", "alice", 3, "pass", "", "ok");
	char *path = xstrfmt("%s/batch.json", dir);
	write_text(path, "{\"lab\": \"tcp-hello\", \"grader_version\": \"9.9.9\", \"tests\": ["
			 "{\"name\": \"first\", \"max_score\": 1, \"visible\": true},"
			 "{\"name\": \"valgrind\", \"max_score\": 1, \"visible\": false},"
			 "{\"name\": \"answers\", \"max_score\": 2, \"visible\": true}],"
			 "\"submissions\": [{\"id\": \"alice\", \"state\": \"graded\"},"
			 "{\"id\": \"bob\", \"state\": \"refused\"}, {\"id\": \"eve\", \"state\": \"pending\"}]}");
	free(path);
	struct strbuf html = STRBUF_INIT;
	char err[512];
	ck_assert_int_eq(classreport_build(dir, &html, err, sizeof err), 1);
	const char *h = html.buf;
	ck_assert_ptr_nonnull(strstr(h, "grader 9.9.9"));
	ck_assert_ptr_nonnull(strstr(h, "<b>2</b><span>not graded (1 refused, 1 pending)</span>"));
	const char *rates = strstr(h, "Tests: how each one ended");
	ck_assert_ptr_nonnull(rates);
	const char *first = strstr(rates, ">first</text>"), *valgrind = strstr(rates, ">valgrind (hidden)</text>"),
		   *answers = strstr(rates, ">answers</text>");
	ck_assert_msg(first && valgrind && answers && first < valgrind && valgrind < answers, "not in the spec's order");
	sb_release(&html);
	free(dir);
}
END_TEST

START_TEST(no_results_is_said)
{
	char *empty = make_batch("empty"), *missing = xstrfmt("%s/no-such", tmpdir);
	struct strbuf html = STRBUF_INIT;
	char err[512];
	ck_assert_int_eq(classreport_build(empty, &html, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "no result in \"") && strstr(err, "grader batch"), "%s", err);
	ck_assert_int_eq(classreport_build(missing, &html, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "cannot read \"") && strstr(err, "grader batch"), "%s", err);
	ck_assert_int_eq((int)html.len, 0);
	sb_release(&html);
	free(empty);
	free(missing);
}
END_TEST

/* Written atomically: the page whole under its name, nothing else left. */
START_TEST(report_file_is_written)
{
	char *dir = make_batch("write");
	write_result(dir, "alice.json", "alice", 3, "pass", "", "ok");
	char *out = xstrfmt("%s/report.html", dir), err[512];
	ck_assert_int_eq(classreport_write(dir, out, err, sizeof err), 1);
	size_t len;
	char *text = read_file(out, 1 << 22, &len);
	ck_assert_ptr_nonnull(text);
	ck_assert(!strncmp(text, "<!DOCTYPE html>", 15));
	ck_assert_ptr_nonnull(strstr(text, "</html>\n"));
	char *bad = xstrfmt("%s/no-such-folder/report.html", dir);
	ck_assert_int_eq(classreport_write(dir, bad, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "cannot write \""), "%s", err);
	free(bad);
	free(text);
	free(out);
	free(dir);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("classreport");
	TCase *tc = tcase_create("classreport");
	tcase_add_unchecked_fixture(tc, make_tmpdir, remove_tmpdir);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, strings_are_escaped, 0, (int)(sizeof escapes / sizeof *escapes));
	tcase_add_test(tc, report_of_a_class);
	tcase_add_test(tc, batch_json_is_used);
	tcase_add_test(tc, no_results_is_said);
	tcase_add_test(tc, report_file_is_written);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
