/*
 * tcp_fork_server - "The Server w/ fork()" of seed 000 (Chapter 16: Network
 * IPC): accept a call, fork a child to talk to that client, and go back to
 * accept the next call at once.
 *
 * Like the slide: port 2021 (the slides' server port); the parent prints
 * "The Server opened the request from client ..."; the child prints "Child: I
 * The Server's child to handle ...", then the client's message ("hello"),
 * then sends "hello back" (11 bytes, with its NUL, as on the slide) 100
 * times, 1 s apart, so several clients are served at the same time.
 *
 * Differences from the slide, and why:
 *  - the child closes the listening socket, serves its client, closes the
 *    connection and _exit()s.  On the slide the child fell out of the if and
 *    went back to accept() itself, so every client added one more process
 *    competing for calls;
 *  - the parent closes the connected socket after fork (the slide kept every
 *    one open: a descriptor leak, and the client never saw EOF while the
 *    parent lived) and reaps its children: SIGCHLD interrupts the wait and
 *    the loop calls waitpid(WNOHANG) until none is left, so no zombies;
 *  - socklen_t is initialised before accept (the slide passed an
 *    uninitialised int), addresses are printed with inet_ntop/ntohs (the
 *    slide's "861065097:51742" is 137.207.82.51:7882 - the demo ran on
 *    another port than the code's 2021), the client's message is
 *    NUL-terminated before it is printed, SO_REUSEADDR lets the server
 *    restart at once;
 *  - the 1 s pause is between replies, not after the last one;
 *  - the child sends with MSG_NOSIGNAL: a client that hangs up early ends
 *    that child (status 0), not with SIGPIPE;
 *  - the default address is 127.0.0.1 (the slide bound the lecturer's host
 *    address); -a 0.0.0.0 listens on every interface;
 *  - -c and -i change the count and the interval so tests run fast; -n N
 *    serves N clients, then closes the listening socket, waits for its
 *    children and exits 0; SIGTERM/SIGINT do the same, after passing
 *    SIGTERM on to the children still serving.  Those signals and SIGCHLD
 *    are blocked except inside ppoll, so none is lost between the check and
 *    the wait;
 *  - at most MAX_CHILDREN clients are served at once; more wait in the
 *    listen queue until a child exits.
 *
 * Protocol: the request is what the first recv returns (up to 255 bytes,
 * up to the first NUL or newline): the slide's protocol has no length or
 * terminator that a client is sure to send, and waiting for one would hang
 * on clients written from the slide.
 *
 * usage: tcp_fork_server [-a address] [-p port] [-n clients] [-c replies] [-i interval_ms]
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SERVER_PORT  2021
#define REPLY        "hello back"   /* sent with its NUL, 11 bytes, as on the slide */
#define MAX_CHILDREN 64
#define ADDRESS_TEXT (INET_ADDRSTRLEN + sizeof ":65535")

static const char *prog = "tcp_fork_server";
static volatile sig_atomic_t stop_requested;
static sigset_t original_mask;   /* restored in the children */
static sigset_t wait_mask;       /* inside ppoll: stop signals and SIGCHLD open */

static pid_t children[MAX_CHILDREN];
static int live_children;

static int
usage(void)
{
	fprintf(stderr, "usage: %s [-a address] [-p port] [-n clients] [-c replies] [-i interval_ms]\n", prog);
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

/* Only there to interrupt ppoll; the main loop does the reaping. */
static void
on_child(int signo)
{
	(void)signo;
}

static int
install_signal_handlers(void)
{
	struct sigaction sa;
	sigset_t blocked;

	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	if (sigaction(SIGTERM, &sa, NULL) == -1 || sigaction(SIGINT, &sa, NULL) == -1)
		return -1;
	sa.sa_handler = on_child;
	sa.sa_flags = SA_NOCLDSTOP;
	if (sigaction(SIGCHLD, &sa, NULL) == -1)
		return -1;
	sigemptyset(&blocked);
	sigaddset(&blocked, SIGTERM);
	sigaddset(&blocked, SIGINT);
	sigaddset(&blocked, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &blocked, &original_mask) == -1)
		return -1;
	wait_mask = original_mask;
	sigdelset(&wait_mask, SIGTERM);
	sigdelset(&wait_mask, SIGINT);
	sigdelset(&wait_mask, SIGCHLD);
	return 0;
}

