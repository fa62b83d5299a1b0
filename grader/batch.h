/* grader batch and grader merge: a whole class graded on the engine of
 * grader grade (a child grader per submission), with a results folder, a
 * CSV gradebook, resumption, and shards merged back into one.  The layout
 * of the output folder is docs/batch.md. */
#ifndef GRADER_BATCH_H
#define GRADER_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* The commands; they return the exit status (docs/batch.md).  labs_dir is
 * where a bare lab name is looked up, refs_dir where the reference
 * programs are (part of what a lab is, for the key of a result). */
int batch_main(const char *labs_dir, const char *refs_dir, int argc, char **argv);
int merge_main(int argc, char **argv);

/* Appends one CSV field (RFC 4180): quoted when it holds a comma, quote,
 * CR or LF or edge spaces, and prefixed with ' when it starts with = + - @
 * TAB or CR, so that a spreadsheet shows it as text, never as a formula. */
void batch_csv_text(struct strbuf *sb, const char *s);

/* The shard (0..n-1) a submission id belongs to: the first 8 bytes of
 * SHA-256 of the id, big-endian, modulo n.  Stable across machines. */
unsigned batch_shard_of(const char *id, unsigned n);

/* SHA-256 of data as 64 lowercase hex digits and a NUL. */
void batch_sha256_hex(const void *data, size_t len, char out[65]);

#endif
