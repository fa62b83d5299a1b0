/* A test runs as the sandbox's init.  Its steps start processes (children
 * of the init), wait for readiness or exit, and record findings; an event
 * loop (pump) reads every process's output into capped buffers and reaps
 * children through a signalfd, so nothing here sleeps to synchronise: it
 * waits for events, or re-checks a /proc condition with a deadline.  At the
 * end every started process is stopped, leftovers are killed and reported,
 * memcheck logs are read, and the verdict goes to the parent as JSON. */
#define _GNU_SOURCE
#include "runtest.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture.h"
#include "checkunit.h"
#include "link.h"
#include "match.h"
#include "memcheck.h"
#include "probe.h"
#include "procinfo.h"
#include "spawn.h"
#include "timing.h"

#define STOP_GRACE_MS 200  /* SIGTERM, then SIGKILL after this long... */
#define STOP_GRACE_MEMCHECK_MS 3000 /* ...or this long under Valgrind or ASan */
#define READY_TICK_MS 2    /* how often a /proc condition is re-checked (alive) */
#define READY_BACKOFF_MIN_MS 1  /* readiness: first re-check after this long, */
#define READY_BACKOFF_MAX_MS 20 /* then twice as long each time, up to this */
#define SHOW_OUTPUT 3000   /* bytes of a stream shown in details */
#define MEMCHECK_SLOWDOWN 10
#define GRADER_PIDS 16 /* the init, the jail, the references: beside the test's own */
#define MEMCHECK_LOG_MAX (256 * 1024)
#define MAX_HANG_CHILDREN 4 /* a hang report describes this many of its children */
#define LINK_DRAIN_MS 1000  /* at most, for a link's packets in flight to arrive */
#define LINK_SHOWN 40       /* packets of the link's schedule a failing test's details list */
#define HINT_SIGPIPE "  hint: it wrote to a socket or pipe whose other end was closed (a client that had left, say); check what recv() returns before answering (0: the peer left, send nothing), and what send()/write() return (send(..., MSG_NOSIGNAL) or ignoring SIGPIPE turns the signal into an EPIPE error to handle)\n"

/* A unit's watch on a stream (check_observe). */
struct observer {
	int err;
	check_stream_fn fn;
	void *state;
};

/* check_wait_line(): a regex looked for in each new line of stdout. */
struct line_watch {
	regex_t rx;
	struct strbuf partial; /* the line being printed */
	int matched;
};

#define MAX_OBSERVERS 8

struct proc {
	char *id;
	const struct step *step;
	int memcheck;
	struct child child;
	pid_t inner_pid; /* its pid as it knows itself (in the jail) */
	int log_fd;      /* read end of Valgrind's log pipe; -1: none or closed */
	struct capture out, err, log;
	int running;
	int stopped; /* the grader ended it: its death by signal is no crash */
	int shown;   /* its output is in the details already */
	struct exit_status status;
	struct observer obs[MAX_OBSERVERS];
	int nobs;
	struct line_watch *watch;
};

struct pending_observer {
	char *id;
	struct observer o;
};

struct use_state {
	const struct check_use *use;
	void *state;
};

struct ctx;
struct check_run {
	struct ctx *c;
};

struct ctx {
	const struct grade_env *env;
	const struct test_spec *t;
	struct proc *procs;
	size_t nprocs, cap;
	int sigfd;
	int64_t deadline;
	struct verdict v;
	const char *workdir; /* cwd and memcheck log folder of the processes */
	int aborted;
	struct check_run run; /* what check units see of this */
	struct pending_observer *pending;
	size_t npending;
	struct use_state *states;
	size_t nstates;
	int uses_seed;
	const struct check_use *current; /* the check running now */
	struct link *link; /* the test's hosts and link; NULL without hosts */
	size_t step_no;                  /* the step running now (nsteps: the end) */
	struct test_hang hang;           /* the first student program that hung */
};

/* A finding.  In a test that judges memory only (`judge: memory`), what is
 * not about memory nor about the test being able to run (output, exit
 * status, a server gone, leftovers) is a note: the other tests charge it. */
static void
finding(struct ctx *c, enum status st, const char *msg, const char *details)
{
	if (st != ST_FAIL || !c->t->judge_memory) {
		verdict_add(&c->v, st, msg, details);
		return;
	}
	sb_addf(&c->v.details, "(note) not judged here, this test looks for memory errors only: %s\n", msg);
}

static const char *
who(const struct proc *p)
{
	static char buf[2][160];
	static int k;
	k ^= 1;
	snprintf(buf[k], sizeof buf[k], "%s %s", p->step->is_ref ? "the reference" : "your", p->id);
	return buf[k];
}

static void
show_stream(struct strbuf *d, const struct proc *p, int err)
{
	const struct capture *c = err ? &p->err : &p->out;
	if (!c->total)
		return;
	size_t len;
	char *bytes = capture_bytes(c, 0, &len);
	sb_addf(d, "  %s of %s (%zu bytes%s):\n", err ? "stderr" : "stdout", who(p), c->total,
		capture_truncated(c) ? ", the middle was not kept" : "");
	/* Every line of a program's output is marked as the program's, so
	 * that nothing it prints reads like the grader's own words. */
	if (c->total > SHOW_OUTPUT) {
		sb_add_marked(d, "  | ", bytes, SHOW_OUTPUT / 2);
		sb_addf(d, "  [... %zu bytes not shown ...]\n", c->total - SHOW_OUTPUT);
		sb_add_marked(d, "  | ", bytes + len - SHOW_OUTPUT / 2, SHOW_OUTPUT / 2);
	} else {
		sb_add_marked(d, "  | ", bytes, len);
	}
	free(bytes);
}

static void
show_outputs(struct strbuf *d, struct proc *p)
{
	p->shown = 1;
	show_stream(d, p, 0);
	show_stream(d, p, 1);
	if (!p->out.total && !p->err.total)
		sb_addf(d, "  %s printed nothing\n", who(p));
}

/* ---- the event loop --------------------------------------------------- */

/* Reads what fd has, at most max_reads times: a flood (from the process, or
 * a child that shares its pipe) must not keep the loop from its deadlines. */
static void
watch_feed(struct line_watch *w, const char *buf, size_t n)
{
	for (size_t i = 0; i < n && !w->matched; i++) {
		if (buf[i] != '\n') {
			if (w->partial.len < 4096)
				sb_add(&w->partial, &buf[i], 1);
			continue;
		}
		w->matched = w->partial.buf && regexec(&w->rx, w->partial.buf, 0, NULL, 0) == 0;
		w->partial.len = 0;
		if (w->partial.buf)
			w->partial.buf[0] = '\0';
	}
}

/* What arrived on stream (0 stdout, 1 stderr, 2 Valgrind's log) of p. */
static void
feed(struct proc *p, int stream, const char *buf, size_t n)
{
	capture_add(stream == 0 ? &p->out : stream == 1 ? &p->err : &p->log, buf, n);
	if (stream == 2)
		return;
	for (int i = 0; i < p->nobs; i++)
		if (p->obs[i].err == stream)
			p->obs[i].fn(p->obs[i].state, buf, n);
	if (stream == 0 && p->watch)
		watch_feed(p->watch, buf, n);
}

