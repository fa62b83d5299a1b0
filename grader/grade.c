#define _GNU_SOURCE
#include "grade.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build.h"
#include "cache.h"
#include "debuginfo.h"
#include "runtest.h"
#include "spawn.h"
#include "timing.h"

static int
selected(const struct grade_options *o, const struct test_spec *t)
{
	if (o->visible_only && !t->visible)
		return 0;
	if (!o->only)
		return 1;
	for (char *const *n = o->only; *n; n++)
		if (!strcmp(*n, t->name))
			return 1;
	return 0;
}

/* Shell-quotes s when it needs it, for a command a student can paste. */
static void
add_quoted(struct strbuf *sb, const char *s)
{
	if (*s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@") == strlen(s)) {
		sb_adds(sb, s);
		return;
	}
	sb_adds(sb, "'");
	for (; *s; s++)
		if (*s == '\'')
			sb_adds(sb, "'\\''");
		else
			sb_add(sb, s, 1);
	sb_adds(sb, "'");
}

static char *
reproduce(const struct grade_options *o, const char *test)
{
	struct strbuf sb = STRBUF_INIT;
	const char *words[] = { o->self, "grade", o->lab_arg, o->submission, "--test", test };
	for (size_t i = 0; i < 6; i++) {
		if (i)
			sb_adds(&sb, " ");
		add_quoted(&sb, words[i]);
	}
	if (o->seed != 1)
		sb_addf(&sb, " --seed %ld", o->seed);
	return sb_detach(&sb);
}

/* References and the preload library are copied next to the student's
 * programs, so that one read-only folder holds everything a test runs and
 * the sandbox's unprivileged uid can reach it wherever the grader lives. */
static int
stage_runtime(const struct lab_spec *spec, const struct grade_options *o, const char *scratch, char *err,
	      size_t errlen)
{
	char *dir = xstrfmt("%s/ref", scratch);
	int rc = mkdir_p(dir) < 0 ? errf(err, errlen, "cannot create \"%s\": %s", dir, strerror(errno)) : 0;
	for (size_t i = 0; rc == 0 && i < spec->nrefs; i++) {
		char *from = xstrfmt("%s/%s", o->ref_dir, spec->refs[i].binary);
		char *to = xstrfmt("%s/%s", dir, spec->refs[i].binary);
		if (access(from, X_OK) < 0)
			rc = errf(err, errlen, "reference program \"%s\" is not built (looked for %s): run make",
				  spec->refs[i].binary, from);
		else if (copy_file(from, to, 0755) < 0)
			rc = errf(err, errlen, "cannot copy \"%s\": %s", from, strerror(errno));
		free(from);
		free(to);
	}
	char *lib = xstrfmt("%s/libipcgrader-linebuf.so", scratch);
	if (rc == 0 && copy_file(o->linebuf, lib, 0755) < 0)
		rc = errf(err, errlen, "cannot copy \"%s\": %s (run make)", o->linebuf, strerror(errno));
	free(lib);
	free(dir);
	return rc;
}

/* Host folders a test must never show, even where they lie under /usr (an
 * install under /usr/local): the lab with its hidden tests, the other labs,
 * the references, the other submissions beside this one. */
static void
hidden_paths(const struct lab_spec *spec, const struct grade_options *o, struct strvec *out)
{
	const char *paths[] = { spec->dir, o->ref_dir, o->submission };
	for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
		char *real = paths[i] ? realpath(paths[i], NULL) : NULL;
		if (!real)
			continue;
		sv_push(out, real);
		char *slash = strrchr(real, '/');
		if (slash && slash != real) { /* the folder of labs, of submissions */
			*slash = '\0';
			sv_push(out, real);
		}
		free(real);
	}
}

/* ---- memcheck tests of a program that hung ----------------------------
 *
 * A program that spins or blocks for good in one test would do the same
 * in a memcheck test that runs it the same way, and there it would cost
 * the memcheck test's whole (doubled) limit for nothing: a memcheck test
 * judges the memory of a run that ends.  So that run is skipped, and the
 * verdict says why and which test showed it.  "The same way" is strict:
 * the memcheck test's steps, up to the one where the program hung, are the
 * other test's (programs, arguments, environment, input, readiness; only
 * expectations and memcheck modes may differ), and no check unit is among
 * them.  The evidence itself is the test's (runtest.c, note_hang): a
 * process asleep with a timer is no evidence.  Selected alone (--test, the
 * "reproduce" command), the memcheck test runs in full. */

