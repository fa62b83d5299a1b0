/* grader batch: grading a whole class.
 *
 * Theory of operation.  The submissions under ROOT are found first
 * (folders, archives unpacked under DIR/work by unpack.c, a Gradescope
 * export's metadata read), each named by an id; --shard keeps the ids that
 * hash to this shard.  For each, the hash of the files its build reads, the
 * lab's (folder and references) and the grader binary's make the key of its
 * result: a result already in DIR/results with the same key is kept, the
 * others are graded by child graders (`grader grade ... --format json` into
 * DIR/tmp), -j at a time, each in its own process group, stopped if stuck.
 * A child grader is the same engine as grader grade, and a crash of one
 * costs one submission, not the batch; one that ends in error is tried once
 * more, alone, at the end.  When a child ends, its JSON gets a "batch"
 * object (key, time) and is renamed into DIR/results: a result is whole or
 * absent, so a batch killed at any moment goes on where it stopped when run
 * again.  At the end (or on Ctrl-C) grades.csv and batch.json are written
 * from the results.
 *
 * grader merge reads shards' batch.json and results and writes them as
 * one, refusing shards that were not graded alike. */
#define _GNU_SOURCE
#include "batch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <nettle/sha2.h>
#include <yaml.h>

#include "capture.h"
#include "classreport.h"
#include "sandbox.h"
#include "spawn.h"
#include "spec.h"
#include "unpack.h"
#include "version.h"


enum { EXIT_ALL_GRADED = 0, EXIT_SOME_REFUSED = 1, EXIT_USAGE = 2, EXIT_INTERNAL = 3 };

extern char **environ;

/* ---- SHA-256 (nettle, as the compile cache) --------------------------- */

static void
sha256_add(struct sha256_ctx *s, const void *data, size_t len)
{
	sha256_update(s, len, data);
}

static void
sha256_hex(struct sha256_ctx *s, char out[65])
{
	uint8_t digest[SHA256_DIGEST_SIZE];
	sha256_digest(s, sizeof digest, digest);
	for (int i = 0; i < SHA256_DIGEST_SIZE; i++)
		snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

void
batch_sha256_hex(const void *data, size_t len, char out[65])
{
	struct sha256_ctx s;
	sha256_init(&s);
	sha256_add(&s, data, len);
	sha256_hex(&s, out);
}

unsigned
batch_shard_of(const char *id, unsigned n)
{
	char hex[65];
	batch_sha256_hex(id, strlen(id), hex);
	hex[16] = '\0';
	return n ? (unsigned)(strtoull(hex, NULL, 16) % n) : 0;
}

static int
by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* What a submission folder may hold to be hashed (and graded): the build
 * takes files of at most 1 MiB, so this only stops a folder that would
 * take minutes to read. */
enum { HASH_MAX_FILES = 20000 };
#define HASH_MAX_BYTES (256LL << 20)

struct tree_hash {
	struct sha256_ctx s;
	long files;
	long long bytes;
};

static int
hash_file(struct tree_hash *h, const char *full, const char *sub, const struct stat *st)
{
	uint64_t size = (uint64_t)st->st_size;
	if (++h->files > HASH_MAX_FILES || (h->bytes += st->st_size) > HASH_MAX_BYTES) {
		errno = EFBIG;
		return -1;
	}
	sha256_add(&h->s, st->st_mode & 0100 ? "x" : "f", 1);
	sha256_add(&h->s, sub, strlen(sub) + 1);
	sha256_add(&h->s, &size, sizeof size);
	int fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	char buf[65536];
	ssize_t got;
	while ((got = read(fd, buf, sizeof buf)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			break;
		sha256_add(&h->s, buf, (size_t)got);
	}
	int e = errno;
	close(fd);
	errno = e;
	return got < 0 ? -1 : 0;
}

/* Every entry under dir, in name order: its path, kind and bytes (a
 * link's target, not what it points to).  Returns 0, or -1 with errno (an
 * unreadable file; EFBIG: over the limits). */
static int
hash_tree(struct tree_hash *h, const char *dir, const char *rel, int depth)
{
	char *path = *rel ? xstrfmt("%s/%s", dir, rel) : xstrdup(dir);
	struct dirent **names;
	int n = depth > 40 ? -1 : scandir(path, &names, NULL, by_name), rc = n < 0 ? -1 : 0;
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		if (rc == 0 && strcmp(name, ".") && strcmp(name, "..")) {
			char *sub = *rel ? xstrfmt("%s/%s", rel, name) : xstrdup(name);
			char *full = xstrfmt("%s/%s", dir, sub);
			struct stat st;
			if (lstat(full, &st) < 0) {
				rc = -1;
			} else if (S_ISDIR(st.st_mode)) {
				sha256_add(&h->s, "d", 1);
				sha256_add(&h->s, sub, strlen(sub) + 1);
				rc = hash_tree(h, dir, sub, depth + 1);
			} else if (S_ISREG(st.st_mode)) {
				rc = hash_file(h, full, sub, &st);
			} else {
				char target[PATH_MAX] = "";
				if (S_ISLNK(st.st_mode) && readlink(full, target, sizeof target - 1) < 0)
					target[0] = '\0';
				sha256_add(&h->s, S_ISLNK(st.st_mode) ? "l" : "o", 1);
				sha256_add(&h->s, sub, strlen(sub) + 1);
				sha256_add(&h->s, target, strlen(target) + 1);
			}
			free(sub);
			free(full);
		}
		free(names[i]);
	}
	if (n >= 0)
		free(names);
	free(path);
	return rc;
}

static int
hash_dir(const char *dir, char out[65])
{
	struct tree_hash h = { .files = 0 };
	sha256_init(&h.s);
	int rc = hash_tree(&h, dir, "", 0);
	sha256_hex(&h.s, out);
	return rc;
}

/* The files a grading reads from a submission: those the lab's spec
 * names (build.c copies only them), each with its kind, so that a file
 * missing, or a link in its place, is a change too.  A README or .git/
 * that changes regrades nothing. */
static int
hash_sources(const struct lab_spec *spec, const char *dir, char out[65])
{
	struct tree_hash h = { .files = 0 };
	sha256_init(&h.s);
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < spec->nfiles; i++) {
		char *full = xstrfmt("%s/%s", dir, spec->files[i]);
		struct stat st;
		if (lstat(full, &st) == 0 && S_ISREG(st.st_mode)) {
			rc = hash_file(&h, full, spec->files[i], &st);
		} else {
			sha256_add(&h.s, "-", 1); /* missing, or not a plain file: the build says which */
			sha256_add(&h.s, spec->files[i], strlen(spec->files[i]) + 1);
		}
		free(full);
	}
	sha256_hex(&h.s, out);
	return rc;
}

/* ---- names ----------------------------------------------------------- */

/* The id a folder or file name gives: the name, with control bytes,
 * invalid UTF-8 and '%' as %XX (valid UTF-8, one line, one name each). */
static char *
make_id(const char *name, size_t len)
{
	struct strbuf sb = STRBUF_INIT;
	const unsigned char *s = (const unsigned char *)name;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = utf8_decode(s + i, len - i, &cp);
		if (n == 0 || (n == 1 && (s[i] < 0x20 || s[i] == 0x7f || s[i] == '%'))) {
			sb_addf(&sb, "%%%02X", s[i]);
			i++;
		} else {
			sb_add(&sb, s + i, n);
			i += n;
		}
	}
	return sb_detach(&sb);
}

