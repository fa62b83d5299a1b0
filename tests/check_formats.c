/* formats: every machine format is read by a real consumer of it, for
 * crafted reports full of hostile bytes and for real gradings:
 *   JUnit       xmllint --schema docs/schemas/junit.xsd (Jenkins' layout),
 *               then XPath questions about what it says;
 *   TAP         Perl's TAP::Parser (tests/formats/tap_check.pl);
 *   JSON        python3-jsonschema against docs/schemas/results.schema.json;
 *   Gradescope  the same against docs/schemas/gradescope-results.schema.json.
 * Each validator is first shown to reject a broken document, so that a
 * pass means something. */
#define _GNU_SOURCE
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture.h"
#include "report.h"
#include "spawn.h"
#include "spec.h"
#include "util.h"

#define GRADER "build/grader"
#define JUNIT_XSD "docs/schemas/junit.xsd"
#define RESULTS_SCHEMA "docs/schemas/results.schema.json"
#define GRADESCOPE_SCHEMA "docs/schemas/gradescope-results.schema.json"

static char tmpdir[64];

static void
make_tmpdir(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/check-formats-XXXXXX");
	if (!mkdtemp(tmpdir) || chmod(tmpdir, 0755) < 0) /* the sandbox's uid works under TMPDIR */
		abort();
	umask(022);
}

static void
remove_tmpdir(void)
{
	rm_rf(tmpdir);
}

/* Runs argv (NULL-ended) with extra_env; returns its exit status and its
 * stdout+stderr in *out (the caller frees). */
