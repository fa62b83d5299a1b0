/* Readiness probes (probe.c): ready_check() on TCP, UDP and Unix-domain
 * sockets and ready_listen_backlog(), against sockets the test makes
 * itself on loopback, each answered twice: through sock_diag netlink, and
 * through the /proc/net fallback with netlink denied by a seccomp filter
 * (the filter cannot be taken off, so those cases are tagged no-memcheck:
 * CK_FORK=no would leave it on for every later case).
 *
 * Each case first moves into a network namespace of its own (as root, or
 * through a user namespace), so that "nothing on this port" is a fact and
 * not a bet; where neither is allowed it stays in the machine's namespace
 * with ports the kernel picked, and skips the assertions only a private
 * namespace makes sure of.  Nothing sleeps: what the kernel does after
 * connect() returns is waited for by asking it again, with a deadline. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "probe.h"
#include "util.h"

#define VIA_NETLINK 0
#define VIA_PROC 1

static int private_netns; /* this case runs in a network namespace of its own */
static char tmpdir[64];

/* Once per TCase, in the parent: each case's child binds its sockets here. */
static void
make_tmpdir(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/check_probe.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
remove_tmpdir(void)
{
	rm_rf(tmpdir);
}

static void
write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	ck_assert_int_eq(write_all(fd, text, strlen(text)), 0);
	close(fd);
}

/* A network namespace with lo up, or the current one where none may be
 * made. */
static void
enter_netns(void)
{
	private_netns = 0;
	if (unshare(CLONE_NEWNET) < 0) {
		uid_t uid = getuid();
		gid_t gid = getgid();
		if (unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0) {
			printf("probe: no network namespace (%s); testing in the current one\n", strerror(errno));
			return;
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
	ck_assert_msg(ioctl(s, SIOCSIFFLAGS, &ifr) == 0, "cannot bring up lo: %s", strerror(errno));
	close(s);
	private_netns = 1;
}

/* From here on no netlink socket can be opened: probe.c falls back to
 * /proc/net. */
static void
deny_netlink(void)
{
	scmp_filter_ctx f = seccomp_init(SCMP_ACT_ALLOW);
	ck_assert_ptr_nonnull(f);
	/* spelled out: clang warns about SCMP_A0()'s missing datum_b */
	struct scmp_arg_cmp netlink = { .arg = 0, .op = SCMP_CMP_EQ, .datum_a = AF_NETLINK, .datum_b = 0 };
	ck_assert_int_eq(seccomp_rule_add_array(f, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1, &netlink), 0);
	ck_assert_int_eq(seccomp_load(f), 0);
	seccomp_release(f);
	errno = 0;
	ck_assert_int_eq(socket(AF_NETLINK, SOCK_DGRAM, 0), -1);
	ck_assert_int_eq(errno, EAFNOSUPPORT);
}

/* Namespace first: the filter would not stop unshare(), but keep the
 * order the sandbox uses. */
static void
setup_case(int via)
{
	enter_netns();
	if (via == VIA_PROC)
		deny_netlink();
}

static int
check(enum ready_kind kind, int port, const char *text)
{
	struct ready r = { .kind = kind, .port = port, .text = (char *)text };
	return ready_check(&r, "", 0, tmpdir);
}

/* A socket of type bound to addr (127.0.0.1 or ::1) on a port the kernel
 * picks; -1 when this machine has no such address (IPv6 disabled). */
static int
bound_socket(int family, int type, int *port)
{
	int s = socket(family, type | SOCK_CLOEXEC, 0);
	if (s < 0 && family == AF_INET6 && errno == EAFNOSUPPORT)
		return -1;
	ck_assert_int_ge(s, 0);
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	socklen_t len;
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof *a;
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		len = sizeof *a;
	}
	if (bind(s, (struct sockaddr *)&ss, len) < 0) {
		ck_assert_msg(family == AF_INET6 && errno == EADDRNOTAVAIL, "bind: %s", strerror(errno));
		close(s);
		return -1;
	}
	len = sizeof ss;
	ck_assert_int_eq(getsockname(s, (struct sockaddr *)&ss, &len), 0);
	*port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					: ((struct sockaddr_in6 *)&ss)->sin6_port);
	ck_assert_int_gt(*port, 0);
	return s;
}

static int
connect_to(int family, int port)
{
	int c = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(c, 0);
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	socklen_t len;
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		*a = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
					   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		len = sizeof *a;
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		*a = (struct sockaddr_in6){ .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port),
					    .sin6_addr = in6addr_loopback };
		len = sizeof *a;
	}
	ck_assert_msg(connect(c, (struct sockaddr *)&ss, len) == 0, "connect: %s", strerror(errno));
	return c;
}

static const int families[] = { AF_INET, AF_INET6 };

/* TCP: bound is not ready, listening is, closed is not again; a TCP
 * listener is no UDP socket. */
