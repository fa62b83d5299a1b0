/* A peer on a link between two hosts, for tests/check_link.c.
 *
 *   linkpeer udp-send ADDR PORT NAME COUNT   COUNT datagrams "NAME I" (I = 1..COUNT)
 *   linkpeer udp-recv PORT                   prints each datagram on a line; on SIGTERM
 *                                            "got N datagrams" and exit 0
 *   linkpeer udp-count PORT                  the same without a line per datagram
 *   linkpeer tcp-send ADDR PORT BYTES        BYTES of a pattern in 1000-byte writes
 *   linkpeer tcp-recv PORT BYTES             one connection: checks the pattern arrives
 *                                            whole and in order, prints "received N bytes in order"
 *   linkpeer attack                          what a hostile program on a host tries: each
 *                                            line says "refused: ..." or "BREACH: ..." */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static struct sockaddr_in
addr_of(const char *ip, const char *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };
	if (inet_pton(AF_INET, ip, &a.sin_addr) != 1)
		a.sin_addr.s_addr = htonl(INADDR_ANY);
	return a;
}

static int
udp_send(char **argv)
{
	struct sockaddr_in to = addr_of(argv[0], argv[1]);
	int s = socket(AF_INET, SOCK_DGRAM, 0), count = atoi(argv[3]);
	for (int i = 1; s >= 0 && i <= count; i++) {
		char msg[128];
		int n = snprintf(msg, sizeof msg, "%s %d", argv[2], i);
		if (sendto(s, msg, (size_t)n, 0, (struct sockaddr *)&to, sizeof to) != n) {
			perror("sendto");
			return 1;
		}
	}
	return s < 0;
}

static int
udp_recv(char **argv, int quiet)
{
	struct sigaction sa = { .sa_handler = on_term }; /* no SA_RESTART: recv must end */
	sigaction(SIGTERM, &sa, NULL);
	struct sockaddr_in me = addr_of("0.0.0.0", argv[0]);
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&me, sizeof me) < 0) {
		perror("bind");
		return 1;
	}
	long got = 0;
	char buf[2048];
	while (!stop) {
		ssize_t n = recv(s, buf, sizeof buf - 1, 0);
		if (n < 0)
			continue;
		buf[n] = '\0';
		if (!quiet)
			printf("%s\n", buf);
		got++;
	}
	printf("got %ld datagrams\n", got);
	return 0;
}

static int
tcp_send(char **argv)
{
	struct sockaddr_in to = addr_of(argv[0], argv[1]);
	long bytes = atol(argv[2]);
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (s < 0 || connect(s, (struct sockaddr *)&to, sizeof to) < 0) {
		perror("connect");
		return 1;
	}
	char chunk[1000];
	for (long sent = 0; sent < bytes;) {
		size_t n = bytes - sent < (long)sizeof chunk ? (size_t)(bytes - sent) : sizeof chunk;
		for (size_t i = 0; i < n; i++)
			chunk[i] = (char)((sent + (long)i) % 251);
		ssize_t w = write(s, chunk, n);
		if (w <= 0) {
			perror("write");
			return 1;
		}
		sent += w;
	}
	shutdown(s, SHUT_WR);
	char c;
	while (read(s, &c, 1) > 0) /* the receiver closes when it has it all */
		;
	return 0;
}

static int
tcp_recv(char **argv)
{
	struct sockaddr_in me = addr_of("0.0.0.0", argv[0]);
	long want = atol(argv[1]), got = 0;
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (s < 0 || bind(s, (struct sockaddr *)&me, sizeof me) < 0 || listen(s, 1) < 0) {
		perror("listen");
		return 1;
	}
	int c = accept(s, NULL, NULL);
	char buf[4096];
	ssize_t n;
	while (c >= 0 && (n = read(c, buf, sizeof buf)) > 0) {
		for (ssize_t i = 0; i < n; i++, got++)
			if (buf[i] != (char)(got % 251)) {
				printf("corrupt at byte %ld\n", got);
				return 1;
			}
	}
	printf("received %ld bytes %s\n", got, got == want ? "in order" : "(short)");
	close(c);
	return got == want ? 0 : 1;
}

static void
verdict(const char *what, int breached, int err)
{
	printf("%s: %s (%s)\n", breached ? "BREACH" : "refused", what, breached ? "it worked" : strerror(err));
}

static int
attack(void)
{
	int fd = open("/dev/net/tun", O_RDWR);
	verdict("open /dev/net/tun", fd >= 0, errno);
	int raw = socket(AF_PACKET, SOCK_RAW, htons(3 /* ETH_P_ALL */));
	verdict("sniff with a packet socket", raw >= 0, errno);
	raw = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	verdict("inject with a raw IP socket", raw >= 0, errno);
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "link0");
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, "10.0.0.2", &sin->sin_addr);
	verdict("take the other host's address", ioctl(s, SIOCSIFADDR, &ifr) == 0, errno);
	ifr.ifr_flags = 0;
	verdict("take the link down", ioctl(s, SIOCSIFFLAGS, &ifr) == 0, errno);
	int ns = open("/proc/self/ns/net", O_RDONLY);
	verdict("setns", ns >= 0 && setns(ns, CLONE_NEWNET) == 0, errno);
	verdict("a network namespace of its own", unshare(CLONE_NEWNET) == 0, errno);
	verdict("a user namespace of its own", unshare(CLONE_NEWUSER) == 0, errno);
	/* No route leaves the link: the machine and the world are unreachable. */
	struct sockaddr_in out = addr_of("192.0.2.1", "53");
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	verdict("send to an address outside the link", sendto(u, "x", 1, 0, (struct sockaddr *)&out, sizeof out) == 1,
		errno);
	fflush(stdout);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 6 && !strcmp(argv[1], "udp-send"))
		return udp_send(argv + 2);
	if (argc >= 3 && !strcmp(argv[1], "udp-recv"))
		return udp_recv(argv + 2, 0);
	if (argc >= 3 && !strcmp(argv[1], "udp-count"))
		return udp_recv(argv + 2, 1);
	if (argc >= 5 && !strcmp(argv[1], "tcp-send"))
		return tcp_send(argv + 2);
	if (argc >= 4 && !strcmp(argv[1], "tcp-recv"))
		return tcp_recv(argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "attack"))
		return attack();
	fprintf(stderr, "usage: linkpeer udp-send|udp-recv|tcp-send|tcp-recv|attack ...\n");
	return 2;
}
