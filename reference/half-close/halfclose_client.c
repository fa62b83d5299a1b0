/*
 * halfclose_client - the WinSock client of seed 004 ("Creating a TCP Stream
 * Socket App", slides "Connecting to a Socket", "Sending and Receiving
 * Data", "Terminating the Communication"), in POSIX: connect to
 * 127.0.0.1:27015, send the request, shutdown(SHUT_WR) (the slides'
 * shutdown(SD_SEND)), receive the answer until the server closes, close.
 *
 * The half-close is what ends the request: after shutdown(SHUT_WR) the
 * server's recv returns 0 once it has every byte, so the request needs no
 * length or terminator, and the socket can still receive the answer.  The
 * answer, in turn, ends at the server's own shutdown/close (our recv
 * returns 0).  The server (halfclose_server) echoes the request; this client
 * checks that it got exactly what it sent.
 *
 * Differences from the slides, and why:
 *  - POSIX names: close for closesocket, SHUT_WR for SD_SEND, -1 and errno
 *    for SOCKET_ERROR and WSAGetLastError; no WSAStartup;
 *  - "send ... can be less than the number indicated by len": send is
 *    looped until every byte is out; recv is looped until EOF instead of
 *    the slide's single recv into a 32-byte buffer, which would have missed
 *    any answer longer than 32 bytes or delivered in pieces;
 *  - MSG_NOSIGNAL, so a server that went away is an error message, not
 *    SIGPIPE; every failure ends with status 1 and the socket closed;
 *  - the slide does not show sendbuf's text; the default request is "this
 *    is a test", the text of the WinSock sample these slides follow.  -m
 *    sets another one; -s SIZE sends SIZE bytes of it repeated, large
 *    enough (say 4 MiB) that both sides need many send and recv calls.
 *
 * Options for tests of a server (the default behaviour unchanged):
 *  -f N -g PORT  sends the first N bytes, then holds: listens on
 *          127.0.0.1:PORT and waits for one connection there (the test's
 *          "go", given once the server has settled); an answer that arrived
 *          before the whole request was sent is reported and the client
 *          exits 1; then it sends the rest and shuts down;
 *  -r BYTES  a slow reader: SO_RCVBUF of BYTES before connecting and
 *          recv() of at most BYTES at a time, so the server's send()
 *          finds the connection full and may send less than it was asked.
 *
 * Output: "Bytes Sent: N", "Bytes received: N", "Answer: ..." (when it
 * is 1 to 1024 bytes with no NUL or newline), "Connection closed".  Exit status
 * 0 when the answer is exactly the request, 1 otherwise.
 *
 * usage: halfclose_client [-a address] [-p port] [-m message] [-s size]
 *                         [-f bytes -g port] [-r bytes]
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

#define DEFAULT_PORT 27015
#define DEFAULT_MSG  "this is a test"
#define SHOWN_MAX    1024

static const char *prog = "halfclose_client";

static int
usage(void)
{
	fprintf(stderr, "usage: %s [-a address] [-p port] [-m message] [-s size] [-f bytes -g port] [-r bytes]\n", prog);
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
send_all(int sd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(sd, buf, len, MSG_NOSIGNAL);
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

/*
 * Receive until the server closes, comparing each byte with what was
 * sent.  *received counts every byte; *first_difference is the offset of
 * the first byte that differs (or sent_len if the answer is a prefix or
 * equal).  Returns 0 at EOF, -1 on error.
 */
static int
receive_answer(int sd, const char *sent, size_t sent_len, size_t chunk_max, size_t *received,
	       size_t *first_difference)
{
	char chunk[65536];
	size_t want = chunk_max > 0 && chunk_max < sizeof chunk ? chunk_max : sizeof chunk;

	*received = 0;
	*first_difference = sent_len;
	for (;;) {
		ssize_t n = recv(sd, chunk, want, 0);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			return 0;
		for (size_t i = 0; i < (size_t)n && *first_difference == sent_len; i++) {
			size_t at = *received + i;
			if (at >= sent_len || chunk[i] != sent[at])
				*first_difference = at;
		}
		*received += (size_t)n;
	}
}

/* The test's go: a connection on 127.0.0.1:port.  Listening starts before
 * the first piece is sent, so the test sees the port open no later than
 * the server can see that piece; go_wait() then takes the one connection. */
static int
go_listen(long port)
{
	int sd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	if (sd == -1)
		return -1;
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(sd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(sd, (struct sockaddr *)&sin, sizeof sin) == -1 || listen(sd, 1) == -1) {
		close(sd);
		return -1;
	}
	return sd;
}

static int
go_wait(int sd)
{
	int go;
	while ((go = accept(sd, NULL, NULL)) == -1 && errno == EINTR)
		;
	close(sd);
	if (go == -1)
		return -1;
	close(go);
	return 0;
}

