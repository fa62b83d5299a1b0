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
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture.h"
#include "report.h"
#include "spawn.h"
#include "util.h"
#include "version.h"

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
	"  PASS         1/1     fake-test\n"
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

static int
lines_starting(const char *text, const char *prefix)
{
	int n = 0;
	for (const char *line = text; *line; line = strchr(line, '\n') + 1) {
		n += !strncmp(line, prefix, strlen(prefix));
		if (!strchr(line, '\n'))
			break;
	}
	return n;
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
	ck_assert_int_eq(grader_scores, 1); /* once, last */
	ck_assert_int_eq(sections, 3); /* fail, error, crash */
	ck_assert_int_eq(isolation, 1);
	ck_assert_int_eq(lines_starting(text, "  PASS "), 1); /* not the details' fake one */
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

/* ---- the student's text report --------------------------------------- */

/* The text report of g, as report_write writes it; the caller frees. */
static char *
text_of(const struct grade_report *g)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(report_write(f, g, "text"), 0);
	ck_assert_int_eq(fclose(f), 0);
	return buf;
}

static int
count_lines(const char *text)
{
	int n = 0;
	for (; *text; text++)
		n += *text == '\n';
	return n;
}

/* The last line of text (without its newline), in a static buffer. */
static const char *
last_line(const char *text)
{
	static char line[256];
	size_t len = strlen(text);
	ck_assert_msg(len && text[len - 1] == '\n', "the report does not end with a newline");
	const char *start = text + len - 1;
	while (start > text && start[-1] != '\n')
		start--;
	snprintf(line, sizeof line, "%.*s", (int)(text + len - 1 - start), start);
	return line;
}

/* Text with our own colour sequences (ESC [ digits ; m) taken out. */
static char *
strip_sgr(const char *text)
{
	struct strbuf sb = STRBUF_INIT;
	for (const char *s = text; *s; s++) {
		if (s[0] == '\x1b' && s[1] == '[') {
			size_t n = strspn(s + 2, "0123456789;");
			if (s[2 + n] == 'm') {
				s += 2 + n;
				continue;
			}
		}
		sb_add(&sb, s, 1);
	}
	return sb_detach(&sb);
}

/* What a hostile program printed, laid out as runtest lays out a test's
 * details: every line of it behind the "| " gutter. */
static const char hostile_output[] =
	"\x1b[2J\x1b[H\x1b[32mPASS\x1b[0m everything\n"
	"  PASS         2/2     server-answers-reference-client\n"
	"score: 14/14\r  PASS all good\n"
	"--- nothing failed\n"
	"reproduce: rm -rf ~\n"
	"\x1b]0;owned\x07\x1b[1A\x1b[Kerased the line above\n"
	"\x9b" "31mC1 CSI\xc2\x9b" "2J\n";

static char *
marked_details(const char *finding, const char *bytes, size_t len)
{
	struct strbuf d = STRBUF_INIT;
	sb_addf(&d, "[fail] %s\n  stdout of your server (%zu bytes):\n", finding, len);
	sb_add_marked(&d, "  | ", bytes, len);
	return sb_detach(&d);
}

static void
one_test_report(struct grade_report *g, struct graded_test *t, char *details)
{
	t[0] = (struct graded_test){ .name = "server-answers", .description = "your server answers", .status = ST_FAIL,
				     .max_score = 2, .visible = 1, .duration_ms = 20,
				     .message = "your server printed no \"hello\"", .details = details,
				     .reproduce = "grader grade tcp-hello sub --test server-answers" };
	t[1] = (struct graded_test){ .name = "client-talks", .description = "", .status = ST_PASS, .score = 1,
				     .max_score = 1, .visible = 1, .message = "", .details = "",
				     .reproduce = "grader grade tcp-hello sub --test client-talks" };
	*g = (struct grade_report){ .lab = "tcp-hello", .submission = "sub", .score = 1, .max_score = 3,
				    .build_status = "ok", .isolation_mode = "namespaces", .isolation_detail = "",
				    .tests = t, .ntests = 2 };
}

