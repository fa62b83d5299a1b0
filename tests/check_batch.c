/* grader batch and grader merge (grader/batch.c): SHA-256 and the shard
 * hash against known values, CSV cells (quoting, formula injection),
 * hostile archives refused by batch_extract, and the grader binary run
 * as an instructor runs it: folders, zip and tar.gz submissions graded
 * beside refused ones, a Gradescope export, resumption after kill -9 and
 * Ctrl-C, regrading only what changed, shards merged back equal to the
 * unsharded run, and merges refused.  Most gradings use the tiny lab
 * tests/batch/lab (a fraction of a second each). */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "batch.h"
#include "capture.h"
#include "spawn.h"
#include "unpack.h"
#include "util.h"

#define GRADER "build/grader"
#define LAB "tests/batch/lab"

static char tmpdir[] = "/tmp/check-batch-XXXXXX";
static char *case_dir; /* a fresh folder per test */

static const char good_c[] = "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n";
static const char half_c[] = "#include <stdio.h>\nint main(void) { puts(\"bye\"); return 0; }\n";

static void
setup(void)
{
	static int n;
	case_dir = xstrfmt("%s/case-%d-%d", tmpdir, (int)getpid(), n++);
	ck_assert_int_eq(mkdir_p(case_dir), 0);
}

static void
teardown(void)
{
	if (case_dir)
		rm_rf(case_dir);
	free(case_dir);
	case_dir = NULL;
}

static char *
path_in(const char *rel)
{
	return xstrfmt("%s/%s", case_dir, rel);
}

static void
write_text(const char *path, const char *text)
{
	char *dir = xstrdup(path);
	*strrchr(dir, '/') = '\0';
	ck_assert_int_eq(mkdir_p(dir), 0);
	free(dir);
	FILE *f = fopen(path, "w");
	ck_assert_msg(f != NULL, "cannot write %s", path);
	fputs(text, f);
	fclose(f);
}

/* A submission folder root/name holding hello.c. */
static void
submission(const char *root, const char *name, const char *code)
{
	char *p = xstrfmt("%s/%s/%s/hello.c", case_dir, root, name);
	write_text(p, code);
	free(p);
}

static char *
slurp(const char *path)
{
	char *text = read_file(path, 16 << 20, NULL);
	ck_assert_msg(text != NULL, "cannot read %s", path);
	return text;
}

/* Runs the grader (args after "grader", NULL-ended) from the repository;
 * returns its exit status and its stdout+stderr in *out (may be NULL). */
static const char *extra_env; /* one more VAR=value for the grader, or NULL */

