/*
 * tcp8080_server - seed 002, slides "What is a TCP Socket?" / "Server.c":
 * a TCP server on port 8080 (INADDR_ANY) that reads the client's message,
 * prints "Client: ...", answers "Hello from server" and prints "Message
 * sent to client.".
 *
 * Like the slide: the port, the messages, one client by default, then both
 * sockets closed.
 *
 * Differences from the slide, and why:
 *  - send may send less than asked.  The slide called send once and took
 *    "not -1" for "all sent".  Here the reply goes out in a loop, each call
 *    continuing where the last one stopped.  Short sends happen when the
 *    socket's buffer fills: this server waits for room with ppoll and
 *    sends with MSG_DONTWAIT (so SIGTERM can interrupt a send to a client
 *    that stopped reading), which makes every full buffer a short send.
 *    With -s SIZE the reply is SIZE bytes ("Hello from server" repeated)
 *    and -b BYTES shrinks the connection's send buffer (SO_SNDBUF), so the
 *    reply needs several calls; the server says how many it took.  (On
 *    loopback, with the default buffers, even megabytes often go in one.)
 *  - the read buffer is NUL-terminated (the slide read up to all 1024 bytes
 *    of a buffer and printed it with %s); read returning 0 or -1 is
 *    reported instead of answering nobody;
 *  - SO_REUSEADDR, so a restart within TIME_WAIT does not fail in bind;
 *    socklen_t set before accept, as the slide did; MSG_NOSIGNAL, so a
 *    client that went away is an error message, not SIGPIPE;
 *  - every failure closes what is open (the slide returned 1 with sockets
 *    open) and ends with status 1;
 *  - -n N serves N clients one after the other (default 1, as the slide;
 *    0 = until SIGTERM/SIGINT), -a binds one address instead of
 *    INADDR_ANY, -p changes the port.  SIGTERM/SIGINT stop it with status
 *    0; they are blocked except inside ppoll, so none is lost.
 *
 * Protocol: the request is what the first read returns (up to 1023 bytes):
 * the slide's client sends no terminator and keeps its end open for the
 * reply, so the server cannot wait for more without hanging.  The reply
 * ends when the server closes the connection.
 *
 * usage: tcp8080_server [-a address] [-p port] [-n clients] [-s reply_size] [-b sndbuf]
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

#define PORT  8080
#define REPLY "Hello from server"

static const char *prog = "tcp8080_server";
static volatile sig_atomic_t stop_requested;
static sigset_t wait_mask;

static int
usage(void)
{
	fprintf(stderr, "usage: %s [-a address] [-p port] [-n clients] [-s reply_size] [-b sndbuf]\n", prog);
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
 * Send all len bytes, however many calls it takes.  Returns the number of
 * send calls that moved data, 0 if a stop was requested, -1 on error.
 */
static long
send_all(int fd, const char *buf, size_t len)
{
	long calls = 0;

	while (len > 0) {
		int ready = wait_for(fd, POLLOUT);
		if (ready <= 0)
			return ready;
		ssize_t n = send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			return -1;
		}
		calls++;
		buf += n;        /* n may be less than len: go on from there */
		len -= (size_t)n;
	}
	return calls;
}

