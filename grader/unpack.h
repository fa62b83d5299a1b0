/* Unpacking an untrusted archive (a submission's .zip, .tar, .tar.gz or
 * .tgz) safely: grader batch's only way in for archives. */
#ifndef GRADER_UNPACK_H
#define GRADER_UNPACK_H

#include <stddef.h>

#include "util.h"

/* What an archive may hold before it is refused as a whole. */
struct unpack_limits {
	long entries;       /* files and folders */
	long long total;    /* bytes unpacked, all files */
	long long per_file; /* bytes unpacked, one file */
	int ratio;          /* unpacked / packed, past 1 MiB unpacked (a zip bomb) */
	int depth;          /* folders deep */
};
/* One submission: 2,000 entries, 16 MiB, 8 MiB a file, ratio 200, 32 deep. */
extern const struct unpack_limits unpack_submission_limits;
/* A whole class in one archive (a Gradescope export): 100,000 entries, 2 GiB. */
extern const struct unpack_limits unpack_class_limits;

/* Unpacks archive into dest (created here; must not exist).  Every entry
 * must be a regular file or folder whose path stays inside dest (no
 * absolute path, no "..", no symbolic or hard link, device, FIFO or
 * socket, no path twice) and the limits must hold; otherwise nothing is
 * left of dest and -1 comes back with a message in err that names the
 * entry.  __MACOSX/ is skipped.  Returns 0. */
int unpack_archive(const char *archive, const char *dest, const struct unpack_limits *lim, char *err,
		   size_t errlen);

#endif
