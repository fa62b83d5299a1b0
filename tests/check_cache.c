/* cache: the compile cache's key changes with every input of a build and
 * with nothing else; an entry comes back whole or not at all (a corrupt or
 * torn one is a miss and is removed); writers racing on one key leave one
 * good entry; the folder stays under its size; and a real build of a
 * submission is taken from the cache the second time, the same programs. */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "build.h"
#include "cache.h"
#include "sandbox.h"
#include "spec.h"
#include "util.h"

static struct lab_spec spec; /* tcp-hello */
static char *root;           /* every test's folders, removed by the runner */
static char *tmp;            /* this test's folder */
static char *cache;          /* tmp/cache */
static char *src;            /* tmp/src: the copied files, as a build has them */
static char *bin, *asanbin;  /* tmp/bin, tmp/bin-asan: a build's programs */

static void
put(const char *dir, const char *name, const char *text)
{
	char *path = xstrfmt("%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write_all(fd, text, strlen(text)), 0);
	close(fd);
	free(path);
}

static char *
get(const char *dir, const char *name)
{
	char *path = xstrfmt("%s/%s", dir, name);
	char *text = read_file(path, 1 << 20, NULL);
	free(path);
	return text;
}

/* Unchecked: in the runner, so that a failed test's folder goes too. */
static void
setup_root(void)
{
	root = xstrfmt("/tmp/check-cache-%d", (int)getpid());
	rm_rf(root);
	ck_assert_int_eq(mkdir(root, 0755), 0);
}

static void
teardown_root(void)
{
	rm_rf(root);
	free(root);
}

static void
setup(void)
{
	struct strbuf errors = STRBUF_INIT;
	ck_assert_msg(spec_load("labs/tcp-hello", &spec, &errors) == 0, "%s", errors.buf);
	sb_release(&errors);
	tmp = xstrfmt("%s/XXXXXX", root);
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	ck_assert_int_eq(chmod(tmp, 0755), 0); /* the build's sandbox reaches the submission */
	cache = xstrfmt("%s/cache", tmp);
	src = xstrfmt("%s/src", tmp);
	bin = xstrfmt("%s/bin", tmp);
	asanbin = xstrfmt("%s/bin-asan", tmp);
	ck_assert_int_eq(mkdir(src, 0755), 0);
	ck_assert_int_eq(mkdir(bin, 0755), 0);
	ck_assert_int_eq(mkdir(asanbin, 0755), 0);
	put(src, "server.c", "int main(void) { return 0; }\n");
	put(src, "client.c", "int main(void) { return 1; }\n");
	/* Stand-ins for the programs a build made. */
	put(bin, "server", "server program");
	put(bin, "client", "client program");
	put(asanbin, "server", "server program, ASan");
	put(asanbin, "client", "client program, ASan");
	char err[256];
	ck_assert_msg(cache_check_dir(cache, err, sizeof err) == 0, "%s", err);
	unsetenv("IPCGRADER_CACHE_MB");
}

static void
teardown(void)
{
	rm_rf(tmp);
	free(tmp);
	free(cache);
	free(src);
	free(bin);
	free(asanbin);
	spec_release(&spec);
}

static void
key_of(char key[CACHE_KEY_LEN + 1], int asan)
{
	ck_assert_int_eq(cache_key(&spec, src, "/usr/bin/cc", asan, key), 0);
	ck_assert_uint_eq(strlen(key), CACHE_KEY_LEN);
}

/* Empties the programs folders: where a fetch puts its programs. */
static void
clear_bins(void)
{
	const char *names[] = { "server", "client" };
	for (size_t i = 0; i < 2; i++) {
		char *a = xstrfmt("%s/%s", bin, names[i]), *b = xstrfmt("%s/%s", asanbin, names[i]);
		unlink(a);
		unlink(b);
		free(a);
		free(b);
	}
}

static int
exists(const char *dir, const char *name)
{
	char *path = xstrfmt("%s/%s", dir, name);
	int ok = access(path, F_OK) == 0;
	free(path);
	return ok;
}

/* Entries (and temporary folders) in the cache's own folder. */
static int
count_entries(const char *prefix)
{
	char *cmd = xstrfmt("ls -A %s/v1 | grep -c '^%s' || true", cache, prefix);
	FILE *p = popen(cmd, "r");
	int n = -1;
	ck_assert_int_eq(fscanf(p, "%d", &n), 1);
	pclose(p);
	free(cmd);
	return n;
}

START_TEST(key_changes_with_each_input)
{
	char base[CACHE_KEY_LEN + 1], again[CACHE_KEY_LEN + 1], other[CACHE_KEY_LEN + 1];
	key_of(base, 0);
	key_of(again, 0);
	ck_assert_str_eq(base, again); /* nothing else goes in: not the time, not the folder */

	key_of(other, 1); /* an ASan pass */
	ck_assert_str_ne(base, other);

	put(src, "client.c", "int main(void) { return 2; }\n"); /* one byte of a source */
	key_of(other, 0);
	ck_assert_str_ne(base, other);
	put(src, "client.c", "int main(void) { return 1; }\n");
	key_of(other, 0);
	ck_assert_str_eq(base, other);

	char *flag = spec.cflags[0]; /* a flag */
	spec.cflags[0] = "-std=c99";
	key_of(other, 0);
	spec.cflags[0] = flag;
	ck_assert_str_ne(base, other);

	ck_assert_int_eq(cache_key(&spec, src, "/usr/bin/true", 0, other), 0); /* another compiler */
	ck_assert_str_ne(base, other);

	/* Fields do not run into each other: the flags "-a","-bc" are not "-ab","-c". */
	char **flags = spec.cflags;
	size_t nflags = spec.ncflags;
	char *ab[] = { "-a", "-bc" }, *ba[] = { "-ab", "-c" };
	spec.cflags = ab;
	spec.ncflags = 2;
	key_of(base, 0);
	spec.cflags = ba;
	key_of(other, 0);
	spec.cflags = flags;
	spec.ncflags = nflags;
	ck_assert_str_ne(base, other);

	char *path = xstrfmt("%s/server.c", src); /* a file that cannot be read: no key */
	unlink(path);
	ck_assert_int_eq(cache_key(&spec, src, "/usr/bin/cc", 0, other), -1);
	ck_assert_int_eq(symlink("/etc/passwd", path), 0); /* nor through a link */
	ck_assert_int_eq(cache_key(&spec, src, "/usr/bin/cc", 0, other), -1);
	free(path);
}
END_TEST

START_TEST(key_changes_with_provided_file)
{
	struct lab_spec ring;
	struct strbuf errors = STRBUF_INIT;
	ck_assert_msg(spec_load("labs/ring-buffer", &ring, &errors) == 0, "%s", errors.buf);
	sb_release(&errors);
	put(src, "producer.c", "int main(void) { return 0; }\n");
	put(src, "consumer.c", "int main(void) { return 0; }\n");
	put(src, "ring.h", "#define N 8\n");
	char a[CACHE_KEY_LEN + 1], b[CACHE_KEY_LEN + 1];
	ck_assert_int_eq(cache_key(&ring, src, "/usr/bin/cc", 0, a), 0);
	put(src, "ring.h", "#define N 9\n");
	ck_assert_int_eq(cache_key(&ring, src, "/usr/bin/cc", 0, b), 0);
	ck_assert_str_ne(a, b);
	spec_release(&ring);
}
END_TEST

START_TEST(store_then_hit)
{
	char key[CACHE_KEY_LEN + 1];
	key_of(key, 1);
	ck_assert_int_eq(cache_store(cache, key, &spec, bin, asanbin, 1, 2, "server.c:3: warning: x\n"), 0);
	clear_bins();
	int warnings = -1;
	char *log = NULL;
	ck_assert_int_eq(cache_fetch(cache, key, &spec, bin, asanbin, 1, &warnings, &log), 1);
	ck_assert_int_eq(warnings, 2);
	ck_assert_str_eq(log, "server.c:3: warning: x\n");
	free(log);
	char *text = get(bin, "server");
	ck_assert_str_eq(text, "server program");
	free(text);
	text = get(asanbin, "client");
	ck_assert_str_eq(text, "client program, ASan");
	free(text);
	char *path = xstrfmt("%s/client", bin);
	ck_assert_int_eq(access(path, X_OK), 0); /* a program, runnable */
	free(path);
	ck_assert_int_eq(count_entries("tmp."), 0);
	struct stat st;
	ck_assert_int_eq(stat(cache, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0700); /* the grader's user's only */
}
END_TEST

START_TEST(miss_leaves_nothing)
{
	char key[CACHE_KEY_LEN + 1];
	key_of(key, 0);
	ck_assert_int_eq(cache_store(cache, key, &spec, bin, asanbin, 0, 0, ""), 0);
	clear_bins();
	put(src, "server.c", "int main(void) { return 3; }\n"); /* changed: another key */
	char other[CACHE_KEY_LEN + 1];
	key_of(other, 0);
	int warnings = 0;
	char *log = NULL;
	ck_assert_int_eq(cache_fetch(cache, other, &spec, bin, asanbin, 0, &warnings, &log), 0);
	ck_assert_ptr_null(log);
	ck_assert(!exists(bin, "server") && !exists(bin, "client"));
	/* The plain entry is no ASan entry. */
	ck_assert_int_eq(cache_fetch(cache, key, &spec, bin, asanbin, 1, &warnings, &log), 0);
	ck_assert(!exists(bin, "server") && !exists(asanbin, "server"));
	/* Not a key: never a path. */
	ck_assert_int_eq(cache_fetch(cache, "../../etc", &spec, bin, asanbin, 0, &warnings, &log), 0);
	ck_assert_int_eq(cache_store(cache, "../x", &spec, bin, asanbin, 0, 0, ""), -1);
}
END_TEST

/* A program changed in the cache, a truncated entry.json, an entry that
 * names another key: each is a miss, leaves no program behind, and goes. */
static const char *const corruptions[] = { "program", "entry", "key" };

START_TEST(corrupt_entry_is_a_miss)
{
	char key[CACHE_KEY_LEN + 1];
	key_of(key, 0);
	ck_assert_int_eq(cache_store(cache, key, &spec, bin, asanbin, 0, 0, "log"), 0);
	clear_bins();
	char *entry = xstrfmt("%s/v1/%s", cache, key);
	const char *how = corruptions[_i];
	if (!strcmp(how, "program")) {
		char *path = xstrfmt("%s/bin", entry);
		put(path, "client", "client program, changed");
		free(path);
	} else if (!strcmp(how, "entry")) {
		char *path = xstrfmt("%s/entry.json", entry);
		ck_assert_int_eq(truncate(path, 20), 0);
		free(path);
	} else {
		char *text = get(entry, "entry.json");
		text[10] = text[10] == 'a' ? 'b' : 'a'; /* inside "key":"..." */
		put(entry, "entry.json", text);
		free(text);
	}
	int warnings = 0;
	char *log = NULL;
	ck_assert_int_eq(cache_fetch(cache, key, &spec, bin, asanbin, 0, &warnings, &log), 0);
	ck_assert_ptr_null(log);
	ck_assert_msg(!exists(bin, "server") && !exists(bin, "client"), "%s: a program was left", how);
	ck_assert_int_eq(access(entry, F_OK), -1); /* removed: the next build stores it again */
	put(bin, "server", "server program");
	put(bin, "client", "client program");
	ck_assert_int_eq(cache_store(cache, key, &spec, bin, asanbin, 0, 0, "log"), 0);
	ck_assert_int_eq(cache_fetch(cache, key, &spec, bin, asanbin, 0, &warnings, &log), 1);
	free(log);
	free(entry);
}
END_TEST

/* Eight writers store the same key at once, eight others a key each: one
 * good entry per key, no temporary folder left. */
START_TEST(concurrent_writers)
{
	char key[CACHE_KEY_LEN + 1];
	key_of(key, 0);
	pid_t pids[16];
	for (int i = 0; i < 16; i++) {
		pids[i] = fork();
		ck_assert_int_ge(pids[i], 0);
		if (pids[i] == 0) {
			char mine[CACHE_KEY_LEN + 1];
			snprintf(mine, sizeof mine, "%s", key);
			if (i >= 8) /* a key of its own */
				mine[0] = "0123456789abcdef"[i];
			_exit(cache_store(cache, mine, &spec, bin, asanbin, 0, i, "log") == 0 ? 0 : 1);
		}
	}
	for (int i = 0; i < 16; i++) {
		int st;
		ck_assert_int_eq(waitpid(pids[i], &st, 0), pids[i]);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "writer %d failed", i);
	}
	ck_assert_int_eq(count_entries("tmp."), 0);
	ck_assert_int_le(count_entries(""), 9);
	clear_bins();
	int warnings = -1;
	char *log = NULL;
	ck_assert_int_eq(cache_fetch(cache, key, &spec, bin, asanbin, 0, &warnings, &log), 1);
	ck_assert_int_lt(warnings, 8); /* one of the writers of this key */
	free(log);
	char *text = get(bin, "client");
	ck_assert_str_eq(text, "client program");
	free(text);
}
END_TEST

/* Past IPCGRADER_CACHE_MB the entries used longest ago go. */
START_TEST(size_bound)
{
	char *big = xmalloc(300 * 1024 + 1);
	memset(big, 'x', 300 * 1024);
	big[300 * 1024] = '\0';
	put(bin, "server", big);
	free(big);
	setenv("IPCGRADER_CACHE_MB", "1", 1);
	char keys[5][CACHE_KEY_LEN + 1];
	time_t now = time(NULL);
	for (int i = 0; i < 5; i++) {
		char name[32];
		snprintf(name, sizeof name, "client %d", i);
		put(bin, "client", name);
		key_of(keys[i], 0);
		keys[i][0] = "01234"[i];
		ck_assert_int_eq(cache_store(cache, keys[i], &spec, bin, asanbin, 0, 0, ""), 0);
		/* Stored i minutes ago, in order (no waiting for the clock). */
		char *entry = xstrfmt("%s/v1/%s", cache, keys[i]);
		struct timespec when[2] = { { now - 600 + 60 * i, 0 }, { now - 600 + 60 * i, 0 } };
		ck_assert_int_eq(utimensat(AT_FDCWD, entry, when, 0), 0);
		free(entry);
		if (i == 2) { /* the first entry is used again: now the second is the oldest */
			int w;
			char *log;
			ck_assert_int_eq(cache_fetch(cache, keys[0], &spec, bin, asanbin, 0, &w, &log), 1);
			free(log);
		}
	}
	/* 300 KiB each, at most 1 MiB: at the fourth store the two used longest
	 * ago went (down to three quarters), not the one used again. */
	const int kept[5] = { 1, 0, 0, 1, 1 };
	for (int i = 0; i < 5; i++) {
		char *entry = xstrfmt("%s/v1/%s", cache, keys[i]);
		ck_assert_msg((access(entry, F_OK) == 0) == kept[i], "entry %d %s", i, kept[i] ? "evicted" : "kept");
		free(entry);
	}
}
END_TEST

START_TEST(folder_checks)
{
	char err[256];
	ck_assert_int_eq(cache_check_dir("relative/cache", err, sizeof err), -1);
	char *file = xstrfmt("%s/file", tmp);
	put(tmp, "file", "x");
	ck_assert_int_eq(cache_check_dir(file, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "not a folder"), "%s", err);
	free(file);
	/* A folder others could write is made private. */
	char *open_dir = xstrfmt("%s/open", tmp);
	ck_assert_int_eq(mkdir(open_dir, 0777), 0);
	ck_assert_int_eq(chmod(open_dir, 0777), 0);
	ck_assert_int_eq(cache_check_dir(open_dir, err, sizeof err), 0);
	struct stat st;
	ck_assert_int_eq(stat(open_dir, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	/* Another user's folder is refused (only root can make one here). */
	if (geteuid() == 0) {
		ck_assert_int_eq(chown(open_dir, 65534, 65534), 0);
		ck_assert_int_eq(cache_check_dir(open_dir, err, sizeof err), -1);
		ck_assert_msg(strstr(err, "another user"), "%s", err);
	}
	free(open_dir);
	/* A link in its place is no folder of ours. */
	char *link = xstrfmt("%s/link", tmp);
	ck_assert_int_eq(symlink(tmp, link), 0);
	ck_assert_int_eq(cache_check_dir(link, err, sizeof err), -1);
	free(link);
}
END_TEST

/* A real build, sandboxed: the second time its programs come from the
 * cache, byte for byte the same; a changed source is built again. */
START_TEST(build_hits_the_cache)
{
	struct sandbox_info iso;
	sandbox_probe(&iso);
	struct build_sandbox box = { iso.mode, NULL, cache };
	char *sub = xstrfmt("%s/submission", tmp);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	put(sub, "server.c", "#include <stdio.h>\nint main(void) { puts(\"server\"); return 0; }\n");
	put(sub, "client.c", "#include <stdio.h>\nint main(void) { int unused; puts(\"client\"); return 0; }\n");
	char *scratch[3];
	struct build_result r[3];
	for (int i = 0; i < 3; i++) {
		if (i == 2)
			put(sub, "server.c", "#include <stdio.h>\nint main(void) { puts(\"server 2\"); return 0; }\n");
		scratch[i] = xstrfmt("%s/scratch%d", tmp, i);
		build_submission(&spec, sub, scratch[i], 0, &box, &r[i]);
		ck_assert_msg(r[i].status == BUILD_OK, "build %d: %s", i, r[i].message ? r[i].message : "");
	}
	ck_assert_int_eq(r[0].cached, 0);
	ck_assert_int_eq(r[1].cached, 1);
	ck_assert_int_eq(r[2].cached, 0);
	ck_assert_int_eq(r[1].warnings, r[0].warnings);
	ck_assert_int_ge(r[0].warnings, 1); /* the unused variable */
	ck_assert_str_eq(r[1].log, r[0].log);
	for (int i = 0; i < 2; i++) {
		char *cmd = xstrfmt("cmp -s %s/bin/%s %s/bin/%s", scratch[0], i ? "client" : "server", scratch[1],
				    i ? "client" : "server");
		ck_assert_int_eq(system(cmd), 0);
		free(cmd);
	}
	char *run = xstrfmt("%s/bin/server | grep -qx 'server 2'", scratch[2]);
	ck_assert_int_eq(system(run), 0);
	free(run);
	for (int i = 0; i < 3; i++) {
		build_result_release(&r[i]);
		free(scratch[i]);
	}
	free(sub);
}
END_TEST

static Suite *
cache_suite(void)
{
	Suite *s = suite_create("cache");
	TCase *tc = tcase_create("cache");
	tcase_add_unchecked_fixture(tc, setup_root, teardown_root);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, key_changes_with_each_input);
	tcase_add_test(tc, key_changes_with_provided_file);
	tcase_add_test(tc, store_then_hit);
	tcase_add_test(tc, miss_leaves_nothing);
	tcase_add_loop_test(tc, corrupt_entry_is_a_miss, 0, sizeof corruptions / sizeof *corruptions);
	tcase_add_test(tc, concurrent_writers);
	tcase_add_test(tc, size_bound);
	tcase_add_test(tc, folder_checks);
	tcase_add_test(tc, build_hits_the_cache);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(cache_suite());
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
