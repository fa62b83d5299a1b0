/* The sandbox: theory of operation.
 *
 * Every test, and every build, runs in a sandbox of its own.  Student code
 * is hostile: each guarantee below says how it is enforced.
 *
 * Namespaces.  sandbox_run() clones a child into new user, PID, network,
 * IPC, mount and UTS namespaces.  The parent (still in the machine's
 * namespaces) writes the child's uid/gid maps, puts it into the test's
 * cgroup, and then lets it go through a pipe.  The child is pid 1 of the new
 * PID namespace: the sandbox's init.  Root inside maps to an unprivileged uid
 * outside (the caller's own, or "nobody" when the grader runs as root), so
 * RLIMIT_NPROC bites even for root and no capability reaches the host.
 *
 * The filesystem view.  The init assembles a new root on a small tmpfs and
 * pivot_roots into it, detaching the host's: the system's /usr and library
 * folders read-only, a synthetic /etc (passwd, group, hosts and the loader's
 * cache only), a /dev of null, zero, full, random and urandom, a proc of its
 * own PID namespace, size-limited private tmpfs on /tmp, /dev/shm, /var/tmp
 * and /run/lock, an mqueue filesystem on /dev/mqueue, and the config's binds
 * (the programs of the test, read-only; the build's output folder,
 * writable) at their host paths.  Nothing else of the host exists inside: no
 * home folder, no host /tmp, no lab folder, no other submission, no host
 * socket.  Where /usr itself holds the grader's data (an install under
 * /usr/local), those folders are covered by empty read-only tmpfs ("hide").
 *
 * The jail.  Untrusted programs do not run beside the init: a small "jail"
 * process, pid 1 of a second, nested PID namespace with a mount namespace of
 * its own, is started first.  Its view is the init's minus the trusted binds
 * (the reference programs), and its proc shows only the jail's processes.
 * The init forks each student program into that PID namespace and that view
 * (setns() around the fork, spawn.c), so a student program cannot name, and
 * so cannot signal, ptrace or open /proc/PID/fd of, the init or a reference;
 * its own session keeps kill(0) inside its group.  The jail process itself
 * is non-dumpable (no ptrace, no /proc access without capabilities) and, as
 * its namespace's init, ignores every signal its members send.  It reaps
 * the orphans of student programs.
 *
 * Privileges.  Every program the init starts, reference or student, loses
 * every capability (the bounding set too, with securebits so that root gets
 * none back at exec), gets no_new_privs and the syscall filter of
 * syscall_filter.c (no mount, namespaces, ptrace of the grader, bpf, keys,
 * kernel modules, clocks...), in that order, right before exec.  /proc/sys
 * is read-only in the jail, so root's ownership of its namespaces' sysctls
 * changes nothing.
 *
 * Evidence.  The init's report goes through a pipe only it holds; the
 * references' output through pipes only it holds; Valgrind writes to a pipe
 * on an fd Valgrind guards from the program, and ASan to stderr, which the
 * init captures: no file a student program could delete, replace or turn
 * into a FIFO.
 *
 * Limits.  The whole test lives in a cgroup (v2 where delegated, v1 where
 * that is what exists) with a memory limit that counts tmpfs and shared
 * memory and a pids limit; Valgrind's and ASan's processes too.  SysV shm is
 * capped by the IPC namespace's own shmmax/shmall.  Per process: RLIMIT_CPU,
 * _AS, _FSIZE, _NOFILE, _NPROC (spawn.c).
 *
 * Teardown.  The body kills what is left with kill(-1, SIGKILL), which as
 * pid 1 reaches every process of the namespace however it detached itself
 * (setsid, double fork, the jail), and reports what it had to kill.  When
 * the init exits the kernel kills anything still in the namespace anyway;
 * the mounts, the network, the IPC objects (POSIX and SysV shm, message
 * queues) go with their namespaces.  The init dies with the grader
 * (PR_SET_PDEATHSIG, set again after every change of credentials, which
 * clears it); the parent keeps a backstop deadline and SIGKILLs the init if
 * it does not report in time, and removes the cgroup after killing what is
 * in it.  SIGINT, SIGTERM and SIGHUP end the wait so that the caller can
 * remove its scratch folder (sandbox_catch_signals).
 *
 * As root where a user namespace is refused or useless (a container whose
 * /proc is masked), the same namespaces are made without one, and every
 * program runs as a uid of the test's own (PROGRAM_UID_BASE).
 *
 * Without permission to create namespaces (a container without SYS_ADMIN,
 * user namespaces disabled), the mode is "none": the child becomes a
 * subreaper instead, drops root for the test's own uid so that RLIMIT_NPROC
 * applies, and kills its descendants at teardown; programs still lose
 * capabilities and get the syscall filter and their own session, but share
 * the machine's filesystem and network.  Tests take turns machine-wide and
 * their IPC leftovers are removed.  grade refuses to run there unless told
 * --allow-unisolated. */
#define _GNU_SOURCE
#include "sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <mqueue.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/file.h>
#include <sys/ipc.h>
#include <sys/mount.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/signalfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "procinfo.h"
#include "spawn.h"
#include "syscall_filter.h"

#define NOBODY 65534
/* Without a user namespace of their own (root in a container, or no
 * namespaces), a test's programs get a uid of their own, from here up:
 * RLIMIT_NPROC counts a uid's processes machine-wide, and nobody's are
 * every container's and every other grader's. */
#define PROGRAM_UID_BASE 0x60000000u
#define SETTLE_MS 100 /* at most, for leftovers to stop running */
#define NS_FLAGS (CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWNS | CLONE_NEWUTS)
#define STAGE "/tmp" /* where the new root is put together before pivot_root */
#define MAX_BINDS 16

static enum isolation current_mode = ISOLATION_NAMESPACES;
static uid_t program_uid = NOBODY; /* see PROGRAM_UID_BASE */
/* Root with CAP_SYS_ADMIN where user namespaces are refused or useless (a
 * container whose /proc is masked): the namespaces without a user one, and
 * programs run as the test's own uid instead of the namespace's root. */
