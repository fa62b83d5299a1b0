/*
 * backlog_server - the listen backlog of seed 000 (Chapter 16: Network IPC),
 * slide "TCP/IP: TCP at The Server ... 3) Wait for Clients Calls":
 * listen(server_sd, 5) "up to 5 calls. More are rejected!", "What is the
 * queue size?".
 *
 * A server that listens with backlog N (-b, default the slide's 5) and
 * does not accept (the default), or accepts one call every -d ms, so the
 * queue in front of accept() can be watched filling up with
 * backlog_client.  The slide's accept loop and its messages are kept for
 * the calls it does accept; each accepted call is closed at once.
 *
 * What Linux really does, which the slide's "more are rejected" is not:
 *  - the accept queue holds backlog + 1 completed connections, not backlog
 *    (the kernel tests "queue length > backlog"), and backlog is silently
 *    capped at net.core.somaxconn;
 *  - a connection is complete - connect() returns in the client - as soon
 *    as the handshake is done, whether or not the server has called
 *    accept();
 *  - when the queue is full, a new SYN is dropped, not refused: the client
 *    sees no reset, its connect() keeps waiting and retransmits the SYN
 *    (after 1 s, 3 s, 7 s, ...), and completes once accept() has made room.
 *    Only net.ipv4.tcp_abort_on_overflow = 1 makes the kernel answer with a
 *    reset.
 * The server prints the backlog the kernel applied and, when it stops, how
 * many connections are still waiting in its accept queue; both come from
 * the kernel (TCP_INFO on a listening socket: tcpi_sacked is the backlog,
 * tcpi_unacked the queue length), they are not guessed.
 *
 * Differences from the slide, and why: socklen_t initialised before
 * accept, addresses printed with inet_ntop/ntohs, accepted sockets closed,
 * SO_REUSEADDR, default address 127.0.0.1 instead of the lecturer's host.
 * It stops after -n accepted calls, or on SIGTERM/SIGINT, with status 0;
 * those signals are blocked except inside ppoll, so none is lost.
 *
 * usage: backlog_server [-a address] [-p port] [-b backlog] [-d accept_every_ms] [-n calls]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SERVER_PORT  2021
#define BACKLOG      5
#define ADDRESS_TEXT (INET_ADDRSTRLEN + sizeof ":65535")

static const char *prog = "backlog_server";
static volatile sig_atomic_t stop_requested;
static sigset_t wait_mask;

static int
usage(void)
{
	fprintf(stderr, "usage: %s [-a address] [-p port] [-b backlog] [-d accept_every_ms] [-n calls]\n", prog);
	return 2;
}

static int
parse_long(const char *s, long min, long max, long *out)
{
	char *end;

	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static void
format_address(const struct sockaddr_in *sin, char *out, size_t size)
{
	char ip[INET_ADDRSTRLEN];

	if (inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof ip) == NULL)
		snprintf(ip, sizeof ip, "?");
	snprintf(out, size, "%s:%u", ip, (unsigned)ntohs(sin->sin_port));
}

static void
on_stop(int signo)
{
	(void)signo;
	stop_requested = 1;
}

static int
install_stop_handler(void)
{
	struct sigaction sa;
	sigset_t stop_signals;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) == -1 || sigaction(SIGINT, &sa, NULL) == -1)
		return -1;
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	if (sigprocmask(SIG_BLOCK, &stop_signals, &wait_mask) == -1)
		return -1;
	sigdelset(&wait_mask, SIGTERM);
	sigdelset(&wait_mask, SIGINT);
	return 0;
}

static long
ms_until(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	long ms = (long)(deadline->tv_sec - now.tv_sec) * 1000 + (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms > 0 ? ms : 0;
}

/*
 * Wait for fd to be readable (fd -1: for nothing), at most timeout_ms
 * (-1: no limit), or until a stop is requested.
 * Returns 1 readable, 0 timed out, -2 stop requested, -1 error.
 */
static int
wait_for(int fd, long timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct timespec deadline;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	if (timeout_ms >= 0) {
		deadline.tv_sec += timeout_ms / 1000;
		deadline.tv_nsec += (timeout_ms % 1000) * 1000000L;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
	}
	for (;;) {
		if (stop_requested)
			return -2;
		struct timespec left, *timeout = NULL;
		if (timeout_ms >= 0) {
			long ms = ms_until(&deadline);
			left.tv_sec = ms / 1000;
			left.tv_nsec = (ms % 1000) * 1000000L;
			timeout = &left;
		}
		int n = ppoll(&pfd, fd >= 0 ? 1 : 0, timeout, &wait_mask);
		if (n == -1 && errno != EINTR)
			return -1;
		if (n > 0)
			return 1;
		if (n == 0)
			return 0;
	}
}

/* The listening socket as the kernel sees it: its backlog and queue length. */
static int
accept_queue(int sd, unsigned *backlog, unsigned *waiting)
{
	struct tcp_info info;
	socklen_t len = sizeof info;

	if (getsockopt(sd, IPPROTO_TCP, TCP_INFO, &info, &len) == -1)
		return -1;
	*backlog = info.tcpi_sacked;
	*waiting = info.tcpi_unacked;
	return 0;
}

