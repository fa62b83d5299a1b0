#define _GNU_SOURCE
#include "build.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "capture.h"
#include "spawn.h"

#define BUILD_TIMEOUT_MS 60000
#define BUILD_LOG_MAX (64 * 1024)

static int
count_warnings(const char *log)
{
	int n = 0;
	for (const char *p = log; (p = strstr(p, ": warning: ")); p++)
		n++;
	return n;
}

/* Compiles one program; appends the compiler's words to log. */
static enum build_status
compile(const struct lab_spec *spec, const struct program_spec *prog, const char *cc, const char *srcdir,
	const char *bindir, int asan, struct strbuf *log, char **message)
{
	struct strvec argv = STRVEC_INIT;
	sv_push(&argv, cc);
	for (size_t i = 0; i < spec->ncflags; i++)
		sv_push(&argv, spec->cflags[i]);
	if (asan) {
		sv_push(&argv, "-fsanitize=address,undefined");
		sv_push(&argv, "-fno-omit-frame-pointer");
		sv_push(&argv, "-g");
	}
	sv_push(&argv, "-o");
	sv_pushf(&argv, "%s/%s", bindir, prog->name);
	for (size_t i = 0; i < prog->nsources; i++)
		sv_push(&argv, prog->sources[i]);
	for (size_t i = 0; i < spec->nldflags; i++)
		sv_push(&argv, spec->ldflags[i]);
	char *const envp[] = { "PATH=/usr/local/bin:/usr/bin:/bin", "LC_ALL=C", "LANG=C", NULL };
	struct child c = { .argv = argv.v, .envp = envp, .cwd = srcdir };
	struct capture out;
	capture_init(&out, BUILD_LOG_MAX);
	struct exit_status st;
	int timed_out;
	char err[256];
	enum build_status rc = BUILD_OK;
	if (child_run(&c, BUILD_TIMEOUT_MS, &out, &st, &timed_out, err, sizeof err) < 0) {
		*message = xstrfmt("internal error: cannot run the compiler: %s", err);
		rc = BUILD_INTERNAL;
	} else {
		if (timed_out) {
			*message = xstrfmt("compiling \"%s\" took longer than %d s", prog->name, BUILD_TIMEOUT_MS / 1000);
			rc = BUILD_FAILED;
		} else if (st.how != EXIT_CODE || st.code != 0) {
			*message = xstrfmt("the submission does not compile: building \"%s\" failed%s", prog->name,
					   asan ? " (with AddressSanitizer)" : "");
			rc = BUILD_FAILED;
		}
		/* The ASan pass says again what the plain pass said, unless it failed. */
		if (!asan || rc != BUILD_OK) {
			size_t len;
			char *text = capture_bytes(&out, 1, &len);
			sb_add_printable(log, text, len);
			free(text);
		}
	}
	capture_release(&out);
	sv_clear(&argv);
	return rc;
}

void
build_submission(const struct lab_spec *spec, const char *subdir, const char *scratch, int asan,
		 struct build_result *r)
{
	memset(r, 0, sizeof *r);
	struct strbuf log = STRBUF_INIT;
	char *srcdir = xstrfmt("%s/src", scratch);
	char *bindir = xstrfmt("%s/bin", scratch);
	char *asandir = xstrfmt("%s/bin-asan", scratch);
	char *cc = NULL;
	const char *want_cc = getenv("IPCGRADER_CC") ? getenv("IPCGRADER_CC") : "cc";

	if (mkdir_p(srcdir) < 0 || mkdir_p(bindir) < 0 || (asan && mkdir_p(asandir) < 0)) {
		r->status = BUILD_INTERNAL;
		r->message = xstrfmt("internal error: cannot create \"%s\": %s", scratch, strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < spec->nfiles; i++) {
		char *from = xstrfmt("%s/%s", subdir, spec->files[i]);
		char *to = xstrfmt("%s/%s", srcdir, spec->files[i]);
		struct stat st;
		if (stat(from, &st) < 0 || !S_ISREG(st.st_mode)) {
			if (r->status == BUILD_OK)
				r->message = xstrfmt("the submission has no file \"%s\"", spec->files[i]);
			r->status = BUILD_FAILED;
			sb_addf(&log, "missing file: %s\n", spec->files[i]);
		} else if (copy_file(from, to, 0644) < 0) {
			r->status = BUILD_INTERNAL;
			free(r->message);
			r->message = xstrfmt("internal error: cannot copy \"%s\": %s", from, strerror(errno));
		}
		free(from);
		free(to);
	}
	if (r->status != BUILD_OK)
		goto out;
	if (spec->nprograms && !(cc = find_in_path(want_cc))) {
		r->status = BUILD_INTERNAL;
		r->message = xstrfmt("internal error: no C compiler \"%s\" in PATH", want_cc);
		goto out;
	}
	for (int pass = 0; pass < (asan ? 2 : 1) && r->status == BUILD_OK; pass++) {
		for (size_t i = 0; i < spec->nprograms && r->status == BUILD_OK; i++)
			r->status = compile(spec, &spec->programs[i], cc, srcdir, pass ? asandir : bindir, pass, &log,
					    &r->message);
		/* Warnings of the plain build only: the ASan pass repeats them. */
		if (pass == 0)
			r->warnings = count_warnings(log.buf ? log.buf : "");
	}
out:
	r->log = sb_detach(&log);
	free(cc);
	free(srcdir);
	free(bindir);
	free(asandir);
}

void
build_result_release(struct build_result *r)
{
	free(r->message);
	free(r->log);
	memset(r, 0, sizeof *r);
}
