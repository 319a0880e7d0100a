/* CUnit suite for sched.c: a fake clock and a fake process table drive the
 * scheduler the way the executor does, transition by transition. The
 * manifest and its graph are built by hand (manifest.c and graph.c are not
 * linked in). */
#include "config.h"

#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "cunit_main.h"
#include "sched.h"
#include "xmalloc.h"

/* ---- hand-made manifests ------------------------------------------- */

static struct manifest *
man_alloc(size_t n)
{
	struct manifest	*m;
	struct node	*nd;
	size_t		 i;

	m = xcalloc(1, sizeof *m);
	m->name = xstrdup("t");
	m->nnodes = n;
	m->nodes = xcalloc(n, sizeof *m->nodes);
	for (i = 0; i < n; i++) {
		nd = &m->nodes[i];
		nd->id = xasprintf("n%zu", i);
		nd->retry_delay_ms = 1000;
		nd->backoff = BACKOFF_EXPONENTIAL;
		nd->max_retry_delay_ms = 300000;
		nd->retry_on = ~(1u << REASON_SPAWN_ERROR);
		nd->when = WHEN_SUCCESS;
		nd->pool_index = -1;
		nd->estimate_ms = -1;
	}
	return (m);
}

/* Fill m->graph from the nodes' needs, which must name earlier nodes: the
 * manifest order is then a topological order. */
static void
man_graph(struct manifest *m)
{
	struct graph	*g = &m->graph;
	size_t		 n = m->nnodes, i, k, j, e = 0, *fill;

	for (i = 0; i < n; i++)
		e += m->nodes[i].nneeds;
	g->n = n;
	g->need_off = xcalloc(n + 1, sizeof *g->need_off);
	g->need = xcalloc(e + 1, sizeof *g->need);
	g->dep_off = xcalloc(n + 1, sizeof *g->dep_off);
	g->dep = xcalloc(e + 1, sizeof *g->dep);
	g->topo = xcalloc(n + 1, sizeof *g->topo);
	g->wave = xcalloc(n + 1, sizeof *g->wave);
	g->weight = xcalloc(n + 1, sizeof *g->weight);
	g->blevel = xcalloc(n + 1, sizeof *g->blevel);
	for (i = 0; i < n; i++) {
		g->need_off[i + 1] = g->need_off[i] + m->nodes[i].nneeds;
		for (k = 0; k < m->nodes[i].nneeds; k++) {
			j = m->nodes[i].needs[k];
			g->need[g->need_off[i] + k] = j;
			g->dep_off[j + 1]++;
			if (g->wave[j] + 1 > g->wave[i])
				g->wave[i] = g->wave[j] + 1;
		}
		if (g->wave[i] + 1 > g->nwaves)
			g->nwaves = g->wave[i] + 1;
		g->topo[i] = i;
		g->weight[i] = 1;
	}
	for (i = 0; i < n; i++)
		g->dep_off[i + 1] += g->dep_off[i];
	fill = xcalloc(n + 1, sizeof *fill);
	for (i = 0; i < n; i++)
		for (k = g->need_off[i]; k < g->need_off[i + 1]; k++) {
			j = g->need[k];
			g->dep[g->dep_off[j] + fill[j]++] = i;
		}
	free(fill);
	for (i = n; i > 0; i--) {
		int64_t best = 0;

		for (k = g->dep_off[i - 1]; k < g->dep_off[i]; k++)
			if (g->blevel[g->dep[k]] > best)
				best = g->blevel[g->dep[k]];
		g->blevel[i - 1] = best + 1;
	}
}

/* "a b:a c:a,b": ids and needs (earlier ids only). */
static struct manifest *
man_new(const char *spec)
{
	struct manifest	*m;
	char		*copy, *tok, *save, *colon, *need, *save2;
	size_t		 n = 0, i = 0, j;
	const char	*p;

	for (p = spec; *p != '\0'; p++)
		if (*p != ' ' && (p == spec || p[-1] == ' '))
			n++;
	m = man_alloc(n);
	copy = xstrdup(spec);
	for (tok = strtok_r(copy, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save), i++) {
		if ((colon = strchr(tok, ':')) != NULL)
			*colon++ = '\0';
		free(m->nodes[i].id);
		m->nodes[i].id = xstrdup(tok);
		if (colon == NULL)
			continue;
		for (need = strtok_r(colon, ",", &save2); need != NULL;
		    need = strtok_r(NULL, ",", &save2)) {
			for (j = 0; j < i; j++)
				if (strcmp(m->nodes[j].id, need) == 0)
					break;
			CU_ASSERT_FATAL(j < i);
			m->nodes[i].needs = xreallocarray(m->nodes[i].needs,
			    m->nodes[i].nneeds + 1, sizeof (size_t));
			m->nodes[i].needs[m->nodes[i].nneeds++] = j;
		}
	}
	free(copy);
	man_graph(m);
	return (m);
}

static void
man_free(struct manifest *m)
{
	size_t	i;

	for (i = 0; i < m->nnodes; i++) {
		size_t k;

		struct node_extra *x = m->nodes[i].extra;

		free(m->nodes[i].id);
		free(m->nodes[i].needs);
		if (x == NULL)
			continue;
		free(x->retry_exits);
		for (k = 0; k < x->nbudget; k++)
			free(x->budget[k].name);
		free(x->budget);
		free(x);
	}
	for (i = 0; i < m->npools; i++)
		free(m->pools[i].name);
	for (i = 0; i < m->nbudget; i++)
		free(m->budget[i].name);
	free(m->pools);
	free(m->budget);
	free(m->nodes);
	free(m->name);
	free(m->graph.need_off);
	free(m->graph.need);
	free(m->graph.dep_off);
	free(m->graph.dep);
	free(m->graph.topo);
	free(m->graph.wave);
	free(m->graph.weight);
	free(m->graph.blevel);
	free(m);
}

static size_t
idx(const struct manifest *m, const char *id)
{
	size_t	i;

	for (i = 0; i < m->nnodes; i++)
		if (strcmp(m->nodes[i].id, id) == 0)
			return (i);
	CU_FAIL_FATAL("no such node");
	return (0);
}

static struct node *
nd(struct manifest *m, const char *id)
{
	return (&m->nodes[idx(m, id)]);
}

static int
man_pool(struct manifest *m, const char *name, int cap)
{
	m->pools = xreallocarray(m->pools, m->npools + 1, sizeof *m->pools);
	m->pools[m->npools].name = xstrdup(name);
	m->pools[m->npools].cap = cap;
	return ((int)m->npools++);
}

static void
man_budget(struct manifest *m, const char *name, double limit)
{
	m->budget = xreallocarray(m->budget, m->nbudget + 1,
	    sizeof *m->budget);
	m->budget[m->nbudget].name = xstrdup(name);
	m->budget[m->nbudget].limit = limit;
	m->nbudget++;
}

/* ---- the fake executor --------------------------------------------- */

static const char *reason_names[REASON__COUNT] = {
	"none", "exit", "signal", "timeout", "rlimit_cpu", "rlimit_fsize",
	"spawn_error", "output_missing", "http_status", "checksum",
	"upstream_failed", "cancelled", "budget", "deadline", "lost"
};

struct fx {
	struct manifest		*m;
	struct sched		*s;
	int64_t			 now;
	int			 slots;		/* per drain */
	int			 maxpar;
	char			*log;
	size_t			 loglen;
	int			*running;	/* attempt, 0: none */
	int			*slot;		/* last slot */
	int			*starts;
	enum node_status	*seen;		/* last status reported */
	int			*killed;
	int			 nrunning;
	int			*pool_running;
	int			 slot_used[64];
	int			 bad;		/* invariant violations */
	int			 quiet;		/* no log (big test) */
	void			(*on_start)(struct fx *, size_t, int);
	void			(*on_kill)(struct fx *, size_t, int);
	void			*arg;
};

static void
fx_log(struct fx *f, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	size_t	 len;

	if (f->quiet)
		return;
	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	len = strlen(s);
	f->log = xreallocarray(f->log, f->loglen + len + 2, 1);
	if (f->loglen > 0)
		f->log[f->loglen++] = ' ';
	memcpy(f->log + f->loglen, s, len + 1);
	f->loglen += len;
	free(s);
}

static void
fx_init(struct fx *f, struct manifest *m, int maxpar, const int64_t *est)
{
	struct sched_config	c;
	size_t			i;

	memset(f, 0, sizeof *f);
	f->m = m;
	f->maxpar = maxpar;
	f->slots = INT_MAX;
	memset(&c, 0, sizeof c);
	c.max_parallel = maxpar;
	c.estimate_ms = est;
	f->s = sched_new(m, &c);
	f->running = xcalloc(m->nnodes + 1, sizeof *f->running);
	f->slot = xcalloc(m->nnodes + 1, sizeof *f->slot);
	f->starts = xcalloc(m->nnodes + 1, sizeof *f->starts);
	f->killed = xcalloc(m->nnodes + 1, sizeof *f->killed);
	f->seen = xcalloc(m->nnodes + 1, sizeof *f->seen);
	for (i = 0; i < m->nnodes; i++)
		f->seen[i] = NS_PENDING;
	f->pool_running = xcalloc(m->npools + 1, sizeof *f->pool_running);
}

/* Is need j of a starting node final and, for when: success, good? */
static int
need_ok(const struct fx *f, size_t i, size_t j)
{
	const struct node_run *r = sched_node(f->s, j);

	if (!node_status_final(r->status))
		return (0);
	if (f->m->nodes[i].when != WHEN_SUCCESS)
		return (1);
	return (r->status == NS_SUCCEEDED || ((r->status == NS_FAILED ||
	    r->status == NS_TIMED_OUT) && f->m->nodes[j].allow_failure));
}

static char	*last;

/* Take every action sched_next has at f->now; returns the log so far and
 * starts a new one (the string lives until the next call). */
static const char *
fx_run(struct fx *f)
{
	struct sched_action	 a;
	const struct node	*n;
	size_t			 k;
	int			 left = f->slots;

	while (sched_next(f->s, f->now, left, &a)) {
		n = &f->m->nodes[a.node];
		switch (a.kind) {
		case SA_START:
			left--;
			if (f->running[a.node] != 0)
				f->bad++;
			if (sched_node(f->s, a.node)->status != NS_RUNNING)
				f->bad++;
			if (a.attempt != sched_node(f->s, a.node)->attempts)
				f->bad++;
			for (k = 0; k < n->nneeds; k++)
				if (!need_ok(f, a.node, n->needs[k]))
					f->bad++;
			if (a.slot < 0 || a.slot >= f->maxpar ||
			    (a.slot < 64 && f->slot_used[a.slot]))
				f->bad++;
			else if (a.slot < 64)
				f->slot_used[a.slot] = 1;
			if (++f->nrunning > f->maxpar)
				f->bad++;
			if (n->pool_index >= 0 &&
			    ++f->pool_running[n->pool_index] >
			    f->m->pools[n->pool_index].cap)
				f->bad++;
			f->running[a.node] = a.attempt;
			f->slot[a.node] = a.slot;
			f->starts[a.node]++;
			f->seen[a.node] = NS_RUNNING;
			if (f->on_start != NULL)
				f->on_start(f, a.node, a.attempt);
			if (a.attempt > 1)
				fx_log(f, "+%s#%d", n->id, a.attempt);
			else
				fx_log(f, "+%s", n->id);
			break;
		case SA_KILL:
			if (f->running[a.node] == 0)
				f->bad++;
			f->killed[a.node]++;
			if (f->on_kill != NULL)
				f->on_kill(f, a.node, a.attempt);
			fx_log(f, "!%s:%s", n->id, reason_names[a.reason]);
			break;
		case SA_CHANGE:
			if (a.status == f->seen[a.node] ||
			    a.status == NS_RUNNING || a.status == NS_PENDING)
				f->bad++;
			if (node_status_final(f->seen[a.node]))
				f->bad++;	/* no change after final */
			f->seen[a.node] = a.status;
			fx_log(f, "%s=%s", n->id, node_status_name(a.status));
			break;
		case SA_EXPAND:
			if (!sched_expanding(f->s, a.node))
				f->bad++;
			fx_log(f, "*%s", n->id);
			break;
		}
	}
	free(last);
	last = f->log != NULL ? f->log : xstrdup("");
	f->log = NULL;
	f->loglen = 0;
	return (last);
}

