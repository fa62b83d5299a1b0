/*
 * backlog_client - many phone calls at once to a server that is slow to
 * pick up: the other half of the listen-backlog slide of seed 000
 * (Chapter 16: Network IPC), "TCP/IP: TCP at The Server ... 3) Wait for
 * Clients Calls" (listen(server_sd, 5): "up to 5 calls. More are
 * rejected!").
 *
 * The slide has no such client; this one shows what the slide's claim
 * looks like from the caller's side on Linux.  It opens -c connections to
 * the server, one after the other, each with a non-blocking connect(), and
 * gives each one -w ms to complete.  Every call is reported as:
 *   completed  the handshake is done (the connection waits in the server's
 *              accept queue, or has been accepted);
 *   pending    no answer yet: the server dropped the SYN because its accept
 *              queue is full, and the kernel will send it again (after 1 s,
 *              3 s, ...) - Linux does not reject it;
 *   refused    ECONNREFUSED: nothing listens on that port;
 *   reset      ECONNRESET: the server reset the call (tcp_abort_on_overflow);
 *   failed     any other error (printed).
 * With -t, it then waits up to that many ms more for pending calls to
 * complete (a server accepting slowly makes room; the retransmitted SYN
 * gets in), and reports the ones that did.  Against backlog_server -b N
 * (which never accepts), N + 1 calls complete and the rest stay pending.
 *
 * Every connection stays open until the end, so the queue is not drained
 * by the client itself; all are closed before it exits.  The run is bounded
 * by about c * w + t ms.  Exit status 0 when the experiment ran (whatever
 * the counts), 1 if a call failed or a system call did, 2 on usage errors.
 *
 * usage: backlog_client [-a address] [-p port] [-c connections] [-w settle_ms] [-t extra_wait_ms]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SERVER_PORT 2021

static const char *prog = "backlog_client";

enum outcome { PENDING, COMPLETED, REFUSED, RESET, FAILED, OUTCOMES };
static const char *const outcome_name[OUTCOMES] = {
	"pending", "completed", "refused", "reset", "failed",
};

struct call {
	int sd;
	enum outcome outcome;
};

static int
usage(void)
{
	fprintf(stderr, "usage: %s [-a address] [-p port] [-c connections] [-w settle_ms] [-t extra_wait_ms]\n", prog);
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

static long
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static enum outcome
outcome_of_error(int err, int number)
{
	if (err == 0)
		return COMPLETED;
	if (err == ECONNREFUSED)
		return REFUSED;
	if (err == ECONNRESET)
		return RESET;
	fprintf(stderr, "%s: connection %d: %s\n", prog, number, strerror(err));
	return FAILED;
}

/* What a poll of an in-progress connect() says about it. */
static enum outcome
outcome_of_poll(int sd, short revents, int number)
{
	int err = 0;
	socklen_t len = sizeof err;

	if (!(revents & (POLLOUT | POLLERR | POLLHUP)))
		return PENDING;
	if (getsockopt(sd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	return outcome_of_error(err, number);
}

/*
 * Wait for the pending calls among calls[0..n) (numbered from first_number)
 * until deadline (ms on the monotonic clock), or, unless late is set, only
 * until one of them has an outcome.  Updates the outcomes and prints the
 * ones that changed, with the word "later" when late is set.  Returns -1 on
 * error.
 */
static int
wait_pending(struct call *calls, int n, int first_number, long deadline, int late)
{
	struct pollfd *pfds = calloc((size_t)n, sizeof *pfds);
	int status = 0;

	if (pfds == NULL)
		return -1;
	for (;;) {
		nfds_t watched = 0;
		for (int i = 0; i < n; i++) {
			/* a negative fd is ignored by poll */
			pfds[i].fd = calls[i].outcome == PENDING ? calls[i].sd : -1;
			pfds[i].events = POLLOUT;
			pfds[i].revents = 0;
			watched += calls[i].outcome == PENDING;
		}
		long left = deadline - now_ms();
		if (watched == 0 || left <= 0)
			break;
		int r = poll(pfds, (nfds_t)n, (int)left);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			status = -1;
			break;
		}
		if (r == 0)
			break;
		for (int i = 0; i < n; i++) {
			if (pfds[i].fd < 0 || pfds[i].revents == 0)
				continue;
			calls[i].outcome = outcome_of_poll(calls[i].sd, pfds[i].revents, first_number + i);
			printf("connection %d: %s%s\n", first_number + i, outcome_name[calls[i].outcome],
			       late ? " later" : "");
		}
		if (!late)
			break;   /* the one call we were settling has an outcome */
	}
	free(pfds);
	return status;
}

int
main(int argc, char **argv)
{
	const char *address = "127.0.0.1";
	long port = SERVER_PORT, count = 10, settle_ms = 100, extra_ms = 0;
	struct sockaddr_in server_sin;
	int opt, status = 0;

	while ((opt = getopt(argc, argv, "a:p:c:w:t:")) != -1) {
		switch (opt) {
		case 'a':
			address = optarg;
			break;
		case 'p':
			if (parse_long(optarg, 1, 65535, &port) == -1)
				return usage();
			break;
		case 'c':
			if (parse_long(optarg, 1, 1000, &count) == -1)
				return usage();
			break;
		case 'w':
			if (parse_long(optarg, 0, 10000, &settle_ms) == -1)
				return usage();
			break;
		case 't':
			if (parse_long(optarg, 0, 60000, &extra_ms) == -1)
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

	struct call *calls = calloc((size_t)count, sizeof *calls);
	if (calls == NULL) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return 1;
	}
	int opened = 0;

	/*
	 * One call at a time: each gets its handshake done (or not) before the
	 * next starts, so the accept queue fills in order and the first
	 * backlog + 1 calls are the ones that complete.
	 */
	for (; opened < count; opened++) {
		struct call *call = &calls[opened];
		int number = opened + 1;

		call->sd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (call->sd == -1) {
			fprintf(stderr, "%s: socket for connection %d: %s\n", prog, number, strerror(errno));
			status = 1;
			break;
		}
		call->outcome = PENDING;
		if (connect(call->sd, (struct sockaddr *)&server_sin, sizeof server_sin) == 0) {
			call->outcome = COMPLETED;
		} else if (errno != EINPROGRESS && errno != EINTR) {
			call->outcome = outcome_of_error(errno, number);
		} else if (wait_pending(call, 1, number, now_ms() + settle_ms, 0) == -1) {
			fprintf(stderr, "%s: poll: %s\n", prog, strerror(errno));
			status = 1;
			opened++;
			break;
		} else if (call->outcome != PENDING) {
			continue;   /* wait_pending printed it */
		}
		printf("connection %d: %s\n", number, outcome_name[call->outcome]);
	}

	if (status == 0 && extra_ms > 0 && wait_pending(calls, opened, 1, now_ms() + extra_ms, 1) == -1) {
		fprintf(stderr, "%s: poll: %s\n", prog, strerror(errno));
		status = 1;
	}

	int tally[OUTCOMES] = { 0 };
	for (int i = 0; i < opened; i++) {
		tally[calls[i].outcome]++;
		if (close(calls[i].sd) == -1) {
			fprintf(stderr, "%s: close: %s\n", prog, strerror(errno));
			status = 1;
		}
	}
	printf("%d connections: %d completed, %d pending, %d refused, %d reset, %d failed\n",
	       opened, tally[COMPLETED], tally[PENDING], tally[REFUSED], tally[RESET], tally[FAILED]);
	if (tally[FAILED] > 0)
		status = 1;
	free(calls);
	return status;
}
