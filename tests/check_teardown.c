/* Teardown of the grader binary, run as users run it (build/grader as a
 * child), as the current user and, when that is root, as "nobody":
 *
 *  - kill -9 in the middle of a test: every process of the sandbox (the
 *    init, the jail, a reference server, a student server) is dead within
 *    100 ms of the kill, through the init's PR_SET_PDEATHSIG alone;
 *  - SIGINT (to the process group, as Ctrl-C sends it), SIGTERM and SIGHUP
 *    (to the grader) in the middle of a test: the grader dies of that
 *    signal within 2 s, its scratch folder is gone from TMPDIR, and no
 *    process of the sandbox is left;
 *  - after a normal run and after a build failure TMPDIR is empty;
 *  - after all of these but kill -9, no cgroup folder named after the
 *    grader (ipcgrader-PID, cgroup.c) is left under /sys/fs/cgroup.
 *
 * The grader tested is build/grader as `make` last built it (staged with
 * build/ref and the preload library as IPCGRADER_ROOT): run `make` first.
 *
 * The middle of a test is certain: a lab staged here starts a reference
 * server and a student server that never exit, then waits for the student
 * server with a two-minute step limit.  A test sends its signal once a
 * process named like the student program runs in a PID namespace other than
 * ours.  Nothing here sleeps to let something happen: the grader's exit is
 * waited for on a pidfd, and the sandbox's end is observed by re-reading
 * /proc every half millisecond against a hard deadline, which also gives
 * the figure reported (CK_VERBOSITY=verbose prints it). */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "spawn.h"
#include "nobody.h"
#include "util.h"

#define NOBODY 65534
#define PROGRAM "tdforever"     /* the student program; its comm */
#define KILL_BOUND_US 100000    /* kill -9 of the grader to the last sandbox process gone */
#define SIGNAL_BOUND_MS 2000    /* SIGINT/SIGTERM/SIGHUP to the grader's death */
#define MID_TEST_DEADLINE_MS 60000 /* build and start of the servers */
#define RUN_DEADLINE_MS 60000   /* a whole normal run */
#define OBSERVE_US 5000000      /* how long the sandbox's end is watched, for the figure */
#define TICK_NS 500000L         /* re-check of a /proc condition */
#define MAX_NS 16

static char stage[64]; /* made afresh by each test case's fixture */

static const char lab_yaml[] =
	"# A test that is certainly running when it is interrupted: a reference\n"
	"# server and a student server that never exit, then a long wait.\n"
	"lab: td-forever\n"
	"title: servers that never exit (tests/check_teardown.c)\n"
	"submission:\n"
	"  files: [" PROGRAM ".c]\n"
	"build:\n"
	"  cflags: [-std=c11, -Wall, -Wextra]\n"
	"  programs:\n"
	"    " PROGRAM ": [" PROGRAM ".c]\n"
	"references:\n"
	"  server: tcp_hello_server\n"
	"limits:\n"
	"  wall_ms: 120000\n"
	"  step_ms: 120000\n"
	"tests:\n"
	"  - name: forever\n"
	"    description: two servers that never exit, and a wait for one of them\n"
	"    points: 1\n"
	"    steps:\n"
	"      - start: ref:server\n"
	"        ready: {tcp: 2021}\n"
	"      - start: " PROGRAM "\n"
	"        ready: {stdout: '^ready$'}\n"
	"      - wait: " PROGRAM "\n"
	"  - name: quick\n"
	"    description: the student program answers once and exits\n"
	"    points: 1\n"
	"    limits: {wall_ms: 10000, step_ms: 5000}\n"
	"    steps:\n"
	"      - run: " PROGRAM "\n"
	"        args: [once]\n"
	"        expect:\n"
	"          exit: 0\n"
	"          stdout: {contains: once}\n";

static const char forever_c[] =
	"#define _POSIX_C_SOURCE 200809L\n"
	"#include <stdio.h>\n"
	"#include <string.h>\n"
	"#include <unistd.h>\n"
	"int main(int argc, char **argv)\n"
	"{\n"
	"\tif (argc > 1 && strcmp(argv[1], \"once\") == 0) {\n"
	"\t\tputs(\"once\");\n"
	"\t\treturn 0;\n"
	"\t}\n"
	"\tputs(\"ready\");\n"
	"\tfflush(stdout);\n"
	"\tfor (;;)\n"
	"\t\tpause();\n"
	"}\n";

