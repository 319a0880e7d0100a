/* The scheduling policy of one DAG (see sched.h). Pure: no system calls, no
 * clock, no files, no printing.
 *
 * Data structures:
 * - one ready heap per pool plus one for nodes without a pool, ordered by
 *   priority (higher first), bottom level (longer first), index (lower
 *   first); entries of nodes that became final meanwhile are dropped when
 *   they reach the top (lazy deletion);
 * - a timer heap (retry times and per-try timeouts), lazy deletion too: an
 *   entry is valid while the node is still in the state that pushed it;
 * - in waves mode, ready nodes of a later wave are parked on a list per
 *   wave and released when every node of the earlier waves is final;
 * - a work stack of nodes whose needs all became final, so that skipping
 *   cascades without recursion;
 * - FIFO queues of changes and kills handed out by sched_next.
 * Every event costs O(log n) amortised, plus O(pools) to pick among the heap
 * tops. Stopping the DAG (stop, abort, budget, deadline, cancel) walks the
 * nodes once. */
#include "config.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sched_int.h"
#include "xmalloc.h"

static void	settle(struct sched *, int64_t);
static void	kill_running(struct sched *, enum reason);
static void	halt(struct sched *, int, enum dag_status, char *);

enum reason
sched_classify(int exit_code, int sig)
{
	if (sig == SIGXCPU)
		return (REASON_RLIMIT_CPU);
	if (sig == SIGXFSZ)
		return (REASON_RLIMIT_FSIZE);
	if (sig != 0)
		return (REASON_SIGNAL);
	if (exit_code == 0)
		return (REASON_NONE);
	return (REASON_EXIT);
}

/* ---- heaps ---------------------------------------------------------- */

/* True when node a should start before node b. */
static int
before(const struct sched *s, size_t a, size_t b)
{
	const struct node *na = &s->m->nodes[a], *nb = &s->m->nodes[b];

	if (na->priority != nb->priority)
		return (na->priority > nb->priority);
	if (s->blevel[a] != s->blevel[b])
		return (s->blevel[a] > s->blevel[b]);
	return (a < b);
}

static void
heap_push(struct sched *s, struct heap *h, size_t x)
{
	size_t	i, p;

	xgrow(&h->v, &h->cap, h->n + 1, sizeof *h->v);
	i = h->n++;
	while (i > 0) {
		p = (i - 1) / 2;
		if (!before(s, x, h->v[p]))
			break;
		h->v[i] = h->v[p];
		i = p;
	}
	h->v[i] = x;
}

static size_t
heap_pop(struct sched *s, struct heap *h)
{
	size_t	top = h->v[0], x, i, c;

	x = h->v[--h->n];
	i = 0;
	for (;;) {
		c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && before(s, h->v[c + 1], h->v[c]))
			c++;
		if (!before(s, h->v[c], x))
			break;
		h->v[i] = h->v[c];
		i = c;
	}
	if (h->n > 0)
		h->v[i] = x;
	return (top);
}

static void
timer_push(struct sched *s, int64_t at, size_t node, int attempt, int kind)
{
	struct timer	t = { at, node, attempt, kind };
	size_t		i, p;

	xgrow(&s->timers, &s->timerscap, s->ntimers + 1, sizeof *s->timers);
	i = s->ntimers++;
	while (i > 0) {
		p = (i - 1) / 2;
		if (s->timers[p].at <= at)
			break;
		s->timers[i] = s->timers[p];
		i = p;
	}
	s->timers[i] = t;
}

static struct timer
timer_pop(struct sched *s)
{
	struct timer	top = s->timers[0], x;
	size_t		i, c;

	x = s->timers[--s->ntimers];
	i = 0;
	for (;;) {
		c = 2 * i + 1;
		if (c >= s->ntimers)
			break;
		if (c + 1 < s->ntimers && s->timers[c + 1].at <
		    s->timers[c].at)
			c++;
		if (s->timers[c].at >= x.at)
			break;
		s->timers[i] = s->timers[c];
		i = c;
	}
	if (s->ntimers > 0)
		s->timers[i] = x;
	return (top);
}

static int
timer_valid(const struct sched *s, const struct timer *t)
{
	const struct node_run	*r = &s->nr[t->node];

	if (r->attempts != t->attempt)
		return (0);
	if (t->kind == T_RETRY)
		return (r->status == NS_RETRYING && s->q[t->node] == Q_NONE &&
		    r->retry_at == t->at);
	return (r->status == NS_RUNNING && s->killed[t->node] == REASON_NONE);
}

/* Drop stale timers from the top so that sched_wakeup is exact. */
static void
timers_clean(struct sched *s)
{
	while (s->ntimers > 0 && !timer_valid(s, &s->timers[0]))
		timer_pop(s);
}

static void
slot_push(struct sched *s, int slot)
{
	size_t	i, p;

	i = s->nfreeslot++;
	while (i > 0) {
		p = (i - 1) / 2;
		if (s->freeslot[p] <= slot)
			break;
		s->freeslot[i] = s->freeslot[p];
		i = p;
	}
	s->freeslot[i] = slot;
}

static int
slot_pop(struct sched *s)
{
	int	top = s->freeslot[0], x;
	size_t	i, c;

	x = s->freeslot[--s->nfreeslot];
	i = 0;
	for (;;) {
		c = 2 * i + 1;
		if (c >= s->nfreeslot)
			break;
		if (c + 1 < s->nfreeslot && s->freeslot[c + 1] <
		    s->freeslot[c])
			c++;
		if (s->freeslot[c] >= x)
			break;
		s->freeslot[i] = s->freeslot[c];
		i = c;
	}
	if (s->nfreeslot > 0)
		s->freeslot[i] = x;
	return (top);
}

