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

int
main(int argc, char **argv)
{
	int port = 2021, early = 0, opt;
	while ((opt = getopt(argc, argv, "p:x")) != -1) {
		char *end;
		if (opt == 'p') {
			long v = strtol(optarg, &end, 10);
			if (*end || end == optarg || v < 1 || v > 65535) {
				fprintf(stderr, "tcp_hello_client: port must be 1..65535, not \"%s\"\n", optarg);
				return 2;
			}
			port = (int)v;
		} else if (opt == 'x') {
			early = 1;
		} else {
			fprintf(stderr, "usage: tcp_hello_client [-p PORT] [-x] [SERVER_ADDRESS]\n");
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
	if (send_all(client_sd, "hello", 6) < 0) {
		printf("error in sending: %s\n", strerror(errno));
		close(client_sd);
		return 1;
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
	response[got] = '\0'; /* the server sends its '\0' too; %s stops there */
	printf("%s\n", response);
	close(client_sd);
	return 0;
}
