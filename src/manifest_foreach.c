/* foreach (interface §9): the key, the instances of a node over a list or a
 * crossed map of lists (made when the manifest is read), needs on one
 * instance, and a dynamic foreach expanded while the job runs.
 *
 * An instance is a whole node of its own (id NODE[LABEL], or
 * NODE[K1=L1,K2=L2] for a crossed map), a copy of the node as written with
 * its item; the node as written is no node any more, only a group name:
 * `needs: [NODE]` needs every instance. A dynamic foreach stays one node
 * (its group) until the job expands it: the first instance then takes its
 * place, the others go at the end of the nodes. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "manifest_int.h"
#include "strbuf.h"
#include "strmap.h"
#include "xmalloc.h"

static const char *const dyn_keys[] = { "from", "key", NULL };

void
foreach_names_each(void (*fn)(void *, const char *, const char *), void *arg)
{
	names_each(fn, arg, "key foreach", dyn_keys);
}

void
foreach_spec_free(struct foreach_spec *f)
{
	size_t k;

	if (f == NULL)
		return;
	for (k = 0; k < f->nkeys; k++) {
		free(f->keys[k]);
		strv_free(f->vals[k], f->nvals[k]);
	}
	free(f->keys);
	free(f->vals);
	free(f->nvals);
	free(f->key);
	free(f);
}

/* A character of a $DAGEXEC_OUTPUT key (kvfile.c). */
static bool
value_key_ok(const char *s)
{
	if (*s == '\0')
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_.-") == strlen(s);
}

/* The items of one list of the foreach at key (a name for messages); 0
 * when the list is bad (reported). */
static int
foreach_list(struct ctx *c, const char *key, const struct ynode *v,
    struct foreach_spec *f)
{
	const struct ynode *it;
	char **vals;
	size_t i;

	if (want_seq(c, key, v) != 1)
		return 0;
	if (v->n == 0) {
		yerr(c, v, "'%s' must not be empty", key);
		return 0;
	}
	vals = xcalloc(v->n + 1, sizeof *vals);
	for (i = 0; i < v->n; i++) {
		it = v->u.kids[i];
		if (it->type != Y_SCALAR || is_null(it)) {
			yerr(c, it, "items of '%s' must be strings or numbers, "
			    "not %s", key, ydesc(it));
			strv_free(vals, i);
			return 0;
		}
		vals[i] = xstrdup(it->u.s);
	}
	f->keys = xreallocarray(f->keys, f->nkeys + 1, sizeof *f->keys);
	f->vals = xreallocarray(f->vals, f->nkeys + 1, sizeof *f->vals);
	f->nvals = xreallocarray(f->nvals, f->nkeys + 1, sizeof *f->nvals);
	f->keys[f->nkeys] = NULL;
	f->vals[f->nkeys] = vals;
	f->nvals[f->nkeys] = v->n;
	f->nkeys++;
	return 1;
}

/* The name of $DAGEXEC_ITEM_<KEY> after the prefix: upper case, '-' and
 * '.' made '_'. */
static char *
item_var(const char *key)
{
	char *s = xstrdup(key), *p;

	for (p = s; *p != '\0'; p++) {
		if (*p == '-' || *p == '.')
			*p = '_';
		else if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	}
	return s;
}

/* foreach: {from: NEED, key: KEY}. */
static void
foreach_dynamic(struct ctx *c, const struct ynode *v, struct foreach_spec *f,
    const struct node *n, size_t self)
{
	struct mapit it;
	struct ynode *k, *val;
	const char *s, *sg;
	size_t idx;
	bool have_from = false, have_key = false;

	mapit_init(&it, v);
	while (map_next(c, &it, &k, &val)) {
		switch (key_index(k->u.s, dyn_keys)) {
		case 0:
			have_from = true;
			if (get_str(c, "foreach.from", val, &s) != 1)
				break;
			f->from_pos.line = val->line;
			f->from_pos.col = val->col;
			if (!strmap_get(c->m->ids, s, &idx)) {
				sg = suggest_node(c, s, self);
				if (sg != NULL)
					yerr(c, val, "unknown node '%s' in "
					    "'foreach.from' (did you mean "
					    "'%s'?)", s, sg);
				else
					yerr(c, val, "unknown node '%s' in "
					    "'foreach.from'", s);
				break;
			}
			if (idx == self) {
				yerr(c, val, "node '%s' cannot expand over "
				    "its own values", n->id);
				break;
			}
			f->from = idx;
			break;
		case 1:
			have_key = true;
			if (get_str(c, "foreach.key", val, &s) != 1)
				break;
			if (!value_key_ok(s)) {
				yerr(c, val, "invalid value key '%s' in "
				    "'foreach.key' (expected [A-Za-z0-9_.-]+, "
				    "as written to $DAGEXEC_OUTPUT)", s);
				break;
			}
			free(f->key);
			f->key = xstrdup(s);
			f->key_pos.line = val->line;
			f->key_pos.col = val->col;
			break;
		default:
			unknown_key(c, k, "foreach key", dyn_keys, 2);
			break;
		}
	}
	mapit_release(&it);
	if (!have_from)
		yerr(c, v, "missing required key 'from' in 'foreach' (the "
		    "node whose value lists the items)");
	if (!have_key)
		yerr(c, v, "missing required key 'key' in 'foreach' (the "
		    "value whose lines are the items)");
}

