/* udp: the sender of the lecture ("TCP/IP: UDP at Sender"), with sequence
 * numbers.
 *
 *   ./sender HOST PORT NAME COUNT [SIZE]
 *
 * Sends COUNT datagrams to HOST:PORT, one sendto() each: the i-th
 * (i = 1..COUNT) is the text "NAME i/COUNT", followed by '.' characters up
 * to SIZE bytes when SIZE is given and larger.  No '\0', no newline.
 * Exits 0 when all were sent, 1 on an error, 2 on bad arguments.
 * See README.md in the lab folder for what the tests check. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_DATAGRAM 65507

int main(int argc, char *argv[])
{
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: %s HOST PORT NAME COUNT [SIZE]\n", argv[0]);
        return 2;
    }

    /* TODO 1: read PORT, COUNT and SIZE (strtol, and check them). */

    /* TODO 2: the receiver's address: a struct sockaddr_in (memset to 0,
     * AF_INET, htons(port), inet_pton() for HOST). */

    /* TODO 3: a UDP socket: socket(AF_INET, SOCK_DGRAM, 0).  No bind()
     * needed: the kernel picks a port at the first sendto(). */

    /* TODO 4: for i = 1..COUNT: build "NAME i/COUNT" (snprintf), pad it
     * with '.' up to SIZE bytes, and send exactly that many bytes with one
     * sendto().  Check what sendto() returns. */

    /* TODO 5: close the socket and return 0. */
    return 1;
}
