/* The seccomp filter for student programs.
 *
 * Theory of operation.  The sandbox's namespaces and limits decide what a
 * student program can see; this filter narrows what it can ask the kernel.
 * It is a deny list on top of a default of ALLOW: an IPC lab uses nearly
 * every ordinary system call (fork, threads, pipes, FIFOs, sockets, POSIX
 * and System V IPC, mmap, signals, exec), and an allow list would break a
 * correct program the day glibc starts using a new call.  What is denied
 * is what an IPC lab never needs and what is kernel attack surface or
 * could escape or disturb the sandbox.  A denied call fails with EPERM, so
 * a program that probes for a feature sees "not allowed" and goes on; it
 * is not killed.
 *
 * The groups, and why each is denied:
 *  - namespaces and mounts (mount, umount2, pivot_root, chroot, setns,
 *    unshare, the new mount API open_tree/move_mount/fsopen/fsconfig/
 *    fsmount/fspick/mount_setattr, clone with a CLONE_NEW* flag): the
 *    sandbox has built the program's view of the system; the program must
 *    not rebuild it.  A user namespace would also give it capabilities
 *    there and open much kernel code to it.
 *  - clone3 fails with ENOSYS: its flags are in memory, which a seccomp
 *    filter cannot read, so the namespace flags could not be checked.
 *    glibc takes ENOSYS as "old kernel" and falls back to clone, whose
 *    flags are a register we do check.
 *  - other processes' memory and descriptors (process_vm_readv/writev,
 *    pidfd_getfd): a student program has no business in the grader's or
 *    another test's memory.  ptrace stays allowed: LeakSanitizer attaches
 *    to its own threads with PTRACE_ATTACH, and the sandbox confines
 *    ptrace by giving each test its own PID namespace.
 *  - kernel attack surface that IPC does not use (bpf, perf_event_open,
 *    userfaultfd, io_uring_*, keyctl/add_key/request_key, fanotify_init):
 *    where most recent local privilege escalations were found.
 *  - the machine itself (kexec_*, *_module, reboot, swapon/swapoff, acct,
 *    quotactl, clock_settime, clock_adjtime, settimeofday, adjtimex,
 *    sethostname, setdomainname, syslog, iopl, ioperm, vhangup): need root
 *    anyway; denied so that a sandbox run as root still cannot touch them.
 *  - file handles and obsolete calls (open_by_handle_at reads any file of
 *    a mounted file system, bypassing the directories around it;
 *    name_to_handle_at is its other half; nfsservctl, lookup_dcookie,
 *    uselib are old and unneeded).
 *  - personality other than the query personality(0xffffffff): flags
 *    such as READ_IMPLIES_EXEC or ADDR_NO_RANDOMIZE weaken the program's
 *    protections, and the sandbox has set the personality (no address
 *    randomisation, for reproducible runs) before installing the filter.
 *  - ioctl TIOCSTI and TIOCLINUX: they push keystrokes into a terminal,
 *    which could type commands into the shell of whoever runs the grader.
 *    The kernel reads the ioctl command as 32 bits, so only those are
 *    compared: 0x100005412 is TIOCSTI as well.
 *  - any system call of another ABI (i386 through int 0x80, x32 through
 *    the x32 bit) kills the process: the rules above are written for the
 *    native numbers, and another ABI would number the calls differently
 *    and walk around them.  No correct student program does that.
 *
 * The filter is compiled once by libseccomp in the grader and exported as
 * a raw BPF program, so that installing it between fork and exec is two
 * async-signal-safe system calls and nothing else. */
#define _GNU_SOURCE
#include "syscall_filter.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080 /* Linux 5.6; glibc < 2.36 lacks the name */
#endif

/* Denied with EPERM whatever their arguments (see the groups above). */
static const char *const denied_calls[] = {
	/* namespaces and mounts */
	"mount", "umount2", "pivot_root", "chroot", "setns", "unshare",
	"open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
	/* other processes' memory and descriptors */
	"process_vm_readv", "process_vm_writev", "pidfd_getfd",
	/* kernel attack surface IPC does not use */
	"bpf", "perf_event_open", "userfaultfd",
	"io_uring_setup", "io_uring_enter", "io_uring_register",
	"keyctl", "add_key", "request_key", "fanotify_init",
	/* the machine itself */
	"kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
	"reboot", "swapon", "swapoff", "acct", "quotactl",
	"clock_settime", "clock_adjtime", "settimeofday", "adjtimex",
	"sethostname", "setdomainname", "syslog", "iopl", "ioperm", "vhangup",
	/* file handles and obsolete calls */
	"open_by_handle_at", "name_to_handle_at", "nfsservctl", "lookup_dcookie", "uselib",
};

/* Every flag that makes clone() create a namespace.  CLONE_NEWTIME shares
 * its bit with the exit signal of clone() (the kernel takes it only from
 * clone3 and unshare); denying it costs nothing, since no signal is 128
 * or more. */
static const unsigned long namespace_flags[] = {
	CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET,
	CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWCGROUP, CLONE_NEWTIME,
};

static const unsigned long terminal_injection[] = { TIOCSTI, TIOCLINUX };

/* libseccomp returns -errno. */
static int
rule_failed(int rc, const char *name, char *err, size_t errlen)
{
	return errf(err, errlen, "cannot add the seccomp rule for \"%s\": %s", name, strerror(-rc));
}

