/* check: datagrams -- a receiver's report of loss, duplication and
 * reordering is checked exactly against what the test's link delivered.
 *
 * The senders' datagrams are "NAME i/COUNT" (i = 1..COUNT), optionally
 * padded with '.'; after the test the receiver (of:) has printed, for each
 * sender, one line
 *
 *   NAME: received R datagrams (B bytes), lost L, duplicated D, reordered O
 *
 * The unit replays the link's log (link.h): the UDP datagrams it wrote to
 * the receiver's host for port (port:), in the order it wrote them, and
 * computes what the receiver must say: R every arrival and B their bytes;
 * L is COUNT minus the numbers that arrived at least once; D the arrivals
 * of a number seen before; O the first arrivals of a number lower than
 * the highest seen before from that sender.  If the receiver host's kernel
 * dropped datagrams itself (a full socket buffer), nobody can tell what
 * the receiver should say: the test is an error, not a failure. */
#define _GNU_SOURCE
#include "checkunit.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "link.h"

#define MAX_SENDERS 64
#define MAX_COUNT 1000000
#define REPORT_MAX (256 * 1024) /* bytes of the receiver's stdout kept */
#define SHOWN 40                /* sequence numbers listed per sender */

struct datagrams_args {
	const char *of;
	int port;
};

struct tally {
	char name[33];
	long count, received, bytes, lost, duplicated, reordered, distinct, highest;
	unsigned char *seen;
	struct strbuf order; /* the numbers in the order they arrived (the first SHOWN) */
	size_t norder;
	int reported; /* the receiver's line for it */
	long r_received, r_bytes, r_lost, r_duplicated, r_reordered;
};

static void *
datagrams_parse(struct parser *p, const struct ynode *map, struct check_use *use)
{
	static const char *const keys[] = { "of", "port", NULL };
	struct datagrams_args *a = xcalloc(1, sizeof *a);
	for (size_t i = 0; i < map->n; i += 2) {
		int k = check_key_index(p, map, i, keys, "datagrams");
		if (k == 0)
			a->of = check_parse_id(p, map->kids[i + 1], use);
		else if (k == 1)
			get_int(p, map->kids[i + 1], "port", 1, 65535, &a->port);
	}
	if (!a->of || !a->port)
		perr(p, map->line, map->col, "check \"datagrams\" needs of: (the receiver) and port: (where it receives)");
	return a;
}

static void
keep_output(void *state, const char *buf, size_t len)
{
	struct strbuf *sb = state;
	if (sb->len + len <= REPORT_MAX)
		sb_add(sb, buf, len);
}

static void
datagrams_begin(const struct check_use *use, struct check_run *r)
{
	const struct datagrams_args *a = use->args;
	void **state = check_state(r, use);
	struct strbuf *sb = xcalloc(1, sizeof *sb);
	*sb = (struct strbuf)STRBUF_INIT;
	*state = sb;
	check_observe(r, a->of, 0, keep_output, sb);
}

static void
drop_output(void *state)
{
	sb_release(state);
	free(state);
}

static struct tally *
find_tally(struct tally *t, size_t *n, const char *name, long count, int create)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp(t[i].name, name))
			return &t[i];
	if (!create || *n == MAX_SENDERS)
		return NULL;
	struct tally *s = &t[(*n)++];
	memset(s, 0, sizeof *s);
	snprintf(s->name, sizeof s->name, "%s", name);
	s->count = count;
	s->seen = xcalloc((size_t)count + 1, 1);
	s->order = (struct strbuf)STRBUF_INIT;
	return s;
}

/* One datagram the link delivered to the receiver's host. */
static void
tally_datagram(struct tally *t, size_t *n, const struct link_event *e)
{
	char text[LINK_HEAD + 1], name[33];
	size_t kept = e->len < LINK_HEAD ? e->len : LINK_HEAD;
	memcpy(text, e->head, kept);
	text[kept] = '\0';
	long seq, count;
	int used = 0;
	if (sscanf(text, "%32[A-Za-z0-9_-] %ld/%ld%n", name, &seq, &count, &used) != 3 || count < 1 ||
	    count > MAX_COUNT || seq < 1 || seq > count || strspn(text + used, ".") != strlen(text + used))
		return; /* not of the protocol: the receiver ignores it */
	struct tally *s = find_tally(t, n, name, count, 1);
	if (!s || seq > s->count)
		return;
	s->received++;
	s->bytes += e->len;
	if (s->norder++ < SHOWN)
		sb_addf(&s->order, " %ld", seq);
	if (s->seen[seq]) {
		s->duplicated++;
		return;
	}
	s->seen[seq] = 1;
	s->distinct++;
	if (seq < s->highest)
		s->reordered++;
	else
		s->highest = seq;
}

