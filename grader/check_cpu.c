/* check: cpu-while-blocked -- a process that waits for a peer uses no CPU
 * while it waits: the peer is paused (SIGSTOP) for a window and the
 * process's CPU time (with its descendants') is measured over it.  A
 * blocked process uses none; one that spins on a shared variable uses
 * about all the window, and still a large share on a loaded machine. */
#define _GNU_SOURCE
#include "check.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procinfo.h"

#define DRAIN_MS 20 /* after the pause, before the window: what was there is taken */

struct cpu_args {
	const char *of, *pause;
	char *after;
	int window_ms, max_percent;
};

static void *
cpu_parse(struct parser *p, const struct ynode *map, struct check_use *use)
{
	static const char *const keys[] = { "of", "pause", "after", "window_ms", "max_percent", NULL };
	struct cpu_args *a = xcalloc(1, sizeof *a);
	a->window_ms = 300;
	a->max_percent = 20;
	for (size_t i = 0; i < map->n; i += 2) {
		const struct ynode *v = map->kids[i + 1];
		switch (check_key_index(p, map, i, keys, "cpu-while-blocked")) {
		case 0:
			a->of = check_parse_id(p, v, use);
			break;
		case 1:
			a->pause = check_parse_id(p, v, use);
			break;
		case 2:
			if ((a->after = get_str(p, v, "after")))
				check_regex(p, v, a->after);
			break;
		case 3:
			get_int(p, v, "window_ms", 50, 10000, &a->window_ms);
			break;
		case 4:
			get_int(p, v, "max_percent", 1, 99, &a->max_percent);
			break;
		}
	}
	if (!a->of)
		perr(p, map->line, map->col, "check \"cpu-while-blocked\" needs of: the process that should block");
	return a;
}

static void
cpu_release(void *args)
{
	struct cpu_args *a = args;
	if (a)
		free(a->after);
	free(a);
}

/* CPU time of root and its live descendants, and of the children they
 * waited for. */
static long
tree_cpu_ms(pid_t root)
{
	struct pinfo *v;
	size_t n = pinfo_list(&v);
	long ms = 0;
	for (size_t i = 0; i < n; i++)
		if (pinfo_in_tree(v, n, root, v[i].pid))
			ms += v[i].cpu_ms + v[i].ccpu_ms;
	free(v);
	return ms;
}

/* SIGSTOP or SIGCONT to pid and its descendants. */
static void
signal_tree(pid_t root, int sig)
{
	struct pinfo *v;
	size_t n = pinfo_list(&v);
	for (size_t i = 0; i < n; i++)
		if (pinfo_in_tree(v, n, root, v[i].pid))
			kill(v[i].pid, sig);
	free(v);
}

static void
cpu_run(const struct check_use *use, struct check_run *r)
{
	const struct cpu_args *a = use->args;
	struct proc *of = check_find(r, a->of), *peer = a->pause ? check_find(r, a->pause) : NULL;
	struct proc *waited = peer ? peer : of;
	if (a->after && waited && !check_wait_line(r, waited, a->after)) {
		char *msg = xstrfmt("%s did not print a line matching /%s/ within %d ms%s", check_who(waited), a->after,
				    check_step_ms(r), check_pid(waited) ? "" : " (it had ended)");
		check_add(r, ST_FAIL, msg, NULL);
		free(msg);
		return;
	}
	/* Re-found: waiting may have started processes, moving the table. */
	of = check_find(r, a->of);
	peer = a->pause ? check_find(r, a->pause) : NULL;
	pid_t pid = of ? check_pid(of) : 0, peer_pid = peer ? check_pid(peer) : 0;
	if (!pid)
		return; /* it ended: whether it was right is for the other checks */
	if (peer_pid)
		signal_tree(peer_pid, SIGSTOP);
	check_window(r, DRAIN_MS);
	long before = tree_cpu_ms(pid);
	int64_t t0 = now_ms();
	check_window(r, a->window_ms);
	long used = tree_cpu_ms(pid) - before, window = (long)(now_ms() - t0);
	int still = check_pid(check_find(r, a->of)) != 0;
	if (peer_pid)
		signal_tree(peer_pid, SIGCONT);
	if (!still || used * 100 <= (long)a->max_percent * window)
		return;
	char *msg = peer_pid ? xstrfmt("%s used %ld ms of CPU in %ld ms while %s was paused: it busy-waits instead of blocking",
				       check_who(check_find(r, a->of)), used, window, check_who(check_find(r, a->pause)))
			     : xstrfmt("%s used %ld ms of CPU in %ld ms while it should have been waiting: it busy-waits",
				       check_who(check_find(r, a->of)), used, window);
	check_add(r, ST_FAIL, msg,
		  "  hint: a loop that tests a shared variable until it changes burns a whole CPU; wait in the kernel instead (a semaphore, a blocking read, a condition variable), which wakes you when there is something to do\n");
	free(msg);
}

const struct check_unit check_cpu_while_blocked = {
	.name = "cpu-while-blocked",
	.where = CHECK_AT_STEP,
	.parse = cpu_parse,
	.run = cpu_run,
	.release = cpu_release,
};
