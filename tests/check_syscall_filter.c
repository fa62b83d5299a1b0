/* The seccomp filter (syscall_filter.c): every call it denies fails with
 * the errno the policy gives, and what an IPC lab does still works under
 * it: fork, threads, sockets, pipes, FIFOs, POSIX and System V IPC, exec,
 * ptrace (LeakSanitizer's way of stopping threads), Valgrind and an
 * AddressSanitizer program reporting its leak.
 *
 * The filter cannot be taken off again, so every probe runs in a child of
 * its own that installs it; the test process stays unfiltered, in
 * CK_FORK=no mode too.  Each denied call is also made without the filter,
 * with arguments the kernel rejects with another errno (a path that does
 * not exist, a bad descriptor...), so that the EPERM seen is known to come
 * from the filter and not from a missing privilege.  Cases the kernel
 * itself may refuse with EPERM (a capability, a sysctl) are marked and
 * skip that control. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <mqueue.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "spawn.h"
#include "syscall_filter.h"
#include "util.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* A path that does not exist: calls that look a path up before they check
 * privileges fail with ENOENT on it. */
#define NOWHERE "/nonexistent-check-syscall-filter/x"

static char *const env[] = { "PATH=/usr/bin:/bin", "LC_ALL=C", NULL };

static struct syscall_filter filter; /* built afresh by each test's fixture */
static char tmpdir[64];
static char asan_program[128]; /* empty: no AddressSanitizer here */
static struct strbuf asan_why = STRBUF_INIT;

static void
build_filter(void)
{
	char err[256] = "";
	ck_assert_msg(syscall_filter_build(&filter, err, sizeof err) == 0, "syscall_filter_build: %s", err);
}

static void
release_filter(void)
{
	syscall_filter_release(&filter);
}

/* A tiny program that leaks one block.  The pointer is kept in a global
 * and then overwritten, so no stack slot or register still points at it
 * when LeakSanitizer looks at exit. */
static const char leak_source[] =
	"#include <stdlib.h>\n"
	"void *volatile keep;\n"
	"int main(void) { keep = malloc(4242); keep = 0; return 0; }\n";

/* Made once in the parent, before any filter: tmpdir, and the ASan
 * program built in it when a compiler with AddressSanitizer is there. */
static void
make_tmpdir(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/check-syscall-filter-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("check_syscall_filter: cannot make a temporary folder");
		abort();
	}
	asan_program[0] = '\0';
	sb_release(&asan_why);
	char *cc = find_in_path("cc");
	if (!cc) {
		sb_adds(&asan_why, "no \"cc\" in PATH");
		return;
	}
	char *src = xstrfmt("%s/leak.c", tmpdir), *bin = xstrfmt("%s/leak", tmpdir);
	int fd = open(src, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write_all(fd, leak_source, sizeof leak_source - 1) < 0) {
		perror("check_syscall_filter: cannot write leak.c");
		abort();
	}
	close(fd);
	char *argv[] = { cc, "-fsanitize=address", "-g", "-O0", src, "-o", bin, NULL };
	struct child c = { .argv = argv, .envp = env };
	struct capture out;
	capture_init(&out, 8192);
	struct exit_status st;
	int timed_out;
	char err[256] = "";
	if (child_run(&c, 60000, &out, &st, &timed_out, err, sizeof err) < 0) {
		sb_addf(&asan_why, "cannot run \"%s\": %s", cc, err);
	} else if (timed_out || st.how != EXIT_CODE || st.code != 0) {
		char *text = capture_bytes(&out, 0, NULL);
		sb_addf(&asan_why, "\"%s -fsanitize=address\" failed:\n%s", cc, text);
		free(text);
	} else {
		snprintf(asan_program, sizeof asan_program, "%s", bin);
	}
	capture_release(&out);
	free(cc);
	free(src);
	free(bin);
}

static void
remove_tmpdir(void)
{
	sb_release(&asan_why);
	rm_rf(tmpdir);
}

static void
skip(const char *test, const char *why)
{
	fprintf(stderr, "check_syscall_filter: %s: skipped: %s\n", test, why);
}

/* A crash of a probe must not leave core files behind. */
static void
no_core_files(void)
{
	struct rlimit none = { 0, 0 };
	setrlimit(RLIMIT_CORE, &none);
}

