/* check: processes -- the process tree of a server that forks a child per
 * client, looked at while clients are connected (or after they left):
 * how many children it has, whether a child has fallen back into the
 * accept loop (the lecture slide's bug: it becomes a second server),
 * whether the parent still holds the connected socket of a client (it
 * must close its copy after fork()), and whether the parent's descriptors
 * grew since a baseline taken earlier in the test (one left open per
 * client).  Zombies are the reaping unit's business.
 *
 * "Its children" are its descendants, the processes of its session (a
 * server that double-forks hands each client to a grandchild that init
 * adopts, and that grandchild still serves for it) and any process that
 * holds its listening socket (a child that left the session).  What a process is
 * blocked in comes from /proc/PID/syscall (accept or accept4 on a
 * listening socket), or its wait channel where that cannot be read; which
 * socket is which comes from the kernel's socket list (sockdiag.c). */
#define _GNU_SOURCE
#include "checkunit.h"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "procinfo.h"
#include "sandbox.h"
#include "sockdiag.h"

#define SETTLE_MS 300 /* a state that is not the expected one is looked at again for this long */
#define SETTLE_TICK_MS 5
#define MAX_SHOWN 6

enum fds_mode { FDS_NONE, FDS_BASELINE, FDS_NOT_GROWN };

struct processes_args {
	const char *of;
	int children; /* -1: not checked */
	int accepting_parent;
	int connections_children;
	enum fds_mode fds;
};

static void *
processes_parse(struct parser *p, const struct ynode *map, struct check_use *use)
{
	static const char *const keys[] = { "of", "children", "accepting", "connections", "fds", NULL };
	struct processes_args *a = xcalloc(1, sizeof *a);
	a->children = -1;
	int any = 0;
	for (size_t i = 0; i < map->n; i += 2) {
		const struct ynode *v = map->kids[i + 1];
		switch (check_key_index(p, map, i, keys, "processes")) {
		case 0:
			a->of = check_parse_id(p, v, use);
			break;
		case 1:
			get_int(p, v, "children", 0, 1000, &a->children);
			any = 1;
			break;
		case 2:
			if (want(p, v, Y_SCALAR, "accepting") == 0 && strcmp(v->text, "parent"))
				perr(p, v->line, v->col, "accepting must be parent (only the parent waits in accept()), not \"%s\"",
				     v->text);
			a->accepting_parent = any = 1;
			break;
		case 3:
			if (want(p, v, Y_SCALAR, "connections") == 0 && strcmp(v->text, "children"))
				perr(p, v->line, v->col,
				     "connections must be children (the parent closes each connected socket after fork()), not \"%s\"",
				     v->text);
			a->connections_children = any = 1;
			break;
		case 4:
			if (want(p, v, Y_SCALAR, "fds") < 0)
				break;
			if (!strcmp(v->text, "baseline"))
				a->fds = FDS_BASELINE;
			else if (!strcmp(v->text, "not_grown"))
				a->fds = FDS_NOT_GROWN;
			else
				perr(p, v->line, v->col,
				     "fds must be baseline (note the parent's descriptors now) or not_grown (no more than at the baseline), not \"%s\"",
				     v->text);
			any = 1;
			break;
		}
	}
	if (!a->of)
		perr(p, map->line, map->col, "check \"processes\" needs of: the server whose process tree is looked at");
	if (!any)
		perr(p, map->line, map->col, "check \"processes\" needs something to check: children, accepting, connections or fds");
	return a;
}

/* ---- TCP sockets, as the kernel lists them (sockdiag.c) ------------------ */

struct tcp_sock {
	unsigned long ino; /* 0: a socket no process holds (a connection in the accept queue) */
	unsigned state, lport, queued; /* queued: a listening socket's accept queue */
	char local[64], remote[64];    /* "127.0.0.1:2021", "[::1]:2021" */
};

struct tcp_table {
	struct tcp_sock *v;
	size_t n;
};

static void
endpoint_text(int family, const char *addr, int port, char *buf, size_t len)
{
	snprintf(buf, len, family == AF_INET6 ? "[%s]:%d" : "%s:%d", addr, port);
}

