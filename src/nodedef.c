/* Canonical node definitions: each field as "NAME LEN:BYTES\n", so that no
 * value can pass for another field; environment and outputs sorted, as
 * their order changes nothing a node sees. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "nodedef.h"
#include "strbuf.h"
#include "strmap.h"
#include "xmalloc.h"

static void
def_str(struct strbuf *b, const char *name, const char *v)
{
	if (v == NULL)
		return;
	strbuf_str(b, name);
	strbuf_lit(b, " ");
	strbuf_int(b, (int64_t)strlen(v));
	strbuf_lit(b, ":");
	strbuf_str(b, v);
	strbuf_lit(b, "\n");
}

static void
def_int(struct strbuf *b, const char *name, int64_t v)
{
	strbuf_str(b, name);
	strbuf_lit(b, " ");
	strbuf_int(b, v);
	strbuf_lit(b, "\n");
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
cmp_kv(const void *a, const void *b)
{
	return strcmp(((const struct kv *)a)->key,
	    ((const struct kv *)b)->key);
}

/* The manifest's env with the node's over it, sorted by name. */
static void
def_env(struct strbuf *b, const struct manifest *m, const struct node *n)
{
	struct kv *v;
	size_t cap = m->env.n + n->env.n, nv = 0, k, q;

	v = xcalloc(cap > 0 ? cap : 1, sizeof *v);
	for (k = 0; k < m->env.n + n->env.n; k++) {
		const struct kv *e = k < m->env.n ? &m->env.v[k] :
		    &n->env.v[k - m->env.n];

		for (q = 0; q < nv && strcmp(v[q].key, e->key) != 0; q++)
			;
		v[q] = *e;
		if (q == nv)
			nv++;
	}
	qsort(v, nv, sizeof *v, cmp_kv);
	for (k = 0; k < nv; k++) {
		def_str(b, "env", v[k].key);
		def_str(b, "=", v[k].value);
	}
	free(v);
}

static void
def_http(struct strbuf *b, const struct http_spec *h)
{
	size_t k;

	def_str(b, "url", h->url);
	def_str(b, "method", h->method);
	for (k = 0; k < h->headers.n; k++) {
		def_str(b, "header", h->headers.v[k].key);
		def_str(b, ":", h->headers.v[k].value);
	}
	def_str(b, "body", h->body);
	def_str(b, "body_file", h->body_file);
	def_str(b, "save", h->save);
	def_str(b, "sha256", h->sha256);
	for (k = 0; k < h->nexpect; k++)
		def_int(b, "expect", h->expect[k]);
	def_int(b, "follow_redirects", h->follow_redirects);
	def_int(b, "max_bytes", h->max_bytes);
	def_int(b, "insecure", h->insecure);
}

static void
def_slurm(struct strbuf *b, const struct slurm_spec *s)
{
	size_t k;

	def_str(b, "partition", s->partition);
	def_str(b, "account", s->account);
	def_str(b, "qos", s->qos);
	def_int(b, "cpus", s->cpus);
	def_int(b, "mem", s->mem);
	def_int(b, "time", s->time_ms);
	def_str(b, "gres", s->gres);
	for (k = 0; k < s->nextra; k++)
		def_str(b, "extra", s->extra[k]);
}

static int
cmp_kv_key(const void *a, const void *b)
{
	const struct kv *const *x = a, *const *y = b;

	return strcmp((*x)->key, (*y)->key);
}

/* Which secrets, from which files, sorted by name (their values are not
 * part of the definition); nothing when it has none, so that the keys of
 * nodes without secrets stay what they were. */
static void
def_secrets(struct strbuf *b, const struct node *n)
{
	const struct kvlist *sec = &node_extra(n)->secrets;
	const struct kv **v;
	size_t k;

	if (sec->n == 0)
		return;
	v = xcalloc(sec->n, sizeof *v);
	for (k = 0; k < sec->n; k++)
		v[k] = &sec->v[k];
	qsort(v, sec->n, sizeof *v, cmp_kv_key);
	for (k = 0; k < sec->n; k++) {
		def_str(b, "secret", v[k]->key);
		def_str(b, "=", v[k]->value);
	}
	free(v);
}

