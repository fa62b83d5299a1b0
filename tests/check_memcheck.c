/* memcheck: the command line and environment that make Valgrind write its
 * report to a pipe and the sanitizers to stderr, and memcheck_collect()
 * turning canned reports (one Valgrind stream, possibly of several
 * processes; one stderr with ASan or UBSan in it) into findings a student
 * can act on: which process, which line of their code, what to do. */
#define _GNU_SOURCE
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "grade.h"
#include "memcheck.h"
#include "result.h"
#include "sandbox.h"
#include "spec.h"
#include "util.h"

static const char *
namer(pid_t pid, void *arg)
{
	ck_assert_str_eq(arg, "cookie"); /* the caller's argument comes back */
	return pid == 4242 ? "your server" : pid == 4343 ? "your client" : NULL;
}

static char *sources[] = { "server.c", "client.c" };
#define NSOURCES 2

/* A pid no report mentions: what ASan mode falls back to. */
#define NO_PID 1

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

#define VG_ACCEPT(pid)                                                                                         \
	VG_HEADER(pid)                                                                                         \
	"==" pid "== Syscall param socketcall.accept(addrlen_in) points to uninitialised byte(s)\n"            \
	"==" pid "==    at 0x4967A47: accept (accept.c:26)\n"                                                  \
	"==" pid "==    by 0x1092B4: main (server.c:40)\n"                                                     \
	"==" pid "==  Address 0x1ffefffb4c is on thread 1's stack\n"                                           \
	"==" pid "==  in frame #1, created by main (server.c:12)\n"                                            \
	"==" pid "==  Uninitialised value was created by a stack allocation\n"                                 \
	"==" pid "==    at 0x109209: main (server.c:12)\n"                                                     \
	VG_FOOTER(pid, "1")

static const char vg_accept[] = VG_ACCEPT("4242");

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
static const char vg_signal_only[] = VG_HEADER("4343")
	"==4343== Process terminating with default action of signal 6 (SIGABRT)\n"
	"==4343==    at 0x48A0D3C: __pthread_kill_implementation (pthread_kill.c:44)\n"
	"==4343==    by 0x4851F31: raise (raise.c:26)\n"
	"==4343==    by 0x109156: main (server.c:5)\n"
	VG_FOOTER("4343", "0");

#define ASAN_OVERFLOW(pid)                                                                                     \
	"=================================================================\n"                                  \
	"==" pid "==ERROR: AddressSanitizer: stack-buffer-overflow on address 0x7ffc8a4e0a6a at pc 0x7f2b8c46e6bd bp 0x7ffc8a4e09f0 sp 0x7ffc8a4e01a0\n" \
	"READ of size 11 at 0x7ffc8a4e0a6a thread T0\n"                                                        \
	"    #0 0x7f2b8c46e6bc in __interceptor_puts ../../../../src/libsanitizer/sanitizer_common/sanitizer_common_interceptors.inc:1255\n" \
	"    #1 0x55e1f3f0a3c5 in main /tmp/x/src/client.c:37\n"                                              \
	"    #2 0x7f2b8c229d8f in __libc_start_call_main ../sysdeps/nptl/libc_start_call_main.h:58\n"          \
	"    #3 0x55e1f3f0a204 in _start (/tmp/x/src/client+0x1204)\n"                                         \
	"\n"                                                                                                   \
	"Address 0x7ffc8a4e0a6a is located in stack of thread T0 at offset 42 in frame\n"                     \
	"    #0 0x55e1f3f0a2a9 in main /tmp/x/src/client.c:12\n"                                              \
	"\n"                                                                                                   \
	"  This frame has 1 object(s):\n"                                                                      \
	"    [32, 42) 'buf' (line 15) <== Memory access at offset 42 overflows this variable\n"               \
	"SUMMARY: AddressSanitizer: stack-buffer-overflow ../../../../src/libsanitizer/sanitizer_common/sanitizer_common_interceptors.inc:1255 in __interceptor_puts\n" \
	"Shadow bytes around the buggy address:\n"                                                             \
	"  0x10001149c100: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00\n"                                  \
	"==" pid "==ABORTING\n"

