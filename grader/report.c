#define _GNU_SOURCE
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BUILD_LOG_LINES 20
#define DETAILS_INDENT "    " /* grader lines start in column 0; no details line can pass for one */

static const char *const formats[] = { "text", "json", "junit", "tap", "gradescope", NULL };

int
report_format_known(const char *format)
{
	for (int i = 0; formats[i]; i++)
		if (!strcmp(formats[i], format))
			return 1;
	return 0;
}

/*
 * Every string a report prints may hold a student program's bytes (its
 * output in details, its build log, a submission folder's name), so every
 * one goes through safe_text() first.  What comes out is valid UTF-8 with
 * no character that XML 1.0 forbids, that JSON encoders refuse, or that a
 * terminal obeys: control bytes (ESC, CR, backspace...), DEL, C1 controls,
 * U+FFFE/U+FFFF, line separators and bidi overrides are shown as \xNN of
 * their bytes, and so is every byte of an invalid sequence (overlong forms,
 * surrogates, past U+10FFFF, cut short).  Newlines are kept only where the
 * text may have lines; tabs always are.
 */
enum { ONE_LINE = 0, LINES = 1 };

static int
shown_as_is(uint32_t cp, int lines)
{
	if (cp == '\n')
		return lines;
	if (cp == '\t')
		return 1;
	return !(cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0xFFFE || cp == 0xFFFF || cp == 0x2028 ||
		 cp == 0x2029 || (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069));
}

static void
add_safe(struct strbuf *sb, const char *text, int lines)
{
	const unsigned char *s = (const unsigned char *)(text ? text : "");
	while (*s) {
		uint32_t cp;
		size_t n = utf8_decode(s, SIZE_MAX, &cp);
		if (n && shown_as_is(cp, lines)) {
			sb_add(sb, s, n);
		} else {
			n = n ? n : 1;
			for (size_t i = 0; i < n; i++)
				sb_addf(sb, "\\x%02x", s[i]);
		}
		s += n;
	}
}

/* A safe copy of text (NULL reads as ""); the caller frees. */
static char *
safe_text(const char *text, int lines)
{
	struct strbuf sb = STRBUF_INIT;
	add_safe(&sb, text, lines);
	return sb_detach(&sb);
}

static const char *
or_empty(const char *s)
{
	return s ? s : "";
}

/* ---- the text report: for a student in a terminal -------------------
 *
 * Laid out so that the bottom of a terminal holds what matters: first the
 * failures explained (at most MAX_EXPLAINED of them, each folded to
 * DETAIL_LINES lines), then one line per test, then the score, last.
 * Grader lines start in column 0 or with two spaces; a test's details are
 * indented by four, and within them every line a program printed is behind
 * a "| " gutter (runtest marks them): nothing a program prints reads as
 * the grader's own line.  Colour (g->color) paints only the grader's words
 * and the gutter; a program's own bytes are escaped (safe_text) whatever
 * the colour says. */
#define MAX_EXPLAINED 3
#define DETAIL_LINES 20
#define FOLD_MIN 8 /* a longer run of output keeps FOLD_HEAD + FOLD_TAIL lines */
#define FOLD_HEAD 4
#define FOLD_TAIL 2

enum paint { P_NONE, P_BOLD, P_DIM, P_GREEN, P_RED, P_YELLOW, P_CYAN };

static void
paint(FILE *f, const struct grade_report *g, enum paint p, const char *text)
{
	static const char *const sgr[] = { "", "\033[1m", "\033[2m", "\033[1;32m", "\033[1;31m", "\033[1;33m", "\033[36m" };
	if (g->color && p != P_NONE)
		fprintf(f, "%s%s\033[0m", sgr[p], text);
	else
		fputs(text, f);
}

static enum paint
status_paint(enum status st)
{
	return st == ST_PASS ? P_GREEN : st == ST_ERROR ? P_YELLOW : P_RED;
}

static void
print_safe(FILE *f, const char *text)
{
	char *s = safe_text(text, ONE_LINE);
	fputs(s, f);
	free(s);
}

/* Text of many lines, each behind indent; at most max_lines of them
 * (0: all).  Empty lines stay empty. */
static void
print_block(FILE *f, const char *text, const char *indent, int max_lines)
{
	char *safe = safe_text(text, LINES);
	const char *p = safe;
	for (int n = 0; *p && (max_lines == 0 || n < max_lines); n++) {
		size_t len = strcspn(p, "\n");
		if (len)
			fprintf(f, "%s%.*s\n", indent, (int)len, p);
		else
			fputc('\n', f);
		p += len + (p[len] == '\n');
	}
	if (*p) {
		size_t more = 1;
		for (const char *q = p; *q; q++)
			more += *q == '\n' && q[1];
		fprintf(f, "%s[... %zu more line%s: --format json holds all of it]\n", indent, more, more == 1 ? "" : "s");
	}
	free(safe);
}

