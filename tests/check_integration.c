/* Integration: the grader binary, run as users run it.  Every fixture under
 * fixtures/<lab>/ is graded and compared with its expected.json (good-*
 * fixtures must pass every test); the JSON contract of PRODUCT.md is
 * checked field by field; grading twice gives the same verdicts; every
 * output format is well formed; bad input gets the right exit status. */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture.h"
#include "spawn.h"
#include "util.h"

#define GRADER "build/grader"
#define MAX_FIXTURES 256

static char *fixtures[MAX_FIXTURES]; /* "fixtures/<lab>/<name>" */
static int nfixtures;
static int again[MAX_FIXTURES]; /* indexes of those graded again without namespaces */
static int nagain;
static char *pairs[MAX_FIXTURES]; /* "tests/reference/<topic>": reference pairs as labs */
static int npairs;
static char tmpdir[] = "/tmp/check-integration-XXXXXX";

/* Runs the grader with args (NULL-ended, after "grader"); returns its exit
 * status, its stdout+stderr in *out (the caller frees). */
static int
grader(char **out, const char *const *args, const char *const *extra_env)
{
	struct strvec argv = STRVEC_INIT, env = STRVEC_INIT;
	sv_push(&argv, GRADER);
	for (const char *const *a = args; *a; a++)
		sv_push(&argv, *a);
	sv_pushf(&env, "PATH=%s", getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	sv_pushf(&env, "TMPDIR=%s", tmpdir);
	/* The sandbox's modes, to run the whole suite in each (make test-modes). */
	static const char *const modes[] = { "IPCGRADER_NO_USERNS", "IPCGRADER_NO_NAMESPACES" };
	for (size_t m = 0; m < sizeof modes / sizeof *modes; m++)
		if (getenv(modes[m]))
			sv_pushf(&env, "%s=%s", modes[m], getenv(modes[m]));
	for (const char *const *e = extra_env; e && *e; e++)
		sv_push(&env, *e);
	struct child c = { .argv = argv.v, .envp = env.v };
	struct capture cap;
	capture_init(&cap, 1 << 20);
	struct exit_status st;
	int timed_out;
	char err[256];
	int rc = child_run(&c, 300000, &cap, &st, &timed_out, err, sizeof err);
	ck_assert_msg(rc == 0, "cannot run the grader: %s", err);
	ck_assert_msg(!timed_out, "the grader hung");
	ck_assert_msg(st.how == EXIT_CODE, "the grader died of signal %d", st.signal);
	char *text = capture_bytes(&cap, 1, NULL);
	if (out)
		*out = text;
	else
		free(text);
	capture_release(&cap);
	sv_clear(&argv);
	sv_clear(&env);
	return st.code;
}

/* Grades a fixture into a JSON file and loads it; degraded: without
 * namespaces (allowed: these are our own fixtures). */
static json_t *
grade_json_mode(const char *lab, const char *dir, int *status, int degraded)
{
	char *file = xstrfmt("%s/report-%d.json", tmpdir, (int)getpid());
	const char *args[] = { "grade", lab, dir, "--format", "json", "--output", file, "--allow-unisolated", NULL };
	const char *no_ns[] = { "IPCGRADER_NO_NAMESPACES=1", NULL };
	if (!degraded)
		args[7] = NULL;
	char *out;
	*status = grader(&out, args, degraded ? no_ns : NULL);
	json_error_t jerr;
	json_t *report = json_load_file(file, 0, &jerr);
	ck_assert_msg(report != NULL, "no JSON report for %s (exit %d): %s\n%s", dir, *status, jerr.text, out);
	unlink(file);
	free(file);
	free(out);
	return report;
}

static json_t *
grade_json(const char *lab, const char *dir, int *status)
{
	return grade_json_mode(lab, dir, status, 0);
}

static const char *
jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	ck_assert_msg(json_is_string(v), "\"%s\" is not a string", key);
	return json_string_value(v);
}

