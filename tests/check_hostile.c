/* Hostile submissions: every fixture under fixtures/hostile/ attacks the
 * sandbox from a tcp-hello submission (see fixtures/hostile/generate.py).
 * Each is graded with only the tests its expected.json lists, once as the
 * caller (root) and once as "nobody", and must get exactly the verdicts a
 * correct, contained sandbox gives.  Around every grading the machine must
 * be unchanged: no process the grading started left (the harness is their
 * subreaper), no new entry in /tmp,
 * /var/tmp, /run/lock, /dev/shm, /dev/mqueue or the grader's TMPDIR, no new
 * SysV object, the same mounts, the canary files (the home folder's, the
 * lab copy's) and the staged grader untouched; and the report never holds
 * the canary secret (nor, as root, a line of /etc/shadow).
 *
 * Each pass has a stage of its own, /var/tmp/ipcgrader-hostile/<pass>/:
 * build/ (grader, references, preload), labs/tcp-hello/ (the LAB argument:
 * a copy whose lab.yaml and canary file carry the secret), tmp/ (TMPDIR),
 * gen/ (generated fixtures), home/ (nobody's home folder).  The path is
 * fixed because fixtures include it (and relative paths to it) at build
 * time; a lock file keeps two runs apart.
 *
 * HOSTILE_RESULTS=FILE appends "pass<TAB>fixture<TAB>expected<TAB>got<TAB>
 * problems" lines to FILE (tests/hostile_report.sh makes its table of
 * them); HOSTILE_ONLY=NAME,NAME... grades only those fixtures, and
 * HOSTILE_PASS=root or nobody runs one pass only. */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture.h"
#include "spawn.h"
#include "nobody.h"
#include "util.h"

#define NOBODY 65534
#define STAGE "/var/tmp/ipcgrader-hostile"
#define CANARY_NAME ".ipcgrader-hostile-canary"
#define MAX_FIXTURES 128
#define GRADER_TIMEOUT_MS 120000
#define SAFETY_AS_MB 8192 /* this machine is shared: see run_grader */

static char *fixtures[MAX_FIXTURES]; /* absolute paths */
static int nfixtures;
static char canary[64];    /* the secret */
static char root_home_canary[4096];
static char repo[4096];
static int results_fd = -1;
static const char *const pass_names[] = { "root", "nobody" };

/* ---- small helpers ---------------------------------------------------- */

static int
run_cmd(const char *const *argv)
{
	struct child c = { .argv = (char **)argv, .envp = (char *[]){ "PATH=/usr/bin:/bin", NULL } };
	struct capture cap;
	capture_init(&cap, 1 << 16);
	struct exit_status st;
	int timed_out;
	char err[256];
	int rc = child_run(&c, 60000, &cap, &st, &timed_out, err, sizeof err);
	capture_release(&cap);
	return rc == 0 && !timed_out && st.how == EXIT_CODE && st.code == 0 ? 0 : -1;
}

static int
write_text(const char *path, const char *text, int mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	int rc = write_all(fd, text, strlen(text));
	if (fchmod(fd, (mode_t)mode) < 0)
		rc = -1;
	if (close(fd) < 0)
		rc = -1;
	return rc;
}

static char *
pass_dir(int pass)
{
	return xstrfmt("%s/%s", STAGE, pass_names[pass]);
}

static char *
home_canary_path(int pass)
{
	return pass == 0 ? xstrdup(root_home_canary) : xstrfmt("%s/nobody/home/%s", STAGE, CANARY_NAME);
}

/* ---- the host's state ------------------------------------------------- */

/* Everything a contained attack must leave as it was, as one text: two
 * snapshots differ exactly where the host changed. */
struct host {
	struct strbuf procs, entries, sysv, mounts, files;
};

static void
host_release(struct host *h)
{
	sb_release(&h->procs);
	sb_release(&h->entries);
	sb_release(&h->sysv);
	sb_release(&h->mounts);
	sb_release(&h->files);
}

/* Processes left by the grading: the harness is a subreaper, so whatever
 * the grader started and did not end (a daemon escaped from its sandbox
 * included) becomes our child.  Others' processes on this shared machine
 * (their tests run as nobody too) never count. */
static void
snap_procs(struct strbuf *sb)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (*end || pid <= 0 || pid == getpid())
			continue;
		char path[64];
		snprintf(path, sizeof path, "/proc/%ld/stat", pid);
		char *stat = read_file(path, 4096, NULL);
		char *paren = stat ? strrchr(stat, ')') : NULL;
		char state = '?';
		long ppid = 0;
		if (paren && sscanf(paren + 1, " %c %ld", &state, &ppid) == 2 && ppid == getpid() && state != 'Z')
			sb_addf(sb, "process %ld: %.*s)\n", pid, (int)(paren - stat), stat);
		free(stat);
	}
	if (d)
		closedir(d);
	int st;
	while (waitpid(-1, &st, WNOHANG) > 0)
		;
}