static void
tcp_case(int via, int family)
{
	setup_case(via);
	int port;
	int s = bound_socket(family, SOCK_STREAM, &port);
	if (s < 0) {
		printf("probe: no IPv6 loopback here; IPv6 case skipped\n");
		return;
	}
	ck_assert_int_eq(check(READY_TCP, port, NULL), 0);
	ck_assert_int_eq(listen(s, 5), 0);
	ck_assert_int_eq(check(READY_TCP, port, NULL), 1);
	if (private_netns)
		ck_assert_int_eq(check(READY_UDP, port, NULL), 0);
	/* A connection on the port is not a second listener... */
	int c = connect_to(family, port);
	close(s);
	/* ...and once the listener is gone, neither it nor the orphaned
	 * connection (its accepted end in the queue died with it) is one. */
	ck_assert_int_eq(check(READY_TCP, port, NULL), 0);
	close(c);
}

START_TEST(tcp_v4)
{
	tcp_case(_i, AF_INET);
}
END_TEST

START_TEST(tcp_v6)
{
	tcp_case(_i, AF_INET6);
}
END_TEST

/* UDP: ready once bound, connected or not; not a TCP listener. */
START_TEST(udp)
{
	setup_case(_i);
	for (size_t f = 0; f < sizeof families / sizeof *families; f++) {
		int port;
		int s = bound_socket(families[f], SOCK_DGRAM, &port);
		if (s < 0) {
			printf("probe: no IPv6 loopback here; IPv6 case skipped\n");
			continue;
		}
		ck_assert_int_eq(check(READY_UDP, port, NULL), 1);
		if (private_netns)
			ck_assert_int_eq(check(READY_TCP, port, NULL), 0);
		close(s);
		if (private_netns)
			ck_assert_int_eq(check(READY_UDP, port, NULL), 0);
	}
}
END_TEST

static int
unix_socket(int type, const char *name, size_t namelen)
{
	int s = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(s, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	ck_assert_uint_lt(namelen, sizeof a.sun_path);
	memcpy(a.sun_path, name, namelen);
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + namelen);
	ck_assert_msg(bind(s, (struct sockaddr *)&a, len) == 0, "bind: %s", strerror(errno));
	return s;
}

/* Unix-domain: a bound path, named relative to the working folder or not,
 * bound by a relative or an absolute name; never an abstract name, which a
 * spec cannot name (ready: {unix: ...} is a path). */
START_TEST(unix_paths)
{
	setup_case(_i);
	char *abs = xstrfmt("%s/server.sock", tmpdir);
	ck_assert_int_eq(check(READY_UNIX, 0, "server.sock"), 0);
	ck_assert_int_eq(check(READY_UNIX, 0, abs), 0);

	/* Bound by an absolute path: not ready until it listens (a client
	 * would be refused), then ready. */
	int s = unix_socket(SOCK_STREAM, abs, strlen(abs));
	ck_assert_int_eq(check(READY_UNIX, 0, abs), 0);
	ck_assert_int_eq(listen(s, 5), 0);
	ck_assert_int_eq(check(READY_UNIX, 0, "server.sock"), 1);
	ck_assert_int_eq(check(READY_UNIX, 0, abs), 1);
	ck_assert_int_eq(check(READY_UNIX, 0, "other.sock"), 0);
	close(s);
	ck_assert_int_eq(check(READY_UNIX, 0, "server.sock"), 0); /* the file stays, the socket is gone */
	ck_assert_int_eq(unlink(abs), 0);

	/* Bound by a relative path from the working folder: a datagram
	 * socket, bound and never listening, counts as ready too. */
	char *old = getcwd(NULL, 0);
	ck_assert_ptr_nonnull(old);
	ck_assert_int_eq(chdir(tmpdir), 0);
	s = unix_socket(SOCK_DGRAM, "rel.sock", strlen("rel.sock"));
	ck_assert_int_eq(chdir(old), 0);
	free(old);
	ck_assert_int_eq(check(READY_UNIX, 0, "rel.sock"), 1);
	char *rel_abs = xstrfmt("%s/rel.sock", tmpdir);
	ck_assert_int_eq(check(READY_UNIX, 0, rel_abs), 1);
	close(s);
	free(rel_abs);

	/* Abstract: "\0probe-<pid>" is no path, under either spelling. */
	char abstract[64];
	int n = snprintf(abstract, sizeof abstract, "%cprobe-%d", '\0', (int)getpid());
	s = unix_socket(SOCK_STREAM, abstract, (size_t)n);
	ck_assert_int_eq(listen(s, 5), 0);
	char *at = xstrfmt("@%s", abstract + 1);
	ck_assert_int_eq(check(READY_UNIX, 0, abstract + 1), 0);
	ck_assert_int_eq(check(READY_UNIX, 0, at), 0);
	close(s);
	free(at);
	free(abs);
}
END_TEST

