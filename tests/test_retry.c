/*
 * retry.c and nodedef.c: what a retry runs again, checked as properties
 * over random DAGs (a reused node never has a need that runs; every node a
 * forced node leads to runs; the reuse is the largest such set), which
 * nodes a target needs, and which nodes an edited manifest changes.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>

#include "cunit_main.h"
#include "rng.h"
#include "diag.h"
#include "graph.h"
#include "manifest.h"
#include "nodedef.h"
#include "retry.h"
#include "xmalloc.h"

#define MAXN	12

struct dag {
	size_t		 n;
	size_t		 nneeds[MAXN];
	size_t		 needs[MAXN][MAXN];
	struct graph	 g;
};

/* A random DAG: node i needs some of the nodes before it, in a shuffled
 * index order so that topological order is not index order. */
static void
dag_random(struct dag *d)
{
	size_t perm[MAXN], i, j, t;
	const size_t *ptrs[MAXN];

	memset(d, 0, sizeof *d);
	d->n = 1 + rng() % MAXN;
	for (i = 0; i < d->n; i++)
		perm[i] = i;
	for (i = d->n; i > 1; i--) {
		j = rng() % i;
		t = perm[i - 1];
		perm[i - 1] = perm[j];
		perm[j] = t;
	}
	for (i = 1; i < d->n; i++)
		for (j = 0; j < i; j++)
			if (rng() % 3 == 0)
				d->needs[perm[i]][d->nneeds[perm[i]]++] =
				    perm[j];
	for (i = 0; i < d->n; i++)
		ptrs[i] = d->needs[i];
	graph_init(&d->g, d->n, d->nneeds, ptrs, NULL);
	CU_ASSERT_EQUAL_FATAL(graph_analyze(&d->g), 0);
}

/* 1 when there is a path from a down to b (b needs a, transitively), a
 * itself included. */
static int
reaches(const struct dag *d, size_t a, size_t b)
{
	size_t k;

	if (a == b)
		return 1;
	for (k = 0; k < d->nneeds[b]; k++)
		if (reaches(d, a, d->needs[b][k]))
			return 1;
	return 0;
}

static void
test_plan_properties(void)
{
	struct dag d;
	bool succ[MAXN], forced[MAXN], reuse[MAXN], brute;
	size_t round, i, k, f, nrun;

	rng_state = 0x7e7;
	for (round = 0; round < 3000; round++) {
		dag_random(&d);
		for (i = 0; i < d.n; i++) {
			succ[i] = rng() % 4 != 0;
			forced[i] = rng() % 7 == 0;
		}
		nrun = retry_plan(&d.g, succ, forced, reuse);
		k = 0;
		for (i = 0; i < d.n; i++)
			k += !reuse[i];
		CU_ASSERT_EQUAL(nrun, k);
		for (i = 0; i < d.n; i++) {
			/* only what succeeded and was not asked for again */
			if (reuse[i]) {
				CU_ASSERT(succ[i]);
				CU_ASSERT(!forced[i]);
			}
			/* a reused node never has a need that runs */
			for (k = 0; k < d.nneeds[i]; k++)
				if (reuse[i])
					CU_ASSERT(reuse[d.needs[i][k]]);
			/* every descendant of a forced or unfinished node
			 * runs, and nothing else does (brute force) */
			brute = succ[i] && !forced[i];
			for (f = 0; f < d.n && brute; f++)
				if ((forced[f] || !succ[f]) &&
				    reaches(&d, f, i))
					brute = false;
			CU_ASSERT_EQUAL(reuse[i], brute);
		}
		graph_release(&d.g);
	}
}

static void
test_plan_nothing_to_run(void)
{
	struct dag d;
	bool succ[MAXN], reuse[MAXN];
	size_t round, i;

	rng_state = 42;
	for (round = 0; round < 200; round++) {
		dag_random(&d);
		for (i = 0; i < d.n; i++)
			succ[i] = true;
		CU_ASSERT_EQUAL(retry_plan(&d.g, succ, NULL, reuse), 0);
		for (i = 0; i < d.n; i++)
			CU_ASSERT(reuse[i]);
		/* and forcing one node runs it and what it leads to */
		i = rng() % d.n;
		{
			bool forced[MAXN];
			size_t q, want = 0;

			memset(forced, 0, sizeof forced);
			forced[i] = true;
			for (q = 0; q < d.n; q++)
				want += reaches(&d, i, q);
			CU_ASSERT_EQUAL(retry_plan(&d.g, succ, forced, reuse),
			    want);
			for (q = 0; q < d.n; q++)
				CU_ASSERT_EQUAL(reuse[q], !reaches(&d, i, q));
		}
		graph_release(&d.g);
	}
}

