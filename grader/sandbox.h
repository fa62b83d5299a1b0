/* The per-test sandbox: fresh namespaces, a filesystem view of its own, an
 * init that reaps, a jail for untrusted programs, and a teardown after which
 * nothing the test started survives.  See the theory of operation at the top
 * of sandbox.c. */
#ifndef GRADER_SANDBOX_H
#define GRADER_SANDBOX_H

#include <stddef.h>
#include <sys/types.h>

#include "spawn.h"
#include "util.h"

enum isolation { ISOLATION_NAMESPACES, ISOLATION_NONE };

struct sandbox_info {
	enum isolation mode;
	int without_userns; /* namespaces made by root without a user namespace (a container) */
	char detail[1024];  /* what isolates the tests, or why nothing does */
};

/* Finds out once whether this machine lets us create the namespaces (a
 * trivial sandbox is started and torn down).  Returns the mode. */
enum isolation sandbox_probe(struct sandbox_info *info);

/* A host path shown inside the sandbox at the same place. */
enum {
	SANDBOX_BIND_WRITABLE = 1, /* else read-only */
	SANDBOX_BIND_TRUSTED = 2,  /* seen by the init and references only, never by untrusted programs */
};
struct sandbox_bind {
	const char *path; /* NULL ends a list */
	unsigned flags;
};

struct sandbox_config {
	enum isolation mode;
	/* What of the host the sandbox sees besides the system's read-only
	 * /usr and libraries: NULL-path-ended, borrowed. */
	const struct sandbox_bind *binds;
	/* Host folders never to be seen inside even where a bind or /usr would
	 * show them (the grader's labs and references installed under /usr).
	 * NULL-ended, may be NULL. */
	const char *const *hide;
	int deadline_ms;   /* backstop: the init is killed after this long */
	long memory_mb;    /* the whole test's memory (cgroup); 0: no limit */
	long pids;         /* the whole test's processes (cgroup); 0: no limit */
	int tun;           /* show /dev/net/tun (where the machine has it) to the init, never
			    * to the jail: link.c makes a test's hosts with it */
};

/* What the parent saw of a finished sandbox. */
struct sandbox_usage {
	long memory_peak_kb; /* -1: unknown */
	long oom_kills;      /* processes the kernel killed at the memory limit */
	long pids_max_hits;  /* forks refused at the process limit */
};

/* The test body, run as the sandbox's init (pid 1 of its pid namespace, or
 * a child subreaper without namespaces).  It writes its report to report_fd
 * and returns; the sandbox then ends every process that is left. */
typedef void (*sandbox_fn)(void *arg, int report_fd);

/* Runs fn in a fresh sandbox and collects what it wrote to report_fd into
 * report.  Returns 0 when fn finished, 1 when the backstop deadline killed
 * it, -1 (with err) when the sandbox could not be made or the grader was
 * interrupted: a grader fault.  usage may be NULL. */
int sandbox_run(const struct sandbox_config *cfg, sandbox_fn fn, void *arg, struct strbuf *report,
		struct sandbox_usage *usage, char *err, size_t errlen);

/* From inside the sandbox (the init): how to start a program.  An
 * untrusted one (a student's) runs in the jail: a PID namespace of its own
 * where the init and the references do not exist, the filesystem view
 * without the trusted binds, its own session, no capabilities, no_new_privs
 * and the syscall filter.  A trusted one (a reference) keeps the init's PID
 * namespace and view but drops privileges the same way. */
const struct child_jail *sandbox_jail(int untrusted);

/* The pid (as the init sees it) that a program of the jail knows itself
 * by, or pid itself outside a jail. */
pid_t sandbox_inner_pid(pid_t pid);

/* From inside the sandbox: SIGKILLs every process except the caller (and
 * the jail's own pid 1) and waits until they are gone.  Each is described
 * in killed as "pid (comm)".  Before that, up to settle_ms (0: 100 ms)
 * are given to those still running to finish (a child ending inside
 * Valgrind's shutdown is exiting, not left over).  Returns how many there
 * were. */
int sandbox_kill_others(struct strbuf *killed, int settle_ms);

/* A process the sandbox reaped because its parent had ended without
 * waiting for it: pid and session as the program sees them (the session
 * is the test's process it belongs to), its name, its wait status. */
struct sandbox_orphan {
	int pid, sid, status;
	char comm[32];
};
#define MAX_ORPHANS 1024

/* From inside the sandbox: every orphan reaped so far (complete once
 * sandbox_kill_others() returned).  Without namespaces every child of the
 * init is listed, the test's own processes too. */
size_t sandbox_orphans(const struct sandbox_orphan **v);
/* From inside the sandbox: reaps one ended child (WNOHANG), as waitpid(-1)
 * would, noting it for sandbox_orphans().  Returns its pid, 0 or -1. */
pid_t sandbox_reap(int *status);

/* POSIX message queues ("mqueue:/NAME") of uid ((uid_t)-1: everyone's)
 * where the machine has no /dev/mqueue to list them (as root; else none
 * are found).  Nothing where /dev/mqueue is mounted: list that folder. */
void sandbox_list_queues(struct strvec *out, uid_t uid);

/* SIGINT, SIGTERM and SIGHUP stop the grader cleanly: sandbox_run()
 * returns -1 and sandbox_interrupted() tells which signal came, so that
 * the caller removes its scratch folder and then dies of that signal. */
void sandbox_catch_signals(void);
int sandbox_interrupted(void);

/* What the grader made on the machine for all its sandboxes (its cgroup
 * folders) is removed: at exit (atexit) or, before dying of a signal, by
 * the caller.  Idempotent. */
void sandbox_release(void);

#endif
