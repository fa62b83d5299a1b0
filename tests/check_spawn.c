/* The one spawning path: child_start() and child_run() on real programs
 * (/bin/sh, /bin/cat), the wait-status decoding every verdict rests on,
 * wait_retry() under a signal, and find_in_path().
 *
 * Every test reaps every child it made: in CK_FORK=no mode (make valgrind)
 * they all share one process. */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <poll.h>
#include <unistd.h>

#include "capture.h"
#include "spawn.h"
#include "util.h"

static char *const env[] = { "PATH=/usr/bin:/bin", "LC_ALL=C", NULL };

/* Valgrind (make valgrind) keeps RLIMIT_NOFILE to itself: a child it forks
 * does not really get the limit set before exec. */
static int
under_valgrind(void)
{
	const char *p = getenv("LD_PRELOAD");
	return p && strstr(p, "vgpreload");
}

static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	ck_assert_ptr_nonnull(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the one opendir() holds */
}

/* Reads the child's pipes to their end, closes them, and reaps it. */
static int
finish(struct child *c, struct strbuf *out, struct strbuf *err)
{
	while (c->out_fd >= 0 || c->err_fd >= 0) {
		struct pollfd p[2] = { { c->out_fd, POLLIN, 0 }, { c->err_fd, POLLIN, 0 } };
		int r = poll(p, 2, -1);
		if (r < 0 && errno == EINTR)
			continue;
		ck_assert_int_gt(r, 0);
		for (int i = 0; i < 2; i++) {
			int *fd = i ? &c->err_fd : &c->out_fd;
			if (*fd < 0 || !p[i].revents)
				continue;
			char buf[4096];
			ssize_t n = read(*fd, buf, sizeof buf);
			if (n > 0) {
				sb_add(i ? err : out, buf, (size_t)n);
			} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
				close(*fd);
				*fd = -1;
			}
		}
	}
	int ws;
	ck_assert_int_eq(wait_retry(c->pid, &ws, 0), c->pid);
	return ws;
}

/* Runs argv to the end; returns its decoded status. */
static struct exit_status
run_to_end(struct child *c, struct strbuf *out, struct strbuf *err)
{
	char msg[256] = "";
	ck_assert_msg(child_start(c, msg, sizeof msg) == 0, "child_start: %s", msg);
	ck_assert_int_gt(c->pid, 0);
	struct exit_status st;
	exit_status_decode(finish(c, out, err), &st);
	return st;
}

static void
no_children_left(void)
{
	errno = 0;
	ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
	ck_assert_int_eq(errno, ECHILD);
}

START_TEST(exit_zero)
{
	char *argv[] = { "/bin/true", NULL };
	struct child c = { .argv = argv, .envp = env };
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
	struct exit_status st = run_to_end(&c, &out, &err);
	ck_assert_int_eq(st.how, EXIT_CODE);
	ck_assert_int_eq(st.code, 0);
	ck_assert_uint_eq(out.len + err.len, 0);
	no_children_left();
	sb_release(&out);
	sb_release(&err);
}
END_TEST

START_TEST(exit_three)
{
	char *argv[] = { "/bin/sh", "-c", "exit 3", NULL };
	struct child c = { .argv = argv, .envp = env };
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
	struct exit_status st = run_to_end(&c, &out, &err);
	ck_assert_int_eq(st.how, EXIT_CODE);
	ck_assert_int_eq(st.code, 3);
	char desc[128];
	exit_status_describe(&st, desc, sizeof desc);
	ck_assert_str_eq(desc, "exited with status 3");
	no_children_left();
	sb_release(&out);
	sb_release(&err);
}
END_TEST

START_TEST(killed_by_sigsegv)
{
	char *argv[] = { "/bin/sh", "-c", "kill -SEGV $$", NULL };
	struct child c = { .argv = argv, .envp = env };
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
	struct exit_status st = run_to_end(&c, &out, &err);
	ck_assert_int_eq(st.how, EXIT_SIGNAL);
	ck_assert_int_eq(st.signal, SIGSEGV);
	char desc[128];
	exit_status_describe(&st, desc, sizeof desc);
	ck_assert_str_eq(desc, "was killed by signal SIGSEGV (segmentation fault)");
	sb_release(&out);
	sb_release(&err);
	no_children_left();
}
END_TEST

