/* The lab spec (labs/<lab>/lab.yaml): what students hand in, how it is built,
 * and the tests.  The format is documented in labs/README.md.
 *
 * spec_load() parses and validates; every problem goes to the caller's
 * strbuf as "file:line:column: message\n".  The lab_spec owns all of its
 * strings; spec_release() frees them. */
#ifndef GRADER_SPEC_H
#define GRADER_SPEC_H

#include <stddef.h>

#include "checkunit.h"
#include "link.h"
#include "util.h"

enum memcheck { MEMCHECK_INHERIT = -1, MEMCHECK_NONE = 0, MEMCHECK_VALGRIND, MEMCHECK_ASAN };

enum step_kind { STEP_START, STEP_RUN, STEP_ALIVE, STEP_WAIT, STEP_STOP, STEP_CHECK, STEP_SIGNAL };

enum ready_kind { READY_NONE, READY_TCP, READY_UDP, READY_UNIX, READY_PATH, READY_MQUEUE, READY_STDOUT };

struct ready {
	enum ready_kind kind;
	int port;   /* READY_TCP, READY_UDP */
	char *text; /* READY_UNIX, READY_PATH: a path (relative: to the working folder);
		     * READY_MQUEUE: a queue name; READY_STDOUT: a regex */
};

/* Every field that is set must hold. */
struct matcher {
	int present;
	char *exact, *contains, *regex, *not_contains;
	char **lines;
	size_t nlines;
	int has_lines;
};

struct expect {
	int has_exit, exit_code;
	int has_signal, signal;
	struct matcher out, err;
};

struct env_var {
	char *key, *value;
};

struct step {
	enum step_kind kind;
	int line, col;
	/* start / run */
	char *program; /* a student program, or the reference's name when is_ref */
	int is_ref;
	char *id; /* the process's name in the test; for alive/wait/stop the target */
	char **args;
	size_t nargs;
	struct env_var *env;
	size_t nenv;
	char *stdin_text;
	int repeat;
	struct ready ready;
	int memcheck; /* MEMCHECK_INHERIT unless the step sets it */
	struct expect expect;
	struct check_use check; /* STEP_CHECK */
	char *on;   /* start / run: the host it runs on (NULL: the test's first host, if any) */
	int host;   /* its index in the test's hosts; -1 when the test has none */
	int signo;              /* STEP_SIGNAL: what it sends */
};

struct limits {
	int wall_ms, step_ms, cpu_ms, processes, memory_mb, output_kb, file_size_kb, open_files;
	int test_memory_mb; /* every process of the test together (cgroup), tmpfs and shm included */
};

struct test_spec {
	char *name, *description;
	int points, visible, memcheck, leftovers_fail;
	int judge_memory; /* `judge: memory`: only memory errors (and what the test needs to run) fail it */
	struct limits limits;
	struct step *steps;
	size_t nsteps;
	struct check_use *checks; /* run after the last step */
	size_t nchecks;
	char **hosts; /* 2..LINK_MAX_HOSTS names (network namespaces joined by a link); none: 0 */
	size_t nhosts;
	struct link_faults link;
};

struct program_spec {
	char *name;
	char **sources;
	size_t nsources;
};

struct ref_spec {
	char *name, *binary;
};

struct lab_spec {
	char *file; /* the lab.yaml path as given */
	char *dir;  /* the lab's folder */
	char *name, *title;
	char **files;
	size_t nfiles;
	char **provided; /* files the lab gives the build (<dir>/provided/NAME) */
	size_t nprovided;
	char **cflags, **ldflags;
	size_t ncflags, nldflags;
	struct program_spec *programs;
	size_t nprograms;
	struct ref_spec *refs;
	size_t nrefs;
	struct limits limits;
	struct test_spec *tests;
	size_t ntests;
};

/* Loads PATH (a lab folder or its lab.yaml).  Returns the number of problems
 * found (0: the spec is usable), each appended to errors.  The spec must be
 * released whatever the result. */
int spec_load(const char *path, struct lab_spec *spec, struct strbuf *errors);
void spec_release(struct lab_spec *spec);

const struct program_spec *spec_program(const struct lab_spec *spec, const char *name);
const struct ref_spec *spec_ref(const struct lab_spec *spec, const char *name);
const struct test_spec *spec_test(const struct lab_spec *spec, const char *name);
/* Does any test run a student program under this memcheck mode? */
int spec_uses_memcheck(const struct lab_spec *spec, enum memcheck mode);
/* The mode a step's program runs under. */
int step_memcheck(const struct test_spec *t, const struct step *s);

const char *memcheck_name(int mode);
const char *step_kind_name(enum step_kind k);

#endif
