/* A manifest cut down to some of its nodes (run --target, and a retry of
 * such a run): the nodes kept move down in manifest order, their needs are
 * renumbered, and the ids and the graph are made again. */
#include "config.h"

#include <stdlib.h>

#include "manifest.h"
#include "manifest_int.h"
#include "strmap.h"
#include "xmalloc.h"

static int
order_cmp(const void *a, const void *b, void *arg)
{
	const size_t *place = arg, x = *(const size_t *)a,
	    y = *(const size_t *)b;

	/* placed with the first instance of their foreach, then in
	 * instance order (inst is 0 for a node of no foreach) */
	if (place[x] != place[y])
		return place[x] < place[y] ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* m->order and m->rank: a dynamic foreach's instances after the first
 * are at the end of the nodes; they are shown in the first one's place. */
static void
manifest_order_make(struct manifest *m)
{
	struct strmap *first;
	size_t *place, *order, i, f, n = m->nnodes;

	free(m->order);
	free(m->rank);
	m->order = m->rank = NULL;
	first = strmap_new(16);
	for (i = 0; i < n; i++)
		if (node_extra(&m->nodes[i])->inst == 1)
			(void)strmap_put(first, m->nodes[i].extra->group, i,
			    NULL);
	if (strmap_count(first) == 0) {
		strmap_free(first);
		return;
	}
	place = xcalloc(n + 1, sizeof *place);
	order = xcalloc(n + 1, sizeof *order);
	for (i = 0; i < n; i++) {
		order[i] = i;
		place[i] = node_extra(&m->nodes[i])->inst > 0 &&
		    strmap_get(first, m->nodes[i].extra->group, &f) ? f : i;
	}
	strmap_free(first);
	qsort_r(order, n, sizeof *order, order_cmp, place);
	free(place);
	for (i = 0; i < n && order[i] == i; i++)
		;
	if (i == n) {
		free(order);
		return;
	}
	m->order = order;
	m->rank = xcalloc(n + 1, sizeof *m->rank);
	for (i = 0; i < n; i++)
		m->rank[order[i]] = i;
}

int
manifest_reindex(struct manifest *m)
{
	size_t *nneeds, i, n = m->nnodes;
	const size_t **needs;
	int64_t *weight;
	struct node *nd;
	int rc;

	strmap_free(m->ids);
	m->ids = strmap_new(n);
	nneeds = xcalloc(n + 1, sizeof *nneeds);
	needs = xcalloc(n + 1, sizeof *needs);
	weight = xcalloc(n + 1, sizeof *weight);
	for (i = 0; i < n; i++) {
		nd = &m->nodes[i];
		(void)strmap_put(m->ids, nd->id, i, NULL);
		nneeds[i] = nd->nneeds;
		needs[i] = nd->needs;
		/* as the parser weighs them: the estimate, else 1 s */
		weight[i] = nd->estimate_ms >= 0 ? nd->estimate_ms : 1000;
	}
	graph_release(&m->graph);
	graph_init(&m->graph, n, nneeds, (const size_t *const *)needs,
	    weight);
	rc = graph_analyze(&m->graph);
	manifest_order_make(m);
	m->shape++;
	free(nneeds);
	free(needs);
	free(weight);
	return rc;
}

void
manifest_keep(struct manifest *m, const bool *keep)
{
	struct foreach_spec *fe;
	size_t *to, i, k, n = 0;
	struct node *nd;

	/* old index -> new index of each kept node */
	to = xcalloc(m->nnodes + 1, sizeof *to);
	for (i = 0; i < m->nnodes; i++) {
		if (!keep[i]) {
			manifest_node_release(&m->nodes[i]);
			continue;
		}
		to[i] = n;
		m->nodes[n++] = m->nodes[i];
	}
	m->nnodes = n;
	for (i = 0; i < n; i++) {
		nd = &m->nodes[i];
		for (k = 0; k < nd->nneeds; k++)
			nd->needs[k] = to[nd->needs[k]];
		/* a dynamic foreach needs the node it expands over */
		fe = node_extra(nd)->foreach;
		if (fe != NULL && fe->from != SIZE_MAX)
			fe->from = to[fe->from];
	}
	/* a part of an acyclic graph is acyclic */
	(void)manifest_reindex(m);
	free(to);
}