struct test_done {
	const struct test_spec *t;
	struct test_hang hang;
};

static int
same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static int
same_step(const struct step *a, const struct step *b)
{
	if (a->kind != b->kind || a->kind == STEP_CHECK || !same_str(a->id, b->id))
		return 0;
	if (a->kind != STEP_START && a->kind != STEP_RUN)
		return 1;
	if (!same_str(a->program, b->program) || a->is_ref != b->is_ref || a->nargs != b->nargs ||
	    a->nenv != b->nenv || !same_str(a->stdin_text, b->stdin_text) || a->repeat != b->repeat ||
	    a->ready.kind != b->ready.kind || a->ready.port != b->ready.port || !same_str(a->ready.text, b->ready.text))
		return 0;
	for (size_t i = 0; i < a->nargs; i++)
		if (!same_str(a->args[i], b->args[i]))
			return 0;
	for (size_t i = 0; i < a->nenv; i++)
		if (!same_str(a->env[i].key, b->env[i].key) || !same_str(a->env[i].value, b->env[i].value))
			return 0;
	return 1;
}

/* The memcheck mode t runs the process named id with (MEMCHECK_NONE when
 * it runs none of its programs under a memcheck). */
static int
memcheck_of(const struct test_spec *t, const char *id)
{
	int any = MEMCHECK_NONE;
	for (size_t i = 0; i < t->nsteps; i++) {
		const struct step *s = &t->steps[i];
		if (s->kind != STEP_START && s->kind != STEP_RUN)
			continue;
		int mode = step_memcheck(t, s);
		size_t n = strlen(s->id);
		if (!strncmp(s->id, id, n) && (id[n] == '\0' || id[n] == '#'))
			return mode;
		if (mode != MEMCHECK_NONE && !s->is_ref)
			any = mode;
	}
	return any == MEMCHECK_NONE ? MEMCHECK_NONE : -1;
}

static int
uses_valgrind(const struct test_spec *t)
{
	for (size_t i = 0; i < t->nsteps; i++)
		if ((t->steps[i].kind == STEP_START || t->steps[i].kind == STEP_RUN) &&
		    step_memcheck(t, &t->steps[i]) == MEMCHECK_VALGRIND)
			return 1;
	return 0;
}

/* Fills r and returns 1 when memcheck test t need not run: a test done
 * before it ran a student program the same way, and it hung. */
static int
memcheck_skip(const struct test_spec *t, const struct test_done *done, size_t ndone, struct graded_test *r)
{
	int any = 0;
	for (size_t i = 0; i < t->nsteps; i++)
		any |= (t->steps[i].kind == STEP_START || t->steps[i].kind == STEP_RUN) &&
		       step_memcheck(t, &t->steps[i]) != MEMCHECK_NONE;
	if (!any)
		return 0;
	for (size_t d = 0; d < ndone; d++) {
		const struct test_spec *f = done[d].t;
		const struct test_hang *h = &done[d].hang;
		if (!h->found)
			continue;
		/* Hung at a step: that step and those before it; at the end: all. */
		size_t upto = h->step < f->nsteps ? h->step + 1 : f->nsteps;
		if (upto > t->nsteps || (h->step >= f->nsteps && t->nsteps != f->nsteps))
			continue;
		size_t i = 0;
		while (i < upto && same_step(&f->steps[i], &t->steps[i]))
			i++;
		if (i < upto)
			continue;
		int mode = memcheck_of(t, h->id);
		const char *tool = mode == MEMCHECK_VALGRIND ? " under Valgrind" : mode == MEMCHECK_ASAN ? " under AddressSanitizer" : "";
		int ready = h->status == ST_FAIL;
		r->status = h->status;
		r->message = xstrfmt("your %s was not run%s: run the same way in test \"%s\", it %s (it %s), so it would not here either",
				     h->id, tool, f->name, ready ? "never became ready" : "did not finish",
				     !strcmp(h->how, "spins") ? "spins: a busy loop" : "waits for something that never comes");
		r->details = xstrfmt("  this test looks for memory errors in a run of your %s that ends, and test \"%s\" showed that "
				     "its run does not end: fix that first (the details of \"%s\" say where it was stuck).\n"
				     "  to run this test anyway: %s\n",
				     h->id, f->name, f->name, r->reproduce);
		r->duration_ms = 0;
		return 1;
	}
	return 0;
}

