/* grader: the command line.  Exit status: 0 every test passed, 1 graded
 * and something failed, 2 usage or spec error, 3 the grader or its
 * environment failed (never the student's fault). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"
#include "classreport.h"
#include "doctor.h"
#include "grade.h"
#include "report.h"
#include "sandbox.h"
#include "spec.h"
#include "util.h"
#include "version.h"

#ifndef PREFIX
#define PREFIX "/usr/local"
#endif

enum { EXIT_PASS = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_INTERNAL = 3 };

static const char usage_text[] =
	"usage: grader grade LAB SUBMISSION_DIR [--format text|json|junit|tap|gradescope] [--output FILE]\n"
	"                    [--test NAME]... [--seed N] [--visible-only] [--require-isolation]\n"
	"                    [--allow-unisolated] [--color[=auto|always|never]] [--quiet]\n"
	"                    [--cache-dir DIR] [--no-cache]\n"
	"       grader check [DIR] [--color[=WHEN]] [--quiet]   run the visible tests of the lab DIR belongs to\n"
	"       grader validate LAB    check a lab spec\n"
	"       grader list LAB        the lab's tests, points and visibility\n"
	"       grader doctor          what isolation this machine gives, and the remedy for each gap\n"
	"       grader batch LAB ROOT [-j N] [--output DIR] [--shard K/N]   a whole class (docs/batch.md)\n"
	"       grader merge [--output DIR] SHARD_DIR...   one gradebook from shards\n"
		"       grader report BATCH_DIR [--output FILE]   a class report (HTML) of a graded batch\n"
	"       grader --version\n"
	"LAB is a lab folder or the name of one under labs/ (man grader: every option).\n";

static int
usage(const char *fmt, const char *arg)
{
	if (fmt) {
		fputs("grader: ", stderr);
		fprintf(stderr, fmt, arg);
		fputc('\n', stderr);
	}
	fputs(usage_text, stderr);
	return EXIT_USAGE;
}

/* Where labs, references and the preload library are: a build tree
 * (build/grader beside labs/), or an installation under PREFIX. */
struct install {
	char *labs, *refs, *linebuf;
};

