/* CUnit suite for plan.c: predicted makespans, critical paths, caps,
 * pools, priorities, reuse, and that the simulated schedule is the one the
 * scheduler decides when driven one end at a time by a fake clock. */
#include "config.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "cunit_main.h"
#include "diag.h"
#include "manifest.h"
#include "plan.h"
#include "rng.h"
#include "sched.h"
#include "state.h"
#include "strbuf.h"
#include "xmalloc.h"

static struct manifest *
parse(const char *text)
{
	struct manifest	*m = NULL;
	struct diags	 d;
	int		 rc;

	diags_init(&d);
	rc = manifest_parse("t.yaml", text, strlen(text), &m, &d);
	if (rc != 0)
		diags_print(stderr, "t.yaml", &d);
	diags_release(&d);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	return m;
}

static struct plan *
simulate(const struct manifest *m, int jobs, const int64_t *learned,
    const unsigned char *reused)
{
	struct plan	*p;
	char		*cause = NULL;

	p = plan_new(m, plan_cap(m, jobs), learned, reused, &cause);
	if (p == NULL)
		fprintf(stderr, "plan_new: %s\n", cause);
	free(cause);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	return p;
}

static int64_t
start_of(const struct plan *p, const struct manifest *m, const char *id)
{
	int64_t	s, e;
	long	i = manifest_find(m, id);

	CU_ASSERT_FATAL(i >= 0);
	(void)plan_node_times(p, (size_t)i, &s, &e);
	return s;
}

static int64_t
end_of(const struct plan *p, const struct manifest *m, const char *id)
{
	int64_t	s, e;
	long	i = manifest_find(m, id);

	CU_ASSERT_FATAL(i >= 0);
	(void)plan_node_times(p, (size_t)i, &s, &e);
	return e;
}

/* The critical path as "a b c". */
static char *
crit_str(const struct plan *p, const struct manifest *m)
{
	struct strbuf	 b = STRBUF_INIT;
	const size_t	*c;
	size_t		 n, k;

	c = plan_critical(p, &n);
	for (k = 0; k < n; k++) {
		if (k > 0)
			strbuf_add(&b, " ", 1);
		strbuf_add(&b, m->nodes[c[k]].id, strlen(m->nodes[c[k]].id));
	}
	return b.s != NULL ? b.s : xstrdup("");
}

static void
check_crit(const struct plan *p, const struct manifest *m, const char *want)
{
	char	*got = crit_str(p, m);

	if (strcmp(got, want) != 0)
		fprintf(stderr, "critical path '%s', wanted '%s'\n", got, want);
	CU_ASSERT_STRING_EQUAL(got, want);
	free(got);
}

static void
test_chain(void)
{
	struct manifest	*m = parse("name: c\nnodes:\n"
	    "  a: {run: x, estimate: 1s}\n"
	    "  b: {run: x, estimate: 2s, needs: [a]}\n"
	    "  c: {run: x, estimate: 3500ms, needs: [b]}\n");
	struct plan	*p;
	int		 j;

	for (j = 1; j <= 8; j *= 2) {
		p = simulate(m, j, NULL, NULL);
		CU_ASSERT_EQUAL(plan_makespan(p), 6500);
		CU_ASSERT_EQUAL(plan_unknown(p), 0);
		CU_ASSERT_EQUAL(plan_status(p), DS_SUCCEEDED);
		CU_ASSERT_EQUAL(start_of(p, m, "b"), 1000);
		CU_ASSERT_EQUAL(end_of(p, m, "c"), 6500);
		check_crit(p, m, "a b c");
		plan_free(p);
	}
	manifest_free(m);
}