static char tmpdir[64];

static void
make_tmpdir(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/check-spawn-XXXXXX");
	if (!mkdtemp(tmpdir))
		abort();
}

static void
remove_tmpdir(void)
{
	rm_rf(tmpdir);
}

static void
touch(const char *dir, const char *name, int mode)
{
	char *p = xstrfmt("%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(chmod(p, mode), 0);
	free(p);
}

/* A program that cannot be executed: a message naming it, no child left
 * behind (not even a zombie), no descriptor leaked. */
static const struct exec_case {
	const char *name; /* in tmpdir, made with mode; or an absolute path */
	int mode;
	int err;
} exec_cases[] = {
	{ "/nonexistent/grader-test-program", 0, ENOENT },
	{ "not-executable", 0644, EACCES },
	{ "garbage", 0755, ENOEXEC },
	{ "/tmp", 0, EACCES }, /* a directory */
};

START_TEST(exec_fails)
{
	const struct exec_case *x = &exec_cases[_i];
	char *path = x->name[0] == '/' ? xstrdup(x->name) : xstrfmt("%s/%s", tmpdir, x->name);
	if (x->mode) {
		touch(tmpdir, x->name, x->mode);
		int fd = open(path, O_WRONLY);
		ck_assert_int_eq(write_all(fd, "\x01\x02garbage", 9), 0);
		close(fd);
	}
	char *argv[] = { path, NULL };
	struct child c = { .argv = argv, .envp = env };
	int fds = count_fds();
	char msg[256] = "";
	ck_assert_int_eq(child_start(&c, msg, sizeof msg), -1);
	char *want = xstrfmt("cannot run \"%s\": %s", path, strerror(x->err));
	ck_assert_str_eq(msg, want);
	free(want);
	free(path);
	ck_assert_int_eq(c.pid, -1);
	ck_assert_int_eq(c.out_fd, -1);
	ck_assert_int_eq(c.err_fd, -1);
	ck_assert_int_eq(count_fds(), fds);
	no_children_left();
}
END_TEST

START_TEST(stdin_reaches_child)
{
	static const char data[] = "hello\0world\n"; /* a NUL too */
	char *argv[] = { "/bin/cat", NULL };
	struct child c = { .argv = argv, .envp = env, .stdin_data = data, .stdin_len = sizeof data - 1 };
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
	struct exit_status st = run_to_end(&c, &out, &err);
	ck_assert_int_eq(st.how, EXIT_CODE);
	ck_assert_int_eq(st.code, 0);
	ck_assert_uint_eq(out.len, sizeof data - 1);
	ck_assert_mem_eq(out.buf, data, sizeof data - 1);
	sb_release(&out);
	sb_release(&err);
}
END_TEST

/* 60000 bytes is the documented maximum; one more is refused up front. */
START_TEST(stdin_limit)
{
	size_t n = 60000;
	char *data = xmalloc(n + 1);
	for (size_t i = 0; i <= n; i++)
		data[i] = (char)('a' + i % 26);
	char *argv[] = { "/bin/cat", NULL };
	struct child c = { .argv = argv, .envp = env, .stdin_data = data, .stdin_len = n };
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
	struct exit_status st = run_to_end(&c, &out, &err);
	ck_assert_int_eq(st.code, 0);
	ck_assert_uint_eq(out.len, n);
	ck_assert_mem_eq(out.buf, data, n);

	struct child big = { .argv = argv, .envp = env, .stdin_data = data, .stdin_len = n + 1 };
	char msg[256] = "";
	int fds = count_fds();
	ck_assert_int_eq(child_start(&big, msg, sizeof msg), -1);
	ck_assert_str_eq(msg, "stdin of 60001 bytes is over the 60000-byte limit");
	ck_assert_int_eq(count_fds(), fds);
	no_children_left();
	free(data);
	sb_release(&out);
	sb_release(&err);
}
END_TEST

/* Without stdin data the child reads /dev/null: EOF at once. */
START_TEST(stdin_empty)
{
	char *argv[] = { "/bin/cat", NULL };
	struct child c = { .argv = argv, .envp = env };
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
	struct exit_status st = run_to_end(&c, &out, &err);
	ck_assert_int_eq(st.how, EXIT_CODE);
	ck_assert_int_eq(st.code, 0);
	ck_assert_uint_eq(out.len, 0);
	sb_release(&out);
	sb_release(&err);
}
END_TEST

START_TEST(stderr_separate)
{
	char *argv[] = { "/bin/sh", "-c", "echo out; echo err >&2; echo out2", NULL };
	struct child c = { .argv = argv, .envp = env };
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
	run_to_end(&c, &out, &err);
	ck_assert_str_eq(out.buf, "out\nout2\n");
	ck_assert_str_eq(err.buf, "err\n");
	sb_release(&out);
	sb_release(&err);
}
END_TEST

START_TEST(stderr_merged)
{
	char *argv[] = { "/bin/sh", "-c", "echo out; echo err >&2; echo out2", NULL };
	struct child c = { .argv = argv, .envp = env, .merge_stderr = 1 };
	char msg[256] = "";
	ck_assert_msg(child_start(&c, msg, sizeof msg) == 0, "%s", msg);
	ck_assert_int_eq(c.err_fd, -1);
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
	finish(&c, &out, &err);
	ck_assert_str_eq(out.buf, "out\nerr\nout2\n");
	ck_assert_uint_eq(err.len, 0);
	sb_release(&out);
	sb_release(&err);
}
END_TEST

START_TEST(cwd_and_env)
{
	char *argv[] = { "/bin/sh", "-c", "pwd; echo \"$GREETING\"", NULL };
	char *envp[] = { "GREETING=hello there", NULL };
	struct child c = { .argv = argv, .envp = envp, .cwd = "/tmp" };
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
	run_to_end(&c, &out, &err);
	ck_assert_str_eq(out.buf, "/tmp\nhello there\n");
	sb_release(&out);
	sb_release(&err);
}
END_TEST

/* The child starts clean: no signal blocked or ignored because the grader
 * had it so, no descriptor of the grader's but 0, 1 and 2. */
START_TEST(child_starts_clean)
{
	int leak = open("/dev/null", O_RDONLY); /* deliberately without O_CLOEXEC */
	ck_assert_int_ge(leak, 3);
	struct sigaction ign = { .sa_handler = SIG_IGN }, old_pipe;
	sigaction(SIGPIPE, &ign, &old_pipe);
	sigset_t usr1, old_mask;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, &old_mask);

	char *argv[] = { "/bin/sh", "-c",
			 "grep -E '^Sig(Blk|Ign):' /proc/self/status; cd /proc/self/fd && echo *", NULL };
	struct child c = { .argv = argv, .envp = env };
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
	run_to_end(&c, &out, &err);

	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	sigaction(SIGPIPE, &old_pipe, NULL);
	close(leak);
	/* grep's own mask and dispositions are inherited through exec.  Only
	 * the standard signals count: glibc keeps 32 and 33 to itself (make,
	 * for one, starts its commands with them ignored) */
	const char *blk = strstr(out.buf, "SigBlk:\t"), *ignored = strstr(out.buf, "SigIgn:\t");
	ck_assert_msg(blk && ignored, "%s", out.buf);
	ck_assert_msg((strtoull(blk + 8, NULL, 16) & 0x7fffffffu) == 0, "%s", out.buf);
	ck_assert_msg((strtoull(ignored + 8, NULL, 16) & 0x7fffffffu) == 0, "%s", out.buf);
	/* 0 1 2, and 3: the directory the shell's glob is reading */
	ck_assert_msg(strlen(out.buf) > 9 && !strcmp(out.buf + strlen(out.buf) - 9, "\n0 1 2 3\n"), "%s", out.buf);
	sb_release(&out);
	sb_release(&err);
}
END_TEST