/* Enough named sockets that the netlink dump spans several datagrams (the
 * kernel fills at most one receive buffer, 32 KiB, per datagram): every
 * one is still found, and a name that is not there is searched to the end
 * of the dump. */
#define MANY 300
START_TEST(unix_many)
{
	setup_case(_i);
	static int fds[MANY];
	char name[160];
	for (int k = 0; k < MANY; k++) {
		snprintf(name, sizeof name, "%s/a-rather-long-socket-name-to-fill-the-dump-%04d.sock", tmpdir, k);
		fds[k] = unix_socket(SOCK_DGRAM, name, strlen(name));
	}
	for (int k = 0; k < MANY; k += 37) {
		snprintf(name, sizeof name, "a-rather-long-socket-name-to-fill-the-dump-%04d.sock", k);
		ck_assert_msg(check(READY_UNIX, 0, name) == 1, "%s not found", name);
	}
	ck_assert_int_eq(check(READY_UNIX, 0, "not-there.sock"), 0);
	for (int k = 0; k < MANY; k++)
		close(fds[k]);
}
END_TEST

/* Asks until the accept queue holds want connections (the handshake's last
 * ACK is handled in the kernel's own time after connect() returns), with a
 * deadline. */
static void
wait_queued(int port, int want_backlog, int want)
{
	int64_t deadline = now_ms() + 5000;
	int backlog = -1, queued = -1;
	for (;;) {
		ck_assert_int_eq(ready_listen_backlog(port, &backlog, &queued), 1);
		ck_assert_int_eq(backlog, want_backlog);
		if (queued == want || now_ms() > deadline)
			break;
		sched_yield();
	}
	ck_assert_int_eq(queued, want);
}

/* ready_listen_backlog(): the backlog listen() was given and the
 * connections completed but not accepted, for IPv4 and IPv6; 0 for a port
 * nothing listens on.  Over /proc it cannot be answered: -1. */
START_TEST(listen_backlog)
{
	setup_case(_i);
	int backlog = -1, queued = -1;
	for (size_t f = 0; f < sizeof families / sizeof *families; f++) {
		int port;
		int s = bound_socket(families[f], SOCK_STREAM, &port);
		if (s < 0) {
			printf("probe: no IPv6 loopback here; IPv6 case skipped\n");
			continue;
		}
		if (_i == VIA_PROC) {
			ck_assert_int_eq(listen(s, 5), 0);
			errno = 0;
			ck_assert_int_eq(ready_listen_backlog(port, &backlog, &queued), -1);
			ck_assert_int_eq(errno, EAFNOSUPPORT);
			close(s);
			continue;
		}
		ck_assert_int_eq(ready_listen_backlog(port, &backlog, &queued), 0); /* bound, not listening */
		ck_assert_int_eq(listen(s, 5), 0);
		wait_queued(port, 5, 0);
		enum { N = 3 };
		int c[N];
		for (int k = 0; k < N; k++)
			c[k] = connect_to(families[f], port);
		wait_queued(port, 5, N);
		int a = accept4(s, NULL, NULL, SOCK_CLOEXEC);
		ck_assert_int_ge(a, 0);
		wait_queued(port, 5, N - 1);
		close(a);
		for (int k = 0; k < N; k++)
			close(c[k]);
		close(s);
		ck_assert_int_eq(ready_listen_backlog(port, &backlog, &queued), 0);
	}
}
END_TEST

/* Microseconds per call of n ready_check() calls. */
static double
time_checks(enum ready_kind kind, int port, const char *text, int n, int want)
{
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int k = 0; k < n; k++)
		ck_assert_int_eq(check(kind, port, text), want);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / 1e3 / n;
}

/* Not an assertion: the figures the backoff and the netlink path were
 * made for, printed for the record. */
START_TEST(benchmark)
{
	enum { CALLS = 1000 };
	enter_netns();
	int port, idle, uport;
	int s = bound_socket(AF_INET, SOCK_STREAM, &port);
	int b = bound_socket(AF_INET, SOCK_STREAM, &idle); /* bound, never listening */
	int u = bound_socket(AF_INET, SOCK_DGRAM, &uport);
	ck_assert_int_eq(listen(s, 5), 0);
	char *abs = xstrfmt("%s/bench.sock", tmpdir);
	int x = unix_socket(SOCK_STREAM, abs, strlen(abs));
	ck_assert_int_eq(listen(x, 5), 0);

	double nl[4] = { time_checks(READY_TCP, port, NULL, CALLS, 1), time_checks(READY_TCP, idle, NULL, CALLS, 0),
			 time_checks(READY_UDP, uport, NULL, CALLS, 1), time_checks(READY_UNIX, 0, "bench.sock", CALLS, 1) };
	deny_netlink();
	double pr[4] = { time_checks(READY_TCP, port, NULL, CALLS, 1), time_checks(READY_TCP, idle, NULL, CALLS, 0),
			 time_checks(READY_UDP, uport, NULL, CALLS, 1), time_checks(READY_UNIX, 0, "bench.sock", CALLS, 1) };
	static const char *const what[] = { "tcp listening", "tcp not listening", "udp bound", "unix bound" };
	printf("probe benchmark: %d ready_check() calls each, %s network namespace, microseconds per call\n", CALLS,
	       private_netns ? "a private" : "the machine's");
	for (int k = 0; k < 4; k++)
		printf("probe benchmark: %-18s netlink %8.1f us   /proc/net %8.1f us   (x%.1f)\n", what[k], nl[k], pr[k],
		       pr[k] / nl[k]);
	fflush(stdout);
	close(x);
	close(u);
	close(b);
	close(s);
	free(abs);
}
END_TEST

