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

/* The length of the valid UTF-8 sequence at s, its code point in *cp; 0
 * when invalid.  s is NUL-terminated, and NUL is no continuation byte. */
static size_t
utf8_decode(const unsigned char *s, uint32_t *cp)
{
	size_t len;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	} else if ((s[0] & 0xE0) == 0xC0) {
		len = 2;
		*cp = s[0] & 0x1F;
	} else if ((s[0] & 0xF0) == 0xE0) {
		len = 3;
		*cp = s[0] & 0x0F;
	} else if ((s[0] & 0xF8) == 0xF0) {
		len = 4;
		*cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (s[i] & 0x3F);
	}
	if ((len == 2 && *cp < 0x80) || (len == 3 && *cp < 0x800) || (len == 4 && *cp < 0x10000) ||
	    (*cp >= 0xD800 && *cp <= 0xDFFF) || *cp > 0x10FFFF)
		return 0;
	return len;
}

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
		size_t n = utf8_decode(s, &cp);
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
	if (g->hidden_not_run) {
		fprintf(f, "\n%d point%s in %d hidden test%s not run here: the final grade runs them too\n",
			g->hidden_points_not_run, g->hidden_points_not_run == 1 ? "" : "s", g->hidden_not_run,
			g->hidden_not_run == 1 ? "" : "s");
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

static json_t *
test_json(const struct graded_test *t)
{
	return json_pack("{s:o, s:s, s:i, s:i, s:b, s:I, s:o, s:o, s:o, s:o}", "name", jstr(t->name), "status",
			 status_name(t->status), "score", t->score, "max_score", t->max_score, "visible", t->visible,
			 "duration_ms", (json_int_t)t->duration_ms, "message", jstr(t->message), "details",
			 jstr(t->details), "reproduce", jstr(t->reproduce), "description", jstr(t->description));
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

static int
write_json(FILE *f, const struct grade_report *g)
{
	json_t *tests = json_array();
	int rc = tests ? 0 : -1;
	for (size_t i = 0; i < g->ntests && rc == 0; i++)
		rc = append(tests, test_json(&g->tests[i]));
	if (rc < 0) {
		json_decref(tests);
		return -1;
	}
	json_t *o = json_pack("{s:o, s:o, s:i, s:i, s:{s:o, s:i, s:o}, s:{s:o, s:o}, s:I, s:o}", "lab", jstr(g->lab),
			      "submission", jstr(g->submission), "score", g->score, "max_score", g->max_score,
			      "build", "status", jstr(g->build_status), "warnings", g->build_warnings, "log",
			      jstr(g->build_log), "isolation", "mode", jstr(g->isolation_mode), "detail",
			      jstr(g->isolation_detail), "seed", (json_int_t)g->seed, "tests", tests);
	return dump_json(f, o);
}

/* Raw: callers make it safe for their format. */
static char *
test_output(const struct graded_test *t)
{
	return xstrfmt("%s\n%sreproduce: %s\n", or_empty(t->message), or_empty(t->details), or_empty(t->reproduce));
}

static int
write_gradescope(FILE *f, const struct grade_report *g)
{
	json_t *tests = json_array();
	int rc = tests ? 0 : -1;
	for (size_t i = 0; i < g->ntests && rc == 0; i++) {
		const struct graded_test *t = &g->tests[i];
		char *out = t->status == ST_PASS ? xstrdup("") : test_output(t);
		rc = append(tests, json_pack("{s:o, s:i, s:i, s:s, s:o, s:s}", "name", jstr(t->name), "score",
					     t->score, "max_score", t->max_score, "status",
					     t->status == ST_PASS ? "passed" : "failed", "output", jstr(out),
					     "visibility", t->visible ? "visible" : "after_published"));
		free(out);
	}
	if (rc < 0) {
		json_decref(tests);
		return -1;
	}
	char *summary = xstrfmt("build: %s, %d warnings; isolation: %s", or_empty(g->build_status),
				g->build_warnings, or_empty(g->isolation_mode));
	json_t *o = json_pack("{s:i, s:o, s:o}", "score", g->score, "output", jstr(summary), "tests", tests);
	free(summary);
	return dump_json(f, o);
}

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

static void
write_junit(FILE *f, const struct grade_report *g)
{
	size_t failures = 0, errors = 0;
	long total_ms = 0;
	for (size_t i = 0; i < g->ntests; i++) {
		enum status st = g->tests[i].status;
		failures += st == ST_FAIL || st == ST_CRASH || st == ST_TIMEOUT || st == ST_BUILD_FAILED;
		errors += st == ST_ERROR;
		total_ms += g->tests[i].duration_ms;
	}
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n<testsuite name=\"");
	xml_escape(f, g->lab, 1);
	fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" time=\"%.3f\">\n", g->ntests, failures, errors,
		total_ms / 1000.0);
	for (size_t i = 0; i < g->ntests; i++) {
		const struct graded_test *t = &g->tests[i];
		fprintf(f, "  <testcase classname=\"");
		xml_escape(f, g->lab, 1);
		fprintf(f, "\" name=\"");
		xml_escape(f, t->name, 1);
		fprintf(f, "\" time=\"%.3f\">", t->duration_ms / 1000.0);
		if (t->status != ST_PASS) {
			const char *tag = t->status == ST_ERROR ? "error" : "failure";
			fprintf(f, "\n    <%s type=\"%s\" message=\"", tag, status_name(t->status));
			xml_escape(f, t->message, 1);
			fprintf(f, "\">");
			char *out = test_output(t);
			xml_escape(f, out, 0);
			free(out);
			fprintf(f, "</%s>\n  ", tag);
		}
		fprintf(f, "</testcase>\n");
	}
	fprintf(f, "</testsuite>\n</testsuites>\n");
}

/* A YAML scalar for a TAP diagnostic: a JSON string is one. */
static void
tap_scalar(FILE *f, const char *text)
{
	json_t *s = jstr(text);
	if (!s || json_dumpf(s, f, JSON_ENCODE_ANY) < 0)
		fputs("\"\"", f);
	json_decref(s);
}

static void
write_tap(FILE *f, const struct grade_report *g)
{
	fprintf(f, "TAP version 13\n1..%zu\n", g->ntests);
	for (size_t i = 0; i < g->ntests; i++) {
		const struct graded_test *t = &g->tests[i];
		fprintf(f, "%s %zu - ", t->status == ST_PASS ? "ok" : "not ok", i + 1);
		/* A '#' would start a directive (# SKIP, # TODO) in the description. */
		char *name = safe_text(t->name, ONE_LINE);
		for (const char *s = name; *s; s++) {
			if (*s == '#')
				fputc('\\', f);
			fputc(*s, f);
		}
		free(name);
		fputc('\n', f);
		if (t->status == ST_PASS)
			continue;
		fprintf(f, "  ---\n  status: %s\n  message: ", status_name(t->status));
		tap_scalar(f, t->message);
		fprintf(f, "\n  reproduce: ");
		tap_scalar(f, t->reproduce);
		fprintf(f, "\n  ...\n");
	}
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
