/* Check units: what an output diff cannot see (items lost or reordered, a
 * consumer that spins, objects left in /dev/shm, a child nobody waited
 * for, a socket never closed), checked by reusable units that a lab names
 * in lab.yaml (labs/README.md, "Check units").
 *
 * One unit = one file grader/check_<name>.c defining one struct
 * check_unit, listed in the table of checkunit.c.  A unit parses and validates
 * its own keys, and runs against the test through the check_run interface
 * below (implemented by runtest.c), adding findings to the test's verdict.
 * Nothing of a unit is in the runner's loop: the runner calls run() at the
 * unit's step, or after the test, and begin() when the test starts. */
#ifndef GRADER_CHECKUNIT_H
#define GRADER_CHECKUNIT_H

#include <stddef.h>
#include <sys/types.h>

#include "result.h"
#include "specparse.h"

enum check_where { CHECK_AT_STEP = 1, CHECK_AT_END = 2 };

struct check_run; /* the running test, as units see it */
struct proc;      /* a process the test started */

/* A use of a unit in lab.yaml. */
struct check_use {
	const struct check_unit *unit;
	void *args; /* the unit's, from parse() */
	unsigned where; /* CHECK_AT_STEP or CHECK_AT_END: where this use is */
	int line, col;
	char **ids; /* processes of the test the use names (validated by spec.c) */
	size_t nids;
	char *hint; /* the lab's words instead of the unit's hint; NULL: the unit's */
};

struct check_unit {
	const char *name;
	unsigned where; /* enum check_where, or-ed */
	/* Validates the keys of map other than "check" and returns the unit's
	 * arguments (NULL is fine when it has none).  Names of processes go
	 * through check_parse_id() so that they are cross-checked. */
	void *(*parse)(struct parser *p, const struct ynode *map, struct check_use *use);
	/* Optional: when the test starts, before its first step (to watch a
	 * stream from its first byte, or note what exists already). */
	void (*begin)(const struct check_use *use, struct check_run *r);
	void (*run)(const struct check_use *use, struct check_run *r);
	void (*release)(void *args);
	/* Frees the state begin() made (free() when NULL). */
	void (*drop)(void *state);
	int needs_hosts; /* only in a test with hosts (it reads the link's log) */
};

/* Parses "check: NAME" and the rest of map into use; where is the place it
 * is used at (CHECK_AT_STEP or CHECK_AT_END).  0 on success. */
int check_parse(struct parser *p, const struct ynode *map, unsigned where, struct check_use *use);
void check_use_release(struct check_use *use);
/* The process id in n (a scalar), recorded for cross-checking; NULL after
 * reporting a problem.  The string is use's. */
const char *check_parse_id(struct parser *p, const struct ynode *n, struct check_use *use);
/* Keys every unit accepts besides its own ("check" and "hint"): returns
 * -2 for those (handled by check_parse), else key_index()'s result. */
int check_key_index(struct parser *p, const struct ynode *map, size_t i, const char *const *allowed, const char *unit);

/* ---- what a unit may do with the running test (runtest.c) ---- */

struct proc *check_find(struct check_run *r, const char *id);
size_t check_nprocs(struct check_run *r);
struct proc *check_proc_at(struct check_run *r, size_t i);
/* "your consumer", "the reference producer" */
const char *check_who(const struct proc *p);
int check_is_student(const struct proc *p);
/* Its pid as the grader sees it while it runs, else 0. */
pid_t check_pid(const struct proc *p);
/* 0 when the grader can see what p's descriptors are; otherwise adds an
 * error (the machine's limit, never the program's fault) and returns -1. */
int check_fds_visible(struct check_run *r, const struct proc *p);
/* Its pid as it knows itself (in the jail). */
pid_t check_inner_pid(const struct proc *p);
/* The grader ended it (stopped at the end of the test, or by a step). */
int check_stopped(const struct proc *p);
/* The process the grader knows as pid (running or not), or NULL. */
struct proc *check_by_pid(struct check_run *r, pid_t pid);
/* The process whose inner pid is pid, or NULL. */
struct proc *check_by_inner_pid(struct check_run *r, pid_t pid);
/* Name of an outer pid: a process of the test ("your pipe") or NULL. */
const char *check_name_pid(struct check_run *r, pid_t pid);
/* Waits until p and every process it started are asleep in the kernel
 * (or gone), at most the step's time.  1 when p still runs afterwards. */
int check_settle(struct check_run *r, struct proc *p);
/* Waits (at most the step's time) until p printed a line matching regex on
 * stdout (earlier lines count).  1 when it did, 0 when it ended or the time
 * passed first. */
int check_wait_line(struct check_run *r, struct proc *p, const char *regex);
/* Lets ms pass while the test goes on (output read, children reaped). */
void check_window(struct check_run *r, int ms);
/* Waits at most ms (and not past the test's deadline) for p to end, the
 * test going on meanwhile.  1 when p has ended. */
int check_wait_exit(struct check_run *r, struct proc *p, int ms);
/* The machine was too busy for the check to tell (it adds an ST_ERROR
 * finding saying so): the test is run once more. */
void check_retry(struct check_run *r);
int check_step_ms(struct check_run *r);
const char *check_workdir(struct check_run *r);
/* The test's seed ({seed} in args). */
long check_seed(struct check_run *r);
/* The test's link between its hosts (link.h: its log of every packet), or
 * NULL when the test has no hosts; and the host p runs on (-1: none). */
struct link;
const struct link *check_link(struct check_run *r);
int check_host(const struct proc *p);
/* Calls fn with every chunk of p's stdout (err: stderr) as it arrives,
 * from the process named id's first byte on; register in begin(). */
typedef void (*check_stream_fn)(void *state, const char *buf, size_t len);
void check_observe(struct check_run *r, const char *id, int err, check_stream_fn fn, void *state);
/* Adds a finding to the test's verdict. */
void check_add(struct check_run *r, enum status st, const char *message, const char *details);
/* A per-use state a unit keeps from begin() to run(), freed with its
 * drop() (or free()) when the test ends. */
void **check_state(struct check_run *r, const struct check_use *use);

#endif
