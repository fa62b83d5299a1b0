/* check: sockets -- what the kernel says about a process's TCP sockets
 * (sock_diag, sockdiag.c): that it listens on a port with the backlog the
 * handout asks for, how many connections wait in its accept queue, how many
 * connections it has established.
 *
 * Only the process's own sockets count: a socket belongs to it when one of
 * its descriptors (/proc/PID/fd, "socket:[inode]") is that socket, so a
 * reference peer's sockets in the same namespace never count for the
 * student (with tree, the descendants' descriptors count too). */
#define _GNU_SOURCE
#include "checkunit.h"

#include <errno.h>
#include <regex.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procinfo.h"
#include "sandbox.h"
#include "sockdiag.h"

#define MAX_SHOWN 8 /* sockets named in a message */

/* A count a key asks for: exactly, or within min..max (-1: no bound). */
struct range {
	int min, max;
};

struct sockets_args {
	const char *of;
	int tree;
	int port;    /* listening: the port; 0: not checked */
	int backlog; /* -1: not checked */
	struct range queue;       /* accept_queue; min -1 and max -1: not checked */
	const char *reported_by;  /* accept_queue: equal to the number this process printed */
	char *regex;              /* ... on the last stdout line matching this; group 1 */
	int est_port;             /* established: its port; 0: not checked */
	struct range established;
};

/* N, or {min: A, max: B} (either may be left out). */
static void
parse_range(struct parser *p, const struct ynode *v, const char *what, struct range *r)
{
	if (v->type == Y_SCALAR) {
		if (get_int(p, v, what, 0, 65535, &r->min) == 0)
			r->max = r->min;
		return;
	}
	if (want(p, v, Y_MAP, what) < 0)
		return;
	static const char *const keys[] = { "min", "max", NULL };
	for (size_t i = 0; i < v->n; i += 2) {
		int k = key_index(p, v, i, keys, what);
		if (k >= 0)
			get_int(p, v->kids[i + 1], keys[k], 0, 65535, k ? &r->max : &r->min);
	}
	if (r->min < 0 && r->max < 0)
		perr(p, v->line, v->col, "%s needs a number, or min: and/or max:", what);
	else if (r->min >= 0 && r->max >= 0 && r->min > r->max)
		perr(p, v->line, v->col, "%s: min %d is more than max %d", what, r->min, r->max);
}

/* accept_queue: a range, or {reported_by: ID, regex: RE}. */
static void
parse_queue(struct parser *p, const struct ynode *v, struct check_use *use, struct sockets_args *a)
{
	if (v->type != Y_MAP) {
		parse_range(p, v, "accept_queue", &a->queue);
		return;
	}
	static const char *const keys[] = { "min", "max", "reported_by", "regex", NULL };
	for (size_t i = 0; i < v->n; i += 2) {
		const struct ynode *x = v->kids[i + 1];
		int k = key_index(p, v, i, keys, "accept_queue");
		if (k == 0 || k == 1)
			get_int(p, x, keys[k], 0, 65535, k ? &a->queue.max : &a->queue.min);
		else if (k == 2)
			a->reported_by = check_parse_id(p, x, use);
		else if (k == 3 && (a->regex = get_str(p, x, "regex")) && check_regex(p, x, a->regex) == 0) {
			regex_t rx;
			if (regcomp(&rx, a->regex, REG_EXTENDED) == 0) {
				if (rx.re_nsub < 1)
					perr(p, x->line, x->col, "regex needs a group around the number: '([0-9]+) completed'");
				regfree(&rx);
			}
		}
	}
	if (!!a->reported_by != !!a->regex)
		perr(p, v->line, v->col, "accept_queue: reported_by and regex go together (the process, and its line with the number)");
	else if (!a->reported_by && a->queue.min < 0 && a->queue.max < 0)
		perr(p, v->line, v->col, "accept_queue needs a number, min: and/or max:, or reported_by: and regex:");
	else if (a->queue.min >= 0 && a->queue.max >= 0 && a->queue.min > a->queue.max)
		perr(p, v->line, v->col, "accept_queue: min %d is more than max %d", a->queue.min, a->queue.max);
}

