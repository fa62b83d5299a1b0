/* Output of a student program, captured with a hard cap: the first half of
 * the cap is kept from the head of the stream and the second half from its
 * tail, so that both how it started and how it ended can be shown.  The
 * struct owns its buffers; capture_release() frees them. */
#ifndef GRADER_CAPTURE_H
#define GRADER_CAPTURE_H

#include <stddef.h>

struct capture {
	size_t limit;  /* bytes kept at most: head + tail */
	char *head;    /* the first limit/2 bytes */
	size_t head_len;
	char *tail;    /* ring of the last limit - limit/2 bytes */
	size_t tail_len, tail_pos;
	size_t total;  /* every byte seen */
};

void capture_init(struct capture *c, size_t limit);
void capture_add(struct capture *c, const char *data, size_t len);
int capture_truncated(const struct capture *c);
/* The kept bytes, head then tail, NUL-terminated (the caller frees).  With
 * a marker, the omitted middle is shown as "[... N bytes omitted ...]". */
char *capture_bytes(const struct capture *c, int marker, size_t *len);
void capture_release(struct capture *c);

#endif
