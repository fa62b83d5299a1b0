/* check: reaping -- children are waited for.  As a step: once the process
 * has settled, none of its children (or its descendants' children) is a
 * zombie.  After the test: no child of a student program was left for the
 * sandbox to reap, which happens only when its parent ended without
 * waiting for it. */
#define _GNU_SOURCE
#include "check.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "procinfo.h"
#include "sandbox.h"

#define MAX_SHOWN 8

struct reaping_args {
	const char *of;
};

static void *
reaping_parse(struct parser *p, const struct ynode *map, struct check_use *use)
{
	static const char *const keys[] = { "of", NULL };
	struct reaping_args *a = xcalloc(1, sizeof *a);
	for (size_t i = 0; i < map->n; i += 2)
		if (check_key_index(p, map, i, keys, "reaping") == 0)
			a->of = check_parse_id(p, map->kids[i + 1], use);
	if (use->where == CHECK_AT_STEP && !a->of)
		perr(p, map->line, map->col, "check \"reaping\" as a step needs of: the process whose children are looked at");
	return a;
}

/* Now: zombies whose parent is of or one of its descendants. */
static void
zombies_now(const struct reaping_args *a, struct check_run *r)
{
	struct proc *p = check_find(r, a->of);
	if (!p || !check_settle(r, p)) {
		char *msg = xstrfmt("%s had ended before its children could be looked at", p ? check_who(p) : a->of);
		check_add(r, ST_FAIL, msg, NULL);
		free(msg);
		return;
	}
	pid_t root = check_pid(p);
	struct pinfo *v;
	size_t n = pinfo_list(&v), count = 0;
	struct strbuf d = STRBUF_INIT;
	for (size_t i = 0; i < n; i++) {
		if (v[i].state != 'Z' || !pinfo_in_tree(v, n, root, v[i].ppid))
			continue;
		if (count++ < MAX_SHOWN) {
			const char *parent = check_name_pid(r, v[i].ppid);
			sb_addf(&d, "  zombie: pid %d (%s), a child of %s%s(pid %d)\n", (int)sandbox_inner_pid(v[i].pid),
				v[i].comm, parent ? parent : "", parent ? " " : "", (int)sandbox_inner_pid(v[i].ppid));
		}
	}
	free(v);
	if (count) {
		sb_adds(&d, "  hint: a child that has exited stays a zombie until its parent calls wait() or waitpid() for it; a server that forks per client reaps them (waitpid(-1, NULL, WNOHANG) in a loop, or a SIGCHLD handler)\n");
		char *msg = xstrfmt("%s has %zu zombie child%s: %s not wait for %s", check_who(p), count,
				    count == 1 ? "" : "ren", count == 1 ? "an exited child it did" : "exited children it did",
				    count == 1 ? "it" : "them");
		check_add(r, ST_FAIL, msg, d.buf);
		free(msg);
	}
	sb_release(&d);
}

/* After the test: children the sandbox reaped for a parent that had ended. */
static void
orphans_after(const struct reaping_args *a, struct check_run *r)
{
	const struct sandbox_orphan *o;
	size_t n = sandbox_orphans(&o), count = 0;
	struct strbuf d = STRBUF_INIT;
	const struct proc *first_owner = NULL;
	for (size_t i = 0; i < n; i++) {
		/* Not a process the test started (without a jail those are
		 * listed too), and not one the grader killed as left over
		 * (that is reported as such). */
		if (check_by_inner_pid(r, o[i].pid) || (WIFSIGNALED(o[i].status) && WTERMSIG(o[i].status) == SIGKILL))
			continue;
		struct proc *owner = check_by_inner_pid(r, o[i].sid);
		if (!owner || !check_is_student(owner) || check_stopped(owner))
			continue;
		if (a->of && owner != check_find(r, a->of))
			continue;
		if (!first_owner)
			first_owner = owner;
		if (count++ < MAX_SHOWN)
			sb_addf(&d, "  not waited for: pid %d (%s), a child in the process tree of %s\n", o[i].pid, o[i].comm,
				check_who(owner));
	}
	if (count) {
		sb_adds(&d, "  hint: a parent waits for every child it forked (wait() or waitpid()) before it exits: it learns how the child ended, and no child outlives it\n");
		char *msg = xstrfmt("%zu child process%s of %s %s not waited for: %s parent ended without wait()",
				    count, count == 1 ? "" : "es", check_who(first_owner), count == 1 ? "was" : "were",
				    count == 1 ? "its" : "their");
		check_add(r, ST_FAIL, msg, d.buf);
		free(msg);
	}
	sb_release(&d);
}

static void
reaping_run(const struct check_use *use, struct check_run *r)
{
	const struct reaping_args *a = use->args;
	if (use->where == CHECK_AT_STEP)
		zombies_now(a, r);
	else
		orphans_after(a, r);
}

const struct check_unit check_reaping = {
	.name = "reaping",
	.where = CHECK_AT_STEP | CHECK_AT_END,
	.parse = reaping_parse,
	.run = reaping_run,
};
