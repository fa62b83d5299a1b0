/* tcp-hello: the iterative TCP server of the lecture ("TCP/IP: TCP at The
 * Server").  It listens on port 2021 and, for every client, one after the
 * other:
 *   - prints the client's address as "client 127.0.0.1:PORT" at the end of
 *     a line (inet_ntop() and ntohs(), not %d of the raw fields);
 *   - receives the client's message ("hello" and its '\0', maybe in
 *     pieces) and prints it on a line of its own;
 *   - answers "hello back" (11 bytes: the 10 letters and the '\0');
 *   - closes the connected socket and goes back to accept().
 * It never exits on its own: the grader stops it with SIGTERM.
 * See README.md in the lab folder for what the tests check. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PORT 2021

int main(void)
{
    /* TODO 1: create a TCP socket: socket(AF_INET, SOCK_STREAM, 0). */

    /* TODO 2: bind it to port PORT on every local address (INADDR_ANY):
     * fill a struct sockaddr_in (memset it to 0 first; htons() for the
     * port).  Optional: setsockopt(SO_REUSEADDR) lets you restart the
     * server at once instead of getting "Address already in use". */

    /* TODO 3: listen() (a backlog of 5, as on the slide). */

    /* TODO 4: the accept loop, forever:
     *   struct sockaddr_in client_sin;
     *   socklen_t client_len = sizeof client_sin;   <- before EVERY accept()
     *   int fd = accept(...);
     *   - if accept() fails, report it and go on with the next client;
     *   - print "... client %s:%d\n" with inet_ntop() and ntohs();
     *   - recv() the message into a buffer with room for a '\0': call it
     *     again, appending, until the message's '\0' has arrived (TCP may
     *     deliver "hello" in pieces) or recv() returns 0; print it with
     *     printf("%s\n", msg);
     *   - only then send() "hello back" (11 bytes), unless the client sent
     *     nothing (recv() returned 0 at once: it left early);
     *   - close(fd), also for a client that left early.  Never close the
     *     listening socket. */

    fprintf(stderr, "server: not written yet (see the TODOs in server.c)\n");
    return 1;
}