static void
parse_listening(struct parser *p, const struct ynode *v, struct sockets_args *a)
{
	if (want(p, v, Y_MAP, "listening") < 0)
		return;
	static const char *const keys[] = { "port", "backlog", NULL };
	for (size_t i = 0; i < v->n; i += 2) {
		int k = key_index(p, v, i, keys, "listening");
		if (k == 0)
			get_int(p, v->kids[i + 1], "port", 1, 65535, &a->port);
		else if (k == 1)
			get_int(p, v->kids[i + 1], "backlog", 0, 65535, &a->backlog);
	}
	if (!a->port)
		perr(p, v->line, v->col, "listening needs port: the TCP port the process listens on");
}

static void
parse_established(struct parser *p, const struct ynode *v, struct sockets_args *a)
{
	if (want(p, v, Y_MAP, "established") < 0)
		return;
	static const char *const keys[] = { "port", "count", NULL };
	int counted = 0;
	for (size_t i = 0; i < v->n; i += 2) {
		int k = key_index(p, v, i, keys, "established");
		if (k == 0)
			get_int(p, v->kids[i + 1], "port", 1, 65535, &a->est_port);
		else if (k == 1) {
			parse_range(p, v->kids[i + 1], "count", &a->established);
			counted = 1;
		}
	}
	if (!a->est_port)
		perr(p, v->line, v->col, "established needs port: connections to or from this TCP port are counted");
	if (!counted)
		perr(p, v->line, v->col, "established needs count: a number, or min: and/or max:");
}

static void *
sockets_parse(struct parser *p, const struct ynode *map, struct check_use *use)
{
	static const char *const keys[] = { "of", "tree", "listening", "accept_queue", "established", NULL };
	struct sockets_args *a = xcalloc(1, sizeof *a);
	a->backlog = -1;
	a->queue = a->established = (struct range){ -1, -1 };
	const struct ynode *queue = NULL;
	int any = 0; /* listening, accept_queue or established given */
	for (size_t i = 0; i < map->n; i += 2) {
		const struct ynode *v = map->kids[i + 1];
		switch (check_key_index(p, map, i, keys, "sockets")) {
		case 0:
			a->of = check_parse_id(p, v, use);
			break;
		case 1:
			get_bool(p, v, "tree", &a->tree);
			break;
		case 2:
			parse_listening(p, v, a);
			any = 1;
			break;
		case 3:
			parse_queue(p, v, use, a);
			queue = map->kids[i];
			any = 1;
			break;
		case 4:
			parse_established(p, v, a);
			any = 1;
			break;
		}
	}
	if (!a->of)
		perr(p, map->line, map->col, "check \"sockets\" needs of: the process whose sockets are looked at");
	if (queue && !a->port)
		perr(p, queue->line, queue->col, "accept_queue needs listening: {port: N}: the queue of the socket listening on that port");
	if (!any && a->of)
		perr(p, map->line, map->col, "check \"sockets\" needs something to check: listening, accept_queue or established");
	return a;
}

static void
sockets_release(void *args)
{
	struct sockets_args *a = args;
	if (a)
		free(a->regex);
	free(a);
}

/* ---- running ---- */

/* The sockets of the namespace that the process (tree) holds. */
struct owned {
	struct sockdiag_sock *v; /* every TCP socket of the namespace */
	long n;
	int *mine; /* v[i] is held by the process: the fd number + 1, else 0 */
	pid_t *holder;
};

static int
in_range(const struct range *r, int n)
{
	return (r->min < 0 || n >= r->min) && (r->max < 0 || n <= r->max);
}

static void
range_words(const struct range *r, struct strbuf *sb)
{
	if (r->min == r->max)
		sb_addf(sb, "%d", r->min);
	else if (r->max < 0)
		sb_addf(sb, "at least %d", r->min);
	else if (r->min < 0)
		sb_addf(sb, "at most %d", r->max);
	else
		sb_addf(sb, "%d to %d", r->min, r->max);
}

static void
owned_release(struct owned *o)
{
	free(o->v);
	free(o->mine);
	free(o->holder);
}

/* 0, or -1 when pid's descriptors cannot be looked at: a process that
 * made itself non-dumpable hides them from a grader without privileges
 * (without namespaces), and "no socket" would then be a guess. */
static int
note_fds(struct owned *o, pid_t pid)
{
	if (fds_readable(pid) < 0)
		return -1;
	struct fdinfo *f;
	size_t n = fds_list(pid, &f);
	for (size_t k = 0; k < n; k++)
		for (long i = 0; f[k].kind == FD_SOCKET && i < o->n; i++)
			if (o->v[i].ino == f[k].ino && !o->mine[i]) {
				o->mine[i] = f[k].fd + 1;
				o->holder[i] = pid;
			}
	free(f);
	return 0;
}

