/* The check units (grader/check_*.c), each against a program that is right
 * and one that is wrong in the way the unit is for: tests/units/lab grades
 * tests/units/sub/units.c, whose first argument picks the behaviour.  Each
 * test's verdict and the words its message must use are decided here from
 * what the program does; the lab is graded with namespaces and without. */
#define _GNU_SOURCE
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture.h"
#include "spawn.h"
#include "util.h"

static const struct {
	const char *test, *status;
	const char *words[3]; /* in the message or details */
} expected[] = {
	{ "sequence-ok", "pass", { NULL } },
	{ "sequence-gap", "fail", { "50000 is missing", "1 of 100000 records missing", "0 duplicated" } },
	{ "sequence-dup", "fail", { "10 arrived twice", "0 of 30 records missing", "1 duplicated" } },
	{ "sequence-swap", "fail", { "4 arrived out of order", "1 out of order", "0 of 30 records missing" } },
	{ "sequence-short", "fail", { "stops after 29 records", "1 of 30 records missing" } },
	{ "sequence-nul", "fail", { "2 is missing, and a line holds NUL bytes (\"item 2\\x00\\x00\\x00\")", "1 unexpected" } },
	{ "sequence-binary", "pass", { NULL } },
	{ "sequence-binary-bad", "fail", { "7 is missing, and 8 arrived twice", "1 of 5000 records missing, 1 duplicated", "16 bytes each" } },
	{ "cleanup-tidy", "pass", { NULL } },
	{ "cleanup-leaves", "fail", { "3 objects", "/left_shm (shm_unlink)", "/left_fifo (unlink)" } },
	{ "fds-sockets-ok", "pass", { NULL } },
	{ "fds-sockets-leak", "fail", { "holds 3 sockets", "at most 1 expected", "fd 5 (a socket)" } },
	{ "fds-pipe-ends-ok", "pass", { NULL } },
	{ "fds-pipe-ends-kept", "fail", { "holds both ends of the pipe", "fd 3 read, fd 4 write" } },
	{ "cpu-blocks", "pass", { NULL } },
	{ "cpu-spins", "fail", { "it busy-waits", "  hint: block in sem_wait() instead\n", "ms of CPU in" } },
	{ "reaping-now-ok", "pass", { NULL } },
	{ "reaping-now-zombie", "fail", { "1 zombie child", "zombie: pid 3 (units), a child of your units" } },
	{ "reaping-after-ok", "pass", { NULL } },
	{ "provided-header", "pass", { NULL } },
	{ "sockets-ok", "pass", { NULL } },
	{ "sockets-tree", "pass", { NULL } },
	{ "sockets-backlog-wrong", "fail", { "your units listens on port 2021 with a backlog of 128; the handout asks listen(fd, 5)", "6 connections can wait" } },
	{ "sockets-queue-wrong", "fail", { "2 connections wait in the accept queue of your units on port 2021; at least 6 expected", "do not accept before you are told to" } },
	{ "sockets-wrong-port", "fail", { "your units does not listen on TCP port 2022: it listens on port 2021 instead", "its socket: fd 3, TCP 127.0.0.1:2021 listening", "htons(2022)" } },
	{ "sockets-signal", "pass", { NULL } },
	{ "reaping-after-orphan", "fail", { "1 child process of your units was not waited for", "not waited for: pid 3 (units)" } },
	{ "datagrams-ok", "pass", { NULL } },
	{ "datagrams-wrong", "fail", { "report for alice does not match what the link delivered", "alice's datagrams arrived in this order:", "hint: remember which sequence numbers arrived" } },
	{ "datagrams-kernel-drops", "error", { "the kernel of host \"b\" or of the link dropped", "not the program's fault" } },
	{ "processes-ok", "pass", { NULL } },
	{ "processes-child-accepts", "fail",
	  { "2 of your units's 2 children are blocked in accept() on the listening socket: a child must exit after serving its client, or it becomes a second server",
	    "blocked in accept() on fd 3, the listening socket" } },
	{ "processes-escaped-child-accepts", "fail",
	  { "1 of your units's 1 child is blocked in accept() on the listening socket", "pid 4 (units), started by your units (pid 2)" } },
	{ "processes-parent-keeps", "fail",
	  { "your units's parent (pid 2) still holds the connected socket of a client (TCP 127.0.0.1:2021 - 127.0.0.1:",
	    "): close it after fork()" } },
	{ "processes-serial-children", "fail",
	  { "your units has 0 child processes now, 2 expected: one child per connected client",
	    "clients connected to port 2021 now: 2 (1 of them waiting in the accept queue: not accepted yet)" } },
	{ "processes-fds-ok", "pass", { NULL } },
	{ "processes-fds-grown", "fail",
	  { "your units's parent (pid 2) holds 4 descriptors besides stdin, stdout and stderr now, 3 more than before its clients came (1)",
	    "new since the baseline: fd 4 (a TCP connection 127.0.0.1:2021 - 127.0.0.1:" } },
	{ "concurrency-ok", "pass", { NULL } },
	{ "concurrency-serial", "fail",
	  { "the reference second was not served within 300 ms while the reference holder held its connection without sending anything",
	    "blocked in recv" } },
};
#define NEXPECTED (sizeof expected / sizeof *expected)

