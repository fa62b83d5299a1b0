/* The link emulator (grader/link.c) through the test runner: the tests of
 * tests/data/link run tests/helpers/linkpeer on two hosts.  One seed gives
 * one schedule, another seed another; what the receiver got is what the
 * schedule says; a link without loss carries everything; TCP gets a byte
 * stream through loss and reordering; a hostile program on a host can
 * neither open the TUN device, sniff, inject, reconfigure the link nor
 * reach anything outside it; without namespaces the test is an error. */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "link.h"
#include "result.h"
#include "runtest.h"
#include "sandbox.h"
#include "spec.h"
#include "util.h"

static char stage[64];
static struct lab_spec spec;
static int have_links = -1;

static void
stage_programs(void)
{
	snprintf(stage, sizeof stage, "/tmp/check-link-XXXXXX");
	if (!mkdtemp(stage) || chmod(stage, 0755) < 0)
		abort();
	char *to = xstrfmt("%s/linkpeer", stage);
	copy_file("build/helpers/linkpeer", to, 0755);
	free(to);
	to = xstrfmt("%s/libipcgrader-linebuf.so", stage);
	copy_file("build/libipcgrader-linebuf.so", to, 0755);
	free(to);
	struct strbuf errors = STRBUF_INIT;
	if (spec_load("tests/data/link", &spec, &errors)) {
		fprintf(stderr, "%s", errors.buf);
		abort();
	}
	sb_release(&errors);
}

static void
unstage_programs(void)
{
	spec_release(&spec);
	rm_rf(stage);
}

static void
run(const char *name, long seed, enum isolation mode, struct graded_test *r)
{
	char *lib = xstrfmt("%s/libipcgrader-linebuf.so", stage);
	struct sandbox_bind binds[] = { { stage, 0 }, { NULL, 0 } };
	struct grade_env env = { .spec = &spec, .bin_dir = stage, .ref_dir = stage, .linebuf = lib,
				 .mode = mode, .binds = binds, .seed = seed };
	memset(r, 0, sizeof *r);
	runtest_run(&env, spec_test(&spec, name), r);
	free(lib);
}

/* The schedule part of a failing test's details (the caller frees). */
static char *
schedule(const struct graded_test *r)
{
	const char *from = strstr(r->details, "the link (seed");
	ck_assert_msg(from, "no schedule in the details:\n%s", r->details);
	const char *end = strstr(from, "(note) this run used seed");
	ck_assert_msg(end, "no seed note:\n%s", r->details);
	return xstrfmt("%.*s", (int)(end - from), from);
}

/* Namespaces and a TUN device here?  Else the cases that need them skip
 * (the no-namespace case still runs). */
static int
links_available(void)
{
	if (have_links < 0) {
		struct sandbox_info info;
		struct stat st;
		have_links = sandbox_probe(&info) == ISOLATION_NAMESPACES && stat("/dev/net/tun", &st) == 0;
		if (!have_links)
			fprintf(stderr, "check_link: no namespaces or no /dev/net/tun here: link cases skipped\n");
	}
	return have_links;
}

static long
number_after(const char *text, const char *label)
{
	const char *at = strstr(text, label);
	ck_assert_msg(at, "\"%s\" not in:\n%s", label, text);
	return strtol(at + strlen(label), NULL, 10);
}