/* The compile cache's folder, checked, or NULL (none: --no-cache, or one
 * that cannot be used, which is said once and costs only the cache). */
static char *
compile_cache(const struct grade_options *o)
{
	if (o->no_cache)
		return NULL;
	char *dir = NULL, err[512] = "no cache folder: neither XDG_CACHE_HOME nor HOME is set";
	if (o->cache_dir && o->cache_dir[0] != '/') {
		char *cwd = getcwd(NULL, 0);
		dir = cwd ? xstrfmt("%s/%s", cwd, o->cache_dir) : NULL;
		free(cwd);
	} else {
		dir = o->cache_dir ? xstrdup(o->cache_dir) : cache_default_dir();
	}
	if (dir && cache_check_dir(dir, err, sizeof err) == 0) {
		char *real = realpath(dir, NULL); /* as the sandbox must hide it */
		if (real) {
			free(dir);
			return real;
		}
		snprintf(err, sizeof err, "cannot resolve \"%s\": %s", dir, strerror(errno));
	}
	if (dir || o->cache_dir)
		fprintf(stderr, "grader: note: building without the compile cache: %s\n", err);
	free(dir);
	return NULL;
}

int
grade_run(const struct lab_spec *spec, const struct grade_options *o, struct grade_report *rep,
	  struct sandbox_info *iso, char *err, size_t errlen)
{
	int64_t started = now_ms();
	memset(rep, 0, sizeof *rep);
	rep->lab = spec->name;
	rep->submission = o->submission;
	rep->seed = o->seed;
	rep->isolation_mode = iso->mode == ISOLATION_NAMESPACES ? "namespaces" : "none";
	rep->isolation_detail = iso->detail;
	rep->build_status = "ok";
	rep->build_log = xstrdup("");
	/* Untrusted code never runs unisolated unless the caller says it is
	 * their own (grader check, --allow-unisolated). */
	if (iso->mode != ISOLATION_NAMESPACES && (o->require_isolation || !o->allow_unisolated)) {
		errf(err, errlen, "%s: %s; `grader doctor` says what is missing and how to get it%s",
		     o->require_isolation ? "isolation is required but not available"
					  : "refusing to run a submission without isolation",
		     iso->detail,
		     o->require_isolation ? "" : " (--allow-unisolated runs it anyway: only for your own code)");
		return -2;
	}