static void
drain_fd(int *fd, struct proc *p, int stream, int max_reads)
{
	static char buf[65536]; /* one process, one loop: not on the stack */
	for (int reads = 0; reads < max_reads; reads++) {
		ssize_t n = read(*fd, buf, sizeof buf);
		if (n > 0) {
			feed(p, stream, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
			close(*fd);
			*fd = -1;
		}
		break;
	}
}

static void
reap(struct ctx *c)
{
	struct signalfd_siginfo si;
	while (read(c->sigfd, &si, sizeof si) > 0)
		;
	int st;
	pid_t pid;
	while ((pid = sandbox_reap(&st)) > 0) {
		for (size_t i = 0; i < c->nprocs; i++) {
			struct proc *p = &c->procs[i];
			if (p->child.pid != pid || !p->running)
				continue;
			p->running = 0;
			exit_status_decode(st, &p->status);
			/* Everything it wrote is in the pipes now. */
			if (p->child.out_fd >= 0)
				drain_fd(&p->child.out_fd, p, 0, 64);
			if (p->child.err_fd >= 0)
				drain_fd(&p->child.err_fd, p, 1, 64);
			if (p->log_fd >= 0)
				drain_fd(&p->log_fd, p, 2, 64);
		}
	}
}

typedef int (*cond_fn)(struct ctx *c, void *arg);

/* Runs the loop until cond holds (returns 1) or until_ms passes (returns
 * 0).  tick_ms > 0 re-checks cond that often even without events. */
static int
pump(struct ctx *c, int64_t until_ms, cond_fn cond, void *arg, int tick_ms)
{
	size_t cap = 1 + 3 * c->nprocs;
	struct pollfd *pfd = xcalloc(cap, sizeof *pfd);
	int rc = 0;
	for (;;) {
		if (cond && cond(c, arg)) {
			rc = 1;
			break;
		}
		int64_t left = until_ms - now_ms();
		if (left < 0)
			break;
		size_t n = 0;
		pfd[n++] = (struct pollfd){ c->sigfd, POLLIN, 0 };
		for (size_t i = 0; i < c->nprocs; i++) {
			if (c->procs[i].child.out_fd >= 0)
				pfd[n++] = (struct pollfd){ c->procs[i].child.out_fd, POLLIN, 0 };
			if (c->procs[i].child.err_fd >= 0)
				pfd[n++] = (struct pollfd){ c->procs[i].child.err_fd, POLLIN, 0 };
			if (c->procs[i].log_fd >= 0)
				pfd[n++] = (struct pollfd){ c->procs[i].log_fd, POLLIN, 0 };
		}
		int timeout = tick_ms > 0 && left > tick_ms ? tick_ms : (int)left;
		int pr = poll(pfd, n, timeout);
		if (pr < 0 && errno != EINTR)
			break;
		if (pr <= 0)
			continue;
		for (size_t i = 0; i < c->nprocs; i++) {
			struct proc *p = &c->procs[i];
			for (size_t k = 1; k < n; k++) {
				if (!pfd[k].revents)
					continue;
				if (pfd[k].fd == p->child.out_fd)
					drain_fd(&p->child.out_fd, p, 0, 16);
				else if (pfd[k].fd == p->child.err_fd)
					drain_fd(&p->child.err_fd, p, 1, 16);
				else if (pfd[k].fd == p->log_fd)
					drain_fd(&p->log_fd, p, 2, 16);
			}
		}
		if (pfd[0].revents)
			reap(c);
	}
	free(pfd);
	return rc;
}

static int
cond_exited(struct ctx *c, void *arg)
{
	(void)c;
	return !((struct proc *)arg)->running;
}

static int
cond_all_exited(struct ctx *c, void *arg)
{
	(void)arg;
	for (size_t i = 0; i < c->nprocs; i++)
		if (c->procs[i].running)
			return 0;
	return 1;
}

/* The kernel's answer to p's socket readiness condition, asked in the
 * network namespace of p's host (the test's own without hosts): 1 met,
 * 0 not, -1 unknown (the host could not be entered). */
static int
ready_on_host(struct ctx *c, const struct proc *p)
{
	if (!c->link || p->step->host < 0)
		return ready_check(&p->step->ready, NULL, 0, c->workdir);
	if (link_enter(c->link, (size_t)p->step->host) < 0)
		return -1;
	int ok = ready_check(&p->step->ready, NULL, 0, c->workdir);
	link_leave(c->link);
	return ok;
}

/* Why p is not ready, from its host's namespace (see ready_on_host). */
static void
explain_on_host(struct ctx *c, const struct proc *p, struct strbuf *why)
{
	int entered = c->link && p->step->host >= 0 && link_enter(c->link, (size_t)p->step->host) == 0;
	if (c->link && p->step->host >= 0 && !entered)
		return;
	ready_explain(&p->step->ready, p->child.pid, why);
	if (entered)
		link_leave(c->link);
}

/* p's readiness condition now, whether p runs or not: 1 met, 0 not, -1
 * unknown. */
static int
ready_met(struct ctx *c, struct proc *p)
{
	if (p->step->ready.kind != READY_STDOUT) /* no copy of a flood per check */
		return ready_on_host(c, p);
	size_t len;
	char *out = capture_bytes(&p->out, 0, &len);
	int ok = ready_check(&p->step->ready, out, len, c->workdir);
	free(out);
	return ok;
}

static int
cond_ready_or_exited(struct ctx *c, void *arg)
{
	struct proc *p = arg;
	return !p->running || ready_met(c, p);
}

/* One slice of wait_ready(): readiness is checked when the slice begins
 * and on every event; the slice ends early when the process writes. */
struct ready_slice {
	struct proc *p;
	int64_t end;
	size_t written; /* its stdout and stderr bytes when the slice began */
	int checked, ready;
};

static size_t
proc_written(const struct proc *p)
{
	return p->out.total + p->err.total;
}

static int cond_settled(struct ctx *c, void *arg);

/* Not ready, and never will be: asleep (in accept(), say) with its socket
 * on the port's byte-swapped twin, a port given without htons().  No need
 * to wait out the deadline. */
static int
cond_misdirected(struct ctx *c, struct proc *p)
{
	return p->running && cond_settled(c, p) && ready_swapped(&p->step->ready);
}

static int
cond_ready_slice(struct ctx *c, void *arg)
{
	struct ready_slice *s = arg;
	if (!s->checked || (now_ms() < s->end && proc_written(s->p) == s->written)) {
		s->checked = 1;
		return s->ready = cond_ready_or_exited(c, s->p) || cond_misdirected(c, s->p);
	}
	return 1;
}

/* Waits until p is ready or gone, or until_ms passes.  A server takes from
 * a millisecond to seconds (under Valgrind) to get ready, and a check costs
 * a system call or more, so the checks back off: 1 ms, 2, 4... up to 20 ms
 * apart, and start again at 1 ms when the process writes (progress: it
 * may be about to listen).  A check with the loop around it costs 50-200 us
 * of CPU (more on a busy machine), so the init uses about 1.5% of a CPU
 * while Valgrind starts (10-15 ms in a 0.7-1 s start; 50 ms apart: about
 * 0.6%), and notices readiness at most 20 ms late (50 ms apart, an ASan
 * server ready after 40 ms was seen at 63 ms).  Output is an event, so a
 * stdout condition is still checked as soon as the line arrives. */
static void
wait_ready(struct ctx *c, struct proc *p, int64_t until_ms)
{
	int tick = READY_BACKOFF_MIN_MS;
	for (;;) {
		int64_t now = now_ms();
		struct ready_slice s = { p, now + tick < until_ms ? now + tick : until_ms, proc_written(p), 0, 0 };
		/* pump() returns 0 also when the check itself outlasted the slice
		 * (a loaded machine): only the deadline ends the wait. */
		pump(c, s.end, cond_ready_slice, &s, 0);
		if (s.ready || now_ms() >= until_ms)
			return;
		if (proc_written(p) != s.written)
			tick = READY_BACKOFF_MIN_MS;
		else if ((tick *= 2) > READY_BACKOFF_MAX_MS)
			tick = READY_BACKOFF_MAX_MS;
	}
}

/* Running or waiting for a CPU ("R"), or in an uninterruptible wait ("D",
 * paging under memory pressure): not asleep of its own accord. */
static int
proc_runnable(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	char *stat = read_file(path, 4096, NULL);
	char *paren = stat ? strrchr(stat, ')') : NULL;
	char state = '?';
	int ok = paren && sscanf(paren + 1, " %c", &state) == 1;
	free(stat);
	return ok && (state == 'R' || state == 'D');
}

/* Asleep in the kernel (waiting for the next client), or gone.  A process
 * that is exiting is neither yet: its exit may block for a moment (ASan
 * unmapping its shadow memory), which must not pass for "still serving". */
#define PF_EXITING 0x4
static int
cond_settled(struct ctx *c, void *arg)
{
	(void)c;
	struct proc *p = arg;
	if (!p->running)
		return 1;
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)p->child.pid);
	char *stat = read_file(path, 4096, NULL);
	char *paren = stat ? strrchr(stat, ')') : NULL;
	char state = '?';
	unsigned long flags = 0;
	/* after "comm)": state ppid pgrp session tty_nr tpgid flags */
	int ok = paren && sscanf(paren + 1, " %c %*d %*d %*d %*d %*d %lu", &state, &flags) == 2;
	free(stat);
	return ok && state == 'S' && !(flags & PF_EXITING);
}

