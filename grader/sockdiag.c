/* sock_diag netlink: the kernel's own list of sockets.
 *
 * Why not /proc/net/tcp: to print it the kernel walks its whole
 * established-connection hash, 1.2-2.8 ms even in an empty namespace, and
 * it shows no backlog.  A sock_diag dump of TCP_LISTEN sockets walks the
 * listening hash alone, filtered by port in the kernel, and reports a
 * listening socket's backlog and accept-queue length.  A readiness probe
 * asks many times while a server starts, so this matters. */
#define _GNU_SOURCE
#include "sockdiag.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

/* A dump arrives in messages the kernel sizes to the reader's buffer (at
 * least a page); a bigger one is reported as truncated, not cut silently. */
#define DIAG_BUF (32 * 1024)
#define DIAG_TIMEOUT_MS 1000

#ifndef UDIAG_SHOW_UID /* Linux 5.3 */
#define UDIAG_SHOW_UID 0x00000040
#define UNIX_DIAG_UID 9
#endif

/* Called for each answer of a dump: 1 stops the dump (found), 0 goes on,
 * -1 rejects the answer as malformed. */
typedef int (*diag_fn)(const struct nlmsghdr *h, void *arg);

static int
diag_open(void)
{
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return -1;
	/* The kernel always answers; this only bounds a wait that cannot happen. */
	struct timeval tv = { DIAG_TIMEOUT_MS / 1000, DIAG_TIMEOUT_MS % 1000 * 1000 };
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Sends one dump request (req: a struct nlmsghdr and its payload) and hands
 * every answer to fn until NLMSG_DONE.  Returns 1 when fn found what it
 * looked for, 0 when the dump ended without it, -1 with errno set when the
 * kernel refused the request, the answer was malformed or truncated, or the
 * socket failed. */
static int
diag_dump(int fd, struct nlmsghdr *req, diag_fn fn, void *arg)
{
	static unsigned seq;
	req->nlmsg_seq = ++seq;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	ssize_t n;
	do
		n = sendto(fd, req, req->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if ((size_t)n != req->nlmsg_len) {
		errno = EMSGSIZE;
		return -1;
	}

	long buf[DIAG_BUF / sizeof(long)]; /* aligned for struct nlmsghdr */
	for (;;) {
		struct iovec iov = { buf, sizeof buf };
		struct msghdr mh = { .msg_name = &kernel, .msg_namelen = sizeof kernel, .msg_iov = &iov, .msg_iovlen = 1 };
		do
			n = recvmsg(fd, &mh, 0);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return -1;
		if (n == 0 || (mh.msg_flags & MSG_TRUNC)) {
			errno = EPROTO;
			return -1;
		}
		if (kernel.nl_pid != 0) /* only the kernel answers; ignore anyone else */
			continue;
		const char *p = (const char *)buf, *end = p + n;
		while (p < end) {
			const struct nlmsghdr *h = (const struct nlmsghdr *)p;
			if ((size_t)(end - p) < sizeof *h || h->nlmsg_len < sizeof *h ||
			    h->nlmsg_len > (size_t)(end - p)) {
				errno = EPROTO; /* a message cut short inside the datagram */
				return -1;
			}
			size_t step = NLMSG_ALIGN(h->nlmsg_len);
			p += step < (size_t)(end - p) ? step : (size_t)(end - p);
			if (h->nlmsg_seq != req->nlmsg_seq)
				continue; /* a late answer to an earlier request */
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				errno = h->nlmsg_len < NLMSG_LENGTH(sizeof *e) ? EPROTO : e->error ? -e->error : EPROTO;
				return -1;
			}
			if (h->nlmsg_type == NLMSG_DONE) {
				/* Since Linux 4.x a dump's own failure is an int here. */
				const int *err = NLMSG_DATA(h);
				if (h->nlmsg_len >= NLMSG_LENGTH(sizeof *err) && *err < 0) {
					errno = -*err;
					return -1;
				}
				return 0;
			}
			if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY)
				continue;
			int rc = fn(h, arg);
			if (rc != 0) {
				if (rc < 0)
					errno = EPROTO;
				return rc;
			}
		}
	}
}

