/* Where a grading's time goes, for the benchmark: with IPCGRADER_TIMING=1
 * every phase (build, each test's sandbox, each step, readiness, teardown)
 * prints one line on stderr with the time since the grader started and the
 * CPU the printing process (the grader, or a test's init) has used.  Off,
 * a mark costs one test of a flag. */
#ifndef GRADER_TIMING_H
#define GRADER_TIMING_H

void timing_mark(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