/* 0, or -1 after reporting that the kernel could not be asked. */
static int
owned_collect(struct check_run *r, const struct sockets_args *a, pid_t root, struct owned *o)
{
	/* Listing only listening sockets spares the kernel a walk of its whole
	 * established-connection hash (tens of ms on a big machine). */
	struct sockdiag_query q = { .kinds = SOCKDIAG_TCP, .states = a->est_port ? 0 : 1u << TCP_LISTEN };
	o->n = sockdiag_list(-1, &q, &o->v);
	if (o->n < 0) {
		char *msg = xstrfmt("the kernel's list of sockets (sock_diag netlink) could not be read: %s", strerror(errno));
		check_add(r, ST_ERROR, msg, NULL);
		free(msg);
		return -1;
	}
	o->mine = xcalloc((size_t)o->n + 1, sizeof *o->mine);
	o->holder = xcalloc((size_t)o->n + 1, sizeof *o->holder);
	int hidden = note_fds(o, root) < 0 ? root : 0;
	if (a->tree) {
		struct pinfo *v;
		size_t n = pinfo_list(&v);
		for (size_t i = 0; i < n && !hidden; i++)
			if (v[i].pid != root && v[i].state != 'Z' && pinfo_in_tree(v, n, root, v[i].pid) &&
			    note_fds(o, v[i].pid) < 0)
				hidden = v[i].pid;
		free(v);
	}
	if (hidden) {
		char *msg = xstrfmt("internal error: the descriptors of pid %d (/proc/%d/fd) cannot be read, so its sockets cannot be told apart from others: %s; this is not the program's fault",
				    (int)sandbox_inner_pid(hidden), (int)sandbox_inner_pid(hidden), strerror(EACCES));
		check_add(r, ST_ERROR, msg, "  the grader needs CAP_SYS_PTRACE to read another user's /proc/PID/fd (in a container: --cap-add SYS_PTRACE); without namespaces a program that makes itself non-dumpable (prctl PR_SET_DUMPABLE) hides them too\n");
		free(msg);
		owned_release(o);
		return -1;
	}
	return 0;
}


/* "  open: fd 3, TCP 0.0.0.0:58887 listening\n" for each socket held. */
static void
list_mine(const struct owned *o, struct strbuf *sb)
{
	int shown = 0;
	for (long i = 0; i < o->n; i++) {
		if (!o->mine[i] || shown++ >= MAX_SHOWN)
			continue;
		char d[160];
		sockdiag_describe(&o->v[i], d, sizeof d);
		sb_addf(sb, "  its socket: fd %d, %s\n", o->mine[i] - 1, d);
	}
	if (!shown)
		sb_adds(sb, "  it holds no TCP socket\n");
}

static void
fail(struct check_run *r, const struct check_use *use, const char *msg, const char *details, const char *hint)
{
	struct strbuf d = STRBUF_INIT;
	sb_adds(&d, details);
	sb_addf(&d, "  hint: %s\n", use->hint ? use->hint : hint);
	check_add(r, ST_FAIL, msg, d.buf);
	sb_release(&d);
}

static long
somaxconn(void)
{
	char *s = read_file("/proc/sys/net/core/somaxconn", 64, NULL);
	long v = s ? strtol(s, NULL, 10) : -1;
	free(s);
	return v;
}

/* The listening socket on a->port; reports and returns NULL when none. */
static const struct sockdiag_sock *
check_listening(struct check_run *r, const struct check_use *use, const struct owned *o, const char *who)
{
	const struct sockets_args *a = use->args;
	const struct sockdiag_sock *l = NULL, *other = NULL;
	for (long i = 0; i < o->n; i++)
		if (o->v[i].state == TCP_LISTEN && o->v[i].lport == a->port) {
			if (o->mine[i] && !l)
				l = &o->v[i];
			else if (!o->mine[i])
				other = &o->v[i];
		}
	if (l)
		return l;
	struct strbuf msg = STRBUF_INIT, d = STRBUF_INIT;
	sb_addf(&msg, "%s does not listen on TCP port %d", who, a->port);
	int elsewhere = 0;
	for (long i = 0; i < o->n; i++)
		if (o->mine[i] && o->v[i].state == TCP_LISTEN && !elsewhere++)
			sb_addf(&msg, ": it listens on port %d instead", o->v[i].lport);
	list_mine(o, &d);
	if (other)
		sb_addf(&d, "  a socket listening on port %d belongs to another process, not to %s\n", a->port, who);
	char *hint = elsewhere ? xstrfmt("the port goes into sin_port in network byte order: htons(%d)", a->port)
			       : xstrfmt("socket(), bind() to port %d, then listen(): all three, each checked", a->port);
	fail(r, use, msg.buf, d.buf, hint);
	free(hint);
	sb_release(&msg);
	sb_release(&d);
	return NULL;
}

