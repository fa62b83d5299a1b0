/* Lecture: Chapter 16 Network IPC (seed 000), "TCP/IP: TCP at Clients": the
 * client connects to The Server on port 2021, sends "hello" and prints the
 * answer ("hello back").
 *
 * Differences from the slide, and why:
 *  - the reply buffer has room for the 11 bytes of "hello back" and its '\0',
 *    and recv() is called until the reply's '\0' arrives or the peer closes
 *    (TCP may deliver it in pieces); the slide receives
 *    into char[10] and prints it with %s, reading past the array (ASan:
 *    stack-buffer-overflow).
 *  - the server's address is an argument (default 127.0.0.1), converted with
 *    inet_pton(); addresses are printed with inet_ntop()/ntohs().
 *  - "error in connecting" is printed with the reason and exits 1 when no
 *    server listens.
 *  - -p PORT; -x connects and leaves at once without sending (a client that
 *    disconnects early, for tests of the server).
 *  - options that test a server the way TCP may treat it (a byte stream,
 *    not messages), the default behaviour unchanged:
 *    -s SIZE  sends the request in writes of at most SIZE bytes
 *             (TCP_NODELAY: each write its own segment);
 *    -f N -g PORT  sends the first N bytes (default 0), then holds: listens
 *             on 127.0.0.1:PORT and waits for one connection there (the
 *             test's "go", given once the server has settled), checks that
 *             no answer arrived before the whole request was sent (a
 *             server that answers without reading it, or after a piece of
 *             it, is reported and the client exits 1), and sends the rest;
 *    -d       also prints exactly what it received, '\0' and other control
 *             bytes escaped: received 11 bytes: "hello back\0".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int
send_all(int fd, const char *buf, size_t len, size_t piece)
{
	while (len) {
		ssize_t n = send(fd, buf, len < piece ? len : piece, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static long
number(const char *s, const char *what, long min, long max)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < min || v > max) {
		fprintf(stderr, "tcp_hello_client: %s must be a number from %ld to %ld, not \"%s\"\n", what, min, max, s);
		exit(2);
	}
	return v;
}

/* The test's go: a connection on 127.0.0.1:port.  Listening starts before
 * the first piece is sent, so the test sees the port open no later than
 * the peer can see that piece (and a peer that ends on it cannot end
 * before the port is open); go_wait() then takes the one connection. */
static int
go_listen(int port)
{
	int sd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	if (sd < 0)
		return -1;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(sd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(sd, (struct sockaddr *)&sin, sizeof sin) < 0 || listen(sd, 1) < 0) {
		close(sd);
		return -1;
	}
	return sd;
}

static int
go_wait(int sd)
{
	int go;
	while ((go = accept(sd, NULL, NULL)) < 0 && errno == EINTR)
		;
	close(sd);
	if (go < 0)
		return -1;
	close(go);
	return 0;
}

/* Prints len bytes as a C string literal: "hello back\0". */
static void
print_escaped(const char *what, const char *buf, size_t len)
{
	printf("%s %zu byte%s: \"", what, len, len == 1 ? "" : "s");
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)buf[i];
		if (ch == '\0')
			printf("\\0");
		else if (ch == '\n')
			printf("\\n");
		else if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 32 || ch > 126)
			printf("\\x%02x", ch);
		else
			putchar(ch);
	}
	printf("\"\n");
}