int
main(int argc, char **argv)
{
	const char *address = "127.0.0.1";
	long port = SERVER_PORT, backlog = BACKLOG, every_ms = -1, limit = 0;
	char server_text[ADDRESS_TEXT], client_text[ADDRESS_TEXT];
	struct sockaddr_in server_sin;
	unsigned kernel_backlog, waiting;
	int opt, status = 0;

	while ((opt = getopt(argc, argv, "a:p:b:d:n:")) != -1) {
		switch (opt) {
		case 'a':
			address = optarg;
			break;
		case 'p':
			if (parse_long(optarg, 1, 65535, &port) == -1)
				return usage();
			break;
		case 'b':
			if (parse_long(optarg, 0, 65535, &backlog) == -1)
				return usage();
			break;
		case 'd':
			if (parse_long(optarg, 0, 3600000, &every_ms) == -1)
				return usage();
			break;
		case 'n':
			if (parse_long(optarg, 1, 1000000, &limit) == -1)
				return usage();
			break;
		default:
			return usage();
		}
	}
	if (optind != argc)
		return usage();

	/* each line as it happens, even when stdout is a file or a pipe */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (limit != 0 && every_ms < 0)
		every_ms = 0;   /* -n alone: accept its calls as they come */

	memset(&server_sin, 0, sizeof server_sin);
	server_sin.sin_family = AF_INET;
	server_sin.sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, address, &server_sin.sin_addr) != 1) {
		fprintf(stderr, "%s: '%s' is not an IPv4 address\n", prog, address);
		return usage();
	}
	format_address(&server_sin, server_text, sizeof server_text);
	if (install_stop_handler() == -1) {
		fprintf(stderr, "%s: signal set-up: %s\n", prog, strerror(errno));
		return 1;
	}

	int server_sd = socket(AF_INET, SOCK_STREAM, 0);
	if (server_sd == -1) {
		fprintf(stderr, "%s: error in creating socket for The Server: %s\n", prog, strerror(errno));
		return 1;
	}
	printf("socket has created for The Server with sd:%d\n", server_sd);

	int one = 1;
	if (setsockopt(server_sd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1 ||
	    bind(server_sd, (struct sockaddr *)&server_sin, sizeof server_sin) == -1) {
		fprintf(stderr, "%s: error in binding The Server to the address:port = %s: %s\n",
			prog, server_text, strerror(errno));
		close(server_sd);
		return 1;
	}
	printf("The Server bound to the address:port = %s\n", server_text);

	int flags = fcntl(server_sd, F_GETFL);
	if (flags == -1 || fcntl(server_sd, F_SETFL, flags | O_NONBLOCK) == -1 ||
	    listen(server_sd, (int)backlog) == -1 || accept_queue(server_sd, &kernel_backlog, &waiting) == -1) {
		fprintf(stderr, "%s: The Server's listening failed: %s\n", prog, strerror(errno));
		close(server_sd);
		return 1;
	}
	printf("The Server is listening with backlog %ld (the kernel applies %u: up to %u call(s) wait for accept)\n",
	       backlog, kernel_backlog, kernel_backlog + 1);
	if (every_ms < 0)
		printf("The Server does not accept calls\n");
	else
		printf("The Server accepts one call every %ld ms\n", every_ms);

	long accepted = 0;
	for (;;) {
		if (every_ms < 0) {
			/* never accept: only wait for SIGTERM/SIGINT */
			int r = wait_for(-1, -1);
			if (r == -2)
				break;
			if (r == -1) {
				fprintf(stderr, "%s: ppoll: %s\n", prog, strerror(errno));
				status = 1;
				break;
			}
			continue;
		}
		if (limit != 0 && accepted == limit)
			break;
		int r = every_ms > 0 ? wait_for(-1, every_ms) : 0;   /* the slow part */
		if (r == 0)
			r = wait_for(server_sd, -1);
		if (r == -2)
			break;
		if (r == -1) {
			fprintf(stderr, "%s: ppoll: %s\n", prog, strerror(errno));
			status = 1;
			break;
		}

		struct sockaddr_in client_sin;
		socklen_t client_len = sizeof client_sin;
		int client_sd = accept(server_sd, (struct sockaddr *)&client_sin, &client_len);
		if (client_sd == -1) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED)
				continue;
			/* the slide went on with the next call; with the listening
			 * socket still readable that would spin, so stop */
			fprintf(stderr, "%s: error in opening a request: %s\n", prog, strerror(errno));
			status = 1;
			break;
		}
		format_address(&client_sin, client_text, sizeof client_text);
		printf("The Server opened the request from client %s\n", client_text);
		accepted++;
		if (close(client_sd) == -1)
			fprintf(stderr, "%s: close: %s\n", prog, strerror(errno));
	}

	if (accept_queue(server_sd, &kernel_backlog, &waiting) == 0)
		printf("The Server stops with %u call(s) waiting in the accept queue\n", waiting);
	if (close(server_sd) == -1) {
		fprintf(stderr, "%s: close: %s\n", prog, strerror(errno));
		status = 1;
	}
	return status;
}