/* New entries that may be the students': named like what the fixtures
 * and the grader's sandbox create.  Others share this machine and run
 * their own tests (as nobody too) that make files in /tmp all the time:
 * ownership alone would blame them. */
static int
suspect_entry(const char *dir, const char *name)
{
	(void)dir;
	return !strncmp(name, "hostile", 7) || !strncmp(name, "PWNED", 5) || !strcmp(name, "grader-work") ||
	       !strncmp(name, "grader-vg.", 10) || !strncmp(name, "grader-asan", 11);
}

static void
snap_dir(struct strbuf *sb, const char *dir, int everything)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && (everything || suspect_entry(dir, e->d_name)))
			sb_addf(sb, "%s/%s\n", dir, e->d_name);
	if (d)
		closedir(d);
}

static void
snap_sysv(struct strbuf *sb)
{
	static const char *const kinds[] = { "/proc/sysvipc/shm", "/proc/sysvipc/msg", "/proc/sysvipc/sem" };
	for (size_t k = 0; k < 3; k++) {
		char *text = read_file(kinds[k], 1 << 20, NULL), *save, *line;
		for (line = text ? strtok_r(text, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
			long key, id;
			if (sscanf(line, "%ld %ld", &key, &id) == 2) /* the header line does not scan */
				sb_addf(sb, "%s key %ld id %ld\n", kinds[k], key, id);
		}
		free(text);
	}
}

/* A file's bytes as a short hash line; "absent" when it cannot be read. */
static void
snap_file(struct strbuf *sb, const char *path)
{
	size_t len;
	char *text = read_file(path, 64 << 20, &len);
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; text && i < len; i++)
		h = (h ^ (unsigned char)text[i]) * 1099511628211ULL;
	struct stat st;
	int mode = lstat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
	sb_addf(sb, "%s: %s %zu bytes, hash %016llx, mode %o\n", path, text ? "" : "absent", text ? len : 0,
		(unsigned long long)h, mode);
	free(text);
}

/* Both passes' stages: root's students run as nobody, who owns the
 * nobody pass's stage, so an attack in one pass can reach the other's. */
static void
snap_files(struct strbuf *sb, int pass)
{
	char *dir = pass_dir(pass), *home = home_canary_path(pass);
	static const char *const rel[] = { "labs/tcp-hello/lab.yaml", ("labs/tcp-hello/" CANARY_NAME),
					   "build/grader", "build/libipcgrader-linebuf.so",
					   "build/ref/tcp_hello_client", "build/ref/tcp_hello_server" };
	snap_file(sb, home);
	for (size_t i = 0; i < sizeof rel / sizeof *rel; i++) {
		char *p = xstrfmt("%s/%s", dir, rel[i]);
		snap_file(sb, p);
		free(p);
	}
	char *lab = xstrfmt("%s/labs/tcp-hello", dir), *ref = xstrfmt("%s/build/ref", dir);
	snap_dir(sb, lab, 1);
	snap_dir(sb, ref, 1);
	free(lab);
	free(ref);
	free(home);
	free(dir);
}

static void
host_snap(struct host *h, int pass)
{
	memset(h, 0, sizeof *h);
	snap_procs(&h->procs);
	static const char *const dirs[] = { "/tmp", "/var/tmp", "/run/lock", "/dev/shm", "/dev/mqueue" };
	for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
		snap_dir(&h->entries, dirs[i], 0);
	char *dir = pass_dir(pass), *tmp = xstrfmt("%s/tmp", dir);
	snap_dir(&h->entries, tmp, 1);
	free(tmp);
	free(dir);
	snap_sysv(&h->sysv);
	/* Docker on this machine mounts and unmounts other containers' roots
	 * all the time: those lines are not ours. */
	char *mi = read_file("/proc/self/mountinfo", 1 << 20, NULL), *save, *line;
	for (line = mi ? strtok_r(mi, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save))
		if (!strstr(line, " /var/lib/docker/") && !strstr(line, " /run/docker/") && !strstr(line, " /run/netns/"))
			sb_addf(&h->mounts, "%s\n", line);
	free(mi);
	snap_files(&h->files, 0);
	snap_files(&h->files, 1);
}