/* Every TCP socket of the test's namespace (none when the kernel cannot
 * be asked: then no socket is anyone's, as with an empty namespace). */
static void
tcp_load(struct tcp_table *t)
{
	struct sockdiag_query q = { .kinds = SOCKDIAG_TCP };
	struct sockdiag_sock *v;
	long n = sockdiag_list(-1, &q, &v);
	if (n <= 0)
		return;
	t->v = xcalloc((size_t)n, sizeof *t->v);
	for (long i = 0; i < n; i++) {
		struct tcp_sock *s = &t->v[t->n++];
		s->ino = v[i].ino;
		s->state = (unsigned)v[i].state;
		s->lport = (unsigned)v[i].lport;
		s->queued = v[i].state == TCP_LISTEN ? v[i].rqueue : 0;
		endpoint_text(v[i].family, v[i].local, v[i].lport, s->local, sizeof s->local);
		endpoint_text(v[i].family, v[i].remote, v[i].rport, s->remote, sizeof s->remote);
	}
	free(v);
}

static const struct tcp_sock *
tcp_find(const struct tcp_table *t, unsigned long ino)
{
	for (size_t i = 0; ino && i < t->n; i++)
		if (t->v[i].ino == ino)
			return &t->v[i];
	return NULL;
}

/* ---- the server's processes, as they are now ---------------------------- */

struct member {
	struct pinfo pi;
	struct fdinfo *f;
	size_t nf;
	int accept_fd; /* blocked in accept() on this listening socket; -1: not */
};

struct snapshot {
	struct member *m; /* m[0]: the server itself */
	size_t n;
	struct tcp_table tcp;
	unsigned long *listening; /* inodes of the tree's listening sockets */
	size_t nlistening;
	int queued;      /* connections waiting in their accept queues */
	int established; /* connections to their ports, accepted or queued */
};

static int
is_listening(const struct snapshot *s, unsigned long ino)
{
	for (size_t i = 0; i < s->nlistening; i++)
		if (s->listening[i] == ino)
			return 1;
	return 0;
}

/* The server's end of a client's connection: a TCP socket, not listening,
 * on the port of one of the tree's listening sockets. */
static const struct tcp_sock *
client_connection(const struct snapshot *s, const struct fdinfo *f)
{
	if (f->kind != FD_SOCKET)
		return NULL;
	const struct tcp_sock *t = tcp_find(&s->tcp, f->ino);
	if (!t || t->state == TCP_LISTEN)
		return NULL;
	for (size_t i = 0; i < s->nlistening; i++) {
		const struct tcp_sock *l = tcp_find(&s->tcp, s->listening[i]);
		if (l && l->lport == t->lport)
			return t;
	}
	return NULL;
}

/* The descriptor pid is blocked on in accept() or accept4(), or -1; a
 * wait channel in accept counts for the first listening socket it holds. */
static int
blocked_in_accept(const struct member *m, const struct snapshot *s)
{
	if (m->pi.state != 'S')
		return -1;
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/syscall", (int)m->pi.pid);
	char *sc = read_file(path, 512, NULL);
	long nr = -1, fd = -1;
	if (sc && sc[0] >= '0' && sc[0] <= '9') {
		char *end;
		nr = strtol(sc, &end, 10);
		fd = strtol(end, NULL, 16);
	}
	free(sc);
	if (nr >= 0) {
		if (nr != SYS_accept && nr != SYS_accept4)
			return -1;
		for (size_t i = 0; i < m->nf; i++)
			if (m->f[i].fd == fd && m->f[i].kind == FD_SOCKET && is_listening(s, m->f[i].ino))
				return (int)fd;
		return -1;
	}
	snprintf(path, sizeof path, "/proc/%d/wchan", (int)m->pi.pid);
	char *wchan = read_file(path, 128, NULL);
	int in = wchan && !strcmp(wchan, "inet_csk_accept");
	free(wchan);
	for (size_t i = 0; in && i < m->nf; i++)
		if (m->f[i].kind == FD_SOCKET && is_listening(s, m->f[i].ino))
			return m->f[i].fd;
	return -1;
}

