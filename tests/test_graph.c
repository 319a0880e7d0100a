/*
 * graph.c: hand-made cases, then random small graphs checked against brute
 * force (every path enumerated), then large graphs that would overflow the
 * stack of a recursive implementation.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>

#include "cunit_main.h"
#include "rng.h"
#include "graph.h"
#include "xmalloc.h"

#define MAXN	9

/* A graph given as an edge list "i needs j". */
struct spec {
	size_t	 n;
	size_t	 nneeds[MAXN + 2];
	size_t	 needs[MAXN + 2][MAXN * 2 + 2];
	int64_t	 weight[MAXN + 2];
};

static void
spec_need(struct spec *s, size_t i, size_t j)
{
	s->needs[i][s->nneeds[i]++] = j;
}

static void
spec_graph(const struct spec *s, struct graph *g, int weighted)
{
	const size_t	*ptrs[MAXN + 2];
	size_t		 i;

	for (i = 0; i < s->n; i++)
		ptrs[i] = s->needs[i];
	graph_init(g, s->n, s->nneeds, ptrs, weighted ? s->weight : NULL);
}

/* 1 when node i lists j among its (deduplicated) needs. */
static int
has_need(const struct graph *g, size_t i, size_t j)
{
	size_t	k;

	for (k = g->need_off[i]; k < g->need_off[i + 1]; k++) {
		if (g->need[k] == j)
			return 1;
	}
	return 0;
}

/* The topological order is a permutation with every need first. */
static void
check_topo(const struct graph *g)
{
	size_t	*pos, i, k;

	pos = xcalloc(g->n, sizeof *pos);
	for (i = 0; i < g->n; i++)
		pos[i] = g->n;
	for (i = 0; i < g->n; i++) {
		CU_ASSERT_FATAL(g->topo[i] < g->n);
		CU_ASSERT_FATAL(pos[g->topo[i]] == g->n);
		pos[g->topo[i]] = i;
	}
	for (i = 0; i < g->n; i++) {
		for (k = g->need_off[i]; k < g->need_off[i + 1]; k++)
			CU_ASSERT(pos[g->need[k]] < pos[i]);
	}
	free(pos);
}

/* A returned cycle: distinct nodes, smallest first, every edge real. */
static void
check_cycle(const struct graph *g, const size_t *c, size_t len)
{
	size_t	k, l;

	CU_ASSERT_FATAL(len > 0);
	for (k = 0; k < len; k++) {
		CU_ASSERT_FATAL(c[k] < g->n);
		CU_ASSERT(c[k] >= c[0]);
		CU_ASSERT(has_need(g, c[(k + 1) % len], c[k]));
		for (l = k + 1; l < len; l++)
			CU_ASSERT(c[k] != c[l]);
	}
}

/* The marked nodes form a root-to-sink path of the critical length. */
static void
check_critical_path(const struct graph *g)
{
	unsigned char	*on;
	size_t		 i, prev, count;
	int64_t		 sum;

	on = xcalloc(g->n, 1);
	graph_critical_path(g, on);
	sum = 0;
	count = 0;
	prev = g->n;
	for (i = 0; i < g->n; i++) {
		if (!on[g->topo[i]])
			continue;
		if (prev == g->n) {
			CU_ASSERT(g->need_off[g->topo[i]] ==
			    g->need_off[g->topo[i] + 1]);
		} else {
			CU_ASSERT(has_need(g, g->topo[i], prev));
		}
		prev = g->topo[i];
		sum += g->weight[prev];
		count++;
	}
	if (g->n > 0) {
		CU_ASSERT(count > 0);
		CU_ASSERT(g->dep_off[prev] == g->dep_off[prev + 1]);
	}
	CU_ASSERT(sum == graph_critical_length(g));
	free(on);
}