/* ---- probes ---------------------------------------------------------- */

/* What a probe did: its return value and errno, or the signal that
 * killed the child it ran in. */
struct outcome {
	long ret;
	int err;
	int signal;
};

/* A probe makes one call and returns what it returned, errno set. */
typedef long probe_fn(long arg);

#define INSTALL_FAILED (-1000)

static struct outcome
run_probe(probe_fn *probe, long arg, int filtered)
{
	int p[2];
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(p[0]);
		no_core_files();
		struct outcome o = { 0, 0, 0 };
		if (filtered && syscall_filter_install(&filter) < 0) {
			o.ret = INSTALL_FAILED;
			o.err = errno;
		} else {
			errno = 0;
			o.ret = probe(arg);
			o.err = o.ret < 0 ? errno : 0;
		}
		write_all(p[1], &o, sizeof o);
		_exit(0);
	}
	close(p[1]);
	struct outcome o = { 0, 0, 0 };
	size_t got = 0;
	while (got < sizeof o) {
		ssize_t n = read(p[0], (char *)&o + got, sizeof o - got);
		if (n < 0 && errno == EINTR)
			continue;
		ck_assert_int_ge(n, 0);
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(p[0]);
	int ws;
	ck_assert_int_eq(wait_retry(pid, &ws, 0), pid);
	if (WIFSIGNALED(ws)) {
		o.signal = WTERMSIG(ws);
		return o;
	}
	ck_assert_msg(WIFEXITED(ws) && WEXITSTATUS(ws) == 0 && got == sizeof o,
		      "the probe's child ended without a report (status %#x)", ws);
	ck_assert_msg(o.ret != INSTALL_FAILED, "syscall_filter_install: %s", strerror(o.err));
	return o;
}

static void
describe(const struct outcome *o, char *buf, size_t len)
{
	if (o->signal)
		snprintf(buf, len, "killed by signal %d (%s)", o->signal, strsignal(o->signal));
	else if (o->ret < 0)
		snprintf(buf, len, "-1, errno %d (%s)", o->err, strerror(o->err));
	else
		snprintf(buf, len, "%ld", o->ret);
}

/* Sets errno and returns -1: a probe reporting a wrong result. */
static long
fail_with(int e)
{
	errno = e;
	return -1;
}

/* clone() as a raw system call, as fork() would: a child that is made
 * exits at once and is reaped. */
static long
raw_clone(long flags)
{
	long r = syscall(SYS_clone, (unsigned long)flags, 0L, 0L, 0L, 0L);
	if (r == 0)
		_exit(0);
	if (r > 0)
		waitpid((pid_t)r, NULL, __WALL);
	return r;
}

static long
ioctl_on_dev_null(long request)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	char c = 'x';
	long r = syscall(SYS_ioctl, fd, (unsigned long)request, &c);
	int e = errno;
	close(fd);
	errno = e;
	return r;
}

static long p_mount(long a) { (void)a; return mount("none", NOWHERE, "tmpfs", 0, NULL); }
static long p_umount2(long a) { (void)a; return umount2(NOWHERE, 0); }
static long p_unshare(long flags) { return unshare((int)flags); }
static long p_clone3(long a) { (void)a; return syscall(SYS_clone3, NULL, 0L); }
static long p_setns(long a) { (void)a; return setns(-1, 0); }
static long p_chroot(long a) { (void)a; return chroot(NOWHERE); }
static long p_pivot_root(long a) { (void)a; return syscall(SYS_pivot_root, NOWHERE, NOWHERE); }
static long p_open_tree(long a) { (void)a; return syscall(SYS_open_tree, AT_FDCWD, NOWHERE, 0L); }
static long p_process_vm_readv(long a) { (void)a; return process_vm_readv(getpid(), NULL, 0, NULL, 0, 0); }
static long p_process_vm_writev(long a) { (void)a; return process_vm_writev(getpid(), NULL, 0, NULL, 0, 0); }
static long p_pidfd_getfd(long a) { (void)a; return syscall(SYS_pidfd_getfd, -1, 0, 0); }
static long p_bpf(long a) { (void)a; return syscall(SYS_bpf, 0xffffL, NULL, 0L); }
static long p_perf_event_open(long a) { (void)a; return syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0L); }
static long p_io_uring_setup(long a) { (void)a; return syscall(SYS_io_uring_setup, 0L, NULL); }
static long p_keyctl(long a) { (void)a; return syscall(SYS_keyctl, 0x7fffffffL, 0L, 0L, 0L, 0L); }
static long p_add_key(long a) { (void)a; return syscall(SYS_add_key, NULL, NULL, NULL, 0L, 0L); }
static long p_finit_module(long a) { (void)a; return syscall(SYS_finit_module, -1, "", 0); }
static long p_clock_settime(long a) { (void)a; return syscall(SYS_clock_settime, CLOCK_REALTIME, NULL); }
/* both NULL: the kernel does nothing and returns 0 */
static long p_settimeofday(long a) { (void)a; return syscall(SYS_settimeofday, NULL, NULL); }
static long p_adjtimex(long a) { (void)a; return syscall(SYS_adjtimex, NULL); }
static long p_name_to_handle_at(long a) { (void)a; return syscall(SYS_name_to_handle_at, AT_FDCWD, NOWHERE, NULL, NULL, 0); }
static long p_personality(long persona) { return personality((unsigned long)persona); }

