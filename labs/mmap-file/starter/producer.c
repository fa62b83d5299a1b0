/*
 * producer.c - lab mmap-file: write a message into /tmp/ipc_file.bin (4096
 * bytes) through a shared mapping, then tell the consumer it is there by
 * posting the named semaphore /ipc_file_ready.
 *
 *   ./producer            writes "Hello via file-backed mmap"
 *   ./producer MESSAGE    writes MESSAGE (at most 4095 bytes)
 *
 * See README.md for the exact interface.  Start from the lecture's producer
 * ("File-Backed IPC"), without its sleep(5).
 */
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

int main(int argc, char *argv[])
{
    const char *msg = "Hello via file-backed mmap";

    if (argc > 1)
        msg = argv[1];
    if (strlen(msg) + 1 > SIZE) {
        fprintf(stderr, "producer: message too long (at most %d bytes)\n", SIZE - 1);
        return 1;
    }

    /* TODO 1: open (creating it if needed) FILE_PATH for reading and
     *         writing, mode 0666; on failure perror() and exit 1. */

    /* TODO 2: make the file SIZE bytes long. */

    /* TODO 3: map SIZE bytes of it, readable and writable, shared with the
     *         file (and so with every process that maps it); the
     *         descriptor may be closed once the mapping exists. */

    /* TODO 4: copy msg into the mapping, with its '\0', then unmap. */

    /* TODO 5: only now, tell the consumer: open the semaphore SEM_NAME
     *         (sem_open with O_CREAT, mode 0666, initial value 0: the
     *         consumer may have created it already), sem_post it, and
     *         sem_close it.  Do not unlink it: the consumer does. */

    printf("Producer wrote message into mapped file.\n");
    /* No sleep(): the message is in the file; the consumer waits for the
     * semaphore, not for time to pass. */
    return 0;
}
