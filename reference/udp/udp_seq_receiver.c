/*
 * udp_seq_receiver - the receiver of the udp lab: the slide "TCP/IP : UDP
 * Many senders, single receiver" (seed 000, Chapter 16: Network IPC), which
 * tells from the senders' sequence numbers what the network did.
 *
 * Binds PORT on every address of its host (like the slide's receiver, it
 * MUST bind) and receives datagrams "NAME i/COUNT" (padding after it is
 * part of the datagram) from any number of senders until SIGTERM or
 * SIGINT.  Then it prints one line per sender, in the order their first
 * datagram came:
 *
 *   NAME: received R datagrams (B bytes), lost L, duplicated D, reordered O
 *
 * R counts every datagram that arrived (copies too) and B their bytes; L is
 * COUNT minus the sequence numbers that arrived at least once; D counts the
 * arrivals of a number that had arrived before; O counts first arrivals of
 * a number lower than the highest that had arrived before from that sender.
 * A datagram that is not of that form is ignored (and said so on stderr).
 *
 * Differences from the slide, and why: recvfrom's buffer holds the largest
 * UDP datagram (a datagram that does not fit is truncated, the rest lost
 * for good); the stop signals are blocked except inside ppoll, so one that
 * comes just before the receiver goes to sleep is not lost.
 *
 * usage: udp_seq_receiver PORT
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

#define MAX_DATAGRAM 65536
#define MAX_SENDERS 64
#define MAX_COUNT 1000000

struct sender {
	char name[33];
	long count, received, bytes, duplicated, reordered, distinct, highest;
	unsigned char *seen; /* one byte per sequence number */
};

static struct sender senders[MAX_SENDERS];
static int nsenders;
static volatile sig_atomic_t stop_requested;

static void
on_stop(int signo)
{
	(void)signo;
	stop_requested = 1;
}

static struct sender *
find_sender(const char *name, long count)
{
	for (int i = 0; i < nsenders; i++)
		if (!strcmp(senders[i].name, name))
			return &senders[i];
	if (nsenders == MAX_SENDERS)
		return NULL;
	struct sender *s = &senders[nsenders];
	s->seen = calloc((size_t)count + 1, 1);
	if (!s->seen)
		return NULL;
	snprintf(s->name, sizeof s->name, "%s", name);
	s->count = count;
	nsenders++;
	return s;
}

/* One datagram of n bytes. */
static void
note(const char *mail, ssize_t n)
{
	char name[33];
	long seq, count;
	int used = 0;
	if (sscanf(mail, "%32[A-Za-z0-9_-] %ld/%ld%n", name, &seq, &count, &used) != 3 || count < 1 ||
	    count > MAX_COUNT || seq < 1 || seq > count || strspn(mail + used, ".") != strlen(mail + used)) {
		fprintf(stderr, "udp_seq_receiver: ignored a datagram that is not NAME i/COUNT\n");
		return;
	}
	struct sender *s = find_sender(name, count);
	if (!s || seq > s->count)
		return;
	s->received++;
	s->bytes += n;
	if (s->seen[seq]) {
		s->duplicated++;
		return;
	}
	s->seen[seq] = 1;
	s->distinct++;
	if (seq < s->highest)
		s->reordered++;
	else
		s->highest = seq;
}

int
main(int argc, char **argv)
{
	static char mail[MAX_DATAGRAM + 1];
	char *end;
	long port = argc == 2 ? strtol(argv[1], &end, 10) : 0;
	if (argc != 2 || *end || port < 1 || port > 65535) {
		fprintf(stderr, "usage: udp_seq_receiver PORT\n");
		return 2;
	}
	struct sigaction sa = { .sa_handler = on_stop };
	sigset_t stops, wait_mask;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&stops);
	sigaddset(&stops, SIGTERM);
	sigaddset(&stops, SIGINT);
	if (sigaction(SIGTERM, &sa, NULL) == -1 || sigaction(SIGINT, &sa, NULL) == -1 ||
	    sigprocmask(SIG_BLOCK, &stops, &wait_mask) == -1) {
		fprintf(stderr, "udp_seq_receiver: signals: %s\n", strerror(errno));
		return 1;
	}
	sigdelset(&wait_mask, SIGTERM);
	sigdelset(&wait_mask, SIGINT);
	int sd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port),
				  .sin_addr.s_addr = htonl(INADDR_ANY) };
	if (sd == -1 || bind(sd, (struct sockaddr *)&me, sizeof me) == -1) {
		fprintf(stderr, "udp_seq_receiver: cannot bind port %ld: %s\n", port, strerror(errno));
		return 1;
	}
	while (!stop_requested) {
		struct pollfd pfd = { .fd = sd, .events = POLLIN };
		int r = ppoll(&pfd, 1, NULL, &wait_mask);
		if (r == -1 && errno != EINTR) {
			fprintf(stderr, "udp_seq_receiver: ppoll: %s\n", strerror(errno));
			return 1;
		}
		for (;;) { /* everything that is there, then sleep again */
			ssize_t n = recv(sd, mail, MAX_DATAGRAM, MSG_DONTWAIT);
			if (n == -1)
				break;
			mail[n] = '\0';
			note(mail, n);
		}
	}
	for (int i = 0; i < nsenders; i++) {
		struct sender *s = &senders[i];
		printf("%s: received %ld datagrams (%ld bytes), lost %ld, duplicated %ld, reordered %ld\n", s->name,
		       s->received, s->bytes, s->count - s->distinct, s->duplicated, s->reordered);
		free(s->seen);
	}
	close(sd);
	return 0;
}
