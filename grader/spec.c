/* Lab spec parsing.
 *
 * libyaml's event API builds a small tree of nodes that remember their
 * 1-based line and column; the validator then walks the tree with a table of
 * allowed keys per mapping, so that every problem is reported at its place
 * and all problems are reported in one go, not only the first. */
#define _GNU_SOURCE
#include "spec.h"
#include "checkunit.h"
#include "spawn.h"
#include "specparse.h"

#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#define MAX_DEPTH 64 /* libyaml 0.2.5 has no nesting limit of its own */


static void
ynode_free(struct ynode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++)
		ynode_free(n->kids[i]);
	free(n->kids);
	free(n->text);
	free(n);
}

static void
ynode_add(struct ynode *parent, struct ynode *kid)
{
	parent->kids = xrealloc(parent->kids, (parent->n + 1) * sizeof *parent->kids);
	parent->kids[parent->n++] = kid;
}

void
perr(struct parser *p, int line, int col, const char *fmt, ...)
{
	va_list ap;
	sb_addf(p->errors, "%s:%d:%d: ", p->file, line, col);
	va_start(ap, fmt);
	sb_vaddf(p->errors, fmt, ap);
	va_end(ap);
	sb_adds(p->errors, "\n");
	p->nerrors++;
}

/* Reads the whole YAML stream into a tree; NULL after reporting a problem. */
static struct ynode *
yaml_to_tree(struct parser *p, FILE *f)
{
	yaml_parser_t yp;
	yaml_event_t ev;
	struct ynode *stack[MAX_DEPTH + 1];
	int depth = 0;
	struct ynode *root = NULL;
	int done = 0, failed = 0;

	if (!yaml_parser_initialize(&yp)) {
		perr(p, 1, 1, "cannot initialise the YAML parser");
		return NULL;
	}
	yaml_parser_set_input_file(&yp, f);
	while (!done && !failed) {
		if (!yaml_parser_parse(&yp, &ev)) {
			perr(p, (int)yp.problem_mark.line + 1, (int)yp.problem_mark.column + 1,
			     "invalid YAML: %s", yp.problem ? yp.problem : "syntax error");
			failed = 1;
			break;
		}
		int line = (int)ev.start_mark.line + 1, col = (int)ev.start_mark.column + 1;
		struct ynode *n = NULL;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (root) {
				perr(p, line, col, "a lab spec is one YAML document, found a second one");
				failed = 1;
			}
			break;
		case YAML_ALIAS_EVENT:
			perr(p, line, col, "YAML aliases are not supported in a lab spec");
			failed = 1;
			break;
		case YAML_SCALAR_EVENT:
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			n = xcalloc(1, sizeof *n);
			n->line = line;
			n->col = col;
			if (ev.type == YAML_SCALAR_EVENT) {
				n->type = Y_SCALAR;
				n->text = xmalloc(ev.data.scalar.length + 1);
				memcpy(n->text, ev.data.scalar.value, ev.data.scalar.length);
				n->text[ev.data.scalar.length] = '\0';
			} else {
				n->type = ev.type == YAML_SEQUENCE_START_EVENT ? Y_SEQ : Y_MAP;
			}
			if (depth > 0)
				ynode_add(stack[depth - 1], n);
			else
				root = n;
			if (n->type != Y_SCALAR) {
				if (depth >= MAX_DEPTH) {
					perr(p, line, col, "nesting deeper than %d levels", MAX_DEPTH);
					failed = 1;
					break;
				}
				stack[depth++] = n;
			}
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&yp);
	if (failed) {
		ynode_free(root);
		return NULL;
	}
	if (!root)
		perr(p, 1, 1, "the lab spec is empty");
	return root;
}

/* ---- typed access ---------------------------------------------------- */

static const char *
type_name(const struct ynode *n)
{
	return n->type == Y_SCALAR ? "a scalar" : n->type == Y_SEQ ? "a list" : "a mapping";
}

int
want(struct parser *p, const struct ynode *n, enum ytype t, const char *what)
{
	if (n->type == t)
		return 0;
	perr(p, n->line, n->col, "%s must be %s, not %s", what,
	     t == Y_SCALAR ? "a scalar" : t == Y_SEQ ? "a list" : "a mapping", type_name(n));
	return -1;
}

char *
get_str(struct parser *p, const struct ynode *n, const char *what)
{
	if (want(p, n, Y_SCALAR, what) < 0)
		return NULL;
	return xstrdup(n->text);
}

int
get_int(struct parser *p, const struct ynode *n, const char *what, long min, long max, int *out)
{
	if (want(p, n, Y_SCALAR, what) < 0)
		return -1;
	char *end;
	errno = 0;
	long v = strtol(n->text, &end, 10);
	if (errno || end == n->text || *end || v < min || v > max) {
		perr(p, n->line, n->col, "%s must be a whole number from %ld to %ld, not \"%s\"", what, min, max,
		     n->text);
		return -1;
	}
	*out = (int)v;
	return 0;
}

int
get_bool(struct parser *p, const struct ynode *n, const char *what, int *out)
{
	if (want(p, n, Y_SCALAR, what) < 0)
		return -1;
	if (!strcmp(n->text, "true") || !strcmp(n->text, "yes")) {
		*out = 1;
		return 0;
	}
	if (!strcmp(n->text, "false") || !strcmp(n->text, "no")) {
		*out = 0;
		return 0;
	}
	perr(p, n->line, n->col, "%s must be true or false, not \"%s\"", what, n->text);
	return -1;
}