/* The lines of after that before does not have. */
static void
new_lines(struct strbuf *out, const char *what, const struct strbuf *before, const struct strbuf *after)
{
	const char *b = before->buf ? before->buf : "", *a = after->buf ? after->buf : "";
	int shown = 0, more = 0;
	for (const char *line = a; *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line + 1) : strlen(line);
		char *probe = xstrfmt("%.*s", (int)len, line);
		if (!strstr(b, probe) && shown++ < 4)
			sb_addf(out, "%s: %.300s%s", what, probe, strlen(probe) > 300 ? "...\n" : "");
		else if (!strstr(b, probe))
			more++;
		free(probe);
		line += len;
	}
	if (more)
		sb_addf(out, "%s: and %d more\n", what, more);
}

/* Removes new suspect entries, so that a successful attack does not leave
 * 200 MB in /var/tmp or a daemon behind. */
static void
host_restore(const struct host *before, const struct host *after)
{
	const char *b = before->entries.buf ? before->entries.buf : "";
	for (const char *line = after->entries.buf ? after->entries.buf : ""; *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char *path = xstrfmt("%.*s", (int)len, line), *probe = xstrfmt("%s\n", path);
		if (!strstr(b, probe))
			rm_rf(path);
		free(probe);
		free(path);
		line += len + (nl != NULL);
	}
	for (const char *line = after->procs.buf ? after->procs.buf : ""; *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line + 1) : strlen(line);
		char *probe = xstrfmt("%.*s", (int)len, line);
		long pid;
		if (!strstr(before->procs.buf ? before->procs.buf : "", probe) && sscanf(probe, "process %ld", &pid) == 1)
			kill((pid_t)pid, SIGKILL);
		free(probe);
		line += len;
	}
}

static char *staged_yaml[2]; /* lab.yaml as staged, with the canary */

/* Puts the stages back as they were after an attack changed them, so that
 * one fixture's success does not decide the next one's verdict. */
static void
restage(void)
{
	for (int pass = 0; pass < 2; pass++) {
		char *dir = pass_dir(pass), *p;
		static const char *const bins[] = { "grader", "libipcgrader-linebuf.so", "ref/tcp_hello_client", "ref/tcp_hello_server" };
		for (size_t i = 0; i < 4; i++) {
			char *from = xstrfmt("build/%s", bins[i]);
			p = xstrfmt("%s/build/%s", dir, bins[i]);
			unlink(p);
			copy_file(from, p, 0755); /* fails harmlessly where we may not */
			free(from);
			free(p);
		}
		p = xstrfmt("%s/labs/tcp-hello/lab.yaml", dir);
		if (staged_yaml[pass])
			write_text(p, staged_yaml[pass], 0644);
		free(p);
		p = xstrfmt("%s/labs/tcp-hello/%s", dir, CANARY_NAME);
		char *line = xstrfmt("%s\n", canary);
		write_text(p, line, 0600);
		free(line);
		free(p);
		p = xstrfmt("%s/labs/tcp-hello/PWNED", dir);
		unlink(p);
		free(p);
		free(dir);
	}
}

/* What changed on the host, waiting up to 1 s for leftovers to vanish. */
static void
host_diff(struct strbuf *problems, const struct host *before, int pass)
{
	struct host after;
	for (int64_t until = now_ms() + 1000;;) {
		host_snap(&after, pass);
		struct strbuf d = STRBUF_INIT;
		new_lines(&d, "left running", &before->procs, &after.procs);
		if (!d.len || now_ms() >= until) {
			sb_release(&d);
			break;
		}
		sb_release(&d);
		host_release(&after);
		usleep(20000);
	}
	new_lines(problems, "left running", &before->procs, &after.procs);
	new_lines(problems, "new entry", &before->entries, &after.entries);
	new_lines(problems, "new SysV object", &before->sysv, &after.sysv);
	if (strcmp(before->mounts.buf ? before->mounts.buf : "", after.mounts.buf ? after.mounts.buf : ""))
		new_lines(problems, "mounts changed", &before->mounts, &after.mounts);
	size_t had = problems->len;
	new_lines(problems, "changed", &before->files, &after.files);
	if (problems->len != had)
		restage();
	host_restore(before, &after);
	host_release(&after);
}

/* ---- staging ------------------------------------------------------------ */