/* The id as a file name: only A-Z a-z 0-9 . _ - stay, and no leading dot. */
static char *
id_file(const char *id)
{
	struct strbuf sb = STRBUF_INIT;
	for (const unsigned char *s = (const unsigned char *)id; *s; s++)
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ||
		    *s == '-' || (*s == '.' && s != (const unsigned char *)id))
			sb_add(&sb, s, 1);
		else
			sb_addf(&sb, "%%%02X", *s);
	return sb_detach(&sb);
}

static const char *const archive_suffixes[] = { ".tar.gz", ".tgz", ".zip", ".tar", NULL };

/* The length of name without its archive suffix, or 0 when it is none. */
static size_t
archive_stem(const char *name)
{
	size_t len = strlen(name);
	for (const char *const *x = archive_suffixes; *x; x++) {
		size_t xl = strlen(*x);
		if (len > xl && !strcasecmp(name + len - xl, *x))
			return len - xl;
	}
	return 0;
}

/* ---- CSV ------------------------------------------------------------- */

void
batch_csv_text(struct strbuf *sb, const char *s)
{
	int formula = strchr("=+-@\t\r", s[0]) && s[0];
	size_t len = strlen(s);
	int quote = strpbrk(s, ",\"\r\n") || (len && (s[0] == ' ' || s[len - 1] == ' '));
	if (quote)
		sb_adds(sb, "\"");
	if (formula)
		sb_adds(sb, "'");
	for (; *s; s++)
		if (*s == '"')
			sb_adds(sb, "\"\"");
		else
			sb_add(sb, s, 1);
	if (quote)
		sb_adds(sb, "\"");
}

/* ---- submissions ------------------------------------------------------ */

enum sub_state { SUB_PENDING, SUB_GRADED, SUB_ERROR, SUB_REFUSED };
static const char *const state_names[] = { "pending", "graded", "error", "refused" };

struct sub {
	char *id, *file; /* shown; its name in results/, logs/, work/ */
	char *origin;    /* the folder or archive under ROOT */
	char *dir;       /* the folder graded; NULL until unpacked */
	int is_archive;
	char *name, *email, *sid; /* Gradescope's metadata, or NULL */
	char *note;               /* why refused or failed */
	enum sub_state state;
	int reused;
	char hash[65];
	json_t *result; /* results/<file>.json as written */
	double seconds;
	struct child child;
	struct capture err;
	int running;
	int stopped; /* 1: SIGTERM sent (over GRADING_LIMIT_MS), 2: SIGKILL */
};

/* A child grader bounds every test itself; this only stops one that is
 * stuck (a bug, a machine in trouble) so that the batch ends. */
#define GRADING_LIMIT_MS (600 * 1000)

static void
sub_release(struct sub *s)
{
	free(s->id);
	free(s->file);
	free(s->origin);
	free(s->dir);
	free(s->name);
	free(s->email);
	free(s->sid);
	free(s->note);
	json_decref(s->result);
}

/* What every output file shares; the batch's and merge's. */
struct gradebook {
	const char *out;
	char *lab, *spec_hash, *version;
	long seed;
	unsigned shard_k, shard_n;
	json_t *tests; /* [{name, max_score, visible}] */
	int max_score;
	char started_at[32];
	struct sub *subs;
	size_t nsubs, cap;
};

static void
gradebook_release(struct gradebook *g)
{
	for (size_t i = 0; i < g->nsubs; i++)
		sub_release(&g->subs[i]);
	free(g->subs);
	free(g->lab);
	free(g->spec_hash);
	free(g->version);
	json_decref(g->tests);
}

static struct sub *
add_sub(struct gradebook *g, const char *name, size_t len)
{
	if (g->nsubs == g->cap) {
		g->cap = g->cap ? 2 * g->cap : 64;
		g->subs = xrealloc(g->subs, g->cap * sizeof *g->subs);
	}
	struct sub *s = memset(&g->subs[g->nsubs++], 0, sizeof *g->subs);
	s->id = make_id(name, len);
	s->file = id_file(s->id);
	return s;
}

static int
by_id(const void *a, const void *b)
{
	return strcmp(((const struct sub *)a)->id, ((const struct sub *)b)->id);
}

static void
utc_now(char buf[32])
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- atomic files ----------------------------------------------------- */

/* Writes data to path through a new file beside it, synced and renamed:
 * readers see the old file or the new, whole. */
static int
write_atomic(const char *path, const char *data, size_t len, char *err, size_t errlen)
{
	char *tmp = xstrfmt("%s.%ld.new", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644), rc = 0;
	if (fd < 0 || write_all(fd, data, len) < 0 || fsync(fd) < 0)
		rc = errf(err, errlen, "cannot write \"%s\": %s", tmp, strerror(errno));
	if (fd >= 0 && close(fd) < 0 && rc == 0)
		rc = errf(err, errlen, "cannot write \"%s\": %s", tmp, strerror(errno));
	if (rc == 0 && rename(tmp, path) < 0)
		rc = errf(err, errlen, "cannot rename \"%s\" to \"%s\": %s", tmp, path, strerror(errno));
	if (rc)
		unlink(tmp);
	free(tmp);
	return rc;
}

static int
write_json_atomic(const char *path, json_t *j, char *err, size_t errlen)
{
	char *text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (!text)
		return errf(err, errlen, "cannot encode \"%s\"", path);
	size_t len = strlen(text);
	int rc = write_atomic(path, text, len, err, errlen);
	free(text);
	return rc;
}

/* ---- the gradebook: grades.csv and batch.json ------------------------- */

static json_t *
jstr_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* The points a result gave test name, or -1 when it did not run. */
static int
test_points(json_t *result, const char *name, int *ran)
{
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(result, "tests"), i, t)
	{
		const char *n = json_string_value(json_object_get(t, "name"));
		if (n && !strcmp(n, name)) {
			*ran = 1;
			return (int)json_integer_value(json_object_get(t, "score"));
		}
	}
	*ran = 0;
	return 0;
}

static void
csv_row(struct strbuf *sb, const struct gradebook *g, const struct sub *s)
{
	const char *text[] = { s->id, s->name ? s->name : "", s->email ? s->email : "", s->sid ? s->sid : "" };
	for (size_t i = 0; i < 4; i++) {
		batch_csv_text(sb, text[i]);
		sb_adds(sb, ",");
	}
	if (s->result)
		sb_addf(sb, "%d,%d,", (int)json_integer_value(json_object_get(s->result, "score")),
			(int)json_integer_value(json_object_get(s->result, "max_score")));
	else
		sb_addf(sb, ",%d,", g->max_score);
	sb_adds(sb, state_names[s->state]);
	size_t i;
	json_t *t;
	json_array_foreach(g->tests, i, t)
	{
		int ran = 0, pts = s->result ? test_points(s->result, json_string_value(json_object_get(t, "name")), &ran) : 0;
		if (ran)
			sb_addf(sb, ",%d", pts);
		else
			sb_adds(sb, ",");
	}
	sb_adds(sb, ",");
	batch_csv_text(sb, s->note ? s->note : "");
	sb_adds(sb, "\r\n");
}

static int
write_csv(const struct gradebook *g, char *err, size_t errlen)
{
	struct strbuf sb = STRBUF_INIT;
	sb_adds(&sb, "id,name,email,sid,total,max,state");
	size_t i;
	json_t *t;
	json_array_foreach(g->tests, i, t)
	{
		sb_adds(&sb, ",");
		batch_csv_text(&sb, json_string_value(json_object_get(t, "name")));
	}
	sb_adds(&sb, ",note\r\n");
	for (size_t k = 0; k < g->nsubs; k++)
		csv_row(&sb, g, &g->subs[k]);
	char *path = xstrfmt("%s/grades.csv", g->out);
	int rc = write_atomic(path, sb.buf, sb.len, err, errlen);
	free(path);
	sb_release(&sb);
	return rc;
}