/* A list of scalars (a lone scalar is taken as a list of one). */
int
get_strlist(struct parser *p, const struct ynode *n, const char *what, char ***out, size_t *count)
{
	if (n->type == Y_SCALAR) {
		*out = xcalloc(1, sizeof **out);
		(*out)[0] = xstrdup(n->text);
		*count = 1;
		return 0;
	}
	if (want(p, n, Y_SEQ, what) < 0)
		return -1;
	*out = xcalloc(n->n, sizeof **out);
	*count = 0;
	for (size_t i = 0; i < n->n; i++) {
		char *s = get_str(p, n->kids[i], what);
		if (s)
			(*out)[(*count)++] = s;
	}
	return 0;
}

void
free_strlist(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Iterates over a mapping's keys, reporting duplicates and keys that are not
 * in the allowed list.  Returns the index of the key in allowed, or -1. */
int
key_index(struct parser *p, const struct ynode *map, size_t i, const char *const *allowed, const char *where)
{
	const struct ynode *k = map->kids[i];
	if (k->type != Y_SCALAR) {
		perr(p, k->line, k->col, "keys in %s must be plain words", where);
		return -1;
	}
	for (size_t j = 0; j < i; j += 2) {
		const struct ynode *o = map->kids[j];
		if (o->type == Y_SCALAR && !strcmp(o->text, k->text)) {
			perr(p, k->line, k->col, "duplicate key \"%s\" in %s (first at line %d)", k->text, where,
			     o->line);
			return -1;
		}
	}
	for (int a = 0; allowed[a]; a++)
		if (!strcmp(allowed[a], k->text))
			return a;
	struct strbuf sb = STRBUF_INIT;
	for (int a = 0; allowed[a]; a++)
		sb_addf(&sb, "%s%s", a ? ", " : "", allowed[a]);
	perr(p, k->line, k->col, "unknown key \"%s\" in %s (expected one of: %s)", k->text, where, sb.buf);
	sb_release(&sb);
	return -1;
}

static int
parse_memcheck(struct parser *p, const struct ynode *n, int *out)
{
	if (want(p, n, Y_SCALAR, "memcheck") < 0)
		return -1;
	static const char *const names[] = { "none", "valgrind", "asan" };
	for (int i = 0; i < 3; i++)
		if (!strcmp(n->text, names[i])) {
			*out = i;
			return 0;
		}
	perr(p, n->line, n->col, "memcheck must be none, valgrind or asan, not \"%s\"", n->text);
	return -1;
}

int
check_regex(struct parser *p, const struct ynode *n, const char *re)
{
	regex_t rx;
	int rc = regcomp(&rx, re, REG_EXTENDED | REG_NEWLINE | REG_NOSUB);
	if (rc) {
		char msg[128];
		regerror(rc, &rx, msg, sizeof msg);
		perr(p, n->line, n->col, "invalid regex \"%s\": %s", re, msg);
		return -1;
	}
	regfree(&rx);
	return 0;
}

/* ---- sections -------------------------------------------------------- */

static void
parse_limits(struct parser *p, const struct ynode *n, struct limits *l)
{
	static const char *const keys[] = { "wall_ms", "step_ms", "cpu_ms", "processes", "memory_mb",
					     "output_kb", "file_size_kb", "open_files", "test_memory_mb", NULL };
	if (want(p, n, Y_MAP, "limits") < 0)
		return;
	int *fields[] = { &l->wall_ms, &l->step_ms, &l->cpu_ms, &l->processes, &l->memory_mb,
			  &l->output_kb, &l->file_size_kb, &l->open_files, &l->test_memory_mb };
	static const long maxes[] = { 600000, 600000, 600000, 4096, 65536, 65536, 1048576, 65536, 65536 };
	for (size_t i = 0; i < n->n; i += 2) {
		int k = key_index(p, n, i, keys, "limits");
		if (k >= 0)
			get_int(p, n->kids[i + 1], keys[k], 1, maxes[k], fields[k]);
	}
}

static void
parse_matcher(struct parser *p, const struct ynode *n, struct matcher *m, const char *stream)
{
	static const char *const keys[] = { "exact", "contains", "regex", "lines", "not_contains", NULL };
	if (n->type == Y_SCALAR) {
		perr(p, n->line, n->col, "%s must be a mapping such as {contains: \"text\"}", stream);
		return;
	}
	if (want(p, n, Y_MAP, stream) < 0)
		return;
	m->present = 1;
	for (size_t i = 0; i < n->n; i += 2) {
		const struct ynode *v = n->kids[i + 1];
		switch (key_index(p, n, i, keys, stream)) {
		case 0:
			m->exact = get_str(p, v, "exact");
			break;
		case 1:
			m->contains = get_str(p, v, "contains");
			break;
		case 2:
			m->regex = get_str(p, v, "regex");
			if (m->regex)
				check_regex(p, v, m->regex);
			break;
		case 3:
			if (get_strlist(p, v, "lines", &m->lines, &m->nlines) == 0)
				m->has_lines = 1;
			break;
		case 4:
			m->not_contains = get_str(p, v, "not_contains");
			break;
		}
	}
}

static int
parse_signal(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (end != s && !*end)
		return v > 0 && v < NSIG ? (int)v : -1;
	if (!strncmp(s, "SIG", 3))
		s += 3;
	for (int sig = 1; sig < NSIG; sig++) {
		const char *abbrev = sigabbrev_np(sig);
		if (abbrev && !strcmp(abbrev, s))
			return sig;
	}
	return -1;
}

static void
parse_expect(struct parser *p, const struct ynode *n, struct expect *e)
{
	static const char *const keys[] = { "exit", "signal", "stdout", "stderr", NULL };
	if (want(p, n, Y_MAP, "expect") < 0)
		return;
	for (size_t i = 0; i < n->n; i += 2) {
		const struct ynode *v = n->kids[i + 1];
		switch (key_index(p, n, i, keys, "expect")) {
		case 0:
			if (get_int(p, v, "exit", 0, 255, &e->exit_code) == 0)
				e->has_exit = 1;
			break;
		case 1:
			if (want(p, v, Y_SCALAR, "signal") < 0)
				break;
			e->signal = parse_signal(v->text);
			if (e->signal < 0)
				perr(p, v->line, v->col, "unknown signal \"%s\"", v->text);
			else
				e->has_signal = 1;
			break;
		case 2:
			parse_matcher(p, v, &e->out, "stdout");
			break;
		case 3:
			parse_matcher(p, v, &e->err, "stderr");
			break;
		}
	}
	if (e->has_exit && e->has_signal)
		perr(p, n->line, n->col, "expect has both exit and signal; a process can only do one");
}

static void
parse_ready(struct parser *p, const struct ynode *n, struct ready *r)
{
	static const char *const keys[] = { "tcp", "udp", "unix", "path", "mqueue", "stdout", NULL };
	static const enum ready_kind kinds[] = { READY_TCP, READY_UDP, READY_UNIX, READY_PATH, READY_MQUEUE,
						 READY_STDOUT };
	if (want(p, n, Y_MAP, "ready") < 0)
		return;
	if (n->n != 2) {
		perr(p, n->line, n->col, "ready takes exactly one condition, such as {tcp: 2021}");
		return;
	}
	const struct ynode *v = n->kids[1];
	int k = key_index(p, n, 0, keys, "ready");
	if (k < 0)
		return;
	if (kinds[k] == READY_TCP || kinds[k] == READY_UDP) {
		if (get_int(p, v, keys[k], 1, 65535, &r->port) == 0)
			r->kind = kinds[k];
		return;
	}
	if (!(r->text = get_str(p, v, keys[k])))
		return;
	r->kind = kinds[k];
	if (r->kind == READY_STDOUT)
		check_regex(p, v, r->text);
	else if (!*r->text)
		perr(p, v->line, v->col, "%s must not be empty", keys[k]);
	else if (r->kind == READY_MQUEUE && (r->text[0] != '/' || strchr(r->text + 1, '/')))
		perr(p, v->line, v->col, "a message queue name is one slash and a name, such as /myqueue, not \"%s\"",
		     r->text);
}

static void
parse_env(struct parser *p, const struct ynode *n, struct step *s)
{
	if (want(p, n, Y_MAP, "env") < 0)
		return;
	s->env = xcalloc(n->n / 2 + 1, sizeof *s->env);
	for (size_t i = 0; i < n->n; i += 2) {
		char *k = get_str(p, n->kids[i], "an env name");
		char *v = get_str(p, n->kids[i + 1], "an env value");
		if (k && v && *k && !strchr(k, '=')) {
			s->env[s->nenv].key = k;
			s->env[s->nenv++].value = v;
			continue;
		}
		if (k && (!*k || strchr(k, '=')))
			perr(p, n->kids[i]->line, n->kids[i]->col, "invalid environment variable name \"%s\"", k);
		free(k);
		free(v);
	}
}

static const char *const step_kinds[] = { "start", "run", "alive", "wait", "stop", "check", "signal", NULL };

static int
has_key(const struct ynode *map, const char *key)
{
	for (size_t i = 0; i + 1 < map->n; i += 2)
		if (map->kids[i]->type == Y_SCALAR && !strcmp(map->kids[i]->text, key))
			return 1;
	return 0;
}

static void
parse_step(struct parser *p, const struct ynode *n, struct step *s)
{
	static const char *const keys[] = { "start", "run", "alive", "wait", "stop", "as", "args",
					     "env", "stdin", "repeat", "ready", "memcheck", "expect", "on",
					     "signal", "with", NULL };
	enum { KEY_SIGNAL = 14, KEY_WITH = 15 };
	s->line = n->line;
	s->col = n->col;
	s->memcheck = MEMCHECK_INHERIT;
	s->repeat = 1;
	s->host = -1;
	s->kind = (enum step_kind)-1;
	if (want(p, n, Y_MAP, "a step") < 0)
		return;
	if (has_key(n, "check")) {
		s->kind = STEP_CHECK;
		check_parse(p, n, CHECK_AT_STEP, &s->check);
		return;
	}
	const struct ynode *only_for_procs = NULL, *ready = NULL, *repeat = NULL, *with = NULL;
	for (size_t i = 0; i < n->n; i += 2) {
		const struct ynode *v = n->kids[i + 1];
		int k = key_index(p, n, i, keys, "a step");
		if (k < 0)
			continue;
		if (k == KEY_WITH) {
			with = n->kids[i];
			if (want(p, v, Y_SCALAR, "with") == 0 && (s->signo = parse_signal(v->text)) < 0)
				perr(p, v->line, v->col, "unknown signal \"%s\"", v->text);
			continue;
		}
		int kind = k == KEY_SIGNAL ? STEP_SIGNAL : k <= STEP_STOP ? k : -1;
		if (kind >= 0) {
			if ((int)s->kind != -1) {
				perr(p, n->kids[i]->line, n->kids[i]->col, "a step does one thing: it has both \"%s\" and \"%s\"",
				     step_kinds[s->kind], step_kinds[kind]);
				continue;
			}
			s->kind = (enum step_kind)kind;
			char *name = get_str(p, v, step_kinds[kind]);
			if (!name)
				continue;
			if (kind <= STEP_RUN) {
				s->is_ref = !strncmp(name, "ref:", 4);
				s->program = xstrdup(name + (s->is_ref ? 4 : 0));
				free(name);
			} else {
				s->id = name;
			}
			continue;
		}
		only_for_procs = n->kids[i];
		switch (k) {
		case 5:
			free(s->id);
			s->id = get_str(p, v, "as");
			break;
		case 6:
			get_strlist(p, v, "args", &s->args, &s->nargs);
			break;
		case 7:
			parse_env(p, v, s);
			break;
		case 8:
			s->stdin_text = get_str(p, v, "stdin");
			if (s->stdin_text && strlen(s->stdin_text) > CHILD_STDIN_MAX)
				perr(p, v->line, v->col, "stdin is longer than %d bytes", CHILD_STDIN_MAX);
			break;
		case 9:
			get_int(p, v, "repeat", 1, 1000, &s->repeat);
			repeat = n->kids[i];
			break;
		case 10:
			parse_ready(p, v, &s->ready);
			ready = n->kids[i];
			break;
		case 11:
			parse_memcheck(p, v, &s->memcheck);
			break;
		case 12:
			parse_expect(p, v, &s->expect);
			break;
		case 13:
			free(s->on);
			s->on = get_str(p, v, "on");
			break;
		}
	}
	if ((int)s->kind == -1) {
		perr(p, n->line, n->col, "a step needs one of: start, run, alive, wait, stop, signal, check");
		return;
	}
	if (with && s->kind != STEP_SIGNAL)
		perr(p, with->line, with->col, "\"with\" applies only to a signal step");
	if (s->kind == STEP_SIGNAL && !with)
		perr(p, n->line, n->col, "a signal step needs with: the signal to send (SIGUSR1, say)");
	if (s->kind > STEP_RUN && only_for_procs)
		perr(p, only_for_procs->line, only_for_procs->col, "\"%s\" does not apply to %s %s step",
		     only_for_procs->text, s->kind == STEP_ALIVE ? "an" : "a", step_kinds[s->kind]);
	if (ready && s->kind != STEP_START)
		perr(p, ready->line, ready->col, "\"ready\" applies only to a start step");
	if (repeat && s->kind != STEP_RUN)
		perr(p, repeat->line, repeat->col, "\"repeat\" applies only to a run step");
	if (s->kind <= STEP_RUN && !s->id && s->program)
		s->id = xstrdup(s->program);
}

static void
limits_default(struct limits *l)
{
	*l = (struct limits){ .wall_ms = 10000, .step_ms = 5000, .cpu_ms = 5000, .processes = 64,
			      .memory_mb = 512, .output_kb = 64, .file_size_kb = 4096, .open_files = 256,
			      .test_memory_mb = 1024 };
}

static int
valid_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
			return 0;
	return 1;
}