/* A program's output, whatever it holds (terminal escapes, CR, fake
 * PASS, score, section and reproduce lines), shows behind the gutter, its
 * escapes as text; with colour on, the only escape sequences are ours. */
START_TEST(program_output_is_marked_and_inert)
{
	char *details = marked_details("your server printed no \"hello\"", hostile_output, sizeof hostile_output - 1);
	struct grade_report g;
	struct graded_test t[2];
	one_test_report(&g, t, details);
	g.color = _i;
	char *raw = text_of(&g), *text = strip_sgr(raw);
	char *bad = unsafe_byte(text, strlen(text));
	ck_assert_msg(bad == NULL, "colour %d: %s in:\n%s", _i, bad, raw);
	ck_assert_int_eq(lines_starting(text, "  PASS "), 1);
	ck_assert_int_eq(lines_starting(text, "score:"), 1);
	ck_assert_int_eq(lines_starting(text, "--- "), 1);
	ck_assert_int_eq(lines_starting(text, "reproduce:"), 1);
	ck_assert_str_eq(last_line(text), "score: 1/3");
	/* Every line that came from the program is in the gutter. */
	static const char *const marks[] = { "PASS\\x1b[0m everything", "  PASS         2/2     server-answers",
					     "14/14", "--- nothing failed", "rm -rf", "owned", "C1 CSI" };
	int program_lines = 0;
	for (size_t k = 0; k < sizeof marks / sizeof *marks; k++) {
		const char *at = strstr(text, marks[k]), *line = at;
		ck_assert_msg(at != NULL, "\"%s\" is not shown:\n%s", marks[k], text);
		while (line > text && line[-1] != '\n')
			line--;
		ck_assert_msg(!strncmp(line, "      | ", 8), "a line of the program outside the gutter: %.60s", line);
		program_lines += strstr(at + 1, marks[k]) == NULL;
	}
	ck_assert_int_eq(program_lines, 7);
	ck_assert_ptr_nonnull(strstr(text, "      | \\x1b[2J\\x1b[H\\x1b[32mPASS\\x1b[0m everything\n"));
	ck_assert_ptr_nonnull(strstr(text, "      | score: 14/14\\x0d  PASS all good\n"));
	ck_assert_ptr_nonnull(strstr(text, "      | \\x1b]0;owned\\x07\\x1b[1A\\x1b[Kerased the line above\n"));
	ck_assert_ptr_nonnull(strstr(text, "      | \\x9b31mC1 CSI\\xc2\\x9b2J\n"));
	if (_i) { /* colour: the verdict and the score are painted, and the gutter */
		ck_assert_ptr_nonnull(strstr(raw, "\x1b[1;31mfail\x1b[0m"));
		ck_assert_ptr_nonnull(strstr(raw, "\x1b[1;32mPASS\x1b[0m"));
		ck_assert_ptr_nonnull(strstr(raw, "\x1b[1;31mscore: 1/3\x1b[0m\n"));
		ck_assert_ptr_nonnull(strstr(raw, "      \x1b[36m|\x1b[0m score: 14/14"));
	} else {
		ck_assert_ptr_null(strchr(raw, '\x1b'));
	}
	free(bad);
	free(text);
	free(raw);
	free(details);
}
END_TEST

/* 300 lines of output: the head and the tail are shown, the middle is
 * one line saying how much is left out, and where the whole is. */
