/* The prediction of a run (see plan.h). The scheduler is the one `run`
 * uses; this file is only its executor on a simulated clock: an SA_START
 * becomes an end event at now + the node's duration, an SA_KILL (a
 * timeout, the deadline) an end event at now, and the clock jumps to the
 * earliest of the next end and sched_wakeup(). Ends at the same instant
 * are all delivered before the scheduler is asked what to start, so that
 * every freed slot goes by its priority order. */
#include "config.h"

#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "xmalloc.h"

/* One attempt's end, due at `at`. */
struct pev {
	int64_t	at;
	size_t	node;
	int	attempt;
	int	killed;		/* asked for by the scheduler */
};

struct pevq {
	struct pev	*v;
	size_t		 n;
	size_t		 cap;
};

struct plan {
	const struct manifest	*m;
	struct sched		*s;
	int			 parallelism;
	int64_t			*dur;
	enum plan_source	*src;
	size_t			 nunknown;
	int64_t			 makespan;
	int64_t			 busy;
	size_t			*crit;
	size_t			 ncrit;
};

/* Earlier first; at the same time, lower node index first. */
static int
pev_before(const struct pev *a, const struct pev *b)
{
	if (a->at != b->at)
		return a->at < b->at;
	return a->node < b->node;
}

static void
pevq_push(struct pevq *q, struct pev e)
{
	size_t	i, p;

	xgrow(&q->v, &q->cap, q->n + 1, sizeof *q->v);
	i = q->n++;
	while (i > 0) {
		p = (i - 1) / 2;
		if (!pev_before(&e, &q->v[p]))
			break;
		q->v[i] = q->v[p];
		i = p;
	}
	q->v[i] = e;
}

static struct pev
pevq_pop(struct pevq *q)
{
	struct pev	top = q->v[0], x;
	size_t		i, c;

	x = q->v[--q->n];
	i = 0;
	for (;;) {
		c = 2 * i + 1;
		if (c >= q->n)
			break;
		if (c + 1 < q->n && pev_before(&q->v[c + 1], &q->v[c]))
			c++;
		if (!pev_before(&q->v[c], &x))
			break;
		q->v[i] = q->v[c];
		i = c;
	}
	if (q->n > 0)
		q->v[i] = x;
	return top;
}

size_t
plan_durations(const struct manifest *m, const int64_t *learned,
    const unsigned char *reused, int64_t *dur, enum plan_source *src)
{
	enum plan_source	 w;
	size_t			 i, unknown = 0;

	for (i = 0; i < m->nnodes; i++) {
		if (reused != NULL && reused[i]) {
			dur[i] = 0;
			w = PLAN_REUSED;
		} else if (m->nodes[i].estimate_ms >= 0) {
			dur[i] = m->nodes[i].estimate_ms;
			w = PLAN_ESTIMATE;
		} else if (learned != NULL && learned[i] > 0) {
			dur[i] = learned[i];
			w = PLAN_HISTORY;
		} else {
			dur[i] = PLAN_UNKNOWN_MS;
			w = PLAN_UNKNOWN;
			unknown++;
		}
		if (src != NULL)
			src[i] = w;
	}
	return unknown;
}

int
plan_cap(const struct manifest *m, int jobs)
{
	if (jobs < 1)
		jobs = 1;
	return m->max_parallel > 0 && m->max_parallel < jobs ?
	    m->max_parallel : jobs;
}

size_t
plan_reusable(const struct manifest *m, const struct state_doc *d,
    unsigned char *reused)
{
	const struct graph	*g = &m->graph;
	unsigned char		*ok;
	size_t			 i, k, t, count = 0;
	long			 x;

	memset(reused, 0, m->nnodes);
	ok = xcalloc(m->nnodes + 1, 1);
	for (k = 0; k < d->nnodes; k++) {
		x = manifest_find(m, d->nodes[k].id);
		if (x >= 0 && d->nodes[k].status != NULL &&
		    strcmp(d->nodes[k].status, "succeeded") == 0)
			ok[x] = 1;
	}
	/* in topological order, so that a node's needs are judged first */
	for (t = 0; t < m->nnodes; t++) {
		i = g->topo[t];
		if (!ok[i])
			continue;
		for (k = g->need_off[i]; k < g->need_off[i + 1]; k++)
			if (!reused[g->need[k]])
				break;
		if (k == g->need_off[i + 1]) {
			reused[i] = 1;
			count++;
		}
	}
	free(ok);
	return count;
}