static void
test_fanout(void)
{
	struct manifest	*m = parse("name: f\nnodes:\n"
	    "  a: {run: x, estimate: 3s}\n  b: {run: x, estimate: 3s}\n"
	    "  c: {run: x, estimate: 3s}\n  d: {run: x, estimate: 3s}\n");
	struct plan	*p;

	p = simulate(m, 1, NULL, NULL);
	CU_ASSERT_EQUAL(plan_makespan(p), 12000);
	plan_free(p);
	p = simulate(m, 2, NULL, NULL);
	CU_ASSERT_EQUAL(plan_makespan(p), 6000);
	CU_ASSERT_EQUAL(plan_busy(p), 12000);
	/* equal nodes start in manifest order */
	CU_ASSERT_EQUAL(start_of(p, m, "a"), 0);
	CU_ASSERT_EQUAL(start_of(p, m, "b"), 0);
	CU_ASSERT_EQUAL(start_of(p, m, "c"), 3000);
	CU_ASSERT_EQUAL(start_of(p, m, "d"), 3000);
	/* c waited for a's slot */
	check_crit(p, m, "a c");
	plan_free(p);
	p = simulate(m, 4, NULL, NULL);
	CU_ASSERT_EQUAL(plan_makespan(p), 3000);
	check_crit(p, m, "a");
	plan_free(p);
	p = simulate(m, 100, NULL, NULL);
	CU_ASSERT_EQUAL(plan_parallelism(p), 100);
	CU_ASSERT_EQUAL(plan_makespan(p), 3000);
	plan_free(p);
	manifest_free(m);
}

static void
test_max_parallel(void)
{
	struct manifest	*m = parse("name: f\nmax_parallel: 2\nnodes:\n"
	    "  a: {run: x, estimate: 1s}\n  b: {run: x, estimate: 1s}\n"
	    "  c: {run: x, estimate: 1s}\n  d: {run: x, estimate: 1s}\n");
	struct plan	*p;

	CU_ASSERT_EQUAL(plan_cap(m, 8), 2);
	CU_ASSERT_EQUAL(plan_cap(m, 1), 1);
	p = simulate(m, 8, NULL, NULL);
	CU_ASSERT_EQUAL(plan_parallelism(p), 2);
	CU_ASSERT_EQUAL(plan_makespan(p), 2000);
	plan_free(p);
	p = simulate(m, 1, NULL, NULL);
	CU_ASSERT_EQUAL(plan_makespan(p), 4000);
	plan_free(p);
	manifest_free(m);
}

static void
test_pools(void)
{
	struct manifest	*m = parse("name: p\npools: {net: 1, gpu: 2}\nnodes:\n"
	    "  a: {run: x, estimate: 2s, pool: net}\n"
	    "  b: {run: x, estimate: 2s, pool: net}\n"
	    "  c: {run: x, estimate: 2s, pool: net}\n"
	    "  g1: {run: x, estimate: 1s, pool: gpu}\n"
	    "  g2: {run: x, estimate: 1s, pool: gpu}\n"
	    "  g3: {run: x, estimate: 1s, pool: gpu}\n"
	    "  free: {run: x, estimate: 500ms}\n");
	struct plan	*p;

	p = simulate(m, 16, NULL, NULL);
	/* net runs one at a time: 6 s; gpu two at a time: 2 s */
	CU_ASSERT_EQUAL(plan_makespan(p), 6000);
	CU_ASSERT_EQUAL(start_of(p, m, "b"), 2000);
	CU_ASSERT_EQUAL(start_of(p, m, "c"), 4000);
	CU_ASSERT_EQUAL(start_of(p, m, "g3"), 1000);
	CU_ASSERT_EQUAL(start_of(p, m, "free"), 0);
	check_crit(p, m, "a b c");
	plan_free(p);
	manifest_free(m);
}

