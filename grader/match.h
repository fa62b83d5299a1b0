/* Output checks: exact, contains, regex, a set of lines (order-free),
 * not_contains.  Matching works on the raw bytes; explanations show them
 * made printable, with a line diff where one helps. */
#ifndef GRADER_MATCH_H
#define GRADER_MATCH_H

#include <stddef.h>

#include "spec.h"
#include "util.h"

/* Returns 1 when every condition of m holds for out.  Otherwise returns 0,
 * sets *message to one line (the caller frees) and appends expected vs
 * actual to details.  what names the stream: "client's stdout". */
int match_output(const struct matcher *m, const char *out, size_t len, const char *what, char **message,
		 struct strbuf *details);

/* Does regex match anywhere in the bytes (REG_EXTENDED | REG_NEWLINE)?
 * Returns -1 if it does not compile. */
int match_regex(const char *regex, const char *data, size_t len);

/* Appends a line diff of expected against actual ("-" expected only,
 * "+" actual only, " " both). */
void match_diff(struct strbuf *sb, const char *expected, size_t elen, const char *actual, size_t alen);

#endif