static int without_userns;
static volatile sig_atomic_t interrupted;

/* In the init: the jail and how programs are started. */
static pid_t jail_pid = -1;
static int jail_sock = -1; /* the jail's reports of the orphans it reaped */
static struct sandbox_orphan *orphans;
static size_t norphans;
static struct child_jail trusted_jail = { .pidns_fd = -1, .own_pidns_fd = -1, .mntns_fd = -1, .drop_caps = 1 };
static struct child_jail student_jail = { .pidns_fd = -1, .own_pidns_fd = -1, .mntns_fd = -1, .new_session = 1,
					  .drop_caps = 1 };

/* Writes text into path, opened with flags (O_CREAT | O_EXCL: a new file),
 * never through a symbolic link. */
static int
put_text(const char *path, const char *text, int flags)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | flags, 0644);
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
	if (geteuid() != 0 && put_text(path, "deny", 0) < 0)
		return errf(err, errlen, "cannot write %s: %s", path, strerror(errno));
	snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
	snprintf(map, sizeof map, "0 %u 1\n", (unsigned)uid);
	if (put_text(path, map, 0) < 0)
		return errf(err, errlen, "cannot write %s: %s", path, strerror(errno));
	snprintf(path, sizeof path, "/proc/%d/gid_map", (int)pid);
	snprintf(map, sizeof map, "0 %u 1\n", (unsigned)gid);
	if (put_text(path, map, 0) < 0)
		return errf(err, errlen, "cannot write %s: %s", path, strerror(errno));
	return 0;
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
		errf(err, errlen, "cannot bring up lo: %s%s", strerror(errno),
		     errno == EPERM && without_userns ? " (without a user namespace this needs CAP_NET_ADMIN: docker run --cap-add NET_ADMIN)" : "");
	close(s);
	return rc;
}

/* ---- the filesystem view ---------------------------------------------- */

/* Host paths shown read-only; the ones missing on this machine are skipped,
 * symbolic links (a merged /usr) are copied as links. */
static const char *const system_paths[] = {
	"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
	"/etc/alternatives", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
	"/etc/services", "/etc/protocols", "/etc/localtime",
};

static const struct {
	const char *path, *text;
} etc_files[] = {
	{ "/etc/passwd", "root:x:0:0:root:/tmp:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n" },
	{ "/etc/group", "root:x:0:\nnogroup:x:65534:\n" },
	{ "/etc/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" },
	{ "/etc/nsswitch.conf", "passwd: files\ngroup: files\nhosts: files\nservices: files\nprotocols: files\n" },
	{ "/etc/hostname", "sandbox\n" },
};

static const char *const dev_nodes[] = { "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom" };

/* Private, size-limited, writable by everyone (sticky). */
static const struct {
	const char *path, *opts;
} scratch_fs[] = {
	{ "/tmp", "mode=1777,size=64m" },
	{ "/dev/shm", "mode=1777,size=64m" },
	{ "/var/tmp", "mode=1777,size=16m" },
	{ "/run/lock", "mode=1777,size=4m" },
};

static char *
staged(const char *path)
{
	return xstrfmt(STAGE "%s", path);
}

/* The flags a read-only remount of a bind of path must keep: the kernel
 * refuses to clear what the host's mount locked (noexec, atime flags). */
static unsigned long
kept_flags(const char *path)
{
	struct statvfs sv;
	unsigned long f = 0;
	if (statvfs(path, &sv) < 0)
		return 0;
	if (sv.f_flag & ST_NOEXEC)
		f |= MS_NOEXEC;
	if (sv.f_flag & ST_NOATIME)
		f |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME)
		f |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME)
		f |= MS_RELATIME;
	return f;
}

/* (The type of a bind or remount is ignored; "none" rather than NULL keeps
 * Valgrind, which reads it, quiet.) */

/* Binds src (a path, or /proc/self/fd/N) at target, which is created as a
 * folder or an empty file like src; nosuid, plus the extra mount flags
 * (MS_RDONLY, MS_NODEV). */
static int
bind_at(const char *src, const char *target, unsigned long extra, char *err, size_t errlen)
{
	struct stat st;
	if (stat(src, &st) < 0)
		return errf(err, errlen, "cannot show \"%s\": %s", target, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		if (mkdir_p(target) < 0)
			return errf(err, errlen, "cannot create \"%s\": %s", target, strerror(errno));
	} else {
		char *dir = xstrdup(target), *slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		int fd = -1;
		if ((slash && mkdir_p(dir) < 0) ||
		    ((fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644)) < 0 && errno != EROFS &&
		     errno != EEXIST)) {
			free(dir);
			return errf(err, errlen, "cannot create \"%s\": %s", target, strerror(errno));
		}
		if (fd >= 0)
			close(fd);
		free(dir);
	}
	if (mount(src, target, "none", MS_BIND | MS_REC, NULL) < 0)
		return errf(err, errlen, "cannot bind \"%s\": %s", target, strerror(errno));
	if (mount("none", target, "none", MS_REMOUNT | MS_BIND | MS_NOSUID | extra | kept_flags(target), NULL) < 0)
		return errf(err, errlen, "cannot make \"%s\" read-only: %s", target, strerror(errno));
	return 0;
}

static int
show_system_path(const char *path, char *err, size_t errlen)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : errf(err, errlen, "cannot look at \"%s\": %s", path, strerror(errno));
	char *target = staged(path);
	int rc = 0;
	if (S_ISLNK(st.st_mode)) {
		char link[4096];
		ssize_t n = readlink(path, link, sizeof link - 1);
		if (n < 0 || (link[n] = '\0', symlink(link, target) < 0))
			rc = errf(err, errlen, "cannot copy the link \"%s\": %s", path, strerror(errno));
	} else if (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)) {
		rc = bind_at(path, target, MS_RDONLY | MS_NODEV, err, errlen);
	}
	free(target);
	return rc;
}