/*
 * In a new child: signals back as they were before the server changed
 * them, so the SIGTERM the parent passes on ends the child at once.
 */
static int
restore_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) == -1 || sigaction(SIGINT, &sa, NULL) == -1 ||
	    sigaction(SIGCHLD, &sa, NULL) == -1)
		return -1;
	return sigprocmask(SIG_SETMASK, &original_mask, NULL);
}

static void
forget_child(pid_t pid)
{
	for (int i = 0; i < live_children; i++) {
		if (children[i] == pid) {
			children[i] = children[--live_children];
			return;
		}
	}
}

/* Collect every child that has exited, without blocking. */
static void
reap_children(void)
{
	for (;;) {
		pid_t pid = waitpid(-1, NULL, WNOHANG);
		if (pid > 0)
			forget_child(pid);
		else if (pid == -1 && errno == EINTR)
			continue;
		else
			return;   /* 0: none has exited yet; -1 ECHILD: none left */
	}
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
add_ms(struct timespec *t, long ms)
{
	t->tv_sec += ms / 1000;
	t->tv_nsec += (ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

/* The child's whole life: one client.  Returns its exit status. */
static int
serve_client(int client_sd, const char *client_text, long replies, long interval_ms)
{
	char msg[256];
	ssize_t n;

	printf("Child: I The Server's child to handle the communication with the client %s\n", client_text);

	do
		n = recv(client_sd, msg, sizeof msg - 1, 0);
	while (n == -1 && errno == EINTR);
	if (n == -1) {
		fprintf(stderr, "%s: recv from %s: %s\n", prog, client_text, strerror(errno));
		return 1;
	}
	if (n == 0) {
		fprintf(stderr, "%s: client %s hung up without a message\n", prog, client_text);
		return 0;
	}
	msg[n] = '\0';
	msg[strcspn(msg, "\n")] = '\0';
	printf("%s\n", msg);

	struct timespec next;
	if (clock_gettime(CLOCK_MONOTONIC, &next) == -1) {
		fprintf(stderr, "%s: clock_gettime: %s\n", prog, strerror(errno));
		return 1;
	}
	for (long i = 0; i < replies; i++) {
		if (i > 0) {
			int err;

			add_ms(&next, interval_ms);
			while ((err = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL)) == EINTR)
				;
			if (err != 0) {
				fprintf(stderr, "%s: clock_nanosleep: %s\n", prog, strerror(err));
				return 1;
			}
		}
		if (send_all(client_sd, REPLY, sizeof REPLY) == -1) {
			if (errno == EPIPE || errno == ECONNRESET) {
				fprintf(stderr, "%s: client %s hung up after %ld replies\n", prog, client_text, i);
				return 0;
			}
			fprintf(stderr, "%s: send to %s: %s\n", prog, client_text, strerror(errno));
			return 1;
		}
	}
	return 0;
}

/* Errors of accept that concern one call only: go for the next call. */
static int
accept_error_is_transient(int err)
{
	return err == EINTR || err == EAGAIN || err == EWOULDBLOCK || err == ECONNABORTED ||
	       err == EPROTO || err == EPERM || err == ENETDOWN || err == ENOPROTOOPT ||
	       err == EHOSTDOWN || err == ENONET || err == EHOSTUNREACH || err == EOPNOTSUPP ||
	       err == ENETUNREACH;
}

int
main(int argc, char **argv)
{
	const char *address = "127.0.0.1";
	long port = SERVER_PORT, limit = 0, replies = 100, interval_ms = 1000;
	char server_text[ADDRESS_TEXT], client_text[ADDRESS_TEXT];
	struct sockaddr_in server_sin;
	int opt, status = 0;

	while ((opt = getopt(argc, argv, "a:p:n:c:i:")) != -1) {
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
		case 'c':
			if (parse_long(optarg, 0, 1000000, &replies) == -1)
				return usage();
			break;
		case 'i':
			if (parse_long(optarg, 0, 3600000, &interval_ms) == -1)
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
	if (install_signal_handlers() == -1) {
		fprintf(stderr, "%s: signal set-up: %s\n", prog, strerror(errno));
		return 1;
	}

	int server_sd = socket(AF_INET, SOCK_STREAM, 0);
	if (server_sd == -1) {
		fprintf(stderr, "%s: error in creating socket for The Server: %s\n", prog, strerror(errno));
		return 1;
	}
	printf("socket has created for The Server with sd:%d\n", server_sd);

	int one = 1;
	if (setsockopt(server_sd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1 ||
	    bind(server_sd, (struct sockaddr *)&server_sin, sizeof server_sin) == -1) {
		fprintf(stderr, "%s: error in binding The Server to the address:port = %s: %s\n",
			prog, server_text, strerror(errno));
		close(server_sd);
		return 1;
	}
	printf("The Server bound to the address:port = %s\n", server_text);

	/*
	 * Non-blocking, so that a call that vanishes between ppoll and accept
	 * costs an EAGAIN, not a hang.  On Linux accepted sockets do not
	 * inherit O_NONBLOCK: the children use ordinary blocking sockets.
	 */
	int flags = fcntl(server_sd, F_GETFL);
	if (flags == -1 || fcntl(server_sd, F_SETFL, flags | O_NONBLOCK) == -1 || listen(server_sd, 5) == -1) {
		fprintf(stderr, "%s: The Server's listening failed: %s\n", prog, strerror(errno));
		close(server_sd);
		return 1;
	}

	long accepted = 0;
	for (;;) {
		reap_children();
		if (stop_requested)
			break;
		if (server_sd == -1 && live_children == 0)
			break;   /* served its -n clients, and they are all done */

		/* With no room for one more child, wait only for signals. */
		struct pollfd pfd = { .fd = server_sd, .events = POLLIN };
		nfds_t nfds = server_sd != -1 && live_children < MAX_CHILDREN ? 1 : 0;
		int ready = ppoll(&pfd, nfds, NULL, &wait_mask);
		if (ready == -1) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "%s: ppoll: %s\n", prog, strerror(errno));
			status = 1;
			break;
		}
		if (ready == 0 || !(pfd.revents & POLLIN))
			continue;

		struct sockaddr_in client_sin;
		socklen_t client_len = sizeof client_sin;
		int client_sd = accept(server_sd, (struct sockaddr *)&client_sin, &client_len);
		if (client_sd == -1) {
			if (accept_error_is_transient(errno))
				continue;   /* as the slide says: do not exit, go for the next call */
			fprintf(stderr, "%s: accept: %s\n", prog, strerror(errno));
			status = 1;
			break;
		}
		format_address(&client_sin, client_text, sizeof client_text);
		printf("The Server opened the request from client %s\n", client_text);

		fflush(stdout);   /* or the child would print the parent's buffered lines again */
		pid_t pid = fork();
		if (pid == -1) {
			fprintf(stderr, "%s: fork: %s; dropping client %s\n", prog, strerror(errno), client_text);
			close(client_sd);
			continue;
		}
		if (pid == 0) {
			int child_status = 1;

			close(server_sd);
			if (restore_signals() == -1)
				fprintf(stderr, "%s: child signal set-up: %s\n", prog, strerror(errno));
			else
				child_status = serve_client(client_sd, client_text, replies, interval_ms);
			if (close(client_sd) == -1 && child_status == 0) {
				fprintf(stderr, "%s: close: %s\n", prog, strerror(errno));
				child_status = 1;
			}
			fflush(stdout);
			_exit(child_status);   /* never back into the parent's accept loop */
		}

		/* The Server: "Hey child, take care of this client." */
		children[live_children++] = pid;
		close(client_sd);
		if (limit != 0 && ++accepted == limit) {
			close(server_sd);   /* calls from now on are refused */
			server_sd = -1;
		}
	}

	if (server_sd != -1)
		close(server_sd);
	if (stop_requested) {
		for (int i = 0; i < live_children; i++)
			kill(children[i], SIGTERM);
	}
	/* Every child is waited for, so none is left behind as a zombie. */
	while (live_children > 0) {
		pid_t pid = waitpid(-1, NULL, 0);
		if (pid > 0)
			forget_child(pid);
		else if (errno != EINTR)
			break;
	}
	return status;
}
