/* check: cleanup -- after the test, no IPC object or special file the
 * test's programs made is left: POSIX shared memory and named semaphores
 * (/dev/shm), POSIX message queues (/dev/mqueue), FIFOs and Unix socket
 * files (in /tmp, /var/tmp and the working folder), System V shared
 * memory, message queues and semaphores.  What existed when the test
 * began is not the test's (without namespaces these are the machine's). */
#define _GNU_SOURCE
#include "check.h"

#include <dirent.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DEPTH 4    /* of folders searched for FIFOs and sockets */
#define MAX_OBJECTS 64 /* reported; the rest are counted */

struct cleanup_args {
	char **allow;
	size_t nallow;
};

static void *
cleanup_parse(struct parser *p, const struct ynode *map, struct check_use *use)
{
	(void)use;
	static const char *const keys[] = { "allow", NULL };
	struct cleanup_args *a = xcalloc(1, sizeof *a);
	for (size_t i = 0; i < map->n; i += 2)
		if (check_key_index(p, map, i, keys, "cleanup") == 0)
			get_strlist(p, map->kids[i + 1], "allow", &a->allow, &a->nallow);
	for (size_t i = 0; i < a->nallow; i++)
		if (!*a->allow[i])
			perr(p, map->line, map->col, "an allowed path must not be empty");
	return a;
}

static void
cleanup_release(void *args)
{
	struct cleanup_args *a = args;
	if (a)
		free_strlist(a->allow, a->nallow);
	free(a);
}

/* One object: "/dev/shm/ring_buffer" and what it is. */
struct object {
	char *key;  /* a path, or "sysv shm 1234" */
	char *what; /* "POSIX shared memory object /ring_buffer" */
	long cpid;  /* who made it (System V), 0: not known */
};

struct objects {
	struct object *v;
	size_t n;
};

static void
add(struct objects *o, char *key, char *what, long cpid)
{
	o->v = xrealloc(o->v, (o->n + 1) * sizeof *o->v);
	o->v[o->n++] = (struct object){ key, what, cpid };
}

static void
objects_free(struct objects *o)
{
	for (size_t i = 0; i < o->n; i++) {
		free(o->v[i].key);
		free(o->v[i].what);
	}
	free(o->v);
	memset(o, 0, sizeof *o);
}

static void
scan_flat(struct objects *o, const char *dir, const char *kind)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char *path = xstrfmt("%s/%s", dir, e->d_name);
		char *what;
		if (!strcmp(kind, "shm") && !strncmp(e->d_name, "sem.", 4))
			what = xstrfmt("POSIX named semaphore /%s (sem_unlink)", e->d_name + 4);
		else if (!strcmp(kind, "shm"))
			what = xstrfmt("POSIX shared memory object /%s (shm_unlink)", e->d_name);
		else
			what = xstrfmt("POSIX message queue /%s (mq_unlink)", e->d_name);
		add(o, path, what, 0);
	}
	if (d)
		closedir(d);
}

static void
scan_special(struct objects *o, const char *dir, int depth)
{
	DIR *d = depth <= MAX_DEPTH ? opendir(dir) : NULL;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char *path = xstrfmt("%s/%s", dir, e->d_name);
		struct stat st;
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			scan_special(o, path, depth + 1);
		} else if (lstat(path, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) {
			add(o, xstrdup(path),
			    xstrfmt("%s %s (unlink)", S_ISFIFO(st.st_mode) ? "FIFO" : "Unix socket file", path), 0);
			continue;
		}
		free(path);
	}
	if (d)
		closedir(d);
}

static void
scan_sysv(struct objects *o, const char *file, const char *kind, const char *rm)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/sysvipc/%s", file);
	FILE *f = fopen(path, "re");
	char line[512];
	if (!f)
		return;
	if (!fgets(line, sizeof line, f))
		line[0] = '\0';
	while (fgets(line, sizeof line, f)) {
		long key, id, cpid = 0;
		/* shm: key shmid perms size cpid ...; msg and sem: key id perms ... */
		int got = sscanf(line, "%ld %ld %*o %*u %ld", &key, &id, &cpid);
		if (got < 2)
			continue;
		add(o, xstrfmt("sysv %s %ld", file, id), xstrfmt("System V %s %ld (key 0x%lx; %s)", kind, id, key, rm),
		    !strcmp(file, "shm") && got == 3 ? cpid : 0);
	}
	fclose(f);
}