static void
test_diamond(void)
{
	struct spec	 s;
	struct graph	 g;
	size_t		*c;

	/* 0 <- 1, 0 <- 2, {1,2} <- 3 */
	memset(&s, 0, sizeof s);
	s.n = 4;
	spec_need(&s, 1, 0);
	spec_need(&s, 2, 0);
	spec_need(&s, 3, 2);
	spec_need(&s, 3, 1);
	s.weight[0] = 1;
	s.weight[1] = 5;
	s.weight[2] = 2;
	s.weight[3] = 1;
	spec_graph(&s, &g, 1);
	CU_ASSERT_FATAL(graph_analyze(&g) == 0);
	CU_ASSERT(g.topo[0] == 0 && g.topo[1] == 1 && g.topo[2] == 2 &&
	    g.topo[3] == 3);
	CU_ASSERT(g.wave[0] == 0 && g.wave[1] == 1 && g.wave[2] == 1 &&
	    g.wave[3] == 2);
	CU_ASSERT(g.nwaves == 3);
	CU_ASSERT(g.blevel[3] == 1);
	CU_ASSERT(g.blevel[2] == 3);
	CU_ASSERT(g.blevel[1] == 6);
	CU_ASSERT(g.blevel[0] == 7);
	CU_ASSERT(graph_critical_length(&g) == 7);
	/* dependents of 0 are sorted: 1 then 2 */
	CU_ASSERT(g.dep_off[1] - g.dep_off[0] == 2);
	CU_ASSERT(g.dep[g.dep_off[0]] == 1 && g.dep[g.dep_off[0] + 1] == 2);
	check_critical_path(&g);
	CU_ASSERT(graph_find_cycle(&g, &c) == 0);
	CU_ASSERT(c == NULL);

	/* new weights move the critical path through 2 */
	s.weight[1] = 0;	/* counts as 1 */
	s.weight[2] = 9;
	graph_set_weights(&g, s.weight);
	CU_ASSERT(g.weight[1] == 1);
	CU_ASSERT(g.blevel[1] == 2);
	CU_ASSERT(g.blevel[2] == 10);
	CU_ASSERT(graph_critical_length(&g) == 11);
	check_critical_path(&g);
	graph_release(&g);
}

static void
test_chain(void)
{
	struct spec	 s;
	struct graph	 g;
	size_t		 i;

	/* 4 <- 3 <- 2 <- 1 <- 0: node i needs i + 1, so topo is reversed */
	memset(&s, 0, sizeof s);
	s.n = 5;
	for (i = 0; i + 1 < s.n; i++)
		spec_need(&s, i, i + 1);
	spec_graph(&s, &g, 0);
	CU_ASSERT_FATAL(graph_analyze(&g) == 0);
	for (i = 0; i < s.n; i++) {
		CU_ASSERT(g.topo[i] == s.n - 1 - i);
		CU_ASSERT(g.wave[i] == s.n - 1 - i);
		CU_ASSERT(g.blevel[i] == (int64_t)i + 1);
	}
	CU_ASSERT(g.nwaves == 5);
	CU_ASSERT(graph_critical_length(&g) == 5);
	check_critical_path(&g);
	graph_release(&g);
}

static void
test_forest(void)
{
	struct spec	 s;
	struct graph	 g;
	unsigned char	 on[6];
	size_t		 i;

	/* two trees, 0 <- {1, 3}, 2 <- 5; 4 alone; 1 <- 4 is not there */
	memset(&s, 0, sizeof s);
	s.n = 6;
	spec_need(&s, 1, 0);
	spec_need(&s, 3, 0);
	spec_need(&s, 5, 2);
	for (i = 0; i < 6; i++)
		s.weight[i] = 1;
	s.weight[5] = 4;
	spec_graph(&s, &g, 1);
	CU_ASSERT_FATAL(graph_analyze(&g) == 0);
	/* ready set by lowest index: 0, then 1 (ready after 0), 2, ... */
	CU_ASSERT(g.topo[0] == 0 && g.topo[1] == 1 && g.topo[2] == 2 &&
	    g.topo[3] == 3 && g.topo[4] == 4 && g.topo[5] == 5);
	CU_ASSERT(g.nwaves == 2);
	CU_ASSERT(g.wave[4] == 0 && g.wave[5] == 1 && g.wave[3] == 1);
	CU_ASSERT(graph_critical_length(&g) == 5);
	graph_critical_path(&g, on);
	CU_ASSERT(on[2] && on[5]);
	CU_ASSERT(!on[0] && !on[1] && !on[3] && !on[4]);
	graph_release(&g);
}

