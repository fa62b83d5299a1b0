/* The kernel's socket list (sockdiag.c): what it says about sockets the
 * test makes, in its own network namespace and, through a namespace fd,
 * in another; and, printed for the record, what a query costs next to
 * reading /proc/net/tcp. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "sockdiag.h"
#include "util.h"

static void
write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	ck_assert_int_eq(write_all(fd, text, strlen(text)), 0);
	close(fd);
}

/* A fresh network namespace with lo up (as root, or in a user namespace
 * of our own); the test is skipped (0) where none may be made. */
static int
enter_netns(void)
{
	if (unshare(CLONE_NEWNET) < 0) {
		uid_t uid = getuid();
		gid_t gid = getgid();
		if (unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0) {
			printf("sockdiag: no network namespace (%s): not tested\n", strerror(errno));
			return 0;
		}
		char map[64];
		write_text("/proc/self/setgroups", "deny");
		snprintf(map, sizeof map, "0 %u 1\n", (unsigned)uid);
		write_text("/proc/self/uid_map", map);
		snprintf(map, sizeof map, "0 %u 1\n", (unsigned)gid);
		write_text("/proc/self/gid_map", map);
	}
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(s, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
	ck_assert_int_eq(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	ck_assert_int_eq(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
	close(s);
	return 1;
}

/* A TCP socket on 127.0.0.1:port listening with backlog. */
static int
listener(int port, int backlog)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	ck_assert_int_ge(s, 0);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof a), 0);
	ck_assert_int_eq(listen(s, backlog), 0);
	return s;
}

static int
connected(int port)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	ck_assert_int_eq(connect(s, (struct sockaddr *)&a, sizeof a), 0);
	return s;
}

static unsigned long
inode_of(int fd)
{
	struct stat st;
	ck_assert_int_eq(fstat(fd, &st), 0);
	return (unsigned long)st.st_ino;
}

/* The listening socket's backlog and accept queue, and its inode. */
START_TEST(listening_backlog_and_queue)
{
	if (!enter_netns())
		return;
	int s = listener(2021, 3);
	struct sockdiag_sock l;
	ck_assert_int_eq(sockdiag_listener(-1, 2021, &l), 1);
	ck_assert_uint_eq(l.wqueue, 3);
	ck_assert_uint_eq(l.rqueue, 0);
	ck_assert_uint_eq(l.ino, inode_of(s));
	ck_assert_int_eq(l.state, TCP_LISTEN);
	ck_assert_int_eq(l.protocol, IPPROTO_TCP);
	ck_assert_str_eq(l.local, "127.0.0.1");
	char d[160];
	sockdiag_describe(&l, d, sizeof d);
	ck_assert_str_eq(d, "TCP 127.0.0.1:2021 listening");
	/* four complete (backlog + 1); not accepted */
	int c[4];
	for (int i = 0; i < 4; i++)
		c[i] = connected(2021);
	ck_assert_int_eq(sockdiag_listener(-1, 2021, &l), 1);
	ck_assert_uint_eq(l.rqueue, 4);
	ck_assert_int_eq(sockdiag_listener(-1, 2022, &l), 0);
	for (int i = 0; i < 4; i++)
		close(c[i]);
	close(s);
}
END_TEST

struct count {
	int established, listening, udp, unix_listening;
	unsigned long want_ino;
	int found_port;
};

static int
count(const struct sockdiag_sock *s, void *arg)
{
	struct count *c = arg;
	if (s->protocol == IPPROTO_TCP && s->state == TCP_ESTABLISHED)
		c->established++;
	if (s->protocol == IPPROTO_TCP && s->state == TCP_LISTEN)
		c->listening++;
	if (s->protocol == IPPROTO_UDP)
		c->udp++;
	if (s->family == AF_UNIX && s->state == TCP_LISTEN && !strcmp(s->path, "/tmp/sockdiag-test.sock"))
		c->unix_listening++;
	if (s->ino == c->want_ino)
		c->found_port = s->rport;
	return 0;
}

/* Every kind in one listing: both ends of a connection, a UDP socket, a
 * Unix-domain listener with its name. */
