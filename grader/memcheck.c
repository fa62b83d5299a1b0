#define _GNU_SOURCE
#include "memcheck.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VG_LOG "grader-vg."
#define ASAN_LOG "grader-asan"
#define UBSAN_LOG "grader-ubsan"
#define REPORT_LINES 30

void
memcheck_prepare(int mode, const char *valgrind, const char *logdir, struct strvec *argv, struct strvec *env)
{
	if (mode == MEMCHECK_VALGRIND) {
		sv_push(argv, valgrind);
		sv_pushf(argv, "--log-file=%s/" VG_LOG "%%p", logdir);
		sv_push(argv, "--track-origins=yes");
		sv_push(argv, "--leak-check=no");
		sv_push(argv, "--num-callers=12");
		sv_push(argv, "--");
	} else if (mode == MEMCHECK_ASAN) {
		/* Our stdout preload comes before libasan; tell ASan that is fine. */
		sv_pushf(env, "ASAN_OPTIONS=log_path=%s/" ASAN_LOG ":detect_leaks=0:verify_asan_link_order=0:"
			      "abort_on_error=0:symbolize=1", logdir);
		sv_pushf(env, "UBSAN_OPTIONS=log_path=%s/" UBSAN_LOG ":print_stacktrace=1", logdir);
	}
}

/* ---- explanations ---------------------------------------------------- */

static const struct {
	const char *prefix, *words;
} valgrind_kinds[] = {
	{ "Syscall param accept(addrlen_in)",
	  "accept() was given an address length that was never set: initialise it (socklen_t len = sizeof addr;) before every accept()" },
	{ "Syscall param socketcall.accept(addrlen_in)",
	  "accept() was given an address length that was never set: initialise it (socklen_t len = sizeof addr;) before every accept()" },
	{ "Syscall param write(buf)", "it writes bytes that were never initialised (more bytes than the data it filled in?)" },
	{ "Syscall param sendto(msg)", "it sends bytes that were never initialised (more bytes than the message holds?)" },
	{ "Syscall param socketcall.sendto(msg)", "it sends bytes that were never initialised (more bytes than the message holds?)" },
	{ "Syscall param", "a system call was given memory that was never initialised" },
	{ "Conditional jump or move depends on uninitialised value",
	  "a decision (an if or a loop, maybe inside printf or strlen) depends on a value that was never initialised: a string without its terminating '\\0'?" },
	{ "Use of uninitialised value", "it uses a value that was never initialised" },
	{ "Invalid read", "it reads memory it does not own: past the end of a malloc()ed block, or after free()" },
	{ "Invalid write", "it writes memory it does not own: past the end of a malloc()ed block, or after free()" },
	{ "Invalid free", "it frees memory that was not malloc()ed, or frees it twice" },
	{ "Mismatched free", "it frees memory with the wrong function" },
	{ "Source and destination overlap", "a copy's source and destination overlap (use memmove)" },
	{ "Argument 'size' of function", "an allocation was asked for a nonsensical size (a negative number?)" },
};

static const struct {
	const char *kind, *words;
} asan_kinds[] = {
	{ "stack-buffer-overflow", "past the end of a local array" },
	{ "stack-buffer-underflow", "before the start of a local array" },
	{ "heap-buffer-overflow", "past the end of a malloc()ed block" },
	{ "global-buffer-overflow", "past the end of a global array" },
	{ "heap-use-after-free", "memory that was already freed" },
	{ "stack-use-after-return", "a local variable of a function that has returned" },
	{ "stack-use-after-scope", "a local variable after its block ended" },
	{ "double-free", "memory that was already freed (a double free)" },
	{ "SEGV", "an invalid address (a NULL or garbage pointer)" },
	{ "dynamic-stack-buffer-overflow", "past the end of a variable-length array" },
};

/* The first "(file.c:12)" or "/path/file.c:12" of lines that names a
 * submission source; falls back to the first frame's location. */
