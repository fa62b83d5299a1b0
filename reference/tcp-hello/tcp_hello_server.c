/* Lecture: Chapter 16 Network IPC (seed 000), "TCP/IP: TCP at The Server":
 * the iterative server on port 2021 with listen(5) and an accept loop that
 * prints the client's "hello" and answers "hello back".
 *
 * Differences from the slide, and why:
 *  - socklen_t client_len is set to sizeof client_sin before every accept();
 *    the slide passes an uninitialised int, which is why its own output shows
 *    a garbage client address (21899:32204).
 *  - addresses are printed with inet_ntop()/ntohs() ("127.0.0.1:40212"), not
 *    as raw network-order integers with %d.
 *  - it binds INADDR_ANY (the slide hard-codes its lab machine's address)
 *    and sets SO_REUSEADDR so a restarted server can bind at once.
 *  - recv() gets room for the '\0' and the message is terminated before it
 *    is printed; recv() is called until the request's '\0' arrives (TCP may
 *    deliver "hello" in pieces), the client closes, or it sends nothing more
 *    for a second (a request without its '\0'); the reply is sent whole (a loop over short sends); a client
 *    that disconnects early is skipped, not fatal (MSG_NOSIGNAL: no SIGPIPE).
 *  - every connected socket is closed after its exchange.
 *  - -p PORT and -n COUNT (serve COUNT clients, then exit) let tests run it
 *    fast and Valgrind-clean; SIGTERM ends it cleanly.
 *  - options that test a client the way TCP may treat it (a byte stream,
 *    not messages), the default behaviour unchanged:
 *    -d       prints exactly what it received, control bytes escaped:
 *             received 6 bytes: "hello\0";
 *    -s SIZE  sends the answer in writes of at most SIZE bytes (TCP_NODELAY);
 *    -f N -g PORT  sends the first N bytes of the answer, then listens on
 *             127.0.0.1:PORT and waits for one connection there (the test's
 *             "go", given once the client has settled) before the rest.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

#define IDLE_MS 1000 /* a request without its '\0' ends after this long */

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
		fprintf(stderr, "tcp_hello_server: %s must be a number from %ld to %ld, not \"%s\"\n", what, min, max, s);
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
	while ((go = accept(sd, NULL, NULL)) < 0 && errno == EINTR && !stop)
		;
	close(sd);
	if (go < 0)
		return -1;
	close(go);
	return 0;
}

/* The request up to its '\0', the client's close, or IDLE_MS of silence;
 * the number of bytes, or -1 on an error. */
static ssize_t
recv_request(int fd, char *msg, size_t size)
{
	size_t got = 0;
	while (got < size && !memchr(msg, '\0', got)) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int r = poll(&pfd, 1, IDLE_MS);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		ssize_t n = recv(fd, msg + got, size - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return got ? (ssize_t)got : -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static void
print_escaped(const char *buf, size_t len)
{
	printf("received %zu byte%s: \"", len, len == 1 ? "" : "s");
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

/* The answer: in pieces of piece bytes, the first `first` of them before
 * the go when go_port is set. */
static int
answer(int fd, size_t piece, size_t first, int go_port)
{
	static const char reply[] = "hello back"; /* 11 bytes with its '\0' */
	int one = 1;
	if (piece < sizeof reply)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (!go_port)
		return send_all(fd, reply, sizeof reply, piece);
	int go = go_listen(go_port);
	if (go < 0 || send_all(fd, reply, first, piece) < 0 || go_wait(go) < 0) {
		if (go >= 0)
			close(go);
		return -1;
	}
	return send_all(fd, reply + first, sizeof reply - first, piece);
}

int
main(int argc, char **argv)
{
	int port = 2021, dump = 0, go_port = 0;
	size_t piece = 11, first = 0;
	long count = -1; /* forever, like the slide */
	int opt;
	while ((opt = getopt(argc, argv, "p:n:ds:f:g:")) != -1) {
		if (opt == 'p')
			port = (int)number(optarg, "port", 1, 65535);
		else if (opt == 'n')
			count = number(optarg, "count", 1, 1000000);
		else if (opt == 'd')
			dump = 1;
		else if (opt == 's')
			piece = (size_t)number(optarg, "the size of a write", 1, 11);
		else if (opt == 'f')
			first = (size_t)number(optarg, "the bytes sent before the hold", 0, 11);
		else if (opt == 'g')
			go_port = (int)number(optarg, "the go port", 1, 65535);
		else {
			fprintf(stderr, "usage: tcp_hello_server [-p PORT] [-n CLIENTS] [-d] [-s SIZE] [-f N -g PORT]\n");
			return 2;
		}
	}
	struct sigaction sa = { .sa_handler = on_term };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL); /* no SA_RESTART: accept() returns EINTR */
	sigaction(SIGINT, &sa, NULL);

	int server_sd = socket(AF_INET, SOCK_STREAM, 0);
	if (server_sd < 0) {
		perror("socket");
		return 1;
	}
	printf("socket has created for The Server with sd:%d\n", server_sd);
	int one = 1;
	if (setsockopt(server_sd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
		perror("setsockopt(SO_REUSEADDR)");

	struct sockaddr_in server_sin;
	memset(&server_sin, 0, sizeof server_sin);
	server_sin.sin_family = AF_INET;
	server_sin.sin_addr.s_addr = htonl(INADDR_ANY);
	server_sin.sin_port = htons((uint16_t)port);
	char addr[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &server_sin.sin_addr, addr, sizeof addr);
	if (bind(server_sd, (struct sockaddr *)&server_sin, sizeof server_sin) < 0) {
		printf("error in binding The Server to the address:port = %s:%d: %s\n", addr, port, strerror(errno));
		close(server_sd);
		return 1;
	}
	printf("The Server bound to the address:port = %s:%d\n", addr, port);
	/* The Server ready to receive calls (up to 5 waiting; see the backlog lab) */
	if (listen(server_sd, 5) < 0) {
		perror("The Server's listening failed");
		close(server_sd);
		return 1;
	}

	for (long served = 0; !stop && (count < 0 || served < count);) {
		struct sockaddr_in client_sin;
		socklen_t client_len = sizeof client_sin;
		int fd = accept(server_sd, (struct sockaddr *)&client_sin, &client_len);
		if (fd < 0) {
			if (errno != EINTR)
				printf("error in opening the request from client: %s\n", strerror(errno));
			continue; /* do not exit: go for the next client call */
		}
		char peer[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &client_sin.sin_addr, peer, sizeof peer);
		printf("The Server opened the request from client %s:%d\n", peer, ntohs(client_sin.sin_port));

		char msg[64];
		ssize_t n;
		n = recv_request(fd, msg, sizeof msg - 1);
		if (dump && n >= 0)
			print_escaped(msg, (size_t)n);
		if (n > 0) {
			msg[n] = '\0';
			msg[strcspn(msg, "\n")] = '\0'; /* the client sends "hello" with its '\0' */
			printf("%s\n", msg);
			if (answer(fd, piece, first, go_port) < 0)
				printf("error in answering the client: %s\n", strerror(errno));
		} else {
			printf("the client left without a message\n");
		}
		close(fd);
		served++;
	}
	close(server_sd);
	return 0;
}