static void
snapshot_release(struct snapshot *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->m[i].f);
	free(s->m);
	free(s->tcp.v);
	free(s->listening);
	memset(s, 0, sizeof *s);
}

/* 0, or -1 when root is gone. */
static int
snapshot_take(pid_t root, struct snapshot *s)
{
	memset(s, 0, sizeof *s);
	struct pinfo *v;
	size_t n = pinfo_list(&v);
	s->m = xcalloc(n + 1, sizeof *s->m);
	for (size_t pass = 0; pass < 2; pass++) /* the server first */
		for (size_t i = 0; i < n; i++) {
			int mine = pass == 0 ? v[i].pid == root
					     : v[i].pid != root && v[i].state != 'Z' &&
						       (pinfo_in_tree(v, n, root, v[i].pid) || v[i].sid == root);
			if (!mine)
				continue;
			s->m[s->n].pi = v[i];
			s->m[s->n].nf = fds_list(v[i].pid, &s->m[s->n].f);
			s->m[s->n].accept_fd = -1;
			s->n++;
		}
	if (!s->n || s->m[0].pi.state == 'Z') {
		free(v);
		snapshot_release(s);
		return -1;
	}
	tcp_load(&s->tcp);
	for (size_t i = 0; i < s->n; i++)
		for (size_t k = 0; k < s->m[i].nf; k++) {
			const struct fdinfo *f = &s->m[i].f[k];
			const struct tcp_sock *t = f->kind == FD_SOCKET ? tcp_find(&s->tcp, f->ino) : NULL;
			if (!t || t->state != TCP_LISTEN || is_listening(s, f->ino))
				continue;
			s->listening = xrealloc(s->listening, (s->nlistening + 1) * sizeof *s->listening);
			s->listening[s->nlistening++] = f->ino;
			s->queued += (int)t->queued;
		}
	/* A process that holds the server's listening socket is one of its
	 * own, wherever it went (a child that called setsid()). */
	size_t members = s->n;
	for (size_t i = 0; i < n && s->nlistening; i++) {
		int known = v[i].state == 'Z';
		for (size_t k = 0; k < members && !known; k++)
			known = s->m[k].pi.pid == v[i].pid;
		if (known)
			continue;
		struct fdinfo *f;
		size_t nf = fds_list(v[i].pid, &f);
		int holds = 0;
		for (size_t k = 0; k < nf && !holds; k++)
			holds = f[k].kind == FD_SOCKET && is_listening(s, f[k].ino);
		if (!holds) {
			free(f);
			continue;
		}
		s->m[s->n++] = (struct member){ .pi = v[i], .f = f, .nf = nf, .accept_fd = -1 };
	}
	free(v);
	/* Accepted connections (queued ones have no inode yet: counted above). */
	s->established = s->queued;
	for (size_t i = 0; i < s->tcp.n; i++) {
		const struct tcp_sock *t = &s->tcp.v[i];
		if (t->state == TCP_ESTABLISHED && t->ino && !is_listening(s, t->ino)) {
			for (size_t l = 0; l < s->nlistening; l++) {
				const struct tcp_sock *ls = tcp_find(&s->tcp, s->listening[l]);
				if (ls && ls->lport == t->lport) {
					s->established++;
					break;
				}
			}
		}
	}
	for (size_t i = 0; i < s->n; i++)
		s->m[i].accept_fd = blocked_in_accept(&s->m[i], s);
	return 0;
}

/* ---- what is judged ----------------------------------------------------- */

static void
name(struct check_run *r, const struct member *m, struct strbuf *sb)
{
	const char *who = check_name_pid(r, m->pi.pid);
	if (who)
		sb_addf(sb, "%s (pid %d)", who, (int)sandbox_inner_pid(m->pi.pid));
	else
		sb_addf(sb, "pid %d (%s)", (int)sandbox_inner_pid(m->pi.pid), m->pi.comm);
}