/* Does a start or run step among the first n of t name the process id?
 * "ID#K" names the K-th run of a repeated step. */
static int
names_process(const struct test_spec *t, size_t n, const char *id)
{
	for (size_t j = 0; j < n; j++) {
		const struct step *s = &t->steps[j];
		if (s->kind > STEP_RUN || !s->id)
			continue;
		size_t len = strlen(s->id);
		if (!strcmp(s->id, id))
			return 1;
		if (s->kind == STEP_RUN && s->repeat > 1 && !strncmp(s->id, id, len) && id[len] == '#') {
			char *end;
			long k = strtol(id + len + 1, &end, 10);
			if (!*end && end != id + len + 1 && k >= 1 && k <= s->repeat)
				return 1;
		}
	}
	return 0;
}

static void
check_use_refs(struct parser *p, const struct test_spec *t, size_t nsteps, const struct check_use *use)
{
	for (size_t k = 0; k < use->nids; k++)
		if (!names_process(t, nsteps, use->ids[k]))
			perr(p, use->line, use->col, "check \"%s\" names \"%s\", no process %sof test \"%s\"",
			     use->unit ? use->unit->name : "?", use->ids[k], nsteps < t->nsteps ? "started earlier in a step " : "",
			     t->name ? t->name : "?");
}