static int
is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void
locate(struct install *in)
{
	char *root = getenv("IPCGRADER_ROOT") ? xstrdup(getenv("IPCGRADER_ROOT")) : NULL;
	if (!root) {
		char exe[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
		if (n > 0) {
			exe[n] = '\0';
			for (int up = 0; up < 2; up++) {
				char *slash = strrchr(exe, '/');
				if (slash)
					*slash = '\0';
			}
			char *labs = xstrfmt("%s/labs", exe);
			if (is_dir(labs))
				root = xstrdup(exe);
			free(labs);
		}
	}
	if (root) {
		in->labs = xstrfmt("%s/labs", root);
		in->refs = xstrfmt("%s/build/ref", root);
		in->linebuf = xstrfmt("%s/build/libipcgrader-linebuf.so", root);
	} else {
		in->labs = xstrdup(PREFIX "/share/ipc-grader/labs");
		in->refs = xstrdup(PREFIX "/libexec/ipc-grader/ref");
		in->linebuf = xstrdup(PREFIX "/libexec/ipc-grader/libipcgrader-linebuf.so");
	}
	free(root);
}

static void
install_release(struct install *in)
{
	free(in->labs);
	free(in->refs);
	free(in->linebuf);
}

/* A lab given as a path is used as it is; a bare name is looked up under
 * labs/, unless a lab folder (or spec file) of that name is right here.  A
 * student's own folder named like the lab is not a lab. */
static char *
resolve_lab(const struct install *in, const char *arg)
{
	struct stat st;
	char *spec = xstrfmt("%s/lab.yaml", arg);
	int here = strchr(arg, '/') || stat(spec, &st) == 0 || (stat(arg, &st) == 0 && S_ISREG(st.st_mode));
	free(spec);
	return here ? xstrdup(arg) : xstrfmt("%s/%s", in->labs, arg);
}

static int
compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A bare name that is no lab under labs/ is a typo, not a broken spec:
 * say so, with the names there are.  Returns 1 when it said so. */
static int
unknown_lab(const struct install *in, const char *arg, const char *path)
{
	struct stat st;
	if (stat(path, &st) == 0)
		return 0;
	if (!strcmp(path, arg)) { /* a path: nothing to suggest */
		fprintf(stderr, "grader: no lab at \"%s\": %s\n", arg, strerror(errno));
		return 1;
	}
	struct strvec names = STRVEC_INIT;
	DIR *d = opendir(in->labs);
	for (struct dirent *e; d && (e = readdir(d));) {
		char *spec = xstrfmt("%s/%s/lab.yaml", in->labs, e->d_name);
		if (e->d_name[0] != '.' && stat(spec, &st) == 0)
			sv_push(&names, e->d_name);
		free(spec);
	}
	if (d)
		closedir(d);
	if (names.n)
		qsort(names.v, names.n, sizeof *names.v, compare_names);
	struct strbuf list = STRBUF_INIT;
	for (size_t i = 0; i < names.n; i++)
		sb_addf(&list, "%s%s", i ? ", " : "", names.v[i]);
	if (names.n)
		fprintf(stderr, "grader: no lab named \"%s\"; labs: %s (or give a lab folder's path)\n", arg, list.buf);
	else
		fprintf(stderr, "grader: no lab named \"%s\": %s holds no lab (give a lab folder's path)\n", arg,
			in->labs);
	sb_release(&list);
	sv_clear(&names);
	return 1;
}

/* Loads and validates; prints the problems.  Returns 0 or EXIT_USAGE. */
static int
load_spec(const struct install *in, const char *arg, struct lab_spec *spec)
{
	char *path = resolve_lab(in, arg);
	if (unknown_lab(in, arg, path)) {
		memset(spec, 0, sizeof *spec);
		free(path);
		return EXIT_USAGE;
	}
	struct strbuf errors = STRBUF_INIT;
	int n = spec_load(path, spec, &errors);
	free(path);
	if (n) {
		fputs(errors.buf, stderr);
		fprintf(stderr, "grader: %d problem%s in the lab spec\n", n, n == 1 ? "" : "s");
	}
	sb_release(&errors);
	return n ? EXIT_USAGE : 0;
}

static int
cmd_validate(const struct install *in, int argc, char **argv)
{
	if (argc != 2)
		return usage("validate takes one LAB", NULL);
	struct lab_spec spec;
	int rc = load_spec(in, argv[1], &spec);
	if (rc == 0) {
		int points = 0;
		for (size_t i = 0; i < spec.ntests; i++)
			points += spec.tests[i].points;
		printf("%s: ok (%zu tests, %d points)\n", spec.file, spec.ntests, points);
	}
	spec_release(&spec);
	return rc;
}

static int
cmd_list(const struct install *in, int argc, char **argv)
{
	if (argc != 2)
		return usage("list takes one LAB", NULL);
	struct lab_spec spec;
	int rc = load_spec(in, argv[1], &spec);
	if (rc == 0) {
		printf("%s: %s\n", spec.name, spec.title);
		for (size_t i = 0; i < spec.ntests; i++) {
			const struct test_spec *t = &spec.tests[i];
			int mode = MEMCHECK_NONE; /* how its student programs run */
			for (size_t j = 0; j < t->nsteps; j++)
				if (t->steps[j].kind <= STEP_RUN && !t->steps[j].is_ref && step_memcheck(t, &t->steps[j]))
					mode = step_memcheck(t, &t->steps[j]);
			printf("  %-36s %3d pt%s  %-7s %-8s %s\n", t->name, t->points, t->points == 1 ? " " : "s",
			       t->visible ? "visible" : "hidden", mode ? memcheck_name(mode) : "-",
			       t->description ? t->description : "");
		}
	}
	spec_release(&spec);
	return rc;
}

/* A machine format is written even when nothing could be graded, saying
 * why (status "error"): a CI job or Gradescope then shows the reason, not
 * a missing file or a silent 0.  The text format has said it on stderr. */
static void
write_error_report(struct grade_report *rep, const char *format, const char *output, const char *why)
{
	char err[1024];
	if (!strcmp(format, "text"))
		return;
	rep->error = why;
	if (report_write_file(rep, format, output, err, sizeof err) < 0)
		fprintf(stderr, "grader: internal error: %s\n", err);
}

/* ---- what a person at a terminal sees: colour and progress ---------- */

/* How grade and check talk to a person: --color and --quiet. */
struct ui {
	const char *color; /* "auto", "always" or "never" */
	int quiet;         /* no progress */
};

static int
color_known(const char *when)
{
	return !strcmp(when, "auto") || !strcmp(when, "always") || !strcmp(when, "never");
}

/* Colour in the text report: always; never; auto: when the report goes to
 * a terminal, NO_COLOR (https://no-color.org) is unset or empty, and the
 * terminal is no dumb one. */
static int
want_color(const struct ui *ui, const char *format, const char *output)
{
	if (strcmp(format, "text") || !strcmp(ui->color, "never"))
		return 0;
	if (!strcmp(ui->color, "always"))
		return 1;
	const char *no_color = getenv("NO_COLOR"), *term = getenv("TERM");
	if ((no_color && *no_color) || (term && !strcmp(term, "dumb")))
		return 0;
	return (!output || !strcmp(output, "-")) && isatty(STDOUT_FILENO);
}

/* Progress on stderr while the tests run: on a terminal one status line,
 * rewritten in place and erased before the report; elsewhere (a log) a
 * line per test as it finishes, for the text report only (a machine
 * format's reader wants no chatter). */
struct progress {
	int tty, lines;
	size_t failed;
};

static void
show_progress(void *arg, const struct graded_test *r, size_t index, size_t total, int finished)
{
	struct progress *p = arg;
	if (finished)
		p->failed += r->status != ST_PASS;
	if (p->tty && !finished) {
		char line[80];
		int n = snprintf(line, sizeof line, "[%zu/%zu] %s", index + 1, total, r->name);
		if (n >= (int)sizeof line) /* one terminal line, or \r cannot take it back */
			memcpy(line + sizeof line - 4, "...", 4);
		fprintf(stderr, "\r\033[K%s", line);
		if (p->failed)
			fprintf(stderr, " (%zu failed so far)", p->failed);
	} else if (p->lines && finished) {
		fprintf(stderr, "[%zu/%zu] %-12s %s (%ld ms)\n", index + 1, total,
			r->status == ST_PASS ? "PASS" : status_name(r->status), r->name, r->duration_ms);
	}
	fflush(stderr);
}

static void
progress_done(const struct progress *p)
{
	if (p->tty) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
}

static int
grade(const struct install *in, struct grade_options *o, const char *format, const char *output,
      const struct ui *ui)
{
	struct lab_spec spec;
	struct grade_report none = { .lab = o->lab_arg, .submission = o->submission, .build_status = "ok",
				     .seed = o->seed };
	char *why = NULL;
	int rc = load_spec(in, o->lab_arg, &spec);
	if (rc) {
		why = xstrfmt("the lab spec \"%s\" could not be loaded; `grader validate %s` says why", o->lab_arg,
			      o->lab_arg);
		goto out;
	}
	none.lab = spec.name;
	if (!is_dir(o->submission)) {
		why = xstrfmt("submission folder \"%s\" does not exist or is not a folder", o->submission);
		fprintf(stderr, "grader: %s\n", why);
		rc = EXIT_USAGE;
		goto out;
	}
	for (char *const *n = o->only; n && *n; n++)
		if (!spec_test(&spec, *n)) {
			why = xstrfmt("lab \"%s\" has no test \"%s\"", spec.name, *n);
			fprintf(stderr, "grader: %s (see: grader list %s)\n", why, o->lab_arg);
			rc = EXIT_USAGE;
			goto out;
		}
	o->ref_dir = in->refs;
	o->linebuf = in->linebuf;
	struct sandbox_info iso;
	sandbox_probe(&iso);
	struct grade_report rep;
	char err[1024];
	struct progress prog = { .tty = !ui->quiet && isatty(STDERR_FILENO) };
	prog.lines = !ui->quiet && !prog.tty && !strcmp(format, "text");
	o->progress = show_progress;
	o->progress_arg = &prog;
	int grc = grade_run(&spec, o, &rep, &iso, err, sizeof err);
	progress_done(&prog);
	rep.color = want_color(ui, format, output);
	if (grc < 0) {
		/* A refusal (no isolation) is the environment's, not an internal error. */
		fprintf(stderr, grc == -2 ? "grader: %s\n" : "grader: internal error: %s\n", err);
		rc = EXIT_INTERNAL;
		write_error_report(&rep, format, output, err);
	} else if (report_write_file(&rep, format, output, err, sizeof err) < 0) {
		fprintf(stderr, "grader: internal error: %s\n", err);
		rc = EXIT_INTERNAL;
	} else {
		rc = EXIT_PASS;
		for (size_t i = 0; i < rep.ntests; i++) {
			if (rep.tests[i].status == ST_ERROR)
				rc = EXIT_INTERNAL;
			else if (rep.tests[i].status != ST_PASS && rc == EXIT_PASS)
				rc = EXIT_FAILED;
		}
	}
	grade_release(&rep);
out:
	if (why)
		write_error_report(&none, format, output, why);
	free(why);
	spec_release(&spec);
	return rc;
}

static int
cmd_grade(const struct install *in, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },   { "output", required_argument, NULL, 'o' },
		{ "test", required_argument, NULL, 't' },     { "seed", required_argument, NULL, 's' },
		{ "visible-only", no_argument, NULL, 'v' },   { "require-isolation", no_argument, NULL, 'r' },
		{ "allow-unisolated", no_argument, NULL, 'u' }, { "help", no_argument, NULL, 'h' },
		{ "color", optional_argument, NULL, 'c' },    { "colour", optional_argument, NULL, 'c' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "cache-dir", required_argument, NULL, 'C' },  { "no-cache", no_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 },
	};
	struct ui ui = { .color = "auto" };
	struct grade_options o = { .seed = 1, .self = "grader" };
	const char *format = "text", *output = NULL;
	struct strvec only = STRVEC_INIT;
	int c, rc;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'f':
			format = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case 't':
			sv_push(&only, optarg);
			break;
		case 's':
			errno = 0;
			o.seed = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || o.seed < 0) {
				rc = usage("--seed takes a whole number, not \"%s\"", optarg);
				goto out;
			}
			break;
		case 'v':
			o.visible_only = 1;
			break;
		case 'r':
			o.require_isolation = 1;
			break;
		case 'u':
			o.allow_unisolated = 1;
			break;
		case 'c':
			ui.color = optarg ? optarg : "always";
			if (!color_known(ui.color)) {
				rc = usage("--color takes auto, always or never, not \"%s\"", ui.color);
				goto out;
			}
			break;
		case 'q':
			ui.quiet = 1;
			break;
		case 'C':
			o.cache_dir = optarg;
			break;
		case 'N':
			o.no_cache = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			rc = 0;
			goto out;
		default:
			rc = usage(NULL, NULL);
			goto out;
		}
	}
	if (argc - optind != 2) {
		rc = usage("grade takes a LAB and a SUBMISSION_DIR", NULL);
		goto out;
	}
	if (!report_format_known(format)) {
		rc = usage("unknown format \"%s\"", format);
		goto out;
	}
	/* A bad --output is said now, not after every test ran. */
	char err[1024];
	if (report_output_check(output, err, sizeof err) < 0) {
		fprintf(stderr, "grader: %s\n", err);
		rc = EXIT_USAGE;
		goto out;
	}
	o.lab_arg = argv[optind];
	o.submission = argv[optind + 1];
	o.only = only.v;
	rc = grade(in, &o, format, output, &ui);
