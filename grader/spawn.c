#define _GNU_SOURCE
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdlib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sched.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture.h"
#include "syscall_filter.h"
#include "util.h"

static void
set_limit(int resource, rlim_t value)
{
	struct rlimit rl = { value, value };
	setrlimit(resource, &rl);
}

/* Empties every capability set for good: the bounding set (so that exec
 * cannot grant any back), then securebits that stop root being special,
 * then (with set_ids) the user, then permitted/effective/inheritable.
 * Without CAP_SETPCAP (an ordinary user's process holds no capabilities
 * anyway) the first two are refused and not needed.  Async-signal-safe. */
static int
drop_privileges(const struct child_jail *j)
{
	for (int cap = 0; cap < 64; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EPERM)
			break; /* EINVAL: past the last capability */
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
					 SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE |
					 SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED,
	      0, 0, 0);
	if (j->set_ids && (setgroups(0, NULL) < 0 || setresgid(j->gid, j->gid, j->gid) < 0 ||
			   setresuid(j->uid, j->uid, j->uid) < 0))
		return -1;
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof data);
	return (int)syscall(SYS_capset, &hdr, data);
}

/* Runs in the child between fork and exec: async-signal-safe calls only.
 * The jail's steps come in a fixed order, each checked: the mount
 * namespace (the filesystem view), the session, the limits, then the
 * capabilities and no_new_privs, and the syscall filter last. */
static void __attribute__((noreturn))
child_exec(const struct child *c, int in_fd, int out_fd, int err_fd, int extra_fd, int report_fd)
{
	int e;
	const struct child_jail *j = c->jail;
	/* fd 3 is about to be the log pipe: keep the exec-error pipe above it. */
	if (report_fd <= 3)
		report_fd = fcntl(report_fd, F_DUPFD_CLOEXEC, 4);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	/* Die with the grader: no student program outlives the one who ran it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* A host's network namespace first: the syscall filter denies setns. */
	if (c->netns_fd > 0 && setns(c->netns_fd, CLONE_NEWNET) < 0)
		goto fail;
	if (j && j->mntns_fd >= 0 && setns(j->mntns_fd, CLONE_NEWNS) < 0)
		goto fail;
	if (j && j->new_session) {
		if (setsid() < 0)
			goto fail;
	} else if (c->new_pgrp) {
		setpgid(0, 0);
	}
	if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
		goto fail;
	if (extra_fd > 0 && (extra_fd == 3 ? fcntl(3, F_SETFD, 0) : dup2(extra_fd, 3)) < 0)
		goto fail;
	if (c->cwd && chdir(c->cwd) < 0)
		goto fail;
	if (c->limits.cpu_ms) {
		rlim_t s = (rlim_t)(c->limits.cpu_ms + 999) / 1000;
		struct rlimit rl = { s, s + 1 }; /* SIGXCPU first, then SIGKILL */
		setrlimit(RLIMIT_CPU, &rl);
	}
	if (c->limits.memory_mb)
		set_limit(RLIMIT_AS, (rlim_t)c->limits.memory_mb << 20);
	if (c->limits.file_size_kb)
		set_limit(RLIMIT_FSIZE, (rlim_t)c->limits.file_size_kb << 10);
	if (c->limits.open_files)
		set_limit(RLIMIT_NOFILE, (rlim_t)c->limits.open_files);
	if (c->limits.processes)
		set_limit(RLIMIT_NPROC, (rlim_t)c->limits.processes);
	set_limit(RLIMIT_CORE, 0);
	/* The same run twice must behave the same: with addresses fixed, even
	 * an uninitialised variable holds the same garbage every time. */
	personality(ADDR_NO_RANDOMIZE);
	if (j && j->drop_caps && drop_privileges(j) < 0)
		goto fail;
	if (j && (j->filter ? syscall_filter_install(j->filter) : prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) < 0)
		goto fail;
	/* Every other descriptor of the grader is closed at exec. */
	syscall(SYS_close_range, extra_fd > 0 ? 4U : 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */);
	fcntl(report_fd, F_SETFD, FD_CLOEXEC);
	execve(c->argv[0], c->argv, c->envp);
fail:
	e = errno;
	while (write(report_fd, &e, sizeof e) < 0 && errno == EINTR)
		;
	_exit(127);
}