static void
describe_tcp(const struct tcp_sock *t, struct strbuf *sb)
{
	sb_addf(sb, "TCP %s - %s", t->local, t->remote);
	if (t->state == TCP_CLOSE_WAIT)
		sb_adds(sb, ", closed by the client");
}

static int
fd_counts(const struct fdinfo *f)
{
	return f->fd > 2;
}

static size_t
fd_count(const struct member *m)
{
	size_t n = 0;
	for (size_t i = 0; i < m->nf; i++)
		n += fd_counts(&m->f[i]);
	return n;
}

/* Live children (zombies are not in the snapshot) and those in accept(). */
static size_t
in_accept(const struct snapshot *s)
{
	size_t k = 0;
	for (size_t i = 1; i < s->n; i++)
		k += s->m[i].accept_fd >= 0;
	return k;
}

static size_t
parent_connections(const struct snapshot *s)
{
	size_t k = 0;
	for (size_t i = 0; i < s->m[0].nf; i++)
		k += client_connection(s, &s->m[0].f[i]) != NULL;
	return k;
}

/* The baselines of fds: baseline, per process of the test, kept for the
 * whole test (every use of this unit in it shares them). */
struct fd_base {
	char *id;
	int *fds;
	size_t n;
};

struct fd_bases {
	struct fd_base *v;
	size_t n;
};

static void
bases_drop(void *state)
{
	struct fd_bases *b = state;
	for (size_t i = 0; b && i < b->n; i++) {
		free(b->v[i].id);
		free(b->v[i].fds);
	}
	if (b)
		free(b->v);
	free(b);
}

extern const struct check_unit check_processes;
/* The key of the test's shared state: not a use of lab.yaml. */
static const struct check_use bases_key = { .unit = &check_processes };

static struct fd_base *
base_of(struct check_run *r, const char *id, int create)
{
	void **state = check_state(r, &bases_key);
	if (!*state)
		*state = xcalloc(1, sizeof(struct fd_bases));
	struct fd_bases *b = *state;
	for (size_t i = 0; i < b->n; i++)
		if (!strcmp(b->v[i].id, id))
			return &b->v[i];
	if (!create)
		return NULL;
	b->v = xrealloc(b->v, (b->n + 1) * sizeof *b->v);
	b->v[b->n] = (struct fd_base){ xstrdup(id), NULL, 0 };
	return &b->v[b->n++];
}

static int
in_base(const struct fd_base *b, int fd)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->fds[i] == fd)
			return 1;
	return 0;
}

static size_t
grown(const struct fd_base *b, const struct member *m)
{
	size_t now = fd_count(m);
	return b && now > b->n ? now - b->n : 0;
}


/* Is a child's client gone while the child has not seen it yet: the end
 * of the connection is there for it to read (CLOSE_WAIT), or on its way
 * (the client's end is closing)?  Then the child is about to wake: what it
 * is now is not judged yet. */
static int
about_to_change(const struct snapshot *s)
{
	for (size_t i = 1; i < s->n; i++)
		for (size_t k = 0; k < s->m[i].nf; k++) {
			const struct tcp_sock *t = client_connection(s, &s->m[i].f[k]);
			if (!t)
				continue;
			if (t->state == TCP_CLOSE_WAIT)
				return 1;
			for (size_t j = 0; j < s->tcp.n; j++)
				if (s->tcp.v[j].state == TCP_FIN_WAIT1 && !strcmp(s->tcp.v[j].local, t->remote) &&
				    !strcmp(s->tcp.v[j].remote, t->local))
					return 1;
		}
	return 0;
}

/* A process of the server's own that check_settle() does not wait for (one
 * outside its tree) is running still: the snapshot may be out of date. */
static int
running(const struct snapshot *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->m[i].pi.state == 'R' || s->m[i].pi.state == 'D')
			return 1;
	return 0;
}

/* Does the snapshot show what is expected?  (Then nothing is reported.) */
static int
as_expected(const struct processes_args *a, const struct snapshot *s, const struct fd_base *b)
{
	if (a->children >= 0 && s->n - 1 != (size_t)a->children)
		return 0;
	if (a->accepting_parent && in_accept(s))
		return 0;
	if (a->connections_children && parent_connections(s))
		return 0;
	if (a->fds == FDS_NOT_GROWN && grown(b, &s->m[0]))
		return 0;
	return 1;
}

