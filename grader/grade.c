#define _GNU_SOURCE
#include "grade.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build.h"
#include "runtest.h"
#include "spawn.h"

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
	struct build_sandbox box = { iso->mode, (const char *const *)hide.v };
	if (rc == 0) {
		build_submission(spec, o->submission, scratch, need_asan, &box, &b);
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
		} else {
			runtest_run(&env, t, r);
		}
		if (sandbox_interrupted())
			break;
		r->score = r->status == ST_PASS ? t->points : 0;
		rep->score += r->score;
		rep->max_score += t->points;
		if (o->progress)
			o->progress(o->progress_arg, r, rep->ntests - 1, total, 1);
	}
	free(bin);
	free(asan);
	free(ref);
	free(lib);
	free(valgrind);
	rep->duration_ms = (long)(now_ms() - started);
out:
	build_result_release(&b);
	sv_clear(&hide);
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