static int
grader(char **out, const char *const *args)
{
	struct strvec argv = STRVEC_INIT, env = STRVEC_INIT;
	sv_push(&argv, GRADER);
	for (const char *const *a = args; *a; a++)
		sv_push(&argv, *a);
	sv_pushf(&env, "PATH=%s", getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	sv_pushf(&env, "TMPDIR=%s", tmpdir);
	if (extra_env)
		sv_push(&env, extra_env);
	struct child c = { .argv = argv.v, .envp = env.v };
	struct capture cap;
	capture_init(&cap, 1 << 20);
	struct exit_status st;
	int timed_out;
	char err[256];
	int rc = child_run(&c, 120000, &cap, &st, &timed_out, err, sizeof err);
	ck_assert_msg(rc == 0, "cannot run the grader: %s", err);
	ck_assert_msg(!timed_out, "the grader hung");
	char *text = capture_bytes(&cap, 1, NULL);
	ck_assert_msg(st.how == EXIT_CODE, "the grader died of signal %d: %s", st.signal, text);
	if (out)
		*out = text;
	else
		free(text);
	capture_release(&cap);
	sv_clear(&argv);
	sv_clear(&env);
	return st.code;
}

/* grader batch LAB case/root --output case/out -j 2, and more args. */
static int
batch(char **out, const char *lab, const char *root, const char *outdir, const char *more1, const char *more2)
{
	char *r = path_in(root), *o = path_in(outdir);
	const char *args[] = { "batch", lab, r, "--output", o, "-j", "2", more1, more2, NULL };
	int rc = grader(out, args);
	free(r);
	free(o);
	return rc;
}

/* ---- archives written for the tests ------------------------------------ */

struct entry {
	const char *path;
	mode_t type; /* AE_IFREG, AE_IFDIR, AE_IFLNK, AE_IFCHR; 0: hard link */
	const char *data; /* contents, or a link's target */
	size_t zeros;     /* a file of this many zero bytes instead */
};

static void
make_archive(const char *path, int zip, const struct entry *e, size_t n)
{
	struct archive *a = archive_write_new();
	if (zip) {
		archive_write_set_format_zip(a);
	} else {
		archive_write_set_format_pax_restricted(a);
		archive_write_add_filter_gzip(a);
	}
	ck_assert_int_eq(archive_write_open_filename(a, path), ARCHIVE_OK);
	char *zeros = NULL;
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *ae = archive_entry_new();
		archive_entry_set_pathname(ae, e[i].path);
		archive_entry_set_perm(ae, 0644);
		size_t size = e[i].zeros ? e[i].zeros : e[i].data && e[i].type == AE_IFREG ? strlen(e[i].data) : 0;
		if (e[i].type == 0) {
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_hardlink(ae, e[i].data);
			size = 0;
		} else {
			archive_entry_set_filetype(ae, e[i].type);
		}
		if (e[i].type == AE_IFLNK)
			archive_entry_set_symlink(ae, e[i].data);
		if (e[i].type == AE_IFCHR)
			archive_entry_set_rdev(ae, makedev(1, 3));
		archive_entry_set_size(ae, (la_int64_t)size);
		ck_assert_int_ge(archive_write_header(a, ae), ARCHIVE_WARN);
		if (e[i].zeros) {
			zeros = xrealloc(zeros, e[i].zeros);
			memset(zeros, 0, e[i].zeros);
			archive_write_data(a, zeros, e[i].zeros);
		} else if (size) {
			archive_write_data(a, e[i].data, size);
		}
		archive_entry_free(ae);
	}
	free(zeros);
	ck_assert_int_eq(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

/* ---- units --------------------------------------------------------------- */

START_TEST(sha256_known_values)
{
	static const char *const cases[][2] = {
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	};
	char hex[65];
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		batch_sha256_hex(cases[i][0], strlen(cases[i][0]), hex);
		ck_assert_str_eq(hex, cases[i][1]);
	}
	/* a million "a": many blocks, padding at a block's end */
	char *a = xmalloc(1000000);
	memset(a, 'a', 1000000);
	batch_sha256_hex(a, 1000000, hex);
	free(a);
	ck_assert_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
END_TEST

START_TEST(shard_is_the_hash_modulo_n)
{
	/* SHA-256("abc") begins ba7816bf8f01cfea */
	unsigned long long h = 0xba7816bf8f01cfeaULL;
	for (unsigned n = 1; n < 10; n++)
		ck_assert_uint_eq(batch_shard_of("abc", n), (unsigned)(h % n));
	unsigned count[4] = { 0 };
	for (int i = 0; i < 400; i++) {
		char id[32];
		snprintf(id, sizeof id, "student-%d", i);
		count[batch_shard_of(id, 4)]++;
	}
	for (int k = 0; k < 4; k++) /* spread, not all in one */
		ck_assert_msg(count[k] > 50, "shard %d got %u of 400", k, count[k]);
}
END_TEST

static const char *const csv_cases[][2] = {
	{ "alice", "alice" },
	{ "a,b", "\"a,b\"" },
	{ "say \"hi\"", "\"say \"\"hi\"\"\"" },
	{ "=1+1", "'=1+1" },
	{ "+cmd", "'+cmd" },
	{ "-2+3", "'-2+3" },
	{ "@SUM(A1)", "'@SUM(A1)" },
	{ "\tx", "'\tx" },
	{ "=HYPERLINK(\"http://x\",\"y\")", "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"" },
	{ "two\nlines", "\"two\nlines\"" },
	{ " edge", "\" edge\"" },
	{ "", "" },
	{ "a-b=c", "a-b=c" },
};

START_TEST(csv_cells)
{
	struct strbuf sb = STRBUF_INIT;
	batch_csv_text(&sb, csv_cases[_i][0]);
	ck_assert_str_eq(sb.len ? sb.buf : "", csv_cases[_i][1]);
	sb_release(&sb);
}
END_TEST

static int
exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

START_TEST(extract_good_archives)
{
	static const struct entry e[] = {
		{ "./sub/", AE_IFDIR, NULL, 0 },
		{ "./sub/hello.c", AE_IFREG, "int main(void) { return 0; }\n", 0 },
		{ "sub/deeper/notes.txt", AE_IFREG, "notes\n", 0 },
		{ "__MACOSX/._hello.c", AE_IFREG, "finder junk", 0 },
	};
	for (int zip = 0; zip < 2; zip++) {
		char *arc = path_in(zip ? "good.zip" : "good.tar.gz"), *dest = path_in(zip ? "good-z" : "good-t");
		make_archive(arc, zip, e, 4);
		char err[512] = "";
		ck_assert_msg(unpack_archive(arc, dest, &unpack_submission_limits, err, sizeof err) == 0, "%s", err);
		char *f = xstrfmt("%s/sub/hello.c", dest), *g = xstrfmt("%s/sub/deeper/notes.txt", dest);
		char *text = slurp(f);
		ck_assert_str_eq(text, "int main(void) { return 0; }\n");
		ck_assert(exists(g));
		free(text);
		free(f);
		free(g);
		g = xstrfmt("%s/__MACOSX", dest);
		ck_assert_msg(!exists(g), "__MACOSX was unpacked");
		free(g);
		free(arc);
		free(dest);
	}
}
END_TEST

/* Each hostile archive is refused with its reason, and nothing of it
 * stays: not the destination, not a file outside it. */
static const struct {
	const char *name;
	struct entry e[3];
	size_t n;
	const char *reason;
	int tar_only; /* zip has no hard links or devices */
} hostile[] = {
	{ "dotdot", { { "ok.c", AE_IFREG, "x", 0 }, { "../escaped.c", AE_IFREG, "x", 0 } }, 2, "climbs out", 0 },
	{ "dotdot-deep", { { "a/../../escaped.c", AE_IFREG, "x", 0 } }, 1, "climbs out", 0 },
	{ "absolute", { { "/tmp/check-batch-absolute.c", AE_IFREG, "x", 0 } }, 1, "absolute path", 0 },
	{ "symlink", { { "link", AE_IFLNK, "../../../etc/passwd", 0 } }, 1, "is a link", 0 },
	{ "symlink-then-write", { { "dir", AE_IFLNK, "/tmp", 0 }, { "dir/escaped.c", AE_IFREG, "x", 0 } }, 2, "is a link", 0 },
	{ "hardlink", { { "a.c", AE_IFREG, "x", 0 }, { "b.c", 0, "/etc/passwd", 0 } }, 2, "is a link", 1 },
	{ "device", { { "null", AE_IFCHR, NULL, 0 } }, 1, "not a file or a folder", 1 },
	{ "twice", { { "a.c", AE_IFREG, "x", 0 }, { "./a.c", AE_IFREG, "y", 0 } }, 2, "twice", 0 },
	{ "bomb", { { "zeros", AE_IFREG, NULL, 6 << 20 } }, 1, "zip bomb", 0 },
};

START_TEST(extract_refuses_hostile)
{
	for (int zip = 0; zip < 2 - hostile[_i].tar_only; zip++) {
		char *arc = xstrfmt("%s/%s.%s", case_dir, hostile[_i].name, zip ? "zip" : "tar.gz");
		char *dest = xstrfmt("%s/in/out", case_dir), *outside = xstrfmt("%s/in/escaped.c", case_dir);
		char *in = path_in("in");
		mkdir_p(in);
		make_archive(arc, zip, hostile[_i].e, hostile[_i].n);
		char err[512] = "";
		ck_assert_int_eq(unpack_archive(arc, dest, &unpack_submission_limits, err, sizeof err), -1);
		ck_assert_msg(strstr(err, hostile[_i].reason), "%s: \"%s\" does not say \"%s\"", arc, err,
			      hostile[_i].reason);
		ck_assert_msg(!exists(dest), "%s: the destination was left", arc);
		ck_assert_msg(!exists(outside), "%s: a file was written outside", arc);
		ck_assert(!exists("/tmp/check-batch-absolute.c"));
		rm_rf(in);
		free(in);
		free(arc);
		free(dest);
		free(outside);
	}
}
END_TEST

START_TEST(extract_limits)
{
	struct unpack_limits lim = { .entries = 10, .total = 1 << 20, .per_file = 512 << 10, .ratio = 200, .depth = 4 };
	struct entry many[11], big[3];
	char names[11][16];
	for (int i = 0; i < 11; i++) {
		snprintf(names[i], sizeof names[i], "f%d.c", i);
		many[i] = (struct entry){ names[i], AE_IFREG, "x", 0 };
	}
	for (int i = 0; i < 3; i++)
		big[i] = (struct entry){ names[i], AE_IFREG, NULL, 400 << 10 };
	const struct entry one_big = { "big", AE_IFREG, NULL, 600 << 10 };
	const struct entry deep = { "a/b/c/d/e/f.c", AE_IFREG, "x", 0 };
	const struct {
		const struct entry *e;
		size_t n;
		const char *reason;
	} cases[] = {
		{ many, 11, "over 10 entries" },
		{ big, 3, "unpacks to over 1 MiB" },
		{ &one_big, 1, "over the limit of 0 MiB a file" },
		{ &deep, 1, "folders deep" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char *arc = xstrfmt("%s/limit-%zu.zip", case_dir, i), *dest = xstrfmt("%s/limit-%zu", case_dir, i);
		make_archive(arc, 1, cases[i].e, cases[i].n);
		char err[512] = "";
		ck_assert_int_eq(unpack_archive(arc, dest, &lim, err, sizeof err), -1);
		ck_assert_msg(strstr(err, cases[i].reason), "\"%s\" does not say \"%s\"", err, cases[i].reason);
		ck_assert(!exists(dest));
		free(arc);
		free(dest);
	}
	/* ten entries are within the limit */
	char *arc = path_in("ten.zip"), *dest = path_in("ten"), err[512] = "";
	make_archive(arc, 1, many, 10);
	ck_assert_msg(unpack_archive(arc, dest, &lim, err, sizeof err) == 0, "%s", err);
	free(arc);
	free(dest);
}
END_TEST

/* ---- the command ----------------------------------------------------------- */

static json_t *
load_json(const char *rel)
{
	char *p = path_in(rel);
	json_error_t e;
	json_t *j = json_load_file(p, 0, &e);
	ck_assert_msg(j != NULL, "%s: %s", p, e.text);
	free(p);
	return j;
}

/* The CSV row of id (after "id,"), or NULL. */
static char *
csv_row(const char *csv, const char *id)
{
	char *key = xstrfmt("\r\n%s,", id);
	const char *at = strstr(csv, key);
	char *row = NULL;
	if (at) {
		at += 2;
		row = strndup(at, strcspn(at, "\r"));
	}
	free(key);
	return row;
}

START_TEST(folders_archives_and_hostile_ones)
{
	submission("root", "alice", good_c);
	submission("root", "dave", half_c);
	/* bob.zip holds a folder (a zipped folder, GitHub's repo-main/) */
	const struct entry bob[] = { { "bob-main/hello.c", AE_IFREG, good_c, 0 } };
	const struct entry carol[] = { { "hello.c", AE_IFREG, good_c, 0 } };
	const struct entry evil1[] = { { "../../escaped.c", AE_IFREG, good_c, 0 } };
	const struct entry evil2[] = { { "/tmp/check-batch-abs.c", AE_IFREG, good_c, 0 } };
	const struct entry evil3[] = { { "hello.c", AE_IFLNK, "/etc/passwd", 0 } };
	const struct entry evil4[] = { { "\033[2J\033[31m/../../x.c", AE_IFREG, good_c, 0 } }; /* a terminal escape */
	char *p;
	make_archive(p = path_in("root/bob.zip"), 1, bob, 1);
	free(p);
	make_archive(p = path_in("root/carol.tar.gz"), 0, carol, 1);
	free(p);
	make_archive(p = path_in("root/evil1.zip"), 1, evil1, 1);
	free(p);
	make_archive(p = path_in("root/evil2.tar.gz"), 0, evil2, 1);
	free(p);
	make_archive(p = path_in("root/evil3.zip"), 1, evil3, 1);
	free(p);
	make_archive(p = path_in("root/evil4.tar.gz"), 0, evil4, 1);
	free(p);
	write_text(p = path_in("root/notes.txt"), "not a submission\n");
	free(p);
	char *out;
	int rc = batch(&out, LAB, "root", "out", NULL, NULL);
	ck_assert_msg(rc == 1, "exit %d (want 1: some refused): %s", rc, out);
	char *csv = slurp(p = path_in("out/grades.csv"));
	free(p);
	ck_assert_msg(!strncmp(csv, "id,name,email,sid,total,max,state,says-hello,exits-zero,note\r\n", 62), "%s", csv);
	static const char *const rows[][2] = {
		{ "alice", "alice,,,,3,3,graded,2,1," },   { "bob", "bob,,,,3,3,graded,2,1," },
		{ "carol", "carol,,,,3,3,graded,2,1," },   { "dave", "dave,,,,1,3,graded,0,1," },
		{ "evil1", "evil1,,,,,3,refused,,,\"entry \"\"../../escaped.c\"\" climbs out of its folder (\"\"..\"\")\"" },
		{ "evil2", "evil2,,,,,3,refused,,,\"entry \"\"/tmp/check-batch-abs.c\"\" has an absolute path\"" },
		{ "evil3", "evil3,,,,,3,refused,,,\"entry \"\"hello.c\"\" is a link (to somewhere else)\"" },
		{ "evil4", "evil4,,,,,3,refused,,,\"entry \"\"\\x1b[2J\\x1b[31m/../../x.c\"\" climbs out of its folder (\"\"..\"\")\"" },
	};
	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
		char *row = csv_row(csv, rows[i][0]);
		ck_assert_msg(row && !strcmp(row, rows[i][1]), "row of %s: %s", rows[i][0], row ? row : "(none)");
		free(row);
	}
	ck_assert_msg(!strstr(csv, "notes"), "a loose file became a submission");
	ck_assert_msg(strstr(out, "] alice: 3/3 in ") && strstr(out, "] dave: 1/3 in "), "no progress lines: %s", out);
	ck_assert_msg(!strchr(csv, '\033') && !strchr(out, '\033'), "a terminal escape went through");
	ck_assert(!exists("/tmp/check-batch-abs.c"));
	ck_assert(!exists(p = path_in("escaped.c")));
	free(p);
	ck_assert(!exists(p = path_in("out/escaped.c")));
	free(p);
	/* results/<id>.json: the grade contract plus the batch object */
	json_t *r = load_json("out/results/carol.json");
	ck_assert_int_eq(json_integer_value(json_object_get(r, "score")), 3);
	json_t *k = json_object_get(r, "batch");
	ck_assert_str_eq(json_string_value(json_object_get(k, "id")), "carol");
	ck_assert_str_eq(json_string_value(json_object_get(k, "state")), "graded");
	ck_assert_int_eq(strlen(json_string_value(json_object_get(k, "source_hash"))), 64);
	ck_assert_int_eq(strlen(json_string_value(json_object_get(k, "spec_hash"))), 64);
	ck_assert_ptr_nonnull(json_string_value(json_object_get(k, "grader_version")));
	ck_assert_ptr_nonnull(json_string_value(json_object_get(k, "graded_at")));
	json_decref(r);
	json_t *b = load_json("out/batch.json");
	ck_assert_str_eq(json_string_value(json_object_get(b, "lab")), "batch-hello");
	ck_assert_int_eq(json_array_size(json_object_get(b, "submissions")), 8);
	json_decref(b);
	ck_assert(!exists(p = path_in("out/results/evil1.json")));
	free(p);
	free(csv);
	free(out);
}
END_TEST

START_TEST(gradescope_export_of_tcp_hello)
{
	/* Gradescope's "Export Submissions": one folder, its metadata, a folder
	 * per submission; here zipped, as downloaded. */
	char *good = slurp("fixtures/tcp-hello/good-minimal/server.c"), *goodc = slurp("fixtures/tcp-hello/good-minimal/client.c");
	char *bug = slurp("fixtures/tcp-hello/bug-wrong-reply/server.c"), *bugc = slurp("fixtures/tcp-hello/bug-wrong-reply/client.c");
	/* the slide's code reads uninitialised memory: what it holds depends on
	 * where the programs run (their scratch folder under TMPDIR), so only
	 * a batch that runs it as grader grade does gives grade's verdicts */
	char *ub = slurp("fixtures/tcp-hello/bug-slide-code/server.c"), *ubc = slurp("fixtures/tcp-hello/bug-slide-code/client.c");
	static const char meta[] = "submission_101:\n"
				   "  :submitters:\n"
				   "  - :name: Jane Doe\n"
				   "    :sid: '0042'\n"
				   "    :email: jane@example.edu\n"
				   "  :created_at: 2026-11-30 10:00:00.000000000 -08:00\n"
				   "  :score: 0.0\n"
				   "submission_102:\n"
				   "  :submitters:\n"
				   "  - :name: \"=cmd|' /C calc'!A0\"\n"
				   "    :sid: '7'\n"
				   "    :email: eve@example.edu\n"
				   "  - :name: Bo, Partner\n"
				   "    :sid: '8'\n"
				   "    :email: bo@example.edu\n";
	const struct entry e[] = {
		{ "assignment_9_export/submission_metadata.yml", AE_IFREG, meta, 0 },
		{ "assignment_9_export/submission_101/server.c", AE_IFREG, good, 0 },
		{ "assignment_9_export/submission_101/client.c", AE_IFREG, goodc, 0 },
		{ "assignment_9_export/submission_102/server.c", AE_IFREG, bug, 0 },
		{ "assignment_9_export/submission_102/client.c", AE_IFREG, bugc, 0 },
		{ "assignment_9_export/submission_103/server.c", AE_IFREG, ub, 0 },
		{ "assignment_9_export/submission_103/client.c", AE_IFREG, ubc, 0 },
	};
	char *zip = path_in("export.zip"), *o = path_in("out"), *out;
	make_archive(zip, 1, e, 7);
	const char *args[] = { "batch", "tcp-hello", zip, "--output", o, "-j", "2", NULL };
	/* On a machine too busy for a test's limits the grader says "error"
	 * (exit 3), never fail; the batch is then run again, as docs/batch.md
	 * tells, and grades only those. */
	int rc = grader(&out, args);
	for (int again = 0; rc == 3 && again < 3; again++) {
		free(out);
		rc = grader(&out, args);
	}
	ck_assert_msg(rc == 0, "exit %d: %s", rc, out);
	char *p = path_in("out/grades.csv"), *csv = slurp(p);
	char *row1 = csv_row(csv, "submission_101"), *row2 = csv_row(csv, "submission_102");
	const char *want1 = "submission_101,Jane Doe,jane@example.edu,0042,21,21,graded,";
	ck_assert_msg(row1 && !strncmp(row1, want1, strlen(want1)), "%s", row1);
	/* the formula in a name is defused; the group's names joined */
	ck_assert_msg(row2 && strstr(row2, "submission_102,\"'=cmd|' /C calc'!A0; Bo, Partner\",eve@example.edu; bo@example.edu,7; 8,"),
		      "%s", row2);
	json_t *r = load_json("out/results/submission_102.json");
	int score = (int)json_integer_value(json_object_get(r, "score"));
	ck_assert_msg(score < 14, "the bug got full marks");
	json_decref(r);
	char *alone = path_in("alone.json");
	const char *grade_args[] = { "grade", "tcp-hello", "fixtures/tcp-hello/bug-slide-code", "--format", "json",
				     "--output", alone, NULL };
	char *gout;
	grader(&gout, grade_args);
	free(gout);
	json_t *want = load_json("alone.json");
	r = load_json("out/results/submission_103.json");
	json_t *wt = json_object_get(want, "tests"), *gt = json_object_get(r, "tests");
	ck_assert_int_eq(json_array_size(gt), json_array_size(wt));
	for (size_t i = 0; i < json_array_size(wt); i++) {
		const char *name = json_string_value(json_object_get(json_array_get(wt, i), "name"));
		const char *exp = json_string_value(json_object_get(json_array_get(wt, i), "status"));
		const char *got = json_string_value(json_object_get(json_array_get(gt, i), "status"));
		if (strcmp(got, "error") && strcmp(exp, "error")) /* "error" is the busy machine's, no verdict */
			ck_assert_msg(!strcmp(got, exp), "bug-slide-code: %s is %s in the batch, %s by grader grade", name,
				      got, exp);
	}
	json_decref(r);
	json_decref(want);
	free(alone);
	free(ub);
	free(ubc);
	free(row1);
	free(row2);
	free(csv);
	free(p);
	free(zip);
	free(o);
	free(out);
	free(good);
	free(goodc);
	free(bug);
	free(bugc);
}
END_TEST

START_TEST(csv_hostile_folder_names)
{
	static const char *const names[] = { "=HYPERLINK(\"evil.example\",\"y\")", "a,b", "-2+3", "@me", "x\ny", "é" };
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		submission("root", names[i], good_c);
	char *out, *p;
	int rc = batch(&out, LAB, "root", "out", NULL, NULL);
	ck_assert_msg(rc == 0, "exit %d: %s", rc, out);
	char *csv = slurp(p = path_in("out/grades.csv"));
	free(p);
	static const char *const rows[] = {
		"\"'=HYPERLINK(\"\"evil.example\"\",\"\"y\"\")\",,,,3,3,graded,2,1,\r\n",
		"\"a,b\",,,,3,3,graded,2,1,\r\n",
		"'-2+3,,,,3,3,graded,2,1,\r\n",
		"'@me,,,,3,3,graded,2,1,\r\n",
		"x%0Ay,,,,3,3,graded,2,1,\r\n",
		"é,,,,3,3,graded,2,1,\r\n",
	};
	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++)
		ck_assert_msg(strstr(csv, rows[i]), "no row %s in:\n%s", rows[i], csv);
	int lines = 0;
	for (const char *c = csv; (c = strstr(c, "\r\n")); c += 2)
		lines++;
	ck_assert_int_eq(lines, 7);
	/* file names are safe; the id is in the JSON */
	json_t *r = load_json("out/results/%3DHYPERLINK%28%22evil.example%22%2C%22y%22%29.json");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r, "batch"), "id")), names[0]);
	json_decref(r);
	free(csv);
	free(out);
}
END_TEST

