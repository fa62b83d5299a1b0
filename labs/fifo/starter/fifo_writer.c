/* fifo: the writing side of the named pipe /tmp/mypipe (lecture "Type of
 * Pipes": mkfifo, unrelated processes that know the path).
 *
 *   ./fifo_writer [-n COUNT]   sends "item 1" .. "item COUNT" (default 3)
 *                              through /tmp/mypipe, one item per line
 *                              ("item N" and '\n'), then closes it.
 *
 * The reader may already be waiting, or may come later: either way works.
 * The writer does not remove the FIFO (the reader does).
 * Exit status: 0 when every item was written, 1 on an error.
 * See README.md in the lab folder for what the tests check. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define FIFO_PATH "/tmp/mypipe"

int
main(int argc, char *argv[])
{
    long count = 3;
    int opt;

    while ((opt = getopt(argc, argv, "n:")) != -1) {
        char *end;
        if (opt != 'n') {
            fprintf(stderr, "usage: %s [-n COUNT]\n", argv[0]);
            return 2;
        }
        errno = 0;
        count = strtol(optarg, &end, 10);
        if (errno != 0 || *end != '\0' || end == optarg || count < 0) {
            fprintf(stderr, "%s: bad count \"%s\"\n", argv[0], optarg);
            return 2;
        }
    }

    /* TODO 1: create the FIFO with mkfifo(FIFO_PATH, 0666), unless it is
     * there already (the reader may have created it: which errno?). */

    /* TODO 2: open it for writing.  What does open() do while no reader
     * has the FIFO open? */

    /* TODO 3: write "item 1\n" .. "item COUNT\n" (printing
     * "Writer sending: item N" is up to you); check what write() returns. */

    /* TODO 4: close the FIFO: that is the reader's end of file. */

    (void)count;
    fprintf(stderr, "fifo_writer: not written yet (see the TODOs in fifo_writer.c)\n");
    return 0;
}
