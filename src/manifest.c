#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "manifest.h"
#include "manifest_int.h"
#include "strbuf.h"
#include "strmap.h"
#include "units.h"
#include "xmalloc.h"


/* ------------------------------------------------------------------------ */
/* The names the parser accepts, for the documentation check. */

void
names_each(void (*fn)(void *, const char *, const char *), void *arg,
    const char *what, const char *const *names)
{
	size_t i;

	for (i = 0; names[i] != NULL; i++)
		fn(arg, what, names[i]);
}

/* (Defined below the tables it lists.) */
static void	top_names_each(void (*)(void *, const char *, const char *),
		    void *);

void
manifest_names_each(void (*fn)(void *, const char *, const char *),
    void *arg)
{
	int r;

	top_names_each(fn, arg);
	for (r = REASON_NONE + 1; r < REASON__COUNT; r++)
		fn(arg, "value retry_on", reason_name((enum reason)r));
	manifest_node_names_each(fn, arg);
}

/* ------------------------------------------------------------------------ */
/* The top level. */

const char *const top_keys[] = {
	"name", "max_parallel", "schedule", "on_failure", "deadline",
	"budget", "env", "workdir", "pools", "notify", "defaults", "nodes",
	"cron", "timezone", "overlap", "catch_up", "secrets",
	NULL
};

/* cron, timezone, overlap and catch_up last, in enum CRONK_ order */
enum { TK_NAME, TK_MAX_PARALLEL, TK_SCHEDULE, TK_ON_FAILURE, TK_DEADLINE,
	TK_BUDGET, TK_ENV, TK_WORKDIR, TK_POOLS, TK_NOTIFY, TK_DEFAULTS,
	TK_NODES, TK_CRON, TK_SECRETS = TK_CRON + 4 };

static const char *const schedule_names[] = { "critical-path", "waves",
	NULL };
static const char *const on_failure_names[] = { "continue", "stop", "abort",
	NULL };
static const char *const notify_keys[] = { "url", "on", "insecure", NULL };

static void
top_names_each(void (*fn)(void *, const char *, const char *), void *arg)
{
	names_each(fn, arg, "key top", top_keys);
	names_each(fn, arg, "key notify", notify_keys);
	names_each(fn, arg, "value schedule", schedule_names);
	names_each(fn, arg, "value on_failure", on_failure_names);
}

/* A budget: NAME -> number > 0, into *items (*n of them), replacing what
 * was there. Used for the DAG's and a node's. */
void
parse_budget_map(struct ctx *c, const char *key, const struct ynode *v,
    struct budget_item **items, size_t *n)
{
	struct mapit it;
	struct ynode *k, *val;
	double x;

	if (want_map(c, key, v) != 1)
		return;
	budget_free(*items, *n);
	*items = xcalloc(v->n / 2 + 1, sizeof **items);
	*n = 0;
	mapit_init(&it, v);
	while (map_next(c, &it, &k, &val)) {
		if (!valid_budgetname(k->u.s)) {
			yerr(c, k, "invalid budget name '%s'", k->u.s);
			continue;
		}
		if (!is_numlike(val)) {
			yerr(c, val, "'%s' must be a number, not %s", k->u.s,
			    ydesc(val));
			continue;
		}
		x = strtod(val->u.s, NULL);
		if (!isfinite(x) || !(x > 0)) {
			yerr(c, val, "'%s' must be greater than 0", k->u.s);
			continue;
		}
		(*items)[*n].name = xstrdup(k->u.s);
		(*items)[*n].limit = x;
		(*n)++;
	}
	mapit_release(&it);
}

void
budget_free(struct budget_item *items, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(items[i].name);
	free(items);
}

