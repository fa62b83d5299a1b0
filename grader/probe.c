#define _GNU_SOURCE
#include "probe.h"

#include <dirent.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "match.h"

/* Does /proc/net/<file> list a socket on port (in the wanted state)? */
static int
proc_net_has_port(const char *file, int port, const char *state)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/net/%s", file);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	char line[512];
	int found = 0;
	if (!fgets(line, sizeof line, f)) { /* header */
		fclose(f);
		return 0;
	}
	while (!found && fgets(line, sizeof line, f)) {
		char local[128], remote[128], st[8];
		if (sscanf(line, "%*s %127s %127s %7s", local, remote, st) != 3)
			continue;
		char *colon = strrchr(local, ':');
		if (colon && strtol(colon + 1, NULL, 16) == port && (!state || !strcmp(st, state)))
			found = 1;
	}
	fclose(f);
	return found;
}

static int
unix_bound(const char *want, const char *cwd)
{
	FILE *f = fopen("/proc/net/unix", "re");
	if (!f)
		return 0;
	char line[512];
	int found = 0;
	while (!found && fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		char *path = strrchr(line, ' ');
		if (!path || !*++path || path[0] == '@')
			continue;
		/* Either may be relative to the programs' working folder. */
		char *a = path[0] == '/' || !cwd ? xstrdup(path) : xstrfmt("%s/%s", cwd, path);
		char *b = want[0] == '/' || !cwd ? xstrdup(want) : xstrfmt("%s/%s", cwd, want);
		found = !strcmp(a, b);
		free(a);
		free(b);
	}
	fclose(f);
	return found;
}

int
ready_check(const struct ready *r, const char *out, size_t outlen, const char *cwd)
{
	struct stat st;
	switch (r->kind) {
	case READY_NONE:
		return 1;
	case READY_TCP:
		return proc_net_has_port("tcp", r->port, "0A") || proc_net_has_port("tcp6", r->port, "0A");
	case READY_UDP:
		return proc_net_has_port("udp", r->port, NULL) || proc_net_has_port("udp6", r->port, NULL);
	case READY_UNIX:
		return unix_bound(r->text, cwd);
	case READY_PATH: {
		char *path = r->text[0] == '/' || !cwd ? xstrdup(r->text) : xstrfmt("%s/%s", cwd, r->text);
		int found = stat(path, &st) == 0;
		free(path);
		return found;
	}
	case READY_MQUEUE: { /* the sandbox's init shares the test's IPC namespace */
		mqd_t q = mq_open(r->text, O_RDONLY | O_NONBLOCK);
		if (q == (mqd_t)-1)
			return 0;
		mq_close(q);
		return 1;
	}
	case READY_STDOUT:
		return match_regex(r->text, out, outlen) == 1;
	}
	return 0;
}

void
ready_describe(const struct ready *r, struct strbuf *sb)
{
	switch (r->kind) {
	case READY_TCP:
		sb_addf(sb, "a TCP socket listening on port %d", r->port);
		break;
	case READY_UDP:
		sb_addf(sb, "a UDP socket bound to port %d", r->port);
		break;
	case READY_UNIX:
		sb_addf(sb, "a Unix-domain socket bound to \"%s\"", r->text);
		break;
	case READY_PATH:
		sb_addf(sb, "\"%s\" to exist", r->text);
		break;
	case READY_MQUEUE:
		sb_addf(sb, "a message queue \"%s\"", r->text);
		break;
	case READY_STDOUT:
		sb_addf(sb, "a line matching /%s/ on stdout", r->text);
		break;
	default:
		sb_adds(sb, "nothing");
	}
}

static const struct {
	long nr;
	const char *name;
} syscalls[] = {
	{ SYS_read, "read" }, { SYS_write, "write" }, { SYS_accept, "accept" }, { SYS_accept4, "accept4" },
	{ SYS_recvfrom, "recv/recvfrom" }, { SYS_recvmsg, "recvmsg" }, { SYS_sendto, "send/sendto" },
	{ SYS_sendmsg, "sendmsg" }, { SYS_connect, "connect" }, { SYS_wait4, "wait/waitpid" },
	{ SYS_waitid, "waitid" }, { SYS_nanosleep, "sleep/nanosleep" },
	{ SYS_clock_nanosleep, "sleep/clock_nanosleep" }, { SYS_futex, "futex (a lock or semaphore)" },
	{ SYS_pselect6, "select" }, { SYS_ppoll, "poll" }, { SYS_epoll_wait, "epoll_wait" },
	{ SYS_epoll_pwait, "epoll_wait" }, { SYS_openat, "open" }, { SYS_msgrcv, "msgrcv" },
	{ SYS_msgsnd, "msgsnd" }, { SYS_mq_timedreceive, "mq_receive" }, { SYS_mq_timedsend, "mq_send" },
	{ SYS_rt_sigsuspend, "sigsuspend" }, { SYS_rt_sigtimedwait, "sigwait" }, { SYS_semtimedop, "semop" },
#ifdef SYS_pause
	{ SYS_pause, "pause" },
#endif
#ifdef SYS_poll
	{ SYS_poll, "poll" },
#endif
#ifdef SYS_select
	{ SYS_select, "select" },
#endif
#ifdef SYS_open
	{ SYS_open, "open" },
#endif
};

