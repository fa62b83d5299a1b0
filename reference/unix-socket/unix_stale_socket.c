/*
 * unix_stale_socket - seed 001, slide "Sockets": the server's
 * "unlink(SOCKET_PATH); // remove old socket file if it exists" before
 * bind().  This program makes that old file: it binds a Unix-domain stream
 * socket at the path (default /tmp/demo.sock) and exits without unlinking
 * it, as a server killed by SIGKILL (or the slide's server, whose unlink at
 * the end of main is never reached by a server that loops) leaves it.
 *
 * The file stays a socket with nobody behind it: connect() to it fails with
 * ECONNREFUSED, and bind() to it fails with EADDRINUSE until it is
 * unlinked.  It prints
 *   Left a stale socket file at /tmp/demo.sock
 * and exits 0; if something is at the path already it is left alone and the
 * program exits 1.
 *
 * usage: unix_stale_socket [-p path]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define SOCKET_PATH "/tmp/demo.sock"

static const char *prog = "unix_stale_socket";

static void
usage(void)
{
	fprintf(stderr, "usage: %s [-p path]\n", prog);
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *path = SOCKET_PATH;
	struct sockaddr_un addr;
	int fd, opt;

	while ((opt = getopt(argc, argv, "p:")) != -1) {
		switch (opt) {
		case 'p':
			path = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	memset(&addr, 0, sizeof addr);
	addr.sun_family = AF_UNIX;
	if (path[0] == '\0' || strlen(path) >= sizeof addr.sun_path) {
		fprintf(stderr, "%s: socket path \"%s\" is empty or longer than %zu bytes\n", prog, path, sizeof addr.sun_path - 1);
		return 2;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);

	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd == -1) {
		fprintf(stderr, "%s: socket: %s\n", prog, strerror(errno));
		return 1;
	}
	/* No unlink first: whatever is at the path is not ours to remove. */
	if (bind(fd, (struct sockaddr *)&addr, sizeof addr) == -1) {
		fprintf(stderr, "%s: bind \"%s\": %s\n", prog, path, strerror(errno));
		close(fd);
		return 1;
	}
	/* Closing the socket leaves its file behind: that is the point. */
	if (close(fd) == -1) {
		fprintf(stderr, "%s: close: %s\n", prog, strerror(errno));
		return 1;
	}
	printf("Left a stale socket file at %s\n", path);
	if (fflush(stdout) == EOF) {
		fprintf(stderr, "%s: stdout: %s\n", prog, strerror(errno));
		return 1;
	}
	return 0;
}
