/* spec_load(): good lab specs give the structure labs/README.md describes,
 * with its defaults; bad ones give every problem at its place, as
 * "file:line:column: message", and spec_load() returns how many there are.
 *
 * Each case is written to its own file (mkstemp) in a folder the test case
 * creates and removes (an unchecked fixture, so it goes even when a test
 * fails). */
#define _GNU_SOURCE
#include <check.h>
#include <signal.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spec.h"
#include "util.h"

static char tmpdir[] = "/tmp/check-spec-XXXXXX";

static void
make_tmpdir(void)
{
	if (!mkdtemp(tmpdir))
		abort();
}

static void
remove_tmpdir(void)
{
	rm_rf(tmpdir);
}

/* Writes len bytes of text to a new file in tmpdir; returns its path. */
static char *
write_spec(const char *text, size_t len)
{
	char *path = xstrfmt("%s/lab-XXXXXX", tmpdir);
	int fd = mkstemp(path);
	ck_assert_msg(fd >= 0, "mkstemp: %s", strerror(errno));
	ck_assert_int_eq(write_all(fd, text, len), 0);
	ck_assert_int_eq(close(fd), 0);
	return path;
}

static size_t
count_lines(const char *s)
{
	size_t n = 0;
	for (; s && *s; s++)
		n += *s == '\n';
	return n;
}

/* The lab-wide part most cases share: lines 1 to 10; a case's tests start
 * on line 11. */
#define HEAD                                                                                                   \
	"lab: demo\n"               /*  1 */                                                                   \
	"title: Demo lab\n"         /*  2 */                                                                   \
	"submission:\n"             /*  3 */                                                                   \
	"  files: [a.c, b.c]\n"     /*  4 */                                                                   \
	"build:\n"                  /*  5 */                                                                   \
	"  programs:\n"             /*  6 */                                                                   \
	"    prog: [a.c]\n"         /*  7 */                                                                   \
	"references:\n"             /*  8 */                                                                   \
	"  srv: tcp_hello_server\n" /*  9 */                                                                   \
	"tests:\n"                  /* 10 */

/* A whole valid test on lines 11 to 14. */
#define T1                                                                                                     \
	"  - name: t1\n"      /* 11 */                                                                         \
	"    points: 1\n"     /* 12 */                                                                         \
	"    steps:\n"        /* 13 */                                                                         \
	"      - run: prog\n" /* 14 */

/* ---- good specs ------------------------------------------------------ */

static void
check_units_parsed(const struct lab_spec *s)
{
	const struct test_spec *t = &s->tests[0];
	ck_assert_uint_eq(t->nsteps, 5);
	ck_assert_int_eq(t->steps[2].kind, STEP_CHECK);
	ck_assert_str_eq(t->steps[2].check.unit->name, "cpu-while-blocked");
	ck_assert_int_eq(t->steps[3].kind, STEP_CHECK);
	ck_assert_str_eq(t->steps[3].check.unit->name, "fds");
	ck_assert_uint_eq(t->steps[3].check.nids, 1);
	ck_assert_str_eq(t->steps[3].check.ids[0], "prog");
	ck_assert_uint_eq(t->nchecks, 3);
	ck_assert_str_eq(t->checks[0].unit->name, "sequence");
	ck_assert_str_eq(t->checks[0].ids[0], "srv#2");
	ck_assert_int_eq((int)t->checks[0].where, CHECK_AT_END);
	ck_assert_str_eq(t->checks[1].unit->name, "cleanup");
	ck_assert_str_eq(t->checks[2].unit->name, "reaping");
	ck_assert_str_eq(step_kind_name(STEP_CHECK), "check");
}

static void
check_minimal(const struct lab_spec *s)
{
	ck_assert_str_eq(s->name, "demo");
	ck_assert_str_eq(s->title, "Demo lab");
	ck_assert_uint_eq(s->nfiles, 2);
	ck_assert_str_eq(s->files[0], "a.c");
	ck_assert_str_eq(s->files[1], "b.c");
	ck_assert_uint_eq(s->nprograms, 1);
	ck_assert_str_eq(s->programs[0].name, "prog");
	ck_assert_uint_eq(s->programs[0].nsources, 1);
	ck_assert_str_eq(s->programs[0].sources[0], "a.c");
	ck_assert_uint_eq(s->nrefs, 1);
	ck_assert_str_eq(s->refs[0].name, "srv");
	ck_assert_str_eq(s->refs[0].binary, "tcp_hello_server");
	ck_assert_uint_eq(s->ntests, 1);
	const struct test_spec *t = &s->tests[0];
	ck_assert_str_eq(t->name, "t1");
	ck_assert_int_eq(t->points, 1);
	ck_assert_uint_eq(t->nsteps, 1);
	ck_assert_int_eq(t->steps[0].kind, STEP_RUN);
	ck_assert_str_eq(t->steps[0].program, "prog");
	ck_assert_int_eq(t->steps[0].is_ref, 0);
	ck_assert_uint_eq(t->steps[0].line, 14);
	ck_assert_uint_eq(t->steps[0].col, 9);
}

static void
check_defaults(const struct lab_spec *s)
{
	const struct limits def = { .wall_ms = 10000, .step_ms = 5000, .cpu_ms = 5000, .processes = 64,
				    .memory_mb = 512, .output_kb = 64, .file_size_kb = 4096, .open_files = 256,
				    .test_memory_mb = 1024 };
	ck_assert_mem_eq(&s->limits, &def, sizeof def);
	ck_assert_uint_eq(s->ncflags, 4);
	ck_assert_str_eq(s->cflags[0], "-std=c11");
	ck_assert_str_eq(s->cflags[1], "-Wall");
	ck_assert_str_eq(s->cflags[2], "-Wextra");
	ck_assert_str_eq(s->cflags[3], "-g");
	ck_assert_uint_eq(s->nldflags, 0);
	const struct test_spec *t = &s->tests[0];
	ck_assert_ptr_null(t->description);
	ck_assert_int_eq(t->visible, 1);
	ck_assert_int_eq(t->leftovers_fail, 1);
	ck_assert_int_eq(t->memcheck, MEMCHECK_NONE);
	ck_assert_mem_eq(&t->limits, &def, sizeof def);
	ck_assert_uint_eq(t->nsteps, 2);
	const struct step *run = &t->steps[0], *ref = &t->steps[1];
	/* the id defaults to the program's name */
	ck_assert_str_eq(run->id, "prog");
	ck_assert_int_eq(run->memcheck, MEMCHECK_INHERIT);
	ck_assert_int_eq(run->repeat, 1);
	ck_assert_int_eq(run->ready.kind, READY_NONE);
	ck_assert_uint_eq(run->nargs, 0);
	ck_assert_uint_eq(run->nenv, 0);
	ck_assert_ptr_null(run->stdin_text);
	ck_assert_int_eq(run->expect.has_exit, 0);
	ck_assert_int_eq(run->expect.has_signal, 0);
	ck_assert_int_eq(run->expect.out.present, 0);
	ck_assert_int_eq(run->expect.err.present, 0);
	/* "ref:" names a reference; the prefix is not part of the name or id */
	ck_assert_int_eq(ref->kind, STEP_START);
	ck_assert_int_eq(ref->is_ref, 1);
	ck_assert_str_eq(ref->program, "srv");
	ck_assert_str_eq(ref->id, "srv");
}