static void
test_ties_by_index(void)
{
	struct spec	 s;
	struct graph	 g;

	/* 3 is a root; 0 needs 3; 1, 2 roots: order 1 2 3 0 */
	memset(&s, 0, sizeof s);
	s.n = 4;
	spec_need(&s, 0, 3);
	spec_graph(&s, &g, 0);
	CU_ASSERT_FATAL(graph_analyze(&g) == 0);
	CU_ASSERT(g.topo[0] == 1 && g.topo[1] == 2 && g.topo[2] == 3 &&
	    g.topo[3] == 0);
	graph_release(&g);
}

static void
test_self_need(void)
{
	struct spec	 s;
	struct graph	 g;
	size_t		*c, len;

	memset(&s, 0, sizeof s);
	s.n = 3;
	spec_need(&s, 1, 0);
	spec_need(&s, 2, 2);
	spec_graph(&s, &g, 0);
	CU_ASSERT(graph_analyze(&g) == -1);
	CU_ASSERT(g.topo == NULL && g.wave == NULL && g.blevel == NULL);
	len = graph_find_cycle(&g, &c);
	CU_ASSERT_FATAL(len == 1);
	CU_ASSERT(c[0] == 2);
	free(c);
	graph_release(&g);
}

static void
test_two_cycle(void)
{
	struct spec	 s;
	struct graph	 g;
	size_t		*c, len;

	memset(&s, 0, sizeof s);
	s.n = 3;
	spec_need(&s, 0, 2);
	spec_need(&s, 2, 1);
	spec_need(&s, 1, 2);
	spec_graph(&s, &g, 0);
	CU_ASSERT(graph_analyze(&g) == -1);
	len = graph_find_cycle(&g, &c);
	CU_ASSERT_FATAL(len == 2);
	CU_ASSERT(c[0] == 1 && c[1] == 2);
	check_cycle(&g, c, len);
	free(c);
	graph_release(&g);
}

static void
test_three_cycle(void)
{
	struct spec	 s;
	struct graph	 g;
	size_t		*c, len;

	/*
	 * 8 nodes, a DAG around the cycle 6 -> 3 -> 5 -> 6 (5 needs 3,
	 * 6 needs 5, 3 needs 6), with other nodes needing into it.
	 */
	memset(&s, 0, sizeof s);
	s.n = 8;
	spec_need(&s, 1, 0);
	spec_need(&s, 2, 1);
	spec_need(&s, 3, 2);
	spec_need(&s, 3, 6);
	spec_need(&s, 5, 3);
	spec_need(&s, 6, 5);
	spec_need(&s, 4, 5);
	spec_need(&s, 7, 4);
	spec_need(&s, 7, 0);
	spec_graph(&s, &g, 0);
	CU_ASSERT(graph_analyze(&g) == -1);
	len = graph_find_cycle(&g, &c);
	CU_ASSERT_FATAL(len == 3);
	/* 5 needs 3, 6 needs 5, 3 needs 6 */
	CU_ASSERT(c[0] == 3 && c[1] == 5 && c[2] == 6);
	check_cycle(&g, c, len);
	free(c);
	graph_release(&g);
}

static void
test_duplicate_needs(void)
{
	struct spec	 s;
	struct graph	 g;

	memset(&s, 0, sizeof s);
	s.n = 3;
	spec_need(&s, 2, 0);
	spec_need(&s, 2, 1);
	spec_need(&s, 2, 0);
	spec_need(&s, 2, 0);
	spec_need(&s, 1, 0);
	spec_need(&s, 1, 0);
	spec_graph(&s, &g, 0);
	CU_ASSERT(g.need_off[3] - g.need_off[2] == 2);
	CU_ASSERT(g.need[g.need_off[2]] == 0 && g.need[g.need_off[2] + 1] == 1);
	CU_ASSERT(g.need_off[2] - g.need_off[1] == 1);
	CU_ASSERT(g.dep_off[1] - g.dep_off[0] == 2);
	CU_ASSERT(g.dep_off[3] == 3);
	CU_ASSERT_FATAL(graph_analyze(&g) == 0);
	CU_ASSERT(g.wave[2] == 2);
	CU_ASSERT(graph_critical_length(&g) == 3);
	graph_release(&g);
}

