/* Unpacking a submission's archive (.zip, .tar, .tar.gz) that nobody
 * trusts, with libarchive: every entry is checked before anything of it is
 * written (its path stays inside, it is a plain file or folder) and the
 * bytes really unpacked are counted against the limits as they come, so a
 * zip bomb stops at the limit, whatever its headers claim.  Files are
 * created with O_EXCL | O_NOFOLLOW under folders made here (no link can be
 * among them: links are refused), and a refused archive leaves nothing. */
#define _GNU_SOURCE
#include "unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const struct unpack_limits unpack_submission_limits = {
	.entries = 2000, .total = 16LL << 20, .per_file = 8LL << 20, .ratio = 200, .depth = 32,
};
/* A whole class in one archive (a Gradescope export). */
const struct unpack_limits unpack_class_limits = {
	.entries = 100000, .total = 2LL << 30, .per_file = 8LL << 20, .ratio = 200, .depth = 32,
};

/* Checks an entry's path and makes it relative and clean in out. */
static int
entry_path(const char *path, const struct unpack_limits *lim, struct strbuf *out, char *err, size_t errlen)
{
	if (!path || !*path)
		return errf(err, errlen, "an entry has no name (or one that is not text)");
	if (path[0] == '/' || path[0] == '\\' || (path[1] == ':' && path[2] == '\\'))
		return errf(err, errlen, "entry \"%s\" has an absolute path", path);
	if (strlen(path) > 1024)
		return errf(err, errlen, "an entry's path is over 1024 bytes");
	int depth = 0;
	for (const char *p = path; *p;) {
		size_t n = strcspn(p, "/\\");
		if (n == 2 && !strncmp(p, "..", 2))
			return errf(err, errlen, "entry \"%s\" climbs out of its folder (\"..\")", path);
		if (n && !(n == 1 && *p == '.')) {
			if (out->len)
				sb_adds(out, "/");
			sb_add(out, p, n);
			if (++depth > lim->depth)
				return errf(err, errlen, "entry \"%s\" is over %d folders deep", path, lim->depth);
		}
		p += n;
		while (*p == '/' || *p == '\\')
			p++;
	}
	return 0;
}

/* Creates the folders of rel under dirfd (every one made by us: no link
 * can be among them).  Returns an fd of rel's folder, or -1. */