/* ---- what a hang establishes ------------------------------------------
 *
 * A student program that did not finish may be run the same way again by a
 * memcheck test of the same grading, where it would cost the test's whole
 * (doubled) limit.  The grading skips that run only on evidence that the
 * program would not finish there either: it spins (runnable, or killed for
 * using all its CPU time), or it and every process it started sleep in a
 * call that has no timeout (read, accept, wait, a futex or poll without
 * one).  A process asleep with a timer (sleep, poll with a timeout) might
 * wake up within a longer limit: no evidence, the memcheck test runs. */

/* "spins", "blocks", or NULL (no evidence) for one process of the tree. */
static const char *
proc_hang_how(pid_t pid, char state)
{
	if (state == 'R')
		return "spins";
	if (state != 'S')
		return NULL; /* stopped, in the disk, a zombie: no evidence */
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
	char *sc = read_file(path, 512, NULL);
	if (!sc || !strncmp(sc, "running", 7)) {
		free(sc);
		return sc ? "spins" : NULL;
	}
	char *p = sc, *end;
	long nr = strtol(p, &end, 10);
	unsigned long a[6] = { 0 };
	int ok = end != p;
	for (int i = 0; ok && i < 6; i++) {
		p = end;
		a[i] = strtoul(p, &end, 16);
		ok = end != p;
	}
	free(sc);
	if (!ok)
		return NULL;
	int forever;
	switch (nr) {
	case SYS_read: case SYS_readv: case SYS_recvfrom: case SYS_recvmsg: case SYS_accept: case SYS_accept4:
	case SYS_write: case SYS_writev: case SYS_sendto: case SYS_sendmsg: case SYS_wait4: case SYS_waitid:
	case SYS_msgrcv: case SYS_msgsnd: case SYS_rt_sigsuspend: case SYS_openat: case SYS_semop:
#ifdef SYS_pause
	case SYS_pause:
#endif
#ifdef SYS_open
	case SYS_open:
#endif
		forever = 1;
		break;
	case SYS_futex:
	case SYS_semtimedop:
	case SYS_epoll_wait:
	case SYS_epoll_pwait:
		forever = nr == SYS_futex || nr == SYS_semtimedop ? a[3] == 0 : (int)a[3] < 0;
		break;
	case SYS_ppoll:
	case SYS_rt_sigtimedwait:
		forever = a[2] == 0;
		break;
#ifdef SYS_poll
	case SYS_poll:
		forever = (int)a[2] < 0;
		break;
#endif
#ifdef SYS_select
	case SYS_select:
#endif
	case SYS_pselect6:
	case SYS_mq_timedreceive:
	case SYS_mq_timedsend:
		forever = a[4] == 0;
		break;
	default:
		forever = 0;
	}
	return forever ? "blocks" : NULL;
}

/* How p hangs, with every process it started: "spins" when one of them is
 * runnable, "blocks" when all sleep for good, NULL when that is not known. */
static const char *
hang_how(const struct proc *p)
{
	if (!p->running)
		return NULL;
	struct pinfo *v;
	size_t n = pinfo_list(&v);
	const char *how = "blocks";
	int seen = 0;
	for (size_t i = 0; i < n && how; i++) {
		if (v[i].state == 'Z' || !pinfo_in_tree(v, n, p->child.pid, v[i].pid))
			continue;
		seen |= v[i].pid == p->child.pid;
		const char *one = proc_hang_how(v[i].pid, v[i].state);
		if (!one || !strcmp(one, "spins"))
			how = one;
	}
	free(v);
	return seen ? how : NULL;
}

/* Records the first student program of the test that hung (how: see
 * hang_how; NULL records nothing). */
static void
note_hang(struct ctx *c, const struct proc *p, const char *how, enum status st)
{
	if (c->hang.found || !how || p->step->is_ref)
		return;
	c->hang.found = 1;
	c->hang.step = c->step_no;
	c->hang.status = st;
	snprintf(c->hang.id, sizeof c->hang.id, "%s", p->id);
	snprintf(c->hang.how, sizeof c->hang.how, "%s", how);
}

/* ---- processes -------------------------------------------------------- */

static struct proc *
find_proc(struct ctx *c, const char *id)
{
	for (size_t i = c->nprocs; i-- > 0;)
		if (!strcmp(c->procs[i].id, id))
			return &c->procs[i];
	return NULL;
}

static int
step_timeout(const struct ctx *c, const struct proc *p)
{
	int ms = c->t->limits.step_ms;
	return p && p->memcheck != MEMCHECK_NONE ? ms * 2 : ms;
}

static int64_t
until(const struct ctx *c, int ms)
{
	int64_t t = now_ms() + ms;
	return t < c->deadline ? t : c->deadline;
}

/* {host:NAME}: the address of the test's host NAME (the spec checked it). */
static size_t
host_arg(struct ctx *c, const char *at, struct strbuf *sb)
{
	const char *name = at + 6, *end = strchr(name, '}');
	for (size_t i = 0; end && i < c->t->nhosts; i++)
		if (strlen(c->t->hosts[i]) == (size_t)(end - name) && !strncmp(c->t->hosts[i], name, (size_t)(end - name))) {
			char addr[32];
			link_address(i, addr, sizeof addr);
			sb_adds(sb, addr);
			return (size_t)(end + 1 - at);
		}
	sb_add(sb, at, 1);
	return 1;
}

/* An argument, with {seed} replaced by the run's seed and {host:NAME} by
 * that host's address. */
static void
push_arg(struct ctx *c, struct strvec *argv, const char *arg)
{
	if (!strstr(arg, "{seed}") && !strstr(arg, "{host:")) {
		sv_push(argv, arg);
		return;
	}
	struct strbuf sb = STRBUF_INIT;
	while (*arg) {
		if (!strncmp(arg, "{seed}", 6)) {
			sb_addf(&sb, "%ld", c->env->seed);
			c->uses_seed = 1;
			arg += 6;
		} else if (!strncmp(arg, "{host:", 6)) {
			arg += host_arg(c, arg, &sb);
		} else {
			sb_add(&sb, arg++, 1);
		}
	}
	sv_push(argv, sb.buf ? sb.buf : "");
	sb_release(&sb);
}