static void
scan(struct objects *o, const char *workdir)
{
	scan_flat(o, "/dev/shm", "shm");
	scan_flat(o, "/dev/mqueue", "mq");
	scan_special(o, "/tmp", 0);
	scan_special(o, "/var/tmp", 0);
	if (strncmp(workdir, "/tmp/", 5) && strncmp(workdir, "/var/tmp/", 9))
		scan_special(o, workdir, 0);
	scan_sysv(o, "shm", "shared memory segment", "shmctl IPC_RMID");
	scan_sysv(o, "msg", "message queue", "msgctl IPC_RMID");
	scan_sysv(o, "sem", "semaphore set", "semctl IPC_RMID");
}

static void
cleanup_begin(const struct check_use *use, struct check_run *r)
{
	struct objects *before = xcalloc(1, sizeof *before);
	scan(before, check_workdir(r));
	*check_state(r, use) = before;
}

static void
cleanup_drop(void *state)
{
	objects_free(state);
	free(state);
}

static int
allowed(const struct cleanup_args *a, const char *key, const char *workdir)
{
	for (size_t i = 0; i < a->nallow; i++) {
		char *pattern = a->allow[i][0] == '/' || !strncmp(a->allow[i], "sysv ", 5)
					? xstrdup(a->allow[i])
					: xstrfmt("%s/%s", workdir, a->allow[i]);
		int ok = fnmatch(pattern, key, FNM_PATHNAME) == 0;
		free(pattern);
		if (ok)
			return 1;
	}
	return 0;
}

static void
cleanup_run(const struct check_use *use, struct check_run *r)
{
	const struct cleanup_args *a = use->args;
	const struct objects *before = *check_state(r, use);
	struct objects now = { 0 };
	const char *workdir = check_workdir(r);
	scan(&now, workdir);
	struct strbuf d = STRBUF_INIT;
	size_t left = 0;
	const char *first = NULL;
	for (size_t i = 0; i < now.n; i++) {
		int old = 0;
		for (size_t k = 0; before && k < before->n && !old; k++)
			old = !strcmp(before->v[k].key, now.v[i].key);
		if (old || allowed(a, now.v[i].key, workdir))
			continue;
		if (!first)
			first = now.v[i].what;
		if (left++ < MAX_OBJECTS) {
			sb_addf(&d, "  left behind: %s", now.v[i].what);
			struct proc *p = now.v[i].cpid ? check_by_pid(r, (pid_t)now.v[i].cpid) : NULL;
			if (p)
				sb_addf(&d, ", made by %s", check_who(p));
			else if (now.v[i].cpid)
				sb_addf(&d, ", made by pid %ld", now.v[i].cpid);
			sb_adds(&d, "\n");
		}
	}
	if (left > MAX_OBJECTS)
		sb_addf(&d, "  ... and %zu more\n", left - MAX_OBJECTS);
	if (left) {
		sb_adds(&d, "  hint: what a program creates in the system outlives it; remove it when done (as the handout says who), also on the error paths\n");
		char *msg = left == 1 ? xstrfmt("the test left an object behind: %s", first)
				      : xstrfmt("the test left %zu objects behind, first %s", left, first);
		check_add(r, ST_FAIL, msg, d.buf);
		free(msg);
	}
	sb_release(&d);
	objects_free(&now);
}

const struct check_unit check_cleanup = {
	.name = "cleanup",
	.where = CHECK_AT_END,
	.parse = cleanup_parse,
	.begin = cleanup_begin,
	.run = cleanup_run,
	.release = cleanup_release,
	.drop = cleanup_drop,
};
