/* report: every format stays well formed and harmless whatever bytes a
 * student program printed (terminal escapes, CR, invalid UTF-8, U+FFFE, a
 * fake "score:" line, a non-UTF-8 submission path); --output replaces a
 * symlink instead of writing through it, leaves nothing behind when it
 * fails, and a bad --output is refused before grading starts. */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture.h"
#include "report.h"
#include "spawn.h"
#include "util.h"

static char tmpdir[64];

static void
make_tmpdir(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/check-report-XXXXXX");
	if (!mkdtemp(tmpdir) || chmod(tmpdir, 0755) < 0) /* the sandbox's uid works under TMPDIR */
		abort();
	umask(022);
}

static void
remove_tmpdir(void)
{
	rm_rf(tmpdir);
}

/* What a hostile program can make a report carry.  String literals are cut
 * where a hex escape would swallow the next character. */
static const char hostile_details[] =
	"[fail] your server printed something odd\n"
	"score: 99/99\n"
	"\x1b[2J\x1b[Hscreen cleared\rscore: 98/98\n"
	"nonchars \xef\xbf\xbe \xef\xbf\xbf lone \xff surrogate \xed\xa0\x80 overlong \xc0\xaf \xe0\x80\xaf\n"
	"bell\a backspace\b del\x7f csi \xc2\x9b" "2J cut \xe2\x82\n"
	"<testcase name=\"x\"/> ]]> & ' \"\n"
	"--- fake-test: pass\n"
	"isolation: none\n";
static const char hostile_message[] = "your program printed \x1b]0;pwned\x07 and \xff\xfe\nscore: 99/99";
static const char hostile_path[] = "/tmp/sub\xff\xfe\x1b[2J/dir";
static const char hostile_log[] = "warning: \x1b[31mred\x1b[0m\r\nscore: 99/99\n\xff\n";

#define NTESTS 4

/* A report built by hand: strings are borrowed literals except build_log,
 * which the report owns (release_report frees it). */
static void
hostile_report(struct grade_report *g, struct graded_test *t)
{
	memset(t, 0, NTESTS * sizeof *t);
	t[0] = (struct graded_test){ .name = "passes", .description = "", .status = ST_PASS, .score = 1,
				     .max_score = 1, .visible = 1, .duration_ms = 3, .message = "", .details = "",
				     .reproduce = "grader grade lab dir --test passes" };
	t[1] = (struct graded_test){ .name = "hostile \xff\x1b[31m<name>", .description = "what \x1b[2J it checks",
				     .status = ST_FAIL, .max_score = 1, .visible = 1, .duration_ms = 12,
				     .message = (char *)hostile_message, .details = (char *)hostile_details,
				     .reproduce = "grader grade lab '/tmp/sub\xff\xfe\x1b[2J/dir' --test hostile" };
	t[2] = (struct graded_test){ .name = "errs", .status = ST_ERROR, .max_score = 1, .visible = 1,
				     .message = (char *)hostile_message, .details = "", .reproduce = "" };
	t[3] = (struct graded_test){ .name = "# TODO crash \xef\xbf\xbf", .status = ST_CRASH, .max_score = 1,
				     .message = "it crashed", .details = (char *)hostile_details,
				     .reproduce = "grader grade x y" };
	*g = (struct grade_report){ .lab = "tcp-hello", .submission = hostile_path, .score = 1, .max_score = NTESTS,
				    .build_status = "ok", .build_warnings = 1, .build_log = xstrdup(hostile_log),
				    .isolation_mode = "namespaces", .isolation_detail = "user \x1b[2J", .seed = 7,
				    .tests = t, .ntests = NTESTS };
}

static void
release_report(struct grade_report *g)
{
	free(g->build_log);
}

/* NULL when text is valid UTF-8 with no control byte but \n and \t, no DEL
 * or C1 control, no U+FFFE/U+FFFF; otherwise what is wrong, at which byte. */
