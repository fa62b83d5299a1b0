/* The class report: one static HTML file that summarises a graded batch
 * (docs/batch.md) for an instructor: each test's pass rate, the score
 * histogram, the most common failure messages with example submissions,
 * the slowest tests, and every submission's score.  It is read from the
 * batch folder's results/<file>.json (the --format json contract of
 * docs/results.md, plus the optional "batch" object) and, when present,
 * batch.json (lab, the tests in the spec's order, refused submissions).
 *
 * The file works offline: inline CSS and SVG, no script, nothing fetched
 * (a Content-Security-Policy of default-src 'none' says so to the browser).
 * Every string that came from a submission (its id, messages, test names)
 * is HTML-escaped, control and bidi characters shown as \xNN / \u{NNNN}. */
#ifndef GRADER_CLASSREPORT_H
#define GRADER_CLASSREPORT_H

#include <stddef.h>

#include "util.h"

/* Appends the class report of batch_dir to html.  Returns the number of
 * results read (> 0), or -1 with a message in err (no results folder, no
 * readable result in it). */
int classreport_build(const char *batch_dir, struct strbuf *html, char *err, size_t errlen);

/* Builds the report and writes it to path ("-": stdout) atomically (a new
 * file renamed over path).  Returns the number of results read, or -1 with a
 * message in err. */
int classreport_write(const char *batch_dir, const char *path, char *err, size_t errlen);

/* Appends text HTML-escaped (& < > " '), every control, bidi-override or
 * invalid byte made visible as \xNN or \u{NNNN}: a submission's strings
 * can neither add markup nor reorder what is around them. */
void classreport_escape(struct strbuf *sb, const char *text);

#endif
