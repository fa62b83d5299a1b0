#define _GNU_SOURCE
#include "cache.h"
#include "debuginfo.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <nettle/sha2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CACHE_VERSION "ipcgrader build cache 1"
#define CACHE_SUBDIR "v1"          /* a new layout gets a new folder */
#define CACHE_DEFAULT_MB 256
#define CACHE_ENTRY_MAX (1024 * 1024) /* entry.json: the compiler's log is capped far below */
#define CACHE_STALE_TMP_S 3600     /* a temporary folder this old was left by a grader that died */

/* ---- hashing ---------------------------------------------------------- */

static void
hash_bytes(struct sha256_ctx *h, const void *data, size_t len)
{
	/* Each field is prefixed with its length: "ab"+"c" is not "a"+"bc". */
	uint8_t n[8];
	for (int i = 0; i < 8; i++)
		n[i] = (uint8_t)((uint64_t)len >> (8 * i));
	sha256_update(h, sizeof n, n);
	sha256_update(h, len, data);
}

static void
hash_str(struct sha256_ctx *h, const char *s)
{
	hash_bytes(h, s ? s : "", s ? strlen(s) : 0);
}

/* Adds the contents of a regular file (never through a symbolic link,
 * unless follow is set). */
static int
hash_file_at(struct sha256_ctx *h, const char *path, int follow)
{
	int fd = open(path, O_RDONLY | (follow ? 0 : O_NOFOLLOW) | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	struct sha256_ctx body;
	sha256_init(&body);
	char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			close(fd);
			return -1;
		}
		sha256_update(&body, (size_t)n, (const uint8_t *)buf);
	}
	close(fd);
	uint8_t digest[SHA256_DIGEST_SIZE];
	sha256_digest(&body, sizeof digest, digest);
	hash_bytes(h, digest, sizeof digest);
	return 0;
}

static void
to_hex(const uint8_t *d, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[2 * n] = '\0';
}

static void
finish_hex(struct sha256_ctx *h, char out[CACHE_KEY_LEN + 1])
{
	uint8_t digest[SHA256_DIGEST_SIZE];
	sha256_digest(h, sizeof digest, digest);
	to_hex(digest, sizeof digest, out);
}

static int
hash_file(struct sha256_ctx *h, const char *path)
{
	return hash_file_at(h, path, 0);
}

/* The SHA-256 of one file, in hex; 0 or -1. */
static int
file_sha256(const char *path, char out[CACHE_KEY_LEN + 1])
{
	struct sha256_ctx h;
	sha256_init(&h);
	if (hash_file(&h, path) < 0)
		return -1;
	finish_hex(&h, out);
	return 0;
}

/* ---- the key ---------------------------------------------------------- */

int
cache_key(const struct lab_spec *spec, const char *srcdir, const char *cc, int asan, char key[CACHE_KEY_LEN + 1])
{
	/* The grader itself: another grader may build differently. */
	static char self[CACHE_KEY_LEN + 1];
	if (!self[0]) {
		struct sha256_ctx me;
		sha256_init(&me);
		if (hash_file_at(&me, "/proc/self/exe", 1) < 0)
			return -1;
		finish_hex(&me, self);
	}
	char *real_cc = realpath(cc, NULL);
	if (!real_cc)
		return -1;
	struct sha256_ctx h;
	sha256_init(&h);
	/* libc6 and libc6-dev (the headers) are upgraded together. */
	char libc[DEBUGINFO_ID_MAX];
	debuginfo_libc_id(libc);
	hash_str(&h, CACHE_VERSION);
	hash_str(&h, self);
	hash_str(&h, libc);
	hash_str(&h, real_cc);
	int rc = hash_file(&h, real_cc);
	free(real_cc);
	hash_str(&h, asan ? "asan" : "plain");
	hash_bytes(&h, &spec->ncflags, sizeof spec->ncflags);
	for (size_t i = 0; i < spec->ncflags; i++)
		hash_str(&h, spec->cflags[i]);
	hash_bytes(&h, &spec->nldflags, sizeof spec->nldflags);
	for (size_t i = 0; i < spec->nldflags; i++)
		hash_str(&h, spec->ldflags[i]);
	hash_bytes(&h, &spec->nprograms, sizeof spec->nprograms);
	for (size_t i = 0; i < spec->nprograms; i++) {
		hash_str(&h, spec->programs[i].name);
		hash_bytes(&h, &spec->programs[i].nsources, sizeof spec->programs[i].nsources);
		for (size_t k = 0; k < spec->programs[i].nsources; k++)
			hash_str(&h, spec->programs[i].sources[k]);
	}
	/* The files as they were copied for the build: what the compiler reads. */
	for (int provided = 0; provided < 2 && rc == 0; provided++) {
		size_t n = provided ? spec->nprovided : spec->nfiles;
		char **names = provided ? spec->provided : spec->files;
		hash_bytes(&h, &n, sizeof n);
		for (size_t i = 0; i < n && rc == 0; i++) {
			char *path = xstrfmt("%s/%s", srcdir, names[i]);
			hash_str(&h, names[i]);
			rc = hash_file(&h, path);
			free(path);
		}
	}
	if (rc < 0)
		return -1;
	finish_hex(&h, key);
	return 0;
}