/* ---- queues --------------------------------------------------------- */

static void
change_push(struct sched *s, size_t i, enum node_status st)
{
	if (s->chead > 0 && s->chead == s->nchanges)
		s->chead = s->nchanges = 0;
	xgrow(&s->changes, &s->changescap, s->nchanges + 1,
	    sizeof *s->changes);
	s->changes[s->nchanges].node = i;
	s->changes[s->nchanges].status = st;
	s->nchanges++;
}

static void
kill_push(struct sched *s, size_t i, enum reason why)
{
	if (s->khead > 0 && s->khead == s->nkills)
		s->khead = s->nkills = 0;
	xgrow(&s->kills, &s->killscap, s->nkills + 1, sizeof *s->kills);
	s->kills[s->nkills].node = i;
	s->kills[s->nkills].attempt = s->nr[i].attempts;
	s->kills[s->nkills].reason = why;
	s->nkills++;
}

static void
work_push(struct sched *s, size_t i)
{
	xgrow(&s->work, &s->workcap, s->nwork + 1, sizeof *s->work);
	s->work[s->nwork++] = i;
}

/* ---- status --------------------------------------------------------- */

/* Node i's record is about to change: it is listed once for
 * sched_take_touched. (The bitmap grows with the node: nodes may be
 * added to a running DAG.) */
static void
touch(struct sched *s, size_t i)
{
	uint64_t bit = (uint64_t)1 << (i % 64);
	size_t w = s->touched_words;

	if (i / 64 >= w) {
		s->touched_words = i / 64 + 1 > 2 * w ? i / 64 + 1 : 2 * w;
		s->touched_bit = xreallocarray(s->touched_bit,
		    s->touched_words, sizeof *s->touched_bit);
		memset(s->touched_bit + w, 0,
		    (s->touched_words - w) * sizeof *s->touched_bit);
	}
	if (s->touched_bit[i / 64] & bit)
		return;
	s->touched_bit[i / 64] |= bit;
	xgrow(&s->touched, &s->touchedcap, s->ntouched + 1,
	    sizeof *s->touched);
	s->touched[s->ntouched++] = i;
}

static void
set_status(struct sched *s, size_t i, enum node_status st)
{
	struct node_run	*r = &s->nr[i];

	touch(s, i);
	if (r->status == st)
		return;
	s->counts[r->status]--;
	s->counts[st]++;
	r->status = st;
	if (st != NS_RUNNING)
		change_push(s, i, st);
}

static void
set_error(struct node_run *r, char *error)
{
	free(r->error);
	r->error = error;
}

/* Whether node i is a `when: always` node that a cancel lets run. */
static int
spared(const struct sched *s, size_t i)
{
	return (s->halt == H_CANCEL && s->spare_always &&
	    s->m->nodes[i].when == WHEN_ALWAYS);
}

/* Whether node i may start now, as far as stopping goes. */
static int
may_start(const struct sched *s, size_t i)
{
	if (s->halt != H_NONE)
		return (spared(s, i));
	if (s->stopping && s->m->nodes[i].when == WHEN_SUCCESS)
		return (0);
	return (1);
}

static void
wave_advance(struct sched *s)
{
	size_t	i, next;

	while (s->cur_wave < s->g->nwaves && s->wave_left[s->cur_wave] == 0) {
		s->cur_wave++;
		if (s->cur_wave >= s->g->nwaves)
			break;
		for (i = s->parked_head[s->cur_wave]; i != SIZE_MAX;
		    i = next) {
			next = s->parked_next[i];
			if (s->q[i] != Q_PARKED)
				continue;
			s->q[i] = Q_HEAP;
			heap_push(s, &s->ready[s->m->nodes[i].pool_index + 1],
			    i);
		}
		s->parked_head[s->cur_wave] = SIZE_MAX;
	}
}

/* Node i has become final with status st at now. */
static void
node_final(struct sched *s, size_t i, enum node_status st, int64_t now)
{
	const struct node	*nd = &s->m->nodes[i];
	struct node_run		*r = &s->nr[i];
	size_t			 k, d;

	set_status(s, i, st);
	r->finished_ms = now;
	s->q[i] = Q_NONE;
	s->nfinal++;
	if ((st == NS_FAILED || st == NS_TIMED_OUT || st == NS_CANCELLED) &&
	    !nd->allow_failure) {
		s->failed = 1;
		if (s->m->on_failure != ONFAIL_CONTINUE && !s->stopping) {
			s->stopping = 1;
			s->stop_pass = 1;
			s->stop_node = i;
		}
	}
	for (k = s->g->dep_off[i]; k < s->g->dep_off[i + 1]; k++) {
		d = s->g->dep[k];
		if (--s->nunfinal[d] == 0)
			work_push(s, d);
	}
	if (s->m->schedule == SCHEDULE_WAVES && s->g->wave != NULL) {
		s->wave_left[s->g->wave[i]]--;
		wave_advance(s);
	}
}

/* Skip pending node i with reason and error (taken). */
static void
skip(struct sched *s, size_t i, enum reason why, char *error, int64_t now)
{
	struct node_run	*r = &s->nr[i];

	touch(s, i);
	r->reason = why;
	set_error(r, error);
	node_final(s, i, NS_SKIPPED, now);
}

/* End pending node i because the DAG halted: cancelled on a cancel,
 * skipped on a budget or a deadline. */
