/*
 * tcp_fork_client - "client_fork" of seed 000 (Chapter 16: Network IPC),
 * slide "The Server w/ fork()": connect to The Server on port 2021, send
 * "hello", and print every "hello back" the server's child sends (100 of
 * them, 1 s apart, with the slide's server) until the server hangs up.
 *
 * Like the slide: the messages, the port, "hello" sent with its NUL
 * (6 bytes), the lines "socket has created for the client with sd:N" and
 * "client is connected to The Server at address:port = ...".
 *
 * Differences from the slide, and why:
 *  - TCP is a byte stream, not a sequence of messages: one recv may return
 *    half a "hello back", or three of them.  The slide's client printed
 *    each recv as if it were one message (hence its blank lines and missing
 *    replies).  This client reads until EOF and prints one line per
 *    message, a message ending at a NUL (what the slide's server sends) or
 *    a newline (so a server that ends its lines with "\n" works too);
 *  - send is looped until all bytes are out, with MSG_NOSIGNAL so a server
 *    that has gone away is an error message, not a SIGPIPE;
 *  - the address is printed with inet_ntop/ntohs, not %d of the raw
 *    fields; the default server is 127.0.0.1 instead of the lecturer's
 *    host (-a to change it);
 *  - exit status 1 if the connection fails (with the slide's "error in
 *    connecting ..." line) or breaks; 0 when the server closed normally;
 *  - -n N hangs up after N replies instead of waiting for all of them, so
 *    a test can show a second client being served while a first one is
 *    still held by its own child of the server;
 *  - -h MS holds the connection silent: connected, it sends nothing for
 *    MS ms (0: until SIGTERM or SIGINT, which then close the connection
 *    and exit 0), then goes on as usual.  A silent client keeps the child
 *    serving it blocked in recv, so a test can tell a fork-per-client
 *    server (the next client is served at once) from one that serves one
 *    client at a time (the next client waits).  Should the server send or
 *    hang up meanwhile, the hold ends early.  Without -h the client behaves
 *    as the lecture's.
 *
 * usage: tcp_fork_client [-a address] [-p port] [-m message] [-n replies] [-h hold_ms]
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
#include <time.h>
#include <unistd.h>

#define SERVER_PORT  2021
#define ADDRESS_TEXT (INET_ADDRSTRLEN + sizeof ":65535")
#define MAX_LINE     1024

static const char *prog = "tcp_fork_client";
static volatile sig_atomic_t stop_requested;

static int
usage(void)
{
	fprintf(stderr, "usage: %s [-a address] [-p port] [-m message] [-n replies] [-h hold_ms]\n", prog);
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

static int
send_all(int sd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = send(sd, p, len, MSG_NOSIGNAL);
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

static void
on_stop(int signo)
{
	(void)signo;
	stop_requested = 1;
}

static long
elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - since->tv_sec) * 1000 + (now.tv_nsec - since->tv_nsec) / 1000000;
}

/*
 * -h: keep the connection open and silent for hold_ms (0: until SIGTERM or
 * SIGINT).  Returns 1 when a signal asked to stop, 0 when the hold is over
 * (its time passed, or the server sent something or hung up), -1 on error.
 * The signals are blocked except inside ppoll, so none is lost between the
 * check and the wait.
 */
static int
hold_silent(int sd, long hold_ms)
{
	struct sigaction sa;
	sigset_t blocked, open_mask;
	struct timespec start;

	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	sigemptyset(&blocked);
	sigaddset(&blocked, SIGTERM);
	sigaddset(&blocked, SIGINT);
	if (sigaction(SIGTERM, &sa, NULL) == -1 || sigaction(SIGINT, &sa, NULL) == -1 ||
	    sigprocmask(SIG_BLOCK, &blocked, &open_mask) == -1 || clock_gettime(CLOCK_MONOTONIC, &start) == -1)
		return -1;
	sigdelset(&open_mask, SIGTERM);
	sigdelset(&open_mask, SIGINT);
	int rc = 0;
	for (;;) {
		long left = hold_ms - elapsed_ms(&start);
		if (hold_ms != 0 && left <= 0)
			break;
		struct timespec ts = { left / 1000, (left % 1000) * 1000000L };
		struct pollfd pfd = { .fd = sd, .events = POLLIN };
		int ready = ppoll(&pfd, 1, hold_ms != 0 ? &ts : NULL, &open_mask);
		if (stop_requested) {
			rc = 1;
			break;
		}
		if (ready == -1 && errno != EINTR) {
			rc = -1;
			break;
		}
		if (ready > 0)
			break;   /* the server spoke or hung up: no point holding on */
	}
	sigprocmask(SIG_UNBLOCK, &blocked, NULL);
	return rc;
}

