#define _GNU_SOURCE
#include "match.h"

#include <regex.h>
#include <stdlib.h>
#include <string.h>

#define DIFF_MAX_LINES 300

int
match_regex(const char *regex, const char *data, size_t len)
{
	regex_t rx;
	if (regcomp(&rx, regex, REG_EXTENDED | REG_NEWLINE) != 0)
		return -1;
	regmatch_t m[1] = { { 0, (regoff_t)len } };
	int rc = regexec(&rx, data, 1, m, REG_STARTEND) == 0;
	regfree(&rx);
	return rc;
}

struct lines {
	const char **start;
	size_t *len;
	size_t n;
};

/* Splits into lines; a final newline does not make an empty last line. */
static void
split_lines(const char *s, size_t len, struct lines *l)
{
	size_t cap = 16;
	l->start = xmalloc(cap * sizeof *l->start);
	l->len = xmalloc(cap * sizeof *l->len);
	l->n = 0;
	size_t i = 0;
	while (i < len) {
		const char *nl = memchr(s + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - s) : len;
		if (l->n == cap) {
			cap *= 2;
			l->start = xrealloc(l->start, cap * sizeof *l->start);
			l->len = xrealloc(l->len, cap * sizeof *l->len);
		}
		l->start[l->n] = s + i;
		l->len[l->n++] = end - i;
		i = end + 1;
	}
}

static void
lines_free(struct lines *l)
{
	free(l->start);
	free(l->len);
}

static int
line_eq(const struct lines *a, size_t i, const struct lines *b, size_t j)
{
	return a->len[i] == b->len[j] && !memcmp(a->start[i], b->start[j], a->len[i]);
}

static void
add_line(struct strbuf *sb, char tag, const struct lines *l, size_t i)
{
	sb_add(sb, &tag, 1);
	sb_adds(sb, " ");
	sb_add_printable(sb, l->start[i], l->len[i]);
	sb_adds(sb, "\n");
}

void
match_diff(struct strbuf *sb, const char *expected, size_t elen, const char *actual, size_t alen)
{
	struct lines e, a;
	split_lines(expected, elen, &e);
	split_lines(actual, alen, &a);
	if (e.n > DIFF_MAX_LINES || a.n > DIFF_MAX_LINES) {
		size_t i = 0;
		while (i < e.n && i < a.n && line_eq(&e, i, &a, i))
			i++;
		sb_addf(sb, "(too long for a full diff) first difference at line %zu:\n", i + 1);
		if (i < e.n)
			add_line(sb, '-', &e, i);
		if (i < a.n)
			add_line(sb, '+', &a, i);
		goto out;
	}
	/* Longest common subsequence, then walk it. */
	size_t w = a.n + 1;
	unsigned *lcs = xcalloc((e.n + 1) * w, sizeof *lcs);
	for (size_t i = e.n; i-- > 0;)
		for (size_t j = a.n; j-- > 0;)
			lcs[i * w + j] = line_eq(&e, i, &a, j) ? lcs[(i + 1) * w + j + 1] + 1
				: lcs[(i + 1) * w + j] > lcs[i * w + j + 1] ? lcs[(i + 1) * w + j] : lcs[i * w + j + 1];
	size_t i = 0, j = 0;
	while (i < e.n || j < a.n) {
		if (i < e.n && j < a.n && line_eq(&e, i, &a, j)) {
			add_line(sb, ' ', &e, i++);
			j++;
		} else if (j < a.n && (i == e.n || lcs[i * w + j + 1] >= lcs[(i + 1) * w + j])) {
			add_line(sb, '+', &a, j++);
		} else {
			add_line(sb, '-', &e, i++);
		}
	}
	free(lcs);
out:
	lines_free(&e);
	lines_free(&a);
}

static void
show_actual(struct strbuf *d, const char *what, const char *out, size_t len)
{
	if (!len) {
		sb_addf(d, "actual %s: (nothing)\n", what);
		return;
	}
	sb_addf(d, "actual %s:\n", what);
	sb_add_marked(d, "| ", out, len);
	if (out[len - 1] != '\n')
		sb_adds(d, "(no newline at the end)\n");
}

static void
show_expected(struct strbuf *d, const char *kind, const char *text)
{
	sb_addf(d, "expected (%s): ", kind);
	sb_add_printable(d, text, strlen(text));
	sb_adds(d, "\n");
}