static int
open_parent(int dirfd, char *rel, const char **base)
{
	int fd = dup(dirfd);
	char *p = rel, *slash;
	while (fd >= 0 && (slash = strchr(p, '/'))) {
		*slash = '\0';
		if (mkdirat(fd, p, 0755) < 0 && errno != EEXIST) {
			close(fd);
			return -1;
		}
		int next = openat(fd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = next;
		*slash = '/';
		p = slash + 1;
	}
	*base = p;
	return fd;
}

struct unpack {
	struct archive *a;
	const struct unpack_limits *lim;
	long long total;
	long entries;
};

static int
unpack_file(struct unpack *u, int dirfd, char *rel, int mode, char *err, size_t errlen)
{
	const char *base;
	int pfd = open_parent(dirfd, rel, &base);
	if (pfd < 0)
		return errf(err, errlen, "cannot create the folders of \"%s\": %s", rel, strerror(errno));
	int fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	int e = errno;
	close(pfd);
	if (fd < 0)
		return errf(err, errlen, e == EEXIST ? "entry \"%s\" is in the archive twice" : "cannot create \"%s\": %s",
			    rel, strerror(e));
	long long size = 0;
	char buf[65536];
	int rc = 0;
	for (;;) {
		la_ssize_t n = archive_read_data(u->a, buf, sizeof buf);
		if (n == 0)
			break;
		if (n < 0) {
			rc = errf(err, errlen, "cannot read \"%s\": %s", rel, archive_error_string(u->a));
			break;
		}
		size += n;
		u->total += n;
		la_int64_t packed = archive_filter_bytes(u->a, -1);
		if (size > u->lim->per_file) {
			rc = errf(err, errlen, "entry \"%s\" is over the limit of %lld MiB a file", rel, u->lim->per_file >> 20);
		} else if (u->total > u->lim->total) {
			rc = errf(err, errlen, "the archive unpacks to over %lld MiB", u->lim->total >> 20);
		} else if (u->total > (1 << 20) && packed > 0 && u->total / packed > u->lim->ratio) {
			rc = errf(err, errlen, "the archive unpacks to over %d times its size (a zip bomb?)", u->lim->ratio);
		} else if (write_all(fd, buf, (size_t)n) < 0) {
			rc = errf(err, errlen, "cannot write \"%s\": %s", rel, strerror(errno));
		}
		if (rc)
			break;
	}
	if (close(fd) < 0 && rc == 0)
		rc = errf(err, errlen, "cannot write \"%s\": %s", rel, strerror(errno));
	return rc;
}

/* One entry: checked, then made.  __MACOSX/ (Finder's resource forks) is
 * skipped. */
static int
unpack_entry(struct unpack *u, struct archive_entry *e, int dirfd, char *err, size_t errlen)
{
	const char *raw = archive_entry_pathname(e);
	struct strbuf rel = STRBUF_INIT;
	int rc = entry_path(raw, u->lim, &rel, err, errlen);
	mode_t type = archive_entry_filetype(e);
	if (rc == 0 && ++u->entries > u->lim->entries)
		rc = errf(err, errlen, "the archive has over %ld entries", u->lim->entries);
	if (rc == 0 && (archive_entry_hardlink(e) || type == AE_IFLNK))
		rc = errf(err, errlen, "entry \"%s\" is a link (%s)", raw,
			  archive_entry_symlink(e) ? "to somewhere else" : "to another entry");
	if (rc == 0 && type != AE_IFREG && type != AE_IFDIR)
		rc = errf(err, errlen, "entry \"%s\" is not a file or a folder (a device, FIFO or socket)", raw);
	if (rc == 0 && rel.len && strncmp(rel.buf, "__MACOSX", 8) != 0) {
		if (type == AE_IFDIR) {
			sb_adds(&rel, "/x"); /* open_parent makes every folder of the path */
			const char *base;
			int fd = open_parent(dirfd, rel.buf, &base);
			if (fd < 0)
				rc = errf(err, errlen, "cannot create the folder \"%s\": %s", raw, strerror(errno));
			else
				close(fd);
		} else {
			rc = unpack_file(u, dirfd, rel.buf, archive_entry_perm(e) & 0100 ? 0755 : 0644, err, errlen);
		}
	}
	sb_release(&rel);
	return rc;
}

int
unpack_archive(const char *path, const char *dest, const struct unpack_limits *lim, char *err, size_t errlen)
{
	struct unpack u = { .a = archive_read_new(), .lim = lim };
	archive_read_support_format_zip(u.a);
	archive_read_support_format_tar(u.a);
	archive_read_support_filter_gzip(u.a);
	int rc = 0, dirfd = -1;
	if (archive_read_open_filename(u.a, path, 65536) != ARCHIVE_OK) {
		rc = errf(err, errlen, "cannot open the archive: %s", archive_error_string(u.a));
		goto out_archive;
	}
	if (mkdir(dest, 0755) < 0) {
		rc = errf(err, errlen, "cannot create \"%s\": %s", dest, strerror(errno));
		goto out_archive;
	}
	dirfd = open(dest, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dirfd < 0) {
		rc = errf(err, errlen, "cannot open \"%s\": %s", dest, strerror(errno));
		goto out_dest;
	}
	struct archive_entry *e;
	int r;
	while (rc == 0 && (r = archive_read_next_header(u.a, &e)) != ARCHIVE_EOF) {
		if (r < ARCHIVE_WARN)
			rc = errf(err, errlen, "the archive is damaged: %s", archive_error_string(u.a));
		else
			rc = unpack_entry(&u, e, dirfd, err, errlen);
	}
	close(dirfd);
out_dest:
	if (rc)
		rm_rf(dest);
out_archive:
	archive_read_free(u.a);
	return rc;
}