static json_int_t
jint(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	ck_assert_msg(json_is_integer(v), "\"%s\" is not an integer", key);
	return json_integer_value(v);
}

/* The contract of PRODUCT.md, "Results (JSON contract)". */
static void
check_contract(json_t *r, const char *dir)
{
	ck_assert_str_eq(jstr(r, "submission"), dir);
	jstr(r, "lab");
	json_int_t score = jint(r, "score"), max = jint(r, "max_score");
	ck_assert(score >= 0 && score <= max);
	json_t *b = json_object_get(r, "build");
	ck_assert(json_is_object(b));
	const char *bs = jstr(b, "status");
	ck_assert(!strcmp(bs, "ok") || !strcmp(bs, "failed"));
	jint(b, "warnings");
	jstr(b, "log");
	json_t *iso = json_object_get(r, "isolation");
	ck_assert(json_is_object(iso));
	const char *mode = jstr(iso, "mode");
	ck_assert(!strcmp(mode, "namespaces") || !strcmp(mode, "none"));
	ck_assert(*jstr(iso, "detail"));
	jint(r, "seed");
	json_t *tests = json_object_get(r, "tests");
	ck_assert(json_is_array(tests) && json_array_size(tests) > 0);
	json_int_t sum = 0, sum_max = 0;
	size_t i;
	json_t *t;
	json_array_foreach(tests, i, t) {
		static const char *const statuses[] = { "pass", "fail", "timeout", "crash", "error", "build_failed" };
		const char *st = jstr(t, "status");
		int known = 0;
		for (int k = 0; k < 6; k++)
			known |= !strcmp(st, statuses[k]);
		ck_assert_msg(known, "unknown status %s", st);
		json_int_t s = jint(t, "score"), m = jint(t, "max_score");
		ck_assert(s == (strcmp(st, "pass") ? 0 : m));
		sum += s;
		sum_max += m;
		ck_assert(json_is_boolean(json_object_get(t, "visible")));
		ck_assert(jint(t, "duration_ms") >= 0);
		jstr(t, "name");
		jstr(t, "details");
		const char *msg = jstr(t, "message");
		ck_assert_msg(!strcmp(st, "pass") || *msg, "a %s test without a message", st);
		const char *rep = jstr(t, "reproduce");
		ck_assert_msg(strstr(rep, "--test ") && strstr(rep, dir), "reproduce: %s", rep);
	}
	ck_assert(sum == score && sum_max == max);
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
find_fixtures(void)
{
	DIR *labs = opendir("fixtures");
	struct dirent *l;
	while (labs && (l = readdir(labs))) {
		if (l->d_name[0] == '.')
			continue;
		char *labdir = xstrfmt("fixtures/%s", l->d_name);
		DIR *d = opendir(labdir);
		struct dirent *e;
		while (d && (e = readdir(d)) && nfixtures < MAX_FIXTURES)
			if (!strncmp(e->d_name, "good-", 5) || !strncmp(e->d_name, "bug-", 4))
				fixtures[nfixtures++] = xstrfmt("%s/%s", labdir, e->d_name);
		if (d)
			closedir(d);
		free(labdir);
	}
	if (labs)
		closedir(labs);
	qsort(fixtures, (size_t)nfixtures, sizeof *fixtures, by_name);
	/* Without namespaces (the same grader but for the sandbox, and one
	 * test at a time on the machine: they are serialised): every good
	 * fixture and the first bug of each lab. */
	for (int i = 0; i < nfixtures; i++) {
		int first_bug = strstr(fixtures[i], "/bug-") &&
				(i == 0 || strncmp(fixtures[i - 1], fixtures[i], (size_t)(strstr(fixtures[i], "/bug-") - fixtures[i])) ||
				 !strstr(fixtures[i - 1], "/bug-"));
		if (strstr(fixtures[i], "/good-") || first_bug)
			again[nagain++] = i;
	}
}

static void
find_pairs(void)
{
	DIR *d = opendir("tests/reference");
	struct dirent *e;
	while (d && (e = readdir(d)) && npairs < MAX_FIXTURES) {
		char *spec = xstrfmt("tests/reference/%s/lab.yaml", e->d_name);
		if (e->d_name[0] != '.' && access(spec, R_OK) == 0)
			pairs[npairs++] = xstrfmt("tests/reference/%s", e->d_name);
		free(spec);
	}
	if (d)
		closedir(d);
}

static char *
lab_of(const char *fixture)
{
	const char *a = strchr(fixture, '/') + 1, *b = strchr(a, '/');
	return xstrfmt("%.*s", (int)(b - a), a);
}

/* The fixtures are graded before the tests look at them, a few at once: a
 * grading mostly waits (for a deadlocked fixture's step to time out, for
 * Valgrind), and one after another they would take most of make test's
 * ten minutes.  Job k < nfixtures grades fixtures[k] with namespaces; the
 * others grade fixtures[again[k - nfixtures]] without.  IPCGRADER_TEST_JOBS
 * sets how many run at once (default: one more than the CPUs, at least 3). */
static int job_status[2 * MAX_FIXTURES];

static char *
job_report(int k)
{
	return xstrfmt("%s/fixture-%d.json", tmpdir, k);
}

static pid_t
start_job(int k)
{
	int degraded = k >= nfixtures;
	const char *dir = degraded ? fixtures[again[k - nfixtures]] : fixtures[k];
	char *lab = lab_of(dir), *file = job_report(k);
	struct strvec argv = STRVEC_INIT, env = STRVEC_INIT;
	const char *args[] = { GRADER, "grade", lab, dir, "--format", "json", "--output", file, "--allow-unisolated" };
	for (size_t i = 0; i < sizeof args / sizeof *args - !degraded; i++)
		sv_push(&argv, args[i]);
	sv_pushf(&env, "PATH=%s", getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	sv_pushf(&env, "TMPDIR=%s", tmpdir);
	static const char *const modes[] = { "IPCGRADER_NO_USERNS", "IPCGRADER_NO_NAMESPACES" };
	for (size_t m = 0; m < sizeof modes / sizeof *modes; m++)
		if (getenv(modes[m]))
			sv_pushf(&env, "%s=%s", modes[m], getenv(modes[m]));
	if (degraded)
		sv_push(&env, "IPCGRADER_NO_NAMESPACES=1");
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		execve(GRADER, argv.v, env.v);
		_exit(127);
	}
	sv_clear(&argv);
	sv_clear(&env);
	free(lab);
	free(file);
	return pid;
}

static void
grade_all_fixtures(void)
{
	int total = nfixtures + nagain, next = 0, running = 0;
	/* The unisolated gradings wait for one another (a machine-wide lock):
	 * they start first, one beside the others, so that their chain is not
	 * what the suite waits for at the end. */
	int *order = xcalloc((size_t)total + 1, sizeof *order), n = 0;
	for (int k = 0; k < nagain || k < nfixtures; k++) {
		if (k < nagain)
			order[n++] = nfixtures + k;
		if (k < nfixtures)
			order[n++] = k;
	}
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int jobs = getenv("IPCGRADER_TEST_JOBS") ? atoi(getenv("IPCGRADER_TEST_JOBS")) : cpus > 2 ? (int)cpus + 1 : 3;
	pid_t *pids = xcalloc((size_t)total + 1, sizeof *pids);
	while (next < total || running) {
		while (next < total && running < (jobs > 0 ? jobs : 1)) {
			int k = order[next++];
			pids[k] = start_job(k);
			job_status[k] = pids[k] < 0 ? -1 : 0;
			running += pids[k] > 0;
		}
		int ws;
		pid_t done = wait(&ws);
		if (done < 0)
			break;
		for (int k = 0; k < total; k++)
			if (pids[k] == done) {
				job_status[k] = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
				pids[k] = 0;
				running--;
			}
	}
	free(pids);
	free(order);
}

/* _i < nfixtures: with namespaces; then some fixtures again without them,
 * where a verdict must be the same or "error" (the machine could not tell:
 * a port still in TIME_WAIT), never another one. */
START_TEST(fixture_matches_expected)
{
	int degraded = _i >= nfixtures;
	const char *dir = degraded ? fixtures[again[_i - nfixtures]] : fixtures[_i];
	char *lab = lab_of(dir);
	int good = strstr(dir, "/good-") != NULL, status = job_status[_i];
	json_t *expected = NULL;
	if (!good) {
		char *path = xstrfmt("%s/expected.json", dir);
		json_error_t jerr;
		expected = json_load_file(path, 0, &jerr);
		ck_assert_msg(expected != NULL, "%s: %s", path, jerr.text);
		free(path);
	}
	char *file = job_report(_i);
	json_error_t jerr;
	json_t *r = json_load_file(file, 0, &jerr);
	ck_assert_msg(r != NULL, "no JSON report for %s%s (exit %d): %s", dir, degraded ? " (without namespaces)" : "",
		      status, jerr.text);
	free(file);
	check_contract(r, dir);
	ck_assert_str_eq(jstr(json_object_get(r, "isolation"), "mode"), degraded ? "none" : "namespaces");
	int errors = 0;
	json_t *want = expected ? json_object_get(expected, "tests") : NULL;
	ck_assert_msg(good || json_is_object(want), "%s/expected.json has no \"tests\" object", dir);
	struct strbuf diff = STRBUF_INIT;
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(r, "tests"), i, t) {
		const char *name = jstr(t, "name"), *got = jstr(t, "status");
		const char *exp = good ? "pass" : json_string_value(json_object_get(want, name));
		if (!exp)
			sb_addf(&diff, "  %s: not in expected.json (got %s)\n", name, got);
		else if (degraded && !strcmp(got, "error"))
			errors++;
		else if (strcmp(exp, got))
			sb_addf(&diff, "  %s: expected %s, got %s: %s\n", name, exp, got, jstr(t, "message"));
	}
	if (want) {
		const char *name;
		json_t *v;
		json_object_foreach(want, name, v) {
			int found = 0;
			json_array_foreach(json_object_get(r, "tests"), i, t)
				found |= !strcmp(jstr(t, "name"), name);
			if (!found)
				sb_addf(&diff, "  %s: in expected.json but not graded\n", name);
		}
	}
	ck_assert_msg(diff.len == 0, "%s%s:\n%s", dir, degraded ? " (without namespaces)" : "", diff.buf);
	int all_pass = jint(r, "score") == jint(r, "max_score");
	ck_assert_int_eq(status, errors ? 3 : all_pass ? 0 : 1);
	sb_release(&diff);
	json_decref(r);
	json_decref(expected);
	free(lab);
}
END_TEST

