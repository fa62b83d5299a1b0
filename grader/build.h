/* Building a submission: its files are copied into a scratch folder and
 * every program of the lab is compiled there, in a sandbox, once plainly
 * and, when a test asks for it, once more with AddressSanitizer + UBSan. */
#ifndef GRADER_BUILD_H
#define GRADER_BUILD_H

#include "sandbox.h"
#include "spec.h"

enum build_status { BUILD_OK, BUILD_FAILED, BUILD_INTERNAL };

struct build_result {
	enum build_status status;
	int warnings;
	char *message; /* one line when not BUILD_OK */
	char *log;     /* what the compiler said, printable (capped) */
	int cached;    /* the programs came from the compile cache */
};

/* How the compiler's sandbox is made (borrowed). */
struct build_sandbox {
	enum isolation mode;
	const char *const *hide; /* host folders never shown; NULL-ended, may be NULL */
	const char *cache_dir;   /* the compile cache (cache.h), checked; NULL: none */
};

/* Builds into scratch/bin (and scratch/bin-asan when asan is set).  A
 * missing file or a compile error is BUILD_FAILED (the student's);
 * BUILD_INTERNAL is the grader's (no compiler, no disk). */
void build_submission(const struct lab_spec *spec, const char *subdir, const char *scratch, int asan,
		      const struct build_sandbox *box, struct build_result *out);
void build_result_release(struct build_result *r);

#endif
