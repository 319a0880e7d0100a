/* The prediction of a run (interface §8 "Plan"): the scheduler a run uses
 * (sched.c) driven on a simulated clock, each attempt lasting its node's
 * expected duration, to read off the makespan, every node's predicted start
 * and end, and the chain of nodes that decides the makespan. Pure: no
 * clock, no files, no printing. */
#ifndef DAGEXEC_PLAN_H
#define DAGEXEC_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "manifest.h"
#include "sched.h"
#include "state.h"

#define PLAN_UNKNOWN_MS	1000	/* a node with no estimate and no history */

/* Where a node's predicted duration comes from. */
enum plan_source {
	PLAN_ESTIMATE,		/* the manifest's `estimate` */
	PLAN_HISTORY,		/* learned from earlier runs */
	PLAN_UNKNOWN,		/* neither: PLAN_UNKNOWN_MS */
	PLAN_REUSED		/* reused by a retry: 0 ms, no slot */
};

struct plan;

/* The duration of each node of m into dur[i] (ms) and its source into
 * src[i] (src may be NULL): the manifest's estimate, else learned[i] when
 * > 0 (learned may be NULL), else PLAN_UNKNOWN_MS; 0 where reused[i] is
 * set (reused may be NULL). Returns how many nodes are PLAN_UNKNOWN. */
size_t plan_durations(const struct manifest *m, const int64_t *learned,
    const unsigned char *reused, int64_t *dur, enum plan_source *src);
/* The nodes a retry of a run whose final state is d would reuse: reused[i]
 * set when node i succeeded there and every need of it is reused too.
 * Nodes of d that m does not have are ignored. Returns how many. */
size_t plan_reusable(const struct manifest *m, const struct state_doc *d,
    unsigned char *reused);
/* The cap on nodes at once that a run of m with -j jobs takes: the smaller
 * of jobs and the manifest's max_parallel. A manifest without max_parallel
 * is not capped at this host's CPU count, as a run would be: the question
 * is "what if jobs ran at once". */
int plan_cap(const struct manifest *m, int jobs);
/* Simulate a run of m (analysed; it must outlive the plan) with at most
 * parallelism (>= 1) nodes at once, the cap the run takes (max_parallel
 * and -j already combined), learned durations and reused nodes as for
 * plan_durations (both copied; NULL: none). Returns a new plan, or NULL
 * with *cause when the scheduler stops deciding (a bug). */
struct plan *plan_new(const struct manifest *m, int parallelism,
    const int64_t *learned, const unsigned char *reused, char **cause);
/* Free the plan; NULL is fine. */
void plan_free(struct plan *p);
/* The cap the plan was simulated with. */
int plan_parallelism(const struct plan *p);
/* From the start to the end of the last node (ms). */
int64_t plan_makespan(const struct plan *p);
/* The time all attempts of the simulated run take together (ms): over the
 * makespan, the average number of nodes running at once. */
int64_t plan_busy(const struct plan *p);
/* How many nodes have neither an estimate nor a history. */
size_t plan_unknown(const struct plan *p);
/* The DAG's predicted end: succeeded, or what an estimate past a timeout
 * or the deadline makes of it (timed_out, failed). */
enum dag_status plan_status(const struct plan *p);
/* Node i's predicted duration and its source. */
int64_t plan_node_duration(const struct plan *p, size_t i,
    enum plan_source *src);
/* Node i's predicted start (its first attempt's) and end; false, and both
 * -1, when it would never start (skipped). A reused node starts and ends
 * at 0. */
bool plan_node_times(const struct plan *p, size_t i, int64_t *start,
    int64_t *end);
/* The critical path of the simulated run, first node first (*n of them,
 * owned by the plan): from the node that ends last, back through what it
 * waited for (the need that ended last, or, when its needs had ended
 * before, the node whose end let it start: a freed slot or pool place).
 * With slots enough, the heaviest chain of needs. */
const size_t *plan_critical(const struct plan *p, size_t *n);
/* The scheduler after the simulation, for the timeline renderer (times are
 * ms from the predicted start, 0). Owned by the plan. */
const struct sched *plan_sched(const struct plan *p);

#endif
