/* check: sequence -- a stream of numbered records (lines matching a regex,
 * or fixed binary records) arrived complete, once each, in order.  The
 * stream is followed as it arrives (check_observe), so a stream far
 * longer than what the report keeps is checked whole. */
#define _GNU_SOURCE
#include "check.h"

#include <limits.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COUNT 100000000L
#define MAX_LINE 4096 /* a longer line is not a record */

struct seq_args {
	const char *of; /* the use's */
	int err;
	char *lines; /* a regex, or NULL for binary records */
	int record, offset, size;
	long first, count;
};

struct seq_state {
	const struct seq_args *a;
	regex_t rx;
	int compiled;
	struct strbuf partial; /* a line, or a record, not complete yet */
	unsigned char *seen;   /* one bit per expected number */
	long records, missing, dups, inversions, unexpected;
	long long prev;     /* last number (-1: none yet) */
	long long max_seen; /* highest number seen so far */
	char first_problem[200];
};

static void *
seq_parse(struct parser *p, const struct ynode *map, struct check_use *use)
{
	static const char *const keys[] = { "of", "stream", "lines", "binary", "first", "count", NULL };
	struct seq_args *a = xcalloc(1, sizeof *a);
	a->first = 1;
	const struct ynode *binary = NULL;
	int has_count = 0, first = 1, count = 0;
	for (size_t i = 0; i < map->n; i += 2) {
		const struct ynode *v = map->kids[i + 1];
		switch (check_key_index(p, map, i, keys, "sequence")) {
		case 0:
			a->of = check_parse_id(p, v, use);
			break;
		case 1:
			if (want(p, v, Y_SCALAR, "stream") == 0 && strcmp(v->text, "stdout") && strcmp(v->text, "stderr"))
				perr(p, v->line, v->col, "stream must be stdout or stderr, not \"%s\"", v->text);
			else if (v->type == Y_SCALAR)
				a->err = !strcmp(v->text, "stderr");
			break;
		case 2:
			if ((a->lines = get_str(p, v, "lines")) && check_regex(p, v, a->lines) == 0) {
				regex_t rx;
				if (regcomp(&rx, a->lines, REG_EXTENDED) == 0) {
					if (rx.re_nsub < 1)
						perr(p, v->line, v->col,
						     "lines needs a group around the number, such as '^item ([0-9]+)$'");
					regfree(&rx);
				}
			}
			break;
		case 3:
			binary = v;
			break;
		case 4:
			get_int(p, v, "first", 0, INT_MAX, &first);
			break;
		case 5:
			has_count = get_int(p, v, "count", 1, MAX_COUNT, &count) == 0;
			break;
		}
	}
	a->first = first;
	a->count = count;
	if (binary && want(p, binary, Y_MAP, "binary") == 0) {
		static const char *const bkeys[] = { "record", "offset", "size", NULL };
		int *f[] = { &a->record, &a->offset, &a->size };
		a->size = 8;
		for (size_t i = 0; i < binary->n; i += 2) {
			int k = key_index(p, binary, i, bkeys, "binary");
			if (k >= 0)
				get_int(p, binary->kids[i + 1], bkeys[k], k == 1 ? 0 : 1, 65536, f[k]);
		}
		if (a->size != 1 && a->size != 2 && a->size != 4 && a->size != 8)
			perr(p, binary->line, binary->col, "binary size must be 1, 2, 4 or 8, not %d", a->size);
		if (!a->record)
			perr(p, binary->line, binary->col, "binary needs record: the size of one record in bytes");
		else if (a->offset + a->size > a->record)
			perr(p, binary->line, binary->col, "the number (offset %d, size %d) does not fit a record of %d bytes",
			     a->offset, a->size, a->record);
	}
	if (!a->of)
		perr(p, map->line, map->col, "check \"sequence\" needs of: the process whose output is the stream");
	if (!has_count)
		perr(p, map->line, map->col, "check \"sequence\" needs count: how many records are expected");
	if (!a->lines == !binary)
		perr(p, map->line, map->col, "check \"sequence\" needs one of lines (a regex) or binary (a record layout)");
	return a;
}

static void
seq_release(void *args)
{
	struct seq_args *a = args;
	if (a)
		free(a->lines);
	free(a);
}

static void
note_first(struct seq_state *s, const char *fmt, long long a, long long b)
{
	if (!s->first_problem[0])
		snprintf(s->first_problem, sizeof s->first_problem, fmt, a, b);
}

static void
record(struct seq_state *s, long long n)
{
	const struct seq_args *a = s->a;
	s->records++;
	if (n < a->first || n >= a->first + a->count) {
		s->unexpected++;
		if (!s->first_problem[0])
			snprintf(s->first_problem, sizeof s->first_problem, "a record numbered %lld, outside %ld..%ld", n,
				 a->first, a->first + a->count - 1);
		return;
	}
	long long k = n - a->first;
	if (s->seen[k / 8] & (1u << (k % 8))) {
		s->dups++;
		note_first(s, "%lld arrived twice (the second time after %lld)", n, s->prev);
	} else {
		s->seen[k / 8] |= (unsigned char)(1u << (k % 8));
		if (n < s->max_seen) {
			s->inversions++;
			note_first(s, "%lld arrived out of order (after %lld)", n, s->max_seen);
		} else if (n > s->max_seen + 1 && s->max_seen + 1 >= a->first) {
			note_first(s, "%lld came after %lld: what lies between is missing or late", n, s->max_seen);
		} else if (s->max_seen < a->first && n > a->first) {
			note_first(s, "the first record is %lld, not %lld", n, (long long)a->first);
		}
	}
	if (n > s->max_seen)
		s->max_seen = n;
	s->prev = n;
}