static void
parse_pools(struct ctx *c, const struct ynode *v)
{
	struct manifest *m = c->m;
	struct mapit it;
	struct ynode *k, *val;
	int64_t x;

	if (want_map(c, "pools", v) != 1)
		return;
	m->pools = xcalloc(v->n / 2 + 1, sizeof *m->pools);
	c->pools = strmap_new(v->n / 2);
	mapit_init(&it, v);
	while (map_next(c, &it, &k, &val)) {
		if (!valid_id(k->u.s, k->n)) {
			yerr(c, k, "invalid pool name '%s' (expected "
			    "[A-Za-z0-9._-]{1,64})", k->u.s);
			continue;
		}
		if (is_null(val)) {
			yerr(c, val, "pool '%s' must be an integer, not null",
			    k->u.s);
			continue;
		}
		if (get_int(c, k->u.s, val, 1, 100000, &x) != 1)
			continue;
		m->pools[m->npools].name = xstrdup(k->u.s);
		m->pools[m->npools].cap = (int)x;
		strmap_put(c->pools, m->pools[m->npools].name, m->npools,
		    NULL);
		m->npools++;
	}
}

static void
parse_notify(struct ctx *c, const struct ynode *v)
{
	struct notify_spec *nt;
	struct mapit it;
	struct ynode *k, *val, *insecure_y = NULL;
	const struct ynode *o;
	bool have_url = false;
	size_t i;

	if (want_map(c, "notify", v) != 1)
		return;
	nt = xcalloc(1, sizeof *nt);
	nt->on = NOTIFY_ON_SUCCESS | NOTIFY_ON_FAILURE;
	c->m->notify = nt;
	mapit_init(&it, v);
	while (map_next(c, &it, &k, &val)) {
		switch (key_index(k->u.s, notify_keys)) {
		case 0:
			if (is_null(val)) {
				yerr(c, val, "'url' must be a string, "
				    "not null");
				have_url = true;
			} else if (get_nestr(c, "url", val, &nt->url) == 1) {
				have_url = true;
				if (!check_url(c, "url", val, nt->url)) {
					free(nt->url);
					nt->url = NULL;
				}
			}
			break;
		case 1:
			if (want_seq(c, "on", val) != 1)
				break;
			nt->on = 0;
			for (i = 0; i < val->n; i++) {
				o = val->u.kids[i];
				if (o->type == Y_SCALAR &&
				    strcmp(o->u.s, "success") == 0)
					nt->on |= NOTIFY_ON_SUCCESS;
				else if (o->type == Y_SCALAR &&
				    strcmp(o->u.s, "failure") == 0)
					nt->on |= NOTIFY_ON_FAILURE;
				else
					yerr(c, o, "invalid notify event '%s' "
					    "(expected success or failure)",
					    o->type == Y_SCALAR ? o->u.s :
					    ydesc(o));
			}
			break;
		case 2:
			if (get_bool(c, "insecure", val, &nt->insecure) == 1)
				insecure_y = val;
			break;
		default:
			unknown_key(c, k, "key", notify_keys,
			    count_names(notify_keys));
			break;
		}
	}
	if (!have_url)
		yerr(c, v, "missing required key 'url' in 'notify'");
	if (nt->insecure && nt->url != NULL && !url_is_loopback(nt->url))
		yerr(c, insecure_y, "'insecure: true' is only allowed for a "
		    "loopback host (localhost, 127.0.0.0/8, [::1])");
}