static void
check_backlog(struct check_run *r, const struct check_use *use, const struct sockdiag_sock *l, const char *who)
{
	const struct sockets_args *a = use->args;
	if (a->backlog < 0 || (int)l->wqueue == a->backlog)
		return;
	char *msg = xstrfmt("%s listens on port %d with a backlog of %u; the handout asks listen(fd, %d)", who, a->port,
			    l->wqueue, a->backlog);
	struct strbuf d = STRBUF_INIT;
	long cap = somaxconn();
	if (cap > 0 && (long)l->wqueue == cap)
		sb_addf(&d, "  %u is the most the kernel allows (net.core.somaxconn): SOMAXCONN or a bigger number was asked\n",
			l->wqueue);
	sb_addf(&d, "  with backlog %d, %d connections can wait for accept() and the next ones wait for room\n",
		a->backlog, a->backlog + 1);
	char *hint = xstrfmt("call listen(server_sd, %d): the backlog is the second argument", a->backlog);
	fail(r, use, msg, d.buf, hint);
	free(hint);
	sb_release(&d);
	free(msg);
}

static void
check_queue(struct check_run *r, const struct check_use *use, const struct sockdiag_sock *l, const char *who)
{
	const struct sockets_args *a = use->args;
	if ((a->queue.min < 0 && a->queue.max < 0) || in_range(&a->queue, (int)l->rqueue))
		return;
	struct strbuf msg = STRBUF_INIT;
	if (l->rqueue == 0)
		sb_addf(&msg, "no connection waits in the accept queue of %s on port %d; ", who, a->port);
	else
		sb_addf(&msg, "%u connection%s wait%s in the accept queue of %s on port %d; ", l->rqueue,
			l->rqueue == 1 ? "" : "s", l->rqueue == 1 ? "s" : "", who, a->port);
	range_words(&a->queue, &msg);
	sb_adds(&msg, " expected");
	char *d = xstrfmt("  the kernel's backlog for that socket is %u: up to %u completed connections wait for accept()\n",
			  l->wqueue, l->wqueue + 1);
	fail(r, use, msg.buf, d,
	     (int)l->rqueue < a->queue.min ? "connections leave the accept queue only through accept(): do not accept before you are told to"
					   : "call accept() to take the waiting connections out of the queue");
	free(d);
	sb_release(&msg);
}

static void
check_established(struct check_run *r, const struct check_use *use, const struct owned *o, const char *who)
{
	const struct sockets_args *a = use->args;
	int count = 0;
	for (long i = 0; i < o->n; i++)
		count += o->mine[i] && o->v[i].state == TCP_ESTABLISHED &&
			 (o->v[i].lport == a->est_port || o->v[i].rport == a->est_port);
	if (in_range(&a->established, count))
		return;
	struct strbuf msg = STRBUF_INIT, d = STRBUF_INIT;
	sb_addf(&msg, "%s has %d established connection%s on port %d; ", who, count, count == 1 ? "" : "s", a->est_port);
	range_words(&a->established, &msg);
	sb_adds(&msg, " expected");
	list_mine(o, &d);
	fail(r, use, msg.buf, d.buf,
	     count > a->established.max && a->established.max >= 0
		     ? "close() each connected socket when you are done with it"
		     : "a connection is established once connect() has completed (or accept() returned it)");
	sb_release(&msg);
	sb_release(&d);
}

/* What the reported_by process printed: its last REPORT_KEEP bytes. */
#define REPORT_KEEP (64 * 1024)

static void
report_feed(void *state, const char *buf, size_t len)
{
	struct strbuf *out = state;
	sb_add(out, buf, len);
	if (out->len > 2 * REPORT_KEEP) {
		memmove(out->buf, out->buf + out->len - REPORT_KEEP, REPORT_KEEP);
		out->len = REPORT_KEEP;
		out->buf[out->len] = '\0';
	}
}