static int
run(char **out, const char *const *args, const char *const *extra_env)
{
	struct strvec argv = STRVEC_INIT, env = STRVEC_INIT;
	for (const char *const *a = args; *a; a++)
		sv_push(&argv, *a);
	sv_pushf(&env, "PATH=%s", getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	sv_pushf(&env, "TMPDIR=%s", tmpdir);
	for (const char *const *e = extra_env; e && *e; e++)
		sv_push(&env, *e);
	struct child c = { .argv = argv.v, .envp = env.v };
	struct capture cap;
	capture_init(&cap, 1 << 20);
	struct exit_status st;
	int timed_out = 0;
	char err[256];
	int rc = child_run(&c, 120000, &cap, &st, &timed_out, err, sizeof err);
	*out = capture_bytes(&cap, 0, NULL);
	capture_release(&cap);
	sv_clear(&argv);
	sv_clear(&env);
	ck_assert_msg(rc == 0, "cannot run %s: %s", args[0], err);
	ck_assert_msg(!timed_out, "%s hung", args[0]);
	ck_assert_msg(st.how == EXIT_CODE, "%s died of signal %d", args[0], st.signal);
	return st.code;
}

/* ---- the consumers ---- */

static char *
need(const char *program, const char *package)
{
	char *path = find_in_path(program);
	ck_assert_msg(path != NULL, "%s not found: install %s (sh tests/deps.sh does)", program, package);
	return path;
}

/* xmllint's exit status validating path against the JUnit schema. */
static int
junit_check(const char *path, char **out)
{
	char *xmllint = need("xmllint", "libxml2-utils");
	const char *args[] = { xmllint, "--noout", "--schema", JUNIT_XSD, path, NULL };
	int rc = run(out, args, NULL);
	free(xmllint);
	return rc;
}

static void
junit_valid(const char *path)
{
	char *out;
	int rc = junit_check(path, &out);
	ck_assert_msg(rc == 0, "xmllint --schema %s %s: exit %d:\n%s", JUNIT_XSD, path, rc, out);
	free(out);
}

/* The answer of an XPath expression about path, as xmllint prints it. */
static char *
xpath(const char *path, const char *expr)
{
	char *xmllint = need("xmllint", "libxml2-utils"), *out;
	const char *args[] = { xmllint, "--xpath", expr, path, NULL };
	int rc = run(&out, args, NULL);
	free(xmllint);
	ck_assert_msg(rc == 0, "xmllint --xpath '%s': exit %d: %s", expr, rc, out);
	out[strcspn(out, "\n")] = '\0';
	return out;
}

static void
xpath_is(const char *path, const char *expr, const char *expected)
{
	char *got = xpath(path, expr);
	ck_assert_msg(!strcmp(got, expected), "%s: %s is \"%s\", expected \"%s\"", path, expr, got, expected);
	free(got);
}

/* Debian's python3 is where python3-jsonschema installs. */
static char *
python(void)
{
	return access("/usr/bin/python3", X_OK) == 0 ? xstrdup("/usr/bin/python3") : need("python3", "python3");
}

static int
json_check(const char *schema, const char *path, char **out)
{
	char *py = python();
	const char *args[] = { py, "tests/formats/json_valid.py", schema, path, NULL };
	int rc = run(out, args, NULL);
	free(py);
	return rc;
}

static void
json_valid(const char *schema, const char *path)
{
	char *out;
	int rc = json_check(schema, path, &out);
	ck_assert_msg(rc != 2, "%s", out);
	ck_assert_msg(rc == 0, "%s against %s:\n%s", path, schema, out);
	free(out);
}

/* tap_check.pl's exit status; its counts line in *out. */
static int
tap_check(const char *path, char **out)
{
	char *perl = need("perl", "perl");
	const char *args[] = { perl, "tests/formats/tap_check.pl", path, NULL };
	int rc = run(out, args, NULL);
	free(perl);
	return rc;
}

static void
tap_valid(const char *path, const char *counts)
{
	char *out;
	int rc = tap_check(path, &out);
	ck_assert_msg(rc == 0, "TAP::Parser on %s:\n%s", path, out);
	ck_assert_msg(!strncmp(out, counts, strlen(counts)), "TAP::Parser counts %s, expected %s", out, counts);
	free(out);
}

static char *
write_tmp(const char *name, const char *text)
{
	char *path = xstrfmt("%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

/* ---- each validator rejects what is broken ---- */

static const char *const bad_junit[] = {
	/* <properties> in a test case: Jenkins refuses it */
	"<?xml version=\"1.0\"?><testsuites><testsuite name=\"s\" tests=\"1\" failures=\"0\" errors=\"0\">"
	"<testcase name=\"t\"><properties/></testcase></testsuite></testsuites>\n",
	/* U+FFFE is no XML character */
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?><testsuites><testsuite name=\"s\" tests=\"1\" failures=\"0\" "
	"errors=\"0\"><testcase name=\"\xef\xbf\xbe\"/></testsuite></testsuites>\n",
	/* a control byte */
	"<?xml version=\"1.0\"?><testsuites><testsuite name=\"s\x01\" tests=\"1\" failures=\"0\" errors=\"0\"/>"
	"</testsuites>\n",
};

START_TEST(xmllint_rejects_broken_junit)
{
	char *path = write_tmp("bad.xml", bad_junit[_i]), *out;
	int rc = junit_check(path, &out);
	ck_assert_msg(rc != 0, "xmllint accepted:\n%s", bad_junit[_i]);
	free(out);
	free(path);
}
END_TEST

START_TEST(jsonschema_rejects_broken_json)
{
	char *json = write_tmp("bad.json", "{\"lab\": \"l\", \"submission\": \"s\", \"status\": \"fine\", \"score\": 1, "
					   "\"max_score\": 1, \"build\": {\"status\": \"ok\", \"warnings\": 0, \"log\": \"\"}, "
					   "\"isolation\": {\"mode\": \"none\", \"detail\": \"\"}, \"seed\": 1, \"tests\": []}\n");
	char *gs = write_tmp("bad-gs.json", "{\"score\": 1, \"execution_time\": 1, \"output\": \"\", "
					    "\"output_format\": \"text\", \"tests\": [{\"status\": \"timeout\"}]}\n");
	char *out;
	ck_assert_msg(json_check(RESULTS_SCHEMA, json, &out) == 1, "status \"fine\" accepted: %s", out);
	free(out);
	ck_assert_msg(json_check(GRADESCOPE_SCHEMA, gs, &out) == 1, "status \"timeout\" accepted: %s", out);
	free(out);
	free(json);
	free(gs);
}
END_TEST

START_TEST(tap_parser_rejects_broken_tap)
{
	char *path = write_tmp("bad.tap", "TAP version 13\n1..3\nok 1 - a\nnot ok 2 - b\n"), *out;
	ck_assert_msg(tap_check(path, &out) == 1, "accepted: %s", out);
	ck_assert_msg(strstr(out, "plan") && strstr(out, "no YAML"), "%s", out);
	free(out);
	free(path);
}
END_TEST

/* The CI examples of docs/ci/ are YAML with what their CI reads
 * (tests/ci_examples.sh runs them for real, with a Docker engine). */
START_TEST(ci_examples_are_valid_yaml)
{
	char *py = python(), *out;
	const char *args[] = { py, "tests/formats/ci_yaml.py", NULL };
	int rc = run(&out, args, NULL);
	ck_assert_msg(rc == 0, "docs/ci: %s", out);
	free(out);
	free(py);
}
END_TEST

/* ---- crafted reports ---- */

/* What a hostile program can put in a report: nonchars, lone surrogates,
 * control bytes, XML and TAP and YAML syntax, lines a YAML block would end
 * on.  String literals are cut where a hex escape would swallow the next
 * character. */
static const char hostile_details[] =
	"[fail] your server's stdout is not what was expected\n"
	"expected (exact): hello \xef\xbf\xbe\n"
	"actual your server's stdout:\n"
	"| hel\xff\xef\xbf\xbf lone \xed\xa0\x80 \x01\x1b[2J\r\n"
	"| ...\n"
	"| ---\n"
	"\n"
	"...\n"
	"---\n"
	"not ok 99 - fake\n"
	"Bail out! fake\n"
	"\t<![CDATA[ ]]> </testcase> & \"quoted\" # SKIP\n";
static const char hostile_message[] = "your server printed \x1b]0;pwned\x07 \xef\xbf\xbe and \xff";
static const char hostile_log[] = "server.c:1:1: warning: \x1b[31mred\x1b[0m \xef\xbf\xbf\r\n\xff\nnot ok 7\n...\n";
static const char hostile_path[] = "/tmp/class/al\xff\xfeice.v2/";

enum scenario { FAILED, ERRORED, BUILD_FAILED, GRADER_ERROR, PASSED, NSCENARIOS };
static const char *const scenario_status[] = { "failed", "error", "build_failed", "error", "passed" };

struct crafted {
	struct grade_report g;
	struct graded_test t[5];
	struct skipped_test s[2];
};

static struct graded_test
test(const char *name, enum status st, int points, int visible)
{
	int hostile = st != ST_PASS && st != ST_BUILD_FAILED;
	return (struct graded_test){ .name = (char *)name, .description = "what it checks \x1b[2J",
				     .status = st, .score = st == ST_PASS ? points : 0, .max_score = points,
				     .visible = visible, .duration_ms = 12,
				     .message = (char *)(hostile ? hostile_message : ""),
				     .details = (char *)(hostile ? hostile_details : ""),
				     .reproduce = "grader grade tcp-hello '/tmp/class/al\xff\xfeice.v2/' --test x" };
}

/* A report of the scenario; strings are borrowed literals except the
 * build log (crafted_release frees it). */
static void
crafted_init(struct crafted *c, enum scenario sc)
{
	memset(c, 0, sizeof *c);
	size_t n = 0, k = 0;
	switch (sc) {
	case FAILED:
		c->t[n++] = test("passes", ST_PASS, 2, 1);
		c->t[n++] = test("hostile \xff\x1b[31m<name> # TODO", ST_FAIL, 2, 1);
		c->t[n++] = test("crashes", ST_CRASH, 1, 0);
		c->t[n++] = test("hangs", ST_TIMEOUT, 1, 1);
		c->s[k++] = (struct skipped_test){ "hidden \xef\xbf\xbe one", 6, 3, 0, 1 };
		break;
	case ERRORED:
		c->t[n++] = test("passes", ST_PASS, 2, 1);
		c->t[n++] = test("machine failed", ST_ERROR, 2, 0);
		break;
	case BUILD_FAILED:
		for (; n < 3; n++)
			c->t[n] = test(n == 0 ? "first" : n == 1 ? "second \xff" : "third", ST_BUILD_FAILED, 1, n != 2);
		break;
	case GRADER_ERROR:
		c->g.error = "cannot create a scratch folder in /tmp/\xff\xef\xbf\xbe: No space left on device";
		break;
	case PASSED:
		c->t[n++] = test("one", ST_PASS, 1, 1);
		c->t[n++] = test("two", ST_PASS, 2, 0);
		break;
	default:
		break;
	}
	for (size_t i = 0; i < n; i++) {
		c->t[i].number = (int)i + 1;
		c->g.score += c->t[i].score;
		c->g.max_score += c->t[i].max_score;
	}
	c->g.lab = "tcp-hello";
	c->g.submission = hostile_path;
	c->g.build_status = sc == BUILD_FAILED ? "failed" : "ok";
	c->g.build_warnings = sc == FAILED ? 2 : 0;
	c->g.build_log = xstrdup(sc == FAILED || sc == BUILD_FAILED ? hostile_log : "");
	c->g.isolation_mode = sc == GRADER_ERROR ? "" : "namespaces";
	c->g.isolation_detail = "user \x1b[2J";
	c->g.seed = 7;
	c->g.duration_ms = 1234;
	c->g.tests = c->t;
	c->g.ntests = n;
	c->g.skipped = c->s;
	c->g.nskipped = k;
}

static char *
write_report(const struct grade_report *g, const char *format, const char *name)
{
	char *path = xstrfmt("%s/%s.%s", tmpdir, name, format);
	char err[256];
	ck_assert_msg(report_write_file(g, format, path, err, sizeof err) == 0, "%s", err);
	return path;
}

static size_t
count_status(const struct grade_report *g, enum status st)
{
	size_t n = 0;
	for (size_t i = 0; i < g->ntests; i++)
		n += g->tests[i].status == st;
	return n;
}

static json_t *
load_json(const char *path)
{
	json_error_t jerr;
	json_t *j = json_load_file(path, 0, &jerr);
	ck_assert_msg(j != NULL, "%s: %s at line %d", path, jerr.text, jerr.line);
	return j;
}

START_TEST(json_is_valid)
{
	struct crafted c;
	crafted_init(&c, (enum scenario)_i);
	char *path = write_report(&c.g, "json", "crafted");
	json_valid(RESULTS_SCHEMA, path);
	json_t *j = load_json(path);
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")), scenario_status[_i]);
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")), report_status(&c.g));
	ck_assert_uint_eq(json_array_size(json_object_get(j, "tests")), c.g.ntests);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "skipped")), c.g.nskipped);
	ck_assert_str_eq(json_string_value(json_object_get(j, "submission")), "/tmp/class/al\\xff\\xfeice.v2/");
	ck_assert(!c.g.error == !json_object_get(j, "error"));
	json_decref(j);
	free(c.g.build_log);
	free(path);
}
END_TEST