/* End the running attempt of id at f->now as the executor saw it. */
static void
fx_end_full(struct fx *f, size_t i, enum reason why, int code, int sig,
    const char *error, const struct metric *mv, size_t nm, int64_t cpu,
    int64_t rss)
{
	struct attempt_end	e;
	const struct node	*n = &f->m->nodes[i];

	if (f->running[i] == 0) {
		f->bad++;
		return;
	}
	memset(&e, 0, sizeof e);
	e.reason = why;
	e.exit_code = code;
	e.signal = sig;
	e.error = error;
	e.metrics = mv;
	e.nmetrics = nm;
	e.cpu_ms = cpu;
	e.max_rss_kb = rss;
	f->running[i] = 0;
	f->nrunning--;
	if (f->slot[i] < 64)
		f->slot_used[f->slot[i]] = 0;
	if (n->pool_index >= 0)
		f->pool_running[n->pool_index]--;
	sched_ended(f->s, i, f->now, &e);
}

static void
fx_ok(struct fx *f, const char *id)
{
	fx_end_full(f, idx(f->m, id), REASON_NONE, 0, 0, NULL, NULL, 0, 0, 0);
}

static void
fx_exit(struct fx *f, const char *id, int code)
{
	fx_end_full(f, idx(f->m, id), REASON_EXIT, code, 0, NULL, NULL, 0, 0,
	    0);
}

static void
fx_sig(struct fx *f, const char *id, int sig)
{
	fx_end_full(f, idx(f->m, id), sched_classify(-1, sig), -1, sig, NULL,
	    NULL, 0, 0, 0);
}

static const struct node_run *
fx_node(struct fx *f, const char *id)
{
	return (sched_node(f->s, idx(f->m, id)));
}

/* Checks common to every finished run; frees everything. */
static void
fx_done(struct fx *f)
{
	size_t	i;

	CU_ASSERT_EQUAL(f->bad, 0);
	if (sched_finished(f->s)) {
		for (i = 0; i < f->m->nnodes; i++) {
			const struct node_run *r = sched_node(f->s, i);

			CU_ASSERT(node_status_final(r->status));
			/* every change was reported, the last one too */
			CU_ASSERT_EQUAL(f->seen[i], r->status);
			CU_ASSERT_EQUAL(f->running[i], 0);
		}
		CU_ASSERT_EQUAL(sched_wakeup(f->s), INT64_MAX);
	}
	sched_free(f->s);
	free(f->running);
	free(f->slot);
	free(f->starts);
	free(f->killed);
	free(f->seen);
	free(f->pool_running);
	free(f->log);
	man_free(f->m);
}

#define RUN(want) CU_ASSERT_STRING_EQUAL(fx_run(&f), want)

/* ---- tests ---------------------------------------------------------- */

static char	s_tokens[] = "tokens";
static char	s_cost[] = "cost";

static void
test_names(void)
{
	CU_ASSERT_STRING_EQUAL(node_status_name(NS_PENDING), "pending");
	CU_ASSERT_STRING_EQUAL(node_status_name(NS_RETRYING), "retrying");
	CU_ASSERT_STRING_EQUAL(node_status_name(NS_TIMED_OUT), "timed_out");
	CU_ASSERT_STRING_EQUAL(dag_status_name(DS_QUEUED), "queued");
	CU_ASSERT_STRING_EQUAL(dag_status_name(DS_BUDGET_EXCEEDED),
	    "budget_exceeded");
	CU_ASSERT_STRING_EQUAL(dag_status_name(DS_INTERRUPTED), "interrupted");
	CU_ASSERT(!node_status_final(NS_PENDING));
	CU_ASSERT(!node_status_final(NS_RUNNING));
	CU_ASSERT(!node_status_final(NS_RETRYING));
	CU_ASSERT(node_status_final(NS_SUCCEEDED));
	CU_ASSERT(node_status_final(NS_FAILED));
	CU_ASSERT(node_status_final(NS_SKIPPED));
	CU_ASSERT(node_status_final(NS_CANCELLED));
	CU_ASSERT(node_status_final(NS_TIMED_OUT));
	CU_ASSERT_EQUAL(sched_classify(0, 0), REASON_NONE);
	CU_ASSERT_EQUAL(sched_classify(3, 0), REASON_EXIT);
	CU_ASSERT_EQUAL(sched_classify(-1, SIGXCPU), REASON_RLIMIT_CPU);
	CU_ASSERT_EQUAL(sched_classify(-1, SIGXFSZ), REASON_RLIMIT_FSIZE);
	CU_ASSERT_EQUAL(sched_classify(-1, SIGKILL), REASON_SIGNAL);
	CU_ASSERT_EQUAL(sched_classify(-1, SIGSEGV), REASON_SIGNAL);
}

static void
test_empty(void)
{
	struct fx	f;

	fx_init(&f, man_new(""), 2, NULL);
	CU_ASSERT_EQUAL(sched_status(f.s), DS_QUEUED);
	CU_ASSERT(!sched_finished(f.s));
	sched_begin(f.s, 0);
	RUN("");
	CU_ASSERT(sched_finished(f.s));
	CU_ASSERT_EQUAL(sched_status(f.s), DS_SUCCEEDED);
	fx_done(&f);
}

/* Priority first, then the critical path, then the manifest order. */
static void
test_order(void)
{
	struct manifest	*m = man_new("a b c x:c y:x d");
	struct fx	 f;
	size_t		 counts[NS__COUNT];

	nd(m, "d")->priority = 5;
	nd(m, "b")->priority = -1;
	fx_init(&f, m, 1, NULL);
	sched_begin(f.s, 0);
	CU_ASSERT_EQUAL(sched_status(f.s), DS_RUNNING);
	RUN("+d");
	sched_counts(f.s, counts);
	CU_ASSERT_EQUAL(counts[NS_RUNNING], 1);
	CU_ASSERT_EQUAL(counts[NS_PENDING], 5);
	f.now = 1;
	fx_ok(&f, "d");
	RUN("d=succeeded +c");
	fx_ok(&f, "c");
	RUN("c=succeeded +x");
	fx_ok(&f, "x");
	RUN("x=succeeded +a");
	fx_ok(&f, "a");
	RUN("a=succeeded +y");
	fx_ok(&f, "y");
	RUN("y=succeeded +b");
	CU_ASSERT(!sched_finished(f.s));
	fx_ok(&f, "b");
	RUN("b=succeeded");
	CU_ASSERT(sched_finished(f.s));
	CU_ASSERT_EQUAL(sched_status(f.s), DS_SUCCEEDED);
	sched_counts(f.s, counts);
	CU_ASSERT_EQUAL(counts[NS_SUCCEEDED], 6);
	CU_ASSERT_EQUAL(counts[NS_PENDING], 0);
	fx_done(&f);
}

/* Learned estimates weigh the critical path where the manifest has none. */
static void
test_estimates(void)
{
	static const int64_t	 est[] = { 0, 50, 10 };
	struct manifest		*m;
	struct fx		 f;

	fx_init(&f, man_new("a b c"), 1, est);
	sched_begin(f.s, 0);
	RUN("+b");
	fx_ok(&f, "b");
	RUN("b=succeeded +c");
	fx_ok(&f, "c");
	RUN("c=succeeded +a");
	fx_ok(&f, "a");
	RUN("a=succeeded");
	fx_done(&f);

	m = man_new("a b c");
	nd(m, "a")->estimate_ms = 100;	/* the manifest's wins */
	fx_init(&f, m, 1, est);
	sched_begin(f.s, 0);
	RUN("+a");
	fx_ok(&f, "a");
	RUN("a=succeeded +b");
	fx_ok(&f, "b");
	RUN("b=succeeded +c");
	fx_ok(&f, "c");
	RUN("c=succeeded");
	fx_done(&f);
}

/* -j caps running attempts; slots are the lowest free ones. */
static void
test_cap_slots(void)
{
	struct fx	f;

	fx_init(&f, man_new("a b c d e"), 2, NULL);
	sched_begin(f.s, 0);
	RUN("+a +b");
	CU_ASSERT_EQUAL(f.slot[idx(f.m, "a")], 0);
	CU_ASSERT_EQUAL(f.slot[idx(f.m, "b")], 1);
	f.now = 5;
	fx_ok(&f, "a");
	RUN("a=succeeded +c");
	CU_ASSERT_EQUAL(f.slot[idx(f.m, "c")], 0);
	fx_ok(&f, "c");
	RUN("c=succeeded +d");
	CU_ASSERT_EQUAL(f.slot[idx(f.m, "d")], 0);
	fx_ok(&f, "b");
	RUN("b=succeeded +e");
	CU_ASSERT_EQUAL(f.slot[idx(f.m, "e")], 1);
	CU_ASSERT_EQUAL(fx_node(&f, "e")->hist[0].slot, 1);
	CU_ASSERT_EQUAL(fx_node(&f, "e")->hist[0].start_ms, 5);
	CU_ASSERT_EQUAL(fx_node(&f, "e")->hist[0].end_ms, -1);
	fx_ok(&f, "d");
	fx_ok(&f, "e");
	RUN("d=succeeded e=succeeded");
	CU_ASSERT_EQUAL(fx_node(&f, "e")->hist[0].end_ms, 5);
	CU_ASSERT_EQUAL(sched_status(f.s), DS_SUCCEEDED);
	fx_done(&f);

	/* The caller's global budget of slots. */
	fx_init(&f, man_new("a b c"), 3, NULL);
	sched_begin(f.s, 0);
	f.slots = 1;
	RUN("+a");
	RUN("+b");
	f.slots = 0;
	RUN("");
	f.slots = INT_MAX;
	RUN("+c");
	fx_ok(&f, "a");
	fx_ok(&f, "b");
	fx_ok(&f, "c");
	RUN("a=succeeded b=succeeded c=succeeded");
	fx_done(&f);
}

/* A full pool holds back its own nodes only. */
static void
test_pools(void)
{
	struct manifest	*m = man_new("a b c d e");
	struct fx	 f;
	int		 net, gpu;

	net = man_pool(m, "net", 1);
	gpu = man_pool(m, "gpu", 2);
	nd(m, "a")->pool_index = net;
	nd(m, "b")->pool_index = net;
	nd(m, "a")->priority = nd(m, "b")->priority = 2;
	nd(m, "c")->pool_index = gpu;
	nd(m, "d")->pool_index = gpu;
	nd(m, "e")->pool_index = gpu;
	fx_init(&f, m, 4, NULL);
	sched_begin(f.s, 0);
	RUN("+a +c +d");	/* b waits for net, e for gpu; one slot free */
	fx_ok(&f, "c");
	RUN("c=succeeded +e");
	fx_ok(&f, "a");
	RUN("a=succeeded +b");
	fx_ok(&f, "b");
	fx_ok(&f, "d");
	fx_ok(&f, "e");
	RUN("b=succeeded d=succeeded e=succeeded");
	CU_ASSERT_EQUAL(sched_status(f.s), DS_SUCCEEDED);
	fx_done(&f);
}