static char *
student_frame(char **lines, size_t n, char *const *sources, size_t nsources)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t s = 0; s < nsources; s++) {
			const char *hit = strstr(lines[i], sources[s]);
			size_t len = strlen(sources[s]);
			if (!hit || hit[len] != ':' || (hit != lines[i] && hit[-1] != '/' && hit[-1] != '(' && hit[-1] != ' '))
				continue;
			size_t end = len + 1 + strspn(hit + len + 1, "0123456789");
			/* Only a stack frame names a function: UBSan's headline
			 * ("... cannot be represented in type 'int'") does not. */
			const char *frame = strstr(lines[i], "#");
			const char *in = frame && strstr(frame, " 0x") ? strstr(frame, " in ") : NULL;
			const char *fn = NULL;
			size_t fnlen = 0;
			if (in) { /* ASan: "#2 0x.. in main /path/client.c:23" */
				fn = in + 4;
				fnlen = strcspn(fn, " (");
			} else if ((strstr(lines[i], "at 0x") || strstr(lines[i], "by 0x")) &&
				   (in = strstr(lines[i], ": "))) { /* Valgrind: "by 0x..: main (client.c:23)" */
				fn = in + 2;
				fnlen = strcspn(fn, " (");
			}
			if (fn && fnlen)
				return xstrfmt("%.*s (in %.*s)", (int)end, hit, (int)fnlen, fn);
			return xstrfmt("%.*s", (int)end, hit);
		}
	}
	return NULL;
}

static void
append_report(struct strbuf *d, char **lines, size_t n)
{
	for (size_t i = 0; i < n && i < REPORT_LINES; i++) {
		sb_adds(d, "    ");
		sb_add_printable(d, lines[i], strlen(lines[i]));
		sb_adds(d, "\n");
	}
	if (n > REPORT_LINES)
		sb_addf(d, "    [... %zu more lines]\n", n - REPORT_LINES);
}

struct report {
	char **lines;
	size_t n;
};

static void
report_load(struct report *r, const char *path, int strip_valgrind_prefix)
{
	char *text = read_file(path, 1 << 20, NULL);
	r->lines = NULL;
	r->n = 0;
	if (!text)
		return;
	char *save, *line;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strip_valgrind_prefix && line[0] == '=' && line[1] == '=') {
			char *end = strstr(line + 2, "==");
			line = end ? end + 2 + (end[2] == ' ') : line;
		}
		r->lines = xrealloc(r->lines, (r->n + 1) * sizeof *r->lines);
		r->lines[r->n++] = xstrdup(line);
	}
	free(text);
}

static void
report_free(struct report *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->lines[i]);
	free(r->lines);
}

/* Valgrind: an error is a block whose next line is an "at 0x" frame. */
static int
analyse_valgrind(struct report *r, char *const *src, size_t nsrc, const char *who, struct verdict *v)
{
	for (size_t i = 0; i + 1 < r->n; i++) {
		if (strncmp(r->lines[i + 1], "   at 0x", 8) || !strncmp(r->lines[i], "Process terminating", 19) ||
		    r->lines[i][0] == ' ')
			continue;
		size_t end = i + 1;
		while (end < r->n && r->lines[end][0] == ' ')
			end++;
		const char *words = "Valgrind reports a memory error";
		for (size_t k = 0; k < sizeof valgrind_kinds / sizeof *valgrind_kinds; k++)
			if (!strncmp(r->lines[i], valgrind_kinds[k].prefix, strlen(valgrind_kinds[k].prefix))) {
				words = valgrind_kinds[k].words;
				break;
			}
		char *where = student_frame(r->lines + i, end - i, src, nsrc);
		char *msg = xstrfmt("%s has a memory error%s%s: %s", who, where ? " at " : "", where ? where : "", words);
		struct strbuf d = STRBUF_INIT;
		sb_adds(&d, "  Valgrind memcheck reported:\n");
		append_report(&d, r->lines + i, end - i);
		verdict_add(v, ST_CRASH, msg, d.buf);
		sb_release(&d);
		free(msg);
		free(where);
		return 1; /* the first error is the one to fix */
	}
	return 0;
}