/* After the hold: did an answer come before the request was whole? */
static int
answered_early(int sd, size_t sent)
{
	char early[64];
	ssize_t n = recv(sd, early, sizeof early, MSG_DONTWAIT | MSG_PEEK);
	if (n > 0) {
		fprintf(stderr, "%s: the server answered before the request was complete: it sent %zd byte%s after only %zu had been sent and before shutdown(SHUT_WR); it must read until recv() returns 0\n",
			prog, n, n == 1 ? "" : "s", sent);
		return 1;
	}
	if (n == 0) {
		fprintf(stderr, "%s: the server closed the connection before the request was complete (after %zu bytes, before shutdown(SHUT_WR))\n",
			prog, sent);
		return 1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *address = "127.0.0.1", *message = DEFAULT_MSG;
	long port = DEFAULT_PORT, size = -1, first = 0, go_port = 0, rcvbuf = 0;
	struct sockaddr_in client_service;
	int opt, status = 0;

	while ((opt = getopt(argc, argv, "a:p:m:s:f:g:r:")) != -1) {
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
		case 's':
			if (parse_long(optarg, 0, 1L << 30, &size) == -1)
				return usage();
			break;
		case 'f':
			if (parse_long(optarg, 0, 1L << 30, &first) == -1)
				return usage();
			break;
		case 'g':
			if (parse_long(optarg, 1, 65535, &go_port) == -1)
				return usage();
			break;
		case 'r':
			if (parse_long(optarg, 1, 1L << 20, &rcvbuf) == -1)
				return usage();
			break;
		default:
			return usage();
		}
	}
	if (optind != argc)
		return usage();
	size_t message_len = strlen(message);
	if (size > 0 && message_len == 0) {
		fprintf(stderr, "%s: -s needs a non-empty message to repeat\n", prog);
		return usage();
	}

	memset(&client_service, 0, sizeof client_service);
	client_service.sin_family = AF_INET;
	client_service.sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, address, &client_service.sin_addr) != 1) {
		fprintf(stderr, "%s: '%s' is not an IPv4 address\n", prog, address);
		return usage();
	}

	/* sendbuf: the message, or size bytes of it repeated */
	size_t send_len = size < 0 ? message_len : (size_t)size;
	char *sendbuf = malloc(send_len + 1);
	if (sendbuf == NULL) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return 1;
	}
	for (size_t i = 0; i < send_len; i++)
		sendbuf[i] = message[i % message_len];
	sendbuf[send_len] = '\0';

	int connect_sd = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
	if (connect_sd == -1) {
		fprintf(stderr, "%s: socket: %s\n", prog, strerror(errno));
		free(sendbuf);
		return 1;
	}
	int rcv = (int)rcvbuf;
	if (rcvbuf > 0 && setsockopt(connect_sd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv) == -1) {
		fprintf(stderr, "%s: setsockopt(SO_RCVBUF): %s\n", prog, strerror(errno));
		status = 1;
		goto close_socket;
	}
	if (connect(connect_sd, (struct sockaddr *)&client_service, sizeof client_service) == -1) {
		fprintf(stderr, "%s: failed to connect: %s\n", prog, strerror(errno));
		status = 1;
		goto close_socket;
	}

	size_t held = go_port > 0 && (size_t)first < send_len ? (size_t)first : 0;
	if (go_port > 0) {
		int go = go_listen(go_port);
		if (go == -1 || send_all(connect_sd, sendbuf, held) == -1) {
			fprintf(stderr, "%s: %s: %s\n", prog, go == -1 ? "listening for the go" : "send", strerror(errno));
			if (go != -1)
				close(go);
			status = 1;
			goto close_socket;
		}
		if (go_wait(go) == -1) {
			fprintf(stderr, "%s: waiting for the go on port %ld: %s\n", prog, go_port, strerror(errno));
			status = 1;
			goto close_socket;
		}
		if (answered_early(connect_sd, held)) {
			status = 1;
			goto close_socket;
		}
	}
	if (send_all(connect_sd, sendbuf + held, send_len - held) == -1) {
		fprintf(stderr, "%s: send: %s\n", prog, strerror(errno));
		status = 1;
		goto close_socket;
	}
	printf("Bytes Sent: %zu\n", send_len);

	/* shutdown(SD_SEND): no more to send, but the answer can still come in */
	if (shutdown(connect_sd, SHUT_WR) == -1) {
		fprintf(stderr, "%s: shutdown: %s\n", prog, strerror(errno));
		status = 1;
		goto close_socket;
	}

	size_t received, first_difference;
	if (receive_answer(connect_sd, sendbuf, send_len, (size_t)rcvbuf, &received, &first_difference) == -1) {
		fprintf(stderr, "%s: recv: %s\n", prog, strerror(errno));
		status = 1;
		goto close_socket;
	}
	printf("Bytes received: %zu\n", received);
	if (received == send_len && first_difference == send_len) {
		if (send_len > 0 && send_len <= SHOWN_MAX && strchr(sendbuf, '\n') == NULL && strlen(sendbuf) == send_len)
			printf("Answer: %s\n", sendbuf);
	} else {
		if (first_difference < send_len && first_difference < received)
			fprintf(stderr, "%s: the answer differs from the request at byte %zu\n", prog, first_difference);
		else
			fprintf(stderr, "%s: the answer has %zu bytes, the request had %zu\n", prog, received, send_len);
		status = 1;
	}
	printf("Connection closed\n");

close_socket:
	if (close(connect_sd) == -1) {   /* closesocket */
		fprintf(stderr, "%s: close: %s\n", prog, strerror(errno));
		status = 1;
	}
	free(sendbuf);
	return status;
}