/* Covers a host folder that a bind would show with an empty read-only
 * tmpfs (a file with /dev/null). */
static int
hide_path(const char *path, char *err, size_t errlen)
{
	/* Never /usr or /usr/local themselves: the system must stay visible. */
	int depth = 0;
	for (const char *p = path; *p; p++)
		depth += *p == '/' && p[1] && p[1] != '/';
	if (depth < 3)
		return 0;
	char *target = staged(path);
	struct stat st;
	int rc = 0;
	if (stat(target, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			rc = mount("tmpfs", target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=0555");
		else
			rc = mount("/dev/null", target, "none", MS_BIND, NULL);
		if (rc < 0)
			rc = errf(err, errlen, "cannot hide \"%s\": %s", path, strerror(errno));
	}
	free(target);
	return rc;
}

/* Runs in the init, inside the new namespaces, before it pivots into the
 * new root.  Binds are opened first: /tmp, where they usually are, is about
 * to be covered by the stage. */
static int
build_root(const struct sandbox_config *cfg, char *err, size_t errlen)
{
	int fds[MAX_BINDS];
	size_t n = 0;
	int rc = -1;
	for (const struct sandbox_bind *b = cfg->binds; b && b->path; b++, n++) {
		if (n == MAX_BINDS) {
			errf(err, errlen, "more than %d binds", MAX_BINDS);
			goto close_fds;
		}
		if (b->path[0] != '/') {
			errf(err, errlen, "bind \"%s\" is not an absolute path", b->path);
			goto close_fds;
		}
		if ((fds[n] = open(b->path, O_PATH | O_CLOEXEC)) < 0) {
			errf(err, errlen, "cannot open \"%s\": %s", b->path, strerror(errno));
			goto close_fds;
		}
	}
	if (mount("tmpfs", STAGE, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m") < 0) {
		errf(err, errlen, "cannot mount the new root: %s", strerror(errno));
		goto close_fds;
	}
	if (mkdir(STAGE "/etc", 0755) < 0 || mkdir(STAGE "/dev", 0755) < 0 || mkdir(STAGE "/proc", 0555) < 0) {
		errf(err, errlen, "cannot lay out the new root: %s", strerror(errno));
		goto close_fds;
	}
	for (size_t i = 0; i < sizeof system_paths / sizeof *system_paths; i++)
		if (show_system_path(system_paths[i], err, errlen) < 0)
			goto close_fds;
	for (const char *const *h = cfg->hide; h && *h; h++)
		if (hide_path(*h, err, errlen) < 0)
			goto close_fds;
	for (size_t i = 0; i < sizeof etc_files / sizeof *etc_files; i++) {
		char *target = staged(etc_files[i].path);
		int bad = put_text(target, etc_files[i].text, O_CREAT | O_EXCL) < 0;
		free(target);
		if (bad) {
			errf(err, errlen, "cannot write \"%s\": %s", etc_files[i].path, strerror(errno));
			goto close_fds;
		}
	}
	for (size_t i = 0; i < sizeof dev_nodes / sizeof *dev_nodes; i++) {
		char *target = staged(dev_nodes[i]);
		int bad = bind_at(dev_nodes[i], target, 0, err, errlen);
		free(target);
		if (bad < 0)
			goto close_fds;
	}
	struct stat tun;
	if (cfg->tun && stat("/dev/net/tun", &tun) == 0 && S_ISCHR(tun.st_mode) &&
	    bind_at("/dev/net/tun", STAGE "/dev/net/tun", 0, err, errlen) < 0)
		goto close_fds;
	if (symlink("/proc/self/fd", STAGE "/dev/fd") < 0 || symlink("/proc/self/fd/0", STAGE "/dev/stdin") < 0 ||
	    symlink("/proc/self/fd/1", STAGE "/dev/stdout") < 0 || symlink("/proc/self/fd/2", STAGE "/dev/stderr") < 0) {
		errf(err, errlen, "cannot lay out /dev: %s", strerror(errno));
		goto close_fds;
	}
	/* Before the host's proc is detached: a proc may be mounted in a user
	 * namespace only where one is fully visible already. */
	if (mount("proc", STAGE "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		errf(err, errlen, "cannot mount /proc: %s", strerror(errno));
		goto close_fds;
	}
	for (size_t i = 0; i < sizeof scratch_fs / sizeof *scratch_fs; i++) {
		char *target = staged(scratch_fs[i].path);
		int bad = mkdir_p(target) < 0 || mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, scratch_fs[i].opts) < 0;
		free(target);
		if (bad) {
			errf(err, errlen, "cannot mount a private %s: %s", scratch_fs[i].path, strerror(errno));
			goto close_fds;
		}
	}
	if (mkdir(STAGE "/dev/mqueue", 0755) < 0 ||
	    mount("mqueue", STAGE "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		errf(err, errlen, "cannot mount /dev/mqueue: %s", strerror(errno));
		goto close_fds;
	}
	for (size_t i = 0; i < n; i++) {
		char src[64], *target = staged(cfg->binds[i].path);
		snprintf(src, sizeof src, "/proc/self/fd/%d", fds[i]);
		int bad = bind_at(src, target, MS_NODEV | (cfg->binds[i].flags & SANDBOX_BIND_WRITABLE ? 0 : MS_RDONLY), err, errlen);
		free(target);
		if (bad < 0)
			goto close_fds;
	}
	if (chdir(STAGE) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 ||
	    chdir("/") < 0) {
		errf(err, errlen, "cannot pivot into the new root: %s", strerror(errno));
		goto close_fds;
	}
	if (mount("none", "/", "none", MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0) {
		errf(err, errlen, "cannot make the new root read-only: %s", strerror(errno));
		goto close_fds;
	}
	rc = 0;
close_fds:
	while (n-- > 0)
		close(fds[n]);
	return rc;
}

/* SysV shared memory lives in the IPC namespace, outside any tmpfs limit:
 * cap it like the test's memory.  The kernel lets the namespace's root set
 * its own IPC sysctls. */
static int
limit_sysv(const struct sandbox_config *cfg, char *err, size_t errlen)
{
	if (!cfg->memory_mb)
		return 0;
	char text[32];
	snprintf(text, sizeof text, "%ld\n", cfg->memory_mb << 20);
	if (put_text("/proc/sys/kernel/shmmax", text, 0) < 0)
		return errf(err, errlen, "cannot limit SysV shared memory: %s", strerror(errno));
	snprintf(text, sizeof text, "%ld\n", (cfg->memory_mb << 20) / sysconf(_SC_PAGESIZE));
	if (put_text("/proc/sys/kernel/shmall", text, 0) < 0)
		return errf(err, errlen, "cannot limit SysV shared memory: %s", strerror(errno));
	return 0;
}

/* Runs in the init, inside the new namespaces. */
static int
setup_namespaces(const struct sandbox_config *cfg, char *err, size_t errlen)
{
	/* Become the mapped root: until then we still carry the caller's ids,
	 * which (for root) have no mapping here. */
	if (geteuid() != 0 || getegid() != 0 || getuid() != 0)
		if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
			return errf(err, errlen, "cannot become root in the user namespace: %s", strerror(errno));
	setgroups(0, NULL); /* refused (harmlessly) where setgroups is denied */
	if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0)
		return errf(err, errlen, "cannot make mounts private: %s", strerror(errno));
	if (build_root(cfg, err, errlen) < 0)
		return -1;
	if (limit_sysv(cfg, err, errlen) < 0)
		return -1;
	if (sethostname("sandbox", 7) < 0)
		return errf(err, errlen, "sethostname: %s", strerror(errno));
	return bring_up_lo(err, errlen);
}

/* ---- the jail --------------------------------------------------------- */

/* Reaps every child that has ended, sending the init a record of each
 * (pid and session as the jail sees them, name, status); last one of pid
 * 0 when asked. */
static void
reap_orphans(int sock, int mark_end)
{
	for (;;) {
		siginfo_t si = { 0 };
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0)
			break;
		struct sandbox_orphan o = { .pid = si.si_pid };
		struct pinfo pi;
		if (pinfo_get(si.si_pid, &pi) == 0) {
			o.sid = pi.sid;
			memcpy(o.comm, pi.comm, sizeof o.comm);
		}
		int st;
		if (waitpid(si.si_pid, &st, 0) == si.si_pid)
			o.status = st;
		send(sock, &o, sizeof o, MSG_DONTWAIT | MSG_NOSIGNAL); /* full: dropped, never blocking */
	}
	if (mark_end) {
		struct sandbox_orphan end = { 0 };
		send(sock, &end, sizeof end, MSG_NOSIGNAL);
	}
}

/* pid 1 of the jail's PID namespace: drops the trusted binds from its view,
 * mounts the jail's own proc, lets the init open its namespaces, becomes
 * non-dumpable (no ptrace, no /proc access from programs without
 * capabilities), then reaps orphans until the init kills it. */
static void __attribute__((noreturn))
jail_main(const struct sandbox_config *cfg, int sock)
{
	char err[256] = "", go;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_DUMPABLE, 1); /* until the init has opened our namespaces */
	if (dup2(sock, 3) < 0)
		_exit(3);
	syscall(SYS_close_range, 4U, ~0U, 0U); /* the init's report pipe among them */
	sock = 3;
	for (const struct sandbox_bind *b = cfg->binds; b && b->path && !*err; b++)
		if ((b->flags & SANDBOX_BIND_TRUSTED) && umount2(b->path, MNT_DETACH) < 0)
			errf(err, sizeof err, "cannot hide \"%s\" from the jail: %s", b->path, strerror(errno));
	struct stat tun;
	if (!*err && cfg->tun && stat("/dev/net/tun", &tun) == 0 && umount2("/dev/net/tun", MNT_DETACH) < 0)
		errf(err, sizeof err, "cannot hide /dev/net/tun from the jail: %s", strerror(errno));
	if (!*err && mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		errf(err, sizeof err, "cannot mount the jail's /proc: %s", strerror(errno));
	if (!*err && (mount("/proc/sys", "/proc/sys", "none", MS_BIND | MS_REC, NULL) < 0 ||
		      mount("none", "/proc/sys", "none", MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
			    NULL) < 0))
		errf(err, sizeof err, "cannot make the jail's /proc/sys read-only: %s", strerror(errno));
	if (*err) {
		if (write_all(sock, "!", 1) == 0)
			write_all(sock, err, strlen(err));
		_exit(3);
	}
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	/* The init opens /proc/PID/ns while we are still dumpable. */
	if (write_all(sock, "=", 1) < 0 || read(sock, &go, 1) != 1)
		_exit(3);
	prctl(PR_SET_DUMPABLE, 0);
	if (write_all(sock, "+", 1) < 0)
		_exit(3);
	/* Every process it reaps is an orphan (its parent ended without
	 * waiting for it): the init hears which, for the reaping check.  The
	 * init asks with 'q' for what is left before it ends us; the reply
	 * ends with a record of pid 0. */
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	for (;;) {
		reap_orphans(sock, 0);
		struct pollfd pfd[2] = { { sfd, POLLIN, 0 }, { sock, POLLIN, 0 } };
		if (poll(pfd, sfd >= 0 ? 2 : 1, sfd >= 0 ? -1 : 50) < 0 && errno != EINTR)
			_exit(3);
		struct signalfd_siginfo si;
		while (sfd >= 0 && read(sfd, &si, sizeof si) > 0)
			;
		if (pfd[1].revents) {
			char q;
			if (read(sock, &q, 1) != 1)
				_exit(0); /* the init is gone */
			reap_orphans(sock, 1);
		}
	}
}

static int
jail_start(const struct sandbox_config *cfg, char *err, size_t errlen)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return errf(err, errlen, "socketpair: %s", strerror(errno));
	pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWPID | CLONE_NEWNS | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid == 0) {
		close(sv[0]);
		jail_main(cfg, sv[1]);
	}
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return errf(err, errlen, "cannot create the jail: %s", strerror(errno));
	}
	jail_pid = pid;
	char buf[256], path[64];
	ssize_t n;
	int rc = 0;
	while ((n = read(sv[0], buf, sizeof buf - 1)) < 0 && errno == EINTR)
		;
	if (n < 1 || buf[0] != '=') {
		buf[n > 0 ? n : 0] = '\0';
		rc = errf(err, errlen, "%s", n > 1 ? buf + 1 : "the jail died while starting");
		goto close_sock;
	}
	snprintf(path, sizeof path, "/proc/%d/ns/pid", (int)pid);
	student_jail.pidns_fd = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof path, "/proc/%d/ns/mnt", (int)pid);
	student_jail.mntns_fd = open(path, O_RDONLY | O_CLOEXEC);
	student_jail.own_pidns_fd = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
	if (student_jail.pidns_fd < 0 || student_jail.mntns_fd < 0 || student_jail.own_pidns_fd < 0) {
		rc = errf(err, errlen, "cannot open the jail's namespaces: %s", strerror(errno));
		goto close_sock;
	}
	if (write_all(sv[0], "g", 1) < 0 || read(sv[0], buf, 1) != 1 || buf[0] != '+')
		rc = errf(err, errlen, "the jail died while starting");