static const struct deny_case {
	const char *name;
	probe_fn *probe;
	long arg;
	int want;       /* errno under the filter */
	int privileged; /* the kernel may refuse it with EPERM too: no control */
} deny_cases[] = {
	{ "mount", p_mount, 0, EPERM, 0 },
	{ "umount2", p_umount2, 0, EPERM, 0 },
	{ "unshare(0)", p_unshare, 0, EPERM, 0 },
	{ "unshare(CLONE_NEWUSER)", p_unshare, CLONE_NEWUSER, EPERM, 1 },
	{ "clone(CLONE_NEWUSER)", raw_clone, CLONE_NEWUSER | SIGCHLD, EPERM, 1 },
	{ "clone3", p_clone3, 0, ENOSYS, 0 },
	{ "setns", p_setns, 0, EPERM, 0 },
	{ "chroot", p_chroot, 0, EPERM, 0 },
	{ "pivot_root", p_pivot_root, 0, EPERM, 1 },
	{ "open_tree", p_open_tree, 0, EPERM, 0 },
	{ "process_vm_readv", p_process_vm_readv, 0, EPERM, 0 },
	{ "process_vm_writev", p_process_vm_writev, 0, EPERM, 0 },
	{ "pidfd_getfd", p_pidfd_getfd, 0, EPERM, 0 },
	{ "bpf", p_bpf, 0, EPERM, 1 },
	{ "perf_event_open", p_perf_event_open, 0, EPERM, 0 },
	{ "io_uring_setup", p_io_uring_setup, 0, EPERM, 1 },
	{ "keyctl", p_keyctl, 0, EPERM, 0 },
	{ "add_key", p_add_key, 0, EPERM, 0 },
	{ "finit_module", p_finit_module, 0, EPERM, 1 },
	{ "clock_settime", p_clock_settime, 0, EPERM, 0 },
	{ "settimeofday", p_settimeofday, 0, EPERM, 0 },
	{ "adjtimex", p_adjtimex, 0, EPERM, 0 },
	{ "name_to_handle_at", p_name_to_handle_at, 0, EPERM, 0 },
	{ "ioctl(TIOCSTI)", ioctl_on_dev_null, TIOCSTI, EPERM, 0 },
	{ "ioctl(TIOCLINUX)", ioctl_on_dev_null, TIOCLINUX, EPERM, 0 },
	/* the kernel reads the command as 32 bits: high garbage changes nothing */
	{ "ioctl(TIOCSTI | 1 << 32)", ioctl_on_dev_null, (long)(TIOCSTI | 1UL << 32), EPERM, 0 },
	{ "personality(READ_IMPLIES_EXEC)", p_personality, READ_IMPLIES_EXEC, EPERM, 0 },
	{ "personality(ADDR_NO_RANDOMIZE)", p_personality, ADDR_NO_RANDOMIZE, EPERM, 0 },
	/* CLONE_THREAD without CLONE_SIGHAND: EINVAL from the kernel, whatever
	 * the privileges; so EPERM can only be the filter's */
	{ "clone(CLONE_NEWNS)", raw_clone, CLONE_NEWNS | CLONE_THREAD | SIGCHLD, EPERM, 0 },
	{ "clone(CLONE_NEWUSER | CLONE_THREAD)", raw_clone, CLONE_NEWUSER | CLONE_THREAD | SIGCHLD, EPERM, 0 },
	{ "clone(CLONE_NEWPID)", raw_clone, CLONE_NEWPID | CLONE_THREAD | SIGCHLD, EPERM, 0 },
	{ "clone(CLONE_NEWNET)", raw_clone, CLONE_NEWNET | CLONE_THREAD | SIGCHLD, EPERM, 0 },
	{ "clone(CLONE_NEWIPC)", raw_clone, CLONE_NEWIPC | CLONE_THREAD | SIGCHLD, EPERM, 0 },
	{ "clone(CLONE_NEWUTS)", raw_clone, CLONE_NEWUTS | CLONE_THREAD | SIGCHLD, EPERM, 0 },
	{ "clone(CLONE_NEWCGROUP)", raw_clone, CLONE_NEWCGROUP | CLONE_THREAD | SIGCHLD, EPERM, 0 },
	{ "clone(CLONE_NEWTIME)", raw_clone, CLONE_NEWTIME | CLONE_THREAD | SIGCHLD, EPERM, 0 },
	{ "clone(CLONE_NEWNET | 1 << 32)", raw_clone, (long)(CLONE_NEWNET | CLONE_THREAD | SIGCHLD | 1UL << 32), EPERM, 0 },
};

