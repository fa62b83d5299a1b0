#define _GNU_SOURCE
#include "report.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define BUILD_LOG_LINES 20

static const char *const formats[] = { "text", "json", "junit", "tap", "gradescope", NULL };

int
report_format_known(const char *format)
{
	for (int i = 0; formats[i]; i++)
		if (!strcmp(formats[i], format))
			return 1;
	return 0;
}

/* The first n lines of text, indented. */
static void
head_lines(FILE *f, const char *text, int n, const char *indent)
{
	while (*text && n-- > 0) {
		size_t len = strcspn(text, "\n");
		fprintf(f, "%s%.*s\n", indent, (int)len, text);
		text += len + (text[len] == '\n');
	}
	if (*text)
		fprintf(f, "%s[...]\n", indent);
}

static void
write_text(FILE *f, const struct grade_report *g)
{
	fprintf(f, "%s: %s\n", g->lab, g->submission);
	fprintf(f, "isolation: %s (%s)\n", g->isolation_mode, g->isolation_detail);
	fprintf(f, "build: %s, %d warning%s\n", g->build_status, g->build_warnings, g->build_warnings == 1 ? "" : "s");
	if (g->build_warnings || strcmp(g->build_status, "ok"))
		head_lines(f, g->build_log, BUILD_LOG_LINES, "  | ");
	fputc('\n', f);
	for (size_t i = 0; i < g->ntests; i++) {
		const struct graded_test *t = &g->tests[i];
		char pts[32];
		snprintf(pts, sizeof pts, "%d/%d", t->score, t->max_score);
		fprintf(f, "  %-12s %-7s %-36s %s%s\n", t->status == ST_PASS ? "PASS" : status_name(t->status), pts,
			t->name, t->visible ? "" : "(hidden) ", t->status == ST_PASS ? "" : t->message);
	}
	fprintf(f, "\nscore: %d/%d\n", g->score, g->max_score);
	for (size_t i = 0; i < g->ntests; i++) {
		const struct graded_test *t = &g->tests[i];
		if (t->status == ST_PASS || t->status == ST_BUILD_FAILED) /* the build says it once */
			continue;
		fprintf(f, "\n--- %s: %s\n", t->name, status_name(t->status));
		if (t->description && *t->description)
			fprintf(f, "what it checks: %s\n", t->description);
		/* The details begin with every finding, the message among them. */
		if (t->details && *t->details)
			fprintf(f, "%s", t->details);
		else
			fprintf(f, "%s\n", t->message);
		fprintf(f, "reproduce: %s\n", t->reproduce);
	}
}

static json_t *
test_json(const struct graded_test *t)
{
	return json_pack("{s:s, s:s, s:i, s:i, s:b, s:I, s:s, s:s, s:s, s:s}", "name", t->name, "status",
			 status_name(t->status), "score", t->score, "max_score", t->max_score, "visible", t->visible,
			 "duration_ms", (json_int_t)t->duration_ms, "message", t->message, "details", t->details,
			 "reproduce", t->reproduce, "description", t->description ? t->description : "");
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

static int
write_json(FILE *f, const struct grade_report *g)
{
	json_t *tests = json_array();
	for (size_t i = 0; i < g->ntests; i++)
		json_array_append_new(tests, test_json(&g->tests[i]));
	json_t *o = json_pack("{s:s, s:s, s:i, s:i, s:{s:s, s:i, s:s}, s:{s:s, s:s}, s:I, s:o}", "lab", g->lab,
			      "submission", g->submission, "score", g->score, "max_score", g->max_score, "build",
			      "status", g->build_status, "warnings", g->build_warnings, "log", g->build_log,
			      "isolation", "mode", g->isolation_mode, "detail", g->isolation_detail, "seed",
			      (json_int_t)g->seed, "tests", tests);
	return dump_json(f, o);
}

static char *
test_output(const struct graded_test *t)
{
	return xstrfmt("%s\n%sreproduce: %s\n", t->message, t->details, t->reproduce);
}

static int
write_gradescope(FILE *f, const struct grade_report *g)
{
	json_t *tests = json_array();
	for (size_t i = 0; i < g->ntests; i++) {
		const struct graded_test *t = &g->tests[i];
		char *out = t->status == ST_PASS ? xstrdup("") : test_output(t);
		json_array_append_new(tests, json_pack("{s:s, s:i, s:i, s:s, s:s, s:s}", "name", t->name, "score",
						       t->score, "max_score", t->max_score, "status",
						       t->status == ST_PASS ? "passed" : "failed", "output", out,
						       "visibility", t->visible ? "visible" : "after_published"));
		free(out);
	}
	char *summary = xstrfmt("build: %s, %d warnings; isolation: %s", g->build_status, g->build_warnings,
				g->isolation_mode);
	json_t *o = json_pack("{s:i, s:s, s:o}", "score", g->score, "output", summary, "tests", tests);
	free(summary);
	return dump_json(f, o);
}

static void
xml_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
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
	xml_escape(f, g->lab);
	fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" time=\"%.3f\">\n", g->ntests, failures, errors,
		total_ms / 1000.0);
	for (size_t i = 0; i < g->ntests; i++) {
		const struct graded_test *t = &g->tests[i];
		fprintf(f, "  <testcase classname=\"");
		xml_escape(f, g->lab);
		fprintf(f, "\" name=\"");
		xml_escape(f, t->name);
		fprintf(f, "\" time=\"%.3f\">", t->duration_ms / 1000.0);
		if (t->status != ST_PASS) {
			const char *tag = t->status == ST_ERROR ? "error" : "failure";
			fprintf(f, "\n    <%s type=\"%s\" message=\"", tag, status_name(t->status));
			xml_escape(f, t->message);
			fprintf(f, "\">");
			char *out = test_output(t);
			xml_escape(f, out);
			free(out);
			fprintf(f, "</%s>\n  ", tag);
		}
		fprintf(f, "</testcase>\n");
	}
	fprintf(f, "</testsuite>\n</testsuites>\n");
}

static void
write_tap(FILE *f, const struct grade_report *g)
{
	fprintf(f, "TAP version 13\n1..%zu\n", g->ntests);
	for (size_t i = 0; i < g->ntests; i++) {
		const struct graded_test *t = &g->tests[i];
		fprintf(f, "%s %zu - %s\n", t->status == ST_PASS ? "ok" : "not ok", i + 1, t->name);
		if (t->status == ST_PASS)
			continue;
		fprintf(f, "  ---\n  status: %s\n  message: ", status_name(t->status));
		json_t *s = json_string(t->message); /* a JSON string is a valid YAML scalar */
		json_dumpf(s, f, JSON_ENCODE_ANY);
		json_decref(s);
		fprintf(f, "\n  reproduce: ");
		s = json_string(t->reproduce);
		json_dumpf(s, f, JSON_ENCODE_ANY);
		json_decref(s);
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