static ino_t
inode(const char *rel)
{
	char *p = path_in(rel);
	struct stat st;
	ino_t ino = stat(p, &st) == 0 ? st.st_ino : 0;
	free(p);
	return ino;
}

START_TEST(regrade_only_what_changed)
{
	/* the lab is copied: changing it must regrade everything */
	char *p, *lab = path_in("lab");
	char *orig = slurp(LAB "/lab.yaml");
	write_text(p = path_in("lab/lab.yaml"), orig);
	free(p);
	free(orig);
	submission("root", "s1", good_c);
	submission("root", "s3", half_c);
	char *out;
	ck_assert_int_eq(batch(&out, lab, "root", "out", NULL, NULL), 0);
	free(out);
	ino_t i1 = inode("out/results/s1.json"), i3 = inode("out/results/s3.json");
	ck_assert(i1 && i3);
	/* nothing the build reads changed (a README, .git/): nothing graded */
	write_text(p = path_in("root/s1/README.md"), "my notes\n");
	free(p);
	write_text(p = path_in("root/s1/.git/FETCH_HEAD"), "0123abc\n");
	free(p);
	ck_assert_int_eq(batch(&out, lab, "root", "out", NULL, NULL), 0);
	ck_assert_msg(strstr(out, "2 graded (2 kept from an earlier run)"), "%s", out);
	free(out);
	ck_assert(inode("out/results/s1.json") == i1 && inode("out/results/s3.json") == i3);
	/* s3 fixed: only s3 */
	submission("root", "s3", good_c);
	ck_assert_int_eq(batch(&out, lab, "root", "out", NULL, NULL), 0);
	ck_assert_msg(strstr(out, "2 graded (1 kept from an earlier run)"), "%s", out);
	free(out);
	ck_assert(inode("out/results/s1.json") == i1);
	ck_assert(inode("out/results/s3.json") != i3);
	char *csv = slurp(p = path_in("out/grades.csv")), *row = csv_row(csv, "s3");
	free(p);
	ck_assert_str_eq(row, "s3,,,,3,3,graded,2,1,");
	free(row);
	free(csv);
	/* the lab spec changed: all */
	char *spec = slurp(p = path_in("lab/lab.yaml"));
	char *changed = xstrfmt("%s\n# a comment changes the spec's hash\n", spec);
	write_text(p, changed);
	free(p);
	ck_assert_int_eq(batch(&out, lab, "root", "out", NULL, NULL), 0);
	ck_assert_msg(strstr(out, "2 graded (0 kept from an earlier run)"), "%s", out);
	free(out);
	/* --force: all */
	ck_assert_int_eq(batch(&out, lab, "root", "out", "--force", NULL), 0);
	ck_assert_msg(strstr(out, "2 graded (0 kept from an earlier run)"), "%s", out);
	free(out);
	/* another seed: all */
	ck_assert_int_eq(batch(&out, lab, "root", "out", "--seed", "7"), 0);
	ck_assert_msg(strstr(out, "2 graded (0 kept from an earlier run)"), "%s", out);
	free(out);
	free(spec);
	free(changed);
	free(lab);
}
END_TEST