/* Does this test itself run under a seccomp filter (a container's)? */
static int
under_outer_filter(void)
{
	char *status = read_file("/proc/self/status", 1 << 16, NULL);
	const char *line = status ? strstr(status, "\nSeccomp:") : NULL;
	int outer = line && strtol(line + 9, NULL, 10) == 2;
	free(status);
	return outer;
}

START_TEST(denied)
{
	const struct deny_case *d = &deny_cases[_i];
	char seen[160];
	struct outcome o = run_probe(d->probe, d->arg, 1);
	describe(&o, seen, sizeof seen);
	ck_assert_msg(!o.signal && o.ret == -1 && o.err == d->want, "%s under the filter: %s, not errno %d (%s)",
		      d->name, seen, d->want, strerror(d->want));
	if (d->privileged)
		return;
	o = run_probe(d->probe, d->arg, 0);
	describe(&o, seen, sizeof seen);
	if (!o.signal && o.ret == -1 && o.err == d->want && (under_outer_filter() || geteuid() != 0)) {
		/* A container's own profile, or the kernel for want of
		 * privilege, refuses it already: our filter's answer cannot be
		 * told apart here (it is, as root on a plain machine). */
		fprintf(stderr, "note: %s is refused here without our filter too (%s): not compared\n", d->name,
			geteuid() != 0 ? "no privilege" : "a seccomp filter around this test");
		return;
	}
	ck_assert_msg(o.signal || o.ret != -1 || o.err != d->want,
		      "%s without the filter: %s as well, so the case proves nothing", d->name, seen);
}
END_TEST

/* ---- what keeps working ---------------------------------------------- */

static long
w_fork(long a)
{
	(void)a;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(7);
	int ws;
	if (wait_retry(pid, &ws, 0) != pid)
		return -1;
	return WIFEXITED(ws) && WEXITSTATUS(ws) == 7 ? 0 : fail_with(EPROTO);
}

static void *
double_it(void *arg)
{
	return (void *)((intptr_t)arg * 2);
}

/* pthread_create() tries clone3 first (ENOSYS here) and falls back. */
static long
w_thread(long a)
{
	(void)a;
	pthread_t t;
	void *r;
	int e = pthread_create(&t, NULL, double_it, (void *)(intptr_t)21);
	if (e || (e = pthread_join(t, &r)))
		return fail_with(e);
	return (intptr_t)r == 42 ? 0 : fail_with(EPROTO);
}