/* The lines of text made safe: pointers into *buf (the caller frees both). */
static char **
split_lines(const char *text, char **buf, size_t *n)
{
	*buf = safe_text(text, LINES);
	size_t cap = 1;
	for (const char *p = *buf; *p; p++)
		cap += *p == '\n';
	char **lines = xcalloc(cap + 1, sizeof *lines);
	*n = 0;
	for (char *p = *buf; *p;) {
		lines[(*n)++] = p;
		char *nl = strchr(p, '\n');
		if (!nl)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	return lines;
}

/* The length of the indent before a program's "| " gutter, or -1 when
 * line is none of a program's. */
static int
gutter_at(const char *line)
{
	size_t sp = strspn(line, " ");
	return line[sp] == '|' && (line[sp + 1] == ' ' || line[sp + 1] == '\0') ? (int)sp : -1;
}

/* Lines that belong together and may be folded: a program's output
 * (same gutter), or a tool's report quoted deep in the details (Valgrind,
 * ASan).  0 for any other line. */
static int
block_key(const char *line)
{
	int at = gutter_at(line);
	if (at >= 0)
		return 1 + at;
	return strspn(line, " ") >= 4 ? 1000 : 0;
}

static void
print_detail_line(FILE *f, const struct grade_report *g, const char *line)
{
	int at = gutter_at(line);
	if (!*line) {
		fputc('\n', f);
		return;
	}
	fputs(DETAILS_INDENT, f);
	if (at >= 0) {
		fprintf(f, "%.*s", at, line);
		paint(f, g, P_CYAN, "|");
		fprintf(f, "%s\n", line + at + 1);
	} else {
		fprintf(f, "%s\n", line);
	}
}

static void
print_fold(FILE *f, const struct grade_report *g, int indent, size_t n, const char *what)
{
	char text[96];
	snprintf(text, sizeof text, "%*s[... %zu more line%s%s ...]", indent, "", n, n == 1 ? "" : "s", what);
	fputs(DETAILS_INDENT, f);
	paint(f, g, P_DIM, text);
	fputc('\n', f);
}

/* A paragraph of the details: lines[from, to), no blank line inside. */
struct para {
	size_t from, to;
};

/* Prints a paragraph within budget lines, long blocks folded to their head
 * and tail; returns the lines printed.  *cut is set when lines were folded,
 * and the lines left out at the end are added to *left. */
static size_t
print_para(FILE *f, const struct grade_report *g, char **lines, struct para p, size_t budget, int *cut,
	   size_t *left)
{
	size_t shown = 0;
	for (size_t i = p.from; i < p.to; i++) {
		int key = block_key(lines[i]);
		size_t run = 1;
		while (key && i + run < p.to && block_key(lines[i + run]) == key)
			run++;
		int folds = run > FOLD_MIN;
		size_t need = folds ? FOLD_HEAD + 1 + FOLD_TAIL : 1;
		if (shown + need > budget) {
			*left += p.to - i;
			return shown;
		}
		if (!folds) {
			print_detail_line(f, g, lines[i]);
			shown++;
			continue;
		}
		for (size_t k = 0; k < FOLD_HEAD; k++)
			print_detail_line(f, g, lines[i + k]);
		int at = gutter_at(lines[i]);
		print_fold(f, g, at >= 0 ? at : (int)strspn(lines[i], " "), run - FOLD_HEAD - FOLD_TAIL,
			   at >= 0 ? " of its output" : "");
		for (size_t k = run - FOLD_TAIL; k < run; k++)
			print_detail_line(f, g, lines[i + k]);
		shown += need;
		i += run - 1;
		*cut = 1;
	}
	return shown;
}

/* Finding paragraphs ("[fail] ...") before notes, the one that holds the
 * test's message first: the reason for the verdict is never folded away. */
static int
para_rank(char **lines, struct para p, const char *message)
{
	const char *first = lines[p.from] + strspn(lines[p.from], " ");
	if (first[0] != '[')
		return 2;
	return *message && strstr(first, message) ? 0 : 1;
}

/* The details of a failed test, at most DETAIL_LINES lines.  Returns 1
 * when something was left out. */
static int
print_details(FILE *f, const struct grade_report *g, const struct graded_test *t)
{
	char *buf;
	size_t n, np = 0;
	char **lines = split_lines(t->details && *t->details ? t->details : t->message, &buf, &n);
	struct para *paras = xcalloc(n + 1, sizeof *paras);
	for (size_t i = 0; i < n;) {
		while (i < n && !*lines[i])
			i++;
		if (i == n)
			break;
		paras[np].from = i;
		while (i < n && *lines[i])
			i++;
		paras[np++].to = i;
	}
	char *message = safe_text(t->message, ONE_LINE);
	size_t shown = 0, skipped = 0;
	int cut = 0;
	for (int rank = 0; rank < 3; rank++)
		for (size_t k = 0; k < np; k++) {
			if (para_rank(lines, paras[k], message) != rank)
				continue;
			/* Room for a blank, a line, and a last "more" line. */
			if (skipped || shown + 3 > DETAIL_LINES) {
				skipped += paras[k].to - paras[k].from;
				continue;
			}
			if (shown) {
				fputc('\n', f);
				shown++;
			}
			shown += print_para(f, g, lines, paras[k], DETAIL_LINES - 1 - shown, &cut, &skipped);
		}
	if (skipped) {
		print_fold(f, g, 0, skipped, "");
		cut = 1;
	}
	free(message);
	free(paras);
	free(lines);
	free(buf);
	return cut;
}

/* One failed test, explained: what it checks, what happened, how to re-run it. */
static void
explain_test(FILE *f, const struct grade_report *g, const struct graded_test *t)
{
	char *name = safe_text(t->name, ONE_LINE);
	char head[64];
	fputc('\n', f);
	paint(f, g, P_BOLD, "--- ");
	paint(f, g, P_BOLD, name);
	fputs(": ", f);
	paint(f, g, status_paint(t->status), status_name(t->status));
	snprintf(head, sizeof head, " (%d/%d)\n", t->score, t->max_score);
	fputs(head, f);
	free(name);
	if (t->description && *t->description) {
		fputs("what it checks: ", f);
		print_safe(f, t->description);
		fputc('\n', f);
	}
	int folded = print_details(f, g, t);
	fputs("reproduce: ", f);
	print_safe(f, t->reproduce);
	fputc('\n', f);
	if (folded) {
		fputs("everything it printed: ", f);
		print_safe(f, t->reproduce);
		fputs(" --format json\n", f);
	}
}

static int
failed(const struct graded_test *t)
{
	return t->status != ST_PASS && t->status != ST_BUILD_FAILED; /* the build says it once */
}

/* A line per test: status, points, name, and what went wrong. */
static void
print_summary(FILE *f, const struct grade_report *g)
{
	int width = 8;
	size_t build_failed = 0;
	for (size_t i = 0; i < g->ntests; i++) {
		int len = (int)strlen(or_empty(g->tests[i].name));
		width = len > width ? len : width;
		build_failed += g->tests[i].status == ST_BUILD_FAILED;
	}
	width = width > 40 ? 40 : width;
	if (g->ntests && build_failed == g->ntests) {
		fprintf(f, "  no test ran: the build failed (%zu test%s, %d point%s)\n", g->ntests,
			g->ntests == 1 ? "" : "s", g->max_score, g->max_score == 1 ? "" : "s");
		return;
	}
	for (size_t i = 0; i < g->ntests; i++) {
		const struct graded_test *t = &g->tests[i];
		char pts[32];
		char *name = safe_text(t->name, ONE_LINE);
		char *msg = safe_text(t->status == ST_PASS ? "" : t->message, ONE_LINE);
		const char *label = t->status == ST_PASS ? "PASS" : status_name(t->status);
		snprintf(pts, sizeof pts, "%d/%d", t->score, t->max_score);
		fputs("  ", f);
		paint(f, g, status_paint(t->status), label);
		fprintf(f, "%*s %-7s ", 12 - (int)strlen(label), "", pts);
		if (*msg || !t->visible) /* else no trailing blanks */
			fprintf(f, "%-*s %s%s%s\n", width, name, t->visible ? "" : "(hidden)",
				t->visible || !*msg ? "" : " ", msg);
		else
			fprintf(f, "%s\n", name);
		free(name);
		free(msg);
	}
}

static void
write_text(FILE *f, const struct grade_report *g)
{
	print_safe(f, g->lab);
	fputs(": ", f);
	print_safe(f, g->submission);
	fputs("\nisolation: ", f);
	print_safe(f, g->isolation_mode);
	/* What the namespaces give is in the JSON; a student needs to know
	 * only why there are none. */
	if (strcmp(or_empty(g->isolation_mode), "namespaces")) {
		fputs(" (", f);
		print_safe(f, g->isolation_detail);
		fputs(")", f);
	}
	fputs("\nbuild: ", f);
	int build_ok = !strcmp(or_empty(g->build_status), "ok");
	char *status = safe_text(g->build_status, ONE_LINE);
	paint(f, g, build_ok ? P_NONE : P_RED, status);
	free(status);
	fprintf(f, ", %d warning%s\n", g->build_warnings, g->build_warnings == 1 ? "" : "s");
	if (g->build_warnings || !build_ok)
		print_block(f, g->build_log, "  | ", BUILD_LOG_LINES);

	size_t explained = 0, unexplained = 0;
	const struct graded_test *first_left = NULL;
	for (size_t i = 0; i < g->ntests; i++) {
		const struct graded_test *t = &g->tests[i];
		if (!failed(t))
			continue;
		if (explained < MAX_EXPLAINED) {
			explain_test(f, g, t);
			explained++;
		} else if (unexplained++ == 0) {
			first_left = t;
		}
	}
	if (unexplained) {
		fprintf(f, "\n%zu more failed test%s not explained here (see the list below): run one alone, e.g. ",
			unexplained, unexplained == 1 ? "" : "s");
		print_safe(f, first_left->reproduce);
		fputs(", or add --format json for every detail\n", f);
	}
	fputc('\n', f);
	print_summary(f, g);
	/* So that a student's 10/10 under grader check is not read as the final grade. */
	int hidden = 0, hidden_points = 0;
	for (size_t i = 0; i < g->nskipped; i++)
		if (g->skipped[i].hidden_only) {
			hidden++;
			hidden_points += g->skipped[i].max_score;
		}
	if (hidden) {
		fprintf(f, "\n%d point%s in %d hidden test%s not run here: the final grade runs them too\n",
			hidden_points, hidden_points == 1 ? "" : "s", hidden, hidden == 1 ? "" : "s");
	}
	char score[64];
	snprintf(score, sizeof score, "score: %d/%d", g->score, g->max_score);
	fputc('\n', f);
	/* What a student sees at the bottom of the terminal is the score. */
	paint(f, g, g->score == g->max_score ? P_GREEN : P_RED, score);
	fputc('\n', f);
}

/* A JSON string of text made safe: json_string() refuses invalid UTF-8,
 * and a NULL in json_pack would lose the whole object. */
static json_t *
jstr(const char *text)
{
	char *s = safe_text(text, LINES);
	json_t *j = json_string(s);
	free(s);
	return j;
}

const char *
report_status(const struct grade_report *g)
{
	int failed = 0, build_failed = strcmp(or_empty(g->build_status), "ok") != 0;
	if (g->error)
		return "error";
	for (size_t i = 0; i < g->ntests; i++) {
		if (g->tests[i].status == ST_ERROR)
			return "error";
		build_failed |= g->tests[i].status == ST_BUILD_FAILED;
		failed |= g->tests[i].status != ST_PASS;
	}
	return build_failed ? "build_failed" : failed ? "failed" : "passed";
}

/* Why a lab's test is in no report of this run. */
static const char *
skip_reason(const struct skipped_test *s)
{
	return s->hidden_only ? "hidden test, not run: only the visible tests were selected" : "not selected (--test)";
}

static const char *const not_run_after_build = "not run: the build failed";

static json_t *
test_json(const struct graded_test *t)
{
	return json_pack("{s:o, s:i, s:s, s:i, s:i, s:b, s:I, s:o, s:o, s:o, s:o}", "name", jstr(t->name), "number",
			 t->number, "status", status_name(t->status), "score", t->score, "max_score", t->max_score,
			 "visible", t->visible, "duration_ms", (json_int_t)t->duration_ms, "message", jstr(t->message),
			 "details", jstr(t->details), "reproduce", jstr(t->reproduce), "description",
			 jstr(t->description));
}

static json_t *
skipped_json(const struct skipped_test *s)
{
	return json_pack("{s:o, s:i, s:i, s:b, s:s}", "name", jstr(s->name), "number", s->number, "max_score",
			 s->max_score, "visible", s->visible, "reason", skip_reason(s));
}

static int
dump_json(FILE *f, json_t *o)
{
	if (!o)
		return -1;
	int rc = json_dumpf(o, f, JSON_INDENT(2)) == 0 ? 0 : -1;
	fputc('\n', f);
	json_decref(o);
	return rc;
}

/* Appends item to array; a test that cannot be represented fails the whole
 * report rather than vanishing from it. */
static int
append(json_t *array, json_t *item)
{
	return item ? json_array_append_new(array, item) : -1;
}

/* Sets key of o to value; a NULL value fails the report. */
static int
set(json_t *o, const char *key, json_t *value)
{
	return o && value ? json_object_set_new(o, key, value) : (json_decref(value), -1);
}

static int
write_json(FILE *f, const struct grade_report *g)
{
	json_t *tests = json_array(), *skipped = json_array();
	int rc = tests && skipped ? 0 : -1;
	for (size_t i = 0; i < g->ntests && rc == 0; i++)
		rc = append(tests, test_json(&g->tests[i]));
	for (size_t i = 0; i < g->nskipped && rc == 0; i++)
		rc = append(skipped, skipped_json(&g->skipped[i]));
	if (rc < 0) {
		json_decref(tests);
		json_decref(skipped);
		return -1;
	}
	json_t *o = json_pack("{s:o, s:o, s:s, s:i, s:i, s:{s:o, s:i, s:o}, s:{s:o, s:o}, s:I, s:I, s:o, s:o}", "lab",
			      jstr(g->lab), "submission", jstr(g->submission), "status", report_status(g), "score",
			      g->score, "max_score", g->max_score, "build", "status", jstr(g->build_status), "warnings",
			      g->build_warnings, "log", jstr(g->build_log), "isolation", "mode", jstr(g->isolation_mode),
			      "detail", jstr(g->isolation_detail), "seed", (json_int_t)g->seed, "duration_ms",
			      (json_int_t)g->duration_ms, "tests", tests, "skipped", skipped);
	if (g->error && set(o, "error", jstr(g->error)) < 0) {
		json_decref(o);
		return -1;
	}
	return dump_json(f, o);
}

/* At most max_lines lines of text (0: all), with a note of how many more;
 * raw: callers make it safe for their format. */
static void
add_lines(struct strbuf *sb, const char *text, int max_lines)
{
	const char *p = or_empty(text);
	int n = 0;
	for (; *p && (max_lines == 0 || n < max_lines); n++) {
		size_t len = strcspn(p, "\n");
		sb_add(sb, p, len);
		sb_adds(sb, "\n");
		p += len + (p[len] == '\n');
	}
	if (*p) {
		int more = 0;
		for (; *p; more++)
			p += strcspn(p, "\n") + (p[strcspn(p, "\n")] == '\n');
		sb_addf(sb, "[... %d more line%s]\n", more, more == 1 ? "" : "s");
	}
}

/* ---- Gradescope results.json ----------------------------------------------
 * Per Gradescope's autograder specification: a test's "status" is only
 * "passed" or "failed", so its output begins with a word saying which kind
 * of failure it was; every text is "text" format (no HTML or Markdown from a
 * program's bytes is ever rendered); hidden tests are "after_published"
 * (shown when the instructor publishes the grades; Gradescope then hides the
 * total from the student until then). */

#define GRADESCOPE_LOG_LINES 200
/* A test's evidence on a web page: enough to see what went wrong, not a
 * program's whole flood (the JSON report has all of it). */
#define GRADESCOPE_DETAIL_LINES 300

static const char *
gradescope_word(enum status st)
{
	switch (st) {
	case ST_PASS: return "PASSED";
	case ST_FAIL: return "FAILED";
	case ST_CRASH: return "CRASHED";
	case ST_TIMEOUT: return "TIMED OUT";
	case ST_BUILD_FAILED: return "NOT RUN";
	case ST_ERROR: break;
	}
	return "GRADER ERROR";
}

static char *
gradescope_test_output(const struct graded_test *t)
{
	struct strbuf sb = STRBUF_INIT;
	if (t->status == ST_PASS) {
		sb_adds(&sb, "PASSED");
		if (t->description && *t->description)
			sb_addf(&sb, ": %s", t->description);
		sb_adds(&sb, "\n");
		return sb_detach(&sb);
	}
	if (t->status == ST_BUILD_FAILED) {
		sb_addf(&sb, "NOT RUN: your code did not build, so this test could not run (the compiler's messages are at the top).\n");
		return sb_detach(&sb);
	}
	sb_addf(&sb, "%s: %s\n", gradescope_word(t->status), or_empty(t->message));
	if (t->status == ST_ERROR)
		sb_adds(&sb, "This is a problem of the grading machine, not of your program: the test counts 0 until your instructor regrades it.\n");
	if (t->description && *t->description)
		sb_addf(&sb, "\nWhat it checks: %s\n", t->description);
	if (t->details && *t->details) {
		sb_adds(&sb, "\n");
		add_lines(&sb, t->details, GRADESCOPE_DETAIL_LINES);
	}
	if (t->reproduce && *t->reproduce)
		sb_addf(&sb, "\nTo run just this test: %s\n", t->reproduce);
	return sb_detach(&sb);
}

/* What the student reads above the tests: the score, the compiler's
 * messages when the build failed or warned, and grader errors in words
 * that do not blame them. */
static char *
gradescope_summary(const struct grade_report *g)
{
	struct strbuf sb = STRBUF_INIT;
	if (g->error) {
		sb_addf(&sb, "The autograder could not grade this submission. This is a problem of the grading setup, not of your code:\n%s\n\nThe score of 0 only stands in until your instructor fixes the problem and regrades.\n", g->error);
		return sb_detach(&sb);
	}
	size_t errors = 0;
	for (size_t i = 0; i < g->ntests; i++)
		errors += g->tests[i].status == ST_ERROR;
	sb_addf(&sb, "Score: %d/%d\n", g->score, g->max_score);
	if (errors)
		sb_addf(&sb, "\n%zu test%s could not be run reliably on the grading machine (not a problem of your code); %s 0 until your instructor regrades.\n",
			errors, errors == 1 ? "" : "s", errors == 1 ? "it counts" : "they count");
	if (strcmp(or_empty(g->build_status), "ok")) {
		sb_adds(&sb, "\nYour code did not build, so no test could run. The compiler said:\n\n");
		add_lines(&sb, g->build_log, GRADESCOPE_LOG_LINES);
	} else if (g->build_warnings) {
		sb_addf(&sb, "\nThe compiler warned %d time%s:\n\n", g->build_warnings, g->build_warnings == 1 ? "" : "s");
		add_lines(&sb, g->build_log, GRADESCOPE_LOG_LINES);
	}
	return sb_detach(&sb);
}

static json_t *
gradescope_test(const struct graded_test *t)
{
	char *out = gradescope_test_output(t);
	char number[16];
	snprintf(number, sizeof number, "%d", t->number);
	json_t *o = json_pack("{s:o, s:s, s:i, s:i, s:s, s:o, s:s, s:s, s:[s, s], s:s, s:{s:s, s:I, s:o}}", "name",
			      jstr(t->name), "number", number, "score", t->score, "max_score", t->max_score, "status",
			      t->status == ST_PASS ? "passed" : "failed", "output", jstr(out), "output_format", "text",
			      "name_format", "text", "tags", status_name(t->status), t->visible ? "visible" : "hidden",
			      "visibility", t->visible ? "visible" : "after_published", "extra_data", "status",
			      status_name(t->status), "duration_ms", (json_int_t)t->duration_ms, "reproduce",
			      jstr(t->reproduce));
	free(out);
	return o;
}

static int
write_gradescope(FILE *f, const struct grade_report *g)
{
	json_t *tests = json_array();
	int rc = tests ? 0 : -1;
	for (size_t i = 0; i < g->ntests && rc == 0; i++)
		rc = append(tests, gradescope_test(&g->tests[i]));
	/* A grader error still leaves a visible line in the test list, so
	 * that it reads as what it is, not as a failed submission. */
	if (g->error && rc == 0)
		rc = append(tests, json_pack("{s:s, s:s, s:i, s:i, s:s, s:o, s:s, s:[s], s:s}", "name",
					     "Autograder error (not your code)", "number", "0", "score", 0,
					     "max_score", 0, "status", "failed", "output", jstr(g->error),
					     "output_format", "text", "tags", "error", "visibility", "visible"));
	if (rc < 0) {
		json_decref(tests);
		return -1;
	}
	char *summary = gradescope_summary(g);
	/* Gradescope's execution_time is in whole seconds. */
	json_t *o = json_pack("{s:i, s:I, s:o, s:s, s:s, s:s, s:s, s:{s:s, s:o, s:o, s:I, s:{s:o, s:i}, s:{s:o, s:o}}, s:o}",
			      "score", g->score, "execution_time", (json_int_t)((g->duration_ms + 999) / 1000),
			      "output", jstr(summary), "output_format", "text", "test_output_format", "text",
			      "test_name_format", "text", "stdout_visibility", "hidden", "extra_data", "status",
			      report_status(g), "lab", jstr(g->lab), "error", g->error ? jstr(g->error) : json_null(),
			      "seed", (json_int_t)g->seed, "build", "status", jstr(g->build_status), "warnings",
			      g->build_warnings, "isolation", "mode", jstr(g->isolation_mode), "detail",
			      jstr(g->isolation_detail), "tests", tests);
	free(summary);
	return dump_json(f, o);
}

/* ---- JUnit XML ---------------------------------------------------------------
 * Valid against docs/schemas/junit.xsd (the Jenkins/Ant JUnit schema): one
 * <testsuite> per submission, named and classed "LAB.SUBMISSION" so that
 * the reports of a class merge without colliding; a "build" test case
 * first (its failure holds the compiler's messages); a lab's tests not run
 * are <skipped>; points are <properties> of the suite (the schema allows
 * none in a test case) and repeated in each test case's <system-out>. */

/* Text made safe, then escaped for XML.  In an attribute, newlines and tabs
 * are character references, or the parser would turn them into spaces. */
static void
xml_escape(FILE *f, const char *text, int attribute)
{
	char *safe = safe_text(text, LINES);
	for (const char *s = safe; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		case '\n': fputs(attribute ? "&#10;" : "\n", f); break;
		case '\t': fputs(attribute ? "&#9;" : "\t", f); break;
		default: fputc(*s, f);
		}
	}
	free(safe);
}