/* Cross-references inside a test: programs exist, ids are unique and known. */
static void
check_test_refs(struct parser *p, struct lab_spec *spec, struct test_spec *t)
{
	for (size_t i = 0; i < t->nchecks; i++)
		check_use_refs(p, t, t->nsteps, &t->checks[i]);
	for (size_t i = 0; i < t->nsteps; i++) {
		struct step *s = &t->steps[i];
		if ((int)s->kind == -1)
			continue;
		if (s->kind == STEP_CHECK) {
			check_use_refs(p, t, i, &s->check);
			continue;
		}
		if (s->kind <= STEP_RUN && s->program) {
			if (s->is_ref ? !spec_ref(spec, s->program) : !spec_program(spec, s->program))
				perr(p, s->line, s->col, "test \"%s\" uses unknown %s \"%s\"", t->name ? t->name : "?",
				     s->is_ref ? "reference" : "program", s->program);
			for (size_t j = 0; j < i; j++)
				if (t->steps[j].kind <= STEP_RUN && t->steps[j].id && s->id &&
				    !strcmp(t->steps[j].id, s->id)) {
					perr(p, s->line, s->col,
					     "test \"%s\" already has a process named \"%s\"; give this one another name with \"as\"",
					     t->name ? t->name : "?", s->id);
					break;
				}
			continue;
		}
		int found = 0;
		for (size_t j = 0; j < i && s->id; j++)
			if (t->steps[j].kind == STEP_START && t->steps[j].id && !strcmp(t->steps[j].id, s->id))
				found = 1;
		if (s->id && !found)
			perr(p, s->line, s->col, "\"%s: %s\" names no process started earlier in test \"%s\"",
			     step_kinds[s->kind], s->id, t->name ? t->name : "?");
	}
}

