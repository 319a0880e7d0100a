/* CUnit suite for foreach (manifest_foreach.c and the scheduler's part of
 * it): instance ids and items, needs on all instances or one, the errors
 * with their line and column, a dynamic foreach expanded while the
 * scheduler runs (its graph, waves, bottom levels, caps, trigger rules),
 * zero items, a stop before the expansion, the order a person reads. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "cunit_main.h"
#include "manifest.h"
#include "sched.h"
#include "strbuf.h"
#include "xmalloc.h"

static struct manifest *
parse(const char *text, struct diags *d)
{
	struct manifest *m = NULL;

	diags_init(d);
	if (manifest_parse("t.yaml", text, strlen(text), &m, d) != 0) {
		diags_print(stderr, "t.yaml", d);
		return NULL;
	}
	return m;
}

/* Whether d holds an entry at line:col whose message contains frag. */
static int
has_diag(const struct diags *d, int line, int col, const char *frag)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (d->v[i].line == line && d->v[i].col == col &&
		    strstr(d->v[i].msg, frag) != NULL)
			return 1;
	diags_print(stderr, "t.yaml", d);
	fprintf(stderr, "wanted %d:%d: %s\n", line, col, frag);
	return 0;
}

static size_t
idx(const struct manifest *m, const char *id)
{
	long i = manifest_find(m, id);

	CU_ASSERT_FATAL(i >= 0);
	return (size_t)i;
}

/* The ids of node id's needs, sorted by index, space-separated. */
static char *
needs_of(const struct manifest *m, const char *id)
{
	const struct node *n = &m->nodes[idx(m, id)];
	struct strbuf b = STRBUF_INIT;
	size_t k;

	for (k = 0; k < n->nneeds; k++) {
		if (k > 0)
			strbuf_lit(&b, " ");
		strbuf_str(&b, m->nodes[n->needs[k]].id);
	}
	return b.s != NULL ? b.s : xstrdup("");
}

static void
test_list_and_crossed(void)
{
	static const char text[] =
	    "name: t\n"
	    "nodes:\n"
	    "  prep: {run: x}\n"
	    "  train:\n"
	    "    needs: [prep]\n"
	    "    foreach: {model: [small, large], seed: [1, 2]}\n"
	    "    run: x\n"
	    "  eval:\n"
	    "    needs: [train]\n"
	    "    foreach: [a, b b, \"3\", a]\n"
	    "    run: x\n"
	    "  one:\n"
	    "    needs: [\"train[model=large,seed=2]\", \"eval[3]\"]\n"
	    "    run: x\n"
	    "  all:\n"
	    "    needs:\n"
	    "      - eval\n"
	    "      - train[model=small,seed=1]\n"
	    "    run: x\n";
	struct diags d;
	struct manifest *m = parse(text, &d);
	const struct node *n;
	char *s;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(m->nnodes, 1 + 4 + 4 + 2);
	/* the first key varies slowest, in manifest order */
	CU_ASSERT_STRING_EQUAL(m->nodes[1].id, "train[model=small,seed=1]");
	CU_ASSERT_STRING_EQUAL(m->nodes[2].id, "train[model=small,seed=2]");
	CU_ASSERT_STRING_EQUAL(m->nodes[3].id, "train[model=large,seed=1]");
	CU_ASSERT_STRING_EQUAL(m->nodes[4].id, "train[model=large,seed=2]");
	n = &m->nodes[3];
	CU_ASSERT_STRING_EQUAL(node_extra(n)->group, "train");
	CU_ASSERT_EQUAL(node_extra(n)->inst, 3);
	CU_ASSERT_EQUAL_FATAL(node_extra(n)->item.n, 2);
	CU_ASSERT_STRING_EQUAL(node_extra(n)->item.v[0].key, "model");
	CU_ASSERT_STRING_EQUAL(node_extra(n)->item.v[0].value, "large");
	CU_ASSERT_STRING_EQUAL(node_extra(n)->item.v[1].key, "seed");
	CU_ASSERT_STRING_EQUAL(node_extra(n)->item.v[1].value, "1");
	CU_ASSERT_STRING_EQUAL(n->run, "x");
	/* an item that is no id, or not unique, shows its place */
	CU_ASSERT_STRING_EQUAL(m->nodes[5].id, "eval[1]");
	CU_ASSERT_STRING_EQUAL(m->nodes[6].id, "eval[2]");
	CU_ASSERT_STRING_EQUAL(m->nodes[7].id, "eval[3]");
	CU_ASSERT_STRING_EQUAL(m->nodes[8].id, "eval[4]");
	CU_ASSERT_PTR_NULL(node_extra(&m->nodes[6])->item.v[0].key);
	CU_ASSERT_STRING_EQUAL(node_extra(&m->nodes[6])->item.v[0].value,
	    "b b");
	CU_ASSERT_STRING_EQUAL(node_extra(&m->nodes[8])->item.v[0].value,
	    "a");
	/* needs: [train] is every instance; one by its id */
	s = needs_of(m, "eval[2]");
	CU_ASSERT_STRING_EQUAL(s, "train[model=small,seed=1] "
	    "train[model=small,seed=2] train[model=large,seed=1] "
	    "train[model=large,seed=2]");
	free(s);
	CU_ASSERT_EQUAL(node_extra(&m->nodes[6])->nneed_groups, 1);
	CU_ASSERT_STRING_EQUAL(node_extra(&m->nodes[6])->need_groups[0],
	    "train");
	s = needs_of(m, "one");
	CU_ASSERT_STRING_EQUAL(s, "train[model=large,seed=2] eval[3]");
	free(s);
	CU_ASSERT_EQUAL(node_extra(&m->nodes[idx(m, "one")])->nneed_groups, 0);
	s = needs_of(m, "all");
	CU_ASSERT_STRING_EQUAL(s, "eval[1] eval[2] eval[3] eval[4] "
	    "train[model=small,seed=1]");
	free(s);
	/* the graph: waves of the instances */
	CU_ASSERT_EQUAL(m->graph.wave[idx(m, "train[model=large,seed=2]")], 1);
	CU_ASSERT_EQUAL(m->graph.wave[idx(m, "eval[4]")], 2);
	CU_ASSERT_EQUAL(m->graph.wave[idx(m, "all")], 3);
	CU_ASSERT_PTR_NULL(m->order);
	CU_ASSERT_EQUAL(manifest_find(m, "train"), -1);
	manifest_free(m);
	diags_release(&d);
}

