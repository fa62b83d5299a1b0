/* Hostile helper: dies of SIGSEGV after printing a line. */
#include <stdio.h>

int
main(void)
{
	printf("about to crash\n");
	fflush(stdout);
	volatile int *p = NULL;
	return *p;
}
