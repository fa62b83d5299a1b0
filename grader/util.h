/* Small helpers shared by every grader module: a growable string, error
 * reporting into a caller's buffer, and making student bytes printable. */
#ifndef GRADER_UTIL_H
#define GRADER_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* A growable NUL-terminated string.  Zero-initialise (STRBUF_INIT) and
 * release with sb_release(); the owner of the struct owns buf.  Allocation
 * failure aborts: the grader cannot do anything useful without memory. */
struct strbuf {
	char *buf;
	size_t len, cap;
};
#define STRBUF_INIT { NULL, 0, 0 }

void sb_add(struct strbuf *sb, const void *data, size_t len);
void sb_adds(struct strbuf *sb, const char *s);
void sb_addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_vaddf(struct strbuf *sb, const char *fmt, va_list ap);
/* Appends student-produced bytes made safe to show: valid UTF-8 is kept,
 * newlines and tabs too; other control bytes and invalid sequences become
 * \xNN.  The result is always valid UTF-8 (JSON and XML need that). */
void sb_add_printable(struct strbuf *sb, const void *data, size_t len);
/* A program's bytes as lines, each after mark ("| "), control bytes
 * escaped: nothing a program prints can pass for the grader's own words. */
void sb_add_marked(struct strbuf *sb, const char *mark, const void *data, size_t len);
/* Returns the string (never NULL) and leaves sb empty; the caller frees. */
char *sb_detach(struct strbuf *sb);
void sb_release(struct strbuf *sb);

/* A NULL-terminated vector of strings it owns (argv, envp). */
struct strvec {
	char **v;
	size_t n;
};
#define STRVEC_INIT { NULL, 0 }
void sv_push(struct strvec *sv, const char *s);
void sv_pushf(struct strvec *sv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sv_clear(struct strvec *sv);

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrfmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Writes a message into err (size errlen) and returns -1: library code
 * reports failures this way and only main() decides to exit. */
int errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Monotonic clock in milliseconds. */
int64_t now_ms(void);

/* Full write / read loops that retry on EINTR and short transfers. */
int write_all(int fd, const void *buf, size_t len);
/* Reads the whole file (at most max bytes); returns NULL with errno set. */
char *read_file(const char *path, size_t max, size_t *len);

/* Creates every missing directory of path (mode 0755). */
int mkdir_p(const char *path);
/* Removes a directory tree; errors are ignored (best-effort cleanup). */
void rm_rf(const char *path);
/* Copies a regular file, following symlinks, with the given mode. */
int copy_file(const char *from, const char *to, int mode);
/* Copies what in holds until EOF into out; 0, or -1 with errno. */
int copy_fd(int in, int out);

/* The length of the valid UTF-8 sequence at s (at most n bytes; SIZE_MAX
 * in a NUL-terminated string) and its code point; 0 when invalid. */
size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

#endif
