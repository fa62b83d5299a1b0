/*
 * producer.c - puts items 1..COUNT into the ring in POSIX shared memory,
 * then the end item (seq 0).  See README.md for what it must print.
 *
 * usage: ./producer [COUNT]      (COUNT defaults to 10)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ring.h"

int
main(int argc, char **argv)
{
	long count = 10;

	if (argc > 2) {
		fprintf(stderr, "usage: %s [COUNT]\n", argv[0]);
		return 2;
	}
	if (argc == 2) {
		char *end;

		errno = 0;
		count = strtol(argv[1], &end, 10);
		if (errno != 0 || end == argv[1] || *end != '\0' || count < 0) {
			fprintf(stderr, "usage: %s [COUNT]\n", argv[0]);
			return 2;
		}
	}

	/* TODO: create the shared memory object RING_SHM_NAME (shm_open),
	 * give it ring_bytes(BUFFER_SIZE) bytes (ftruncate) and map it (mmap). */
	struct ring *ring = NULL;

	/* TODO: fill in the header: size, in, out, the two semaphores
	 * (process-shared), and magic last. */

	printf("Producer: ring of %d slots ready at %s\n", BUFFER_SIZE, RING_SHM_NAME);
	fflush(stdout);

	for (long seq = 1; seq <= count; seq++) {
		/* TODO: wait for a free slot, write item `seq` (with its check
		 * word) at buffer[in], advance in, and tell the consumer. */
		(void)ring;
	}
	/* TODO: put the end item (seq 0) the same way. */

	printf("Producer: done, %ld items\n", count);
	/* TODO: unmap.  Who removes the object's name?  Read the handout. */
	return 0;
}