static int
stage_pass(int pass, char *err, size_t errlen)
{
	char *dir = pass_dir(pass);
	rm_rf(dir);
	char *sub[] = { xstrfmt("%s/build/ref", dir), xstrfmt("%s/labs", dir), xstrfmt("%s/tmp", dir),
			xstrfmt("%s/gen", dir), xstrfmt("%s/home", dir) };
	int rc = 0;
	for (size_t i = 0; i < 5; i++)
		if (mkdir_p(sub[i]) < 0)
			rc = errf(err, errlen, "cannot create \"%s\": %s", sub[i], strerror(errno));
	char *p;
	p = xstrfmt("%s/build/grader", dir);
	if (rc == 0 && copy_file("build/grader", p, 0755) < 0)
		rc = errf(err, errlen, "cannot copy build/grader (run make): %s", strerror(errno));
	free(p);
	p = xstrfmt("%s/build/libipcgrader-linebuf.so", dir);
	if (rc == 0 && copy_file("build/libipcgrader-linebuf.so", p, 0755) < 0)
		rc = errf(err, errlen, "cannot copy build/libipcgrader-linebuf.so (run make): %s", strerror(errno));
	free(p);
	for (size_t i = 0; rc == 0 && i < 2; i++) {
		const char *name = i ? "tcp_hello_server" : "tcp_hello_client";
		char *from = xstrfmt("build/ref/%s", name), *to = xstrfmt("%s/build/ref/%s", dir, name);
		if (copy_file(from, to, 0755) < 0)
			rc = errf(err, errlen, "cannot copy %s (run make): %s", from, strerror(errno));
		free(from);
		free(to);
	}
	if (rc == 0) {
		const char *cp[] = { "/bin/cp", "-R", "labs/tcp-hello", sub[1], NULL };
		if (run_cmd(cp) < 0)
			rc = errf(err, errlen, "cannot copy labs/tcp-hello to \"%s\"", sub[1]);
	}
	/* The secret goes first in lab.yaml (a comment) and in a 0600 file. */
	char *yaml = xstrfmt("%s/labs/tcp-hello/lab.yaml", dir);
	char *text = rc == 0 ? read_file(yaml, 1 << 20, NULL) : NULL;
	if (rc == 0 && !text)
		rc = errf(err, errlen, "cannot read \"%s\"", yaml);
	if (rc == 0) {
		char *with = xstrfmt("# %s: hidden tests live here\n%s", canary, text);
		if (write_text(yaml, with, 0644) < 0)
			rc = errf(err, errlen, "cannot write \"%s\": %s", yaml, strerror(errno));
		staged_yaml[pass] = with;
	}
	free(text);
	free(yaml);
	char *labcanary = xstrfmt("%s/labs/tcp-hello/%s", dir, CANARY_NAME), *line = xstrfmt("%s\n", canary);
	if (rc == 0 && write_text(labcanary, line, 0600) < 0)
		rc = errf(err, errlen, "cannot write \"%s\": %s", labcanary, strerror(errno));
	free(labcanary);
	char *home = home_canary_path(pass);
	if (rc == 0 && write_text(home, line, 0600) < 0)
		rc = errf(err, errlen, "cannot write \"%s\": %s", home, strerror(errno));
	free(home);
	free(line);
	/* Fixtures that are generated rather than committed (a 50 MB source). */
	for (int i = 0; rc == 0 && i < nfixtures; i++) {
		char *exp = xstrfmt("%s/expected.json", fixtures[i]);
		json_t *e = json_load_file(exp, 0, NULL);
		json_int_t pad = e ? json_integer_value(json_object_get(e, "pad_to_bytes")) : 0;
		if (pad > 0) {
			const char *name = strrchr(fixtures[i], '/') + 1;
			char *gdir = xstrfmt("%s/gen/%s", dir, name), *from = xstrfmt("%s/server.c", fixtures[i]);
			char *to = xstrfmt("%s/server.c", gdir), *cfrom = xstrfmt("%s/client.c", fixtures[i]);
			char *cto = xstrfmt("%s/client.c", gdir);
			size_t len;
			char *src = read_file(from, 1 << 20, &len);
			FILE *f = mkdir_p(gdir) == 0 && src ? fopen(to, "w") : NULL;
			if (!f || copy_file(cfrom, cto, 0644) < 0) {
				rc = errf(err, errlen, "cannot generate \"%s\"", to);
			} else {
				fwrite(src, 1, len, f);
				fputs("/*", f);
				static char pad_line[1024];
				memset(pad_line, ' ', sizeof pad_line - 1);
				pad_line[sizeof pad_line - 2] = '\n';
				for (json_int_t n = (json_int_t)len + 4; n < pad; n += (json_int_t)sizeof pad_line - 1)
					fputs(pad_line, f);
				fputs("*/\n", f);
				if (fclose(f) != 0)
					rc = errf(err, errlen, "cannot write \"%s\"", to);
			}
			free(src);
			free(gdir);
			free(from);
			free(to);
			free(cfrom);
			free(cto);
		}
		json_decref(e);
		free(exp);
	}
	/* Nobody's pass: everything is nobody's own, like a user's checkout. */
	if (rc == 0 && pass == 1) {
		const char *chown[] = { "/bin/chown", "-R", "65534:65534", dir, NULL };
		char *homedir = xstrfmt("%s/home", dir);
		if (run_cmd(chown) < 0 || chmod(homedir, 0700) < 0)
			rc = errf(err, errlen, "cannot give \"%s\" to nobody", dir);
		free(homedir);
	}
	for (size_t i = 0; i < 5; i++)
		free(sub[i]);
	free(dir);
	return rc;
}