out:
	sv_clear(&only);
	return rc;
}

/* grader report BATCH_DIR [--output FILE]: the class report (classreport.c). */
static int
cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *output = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		if (c == 'o') {
			output = optarg;
		} else if (c == 'h') {
			fputs(usage_text, stdout);
			return 0;
		} else {
			return usage(NULL, NULL);
		}
	}
	if (argc - optind != 1)
		return usage("report takes one BATCH_DIR (the --output folder of grader batch)", NULL);
	const char *dir = argv[optind];
	if (!is_dir(dir)) {
		fprintf(stderr, "grader: batch folder \"%s\" does not exist or is not a folder\n", dir);
		return EXIT_USAGE;
	}
	char *path = output ? xstrdup(output) : xstrfmt("%s/report.html", dir);
	char err[1024];
	int rc = EXIT_PASS;
	if (report_output_check(path, err, sizeof err) < 0) {
		fprintf(stderr, "grader: %s\n", err);
		rc = EXIT_USAGE;
	} else {
		int n = classreport_write(dir, path, err, sizeof err);
		if (n < 0) {
			fprintf(stderr, "grader: %s\n", err);
			rc = strncmp(err, "cannot write", 12) ? EXIT_USAGE : EXIT_INTERNAL;
		} else if (strcmp(path, "-")) {
			fprintf(stderr, "grader: the class report of %d submission%s is in %s\n", n, n == 1 ? "" : "s",
				path);
		}
	}
	free(path);
	return rc;
}

