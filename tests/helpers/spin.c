/* Hostile helper: a busy loop that never ends (and ignores SIGTERM). */
#include <signal.h>
#include <stdio.h>

int
main(void)
{
	signal(SIGTERM, SIG_IGN);
	printf("spinning\n");
	fflush(stdout);
	for (volatile unsigned long i = 0;; i++)
		;
}