close_sock:
	if (rc == 0)
		jail_sock = sv[0];
	else
		close(sv[0]);
	return rc;
}

static void
note_orphan(const struct sandbox_orphan *o)
{
	if (norphans >= MAX_ORPHANS)
		return;
	orphans = xrealloc(orphans, (norphans + 1) * sizeof *orphans);
	orphans[norphans++] = *o;
}

/* Reads the jail's records; with until_end, up to its end mark (asked for
 * with 'q'), at most a second. */
static void
read_jail(int until_end)
{
	if (jail_sock < 0)
		return;
	if (until_end && write_all(jail_sock, "q", 1) < 0)
		until_end = 0;
	int64_t end = now_ms() + 1000;
	for (;;) {
		struct sandbox_orphan o;
		ssize_t n = recv(jail_sock, &o, sizeof o, MSG_DONTWAIT);
		if (n == (ssize_t)sizeof o) {
			if (o.pid == 0)
				break;
			note_orphan(&o);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (!until_end || n == 0 || (n < 0 && errno != EAGAIN) || now_ms() >= end)
			break;
		struct pollfd pfd = { jail_sock, POLLIN, 0 };
		poll(&pfd, 1, (int)(end - now_ms()));
	}
}

size_t
sandbox_orphans(const struct sandbox_orphan **v)
{
	read_jail(0);
	*v = orphans;
	return norphans;
}

pid_t
sandbox_reap(int *status)
{
	siginfo_t si = { 0 };
	if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
		return -1;
	if (si.si_pid == 0)
		return 0;
	/* Without a jail, orphans come to us (a subreaper): note every child
	 * reaped; the reaping check tells the test's own from orphans. */
	struct sandbox_orphan o = { .pid = si.si_pid };
	struct pinfo pi;
	int note = current_mode == ISOLATION_NONE && pinfo_get(si.si_pid, &pi) == 0;
	pid_t pid = wait_retry(si.si_pid, status, 0);
	if (note && pid > 0) {
		o.sid = pi.sid;
		o.status = *status;
		memcpy(o.comm, pi.comm, sizeof o.comm);
		note_orphan(&o);
	}
	return pid;
}

const struct child_jail *
sandbox_jail(int untrusted)
{
	return untrusted ? &student_jail : &trusted_jail;
}

pid_t
sandbox_inner_pid(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	char *status = read_file(path, 1 << 16, NULL);
	const char *line = status ? strstr(status, "\nNSpid:") : NULL;
	pid_t inner = pid;
	if (line) {
		line += 8;
		size_t len = strcspn(line, "\n");
		const char *last = line + len;
		while (last > line && last[-1] != '\t' && last[-1] != ' ')
			last--;
		inner = (pid_t)strtol(last, NULL, 10);
	}
	free(status);
	return inner > 0 ? inner : pid;
}

/* Without namespaces: become the reaper of every orphan and stop being root
 * for the test's own uid, so that RLIMIT_NPROC counts (real root is exempt
 * from it).  Root of a container's user namespace may have no such uid to
 * become; it stays, and is not exempt. */
static int
setup_plain(char *err, size_t errlen)
{
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return errf(err, errlen, "cannot become a subreaper: %s", strerror(errno));
	if (geteuid() == 0 && setgroups(0, NULL) == 0 && setgid(program_uid) == 0 && setuid(program_uid) < 0)
		return errf(err, errlen, "cannot drop root: %s", strerror(errno));
	return 0;
}

/* ---- without namespaces: one test at a time, nothing left between ----- */

/* Tests that share the machine take turns, machine-wide (two graders at
 * once would talk to each other's servers). */
static int
lock_machine(char *err, size_t errlen)
{
	int fd = open("/tmp/.ipcgrader-unisolated.lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666);
	if (fd < 0)
		return errf(err, errlen, "cannot open /tmp/.ipcgrader-unisolated.lock: %s", strerror(errno));
	if (fchmod(fd, 0666) < 0) {
		/* another user's: it is 0666 already */
	}
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR || interrupted) {
			close(fd);
			return errf(err, errlen, interrupted ? "interrupted by signal %d" : "cannot lock: %d",
				    interrupted ? (int)interrupted : errno);
		}
	return fd;
}

/* POSIX message queues of uid ("mqueue:/NAME") where the machine has no
 * /dev/mqueue to list them (sandbox.h): a child mounts the queue filesystem in a mount
 * namespace of its own (root only; the machine's mounts are not touched)
 * and names them through a pipe.  Without it a queue a test left would be
 * found, full or owned by another test's uid, by every later test. */
void
sandbox_list_queues(struct strvec *out, uid_t uid)
{
	struct stat st;
	if (stat("/dev/mqueue", &st) == 0 && st.st_dev != 0) {
		struct stat parent;
		if (stat("/dev", &parent) == 0 && parent.st_dev != st.st_dev)
			return; /* mounted: listed as a folder */
	}
	if (geteuid() != 0)
		return;
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		if (unshare(CLONE_NEWNS) < 0 || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount("mqueue", "/tmp", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
			_exit(1);
		DIR *d = opendir("/tmp");
		struct dirent *e;
		while (d && (e = readdir(d))) {
			char path[300];
			snprintf(path, sizeof path, "/tmp/%s", e->d_name);
			if (e->d_name[0] != '.' && stat(path, &st) == 0 && (uid == (uid_t)-1 || st.st_uid == uid)) {
				dprintf(p[1], "mqueue:/%s\n", e->d_name);
			}
		}
		if (d)
			closedir(d);
		_exit(0);
	}
	close(p[1]);
	if (pid > 0) {
		char *text = NULL;
		size_t len = 0;
		FILE *f = fdopen(p[0], "r");
		ssize_t n;
		while (f && (n = getline(&text, &len, f)) > 0) {
			text[strcspn(text, "\n")] = '\0';
			sv_push(out, text);
		}
		free(text);
		if (f)
			fclose(f);
		else
			close(p[0]);
		int ws;
		wait_retry(pid, &ws, 0);
	} else {
		close(p[0]);
	}
}

/* The shared places a test's IPC objects land in: POSIX shm and queues,
 * files, FIFOs and sockets in /tmp, SysV objects ("sysvipc:KIND:ID"). */
static void
list_shared_objects(struct strvec *out, uid_t uid)
{
	sandbox_list_queues(out, uid);
	static const char *const dirs[] = { "/dev/shm", "/dev/mqueue", "/tmp" };
	for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
		DIR *d = opendir(dirs[i]);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			struct stat st;
			char *path = xstrfmt("%s/%s", dirs[i], e->d_name);
			/* In /tmp also a file (the mmap lab's /tmp/ipc_file.bin): the
			 * next test, of another uid, could not open it. */
			if (e->d_name[0] != '.' && lstat(path, &st) == 0 && st.st_uid == uid &&
			    (S_ISREG(st.st_mode) || (i == 2 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))))
				sv_push(out, path);
			free(path);
		}
		if (d)
			closedir(d);
	}
	static const char *const kinds[] = { "shm", "msg", "sem" };
	for (size_t k = 0; k < 3; k++) {
		char *path = xstrfmt("/proc/sysvipc/%s", kinds[k]);
		char *text = read_file(path, 1 << 20, NULL), *save;
		/* key id ... ; the owner's uid is the 5th field for msg and sem, 8th for shm */
		for (char *line = text ? strtok_r(text, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
			long f[8];
			if (sscanf(line, "%ld %ld %ld %ld %ld %ld %ld %ld", &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6],
				   &f[7]) < 5)
				continue;
			long owner = k == 2 ? f[4] : f[7];
			if (owner == (long)uid)
				sv_pushf(out, "sysvipc:%s:%ld", kinds[k], f[1]);
		}
		free(text);
		free(path);
	}
}

