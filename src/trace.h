/* The run as Chrome trace events (issue 7): one complete event ("ph": "X")
 * an attempt, one thread row a slot, so it opens in Perfetto or
 * chrome://tracing. */
#ifndef DAGEXEC_TRACE_H
#define DAGEXEC_TRACE_H

#include <stddef.h>

#include "manifest.h"
#include "run.h"
#include "state.h"

/* The JSON text of the run: runs[i] is node i's record (runs or runs[i] may
 * be NULL: never ran), sj the job's times. Times in microseconds from the
 * job's start; pid 1 is the DAG, tid the attempt's slot. A new
 * NUL-terminated buffer; *len its length. */
char *trace_render(const struct manifest *m,
    const struct node_run *const *runs, const struct state_job *sj,
    size_t *len);
/* trace_render's text written into fd as it is made, in bounded memory.
 * 0, or -1 with errno. */
int trace_write_fd(int fd, const struct manifest *m,
    const struct node_run *const *runs, const struct state_job *sj);

#endif