/* The submission's name as a JUnit class: the last name of its path (a
 * folder "." or ".." by its real name), dots made '_' so that a report
 * viewer does not split it into packages.  Raw bytes; the caller escapes. */
static char *
submission_id(const char *path)
{
	char *copy = xstrdup(or_empty(path));
	size_t len = strlen(copy);
	while (len > 1 && copy[len - 1] == '/')
		copy[--len] = '\0';
	const char *base = strrchr(copy, '/') ? strrchr(copy, '/') + 1 : copy;
	char *id = NULL;
	if (!*base || !strcmp(base, ".") || !strcmp(base, "..")) {
		char *real = realpath(*copy ? copy : ".", NULL);
		const char *rbase = real && strrchr(real, '/') ? strrchr(real, '/') + 1 : "";
		id = xstrdup(*rbase ? rbase : "submission");
		free(real);
	} else {
		id = xstrdup(base);
	}
	free(copy);
	for (char *p = id; *p; p++)
		if (*p == '.')
			*p = '_';
	return id;
}

static void
xml_property(FILE *f, const char *name, const char *value)
{
	fputs("    <property name=\"", f);
	xml_escape(f, name, 1);
	fputs("\" value=\"", f);
	xml_escape(f, value, 1);
	fputs("\"/>\n", f);
}