static void
test_empty(void)
{
	struct graph	 g;
	unsigned char	 on[1];
	size_t		*c;

	graph_init(&g, 0, NULL, NULL, NULL);
	CU_ASSERT(graph_analyze(&g) == 0);
	CU_ASSERT(g.nwaves == 0);
	CU_ASSERT(graph_critical_length(&g) == 0);
	graph_critical_path(&g, on);
	CU_ASSERT(graph_find_cycle(&g, &c) == 0);
	graph_release(&g);
}

/* ---- brute force on random small graphs ------------------------------- */

/* A random DAG: a random permutation decides which node may need which. */
static void
random_dag(struct spec *s)
{
	size_t	perm[MAXN], i, j, t, k, extra;

	memset(s, 0, sizeof *s);
	s->n = 1 + rng() % MAXN;
	for (i = 0; i < s->n; i++)
		perm[i] = i;
	for (i = s->n; i > 1; i--) {
		j = rng() % i;
		t = perm[i - 1];
		perm[i - 1] = perm[j];
		perm[j] = t;
	}
	/* perm[a] may need perm[b] for b < a */
	for (i = 1; i < s->n; i++) {
		for (j = 0; j < i; j++) {
			if (rng() % 3 == 0)
				spec_need(s, perm[i], perm[j]);
		}
	}
	/* a few duplicates */
	extra = rng() % 3;
	for (k = 0; k < extra; k++) {
		i = rng() % s->n;
		if (s->nneeds[i] > 0)
			spec_need(s, i, s->needs[i][rng() % s->nneeds[i]]);
	}
	for (i = 0; i < s->n; i++)
		s->weight[i] = (int64_t)(rng() % 7) - 1;	/* some <= 0 */
}

static int
spec_has(const struct spec *s, size_t i, size_t j)
{
	size_t	k;

	for (k = 0; k < s->nneeds[i]; k++) {
		if (s->needs[i][k] == j)
			return 1;
	}
	return 0;
}

static int64_t
w_of(const struct spec *s, size_t i)
{
	return s->weight[i] <= 0 ? 1 : s->weight[i];
}

/*
 * Every path v -> dependents ...: for each path end, the longest path (in
 * edges) reaching it; for the path start, the heaviest path to a sink.
 * Recursion is fine here: n <= 9.
 */
static void
brute_paths(const struct spec *s, size_t start, size_t v, size_t edges,
    int64_t weight, size_t *longest, int64_t *heaviest)
{
	size_t	d;
	int	sink = 1;

	if (edges > longest[v])
		longest[v] = edges;
	for (d = 0; d < s->n; d++) {
		if (!spec_has(s, d, v))
			continue;
		sink = 0;
		brute_paths(s, start, d, edges + 1, weight + w_of(s, d),
		    longest, heaviest);
	}
	if (sink && weight > heaviest[start])
		heaviest[start] = weight;
}

/* 1 when target can be reached from v along dependents (v itself counts). */
static int
brute_reaches(const struct spec *s, size_t v, size_t target)
{
	size_t	d;

	if (v == target)
		return 1;
	for (d = 0; d < s->n; d++) {
		if (spec_has(s, d, v) && brute_reaches(s, d, target))
			return 1;
	}
	return 0;
}

