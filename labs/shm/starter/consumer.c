/*
 * consumer.c - lab shm: print the message the producer left in the POSIX
 * shared memory object /my_shm_example, then remove the object.
 *
 *   ./consumer            prints "Consumer read: <message>" and a newline
 *
 * See README.md for the exact interface.  Start from the lecture's consumer
 * ("POSIX Shared Memory").
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SHM_NAME "/my_shm_example"
#define SIZE 4096

int main(void)
{
    /* TODO 1: open the existing object SHM_NAME read-only with shm_open().
     *         If it does not exist (errno == ENOENT) the producer has not
     *         run: say so on stderr and exit 1.  Do not create it. */

    /* TODO 2: map it read-only and shared (SIZE bytes, or the size fstat()
     *         gives), then close the descriptor. */

    /* TODO 3: print "Consumer read: " followed by the message and a newline. */

    /* TODO 4: unmap, and remove the object's name with shm_unlink(): the
     *         consumer owns the object once it has read it. */
    return 0;
}
