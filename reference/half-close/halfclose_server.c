/*
 * halfclose_server - the WinSock server of seed 004 ("Creating a TCP Stream
 * Socket App", slides "Binding a Socket" ... "Terminating the
 * Communication"), in POSIX: bound to 127.0.0.1:27015, it receives until
 * the client has finished sending, answers, then shuts down its sending
 * side and closes the socket.
 *
 * The protocol (the slides' shutdown(SD_SEND) then closesocket, made
 * whole): the client sends its request, then shutdown(SHUT_WR) - "I have
 * nothing more to say" - which the server sees as recv returning 0 (EOF)
 * after the last byte.  Only then is the request complete, however many
 * pieces TCP delivered it in and however long it is: no length prefix, no
 * terminator.  The server answers with the request itself (an echo, as in
 * the WinSock sample these slides follow), shutdown(SHUT_WR) so the client
 * in turn reads to EOF, and close().
 *
 * Differences from the slides, and why:
 *  - POSIX names: close for closesocket, SHUT_WR for SD_SEND, -1 and errno
 *    for SOCKET_ERROR and WSAGetLastError; no WSAStartup;
 *  - "recv returns the number of bytes received", "send ... can be less
 *    than the number indicated by len": both are looped - recv until EOF
 *    into a buffer that grows (up to -m bytes, default 16 MiB; a client
 *    that sends more is dropped with a message), send until every byte is
 *    out.  The server waits with ppoll and uses MSG_DONTWAIT, so SIGTERM
 *    is never stuck behind a client that neither sends nor reads;
 *  - SO_REUSEADDR, socklen_t before accept, MSG_NOSIGNAL (a client gone
 *    away is a message, not SIGPIPE), every resource released on every
 *    path;
 *  - it serves clients one after the other until SIGTERM/SIGINT (status 0),
 *    or -n of them; those signals are blocked except inside ppoll, so none
 *    is lost.
 *
 * -r BYTES makes it a slow reader for tests of a client: SO_RCVBUF of
 * BYTES on its sockets, so the client's send() finds the connection full
 * and may send less than it was asked.
 *
 * usage: halfclose_server [-a address] [-p port] [-n clients] [-m max_bytes] [-r bytes]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define DEFAULT_PORT 27015
#define DEFAULT_MAX  (16L << 20)
#define ADDRESS_TEXT (INET_ADDRSTRLEN + sizeof ":65535")

static const char *prog = "halfclose_server";
static volatile sig_atomic_t stop_requested;
static sigset_t wait_mask;

/* What a client sent, in a buffer that grows up to max. */
struct request {
	char *data;
	size_t len, size, max;
};