static void
test_labels(void)
{
	static const char *items[] = { "3", "x y", "c d", "1", "ok", "ok", "2" };
	static const char *more[] = { "2", "3", "4", "a b" };
	char **l;
	size_t k;

	l = manifest_labels(items, 7);
	/* "3" and "1" read as places shown by others ("c d" is the 3rd):
	 * they show their own places; "2" is its own label elsewhere */
	CU_ASSERT_STRING_EQUAL(l[0], "1");
	CU_ASSERT_STRING_EQUAL(l[1], "2");
	CU_ASSERT_STRING_EQUAL(l[2], "3");
	CU_ASSERT_STRING_EQUAL(l[3], "4");
	CU_ASSERT_STRING_EQUAL(l[4], "5");
	CU_ASSERT_STRING_EQUAL(l[5], "6");
	CU_ASSERT_STRING_EQUAL(l[6], "7");
	for (k = 0; k < 7; k++)
		free(l[k]);
	free(l);
	/* a chain: "a b" shows 4, so "4" shows 3, so "3" shows 2, ... */
	l = manifest_labels(more, 4);
	CU_ASSERT_STRING_EQUAL(l[0], "1");
	CU_ASSERT_STRING_EQUAL(l[1], "2");
	CU_ASSERT_STRING_EQUAL(l[2], "3");
	CU_ASSERT_STRING_EQUAL(l[3], "4");
	for (k = 0; k < 4; k++)
		free(l[k]);
	free(l);
	l = manifest_labels((const char *[]){ "b", "2", "a" }, 3);
	CU_ASSERT_STRING_EQUAL(l[0], "b");
	CU_ASSERT_STRING_EQUAL(l[1], "2");
	CU_ASSERT_STRING_EQUAL(l[2], "a");
	for (k = 0; k < 3; k++)
		free(l[k]);
	free(l);
}

struct bad {
	const char	*text;
	int		 line;
	int		 col;
	const char	*frag;
};

static const struct bad bad_cases[] = {
	{ "name: t\nnodes:\n  a:\n    foreach: []\n    run: x\n", 4, 14,
	  "'foreach' must not be empty" },
	{ "name: t\nnodes:\n  a:\n    foreach: {k: []}\n    run: x\n", 4, 18,
	  "'foreach.k' must not be empty" },
	{ "name: t\nnodes:\n  a:\n    foreach: {}\n    run: x\n", 4, 14,
	  "'foreach' must not be empty" },
	{ "name: t\nnodes:\n  a:\n    foreach: [[1]]\n    run: x\n", 4, 15,
	  "items of 'foreach' must be strings or numbers, not a sequence" },
	{ "name: t\nnodes:\n  a:\n    foreach: 3\n    run: x\n", 4, 14,
	  "'foreach' must be a list, a mapping of lists or {from: NODE, "
	  "key: KEY}" },
	{ "name: t\nnodes:\n  plan: {run: x}\n  a:\n    foreach: {from: plna, "
	  "key: k}\n    run: x\n", 5, 21, "unknown node 'plna' in "
	  "'foreach.from' (did you mean 'plan'?)" },
	{ "name: t\nnodes:\n  p: {run: x}\n  a:\n    foreach: {from: p}\n"
	  "    run: x\n", 5, 14, "missing required key 'key' in 'foreach'" },
	{ "name: t\nnodes:\n  p: {run: x}\n  a:\n    foreach: {key: k}\n"
	  "    run: x\n", 5, 14, "missing required key 'from' in 'foreach'" },
	{ "name: t\nnodes:\n  a:\n    foreach: {from: a, key: k}\n"
	  "    run: x\n", 4, 21, "node 'a' cannot expand over its own values" },
	{ "name: t\nnodes:\n  p: {run: x}\n  a:\n    foreach: {from: p, "
	  "key: a b}\n    run: x\n", 5, 29, "invalid value key 'a b'" },
	{ "name: t\nnodes:\n  p: {run: x}\n  a:\n    foreach: {from: p, "
	  "key: k, kye: 1}\n    run: x\n", 5, 32,
	  "unknown foreach key 'kye' (did you mean 'key'?)" },
	{ "name: t\nnodes:\n  a:\n    foreach: {x-y: [1], x_y: [2]}\n"
	  "    run: x\n", 4, 25, "foreach keys 'x-y' and 'x_y' give the same "
	  "variable $DAGEXEC_ITEM_X_Y" },
	{ "name: t\nnodes:\n  a:\n    foreach: {a b: [1]}\n    run: x\n", 4,
	  15, "invalid foreach key 'a b'" },
	{ "name: t\ndefaults:\n  foreach: [a]\nnodes:\n  a: {run: x}\n", 3, 3,
	  "'foreach' cannot have a default" },
	{ "name: t\nnodes:\n  a:\n    foreach: [x, y]\n    needs: [\"a[x]\"]\n"
	  "    run: x\n", 5, 13, "node 'a' needs 'a[x]', one of its own "
	  "instances" },
	{ "name: t\nnodes:\n  p: {run: x}\n  b:\n    needs: [\"p[x]\"]\n"
	  "    run: x\n", 5, 13, "node 'b' needs 'p[x]', but 'p' has no "
	  "foreach" },
	{ "name: t\nnodes:\n  a:\n    foreach: [x, y]\n    run: x\n  b:\n"
	  "    needs: [\"a[z]\"]\n    run: x\n", 7, 13, "node 'b' needs "
	  "unknown instance 'a[z]' (its instances are 'a[x]' to 'a[y]')" },
	{ "name: t\nnodes:\n  p: {run: x}\n  a:\n    foreach: {from: p, "
	  "key: k}\n    run: x\n  b:\n    needs: [\"a[1]\"]\n    run: x\n", 8,
	  13, "the instances of 'a' are known only when 'p' has run" },
	{ "name: t\nnodes:\n  s:\n    foreach: [1, 2]\n    run: x\n  a:\n"
	  "    foreach: {from: s, key: k}\n    run: x\n", 7, 21,
	  "'foreach.from' of node 'a' names 's', which has a foreach "
	  "itself" },
	{ "name: t\nnodes:\n  a: {run: x}\n  b:\n    needs: [a[x]]\n"
	  "    run: x\n", 5, 14, "quote an instance id in a [...] list: "
	  "[\"a[x]\"]" },
	{ "name: t\nnodes:\n  b:\n    needs: [zz[x]]\n    run: x\n", 4, 15,
	  "quote an instance id in a [...] list: [\"zz[x]\"]" },
};