/* ---- the folder ------------------------------------------------------- */

char *
cache_default_dir(void)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	if (xdg && xdg[0] == '/')
		return xstrfmt("%s/ipcgrader", xdg);
	if (home && home[0] == '/')
		return xstrfmt("%s/.cache/ipcgrader", home);
	return NULL;
}

/* A folder of ours that nobody else may use: created 0700, or made so. */
static int
private_dir(const char *dir, char *err, size_t errlen)
{
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return errf(err, errlen, "cannot create \"%s\": %s", dir, strerror(errno));
	struct stat st;
	if (lstat(dir, &st) < 0)
		return errf(err, errlen, "cannot look at \"%s\": %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return errf(err, errlen, "\"%s\" is not a folder", dir);
	if (st.st_uid != geteuid())
		return errf(err, errlen, "\"%s\" belongs to another user", dir);
	if ((st.st_mode & 077) && chmod(dir, 0700) < 0)
		return errf(err, errlen, "cannot make \"%s\" private: %s", dir, strerror(errno));
	return 0;
}

int
cache_check_dir(const char *dir, char *err, size_t errlen)
{
	if (!dir || dir[0] != '/')
		return errf(err, errlen, "the cache folder \"%s\" is not an absolute path", dir ? dir : "");
	char *parent = xstrdup(dir), *slash = strrchr(parent, '/');
	*slash = '\0';
	int rc = *parent && mkdir_p(parent) < 0 ? errf(err, errlen, "cannot create \"%s\": %s", parent, strerror(errno)) : 0;
	free(parent);
	if (rc == 0)
		rc = private_dir(dir, err, errlen);
	char *sub = xstrfmt("%s/" CACHE_SUBDIR, dir);
	if (rc == 0)
		rc = private_dir(sub, err, errlen);
	free(sub);
	return rc;
}

static int
is_key(const char *name)
{
	return strlen(name) == CACHE_KEY_LEN && strspn(name, "0123456789abcdef") == CACHE_KEY_LEN;
}

/* ---- taking an entry out ---------------------------------------------- */

/* The entry's file rel ("bin/server"), copied to to and checked against
 * the SHA-256 the entry recorded for it. */
static int
take_file(const char *entry, json_t *files, const char *rel, const char *to)
{
	const char *want = json_string_value(json_object_get(files, rel));
	char *from = xstrfmt("%s/%s", entry, rel), got[CACHE_KEY_LEN + 1];
	int in = open(from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	free(from);
	if (!want || in < 0) {
		if (in >= 0)
			close(in);
		return -1;
	}
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0755);
	int rc = out < 0 ? -1 : copy_fd(in, out);
	close(in);
	if (out >= 0 && close(out) < 0)
		rc = -1;
	if (rc == 0 && (file_sha256(to, got) < 0 || strcmp(got, want) != 0))
		rc = -1;
	return rc;
}