	timing_mark("grading begins");
	sandbox_catch_signals(); /* Ctrl-C must not leave the scratch folder behind */
	const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char *scratch = xstrfmt("%s/ipcgrader-XXXXXX", tmp);
	if (!mkdtemp(scratch) || chmod(scratch, 0755) < 0) {
		errf(err, errlen, "cannot create a scratch folder in %s: %s", tmp, strerror(errno));
		free(scratch);
		return -1;
	}
	int rc = stage_runtime(spec, o, scratch, err, errlen);
	int need_asan = 0;
	for (size_t i = 0; i < spec->ntests; i++)
		if (selected(o, &spec->tests[i]))
			for (size_t j = 0; j < spec->tests[i].nsteps; j++) {
				const struct step *s = &spec->tests[i].steps[j];
				need_asan |= s->kind <= STEP_RUN && !s->is_ref &&
					     step_memcheck(&spec->tests[i], s) == MEMCHECK_ASAN;
			}
	struct build_result b = { 0 };
	struct strvec hide = STRVEC_INIT;
	hidden_paths(spec, o, &hide);
	char *cache = compile_cache(o);
	if (cache)
		sv_push(&hide, cache); /* other submissions' programs */
	struct build_sandbox box = { iso->mode, (const char *const *)hide.v, cache };
	/* Valgrind tests: the same, and libc's separate debug info (debuginfo.h). */
	struct strvec hide_vg = STRVEC_INIT;
	for (size_t i = 0; i < hide.n; i++)
		sv_push(&hide_vg, hide.v[i]);
	debuginfo_valgrind_hide(&hide_vg);
	if (rc == 0) {
		timing_mark("build begins");
		build_submission(spec, o->submission, scratch, need_asan, &box, &b);
		timing_mark("build ends");
		if (b.status == BUILD_INTERNAL)
			rc = errf(err, errlen, "%s", b.message);
	}
	if (rc < 0)
		goto out;
	char *bin = xstrfmt("%s/bin", scratch), *asan = xstrfmt("%s/bin-asan", scratch);
	char *ref = xstrfmt("%s/ref", scratch), *lib = xstrfmt("%s/libipcgrader-linebuf.so", scratch);
	char *valgrind = find_in_path("valgrind");
	/* Students see their programs and the preload library; only the init
	 * and the references see the references. */
	struct sandbox_bind binds[] = { { bin, 0 },
					{ lib, 0 },
					{ ref, SANDBOX_BIND_TRUSTED },
					{ need_asan ? asan : NULL, 0 },
					{ NULL, 0 } };
	struct grade_env env = { .spec = spec, .bin_dir = bin, .asan_dir = need_asan ? asan : NULL,
				 .ref_dir = ref, .linebuf = lib, .valgrind = valgrind, .mode = iso->mode,
				 .binds = binds, .hide = (const char *const *)hide.v, .seed = o->seed };
	rep->build_status = b.status == BUILD_OK ? "ok" : "failed";
	rep->build_warnings = b.warnings;
	if (b.log) { /* the report takes the log over */
		free(rep->build_log);
		rep->build_log = b.log;
		b.log = NULL;
	}
	rep->tests = xcalloc(spec->ntests + 1, sizeof *rep->tests);
	rep->skipped = xcalloc(spec->ntests + 1, sizeof *rep->skipped);
	size_t total = 0;
	for (size_t i = 0; i < spec->ntests; i++)
		total += selected(o, &spec->tests[i]);
	struct test_done *done = xcalloc(spec->ntests + 1, sizeof *done);
	size_t ndone = 0;
	for (size_t i = 0; i < spec->ntests; i++) {
		const struct test_spec *t = &spec->tests[i];
		if (!selected(o, t)) {
			rep->skipped[rep->nskipped++] = (struct skipped_test){ xstrdup(t->name), (int)i + 1, t->points,
									       t->visible, o->visible_only && !t->visible };
			continue;
		}
		struct graded_test *r = &rep->tests[rep->ntests++];
		r->number = (int)i + 1;
		r->name = xstrdup(t->name);
		r->description = xstrdup(t->description ? t->description : "");
		r->max_score = t->points;
		r->visible = t->visible;
		r->reproduce = reproduce(o, t->name);
		if (o->progress)
			o->progress(o->progress_arg, r, rep->ntests - 1, total, 0);
		if (b.status != BUILD_OK) {
			r->status = ST_BUILD_FAILED;
			r->message = xstrdup(b.message);
			r->details = xstrdup("");
		} else if (!memcheck_skip(t, done, ndone, r)) {
			env.hide = (const char *const *)(uses_valgrind(t) ? hide_vg.v : hide.v);
			done[ndone].t = t;
			runtest_run_hang(&env, t, r, &done[ndone++].hang);
		}
		if (sandbox_interrupted())
			break;
		r->score = r->status == ST_PASS ? t->points : 0;
		rep->score += r->score;
		rep->max_score += t->points;
		if (o->progress)
			o->progress(o->progress_arg, r, rep->ntests - 1, total, 1);
	}
	free(done);
	free(bin);
	free(asan);
	free(ref);
	free(lib);
	free(valgrind);
	rep->duration_ms = (long)(now_ms() - started);
out:
	build_result_release(&b);
	sv_clear(&hide);
	sv_clear(&hide_vg);
	free(cache);
	if (!getenv("IPCGRADER_KEEP"))
		rm_rf(scratch);
	free(scratch);
	if (sandbox_interrupted()) { /* the scratch folder is gone: now die of it */
		int sig = sandbox_interrupted();
		sandbox_release(); /* atexit handlers do not run when we die of sig */
		signal(sig, SIG_DFL);
		raise(sig);
		return errf(err, errlen, "interrupted by signal %d", sig);
	}
	return rc;
}

void
grade_release(struct grade_report *rep)
{
	for (size_t i = 0; i < rep->ntests; i++)
		graded_test_release(&rep->tests[i]);
	free(rep->tests);
	for (size_t i = 0; i < rep->nskipped; i++)
		free(rep->skipped[i].name);
	free(rep->skipped);
	free(rep->build_log);
	memset(rep, 0, sizeof *rep);
}
