/* A manifest cut down to some of its nodes (run --target, and a retry of
 * such a run): the nodes kept move down in manifest order, their needs are
 * renumbered, and the ids and the graph are made again. */
#include "config.h"

#include <stdlib.h>

#include "manifest.h"
#include "strmap.h"
#include "xmalloc.h"

void
manifest_keep(struct manifest *m, const bool *keep)
{
	size_t *to, *nneeds, i, k, n = 0;
	const size_t **needs;
	int64_t *weight;
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
	strmap_free(m->ids);
	m->ids = strmap_new(n);
	nneeds = xcalloc(n + 1, sizeof *nneeds);
	needs = xcalloc(n + 1, sizeof *needs);
	weight = xcalloc(n + 1, sizeof *weight);
	for (i = 0; i < n; i++) {
		nd = &m->nodes[i];
		for (k = 0; k < nd->nneeds; k++)
			nd->needs[k] = to[nd->needs[k]];
		(void)strmap_put(m->ids, nd->id, i, NULL);
		nneeds[i] = nd->nneeds;
		needs[i] = nd->needs;
		/* as the parser weighs them: the estimate, else 1 s */
		weight[i] = nd->estimate_ms >= 0 ? nd->estimate_ms : 1000;
	}
	graph_release(&m->graph);
	graph_init(&m->graph, n, nneeds, (const size_t *const *)needs,
	    weight);
	/* a part of an acyclic graph is acyclic */
	(void)graph_analyze(&m->graph);
	free(nneeds);
	free(needs);
	free(weight);
	free(to);
}
