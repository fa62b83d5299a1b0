/* util: strbuf and strvec, making student bytes printable (and always
 * valid UTF-8), read_file's cap, mkdir_p / rm_rf on a tree, copy_file. */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procinfo.h"
#include "util.h"

static char tmpdir[64];

static void
make_tmpdir(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/check-util-XXXXXX");
	if (!mkdtemp(tmpdir))
		abort();
}

static void
remove_tmpdir(void)
{
	rm_rf(tmpdir);
}

static char *
tmp(const char *name)
{
	return xstrfmt("%s/%s", tmpdir, name);
}

static void
write_bytes(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write_all(fd, data, len), 0);
	ck_assert_int_eq(close(fd), 0);
}

static int
exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* ---- strbuf, strvec -------------------------------------------------- */

START_TEST(strbuf_basics)
{
	struct strbuf sb = STRBUF_INIT;
	sb_add(&sb, "ab", 2);
	sb_adds(&sb, "cd");
	sb_addf(&sb, "%d-%s", 42, "x");
	ck_assert_str_eq(sb.buf, "abcd42-x");
	ck_assert_uint_eq(sb.len, 8);
	ck_assert_uint_gt(sb.cap, sb.len);
	sb_add(&sb, "\0z", 2); /* bytes, NULs included */
	ck_assert_uint_eq(sb.len, 10);
	ck_assert_int_eq(sb.buf[8], '\0');
	ck_assert_int_eq(sb.buf[9], 'z');
	ck_assert_int_eq(sb.buf[10], '\0');
	char *s = sb_detach(&sb);
	ck_assert_ptr_null(sb.buf);
	ck_assert_uint_eq(sb.len, 0);
	ck_assert_mem_eq(s, "abcd42-x\0z", 11);
	free(s);
	/* detaching an empty one gives "", not NULL */
	s = sb_detach(&sb);
	ck_assert_str_eq(s, "");
	free(s);
	sb_release(&sb);
	sb_release(&sb);
}
END_TEST

START_TEST(strbuf_grows)
{
	struct strbuf sb = STRBUF_INIT;
	for (int i = 0; i < 10000; i++)
		sb_addf(&sb, "%04d,", i);
	ck_assert_uint_eq(sb.len, 50000);
	ck_assert_uint_eq(strlen(sb.buf), 50000);
	ck_assert_int_eq(strncmp(sb.buf + 5 * 9999, "9999,", 5), 0);
	/* one format longer than any buffer so far */
	char *big = xmalloc(100001);
	memset(big, 'q', 100000);
	big[100000] = '\0';
	sb_addf(&sb, "[%s]", big);
	ck_assert_uint_eq(sb.len, 150002);
	ck_assert_int_eq(sb.buf[150001], ']');
	ck_assert_int_eq(sb.buf[150002], '\0');
	free(big);
	sb_release(&sb);
	ck_assert_ptr_null(sb.buf);
	ck_assert_uint_eq(sb.len + sb.cap, 0);
}
END_TEST

START_TEST(strvec_basics)
{
	struct strvec sv = STRVEC_INIT;
	sv_push(&sv, "valgrind");
	sv_pushf(&sv, "--log-file=%s/%d", "/tmp", 7);
	char arg[] = "changed later";
	sv_push(&sv, arg);
	arg[0] = 'X'; /* the vector has its own copy */
	ck_assert_uint_eq(sv.n, 3);
	ck_assert_str_eq(sv.v[0], "valgrind");
	ck_assert_str_eq(sv.v[1], "--log-file=/tmp/7");
	ck_assert_str_eq(sv.v[2], "changed later");
	ck_assert_ptr_null(sv.v[3]); /* argv-style */
	sv_clear(&sv);
	ck_assert_ptr_null(sv.v);
	ck_assert_uint_eq(sv.n, 0);
	sv_push(&sv, "again");
	ck_assert_uint_eq(sv.n, 1);
	ck_assert_ptr_null(sv.v[1]);
	sv_clear(&sv);
}
END_TEST

