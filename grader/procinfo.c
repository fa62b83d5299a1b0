#define _GNU_SOURCE
#include "procinfo.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <unistd.h>

static long
ticks_ms(unsigned long long t)
{
	return (long)(t * 1000 / (unsigned long long)sysconf(_SC_CLK_TCK));
}

int
pinfo_get(pid_t pid, struct pinfo *out)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	char *stat = read_file(path, 4096, NULL);
	char *open = stat ? strchr(stat, '(') : NULL, *close = stat ? strrchr(stat, ')') : NULL;
	int ppid, sid;
	unsigned long long ut, st, cut, cst;
	unsigned flags;
	char state;
	/* After "comm)": state ppid pgrp session tty tpgid flags minflt cminflt
	 * majflt cmajflt utime stime cutime cstime */
	if (!open || !close || close < open ||
	    sscanf(close + 1, " %c %d %*d %d %*d %*d %u %*u %*u %*u %*u %llu %llu %llu %llu", &state, &ppid, &sid,
		   &flags, &ut, &st, &cut, &cst) != 8) {
		free(stat);
		return -1;
	}
	memset(out, 0, sizeof *out);
	out->pid = pid;
	out->ppid = ppid;
	out->sid = sid;
	out->state = state;
	out->exiting = (flags & 0x4) != 0; /* PF_EXITING, include/linux/sched.h */
	size_t len = (size_t)(close - open - 1);
	if (len >= sizeof out->comm)
		len = sizeof out->comm - 1;
	for (size_t i = 0; i < len; i++) /* a name is the program's choice: printable only */
		out->comm[i] = open[1 + i] >= 0x20 && open[1 + i] < 0x7f ? open[1 + i] : '?';
	out->cpu_ms = ticks_ms(ut + st);
	out->ccpu_ms = ticks_ms(cut + cst);
	free(stat);
	return 0;
}

size_t
pinfo_list(struct pinfo **out)
{
	size_t n = 0, cap = 16;
	struct pinfo *v = xmalloc(cap * sizeof *v);
	DIR *d = opendir("/proc");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (*end || pid <= 0)
			continue;
		if (n == cap)
			v = xrealloc(v, (cap *= 2) * sizeof *v);
		if (pinfo_get((pid_t)pid, &v[n]) == 0)
			n++;
	}
	if (d)
		closedir(d);
	*out = v;
	return n;
}

/* run and wait of pid from its schedstat, in ns; 0 or -1. */
static int
sched_ns(long pid, unsigned long long *run, unsigned long long *wait)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%ld/schedstat", pid);
	char *text = read_file(path, 256, NULL);
	int ok = text && sscanf(text, "%llu %llu", run, wait) == 2;
	free(text);
	return ok ? 0 : -1;
}

int
pinfo_sched(pid_t pid, long *run_ms, long *wait_ms)
{
	unsigned long long run_ns = 0, wait_ns = 0, run, wait;
	int any = 0;
	if (pid > 0) {
		any = sched_ns(pid, &run_ns, &wait_ns) == 0;
	} else {
		DIR *d = opendir("/proc");
		struct dirent *e;
		while (d && (e = readdir(d))) {
			char *end;
			long p = strtol(e->d_name, &end, 10);
			if (*end || p <= 0 || sched_ns(p, &run, &wait) < 0)
				continue;
			run_ns += run;
			wait_ns += wait;
			any = 1;
		}
		if (d)
			closedir(d);
	}
	*run_ms = (long)(run_ns / 1000000);
	*wait_ms = (long)(wait_ns / 1000000);
	return any ? 0 : -1;
}

int
pinfo_in_tree(const struct pinfo *v, size_t n, pid_t root, pid_t pid)
{
	for (size_t hops = 0; hops <= n && pid > 0; hops++) {
		if (pid == root)
			return 1;
		pid_t parent = 0;
		for (size_t i = 0; i < n; i++)
			if (v[i].pid == pid)
				parent = v[i].ppid;
		pid = parent;
	}
	return 0;
}