static const char broken_c[] = "int main(void) { return }\n";

/* ---- staging ------------------------------------------------------------ */

static void
stage_fail(const char *what)
{
	fprintf(stderr, "check_teardown: cannot stage %s: %s\n", what, strerror(errno));
	abort();
}

static void
stage_text(const char *rel, const char *text)
{
	char *path = xstrfmt("%s/%s", stage, rel);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write_all(fd, text, strlen(text)) < 0 || close(fd) < 0)
		stage_fail(path);
	free(path);
}

static void
stage_copy(const char *from, const char *rel)
{
	char *to = xstrfmt("%s/%s", stage, rel);
	if (copy_file(from, to, 0755) < 0)
		stage_fail(from);
	free(to);
}

/* What the grader needs, in one world-readable folder that is also its
 * IPCGRADER_ROOT, so that "nobody" can run it wherever the checkout lives:
 * build/grader, build/ref/, the preload library, labs/, and the lab and
 * submissions of these tests. */
static void
stage_grader(void)
{
	snprintf(stage, sizeof stage, "/tmp/check-teardown-XXXXXX");
	if (!mkdtemp(stage) || chmod(stage, 0755) < 0)
		stage_fail("the staging folder");
	const char *dirs[] = { "build", "build/ref", "labs", "labs/td-forever", "sub-forever", "sub-broken" };
	for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
		char *path = xstrfmt("%s/%s", stage, dirs[i]);
		if (mkdir(path, 0755) < 0 || chmod(path, 0755) < 0)
			stage_fail(path);
		free(path);
	}
	stage_copy("build/grader", "build/grader");
	stage_copy("build/libipcgrader-linebuf.so", "build/libipcgrader-linebuf.so");
	DIR *d = opendir("build/ref");
	struct dirent *e;
	if (!d)
		stage_fail("build/ref");
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || strchr(e->d_name, '.'))
			continue;
		char *from = xstrfmt("build/ref/%s", e->d_name), *rel = xstrfmt("build/ref/%s", e->d_name);
		stage_copy(from, rel);
		free(from);
		free(rel);
	}
	closedir(d);
	stage_text("labs/td-forever/lab.yaml", lab_yaml);
	stage_text("sub-forever/" PROGRAM ".c", forever_c);
	stage_text("sub-broken/" PROGRAM ".c", broken_c);
}

static void remove_graders_cgroups(void);

static void
unstage_grader(void)
{
	remove_graders_cgroups();
	rm_rf(stage);
}

/* ---- /proc -------------------------------------------------------------- */

static int64_t
now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
tick(void)
{
	struct timespec ts = { 0, TICK_NS };
	nanosleep(&ts, NULL);
}

struct proc_info {
	pid_t pid, ppid;
	char state;
	char comm[32];
	ino_t pidns; /* 0: unreadable (a zombie, or no permission) */
};

/* Every process of the machine as /proc shows it now. */
static size_t
snapshot(struct proc_info **out)
{
	size_t n = 0, cap = 256;
	struct proc_info *v = xmalloc(cap * sizeof *v);
	DIR *d = opendir("/proc");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (*end || pid <= 0)
			continue;
		char path[64];
		snprintf(path, sizeof path, "/proc/%ld/stat", pid);
		char *stat_text = read_file(path, 4096, NULL);
		if (!stat_text)
			continue; /* gone meanwhile */
		char *open_paren = strchr(stat_text, '('), *close_paren = strrchr(stat_text, ')');
		char state;
		long ppid;
		if (open_paren && close_paren && close_paren > open_paren &&
		    sscanf(close_paren + 1, " %c %ld", &state, &ppid) == 2) {
			if (n == cap)
				v = xrealloc(v, (cap *= 2) * sizeof *v);
			struct proc_info *p = &v[n++];
			p->pid = (pid_t)pid;
			p->ppid = (pid_t)ppid;
			p->state = state;
			snprintf(p->comm, sizeof p->comm, "%.*s", (int)(close_paren - open_paren - 1), open_paren + 1);
			struct stat st;
			snprintf(path, sizeof path, "/proc/%ld/ns/pid", pid);
			p->pidns = stat(path, &st) == 0 ? st.st_ino : 0;
		}
		free(stat_text);
	}
	if (d)
		closedir(d);
	*out = v;
	return n;
}