/* The receiver's report lines; a line for an unknown sender is counted in
 * *strangers (its name in the first one). */
static void
read_report(const char *out, struct tally *t, size_t *n, size_t *strangers, char *stranger, size_t len)
{
	for (const char *line = out; line && *line;) {
		const char *end = strchr(line, '\n');
		size_t l = end ? (size_t)(end - line) : strlen(line);
		char *copy = xstrfmt("%.*s", (int)l, line), name[33];
		long v[5];
		int used = 0;
		if (sscanf(copy, "%32[A-Za-z0-9_-]: received %ld datagrams (%ld bytes), lost %ld, duplicated %ld, reordered %ld%n",
			   name, &v[0], &v[1], &v[2], &v[3], &v[4], &used) == 6 && (size_t)used == strlen(copy)) {
			struct tally *s = find_tally(t, n, name, 0, 0);
			if (!s) {
				if ((*strangers)++ == 0)
					snprintf(stranger, len, "%s", name);
			} else if (!s->reported) {
				s->reported = 1;
				s->r_received = v[0], s->r_bytes = v[1], s->r_lost = v[2], s->r_duplicated = v[3],
				s->r_reordered = v[4];
			}
		}
		free(copy);
		line = end ? end + 1 : NULL;
	}
}

static void
expected_line(struct strbuf *sb, const struct tally *s)
{
	sb_addf(sb, "%s: received %ld datagrams (%ld bytes), lost %ld, duplicated %ld, reordered %ld", s->name,
		s->received, s->bytes, s->lost, s->duplicated, s->reordered);
}

/* What the link did to one sender's datagrams, in words. */
static void
explain(struct strbuf *d, const struct tally *s)
{
	sb_addf(d, "  %s's datagrams arrived in this order:%s%s\n", s->name, s->order.buf ? s->order.buf : " (none)",
		s->norder > SHOWN ? " ..." : "");
	if (s->lost) {
		sb_addf(d, "  never arrived:");
		long shown = 0;
		for (long q = 1; q <= s->count && shown < SHOWN; q++)
			if (!s->seen[q]) {
				sb_addf(d, " %ld", q);
				shown++;
			}
		sb_adds(d, s->lost > SHOWN ? " ...\n" : "\n");
	}
}