static void
test_random_dags(void)
{
	struct spec	 s;
	struct graph	 g;
	size_t		 longest[MAXN], scratch[MAXN], order[MAXN], *c;
	size_t		 done[MAXN];
	int64_t		 heaviest[MAXN], crit;
	size_t		 iter, i, j, v, nw;
	int		 ready;

	rng_state = 20261128;
	for (iter = 0; iter < 500; iter++) {
		random_dag(&s);
		spec_graph(&s, &g, 1);
		CU_ASSERT_FATAL(graph_analyze(&g) == 0);
		check_topo(&g);

		/* the lowest-index ready node first, computed naively */
		memset(done, 0, sizeof done);
		for (i = 0; i < s.n; i++) {
			for (v = 0; v < s.n; v++) {
				if (done[v])
					continue;
				ready = 1;
				for (j = 0; j < s.nneeds[v]; j++) {
					if (!done[s.needs[v][j]])
						ready = 0;
				}
				if (ready)
					break;
			}
			CU_ASSERT_FATAL(v < s.n);
			done[v] = 1;
			order[i] = v;
		}
		for (i = 0; i < s.n; i++)
			CU_ASSERT(g.topo[i] == order[i]);

		memset(longest, 0, sizeof longest);
		memset(heaviest, 0, sizeof heaviest);
		for (v = 0; v < s.n; v++) {
			if (s.nneeds[v] == 0)
				brute_paths(&s, v, v, 0, w_of(&s, v), longest,
				    heaviest);
		}
		/* heaviest from every node, not only roots (scratch takes
		 * the longest-path side, unused here) */
		memset(scratch, 0, sizeof scratch);
		for (v = 0; v < s.n; v++)
			brute_paths(&s, v, v, 0, w_of(&s, v), scratch,
			    heaviest);
		nw = 0;
		crit = 0;
		for (v = 0; v < s.n; v++) {
			CU_ASSERT(g.wave[v] == longest[v]);
			CU_ASSERT(g.blevel[v] == heaviest[v]);
			if (longest[v] + 1 > nw)
				nw = longest[v] + 1;
			if (heaviest[v] > crit)
				crit = heaviest[v];
		}
		CU_ASSERT(g.nwaves == nw);
		CU_ASSERT(graph_critical_length(&g) == crit);
		check_critical_path(&g);
		CU_ASSERT(graph_find_cycle(&g, &c) == 0);
		graph_release(&g);
	}
}

static void
test_random_cycles(void)
{
	struct spec	 s;
	struct graph	 g;
	size_t		*c, len, iter, u, v;

	rng_state = 777;
	for (iter = 0; iter < 500; iter++) {
		random_dag(&s);
		/* u needs v where v depends on u (or is u): a cycle */
		for (;;) {
			u = rng() % s.n;
			v = rng() % s.n;
			if (brute_reaches(&s, u, v))
				break;
		}
		spec_need(&s, u, v);
		spec_graph(&s, &g, 1);
		CU_ASSERT(graph_analyze(&g) == -1);
		CU_ASSERT(g.topo == NULL);
		len = graph_find_cycle(&g, &c);
		check_cycle(&g, c, len);
		free(c);
		graph_release(&g);
	}
}

/* ---- property: planted cycles in larger random graphs ----------------- */

#define PMAXN	300

/* A random graph as an adjacency matrix: adj[i * n + j] when i needs j. */
struct pgraph {
	size_t		 n;
	unsigned char	*adj;
};

static void
pgraph_graph(const struct pgraph *p, struct graph *g)
{
	size_t	*nneeds, **needs, *flat, i, j, e;

	nneeds = xcalloc(p->n, sizeof *nneeds);
	needs = xcalloc(p->n, sizeof *needs);
	flat = xcalloc(p->n * p->n + 1, sizeof *flat);
	e = 0;
	for (i = 0; i < p->n; i++) {
		needs[i] = &flat[e];
		for (j = 0; j < p->n; j++) {
			if (p->adj[i * p->n + j]) {
				flat[e++] = j;
				nneeds[i]++;
			}
		}
	}
	graph_init(g, p->n, nneeds, (const size_t *const *)needs, NULL);
	free(flat);
	free(needs);
	free(nneeds);
}

/* A random DAG of 1..PMAXN nodes: a random order, and needs only on nodes
 * earlier in it. */
static void
pgraph_random_dag(struct pgraph *p, size_t *perm)
{
	size_t	i, j, t, e, nedges;

	p->n = 1 + rng() % PMAXN;
	memset(p->adj, 0, PMAXN * PMAXN);
	for (i = 0; i < p->n; i++)
		perm[i] = i;
	for (i = p->n; i > 1; i--) {
		j = rng() % i;
		t = perm[i - 1];
		perm[i - 1] = perm[j];
		perm[j] = t;
	}
	nedges = p->n < 2 ? 0 : rng() % (3 * p->n);
	for (e = 0; e < nedges; e++) {
		i = 1 + rng() % (p->n - 1);
		j = rng() % i;
		p->adj[perm[i] * p->n + perm[j]] = 1;
	}
}

/* Whether the graph has a cycle, by repeatedly removing a node none of the
 * remaining nodes needs: quadratic, independent of graph.c. */