static void
halt_end(struct sched *s, size_t i, int64_t now)
{
	struct node_run	*r = &s->nr[i];

	touch(s, i);
	if (s->halt == H_CANCEL) {
		r->reason = REASON_CANCELLED;
		set_error(r, xstrdup(s->halt_error));
		node_final(s, i, NS_CANCELLED, now);
		return;
	}
	skip(s, i, s->halt == H_BUDGET ? REASON_BUDGET : REASON_DEADLINE,
	    xstrdup(s->halt_error), now);
}

static char *
stop_error(const struct sched *s)
{
	return (xasprintf("not started: the DAG stopped after '%s' failed",
	    s->m->nodes[s->stop_node].id));
}

/* Queue node i (pending or retrying) to start when its turn comes. */
static void
enqueue(struct sched *s, size_t i)
{
	size_t	w;

	if (s->m->schedule == SCHEDULE_WAVES && s->g->wave != NULL &&
	    (w = s->g->wave[i]) > s->cur_wave) {
		s->q[i] = Q_PARKED;
		s->parked_next[i] = s->parked_head[w];
		s->parked_head[w] = i;
		return;
	}
	s->q[i] = Q_HEAP;
	heap_push(s, &s->ready[s->m->nodes[i].pool_index + 1], i);
}

/*
 * Whether final need j counts as a failure for when: failure: it failed,
 * timed out or was cancelled (with allow_failure too: it did fail,
 * allow_failure only keeps the DAG from failing because of it), or it was
 * skipped because of such a failure above it. A need skipped for another
 * reason (its own when: failure found nothing, the DAG stopped, a budget,
 * the deadline) does not count.
 */
static int
need_failed(const struct sched *s, size_t j)
{
	enum node_status st = s->nr[j].status;

	return (st == NS_FAILED || st == NS_TIMED_OUT || st == NS_CANCELLED ||
	    (st == NS_SKIPPED && s->upfail[j]));
}

/* Whether a need of node i counts as a failure (need_failed). */
static int
any_failed(const struct sched *s, size_t i)
{
	size_t	k;

	for (k = s->g->need_off[i]; k < s->g->need_off[i + 1]; k++)
		if (need_failed(s, s->g->need[k]))
			return (1);
	return (0);
}

/* Every need of pending node i is final: apply its trigger rule. */
static void
judge(struct sched *s, size_t i, int64_t now)
{
	const struct node	*nd = &s->m->nodes[i];
	const struct foreach_spec *fe;
	const struct node_run	*rj;
	size_t			 k, j;
	int			 any = 0;

	if (s->nr[i].status != NS_PENDING)
		return;
	if (s->halt != H_NONE && !spared(s, i)) {
		halt_end(s, i, now);
		return;
	}
	for (k = s->g->need_off[i]; k < s->g->need_off[i + 1]; k++) {
		j = s->g->need[k];
		rj = &s->nr[j];
		switch (nd->when) {
		case WHEN_SUCCESS:
			if (rj->status == NS_SUCCEEDED)
				break;
			if ((rj->status == NS_FAILED ||
			    rj->status == NS_TIMED_OUT) &&
			    s->m->nodes[j].allow_failure)
				break;
			s->upfail[i] = any_failed(s, i);
			skip(s, i, REASON_UPSTREAM_FAILED, xasprintf(
			    "need '%s' %s", s->m->nodes[j].id,
			    rj->status == NS_FAILED ? "failed" :
			    rj->status == NS_TIMED_OUT ? "timed out" :
			    rj->status == NS_CANCELLED ? "was cancelled" :
			    "was skipped"), now);
			return;
		case WHEN_FAILURE:
			if (need_failed(s, j))
				any = 1;
			break;
		case WHEN_ALWAYS:
			break;
		}
	}
	if (nd->when == WHEN_FAILURE && !any) {
		skip(s, i, REASON_NONE, xstrdup("no need failed"), now);
		return;
	}
	if (!may_start(s, i)) {
		skip(s, i, REASON_CANCELLED, stop_error(s), now);
		return;
	}
	if ((fe = node_extra(nd)->foreach) != NULL && !s->expand_as_one) {
		/* a dynamic foreach: its instances are made first (SA_EXPAND),
		 * from the values of the node it expands over */
		j = fe->from;
		if (j >= s->n || s->nr[j].status != NS_SUCCEEDED) {
			s->upfail[i] = j < s->n && need_failed(s, j);
			skip(s, i, REASON_UPSTREAM_FAILED, xasprintf("nothing "
			    "to expand: '%s' did not succeed", j < s->n ?
			    s->m->nodes[j].id : "?"), now);
			return;
		}
		s->q[i] = Q_EXPAND;
		if (s->ehead > 0 && s->ehead == s->nexpands)
			s->ehead = s->nexpands = 0;
		xgrow(&s->expands, &s->expandscap, s->nexpands + 1,
		    sizeof *s->expands);
		s->expands[s->nexpands++] = i;
		return;
	}
	enqueue(s, i);
}

/* The final status for a failure of class why. */
static enum node_status
final_of(enum reason why)
{
	if (why == REASON_TIMEOUT)
		return (NS_TIMED_OUT);
	if (why == REASON_CANCELLED)
		return (NS_CANCELLED);
	return (NS_FAILED);
}

