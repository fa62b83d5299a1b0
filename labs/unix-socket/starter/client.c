/* client.c - Unix-domain stream socket client of /tmp/demo.sock
 *
 *   ./client
 *
 * Sends "Hello from client", prints "Client received: <the answer>".
 * (See the lab's README.md.) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h> /* socket, connect */
#include <sys/un.h>     /* struct sockaddr_un */
#include <unistd.h>     /* read, write, close */

#define SOCKET_PATH "/tmp/demo.sock"

int
main(void)
{
	/* TODO: create a Unix-domain stream socket and connect it to
	 * SOCKET_PATH.  No server there (no file, or a file nobody listens
	 * on): say so on stderr and exit with status 1. */

	/* TODO: send "Hello from client" (17 bytes, no '\0'). */

	/* TODO: read the answer (the server closes the connection after it),
	 * terminate it, print "Client received: ANSWER". */

	/* TODO: close the socket. */

	return 0;
}
