/*
 * udp_seq_sender - a sender of the udp lab: the slide "TCP/IP : UDP  Many
 * senders, single receiver" (seed 000, Chapter 16: Network IPC) with
 * sequence numbers, so that the receiver can tell what the network lost,
 * duplicated or reordered.
 *
 * Sends COUNT datagrams to HOST:PORT, one sendto each.  The i-th (i = 1 to
 * COUNT) is the text "NAME i/COUNT", padded with '.' up to SIZE bytes when
 * SIZE is larger; no '\0' and no newline are sent.  Like the slide's sender
 * it does not bind: the kernel picks its port at the first sendto, so many
 * senders can run at once.
 *
 * Differences from the slide, and why: the mail carries a name and a
 * sequence number (the lab's protocol); a short sendto is an error (a
 * datagram goes whole or not at all).
 *
 * usage: udp_seq_sender HOST PORT NAME COUNT [SIZE]
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

#define MAX_DATAGRAM 65507 /* the largest UDP payload over IPv4 */

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

int
main(int argc, char **argv)
{
	static char mail[MAX_DATAGRAM];
	long port, count, size = 0;
	if (argc < 5 || argc > 6 || parse_long(argv[2], 1, 65535, &port) == -1 ||
	    parse_long(argv[4], 1, 1000000, &count) == -1 ||
	    (argc == 6 && parse_long(argv[5], 0, MAX_DATAGRAM, &size) == -1) || strlen(argv[3]) > 32) {
		fprintf(stderr, "usage: udp_seq_sender HOST PORT NAME COUNT [SIZE]\n");
		return 2;
	}
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
	if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) {
		fprintf(stderr, "udp_seq_sender: '%s' is not an IPv4 address\n", argv[1]);
		return 2;
	}
	int sd = socket(AF_INET, SOCK_DGRAM, 0);
	if (sd == -1) {
		fprintf(stderr, "udp_seq_sender: socket: %s\n", strerror(errno));
		return 1;
	}
	for (long i = 1; i <= count; i++) {
		int len = snprintf(mail, sizeof mail, "%s %ld/%ld", argv[3], i, count);
		if (size > len) {
			memset(mail + len, '.', (size_t)(size - len));
			len = (int)size;
		}
		ssize_t n = sendto(sd, mail, (size_t)len, 0, (struct sockaddr *)&to, sizeof to);
		if (n != len) {
			fprintf(stderr, "udp_seq_sender: sendto: %s\n", n == -1 ? strerror(errno) : "short datagram");
			close(sd);
			return 1;
		}
	}
	printf("%s sent %ld datagrams\n", argv[3], count);
	close(sd);
	return 0;
}