/* A listener on 127.0.0.1:port, or -1 when the port is taken. */
static int
listener_on(int port)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(s, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 5) < 0) {
		close(s);
		return -1;
	}
	return s;
}

/* Not ready on 2021 explained: a listener on 58631 is 2021 without
 * htons(); another port is named; no socket at all is said. */
START_TEST(not_ready_explained)
{
	setup_case(_i);
	if (!private_netns) {
		printf("probe: no private network namespace; the fixed ports of not_ready_explained are skipped\n");
		return;
	}
	struct ready r = { .kind = READY_TCP, .port = 2021 };
	struct strbuf sb = STRBUF_INIT;
	ready_explain(&r, getpid(), &sb);
	ck_assert_int_eq(ready_swapped(&r), 0);
	ck_assert_msg(sb.buf && strstr(sb.buf, "; it has no socket open"), "%s", sb.buf ? sb.buf : "(nothing)");
	int swapped = listener_on(58631);
	ck_assert_int_ge(swapped, 0);
	ck_assert_int_eq(check(READY_TCP, 2021, NULL), 0);
	ck_assert_int_eq(ready_swapped(&r), 1);
	sb.len = 0;
	ready_explain(&r, getpid(), &sb);
	ck_assert_msg(strstr(sb.buf, "a TCP socket listens on port 58631 instead: that is 2021 with its two bytes swapped") &&
			      strstr(sb.buf, "htons(2021)"),
		      "%s", sb.buf);
	close(swapped);
	int other = listener_on(2022);
	ck_assert_int_ge(other, 0);
	ck_assert_int_eq(ready_swapped(&r), 0);
	sb.len = 0;
	ready_explain(&r, getpid(), &sb);
	ck_assert_msg(strstr(sb.buf, "; its sockets: fd ") && strstr(sb.buf, "a TCP socket listening on 127.0.0.1:2022"), "%s",
		      sb.buf);
	close(other);
	/* Conditions that are no sockets get no explanation. */
	struct ready path = { .kind = READY_PATH, .text = (char *)"x" };
	sb.len = 0;
	ready_explain(&path, getpid(), &sb);
	ck_assert_uint_eq(sb.len, 0);
	sb_release(&sb);
}
END_TEST

static Suite *
probe_suite(void)
{
	Suite *s = suite_create("probe");
	/* Cases 0 (VIA_NETLINK) and 1 (VIA_PROC) of the same tests. */
	static const struct {
		const char *name;
		int via;
	} ways[] = { { "netlink", VIA_NETLINK }, { "procfs", VIA_PROC } };
	for (size_t w = 0; w < sizeof ways / sizeof *ways; w++) {
		TCase *tc = tcase_create(ways[w].name);
		tcase_set_timeout(tc, 20);
		tcase_add_unchecked_fixture(tc, make_tmpdir, remove_tmpdir);
		if (ways[w].via == VIA_PROC)
			tcase_set_tags(tc, "no-memcheck");
		int from = ways[w].via, to = ways[w].via + 1;
		tcase_add_loop_test(tc, tcp_v4, from, to);
		tcase_add_loop_test(tc, tcp_v6, from, to);
		tcase_add_loop_test(tc, udp, from, to);
		tcase_add_loop_test(tc, unix_paths, from, to);
		tcase_add_loop_test(tc, unix_many, from, to);
		tcase_add_loop_test(tc, listen_backlog, from, to);
		tcase_add_loop_test(tc, not_ready_explained, from, to);
		suite_add_tcase(s, tc);
	}
	TCase *bench = tcase_create("benchmark");
	tcase_set_timeout(bench, 120);
	tcase_set_tags(bench, "no-memcheck");
	tcase_add_unchecked_fixture(bench, make_tmpdir, remove_tmpdir);
	tcase_add_test(bench, benchmark);
	suite_add_tcase(s, bench);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(probe_suite());
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
