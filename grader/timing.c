#define _GNU_SOURCE
#include "timing.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static int enabled = -1;
static struct timespec origin;

static double
ms_since(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

void
timing_mark(const char *fmt, ...)
{
	if (enabled < 0) {
		const char *v = getenv("IPCGRADER_TIMING");
		enabled = v && *v && strcmp(v, "0") != 0;
		clock_gettime(CLOCK_MONOTONIC, &origin);
	}
	if (!enabled)
		return;
	struct timespec now;
	struct rusage ru;
	clock_gettime(CLOCK_MONOTONIC, &now);
	getrusage(RUSAGE_SELF, &ru);
	double cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
		     (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
	char what[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	/* One write per line: the init and the grader share stderr. */
	char line[400];
	int n = snprintf(line, sizeof line, "timing %9.1f ms  cpu %7.1f ms  pid %d  %s\n", ms_since(&origin, &now), cpu,
			 (int)getpid(), what);
	if (n > 0 && write(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1) < 0) {
		/* nothing to do: a figure lost */
	}
}