static int
usage(void)
{
	fprintf(stderr, "usage: %s [-a address] [-p port] [-n clients] [-m max_bytes] [-r bytes]\n", prog);
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

/* 1: fd is ready for events; 0: a stop was requested; -1: error. */
static int
wait_for(int fd, short events)
{
	struct pollfd pfd = { .fd = fd, .events = events };

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

/*
 * Receive until the client shuts down its sending side (recv returns 0).
 * Returns 1 at EOF, 0 if a stop was requested, -1 on error (message
 * printed), -2 if the request outgrew req->max.
 */
static int
receive_request(int sd, struct request *req)
{
	for (;;) {
		if (req->len == req->size) {
			if (req->size == req->max)
				return -2;
			size_t size = req->size == 0 ? 4096 : req->size * 2;
			if (size > req->max)
				size = req->max;
			char *data = realloc(req->data, size);
			if (data == NULL) {
				fprintf(stderr, "%s: out of memory\n", prog);
				return -1;
			}
			req->data = data;
			req->size = size;
		}
		int ready = wait_for(sd, POLLIN);
		if (ready <= 0) {
			if (ready == -1)
				fprintf(stderr, "%s: ppoll: %s\n", prog, strerror(errno));
			return ready;
		}
		ssize_t n = recv(sd, req->data + req->len, req->size - req->len, MSG_DONTWAIT);
		if (n == -1) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			fprintf(stderr, "%s: recv: %s\n", prog, strerror(errno));
			return -1;
		}
		if (n == 0)
			return 1;   /* the client's shutdown(SHUT_WR): the request is whole */
		req->len += (size_t)n;
	}
}

/* Send all len bytes.  1 when done, 0 if a stop was requested, -1 on error. */
static int
send_all(int sd, const char *buf, size_t len)
{
	while (len > 0) {
		int ready = wait_for(sd, POLLOUT);
		if (ready <= 0)
			return ready;
		ssize_t n = send(sd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			return -1;
		}
		buf += n;        /* n may be less than len: go on from there */
		len -= (size_t)n;
	}
	return 1;
}

/* One client, start to end.  -1 if something failed. */
static int
serve_client(int client_sd, long max_bytes)
{
	struct request req = { .data = NULL, .len = 0, .size = 0, .max = (size_t)max_bytes };
	int status = 0;

	int r = receive_request(client_sd, &req);
	if (r == -2) {
		fprintf(stderr, "%s: the client sent more than %ld bytes; dropping it\n", prog, max_bytes);
		status = -1;
		goto free_request;
	}
	if (r != 1) {
		status = r;
		goto free_request;
	}
	printf("Bytes received: %zu\n", req.len);

	r = send_all(client_sd, req.data, req.len);
	if (r == -1) {
		fprintf(stderr, "%s: send: %s\n", prog, strerror(errno));
		status = -1;
		goto free_request;
	}
	if (r == 0)
		goto free_request;
	printf("Bytes sent: %zu\n", req.len);

	/* shutdown(SD_SEND): the client reads our answer to its EOF */
	if (shutdown(client_sd, SHUT_WR) == -1) {
		fprintf(stderr, "%s: shutdown: %s\n", prog, strerror(errno));
		status = -1;
		goto free_request;
	}
	printf("Connection closing...\n");

free_request:
	free(req.data);
	return status;
}

int
main(int argc, char **argv)
{
	const char *address = "127.0.0.1";
	long port = DEFAULT_PORT, limit = 0, max_bytes = DEFAULT_MAX, rcvbuf = 0;
	char server_text[ADDRESS_TEXT], client_text[ADDRESS_TEXT];
	struct sockaddr_in service;
	int opt, status = 0;

	while ((opt = getopt(argc, argv, "a:p:n:m:r:")) != -1) {
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
		case 'm':
			if (parse_long(optarg, 1, 1L << 30, &max_bytes) == -1)
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

	/* each line as it happens, even when stdout is a file or a pipe */
	setvbuf(stdout, NULL, _IOLBF, 0);

	memset(&service, 0, sizeof service);
	service.sin_family = AF_INET;
	service.sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, address, &service.sin_addr) != 1) {
		fprintf(stderr, "%s: '%s' is not an IPv4 address\n", prog, address);
		return usage();
	}
	format_address(&service, server_text, sizeof server_text);
	if (install_stop_handler() == -1) {
		fprintf(stderr, "%s: signal set-up: %s\n", prog, strerror(errno));
		return 1;
	}

	int listen_sd = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
	if (listen_sd == -1) {
		fprintf(stderr, "%s: socket: %s\n", prog, strerror(errno));
		return 1;
	}
	int one = 1, rcv = (int)rcvbuf;
	/* accepted sockets inherit the listening socket's buffer size */
	if ((rcvbuf > 0 && setsockopt(listen_sd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv) == -1) ||
	    setsockopt(listen_sd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1 ||
	    bind(listen_sd, (struct sockaddr *)&service, sizeof service) == -1) {
		fprintf(stderr, "%s: bind %s: %s\n", prog, server_text, strerror(errno));
		status = 1;
		goto close_listen;
	}
	int flags = fcntl(listen_sd, F_GETFL);
	if (flags == -1 || fcntl(listen_sd, F_SETFL, flags | O_NONBLOCK) == -1 ||
	    listen(listen_sd, SOMAXCONN) == -1) {
		fprintf(stderr, "%s: listen: %s\n", prog, strerror(errno));
		status = 1;
		goto close_listen;
	}
	printf("Server listening on %s\n", server_text);

	for (long served = 0; limit == 0 || served < limit; ) {
		int ready = wait_for(listen_sd, POLLIN);
		if (ready == 0)
			break;
		if (ready == -1) {
			fprintf(stderr, "%s: ppoll: %s\n", prog, strerror(errno));
			status = 1;
			break;
		}
		struct sockaddr_in client;
		socklen_t client_len = sizeof client;
		int client_sd = accept(listen_sd, (struct sockaddr *)&client, &client_len);
		if (client_sd == -1) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED)
				continue;
			fprintf(stderr, "%s: accept: %s\n", prog, strerror(errno));
			status = 1;
			break;
		}
		served++;
		format_address(&client, client_text, sizeof client_text);
		printf("Client connected from %s\n", client_text);
		if (serve_client(client_sd, max_bytes) == -1)
			status = 1;
		if (close(client_sd) == -1) {   /* closesocket */
			fprintf(stderr, "%s: close: %s\n", prog, strerror(errno));
			status = 1;
		}
	}

close_listen:
	if (close(listen_sd) == -1) {
		fprintf(stderr, "%s: close: %s\n", prog, strerror(errno));
		status = 1;
	}
	return status;
}
