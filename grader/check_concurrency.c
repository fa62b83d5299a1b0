/* check: concurrency -- a server serves a client while another client
 * holds a connection to it: a process started just before this step (the
 * second client) must end within a short bound while the holders (clients
 * connected earlier that send nothing) are still there.  A server that
 * serves one client at a time is blocked reading from the first, silent
 * client, and the second waits.
 *
 * The bound is short (300 ms by default) so that holding costs little; it
 * does not flake under load because it is judged by what the test's
 * processes could do: when they waited for a CPU a quarter of the bound
 * or more and ran less than a third of it, the wait goes on (up to the
 * step's time), and a client still not served on a machine that busy is
 * an error and the test runs again, never the student's failure. */
#define _GNU_SOURCE
#include "checkunit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"
#include "procinfo.h"
#include "sandbox.h"

#define MAX_HOLDERS 16
#define MAX_DIAGNOSED 4 /* processes whose blocking is described */

struct concurrency_args {
	const char *of;
	const char *holders[MAX_HOLDERS];
	size_t nholders;
	int within_ms;
};

static void *
concurrency_parse(struct parser *p, const struct ynode *map, struct check_use *use)
{
	static const char *const keys[] = { "of", "while", "within_ms", NULL };
	struct concurrency_args *a = xcalloc(1, sizeof *a);
	a->within_ms = 300;
	for (size_t i = 0; i < map->n; i += 2) {
		const struct ynode *v = map->kids[i + 1];
		switch (check_key_index(p, map, i, keys, "concurrency")) {
		case 0:
			a->of = check_parse_id(p, v, use);
			break;
		case 1:
			if (v->type == Y_SCALAR) {
				a->holders[a->nholders++] = check_parse_id(p, v, use);
				break;
			}
			if (want(p, v, Y_SEQ, "while") < 0)
				break;
			if (v->n == 0 || v->n > MAX_HOLDERS) {
				perr(p, v->line, v->col, "while must name from 1 to %d processes", MAX_HOLDERS);
				break;
			}
			for (size_t k = 0; k < v->n; k++)
				a->holders[a->nholders++] = check_parse_id(p, v->kids[k], use);
			break;
		case 2:
			get_int(p, v, "within_ms", 10, 5000, &a->within_ms);
			break;
		}
	}
	if (!a->of)
		perr(p, map->line, map->col, "check \"concurrency\" needs of: the client that must be served (started just before, without ready)");
	return a;
}

/* CPU time the test's running processes (and their descendants) had, and
 * waited for while runnable, in ms; each process counted once. */
static void
test_sched(struct check_run *r, long *run, long *wait)
{
	struct pinfo *v;
	size_t n = pinfo_list(&v);
	*run = *wait = 0;
	for (size_t i = 0; i < n; i++) {
		int mine = 0;
		for (size_t k = 0; k < check_nprocs(r) && !mine; k++) {
			pid_t root = check_pid(check_proc_at(r, k));
			mine = root && pinfo_in_tree(v, n, root, v[i].pid);
		}
		long rn, w;
		if (mine && pinfo_sched(v[i].pid, &rn, &w) == 0) {
			*run += rn;
			*wait += w;
		}
	}
	free(v);
}

static const char *
name_pid(pid_t pid, void *arg)
{
	return check_name_pid(arg, pid);
}

/* What the test's student programs, and the client, are blocked in. */
static void
diagnose(struct check_run *r, struct proc *of, struct strbuf *d)
{
	size_t shown = 0;
	for (size_t k = 0; k < check_nprocs(r) && shown < MAX_DIAGNOSED; k++) {
		struct proc *q = check_proc_at(r, k);
		if (!check_pid(q) || (q != of && !check_is_student(q)))
			continue;
		sb_addf(d, "  %s (pid %d):\n", check_who(q), (int)check_inner_pid(q));
		probe_hang(check_pid(q), d, name_pid, r);
		shown++;
	}
}

static void
concurrency_run(const struct check_use *use, struct check_run *r)
{
	const struct concurrency_args *a = use->args;
	struct proc *of = check_find(r, a->of);
	if (!of)
		return; /* its start failed: reported there */
	long run0, wait0, run1, wait1;
	test_sched(r, &run0, &wait0);
	int64_t t0 = now_ms(), last = t0;
	long last_run = run0, last_wait = wait0;
	int done = check_wait_exit(r, of, a->within_ms), starved = 0;
	/* Not served within the bound: was the machine too busy to serve it?
	 * Then wait on, a bound at a time, while it stays that busy. */
	while (!done && now_ms() - t0 < check_step_ms(r)) {
		test_sched(r, &run1, &wait1);
		long slice = (long)(now_ms() - last);
		starved = (wait1 - last_wait) * 4 >= slice && (run1 - last_run) * 3 < slice;
		if (!starved)
			break;
		last = now_ms();
		last_run = run1;
		last_wait = wait1;
		done = check_wait_exit(r, of, a->within_ms);
	}
	long elapsed = (long)(now_ms() - t0);
	if (!done && starved) {
		test_sched(r, &run1, &wait1);
		char *msg = xstrfmt("internal error: the machine is too busy: in %ld ms the test's processes waited %ld ms for a CPU and ran %ld ms; whether %s would have been served cannot be told, and this is not the program's fault",
				    elapsed, wait1 - wait0, run1 - run0, check_who(of));
		check_add(r, ST_ERROR, msg, NULL);
		free(msg);
		check_retry(r);
		return;
	}
	struct strbuf holders = STRBUF_INIT;
	for (size_t i = 0; i < a->nholders; i++) {
		struct proc *h = check_find(r, a->holders[i]);
		sb_addf(&holders, "%s%s", i == 0 ? "" : i + 1 == a->nholders ? " and " : ", ",
			h ? check_who(h) : a->holders[i]);
	}
	if (!done) {
		struct strbuf d = STRBUF_INIT;
		diagnose(r, of, &d);
		sb_adds(&d, "  hint: to serve clients at the same time, a server forks a child right after accept(): the child talks to that client while the parent goes straight back to accept() for the next one\n");
		char *msg = a->nholders
				    ? xstrfmt("%s was not served within %d ms while %s held %s connection without sending anything: the server serves one client at a time",
					      check_who(of), a->within_ms, holders.buf, a->nholders == 1 ? "its" : "their")
				    : xstrfmt("%s was not served within %d ms", check_who(of), a->within_ms);
		check_add(r, ST_FAIL, msg, d.buf);
		free(msg);
		sb_release(&d);
		sb_release(&holders);
		return;
	}
	/* Served: but was anything held meanwhile? */
	for (size_t i = 0; i < a->nholders; i++) {
		struct proc *h = check_find(r, a->holders[i]);
		if (!h || check_pid(h))
			continue;
		char *msg = xstrfmt("%s had ended before %s was served: its connection was not held open, so whether the server serves clients at the same time cannot be told from this test",
				    check_who(h), check_who(of));
		check_add(r, ST_FAIL, msg,
			  "  hint: the server must keep a client's connection open while that client is silent: a read() or recv() that waits, not one that gives up\n");
		free(msg);
		break;
	}
	sb_release(&holders);
}

const struct check_unit check_concurrency = {
	.name = "concurrency",
	.where = CHECK_AT_STEP,
	.parse = concurrency_parse,
	.run = concurrency_run,
};
