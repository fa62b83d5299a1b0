/* tcp-hello: the TCP client of the lecture ("TCP/IP: TCP at Clients").
 * Usage: ./client SERVER_IPV4_ADDRESS (for example ./client 127.0.0.1).
 * It connects to the server on port 2021, sends "hello" (6 bytes: the
 * letters and the '\0'), receives the answer and prints it ("hello back").
 * Exit status: 0 when it got the answer; 1 when it cannot connect (no
 * server listening), with a message saying so.
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

int main(int argc, char *argv[])
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s SERVER_IPV4_ADDRESS\n", argv[0]);
        return 2;
    }

    /* TODO 1: create a TCP socket. */

    /* TODO 2: fill a struct sockaddr_in with the server's address:
     * inet_pton(AF_INET, argv[1], ...) (it returns 1 when the address is
     * valid) and htons(PORT). */

    /* TODO 3: connect(); if it fails, print why (perror or strerror(errno))
     * and exit with status 1. */

    /* TODO 4: send "hello" with its '\0' (6 bytes). */

    /* TODO 5: receive the answer into a buffer with room for all 11 bytes
     * of "hello back" AND a '\0' you add yourself; recv() may return fewer
     * bytes than were sent (TCP may deliver the answer in pieces): call it
     * again, appending, until the answer's '\0' has arrived, or until it
     * returns 0 (the server has closed the connection).  Print the answer,
     * close the socket. */

    fprintf(stderr, "client: not written yet (see the TODOs in client.c)\n");
    return 0;
}
