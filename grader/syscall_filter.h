/* The seccomp filter every student program runs under: default allow, and
 * EPERM for what an IPC lab never needs (namespaces, mounts, kernel
 * modules, the clock, other processes' memory...).  The policy and the
 * reason for each group are at the top of syscall_filter.c.
 *
 * Not named seccomp.h: that would shadow libseccomp's own header. */
#ifndef GRADER_SYSCALL_FILTER_H
#define GRADER_SYSCALL_FILTER_H

#include <stddef.h>
#include <linux/filter.h>

/* A compiled classic-BPF program.  The struct owns insns (malloc'd);
 * syscall_filter_release() frees it.  Zero-initialise before building. */
struct syscall_filter {
	struct sock_filter *insns;
	unsigned short len;
};

/* Builds the filter once, in the trusted parent: libseccomp compiles the
 * policy and the raw program is read back, so that nothing between fork
 * and exec has to allocate.  Returns 0, or -1 with a message in err (f is
 * then left empty). */
int syscall_filter_build(struct syscall_filter *f, char *err, size_t errlen);

/* Frees the program; f is empty afterwards and may be released again. */
void syscall_filter_release(struct syscall_filter *f);

/* Between fork and exec, as the last step before exec: sets no_new_privs
 * (without it an unprivileged process may not install a filter) and
 * installs the program on the calling thread.  Async-signal-safe: only
 * prctl() and seccomp().  Returns 0, or -1 with errno set. */
int syscall_filter_install(const struct syscall_filter *f);

#endif
