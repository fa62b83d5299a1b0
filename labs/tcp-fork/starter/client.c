/* tcp-fork: the client of "The Server w/ fork()".  It connects to The
 * Server on port 2021 (at the address given as its argument, 127.0.0.1 if
 * none), sends "hello" with its '\0' (6 bytes), and prints every message
 * the server sends, one per line, until the server closes the connection;
 * then it exits with status 0.  If it cannot connect, it says so on stderr
 * and exits with status 1.
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

int main(int argc, char **argv)
{
    const char *address = argc > 1 ? argv[1] : "127.0.0.1";

    /* TODO 1: a TCP socket; a struct sockaddr_in for address (inet_pton())
     * and PORT (htons()); connect().  If connect() fails: a message on
     * stderr and return 1. */

    /* TODO 2: send "hello" and its '\0': 6 bytes. */

    /* TODO 3: until recv() returns 0 (the server closed the connection):
     * recv() into a buffer and print each message on a line of its own.
     * A message ends at its '\0'; TCP is a byte stream, so one recv() may
     * return part of a message or several messages at once. */

    (void)address;
    fprintf(stderr, "client: not written yet (see the TODOs in client.c)\n");
    return 1;
}