/* waves: a barrier between waves, free slots filled inside a wave. */
static void
test_waves(void)
{
	struct manifest	*m;
	struct fx	 f;

	m = man_new("a c e b:a d:c");
	m->schedule = SCHEDULE_WAVES;
	nd(m, "b")->priority = 1;
	fx_init(&f, m, 2, NULL);
	sched_begin(f.s, 0);
	RUN("+a +c");
	fx_ok(&f, "a");
	RUN("a=succeeded +e");		/* b is wave 1: e fills the slot */
	fx_ok(&f, "e");
	RUN("e=succeeded");		/* c of wave 0 still runs */
	fx_ok(&f, "c");
	RUN("c=succeeded +b +d");
	fx_ok(&f, "b");
	fx_ok(&f, "d");
	RUN("b=succeeded d=succeeded");
	CU_ASSERT_EQUAL(sched_status(f.s), DS_SUCCEEDED);
	fx_done(&f);

	/* The same DAG by critical path: b starts as soon as a is done. */
	m = man_new("a c e b:a d:c");
	nd(m, "b")->priority = 1;
	fx_init(&f, m, 2, NULL);
	sched_begin(f.s, 0);
	RUN("+a +c");
	fx_ok(&f, "a");
	RUN("a=succeeded +b");
	fx_ok(&f, "b");
	RUN("b=succeeded +e");
	fx_ok(&f, "c");
	fx_ok(&f, "e");
	RUN("c=succeeded e=succeeded +d");
	fx_ok(&f, "d");
	RUN("d=succeeded");
	fx_done(&f);
}

static void
test_retry_exponential(void)
{
	struct manifest		*m = man_new("a");
	struct fx		 f;
	const struct node_run	*r;

	nd(m, "a")->retries = 3;
	fx_init(&f, m, 1, NULL);
	sched_begin(f.s, 0);
	r = fx_node(&f, "a");
	RUN("+a");
	f.now = 10;
	fx_exit(&f, "a", 1);
	RUN("a=retrying");
	CU_ASSERT_EQUAL(r->status, NS_RETRYING);
	CU_ASSERT_EQUAL(r->retry_at, 1010);
	CU_ASSERT_EQUAL(r->reason, REASON_EXIT);
	CU_ASSERT_STRING_EQUAL(r->error, "exited with status 1");
	CU_ASSERT_EQUAL(sched_wakeup(f.s), 1010);
	f.now = 1009;
	RUN("");
	f.now = 1010;
	RUN("+a#2");
	CU_ASSERT_EQUAL(sched_wakeup(f.s), INT64_MAX);
	f.now = 1100;
	fx_exit(&f, "a", 1);
	RUN("a=retrying");
	CU_ASSERT_EQUAL(r->retry_at, 3100);
	CU_ASSERT_EQUAL(sched_wakeup(f.s), 3100);
	f.now = 3100;
	RUN("+a#3");
	f.now = 3200;
	fx_exit(&f, "a", 1);
	RUN("a=retrying");
	CU_ASSERT_EQUAL(r->retry_at, 7200);
	f.now = 7300;			/* a late wake-up is fine */
	RUN("+a#4");
	f.now = 7400;
	fx_exit(&f, "a", 2);
	RUN("a=failed");
	CU_ASSERT_EQUAL(r->attempts, 4);
	CU_ASSERT_EQUAL(r->nhist, 4);
	CU_ASSERT_EQUAL(r->hist[1].start_ms, 1010);
	CU_ASSERT_EQUAL(r->hist[1].end_ms, 1100);
	CU_ASSERT_EQUAL(r->hist[1].reason, REASON_EXIT);
	CU_ASSERT_EQUAL(r->hist[3].exit_code, 2);
	CU_ASSERT_EQUAL(r->exit_code, 2);
	CU_ASSERT_EQUAL(r->started_ms, 0);
	CU_ASSERT_EQUAL(r->finished_ms, 7400);
	CU_ASSERT_STRING_EQUAL(r->error, "exited with status 2");
	CU_ASSERT(sched_finished(f.s));
	CU_ASSERT_EQUAL(sched_status(f.s), DS_FAILED);
	fx_done(&f);
}

/* Fail attempt after attempt of id and collect the retry delays. */
static void
delays(struct fx *f, const char *id, int64_t *d, int nd)
{
	const struct node_run	*r = fx_node(f, id);
	int			 k;

	for (k = 0; k < nd; k++) {
		CU_ASSERT_STRING_EQUAL(fx_run(f), k == 0 ? "+a" : "");
		fx_exit(f, id, 1);
		fx_run(f);
		CU_ASSERT_EQUAL_FATAL(r->status, NS_RETRYING);
		d[k] = r->retry_at - f->now;
		f->now = r->retry_at;
		fx_run(f);
		CU_ASSERT_EQUAL(r->status, NS_RUNNING);
	}
}

static void
test_retry_fixed_cap(void)
{
	struct manifest	*m;
	struct fx	 f;
	int64_t		 d[4];

	m = man_new("a");
	nd(m, "a")->retries = 3;
	nd(m, "a")->backoff = BACKOFF_FIXED;
	nd(m, "a")->retry_delay_ms = 500;
	fx_init(&f, m, 1, NULL);
	sched_begin(f.s, 0);
	delays(&f, "a", d, 3);
	CU_ASSERT_EQUAL(d[0], 500);
	CU_ASSERT_EQUAL(d[1], 500);
	CU_ASSERT_EQUAL(d[2], 500);
	fx_exit(&f, "a", 1);
	RUN("a=failed");
	fx_done(&f);

	m = man_new("a");
	nd(m, "a")->retries = 4;
	nd(m, "a")->max_retry_delay_ms = 2500;
	fx_init(&f, m, 1, NULL);
	sched_begin(f.s, 0);
	delays(&f, "a", d, 4);
	CU_ASSERT_EQUAL(d[0], 1000);
	CU_ASSERT_EQUAL(d[1], 2000);
	CU_ASSERT_EQUAL(d[2], 2500);
	CU_ASSERT_EQUAL(d[3], 2500);
	fx_ok(&f, "a");
	RUN("a=succeeded");
	CU_ASSERT_EQUAL(fx_node(&f, "a")->attempts, 5);
	CU_ASSERT_PTR_NULL(fx_node(&f, "a")->error);
	CU_ASSERT_EQUAL(fx_node(&f, "a")->reason, REASON_NONE);
	CU_ASSERT_EQUAL(sched_status(f.s), DS_SUCCEEDED);
	fx_done(&f);

	/* 2^99 times a large delay: capped, no overflow. */
	m = man_new("a");
	nd(m, "a")->retries = 1000;
	nd(m, "a")->retry_delay_ms = INT64_C(1) << 40;
	fx_init(&f, m, 1, NULL);
	sched_preset_attempts(f.s, 0, 99);
	sched_begin(f.s, 0);
	RUN("+a#100");
	f.now = 7;
	fx_exit(&f, "a", 1);
	RUN("a=retrying");
	CU_ASSERT_EQUAL(fx_node(&f, "a")->retry_at, 7 + 300000);
	sched_cancel(f.s, 8, DS_CANCELLED);
	RUN("a=cancelled");
	fx_done(&f);
}

/* retry_on: spawn errors are not retried by default; a narrowed list. */
static void
test_retry_on(void)
{
	struct manifest		*m = man_new("a b c");
	struct fx		 f;
	const struct node_run	*r;

	nd(m, "a")->retries = 2;
	nd(m, "b")->retries = 2;
	nd(m, "b")->retry_on = 1u << REASON_EXIT;
	fx_init(&f, m, 3, NULL);
	sched_begin(f.s, 0);
	RUN("+a +b +c");
	fx_end_full(&f, 0, REASON_SPAWN_ERROR, -1, 0,
	    "cannot start node 'a': execve: No such file or directory",
	    NULL, 0, 0, 0);
	fx_sig(&f, "b", SIGKILL);
	fx_sig(&f, "c", SIGXCPU);
	RUN("a=failed b=failed c=failed");
	r = fx_node(&f, "a");
	CU_ASSERT_EQUAL(r->attempts, 1);
	CU_ASSERT_EQUAL(r->reason, REASON_SPAWN_ERROR);
	CU_ASSERT_STRING_EQUAL(r->error,
	    "cannot start node 'a': execve: No such file or directory");
	r = fx_node(&f, "b");
	CU_ASSERT_EQUAL(r->attempts, 1);
	CU_ASSERT_EQUAL(r->reason, REASON_SIGNAL);
	CU_ASSERT_EQUAL(r->signal, SIGKILL);
	CU_ASSERT_STRING_EQUAL(r->error, "killed by SIGKILL");
	r = fx_node(&f, "c");
	CU_ASSERT_EQUAL(r->reason, REASON_RLIMIT_CPU);
	CU_ASSERT_STRING_EQUAL(r->error,
	    "killed by SIGXCPU: cpu time limit reached");
	CU_ASSERT_EQUAL(sched_status(f.s), DS_FAILED);
	fx_done(&f);
}

/* A timeout kills the attempt; retried, then timed_out. */
static void
test_timeout(void)
{
	struct manifest		*m = man_new("a b");
	struct fx		 f;
	const struct node_run	*r;

	nd(m, "a")->retries = 1;
	nd(m, "a")->timeout_ms = 30000;
	nd(m, "b")->timeout_ms = 1000;
	fx_init(&f, m, 2, NULL);
	sched_begin(f.s, 0);
	r = fx_node(&f, "a");
	RUN("+a +b");
	CU_ASSERT_EQUAL(sched_wakeup(f.s), 1000);
	/* b ends just in time: the kill was never handed out */
	f.now = 1000;
	fx_ok(&f, "b");
	RUN("b=succeeded");
	CU_ASSERT_EQUAL(f.killed[idx(m, "b")], 0);
	CU_ASSERT_EQUAL(sched_wakeup(f.s), 30000);
	f.now = 29999;
	RUN("");
	f.now = 30000;
	RUN("!a:timeout");
	CU_ASSERT_EQUAL(sched_wakeup(f.s), INT64_MAX);
	f.now = 30010;
	fx_sig(&f, "a", SIGTERM);
	RUN("a=retrying");
	CU_ASSERT_EQUAL(r->reason, REASON_TIMEOUT);
	CU_ASSERT_STRING_EQUAL(r->error, "killed by SIGTERM after timeout 30s");
	CU_ASSERT_EQUAL(r->hist[0].reason, REASON_TIMEOUT);
	CU_ASSERT_EQUAL(r->hist[0].signal, SIGTERM);
	CU_ASSERT_EQUAL(r->retry_at, 31010);
	f.now = 31010;
	RUN("+a#2");
	CU_ASSERT_EQUAL(sched_wakeup(f.s), 61010);
	f.now = 61010;
	RUN("!a:timeout");
	f.now = 66010;
	fx_sig(&f, "a", SIGKILL);
	RUN("a=timed_out");
	CU_ASSERT_EQUAL(r->status, NS_TIMED_OUT);
	CU_ASSERT_STRING_EQUAL(r->error, "killed by SIGKILL after timeout 30s");
	CU_ASSERT_EQUAL(sched_status(f.s), DS_FAILED);
	fx_done(&f);
}