static void
test_priority(void)
{
	struct manifest	*m = parse("name: pr\nnodes:\n"
	    "  low: {run: x, estimate: 1s, priority: -5}\n"
	    "  mid: {run: x, estimate: 1s}\n"
	    "  high: {run: x, estimate: 1s, priority: 10}\n"
	    "  long: {run: x, estimate: 5s}\n");
	struct plan	*p;

	p = simulate(m, 1, NULL, NULL);
	CU_ASSERT_EQUAL(start_of(p, m, "high"), 0);
	/* then the longest remaining path, then manifest order */
	CU_ASSERT_EQUAL(start_of(p, m, "long"), 1000);
	CU_ASSERT_EQUAL(start_of(p, m, "mid"), 6000);
	CU_ASSERT_EQUAL(start_of(p, m, "low"), 7000);
	CU_ASSERT_EQUAL(plan_makespan(p), 8000);
	check_crit(p, m, "high long mid low");
	plan_free(p);
	manifest_free(m);
}

static void
test_critical_diamond(void)
{
	struct manifest	*m = parse("name: d\nnodes:\n"
	    "  a: {run: x, estimate: 1s}\n"
	    "  b: {run: x, estimate: 5s, needs: [a]}\n"
	    "  c: {run: x, estimate: 2s, needs: [a]}\n"
	    "  d: {run: x, estimate: 1s, needs: [b, c]}\n"
	    "  e: {run: x, estimate: 3s, needs: [c]}\n"
	    "  lone: {run: x, estimate: 4s}\n");
	struct plan	*p;

	p = simulate(m, 8, NULL, NULL);
	CU_ASSERT_EQUAL(plan_makespan(p), 7000);
	check_crit(p, m, "a b d");
	plan_free(p);
	manifest_free(m);
}

static void
test_sources(void)
{
	struct manifest	*m = parse("name: s\nnodes:\n"
	    "  est: {run: x, estimate: 2s}\n"
	    "  learned: {run: x}\n"
	    "  none: {run: x, needs: [learned]}\n"
	    "  zero: {run: x, estimate: 0}\n");
	int64_t		 learned[4] = { 9000, 3000, 0, 7000 };
	enum plan_source src;
	struct plan	*p;

	p = simulate(m, 4, learned, NULL);
	CU_ASSERT_EQUAL(plan_unknown(p), 1);
	CU_ASSERT_EQUAL(plan_node_duration(p, 0, &src), 2000);
	CU_ASSERT_EQUAL(src, PLAN_ESTIMATE);
	CU_ASSERT_EQUAL(plan_node_duration(p, 1, &src), 3000);
	CU_ASSERT_EQUAL(src, PLAN_HISTORY);
	CU_ASSERT_EQUAL(plan_node_duration(p, 2, &src), PLAN_UNKNOWN_MS);
	CU_ASSERT_EQUAL(src, PLAN_UNKNOWN);
	CU_ASSERT_EQUAL(plan_node_duration(p, 3, &src), 0);
	CU_ASSERT_EQUAL(src, PLAN_ESTIMATE);
	CU_ASSERT_EQUAL(plan_makespan(p), 4000);
	check_crit(p, m, "learned none");
	plan_free(p);
	p = simulate(m, 4, NULL, NULL);
	CU_ASSERT_EQUAL(plan_unknown(p), 2);
	CU_ASSERT_EQUAL(plan_makespan(p), 2000);
	plan_free(p);
	manifest_free(m);
}

static void
test_waves(void)
{
	struct manifest	*m = parse("name: w\nschedule: waves\nnodes:\n"
	    "  a: {run: x, estimate: 1s}\n  b: {run: x, estimate: 3s}\n"
	    "  c: {run: x, estimate: 1s, needs: [a]}\n");
	struct plan	*p;

	p = simulate(m, 4, NULL, NULL);
	/* c waits for the whole of wave 0 */
	CU_ASSERT_EQUAL(start_of(p, m, "c"), 3000);
	CU_ASSERT_EQUAL(plan_makespan(p), 4000);
	check_crit(p, m, "b c");
	plan_free(p);
	manifest_free(m);
}

