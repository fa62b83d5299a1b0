/* cgroup: the probe says what this machine offers (and why not, as an
 * ordinary user), a test group's memory limit ends a malloc hog and a
 * POSIX shm hog, its pids limit stops a fork loop, the kernel's counters
 * show which limit bit, and destroy / release leave nothing behind.
 *
 * The group tests need root (or a delegated cgroup v2); as an ordinary
 * user without one they only check that the probe degrades with a reason. */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "util.h"

#define MB (1024L * 1024L)

/* Probed once per test case in the runner process (an unchecked fixture),
 * so that the release in the teardown also clears what a failed test left. */
static struct cgroup_env env;

static void
probe_env(void)
{
	cgroup_env_probe(&env);
}

static void
release_env(void)
{
	cgroup_env_release(&env);
}

/* Root has groups to make unless the machine mounted the hierarchies
 * read-only (a container without --privileged or a writable cgroupns). */
static int
root_has_cgroups(void)
{
	static const char *const mounts[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids" };
	struct statvfs sv;
	if (geteuid() != 0)
		return 0;
	for (size_t i = 0; i < sizeof mounts / sizeof *mounts; i++)
		if (statvfs(mounts[i], &sv) == 0 && (sv.f_flag & ST_RDONLY))
			return 0;
	return 1;
}

/* Whether this run may make groups; without root (or with the hierarchies
 * read-only) and no delegation the limit tests have nothing to test: the
 * probe tests check that the reason is given. */
static int
usable(void)
{
	if (env.kind == CGROUP_NONE && !root_has_cgroups()) {
		fprintf(stderr, "check_cgroup: no cgroups here (%s): limit test skipped\n", env.detail);
		return 0;
	}
	ck_assert_msg(env.kind != CGROUP_NONE, "probe as root: %s", env.detail);
	return 1;
}

static int
gone(const char *path)
{
	struct stat st;
	return stat(path, &st) < 0 && errno == ENOENT;
}

static int
wait_for(pid_t pid)
{
	int status;
	while (waitpid(pid, &status, 0) < 0)
		ck_assert_int_eq(errno, EINTR);
	return status;
}

typedef void (*child_fn)(int report_fd);

/* Forks a child that runs body only after it is in the group, as the
 * sandbox does: it waits for a byte the parent sends after attaching. */
static pid_t
fork_attached(const struct test_cgroup *cg, child_fn body, int *report_fd)
{
	int go[2], rep[2];
	ck_assert_int_eq(pipe2(go, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(rep, O_CLOEXEC), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char c;
		close(go[1]);
		close(rep[0]);
		if (read(go[0], &c, 1) != 1)
			_exit(126);
		body(rep[1]);
		_exit(0);
	}
	close(go[0]);
	close(rep[1]);
	char err[256] = "";
	int rc = cgroup_attach(cg, pid, err, sizeof err);
	if (rc < 0)
		kill(pid, SIGKILL);
	ck_assert_msg(rc == 0, "attach: %s", err);
	ck_assert_int_eq(write(go[1], "g", 1), 1);
	close(go[1]);
	if (report_fd)
		*report_fd = rep[0];
	else
		close(rep[0]);
	return pid;
}

static void
make_group(struct test_cgroup *cg, long memory_mb, long pids)
{
	struct cgroup_limits lim = { memory_mb, pids };
	char err[512] = "";
	int rc = cgroup_create(&env, &lim, cg, err, sizeof err);
	ck_assert_msg(rc == 0, "create: %s", err);
}

/* ---- probe ------------------------------------------------------------ */

START_TEST(probe_as_caller)
{
	struct cgroup_env e;
	cgroup_env_probe(&e);
	ck_assert_str_ne(e.detail, "");
	if (geteuid() == 0 && !root_has_cgroups())
		ck_assert_msg(e.kind == CGROUP_NONE && strstr(e.detail, "read-only"), "read-only cgroups: %s", e.detail);
	if (root_has_cgroups()) {
		ck_assert_msg(e.kind == CGROUP_V1 || e.kind == CGROUP_V2, "as root: %s", e.detail);
		ck_assert_ptr_nonnull(strstr(e.detail, e.kind == CGROUP_V1 ? "cgroup v1 at " : "cgroup v2 at "));
		ck_assert_ptr_nonnull(strstr(e.detail, "(memory, pids)"));
	}
	char base[CGROUP_NDIRS][CGROUP_PATH_MAX];
	memcpy(base, e.base, sizeof base);
	if (e.kind != CGROUP_NONE)
		ck_assert(!gone(base[CGROUP_MEM]));

	/* release clears a lingering test group and its process too */
	struct test_cgroup cg = { 0 };
	pid_t pid = -1;
	if (e.kind != CGROUP_NONE) {
		struct cgroup_limits lim = { 32, 8 };
		char err[512] = "";
		ck_assert_msg(cgroup_create(&e, &lim, &cg, err, sizeof err) == 0, "%s", err);
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			pause();
			_exit(0);
		}
		ck_assert_msg(cgroup_attach(&cg, pid, err, sizeof err) == 0, "%s", err);
	}
	cgroup_env_release(&e);
	cgroup_env_release(&e); /* once is enough; again does nothing */
	ck_assert_int_eq(e.kind, CGROUP_NONE);
	for (int i = 0; i < CGROUP_NDIRS; i++)
		ck_assert_msg(!base[i][0] || gone(base[i]), "left behind: %s", base[i]);
	if (pid > 0) {
		int status = wait_for(pid);
		ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	}
}
END_TEST

/* An ordinary user without delegation gets NONE and a reason that names
 * the path and the remedy.  As root the child becomes nobody first. */
START_TEST(probe_as_nobody)
{
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(p[0]);
		if (geteuid() == 0 && (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0))
			_exit(125);
		struct cgroup_env e;
		cgroup_env_probe(&e);
		char msg[8 + sizeof e.detail];
		int n = snprintf(msg, sizeof msg, "%d %s", (int)e.kind, e.detail);
		cgroup_env_release(&e);
		_exit(write_all(p[1], msg, (size_t)n) < 0 ? 124 : 0);
	}
	close(p[1]);
	char buf[1024] = "";
	size_t len = 0;
	ssize_t n;
	while ((n = read(p[0], buf + len, sizeof buf - 1 - len)) > 0)
		len += (size_t)n;
	close(p[0]);
	int status = wait_for(pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
	ck_assert_msg(buf[0] == '0' + CGROUP_NONE, "as nobody: %s", buf);
	ck_assert_msg(strlen(buf) > 10, "no reason given: \"%s\"", buf);
	/* here (v1 memory+pids, empty cgroup2): which path, and what to do */
	ck_assert_msg(strstr(buf, "not writable by uid") || strstr(buf, "does not offer") ||
			      strstr(buf, "read-only") || strstr(buf, "no cgroup hierarchy"),
		      "reason: %s", buf);
	ck_assert_msg(strstr(buf, "root") || strstr(buf, "--privileged"), "no remedy: %s", buf);
}
END_TEST

/* ---- limits ----------------------------------------------------------- */

START_TEST(limits_are_written)
{
	if (!usable())
		return;
	struct test_cgroup cg = { 0 };
	make_group(&cg, 64, 16);
	const char *mem = cg.dir[CGROUP_MEM];
	const char *pids = cg.dir[cg.kind == CGROUP_V1 ? CGROUP_PIDS : CGROUP_MEM];
	char path[CGROUP_PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/%s", mem, cg.kind == CGROUP_V1 ? "memory.limit_in_bytes" : "memory.max");
	char *v = read_file(path, 64, NULL);
	ck_assert_ptr_nonnull(v);
	long got = strtol(v, NULL, 10);
	free(v);
	snprintf(path, sizeof path, "%s/pids.max", pids);
	v = read_file(path, 64, NULL);
	ck_assert_ptr_nonnull(v);
	long got_pids = strtol(v, NULL, 10);
	free(v);
	struct cgroup_usage u;
	int rc = cgroup_usage(&cg, &u);
	cgroup_destroy(&cg);
	ck_assert_int_eq(got, 64 * MB);
	ck_assert_int_eq(got_pids, 16);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(u.oom_kills, 0);
	ck_assert_int_eq(u.pids_max_hits, 0);
}
END_TEST

static void
hog_malloc(int report_fd)
{
	(void)report_fd;
	for (int i = 0; i < 200; i++) {
		char *p = malloc(MB);
		if (!p)
			_exit(2);
		memset(p, i + 1, MB); /* touched, so really charged */
	}
	_exit(0);
}

START_TEST(memory_limit_kills_malloc_hog)
{
	if (!usable())
		return;
	struct test_cgroup cg = { 0 };
	make_group(&cg, 64, 0);
	pid_t pid = fork_attached(&cg, hog_malloc, NULL);
	int status = wait_for(pid);
	struct cgroup_usage u;
	int rc = cgroup_usage(&cg, &u);
	cgroup_destroy(&cg);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "status %d", status);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_ge(u.oom_kills, 1);
	if (u.memory_peak_kb >= 0)
		ck_assert_int_le(u.memory_peak_kb, 64 * 1024);
}
END_TEST

static char shm_name[64];

/* Loop 0 touches the shm through a mapping, loop 1 fills it with write(2). */
static int shm_by_write;

static void
hog_shm(int report_fd)
{
	(void)report_fd;
	size_t size = 200 * MB;
	int fd = shm_open(shm_name, O_CREAT | O_RDWR, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
		_exit(3);
	if (shm_by_write) {
		static char chunk[1 << 16];
		memset(chunk, 'x', sizeof chunk);
		for (size_t off = 0; off < size; off += sizeof chunk)
			if (write_all(fd, chunk, sizeof chunk) < 0)
				_exit(errno == ENOMEM ? 10 : 11);
		_exit(0);
	}
	char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		_exit(3);
	for (size_t off = 0; off < size; off += 4096)
		p[off] = 1;
	_exit(0);
}

START_TEST(memory_limit_counts_shm)
{
	if (!usable())
		return;
	shm_by_write = _i;
	snprintf(shm_name, sizeof shm_name, "/check-cgroup-%ld-%d", (long)getpid(), _i);
	struct test_cgroup cg = { 0 };
	make_group(&cg, 64, 0);
	pid_t pid = fork_attached(&cg, hog_shm, NULL);
	int status = wait_for(pid);
	shm_unlink(shm_name); /* its pages stay charged until then */
	struct cgroup_usage u;
	int rc = cgroup_usage(&cg, &u);
	cgroup_destroy(&cg);
	int killed = WIFSIGNALED(status) && (WTERMSIG(status) == SIGKILL || WTERMSIG(status) == SIGBUS);
	int enomem = WIFEXITED(status) && WEXITSTATUS(status) == 10;
	ck_assert_msg(killed || enomem, "200 MB of shm under a 64 MB limit: status %d", status);
	ck_assert_int_eq(rc, 0);
	if (u.memory_peak_kb >= 0)
		ck_assert_int_ge(u.memory_peak_kb, 32 * 1024);
}
END_TEST

struct fork_report {
	int forked;
	int err;
};

static void
fork_loop(int report_fd)
{
	struct fork_report r = { 0, 0 };
	for (int i = 0; i < 64; i++) { /* bounded: the test fails, not the machine */
		pid_t pid = fork();
		if (pid == 0) {
			pause();
			_exit(0);
		}
		if (pid < 0) {
			r.err = errno;
			break;
		}
		r.forked++;
	}
	if (write_all(report_fd, &r, sizeof r) < 0)
		_exit(4);
	pause(); /* stays for cgroup_destroy to end, with its children */
}

START_TEST(pids_limit_stops_fork_loop)
{
	if (!usable())
		return;
	/* The loop's children are reaped here once destroy killed their parent. */
	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	struct test_cgroup cg = { 0 };
	make_group(&cg, 0, 16);
	int fd;
	pid_t pid = fork_attached(&cg, fork_loop, &fd);
	struct fork_report r = { -1, 0 };
	ssize_t n;
	while ((n = read(fd, &r, sizeof r)) < 0 && errno == EINTR)
		;
	close(fd);
	struct cgroup_usage u;
	int rc = cgroup_usage(&cg, &u);
	cgroup_destroy(&cg);
	int status = wait_for(pid);
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
	ck_assert_int_eq(n, (ssize_t)sizeof r);
	ck_assert_int_eq(r.err, EAGAIN);
	ck_assert_int_le(r.forked + 1, 16);
	ck_assert_int_ge(r.forked, 1);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_ge(u.pids_max_hits, 1);
	ck_assert_int_eq(u.oom_kills, 0);
}
END_TEST

static void
linger(int report_fd)
{
	ssize_t r = write(report_fd, "r", 1);
	(void)r;
	pause();
}

START_TEST(destroy_kills_and_removes)
{
	if (!usable())
		return;
	struct test_cgroup cg = { 0 };
	make_group(&cg, 64, 16);
	char dirs[CGROUP_NDIRS][CGROUP_PATH_MAX];
	memcpy(dirs, cg.dir, sizeof dirs);
	int ndirs = cg.ndirs;
	ck_assert_int_ge(ndirs, 1);
	int fd;
	pid_t pid = fork_attached(&cg, linger, &fd);
	char c;
	ck_assert_int_eq(read(fd, &c, 1), 1); /* running inside the group */
	close(fd);
	cgroup_destroy(&cg);
	int status = wait_for(pid);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	for (int i = 0; i < ndirs; i++)
		ck_assert_msg(gone(dirs[i]), "left behind: %s", dirs[i]);
	cgroup_destroy(&cg); /* idempotent */
	struct test_cgroup never = { 0 };
	cgroup_destroy(&never);
}
END_TEST

START_TEST(errors_are_reported)
{
	char err[512] = "";
	struct test_cgroup never = { 0 };
	struct cgroup_usage u;
	ck_assert_int_eq(cgroup_attach(&never, getpid(), err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "not created"));
	ck_assert_int_eq(cgroup_usage(&never, &u), -1);

	struct cgroup_env none = { .kind = CGROUP_NONE, .detail = "why not" };
	struct cgroup_limits lim = { 64, 16 };
	ck_assert_int_eq(cgroup_create(&none, &lim, &never, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "why not"));
	cgroup_destroy(&never);

	if (!usable())
		return;
	/* a pid that does not exist cannot be attached */
	struct test_cgroup cg = { 0 };
	make_group(&cg, 64, 16);
	int rc = cgroup_attach(&cg, 0x3ffffff, err, sizeof err);
	cgroup_destroy(&cg);
	ck_assert_int_eq(rc, -1);
	ck_assert_ptr_nonnull(strstr(err, "cannot move pid"));
}
END_TEST

static Suite *
cgroup_suite(void)
{
	Suite *s = suite_create("cgroup");

	/* Probes of its own: no fixture, whose parent group has the same name
	 * when everything runs in one process (CK_FORK=no). */
	TCase *probe = tcase_create("probe");
	tcase_add_test(probe, probe_as_caller);
	tcase_add_test(probe, probe_as_nobody);
	tcase_set_timeout(probe, 10);
	suite_add_tcase(s, probe);

	TCase *limits = tcase_create("limits");
	tcase_add_unchecked_fixture(limits, probe_env, release_env);
	tcase_add_test(limits, limits_are_written);
	tcase_add_test(limits, memory_limit_kills_malloc_hog);
	tcase_add_loop_test(limits, memory_limit_counts_shm, 0, 2);
	tcase_add_test(limits, pids_limit_stops_fork_loop);
	tcase_add_test(limits, destroy_kills_and_removes);
	tcase_add_test(limits, errors_are_reported);
	tcase_set_timeout(limits, 10);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(cgroup_suite());
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