static void
check_limits_inherited(const struct lab_spec *s)
{
	ck_assert_int_eq(s->limits.wall_ms, 3000);
	ck_assert_int_eq(s->limits.open_files, 99);
	ck_assert_int_eq(s->limits.step_ms, 5000);
	const struct limits *l = &s->tests[0].limits;
	ck_assert_int_eq(l->wall_ms, 3000); /* from the lab */
	ck_assert_int_eq(l->open_files, 99);
	ck_assert_int_eq(l->step_ms, 700); /* the test's own */
	ck_assert_int_eq(l->cpu_ms, 5000); /* the default */
	ck_assert_int_eq(s->tests[1].limits.step_ms, 5000);
}

static void
check_every_key(const struct lab_spec *s)
{
	ck_assert_uint_eq(s->ncflags, 2);
	ck_assert_str_eq(s->cflags[0], "-O0");
	ck_assert_str_eq(s->cflags[1], "-DX=1");
	ck_assert_uint_eq(s->nldflags, 1); /* a lone scalar is a list of one */
	ck_assert_str_eq(s->ldflags[0], "-lrt");
	ck_assert_uint_eq(s->nprograms, 2);
	ck_assert_uint_eq(s->programs[0].nsources, 2);
	ck_assert_str_eq(s->programs[0].sources[1], "common.c");
	ck_assert_uint_eq(s->programs[1].nsources, 1);
	ck_assert_str_eq(s->programs[1].sources[0], "client.c");
	ck_assert_uint_eq(s->nrefs, 2);
	const struct limits lab = { 9000, 900, 800, 7, 100, 16, 32, 20, 1024 };
	ck_assert_mem_eq(&s->limits, &lab, sizeof lab);

	const struct test_spec *t = &s->tests[0];
	ck_assert_str_eq(t->description, "uses every step kind");
	ck_assert_int_eq(t->points, 3);
	ck_assert_int_eq(t->visible, 0);
	ck_assert_int_eq(t->memcheck, MEMCHECK_VALGRIND);
	ck_assert_int_eq(t->leftovers_fail, 0);
	ck_assert_int_eq(t->limits.wall_ms, 4000);
	ck_assert_int_eq(t->limits.open_files, 10);
	ck_assert_int_eq(t->limits.step_ms, 900);
	ck_assert_uint_eq(t->nsteps, 9);

	const struct step *st = &t->steps[0];
	ck_assert_int_eq(st->kind, STEP_START);
	ck_assert_str_eq(st->program, "server");
	ck_assert_str_eq(st->id, "srv");
	ck_assert_uint_eq(st->nargs, 2);
	ck_assert_str_eq(st->args[0], "-p");
	ck_assert_str_eq(st->args[1], "2021");
	ck_assert_uint_eq(st->nenv, 2);
	ck_assert_str_eq(st->env[0].key, "GREETING");
	ck_assert_str_eq(st->env[0].value, "hi");
	ck_assert_str_eq(st->env[1].key, "EMPTY");
	ck_assert_str_eq(st->env[1].value, "");
	ck_assert_str_eq(st->stdin_text, "input\n");
	ck_assert_int_eq(st->ready.kind, READY_TCP);
	ck_assert_int_eq(st->ready.port, 2021);
	ck_assert_int_eq(st->memcheck, MEMCHECK_ASAN);
	ck_assert_int_eq(st->expect.has_signal, 1);
	ck_assert_int_eq(st->expect.signal, 15);
	ck_assert_int_eq(st->expect.has_exit, 0);
	const struct matcher *m = &st->expect.out;
	ck_assert_int_eq(m->present, 1);
	ck_assert_str_eq(m->exact, "hello\n");
	ck_assert_str_eq(m->contains, "hel");
	ck_assert_str_eq(m->regex, "^h");
	ck_assert_int_eq(m->has_lines, 1);
	ck_assert_uint_eq(m->nlines, 2);
	ck_assert_str_eq(m->lines[0], "hello");
	ck_assert_str_eq(m->lines[1], "again");
	ck_assert_str_eq(m->not_contains, "bye");
	ck_assert_int_eq(st->expect.err.present, 1);
	ck_assert_str_eq(st->expect.err.contains, "warn");
	ck_assert_ptr_null(st->expect.err.exact);

	ck_assert_int_eq(t->steps[1].is_ref, 1);
	ck_assert_str_eq(t->steps[1].program, "rserver");
	ck_assert_int_eq(t->steps[1].ready.kind, READY_UDP);
	ck_assert_int_eq(t->steps[1].ready.port, 5000);
	ck_assert_int_eq(t->steps[2].ready.kind, READY_UNIX);
	ck_assert_str_eq(t->steps[2].ready.text, "/tmp/sock");
	ck_assert_int_eq(t->steps[3].ready.kind, READY_PATH);
	ck_assert_str_eq(t->steps[3].ready.text, "/dev/shm/x");
	ck_assert_int_eq(t->steps[4].ready.kind, READY_STDOUT);
	ck_assert_str_eq(t->steps[4].ready.text, "^ready$");
	ck_assert_int_eq(t->steps[4].expect.signal, 9); /* a number works too */

	const struct step *run = &t->steps[5];
	ck_assert_int_eq(run->kind, STEP_RUN);
	ck_assert_int_eq(run->is_ref, 1);
	ck_assert_str_eq(run->id, "rclient");
	ck_assert_int_eq(run->repeat, 3);
	ck_assert_uint_eq(run->nargs, 1);
	ck_assert_str_eq(run->args[0], "127.0.0.1");
	ck_assert_int_eq(run->expect.has_exit, 1);
	ck_assert_int_eq(run->expect.exit_code, 0);

	static const enum step_kind kinds[] = { STEP_ALIVE, STEP_WAIT, STEP_STOP };
	static const char *const ids[] = { "srv", "c2", "c3" };
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(t->steps[6 + i].kind, kinds[i]);
		ck_assert_str_eq(t->steps[6 + i].id, ids[i]);
		ck_assert_ptr_null(t->steps[6 + i].program);
	}
	ck_assert_str_eq(step_kind_name(STEP_WAIT), "wait");
	ck_assert_int_eq(s->tests[1].steps[0].expect.signal, 15); /* "TERM" without SIG */
}