static long
w_loopback(long a)
{
	(void)a;
	long r = -1;
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = 0 };
	socklen_t len = sizeof addr;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), c = -1, s = -1;
	if (l < 0 || bind(l, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(l, 4) < 0 ||
	    getsockname(l, (struct sockaddr *)&addr, &len) < 0)
		goto close_all;
	if ((c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(c, (struct sockaddr *)&addr, sizeof addr) < 0 || (s = accept(l, NULL, NULL)) < 0)
		goto close_all;
	char b = 0;
	if (write(c, "!", 1) != 1 || read(s, &b, 1) != 1)
		goto close_all;
	r = b == '!' ? 0 : fail_with(EPROTO);
close_all:;
	int e = errno;
	if (s >= 0)
		close(s);
	if (c >= 0)
		close(c);
	if (l >= 0)
		close(l);
	errno = e;
	return r;
}

static long
w_pipe(long a)
{
	(void)a;
	int p[2];
	char buf[6] = "";
	if (pipe(p) < 0)
		return -1;
	long r = write(p[1], "hello", 5) == 5 && read(p[0], buf, 5) == 5 ? 0 : -1;
	close(p[0]);
	close(p[1]);
	return r == 0 && strcmp(buf, "hello") ? fail_with(EPROTO) : r;
}

static long
w_fifo(long a)
{
	(void)a;
	char *path = xstrfmt("%s/fifo-%d", tmpdir, (int)getpid());
	long r = -1;
	if (mkfifo(path, 0600) < 0)
		goto free_path;
	/* O_RDWR on a FIFO (Linux) opens without waiting for a peer */
	int fd = open(path, O_RDWR | O_CLOEXEC);
	char b = 0;
	if (fd >= 0 && write(fd, "f", 1) == 1 && read(fd, &b, 1) == 1)
		r = b == 'f' ? 0 : fail_with(EPROTO);
	if (fd >= 0)
		close(fd);
	unlink(path);
free_path:
	free(path);
	return r;
}

static long
w_shm_open(long a)
{
	(void)a;
	char name[64];
	snprintf(name, sizeof name, "/check-syscall-filter-%d", (int)getpid());
	int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
	if (fd < 0)
		return -1;
	shm_unlink(name);
	long r = -1;
	if (ftruncate(fd, 4096) == 0) {
		char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (m != MAP_FAILED) {
			strcpy(m, "shared");
			r = munmap(m, 4096);
		}
	}
	close(fd);
	return r;
}

static long
w_mq_open(long a)
{
	(void)a;
	char name[64], buf[64] = "";
	snprintf(name, sizeof name, "/check-syscall-filter-%d", (int)getpid());
	struct mq_attr attr = { .mq_maxmsg = 4, .mq_msgsize = sizeof buf };
	mqd_t q = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
	if (q == (mqd_t)-1)
		return -1;
	mq_unlink(name);
	long r = mq_send(q, "queued", 7, 0) == 0 && mq_receive(q, buf, sizeof buf, NULL) == 7 ? 0 : -1;
	mq_close(q);
	return r == 0 && strcmp(buf, "queued") ? fail_with(EPROTO) : r;
}

static long
w_sysv_shm(long a)
{
	(void)a;
	int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
	if (id < 0)
		return -1;
	long r = -1;
	char *m = shmat(id, NULL, 0);
	if (m != (void *)-1) {
		strcpy(m, "system v");
		r = shmdt(m);
	}
	int e = errno;
	shmctl(id, IPC_RMID, NULL);
	errno = e;
	return r;
}

static long
w_exec_true(long a)
{
	(void)a;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		char *argv[] = { "/bin/true", NULL };
		execve(argv[0], argv, env);
		_exit(127);
	}
	int ws;
	if (wait_retry(pid, &ws, 0) != pid)
		return -1;
	return WIFEXITED(ws) && WEXITSTATUS(ws) == 0 ? 0 : fail_with(EPROTO);
}

/* Waits in read() until its pipe is closed; then exits. */
static void __attribute__((noreturn))
park_then_exit(int fd)
{
	char c;
	while (read(fd, &c, 1) < 0 && errno == EINTR)
		;
	_exit(0);
}

/* Attaches to tid, waits for the stop of the attach, and detaches: the
 * SIGSTOP of PTRACE_ATTACH is then discarded.  Returns 0 or an errno. */
static int
attach_and_detach(pid_t tid)
{
	int st;
	if (ptrace(PTRACE_ATTACH, tid, NULL, NULL) < 0)
		return errno;
	while (waitpid(tid, &st, __WALL) < 0)
		if (errno != EINTR)
			return errno;
	if (!WIFSTOPPED(st))
		return EPROTO;
	return ptrace(PTRACE_DETACH, tid, NULL, NULL) < 0 ? errno : 0;
}

