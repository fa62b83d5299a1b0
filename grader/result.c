#include "result.h"

#include <stdlib.h>
#include <string.h>

static const char *const names[] = { "pass", "fail", "crash", "timeout", "error", "build_failed" };

void
verdict_init(struct verdict *v)
{
	memset(v, 0, sizeof *v);
	v->status = ST_PASS;
}

void
verdict_add(struct verdict *v, enum status st, const char *message, const char *details)
{
	if (!v->message || st > v->status) {
		free(v->message);
		v->message = xstrdup(message);
	}
	if (st > v->status)
		v->status = st;
	if (v->details.len)
		sb_adds(&v->details, "\n");
	sb_addf(&v->details, "[%s] %s\n", names[st], message);
	if (details && *details) {
		sb_adds(&v->details, details);
		if (details[strlen(details) - 1] != '\n')
			sb_adds(&v->details, "\n");
	}
}

void
verdict_release(struct verdict *v)
{
	free(v->message);
	sb_release(&v->details);
	memset(v, 0, sizeof *v);
}

const char *
status_name(enum status st)
{
	return (unsigned)st <= ST_BUILD_FAILED ? names[st] : "error";
}

int
status_from_name(const char *name)
{
	for (int i = 0; i <= ST_BUILD_FAILED; i++)
		if (!strcmp(names[i], name))
			return i;
	return -1;
}

void
graded_test_release(struct graded_test *r)
{
	free(r->name);
	free(r->description);
	free(r->message);
	free(r->details);
	free(r->reproduce);
	memset(r, 0, sizeof *r);
}