/*
 * Print the server's messages, one per line, until it closes the
 * connection or, if limit is not 0, until limit messages are printed.  A
 * message longer than MAX_LINE - 1 bytes is printed in pieces.  Returns 0
 * at EOF or at the limit, -1 on error.
 */
static int
print_replies(int sd, long limit)
{
	char chunk[4096], line[MAX_LINE];
	size_t used = 0;
	long printed = 0;

	for (;;) {
		if (limit != 0 && printed == limit)
			return 0;
		ssize_t n = recv(sd, chunk, sizeof chunk, 0);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		for (ssize_t i = 0; i < n && (limit == 0 || printed < limit); i++) {
			char c = chunk[i];
			if (c == '\0' || c == '\n' || used == sizeof line - 1) {
				if (used > 0) {
					line[used] = '\0';
					printf("%s\n", line);
					printed++;
					used = 0;
				}
				if (c == '\0' || c == '\n')
					continue;
			}
			line[used++] = c;
		}
	}
	if (used > 0) {
		line[used] = '\0';
		printf("%s\n", line);   /* the last message had no terminator */
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *address = "127.0.0.1", *message = "hello";
	long port = SERVER_PORT, limit = 0, hold_ms = -1;
	char server_text[ADDRESS_TEXT];
	struct sockaddr_in server_sin;
	int opt, status = 0;

	while ((opt = getopt(argc, argv, "a:p:m:n:h:")) != -1) {
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
		case 'n':
			if (parse_long(optarg, 0, 1000000, &limit) == -1)
				return usage();
			break;
		case 'h':
			if (parse_long(optarg, 0, 3600000, &hold_ms) == -1)
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

	memset(&server_sin, 0, sizeof server_sin);
	server_sin.sin_family = AF_INET;
	server_sin.sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, address, &server_sin.sin_addr) != 1) {
		fprintf(stderr, "%s: '%s' is not an IPv4 address\n", prog, address);
		return usage();
	}
	format_address(&server_sin, server_text, sizeof server_text);

	int client_sd = socket(AF_INET, SOCK_STREAM, 0);
	if (client_sd == -1) {
		printf("error in creating socket for the client!\n");
		fprintf(stderr, "%s: socket: %s\n", prog, strerror(errno));
		return 1;
	}
	printf("socket has created for the client with sd:%d\n", client_sd);

	if (connect(client_sd, (struct sockaddr *)&server_sin, sizeof server_sin) == -1) {
		printf("error in connecting to The Server at address:port = %s\n", server_text);
		fprintf(stderr, "%s: connect: %s\n", prog, strerror(errno));
		close(client_sd);
		return 1;
	}
	printf("client is connected to The Server at address:port = %s\n", server_text);

	int held = hold_ms >= 0 ? hold_silent(client_sd, hold_ms) : 0;
	if (held == 1) {
		close(client_sd);   /* stopped while holding: a normal end */
		return 0;
	}
	if (held == -1) {
		fprintf(stderr, "%s: hold: %s\n", prog, strerror(errno));
		status = 1;
	} else if (send_all(client_sd, message, strlen(message) + 1) == -1) {
		fprintf(stderr, "%s: send: %s\n", prog, strerror(errno));
		status = 1;
	} else if (print_replies(client_sd, limit) == -1) {
		fprintf(stderr, "%s: recv: %s\n", prog, strerror(errno));
		status = 1;
	}

	if (close(client_sd) == -1) {
		fprintf(stderr, "%s: close: %s\n", prog, strerror(errno));
		status = 1;
	}
	return status;
}