/* continue: dependents skipped, independent branches run on. */
static void
test_continue(void)
{
	struct fx		f;
	const struct node_run	*r;

	fx_init(&f, man_new("a b:a c:b d"), 1, NULL);
	sched_begin(f.s, 0);
	RUN("+a");
	fx_exit(&f, "a", 3);
	RUN("a=failed b=skipped c=skipped +d");
	CU_ASSERT_STRING_EQUAL(fx_node(&f, "a")->error,
	    "exited with status 3");
	r = fx_node(&f, "b");
	CU_ASSERT_EQUAL(r->reason, REASON_UPSTREAM_FAILED);
	CU_ASSERT_STRING_EQUAL(r->error, "need 'a' failed");
	CU_ASSERT_EQUAL(r->attempts, 0);
	CU_ASSERT_EQUAL(r->started_ms, -1);
	r = fx_node(&f, "c");
	CU_ASSERT_EQUAL(r->reason, REASON_UPSTREAM_FAILED);
	CU_ASSERT_STRING_EQUAL(r->error, "need 'b' was skipped");
	CU_ASSERT(!sched_finished(f.s));
	fx_ok(&f, "d");
	RUN("d=succeeded");
	CU_ASSERT_EQUAL(sched_status(f.s), DS_FAILED);
	fx_done(&f);
}

static struct manifest *
stop_dag(enum on_failure how)
{
	struct manifest	*m = man_new("a b c d:a e:a,b f:b");

	m->on_failure = how;
	nd(m, "e")->when = WHEN_ALWAYS;
	return (m);
}

/* stop: running nodes finish, cleanup (always) still runs. */
static void
test_stop(void)
{
	struct fx		f;
	const struct node_run	*r;

	fx_init(&f, stop_dag(ONFAIL_STOP), 2, NULL);
	sched_begin(f.s, 0);
	RUN("+a +b");
	fx_exit(&f, "a", 1);
	RUN("a=failed d=skipped c=skipped");
	r = fx_node(&f, "c");
	CU_ASSERT_EQUAL(r->reason, REASON_CANCELLED);
	CU_ASSERT_STRING_EQUAL(r->error,
	    "not started: the DAG stopped after 'a' failed");
	CU_ASSERT_EQUAL(fx_node(&f, "d")->reason, REASON_UPSTREAM_FAILED);
	CU_ASSERT_EQUAL(f.killed[idx(f.m, "b")], 0);
	fx_ok(&f, "b");
	RUN("b=succeeded f=skipped +e");
	CU_ASSERT_STRING_EQUAL(fx_node(&f, "f")->error,
	    "not started: the DAG stopped after 'a' failed");
	fx_ok(&f, "e");
	RUN("e=succeeded");
	CU_ASSERT_EQUAL(sched_status(f.s), DS_FAILED);
	fx_done(&f);
}

/* abort: running nodes are killed; cleanup still runs. */
static void
test_abort(void)
{
	struct fx		f;
	const struct node_run	*r;

	fx_init(&f, stop_dag(ONFAIL_ABORT), 2, NULL);
	sched_begin(f.s, 0);
	RUN("+a +b");
	fx_exit(&f, "a", 1);
	RUN("a=failed d=skipped c=skipped !b:cancelled");
	f.now = 3;
	fx_sig(&f, "b", SIGTERM);
	RUN("b=cancelled f=skipped +e");
	r = fx_node(&f, "b");
	CU_ASSERT_EQUAL(r->reason, REASON_CANCELLED);
	CU_ASSERT_STRING_EQUAL(r->error,
	    "cancelled: the DAG stopped after 'a' failed");
	CU_ASSERT_STRING_EQUAL(fx_node(&f, "f")->error,
	    "need 'b' was cancelled");
	fx_exit(&f, "e", 1);
	RUN("e=failed");
	CU_ASSERT_EQUAL(sched_status(f.s), DS_FAILED);
	fx_done(&f);
}

/* Trigger rules and allow_failure. */
static void
test_when(void)
{
	struct manifest		*m;
	struct fx		 f;
	const struct node_run	*r;

	/* a succeeds: always runs, failure is skipped (not a failure) */
	m = man_new("a b:a c:a");
	nd(m, "b")->when = WHEN_ALWAYS;
	nd(m, "c")->when = WHEN_FAILURE;
	fx_init(&f, m, 2, NULL);
	sched_begin(f.s, 0);
	RUN("+a");
	fx_ok(&f, "a");
	RUN("a=succeeded c=skipped +b");
	r = fx_node(&f, "c");
	CU_ASSERT_EQUAL(r->reason, REASON_NONE);
	CU_ASSERT_STRING_EQUAL(r->error, "no need failed");
	fx_ok(&f, "b");
	RUN("b=succeeded");
	CU_ASSERT_EQUAL(sched_status(f.s), DS_SUCCEEDED);
	fx_done(&f);

	/* a fails: both run */
	m = man_new("a b:a c:a");
	nd(m, "b")->when = WHEN_ALWAYS;
	nd(m, "c")->when = WHEN_FAILURE;
	fx_init(&f, m, 2, NULL);
	sched_begin(f.s, 0);
	RUN("+a");
	fx_exit(&f, "a", 1);
	RUN("a=failed +b +c");
	fx_ok(&f, "b");
	fx_ok(&f, "c");
	RUN("b=succeeded c=succeeded");
	CU_ASSERT_EQUAL(sched_status(f.s), DS_FAILED);
	fx_done(&f);

	/* allow_failure: dependents run, the DAG succeeds; a failure
	 * handler counts the allowed failure */
	m = man_new("a b:a c:a d:b");
	nd(m, "a")->allow_failure = true;
	nd(m, "c")->when = WHEN_FAILURE;
	fx_init(&f, m, 2, NULL);
	sched_begin(f.s, 0);
	RUN("+a");
	fx_exit(&f, "a", 1);
	RUN("a=failed +b +c");
	fx_ok(&f, "b");
	fx_ok(&f, "c");
	RUN("b=succeeded c=succeeded +d");
	fx_ok(&f, "d");
	RUN("d=succeeded");
	CU_ASSERT_EQUAL(sched_status(f.s), DS_SUCCEEDED);
	fx_done(&f);

	/* a failure handler whose need was skipped because of a failure
	 * above it runs, however far above */
	m = man_new("a b:a x:b c:x");
	nd(m, "c")->when = WHEN_FAILURE;
	fx_init(&f, m, 2, NULL);
	sched_begin(f.s, 0);
	RUN("+a");
	fx_exit(&f, "a", 1);
	RUN("a=failed b=skipped x=skipped +c");
	fx_ok(&f, "c");
	RUN("c=succeeded");
	CU_ASSERT_EQUAL(sched_status(f.s), DS_FAILED);
	fx_done(&f);

	/* a timed-out or allowed failure above counts too */
	m = man_new("a b:a c:b");
	nd(m, "a")->timeout_ms = 10;
	nd(m, "c")->when = WHEN_FAILURE;
	fx_init(&f, m, 2, NULL);
	sched_begin(f.s, 0);
	RUN("+a");
	f.now = 10;
	RUN("!a:timeout");
	fx_sig(&f, "a", SIGTERM);
	RUN("a=timed_out b=skipped +c");
	fx_ok(&f, "c");
	RUN("c=succeeded");
	fx_done(&f);

	/* a need skipped for no failure does not count: h (when: failure)
	 * finds none, x is skipped below it, y finds none either */
	m = man_new("a h:a x:h y:x");
	nd(m, "h")->when = WHEN_FAILURE;
	nd(m, "y")->when = WHEN_FAILURE;
	fx_init(&f, m, 2, NULL);
	sched_begin(f.s, 0);
	RUN("+a");
	fx_ok(&f, "a");
	RUN("a=succeeded h=skipped x=skipped y=skipped");
	CU_ASSERT_EQUAL(fx_node(&f, "x")->reason, REASON_UPSTREAM_FAILED);
	CU_ASSERT_EQUAL(fx_node(&f, "y")->reason, REASON_NONE);
	CU_ASSERT_STRING_EQUAL(fx_node(&f, "y")->error, "no need failed");
	CU_ASSERT_EQUAL(sched_status(f.s), DS_SUCCEEDED);
	fx_done(&f);

	/* nor does one skipped because the DAG stopped (on_failure: stop):
	 * s waits for the slot a holds when a fails */
	m = man_new("a s b:s c:b");
	m->on_failure = ONFAIL_STOP;
	nd(m, "a")->priority = 10;
	nd(m, "c")->when = WHEN_FAILURE;
	fx_init(&f, m, 1, NULL);
	sched_begin(f.s, 0);
	RUN("+a");
	fx_exit(&f, "a", 1);
	RUN("a=failed s=skipped b=skipped c=skipped");
	CU_ASSERT_EQUAL(fx_node(&f, "s")->reason, REASON_CANCELLED);
	CU_ASSERT_STRING_EQUAL(fx_node(&f, "c")->error, "no need failed");
	fx_done(&f);
}

/* A budget reached stops starts; running nodes finish. */
static void
test_budget(void)
{
	struct manifest		*m = man_new("a b c d e:d");
	struct fx		 f;
	const struct metric	*mv;
	struct metric		 ma[] = { { s_tokens, 60 }, { s_cost, 0.5 } };
	struct metric		 mb[] = { { s_tokens, 50 } };
	struct metric		 mc[] = { { s_tokens, 5 } };
	size_t			 n;

	man_budget(m, "cost", 10);
	man_budget(m, "tokens", 110);
	fx_init(&f, m, 2, NULL);
	sched_begin(f.s, 0);
	RUN("+d +a");
	fx_end_full(&f, idx(m, "a"), REASON_NONE, 0, 0, NULL, ma, 2, 0, 0);
	RUN("a=succeeded +b");
	fx_end_full(&f, idx(m, "b"), REASON_NONE, 0, 0, NULL, mb, 1, 0, 0);
	RUN("b=succeeded c=skipped e=skipped");	/* 110 tokens: reached */
	CU_ASSERT_EQUAL(fx_node(&f, "c")->reason, REASON_BUDGET);
	CU_ASSERT_STRING_EQUAL(fx_node(&f, "c")->error,
	    "not started: budget 'tokens' reached");
	CU_ASSERT_EQUAL(f.killed[idx(m, "d")], 0);
	CU_ASSERT(!sched_finished(f.s));
	fx_end_full(&f, idx(m, "d"), REASON_NONE, 0, 0, NULL, mc, 1, 0, 0);
	RUN("d=succeeded");
	CU_ASSERT_EQUAL(fx_node(&f, "e")->reason, REASON_BUDGET);
	CU_ASSERT(sched_finished(f.s));
	CU_ASSERT_EQUAL(sched_status(f.s), DS_BUDGET_EXCEEDED);
	mv = sched_metrics(f.s, &n);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_STRING_EQUAL(mv[0].name, "tokens");
	CU_ASSERT_DOUBLE_EQUAL(mv[0].value, 115, 1e-9);
	CU_ASSERT_STRING_EQUAL(mv[1].name, "cost");
	CU_ASSERT_DOUBLE_EQUAL(mv[1].value, 0.5, 1e-9);
	CU_ASSERT_EQUAL(fx_node(&f, "a")->nmetrics, 2);
	CU_ASSERT_PTR_NOT_EQUAL(fx_node(&f, "a")->metrics[0].name, ma[0].name);
	fx_done(&f);
}