/* A name libseccomp does not know is an error, not a rule silently left
 * out: the policy would be weaker than this file says. */
static int
deny_call(scmp_filter_ctx ctx, const char *name, char *err, size_t errlen)
{
	int nr = seccomp_syscall_resolve_name(name);
	if (nr == __NR_SCMP_ERROR)
		return errf(err, errlen, "libseccomp does not know the system call \"%s\"", name);
	int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
	return rc < 0 ? rule_failed(rc, name, err, errlen) : 0;
}

static int
add_rules(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	int rc;
	for (size_t i = 0; i < sizeof denied_calls / sizeof *denied_calls; i++)
		if (deny_call(ctx, denied_calls[i], err, errlen) < 0)
			return -1;

	/* One rule per flag: a rule's comparisons are ANDed, and "any of these
	 * bits" is an OR.  Each mask is one bit of the low 32, the ones the
	 * kernel reads, so garbage in the high half changes nothing. */
	for (size_t i = 0; i < sizeof namespace_flags / sizeof *namespace_flags; i++) {
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
				      SCMP_A0(SCMP_CMP_MASKED_EQ, namespace_flags[i], namespace_flags[i]));
		if (rc < 0)
			return rule_failed(rc, "clone", err, errlen);
	}
	if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0)) < 0)
		return rule_failed(rc, "clone3", err, errlen);

	for (size_t i = 0; i < sizeof terminal_injection / sizeof *terminal_injection; i++) {
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
				      SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, terminal_injection[i]));
		if (rc < 0)
			return rule_failed(rc, "ioctl", err, errlen);
	}

	/* Only the query.  libseccomp takes one comparison per argument in a
	 * rule, so "query or one of a few values" would need a set of bit
	 * patterns nobody could review; the sandbox sets ADDR_NO_RANDOMIZE
	 * before the filter anyway.  All 64 bits are compared: a query with
	 * high garbage, which the kernel would truncate, is denied too.  The
	 * last 0 is the unused second datum: clang warns when it is left out. */
	rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(personality), 1,
			      SCMP_A0(SCMP_CMP_NE, 0xffffffffUL, 0));
	if (rc < 0)
		return rule_failed(rc, "personality", err, errlen);
	return 0;
}

/* libseccomp (before 2.6) exports only into a file descriptor: a memfd
 * keeps the program off the file system. */
static int
export_program(scmp_filter_ctx ctx, struct syscall_filter *f, char *err, size_t errlen)
{
	int fd = memfd_create("syscall-filter", MFD_CLOEXEC);
	if (fd < 0)
		return errf(err, errlen, "cannot create a memfd for the seccomp filter: %s", strerror(errno));
	int rc = seccomp_export_bpf(ctx, fd);
	if (rc < 0) {
		errf(err, errlen, "cannot export the seccomp filter: %s", strerror(-rc));
		goto close_fd;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		errf(err, errlen, "cannot stat the exported seccomp filter: %s", strerror(errno));
		goto close_fd;
	}
	size_t size = (size_t)st.st_size, count = size / sizeof *f->insns;
	if (size == 0 || size % sizeof *f->insns || count > BPF_MAXINSNS) {
		errf(err, errlen, "the exported seccomp filter has an impossible size of %zu bytes", size);
		goto close_fd;
	}
	struct sock_filter *insns = xmalloc(size);
	for (size_t done = 0; done < size;) {
		ssize_t n = pread(fd, (char *)insns + done, size - done, (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			errf(err, errlen, "cannot read back the seccomp filter: %s",
			     n < 0 ? strerror(errno) : "unexpected end of file");
			free(insns);
			goto close_fd;
		}
		done += (size_t)n;
	}
	close(fd);
	f->insns = insns;
	f->len = (unsigned short)count;
	return 0;

close_fd:
	close(fd);
	return -1;
}

int
syscall_filter_build(struct syscall_filter *f, char *err, size_t errlen)
{
	f->insns = NULL;
	f->len = 0;
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return errf(err, errlen, "cannot start a seccomp filter: libseccomp failed to initialise");
	/* The whole process, not only the thread that made the call: a
	 * process missing one thread would run on in a state nobody expects.
	 * libseccomp refuses that action when it believes the kernel lacks it
	 * (Linux before 4.14, or the grader itself run under Valgrind, which
	 * does not emulate the seccomp() query libseccomp makes); killing the
	 * thread is what those kernels did, and the call is not made either way. */
	int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (rc == -EINVAL)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_THREAD);
	if (rc < 0) {
		errf(err, errlen, "cannot make foreign system call ABIs kill the process: %s", strerror(-rc));
		goto release_ctx;
	}
	if (add_rules(ctx, err, errlen) < 0 || export_program(ctx, f, err, errlen) < 0)
		goto release_ctx;
	seccomp_release(ctx);
	return 0;

release_ctx:
	seccomp_release(ctx);
	return -1;
}

void
syscall_filter_release(struct syscall_filter *f)
{
	free(f->insns);
	f->insns = NULL;
	f->len = 0;
}

int
syscall_filter_install(const struct syscall_filter *f)
{
	if (!f->insns || !f->len) {
		errno = EINVAL;
		return -1;
	}
	struct sock_fprog prog = { .len = f->len, .filter = f->insns };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	/* The prctl() form: no flags are needed, every kernel since 3.5 has it,
	 * and Valgrind knows it (it warns of seccomp() on every call). */
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}