static void
check_hosts(const struct lab_spec *s)
{
	const struct test_spec *t = &s->tests[0];
	ck_assert_uint_eq(t->nhosts, 2);
	ck_assert_str_eq(t->hosts[0], "sender");
	ck_assert_str_eq(t->hosts[1], "receiver");
	ck_assert(t->link.loss == 0.1 && t->link.duplicate == 0.05 && t->link.reorder == 0 && t->link.delay_ms == 2);
	ck_assert_int_eq(t->steps[0].host, 1); /* on: receiver */
	ck_assert_int_eq(t->steps[1].host, 0); /* the first host by default */
	ck_assert_int_eq(t->steps[2].host, -1); /* a stop step runs nothing */
	ck_assert_int_eq(s->tests[1].steps[0].host, -1); /* a test without hosts */
}

static void
check_sockets_parsed(const struct lab_spec *s)
{
	const struct test_spec *t = &s->tests[0];
	ck_assert_uint_eq(t->nsteps, 4);
	ck_assert_int_eq(t->steps[1].kind, STEP_CHECK);
	ck_assert_str_eq(t->steps[1].check.unit->name, "sockets");
	ck_assert_str_eq(t->steps[1].check.ids[0], "prog");
	ck_assert_int_eq(t->steps[2].kind, STEP_SIGNAL);
	ck_assert_int_eq(t->steps[2].signo, SIGUSR1);
	ck_assert_str_eq(t->steps[2].id, "prog");
	ck_assert_str_eq(step_kind_name(t->steps[2].kind), "signal");
	ck_assert_int_eq(t->steps[3].kind, STEP_CHECK);
}

static const struct good_case {
	const char *name, *yaml;
	void (*check)(const struct lab_spec *);
} good[] = {
	{ "minimal", HEAD T1, check_minimal },
	{ "hosts and a link",
	  HEAD "  - name: t1\n"
	       "    points: 1\n"
	       "    hosts: [sender, receiver]\n"
	       "    link: {loss: 0.1, duplicate: 0.05, delay_ms: 2}\n"
	       "    steps:\n"
	       "      - start: ref:srv\n"
	       "        on: receiver\n"
	       "        args: ['{host:receiver}', 'x{host:sender}y']\n"
	       "      - run: prog\n"
	       "      - stop: srv\n"
	       "  - {name: t2, points: 1, steps: [{run: prog}]}\n",
	  check_hosts },
	{ "defaults",
	  HEAD T1 "      - start: ref:srv\n", check_defaults },
	{ "check units",
	  HEAD "  - name: t1\n"
	       "    points: 1\n"
	       "    steps:\n"
	       "      - start: prog\n"
	       "      - run: ref:srv\n"
	       "        repeat: 2\n"
	       "      - {check: cpu-while-blocked, of: prog, pause: srv#2, after: '^x', window_ms: 100, max_percent: 5}\n"
	       "      - {check: fds, of: prog, tree: true, max_sockets: 1, max_pipes: 0, max_fds: 9, pipe_ends: one}\n"
	       "      - {check: reaping, of: prog}\n"
	       "    checks:\n"
	       "      - {check: sequence, of: 'srv#2', stream: stderr, binary: {record: 16, offset: 8, size: 4}, first: 0, count: 5}\n"
	       "      - {check: cleanup, allow: [/dev/shm/x, 'sock*']}\n"
	       "      - {check: reaping}\n",
	  check_units_parsed },
	{ "sockets unit and signal step",
	  HEAD "  - name: t1\n"
	       "    points: 1\n"
	       "    steps:\n"
	       "      - start: prog\n"
	       "      - check: sockets\n"
	       "        of: prog\n"
	       "        tree: true\n"
	       "        listening: {port: 2021, backlog: 5}\n"
	       "        accept_queue: {min: 1, max: 6}\n"
	       "        established: {port: 2021, count: 0}\n"
	       "      - signal: prog\n"
	       "        with: SIGUSR1\n"
	       "      - {check: sockets, of: prog, listening: {port: 2021}, accept_queue: 0}\n",
	  check_sockets_parsed },
	{ "limits inherited",
	  HEAD "  - name: t1\n"
	       "    points: 0\n"
	       "    limits: {step_ms: 700}\n"
	       "    steps: [{run: prog}]\n"
	       "  - name: t2\n"
	       "    points: 0\n"
	       "    steps: [{run: prog}]\n"
	       "limits:\n"
	       "  wall_ms: 3000\n"
	       "  open_files: 99\n",
	  check_limits_inherited },
	{ "every key",
	  "lab: all-keys\n"
	  "title: Every key\n"
	  "submission:\n"
	  "  files: [server.c, client.c, common.c]\n"
	  "build:\n"
	  "  cflags: [-O0, -DX=1]\n"
	  "  ldflags: -lrt\n"
	  "  programs:\n"
	  "    server: [server.c, common.c]\n"
	  "    client: client.c\n"
	  "references:\n"
	  "  rserver: tcp_hello_server\n"
	  "  rclient: tcp_hello_client\n"
	  "limits:\n"
	  "  wall_ms: 9000\n"
	  "  step_ms: 900\n"
	  "  cpu_ms: 800\n"
	  "  processes: 7\n"
	  "  memory_mb: 100\n"
	  "  output_kb: 16\n"
	  "  file_size_kb: 32\n"
	  "  open_files: 20\n"
	  "tests:\n"
	  "  - name: every-step_kind\n"
	  "    description: uses every step kind\n"
	  "    points: 3\n"
	  "    visible: false\n"
	  "    memcheck: valgrind\n"
	  "    leftovers: ignore\n"
	  "    limits: {wall_ms: 4000, open_files: 10}\n"
	  "    steps:\n"
	  "      - start: server\n"
	  "        as: srv\n"
	  "        args: [-p, \"2021\"]\n"
	  "        env: {GREETING: hi, EMPTY: \"\"}\n"
	  "        stdin: \"input\\n\"\n"
	  "        ready: {tcp: 2021}\n"
	  "        memcheck: asan\n"
	  "        expect:\n"
	  "          signal: SIGTERM\n"
	  "          stdout: {exact: \"hello\\n\", contains: hel, regex: '^h', lines: [hello, again], not_contains: bye}\n"
	  "          stderr: {contains: warn}\n"
	  "      - start: ref:rserver\n"
	  "        ready: {udp: 5000}\n"
	  "      - start: client\n"
	  "        as: c2\n"
	  "        ready: {unix: /tmp/sock}\n"
	  "      - start: client\n"
	  "        as: c3\n"
	  "        ready: {path: /dev/shm/x}\n"
	  "      - start: client\n"
	  "        as: c4\n"
	  "        ready: {stdout: '^ready$'}\n"
	  "        expect: {signal: 9}\n"
	  "      - run: ref:rclient\n"
	  "        repeat: 3\n"
	  "        args: 127.0.0.1\n"
	  "        expect: {exit: 0}\n"
	  "      - alive: srv\n"
	  "      - wait: c2\n"
	  "      - stop: c3\n"
	  "  - name: t2\n"
	  "    points: 0\n"
	  "    steps:\n"
	  "      - start: server\n"
	  "        expect: {signal: TERM}\n",
	  check_every_key },
};

