/* `grader doctor`: one line per fact of this machine that decides how well
 * the tests are isolated, with the exact remedy for each gap.
 *
 * The sandbox probe (sandbox.c) is the ground truth: it starts a trivial
 * sandbox.  The other checks explain its answer.  A fact that would be a
 * gap elsewhere (a seccomp filter around the grader, a confining AppArmor
 * profile) is "ok" when the sandbox works all the same, so the doctor never
 * sends anyone to fix what is not broken.
 *
 * Each check is a unit with one signature in checks[] below; the facts it
 * judges are texts (doctor_facts), read in gather() and nowhere else, so
 * that tests can judge a canned Docker container or Ubuntu 24.04. */
#define _GNU_SOURCE
#include "doctor.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawn.h"
#include "syscall_filter.h"
#include "util.h"

#define CAP_SYS_ADMIN_BIT 21
#define SHOW_MASKED 4 /* covered /proc paths named on the line; the rest counted */

/* docker/README.md measures both. */
static const char CONTAINER_OPTS[] =
	"--security-opt seccomp=docker/seccomp.json --security-opt systempaths=unconfined, or as the container's root "
	"--cap-add SYS_ADMIN --cap-add NET_ADMIN --security-opt seccomp=docker/seccomp.json (docker/README.md)";

static void
set(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Both text and remedy are sizeof doctor_finding.text. */
static void
set(char *buf, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof ((struct doctor_finding *)0)->text, fmt, ap);
	va_end(ap);
}

/* ---- reading the texts ------------------------------------------------ */

/* A sysctl's value as a number; -1 when absent or not a number. */
static long
sysctl_value(const char *text)
{
	if (!text)
		return -1;
	char *end;
	errno = 0;
	long v = strtol(text, &end, 10);
	while (*end == ' ' || *end == '\t' || *end == '\n')
		end++;
	return errno || end == text || *end || v < 0 ? -1 : v;
}

/* The value of "Key:\tvalue" in /proc/self/status, trimmed; 0, or -1 when
 * the key is not there. */
static int
status_field(const char *status, const char *key, char *out, size_t outlen)
{
	size_t klen = strlen(key);
	for (const char *line = status; line && *line;) {
		const char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		if (len > klen && !strncmp(line, key, klen) && line[klen] == ':') {
			const char *v = line + klen + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			snprintf(out, outlen, "%.*s", (int)(len - (size_t)(v - line)), v);
			return 0;
		}
		line = eol ? eol + 1 : NULL;
	}
	return -1;
}

/* 1 or 0 when CapEff says, -1 when it cannot be read. */
static int
has_sys_admin(const struct doctor_facts *f, char *capeff, size_t len)
{
	if (status_field(f->status, "CapEff", capeff, len) < 0)
		return -1;
	char *end;
	errno = 0;
	unsigned long long caps = strtoull(capeff, &end, 16);
	if (errno || end == capeff)
		return -1;
	return (int)((caps >> CAP_SYS_ADMIN_BIT) & 1);
}

/* Mount points in mountinfo (field 5, octal escapes undone) strictly under
 * /proc that block mounting a new proc from a user namespace: the kernel
 * allows one only where the machine's proc is fully visible (fs/namespace.c,
 * mount_too_revealing()).  Mounts on the permanently empty folders the
 * kernel makes for them (binfmt_misc, nfsd) do not count.  Returns how
 * many, names the first few in names. */
static int
covered_proc_paths(const char *mountinfo, struct strbuf *names)
{
	static const char *const harmless[] = { "/proc/sys/fs/binfmt_misc", "/proc/fs/nfsd" };
	struct strvec seen = STRVEC_INIT;
	for (const char *line = mountinfo; line && *line;) {
		const char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		const char *p = line, *end = line + len;
		for (int field = 0; field < 4 && p < end; field++) { /* id, parent, dev, root */
			p = memchr(p, ' ', (size_t)(end - p));
			p = p ? p + 1 : end;
		}
		char mp[4096];
		size_t n = 0;
		while (p < end && *p != ' ' && n < sizeof mp - 1) {
			if (*p == '\\' && end - p >= 4 && p[1] >= '0' && p[1] <= '3') {
				mp[n++] = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
				p += 4;
			} else {
				mp[n++] = *p++;
			}
		}
		mp[n] = '\0';
		int skip = strncmp(mp, "/proc/", 6) != 0;
		for (size_t i = 0; !skip && i < sizeof harmless / sizeof *harmless; i++)
			skip = !strcmp(mp, harmless[i]);
		for (size_t i = 0; !skip && i < seen.n; i++)
			skip = !strcmp(mp, seen.v[i]);
		if (!skip)
			sv_push(&seen, mp);
		line = eol ? eol + 1 : NULL;
	}
	for (size_t i = 0; i < seen.n && i < SHOW_MASKED; i++)
		sb_addf(names, "%s%s", i ? ", " : "", seen.v[i]);
	if (seen.n > SHOW_MASKED)
		sb_addf(names, " and %zu more", seen.n - SHOW_MASKED);
	int count = (int)seen.n;
	sv_clear(&seen);
	return count;
}

