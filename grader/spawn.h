/* The one way the grader starts a program (git's run-command, libuv's
 * process.c): a struct holds argv, env, stdin and limits; only
 * async-signal-safe calls run between fork and exec; an exec failure comes
 * back through a close-on-exec pipe; the child ends with _exit(127).
 *
 * Wait statuses are decoded in one place, exit_status_decode(). */
#ifndef GRADER_SPAWN_H
#define GRADER_SPAWN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* stdin given to a child is written into its pipe before it starts, so it
 * must fit a pipe's buffer. */
#define CHILD_STDIN_MAX 60000

struct child_limits {
	int cpu_ms;       /* RLIMIT_CPU, rounded up to seconds; 0: unlimited */
	int memory_mb;    /* RLIMIT_AS; 0: unlimited */
	int file_size_kb; /* RLIMIT_FSIZE; 0: unlimited */
	int open_files;   /* RLIMIT_NOFILE; 0: unchanged */
	int processes;    /* RLIMIT_NPROC; 0: unchanged */
};

/* Where and how privileged a program runs; made by the sandbox
 * (sandbox_jail()), borrowed here.  Applied between fork and exec in the
 * fixed order: namespaces, filesystem view, session, limits, capabilities,
 * no_new_privs, syscall filter. */
struct syscall_filter;
struct child_jail {
	int pidns_fd;     /* fork into this PID namespace; -1: the caller's */
	int own_pidns_fd; /* the caller's, to return to after the fork */
	int mntns_fd;     /* the child enters this mount namespace; -1: stays */
	int new_session;  /* setsid(): no signal to the caller's process group */
	int drop_caps;    /* empty bounding, permitted, effective, inheritable, ambient sets */
	int set_ids;      /* become uid/gid (all of real, effective, saved; no groups) */
	uid_t uid;
	gid_t gid;
	const struct syscall_filter *filter; /* NULL: none */
};

struct child {
	/* set by the caller; borrowed, not owned */
	char *const *argv; /* argv[0] is the path that is executed */
	char *const *envp;
	const char *cwd;        /* NULL: unchanged */
	const char *stdin_data; /* NULL: /dev/null; at most CHILD_STDIN_MAX bytes */
	size_t stdin_len;
	struct child_limits limits;
	int merge_stderr; /* send stderr to the stdout pipe */
	int new_pgrp;     /* own process group, so a timeout kills its children too */
	int extra_fd;     /* >0: also given to the child as fd 3 (a log pipe); 0: none */
	int netns_fd;     /* >0: the child enters this network namespace (a test's host) first; 0: stays */
	const struct child_jail *jail; /* NULL: runs with the caller's privileges */
	/* set by child_start */
	pid_t pid;
	int out_fd, err_fd; /* non-blocking read ends; -1 once closed */
	int64_t started_ms;
};

/* Starts the child; returns 0, or -1 with a message in err. */
int child_start(struct child *c, char *err, size_t errlen);

struct capture;
struct exit_status;
/* Starts the child with stderr merged into stdout and a process group of
 * its own, captures its output into out, and waits for it at most
 * timeout_ms (then its group is killed and *timed_out set).  Returns 0, or
 * -1 with a message in err when it could not be run. */
int child_run(struct child *c, int timeout_ms, struct capture *out, struct exit_status *st, int *timed_out,
	      char *err, size_t errlen);

/* The path of an executable found in $PATH, or NULL (the caller frees). */
char *find_in_path(const char *name);

struct exit_status {
	enum { EXIT_RUNNING, EXIT_CODE, EXIT_SIGNAL } how;
	int code;   /* EXIT_CODE */
	int signal; /* EXIT_SIGNAL */
	int core;
};

void exit_status_decode(int wstatus, struct exit_status *st);
/* "exited with status 1", "was killed by signal SIGSEGV (segmentation fault)" */
void exit_status_describe(const struct exit_status *st, char *buf, size_t len);
/* waitpid() that retries on EINTR. */
pid_t wait_retry(pid_t pid, int *wstatus, int flags);

#endif
