/* Theory of operation.
 *
 * Every test gets its own cgroup so that a memory limit and a pids limit
 * hold for the whole test (the student's children, its POSIX shared memory
 * in tmpfs, its fork loops), and so that the kernel tells us afterwards
 * whether a limit was hit.  The groups are made BELOW the cgroup the
 * grader already runs in, so whatever limits a container or a systemd
 * slice put on the grader still apply to the tests.
 *
 * cgroup v2 (one hierarchy, "0::/path" in /proc/self/cgroup):
 *
 *     <home>/                          the grader's cgroup when it started
 *     <home>/ipcgrader-<pid>/          per-grader parent: +memory +pids
 *     <home>/ipcgrader-<pid>/grader/   the grader itself, moved here
 *     <home>/ipcgrader-<pid>/t<pid>-<n>/  one per test: memory.max, pids.max
 *
 *   A child gets the memory and pids controllers only when its parent lists
 *   them in cgroup.subtree_control, and a non-root group with controllers
 *   enabled there may hold no processes itself ("no internal processes").
 *   So the grader leaves <home> for the leaf ".../grader", then enables the
 *   controllers in <home> (only when they are not already) and in the
 *   per-grader parent.  This works as root and in a group systemd delegated
 *   to the user (systemd-run --user --scope -p Delegate=yes), provided the
 *   grader is the only process there.  cgroup_env_release() undoes it in
 *   reverse: test groups, the controllers it enabled, the move, the dirs.
 *
 * cgroup v1 (one hierarchy per controller, e.g. "4:memory:/a/b"):
 *
 *     <memory mount><our memory path>/ipcgrader-<pid>/t<pid>-<n>/
 *     <pids mount><our pids path>/ipcgrader-<pid>/t<pid>-<n>/
 *
 *   No controller has to be enabled and no process has to move, but a test
 *   process is attached to both hierarchies.  Writing there takes root.
 *
 * When a machine has both (hybrid: v1 controllers plus a cgroup2 mount),
 * the version is chosen by where the memory and pids controllers are
 * attached: a controller lives in one hierarchy only.
 *
 * Waiting for a group to empty never sleeps a guessed time: v2 polls
 * cgroup.events for "populated 0" (the kernel signals POLLPRI on change),
 * v1 re-reads cgroup.procs until it is empty; both with a deadline. */
#define _GNU_SOURCE
#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

/* How long destroy and release wait for the kernel to end the processes
 * and free the group; SIGKILLed tasks usually go within milliseconds. */
#define CGROUP_DEADLINE_MS 3000

static const char REMEDY_V2[] =
	"run the grader under `systemd-run --user --scope -p Delegate=yes ...`, or as root";

/* With the pid, makes test group names unique; the grader creates groups
 * from one thread. */
static unsigned long next_test_id;

/* ---- small file helpers ----------------------------------------------- */

static int
path_join(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, CGROUP_PATH_MAX, "%s/%s", dir, name);
	if (n < 0 || n >= CGROUP_PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* Writes s to dir/file in one write(2): cgroup files take a value per
 * write, and the kernel's error (EBUSY, EINVAL...) comes back in errno. */
static int
write_at(const char *dir, const char *file, const char *s)
{
	char path[CGROUP_PATH_MAX];
	if (path_join(path, dir, file) < 0)
		return -1;
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (write_all(fd, s, strlen(s)) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return close(fd);
}

static char *
read_at(const char *dir, const char *file)
{
	char path[CGROUP_PATH_MAX];
	if (path_join(path, dir, file) < 0)
		return NULL;
	return read_file(path, 1 << 20, NULL);
}

static int
exists_at(const char *dir, const char *file)
{
	char path[CGROUP_PATH_MAX];
	return path_join(path, dir, file) == 0 && access(path, F_OK) == 0;
}

/* The value of "key N" in a flat-keyed file (memory.events, pids.events,
 * memory.oom_control), or -1 when the key is absent. */
static long
keyed_value(const char *text, const char *key)
{
	size_t klen = strlen(key);
	const char *line = text;
	while (line && *line) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ') {
			char *end;
			errno = 0;
			long v = strtol(line + klen + 1, &end, 10);
			return errno || end == line + klen + 1 ? -1 : v;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return -1;
}

/* Whether word is one of the items of a list separated by spaces, commas
 * or newlines (cgroup.controllers, mount options, "cpu,cpuacct"). */
static int
has_word(const char *list, const char *word)
{
	size_t wlen = strlen(word);
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, " ,\n");
		if (n == wlen && strncmp(p, word, wlen) == 0)
			return 1;
		p += n;
		if (*p)
			p++;
	}
	return 0;
}