/* What a child is doing, in words. */
static void
child_doing(struct check_run *r, const struct snapshot *s, const struct member *m, struct strbuf *d)
{
	sb_adds(d, "  ");
	name(r, m, d);
	sb_adds(d, m->pi.ppid == s->m[0].pi.pid ? ", a child of " : ", started by ");
	name(r, &s->m[0], d);
	if (m->accept_fd >= 0) {
		sb_addf(d, ": blocked in accept() on fd %d, the listening socket\n", m->accept_fd);
		return;
	}
	size_t conns = 0;
	for (size_t i = 0; i < m->nf; i++) {
		const struct tcp_sock *t = client_connection(s, &m->f[i]);
		if (!t)
			continue;
		sb_adds(d, conns++ ? ", " : ": holds ");
		describe_tcp(t, d);
	}
	sb_addf(d, "%s(state %c)\n", conns ? " " : ": no client connection ", m->pi.state);
}

/* skip_accepting: those in accept() were named already. */
static void
report_children(struct check_run *r, const struct processes_args *a, const struct proc *p, const struct snapshot *s,
		int skip_accepting)
{
	size_t live = s->n - 1, shown = 0;
	struct strbuf d = STRBUF_INIT;
	for (size_t i = 1; i < s->n && shown < MAX_SHOWN; i++)
		if (!skip_accepting || s->m[i].accept_fd < 0) {
			child_doing(r, s, &s->m[i], &d);
			shown++;
		}
	if (s->nlistening) {
		const struct tcp_sock *l = tcp_find(&s->tcp, s->listening[0]);
		sb_addf(&d, "  clients connected to port %u now: %d", l ? l->lport : 0, s->established);
		if (s->queued)
			sb_addf(&d, " (%d of them waiting in the accept queue: not accepted yet)", s->queued);
		sb_adds(&d, "\n");
	}
	if (live < (size_t)a->children)
		sb_adds(&d, "  hint: a server that forks per client calls fork() after each accept(): the child serves that client while the parent goes straight back to accept() for the next one\n");
	else
		sb_adds(&d, "  hint: a child serves its one client, closes the connection and exits (exit() or _exit()); it must not go on into the parent's loop\n");
	char *msg = xstrfmt("%s has %zu child process%s now, %d expected%s", check_who(p), live, live == 1 ? "" : "es",
			    a->children,
			    live < (size_t)a->children ? ": one child per connected client"
						       : ": a child exits once its client is served");
	check_add(r, ST_FAIL, msg, d.buf);
	free(msg);
	sb_release(&d);
}

static void
report_accepting(struct check_run *r, const struct proc *p, const struct snapshot *s)
{
	size_t k = in_accept(s), children = s->n - 1;
	struct strbuf d = STRBUF_INIT;
	size_t shown = 0;
	for (size_t i = 1; i < s->n && shown < MAX_SHOWN; i++)
		if (s->m[i].accept_fd >= 0) {
			child_doing(r, s, &s->m[i], &d);
			shown++;
		}
	sb_adds(&d, "  hint: after fork() the child runs the same code as the parent: when it is done with its client it must exit (exit(0) or _exit(0)), or it falls back into the accept() loop and takes the next client itself\n");
	char *msg = xstrfmt("%zu of %s's %zu child%s %s blocked in accept() on the listening socket: a child must exit after serving its client, or it becomes a second server",
			    k, check_who(p), children, children == 1 ? "" : "ren", k == 1 ? "is" : "are");
	check_add(r, ST_FAIL, msg, d.buf);
	free(msg);
	sb_release(&d);
}