/* Every reference pair of reference/ runs end to end in a sandbox, the
 * spec's memcheck steps under Valgrind: a lab with no student files. */
START_TEST(reference_pair_works)
{
	char *empty = xstrfmt("%s/empty", tmpdir);
	mkdir(empty, 0755);
	int status;
	json_t *r = grade_json(pairs[_i], empty, &status);
	struct strbuf bad = STRBUF_INIT;
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(r, "tests"), i, t)
		if (strcmp(jstr(t, "status"), "pass"))
			sb_addf(&bad, "  %s: %s: %s\n%s\n", jstr(t, "name"), jstr(t, "status"), jstr(t, "message"),
				jstr(t, "details"));
	ck_assert_msg(status == 0 && bad.len == 0, "%s (exit %d):\n%s", pairs[_i], status, bad.buf ? bad.buf : "");
	sb_release(&bad);
	json_decref(r);
	free(empty);
}
END_TEST

/* The same submission, graded twice, gets the same verdicts and messages. */
START_TEST(grading_is_deterministic)
{
	static const char *const dirs[] = { "fixtures/tcp-hello/bug-slide-code", "fixtures/tcp-hello/good-reference" };
	int s1, s2;
	json_t *a = grade_json("tcp-hello", dirs[_i], &s1), *b = grade_json("tcp-hello", dirs[_i], &s2);
	ck_assert_int_eq(s1, s2);
	json_t *ta = json_object_get(a, "tests"), *tb = json_object_get(b, "tests");
	ck_assert_int_eq(json_array_size(ta), json_array_size(tb));
	for (size_t i = 0; i < json_array_size(ta); i++) {
		json_t *x = json_array_get(ta, i), *y = json_array_get(tb, i);
		ck_assert_str_eq(jstr(x, "status"), jstr(y, "status"));
		ck_assert_str_eq(jstr(x, "message"), jstr(y, "message"));
	}
	json_decref(a);
	json_decref(b);
}
END_TEST