START_TEST(good_spec)
{
	const struct good_case *c = &good[_i];
	char *path = write_spec(c->yaml, strlen(c->yaml));
	struct lab_spec spec;
	struct strbuf errors = STRBUF_INIT;
	int n = spec_load(path, &spec, &errors);
	ck_assert_msg(n == 0, "%s: %d problems:\n%s", c->name, n, errors.buf ? errors.buf : "");
	ck_assert_uint_eq(errors.len, 0);
	ck_assert_str_eq(spec.file, path);
	ck_assert_str_eq(spec.dir, tmpdir);
	c->check(&spec);
	spec_release(&spec);
	sb_release(&errors);
	free(path);
}
END_TEST

/* ---- bad specs ------------------------------------------------------- */

static char *
nested(int levels)
{
	struct strbuf sb = STRBUF_INIT;
	for (int i = 0; i < levels; i++)
		sb_adds(&sb, "[");
	for (int i = 0; i < levels; i++)
		sb_adds(&sb, "]");
	sb_adds(&sb, "\n");
	return sb_detach(&sb);
}

static char *
nested_64(void)
{
	return nested(64);
}

static char *
nested_65(void)
{
	return nested(65);
}

static char *
nested_100000(void)
{
	return nested(100000);
}

static const struct bad_case {
	const char *name;
	const char *yaml;
	char *(*gen)(void); /* makes the YAML when yaml is NULL */
	int nproblems;
	const char *problems[4]; /* "line:column: message" prefixes, in order */
} bad[] = {
	{ "unknown key at the top", HEAD T1 "colour: red\n", NULL, 1,
	  { "15:1: unknown key \"colour\" in the lab spec (expected one of: lab, title, submission, build, references, limits, tests)" } },
	{ "unknown key in a test",
	  HEAD "  - name: t1\n"
	       "    points: 1\n"
	       "    timeout: 3\n"
	       "    steps:\n"
	       "      - run: prog\n",
	  NULL, 1, { "13:5: unknown key \"timeout\" in a test (expected one of: name, description," } },
	{ "judge",
	  HEAD "  - name: t1\n"
	       "    points: 1\n"
	       "    judge: memory\n"
	       "    steps:\n"
	       "      - run: prog\n"
	       "  - name: t2\n"
	       "    points: 1\n"
	       "    memcheck: asan\n"
	       "    judge: bytes\n"
	       "    steps:\n"
	       "      - run: prog\n",
	  NULL, 2,
	  { "13:12: judge: memory needs memcheck: valgrind or asan in the same test",
	    "19:12: judge must be memory or all, not \"bytes\"" } },
	{ "unknown key in a step", HEAD T1 "        argv: [x]\n", NULL, 1,
	  { "15:9: unknown key \"argv\" in a step (expected one of: start, run," } },
	{ "provided files",
	  "lab: demo\n"
	  "title: Demo lab\n"
	  "submission:\n"
	  "  files: [a.c]\n"
	  "build:\n"
	  "  provided: [a.c, ../x.h, nope.h]\n"
	  "  programs:\n"
	  "    prog: [a.c, nope.h]\n"
	  "tests:\n" T1,
	  NULL, 3,
	  { "6:13: \"a.c\" is both provided by the lab and handed in", "6:13: provided file \"../x.h\" must be a plain file name",
	    "6:13: provided file \"nope.h\" is not in " } },
	{ "unknown check", HEAD T1 "      - check: telepathy\n", NULL, 1,
	  { "15:16: unknown check \"telepathy\" (expected one of: sequence, cleanup, fds, cpu-while-blocked, reaping" } },
	{ "end check as a step", HEAD T1 "      - check: sequence\n", NULL, 1,
	  { "15:16: check \"sequence\" runs after the test: put it in the test's checks list" } },
	{ "step check in checks", HEAD T1 "    checks:\n      - check: fds\n        of: prog\n", NULL, 1,
	  { "16:16: check \"fds\" runs at a moment of the test: make it a step" } },
	{ "a check's own keys",
	  HEAD T1 "    checks:\n"
	          "      - check: sequence\n"
	          "        of: prog\n"
	          "        lines: '^item [0-9]+$'\n"
	          "        count: 0\n"
	          "        colour: red\n",
	  NULL, 3,
	  { "18:16: lines needs a group around the number", "19:16: count must be a whole number from 1 to",
	    "20:9: unknown key \"colour\" in check \"sequence\" (expected one of: of, stream, lines, binary, first, count)" } },
	{ "a check names an unknown process",
	  HEAD T1 "      - check: cpu-while-blocked\n"
	          "        of: server\n",
	  NULL, 1, { "15:9: check \"cpu-while-blocked\" names \"server\", no process started earlier in a step of test \"t1\"" } },
	{ "a step check before its process",
	  HEAD "  - name: t1\n"
	       "    points: 1\n"
	       "    steps:\n"
	       "      - check: reaping\n"
	       "      - start: prog\n",
	  NULL, 1, { "14:9: check \"reaping\" as a step needs of:" } },
	{ "sockets without of", HEAD T1 "      - check: sockets\n", NULL, 1,
	  { "15:9: check \"sockets\" needs of: the process whose sockets are looked at" } },
	{ "sockets with nothing to check", HEAD T1 "      - {check: sockets, of: prog, tree: true}\n", NULL, 1,
	  { "15:9: check \"sockets\" needs something to check: listening, accept_queue or established" } },
	{ "sockets accept_queue without listening",
	  HEAD T1 "      - {check: sockets, of: prog, accept_queue: {min: 7, max: 6}}\n", NULL, 2,
	  { "15:50: accept_queue: min 7 is more than max 6", "15:36: accept_queue needs listening: {port: N}" } },
	{ "sockets listening and established incomplete",
	  HEAD T1 "      - check: sockets\n"
	          "        of: prog\n"
	          "        listening: {backlog: 5}\n"
	          "        established: {port: 70000, count: {max: 1, most: 2}}\n",
	  NULL, 4,
	  { "17:20: listening needs port: the TCP port", "18:29: port must be a whole number from 1 to 65535",
	    "18:52: unknown key \"most\" in count", "18:22: established needs port:" } },
	{ "signal step without with",
	  HEAD "  - name: t1\n"
	       "    points: 1\n"
	       "    steps:\n"
	       "      - start: prog\n"
	       "      - signal: prog\n",
	  NULL, 1, { "15:9: a signal step needs with: the signal to send" } },
	{ "with on a stop step, an unknown signal, an unknown process",
	  HEAD "  - name: t1\n"
	       "    points: 1\n"
	       "    steps:\n"
	       "      - start: prog\n"
	       "      - {stop: prog, with: SIGUSR1}\n"
	       "      - {signal: prog, with: SIGFOO}\n"
	       "      - {signal: server, with: 10}\n",
	  NULL, 3,
	  { "15:22: \"with\" applies only to a signal step", "16:30: unknown signal \"SIGFOO\"",
	    "17:9: \"signal: server\" names no process started earlier in test \"t1\"" } },
	{ "processes: of and something to check", HEAD T1 "      - {check: processes}\n", NULL, 2,
	  { "15:9: check \"processes\" needs of: the server", "15:9: check \"processes\" needs something to check: children, accepting, connections or fds" } },
	{ "processes: its keys' values",
	  HEAD "  - name: t1\n"
	       "    points: 1\n"
	       "    steps:\n"
	       "      - start: prog\n"
	       "      - check: processes\n"
	       "        of: prog\n"
	       "        children: -1\n"
	       "        accepting: children\n"
	       "        connections: parent\n"
	       "        fds: fewer\n"
	       "        zombies: 0\n",
	  NULL, 5,
	  { "17:19: children must be a whole number from 0 to 1000", "18:20: accepting must be parent (only the parent waits in accept()), not \"children\"",
	    "19:22: connections must be children (the parent closes each connected socket after fork()), not \"parent\"",
	    "20:14: fds must be baseline (note the parent's descriptors now) or not_grown (no more than at the baseline), not \"fewer\"" } },
	{ "processes after the test", HEAD T1 "    checks:\n      - {check: processes, of: prog, children: 1}\n", NULL, 1,
	  { "16:17: check \"processes\" runs at a moment of the test: make it a step" } },
	{ "concurrency: of, within_ms, while",
	  HEAD "  - name: t1\n"
	       "    points: 1\n"
	       "    steps:\n"
	       "      - start: prog\n"
	       "      - {check: concurrency, within_ms: 0, while: []}\n",
	  NULL, 3,
	  { "15:41: within_ms must be a whole number from 10 to 5000, not \"0\"", "15:51: while must name from 1 to 16 processes",
	    "15:9: check \"concurrency\" needs of: the client that must be served (started just before, without ready)" } },
	{ "concurrency: while names an unknown process",
	  HEAD "  - name: t1\n"
	       "    points: 1\n"
	       "    steps:\n"
	       "      - start: prog\n"
	       "      - {check: concurrency, of: prog, while: [holder]}\n",
	  NULL, 1, { "15:9: check \"concurrency\" names \"holder\", no process started earlier in a step of test \"t1\"" } },
	{ "a check without its name", HEAD T1 "    checks:\n      - of: prog\n", NULL, 1,
	  { "16:9: a check needs \"check: UNIT\"" } },
	{ "a link without hosts", HEAD T1 "    link: {loss: 0.1}\n", NULL, 1,
	  { "15:11: a link joins hosts: list them first, such as hosts: [sender, receiver]" } },
	{ "one host", HEAD T1 "    hosts: [alone]\n", NULL, 1, { "15:12: hosts lists 2 to 4 hosts, not 1" } },
	{ "bad hosts and link",
	  HEAD T1 "    hosts: [a, a, 'B c']\n"
	          "    link: {loss: 1.5, reorder: x, jitter: 3}\n",
	  NULL, 5,
	  { "15:16: host \"a\" is listed twice", "15:19: host name \"B c\" may use only a-z, 0-9, - and _",
	    "16:18: loss must be a probability from 0 to 1, such as 0.1, not \"1.5\"",
	    "16:32: reorder must be a probability from 0 to 1, such as 0.1, not \"x\"" } },
	{ "on an unknown host",
	  HEAD "  - name: t1\n"
	       "    points: 1\n"
	       "    hosts: [a, b]\n"
	       "    steps:\n"
	       "      - start: prog\n"
	       "        on: c\n"
	       "        args: ['{host:a}', '{host:z}', '{host:b']\n"
	       "      - alive: prog\n"
	       "        on: a\n",
	  NULL, 4,
	  { "15:9: \"on: c\" names no host of this test", "15:9: argument \"{host:z}\" names no host of this test in {host:NAME}",
	    "15:9: argument \"{host:b\" names no host of this test in {host:NAME}", "19:9: \"on\" does not apply to an alive step" } },
	{ "datagrams without hosts", HEAD T1 "    checks:\n      - {check: datagrams, of: prog, port: 2001}\n", NULL, 1,
	  { "16:9: check \"datagrams\" reads the link between the test's hosts: give the test hosts" } },
	{ "on without hosts", HEAD T1 "        on: b\n", NULL, 1,
	  { "14:9: \"on: b\" needs the test's hosts, such as hosts: [b, other]" } },
	{ "binary record too small",
	  HEAD T1 "    checks:\n"
	          "      - {check: sequence, of: prog, count: 9, binary: {record: 4, offset: 2, size: 4}}\n",
	  NULL, 1, { "16:55: the number (offset 2, size 4) does not fit a record of 4 bytes" } },
	{ "unknown key in limits", HEAD T1 "limits: {wall: 1}\n", NULL, 1,
	  { "15:10: unknown key \"wall\" in limits" } },
	{ "points not a number",
	  HEAD "  - name: t1\n"
	       "    points: \"x\"\n"
	       "    steps:\n"
	       "      - run: prog\n",
	  NULL, -1, { "12:13: points must be a whole number from 0 to 1000, not \"x\"" } },
	{ "points negative",
	  HEAD "  - name: t1\n"
	       "    points: -2\n"
	       "    steps:\n"
	       "      - run: prog\n",
	  NULL, -1, { "12:13: points must be a whole number from 0 to 1000, not \"-2\"" } },
	{ "steps not a list",
	  HEAD "  - name: t1\n"
	       "    points: 1\n"
	       "    steps: run\n",
	  NULL, 1, { "13:12: steps must be a list, not a scalar" } },
	{ "tests not a list", HEAD "  name: t1\n", NULL, 1, { "11:3: tests must be a list, not a mapping" } },
	{ "visible not a boolean", HEAD T1 "    visible: maybe\n", NULL, 1,
	  { "15:14: visible must be true or false, not \"maybe\"" } },
	{ "memcheck unknown", HEAD T1 "    memcheck: purify\n", NULL, 1,
	  { "15:15: memcheck must be none, valgrind or asan, not \"purify\"" } },
	{ "test without name",
	  HEAD "  - points: 1\n"
	       "    steps:\n"
	       "      - run: prog\n",
	  NULL, 1, { "11:5: a test needs a name" } },
	{ "test without points",
	  HEAD "  - name: t1\n"
	       "    steps:\n"
	       "      - run: prog\n",
	  NULL, 1, { "11:5: test \"t1\" needs points" } },
	{ "test without steps",
	  HEAD "  - name: t1\n"
	       "    points: 1\n",
	  NULL, 1, { "11:5: test \"t1\" needs steps" } },
	{ "no lab",
	  "title: Demo lab\n"
	  "submission: {files: []}\n"
	  "tests: [{name: t1, points: 1, steps: [{run: ref:srv}]}]\n"
	  "references: {srv: tcp_hello_server}\n",
	  NULL, 1, { "1:1: the lab spec needs \"lab\"" } },
	{ "no title",
	  "lab: demo\n"
	  "submission: {files: []}\n"
	  "tests: [{name: t1, points: 1, steps: [{run: ref:srv}]}]\n"
	  "references: {srv: tcp_hello_server}\n",
	  NULL, 1, { "1:1: the lab spec needs \"title\"" } },
	{ "no submission",
	  "lab: demo\n"
	  "title: Demo lab\n"
	  "tests: [{name: t1, points: 1, steps: [{run: ref:srv}]}]\n"
	  "references: {srv: tcp_hello_server}\n",
	  NULL, 1, { "1:1: the lab spec needs \"submission\"" } },
	{ "no tests",
	  "lab: demo\n"
	  "title: Demo lab\n"
	  "submission: {files: []}\n",
	  NULL, 1, { "1:1: the lab spec needs \"tests\"" } },
	{ "no tests at all", HEAD "  []\n", NULL, 1, { "11:3: the lab has no tests" } },
	{ "unknown program",
	  HEAD "  - name: t1\n"
	       "    points: 1\n"
	       "    steps:\n"
	       "      - run: nope\n",
	  NULL, 1, { "14:9: test \"t1\" uses unknown program \"nope\"" } },
	{ "unknown reference",
	  HEAD "  - name: t1\n"
	       "    points: 1\n"
	       "    steps:\n"
	       "      - start: ref:nope\n",
	  NULL, 1, { "14:9: test \"t1\" uses unknown reference \"nope\"" } },
	{ "a reference is not a program",
	  HEAD "  - name: t1\n"
	       "    points: 1\n"
	       "    steps:\n"
	       "      - run: srv\n",
	  NULL, 1, { "14:9: test \"t1\" uses unknown program \"srv\"" } },
	{ "duplicate test name", HEAD T1 T1, NULL, 1, { "15:5: duplicate test name \"t1\"" } },
	{ "duplicate key",
	  HEAD "  - name: t1\n"
	       "    points: 1\n"
	       "    points: 2\n"
	       "    steps:\n"
	       "      - run: prog\n",
	  NULL, 1, { "13:5: duplicate key \"points\" in a test (first at line 12)" } },
	{ "two processes with one name",
	  HEAD "  - name: t1\n"
	       "    points: 1\n"
	       "    steps:\n"
	       "      - start: prog\n"
	       "      - run: prog\n",
	  NULL, 1,
	  { "15:9: test \"t1\" already has a process named \"prog\"; give this one another name with \"as\"" } },
	{ "alive, wait, stop of processes never started",
	  HEAD "  - name: t1\n"
	       "    points: 1\n"
	       "    steps:\n"
	       "      - start: prog\n"
	       "      - alive: ghost\n"
	       "      - wait: ghost\n"
	       "      - stop: ghost\n",
	  NULL, 3,
	  { "15:9: \"alive: ghost\" names no process started earlier in test \"t1\"",
	    "16:9: \"wait: ghost\" names no process started earlier in test \"t1\"",
	    "17:9: \"stop: ghost\" names no process started earlier in test \"t1\"" } },
	{ "stop before the start",
	  HEAD "  - name: t1\n"
	       "    points: 1\n"
	       "    steps:\n"
	       "      - stop: srv\n"
	       "      - start: ref:srv\n",
	  NULL, 1, { "14:9: \"stop: srv\" names no process started earlier in test \"t1\"" } },
	{ "wait for a process that was run, not started",
	  HEAD T1 "      - wait: prog\n", NULL, 1,
	  { "15:9: \"wait: prog\" names no process started earlier in test \"t1\"" } },
	{ "invalid regex",
	  HEAD T1 "        expect:\n"
		  "          stdout:\n"
		  "            regex: \"a(b\"\n",
	  NULL, 1, { "17:20: invalid regex \"a(b\": " } },
	{ "invalid ready regex",
	  HEAD "  - name: t1\n"
	       "    points: 1\n"
	       "    steps:\n"
	       "      - start: prog\n"
	       "        ready: {stdout: \"[x\"}\n",
	  NULL, 1, { "15:25: invalid regex \"[x\": " } },
	{ "ready with two conditions",
	  HEAD "  - name: t1\n"
	       "    points: 1\n"
	       "    steps:\n"
	       "      - start: prog\n"
	       "        ready: {tcp: 2021, udp: 2021}\n",
	  NULL, 1, { "15:16: ready takes exactly one condition, such as {tcp: 2021}" } },
	{ "ready mqueue name not /name",
	  HEAD "  - name: t1\n"
	       "    points: 1\n"
	       "    steps:\n"
	       "      - start: prog\n"
	       "        ready: {mqueue: myqueue}\n",
	  NULL, 1, { "15:25: a message queue name is one slash and a name, such as /myqueue, not \"myqueue\"" } },
	{ "step with two kinds",
	  HEAD "  - name: t1\n"
	       "    points: 1\n"
	       "    steps:\n"
	       "      - start: prog\n"
	       "        run: prog\n",
	  NULL, 1, { "15:9: a step does one thing: it has both \"start\" and \"run\"" } },
	{ "step with no kind",
	  HEAD "  - name: t1\n"
	       "    points: 1\n"
	       "    steps:\n"
	       "      - args: [x]\n",
	  NULL, 1, { "14:9: a step needs one of: start, run, alive, wait, stop" } },
	{ "repeat on a start step",
	  HEAD "  - name: t1\n"
	       "    points: 1\n"
	       "    steps:\n"
	       "      - start: prog\n"
	       "        repeat: 2\n",
	  NULL, 1, { "15:9: \"repeat\" applies only to a run step" } },
	{ "ready on a run step", HEAD T1 "        ready: {tcp: 2021}\n", NULL, 1,
	  { "15:9: \"ready\" applies only to a start step" } },
	{ "args on an alive step",
	  HEAD "  - name: t1\n"
	       "    points: 1\n"
	       "    steps:\n"
	       "      - start: prog\n"
	       "      - alive: prog\n"
	       "        args: [x]\n",
	  NULL, 1, { "16:9: \"args\" does not apply to" } },
	{ "exit and signal", HEAD T1 "        expect: {exit: 0, signal: SIGTERM}\n", NULL, 1,
	  { "15:17: expect has both exit and signal; a process can only do one" } },
	{ "unknown signal", HEAD T1 "        expect: {signal: SIGFOO}\n", NULL, 1,
	  { "15:26: unknown signal \"SIGFOO\"" } },
	{ "exit out of range", HEAD T1 "        expect: {exit: 256}\n", NULL, 1,
	  { "15:24: exit must be a whole number from 0 to 255, not \"256\"" } },
	{ "matcher given as a scalar", HEAD T1 "        expect: {stdout: hello}\n", NULL, 1,
	  { "15:26: stdout must be a mapping such as {contains: \"text\"}" } },
	{ "invalid YAML",
	  "lab: demo\n"
	  "title: a: b\n",
	  NULL, 1, { "2:9: invalid YAML: mapping values are not allowed in this context" } },
	{ "unclosed flow sequence",
	  "lab: demo\n"
	  "submission:\n"
	  "  files: [a.c, b.c\n"
	  "title: x\n",
	  NULL, 1, { "4:6: invalid YAML: did not find expected ',' or ']'" } },
	{ "empty file", "", NULL, 1, { "1:1: the lab spec is empty" } },
	{ "only a comment", "# nothing here\n", NULL, 1, { "1:1: the lab spec is empty" } },
	{ "not a mapping", "- lab\n- demo\n", NULL, 1, { "1:1: the lab spec must be a mapping, not a list" } },
	{ "two documents",
	  "lab: demo\n"
	  "---\n"
	  "lab: other\n",
	  NULL, 1, { "2:1: a lab spec is one YAML document, found a second one" } },
	{ "alias",
	  "lab: &name demo\n"
	  "title: *name\n",
	  NULL, 1, { "2:8: YAML aliases are not supported in a lab spec" } },
	{ "64 levels deep is allowed", NULL, nested_64, 1, { "1:1: the lab spec must be a mapping, not a list" } },
	{ "65 levels deep", NULL, nested_65, 1, { "1:65: nesting deeper than 64 levels" } },
	{ "100000 levels deep", NULL, nested_100000, 1, { "1:65: nesting deeper than 64 levels" } },
	{ "source not in submission.files",
	  "lab: demo\n"
	  "title: Demo lab\n"
	  "submission:\n"
	  "  files: [a.c, b.c]\n"
	  "build:\n"
	  "  programs:\n"
	  "    prog: [a.c, c.c]\n"
	  "tests:\n" T1,
	  NULL, 1, { "7:11: source \"c.c\" of program \"prog\" is not in submission.files (nor build.provided)" } },
	{ "submission file with a path", "lab: demo\ntitle: x\nsubmission:\n  files: [../a.c]\ntests:\n  - name: t1\n    points: 0\n    steps: [{run: prog}]\n",
	  NULL, 2, { "4:3: submission file \"../a.c\" must be a plain file name", "8:13: test \"t1\" uses unknown program \"prog\"" } },
	{ "reference given as a path",
	  "lab: demo\n"
	  "title: Demo lab\n"
	  "submission: {files: []}\n"
	  "references: {x: ../bin/sh}\n"
	  "tests: [{name: t1, points: 1, steps: [{run: ref:x}]}]\n",
	  NULL, 2,
	  { "4:17: reference program \"../bin/sh\" must be a name under reference/, not a path",
	    "5:39: test \"t1\" uses unknown reference \"x\"" } },
	{ "several problems together",
	  HEAD "  - name: t1\n"
	       "    points: 1\n"
	       "    visible: maybe\n"
	       "    steps:\n"
	       "      - run: nope\n"
	       "colour: red\n",
	  NULL, 3,
	  { "16:1: unknown key \"colour\" in the lab spec", "13:14: visible must be true or false, not \"maybe\"",
	    "15:9: test \"t1\" uses unknown program \"nope\"" } },
};