/* hosts: [sender, receiver] */
static void
parse_hosts(struct parser *p, const struct ynode *n, struct test_spec *t)
{
	if (want(p, n, Y_SEQ, "hosts") < 0)
		return;
	if (n->n < 2 || n->n > LINK_MAX_HOSTS) {
		perr(p, n->line, n->col, "hosts lists 2 to %d hosts, not %zu", LINK_MAX_HOSTS, n->n);
		return;
	}
	t->hosts = xcalloc(n->n, sizeof *t->hosts);
	for (size_t i = 0; i < n->n; i++) {
		char *name = get_str(p, n->kids[i], "a host name");
		if (!name)
			continue;
		if (!valid_name(name))
			perr(p, n->kids[i]->line, n->kids[i]->col, "host name \"%s\" may use only a-z, 0-9, - and _", name);
		for (size_t j = 0; j < t->nhosts; j++)
			if (!strcmp(t->hosts[j], name))
				perr(p, n->kids[i]->line, n->kids[i]->col, "host \"%s\" is listed twice", name);
		t->hosts[t->nhosts++] = name;
	}
}

/* A probability from 0 to 1 ("0.1", "10%" is not taken). */
static void
get_probability(struct parser *p, const struct ynode *n, const char *what, double *out)
{
	if (want(p, n, Y_SCALAR, what) < 0)
		return;
	char *end;
	errno = 0;
	double v = strtod(n->text, &end);
	if (errno || end == n->text || *end || !(v >= 0 && v <= 1))
		perr(p, n->line, n->col, "%s must be a probability from 0 to 1, such as 0.1, not \"%s\"", what, n->text);
	else
		*out = v;
}

/* link: {loss: 0.1, duplicate: 0.05, reorder: 0.1, delay_ms: 2} */
static void
parse_link(struct parser *p, const struct ynode *n, struct test_spec *t)
{
	static const char *const keys[] = { "loss", "duplicate", "reorder", "delay_ms", NULL };
	if (want(p, n, Y_MAP, "link") < 0)
		return;
	double *probs[] = { &t->link.loss, &t->link.duplicate, &t->link.reorder };
	for (size_t i = 0; i < n->n; i += 2) {
		int k = key_index(p, n, i, keys, "link");
		if (k >= 0 && k < 3)
			get_probability(p, n->kids[i + 1], keys[k], probs[k]);
		else if (k == 3)
			get_int(p, n->kids[i + 1], "delay_ms", 0, 1000, &t->link.delay_ms);
	}
	if (!t->hosts)
		perr(p, n->line, n->col, "a link joins hosts: list them first, such as hosts: [sender, receiver]");
}

static int
host_index(const struct test_spec *t, const char *name, size_t len)
{
	for (size_t i = 0; i < t->nhosts; i++)
		if (strlen(t->hosts[i]) == len && !strncmp(t->hosts[i], name, len))
			return (int)i;
	return -1;
}

/* A step's "on: HOST" and the {host:NAME} in its arguments name hosts of
 * the test; a program runs on the first host unless told. */
static void
resolve_host(struct parser *p, const struct test_spec *t, const struct ynode *n, struct step *s)
{
	if ((int)s->kind == -1 || s->kind > STEP_RUN)
		return;
	if (s->on) {
		if (!t->nhosts)
			perr(p, n->line, n->col, "\"on: %s\" needs the test's hosts, such as hosts: [%s, other]", s->on, s->on);
		else if ((s->host = host_index(t, s->on, strlen(s->on))) < 0)
			perr(p, n->line, n->col, "\"on: %s\" names no host of this test", s->on);
	} else if (t->nhosts) {
		s->host = 0;
	}
	for (size_t i = 0; i < s->nargs; i++)
		for (const char *at = strstr(s->args[i], "{host:"); at; at = strstr(at + 1, "{host:")) {
			const char *name = at + 6, *end = strchr(name, '}');
			if (!end || host_index(t, name, (size_t)(end - name)) < 0)
				perr(p, n->line, n->col, "argument \"%s\" names no host of this test in {host:NAME}", s->args[i]);
		}
}

static void
check_needs_hosts(struct parser *p, const struct test_spec *t, const struct check_use *use)
{
	if (use->unit && use->unit->needs_hosts && !t->nhosts)
		perr(p, use->line, use->col, "check \"%s\" reads the link between the test's hosts: give the test hosts, such as hosts: [sender, receiver]",
		     use->unit->name);
}

