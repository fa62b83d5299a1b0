/* receiver.c - print the messages on the POSIX message queue /myqueue in the
 * order the queue delivers them, until the empty end message; then remove
 * the queue.   ./receiver   (see the lab's README.md) */
#include <errno.h>
#include <fcntl.h>      /* O_CREAT, O_RDONLY */
#include <mqueue.h>     /* mq_open, mq_getattr, mq_receive, mq_close, mq_unlink */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>   /* mode constants */

#define QUEUE_NAME "/myqueue"
#define MAX_MSG    10
#define MSG_SIZE   256

int
main(void)
{
	/* TODO: open (creating it if needed) the queue QUEUE_NAME for reading,
	 * blocking, with permissions 0660 and the lecture's attributes.  The
	 * sender may have created it already: then its attributes apply. */

	/* TODO: a buffer for one message.  How big must it be for mq_receive?
	 * (mq_getattr tells you the queue's mq_msgsize.) */

	/* TODO: receive messages one by one, blocking while the queue is empty.
	 * For each, print "Received (priority P): TEXT".  mq_receive returns the
	 * message's length; the text arrives without a '\0'.  A message of
	 * length 0 is the end: print "Receiver: end of messages" and stop.
	 * mq_receive failing with EINTR: try again; otherwise report, exit 1. */

	/* TODO: close the queue, then remove it from the system. */

	return 0;
}
