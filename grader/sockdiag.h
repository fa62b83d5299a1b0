/* The sockets of a network namespace as the kernel lists them (sock_diag
 * netlink): TCP (IPv4 and IPv6), UDP and Unix-domain sockets with their
 * state, addresses, queues, inode and owner.  For the readiness probes
 * (probe.c) and the check units that judge sockets (check_sockets.c).
 *
 * Which namespace: netns_fd -1 asks the caller's own (the sandbox's init
 * runs in the test's network namespace, so that is the test's); any other
 * fd is a network namespace (an open /proc/PID/ns/net) that a short-lived
 * child setns()es into to ask, handing the answers back through a pipe, so
 * the caller never leaves its own namespace.
 *
 * Nothing here falls back to /proc/net: -1 with errno says the kernel could
 * not be asked (no netlink, a diag module missing), and the caller decides
 * (probe.c reads /proc/net then; a check unit reports an error). */
#ifndef GRADER_SOCKDIAG_H
#define GRADER_SOCKDIAG_H

#include <stddef.h>

enum { SOCKDIAG_TCP = 1, SOCKDIAG_UDP = 2, SOCKDIAG_UNIX = 4 };

#define SOCKDIAG_ADDR 46  /* INET6_ADDRSTRLEN */
#define SOCKDIAG_PATH 109 /* sun_path and a NUL */

struct sockdiag_sock {
	int family;   /* AF_INET, AF_INET6, AF_UNIX */
	int protocol; /* IPPROTO_TCP, IPPROTO_UDP; 0 for AF_UNIX */
	int type;     /* SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET */
	int state;    /* TCP_LISTEN, TCP_ESTABLISHED, ... (Unix sockets use the same numbers;
		       * a bound UDP socket is TCP_CLOSE, a connected one TCP_ESTABLISHED) */
	char local[SOCKDIAG_ADDR], remote[SOCKDIAG_ADDR]; /* "127.0.0.1", "::"; "" for Unix */
	int lport, rport;
	/* A listening socket (TCP or Unix stream): rqueue is how many
	 * connections wait in its accept queue, wqueue the backlog it listens
	 * with (as the kernel applied it: capped by net.core.somaxconn).
	 * Otherwise: bytes waiting to be read, and sent but not acknowledged. */
	unsigned rqueue, wqueue;
	unsigned long ino; /* the socket's inode: "socket:[ino]" in /proc/PID/fd */
	long uid;          /* its owner, -1 when the kernel does not say (Unix before 5.3) */
	unsigned long peer; /* Unix: the peer socket's inode, 0 if none */
	int abstract;       /* Unix: path is an abstract name (shown without its leading NUL) */
	char path[SOCKDIAG_PATH]; /* Unix: the bound name, "" when unnamed */
};

struct sockdiag_query {
	unsigned kinds;  /* SOCKDIAG_TCP, _UDP, _UNIX, or-ed */
	unsigned states; /* 1 << TCP_LISTEN ... or-ed; 0: every state */
	int port;        /* TCP and UDP: only sockets on this local port; 0: any */
};

/* Called for each socket: non-zero stops the listing (found). */
typedef int (*sockdiag_fn)(const struct sockdiag_sock *s, void *arg);

/* Hands every socket of the query to fn (TCP IPv4, TCP IPv6, UDP IPv4, UDP
 * IPv6, Unix, in that order).  Returns 1 when fn stopped the listing, 0
 * when it ended, -1 with errno set when the kernel could not be asked (fn
 * may have seen some sockets then). */
int sockdiag_each(int netns_fd, const struct sockdiag_query *q, sockdiag_fn fn, void *arg);

/* Every socket of the query, in *out (the caller's to free; NULL when
 * none).  Returns how many, or -1 with errno set. */
long sockdiag_list(int netns_fd, const struct sockdiag_query *q, struct sockdiag_sock **out);

/* The first TCP socket listening on port (IPv4 before IPv6) into *out:
 * 1 found, 0 none, -1 with errno set. */
int sockdiag_listener(int netns_fd, int port, struct sockdiag_sock *out);

/* "TCP 127.0.0.1:2021 listening", "TCP 127.0.0.1:2021 - 127.0.0.1:40112
 * established", "Unix stream ./sock listening" into buf. */
void sockdiag_describe(const struct sockdiag_sock *s, char *buf, size_t size);

#endif