static void
report_drop(void *state)
{
	sb_release(state);
	free(state);
}

static void
sockets_begin(const struct check_use *use, struct check_run *r)
{
	const struct sockets_args *a = use->args;
	if (!a->reported_by)
		return;
	struct strbuf *out = xcalloc(1, sizeof *out);
	*check_state(r, use) = out;
	check_observe(r, a->reported_by, 0, report_feed, out);
}

/* The number in group 1 of the last line of out matching regex; -1 when
 * no line matches, and the line into *line (the caller frees). */
static long
reported_number(const char *regex, const struct strbuf *out, char **line)
{
	regex_t rx;
	long found = -1;
	*line = NULL;
	if (!out->buf || regcomp(&rx, regex, REG_EXTENDED) != 0)
		return -1;
	for (const char *at = out->buf; at < out->buf + out->len;) {
		const char *nl = memchr(at, '\n', (size_t)(out->buf + out->len - at));
		size_t n = nl ? (size_t)(nl - at) : (size_t)(out->buf + out->len - at);
		char *l = xstrfmt("%.*s", (int)n, at);
		regmatch_t m[2];
		if (regexec(&rx, l, 2, m, 0) == 0 && m[1].rm_so >= 0) {
			found = strtol(l + m[1].rm_so, NULL, 10);
			free(*line);
			*line = l;
		} else {
			free(l);
		}
		at += n + 1;
	}
	regfree(&rx);
	return found;
}

static void
check_reported(const struct check_use *use, struct check_run *r, const struct sockdiag_sock *l, const char *who)
{
	const struct sockets_args *a = use->args;
	struct strbuf **out = (struct strbuf **)check_state(r, use);
	struct proc *by = check_find(r, a->reported_by);
	const char *reporter = by ? check_who(by) : a->reported_by;
	char *line = NULL;
	long n = *out ? reported_number(a->regex, *out, &line) : -1;
	if (n == (long)l->rqueue) {
		free(line);
		return;
	}
	struct strbuf msg = STRBUF_INIT, d = STRBUF_INIT;
	if (n < 0)
		sb_addf(&msg, "%s printed no line matching /%s/; the kernel counts %u connection%s in the accept queue of %s on port %d",
			reporter, a->regex, l->rqueue, l->rqueue == 1 ? "" : "s", who, a->port);
	else {
		sb_addf(&msg, "%s reports %ld; the kernel counts %u connection%s in the accept queue of %s on port %d", reporter,
			n, l->rqueue, l->rqueue == 1 ? "" : "s", who, a->port);
		sb_adds(&d, "  its line: ");
		sb_add_printable(&d, line, strlen(line));
		sb_adds(&d, "\n");
	}
	sb_addf(&d, "  the kernel's backlog for that socket is %u: up to %u completed connections wait for accept()\n",
		l->wqueue, l->wqueue + 1);
	fail(r, use, msg.buf, d.buf,
	     "a connection has completed once poll() says the socket is writable and getsockopt(SO_ERROR) gives 0; count only those, not every connect() started");
	free(line);
	sb_release(&msg);
	sb_release(&d);
}

static void
sockets_run(const struct check_use *use, struct check_run *r)
{
	const struct sockets_args *a = use->args;
	struct proc *p = check_find(r, a->of);
	if (!p || !check_settle(r, p)) {
		char *msg = xstrfmt("%s had ended before its sockets could be looked at", p ? check_who(p) : a->of);
		check_add(r, ST_FAIL, msg, NULL);
		free(msg);
		return;
	}
	struct owned o = { 0 };
	if (owned_collect(r, a, check_pid(p), &o) < 0)
		return;
	const char *who = check_who(p);
	if (a->port) {
		const struct sockdiag_sock *l = check_listening(r, use, &o, who);
		if (l) {
			check_backlog(r, use, l, who);
			check_queue(r, use, l, who);
			if (a->reported_by)
				check_reported(use, r, l, who);
		}
	}
	if (a->est_port)
		check_established(r, use, &o, who);
	owned_release(&o);
}

const struct check_unit check_sockets = {
	.name = "sockets",
	.where = CHECK_AT_STEP,
	.parse = sockets_parse,
	.begin = sockets_begin,
	.run = sockets_run,
	.release = sockets_release,
	.drop = report_drop,
};
