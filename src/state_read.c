/* state.yaml read back (state_read, state_read_buf): the job's fields and
 * each node's record, for status, retry, report and resume. The writer is
 * state.c. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "errtail.h"
#include "fsutil.h"
#include "sandbox.h"
#include "state.h"
#include "strbuf.h"
#include "xmalloc.h"

#define STATE_MAX_BYTES	((size_t)1 << 30)	/* state_read bound */

struct state_rd {
	yaml_document_t	 doc;
	const char	*name;
	char		*why;		/* the first problem */
};

static yaml_node_t *
state_rd_get(struct state_rd *rd, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*k;

	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start;
	    p < map->data.mapping.pairs.top; p++) {
		k = yaml_document_get_node(&rd->doc, p->key);
		if (k != NULL && k->type == YAML_SCALAR_NODE &&
		    strlen(key) == k->data.scalar.length &&
		    memcmp(k->data.scalar.value, key, k->data.scalar.length)
		    == 0)
			return yaml_document_get_node(&rd->doc, p->value);
	}
	return NULL;
}

static int state_rd_fail(struct state_rd *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static int
state_rd_fail(struct state_rd *rd, const char *fmt, ...)
{
	va_list	ap;

	if (rd->why == NULL) {
		va_start(ap, fmt);
		rd->why = xvasprintf(fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int
state_rd_is_null(const yaml_node_t *n)
{
	const char	*v;

	if (n == NULL)
		return 1;
	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	v = (const char *)n->data.scalar.value;
	return *v == '\0' || strcmp(v, "~") == 0 || strcasecmp(v, "null") == 0;
}

/* Is n the scalar true? */
static bool
state_rd_true(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE &&
	    strcmp((const char *)n->data.scalar.value, "true") == 0;
}

/* A string (NULL allowed when nullable). */
static int
state_rd_str(struct state_rd *rd, yaml_node_t *map, const char *key,
    int nullable, char **out)
{
	yaml_node_t	*n = state_rd_get(rd, map, key);

	*out = NULL;
	if (nullable && state_rd_is_null(n))
		return 0;
	if (n == NULL)
		return state_rd_fail(rd, "missing '%s'", key);
	if (n->type != YAML_SCALAR_NODE)
		return state_rd_fail(rd, "'%s' is not a string", key);
	if (strlen((char *)n->data.scalar.value) != n->data.scalar.length)
		return state_rd_fail(rd, "'%s' holds a NUL byte", key);
	*out = xstrdup((char *)n->data.scalar.value);
	return 0;
}

/* A non-negative integer (-1 for null when nullable). */
static int
state_rd_int(struct state_rd *rd, yaml_node_t *map, const char *key,
    int nullable, int64_t max, int64_t *out)
{
	yaml_node_t	*n = state_rd_get(rd, map, key);
	const char	*v;
	char		*end;
	long long	 x;

	*out = -1;
	if (nullable && state_rd_is_null(n))
		return 0;
	if (n == NULL)
		return state_rd_fail(rd, "missing '%s'", key);
	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return state_rd_fail(rd, "'%s' is not an integer", key);
	v = (const char *)n->data.scalar.value;
	if (*v < '0' || *v > '9')
		return state_rd_fail(rd, "'%s' is not an integer", key);
	errno = 0;
	x = strtoll(v, &end, 10);
	if (errno != 0 || *end != '\0' || x > max)
		return state_rd_fail(rd, "'%s' is not an integer in range",
		    key);
	*out = x;
	return 0;
}

static int
state_rd_count(struct state_rd *rd, yaml_node_t *map, const char *key,
    size_t *out)
{
	int64_t	v;

	if (state_rd_int(rd, map, key, 0, INT64_MAX, &v) != 0)
		return -1;
	*out = (size_t)v;
	return 0;
}

/* A number as state_number writes it (YAML's .inf, -.inf and .nan too). */
static int
state_rd_number(const char *v, double *out)
{
	char	*end;

	if (strcmp(v, ".nan") == 0)
		*out = NAN;
	else if (strcmp(v, ".inf") == 0 || strcmp(v, "-.inf") == 0)
		*out = *v == '-' ? -INFINITY : INFINITY;
	else {
		errno = 0;
		*out = strtod(v, &end);
		if (errno == ERANGE || *end != '\0' || end == v ||
		    isnan(*out) || isinf(*out))
			return -1;
	}
	return 0;
}

/* A metrics mapping (name: number) under key; absent or null is none. */
static int
state_rd_metrics(struct state_rd *rd, yaml_node_t *map, const char *key,
    struct metric **out, size_t *nout)
{
	yaml_node_t		*n = state_rd_get(rd, map, key), *k, *v;
	yaml_node_pair_t	*p;
	struct metric		*m;

	*out = NULL;
	*nout = 0;
	if (state_rd_is_null(n))
		return 0;
	if (n->type != YAML_MAPPING_NODE)
		return state_rd_fail(rd, "'%s' is not a mapping", key);
	*out = xcalloc((size_t)(n->data.mapping.pairs.top -
	    n->data.mapping.pairs.start) + 1, sizeof **out);
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	    p++) {
		k = yaml_document_get_node(&rd->doc, p->key);
		v = yaml_document_get_node(&rd->doc, p->value);
		if (k == NULL || k->type != YAML_SCALAR_NODE ||
		    strlen((char *)k->data.scalar.value) !=
		    k->data.scalar.length || v == NULL ||
		    v->type != YAML_SCALAR_NODE)
			return state_rd_fail(rd, "'%s' is not a mapping of "
			    "names to numbers", key);
		m = &(*out)[(*nout)++];
		m->name = xstrdup((char *)k->data.scalar.value);
		if (state_rd_number((char *)v->data.scalar.value,
		    &m->value) != 0)
			return state_rd_fail(rd, "'%s' of '%s' is not a "
			    "number", m->name, key);
	}
	return 0;
}

static void
state_rd_metrics_free(struct metric *v, size_t n)
{
	while (n > 0)
		free(v[--n].name);
	free(v);
}

/* A node's stderr_tail (absent or null: none): a sequence of strings,
 * each made safe again (the file may have been edited), the last
 * ERRTAIL_LINES joined by '\n'. */
static int
state_rd_tail(struct state_rd *rd, yaml_node_t *map, char **out)
{
	yaml_node_t	*n = state_rd_get(rd, map, "stderr_tail"), *it;
	yaml_node_item_t *p, *from;
	struct strbuf	 o = STRBUF_INIT;
	char		*line;

	*out = NULL;
	if (state_rd_is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return state_rd_fail(rd, "'%s' is not a sequence",
		    "stderr_tail");
	from = n->data.sequence.items.start;
	if (n->data.sequence.items.top - from > ERRTAIL_LINES)
		from = n->data.sequence.items.top - ERRTAIL_LINES;
	for (p = from; p < n->data.sequence.items.top; p++) {
		it = yaml_document_get_node(&rd->doc, *p);
		if (it == NULL || it->type != YAML_SCALAR_NODE) {
			free(o.s);
			return state_rd_fail(rd, "an item of '%s' is not a "
			    "string", "stderr_tail");
		}
		line = errtail_safe((const char *)it->data.scalar.value,
		    it->data.scalar.length);
		if (o.len > 0)
			strbuf_add(&o, "\n", 1);
		strbuf_str(&o, line);
		free(line);
	}
	*out = o.s;
	return 0;
}

static int
state_rd_nodes(struct state_rd *rd, yaml_node_t *nodes, struct state_doc *d)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v;
	struct state_doc_node	*dn;
	size_t			 n;
	int64_t			 x;

	if (nodes == NULL)
		return state_rd_fail(rd, "missing '%s'", "nodes");
	if (state_rd_is_null(nodes))
		return 0;
	if (nodes->type != YAML_MAPPING_NODE)
		return state_rd_fail(rd, "'%s' is not a mapping", "nodes");
	n = (size_t)(nodes->data.mapping.pairs.top -
	    nodes->data.mapping.pairs.start);
	d->nodes = xcalloc(n + 1, sizeof *d->nodes);
	for (p = nodes->data.mapping.pairs.start;
	    p < nodes->data.mapping.pairs.top; p++) {
		k = yaml_document_get_node(&rd->doc, p->key);
		v = yaml_document_get_node(&rd->doc, p->value);
		if (k == NULL || k->type != YAML_SCALAR_NODE ||
		    strlen((char *)k->data.scalar.value) !=
		    k->data.scalar.length)
			return state_rd_fail(rd, "a node id is not a %s",
			    "string");
		if (v == NULL || v->type != YAML_MAPPING_NODE)
			return state_rd_fail(rd, "node '%s' is not a mapping",
			    (char *)k->data.scalar.value);
		dn = &d->nodes[d->nnodes++];
		dn->id = xstrdup((char *)k->data.scalar.value);
		dn->duration_ms = -1;
		if (state_rd_str(rd, v, "status", 0, &dn->status) != 0 ||
		    state_rd_int(rd, v, "attempts", 0, INT32_MAX, &x) != 0)
			return -1;
		dn->attempts = (int)x;
		if (state_rd_int(rd, v, "duration_ms", 1, INT64_MAX,
		    &dn->duration_ms) != 0 ||
		    state_rd_str(rd, v, "reason", 1, &dn->reason) != 0 ||
		    state_rd_str(rd, v, "error", 1, &dn->error) != 0 ||
		    state_rd_str(rd, v, "reused_from", 1,
		    &dn->reused_from) != 0 ||
		    state_rd_str(rd, v, "sandbox", 1, &dn->sandbox) != 0 ||
		    state_rd_tail(rd, v, &dn->stderr_tail) != 0)
			return -1;
		dn->cached = state_rd_get(rd, v, "cached") != NULL &&
		    state_rd_true(state_rd_get(rd, v, "cached"));
		if (state_rd_metrics(rd, v, "saved", &dn->saved,
		    &dn->nsaved) != 0)
			return -1;
	}
	return 0;
}

void
state_doc_free(struct state_doc *d)
{
	size_t	i;

	if (d == NULL)
		return;
	for (i = 0; i < d->nnodes; i++) {
		free(d->nodes[i].id);
		free(d->nodes[i].status);
		free(d->nodes[i].reason);
		free(d->nodes[i].error);
		free(d->nodes[i].stderr_tail);
		free(d->nodes[i].reused_from);
		free(d->nodes[i].sandbox);
		state_rd_metrics_free(d->nodes[i].saved, d->nodes[i].nsaved);
	}
	free(d->nodes);
	state_rd_metrics_free(d->saved, d->nsaved);
	free(d->dag);
	free(d->job);
	free(d->status);
	free(d->started_at);
	free(d->finished_at);
	free(d);
}

int
state_read_buf(const char *name, const char *buf, size_t len,
    struct state_doc **out, char **cause)
{
	yaml_parser_t		 parser;
	struct state_rd		 rd;
	struct state_doc	*d;
	yaml_node_t		*root, *prog;
	int			 rc = -1;

	*out = NULL;
	memset(&rd, 0, sizeof rd);
	rd.name = name;
	if (!yaml_parser_initialize(&parser))
		abort();
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &rd.doc)) {
		*cause = xasprintf("%s:%zu:%zu: %s", name,
		    parser.problem_mark.line + 1,
		    parser.problem_mark.column + 1,
		    parser.problem != NULL ? parser.problem : "bad YAML");
		yaml_parser_delete(&parser);
		errno = EINVAL;
		return -1;
	}
	yaml_parser_delete(&parser);

	d = xcalloc(1, sizeof *d);
	root = yaml_document_get_root_node(&rd.doc);
	if (root == NULL || root->type != YAML_MAPPING_NODE) {
		state_rd_fail(&rd, "%s", "not a YAML mapping");
		goto out;
	}
	if (state_rd_str(&rd, root, "dag", 0, &d->dag) != 0 ||
	    state_rd_str(&rd, root, "job", 0, &d->job) != 0 ||
	    state_rd_str(&rd, root, "status", 0, &d->status) != 0 ||
	    state_rd_str(&rd, root, "started_at", 1, &d->started_at) != 0 ||
	    state_rd_str(&rd, root, "finished_at", 1, &d->finished_at) != 0 ||
	    state_rd_int(&rd, root, "duration_ms", 1, INT64_MAX,
	    &d->duration_ms) != 0)
		goto out;
	prog = state_rd_get(&rd, root, "progress");
	if (prog == NULL || prog->type != YAML_MAPPING_NODE) {
		state_rd_fail(&rd, "'%s' is missing or not a mapping",
		    "progress");
		goto out;
	}
	if (state_rd_count(&rd, prog, "total", &d->total) != 0 ||
	    state_rd_count(&rd, prog, "pending", &d->pending) != 0 ||
	    state_rd_count(&rd, prog, "running", &d->running) != 0 ||
	    state_rd_count(&rd, prog, "succeeded", &d->succeeded) != 0 ||
	    state_rd_count(&rd, prog, "failed", &d->failed) != 0 ||
	    state_rd_count(&rd, prog, "skipped", &d->skipped) != 0)
		goto out;
	if (state_rd_nodes(&rd, state_rd_get(&rd, root, "nodes"), d) != 0 ||
	    state_rd_metrics(&rd, root, "saved", &d->saved, &d->nsaved) != 0)
		goto out;
	rc = 0;
out:
	yaml_document_delete(&rd.doc);
	if (rc != 0) {
		*cause = xasprintf("%s: %s", name, rd.why);
		free(rd.why);
		state_doc_free(d);
		errno = EINVAL;
		return -1;
	}
	*out = d;
	return 0;
}

int
state_read(const char *path, struct state_doc **out, char **cause)
{
	char	*buf;
	size_t	 len;
	int	 rc, saved;

	*out = NULL;
	if (fs_read_file(path, STATE_MAX_BYTES, &buf, &len, cause) != 0)
		return -1;
	rc = state_read_buf(path, buf, len, out, cause);
	saved = errno;
	free(buf);
	errno = saved;
	return rc;
}