static const struct proc_info *
find_pid(const struct proc_info *v, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].pid == pid)
			return &v[i];
	return NULL;
}

static int
descends_from(const struct proc_info *v, size_t n, pid_t pid, pid_t ancestor)
{
	for (int depth = 0; depth < 64 && pid > 1; depth++) {
		const struct proc_info *p = find_pid(v, n, pid);
		if (!p)
			return 0;
		if (p->ppid == ancestor)
			return 1;
		pid = p->ppid;
	}
	return 0;
}

static ino_t
own_pidns(void)
{
	struct stat st;
	ck_assert_int_eq(stat("/proc/self/ns/pid", &st), 0);
	return st.st_ino;
}

static int
is_dead(char state)
{
	return state == 'Z' || state == 'X' || state == 'x';
}

/* The sandbox of a running test, as recorded before it is interrupted. */
struct sandbox_seen {
	ino_t ns[MAX_NS];
	int nns;
	pid_t init;
	int init_pidfd;
	int nprocs;
};

static int
ns_recorded(const struct sandbox_seen *s, ino_t ino)
{
	for (int i = 0; i < s->nns; i++)
		if (s->ns[i] == ino)
			return 1;
	return 0;
}

/* True once the grader's student program runs in a PID namespace other than
 * ours; then records every PID namespace of the grader's descendants and
 * the init (the grader's child in a namespace of its own). */
static int
sandbox_running(pid_t grader, struct sandbox_seen *s)
{
	ino_t self = own_pidns();
	struct proc_info *v;
	size_t n = snapshot(&v);
	int running = 0;
	for (size_t i = 0; i < n && !running; i++)
		running = !strcmp(v[i].comm, PROGRAM) && !is_dead(v[i].state) && v[i].pidns && v[i].pidns != self &&
			  descends_from(v, n, v[i].pid, grader);
	if (running) {
		memset(s, 0, sizeof *s);
		s->init = -1;
		s->init_pidfd = -1;
		for (size_t i = 0; i < n; i++) {
			if (!v[i].pidns || v[i].pidns == self || !descends_from(v, n, v[i].pid, grader))
				continue;
			s->nprocs++;
			if (v[i].ppid == grader)
				s->init = v[i].pid;
			if (!ns_recorded(s, v[i].pidns) && s->nns < MAX_NS)
				s->ns[s->nns++] = v[i].pidns;
		}
	}
	free(v);
	return running;
}

/* The processes still alive in the sandbox's namespaces, "pid comm state"
 * each, or an empty string; also whether the init itself is alive. */
static char *
sandbox_left(const struct sandbox_seen *s, int *init_alive)
{
	struct proc_info *v;
	size_t n = snapshot(&v);
	struct strbuf sb = STRBUF_INIT;
	sb_adds(&sb, "");
	for (size_t i = 0; i < n; i++)
		if (v[i].pidns && ns_recorded(s, v[i].pidns) && !is_dead(v[i].state))
			sb_addf(&sb, " %d(%s,%c)", (int)v[i].pid, v[i].comm, v[i].state);
	free(v);
	struct pollfd p = { s->init_pidfd, POLLIN, 0 };
	*init_alive = s->init_pidfd >= 0 && poll(&p, 1, 0) == 0;
	return sb_detach(&sb);
}

/* Reaps whatever died among our children (we are a subreaper: the init, the
 * orphans of the sandbox); the grader's status goes to *grader_status. */
static void
reap(pid_t grader, int *grader_status, int *grader_reaped)
{
	pid_t pid;
	int st;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		if (pid == grader) {
			*grader_status = st;
			*grader_reaped = 1;
		}
}