static void undelegate_cgroups(void);

static void
unstage(void)
{
	undelegate_cgroups(); /* defined with become() */
	for (int pass = 0; pass < 2; pass++) {
		char *dir = pass_dir(pass);
		rm_rf(dir);
		free(dir);
	}
	rmdir(STAGE);
	unlink(root_home_canary);
}

/* ---- grading ------------------------------------------------------------ */

/* Copies a fixture's files (links as links) into to, for a grader that
 * may not read the checkout (nobody, where the repository is 0700). */
static void
copy_fixture(const char *from, const char *to)
{
	mkdir(to, 0755);
	DIR *d = opendir(from);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.' || !strcmp(e->d_name, "expected.json"))
			continue;
		char *src = xstrfmt("%s/%s", from, e->d_name), *dst = xstrfmt("%s/%s", to, e->d_name), link[4096];
		ssize_t n = readlink(src, link, sizeof link - 1);
		unlink(dst);
		if (n >= 0) {
			link[n] = '\0';
			ck_assert_msg(symlink(link, dst) == 0, "symlink %s: %s", dst, strerror(errno));
		} else {
			ck_assert_msg(copy_file(src, dst, 0644) == 0, "copy %s: %s", src, strerror(errno));
		}
		free(src);
		free(dst);
	}
	if (d)
		closedir(d);
}

/* Where the pass's grader finds the fixture: a generated one (padded) or,
 * for nobody, a copy in its stage; run as root, before become(). */
static char *
fixture_path(int pass, const char *fixture, json_t *e)
{
	int gen = json_integer_value(json_object_get(e, "pad_to_bytes")) > 0;
	if (!gen && pass == 0)
		return xstrdup(fixture);
	char *dir = pass_dir(pass), *p = xstrfmt("%s/gen/%s", dir, strrchr(fixture, '/') + 1);
	free(dir);
	if (!gen)
		copy_fixture(fixture, p);
	return p;
}

/* Runs the staged grader on one fixture with the listed tests; its exit
 * status, the report's text in *report, what it printed in *out. */
static int
run_grader(int pass, const char *path, json_t *tests, int memcheck, char **report, char **out)
{
	char *dir = pass_dir(pass);
	char *file = xstrfmt("%s/report.json", dir), *grader = xstrfmt("%s/build/grader", dir);
	char *lab = xstrfmt("%s/labs/tcp-hello", dir);
	unlink(file);
	struct strvec argv = STRVEC_INIT, env = STRVEC_INIT;
	sv_push(&argv, grader);
	sv_push(&argv, "grade");
	sv_push(&argv, lab);
	sv_push(&argv, path);
	sv_push(&argv, "--format");
	sv_push(&argv, "json");
	sv_push(&argv, "--output");
	sv_push(&argv, file);
	sv_push(&argv, "--require-isolation"); /* never hostile code on the bare machine */
	const char *name;
	json_t *v;
	json_object_foreach(tests, name, v) {
		sv_push(&argv, "--test");
		sv_push(&argv, name);
	}
	sv_push(&env, "PATH=/usr/local/bin:/usr/bin:/bin");
	sv_pushf(&env, "TMPDIR=%s/tmp", dir);
	/* The sandbox's modes, to run the whole suite in each (make test-modes). */
	static const char *const modes[] = { "IPCGRADER_NO_USERNS", "IPCGRADER_NO_NAMESPACES" };
	for (size_t m = 0; m < sizeof modes / sizeof *modes; m++)
		if (getenv(modes[m]))
			sv_pushf(&env, "%s=%s", modes[m], getenv(modes[m]));
	if (pass)
		sv_pushf(&env, "HOME=%s/home", dir);
	else
		sv_pushf(&env, "HOME=%.*s", (int)(strrchr(root_home_canary, '/') - root_home_canary), root_home_canary);
	/* This machine is shared: without a build sandbox, #include "/dev/zero"
	 * would let the compiler eat all of its memory.  An address-space cap
	 * on the grader (not under memcheck tests, where Valgrind and ASan
	 * need more) bounds that; it changes no verdict of a contained run. */
	struct child c = { .argv = argv.v, .envp = env.v, .limits = { .memory_mb = memcheck ? 0 : SAFETY_AS_MB } };
	struct capture cap;
	capture_init(&cap, 1 << 20);
	struct exit_status st;
	int timed_out;
	char err[256];
	int rc = child_run(&c, GRADER_TIMEOUT_MS, &cap, &st, &timed_out, err, sizeof err);
	ck_assert_msg(rc == 0, "cannot run the grader: %s", err);
	*out = capture_bytes(&cap, 1, NULL);
	*report = read_file(file, 16 << 20, NULL);
	unlink(file);
	capture_release(&cap);
	sv_clear(&argv);
	sv_clear(&env);
	free(file);
	free(grader);
	free(lab);
	free(dir);
	if (timed_out)
		return -2;
	return st.how == EXIT_CODE ? st.code : -1;
}

