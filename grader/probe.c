#define _GNU_SOURCE
#include "probe.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "match.h"
#include "procinfo.h"
#include "sandbox.h"
#include "sockdiag.h"

/* ---- sockets: what the kernel lists --------------------------------------
 *
 * A readiness condition is re-checked many times while a server starts (a
 * Valgrind start takes seconds), so each check must be cheap: sockets are
 * looked up through sock_diag netlink (sockdiag.c), which answers from the
 * listening hash alone, filtered by port in the kernel.  /proc/net stays as
 * the fallback where no netlink socket can be opened (a kernel without it,
 * a filter denying it) or the kernel cannot answer the request (a diag
 * module missing): the question is then answered the slow way, never
 * wrongly. */

/* What inet_found() saw of the first socket on the port. */
struct inet_want {
	int backlog, queued; /* of the socket found (TCP listening sockets) */
};

static int
inet_found(const struct sockdiag_sock *s, void *arg)
{
	struct inet_want *w = arg;
	w->backlog = (int)s->wqueue;
	w->queued = (int)s->rqueue;
	return 1;
}

/* Is an IPv4 or IPv6 socket of kind (TCP: listening; UDP: in any state)
 * on port?  1 yes, 0 no, -1 the kernel could not be asked (errno set). */
static int
diag_inet(unsigned kind, int port, int listen_only, struct inet_want *w)
{
	/* UDP sockets are TCP_CLOSE when bound, TCP_ESTABLISHED when connected */
	struct sockdiag_query q = { .kinds = kind, .states = listen_only ? 1u << TCP_LISTEN : 0, .port = port };
	return sockdiag_each(-1, &q, inet_found, w);
}

/* Both names as the kernel would resolve them from cwd: either may be
 * relative to the programs' working folder. */
static int
unix_name_matches(const char *name, const char *want, const char *cwd)
{
	char *a = name[0] == '/' || !cwd ? xstrdup(name) : xstrfmt("%s/%s", cwd, name);
	char *b = want[0] == '/' || !cwd ? xstrdup(want) : xstrfmt("%s/%s", cwd, want);
	int same = !strcmp(a, b);
	free(a);
	free(b);
	return same;
}

struct unix_want {
	const char *path, *cwd;
};

static int
unix_match(const struct sockdiag_sock *s, void *arg)
{
	const struct unix_want *w = arg;
	/* A stream socket that is bound but does not listen yet would refuse
	 * a client: not ready.  (A datagram socket is ready once bound.) */
	if (s->type != SOCK_DGRAM && s->state == TCP_CLOSE)
		return 0;
	/* An abstract name (a leading NUL) is not a path: a spec names paths. */
	if (!s->path[0] || s->abstract)
		return 0;
	return unix_name_matches(s->path, w->path, w->cwd);
}

/* Is a Unix-domain socket ready at path: listening, a bound datagram
 * socket, or an accepted connection (which shares its server's name)? */
static int
diag_unix(const char *path, const char *cwd)
{
	struct sockdiag_query q = { .kinds = SOCKDIAG_UNIX };
	struct unix_want w = { path, cwd };
	return sockdiag_each(-1, &q, unix_match, &w);
}

/* The fallback: does /proc/net/<file> list a socket on port (in the wanted
 * state)? */
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

/* The fallback for Unix-domain sockets: /proc/net/unix. */
static int
proc_net_unix_bound(const char *want, const char *cwd)
{
	FILE *f = fopen("/proc/net/unix", "re");
	if (!f)
		return 0;
	char line[512];
	int found = 0;
	while (!found && fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		char *path = strrchr(line, ' ');
		unsigned long flags;
		unsigned type, st;
		if (!path || !*++path || path[0] == '@')
			continue;
		/* Num RefCount Protocol Flags Type St ...: a stream socket that
		 * is not listening (__SO_ACCEPTCON) nor connected is not ready. */
		if (sscanf(line, "%*s %*s %*s %lx %x %x", &flags, &type, &st) == 3 && type != SOCK_DGRAM &&
		    !(flags & 0x10000) && st == 1)
			continue;
		found = unix_name_matches(path, want, cwd);
	}
	fclose(f);
	return found;
}