static void
test_bad(void)
{
	struct manifest *m;
	struct diags d;
	size_t i;

	for (i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		diags_init(&d);
		m = NULL;
		CU_ASSERT_EQUAL(manifest_parse("t.yaml", bad_cases[i].text,
		    strlen(bad_cases[i].text), &m, &d), 1);
		CU_ASSERT_PTR_NULL(m);
		CU_ASSERT(has_diag(&d, bad_cases[i].line, bad_cases[i].col,
		    bad_cases[i].frag));
		diags_release(&d);
	}
}

/* More than 10,000 instances, and ids longer than 200 bytes. */
static void
test_bounds(void)
{
	struct strbuf b = STRBUF_INIT;
	struct manifest *m = NULL;
	struct diags d;
	size_t i;

	strbuf_lit(&b, "name: t\nnodes:\n  a:\n    run: x\n"
	    "    foreach: {x: [");
	for (i = 0; i < 101; i++) {
		strbuf_int(&b, (int64_t)i);
		strbuf_lit(&b, ",");
	}
	strbuf_lit(&b, "0], y: [");
	for (i = 0; i < 99; i++) {
		strbuf_int(&b, (int64_t)i);
		strbuf_lit(&b, ",");
	}
	strbuf_lit(&b, "99]}\n");
	diags_init(&d);
	CU_ASSERT_EQUAL(manifest_parse("t.yaml", b.s, b.len, &m, &d), 1);
	CU_ASSERT(has_diag(&d, 5, 5, "'foreach' of node 'a' makes more than "
	    "10000 instances (at most 10000 a node)"));
	diags_release(&d);
	free(b.s);

	/* 100 x 100 is the bound itself */
	b.s = NULL;
	b.len = b.cap = 0;
	strbuf_lit(&b, "name: t\nnodes:\n  a:\n    run: x\n"
	    "    foreach: {x: [");
	for (i = 0; i < 100; i++) {
		strbuf_int(&b, (int64_t)i);
		strbuf_str(&b, i < 99 ? "," : "");
	}
	strbuf_lit(&b, "], y: [");
	for (i = 0; i < 100; i++) {
		strbuf_int(&b, (int64_t)i);
		strbuf_str(&b, i < 99 ? "," : "");
	}
	strbuf_lit(&b, "]}\n  z:\n    needs: [a]\n    run: x\n");
	diags_init(&d);
	CU_ASSERT_EQUAL(manifest_parse("t.yaml", b.s, b.len, &m, &d), 0);
	CU_ASSERT_EQUAL_FATAL(m->nnodes, 10001);
	CU_ASSERT_STRING_EQUAL(m->nodes[10000].id, "z");
	CU_ASSERT_EQUAL(m->nodes[10000].nneeds, 10000);
	CU_ASSERT_STRING_EQUAL(m->nodes[9999].id, "a[x=99,y=99]");
	manifest_free(m);
	diags_release(&d);
	free(b.s);

	/* three keys of 64 bytes with items of 64: over 200 bytes */
	b.s = NULL;
	b.len = b.cap = 0;
	strbuf_lit(&b, "name: t\nnodes:\n  a:\n    run: x\n    foreach:\n");
	for (i = 0; i < 3; i++) {
		strbuf_lit(&b, "      ");
		strbuf_add(&b, "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
		    "kkkkkkkkkkk", 63);
		strbuf_int(&b, (int64_t)i);
		strbuf_lit(&b, ": [vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv"
		    "vvvvvvvvvvvvvv]\n");
	}
	diags_init(&d);
	CU_ASSERT_EQUAL(manifest_parse("t.yaml", b.s, b.len, &m, &d), 1);
	CU_ASSERT(has_diag(&d, 5, 5, "of node 'a' is longer than 200 bytes"));
	diags_release(&d);
	free(b.s);
}

static const char dyn_text[] =
    "name: t\n"
    "max_parallel: 2\n"
    "nodes:\n"
    "  plan: {run: x}\n"
    "  other: {run: x, estimate: 10s}\n"
    "  agent:\n"
    "    foreach: {from: plan, key: tasks}\n"
    "    estimate: 1m\n"
    "    run: x\n"
    "  merge:\n"
    "    needs: [agent, other]\n"
    "    run: x\n"
    "  always:\n"
    "    needs: [agent]\n"
    "    when: always\n"
    "    run: x\n";

