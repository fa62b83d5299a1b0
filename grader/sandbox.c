/* The sandbox: theory of operation.
 *
 * Every test runs in a sandbox of its own.  sandbox_run() clones a child
 * into new user, PID, network, IPC, mount and UTS namespaces.  The parent
 * (still in the machine's namespaces) writes the child's uid/gid maps and
 * then lets it go through a pipe.  The child is pid 1 of the new PID
 * namespace: the sandbox's init.  It
 *
 *   - makes every mount private, mounts fresh tmpfs on /tmp and /dev/shm, an
 *     mqueue filesystem on /dev/mqueue and a proc for its own PID namespace,
 *     and re-binds the "keep paths" (the scratch folder with the programs)
 *     read-only at their old places when /tmp covered them;
 *   - brings up lo, the only interface of its network namespace: tests bind
 *     the same ports at the same moment without seeing each other, and no
 *     packet can leave;
 *   - runs the test body (sandbox_fn).  The test's processes are its
 *     children; as pid 1 it also inherits and reaps every orphan.
 *
 * The user namespace maps root inside to an unprivileged uid outside (the
 * caller's own uid, or "nobody" when the grader runs as root).  That is what
 * makes RLIMIT_NPROC bite even for root, and it keeps the caps a student
 * program holds inside confined to namespaces that die with the test.
 *
 * Teardown: the body kills what is left with kill(-1, SIGKILL), which as
 * pid 1 reaches every process of the namespace however it detached itself
 * (setsid, double fork), and reports what it had to kill.  When the init
 * exits the kernel kills anything still in the namespace anyway; the mounts,
 * the network, the IPC objects (POSIX and SysV shm, message queues) go with
 * their namespaces.  The parent keeps a backstop deadline and SIGKILLs the
 * init if it does not report in time; the init also dies with the parent.
 *
 * Without permission to create namespaces (a container without SYS_ADMIN,
 * user namespaces disabled), the mode is "none": the child becomes a
 * subreaper instead, drops root for "nobody" so that RLIMIT_NPROC applies,
 * and kills its descendants at teardown; the report says so and
 * --require-isolation refuses to run. */
#define _GNU_SOURCE
#include "sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawn.h"

#define NOBODY 65534
#define SETTLE_MS 100 /* at most, for leftovers to stop running */
#define NS_FLAGS (CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWNS | CLONE_NEWUTS)

static enum isolation current_mode = ISOLATION_NAMESPACES;

static int
write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = write_all(fd, text, strlen(text));
	if (close(fd) < 0)
		rc = -1;
	return rc;
}

/* Root inside maps to the caller outside, or to nobody when the caller is
 * root (root outside would be exempt from RLIMIT_NPROC). */
static int
write_id_maps(pid_t pid, char *err, size_t errlen)
{
	char path[64], map[64];
	uid_t uid = geteuid() == 0 ? NOBODY : geteuid();
	gid_t gid = geteuid() == 0 ? NOBODY : getegid();
	snprintf(path, sizeof path, "/proc/%d/setgroups", (int)pid);
	if (geteuid() != 0 && write_text(path, "deny") < 0)
		return errf(err, errlen, "cannot write %s: %s", path, strerror(errno));
	snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
	snprintf(map, sizeof map, "0 %u 1\n", (unsigned)uid);
	if (write_text(path, map) < 0)
		return errf(err, errlen, "cannot write %s: %s", path, strerror(errno));
	snprintf(path, sizeof path, "/proc/%d/gid_map", (int)pid);
	snprintf(map, sizeof map, "0 %u 1\n", (unsigned)gid);
	if (write_text(path, map) < 0)
		return errf(err, errlen, "cannot write %s: %s", path, strerror(errno));
	return 0;
}

static int
path_is_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return !strncmp(path, dir, n) && (path[n] == '/' || path[n] == '\0');
}

static int
bring_up_lo(char *err, size_t errlen)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return errf(err, errlen, "socket: %s", strerror(errno));
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
	int rc = ioctl(s, SIOCGIFFLAGS, &ifr);
	if (rc == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		rc = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	if (rc < 0)
		errf(err, errlen, "cannot bring up lo: %s", strerror(errno));
	close(s);
	return rc;
}