int
main(int argc, char **argv)
{
	int port = 2021, early = 0, dump = 0, go_port = 0, opt;
	size_t piece = 6, first = 0;
	while ((opt = getopt(argc, argv, "p:xs:f:g:d")) != -1) {
		if (opt == 'p')
			port = (int)number(optarg, "port", 1, 65535);
		else if (opt == 'x')
			early = 1;
		else if (opt == 's')
			piece = (size_t)number(optarg, "the size of a write", 1, 6);
		else if (opt == 'f')
			first = (size_t)number(optarg, "the bytes sent before the hold", 0, 6);
		else if (opt == 'g')
			go_port = (int)number(optarg, "the go port", 1, 65535);
		else if (opt == 'd')
			dump = 1;
		else {
			fprintf(stderr, "usage: tcp_hello_client [-p PORT] [-x] [-s SIZE] [-f N -g PORT] [-d] [SERVER_ADDRESS]\n");
			return 2;
		}
	}
	const char *host = optind < argc ? argv[optind] : "127.0.0.1";
	struct sockaddr_in server_sin;
	memset(&server_sin, 0, sizeof server_sin);
	server_sin.sin_family = AF_INET;
	server_sin.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &server_sin.sin_addr) != 1) {
		fprintf(stderr, "tcp_hello_client: \"%s\" is not an IPv4 address\n", host);
		return 2;
	}
	int client_sd = socket(AF_INET, SOCK_STREAM, 0);
	if (client_sd < 0) {
		perror("socket");
		return 1;
	}
	printf("socket has created for the client with sd:%d\n", client_sd);
	if (connect(client_sd, (struct sockaddr *)&server_sin, sizeof server_sin) < 0) {
		printf("error in connecting to The Server at address:port = %s:%d: %s\n", host, port, strerror(errno));
		close(client_sd);
		return 1;
	}
	printf("client is connected to The Server at address:port = %s:%d\n", host, port);
	if (early) {
		close(client_sd);
		return 0;
	}
	static const char request[] = "hello"; /* 6 bytes with its '\0' */
	int one = 1;
	if (piece < 6)
		setsockopt(client_sd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (!go_port)
		first = 6;
	int go = go_port ? go_listen(go_port) : -1;
	if (go_port && go < 0) {
		printf("error in waiting for the go on port %d: %s\n", go_port, strerror(errno));
		close(client_sd);
		return 1;
	}
	if (send_all(client_sd, request, first, piece) < 0) {
		printf("error in sending: %s\n", strerror(errno));
		if (go >= 0)
			close(go);
		close(client_sd);
		return 1;
	}
	if (go_port) {
		if (go_wait(go) < 0) {
			printf("error in waiting for the go on port %d: %s\n", go_port, strerror(errno));
			close(client_sd);
			return 1;
		}
		/* The server has settled: it must not have answered yet. */
		struct pollfd pfd = { .fd = client_sd, .events = POLLIN };
		char early_answer[64];
		if (poll(&pfd, 1, 0) == 1) {
			ssize_t n = recv(client_sd, early_answer, sizeof early_answer, MSG_DONTWAIT);
			if (n > 0) {
				printf("the server answered before it had the whole request (%zu of its 6 bytes, \"hello\" and its '\\0'); ", first);
				print_escaped("it sent", early_answer, (size_t)n);
				close(client_sd);
				return 1;
			}
		}
		if (send_all(client_sd, request + first, 6 - first, piece) < 0) {
			printf("error in sending: %s\n", strerror(errno));
			close(client_sd);
			return 1;
		}
	}
	char response[64];
	size_t got = 0;
	for (;;) {
		ssize_t n = recv(client_sd, response + got, sizeof response - 1 - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			printf("error in receiving: %s\n", strerror(errno));
			close(client_sd);
			return 1;
		}
		/* The reply ends with its '\0' (or the server closes). */
		if (n == 0)
			break;
		got += (size_t)n;
		if (memchr(response + got - (size_t)n, '\0', (size_t)n) || got == sizeof response - 1)
			break;
	}
	if (dump) {
		/* What came with the '\0' in the same segment counts too. */
		ssize_t n;
		while (got < sizeof response - 1 &&
		       (n = recv(client_sd, response + got, sizeof response - 1 - got, MSG_DONTWAIT)) > 0)
			got += (size_t)n;
		print_escaped("received", response, got);
	}
	response[got] = '\0'; /* the server sends its '\0' too; %s stops there */
	printf("%s\n", response);
	close(client_sd);
	return 0;
}
