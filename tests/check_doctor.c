/* doctor: canned machines (a Docker container with its default profiles,
 * Ubuntu 24.04's AppArmor restriction with and without a profile for the
 * grader, old Debian's knob, a plain root machine...) are judged into the
 * right findings and remedies; and `build/grader doctor` run for real
 * prints a line per check and exits 0 or 1. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "doctor.h"
#include "spawn.h"
#include "util.h"

#define GRADER "build/grader"

/* /proc/self/status, only the lines the doctor reads and their neighbours. */
#define STATUS(capeff, nnp, seccomp)                                                                          \
	"Name:\tgrader\nUid:\t0\t0\t0\t0\nCapInh:\t0000000000000000\nCapPrm:\t" capeff "\nCapEff:\t" capeff \
	"\nCapBnd:\t" capeff "\nNoNewPrivs:\t" nnp "\nSeccomp:\t" seccomp "\nSeccomp_filters:\t" seccomp "\n"
#define CAPS_ROOT "000001ffffffffff"
#define CAPS_DOCKER "00000000a80425fb" /* Docker's default set: no CAP_SYS_ADMIN */
#define CAPS_NONE "0000000000000000"

static const char MOUNTS_HOST[] =
	"22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
	"23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n"
	"24 23 0:22 / /proc/sys/fs/binfmt_misc rw,relatime shared:13 - autofs systemd-1 rw,fd=29\n"
	"25 24 0:23 / /proc/sys/fs/binfmt_misc rw,nosuid,nodev,noexec,relatime shared:14 - binfmt_misc binfmt_misc rw\n"
	"26 22 0:24 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw\n";

/* What `docker run` without options gives: masked paths (/dev/null or an
 * empty tmpfs mounted over) and read-only paths (bound onto themselves). */
static const char MOUNTS_DOCKER[] =
	"600 500 0:50 / / rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w\n"
	"601 600 0:53 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n"
	"602 601 0:55 /null /proc/kcore rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755\n"
	"603 601 0:55 /null /proc/keys rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755\n"
	"604 601 0:55 /null /proc/timer_list rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755\n"
	"605 601 0:60 / /proc/acpi ro,relatime - tmpfs tmpfs ro\n"
	"606 601 0:61 / /proc/scsi ro,relatime - tmpfs tmpfs ro\n"
	"607 601 0:53 /bus /proc/bus ro,nosuid,nodev,noexec,relatime - proc proc rw\n"
	"608 601 0:53 /fs /proc/fs ro,nosuid,nodev,noexec,relatime - proc proc rw\n"
	"609 601 0:53 /irq /proc/irq ro,nosuid,nodev,noexec,relatime - proc proc rw\n"
	"610 601 0:53 /sys /proc/sys ro,nosuid,nodev,noexec,relatime - proc proc rw\n"
	"611 601 0:53 /sysrq-trigger /proc/sysrq-trigger ro,nosuid,nodev,noexec,relatime - proc proc rw\n"
	"612 600 0:56 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs ro\n";

/* One path under /proc, its name escaped as the kernel writes a space. */
static const char MOUNTS_ESCAPED[] =
	"22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
	"23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n"
	"30 23 0:40 / /proc/odd\\040name rw,relatime - tmpfs tmpfs rw\n";

static const char SANDBOX_OK[] = "user, pid, network (lo only), ipc, mount and uts namespaces; ...";
static const char SANDBOX_EPERM[] =
	"no isolation: cannot create the sandbox's namespaces: clone: Operation not permitted; tests share this machine's network, /tmp and IPC namespace";
static const char CGROUP_NONE_DETAIL[] =
	"cgroup v1 group \"/sys/fs/cgroup/memory/x\" is not writable by uid 1000 (Permission denied): run the grader as root";

struct expect {
	const char *check;
	enum doctor_status status;
	const char *in_text;   /* NULL: not looked at */
	const char *in_remedy; /* NULL: not looked at; "": there must be none */
};