/* The lab a student's folder belongs to: its .grader-lab names it. */
static int
cmd_check(const struct install *in, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "color", optional_argument, NULL, 'c' }, { "colour", optional_argument, NULL, 'c' },
		{ "quiet", no_argument, NULL, 'q' },       { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ui ui = { .color = "auto" };
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'c') {
			ui.color = optarg ? optarg : "always";
			if (!color_known(ui.color))
				return usage("--color takes auto, always or never, not \"%s\"", ui.color);
		} else if (c == 'q') {
			ui.quiet = 1;
		} else if (c == 'h') {
			fputs(usage_text, stdout);
			return 0;
		} else {
			return usage(NULL, NULL);
		}
	}
	if (argc - optind > 1)
		return usage("check takes at most one DIR", NULL);
	const char *dir = argc - optind == 1 ? argv[optind] : ".";
	char *marker = xstrfmt("%s/.grader-lab", dir);
	char *text = read_file(marker, 4096, NULL);
	if (!text) {
		fprintf(stderr,
			"grader: \"%s\" has no .grader-lab file naming its lab; grade it with: grader grade LAB %s\n",
			dir, dir);
		free(marker);
		return EXIT_USAGE;
	}
	text[strcspn(text, " \t\r\n")] = '\0';
	/* A student checking their own code: without namespaces it still runs,
	 * and the report's isolation line says so. */
	struct grade_options o = { .seed = 1, .self = "grader", .lab_arg = text, .submission = dir,
				   .visible_only = 1, .allow_unisolated = 1 };
	int rc = *text ? grade(in, &o, "text", NULL, &ui) : usage("\"%s\" is empty", marker);
	free(text);
	free(marker);
	return rc;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		return usage(NULL, NULL);
	umask(022);
	struct install in;
	locate(&in);
	int rc;
	const char *cmd = argv[1];
	if (!strcmp(cmd, "grade"))
		rc = cmd_grade(&in, argc - 1, argv + 1);
	else if (!strcmp(cmd, "check"))
		rc = cmd_check(&in, argc - 1, argv + 1);
	else if (!strcmp(cmd, "validate"))
		rc = cmd_validate(&in, argc - 1, argv + 1);
	else if (!strcmp(cmd, "list"))
		rc = cmd_list(&in, argc - 1, argv + 1);
	else if (!strcmp(cmd, "batch")) /* a whole class: batch.c */
		rc = batch_main(in.labs, in.refs, argc - 1, argv + 1);
	else if (!strcmp(cmd, "merge"))
		rc = merge_main(argc - 1, argv + 1);
	else if (!strcmp(cmd, "doctor"))
		rc = argc == 2 ? doctor_run(stdout) : usage("doctor takes no arguments", NULL);
	else if (!strcmp(cmd, "report"))
		rc = cmd_report(argc - 1, argv + 1);
	else if (!strcmp(cmd, "--version") || !strcmp(cmd, "version"))
		rc = argc == 2 ? printf("grader %s\n", version_string) < 0 : usage("--version takes no arguments", NULL);
	else if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		fputs(usage_text, stdout);
		rc = 0;
	} else
		rc = usage("unknown command \"%s\"", cmd);
	install_release(&in);
	return rc;
}
