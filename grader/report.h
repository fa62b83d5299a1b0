/* Reports of a grading run: text for people, and the machine formats
 * (JSON per the contract in PRODUCT.md, JUnit XML, TAP, Gradescope). */
#ifndef GRADER_REPORT_H
#define GRADER_REPORT_H

#include <stdio.h>

#include "result.h"

/* A test of the lab that this run did not select (--visible-only, --test):
 * the machine formats list it as skipped rather than drop it. */
struct skipped_test {
	char *name; /* owned */
	int number, max_score, visible;
	int hidden_only; /* left out as hidden by --visible-only, else by --test */
};

struct grade_report {
	const char *lab, *submission;
	int score, max_score;
	const char *build_status; /* "ok" or "failed" */
	int build_warnings;
	char *build_log; /* owned by the report */
	const char *isolation_mode, *isolation_detail;
	long seed;
	long duration_ms; /* the whole grading: build and tests */
	struct graded_test *tests;
	size_t ntests;
	struct skipped_test *skipped; /* owned */
	size_t nskipped;
	/* Set when the grading could not be done at all (exit status 2 or 3):
	 * the machine formats still write a whole document that says so, with
	 * status "error", so that a CI job or Gradescope shows the reason
	 * instead of a missing file or a silent 0.  Borrowed. */
	const char *error;
	/* The text report only: ANSI colours (the caller decides: --color,
	 * NO_COLOR, a terminal).  No string of a program is ever coloured
	 * by its own bytes: those are escaped whatever this says. */
	int color;
};

/* The outcome of a whole grading, as the machine formats name it:
 * "error" (the grader or the machine failed, exit status 3; wins over the
 * rest), "build_failed", "failed" (exit status 1) or "passed" (0). */
const char *report_status(const struct grade_report *g);

/* Every string of g is borrowed and may hold any bytes (a student
 * program's output, a non-UTF-8 folder name): each format shows them
 * escaped, valid UTF-8, without control bytes, and in the text format a
 * test's details are indented so that no line of them passes for the
 * grader's own.  Returns 0, or -1 when format is unknown or writing failed. */
int report_write(FILE *f, const struct grade_report *g, const char *format);
int report_format_known(const char *format);

/* Writes the report to path ("-" or NULL: stdout) atomically: a new file
 * created beside it (O_EXCL, O_NOFOLLOW, mode 0644 less the umask), synced,
 * then renamed over path, so that a symlink at path is replaced, never
 * followed, and a reader never sees half a report.  Returns 0, or -1 with
 * a message in err (nothing is left behind). */
int report_write_file(const struct grade_report *g, const char *format, const char *path, char *err,
		      size_t errlen);
/* Checks before grading that path could be written: its folder exists and
 * is writable, and path is no folder.  Returns 0, or -1 with a message. */
int report_output_check(const char *path, char *err, size_t errlen);

#endif