static const struct machine {
	const char *name;
	struct doctor_facts facts;
	int rc;
	int no_remedies; /* no line may send anyone to fix anything */
	struct expect expect[6];
} machines[] = {
	{ "plain root machine",
	  { .euid = 0, .exe = "/usr/local/bin/grader", .max_user_namespaces = "63432\n", .status = STATUS(CAPS_ROOT, "0", "0"),
	    .mountinfo = MOUNTS_HOST, .tun = DOCTOR_TUN_PRESENT, .cgroups = CGROUP_V1,
	    .cgroup_detail = "memory at /sys/fs/cgroup/memory, pids at /sys/fs/cgroup/pids", .filter_ok = 1,
	    .filter_detail = "built", .sandbox = ISOLATION_NAMESPACES, .sandbox_detail = SANDBOX_OK },
	  0, 1,
	  { { "capabilities", DOCTOR_OK, "CAP_SYS_ADMIN: yes", "" },
	    { "/proc masking", DOCTOR_OK, "nothing is mounted", "" }, /* binfmt_misc does not count */
	    { "verdict", DOCTOR_OK, "full isolation", "" } } },

	{ "docker run without options, as root",
	  { .euid = 0, .exe = "/usr/local/bin/grader", .max_user_namespaces = "63432\n",
	    .apparmor_label = "docker-default (enforce)\n", .status = STATUS(CAPS_DOCKER, "0", "2"),
	    .mountinfo = MOUNTS_DOCKER, .container = "docker (/.dockerenv)", .tun = DOCTOR_TUN_MISSING,
	    .cgroups = CGROUP_NONE, .cgroup_detail = CGROUP_NONE_DETAIL, .filter_ok = 1, .filter_detail = "built",
	    .sandbox = ISOLATION_NONE, .sandbox_detail = SANDBOX_EPERM },
	  1, 0,
	  { { "seccomp", DOCTOR_MISSING, "Seccomp: 2", "--security-opt seccomp=docker/seccomp.json" },
	    { "capabilities", DOCTOR_WARN, "CAP_SYS_ADMIN: no", "--cap-add SYS_ADMIN" },
	    { "/proc masking", DOCTOR_MISSING, "/proc/kcore, /proc/keys", "--security-opt systempaths=unconfined" },
	    { "AppArmor userns", DOCTOR_MISSING, "docker-default", "--security-opt apparmor=unconfined" },
	    { "TUN", DOCTOR_WARN, "missing", "--device /dev/net/tun" },
	    { "verdict", DOCTOR_MISSING, "refuses to run a submission", NULL } } },

	{ "Ubuntu 24.04, a user, no profile",
	  { .euid = 1000, .exe = "/home/me/ipc/build/grader", .max_user_namespaces = "63432\n",
	    .apparmor_restrict = "1\n", .apparmor_label = "unconfined\n", .status = STATUS(CAPS_NONE, "0", "0"),
	    .mountinfo = MOUNTS_HOST, .tun = DOCTOR_TUN_PRESENT, .cgroups = CGROUP_V2,
	    .cgroup_detail = "delegated at /sys/fs/cgroup/user.slice/x", .filter_ok = 1, .filter_detail = "built",
	    .sandbox = ISOLATION_NONE, .sandbox_detail = SANDBOX_EPERM },
	  1, 0,
	  { { "AppArmor userns", DOCTOR_MISSING, "apparmor_restrict_unprivileged_userns = 1",
	      "profile ipc-grader /home/me/ipc/build/grader flags=(unconfined)" },
	    { "AppArmor userns", DOCTOR_MISSING, NULL, "sudo apparmor_parser -r /etc/apparmor.d/ipc-grader" },
	    { "user namespaces", DOCTOR_OK, "63432", "" },
	    { "sandbox", DOCTOR_MISSING, "none: cannot create", NULL },
	    { "verdict", DOCTOR_MISSING, "no namespaces", NULL } } },

	{ "Ubuntu 24.04, a user, the grader's profile loaded",
	  { .euid = 1000, .max_user_namespaces = "63432\n", .apparmor_restrict = "1\n",
	    .apparmor_label = "ipc-grader (unconfined)\n", .status = STATUS(CAPS_NONE, "0", "0"), .mountinfo = MOUNTS_HOST,
	    .tun = DOCTOR_TUN_PRESENT, .cgroups = CGROUP_V2, .cgroup_detail = "delegated", .filter_ok = 1,
	    .filter_detail = "built", .sandbox = ISOLATION_NAMESPACES, .sandbox_detail = SANDBOX_OK },
	  0, 1,
	  { { "AppArmor userns", DOCTOR_OK, "ipc-grader", "" }, { "verdict", DOCTOR_OK, "full isolation", "" } } },

	{ "Ubuntu 24.04 as root",
	  { .euid = 0, .max_user_namespaces = "63432\n", .apparmor_restrict = "1\n", .apparmor_label = "unconfined\n",
	    .status = STATUS(CAPS_ROOT, "0", "0"), .mountinfo = MOUNTS_HOST, .tun = DOCTOR_TUN_PRESENT,
	    .cgroups = CGROUP_V2, .cgroup_detail = "delegated", .filter_ok = 1, .filter_detail = "built",
	    .sandbox = ISOLATION_NAMESPACES, .sandbox_detail = SANDBOX_OK },
	  0, 1,
	  { { "AppArmor userns", DOCTOR_OK, "CAP_SYS_ADMIN", "" } } },

	{ "old Debian: unprivileged_userns_clone = 0",
	  { .euid = 1000, .max_user_namespaces = "63432\n", .unprivileged_userns_clone = "0\n",
	    .status = STATUS(CAPS_NONE, "0", "0"), .mountinfo = MOUNTS_HOST, .tun = DOCTOR_TUN_NO_ACCESS,
	    .tun_mode = "0600", .cgroups = CGROUP_NONE, .cgroup_detail = CGROUP_NONE_DETAIL, .filter_ok = 1,
	    .filter_detail = "built", .sandbox = ISOLATION_NONE, .sandbox_detail = SANDBOX_EPERM },
	  1, 0,
	  { { "user namespaces", DOCTOR_MISSING, "unprivileged_userns_clone = 0",
	      "sudo sysctl -w kernel.unprivileged_userns_clone=1" },
	    { "TUN", DOCTOR_WARN, "mode 0600", "chmod 0666 /dev/net/tun" },
	    { "cgroups", DOCTOR_MISSING, "none: cgroup v1 group", NULL },
	    { "verdict", DOCTOR_MISSING, "no whole-test memory and process limits", NULL } } },

	{ "user namespaces switched off",
	  { .euid = 0, .max_user_namespaces = "0\n", .status = STATUS(CAPS_ROOT, "0", "0"), .mountinfo = MOUNTS_HOST,
	    .tun = DOCTOR_TUN_PRESENT, .cgroups = CGROUP_V1, .cgroup_detail = "v1", .filter_ok = 1,
	    .filter_detail = "built", .sandbox = ISOLATION_NONE, .sandbox_detail = SANDBOX_EPERM },
	  1, 0,
	  { { "user namespaces", DOCTOR_MISSING, "user.max_user_namespaces = 0",
	      "sudo sysctl -w user.max_user_namespaces=" },
	    { "verdict", DOCTOR_MISSING, "degraded: no namespaces;", NULL } } },

	{ "namespaces turned off by the environment",
	  { .euid = 1000, .max_user_namespaces = "63432\n", .status = STATUS(CAPS_NONE, "1", "0"),
	    .mountinfo = MOUNTS_HOST, .tun = DOCTOR_TUN_PRESENT, .cgroups = CGROUP_V2, .cgroup_detail = "delegated",
	    .filter_ok = 1, .filter_detail = "built", .sandbox = ISOLATION_NONE,
	    .sandbox_detail = "no isolation: namespaces turned off by IPCGRADER_NO_NAMESPACES; tests share this machine's network" },
	  1, 0,
	  { { "sandbox", DOCTOR_MISSING, "none: namespaces turned off", "unset IPCGRADER_NO_NAMESPACES" },
	    { "seccomp", DOCTOR_OK, "NoNewPrivs: 1", "" } } },

	{ "a filter around the grader that lets namespaces through, /proc partly covered",
	  { .euid = 1000, .max_user_namespaces = "63432\n", .status = STATUS(CAPS_NONE, "1", "2"),
	    .mountinfo = MOUNTS_ESCAPED, .container = "podman (/run/.containerenv)", .tun = DOCTOR_TUN_PRESENT,
	    .cgroups = CGROUP_V2, .cgroup_detail = "delegated", .filter_ok = 1, .filter_detail = "built",
	    .sandbox = ISOLATION_NAMESPACES, .sandbox_detail = SANDBOX_OK },
	  0, 1,
	  { { "seccomp", DOCTOR_OK, "Seccomp: 2", "" }, { "/proc masking", DOCTOR_OK, "/proc/odd name", "" } } },

	{ "the same /proc, and no sandbox",
	  { .euid = 1000, .max_user_namespaces = "63432\n", .status = STATUS(CAPS_NONE, "0", "0"),
	    .mountinfo = MOUNTS_ESCAPED, .tun = DOCTOR_TUN_PRESENT, .cgroups = CGROUP_V2, .cgroup_detail = "delegated",
	    .filter_ok = 1, .filter_detail = "built", .sandbox = ISOLATION_NONE, .sandbox_detail = SANDBOX_EPERM },
	  1, 0,
	  { { "/proc masking", DOCTOR_MISSING, "1 path covered (/proc/odd name", "sudo umount" } } },

	{ "the syscall filter cannot be built",
	  { .euid = 0, .max_user_namespaces = "63432\n", .status = STATUS(CAPS_ROOT, "0", "0"), .mountinfo = MOUNTS_HOST,
	    .tun = DOCTOR_TUN_PRESENT, .cgroups = CGROUP_V1, .cgroup_detail = "v1", .filter_ok = 0,
	    .filter_detail = "cannot build it: seccomp_init failed", .sandbox = ISOLATION_NONE,
	    .sandbox_detail = "no isolation: cannot build the syscall filter" },
	  3, 0,
	  { { "syscall filter", DOCTOR_MISSING, "seccomp_init failed", "libseccomp2" },
	    { "verdict", DOCTOR_MISSING, "internal error", NULL } } },

	{ "no /proc at all",
	  { .euid = 0, .tun = DOCTOR_TUN_MISSING, .cgroups = CGROUP_NONE, .cgroup_detail = "no cgroup", .filter_ok = 1,
	    .filter_detail = "built", .sandbox = ISOLATION_NONE, .sandbox_detail = SANDBOX_EPERM },
	  3, 0,
	  { { "user namespaces", DOCTOR_MISSING, "no user namespaces", NULL },
	    { "verdict", DOCTOR_MISSING, "/proc cannot be read", "mount proc on /proc" } } },
};

