/* What the kernel says about the sandbox, read from inside it: whether a
 * readiness condition holds (a socket listening, a path present, a line
 * printed) and, for a process that hangs, what it is blocked in. */
#ifndef GRADER_PROBE_H
#define GRADER_PROBE_H

#include <stddef.h>
#include <sys/types.h>

#include "spec.h"
#include "util.h"

/* 1 when the condition holds.  out is the process's stdout so far; cwd is
 * where relative Unix socket paths are resolved.  Sockets are looked up
 * through sock_diag netlink; /proc/net only where that cannot be asked. */
int ready_check(const struct ready *r, const char *out, size_t outlen, const char *cwd);
/* Of the TCP socket listening on port (IPv4 or IPv6; the first the kernel
 * lists): the backlog it was given to listen() (capped by somaxconn) and
 * how many connections wait in its accept queue.  Returns 1 and fills both,
 * 0 when no TCP socket listens on port, -1 with errno set when the kernel
 * cannot be asked (no sock_diag netlink: /proc/net does not show backlogs). */
int ready_listen_backlog(int port, int *backlog, int *queued);
/* "a TCP socket listening on port 2021" */
void ready_describe(const struct ready *r, struct strbuf *sb);
/* Why pid is not ready for a socket condition, as the end of a sentence:
 * "; a TCP socket listens on port 58631 instead: that is 2021 with its two
 * bytes swapped (...htons())", or "; its sockets: ...", or "; it has no
 * socket open".  Nothing for other conditions. */
void ready_explain(const struct ready *r, pid_t pid, struct strbuf *sb);
/* 1 when a TCP (UDP) socket listens on (is bound to) r's port with its two
 * bytes swapped, 58631 for 2021: a port given without htons(); else 0. */
int ready_swapped(const struct ready *r);

/* Does any TCP or UDP socket of this network namespace use port locally,
 * in any state (a connection in TIME_WAIT included)?  1 or 0. */
int probe_port_busy(int port);

/* CPU time (user + system) pid has used, in ms; -1 when it is gone. */
long probe_cpu_ms(pid_t pid);

/* Names a process of the test ("your pipe"), or NULL for another one. */
typedef const char *(*probe_name_fn)(pid_t pid, void *arg);

/* Appends what pid is doing: state, the system call it is blocked in, what
 * the kernel is waiting for, CPU time used, its open descriptors; blocked
 * on a pipe, also who holds the other end (named by name, may be NULL). */
void probe_hang(pid_t pid, struct strbuf *sb, probe_name_fn name, void *arg);
/* When fd of pid is a pipe or FIFO: which processes hold its other end
 * ("...the write end is still held by: your pipe (pid 2) fd 4"). */
void probe_pipe_holders(pid_t pid, int fd, probe_name_fn name, void *arg, struct strbuf *sb);

#endif