static void
parse_test(struct parser *p, struct lab_spec *spec, const struct ynode *n, struct test_spec *t)
{
	static const char *const keys[] = { "name", "description", "points", "visible", "memcheck",
					     "leftovers", "limits", "steps", "checks", "hosts", "link", "judge", NULL };
	t->visible = 1;
	t->leftovers_fail = 1;
	t->limits = spec->limits;
	if (want(p, n, Y_MAP, "a test") < 0)
		return;
	const struct ynode *steps = NULL, *limits = NULL, *checks = NULL, *hosts = NULL, *link = NULL, *judge = NULL;
	int has_points = 0, has_name = 0; /* present, even if invalid: reported once */
	for (size_t i = 0; i < n->n; i += 2) {
		const struct ynode *v = n->kids[i + 1];
		switch (key_index(p, n, i, keys, "a test")) {
		case 0:
			has_name = 1;
			t->name = get_str(p, v, "name");
			if (t->name && !valid_name(t->name))
				perr(p, v->line, v->col, "test name \"%s\" may use only a-z, 0-9, - and _", t->name);
			break;
		case 1:
			t->description = get_str(p, v, "description");
			break;
		case 2:
			has_points = 1;
			get_int(p, v, "points", 0, 1000, &t->points);
			break;
		case 3:
			get_bool(p, v, "visible", &t->visible);
			break;
		case 4:
			parse_memcheck(p, v, &t->memcheck);
			break;
		case 5:
			if (want(p, v, Y_SCALAR, "leftovers") < 0)
				break;
			if (!strcmp(v->text, "fail") || !strcmp(v->text, "ignore"))
				t->leftovers_fail = !strcmp(v->text, "fail");
			else
				perr(p, v->line, v->col, "leftovers must be fail or ignore, not \"%s\"", v->text);
			break;
		case 6:
			limits = v;
			break;
		case 7:
			steps = v;
			break;
		case 8:
			checks = v;
			break;
		case 9:
			hosts = v;
			break;
		case 10:
			link = v;
			break;
		case 11:
			if (want(p, v, Y_SCALAR, "judge") < 0)
				break;
			if (!strcmp(v->text, "memory") || !strcmp(v->text, "all"))
				t->judge_memory = !strcmp(v->text, "memory");
			else
				perr(p, v->line, v->col, "judge must be memory or all, not \"%s\"", v->text);
			judge = v;
			break;
		}
	}
	if (judge && t->judge_memory && t->memcheck == MEMCHECK_NONE)
		perr(p, judge->line, judge->col, "judge: memory needs memcheck: valgrind or asan in the same test");
	if (hosts)
		parse_hosts(p, hosts, t);
	if (link)
		parse_link(p, link, t);
	if (limits)
		parse_limits(p, limits, &t->limits);
	if (checks && want(p, checks, Y_SEQ, "checks") == 0) {
		t->checks = xcalloc(checks->n + 1, sizeof *t->checks);
		for (size_t i = 0; i < checks->n; i++) {
			const struct ynode *c = checks->kids[i];
			if (want(p, c, Y_MAP, "a check") < 0)
				continue;
			if (!has_key(c, "check")) {
				perr(p, c->line, c->col, "a check needs \"check: UNIT\"");
				continue;
			}
			check_parse(p, c, CHECK_AT_END, &t->checks[t->nchecks++]);
		}
	}
	if (!has_name)
		perr(p, n->line, n->col, "a test needs a name");
	if (!has_points)
		perr(p, n->line, n->col, "test \"%s\" needs points", t->name ? t->name : "?");
	if (!steps) {
		perr(p, n->line, n->col, "test \"%s\" needs steps", t->name ? t->name : "?");
		return;
	}
	if (want(p, steps, Y_SEQ, "steps") < 0)
		return;
	if (steps->n == 0)
		perr(p, steps->line, steps->col, "test \"%s\" has no steps", t->name ? t->name : "?");
	t->steps = xcalloc(steps->n, sizeof *t->steps);
	t->nsteps = steps->n;
	for (size_t i = 0; i < steps->n; i++) {
		parse_step(p, steps->kids[i], &t->steps[i]);
		resolve_host(p, t, steps->kids[i], &t->steps[i]);
		if (t->steps[i].kind == STEP_CHECK)
			check_needs_hosts(p, t, &t->steps[i].check);
	}
	for (size_t i = 0; i < t->nchecks; i++)
		check_needs_hosts(p, t, &t->checks[i]);
}