/* retry_on exit statuses: "exit:75" and "exit:100-113" beside a class. */
static void
test_retry_on_exit(void)
{
	struct manifest		*m = man_new("a b c d e");
	struct exit_range	 r[2] = { { 75, 75 }, { 100, 113 } };
	struct node_extra	*x;
	struct fx		 f;
	size_t			 i;

	for (i = 0; i < m->nnodes; i++) {
		m->nodes[i].retries = 1;
		m->nodes[i].retry_delay_ms = 10;
		m->nodes[i].retry_on = 1u << REASON_TIMEOUT;
		x = node_extra_own(&m->nodes[i]);
		x->retry_exits = xcalloc(2, sizeof r[0]);
		memcpy(x->retry_exits, r, sizeof r);
		x->nretry_exits = 2;
	}
	fx_init(&f, m, 5, NULL);
	sched_begin(f.s, 0);
	RUN("+a +b +c +d +e");
	fx_exit(&f, "a", 75);
	fx_exit(&f, "b", 100);
	fx_exit(&f, "c", 113);
	fx_exit(&f, "d", 114);
	fx_sig(&f, "e", SIGKILL);
	RUN("a=retrying b=retrying c=retrying d=failed e=failed");
	CU_ASSERT_EQUAL(fx_node(&f, "d")->attempts, 1);
	CU_ASSERT_EQUAL(fx_node(&f, "e")->reason, REASON_SIGNAL);
	f.now = 10;
	RUN("+a#2 +b#2 +c#2");
	fx_exit(&f, "a", 75);
	fx_ok(&f, "b");
	fx_exit(&f, "c", 1);
	RUN("a=failed b=succeeded c=failed");
	CU_ASSERT_EQUAL(fx_node(&f, "a")->attempts, 2);
	fx_done(&f);

	/* the class 'exit' takes every status, the ranges add nothing */
	m = man_new("a");
	nd(m, "a")->retries = 1;
	nd(m, "a")->retry_on = 1u << REASON_EXIT;
	x = node_extra_own(nd(m, "a"));
	x->retry_exits = xcalloc(1, sizeof r[0]);
	x->retry_exits[0] = r[0];
	x->nretry_exits = 1;
	fx_init(&f, m, 1, NULL);
	sched_begin(f.s, 0);
	RUN("+a");
	fx_exit(&f, "a", 3);
	RUN("a=retrying");
	fx_done(&f);
}

/* The retry delays of a node with jitter, seed as given. */
static void
jitter_delays(uint64_t seed, int64_t *d, int nd_)
{
	struct manifest		*m = man_new("a");
	struct sched_config	 c;
	struct fx		 f;

	nd(m, "a")->retries = nd_;
	nd(m, "a")->jitter = true;
	nd(m, "a")->retry_delay_ms = 100;
	nd(m, "a")->max_retry_delay_ms = 1600;
	fx_init(&f, m, 1, NULL);
	sched_free(f.s);
	memset(&c, 0, sizeof c);
	c.max_parallel = 1;
	c.seed = seed;
	f.s = sched_new(m, &c);
	sched_begin(f.s, 0);
	delays(&f, "a", d, nd_);
	fx_ok(&f, "a");
	RUN("a=succeeded");
	fx_done(&f);
}

/* jitter: each delay uniformly in [0, the backoff's], capped by
 * max_retry_delay; the same seed, the same delays. */
static void
test_jitter(void)
{
	enum { N = 60 };
	int64_t	d1[N], d2[N], d3[N], cap;
	int	k, same12 = 1, same13 = 1, low = 0, high = 0, at_cap = 0;

	jitter_delays(7, d1, N);
	jitter_delays(7, d2, N);
	jitter_delays(8, d3, N);
	for (k = 0; k < N; k++) {
		cap = k >= 4 ? 1600 : 100 << k;
		CU_ASSERT(d1[k] >= 0 && d1[k] <= cap);
		CU_ASSERT(d3[k] >= 0 && d3[k] <= cap);
		if (d1[k] != d2[k])
			same12 = 0;
		if (d1[k] != d3[k])
			same13 = 0;
		if (k >= 4) {
			/* spread over the range: both halves are hit */
			if (d1[k] < cap / 2)
				low++;
			else
				high++;
			if (d1[k] == cap)
				at_cap++;
		}
	}
	CU_ASSERT(same12);
	CU_ASSERT(!same13);
	CU_ASSERT(low >= 10);
	CU_ASSERT(high >= 10);
	CU_ASSERT(at_cap < 5);
}

static void
node_budget(struct manifest *m, const char *id, const char *name,
    double limit)
{
	struct node_extra *x = node_extra_own(nd(m, id));

	x->budget = xreallocarray(x->budget, x->nbudget + 1,
	    sizeof *x->budget);
	x->budget[x->nbudget].name = xstrdup(name);
	x->budget[x->nbudget].limit = limit;
	x->nbudget++;
}

/* A node budget reached while the node runs kills it at once; it fails
 * with reason budget, is not retried, its dependents are skipped. */
static void
test_node_budget(void)
{
	struct manifest		*m = man_new("a b:a c");
	struct fx		 f;
	const struct node_run	*r;
	struct metric		 p1[] = { { s_tokens, 60 } };
	struct metric		 p2[] = { { s_tokens, 100 }, { s_cost, 1 } };
	struct metric		 fin[] = { { s_tokens, 130 } };

	node_budget(m, "a", "cost", 5);
	node_budget(m, "a", "tokens", 100);
	nd(m, "a")->retries = 3;
	fx_init(&f, m, 2, NULL);
	sched_begin(f.s, 0);
	RUN("+a +c");
	f.now = 5;
	sched_progress(f.s, idx(m, "a"), f.now, p1, 1);
	RUN("");
	/* a report of another node's, or of one not running, is nothing */
	sched_progress(f.s, idx(m, "b"), f.now, p2, 2);
	RUN("");
	f.now = 6;
	sched_progress(f.s, idx(m, "a"), f.now, p2, 2);
	RUN("!a:budget");
	/* reported again before it died: one kill */
	sched_progress(f.s, idx(m, "a"), f.now, fin, 1);
	RUN("");
	f.now = 8;
	fx_end_full(&f, idx(m, "a"), REASON_SIGNAL, -1, SIGTERM, NULL, fin, 1,
	    0, 0);
	RUN("a=failed b=skipped");
	r = fx_node(&f, "a");
	CU_ASSERT_EQUAL(r->reason, REASON_BUDGET);
	CU_ASSERT_EQUAL(r->attempts, 1);
	CU_ASSERT_STRING_EQUAL(r->error,
	    "killed by SIGTERM: budget 'tokens' reached: 130 of 100");
	CU_ASSERT_DOUBLE_EQUAL(r->metrics[0].value, 130, 1e-9);
	fx_ok(&f, "c");
	RUN("c=succeeded");
	CU_ASSERT_EQUAL(sched_status(f.s), DS_FAILED);
	fx_done(&f);

	/* reached at its end (it exited before a report was read): failed
	 * all the same, with allow_failure its dependents run */
	m = man_new("a b:a");
	node_budget(m, "a", "tokens", 100);
	nd(m, "a")->allow_failure = true;
	fx_init(&f, m, 2, NULL);
	sched_begin(f.s, 0);
	RUN("+a");
	fx_end_full(&f, idx(m, "a"), REASON_NONE, 0, 0, NULL, fin, 1, 0, 0);
	RUN("a=failed +b");
	CU_ASSERT_EQUAL(fx_node(&f, "a")->reason, REASON_BUDGET);
	CU_ASSERT_STRING_EQUAL(fx_node(&f, "a")->error,
	    "exited with status 0: budget 'tokens' reached: 130 of 100");
	fx_ok(&f, "b");
	RUN("b=succeeded");
	CU_ASSERT_EQUAL(sched_status(f.s), DS_SUCCEEDED);
	fx_done(&f);

	/* summed over attempts: 60 in the first, 40 reported by the
	 * second reach 100 */
	m = man_new("a");
	node_budget(m, "a", "tokens", 100);
	nd(m, "a")->retries = 5;
	nd(m, "a")->retry_delay_ms = 1;
	fx_init(&f, m, 1, NULL);
	sched_begin(f.s, 0);
	RUN("+a");
	fx_end_full(&f, 0, REASON_EXIT, 1, 0, NULL, p1, 1, 0, 0);
	RUN("a=retrying");
	f.now = 1;
	RUN("+a#2");
	p1[0].value = 39;
	sched_progress(f.s, 0, f.now, p1, 1);
	RUN("");
	p1[0].value = 40;
	sched_progress(f.s, 0, f.now, p1, 1);
	RUN("!a:budget");
	fx_sig(&f, "a", SIGTERM);
	RUN("a=failed");
	CU_ASSERT_EQUAL(fx_node(&f, "a")->attempts, 2);
	/* it ended with an empty metrics file (it truncated it): the kill
	 * decides, and the error says what was reported */
	CU_ASSERT_EQUAL(fx_node(&f, "a")->reason, REASON_BUDGET);
	CU_ASSERT_STRING_EQUAL(fx_node(&f, "a")->error,
	    "killed by SIGTERM: budget 'tokens' reached: 100 of 100");
	fx_done(&f);
}

/* The DAG's budget is checked while nodes run: reached, nothing starts;
 * running nodes finish (continue) or are killed (abort). */
static void
test_budget_live(void)
{
	struct manifest		*m;
	struct fx		 f;
	struct metric		 p[] = { { s_tokens, 70 } };
	const struct metric	*mv;
	size_t			 n;
	int			 abort_;

	for (abort_ = 0; abort_ <= 1; abort_++) {
		m = man_new("a b c d:a");
		man_budget(m, "tokens", 100);
		m->on_failure = abort_ ? ONFAIL_ABORT : ONFAIL_CONTINUE;
		fx_init(&f, m, 2, NULL);
		sched_begin(f.s, 0);
		RUN("+a +b");
		sched_progress(f.s, idx(m, "a"), 0, p, 1);
		RUN("");
		p[0].value = 30;
		sched_progress(f.s, idx(m, "b"), 0, p, 1);
		if (!abort_) {
			RUN("c=skipped d=skipped");
			fx_ok(&f, "a");
			fx_ok(&f, "b");
			RUN("a=succeeded b=succeeded");
			CU_ASSERT_EQUAL(f.killed[idx(m, "a")], 0);
		} else {
			RUN("c=skipped d=skipped !a:budget !b:budget");
			fx_sig(&f, "a", SIGTERM);
			fx_sig(&f, "b", SIGTERM);
			RUN("a=failed b=failed");
			CU_ASSERT_STRING_EQUAL(fx_node(&f, "a")->error,
			    "killed by SIGTERM: the DAG's budget 'tokens' "
			    "reached");
		}
		CU_ASSERT_EQUAL(fx_node(&f, "c")->reason, REASON_BUDGET);
		CU_ASSERT_EQUAL(sched_status(f.s), DS_BUDGET_EXCEEDED);
		/* the reports only counted while the nodes ran: the sums
		 * are what they reported at their ends (nothing here) */
		mv = sched_metrics(f.s, &n);
		CU_ASSERT_EQUAL(n, 0);
		(void)mv;
		p[0].value = 70;
		fx_done(&f);
	}
}