/* Walk the nodes once when the DAG stops (on_failure) or halts. */
static void
stop_walk(struct sched *s, int64_t now)
{
	struct node_run	*r;
	size_t		 i;

	for (i = 0; i < s->n; i++) {
		r = &s->nr[i];
		if (may_start(s, i))
			continue;
		if (r->status == NS_RETRYING) {
			touch(s, i);
			if (s->halt == H_CANCEL) {
				r->reason = REASON_CANCELLED;
				set_error(r, xstrdup(s->halt_error));
				node_final(s, i, NS_CANCELLED, now);
			} else
				node_final(s, i, final_of(r->reason), now);
			continue;
		}
		if (r->status != NS_PENDING)
			continue;
		if (s->halt != H_NONE)
			halt_end(s, i, now);
		else if (s->q[i] != Q_NONE)
			skip(s, i, REASON_CANCELLED, stop_error(s), now);
		/* else: judged when its needs are final */
	}
}

static void
kill_running(struct sched *s, enum reason why)
{
	size_t	i;

	for (i = 0; i < s->n; i++)
		if (s->nr[i].status == NS_RUNNING)
			kill_push(s, i, why);
}

/* Carry every consequence through: judge eligible nodes, walk on stops. */
static void
settle(struct sched *s, int64_t now)
{
	int	abort;

	for (;;) {
		if (s->nwork > 0) {
			judge(s, s->work[--s->nwork], now);
			continue;
		}
		if (s->halt_pass) {
			s->halt_pass = 0;
			s->stop_pass = 0;
			stop_walk(s, now);
			continue;
		}
		if (s->stop_pass) {
			s->stop_pass = 0;
			abort = s->m->on_failure == ONFAIL_ABORT;
			if (abort && s->halt == H_NONE)
				kill_running(s, REASON_CANCELLED);
			stop_walk(s, now);
			continue;
		}
		break;
	}
}

/* Stop starting anything: budget, deadline or cancel. */
static void
halt(struct sched *s, int why, enum dag_status st, char *error)
{
	if (s->halt != H_NONE) {
		free(error);
		return;
	}
	s->halt = why;
	s->end_status = st;
	s->halt_error = error;
	s->halt_pass = 1;
}

/* ---- lifecycle ------------------------------------------------------ */

/* Grow the per-node records from s->n to n nodes, the new ones pending
 * (sched_new, and a dynamic foreach's instances). */
static void
sched_grow(struct sched *s, size_t n)
{
	size_t i;

	s->nr = xreallocarray(s->nr, n, sizeof *s->nr);
	s->blevel = xreallocarray(s->blevel, n, sizeof *s->blevel);
	s->nunfinal = xreallocarray(s->nunfinal, n, sizeof *s->nunfinal);
	s->q = xreallocarray(s->q, n, 1);
	s->killed = xreallocarray(s->killed, n, sizeof *s->killed);
	s->parked_next = xreallocarray(s->parked_next, n,
	    sizeof *s->parked_next);
	s->live = xreallocarray(s->live, n + 1, sizeof *s->live);
	s->nlive = xreallocarray(s->nlive, n + 1, sizeof *s->nlive);
	s->over = xreallocarray(s->over, n + 1, sizeof *s->over);
	s->over_sum = xreallocarray(s->over_sum, n + 1, sizeof *s->over_sum);
	s->upfail = xreallocarray(s->upfail, n + 1, 1);
	for (i = s->n; i < n; i++) {
		memset(&s->nr[i], 0, sizeof s->nr[i]);
		s->nr[i].status = NS_PENDING;
		s->nr[i].exit_code = -1;
		s->nr[i].started_ms = -1;
		s->nr[i].finished_ms = -1;
		s->nr[i].retry_at = -1;
		s->nunfinal[i] = 0;
		s->q[i] = Q_NONE;
		s->killed[i] = REASON_NONE;
		s->parked_next[i] = SIZE_MAX;
		s->live[i] = NULL;
		s->nlive[i] = 0;
		s->over[i] = SIZE_MAX;
		s->over_sum[i] = 0;
		s->upfail[i] = 0;
	}
	s->counts[NS_PENDING] += n - s->n;
	s->n = n;
}

struct sched *
sched_new(const struct manifest *m, const struct sched_config *c)
{
	struct sched		*s;
	const struct graph	*g = &m->graph;
	int64_t			*w, e;
	size_t			 i, k, t, n = m->nnodes, p;

	s = xcalloc(1, sizeof *s);
	s->m = m;
	s->g = g;
	s->max_parallel = c != NULL && c->max_parallel > 0 ?
	    c->max_parallel : 1;
	s->expand_as_one = c != NULL && c->expand_as_one;
	sched_grow(s, n);	/* every node pending */

	/* Bottom levels with the manifest's or the learned estimates. */
	w = xcalloc(n, sizeof *w);
	for (i = 0; i < n; i++) {
		e = m->nodes[i].estimate_ms;
		if (e <= 0 && c != NULL && c->estimate_ms != NULL)
			e = c->estimate_ms[i];
		w[i] = e > 0 ? e : 1;
	}
	for (t = n; t > 0; t--) {
		i = g->topo[t - 1];
		e = 0;
		for (k = g->dep_off[i]; k < g->dep_off[i + 1]; k++)
			if (s->blevel[g->dep[k]] > e)
				e = s->blevel[g->dep[k]];
		s->blevel[i] = e > INT64_MAX - w[i] ? INT64_MAX : e + w[i];
	}
	free(w);

	s->nheaps = m->npools + 1;
	s->ready = xcalloc(s->nheaps, sizeof *s->ready);
	s->pool_running = xcalloc(s->nheaps, sizeof *s->pool_running);
	s->freeslot = xcalloc(s->max_parallel, sizeof *s->freeslot);
	for (p = 0; p < (size_t)s->max_parallel; p++)
		s->freeslot[s->nfreeslot++] = (int)p;	/* sorted: a heap */
	s->wave_left = xcalloc(g->nwaves + 1, sizeof *s->wave_left);
	s->parked_head = xcalloc(g->nwaves + 1, sizeof *s->parked_head);
	for (p = 0; p <= g->nwaves; p++)
		s->parked_head[p] = SIZE_MAX;
	s->deadline_at = INT64_MAX;
	s->end_status = DS_RUNNING;
	s->dag_over = SIZE_MAX;
	s->rng = c != NULL && c->seed != 0 ? c->seed : 0x9e3779b97f4a7c15ULL;
	return (s);
}