static void
test_expand_manifest(void)
{
	static const char *items[] = { "write the parser", "ok", "tests" };
	struct manifest *m;
	struct diags d;
	char *s, *cause = NULL;
	size_t t, k;

	m = parse(dyn_text, &d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	t = idx(m, "agent");
	CU_ASSERT_PTR_NOT_NULL_FATAL(node_extra(&m->nodes[t])->foreach);
	CU_ASSERT_STRING_EQUAL(node_extra(&m->nodes[t])->group, "agent");
	/* the node it expands over is a need */
	s = needs_of(m, "agent");
	CU_ASSERT_STRING_EQUAL(s, "plan");
	free(s);
	CU_ASSERT_EQUAL(manifest_expand(m, t, items, 3, &cause), 0);
	CU_ASSERT_EQUAL_FATAL(m->nnodes, 7);
	CU_ASSERT_STRING_EQUAL(m->nodes[t].id, "agent[1]");
	CU_ASSERT_STRING_EQUAL(m->nodes[5].id, "agent[ok]");
	CU_ASSERT_STRING_EQUAL(m->nodes[6].id, "agent[tests]");
	CU_ASSERT_STRING_EQUAL(node_extra(&m->nodes[t])->item.v[0].value,
	    "write the parser");
	CU_ASSERT_PTR_NULL(node_extra(&m->nodes[t])->foreach);
	CU_ASSERT_EQUAL(node_extra(&m->nodes[6])->inst, 3);
	CU_ASSERT_EQUAL(m->nodes[6].estimate_ms, 60000);
	s = needs_of(m, "agent[tests]");
	CU_ASSERT_STRING_EQUAL(s, "plan");
	free(s);
	s = needs_of(m, "merge");
	CU_ASSERT_STRING_EQUAL(s, "agent[1] other agent[ok] agent[tests]");
	free(s);
	CU_ASSERT_EQUAL(manifest_find(m, "agent"), -1);
	CU_ASSERT_EQUAL(idx(m, "agent[ok]"), 5);
	CU_ASSERT_EQUAL(m->graph.wave[idx(m, "always")], 2);
	/* shown in the foreach's place */
	CU_ASSERT_PTR_NOT_NULL_FATAL(m->order);
	{
		static const char *want[] = { "plan", "other", "agent[1]",
		    "agent[ok]", "agent[tests]", "merge", "always" };

		for (k = 0; k < 7; k++)
			CU_ASSERT_STRING_EQUAL(m->nodes[MANIFEST_AT(m, k)].id,
			    want[k]);
		CU_ASSERT_EQUAL(MANIFEST_RANK(m, 5), 3);
	}
	manifest_free(m);
	diags_release(&d);
}

/* ---- the scheduler -------------------------------------------------- */

/* When set, drain expands a due foreach at once with these items, as the
 * job does, before it asks the scheduler for its next action. */
static const char *const *auto_items;
static size_t auto_n;

/* Every action at now, as "+id" (start), "*id" (expand), "id=status". */
static char *
drain(struct sched *s, struct manifest *m, int64_t now)
{
	struct strbuf b = STRBUF_INIT;
	struct sched_action a;
	char *cause = NULL;

	while (sched_next(s, now, 100, &a)) {
		if (b.len > 0)
			strbuf_lit(&b, " ");
		if (a.kind == SA_START)
			strbuf_lit(&b, "+");
		else if (a.kind == SA_EXPAND)
			strbuf_lit(&b, "*");
		strbuf_str(&b, m->nodes[a.node].id);
		if (a.kind == SA_CHANGE) {
			strbuf_lit(&b, "=");
			strbuf_str(&b, node_status_name(a.status));
		}
		if (a.kind == SA_EXPAND && auto_items != NULL) {
			CU_ASSERT_EQUAL(manifest_expand(m, a.node, auto_items,
			    auto_n, &cause), 0);
			sched_expand(s, a.node, auto_n, now, REASON_NONE,
			    NULL);
		}
	}
	return b.s != NULL ? b.s : xstrdup("");
}

static void
ok(struct sched *s, struct manifest *m, const char *id, int64_t now)
{
	struct attempt_end e;

	memset(&e, 0, sizeof e);
	e.exit_code = 0;
	sched_ended(s, idx(m, id), now, &e);
}

#define EXPECT(s, m, now, want) do {					\
	char *got_ = drain(s, m, now);					\
	if (strcmp(got_, want) != 0)					\
		fprintf(stderr, "\n  got  '%s'\n  want '%s'\n", got_, want); \
	CU_ASSERT_STRING_EQUAL(got_, want);				\
	free(got_);							\
} while (0)

/* dyn_text parsed, its scheduler begun (as_one: plan's), the first two
 * nodes started. */
