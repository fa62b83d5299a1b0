/* sender.c - put messages with priorities on the POSIX message queue /myqueue
 *
 *   ./sender [-N] PRIORITY:TEXT ...
 *
 * e.g. ./sender 1:hello 5:urgent   (see the lab's README.md for everything
 * that is checked: output lines, exit statuses, the end message). */
#include <errno.h>
#include <fcntl.h>      /* O_CREAT, O_WRONLY, O_NONBLOCK */
#include <mqueue.h>     /* mq_open, mq_send, mq_close */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>   /* mode constants */
#include <unistd.h>     /* getopt */

#define QUEUE_NAME "/myqueue"
#define MAX_MSG    10   /* mq_maxmsg, as in the lecture */
#define MSG_SIZE   256  /* mq_msgsize, as in the lecture */

int
main(int argc, char *argv[])
{
	int nonblocking = 0;

	/* TODO: read the options: -N means non-blocking mode.  Without any
	 * PRIORITY:TEXT argument, print a usage line on stderr and exit 2. */
	(void)argc;
	(void)argv;
	(void)nonblocking;

	/* TODO: check every argument first: PRIORITY is a number from 0 to 31,
	 * TEXT has 1 to MSG_SIZE bytes.  A bad one: message on stderr, exit 2. */

	/* TODO: open (creating it if needed) the queue QUEUE_NAME for writing,
	 * with permissions 0660 and the lecture's attributes (MAX_MSG, MSG_SIZE).
	 * In non-blocking mode the queue must be opened non-blocking: which
	 * argument of mq_open does that (and which one does not)? */

	/* TODO: send each message: its TEXT without the '\0', with its PRIORITY.
	 * After each mq_send that worked, print "Sent (priority P): TEXT".
	 * mq_send can fail: EINTR (try again), EAGAIN (the queue is full, in
	 * non-blocking mode only: say "queue full" on stderr, stop, exit 1),
	 * anything else (report it, exit 1). */

	/* TODO: send the end message: empty (length 0), priority 0. */

	/* TODO: close the queue.  Do not unlink it: the receiver still needs it. */

	return 0;
}