void
sched_free(struct sched *s)
{
	size_t	i, k;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++) {
		free(s->nr[i].error);
		free(s->nr[i].stderr_tail);
		for (k = 0; k < s->nr[i].nmetrics; k++)
			free(s->nr[i].metrics[k].name);
		free(s->nr[i].metrics);
		free(s->nr[i].hist);
		metrics_free(s->live[i], s->nlive[i]);
	}
	free(s->live);
	free(s->nlive);
	metrics_free(s->live_total, s->nlive_total);
	free(s->over);
	free(s->over_sum);
	free(s->upfail);
	for (k = 0; k < s->nmetrics; k++)
		free(s->metrics[k].name);
	free(s->metrics);
	for (k = 0; k < s->nheaps; k++)
		free(s->ready[k].v);
	free(s->ready);
	free(s->pool_running);
	free(s->nr);
	free(s->touched_bit);
	free(s->touched);
	free(s->blevel);
	free(s->nunfinal);
	free(s->q);
	free(s->killed);
	free(s->timers);
	free(s->freeslot);
	free(s->wave_left);
	free(s->parked_head);
	free(s->parked_next);
	free(s->work);
	free(s->changes);
	free(s->kills);
	free(s->expands);
	free(s->halt_error);
	free(s);
}

void
sched_preset_final(struct sched *s, size_t i, enum node_status st,
    int attempts, int64_t duration_ms)
{
	struct node_run	*r;

	if (s->begun || i >= s->n || s->nr[i].status != NS_PENDING ||
	    !node_status_final(st))
		return;
	r = &s->nr[i];
	touch(s, i);
	r->attempts = attempts;
	r->exit_code = st == NS_SUCCEEDED ? 0 : -1;
	/* Made relative to sched_begin's now there: ended at the start. */
	r->started_ms = duration_ms > 0 ? -duration_ms : 0;
	s->counts[NS_PENDING]--;
	s->counts[st]++;
	r->status = st;
	s->nfinal++;
}

void
sched_preset_lost(struct sched *s, size_t i, int attempts, const char *why)
{
	if (s->begun || i >= s->n || s->nr[i].status != NS_PENDING)
		return;
	sched_preset_final(s, i, attempts > 0 ? NS_FAILED : NS_SKIPPED,
	    attempts, 0);
	s->nr[i].reason = attempts > 0 ? REASON_LOST : REASON_UPSTREAM_FAILED;
	free(s->nr[i].error);
	s->nr[i].error = xstrdup(attempts > 0 ? why : "not started: the job "
	    "was lost");
}

void
sched_preset_succeeded(struct sched *s, size_t i, int attempts,
    int64_t duration_ms)
{
	sched_preset_final(s, i, NS_SUCCEEDED, attempts, duration_ms);
}

void
sched_preset_end(struct sched *s, enum dag_status end)
{
	if (s->begun)
		return;
	if (end == DS_FAILED)
		s->failed = 1;
	else if (end != DS_SUCCEEDED) {
		/* as a halt that already ran: its status is the DAG's */
		s->halt = H_CANCEL;
		s->end_status = end;
	}
}

void
sched_preset_attempts(struct sched *s, size_t i, int attempts)
{
	if (s->begun || i >= s->n || s->nr[i].status != NS_PENDING)
		return;
	touch(s, i);
	s->nr[i].attempts = attempts > 0 ? attempts : 0;
}

void
sched_begin(struct sched *s, int64_t now)
{
	const struct graph	*g = s->g;
	struct node_run		*r;
	size_t			 i, k;

	if (s->begun)
		return;
	s->begun = 1;
	s->begin_ms = now;
	if (s->m->deadline_ms > 0)
		s->deadline_at = now > INT64_MAX - s->m->deadline_ms ?
		    INT64_MAX : now + s->m->deadline_ms;
	for (i = 0; i < s->n; i++) {
		r = &s->nr[i];
		if (node_status_final(r->status)) {
			/* preset: ended before this run began */
			touch(s, i);
			r->started_ms += now;
			r->finished_ms = now;
			continue;
		}
		if (g->wave != NULL)
			s->wave_left[g->wave[i]]++;
		for (k = g->need_off[i]; k < g->need_off[i + 1]; k++)
			if (!node_status_final(s->nr[g->need[k]].status))
				s->nunfinal[i]++;
	}
	if (s->m->schedule == SCHEDULE_WAVES)
		wave_advance(s);
	for (i = s->n; i > 0; i--)
		if (s->nr[i - 1].status == NS_PENDING &&
		    s->nunfinal[i - 1] == 0)
			work_push(s, i - 1);
	settle(s, now);
}

void
sched_preset_times(struct sched *s, size_t i, int64_t started_ms,
    int64_t span_ms)
{
	struct node_run	*r;

	if (!s->begun || i >= s->n || started_ms < 0)
		return;
	r = &s->nr[i];
	touch(s, i);
	if (r->status == NS_SUCCEEDED && r->nhist == 0 && span_ms >= 0) {
		r->started_ms = started_ms;
		r->finished_ms = started_ms > INT64_MAX - span_ms ? INT64_MAX :
		    started_ms + span_ms;
	} else if (r->status == NS_PENDING && r->nhist == 0)
		r->started_ms = started_ms;
}

