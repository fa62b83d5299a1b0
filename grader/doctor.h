/* `grader doctor`: what isolation this machine gives the tests, what the
 * grader will do about it, and the exact remedy for each gap.
 *
 * The facts are gathered in one place (plain reads of /proc and /sys, and
 * the real probes: the sandbox, cgroups, the syscall filter) and judged in
 * another, doctor_findings(), which only looks at texts and numbers so
 * that tests can feed it a canned machine. */
#ifndef GRADER_DOCTOR_H
#define GRADER_DOCTOR_H

#include <stdio.h>
#include <sys/types.h>

#include "cgroup.h"
#include "sandbox.h"

enum doctor_status {
	DOCTOR_OK,
	DOCTOR_WARN,    /* worth knowing; tests are isolated all the same */
	DOCTOR_MISSING, /* a piece of isolation this machine does not give */
};

enum doctor_tun { DOCTOR_TUN_MISSING, DOCTOR_TUN_PRESENT, DOCTOR_TUN_NO_ACCESS };

/* Everything the checks judge.  Texts are borrowed; NULL means the file
 * does not exist (or could not be read). */
struct doctor_facts {
	uid_t euid;
	const char *exe;                       /* the grader's own path, for the AppArmor profile */
	const char *max_user_namespaces;       /* /proc/sys/user/max_user_namespaces */
	const char *unprivileged_userns_clone; /* /proc/sys/kernel/unprivileged_userns_clone (old Debian) */
	const char *apparmor_restrict;         /* /proc/sys/kernel/apparmor_restrict_unprivileged_userns */
	const char *apparmor_label;            /* /proc/self/attr/apparmor/current */
	const char *status;                    /* /proc/self/status */
	const char *mountinfo;                 /* /proc/self/mountinfo */
	const char *container;                 /* "docker (/.dockerenv)", ...; NULL: none seen */
	enum doctor_tun tun;
	const char *tun_mode;                  /* "0600": for DOCTOR_TUN_NO_ACCESS */

	/* What the probes found. */
	enum cgroup_kind cgroups;
	const char *cgroup_detail;
	int filter_ok; /* the syscall filter was built and installs */
	const char *filter_detail;
	enum isolation sandbox;
	const char *sandbox_detail;
};

struct doctor_finding {
	const char *name; /* the check's name, static */
	enum doctor_status status;
	char text[1024];
	char remedy[1024]; /* "" when there is nothing to do */
};

/* How many checks there are (the verdict included): the size of the
 * array doctor_findings() fills. */
#define DOCTOR_NCHECKS 11

/* Judges the facts: fills out[0..DOCTOR_NCHECKS-1], the verdict last, and
 * returns the exit status of `grader doctor`: 0 full isolation, 1
 * degraded, 3 when /proc could not be read (nothing can be said). */
int doctor_findings(const struct doctor_facts *f, struct doctor_finding out[DOCTOR_NCHECKS]);

/* Gathers the facts of this machine, runs the probes, prints one line per
 * check to out, and returns the exit status as doctor_findings() does. */
int doctor_run(FILE *out);

#endif