static struct proc *
spawn(struct ctx *c, const struct step *s, const char *id)
{
	const struct grade_env *env = c->env;
	if (c->nprocs == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 8;
		c->procs = xrealloc(c->procs, c->cap * sizeof *c->procs);
	}
	struct proc *p = &c->procs[c->nprocs];
	memset(p, 0, sizeof *p);
	p->log_fd = -1;
	p->id = xstrdup(id);
	p->step = s;
	p->memcheck = step_memcheck(c->t, s);

	char *path;
	if (s->is_ref)
		path = xstrfmt("%s/%s", env->ref_dir, spec_ref(env->spec, s->program)->binary);
	else
		path = xstrfmt("%s/%s", p->memcheck == MEMCHECK_ASAN ? env->asan_dir : env->bin_dir, s->program);
	if (p->memcheck == MEMCHECK_VALGRIND && !env->valgrind) {
		verdict_add(&c->v, ST_ERROR, "internal error: this test needs Valgrind, which is not installed", NULL);
		goto fail;
	}
	if (p->memcheck == MEMCHECK_ASAN && (!env->asan_dir || s->is_ref)) {
		verdict_add(&c->v, ST_ERROR, s->is_ref ? "internal error: references have no ASan build"
						       : "internal error: the ASan build of the submission is missing",
			    NULL);
		goto fail;
	}

	int log_pipe[2] = { -1, -1 };
	if (p->memcheck == MEMCHECK_VALGRIND && pipe2(log_pipe, O_CLOEXEC) < 0) {
		verdict_add(&c->v, ST_ERROR, "internal error: cannot create a pipe for Valgrind's log", strerror(errno));
		goto fail;
	}
	struct strvec argv = STRVEC_INIT, envv = STRVEC_INIT;
	sv_push(&envv, "PATH=/usr/local/bin:/usr/bin:/bin");
	sv_pushf(&envv, "HOME=%s", c->workdir);
	sv_push(&envv, "LC_ALL=C");
	sv_pushf(&envv, "LD_PRELOAD=%s", env->linebuf);
	memcheck_prepare(p->memcheck, env->valgrind, 3, &argv, &envv);
	sv_push(&argv, path);
	for (size_t i = 0; i < s->nargs; i++)
		push_arg(c, &argv, s->args[i]);
	for (size_t i = 0; i < s->nenv; i++)
		sv_pushf(&envv, "%s=%s", s->env[i].key, s->env[i].value);

	const struct limits *l = &c->t->limits;
	int slow = p->memcheck == MEMCHECK_NONE ? 1 : MEMCHECK_SLOWDOWN;
	p->child = (struct child){
		.argv = argv.v,
		.envp = envv.v,
		.cwd = c->workdir,
		.stdin_data = s->stdin_text,
		.stdin_len = s->stdin_text ? strlen(s->stdin_text) : 0,
		.extra_fd = log_pipe[1] >= 0 ? log_pipe[1] : 0,
		.netns_fd = c->link && s->host >= 0 ? link_netns(c->link, (size_t)s->host) : 0,
		.jail = sandbox_jail(!s->is_ref),
		.limits = { .cpu_ms = l->cpu_ms * slow,
			    .memory_mb = p->memcheck == MEMCHECK_NONE ? l->memory_mb : 0,
			    .file_size_kb = l->file_size_kb,
			    .open_files = l->open_files,
			    .processes = l->processes },
	};
	char err[256];
	int rc = child_start(&p->child, err, sizeof err);
	sv_clear(&argv);
	sv_clear(&envv);
	p->child.argv = p->child.envp = NULL;
	if (log_pipe[1] >= 0)
		close(log_pipe[1]);
	if (rc < 0) {
		if (log_pipe[0] >= 0)
			close(log_pipe[0]);
		char *msg = xstrfmt("internal error: cannot start %s: %s", who(p), err);
		verdict_add(&c->v, ST_ERROR, msg, NULL);
		free(msg);
		goto fail;
	}
	capture_init(&p->out, (size_t)l->output_kb * 1024);
	capture_init(&p->err, (size_t)l->output_kb * 1024);
	capture_init(&p->log, MEMCHECK_LOG_MAX);
	if ((p->log_fd = log_pipe[0]) >= 0)
		fcntl(p->log_fd, F_SETFL, O_NONBLOCK);
	p->inner_pid = sandbox_inner_pid(p->child.pid);
	p->running = 1;
	for (size_t i = 0; i < c->npending; i++)
		if (!strcmp(c->pending[i].id, p->id) && p->nobs < MAX_OBSERVERS)
			p->obs[p->nobs++] = c->pending[i].o;
	c->nprocs++;
	free(path);
	return p;
fail:
	free(path);
	free(p->id);
	c->aborted = 1;
	return NULL;
}

static void
stop_procs(struct ctx *c, struct proc *only)
{
	int any = 0, grace = STOP_GRACE_MS;
	for (size_t i = 0; i < c->nprocs; i++) {
		struct proc *p = &c->procs[i];
		if (p->running && (!only || p == only)) {
			kill(p->child.pid, SIGTERM);
			p->stopped = 1;
			any = 1;
			if (p->memcheck != MEMCHECK_NONE)
				grace = STOP_GRACE_MEMCHECK_MS;
		}
	}
	if (!any)
		return;
	cond_fn done = only ? cond_exited : cond_all_exited;
	if (pump(c, now_ms() + grace, done, only, 0))
		return;
	for (size_t i = 0; i < c->nprocs; i++)
		if (c->procs[i].running && (!only || &c->procs[i] == only)) {
			kill(c->procs[i].child.pid, SIGKILL);
			sb_addf(&c->v.details, "(note) %s did not end within %d ms of SIGTERM and was killed with SIGKILL\n",
				who(&c->procs[i]), grace);
		}
	if (!pump(c, now_ms() + 5000, done, only, 0))
		verdict_add(&c->v, ST_ERROR, "internal error: a process did not die of SIGKILL within 5 s", NULL);
}

/* Status 255 is what main's `return -1` gives (statuses are 0..255). */
static void
hint_status(struct strbuf *d, const struct exit_status *st)
{
	if (st->how == EXIT_CODE && st->code == 255)
		sb_adds(d, "  hint: status 255 is what `return -1;` from main() (or exit(-1)) gives: an exit status is one byte, so -1 becomes 255; return 1 (or EXIT_FAILURE) for an error\n");
}

/* Exit status and output expectations of a process that has ended. */
static void
check_proc(struct ctx *c, struct proc *p)
{
	const struct expect *e = &p->step->expect;
	char desc[160];
	exit_status_describe(&p->status, desc, sizeof desc);
	int crashed = p->status.how == EXIT_SIGNAL && !p->stopped &&
		      !(e->has_signal && e->signal == p->status.signal);
	if (crashed) {
		struct strbuf d = STRBUF_INIT;
		int cpu = p->status.signal == SIGXCPU;
		char *msg = cpu ? xstrfmt("%s used more than its %d ms of CPU time and was killed", who(p),
					  c->t->limits.cpu_ms)
				: xstrfmt("%s crashed: it %s", who(p), desc);
		if (cpu)
			note_hang(c, p, "spins", ST_TIMEOUT);
		if (p->status.signal == SIGPIPE && e->has_exit)
			sb_addf(&d, "  hint: it wrote to a socket or pipe whose other end was closed, or to a socket that never connected; when connect() (or any call before the write) fails, stop there with status %d, as this test expects, instead of going on\n",
				e->exit_code);
		else if (p->status.signal == SIGPIPE)
			sb_adds(&d, HINT_SIGPIPE);
		else if (p->status.signal == SIGBUS)
			sb_adds(&d, "  hint: it touched a mapping past the end of the file or shared memory object behind it; give the object its size first (ftruncate) and map no more than that\n");
		show_outputs(&d, p);
		verdict_add(&c->v, cpu ? ST_TIMEOUT : ST_CRASH, msg, d.buf);
		free(msg);
		sb_release(&d);
	}
	if (e->has_exit && !crashed && !(p->status.how == EXIT_CODE && p->status.code == e->exit_code)) {
		struct strbuf d = STRBUF_INIT;
		char *msg = xstrfmt("%s %s, expected exit status %d", who(p), desc, e->exit_code);
		hint_status(&d, &p->status);
		show_outputs(&d, p);
		finding(c, ST_FAIL, msg, d.buf);
		free(msg);
		sb_release(&d);
	}
	if (e->has_signal && !(p->status.how == EXIT_SIGNAL && p->status.signal == e->signal)) {
		char *msg = xstrfmt("%s %s, expected it to be killed by SIG%s", who(p), desc, sigabbrev_np(e->signal));
		finding(c, ST_FAIL, msg, NULL);
		free(msg);
	}
	for (int err = 0; err < 2; err++) {
		const struct matcher *m = err ? &e->err : &e->out;
		const struct capture *cap = err ? &p->err : &p->out;
		if (!m->present)
			continue;
		size_t len;
		char *bytes = capture_bytes(cap, 0, &len), *msg;
		char *what = xstrfmt("%s's %s", who(p), err ? "stderr" : "stdout");
		struct strbuf d = STRBUF_INIT;
		if (!match_output(m, bytes, len, what, &msg, &d)) {
			if (capture_truncated(cap))
				sb_addf(&d, "  (it printed %zu bytes; only the first and last %d KiB were kept)\n",
					cap->total, c->t->limits.output_kb / 2);
			finding(c, ST_FAIL, msg, d.buf);
			free(msg);
			p->shown = 1;
		}
		sb_release(&d);
		free(what);
		free(bytes);
	}
}

/* A process that should be running is gone; needed: the test cannot go
 * on without it (it never got ready), a failure in every test. */
static void
report_gone(struct ctx *c, struct proc *p, const char *expected, int needed)
{
	char desc[160];
	exit_status_describe(&p->status, desc, sizeof desc);
	struct strbuf d = STRBUF_INIT;
	int cpu = p->status.how == EXIT_SIGNAL && p->status.signal == SIGXCPU;
	char *msg = cpu ? xstrfmt("%s used more than its %d ms of CPU time and was killed, %s", who(p),
				  c->t->limits.cpu_ms, expected)
			: xstrfmt("%s %s, %s", who(p), desc, expected);
	hint_status(&d, &p->status);
	if (p->status.how == EXIT_SIGNAL && p->status.signal == SIGPIPE)
		sb_adds(&d, HINT_SIGPIPE);
	show_outputs(&d, p);
	if (cpu)
		note_hang(c, p, "spins", ST_TIMEOUT);
	enum status st = cpu ? ST_TIMEOUT : p->status.how == EXIT_SIGNAL ? ST_CRASH : ST_FAIL;
	if (needed)
		verdict_add(&c->v, st, msg, d.buf);
	else
		finding(c, st, msg, d.buf);
	p->stopped = 1; /* reported here; not again as a crash */
	p->shown = 1;
	free(msg);
	sb_release(&d);
}

