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
 *    is printed; the reply is sent whole (a loop over short sends); a client
 *    that disconnects early is skipped, not fatal (MSG_NOSIGNAL: no SIGPIPE).
 *  - every connected socket is closed after its exchange.
 *  - -p PORT and -n COUNT (serve COUNT clients, then exit) let tests run it
 *    fast and Valgrind-clean; SIGTERM ends it cleanly.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
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

static int
send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
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

int
main(int argc, char **argv)
{
	int port = 2021;
	long count = -1; /* forever, like the slide */
	int opt;
	while ((opt = getopt(argc, argv, "p:n:")) != -1) {
		if (opt == 'p')
			port = (int)number(optarg, "port", 1, 65535);
		else if (opt == 'n')
			count = number(optarg, "count", 1, 1000000);
		else {
			fprintf(stderr, "usage: tcp_hello_server [-p PORT] [-n CLIENTS]\n");
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
		while ((n = recv(fd, msg, sizeof msg - 1, 0)) < 0 && errno == EINTR)
			;
		if (n > 0) {
			msg[n] = '\0';
			msg[strcspn(msg, "\n")] = '\0'; /* the client sends "hello" with its '\0' */
			printf("%s\n", msg);
			if (send_all(fd, "hello back", 11) < 0)
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