/* ---- limits ---------------------------------------------------------- */

static const struct limit_case {
	const char *name;
	struct child_limits limits;
	const char *row;        /* the line of /proc/PID/limits */
	const char *soft, *hard;
} limit_cases[] = {
	{ "open files", { .open_files = 37 }, "Max open files", "37", "37" },
	{ "cpu time, rounded up to seconds; hard one second later", { .cpu_ms = 1500 }, "Max cpu time", "2", "3" },
	{ "cpu time, 1 ms", { .cpu_ms = 1 }, "Max cpu time", "1", "2" },
	{ "address space", { .memory_mb = 64 }, "Max address space", "67108864", "67108864" },
	{ "file size", { .file_size_kb = 8 }, "Max file size", "8192", "8192" },
	{ "processes", { .processes = 50 }, "Max processes", "50", "50" },
	{ "never a core file", { 0 }, "Max core file size", "0", "0" },
};

START_TEST(limits_applied)
{
	const struct limit_case *l = &limit_cases[_i];
	if (l->limits.open_files && under_valgrind())
		return;
	char *argv[] = { "/bin/cat", "/proc/self/limits", NULL };
	struct child c = { .argv = argv, .envp = env, .limits = l->limits };
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
	struct exit_status st = run_to_end(&c, &out, &err);
	ck_assert_int_eq(st.code, 0);
	const char *row = strstr(out.buf, l->row);
	ck_assert_msg(row != NULL, "no \"%s\" in:\n%s", l->row, out.buf);
	char soft[32], hard[32];
	ck_assert_int_eq(sscanf(row + strlen(l->row), "%31s %31s", soft, hard), 2);
	ck_assert_str_eq(soft, l->soft);
	ck_assert_str_eq(hard, l->hard);
	sb_release(&out);
	sb_release(&err);
}
END_TEST