/* ---- reading another user's /proc/PID/fd ------------------------------
 *
 * What a descriptor is (/proc/PID/fd/N, fdinfo/N) is shown to a process
 * that may ptrace pid: the same user (pid dumpable) or CAP_SYS_PTRACE.
 * The sandbox runs programs as a uid of their own, and a container's root
 * (Docker's default capabilities) has no CAP_SYS_PTRACE; but it may take
 * the program's user as its filesystem identity, which is what that check
 * compares.  A program that made itself non-dumpable stays hidden: then
 * fds_readable() says so and the checks end as errors. */

struct as_owner {
	int switched, old_uid, old_gid;
};

/* Takes pid's uid and gid as this thread's filesystem ids, when root. */
static void
as_owner_begin(pid_t pid, struct as_owner *o)
{
	o->switched = 0;
	if (geteuid() != 0)
		return;
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	char *st = read_file(path, 16384, NULL), *u = st ? strstr(st, "\nUid:") : NULL, *g = st ? strstr(st, "\nGid:") : NULL;
	unsigned long uid, gid;
	/* Real, effective, saved, filesystem: the effective ones. */
	if (u && g && sscanf(u, "\nUid: %*u %lu", &uid) == 1 && sscanf(g, "\nGid: %*u %lu", &gid) == 1 && uid != 0) {
		o->old_gid = setfsgid((gid_t)gid);
		o->old_uid = setfsuid((uid_t)uid);
		o->switched = 1;
	}
	free(st);
}

static void
as_owner_end(const struct as_owner *o)
{
	if (!o->switched)
		return;
	int saved = errno;
	setfsuid((uid_t)o->old_uid); /* root again first: then the gid may change back */
	setfsgid((gid_t)o->old_gid);
	errno = saved;
}

/* readlink() of pid's descriptor link, as its owner when root is refused. */
static ssize_t
fd_readlink(pid_t pid, const char *link, char *buf, size_t len)
{
	ssize_t n = readlink(link, buf, len);
	if (n >= 0 || errno != EACCES)
		return n;
	struct as_owner o;
	as_owner_begin(pid, &o);
	if (!o.switched)
		return -1;
	n = readlink(link, buf, len);
	as_owner_end(&o);
	return n;
}

int
fds_readable(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return errno == ENOENT || errno == ESRCH ? 0 : -1;
	int rc = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		char *end, link[96], target[16];
		long fd = strtol(e->d_name, &end, 10);
		if (*end || end == e->d_name || fd < 0)
			continue;
		snprintf(link, sizeof link, "%s/%ld", path, fd);
		if (fd_readlink(pid, link, target, sizeof target) >= 0)
			break; /* one is enough: they are all guarded alike */
		if (errno != ENOENT) { /* ENOENT: closed meanwhile, try the next */
			rc = -1;
			break;
		}
	}
	int saved = errno;
	closedir(d);
	errno = saved;
	return rc;
}

size_t
fds_list(pid_t pid, struct fdinfo **out)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	size_t n = 0, cap = 8;
	struct fdinfo *v = xmalloc(cap * sizeof *v);
	DIR *d = opendir(path);
	struct dirent *e;
	struct as_owner owner = { 0 };
	while (d && (e = readdir(d))) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);
		if (*end || fd < 0 || end == e->d_name)
			continue;
		char link[96];
		snprintf(link, sizeof link, "/proc/%d/fd/%ld", (int)pid, fd);
		struct fdinfo f = { .fd = (int)fd };
		ssize_t len = readlink(link, f.target, sizeof f.target - 1);
		if (len < 0 && errno == EACCES && !owner.switched) {
			as_owner_begin(pid, &owner); /* for the rest of the listing */
			len = readlink(link, f.target, sizeof f.target - 1);
		}
		if (len < 0)
			continue;
		f.target[len] = '\0';
		if (sscanf(f.target, "pipe:[%lu]", &f.ino) == 1)
			f.kind = FD_PIPE;
		else if (sscanf(f.target, "socket:[%lu]", &f.ino) == 1)
			f.kind = FD_SOCKET;
		else if (f.target[0] == '/')
			f.kind = FD_FILE;
		else
			f.kind = FD_OTHER;
		snprintf(link, sizeof link, "/proc/%d/fdinfo/%ld", (int)pid, fd);
		char *info = read_file(link, 4096, NULL), *flags = info ? strstr(info, "flags:") : NULL;
		if (flags) {
			unsigned long fl = strtoul(flags + 6, NULL, 8);
			f.writes = (fl & O_ACCMODE) != O_RDONLY;
		}
		free(info);
		if (n == cap)
			v = xrealloc(v, (cap *= 2) * sizeof *v);
		v[n++] = f;
	}
	as_owner_end(&owner);
	if (d)
		closedir(d);
	/* In the order of their numbers: the same report every run. */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && v[j - 1].fd > v[j].fd; j--) {
			struct fdinfo t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	*out = v;
	return n;
}