/* cpu_ms summed, max_rss_kb maxed, metrics summed over attempts. */
static void
test_accounting(void)
{
	struct manifest		*m = man_new("a");
	struct fx		 f;
	const struct node_run	*r;
	struct metric		 m1[] = { { s_tokens, 10 } };
	struct metric		 m2[] = { { s_tokens, 5 } };

	nd(m, "a")->retries = 1;
	fx_init(&f, m, 1, NULL);
	sched_begin(f.s, 0);
	RUN("+a");
	fx_end_full(&f, 0, REASON_EXIT, 1, 0, NULL, m1, 1, 100, 2000);
	RUN("a=retrying");
	f.now = 1000;
	RUN("+a#2");
	fx_end_full(&f, 0, REASON_NONE, 0, 0, NULL, m2, 1, 50, 1500);
	RUN("a=succeeded");
	r = fx_node(&f, "a");
	CU_ASSERT_EQUAL(r->cpu_ms, 150);
	CU_ASSERT_EQUAL(r->max_rss_kb, 2000);
	CU_ASSERT_EQUAL_FATAL(r->nmetrics, 1);
	CU_ASSERT_DOUBLE_EQUAL(r->metrics[0].value, 15, 1e-9);
	CU_ASSERT_EQUAL(r->nhist, 2);
	CU_ASSERT_EQUAL(r->hist[0].reason, REASON_EXIT);
	CU_ASSERT_EQUAL(r->hist[1].reason, REASON_NONE);
	CU_ASSERT_EQUAL(sched_status(f.s), DS_SUCCEEDED);
	fx_done(&f);
}

/* The deadline kills what runs and skips the rest, cleanup included. */
static void
test_deadline(void)
{
	struct manifest		*m = man_new("a b:a c:b");
	struct fx		 f;
	const struct node_run	*r;

	m->deadline_ms = 7200000;
	nd(m, "c")->when = WHEN_ALWAYS;
	nd(m, "a")->retries = 5;
	fx_init(&f, m, 1, NULL);
	f.now = 1000;
	sched_begin(f.s, f.now);
	RUN("+a");
	CU_ASSERT_EQUAL(sched_wakeup(f.s), 7201000);
	f.now = 7200999;
	RUN("");
	f.now = 7201000;
	RUN("b=skipped c=skipped !a:deadline");
	CU_ASSERT_EQUAL(fx_node(&f, "b")->reason, REASON_DEADLINE);
	CU_ASSERT_STRING_EQUAL(fx_node(&f, "b")->error,
	    "not started: deadline 2h reached");
	CU_ASSERT_EQUAL(sched_wakeup(f.s), INT64_MAX);
	f.now = 7201005;
	fx_sig(&f, "a", SIGTERM);
	RUN("a=failed");	/* no retry after the deadline */
	r = fx_node(&f, "a");
	CU_ASSERT_EQUAL(r->reason, REASON_DEADLINE);
	CU_ASSERT_STRING_EQUAL(r->error, "deadline 2h reached");
	CU_ASSERT(sched_finished(f.s));
	CU_ASSERT_EQUAL(sched_status(f.s), DS_TIMED_OUT);
	fx_done(&f);
}

static void
test_cancel(void)
{
	struct manifest		*m = man_new("a b c:a");
	struct fx		 f;

	nd(m, "b")->retries = 1;
	fx_init(&f, m, 2, NULL);
	sched_begin(f.s, 0);
	RUN("+a +b");
	fx_exit(&f, "b", 1);
	RUN("b=retrying");
	CU_ASSERT_EQUAL(sched_wakeup(f.s), 1000);
	f.now = 10;
	sched_cancel(f.s, f.now, DS_CANCELLED);
	RUN("b=cancelled c=cancelled !a:cancelled");
	CU_ASSERT_EQUAL(fx_node(&f, "c")->reason, REASON_CANCELLED);
	CU_ASSERT_EQUAL(fx_node(&f, "b")->reason, REASON_CANCELLED);
	CU_ASSERT_EQUAL(sched_wakeup(f.s), INT64_MAX);
	CU_ASSERT(!sched_finished(f.s));
	f.now = 20;
	fx_sig(&f, "a", SIGTERM);
	RUN("a=cancelled");
	CU_ASSERT_STRING_EQUAL(fx_node(&f, "a")->error, "cancelled");
	CU_ASSERT_EQUAL(sched_status(f.s), DS_CANCELLED);
	fx_done(&f);

	fx_init(&f, man_new("a"), 2, NULL);
	sched_begin(f.s, 0);
	RUN("+a");
	sched_cancel(f.s, 1, DS_INTERRUPTED);
	RUN("!a:cancelled");
	fx_sig(&f, "a", SIGKILL);
	RUN("a=cancelled");
	CU_ASSERT_STRING_EQUAL(fx_node(&f, "a")->error, "interrupted");
	CU_ASSERT_EQUAL(sched_status(f.s), DS_INTERRUPTED);
	fx_done(&f);
}

/* A cancel's stop: running nodes are killed and nothing new starts but the
 * `when: always` nodes, each once its needs have ended; one that already
 * runs is left alone. A cancel after it ends those too. */
static void
test_cancel_stop(void)
{
	struct manifest		*m = man_new("a b:a c:a d:c e");
	struct fx		 f;

	nd(m, "c")->when = WHEN_ALWAYS;
	nd(m, "d")->when = WHEN_ALWAYS;
	fx_init(&f, m, 3, NULL);
	sched_begin(f.s, 0);
	RUN("+a +e");
	f.now = 10;
	sched_stop(f.s, f.now);
	RUN("b=cancelled !a:cancelled !e:cancelled");
	CU_ASSERT(sched_startable(f.s) == false);
	f.now = 20;
	fx_sig(&f, "a", SIGTERM);
	RUN("a=cancelled +c");
	CU_ASSERT_EQUAL(fx_node(&f, "b")->reason, REASON_CANCELLED);
	fx_sig(&f, "e", SIGTERM);
	RUN("e=cancelled");
	f.now = 30;
	fx_ok(&f, "c");
	RUN("c=succeeded +d");
	CU_ASSERT(!sched_finished(f.s));
	/* cancel --now: the spared node is killed too */
	sched_cancel(f.s, 40, DS_CANCELLED);
	RUN("!d:cancelled");
	fx_sig(&f, "d", SIGKILL);
	RUN("d=cancelled");
	CU_ASSERT(sched_finished(f.s));
	CU_ASSERT_EQUAL(sched_status(f.s), DS_CANCELLED);
	fx_done(&f);

	/* a cleanup that already runs goes on; the DAG ends cancelled */
	m = man_new("a b:a c:b");
	nd(m, "b")->when = WHEN_ALWAYS;
	fx_init(&f, m, 2, NULL);
	sched_begin(f.s, 0);
	RUN("+a");
	fx_exit(&f, "a", 1);
	RUN("a=failed +b");
	sched_stop(f.s, 5);
	RUN("c=cancelled");
	fx_ok(&f, "b");
	RUN("b=succeeded");
	CU_ASSERT(sched_finished(f.s));
	CU_ASSERT_EQUAL(sched_status(f.s), DS_CANCELLED);
	fx_done(&f);

	/* the deadline ends what a stop spared */
	m = man_new("a b:a");
	nd(m, "b")->when = WHEN_ALWAYS;
	m->deadline_ms = 1000;
	fx_init(&f, m, 2, NULL);
	sched_begin(f.s, 0);
	RUN("+a");
	sched_stop(f.s, 5);
	RUN("!a:cancelled");
	fx_sig(&f, "a", SIGTERM);
	RUN("a=cancelled +b");
	f.now = 1000;
	RUN("!b:deadline");
	fx_sig(&f, "b", SIGTERM);
	RUN("b=failed");
	CU_ASSERT(sched_finished(f.s));
	fx_done(&f);
}

/* A resumed job: succeeded nodes do not run; attempts go on counting. */
static void
test_preset(void)
{
	struct manifest		*m = man_new("a b:a c:b");
	struct fx		 f;
	const struct node_run	*r;

	nd(m, "b")->retries = 1;
	fx_init(&f, m, 2, NULL);
	sched_preset_succeeded(f.s, 0, 2, 500);
	sched_preset_attempts(f.s, 1, 1);
	f.seen[0] = NS_SUCCEEDED;	/* no change: it is in the journal */
	f.now = 1000;
	sched_begin(f.s, f.now);
	RUN("+b#2");
	r = fx_node(&f, "a");
	CU_ASSERT_EQUAL(r->status, NS_SUCCEEDED);
	CU_ASSERT_EQUAL(r->attempts, 2);
	CU_ASSERT_EQUAL(r->started_ms, 500);
	CU_ASSERT_EQUAL(r->finished_ms, 1000);
	CU_ASSERT_EQUAL(f.starts[0], 0);
	fx_exit(&f, "b", 1);
	RUN("b=failed c=skipped");	/* 2 attempts = 1 + retries */
	CU_ASSERT_EQUAL(fx_node(&f, "b")->attempts, 2);
	CU_ASSERT_EQUAL(fx_node(&f, "b")->nhist, 1);
	CU_ASSERT_EQUAL(sched_status(f.s), DS_FAILED);
	fx_done(&f);
}

/* A cache hit undoes the start it was handed: no attempt, no slot kept. */
static void
hit_on_start(struct fx *f, size_t i, int attempt)
{
	(void)attempt;
	if (strcmp(f->m->nodes[i].id, "a") != 0)
		return;
	sched_unstarted(f->s, i, f->now);
	f->running[i] = 0;
	f->slot_used[f->slot[i]] = 0;
	f->nrunning--;
}

/* A node whose start never began (a cache hit) succeeds with 0 attempts;
 * its slot goes to the next node at once and its timeout never fires. */
static void
test_unstarted(void)
{
	struct manifest		*m = man_new("a b:a c");
	struct fx		 f;
	const struct node_run	*r;

	nd(m, "a")->timeout_ms = 1000;
	fx_init(&f, m, 1, NULL);
	f.on_start = hit_on_start;
	f.now = 10;
	sched_begin(f.s, f.now);
	RUN("+a a=succeeded +b");
	r = fx_node(&f, "a");
	CU_ASSERT_EQUAL(r->status, NS_SUCCEEDED);
	CU_ASSERT_EQUAL(r->attempts, 0);
	CU_ASSERT_EQUAL(r->nhist, 0);
	CU_ASSERT_EQUAL(r->exit_code, 0);
	CU_ASSERT_EQUAL(r->finished_ms, 10);
	CU_ASSERT_EQUAL(sched_wakeup(f.s), INT64_MAX);
	f.now = 2000;
	fx_ok(&f, "b");
	RUN("b=succeeded +c");
	fx_ok(&f, "c");
	RUN("c=succeeded");
	CU_ASSERT(sched_finished(f.s));
	CU_ASSERT_EQUAL(sched_status(f.s), DS_SUCCEEDED);
	/* only for a node that was just started */
	sched_unstarted(f.s, idx(m, "b"), f.now);
	CU_ASSERT_EQUAL(fx_node(&f, "b")->attempts, 1);
	fx_done(&f);
}

/* A resumed job's nodes keep the times of the earlier run: a node that
 * succeeded there its start and length, a node that runs again its first
 * start, so that its times span every attempt. */