static void
xml_property_int(FILE *f, const char *name, long value)
{
	char v[32];
	snprintf(v, sizeof v, "%ld", value);
	xml_property(f, name, v);
}

static void
junit_properties(FILE *f, const struct grade_report *g)
{
	fputs("  <properties>\n", f);
	xml_property(f, "lab", g->lab);
	xml_property(f, "submission", g->submission);
	xml_property(f, "status", report_status(g));
	xml_property_int(f, "score", g->score);
	xml_property_int(f, "max_score", g->max_score);
	xml_property(f, "build", g->build_status);
	xml_property_int(f, "build_warnings", g->build_warnings);
	xml_property(f, "isolation", g->isolation_mode);
	xml_property_int(f, "seed", g->seed);
	if (g->error)
		xml_property(f, "error", g->error);
	for (size_t i = 0; i < g->ntests; i++) {
		char *name = xstrfmt("score:%s", g->tests[i].name);
		char *value = xstrfmt("%d/%d", g->tests[i].score, g->tests[i].max_score);
		xml_property(f, name, value);
		free(name);
		free(value);
	}
	fputs("  </properties>\n", f);
}

/* Seconds with a '.' whatever the locale says (JUnit readers want one). */
static void
junit_seconds(FILE *f, long ms)
{
	ms = ms < 0 ? 0 : ms;
	fprintf(f, "%ld.%03ld", ms / 1000, ms % 1000);
}