/* ---- events --------------------------------------------------------- */

/* Handle the timers and the deadline that are due at now. */
static void
tick(struct sched *s, int64_t now)
{
	struct timer	t;
	char		*d;

	while (s->ntimers > 0 && s->timers[0].at <= now) {
		t = timer_pop(s);
		if (!timer_valid(s, &t))
			continue;
		if (t.kind == T_RETRY) {
			if (may_start(s, t.node))
				enqueue(s, t.node);
		} else
			kill_push(s, t.node, REASON_TIMEOUT);
	}
	if (!s->deadline_done && now >= s->deadline_at) {
		s->deadline_done = 1;
		/* a wall for everything, the nodes a cancel spared too */
		if (s->spare_always) {
			s->spare_always = 0;
			s->halt_pass = 1;
		}
		kill_running(s, REASON_DEADLINE);
		d = sched_fmt_duration(s->m->deadline_ms);
		halt(s, H_DEADLINE, DS_TIMED_OUT,
		    xasprintf("not started: deadline %s reached", d));
		free(d);
	}
	settle(s, now);
}

/* The best startable node over the heap tops, or SIZE_MAX; with take, it
 * leaves its heap. */
static size_t
best_ready(struct sched *s, bool take)
{
	struct heap	*h;
	size_t		 k, best = SIZE_MAX, bestk = 0, top;
	int		 cap;

	for (k = 0; k < s->nheaps; k++) {
		h = &s->ready[k];
		if (k > 0) {
			cap = s->m->pools[k - 1].cap;
			if (cap < 1)
				cap = 1;
			if (s->pool_running[k] >= cap)
				continue;
		}
		while (h->n > 0) {
			top = h->v[0];
			if (s->q[top] == Q_HEAP &&
			    (s->nr[top].status == NS_PENDING ||
			    s->nr[top].status == NS_RETRYING))
				break;
			heap_pop(s, h);
		}
		if (h->n == 0)
			continue;
		if (best == SIZE_MAX || before(s, h->v[0], best)) {
			best = h->v[0];
			bestk = k;
		}
	}
	if (best != SIZE_MAX && take)
		heap_pop(s, &s->ready[bestk]);
	return (best);
}

static size_t
pick(struct sched *s)
{
	return (best_ready(s, true));
}

bool
sched_startable(struct sched *s)
{
	if (!s->begun || (s->halt != H_NONE && !s->spare_always) ||
	    s->nrunning >= s->max_parallel)
		return (false);
	return (best_ready(s, false) != SIZE_MAX);
}

static void
start(struct sched *s, size_t i, int64_t now, struct sched_action *a)
{
	const struct node	*nd = &s->m->nodes[i];
	struct node_run		*r = &s->nr[i];
	struct attempt		*at;
	int			 slot;

	slot = slot_pop(s);
	touch(s, i);
	s->q[i] = Q_NONE;
	s->killed[i] = REASON_NONE;
	r->attempts++;
	if (r->started_ms < 0)
		r->started_ms = now;
	r->retry_at = -1;
	set_status(s, i, NS_RUNNING);
	r->hist = xreallocarray(r->hist, r->nhist + 1, sizeof *r->hist);
	at = &r->hist[r->nhist++];
	at->start_ms = now;
	at->end_ms = -1;
	at->reason = REASON_NONE;
	at->exit_code = -1;
	at->signal = 0;
	at->slot = slot;
	s->nrunning++;
	s->pool_running[nd->pool_index + 1]++;
	if (nd->timeout_ms > 0)
		timer_push(s, now > INT64_MAX - nd->timeout_ms ? INT64_MAX :
		    now + nd->timeout_ms, i, r->attempts, T_TIMEOUT);
	memset(a, 0, sizeof *a);
	a->kind = SA_START;
	a->node = i;
	a->attempt = r->attempts;
	a->slot = slot;
	a->status = NS_RUNNING;
}

int
sched_next(struct sched *s, int64_t now, int slots, struct sched_action *a)
{
	struct kill	*k;
	size_t		 i;
	int		 ret = 0;

	if (!s->begun)
		return (0);
	tick(s, now);
	if (s->chead < s->nchanges) {
		memset(a, 0, sizeof *a);
		a->kind = SA_CHANGE;
		a->node = s->changes[s->chead].node;
		a->status = s->changes[s->chead].status;
		a->attempt = s->nr[a->node].attempts;
		a->reason = s->nr[a->node].reason;
		s->chead++;
		return (1);
	}
	while (s->ehead < s->nexpands) {
		i = s->expands[s->ehead++];
		if (!sched_expanding(s, i))
			continue;
		memset(a, 0, sizeof *a);
		a->kind = SA_EXPAND;
		a->node = i;
		a->status = NS_PENDING;
		ret = 1;
		goto out;
	}
	while (s->khead < s->nkills) {
		k = &s->kills[s->khead++];
		if (s->nr[k->node].status != NS_RUNNING ||
		    s->nr[k->node].attempts != k->attempt ||
		    s->killed[k->node] != REASON_NONE)
			continue;
		s->killed[k->node] = k->reason;
		memset(a, 0, sizeof *a);
		a->kind = SA_KILL;
		a->node = k->node;
		a->attempt = k->attempt;
		a->reason = k->reason;
		a->slot = s->nr[k->node].hist[s->nr[k->node].nhist - 1].slot;
		ret = 1;
		goto out;
	}
	if (slots <= 0 || (s->halt != H_NONE && !s->spare_always) ||
	    s->nrunning >= s->max_parallel)
		goto out;
	if ((i = pick(s)) == SIZE_MAX)
		goto out;
	start(s, i, now, a);
	ret = 1;
out:
	timers_clean(s);
	return (ret);
}

