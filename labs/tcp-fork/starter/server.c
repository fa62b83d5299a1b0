/* tcp-fork: "The Server w/ fork()" of the Network IPC lecture.  It listens
 * on port 2021 and, for every client:
 *   - the parent accepts the call, prints "The Server opened the request
 *     from client 127.0.0.1:PORT" (inet_ntop() and ntohs()), forks a child
 *     for that client, closes its own copy of the connected socket and goes
 *     straight back to accept() for the next call;
 *   - the child prints "Child: I The Server's child to handle the
 *     communication with the client 127.0.0.1:PORT", receives the client's
 *     message ("hello" and its '\0') and prints it on a line of its own,
 *     answers "hello back" (11 bytes: the 10 letters and the '\0'), closes
 *     the connection and EXITS: it must never go back into the accept loop.
 * Children are waited for as they exit (no zombies).  The server never
 * exits on its own: the grader stops it with SIGTERM.
 * See README.md in the lab folder for what the tests check. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define PORT 2021

/* TODO 5: a SIGCHLD handler that reaps every child that has exited:
 *   while (waitpid(-1, NULL, WNOHANG) > 0) ;
 * (save and restore errno around it).  Or, instead of a handler, ask the
 * kernel to reap them: sigaction(SIGCHLD) with SA_NOCLDWAIT. */

int main(void)
{
    /* TODO 1: install the SIGCHLD handler with sigaction(), with
     * SA_RESTART so that accept() is not interrupted by it (or, without
     * SA_RESTART, go on with the next accept() when it fails with EINTR). */

    /* TODO 2: create a TCP socket, bind it to port PORT on every local
     * address (INADDR_ANY; htons() for the port) and listen() with a
     * backlog of 5.  setsockopt(SO_REUSEADDR) lets you restart at once. */

    /* TODO 3: the accept loop, forever:
     *   struct sockaddr_in client_sin;
     *   socklen_t client_len = sizeof client_sin;   <- before EVERY accept()
     *   int fd = accept(...);
     *   - if accept() fails, go on with the next call (do not exit);
     *   - print "The Server opened the request from client %s:%u\n";
     *   - fflush(stdout) before fork(), or the child prints it again;
     *   - pid_t pid = fork(); */

    /* TODO 4: in the child (pid == 0): close the listening socket, print
     * the "Child: ..." line, recv() the message into a buffer with room for
     * a '\0', print it, send() "hello back" (11 bytes) unless the client
     * sent nothing (recv() returned 0), close(fd) and exit(0).
     * In the parent: close(fd), and back to accept(). */

    fprintf(stderr, "server: not written yet (see the TODOs in server.c)\n");
    return 1;
}
