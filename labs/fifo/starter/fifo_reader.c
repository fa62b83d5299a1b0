/* fifo: the reading side of the named pipe /tmp/mypipe (lecture "Type of
 * Pipes": mkfifo, unrelated processes that know the path).
 *
 *   ./fifo_reader    prints "Reader received: item N" for every line that
 *                    comes through /tmp/mypipe, until the writer closes it
 *                    (end of file); then prints
 *                    "Reader: writer closed the FIFO (EOF) after K items"
 *                    and removes /tmp/mypipe.
 *
 * The writer may already be waiting, or may come later: either way works.
 * Exit status: 0 after the end of file, 1 on an error.
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
main(void)
{
    /* TODO 1: create the FIFO with mkfifo(FIFO_PATH, 0666), unless it is
     * there already (the writer may have created it). */

    /* TODO 2: open it for reading (printing "Reader: waiting for a writer
     * on /tmp/mypipe" first is up to you). */

    /* TODO 3: read until the end of file, one item per line: print
     * "Reader received: item N" for each.  A FIFO is a stream of bytes:
     * one read() may return part of a line, or several lines (fdopen() and
     * getline()/fgets() split lines for you).  What does read() return at
     * the end of file? */

    /* TODO 4: print "Reader: writer closed the FIFO (EOF) after K items",
     * close, and remove the FIFO (unlink). */

    fprintf(stderr, "fifo_reader: not written yet (see the TODOs in fifo_reader.c)\n");
    return 0;
}
