/*
 * udp_receiver - the receiver of seed 000 (Chapter 16: Network IPC), slides
 * "TCP/IP: UDP at Receiver" (socket, bind (MUST), recvfrom, find the
 * sender's address, read the mail) and "TCP/IP : UDP  Many senders, single
 * receiver".
 *
 * Like the slide: bind to a fixed address:port, then receive "mails" from
 * whoever sends them, in a loop, printing each one.
 *
 * Differences from the slide, and why:
 *  - addresses are printed as a.b.c.d:port with inet_ntop/ntohs.  The slide
 *    printed s_addr and sin_port with %d, in network byte order: its
 *    "877842313:53511" is 137.207.82.52:2001.  The port is the slide's
 *    (2001); the default address is 127.0.0.1 instead of the lecturer's
 *    host, so nothing is reachable from outside unless -a asks for it;
 *  - step 4 of the slide ("find the sender's address") is done: each mail
 *    is printed with the address:port it came from (socklen_t initialised
 *    before every recvfrom);
 *  - each datagram is one mail: one recvfrom returns exactly one datagram,
 *    NUL-terminated and printed on its own line (the slide's output ran two
 *    mails together on one line).  A datagram longer than the buffer (-s)
 *    is truncated and the rest of it is lost, never returned by the next
 *    recvfrom: MSG_TRUNC gives its real length, which is reported;
 *  - it stops after -n mails, or on SIGTERM/SIGINT, with status 0.  Those
 *    signals are blocked except inside ppoll, so one that arrives just
 *    before the receiver goes to sleep is not lost.
 *
 * usage: udp_receiver [-a address] [-p port] [-n mails] [-s bufsize]
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
#include <unistd.h>

#define RECEIVER_PORT 2001
#define MAX_DATAGRAM  65536   /* more than any UDP payload over IPv4 (65507) */
#define ADDRESS_TEXT  (INET_ADDRSTRLEN + sizeof ":65535")

static const char *prog = "udp_receiver";
static volatile sig_atomic_t stop_requested;
static sigset_t wait_mask;   /* the signal mask while waiting: stop signals open */

static int
usage(void)
{
	fprintf(stderr, "usage: %s [-a address] [-p port] [-n mails] [-s bufsize]\n", prog);
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

/* SIGTERM/SIGINT set a flag; they stay blocked except inside ppoll. */
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

int
main(int argc, char **argv)
{
	static char mail[MAX_DATAGRAM + 1];
	const char *address = "127.0.0.1";
	long port = RECEIVER_PORT, limit = 0, bufsize = MAX_DATAGRAM;
	char receiver_text[ADDRESS_TEXT], sender_text[ADDRESS_TEXT];
	struct sockaddr_in receiver_sin;
	int opt, status = 0;

	while ((opt = getopt(argc, argv, "a:p:n:s:")) != -1) {
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
			if (parse_long(optarg, 1, MAX_DATAGRAM, &bufsize) == -1)
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

	memset(&receiver_sin, 0, sizeof receiver_sin);
	receiver_sin.sin_family = AF_INET;
	receiver_sin.sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, address, &receiver_sin.sin_addr) != 1) {
		fprintf(stderr, "%s: '%s' is not an IPv4 address\n", prog, address);
		return usage();
	}
	if (install_stop_handler() == -1) {
		fprintf(stderr, "%s: signal set-up: %s\n", prog, strerror(errno));
		return 1;
	}

	/* 1) socket() */
	int receiver_sd = socket(AF_INET, SOCK_DGRAM, 0);
	if (receiver_sd == -1) {
		fprintf(stderr, "%s: error in creating socket for receiver: %s\n", prog, strerror(errno));
		return 1;
	}
	printf("socket has created for receiver with sd:%d\n", receiver_sd);

	/* 2) bind(): a receiver MUST have a known address, or no mail finds it */
	format_address(&receiver_sin, receiver_text, sizeof receiver_text);
	if (bind(receiver_sd, (struct sockaddr *)&receiver_sin, sizeof receiver_sin) == -1) {
		fprintf(stderr, "%s: error in binding receiver to the address:port = %s: %s\n",
			prog, receiver_text, strerror(errno));
		close(receiver_sd);
		return 1;
	}
	printf("receiver bound to the address:port = %s\n", receiver_text);

	/* 3) recvfrom(), one datagram (one mail) at a time, from any sender */
	for (long received = 0; limit == 0 || received < limit; ) {
		int ready = wait_readable(receiver_sd);
		if (ready == 0)
			break;
		if (ready == -1) {
			fprintf(stderr, "%s: ppoll: %s\n", prog, strerror(errno));
			status = 1;
			break;
		}

		struct sockaddr_in sender_sin;
		socklen_t sender_len = sizeof sender_sin;
		ssize_t n = recvfrom(receiver_sd, mail, (size_t)bufsize, MSG_DONTWAIT | MSG_TRUNC,
				     (struct sockaddr *)&sender_sin, &sender_len);
		if (n == -1) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			fprintf(stderr, "%s: recvfrom: %s\n", prog, strerror(errno));
			status = 1;
			break;
		}
		received++;

		/* with MSG_TRUNC, n is the datagram's length even if it did not fit */
		size_t kept = (size_t)n < (size_t)bufsize ? (size_t)n : (size_t)bufsize;
		mail[kept] = '\0';
		if (kept > 0 && mail[kept - 1] == '\n')
			mail[kept - 1] = '\0';   /* a sender's own line end: print one */

		/* 4) the sender's address, 5) the mail */
		format_address(&sender_sin, sender_text, sizeof sender_text);
		printf("a mail has received from the sender at address:port = %s\n", sender_text);
		printf("the content of mail is: %s\n", mail);
		if ((size_t)n > kept)
			printf("the mail had %zd bytes; the buffer kept %zu, the rest is lost\n", n, kept);
	}

	if (close(receiver_sd) == -1) {
		fprintf(stderr, "%s: close: %s\n", prog, strerror(errno));
		status = 1;
	}
	return status;
}
