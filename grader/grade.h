/* Grading one submission against one lab: build it, run the selected
 * tests each in its own sandbox, score them.  main() and (later) batch
 * grading sit on top of this. */
#ifndef GRADER_GRADE_H
#define GRADER_GRADE_H

#include "report.h"
#include "sandbox.h"
#include "spec.h"

struct grade_options {
	const char *lab_arg;    /* the lab as the user named it (for "reproduce") */
	const char *submission; /* folder */
	char *const *only;      /* --test names; NULL-ended, or NULL for all */
	int visible_only;
	int require_isolation;
	int allow_unisolated; /* without namespaces, run anyway (a student's own code) */
	long seed;
	const char *ref_dir; /* built reference programs */
	const char *linebuf; /* the library that line-buffers stdout */
	const char *self;    /* how to invoke the grader, for "reproduce" */
	/* Told about each selected test as it starts (finished 0; r holds its
	 * name) and when it has its verdict (finished 1); index counts from 0
	 * of total selected.  May be NULL. */
	void (*progress)(void *arg, const struct graded_test *r, size_t index, size_t total, int finished);
	void *progress_arg;
	const char *cache_dir; /* the compile cache; NULL: the default (cache.h) */
	int no_cache;          /* build without the compile cache */
};

/* Fills rep (release with grade_release).  Returns 0; -2 with a message in
 * err when it refuses to run without isolation; or -1 with a message
 * in err when the grader or its environment failed (exit status 3). */
int grade_run(const struct lab_spec *spec, const struct grade_options *o, struct grade_report *rep,
	      struct sandbox_info *iso, char *err, size_t errlen);
void grade_release(struct grade_report *rep);

#endif
