/* The suites' "as nobody" passes need unprivileged user namespaces.  On a
 * machine where root gets its sandbox only without a user namespace (a
 * container: /proc masked or user namespaces refused), nobody gets none:
 * there those passes are skipped, and say why.  Anywhere else nobody must
 * get them, and a pass that cannot is a failure. */
#ifndef TESTS_NOBODY_H
#define TESTS_NOBODY_H

#include <grp.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox.h"

/* 1: run the nobody passes; 0: skip them (the reason is printed). */
static int
nobody_passes_apply(void)
{
	struct sandbox_info root;
	if (geteuid() != 0)
		return 0; /* nothing to drop */
	if (sandbox_probe(&root) != ISOLATION_NAMESPACES || !root.without_userns)
		return 1;
	int fds[2];
	if (pipe(fds) < 0)
		return 1;
	pid_t pid = fork();
	if (pid == 0) {
		char ok = 0;
		struct sandbox_info iso;
		if (setgroups(0, NULL) == 0 && setgid(65534) == 0 && setuid(65534) == 0) {
			prctl(PR_SET_DUMPABLE, 1);
			ok = sandbox_probe(&iso) == ISOLATION_NAMESPACES;
		}
		_exit(write(fds[1], &ok, 1) == 1 ? 0 : 1);
	}
	close(fds[1]);
	char ok = 1;
	if (pid < 0 || read(fds[0], &ok, 1) != 1)
		ok = 1;
	close(fds[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	if (!ok)
		fprintf(stderr, "note: nobody gets no namespaces here and root only without a user namespace "
				"(a container): the passes as nobody are skipped\n");
	return ok;
}

#endif
