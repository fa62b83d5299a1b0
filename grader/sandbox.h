/* The per-test sandbox: fresh namespaces, limits, an init that reaps, and a
 * teardown after which nothing the test started survives.  See the theory
 * of operation at the top of sandbox.c. */
#ifndef GRADER_SANDBOX_H
#define GRADER_SANDBOX_H

#include <stddef.h>
#include <sys/types.h>

#include "util.h"

enum isolation { ISOLATION_NAMESPACES, ISOLATION_NONE };

struct sandbox_info {
	enum isolation mode;
	char detail[512]; /* what isolates the tests, or why nothing does */
};

/* Finds out once whether this machine lets us create the namespaces (a
 * trivial sandbox is started and torn down).  Returns the mode. */
enum isolation sandbox_probe(struct sandbox_info *info);

struct sandbox_config {
	enum isolation mode;
	/* Paths that must stay visible at the same place inside the sandbox
	 * although /tmp and /dev/shm are replaced (read-only there).  NULL-ended. */
	const char *const *keep_paths;
	int deadline_ms; /* backstop: the init is killed after this long */
};

/* The test body, run as the sandbox's init (pid 1 of its pid namespace, or
 * a child subreaper without namespaces).  It writes its report to report_fd
 * and returns; the sandbox then ends every process that is left. */
typedef void (*sandbox_fn)(void *arg, int report_fd);

/* Runs fn in a fresh sandbox and collects what it wrote to report_fd into
 * report.  Returns 0 when fn finished, 1 when the backstop deadline killed
 * it, -1 (with err) when the sandbox could not be made: a grader fault. */
int sandbox_run(const struct sandbox_config *cfg, sandbox_fn fn, void *arg, struct strbuf *report,
		char *err, size_t errlen);

/* From inside the sandbox: SIGKILLs every process except the caller and
 * waits until they are gone.  Each is described in killed as "pid (comm)". 
 * Returns how many there were. */
int sandbox_kill_others(struct strbuf *killed);

#endif
