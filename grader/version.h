/* The grader's version: one place, the Makefile's VERSION, compiled into
 * version.c.  Every result that records a version uses this. */
#ifndef GRADER_VERSION_H
#define GRADER_VERSION_H

extern const char version_string[];

#endif