/* Two graders at once without namespaces: they take turns (a machine-wide
 * lock), so neither meets the other's server; every verdict is the right
 * one (pass) or error, never a fail. */
START_TEST(two_unisolated_graders_at_once)
{
	pid_t other = fork();
	ck_assert_int_ge(other, 0);
	int status, wrong = 0;
	json_t *r = grade_json_mode("tcp-hello", "fixtures/tcp-hello/good-alt", &status, 1);
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(r, "tests"), i, t) {
		const char *st = jstr(t, "status");
		if (strcmp(st, "pass") && strcmp(st, "error")) {
			fprintf(stderr, "%s: %s: %s\n", jstr(t, "name"), st, jstr(t, "message"));
			wrong++;
		}
	}
	json_decref(r);
	if (other == 0)
		_exit(wrong ? 1 : 0);
	int ws;
	ck_assert_int_eq(waitpid(other, &ws, 0), other);
	ck_assert_msg(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "the other grader gave a wrong verdict (see stderr)");
	ck_assert_msg(!wrong, "%d wrong verdicts (see stderr)", wrong);
}
END_TEST

static void
write_text_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* Bad input: each case is a command line, the exit status it must give,
 * and a piece of what it must say. */
static const struct {
	const char *args[10];
	int status;
	const char *says;
} bad_input[] = {
	{ { "grade", "tcp-hello", "fixtures/tcp-hello/no-such-dir", NULL }, 2, "does not exist" },
	{ { "grade", "no-such-lab", "fixtures/tcp-hello/good-reference", NULL }, 2, "no lab named \"no-such-lab\"; labs: backlog, fifo, " },
	{ { "grade", "./no-such-lab", "fixtures/tcp-hello/good-reference", NULL }, 2, "no lab at \"./no-such-lab\": " },
	{ { "grade", "@BROKEN", "fixtures/tcp-hello/good-reference", NULL }, 2, "lab.yaml:6:5: unknown key \"pionts\" in a test" },
	{ { "grade", "tcp-hello", "fixtures/tcp-hello/good-reference", "--test", "nope", NULL }, 2, "has no test \"nope\"" },
	{ { "grade", "tcp-hello", "fixtures/tcp-hello/good-reference", "--format", "xml", NULL }, 2, "unknown format" },
	{ { "grade", "tcp-hello", "fixtures/tcp-hello/good-reference", "--seed", "x", NULL }, 2, "--seed" },
	{ { "grade", "tcp-hello", NULL }, 2, "usage" },
	{ { "frobnicate", NULL }, 2, "unknown command" },
	{ { "validate", "@BROKEN", NULL }, 2, "unknown key \"pionts\"" },
	{ { "validate", "tcp-hello", NULL }, 0, "ok (" },
	{ { "list", "tcp-hello", NULL }, 0, "server-valgrind" },
	{ { "check", "fixtures/tcp-hello", NULL }, 2, ".grader-lab" },
	{ { "grade", "tcp-hello", "fixtures/tcp-hello/good-reference", "--require-isolation", "--test",
	    "client-reports-missing-server", NULL }, 3, "isolation is required" },
	/* Untrusted code never runs unisolated by default. */
	{ { "grade", "tcp-hello", "fixtures/tcp-hello/good-reference", "--test", "client-reports-missing-server", NULL },
	  3, "--allow-unisolated runs it anyway" },
};