static int
listed(const struct strvec *v, const char *s)
{
	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(v->v[i], s))
			return 1;
	return 0;
}

/* Removes what the test's uid made during the test: the next test must
 * not find a full queue or a stale socket file that a namespace would
 * never have shown it. */
static void
remove_new_objects(const struct strvec *before, uid_t uid)
{
	struct strvec now = STRVEC_INIT;
	list_shared_objects(&now, uid);
	for (size_t i = 0; i < now.n; i++) {
		const char *o = now.v[i];
		if (listed(before, o))
			continue;
		long id;
		if (sscanf(o, "sysvipc:shm:%ld", &id) == 1)
			shmctl((int)id, IPC_RMID, NULL);
		else if (sscanf(o, "sysvipc:msg:%ld", &id) == 1)
			msgctl((int)id, IPC_RMID, NULL);
		else if (sscanf(o, "sysvipc:sem:%ld", &id) == 1)
			semctl((int)id, 0, IPC_RMID);
		else if (!strncmp(o, "mqueue:", 7))
			mq_unlink(o + 7);
		else
			unlink(o);
	}
	sv_clear(&now);
}

/* True once the grader (our parent) is gone: its end of the report pipe
 * is closed. */
static int
parent_gone(int report_fd)
{
	struct pollfd p = { report_fd, POLLOUT, 0 };
	return poll(&p, 1, 0) > 0 && (p.revents & (POLLERR | POLLHUP));
}