/* Tests whose status differs without namespaces (and whose words are not
 * looked for there): two hosts need namespaces. */
static const char *const need_namespaces[] = { "datagrams-ok", "datagrams-wrong", "datagrams-kernel-drops" };

static int
needs_namespaces(const char *test)
{
	for (size_t i = 0; i < sizeof need_namespaces / sizeof *need_namespaces; i++)
		if (!strcmp(need_namespaces[i], test))
			return 1;
	return 0;
}

static json_t *reports[2]; /* with namespaces, without */
static char tmpdir[] = "/tmp/check-units-XXXXXX";

static json_t *
grade(int unisolated)
{
	char *file = xstrfmt("%s/report-%d.json", tmpdir, unisolated);
	struct strvec argv = STRVEC_INIT, env = STRVEC_INIT;
	const char *args[] = { "build/grader", "grade", "tests/units/lab", "tests/units/sub", "--format", "json",
			       "--output", file, "--allow-unisolated" };
	for (size_t i = 0; i < sizeof args / sizeof *args; i++)
		sv_push(&argv, args[i]);
	sv_pushf(&env, "PATH=%s", getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	sv_pushf(&env, "TMPDIR=%s", tmpdir);
	if (unisolated)
		sv_push(&env, "IPCGRADER_NO_NAMESPACES=1");
	struct child c = { .argv = argv.v, .envp = env.v };
	struct capture cap;
	capture_init(&cap, 1 << 20);
	struct exit_status st;
	int timed_out;
	char err[256];
	int rc = child_run(&c, 300000, &cap, &st, &timed_out, err, sizeof err);
	char *out = capture_bytes(&cap, 1, NULL);
	json_t *r = json_load_file(file, 0, NULL);
	if (rc != 0 || timed_out || !r)
		fprintf(stderr, "grading tests/units failed (%s): %s\n", rc ? err : "no report", out);
	free(out);
	capture_release(&cap);
	sv_clear(&argv);
	sv_clear(&env);
	free(file);
	return r;
}

static json_t *
find(json_t *report, const char *name)
{
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(report, "tests"), i, t)
		if (!strcmp(json_string_value(json_object_get(t, "name")), name))
			return t;
	return NULL;
}

START_TEST(unit_verdict)
{
	int mode = _i / (int)NEXPECTED, k = _i % (int)NEXPECTED;
	ck_assert_msg(reports[mode] != NULL, "no report %s namespaces", mode ? "without" : "with");
	json_t *t = find(reports[mode], expected[k].test);
	ck_assert_msg(t != NULL, "no test %s", expected[k].test);
	const char *st = json_string_value(json_object_get(t, "status"));
	const char *msg = json_string_value(json_object_get(t, "message"));
	const char *details = json_string_value(json_object_get(t, "details"));
	char *all = xstrfmt("%s\n%s", msg, details);
	/* Without namespaces port 2021 is the machine's: a connection of an
	 * earlier test still in TIME_WAIT makes a test an error, never a
	 * verdict (check_integration accepts the same). */
	if (mode && !strcmp(st, "error") && strstr(msg, "port 2021 of this machine is still in use")) {
		free(all);
		return;
	}
	int no_hosts = mode && needs_namespaces(expected[k].test);
	const char *want = no_hosts ? "error" : expected[k].status;
	ck_assert_msg(!strcmp(st, want), "%s (%s namespaces): %s, expected %s\n%s", expected[k].test,
		      mode ? "without" : "with", st, want, all);
	for (int w = 0; w < 3 && expected[k].words[w] && !no_hosts; w++) {
		const char *word = expected[k].words[w];
		/* Without a PID namespace, pids are the machine's. */
		if (mode && strstr(word, "pid "))
			continue;
		ck_assert_msg(strstr(all, word), "%s: \"%s\" not said in:\n%s", expected[k].test, word, all);
	}
	free(all);
}
END_TEST

static void
setup(void)
{
	if (!mkdtemp(tmpdir))
		abort();
	chmod(tmpdir, 0755);
	reports[0] = grade(0);
	reports[1] = grade(1);
}

static void
teardown(void)
{
	json_decref(reports[0]);
	json_decref(reports[1]);
	rm_rf(tmpdir);
}

int
main(void)
{
	Suite *s = suite_create("units");
	TCase *tc = tcase_create("units");
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, unit_verdict, 0, 2 * (int)NEXPECTED);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