START_TEST(bad_input_gets_the_right_status)
{
	char *broken_dir = xstrfmt("%s/broken", tmpdir);
	mkdir(broken_dir, 0755);
	char *broken = xstrfmt("%s/lab.yaml", broken_dir);
	write_text_file(broken, "lab: broken\ntitle: a broken lab\nsubmission: {files: [a.c]}\ntests:\n"
				"  - name: t\n    pionts: 1\n    steps: [{run: nope}]\n");
	const char *args[10];
	for (int k = 0; k < 10; k++)
		args[k] = bad_input[_i].args[k] && !strcmp(bad_input[_i].args[k], "@BROKEN") ? broken_dir
											     : bad_input[_i].args[k];
	const char *no_ns[] = { "IPCGRADER_NO_NAMESPACES=1", NULL };
	char *out;
	int status = grader(&out, args, bad_input[_i].status == 3 ? no_ns : NULL);
	ck_assert_msg(status == bad_input[_i].status, "%s %s: exit %d, expected %d:\n%s", args[0], args[1], status,
		      bad_input[_i].status, out);
	ck_assert_msg(strstr(out, bad_input[_i].says), "\"%s\" not in:\n%s", bad_input[_i].says, out);
	free(out);
	free(broken);
	free(broken_dir);
}
END_TEST

