/* The class report of a graded batch: read every result, count, draw.
 * The reading half (load_*) turns results/<file>.json into a struct klass;
 * the writing half (html_*) turns that into one HTML page.  See
 * classreport.h for what the page holds and why it is safe to open. */
#define _GNU_SOURCE
#include "classreport.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "result.h"

#define NSTATUS (ST_BUILD_FAILED + 1)
#define MAX_RESULT_BYTES (64 << 20) /* a result holds capped outputs: far less */
#define TOP_FAILURES 12
#define TOP_SLOW 10
#define EXAMPLES 4

/* ---- the class, as read ------------------------------------------------ */

struct sub_test {
	size_t test; /* index in klass.tests */
	enum status status;
	int score, max_score;
	long ms;
};

struct submission {
	char *id;
	int score, max_score, build_failed, graded;
	struct sub_test *tests;
	size_t ntests;
	long ms; /* all its tests */
};

struct test_stat {
	char *name;
	int max_score, visible;
	int runs, count[NSTATUS];
	long sum_ms, max_ms;
	size_t slowest; /* index of the submission of max_ms */
};

/* One failure message of one test, digits ignored when grouping
 * ("server.c:50" and "server.c:52" are one kind of failure). */
struct failure {
	char *key, *message;
	size_t test;
	enum status status;
	int count;
	struct strvec examples; /* submission ids, at most EXAMPLES */
};

struct klass {
	char *lab, *grader_version;
	struct submission *subs;
	size_t nsubs, cap_subs;
	struct test_stat *tests;
	size_t ntests;
	struct failure *fails;
	size_t nfails;
	int refused, pending;    /* from batch.json: submissions with no result */
	struct strvec unreadable; /* result files that could not be read */
};

static void
klass_release(struct klass *k)
{
	for (size_t i = 0; i < k->nsubs; i++) {
		free(k->subs[i].id);
		free(k->subs[i].tests);
	}
	free(k->subs);
	for (size_t i = 0; i < k->ntests; i++)
		free(k->tests[i].name);
	free(k->tests);
	for (size_t i = 0; i < k->nfails; i++) {
		free(k->fails[i].key);
		free(k->fails[i].message);
		sv_clear(&k->fails[i].examples);
	}
	free(k->fails);
	sv_clear(&k->unreadable);
	free(k->lab);
	free(k->grader_version);
	memset(k, 0, sizeof *k);
}