void
sched_unstarted(struct sched *s, size_t i, int64_t now)
{
	const struct node	*nd;
	struct node_run		*r;

	if (i >= s->n || s->nr[i].status != NS_RUNNING || s->nr[i].nhist == 0)
		return;
	nd = &s->m->nodes[i];
	r = &s->nr[i];
	touch(s, i);
	/* as if start() had not run: its timeout timer no longer matches
	 * the attempt number and is dropped */
	r->nhist--;
	sched_live_clear(s, i);
	slot_push(s, r->hist[r->nhist].slot);
	s->nrunning--;
	s->pool_running[nd->pool_index + 1]--;
	r->attempts--;
	s->killed[i] = REASON_NONE;
	r->exit_code = 0;
	r->signal = 0;
	r->reason = REASON_NONE;
	set_error(r, NULL);
	node_final(s, i, NS_SUCCEEDED, now);
	settle(s, now);
	timers_clean(s);
}

/* The DAG's sums (ended attempts and running ones' reports) against its
 * budget: once reached, nothing starts, and under on_failure: abort what
 * runs is killed. */
static void
dag_budget_check(struct sched *s)
{
	size_t	k;

	if (s->halt != H_NONE || (k = sched_dag_over(s)) == SIZE_MAX)
		return;
	s->dag_over = k;
	if (s->m->on_failure == ONFAIL_ABORT)
		kill_running(s, REASON_BUDGET);
	halt(s, H_BUDGET, DS_BUDGET_EXCEEDED, xasprintf(
	    "not started: budget '%s' reached", s->m->budget[k].name));
}

void
sched_progress(struct sched *s, size_t i, int64_t now,
    const struct metric *mv, size_t n)
{
	size_t	k;
	double	old, sum;

	if (!s->begun || i >= s->n || s->nr[i].status != NS_RUNNING)
		return;
	for (k = 0; k < n; k++) {
		if (mv[k].name == NULL)
			continue;
		old = metric_get(s->live[i], s->nlive[i], mv[k].name);
		metric_add(&s->live[i], &s->nlive[i], mv[k].name,
		    mv[k].value - old);
		metric_add(&s->live_total, &s->nlive_total, mv[k].name,
		    mv[k].value - old);
	}
	if (s->over[i] == SIZE_MAX &&
	    (k = sched_node_over(s, i, &sum)) != SIZE_MAX) {
		s->over[i] = k;
		s->over_sum[i] = sum;
		kill_push(s, i, REASON_BUDGET);
	}
	dag_budget_check(s);
	settle(s, now);
	timers_clean(s);
}

void
sched_ended(struct sched *s, size_t i, int64_t now,
    const struct attempt_end *e)
{
	const struct node	*nd;
	struct node_run		*r;
	struct attempt		*at;
	enum reason		 why;
	size_t			 k;
	double			 sum;
	int64_t			 delay;

	if (i >= s->n || s->nr[i].status != NS_RUNNING)
		return;
	nd = &s->m->nodes[i];
	r = &s->nr[i];
	touch(s, i);
	why = e->reason;
	if (s->killed[i] != REASON_NONE)
		why = s->killed[i];	/* a kill we asked for decides */
	at = &r->hist[r->nhist - 1];
	at->end_ms = now;
	at->reason = why;
	at->exit_code = e->exit_code;
	at->signal = e->signal;
	slot_push(s, at->slot);
	s->nrunning--;
	s->pool_running[nd->pool_index + 1]--;
	r->exit_code = e->exit_code;
	r->signal = e->signal;
	r->cpu_ms += e->cpu_ms;
	if (e->max_rss_kb > r->max_rss_kb)
		r->max_rss_kb = e->max_rss_kb;
	/* the attempt's final sums replace what it reported while it ran */
	sched_live_clear(s, i);
	for (k = 0; k < e->nmetrics; k++) {
		if (e->metrics[k].name == NULL)
			continue;
		metric_add(&r->metrics, &r->nmetrics, e->metrics[k].name,
		    e->metrics[k].value);
		metric_add(&s->metrics, &s->nmetrics, e->metrics[k].name,
		    e->metrics[k].value);
	}
	/* a node whose sums reached its budget fails for it, also when it
	 * ended before it could be killed (unless the DAG ended it) */
	if ((k = sched_node_over(s, i, &sum)) != SIZE_MAX &&
	    why != REASON_CANCELLED && why != REASON_DEADLINE) {
		if (s->over[i] == SIZE_MAX) {
			s->over[i] = k;
			s->over_sum[i] = sum;
		}
		why = REASON_BUDGET;
	}
	dag_budget_check(s);
	s->killed[i] = REASON_NONE;
	/* a failure's last lines of stderr, shown with its error */
	free(r->stderr_tail);
	r->stderr_tail = why != REASON_NONE && e->stderr_tail != NULL ?
	    xstrdup(e->stderr_tail) : NULL;

	if (why == REASON_NONE) {
		r->reason = REASON_NONE;
		set_error(r, NULL);
		node_final(s, i, NS_SUCCEEDED, now);
		goto done;
	}
	r->reason = why;
	if (e->error != NULL && why == e->reason)
		set_error(r, xstrdup(e->error));
	else
		set_error(r, sched_end_error(s, i, why, e));
	if (r->attempts < 1 + (nd->retries > 0 ? nd->retries : 0) &&
	    sched_retryable(nd, why, e->exit_code) && may_start(s, i)) {
		delay = sched_retry_delay(s, nd, r->attempts);
		if (e->retry_after_ms > 0 && why == e->reason) {
			int64_t ra = e->retry_after_ms;

			if (nd->max_retry_delay_ms > 0 &&
			    ra > nd->max_retry_delay_ms)
				ra = nd->max_retry_delay_ms;
			if (ra > delay)
				delay = ra;
		}
		r->retry_at = now > INT64_MAX - delay ? INT64_MAX : now + delay;
		set_status(s, i, NS_RETRYING);
		timer_push(s, r->retry_at, i, r->attempts, T_RETRY);
		goto done;
	}
	node_final(s, i, final_of(why), now);
done:
	settle(s, now);
	timers_clean(s);
}