/* The word a Gradescope test's output begins with, by our status. */
static const char *const gradescope_words[] = { "PASSED", "FAILED:", "CRASHED:", "TIMED OUT:", "GRADER ERROR:",
						 "NOT RUN:" };

static void
check_gradescope_test(json_t *t, const struct graded_test *g)
{
	const char *output = json_string_value(json_object_get(t, "output"));
	ck_assert_str_eq(json_string_value(json_object_get(t, "status")), g->status == ST_PASS ? "passed" : "failed");
	ck_assert_str_eq(json_string_value(json_object_get(t, "visibility")), g->visible ? "visible" : "after_published");
	ck_assert_int_eq(json_integer_value(json_object_get(t, "max_score")), g->max_score);
	ck_assert_ptr_nonnull(output);
	ck_assert_msg(!strncmp(output, gradescope_words[g->status], strlen(gradescope_words[g->status])),
		      "a %s test's output: %.80s", status_name(g->status), output);
	if (g->status == ST_ERROR)
		ck_assert_ptr_nonnull(strstr(output, "not of your program"));
	if (g->status == ST_FAIL) /* the evidence, escaped */
		ck_assert_ptr_nonnull(strstr(output, "| hel\\xff\\xef\\xbf\\xbf lone"));
}

START_TEST(gradescope_is_valid)
{
	struct crafted c;
	crafted_init(&c, (enum scenario)_i);
	char *path = write_report(&c.g, "gradescope", "crafted");
	json_valid(GRADESCOPE_SCHEMA, path);
	json_t *j = load_json(path), *tests = json_object_get(j, "tests");
	const char *output = json_string_value(json_object_get(j, "output"));
	ck_assert_int_eq(json_integer_value(json_object_get(j, "score")), c.g.score);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "execution_time")), 2); /* 1234 ms, rounded up */
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "extra_data"), "status")),
			 scenario_status[_i]);
	ck_assert_uint_eq(json_array_size(tests), c.g.ntests + (c.g.error != NULL));
	for (size_t i = 0; i < c.g.ntests; i++)
		check_gradescope_test(json_array_get(tests, i), &c.t[i]);
	if (_i == BUILD_FAILED || _i == FAILED) /* the compiler's words reach the student */
		ck_assert_msg(strstr(output, "server.c:1:1: warning: \\x1b[31mred"), "%s", output);
	if (_i == BUILD_FAILED)
		ck_assert_ptr_nonnull(strstr(output, "did not build"));
	if (_i == GRADER_ERROR)
		ck_assert_msg(strstr(output, "could not grade") && strstr(output, "not of your code") &&
				      strstr(output, "No space left on device"), "%s", output);
	if (_i == ERRORED)
		ck_assert_msg(strstr(output, "1 test could not be run reliably"), "%s", output);
	json_decref(j);
	free(c.g.build_log);
	free(path);
}
END_TEST

