/* The build runs sandboxed like a test: the submission's files are copied
 * (regular files only, size-capped) into the scratch folder by the grader,
 * then the compiler runs as an untrusted program in a sandbox whose view
 * holds the system's headers and libraries, the sources (read-only) and the
 * output folders (writable), and nothing else: an #include or .incbin of a
 * host file (the lab's hidden tests, /etc/shadow) finds nothing.  Its time,
 * memory (per process and, where cgroups exist, in total) and output are
 * limited. */
#define _GNU_SOURCE
#include "build.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "capture.h"
#include "sandbox.h"
#include "spawn.h"

#define BUILD_TIMEOUT_MS 60000
#define BUILD_LOG_MAX (64 * 1024)
#define BUILD_MEMORY_MB 2048  /* per compiler process (RLIMIT_AS): cc1 reading /dev/zero stops here */
#define BUILD_TOTAL_MB 2048   /* the whole build (cgroup) */
#define BUILD_FILE_MAX (1024 * 1024) /* per source file handed in */
#define BUILD_OUTPUT_KB (64 * 1024)  /* per file the compiler writes */

static int
count_warnings(const char *log)
{
	int n = 0;
	for (const char *p = log; (p = strstr(p, ": warning: ")); p++)
		n++;
	return n;
}

struct build_job {
	const struct lab_spec *spec;
	const char *cc, *srcdir, *bindir, *asandir;
	int asan;
};