/* One client: read its message, print it, answer.  -1 on error. */
static int
serve_client(int client_socket, const char *reply, size_t reply_len)
{
	char messageBuffer[1024];
	ssize_t n;

	for (;;) {
		int ready = wait_for(client_socket, POLLIN);
		if (ready <= 0)
			return ready;
		n = read(client_socket, messageBuffer, sizeof messageBuffer - 1);
		if (n >= 0)
			break;
		if (errno != EINTR && errno != EAGAIN) {
			printf("Read failed\n");
			fprintf(stderr, "%s: read: %s\n", prog, strerror(errno));
			return -1;
		}
	}
	if (n == 0) {
		fprintf(stderr, "%s: the client closed the connection without a message\n", prog);
		return 0;
	}
	messageBuffer[n] = '\0';
	printf("Client: %s\n", messageBuffer);

	long calls = send_all(client_socket, reply, reply_len);
	if (calls == -1) {
		printf("Send failed\n");
		fprintf(stderr, "%s: send: %s\n", prog, strerror(errno));
		return -1;
	}
	if (calls == 0 && reply_len > 0)
		return 0;   /* stopped */
	printf("Message sent to client.\n");
	if (calls > 1)
		printf("(%zu bytes in %ld send calls: send may send less than asked)\n", reply_len, calls);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *address = "0.0.0.0";   /* INADDR_ANY, as on the slide */
	long port = PORT, limit = 1, reply_size = -1, sndbuf = 0;
	struct sockaddr_in server_addr;
	int opt, status = 0;

	while ((opt = getopt(argc, argv, "a:p:n:s:b:")) != -1) {
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
		case 's':
			if (parse_long(optarg, 1, 64L << 20, &reply_size) == -1)
				return usage();
			break;
		case 'b':
			if (parse_long(optarg, 1, 64L << 20, &sndbuf) == -1)
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

	memset(&server_addr, 0, sizeof server_addr);
	server_addr.sin_family = AF_INET;
	server_addr.sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, address, &server_addr.sin_addr) != 1) {
		fprintf(stderr, "%s: '%s' is not an IPv4 address\n", prog, address);
		return usage();
	}

	/* The reply: the slide's, or reply_size bytes of it repeated. */
	size_t reply_len = reply_size < 0 ? strlen(REPLY) : (size_t)reply_size;
	char *reply = malloc(reply_len);
	if (reply == NULL) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return 1;
	}
	for (size_t i = 0; i < reply_len; i++)
		reply[i] = REPLY[i % strlen(REPLY)];

	if (install_stop_handler() == -1) {
		fprintf(stderr, "%s: signal set-up: %s\n", prog, strerror(errno));
		free(reply);
		return 1;
	}

	int server_socket = socket(AF_INET, SOCK_STREAM, 0);
	if (server_socket == -1) {
		printf("Socket creation failed\n");
		free(reply);
		return 1;
	}
	int one = 1;
	if (setsockopt(server_socket, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1 ||
	    bind(server_socket, (struct sockaddr *)&server_addr, sizeof server_addr) == -1) {
		printf("Bind failed\n");
		fprintf(stderr, "%s: bind: %s\n", prog, strerror(errno));
		status = 1;
		goto close_server;
	}
	int flags = fcntl(server_socket, F_GETFL);
	if (flags == -1 || fcntl(server_socket, F_SETFL, flags | O_NONBLOCK) == -1 ||
	    listen(server_socket, 5) == -1) {
		printf("Listen failed\n");
		fprintf(stderr, "%s: listen: %s\n", prog, strerror(errno));
		status = 1;
		goto close_server;
	}
	printf("Server listening on port %ld...\n", port);

	for (long served = 0; limit == 0 || served < limit; ) {
		int ready = wait_for(server_socket, POLLIN);
		if (ready == 0)
			break;
		if (ready == -1) {
			fprintf(stderr, "%s: ppoll: %s\n", prog, strerror(errno));
			status = 1;
			break;
		}
		struct sockaddr_in client_addr;
		socklen_t addr_size = sizeof client_addr;
		int client_socket = accept(server_socket, (struct sockaddr *)&client_addr, &addr_size);
		if (client_socket == -1) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED)
				continue;
			printf("Accept failed\n");
			fprintf(stderr, "%s: accept: %s\n", prog, strerror(errno));
			status = 1;
			break;
		}
		served++;
		int buf_size = (int)sndbuf;
		if (sndbuf > 0 && setsockopt(client_socket, SOL_SOCKET, SO_SNDBUF, &buf_size, sizeof buf_size) == -1) {
			fprintf(stderr, "%s: setsockopt SO_SNDBUF: %s\n", prog, strerror(errno));
			status = 1;
		} else if (serve_client(client_socket, reply, reply_len) == -1) {
			status = 1;
		}
		if (close(client_socket) == -1) {
			fprintf(stderr, "%s: close: %s\n", prog, strerror(errno));
			status = 1;
		}
	}

close_server:
	if (close(server_socket) == -1) {
		fprintf(stderr, "%s: close: %s\n", prog, strerror(errno));
		status = 1;
	}
	free(reply);
	return status;
}