/* A program's flood of output is folded on Gradescope's page (the JSON
 * report keeps all of it), and the fold says how much was left out. */
START_TEST(gradescope_folds_long_evidence)
{
	struct crafted c;
	crafted_init(&c, FAILED);
	struct strbuf flood = STRBUF_INIT;
	sb_adds(&flood, "actual your server's stdout:\n");
	for (int i = 1; i <= 1000; i++)
		sb_addf(&flood, "| line %d\n", i);
	c.t[1].details = flood.buf;
	char *path = write_report(&c.g, "gradescope", "flood");
	json_valid(GRADESCOPE_SCHEMA, path);
	json_t *j = load_json(path);
	const char *out = json_string_value(json_object_get(json_array_get(json_object_get(j, "tests"), 1), "output"));
	ck_assert_ptr_nonnull(out);
	int lines = 0;
	for (const char *p = out; *p; p++)
		lines += *p == '\n';
	ck_assert_msg(lines < 320, "%d lines", lines);
	ck_assert_msg(strstr(out, "| line 299\n[... 701 more lines]\n"), "%s", out + strlen(out) - 200);
	json_decref(j);
	sb_release(&flood);
	free(c.g.build_log);
	free(path);
}
END_TEST

START_TEST(junit_is_valid)
{
	struct crafted c;
	crafted_init(&c, (enum scenario)_i);
	char *path = write_report(&c.g, "junit", "crafted");
	junit_valid(path);
	/* The counts the suite claims are the elements it holds. */
	xpath_is(path,
		 "count(//testcase) = /testsuites/testsuite/@tests and count(//failure) = /testsuites/testsuite/@failures "
		 "and count(//error) = /testsuites/testsuite/@errors and count(//skipped) = /testsuites/testsuite/@skipped",
		 "true");
	char *expr = xstrfmt("count(//testcase)=%zu and count(//skipped)=%zu", 1 + c.g.ntests + c.g.nskipped,
			     c.g.nskipped + count_status(&c.g, ST_BUILD_FAILED));
	xpath_is(path, expr, "true");
	free(expr);
	/* Classes keep submissions apart: LAB.SUBMISSION, with no dot of its own. */
	xpath_is(path, "string(//testcase[1]/@classname)", "tcp-hello.al\\xff\\xfeice_v2");
	xpath_is(path, "string(//testcase[1]/@name)", "build");
	xpath_is(path, "string(//property[@name='status']/@value)", scenario_status[_i]);
	char *score = xstrfmt("%d", c.g.score);
	xpath_is(path, "string(//property[@name='score']/@value)", score);
	free(score);
	if (_i == BUILD_FAILED) /* the compiler's log is the build's failure */
		xpath_is(path, "contains(//testcase[@name='build']/failure[@type='build_failed'], 'server.c:1:1: warning')",
			 "true");
	if (_i == FAILED) {
		xpath_is(path, "string(//property[@name='score:passes']/@value)", "2/2");
		xpath_is(path, "count(//testcase[@name='hidden \\xef\\xbf\\xbe one']/skipped)", "1");
		xpath_is(path, "string(//testcase[@name='hangs']/failure/@type)", "timeout");
	}
	if (_i == GRADER_ERROR)
		xpath_is(path, "contains(//testcase[@name='build']/error, 'No space left')", "true");
	free(c.g.build_log);
	free(path);
}
END_TEST

