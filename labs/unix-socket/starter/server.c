/* server.c - Unix-domain stream socket server at /tmp/demo.sock
 *
 *   ./server
 *
 * Serves clients one after the other, forever; SIGTERM or SIGINT ends it,
 * and it removes its socket file before it goes.  (See the lab's README.md
 * for everything that is checked.) */
#include <errno.h>
#include <signal.h>     /* sigaction */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h> /* socket, bind, listen, accept */
#include <sys/un.h>     /* struct sockaddr_un */
#include <unistd.h>     /* read, write, close, unlink */

#define SOCKET_PATH "/tmp/demo.sock"

int
main(void)
{
	/* TODO: arrange for SIGTERM and SIGINT to end the server cleanly: the
	 * socket file must be removed before the server is gone.  (What happens
	 * to a server blocked in accept() when the signal arrives?) */

	/* TODO: create a Unix-domain stream socket. */

	/* TODO: fill a struct sockaddr_un with SOCKET_PATH. */

	/* TODO: a socket file may be left at SOCKET_PATH by an earlier server
	 * that was killed: bind() fails with "Address already in use" as long as
	 * it is there. */

	/* TODO: bind, listen, then print "Server: waiting at /tmp/demo.sock". */

	/* TODO: forever: accept a client; read its message (one read(), at
	 * most 99 bytes); print "Server received: MESSAGE"; answer
	 * "Hello from server" (17 bytes, no '\0'); close the client's socket.
	 * A client that misbehaves must not end the server. */

	return 0;
}