static int
write_batch_json(const struct gradebook *g, char *err, size_t errlen)
{
	json_t *subs = json_array();
	for (size_t k = 0; k < g->nsubs; k++) {
		const struct sub *s = &g->subs[k];
		json_t *o = json_pack("{s:s, s:s, s:o}", "id", s->id, "state", state_names[s->state], "file",
				      s->result ? json_sprintf("results/%s.json", s->file) : json_null());
		if (s->result) {
			json_object_set(o, "score", json_object_get(s->result, "score"));
			json_object_set(o, "max_score", json_object_get(s->result, "max_score"));
		}
		if (s->note)
			json_object_set_new(o, "note", json_string(s->note));
		if (s->name || s->email || s->sid) {
			json_object_set_new(o, "name", jstr_or_null(s->name));
			json_object_set_new(o, "email", jstr_or_null(s->email));
			json_object_set_new(o, "sid", jstr_or_null(s->sid));
		}
		json_array_append_new(subs, o);
	}
	char finished[32];
	utc_now(finished);
	json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:{s:i, s:i}, s:s, s:s, s:O, s:i, s:o}", "lab", g->lab, "spec_hash",
			      g->spec_hash, "grader_version", g->version, "seed", (json_int_t)g->seed, "shard", "index",
			      (int)g->shard_k, "count", (int)g->shard_n, "started_at", g->started_at, "finished_at",
			      finished, "tests", g->tests, "max_score", g->max_score, "submissions", subs);
	char *path = xstrfmt("%s/batch.json", g->out);
	int rc = o ? write_json_atomic(path, o, err, errlen) : errf(err, errlen, "cannot encode batch.json");
	json_decref(o);
	free(path);
	return rc;
}

static int
write_gradebook(struct gradebook *g, char *err, size_t errlen)
{
	qsort(g->subs, g->nsubs, sizeof *g->subs, by_id);
	return write_csv(g, err, errlen) < 0 || write_batch_json(g, err, errlen) < 0 ? -1 : 0;
}

/* ---- Gradescope's submission_metadata.yml ------------------------------ */

/* submission_123:
 *   :submitters:
 *   - :name: Jane Doe
 *     :sid: '123'
 *     :email: jane@example.edu
 * Read with the event API, depth counted (libyaml has no limit of its own);
 * anything else in the file is skipped. */
struct meta_level {
	int is_map, want_key;
	char key[128];
};

static int
key_is(const char *key, const char *name)
{
	return !strcmp(key, name) || (key[0] == ':' && !strcmp(key + 1, name));
}

static void
meta_value(struct gradebook *g, const struct meta_level *st, int depth, const char *value)
{
	if (depth != 4 || !st[0].is_map || !st[1].is_map || st[2].is_map || !st[3].is_map ||
	    !key_is(st[1].key, "submitters"))
		return;
	char **field = NULL;
	for (size_t i = 0; i < g->nsubs && !field; i++) {
		struct sub *s = &g->subs[i];
		const char *base = strrchr(s->origin, '/') ? strrchr(s->origin, '/') + 1 : s->origin;
		if (strcmp(base, st[0].key))
			continue;
		field = key_is(st[3].key, "name") ? &s->name : key_is(st[3].key, "email") ? &s->email
			: key_is(st[3].key, "sid")				 ? &s->sid
										 : NULL;
		if (!field)
			return;
	}
	if (!field)
		return;
	struct strbuf sb = STRBUF_INIT;
	if (*field) {
		sb_adds(&sb, *field);
		sb_adds(&sb, "; ");
		free(*field);
	}
	sb_add_printable(&sb, value, strlen(value));
	*field = sb_detach(&sb);
}

static void
read_metadata(struct gradebook *g, const char *path)
{
	size_t len;
	char *text = read_file(path, 16 << 20, &len);
	if (!text)
		return;
	yaml_parser_t p;
	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	struct meta_level st[8];
	int depth = 0, done = 0;
	while (!done) {
		yaml_event_t e;
		if (!yaml_parser_parse(&p, &e))
			break;
		switch (e.type) {
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT:
			if (depth < 8) {
				st[depth].is_map = e.type == YAML_MAPPING_START_EVENT;
				st[depth].want_key = 1;
				st[depth].key[0] = '\0';
			}
			depth++;
			done = depth > 64;
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			depth--;
			if (depth > 0 && depth <= 8 && st[depth - 1].is_map)
				st[depth - 1].want_key = 1;
			break;
		case YAML_SCALAR_EVENT:
		case YAML_ALIAS_EVENT:
			if (depth > 0 && depth <= 8 && st[depth - 1].is_map && st[depth - 1].want_key) {
				snprintf(st[depth - 1].key, sizeof st[depth - 1].key, "%s",
					 e.type == YAML_SCALAR_EVENT ? (const char *)e.data.scalar.value : "");
				st[depth - 1].want_key = 0;
			} else {
				if (e.type == YAML_SCALAR_EVENT && depth <= 8)
					meta_value(g, st, depth, (const char *)e.data.scalar.value);
				if (depth > 0 && depth <= 8 && st[depth - 1].is_map)
					st[depth - 1].want_key = 1;
			}
			break;
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		default:
			break;
		}
		yaml_event_delete(&e);
	}
	yaml_parser_delete(&p);
	free(text);
}

/* ---- finding the submissions ------------------------------------------- */

struct batch {
	struct gradebook g;
	const char *lab_arg, *root_arg;
	struct lab_spec spec;
	int jobs, force, allow_unisolated, tty, lock_fd;
	char *root, *self, *out_real;
	int64_t started_ms;
	size_t found, todo, done; /* found: in ROOT, before --shard */
};

static int
is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int
skipped_name(const char *name)
{
	return name[0] == '.' || !strcmp(name, "__MACOSX");
}

/* A folder with no file of its own and one folder in it (GitHub's
 * "Download ZIP" holds repo-main/, a zipped folder holds the folder) is
 * graded from that folder. */
static char *
unwrap(char *dir)
{
	for (int round = 0; round < 3; round++) {
		struct dirent **names;
		int n = scandir(dir, &names, NULL, by_name), files = 0, dirs = 0;
		char *only = NULL;
		for (int i = 0; i < n; i++) {
			if (!skipped_name(names[i]->d_name)) {
				char *p = xstrfmt("%s/%s", dir, names[i]->d_name);
				if (is_dir(p)) {
					dirs++;
					free(only);
					only = p;
				} else {
					files++;
					free(p);
				}
			}
			free(names[i]);
		}
		if (n >= 0)
			free(names);
		if (files || dirs != 1) {
			free(only);
			break;
		}
		free(dir);
		dir = only;
	}
	return dir;
}

static int
make_dirs(const struct batch *b, char *err, size_t errlen)
{
	const char *subdirs[] = { "", "/results", "/logs", "/work", "/tmp" };
	for (size_t i = 0; i < sizeof subdirs / sizeof *subdirs; i++) {
		char *p = xstrfmt("%s%s", b->g.out, subdirs[i]);
		int rc = mkdir_p(p) < 0 ? errf(err, errlen, "cannot create \"%s\": %s", p, strerror(errno)) : 0;
		free(p);
		if (rc)
			return rc;
	}
	return 0;
}

/* ROOT as a folder of submissions: an archive is unpacked (a class export),
 * and a Gradescope export's one folder entered. */