static int
sandbox_works(const struct doctor_facts *f)
{
	return f->sandbox == ISOLATION_NAMESPACES;
}

/* ---- the checks ------------------------------------------------------- */

static void
check_userns(const struct doctor_facts *f, struct doctor_finding *r)
{
	long max = sysctl_value(f->max_user_namespaces);
	long clone = sysctl_value(f->unprivileged_userns_clone);
	if (!f->max_user_namespaces) {
		r->status = DOCTOR_MISSING;
		set(r->text, "missing: this kernel has no user namespaces (no /proc/sys/user/max_user_namespaces)");
		set(r->remedy, "a kernel built with CONFIG_USER_NS=y");
	} else if (max == 0) {
		r->status = DOCTOR_MISSING;
		set(r->text, "disabled: user.max_user_namespaces = 0");
		set(r->remedy, "sudo sysctl -w user.max_user_namespaces=15000 (and a line in /etc/sysctl.d/ to keep it)%s",
		    f->container ? ", on the host: a container inherits it" : "");
	} else if (clone == 0 && f->euid != 0) {
		r->status = DOCTOR_MISSING;
		set(r->text, "disabled for users other than root: kernel.unprivileged_userns_clone = 0 (Debian's knob)");
		set(r->remedy, "sudo sysctl -w kernel.unprivileged_userns_clone=1, or run the grader as root");
	} else {
		r->status = DOCTOR_OK;
		char value[32] = "unreadable";
		if (max >= 0)
			snprintf(value, sizeof value, "%ld", max);
		set(r->text, "ok (user.max_user_namespaces = %s%s)", value,
		    clone < 0 ? "" : clone ? ", kernel.unprivileged_userns_clone = 1"
					   : ", kernel.unprivileged_userns_clone = 0, which does not bind root");
	}
}

static void
check_apparmor(const struct doctor_facts *f, struct doctor_finding *r)
{
	long restrict_userns = sysctl_value(f->apparmor_restrict);
	char label[256] = "";
	if (f->apparmor_label)
		snprintf(label, sizeof label, "%.*s", (int)strcspn(f->apparmor_label, "\n"), f->apparmor_label);
	int confined = *label && strcmp(label, "unconfined") != 0;
	char capeff[64];
	int admin = has_sys_admin(f, capeff, sizeof capeff) == 1;

	r->status = DOCTOR_OK;
	if (restrict_userns == 1 && !admin) {
		if (sandbox_works(f)) {
			set(r->text, "ok (kernel.apparmor_restrict_unprivileged_userns = 1, and the grader's profile \"%s\" allows it user namespaces)",
			    confined ? label : "?");
			return;
		}
		r->status = DOCTOR_MISSING;
		set(r->text, "restricted: kernel.apparmor_restrict_unprivileged_userns = 1 (Ubuntu 23.10 and later): a user namespace made without an AppArmor profile allowing it has no capabilities");
		set(r->remedy,
		    "sudo make install (installs /etc/apparmor.d/ipc-grader, which lets the grader create user namespaces); or give the grader a profile by hand: printf 'abi <abi/4.0>,\\ninclude <tunables/global>\\nprofile ipc-grader %s flags=(unconfined) {\\n  userns,\\n}\\n' | sudo tee /etc/apparmor.d/ipc-grader && sudo apparmor_parser -r /etc/apparmor.d/ipc-grader; or run the grader as root; or, for the whole machine, sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0",
		    f->exe ? f->exe : "/usr/local/bin/grader");
		return;
	}
	if (confined && !sandbox_works(f)) {
		r->status = DOCTOR_MISSING;
		set(r->text, "the grader is confined by the AppArmor profile \"%s\"%s", label,
		    !strncmp(label, "docker-default", 14) ? ", which denies mount" : ", which may deny mount or user namespaces");
		if (!strncmp(label, "docker-default", 14))
			set(r->remedy, "docker run --security-opt apparmor=unconfined ... (with the options on the other lines)");
		else
			set(r->remedy, "run the grader unconfined, or add `userns,` and `mount,` rules to that profile (sudo apparmor_parser -r after editing)");
		return;
	}
	if (restrict_userns == 1)
		set(r->text, "ok (kernel.apparmor_restrict_unprivileged_userns = 1, which binds no process with CAP_SYS_ADMIN)");
	else if (restrict_userns == 0)
		set(r->text, "ok (kernel.apparmor_restrict_unprivileged_userns = 0)");
	else
		set(r->text, "ok (no kernel.apparmor_restrict_unprivileged_userns: no AppArmor restriction of user namespaces)");
	if (confined) {
		size_t n = strlen(r->text);
		snprintf(r->text + n - 1, sizeof r->text - n + 1, "; confined by \"%s\", which lets the sandbox through)", label);
	}
}