/* Runs in the init, inside the new namespaces. */
static int
setup_namespaces(const struct sandbox_config *cfg, char *err, size_t errlen)
{
	static const char *const covered[] = { "/tmp", "/dev/shm" };
	int keep_fd[16];
	size_t nkeep = 0;

	/* Become the mapped root: until then we still carry the caller's ids,
	 * which (for root) have no mapping here. */
	if (geteuid() != 0 || getegid() != 0 || getuid() != 0)
		if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
			return errf(err, errlen, "cannot become root in the user namespace: %s", strerror(errno));
	setgroups(0, NULL); /* refused (harmlessly) where setgroups is denied */
	if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0)
		return errf(err, errlen, "cannot make mounts private: %s", strerror(errno));
	for (const char *const *k = cfg->keep_paths; k && *k && nkeep < 16; k++, nkeep++) {
		keep_fd[nkeep] = open(*k, O_PATH | O_CLOEXEC);
		if (keep_fd[nkeep] < 0)
			return errf(err, errlen, "cannot open \"%s\": %s", *k, strerror(errno));
	}
	for (size_t i = 0; i < 2; i++)
		if (mount("tmpfs", covered[i], "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=64m") < 0)
			return errf(err, errlen, "cannot mount a private %s: %s", covered[i], strerror(errno));
	/* mq_open() works without it; it is there so tests can see the queues. */
	if (mount("mqueue", "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 &&
	    errno != ENOENT)
		return errf(err, errlen, "cannot mount /dev/mqueue: %s", strerror(errno));
	for (size_t i = 0; i < nkeep; i++) {
		const char *path = cfg->keep_paths[i];
		if (path_is_under(path, "/tmp") || path_is_under(path, "/dev/shm")) {
			char src[64];
			snprintf(src, sizeof src, "/proc/self/fd/%d", keep_fd[i]);
			if (mkdir_p(path) < 0 || mount(src, path, "none", MS_BIND | MS_REC, NULL) < 0 ||
			    mount("none", path, "none", MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
				return errf(err, errlen, "cannot keep \"%s\" visible: %s", path, strerror(errno));
		}
		close(keep_fd[i]);
	}
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return errf(err, errlen, "cannot mount /proc: %s", strerror(errno));
	if (sethostname("sandbox", 7) < 0)
		return errf(err, errlen, "sethostname: %s", strerror(errno));
	return bring_up_lo(err, errlen);
}

/* Without namespaces: become the reaper of every orphan and stop being root
 * where "nobody" exists, so that RLIMIT_NPROC counts (real root is exempt
 * from it).  Root of a container's user namespace may have no "nobody" to
 * become; it stays, and is not exempt. */
static int
setup_plain(char *err, size_t errlen)
{
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return errf(err, errlen, "cannot become a subreaper: %s", strerror(errno));
	if (geteuid() == 0 && setgroups(0, NULL) == 0 && setgid(NOBODY) == 0 && setuid(NOBODY) < 0)
		return errf(err, errlen, "cannot drop root: %s", strerror(errno));
	return 0;
}

static void __attribute__((noreturn))
init_main(const struct sandbox_config *cfg, sandbox_fn fn, void *arg, int go_fd, int report_fd)
{
	char go, err[256];
	ssize_t n;
	current_mode = cfg->mode;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	while ((n = read(go_fd, &go, 1)) < 0 && errno == EINTR)
		;
	if (n != 1)
		_exit(3); /* the parent gave up on us */
	close(go_fd);
	int rc = cfg->mode == ISOLATION_NAMESPACES ? setup_namespaces(cfg, err, sizeof err)
						   : setup_plain(err, sizeof err);
	if (rc < 0) {
		/* The report's first byte tells the parent what kind of report it is. */
		if (write_all(report_fd, "!", 1) == 0)
			write_all(report_fd, err, strlen(err));
		_exit(3);
	}
	if (write_all(report_fd, "=", 1) < 0)
		_exit(3);
	fn(arg, report_fd);
	close(report_fd);
	_exit(0);
}

int
sandbox_run(const struct sandbox_config *cfg, sandbox_fn fn, void *arg, struct strbuf *report,
	    char *err, size_t errlen)
{
	int go[2], rep[2];
	if (pipe2(go, O_CLOEXEC) < 0)
		return errf(err, errlen, "pipe: %s", strerror(errno));
	if (pipe2(rep, O_CLOEXEC) < 0) {
		close(go[0]);
		close(go[1]);
		return errf(err, errlen, "pipe: %s", strerror(errno));
	}
	fflush(NULL); /* the child _exits, but do not leave it a copy to flush */
	long flags = SIGCHLD | (cfg->mode == ISOLATION_NAMESPACES ? NS_FLAGS : 0);
	pid_t pid = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
	if (pid == 0) {
		close(go[1]);
		close(rep[0]);
		init_main(cfg, fn, arg, go[0], rep[1]);
	}
	close(go[0]);
	close(rep[1]);
	int rc = 0;
	if (pid < 0) {
		rc = errf(err, errlen, "cannot create the sandbox's namespaces: %s", errno == ENOSPC
			? "the limit on user namespaces is reached (user.max_user_namespaces is 0 or used up)"
			: errno == EPERM ? "not permitted (user namespaces disabled, or a container without SYS_ADMIN)"
					 : strerror(errno));
		goto close_pipes;
	}
	if (cfg->mode == ISOLATION_NAMESPACES && write_id_maps(pid, err, errlen) < 0) {
		rc = -1;
		goto kill_init;
	}
	if (write_all(go[1], "g", 1) < 0) {
		rc = errf(err, errlen, "cannot start the sandbox: %s", strerror(errno));
		goto kill_init;
	}
	close(go[1]);
	go[1] = -1;

	int64_t deadline = now_ms() + cfg->deadline_ms;
	struct strbuf raw = STRBUF_INIT;
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0) {
			rc = 1;
			break;
		}
		struct pollfd pfd = { rep[0], POLLIN, 0 };
		int pr = poll(&pfd, 1, (int)left);
		if (pr < 0 && errno != EINTR) {
			rc = errf(err, errlen, "poll: %s", strerror(errno));
			break;
		}
		if (pr <= 0)
			continue;
		char buf[4096];
		ssize_t n = read(rep[0], buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		sb_add(&raw, buf, (size_t)n);
	}
	if (rc == 0 && (raw.len == 0 || raw.buf[0] != '=')) {
		rc = errf(err, errlen, "the sandbox could not be set up: %s",
			  raw.len > 1 ? raw.buf + 1 : "its init died before reporting");
	} else if (rc >= 0) {
		sb_add(report, raw.buf + 1, raw.len - 1);
	}
	sb_release(&raw);
kill_init:
	kill(pid, SIGKILL); /* harmless when it has exited; ends the namespace */
	{
		int st;
		wait_retry(pid, &st, 0);
	}
close_pipes:
	if (go[1] >= 0)
		close(go[1]);
	close(rep[0]);
	return rc;
}

/* The pids that are not us: in a PID namespace everything but pid 1, else
 * all our descendants (we are their subreaper, so orphans are ours too). */
struct proc_entry {
	pid_t pid, ppid;
	char state;
	char *comm;
	int ours;
};

static size_t
scan_procs(struct proc_entry **out)
{
	size_t n = 0, cap = 64;
	struct proc_entry *v = xmalloc(cap * sizeof *v);
	DIR *d = opendir("/proc");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (*end || pid <= 0)
			continue;
		char path[64], *stat;
		snprintf(path, sizeof path, "/proc/%ld/stat", pid);
		if (!(stat = read_file(path, 4096, NULL)))
			continue;
		/* pid (comm) state ppid ...: comm may hold spaces and parens. */
		char *close_paren = strrchr(stat, ')'), *open_paren = strchr(stat, '(');
		char state;
		long ppid;
		if (close_paren && open_paren && sscanf(close_paren + 1, " %c %ld", &state, &ppid) == 2) {
			if (n == cap)
				v = xrealloc(v, (cap *= 2) * sizeof *v);
			struct strbuf comm = STRBUF_INIT;
			sb_add_printable(&comm, open_paren + 1, (size_t)(close_paren - open_paren - 1));
			v[n++] = (struct proc_entry){ (pid_t)pid, (pid_t)ppid, state, sb_detach(&comm), 0 };
		}
		free(stat);
	}
	if (d)
		closedir(d);
	*out = v;
	return n;
}

