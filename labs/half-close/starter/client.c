/* half-close: the TCP client of the WinSock lecture ("Connecting to a
 * Socket" ... "Terminating the Communication"), in POSIX.
 * Usage: ./client [MESSAGE [SIZE]]
 * It connects to 127.0.0.1:27015, sends MESSAGE (default "this is a
 * test"), or SIZE bytes of MESSAGE repeated, then shutdown(SHUT_WR): no
 * more to send, but the answer can still come in.  It receives the answer
 * until recv() returns 0 and prints "Bytes received: N" and, when the
 * answer is what it sent and at most 1024 bytes, "Answer: TEXT".
 * Exit status: 0 when the answer is exactly what it sent; 1 otherwise, or
 * when it cannot connect.
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

int main(int argc, char *argv[])
{
    const char *message = argc > 1 ? argv[1] : "this is a test";
    (void)message;

    /* TODO 1: the request: SIZE bytes (argv[2], with strtoul) of message
     * repeated, or message itself; malloc() a buffer for it. */

    /* TODO 2: socket(); connect() to 127.0.0.1:PORT; if it fails, print why
     * (perror) and exit with status 1. */

    /* TODO 3: send() the whole request in a loop (send() may send fewer
     * bytes than asked: go on from there). */

    /* TODO 4: shutdown(sd, SHUT_WR): the server's recv() returns 0 once it
     * has every byte.  Do not close() the socket yet: the answer has to
     * come in through it. */

    /* TODO 5: recv() until it returns 0, counting the bytes and comparing
     * them with the request; print "Bytes received: N", then "Answer: ..."
     * if the answer is the request and at most 1024 bytes (add a '\0' to
     * print it with %s).  close(), free(), and return 0 if the answer was
     * the request, 1 otherwise. */

    fprintf(stderr, "client: not written yet (see the TODOs in client.c)\n");
    return 1;
}