START_TEST(every_kind)
{
	if (!enter_netns())
		return;
	int s = listener(2021, 5), c = connected(2021), a = accept(s, NULL, NULL);
	ck_assert_int_ge(a, 0);
	int u = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in6 u6 = { .sin6_family = AF_INET6, .sin6_port = htons(2023), .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	ck_assert_int_eq(bind(u, (struct sockaddr *)&u6, sizeof u6), 0);
	int x = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un un = { .sun_family = AF_UNIX, .sun_path = "/tmp/sockdiag-test.sock" };
	unlink(un.sun_path);
	ck_assert_int_eq(bind(x, (struct sockaddr *)&un, sizeof un), 0);
	ck_assert_int_eq(listen(x, 7), 0);

	struct count n = { .want_ino = inode_of(c) };
	struct sockdiag_query q = { .kinds = SOCKDIAG_TCP | SOCKDIAG_UDP | SOCKDIAG_UNIX };
	ck_assert_int_eq(sockdiag_each(-1, &q, count, &n), 0);
	ck_assert_int_eq(n.established, 2);
	ck_assert_int_eq(n.listening, 1);
	ck_assert_int_eq(n.udp, 1);
	ck_assert_int_eq(n.unix_listening, 1);
	ck_assert_int_eq(n.found_port, 2021); /* the client's end: its peer's port */

	/* states filter; a list the caller frees */
	struct sockdiag_sock *v;
	struct sockdiag_query est = { .kinds = SOCKDIAG_TCP, .states = 1u << TCP_ESTABLISHED };
	ck_assert_int_eq(sockdiag_list(-1, &est, &v), 2);
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(v[i].state, TCP_ESTABLISHED);
	free(v);
	struct sockdiag_query un_q = { .kinds = SOCKDIAG_UNIX, .states = 1u << TCP_LISTEN };
	long nu = sockdiag_list(-1, &un_q, &v);
	ck_assert_int_ge(nu, 1);
	int seen = 0;
	for (long i = 0; i < nu; i++)
		if (v[i].ino == inode_of(x)) {
			ck_assert_uint_eq(v[i].wqueue, 7); /* a Unix listener's backlog too */
			ck_assert_str_eq(v[i].path, "/tmp/sockdiag-test.sock");
			seen = 1;
		}
	ck_assert(seen);
	free(v);
	unlink(un.sun_path);
	close(x);
	close(u);
	close(a);
	close(c);
	close(s);
}
END_TEST

/* Another namespace through its fd: what is listening there, not here. */
START_TEST(other_namespace)
{
	if (!enter_netns())
		return;
	int s = listener(2021, 4);
	int there = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(there, 0);
	ck_assert_int_eq(unshare(CLONE_NEWNET), 0); /* we may: root of our namespaces */
	struct sockdiag_sock l;
	ck_assert_int_eq(sockdiag_listener(-1, 2021, &l), 0);
	ck_assert_int_eq(sockdiag_listener(there, 2021, &l), 1);
	ck_assert_uint_eq(l.wqueue, 4);
	ck_assert_uint_eq(l.ino, inode_of(s));
	struct sockdiag_sock *v;
	struct sockdiag_query q = { .kinds = SOCKDIAG_TCP };
	ck_assert_int_eq(sockdiag_list(there, &q, &v), 1);
	free(v);
	/* a bad fd: an error with its reason, not an empty list */
	ck_assert_int_eq(sockdiag_listener(s, 2021, &l), -1);
	ck_assert_int_eq(errno, EINVAL);
	close(there);
	close(s);
}
END_TEST

static double
us_since(const struct timespec *t0, int n)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return ((double)(t1.tv_sec - t0->tv_sec) * 1e9 + (double)(t1.tv_nsec - t0->tv_nsec)) / 1e3 / n;
}

/* Not an assertion: microseconds per query, printed for the record. */
START_TEST(benchmark)
{
	/* A walk of the established hash (a whole listing, /proc/net/tcp)
	 * takes tens of ms on a big machine: fewer of those. */
	enum { CALLS = 500, SLOW_CALLS = 20 };
	if (!enter_netns())
		return;
	int s = listener(2021, 5), c[6];
	for (int i = 0; i < 6; i++)
		c[i] = connected(2021);
	int here = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	struct sockdiag_sock l;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < CALLS; i++)
		ck_assert_int_eq(sockdiag_listener(-1, 2021, &l), 1);
	double nl = us_since(&t0, CALLS);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < SLOW_CALLS; i++) {
		size_t len;
		char *t = read_file("/proc/net/tcp", 1 << 20, &len);
		ck_assert_ptr_nonnull(t);
		free(t);
	}
	double proc = us_since(&t0, SLOW_CALLS);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < SLOW_CALLS; i++)
		ck_assert_int_eq(sockdiag_listener(here, 2021, &l), 1);
	double ns = us_since(&t0, SLOW_CALLS);
	struct sockdiag_sock *v;
	struct sockdiag_query q = { .kinds = SOCKDIAG_TCP };
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < SLOW_CALLS; i++) {
		ck_assert_int_eq(sockdiag_list(-1, &q, &v), 13);
		free(v);
	}
	double all = us_since(&t0, SLOW_CALLS);
	printf("sockdiag benchmark (us per call, 1 listener + 6 queued connections): listening query %.1f, "
	       "every TCP socket listed %.1f, /proc/net/tcp read %.1f, listening query through a netns fd %.1f\n",
	       nl, all, proc, ns);
	fflush(stdout);
	close(here);
	for (int i = 0; i < 6; i++)
		close(c[i]);
	close(s);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("sockdiag");
	TCase *tc = tcase_create("sockdiag");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, listening_backlog_and_queue);
	tcase_add_test(tc, every_kind);
	tcase_add_test(tc, other_namespace);
	suite_add_tcase(s, tc);
	/* figures, not behaviour: not worth minutes under Valgrind */
	TCase *bench = tcase_create("benchmark");
	tcase_set_timeout(bench, 60);
	tcase_set_tags(bench, "no-memcheck");
	tcase_add_test(bench, benchmark);
	suite_add_tcase(s, bench);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
