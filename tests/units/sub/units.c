/* A "submission" for tests/units/lab: one program whose first argument
 * chooses a behaviour each check unit must tell right from wrong. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <mqueue.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "units.h"

static void
items(long from, long to, long skip, long twice)
{
	for (long i = from; i <= to; i++) {
		if (i == skip)
			continue;
		printf("item %ld\n", i);
		if (i == twice)
			printf("item %ld\n", i);
	}
}

/* Blocks until stdin ends (the grader gives none: at once) or a signal. */
static void
wait_for_stop(void)
{
	printf("ready\n");
	fflush(stdout);
	pause();
}

static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

/* The datagrams unit's receiver: "ok" counts right; "naive" takes every
 * datagram for a new one; "slow" reads nothing until SIGTERM through a
 * tiny socket buffer, so that its kernel drops datagrams. */
static int
datagrams(const char *how, int port)
{
	struct sigaction sa = { .sa_handler = on_term };
	sigaction(SIGTERM, &sa, NULL);
	int s = socket(AF_INET, SOCK_DGRAM, 0), small = 1;
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (!strcmp(how, "slow"))
		setsockopt(s, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
	if (s < 0 || bind(s, (struct sockaddr *)&me, sizeof me) < 0)
		return 1;
	static char buf[65536], names[8][33];
	static unsigned char seen[8][1001];
	long count[8] = { 0 }, got[8] = { 0 }, bytes[8] = { 0 }, dup[8] = { 0 }, reord[8] = { 0 }, high[8] = { 0 },
	     distinct[8] = { 0 };
	int nnames = 0;
	while (!strcmp(how, "slow") && !stop)
		pause();
	for (;;) {
		ssize_t n = recv(s, buf, sizeof buf - 1, stop ? MSG_DONTWAIT : 0);
		if (n < 0 && stop)
			break;
		if (n < 0)
			continue;
		buf[n] = '\0';
		char name[33];
		long seq, cnt;
		if (sscanf(buf, "%32[a-z] %ld/%ld", name, &seq, &cnt) != 3 || seq < 1 || seq > cnt || cnt > 1000)
			continue;
		int k = 0;
		while (k < nnames && strcmp(names[k], name))
			k++;
		if (k == nnames && nnames < 8)
			snprintf(names[nnames++], sizeof names[0], "%s", name), count[k] = cnt;
		if (k == 8)
			continue;
		got[k]++, bytes[k] += n;
		if (seen[k][seq] && strcmp(how, "naive")) {
			dup[k]++;
			continue;
		}
		seen[k][seq] = 1, distinct[k]++;
		if (seq < high[k])
			reord[k]++;
		else
			high[k] = seq;
	}
	for (int k = 0; k < nnames; k++)
		printf("%s: received %ld datagrams (%ld bytes), lost %ld, duplicated %ld, reordered %ld\n", names[k], got[k],
		       bytes[k], count[k] - distinct[k], dup[k], reord[k]);
	return 0;
}

/* The fork-per-client server of the Network IPC lecture on port 2021, with
 * one of its bugs or none: "fork-server" is right; "fork-accept" is the
 * slide's child that falls back into the accept loop ("fork-escape": in a
 * grandchild that left the server's session); "fork-keeps" is a
 * parent that keeps each connected socket; "serial" serves one client at a
 * time, without fork.  A client gets "hello back" for its message. */
static void
serve(int c)
{
	char msg[256];
	ssize_t n = recv(c, msg, sizeof msg, 0);
	if (n > 0)
		send(c, "hello back", 11, MSG_NOSIGNAL);
	/* The client closes first: the TIME_WAIT is on its side, so that port
	 * 2021 is free for the next test without namespaces. */
	while (n > 0)
		n = recv(c, msg, sizeof msg, 0);
	close(c);
}

static int
fork_server(const char *mode)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(2021) };
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(s, (struct sockaddr *)&sin, sizeof sin) < 0 || listen(s, 5) < 0)
		return 1;
	signal(SIGCHLD, SIG_IGN); /* children are reaped by the kernel */
	printf("ready\n");
	for (;;) {
		int c = accept(s, NULL, NULL);
		if (c < 0)
			continue;
		if (!strcmp(mode, "serial")) {
			serve(c);
			continue;
		}
		pid_t pid = fork();
		if (pid == 0 && !strcmp(mode, "fork-escape")) {
			/* the slide's bug, in a grandchild of another session */
			if (fork() != 0)
				_exit(0);
			setsid();
		}
		if (pid == 0) {
			serve(c);
			if (!strcmp(mode, "fork-accept") || !strcmp(mode, "fork-escape"))
				continue; /* the slide's bug */
			_exit(0);
		}
		if (strcmp(mode, "fork-keeps"))
			close(c);
	}
}

