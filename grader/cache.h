/* The compile cache: re-grading sources that did not change skips the
 * compiler.  An entry holds the programs of one successful build and what
 * the compiler said; its name is a SHA-256 of everything the build depends
 * on (cache_key): the handed-in and provided files as they were copied for
 * the build, the lab's flags and programs, whether an ASan pass was made,
 * the compiler (its path and the hash of its binary), the system's libc
 * (its build id: its headers come in the same upgrade) and the grader itself
 * (the hash of its binary: a new grader never uses an old grader's builds).
 *
 * Safety.  The folder belongs to the grader's user (0700, refused when it
 * is another's or writable by others) and is hidden from every sandbox;
 * the build, which runs the student's compiler input, runs sandboxed and
 * never sees it.  What a build produces is stored under the hash of its own
 * inputs only, so no submission can put anything under another's key.  An
 * entry is written in a temporary folder and renamed into place (two
 * graders storing the same key: the first wins, both are right); each file
 * is checked against the SHA-256 recorded with it when it is taken out, so
 * a torn or corrupt entry is a miss (and is removed), never a wrong
 * program.  The folder is kept under a size (IPCGRADER_CACHE_MB, default
 * 256): the entries used longest ago go first.  A cache that cannot be
 * used is a miss: grading never fails because of it. */
#ifndef GRADER_CACHE_H
#define GRADER_CACHE_H

#include <stddef.h>

#include "spec.h"
#include "util.h"

#define CACHE_KEY_LEN 64 /* hex digits of a SHA-256 */

/* $XDG_CACHE_HOME/ipcgrader, else $HOME/.cache/ipcgrader; NULL when
 * neither is set (the caller frees). */
char *cache_default_dir(void);

/* Makes sure dir is a folder only the grader's user can use (creating it
 * 0700); 0, or -1 with the reason in err. */
int cache_check_dir(const char *dir, char *err, size_t errlen);

/* The key of a build of spec's programs from the files in srcdir with the
 * compiler cc (a path), with an ASan pass when asan is set.  0, or -1 when
 * a file cannot be read (no key: build without the cache). */
int cache_key(const struct lab_spec *spec, const char *srcdir, const char *cc, int asan,
	      char key[CACHE_KEY_LEN + 1]);

/* A hit copies the entry's programs into bindir (and asandir when asan is
 * set), sets *warnings and *log (the caller frees) and returns 1; a miss
 * returns 0 and leaves bindir as it was. */
int cache_fetch(const char *dir, const char *key, const struct lab_spec *spec, const char *bindir,
		const char *asandir, int asan, int *warnings, char **log);

/* Stores the programs of a successful build; 0, or -1 (nothing stored). */
int cache_store(const char *dir, const char *key, const struct lab_spec *spec, const char *bindir,
		const char *asandir, int asan, int warnings, const char *log);

#endif