static void
pause_briefly(long *us)
{
	struct timespec ts = { 0, *us * 1000 };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	if (*us < 10000)
		*us *= 2;
}

/* ---- finding our cgroups ---------------------------------------------- */

/* Undoes the octal escapes (\040 for a space) of /proc/self/mountinfo. */
static void
unescape_mount_field(char *s)
{
	char *out = s;
	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
		    s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

/* Our group's directory: the mount point plus our path in the hierarchy,
 * less the mount's own root (a cgroup namespace or a bind mount of a
 * subtree shows only part of the hierarchy). */
static int
locate(const char *mnt, const char *root, const char *cgpath, char *out)
{
	const char *rest = cgpath;
	if (strcmp(root, "/") != 0) {
		size_t rlen = strlen(root);
		if (strncmp(cgpath, root, rlen) != 0 || (cgpath[rlen] != '/' && cgpath[rlen] != '\0'))
			return -1;
		rest = cgpath + rlen;
	}
	if (strcmp(rest, "/") == 0)
		rest = "";
	int n = snprintf(out, CGROUP_PATH_MAX, "%s%s", mnt, rest);
	return n < 0 || n >= CGROUP_PATH_MAX ? -1 : 0;
}

/* Finds the directory of our own group in the hierarchy of the given
 * filesystem type ("cgroup2", or "cgroup" with controller among its super
 * options) by matching /proc/self/mountinfo against /proc/self/cgroup. */
static int
own_group_dir(const char *fstype, const char *controller, char *out)
{
	char *cgroups = read_file("/proc/self/cgroup", 1 << 16, NULL);
	char *mounts = read_file("/proc/self/mountinfo", 1 << 20, NULL);
	int rc = -1;
	if (!cgroups || !mounts)
		goto out;

	/* Our path: "0::/p" for v2, "N:a,b:/p" with controller in a,b for v1. */
	const char *cgpath = NULL;
	char *lsave;
	for (char *line = strtok_r(cgroups, "\n", &lsave); line; line = strtok_r(NULL, "\n", &lsave)) {
		if (!controller) {
			if (strncmp(line, "0::", 3) == 0) {
				cgpath = line + 3;
				break;
			}
			continue;
		}
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		if (has_word(c1 + 1, controller)) {
			cgpath = c2 + 1;
			break;
		}
	}
	if (!cgpath)
		goto out;

	for (char *line = strtok_r(mounts, "\n", &lsave); line; line = strtok_r(NULL, "\n", &lsave)) {
		/* id parent maj:min root mountpoint opts [optional...] - fstype source superopts */
		char *f[5], *save, *p = line;
		int i;
		for (i = 0; i < 5; i++, p = NULL)
			if (!(f[i] = strtok_r(p, " ", &save)))
				break;
		if (i < 5)
			continue;
		char *dash = strstr(save, " - "); /* after the optional fields */
		if (!dash)
			continue;
		char *type = strtok_r(dash + 3, " ", &save);
		char *source = strtok_r(NULL, " ", &save);
		char *super = strtok_r(NULL, " ", &save);
		if (!type || !source || !super || strcmp(type, fstype) != 0)
			continue;
		if (controller && !has_word(super, controller))
			continue;
		unescape_mount_field(f[3]);
		unescape_mount_field(f[4]);
		if (locate(f[4], f[3], cgpath, out) == 0) {
			rc = 0;
			break;
		}
	}
out:
	free(cgroups);
	free(mounts);
	return rc;
}

/* ---- emptying and removing a group ------------------------------------ */

/* Waits until a v2 group holds no process, woken by the kernel's POLLPRI
 * on cgroup.events rather than by a guessed sleep. */
static int
wait_unpopulated(const char *dir, int64_t deadline)
{
	char path[CGROUP_PATH_MAX];
	if (path_join(path, dir, "cgroup.events") < 0)
		return -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = -1;
	for (;;) {
		char buf[256];
		ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		buf[n] = '\0';
		if (keyed_value(buf, "populated") == 0) {
			rc = 0;
			break;
		}
		int64_t left = deadline - now_ms();
		if (left <= 0) {
			errno = ETIMEDOUT;
			break;
		}
		struct pollfd pfd = { .fd = fd, .events = POLLPRI };
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			break;
	}
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

/* SIGKILLs every process of the group until cgroup.procs reads empty.  A
 * process forking while we kill shows up in the next round; the deadline
 * bounds the loop. */
static int
kill_procs_until_empty(const char *dir, int64_t deadline)
{
	long us = 100;
	for (;;) {
		char *procs = read_at(dir, "cgroup.procs");
		if (!procs)
			return errno == ENOENT ? 0 : -1;
		int any = 0;
		for (char *p = procs; *p;) {
			char *end;
			long pid = strtol(p, &end, 10);
			if (end == p)
				break;
			if (pid > 0 && kill((pid_t)pid, SIGKILL) == 0)
				any = 1;
			p = end;
		}
		free(procs);
		if (!any)
			return 0;
		if (now_ms() >= deadline) {
			errno = ETIMEDOUT;
			return -1;
		}
		pause_briefly(&us);
	}
}

static int
empty_group(const char *dir, int64_t deadline)
{
	struct stat st;
	if (stat(dir, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	/* cgroup.kill (5.14+) kills atomically, forks in flight included. */
	if (exists_at(dir, "cgroup.kill") && write_at(dir, "cgroup.kill", "1") == 0)
		return wait_unpopulated(dir, deadline);
	if (kill_procs_until_empty(dir, deadline) < 0)
		return -1;
	if (exists_at(dir, "cgroup.events"))
		return wait_unpopulated(dir, deadline);
	return 0;
}

/* rmdir, retried while the kernel still finishes the last exits (EBUSY). */
static int
remove_group(const char *dir, int64_t deadline)
{
	long us = 100;
	while (rmdir(dir) < 0) {
		if (errno == ENOENT)
			return 0;
		if (errno != EBUSY || now_ms() >= deadline)
			return -1;
		pause_briefly(&us);
	}
	return 0;
}

/* Kills and removes every child group of parent except the one named
 * keep (the grader's own leaf), e.g. tests left by a crashed caller. */
static void
remove_children(const char *parent, const char *keep, int64_t deadline)
{
	DIR *d = opendir(parent);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		char path[CGROUP_PATH_MAX];
		if (e->d_type != DT_DIR || !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    (keep && !strcmp(e->d_name, keep)) || path_join(path, parent, e->d_name) < 0)
			continue;
		empty_group(path, deadline);
		remove_group(path, deadline);
	}
	closedir(d);
}

/* Removes empty groups that a grader killed with SIGKILL left beside ours
 * ("ipcgrader-<pid>" whose pid is gone).  Nothing is killed: a group that
 * still holds a process (perhaps a live grader's in another PID namespace)
 * refuses rmdir and stays. */
static void
sweep_stale(const char *parent)
{
	DIR *d = opendir(parent);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char *end, base[CGROUP_PATH_MAX], path[CGROUP_PATH_MAX];
		if (strncmp(e->d_name, "ipcgrader-", 10))
			continue;
		long pid = strtol(e->d_name + 10, &end, 10);
		if (*end || pid <= 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH ||
		    path_join(base, parent, e->d_name) < 0)
			continue;
		DIR *sub = opendir(base);
		struct dirent *f;
		while (sub && (f = readdir(sub)))
			if (f->d_type == DT_DIR && f->d_name[0] != '.' && path_join(path, base, f->d_name) == 0)
				rmdir(path); /* fails, harmlessly, where a process is left */
		if (sub)
			closedir(sub);
		rmdir(base);
	}
	if (d)
		closedir(d);
}

/* mkdir of the per-grader parent; a stale one (a crashed grader that had
 * our pid) is cleared out and made again. */
static int
make_base(const char *dir)
{
	char parent[CGROUP_PATH_MAX];
	snprintf(parent, sizeof parent, "%s", dir);
	char *slash = strrchr(parent, '/');
	if (slash) {
		*slash = '\0';
		sweep_stale(parent);
	}
	if (mkdir(dir, 0755) == 0)
		return 0;
	if (errno != EEXIST)
		return -1;
	int64_t deadline = now_ms() + CGROUP_DEADLINE_MS;
	remove_children(dir, NULL, deadline);
	empty_group(dir, deadline);
	if (remove_group(dir, deadline) < 0)
		return -1;
	return mkdir(dir, 0755);
}

/* ---- probe and release ------------------------------------------------ */

static const char *
missing_controllers(const char *list)
{
	int mem = has_word(list, "memory"), pids = has_word(list, "pids");
	return mem && pids ? NULL : !mem && !pids ? "memory and pids" : !mem ? "memory" : "pids";
}

static void
move_procs(const char *from, const char *to)
{
	char *procs = read_at(from, "cgroup.procs");
	if (!procs)
		return;
	for (char *p = procs; *p;) {
		char *end;
		long pid = strtol(p, &end, 10);
		if (end == p)
			break;
		char num[32];
		snprintf(num, sizeof num, "%ld", pid);
		write_at(to, "cgroup.procs", num);
		p = end;
	}
	free(procs);
}

static void
release_v2(struct cgroup_env *env)
{
	int64_t deadline = now_ms() + CGROUP_DEADLINE_MS;
	const char *base = env->base[CGROUP_MEM];
	char leaf[CGROUP_PATH_MAX];
	remove_children(base, "grader", deadline);
	/* Controllers go off bottom-up: a parent cannot drop one that a
	 * child still enables, and <home> takes processes back only without. */
	write_at(base, "cgroup.subtree_control", "-memory -pids");
	if (env->enabled_home)
		write_at(env->home, "cgroup.subtree_control", "-memory -pids");
	env->enabled_home = 0;
	if (path_join(leaf, base, "grader") == 0) {
		if (env->moved)
			move_procs(leaf, env->home);
		remove_group(leaf, deadline);
	}
	env->moved = 0;
	remove_group(base, deadline);
}

/* Sets up the v2 layout described at the top.  Returns -1 with the
 * reason in env->detail, everything it made undone. */
static int
setup_v2(struct cgroup_env *env, const char *home)
{
	char path[CGROUP_PATH_MAX], leaf[CGROUP_PATH_MAX], *base = env->base[CGROUP_MEM];
	char pid[32];
	snprintf(pid, sizeof pid, "%ld", (long)getpid());

	char *avail = read_at(home, "cgroup.controllers");
	const char *missing = avail ? missing_controllers(avail) : "memory and pids";
	if (missing) {
		errf(env->detail, sizeof env->detail,
		     "cgroup v2 group \"%s\" does not offer the %s controller (it offers \"%.*s\"): %s", home, missing,
		     avail ? (int)strcspn(avail, "\n") : 0, avail ? avail : "", REMEDY_V2);
		free(avail);
		return -1;
	}
	free(avail);

	/* Moving a process takes write access to cgroup.procs of the common
	 * ancestor, <home>; say so before making anything. */
	if (path_join(path, home, "cgroup.procs") < 0 || access(path, W_OK) < 0 || access(home, W_OK) < 0) {
		if (errno == EROFS)
			return errf(env->detail, sizeof env->detail,
				    "cgroup v2 group \"%s\" is on a read-only mount: in a container, give it a writable cgroup (docker run --privileged, or --cgroupns=private with /sys/fs/cgroup mounted rw)",
				    home);
		return errf(env->detail, sizeof env->detail, "cgroup v2 group \"%s\" is not writable by uid %ld (%s): %s",
			    home, (long)geteuid(), strerror(errno), REMEDY_V2);
	}

	if (snprintf(base, CGROUP_PATH_MAX, "%s/ipcgrader-%s", home, pid) >= CGROUP_PATH_MAX || path_join(leaf, base, "grader") < 0)
		return errf(env->detail, sizeof env->detail, "cgroup v2 group \"%s\": path too long", home);
	if (make_base(base) < 0) {
		errf(env->detail, sizeof env->detail, "cannot create cgroup \"%s\": %s: %s", base, strerror(errno),
		     REMEDY_V2);
		goto fail_base;
	}
	if (mkdir(leaf, 0755) < 0) {
		errf(env->detail, sizeof env->detail, "cannot create cgroup \"%s\": %s", leaf, strerror(errno));
		goto fail_leaf;
	}
	if (write_at(leaf, "cgroup.procs", pid) < 0) {
		errf(env->detail, sizeof env->detail, "cannot move the grader into \"%s\": %s: %s", leaf,
		     strerror(errno), REMEDY_V2);
		goto fail_move;
	}
	env->moved = 1;

	char *enabled = read_at(home, "cgroup.subtree_control");
	int need = !enabled || missing_controllers(enabled);
	free(enabled);
	if (need) {
		if (write_at(home, "cgroup.subtree_control", "+memory +pids") < 0) {
			if (errno == EBUSY)
				errf(env->detail, sizeof env->detail,
				     "cannot enable memory and pids in \"%s/cgroup.subtree_control\": the group holds processes other than the grader, and cgroup v2 allows no processes where controllers are enabled: start the grader in a group of its own, e.g. `systemd-run --user --scope -p Delegate=yes grader ...`, or as root",
				     home);
			else
				errf(env->detail, sizeof env->detail,
				     "cannot enable memory and pids in \"%s/cgroup.subtree_control\": %s: %s", home,
				     strerror(errno), REMEDY_V2);
			goto fail_enable;
		}
		env->enabled_home = 1;
	}
	if (write_at(base, "cgroup.subtree_control", "+memory +pids") < 0) {
		errf(env->detail, sizeof env->detail, "cannot enable memory and pids in \"%s/cgroup.subtree_control\": %s",
		     base, strerror(errno));
		goto fail_enable;
	}
	snprintf(env->home, sizeof env->home, "%s", home);
	return 0;

fail_enable:
	if (env->enabled_home)
		write_at(home, "cgroup.subtree_control", "-memory -pids");
	env->enabled_home = 0;
	write_at(home, "cgroup.procs", pid);
	env->moved = 0;
fail_move:
	rmdir(leaf);
fail_leaf:
	rmdir(base);
fail_base:
	base[0] = '\0';
	return -1;
}

static int
setup_v1(struct cgroup_env *env, const char *memdir, const char *pidsdir, const char *v2note)
{
	const char *dirs[CGROUP_NDIRS] = { memdir, pidsdir };
	int made = 0;
	for (; made < CGROUP_NDIRS; made++) {
		char *base = env->base[made];
		if (snprintf(base, CGROUP_PATH_MAX, "%s/ipcgrader-%ld", dirs[made], (long)getpid()) >= CGROUP_PATH_MAX) {
			errf(env->detail, sizeof env->detail, "cgroup v1 group \"%s\": path too long", dirs[made]);
			goto fail;
		}
		if (make_base(base) < 0) {
			int e = errno;
			if (e == EROFS)
				errf(env->detail, sizeof env->detail,
				     "cgroup v1 group \"%s\" is on a read-only mount: in a container, run it with --privileged or a writable /sys/fs/cgroup%s",
				     dirs[made], v2note);
			else
				errf(env->detail, sizeof env->detail,
				     "cgroup v1 group \"%s\" is not writable by uid %ld (%s): run the grader as root, or on a cgroup v2 system under `systemd-run --user --scope -p Delegate=yes ...`%s",
				     dirs[made], (long)geteuid(), strerror(e), v2note);
			goto fail;
		}
	}
	env->has_memsw = exists_at(env->base[CGROUP_MEM], "memory.memsw.limit_in_bytes");
	return 0;
fail:
	while (made-- > 0)
		rmdir(env->base[made]);
	for (int i = 0; i < CGROUP_NDIRS; i++)
		env->base[i][0] = '\0';
	return -1;
}

void
cgroup_env_probe(struct cgroup_env *env)
{
	memset(env, 0, sizeof *env);
	env->owner = getpid();
	char v2dir[CGROUP_PATH_MAX], memdir[CGROUP_PATH_MAX], pidsdir[CGROUP_PATH_MAX];
	int have_v2 = own_group_dir("cgroup2", NULL, v2dir) == 0;

	if (have_v2) {
		char *avail = read_at(v2dir, "cgroup.controllers");
		int usable = avail && !missing_controllers(avail);
		free(avail);
		/* v2 with the controllers wins; so does pure v2 without them,
		 * whose reason then says what is missing. */
		if (usable || own_group_dir("cgroup", "memory", memdir) < 0) {
			if (setup_v2(env, v2dir) == 0) {
				env->kind = CGROUP_V2;
				snprintf(env->detail, sizeof env->detail, "cgroup v2 at %.400s (memory, pids)",
					 env->base[CGROUP_MEM]);
			}
			return;
		}
	}

	int have_mem = own_group_dir("cgroup", "memory", memdir) == 0;
	int have_pids = own_group_dir("cgroup", "pids", pidsdir) == 0;
	char v2note[CGROUP_PATH_MAX + 64] = "";
	if (have_v2 && snprintf(v2note, sizeof v2note, " (the cgroup2 at \"%s\" has no memory or pids controller)",
				v2dir) >= (int)sizeof v2note)
		v2note[0] = '\0';
	if (!have_mem || !have_pids) {
		errf(env->detail, sizeof env->detail,
		     "no cgroup hierarchy with the %s controller is mounted (see /proc/self/mountinfo)%s: mount cgroup2 at /sys/fs/cgroup, or run without cgroup limits",
		     !have_mem && !have_pids ? "memory and pids" : !have_mem ? "memory" : "pids", v2note);
		return;
	}
	if (setup_v1(env, memdir, pidsdir, v2note) < 0)
		return;
	env->kind = CGROUP_V1;
	snprintf(env->detail, sizeof env->detail, "cgroup v1 at %.240s and %.200s (memory, pids)", env->base[CGROUP_MEM],
		 env->base[CGROUP_PIDS]);
}

void
cgroup_env_release(struct cgroup_env *env)
{
	if (env->kind == CGROUP_NONE || env->owner != getpid())
		return;
	if (env->kind == CGROUP_V2) {
		release_v2(env);
	} else {
		int64_t deadline = now_ms() + CGROUP_DEADLINE_MS;
		for (int i = 0; i < CGROUP_NDIRS; i++)
			remove_children(env->base[i], NULL, deadline);
		for (int i = 0; i < CGROUP_NDIRS; i++)
			remove_group(env->base[i], deadline);
	}
	for (int i = 0; i < CGROUP_NDIRS; i++)
		env->base[i][0] = '\0';
	env->kind = CGROUP_NONE;
}

/* ---- one test's group ------------------------------------------------- */

/* Writes value, or unlimited ("max" on v2, "-1" on v1 memory) when it is
 * not positive. */
static int
set_limit(const char *dir, const char *file, long value, const char *unlimited, char *err, size_t errlen)
{
	char num[32];
	snprintf(num, sizeof num, "%s", unlimited);
	if (value > 0)
		snprintf(num, sizeof num, "%ld", value);
	if (write_at(dir, file, num) < 0)
		return errf(err, errlen, "cannot set \"%s/%s\" to %s: %s", dir, file, num, strerror(errno));
	return 0;
}

int
cgroup_create(const struct cgroup_env *env, const struct cgroup_limits *lim, struct test_cgroup *cg, char *err,
	      size_t errlen)
{
	memset(cg, 0, sizeof *cg);
	if (env->kind == CGROUP_NONE)
		return errf(err, errlen, "no cgroup to create a test group in: %s", env->detail);
	long bytes = lim->memory_mb > 0 ? lim->memory_mb * 1024 * 1024 : 0;
	int ndirs = env->kind == CGROUP_V2 ? 1 : CGROUP_NDIRS;
	unsigned long id = next_test_id++;
	for (int i = 0; i < ndirs; i++) {
		if (snprintf(cg->dir[i], CGROUP_PATH_MAX, "%s/t%ld-%lu", env->base[i], (long)getpid(), id) >= CGROUP_PATH_MAX) {
			errf(err, errlen, "cgroup \"%s\": path too long", env->base[i]);
			goto fail;
		}
		if (mkdir(cg->dir[i], 0755) < 0) {
			errf(err, errlen, "cannot create cgroup \"%s\": %s", cg->dir[i], strerror(errno));
			cg->dir[i][0] = '\0';
			goto fail;
		}
		cg->ndirs = i + 1;
	}
	cg->kind = env->kind;

	if (env->kind == CGROUP_V2) {
		const char *dir = cg->dir[CGROUP_MEM];
		if (set_limit(dir, "memory.max", bytes, "max", err, errlen) < 0)
			goto fail;
		/* Without swap accounting there is no file, and no swap to limit;
		 * with it, a limited test may not spill into swap instead. */
		if (bytes && exists_at(dir, "memory.swap.max") && write_at(dir, "memory.swap.max", "0") < 0) {
			errf(err, errlen, "cannot set \"%s/memory.swap.max\" to 0: %s", dir, strerror(errno));
			goto fail;
		}
		if (set_limit(dir, "pids.max", lim->pids, "max", err, errlen) < 0)
			goto fail;
	} else {
		const char *mem = cg->dir[CGROUP_MEM];
		/* memsw (memory + swap) may never be below the memory limit,
		 * so memory goes first; equal values mean no swap at all. */
		if (set_limit(mem, "memory.limit_in_bytes", bytes, "-1", err, errlen) < 0)
			goto fail;
		if (env->has_memsw && set_limit(mem, "memory.memsw.limit_in_bytes", bytes, "-1", err, errlen) < 0)
			goto fail;
		if (set_limit(cg->dir[CGROUP_PIDS], "pids.max", lim->pids, "max", err, errlen) < 0)
			goto fail;
	}
	return 0;
fail:
	cgroup_destroy(cg);
	return -1;
}

int
cgroup_attach(const struct test_cgroup *cg, pid_t pid, char *err, size_t errlen)
{
	if (cg->ndirs == 0)
		return errf(err, errlen, "cannot attach pid %ld: the test cgroup was not created", (long)pid);
	char num[32];
	snprintf(num, sizeof num, "%ld", (long)pid);
	for (int i = 0; i < cg->ndirs; i++)
		if (write_at(cg->dir[i], "cgroup.procs", num) < 0)
			return errf(err, errlen, "cannot move pid %ld into cgroup \"%s\": %s", (long)pid, cg->dir[i],
				    strerror(errno));
	return 0;
}

static long
read_keyed(const char *dir, const char *file, const char *key)
{
	char *text = read_at(dir, file);
	if (!text)
		return -1;
	long v = keyed_value(text, key);
	free(text);
	return v;
}

static long
read_number(const char *dir, const char *file)
{
	char *text = read_at(dir, file);
	if (!text)
		return -1;
	char *end;
	errno = 0;
	long v = strtol(text, &end, 10);
	if (errno || end == text)
		v = -1;
	free(text);
	return v;
}

int
cgroup_usage(const struct test_cgroup *cg, struct cgroup_usage *u)
{
	u->memory_peak_kb = u->oom_kills = u->pids_max_hits = -1;
	if (cg->ndirs == 0) {
		errno = EINVAL;
		return -1;
	}
	const char *mem = cg->dir[CGROUP_MEM];
	const char *pids = cg->dir[cg->kind == CGROUP_V1 ? CGROUP_PIDS : CGROUP_MEM];
	long peak;
	if (cg->kind == CGROUP_V2) {
		peak = read_number(mem, "memory.peak");
		u->oom_kills = read_keyed(mem, "memory.events", "oom_kill");
	} else {
		peak = read_number(mem, "memory.max_usage_in_bytes");
		u->oom_kills = read_keyed(mem, "memory.oom_control", "oom_kill");
	}
	u->memory_peak_kb = peak < 0 ? -1 : peak / 1024;
	u->pids_max_hits = read_keyed(pids, "pids.events", "max");
	if (u->oom_kills < 0 || u->pids_max_hits < 0) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}

void
cgroup_destroy(struct test_cgroup *cg)
{
	int64_t deadline = now_ms() + CGROUP_DEADLINE_MS;
	/* Every hierarchy is emptied first: on v1 a process sits in both. */
	for (int i = 0; i < cg->ndirs; i++)
		empty_group(cg->dir[i], deadline);
	for (int i = 0; i < cg->ndirs; i++)
		remove_group(cg->dir[i], deadline);
	cg->ndirs = 0;
}