START_TEST(xstrfmt_and_errf)
{
	char *s = xstrfmt("%s:%d:%d: %s", "lab.yaml", 3, 14, "bad");
	ck_assert_str_eq(s, "lab.yaml:3:14: bad");
	free(s);
	char err[8];
	ck_assert_int_eq(errf(err, sizeof err, "cannot %s", "do that"), -1);
	ck_assert_str_eq(err, "cannot "); /* truncated, terminated */
	ck_assert_int_eq(errf(NULL, 0, "nowhere %d", 1), -1);
}
END_TEST

/* ---- sb_add_printable ------------------------------------------------ */

static const struct printable_case {
	const char *name, *in;
	size_t len; /* 0: strlen(in) */
	const char *out;
} printable[] = {
	{ "ASCII", "hello, world! ~{}", 0, "hello, world! ~{}" },
	{ "newline and tab kept", "a\tb\nc\n", 0, "a\tb\nc\n" },
	{ "carriage return", "a\r\n", 0, "a\\x0d\n" },
	{ "NUL", "a\0b", 3, "a\\x00b" },
	{ "other control bytes", "\x01\x1b[0m\x7f", 0, "\\x01\\x1b[0m\\x7f" },
	{ "2-byte UTF-8", "caf\xc3\xa9", 0, "caf\xc3\xa9" },
	{ "3-byte UTF-8", "\xe2\x82\xac 5", 0, "\xe2\x82\xac 5" },
	{ "4-byte UTF-8", "\xf0\x9f\x98\x80!", 0, "\xf0\x9f\x98\x80!" },
	{ "U+10FFFF, the last code point", "\xf4\x8f\xbf\xbf", 0, "\xf4\x8f\xbf\xbf" },
	{ "U+0800 and U+10000, the smallest of their lengths", "\xe0\xa0\x80\xf0\x90\x80\x80", 0,
	  "\xe0\xa0\x80\xf0\x90\x80\x80" },
	{ "lone continuation byte", "a\x80z", 0, "a\\x80z" },
	{ "truncated at the end", "a\xc3", 0, "a\\xc3" },
	{ "truncated 4-byte at the end", "\xf0\x9f\x98", 0, "\\xf0\\x9f\\x98" },
	{ "lead byte then ASCII", "\xc3" "A", 0, "\\xc3A" },
	{ "overlong slash (2 bytes)", "\xc0\xaf", 0, "\\xc0\\xaf" },
	{ "overlong NUL", "\xc0\x80", 0, "\\xc0\\x80" },
	{ "overlong slash (3 bytes)", "\xe0\x80\xaf", 0, "\\xe0\\x80\\xaf" },
	{ "overlong (4 bytes)", "\xf0\x80\x80\xaf", 0, "\\xf0\\x80\\x80\\xaf" },
	{ "high surrogate", "\xed\xa0\x80", 0, "\\xed\\xa0\\x80" },
	{ "low surrogate", "\xed\xbf\xbf", 0, "\\xed\\xbf\\xbf" },
	{ "last before the surrogates", "\xed\x9f\xbf", 0, "\xed\x9f\xbf" },
	{ "past U+10FFFF", "\xf4\x90\x80\x80", 0, "\\xf4\\x90\\x80\\x80" },
	{ "5-byte form", "\xf8\x88\x80\x80\x80", 0, "\\xf8\\x88\\x80\\x80\\x80" },
	{ "FE FF", "\xfe\xff", 0, "\\xfe\\xff" },
	{ "mixed", "ok \xff caf\xc3\xa9\x01", 0, "ok \\xff caf\xc3\xa9\\x01" },
};

START_TEST(printable_table)
{
	const struct printable_case *c = &printable[_i];
	struct strbuf sb = STRBUF_INIT;
	sb_adds(&sb, ">");
	sb_add_printable(&sb, c->in, c->len ? c->len : strlen(c->in));
	ck_assert_msg(!strcmp(sb.buf + 1, c->out), "%s: got \"%s\"", c->name, sb.buf + 1);
	ck_assert_uint_eq(sb.len, 1 + strlen(c->out));
	sb_release(&sb);
}
END_TEST

/* Strict UTF-8 by the byte ranges of RFC 3629 section 4, written
 * independently of the grader's decoder. */