/* How the sandbox's end was observed: the first scan that found no process
 * of it alive ended gone_us after t0 (an upper bound of the moment of
 * death); the last scan that saw one alive began alive_us after t0 (-1:
 * none did). */
struct sandbox_end {
	int64_t gone_us, alive_us;
	char *left; /* what was alive at the hard deadline, or NULL */
	char alive_text[48];
};

/* Watches from t0 until no process of the sandbox is alive, or OBSERVE_US
 * passed (then gone_us is -1). */
static void
watch_sandbox_end(const struct sandbox_seen *s, int64_t t0, pid_t grader, int *grader_status, int *grader_reaped,
		  struct sandbox_end *end)
{
	end->alive_us = -1;
	end->left = NULL;
	for (;;) {
		reap(grader, grader_status, grader_reaped);
		int64_t begun = now_us();
		int init_alive;
		char *procs = sandbox_left(s, &init_alive);
		int64_t t = now_us();
		if (!*procs && !init_alive) {
			free(procs);
			end->gone_us = t - t0;
			if (end->alive_us < 0)
				snprintf(end->alive_text, sizeof end->alive_text, "none alive at the first look");
			else
				snprintf(end->alive_text, sizeof end->alive_text, "last seen alive at %.2f ms",
					 end->alive_us / 1000.0);
			return;
		}
		end->alive_us = begun - t0;
		if (t - t0 > OBSERVE_US) {
			end->left = xstrfmt("%s%s", procs, init_alive ? " and the init is alive" : "");
			end->gone_us = -1;
			free(procs);
			return;
		}
		free(procs);
		tick();
	}
}

/* ---- cgroups ---------------------------------------------------------------- */

#define CGROUP_ROOT "/sys/fs/cgroup"

/* Appends to found every folder named name under dir (at most depth
 * levels down), or, when remove is set, removes it and its sub-groups
 * (rmdir: the kernel refuses groups that still hold processes). */
static void
cgroup_walk(const char *dir, const char *name, int depth, int remove, struct strbuf *found)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_type != DT_DIR || e->d_name[0] == '.')
			continue;
		char *path = xstrfmt("%s/%s", dir, e->d_name);
		if (!strcmp(e->d_name, name)) {
			if (remove) {
				DIR *sub = opendir(path);
				struct dirent *f;
				while (sub && (f = readdir(sub)))
					if (f->d_type == DT_DIR && f->d_name[0] != '.') {
						char *child = xstrfmt("%s/%s", path, f->d_name);
						rmdir(child);
						free(child);
					}
				if (sub)
					closedir(sub);
				rmdir(path);
			} else {
				sb_addf(found, " %s", path);
			}
		} else if (depth > 0) {
			cgroup_walk(path, name, depth - 1, remove, found);
		}
		free(path);
	}
	if (d)
		closedir(d);
}

/* The cgroup folders the grader with this pid made and left, or "". */
static char *
cgroup_leftovers(pid_t grader)
{
	char name[32];
	snprintf(name, sizeof name, "ipcgrader-%d", (int)grader);
	struct strbuf sb = STRBUF_INIT;
	sb_adds(&sb, "");
	cgroup_walk(CGROUP_ROOT, name, 6, 0, &sb);
	return sb_detach(&sb);
}

/* Every grader these tests started is listed in the staging folder, so
 * that the fixture's teardown can remove what a killed (or buggy) grader
 * left in /sys/fs/cgroup, even after a failed assertion. */
static void
remember_grader(pid_t pid)
{
	char *path = xstrfmt("%s/graders", stage);
	char line[32];
	snprintf(line, sizeof line, "%d\n", (int)pid);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write_all(fd, line, strlen(line)), 0);
	close(fd);
	free(path);
}

static void
remove_graders_cgroups(void)
{
	char *path = xstrfmt("%s/graders", stage);
	char *text = read_file(path, 1 << 20, NULL);
	for (char *line = text, *next; line && *line; line = next) {
		next = line + strcspn(line, "\n");
		if (*next)
			*next++ = '\0';
		char name[32];
		snprintf(name, sizeof name, "ipcgrader-%s", line);
		cgroup_walk(CGROUP_ROOT, name, 6, 1, NULL);
	}
	free(text);
	free(path);
}