/* The live processes that are not us, with their names (both arrays are the
 * caller's to free, the names with free_names). */
static size_t
list_others(pid_t **out, char ***names, size_t *running)
{
	struct proc_entry *v;
	size_t n = scan_procs(&v), count = 0;
	pid_t self = getpid();
	for (size_t i = 0; i < n; i++)
		v[i].ours = v[i].pid != self && (current_mode == ISOLATION_NAMESPACES || v[i].ppid == self);
	/* Without a PID namespace, follow the tree down from our children. */
	for (int changed = current_mode == ISOLATION_NONE; changed;) {
		changed = 0;
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < n && !v[i].ours; j++)
				if (v[j].ours && v[i].ppid == v[j].pid)
					v[i].ours = changed = 1;
	}
	pid_t *pids = xmalloc((n + 1) * sizeof *pids);
	char **comms = xcalloc(n + 1, sizeof *comms);
	if (running)
		*running = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i].ours && v[i].state != 'Z') { /* a zombie is only waiting to be reaped */
			if (running && v[i].state == 'R')
				(*running)++;
			pids[count] = v[i].pid;
			comms[count++] = v[i].comm;
		} else {
			free(v[i].comm);
		}
	}
	free(v);
	*out = pids;
	*names = comms;
	return count;
}

static void
free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int
sandbox_kill_others(struct strbuf *killed)
{
	pid_t *seen = NULL;
	size_t nseen = 0;
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	/* Let what is left settle first (a daemon's middle process is exiting
	 * right now), so that the report names the same processes every time. */
	int64_t settle = now_ms() + SETTLE_MS;
	for (;;) {
		pid_t *pids;
		char **names;
		size_t running, n = list_others(&pids, &names, &running);
		free(pids);
		free_names(names, n);
		if (!running || now_ms() >= settle)
			break;
		struct timespec ts = { 0, 2 * 1000 * 1000 };
		sigtimedwait(&chld, NULL, &ts);
		int st;
		while (wait_retry(-1, &st, WNOHANG) > 0)
			;
	}
	/* Kill, reap, look again: done only when no process of ours is alive
	 * and we have no child left, not even one reparented to us a moment
	 * ago by a double fork that raced the scan. */
	for (int round = 0; round < 200; round++) {
		pid_t *pids;
		char **names;
		size_t n = list_others(&pids, &names, NULL);
		for (size_t i = 0; i < n; i++) {
			size_t k = 0;
			while (k < nseen && seen[k] != pids[i])
				k++;
			if (k < nseen)
				continue;
			seen = xrealloc(seen, (nseen + 1) * sizeof *seen);
			seen[nseen++] = pids[i];
			if (killed)
				sb_addf(killed, "%s%d (%s)", killed->len ? ", " : "", (int)pids[i], names[i]);
		}
		if (current_mode == ISOLATION_NAMESPACES && n)
			kill(-1, SIGKILL); /* as pid 1: every other process of the namespace */
		else
			for (size_t i = 0; i < n; i++)
				kill(pids[i], SIGKILL);
		free(pids);
		free_names(names, n);
		int st;
		pid_t r;
		while ((r = wait_retry(-1, &st, WNOHANG)) > 0)
			;
		if (n == 0 && r < 0 && errno == ECHILD)
			break;
		if (r == 0) { /* children alive or dying: wait for news, briefly */
			struct timespec ts = { 0, 10 * 1000 * 1000 };
			sigtimedwait(&chld, NULL, &ts);
		}
	}
	free(seen);
	return (int)nseen;
}