static const char asan_overflow[] = ASAN_OVERFLOW("4343");

static const char ubsan_overflow[] =
	"/tmp/x/src/server.c:21:14: runtime error: signed integer overflow: 2147483647 + 1 cannot be represented in type 'int'\n"
	"    #0 0x55d4c3b1a1d9 in main /tmp/x/src/server.c:21\n"
	"    #1 0x7f5e0e429d8f in __libc_start_call_main ../sysdeps/nptl/libc_start_call_main.h:58\n";

struct collected {
	int found;
	struct verdict v;
};

/* What memcheck_collect() makes of len bytes of log, into a fresh verdict. */
static void
collect_n(int mode, const char *log, size_t len, pid_t pid, memcheck_namer fn, struct collected *c)
{
	verdict_init(&c->v);
	c->found = memcheck_collect(mode, log, len, pid, sources, NSOURCES, fn, "cookie", &c->v);
}

static void
collect(int mode, const char *log, pid_t pid, memcheck_namer fn, struct collected *c)
{
	collect_n(mode, log, strlen(log), pid, fn, c);
}

/* Two processes writing to one pipe: their lines alternate. */
static char *
interleave(const char *a, const char *b)
{
	struct strbuf sb = STRBUF_INIT;
	while (*a || *b) {
		size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
		la += a[la] == '\n';
		lb += b[lb] == '\n';
		sb_add(&sb, a, la);
		sb_add(&sb, b, lb);
		a += la;
		b += lb;
	}
	return sb_detach(&sb);
}

#define ck_assert_has(hay, needle)                                                                             \
	ck_assert_msg((hay) && strstr((hay), (needle)), "\"%s\" not in:\n%s", (needle), (hay) ? (hay) : "(null)")

/* ---- Valgrind: one stream, "==PID==" lines ----------------------------- */

START_TEST(valgrind_accept)
{
	struct collected c;
	collect(MEMCHECK_VALGRIND, vg_accept, NO_PID, namer, &c);
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
}
END_TEST

/* Only the first error of a process is reported: it is the one to fix. */
START_TEST(valgrind_invalid_read)
{
	struct collected c;
	collect(MEMCHECK_VALGRIND, vg_invalid_read, NO_PID, namer, &c);
	ck_assert_int_eq(c.found, 1);
	ck_assert_int_eq(c.v.status, ST_CRASH);
	ck_assert_has(c.v.message, "your client has a memory error at client.c:9 (in main): ");
	ck_assert_has(c.v.message, "it reads memory it does not own");
	ck_assert_has(c.v.details.buf, "Invalid read of size 4");
	ck_assert_has(c.v.details.buf, "0 bytes after a block of size 40 alloc'd");
	ck_assert_msg(!strstr(c.v.details.buf, "client.c:11"), "%s", c.v.details.buf);
	verdict_release(&c.v);
}
END_TEST

/* Streams without an error: nothing found, the verdict still passes. */
START_TEST(valgrind_clean)
{
	struct collected c;
	collect(MEMCHECK_VALGRIND, vg_clean, NO_PID, namer, &c);
	ck_assert_int_eq(c.found, 0);
	ck_assert_int_eq(c.v.status, ST_PASS);
	ck_assert_ptr_null(c.v.message);
	ck_assert_uint_eq(c.v.details.len, 0);
	verdict_release(&c.v);

	collect(MEMCHECK_VALGRIND, vg_signal_only, NO_PID, namer, &c);
	ck_assert_int_eq(c.found, 0);
	ck_assert_int_eq(c.v.status, ST_PASS);
	ck_assert_ptr_null(c.v.message);
	verdict_release(&c.v);

	/* two clean processes in one stream */
	char *both = interleave(vg_clean, vg_signal_only);
	collect(MEMCHECK_VALGRIND, both, NO_PID, namer, &c);
	free(both);
	ck_assert_int_eq(c.found, 0);
	ck_assert_int_eq(c.v.status, ST_PASS);
	ck_assert_ptr_null(c.v.message);
	ck_assert_uint_eq(c.v.details.len, 0);
	verdict_release(&c.v);

	/* nothing at all: Valgrind never wrote (or the stream is empty) */
	collect_n(MEMCHECK_VALGRIND, "", 0, NO_PID, namer, &c);
	ck_assert_int_eq(c.found, 0);
	ck_assert_int_eq(c.v.status, ST_PASS);
	verdict_release(&c.v);
}
END_TEST