static const char *
jstring(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static long
jint(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_integer(v) ? (long)json_integer_value(v) : json_is_real(v) ? (long)json_real_value(v) : 0;
}

static size_t
test_index(struct klass *k, const char *name, int max_score, int visible)
{
	for (size_t i = 0; i < k->ntests; i++)
		if (!strcmp(k->tests[i].name, name))
			return i;
	k->tests = xrealloc(k->tests, (k->ntests + 1) * sizeof *k->tests);
	k->tests[k->ntests] = (struct test_stat){ .name = xstrdup(name), .max_score = max_score, .visible = visible };
	return k->ntests++;
}

static char *
failure_key(const char *message)
{
	struct strbuf sb = STRBUF_INIT;
	for (const char *s = message; *s; s++) {
		if (*s >= '0' && *s <= '9') {
			while (s[1] >= '0' && s[1] <= '9')
				s++;
			sb_adds(&sb, "#");
		} else {
			sb_add(&sb, s, 1);
		}
	}
	return sb_detach(&sb);
}

static void
count_failure(struct klass *k, size_t test, enum status status, const char *message, const char *id)
{
	char *key = failure_key(*message ? message : "(no message)");
	struct failure *f = NULL;
	for (size_t i = 0; i < k->nfails && !f; i++)
		if (k->fails[i].test == test && k->fails[i].status == status && !strcmp(k->fails[i].key, key))
			f = &k->fails[i];
	if (!f) {
		k->fails = xrealloc(k->fails, (k->nfails + 1) * sizeof *k->fails);
		f = &k->fails[k->nfails++];
		*f = (struct failure){ .key = key, .message = xstrdup(*message ? message : "(no message)"),
				       .test = test, .status = status };
		key = NULL;
	}
	free(key);
	f->count++;
	if (f->examples.n < EXAMPLES)
		sv_push(&f->examples, id);
}

/* The id a result is known by: its batch.id, else its file name without
 * .json (batch writes ids %XX-escaped there: decoded). */
static char *
result_id(json_t *r, const char *file)
{
	const char *id = jstring(json_object_get(r, "batch"), "id");
	if (*id)
		return xstrdup(id);
	struct strbuf sb = STRBUF_INIT;
	size_t len = strlen(file) - 5;
	for (size_t i = 0; i < len; i++) {
		unsigned v;
		if (file[i] == '%' && i + 2 < len && sscanf(file + i + 1, "%2x", &v) == 1 && v) {
			char c = (char)v;
			sb_add(&sb, &c, 1);
			i += 2;
		} else {
			sb_add(&sb, file + i, 1);
		}
	}
	return sb_detach(&sb);
}

static void
load_result(struct klass *k, json_t *r, const char *file)
{
	if (k->nsubs == k->cap_subs) {
		k->cap_subs = k->cap_subs ? 2 * k->cap_subs : 64;
		k->subs = xrealloc(k->subs, k->cap_subs * sizeof *k->subs);
	}
	struct submission *s = &k->subs[k->nsubs++];
	json_t *tests = json_object_get(r, "tests");
	*s = (struct submission){ .id = result_id(r, file), .score = (int)jint(r, "score"),
				  .max_score = (int)jint(r, "max_score"),
				  .build_failed = !strcmp(jstring(json_object_get(r, "build"), "status"), "failed"),
				  .tests = xcalloc(json_array_size(tests) + 1, sizeof *s->tests) };
	if (!k->lab && *jstring(r, "lab"))
		k->lab = xstrdup(jstring(r, "lab"));
	size_t i;
	json_t *t;
	json_array_foreach(tests, i, t) {
		int st = status_from_name(jstring(t, "status"));
		struct sub_test *x = &s->tests[s->ntests++];
		*x = (struct sub_test){ .status = st < 0 ? ST_ERROR : (enum status)st, .score = (int)jint(t, "score"),
					.max_score = (int)jint(t, "max_score"), .ms = jint(t, "duration_ms") };
		x->test = test_index(k, jstring(t, "name"), x->max_score, json_is_true(json_object_get(t, "visible")));
		struct test_stat *ts = &k->tests[x->test];
		ts->runs++;
		ts->count[x->status]++;
		ts->sum_ms += x->ms;
		if (x->ms > ts->max_ms || ts->runs == 1) {
			ts->max_ms = x->ms;
			ts->slowest = k->nsubs - 1;
		}
		s->ms += x->ms;
		if (x->status != ST_PASS && x->status != ST_BUILD_FAILED)
			count_failure(k, x->test, x->status, jstring(t, "message"), s->id);
	}
}

/* batch.json, when there is one: the tests in the spec's order (so that
 * the page follows the handout), the grader's version, and the
 * submissions that have no result (refused, pending). */
static void
load_batch(struct klass *k, const char *dir)
{
	char *path = xstrfmt("%s/batch.json", dir);
	json_t *b = json_load_file(path, 0, NULL);
	free(path);
	if (!b)
		return;
	if (*jstring(b, "lab"))
		k->lab = xstrdup(jstring(b, "lab"));
	if (*jstring(b, "grader_version"))
		k->grader_version = xstrdup(jstring(b, "grader_version"));
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(b, "tests"), i, v)
		test_index(k, jstring(v, "name"), (int)jint(v, "max_score"), json_is_true(json_object_get(v, "visible")));
	json_array_foreach(json_object_get(b, "submissions"), i, v) {
		k->refused += !strcmp(jstring(v, "state"), "refused");
		k->pending += !strcmp(jstring(v, "state"), "pending");
	}
	json_decref(b);
}

static int
compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The result files, in name order (the page is the same run after run). */
static int
list_results(const char *results, struct strvec *files, char *err, size_t errlen)
{
	DIR *d = opendir(results);
	if (!d)
		return errf(err, errlen, "cannot read \"%s\": %s (is this a folder written by grader batch?)", results,
			    strerror(errno));
	for (struct dirent *e; (e = readdir(d));) {
		size_t n = strlen(e->d_name);
		if (e->d_name[0] != '.' && n > 5 && !strcmp(e->d_name + n - 5, ".json"))
			sv_push(files, e->d_name);
	}
	closedir(d);
	if (files->n)
		qsort(files->v, files->n, sizeof *files->v, compare_strings);
	return 0;
}

