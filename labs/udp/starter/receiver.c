/* udp: the receiver of the lecture ("TCP/IP: UDP at Receiver", "Many
 * senders, single receiver"), which tells from the sequence numbers what
 * the network did.
 *
 *   ./receiver PORT
 *
 * Binds PORT on every address (INADDR_ANY) and receives datagrams
 * "NAME i/COUNT" from any number of senders until SIGTERM.  Then prints,
 * for each sender, one line
 *
 *   NAME: received R datagrams (B bytes), lost L, duplicated D, reordered O
 *
 * and exits 0.  See README.md in the lab folder for what R, B, L, D and O
 * count and for what the tests check. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_DATAGRAM 65507
#define MAX_SENDERS 64

static volatile sig_atomic_t stop_requested;

static void on_sigterm(int signo)
{
    (void)signo;
    stop_requested = 1;
}

int main(int argc, char *argv[])
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    (void)on_sigterm;

    /* TODO 1: install on_sigterm for SIGTERM with sigaction(), WITHOUT
     * SA_RESTART, so that recvfrom() returns -1 (errno EINTR) when it comes. */

    /* TODO 2: a UDP socket, bound to PORT on INADDR_ANY (a receiver MUST
     * bind: that is how senders find it). */

    /* TODO 3: until stop_requested: recvfrom() one datagram into a buffer
     * of MAX_DATAGRAM + 1 bytes (room for a '\0' you add), parse
     * "NAME i/COUNT" (sscanf), and update that sender's counts.  Remember
     * which numbers arrived (a flag per number): a number seen before is a
     * duplicate; a first arrival below the highest number seen so far is
     * reordered. */

    /* TODO 4: print one report line per sender, free what you allocated,
     * close the socket, return 0. */
    return 1;
}