static int
open_root(struct batch *b, char *err, size_t errlen)
{
	struct stat st;
	if (stat(b->root_arg, &st) < 0)
		return errf(err, errlen, "\"%s\" does not exist", b->root_arg);
	if (S_ISDIR(st.st_mode)) {
		b->root = xstrdup(b->root_arg);
	} else if (S_ISREG(st.st_mode) && archive_stem(b->root_arg)) {
		b->root = xstrfmt("%s/work/.root", b->g.out);
		rm_rf(b->root);
		char why[512];
		if (unpack_archive(b->root_arg, b->root, &unpack_class_limits, why, sizeof why) < 0)
			return errf(err, errlen, "cannot unpack \"%s\": %s", b->root_arg, why);
		b->root = unwrap(b->root); /* a zipped class folder */
	} else {
		return errf(err, errlen, "\"%s\" is neither a folder nor a .zip, .tar.gz, .tgz or .tar archive",
			    b->root_arg);
	}
	char *meta = xstrfmt("%s/submission_metadata.yml", b->root);
	if (access(meta, F_OK) < 0) {
		char *inner = unwrap(xstrdup(b->root));
		free(meta);
		meta = xstrfmt("%s/submission_metadata.yml", inner);
		if (access(meta, F_OK) == 0) {
			free(b->root);
			b->root = inner;
		} else {
			free(inner);
		}
	}
	free(meta);
	return 0;
}

/* The note may quote an archive's entry names: any bytes.  It is shown on
 * a terminal and in the CSV, so control bytes become \xNN. */
static void
refuse(struct sub *s, const char *fmt, const char *arg)
{
	s->state = SUB_REFUSED;
	free(s->note);
	char *raw = xstrfmt(fmt, arg);
	struct strbuf sb = STRBUF_INIT;
	sb_add_printable(&sb, raw, strlen(raw));
	free(raw);
	s->note = sb_detach(&sb);
}

static int
discover(struct batch *b, char *err, size_t errlen)
{
	struct dirent **names;
	int n = scandir(b->root, &names, NULL, by_name);
	if (n < 0)
		return errf(err, errlen, "cannot list \"%s\": %s", b->root, strerror(errno));
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		char *path = xstrfmt("%s/%s", b->root, name);
		char *real = realpath(path, NULL);
		size_t stem = archive_stem(name);
		struct stat st;
		int dir = stat(path, &st) == 0 && S_ISDIR(st.st_mode), file = !dir && S_ISREG(st.st_mode);
		/* the output folder may sit inside ROOT: it is no submission */
		if (!skipped_name(name) && (dir || (file && stem)) && !(real && !strcmp(real, b->out_real))) {
			struct sub *s = add_sub(&b->g, name, dir ? strlen(name) : stem);
			b->found++;
			s->origin = path;
			s->is_archive = !dir;
			path = NULL;
			if (b->g.shard_n > 1 && batch_shard_of(s->id, b->g.shard_n) != b->g.shard_k) {
				sub_release(s);
				b->g.nsubs--;
			}
		}
		free(path);
		free(real);
		free(names[i]);
	}
	free(names);
	if (b->found == 0)
		return errf(err, errlen, "no submissions in \"%s\": it holds no folder and no .zip, .tar.gz, .tgz or .tar archive",
			    b->root_arg);
	/* Two entries with one id (alice/ and alice.zip): neither is guessed. */
	qsort(b->g.subs, b->g.nsubs, sizeof *b->g.subs, by_id);
	for (size_t i = 0; i + 1 < b->g.nsubs; i++)
		if (!strcmp(b->g.subs[i].id, b->g.subs[i + 1].id)) {
			refuse(&b->g.subs[i], "two submissions are named \"%s\": rename one", b->g.subs[i].id);
			refuse(&b->g.subs[i + 1], "two submissions are named \"%s\": rename one", b->g.subs[i].id);
		}
	char *meta = xstrfmt("%s/submission_metadata.yml", b->root);
	read_metadata(&b->g, meta);
	free(meta);
	return 0;
}

/* Unpacks an archive into work/<file>/ (afresh: the archive may have
 * changed) and finds the folder to grade. */
static void
prepare(struct batch *b, struct sub *s)
{
	if (s->state == SUB_REFUSED)
		return;
	if (!s->is_archive) {
		s->dir = unwrap(xstrdup(s->origin));
	} else {
		char *dest = xstrfmt("%s/work/%s", b->g.out, s->file), why[512];
		rm_rf(dest);
		if (unpack_archive(s->origin, dest, &unpack_submission_limits, why, sizeof why) < 0) {
			refuse(s, "%s", why);
			free(dest);
			return;
		}
		s->dir = unwrap(dest);
	}
	if (hash_sources(&b->spec, s->dir, s->hash) < 0)
		refuse(s, errno == EFBIG ? "%s" : "cannot read the submission's files: %s",
		       errno == EFBIG ? "the submission's files are over 256 MiB" : strerror(errno));
}

/* A result of an earlier run is kept when it was made from the same
 * sources, lab, grader and seed, and nothing failed in the grader. */
static void
reuse(struct batch *b, struct sub *s)
{
	if (s->state != SUB_PENDING || b->force)
		return;
	char *path = xstrfmt("%s/results/%s.json", b->g.out, s->file);
	json_t *r = json_load_file(path, 0, NULL);
	free(path);
	json_t *k = json_object_get(r, "batch");
	const char *want[][2] = { { "source_hash", s->hash },
				  { "spec_hash", b->g.spec_hash },
				  { "grader_version", b->g.version },
				  { "state", "graded" } };
	int same = k && json_integer_value(json_object_get(k, "seed")) == b->g.seed;
	for (size_t i = 0; same && i < 4; i++) {
		const char *v = json_string_value(json_object_get(k, want[i][0]));
		same = v && !strcmp(v, want[i][1]);
	}
	if (same) {
		s->result = r;
		s->state = SUB_GRADED;
		s->reused = 1;
	} else {
		json_decref(r);
	}
}

/* ---- grading ----------------------------------------------------------- */

static int
start(struct batch *b, struct sub *s, char *err, size_t errlen)
{
	char *tmp = xstrfmt("%s/tmp/%s.json", b->g.out, s->file), seed[32];
	snprintf(seed, sizeof seed, "%ld", b->g.seed);
	unlink(tmp);
	struct strvec argv = STRVEC_INIT;
	const char *words[] = { b->self, "grade", b->lab_arg, s->dir, "--format", "json", "--output", tmp, "--seed", seed };
	for (size_t i = 0; i < sizeof words / sizeof *words; i++)
		sv_push(&argv, words[i]);
	if (b->allow_unisolated)
		sv_push(&argv, "--allow-unisolated");
	memset(&s->child, 0, sizeof s->child);
	s->stopped = 0;
	s->child.argv = argv.v;
	/* the environment as it is: the same TMPDIR as grader grade run by hand
	 * (where a program's scratch folder lies shifts its stack, and so what
	 * an uninitialised variable holds: another grade for a buggy program) */
	s->child.envp = environ;
	s->child.new_pgrp = 1; /* Ctrl-C reaches the batch, which stops its children cleanly */
	capture_init(&s->err, 64 << 10);
	int rc = child_start(&s->child, err, errlen);
	sv_clear(&argv);
	free(tmp);
	if (rc == 0)
		s->running = 1;
	else
		capture_release(&s->err);
	return rc;
}

static void
drain(struct sub *s, int fd_is_err)
{
	int *fd = fd_is_err ? &s->child.err_fd : &s->child.out_fd;
	char buf[8192];
	while (*fd >= 0) {
		ssize_t n = read(*fd, buf, sizeof buf);
		if (n > 0) {
			if (fd_is_err)
				capture_add(&s->err, buf, (size_t)n);
			continue;
		}
		if (n < 0 && (errno == EINTR))
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		close(*fd);
		*fd = -1;
	}
}

