/* The scheduling policy of one DAG: ready set, priorities, caps, pools,
 * retries and backoff, failure strategies, trigger rules, budgets, waves,
 * deadline. Pure: no system calls, no clock. The caller feeds it events
 * (an attempt ended, a metric arrived, the time is now T) and carries out
 * the actions it returns (start X, kill Y), and calls again no later than
 * sched_wakeup(). Times are milliseconds on the caller's monotonic clock. */
#ifndef DAGEXEC_SCHED_H
#define DAGEXEC_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "manifest.h"
#include "run.h"

enum sched_action_kind {
	SA_START,		/* start attempt `attempt` of `node` in `slot` */
	SA_KILL,		/* end the running attempt of `node` now
				   (SIGTERM, then SIGKILL); `reason` says why:
				   timeout, deadline, cancelled */
	SA_CHANGE,		/* `node` changed status (for the journal and
				   the log): see sched_node(node)->status */
	SA_EXPAND		/* `node`, a dynamic foreach, is due: its
				   instances are to be made (manifest_expand)
				   and told with sched_expand */
};

struct sched_action {
	enum sched_action_kind	kind;
	size_t			node;
	int			attempt;	/* SA_START: 1, 2, ... */
	int			slot;		/* SA_START */
	enum reason		reason;		/* SA_KILL; SA_CHANGE: the
						   node's reason now */
	enum node_status	status;		/* SA_CHANGE: the new status
						   (the node may have changed
						   again since) */
};

struct sched_config {
	int		 max_parallel;	/* cap for this DAG (>= 1): the
					   smaller of -j and max_parallel */
	const int64_t	*estimate_ms;	/* per node, learned estimates used
					   where the manifest has none
					   (<= 0: unknown); may be NULL */
	bool		 expand_as_one;	/* a dynamic foreach starts as one
					   node, never SA_EXPAND (plan: its
					   items are not known) */
	uint64_t	 seed;		/* of the retry delays' jitter (the
					   same seed, the same delays) */
};

struct sched;

/* A scheduler for m (which must outlive it; m->graph analysed). */
struct sched *sched_new(const struct manifest *m, const struct sched_config *c);
/* Free the scheduler and its node records. NULL is fine. */
void sched_free(struct sched *s);

/* Before sched_begin, for a resumed job: node i already succeeded in an
 * earlier run after `attempts` attempts (it will not run again). */
void sched_preset_succeeded(struct sched *s, size_t i, int attempts,
    int64_t duration_ms);
/* Before sched_begin, for a job whose journal says it finished: node i
 * ended st (a final status) after `attempts` attempts; and the DAG ended
 * as `end` (sched_preset_end). Nothing of it runs again. */
void sched_preset_final(struct sched *s, size_t i, enum node_status st,
    int attempts, int64_t duration_ms);
void sched_preset_end(struct sched *s, enum dag_status end);
/* Before sched_begin, for a job whose runner kept dying: node i ends
 * failed, reason lost, error why (skipped when it never started). */
void sched_preset_lost(struct sched *s, size_t i, int attempts,
    const char *why);
/* Before sched_begin, for a resumed job: node i has already used `attempts`
 * attempts (the next start is attempts+1; retries still count from there). */
void sched_preset_attempts(struct sched *s, size_t i, int attempts);

/* The DAG starts at now (the deadline counts from here). */
void sched_begin(struct sched *s, int64_t now);
/* After sched_begin, for a resumed job: node i first started at started_ms
 * (on now's clock, before it), in an earlier run. A node that succeeded
 * there ended span_ms later; a node that will run again keeps this start,
 * so its times go from its first attempt to its last. */
void sched_preset_times(struct sched *s, size_t i, int64_t started_ms,
    int64_t span_ms);
/* The next thing to do at time now: 1 and *a filled, or 0 when nothing is to
 * be done until another event or sched_wakeup(). `slots` is how many more
 * nodes the caller may start (watch's global -j); pass INT_MAX for no limit.
 * SA_START counts against it: pass the remaining number on each call. */