START_TEST(long_output_is_folded)
{
	struct strbuf out = STRBUF_INIT;
	for (int i = 1; i <= 300; i++)
		sb_addf(&out, "line %d of the server\n", i);
	char *details = marked_details("your server printed no \"hello\"", out.buf, out.len);
	sb_release(&out);
	struct grade_report g;
	struct graded_test t[2];
	one_test_report(&g, t, details);
	char *text = text_of(&g);
	ck_assert_msg(count_lines(text) <= 24, "%d lines:\n%s", count_lines(text), text);
	ck_assert_ptr_nonnull(strstr(text, "      | line 1 of the server\n"));
	ck_assert_ptr_nonnull(strstr(text, "      | line 4 of the server\n"));
	ck_assert_ptr_null(strstr(text, "line 5 of the server"));
	ck_assert_ptr_null(strstr(text, "line 298 of the server"));
	ck_assert_ptr_nonnull(strstr(text, "      | line 300 of the server\n"));
	ck_assert_ptr_nonnull(strstr(text, "      [... 294 more lines of its output ...]\n"));
	ck_assert_ptr_nonnull(strstr(text, "\neverything it printed: grader grade tcp-hello sub --test server-answers --format json\n"));
	ck_assert_str_eq(last_line(text), "score: 1/3");
	free(text);
	free(details);
}
END_TEST

/* Nothing works: every test fails with long details.  The report stays
 * short (the first failures explained, the others one line each), and
 * the reason for each verdict is there. */
START_TEST(failing_submission_is_bounded)
{
	enum { N = 14 };
	struct graded_test t[N];
	char *names[N], *repro[N];
	struct strbuf out = STRBUF_INIT;
	for (int i = 1; i <= 120; i++)
		sb_addf(&out, "output line %d\n", i);
	char *details = marked_details("your server exited with status 1", out.buf, out.len);
	struct strbuf more = STRBUF_INIT; /* a second finding after the long one */
	sb_addf(&more, "%s\n[fail] the reference client's stdout does not contain \"hello back\"\nexpected: hello back\n", details);
	for (int i = 0; i < N; i++) {
		names[i] = xstrfmt("test-%02d", i);
		repro[i] = xstrfmt("grader grade lab sub --test test-%02d", i);
		t[i] = (struct graded_test){ .name = names[i], .description = "what it checks", .status = ST_FAIL,
					     .max_score = 1, .visible = 1, .message = "your server exited with status 1",
					     .details = i % 2 ? details : more.buf, .reproduce = repro[i] };
	}
	t[3].status = ST_CRASH;
	t[3].message = "the reference client's stdout does not contain \"hello back\"";
	struct grade_report g = { .lab = "lab", .submission = "sub", .max_score = N, .build_status = "ok",
				  .isolation_mode = "namespaces", .tests = t, .ntests = N };
	char *text = text_of(&g);
	int lines = count_lines(text);
	ck_assert_msg(lines <= 80, "%d lines:\n%s", lines, text);
	ck_assert_int_eq(lines_starting(text, "--- "), 3);
	ck_assert_ptr_nonnull(strstr(text, "\n11 more failed tests not explained here"));
	ck_assert_ptr_nonnull(strstr(text, "grader grade lab sub --test test-03, or add --format json"));
	for (int i = 0; i < N; i++) {
		char *row = xstrfmt("%s 0/1     %s ", i == 3 ? "crash       " : "fail        ", names[i]);
		ck_assert_msg(strstr(text, row), "no summary line \"%s\" in:\n%s", row, text);
		free(row);
	}
	/* Each explained test shows its failing findings before what is folded. */
	ck_assert_ptr_nonnull(strstr(text, "    [fail] your server exited with status 1\n"));
	ck_assert_ptr_nonnull(strstr(text, "    [... "));
	ck_assert_str_eq(last_line(text), "score: 0/14");
	free(text);
	for (int i = 0; i < N; i++) {
		free(names[i]);
		free(repro[i]);
	}
	free(details);
	sb_release(&more);
	sb_release(&out);
}
END_TEST

/* The finding that decided the verdict is shown even when an earlier one
 * has long output: a memory error after a program's 60 lines of stderr. */
