/*
 * inet_server - seed 001 (CS 415 Lecture 6: Interprocess Communication),
 * slide "Sockets over Internet": the Unix-domain server of the slide
 * "Sockets" (/tmp/demo.sock) moved to AF_INET, bound to INADDR_ANY on port
 * 12345 ("any local IP").
 *
 * Like the slides: socket, bind, listen(5), print "Server: waiting at ...",
 * accept one client, read its message, print "Server received: ...",
 * answer "Hello from server" (17 bytes, no NUL), close both sockets.
 *
 * Differences from the slides, and why:
 *  - every error ends the program with a message and status 1 (the slide
 *    printed perror and carried on with a bad descriptor);
 *  - SO_REUSEADDR, so a restart within TIME_WAIT does not fail in bind;
 *  - the reply is written in a loop until every byte is out (write may
 *    write less than asked), with MSG_NOSIGNAL so a vanished client is an
 *    error message, not SIGPIPE;
 *  - read returning -1 or 0 is reported instead of silently skipping the
 *    reply; the buffer is NUL-terminated;
 *  - "waiting at" shows the address:port (there is no path to show);
 *  - -n N serves N clients one after the other (default 1, as the slide;
 *    0 = until SIGTERM/SIGINT), -a binds one address instead of INADDR_ANY,
 *    -p changes the port.  SIGTERM/SIGINT stop it with status 0; they are
 *    blocked except inside ppoll, so none is lost.
 *
 * Protocol: the request is what the first read returns (up to 99 bytes, the
 * slide's buffer): the slide's client sends no terminator and keeps its end
 * open for the reply, so the server cannot wait for more without hanging.
 * A 17-byte message written at once arrives whole on one connection in
 * practice; a protocol that must not rely on that frames its messages (a
 * length, a terminator, or a half-close: see reference/half-close).
 *
 * usage: inet_server [-a address] [-p port] [-n clients]
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

#define SERVER_PORT  12345
#define REPLY        "Hello from server"
#define ADDRESS_TEXT (INET_ADDRSTRLEN + sizeof ":65535")

static const char *prog = "inet_server";
static volatile sig_atomic_t stop_requested;
static sigset_t wait_mask;

static int
usage(void)
{
	fprintf(stderr, "usage: %s [-a address] [-p port] [-n clients]\n", prog);
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

/* One client: read its message, print it, answer.  -1 on error. */
static int
serve_client(int client_fd)
{
	char buffer[100];
	ssize_t n;

	for (;;) {
		int ready = wait_readable(client_fd);
		if (ready <= 0)
			return ready;   /* 0: asked to stop; not this client's fault */
		n = recv(client_fd, buffer, sizeof buffer - 1, MSG_DONTWAIT);
		if (n >= 0)
			break;
		if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
			fprintf(stderr, "%s: read: %s\n", prog, strerror(errno));
			return -1;
		}
	}
	if (n == 0) {
		fprintf(stderr, "%s: the client closed the connection without a message\n", prog);
		return 0;
	}
	buffer[n] = '\0';
	printf("Server received: %s\n", buffer);
	if (write_all(client_fd, REPLY, strlen(REPLY)) == -1) {
		fprintf(stderr, "%s: write: %s\n", prog, strerror(errno));
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *address = "0.0.0.0";   /* INADDR_ANY, as on the slide */
	long port = SERVER_PORT, limit = 1;
	char server_text[ADDRESS_TEXT];
	struct sockaddr_in addr;
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

	memset(&addr, 0, sizeof addr);
	addr.sin_family = AF_INET;   /* AF_INET instead of AF_UNIX */
	addr.sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, address, &addr.sin_addr) != 1) {
		fprintf(stderr, "%s: '%s' is not an IPv4 address\n", prog, address);
		return usage();
	}
	format_address(&addr, server_text, sizeof server_text);
	if (install_stop_handler() == -1) {
		fprintf(stderr, "%s: signal set-up: %s\n", prog, strerror(errno));
		return 1;
	}

	int server_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (server_fd < 0) {
		perror("socket");
		return 1;
	}
	int one = 1;
	if (setsockopt(server_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) {
		perror("setsockopt");
		close(server_fd);
		return 1;
	}
	if (bind(server_fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		perror("bind");
		close(server_fd);
		return 1;
	}
	/* non-blocking: a call that vanishes before accept is an EAGAIN, not a hang */
	int flags = fcntl(server_fd, F_GETFL);
	if (flags == -1 || fcntl(server_fd, F_SETFL, flags | O_NONBLOCK) == -1 || listen(server_fd, 5) < 0) {
		perror("listen");
		close(server_fd);
		return 1;
	}
	printf("Server: waiting at %s\n", server_text);

	for (long served = 0; limit == 0 || served < limit; ) {
		int ready = wait_readable(server_fd);
		if (ready == 0)
			break;
		if (ready == -1) {
			perror("ppoll");
			status = 1;
			break;
		}
		int client_fd = accept(server_fd, NULL, NULL);
		if (client_fd < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED)
				continue;
			perror("accept");
			status = 1;
			break;
		}
		/* accepted sockets do not inherit O_NONBLOCK on Linux */
		served++;
		if (serve_client(client_fd) == -1)
			status = 1;
		if (close(client_fd) < 0) {
			perror("close");
			status = 1;
		}
	}

	if (close(server_fd) < 0) {
		perror("close");
		status = 1;
	}
	return status;
}