static long
w_ptrace_child(long a)
{
	(void)a;
	int p[2];
	if (pipe(p) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(p[1]);
		park_then_exit(p[0]);
	}
	close(p[0]);
	int e = attach_and_detach(pid);
	close(p[1]);
	int ws;
	if (wait_retry(pid, &ws, 0) != pid)
		return -1;
	if (e)
		return fail_with(e);
	return WIFEXITED(ws) && WEXITSTATUS(ws) == 0 ? 0 : fail_with(EPROTO);
}

struct parked {
	int tid_pipe[2], release_pipe[2];
};

static void *
parked_thread(void *arg)
{
	struct parked *p = arg;
	pid_t tid = gettid();
	if (write(p->tid_pipe[1], &tid, sizeof tid) != sizeof tid)
		return NULL;
	char c;
	while (read(p->release_pipe[0], &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

/* As LeakSanitizer stops the world: a forked tracer, allowed by
 * PR_SET_PTRACER (Yama), attaches to a thread of our process. */
static long
w_ptrace_own_thread(long a)
{
	(void)a;
	struct parked p;
	int go[2];
	if (pipe(p.tid_pipe) < 0 || pipe(p.release_pipe) < 0 || pipe(go) < 0)
		return -1;
	pthread_t t;
	int e = pthread_create(&t, NULL, parked_thread, &p);
	if (e)
		return fail_with(e);
	pid_t tid = 0;
	if (read(p.tid_pipe[0], &tid, sizeof tid) != sizeof tid)
		return -1;
	pid_t tracer = fork();
	if (tracer < 0)
		return -1;
	if (tracer == 0) {
		char c;
		while (read(go[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(attach_and_detach(tid));
	}
	/* EINVAL: no Yama, and then nothing to allow */
	if (prctl(PR_SET_PTRACER, tracer, 0, 0, 0) < 0 && errno != EINVAL)
		return -1;
	if (write(go[1], "g", 1) != 1)
		return -1;
	int ws;
	pid_t r = wait_retry(tracer, &ws, 0);
	close(p.release_pipe[1]);
	pthread_join(t, NULL);
	if (r != tracer)
		return -1;
	if (!WIFEXITED(ws))
		return fail_with(EPROTO);
	return WEXITSTATUS(ws) ? fail_with(WEXITSTATUS(ws)) : 0;
}

static const struct work_case {
	const char *name;
	probe_fn *probe;
	long arg;
} work_cases[] = {
	{ "fork", w_fork, 0 },
	{ "pthread_create", w_thread, 0 },
	{ "socket, bind, listen, connect, accept on loopback", w_loopback, 0 },
	{ "pipe", w_pipe, 0 },
	{ "mkfifo", w_fifo, 0 },
	{ "shm_open and mmap", w_shm_open, 0 },
	{ "mq_open", w_mq_open, 0 },
	{ "shmget", w_sysv_shm, 0 },
	{ "execve /bin/true", w_exec_true, 0 },
	{ "ptrace(PTRACE_ATTACH) of a child", w_ptrace_child, 0 },
	{ "ptrace(PTRACE_ATTACH) of a thread of its own process", w_ptrace_own_thread, 0 },
	{ "personality(0xffffffff), the query", p_personality, 0xffffffffL },
};

START_TEST(still_works)
{
	const struct work_case *w = &work_cases[_i];
	char seen[160];
	struct outcome o = run_probe(w->probe, w->arg, 0);
	if (o.signal || o.ret < 0) {
		describe(&o, seen, sizeof seen);
		char *why = xstrfmt("%s fails without the filter too: %s", w->name, seen);
		skip("still_works", why);
		free(why);
		return;
	}
	o = run_probe(w->probe, w->arg, 1);
	describe(&o, seen, sizeof seen);
	ck_assert_msg(!o.signal && o.ret >= 0, "%s under the filter: %s", w->name, seen);
}
END_TEST

/* ---- programs run under the filter ----------------------------------- */

/* Runs argv in a child that installs the filter (when filtered) and then
 * execs; its stdout and stderr go to out.  Returns the wait status. */
static int
run_program(char *const argv[], char *const envp[], int filtered, struct strbuf *out)
{
	int p[2];
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		no_core_files();
		if (dup2(p[1], 1) < 0 || dup2(p[1], 2) < 0)
			_exit(125);
		if (filtered && syscall_filter_install(&filter) < 0) {
			dprintf(2, "cannot install the filter: %s\n", strerror(errno));
			_exit(126);
		}
		execve(argv[0], argv, envp);
		dprintf(2, "cannot run \"%s\": %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(p[1]);
	char buf[4096];
	ssize_t n;
	while ((n = read(p[0], buf, sizeof buf)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		ck_assert_int_gt(n, 0);
		sb_add(out, buf, (size_t)n);
	}
	close(p[0]);
	int ws;
	ck_assert_int_eq(wait_retry(pid, &ws, 0), pid);
	return ws;
}

static const char *
text(const struct strbuf *sb)
{
	return sb->buf ? sb->buf : "";
}

/* The filter is inherited through exec, with no_new_privs. */
START_TEST(survives_exec)
{
	char *argv[] = { "/bin/sh", "-c", "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status", NULL };
	struct strbuf out = STRBUF_INIT;
	int ws = run_program(argv, env, 1, &out);
	ck_assert_msg(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "status %#x: %s", ws, text(&out));
	ck_assert_str_eq(text(&out), "NoNewPrivs:\t1\nSeccomp:\t2\n");
	sb_release(&out);
}
END_TEST

START_TEST(valgrind_runs)
{
	char *valgrind = find_in_path("valgrind");
	if (!valgrind) {
		skip("valgrind_runs", "valgrind is not installed");
		return;
	}
	char *argv[] = { valgrind, "--error-exitcode=9", "/bin/true", NULL };
	struct strbuf out = STRBUF_INIT;
	int ws = run_program(argv, env, 1, &out);
	ck_assert_msg(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "valgrind under the filter: status %#x:\n%s", ws,
		      text(&out));
	sb_release(&out);
	free(valgrind);
}
END_TEST

/* LeakSanitizer stops the program's threads with ptrace from a task it
 * clones; under the filter it must still find the leak. */
START_TEST(leak_sanitizer_reports)
{
	if (!asan_program[0]) {
		skip("leak_sanitizer_reports", text(&asan_why));
		return;
	}
	char *argv[] = { asan_program, NULL };
	char *asan_env[] = { "PATH=/usr/bin:/bin", "LC_ALL=C", "ASAN_OPTIONS=detect_leaks=1:exitcode=23", NULL };
	for (int filtered = 0; filtered <= 1; filtered++) {
		struct strbuf out = STRBUF_INIT;
		int ws = run_program(argv, asan_env, filtered, &out);
		int found = WIFEXITED(ws) && WEXITSTATUS(ws) == 23 &&
			    strstr(text(&out), "LeakSanitizer: detected memory leaks");
		if (!filtered && !found) {
			char *why = xstrfmt("LeakSanitizer does not work here even without the filter (status %#x):\n%s",
					    ws, text(&out));
			skip("leak_sanitizer_reports", why);
			free(why);
			sb_release(&out);
			return;
		}
		ck_assert_msg(found, "the leaking ASan program under the filter: status %#x:\n%s", ws, text(&out));
		sb_release(&out);
	}
}
END_TEST

/* ---- no privileges, foreign ABIs, the API ---------------------------- */

#define NOBODY 65534

static long
as_nobody_then_mount(long a)
{
	(void)a;
	if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
		return fail_with(EPROTO);
	if (syscall_filter_install(&filter) < 0)
		return -1;
	return mount("none", NOWHERE, "tmpfs", 0, NULL) == -1 && errno == EPERM ? 0 : fail_with(EPROTO);
}

/* Students run the grader unprivileged: install must work without any
 * capability (no_new_privs makes that possible). */
START_TEST(installs_without_privileges)
{
	if (geteuid() != 0) {
		/* the probes above ran unprivileged already */
		struct outcome o = run_probe(p_mount, 0, 1);
		ck_assert_int_eq(o.err, EPERM);
		return;
	}
	struct outcome o = run_probe(as_nobody_then_mount, 0, 0);
	char seen[160];
	describe(&o, seen, sizeof seen);
	ck_assert_msg(!o.signal && o.ret == 0, "install as nobody: %s", seen);
}
END_TEST

#if defined(__x86_64__)
/* getpid through the i386 entry (number 20 there, 39 natively). */
static long
int80_getpid(long a)
{
	(void)a;
	long r = 20;
	__asm__ volatile("int $0x80" : "+a"(r) : : "r8", "r9", "r10", "r11", "memory");
	return r < 0 ? fail_with((int)-r) : r;
}

/* getpid with the x32 bit set. */
static long
x32_getpid(long a)
{
	(void)a;
	return syscall(0x40000000L | SYS_getpid);
}

START_TEST(foreign_abi_killed)
{
	struct outcome o = run_probe(int80_getpid, 0, 0);
	char seen[160];
	if (o.signal || o.ret <= 0) {
		describe(&o, seen, sizeof seen);
		char *why = xstrfmt("the i386 ABI is off in this kernel (int 0x80: %s)", seen);
		skip("foreign_abi_killed", why);
		free(why);
	} else {
		o = run_probe(int80_getpid, 0, 1);
		describe(&o, seen, sizeof seen);
		ck_assert_msg(o.signal == SIGSYS, "getpid through int 0x80 under the filter: %s", seen);
	}
	/* whether or not the kernel has x32, the filter sees the call first */
	o = run_probe(x32_getpid, 0, 1);
	describe(&o, seen, sizeof seen);
	ck_assert_msg(o.signal == SIGSYS, "an x32 getpid under the filter: %s", seen);
}
END_TEST
#endif

START_TEST(api_contract)
{
	ck_assert_ptr_nonnull(filter.insns);
	ck_assert_uint_gt(filter.len, 0);
	/* an empty filter is refused, not installed as "allow nothing" */
	struct syscall_filter empty = { NULL, 0 };
	errno = 0;
	ck_assert_int_eq(syscall_filter_install(&empty), -1);
	ck_assert_int_eq(errno, EINVAL);
	/* release leaves it empty, and releasing again is harmless */
	struct syscall_filter f;
	char err[256] = "";
	ck_assert_msg(syscall_filter_build(&f, err, sizeof err) == 0, "%s", err);
	ck_assert_uint_eq(f.len, filter.len);
	ck_assert_int_eq(memcmp(f.insns, filter.insns, f.len * sizeof *f.insns), 0);
	syscall_filter_release(&f);
	ck_assert_ptr_null(f.insns);
	ck_assert_uint_eq(f.len, 0);
	syscall_filter_release(&f);
}
END_TEST

static Suite *
syscall_filter_suite(void)
{
	Suite *s = suite_create("syscall_filter");
	TCase *tc = tcase_create("api");
	tcase_add_checked_fixture(tc, build_filter, release_filter);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, api_contract);
	tcase_add_test(tc, installs_without_privileges);
	suite_add_tcase(s, tc);

	/* Under Valgrind (make valgrind) a probe's system calls are Valgrind's
	 * to make: it checks arguments itself (a bad descriptor, a NULL
	 * pointer), lacks some calls, and runs clone and int 0x80 its own way,
	 * so the filter never sees the call these cases are about.  `make
	 * test` runs them. */
	tc = tcase_create("denied");
	tcase_set_tags(tc, "no-memcheck");
	tcase_add_checked_fixture(tc, build_filter, release_filter);
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, denied, 0, sizeof deny_cases / sizeof *deny_cases);
	suite_add_tcase(s, tc);

	tc = tcase_create("still works");
	tcase_add_unchecked_fixture(tc, make_tmpdir, remove_tmpdir);
	tcase_add_checked_fixture(tc, build_filter, release_filter);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, still_works, 0, sizeof work_cases / sizeof *work_cases);
	tcase_add_test(tc, survives_exec);
	tcase_add_test(tc, valgrind_runs);
	tcase_add_test(tc, leak_sanitizer_reports);
	suite_add_tcase(s, tc);

#if defined(__x86_64__)
	tc = tcase_create("foreign ABI");
	tcase_set_tags(tc, "no-memcheck");
	tcase_add_checked_fixture(tc, build_filter, release_filter);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, foreign_abi_killed);
	suite_add_tcase(s, tc);
#endif
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(syscall_filter_suite());
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