/* The node ids: first pass over `nodes`, filling m->nodes and m->ids. */
static void
collect_ids(struct ctx *c, const struct ynode *v)
{
	struct manifest *m = c->m;
	struct ynode *k;
	struct node *n;
	size_t i, old;

	if (!charge(c, v, v->n))
		return;
	m->nodes = xcalloc(v->n / 2 + 1, sizeof *m->nodes);
	m->ids = strmap_new(v->n / 2);
	c->pairidx = xcalloc(v->n / 2 + 1, sizeof *c->pairidx);
	for (i = 0; i + 1 < v->n; i += 2)
		c->pairidx[i / 2] = SIZE_MAX;
	for (i = 0; i + 1 < v->n && !c->stop; i += 2) {
		k = v->u.kids[i];
		if (k->type != Y_SCALAR) {
			yerr(c, k, "a node id must be a string, not %s",
			    ydesc(k));
			continue;
		}
		if (!valid_id(k->u.s, k->n)) {
			yerr(c, k, "invalid node id '%s' (expected "
			    "[A-Za-z0-9._-]{1,64})", k->u.s);
			continue;
		}
		n = &m->nodes[m->nnodes];
		node_init(n);
		n->id = xstrdup(k->u.s);
		n->pos.line = k->line;
		n->pos.col = k->col;
		if (strmap_put(m->ids, n->id, m->nnodes, &old) != 0) {
			yerr(c, k, "duplicate node id '%s' (first at line %d)",
			    k->u.s, m->nodes[old].pos.line);
			free(n->id);
			n->id = NULL;
			continue;
		}
		c->pairidx[i / 2] = m->nnodes;
		m->nnodes++;
	}
}

static void
parse_nodes(struct ctx *c, const struct ynode *nodes, const struct node *dflt,
    uint32_t dset, const struct ynode *dflt_y)
{
	struct manifest *m = c->m;
	const struct ynode *v;
	struct node *n;
	uint32_t set;
	size_t i, idx;

	c->mark = xcalloc(m->nnodes + 1, sizeof *c->mark);
	for (i = 0; i + 1 < nodes->n && !c->stop; i += 2) {
		v = nodes->u.kids[i + 1];
		if ((idx = c->pairidx[i / 2]) == SIZE_MAX)
			continue;	/* an invalid or duplicate id */
		n = &m->nodes[idx];
		if (v->type != Y_MAP) {
			yerr(c, v, "node '%s' must be a mapping, not %s",
			    n->id, ydesc(v));
			continue;
		}
		parse_node_keys(c, v, n, idx, &set);
		/* Refuse before copying, so that memory stays bounded. */
		c->copies += 1 + dflt->env.n + dflt->noutputs +
		    node_slurm(dflt)->nextra;
		if (c->copies > MANIFEST_DEFAULT_COPIES) {
			yerr(c, dflt_y, "defaults expand to too many values "
			    "(more than %d)", MANIFEST_DEFAULT_COPIES);
			c->stop = true;
			break;
		}
		merge_defaults(c, n, set, dflt, dset);
		check_node_merged(c, n, set);
		node_finish(c, n);
	}
}

/* Append v in decimal, a comma between groups of three digits. */
static void
add_grouped(struct strbuf *b, size_t v)
{
	char buf[32], *p = buf + sizeof buf;
	int digits = 0;

	do {
		if (digits > 0 && digits % 3 == 0)
			*--p = ',';
		*--p = (char)('0' + v % 10);
		v /= 10;
		digits++;
	} while (v > 0);
	strbuf_add(b, p, (size_t)(buf + sizeof buf - p));
}

/*
 * "dependency cycle: a -> b -> c -> a", built in one buffer. A cycle of at
 * most MANIFEST_CYCLE_SHOW nodes is named in full; of a longer one, the first
 * and the last half of that many, with a count of the ids left out, so that
 * the message stays short however long the cycle. Node ids are validated, so
 * the text needs no escaping.
 */
static char *
cycle_message(const struct manifest *m, const size_t *cycle, size_t len)
{
	struct strbuf b = STRBUF_INIT;
	size_t k, half = MANIFEST_CYCLE_SHOW / 2;

	strbuf_lit(&b, "dependency cycle: ");
	for (k = 0; k < len; k++) {
		if (len > MANIFEST_CYCLE_SHOW && k == half) {
			strbuf_lit(&b, "... (");
			add_grouped(&b, len - 2 * half);
			strbuf_lit(&b, " more) ... -> ");
			k = len - half;
		}
		strbuf_str(&b, m->nodes[cycle[k]].id);
		strbuf_lit(&b, " -> ");
	}
	strbuf_str(&b, m->nodes[cycle[0]].id);
	return b.s;
}

