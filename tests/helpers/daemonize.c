/* Hostile helper: the classic daemon.  Forks, the child calls setsid() and
 * forks again, the grandchild (argv[1] is a marker the tests look for in
 * /proc) waits forever, and the first two exit at once. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <sys/types.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	(void)argc;
	pid_t pid = fork();
	if (pid < 0)
		return 1;
	if (pid > 0)
		return 0;
	if (setsid() < 0)
		_exit(1);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	pid = fork();
	if (pid != 0)
		_exit(pid < 0);
	for (;;)
		pause();
	(void)argv;
}