/* The last line the child grader said: why it failed. */
static char *
last_line(const char *text)
{
	size_t len = strlen(text);
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	size_t startl = len;
	while (startl && text[startl - 1] != '\n')
		startl--;
	struct strbuf sb = STRBUF_INIT;
	sb_add_printable(&sb, text + startl, len - startl);
	return sb_detach(&sb);
}

static void
add_batch_info(struct batch *b, struct sub *s, json_t *r)
{
	char now[32];
	utc_now(now);
	json_t *k = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:f}", "id", s->id, "state",
			      state_names[s->state], "source_hash", s->hash, "spec_hash", b->g.spec_hash,
			      "grader_version", b->g.version, "seed", (json_int_t)b->g.seed, "graded_at", now, "seconds",
			      s->seconds);
	if (s->name)
		json_object_set_new(k, "name", json_string(s->name));
	if (s->email)
		json_object_set_new(k, "email", json_string(s->email));
	if (s->sid)
		json_object_set_new(k, "sid", json_string(s->sid));
	json_object_set_new(r, "batch", k);
}

/* A child grader ended: its JSON, with the batch's key, becomes the result. */
static void
finish(struct batch *b, struct sub *s, int wstatus)
{
	s->running = 0;
	s->seconds = (double)(now_ms() - s->child.started_ms) / 1000.0;
	char *tmp = xstrfmt("%s/tmp/%s.json", b->g.out, s->file), err[1024];
	json_t *r = json_load_file(tmp, 0, NULL);
	char *errtext = capture_bytes(&s->err, 1, NULL);
	struct exit_status st;
	exit_status_decode(wstatus, &st);
	/* A grading refused or failed as a whole still writes its JSON
	 * (the reason in "error"): that is no grade. */
	const char *whole = json_is_object(r) ? json_string_value(json_object_get(r, "error")) : NULL;
	if (whole) {
		s->state = SUB_ERROR;
		s->note = xstrfmt("the grader could not grade it: %s", whole);
	} else if (json_is_object(r) && json_is_array(json_object_get(r, "tests"))) {
		s->state = SUB_GRADED;
		size_t i;
		json_t *t;
		json_array_foreach(json_object_get(r, "tests"), i, t)
		{
			const char *status = json_string_value(json_object_get(t, "status"));
			if (status && !strcmp(status, "error"))
				s->state = SUB_ERROR;
		}
		if (s->state == SUB_ERROR)
			s->note = xstrdup("the grader or the machine failed in a test (status error): run the batch again");
		add_batch_info(b, s, r);
		char *path = xstrfmt("%s/results/%s.json", b->g.out, s->file);
		if (write_json_atomic(path, r, err, sizeof err) < 0) {
			s->state = SUB_ERROR;
			free(s->note);
			s->note = xstrdup(err);
		} else {
			s->result = r;
			r = NULL;
		}
		free(path);
	} else {
		char how[128], *line = last_line(errtext);
		exit_status_describe(&st, how, sizeof how);
		s->state = SUB_ERROR;
		if (s->stopped)
			s->note = xstrfmt("the grading took over %d s and was stopped", GRADING_LIMIT_MS / 1000);
		else
			s->note = *line ? xstrfmt("the grader %s: %s", how, line) : xstrfmt("the grader %s", how);
		free(line);
	}
	char *log = xstrfmt("%s/logs/%s.log", b->g.out, s->file);
	if (s->state == SUB_ERROR && *errtext)
		write_atomic(log, errtext, strlen(errtext), err, sizeof err);
	else
		unlink(log);
	free(log);
	json_decref(r);
	unlink(tmp);
	free(tmp);
	free(errtext);
	capture_release(&s->err);
	b->done++;
}

static void
format_duration(char *buf, size_t len, double s)
{
	long t = (long)(s + 0.5);
	if (t >= 3600)
		snprintf(buf, len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(buf, len, "%ld:%02ld", t / 60, t % 60);
}

/* On a terminal: one line redrawn (done/total, rate, ETA); elsewhere a
 * line per submission graded. */
static void
progress(struct batch *b, const struct sub *s)
{
	double elapsed = (double)(now_ms() - b->started_ms) / 1000.0;
	double rate = elapsed > 0 ? b->done / elapsed : 0;
	char eta[32] = "?", took[32];
	if (rate > 0)
		format_duration(eta, sizeof eta, (b->todo - b->done) / rate);
	format_duration(took, sizeof took, elapsed);
	if (b->tty) {
		fputs("\r\033[K", stderr);
		if (s && s->state != SUB_GRADED)
			fprintf(stderr, "%s: %s: %s\n", s->id, state_names[s->state], s->note ? s->note : "");
		int width = 30, fill = b->todo ? (int)(width * b->done / b->todo) : width;
		fprintf(stderr, "[%.*s%.*s] %zu/%zu  %.2f/s  elapsed %s  ETA %s", fill,
			"##############################", width - fill, "------------------------------", b->done,
			b->todo, rate, took, eta);
	} else if (s && s->state == SUB_GRADED) {
		fprintf(stderr, "[%zu/%zu] %s: %d/%d in %.1f s\n", b->done, b->todo, s->id,
			(int)json_integer_value(json_object_get(s->result, "score")),
			(int)json_integer_value(json_object_get(s->result, "max_score")), s->seconds);
	} else if (s) {
		fprintf(stderr, "[%zu/%zu] %s: %s: %s\n", b->done, b->todo, s->id, state_names[s->state],
			s->note ? s->note : "");
	}
	fflush(stderr);
}

/* What the child wrote before it ended is still in its pipes: read, then close. */
static void
close_pipes(struct sub *s)
{
	drain(s, 0);
	drain(s, 1);
	if (s->child.out_fd >= 0)
		close(s->child.out_fd);
	if (s->child.err_fd >= 0)
		close(s->child.err_fd);
	s->child.out_fd = s->child.err_fd = -1;
}

static void
stop_children(struct batch *b)
{
	for (size_t i = 0; i < b->g.nsubs; i++) {
		struct sub *s = &b->g.subs[i];
		if (!s->running)
			continue;
		kill(-s->child.pid, SIGTERM); /* its own group: it cleans up its sandboxes */
		int wstatus;
		wait_retry(s->child.pid, &wstatus, 0);
		close_pipes(s);
		capture_release(&s->err);
		s->running = 0;
	}
}

/* A grading over its time is asked to stop (its sandboxes are removed),
 * then killed 5 s later. */
static void
watchdog(struct sub *s)
{
	int64_t ran = now_ms() - s->child.started_ms;
	if (s->stopped == 0 && ran > GRADING_LIMIT_MS) {
		kill(-s->child.pid, SIGTERM);
		s->stopped = 1;
	} else if (s->stopped == 1 && ran > GRADING_LIMIT_MS + 5000) {
		kill(-s->child.pid, SIGKILL);
		s->stopped = 2;
	}
}

/* Grades every pending submission, jobs at a time.  Returns 0, or -1 when
 * a child could not be started (err) or the batch was interrupted. */
static int
grade_all(struct batch *b, char *err, size_t errlen)
{
	size_t next = 0, running = 0;
	struct pollfd *pfd = xcalloc(2 * (size_t)b->jobs + 1, sizeof *pfd);
	struct sub **owner = xcalloc(2 * (size_t)b->jobs + 1, sizeof *owner);
	int rc = 0;
	b->started_ms = now_ms();
	if (b->tty && b->todo)
		progress(b, NULL);
	while (rc == 0 && !sandbox_interrupted() && (next < b->g.nsubs || running)) {
		while (running < (size_t)b->jobs && next < b->g.nsubs) {
			struct sub *s = &b->g.subs[next++];
			if (s->state != SUB_PENDING)
				continue;
			if (start(b, s, err, errlen) < 0) {
				rc = -1;
				break;
			}
			running++;
		}
		nfds_t n = 0;
		for (size_t i = 0; i < b->g.nsubs; i++) {
			struct sub *s = &b->g.subs[i];
			int fds[2] = { s->child.out_fd, s->child.err_fd };
			for (int k = 0; s->running && k < 2; k++)
				if (fds[k] >= 0) {
					pfd[n] = (struct pollfd){ .fd = fds[k], .events = POLLIN };
					owner[n++] = s;
				}
		}
		if (poll(pfd, n, 250) < 0 && errno != EINTR) {
			rc = errf(err, errlen, "poll: %s", strerror(errno));
			break;
		}
		for (nfds_t i = 0; i < n; i++)
			if (pfd[i].revents)
				drain(owner[i], pfd[i].fd == owner[i]->child.err_fd);
		for (size_t i = 0; i < b->g.nsubs; i++) {
			struct sub *s = &b->g.subs[i];
			int wstatus;
			if (s->running)
				watchdog(s);
			if (!s->running || wait_retry(s->child.pid, &wstatus, WNOHANG) <= 0)
				continue;
			close_pipes(s);
			finish(b, s, wstatus);
			running--;
			progress(b, s);
		}
		if (b->tty && b->todo)
			progress(b, NULL);
	}
	stop_children(b);
	if (b->tty && b->todo)
		fputs("\n", stderr);
	free(pfd);
	free(owner);
	return rc < 0 || sandbox_interrupted() ? -1 : 0;
}

/* ---- grader batch ------------------------------------------------------ */

static const char batch_usage[] =
	"usage: grader batch LAB ROOT [-j N] [--output DIR] [--seed N] [--shard K/N] [--force] [--allow-unisolated]\n"
	"       grader merge [--output DIR] SHARD_DIR...\n"
	"ROOT is a folder of submissions (folders or .zip/.tar.gz archives), or an archive of them;\n"
	"DIR (default ./batch-LAB) receives grades.csv, batch.json and results/ (docs/batch.md).\n";

static int
batch_usage_error(const char *fmt, const char *arg)
{
	fputs("grader: ", stderr);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	fputs(batch_usage, stderr);
	return EXIT_USAGE;
}

static int
parse_shard(const char *arg, unsigned *k, unsigned *n)
{
	char *end;
	errno = 0;
	unsigned long kk = strtoul(arg, &end, 10);
	if (errno || end == arg || *end != '/' || !(end[1] >= '0' && end[1] <= '9'))
		return -1;
	const char *ns = end + 1;
	unsigned long nn = strtoul(ns, &end, 10);
	if (errno || *end || nn == 0 || nn > 100000 || kk >= nn)
		return -1;
	*k = (unsigned)kk;
	*n = (unsigned)nn;
	return 0;
}

static int
parse_long(const char *arg, long min, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < min)
		return -1;
	*out = v;
	return 0;
}