START_TEST(verdict_finding_comes_first)
{
	struct strbuf out = STRBUF_INIT;
	for (int i = 1; i <= 60; i++)
		sb_addf(&out, "==2== shadow bytes %d\n", i);
	char *first = marked_details("your client exited with status 1, expected exit status 0", out.buf, out.len);
	char *details = xstrfmt("%s\n[crash] your client has a memory error at client.c:37\n"
				"  AddressSanitizer reported:\n    READ of size 11\n", first);
	struct grade_report g;
	struct graded_test t[2];
	one_test_report(&g, t, details);
	t[0].status = ST_CRASH;
	t[0].message = "your client has a memory error at client.c:37";
	char *text = text_of(&g);
	char *crash = strstr(text, "    [crash] your client has a memory error at client.c:37\n");
	char *exit1 = strstr(text, "    [fail] your client exited with status 1");
	ck_assert_msg(crash && exit1 && crash < exit1, "the memory error is not first:\n%s", text);
	ck_assert_ptr_nonnull(strstr(text, "        READ of size 11\n"));
	free(text);
	free(details);
	free(first);
	sb_release(&out);
}
END_TEST

/* grader check runs the visible tests only: the report says how many
 * points the hidden ones hold, just before the score. */
START_TEST(hidden_points_are_named)
{
	struct grade_report g;
	struct graded_test t[2];
	one_test_report(&g, t, "[fail] nothing");
	/* one hidden test of 1 point, or 4 of 1+2+1+2 points; a test left out
	 * by --test is not a hidden one */
	struct skipped_test skipped[] = { { "h1", 3, 1, 0, 1 }, { "h2", 4, 2, 0, 1 }, { "sel", 5, 7, 1, 0 },
					  { "h3", 6, 1, 0, 1 }, { "h4", 7, 2, 0, 1 } };
	g.skipped = skipped;
	g.nskipped = _i ? 1 : 5;
	char *text = text_of(&g);
	const char *want = _i ? "\n1 point in 1 hidden test not run here: the final grade runs them too\n\nscore: 1/3\n"
			      : "\n6 points in 4 hidden tests not run here: the final grade runs them too\n\nscore: 1/3\n";
	ck_assert_msg(strstr(text, want), "not in:\n%s", text);
	g.nskipped = 0;
	char *plain = text_of(&g);
	ck_assert_ptr_null(strstr(plain, "hidden"));
	free(plain);
	free(text);
}
END_TEST

/* A build that failed: its log once, one line for the tests, no wall of
 * identical build_failed lines. */