START_TEST(bad_spec)
{
	const struct bad_case *c = &bad[_i];
	char *yaml = c->yaml ? xstrdup(c->yaml) : c->gen();
	char *path = write_spec(yaml, strlen(yaml));
	struct lab_spec spec;
	struct strbuf errors = STRBUF_INIT;
	int n = spec_load(path, &spec, &errors);
	const char *text = errors.buf ? errors.buf : "";
	/* spec_load() counts exactly the problems it reports, one per line */
	ck_assert_msg((size_t)n == count_lines(text), "%s: returned %d for:\n%s", c->name, n, text);
	if (c->nproblems >= 0)
		ck_assert_msg(n == c->nproblems, "%s: %d problems, expected %d:\n%s", c->name, n, c->nproblems, text);
	else
		ck_assert_msg(n >= 1, "%s: no problem reported", c->name);
	const char *line = text;
	for (int i = 0; i < 4 && c->problems[i]; i++) {
		char *want = xstrfmt("%s:%s", path, c->problems[i]);
		ck_assert_msg(!strncmp(line, want, strlen(want)), "%s: problem %d is not\n  %s\nbut:\n%s", c->name,
			      i + 1, want, text);
		free(want);
		line = strchr(line, '\n') + 1;
	}
	spec_release(&spec);
	sb_release(&errors);
	free(path);
	free(yaml);
}
END_TEST

