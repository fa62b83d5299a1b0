/* The lab spec's parse tree and typed access to it, shared by spec.c and
 * the check units (each unit validates its own keys).  Every problem is
 * reported with perr() as "file:line:column: message" and counted; the
 * getters return -1 or NULL after reporting one. */
#ifndef GRADER_SPECPARSE_H
#define GRADER_SPECPARSE_H

#include <stddef.h>

#include "util.h"

enum ytype { Y_SCALAR, Y_SEQ, Y_MAP };

struct ynode {
	enum ytype type;
	int line, col;       /* 1-based */
	char *text;          /* Y_SCALAR */
	struct ynode **kids; /* Y_SEQ: items; Y_MAP: key, value, key, value... */
	size_t n;
};

struct parser {
	const char *file;
	struct strbuf *errors;
	int nerrors;
};

void perr(struct parser *p, int line, int col, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* 0 when n is of type t, else reports "WHAT must be ..." */
int want(struct parser *p, const struct ynode *n, enum ytype t, const char *what);
char *get_str(struct parser *p, const struct ynode *n, const char *what);
int get_int(struct parser *p, const struct ynode *n, const char *what, long min, long max, int *out);
int get_bool(struct parser *p, const struct ynode *n, const char *what, int *out);
/* A list of scalars (a lone scalar is taken as a list of one). */
int get_strlist(struct parser *p, const struct ynode *n, const char *what, char ***out, size_t *count);
void free_strlist(char **v, size_t n);
/* The index in allowed (NULL-ended) of the i-th key of map, or -1 after
 * reporting an unknown or duplicate key. */
int key_index(struct parser *p, const struct ynode *map, size_t i, const char *const *allowed, const char *where);
/* 0 when re is a valid POSIX extended regex. */
int check_regex(struct parser *p, const struct ynode *n, const char *re);

#endif
