#include "capture.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

void
capture_init(struct capture *c, size_t limit)
{
	memset(c, 0, sizeof *c);
	c->limit = limit < 2 ? 2 : limit;
	c->head = xmalloc(c->limit / 2);
	c->tail = xmalloc(c->limit - c->limit / 2);
}

void
capture_add(struct capture *c, const char *data, size_t len)
{
	size_t head_cap = c->limit / 2, tail_cap = c->limit - head_cap;
	c->total += len;
	if (c->head_len < head_cap) {
		size_t n = len < head_cap - c->head_len ? len : head_cap - c->head_len;
		memcpy(c->head + c->head_len, data, n);
		c->head_len += n;
		data += n;
		len -= n;
	}
	if (len > tail_cap) { /* only the last tail_cap bytes can survive */
		data += len - tail_cap;
		len = tail_cap;
	}
	for (size_t i = 0; i < len; i++) {
		c->tail[c->tail_pos] = data[i];
		c->tail_pos = (c->tail_pos + 1) % tail_cap;
	}
	c->tail_len = c->tail_len + len > tail_cap ? tail_cap : c->tail_len + len;
}

int
capture_truncated(const struct capture *c)
{
	return c->total > c->head_len + c->tail_len;
}

char *
capture_bytes(const struct capture *c, int marker, size_t *lenp)
{
	size_t tail_cap = c->limit - c->limit / 2;
	struct strbuf sb = STRBUF_INIT;
	sb_add(&sb, c->head, c->head_len);
	if (marker && capture_truncated(c))
	{
		size_t gone = c->total - c->head_len - c->tail_len;
		sb_addf(&sb, "\n[... %zu byte%s omitted ...]\n", gone, gone == 1 ? "" : "s");
	}
	size_t start = c->tail_len < tail_cap ? 0 : c->tail_pos;
	for (size_t i = 0; i < c->tail_len; i++)
		sb_add(&sb, &c->tail[(start + i) % tail_cap], 1);
	if (lenp)
		*lenp = sb.len;
	return sb_detach(&sb);
}

void
capture_release(struct capture *c)
{
	free(c->head);
	free(c->tail);
	memset(c, 0, sizeof *c);
}