START_TEST(same_seed_same_schedule)
{
	if (!links_available())
		return;
	struct graded_test r1, r2, r3;
	run("one-sender", 5, ISOLATION_NAMESPACES, &r1);
	run("one-sender", 5, ISOLATION_NAMESPACES, &r2);
	run("one-sender", 6, ISOLATION_NAMESPACES, &r3);
	ck_assert_msg(r1.status == ST_FAIL, "%s: %s", status_name(r1.status), r1.message);
	char *s1 = schedule(&r1), *s2 = schedule(&r2), *s3 = schedule(&r3);
	ck_assert_str_eq(s1, s2);
	ck_assert_msg(strcmp(strchr(s1, ')'), strchr(s3, ')')) != 0, "seeds 5 and 6 gave the same schedule:\n%s", s1);
	/* The schedule is the truth: the receiver got 40 - dropped + duplicated. */
	long packets = number_after(s1, "carried "), dropped = number_after(s1, "packets: "),
	     duplicated = number_after(s1, "dropped, ");
	ck_assert_int_eq(packets, 40);
	ck_assert_msg(dropped > 0 && duplicated > 0 && strstr(s1, "held back, carried after packet"),
		      "a schedule without every kind of fault:\n%s", s1);
	ck_assert_int_eq(number_after(r1.details, "| got "), 40 - dropped + duplicated);
	ck_assert_msg(strstr(s1, "\"alice 7\"") || strstr(s1, "\"alice "), "payloads not shown:\n%s", s1);
	ck_assert_msg(strstr(r1.details, "--seed 5"), "no replay hint:\n%s", r1.details);
	free(s1);
	free(s2);
	free(s3);
	graded_test_release(&r1);
	graded_test_release(&r2);
	graded_test_release(&r3);
}
END_TEST

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Each line of a schedule without packet numbers, sorted: what happened to
 * which datagram, whatever the interleaving of the senders. */
static char *
fates(const char *s)
{
	struct strvec lines = STRVEC_INIT;
	const char *line = strchr(s, '\n');
	for (line = line ? line + 1 : ""; *line;) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		const char *comma = memchr(line, ',', len), *colon = NULL;
		for (const char *p = line; p < line + len; p++)
			if (*p == ':')
				colon = p;
		/* "packet 12, a -> b, ... "alice 3": held back, carried after packet 14":
		 * all but the packet numbers, which depend on the interleaving */
		if (comma && colon) {
			const char *fate_end = memchr(colon, ',', (size_t)(line + len - colon));
			sv_pushf(&lines, "%.*s", (int)((fate_end ? fate_end : line + len) - comma), comma);
		}
		line += len + (end != NULL);
	}
	qsort(lines.v, lines.n, sizeof *lines.v, cmp_str);
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < lines.n; i++)
		sb_addf(&sb, "%s\n", lines.v[i]);
	sv_clear(&lines);
	return sb_detach(&sb);
}

START_TEST(fates_do_not_depend_on_interleaving)
{
	if (!links_available())
		return;
	struct graded_test r1, r2;
	run("two-senders", 9, ISOLATION_NAMESPACES, &r1);
	run("two-senders", 9, ISOLATION_NAMESPACES, &r2);
	ck_assert_msg(r1.status == ST_FAIL, "%s: %s", status_name(r1.status), r1.message);
	char *s1 = schedule(&r1), *s2 = schedule(&r2);
	char *f1 = fates(s1), *f2 = fates(s2);
	ck_assert_str_eq(f1, f2);
	ck_assert_msg(strstr(f1, "alice") && strstr(f1, "bob"), "%s", s1);
	free(f1);
	free(f2);
	free(s1);
	free(s2);
	graded_test_release(&r1);
	graded_test_release(&r2);
}
END_TEST

START_TEST(no_loss_carries_everything)
{
	if (!links_available())
		return;
	struct graded_test r;
	run("no-loss", 3, ISOLATION_NAMESPACES, &r);
	ck_assert_msg(r.status == ST_PASS, "%s: %s\n%s", status_name(r.status), r.message, r.details);
	graded_test_release(&r);
}
END_TEST

START_TEST(tcp_through_a_lossy_link)
{
	if (!links_available())
		return;
	for (long seed = 1; seed <= 3; seed++) {
		struct graded_test r;
		run("tcp-lossy", seed, ISOLATION_NAMESPACES, &r);
		ck_assert_msg(r.status == ST_PASS, "seed %ld: %s: %s\n%s", seed, status_name(r.status), r.message, r.details);
		graded_test_release(&r);
	}
}
END_TEST

START_TEST(hostile_program_on_a_host)
{
	if (!links_available())
		return;
	struct graded_test r;
	run("attack", 1, ISOLATION_NAMESPACES, &r);
	ck_assert_msg(r.status == ST_PASS, "%s: %s\n%s", status_name(r.status), r.message, r.details);
	graded_test_release(&r);
}
END_TEST