static void
test_timeout(void)
{
	struct manifest	*m = parse("name: t\nnodes:\n"
	    "  slow: {run: x, estimate: 10s, timeout: 2s, retries: 1, "
	    "retry_delay: 1s}\n"
	    "  after: {run: x, estimate: 1s, needs: [slow]}\n");
	struct plan	*p;
	int64_t		 s, e;

	p = simulate(m, 2, NULL, NULL);
	/* two tries of 2 s with 1 s between them, then timed out: the DAG
	 * fails and what needs it is skipped */
	CU_ASSERT_EQUAL(plan_status(p), DS_FAILED);
	CU_ASSERT_EQUAL(end_of(p, m, "slow"), 5000);
	CU_ASSERT_FALSE(plan_node_times(p, 1, &s, &e));
	CU_ASSERT_EQUAL(s, -1);
	CU_ASSERT_EQUAL(plan_makespan(p), 5000);
	CU_ASSERT_EQUAL(plan_busy(p), 4000);
	plan_free(p);
	manifest_free(m);
}

static void
test_reuse(void)
{
	struct manifest	*m = parse("name: r\nnodes:\n"
	    "  a: {run: x, estimate: 5s}\n"
	    "  b: {run: x, estimate: 5s}\n"
	    "  c: {run: x, estimate: 5s, needs: [a]}\n"
	    "  d: {run: x, estimate: 1s, needs: [b]}\n"
	    "  e: {run: x, estimate: 2s, needs: [c, d]}\n"
	    "  gone: {run: x, estimate: 1s}\n");
	static const char *const ended[][2] = {
		{ "a", "succeeded" }, { "b", "failed" }, { "c", "succeeded" },
		{ "d", "succeeded" }, { "e", "skipped" },
		{ "other", "succeeded" }
	};
	struct state_doc_node dn[6];
	struct state_doc doc;
	unsigned char	 reused[6];
	int64_t		 s, e;
	struct plan	*p;
	size_t		 k;

	memset(&doc, 0, sizeof doc);
	memset(dn, 0, sizeof dn);
	for (k = 0; k < 6; k++) {
		dn[k].id = xstrdup(ended[k][0]);
		dn[k].status = xstrdup(ended[k][1]);
	}
	doc.nodes = dn;
	doc.nnodes = 6;
	/* a and c succeeded on reused needs; d succeeded but its need b
	 * runs again; gone never ran; other is not in the manifest */
	CU_ASSERT_EQUAL(plan_reusable(m, &doc, reused), 2);
	CU_ASSERT(reused[0] && !reused[1] && reused[2] && !reused[3] &&
	    !reused[4] && !reused[5]);
	p = simulate(m, 1, NULL, reused);
	CU_ASSERT_TRUE(plan_node_times(p, 0, &s, &e));
	CU_ASSERT_EQUAL(s, 0);
	CU_ASSERT_EQUAL(e, 0);
	/* b 5 s, d 1 s, e 2 s, gone 1 s, one at a time */
	CU_ASSERT_EQUAL(plan_makespan(p), 9000);
	CU_ASSERT_EQUAL(plan_unknown(p), 0);
	plan_free(p);
	memset(reused, 1, sizeof reused);
	p = simulate(m, 1, NULL, reused);
	CU_ASSERT_EQUAL(plan_makespan(p), 0);
	plan_free(p);
	for (k = 0; k < 6; k++) {
		free(dn[k].id);
		free(dn[k].status);
	}
	manifest_free(m);
}

/* A random DAG: needs on earlier nodes, a pool, priorities, durations of
 * many distinct milliseconds (so that no two ends coincide). */
