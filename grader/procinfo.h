/* What /proc says about the sandbox's processes and their descriptors, for
 * the check units and the hang diagnosis: the process tree, who holds
 * which end of which pipe, which sockets are open.  pids are as the caller
 * (the init) sees them. */
#ifndef GRADER_PROCINFO_H
#define GRADER_PROCINFO_H

#include <stddef.h>
#include <sys/types.h>

#include "util.h"

struct pinfo {
	pid_t pid, ppid, sid;
	char state;   /* R, S, D, Z, T... */
	int exiting;  /* on its way out (PF_EXITING): its descriptors are going or gone */
	char comm[32];
	long cpu_ms;  /* utime + stime */
	long ccpu_ms; /* cutime + cstime: its children that were waited for */
};

/* Every process of /proc (the caller's to free). */
size_t pinfo_list(struct pinfo **out);
/* One process; 0, or -1 when it is gone. */
int pinfo_get(pid_t pid, struct pinfo *out);
/* How long, in ms, pid (0: every process of /proc, summed) has run on a
 * CPU, and waited for one while runnable (its run-queue delay); -1 when
 * the kernel does not keep these (no schedstat) or pid is gone. */
int pinfo_sched(pid_t pid, long *run_ms, long *wait_ms);
/* Is pid root, or a descendant of root, in v? */
int pinfo_in_tree(const struct pinfo *v, size_t n, pid_t root, pid_t pid);

enum fd_kind { FD_FILE, FD_PIPE, FD_SOCKET, FD_OTHER };

struct fdinfo {
	int fd;
	enum fd_kind kind;
	unsigned long ino; /* pipe: and socket: inode */
	int writes;        /* opened for writing (a pipe's write end) */
	char target[160];  /* what /proc/PID/fd/N points at */
};

/* The open descriptors of pid, by number (the caller's to free); 0 when it
 * is gone or has none. */
size_t fds_list(pid_t pid, struct fdinfo **out);
/* 0 when what pid's descriptors are can be read (or it is gone); -1 with
 * errno when not: a process of another user, or one that made itself
 * non-dumpable, while the grader lacks CAP_SYS_PTRACE (a container
 * without it).  fds_list() then lists nothing, which is no evidence. */
int fds_readable(pid_t pid);
/* "a TCP socket listening on 0.0.0.0:2021", "a TCP connection 127.0.0.1:2021
 * - 127.0.0.1:40112 (closed by the peer)", "a Unix-domain socket (./sock)",
 * or "a socket" when the kernel's tables do not list it. */
void socket_describe(unsigned long ino, struct strbuf *sb);

#endif
