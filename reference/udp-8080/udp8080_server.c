/*
 * udp8080_server - seed 002, slides "UDP socket" / "How UDP Sockets Work" /
 * "UDP Client-Server": the datagram version of the deck's TCP example on
 * port 8080.  The slide shows only the diagram (socket, bind, recvfrom,
 * sendto); the messages are the ones of the deck's TCP programs.
 *
 * Each request is one datagram; the server prints it ("Client a.b.c.d:port :
 * ...", the deck's "Client : ..." plus the sender), answers it with one datagram
 * "Hello from server" and prints "Hello message sent.".  No connection:
 * the reply goes to whatever address recvfrom reported, and successive
 * requests may come from different clients.
 *
 * Choices, and why:
 *  - binds INADDR_ANY:8080 like the deck's TCP server (-a to bind one
 *    address, -p another port);
 *  - socklen_t is initialised before every recvfrom, the request is
 *    NUL-terminated before printing, the address is printed with
 *    inet_ntop/ntohs; a request longer than the buffer is reported as
 *    truncated (MSG_TRUNC) - the rest of a datagram is lost, not kept for
 *    the next recvfrom;
 *  - it serves requests until SIGTERM/SIGINT (status 0), or -n of them;
 *    those signals are blocked except inside ppoll, so none is lost.
 *
 * usage: udp8080_server [-a address] [-p port] [-n requests]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PORT         8080
#define MAXLINE      1024
#define REPLY        "Hello from server"
#define ADDRESS_TEXT (INET_ADDRSTRLEN + sizeof ":65535")

static const char *prog = "udp8080_server";
static volatile sig_atomic_t stop_requested;
static sigset_t wait_mask;

static int
usage(void)
{
	fprintf(stderr, "usage: %s [-a address] [-p port] [-n requests]\n", prog);
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

/* 1: fd is readable; 0: a stop was requested; -1: error (errno set). */
static int
wait_readable(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	for (;;) {
		if (stop_requested)
			return 0;
		int n = ppoll(&pfd, 1, NULL, &wait_mask);
		if (n > 0)
			return 1;
		if (n == -1 && errno != EINTR)
			return -1;
	}
}

int
main(int argc, char **argv)
{
	const char *address = "0.0.0.0";
	long port = PORT, limit = 0;
	char buffer[MAXLINE + 1], client_text[ADDRESS_TEXT];
	struct sockaddr_in servaddr;
	int opt, status = 0;

	while ((opt = getopt(argc, argv, "a:p:n:")) != -1) {
		switch (opt) {
		case 'a':
			address = optarg;
			break;
		case 'p':
			if (parse_long(optarg, 1, 65535, &port) == -1)
				return usage();
			break;
		case 'n':
			if (parse_long(optarg, 0, 1000000, &limit) == -1)
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

	memset(&servaddr, 0, sizeof servaddr);
	servaddr.sin_family = AF_INET;
	servaddr.sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, address, &servaddr.sin_addr) != 1) {
		fprintf(stderr, "%s: '%s' is not an IPv4 address\n", prog, address);
		return usage();
	}
	if (install_stop_handler() == -1) {
		fprintf(stderr, "%s: signal set-up: %s\n", prog, strerror(errno));
		return 1;
	}

	int sockfd = socket(AF_INET, SOCK_DGRAM, 0);
	if (sockfd < 0) {
		perror("socket creation failed");
		return 1;
	}
	if (bind(sockfd, (const struct sockaddr *)&servaddr, sizeof servaddr) < 0) {
		perror("bind failed");
		close(sockfd);
		return 1;
	}

	for (long served = 0; limit == 0 || served < limit; ) {
		int ready = wait_readable(sockfd);
		if (ready == 0)
			break;
		if (ready == -1) {
			perror("ppoll");
			status = 1;
			break;
		}

		struct sockaddr_in cliaddr;
		socklen_t len = sizeof cliaddr;
		ssize_t n = recvfrom(sockfd, buffer, MAXLINE, MSG_DONTWAIT | MSG_TRUNC,
				     (struct sockaddr *)&cliaddr, &len);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			perror("recvfrom");
			status = 1;
			break;
		}
		size_t kept = (size_t)n < MAXLINE ? (size_t)n : MAXLINE;
		buffer[kept] = '\0';
		format_address(&cliaddr, client_text, sizeof client_text);
		printf("Client %s : %s\n", client_text, buffer);
		if ((size_t)n > kept)
			printf("(the request had %zd bytes; %zu were kept, the rest is lost)\n", n, kept);

		ssize_t sent;
		do
			sent = sendto(sockfd, REPLY, strlen(REPLY), 0, (const struct sockaddr *)&cliaddr, len);
		while (sent < 0 && errno == EINTR);
		if (sent < 0) {
			/* one client's trouble (a full buffer, say) is not the server's end */
			fprintf(stderr, "%s: sendto %s: %s\n", prog, client_text, strerror(errno));
			continue;
		}
		printf("Hello message sent.\n");
		served++;
	}

	if (close(sockfd) < 0) {
		perror("close");
		status = 1;
	}
	return status;
}
