/* Hostile helper: a server that ignores SIGTERM, closes its stdout, and
#define _GNU_SOURCE
 * waits forever; the grader must still stop it (SIGKILL). */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

int
main(void)
{
	signal(SIGTERM, SIG_IGN);
	printf("no newline at the end, then stdout closed");
	fflush(stdout);
	close(1);
	for (;;)
		pause();
}