static void
test_preset_times(void)
{
	struct manifest		*m = man_new("a b:a c:b");
	struct fx		 f;
	const struct node_run	*r;

	fx_init(&f, m, 2, NULL);
	sched_preset_succeeded(f.s, 0, 1, 300);
	sched_preset_attempts(f.s, 1, 1);
	f.seen[0] = NS_SUCCEEDED;
	f.now = 1000;
	sched_begin(f.s, f.now);
	sched_preset_times(f.s, 0, 200, 300);
	sched_preset_times(f.s, 1, 600, -1);
	r = fx_node(&f, "a");
	CU_ASSERT_EQUAL(r->started_ms, 200);
	CU_ASSERT_EQUAL(r->finished_ms, 500);
	RUN("+b#2");
	r = fx_node(&f, "b");
	CU_ASSERT_EQUAL(r->started_ms, 600);	/* not this attempt's 1000 */
	CU_ASSERT_EQUAL(r->nhist, 1);
	CU_ASSERT_EQUAL(r->hist[0].start_ms, 1000);
	f.now = 1500;
	fx_ok(&f, "b");
	RUN("b=succeeded +c");
	CU_ASSERT_EQUAL(r->finished_ms, 1500);
	/* a node of this run is not moved */
	sched_preset_times(f.s, 2, 100, -1);
	CU_ASSERT_EQUAL(fx_node(&f, "c")->started_ms, 1500);
	fx_done(&f);
}

/* A stop ends retrying nodes, except cleanup ones (when: always). */
static void
test_stop_retrying(void)
{
	struct manifest		*m = man_new("a b r");
	struct fx		 f;
	const struct node_run	*r;

	m->on_failure = ONFAIL_STOP;
	nd(m, "b")->when = WHEN_ALWAYS;
	nd(m, "b")->retries = 1;
	nd(m, "r")->retries = 1;
	fx_init(&f, m, 3, NULL);
	sched_begin(f.s, 0);
	RUN("+a +b +r");
	fx_exit(&f, "b", 1);
	fx_exit(&f, "r", 4);
	RUN("b=retrying r=retrying");
	f.now = 10;
	fx_exit(&f, "a", 1);
	RUN("a=failed r=failed");
	r = fx_node(&f, "r");
	CU_ASSERT_EQUAL(r->reason, REASON_EXIT);
	CU_ASSERT_STRING_EQUAL(r->error, "exited with status 4");
	CU_ASSERT_EQUAL(r->finished_ms, 10);
	CU_ASSERT_EQUAL(sched_wakeup(f.s), 1000);
	f.now = 1000;
	RUN("+b#2");
	fx_ok(&f, "b");
	RUN("b=succeeded");
	CU_ASSERT_EQUAL(sched_status(f.s), DS_FAILED);
	fx_done(&f);
}

/* A retry waiting past the deadline ends with its last failure. */
static void
test_deadline_retrying(void)
{
	struct manifest		*m = man_new("a");
	struct fx		 f;

	m->deadline_ms = 5000;
	nd(m, "a")->retries = 3;
	nd(m, "a")->retry_delay_ms = 10000;
	fx_init(&f, m, 1, NULL);
	sched_begin(f.s, 0);
	RUN("+a");
	f.now = 100;
	fx_exit(&f, "a", 1);
	RUN("a=retrying");
	CU_ASSERT_EQUAL(sched_wakeup(f.s), 5000);
	f.now = 5000;
	RUN("a=failed");
	CU_ASSERT_EQUAL(fx_node(&f, "a")->reason, REASON_EXIT);
	CU_ASSERT_EQUAL(fx_node(&f, "a")->attempts, 1);
	CU_ASSERT_EQUAL(sched_status(f.s), DS_TIMED_OUT);
	fx_done(&f);
}

/* The first cause decides the DAG's status; a later deadline still kills. */
static void
test_budget_then_deadline(void)
{
	struct manifest		*m = man_new("a b c");
	struct fx		 f;
	struct metric		 mv[] = { { s_tokens, 1 } };

	m->deadline_ms = 1000;
	man_budget(m, "tokens", 1);
	fx_init(&f, m, 2, NULL);
	sched_begin(f.s, 0);
	RUN("+a +b");
	fx_end_full(&f, 0, REASON_NONE, 0, 0, NULL, mv, 1, 0, 0);
	RUN("a=succeeded c=skipped");
	CU_ASSERT_EQUAL(sched_wakeup(f.s), 1000);
	f.now = 1000;
	RUN("!b:deadline");
	fx_sig(&f, "b", SIGTERM);
	RUN("b=failed");
	CU_ASSERT_EQUAL(fx_node(&f, "b")->reason, REASON_DEADLINE);
	CU_ASSERT_EQUAL(sched_status(f.s), DS_BUDGET_EXCEEDED);
	fx_done(&f);
}

/* Cancelled before it began: nothing starts. */
static void
test_cancel_early(void)
{
	struct fx	f;

	fx_init(&f, man_new("a b:a"), 2, NULL);
	sched_cancel(f.s, 0, DS_CANCELLED);
	CU_ASSERT_EQUAL(sched_status(f.s), DS_QUEUED);
	sched_begin(f.s, 0);
	RUN("a=cancelled b=cancelled");
	CU_ASSERT(sched_finished(f.s));
	CU_ASSERT_EQUAL(sched_status(f.s), DS_CANCELLED);
	CU_ASSERT_EQUAL(f.starts[0] + f.starts[1], 0);
	fx_done(&f);
}

/* A retry goes back through the heaps with its own priority. */
static void
test_retry_priority(void)
{
	struct manifest	*m = man_new("a b c");
	struct fx	 f;

	nd(m, "a")->priority = 1;
	nd(m, "a")->retries = 1;
	nd(m, "a")->retry_delay_ms = 10;
	fx_init(&f, m, 1, NULL);
	sched_begin(f.s, 0);
	RUN("+a");
	fx_exit(&f, "a", 1);
	RUN("a=retrying +b");
	f.now = 10;
	RUN("");
	fx_ok(&f, "b");
	RUN("b=succeeded +a#2");	/* before c, by priority */
	fx_ok(&f, "a");
	RUN("a=succeeded +c");
	fx_ok(&f, "c");
	RUN("c=succeeded");
	fx_done(&f);
}

/* A kill that was handed out decides, even over a clean exit; error lines
 * written from the class when the executor gives none. */
static void
test_kill_decides(void)
{
	struct manifest		*m = man_new("a b c");
	struct fx		 f;

	nd(m, "a")->timeout_ms = 90000;
	nd(m, "b")->timeout_ms = 1500;
	fx_init(&f, m, 3, NULL);
	sched_begin(f.s, 0);
	RUN("+a +b +c");
	f.now = 1500;
	RUN("!b:timeout");
	fx_end_full(&f, idx(m, "b"), REASON_NONE, -1, 0, NULL, NULL, 0, 0, 0);
	fx_sig(&f, "c", SIGXFSZ);
	RUN("b=timed_out c=failed");
	CU_ASSERT_STRING_EQUAL(fx_node(&f, "b")->error,
	    "timeout 1s500ms reached");
	CU_ASSERT_EQUAL(fx_node(&f, "c")->reason, REASON_RLIMIT_FSIZE);
	CU_ASSERT_STRING_EQUAL(fx_node(&f, "c")->error,
	    "killed by SIGXFSZ: file size limit reached");
	f.now = 90000;
	RUN("!a:timeout");
	fx_end_full(&f, idx(m, "a"), REASON_NONE, 0, 0, NULL, NULL, 0, 0, 0);
	RUN("a=timed_out");
	CU_ASSERT_STRING_EQUAL(fx_node(&f, "a")->error,
	    "exited with status 0 after timeout 1m30s");
	CU_ASSERT_EQUAL(sched_status(f.s), DS_FAILED);
	fx_done(&f);
}

/* Exponential backoff without a cap saturates instead of overflowing. */
static void
test_backoff_saturates(void)
{
	struct manifest	*m = man_new("a");
	struct fx	 f;

	nd(m, "a")->retries = 100;
	nd(m, "a")->retry_delay_ms = INT64_C(1) << 61;
	nd(m, "a")->max_retry_delay_ms = 0;	/* no cap */
	fx_init(&f, m, 1, NULL);
	sched_preset_attempts(f.s, 0, 9);
	sched_begin(f.s, 0);
	RUN("+a#10");
	f.now = 5;
	fx_exit(&f, "a", 1);
	RUN("a=retrying");
	CU_ASSERT_EQUAL(fx_node(&f, "a")->retry_at, INT64_MAX);
	sched_cancel(f.s, 6, DS_CANCELLED);
	RUN("a=cancelled");
	fx_done(&f);
}

/* ---- a large random DAG -------------------------------------------- */

struct ev {
	int64_t	at;
	size_t	node;
	int	attempt;
	int	killed;
};

struct evq {
	struct ev	*v;
	size_t		 n;
	size_t		 cap;
	uint64_t	 rng;
};

static uint64_t
rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return (*x);
}

static void
evq_push(struct evq *q, struct ev e)
{
	size_t	i, p;

	xgrow(&q->v, &q->cap, q->n + 1, sizeof *q->v);
	i = q->n++;
	while (i > 0 && q->v[p = (i - 1) / 2].at > e.at) {
		q->v[i] = q->v[p];
		i = p;
	}
	q->v[i] = e;
}

static struct ev
evq_pop(struct evq *q)
{
	struct ev	top = q->v[0], x = q->v[--q->n];
	size_t		i = 0, c;

	while ((c = 2 * i + 1) < q->n) {
		if (c + 1 < q->n && q->v[c + 1].at < q->v[c].at)
			c++;
		if (q->v[c].at >= x.at)
			break;
		q->v[i] = q->v[c];
		i = c;
	}
	if (q->n > 0)
		q->v[i] = x;
	return (top);
}

static void
big_start(struct fx *f, size_t i, int attempt)
{
	struct evq	*q = f->arg;
	struct ev	 e = { 0, i, attempt, 0 };

	e.at = f->now + 1 + (int64_t)(rnd(&q->rng) % 100);
	evq_push(q, e);
}

static void
big_kill(struct fx *f, size_t i, int attempt)
{
	struct evq	*q = f->arg;
	struct ev	 e = { f->now + 1, i, attempt, 1 };

	evq_push(q, e);
}

/* Failures that do not cascade over the whole DAG: allowed ones, first
 * attempts that have a retry, and a few real ones near the end. */
static int
big_fails(struct evq *q, const struct manifest *m, size_t i, int attempt)
{
	uint64_t	x = rnd(&q->rng);

	if (m->nodes[i].allow_failure)
		return (x % 3 == 0);
	if (attempt == 1 && m->nodes[i].retries > 0)
		return (x % 5 == 0);
	return (i >= m->nnodes - m->nnodes / 100 && x % 50 == 0);
}

