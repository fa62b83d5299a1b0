#include "version.h"

#ifndef GRADER_VERSION
#error "GRADER_VERSION comes from the Makefile's VERSION (make builds version.o with it)"
#endif

const char version_string[] = GRADER_VERSION;
