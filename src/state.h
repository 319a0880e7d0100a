/* state.yaml (interface §6), written with libyaml's emitter and replaced
 * atomically. */
#ifndef DAGEXEC_STATE_H
#define DAGEXEC_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "sched.h"

struct state_job {
	const char	*job;		/* job id */
	enum dag_status	 status;
	int64_t		 mono_base_ms;	/* a monotonic time t maps to the wall */
	int64_t		 wall_base_ms;	/*   clock as wall_base + (t - mono_base) */
	int64_t		 started_ms;	/* monotonic; -1: not started */
	int64_t		 finished_ms;	/* monotonic; -1: not finished */
};

/* The YAML text of the state of m as s knows it (s may be NULL: all nodes
 * pending). A new NUL-terminated buffer; *len its length. */
char *state_render(const struct manifest *m, const struct sched *s,
    const struct state_job *sj, size_t *len);
/* state_render, then fs_write_atomic into path (mode 0644). */
int state_write(const char *path, const struct manifest *m,
    const struct sched *s, const struct state_job *sj, char **cause);
/* Format wall ms as "2026-11-28T10:15:00.120Z" into buf (at least 32). */
char *state_format_time(int64_t wall_ms, char *buf, size_t len);

#endif