/* Two processes' lines interleaved in one stream: one finding each, named
 * by its own pid, each with only its own lines. */
START_TEST(valgrind_interleaved)
{
	char *log = interleave(vg_accept, vg_invalid_read);
	struct collected c;
	collect(MEMCHECK_VALGRIND, log, NO_PID, namer, &c);
	free(log);
	ck_assert_int_eq(c.found, 2);
	ck_assert_int_eq(c.v.status, ST_CRASH);
	const char *d = c.v.details.buf;
	const char *srv = strstr(d, "[crash] your server has a memory error at server.c:40 (in main): ");
	const char *cli = strstr(d, "[crash] your client has a memory error at client.c:9 (in main): ");
	/* in the order the processes first speak: 4242's line came first */
	ck_assert_msg(srv && cli && srv < cli, "%s", d);
	ck_assert_has(c.v.message, "your server has a memory error at server.c:40");
	/* the server's report holds none of the client's lines, and back */
	char *srv_part = xstrfmt("%.*s", (int)(cli - srv), srv);
	ck_assert_has(srv_part, "Syscall param socketcall.accept(addrlen_in)");
	ck_assert_msg(!strstr(srv_part, "Invalid read") && !strstr(srv_part, "client.c"), "%s", srv_part);
	ck_assert_msg(!strstr(cli, "Syscall param") && !strstr(cli, "server.c"), "%s", cli);
	ck_assert_has(cli, "0 bytes after a block of size 40 alloc'd");
	ck_assert_msg(!strstr(d, "==4242==") && !strstr(d, "==4343=="), "%s", d);
	free(srv_part);
	verdict_release(&c.v);
}
END_TEST

/* Processes the namer does not know, or no namer at all. */
START_TEST(unknown_process)
{
	struct collected c;
	collect(MEMCHECK_VALGRIND, VG_ACCEPT("999"), 4242, namer, &c);
	ck_assert_int_eq(c.found, 1);
	ck_assert_has(c.v.message, "a child process (pid 999) has a memory error at server.c:40");
	verdict_release(&c.v);
	collect(MEMCHECK_VALGRIND, VG_ACCEPT("999"), 4242, NULL, &c);
	ck_assert_int_eq(c.found, 1);
	ck_assert_has(c.v.message, "a child process (pid 999) has a memory error");
	verdict_release(&c.v);
	collect(MEMCHECK_ASAN, ASAN_OVERFLOW("999"), 4343, namer, &c);
	ck_assert_int_eq(c.found, 1);
	ck_assert_has(c.v.message, "a child process (pid 999) has a memory error at client.c:37");
	verdict_release(&c.v);
}
END_TEST

/* No student frame in the report: the message still names the process and
 * what went wrong, without a place. */
START_TEST(no_student_frame)
{
	struct collected c;
	collect(MEMCHECK_VALGRIND,
		"==4242== Invalid write of size 1\n"
		"==4242==    at 0x4848F0B: memcpy (vg_replace_strmem.c:1033)\n"
		"==4242==    by 0x109300: helper (other.c:3)\n",
		NO_PID, namer, &c);
	ck_assert_int_eq(c.found, 1);
	ck_assert_str_eq(c.v.message, "your server has a memory error: it writes memory it does not own: past the end of a malloc()ed block, or after free()");
	verdict_release(&c.v);
}
END_TEST

