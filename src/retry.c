/* What a retry runs again: a node is reused only when it succeeded before,
 * nothing asks for it again, and all its needs are reused, so that no
 * reused node ever waits on, or reads from, a node that runs again. */
#include "config.h"

#include "retry.h"

size_t
retry_plan(const struct graph *g, const bool *succeeded, const bool *forced,
    bool *reuse)
{
	size_t t, i, k, nrun = 0;
	bool ok;

	/* in topological order: a node's needs are decided before it */
	for (t = 0; t < g->n; t++) {
		i = g->topo[t];
		ok = succeeded[i] && (forced == NULL || !forced[i]);
		for (k = g->need_off[i]; ok && k < g->need_off[i + 1]; k++)
			ok = reuse[g->need[k]];
		reuse[i] = ok;
		if (!ok)
			nrun++;
	}
	return nrun;
}

size_t
retry_needed(const struct graph *g, bool *keep)
{
	size_t t, i, k, nkeep = 0;

	/* dependents before their needs: a kept node marks its needs before
	 * they are looked at */
	for (t = g->n; t > 0; t--) {
		i = g->topo[t - 1];
		if (!keep[i])
			continue;
		nkeep++;
		for (k = g->need_off[i]; k < g->need_off[i + 1]; k++)
			keep[g->need[k]] = true;
	}
	return nkeep;
}