START_TEST(ulimit_n)
{
	if (under_valgrind())
		return;
	char *argv[] = { "/bin/sh", "-c", "ulimit -n", NULL };
	struct child c = { .argv = argv, .envp = env, .limits = { .open_files = 42 } };
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
	run_to_end(&c, &out, &err);
	ck_assert_str_eq(out.buf, "42\n");
	sb_release(&out);
	sb_release(&err);
}
END_TEST

/* ---- child_run ------------------------------------------------------- */

START_TEST(run_captures_and_decodes)
{
	char *argv[] = { "/bin/sh", "-c", "echo to-out; echo to-err >&2; exit 2", NULL };
	struct child c = { .argv = argv, .envp = env };
	struct capture out;
	capture_init(&out, 4096);
	struct exit_status st;
	int timed_out = -1;
	char msg[256] = "";
	ck_assert_msg(child_run(&c, 10000, &out, &st, &timed_out, msg, sizeof msg) == 0, "%s", msg);
	ck_assert_int_eq(timed_out, 0);
	ck_assert_int_eq(st.how, EXIT_CODE);
	ck_assert_int_eq(st.code, 2);
	char *b = capture_bytes(&out, 0, NULL);
	ck_assert_str_eq(b, "to-out\nto-err\n");
	free(b);
	capture_release(&out);
	no_children_left();
}
END_TEST

/* A flood is capped by the capture, and counted. */
START_TEST(run_output_capped)
{
	char *argv[] = { "/bin/sh", "-c", "i=0; while [ $i -lt 2000 ]; do echo 0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz; i=$((i+1)); done; echo END", NULL };
	struct child c = { .argv = argv, .envp = env };
	struct capture out;
	capture_init(&out, 1000);
	struct exit_status st;
	int timed_out;
	char msg[256] = "";
	ck_assert_msg(child_run(&c, 20000, &out, &st, &timed_out, msg, sizeof msg) == 0, "%s", msg);
	ck_assert_int_eq(timed_out, 0);
	ck_assert_uint_eq(out.total, 2000 * 109 + 4);
	ck_assert_int_eq(capture_truncated(&out), 1);
	size_t len;
	char *b = capture_bytes(&out, 0, &len);
	ck_assert_uint_eq(len, 1000);
	ck_assert_str_eq(b + len - 5, "\nEND\n");
	free(b);
	capture_release(&out);
}
END_TEST

START_TEST(run_missing_program)
{
	char *argv[] = { "/nonexistent/cc", NULL };
	struct child c = { .argv = argv, .envp = env };
	struct capture out;
	capture_init(&out, 100);
	struct exit_status st;
	int timed_out;
	char msg[256] = "";
	ck_assert_int_eq(child_run(&c, 1000, &out, &st, &timed_out, msg, sizeof msg), -1);
	ck_assert_str_eq(msg, "cannot run \"/nonexistent/cc\": No such file or directory");
	capture_release(&out);
	no_children_left();
}
END_TEST

