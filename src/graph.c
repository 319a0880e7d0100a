/*
 * The DAG as index arrays (CSR): topological order by Kahn's algorithm with
 * ties broken by the lowest index, waves (longest path in edges from a root),
 * bottom levels (heaviest path to a sink) and cycle naming. Everything is
 * iterative so that a chain of a million nodes does not reach stack limits.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "xmalloc.h"

/* a + b, saturating at INT64_MAX (both are >= 0). */
static int64_t
graph_add(int64_t a, int64_t b)
{
	if (a > INT64_MAX - b)
		return INT64_MAX;
	return a + b;
}

void
graph_init(struct graph *g, size_t n, const size_t *nneeds,
    const size_t *const *needs, const int64_t *weight)
{
	size_t	*mark, *fill, i, k, j, e;

	memset(g, 0, sizeof *g);
	g->n = n;
	g->need_off = xcalloc(n + 1, sizeof *g->need_off);
	g->dep_off = xcalloc(n + 1, sizeof *g->dep_off);

	/*
	 * First pass: count the distinct needs of each node. mark[j] == i + 1
	 * when j was already seen among the needs of i.
	 */
	mark = xcalloc(n, sizeof *mark);
	e = 0;
	for (i = 0; i < n; i++) {
		for (k = 0; k < nneeds[i]; k++) {
			j = needs[i][k];
			if (j >= n || mark[j] == i + 1)
				continue;
			mark[j] = i + 1;
			e++;
		}
		g->need_off[i + 1] = e;
	}
	g->need = xcalloc(e, sizeof *g->need);
	memset(mark, 0, n * sizeof *mark);
	e = 0;
	for (i = 0; i < n; i++) {
		for (k = 0; k < nneeds[i]; k++) {
			j = needs[i][k];
			if (j >= n || mark[j] == i + 1)
				continue;
			mark[j] = i + 1;
			g->need[e++] = j;
			g->dep_off[j + 1]++;
		}
	}
	free(mark);

	/* Dependents: prefix sums, then fill in node order (sorted lists). */
	for (i = 0; i < n; i++)
		g->dep_off[i + 1] += g->dep_off[i];
	g->dep = xcalloc(e, sizeof *g->dep);
	fill = xcalloc(n, sizeof *fill);
	for (i = 0; i < n; i++) {
		for (k = g->need_off[i]; k < g->need_off[i + 1]; k++) {
			j = g->need[k];
			g->dep[g->dep_off[j] + fill[j]++] = i;
		}
	}
	free(fill);

	g->weight = xcalloc(n, sizeof *g->weight);
	for (i = 0; i < n; i++) {
		if (weight == NULL || weight[i] <= 0)
			g->weight[i] = 1;
		else
			g->weight[i] = weight[i];
	}
}

void
graph_release(struct graph *g)
{
	free(g->need_off);
	free(g->need);
	free(g->dep_off);
	free(g->dep);
	free(g->topo);
	free(g->wave);
	free(g->weight);
	free(g->blevel);
	memset(g, 0, sizeof *g);
}

/* Binary min-heap of node indices, for the ready set of Kahn's algorithm. */
static void
graph_heap_push(size_t *h, size_t *len, size_t v)
{
	size_t	i, p;

	i = (*len)++;
	while (i > 0) {
		p = (i - 1) / 2;
		if (h[p] <= v)
			break;
		h[i] = h[p];
		i = p;
	}
	h[i] = v;
}

static size_t
graph_heap_pop(size_t *h, size_t *len)
{
	size_t	top, last, i, c;

	top = h[0];
	last = h[--(*len)];
	i = 0;
	for (;;) {
		c = 2 * i + 1;
		if (c >= *len)
			break;
		if (c + 1 < *len && h[c + 1] < h[c])
			c++;
		if (last <= h[c])
			break;
		h[i] = h[c];
		i = c;
	}
	if (*len > 0)
		h[i] = last;
	return top;
}

/* Bottom levels in reverse topological order. */
static void
graph_compute_blevel(struct graph *g)
{
	size_t	i, k, v;
	int64_t	best;

	for (i = g->n; i > 0; i--) {
		v = g->topo[i - 1];
		best = 0;
		for (k = g->dep_off[v]; k < g->dep_off[v + 1]; k++) {
			if (g->blevel[g->dep[k]] > best)
				best = g->blevel[g->dep[k]];
		}
		g->blevel[v] = graph_add(g->weight[v], best);
	}
}

