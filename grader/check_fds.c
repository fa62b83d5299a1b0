/* check: fds -- which descriptors a process (and, with tree, each of its
 * descendants) holds once it has settled: at most so many sockets, pipe
 * ends or descriptors, and no process holding both ends of a pipe it
 * shares with another (the end it does not use was not closed). */
#define _GNU_SOURCE
#include "checkunit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procinfo.h"
#include "sandbox.h"

#define MAX_SHOWN 8 /* descriptors named in a message */

struct fds_args {
	const char *of;
	int tree;
	int max[3]; /* sockets, pipes, all; -1: no limit */
	int pipe_ends_one;
};


static void *
fds_parse(struct parser *p, const struct ynode *map, struct check_use *use)
{
	static const char *const keys[] = { "of", "tree", "max_sockets", "max_pipes", "max_fds", "pipe_ends", NULL };
	struct fds_args *a = xcalloc(1, sizeof *a);
	a->max[0] = a->max[1] = a->max[2] = -1;
	int any = 0;
	for (size_t i = 0; i < map->n; i += 2) {
		const struct ynode *v = map->kids[i + 1];
		int k = check_key_index(p, map, i, keys, "fds");
		switch (k) {
		case 0:
			a->of = check_parse_id(p, v, use);
			break;
		case 1:
			get_bool(p, v, "tree", &a->tree);
			break;
		case 2:
		case 3:
		case 4:
			get_int(p, v, keys[k], 0, 65536, &a->max[k - 2]);
			any = 1;
			break;
		case 5:
			if (want(p, v, Y_SCALAR, "pipe_ends") == 0 && strcmp(v->text, "one"))
				perr(p, v->line, v->col, "pipe_ends must be one (each process keeps only the end it uses), not \"%s\"",
				     v->text);
			a->pipe_ends_one = 1;
			any = 1;
			break;
		}
	}
	if (!a->of)
		perr(p, map->line, map->col, "check \"fds\" needs of: the process whose descriptors are looked at");
	if (!any)
		perr(p, map->line, map->col, "check \"fds\" needs something to check: max_sockets, max_pipes, max_fds or pipe_ends");
	return a;
}

/* "your server (pid 2)" or "pid 3 (server), a child of your server" */
static void
name(struct check_run *r, const struct pinfo *pi, struct strbuf *sb)
{
	const char *who = check_name_pid(r, pi->pid);
	if (who)
		sb_addf(sb, "%s (pid %d)", who, (int)sandbox_inner_pid(pi->pid));
	else
		sb_addf(sb, "pid %d (%s)", (int)sandbox_inner_pid(pi->pid), pi->comm);
}

static void
describe_fd(const struct fdinfo *f, struct strbuf *sb)
{
	sb_addf(sb, "fd %d (", f->fd);
	if (f->kind == FD_SOCKET)
		socket_describe(f->ino, sb);
	else if (f->kind == FD_PIPE)
		sb_addf(sb, "the %s end of a pipe", f->writes ? "write" : "read");
	else
		sb_add_printable(sb, f->target, strlen(f->target));
	sb_adds(sb, ")");
}

static int
kind_counts(const struct fdinfo *f, int k)
{
	if (f->fd <= 2)
		return 0;
	return k == 2 || (k == 0 && f->kind == FD_SOCKET) || (k == 1 && f->kind == FD_PIPE);
}