static void
parse_build(struct parser *p, struct lab_spec *spec, const struct ynode *n)
{
	static const char *const keys[] = { "cflags", "ldflags", "programs", "provided", NULL };
	if (want(p, n, Y_MAP, "build") < 0)
		return;
	/* provided first: the programs' sources may be among them */
	for (size_t i = 0; i < n->n; i += 2)
		if (n->kids[i]->type == Y_SCALAR && !strcmp(n->kids[i]->text, "provided")) {
			const struct ynode *v = n->kids[i + 1];
			get_strlist(p, v, "provided", &spec->provided, &spec->nprovided);
			for (size_t k = 0; k < spec->nprovided; k++) {
				const char *f = spec->provided[k];
				int handed_in = 0;
				for (size_t j = 0; j < spec->nfiles; j++)
					handed_in |= !strcmp(spec->files[j], f);
				if (!*f || strchr(f, '/') || f[0] == '.')
					perr(p, v->line, v->col, "provided file \"%s\" must be a plain file name", f);
				else if (handed_in)
					perr(p, v->line, v->col, "\"%s\" is both provided by the lab and handed in", f);
				else {
					char *path = xstrfmt("%s/provided/%s", spec->dir, f);
					if (access(path, R_OK) < 0)
						perr(p, v->line, v->col, "provided file \"%s\" is not in %s/provided", f, spec->dir);
					free(path);
				}
			}
		}
	for (size_t i = 0; i < n->n; i += 2) {
		const struct ynode *v = n->kids[i + 1];
		switch (key_index(p, n, i, keys, "build")) {
		case 3: /* provided: above */
			break;
		case 0:
			free_strlist(spec->cflags, spec->ncflags);
			spec->cflags = NULL;
			spec->ncflags = 0;
			get_strlist(p, v, "cflags", &spec->cflags, &spec->ncflags);
			break;
		case 1:
			get_strlist(p, v, "ldflags", &spec->ldflags, &spec->nldflags);
			break;
		case 2:
			if (want(p, v, Y_MAP, "programs") < 0)
				break;
			spec->programs = xcalloc(v->n / 2 + 1, sizeof *spec->programs);
			for (size_t j = 0; j < v->n; j += 2) {
				struct program_spec *ps = &spec->programs[spec->nprograms];
				ps->name = get_str(p, v->kids[j], "a program name");
				if (!ps->name)
					continue;
				spec->nprograms++;
				if (!valid_name(ps->name))
					perr(p, v->kids[j]->line, v->kids[j]->col,
					     "program name \"%s\" may use only a-z, 0-9, - and _", ps->name);
				get_strlist(p, v->kids[j + 1], "sources", &ps->sources, &ps->nsources);
				for (size_t k = 0; k < ps->nsources; k++) {
					int listed = 0;
					for (size_t f = 0; f < spec->nfiles; f++)
						listed |= !strcmp(spec->files[f], ps->sources[k]);
					for (size_t f = 0; f < spec->nprovided; f++)
						listed |= !strcmp(spec->provided[f], ps->sources[k]);
					if (!listed)
						perr(p, v->kids[j + 1]->line, v->kids[j + 1]->col,
						     "source \"%s\" of program \"%s\" is not in submission.files (nor build.provided)",
						     ps->sources[k], ps->name);
				}
			}
			break;
		}
	}
}

static void
parse_root(struct parser *p, struct lab_spec *spec, const struct ynode *root)
{
	static const char *const keys[] = { "lab", "title", "submission", "build", "references",
					     "limits", "tests", NULL };
	if (want(p, root, Y_MAP, "the lab spec") < 0)
		return;
	const struct ynode *sect[7] = { 0 };
	for (size_t i = 0; i < root->n; i += 2) {
		int k = key_index(p, root, i, keys, "the lab spec");
		if (k >= 0)
			sect[k] = root->kids[i + 1];
	}
	for (int k = 0; k < 7; k++)
		if (!sect[k] && k != 3 && k != 4 && k != 5)
			perr(p, root->line, root->col, "the lab spec needs \"%s\"", keys[k]);
	if (sect[0]) {
		spec->name = get_str(p, sect[0], "lab");
		if (spec->name && !valid_name(spec->name))
			perr(p, sect[0]->line, sect[0]->col, "lab name \"%s\" may use only a-z, 0-9, - and _",
			     spec->name);
	}
	if (sect[1])
		spec->title = get_str(p, sect[1], "title");
	if (sect[2] && want(p, sect[2], Y_MAP, "submission") == 0) {
		static const char *const skeys[] = { "files", NULL };
		for (size_t i = 0; i < sect[2]->n; i += 2)
			if (key_index(p, sect[2], i, skeys, "submission") == 0)
				get_strlist(p, sect[2]->kids[i + 1], "files", &spec->files, &spec->nfiles);
		for (size_t i = 0; i < spec->nfiles; i++)
			if (!*spec->files[i] || strchr(spec->files[i], '/') || spec->files[i][0] == '.')
				perr(p, sect[2]->line, sect[2]->col, "submission file \"%s\" must be a plain file name",
				     spec->files[i]);
	}
	if (sect[5])
		parse_limits(p, sect[5], &spec->limits);
	if (sect[3])
		parse_build(p, spec, sect[3]);
	if (sect[4] && want(p, sect[4], Y_MAP, "references") == 0) {
		const struct ynode *r = sect[4];
		spec->refs = xcalloc(r->n / 2 + 1, sizeof *spec->refs);
		for (size_t i = 0; i < r->n; i += 2) {
			char *name = get_str(p, r->kids[i], "a reference name");
			char *bin = get_str(p, r->kids[i + 1], "a reference program");
			if (name && bin && valid_name(bin)) {
				spec->refs[spec->nrefs].name = name;
				spec->refs[spec->nrefs++].binary = bin;
				continue;
			}
			if (bin && !valid_name(bin))
				perr(p, r->kids[i + 1]->line, r->kids[i + 1]->col,
				     "reference program \"%s\" must be a name under reference/, not a path", bin);
			free(name);
			free(bin);
		}
	}
	if (sect[6] && want(p, sect[6], Y_SEQ, "tests") == 0) {
		const struct ynode *ts = sect[6];
		spec->tests = xcalloc(ts->n + 1, sizeof *spec->tests);
		spec->ntests = ts->n;
		for (size_t i = 0; i < ts->n; i++) {
			parse_test(p, spec, ts->kids[i], &spec->tests[i]);
			struct test_spec *t = &spec->tests[i];
			for (size_t j = 0; j < i && t->name; j++)
				if (spec->tests[j].name && !strcmp(spec->tests[j].name, t->name))
					perr(p, ts->kids[i]->line, ts->kids[i]->col, "duplicate test name \"%s\"",
					     t->name);
			check_test_refs(p, spec, t);
		}
		if (ts->n == 0)
			perr(p, ts->line, ts->col, "the lab has no tests");
	}
}