static void
check_seccomp(const struct doctor_facts *f, struct doctor_finding *r)
{
	char mode[32], nnp[32];
	if (status_field(f->status, "Seccomp", mode, sizeof mode) < 0) {
		r->status = DOCTOR_WARN;
		set(r->text, "%s", f->status ? "this kernel has no seccomp (no Seccomp: in /proc/self/status)" : "cannot read /proc/self/status");
		set(r->remedy, "%s", f->status ? "a kernel built with CONFIG_SECCOMP_FILTER=y" : "mount proc on /proc");
		return;
	}
	const char *nnp_note = status_field(f->status, "NoNewPrivs", nnp, sizeof nnp) == 0 && !strcmp(nnp, "1")
		? "; NoNewPrivs: 1" : "";
	if (!strcmp(mode, "0")) {
		r->status = DOCTOR_OK;
		set(r->text, "ok (the grader itself runs under no seccomp filter: Seccomp: 0%s)", nnp_note);
		return;
	}
	if (sandbox_works(f)) {
		r->status = DOCTOR_OK;
		set(r->text, "ok (the grader itself runs under a seccomp filter, Seccomp: %s%s, which lets the sandbox's namespaces through)",
		    mode, nnp_note);
		return;
	}
	r->status = DOCTOR_MISSING;
	set(r->text, "the grader itself runs under a seccomp filter (Seccomp: %s in /proc/self/status%s)%s%s, which may refuse clone() of new namespaces",
	    mode, nnp_note, f->container ? ": a container, " : "", f->container ? f->container : "");
	if (f->container)
		set(r->remedy, "docker run %s (Docker's default profile refuses namespaces to a container without CAP_SYS_ADMIN, and pivot_root to all)",
		    CONTAINER_OPTS);
	else
		set(r->remedy, "find what starts the grader under a filter (systemd: SystemCallFilter=, RestrictNamespaces=) and let it create namespaces");
}

static void
check_capabilities(const struct doctor_facts *f, struct doctor_finding *r)
{
	char capeff[64] = "?";
	int admin = has_sys_admin(f, capeff, sizeof capeff);
	set(r->text, "CAP_SYS_ADMIN: %s (CapEff %s), running as uid %ld%s", admin == 1 ? "yes" : admin == 0 ? "no" : "unknown",
	    capeff, (long)f->euid, f->euid == 0 ? "" : ": the sandbox needs no capability, only a user namespace");
	r->status = DOCTOR_OK;
	if (f->euid == 0 && admin == 0 && !sandbox_works(f)) {
		r->status = DOCTOR_WARN;
		set(r->text, "CAP_SYS_ADMIN: no (CapEff %s), running as uid 0: root of a container's usual, reduced set", capeff);
		set(r->remedy, "the sandbox needs no capability, but Docker's default seccomp profile refuses namespaces without this one: docker run %s",
		    CONTAINER_OPTS);
	}
}