static const char *
name_outer_pid(pid_t pid, void *arg)
{
	struct ctx *c = arg;
	for (size_t i = 0; i < c->nprocs; i++)
		if (c->procs[i].running && c->procs[i].child.pid == pid)
			return who(&c->procs[i]);
	return NULL;
}

static void
report_hang(struct ctx *c, struct proc *p, enum status st, const char *msg)
{
	struct strbuf d = STRBUF_INIT;
	probe_hang(p->child.pid, &d, name_outer_pid, c);
	/* Its children may be what it waits for (a consumer that never sees
	 * the end of its pipe): say what each of them is doing too. */
	struct pinfo *v;
	size_t n = pinfo_list(&v), shown = 0;
	for (size_t i = 0; i < n && shown < MAX_HANG_CHILDREN; i++) {
		if (v[i].pid == p->child.pid || v[i].state == 'Z' || !pinfo_in_tree(v, n, p->child.pid, v[i].pid))
			continue;
		sb_addf(&d, "  its %s pid %d (%s):\n", v[i].ppid == p->child.pid ? "child" : "descendant",
			(int)sandbox_inner_pid(v[i].pid), v[i].comm);
		probe_hang(v[i].pid, &d, name_outer_pid, c);
		shown++;
	}
	free(v);
	/* Or its peer: a client waits for an answer because the server waits
	 * for the rest of the request (a missing shutdown), or spins. */
	for (size_t i = 0; i < c->nprocs; i++) {
		struct proc *o = &c->procs[i];
		if (o == p || !o->running)
			continue;
		sb_addf(&d, "  meanwhile %s (pid %d):\n", who(o), (int)o->inner_pid);
		probe_hang(o->child.pid, &d, name_outer_pid, c);
	}
	show_outputs(&d, p);
	verdict_add(&c->v, st, msg, d.buf);
	sb_release(&d);
}

/* ---- what check units see (check.h) ----------------------------------- */

struct proc *
check_find(struct check_run *r, const char *id)
{
	return find_proc(r->c, id);
}

size_t
check_nprocs(struct check_run *r)
{
	return r->c->nprocs;
}

struct proc *
check_proc_at(struct check_run *r, size_t i)
{
	return i < r->c->nprocs ? &r->c->procs[i] : NULL;
}

const char *
check_who(const struct proc *p)
{
	return who(p);
}

int
check_is_student(const struct proc *p)
{
	return !p->step->is_ref;
}

pid_t
check_pid(const struct proc *p)
{
	return p->running ? p->child.pid : 0;
}

int
check_fds_visible(struct check_run *r, const struct proc *p)
{
	pid_t pid = check_pid(p);
	if (!pid || fds_readable(pid) == 0)
		return 0;
	char *msg = xstrfmt("internal error: the grader cannot see what the descriptors of %s are (/proc/%d/fd: %s), so "
			    "this check cannot be made; this is not the program's fault",
			    check_who(p), (int)p->inner_pid, strerror(errno));
	check_add(r, ST_ERROR, msg,
		  "  the grader needs CAP_SYS_PTRACE to read another user's /proc/PID/fd: in a container, add --cap-add SYS_PTRACE (docker/README.md)\n");
	free(msg);
	return -1;
}

pid_t
check_inner_pid(const struct proc *p)
{
	return p->inner_pid;
}

int
check_stopped(const struct proc *p)
{
	return p->stopped;
}

struct proc *
check_by_pid(struct check_run *r, pid_t pid)
{
	for (size_t i = 0; i < r->c->nprocs; i++)
		if (r->c->procs[i].child.pid == pid)
			return &r->c->procs[i];
	return NULL;
}

struct proc *
check_by_inner_pid(struct check_run *r, pid_t pid)
{
	for (size_t i = 0; i < r->c->nprocs; i++)
		if (r->c->procs[i].inner_pid == pid)
			return &r->c->procs[i];
	return NULL;
}

const char *
check_name_pid(struct check_run *r, pid_t pid)
{
	return name_outer_pid(pid, r->c);
}

/* p is settled, and so is every process it started (a child may be about
 * to close its end of a pipe right after the parent went to sleep). */
static int
cond_tree_settled(struct ctx *c, void *arg)
{
	struct proc *p = arg;
	if (!cond_settled(c, p) || !p->running)
		return !p->running;
	struct pinfo *v;
	size_t n = pinfo_list(&v);
	int settled = 1;
	for (size_t i = 0; i < n && settled; i++)
		if (v[i].pid != p->child.pid && pinfo_in_tree(v, n, p->child.pid, v[i].pid))
			settled = v[i].state != 'R' && v[i].state != 'D';
	free(v);
	return settled;
}

int
check_settle(struct check_run *r, struct proc *p)
{
	struct ctx *c = r->c;
	pump(c, until(c, step_timeout(c, p)), cond_tree_settled, p, READY_TICK_MS);
	return p->running;
}

static int
cond_watch_or_exited(struct ctx *c, void *arg)
{
	(void)c;
	struct proc *p = arg;
	return p->watch->matched || !p->running;
}

int
check_wait_line(struct check_run *r, struct proc *p, const char *regex)
{
	struct ctx *c = r->c;
	struct line_watch w = { .partial = STRBUF_INIT };
	if (regcomp(&w.rx, regex, REG_EXTENDED | REG_NOSUB) != 0)
		return 0;
	/* What it printed already (the kept head and tail of it). */
	size_t len;
	char *bytes = capture_bytes(&p->out, 0, &len);
	watch_feed(&w, bytes, len);
	free(bytes);
	w.partial.len = 0;
	if (w.partial.buf)
		w.partial.buf[0] = '\0';
	if (!w.matched && p->running) {
		p->watch = &w;
		pump(c, until(c, step_timeout(c, p)), cond_watch_or_exited, p, 0);
		p->watch = NULL;
	}
	regfree(&w.rx);
	sb_release(&w.partial);
	return w.matched;
}

void
check_window(struct check_run *r, int ms)
{
	pump(r->c, now_ms() + ms, NULL, NULL, 0);
}

int
check_wait_exit(struct check_run *r, struct proc *p, int ms)
{
	pump(r->c, until(r->c, ms), cond_exited, p, 0);
	return !p->running;
}

void
check_retry(struct check_run *r)
{
	r->c->v.retry = 1;
}

int
check_step_ms(struct check_run *r)
{
	return r->c->t->limits.step_ms;
}

const char *
check_workdir(struct check_run *r)
{
	return r->c->workdir;
}

long
check_seed(struct check_run *r)
{
	return r->c->env->seed;
}

const struct link *
check_link(struct check_run *r)
{
	return r->c->link;
}

int
check_host(const struct proc *p)
{
	return p->step->host;
}

void
check_observe(struct check_run *r, const char *id, int err, check_stream_fn fn, void *state)
{
	struct ctx *c = r->c;
	c->pending = xrealloc(c->pending, (c->npending + 1) * sizeof *c->pending);
	c->pending[c->npending++] = (struct pending_observer){ xstrdup(id), { err, fn, state } };
}

void
check_add(struct check_run *r, enum status st, const char *message, const char *details)
{
	const struct check_use *u = r->c->current;
	if (!u || !u->hint) {
		verdict_add(&r->c->v, st, message, details);
		return;
	}
	/* The lab's own hint replaces the unit's. */
	struct strbuf d = STRBUF_INIT;
	for (const char *line = details ? details : ""; *line;) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line + 1) : strlen(line);
		if (strncmp(line, "  hint: ", 8))
			sb_add(&d, line, len);
		line += len;
	}
	sb_addf(&d, "  hint: %s\n", u->hint);
	verdict_add(&r->c->v, st, message, d.buf);
	sb_release(&d);
}

/* A check that fails at its step ends the test, as a failed step does. */
static void
run_check(struct ctx *c, const struct check_use *u)
{
	enum status before = c->v.status;
	c->current = u;
	u->unit->run(u, &c->run);
	c->current = NULL;
	if (u->where == CHECK_AT_STEP && c->v.status != before && c->v.status != ST_PASS)
		c->aborted = 1;
}

