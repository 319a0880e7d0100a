/* Learned estimates: a file per DAG name keeps, per node id, a moving
 * average of the node's successful durations, so that the scheduler knows
 * the critical path from a DAG's second run on, and `plan` can predict.
 * `watch` keeps them in SPOOL/users/UID/history/NAME.yaml, `run` in
 * $XDG_STATE_HOME/dagexec/history/NAME; one format for both. */
#ifndef DAGEXEC_HISTORY_H
#define DAGEXEC_HISTORY_H

#include <stdint.h>

#include "manifest.h"
#include "sched.h"

#define HISTORY_WEIGHT	0.3	/* of the newest duration in the average */

/* Fill est[i] (m->nnodes entries) with the learned duration of node i in ms,
 * 0 where none is known. A missing file is not an error. Returns 0, or -1
 * with *cause when the file exists but cannot be read or parsed (est is then
 * all 0). */
int history_load(const char *path, const struct manifest *m, int64_t *est,
    char **cause);
/* Fold the durations of the nodes that succeeded in s (attempts counted
 * from the last one's start) into the file at path, written atomically;
 * entries of node ids not in m are kept. Returns 0 or -1 with *cause. */
int history_update(const char *path, const struct manifest *m,
    const struct sched *s, char **cause);
/* The directory `run` learns into: $XDG_STATE_HOME/dagexec/history, else
 * $HOME/.local/state/dagexec/history (XDG: a relative XDG_STATE_HOME is
 * ignored). A new string, or NULL with *cause when neither gives an
 * absolute path. */
char *history_user_dir(char **cause);
/* The file of the DAG named name in dir, as `run` writes it: DIR/NAME. */
char *history_file(const char *dir, const char *name);
/* history_load from dir: DIR/NAME, else DIR/NAME.yaml (as `watch` names
 * it, so that a spool's users/UID/history/ can be read too). */
int history_load_dir(const char *dir, const struct manifest *m, int64_t *est,
    char **cause);

#endif