static int
pgraph_cyclic(const struct pgraph *p)
{
	unsigned char	*gone;
	size_t		 left, i, j;
	int		 removed, needed;

	gone = xcalloc(p->n, 1);
	left = p->n;
	do {
		removed = 0;
		for (i = 0; i < p->n; i++) {
			if (gone[i])
				continue;
			needed = 0;
			for (j = 0; j < p->n && !needed; j++) {
				if (!gone[j] && p->adj[j * p->n + i])
					needed = 1;
			}
			if (!needed) {
				gone[i] = 1;
				left--;
				removed = 1;
			}
		}
	} while (removed);
	free(gone);
	return left > 0;
}

/* c is a cycle of p: every c[k + 1] needs c[k], c[0] needs the last, no node
 * twice, and it starts at its smallest node. */
static int
pgraph_is_cycle(const struct pgraph *p, const size_t *c, size_t len)
{
	unsigned char	*seen;
	size_t		 k, a, b;
	int		 ok = 1;

	if (len == 0 || len > p->n)
		return 0;
	seen = xcalloc(p->n, 1);
	for (k = 0; k < len && ok; k++) {
		a = c[k];
		b = c[(k + 1) % len];
		if (a >= p->n || b >= p->n || seen[a] || a < c[0] ||
		    !p->adj[b * p->n + a])
			ok = 0;
		else
			seen[a] = 1;
	}
	free(seen);
	return ok;
}

static void
test_planted_cycles(void)
{
	struct pgraph	 p;
	struct graph	 g;
	size_t		 perm[PMAXN], ring[PMAXN], *c, len, iter, k, l, t, u;
	size_t		 bad_acyclic = 0, bad_cyclic = 0, bad_verdict = 0;
	size_t		 cyclic_cases = 0;
	int		 want;

	rng_state = 20260501;
	p.adj = xcalloc(PMAXN * PMAXN, 1);
	for (iter = 0; iter < 4000; iter++) {
		/* an acyclic graph: no cycle reported */
		pgraph_random_dag(&p, perm);
		pgraph_graph(&p, &g);
		if (graph_analyze(&g) != 0 || graph_find_cycle(&g, &c) != 0 ||
		    c != NULL)
			bad_acyclic++;
		free(c);
		graph_release(&g);

		/* plant a cycle of l distinct nodes, in a random order, into
		 * the same DAG: ring[k + 1] needs ring[k] */
		l = 1 + rng() % p.n;
		if (iter % 4 == 0 && p.n >= 2)
			l = 2 + rng() % (p.n < 8 ? p.n - 1 : 7);
		for (k = p.n; k > 1; k--) {
			t = rng() % k;
			u = perm[k - 1];
			perm[k - 1] = perm[t];
			perm[t] = u;
		}
		for (k = 0; k < l; k++)
			ring[k] = perm[k];
		for (k = 0; k < l; k++)
			p.adj[ring[(k + 1) % l] * p.n + ring[k]] = 1;
		pgraph_graph(&p, &g);
		if (graph_analyze(&g) != -1 || g.topo != NULL)
			bad_cyclic++;
		len = graph_find_cycle(&g, &c);
		if (!pgraph_is_cycle(&p, c, len))
			bad_cyclic++;
		free(c);
		graph_release(&g);

		/* arbitrary edges, maybe cyclic: the verdict matches the
		 * quadratic check, and a cycle reported is one */
		for (k = 0; k < p.n / 2 + 1; k++) {
			if (rng() % 8 == 0)
				p.adj[(rng() % p.n) * p.n + rng() % p.n] = 1;
		}
		if (rng() % 2) {
			for (k = 0; k < l; k++)
				p.adj[ring[(k + 1) % l] * p.n + ring[k]] = 0;
		}
		want = pgraph_cyclic(&p);
		cyclic_cases += want;
		pgraph_graph(&p, &g);
		len = graph_find_cycle(&g, &c);
		if ((graph_analyze(&g) == -1) != want || (len > 0) != want ||
		    (want && !pgraph_is_cycle(&p, c, len)))
			bad_verdict++;
		free(c);
		graph_release(&g);
	}
	CU_ASSERT_EQUAL(bad_acyclic, 0);
	CU_ASSERT_EQUAL(bad_cyclic, 0);
	CU_ASSERT_EQUAL(bad_verdict, 0);
	/* both verdicts were exercised in the last part */
	CU_ASSERT(cyclic_cases > 100 && cyclic_cases < 3900);
	free(p.adj);
}

