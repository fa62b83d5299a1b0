#define _GNU_SOURCE
#include "memcheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPORT_LINES 30

void
memcheck_prepare(int mode, const char *valgrind, int log_fd, struct strvec *argv, struct strvec *env)
{
	if (mode == MEMCHECK_VALGRIND) {
		sv_push(argv, valgrind);
		/* Valgrind moves the fd out of the program's reach and refuses
		 * the program's own calls on it. */
		sv_pushf(argv, "--log-fd=%d", log_fd);
		sv_push(argv, "--track-origins=yes");
		sv_push(argv, "--leak-check=no");
		sv_push(argv, "--num-callers=12");
		sv_push(argv, "--");
	} else if (mode == MEMCHECK_ASAN) {
		/* Our stdout preload comes before libasan; tell ASan that is fine. */
		/* Reports go to stderr, a pipe the grader holds: a file could be
		 * deleted or replaced by the program before the grader reads it. */
		sv_push(env, "ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0:abort_on_error=0:symbolize=1");
		sv_push(env, "UBSAN_OPTIONS=print_stacktrace=1");
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

/* "==123==" at the start of line (of len bytes): 123, else 0. */
static pid_t
line_pid(const char *line, size_t len, size_t *prefix)
{
	if (len < 5 || line[0] != '=' || line[1] != '=')
		return 0;
	size_t i = 2;
	long pid = 0;
	while (i < len && i < 12 && line[i] >= '0' && line[i] <= '9')
		pid = pid * 10 + (line[i++] - '0');
	if (i == 2 || i + 1 >= len || line[i] != '=' || line[i + 1] != '=')
		return 0;
	if (prefix)
		*prefix = i + 2 + (i + 2 < len && line[i + 2] == ' ');
	return (pid_t)pid;
}

/* The lines of text (len bytes, NULs and all); with a Valgrind log, only
 * those of process pid ("==pid== ..."), without the prefix. */
static void
report_load(struct report *r, const char *text, size_t len, int valgrind, pid_t pid)
{
	r->lines = NULL;
	r->n = 0;
	for (const char *p = text, *end = text + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p), skip = 0;
		const char *line = p;
		p += n + (nl != NULL);
		if (valgrind) {
			if (line_pid(line, n, &skip) != pid)
				continue;
			line += skip;
			n -= skip;
		}
		if (!n)
			continue;
		struct strbuf sb = STRBUF_INIT;
		sb_add(&sb, line, n); /* a NUL inside stays; analysis sees up to it */
		r->lines = xrealloc(r->lines, (r->n + 1) * sizeof *r->lines);
		r->lines[r->n++] = sb_detach(&sb);
	}
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

/* The pids of a Valgrind log in the order they first speak (the caller
 * frees), or with asan_only those of ASan's "==pid==ERROR" lines. */
static size_t
log_pids(const char *text, size_t len, int asan_only, pid_t **out)
{
	size_t n = 0;
	pid_t *pids = NULL;
	for (const char *p = text, *end = text + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t linelen = nl ? (size_t)(nl - p) : (size_t)(end - p), skip;
		pid_t pid = line_pid(p, linelen, &skip);
		size_t k = 0;
		while (k < n && pids[k] != pid)
			k++;
		if (pid > 0 && k == n && (!asan_only || (linelen - skip >= 6 && !memcmp(p + skip, "ERROR:", 6)))) {
			pids = xrealloc(pids, (n + 1) * sizeof *pids);
			pids[n++] = pid;
		}
		p += linelen + (nl != NULL);
	}
	*out = pids;
	return n;
}

int
memcheck_collect(int mode, const char *log, size_t len, pid_t pid, char *const *sources, size_t nsources,
		 memcheck_namer namer, void *arg, struct verdict *v)
{
	pid_t *pids;
	size_t n = log_pids(log, len, mode == MEMCHECK_ASAN, &pids);
	int found = 0;
	if (mode == MEMCHECK_ASAN) {
		/* One stream: the program's stderr, its children's too. */
		pid_t who_pid = n ? pids[0] : pid;
		const char *who = namer ? namer(who_pid, arg) : NULL;
		char *label = who ? xstrdup(who) : xstrfmt("a child process (pid %d)", (int)who_pid);
		struct report r;
		report_load(&r, log, len, 0, 0);
		found = analyse_asan(&r, sources, nsources, label, v);
		report_free(&r);
		free(label);
		free(pids);
		return found;
	}
	for (size_t i = 0; i < n; i++) {
		const char *who = namer ? namer(pids[i], arg) : NULL;
		char *label = who ? xstrdup(who) : xstrfmt("a child process (pid %d)", (int)pids[i]);
		struct report r;
		report_load(&r, log, len, 1, pids[i]);
		found += analyse_valgrind(&r, sources, nsources, label, v);
		report_free(&r);
		free(label);
	}
	free(pids);
	return found;
}