static void
junit_case_open(FILE *f, const char *classname, const char *name, long ms)
{
	fputs("  <testcase classname=\"", f);
	xml_escape(f, classname, 1);
	fputs("\" name=\"", f);
	xml_escape(f, name, 1);
	fputs("\" time=\"", f);
	junit_seconds(f, ms);
	fputs("\">\n", f);
}

/* <failure>, <error> or <skipped> with a message and text. */
static void
junit_outcome(FILE *f, const char *tag, const char *type, const char *message, const char *text)
{
	fprintf(f, "    <%s type=\"%s\" message=\"", tag, type);
	xml_escape(f, message, 1);
	fputs("\">", f);
	xml_escape(f, text, 0);
	fprintf(f, "</%s>\n", tag);
}

static void
junit_build(FILE *f, const struct grade_report *g, const char *classname, long ms)
{
	junit_case_open(f, classname, "build", ms);
	if (g->error) {
		junit_outcome(f, "error", "error", "the grader could not grade this submission", g->error);
	} else if (strcmp(or_empty(g->build_status), "ok")) {
		junit_outcome(f, "failure", "build_failed", "the submission does not build", g->build_log);
	} else if (g->build_warnings) {
		fputs("    <system-out>", f);
		xml_escape(f, g->build_log, 0);
		fputs("</system-out>\n", f);
	}
	fputs("  </testcase>\n", f);
}

