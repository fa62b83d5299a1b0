/* The table of check units and what every use of one shares: "check:
 * NAME" and the cross-checked process names. */
#include "checkunit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct check_unit check_sequence, check_cleanup, check_fds, check_cpu_while_blocked, check_reaping,
	check_datagrams, check_sockets, check_processes, check_concurrency;

static const struct check_unit *const units[] = {
	&check_sequence, &check_cleanup, &check_fds, &check_cpu_while_blocked, &check_reaping, &check_datagrams, &check_sockets,
	&check_processes, &check_concurrency,
};

int
check_key_index(struct parser *p, const struct ynode *map, size_t i, const char *const *allowed, const char *unit)
{
	const struct ynode *k = map->kids[i];
	if (k->type == Y_SCALAR && (!strcmp(k->text, "check") || !strcmp(k->text, "hint")))
		return -2;
	char where[80];
	snprintf(where, sizeof where, "check \"%s\"", unit);
	return key_index(p, map, i, allowed, where);
}

int
check_parse(struct parser *p, const struct ynode *map, unsigned where, struct check_use *use)
{
	memset(use, 0, sizeof *use);
	use->line = map->line;
	use->col = map->col;
	const struct ynode *name = NULL;
	for (size_t i = 0; i + 1 < map->n; i += 2) {
		if (map->kids[i]->type != Y_SCALAR)
			continue;
		if (!strcmp(map->kids[i]->text, "check"))
			name = map->kids[i + 1];
		else if (!strcmp(map->kids[i]->text, "hint") && !use->hint)
			use->hint = get_str(p, map->kids[i + 1], "hint");
	}
	if (!name || want(p, name, Y_SCALAR, "check") < 0)
		return -1;
	for (size_t u = 0; u < sizeof units / sizeof *units; u++) {
		if (strcmp(units[u]->name, name->text))
			continue;
		if (!(units[u]->where & where)) {
			perr(p, name->line, name->col, "check \"%s\" %s", name->text,
			     where == CHECK_AT_STEP ? "runs after the test: put it in the test's checks list"
						    : "runs at a moment of the test: make it a step");
			return -1;
		}
		int before = p->nerrors;
		use->unit = units[u];
		use->where = where;
		use->args = units[u]->parse(p, map, use);
		return p->nerrors > before ? -1 : 0;
	}
	struct strbuf sb = STRBUF_INIT;
	for (size_t u = 0; u < sizeof units / sizeof *units; u++)
		sb_addf(&sb, "%s%s", u ? ", " : "", units[u]->name);
	perr(p, name->line, name->col, "unknown check \"%s\" (expected one of: %s)", name->text, sb.buf);
	sb_release(&sb);
	return -1;
}

const char *
check_parse_id(struct parser *p, const struct ynode *n, struct check_use *use)
{
	char *id = get_str(p, n, "a process name");
	if (!id)
		return NULL;
	if (!*id) {
		perr(p, n->line, n->col, "a process name must not be empty");
		free(id);
		return NULL;
	}
	use->ids = xrealloc(use->ids, (use->nids + 1) * sizeof *use->ids);
	use->ids[use->nids++] = id;
	return id;
}

void
check_use_release(struct check_use *use)
{
	if (use->unit && use->unit->release)
		use->unit->release(use->args);
	else
		free(use->args);
	free_strlist(use->ids, use->nids);
	free(use->hint);
	memset(use, 0, sizeof *use);
}