START_TEST(tap_is_valid)
{
	static const char *const counts[] = {
		[FAILED] = "passed=2 failed=3 skipped=1 yaml=4 expected=3 actual=3",
		[ERRORED] = "passed=2 failed=1 skipped=0 yaml=1 expected=1 actual=1",
		[BUILD_FAILED] = "passed=0 failed=1 skipped=3 yaml=1 expected=0 actual=0",
		[GRADER_ERROR] = "passed=0 failed=1 skipped=0 yaml=1 expected=0 actual=0",
		[PASSED] = "passed=3 failed=0 skipped=0 yaml=0 expected=0 actual=0",
	};
	struct crafted c;
	crafted_init(&c, (enum scenario)_i);
	char *path = write_report(&c.g, "tap", "crafted");
	tap_valid(path, counts[_i]);
	free(c.g.build_log);
	free(path);
}
END_TEST

/* ---- real gradings ---- */

static int
grade(const char *sub, const char *format, const char *out, const char *const *more, const char *const *env)
{
	struct strvec argv = STRVEC_INIT;
	const char *fixed[] = { GRADER, "grade", "tcp-hello", sub, "--format", format, "--output", out };
	for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
		sv_push(&argv, fixed[i]);
	for (const char *const *m = more; m && *m; m++)
		sv_push(&argv, *m);
	char *text;
	int rc = run(&text, (const char *const *)argv.v, env);
	free(text);
	sv_clear(&argv);
	return rc;
}