/* Starts a batch (-j 1) in the background, waits for its first result to
 * be renamed into results/ (inotify, with a deadline), and sends sig. */
static void
interrupt_batch(int nsubs, int sig, int *graded_before)
{
	for (int i = 0; i < nsubs; i++) {
		char name[16];
		snprintf(name, sizeof name, "s%02d", i);
		submission("root", name, good_c);
	}
	char *results = path_in("out/results");
	ck_assert_int_eq(mkdir_p(results), 0);
	int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	ck_assert_int_ge(in, 0);
	ck_assert_int_ge(inotify_add_watch(in, results, IN_MOVED_TO), 0);
	char *root = path_in("root"), *o = path_in("out"), *tmp = xstrfmt("TMPDIR=%s", tmpdir);
	char *argv[] = { GRADER, "batch", LAB, root, "--output", o, "-j", "1", NULL };
	char *envp[] = { tmp, "PATH=/usr/bin:/bin", NULL };
	struct child c = { .argv = argv, .envp = envp, .new_pgrp = 1 };
	char err[256];
	ck_assert_msg(child_start(&c, err, sizeof err) == 0, "%s", err);
	struct pollfd p = { in, POLLIN, 0 };
	int ready = poll(&p, 1, 60000);
	ck_assert_msg(ready == 1, "no result appeared in 60 s");
	kill(c.pid, sig);
	int status;
	wait_retry(c.pid, &status, 0);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == sig, "the batch did not die of signal %d (status %#x)",
		      sig, status);
	close(c.out_fd);
	close(c.err_fd);
	close(in);
	int n = 0;
	for (int i = 0; i < nsubs; i++) {
		char *f = xstrfmt("%s/s%02d.json", results, i);
		n += exists(f);
		free(f);
	}
	*graded_before = n;
	ck_assert_msg(n >= 1 && n < nsubs, "%d of %d graded before the signal", n, nsubs);
	free(results);
	free(root);
	free(o);
	free(tmp);
}