static void __attribute__((noreturn))
init_main(const struct sandbox_config *cfg, sandbox_fn fn, void *arg, int go_fd, int report_fd)
{
	char go, err[512];
	ssize_t n;
	current_mode = cfg->mode;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* Ctrl-C reaches the whole process group: the grader decides. */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	while ((n = read(go_fd, &go, 1)) < 0 && errno == EINTR)
		;
	if (n != 1)
		_exit(3); /* the parent gave up on us */
	close(go_fd);
	int rc = cfg->mode == ISOLATION_NAMESPACES ? setup_namespaces(cfg, err, sizeof err)
						   : setup_plain(err, sizeof err);
	/* A change of credentials cleared the parent-death signal: set it
	 * again, then make sure the parent did not die in between. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_DUMPABLE, 0);
	if (parent_gone(report_fd))
		_exit(3);
	if (rc == 0 && cfg->mode == ISOLATION_NAMESPACES)
		rc = jail_start(cfg, err, sizeof err);
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

/* The machine's cgroups, found out once by the grader (the parent). */
static struct cgroup_env cgroups;
static int cgroups_probed;
static uid_t cgroups_uid; /* who probed: a process that changed user since must look again */

static void
release_cgroups(void)
{
	cgroup_env_release(&cgroups); /* only in the process that probed */
}

void
sandbox_release(void)
{
	if (cgroups_probed)
		release_cgroups();
}

static const struct cgroup_env *
machine_cgroups(void)
{
	if (!cgroups_probed || cgroups_uid != geteuid()) {
		if (!cgroups_probed)
			atexit(release_cgroups);
		cgroups_probed = 1;
		cgroups_uid = geteuid();
		cgroup_env_probe(&cgroups);
	}
	return &cgroups;
}

/* Built once by the grader, before the first clone: the inits inherit it
 * and hand it to every program they start. */
static struct syscall_filter filter;

static int
prepare_filter(char *err, size_t errlen)
{
	if (filter.insns)
		return 0;
	char why[256];
	if (syscall_filter_build(&filter, why, sizeof why) < 0)
		return errf(err, errlen, "cannot build the syscall filter: %s", why);
	trusted_jail.filter = student_jail.filter = &filter;
	return 0;
}

static void
on_signal(int sig)
{
	interrupted = sig;
}

void
sandbox_catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal }; /* no SA_RESTART: the waits must end */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

