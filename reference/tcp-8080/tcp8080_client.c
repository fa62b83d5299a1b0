/*
 * tcp8080_client - seed 002, slide "Client.c": connect to 127.0.0.1:8080,
 * send "Hello from client", print "Message sent to server.", read the
 * answer and print "Server: ...".
 *
 * Like the slide: the address, port and messages; the message is sent
 * without a NUL (strlen bytes).
 *
 * Differences from the slide, and why:
 *  - send may send less than asked: the slide called send once and took
 *    "not -1" for "all sent".  Here the message goes out in a loop, each
 *    call continuing where the last one stopped (with MSG_NOSIGNAL, so a
 *    server that went away is an error message, not SIGPIPE);
 *  - the answer is read until the server closes the connection (the slide
 *    read once: TCP may deliver an answer in pieces), and is
 *    NUL-terminated.  Answers longer than the slide's 1024-byte buffer are
 *    counted but not kept: the client prints their first bytes and their
 *    size ("Server: Hello from serverHello...  (1048576 bytes)");
 *  - every failure closes the socket and ends with status 1, with the
 *    slide's message ("Connection failed", ...) and the reason on stderr;
 *    a server that closes without answering is an error;
 *  - -a, -p and -m change the server's address, port and the message.
 *
 * usage: tcp8080_client [-a address] [-p port] [-m message]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PORT 8080
#define SHOWN_OF_LONG_REPLY 40   /* bytes printed of an answer that does not fit */

static const char *prog = "tcp8080_client";

static int
usage(void)
{
	fprintf(stderr, "usage: %s [-a address] [-p port] [-m message]\n", prog);
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

static int
send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;        /* n may be less than len: go on from there */
		len -= (size_t)n;
	}
	return 0;
}

/* Read until EOF; keep what fits in buf (NUL-terminated).  Total or -1. */
static ssize_t
read_to_eof(int fd, char *buf, size_t size)
{
	size_t kept = 0, total = 0;
	char discard[4096];

	for (;;) {
		char *into = kept < size - 1 ? buf + kept : discard;
		size_t room = kept < size - 1 ? size - 1 - kept : sizeof discard;
		ssize_t n = read(fd, into, room);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		if (into == buf + kept)
			kept += (size_t)n;
		total += (size_t)n;
	}
	buf[kept] = '\0';
	return (ssize_t)total;
}

int
main(int argc, char **argv)
{
	const char *address = "127.0.0.1", *message = "Hello from client";
	long port = PORT;
	struct sockaddr_in server_addr;
	char messageBuffer[1024];
	int opt, status = 0;

	while ((opt = getopt(argc, argv, "a:p:m:")) != -1) {
		switch (opt) {
		case 'a':
			address = optarg;
			break;
		case 'p':
			if (parse_long(optarg, 1, 65535, &port) == -1)
				return usage();
			break;
		case 'm':
			message = optarg;
			break;
		default:
			return usage();
		}
	}
	if (optind != argc)
		return usage();

	memset(&server_addr, 0, sizeof server_addr);
	server_addr.sin_family = AF_INET;
	server_addr.sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, address, &server_addr.sin_addr) != 1) {
		fprintf(stderr, "%s: '%s' is not an IPv4 address\n", prog, address);
		return usage();
	}

	int client_socket = socket(AF_INET, SOCK_STREAM, 0);
	if (client_socket == -1) {
		printf("Socket creation failed\n");
		fprintf(stderr, "%s: socket: %s\n", prog, strerror(errno));
		return 1;
	}
	if (connect(client_socket, (struct sockaddr *)&server_addr, sizeof server_addr) == -1) {
		printf("Connection failed\n");
		fprintf(stderr, "%s: connect: %s\n", prog, strerror(errno));
		status = 1;
		goto close_socket;
	}

	if (send_all(client_socket, message, strlen(message)) == -1) {
		printf("Send failed\n");
		fprintf(stderr, "%s: send: %s\n", prog, strerror(errno));
		status = 1;
		goto close_socket;
	}
	printf("Message sent to server.\n");

	ssize_t n = read_to_eof(client_socket, messageBuffer, sizeof messageBuffer);
	if (n == -1) {
		printf("Read failed\n");
		fprintf(stderr, "%s: read: %s\n", prog, strerror(errno));
		status = 1;
	} else if (n == 0) {
		fprintf(stderr, "%s: the server closed the connection without answering\n", prog);
		status = 1;
	} else if ((size_t)n < sizeof messageBuffer) {
		printf("Server: %s\n", messageBuffer);
	} else {
		printf("Server: %.*s...  (%zd bytes)\n", SHOWN_OF_LONG_REPLY, messageBuffer, n);
	}

close_socket:
	if (close(client_socket) == -1) {
		fprintf(stderr, "%s: close: %s\n", prog, strerror(errno));
		status = 1;
	}
	return status;
}