/* A digest of everything state.yaml shows of a node's record. */
static uint64_t
rec_sig(const struct node_run *r)
{
	uint64_t	h = 1469598103934665603ULL;
	int64_t		v[12];
	size_t		k;
	const char	*p;

	v[0] = r->status;
	v[1] = r->attempts;
	v[2] = r->exit_code;
	v[3] = r->signal;
	v[4] = r->started_ms;
	v[5] = r->finished_ms;
	v[6] = r->cpu_ms;
	v[7] = r->max_rss_kb;
	v[8] = r->reason;
	v[9] = (int64_t)r->nmetrics;
	v[10] = (int64_t)r->nhist;
	v[11] = r->nhist > 0 ? r->hist[r->nhist - 1].end_ms : -2;
	for (k = 0; k < 12; k++)
		h = (h ^ (uint64_t)v[k]) * 1099511628211ULL;
	for (p = r->error; p != NULL && *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	for (p = r->stderr_tail; p != NULL && *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return h;
}

static void
mark_touched(void *arg, size_t i)
{
	((unsigned char *)arg)[i] = 1;
}

/* Every node whose record changed since the last look was reported by
 * sched_take_touched. */
static void
check_touched(struct fx *f, uint64_t *sig, unsigned char *seen)
{
	size_t	i, missed = 0;
	uint64_t h;

	memset(seen, 0, f->m->nnodes);
	sched_take_touched(f->s, mark_touched, seen);
	for (i = 0; i < f->m->nnodes; i++) {
		h = rec_sig(sched_node(f->s, i));
		if (h != sig[i] && !seen[i])
			missed++;
		sig[i] = h;
	}
	CU_ASSERT_EQUAL(missed, 0);
}

static void
big_run(size_t n, enum schedule sched, int maxpar, bool touched)
{
	uint64_t		*sig = xcalloc(n, sizeof *sig);
	unsigned char		*seen = xcalloc(n, 1);
	struct manifest		*m = man_alloc(n);
	struct fx		 f;
	struct evq		 q = { NULL, 0, 0, 88172645463325252ULL };
	struct ev		 e;
	struct node		*d;
	const struct node_run	*r;
	size_t			 i, k, nn, counts[NS__COUNT], events = 0;
	int64_t			 next;
	uint64_t		 x;
	int			 p0, p1;

	m->schedule = sched;
	p0 = man_pool(m, "net", 3);
	p1 = man_pool(m, "gpu", 1);
	for (i = 0; i < n; i++) {
		d = &m->nodes[i];
		x = rnd(&q.rng);
		nn = i == 0 ? 0 : x % 4;
		d->needs = xcalloc(nn + 1, sizeof *d->needs);
		for (k = 0; k < nn; k++) {
			size_t span = i < 1000 ? i : 1000;

			d->needs[k] = i - 1 - rnd(&q.rng) % span;
			if (k > 0 && d->needs[k] == d->needs[k - 1])
				break;
		}
		d->nneeds = k;
		x = rnd(&q.rng);
		d->priority = (int)(x % 5) - 2;
		if (x % 7 == 0)
			d->pool_index = p0;
		else if (x % 29 == 0)
			d->pool_index = p1;
		if (x % 3 == 0)
			d->retries = 1;
		if (x % 11 == 0)
			d->allow_failure = true;
		if (x % 31 == 0)
			d->when = WHEN_ALWAYS;
		else if (x % 37 == 0 && i >= n - n / 100)
			d->when = WHEN_FAILURE;	/* skipped ones cascade */
		if (d->allow_failure && x % 2 == 0)
			d->timeout_ms = 50;	/* about half time out */
		d->retry_delay_ms = 10;
	}
	man_graph(m);
	fx_init(&f, m, maxpar, NULL);
	f.quiet = 1;
	f.arg = &q;
	f.on_start = big_start;
	f.on_kill = big_kill;
	for (i = 0; i < n; i++)
		sig[i] = rec_sig(sched_node(f.s, i));
	sched_begin(f.s, 0);
	for (;;) {
		fx_run(&f);
		if (touched)
			check_touched(&f, sig, seen);
		if (sched_finished(f.s))
			break;
		next = sched_wakeup(f.s);
		if (q.n > 0 && q.v[0].at < next)
			next = q.v[0].at;
		if (next == INT64_MAX) {
			CU_FAIL("the scheduler is stuck");
			break;
		}
		CU_ASSERT_FATAL(next >= f.now);
		f.now = next;
		while (q.n > 0 && q.v[0].at <= f.now) {
			e = evq_pop(&q);
			if (f.running[e.node] != e.attempt)
				continue;	/* ended already */
			events++;
			if (e.killed)
				fx_end_full(&f, e.node, REASON_SIGNAL, -1,
				    SIGTERM, NULL, NULL, 0, 1, 1);
			else if (big_fails(&q, m, e.node, e.attempt))
				fx_end_full(&f, e.node, REASON_EXIT, 1, 0,
				    NULL, NULL, 0, 1, 1);
			else
				fx_end_full(&f, e.node, REASON_NONE, 0, 0,
				    NULL, NULL, 0, 1, 1);
			if (touched)
				check_touched(&f, sig, seen);
		}
	}
	free(sig);
	free(seen);
	CU_ASSERT(sched_finished(f.s));
	CU_ASSERT(events >= n / 2);
	sched_counts(f.s, counts);
	CU_ASSERT_EQUAL(counts[NS_PENDING] + counts[NS_RUNNING] +
	    counts[NS_RETRYING], 0);
	CU_ASSERT_EQUAL(counts[NS_SUCCEEDED] + counts[NS_FAILED] +
	    counts[NS_SKIPPED] + counts[NS_CANCELLED] + counts[NS_TIMED_OUT],
	    n);
	CU_ASSERT(counts[NS_SUCCEEDED] > n / 2);
	CU_ASSERT(counts[NS_FAILED] > 0);
	/* every attempt started after its needs were final */
	for (i = 0; i < n; i++) {
		r = sched_node(f.s, i);
		if (r->nhist == 0)
			continue;
		for (k = 0; k < m->nodes[i].nneeds; k++) {
			const struct node_run *rn;

			rn = sched_node(f.s, m->nodes[i].needs[k]);
			CU_ASSERT(rn->finished_ms <= r->hist[0].start_ms);
			if (sched == SCHEDULE_WAVES)
				break;
		}
		if (r->status == NS_TIMED_OUT)
			CU_ASSERT_EQUAL(r->reason, REASON_TIMEOUT);
	}
	CU_ASSERT(sched_status(f.s) == DS_FAILED ||
	    sched_status(f.s) == DS_SUCCEEDED);
	/* the run went through kills and retries */
	CU_ASSERT(counts[NS_TIMED_OUT] > 0);
	for (i = 0, k = 0; i < n; i++)
		if (sched_node(f.s, i)->nhist > 1)
			k++;
	CU_ASSERT(k > 0);
	if (sched == SCHEDULE_WAVES) {
		/* no attempt of wave w began before waves < w were final */
		size_t	 nw = m->graph.nwaves, w;
		int64_t	*fin = xcalloc(nw + 1, sizeof *fin);
		int64_t	*beg = xcalloc(nw + 1, sizeof *beg);

		for (w = 0; w < nw; w++)
			beg[w] = INT64_MAX;
		for (i = 0; i < n; i++) {
			r = sched_node(f.s, i);
			w = m->graph.wave[i];
			if (r->finished_ms > fin[w])
				fin[w] = r->finished_ms;
			if (r->nhist > 0 && r->hist[0].start_ms < beg[w])
				beg[w] = r->hist[0].start_ms;
		}
		CU_ASSERT(nw > 10);
		for (w = 1; w < nw; w++) {
			if (fin[w - 1] > fin[w])
				fin[w] = fin[w - 1];
			if (beg[w] != INT64_MAX)
				CU_ASSERT(fin[w - 1] <= beg[w]);
		}
		free(fin);
		free(beg);
	}
	free(q.v);
	fx_done(&f);
}

static void
test_big(void)
{
	big_run(100000, SCHEDULE_CRITICAL_PATH, 16, false);
}

static void
test_big_waves(void)
{
	big_run(20000, SCHEDULE_WAVES, 8, false);
}

/* Every change to a record is reported by sched_take_touched: presets,
 * starts, ends, retries, a stop and a cancel, and two random DAGs. */
static void
test_touched(void)
{
	struct manifest	*m = man_new("a b:a c:a d:c e f:e g");
	struct fx	 f;
	uint64_t	 sig[7];
	unsigned char	 seen[7];
	size_t		 i, round;

	nd(m, "c")->when = WHEN_ALWAYS;
	nd(m, "e")->retries = 1;
	nd(m, "e")->retry_delay_ms = 5;
	fx_init(&f, m, 3, NULL);
	for (i = 0; i < 7; i++)
		sig[i] = rec_sig(sched_node(f.s, i));
	sched_preset_attempts(f.s, idx(m, "f"), 2);
	sched_preset_succeeded(f.s, idx(m, "g"), 1, 30);
	f.seen[idx(m, "g")] = NS_SUCCEEDED;	/* a preset is no change */
	check_touched(&f, sig, seen);
	sched_begin(f.s, 100);
	check_touched(&f, sig, seen);
	sched_preset_times(f.s, idx(m, "g"), 50, 30);
	check_touched(&f, sig, seen);
	for (round = 0; round < 6; round++) {
		fx_run(&f);
		check_touched(&f, sig, seen);
		f.now += 10;
		if (round == 1)
			fx_exit(&f, "e", 1);	/* retried */
		else if (round == 3)
			sched_stop(f.s, f.now);
		else if (round == 4)
			sched_cancel(f.s, f.now, DS_CANCELLED);
		else {
			for (i = 0; i < 7; i++)
				if (f.running[i] > 0) {
					fx_end_full(&f, i, REASON_NONE, 0, 0,
					    NULL, NULL, 0, 1, 1);
					break;
				}
		}
		check_touched(&f, sig, seen);
	}
	for (i = 0; i < 7; i++)
		if (f.running[i] > 0)
			fx_end_full(&f, i, REASON_SIGNAL, -1, SIGTERM, NULL,
			    NULL, 0, 1, 1);
	fx_run(&f);
	check_touched(&f, sig, seen);
	CU_ASSERT(sched_finished(f.s));
	fx_done(&f);
	big_run(1500, SCHEDULE_CRITICAL_PATH, 4, true);
	big_run(600, SCHEDULE_WAVES, 3, true);
}

int
main(void)
{
	static const struct cunit_test tests[] = {
		{ "names", test_names },
		{ "empty", test_empty },
		{ "order", test_order },
		{ "estimates", test_estimates },
		{ "cap_slots", test_cap_slots },
		{ "pools", test_pools },
		{ "waves", test_waves },
		{ "retry_exponential", test_retry_exponential },
		{ "retry_fixed_cap", test_retry_fixed_cap },
		{ "retry_on", test_retry_on },
		{ "timeout", test_timeout },
		{ "continue", test_continue },
		{ "stop", test_stop },
		{ "abort", test_abort },
		{ "when", test_when },
		{ "budget", test_budget },
		{ "retry_on_exit", test_retry_on_exit },
		{ "jitter", test_jitter },
		{ "node_budget", test_node_budget },
		{ "budget_live", test_budget_live },
		{ "accounting", test_accounting },
		{ "deadline", test_deadline },
		{ "cancel", test_cancel },
		{ "cancel_stop", test_cancel_stop },
		{ "preset", test_preset },
		{ "preset times", test_preset_times },
		{ "unstarted", test_unstarted },
		{ "stop_retrying", test_stop_retrying },
		{ "deadline_retrying", test_deadline_retrying },
		{ "budget_then_deadline", test_budget_then_deadline },
		{ "cancel_early", test_cancel_early },
		{ "retry_priority", test_retry_priority },
		{ "kill_decides", test_kill_decides },
		{ "backoff_saturates", test_backoff_saturates },
		{ "big", test_big },
		{ "big_waves", test_big_waves },
		{ "touched records", test_touched },
		{ NULL, NULL }
	};
	int	rc;

	rc = cunit_run("sched", NULL, NULL, tests);
	free(last);
	return (rc);
}