static void
resume_after(int sig)
{
	int before, nsubs = 6;
	interrupt_batch(nsubs, sig, &before);
	ino_t kept[6];
	for (int i = 0; i < nsubs; i++) {
		char rel[32];
		snprintf(rel, sizeof rel, "out/results/s%02d.json", i);
		kept[i] = inode(rel);
	}
	if (sig == SIGINT) { /* Ctrl-C wrote the gradebook so far */
		char *p = path_in("out/grades.csv"), *csv = slurp(p);
		ck_assert_msg(strstr(csv, ",pending,"), "%s", csv);
		free(csv);
		free(p);
	}
	char *out;
	int rc = batch(&out, LAB, "root", "out", NULL, NULL);
	ck_assert_msg(rc == 0, "exit %d: %s", rc, out);
	char *want = xstrfmt("6 graded (%d kept from an earlier run)", before);
	ck_assert_msg(strstr(out, want), "want \"%s\" in: %s", want, out);
	for (int i = 0; i < nsubs; i++) {
		char rel[32];
		snprintf(rel, sizeof rel, "out/results/s%02d.json", i);
		if (kept[i])
			ck_assert_msg(inode(rel) == kept[i], "%s was graded again", rel);
		else
			ck_assert_msg(inode(rel) != 0, "%s is missing", rel);
	}
	char *p = path_in("out/tmp"), *csv;
	ck_assert_msg(rmdir(p) == 0, "out/tmp is not empty"); /* nothing half-written left */
	free(p);
	csv = slurp(p = path_in("out/grades.csv"));
	ck_assert_msg(!strstr(csv, "pending") && !strstr(csv, "error"), "%s", csv);
	free(p);
	free(csv);
	free(want);
	free(out);
}