static void
remove_programs(const struct lab_spec *spec, const char *bindir, const char *asandir, int asan)
{
	for (int pass = 0; pass < (asan ? 2 : 1); pass++)
		for (size_t i = 0; i < spec->nprograms; i++) {
			char *path = xstrfmt("%s/%s", pass ? asandir : bindir, spec->programs[i].name);
			unlink(path);
			free(path);
		}
}

int
cache_fetch(const char *dir, const char *key, const struct lab_spec *spec, const char *bindir, const char *asandir,
	    int asan, int *warnings, char **log)
{
	if (!is_key(key))
		return 0;
	char *entry = xstrfmt("%s/" CACHE_SUBDIR "/%s", dir, key), *meta = xstrfmt("%s/entry.json", entry);
	int fd = open(meta, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	free(meta);
	if (fd < 0) { /* a miss */
		free(entry);
		return 0;
	}
	struct strbuf text = STRBUF_INIT;
	char buf[8192];
	ssize_t n;
	while (text.len <= CACHE_ENTRY_MAX && ((n = read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)))
		if (n > 0)
			sb_add(&text, buf, (size_t)n);
	close(fd);
	json_t *o = text.len <= CACHE_ENTRY_MAX ? json_loadb(text.buf ? text.buf : "", text.len, 0, NULL) : NULL;
	sb_release(&text);
	const char *stored_key = NULL, *stored_log = NULL;
	int w = 0, ok = o && json_unpack(o, "{s:s, s:i, s:s}", "key", &stored_key, "warnings", &w, "log", &stored_log) == 0 &&
			!strcmp(stored_key, key) && json_is_object(json_object_get(o, "files"));
	json_t *files = ok ? json_object_get(o, "files") : NULL;
	for (int pass = 0; ok && pass < (asan ? 2 : 1); pass++)
		for (size_t i = 0; ok && i < spec->nprograms; i++) {
			const char *name = spec->programs[i].name;
			char *rel = xstrfmt("%s/%s", pass ? "bin-asan" : "bin", name);
			char *to = xstrfmt("%s/%s", pass ? asandir : bindir, name);
			ok = take_file(entry, files, rel, to) == 0;
			free(rel);
			free(to);
		}
	if (ok) {
		*warnings = w;
		*log = xstrdup(stored_log);
		utimensat(AT_FDCWD, entry, NULL, 0); /* used now: evicted last */
	} else {
		/* Torn, corrupt or not ours: it goes, and this build is a miss. */
		remove_programs(spec, bindir, asandir, asan);
		rm_rf(entry);
	}
	json_decref(o);
	free(entry);
	return ok;
}

/* ---- storing ---------------------------------------------------------- */

static long long
entry_size(const char *entry)
{
	static const char *const subs[] = { "", "/bin", "/bin-asan" };
	long long total = 0;
	for (size_t s = 0; s < sizeof subs / sizeof *subs; s++) {
		char *path = xstrfmt("%s%s", entry, subs[s]);
		DIR *d = opendir(path);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			struct stat st;
			if (e->d_name[0] != '.' && fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISREG(st.st_mode))
				total += st.st_size;
		}
		if (d)
			closedir(d);
		free(path);
	}
	return total;
}

struct aged {
	char *path;
	time_t used;
	long long size;
};

static int
by_age(const void *a, const void *b)
{
	const struct aged *x = a, *y = b;
	return x->used < y->used ? -1 : x->used > y->used;
}

/* Keeps the folder under its size: the entries used longest ago go first,
 * down to three quarters of it (not one entry per store).  Temporary
 * folders a dead grader left go too. */