/* ---- the grader as a child ------------------------------------------------ */

struct grader_run {
	char *dir;    /* per test: the log and TMPDIR */
	char *tmpdir; /* TMPDIR of the grader: empty, owned by its user */
	char *log;    /* its stdout and stderr */
	pid_t pid;
	int pidfd;
	int status, reaped;
};

/* Starts build/grader (the staged one) with args, as nobody if asked, in a
 * process group of its own (so SIGINT can go to the group, as from a
 * terminal), with a fresh TMPDIR, dying with this process if it dies. */
static void
grader_start(struct grader_run *g, int as_nobody, const char *const *args)
{
	memset(g, 0, sizeof *g);
	g->dir = xstrfmt("%s/run-XXXXXX", stage);
	ck_assert_ptr_nonnull(mkdtemp(g->dir));
	ck_assert_int_eq(chmod(g->dir, 0755), 0);
	g->tmpdir = xstrfmt("%s/tmp", g->dir);
	g->log = xstrfmt("%s/grader.log", g->dir);
	ck_assert_int_eq(mkdir(g->tmpdir, 0755), 0);
	if (as_nobody)
		ck_assert_int_eq(chown(g->tmpdir, NOBODY, NOBODY), 0);
	struct strvec argv = STRVEC_INIT, env = STRVEC_INIT;
	sv_pushf(&argv, "%s/build/grader", stage);
	for (const char *const *a = args; *a; a++)
		sv_push(&argv, *a);
	sv_pushf(&env, "PATH=%s", getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	sv_pushf(&env, "TMPDIR=%s", g->tmpdir);
	sv_pushf(&env, "IPCGRADER_ROOT=%s", stage);
	int logfd = open(g->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_int_ge(logfd, 0);
	fflush(NULL);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		static const char nobody_failed[] = "check_teardown: cannot become nobody\n";
		int nullfd = open("/dev/null", O_RDONLY);
		if (nullfd < 0 || dup2(nullfd, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0)
			_exit(126);
		syscall(SYS_close_range, 3U, ~0U, 0U);
		setpgid(0, 0);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		if (as_nobody && (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0)) {
			if (write(2, nobody_failed, sizeof nobody_failed - 1) < 0)
				_exit(126);
			_exit(126);
		}
		/* After the change of credentials, which clears it: a failed
		 * assertion here must not leave a grader running. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1)
			_exit(126);
		execve(argv.v[0], argv.v, env.v);
		_exit(127);
	}
	close(logfd);
	g->pid = pid;
	remember_grader(pid);
	g->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	ck_assert_msg(g->pidfd >= 0, "pidfd_open: %s", strerror(errno));
	sv_clear(&argv);
	sv_clear(&env);
}

static char *
grader_log(const struct grader_run *g)
{
	char *text = read_file(g->log, 6000, NULL);
	return text ? text : xstrdup("(no log)");
}

/* Waits at most ms for the grader to exit; returns the milliseconds it
 * took from t0_us, or -1. */
static int64_t
grader_wait(struct grader_run *g, int64_t t0_us, int ms)
{
	int64_t deadline = t0_us + (int64_t)ms * 1000;
	for (;;) {
		int64_t left = deadline - now_us();
		struct pollfd p = { g->pidfd, POLLIN, 0 };
		int r = left > 0 ? poll(&p, 1, (int)(left / 1000) + 1) : poll(&p, 1, 0);
		if (r > 0)
			break;
		if (r < 0 && errno != EINTR)
			ck_abort_msg("poll on the grader's pidfd: %s", strerror(errno));
		if (r == 0 && now_us() >= deadline)
			return -1;
	}
	int64_t took = (now_us() - t0_us) / 1000;
	if (!g->reaped) {
		ck_assert_int_eq(wait_retry(g->pid, &g->status, 0), g->pid);
		g->reaped = 1;
	}
	return took;
}

/* The entries of the grader's TMPDIR, or an empty string. */
static char *
tmpdir_entries(const struct grader_run *g)
{
	struct strbuf sb = STRBUF_INIT;
	sb_adds(&sb, "");
	DIR *d = opendir(g->tmpdir);
	struct dirent *e;
	if (!d)
		sb_addf(&sb, " (cannot open: %s)", strerror(errno));
	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			sb_addf(&sb, " %s", e->d_name);
	if (d)
		closedir(d);
	return sb_detach(&sb);
}

static void
grader_release(struct grader_run *g)
{
	if (!g->reaped) {
		kill(g->pid, SIGKILL);
		wait_retry(g->pid, &g->status, 0);
	}
	if (g->pidfd >= 0)
		close(g->pidfd);
	rm_rf(g->dir);
	free(g->dir);
	free(g->tmpdir);
	free(g->log);
}

static const char *
who_name(int as_nobody)
{
	return as_nobody ? "nobody" : geteuid() == 0 ? "root" : "the current user";
}

static void
describe_status(int st, char *buf, size_t len)
{
	struct exit_status es;
	exit_status_decode(st, &es);
	exit_status_describe(&es, buf, len);
}

/* ---- interrupting a test --------------------------------------------------- */

static const struct {
	int sig;
	const char *name;
	int to_group; /* as a terminal sends it */
	int as_nobody;
} interrupts[] = {
	/* 0-1: SIGKILL, timed to the millisecond: not under memcheck */
	{ SIGKILL, "SIGKILL", 0, 0 }, { SIGKILL, "SIGKILL", 0, 1 },
	{ SIGINT, "SIGINT", 1, 0 },   { SIGINT, "SIGINT", 1, 1 },
	{ SIGTERM, "SIGTERM", 0, 0 }, { SIGTERM, "SIGTERM", 0, 1 },
	{ SIGHUP, "SIGHUP", 0, 0 },   { SIGHUP, "SIGHUP", 0, 1 },
};
#define NKILL 2
#define NINTERRUPTS ((int)(sizeof interrupts / sizeof *interrupts))

/* Seeing the PID namespace of a process of another uid, or of the
 * non-dumpable init, takes CAP_SYS_PTRACE, which an ordinary user and a
 * container's root (Docker's default set) lack: there the sandbox cannot be
 * watched from outside. */
static int
can_watch_sandboxes(void)
{
	char *status = read_file("/proc/self/status", 1 << 16, NULL);
	const char *line = status ? strstr(status, "\nCapEff:") : NULL;
	unsigned long long caps = line ? strtoull(line + 8, NULL, 16) : 0;
	free(status);
	int ok = (caps & (1ULL << 19)) != 0; /* CAP_SYS_PTRACE */
	if (!ok)
		fprintf(stderr, "note: no CAP_SYS_PTRACE here (an ordinary user, a container's root): the mid-test cases are not run\n");
	return ok;
}

START_TEST(interrupted_mid_test)
{
	int sig = interrupts[_i].sig, as_nobody = interrupts[_i].as_nobody;
	if ((as_nobody && !nobody_passes_apply()) || !can_watch_sandboxes())
		return; /* nothing to drop (the current-user run covers it), or nothing to watch with */
	/* Orphans of the sandbox come to us, so that we see them die and
	 * reap them, whatever the machine's pid 1 does. */
	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	char *lab = xstrfmt("%s/labs/td-forever", stage), *sub = xstrfmt("%s/sub-forever", stage);
	const char *args[] = { "grade", lab, sub, "--test", "forever", NULL };
	struct grader_run g;
	grader_start(&g, as_nobody, args);

	struct sandbox_seen seen;
	int64_t t_start = now_us();
	int running = 0;
	while (!(running = sandbox_running(g.pid, &seen)) && now_us() - t_start < MID_TEST_DEADLINE_MS * 1000LL) {
		struct pollfd p = { g.pidfd, POLLIN, 0 };
		if (poll(&p, 1, 0) > 0)
			break; /* the grader ended: it never got there */
		tick();
	}
	if (!running) {
		char *log = grader_log(&g);
		ck_abort_msg("as %s: the student server never ran in a sandbox within %d ms; grader log:\n%s",
			     who_name(as_nobody), MID_TEST_DEADLINE_MS, log);
	}
	ck_assert_msg(seen.nns >= 2, "as %s: %d PID namespace(s) seen in the sandbox, expected the init's and the jail's",
		      who_name(as_nobody), seen.nns);
	ck_assert_msg(seen.init > 0, "as %s: no init (a child of the grader in a PID namespace of its own)",
		      who_name(as_nobody));
	seen.init_pidfd = (int)syscall(SYS_pidfd_open, seen.init, 0);
	ck_assert_msg(seen.init_pidfd >= 0, "pidfd_open of the init %d: %s", (int)seen.init, strerror(errno));

	int verbose = getenv("CK_VERBOSITY") && !strcmp(getenv("CK_VERBOSITY"), "verbose");
	const char *who = who_name(as_nobody), *sname = interrupts[_i].name;
	struct sandbox_end end;
	int64_t t0 = now_us();
	ck_assert_int_eq(kill(interrupts[_i].to_group ? -g.pid : g.pid, sig), 0);
	if (sig == SIGKILL) {
		watch_sandbox_end(&seen, t0, g.pid, &g.status, &g.reaped, &end);
		char *cgroups = cgroup_leftovers(g.pid);
		if (verbose)
			printf("teardown: kill -9 as %s: %d processes in %d PID namespaces gone %.2f ms after the kill (%s); cgroups left:%s\n",
			       who, seen.nprocs, seen.nns, end.gone_us / 1000.0, end.alive_text,
			       *cgroups ? cgroups : " none");
		free(cgroups);
		ck_assert_msg(end.gone_us >= 0, "as %s: %d ms after kill -9 of the grader, sandbox processes were still alive:%s",
			      who, OBSERVE_US / 1000, end.left);
		ck_assert_msg(end.gone_us <= KILL_BOUND_US,
			      "as %s: the sandbox (%d processes, init %d) took %.2f ms to die after kill -9 of the grader (%s), more than %d ms",
			      who, seen.nprocs, (int)seen.init, end.gone_us / 1000.0, end.alive_text,
			      KILL_BOUND_US / 1000);
	} else {
		char status_text[128] = "";
		int64_t took_ms = grader_wait(&g, t0, 10 * SIGNAL_BOUND_MS);
		char *log = grader_log(&g);
		if (took_ms >= 0)
			describe_status(g.status, status_text, sizeof status_text);
		ck_assert_msg(took_ms >= 0, "as %s: the grader was still running %d ms after %s; log:\n%s", who,
			      10 * SIGNAL_BOUND_MS, sname, log);
		ck_assert_msg(WIFSIGNALED(g.status) && WTERMSIG(g.status) == sig,
			      "as %s: after %s the grader %s, not killed by that signal; log:\n%s", who, sname,
			      status_text, log);
		ck_assert_msg(took_ms <= SIGNAL_BOUND_MS, "as %s: the grader took %lld ms to die of %s, more than %d ms", who,
			      (long long)took_ms, sname, SIGNAL_BOUND_MS);
		free(log);
		watch_sandbox_end(&seen, now_us(), g.pid, &g.status, &g.reaped, &end);
		if (verbose)
			printf("teardown: %s as %s: grader dead of it %lld ms after it; sandbox gone %.2f ms after that (%s)\n",
			       sname, who, (long long)took_ms, end.gone_us / 1000.0, end.alive_text);
		ck_assert_msg(end.gone_us >= 0, "as %s: %d ms after the grader died of %s, sandbox processes were alive:%s",
			      who, OBSERVE_US / 1000, sname, end.left);
		ck_assert_msg(end.gone_us <= KILL_BOUND_US,
			      "as %s: the sandbox outlived the grader (dead of %s) by %.2f ms (%s), more than %d ms",
			      who, sname, end.gone_us / 1000.0, end.alive_text, KILL_BOUND_US / 1000);
		char *entries = tmpdir_entries(&g);
		ck_assert_msg(!*entries, "as %s: after %s the grader's TMPDIR %s still holds:%s", who, sname, g.tmpdir,
			      entries);
		free(entries);
		char *cgroups = cgroup_leftovers(g.pid);
		ck_assert_msg(!*cgroups, "as %s: after %s the grader (pid %d) left its cgroup folders:%s", who, sname,
			      (int)g.pid, cgroups);
		free(cgroups);
	}
	close(seen.init_pidfd);
	grader_release(&g);
	free(lab);
	free(sub);
}
END_TEST

/* ---- normal ends ----------------------------------------------------------- */

static const struct {
	const char *what;
	const char *sub;
	int exit_code;
	int as_nobody;
} normal_ends[] = {
	{ "a normal run", "sub-forever", 0, 0 },
	{ "a normal run", "sub-forever", 0, 1 },
	{ "a build failure", "sub-broken", 1, 0 },
	{ "a build failure", "sub-broken", 1, 1 },
};

START_TEST(scratch_removed_after_normal_end)
{
	int as_nobody = normal_ends[_i].as_nobody;
	if (as_nobody && !nobody_passes_apply())
		return;
	char *lab = xstrfmt("%s/labs/td-forever", stage), *sub = xstrfmt("%s/%s", stage, normal_ends[_i].sub);
	const char *args[] = { "grade", lab, sub, "--test", "quick", NULL };
	struct grader_run g;
	grader_start(&g, as_nobody, args);
	int64_t took = grader_wait(&g, now_us(), RUN_DEADLINE_MS);
	char *log = grader_log(&g), status_text[128] = "";
	if (took >= 0)
		describe_status(g.status, status_text, sizeof status_text);
	ck_assert_msg(took >= 0, "as %s: %s did not end within %d ms; log:\n%s", who_name(as_nobody),
		      normal_ends[_i].what, RUN_DEADLINE_MS, log);
	ck_assert_msg(WIFEXITED(g.status) && WEXITSTATUS(g.status) == normal_ends[_i].exit_code,
		      "as %s: %s: the grader %s, expected exit status %d; log:\n%s", who_name(as_nobody),
		      normal_ends[_i].what, status_text, normal_ends[_i].exit_code, log);
	char *entries = tmpdir_entries(&g);
	ck_assert_msg(!*entries, "as %s: after %s the grader's TMPDIR %s still holds:%s", who_name(as_nobody),
		      normal_ends[_i].what, g.tmpdir, entries);
	free(entries);
	char *cgroups = cgroup_leftovers(g.pid);
	ck_assert_msg(!*cgroups, "as %s: after %s the grader (pid %d) left its cgroup folders:%s", who_name(as_nobody),
		      normal_ends[_i].what, (int)g.pid, cgroups);
	free(cgroups);
	free(log);
	grader_release(&g);
	free(lab);
	free(sub);
}
END_TEST

static Suite *
teardown_suite(void)
{
	Suite *s = suite_create("teardown");
	/* Millisecond timing of a kill: meaningless under Valgrind, so
	 * `make valgrind` leaves this case out by its tag. */
	TCase *kill9 = tcase_create("kill-9");
	tcase_set_tags(kill9, "no-memcheck");
	tcase_add_unchecked_fixture(kill9, stage_grader, unstage_grader);
	tcase_set_timeout(kill9, 90);
	tcase_add_loop_test(kill9, interrupted_mid_test, 0, NKILL);
	suite_add_tcase(s, kill9);
	TCase *intr = tcase_create("interrupt");
	tcase_add_unchecked_fixture(intr, stage_grader, unstage_grader);
	tcase_set_timeout(intr, 90);
	tcase_add_loop_test(intr, interrupted_mid_test, NKILL, NINTERRUPTS);
	suite_add_tcase(s, intr);
	TCase *ends = tcase_create("normal-ends");
	tcase_add_unchecked_fixture(ends, stage_grader, unstage_grader);
	tcase_set_timeout(ends, 90);
	tcase_add_loop_test(ends, scratch_removed_after_normal_end, 0,
			    (int)(sizeof normal_ends / sizeof *normal_ends));
	suite_add_tcase(s, ends);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(teardown_suite());
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