START_TEST(resume_after_kill_9)
{
	resume_after(SIGKILL);
}
END_TEST

START_TEST(resume_after_ctrl_c)
{
	resume_after(SIGINT);
}
END_TEST

START_TEST(shards_union_equals_unsharded)
{
	for (int i = 0; i < 6; i++) {
		char name[16];
		snprintf(name, sizeof name, "student%d", i);
		submission("root", name, i % 3 ? good_c : half_c);
	}
	char *out;
	ck_assert_int_eq(batch(&out, LAB, "root", "whole", NULL, NULL), 0);
	free(out);
	int total = 0;
	for (int k = 0; k < 3; k++) {
		char shard[8], dir[16];
		snprintf(shard, sizeof shard, "%d/3", k);
		snprintf(dir, sizeof dir, "shard%d", k);
		ck_assert_int_eq(batch(&out, LAB, "root", dir, "--shard", shard), 0);
		free(out);
		char *rel = xstrfmt("%s/batch.json", dir);
		json_t *b = load_json(rel);
		total += (int)json_array_size(json_object_get(b, "submissions"));
		json_decref(b);
		free(rel);
	}
	ck_assert_int_eq(total, 6); /* each in exactly one shard (merge refuses one in two) */
	char *s0 = path_in("shard0"), *s1 = path_in("shard1"), *s2 = path_in("shard2"), *m = path_in("merged");
	const char *args[] = { "merge", "--output", m, s2, s0, s1, NULL };
	int rc = grader(&out, args);
	ck_assert_msg(rc == 0, "merge: exit %d: %s", rc, out);
	free(out);
	char *p, *whole = slurp(p = path_in("whole/grades.csv"));
	free(p);
	char *merged = slurp(p = path_in("merged/grades.csv"));
	free(p);
	ck_assert_str_eq(merged, whole);
	for (int i = 0; i < 6; i++) {
		char rel[64];
		snprintf(rel, sizeof rel, "merged/results/student%d.json", i);
		json_t *a = load_json(rel);
		snprintf(rel, sizeof rel, "whole/results/student%d.json", i);
		json_t *b = load_json(rel);
		ck_assert_int_eq(json_integer_value(json_object_get(a, "score")), json_integer_value(json_object_get(b, "score")));
		json_decref(a);
		json_decref(b);
	}
	free(whole);
	free(merged);
	free(s0);
	free(s1);
	free(s2);
	free(m);
}
END_TEST

