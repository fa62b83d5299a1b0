/* Benchmark (prints figures, asserts nothing): the cost of one sandbox --
 * namespaces created, init set up (mounts, lo), torn down -- and of one
 * test that starts a program in it.  Run by `make bench`. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sandbox.h"
#include "util.h"

static void
empty_body(void *arg, int report_fd)
{
	(void)arg;
	write_all(report_fd, "ok", 2);
}

static int
cmp_ms(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int
measure(const char *what, const struct sandbox_config *cfg, int n)
{
	double *ms = xcalloc((size_t)n, sizeof *ms);
	for (int i = 0; i < n; i++) {
		struct strbuf rep = STRBUF_INIT;
		char err[512];
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		if (sandbox_run(cfg, empty_body, NULL, &rep, NULL, err, sizeof err) != 0) {
			fprintf(stderr, "sandbox failed: %s\n", err);
			free(ms);
			return 1;
		}
		clock_gettime(CLOCK_MONOTONIC, &b);
		ms[i] = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
		sb_release(&rep);
	}
	qsort(ms, (size_t)n, sizeof *ms, cmp_ms);
	double sum = 0;
	for (int i = 0; i < n; i++)
		sum += ms[i];
	printf("%s, %d runs: mean %.2f ms, p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n", what, n, sum / n,
	       ms[n / 2], ms[n * 9 / 10], ms[n * 99 / 100], ms[n - 1]);
	free(ms);
	return 0;
}

int
main(int argc, char **argv)
{
	int n = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 200;
	if (n < 1 || n > 10000)
		n = 200;
	struct sandbox_info iso;
	sandbox_probe(&iso);
	printf("isolation: %s\n", iso.detail);
	struct sandbox_config bare = { .mode = iso.mode, .deadline_ms = 5000 };
	/* As a test has it: its programs' folder shown, a cgroup with limits. */
	char *helpers = realpath("build/helpers", NULL);
	struct sandbox_bind binds[] = { { helpers, 0 }, { NULL, 0 } };
	struct sandbox_config as_test = { .mode = iso.mode, .binds = binds, .deadline_ms = 5000, .memory_mb = 1024,
					  .pids = 80 };
	int rc = measure("sandbox set-up + teardown, bare", &bare, n) ||
		 measure("sandbox set-up + teardown, as a test (a bind, a cgroup)", &as_test, n);
	sandbox_release();
	free(helpers);
	return rc;
}
