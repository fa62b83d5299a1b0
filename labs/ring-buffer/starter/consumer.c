/*
 * consumer.c - takes items out of the ring in POSIX shared memory and
 * prints each one, until the end item (seq 0).  See README.md.
 *
 * usage: ./consumer
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
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
	/* 100 000 lines, one write() each, would take longer than the ring
	 * itself: print through a large buffer (flushed at exit). */
	static char outbuf[1 << 16];
	setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);

	if (argc != 1) {
		fprintf(stderr, "usage: %s\n", argv[0]);
		return 2;
	}

	/* TODO: open the existing object RING_SHM_NAME and map it.  If it
	 * does not exist, say so on stderr and exit with status 1. */
	struct ring *ring = NULL;
	uint64_t consumed = 0;

	for (;;) {
		struct ring_item item = { 0, 0 };

		/* TODO: wait for a filled slot, copy buffer[out] into item,
		 * advance out, and tell the producer a slot is free. */
		(void)ring;
		if (item.seq == 0)
			break;
		printf("Consumer: consumed item %" PRIu64 "\n", item.seq);
		consumed++;
	}

	printf("Consumer: end of stream, %" PRIu64 " items\n", consumed);
	/* TODO: unmap, and remove the object's name (read the handout). */
	return 0;
}