static void
junit_test(FILE *f, const struct graded_test *t, const char *classname)
{
	junit_case_open(f, classname, t->name, t->duration_ms);
	if (t->status == ST_BUILD_FAILED) {
		fprintf(f, "    <skipped message=\"%s\"/>\n", not_run_after_build);
	} else if (t->status != ST_PASS) {
		char *text = xstrfmt("%s\n%sreproduce: %s\n", or_empty(t->message), or_empty(t->details),
				     or_empty(t->reproduce));
		junit_outcome(f, t->status == ST_ERROR ? "error" : "failure", status_name(t->status), t->message, text);
		free(text);
	}
	fprintf(f, "    <system-out>points: %d/%d%s\n", t->score, t->max_score, t->visible ? "" : " (hidden test)");
	if (t->description && *t->description) {
		fputs("checks: ", f);
		xml_escape(f, t->description, 0);
		fputc('\n', f);
	}
	fputs("</system-out>\n  </testcase>\n", f);
}

static void
write_junit(FILE *f, const struct grade_report *g)
{
	size_t failures = 0, errors = 0, skipped = g->nskipped;
	long total_ms = 0;
	int build_failed = strcmp(or_empty(g->build_status), "ok") != 0;
	failures += build_failed && !g->error;
	errors += g->error != NULL;
	for (size_t i = 0; i < g->ntests; i++) {
		enum status st = g->tests[i].status;
		failures += st == ST_FAIL || st == ST_CRASH || st == ST_TIMEOUT;
		errors += st == ST_ERROR;
		skipped += st == ST_BUILD_FAILED;
		total_ms += g->tests[i].duration_ms;
	}
	size_t ntests = 1 + g->ntests + g->nskipped;
	char *id = submission_id(g->submission);
	char *classname = xstrfmt("%s.%s", or_empty(g->lab), id);
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n<testsuite name=\"", f);
	xml_escape(f, classname, 1);
	fputs("\" package=\"", f);
	xml_escape(f, g->lab, 1);
	fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" time=\"", ntests, failures,
		errors, skipped);
	junit_seconds(f, g->duration_ms > total_ms ? g->duration_ms : total_ms);
	fputs("\">\n", f);
	junit_properties(f, g);
	junit_build(f, g, classname, g->duration_ms > total_ms ? g->duration_ms - total_ms : 0);
	for (size_t i = 0; i < g->ntests; i++)
		junit_test(f, &g->tests[i], classname);
	for (size_t i = 0; i < g->nskipped; i++) {
		junit_case_open(f, classname, g->skipped[i].name, 0);
		fprintf(f, "    <skipped message=\"%s\"/>\n", skip_reason(&g->skipped[i]));
		fputs("  </testcase>\n", f);
	}
	fputs("</testsuite>\n</testsuites>\n", f);
	free(classname);
	free(id);
}