/* One mistake is one problem: points that are there but wrong are not also
 * reported as missing. */
START_TEST(bad_points_reported_once)
{
	static const char yaml[] = HEAD "  - name: t1\n"
				       "    points: \"x\"\n"
				       "    steps:\n"
				       "      - run: prog\n";
	char *path = write_spec(yaml, strlen(yaml));
	struct lab_spec spec;
	struct strbuf errors = STRBUF_INIT;
	int n = spec_load(path, &spec, &errors);
	char text[1024];
	snprintf(text, sizeof text, "%s", errors.buf ? errors.buf : "");
	spec_release(&spec);
	sb_release(&errors);
	free(path);
	ck_assert_msg(n == 1, "%d problems:\n%s", n, text);
}
END_TEST

/* A test without a name that also has another problem: the message must
 * not print a NULL name. */
START_TEST(nameless_test_with_unknown_program)
{
	static const char yaml[] = HEAD "  - points: 1\n"
				       "    steps:\n"
				       "      - run: nope\n";
	char *path = write_spec(yaml, strlen(yaml));
	struct lab_spec spec;
	struct strbuf errors = STRBUF_INIT;
	int n = spec_load(path, &spec, &errors);
	ck_assert_int_eq(n, 2);
	char *want = xstrfmt("%s:11:5: a test needs a name\n%s:13:9: ", path, path);
	ck_assert_msg(!strncmp(errors.buf, want, strlen(want)), "got:\n%s", errors.buf);
	ck_assert_ptr_nonnull(strstr(errors.buf, "unknown program \"nope\""));
	char text[1024];
	snprintf(text, sizeof text, "%s", errors.buf);
	free(want);
	spec_release(&spec);
	sb_release(&errors);
	free(path);
	ck_assert_msg(!strstr(text, "(null)"), "a NULL test name was printed:\n%s", text);
}
END_TEST