static void
shadow_leaks(struct strbuf *problems, const char *report)
{
	char *shadow = read_file("/etc/shadow", 1 << 20, NULL), *save, *line;
	for (line = shadow ? strtok_r(shadow, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save))
		if (strlen(line) >= 12 && strstr(report, line)) {
			sb_addf(problems, "the report shows /etc/shadow (\"%.8s...\")\n", line);
			break;
		}
	free(shadow);
}

/* The folder of our own group in the hierarchy that has controller (v1),
 * or of the unified one (controller NULL); the caller frees. */
static char *
own_cgroup(const char *controller)
{
	char *text = read_file("/proc/self/cgroup", 1 << 16, NULL), *found = NULL, *save;
	for (char *line = text ? strtok_r(text, "\n", &save) : NULL; line && !found; line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		if (controller ? !strcmp(c1 + 1, controller) : !strcmp(line, "0") && !c1[1])
			found = controller ? xstrfmt("/sys/fs/cgroup/%s%s", controller, c2 + 1)
					   : xstrfmt("/sys/fs/cgroup%s", c2 + 1);
	}
	free(text);
	return found;
}

#define DELEGATED "hostile-nobody"

/* Gives nobody a group of its own in each hierarchy and moves us there, as
 * systemd delegates one to a user (Delegate=yes): the nobody pass then
 * grades with whole-test limits like a user on a delegated machine.  Where
 * that cannot be done the grader says why in isolation.detail. */
static void
delegate_cgroups(void)
{
	static const char *const controllers[] = { "memory", "pids" };
	for (size_t i = 0; i < 2; i++) {
		char *own = own_cgroup(controllers[i]);
		if (!own || access(own, W_OK) < 0) {
			free(own);
			continue;
		}
		char *dir = xstrfmt("%s/" DELEGATED "-%d", own, (int)getpid());
		char *procs = xstrfmt("%s/cgroup.procs", dir), *tasks = xstrfmt("%s/tasks", dir);
		char pid[32];
		snprintf(pid, sizeof pid, "%d\n", (int)getpid());
		int fd = -1;
		if (mkdir(dir, 0755) == 0 && chown(dir, NOBODY, NOBODY) == 0 && chown(procs, NOBODY, NOBODY) == 0 &&
		    (access(tasks, F_OK) < 0 || chown(tasks, NOBODY, NOBODY) == 0) &&
		    (fd = open(procs, O_WRONLY | O_CLOEXEC)) >= 0 && write_all(fd, pid, strlen(pid)) == 0) {
			/* delegated */
		}
		if (fd >= 0)
			close(fd);
		free(procs);
		free(tasks);
		free(dir);
		free(own);
	}
}

/* Removes the delegated groups of test processes that are gone. */
static void
undelegate_cgroups(void)
{
	static const char *const controllers[] = { "memory", "pids" };
	for (size_t i = 0; i < 2; i++) {
		char *own = own_cgroup(controllers[i]);
		DIR *d = own ? opendir(own) : NULL;
		struct dirent *e;
		while (d && (e = readdir(d)))
			if (!strncmp(e->d_name, DELEGATED "-", strlen(DELEGATED) + 1)) {
				/* A grader killed in it may have left its own groups inside. */
				char *path = xstrfmt("%s/%s", own, e->d_name);
				DIR *sub = opendir(path);
				struct dirent *f;
				while (sub && (f = readdir(sub)))
					if (!strncmp(f->d_name, "ipcgrader-", 10)) {
						char *inner = xstrfmt("%s/%s", path, f->d_name), *cmd;
						DIR *tests = opendir(inner);
						struct dirent *g;
						while (tests && (g = readdir(tests)))
							if (g->d_name[0] == 't' && (cmd = xstrfmt("%s/%s", inner, g->d_name))) {
								rmdir(cmd);
								free(cmd);
							}
						if (tests)
							closedir(tests);
						rmdir(inner);
						free(inner);
					}
				if (sub)
					closedir(sub);
				rmdir(path); /* refused while a process is in it */
				free(path);
			}
		if (d)
			closedir(d);
		free(own);
	}
}