static void
report_connections(struct check_run *r, const struct proc *p, const struct snapshot *s)
{
	size_t k = parent_connections(s), shown = 0;
	struct strbuf list = STRBUF_INIT, d = STRBUF_INIT;
	for (size_t i = 0; i < s->m[0].nf; i++) {
		const struct tcp_sock *t = client_connection(s, &s->m[0].f[i]);
		if (!t)
			continue;
		if (shown++ < 3) {
			sb_adds(&list, shown > 1 ? ", " : "");
			describe_tcp(t, &list);
		}
		sb_addf(&d, "  fd %d: ", s->m[0].f[i].fd);
		describe_tcp(t, &d);
		sb_adds(&d, "\n");
	}
	if (k > 3)
		sb_addf(&list, ", and %zu more", k - 3);
	sb_adds(&d, "  hint: after fork() parent and child both hold the connected socket; the child serves the client with it and the parent must close() its copy, or the client never sees the end of the connection while the server runs, and the parent runs out of descriptors\n");
	char *msg = xstrfmt("%s's parent (pid %d) still holds the connected socket%s of %s (%s): close %s after fork()",
			    check_who(p), (int)check_inner_pid(p), k == 1 ? "" : "s",
			    k == 1 ? "a client" : "several clients", list.buf, k == 1 ? "it" : "each");
	if (k > 1) {
		free(msg);
		msg = xstrfmt("%s's parent (pid %d) still holds the connected sockets of %zu clients (%s): close each after fork()",
			      check_who(p), (int)check_inner_pid(p), k, list.buf);
	}
	check_add(r, ST_FAIL, msg, d.buf);
	free(msg);
	sb_release(&list);
	sb_release(&d);
}

static void
report_grown(struct check_run *r, const struct proc *p, const struct snapshot *s, const struct fd_base *b)
{
	const struct member *m = &s->m[0];
	size_t now = fd_count(m), shown = 0;
	struct strbuf d = STRBUF_INIT;
	for (size_t i = 0; i < m->nf; i++) {
		if (!fd_counts(&m->f[i]) || in_base(b, m->f[i].fd) || shown++ >= MAX_SHOWN)
			continue;
		sb_addf(&d, "  new since the baseline: fd %d (", m->f[i].fd);
		if (m->f[i].kind == FD_SOCKET)
			socket_describe(m->f[i].ino, &d);
		else if (m->f[i].kind == FD_PIPE)
			sb_addf(&d, "the %s end of a pipe", m->f[i].writes ? "write" : "read");
		else
			sb_add_printable(&d, m->f[i].target, strlen(m->f[i].target));
		sb_adds(&d, ")\n");
	}
	sb_adds(&d, "  hint: what the parent opens for a client (the connected socket accept() returns, above all) it must close once the child has it; otherwise every client costs the server a descriptor until it can accept no more\n");
	char *msg = xstrfmt("%s's parent (pid %d) holds %zu descriptors besides stdin, stdout and stderr now, %zu more than before its clients came (%zu): it keeps one open for each client",
			    check_who(p), (int)check_inner_pid(p), now, now - b->n, b->n);
	check_add(r, ST_FAIL, msg, d.buf);
	free(msg);
	sb_release(&d);
}

/* CPU time the server's processes had, and waited for, in ms. */
static void
tree_sched(const struct snapshot *s, long *run, long *wait)
{
	*run = *wait = 0;
	for (size_t i = 0; i < s->n; i++) {
		long r, w;
		if (pinfo_sched(s->m[i].pi.pid, &r, &w) == 0) {
			*run += r;
			*wait += w;
		}
	}
}

/* Looks at p's processes, settled, until they are as expected or
 * SETTLE_MS has passed (a client that has just left, a child that has just
 * exited), or the step's time while a child is about to see its client's
 * end; the CPU they had and wanted meanwhile in *run, *wait.  0 with s
 * filled, -1 when p ended. */