START_TEST(run_timeout)
{
	char *argv[] = { "/bin/sleep", "30", NULL };
	struct child c = { .argv = argv, .envp = env };
	struct capture out;
	capture_init(&out, 100);
	struct exit_status st;
	int timed_out = 0;
	char msg[256] = "";
	int64_t t0 = now_ms();
	ck_assert_msg(child_run(&c, 200, &out, &st, &timed_out, msg, sizeof msg) == 0, "%s", msg);
	int64_t took = now_ms() - t0;
	ck_assert_int_eq(timed_out, 1);
	ck_assert_int_eq(st.how, EXIT_SIGNAL);
	ck_assert_int_eq(st.signal, SIGKILL);
	ck_assert_int_ge(took, 200);
	ck_assert_int_lt(took, 10000); /* not the 30 s of sleep */
	capture_release(&out);
	no_children_left();
}
END_TEST

/* The timeout kills the child's whole process group: a grandchild in the
 * background goes too.  We become a subreaper so that the orphaned
 * grandchild is ours to reap and its death can be seen. */
START_TEST(run_timeout_kills_group)
{
	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	char *argv[] = { "/bin/sh", "-c", "sleep 30 & echo $!; wait", NULL };
	struct child c = { .argv = argv, .envp = env };
	struct capture out;
	capture_init(&out, 100);
	struct exit_status st;
	int timed_out = 0;
	char msg[256] = "";
	ck_assert_msg(child_run(&c, 500, &out, &st, &timed_out, msg, sizeof msg) == 0, "%s", msg);
	ck_assert_int_eq(timed_out, 1);
	ck_assert_int_eq(st.how, EXIT_SIGNAL);
	char *b = capture_bytes(&out, 0, NULL);
	char *end;
	long grandchild = strtol(b, &end, 10);
	ck_assert_msg(grandchild > 0 && *end == '\n', "no pid printed: \"%s\"", b);
	free(b);
	capture_release(&out);
	/* if the grandchild had survived, this would wait 30 s: the test's
	 * timeout would fail it */
	int ws;
	ck_assert_int_eq(wait_retry((pid_t)grandchild, &ws, 0), grandchild);
	ck_assert(WIFSIGNALED(ws));
	ck_assert_int_eq(WTERMSIG(ws), SIGKILL);
	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 0), 0);
	no_children_left();
}
END_TEST

/* ---- wait statuses --------------------------------------------------- */

static const struct status_case {
	const char *name;
	int wstatus;
	int how, code, signal, core;
	const char *description;
} statuses[] = {
	{ "exit 0", W_EXITCODE(0, 0), EXIT_CODE, 0, 0, 0, "exited with status 0" },
	{ "exit 1", W_EXITCODE(1, 0), EXIT_CODE, 1, 0, 0, "exited with status 1" },
	{ "exit 3", W_EXITCODE(3, 0), EXIT_CODE, 3, 0, 0, "exited with status 3" },
	{ "exit 127", W_EXITCODE(127, 0), EXIT_CODE, 127, 0, 0, "exited with status 127" },
	{ "exit 255", W_EXITCODE(255, 0), EXIT_CODE, 255, 0, 0, "exited with status 255" },
	{ "SIGSEGV", W_EXITCODE(0, SIGSEGV), EXIT_SIGNAL, 0, SIGSEGV, 0,
	  "was killed by signal SIGSEGV (segmentation fault)" },
	{ "SIGSEGV, core dumped", W_EXITCODE(0, SIGSEGV) | WCOREFLAG, EXIT_SIGNAL, 0, SIGSEGV, 1,
	  "was killed by signal SIGSEGV (segmentation fault)" },
	{ "SIGKILL", W_EXITCODE(0, SIGKILL), EXIT_SIGNAL, 0, SIGKILL, 0, "was killed by signal SIGKILL (killed)" },
	{ "SIGTERM", W_EXITCODE(0, SIGTERM), EXIT_SIGNAL, 0, SIGTERM, 0, "was killed by signal SIGTERM (terminated)" },
	{ "SIGPIPE", W_EXITCODE(0, SIGPIPE), EXIT_SIGNAL, 0, SIGPIPE, 0, "was killed by signal SIGPIPE (broken pipe)" },
	{ "SIGABRT", W_EXITCODE(0, SIGABRT) | WCOREFLAG, EXIT_SIGNAL, 0, SIGABRT, 1,
	  "was killed by signal SIGABRT (aborted)" },
	{ "SIGFPE", W_EXITCODE(0, SIGFPE), EXIT_SIGNAL, 0, SIGFPE, 0,
	  "was killed by signal SIGFPE (floating point exception)" },
	{ "SIGBUS", W_EXITCODE(0, SIGBUS), EXIT_SIGNAL, 0, SIGBUS, 0, "was killed by signal SIGBUS (bus error)" },
	{ "SIGXFSZ", W_EXITCODE(0, SIGXFSZ), EXIT_SIGNAL, 0, SIGXFSZ, 0,
	  "was killed by signal SIGXFSZ (file size limit exceeded)" },
	/* what a process over its cpu_ms gets first: "CPU" keeps its capitals */
	{ "SIGXCPU", W_EXITCODE(0, SIGXCPU), EXIT_SIGNAL, 0, SIGXCPU, 0,
	  "was killed by signal SIGXCPU (CPU time limit exceeded)" },
	{ "stopped", W_STOPCODE(SIGSTOP), EXIT_RUNNING, 0, 0, 0, "is still running" },
	{ "continued", 0xffff, EXIT_RUNNING, 0, 0, 0, "is still running" },
};