/* Several processes: one finding each, in the order they first speak;
 * lines without a "==PID==" prefix are not Valgrind's; findings of
 * several collects add up in one verdict. */
START_TEST(several_processes)
{
	char *log = xstrfmt("Invalid read of size 4\n   at 0x1: main (server.c:1)\n%s%s", vg_invalid_read, vg_accept);
	struct collected c;
	collect(MEMCHECK_VALGRIND, log, NO_PID, namer, &c);
	free(log);
	ck_assert_int_eq(c.found, 2);
	ck_assert_int_eq(c.v.status, ST_CRASH);
	const char *a = strstr(c.v.details.buf, "your client has a memory error at client.c:9");
	const char *b = strstr(c.v.details.buf, "your server has a memory error at server.c:40");
	ck_assert_msg(a && b && a < b, "%s", c.v.details.buf); /* 4343 spoke first */
	ck_assert_msg(!strstr(c.v.details.buf, "server.c:1)"), "%s", c.v.details.buf);
	ck_assert_has(c.v.message, "your client has a memory error at client.c:9");

	/* the client ran under ASan too: its finding follows */
	int more = memcheck_collect(MEMCHECK_ASAN, asan_overflow, strlen(asan_overflow), NO_PID, sources, NSOURCES,
				    namer, "cookie", &c.v);
	ck_assert_int_eq(more, 1);
	const char *z = strstr(c.v.details.buf, "your client has a memory error at client.c:37");
	b = strstr(c.v.details.buf, "your server has a memory error at server.c:40");
	ck_assert_msg(b && z && b < z, "%s", c.v.details.buf);
	verdict_release(&c.v);
}
END_TEST

/* A child that prints its first line after 16 others: a server forking a
 * process per client, under Valgrind (which follows fork()), the 17th
 * client's handler overflowing. */
START_TEST(valgrind_many_processes)
{
	struct strbuf sb = STRBUF_INIT;
	for (int pid = 5000; pid < 5016; pid++)
		sb_addf(&sb, "==%d== \n==%d== ERROR SUMMARY: 0 errors from 0 contexts (suppressed: 0 from 0)\n", pid, pid);
	sb_adds(&sb, VG_ACCEPT("5016"));
	struct collected c;
	collect_n(MEMCHECK_VALGRIND, sb.buf, sb.len, NO_PID, namer, &c);
	sb_release(&sb);
	int found = c.found, has_it = c.v.message && strstr(c.v.message, "a child process (pid 5016)") != NULL;
	verdict_release(&c.v);
	ck_assert_msg(found == 1 && has_it, "17th process's error: found %d, named %d", found, has_it);
}
END_TEST

/* ---- ASan and UBSan: the program's stderr ------------------------------ */

START_TEST(asan_stack_overflow)
{
	struct collected c;
	/* named by its "==PID==" line, not by the pid it is given */
	collect(MEMCHECK_ASAN, asan_overflow, NO_PID, namer, &c);
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
}
END_TEST

/* A WRITE past a malloc()ed block by recv(): the hint is about recv's
 * length. */
START_TEST(asan_heap_overflow_by_recv)
{
	struct collected c;
	collect(MEMCHECK_ASAN,
		"==4242==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x602000000020 at pc 0x1 bp 0x2 sp 0x3\n"
		"WRITE of size 64 at 0x602000000020 thread T0\n"
		"    #0 0x7f0 in __interceptor_recv ../../../../src/libsanitizer/sanitizer_common/sanitizer_common_interceptors.inc:6832\n"
		"    #1 0x55a in serve /home/s/lab/server.c:58\n"
		"    #2 0x55b in main /home/s/lab/server.c:90\n"
		"SUMMARY: AddressSanitizer: heap-buffer-overflow in __interceptor_recv\n",
		NO_PID, namer, &c);
	ck_assert_int_eq(c.found, 1);
	ck_assert_has(c.v.message, "your server has a memory error at server.c:58 (in serve): ");
	ck_assert_has(c.v.message, "it writes past the end of a malloc()ed block (heap-buffer-overflow)");
	ck_assert_has(c.v.message, "recv()/read() was allowed to write more bytes than the array holds");
	verdict_release(&c.v);
}
END_TEST