START_TEST(unknown_address_and_flood)
{
	if (!links_available())
		return;
	struct graded_test r;
	run("no-such-host", 1, ISOLATION_NAMESPACES, &r);
	ck_assert_msg(r.status == ST_FAIL && strstr(r.message, "never printed"), "%s: %s", status_name(r.status), r.message);
	int n = 0;
	for (const char *line = r.details; line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		size_t len = strcspn(line, "\n");
		char *one = xstrfmt("%.*s", (int)len, line);
		n += strstr(one, "a -> nobody, UDP port 2001, 9 bytes \"mallory ") && strstr(one, "to an address no host has, dropped");
		free(one);
	}
	ck_assert_msg(n == 5, "%d of 5 datagrams to 10.0.0.9 said dropped:\n%s", n, r.details);
	graded_test_release(&r);
}
END_TEST

START_TEST(without_namespaces_an_error)
{
	struct graded_test r;
	run("no-loss", 1, ISOLATION_NONE, &r);
	ck_assert_msg(r.status == ST_ERROR, "%s: %s", status_name(r.status), r.message);
	ck_assert_msg(strstr(r.message, "needs the sandbox's namespaces") && strstr(r.message, "not the program's fault"),
		      "%s", r.message);
	graded_test_release(&r);
}
END_TEST

/* A sandbox without /dev/net/tun (a container run without --device
 * /dev/net/tun): making hosts fails with a reason that names the remedy. */
static void
hosts_without_tun(void *arg, int report_fd)
{
	(void)arg;
	char *names[] = { "a", "b" }, err[512] = "";
	struct link_faults f = { 0, 0, 0, 0 };
	struct link *l;
	int rc = link_start(&l, names, 2, &f, 1, err, sizeof err);
	dprintf(report_fd, "%d %s", rc, err);
	link_free(l);
}

START_TEST(no_tun_device_says_which_flag)
{
	if (!links_available())
		return;
	struct sandbox_config cfg = { .mode = ISOLATION_NAMESPACES, .deadline_ms = 10000, .tun = 0 };
	struct strbuf rep = STRBUF_INIT;
	char err[256];
	ck_assert_int_eq(sandbox_run(&cfg, hosts_without_tun, NULL, &rep, NULL, err, sizeof err), 0);
	ck_assert_msg(rep.buf && !strncmp(rep.buf, "-1 cannot open /dev/net/tun", 27) && strstr(rep.buf, "--device /dev/net/tun"),
		      "%s", rep.buf ? rep.buf : "(nothing)");
	sb_release(&rep);
}
END_TEST

/* The schedule itself: a function of its inputs only, close to the
 * probabilities asked for. */
START_TEST(decisions_are_a_function)
{
	struct link_faults f = { 0.1, 0.05, 0.1, 0 };
	int counts[LINK_DELIVERED + 1] = { 0 };
	for (uint32_t i = 0; i < 20000; i++) {
		uint64_t h = link_hash(&i, sizeof i, 17);
		enum link_fate a = link_decide(42, &f, 0, 1, h, i % 3);
		ck_assert_int_eq(a, link_decide(42, &f, 0, 1, h, i % 3));
		counts[a]++;
	}
	ck_assert_msg(counts[LINK_DROP] > 1800 && counts[LINK_DROP] < 2200, "drops: %d", counts[LINK_DROP]);
	ck_assert_msg(counts[LINK_DUPLICATE] > 750 && counts[LINK_DUPLICATE] < 1050, "dups: %d", counts[LINK_DUPLICATE]);
	struct link_faults none = { 0, 0, 0, 0 };
	ck_assert_int_eq(link_decide(1, &none, 0, 1, 5, 0), LINK_PASS);
}
END_TEST

static Suite *
link_suite(void)
{
	Suite *s = suite_create("link");
	TCase *tc = tcase_create("link");
	tcase_add_unchecked_fixture(tc, stage_programs, unstage_programs);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, decisions_are_a_function);
	tcase_add_test(tc, same_seed_same_schedule);
	tcase_add_test(tc, fates_do_not_depend_on_interleaving);
	tcase_add_test(tc, no_loss_carries_everything);
	tcase_add_test(tc, tcp_through_a_lossy_link);
	tcase_add_test(tc, hostile_program_on_a_host);
	tcase_add_test(tc, unknown_address_and_flood);
	tcase_add_test(tc, without_namespaces_an_error);
	tcase_add_test(tc, no_tun_device_says_which_flag);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(link_suite());
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