static void
compare(struct check_run *r, const struct proc *p, struct tally *t, size_t n, size_t strangers, const char *stranger)
{
	struct strbuf d = STRBUF_INIT;
	int wrong = 0, missing = 0, bytes = 0, dups = 0, order = 0;
	const char *first = NULL;
	for (size_t i = 0; i < n; i++) {
		const struct tally *s = &t[i];
		int bad = !s->reported || s->r_received != s->received || s->r_bytes != s->bytes || s->r_lost != s->lost ||
			  s->r_duplicated != s->duplicated || s->r_reordered != s->reordered;
		if (!bad)
			continue;
		if (!first)
			first = s->name;
		wrong++;
		sb_adds(&d, "  expected: ");
		expected_line(&d, s);
		if (s->reported)
			sb_addf(&d, "\n  actual:   %s: received %ld datagrams (%ld bytes), lost %ld, duplicated %ld, reordered %ld\n",
				s->name, s->r_received, s->r_bytes, s->r_lost, s->r_duplicated, s->r_reordered);
		else
			sb_addf(&d, "\n  actual:   no line for %s\n", s->name);
		explain(&d, s);
		missing |= !s->reported;
		bytes |= s->reported && s->r_bytes != s->bytes;
		dups |= s->reported && (s->r_duplicated != s->duplicated || s->r_lost != s->lost);
		order |= s->reported && s->r_reordered != s->reordered;
	}
	if (strangers)
		sb_addf(&d, "  it reported %zu sender%s whose datagrams never arrived (the first: %s)\n", strangers,
			strangers == 1 ? "" : "s", stranger);
	if (!wrong && !strangers) {
		sb_release(&d);
		return;
	}
	if (missing)
		sb_adds(&d, "  hint: the receiver prints its report when it gets SIGTERM: install the handler with sigaction() without SA_RESTART, so that recvfrom() returns -1 with errno EINTR, then print one line per sender and exit 0\n");
	if (bytes)
		sb_adds(&d, "  hint: receive into a buffer as large as the largest datagram (65507 bytes): recvfrom() returns one whole datagram, and what does not fit the buffer is cut off and lost\n");
	if (order)
		sb_adds(&d, "  hint: UDP does not keep order: a number lower than the highest seen so far, arriving for the first time, is reordered, not lost and not a duplicate\n");
	if (dups)
		sb_adds(&d, "  hint: remember which sequence numbers arrived (a flag per number and sender): a number seen before is a duplicate, not a new datagram, and lost is COUNT minus the numbers seen at least once\n");
	char *msg;
	if (!first)
		msg = xstrfmt("%s reported a sender whose datagrams never arrived", check_who(p));
	else if (wrong > 1)
		msg = xstrfmt("%s's report for %s does not match what the link delivered (nor for %d other sender%s)",
			      check_who(p), first, wrong - 1, wrong == 2 ? "" : "s");
	else
		msg = xstrfmt("%s's report for %s does not match what the link delivered", check_who(p), first);
	check_add(r, ST_FAIL, msg, d.buf);
	free(msg);
	sb_release(&d);
}

static void
datagrams_run(const struct check_use *use, struct check_run *r)
{
	const struct datagrams_args *a = use->args;
	const struct link *l = check_link(r);
	struct proc *p = check_find(r, a->of);
	struct strbuf *out = *check_state(r, use);
	if (!l || !p || check_host(p) < 0) { /* the spec rules it out; the link failed and said why */
		check_add(r, ST_ERROR, "internal error: check \"datagrams\" has no link to read", NULL);
		return;
	}
	long drops = link_kernel_drops(l, (size_t)check_host(p));
	if (drops != 0) {
		char *msg = drops < 0 ? xstrfmt("internal error: cannot read the UDP counters of host \"%s\"", link_host_name(l, (size_t)check_host(p)))
				      : xstrfmt("internal error: the kernel of host \"%s\" or of the link dropped %ld datagram%s itself (a receive buffer or the link's queue was full: the receiver did not read fast enough, or the machine was too busy), so what the receiver should report cannot be told; this is not the program's fault",
						link_host_name(l, (size_t)check_host(p)), drops, drops == 1 ? "" : "s");
		check_add(r, ST_ERROR, msg, NULL);
		free(msg);
		return;
	}
	const struct link_event *v;
	size_t nev = link_events(l, &v), n = 0, strangers = 0;
	struct tally *t = xcalloc(MAX_SENDERS, sizeof *t);
	for (size_t i = 0; i < nev; i++)
		if (v[i].fate == LINK_DELIVERED && v[i].proto == IPPROTO_UDP && v[i].dport == a->port &&
		    (int)v[i].to == check_host(p))
			tally_datagram(t, &n, &v[i]);
	for (size_t i = 0; i < n; i++)
		t[i].lost = t[i].count - t[i].distinct;
	char stranger[33] = "";
	read_report(out && out->buf ? out->buf : "", t, &n, &strangers, stranger, sizeof stranger);
	if (link_lost_events(l))
		check_add(r, ST_ERROR, "internal error: the link's log is full, so what the receiver should report cannot be told", NULL);
	else
		compare(r, p, t, n, strangers, stranger);
	for (size_t i = 0; i < n; i++) {
		free(t[i].seen);
		sb_release(&t[i].order);
	}
	free(t);
}

static void
datagrams_release(void *args)
{
	free(args);
}

const struct check_unit check_datagrams = {
	.name = "datagrams",
	.where = CHECK_AT_END,
	.parse = datagrams_parse,
	.begin = datagrams_begin,
	.run = datagrams_run,
	.release = datagrams_release,
	.drop = drop_output,
	.needs_hosts = 1,
};