START_TEST(decode_table)
{
	const struct status_case *s = &statuses[_i];
	struct exit_status st;
	memset(&st, 0x5a, sizeof st); /* decode must set every field */
	exit_status_decode(s->wstatus, &st);
	ck_assert_msg((int)st.how == s->how, "%s: how %d", s->name, st.how);
	ck_assert_int_eq(st.code, s->code);
	ck_assert_int_eq(st.signal, s->signal);
	ck_assert_int_eq(!!st.core, s->core);
	char desc[128];
	exit_status_describe(&st, desc, sizeof desc);
	ck_assert_str_eq(desc, s->description);
}
END_TEST

/* A buffer too small for the description gets a truncated one; the call
 * must not crash.  Run in a child of our own so that a crash is a failure
 * of this test even in CK_FORK=no mode. */
START_TEST(describe_small_buffer)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct exit_status st = { .how = EXIT_SIGNAL, .signal = SIGSEGV };
		char buf[16];
		exit_status_describe(&st, buf, sizeof buf);
		_exit(strcmp(buf, "was killed by s") == 0 ? 0 : 1);
	}
	int ws;
	ck_assert_int_eq(wait_retry(pid, &ws, 0), pid);
	ck_assert_msg(WIFEXITED(ws), "exit_status_describe() with a 16-byte buffer died of signal %d",
		      WIFSIGNALED(ws) ? WTERMSIG(ws) : 0);
	ck_assert_msg(WEXITSTATUS(ws) == 0, "the description is not the truncated one");
}
END_TEST

/* ---- wait_retry ------------------------------------------------------ */

static volatile sig_atomic_t alarms;
static volatile pid_t victim;

static void
on_alarm(int sig)
{
	(void)sig;
	alarms++;
	kill(victim, SIGTERM);
}

/* The child (sleep 30) can only end when the SIGALRM handler kills it, so
 * the signal arrives while we wait: waitpid() fails with EINTR (no
 * SA_RESTART) and wait_retry() must wait again. */
START_TEST(wait_retry_survives_eintr)
{
	char *argv[] = { "/bin/sleep", "30", NULL };
	struct child c = { .argv = argv, .envp = env };
	char msg[256] = "";
	ck_assert_msg(child_start(&c, msg, sizeof msg) == 0, "%s", msg);
	alarms = 0;
	victim = c.pid;
	struct sigaction sa = { .sa_handler = on_alarm }, old;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART */
	sigaction(SIGALRM, &sa, &old);
	struct itimerval it = { { 0, 0 }, { 0, 100000 } };
	ck_assert_int_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
	int ws;
	pid_t r = wait_retry(c.pid, &ws, 0);
	sigaction(SIGALRM, &old, NULL);
	ck_assert_int_eq(r, c.pid);
	ck_assert_int_eq(alarms, 1);
	ck_assert(WIFSIGNALED(ws));
	ck_assert_int_eq(WTERMSIG(ws), SIGTERM);
	close(c.out_fd);
	close(c.err_fd);
	no_children_left();
}
END_TEST