static void
check_proc_masking(const struct doctor_facts *f, struct doctor_finding *r)
{
	if (!f->mountinfo) {
		r->status = DOCTOR_WARN;
		set(r->text, "cannot read /proc/self/mountinfo");
		set(r->remedy, "mount proc on /proc");
		return;
	}
	struct strbuf names = STRBUF_INIT;
	int n = covered_proc_paths(f->mountinfo, &names);
	if (n == 0) {
		r->status = DOCTOR_OK;
		set(r->text, "ok (nothing is mounted over a path under /proc)");
	} else if (sandbox_works(f)) {
		r->status = DOCTOR_OK;
		set(r->text, "ok (%d path%s under /proc covered: %s; the sandbox mounts its proc all the same)", n,
		    n == 1 ? "" : "s", names.buf);
	} else {
		r->status = DOCTOR_MISSING;
		set(r->text, "/proc has %d path%s covered (%s: mounted over%s): a new proc cannot be mounted from a user namespace while the machine's is not fully visible (root with CAP_SYS_ADMIN needs no user namespace)",
		    n, n == 1 ? "" : "s", names.buf, f->container ? ", as Docker does" : "");
		if (f->container)
			set(r->remedy, "docker run %s (podman: --security-opt unmask=ALL)", CONTAINER_OPTS);
		else
			set(r->remedy, "unmount what covers those paths (sudo umount PATH), or run the grader where /proc is not covered");
	}
	sb_release(&names);
}

static void
check_container(const struct doctor_facts *f, struct doctor_finding *r)
{
	r->status = DOCTOR_OK;
	if (f->container)
		set(r->text, "%s", f->container);
	else
		set(r->text, "none seen (no /.dockerenv, no /run/.containerenv, no container= in /proc/1/environ)");
}

static void
check_cgroups(const struct doctor_facts *f, struct doctor_finding *r)
{
	const char *d = f->cgroup_detail ? f->cgroup_detail : "";
	if (f->cgroups == CGROUP_NONE) {
		r->status = DOCTOR_MISSING;
		/* The probe's reason ends with its remedy. */
		set(r->text, "none: %s", d);
		return;
	}
	r->status = DOCTOR_OK;
	set(r->text, "%s: %s", f->cgroups == CGROUP_V2 ? "v2" : "v1", d);
}

static void
check_filter(const struct doctor_facts *f, struct doctor_finding *r)
{
	const char *d = f->filter_detail ? f->filter_detail : "";
	if (f->filter_ok) {
		r->status = DOCTOR_OK;
		set(r->text, "ok (%s)", d);
		return;
	}
	r->status = DOCTOR_MISSING;
	set(r->text, "broken: %s; every sandbox, isolated or not, needs it", d);
	set(r->remedy, "the libseccomp2 package (sudo apt-get install libseccomp2) and a kernel built with CONFIG_SECCOMP_FILTER=y");
}

static void
check_tun(const struct doctor_facts *f, struct doctor_finding *r)
{
	switch (f->tun) {
	case DOCTOR_TUN_PRESENT:
		r->status = DOCTOR_OK;
		set(r->text, "ok (/dev/net/tun present: tests with hosts joined by a link can run%s)",
		    sandbox_works(f) ? "" : ", once the sandbox has its namespaces");
		break;
	case DOCTOR_TUN_NO_ACCESS:
		r->status = DOCTOR_WARN;
		set(r->text, "/dev/net/tun present but not readable and writable by uid %ld (mode %s): tests with hosts joined by a link end as error", (long)f->euid,
		    f->tun_mode ? f->tun_mode : "?");
		set(r->remedy, "sudo chmod 0666 /dev/net/tun (its usual mode), or run the grader as root");
		break;
	default:
		r->status = DOCTOR_WARN;
		set(r->text, "/dev/net/tun missing: tests with hosts joined by a link (lab.yaml hosts:) end as error; the others are not affected");
		set(r->remedy, "%s", f->container ? "docker run --device /dev/net/tun ..." : "sudo modprobe tun");
	}
}

static void
check_sandbox(const struct doctor_facts *f, struct doctor_finding *r)
{
	const char *d = f->sandbox_detail ? f->sandbox_detail : "";
	if (sandbox_works(f)) {
		r->status = DOCTOR_OK;
		set(r->text, "namespaces: %s", d);
		return;
	}
	r->status = DOCTOR_MISSING;
	if (!strncmp(d, "no isolation: ", 14))
		d += 14;
	set(r->text, "none: %s", d);
	if (strstr(d, "IPCGRADER_NO_NAMESPACES"))
		set(r->remedy, "unset IPCGRADER_NO_NAMESPACES");
}