static int
look(const struct processes_args *a, struct check_run *r, struct proc *p, const struct fd_base *b,
     struct snapshot *s, long *run, long *wait, long *elapsed)
{
	int64_t t0 = 0;
	long run0 = 0, wait0 = 0;
	for (;;) {
		if (!check_settle(r, p) || snapshot_take(check_pid(p), s) < 0)
			return -1;
		if (!t0) { /* from the first settled look on (settling may take long under Valgrind) */
			t0 = now_ms();
			tree_sched(s, &run0, &wait0);
		}
		int64_t now = now_ms();
		if ((as_expected(a, s, b) && !running(s)) ||
		    (now >= t0 + SETTLE_MS && (!about_to_change(s) || now >= t0 + check_step_ms(r))))
			break;
		snapshot_release(s);
		check_window(r, SETTLE_TICK_MS);
	}
	tree_sched(s, run, wait);
	*run -= run0;
	*wait -= wait0;
	*elapsed = (long)(now_ms() - t0);
	return 0;
}

static void
judge(const struct processes_args *a, struct check_run *r, const struct proc *p, const struct snapshot *s,
      const struct fd_base *b)
{
	/* The most telling first: it becomes the test's message. */
	int no_child = a->children > 0 && s->n == 1, accepting = a->accepting_parent && in_accept(s);
	if (accepting)
		report_accepting(r, p, s);
	if (a->children >= 0 && s->n - 1 != (size_t)a->children)
		report_children(r, a, p, s, accepting);
	/* A server with no child at all serves the client itself: that it
	 * holds the connection says nothing more. */
	if (a->connections_children && parent_connections(s) && !no_child)
		report_connections(r, p, s);
	if (a->fds == FDS_NOT_GROWN && grown(b, &s->m[0]))
		report_grown(r, p, s, b);
}

static void
note_baseline(struct check_run *r, const char *id, const struct member *parent)
{
	struct fd_base *nb = base_of(r, id, 1);
	free(nb->fds);
	nb->fds = xcalloc(parent->nf + 1, sizeof *nb->fds);
	nb->n = 0;
	for (size_t i = 0; i < parent->nf; i++)
		if (fd_counts(&parent->f[i]))
			nb->fds[nb->n++] = parent->f[i].fd;
}

static void
processes_run(const struct check_use *use, struct check_run *r)
{
	const struct processes_args *a = use->args;
	struct proc *p = check_find(r, a->of);
	if (!p || !check_settle(r, p)) {
		char *msg = xstrfmt("%s had ended before its processes could be looked at", p ? check_who(p) : a->of);
		check_add(r, ST_FAIL, msg, NULL);
		free(msg);
		return;
	}
	if (check_fds_visible(r, p) < 0)
		return;
	const struct fd_base *b = a->fds == FDS_NOT_GROWN ? base_of(r, a->of, 0) : NULL;
	if (a->fds == FDS_NOT_GROWN && !b) {
		char *msg = xstrfmt("internal error: the lab's check \"processes\" at line %d asks for fds: not_grown, but no earlier check of %s in this test took a baseline (fds: baseline)",
				    use->line, a->of);
		check_add(r, ST_ERROR, msg, NULL);
		free(msg);
		return;
	}
	struct snapshot s;
	long run, wait, elapsed;
	if (look(a, r, p, b, &s, &run, &wait, &elapsed) < 0) {
		char *msg = xstrfmt("%s ended while its processes were looked at", check_who(p));
		check_add(r, ST_FAIL, msg, NULL);
		free(msg);
		return;
	}
	if (!as_expected(a, &s, b)) {
		/* Judged only if the server's processes had the CPU they wanted
		 * meanwhile; otherwise the machine was too busy to tell. */
		if (wait * 4 >= elapsed && run * 3 < elapsed) {
			char *msg = xstrfmt("internal error: the machine is too busy: in %ld ms %s's processes waited %ld ms for a CPU; whether they would have settled cannot be told, and this is not the program's fault",
					    elapsed, check_who(p), wait);
			check_add(r, ST_ERROR, msg, NULL);
			check_retry(r);
			free(msg);
		} else {
			judge(a, r, p, &s, b);
		}
	}
	if (a->fds == FDS_BASELINE)
		note_baseline(r, a->of, &s.m[0]);
	snapshot_release(&s);
}

const struct check_unit check_processes = {
	.name = "processes",
	.where = CHECK_AT_STEP,
	.parse = processes_parse,
	.run = processes_run,
	.drop = bases_drop,
};
