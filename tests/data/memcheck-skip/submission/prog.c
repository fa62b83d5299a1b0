/* spin: a busy loop; block: read() from a pipe only it holds, whose write
 * end it never closes; sleep: 1.4 s of nanosleep, then exit 0. */
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "spin"))
		for (volatile unsigned long i = 0;; i++)
			;
	if (argc > 1 && !strcmp(argv[1], "block")) {
		int p[2];
		char c;
		if (pipe(p) == 0)
			(void)read(p[0], &c, 1);
		return 1;
	}
	struct timespec ts = { 1, 400000000 };
	nanosleep(&ts, NULL);
	return 0;
}
