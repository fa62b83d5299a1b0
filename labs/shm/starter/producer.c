/*
 * producer.c - lab shm: put a message into the POSIX shared memory object
 * /my_shm_example (4096 bytes) for the consumer to read later.
 *
 *   ./producer            writes "Hello via POSIX shared memory"
 *   ./producer MESSAGE    writes MESSAGE (at most 4095 bytes)
 *
 * See README.md for the exact interface.  Start from the lecture's producer
 * ("POSIX Shared Memory"), without its sleep(5).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SHM_NAME "/my_shm_example"
#define SIZE 4096

int main(int argc, char *argv[])
{
    const char *msg = "Hello via POSIX shared memory";

    if (argc > 1)
        msg = argv[1];
    if (strlen(msg) + 1 > SIZE) {
        fprintf(stderr, "producer: message too long (at most %d bytes)\n", SIZE - 1);
        return 1;
    }

    /* TODO 1: create (or open) the object SHM_NAME for reading and writing,
     *         mode 0666, with shm_open(); on failure perror() and exit 1. */

    /* TODO 2: give the object its size, SIZE bytes. */

    /* TODO 3: map SIZE bytes of it, readable and writable, shared with the
     *         other processes that map it; the descriptor may be closed
     *         once the mapping exists. */

    /* TODO 4: copy msg into the mapping, with its '\0'. */

    /* TODO 5: unmap, and print exactly this line: */
    printf("Producer wrote message into shared memory.\n");

    /* No sleep(): the object outlives the producer; the consumer reads it
     * whenever it runs, and removes it. */
    return 0;
}
