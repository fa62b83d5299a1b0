/* Whole-test resource limits: every sandboxed test runs in a fresh cgroup
 * with a memory limit and a pids limit, so that a test's children, shared
 * memory and fork loops are counted together.  The layouts for cgroup v1
 * and v2 are described at the top of cgroup.c. */
#ifndef GRADER_CGROUP_H
#define GRADER_CGROUP_H

#include <stddef.h>
#include <sys/types.h>

enum cgroup_kind { CGROUP_NONE, CGROUP_V1, CGROUP_V2 };

/* Room for a cgroup directory path; PATH_MAX needs POSIX feature macros
 * that not every includer defines. */
#define CGROUP_PATH_MAX 4096

/* Index of a hierarchy in the path arrays below: v2 only uses CGROUP_MEM
 * (its one hierarchy has both controllers); v1 uses both. */
enum { CGROUP_MEM, CGROUP_PIDS, CGROUP_NDIRS };

/* What this process may use, found once by cgroup_env_probe().  When kind
 * is not NONE the probe has made a per-grader parent group, so the owner
 * must call cgroup_env_release() before it exits. */
struct cgroup_env {
	enum cgroup_kind kind;
	/* "cgroup v2 at /sys/fs/cgroup/x/ipcgrader-42 (memory, pids)", or why
	 * there is no cgroup, with the remedy. */
	char detail[512];

	/* private */
	pid_t owner;                          /* only this process releases */
	char base[CGROUP_NDIRS][CGROUP_PATH_MAX];    /* the per-grader parent groups */
	char home[CGROUP_PATH_MAX];                  /* v2: the group the grader came from */
	int moved;                            /* v2: the grader sits in base/grader */
	int enabled_home;                     /* v2: we enabled controllers in home */
	int has_memsw;                        /* v1: memory.memsw.* exist (swap accounting) */
};

/* Finds out what this process may use and prepares the per-grader parent
 * group.  Never fails: kind NONE and the reason in detail when nothing. */
void cgroup_env_probe(struct cgroup_env *env);
/* Kills and removes every test group left under the per-grader parent,
 * moves the grader back where it was (v2) and removes the parent.  Only
 * acts in the process that probed (a forked child's copy is inert), and
 * only once. */
void cgroup_env_release(struct cgroup_env *env);

/* A value <= 0 means no limit. */
struct cgroup_limits {
	long memory_mb;
	long pids;
};

/* One test's group.  Zero-initialise it (or let cgroup_create fill it,
 * even when that fails) so that cgroup_destroy is always safe. */
struct test_cgroup {
	enum cgroup_kind kind;
	int ndirs;                            /* 0: nothing to destroy */
	char dir[CGROUP_NDIRS][CGROUP_PATH_MAX];
};

/* Creates a fresh group for one test under env's parent group (named from
 * the caller's pid and a counter) and sets the limits: memory.max (plus
 * memory.swap.max = 0) on v2, memory.limit_in_bytes (plus memsw) on v1,
 * pids.max on both.  Returns 0, or -1 with err. */
int cgroup_create(const struct cgroup_env *env, const struct cgroup_limits *lim, struct test_cgroup *cg,
		  char *err, size_t errlen);
/* Moves pid into the group (into every hierarchy on v1).  The caller does
 * this before the process starts the test, so that nothing escapes. */
int cgroup_attach(const struct test_cgroup *cg, pid_t pid, char *err, size_t errlen);

/* -1 in a field: the kernel does not report it (memory.peak is 5.19+). */
struct cgroup_usage {
	long memory_peak_kb;
	long oom_kills;     /* processes the OOM killer ended in the group */
	long pids_max_hits; /* forks refused because pids.max was reached */
};
/* Reads what the test used and whether a limit bit.  Returns 0, or -1
 * with errno when the group cannot be read at all. */
int cgroup_usage(const struct test_cgroup *cg, struct cgroup_usage *u);

/* SIGKILLs whatever is left in the group, waits (bounded) until it is
 * empty and removes it.  Idempotent; does nothing on a zeroed struct. */
void cgroup_destroy(struct test_cgroup *cg);

#endif