static int
nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int
child_start(struct child *c, char *err, size_t errlen)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, errp[2] = { -1, -1 }, rep[2] = { -1, -1 };
	c->pid = -1;
	c->out_fd = c->err_fd = -1;
	if (c->stdin_len > CHILD_STDIN_MAX)
		return errf(err, errlen, "stdin of %zu bytes is over the %d-byte limit", c->stdin_len, CHILD_STDIN_MAX);
	if (pipe2(out, O_CLOEXEC) < 0 || (!c->merge_stderr && pipe2(errp, O_CLOEXEC) < 0) ||
	    pipe2(rep, O_CLOEXEC) < 0) {
		errf(err, errlen, "cannot create pipes: %s", strerror(errno));
		goto close_pipes;
	}
	if (c->stdin_data) {
		if (pipe2(in, O_CLOEXEC) < 0 || write_all(in[1], c->stdin_data, c->stdin_len) < 0) {
			errf(err, errlen, "cannot prepare stdin: %s", strerror(errno));
			goto close_pipes;
		}
	} else if ((in[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
		errf(err, errlen, "cannot open /dev/null: %s", strerror(errno));
		goto close_pipes;
	}
	if (in[1] >= 0) {
		close(in[1]);
		in[1] = -1;
	}
	c->started_ms = now_ms();
	/* A jail's PID namespace is entered for the fork only: the caller's
	 * next children are its own again. */
	const struct child_jail *j = c->jail;
	if (j && j->pidns_fd >= 0 && setns(j->pidns_fd, CLONE_NEWPID) < 0) {
		errf(err, errlen, "cannot enter the jail's PID namespace: %s", strerror(errno));
		goto close_pipes;
	}
	pid_t pid = fork();
	int fork_errno = errno;
	if (j && j->pidns_fd >= 0 && setns(j->own_pidns_fd, CLONE_NEWPID) < 0 && pid != 0) {
		/* Every later child would land in the jail: stop here. */
		errf(err, errlen, "cannot leave the jail's PID namespace: %s", strerror(errno));
		if (pid > 0) {
			int st;
			kill(pid, SIGKILL);
			wait_retry(pid, &st, 0);
		}
		goto close_pipes;
	}
	errno = fork_errno;
	if (pid < 0) {
		errf(err, errlen, "cannot fork: %s", strerror(errno));
		goto close_pipes;
	}
	if (pid == 0)
		child_exec(c, in[0], out[1], c->merge_stderr ? out[1] : errp[1], c->extra_fd, rep[1]);
	close(rep[1]);
	rep[1] = -1;
	int e = 0;
	ssize_t n;
	while ((n = read(rep[0], &e, sizeof e)) < 0 && errno == EINTR)
		;
	if (n > 0) {
		int st;
		wait_retry(pid, &st, 0);
		errf(err, errlen, "cannot run \"%s\": %s", c->argv[0], strerror(e));
		goto close_pipes;
	}
	close(rep[0]);
	close(in[0]);
	close(out[1]);
	if (errp[1] >= 0)
		close(errp[1]);
	nonblock(out[0]);
	if (errp[0] >= 0)
		nonblock(errp[0]);
	c->pid = pid;
	c->out_fd = out[0];
	c->err_fd = errp[0];
	return 0;

close_pipes:
	for (int i = 0; i < 2; i++) {
		int *fds[] = { in, out, errp, rep };
		for (int j = 0; j < 4; j++)
			if (fds[j][i] >= 0)
				close(fds[j][i]);
	}
	return -1;
}

void
exit_status_decode(int wstatus, struct exit_status *st)
{
	memset(st, 0, sizeof *st);
	if (WIFEXITED(wstatus)) {
		st->how = EXIT_CODE;
		st->code = WEXITSTATUS(wstatus);
	} else if (WIFSIGNALED(wstatus)) {
		st->how = EXIT_SIGNAL;
		st->signal = WTERMSIG(wstatus);
		st->core = WCOREDUMP(wstatus);
	} else {
		st->how = EXIT_RUNNING;
	}
}

void
exit_status_describe(const struct exit_status *st, char *buf, size_t len)
{
	switch (st->how) {
	case EXIT_CODE:
		snprintf(buf, len, "exited with status %d", st->code);
		break;
	case EXIT_SIGNAL: {
		const char *abbrev = sigabbrev_np(st->signal);
		const char *desc = sigdescr_np(st->signal);
		char words[96];
		snprintf(words, sizeof words, "%s", desc ? desc : "unknown signal");
		/* "Segmentation fault" reads better as "segmentation fault", but
		 * "CPU time limit exceeded" must keep its acronym. */
		if (words[0] >= 'A' && words[0] <= 'Z' && words[1] >= 'a' && words[1] <= 'z')
			words[0] = (char)(words[0] - 'A' + 'a');
		snprintf(buf, len, "was killed by signal SIG%s (%s)", abbrev ? abbrev : "?", words);
		break;
	}
	default:
		snprintf(buf, len, "is still running");
	}
}

pid_t
wait_retry(pid_t pid, int *wstatus, int flags)
{
	pid_t r;
	while ((r = waitpid(pid, wstatus, flags)) < 0 && errno == EINTR)
		;
	return r;
}

int
child_run(struct child *c, int timeout_ms, struct capture *out, struct exit_status *st, int *timed_out,
	  char *err, size_t errlen)
{
	c->merge_stderr = 1;
	c->new_pgrp = 1;
	*timed_out = 0;
	if (child_start(c, err, errlen) < 0)
		return -1;
	int64_t deadline = c->started_ms + timeout_ms;
	while (c->out_fd >= 0) {
		int64_t left = deadline - now_ms();
		if (left <= 0) {
			*timed_out = 1;
			kill(-c->pid, SIGKILL);
			kill(c->pid, SIGKILL);
			break;
		}
		struct pollfd pfd = { c->out_fd, POLLIN, 0 };
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		char buf[16384];
		ssize_t n = read(c->out_fd, buf, sizeof buf);
		if (n > 0)
			capture_add(out, buf, (size_t)n);
		else if (n == 0 || (errno != EINTR && errno != EAGAIN))
			break;
	}
	if (c->out_fd >= 0)
		close(c->out_fd);
	c->out_fd = -1;
	int ws;
	if (wait_retry(c->pid, &ws, 0) < 0)
		return errf(err, errlen, "waitpid: %s", strerror(errno));
	kill(-c->pid, SIGKILL); /* anything of its group left behind */
	exit_status_decode(ws, st);
	return 0;
}

char *
find_in_path(const char *name)
{
	if (strchr(name, '/'))
		return access(name, X_OK) == 0 ? xstrdup(name) : NULL;
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		char *cand = xstrfmt("%.*s/%s", (int)n, n ? path : ".", name);
		if (access(cand, X_OK) == 0)
			return cand;
		free(cand);
		path += n + (path[n] == ':');
	}
	return NULL;
}