static int
tcp_listening(int port)
{
	struct inet_want w = { 0 };
	int rc = diag_inet(SOCKDIAG_TCP, port, 1, &w);
	if (rc >= 0)
		return rc;
	return proc_net_has_port("tcp", port, "0A") || proc_net_has_port("tcp6", port, "0A");
}

static int
udp_bound(int port)
{
	struct inet_want w = { 0 };
	int rc = diag_inet(SOCKDIAG_UDP, port, 0, &w);
	if (rc >= 0)
		return rc;
	return proc_net_has_port("udp", port, NULL) || proc_net_has_port("udp6", port, NULL);
}

static int
unix_bound(const char *want, const char *cwd)
{
	int rc = diag_unix(want, cwd);
	if (rc >= 0)
		return rc;
	return proc_net_unix_bound(want, cwd);
}

int
ready_listen_backlog(int port, int *backlog, int *queued)
{
	struct inet_want w = { 0 };
	int rc = diag_inet(SOCKDIAG_TCP, port, 1, &w);
	if (rc == 1) {
		*backlog = w.backlog;
		*queued = w.queued;
	}
	return rc;
}

int
ready_check(const struct ready *r, const char *out, size_t outlen, const char *cwd)
{
	struct stat st;
	switch (r->kind) {
	case READY_NONE:
		return 1;
	case READY_TCP:
		return tcp_listening(r->port);
	case READY_UDP:
		return udp_bound(r->port);
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

int
ready_swapped(const struct ready *r)
{
	if (r->kind != READY_TCP && r->kind != READY_UDP)
		return 0;
	/* A port given to bind() without htons(): 2021 (0x07e5) becomes 58631. */
	int swapped = ((r->port & 0xff) << 8) | (r->port >> 8);
	return swapped != r->port && (r->kind == READY_TCP ? tcp_listening(swapped) : udp_bound(swapped)) == 1;
}

void
ready_explain(const struct ready *r, pid_t pid, struct strbuf *sb)
{
	if (r->kind != READY_TCP && r->kind != READY_UDP && r->kind != READY_UNIX)
		return;
	int swapped = ((r->port & 0xff) << 8) | (r->port >> 8);
	if (ready_swapped(r)) {
		sb_addf(sb, "; a %s socket %s port %d instead: that is %d with its two bytes swapped, a port given to bind() without htons() (write sin_port = htons(%d))",
			r->kind == READY_TCP ? "TCP" : "UDP", r->kind == READY_TCP ? "listens on" : "is bound to", swapped,
			r->port, r->port);
		return;
	}
	struct fdinfo *fds;
	size_t n = fds_list(pid, &fds);
	int shown = 0;
	for (size_t i = 0; i < n && shown < 4; i++) {
		if (fds[i].kind != FD_SOCKET)
			continue;
		sb_adds(sb, shown++ ? ", " : "; its sockets: ");
		sb_addf(sb, "fd %d (", fds[i].fd);
		socket_describe(fds[i].ino, sb);
		sb_adds(sb, ")");
	}
	if (!shown)
		sb_adds(sb, "; it has no socket open");
	free(fds);
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

int
probe_port_busy(int port)
{
	static const unsigned kinds[] = { SOCKDIAG_TCP, SOCKDIAG_UDP };
	static const char *const files[] = { "tcp", "tcp6", "udp", "udp6" };
	int busy = 0;
	for (size_t i = 0; !busy && i < sizeof kinds / sizeof *kinds; i++) {
		struct inet_want w = { 0 };
		int rc = diag_inet(kinds[i], port, 0, &w);
		if (rc < 0) { /* no sock_diag: the slow way */
			for (size_t k = 0; !busy && k < sizeof files / sizeof *files; k++)
				busy = proc_net_has_port(files[k], port, NULL);
			return busy;
		}
		busy = rc;
	}
	return busy;
}

long
probe_cpu_ms(pid_t pid)
{
	struct pinfo pi;
	return pinfo_get(pid, &pi) == 0 ? pi.cpu_ms : -1;
}

/* "your pipe (pid 2)" or "pid 3 (pipe)": pid as the program knows itself. */
static void
name_holder(pid_t pid, probe_name_fn name, void *arg, struct strbuf *sb)
{
	const char *who = name ? name(pid, arg) : NULL;
	pid_t inner = sandbox_inner_pid(pid);
	if (who) {
		sb_addf(sb, "%s (pid %d)", who, (int)inner);
		return;
	}
	struct pinfo pi;
	sb_addf(sb, "pid %d", (int)inner);
	if (pinfo_get(pid, &pi) == 0)
		sb_addf(sb, " (%s)", pi.comm);
}

void
probe_pipe_holders(pid_t pid, int fd, probe_name_fn name, void *arg, struct strbuf *sb)
{
	struct fdinfo *mine;
	size_t nmine = fds_list(pid, &mine);
	const struct fdinfo *f = NULL;
	for (size_t i = 0; i < nmine; i++)
		if (mine[i].fd == fd)
			f = &mine[i];
	if (!f || f->kind != FD_PIPE) {
		free(mine);
		return;
	}
	int reading = !f->writes;
	unsigned long ino = f->ino;
	const char *what = f->target[0] == '/' ? "FIFO" : "pipe";
	struct pinfo *v;
	size_t n = pinfo_list(&v);
	struct strbuf holders = STRBUF_INIT;
	int count = 0;
	for (size_t i = 0; i < n; i++) {
		struct fdinfo *fds;
		size_t nfds = fds_list(v[i].pid, &fds);
		for (size_t k = 0; k < nfds; k++) {
			if (fds[k].kind != FD_PIPE || fds[k].ino != ino || fds[k].writes != reading)
				continue;
			sb_adds(&holders, count++ ? ", " : "");
			if (v[i].pid == pid)
				sb_addf(&holders, "this process itself (fd %d)", fds[k].fd);
			else {
				name_holder(v[i].pid, name, arg, &holders);
				sb_addf(&holders, " fd %d", fds[k].fd);
			}
		}
		free(fds);
	}
	free(v);
	free(mine);
	if (reading && count)
		sb_addf(sb, "  it waits for data on fd %d, the read end of a %s; read() returns 0 (end of file) only once every write end is closed, and %s still held by: %s\n",
			fd, what, count == 1 ? "one is" : "write ends are", holders.buf);
	else if (!reading && count)
		sb_addf(sb, "  it waits for room on fd %d, the write end of a full %s; the read end is held by %s, which does not read\n",
			fd, what, holders.buf);
	sb_release(&holders);
}

void
probe_hang(pid_t pid, struct strbuf *sb, probe_name_fn name, void *arg)
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
	long nr = -1, fd = -1;
	int running = state == 'R' || (sc && !strncmp(sc, "running", 7));
	if (sc && sc[0] >= '0' && sc[0] <= '9') {
		char *end;
		nr = strtol(sc, &end, 10);
		fd = strtol(end, NULL, 16); /* the first argument: a descriptor for read() and write() */
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
		sb_addf(sb, "  it was blocked in %s%s%s%s (%ld ms of CPU time used)\n", scname, strchr(scname, ' ') ? "" : "()",
			words ? ": " : "", words ? words : "", cpu);
	else if (wchan && *wchan && strcmp(wchan, "0"))
		sb_addf(sb, "  it was blocked in the kernel at %s (%ld ms of CPU time used)\n", wchan, cpu);
	free(wchan);
	if (!running && (nr == SYS_read || nr == SYS_write || nr == SYS_readv || nr == SYS_writev) && fd >= 0 && fd < 65536)
		probe_pipe_holders(pid, (int)fd, name, arg, sb);

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