void **
check_state(struct check_run *r, const struct check_use *use)
{
	struct ctx *c = r->c;
	for (size_t i = 0; i < c->nstates; i++)
		if (c->states[i].use == use)
			return &c->states[i].state;
	c->states = xrealloc(c->states, (c->nstates + 1) * sizeof *c->states);
	c->states[c->nstates] = (struct use_state){ use, NULL };
	return &c->states[c->nstates++].state;
}

static void
begin_checks(struct ctx *c)
{
	for (size_t i = 0; i < c->t->nsteps; i++) {
		const struct check_use *u = &c->t->steps[i].check;
		if (c->t->steps[i].kind == STEP_CHECK && u->unit->begin)
			u->unit->begin(u, &c->run);
	}
	for (size_t i = 0; i < c->t->nchecks; i++) {
		const struct check_use *u = &c->t->checks[i];
		if (u->unit->begin)
			u->unit->begin(u, &c->run);
	}
}

/* ---- steps ------------------------------------------------------------ */

static void
step_start(struct ctx *c, const struct step *s)
{
	struct proc *p = spawn(c, s, s->id);
	if (!p || s->ready.kind == READY_NONE)
		return;
	int ms = step_timeout(c, p);
	timing_mark("    %s started; waiting until ready", p->id);
	wait_ready(c, p, until(c, ms));
	timing_mark("    %s ready (or gone)", p->id);
	/* The limit is the program's, not the machine's: a program still
	 * runnable that has had less than half its time in CPU was starved
	 * (a loaded machine, Valgrind starting), so it waits longer, up to the
	 * test's own deadline.  One asleep in a system call, or that had its
	 * CPU, is judged at the limit. */
	int64_t asked = now_ms();
	long cpu = 0;
	int starved = 0;
	while (p->running && !cond_ready_or_exited(c, p) && now_ms() < c->deadline &&
	       proc_runnable(p->child.pid) && (cpu = probe_cpu_ms(p->child.pid)) >= 0 && cpu < ms / 2) {
		starved = 1;
		wait_ready(c, p, until(c, ms / 4 > 50 ? ms / 4 : 50));
	}
	struct strbuf cond = STRBUF_INIT;
	ready_describe(&s->ready, &cond);
	if (p->running && starved && !cond_ready_or_exited(c, p) && (cpu = probe_cpu_ms(p->child.pid)) < ms / 2) {
		char *msg = xstrfmt("internal error: the machine is too busy: %s got %ld ms of CPU in %ld ms, "
				    "not enough to tell whether it gets ready (%s); this is not the program's fault",
				    who(p), cpu, (long)(now_ms() - asked + ms), cond.buf);
		verdict_add(&c->v, ST_ERROR, msg, NULL);
		free(msg);
		c->v.retry = 1;
		c->aborted = 1;
	} else if (!p->running && ready_met(c, p) != 1) {
		/* Ended, and its condition is not met: it never got ready.  (One
		 * that ended as its condition came true, a peer's port say, got
		 * ready: the next step says it ended.) */
		char *expected = xstrfmt("before it was ready (expected %s)", cond.buf);
		report_gone(c, p, expected, 1);
		free(expected);
		c->aborted = 1;
	} else if (!cond_ready_or_exited(c, p)) {
		struct strbuf why = STRBUF_INIT;
		explain_on_host(c, p, &why);
		char *msg = xstrfmt("%s never became ready: expected %s within %d ms%s", who(p), cond.buf, ms, why.buf ? why.buf : "");
		note_hang(c, p, hang_how(p), ST_FAIL);
		report_hang(c, p, ST_FAIL, msg);
		sb_release(&why);
		free(msg);
		c->aborted = 1;
	}
	sb_release(&cond);
}

/* CPU time the test's processes have had, and time they waited for one. */
struct sched_mark {
	long run, wait;
	int ok;
};

static struct sched_mark
sched_mark(void)
{
	struct sched_mark m;
	m.ok = pinfo_sched(0, &m.run, &m.wait) == 0;
	return m;
}

/* Was the machine too busy to tell what p would have done in its ms?
 * Its test's processes waited for a CPU a quarter of that or more, and
 * had less than a third of it on one.  A program blocked for
 * good waits for no CPU, and one that spins had its share: their timeouts
 * stand however busy the machine is.  Otherwise the test is an error and
 * runs once more; `would` says what cannot be told. */
static int
too_busy(struct ctx *c, struct sched_mark before, int ms, const struct proc *p, const char *would)
{
	struct sched_mark now = sched_mark();
	if (!before.ok || !now.ok || (now.wait - before.wait) * 4 < ms || (now.run - before.run) * 3 >= ms)
		return 0;
	char *msg = xstrfmt("internal error: the machine is too busy: in the %d ms %s had, the test's processes waited "
			    "%ld ms for a CPU and ran %ld ms; whether it would have %s cannot be told, and this is "
			    "not the program's fault",
			    ms, who(p), now.wait - before.wait, now.run - before.run, would);
	verdict_add(&c->v, ST_ERROR, msg, NULL);
	free(msg);
	c->v.retry = 1;
	return 1;
}

static int
starved(struct ctx *c, struct sched_mark before, int ms, const struct proc *p)
{
	return too_busy(c, before, ms, p, "finished");
}

static void
step_run(struct ctx *c, const struct step *s)
{
	for (int r = 1; r <= s->repeat && !c->aborted; r++) {
		char *id = s->repeat > 1 ? xstrfmt("%s#%d", s->id, r) : xstrdup(s->id);
		struct proc *p = spawn(c, s, id);
		free(id);
		if (!p)
			return;
		int ms = step_timeout(c, p);
		struct sched_mark mark = sched_mark();
		if (!pump(c, until(c, ms), cond_exited, p, 0)) {
			char *msg = xstrfmt("%s did not finish within %d ms", who(p), ms);
			if (!starved(c, mark, ms, p)) {
				note_hang(c, p, hang_how(p), ST_TIMEOUT);
				report_hang(c, p, ST_TIMEOUT, msg);
			}
			free(msg);
			stop_procs(c, p);
			c->aborted = 1;
			return;
		}
		check_proc(c, p);
	}
}

/* What is in flight on the link arrives before a process is judged
 * settled or stopped (a receiver sees every datagram that was sent). */
static void
drain_link(struct ctx *c)
{
	if (c->link && link_drain(c->link, LINK_DRAIN_MS) < 0)
		sb_addf(&c->v.details, "(note) the link still carried packets %d ms after it was asked to empty\n",
			LINK_DRAIN_MS);
}

/* "Alive" means still serving: a process started with a socket readiness
 * condition (listening on a port, bound to a path) must still meet it.  A
 * server that closed its listening socket and loops on accept()'s errors
 * is running, but serves no one. */
static int
still_ready(struct ctx *c, struct proc *p)
{
	const struct ready *r = &p->step->ready;
	if (r->kind != READY_TCP && r->kind != READY_UDP && r->kind != READY_UNIX)
		return 1;
	if (ready_on_host(c, p) != 0) /* unknown is no evidence against it */
		return 1;
	/* A process being killed (its CPU limit, say) closes its sockets
	 * before it ends: that is its death, reported as such once it is
	 * reaped, not a server that stopped serving. */
	struct pinfo pi;
	return pinfo_get(p->child.pid, &pi) < 0 || pi.exiting || pi.state == 'Z' || pi.state == 'X';
}

/* Settled (asleep, waiting for the next client), gone, or no longer
 * serving: no need to wait for a spinning server to settle. */
static int
cond_alive(struct ctx *c, void *arg)
{
	struct proc *p = arg;
	return cond_settled(c, p) || (p->running && !still_ready(c, p));
}

/* At the end of the test: settled, or no longer serving, unless the test
 * waits for its own exit status (it may be on its way out). */
static int
cond_finished(struct ctx *c, void *arg)
{
	struct proc *p = arg;
	const struct expect *e = &p->step->expect;
	if (e->has_exit || e->has_signal)
		return cond_settled(c, p);
	return cond_alive(c, p);
}