/* The report among what the program itself printed to stderr, before and
 * after (a child's lines, say): found, and only the report is shown. */
START_TEST(asan_in_other_output)
{
	struct collected c;
	collect(MEMCHECK_ASAN,
		"client: connecting to 127.0.0.1:5000\n"
		"client: sent 5 bytes (server.c:3 said hi)\n"
		"\n"
		ASAN_OVERFLOW("4343")
		"server: child 4343 exited\n"
		"bye\n",
		4242, namer, &c);
	ck_assert_int_eq(c.found, 1);
	ck_assert_int_eq(c.v.status, ST_CRASH);
	ck_assert_has(c.v.message, "your client has a memory error at client.c:37 (in main): ");
	ck_assert_has(c.v.message, "reads past the end of a local array (stack-buffer-overflow)");
	ck_assert_has(c.v.details.buf, "READ of size 11");
	ck_assert_msg(!strstr(c.v.details.buf, "connecting to") && !strstr(c.v.details.buf, "bye") &&
			      !strstr(c.v.details.buf, "exited"),
		      "%s", c.v.details.buf);
	verdict_release(&c.v);
}
END_TEST

/* Program output is bytes, not a C string: a '\0' the program wrote to
 * stderr (a zero-filled buffer sent whole) must not hide the report after
 * it. */
START_TEST(asan_after_nul_byte)
{
	static const char log[] = "reply: \0\0\0\0\n" ASAN_OVERFLOW("4343");
	struct collected c;
	collect_n(MEMCHECK_ASAN, log, sizeof log - 1, 4242, namer, &c);
	int found = c.found, named = c.v.message && strstr(c.v.message, "your client has a memory error at client.c:37");
	verdict_release(&c.v);
	ck_assert_msg(found == 1 && named, "report after a NUL byte: found %d, named %d", found, named);
}
END_TEST

/* UBSan's lines carry no "==PID==": the process is the pid given. */
START_TEST(ubsan_runtime_error)
{
	struct collected c;
	collect(MEMCHECK_ASAN, ubsan_overflow, 4242, namer, &c);
	ck_assert_int_eq(c.found, 1);
	ck_assert_int_eq(c.v.status, ST_CRASH);
	ck_assert_has(c.v.message, "your server has a memory error at server.c:21");
	ck_assert_has(c.v.message, "undefined behaviour: signed integer overflow: 2147483647 + 1 cannot be represented in type 'int'");
	ck_assert_has(c.v.details.buf, "UndefinedBehaviorSanitizer reported:");
	/* "represented in type" is not a stack frame: the function is main */
	char message[512];
	snprintf(message, sizeof message, "%s", c.v.message);
	verdict_release(&c.v);
	ck_assert_msg(!strstr(message, "(in type)"), "%s", message);
}
END_TEST

START_TEST(ubsan_attributed_to_pid)
{
	struct collected c;
	char *log = xstrfmt("client: starting\n%s"
			    "SUMMARY: UndefinedBehaviorSanitizer: undefined-behavior /tmp/x/src/server.c:21:14 in \n"
			    "client: done\n",
			    ubsan_overflow);
	collect(MEMCHECK_ASAN, log, 4343, namer, &c);
	ck_assert_int_eq(c.found, 1);
	ck_assert_has(c.v.message, "your client has a memory error at server.c:21");
	ck_assert_has(c.v.message, "undefined behaviour: signed integer overflow");
	ck_assert_msg(!strstr(c.v.details.buf, "client: done") && !strstr(c.v.details.buf, "starting"), "%s",
		      c.v.details.buf);
	verdict_release(&c.v);

	collect(MEMCHECK_ASAN, log, 777, namer, &c);
	ck_assert_int_eq(c.found, 1);
	ck_assert_has(c.v.message, "a child process (pid 777) has a memory error at server.c:21");
	verdict_release(&c.v);
	free(log);
}
END_TEST