/* Every format, for a submission with failures, is well formed. */
START_TEST(formats_are_well_formed)
{
	static const char *const formats[] = { "text", "junit", "tap", "gradescope" };
	const char *fmt = formats[_i];
	char *file = xstrfmt("%s/out-%s", tmpdir, fmt);
	const char *args[] = { "grade", "tcp-hello", "fixtures/tcp-hello/bug-slide-code", "--format", fmt,
			       "--output", file, NULL };
	char *out;
	int status = grader(&out, args, NULL);
	char *report = read_file(file, 1 << 20, NULL);
	ck_assert_msg(status == 1, "exit %d, expected 1:\n%s\n%.3000s", status, out, report ? report : "(no report)");
	free(report);
	free(out);
	char *text = read_file(file, 1 << 20, NULL);
	ck_assert_ptr_nonnull(text);
	if (!strcmp(fmt, "text")) {
		ck_assert_ptr_nonnull(strstr(text, "score: 14/21"));
		ck_assert_ptr_nonnull(strstr(text, "reproduce: grader grade tcp-hello"));
	} else if (!strcmp(fmt, "junit")) {
		/* the build is a test case of its own; the suite is named after the submission */
		ck_assert_ptr_nonnull(strstr(text, "<testsuite name=\"tcp-hello.bug-slide-code\" package=\"tcp-hello\" "
						   "tests=\"19\" failures=\"7\" errors=\"0\" skipped=\"0\""));
		ck_assert_ptr_nonnull(strstr(text, "</testsuites>"));
	} else if (!strcmp(fmt, "tap")) {
		ck_assert(!strncmp(text, "TAP version 13\n1..19\nok 1 - build\n", 34));
		ck_assert_ptr_nonnull(strstr(text, "not ok 7 - server-prints-client-address"));
	} else {
		json_t *g = json_loads(text, 0, NULL);
		ck_assert_ptr_nonnull(g);
		ck_assert_int_eq(json_integer_value(json_object_get(g, "score")), 14);
		json_t *t = json_array_get(json_object_get(g, "tests"), 13); /* server-valgrind, hidden */
		ck_assert_str_eq(json_string_value(json_object_get(t, "status")), "failed");
		ck_assert_str_eq(json_string_value(json_object_get(t, "visibility")), "after_published");
		json_decref(g);
	}
	free(text);
	free(file);
}
END_TEST

