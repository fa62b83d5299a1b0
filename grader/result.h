/* Verdicts.  A test collects findings while it runs; its status is the worst
 * of them and its message the first finding of that status. */
#ifndef GRADER_RESULT_H
#define GRADER_RESULT_H

#include "util.h"

/* In increasing order of severity (a test's status is the worst finding). */
enum status { ST_PASS, ST_FAIL, ST_CRASH, ST_TIMEOUT, ST_ERROR, ST_BUILD_FAILED };

struct verdict {
	enum status status;
	char *message;         /* one line a student understands; NULL when passed */
	struct strbuf details; /* every finding, with expected vs actual */
	int retry;             /* the machine, not the program, decided: worth one more run */
};

void verdict_init(struct verdict *v);
/* Records a finding: message is one line; details (may be NULL) follows it
 * in the details text. */
void verdict_add(struct verdict *v, enum status st, const char *message, const char *details);
void verdict_release(struct verdict *v);

const char *status_name(enum status st);
int status_from_name(const char *name);

/* What the report prints for one test. */
struct graded_test {
	char *name, *description;
	enum status status;
	int number; /* 1-based position in the lab spec: stable under --test and --visible-only */
	int score, max_score, visible;
	long duration_ms;
	char *message, *details, *reproduce;
};

void graded_test_release(struct graded_test *r);

#endif