static const char *const formats[] = { "json", "gradescope", "junit", "tap" };

static void
consume(const char *format, const char *path, const char *tap_counts)
{
	if (!strcmp(format, "json"))
		json_valid(RESULTS_SCHEMA, path);
	else if (!strcmp(format, "gradescope"))
		json_valid(GRADESCOPE_SCHEMA, path);
	else if (!strcmp(format, "junit"))
		junit_valid(path);
	else
		tap_valid(path, tap_counts);
}

/* How many tests tcp-hello has: the reports below list every one of them,
 * however the lab grows. */
static size_t
hello_tests(void)
{
	struct lab_spec spec;
	struct strbuf errors = STRBUF_INIT;
	ck_assert_int_eq(spec_load("labs/tcp-hello", &spec, &errors), 0);
	size_t n = spec.ntests;
	spec_release(&spec);
	sb_release(&errors);
	return n;
}

/* A submission that does not build, in a folder whose name is not UTF-8:
 * every test is there, and the compiler's words reach the reader. */
START_TEST(real_build_failure)
{
	char *sub = xstrfmt("%s/sub\xff\xfe.%s", tmpdir, formats[_i]);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	char *from = xstrdup("fixtures/tcp-hello/bug-build-fails/server.c"), *to = xstrfmt("%s/server.c", sub);
	ck_assert_int_eq(copy_file(from, to, 0644), 0);
	free(to);
	to = xstrfmt("%s/client.c", sub);
	ck_assert_int_eq(copy_file("fixtures/tcp-hello/bug-build-fails/client.c", to, 0644), 0);
	char *path = xstrfmt("%s/real.%s", tmpdir, formats[_i]);
	ck_assert_int_eq(grade(sub, formats[_i], path, NULL, NULL), 1);
	size_t n = hello_tests();
	char counts[96], ntext[16];
	snprintf(counts, sizeof counts, "passed=0 failed=1 skipped=%zu yaml=1", n);
	snprintf(ntext, sizeof ntext, "%zu", n);
	consume(formats[_i], path, counts);
	char *text = read_file(path, 1 << 20, NULL);
	ck_assert_ptr_nonnull(text);
	ck_assert_msg(strstr(text, "unknown type name"), "no compiler message in the %s report", formats[_i]);
	if (!strcmp(formats[_i], "gradescope") || !strcmp(formats[_i], "json")) {
		json_t *j = load_json(path);
		ck_assert_uint_eq(json_array_size(json_object_get(j, "tests")), n);
		json_decref(j);
	} else if (!strcmp(formats[_i], "junit")) {
		xpath_is(path, "count(//testcase/skipped)", ntext);
	}
	free(text);
	free(path);
	free(from);
	free(to);
	free(sub);
}
END_TEST

