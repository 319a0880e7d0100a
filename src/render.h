/* Text views of a DAG for people and tools: DOT, waves, the summary table. */
#ifndef DAGEXEC_RENDER_H
#define DAGEXEC_RENDER_H

#include <stdio.h>

#include "manifest.h"
#include "sched.h"
#include "state.h"

/* Graphviz DOT: a header, one node line each, one "a" -> "b"; line an edge
 * (a before b). With s, nodes are coloured by their status. */
void render_dot(FILE *fp, const struct manifest *m, const struct sched *s);
/* render_dot with the nodes coloured by their status in a state.yaml read
 * back (nodes it does not name stay white). */
void render_dot_doc(FILE *fp, const struct manifest *m,
    const struct state_doc *d);
/* One line a wave: "wave 0: id id ...", ids in manifest order. */
void render_waves(FILE *fp, const struct manifest *m);
/* The summary table: node, status, attempts, time, cpu, max RSS, metrics,
 * error (cut so a line fits 132 columns); failures first; totals last.
 * A node that sj (may be NULL) says is reused shows "reused" as its status.
 * duration_ms < 0: unknown. */
void render_summary(FILE *fp, const struct manifest *m, const struct sched *s,
    const struct state_job *sj, int64_t duration_ms);
/* Where a node of status s comes in the summary: failed and timed out 0,
 * cancelled 1, skipped 2, the rest 3. */
int render_rank(enum node_status s);
/* ms as the summary writes a time: "1.23s", "45.6s", "12m", "-" when
 * ms < 0. */
void render_ms(int64_t ms, char *buf, size_t len);
/* "name=value name=value" of a metric list, new ("" for none). */
char *render_metrics(const struct metric *v, size_t n);

#endif