/* Compiles one program, inside the sandbox; appends the compiler's words to log. */
static enum build_status
compile(const struct build_job *job, const struct program_spec *prog, int asan, struct strbuf *log, char **message)
{
	const struct lab_spec *spec = job->spec;
	struct strvec argv = STRVEC_INIT;
	sv_push(&argv, job->cc);
	for (size_t i = 0; i < spec->ncflags; i++)
		sv_push(&argv, spec->cflags[i]);
	if (asan) {
		sv_push(&argv, "-fsanitize=address,undefined");
		sv_push(&argv, "-fno-omit-frame-pointer");
		sv_push(&argv, "-g");
	}
	sv_push(&argv, "-o");
	sv_pushf(&argv, "%s/%s", asan ? job->asandir : job->bindir, prog->name);
	for (size_t i = 0; i < prog->nsources; i++)
		sv_push(&argv, prog->sources[i]);
	for (size_t i = 0; i < spec->nldflags; i++)
		sv_push(&argv, spec->ldflags[i]);
	char *const envp[] = { "PATH=/usr/local/bin:/usr/bin:/bin", "LC_ALL=C", "LANG=C", "TMPDIR=/tmp", NULL };
	struct child c = { .argv = argv.v,
			   .envp = envp,
			   .cwd = job->srcdir,
			   .jail = sandbox_jail(1),
			   .limits = { .memory_mb = BUILD_MEMORY_MB, .file_size_kb = BUILD_OUTPUT_KB, .processes = 64 } };
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
		} else if (st.how == EXIT_SIGNAL) {
			char desc[160];
			exit_status_describe(&st, desc, sizeof desc);
			*message = xstrfmt("the submission does not compile: the compiler %s while building \"%s\" "
					   "(it is limited to %d MB of memory and %d s: does a source include a huge or endless file?)",
					   desc, prog->name, BUILD_MEMORY_MB, BUILD_TIMEOUT_MS / 1000);
			rc = BUILD_FAILED;
		} else if (st.code != 0) {
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

/* The sandbox's body: every pass, every program; the result goes to the
 * parent as JSON. */
static void
build_body(void *arg, int report_fd)
{
	const struct build_job *job = arg;
	struct strbuf log = STRBUF_INIT;
	char *message = NULL;
	enum build_status status = BUILD_OK;
	int warnings = 0;
	for (int pass = 0; pass < (job->asan ? 2 : 1) && status == BUILD_OK; pass++) {
		for (size_t i = 0; i < job->spec->nprograms && status == BUILD_OK; i++)
			status = compile(job, &job->spec->programs[i], pass, &log, &message);
		/* Warnings of the plain build only: the ASan pass repeats them. */
		if (pass == 0)
			warnings = count_warnings(log.buf ? log.buf : "");
	}
	json_t *o = json_pack("{s:i, s:i, s:s, s:s}", "status", (int)status, "warnings", warnings, "message",
			      message ? message : "", "log", log.buf ? log.buf : "");
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (text)
		write_all(report_fd, text, strlen(text));
	free(text);
	json_decref(o);
	free(message);
	sb_release(&log);
	sandbox_kill_others(NULL, 0);
}

/* Copies one handed-in file: it must be a regular file (not a link to
 * someone else's, not a FIFO that blocks, not a device) of a sane size.
 * Returns 0, 1 when the submission is at fault (message set), -1 when the
 * grader is (message set). */
static int
copy_source(const char *from, const char *to, const char *name, char **message)
{
	struct stat st;
	if (lstat(from, &st) < 0) {
		*message = xstrfmt("the submission has no file \"%s\"", name);
		return 1;
	}
	if (S_ISLNK(st.st_mode)) {
		*message = xstrfmt("\"%s\" is a symbolic link: hand in the file itself", name);
		return 1;
	}
	int in = open(from, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (in < 0 || fstat(in, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (in >= 0)
			close(in);
		*message = in < 0 && errno != ELOOP ? xstrfmt("cannot read \"%s\": %s", name, strerror(errno))
						    : xstrfmt("\"%s\" is not a regular file", name);
		return 1;
	}
	if (st.st_size > BUILD_FILE_MAX) {
		close(in);
		*message = xstrfmt("\"%s\" is %lld bytes; a source file may have at most %d", name, (long long)st.st_size,
				   BUILD_FILE_MAX);
		return 1;
	}
	int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	int rc = out < 0 ? -1 : copy_fd(in, out);
	if (rc < 0)
		*message = xstrfmt("internal error: cannot copy \"%s\": %s", from, strerror(errno));
	close(in);
	if (out >= 0 && close(out) < 0 && rc == 0)
		rc = -1;
	return rc;
}

/* As root, the sandbox gives the output folders to the compiler's uid;
 * the binaries go back to root afterwards, so that no student program can
 * change them. */
static void
own_outputs(const char *dir, uid_t uid)
{
	if (geteuid() != 0)
		return;
	if (chown(dir, uid, uid) < 0)
		return;
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char *path = xstrfmt("%s/%s", dir, e->d_name);
		if (lchown(path, uid, uid) < 0) {
			/* nothing better to do: the test will see what it sees */
		}
		free(path);
	}
	if (d)
		closedir(d);
}

void
build_submission(const struct lab_spec *spec, const char *subdir, const char *scratch, int asan,
		 const struct build_sandbox *box, struct build_result *r)
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
	for (size_t i = 0; i < spec->nfiles && r->status != BUILD_INTERNAL; i++) {
		char *from = xstrfmt("%s/%s", subdir, spec->files[i]);
		char *to = xstrfmt("%s/%s", srcdir, spec->files[i]);
		char *message = NULL;
		int rc = copy_source(from, to, spec->files[i], &message);
		if (rc != 0) {
			sb_addf(&log, "%s\n", message);
			if (r->status == BUILD_OK || rc < 0) {
				free(r->message);
				r->message = message;
				message = NULL;
			}
			r->status = rc < 0 ? BUILD_INTERNAL : BUILD_FAILED;
		}
		free(message);
		free(from);
		free(to);
	}
	/* What the lab provides (a header fixing a protocol) is the lab's
	 * copy, whatever the student has. */
	for (size_t i = 0; i < spec->nprovided && r->status == BUILD_OK; i++) {
		char *from = xstrfmt("%s/provided/%s", spec->dir, spec->provided[i]);
		char *to = xstrfmt("%s/%s", srcdir, spec->provided[i]);
		if (copy_file(from, to, 0644) < 0) {
			r->status = BUILD_INTERNAL;
			r->message = xstrfmt("internal error: cannot copy the lab's \"%s\": %s", from, strerror(errno));
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
	if (!spec->nprograms)
		goto out;
	/* The same files, flags, compiler and grader: the same programs. */
	char key[CACHE_KEY_LEN + 1];
	int keyed = box->cache_dir && cache_key(spec, srcdir, cc, asan, key) == 0;
	char *said;
	if (keyed && cache_fetch(box->cache_dir, key, spec, bindir, asandir, asan, &r->warnings, &said)) {
		sb_adds(&log, said); /* the compiler's words, as it said them then */
		free(said);
		r->cached = 1;
		goto out;
	}
	struct sandbox_bind binds[] = { { srcdir, 0 },
					{ bindir, SANDBOX_BIND_WRITABLE },
					{ asan ? asandir : NULL, SANDBOX_BIND_WRITABLE },
					{ NULL, 0 } };
	struct sandbox_config cfg = { .mode = box->mode,
				      .binds = binds,
				      .hide = box->hide,
				      .deadline_ms = (asan ? 2 : 1) * (int)spec->nprograms * BUILD_TIMEOUT_MS + 10000,
				      .memory_mb = BUILD_TOTAL_MB,
				      .pids = 128 };
	struct build_job job = { spec, cc, srcdir, bindir, asandir, asan };
	struct strbuf rep = STRBUF_INIT;
	char err[512];
	int rc = sandbox_run(&cfg, build_body, &job, &rep, NULL, err, sizeof err);
	json_t *o = rc == 0 ? json_loadb(rep.buf ? rep.buf : "", rep.len, 0, NULL) : NULL;
	int status, warnings;
	const char *message, *text;
	if (o && json_unpack(o, "{s:i, s:i, s:s, s:s}", "status", &status, "warnings", &warnings, "message", &message,
			     "log", &text) == 0) {
		r->status = (enum build_status)status;
		r->warnings = warnings;
		if (*message)
			r->message = xstrdup(message);
		sb_adds(&log, text);
	} else {
		r->status = BUILD_INTERNAL;
		r->message = xstrfmt("internal error: the build's sandbox %s",
				     rc < 0 ? err : rc == 1 ? "did not finish in time" : "gave no readable report");
	}
	json_decref(o);
	sb_release(&rep);
	own_outputs(bindir, 0);
	if (asan)
		own_outputs(asandir, 0);
	if (keyed && r->status == BUILD_OK)
		cache_store(box->cache_dir, key, spec, bindir, asandir, asan, r->warnings, log.buf ? log.buf : "");
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