static char *
unsafe_byte(const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	for (size_t i = 0; i < len;) {
		unsigned c = s[i];
		if (c < 0x80) {
			if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
				return xstrfmt("control byte 0x%02x at %zu", c, i);
			i++;
			continue;
		}
		size_t n = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
		if (!n || i + n > len)
			return xstrfmt("invalid UTF-8 byte 0x%02x at %zu", c, i);
		uint32_t cp = c & (n == 2 ? 0x1F : n == 3 ? 0x0F : 0x07);
		for (size_t k = 1; k < n; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return xstrfmt("invalid UTF-8 sequence at %zu", i);
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
		    (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
			return xstrfmt("overlong or surrogate U+%04X at %zu", (unsigned)cp, i);
		if (cp <= 0x9F || cp == 0xFFFE || cp == 0xFFFF)
			return xstrfmt("U+%04X at %zu", (unsigned)cp, i);
		i += n;
	}
	return NULL;
}

/* Runs argv (NULL-ended) in cwd; returns its exit status and its merged
 * output in *out (the caller frees). */
static int
run(char **out, const char *const *args, const char *cwd)
{
	struct strvec argv = STRVEC_INIT, env = STRVEC_INIT;
	for (const char *const *a = args; *a; a++)
		sv_push(&argv, *a);
	sv_pushf(&env, "PATH=%s", getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	sv_pushf(&env, "TMPDIR=%s", tmpdir);
	struct child c = { .argv = argv.v, .envp = env.v, .cwd = cwd };
	struct capture cap;
	capture_init(&cap, 1 << 20);
	struct exit_status st;
	int timed_out = 0;
	char err[256];
	int rc = child_run(&c, 60000, &cap, &st, &timed_out, err, sizeof err);
	*out = capture_bytes(&cap, 0, NULL);
	capture_release(&cap);
	sv_clear(&argv);
	sv_clear(&env);
	ck_assert_msg(rc == 0, "cannot run %s: %s", args[0], err);
	ck_assert_msg(!timed_out, "%s hung", args[0]);
	ck_assert_msg(st.how == EXIT_CODE, "%s died of signal %d", args[0], st.signal);
	return st.code;
}

static void
check_text(const char *text)
{
	int grader_scores = 0, sections = 0, isolation = 0;
	const char *last = NULL;
	for (const char *line = text; *line; line = strchr(line, '\n') + 1) {
		ck_assert_msg(strchr(line, '\n'), "the last line has no newline");
		if (!strncmp(line, "score:", 6)) {
			ck_assert_msg(!strncmp(line, "score: 1/4\n", 11), "a line passes for the score: %.40s", line);
			grader_scores++;
		}
		sections += !strncmp(line, "--- ", 4);
		isolation += !strncmp(line, "isolation:", 10);
		last = line;
	}
	ck_assert_int_eq(grader_scores, 2);
	ck_assert_int_eq(sections, 3); /* fail, error, crash */
	ck_assert_int_eq(isolation, 1);
	ck_assert_msg(last && !strcmp(last, "score: 1/4\n"), "the last line is not the score: %s", last);
	/* Escaped, not dropped: the student sees what the program printed. */
	ck_assert_ptr_nonnull(strstr(text, "    \\x1b[2J\\x1b[Hscreen cleared\\x0dscore: 98/98\n"));
	ck_assert_ptr_nonnull(strstr(text, "    score: 99/99\n"));
	ck_assert_ptr_nonnull(strstr(text, "\\xef\\xbf\\xbe"));
	ck_assert_ptr_nonnull(strstr(text, "and \\xff\\xfe\\x0ascore: 99/99"));
}

static void
check_json(const char *text, int gradescope)
{
	json_error_t jerr;
	json_t *r = json_loads(text, 0, &jerr);
	ck_assert_msg(r != NULL, "invalid JSON: %s at line %d", jerr.text, jerr.line);
	json_t *tests = json_object_get(r, "tests");
	size_t n = json_array_size(tests);
	const char *details = json_string_value(json_object_get(json_array_get(tests, 1), gradescope ? "output" : "details"));
	char *copy = details ? xstrdup(details) : NULL;
	const char *sub = json_string_value(json_object_get(r, "submission"));
	int has_sub = gradescope || (sub && !strcmp(sub, "/tmp/sub\\xff\\xfe\\x1b[2J/dir"));
	const char *name = json_string_value(json_object_get(json_array_get(tests, 1), "name"));
	int name_ok = name && !strcmp(name, "hostile \\xff\\x1b[31m<name>");
	json_decref(r);
	ck_assert_msg(n == NTESTS, "%zu tests of %d in the JSON", n, NTESTS);
	ck_assert_msg(has_sub, "the submission path is missing or not escaped");
	ck_assert_msg(name_ok, "the hostile test's name is missing or not escaped");
	ck_assert_ptr_nonnull(copy);
	ck_assert_msg(strstr(copy, "\\x1b[2J\\x1b[Hscreen cleared\\x0dscore: 98/98\n"), "%s", copy);
	ck_assert_msg(strstr(copy, "lone \\xff surrogate \\xed\\xa0\\x80 overlong \\xc0\\xaf \\xe0\\x80\\xaf"), "%s", copy);
	ck_assert_msg(strstr(copy, "csi \\xc2\\x9b2J cut \\xe2\\x82\n"), "%s", copy);
	free(copy);
}

static void
check_junit(const char *path)
{
	char *xmllint = find_in_path("xmllint");
	ck_assert_msg(xmllint != NULL, "xmllint not found: install libxml2-utils (sh tests/deps.sh, or apt-get install -y libxml2-utils)");
	const char *args[] = { xmllint, "--noout", path, NULL };
	char *out;
	int status = run(&out, args, NULL);
	char *msg = xstrfmt("xmllint: exit %d: %s", status, out);
	free(out);
	free(xmllint);
	ck_assert_msg(status == 0, "%s", msg);
	free(msg);
}

static void
check_tap(const char *text)
{
	/* a "build" point, then the tests */
	int plan = !strncmp(text, "TAP version 13\n1..5\nok 1 - build\n", 33), points = 0, todo = 0;
	for (const char *line = text; *line; line = strchr(line, '\n') + 1) {
		ck_assert_msg(strchr(line, '\n'), "the last line has no newline");
		if (!strncmp(line, "ok ", 3) || !strncmp(line, "not ok ", 7)) {
			points++;
			/* An unescaped '#' would make the failure a TODO. */
			const char *hash = strchr(line, '#');
			todo += hash && hash < strchr(line, '\n') && hash[-1] != '\\';
		}
	}
	ck_assert(plan);
	ck_assert_int_eq(points, NTESTS + 1);
	ck_assert_int_eq(todo, 0);
}

static const char *const formats[] = { "text", "json", "junit", "tap", "gradescope" };

/* Every format of a hostile report, written as main writes it, is
 * well formed and holds no byte a terminal or a parser would act on. */
START_TEST(every_format_is_safe)
{
	struct grade_report g;
	struct graded_test t[NTESTS];
	hostile_report(&g, t);
	char *path = xstrfmt("%s/report.%s", tmpdir, formats[_i]);
	char err[256];
	int rc = report_write_file(&g, formats[_i], path, err, sizeof err);
	release_report(&g);
	ck_assert_msg(rc == 0, "%s", err);
	size_t len;
	char *text = read_file(path, 1 << 20, &len);
	ck_assert_ptr_nonnull(text);
	ck_assert_msg(strlen(text) == len, "a NUL byte in the %s report", formats[_i]);
	char *bad = unsafe_byte(text, len);
	ck_assert_msg(bad == NULL, "%s report: %s", formats[_i], bad);
	if (!strcmp(formats[_i], "text"))
		check_text(text);
	else if (!strcmp(formats[_i], "json"))
		check_json(text, 0);
	else if (!strcmp(formats[_i], "gradescope"))
		check_json(text, 1);
	else if (!strcmp(formats[_i], "junit"))
		check_junit(path);
	else
		check_tap(text);
	free(text);
	free(path);
}
END_TEST

/* Only path and its target may exist in the folder: no temporary file left. */
static int
entries(const char *dir)
{
	DIR *d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

/* A symlink at the output path (planted by a student program where a root
 * grader writes) is replaced by the report; its target is not touched,
 * whether it exists or not. */
START_TEST(symlink_is_replaced_not_followed)
{
	char *dir = xstrfmt("%s/link%d", tmpdir, _i);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	char *canary = xstrfmt("%s/canary", dir), *out = xstrfmt("%s/out.json", dir);
	if (_i == 0) {
		FILE *f = fopen(canary, "w");
		ck_assert_ptr_nonnull(f);
		fputs("canary\n", f);
		ck_assert_int_eq(fclose(f), 0);
	}
	ck_assert_int_eq(symlink(canary, out), 0);
	struct grade_report g;
	struct graded_test t[NTESTS];
	hostile_report(&g, t);
	char err[256];
	int rc = report_write_file(&g, "json", out, err, sizeof err);
	release_report(&g);
	ck_assert_msg(rc == 0, "%s", err);
	struct stat st;
	ck_assert_int_eq(lstat(out, &st), 0);
	ck_assert_msg(S_ISREG(st.st_mode), "the output is still a symlink");
	ck_assert_int_eq(st.st_mode & 07777, 0644);
	char *target = read_file(canary, 4096, NULL);
	if (_i == 0) {
		ck_assert_ptr_nonnull(target);
		ck_assert_str_eq(target, "canary\n");
	} else {
		ck_assert_msg(target == NULL && errno == ENOENT, "the report went through a dangling symlink");
	}
	ck_assert_int_eq(entries(dir), _i == 0 ? 2 : 1);
	json_t *r = json_load_file(out, 0, NULL);
	ck_assert_ptr_nonnull(r);
	json_decref(r);
	free(target);
	free(canary);
	free(out);
	free(dir);
}
END_TEST

/* A write that fails says so and leaves no temporary file behind. */
START_TEST(failed_write_leaves_nothing)
{
	char *dir = xstrfmt("%s/fail", tmpdir);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	char *sub = xstrfmt("%s/a-folder", dir);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	struct grade_report g;
	struct graded_test t[NTESTS];
	hostile_report(&g, t);
	char err[256];
	int rc = report_write_file(&g, "text", sub, err, sizeof err);
	char *missing = xstrfmt("%s/no-such-folder/out.txt", dir);
	char err2[256];
	int rc2 = report_write_file(&g, "text", missing, err2, sizeof err2);
	release_report(&g);
	ck_assert_int_eq(rc, -1);
	ck_assert_msg(strstr(err, "cannot write \"") != NULL, "%s", err);
	ck_assert_int_eq(rc2, -1);
	ck_assert_msg(strstr(err2, "cannot write \"") != NULL, "%s", err2);
	ck_assert_int_eq(entries(dir), 1);
	ck_assert_int_eq(entries(sub), 0);
	free(missing);
	free(sub);
	free(dir);
}
END_TEST

/* report_output_check, before grading: which paths it accepts. */
static const struct {
	const char *path; /* "@" stands for the temporary folder */
	int ok;
	const char *says;
} outputs[] = {
	{ NULL, 1, NULL },
	{ "-", 1, NULL },
	{ "@/report.json", 1, NULL },
	{ "@/no-such-folder/report.json", 0, "No such file or directory" },
	{ "@", 0, "it is a folder" },
	{ "@/", 0, "names a folder" },
	{ "@/file/report.json", 0, "is not a folder" },
};

START_TEST(output_is_checked_early)
{
	char *file = xstrfmt("%s/file", tmpdir);
	FILE *f = fopen(file, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fclose(f), 0);
	const char *p = outputs[_i].path;
	char *path = p && p[0] == '@' ? xstrfmt("%s%s", tmpdir, p + 1) : NULL;
	char err[512] = "";
	int rc = report_output_check(path ? path : p, err, sizeof err);
	char *want = path ? xstrfmt("cannot write \"%s\": ", path) : NULL;
	int says = !outputs[_i].says || (strstr(err, outputs[_i].says) && strstr(err, want));
	free(want);
	free(path);
	free(file);
	ck_assert_msg(rc == (outputs[_i].ok ? 0 : -1), "%s: rc %d: %s", p ? p : "NULL", rc, err);
	ck_assert_msg(says, "\"%s\" not in: %s", outputs[_i].says, err);
}
END_TEST

/* The real binary: "--output -" is stdout, not a file named "-". */
START_TEST(grader_output_dash_is_stdout)
{
	char grader[PATH_MAX], sub[PATH_MAX];
	ck_assert_ptr_nonnull(realpath("build/grader", grader));
	ck_assert_ptr_nonnull(realpath("fixtures/tcp-hello/good-minimal", sub));
	char *cwd = xstrfmt("%s/dash", tmpdir);
	ck_assert_int_eq(mkdir(cwd, 0755), 0);
	const char *args[] = { grader, "grade", "tcp-hello", sub, "--test", "client-reports-missing-server",
			       "--format", "json", "--output", "-", NULL };
	char *out;
	int status = run(&out, args, cwd);
	json_t *r = json_loads(out, 0, NULL);
	size_t n = json_array_size(json_object_get(r, "tests"));
	json_decref(r);
	int dash = entries(cwd);
	ck_assert_msg(status == 0, "exit %d: %s", status, out);
	ck_assert_msg(n == 1, "no JSON report on stdout: %s", out);
	ck_assert_msg(dash == 0, "a file was written in the working folder");
	free(out);
	free(cwd);
}
END_TEST

/* The real binary: an output folder that does not exist is refused with
 * exit 2 before any test runs, and nothing is graded. */
START_TEST(grader_refuses_missing_output_folder)
{
	char *path = xstrfmt("%s/no-such-folder/report.json", tmpdir);
	const char *args[] = { "build/grader", "grade", "tcp-hello", "fixtures/tcp-hello/good-minimal", "--test",
			       "client-reports-missing-server", "--format", "json", "--output", path, NULL };
	char *out;
	int status = run(&out, args, NULL);
	char *want = xstrfmt("grader: cannot write \"%s\": ", path);
	int says = strstr(out, want) != NULL;
	free(want);
	free(path);
	ck_assert_msg(status == 2, "exit %d: %s", status, out);
	ck_assert_msg(says, "no clear message: %s", out);
	free(out);
}
END_TEST

static Suite *
report_suite(void)
{
	Suite *s = suite_create("report");
	TCase *tc = tcase_create("formats");
	tcase_add_unchecked_fixture(tc, make_tmpdir, remove_tmpdir);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, every_format_is_safe, 0, (int)(sizeof formats / sizeof *formats));
	suite_add_tcase(s, tc);

	tc = tcase_create("output-file");
	tcase_add_unchecked_fixture(tc, make_tmpdir, remove_tmpdir);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, symlink_is_replaced_not_followed, 0, 2);
	tcase_add_test(tc, failed_write_leaves_nothing);
	tcase_add_loop_test(tc, output_is_checked_early, 0, (int)(sizeof outputs / sizeof *outputs));
	suite_add_tcase(s, tc);

	tc = tcase_create("grader-binary");
	tcase_add_unchecked_fixture(tc, make_tmpdir, remove_tmpdir);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, grader_output_dash_is_stdout);
	tcase_add_test(tc, grader_refuses_missing_output_folder);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(report_suite());
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
