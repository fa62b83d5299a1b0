/*
 * mq_attr - seed 002, "Message Queue": the slide fills a struct mq_attr
 * (mq_maxmsg 10, mq_msgsize 256, mq_curmsgs "read-only") and passes it to
 * mq_open.  This program reads the attributes back with mq_getattr, so a
 * test can see what a queue was created with and how many messages it
 * holds right now (a full queue holds mq_maxmsg).  It prints one line,
 *   /myqueue: mq_maxmsg 10, mq_msgsize 256, mq_curmsgs 3
 * and exits 0.
 *
 * It only looks: the queue is opened without O_CREAT (a missing queue is
 * reported, exit 1, not created), nothing is received, and the queue is not
 * unlinked.
 *
 * usage: mq_attr [-q /name]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define QUEUE_NAME "/myqueue"

static const char *prog = "mq_attr";

static void
usage(void)
{
	fprintf(stderr, "usage: %s [-q /name]\n", prog);
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *name = QUEUE_NAME;
	struct mq_attr attr;
	int opt, status = 0;
	mqd_t mq;

	while ((opt = getopt(argc, argv, "q:")) != -1) {
		switch (opt) {
		case 'q':
			name = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (name[0] != '/' || name[1] == '\0' || strchr(name + 1, '/') != NULL || strlen(name) > NAME_MAX) {
		fprintf(stderr, "%s: invalid queue name \"%s\" (want \"/name\")\n", prog, name);
		return 2;
	}

	mq = mq_open(name, O_RDONLY | O_NONBLOCK);
	if (mq == (mqd_t)-1) {
		fprintf(stderr, "%s: mq_open \"%s\": %s\n", prog, name, strerror(errno));
		return 1;
	}
	if (mq_getattr(mq, &attr) == -1) {
		fprintf(stderr, "%s: mq_getattr: %s\n", prog, strerror(errno));
		status = 1;
	} else {
		printf("%s: mq_maxmsg %ld, mq_msgsize %ld, mq_curmsgs %ld\n", name, attr.mq_maxmsg, attr.mq_msgsize, attr.mq_curmsgs);
		if (fflush(stdout) == EOF) {
			fprintf(stderr, "%s: stdout: %s\n", prog, strerror(errno));
			status = 1;
		}
	}
	if (mq_close(mq) == -1) {
		fprintf(stderr, "%s: mq_close: %s\n", prog, strerror(errno));
		status = 1;
	}
	return status;
}