static int
valid_utf8(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i];
		size_t len;
		unsigned lo = 0x80, hi = 0xBF;
		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xC2 && c <= 0xDF) {
			len = 2;
		} else if (c >= 0xE0 && c <= 0xEF) {
			len = 3;
			if (c == 0xE0)
				lo = 0xA0;
			if (c == 0xED)
				hi = 0x9F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			len = 4;
			if (c == 0xF0)
				lo = 0x90;
			if (c == 0xF4)
				hi = 0x8F;
		} else {
			return 0;
		}
		if (i + len > n || s[i + 1] < lo || s[i + 1] > hi)
			return 0;
		for (size_t k = 2; k < len; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xBF)
				return 0;
		i += len;
	}
	return 1;
}

/* Random bytes, biased to the tricky ones: the output is always valid
 * UTF-8 without control bytes but \n and \t, and valid input without
 * control bytes comes out unchanged. */
START_TEST(printable_always_utf8)
{
	static const unsigned char tricky[] = { 0x00, 0x0a, 0x09, 0x0d, 0x7f, 0x80, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf,
						0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xf8, 0xfe, 0xff, 'a' };
	unsigned x = 2024;
	for (int iter = 0; iter < 20000; iter++) {
		unsigned char in[24];
		size_t n = (size_t)(iter % 24) + 1;
		for (size_t i = 0; i < n; i++) {
			x = x * 1103515245u + 12345u;
			unsigned r = x >> 16;
			in[i] = r % 3 ? (unsigned char)(r >> 4) : tricky[(r >> 4) % sizeof tricky];
		}
		struct strbuf sb = STRBUF_INIT;
		sb_add_printable(&sb, in, n);
		ck_assert_msg(valid_utf8((unsigned char *)sb.buf, sb.len), "iteration %d: invalid UTF-8 out", iter);
		for (size_t i = 0; i < sb.len; i++) {
			unsigned char c = (unsigned char)sb.buf[i];
			ck_assert_msg(c >= 0x20 || c == '\n' || c == '\t', "iteration %d: control byte %#x", iter, c);
			ck_assert_int_ne(c, 0x7f);
		}
		int clean = valid_utf8(in, n);
		for (size_t i = 0; i < n && clean; i++)
			if ((in[i] < 0x20 && in[i] != '\n' && in[i] != '\t') || in[i] == 0x7f)
				clean = 0;
		if (clean)
			ck_assert_msg(sb.len == n && !memcmp(sb.buf, in, n), "iteration %d: valid input changed", iter);
		sb_release(&sb);
	}
}
END_TEST

/* ---- files ----------------------------------------------------------- */

START_TEST(read_file_cap)
{
	char *path = tmp("twenty-k");
	size_t n = 20000; /* more than read_file's 8 KiB chunk */
	char *data = xmalloc(n);
	for (size_t i = 0; i < n; i++)
		data[i] = (char)(i * 7);
	write_bytes(path, data, n);

	static const size_t caps[] = { 0, 1, 100, 8192, 8193, 9000, 19999, 20000, 20001, 1 << 20 };
	for (size_t k = 0; k < sizeof caps / sizeof *caps; k++) {
		size_t len = 12345;
		char *got = read_file(path, caps[k], &len);
		size_t want = caps[k] < n ? caps[k] : n;
		ck_assert_ptr_nonnull(got);
		ck_assert_msg(len == want, "cap %zu: %zu bytes", caps[k], len);
		ck_assert_mem_eq(got, data, want);
		ck_assert_int_eq(got[want], '\0');
		free(got);
	}
	errno = 0;
	char *missing = tmp("missing");
	ck_assert_ptr_null(read_file(missing, 100, NULL));
	ck_assert_int_eq(errno, ENOENT);
	free(missing);
	free(data);
	free(path);
}
END_TEST

