/* half-close: the TCP server of the WinSock lecture ("Binding a Socket" ...
 * "Terminating the Communication"), in POSIX.  It listens on 127.0.0.1,
 * port 27015, and serves clients one after the other, forever:
 *   - receives the request until recv() returns 0 (the client's
 *     shutdown(SHUT_WR)): it may come in many pieces, of any length;
 *   - prints "Bytes received: N" on a line of its own;
 *   - sends the request back, all of it (send() may send less than asked);
 *   - shutdown(SHUT_WR), close(), and back to accept().
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

#define PORT 27015

int main(void)
{
    /* TODO 1: socket(AF_INET, SOCK_STREAM, IPPROTO_TCP). */

    /* TODO 2: bind it to 127.0.0.1:PORT (inet_pton() or inet_addr() for the
     * address, htons() for the port; memset the struct sockaddr_in to 0
     * first).  Optional: setsockopt(SO_REUSEADDR) first, so that you can
     * restart the server at once. */

    /* TODO 3: listen(). */

    /* TODO 4: forever: accept() a client (on failure, report it and go on),
     * then:
     *   - recv() into a buffer that grows (malloc, then realloc to twice
     *     the size when it is full) until recv() returns 0; -1 is an error
     *     (EINTR: just call it again);
     *   - printf("Bytes received: %zu\n", len);
     *   - send() the len bytes back, in a loop: each send() returns how many
     *     it sent, maybe fewer than asked; go on from there;
     *   - shutdown(fd, SHUT_WR), close(fd), free the buffer. */

    fprintf(stderr, "server: not written yet (see the TODOs in server.c)\n");
    return 1;
}