static void
test_plan_cleanup_below_rerun(void)
{
	/* a -> b -> cleanup (when: always): b failed, cleanup succeeded;
	 * the retry reuses a and runs b and the cleanup again */
	static const size_t n0[] = { 0 }, n1[] = { 0 }, n2[] = { 1 };
	const size_t *needs[] = { n0, n1, n2 };
	size_t nneeds[] = { 0, 1, 1 };
	bool succ[] = { true, false, true }, reuse[3];
	struct graph g;

	graph_init(&g, 3, nneeds, needs, NULL);
	CU_ASSERT_EQUAL_FATAL(graph_analyze(&g), 0);
	CU_ASSERT_EQUAL(retry_plan(&g, succ, NULL, reuse), 2);
	CU_ASSERT(reuse[0]);
	CU_ASSERT(!reuse[1]);
	CU_ASSERT(!reuse[2]);
	graph_release(&g);
}

static void
test_needed(void)
{
	struct dag d;
	bool keep[MAXN], want;
	size_t round, i, f, nk, nwant;
	size_t targets[MAXN], nt;

	rng_state = 99;
	for (round = 0; round < 2000; round++) {
		dag_random(&d);
		memset(keep, 0, sizeof keep);
		nt = 0;
		for (i = 0; i < d.n; i++)
			if (rng() % 5 == 0) {
				keep[i] = true;
				targets[nt++] = i;
			}
		nk = retry_needed(&d.g, keep);
		nwant = 0;
		for (i = 0; i < d.n; i++) {
			/* kept: a target, or something a target needs */
			want = false;
			for (f = 0; f < nt && !want; f++)
				want = reaches(&d, i, targets[f]);
			CU_ASSERT_EQUAL(keep[i], want);
			nwant += want;
		}
		CU_ASSERT_EQUAL(nk, nwant);
		graph_release(&d.g);
	}
}

/* ---- nodedef ------------------------------------------------------------- */

static struct manifest *
parse(const char *text)
{
	struct manifest *m = NULL;
	struct diags d;

	diags_init(&d);
	if (manifest_parse("t.yaml", text, strlen(text), &m, &d) != 0)
		diags_print(stderr, "t.yaml", &d);
	diags_release(&d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	return m;
}

static const char base_yaml[] =
    "name: d\n"
    "env: {A: '1', B: '2'}\n"
    "nodes:\n"
    "  a: {run: echo a, outputs: [x, y]}\n"
    "  b: {run: echo b, needs: [a], env: {C: '3'}}\n"
    "  c: {argv: [echo, c], needs: [a, b], limits: {cpu: 10s}}\n";

static void
test_diff_same(void)
{
	/* other spelling, other order, comments, retry policy: the same
	 * definitions */
	static const char other[] =
	    "# edited\n"
	    "name: d\n"
	    "env:\n  B: '2'\n  A: '1'\n"
	    "nodes:\n"
	    "  c:\n    argv: [echo, c]\n    needs: [b, a]\n"
	    "    limits: {cpu: 10}\n    retries: 3\n    timeout: 5s\n"
	    "  a: {run: echo a, outputs: [y, x]}\n"
	    "  b: {run: 'echo b', needs: [a], env: {C: '3'}, priority: 4}\n";
	struct manifest *a = parse(base_yaml), *b = parse(other);
	bool changed[3];
	char *oa, *ob;

	CU_ASSERT_EQUAL(nodedef_diff(a, b, changed, &oa, &ob), 0);
	CU_ASSERT(!changed[0] && !changed[1] && !changed[2]);
	CU_ASSERT_PTR_NULL(oa);
	CU_ASSERT_PTR_NULL(ob);
	manifest_free(a);
	manifest_free(b);
}

static void
test_diff_changes(void)
{
	static const struct {
		const char	*yaml;
		const char	*changed;	/* ids, space-separated */
	} cases[] = {
		{ "name: d\nenv: {A: '1', B: '2'}\nnodes:\n"
		  "  a: {run: echo A, outputs: [x, y]}\n"
		  "  b: {run: echo b, needs: [a], env: {C: '3'}}\n"
		  "  c: {argv: [echo, c], needs: [a, b], limits: {cpu: 10s}}\n",
		  "a" },
		{ "name: d\nenv: {A: '1', B: '9'}\nnodes:\n"
		  "  a: {run: echo a, outputs: [x, y]}\n"
		  "  b: {run: echo b, needs: [a], env: {C: '3'}}\n"
		  "  c: {argv: [echo, c], needs: [a, b], limits: {cpu: 10s}}\n",
		  "a b c" },
		{ "name: d\nenv: {A: '1', B: '2'}\nnodes:\n"
		  "  a: {run: echo a, outputs: [x, y]}\n"
		  "  b: {run: echo b, needs: [a], env: {C: '3', B: '2'}}\n"
		  "  c: {argv: [echo, c], needs: [a, b], limits: {cpu: 10s}}\n",
		  "" },
		{ "name: d\nenv: {A: '1', B: '2'}\nnodes:\n"
		  "  a: {run: echo a, outputs: [x]}\n"
		  "  b: {run: echo b, needs: [a], env: {C: '3'}}\n"
		  "  c: {argv: [echo, c], needs: [a, b], limits: {cpu: 11s}}\n",
		  "a c" },
		{ "name: d\nenv: {A: '1', B: '2'}\nnodes:\n"
		  "  a: {run: echo a, outputs: [x, y]}\n"
		  "  b: {run: echo b, env: {C: '3'}}\n"
		  "  c: {argv: [echo, c], needs: [a, b], limits: {cpu: 10s}}\n",
		  "b" },
		{ "name: d\nenv: {A: '1', B: '2'}\nnodes:\n"
		  "  a: {run: echo a, outputs: [x, y]}\n"
		  "  b: {run: echo b, needs: [a], env: {C: '3'}}\n"
		  "  c: {run: echo c, needs: [a, b], limits: {cpu: 10s}}\n",
		  "c" },
	};
	struct manifest *a = parse(base_yaml), *b;
	bool changed[3];
	char *oa, *ob, want[8];
	size_t k, i;

	for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		b = parse(cases[k].yaml);
		CU_ASSERT_EQUAL(nodedef_diff(a, b, changed, &oa, &ob), 0);
		for (i = 0; i < 3; i++) {
			snprintf(want, sizeof want, "%s", b->nodes[i].id);
			if (changed[i] != (strstr(cases[k].changed, want) !=
			    NULL))
				fprintf(stderr, "\ncase %zu: node %s: %d\n", k,
				    want, changed[i]);
			CU_ASSERT_EQUAL(changed[i],
			    strstr(cases[k].changed, want) != NULL);
		}
		manifest_free(b);
	}
	manifest_free(a);
}