START_TEST(missing_file)
{
	char *path = xstrfmt("%s/no-such-lab", tmpdir);
	struct lab_spec spec;
	struct strbuf errors = STRBUF_INIT;
	ck_assert_int_eq(spec_load(path, &spec, &errors), 1);
	char *want = xstrfmt("%s: cannot open the lab spec: %s\n", path, strerror(ENOENT));
	ck_assert_str_eq(errors.buf, want);
	free(want);
	spec_release(&spec);
	sb_release(&errors);
	free(path);
}
END_TEST

/* A folder is read as its lab.yaml. */
START_TEST(folder_means_lab_yaml)
{
	char *dir = xstrfmt("%s/lab-folder", tmpdir);
	ck_assert_int_eq(mkdir_p(dir), 0);
	char *file = xstrfmt("%s/lab.yaml", dir);
	static const char yaml[] = HEAD T1;
	char *tmp = write_spec(yaml, strlen(yaml));
	ck_assert_int_eq(rename(tmp, file), 0);
	struct lab_spec spec;
	struct strbuf errors = STRBUF_INIT;
	ck_assert_int_eq(spec_load(dir, &spec, &errors), 0);
	ck_assert_str_eq(spec.file, file);
	ck_assert_str_eq(spec.dir, dir);
	ck_assert_str_eq(spec.name, "demo");
	spec_release(&spec);
	sb_release(&errors);
	free(tmp);
	free(file);
	free(dir);
}
END_TEST