/* Compares as multisets of lines: sort both sides' lines, then merge. */
static int
cmp_line(const void *x, const void *y)
{
	const char *const *a = x, *const *b = y;
	return strcmp(*a, *b);
}

static char **
sorted_lines(const char *s, size_t len, size_t *n)
{
	struct lines l;
	split_lines(s, len, &l);
	char **v = xcalloc(l.n + 1, sizeof *v);
	for (size_t i = 0; i < l.n; i++) {
		size_t ln = l.len[i];
		if (ln && l.start[i][ln - 1] == '\r')
			ln--;
		v[i] = xstrfmt("%.*s", (int)ln, l.start[i]);
	}
	*n = l.n;
	lines_free(&l);
	qsort(v, *n, sizeof *v, cmp_line);
	return v;
}

static int
lines_match(const struct matcher *m, const char *out, size_t len, struct strbuf *d)
{
	size_t na;
	char **act = sorted_lines(out, len, &na);
	char **exp = xcalloc(m->nlines + 1, sizeof *exp);
	for (size_t i = 0; i < m->nlines; i++)
		exp[i] = m->lines[i];
	qsort(exp, m->nlines, sizeof *exp, cmp_line);
	size_t i = 0, j = 0;
	int ok = 1;
	struct strbuf missing = STRBUF_INIT, extra = STRBUF_INIT;
	while (i < m->nlines || j < na) {
		int c = i == m->nlines ? 1 : j == na ? -1 : strcmp(exp[i], act[j]);
		if (c == 0) {
			i++;
			j++;
			continue;
		}
		ok = 0;
		struct strbuf *to = c < 0 ? &missing : &extra;
		const char *line = c < 0 ? exp[i++] : act[j++];
		sb_adds(to, "  ");
		sb_add_printable(to, line, strlen(line));
		sb_adds(to, "\n");
	}
	if (!ok) {
		sb_adds(d, "expected these lines in any order:\n");
		for (size_t k = 0; k < m->nlines; k++) {
			sb_adds(d, "  ");
			sb_add_printable(d, m->lines[k], strlen(m->lines[k]));
			sb_adds(d, "\n");
		}
		if (missing.len)
			sb_addf(d, "missing:\n%s", missing.buf);
		if (extra.len)
			sb_addf(d, "not expected:\n%s", extra.buf);
	}
	sb_release(&missing);
	sb_release(&extra);
	for (size_t k = 0; k < na; k++)
		free(act[k]);
	free(act);
	free(exp);
	return ok;
}

int
match_output(const struct matcher *m, const char *out, size_t len, const char *what, char **message,
	     struct strbuf *d)
{
	*message = NULL;
	if (!m->present)
		return 1;
	if (m->exact && (strlen(m->exact) != len || memcmp(m->exact, out, len))) {
		*message = xstrfmt("%s is not what was expected", what);
		sb_addf(d, "%s, line by line (- expected, + actual):\n", what);
		match_diff(d, m->exact, strlen(m->exact), out, len);
		if (len && out[len - 1] != '\n' && strlen(m->exact) && m->exact[strlen(m->exact) - 1] == '\n')
			sb_adds(d, "(the actual output has no newline at the end)\n");
		return 0;
	}
	if (m->contains && !memmem(out, len, m->contains, strlen(m->contains))) {
		*message = xstrfmt("%s does not contain \"%s\"", what, m->contains);
		show_expected(d, "contains", m->contains);
		show_actual(d, what, out, len);
		return 0;
	}
	if (m->not_contains && memmem(out, len, m->not_contains, strlen(m->not_contains))) {
		*message = xstrfmt("%s contains \"%s\", which it should not", what, m->not_contains);
		show_actual(d, what, out, len);
		return 0;
	}
	if (m->regex && match_regex(m->regex, out, len) != 1) {
		*message = xstrfmt("%s has no line matching /%s/", what, m->regex);
		show_expected(d, "regex", m->regex);
		show_actual(d, what, out, len);
		return 0;
	}
	if (m->has_lines && !lines_match(m, out, len, d)) {
		*message = xstrfmt("%s does not have the expected lines", what);
		show_actual(d, what, out, len);
		return 0;
	}
	return 1;
}