/* ---- TAP version 13 ----------------------------------------------------------
 * A "build" point first, then every test of the lab in its order; tests not
 * run are "ok ... # SKIP" (the build point already failed when the build
 * did).  A failure's YAML block holds the status, the points, and the
 * expected and actual text of the finding, as Perl's TAP::Parser reads it. */

/* A one-line YAML scalar: a JSON string is one that TAP::Parser reads. */
static void
tap_scalar(FILE *f, const char *text)
{
	json_t *s = jstr(text);
	if (!s || json_dumpf(s, f, JSON_ENCODE_ANY) < 0)
		fputs("\"\"", f);
	json_decref(s);
}

/* key: | and text made safe, every line indented (an empty line too:
 * TAP::Parser ends the block at a line with less indentation). */
static void
tap_block(FILE *f, const char *key, const char *text, size_t len)
{
	char *raw = xstrfmt("%.*s", (int)len, text);
	char *safe = safe_text(raw, LINES);
	fprintf(f, "  %s: |\n", key);
	for (const char *p = safe; *p;) {
		size_t n = strcspn(p, "\n");
		fprintf(f, "      %.*s\n", (int)n, p);
		p += n + (p[n] == '\n');
	}
	free(safe);
	free(raw);
}

/* The kind of a section of a test's details: the checks write "expected
 * ..." and "actual ..." headers in column 0, their lines indented or
 * behind "| ", and a diff under "... line by line (- expected, + actual):". */
static const char *
section_kind(const char *line)
{
	size_t n = strcspn(line, "\n");
	if (!strncmp(line, "expected", 8))
		return "expected";
	if (!strncmp(line, "actual ", 7))
		return "actual";
	const char *diff = strstr(line, "line by line (- expected, + actual)");
	if (diff && (size_t)(diff - line) < n)
		return "diff";
	return NULL;
}

/* Writes the expected, actual and diff sections of details (the first of
 * each) as their own keys, and the rest under "details". */
static void
tap_details(FILE *f, const char *details)
{
	const char *kinds[] = { "expected", "actual", "diff" };
	const char *start[3] = { NULL }, *end[3] = { NULL };
	struct strbuf rest = STRBUF_INIT;
	const char *p = or_empty(details);
	while (*p) {
		const char *kind = section_kind(p);
		int k = -1;
		for (int i = 0; kind && i < 3; i++)
			if (!strcmp(kind, kinds[i]) && !start[i])
				k = i;
		const char *q = p + strcspn(p, "\n");
		q += *q == '\n';
		/* A section runs on over its indented or "| " lines. */
		while (*q && (*q == ' ' || *q == '\t' || *q == '|' || (k >= 0 && !strncmp(q, "missing:", 8)) ||
			      (k >= 0 && !strncmp(q, "not expected:", 13)))) {
			q += strcspn(q, "\n");
			q += *q == '\n';
		}
		if (k >= 0) {
			start[k] = p;
			end[k] = q;
		} else {
			sb_add(&rest, p, (size_t)(q - p));
		}
		p = q;
	}
	for (int i = 0; i < 3; i++)
		if (start[i])
			tap_block(f, kinds[i], start[i], (size_t)(end[i] - start[i]));
	if (rest.len)
		tap_block(f, "details", rest.buf, rest.len);
	sb_release(&rest);
}