START_TEST(wait_retry_nohang)
{
	int ws;
	errno = 0;
	ck_assert_int_eq(wait_retry(-1, &ws, WNOHANG), -1);
	ck_assert_int_eq(errno, ECHILD);
}
END_TEST

/* ---- find_in_path ---------------------------------------------------- */

START_TEST(find_in_path_cases)
{
	char *a = xstrfmt("%s/a", tmpdir), *b = xstrfmt("%s/b", tmpdir);
	ck_assert_int_eq(mkdir_p(a), 0);
	ck_assert_int_eq(mkdir_p(b), 0);
	touch(a, "prog", 0644); /* not executable: skipped */
	touch(b, "prog", 0755);
	touch(a, "first", 0755);
	touch(b, "first", 0755);
	char *saved = getenv("PATH") ? xstrdup(getenv("PATH")) : NULL;
	char *path = xstrfmt("/nonexistent:%s:%s", a, b);
	setenv("PATH", path, 1);

	char *p = find_in_path("prog"), *want = xstrfmt("%s/prog", b);
	ck_assert_str_eq(p, want);
	free(p);
	free(want);
	p = find_in_path("first");
	want = xstrfmt("%s/first", a);
	ck_assert_str_eq(p, want);
	free(p);
	free(want);
	ck_assert_ptr_null(find_in_path("no-such-program-anywhere"));
	/* a name with a slash is taken as it is */
	p = find_in_path("/bin/sh");
	ck_assert_str_eq(p, "/bin/sh");
	free(p);
	ck_assert_ptr_null(find_in_path("/nonexistent/sh"));
	ck_assert_ptr_null(find_in_path(want = xstrfmt("%s/prog", a)));
	free(want);

	if (saved)
		setenv("PATH", saved, 1);
	else
		unsetenv("PATH");
	/* the real PATH finds the shell */
	p = find_in_path("sh");
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(access(p, X_OK), 0);
	free(p);
	free(saved);
	free(path);
	free(a);
	free(b);
}
END_TEST

static Suite *
spawn_suite(void)
{
	Suite *s = suite_create("spawn");
	TCase *tc = tcase_create("child_start");
	tcase_add_unchecked_fixture(tc, make_tmpdir, remove_tmpdir);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, exit_zero);
	tcase_add_test(tc, exit_three);
	tcase_add_test(tc, killed_by_sigsegv);
	tcase_add_loop_test(tc, exec_fails, 0, sizeof exec_cases / sizeof *exec_cases);
	tcase_add_test(tc, stdin_reaches_child);
	tcase_add_test(tc, stdin_limit);
	tcase_add_test(tc, stdin_empty);
	tcase_add_test(tc, stderr_separate);
	tcase_add_test(tc, stderr_merged);
	tcase_add_test(tc, cwd_and_env);
	tcase_add_test(tc, child_starts_clean);
	tcase_add_loop_test(tc, limits_applied, 0, sizeof limit_cases / sizeof *limit_cases);
	tcase_add_test(tc, ulimit_n);
	suite_add_tcase(s, tc);

	tc = tcase_create("child_run");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, run_captures_and_decodes);
	tcase_add_test(tc, run_output_capped);
	tcase_add_test(tc, run_missing_program);
	tcase_add_test(tc, run_timeout);
	tcase_add_test(tc, run_timeout_kills_group);
	suite_add_tcase(s, tc);

	tc = tcase_create("status");
	tcase_set_timeout(tc, 20);
	tcase_add_loop_test(tc, decode_table, 0, sizeof statuses / sizeof *statuses);
	tcase_add_test(tc, describe_small_buffer);
	tcase_add_test(tc, wait_retry_survives_eintr);
	tcase_add_test(tc, wait_retry_nohang);
	suite_add_tcase(s, tc);

	tc = tcase_create("find_in_path");
	tcase_add_unchecked_fixture(tc, make_tmpdir, remove_tmpdir);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, find_in_path_cases);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(spawn_suite());
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