/* ---- large graphs: iterative code, no deep recursion ------------------- */

#define BIG	1000000

static void
big_graph(struct graph *g, int ring)
{
	size_t	*nneeds, **needs, *flat, i;

	nneeds = xcalloc(BIG, sizeof *nneeds);
	needs = xcalloc(BIG, sizeof *needs);
	flat = xcalloc(BIG, sizeof *flat);
	/* node i needs i - 1; with ring, node 0 needs BIG - 1 */
	for (i = 0; i < BIG; i++) {
		needs[i] = &flat[i];
		if (i > 0 || ring) {
			flat[i] = i == 0 ? BIG - 1 : i - 1;
			nneeds[i] = 1;
		}
	}
	graph_init(g, BIG, nneeds, (const size_t *const *)needs, NULL);
	free(flat);
	free(needs);
	free(nneeds);
}

static void
test_big_chain(void)
{
	struct graph	 g;
	unsigned char	*on;
	size_t		 i, *c;

	big_graph(&g, 0);
	CU_ASSERT_FATAL(graph_analyze(&g) == 0);
	CU_ASSERT(g.nwaves == BIG);
	CU_ASSERT(g.wave[BIG - 1] == BIG - 1);
	CU_ASSERT(g.blevel[0] == BIG);
	CU_ASSERT(graph_critical_length(&g) == BIG);
	on = xcalloc(BIG, 1);
	graph_critical_path(&g, on);
	for (i = 0; i < BIG; i++) {
		if (!on[i])
			break;
	}
	CU_ASSERT(i == BIG);
	free(on);
	CU_ASSERT(graph_find_cycle(&g, &c) == 0);
	graph_release(&g);
}

static void
test_big_ring(void)
{
	struct graph	 g;
	size_t		*c, len, k;

	big_graph(&g, 1);
	CU_ASSERT(graph_analyze(&g) == -1);
	len = graph_find_cycle(&g, &c);
	CU_ASSERT_FATAL(len == BIG);
	for (k = 0; k < len; k++)
		CU_ASSERT_FATAL(c[k] == k);
	free(c);
	graph_release(&g);
}

static void
test_big_random(void)
{
	struct graph	 g;
	size_t		*nneeds, **needs, *flat, i, k;

	/* 1M nodes, 1-3 needs each among earlier nodes */
	rng_state = 42;
	nneeds = xcalloc(BIG, sizeof *nneeds);
	needs = xcalloc(BIG, sizeof *needs);
	flat = xcalloc(3 * (size_t)BIG, sizeof *flat);
	for (i = 0; i < BIG; i++) {
		needs[i] = &flat[3 * i];
		nneeds[i] = i == 0 ? 0 : 1 + rng() % 3;
		for (k = 0; k < nneeds[i]; k++)
			flat[3 * i + k] = rng() % i;
	}
	graph_init(&g, BIG, nneeds, (const size_t *const *)needs, NULL);
	CU_ASSERT_FATAL(graph_analyze(&g) == 0);
	check_topo(&g);
	for (i = 0; i < BIG; i++) {
		for (k = g.need_off[i]; k < g.need_off[i + 1]; k++)
			CU_ASSERT_FATAL(g.wave[g.need[k]] < g.wave[i]);
	}
	CU_ASSERT(graph_critical_length(&g) == (int64_t)g.nwaves);
	free(flat);
	free(needs);
	free(nneeds);
	graph_release(&g);
}

int
main(void)
{
	static const struct cunit_test tests[] = {
		{ "diamond", test_diamond },
		{ "chain", test_chain },
		{ "forest", test_forest },
		{ "ties by index", test_ties_by_index },
		{ "self need", test_self_need },
		{ "two-cycle", test_two_cycle },
		{ "three-cycle", test_three_cycle },
		{ "duplicate needs", test_duplicate_needs },
		{ "empty", test_empty },
		{ "random dags", test_random_dags },
		{ "random cycles", test_random_cycles },
		{ "planted cycles", test_planted_cycles },
		{ "big chain", test_big_chain },
		{ "big ring", test_big_ring },
		{ "big random", test_big_random },
		{ NULL, NULL }
	};

	return cunit_run("graph", NULL, NULL, tests);
}