/* A bare name is a lab under labs/ unless a lab of that name is right
 * here (main.c's rule for grader grade). */
static char *
lab_path(const char *labs_dir, const char *arg)
{
	char *spec = xstrfmt("%s/lab.yaml", arg);
	struct stat st;
	int here = strchr(arg, '/') || stat(spec, &st) == 0 || (stat(arg, &st) == 0 && S_ISREG(st.st_mode));
	free(spec);
	return here ? xstrdup(arg) : xstrfmt("%s/%s", labs_dir, arg);
}

static char *
grader_version(const char *self)
{
	size_t len;
	char *bin = read_file(self, 256 << 20, &len), hex[65];
	if (!bin)
		return xstrdup(version_string);
	batch_sha256_hex(bin, len, hex);
	free(bin);
	hex[12] = '\0';
	return xstrfmt("%s+%s", version_string, hex);
}

/* Files a killed batch was writing (write_atomic's "*.PID.new"). */
static void
sweep_half_written(const char *out)
{
	const char *dirs[] = { "", "/results", "/logs" };
	for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
		char *dir = xstrfmt("%s%s", out, dirs[i]);
		DIR *d = opendir(dir);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			size_t len = strlen(e->d_name);
			if (len > 4 && !strcmp(e->d_name + len - 4, ".new") && e->d_type != DT_DIR) {
				char *p = xstrfmt("%s/%s", dir, e->d_name);
				unlink(p);
				free(p);
			}
		}
		if (d)
			closedir(d);
		free(dir);
	}
}

static int
lock_output(struct batch *b, char *err, size_t errlen)
{
	char *path = xstrfmt("%s/.lock", b->g.out);
	b->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	int rc = 0;
	if (b->lock_fd < 0)
		rc = errf(err, errlen, "cannot open \"%s\": %s", path, strerror(errno));
	else if (flock(b->lock_fd, LOCK_EX | LOCK_NB) < 0)
		rc = errf(err, errlen, errno == EWOULDBLOCK ? "another batch is writing \"%s\": wait for it to end, or use another --output"
							   : "cannot lock \"%s\"",
			  b->g.out);
	free(path);
	return rc;
}

/* The lab as graded: its folder's files and the reference programs its
 * tests run (rebuilt references grade differently). */
static char *
lab_hash(const struct lab_spec *spec, const char *refs_dir)
{
	struct tree_hash h = { .files = 0 };
	sha256_init(&h.s);
	char dir_hex[65], out[65];
	hash_dir(spec->dir, dir_hex);
	sha256_add(&h.s, dir_hex, 64);
	for (size_t i = 0; i < spec->nrefs; i++) {
		char *full = xstrfmt("%s/%s", refs_dir, spec->refs[i].binary);
		struct stat st;
		if (stat(full, &st) == 0 && S_ISREG(st.st_mode))
			hash_file(&h, full, spec->refs[i].binary, &st);
		free(full);
	}
	sha256_hex(&h.s, out);
	return xstrdup(out);
}

static int
load_lab(struct batch *b, const char *labs_dir, const char *refs_dir)
{
	char *path = lab_path(labs_dir, b->lab_arg);
	struct strbuf errors = STRBUF_INIT;
	int n = spec_load(path, &b->spec, &errors);
	free(path);
	if (n) {
		fputs(errors.buf, stderr);
		fprintf(stderr, "grader: %d problem%s in the lab spec\n", n, n == 1 ? "" : "s");
	}
	sb_release(&errors);
	if (n)
		return -1;
	b->g.spec_hash = lab_hash(&b->spec, refs_dir);
	b->g.lab = xstrdup(b->spec.name);
	b->g.tests = json_array();
	for (size_t i = 0; i < b->spec.ntests; i++) {
		const struct test_spec *t = &b->spec.tests[i];
		json_array_append_new(b->g.tests, json_pack("{s:s, s:i, s:b}", "name", t->name, "max_score", t->points,
							     "visible", t->visible));
		b->g.max_score += t->points;
	}
	return 0;
}