static void
test_diff_only_one(void)
{
	static const char other[] =
	    "name: d\nenv: {A: '1', B: '2'}\nnodes:\n"
	    "  a: {run: echo a, outputs: [x, y]}\n"
	    "  c: {argv: [echo, c], needs: [a, n1], limits: {cpu: 10s}}\n"
	    "  n1: {run: 'true'}\n  n2: {run: 'true'}\n";
	struct manifest *a = parse(base_yaml), *b = parse(other);
	bool changed[4];
	char *oa, *ob;

	CU_ASSERT_EQUAL(nodedef_diff(a, b, changed, &oa, &ob), 3);
	CU_ASSERT_STRING_EQUAL(oa, "'b'");
	CU_ASSERT_STRING_EQUAL(ob, "'n1', 'n2'");
	CU_ASSERT(!changed[manifest_find(b, "a")]);
	CU_ASSERT(changed[manifest_find(b, "c")]);	/* its needs */
	CU_ASSERT(changed[manifest_find(b, "n1")]);
	CU_ASSERT(changed[manifest_find(b, "n2")]);
	free(oa);
	free(ob);
	manifest_free(a);
	manifest_free(b);
}

static void
test_canon_http(void)
{
	struct manifest *a = parse("name: h\nnodes:\n"
	    "  f: {http: {url: 'http://x/a', expect: [200]}}\n");
	struct manifest *b = parse("name: h\nnodes:\n"
	    "  f: {http: {url: 'http://x/a', expect: [201]}}\n");
	char *ca, *cb;
	size_t la, lb;

	ca = nodedef_canon(a, 0, &la);
	cb = nodedef_canon(b, 0, &lb);
	CU_ASSERT_EQUAL(strlen(ca), la);
	CU_ASSERT(la != lb || memcmp(ca, cb, la) != 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca, "url 10:http://x/a\n"));
	free(ca);
	free(cb);
	manifest_free(a);
	manifest_free(b);
}

int
main(void)
{
	static const struct cunit_test tests[] = {
		{ "plan: properties on random dags", test_plan_properties },
		{ "plan: nothing to run, then one forced",
		    test_plan_nothing_to_run },
		{ "plan: cleanup below a rerun node",
		    test_plan_cleanup_below_rerun },
		{ "needed: targets and what they need", test_needed },
		{ "diff: same definitions", test_diff_same },
		{ "diff: changed definitions", test_diff_changes },
		{ "diff: nodes in one manifest only", test_diff_only_one },
		{ "canon: http nodes", test_canon_http },
		{ NULL, NULL }
	};

	return cunit_run("retry", NULL, NULL, tests);
}