/* One test selected: the others are listed as not run, not dropped. */
START_TEST(real_selection_lists_the_rest)
{
	const char *more[] = { "--test", "client-reports-missing-server", NULL };
	char *path = xstrfmt("%s/one.%s", tmpdir, formats[_i]);
	ck_assert_int_eq(grade("fixtures/tcp-hello/good-reference", formats[_i], path, more, NULL), 0);
	size_t rest = hello_tests() - 1;
	char counts[96], ntext[16];
	snprintf(counts, sizeof counts, "passed=2 failed=0 skipped=%zu yaml=0", rest);
	snprintf(ntext, sizeof ntext, "%zu", rest);
	consume(formats[_i], path, counts);
	if (!strcmp(formats[_i], "json")) {
		json_t *j = load_json(path);
		ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "passed");
		ck_assert_uint_eq(json_array_size(json_object_get(j, "skipped")), rest);
		/* hidden or not, they were left out by --test */
		json_t *s;
		size_t i;
		json_array_foreach(json_object_get(j, "skipped"), i, s)
			ck_assert_str_eq(json_string_value(json_object_get(s, "reason")), "not selected (--test)");
		json_decref(j);
	} else if (!strcmp(formats[_i], "junit")) {
		xpath_is(path, "count(//testcase[skipped])", ntext);
	}
	free(path);
}
END_TEST

/* The grader refuses to run (no isolation, exit 3): the report is still
 * written, says why, and reads as the grader's failure. */
START_TEST(real_grader_failure_is_reported)
{
	const char *env[] = { "IPCGRADER_NO_NAMESPACES=1", NULL };
	char *path = xstrfmt("%s/refused.%s", tmpdir, formats[_i]);
	ck_assert_int_eq(grade("fixtures/tcp-hello/good-reference", formats[_i], path, NULL, env), 3);
	consume(formats[_i], path, "passed=0 failed=1 skipped=0 yaml=1");
	char *text = read_file(path, 1 << 20, NULL);
	ck_assert_msg(text && strstr(text, "without isolation"), "%s", text ? text : "(no report)");
	if (!strcmp(formats[_i], "gradescope")) {
		json_t *j = load_json(path);
		ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "extra_data"), "status")), "error");
		ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(j, "output")), "not of your code"));
		json_decref(j);
	}
	free(text);
	free(path);
}
END_TEST

static Suite *
formats_suite(void)
{
	Suite *s = suite_create("formats");
	TCase *tc = tcase_create("consumers reject");
	tcase_add_unchecked_fixture(tc, make_tmpdir, remove_tmpdir);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, xmllint_rejects_broken_junit, 0, (int)(sizeof bad_junit / sizeof *bad_junit));
	tcase_add_test(tc, jsonschema_rejects_broken_json);
	tcase_add_test(tc, tap_parser_rejects_broken_tap);
	tcase_add_test(tc, ci_examples_are_valid_yaml);
	suite_add_tcase(s, tc);

	tc = tcase_create("crafted");
	tcase_add_unchecked_fixture(tc, make_tmpdir, remove_tmpdir);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, json_is_valid, 0, NSCENARIOS);
	tcase_add_loop_test(tc, gradescope_is_valid, 0, NSCENARIOS);
	tcase_add_test(tc, gradescope_folds_long_evidence);
	tcase_add_loop_test(tc, junit_is_valid, 0, NSCENARIOS);
	tcase_add_loop_test(tc, tap_is_valid, 0, NSCENARIOS);
	suite_add_tcase(s, tc);

	tc = tcase_create("real");
	tcase_add_unchecked_fixture(tc, make_tmpdir, remove_tmpdir);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, real_build_failure, 0, 4);
	tcase_add_loop_test(tc, real_selection_lists_the_rest, 0, 4);
	tcase_add_loop_test(tc, real_grader_failure_is_reported, 0, 4);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(formats_suite());
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