static void
report_not_serving(struct ctx *c, struct proc *p)
{
	struct strbuf cond = STRBUF_INIT;
	ready_describe(&p->step->ready, &cond);
	char *msg = xstrfmt("%s is still running but no longer serves: there is no longer %s, as when it started, so no "
			    "client can reach it",
			    who(p), cond.buf);
	struct strbuf d = STRBUF_INIT;
	probe_hang(p->child.pid, &d, name_outer_pid, c);
	sb_adds(&d, "  hint: a server keeps its listening socket open for as long as it runs; close only the connected socket accept() returned, and when accept() fails, report it and go on\n");
	show_outputs(&d, p);
	finding(c, ST_FAIL, msg, d.buf);
	p->shown = 1;
	free(msg);
	sb_release(&d);
	sb_release(&cond);
}

static void
step_target(struct ctx *c, const struct step *s)
{
	struct proc *p = find_proc(c, s->id);
	if (!p)
		return; /* the spec validator rules this out; the start failed */
	int ms = step_timeout(c, p);
	if (s->kind == STEP_ALIVE || s->kind == STEP_STOP)
		drain_link(c);
	struct sched_mark mark = sched_mark();
	switch (s->kind) {
	case STEP_ALIVE: {
		int settled = pump(c, until(c, ms), cond_alive, p, READY_TICK_MS);
		if (!p->running) {
			report_gone(c, p, "but it should still be running", 0);
			c->aborted = 1;
		} else if (!still_ready(c, p)) {
			report_not_serving(c, p);
			c->aborted = 1;
		} else if (!settled && too_busy(c, mark, ms, p, "stayed within its CPU time")) {
			/* It kept running all along (a busy loop, say) while the
			 * machine starved it: on a machine that gave it a CPU, its
			 * CPU limit may have ended it.  Not a pass.  (One that had
			 * its share keeps its verdict.) */
			c->aborted = 1;
		}
		break;
	}
	case STEP_WAIT:
		if (!pump(c, until(c, ms), cond_exited, p, 0)) {
			char *msg = xstrfmt("%s did not exit within %d ms", who(p), ms);
			if (!starved(c, mark, ms, p)) {
				note_hang(c, p, hang_how(p), ST_TIMEOUT);
				report_hang(c, p, ST_TIMEOUT, msg);
			}
			free(msg);
			c->aborted = 1;
		}
		break;
	case STEP_STOP:
		/* Across a link, a receiver first takes in what arrived. */
		if (c->link)
			pump(c, until(c, ms), cond_settled, p, READY_TICK_MS);
		stop_procs(c, p);
		break;
	case STEP_SIGNAL:
		if (!p->running || kill(p->child.pid, s->signo) < 0) {
			const char *name = sigabbrev_np(s->signo);
			char *what = name ? xstrfmt("before it could be sent SIG%s", name) : xstrdup("before it could be sent a signal");
			report_gone(c, p, what, 1);
			free(what);
			c->aborted = 1;
		}
		break;
	default:
		break;
	}
}

static const char *
name_pid(pid_t pid, void *arg)
{
	struct ctx *c = arg;
	for (size_t i = 0; i < c->nprocs; i++)
		if (c->procs[i].inner_pid == pid)
			return who(&c->procs[i]);
	return NULL;
}

static void
finish(struct ctx *c)
{
	/* A server finishes what it was doing (printing the client's address
	 * after its reply, say) before it is stopped: the checks see all it
	 * had to say.  Asleep in the kernel means done, and so does a server
	 * that no longer serves (cond_finished); a spinning one gets its step's
	 * time, no more. */
	if (!c->aborted)
		drain_link(c);
	for (size_t i = 0; i < c->nprocs && !c->aborted; i++)
		if (c->procs[i].running && c->procs[i].step->kind == STEP_START)
			pump(c, until(c, step_timeout(c, &c->procs[i])), cond_finished, &c->procs[i], READY_TICK_MS);
	stop_procs(c, NULL);
	link_stop(c->link); /* its log stays for the checks */
	for (size_t i = 0; i < c->nprocs; i++) {
		struct proc *p = &c->procs[i];
		if (p->step->kind == STEP_START)
			check_proc(c, p);
	}
	struct strbuf killed = STRBUF_INIT;
	int memcheck = 0;
	for (size_t i = 0; i < c->nprocs; i++)
		memcheck |= c->procs[i].memcheck != MEMCHECK_NONE;
	/* A child exiting under Valgrind runs its shutdown for a while yet. */
	int n = sandbox_kill_others(&killed, memcheck ? STOP_GRACE_MEMCHECK_MS : 0);
	if (n > 0) {
		char *msg = xstrfmt("%d process%s still running after the test and had to be killed: %s", n,
				    n == 1 ? " was" : "es were", killed.buf);
		const char *hint = "  a forked child that never exits, or a daemon: every process a program starts must end before the program does (and be waited for)\n";
		/* After a failed step the grader stopped the test's processes
		 * itself: what their children did next is not a finding. */
		if (c->t->leftovers_fail && !c->aborted)
			finding(c, ST_FAIL, msg, hint);
		else
			sb_addf(&c->v.details, "(note) %s%s\n", msg, c->aborted ? " (the test had stopped early)" : "");
		free(msg);
	}
	sb_release(&killed);
	const struct lab_spec *spec = c->env->spec;
	for (size_t i = 0; i < c->nprocs; i++) {
		struct proc *p = &c->procs[i];
		if (p->log_fd >= 0) /* its children may have held it open: all are dead now */
			drain_fd(&p->log_fd, p, 2, 64);
		if (p->memcheck == MEMCHECK_NONE)
			continue;
		size_t len;
		char *log = capture_bytes(p->memcheck == MEMCHECK_VALGRIND ? &p->log : &p->err, 0, &len);
		memcheck_collect(p->memcheck, log, len, p->inner_pid, spec->files, spec->nfiles, name_pid, c, &c->v);
		free(log);
	}
	/* The test's own checks, now that every process has ended. */
	for (size_t i = 0; i < c->t->nchecks && !c->aborted; i++)
		run_check(c, &c->t->checks[i]);
	if (c->link && c->v.status != ST_PASS) {
		struct strbuf d = STRBUF_INIT;
		link_describe(c->link, &d, LINK_SHOWN);
		sb_addf(&c->v.details, "%s", d.buf);
		sb_release(&d);
		c->uses_seed = 1;
	}
	if (c->uses_seed && c->v.status != ST_PASS)
		sb_addf(&c->v.details, "(note) this run used seed %ld: the same seed (--seed %ld) replays it\n", c->env->seed,
			c->env->seed);
	/* A failure is often explained by the peer: what did the others print? */
	if (c->v.status != ST_PASS) {
		struct strbuf d = STRBUF_INIT;
		for (size_t i = 0; i < c->nprocs; i++)
			if (!c->procs[i].shown && (c->procs[i].out.total || c->procs[i].err.total))
				show_outputs(&d, &c->procs[i]);
		if (d.len)
			sb_addf(&c->v.details, "\nwhat the other processes printed:\n%s", d.buf);
		sb_release(&d);
	}
}

/* Without namespaces a test's ports are the machine's: one still in use
 * (an earlier test's connection in TIME_WAIT, 60 s on Linux, or another
 * program) would make a correct server fail to bind.  That is no verdict
 * on the student: the test is an error that says why. */
static void
check_ports_free(struct ctx *c)
{
	for (size_t i = 0; i < c->t->nsteps && !c->aborted; i++) {
		const struct ready *r = &c->t->steps[i].ready;
		if ((r->kind != READY_TCP && r->kind != READY_UDP) || !probe_port_busy(r->port))
			continue;
		char *msg = xstrfmt("internal error: port %d of this machine is still in use (a connection of an earlier test in TIME_WAIT, or another program), and without namespaces this test cannot have a port of its own; `grader doctor` says how to get them",
				    r->port);
		verdict_add(&c->v, ST_ERROR, msg, NULL);
		free(msg);
		c->aborted = 1;
	}
}

/* The test's hosts and the link between them. */
static void
start_link(struct ctx *c)
{
	char err[512];
	if (c->env->mode != ISOLATION_NAMESPACES) {
		verdict_add(&c->v, ST_ERROR, "internal error: this test runs programs on two hosts joined by a link, which needs the sandbox's namespaces; this machine gives none now (see `grader doctor`), and this is not the program's fault", NULL);
		c->aborted = 1;
		return;
	}
	if (link_start(&c->link, c->t->hosts, c->t->nhosts, &c->t->link, c->env->seed, err, sizeof err) < 0) {
		char *msg = xstrfmt("internal error: this test runs programs on two hosts joined by a link, which cannot be made here: %s; this is not the program's fault (see `grader doctor`)", err);
		verdict_add(&c->v, ST_ERROR, msg, NULL);
		free(msg);
		c->aborted = 1;
	}
}