static void
become(int pass)
{
	if (pass == 0)
		return;
	if (geteuid() != 0)
		ck_abort_msg("the harness must run as root to grade as nobody too (it is uid %d)", (int)geteuid());
	delegate_cgroups();
	ck_assert_msg(setgroups(0, NULL) == 0 && setgid(NOBODY) == 0 && setuid(NOBODY) == 0,
		      "cannot become nobody: %s", strerror(errno));
}

START_TEST(grade_fixture)
{
	int pass = _i / nfixtures;
	const char *fixture = fixtures[_i % nfixtures], *name = strrchr(fixture, '/') + 1;
	const char *only_pass = getenv("HOSTILE_PASS");
	if ((only_pass && strcmp(only_pass, pass_names[pass])) || (pass == 1 && !nobody_passes_apply()))
		return;
	/* Read as root: nobody may not read the checkout (a 0700 home). */
	char *exp_path = xstrfmt("%s/expected.json", fixture);
	json_error_t jerr;
	json_t *exp = json_load_file(exp_path, 0, &jerr);
	ck_assert_msg(exp != NULL, "%s: %s", exp_path, jerr.text);
	char *path = fixture_path(pass, fixture, exp);
	become(pass);
	ck_assert_msg(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0, "cannot become a subreaper: %s", strerror(errno));
	json_t *tests = json_object_get(exp, "tests");
	ck_assert_msg(json_is_object(tests) && json_object_size(tests) > 0, "%s: no \"tests\"", exp_path);
	int memcheck = 0;
	const char *tname;
	json_t *tv;
	json_object_foreach(tests, tname, tv) memcheck |= strstr(tname, "valgrind") || strstr(tname, "asan");

	struct host before;
	host_snap(&before, pass);
	int64_t t0 = now_ms();
	char *report = NULL, *out = NULL;
	int status = run_grader(pass, path, tests, memcheck, &report, &out);
	free(path);
	long ms = (long)(now_ms() - t0);
	struct strbuf problems = STRBUF_INIT, expected = STRBUF_INIT, got = STRBUF_INIT;
	host_diff(&problems, &before, pass);
	host_release(&before);

	if (status == -2)
		sb_addf(&problems, "the grader hung (more than %d s)\n", GRADER_TIMEOUT_MS / 1000);
	else if (status != 0 && status != 1)
		sb_addf(&problems, "the grader exited with status %d, not 0 or 1: %.600s\n", status, out);
	json_t *rep = report ? json_loads(report, 0, &jerr) : NULL;
	if (!rep)
		sb_addf(&problems, "no JSON report: %.600s\n", out);
	if ((report && strstr(report, canary)) || strstr(out, canary))
		sb_adds(&problems, "the report shows the canary secret\n");
	if (pass == 0 && report)
		shadow_leaks(&problems, report);
	/* Memory attacks are contained by the test's cgroup; where the machine
	 * gives none (the report says why), only the host checks apply. */
	const char *iso = rep ? json_string_value(json_object_get(json_object_get(rep, "isolation"), "detail")) : NULL;
	int no_limits = json_is_true(json_object_get(exp, "needs_cgroup")) && iso &&
			strstr(iso, "no whole-test memory and process limits");
	if (no_limits)
		fprintf(stderr, "check_hostile: %s as %s: no cgroup here, verdicts not judged (%s)\n", name,
			pass_names[pass], iso);
	json_object_foreach(tests, tname, tv) {
		if (no_limits)
			break;
		const char *want = json_string_value(tv), *have = "missing";
		json_t *t;
		size_t k;
		json_array_foreach(json_object_get(rep, "tests"), k, t)
			if (!strcmp(json_string_value(json_object_get(t, "name")) ?: "", tname))
				have = json_string_value(json_object_get(t, "status")) ?: "?";
		sb_addf(&expected, "%s%s=%s", expected.len ? " " : "", tname, want);
		sb_addf(&got, "%s%s=%s", got.len ? " " : "", tname, have);
		if (strcmp(want ?: "", have)) {
			const char *msg = "";
			json_array_foreach(json_object_get(rep, "tests"), k, t)
				if (!strcmp(json_string_value(json_object_get(t, "name")) ?: "", tname))
					msg = json_string_value(json_object_get(t, "message")) ?: "";
			sb_addf(&problems, "%s: expected %s, got %s (%s)\n", tname, want, have, msg);
		}
	}
	if (results_fd >= 0) {
		struct strbuf line = STRBUF_INIT;
		sb_addf(&line, "%s\t%s\t%s\t%s\t%ld\t", pass_names[pass], name, expected.buf, got.buf, ms);
		for (const char *p = problems.buf ? problems.buf : ""; *p; p++)
			sb_add(&line, *p == '\n' ? "; " : *p == '\t' ? " " : p, *p == '\n' ? 2 : 1);
		sb_adds(&line, "\n");
		write_all(results_fd, line.buf, line.len);
		sb_release(&line);
	}
	ck_assert_msg(problems.len == 0, "%s as %s (%ld ms): %.3000s", name, pass_names[pass], ms, problems.buf);
	sb_release(&problems);
	sb_release(&expected);
	sb_release(&got);
	json_decref(rep);
	json_decref(exp);
	free(report);
	free(out);
	free(exp_path);
}
END_TEST

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
find_fixtures(void)
{
	DIR *d = opendir("fixtures/hostile");
	struct dirent *e;
	const char *only = getenv("HOSTILE_ONLY");
	while (d && (e = readdir(d)) && nfixtures < MAX_FIXTURES) {
		char *dir = xstrfmt("%s/fixtures/hostile/%s", repo, e->d_name), *exp = xstrfmt("%s/expected.json", dir);
		char *needle = xstrfmt(",%s,", e->d_name), *list = xstrfmt(",%s,", only ? only : "");
		int wanted = !only || strstr(list, needle);
		free(needle);
		free(list);
		if (e->d_name[0] != '.' && access(exp, R_OK) == 0 && wanted)
			fixtures[nfixtures++] = dir;
		else
			free(dir);
		free(exp);
	}
	if (d)
		closedir(d);
	qsort(fixtures, (size_t)nfixtures, sizeof *fixtures, by_name);
}