START_TEST(lookups)
{
	static const char yaml[] = "lab: demo\n"
				   "title: Demo lab\n"
				   "submission: {files: [a.c, b.c]}\n"
				   "build:\n"
				   "  programs: {server: a.c, client: b.c}\n"
				   "references: {rs: tcp_hello_server, rc: tcp_hello_client}\n"
				   "tests:\n"
				   "  - {name: one, points: 1, steps: [{run: server}]}\n"
				   "  - {name: two, points: 2, steps: [{run: ref:rc}]}\n";
	char *path = write_spec(yaml, sizeof yaml - 1);
	struct lab_spec spec;
	struct strbuf errors = STRBUF_INIT;
	ck_assert_msg(spec_load(path, &spec, &errors) == 0, "%s", errors.buf);
	ck_assert_ptr_eq(spec_program(&spec, "server"), &spec.programs[0]);
	ck_assert_ptr_eq(spec_program(&spec, "client"), &spec.programs[1]);
	ck_assert_str_eq(spec_program(&spec, "client")->sources[0], "b.c");
	ck_assert_ptr_null(spec_program(&spec, "rs"));
	ck_assert_ptr_null(spec_program(&spec, "serv"));
	ck_assert_str_eq(spec_ref(&spec, "rc")->binary, "tcp_hello_client");
	ck_assert_ptr_eq(spec_ref(&spec, "rs"), &spec.refs[0]);
	ck_assert_ptr_null(spec_ref(&spec, "server"));
	ck_assert_ptr_eq(spec_test(&spec, "two"), &spec.tests[1]);
	ck_assert_int_eq(spec_test(&spec, "two")->points, 2);
	ck_assert_ptr_null(spec_test(&spec, "three"));
	ck_assert_ptr_null(spec_test(&spec, ""));
	spec_release(&spec);
	sb_release(&errors);
	free(path);
}
END_TEST

/* A test's memcheck applies to student programs; a reference runs without
 * one unless its step asks; a step's own setting always wins. */
START_TEST(memcheck_inheritance)
{
	static const char yaml[] = HEAD "  - name: vg\n"
					"    points: 1\n"
					"    memcheck: valgrind\n"
					"    steps:\n"
					"      - run: prog\n"
					"      - run: ref:srv\n"
					"      - run: ref:srv\n"
					"        as: srv2\n"
					"        memcheck: asan\n"
					"      - run: prog\n"
					"        as: p2\n"
					"        memcheck: none\n"
					"  - name: plain\n"
					"    points: 1\n"
					"    steps:\n"
					"      - run: prog\n"
					"      - run: ref:srv\n"
					"        memcheck: valgrind\n";
	char *path = write_spec(yaml, sizeof yaml - 1);
	struct lab_spec spec;
	struct strbuf errors = STRBUF_INIT;
	ck_assert_msg(spec_load(path, &spec, &errors) == 0, "%s", errors.buf);
	const struct test_spec *vg = spec_test(&spec, "vg"), *plain = spec_test(&spec, "plain");
	ck_assert_int_eq(step_memcheck(vg, &vg->steps[0]), MEMCHECK_VALGRIND);
	ck_assert_int_eq(vg->steps[1].memcheck, MEMCHECK_INHERIT);
	ck_assert_int_eq(step_memcheck(vg, &vg->steps[1]), MEMCHECK_NONE);
	ck_assert_int_eq(step_memcheck(vg, &vg->steps[2]), MEMCHECK_ASAN);
	ck_assert_int_eq(step_memcheck(vg, &vg->steps[3]), MEMCHECK_NONE);
	ck_assert_int_eq(step_memcheck(plain, &plain->steps[0]), MEMCHECK_NONE);
	ck_assert_int_eq(step_memcheck(plain, &plain->steps[1]), MEMCHECK_VALGRIND);
	/* only student programs count: the asan and valgrind references do not */
	ck_assert_int_eq(spec_uses_memcheck(&spec, MEMCHECK_VALGRIND), 1);
	ck_assert_int_eq(spec_uses_memcheck(&spec, MEMCHECK_ASAN), 0);
	ck_assert_str_eq(memcheck_name(MEMCHECK_VALGRIND), "valgrind");
	ck_assert_str_eq(memcheck_name(MEMCHECK_ASAN), "asan");
	ck_assert_str_eq(memcheck_name(MEMCHECK_NONE), "none");
	spec_release(&spec);
	sb_release(&errors);
	free(path);
}
END_TEST

/* The bundled lab (run from the repository root, as make does). */
START_TEST(tcp_hello_loads)
{
	struct lab_spec spec;
	struct strbuf errors = STRBUF_INIT;
	int n = spec_load("labs/tcp-hello/lab.yaml", &spec, &errors);
	ck_assert_msg(n == 0, "%d problems:\n%s", n, errors.buf);
	ck_assert_str_eq(spec.name, "tcp-hello");
	ck_assert_str_eq(spec.dir, "labs/tcp-hello");
	ck_assert_uint_ge(spec.ntests, 1);
	ck_assert_ptr_nonnull(spec_program(&spec, "server"));
	ck_assert_ptr_nonnull(spec_ref(&spec, "client"));
	for (size_t i = 0; i < spec.ntests; i++) {
		ck_assert_ptr_nonnull(spec.tests[i].name);
		ck_assert_uint_ge(spec.tests[i].nsteps, 1);
		/* its memcheck tests judge memory only; the others everything */
		ck_assert_int_eq(spec.tests[i].judge_memory, spec.tests[i].memcheck != MEMCHECK_NONE);
	}
	spec_release(&spec);
	sb_release(&errors);
}
END_TEST

static Suite *
spec_suite(void)
{
	Suite *s = suite_create("spec");
	TCase *tc = tcase_create("load");
	tcase_add_unchecked_fixture(tc, make_tmpdir, remove_tmpdir);
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, good_spec, 0, sizeof good / sizeof *good);
	tcase_add_loop_test(tc, bad_spec, 0, sizeof bad / sizeof *bad);
	tcase_add_test(tc, bad_points_reported_once);
	tcase_add_test(tc, nameless_test_with_unknown_program);
	tcase_add_test(tc, missing_file);
	tcase_add_test(tc, folder_means_lab_yaml);
	tcase_add_test(tc, lookups);
	tcase_add_test(tc, memcheck_inheritance);
	tcase_add_test(tc, tcp_hello_loads);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(spec_suite());
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