int
graph_analyze(struct graph *g)
{
	size_t	*indeg, *heap, *topo, *wave, hlen, ntopo, i, k, v, d, w;

	free(g->topo);
	free(g->wave);
	free(g->blevel);
	g->topo = g->wave = NULL;
	g->blevel = NULL;
	g->nwaves = 0;

	indeg = xcalloc(g->n, sizeof *indeg);
	heap = xcalloc(g->n, sizeof *heap);
	topo = xcalloc(g->n, sizeof *topo);
	hlen = 0;
	for (i = 0; i < g->n; i++) {
		indeg[i] = g->need_off[i + 1] - g->need_off[i];
		if (indeg[i] == 0)
			heap[hlen++] = i;	/* increasing: already a heap */
	}
	ntopo = 0;
	while (hlen > 0) {
		v = graph_heap_pop(heap, &hlen);
		topo[ntopo++] = v;
		for (k = g->dep_off[v]; k < g->dep_off[v + 1]; k++) {
			d = g->dep[k];
			if (--indeg[d] == 0)
				graph_heap_push(heap, &hlen, d);
		}
	}
	free(heap);
	free(indeg);
	if (ntopo != g->n) {
		free(topo);
		return -1;
	}

	wave = xcalloc(g->n, sizeof *wave);
	for (i = 0; i < g->n; i++) {
		v = topo[i];
		w = 0;
		for (k = g->need_off[v]; k < g->need_off[v + 1]; k++) {
			if (wave[g->need[k]] + 1 > w)
				w = wave[g->need[k]] + 1;
		}
		wave[v] = w;
		if (w + 1 > g->nwaves)
			g->nwaves = w + 1;
	}
	g->topo = topo;
	g->wave = wave;
	g->blevel = xcalloc(g->n, sizeof *g->blevel);
	graph_compute_blevel(g);
	return 0;
}

size_t
graph_find_cycle(const struct graph *g, size_t **cycle)
{
	unsigned char	*color;		/* 0 unseen, 1 on the path, 2 done */
	size_t		*stack, *cursor, *c, sp, s, v, d, m, len, min, i;

	*cycle = NULL;
	if (g->n == 0)
		return 0;
	color = xcalloc(g->n, 1);
	stack = xcalloc(g->n, sizeof *stack);
	cursor = xcalloc(g->n, sizeof *cursor);
	len = 0;

	/*
	 * Depth-first along dependent edges: stack[j + 1] needs stack[j].
	 * An edge to a node still on the path closes a cycle.
	 */
	for (s = 0; s < g->n && len == 0; s++) {
		if (color[s] != 0)
			continue;
		sp = 0;
		stack[sp++] = s;
		color[s] = 1;
		cursor[s] = g->dep_off[s];
		while (sp > 0 && len == 0) {
			v = stack[sp - 1];
			if (cursor[v] == g->dep_off[v + 1]) {
				color[v] = 2;
				sp--;
				continue;
			}
			d = g->dep[cursor[v]++];
			if (color[d] == 0) {
				color[d] = 1;
				cursor[d] = g->dep_off[d];
				stack[sp++] = d;
			} else if (color[d] == 1) {
				/* d needs v: the cycle is d ... v on the path */
				m = sp - 1;
				while (stack[m] != d)
					m--;
				len = sp - m;
				c = xcalloc(len, sizeof *c);
				min = 0;
				for (i = 0; i < len; i++) {
					if (stack[m + i] < stack[m + min])
						min = i;
				}
				for (i = 0; i < len; i++)
					c[i] = stack[m + (min + i) % len];
				*cycle = c;
			}
		}
	}
	free(cursor);
	free(stack);
	free(color);
	return len;
}

void
graph_set_weights(struct graph *g, const int64_t *weight)
{
	size_t	i;

	for (i = 0; i < g->n; i++)
		g->weight[i] = weight[i] <= 0 ? 1 : weight[i];
	if (g->topo != NULL && g->blevel != NULL)
		graph_compute_blevel(g);
}

int64_t
graph_critical_length(const struct graph *g)
{
	size_t	i;
	int64_t	best;

	best = 0;
	if (g->blevel == NULL)
		return 0;
	for (i = 0; i < g->n; i++) {
		if (g->need_off[i] == g->need_off[i + 1] && g->blevel[i] > best)
			best = g->blevel[i];
	}
	return best;
}

void
graph_critical_path(const struct graph *g, unsigned char *on)
{
	size_t	i, k, v, best, d;
	int	found;

	memset(on, 0, g->n);
	if (g->blevel == NULL || g->n == 0)
		return;

	/* The root with the largest bottom level, lowest index on a tie. */
	best = g->n;
	for (i = 0; i < g->n; i++) {
		if (g->need_off[i] != g->need_off[i + 1])
			continue;
		if (best == g->n || g->blevel[i] > g->blevel[best])
			best = i;
	}
	v = best;
	for (;;) {
		on[v] = 1;
		found = 0;
		best = 0;
		for (k = g->dep_off[v]; k < g->dep_off[v + 1]; k++) {
			d = g->dep[k];
			if (!found || g->blevel[d] > g->blevel[best]) {
				best = d;
				found = 1;
			}
		}
		if (!found)
			break;
		v = best;
	}
}