START_TEST(merge_refuses_mismatches)
{
	char *p, *spec = slurp(LAB "/lab.yaml");
	write_text(p = path_in("lab1/lab.yaml"), spec);
	free(p);
	char *changed = xstrfmt("%s\n# changed\n", spec);
	write_text(p = path_in("lab2/lab.yaml"), changed);
	free(p);
	char *renamed = xstrdup(spec);
	memcpy(strstr(renamed, "lab: batch-hello"), "lab: batch-other", 16);
	write_text(p = path_in("lab3/lab.yaml"), renamed);
	free(p);
	for (int i = 0; i < 3; i++) {
		char name[8];
		snprintf(name, sizeof name, "s%d", i);
		submission("root", name, good_c);
	}
	char *l1 = path_in("lab1"), *l2 = path_in("lab2"), *l3 = path_in("lab3"), *out;
	ck_assert_int_eq(batch(&out, l1, "root", "a0", "--shard", "0/2"), 0);
	free(out);
	ck_assert_int_eq(batch(&out, l1, "root", "a1", "--shard", "1/2"), 0);
	free(out);
	ck_assert_int_eq(batch(&out, l2, "root", "b1", "--shard", "1/2"), 0);
	free(out);
	ck_assert_int_eq(batch(&out, l3, "root", "c1", "--shard", "1/2"), 0);
	free(out);
	ck_assert_int_eq(batch(&out, l1, "root", "d1", "--shard", "1/3"), 0);
	free(out);
	static const char *const cases[][3] = {
		{ "a0", "b1", "lab spec" },
		{ "a0", "c1", "their lab differs" },
		{ "a0", "d1", "different numbers of shards" },
		{ "a0", "a0", "given twice" },
		{ "a1", NULL, "shard 0/2 is missing" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char *x = path_in(cases[i][0]), *y = cases[i][1] ? path_in(cases[i][1]) : NULL, *m = path_in("merged");
		const char *args[] = { "merge", "--output", m, x, y, NULL };
		int rc = grader(&out, args);
		ck_assert_msg(rc == 2 && strstr(out, cases[i][2]), "%s + %s: exit %d: %s", cases[i][0],
			      cases[i][1] ? cases[i][1] : "-", rc, out);
		ck_assert_msg(!exists(m), "a refused merge wrote its output");
		free(out);
		free(x);
		free(y);
		free(m);
	}
	/* and the right pair merges */
	char *x = path_in("a0"), *y = path_in("a1"), *m = path_in("merged");
	const char *args[] = { "merge", "--output", m, x, y, NULL };
	ck_assert_int_eq(grader(&out, args), 0);
	free(out);
	free(x);
	free(y);
	free(m);
	free(l1);
	free(l2);
	free(l3);
	free(spec);
	free(changed);
	free(renamed);
}
END_TEST

START_TEST(grader_failure_is_an_error)
{
	/* the grader cannot build (no compiler): its fault, never the student's */
	submission("root", "s1", good_c);
	submission("root", "s2", half_c);
	char *out, *p;
	extra_env = "IPCGRADER_CC=/usr/bin/no-such-compiler";
	int rc = batch(&out, LAB, "root", "out", NULL, NULL);
	extra_env = NULL;
	ck_assert_msg(rc == 3, "exit %d: %s", rc, out);
	ck_assert_msg(strstr(out, "grading 2 submissions again, one at a time"), "%s", out);
	ck_assert_msg(strstr(out, "0 graded (0 kept from an earlier run), 0 refused, 2 failed in the grader"), "%s", out);
	free(out);
	char *csv = slurp(p = path_in("out/grades.csv"));
	free(p);
	char *row = csv_row(csv, "s2");
	ck_assert_msg(row && !strncmp(row, "s2,,,,,3,error,,,", 17) && strstr(row, "internal error"), "%s", row);
	free(row);
	free(csv);
	char *log = slurp(p = path_in("out/logs/s1.log"));
	free(p);
	ck_assert_msg(strstr(log, "no-such-compiler"), "%s", log);
	free(log);
	/* the machine mended, the same command grades them */
	rc = batch(&out, LAB, "root", "out", NULL, NULL);
	ck_assert_msg(rc == 0 && strstr(out, "2 graded (0 kept from an earlier run)"), "exit %d: %s", rc, out);
	free(out);
	ck_assert(!exists(p = path_in("out/logs/s1.log")));
	free(p);
}
END_TEST

/* On a terminal: a bar redrawn in place with done/total, rate and ETA;
 * elsewhere (the other tests read a pipe) one line per submission. */
START_TEST(progress_bar_on_a_terminal)
{
	submission("root", "s1", good_c);
	submission("root", "s2", good_c);
	char *root = path_in("root"), *o = path_in("out"), *tmp = xstrfmt("TMPDIR=%s", tmpdir);
	int master, slave;
	ck_assert_int_eq(openpty(&master, &slave, NULL, NULL, NULL), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char *argv[] = { GRADER, "batch", LAB, root, "--output", o, "-j", "2", NULL };
		char *envp[] = { tmp, "PATH=/usr/bin:/bin", NULL };
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(slave, 2);
		close(master);
		execve(GRADER, argv, envp);
		_exit(127);
	}
	close(slave);
	struct strbuf screen = STRBUF_INIT;
	char buf[4096];
	ssize_t n;
	int64_t deadline = now_ms() + 60000;
	struct pollfd p = { master, POLLIN, 0 };
	while (now_ms() < deadline && poll(&p, 1, 1000) >= 0) {
		n = read(master, buf, sizeof buf);
		if (n <= 0 && errno != EINTR && errno != EAGAIN)
			break; /* EIO: the batch closed the terminal (it ended) */
		if (n > 0)
			sb_add(&screen, buf, (size_t)n);
	}
	close(master);
	int status;
	wait_retry(pid, &status, 0);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x: %s", status, screen.buf);
	ck_assert_msg(screen.buf && strstr(screen.buf, "\r\033[K[###############---------------] 1/2  "), "%s",
		      screen.buf);
	ck_assert_msg(strstr(screen.buf, "\r\033[K[##############################] 2/2  "), "%s", screen.buf);
	ck_assert_msg(strstr(screen.buf, "/s  elapsed 0:") && strstr(screen.buf, "ETA "), "%s", screen.buf);
	ck_assert_msg(!strstr(screen.buf, "] s1: "), "per-submission lines on a terminal: %s", screen.buf);
	sb_release(&screen);
	free(root);
	free(o);
	free(tmp);
}
END_TEST

START_TEST(usage_errors)
{
	static const char *const cases[][4] = {
		{ "--shard", "3/3", "--shard takes K/N" },
		{ "--shard", "x", "--shard takes K/N" },
		{ "-j", "0", "-j takes" },
		{ "--seed", "-1", "--seed takes" },
	};
	submission("root", "s", good_c);
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char *out;
		int rc = batch(&out, LAB, "root", "out", cases[i][0], cases[i][1]);
		ck_assert_msg(rc == 2 && strstr(out, cases[i][2]), "%s %s: exit %d: %s", cases[i][0], cases[i][1], rc, out);
		free(out);
	}
	char *out;
	ck_assert_int_eq(batch(&out, LAB, "no-such-root", "out", NULL, NULL), 2);
	ck_assert_msg(strstr(out, "does not exist"), "%s", out);
	free(out);
	ck_assert_int_eq(batch(&out, "no-such-lab", "root", "out", NULL, NULL), 2);
	free(out);
	/* a wrong ROOT is said, not graded as an empty class */
	char *p = path_in("empty");
	mkdir_p(p);
	free(p);
	ck_assert_int_eq(batch(&out, LAB, "empty", "out", NULL, NULL), 2);
	ck_assert_msg(strstr(out, "no submissions in"), "%s", out);
	free(out);
}
END_TEST

