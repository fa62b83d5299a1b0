/* Valgrind without the cost of libc's separate debug info.  Valgrind reads
 * the debug info of every object it loads; where libc6-dbg is installed
 * that includes libc's 4 MB of DWARF at every start (about a third of a
 * start here), only to name libc's own frames with file:line.  The student's
 * frames come from their program's own -g, and the dynamic linker's debug
 * info Valgrind cannot start without, so a Valgrind test's sandbox hides
 * just the folder of libc's (unless the dynamic linker's lies there too). */
#ifndef GRADER_DEBUGINFO_H
#define GRADER_DEBUGINFO_H

#include "util.h"

#define DEBUGINFO_ID_MAX 129 /* a build id in hex, with its NUL */

/* Adds to out the folder to hide from a Valgrind test, if there is one. */
void debuginfo_valgrind_hide(struct strvec *out);
/* The build id of the system's libc (the grader's own), in hex; "" when
 * it has none. */
void debuginfo_libc_id(char out[DEBUGINFO_ID_MAX]);

#endif
