/* The DAG as index arrays: topological order, waves, cycles, critical paths.
 * Knows nothing of YAML or processes: nodes are 0..n-1. */
#ifndef DAGEXEC_GRAPH_H
#define DAGEXEC_GRAPH_H

#include <stddef.h>
#include <stdint.h>

struct graph {
	size_t		 n;
	/* needs of node i: need[need_off[i] .. need_off[i+1]-1] (CSR) */
	size_t		*need_off;
	size_t		*need;
	/* dependents of node i: dep[dep_off[i] .. dep_off[i+1]-1] */
	size_t		*dep_off;
	size_t		*dep;
	/* filled by graph_analyze() on an acyclic graph: */
	size_t		*topo;		/* the n nodes in a topological order
					   (Kahn; ties by index) */
	size_t		*wave;		/* longest path (in edges) from a root */
	size_t		 nwaves;
	int64_t		*weight;	/* per node, >= 1 (estimate or 1) */
	int64_t		*blevel;	/* bottom level: weight of the heaviest
					   path from the node to a sink,
					   the node included */
};

/* Build from per-node need lists: needs[i] holds nneeds[i] indices < n.
 * Duplicate needs are kept once. weight may be NULL (all 1); weights <= 0
 * count as 1. The arrays are copied. No allocation failure is reported
 * (xmalloc dies). */
void graph_init(struct graph *g, size_t n, const size_t *nneeds,
    const size_t *const *needs, const int64_t *weight);
/* Free the arrays; g may be reused after graph_init. */
void graph_release(struct graph *g);
/* Topological order, waves and bottom levels. Returns 0, or -1 when the graph
 * has a cycle (topo, wave and blevel are then unset). */
int graph_analyze(struct graph *g);
/* When graph_analyze failed: one cycle, as node indices c[0] -> c[1] -> ...
 * -> c[len-1] -> c[0] where c[k+1] needs c[k]... precisely: for every k,
 * c[(k+1) % len] lists c[k] among its needs. *cycle is allocated; returns len
 * (0 if acyclic). The cycle returned starts at its smallest index. */
size_t graph_find_cycle(const struct graph *g, size_t **cycle);
/* Set new weights (n values, <= 0 as 1) and recompute blevel; needs a
 * successful graph_analyze first. */
void graph_set_weights(struct graph *g, const int64_t *weight);
/* The heaviest root-to-sink path weight (max blevel over roots). */
int64_t graph_critical_length(const struct graph *g);
/* Mark the nodes of one heaviest path: on[i] = 1 for nodes on it, else 0. */
void graph_critical_path(const struct graph *g, unsigned char *on);

#endif