static void
probe_body(void *arg, int report_fd)
{
	(void)arg;
	write_all(report_fd, "ok", 2);
}

enum isolation
sandbox_probe(struct sandbox_info *info)
{
	if (getenv("IPCGRADER_NO_NAMESPACES")) {
		info->mode = current_mode = ISOLATION_NONE;
		snprintf(info->detail, sizeof info->detail,
			 "no isolation: namespaces turned off by IPCGRADER_NO_NAMESPACES; tests share this machine's network, /tmp and IPC namespace");
		return info->mode;
	}
	struct sandbox_config cfg = { .mode = ISOLATION_NAMESPACES, .deadline_ms = 5000 };
	struct strbuf rep = STRBUF_INIT;
	char err[256];
	int rc = sandbox_run(&cfg, probe_body, NULL, &rep, err, sizeof err);
	int ok = rc == 0 && rep.len == 2;
	sb_release(&rep);
	if (ok) {
		info->mode = current_mode = ISOLATION_NAMESPACES;
		snprintf(info->detail, sizeof info->detail,
			 "user, pid, network (lo only), ipc, mount (private /tmp, /dev/shm, /dev/mqueue) and uts "
			 "namespaces; processes limited by RLIMIT_NPROC as uid %s",
			 geteuid() == 0 ? "nobody" : "of the caller");
	} else {
		info->mode = current_mode = ISOLATION_NONE;
		snprintf(info->detail, sizeof info->detail,
			 "no isolation: %s; tests share this machine's network, /tmp and IPC namespace",
			 rc < 0 ? err : "the namespace probe did not answer");
	}
	return info->mode;
}
