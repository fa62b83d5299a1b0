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

/* What a test established about a student program that did not finish
 * (it spun, or blocked for good), for memcheck_skip() in grade.c: a later
 * memcheck test that runs it the same way need not wait for it again. */
struct test_hang {
	int found;
	size_t step;        /* the step during which it was noticed (nsteps: at the end) */
	char id[64];        /* the process's name in the test ("client", "client#2") */
	char how[16];       /* "spins" or "blocks" */
	enum status status; /* what the test said of it (timeout; fail: never ready) */
};

/* Runs test t and fills status, message, details and duration_ms of r (the
 * caller sets the rest).  A failure of the grader itself becomes status
 * "error" with an "internal error" message: never the student's fault. */
void runtest_run(const struct grade_env *env, const struct test_spec *t, struct graded_test *r);
/* The same; hang (may be NULL) says whether a student program hung. */
void runtest_run_hang(const struct grade_env *env, const struct test_spec *t, struct graded_test *r,
		      struct test_hang *hang);

#endif