/* Hand the scheduler the ends due at now, then carry out its decisions. */
static void
plan_step(struct plan *p, struct pevq *q, int64_t now)
{
	static const struct attempt_end ok = { .reason = REASON_NONE,
		.exit_code = 0 };
	static const struct attempt_end killed = { .reason = REASON_SIGNAL,
		.exit_code = -1, .signal = SIGTERM };
	const struct node_run	*r;
	struct sched_action	 a;
	struct pev		 e;
	int64_t			 d;

	while (q->n > 0 && q->v[0].at <= now) {
		e = pevq_pop(q);
		r = sched_node(p->s, e.node);
		if (r->status != NS_RUNNING || r->attempts != e.attempt)
			continue;	/* ended already, by a kill */
		sched_ended(p->s, e.node, now, e.killed ? &killed : &ok);
	}
	while (sched_next(p->s, now, INT_MAX, &a)) {
		e.node = a.node;
		e.attempt = a.attempt;
		switch (a.kind) {
		case SA_START:
			d = p->dur[a.node];
			e.at = now > INT64_MAX - d ? INT64_MAX : now + d;
			e.killed = 0;
			pevq_push(q, e);
			break;
		case SA_KILL:
			/* the process would take a moment to die: none here */
			e.at = now;
			e.attempt = sched_node(p->s, a.node)->attempts;
			e.killed = 1;
			pevq_push(q, e);
			break;
		case SA_CHANGE:
		case SA_EXPAND:		/* never: expand_as_one */
			break;
		}
	}
}

/* Run the simulation to its end. Returns 0, or -1 when the scheduler is
 * not finished yet has nothing running and nothing to wake up for. */
static int
plan_run(struct plan *p, const unsigned char *reused)
{
	struct pevq	q = { NULL, 0, 0 };
	int64_t		now = 0, next, w;
	size_t		i;
	int		rc = 0;

	if (reused != NULL)
		for (i = 0; i < p->m->nnodes; i++)
			if (reused[i])
				sched_preset_succeeded(p->s, i, 0, 0);
	sched_begin(p->s, now);
	for (;;) {
		plan_step(p, &q, now);
		if (sched_finished(p->s))
			break;
		next = q.n > 0 ? q.v[0].at : INT64_MAX;
		w = sched_wakeup(p->s);
		if (w < next)
			next = w;
		if (next == INT64_MAX) {
			rc = -1;
			break;
		}
		now = next > now ? next : now;
	}
	free(q.v);
	return rc;
}

/* Nodes that ran, by their end time (then index): the chain walk finds
 * those that ended at an instant by binary search. */
struct endat {
	int64_t	end;
	size_t	node;
};

struct byend {
	const struct plan	*p;
	struct endat		*v;
	size_t			 n;
};

static int
endat_cmp(const void *a, const void *b)
{
	const struct endat	*x = a, *y = b;

	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return x->node < y->node ? -1 : x->node > y->node;
}