static struct sched *
dyn_begin(struct manifest **m, struct diags *d, bool as_one)
{
	struct sched_config c = { 2, NULL, as_one, 0 };
	struct sched *s;

	*m = parse(dyn_text, d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(*m);
	s = sched_new(*m, &c);
	sched_begin(s, 0);
	EXPECT(s, *m, 0, "+plan +other");
	return s;
}

static void
dyn_end(struct sched *s, struct manifest *m, struct diags *d)
{
	sched_free(s);
	manifest_free(m);
	diags_release(d);
}

static void
test_sched_expand(void)
{
	static const char *items[] = { "a", "b", "c" };
	struct manifest *m;
	struct sched *s;
	struct diags d;
	char *cause = NULL;
	size_t t;

	s = dyn_begin(&m, &d, false);
	t = idx(m, "agent");
	ok(s, m, "plan", 10);
	/* due: nothing of it starts until it is expanded */
	EXPECT(s, m, 10, "plan=succeeded *agent");
	CU_ASSERT(sched_expanding(s, t));
	EXPECT(s, m, 20, "");
	CU_ASSERT_EQUAL(manifest_expand(m, t, items, 3, &cause), 0);
	sched_expand(s, t, 3, 20, REASON_NONE, NULL);
	CU_ASSERT(!sched_expanding(s, t));
	/* one slot is free (other runs): max_parallel holds */
	EXPECT(s, m, 20, "+agent[a]");
	CU_ASSERT_EQUAL(sched_node(s, idx(m, "agent[c]"))->status,
	    NS_PENDING);
	ok(s, m, "other", 30);
	EXPECT(s, m, 30, "other=succeeded +agent[b]");
	ok(s, m, "agent[a]", 40);
	ok(s, m, "agent[b]", 40);
	EXPECT(s, m, 40, "agent[a]=succeeded agent[b]=succeeded +agent[c]");
	CU_ASSERT(!sched_finished(s));
	ok(s, m, "agent[c]", 50);
	/* merge waits for every instance */
	EXPECT(s, m, 50, "agent[c]=succeeded +merge +always");
	ok(s, m, "merge", 60);
	ok(s, m, "always", 60);
	EXPECT(s, m, 60, "merge=succeeded always=succeeded");
	CU_ASSERT(sched_finished(s));
	CU_ASSERT_EQUAL(sched_status(s), DS_SUCCEEDED);
	{
		size_t counts[NS__COUNT];

		sched_counts(s, counts);
		CU_ASSERT_EQUAL(counts[NS_SUCCEEDED], 7);
		CU_ASSERT_EQUAL(counts[NS_PENDING], 0);
	}
	dyn_end(s, m, &d);
}

static void
test_sched_empty(void)
{
	struct manifest *m;
	struct sched *s;
	struct diags d;
	const struct node_run *r;

	s = dyn_begin(&m, &d, false);
	ok(s, m, "plan", 10);
	ok(s, m, "other", 10);
	EXPECT(s, m, 10, "plan=succeeded other=succeeded *agent");
	sched_expand(s, idx(m, "agent"), 0, 20, REASON_EMPTY,
	    "no items: value 'tasks' of 'plan' is empty");
	/* a skipped need skips merge; always runs */
	EXPECT(s, m, 20, "agent=skipped merge=skipped +always");
	r = sched_node(s, idx(m, "agent"));
	CU_ASSERT_EQUAL(r->reason, REASON_EMPTY);
	CU_ASSERT_STRING_EQUAL(r->error,
	    "no items: value 'tasks' of 'plan' is empty");
	CU_ASSERT_STRING_EQUAL(reason_name(REASON_EMPTY), "empty");
	ok(s, m, "always", 30);
	EXPECT(s, m, 30, "always=succeeded");
	CU_ASSERT_EQUAL(sched_status(s), DS_SUCCEEDED);
	dyn_end(s, m, &d);

	/* too many: failed, and the DAG with it */
	s = dyn_begin(&m, &d, false);
	ok(s, m, "plan", 10);
	ok(s, m, "other", 10);
	EXPECT(s, m, 10, "plan=succeeded other=succeeded *agent");
	sched_expand(s, idx(m, "agent"), 0, 20, REASON_SPAWN_ERROR,
	    "value 'tasks' of 'plan' has 10001 items: at most 10000 "
	    "instances a node");
	EXPECT(s, m, 20, "agent=failed merge=skipped +always");
	ok(s, m, "always", 30);
	EXPECT(s, m, 30, "always=succeeded");
	CU_ASSERT_EQUAL(sched_status(s), DS_FAILED);
	dyn_end(s, m, &d);
}

/* A cancel while the expansion is due: the node ends cancelled, a late
 * sched_expand changes nothing; a failed need skips it unexpanded. */
static void
test_sched_stop(void)
{
	static const char *items[] = { "a", "b" };
	struct manifest *m;
	struct sched *s;
	struct diags d;
	struct attempt_end e;
	char *cause = NULL;
	size_t t;

	s = dyn_begin(&m, &d, false);
	ok(s, m, "plan", 10);
	EXPECT(s, m, 10, "plan=succeeded *agent");
	t = idx(m, "agent");
	sched_cancel(s, 15, DS_CANCELLED);
	CU_ASSERT(!sched_expanding(s, t));
	ok(s, m, "other", 16);
	free(drain(s, m, 16));
	CU_ASSERT_EQUAL(manifest_expand(m, t, items, 2, &cause), 0);
	sched_expand(s, t, 2, 17, REASON_NONE, NULL);
	CU_ASSERT(sched_finished(s));
	CU_ASSERT_EQUAL(sched_status(s), DS_CANCELLED);
	dyn_end(s, m, &d);

	s = dyn_begin(&m, &d, false);
	memset(&e, 0, sizeof e);
	e.reason = REASON_EXIT;
	e.exit_code = 1;
	sched_ended(s, idx(m, "plan"), 10, &e);
	EXPECT(s, m, 10, "plan=failed agent=skipped +always");
	CU_ASSERT_EQUAL(sched_node(s, idx(m, "agent"))->reason,
	    REASON_UPSTREAM_FAILED);
	dyn_end(s, m, &d);
}

/* Instances own copies of what their template owns: its sandbox (paths
 * and ports), secrets, budget and retry_on exit statuses (freed once each:
 * the sanitizers' build catches a double free at manifest_free). */
static const char owned_text[] =
    "name: t\n"
    "secrets: {TOP: /k/top}\n"
    "nodes:\n"
    "  plan: {run: x}\n"
    "  agent:\n"
    "    foreach: {from: plan, key: tasks}\n"
    "    run: x\n"
    "    retries: 1\n"
    "    retry_on: [\"exit:75\", \"exit:100-113\"]\n"
    "    jitter: true\n"
    "    secrets: {KEY: /k/key}\n"
    "    budget: {tokens: 100}\n"
    "    sandbox: {read: [/opt], write: [/srv], connect: [443], "
    "bind: [8080]}\n"
    "  sweep:\n"
    "    foreach: [x, y]\n"
    "    run: x\n"
    "    retry_on: [\"exit:75\"]\n"
    "    secrets: {KEY: /k/key}\n"
    "    budget: {tokens: 100, cost: 2}\n"
    "    sandbox: {read: [/opt], connect: [443]}\n";

/* a and b, two instances of one template, hold equal, separate copies. */
static void
same_not_shared(const struct node *a, const struct node *b)
{
	const struct node_extra *xa = a->extra, *xb = b->extra;
	size_t k;

	/* each instance owns its record: freed once each */
	CU_ASSERT_PTR_NOT_NULL_FATAL(xa);
	CU_ASSERT_PTR_NOT_NULL_FATAL(xb);
	CU_ASSERT(xa != xb);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a->sandbox);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b->sandbox);
	CU_ASSERT(a->sandbox != b->sandbox);
	CU_ASSERT_EQUAL_FATAL(a->sandbox->nread, b->sandbox->nread);
	for (k = 0; k < a->sandbox->nread; k++) {
		CU_ASSERT(a->sandbox->read[k] != b->sandbox->read[k]);
		CU_ASSERT_STRING_EQUAL(a->sandbox->read[k],
		    b->sandbox->read[k]);
	}
	CU_ASSERT_EQUAL_FATAL(a->sandbox->nconnect, b->sandbox->nconnect);
	CU_ASSERT(a->sandbox->connect != b->sandbox->connect);
	CU_ASSERT_EQUAL(a->sandbox->connect[0], b->sandbox->connect[0]);
	CU_ASSERT_EQUAL_FATAL(xa->secrets.n, xb->secrets.n);
	CU_ASSERT_EQUAL(xa->secrets.n, 2);	/* its own and the top's */
	CU_ASSERT(xa->secrets.v != xb->secrets.v);
	for (k = 0; k < xa->secrets.n; k++) {
		CU_ASSERT(xa->secrets.v[k].key != xb->secrets.v[k].key);
		CU_ASSERT_STRING_EQUAL(xa->secrets.v[k].key,
		    xb->secrets.v[k].key);
		CU_ASSERT_STRING_EQUAL(xa->secrets.v[k].value,
		    xb->secrets.v[k].value);
	}
	CU_ASSERT_EQUAL_FATAL(xa->nbudget, xb->nbudget);
	CU_ASSERT(xa->budget != xb->budget);
	for (k = 0; k < xa->nbudget; k++) {
		CU_ASSERT(xa->budget[k].name != xb->budget[k].name);
		CU_ASSERT_STRING_EQUAL(xa->budget[k].name, xb->budget[k].name);
		CU_ASSERT_DOUBLE_EQUAL(xa->budget[k].limit, xb->budget[k].limit,
		    1e-9);
	}
	CU_ASSERT_EQUAL_FATAL(xa->nretry_exits, xb->nretry_exits);
	CU_ASSERT(xa->nretry_exits > 0);
	CU_ASSERT(xa->retry_exits != xb->retry_exits);
	for (k = 0; k < xa->nretry_exits; k++) {
		CU_ASSERT_EQUAL(xa->retry_exits[k].lo, xb->retry_exits[k].lo);
		CU_ASSERT_EQUAL(xa->retry_exits[k].hi, xb->retry_exits[k].hi);
	}
	CU_ASSERT_EQUAL(a->jitter, b->jitter);
}

