/* The scheduler's inside, shared by sched.c (the policy: ready set,
 * starts, ends, stops) and sched_acct.c (its accounts: metrics and
 * budgets, retry delays, the error lines of ends). Nothing else includes
 * this: sched.h is the module's face. */
#ifndef DAGEXEC_SCHED_INT_H
#define DAGEXEC_SCHED_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sched.h"

enum { Q_NONE, Q_HEAP, Q_PARKED, Q_EXPAND };
enum { T_RETRY, T_TIMEOUT };
enum { H_NONE, H_BUDGET, H_DEADLINE, H_CANCEL };

struct timer {
	int64_t	at;
	size_t	node;
	int	attempt;
	int	kind;
};

struct kill {
	size_t		node;
	int		attempt;
	enum reason	reason;
};

struct change {
	size_t			node;
	enum node_status	status;
};

struct heap {
	size_t	*v;
	size_t	 n;
	size_t	 cap;
};

struct sched {
	const struct manifest	*m;
	const struct graph	*g;
	size_t			 n;
	int			 max_parallel;
	bool			 expand_as_one;	/* see sched_config */
	struct node_run		*nr;
	int64_t			*blevel;
	size_t			*nunfinal;	/* needs not yet final */
	unsigned char		*q;		/* Q_* */
	enum reason		*killed;	/* delivered kill of the
						   running attempt */
	size_t			 counts[NS__COUNT];
	size_t			 nfinal;
	int			 nrunning;

	struct heap		*ready;		/* npools + 1 */
	size_t			 nheaps;
	int			*pool_running;

	struct timer		*timers;
	size_t			 ntimers;
	size_t			 timerscap;

	int			*freeslot;	/* min-heap of free slots */
	size_t			 nfreeslot;

	size_t			 cur_wave;
	size_t			*wave_left;
	size_t			*parked_head;	/* per wave, SIZE_MAX: none */
	size_t			*parked_next;

	size_t			*work;		/* eligible nodes to judge */
	size_t			 nwork;
	size_t			 workcap;

	uint64_t		*touched_bit;	/* nodes whose record changed */
	size_t			 touched_words;	/*   (words of touched_bit) */
	size_t			*touched;	/*   since sched_take_touched */
	size_t			 ntouched;
	size_t			 touchedcap;

	struct change		*changes;
	size_t			 chead;
	size_t			 nchanges;
	size_t			 changescap;
	struct kill		*kills;
	size_t			 khead;
	size_t			 nkills;
	size_t			 killscap;
	size_t			*expands;	/* dynamic foreach nodes due */
	size_t			 ehead;
	size_t			 nexpands;
	size_t			 expandscap;

	struct metric		*metrics;
	size_t			 nmetrics;

	int			 begun;
	int64_t			 begin_ms;
	int64_t			 deadline_at;	/* INT64_MAX: none */
	int			 deadline_done;

	int			 failed;	/* a node failed the DAG */
	int			 stopping;	/* on_failure stop/abort hit */
	int			 stop_pass;	/* the stop walk is due */
	size_t			 stop_node;
	int			 halt;		/* H_*: nothing starts */
	int			 spare_always;	/* ... but a cancel's `when:
						   always` nodes (sched_stop) */
	int			 halt_pass;	/* the halt walk is due */
	enum dag_status		 end_status;	/* with halt */
	char			*halt_error;	/* for nodes skipped by it */

	struct metric		**live;		/* per node: what its running
						   attempt reported so far */
	size_t			*nlive;
	struct metric		*live_total;	/* the sums of those */
	size_t			 nlive_total;
	size_t			*over;		/* per node: the item of its
						   budget it reached, or
						   SIZE_MAX */
	double			*over_sum;	/* and the sum that reached it */
	size_t			 dag_over;	/* the DAG's item reached */
	unsigned char		*upfail;	/* per node: skipped because a
						   need failed, or was skipped
						   for a failure above it */
	uint64_t		 rng;		/* jitter (splitmix64) */
};

/* ---- sched_acct.c ------------------------------------------------------- */

/* Node i's running attempt no longer counts by its reports. */
void	sched_live_clear(struct sched *s, size_t i);
/* The item of node i's budget that its sums (its ended attempts and what
 * the running one reported) reach, or SIZE_MAX; *sum: that sum. */
size_t	sched_node_over(const struct sched *s, size_t i, double *sum);
/* The item of the DAG's budget its sums (ended attempts and the running
 * ones' reports) reach, or SIZE_MAX. */
size_t	sched_dag_over(const struct sched *s);
/* The line for a person on node i's end of class why, when the executor
 * gave none (allocated). */
char	*sched_end_error(const struct sched *s, size_t i, enum reason why,
	    const struct attempt_end *e);
/* Whether a failure of class why (exit status code) of nd is retried. */
int	sched_retryable(const struct node *nd, enum reason why, int code);
/* The wait before the retry after failed attempt number attempt. */
int64_t	sched_retry_delay(struct sched *s, const struct node *nd,
	    int attempt);
/* Shortest exact duration: "500ms", "30s", "1m30s" (allocated). */
char	*sched_fmt_duration(int64_t ms);

#endif
