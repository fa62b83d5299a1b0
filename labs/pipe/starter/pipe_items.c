/* pipe: the producer / consumer of the lecture ("IPC using Pipes").
 *
 *   ./pipe_items [-n COUNT]   the parent (producer) sends "item 1" ..
 *                             "item COUNT" (default 3) through a pipe to its
 *                             child (consumer), which prints each one;
 *   ./pipe_items -c           the consumer alone: the items come on
 *                             standard input (already a pipe);
 *   ./pipe_items -p [-n COUNT]  the producer alone: the items go to
 *                             standard output, and nothing else does.
 *
 * On the pipe, every item is ONE LINE: "item N" followed by '\n'.
 * The lines to print are in README.md ("What your program must do").
 * See README.md in the lab folder for what the tests check. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* The producer: writes "item 1\n" .. "item COUNT\n" to fd.  When verbose,
 * it also prints "Parent (producer) sending: item N" before each item.
 * Returns 0, or 1 if a write failed. */
static int
produce(int fd, long count, int verbose)
{
    /* TODO: for i = 1 .. count: build the item with snprintf (with its
     * '\n'), print the "sending" line if verbose, and write the item to fd.
     * write() may write fewer bytes than asked for: check what it
     * returns. */
    (void)fd;
    (void)count;
    (void)verbose;
    return 0;
}

/* The consumer: prints "Child: waiting for data...", then
 * "Child (consumer) received: item N" for every line read from fd, until
 * the end of file; then "Child: end of data after K items".
 * Returns 0, or 1 if a read failed. */
static int
consume(int fd)
{
    /* TODO: read fd until EOF.  A pipe is a stream of bytes: one read()
     * may return half an item, or several items at once, so split what
     * you read at the '\n's (or use fdopen() and getline()/fgets()). */
    (void)fd;
    return 0;
}

int
main(int argc, char *argv[])
{
    long count = 3;
    int opt, mode = 0;

    while ((opt = getopt(argc, argv, "n:pc")) != -1) {
        switch (opt) {
        case 'n': {
            char *end;
            errno = 0;
            count = strtol(optarg, &end, 10);
            if (errno != 0 || *end != '\0' || end == optarg || count < 0) {
                fprintf(stderr, "%s: bad count \"%s\"\n", argv[0], optarg);
                return 2;
            }
            break;
        }
        case 'p':
        case 'c':
            mode = opt;
            break;
        default:
            fprintf(stderr, "usage: %s [-n COUNT] [-p | -c]\n", argv[0]);
            return 2;
        }
    }
    if (mode == 'c')
        return consume(STDIN_FILENO);
    if (mode == 'p')
        return produce(STDOUT_FILENO, count, 0);

    /* TODO 1: create the pipe: int fd[2]; pipe(fd). */

    /* TODO 2: fflush(stdout), then fork(). */

    /* TODO 3: in the child: close the end it does not use, consume(), and
     * exit with consume()'s result (the child must not run the parent's
     * code below). */

    /* TODO 4: in the parent: close the end it does not use, produce() with
     * verbose on, close the write end (that is the child's EOF), wait for
     * the child, print "Parent: child finished, done". */

    fprintf(stderr, "pipe_items: not written yet (see the TODOs in pipe_items.c)\n");
    return 0;
}