/* ---- sockets by inode, from the kernel's tables ----------------------- */

static const char *const tcp_states[] = { "?", "connected", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
					  "TIME_WAIT", "closed", "closed by the peer", "LAST_ACK", "listening",
					  "CLOSING" };

static void
addr_text(const char *hex, int v6, char *buf, size_t len)
{
	unsigned a[4], port;
	if (!v6 && sscanf(hex, "%8X:%X", &a[0], &port) == 2) {
		snprintf(buf, len, "%u.%u.%u.%u:%u", a[0] & 255, (a[0] >> 8) & 255, (a[0] >> 16) & 255, a[0] >> 24,
			 port);
		return;
	}
	const char *colon = strchr(hex, ':');
	snprintf(buf, len, "[ipv6]:%lu", colon ? strtoul(colon + 1, NULL, 16) : 0UL);
}

static int
inet_describe(const char *file, const char *proto, int v6, unsigned long ino, struct strbuf *sb)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/net/%s", file);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	char line[512];
	int found = 0;
	if (!fgets(line, sizeof line, f)) /* the header */
		line[0] = '\0';
	while (!found && fgets(line, sizeof line, f)) {
		char local[64], remote[64];
		unsigned state;
		unsigned long inode;
		if (sscanf(line, " %*d: %63s %63s %X %*s %*s %*s %*u %*u %lu", local, remote, &state, &inode) != 4 ||
		    inode != ino)
			continue;
		char l[64], r[64];
		addr_text(local, v6, l, sizeof l);
		addr_text(remote, v6, r, sizeof r);
		const char *st = state < sizeof tcp_states / sizeof *tcp_states ? tcp_states[state] : "?";
		if (!strcmp(proto, "TCP") && state == 10)
			sb_addf(sb, "a TCP socket listening on %s", l);
		else if (!strcmp(proto, "TCP"))
			sb_addf(sb, "a TCP connection %s - %s (%s)", l, r, st);
		else
			sb_addf(sb, "a UDP socket on %s", l);
		found = 1;
	}
	fclose(f);
	return found;
}

void
socket_describe(unsigned long ino, struct strbuf *sb)
{
	static const struct {
		const char *file, *proto;
		int v6;
	} tables[] = { { "tcp", "TCP", 0 }, { "tcp6", "TCP", 1 }, { "udp", "UDP", 0 }, { "udp6", "UDP", 1 } };
	for (size_t i = 0; i < sizeof tables / sizeof *tables; i++)
		if (inet_describe(tables[i].file, tables[i].proto, tables[i].v6, ino, sb))
			return;
	FILE *f = fopen("/proc/net/unix", "re");
	char line[512];
	int found = 0;
	if (f && !fgets(line, sizeof line, f))
		line[0] = '\0';
	while (f && !found && fgets(line, sizeof line, f)) {
		unsigned long inode;
		int off = 0;
		if (sscanf(line, "%*s %*s %*s %*s %*s %*s %lu%n", &inode, &off) != 1 || inode != ino)
			continue;
		char *path = line + off;
		path += strspn(path, " ");
		path[strcspn(path, "\n")] = '\0';
		if (*path) {
			sb_adds(sb, "a Unix-domain socket (");
			sb_add_printable(sb, path, strlen(path));
			sb_adds(sb, ")");
		} else {
			sb_adds(sb, "a Unix-domain socket");
		}
		found = 1;
	}
	if (f)
		fclose(f);
	if (!found)
		sb_adds(sb, "a socket");
}