/* A student's `grader check` runs the visible tests only. */
START_TEST(check_runs_visible_tests_only)
{
	char *dir = xstrfmt("%s/student", tmpdir);
	mkdir(dir, 0755);
	const char *files[] = { "server.c", "client.c" };
	for (int i = 0; i < 2; i++) {
		char *from = xstrfmt("fixtures/tcp-hello/good-reference/%s", files[i]), *to = xstrfmt("%s/%s", dir, files[i]);
		ck_assert_int_eq(copy_file(from, to, 0644), 0);
		free(from);
		free(to);
	}
	char *marker = xstrfmt("%s/.grader-lab", dir);
	write_text_file(marker, "tcp-hello\n");
	const char *args[] = { "check", dir, NULL };
	char *out;
	ck_assert_int_eq(grader(&out, args, NULL), 0);
	/* ... and says what the hidden ones hold: 10/10 is not the final grade. */
	ck_assert_msg(strstr(out, "\n5 points in 5 hidden tests not run here: the final grade runs them too\n\nscore: 16/16\n"),
		      "%s", out);
	free(out);
	free(marker);
	free(dir);
}
END_TEST

/* What a lab provides the build (labs/<lab>/provided/) is what its starter
 * gives students: the two copies must not drift apart. */
START_TEST(provided_files_match_starter)
{
	DIR *labs = opendir("labs");
	struct dirent *l;
	int compared = 0;
	while (labs && (l = readdir(labs))) {
		char *dir = xstrfmt("labs/%s/provided", l->d_name);
		DIR *d = l->d_name[0] == '.' ? NULL : opendir(dir);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			char *a = xstrfmt("%s/%s", dir, e->d_name), *b = xstrfmt("labs/%s/starter/%s", l->d_name, e->d_name);
			size_t na, nb;
			char *ta = read_file(a, 1 << 20, &na), *tb = read_file(b, 1 << 20, &nb);
			ck_assert_msg(ta && tb && na == nb && !memcmp(ta, tb, na), "%s and %s differ (or one is missing)", a, b);
			compared++;
			free(ta);
			free(tb);
			free(a);
			free(b);
		}
		if (d)
			closedir(d);
		free(dir);
	}
	if (labs)
		closedir(labs);
	ck_assert_msg(compared > 0, "no lab provides a file: the ring-buffer lab should");
}
END_TEST

static void
setup_tmp(void)
{
	if (!mkdtemp(tmpdir))
		abort();
	chmod(tmpdir, 0755);
	grade_all_fixtures();
}

static void
teardown_tmp(void)
{
	rm_rf(tmpdir);
}

int
main(void)
{
	find_fixtures();
	find_pairs();
	Suite *s = suite_create("integration");
	TCase *tc = tcase_create("fixtures");
	tcase_add_unchecked_fixture(tc, setup_tmp, teardown_tmp);
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, fixture_matches_expected, 0, nfixtures + nagain);
	tcase_add_loop_test(tc, grading_is_deterministic, 0, 2);
	tcase_add_test(tc, two_unisolated_graders_at_once);
	tcase_add_loop_test(tc, reference_pair_works, 0, npairs);
	tcase_add_loop_test(tc, bad_input_gets_the_right_status, 0, (int)(sizeof bad_input / sizeof *bad_input));
	tcase_add_loop_test(tc, formats_are_well_formed, 0, 4);
	tcase_add_test(tc, check_runs_visible_tests_only);
	tcase_add_test(tc, provided_files_match_starter);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	for (int i = 0; i < nfixtures; i++)
		free(fixtures[i]);
	for (int i = 0; i < npairs; i++)
		free(pairs[i]);
	return failed || nfixtures == 0 || npairs == 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