int
spec_load(const char *path, struct lab_spec *spec, struct strbuf *errors)
{
	memset(spec, 0, sizeof *spec);
	limits_default(&spec->limits);
	static const char *const default_cflags[] = { "-std=c11", "-Wall", "-Wextra", "-g" };
	spec->ncflags = 4;
	spec->cflags = xcalloc(4, sizeof *spec->cflags);
	for (int i = 0; i < 4; i++)
		spec->cflags[i] = xstrdup(default_cflags[i]);

	struct stat st;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		spec->dir = xstrdup(path);
		spec->file = xstrfmt("%s/lab.yaml", path);
	} else {
		spec->file = xstrdup(path);
		const char *slash = strrchr(path, '/');
		spec->dir = slash ? xstrfmt("%.*s", (int)(slash - path), path) : xstrdup(".");
	}
	struct parser p = { spec->file, errors, 0 };
	FILE *f = fopen(spec->file, "re");
	if (!f) {
		sb_addf(errors, "%s: cannot open the lab spec: %s\n", spec->file, strerror(errno));
		return 1;
	}
	struct ynode *root = yaml_to_tree(&p, f);
	fclose(f);
	if (root)
		parse_root(&p, spec, root);
	ynode_free(root);
	return p.nerrors;
}

static void
matcher_release(struct matcher *m)
{
	free(m->exact);
	free(m->contains);
	free(m->regex);
	free(m->not_contains);
	free_strlist(m->lines, m->nlines);
}

void
spec_release(struct lab_spec *spec)
{
	for (size_t i = 0; i < spec->ntests; i++) {
		struct test_spec *t = &spec->tests[i];
		for (size_t j = 0; j < t->nsteps; j++) {
			struct step *s = &t->steps[j];
			free(s->program);
			free(s->id);
			free_strlist(s->args, s->nargs);
			for (size_t k = 0; k < s->nenv; k++) {
				free(s->env[k].key);
				free(s->env[k].value);
			}
			free(s->env);
			free(s->stdin_text);
			free(s->ready.text);
			matcher_release(&s->expect.out);
			matcher_release(&s->expect.err);
			check_use_release(&s->check);
			free(s->on);
		}
		free(t->steps);
		free_strlist(t->hosts, t->nhosts);
		for (size_t j = 0; j < t->nchecks; j++)
			check_use_release(&t->checks[j]);
		free(t->checks);
		free(t->name);
		free(t->description);
	}
	free(spec->tests);
	for (size_t i = 0; i < spec->nprograms; i++) {
		free(spec->programs[i].name);
		free_strlist(spec->programs[i].sources, spec->programs[i].nsources);
	}
	free(spec->programs);
	for (size_t i = 0; i < spec->nrefs; i++) {
		free(spec->refs[i].name);
		free(spec->refs[i].binary);
	}
	free(spec->refs);
	free_strlist(spec->files, spec->nfiles);
	free_strlist(spec->provided, spec->nprovided);
	free_strlist(spec->cflags, spec->ncflags);
	free_strlist(spec->ldflags, spec->nldflags);
	free(spec->name);
	free(spec->title);
	free(spec->file);
	free(spec->dir);
	memset(spec, 0, sizeof *spec);
}

const struct program_spec *
spec_program(const struct lab_spec *spec, const char *name)
{
	for (size_t i = 0; i < spec->nprograms; i++)
		if (!strcmp(spec->programs[i].name, name))
			return &spec->programs[i];
	return NULL;
}

const struct ref_spec *
spec_ref(const struct lab_spec *spec, const char *name)
{
	for (size_t i = 0; i < spec->nrefs; i++)
		if (!strcmp(spec->refs[i].name, name))
			return &spec->refs[i];
	return NULL;
}

const struct test_spec *
spec_test(const struct lab_spec *spec, const char *name)
{
	for (size_t i = 0; i < spec->ntests; i++)
		if (spec->tests[i].name && !strcmp(spec->tests[i].name, name))
			return &spec->tests[i];
	return NULL;
}

int
step_memcheck(const struct test_spec *t, const struct step *s)
{
	if (s->memcheck != MEMCHECK_INHERIT)
		return s->memcheck;
	return s->is_ref ? MEMCHECK_NONE : t->memcheck;
}

int
spec_uses_memcheck(const struct lab_spec *spec, enum memcheck mode)
{
	for (size_t i = 0; i < spec->ntests; i++)
		for (size_t j = 0; j < spec->tests[i].nsteps; j++) {
			const struct step *s = &spec->tests[i].steps[j];
			if (s->kind <= STEP_RUN && !s->is_ref && step_memcheck(&spec->tests[i], s) == (int)mode)
				return 1;
		}
	return 0;
}

const char *
memcheck_name(int mode)
{
	return mode == MEMCHECK_VALGRIND ? "valgrind" : mode == MEMCHECK_ASAN ? "asan" : "none";
}

const char *
step_kind_name(enum step_kind k)
{
	return (unsigned)k <= STEP_SIGNAL ? step_kinds[k] : "?";
}