/* A test's name in a TAP line: a '#' would start a directive (# SKIP). */
static void
tap_name(FILE *f, const char *text)
{
	char *name = safe_text(text, ONE_LINE);
	for (const char *s = name; *s; s++) {
		if (*s == '#' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	free(name);
}

static void
tap_test(FILE *f, const struct graded_test *t, size_t n)
{
	if (t->status == ST_BUILD_FAILED) {
		fprintf(f, "ok %zu - ", n);
		tap_name(f, t->name);
		fprintf(f, " # SKIP %s\n", not_run_after_build);
		return;
	}
	fprintf(f, "%s %zu - ", t->status == ST_PASS ? "ok" : "not ok", n);
	tap_name(f, t->name);
	fputc('\n', f);
	if (t->status == ST_PASS)
		return;
	fprintf(f, "  ---\n  message: ");
	tap_scalar(f, t->message);
	fprintf(f, "\n  severity: %s\n  status: %s\n  score: %d\n  max_score: %d\n  visible: %s\n  duration_ms: %ld\n",
		t->status == ST_ERROR ? "error" : "fail", status_name(t->status), t->score, t->max_score,
		t->visible ? "true" : "false", t->duration_ms);
	tap_details(f, t->details);
	fprintf(f, "  reproduce: ");
	tap_scalar(f, t->reproduce);
	fprintf(f, "\n  ...\n");
}

static void
write_tap(FILE *f, const struct grade_report *g)
{
	size_t n = 1;
	fprintf(f, "TAP version 13\n1..%zu\n", 1 + g->ntests + g->nskipped);
	int build_ok = !g->error && !strcmp(or_empty(g->build_status), "ok");
	fprintf(f, "%s %zu - build\n", build_ok ? "ok" : "not ok", n++);
	if (!build_ok || g->build_warnings) {
		fprintf(f, "  ---\n  message: ");
		tap_scalar(f, g->error ? g->error
				       : build_ok ? "the compiler warned" : "the submission does not build");
		fprintf(f, "\n  severity: %s\n  status: %s\n  score: %d\n  max_score: %d\n",
			g->error ? "error" : build_ok ? "warning" : "fail", report_status(g), g->score, g->max_score);
		if (g->build_log && *g->build_log)
			tap_block(f, "log", g->build_log, strlen(g->build_log));
		fprintf(f, "  ...\n");
	}
	for (size_t i = 0; i < g->ntests; i++)
		tap_test(f, &g->tests[i], n++);
	for (size_t i = 0; i < g->nskipped; i++) {
		fprintf(f, "ok %zu - ", n++);
		tap_name(f, g->skipped[i].name);
		fprintf(f, " # SKIP %s\n", skip_reason(&g->skipped[i]));
	}
	fprintf(f, "# score: %d/%d\n", g->score, g->max_score);
}

int
report_write(FILE *f, const struct grade_report *g, const char *format)
{
	int rc = 0;
	if (!strcmp(format, "text"))
		write_text(f, g);
	else if (!strcmp(format, "json"))
		rc = write_json(f, g);
	else if (!strcmp(format, "junit"))
		write_junit(f, g);
	else if (!strcmp(format, "tap"))
		write_tap(f, g);
	else if (!strcmp(format, "gradescope"))
		rc = write_gradescope(f, g);
	else
		return -1;
	if (fflush(f) != 0 || ferror(f))
		rc = -1;
	return rc;
}

static int
is_stdout(const char *path)
{
	return !path || !strcmp(path, "-");
}

/* Splits path into its folder (a copy; the caller frees) and its last
 * name.  Returns -1 with errno EISDIR when the path names a folder. */
static int
split_path(const char *path, char **dir, const char **base)
{
	const char *slash = strrchr(path, '/');
	*base = slash ? slash + 1 : path;
	if (!**base || !strcmp(*base, ".") || !strcmp(*base, "..")) {
		errno = EISDIR;
		return -1;
	}
	*dir = !slash ? xstrdup(".") : slash == path ? xstrdup("/") : xstrfmt("%.*s", (int)(slash - path), path);
	return 0;
}

int
report_output_check(const char *path, char *err, size_t errlen)
{
	if (is_stdout(path))
		return 0;
	char *dir;
	const char *base;
	struct stat st;
	if (split_path(path, &dir, &base) < 0)
		return errf(err, errlen, "cannot write \"%s\": it names a folder, not a file", path);
	int rc = 0;
	if (stat(dir, &st) < 0)
		rc = errf(err, errlen, "cannot write \"%s\": folder \"%s\": %s", path, dir, strerror(errno));
	else if (!S_ISDIR(st.st_mode))
		rc = errf(err, errlen, "cannot write \"%s\": \"%s\" is not a folder", path, dir);
	else if (access(dir, W_OK | X_OK) < 0)
		rc = errf(err, errlen, "cannot write \"%s\": folder \"%s\": %s", path, dir, strerror(errno));
	else if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
		rc = errf(err, errlen, "cannot write \"%s\": it is a folder", path);
	free(dir);
	return rc;
}

/* Creates a new file beside base in the folder dirfd, never through an
 * existing file or symlink (O_EXCL, O_NOFOLLOW).  Returns its fd and its
 * name in name, or -1. */
static int
create_temp(int dirfd, const char *base, char *name, size_t namelen)
{
	static unsigned counter;
	struct timespec ts;
	for (int tries = 0; tries < 100; tries++) {
		if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
			ts.tv_nsec = 0;
		unsigned long nonce = (unsigned long)ts.tv_nsec ^ ((unsigned long)getpid() << 16) ^ ++counter * 2654435761u;
		/* The name stays short whatever base is, so it never exceeds NAME_MAX. */
		snprintf(name, namelen, ".%.40s.%lx.tmp", base, nonce);
		int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	return -1;
}

int
report_write_file(const struct grade_report *g, const char *format, const char *path, char *err, size_t errlen)
{
	if (is_stdout(path)) {
		errno = 0;
		if (report_write(stdout, g, format) < 0)
			return errf(err, errlen, "cannot write the report to standard output: %s",
				    errno ? strerror(errno) : "the report could not be formatted");
		return 0;
	}
	char *dir, tmp[80];
	const char *base, *what = NULL;
	int saved = 0, rc = -1;
	if (split_path(path, &dir, &base) < 0)
		return errf(err, errlen, "cannot write \"%s\": it names a folder, not a file", path);
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		saved = errno;
		goto out_dir;
	}
	int fd = create_temp(dirfd, base, tmp, sizeof tmp);
	if (fd < 0) {
		saved = errno;
		goto out_dirfd;
	}
	FILE *f = fdopen(fd, "w");
	if (!f) {
		saved = errno;
		close(fd);
		goto out_unlink;
	}
	errno = 0;
	if (report_write(f, g, format) < 0) {
		saved = errno;
		what = saved ? NULL : "the report could not be formatted";
		fclose(f);
		goto out_unlink;
	}
	/* On disk before it has the name: after a crash, the old report or the
	 * whole new one, never an empty file. */
	if (fsync(fd) < 0) {
		saved = errno;
		fclose(f);
		goto out_unlink;
	}
	if (fclose(f) != 0) {
		saved = errno;
		goto out_unlink;
	}
	/* rename replaces a symlink at path rather than following it. */
	if (renameat(dirfd, tmp, dirfd, base) < 0) {
		saved = errno;
		goto out_unlink;
	}
	/* Best effort: some file systems cannot sync a folder (EINVAL), and
	 * the report is complete under its name already. */
	(void)fsync(dirfd);
	rc = 0;
	goto out_dirfd;
out_unlink:
	unlinkat(dirfd, tmp, 0);
out_dirfd:
	close(dirfd);
out_dir:
	free(dir);
	if (rc < 0)
		errf(err, errlen, "cannot write \"%s\": %s", path, what ? what : strerror(saved));
	return rc;
}
