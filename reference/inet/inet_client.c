/*
 * inet_client - seed 001 (CS 415 Lecture 6: Interprocess Communication),
 * slide "Sockets over Internet": the Unix-domain client of the slide
 * "Sockets" moved to AF_INET, port 12345, the server's IP converted with
 * inet_pton.
 *
 * Like the slides: connect, write "Hello from client" (17 bytes, no NUL),
 * read the answer, print "Client received: ...", close.
 *
 * Differences from the slides, and why:
 *  - the server's IP is the program's argument (default 127.0.0.1) instead
 *    of the hard-coded "192.168.1.10", and a string that is not an IPv4
 *    address is a usage error: the slide ignored inet_pton's result and
 *    would have connected to 0.0.0.0;
 *  - every error ends the program with a message and status 1 (the slide
 *    printed perror and carried on with a closed descriptor);
 *  - the message is written in a loop until every byte is out, with
 *    MSG_NOSIGNAL so a vanished server is an error message, not SIGPIPE;
 *  - the answer is read until the server closes the connection (the slide
 *    read once: TCP may deliver it in pieces), NUL-terminated, and kept up
 *    to the slide's 99 bytes; a server that closes without answering is an
 *    error;
 *  - -p changes the port, -m the message.
 *
 * usage: inet_client [-p port] [-m message] [server_ip]
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

#define SERVER_PORT 12345

static const char *prog = "inet_client";

static int
usage(void)
{
	fprintf(stderr, "usage: %s [-p port] [-m message] [server_ip]\n", prog);
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
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read until EOF; keep what fits in buf (NUL-terminated).  Total or -1. */
static ssize_t
read_to_eof(int fd, char *buf, size_t size)
{
	size_t kept = 0, total = 0;
	char discard[512];

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
	const char *server_ip = "127.0.0.1", *message = "Hello from client";
	long port = SERVER_PORT;
	char buffer[100];
	struct sockaddr_in addr;
	int opt, status = 0;

	while ((opt = getopt(argc, argv, "p:m:")) != -1) {
		switch (opt) {
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
	if (argc - optind > 1)
		return usage();
	if (argc - optind == 1)
		server_ip = argv[optind];

	memset(&addr, 0, sizeof addr);
	addr.sin_family = AF_INET;
	addr.sin_port = htons((unsigned short)port);   /* same port */
	if (inet_pton(AF_INET, server_ip, &addr.sin_addr) != 1) {   /* server machine's IP */
		fprintf(stderr, "%s: '%s' is not an IPv4 address\n", prog, server_ip);
		return usage();
	}

	int sock_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (sock_fd < 0) {
		perror("socket");
		return 1;
	}
	if (connect(sock_fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		perror("connect");
		close(sock_fd);
		return 1;
	}

	if (write_all(sock_fd, message, strlen(message)) == -1) {
		perror("write");
		status = 1;
	} else {
		ssize_t n = read_to_eof(sock_fd, buffer, sizeof buffer);
		if (n == -1) {
			perror("read");
			status = 1;
		} else if (n == 0) {
			fprintf(stderr, "%s: the server closed the connection without answering\n", prog);
			status = 1;
		} else {
			printf("Client received: %s\n", buffer);
		}
	}

	if (close(sock_fd) < 0) {
		perror("close");
		status = 1;
	}
	return status;
}
