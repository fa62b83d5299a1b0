/* Reports of a grading run: text for people, and the machine formats
 * (JSON per the contract in PRODUCT.md, JUnit XML, TAP, Gradescope). */
#ifndef GRADER_REPORT_H
#define GRADER_REPORT_H

#include <stdio.h>

#include "result.h"

struct grade_report {
	const char *lab, *submission;
	int score, max_score;
	const char *build_status; /* "ok" or "failed" */
	int build_warnings;
	char *build_log; /* owned by the report */
	const char *isolation_mode, *isolation_detail;
	long seed;
	struct graded_test *tests;
	size_t ntests;
	/* Hidden tests left out by --visible-only (grader check), so that a
	 * student's 10/10 is not read as the final grade. */
	int hidden_not_run, hidden_points_not_run;
	/* The text report only: ANSI colours (the caller decides: --color,
	 * NO_COLOR, a terminal).  No string of a program is ever coloured
	 * by its own bytes: those are escaped whatever this says. */
	int color;
};

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