static char *
random_dag(size_t n, int *jobs)
{
	struct strbuf	 b = STRBUF_INIT;
	size_t		 i, j;
	char		 line[256];
	int		 first;

	snprintf(line, sizeof line, "name: rnd\npools: {p: %u}\n%snodes:\n",
	    1 + rng() % 3, rng() % 3 == 0 ? "max_parallel: 3\n" : "");
	strbuf_add(&b, line, strlen(line));
	for (i = 0; i < n; i++) {
		snprintf(line, sizeof line, "  n%zu: {run: x, estimate: %ums, "
		    "priority: %d%s, needs: [", i, 1 + rng() % 100000,
		    (int)(rng() % 3) - 1, rng() % 4 == 0 ? ", pool: p" : "");
		strbuf_add(&b, line, strlen(line));
		first = 1;
		for (j = 0; j < i; j++) {
			if (rng() % 6 != 0)
				continue;
			snprintf(line, sizeof line, "%sn%zu", first ? "" :
			    ", ", j);
			strbuf_add(&b, line, strlen(line));
			first = 0;
		}
		strbuf_add(&b, "]}\n", 3);
	}
	*jobs = 1 + (int)(rng() % 5);
	return b.s;
}

/* The scheduler driven as test_sched drives it: a fake clock that moves
 * to the earliest end and reports one end at a time. */
static void
reference(const struct manifest *m, int cap, int64_t *start, int64_t *end)
{
	static const struct attempt_end ok = { .reason = REASON_NONE };
	struct sched_config	 sc = { cap, NULL, false, 0 };
	struct sched_action	 a;
	struct sched		*s;
	int64_t			*due, now = 0;
	size_t			 i, best;

	due = xcalloc(m->nnodes, sizeof *due);
	for (i = 0; i < m->nnodes; i++)
		due[i] = -1;
	s = sched_new(m, &sc);
	sched_begin(s, now);
	for (;;) {
		while (sched_next(s, now, INT_MAX, &a))
			if (a.kind == SA_START)
				due[a.node] = now + m->nodes[a.node].estimate_ms;
		if (sched_finished(s))
			break;
		best = SIZE_MAX;
		for (i = 0; i < m->nnodes; i++)
			if (due[i] >= 0 && (best == SIZE_MAX ||
			    due[i] < due[best]))
				best = i;
		CU_ASSERT_FATAL(best != SIZE_MAX);
		now = due[best];
		due[best] = -1;
		sched_ended(s, best, now, &ok);
	}
	for (i = 0; i < m->nnodes; i++) {
		start[i] = sched_node(s, i)->started_ms;
		end[i] = sched_node(s, i)->finished_ms;
	}
	sched_free(s);
	free(due);
}

static void
test_same_as_sched(void)
{
	struct manifest	*m;
	struct plan	*p;
	int64_t		 rs[40], re[40], s, e, last;
	char		*text;
	size_t		 n, i;
	int		 trial, jobs, bad = 0;

	rng_state = 20261128;
	for (trial = 0; trial < 300; trial++) {
		n = 2 + rng() % 39;
		text = random_dag(n, &jobs);
		m = parse(text);
		p = simulate(m, jobs, NULL, NULL);
		reference(m, plan_cap(m, jobs), rs, re);
		last = 0;
		for (i = 0; i < n; i++) {
			(void)plan_node_times(p, i, &s, &e);
			if (s != rs[i] || e != re[i])
				bad++;
			if (re[i] > last)
				last = re[i];
		}
		if (plan_makespan(p) != last)
			bad++;
		plan_free(p);
		manifest_free(m);
		free(text);
	}
	CU_ASSERT_EQUAL(bad, 0);
}

int
main(void)
{
	static const struct cunit_test tests[] = {
		{ "chain", test_chain },
		{ "fanout", test_fanout },
		{ "max_parallel", test_max_parallel },
		{ "pools", test_pools },
		{ "priority", test_priority },
		{ "critical_diamond", test_critical_diamond },
		{ "sources", test_sources },
		{ "waves", test_waves },
		{ "timeout", test_timeout },
		{ "reuse", test_reuse },
		{ "same_as_sched", test_same_as_sched },
		{ NULL, NULL }
	};

	return cunit_run("plan", NULL, NULL, tests);
}