static const char *const status_names[] = { "ok", "warn", "missing" };

static const struct doctor_finding *
finding(const struct doctor_finding *found, const char *name)
{
	for (size_t i = 0; i < DOCTOR_NCHECKS; i++)
		if (!strcmp(found[i].name, name))
			return &found[i];
	ck_abort_msg("no check named \"%s\"", name);
	return NULL;
}

START_TEST(judges_machine)
{
	const struct machine *m = &machines[_i];
	struct doctor_finding found[DOCTOR_NCHECKS];
	int rc = doctor_findings(&m->facts, found);
	ck_assert_msg(rc == m->rc, "%s: exit status %d, expected %d (verdict: %s)", m->name, rc, m->rc,
		      found[DOCTOR_NCHECKS - 1].text);
	ck_assert_str_eq(found[DOCTOR_NCHECKS - 1].name, "verdict");
	for (size_t i = 0; i < DOCTOR_NCHECKS; i++) {
		ck_assert_msg(found[i].name && *found[i].name && *found[i].text, "%s: check %zu says nothing", m->name, i);
		ck_assert_msg(!strchr(found[i].text, '\n') && !strchr(found[i].remedy, '\n'), "%s: %s: more than one line",
			      m->name, found[i].name);
		if (m->no_remedies)
			ck_assert_msg(!*found[i].remedy && found[i].status == DOCTOR_OK, "%s: %s is %s: %s -> %s", m->name,
				      found[i].name, status_names[found[i].status], found[i].text, found[i].remedy);
	}
	for (const struct expect *e = m->expect; e < m->expect + sizeof m->expect / sizeof *m->expect && e->check; e++) {
		const struct doctor_finding *f = finding(found, e->check);
		ck_assert_msg(f->status == e->status, "%s: %s is %s, expected %s: %s", m->name, e->check,
			      status_names[f->status], status_names[e->status], f->text);
		if (e->in_text)
			ck_assert_msg(strstr(f->text, e->in_text), "%s: %s: \"%s\" not in: %s", m->name, e->check, e->in_text,
				      f->text);
		if (e->in_remedy && !*e->in_remedy)
			ck_assert_msg(!*f->remedy, "%s: %s has a remedy: %s", m->name, e->check, f->remedy);
		else if (e->in_remedy)
			ck_assert_msg(strstr(f->remedy, e->in_remedy), "%s: %s: \"%s\" not in the remedy: %s", m->name,
				      e->check, e->in_remedy, f->remedy);
	}
}
END_TEST