int
main(void)
{
	/* the sandbox's unprivileged uid reaches the graders' scratch folders */
	if (!mkdtemp(tmpdir) || chmod(tmpdir, 0755) < 0) {
		perror(tmpdir);
		return 1;
	}
	Suite *s = suite_create("batch");
	TCase *units = tcase_create("units");
	tcase_add_checked_fixture(units, setup, teardown);
	tcase_add_test(units, sha256_known_values);
	tcase_add_test(units, shard_is_the_hash_modulo_n);
	tcase_add_loop_test(units, csv_cells, 0, sizeof csv_cases / sizeof *csv_cases);
	tcase_add_test(units, extract_good_archives);
	tcase_add_loop_test(units, extract_refuses_hostile, 0, sizeof hostile / sizeof *hostile);
	tcase_add_test(units, extract_limits);
	suite_add_tcase(s, units);
	TCase *cmd = tcase_create("command");
	tcase_add_checked_fixture(cmd, setup, teardown);
	tcase_set_timeout(cmd, 120);
	tcase_set_tags(cmd, "no-memcheck");
	tcase_add_test(cmd, folders_archives_and_hostile_ones);
	tcase_add_test(cmd, gradescope_export_of_tcp_hello);
	tcase_add_test(cmd, csv_hostile_folder_names);
	tcase_add_test(cmd, regrade_only_what_changed);
	tcase_add_test(cmd, resume_after_kill_9);
	tcase_add_test(cmd, resume_after_ctrl_c);
	tcase_add_test(cmd, shards_union_equals_unsharded);
	tcase_add_test(cmd, merge_refuses_mismatches);
	tcase_add_test(cmd, grader_failure_is_an_error);
	tcase_add_test(cmd, progress_bar_on_a_terminal);
	tcase_add_test(cmd, usage_errors);
	suite_add_tcase(s, cmd);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	rm_rf(tmpdir);
	return failed ? 1 : 0;
}
