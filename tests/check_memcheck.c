/* memcheck: the command line and environment that make Valgrind and the
 * sanitizers write their reports where the grader looks, and
 * memcheck_collect() turning canned reports into findings a student can
 * act on: which process, which line of their code, what to do. */
#define _GNU_SOURCE
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memcheck.h"
#include "result.h"
#include "util.h"

static char tmpdir[64];

static void
make_tmpdir(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/check-memcheck-XXXXXX");
	if (!mkdtemp(tmpdir))
		abort();
}

static void
remove_tmpdir(void)
{
	rm_rf(tmpdir);
}

/* A fresh folder of logs for one test. */
static char *
new_logdir(void)
{
	char *d = xstrfmt("%s/logs-XXXXXX", tmpdir);
	ck_assert_ptr_nonnull(mkdtemp(d));
	return d;
}

static void
put_log(const char *dir, const char *name, const char *text)
{
	char *path = xstrfmt("%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write_all(fd, text, strlen(text)), 0);
	ck_assert_int_eq(close(fd), 0);
	free(path);
}

static const char *
namer(pid_t pid, void *arg)
{
	ck_assert_str_eq(arg, "cookie"); /* the caller's argument comes back */
	return pid == 4242 ? "your server" : pid == 4343 ? "your client" : NULL;
}

static char *sources[] = { "server.c", "client.c" };
#define NSOURCES 2

#define VG_HEADER(pid)                                                                                         \
	"==" pid "== Memcheck, a memory error detector\n"                                                      \
	"==" pid "== Copyright (C) 2002-2022, and GNU GPL'd, by Julian Seward et al.\n"                        \
	"==" pid "== Using Valgrind-3.19.0 and LibVEX; rerun with -h for copyright info\n"                     \
	"==" pid "== Command: ./server\n"                                                                      \
	"==" pid "== \n"

#define VG_FOOTER(pid, errors)                                                                                 \
	"==" pid "== \n"                                                                                       \
	"==" pid "== HEAP SUMMARY:\n"                                                                          \
	"==" pid "==     in use at exit: 0 bytes in 0 blocks\n"                                                \
	"==" pid "==   total heap usage: 1 allocs, 1 frees, 1,024 bytes allocated\n"                          \
	"==" pid "== \n"                                                                                       \
	"==" pid "== For lists of detected and suppressed errors, rerun with: -s\n"                            \
	"==" pid "== ERROR SUMMARY: " errors " errors from " errors " contexts (suppressed: 0 from 0)\n"

static const char vg_accept[] = VG_HEADER("4242")
	"==4242== Syscall param socketcall.accept(addrlen_in) points to uninitialised byte(s)\n"
	"==4242==    at 0x4967A47: accept (accept.c:26)\n"
	"==4242==    by 0x1092B4: main (server.c:40)\n"
	"==4242==  Address 0x1ffefffb4c is on thread 1's stack\n"
	"==4242==  in frame #1, created by main (server.c:12)\n"
	"==4242==  Uninitialised value was created by a stack allocation\n"
	"==4242==    at 0x109209: main (server.c:12)\n"
	VG_FOOTER("4242", "1");

static const char vg_invalid_read[] = VG_HEADER("4343")
	"==4343== Invalid read of size 4\n"
	"==4343==    at 0x109196: main (client.c:9)\n"
	"==4343==  Address 0x4a8d068 is 0 bytes after a block of size 40 alloc'd\n"
	"==4343==    at 0x48407B4: malloc (vg_replace_malloc.c:381)\n"
	"==4343==    by 0x109185: main (client.c:7)\n"
	"==4343== \n"
	"==4343== Invalid read of size 4\n"
	"==4343==    at 0x1091A0: main (client.c:11)\n"
	"==4343==  Address 0x4a8d06c is 4 bytes after a block of size 40 alloc'd\n"
	VG_FOOTER("4343", "2");

static const char vg_clean[] = VG_HEADER("4242") VG_FOOTER("4242", "0");

/* Dying of a signal is the exit status's business, not a memory error. */
static const char vg_signal_only[] = VG_HEADER("4242")
	"==4242== Process terminating with default action of signal 6 (SIGABRT)\n"
	"==4242==    at 0x48A0D3C: __pthread_kill_implementation (pthread_kill.c:44)\n"
	"==4242==    by 0x4851F31: raise (raise.c:26)\n"
	"==4242==    by 0x109156: main (server.c:5)\n"
	VG_FOOTER("4242", "0");

static const char asan_overflow[] =
	"=================================================================\n"
	"==4343==ERROR: AddressSanitizer: stack-buffer-overflow on address 0x7ffc8a4e0a6a at pc 0x7f2b8c46e6bd bp 0x7ffc8a4e09f0 sp 0x7ffc8a4e01a0\n"
	"READ of size 11 at 0x7ffc8a4e0a6a thread T0\n"
	"    #0 0x7f2b8c46e6bc in __interceptor_puts ../../../../src/libsanitizer/sanitizer_common/sanitizer_common_interceptors.inc:1255\n"
	"    #1 0x55e1f3f0a3c5 in main /tmp/x/src/client.c:37\n"
	"    #2 0x7f2b8c229d8f in __libc_start_call_main ../sysdeps/nptl/libc_start_call_main.h:58\n"
	"    #3 0x55e1f3f0a204 in _start (/tmp/x/src/client+0x1204)\n"
	"\n"
	"Address 0x7ffc8a4e0a6a is located in stack of thread T0 at offset 42 in frame\n"
	"    #0 0x55e1f3f0a2a9 in main /tmp/x/src/client.c:12\n"
	"\n"
	"  This frame has 1 object(s):\n"
	"    [32, 42) 'buf' (line 15) <== Memory access at offset 42 overflows this variable\n"
	"SUMMARY: AddressSanitizer: stack-buffer-overflow ../../../../src/libsanitizer/sanitizer_common/sanitizer_common_interceptors.inc:1255 in __interceptor_puts\n"
	"Shadow bytes around the buggy address:\n"
	"  0x10001149c100: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00\n"
	"==4343==ABORTING\n";

static const char ubsan_overflow[] =
	"/tmp/x/src/server.c:21:14: runtime error: signed integer overflow: 2147483647 + 1 cannot be represented in type 'int'\n"
	"    #0 0x55d4c3b1a1d9 in main /tmp/x/src/server.c:21\n"
	"    #1 0x7f5e0e429d8f in __libc_start_call_main ../sysdeps/nptl/libc_start_call_main.h:58\n";

struct collected {
	int found;
	struct verdict v;
};

static void
collect(const char *dir, memcheck_namer fn, struct collected *c)
{
	verdict_init(&c->v);
	c->found = memcheck_collect(dir, sources, NSOURCES, fn, "cookie", &c->v);
}

#define ck_assert_has(hay, needle)                                                                             \
	ck_assert_msg((hay) && strstr((hay), (needle)), "\"%s\" not in:\n%s", (needle), (hay) ? (hay) : "(null)")

START_TEST(valgrind_accept)
{
	char *dir = new_logdir();
	put_log(dir, "grader-vg.4242", vg_accept);
	struct collected c;
	collect(dir, namer, &c);
	ck_assert_int_eq(c.found, 1);
	ck_assert_int_eq(c.v.status, ST_CRASH);
	ck_assert_has(c.v.message, "your server has a memory error at server.c:40 (in main): ");
	ck_assert_has(c.v.message, "initialise it (socklen_t len = sizeof addr;) before every accept()");
	ck_assert_ptr_null(strchr(c.v.message, '\n'));
	/* the report itself follows, without Valgrind's ==PID== prefixes */
	ck_assert_has(c.v.details.buf, "Valgrind memcheck reported:");
	ck_assert_has(c.v.details.buf, "Syscall param socketcall.accept(addrlen_in) points to uninitialised byte(s)");
	ck_assert_has(c.v.details.buf, "by 0x1092B4: main (server.c:40)");
	ck_assert_msg(!strstr(c.v.details.buf, "==4242=="), "%s", c.v.details.buf);
	ck_assert_msg(!strstr(c.v.details.buf, "HEAP SUMMARY"), "%s", c.v.details.buf);
	verdict_release(&c.v);
	free(dir);
}
END_TEST

/* Only the first error of a process is reported: it is the one to fix. */
START_TEST(valgrind_invalid_read)
{
	char *dir = new_logdir();
	put_log(dir, "grader-vg.4343", vg_invalid_read);
	struct collected c;
	collect(dir, namer, &c);
	ck_assert_int_eq(c.found, 1);
	ck_assert_int_eq(c.v.status, ST_CRASH);
	ck_assert_has(c.v.message, "your client has a memory error at client.c:9 (in main): ");
	ck_assert_has(c.v.message, "it reads memory it does not own");
	ck_assert_has(c.v.details.buf, "Invalid read of size 4");
	ck_assert_has(c.v.details.buf, "0 bytes after a block of size 40 alloc'd");
	ck_assert_msg(!strstr(c.v.details.buf, "client.c:11"), "%s", c.v.details.buf);
	verdict_release(&c.v);
	free(dir);
}
END_TEST

START_TEST(valgrind_clean)
{
	char *dir = new_logdir();
	put_log(dir, "grader-vg.4242", vg_clean);
	put_log(dir, "grader-vg.4343", vg_signal_only);
	struct collected c;
	collect(dir, namer, &c);
	ck_assert_int_eq(c.found, 0);
	ck_assert_int_eq(c.v.status, ST_PASS);
	ck_assert_ptr_null(c.v.message);
	ck_assert_uint_eq(c.v.details.len, 0);
	verdict_release(&c.v);
	free(dir);
}
END_TEST

START_TEST(asan_stack_overflow)
{
	char *dir = new_logdir();
	put_log(dir, "grader-asan.4343", asan_overflow);
	struct collected c;
	collect(dir, namer, &c);
	ck_assert_int_eq(c.found, 1);
	ck_assert_int_eq(c.v.status, ST_CRASH);
	ck_assert_has(c.v.message, "your client has a memory error at client.c:37 (in main): ");
	ck_assert_has(c.v.message, "reads past the end of a local array (stack-buffer-overflow)");
	ck_assert_has(c.v.message, "'\\0'");
	ck_assert_has(c.v.details.buf, "AddressSanitizer reported:");
	ck_assert_has(c.v.details.buf, "READ of size 11");
	ck_assert_has(c.v.details.buf, "in main /tmp/x/src/client.c:37");
	ck_assert_msg(!strstr(c.v.details.buf, "Shadow bytes"), "%s", c.v.details.buf);
	verdict_release(&c.v);
	free(dir);
}
END_TEST

/* A WRITE past a malloc()ed block by recv(): the hint is about recv's
 * length. */
START_TEST(asan_heap_overflow_by_recv)
{
	char *dir = new_logdir();
	put_log(dir, "grader-asan.4242",
		"==4242==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x602000000020 at pc 0x1 bp 0x2 sp 0x3\n"
		"WRITE of size 64 at 0x602000000020 thread T0\n"
		"    #0 0x7f0 in __interceptor_recv ../../../../src/libsanitizer/sanitizer_common/sanitizer_common_interceptors.inc:6832\n"
		"    #1 0x55a in serve /home/s/lab/server.c:58\n"
		"    #2 0x55b in main /home/s/lab/server.c:90\n"
		"SUMMARY: AddressSanitizer: heap-buffer-overflow in __interceptor_recv\n");
	struct collected c;
	collect(dir, namer, &c);
	ck_assert_int_eq(c.found, 1);
	ck_assert_has(c.v.message, "your server has a memory error at server.c:58 (in serve): ");
	ck_assert_has(c.v.message, "it writes past the end of a malloc()ed block (heap-buffer-overflow)");
	ck_assert_has(c.v.message, "recv()/read() was allowed to write more bytes than the array holds");
	verdict_release(&c.v);
	free(dir);
}
END_TEST

START_TEST(ubsan_runtime_error)
{
	char *dir = new_logdir();
	put_log(dir, "grader-ubsan.4242", ubsan_overflow);
	struct collected c;
	collect(dir, namer, &c);
	ck_assert_int_eq(c.found, 1);
	ck_assert_int_eq(c.v.status, ST_CRASH);
	ck_assert_has(c.v.message, "your server has a memory error at server.c:21");
	ck_assert_has(c.v.message, "undefined behaviour: signed integer overflow: 2147483647 + 1 cannot be represented in type 'int'");
	ck_assert_has(c.v.details.buf, "UndefinedBehaviorSanitizer reported:");
	/* "represented in type" is not a stack frame: the function is main */
	char message[512];
	snprintf(message, sizeof message, "%s", c.v.message);
	verdict_release(&c.v);
	free(dir);
	ck_assert_msg(!strstr(message, "(in type)"), "%s", message);
}
END_TEST

/* Processes the namer does not know, or no namer at all. */
START_TEST(unknown_process)
{
	char *dir = new_logdir();
	put_log(dir, "grader-vg.999", vg_accept);
	struct collected c;
	collect(dir, namer, &c);
	ck_assert_int_eq(c.found, 1);
	ck_assert_has(c.v.message, "a child process (pid 999) has a memory error at server.c:40");
	verdict_release(&c.v);
	collect(dir, NULL, &c);
	ck_assert_int_eq(c.found, 1);
	ck_assert_has(c.v.message, "a child process (pid 999) has a memory error");
	verdict_release(&c.v);
	free(dir);
}
END_TEST

/* No student frame in the report: the message still names the process and
 * what went wrong, without a place. */
START_TEST(no_student_frame)
{
	char *dir = new_logdir();
	put_log(dir, "grader-vg.4242",
		"==4242== Invalid write of size 1\n"
		"==4242==    at 0x4848F0B: memcpy (vg_replace_strmem.c:1033)\n"
		"==4242==    by 0x109300: helper (other.c:3)\n");
	struct collected c;
	collect(dir, namer, &c);
	ck_assert_int_eq(c.found, 1);
	ck_assert_str_eq(c.v.message, "your server has a memory error: it writes memory it does not own: past the end of a malloc()ed block, or after free()");
	verdict_release(&c.v);
	free(dir);
}
END_TEST

/* Several processes: one finding each, in a stable order; files that are
 * not reports are ignored; a missing folder finds nothing. */
START_TEST(several_processes)
{
	char *dir = new_logdir();
	put_log(dir, "grader-vg.4242", vg_accept);
	put_log(dir, "grader-asan.4343", asan_overflow);
	put_log(dir, "notes.txt", "Invalid read of size 4\n   at 0x1: main (server.c:1)\n");
	struct collected c;
	collect(dir, namer, &c);
	ck_assert_int_eq(c.found, 2);
	ck_assert_int_eq(c.v.status, ST_CRASH);
	const char *a = strstr(c.v.details.buf, "your client has a memory error at client.c:37");
	const char *b = strstr(c.v.details.buf, "your server has a memory error at server.c:40");
	ck_assert_msg(a && b && a < b, "%s", c.v.details.buf); /* grader-asan.* sorts first */
	ck_assert_msg(!strstr(c.v.details.buf, "server.c:1)"), "%s", c.v.details.buf);
	verdict_release(&c.v);

	char *missing = xstrfmt("%s/no-such-folder", dir);
	collect(missing, namer, &c);
	ck_assert_int_eq(c.found, 0);
	ck_assert_ptr_null(c.v.message);
	verdict_release(&c.v);
	free(missing);
	free(dir);
}
END_TEST

/* ---- memcheck_prepare ------------------------------------------------ */

static int
has(const struct strvec *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (!strcmp(sv->v[i], s))
			return 1;
	return 0;
}

START_TEST(prepare_valgrind)
{
	struct strvec argv = STRVEC_INIT, env = STRVEC_INIT;
	memcheck_prepare(MEMCHECK_VALGRIND, "/usr/bin/valgrind", "/tmp/logs", &argv, &env);
	ck_assert_uint_ge(argv.n, 3);
	ck_assert_str_eq(argv.v[0], "/usr/bin/valgrind");
	ck_assert(has(&argv, "--log-file=/tmp/logs/grader-vg.%p"));
	/* the program's own argv follows "--" */
	ck_assert_str_eq(argv.v[argv.n - 1], "--");
	ck_assert_ptr_null(argv.v[argv.n]);
	ck_assert_uint_eq(env.n, 0);
	sv_clear(&argv);
	sv_clear(&env);
}
END_TEST

START_TEST(prepare_asan)
{
	struct strvec argv = STRVEC_INIT, env = STRVEC_INIT;
	memcheck_prepare(MEMCHECK_ASAN, "/usr/bin/valgrind", "/tmp/logs", &argv, &env);
	ck_assert_uint_eq(argv.n, 0);
	const char *asan = NULL, *ubsan = NULL;
	for (size_t i = 0; i < env.n; i++) {
		if (!strncmp(env.v[i], "ASAN_OPTIONS=", 13))
			asan = env.v[i];
		if (!strncmp(env.v[i], "UBSAN_OPTIONS=", 14))
			ubsan = env.v[i];
	}
	ck_assert_ptr_nonnull(asan);
	ck_assert_has(asan, "log_path=/tmp/logs/grader-asan");
	ck_assert_has(asan, "verify_asan_link_order=0");
	ck_assert_ptr_nonnull(ubsan);
	ck_assert_has(ubsan, "log_path=/tmp/logs/grader-ubsan");
	sv_clear(&argv);
	sv_clear(&env);
}
END_TEST

START_TEST(prepare_none)
{
	struct strvec argv = STRVEC_INIT, env = STRVEC_INIT;
	memcheck_prepare(MEMCHECK_NONE, "/usr/bin/valgrind", "/tmp/logs", &argv, &env);
	ck_assert_uint_eq(argv.n + env.n, 0);
}
END_TEST

/* What prepare tells the tools to write is what collect reads: ASan
 * appends ".PID" to log_path, Valgrind replaces %p by the pid. */
START_TEST(prepare_then_collect)
{
	char *dir = new_logdir();
	struct strvec argv = STRVEC_INIT, env = STRVEC_INIT;
	memcheck_prepare(MEMCHECK_VALGRIND, "valgrind", dir, &argv, &env);
	memcheck_prepare(MEMCHECK_ASAN, "valgrind", dir, &argv, &env);
	const char *lf = NULL;
	for (size_t i = 0; i < argv.n; i++)
		if (!strncmp(argv.v[i], "--log-file=", 11))
			lf = argv.v[i] + 11;
	ck_assert_ptr_nonnull(lf);
	const char *p = strstr(lf, "%p");
	ck_assert_ptr_nonnull(p);
	char *vg = xstrfmt("%.*s4242%s", (int)(p - lf), lf, p + 2);
	put_log(dir, vg + strlen(dir) + 1, vg_accept);

	const char *lp = strstr(env.v[0], "log_path=");
	ck_assert_ptr_nonnull(lp);
	lp += 9;
	char *asan = xstrfmt("%.*s.4343", (int)strcspn(lp, ":"), lp);
	put_log(dir, asan + strlen(dir) + 1, asan_overflow);

	struct collected c;
	collect(dir, namer, &c);
	ck_assert_int_eq(c.found, 2);
	ck_assert_has(c.v.details.buf, "your server has a memory error at server.c:40");
	ck_assert_has(c.v.details.buf, "your client has a memory error at client.c:37");
	verdict_release(&c.v);
	free(asan);
	free(vg);
	sv_clear(&argv);
	sv_clear(&env);
	free(dir);
}
END_TEST

static Suite *
memcheck_suite(void)
{
	Suite *s = suite_create("memcheck");
	TCase *tc = tcase_create("collect");
	tcase_add_unchecked_fixture(tc, make_tmpdir, remove_tmpdir);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, valgrind_accept);
	tcase_add_test(tc, valgrind_invalid_read);
	tcase_add_test(tc, valgrind_clean);
	tcase_add_test(tc, asan_stack_overflow);
	tcase_add_test(tc, asan_heap_overflow_by_recv);
	tcase_add_test(tc, ubsan_runtime_error);
	tcase_add_test(tc, unknown_process);
	tcase_add_test(tc, no_student_frame);
	tcase_add_test(tc, several_processes);
	tcase_add_test(tc, prepare_then_collect);
	suite_add_tcase(s, tc);
	tc = tcase_create("prepare");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, prepare_valgrind);
	tcase_add_test(tc, prepare_asan);
	tcase_add_test(tc, prepare_none);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(memcheck_suite());
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
