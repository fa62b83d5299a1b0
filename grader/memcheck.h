/* Memory checking of student programs, with Valgrind memcheck or an
 * AddressSanitizer + UBSan build.  Each is blind where the other sees:
 * Valgrind catches uninitialised values handed to system calls (a socklen_t
 * never set before accept()), ASan catches overflows of stack arrays (11
 * bytes received into char[10]) that Valgrind cannot see.  Valgrind writes
 * its report to a pipe (an fd it guards from the program), ASan to stderr:
 * never to a file the program could delete or replace.  memcheck_collect()
 * turns each report into a finding in a student's words. */
#ifndef GRADER_MEMCHECK_H
#define GRADER_MEMCHECK_H

#include <stddef.h>
#include <sys/types.h>

#include "result.h"
#include "spec.h"
#include "util.h"

/* Adds to argv (before the program's own argv) and env what running under
 * mode needs; Valgrind's log goes to log_fd (as the program will have it). */
void memcheck_prepare(int mode, const char *valgrind, int log_fd, struct strvec *argv, struct strvec *env);

/* Names the process with pid for messages ("your server"); NULL if unknown. */
typedef const char *(*memcheck_namer)(pid_t pid, void *arg);

/* Reads what one started process's tool wrote (mode MEMCHECK_VALGRIND:
 * its Valgrind log, "==pid==" lines of it and of its children; ASAN: its
 * stderr) and adds a crash finding per process with a memory error.  pid is
 * the started process's own (as it knows itself).  sources are the
 * submission's file names: the frame in them is the place a student should
 * look.  Returns the number of processes with errors. */
int memcheck_collect(int mode, const char *log, size_t len, pid_t pid, char *const *sources, size_t nsources,
		     memcheck_namer namer, void *arg, struct verdict *v);

#endif