char *
nodedef_canon(const struct manifest *m, size_t i, size_t *len)
{
	const struct node *n = &m->nodes[i];
	const struct node_extra *x = node_extra(n);
	struct strbuf b = STRBUF_INIT;
	char **outs;
	size_t k;
	int l;

	def_int(&b, "kind", n->kind);
	def_str(&b, "run", n->run);
	for (k = 0; k < n->argc; k++)
		def_str(&b, "argv", n->argv[k]);
	if (n->http != NULL)
		def_http(&b, n->http);
	def_env(&b, m, n);
	for (l = 0; l < LIMIT__COUNT; l++)
		if (node_limit_set(n, l)) {
			def_int(&b, "limit", l);
			def_int(&b, "=", node_limit(n, l));
		}
	outs = xcalloc(n->noutputs + 1, sizeof *outs);
	if (n->noutputs > 0)
		memcpy(outs, n->outputs, n->noutputs * sizeof *outs);
	qsort(outs, n->noutputs, sizeof *outs, cmp_str);
	for (k = 0; k < n->noutputs; k++)
		def_str(&b, "output", outs[k]);
	free(outs);
	def_int(&b, "executor", n->executor);
	if (n->executor == EXECUTOR_SLURM)
		def_slurm(&b, node_slurm(n));
	/* a foreach instance's item: two instances run the same command
	 * on different items */
	for (k = 0; k < x->item.n; k++) {
		def_str(&b, "item", x->item.v[k].key != NULL ?
		    x->item.v[k].key : "");
		def_str(&b, "=", x->item.v[k].value);
	}
	if (x->foreach != NULL && x->foreach->from < m->nnodes) {
		def_str(&b, "foreach_from", m->nodes[x->foreach->from].id);
		def_str(&b, "foreach_key", x->foreach->key);
	}
	def_secrets(&b, n);
	if (b.s == NULL)
		b.s = xstrdup("");
	*len = b.len;
	return b.s;
}

/* The ids of node i's needs, sorted, one a line. */
static char *
def_needs(const struct manifest *m, size_t i)
{
	const struct node *n = &m->nodes[i];
	struct strbuf b = STRBUF_INIT;
	const char **ids;
	size_t k;

	ids = xcalloc(n->nneeds + 1, sizeof *ids);
	for (k = 0; k < n->nneeds; k++)
		ids[k] = m->nodes[n->needs[k]].id;
	qsort(ids, n->nneeds, sizeof *ids, cmp_str);
	for (k = 0; k < n->nneeds; k++)
		def_str(&b, "need", ids[k]);
	free(ids);
	return b.s != NULL ? b.s : xstrdup("");
}

/* Append 'id' to a comma-separated list. */
static void
list_add(struct strbuf *b, const char *id)
{
	if (b->len > 0)
		strbuf_lit(b, ", ");
	strbuf_lit(b, "'");
	strbuf_str(b, id);
	strbuf_lit(b, "'");
}

static bool
node_differs(const struct manifest *a, size_t ia, const struct manifest *b,
    size_t ib)
{
	char *ca, *cb;
	size_t la, lb;
	bool d;

	ca = nodedef_canon(a, ia, &la);
	cb = nodedef_canon(b, ib, &lb);
	d = la != lb || memcmp(ca, cb, la) != 0;
	free(ca);
	free(cb);
	if (!d) {
		ca = def_needs(a, ia);
		cb = def_needs(b, ib);
		d = strcmp(ca, cb) != 0;
		free(ca);
		free(cb);
	}
	return d;
}

size_t
nodedef_diff(const struct manifest *a, const struct manifest *b,
    bool *changed, char **only_a, char **only_b)
{
	struct strbuf la = STRBUF_INIT, lb = STRBUF_INIT;
	size_t i, nonly = 0;
	long k;

	for (i = 0; i < b->nnodes; i++) {
		k = manifest_find(a, b->nodes[i].id);
		if (k < 0) {
			changed[i] = true;
			list_add(&lb, b->nodes[i].id);
			nonly++;
		} else
			changed[i] = node_differs(a, (size_t)k, b, i);
	}
	for (i = 0; i < a->nnodes; i++)
		if (manifest_find(b, a->nodes[i].id) < 0) {
			list_add(&la, a->nodes[i].id);
			nonly++;
		}
	*only_a = la.s;
	*only_b = lb.s;
	return nonly;
}