/* The table of checks: the order of the lines. */
static const struct doctor_check {
	const char *name;
	void (*run)(const struct doctor_facts *f, struct doctor_finding *r);
} checks[] = {
	{ "user namespaces", check_userns },
	{ "AppArmor userns", check_apparmor },
	{ "seccomp", check_seccomp },
	{ "capabilities", check_capabilities },
	{ "/proc masking", check_proc_masking },
	{ "container", check_container },
	{ "cgroups", check_cgroups },
	{ "syscall filter", check_filter },
	{ "TUN", check_tun },
	{ "sandbox", check_sandbox },
};

_Static_assert(sizeof checks / sizeof *checks + 1 == DOCTOR_NCHECKS, "DOCTOR_NCHECKS counts checks[] and the verdict");

int
doctor_findings(const struct doctor_facts *f, struct doctor_finding out[DOCTOR_NCHECKS])
{
	size_t n = sizeof checks / sizeof *checks;
	for (size_t i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof out[i]);
		out[i].name = checks[i].name;
		checks[i].run(f, &out[i]);
	}

	struct doctor_finding *v = &out[n];
	memset(v, 0, sizeof *v);
	v->name = "verdict";
	if (!f->status || !f->mountinfo) {
		v->status = DOCTOR_MISSING;
		set(v->text, "unknown: /proc cannot be read, so neither can this machine's isolation");
		set(v->remedy, "mount proc on /proc");
		return 3;
	}
	if (!f->filter_ok) {
		v->status = DOCTOR_MISSING;
		set(v->text, "broken: without the syscall filter `grader grade` cannot start a sandbox and every test ends in an internal error (exit 3)");
		return 3;
	}
	struct strbuf gaps = STRBUF_INIT;
	if (!sandbox_works(f))
		sb_adds(&gaps, "no namespaces");
	if (f->cgroups == CGROUP_NONE)
		sb_addf(&gaps, "%sno whole-test memory and process limits", gaps.len ? ", " : "");
	int rc = gaps.len ? 1 : 0;
	if (!gaps.len) {
		v->status = DOCTOR_OK;
		set(v->text, "full isolation: every test in namespaces and a cgroup of its own, student programs in a jail with no capabilities and the syscall filter");
	} else if (sandbox_works(f)) {
		v->status = DOCTOR_WARN;
		set(v->text, "degraded: %s (each process still has its rlimits); tests are isolated otherwise", gaps.buf);
	} else {
		v->status = DOCTOR_MISSING;
		set(v->text, "degraded: %s; `grader grade` refuses to run a submission (exit 3) unless told --allow-unisolated (for your own code only: it would share this machine's filesystem, network, /tmp and IPC); `grader check` runs a student's own code, its report saying isolation.mode \"none\"",
		    gaps.buf);
	}
	if (gaps.len)
		set(v->remedy, "the remedies on the lines above");
	sb_release(&gaps);
	return rc;
}

/* ---- gathering the facts ---------------------------------------------- */

static char *
read_text(const char *path)
{
	return read_file(path, 1 << 20, NULL);
}

static void
find_container(char *buf, size_t len)
{
	buf[0] = '\0';
	if (access("/.dockerenv", F_OK) == 0) {
		snprintf(buf, len, "docker (/.dockerenv)");
		return;
	}
	if (access("/run/.containerenv", F_OK) == 0) {
		snprintf(buf, len, "podman (/run/.containerenv)");
		return;
	}
	size_t n;
	char *env = read_file("/proc/1/environ", 1 << 16, &n); /* root only, usually */
	for (size_t i = 0; env && i < n; i += strlen(env + i) + 1)
		if (!strncmp(env + i, "container=", 10)) {
			snprintf(buf, len, "%.64s (container= in /proc/1/environ)", env + i + 10);
			break;
		}
	free(env);
}

static enum doctor_tun
find_tun(char *mode, size_t len)
{
	struct stat st;
	if (stat("/dev/net/tun", &st) < 0 || !S_ISCHR(st.st_mode))
		return DOCTOR_TUN_MISSING;
	snprintf(mode, len, "%04o", (unsigned)(st.st_mode & 07777));
	return faccessat(AT_FDCWD, "/dev/net/tun", R_OK | W_OK, AT_EACCESS) == 0 ? DOCTOR_TUN_PRESENT
										 : DOCTOR_TUN_NO_ACCESS;
}

/* The folder a per-grader group was made in: the probe's group itself is
 * removed before the doctor prints. */
static void
parent_of(char *out, size_t len, const char *dir)
{
	const char *slash = strrchr(dir, '/');
	snprintf(out, len, "%.*s", slash && slash != dir ? (int)(slash - dir) : (int)strlen(dir), dir);
}

