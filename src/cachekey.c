/* A node's cache key: everything its result depends on that dagexec can
 * see, framed field by field into one SHA-256 (cache.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "nodedef.h"
#include "strbuf.h"
#include "xmalloc.h"

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The value of name in env (NAME=VALUE strings), or NULL when unset. */
static const char *
env_value(char *const *env, const char *name)
{
	size_t len = strlen(name);

	for (; env != NULL && *env != NULL; env++)
		if (strncmp(*env, name, len) == 0 && (*env)[len] == '=')
			return *env + len + 1;
	return NULL;
}

/* Copies of v, sorted (the order a manifest lists them in changes
 * nothing). */
static char **
sorted(char *const *v, size_t n)
{
	char **s = xcalloc(n + 1, sizeof *s);

	if (n > 0) {
		memcpy(s, v, n * sizeof *s);
		qsort(s, n, sizeof *s, cmp_str);
	}
	return s;
}

/* Each need, by id: the values it passes on and its declared outputs'
 * content, as this node gets them. */
static int
key_needs(struct cache_hash *h, const struct cache_keyin *in, char **cause)
{
	const struct node *n = &in->m->nodes[in->node], *d;
	size_t *order, k, q, t;
	char *rel;
	bool missing;
	int rc = 0;

	order = xcalloc(n->nneeds + 1, sizeof *order);
	for (k = 0; k < n->nneeds; k++) {
		/* insertion sort by id: needs are few */
		for (q = k; q > 0 && strcmp(in->m->nodes[n->needs[
		    order[q - 1]]].id, in->m->nodes[n->needs[k]].id) > 0; q--)
			order[q] = order[q - 1];
		order[q] = k;
	}
	for (k = 0; k < n->nneeds && rc == 0; k++) {
		t = order[k];
		d = &in->m->nodes[n->needs[t]];
		cache_hash_str(h, "need", d->id);
		for (q = 0; in->need_values != NULL && q < in->nneed_values[t];
		    q++) {
			cache_hash_str(h, "in", in->need_values[t][q].key);
			cache_hash_str(h, "=", in->need_values[t][q].value);
		}
		/* by content, not by who made it: a need that ran again
		 * and made the same bytes leaves the key as it was */
		for (q = 0; q < d->noutputs && rc == 0; q++) {
			rel = xasprintf("%s/%s", d->id, d->outputs[q]);
			cache_hash_str(h, "need-output", d->outputs[q]);
			rc = cache_hash_path(h, "content", in->outputs_fd, rel,
			    false, &missing, cause);
			free(rel);
		}
	}
	free(order);
	return rc;
}

int
cache_node_key(const struct cache_keyin *in, char key[CACHE_KEY_LEN + 1],
    char **warn, char **cause)
{
	const struct node *n = &in->m->nodes[in->node];
	const struct cache_spec *cs = node_cache(n);
	struct strbuf w = STRBUF_INIT;
	struct cache_hash *h;
	char *def, **names;
	size_t len, k, nmatch;

	*warn = NULL;
	h = cache_hash_new();
	cache_hash_str(h, "dagexec-node-key", "1");
	cache_hash_str(h, "id", n->id);
	def = nodedef_canon(in->m, in->node, &len);
	cache_hash_add(h, "definition", def, len);
	free(def);
	if (key_needs(h, in, cause) != 0)
		goto fail;
	names = sorted(cs->env, cs->nenv);
	for (k = 0; k < cs->nenv; k++) {
		cache_hash_str(h, "env", names[k]);
		cache_hash_str(h, "=", env_value(in->env, names[k]));
	}
	free(names);
	names = sorted(cs->inputs, cs->ninputs);
	for (k = 0; k < cs->ninputs; k++) {
		if (cache_hash_glob(h, in->workdir, in->workdir_fd, names[k],
		    &nmatch, cause) != 0) {
			free(names);
			goto fail;
		}
		if (nmatch > 0)
			continue;
		if (w.len > 0)
			strbuf_lit(&w, "; ");
		strbuf_lit(&w, "input '");
		strbuf_str(&w, names[k]);
		strbuf_lit(&w, "' matches nothing");
	}
	free(names);
	if (cache_hash_final(h, key, cause) != 0) {
		free(w.s);
		return -1;
	}
	*warn = w.s;
	return 0;
fail:
	cache_hash_free(h);
	free(w.s);
	return -1;
}