/* foreach: {K1: [...], K2: [...]}, crossed. */
static void
foreach_crossed(struct ctx *c, const struct ynode *v, struct foreach_spec *f)
{
	struct mapit it;
	struct ynode *k, *val;
	struct strmap *vars;
	char **names, *key;
	size_t i, nnames = 0, old;

	vars = strmap_new(v->n / 2 + 1);
	names = xcalloc(v->n / 2 + 1, sizeof *names);
	mapit_init(&it, v);
	while (map_next(c, &it, &k, &val)) {
		if (!valid_id(k->u.s, k->n)) {
			yerr(c, k, "invalid foreach key '%s' (expected "
			    "[A-Za-z0-9._-]{1,64})", k->u.s);
			continue;
		}
		names[nnames] = item_var(k->u.s);
		if (strmap_put(vars, names[nnames], nnames, &old) != 0) {
			yerr(c, k, "foreach keys '%s' and '%s' give the same "
			    "variable $DAGEXEC_ITEM_%s", f->keys[old], k->u.s,
			    names[nnames]);
			free(names[nnames]);
			continue;
		}
		nnames++;
		key = xasprintf("foreach.%s", k->u.s);
		if (foreach_list(c, key, val, f) == 1)
			f->keys[f->nkeys - 1] = xstrdup(k->u.s);
		else {
			/* keep keys[] aligned with names[] for messages */
			f->keys = xreallocarray(f->keys, f->nkeys + 1,
			    sizeof *f->keys);
			f->vals = xreallocarray(f->vals, f->nkeys + 1,
			    sizeof *f->vals);
			f->nvals = xreallocarray(f->nvals, f->nkeys + 1,
			    sizeof *f->nvals);
			f->keys[f->nkeys] = xstrdup(k->u.s);
			f->vals[f->nkeys] = NULL;
			f->nvals[f->nkeys] = 0;
			f->nkeys++;
		}
		free(key);
	}
	mapit_release(&it);
	for (i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	strmap_free(vars);
}

/* How many instances f makes, at most MANIFEST_INSTANCES_MAX + 1. */
static size_t
foreach_count(const struct foreach_spec *f)
{
	size_t k, n = 1;

	for (k = 0; k < f->nkeys; k++) {
		if (f->nvals[k] == 0)
			return 0;
		if (n > (MANIFEST_INSTANCES_MAX + 1) / f->nvals[k])
			return MANIFEST_INSTANCES_MAX + 1;
		n *= f->nvals[k];
	}
	return n > MANIFEST_INSTANCES_MAX ? MANIFEST_INSTANCES_MAX + 1 : n;
}

void
parse_foreach(struct ctx *c, const struct ynode *k, const struct ynode *v,
    struct node *n, size_t self)
{
	struct foreach_spec *f;
	size_t i, cnt, nerr = c->nerr;
	bool dynamic = false;

	if (n->extra != NULL) {
		foreach_spec_free(n->extra->foreach);
		n->extra->foreach = NULL;
	}
	f = xcalloc(1, sizeof *f);
	f->pos.line = k->line;
	f->pos.col = k->col;
	f->from = SIZE_MAX;
	if (v->type == Y_SEQ)
		(void)foreach_list(c, "foreach", v, f);
	else if (v->type == Y_MAP) {
		for (i = 0; i + 1 < v->n; i += 2)
			if (v->u.kids[i]->type == Y_SCALAR &&
			    key_index(v->u.kids[i]->u.s, dyn_keys) >= 0)
				dynamic = true;
		if (v->n == 0)
			yerr(c, v, "'foreach' must not be empty");
		else if (dynamic)
			foreach_dynamic(c, v, f, n, self);
		else
			foreach_crossed(c, v, f);
	} else
		yerr(c, v, "'foreach' must be a list, a mapping of lists or "
		    "{from: NODE, key: KEY}, not %s", ydesc(v));
	if (!dynamic && f->nkeys > 0 && c->nerr == nerr &&
	    (cnt = foreach_count(f)) > MANIFEST_INSTANCES_MAX)
		yerr(c, k, "'foreach' of node '%s' makes more than %d "
		    "instances (at most %d a node)", n->id,
		    MANIFEST_INSTANCES_MAX, MANIFEST_INSTANCES_MAX);
	if (c->nerr != nerr) {
		foreach_spec_free(f);
		return;
	}
	node_extra_own(n)->foreach = f;
}

bool
foreach_need(struct ctx *c, const struct ynode *it, const char *s,
    size_t self)
{
	const char *lb = strchr(s, '['), *rb;
	struct ineed *in;
	size_t base, len = strlen(s);
	char *b;

	if (lb == NULL || lb == s || len < 3 || s[len - 1] != ']' ||
	    lb + 1 == s + len - 1)
		return false;
	rb = s + len - 1;
	b = xstrndup(s, (size_t)(lb - s));
	if (!strmap_get(c->m->ids, b, &base)) {
		free(b);
		return false;
	}
	free(b);
	if (self == SIZE_MAX)
		return false;
	xgrow(&c->ineeds, &c->ineedcap, c->nineeds + 1, sizeof *c->ineeds);
	in = &c->ineeds[c->nineeds++];
	in->node = self;
	in->base = base;
	in->label = xstrndup(lb + 1, (size_t)(rb - lb - 1));
	in->line = it->line;
	in->col = it->col;
	return true;
}

/* ---- labels and ids ------------------------------------------------- */

char **
manifest_labels(const char *const *items, size_t n)
{
	struct strmap *seen;
	char **labels, num[32];
	size_t *work, nwork = 0, j, k, p;
	bool *dup;

	labels = xcalloc(n + 1, sizeof *labels);
	dup = xcalloc(n + 1, sizeof *dup);
	work = xcalloc(n + 1, sizeof *work);
	seen = strmap_new(n);
	for (j = 0; j < n; j++)
		if (strmap_put(seen, items[j], j, &k) != 0)
			dup[j] = dup[k] = true;
	strmap_free(seen);
	/* the item where it is a valid, unique id; the place of the others */
	seen = strmap_new(n);
	for (j = 0; j < n; j++) {
		if (!dup[j] && valid_id(items[j], strlen(items[j])))
			(void)strmap_put(seen, items[j], j, NULL);
		else
			work[nwork++] = j;
	}
	/*
	 * An item that reads as the place of one that shows its place
	 * ("3" beside a third item that is no id) shows its own place too,
	 * which may take another's: each item is taken once at most.
	 */
	while (nwork > 0) {
		p = work[--nwork];
		dup[p] = true;
		snprintf(num, sizeof num, "%zu", p + 1);
		if (strmap_get(seen, num, &k) && !dup[k] && k != p)
			work[nwork++] = k;
	}
	for (j = 0; j < n; j++) {
		if (dup[j])
			labels[j] = xasprintf("%zu", j + 1);
		else
			labels[j] = xstrdup(items[j]);
	}
	strmap_free(seen);
	free(work);
	free(dup);
	return labels;
}

/* The labels of every key of f: lab[k][v]. */
static char ***
spec_labels(const struct foreach_spec *f)
{
	char ***lab = xcalloc(f->nkeys + 1, sizeof *lab);
	size_t k;

	for (k = 0; k < f->nkeys; k++)
		lab[k] = manifest_labels((const char *const *)f->vals[k],
		    f->nvals[k]);
	return lab;
}

static void
spec_labels_free(const struct foreach_spec *f, char ***lab)
{
	size_t k;

	for (k = 0; k < f->nkeys; k++)
		strv_free(lab[k], f->nvals[k]);
	free(lab);
}

/* The id of the instance at odometer position pos[] of group: NODE[L] or
 * NODE[K1=L1,K2=L2]. */
static char *
instance_id(const char *group, const struct foreach_spec *f, char ***lab,
    const size_t *pos)
{
	struct strbuf b = STRBUF_INIT;
	size_t k;

	strbuf_str(&b, group);
	strbuf_lit(&b, "[");
	for (k = 0; k < f->nkeys; k++) {
		if (k > 0)
			strbuf_lit(&b, ",");
		if (f->keys[k] != NULL) {
			strbuf_str(&b, f->keys[k]);
			strbuf_lit(&b, "=");
		}
		strbuf_str(&b, lab[k][pos[k]]);
	}
	strbuf_lit(&b, "]");
	return b.s;
}

/* Make instance number inst (1-based) of group into n (its definition
 * there already): id, group, item. */
static void
instance_set(struct node *n, const char *group, const struct foreach_spec *f,
    char ***lab, const size_t *pos, size_t inst)
{
	struct node_extra *x = node_extra_own(n);
	size_t k;

	free(n->id);
	n->id = instance_id(group, f, lab, pos);
	free(x->group);
	x->group = xstrdup(group);
	x->inst = inst;
	kvlist_free(&x->item);
	x->item.v = xcalloc(f->nkeys + 1, sizeof *x->item.v);
	for (k = 0; k < f->nkeys; k++) {
		x->item.v[k].key = f->keys[k] != NULL ? xstrdup(f->keys[k]) :
		    NULL;
		x->item.v[k].value = xstrdup(f->vals[k][pos[k]]);
	}
	x->item.n = f->nkeys;
}

/* The next odometer position, first key slowest. */
static void
odometer_next(const struct foreach_spec *f, size_t *pos)
{
	size_t k;

	for (k = f->nkeys; k > 0; k--) {
		if (++pos[k - 1] < f->nvals[k - 1])
			return;
		pos[k - 1] = 0;
	}
}

/* ---- the expansion when the manifest is read ------------------------ */

struct fex {
	struct ctx	*c;
	struct node	*old;		/* the nodes as written */
	size_t		 nold;
	size_t		*first;		/* old -> its first new index */
	size_t		*cnt;		/* old -> how many */
	struct node	*nodes;		/* the new nodes */
	size_t		 n;
	struct strmap	*ids;		/* new ids */
	size_t		*mark;		/* per new node: last need list + 1 */
	size_t		 edges;
};

static bool
is_static(const struct node *n)
{
	const struct foreach_spec *f = node_extra(n)->foreach;

	return f != NULL && f->from == SIZE_MAX && f->key == NULL;
}

/* The instances of old node i into fx->nodes from fx->first[i]; false
 * when an id is too long (reported). */
static bool
fex_instances(struct fex *fx, size_t i)
{
	const struct node *o = &fx->old[i];
	const struct foreach_spec *f = node_extra(o)->foreach;
	struct node *n;
	char ***lab;
	size_t *pos, q;
	bool ok = true;

	lab = spec_labels(f);
	pos = xcalloc(f->nkeys + 1, sizeof *pos);
	for (q = 0; q < fx->cnt[i]; q++) {
		n = &fx->nodes[fx->first[i] + q];
		node_copy(n, o);
		instance_set(n, o->id, f, lab, pos, q + 1);
		if (ok && strlen(n->id) > MANIFEST_INSTANCE_ID_MAX) {
			ctx_err(fx->c, f->pos.line, f->pos.col, "instance id "
			    "'%.80s...' of node '%s' is longer than %d bytes "
			    "(shorten the keys or the items)", n->id, o->id,
			    MANIFEST_INSTANCE_ID_MAX);
			ok = false;
		}
		odometer_next(f, pos);
	}
	free(pos);
	spec_labels_free(f, lab);
	return ok;
}

/* Add new node x to the needs being built in (v, *nv) once. */
static void
need_add(struct fex *fx, size_t self, size_t x, size_t **v, size_t *nv,
    size_t *cap)
{
	if (fx->mark[x] == self + 1)
		return;
	fx->mark[x] = self + 1;
	xgrow(v, cap, *nv + 1, sizeof **v);
	(*v)[(*nv)++] = x;
}

/* An instance need of old node i, into the list being built; false when
 * it names no instance (reported). */
static bool
fex_ineed(struct fex *fx, size_t i, const struct ineed *in, size_t **v,
    size_t *nv, size_t *cap)
{
	const struct node *b = &fx->old[in->base];
	const struct foreach_spec *bf = node_extra(b)->foreach;
	char *id;
	size_t x;

	if (in->base == i) {
		ctx_err(fx->c, in->line, in->col, "node '%s' needs '%s[%s]', "
		    "one of its own instances", b->id, b->id, in->label);
		return false;
	}
	if (bf == NULL) {
		ctx_err(fx->c, in->line, in->col, "node '%s' needs "
		    "'%s[%s]', but '%s' has no foreach", fx->old[i].id, b->id,
		    in->label, b->id);
		return false;
	}
	if (!is_static(b)) {
		ctx_err(fx->c, in->line, in->col, "node '%s' needs "
		    "'%s[%s]', but the instances of '%s' are known only when "
		    "'%s' has run (need '%s': all of them)", fx->old[i].id,
		    b->id, in->label, b->id, fx->old[bf->from].id,
		    b->id);
		return false;
	}
	id = xasprintf("%s[%s]", b->id, in->label);
	if (!strmap_get(fx->ids, id, &x)) {
		ctx_err(fx->c, in->line, in->col, "node '%s' needs unknown "
		    "instance '%s' (its instances are '%s' to '%s')",
		    fx->old[i].id, id, fx->nodes[fx->first[in->base]].id,
		    fx->nodes[fx->first[in->base] + fx->cnt[in->base] - 1].id);
		free(id);
		return false;
	}
	free(id);
	need_add(fx, fx->first[i], x, v, nv, cap);
	return true;
}

/* The needs (and the groups needed whole) of every new node of old node
 * i. */
static void
fex_needs(struct fex *fx, size_t i)
{
	const struct node *o = &fx->old[i];
	const struct foreach_spec *of = node_extra(o)->foreach;
	struct node_extra *x;
	struct node *n;
	size_t *v = NULL, nv = 0, cap = 0, k, q, g = 0, f;
	char **groups;

	groups = xcalloc(o->nneeds + 1, sizeof *groups);
	for (k = 0; k < o->nneeds; k++) {
		f = o->needs[k];
		for (q = 0; q < fx->cnt[f]; q++)
			need_add(fx, fx->first[i], fx->first[f] + q, &v, &nv,
			    &cap);
		if (node_extra(&fx->old[f])->foreach != NULL)
			groups[g++] = xstrdup(fx->old[f].id);
	}
	/* a dynamic foreach needs the node it expands over */
	if (of != NULL && of->from != SIZE_MAX) {
		f = of->from;
		if (node_extra(&fx->old[f])->foreach != NULL)
			ctx_err(fx->c, of->from_pos.line,
			    of->from_pos.col, "'foreach.from' of node "
			    "'%s' names '%s', which has a foreach itself",
			    o->id, fx->old[f].id);
		else
			need_add(fx, fx->first[i], fx->first[f], &v, &nv,
			    &cap);
	}
	for (k = 0; k < fx->c->nineeds; k++)
		if (fx->c->ineeds[k].node == i)
			(void)fex_ineed(fx, i, &fx->c->ineeds[k], &v, &nv,
			    &cap);
	fx->edges += nv * fx->cnt[i];
	if (fx->edges > MANIFEST_MAX_EDGES) {
		if (!fx->c->stop)
			ctx_err(fx->c, o->pos.line, o->pos.col, "the needs of "
			    "the nodes make more than %d edges once foreach "
			    "is expanded", MANIFEST_MAX_EDGES);
		fx->c->stop = true;
	}
	for (q = 0; q < fx->cnt[i] && !fx->c->stop; q++) {
		n = &fx->nodes[fx->first[i] + q];
		n->needs = xcalloc(nv + 1, sizeof *n->needs);
		if (nv > 0)
			memcpy(n->needs, v, nv * sizeof *v);
		n->nneeds = nv;
		/* a node that needs no foreach node whole has no record */
		if (g == 0)
			continue;
		x = node_extra_own(n);
		x->need_groups = xcalloc(g + 1, sizeof *x->need_groups);
		for (k = 0; k < g; k++)
			x->need_groups[k] = xstrdup(groups[k]);
		x->nneed_groups = g;
	}
	strv_free(groups, g);
	free(v);
}

void
foreach_expand(struct ctx *c)
{
	struct manifest *m = c->m;
	const struct foreach_spec *f;
	struct fex fx;
	size_t i, q, total = 0, nfe = 0;

	for (i = 0; i < m->nnodes; i++)
		if (node_extra(&m->nodes[i])->foreach != NULL)
			nfe++;
	if (nfe == 0 && c->nineeds == 0)
		return;
	memset(&fx, 0, sizeof fx);
	fx.c = c;
	fx.old = m->nodes;
	fx.nold = m->nnodes;
	fx.first = xcalloc(m->nnodes + 1, sizeof *fx.first);
	fx.cnt = xcalloc(m->nnodes + 1, sizeof *fx.cnt);
	for (i = 0; i < m->nnodes; i++) {
		fx.first[i] = total;
		fx.cnt[i] = is_static(&m->nodes[i]) ?
		    foreach_count(m->nodes[i].extra->foreach) : 1;
		total += fx.cnt[i];
	}
	if (total > MANIFEST_MAX_NODES) {
		ctx_err(c, 0, 0, "more than %d nodes once foreach is expanded",
		    MANIFEST_MAX_NODES);
		c->stop = true;
		goto out;
	}
	fx.nodes = xcalloc(total + 1, sizeof *fx.nodes);
	fx.n = total;
	for (i = 0; i < m->nnodes; i++) {
		if (is_static(&m->nodes[i])) {
			(void)fex_instances(&fx, i);
			continue;
		}
		/* moved, not copied: its needs are made below */
		fx.nodes[fx.first[i]] = m->nodes[i];
		fx.nodes[fx.first[i]].needs = NULL;
		fx.nodes[fx.first[i]].nneeds = 0;
		if (node_extra(&m->nodes[i])->foreach != NULL)
			fx.nodes[fx.first[i]].extra->group =
			    xstrdup(m->nodes[i].id);
	}
	fx.ids = strmap_new(total);
	for (q = 0; q < total; q++)
		(void)strmap_put(fx.ids, fx.nodes[q].id, q, NULL);
	fx.mark = xcalloc(total + 1, sizeof *fx.mark);
	for (i = 0; i < m->nnodes && !c->stop; i++)
		fex_needs(&fx, i);
	/* the dynamic ones expand over a node that moved */
	for (q = 0; q < total; q++) {
		f = node_extra(&fx.nodes[q])->foreach;
		if (f != NULL && f->from != SIZE_MAX)
			fx.nodes[q].extra->foreach->from = fx.first[f->from];
	}
	/* the nodes as written: what was moved is not freed twice */
	for (i = 0; i < m->nnodes; i++) {
		if (is_static(&m->nodes[i]))
			manifest_node_release(&m->nodes[i]);
		else
			free(m->nodes[i].needs);
	}
	free(m->nodes);
	m->nodes = fx.nodes;
	m->nnodes = total;
	strmap_free(m->ids);
	m->ids = fx.ids;
out:
	free(fx.first);
	free(fx.cnt);
	free(fx.mark);
}

/* ---- the expansion while the job runs ------------------------------- */

size_t
manifest_items(const char *value, char **buf, const char ***items)
{
	char *p, *nl;
	size_t n = 0, cap = 0;

	*buf = xstrdup(value);
	*items = NULL;
	for (p = *buf; p != NULL; p = nl) {
		if ((nl = strchr(p, '\n')) != NULL)
			*nl++ = '\0';
		if (*p == '\0')
			continue;
		xgrow(items, &cap, n + 1, sizeof **items);
		(*items)[n++] = p;
	}
	return n;
}

int
manifest_expand(struct manifest *m, size_t t, const char *const *items,
    size_t nitems, char **cause)
{
	struct foreach_spec f;
	struct node *tn, *n;
	struct node_extra *tx, *x;
	const struct graph *g = &m->graph;
	char ***lab, *keys[1] = { NULL }, **vals, *group;
	const char *from;
	size_t pos[1], q, k, d, first = m->nnodes, nv;

	if (t >= m->nnodes || node_extra(&m->nodes[t])->foreach == NULL ||
	    nitems == 0) {
		*cause = xstrdup("no dynamic foreach to expand");
		return -1;
	}
	if (nitems > MANIFEST_INSTANCES_MAX) {
		*cause = xasprintf("%zu items: at most %d instances a node",
		    nitems, MANIFEST_INSTANCES_MAX);
		return -1;
	}
	vals = xcalloc(nitems, sizeof *vals);
	for (q = 0; q < nitems; q++)
		vals[q] = xstrdup(items[q]);
	memset(&f, 0, sizeof f);
	f.keys = keys;
	f.vals = &vals;
	f.nvals = &nitems;
	f.nkeys = 1;
	lab = spec_labels(&f);
	m->nodes = xreallocarray(m->nodes, m->nnodes + nitems - 1,
	    sizeof *m->nodes);
	tn = &m->nodes[t];
	tx = tn->extra;
	from = m->nodes[tx->foreach->from].id;
	for (q = 1; q < nitems; q++) {
		n = &m->nodes[first + q - 1];
		node_copy(n, tn);
		pos[0] = q;
		instance_set(n, tx->group, &f, lab, pos, q + 1);
		x = n->extra;
		x->item_from = xstrdup(from);
		x->item_key = xstrdup(tx->foreach->key);
		n->needs = xcalloc(tn->nneeds + 1, sizeof *n->needs);
		if (tn->nneeds > 0)
			memcpy(n->needs, tn->needs, tn->nneeds *
			    sizeof *n->needs);
		n->nneeds = tn->nneeds;
		if (tx->nneed_groups == 0)
			continue;
		x->need_groups = xcalloc(tx->nneed_groups + 1,
		    sizeof *x->need_groups);
		for (k = 0; k < tx->nneed_groups; k++)
			x->need_groups[k] = xstrdup(tx->need_groups[k]);
		x->nneed_groups = tx->nneed_groups;
	}
	pos[0] = 0;
	group = xstrdup(tx->group);
	instance_set(tn, group, &f, lab, pos, 1);
	free(group);
	tx->item_from = xstrdup(from);
	tx->item_key = xstrdup(tx->foreach->key);
	foreach_spec_free(tx->foreach);
	tx->foreach = NULL;
	spec_labels_free(&f, lab);
	strv_free(vals, nitems);
	/* whoever needed the node needs every instance */
	for (k = g->dep_off[t]; k < g->dep_off[t + 1]; k++) {
		d = g->dep[k];
		n = &m->nodes[d];
		nv = n->nneeds;
		n->needs = xreallocarray(n->needs, nv + nitems - 1 + 1,
		    sizeof *n->needs);
		for (q = 1; q < nitems; q++)
			n->needs[nv + q - 1] = first + q - 1;
		n->nneeds = nv + nitems - 1;
	}
	m->nnodes += nitems - 1;
	(void)manifest_reindex(m);
	return 0;
}

bool
manifest_named(const struct manifest *m, const char *name, bool *on)
{
	size_t i;
	bool any = false;
	long k;

	if ((k = manifest_find(m, name)) >= 0) {
		on[k] = true;
		return true;
	}
	for (i = 0; i < m->nnodes; i++)
		if (node_extra(&m->nodes[i])->group != NULL &&
		    strcmp(m->nodes[i].extra->group, name) == 0)
			on[i] = any = true;
	return any;
}

/* ---- warnings ------------------------------------------------------- */

void
manifest_lint(const struct manifest *m, struct diags *d)
{
	const struct foreach_spec *f;
	const struct node *n, *src;
	size_t i, k;
	bool said;

	for (i = 0; i < m->nnodes; i++) {
		n = &m->nodes[i];
		f = node_extra(n)->foreach;
		if (f == NULL || f->from == SIZE_MAX || f->key == NULL)
			continue;
		src = &m->nodes[f->from];
		said = src->run != NULL && strstr(src->run, f->key) != NULL;
		for (k = 0; !said && k < src->argc; k++)
			said = strstr(src->argv[k], f->key) != NULL;
		if (said)
			continue;
		diags_warn(d, f->key_pos.line, f->key_pos.col, "node '%s' "
		    "expands over value '%s' of '%s', which its command does "
		    "not mention: if '%s' writes no such value, '%s' is "
		    "skipped (reason empty)", n->extra->group != NULL ?
		    n->extra->group : n->id, f->key, src->id, src->id,
		    n->extra->group != NULL ? n->extra->group : n->id);
	}
}