int sched_next(struct sched *s, int64_t now, int slots, struct sched_action *a);
/* Would sched_next start a node now, given a slot? (Stale entries of the
 * ready set are dropped; nothing else changes.) */
bool sched_startable(struct sched *s);
/* The running attempt of node i ended at now. */
void sched_ended(struct sched *s, size_t i, int64_t now,
    const struct attempt_end *e);
/* The running attempt of node i has reported these metric sums so far
 * (this attempt's totals, each report replacing the last; sched_ended
 * takes the final ones). A node whose sums reach its own budget is killed
 * (SA_KILL, reason budget); the DAG's budget reached stops new starts, and
 * under on_failure: abort kills what runs. */
void sched_progress(struct sched *s, size_t i, int64_t now,
    const struct metric *m, size_t n);
/* Stop the DAG: start nothing more, kill what runs (SA_KILL with reason
 * cancelled), and end as `why` (DS_CANCELLED or DS_INTERRUPTED). */
void sched_cancel(struct sched *s, int64_t now, enum dag_status why);
/* A cancel that lets the `when: always` nodes run (Argo's stop): kill what
 * runs but them, start nothing new but them (each once its needs have
 * ended), and end as DS_CANCELLED. A later sched_cancel, or the deadline,
 * ends them too. */
void sched_stop(struct sched *s, int64_t now);
/* The attempt that SA_START just handed out for node i never began: node i
 * succeeded at now without an attempt (a cache hit). Its slot, its place in
 * its pool and the attempt number are given back; its dependents may start. */
void sched_unstarted(struct sched *s, size_t i, int64_t now);
/* Whether node i (a dynamic foreach) waits for its expansion: SA_EXPAND was
 * or will be handed out and nothing ended it meanwhile (a stop). */
bool sched_expanding(const struct sched *s, size_t i);
/* Node t was expanded into nitems instances: the manifest (m of sched_new)
 * holds them already, the first at t, the others at its end. With nitems 0
 * or why set (not REASON_NONE) there are none: t ends skipped (why
 * REASON_EMPTY, or none given) or failed (another why), error saying why.
 * Ignored unless sched_expanding(t). */
void sched_expand(struct sched *s, size_t t, size_t nitems, int64_t now,
    enum reason why, const char *error);
/* The earliest time at which sched_next may have something to do without
 * another event (a retry, a timeout, the deadline); INT64_MAX if none. */
int64_t sched_wakeup(const struct sched *s);
/* True when no attempt runs and nothing will ever start: the DAG is over
 * (once sched_next has handed out every SA_CHANGE). */
bool sched_finished(const struct sched *s);
/* The DAG's status: DS_QUEUED before sched_begin, DS_RUNNING until
 * sched_finished, then the final status. */
enum dag_status sched_status(const struct sched *s);
/* The record of node i. */
const struct node_run *sched_node(const struct sched *s, size_t i);
/* Every node's record, as a new array of m->nnodes pointers (into s) that
 * the caller frees: the form state, timeline and trace render from. */
const struct node_run **sched_runs(const struct sched *s);
/* fn(arg, i) once for each node i whose record changed since the last
 * call (or since sched_new), in no particular order; the list is emptied.
 * fn NULL: only empty it. */
void sched_take_touched(struct sched *s, void (*fn)(void *, size_t),
    void *arg);
/* The DAG's metric sums (*n entries). */
const struct metric *sched_metrics(const struct sched *s, size_t *n);
/* Counts of nodes per status, indexed by enum node_status. */
void sched_counts(const struct sched *s, size_t counts[NS__COUNT]);
/* The failure class of a process that exited with exit_code (signal 0) or was
 * killed by signal: exit, signal, rlimit_cpu (SIGXCPU), rlimit_fsize
 * (SIGXFSZ); REASON_NONE for exit 0. */
enum reason sched_classify(int exit_code, int signal);

#endif
