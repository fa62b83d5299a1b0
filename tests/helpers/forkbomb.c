/* Hostile helper: forks without end; every child forks too.  It prints one
#define _GNU_SOURCE
 * line the first time fork() is refused, to show the limit bit. */
#include <stdio.h>
#include <unistd.h>

int
main(void)
{
	int told = 0;
	for (;;) {
		if (fork() < 0 && !told) {
			printf("fork refused\n");
			fflush(stdout);
			told = 1;
		}
	}
}