/* The grader run as users run it: every check has its line, and the exit
 * status says full isolation or degraded, never that the doctor broke. */
START_TEST(real_machine)
{
	struct strvec argv = STRVEC_INIT, env = STRVEC_INIT;
	sv_push(&argv, GRADER);
	sv_push(&argv, "doctor");
	sv_pushf(&env, "PATH=%s", getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	struct child c = { .argv = argv.v, .envp = env.v };
	struct capture cap;
	capture_init(&cap, 1 << 16);
	struct exit_status st;
	int timed_out;
	char err[256];
	ck_assert_msg(child_run(&c, 25000, &cap, &st, &timed_out, err, sizeof err) == 0, "cannot run %s: %s", GRADER,
		      err);
	char *out = capture_bytes(&cap, 1, NULL);
	ck_assert_msg(!timed_out, "grader doctor hung:\n%s", out);
	ck_assert_msg(st.how == EXIT_CODE && (st.code == 0 || st.code == 1), "grader doctor: status %d signal %d:\n%s",
		      st.code, st.signal, out);

	/* The names, from the table itself. */
	struct doctor_finding found[DOCTOR_NCHECKS];
	doctor_findings(&machines[0].facts, found);
	for (size_t i = 0; i < DOCTOR_NCHECKS; i++) {
		char *head = xstrfmt("%-20s ", found[i].name);
		int seen = !strncmp(out, head, strlen(head));
		for (const char *p = strchr(out, '\n'); !seen && p; p = strchr(p + 1, '\n'))
			seen = !strncmp(p + 1, head, strlen(head));
		ck_assert_msg(seen, "no line for \"%s\" in:\n%s", found[i].name, out);
		free(head);
	}
	ck_assert_msg(strstr(out, st.code == 0 ? "\nverdict              full isolation" : "\nverdict              degraded"),
		      "the verdict does not match exit status %d:\n%s", st.code, out);
	free(out);
	capture_release(&cap);
	sv_clear(&argv);
	sv_clear(&env);
}
END_TEST

static Suite *
doctor_suite(void)
{
	Suite *s = suite_create("doctor");
	TCase *tc = tcase_create("canned");
	tcase_set_timeout(tc, 5);
	tcase_add_loop_test(tc, judges_machine, 0, sizeof machines / sizeof *machines);
	suite_add_tcase(s, tc);
	tc = tcase_create("real");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, real_machine);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(doctor_suite());
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