/* Kernel wait channels, in words. */
static const struct {
	const char *wchan, *words;
} waits[] = {
	{ "inet_csk_accept", "waiting in accept() for a client to connect" },
	{ "unix_accept", "waiting in accept() for a client to connect" },
	{ "sk_wait_data", "waiting for data on a socket" },
	{ "wait_woken", "waiting for data on a socket" },
	{ "unix_stream_read_generic", "waiting for data on a Unix-domain socket" },
	{ "unix_stream_data_wait", "waiting for data on a Unix-domain socket" },
	{ "__skb_wait_for_more_packets", "waiting for a datagram" },
	{ "pipe_read", "waiting to read from a pipe or FIFO nobody writes to" },
	{ "pipe_write", "waiting for room in a full pipe or FIFO nobody reads" },
	{ "wait_for_partner", "opening a FIFO, waiting for a process to open the other end" },
	{ "fifo_open", "opening a FIFO, waiting for a process to open the other end" },
	{ "do_wait", "waiting for a child process to exit" },
	{ "hrtimer_nanosleep", "sleeping" },
	{ "do_nanosleep", "sleeping" },
	{ "futex_wait", "waiting on a lock, semaphore or condition" },
	{ "futex_wait_queue", "waiting on a lock, semaphore or condition" },
	{ "do_sys_poll", "waiting in poll()" },
	{ "poll_schedule_timeout", "waiting in poll() or select()" },
	{ "do_select", "waiting in select()" },
	{ "ep_poll", "waiting in epoll_wait()" },
	{ "wq_sleep", "waiting on a POSIX message queue" },
	{ "do_msgrcv", "waiting for a System V message" },
	{ "sigsuspend", "waiting for a signal" },
	{ "__inet_stream_connect", "waiting for connect() to complete" },
	{ "inet_wait_for_connect", "waiting for connect() to complete" },
	{ "sk_stream_wait_memory", "waiting to send: the peer is not reading" },
};

/* CPU time (user + system) pid has used so far, in ms; -1 if unknown. */
static long
probe_cpu_ms(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	char *stat = read_file(path, 4096, NULL);
	if (!stat)
		return -1;
	long ms = -1;
	char *p = strrchr(stat, ')');
	unsigned long ut, stt;
	/* After "comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
	if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &stt) == 2)
		ms = (long)((ut + stt) * 1000 / (unsigned long)sysconf(_SC_CLK_TCK));
	free(stat);
	return ms;
}

void
probe_hang(pid_t pid, struct strbuf *sb)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	char *stat = read_file(path, 4096, NULL), state = '?';
	char *p = stat ? strrchr(stat, ')') : NULL;
	if (p)
		state = p[2];
	free(stat);
	snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
	char *sc = read_file(path, 512, NULL);
	const char *scname = NULL;
	int running = state == 'R' || (sc && !strncmp(sc, "running", 7));
	if (sc && sc[0] >= '0' && sc[0] <= '9') {
		long nr = strtol(sc, NULL, 10);
		for (size_t i = 0; i < sizeof syscalls / sizeof *syscalls; i++)
			if (syscalls[i].nr == nr)
				scname = syscalls[i].name;
		if (!scname)
			scname = "system call";
	}
	free(sc);
	snprintf(path, sizeof path, "/proc/%d/wchan", (int)pid);
	char *wchan = read_file(path, 128, NULL);
	const char *words = NULL;
	for (size_t i = 0; wchan && i < sizeof waits / sizeof *waits; i++)
		if (!strcmp(wchan, waits[i].wchan))
			words = waits[i].words;
	long cpu = probe_cpu_ms(pid);
	if (running)
		sb_addf(sb, "  it was running, not blocked: %ld ms of CPU time used (a busy loop?)\n", cpu);
	else if (scname)
		sb_addf(sb, "  it was blocked in %s()%s%s (%ld ms of CPU time used)\n", scname,
			words ? ": " : "", words ? words : "", cpu);
	else if (wchan && *wchan && strcmp(wchan, "0"))
		sb_addf(sb, "  it was blocked in the kernel at %s (%ld ms of CPU time used)\n", wchan, cpu);
	free(wchan);

	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return;
	struct strbuf fds = STRBUF_INIT;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char link[320], target[256];
		snprintf(link, sizeof link, "%s/%s", path, e->d_name);
		ssize_t n = readlink(link, target, sizeof target - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		sb_addf(&fds, "%s%s=%s", fds.len ? ", " : "", e->d_name, target);
	}
	closedir(d);
	if (fds.len)
		sb_addf(sb, "  open descriptors: %s\n", fds.buf);
	sb_release(&fds);
}