static int
analyse_asan(struct report *r, char *const *src, size_t nsrc, const char *who, struct verdict *v)
{
	for (size_t i = 0; i < r->n; i++) {
		const char *e = strstr(r->lines[i], "ERROR: AddressSanitizer: ");
		int ubsan = !e && strstr(r->lines[i], "runtime error: ");
		if (!e && !ubsan)
			continue;
		struct strbuf words = STRBUF_INIT;
		if (ubsan) {
			const char *what = strstr(r->lines[i], "runtime error: ") + 15;
			sb_adds(&words, "undefined behaviour: ");
			sb_add_printable(&words, what, strlen(what));
		} else {
			const char *kind = e + 25;
			size_t klen = strcspn(kind, " ");
			const char *access = i + 1 < r->n ? r->lines[i + 1] : "";
			int is_write = !strncmp(access, "WRITE", 5), is_read = !strncmp(access, "READ", 4);
			const char *desc = NULL;
			for (size_t k = 0; k < sizeof asan_kinds / sizeof *asan_kinds; k++)
				if (strlen(asan_kinds[k].kind) == klen && !strncmp(kind, asan_kinds[k].kind, klen))
					desc = asan_kinds[k].words;
			sb_addf(&words, "it %s %s (%.*s)", is_write ? "writes" : is_read ? "reads" : "uses",
				desc ? desc : "memory it does not own", (int)klen, kind);
			/* Frame #0 is often a library function handed the array. */
			for (size_t j = i + 1; j < r->n && j < i + 4; j++) {
				const char *f0 = strstr(r->lines[j], "#0 ");
				if (!f0)
					continue;
				if (strstr(f0, "printf") || strstr(f0, "strlen") || strstr(f0, "puts") || strstr(f0, "strcpy"))
					sb_adds(&words, ": a string without its terminating '\\0' went to a string function; leave room for the '\\0' and add it after recv()/read()");
				else if (strstr(f0, "recv") || strstr(f0, "read"))
					sb_adds(&words, ": recv()/read() was allowed to write more bytes than the array holds; pass sizeof the array");
				else if (strstr(f0, "send") || strstr(f0, "write"))
					sb_adds(&words, ": send()/write() was told to take more bytes than the array holds");
				break;
			}
		}
		size_t end = r->n;
		for (size_t j = i + 1; j < r->n; j++)
			if (!strncmp(r->lines[j], "SUMMARY:", 8)) {
				end = j + 1;
				break;
			}
		char *where = student_frame(r->lines + i, end - i, src, nsrc);
		char *msg = xstrfmt("%s has a memory error%s%s: %s", who, where ? " at " : "", where ? where : "", words.buf);
		struct strbuf d = STRBUF_INIT;
		sb_adds(&d, ubsan ? "  UndefinedBehaviorSanitizer reported:\n" : "  AddressSanitizer reported:\n");
		append_report(&d, r->lines + i, end - i);
		verdict_add(v, ST_CRASH, msg, d.buf);
		sb_release(&d);
		sb_release(&words);
		free(msg);
		free(where);
		return 1;
	}
	return 0;
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
memcheck_collect(const char *logdir, char *const *sources, size_t nsources, memcheck_namer namer, void *arg,
		 struct verdict *v)
{
	DIR *d = opendir(logdir);
	if (!d)
		return 0;
	struct strvec names = STRVEC_INIT;
	struct dirent *e;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "grader-", 7))
			sv_push(&names, e->d_name);
	closedir(d);
	if (names.n) /* a stable order: the same run gives the same report */
		qsort(names.v, names.n, sizeof *names.v, cmp_name);
	int found = 0;
	for (size_t i = 0; i < names.n; i++) {
		const char *name = names.v[i];
		const char *dot = strrchr(name, '.');
		pid_t pid = dot ? (pid_t)strtol(dot + 1, NULL, 10) : 0;
		const char *who = namer ? namer(pid, arg) : NULL;
		char *label = who ? xstrdup(who) : xstrfmt("a child process (pid %d)", (int)pid);
		char *path = xstrfmt("%s/%s", logdir, name);
		struct report r;
		int vg = !strncmp(name, VG_LOG, strlen(VG_LOG));
		report_load(&r, path, vg);
		found += vg ? analyse_valgrind(&r, sources, nsources, label, v)
			    : analyse_asan(&r, sources, nsources, label, v);
		report_free(&r);
		free(path);
		free(label);
	}
	sv_clear(&names);
	return found;
}