/* One query's walk: the caller's filter and callback. */
struct walk {
	const struct sockdiag_query *q;
	sockdiag_fn fn;
	void *arg;
};

static int
inet_answer(const struct nlmsghdr *h, void *arg)
{
	const struct walk *w = arg;
	const struct inet_diag_msg *m = NLMSG_DATA(h);
	if (h->nlmsg_len < NLMSG_LENGTH(sizeof *m))
		return -1;
	struct sockdiag_sock s = { .family = m->idiag_family, .state = m->idiag_state, .uid = (long)m->idiag_uid,
				   .lport = ntohs(m->id.idiag_sport), .rport = ntohs(m->id.idiag_dport),
				   .rqueue = m->idiag_rqueue, .wqueue = m->idiag_wqueue, .ino = m->idiag_inode };
	/* The kernel filters by port and state already; checked again here
	 * so that a kernel that ignores a filter cannot answer wrongly. */
	if ((w->q->port && s.lport != w->q->port) || (w->q->states && !(w->q->states & (1u << s.state))))
		return 0;
	if (s.family != AF_INET && s.family != AF_INET6)
		return 0;
	inet_ntop(s.family, m->id.idiag_src, s.local, sizeof s.local);
	inet_ntop(s.family, m->id.idiag_dst, s.remote, sizeof s.remote);
	return w->fn(&s, w->arg);
}

static int
dump_inet(int fd, int protocol, const struct walk *w)
{
	static const int families[] = { AF_INET, AF_INET6 };
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < sizeof families / sizeof *families; i++) {
		struct {
			struct nlmsghdr h;
			struct inet_diag_req_v2 r;
		} req = {
			.h = { .nlmsg_len = sizeof req, .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			       .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
			.r = { .sdiag_family = (unsigned char)families[i], .sdiag_protocol = (unsigned char)protocol,
			       .idiag_states = w->q->states ? w->q->states : ~0u,
			       .id = { .idiag_sport = htons((uint16_t)w->q->port) } },
		};
		rc = diag_dump(fd, &req.h, inet_answer, (void *)w);
	}
	return rc;
}

/* The attributes of a Unix socket's answer into s; -1 when malformed. */
static int
unix_attrs(const struct nlmsghdr *h, const struct unix_diag_msg *m, struct sockdiag_sock *s)
{
	const char *at = (const char *)m + NLMSG_ALIGN(sizeof *m), *end = (const char *)h + h->nlmsg_len;
	while (at < end && (size_t)(end - at) >= sizeof(struct rtattr)) {
		const struct rtattr *a = (const struct rtattr *)at;
		if (a->rta_len < sizeof *a || a->rta_len > (size_t)(end - at))
			return -1;
		at += RTA_ALIGN(a->rta_len) < (size_t)(end - at) ? RTA_ALIGN(a->rta_len) : (size_t)(end - at);
		const char *p = RTA_DATA(a);
		size_t plen = RTA_PAYLOAD(a);
		if (a->rta_type == UNIX_DIAG_NAME && plen > 0) {
			s->abstract = p[0] == '\0';
			p += s->abstract;
			plen -= (size_t)s->abstract;
			size_t n = s->abstract ? plen : strnlen(p, plen);
			if (n > sizeof s->path - 1)
				n = sizeof s->path - 1;
			memcpy(s->path, p, n);
			s->path[n] = '\0';
		} else if (a->rta_type == UNIX_DIAG_RQLEN && plen >= sizeof(struct unix_diag_rqlen)) {
			struct unix_diag_rqlen q;
			memcpy(&q, p, sizeof q);
			s->rqueue = q.udiag_rqueue;
			s->wqueue = q.udiag_wqueue;
		} else if (a->rta_type == UNIX_DIAG_PEER && plen >= sizeof(uint32_t)) {
			uint32_t peer;
			memcpy(&peer, p, sizeof peer);
			s->peer = peer;
		} else if (a->rta_type == UNIX_DIAG_UID && plen >= sizeof(uint32_t)) {
			uint32_t uid;
			memcpy(&uid, p, sizeof uid);
			s->uid = uid;
		}
	}
	return 0;
}

