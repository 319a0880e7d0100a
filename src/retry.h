/* What a retry runs again and what it reuses (interface §8), and which
 * nodes a target needs (run --target). Pure: decided over the graph's index
 * arrays from the earlier run's statuses, with no files or processes. */
#ifndef DAGEXEC_RETRY_H
#define DAGEXEC_RETRY_H

#include <stdbool.h>
#include <stddef.h>

#include "graph.h"

/* Decide each node of g (analysed: g->topo set): reuse[i] is true when node
 * i succeeded in the earlier run (succeeded[i]), is not forced to run again
 * (forced[i]: named by --from, changed, or new; forced may be NULL), and
 * every need of it is reused too; every other node runs. So a node below
 * one that runs runs as well, whatever its earlier end. Returns how many
 * nodes run (0: nothing left to run). */
size_t retry_plan(const struct graph *g, const bool *succeeded,
    const bool *forced, bool *reuse);
/* Add to keep[] every node that a kept node needs, transitively (a make
 * target and what it needs; g analysed). Returns how many nodes are kept. */
size_t retry_needed(const struct graph *g, bool *keep);

#endif