/* The first entry of b that ended at or after t. */
static size_t
byend_lower(const struct byend *b, int64_t t)
{
	size_t	lo = 0, hi = b->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (b->v[mid].end < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The node that decided when node i could start, or SIZE_MAX: the need
 * that ended last when it ended just then; else a node that ended at that
 * instant (it freed a slot or a pool place, or closed a wave), one of the
 * same pool first; else the need that ended last. */
static size_t
plan_cause(const struct byend *b, size_t i, const unsigned char *seen)
{
	const struct plan	*p = b->p;
	const struct graph	*g = &p->m->graph;
	const struct node_run	*r;
	size_t			 k, j, last = SIZE_MAX, same = SIZE_MAX;
	int64_t			 s = sched_node(p->s, i)->started_ms;
	int64_t			 lastend = -1;
	int			 pool = p->m->nodes[i].pool_index;

	if (s <= 0)
		return SIZE_MAX;
	for (k = g->need_off[i]; k < g->need_off[i + 1]; k++) {
		j = g->need[k];
		r = sched_node(p->s, j);
		if (r->nhist == 0 || seen[j])
			continue;
		if (r->finished_ms > lastend) {
			lastend = r->finished_ms;
			last = j;
		}
	}
	if (last != SIZE_MAX && lastend == s)
		return last;
	for (k = byend_lower(b, s); k < b->n && b->v[k].end == s; k++) {
		j = b->v[k].node;
		if (j == i || seen[j])
			continue;
		if (pool >= 0 && p->m->nodes[j].pool_index == pool)
			return j;
		if (same == SIZE_MAX)
			same = j;
	}
	return same != SIZE_MAX ? same : last;
}

/* Walk back from the node that ends last (see plan_critical). */
static void
plan_chain(struct plan *p)
{
	struct byend		 b;
	unsigned char		*seen;
	size_t			 i, n = p->m->nnodes, cur, t;

	b.p = p;
	b.v = xcalloc(n + 1, sizeof *b.v);
	b.n = 0;
	for (i = 0; i < n; i++) {
		if (sched_node(p->s, i)->nhist == 0)
			continue;
		b.v[b.n].end = sched_node(p->s, i)->finished_ms;
		b.v[b.n++].node = i;
	}
	if (b.n == 0) {
		free(b.v);
		return;
	}
	qsort(b.v, b.n, sizeof *b.v, endat_cmp);
	/* the last to end; of those ending together, the lowest index */
	cur = b.v[byend_lower(&b, b.v[b.n - 1].end)].node;
	seen = xcalloc(n, 1);
	p->crit = xcalloc(n, sizeof *p->crit);
	while (cur != SIZE_MAX) {
		seen[cur] = 1;
		p->crit[p->ncrit++] = cur;
		cur = plan_cause(&b, cur, seen);
	}
	for (i = 0; i < p->ncrit / 2; i++) {
		t = p->crit[i];
		p->crit[i] = p->crit[p->ncrit - 1 - i];
		p->crit[p->ncrit - 1 - i] = t;
	}
	free(seen);
	free(b.v);
}

struct plan *
plan_new(const struct manifest *m, int parallelism, const int64_t *learned,
    const unsigned char *reused, char **cause)
{
	struct sched_config	 sc;
	struct plan		*p;
	const struct node_run	*r;
	int64_t			*est = NULL;
	size_t			 i, k;

	p = xcalloc(1, sizeof *p);
	p->m = m;
	p->parallelism = parallelism > 0 ? parallelism : 1;
	p->dur = xcalloc(m->nnodes + 1, sizeof *p->dur);
	p->src = xcalloc(m->nnodes + 1, sizeof *p->src);
	p->nunknown = plan_durations(m, learned, reused, p->dur, p->src);

	/* the learned estimates order ready nodes as they do in a run */
	memset(&sc, 0, sizeof sc);
	sc.max_parallel = p->parallelism;
	/* a dynamic foreach, whose items are not known, counts as one */
	sc.expand_as_one = true;
	if (learned != NULL) {
		est = xcalloc(m->nnodes + 1, sizeof *est);
		memcpy(est, learned, m->nnodes * sizeof *est);
		sc.estimate_ms = est;
	}
	p->s = sched_new(m, &sc);
	if (plan_run(p, reused) != 0) {
		*cause = xstrdup("the simulated run stalled: no node runs and "
		    "none can start");
		free(est);
		plan_free(p);
		return NULL;
	}
	free(est);
	for (i = 0; i < m->nnodes; i++) {
		r = sched_node(p->s, i);
		if (r->finished_ms > p->makespan)
			p->makespan = r->finished_ms;
		for (k = 0; k < r->nhist; k++)
			p->busy += r->hist[k].end_ms - r->hist[k].start_ms;
	}
	plan_chain(p);
	return p;
}

void
plan_free(struct plan *p)
{
	if (p == NULL)
		return;
	sched_free(p->s);
	free(p->dur);
	free(p->src);
	free(p->crit);
	free(p);
}

int
plan_parallelism(const struct plan *p)
{
	return p->parallelism;
}

int64_t
plan_makespan(const struct plan *p)
{
	return p->makespan;
}

int64_t
plan_busy(const struct plan *p)
{
	return p->busy;
}

size_t
plan_unknown(const struct plan *p)
{
	return p->nunknown;
}

enum dag_status
plan_status(const struct plan *p)
{
	return sched_status(p->s);
}

int64_t
plan_node_duration(const struct plan *p, size_t i, enum plan_source *src)
{
	if (src != NULL)
		*src = p->src[i];
	return p->dur[i];
}

bool
plan_node_times(const struct plan *p, size_t i, int64_t *start,
    int64_t *end)
{
	const struct node_run	*r = sched_node(p->s, i);

	if (r->started_ms < 0 || (r->nhist == 0 && p->src[i] != PLAN_REUSED)) {
		*start = *end = -1;
		return false;
	}
	*start = r->started_ms;
	*end = r->finished_ms;
	return true;
}

const size_t *
plan_critical(const struct plan *p, size_t *n)
{
	*n = p->ncrit;
	return p->crit;
}

const struct sched *
plan_sched(const struct plan *p)
{
	return p->s;
}