/* Cancel (spare: let `when: always` nodes run) or interrupt. A cancel
 * without spare after one with it kills and ends the spared nodes too. */
static void
cancel_halt(struct sched *s, int64_t now, enum dag_status why, int spare)
{
	size_t	i;

	if (why != DS_INTERRUPTED)
		why = DS_CANCELLED;
	if (s->halt == H_CANCEL && s->spare_always && !spare) {
		s->spare_always = 0;
		s->halt_pass = 1;
	} else {
		s->spare_always = spare && s->halt == H_NONE;
		halt(s, H_CANCEL, why, xstrdup(why == DS_INTERRUPTED ?
		    "interrupted" : "cancelled"));
	}
	for (i = 0; i < s->n; i++)
		if (s->nr[i].status == NS_RUNNING && !spared(s, i))
			kill_push(s, i, REASON_CANCELLED);
	if (!s->begun)
		return;
	settle(s, now);
	timers_clean(s);
}

void
sched_cancel(struct sched *s, int64_t now, enum dag_status why)
{
	cancel_halt(s, now, why, 0);
}

void
sched_stop(struct sched *s, int64_t now)
{
	cancel_halt(s, now, DS_CANCELLED, 1);
}

bool
sched_expanding(const struct sched *s, size_t i)
{
	return i < s->n && s->q[i] == Q_EXPAND && s->nr[i].status == NS_PENDING;
}

void
sched_expand(struct sched *s, size_t t, size_t nitems, int64_t now,
    enum reason why, const char *error)
{
	const struct graph	*g = s->g;
	struct node_run		*r;
	size_t			 old = s->n, i, k, d;

	if (!sched_expanding(s, t))
		return;
	s->q[t] = Q_NONE;
	r = &s->nr[t];
	if (why != REASON_NONE || nitems == 0) {
		r->reason = why != REASON_NONE ? why : REASON_EMPTY;
		set_error(r, xstrdup(error != NULL ? error : "no items"));
		node_final(s, t, r->reason == REASON_EMPTY ? NS_SKIPPED :
		    NS_FAILED, now);
		goto out;
	}
	/* the manifest holds the instances: the first at t, the others
	 * from old on, with t's needs, dependents and so bottom level */
	sched_grow(s, s->m->nnodes);
	touch(s, t);			/* its id and item are the first's */
	for (i = old; i < s->n; i++) {
		touch(s, i);
		s->blevel[i] = s->blevel[t];
		if (g->wave != NULL)
			s->wave_left[g->wave[i]]++;
	}
	for (k = g->dep_off[t]; k < g->dep_off[t + 1]; k++) {
		d = g->dep[k];
		if (!node_status_final(s->nr[d].status))
			s->nunfinal[d] += s->n - old;
	}
	for (i = s->n; i > old; i--)
		work_push(s, i - 1);
	work_push(s, t);
out:
	settle(s, now);
	timers_clean(s);
}

/* ---- queries -------------------------------------------------------- */

int64_t
sched_wakeup(const struct sched *s)
{
	int64_t	t = INT64_MAX;

	if (!s->begun || sched_finished(s))
		return (INT64_MAX);
	if (s->ntimers > 0)
		t = s->timers[0].at;
	if (!s->deadline_done && s->deadline_at < t)
		t = s->deadline_at;
	return (t);
}

bool
sched_finished(const struct sched *s)
{
	return (s->begun && s->nfinal == s->n && s->nrunning == 0 &&
	    s->chead == s->nchanges);
}

enum dag_status
sched_status(const struct sched *s)
{
	if (!s->begun)
		return (DS_QUEUED);
	if (!sched_finished(s))
		return (DS_RUNNING);
	if (s->halt != H_NONE)
		return (s->end_status);
	return (s->failed ? DS_FAILED : DS_SUCCEEDED);
}

const struct node_run *
sched_node(const struct sched *s, size_t i)
{
	return (&s->nr[i]);
}

const struct node_run **
sched_runs(const struct sched *s)
{
	const struct node_run **runs;
	size_t i, n = s->m->nnodes;

	runs = xcalloc(n > 0 ? n : 1, sizeof *runs);
	for (i = 0; i < n; i++)
		runs[i] = sched_node(s, i);
	return runs;
}

void
sched_take_touched(struct sched *s, void (*fn)(void *, size_t), void *arg)
{
	size_t k, i;

	for (k = 0; k < s->ntouched; k++) {
		i = s->touched[k];
		s->touched_bit[i / 64] &= ~((uint64_t)1 << (i % 64));
		if (fn != NULL)
			fn(arg, i);
	}
	s->ntouched = 0;
}

const struct metric *
sched_metrics(const struct sched *s, size_t *n)
{
	*n = s->nmetrics;
	return (s->metrics);
}

void
sched_counts(const struct sched *s, size_t counts[NS__COUNT])
{
	memcpy(counts, s->counts, sizeof s->counts);
}