static int
parse_batch_args(struct batch *b, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "jobs", required_argument, NULL, 'j' },   { "output", required_argument, NULL, 'o' },
		{ "seed", required_argument, NULL, 's' },   { "shard", required_argument, NULL, 'k' },
		{ "force", no_argument, NULL, 'f' },        { "allow-unisolated", no_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },         { NULL, 0, NULL, 0 },
	};
	int c;
	long v;
	optind = 1;
	while ((c = getopt_long(argc, argv, "j:o:", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			if (parse_long(optarg, 1, &v) < 0 || v > 1024)
				return batch_usage_error("-j takes a number of gradings at once (1 to 1024), not \"%s\"", optarg);
			b->jobs = (int)v;
			break;
		case 'o':
			b->g.out = optarg;
			break;
		case 's':
			if (parse_long(optarg, 0, &b->g.seed) < 0)
				return batch_usage_error("--seed takes a whole number, not \"%s\"", optarg);
			break;
		case 'k':
			if (parse_shard(optarg, &b->g.shard_k, &b->g.shard_n) < 0)
				return batch_usage_error("--shard takes K/N with 0 <= K < N (e.g. 0/4), not \"%s\"", optarg);
			break;
		case 'f':
			b->force = 1;
			break;
		case 'u':
			b->allow_unisolated = 1;
			break;
		case 'h':
			fputs(batch_usage, stdout);
			return -1;
		default:
			fputs(batch_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 2)
		return batch_usage_error("batch takes a LAB and a ROOT%s", "");
	b->lab_arg = argv[optind];
	b->root_arg = argv[optind + 1];
	return 0;
}

/* A grading that ended in error (the machine too busy for a test's
 * limits, a grader crash) is tried once more, alone, once the rest is
 * done: what a person would do before calling the batch failed. */
static int
grade_errors_again(struct batch *b, char *err, size_t errlen)
{
	size_t n = 0;
	for (size_t i = 0; i < b->g.nsubs; i++) {
		struct sub *s = &b->g.subs[i];
		if (s->state != SUB_ERROR)
			continue;
		s->state = SUB_PENDING;
		free(s->note);
		s->note = NULL;
		json_decref(s->result);
		s->result = NULL;
		n++;
	}
	if (n == 0)
		return 0;
	fprintf(stderr, "grading %zu submission%s again, one at a time: %s ended in error\n", n, n == 1 ? "" : "s",
		n == 1 ? "it" : "they");
	int jobs = b->jobs;
	b->jobs = 1;
	b->todo = n;
	b->done = 0;
	int rc = grade_all(b, err, errlen);
	b->jobs = jobs;
	return rc;
}

static int
batch_status(const struct batch *b, int interrupted)
{
	size_t graded = 0, reused = 0, refused = 0, errors = 0;
	for (size_t i = 0; i < b->g.nsubs; i++) {
		const struct sub *s = &b->g.subs[i];
		graded += s->state == SUB_GRADED;
		reused += s->reused;
		refused += s->state == SUB_REFUSED;
		errors += s->state == SUB_ERROR;
	}
	printf("%s: %zu submission%s: %zu graded (%zu kept from an earlier run), %zu refused, %zu failed in the grader%s\n",
	       b->g.lab, b->g.nsubs, b->g.nsubs == 1 ? "" : "s", graded, reused, refused, errors,
	       interrupted ? ", the rest not reached" : "");
	printf("gradebook: %s/grades.csv\n", b->g.out);
	/* The class at a glance, beside the gradebook (grader report makes it
	 * again from the same folder). */
	char err[1024], *html = xstrfmt("%s/report.html", b->g.out);
	if (graded && classreport_write(b->g.out, html, err, sizeof err) >= 0)
		printf("class report: %s\n", html);
	else if (graded)
		fprintf(stderr, "grader: no class report: %s\n", err);
	free(html);
	if (interrupted || errors)
		printf("run the same command again to grade what is missing\n");
	return interrupted || errors ? EXIT_INTERNAL : refused ? EXIT_SOME_REFUSED : EXIT_ALL_GRADED;
}

static int
run_batch(struct batch *b, const char *labs_dir, const char *refs_dir)
{
	char err[1024];
	if (load_lab(b, labs_dir, refs_dir) < 0)
		return EXIT_USAGE;
	struct sandbox_info iso;
	sandbox_probe(&iso);
	if (iso.mode != ISOLATION_NAMESPACES && !b->allow_unisolated) {
		fprintf(stderr, "grader: refusing to grade submissions without isolation: %s; `grader doctor` says what is missing (--allow-unisolated runs them anyway)\n", iso.detail);
		return EXIT_INTERNAL;
	}
	char *default_out = NULL;
	if (!b->g.out)
		b->g.out = default_out = xstrfmt("batch-%s", b->g.lab);
	int rc = EXIT_INTERNAL;
	if (make_dirs(b, err, sizeof err) < 0 || lock_output(b, err, sizeof err) < 0) {
		fprintf(stderr, "grader: %s\n", err);
		goto out;
	}
	b->out_real = realpath(b->g.out, NULL);
	if (!b->out_real) {
		fprintf(stderr, "grader: cannot resolve \"%s\": %s\n", b->g.out, strerror(errno));
		goto out;
	}
	sweep_half_written(b->g.out);
	char *tmp = xstrfmt("%s/tmp", b->g.out);
	rm_rf(tmp); /* what a killed batch's graders were writing */
	mkdir_p(tmp);
	free(tmp);
	b->self = realpath("/proc/self/exe", NULL);
	b->g.version = grader_version(b->self ? b->self : "/proc/self/exe");
	utc_now(b->g.started_at);
	if (open_root(b, err, sizeof err) < 0 || discover(b, err, sizeof err) < 0) {
		fprintf(stderr, "grader: %s\n", err);
		rc = EXIT_USAGE;
		goto out;
	}
	for (size_t i = 0; i < b->g.nsubs; i++) {
		prepare(b, &b->g.subs[i]);
		reuse(b, &b->g.subs[i]);
		b->todo += b->g.subs[i].state == SUB_PENDING;
	}
	sandbox_catch_signals();
	int grc = grade_all(b, err, sizeof err);
	if (grc == 0)
		grc = grade_errors_again(b, err, sizeof err);
	if (grc < 0 && !sandbox_interrupted())
		fprintf(stderr, "grader: internal error: %s\n", err);
	if (write_gradebook(&b->g, err, sizeof err) < 0) {
		fprintf(stderr, "grader: internal error: %s\n", err);
		goto out;
	}
	rc = grc < 0 ? EXIT_INTERNAL : batch_status(b, 0);
	if (sandbox_interrupted()) {
		batch_status(b, 1);
		fflush(stdout);
		int sig = sandbox_interrupted();
		signal(sig, SIG_DFL);
		raise(sig);
	}
out:
	if (default_out) {
		free(default_out);
		b->g.out = NULL;
	}
	return rc;
}

int
batch_main(const char *labs_dir, const char *refs_dir, int argc, char **argv)
{
	struct batch b = { .jobs = (int)sysconf(_SC_NPROCESSORS_ONLN), .lock_fd = -1, .g.seed = 1, .g.shard_n = 1 };
	if (b.jobs < 1)
		b.jobs = 1;
	int rc = parse_batch_args(&b, argc, argv);
	if (rc)
		return rc < 0 ? 0 : rc;
	b.tty = isatty(STDERR_FILENO);
	rc = run_batch(&b, labs_dir, refs_dir);
	spec_release(&b.spec);
	if (b.lock_fd >= 0)
		close(b.lock_fd);
	free(b.root);
	free(b.self);
	free(b.out_real);

	gradebook_release(&b.g);
	return rc;
}

/* ---- grader merge ------------------------------------------------------- */

static const char *
jget(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v ? v : "";
}

static char *
jdup(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v ? xstrdup(v) : NULL;
}

/* Shards merge when they graded alike: the same lab, spec, grader and
 * seed, as parts of one split. */
static int
merge_compatible(json_t *first, const char *first_dir, json_t *b, const char *dir)
{
	static const char *const keys[][2] = { { "lab", "lab" },
					       { "spec_hash", "lab spec (its files changed between the runs)" },
					       { "grader_version", "grader version" } };
	for (size_t i = 0; i < 3; i++)
		if (strcmp(jget(first, keys[i][0]), jget(b, keys[i][0]))) {
			fprintf(stderr, "grader: cannot merge \"%s\" with \"%s\": their %s differs (\"%s\" and \"%s\"); grade every shard with the same lab and grader\n",
				dir, first_dir, keys[i][1], jget(b, keys[i][0]), jget(first, keys[i][0]));
			return -1;
		}
	if (json_integer_value(json_object_get(first, "seed")) != json_integer_value(json_object_get(b, "seed"))) {
		fprintf(stderr, "grader: cannot merge \"%s\" with \"%s\": they were graded with different --seed\n", dir,
			first_dir);
		return -1;
	}
	json_t *s1 = json_object_get(first, "shard"), *s2 = json_object_get(b, "shard");
	if (json_integer_value(json_object_get(s1, "count")) != json_integer_value(json_object_get(s2, "count"))) {
		fprintf(stderr, "grader: cannot merge \"%s\" with \"%s\": they split the class into different numbers of shards\n",
			dir, first_dir);
		return -1;
	}
	return 0;
}

/* Takes one shard's submissions, results copied into the merged folder. */
static int
merge_shard(struct gradebook *g, json_t *batch, const char *dir)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(batch, "submissions"), i, e)
	{
		const char *id = jget(e, "id"), *file = json_string_value(json_object_get(e, "file"));
		for (size_t k = 0; k < g->nsubs; k++)
			if (!strcmp(g->subs[k].id, id)) {
				fprintf(stderr, "grader: cannot merge: submission \"%s\" is in two shards (the second: \"%s\"); merge each shard once\n",
					id, dir);
				return -1;
			}
		struct sub *s = add_sub(g, id, strlen(id));
		free(s->id);
		s->id = xstrdup(id); /* already an id: not escaped twice */
		free(s->file);
		s->file = id_file(s->id);
		s->note = jdup(e, "note");
		s->name = jdup(e, "name");
		s->email = jdup(e, "email");
		s->sid = jdup(e, "sid");
		for (int st = 0; st < 4; st++)
			if (!strcmp(jget(e, "state"), state_names[st]))
				s->state = (enum sub_state)st;
		if (!file)
			continue;
		if (strchr(file, '/') != strrchr(file, '/') || strncmp(file, "results/", 8) || strstr(file, "..")) {
			fprintf(stderr, "grader: \"%s/batch.json\" names an odd result file \"%s\"\n", dir, file);
			return -1;
		}
		char *from = xstrfmt("%s/%s", dir, file);
		s->result = json_load_file(from, 0, NULL);
		if (!s->result)
			fprintf(stderr, "grader: cannot read \"%s\": the shard is incomplete\n", from);
		free(from);
		if (!s->result)
			return -1;
	}
	return 0;
}