/* stderr with only the program's own output: nothing found. */
START_TEST(asan_clean)
{
	struct collected c;
	collect(MEMCHECK_ASAN,
		"server: listening on 5000\n"
		"=== client 1 ===\n"
		"server: error: connection reset\n",
		4242, namer, &c);
	ck_assert_int_eq(c.found, 0);
	ck_assert_int_eq(c.v.status, ST_PASS);
	ck_assert_ptr_null(c.v.message);
	ck_assert_uint_eq(c.v.details.len, 0);
	verdict_release(&c.v);

	collect_n(MEMCHECK_ASAN, "", 0, 4242, namer, &c);
	ck_assert_int_eq(c.found, 0);
	ck_assert_int_eq(c.v.status, ST_PASS);
	verdict_release(&c.v);
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

static int
mentions(const struct strvec *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (strstr(sv->v[i], s))
			return 1;
	return 0;
}

static const char *
env_get(const struct strvec *env, const char *name)
{
	size_t len = strlen(name);
	for (size_t i = 0; i < env->n; i++)
		if (!strncmp(env->v[i], name, len) && env->v[i][len] == '=')
			return env->v[i] + len + 1;
	return NULL;
}

START_TEST(prepare_valgrind)
{
	struct strvec argv = STRVEC_INIT, env = STRVEC_INIT;
	memcheck_prepare(MEMCHECK_VALGRIND, "/usr/bin/valgrind", 3, &argv, &env);
	ck_assert_uint_ge(argv.n, 3);
	ck_assert_str_eq(argv.v[0], "/usr/bin/valgrind");
	ck_assert(has(&argv, "--log-fd=3"));
	ck_assert(!mentions(&argv, "log-file"));
	ck_assert(!mentions(&argv, "log-socket"));
	/* the program's own argv follows "--" */
	ck_assert_str_eq(argv.v[argv.n - 1], "--");
	ck_assert_ptr_null(argv.v[argv.n]);
	ck_assert_uint_eq(env.n, 0);
	sv_clear(&argv);

	/* the fd given is the fd used */
	memcheck_prepare(MEMCHECK_VALGRIND, "valgrind", 17, &argv, &env);
	ck_assert(has(&argv, "--log-fd=17"));
	ck_assert(!has(&argv, "--log-fd=3"));
	sv_clear(&argv);
	sv_clear(&env);
}
END_TEST

START_TEST(prepare_asan)
{
	struct strvec argv = STRVEC_INIT, env = STRVEC_INIT;
	memcheck_prepare(MEMCHECK_ASAN, "/usr/bin/valgrind", 3, &argv, &env);
	ck_assert_uint_eq(argv.n, 0);
	const char *asan = env_get(&env, "ASAN_OPTIONS"), *ubsan = env_get(&env, "UBSAN_OPTIONS");
	ck_assert_ptr_nonnull(asan);
	ck_assert_has(asan, "detect_leaks=0");
	ck_assert_has(asan, "verify_asan_link_order=0");
	ck_assert_msg(!strstr(asan, "log_path"), "%s", asan);
	ck_assert_ptr_nonnull(ubsan);
	ck_assert_has(ubsan, "print_stacktrace=1");
	ck_assert_msg(!strstr(ubsan, "log_path"), "%s", ubsan);
	ck_assert(!mentions(&env, "log_path"));
	sv_clear(&argv);
	sv_clear(&env);
}
END_TEST

START_TEST(prepare_none)
{
	struct strvec argv = STRVEC_INIT, env = STRVEC_INIT;
	memcheck_prepare(MEMCHECK_NONE, "/usr/bin/valgrind", 3, &argv, &env);
	ck_assert_uint_eq(argv.n + env.n, 0);
}
END_TEST

/* What prepare configures is what collect reads: Valgrind's options end
 * with "--" (the program follows) and its log goes to the fd given, whose
 * other end the grader reads; the sanitizers get no log file, so their
 * reports stay on stderr.  Here the test plays Valgrind on a real pipe. */
START_TEST(prepare_then_collect)
{
	int fds[2];
	ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
	struct strvec argv = STRVEC_INIT, env = STRVEC_INIT;
	memcheck_prepare(MEMCHECK_VALGRIND, "valgrind", fds[1], &argv, &env);
	ck_assert_str_eq(argv.v[argv.n - 1], "--");
	int log_fd = -1, options = 0;
	for (size_t i = 1; i + 1 < argv.n; i++) {
		ck_assert_msg(!strncmp(argv.v[i], "--", 2), "not an option before \"--\": %s", argv.v[i]);
		ck_assert_str_ne(argv.v[i], "--");
		if (sscanf(argv.v[i], "--log-fd=%d", &log_fd) == 1)
			options++;
	}
	ck_assert_int_eq(options, 1);
	ck_assert_int_eq(log_fd, fds[1]);
	ck_assert_int_eq(write_all(log_fd, vg_accept, strlen(vg_accept)), 0);
	ck_assert_int_eq(close(fds[1]), 0);
	char buf[sizeof vg_accept + 64];
	size_t len = 0;
	ssize_t r;
	while ((r = read(fds[0], buf + len, sizeof buf - len)) > 0)
		len += (size_t)r;
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(close(fds[0]), 0);
	ck_assert_uint_eq(len, strlen(vg_accept));
	struct collected c;
	collect_n(MEMCHECK_VALGRIND, buf, len, NO_PID, namer, &c);
	ck_assert_int_eq(c.found, 1);
	ck_assert_has(c.v.message, "your server has a memory error at server.c:40");
	verdict_release(&c.v);

	/* ASan adds nothing to argv and sends no report to a file */
	memcheck_prepare(MEMCHECK_ASAN, "valgrind", fds[1], &argv, &env);
	ck_assert_str_eq(argv.v[argv.n - 1], "--");
	ck_assert(!mentions(&env, "log_path") && !mentions(&env, "log_file") && !mentions(&env, "log_to_syslog"));
	collect(MEMCHECK_ASAN, asan_overflow, NO_PID, namer, &c);
	ck_assert_int_eq(c.found, 1);
	ck_assert_has(c.v.message, "your client has a memory error at client.c:37");
	verdict_release(&c.v);
	sv_clear(&argv);
	sv_clear(&env);
}
END_TEST

/* ---- memcheck tests of a program that hung (grade.c, memcheck_skip) ---- */

static const struct graded_test *
graded(const struct grade_report *rep, const char *name)
{
	for (size_t i = 0; i < rep->ntests; i++)
		if (!strcmp(rep->tests[i].name, name))
			return &rep->tests[i];
	ck_abort_msg("no test %s in the report", name);
	return NULL;
}

/* tests/data/memcheck-skip: a memcheck test that runs a program the same
 * way as a test where it spun, or blocked for good, ends at once and says
 * why; one whose steps differ, or whose program only slept past its step
 * (a timer), runs. */
START_TEST(skip_after_hang)
{
	struct lab_spec spec;
	struct strbuf errors = STRBUF_INIT;
	ck_assert_msg(spec_load("tests/data/memcheck-skip", &spec, &errors) == 0, "%s", errors.buf);
	sb_release(&errors);
	struct sandbox_info iso;
	sandbox_probe(&iso);
	struct grade_options o = { .lab_arg = "tests/data/memcheck-skip", .submission = "tests/data/memcheck-skip/submission",
				   .seed = 1, .ref_dir = "build/ref", .linebuf = "build/libipcgrader-linebuf.so",
				   .self = "grader", .allow_unisolated = 1, .no_cache = 1 };
	struct grade_report rep;
	char err[512];
	ck_assert_msg(grade_run(&spec, &o, &rep, &iso, err, sizeof err) == 0, "%s", err);

	const struct graded_test *spins = graded(&rep, "spins"), *t = graded(&rep, "spins-valgrind");
	ck_assert_msg(spins->status == ST_TIMEOUT, "spins: %s", spins->message);
	ck_assert_int_eq(t->status, ST_TIMEOUT);
	ck_assert_int_eq(t->duration_ms, 0);
	ck_assert_str_eq(t->message, "your prog was not run under Valgrind: run the same way in test \"spins\", it did "
				     "not finish (it spins: a busy loop), so it would not here either");
	ck_assert_has(t->details, "to run this test anyway: grader grade tests/data/memcheck-skip "
				  "tests/data/memcheck-skip/submission --test spins-valgrind");

	t = graded(&rep, "blocks-asan");
	ck_assert_int_eq(graded(&rep, "blocks")->status, ST_TIMEOUT);
	ck_assert_int_eq(t->status, ST_TIMEOUT);
	ck_assert_int_eq(t->duration_ms, 0);
	ck_assert_has(t->message, "your prog was not run under AddressSanitizer: run the same way in test \"blocks\"");
	ck_assert_has(t->message, "(it waits for something that never comes)");

	/* Other arguments: not the same run, so it runs (and hangs in its 600 ms). */
	t = graded(&rep, "blocks-asan-other");
	ck_assert_int_eq(t->status, ST_TIMEOUT);
	ck_assert_has(t->message, "did not finish within 600 ms");
	ck_assert_int_ge(t->duration_ms, 600);

	/* A sleep is no hang for good: under ASan, with twice the time, it ends. */
	ck_assert_int_eq(graded(&rep, "sleeps")->status, ST_TIMEOUT);
	t = graded(&rep, "sleeps-asan");
	ck_assert_msg(t->status == ST_PASS, "sleeps-asan: %s", t->message ? t->message : "");
	grade_release(&rep);
	spec_release(&spec);
}
END_TEST

static Suite *
memcheck_suite(void)
{
	Suite *s = suite_create("memcheck");
	TCase *tc = tcase_create("collect");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, valgrind_accept);
	tcase_add_test(tc, valgrind_invalid_read);
	tcase_add_test(tc, valgrind_clean);
	tcase_add_test(tc, valgrind_interleaved);
	tcase_add_test(tc, unknown_process);
	tcase_add_test(tc, no_student_frame);
	tcase_add_test(tc, several_processes);
	tcase_add_test(tc, valgrind_many_processes);
	tcase_add_test(tc, asan_stack_overflow);
	tcase_add_test(tc, asan_heap_overflow_by_recv);
	tcase_add_test(tc, asan_in_other_output);
	tcase_add_test(tc, asan_after_nul_byte);
	tcase_add_test(tc, ubsan_runtime_error);
	tcase_add_test(tc, ubsan_attributed_to_pid);
	tcase_add_test(tc, asan_clean);
	suite_add_tcase(s, tc);
	tc = tcase_create("prepare");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, prepare_valgrind);
	tcase_add_test(tc, prepare_asan);
	tcase_add_test(tc, prepare_none);
	tcase_add_test(tc, prepare_then_collect);
	suite_add_tcase(s, tc);
	/* Whole gradings, in sandboxes: `make valgrind` leaves them out. */
	tc = tcase_create("skip");
	tcase_set_tags(tc, "no-memcheck");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, skip_after_hang);
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