static int
unix_answer(const struct nlmsghdr *h, void *arg)
{
	const struct walk *w = arg;
	const struct unix_diag_msg *m = NLMSG_DATA(h);
	if (h->nlmsg_len < NLMSG_LENGTH(sizeof *m))
		return -1;
	struct sockdiag_sock s = { .family = AF_UNIX, .type = m->udiag_type, .state = m->udiag_state, .ino = m->udiag_ino,
				   .uid = -1 };
	if (w->q->states && !(w->q->states & (1u << s.state)))
		return 0;
	if (unix_attrs(h, m, &s) < 0)
		return -1;
	return w->fn(&s, w->arg);
}

static int
dump_unix(int fd, const struct walk *w)
{
	struct {
		struct nlmsghdr h;
		struct unix_diag_req r;
	} req = {
		.h = { .nlmsg_len = sizeof req, .nlmsg_type = SOCK_DIAG_BY_FAMILY,
		       .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.r = { .sdiag_family = AF_UNIX, .udiag_states = w->q->states ? w->q->states : ~0u,
		       .udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_RQLEN | UDIAG_SHOW_PEER | UDIAG_SHOW_UID },
	};
	return diag_dump(fd, &req.h, unix_answer, (void *)w);
}

/* Fills in what the kernel's answer leaves implicit. */
struct typed {
	int protocol, type;
	sockdiag_fn fn;
	void *arg;
};

static int
typed_answer(const struct sockdiag_sock *s, void *arg)
{
	const struct typed *t = arg;
	struct sockdiag_sock c = *s;
	c.protocol = t->protocol;
	if (t->type)
		c.type = t->type;
	return t->fn(&c, t->arg);
}

/* The listing in the caller's own network namespace. */
static int
each_here(const struct sockdiag_query *q, sockdiag_fn fn, void *arg)
{
	int fd = diag_open();
	if (fd < 0)
		return -1;
	int rc = 0;
	if (q->kinds & SOCKDIAG_TCP) {
		struct typed t = { IPPROTO_TCP, SOCK_STREAM, fn, arg };
		struct walk w = { q, typed_answer, &t };
		rc = dump_inet(fd, IPPROTO_TCP, &w);
	}
	if (rc == 0 && (q->kinds & SOCKDIAG_UDP)) {
		struct typed t = { IPPROTO_UDP, SOCK_DGRAM, fn, arg };
		struct walk w = { q, typed_answer, &t };
		rc = dump_inet(fd, IPPROTO_UDP, &w);
	}
	if (rc == 0 && (q->kinds & SOCKDIAG_UNIX)) {
		struct walk w = { q, fn, arg };
		rc = dump_unix(fd, &w);
	}
	int saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/* ---- another namespace: a child asks, the parent listens ----------------
 * The child writes one record per socket and a last one with its result;
 * records are smaller than PIPE_BUF, so each write is whole. */

struct record {
	int last; /* 1: rc and err say how the listing ended */
	int rc, err;
	struct sockdiag_sock s;
};

static int
write_record(int fd, const struct record *r)
{
	ssize_t n;
	do
		n = write(fd, r, sizeof *r);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof *r ? 0 : -1;
}

static int
child_answer(const struct sockdiag_sock *s, void *arg)
{
	struct record r = { .s = *s };
	return write_record(*(int *)arg, &r) < 0 ? -1 : 0;
}

static void
child_ask(int netns_fd, const struct sockdiag_query *q, int out)
{
	struct record end = { .last = 1 };
	if (setns(netns_fd, CLONE_NEWNET) < 0)
		end.rc = -1;
	else
		end.rc = each_here(q, child_answer, &out);
	end.err = end.rc < 0 ? errno : 0;
	_exit(write_record(out, &end) < 0 ? 1 : 0);
}

static int
read_record(int fd, struct record *r)
{
	size_t got = 0;
	while (got < sizeof *r) {
		ssize_t n = read(fd, (char *)r + got, sizeof *r - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

static int
each_there(int netns_fd, const struct sockdiag_query *q, sockdiag_fn fn, void *arg)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		int saved = errno;
		close(pfd[0]);
		close(pfd[1]);
		errno = saved;
		return -1;
	}
	if (pid == 0) {
		close(pfd[0]);
		child_ask(netns_fd, q, pfd[1]);
	}
	close(pfd[1]);
	int rc = -1, err = EPROTO, stopped = 0;
	struct record r;
	/* Read to the end even after fn stopped: the child must not block. */
	while (read_record(pfd[0], &r) == 0) {
		if (r.last) {
			rc = r.rc;
			err = r.err;
			break;
		}
		if (!stopped && fn(&r.s, arg))
			stopped = 1;
	}
	close(pfd[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (stopped)
		return 1;
	if (rc < 0)
		errno = err;
	return rc;
}

int
sockdiag_each(int netns_fd, const struct sockdiag_query *q, sockdiag_fn fn, void *arg)
{
	return netns_fd < 0 ? each_here(q, fn, arg) : each_there(netns_fd, q, fn, arg);
}

struct collect {
	struct sockdiag_sock *v;
	size_t n, cap;
};

static int
collect(const struct sockdiag_sock *s, void *arg)
{
	struct collect *c = arg;
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 16;
		c->v = xrealloc(c->v, c->cap * sizeof *c->v);
	}
	c->v[c->n++] = *s;
	return 0;
}

long
sockdiag_list(int netns_fd, const struct sockdiag_query *q, struct sockdiag_sock **out)
{
	struct collect c = { 0 };
	*out = NULL;
	if (sockdiag_each(netns_fd, q, collect, &c) < 0) {
		int saved = errno;
		free(c.v);
		errno = saved;
		return -1;
	}
	*out = c.v;
	return (long)c.n;
}

static int
first(const struct sockdiag_sock *s, void *arg)
{
	*(struct sockdiag_sock *)arg = *s;
	return 1;
}

int
sockdiag_listener(int netns_fd, int port, struct sockdiag_sock *out)
{
	struct sockdiag_query q = { .kinds = SOCKDIAG_TCP, .states = 1u << TCP_LISTEN, .port = port };
	return sockdiag_each(netns_fd, &q, first, out);
}

static const char *
state_words(int state)
{
	static const char *const words[] = {
		[TCP_ESTABLISHED] = "established", [TCP_SYN_SENT] = "connecting", [TCP_SYN_RECV] = "being accepted",
		[TCP_FIN_WAIT1] = "closing", [TCP_FIN_WAIT2] = "closed, the peer not yet", [TCP_TIME_WAIT] = "in TIME_WAIT",
		[TCP_CLOSE] = "not connected", [TCP_CLOSE_WAIT] = "closed by the peer", [TCP_LAST_ACK] = "closing",
		[TCP_LISTEN] = "listening", [TCP_CLOSING] = "closing",
	};
	return state >= 0 && (size_t)state < sizeof words / sizeof *words && words[state] ? words[state] : "?";
}

void
sockdiag_describe(const struct sockdiag_sock *s, char *buf, size_t size)
{
	if (s->family == AF_UNIX) {
		const char *type = s->type == SOCK_DGRAM ? "datagram" : s->type == SOCK_SEQPACKET ? "seqpacket" : "stream";
		snprintf(buf, size, "Unix %s %s%s%s", type, s->abstract ? "@" : "", s->path[0] || s->abstract ? s->path : "(unnamed)",
			 s->state == TCP_LISTEN ? " listening" : s->state == TCP_ESTABLISHED ? " connected" : "");
		return;
	}
	const char *proto = s->protocol == IPPROTO_UDP ? "UDP" : "TCP";
	const char *open6 = s->family == AF_INET6 ? "[" : "", *close6 = s->family == AF_INET6 ? "]" : "";
	if (s->state == TCP_LISTEN || (s->protocol == IPPROTO_UDP && s->state == TCP_CLOSE))
		snprintf(buf, size, "%s %s%s%s:%d %s", proto, open6, s->local, close6, s->lport,
			 s->state == TCP_LISTEN ? "listening" : "bound");
	else
		snprintf(buf, size, "%s %s%s%s:%d - %s%s%s:%d %s", proto, open6, s->local, close6, s->lport, open6, s->remote,
			 close6, s->rport, state_words(s->state));
}