/* Every check passed: the results are written. */
static int
merge_write(struct gradebook *g)
{
	char err[1024], *results = xstrfmt("%s/results", g->out);
	int rc = mkdir_p(results) < 0 ? errf(err, sizeof err, "cannot create \"%s\": %s", results, strerror(errno)) : 0;
	free(results);
	for (size_t i = 0; rc == 0 && i < g->nsubs; i++) {
		if (!g->subs[i].result)
			continue;
		char *to = xstrfmt("%s/results/%s.json", g->out, g->subs[i].file);
		rc = write_json_atomic(to, g->subs[i].result, err, sizeof err);
		free(to);
	}
	if (rc == 0)
		rc = write_gradebook(g, err, sizeof err);
	if (rc)
		fprintf(stderr, "grader: %s\n", err);
	return rc;
}

int
merge_main(int argc, char **argv)
{
	static const struct option opts[] = { { "output", required_argument, NULL, 'o' }, { NULL, 0, NULL, 0 } };
	struct gradebook g = { 0 };
	int c, rc = EXIT_USAGE;
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		if (c != 'o') {
			fputs(batch_usage, stderr);
			return EXIT_USAGE;
		}
		g.out = optarg;
	}
	if (optind >= argc)
		return batch_usage_error("merge takes one or more batch output folders%s", "");
	int nshards = argc - optind;
	json_t **shards = xcalloc((size_t)nshards, sizeof *shards);
	char *seen = NULL, *default_out = NULL;
	for (int i = 0; i < nshards; i++) {
		char *path = xstrfmt("%s/batch.json", argv[optind + i]);
		json_error_t jerr;
		shards[i] = json_load_file(path, 0, &jerr);
		if (!shards[i])
			fprintf(stderr, "grader: \"%s\" is not a batch's output: %s\n", argv[optind + i], jerr.text);
		free(path);
		if (!shards[i] || (i && merge_compatible(shards[0], argv[optind], shards[i], argv[optind + i]) < 0))
			goto out;
	}
	json_int_t count = json_integer_value(json_object_get(json_object_get(shards[0], "shard"), "count"));
	seen = xcalloc((size_t)(count > 0 ? count : 1), 1);
	for (int i = 0; i < nshards; i++) {
		json_int_t k = json_integer_value(json_object_get(json_object_get(shards[i], "shard"), "index"));
		if (k < 0 || k >= count || seen[k]++) {
			fprintf(stderr, "grader: cannot merge: shard %lld/%lld is given twice (\"%s\")\n", (long long)k,
				(long long)count, argv[optind + i]);
			goto out;
		}
	}
	for (json_int_t k = 0; k < count; k++)
		if (!seen[k]) {
			fprintf(stderr, "grader: cannot merge: shard %lld/%lld is missing; give every shard's folder\n",
				(long long)k, (long long)count);
			goto out;
		}
	g.lab = jdup(shards[0], "lab");
	g.spec_hash = jdup(shards[0], "spec_hash");
	g.version = jdup(shards[0], "grader_version");
	g.seed = (long)json_integer_value(json_object_get(shards[0], "seed"));
	g.shard_n = 1;
	g.tests = json_incref(json_object_get(shards[0], "tests"));
	g.max_score = (int)json_integer_value(json_object_get(shards[0], "max_score"));
	snprintf(g.started_at, sizeof g.started_at, "%s", jget(shards[0], "started_at"));
	if (!g.out)
		g.out = default_out = xstrfmt("batch-%s", g.lab);
	for (int i = 0; i < nshards; i++)
		if (merge_shard(&g, shards[i], argv[optind + i]) < 0)
			goto out;
	rc = EXIT_INTERNAL;
	if (merge_write(&g) < 0)
		goto out;
	size_t refused = 0, errors = 0, pending = 0;
	for (size_t i = 0; i < g.nsubs; i++) {
		refused += g.subs[i].state == SUB_REFUSED;
		errors += g.subs[i].state == SUB_ERROR;
		pending += g.subs[i].state == SUB_PENDING;
	}
	printf("merged %d shard%s: %zu submissions into %s/grades.csv\n", nshards, nshards == 1 ? "" : "s", g.nsubs,
	       g.out);
	rc = errors || pending ? EXIT_INTERNAL : refused ? EXIT_SOME_REFUSED : EXIT_ALL_GRADED;
out:
	for (int i = 0; i < nshards; i++)
		json_decref(shards[i]);
	free(shards);
	free(seen);
	free(default_out);
	g.out = NULL;
	gradebook_release(&g);
	return rc;
}