START_TEST(mkdir_p_and_rm_rf)
{
	char *top = tmp("tree"), *deep = tmp("tree/a/b/c/d");
	ck_assert_int_eq(mkdir_p(deep), 0);
	struct stat st;
	ck_assert_int_eq(stat(deep, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(mkdir_p(deep), 0); /* already there: fine */
	char *slash = xstrfmt("%s/x/y/", top);
	ck_assert_int_eq(mkdir_p(slash), 0);
	free(slash);

	/* files, a FIFO, a symlink to a directory outside: rm_rf must remove
	 * the link, not what it points to */
	char *outside = tmp("outside"), *keep = tmp("outside/keep");
	ck_assert_int_eq(mkdir_p(outside), 0);
	write_bytes(keep, "keep", 4);
	char *f1 = tmp("tree/a/file"), *f2 = tmp("tree/a/b/c/d/file"), *fifo = tmp("tree/a/b/fifo");
	char *link = tmp("tree/a/b/link");
	write_bytes(f1, "1", 1);
	write_bytes(f2, "2", 1);
	ck_assert_int_eq(mkfifo(fifo, 0644), 0);
	ck_assert_int_eq(symlink(outside, link), 0);

	/* a file in the way */
	char *blocked = tmp("tree/a/file/sub");
	ck_assert_int_eq(mkdir_p(blocked), -1);
	free(blocked);

	rm_rf(top);
	ck_assert(!exists(top));
	ck_assert(exists(keep));
	rm_rf(top); /* gone already: nothing happens */
	rm_rf(keep); /* a plain file */
	ck_assert(!exists(keep));
	ck_assert(exists(outside));
	free(top);
	free(deep);
	free(outside);
	free(keep);
	free(f1);
	free(f2);
	free(fifo);
	free(link);
}
END_TEST

START_TEST(copy_file_cases)
{
	char *from = tmp("from"), *to = tmp("to"), *link = tmp("link");
	size_t n = 200000; /* more than copy_file's 64 KiB buffer */
	char *data = xmalloc(n);
	for (size_t i = 0; i < n; i++)
		data[i] = (char)(i % 251); /* NULs too */
	write_bytes(from, data, n);
	mode_t old = umask(022);

	/* over a longer file: truncated */
	char *longer = xmalloc(n + 5000);
	memset(longer, 'z', n + 5000);
	write_bytes(to, longer, n + 5000);
	free(longer);
	ck_assert_int_eq(copy_file(from, to, 0644), 0);
	size_t len;
	char *got = read_file(to, n * 2, &len);
	ck_assert_uint_eq(len, n);
	ck_assert_mem_eq(got, data, n);
	free(got);

	/* through a symlink, with the mode asked for */
	char *to2 = tmp("to2");
	ck_assert_int_eq(symlink(from, link), 0);
	ck_assert_int_eq(copy_file(link, to2, 0750), 0);
	struct stat st;
	ck_assert_int_eq(lstat(to2, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0750);
	ck_assert_int_eq(st.st_size, (off_t)n);

	/* failures */
	char *missing = tmp("missing"), *nodir = tmp("no/such/dir/file");
	ck_assert_int_eq(copy_file(missing, to, 0644), -1);
	ck_assert_int_eq(copy_file(from, nodir, 0644), -1);
	ck_assert(!exists(nodir));
	umask(old);
	free(missing);
	free(nodir);
	free(to2);
	free(data);
	free(from);
	free(to);
	free(link);
}
END_TEST

START_TEST(write_all_and_clock)
{
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(write_all(p[1], "abc", 3), 0);
	char buf[4] = "";
	ck_assert_int_eq(read(p[0], buf, sizeof buf), 3);
	ck_assert_str_eq(buf, "abc");
	close(p[0]);
	/* to a pipe without a reader: an error, not a crash (EPIPE with
	 * SIGPIPE ignored) */
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(write_all(p[1], "x", 1), -1);
	ck_assert_int_eq(errno, EPIPE);
	signal(SIGPIPE, old);
	close(p[1]);

	int64_t a = now_ms(), b = now_ms();
	ck_assert_int_ge(b, a);
	ck_assert_int_gt(a, 0);
}
END_TEST

/* One UTF-8 decoder for every writer that must tell text from bytes. */
START_TEST(utf8_decode_cases)
{
	static const struct {
		const char *bytes;
		size_t n, len;
		uint32_t cp;
	} cases[] = {
		{ "A", SIZE_MAX, 1, 0x41 },
		{ "\xc3\xa9", SIZE_MAX, 2, 0xe9 },
		{ "\xe2\x82\xac", SIZE_MAX, 3, 0x20ac },
		{ "\xf4\x8f\xbf\xbf", SIZE_MAX, 4, 0x10ffff },
		{ "\xef\xbf\xbe", SIZE_MAX, 3, 0xfffe }, /* valid UTF-8; XML writers escape it themselves */
		{ "\xc0\x80", SIZE_MAX, 0, 0 },         /* overlong NUL */
		{ "\xe0\x80\xaf", SIZE_MAX, 0, 0 },     /* overlong '/' */
		{ "\xed\xa0\x80", SIZE_MAX, 0, 0 },     /* a surrogate */
		{ "\xf4\x90\x80\x80", SIZE_MAX, 0, 0 }, /* past U+10FFFF */
		{ "\xe2\x82", SIZE_MAX, 0, 0 },         /* cut short by the NUL */
		{ "\xe2\x82\xac", 2, 0, 0 },           /* cut short by the bound */
		{ "\x80", SIZE_MAX, 0, 0 },              /* a lone continuation byte */
		{ "\xff", SIZE_MAX, 0, 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint32_t cp = 0;
		size_t len = utf8_decode((const unsigned char *)cases[i].bytes, cases[i].n, &cp);
		ck_assert_msg(len == cases[i].len, "case %zu: length %zu, expected %zu", i, len, cases[i].len);
		if (len)
			ck_assert_msg(cp == cases[i].cp, "case %zu: U+%04X, expected U+%04X", i, (unsigned)cp,
				      (unsigned)cases[i].cp);
	}
}
END_TEST

/* A process of another user, holding a pipe; dumpable or not.  Its pid. */
static pid_t
other_user_with_pipe(int dumpable)
{
	int ready[2], held[2];
	ck_assert_int_eq(pipe(ready), 0);
	pid_t pid = fork();
	if (pid == 0) {
		if (pipe(held) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
			_exit(1);
		prctl(PR_SET_DUMPABLE, dumpable);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	char c;
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	close(ready[0]);
	close(ready[1]);
	return pid;
}

/* Without CAP_SYS_PTRACE (a container's root), the descriptors of a
 * program run as another user are still read (as their owner), and those
 * of a program that hid them are said to be unreadable, never "none". */
START_TEST(fds_of_another_user_without_ptrace)
{
	if (geteuid() != 0)
		return; /* only root can be the grader that reads another user's */
	pid_t open = other_user_with_pipe(1), hidden = other_user_with_pipe(0);
	pid_t t = fork();
	if (t == 0) {
		struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
		struct __user_cap_data_struct d[2];
		if (syscall(SYS_capget, &h, d) < 0)
			_exit(10);
		d[CAP_SYS_PTRACE / 32].effective &= ~(1u << (CAP_SYS_PTRACE % 32));
		d[CAP_SYS_PTRACE / 32].permitted &= ~(1u << (CAP_SYS_PTRACE % 32));
		if (syscall(SYS_capset, &h, d) < 0)
			_exit(11);
		struct fdinfo *f;
		size_t n = fds_list(open, &f), pipes = 0;
		for (size_t i = 0; i < n; i++)
			pipes += f[i].kind == FD_PIPE;
		free(f);
		if (fds_readable(open) != 0 || pipes < 2) /* its pipe, and the ends it inherited */
			_exit(12);
		if (fds_readable(hidden) != -1 || errno != EACCES)
			_exit(13);
		_exit(geteuid() == 0 && access("/proc/self/fd", R_OK) == 0 ? 0 : 14);
	}
	int st;
	ck_assert_int_eq(waitpid(t, &st, 0), t);
	kill(open, SIGKILL);
	kill(hidden, SIGKILL);
	waitpid(open, NULL, 0);
	waitpid(hidden, NULL, 0);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the reader without CAP_SYS_PTRACE failed at step %d",
		      WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}
END_TEST

static Suite *
util_suite(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("strings");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, strbuf_basics);
	tcase_add_test(tc, strbuf_grows);
	tcase_add_test(tc, strvec_basics);
	tcase_add_test(tc, xstrfmt_and_errf);
	tcase_add_loop_test(tc, printable_table, 0, sizeof printable / sizeof *printable);
	tcase_add_test(tc, printable_always_utf8);
	tcase_add_test(tc, utf8_decode_cases);
	tcase_add_test(tc, fds_of_another_user_without_ptrace);
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_add_unchecked_fixture(tc, make_tmpdir, remove_tmpdir);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, read_file_cap);
	tcase_add_test(tc, mkdir_p_and_rm_rf);
	tcase_add_test(tc, copy_file_cases);
	tcase_add_test(tc, write_all_and_clock);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(util_suite());
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
