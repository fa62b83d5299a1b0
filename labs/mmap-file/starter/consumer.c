/*
 * consumer.c - lab mmap-file: wait until the producer has written its
 * message (the named semaphore /ipc_file_ready), then map /tmp/ipc_file.bin
 * and print the message.
 *
 *   ./consumer            prints "Consumer read: <message>" and a newline
 *
 * It may be started before or after the producer.  See README.md for the
 * exact interface.  Start from the lecture's consumer ("File-Backed IPC").
 */
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_PATH "/tmp/ipc_file.bin"
#define SEM_NAME "/ipc_file_ready"
#define SIZE 4096

int main(void)
{
    /* TODO 1: open the semaphore SEM_NAME, creating it if the producer has
     *         not yet (O_CREAT, mode 0666, initial value 0), and wait on it:
     *         sem_wait() blocks until the producer has posted.  Then close
     *         it and remove its name with sem_unlink(). */

    /* TODO 2: open FILE_PATH read-only and map it (SIZE bytes, or the size
     *         fstat() gives) read-only and shared; then close the
     *         descriptor. */

    /* TODO 3: print "Consumer read: " followed by the message and a newline. */

    /* TODO 4: unmap. */
    return 0;
}