static void
evict(const char *base)
{
	const char *mb = getenv("IPCGRADER_CACHE_MB");
	char *end;
	long long max = mb && *mb ? strtoll(mb, &end, 10) : CACHE_DEFAULT_MB;
	if (!mb || !*mb || *end || max < 0)
		max = CACHE_DEFAULT_MB;
	max *= 1024 * 1024;
	DIR *d = opendir(base);
	if (!d)
		return;
	struct aged *v = NULL;
	size_t n = 0;
	long long total = 0;
	time_t now = time(NULL);
	struct dirent *e;
	while ((e = readdir(d))) {
		struct stat st;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
			continue;
		char *path = xstrfmt("%s/%s", base, e->d_name);
		if (!strncmp(e->d_name, "tmp.", 4) && now - st.st_mtime > CACHE_STALE_TMP_S) {
			rm_rf(path);
		} else if (is_key(e->d_name)) {
			v = xrealloc(v, (n + 1) * sizeof *v);
			v[n] = (struct aged){ path, st.st_mtime, entry_size(path) };
			total += v[n++].size;
			path = NULL;
		}
		free(path);
	}
	closedir(d);
	if (total > max) {
		qsort(v, n, sizeof *v, by_age);
		for (size_t i = 0; i < n && total > max / 4 * 3; i++) {
			rm_rf(v[i].path);
			total -= v[i].size;
		}
	}
	for (size_t i = 0; i < n; i++)
		free(v[i].path);
	free(v);
}

/* Copies bindir/name into the entry being written as rel, and records its
 * SHA-256 in files. */
static int
put_file(const char *tmp, const char *rel, const char *from, json_t *files)
{
	char *to = xstrfmt("%s/%s", tmp, rel), hex[CACHE_KEY_LEN + 1];
	int rc = copy_file(from, to, 0700);
	if (rc == 0 && file_sha256(to, hex) == 0)
		json_object_set_new(files, rel, json_string(hex));
	else
		rc = -1;
	free(to);
	return rc;
}

int
cache_store(const char *dir, const char *key, const struct lab_spec *spec, const char *bindir, const char *asandir,
	    int asan, int warnings, const char *log)
{
	if (!is_key(key))
		return -1;
	char *base = xstrfmt("%s/" CACHE_SUBDIR, dir), *tmp = xstrfmt("%s/tmp.XXXXXX", base);
	char *bin = NULL, *bin_asan = NULL, *meta = NULL, *entry = NULL;
	json_t *files = json_object(), *o = NULL;
	int rc = -1;
	if (!mkdtemp(tmp)) {
		free(tmp);
		tmp = NULL;
		goto out;
	}
	bin = xstrfmt("%s/bin", tmp);
	bin_asan = xstrfmt("%s/bin-asan", tmp);
	if (mkdir(bin, 0700) < 0 || (asan && mkdir(bin_asan, 0700) < 0))
		goto out;
	for (int pass = 0; pass < (asan ? 2 : 1); pass++)
		for (size_t i = 0; i < spec->nprograms; i++) {
			const char *name = spec->programs[i].name;
			char *rel = xstrfmt("%s/%s", pass ? "bin-asan" : "bin", name);
			char *from = xstrfmt("%s/%s", pass ? asandir : bindir, name);
			int bad = put_file(tmp, rel, from, files) < 0;
			free(rel);
			free(from);
			if (bad)
				goto out;
		}
	o = json_pack("{s:s, s:i, s:s, s:O}", "key", key, "warnings", warnings, "log", log ? log : "", "files", files);
	meta = xstrfmt("%s/entry.json", tmp);
	if (!o || json_dump_file(o, meta, JSON_COMPACT) < 0)
		goto out;
	/* Into place at once; another grader that stored the same key first
	 * holds an entry as good as this one. */
	entry = xstrfmt("%s/%s", base, key);
	if (rename(tmp, entry) == 0) {
		free(tmp);
		tmp = NULL;
		rc = 0;
	} else if (errno == EEXIST || errno == ENOTEMPTY) {
		rc = 0;
	}
	evict(base);
out:
	if (tmp)
		rm_rf(tmp);
	json_decref(o);
	json_decref(files);
	free(base);
	free(tmp);
	free(bin);
	free(bin_asan);
	free(meta);
	free(entry);
	return rc;
}
