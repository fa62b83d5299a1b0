/*
 * udp_sender - the sender of seed 000 (Chapter 16: Network IPC), slides
 * "TCP/IP: UDP at Sender" (socket, bind (optional), the receiver's address,
 * sendto) and "TCP/IP : UDP  Many senders, single receiver".
 *
 * Like the slide: sends the mail "a 10 percent promotion for candian tire!"
 * (spelling kept) to the receiver at port 2001, with one sendto; no
 * connection, no answer, no way to know whether it arrived.
 *
 * Differences from the slide, and why:
 *  - addresses are printed as a.b.c.d:port with inet_ntop/ntohs instead of
 *    s_addr/sin_port with %d.  On the slide "877842313:53511" is
 *    137.207.82.52:2001 and the sender's "...:53255" is port 2000;
 *  - bind is optional, as the slide says, and off by default: the slide
 *    asks "why would the sender leave its address to the kernel?" - because
 *    many senders run at once and they cannot all own port 2000.  Without
 *    -b the kernel binds the socket at the first sendto, and the address
 *    it chose is printed (getsockname); -b PORT binds explicitly first, as
 *    the slide's demo did;
 *  - the receiver's address defaults to 127.0.0.1 instead of the
 *    lecturer's host (-a to change it);
 *  - -c sends the same mail several times: each sendto is one datagram,
 *    and the receiver gets them as separate mails (datagram boundaries);
 *  - a short sendto is an error: a datagram goes whole or not at all.
 *
 * usage: udp_sender [-a address] [-p port] [-b local_port] [-m mail] [-c count]
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

#define RECEIVER_PORT 2001
#define MAIL          "a 10 percent promotion for candian tire!"
#define ADDRESS_TEXT  (INET_ADDRSTRLEN + sizeof ":65535")

static const char *prog = "udp_sender";

static int
usage(void)
{
	fprintf(stderr, "usage: %s [-a address] [-p port] [-b local_port] [-m mail] [-c count]\n", prog);
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

/* The socket's own address, as the kernel has it. */
static int
local_address(int sd, char *out, size_t size)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;

	if (getsockname(sd, (struct sockaddr *)&sin, &len) == -1)
		return -1;
	format_address(&sin, out, size);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *address = "127.0.0.1", *mail = MAIL;
	long port = RECEIVER_PORT, local_port = -1, count = 1;
	char receiver_text[ADDRESS_TEXT], sender_text[ADDRESS_TEXT];
	struct sockaddr_in receiver_sin;
	int opt, status = 0;

	while ((opt = getopt(argc, argv, "a:p:b:m:c:")) != -1) {
		switch (opt) {
		case 'a':
			address = optarg;
			break;
		case 'p':
			if (parse_long(optarg, 1, 65535, &port) == -1)
				return usage();
			break;
		case 'b':
			if (parse_long(optarg, 0, 65535, &local_port) == -1)
				return usage();
			break;
		case 'm':
			mail = optarg;
			break;
		case 'c':
			if (parse_long(optarg, 1, 100000, &count) == -1)
				return usage();
			break;
		default:
			return usage();
		}
	}
	if (optind != argc)
		return usage();

	/* 3) the receiver's address (built first so a typo is a usage error) */
	memset(&receiver_sin, 0, sizeof receiver_sin);
	receiver_sin.sin_family = AF_INET;
	receiver_sin.sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, address, &receiver_sin.sin_addr) != 1) {
		fprintf(stderr, "%s: '%s' is not an IPv4 address\n", prog, address);
		return usage();
	}
	format_address(&receiver_sin, receiver_text, sizeof receiver_text);

	/* 1) socket() */
	int sender_sd = socket(AF_INET, SOCK_DGRAM, 0);
	if (sender_sd == -1) {
		fprintf(stderr, "%s: error in creating socket for sender: %s\n", prog, strerror(errno));
		return 1;
	}
	printf("socket has created for sender with sd:%d\n", sender_sd);

	/* 2) bind(), only when asked: otherwise the kernel picks at sendto */
	if (local_port >= 0) {
		struct sockaddr_in sender_sin;

		memset(&sender_sin, 0, sizeof sender_sin);
		sender_sin.sin_family = AF_INET;
		sender_sin.sin_addr.s_addr = htonl(INADDR_ANY);
		sender_sin.sin_port = htons((unsigned short)local_port);
		if (bind(sender_sd, (struct sockaddr *)&sender_sin, sizeof sender_sin) == -1 ||
		    local_address(sender_sd, sender_text, sizeof sender_text) == -1) {
			fprintf(stderr, "%s: error in binding sender to port %ld: %s\n", prog, local_port, strerror(errno));
			close(sender_sd);
			return 1;
		}
		printf("sender bound to the address:port = %s\n", sender_text);
	}

	/* 4) sendto(): one datagram per mail */
	size_t len = strlen(mail);
	for (long i = 0; i < count; i++) {
		ssize_t n;

		do
			n = sendto(sender_sd, mail, len, 0, (struct sockaddr *)&receiver_sin, sizeof receiver_sin);
		while (n == -1 && errno == EINTR);
		if (n == -1 || (size_t)n != len) {
			fprintf(stderr, "%s: error in sending the mail to %s: %s\n", prog, receiver_text,
				n == -1 ? strerror(errno) : "short datagram");
			status = 1;
			break;
		}
		printf("a mail has sent to the receiver at address:port = %s\n", receiver_text);
		if (i == 0 && local_port < 0) {
			if (local_address(sender_sd, sender_text, sizeof sender_text) == -1) {
				fprintf(stderr, "%s: getsockname: %s\n", prog, strerror(errno));
				status = 1;
				break;
			}
			printf("the kernel bound the sender to the address:port = %s\n", sender_text);
		}
		printf("the content of the mail is <%s>\n", mail);
	}

	if (close(sender_sd) == -1) {
		fprintf(stderr, "%s: close: %s\n", prog, strerror(errno));
		status = 1;
	}
	return status;
}