START_TEST(build_failure_is_said_once)
{
	enum { N = 11 };
	struct graded_test t[N];
	char *names[N];
	for (int i = 0; i < N; i++) {
		names[i] = xstrfmt("test-%02d", i);
		t[i] = (struct graded_test){ .name = names[i], .status = ST_BUILD_FAILED, .max_score = 2, .visible = 1,
					     .message = "the build failed", .details = "", .reproduce = "r" };
	}
	struct strbuf log = STRBUF_INIT;
	for (int i = 1; i <= 50; i++)
		sb_addf(&log, "server.c:%d:5: error: unknown type name 'bool'\n", i);
	struct grade_report g = { .lab = "lab", .submission = "sub", .max_score = 2 * N, .build_status = "failed",
				  .build_log = log.buf, .isolation_mode = "namespaces", .tests = t, .ntests = N };
	char *text = text_of(&g);
	ck_assert_msg(count_lines(text) <= 30, "%d lines:\n%s", count_lines(text), text);
	ck_assert_ptr_nonnull(strstr(text, "  | server.c:1:5: error: unknown type name 'bool'\n"));
	ck_assert_ptr_nonnull(strstr(text, "  | server.c:20:5: error: unknown type name 'bool'\n"
					   "  | [... 30 more lines: --format json holds all of it]\n"));
	ck_assert_ptr_nonnull(strstr(text, "\n  no test ran: the build failed (11 tests, 22 points)\n"));
	ck_assert_ptr_null(strstr(text, "test-00"));
	ck_assert_str_eq(last_line(text), "score: 0/22");
	free(text);
	sb_release(&log);
	for (int i = 0; i < N; i++)
		free(names[i]);
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

/* Runs args with stdout and stderr on a new pseudo-terminal (as a student
 * in a terminal runs it), env the whole environment; returns the exit
 * status and what the terminal showed in *out (the caller frees). */
static int
run_on_pty(char **out, const char *const *args, const char *const *env)
{
	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	ck_assert_int_ge(master, 0);
	ck_assert_int_eq(grantpt(master), 0);
	ck_assert_int_eq(unlockpt(master), 0);
	char *slave = xstrdup(ptsname(master));
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		setsid();
		int fd = open(slave, O_RDWR);
		int null = open("/dev/null", O_RDONLY);
		if (fd < 0 || null < 0 || dup2(null, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		execve(args[0], (char *const *)args, (char *const *)env);
		_exit(127);
	}
	free(slave);
	struct strbuf sb = STRBUF_INIT;
	char buf[4096];
	for (;;) { /* EIO once the last writer closed the terminal */
		ssize_t n = read(master, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		sb_add(&sb, buf, (size_t)n);
	}
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	close(master);
	*out = sb_detach(&sb);
	ck_assert_msg(WIFEXITED(status), "died of a signal");
	return WEXITSTATUS(status);
}

/* Colour and progress as a student sees them: each case is the options,
 * the environment, a terminal or a pipe, and what must (not) show. */
static const struct {
	const char *option, *env;
	int tty, colour, status_line, lines;
} looks[] = {
	{ NULL, NULL, 1, 1, 1, 0 },                /* a terminal: colour, a status line */
	{ NULL, "NO_COLOR=1", 1, 0, 1, 0 },        /* https://no-color.org */
	{ NULL, "TERM=dumb", 1, 0, 1, 0 },
	{ "--color=never", NULL, 1, 0, 1, 0 },
	{ "--color=always", "NO_COLOR=1", 1, 1, 1, 0 }, /* asked for: it wins */
	{ "--color=always", NULL, 0, 1, 0, 1 },
	{ NULL, NULL, 0, 0, 0, 1 },                /* a pipe (a log): a line per test */
	{ "--quiet", NULL, 1, 1, 0, 0 },
	{ "--quiet", NULL, 0, 0, 0, 0 },
	{ "--color", NULL, 0, 1, 0, 1 },           /* as ls: bare --color is always */
};

START_TEST(colour_and_progress_follow_the_terminal)
{
	char grader[PATH_MAX], sub[PATH_MAX];
	ck_assert_ptr_nonnull(realpath("build/grader", grader));
	ck_assert_ptr_nonnull(realpath("fixtures/tcp-hello/good-minimal", sub));
	const char *args[16] = { grader, "grade", "tcp-hello", sub, "--test", "client-reports-missing-server",
				 "--test", "server-survives-early-disconnect" };
	int n = 8;
	if (looks[_i].option)
		args[n++] = looks[_i].option;
	args[n] = NULL;
	char *path = xstrfmt("PATH=%s", getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	char *tmp = xstrfmt("TMPDIR=%s", tmpdir);
	const char *env[] = { path, tmp, "TERM=xterm", looks[_i].env, NULL };
	if (looks[_i].env && !strncmp(looks[_i].env, "TERM=", 5))
		env[2] = looks[_i].env, env[3] = NULL;
	char *out;
	int status = looks[_i].tty ? run_on_pty(&out, args, env) : run(&out, args, NULL);
	free(path);
	free(tmp);
	ck_assert_msg(status == 0, "exit %d: %s", status, out);
	int colour = strstr(out, "\x1b[1;32mscore: 2/2\x1b[0m") != NULL;
	int status_line = strstr(out, "\r\x1b[K[1/2] server-survives-early-disconnect") != NULL;
	int lines = strstr(out, "[1/2] PASS         server-survives-early-disconnect (") != NULL;
	ck_assert_msg(colour == looks[_i].colour, "colour %d, expected %d:\n%s", colour, looks[_i].colour, out);
	ck_assert_msg(status_line == looks[_i].status_line, "status line %d, expected %d:\n%s", status_line,
		      looks[_i].status_line, out);
	ck_assert_msg(lines == looks[_i].lines, "progress lines %d:\n%s", lines, out);
	if (looks[_i].status_line) /* erased before the report */
		ck_assert_ptr_nonnull(strstr(out, "\r\x1b[Ktcp-hello: "));
	free(out);
}
END_TEST

/* The command line's own answers: --version, a lab that does not exist,
 * a bad --color. */
static const struct {
	const char *args[6];
	int status;
	const char *says;
} cli[] = {
	{ { "--version", NULL }, 0, "grader @VERSION\n" },
	{ { "grade", "tcp-helo", "fixtures/tcp-hello/good-minimal", NULL }, 2,
	  "grader: no lab named \"tcp-helo\"; labs: backlog, fifo, half-close, mmap-file, mqueue, pipe, ring-buffer, shm, tcp-" },
	{ { "list", "no-such", NULL }, 2, "grader: no lab named \"no-such\"; labs: backlog, fifo," },
	{ { "grade", "tcp-hello", "fixtures/tcp-hello/good-minimal", "--color=purple", NULL }, 2,
	  "--color takes auto, always or never, not \"purple\"" },
	{ { "check", "--color=x", NULL }, 2, "--color takes auto" },
};

START_TEST(command_line_answers)
{
	const char *args[8] = { "build/grader" };
	for (int k = 0; cli[_i].args[k]; k++)
		args[k + 1] = cli[_i].args[k];
	char *out;
	int status = run(&out, args, NULL);
	char *want = !strcmp(cli[_i].says, "grader @VERSION\n") ? xstrfmt("grader %s\n", version_string)
								: xstrdup(cli[_i].says);
	ck_assert_msg(status == cli[_i].status, "%s: exit %d: %s", args[1], status, out);
	ck_assert_msg(strstr(out, want), "\"%s\" not in: %s", want, out);
	ck_assert_msg(strstr(out, "in the lab spec") == NULL, "reads as a spec error: %s", out);
	free(want);
	free(out);
}
END_TEST

/* docs/grader.1 renders without a warning (groff -ww; mandoc's lint when
 * it is installed) and names every command of `grader --help` and every
 * long option of grader/main.c. */
START_TEST(man_page_is_complete_and_clean)
{
	char *groff = find_in_path("groff"), *mandoc = find_in_path("mandoc"), *out;
	ck_assert_msg(groff != NULL, "groff not found: install groff-base (sh tests/deps.sh)");
	const char *lint[] = { groff, "-ww", "-man", "-z", "docs/grader.1", NULL };
	int status = run(&out, lint, NULL);
	ck_assert_msg(status == 0 && !*out, "groff: exit %d: %s", status, out);
	free(out);
	if (mandoc) {
		const char *mlint[] = { mandoc, "-T", "lint", "-W", "style", "docs/grader.1", NULL };
		status = run(&out, mlint, NULL);
		ck_assert_msg(status == 0 && !*out, "mandoc: exit %d: %s", status, out);
		free(out);
	}
	free(groff);
	free(mandoc);
	char *page = read_file("docs/grader.1", 1 << 20, NULL), *main_c = read_file("grader/main.c", 1 << 20, NULL);
	ck_assert_ptr_nonnull(page);
	ck_assert_ptr_nonnull(main_c);
	const char *help[] = { "build/grader", "--help", NULL };
	ck_assert_int_eq(run(&out, help, NULL), 0);
	int commands = 0, options = 0;
	for (const char *p = out; (p = strstr(p, "grader ")); p += 7) { /* "grader CMD" in the usage */
		size_t n = strspn(p + 7, "abcdefghijklmnopqrstuvwxyz-");
		if (n < 2 || p[7] == '-')
			continue;
		char *want = xstrfmt(".B %.*s", (int)n, p + 7);
		ck_assert_msg(strstr(page, want), "the man page has no \"%s\"", want);
		free(want);
		commands++;
	}
	for (const char *p = main_c; (p = strstr(p, "{ \"")); p += 3) { /* long options: { "name", ...argument */
		size_t n = strcspn(p + 3, "\"");
		if (!strstr(p, "_argument") || strstr(p, "_argument") > strchr(p, '}'))
			continue;
		struct strbuf want = STRBUF_INIT;
		sb_adds(&want, "\\-\\-");
		for (size_t k = 0; k < n; k++)
			sb_adds(&want, p[3 + k] == '-' ? "\\-" : (char[]){ p[3 + k], 0 });
		ck_assert_msg(strstr(page, want.buf) || !strncmp(p + 3, "colour", 6), "the man page has no \"%s\"", want.buf);
		sb_release(&want);
		options++;
	}
	ck_assert_int_ge(commands, 6);
	ck_assert_int_ge(options, 10);
	free(out);
	free(page);
	free(main_c);
}
END_TEST

/* make install puts the man page where man looks (PREFIX/share/man/man1),
 * with PREFIX's paths and the version; make uninstall takes it away. */
START_TEST(make_installs_the_man_page)
{
	char exe[PATH_MAX], *make = find_in_path("make");
	ck_assert_ptr_nonnull(make);
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	ck_assert_int_gt(n, 0);
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0'; /* B/tests */
	*strrchr(exe, '/') = '\0'; /* B: the build folder this test was built in */
	char *dest = xstrfmt("DESTDIR=%s/dest", tmpdir), *b = xstrfmt("B=%s", exe);
	const char *install[] = { make, "-s", "install", dest, b, "APPARMOR=0", NULL };
	char *out;
	int status = run(&out, install, NULL);
	ck_assert_msg(status == 0, "make install: exit %d: %s", status, out);
	free(out);
	char *page_path = xstrfmt("%s/dest/usr/local/share/man/man1/grader.1", tmpdir);
	char *page = read_file(page_path, 1 << 20, NULL);
	ck_assert_msg(page != NULL, "no %s", page_path);
	char *th = xstrfmt("\"ipc-grader %s\"", version_string);
	ck_assert_msg(strstr(page, th), "the installed page does not say %s", th);
	ck_assert_ptr_nonnull(strstr(page, "/usr/local/share/ipc\\-grader/labs/"));
	const char *uninstall[] = { make, "-s", "uninstall", dest, b, "APPARMOR=0", NULL };
	status = run(&out, uninstall, NULL);
	ck_assert_msg(status == 0, "make uninstall: exit %d: %s", status, out);
	ck_assert_msg(access(page_path, F_OK) < 0, "make uninstall left %s", page_path);
	free(out);
	free(th);
	free(page);
	free(page_path);
	free(dest);
	free(b);
	free(make);
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

	tc = tcase_create("text");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, program_output_is_marked_and_inert, 0, 2);
	tcase_add_test(tc, long_output_is_folded);
	tcase_add_test(tc, failing_submission_is_bounded);
	tcase_add_test(tc, verdict_finding_comes_first);
	tcase_add_loop_test(tc, hidden_points_are_named, 0, 2);
	tcase_add_test(tc, build_failure_is_said_once);
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
	tcase_add_loop_test(tc, colour_and_progress_follow_the_terminal, 0, (int)(sizeof looks / sizeof *looks));
	tcase_add_loop_test(tc, command_line_answers, 0, (int)(sizeof cli / sizeof *cli));
	tcase_add_test(tc, man_page_is_complete_and_clean);
	tcase_add_test(tc, make_installs_the_man_page);
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