static int
make_canary(void)
{
	unsigned char r[8];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, r, sizeof r) != (ssize_t)sizeof r)
		return -1;
	close(fd);
	snprintf(canary, sizeof canary, "IPCGRADER-HOSTILE-CANARY-%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2],
		 r[3], r[4], r[5], r[6], r[7]);
	struct passwd *pw = getpwuid(geteuid());
	snprintf(root_home_canary, sizeof root_home_canary, "%s/%s", pw && pw->pw_dir ? pw->pw_dir : "/root",
		 CANARY_NAME);
	return 0;
}

int
main(void)
{
	if (!getcwd(repo, sizeof repo)) {
		perror("getcwd");
		return 1;
	}
	if (geteuid() != 0) {
		/* It stages for nobody and plants canaries in root's home: what
		 * `make test` as an ordinary user cannot do.  Say so, plainly. */
		printf("check_hostile: not run: the hostile corpus grades as root and as nobody and needs root (uid %d now)\n",
		       (int)geteuid());
		return 0;
	}
	find_fixtures();
	if (nfixtures == 0) {
		fprintf(stderr, "check_hostile: no fixtures under fixtures/hostile (run it from the repository)\n");
		return 1;
	}
	if (mkdir_p(STAGE) < 0 || chmod(STAGE, 0755) < 0) {
		fprintf(stderr, "check_hostile: cannot create %s: %s\n", STAGE, strerror(errno));
		return 1;
	}
	int lock = open(STAGE "/.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) < 0) {
		fprintf(stderr, "check_hostile: another run holds %s/.lock\n", STAGE);
		return 1;
	}
	char err[512];
	if (make_canary() < 0 || stage_pass(0, err, sizeof err) < 0 || stage_pass(1, err, sizeof err) < 0) {
		fprintf(stderr, "check_hostile: cannot stage: %s\n", err);
		unstage();
		return 1;
	}
	if (getenv("HOSTILE_RESULTS"))
		results_fd = open(getenv("HOSTILE_RESULTS"), O_WRONLY | O_APPEND | O_CREAT, 0644);

	Suite *s = suite_create("hostile");
	TCase *tc = tcase_create("fixtures");
	tcase_set_timeout(tc, GRADER_TIMEOUT_MS / 1000 + 30);
	tcase_add_loop_test(tc, grade_fixture, 0, 2 * nfixtures);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	unstage();
	unlink(STAGE "/.lock");
	rmdir(STAGE);
	for (int i = 0; i < nfixtures; i++)
		free(fixtures[i]);
	return failed ? 1 : 0;
}