struct body_arg {
	const struct grade_env *env;
	const struct test_spec *t;
};

static void
write_report(int fd, const struct verdict *v, const struct test_hang *h)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:b}", "status", status_name(v->status), "message",
			      v->message ? v->message : "", "details", v->details.buf ? v->details.buf : "", "retry",
			      v->retry);
	if (o && h->found)
		json_object_set_new(o, "hang", json_pack("{s:I, s:s, s:s, s:s}", "step", (json_int_t)h->step, "id", h->id,
							  "how", h->how, "status", status_name(h->status)));
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (text)
		write_all(fd, text, strlen(text));
	free(text);
	json_decref(o);
}

static void
test_body(void *arg, int report_fd)
{
	struct body_arg *a = arg;
	struct ctx c = { .env = a->env, .t = a->t, .sigfd = -1 };
	timing_mark("  init runs the test");
	verdict_init(&c.v);
	char workdir[] = "/tmp/grader-XXXXXX";
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &chld, NULL) < 0 ||
	    (c.sigfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		verdict_add(&c.v, ST_ERROR, "internal error: cannot watch child processes", strerror(errno));
		goto report;
	}
	/* In a sandbox /tmp is private and the folder's name can be the same
	 * every time (determinism); without one a unique name keeps tests apart. */
	int made = a->env->mode == ISOLATION_NAMESPACES ? mkdir(strcpy(workdir, "/tmp/grader-work"), 0777) == 0
							: mkdtemp(workdir) != NULL;
	if (!made || chmod(workdir, 0777) < 0) {
		verdict_add(&c.v, ST_ERROR, "internal error: cannot create the test's folder", strerror(errno));
		goto report;
	}
	c.workdir = workdir;
	c.run.c = &c;
	begin_checks(&c);
	c.deadline = now_ms() + a->t->limits.wall_ms;
	if (a->env->mode == ISOLATION_NONE)
		check_ports_free(&c);
	if (a->t->nhosts)
		start_link(&c);
	for (size_t i = 0; i < a->t->nsteps && !c.aborted; i++) {
		const struct step *s = &a->t->steps[i];
		if (now_ms() >= c.deadline) {
			char *msg = xstrfmt("the test ran out of its %d ms before the step at line %d", a->t->limits.wall_ms,
					    s->line);
			verdict_add(&c.v, ST_TIMEOUT, msg, NULL);
			free(msg);
			break;
		}
		timing_mark("  step %zu (line %d) begins", i + 1, s->line);
		c.step_no = i;
		if (s->kind == STEP_START)
			step_start(&c, s);
		else if (s->kind == STEP_RUN)
			step_run(&c, s);
		else if (s->kind == STEP_CHECK)
			run_check(&c, &s->check);
		else
			step_target(&c, s);
	}
	timing_mark("  steps done; teardown begins");
	c.step_no = a->t->nsteps;
	finish(&c);
	timing_mark("  teardown done");
	if (c.env->mode == ISOLATION_NONE)
		rm_rf(workdir);
report:
	write_report(report_fd, &c.v, &c.hang);
	for (size_t i = 0; i < c.nprocs; i++) {
		struct proc *p = &c.procs[i];
		free(p->id);
		capture_release(&p->out);
		capture_release(&p->err);
		capture_release(&p->log);
		if (p->log_fd >= 0)
			close(p->log_fd);
		if (p->child.out_fd >= 0)
			close(p->child.out_fd);
		if (p->child.err_fd >= 0)
			close(p->child.err_fd);
	}
	free(c.procs);
	for (size_t i = 0; i < c.npending; i++)
		free(c.pending[i].id);
	free(c.pending);
	for (size_t i = 0; i < c.nstates; i++)
		if (c.states[i].state)
			(c.states[i].use->unit->drop ? c.states[i].use->unit->drop : free)(c.states[i].state);
	free(c.states);
	link_free(c.link);
	verdict_release(&c.v);
	if (c.sigfd >= 0)
		close(c.sigfd);
}

/* The hang a test's init reported (see note_hang), into h. */
static void
read_hang(json_t *o, const struct test_spec *t, struct test_hang *h)
{
	memset(h, 0, sizeof *h);
	json_int_t step;
	const char *id, *how, *st;
	if (!o || json_unpack(json_object_get(o, "hang"), "{s:I, s:s, s:s, s:s}", "step", &step, "id", &id, "how", &how,
			      "status", &st) != 0 ||
	    step < 0 || (size_t)step > t->nsteps || status_from_name(st) < 0)
		return;
	h->found = 1;
	h->step = (size_t)step;
	h->status = (enum status)status_from_name(st);
	snprintf(h->id, sizeof h->id, "%s", id);
	snprintf(h->how, sizeof h->how, "%s", how);
}

/* One run of t in a fresh sandbox; *retry says the machine got in the way. */
static void
run_once(const struct grade_env *env, const struct test_spec *t, struct graded_test *r, int *retry,
	 struct test_hang *hang)
{
	struct body_arg a = { env, t };
	struct sandbox_config cfg = { .mode = env->mode,
				      .binds = env->binds,
				      .hide = env->hide,
				      .deadline_ms = t->limits.wall_ms + 10000,
				      .memory_mb = t->limits.test_memory_mb,
				      .pids = t->limits.processes + GRADER_PIDS,
				      .tun = t->nhosts > 0 };
	struct strbuf rep = STRBUF_INIT;
	struct sandbox_usage use;
	char err[512];
	int64_t t0 = now_ms();
	timing_mark("test %s: sandbox begins", t->name);
	int rc = sandbox_run(&cfg, test_body, &a, &rep, &use, err, sizeof err);
	timing_mark("test %s: sandbox gone", t->name);
	r->duration_ms = (long)(now_ms() - t0);
	json_t *o = rc == 0 ? json_loadb(rep.buf ? rep.buf : "", rep.len, 0, NULL) : NULL;
	const char *st = NULL, *msg = NULL, *details = NULL;
	int again = 0;
	*retry = 0;
	read_hang(o, t, hang);
	if (o && json_unpack(o, "{s:s, s:s, s:s, s:b}", "status", &st, "message", &msg, "details", &details, "retry",
			     &again) == 0 &&
	    status_from_name(st) >= 0) {
		r->status = (enum status)status_from_name(st);
		r->message = xstrdup(msg);
		*retry = again;
		struct strbuf d = STRBUF_INIT;
		sb_adds(&d, details);
		if (use.oom_kills > 0)
			sb_addf(&d, "(note) the test's processes reached their memory limit of %d MB together: the kernel killed %ld of them\n",
				t->limits.test_memory_mb, use.oom_kills);
		if (use.pids_max_hits > 0)
			sb_addf(&d, "(note) the test's processes reached their limit of %d processes: fork() failed %ld time%s\n",
				t->limits.processes + GRADER_PIDS, use.pids_max_hits, use.pids_max_hits == 1 ? "" : "s");
		r->details = sb_detach(&d);
	} else {
		r->status = ST_ERROR;
		r->message = xstrfmt("internal error: %s",
				     rc < 0 ? err : rc == 1 ? "the sandbox did not finish in time"
							    : "the sandbox's report is unreadable");
		r->details = xstrdup("");
	}
	json_decref(o);
	sb_release(&rep);
}

void
runtest_run(const struct grade_env *env, const struct test_spec *t, struct graded_test *r)
{
	runtest_run_hang(env, t, r, NULL);
}

void
runtest_run_hang(const struct grade_env *env, const struct test_spec *t, struct graded_test *r,
		 struct test_hang *hang)
{
	struct test_hang ignored;
	if (!hang)
		hang = &ignored;
	int retry;
	run_once(env, t, r, &retry, hang);
	if (!retry || sandbox_interrupted())
		return;
	/* The machine could not tell: once more, and the report says so. */
	char *first = r->message;
	long first_ms = r->duration_ms;
	free(r->details);
	r->message = r->details = NULL;
	run_once(env, t, r, &retry, hang);
	char *details = xstrfmt("%s(note) run twice: the first run could not tell (%s)\n", r->details, first);
	free(r->details);
	r->details = details;
	r->duration_ms += first_ms;
	free(first);
}