static void
build_graph(struct ctx *c)
{
	struct manifest *m = c->m;
	size_t *cycle = NULL, len;
	char *msg;

	if (manifest_reindex(m) == 0)
		return;
	len = graph_find_cycle(&m->graph, &cycle);
	if (len == 0) {
		ctx_err(c, 0, 0, "dependency cycle");
		free(cycle);
		return;
	}
	/* Not through ctx_err(): that would cut the message at
	 * MANIFEST_MAX_MESSAGE bytes and lose the end of the cycle. */
	msg = cycle_message(m, cycle, len);
	err_add(c, m->nodes[cycle[0]].pos.line, m->nodes[cycle[0]].pos.col,
	    msg);
	free(msg);
	free(cycle);
}

static void
parse_name(struct ctx *c, const struct ynode *v)
{
	const char *s;

	if (is_null(v)) {
		yerr(c, v, "'name' must be a string, not null");
		return;
	}
	if (get_str(c, "name", v, &s) != 1)
		return;
	if (!valid_id(s, strlen(s))) {
		yerr(c, v, "invalid name '%s' (expected [A-Za-z0-9._-]{1,64})",
		    s);
		return;
	}
	c->m->name = xstrdup(s);
}

static void
parse_top(struct ctx *c, const struct ynode *root)
{
	struct manifest *m = c->m;
	struct mapit it;
	struct ynode *k, *v, *cron_k[CRONK__N] = { NULL }, *cron_v[CRONK__N];
	const struct ynode *pools_y = NULL, *defaults_y = NULL;
	const struct ynode *nodes_y = NULL;
	struct node dflt;
	uint32_t dset = 0;
	const char *s;
	bool have_name = false;
	int e;
	int64_t x;

	if (root->type != Y_MAP) {
		if (is_null(root))
			ctx_err(c, 0, 0, "empty manifest");
		else
			yerr(c, root, "a manifest must be a mapping, not %s",
			    ydesc(root));
		return;
	}
	mapit_init(&it, root);
	while (map_next(c, &it, &k, &v)) {
		switch (key_index(k->u.s, top_keys)) {
		case TK_NAME:
			have_name = true;
			parse_name(c, v);
			break;
		case TK_MAX_PARALLEL:
			get_intv(c, "max_parallel", v, 1, 100000,
			    &m->max_parallel);
			break;
		case TK_SCHEDULE:
			if (!cron_misplaced(c, v) && get_enum(c, "schedule",
			    v, schedule_names, &e) == 1)
				m->schedule = (enum schedule)e;
			break;
		case TK_ON_FAILURE:
			if (get_enum(c, "on_failure", v, on_failure_names,
			    &e) == 1)
				m->on_failure = (enum on_failure)e;
			break;
		case TK_DEADLINE:
			if (get_duration(c, "deadline", v, &x) == 1) {
				if (x <= 0)
					yerr(c, v, "'deadline' must be "
					    "greater than 0");
				else
					m->deadline_ms = x;
			}
			break;
		case TK_BUDGET:
			parse_budget_map(c, "budget", v, &m->budget,
			    &m->nbudget);
			break;
		case TK_ENV:
			get_env(c, "env", v, &m->env);
			break;
		case TK_WORKDIR:
			if (get_str(c, "workdir", v, &s) != 1)
				break;
			if (*s != '/') {
				yerr(c, v, "'workdir' must be an absolute "
				    "path, not '%s'", s);
				break;
			}
			m->workdir = xstrdup(s);
			break;
		case TK_POOLS:
			pools_y = v;
			break;
		case TK_NOTIFY:
			parse_notify(c, v);
			break;
		case TK_DEFAULTS:
			defaults_y = v;
			break;
		case TK_NODES:
			nodes_y = v;
			break;
		case TK_CRON: case TK_CRON + 1: case TK_CRON + 2:
		case TK_CRON + 3:
			e = key_index(k->u.s, top_keys) - TK_CRON;
			cron_k[e] = k;
			cron_v[e] = v;
			break;
		case TK_SECRETS:
			parse_secrets(c, v, &m->secrets);
			break;
		default:
			if (key_index(k->u.s, node_keys) >= 0 &&
			    suggest(k->u.s, top_keys,
			    count_names(top_keys)) == NULL)
				yerr(c, k, "unknown key '%s' (a node key: set "
				    "it in a node or under 'defaults')",
				    k->u.s);
			else
				unknown_key(c, k, "key", top_keys,
				    count_names(top_keys));
			break;
		}
	}
	parse_cron_keys(c, cron_k, cron_v);
	if (!have_name)
		yerr(c, root, "missing required key 'name'");
	if (nodes_y == NULL)
		yerr(c, root, "missing required key 'nodes'");
	if (pools_y != NULL)
		parse_pools(c, pools_y);
	node_init(&dflt);
	dflt.id = xstrdup("defaults");
	if (defaults_y != NULL && want_map(c, "defaults", defaults_y) == 1)
		parse_node_keys(c, defaults_y, &dflt, SIZE_MAX, &dset);
	if (nodes_y != NULL) {
		if (is_null(nodes_y))
			yerr(c, nodes_y, "'nodes' must be a mapping, not null");
		else if (nodes_y->type == Y_SEQ)
			/* a list of steps, as other tools write them */
			yerr(c, nodes_y, "'nodes' must be a mapping of node id "
			    "to node ('nodes: {fetch: {run: ...}}'), not a "
			    "sequence");
		else if (want_map(c, "nodes", nodes_y) == 1) {
			if (nodes_y->n == 0)
				yerr(c, nodes_y, "'nodes' must not be empty");
			else if (nodes_y->n / 2 > MANIFEST_MAX_NODES)
				yerr(c, nodes_y, "more than %d nodes",
				    MANIFEST_MAX_NODES);
			else {
				collect_ids(c, nodes_y);
				parse_nodes(c, nodes_y, &dflt, dset,
				    defaults_y);
				if (!c->stop) {
					/* The tree is no longer needed: give
					 * its memory back before the graph
					 * takes its own. */
					free(c->mark);
					c->mark = NULL;
					arena_free(&c->arena);
					foreach_expand(c);
				}
				if (!c->stop)
					build_graph(c);
			}
		}
	}
	manifest_node_release(&dflt);
}