static void
probe_cgroups(enum cgroup_kind *kind, char *detail, size_t len)
{
	struct cgroup_env env;
	cgroup_env_probe(&env);
	*kind = env.kind;
	char a[CGROUP_PATH_MAX], b[CGROUP_PATH_MAX];
	parent_of(a, sizeof a, env.base[CGROUP_MEM]);
	parent_of(b, sizeof b, env.base[CGROUP_PIDS]);
	if (env.kind == CGROUP_V2)
		snprintf(detail, len, "delegated at %.900s (memory, pids): each test gets a group below it", a);
	else if (env.kind == CGROUP_V1)
		snprintf(detail, len, "memory at %.900s, pids at %.900s: each test gets a group below them", a, b);
	else
		snprintf(detail, len, "%s", env.detail);
	cgroup_env_release(&env);
}

/* Builds the filter and installs it in a child that only exits: what every
 * program the sandbox starts goes through. */
static int
probe_filter(char *detail, size_t len)
{
	struct syscall_filter f = { 0 };
	char why[256];
	if (syscall_filter_build(&f, why, sizeof why) < 0)
		return errf(detail, len, "cannot build it: %s", why);
	int rc = -1;
	pid_t pid = fork();
	if (pid < 0) {
		errf(detail, len, "fork: %s", strerror(errno));
		goto release;
	}
	if (pid == 0)
		_exit(syscall_filter_install(&f) == 0 ? 0 : errno & 0xff ? errno & 0xff : 1);
	int ws;
	if (wait_retry(pid, &ws, 0) < 0) {
		errf(detail, len, "waitpid: %s", strerror(errno));
		goto release;
	}
	struct exit_status st;
	exit_status_decode(ws, &st);
	if (st.how == EXIT_CODE && st.code == 0) {
		snprintf(detail, len, "built, %u BPF instructions, and installs with no_new_privs", (unsigned)f.len);
		rc = 0;
	} else if (st.how == EXIT_CODE) {
		errf(detail, len, "cannot install it: %s", strerror(st.code));
	} else {
		char how[128];
		exit_status_describe(&st, how, sizeof how);
		errf(detail, len, "a child installing it %s", how);
	}
release:
	syscall_filter_release(&f);
	return rc;
}

int
doctor_run(FILE *out)
{
	char exe[4096], container[128], tun_mode[8] = "", cgroup_detail[2048], filter_detail[512];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	exe[n > 0 ? n : 0] = '\0';
	find_container(container, sizeof container);

	struct doctor_facts f = {
		.euid = geteuid(),
		.exe = n > 0 ? exe : NULL,
		.max_user_namespaces = read_text("/proc/sys/user/max_user_namespaces"),
		.unprivileged_userns_clone = read_text("/proc/sys/kernel/unprivileged_userns_clone"),
		.apparmor_restrict = read_text("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"),
		.apparmor_label = read_text("/proc/self/attr/apparmor/current"),
		.status = read_text("/proc/self/status"),
		.mountinfo = read_text("/proc/self/mountinfo"),
		.container = *container ? container : NULL,
		.tun_mode = tun_mode,
	};
	f.tun = find_tun(tun_mode, sizeof tun_mode);
	/* One probe at a time: the cgroup probe's group is gone before the
	 * sandbox probe makes its own. */
	probe_cgroups(&f.cgroups, cgroup_detail, sizeof cgroup_detail);
	f.cgroup_detail = cgroup_detail;
	f.filter_ok = probe_filter(filter_detail, sizeof filter_detail) == 0;
	f.filter_detail = filter_detail;
	struct sandbox_info iso;
	f.sandbox = sandbox_probe(&iso);
	f.sandbox_detail = iso.detail;

	struct doctor_finding found[DOCTOR_NCHECKS];
	int rc = doctor_findings(&f, found);
	for (size_t i = 0; i < DOCTOR_NCHECKS; i++)
		fprintf(out, "%-20s %s%s%s\n", found[i].name, found[i].text, *found[i].remedy ? " -> " : "",
			found[i].remedy);
	if (fflush(out) == EOF)
		rc = 3;

	free((char *)f.max_user_namespaces);
	free((char *)f.unprivileged_userns_clone);
	free((char *)f.apparmor_restrict);
	free((char *)f.apparmor_label);
	free((char *)f.status);
	free((char *)f.mountinfo);
	return rc;
}