int
main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	long n = argc > 2 ? atol(argv[2]) : 10;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(mode, "seq-ok"))
		items(1, n, 0, 0);
	else if (!strcmp(mode, "seq-gap"))
		items(1, n, n / 2, 0);
	else if (!strcmp(mode, "seq-dup"))
		items(1, n, 0, n / 3);
	else if (!strcmp(mode, "seq-swap")) {
		items(1, 3, 0, 0);
		printf("item 5\nitem 4\n");
		items(6, n, 0, 0);
	} else if (!strcmp(mode, "seq-nul")) { /* item 2 written as a fixed-size record */
		printf("item 1\n");
		fwrite("item 2\0\0\0\n", 1, 10, stdout);
		items(3, n, 0, 0);
	} else if (!strcmp(mode, "seq-short"))
		items(1, n - 1, 0, 0);
	else if (!strcmp(mode, "seq-binary") || !strcmp(mode, "seq-binary-bad")) {
		/* 16-byte records, the number first; the bad one sends 8 for 7 */
		int bad = !strcmp(mode, "seq-binary-bad");
		for (uint64_t i = 1; i <= (uint64_t)n; i++) {
			uint64_t rec[2] = { bad && i == 7 ? 8 : i, ~i };
			fwrite(rec, sizeof rec, 1, stdout);
		}
	} else if (!strcmp(mode, "leave")) {
		/* The queue is allowed to stay (and, without namespaces on a
		 * machine with no /dev/mqueue, one left by an earlier run
		 * cannot be reopened by this run's uid: no matter). */
		struct mq_attr at = { .mq_maxmsg = 4, .mq_msgsize = 16 };
		mq_open("/left_queue", O_CREAT | O_RDWR, 0600, &at);
		int fd = shm_open("/left_shm", O_CREAT | O_RDWR, 0600);
		int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
		if (fd < 0 || id < 0 || mkfifo("left_fifo", 0600) < 0)
			return 1;
	} else if (!strcmp(mode, "tidy")) {
		int fd = shm_open("/tidy_shm", O_CREAT | O_RDWR, 0600);
		if (fd < 0 || mkfifo("tidy_fifo", 0600) < 0 || shm_unlink("/tidy_shm") < 0 || unlink("tidy_fifo") < 0)
			return 1;
	} else if (!strcmp(mode, "sockets")) {
		for (long i = 0; i < n; i++)
			if (socket(AF_INET, SOCK_STREAM, 0) < 0)
				return 1;
		wait_for_stop();
	} else if (!strcmp(mode, "pipe-ends")) {
		/* The child reads and keeps the write end too (the bug), or not. */
		int fd[2];
		if (pipe(fd) < 0)
			return 1;
		pid_t pid = fork();
		if (pid == 0) {
			if (n)
				close(fd[1]);
			char c;
			while (read(fd[0], &c, 1) > 0)
				;
			_exit(0);
		}
		close(fd[0]);
		wait_for_stop();
	} else if (!strcmp(mode, "spin")) {
		printf("ready\n");
		for (volatile unsigned long i = 0;; i++)
			;
	} else if (!strcmp(mode, "block")) {
		wait_for_stop();
	} else if (!strcmp(mode, "zombie") || !strcmp(mode, "reaps")) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(0);
		if (!strcmp(mode, "reaps"))
			waitpid(pid, NULL, 0);
		else /* wait until it has exited, without reaping it */
			waitid(P_PID, (id_t)pid, &(siginfo_t){ 0 }, WEXITED | WNOWAIT);
		wait_for_stop();
	} else if (!strcmp(mode, "orphan") || !strcmp(mode, "waits")) {
		/* The child ends when the parent's end of the pipe closes. */
		int fd[2];
		if (pipe(fd) < 0)
			return 1;
		pid_t pid = fork();
		if (pid == 0) {
			close(fd[1]);
			char c;
			while (read(fd[0], &c, 1) > 0)
				;
			_exit(0);
		}
		close(fd[0]);
		close(fd[1]);
		if (!strcmp(mode, "waits"))
			waitpid(pid, NULL, 0);
	} else if (!strncmp(mode, "dgram-", 6)) {
		return datagrams(mode + 6, 2001);
	} else if (!strcmp(mode, "listen")) {
		/* listen on 2021 with backlog n; a child makes argv[3]
		 * connections to it (they wait in the accept queue) and holds them */
		long calls = argc > 3 ? atol(argv[3]) : 0;
		int sd = socket(AF_INET, SOCK_STREAM, 0), one = 1, fd[2];
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(2021),
					   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		if (sd < 0 || setsockopt(sd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
		    bind(sd, (struct sockaddr *)&sin, sizeof sin) < 0 || listen(sd, (int)n) < 0 || pipe(fd) < 0)
			return 1;
		if (fork() == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			close(sd);
			for (long i = 0; i < calls; i++) {
				int c = socket(AF_INET, SOCK_STREAM, 0);
				if (c < 0 || connect(c, (struct sockaddr *)&sin, sizeof sin) < 0)
					_exit(1);
			}
			if (write(fd[1], "x", 1) != 1)
				_exit(1);
			pause();
			_exit(0);
		}
		char x;
		if (read(fd[0], &x, 1) != 1)
			return 1;
		wait_for_stop();
	} else if (!strcmp(mode, "fork-server") || !strcmp(mode, "fork-accept") || !strcmp(mode, "fork-keeps") ||
		   !strcmp(mode, "fork-escape") || !strcmp(mode, "serial")) {
		return fork_server(mode);
	} else if (!strcmp(mode, "provided")) {
		printf("provided %d\n", UNITS_PROVIDED);
	} else {
		fprintf(stderr, "units: unknown mode \"%s\"\n", mode);
		return 2;
	}
	return 0;
}