/* ------------------------------------------------------------------------ */

void
manifest_free(struct manifest *m)
{
	size_t i;

	if (m == NULL)
		return;
	free(m->name);
	budget_free(m->budget, m->nbudget);
	kvlist_free(&m->env);
	kvlist_free(&m->secrets);
	free(m->workdir);
	for (i = 0; i < m->npools; i++)
		free(m->pools[i].name);
	free(m->pools);
	if (m->notify != NULL) {
		free(m->notify->url);
		free(m->notify);
	}
	if (m->cron != NULL) {
		free(m->cron->expr);
		free(m->cron->timezone);
		free(m->cron);
	}
	for (i = 0; i < m->nnodes; i++)
		manifest_node_release(&m->nodes[i]);
	free(m->nodes);
	graph_release(&m->graph);
	strmap_free(m->ids);
	free(m->order);
	free(m->rank);
	free(m);
}

int
manifest_parse(const char *file, const char *text, size_t len,
    struct manifest **mp, struct diags *d)
{
	return manifest_parse_max(file, text, len, MANIFEST_MAX_BYTES, mp, d);
}

static int	parse_owned(const char *, const char *, size_t, size_t,
    struct manifest **, struct diags *, char *);

int
manifest_parse_max(const char *file, const char *text, size_t len,
    size_t max, struct manifest **mp, struct diags *d)
{
	return parse_owned(file, text, len, max, mp, d, NULL);
}

