/* Running one test: its steps, inside a fresh sandbox, and its verdict. */
#ifndef GRADER_RUNTEST_H
#define GRADER_RUNTEST_H

#include "result.h"
#include "sandbox.h"
#include "spec.h"

/* Where a test finds its programs; borrowed strings. */
struct grade_env {
	const struct lab_spec *spec;
	const char *bin_dir;  /* student programs, plain build */
	const char *asan_dir; /* student programs built with ASan + UBSan; NULL if none */
	const char *ref_dir;  /* reference programs */
	const char *linebuf;  /* the library that line-buffers stdout */
	const char *valgrind; /* NULL when Valgrind is not installed */
	enum isolation mode;
	const struct sandbox_bind *binds; /* what of the host the sandbox shows */
	const char *const *hide;          /* host folders never shown */
	long seed;                        /* replaces {seed} in arguments */
};

/* Runs test t and fills status, message, details and duration_ms of r (the
 * caller sets the rest).  A failure of the grader itself becomes status
 * "error" with an "internal error" message: never the student's fault. */
void runtest_run(const struct grade_env *env, const struct test_spec *t, struct graded_test *r);

#endif
