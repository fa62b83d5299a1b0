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
};

/* Returns 0, or -1 when format is unknown or writing failed. */
int report_write(FILE *f, const struct grade_report *g, const char *format);
int report_format_known(const char *format);

#endif