/* manifest_parse_max; owned (text itself, or NULL) is freed as soon as
 * the tree is built: the text of a large manifest and the nodes made from
 * it are not held at once. */
static int
parse_owned(const char *file, const char *text, size_t len, size_t max,
    struct manifest **mp, struct diags *d, char *owned)
{
	struct ctx c;
	struct ynode *root;
	const char *nul;
	size_t k;
	int line, col;

	*mp = NULL;
	memset(&c, 0, sizeof c);
	c.file = file;
	c.d = d;
	if (max > MANIFEST_MAX_SIZE)
		max = MANIFEST_MAX_SIZE;
	if (len > max) {
		diags_add(d, 0, 0, "manifest is larger than %zu bytes "
		    "(--max-size raises the bound)", max);
		free(owned);
		return 1;
	}
	if ((nul = memchr(text, '\0', len)) != NULL) {
		text_position(text, len, (size_t)(nul - text), &line, &col);
		diags_add(d, line, col, "manifest contains a NUL byte");
		diags_sort(d);
		free(owned);
		return 1;
	}
	c.m = xcalloc(1, sizeof *c.m);
	root = yaml_build(&c, text, len);
	free(owned);
	owned = NULL;
	if (root != NULL) {
		c.maxvisits = 2 * c.ntree + MANIFEST_ALIAS_VISITS;
		parse_top(&c, root);
	}
	arena_free(&c.arena);
	strmap_free(c.pools);
	free(c.mark);
	free(c.pairidx);
	for (k = 0; k < c.nineeds; k++)
		free(c.ineeds[k].label);
	free(c.ineeds);
	if (c.nerr > 0 || c.stop) {
		manifest_free(c.m);
		diags_sort(d);
		return 1;
	}
	*mp = c.m;
	return 0;
}

/* Read at most max + 1 bytes of fd (a regular file's size is allocated
 * at once: a large manifest is not held twice while it grows). */
static int
manifest_read(int fd, const char *name, size_t max, char **bufp, size_t *lenp,
    char **cause)
{
	size_t cap = 65536, len = 0, want;
	struct stat st;
	char *buf;
	ssize_t n;

	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size < (uint64_t)max)
		cap = (size_t)st.st_size + 2;
	buf = xmalloc(cap);

	for (;;) {
		if (len == cap) {
			cap = cap * 2 > max + 2 ? max + 2 : cap * 2;
			buf = xreallocarray(buf, cap, 1);
		}
		want = cap - len;
		if (want > max + 1 - len)
			want = max + 1 - len;
		if (want == 0)
			break;
		n = read(fd, buf + len, want);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (cause != NULL)
				*cause = xasprintf("cannot read '%s': %s",
				    name, strerror(errno));
			free(buf);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*bufp = buf;
	*lenp = len;
	return 0;
}

int
manifest_load(const char *path, struct manifest **mp, struct diags *d,
    char **cause)
{
	return manifest_load_max(path, MANIFEST_MAX_BYTES, mp, d, cause);
}

int
manifest_load_max(const char *path, size_t max, struct manifest **mp,
    struct diags *d, char **cause)
{
	char *buf;
	size_t len;
	int fd, rc, saved;

	*mp = NULL;
	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		saved = errno;
		if (cause != NULL)
			*cause = xasprintf("cannot open '%s': %s", path,
			    strerror(saved));
		errno = saved;
		return -1;
	}
	if (max > MANIFEST_MAX_SIZE)
		max = MANIFEST_MAX_SIZE;
	rc = manifest_read(fd, path, max, &buf, &len, cause);
	saved = errno;
	if (fd != STDIN_FILENO)
		close(fd);
	if (rc != 0) {
		errno = saved;
		return -1;
	}
	return parse_owned(path, buf, len, max, mp, d, buf);
}

long
manifest_find(const struct manifest *m, const char *id)
{
	size_t v;

	if (m == NULL || m->ids == NULL || !strmap_get(m->ids, id, &v))
		return -1;
	return (long)v;
}