static void
take_line(struct seq_state *s, const char *line)
{
	regmatch_t m[2];
	if (regexec(&s->rx, line, 2, m, 0) != 0 || m[1].rm_so < 0)
		return;
	long long n = 0;
	int digits = 0;
	for (regoff_t i = m[1].rm_so; i < m[1].rm_eo; i++) {
		if (line[i] < '0' || line[i] > '9' || digits > 15) {
			s->records++;
			s->unexpected++;
			if (!s->first_problem[0])
				snprintf(s->first_problem, sizeof s->first_problem, "a record whose number is not a number: \"%.60s\"",
					 line);
			return;
		}
		n = n * 10 + (line[i] - '0');
		digits++;
	}
	if (digits)
		record(s, n);
}

static void
seq_feed(void *state, const char *buf, size_t len)
{
	struct seq_state *s = state;
	const struct seq_args *a = s->a;
	for (size_t i = 0; i < len; i++) {
		if (a->lines) {
			if (buf[i] == '\n') {
				sb_add(&s->partial, "", 1);
				s->partial.len--;
				if (s->partial.len <= MAX_LINE)
					take_line(s, s->partial.buf);
				s->partial.len = 0;
			} else if (s->partial.len <= MAX_LINE) {
				sb_add(&s->partial, &buf[i], 1);
			}
			continue;
		}
		sb_add(&s->partial, &buf[i], 1);
		if (s->partial.len < (size_t)a->record)
			continue;
		uint64_t n = 0;
		const unsigned char *r = (const unsigned char *)s->partial.buf + a->offset;
		for (int b = a->size; b-- > 0;)
			n = n << 8 | r[b];
		record(s, n > (uint64_t)LLONG_MAX ? LLONG_MAX : (long long)n);
		s->partial.len = 0;
	}
}

static void
seq_begin(const struct check_use *use, struct check_run *r)
{
	const struct seq_args *a = use->args;
	struct seq_state *s = xcalloc(1, sizeof *s);
	s->a = a;
	s->seen = xcalloc((size_t)a->count / 8 + 1, 1);
	s->prev = s->max_seen = a->first - 1;
	if (a->lines)
		s->compiled = regcomp(&s->rx, a->lines, REG_EXTENDED) == 0;
	*check_state(r, use) = s;
	check_observe(r, a->of, a->err, seq_feed, s);
}

static void
seq_run(const struct check_use *use, struct check_run *r)
{
	const struct seq_args *a = use->args;
	struct seq_state *s = *check_state(r, use);
	if (!s)
		return;
	const char *stream = a->err ? "stderr" : "stdout";
	struct proc *p = check_find(r, a->of);
	if (!p) {
		char *msg = xstrfmt("%s was never started: its %s has no records to check", a->of, stream);
		check_add(r, ST_FAIL, msg, NULL);
		free(msg);
	} else {
		if (s->partial.len && !a->lines) {
			s->unexpected++;
			if (!s->first_problem[0])
				snprintf(s->first_problem, sizeof s->first_problem, "the stream ends inside a record (%zu of %d bytes)",
					 s->partial.len, a->record);
		} else if (s->partial.len && s->compiled) { /* a last line without its newline */
			sb_add(&s->partial, "", 1);
			take_line(s, s->partial.buf);
		}
		long received = 0;
		for (long k = 0; k < a->count; k++)
			received += (s->seen[k / 8] >> (k % 8)) & 1;
		s->missing = a->count - received;
		if (s->missing || s->dups || s->inversions || s->unexpected) {
			if (!s->first_problem[0]) {
				long k = 0;
				while (k < a->count && (s->seen[k / 8] >> (k % 8)) & 1)
					k++;
				if (!received)
					snprintf(s->first_problem, sizeof s->first_problem, "no record arrived at all");
				else
					snprintf(s->first_problem, sizeof s->first_problem,
						 "the stream stops after %ld records: %ld and later are missing", received,
						 a->first + k);
			}
			char *msg = xstrfmt("%s's %s: %s; %ld of %ld records missing, %ld duplicated, %ld out of order, %ld unexpected",
					    check_who(p), stream, s->first_problem, s->missing, a->count, s->dups,
					    s->inversions, s->unexpected);
			struct strbuf d = STRBUF_INIT;
			if (a->lines)
				sb_addf(&d, "  records are the lines matching /%s/, numbered %ld to %ld\n", a->lines, a->first,
					a->first + a->count - 1);
			else
				sb_addf(&d, "  records are %d bytes each, numbered %ld to %ld\n", a->record, a->first,
					a->first + a->count - 1);
			if (s->dups || s->inversions)
				sb_adds(&d, "  hint: items that arrive twice or out of order usually mean two readers or writers share a position without synchronisation, or a slot is reused before it was read\n");
			else if (s->missing)
				sb_adds(&d, "  hint: missing items usually mean a short read taken for the end, items that ran together in a byte stream, or a slot overwritten before it was read\n");
			check_add(r, ST_FAIL, msg, d.buf);
			sb_release(&d);
			free(msg);
		}
	}
}

static void
seq_drop(void *state)
{
	struct seq_state *s = state;
	if (s->compiled)
		regfree(&s->rx);
	sb_release(&s->partial);
	free(s->seen);
	free(s);
}

const struct check_unit check_sequence = {
	.name = "sequence",
	.where = CHECK_AT_END,
	.parse = seq_parse,
	.begin = seq_begin,
	.run = seq_run,
	.release = seq_release,
	.drop = seq_drop,
};