static void
test_owned_copies(void)
{
	static const char *items[] = { "a", "b", "c" };
	struct manifest *m;
	struct diags d;
	char *cause = NULL;
	const struct node *a;

	m = parse(owned_text, &d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	same_not_shared(&m->nodes[idx(m, "sweep[x]")],
	    &m->nodes[idx(m, "sweep[y]")]);
	CU_ASSERT_EQUAL(node_extra(&m->nodes[idx(m, "sweep[y]")])->nbudget, 2);
	CU_ASSERT_EQUAL(manifest_expand(m, idx(m, "agent"), items, 3, &cause),
	    0);
	same_not_shared(&m->nodes[idx(m, "agent[a]")],
	    &m->nodes[idx(m, "agent[b]")]);
	same_not_shared(&m->nodes[idx(m, "agent[b]")],
	    &m->nodes[idx(m, "agent[c]")]);
	a = &m->nodes[idx(m, "agent[c]")];
	CU_ASSERT_EQUAL_FATAL(node_extra(a)->nretry_exits, 2);
	CU_ASSERT_EQUAL(node_extra(a)->retry_exits[1].lo, 100);
	CU_ASSERT_EQUAL(node_extra(a)->retry_exits[1].hi, 113);
	CU_ASSERT(a->jitter);
	CU_ASSERT_EQUAL(a->sandbox->nwrite, 1);
	CU_ASSERT_EQUAL(a->sandbox->bind[0], 8080);
	manifest_free(m);
	diags_release(&d);
}

/* The scheduler's per-node accounts grow with an expansion: an instance
 * over its own budget is killed on its report, the other goes on; and a
 * `when: always` dynamic foreach whose planner failed is skipped for that
 * failure, which a `when: failure` node below counts. */
static void
test_sched_instances_budget(void)
{
	static const char text[] =
	    "name: t\n"
	    "max_parallel: 4\n"
	    "nodes:\n"
	    "  plan: {run: x}\n"
	    "  agent:\n"
	    "    foreach: {from: plan, key: tasks}\n"
	    "    when: always\n"
	    "    budget: {tokens: 100}\n"
	    "    run: x\n"
	    "  handler:\n"
	    "    needs: [agent]\n"
	    "    when: failure\n"
	    "    run: x\n";
	static const char *items[] = { "a", "b" };
	struct metric calm = { (char []){ "tokens" }, 90 };
	struct metric wild = { (char []){ "tokens" }, 120 };
	struct sched_config c = { 4, NULL, false, 0 };
	struct manifest *m;
	struct sched *s;
	struct diags d;
	struct attempt_end e;
	char *cause = NULL;
	size_t t;

	m = parse(text, &d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	s = sched_new(m, &c);
	sched_begin(s, 0);
	EXPECT(s, m, 0, "+plan");
	ok(s, m, "plan", 10);
	EXPECT(s, m, 10, "plan=succeeded *agent");
	t = idx(m, "agent");
	CU_ASSERT_EQUAL(manifest_expand(m, t, items, 2, &cause), 0);
	sched_expand(s, t, 2, 10, REASON_NONE, NULL);
	EXPECT(s, m, 10, "+agent[a] +agent[b]");
	sched_progress(s, idx(m, "agent[a]"), 11, &calm, 1);
	EXPECT(s, m, 11, "");
	sched_progress(s, idx(m, "agent[b]"), 12, &wild, 1);
	EXPECT(s, m, 12, "agent[b]");		/* its kill */
	memset(&e, 0, sizeof e);
	e.reason = REASON_SIGNAL;
	e.exit_code = -1;
	e.signal = 15;
	e.metrics = &wild;
	e.nmetrics = 1;
	sched_ended(s, idx(m, "agent[b]"), 13, &e);
	memset(&e, 0, sizeof e);
	e.metrics = &calm;
	e.nmetrics = 1;
	sched_ended(s, idx(m, "agent[a]"), 14, &e);
	EXPECT(s, m, 14, "agent[b]=failed agent[a]=succeeded +handler");
	CU_ASSERT_EQUAL(sched_node(s, idx(m, "agent[b]"))->reason,
	    REASON_BUDGET);
	ok(s, m, "handler", 15);
	EXPECT(s, m, 15, "handler=succeeded");
	sched_free(s);
	manifest_free(m);
	diags_release(&d);

	/* the planner fails: agent is skipped for it, handler runs */
	m = parse(text, &d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	s = sched_new(m, &c);
	sched_begin(s, 0);
	EXPECT(s, m, 0, "+plan");
	memset(&e, 0, sizeof e);
	e.reason = REASON_EXIT;
	e.exit_code = 1;
	sched_ended(s, idx(m, "plan"), 10, &e);
	EXPECT(s, m, 10, "plan=failed agent=skipped +handler");
	CU_ASSERT_EQUAL(sched_node(s, idx(m, "agent"))->reason,
	    REASON_UPSTREAM_FAILED);
	sched_free(s);
	manifest_free(m);
	diags_release(&d);
}

/* plan's simulation: a dynamic foreach starts as one node. */
static void
test_sched_as_one(void)
{
	struct manifest *m;
	struct sched *s;
	struct diags d;

	s = dyn_begin(&m, &d, true);
	ok(s, m, "plan", 10);
	EXPECT(s, m, 10, "plan=succeeded +agent");
	dyn_end(s, m, &d);
}

/* Waves: the instances are in the foreach's wave; a later wave waits for
 * all of them. Bottom levels: an instance weighs as the foreach. */
static void
test_sched_waves(void)
{
	static const char text[] =
	    "name: t\n"
	    "schedule: waves\n"
	    "max_parallel: 4\n"
	    "nodes:\n"
	    "  plan: {run: x}\n"
	    "  slow: {run: x}\n"
	    "  agent:\n"
	    "    foreach: {from: plan, key: k}\n"
	    "    run: x\n"
	    "  late:\n"
	    "    needs: [slow]\n"
	    "    run: x\n"
	    "  after:\n"
	    "    needs: [late]\n"
	    "    run: x\n";
	static const char *items[] = { "a", "b" };
	struct sched_config c = { 4, NULL, false, 0 };
	struct manifest *m;
	struct sched *s;
	struct diags d;
	char *cause = NULL;
	size_t t;

	m = parse(text, &d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	s = sched_new(m, &c);
	sched_begin(s, 0);
	EXPECT(s, m, 0, "+slow +plan");
	ok(s, m, "plan", 10);
	ok(s, m, "slow", 10);
	EXPECT(s, m, 10, "plan=succeeded slow=succeeded *agent +late");
	t = idx(m, "agent");
	CU_ASSERT_EQUAL(manifest_expand(m, t, items, 2, &cause), 0);
	sched_expand(s, t, 2, 11, REASON_NONE, NULL);
	EXPECT(s, m, 11, "+agent[a] +agent[b]");
	ok(s, m, "late", 12);
	ok(s, m, "agent[a]", 12);
	EXPECT(s, m, 12, "late=succeeded agent[a]=succeeded");
	/* wave 2 starts once the last instance of wave 1 has ended */
	ok(s, m, "agent[b]", 13);
	EXPECT(s, m, 13, "agent[b]=succeeded +after");
	ok(s, m, "after", 14);
	EXPECT(s, m, 14, "after=succeeded");
	CU_ASSERT(sched_finished(s));
	dyn_end(s, m, &d);
}

/* The instances start by priority among the other ready nodes, and take
 * one slot each (max_parallel 1 here). */
static void
test_sched_priority(void)
{
	static const char text[] =
	    "name: t\n"
	    "max_parallel: 1\n"
	    "nodes:\n"
	    "  plan: {run: x, estimate: 10s}\n"
	    "  low: {run: x}\n"
	    "  agent:\n"
	    "    foreach: {from: plan, key: k}\n"
	    "    priority: 5\n"
	    "    run: x\n";
	static const char *items[] = { "a", "b" };
	struct sched_config c = { 1, NULL, false, 0 };
	struct manifest *m;
	struct sched *s;
	struct diags d;

	m = parse(text, &d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	s = sched_new(m, &c);
	sched_begin(s, 0);
	EXPECT(s, m, 0, "+plan");
	auto_items = items;
	auto_n = 2;
	ok(s, m, "plan", 10);
	EXPECT(s, m, 10, "plan=succeeded *agent +agent[a]");
	ok(s, m, "agent[a]", 20);
	EXPECT(s, m, 20, "agent[a]=succeeded +agent[b]");
	ok(s, m, "agent[b]", 30);
	EXPECT(s, m, 30, "agent[b]=succeeded +low");
	auto_items = NULL;
	dyn_end(s, m, &d);
}

/* The warning of validate: a key the node it expands over does not seem
 * to write. */
static void
test_lint(void)
{
	static const char text[] =
	    "name: t\n"
	    "nodes:\n"
	    "  plan: {run: \"echo tasks=a >> $DAGEXEC_OUTPUT\"}\n"
	    "  good:\n"
	    "    foreach: {from: plan, key: tasks}\n"
	    "    run: x\n"
	    "  bad:\n"
	    "    foreach: {from: plan, key: other}\n"
	    "    run: x\n";
	struct manifest *m;
	struct diags d;

	m = parse(text, &d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	manifest_lint(m, &d);
	CU_ASSERT_EQUAL(d.n, 1);
	CU_ASSERT(has_diag(&d, 8, 32, "node 'bad' expands over value 'other' "
	    "of 'plan', which its command does not mention"));
	CU_ASSERT(d.v[0].warning);
	manifest_free(m);
	diags_release(&d);
}

/* Every instance owns its slurm: and cache: settings, copied from the node
 * as written (a static foreach) or from the node expanded (a dynamic
 * one): the same values, not the same memory, each freed once. */
static void
test_instance_settings(void)
{
	static const char text[] =
	    "name: t\n"
	    "nodes:\n"
	    "  plan: {run: x}\n"
	    "  sweep:\n"
	    "    foreach: [a, b, c]\n"
	    "    executor: slurm\n"
	    "    slurm: {partition: gpu, extra: [--exclusive]}\n"
	    "    cache: {inputs: [data/in], env: [HOME]}\n"
	    "    run: x\n"
	    "  agent:\n"
	    "    foreach: {from: plan, key: tasks}\n"
	    "    executor: slurm\n"
	    "    slurm: {partition: cpu, qos: low}\n"
	    "    cache: {inputs: [data/in]}\n"
	    "    run: x\n";
	static const char *items[] = { "x", "y" };
	static const char *ids[] = { "sweep[a]", "sweep[b]", "sweep[c]",
	    "agent[x]", "agent[y]" };
	const struct node *n, *o;
	struct manifest *m;
	struct diags d;
	char *cause = NULL;
	size_t k, q;

	m = parse(text, &d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(manifest_expand(m, idx(m, "agent"), items, 2, &cause),
	    0);
	for (k = 0; k < 5; k++) {
		n = &m->nodes[idx(m, ids[k])];
		CU_ASSERT_PTR_NOT_NULL_FATAL(n->slurm);
		CU_ASSERT_PTR_NOT_NULL_FATAL(n->cache);
		CU_ASSERT_STRING_EQUAL(node_slurm(n)->partition,
		    k < 3 ? "gpu" : "cpu");
		CU_ASSERT_STRING_EQUAL(node_cache(n)->inputs[0], "data/in");
		for (q = 0; q < k; q++) {
			o = &m->nodes[idx(m, ids[q])];
			CU_ASSERT(o->slurm != n->slurm);
			CU_ASSERT(o->cache != n->cache);
			CU_ASSERT(o->cache->inputs != n->cache->inputs);
		}
	}
	n = &m->nodes[idx(m, "sweep[c]")];
	CU_ASSERT_EQUAL_FATAL(node_slurm(n)->nextra, 1);
	CU_ASSERT_STRING_EQUAL(node_slurm(n)->extra[0], "--exclusive");
	CU_ASSERT_STRING_EQUAL(node_cache(n)->env[0], "HOME");
	CU_ASSERT_STRING_EQUAL(node_slurm(&m->nodes[idx(m, "agent[y]")])->qos,
	    "low");
	/* a node of neither reads the empty ones */
	n = &m->nodes[idx(m, "plan")];
	CU_ASSERT_PTR_NULL(n->slurm);
	CU_ASSERT_PTR_NULL(node_slurm(n)->partition);
	CU_ASSERT(!node_cache(n)->enabled);
	manifest_free(m);
	diags_release(&d);
}

int
main(void)
{
	static const struct cunit_test tests[] = {
		{ "lists and crossed maps", test_list_and_crossed },
		{ "instance labels", test_labels },
		{ "errors at their line and column", test_bad },
		{ "10,000 instances and 200 bytes", test_bounds },
		{ "a dynamic foreach expanded", test_expand_manifest },
		{ "instances own their slurm and cache settings",
		    test_instance_settings },
		{ "the scheduler expands", test_sched_expand },
		{ "zero and too many items", test_sched_empty },
		{ "a stop before the expansion", test_sched_stop },
		{ "plan: expanded as one", test_sched_as_one },
		{ "waves", test_sched_waves },
		{ "priorities and caps", test_sched_priority },
		{ "the warning of validate", test_lint },
		{ "instances own copies of sandbox, secrets, budget",
		    test_owned_copies },
		{ "instances: budgets and when: failure",
		    test_sched_instances_budget },
		{ NULL, NULL }
	};

	return cunit_run("foreach", NULL, NULL, tests);
}