int
sandbox_interrupted(void)
{
	return interrupted;
}

int
sandbox_run(const struct sandbox_config *cfg, sandbox_fn fn, void *arg, struct strbuf *report,
	    struct sandbox_usage *usage, char *err, size_t errlen)
{
	int go[2], rep[2];
	struct test_cgroup cg;
	int rc = 0;
	memset(&cg, 0, sizeof cg);
	if (usage)
		*usage = (struct sandbox_usage){ -1, 0, 0 };
	if (interrupted)
		return errf(err, errlen, "interrupted by signal %d", (int)interrupted);
	if (prepare_filter(err, errlen) < 0)
		return -1;
	int lock_fd = -1;
	if (geteuid() == 0) {
		static unsigned count;
		program_uid = cfg->mode == ISOLATION_NAMESPACES && !without_userns
				      ? NOBODY /* what root inside maps to */
				      : PROGRAM_UID_BASE + ((((unsigned)getpid() & 0xffffu) << 8) | (count++ & 0xffu));
		/* What the programs write (the build's output) must be theirs. */
		for (const struct sandbox_bind *b = cfg->binds; b && b->path; b++)
			if ((b->flags & SANDBOX_BIND_WRITABLE) && chown(b->path, program_uid, program_uid) < 0)
				return errf(err, errlen, "cannot give \"%s\" to the sandbox: %s", b->path, strerror(errno));
	}
	uid_t test_uid = geteuid() == 0 ? program_uid : geteuid();
	struct strvec objects = STRVEC_INIT;
	if (cfg->mode == ISOLATION_NONE) {
		if ((lock_fd = lock_machine(err, errlen)) < 0)
			return -1;
		list_shared_objects(&objects, test_uid);
	}
	if (pipe2(go, O_CLOEXEC) < 0) {
		go[0] = go[1] = -1;
		rc = errf(err, errlen, "pipe: %s", strerror(errno));
		goto unlock;
	}
	if (pipe2(rep, O_CLOEXEC) < 0) {
		close(go[0]);
		close(go[1]);
		rc = errf(err, errlen, "pipe: %s", strerror(errno));
		goto unlock;
	}
	fflush(NULL); /* the child _exits, but do not leave it a copy to flush */
	long flags = SIGCHLD | (cfg->mode != ISOLATION_NAMESPACES ? 0 : without_userns ? NS_FLAGS & ~CLONE_NEWUSER : NS_FLAGS);
	/* Without a user namespace of their own, programs must not stay root. */
	trusted_jail.set_ids = student_jail.set_ids = cfg->mode == ISOLATION_NAMESPACES && without_userns;
	trusted_jail.uid = student_jail.uid = program_uid;
	trusted_jail.gid = student_jail.gid = program_uid;
	pid_t pid = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
	if (pid == 0) {
		close(go[1]);
		close(rep[0]);
		init_main(cfg, fn, arg, go[0], rep[1]);
	}
	close(go[0]);
	close(rep[1]);
	if (pid < 0) {
		rc = errf(err, errlen, "cannot create the sandbox's namespaces: %s", errno == ENOSPC
			? "the limit on user namespaces is reached (user.max_user_namespaces is 0 or used up)"
			: errno == EPERM ? "not permitted (user namespaces disabled, or a container without SYS_ADMIN)"
					 : strerror(errno));
		goto close_pipes;
	}
	if (cfg->mode == ISOLATION_NAMESPACES && !without_userns && write_id_maps(pid, err, errlen) < 0) {
		rc = -1;
		goto kill_init;
	}
	/* Before it runs: every process of the test is born in the group. */
	const struct cgroup_env *ce = machine_cgroups();
	if (ce->kind != CGROUP_NONE && (cfg->memory_mb || cfg->pids)) {
		struct cgroup_limits lim = { cfg->memory_mb, cfg->pids };
		if (cgroup_create(ce, &lim, &cg, err, errlen) < 0 || cgroup_attach(&cg, pid, err, errlen) < 0) {
			rc = -1;
			goto kill_init;
		}
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
		if (interrupted) {
			rc = errf(err, errlen, "interrupted by signal %d", (int)interrupted);
			break;
		}
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
	if (cg.ndirs) {
		struct cgroup_usage u;
		if (usage && cgroup_usage(&cg, &u) == 0)
			*usage = (struct sandbox_usage){ u.memory_peak_kb, u.oom_kills > 0 ? u.oom_kills : 0,
							 u.pids_max_hits > 0 ? u.pids_max_hits : 0 };
		cgroup_destroy(&cg); /* kills whatever escaped the namespace's end */
	}
close_pipes:
	if (go[1] >= 0)
		close(go[1]);
	close(rep[0]);
unlock:
	if (lock_fd >= 0) {
		remove_new_objects(&objects, test_uid);
		close(lock_fd);
	}
	sv_clear(&objects);
	return rc;
}

/* The live processes that are not us, with their names (both arrays are the
 * caller's to free, the names with free_names). */
static size_t
list_others(pid_t **out, char ***names, size_t *running)
{
	/* The pids that are not us: in a PID namespace everything but pid 1,
	 * else all our descendants (we are their subreaper, so orphans are
	 * ours too). */
	struct pinfo *v;
	size_t n = pinfo_list(&v), count = 0;
	char *ours = xcalloc(n + 1, 1);
	pid_t self = getpid();
	for (size_t i = 0; i < n; i++)
		ours[i] = v[i].pid != self && v[i].pid != jail_pid && (current_mode == ISOLATION_NAMESPACES || v[i].ppid == self);
	/* Without a PID namespace, follow the tree down from our children. */
	for (int changed = current_mode == ISOLATION_NONE; changed;) {
		changed = 0;
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < n && !ours[i]; j++)
				if (ours[j] && v[i].ppid == v[j].pid)
					ours[i] = 1, changed = 1;
	}
	pid_t *pids = xmalloc((n + 1) * sizeof *pids);
	char **comms = xcalloc(n + 1, sizeof *comms);
	if (running)
		*running = 0;
	for (size_t i = 0; i < n; i++) {
		if (ours[i] && v[i].state != 'Z') { /* a zombie is only waiting to be reaped */
			if (running && v[i].state == 'R')
				(*running)++;
			pids[count] = v[i].pid;
			comms[count++] = xstrdup(v[i].comm);
		}
	}
	free(ours);
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
sandbox_kill_others(struct strbuf *killed, int settle_ms)
{
	pid_t *seen = NULL;
	size_t nseen = 0;
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	/* Let what is left settle first (a daemon's middle process is exiting
	 * right now), so that the report names the same processes every time. */
	int64_t settle = now_ms() + (settle_ms > 0 ? settle_ms : SETTLE_MS);
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
		while (sandbox_reap(&st) > 0)
			;
	}
	/* Kill, reap, look again: done only when no process of ours is alive
	 * and we have no child left, not even one reparented to us a moment
	 * ago by a double fork that raced the scan. */
	/* What ended by itself is reaped and reported before anything is
	 * killed (the kill below reaches the jail too). */
	if (jail_pid > 0)
		read_jail(1);
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
				sb_addf(killed, "%s%d (%s)", killed->len ? ", " : "", (int)sandbox_inner_pid(pids[i]), names[i]);
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
		while ((r = sandbox_reap(&st)) > 0)
			;
		if (n == 0 && jail_pid > 0) { /* the rest are dead: the jail may go */
			read_jail(1); /* after it reaped what is left */
			kill(jail_pid, SIGKILL);
			wait_retry(jail_pid, &st, 0);
			jail_pid = -1;
			continue;
		}
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
	char err[512];
	/* IPCGRADER_NO_USERNS=1 (as root): the way a container's root runs, for testing. */
	int force = geteuid() == 0 && getenv("IPCGRADER_NO_USERNS");
	without_userns = 0;
	int rc = force ? errf(err, sizeof err, "user namespace not tried (IPCGRADER_NO_USERNS)") : 0;
	if (!force)
		rc = sandbox_run(&cfg, probe_body, NULL, &rep, NULL, err, sizeof err);
	int ok = rc == 0 && rep.len == 2;
	sb_release(&rep);
	if (!ok && geteuid() == 0) {
		/* A container's root: a user namespace is refused, or its proc
		 * mount is (Docker masks /proc paths); the real root needs none. */
		char err2[256];
		without_userns = 1;
		int rc2 = sandbox_run(&cfg, probe_body, NULL, &rep, NULL, err2, sizeof err2);
		ok = rc2 == 0 && rep.len == 2;
		sb_release(&rep);
		if (!ok) {
			without_userns = 0;
			size_t len = strlen(err);
			snprintf(err + len, sizeof err - len, "; without a user namespace, as root: %s",
				 rc2 < 0 ? err2 : "the probe did not answer");
			rc = -1;
		}
	}
	const struct cgroup_env *ce = machine_cgroups();
	char limits[600];
	if (ce->kind != CGROUP_NONE) /* the path names the grader's pid: not in every report */
		snprintf(limits, sizeof limits, "; whole-test memory and process limits (cgroup v%d)",
			 ce->kind == CGROUP_V2 ? 2 : 1);
	else
		snprintf(limits, sizeof limits, "; no whole-test memory and process limits: %.500s", ce->detail);
	info->without_userns = ok && without_userns;
	if (ok) {
		info->mode = current_mode = ISOLATION_NAMESPACES;
		snprintf(info->detail, sizeof info->detail,
			 "%s, pid, network (lo only), ipc, mount and uts namespaces; a read-only root of its own "
			 "(private /tmp, /dev/shm, /dev/mqueue, /var/tmp, /run/lock); student programs in a jail "
			 "(their own PID namespace, no capabilities, a seccomp filter); processes limited by RLIMIT_NPROC as uid %s%s",
			 without_userns ? "no user namespace (root with CAP_SYS_ADMIN; programs run as a uid of their own)" : "user",
			 geteuid() != 0 ? "of the caller" : without_userns ? "of their own" : "nobody", limits);
	} else {
		info->mode = current_mode = ISOLATION_NONE;
		snprintf(info->detail, sizeof info->detail,
			 "no isolation: %s; tests share this machine's network, /tmp and IPC namespace%s",
			 rc < 0 ? err : "the namespace probe did not answer", limits);
	}
	return info->mode;
}
