/*
 * udp8080_client - seed 002, slides "UDP socket" / "How UDP Sockets Work" /
 * "UDP Client-Server": send one request datagram "Hello from client" to
 * 127.0.0.1:8080, print "Hello message sent.", wait for the answer and
 * print "Server : ...".  The slide shows only the diagram; the messages are
 * the ones of the deck's TCP programs.
 *
 * UDP is unreliable: the request or the answer may be lost, and a server
 * that is not running never says so (nothing comes back).  A client that
 * simply blocks in recvfrom waits forever in both cases.  So, unlike a
 * naive client:
 *  - it waits at most -t ms (default 1000) for the answer, measured on the
 *    monotonic clock, and sends the request again up to -r times (default
 *    2) before giving up with status 1 and "no answer" on stderr;
 *  - it takes the answer only from the address it sent to: a datagram
 *    from anyone else is reported on stderr and ignored, without extending
 *    the wait;
 *  - sendto is retried on EINTR, and a short send is an error (a datagram
 *    goes whole or not at all); the answer is NUL-terminated, socklen_t is
 *    initialised before recvfrom, a truncated answer (MSG_TRUNC) is said so.
 *
 * usage: udp8080_client [-a address] [-p port] [-m message] [-t timeout_ms] [-r retries]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PORT         8080
#define MAXLINE      1024
#define ADDRESS_TEXT (INET_ADDRSTRLEN + sizeof ":65535")

static const char *prog = "udp8080_client";

static int
usage(void)
{
	fprintf(stderr, "usage: %s [-a address] [-p port] [-m message] [-t timeout_ms] [-r retries]\n", prog);
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

static long
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/*
 * Wait until deadline for a datagram from server.  Returns its length
 * (buffer NUL-terminated; longer than size - 1 if it was truncated), -2 if
 * the deadline passed, -1 on error.
 */
static ssize_t
receive_answer(int sockfd, const struct sockaddr_in *server, char *buffer, size_t size, long deadline)
{
	char from_text[ADDRESS_TEXT];

	for (;;) {
		long left = deadline - now_ms();
		if (left <= 0)
			return -2;
		struct pollfd pfd = { .fd = sockfd, .events = POLLIN };
		int r = poll(&pfd, 1, (int)left);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			return -2;

		struct sockaddr_in from;
		socklen_t len = sizeof from;
		ssize_t n = recvfrom(sockfd, buffer, size - 1, MSG_DONTWAIT | MSG_TRUNC,
				     (struct sockaddr *)&from, &len);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			return -1;
		}
		if (from.sin_addr.s_addr != server->sin_addr.s_addr || from.sin_port != server->sin_port) {
			format_address(&from, from_text, sizeof from_text);
			fprintf(stderr, "%s: ignoring a datagram from %s\n", prog, from_text);
			continue;
		}
		buffer[(size_t)n < size - 1 ? (size_t)n : size - 1] = '\0';
		return n;
	}
}

int
main(int argc, char **argv)
{
	const char *address = "127.0.0.1", *hello = "Hello from client";
	long port = PORT, timeout_ms = 1000, retries = 2;
	char buffer[MAXLINE + 1], server_text[ADDRESS_TEXT];
	struct sockaddr_in servaddr;
	int opt, status = 1, gave_up = 0;

	while ((opt = getopt(argc, argv, "a:p:m:t:r:")) != -1) {
		switch (opt) {
		case 'a':
			address = optarg;
			break;
		case 'p':
			if (parse_long(optarg, 1, 65535, &port) == -1)
				return usage();
			break;
		case 'm':
			hello = optarg;
			break;
		case 't':
			if (parse_long(optarg, 1, 600000, &timeout_ms) == -1)
				return usage();
			break;
		case 'r':
			if (parse_long(optarg, 0, 100, &retries) == -1)
				return usage();
			break;
		default:
			return usage();
		}
	}
	if (optind != argc)
		return usage();

	memset(&servaddr, 0, sizeof servaddr);
	servaddr.sin_family = AF_INET;
	servaddr.sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, address, &servaddr.sin_addr) != 1) {
		fprintf(stderr, "%s: '%s' is not an IPv4 address\n", prog, address);
		return usage();
	}
	format_address(&servaddr, server_text, sizeof server_text);

	int sockfd = socket(AF_INET, SOCK_DGRAM, 0);
	if (sockfd < 0) {
		perror("socket creation failed");
		return 1;
	}

	size_t len = strlen(hello);
	for (long attempt = 0; attempt <= retries; attempt++) {
		ssize_t sent;

		do
			sent = sendto(sockfd, hello, len, 0, (const struct sockaddr *)&servaddr, sizeof servaddr);
		while (sent < 0 && errno == EINTR);
		if (sent < 0 || (size_t)sent != len) {
			fprintf(stderr, "%s: sendto %s: %s\n", prog, server_text,
				sent < 0 ? strerror(errno) : "short datagram");
			break;
		}
		printf(attempt == 0 ? "Hello message sent.\n" : "Hello message sent again.\n");

		ssize_t n = receive_answer(sockfd, &servaddr, buffer, sizeof buffer, now_ms() + timeout_ms);
		if (n == -1) {
			perror("recvfrom");
			break;
		}
		if (n == -2) {
			gave_up = attempt == retries;
			continue;   /* lost request, lost answer, or no server: try again */
		}
		printf("Server : %s\n", buffer);
		if ((size_t)n > sizeof buffer - 1)
			printf("(the answer had %zd bytes; %zu were kept, the rest is lost)\n", n, sizeof buffer - 1);
		status = 0;
		break;
	}
	if (status != 0 && gave_up)
		fprintf(stderr, "%s: no answer from %s after %ld tries of %ld ms\n",
			prog, server_text, retries + 1, timeout_ms);

	if (close(sockfd) < 0) {
		perror("close");
		status = 1;
	}
	return status;
}