static void
check_limits(const struct fds_args *a, struct check_run *r, const struct pinfo *pi, const struct fdinfo *f,
	     size_t n)
{
	static const char *const words[] = { "socket", "pipe end", "descriptor" };
	for (int k = 0; k < 3; k++) {
		if (a->max[k] < 0)
			continue;
		int count = 0;
		for (size_t i = 0; i < n; i++)
			count += kind_counts(&f[i], k);
		if (count <= a->max[k])
			continue;
		struct strbuf msg = STRBUF_INIT, d = STRBUF_INIT;
		name(r, pi, &msg);
		sb_addf(&msg, " holds %d %s%s besides stdin, stdout and stderr, at most %d expected", count, words[k],
			count == 1 ? "" : "s", a->max[k]);
		int shown = 0;
		for (size_t i = 0; i < n; i++)
			if (kind_counts(&f[i], k) && shown++ < MAX_SHOWN) {
				sb_adds(&d, "  open: ");
				describe_fd(&f[i], &d);
				sb_adds(&d, "\n");
			}
		if (k == 0)
			sb_adds(&d, "  hint: close() every socket you are done with: a server closes the connected socket after each client (and a forked child closes the listening one)\n");
		else
			sb_adds(&d, "  hint: every descriptor a process does not use any more must be closed, in the parent and in the child\n");
		check_add(r, ST_FAIL, msg.buf, d.buf);
		sb_release(&msg);
		sb_release(&d);
	}
}

struct member {
	struct pinfo pi;
	struct fdinfo *f;
	size_t n;
};

/* A process holding both ends of a pipe that another process also holds. */
static void
check_pipe_ends(struct check_run *r, struct member *m, size_t nm)
{
	for (size_t i = 0; i < nm; i++)
		for (size_t x = 0; x < m[i].n; x++) {
			const struct fdinfo *rd = &m[i].f[x];
			if (rd->kind != FD_PIPE || rd->writes)
				continue;
			const struct fdinfo *wr = NULL;
			for (size_t y = 0; y < m[i].n && !wr; y++)
				if (m[i].f[y].kind == FD_PIPE && m[i].f[y].writes && m[i].f[y].ino == rd->ino)
					wr = &m[i].f[y];
			const struct member *other = NULL;
			for (size_t j = 0; j < nm && !other; j++)
				for (size_t y = 0; j != i && y < m[j].n && !other; y++)
					if (m[j].f[y].kind == FD_PIPE && m[j].f[y].ino == rd->ino)
						other = &m[j];
			if (!wr || !other)
				continue;
			struct strbuf msg = STRBUF_INIT;
			name(r, &m[i].pi, &msg);
			sb_addf(&msg, " holds both ends of the pipe it shares with ");
			name(r, &other->pi, &msg);
			sb_addf(&msg, " (fd %d read, fd %d write): close the end each side does not use", rd->fd, wr->fd);
			check_add(r, ST_FAIL, msg.buf,
				  "  hint: after fork() both processes have both ends; a reader that keeps the write end open never sees end of file, and a writer that keeps the read end never gets EPIPE\n");
			sb_release(&msg);
		}
}

static void
fds_run(const struct check_use *use, struct check_run *r)
{
	const struct fds_args *a = use->args;
	struct proc *p = check_find(r, a->of);
	if (!p || !check_settle(r, p)) {
		char *msg = xstrfmt("%s had ended before its descriptors could be looked at", p ? check_who(p) : a->of);
		check_add(r, ST_FAIL, msg, NULL);
		free(msg);
		return;
	}
	if (check_fds_visible(r, p) < 0)
		return;
	pid_t root = check_pid(p);
	struct pinfo *v;
	size_t n = pinfo_list(&v), nm = 0;
	struct member *m = xcalloc(n + 1, sizeof *m);
	for (size_t i = 0; i < n; i++) {
		if (v[i].state == 'Z' || !(v[i].pid == root || (a->tree && pinfo_in_tree(v, n, root, v[i].pid))))
			continue;
		m[nm].pi = v[i];
		m[nm].n = fds_list(v[i].pid, &m[nm].f);
		nm++;
	}
	for (size_t i = 0; i < nm; i++)
		check_limits(a, r, &m[i].pi, m[i].f, m[i].n);
	if (a->pipe_ends_one)
		check_pipe_ends(r, m, nm);
	for (size_t i = 0; i < nm; i++)
		free(m[i].f);
	free(m);
	free(v);
}

const struct check_unit check_fds = {
	.name = "fds",
	.where = CHECK_AT_STEP,
	.parse = fds_parse,
	.run = fds_run,
};
