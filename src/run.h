/* The run vocabulary: what a node and a DAG reach, why an attempt did not
 * succeed, and the records of attempts and metrics that the scheduler
 * keeps and the state, the timeline, the trace and the summary read. */
#ifndef DAGEXEC_RUN_H
#define DAGEXEC_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Why an attempt or a node did not succeed (interface §6 `reason`). */
enum reason {
	REASON_NONE = 0,
	REASON_EXIT,
	REASON_SIGNAL,
	REASON_TIMEOUT,
	REASON_RLIMIT_CPU,
	REASON_RLIMIT_FSIZE,
	REASON_SPAWN_ERROR,
	REASON_OUTPUT_MISSING,
	REASON_HTTP_STATUS,
	REASON_CHECKSUM,
	REASON_UPSTREAM_FAILED,
	REASON_CANCELLED,
	REASON_BUDGET,
	REASON_DEADLINE,
	REASON_LOST,
	REASON_OOM,			/* killed for memory (Slurm) */
	REASON_EMPTY,			/* a dynamic foreach had no item */
	REASON__COUNT
};
/* "exit", "signal", ...; NULL for REASON_NONE. */
const char *reason_name(enum reason r);
/* The reason named s, or -1. REASON_NONE is never returned. */
int reason_parse(const char *s);

enum node_status {
	NS_PENDING,		/* waiting for its needs, a slot, or the wave */
	NS_RUNNING,
	NS_RETRYING,		/* an attempt failed; waiting for retry_at */
	NS_SUCCEEDED,
	NS_FAILED,
	NS_SKIPPED,		/* never ran: trigger rule, stop, budget... */
	NS_CANCELLED,
	NS_TIMED_OUT,		/* last attempt hit its timeout, no retry left */
	NS__COUNT
};
/* "pending", "running", ... as in interface §6. */
const char *node_status_name(enum node_status s);
/* True for succeeded, failed, skipped, cancelled, timed_out. */
bool node_status_final(enum node_status s);

enum dag_status {
	DS_QUEUED,
	DS_RUNNING,
	DS_SUCCEEDED,
	DS_FAILED,
	DS_CANCELLED,
	DS_TIMED_OUT,
	DS_BUDGET_EXCEEDED,
	DS_INTERRUPTED,
	DS__COUNT
};
/* "queued", "running", ... as in interface §6. */
const char *dag_status_name(enum dag_status s);

struct metric {
	char	*name;
	double	 value;
};
/* Add value to metric name of *v (*n of them), appending it when it is
 * not there (the name copied). */
void metric_add(struct metric **v, size_t *n, const char *name, double value);
/* The value of metric name in v (n of them); 0 when it is not there. */
double metric_get(const struct metric *v, size_t n, const char *name);
/* Free n metrics and the array (NULL is fine). */
void metrics_free(struct metric *v, size_t n);

/* One attempt of a node, for the state, the timeline and the trace. */
struct attempt {
	int64_t		start_ms;
	int64_t		end_ms;		/* -1 while running */
	enum reason	reason;		/* REASON_NONE: succeeded */
	int		exit_code;	/* -1: none */
	int		signal;		/* 0: none */
	int		slot;		/* 0 .. max_parallel-1, for trace rows */
};

/* What the scheduler knows of one node. Owned by the scheduler. */
struct node_run {
	enum node_status status;
	int		 attempts;	/* attempts started so far */
	int		 exit_code;	/* of the last attempt; -1: none */
	int		 signal;	/* of the last attempt; 0: none */
	int64_t		 started_ms;	/* first attempt's start; -1 */
	int64_t		 finished_ms;	/* when it became final; -1 */
	int64_t		 cpu_ms;	/* summed over attempts */
	int64_t		 max_rss_kb;	/* max over attempts */
	enum reason	 reason;	/* why it did not succeed */
	char		*error;		/* one line for a person, or NULL */
	struct metric	*metrics;	/* summed over attempts */
	size_t		 nmetrics;
	struct attempt	*hist;		/* every attempt, in order */
	size_t		 nhist;
	int64_t		 retry_at;	/* NS_RETRYING: when to start again */
	char		*stderr_tail;	/* the last lines of stderr of its last
					   attempt, when that failed: made
					   safe, '\n' between them (errtail.h);
					   or NULL */
};

/* How an attempt ended, as the executor saw it. */
struct attempt_end {
	enum reason	 reason;	/* REASON_NONE when it succeeded; else
					   the executor's class (exit, signal,
					   spawn_error, output_missing,
					   http_status, checksum, rlimit_*);
					   a kill the scheduler asked for
					   overrides it (timeout, deadline,
					   cancelled) */
	int		 exit_code;	/* -1: none */
	int		 signal;	/* 0: none */
	int64_t		 cpu_ms;
	int64_t		 max_rss_kb;
	const char	*error;		/* copied; NULL: the scheduler writes
					   one from the class and codes */
	const struct metric *metrics;	/* copied; summed into node and DAG */
	size_t		 nmetrics;
	int64_t		 retry_after_ms;	/* > 0: the server asked for this
					   wait (Retry-After); honoured up to
					   max_retry_delay */
	const char	*stderr_tail;	/* copied: the last lines of its
					   stderr (errtail_new), or NULL */
};

#endif