static int
load_class(struct klass *k, const char *dir, char *err, size_t errlen)
{
	memset(k, 0, sizeof *k);
	load_batch(k, dir);
	char *results = xstrfmt("%s/results", dir);
	struct strvec files = STRVEC_INIT;
	int rc = list_results(results, &files, err, errlen);
	for (size_t i = 0; rc == 0 && i < files.n; i++) {
		char *path = xstrfmt("%s/%s", results, files.v[i]);
		struct stat st;
		json_t *r = NULL;
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= MAX_RESULT_BYTES)
			r = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
		if (r && json_is_object(r) && json_is_array(json_object_get(r, "tests")))
			load_result(k, r, files.v[i]);
		else
			sv_push(&k->unreadable, files.v[i]);
		json_decref(r);
		free(path);
	}
	if (rc == 0 && k->nsubs == 0)
		rc = errf(err, errlen, "no result in \"%s\"%s: grade the class first (grader batch LAB ROOT --output %s)",
			  results, k->unreadable.n ? " could be read" : "", dir);
	sv_clear(&files);
	free(results);
	return rc;
}

/* ---- the page ---------------------------------------------------------- */

void
classreport_escape(struct strbuf *sb, const char *text)
{
	const unsigned char *s = (const unsigned char *)(text ? text : "");
	while (*s) {
		uint32_t cp;
		size_t n = utf8_decode(s, SIZE_MAX, &cp);
		if (!n) {
			sb_addf(sb, "\\x%02x", *s++);
			continue;
		}
		switch (cp) {
		case '&': sb_adds(sb, "&amp;"); break;
		case '<': sb_adds(sb, "&lt;"); break;
		case '>': sb_adds(sb, "&gt;"); break;
		case '"': sb_adds(sb, "&quot;"); break;
		case '\'': sb_adds(sb, "&#39;"); break;
		default:
			if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
				sb_addf(sb, "\\x%02x", cp);
			else if ((cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 ||
				 cp == 0x2029 || cp == 0xFFFE || cp == 0xFFFF)
				sb_addf(sb, "\\u{%04X}", cp);
			else
				sb_add(sb, s, n);
		}
		s += n;
	}
}

static void
esc(struct strbuf *sb, const char *text)
{
	classreport_escape(sb, text);
}

/* Status colours: the same in every plot and in the legend. */
static const char *const status_colour[NSTATUS] = {
	[ST_PASS] = "#2e9e5b", [ST_FAIL] = "#d64545",    [ST_CRASH] = "#8e44ad",
	[ST_TIMEOUT] = "#e08a1e", [ST_ERROR] = "#8a8f98", [ST_BUILD_FAILED] = "#3d4451",
};
static const char *const status_label[NSTATUS] = {
	[ST_PASS] = "pass", [ST_FAIL] = "fail", [ST_CRASH] = "crash",
	[ST_TIMEOUT] = "timeout", [ST_ERROR] = "grader error", [ST_BUILD_FAILED] = "build failed",
};

static const char css[] =
	"*{box-sizing:border-box}"
	"body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;"
	"color:#1d2330;background:#f4f6f9;margin:0;padding:24px 32px 48px}"
	"main{max-width:1120px;margin:0 auto}"
	"h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:0 0 4px}"
	".sub{color:#5b6475;margin:0 0 20px}"
	".note{color:#5b6475;font-size:13px;margin:4px 0 12px}"
	".cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px;margin:0 0 20px}"
	".card{background:#fff;border-radius:10px;padding:12px 16px;box-shadow:0 1px 3px rgba(20,30,50,.12)}"
	".card b{display:block;font-size:26px;line-height:1.2}.card span{color:#5b6475;font-size:13px}"
	".warn b{color:#b3261e}"
	"section{background:#fff;border-radius:10px;padding:18px 20px;margin:0 0 18px;"
	"box-shadow:0 1px 3px rgba(20,30,50,.12)}"
	".grid{display:grid;grid-template-columns:1fr 1fr;gap:18px}.grid section{margin:0}"
	"@media (max-width:900px){.grid{grid-template-columns:1fr}}"
	"svg{display:block;max-width:100%;height:auto}svg text{font-family:inherit}"
	"table{border-collapse:collapse;width:100%;font-size:14px}"
	"th{text-align:left;color:#5b6475;font-weight:600;border-bottom:2px solid #e3e7ee;padding:6px 8px}"
	"td{border-bottom:1px solid #eef1f5;padding:6px 8px;vertical-align:top}"
	"td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
	"code{font:13px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f0f2f6;"
	"padding:1px 5px;border-radius:4px;word-break:break-word}"
	".msg{word-break:break-word}.ids{color:#5b6475;font-size:13px}td.t{white-space:nowrap}"
	".tag{display:inline-block;font-size:11px;padding:0 6px;border-radius:8px;background:#e8ebf1;color:#4a5263;"
	"margin-left:6px;vertical-align:1px}"
	".st{display:inline-block;font-size:11px;font-weight:600;color:#fff;padding:0 6px;border-radius:8px;"
	"margin-right:6px;vertical-align:1px}"
	".legend{display:flex;flex-wrap:wrap;gap:14px;font-size:13px;color:#4a5263;margin:6px 0 10px}"
	".legend i{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:5px;vertical-align:-1px}"
	"details summary{cursor:pointer;font-weight:600;font-size:19px}"
	"footer{color:#8a91a0;font-size:12px;text-align:center;margin-top:24px}";

static void
legend(struct strbuf *h, const struct klass *k)
{
	sb_adds(h, "<div class=\"legend\">");
	for (int st = 0; st < NSTATUS; st++) {
		int used = st == ST_PASS;
		for (size_t i = 0; i < k->ntests; i++)
			used |= k->tests[i].count[st] > 0;
		if (used)
			sb_addf(h, "<span><i style=\"background:%s\"></i>%s</span>", status_colour[st], status_label[st]);
	}
	sb_adds(h, "</div>");
}

static double
percent(long part, long whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static int
compare_ints(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

struct overview {
	int max_score, full, zero, build_failed, errors;
	double mean, median;
};

static struct overview
overview(const struct klass *k)
{
	struct overview o = { 0 };
	int *scores = xcalloc(k->nsubs, sizeof *scores);
	double sum = 0;
	for (size_t i = 0; i < k->nsubs; i++) {
		const struct submission *s = &k->subs[i];
		o.max_score = s->max_score > o.max_score ? s->max_score : o.max_score;
		scores[i] = s->score;
		sum += s->score;
		o.build_failed += s->build_failed;
		int err = 0;
		for (size_t j = 0; j < s->ntests; j++)
			err |= s->tests[j].status == ST_ERROR;
		o.errors += err;
	}
	for (size_t i = 0; i < k->nsubs; i++) {
		o.full += k->subs[i].max_score > 0 && k->subs[i].score == k->subs[i].max_score;
		o.zero += k->subs[i].score == 0;
	}
	qsort(scores, k->nsubs, sizeof *scores, compare_ints);
	o.mean = sum / (double)k->nsubs;
	o.median = k->nsubs % 2 ? scores[k->nsubs / 2] : (scores[k->nsubs / 2 - 1] + scores[k->nsubs / 2]) / 2.0;
	free(scores);
	return o;
}

static void
card(struct strbuf *h, const char *value, const char *label, int warn)
{
	sb_addf(h, "<div class=\"card%s\"><b>%s</b><span>%s</span></div>", warn ? " warn" : "", value, label);
}

static void
html_cards(struct strbuf *h, const struct klass *k, const struct overview *o)
{
	char v[64], l[96];
	sb_adds(h, "<div class=\"cards\">");
	snprintf(v, sizeof v, "%zu", k->nsubs);
	card(h, v, "submissions graded", 0);
	snprintf(v, sizeof v, "%.1f / %d", o->mean, o->max_score);
	snprintf(l, sizeof l, "mean score (%.0f%%)", percent((long)(o->mean * 100), (long)o->max_score * 100));
	card(h, v, l, 0);
	snprintf(v, sizeof v, "%g", o->median);
	card(h, v, "median score", 0);
	snprintf(v, sizeof v, "%d", o->full);
	snprintf(l, sizeof l, "full marks (%.0f%%)", percent(o->full, (long)k->nsubs));
	card(h, v, l, 0);
	snprintf(v, sizeof v, "%d", o->build_failed);
	card(h, v, "did not build", o->build_failed > 0);
	if (o->errors) {
		snprintf(v, sizeof v, "%d", o->errors);
		card(h, v, "with a grader error (regrade)", 1);
	}
	if (k->refused || k->pending) {
		snprintf(v, sizeof v, "%d", k->refused + k->pending);
		snprintf(l, sizeof l, "not graded (%d refused, %d pending)", k->refused, k->pending);
		card(h, v, l, 1);
	}
	sb_adds(h, "</div>");
}

/* Bar heights of the histogram: one bar per point up to 30 points, else
 * 20 bins. */
static void
html_histogram(struct strbuf *h, const struct klass *k, const struct overview *o)
{
	int bins = o->max_score <= 30 ? o->max_score + 1 : 20;
	int *count = xcalloc((size_t)bins, sizeof *count), top = 1;
	for (size_t i = 0; i < k->nsubs; i++) {
		int s = k->subs[i].score < 0 ? 0 : k->subs[i].score > o->max_score ? o->max_score : k->subs[i].score;
		int b = o->max_score <= 30 ? s : (int)((long)s * (bins - 1) / (o->max_score ? o->max_score : 1));
		count[b]++;
	}
	for (int b = 0; b < bins; b++)
		top = count[b] > top ? count[b] : top;
	int step = (top + 3) / 4; /* four whole-number grid steps above the tallest bar */
	top = step * 4;
	const int W = 520, H = 230, left = 40, bottom = 40, plot_w = W - left - 10, plot_h = H - bottom - 24;
	double bw = (double)plot_w / bins;
	sb_adds(h, "<section><h2>Score distribution</h2><p class=\"note\">How many submissions got each score");
	sb_addf(h, " (mean %.1f, median %g of %d).</p>", o->mean, o->median, o->max_score);
	sb_addf(h, "<svg viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"score histogram\">",
		W, H, W, H);
	for (int g = 0; g <= 4; g++) {
		double y = 24 + plot_h - plot_h * g / 4.0;
		sb_addf(h, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e3e7ee\"/>", left, W - 10, y, y);
		sb_addf(h, "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" fill=\"#8a91a0\" text-anchor=\"end\">%d</text>",
			left - 6, y + 4, step * g);
	}
	for (int b = 0; b < bins; b++) {
		double x = left + b * bw + bw * 0.12, w = bw * 0.76, bh = (double)plot_h * count[b] / top;
		double frac = bins > 1 ? (double)b / (bins - 1) : 1;
		const char *fill = frac >= 0.999 ? "#2e9e5b" : frac >= 0.5 ? "#7fa7d9" : "#d98b7f";
		sb_addf(h, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" rx=\"2\" fill=\"%s\">", x,
			24 + plot_h - bh, w, bh, fill);
		sb_addf(h, "<title>score %d: %d submission%s</title></rect>", o->max_score <= 30 ? b : b * o->max_score / (bins - 1),
			count[b], count[b] == 1 ? "" : "s");
		if (count[b])
			sb_addf(h, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\" fill=\"#1d2330\">%d</text>",
				x + w / 2, 24 + plot_h - bh - 4, count[b]);
		if (bins <= 16 || b % 2 == 0 || b == bins - 1)
			sb_addf(h, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\" fill=\"#5b6475\">%d</text>",
				x + w / 2, H - bottom + 16, o->max_score <= 30 ? b : b * o->max_score / (bins - 1));
	}
	sb_addf(h, "<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\" fill=\"#5b6475\">score (points)</text>",
		left + plot_w / 2, H - 6);
	sb_adds(h, "</svg></section>");
	free(count);
}

/* One stacked bar per test: how the runs of it ended. */
static void
html_pass_rates(struct strbuf *h, const struct klass *k)
{
	const int label_w = 300, bar_w = 460, row = 26, W = label_w + bar_w + 90;
	int H = (int)k->ntests * row + 8;
	sb_adds(h, "<section><h2>Tests: how each one ended</h2><p class=\"note\">One bar per test, in the lab's "
		   "order; the share of submissions that passed is on the right.</p>");
	legend(h, k);
	sb_addf(h, "<svg viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"pass rate per test\">",
		W, H, W, H);
	for (size_t i = 0; i < k->ntests; i++) {
		const struct test_stat *t = &k->tests[i];
		int y = (int)i * row + 4;
		sb_addf(h, "<text x=\"%d\" y=\"%d\" font-size=\"13\" text-anchor=\"end\" fill=\"#1d2330\">", label_w - 10,
			y + 15);
		esc(h, t->name);
		sb_addf(h, "%s</text>", t->visible ? "" : " (hidden)");
		double x = label_w;
		for (int st = 0; st < NSTATUS && t->runs; st++) {
			if (!t->count[st])
				continue;
			double w = (double)bar_w * t->count[st] / t->runs;
			sb_addf(h, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"18\" fill=\"%s\"><title>", x, y + 2, w,
				status_colour[st]);
			esc(h, t->name);
			sb_addf(h, ": %s %d of %d</title></rect>", status_label[st], t->count[st], t->runs);
			x += w;
		}
		if (!t->runs)
			sb_addf(h, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"18\" fill=\"#eef1f5\"/>", label_w, y + 2, bar_w);
		sb_addf(h, "<text x=\"%d\" y=\"%d\" font-size=\"13\" font-weight=\"600\" fill=\"#1d2330\">%.0f%%</text>",
			label_w + bar_w + 10, y + 15, percent(t->count[ST_PASS], t->runs));
	}
	sb_adds(h, "</svg></section>");
}

static int
compare_failures(const void *a, const void *b)
{
	const struct failure *x = a, *y = b;
	if (x->count != y->count)
		return y->count - x->count;
	return x->test != y->test ? (x->test > y->test) - (x->test < y->test) : strcmp(x->key, y->key);
}

static void
html_failures(struct strbuf *h, struct klass *k)
{
	qsort(k->fails, k->nfails, sizeof *k->fails, compare_failures);
	sb_adds(h, "<section><h2>Most common failures</h2>");
	if (!k->nfails) {
		sb_adds(h, "<p class=\"note\">No test failed.</p></section>");
		return;
	}
	sb_addf(h, "<p class=\"note\">The %s failure messages (numbers such as line numbers and ports ignored when "
		   "grouping), with some of the submissions that got each.</p>",
		k->nfails > TOP_FAILURES ? "most frequent" : "");
	sb_adds(h, "<table><thead><tr><th class=\"n\">submissions</th><th>test</th><th>message</th>"
		   "<th>for example</th></tr></thead><tbody>");
	for (size_t i = 0; i < k->nfails && i < TOP_FAILURES; i++) {
		const struct failure *f = &k->fails[i];
		sb_addf(h, "<tr><td class=\"n\">%d</td><td class=\"t\"><code>", f->count);
		esc(h, k->tests[f->test].name);
		sb_addf(h, "</code>%s</td><td class=\"msg\">", k->tests[f->test].visible ? "" : "<span class=\"tag\">hidden</span>");
		if (f->status != ST_FAIL) /* a crash, a timeout, the grader's own error: said before the message */
			sb_addf(h, "<span class=\"st\" style=\"background:%s\">%s</span> ", status_colour[f->status],
				status_label[f->status]);
		esc(h, f->message);
		sb_adds(h, "</td><td class=\"ids\">");
		for (size_t e = 0; e < f->examples.n; e++) {
			sb_adds(h, e ? ", " : "");
			esc(h, f->examples.v[e]);
		}
		if (f->count > (int)f->examples.n)
			sb_addf(h, " and %d more", f->count - (int)f->examples.n);
		sb_adds(h, "</td></tr>");
	}
	sb_adds(h, "</tbody></table>");
	if (k->nfails > TOP_FAILURES)
		sb_addf(h, "<p class=\"note\">%zu other kinds of failure are in the results.</p>", k->nfails - TOP_FAILURES);
	sb_adds(h, "</section>");
}

static const struct klass *sort_class; /* for compare_slow: qsort has no context */

static int
compare_slow(const void *a, const void *b)
{
	const struct test_stat *x = &sort_class->tests[*(const size_t *)a], *y = &sort_class->tests[*(const size_t *)b];
	double mx = x->runs ? (double)x->sum_ms / x->runs : 0, my = y->runs ? (double)y->sum_ms / y->runs : 0;
	return (mx < my) - (mx > my);
}

static void
html_slowest(struct strbuf *h, const struct klass *k)
{
	size_t *order = xcalloc(k->ntests + 1, sizeof *order), n = 0;
	for (size_t i = 0; i < k->ntests; i++)
		if (k->tests[i].runs)
			order[n++] = i;
	sort_class = k;
	qsort(order, n, sizeof *order, compare_slow);
	n = n > TOP_SLOW ? TOP_SLOW : n;
	long top = 1;
	for (size_t i = 0; i < n; i++)
		top = k->tests[order[i]].max_ms > top ? k->tests[order[i]].max_ms : top;
	const int label_w = 240, bar_w = 190, row = 26, W = label_w + bar_w + 10;
	int H = (int)n * row + 26;
	sb_adds(h, "<section><h2>Slowest tests</h2><p class=\"note\">Mean time per submission (bar) and the slowest "
		   "one (tick), in seconds.</p>");
	sb_addf(h, "<svg viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"slowest tests\">", W,
		H, W, H);
	for (size_t i = 0; i < n; i++) {
		const struct test_stat *t = &k->tests[order[i]];
		double mean = (double)t->sum_ms / t->runs;
		int y = (int)i * row + 4;
		double w = bar_w * mean / top, wx = (double)bar_w * t->max_ms / top;
		sb_addf(h, "<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"end\" fill=\"#1d2330\">", label_w - 8,
			y + 14);
		esc(h, t->name);
		sb_addf(h, "</text><rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"16\" rx=\"2\" fill=\"#7fa7d9\"><title>",
			label_w, y + 2, w < 1 ? 1 : w);
		esc(h, t->name);
		sb_addf(h, ": mean %.2f s, slowest %.2f s (", mean / 1000, t->max_ms / 1000.0);
		esc(h, k->subs[t->slowest].id);
		sb_addf(h, ")</title></rect><line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#1d2330\" "
			   "stroke-width=\"2\"/>",
			label_w + wx, label_w + wx, y, y + 20);
		sb_addf(h, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" fill=\"#5b6475\">%.2f</text>",
			label_w + w + 4 > label_w + wx - 30 && wx - w < 34 ? label_w + wx + 4 : label_w + w + 4, y + 14,
			mean / 1000);
	}
	sb_addf(h, "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"#8a91a0\">0</text>", label_w, H - 4);
	sb_addf(h, "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"#8a91a0\" text-anchor=\"end\">%.1f s</text>", W - 2,
		H - 4, top / 1000.0);
	sb_adds(h, "</svg></section>");
	free(order);
}

static int
compare_subs(const void *a, const void *b)
{
	const struct submission *x = a, *y = b;
	return x->score != y->score ? (x->score > y->score) - (x->score < y->score) : strcmp(x->id, y->id);
}

/* Every submission, lowest score first: who needs help. */
static void
html_submissions(struct strbuf *h, struct klass *k)
{
	qsort(k->subs, k->nsubs, sizeof *k->subs, compare_subs);
	sb_addf(h, "<section><details%s><summary>Every submission (%zu), lowest score first</summary>",
		k->nsubs <= 40 ? " open" : "", k->nsubs);
	sb_adds(h, "<table><thead><tr><th>submission</th><th class=\"n\">score</th><th>tests not passed</th>"
		   "<th class=\"n\">time</th></tr></thead><tbody>");
	for (size_t i = 0; i < k->nsubs; i++) {
		const struct submission *s = &k->subs[i];
		sb_adds(h, "<tr><td>");
		esc(h, s->id);
		sb_addf(h, "</td><td class=\"n\">%d / %d</td><td class=\"ids\">", s->score, s->max_score);
		if (s->build_failed) {
			sb_adds(h, "the build failed");
		} else {
			int any = 0;
			for (size_t j = 0; j < s->ntests; j++) {
				if (s->tests[j].status == ST_PASS)
					continue;
				sb_adds(h, any++ ? ", " : "");
				esc(h, k->tests[s->tests[j].test].name);
				if (s->tests[j].status != ST_FAIL)
					sb_addf(h, " (%s)", status_label[s->tests[j].status]);
			}
			sb_adds(h, any ? "" : "&mdash;");
		}
		sb_addf(h, "</td><td class=\"n\">%.1f s</td></tr>", s->ms / 1000.0);
	}
	sb_adds(h, "</tbody></table></details></section>");
}

static void
html_page(struct strbuf *h, struct klass *k)
{
	struct overview o = overview(k);
	char when[32] = "";
	time_t now = time(NULL);
	struct tm tm;
	if (gmtime_r(&now, &tm))
		strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm);
	sb_adds(h, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		   "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
		   "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>");
	esc(h, k->lab ? k->lab : "lab");
	sb_addf(h, ": class report</title><style>%s</style></head>\n<body><main><h1>", css);
	esc(h, k->lab ? k->lab : "lab");
	sb_adds(h, ": class report</h1><p class=\"sub\">");
	sb_addf(h, "%zu submission%s, %zu test%s, %d points", k->nsubs, k->nsubs == 1 ? "" : "s", k->ntests,
		k->ntests == 1 ? "" : "s", o.max_score);
	if (k->grader_version) {
		sb_adds(h, " &middot; grader ");
		esc(h, k->grader_version);
	}
	sb_addf(h, " &middot; written %s</p>\n", when);
	html_cards(h, k, &o);
	if (k->unreadable.n) {
		sb_addf(h, "<p class=\"note\"><b>%zu result file%s could not be read</b> and %s left out: ", k->unreadable.n,
			k->unreadable.n == 1 ? "" : "s", k->unreadable.n == 1 ? "is" : "are");
		for (size_t i = 0; i < k->unreadable.n && i < 5; i++) {
			sb_adds(h, i ? ", " : "");
			esc(h, k->unreadable.v[i]);
		}
		sb_adds(h, k->unreadable.n > 5 ? "&hellip;</p>" : "</p>");
	}
	sb_adds(h, "<div class=\"grid\">");
	html_histogram(h, k, &o);
	html_slowest(h, k);
	sb_adds(h, "</div><div style=\"height:18px\"></div>\n");
	html_pass_rates(h, k);
	html_failures(h, k);
	html_submissions(h, k);
	sb_adds(h, "<footer>Written by <code>grader report</code> from the batch's results/*.json; "
		   "each submission's details are in its JSON.</footer></main></body></html>\n");
}

int
classreport_build(const char *batch_dir, struct strbuf *html, char *err, size_t errlen)
{
	struct klass k;
	if (load_class(&k, batch_dir, err, errlen) < 0) {
		klass_release(&k);
		return -1;
	}
	html_page(html, &k);
	int n = (int)k.nsubs;
	klass_release(&k);
	return n;
}

/* Writes data to path through a new file renamed over it: a reader never
 * sees half a page, and a symlink at path is replaced, not followed. */
static int
write_atomically(const char *path, const char *data, size_t len, char *err, size_t errlen)
{
	char *tmp = xstrfmt("%s.%ld.tmp", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	int rc = 0;
	if (fd < 0) {
		rc = errf(err, errlen, "cannot write \"%s\": %s", path, strerror(errno));
	} else {
		if (write_all(fd, data, len) < 0 || fsync(fd) < 0)
			rc = errf(err, errlen, "cannot write \"%s\": %s", path, strerror(errno));
		if (close(fd) < 0 && rc == 0)
			rc = errf(err, errlen, "cannot write \"%s\": %s", path, strerror(errno));
		if (rc == 0 && rename(tmp, path) < 0)
			rc = errf(err, errlen, "cannot write \"%s\": %s", path, strerror(errno));
		if (rc < 0)
			unlink(tmp);
	}
	free(tmp);
	return rc;
}

int
classreport_write(const char *batch_dir, const char *path, char *err, size_t errlen)
{
	struct strbuf html = STRBUF_INIT;
	int n = classreport_build(batch_dir, &html, err, errlen);
	if (n > 0) {
		if (!strcmp(path, "-")) {
			if (write_all(STDOUT_FILENO, html.buf, html.len) < 0)
				n = errf(err, errlen, "cannot write the report to standard output: %s", strerror(errno));
		} else if (write_atomically(path, html.buf, html.len, err, errlen) < 0) {
			n = -1;
		}
	}
	sb_release(&html);
	return n;
}
