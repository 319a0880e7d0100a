/* The scheduler's accounts (see sched_int.h): metric sums and budgets,
 * the waits between retries, and the lines that say why a node ended.
 * Pure, as the rest of the scheduler: no clock, no system calls. */
#include "config.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched_int.h"
#include "units.h"
#include "xmalloc.h"

static const char *signal_names[] = {
	[SIGHUP] = "SIGHUP", [SIGINT] = "SIGINT", [SIGQUIT] = "SIGQUIT",
	[SIGILL] = "SIGILL", [SIGTRAP] = "SIGTRAP", [SIGABRT] = "SIGABRT",
	[SIGBUS] = "SIGBUS", [SIGFPE] = "SIGFPE", [SIGKILL] = "SIGKILL",
	[SIGUSR1] = "SIGUSR1", [SIGSEGV] = "SIGSEGV", [SIGUSR2] = "SIGUSR2",
	[SIGPIPE] = "SIGPIPE", [SIGALRM] = "SIGALRM", [SIGTERM] = "SIGTERM",
	[SIGCHLD] = "SIGCHLD", [SIGCONT] = "SIGCONT", [SIGSTOP] = "SIGSTOP",
	[SIGTSTP] = "SIGTSTP", [SIGTTIN] = "SIGTTIN", [SIGTTOU] = "SIGTTOU",
	[SIGURG] = "SIGURG", [SIGXCPU] = "SIGXCPU", [SIGXFSZ] = "SIGXFSZ",
	[SIGVTALRM] = "SIGVTALRM", [SIGPROF] = "SIGPROF",
	[SIGWINCH] = "SIGWINCH", [SIGIO] = "SIGIO", [SIGSYS] = "SIGSYS",
#ifdef SIGSTKFLT
	[SIGSTKFLT] = "SIGSTKFLT",
#endif
#ifdef SIGPWR
	[SIGPWR] = "SIGPWR",
#endif
};

/* "SIGTERM", or "signal 40" into buf. */
static const char *
signame(int sig, char *buf, size_t len)
{
	if (sig > 0 && (size_t)sig < sizeof signal_names /
	    sizeof signal_names[0] && signal_names[sig] != NULL)
		return (signal_names[sig]);
	snprintf(buf, len, "signal %d", sig);
	return (buf);
}

/* Shortest exact duration: "500ms", "30s", "1m30s", "2h", "1d". */
char *
sched_fmt_duration(int64_t ms)
{
	char	buf[64];

	return (xstrdup(units_format_duration(ms > 0 ? ms : 0, buf,
	    sizeof buf)));
}

/* Node i's running attempt no longer counts by its reports. */
void
sched_live_clear(struct sched *s, size_t i)
{
	size_t	k;

	for (k = 0; k < s->nlive[i]; k++)
		metric_add(&s->live_total, &s->nlive_total,
		    s->live[i][k].name, -s->live[i][k].value);
	metrics_free(s->live[i], s->nlive[i]);
	s->live[i] = NULL;
	s->nlive[i] = 0;
}

/* The item of node i's budget that its sums (its ended attempts and what
 * the running one reported) reach, or SIZE_MAX. */
size_t
sched_node_over(const struct sched *s, size_t i, double *sump)
{
	const struct node_extra	*x = node_extra(&s->m->nodes[i]);
	const struct node_run	*r = &s->nr[i];
	size_t			 k;
	double			 sum;

	for (k = 0; k < x->nbudget; k++) {
		sum = metric_get(r->metrics, r->nmetrics,
		    x->budget[k].name) + metric_get(s->live[i],
		    s->nlive[i], x->budget[k].name);
		if (sum >= x->budget[k].limit) {
			*sump = sum;
			return (k);
		}
	}
	return (SIZE_MAX);
}

size_t
sched_dag_over(const struct sched *s)
{
	const struct budget_item	*b;
	size_t				 k;

	for (k = 0; k < s->m->nbudget; k++) {
		b = &s->m->budget[k];
		if (metric_get(s->metrics, s->nmetrics, b->name) +
		    metric_get(s->live_total, s->nlive_total, b->name) >=
		    b->limit)
			return (k);
	}
	return (SIZE_MAX);
}

/* A number for a message: "1200", "0.05". */
static char *
fmt_number(double v)
{
	return (xasprintf("%.15g", v));
}

/* Why node i ended for a budget: its own reached, or the DAG's (it was
 * killed under on_failure: abort); how: how its process ended, or NULL. */
static char *
budget_error(const struct sched *s, size_t i, const char *how)
{
	const struct node	*nd = &s->m->nodes[i];
	const struct node_run	*r = &s->nr[i];
	const struct budget_item *b;
	char			*sum, *cap, *msg;
	double			 v;

	if (s->over[i] == SIZE_MAX) {
		b = s->dag_over < s->m->nbudget ? &s->m->budget[s->dag_over] :
		    NULL;
		return (xasprintf("%s%sthe DAG's budget%s%s%s reached",
		    how != NULL ? how : "", how != NULL ? ": " : "",
		    b != NULL ? " '" : "", b != NULL ? b->name : "",
		    b != NULL ? "'" : ""));
	}
	b = &node_extra(nd)->budget[s->over[i]];
	/* what it reported when it was killed, or more at its end */
	v = metric_get(r->metrics, r->nmetrics, b->name);
	sum = fmt_number(v > s->over_sum[i] ? v : s->over_sum[i]);
	cap = fmt_number(b->limit);
	msg = xasprintf("%s%sbudget '%s' reached: %s of %s",
	    how != NULL ? how : "", how != NULL ? ": " : "", b->name, sum,
	    cap);
	free(sum);
	free(cap);
	return (msg);
}

/* The line for a person when the executor gave none. */
char *
sched_end_error(const struct sched *s, size_t i, enum reason why,
    const struct attempt_end *e)
{
	char	 buf[32], *d, *how, *msg;

	if (e->signal != 0)
		how = xasprintf("killed by %s", signame(e->signal, buf,
		    sizeof buf));
	else if (e->exit_code >= 0)
		how = xasprintf("exited with status %d", e->exit_code);
	else
		how = NULL;
	switch (why) {
	case REASON_TIMEOUT:
		d = sched_fmt_duration(s->m->nodes[i].timeout_ms);
		if (how != NULL)
			msg = xasprintf("%s after timeout %s", how, d);
		else
			msg = xasprintf("timeout %s reached", d);
		free(d);
		break;
	case REASON_DEADLINE:
		d = sched_fmt_duration(s->m->deadline_ms);
		msg = xasprintf("deadline %s reached", d);
		free(d);
		break;
	case REASON_CANCELLED:
		if (s->halt == H_CANCEL)
			msg = xstrdup(s->halt_error);
		else if (s->stopping)
			msg = xasprintf("cancelled: the DAG stopped after '%s' "
			    "failed", s->m->nodes[s->stop_node].id);
		else
			msg = xstrdup("cancelled");
		break;
	case REASON_RLIMIT_CPU:
		msg = xasprintf("%s: cpu time limit reached",
		    how != NULL ? how : "killed by SIGXCPU");
		break;
	case REASON_RLIMIT_FSIZE:
		msg = xasprintf("%s: file size limit reached",
		    how != NULL ? how : "killed by SIGXFSZ");
		break;
	case REASON_SPAWN_ERROR:
		msg = xstrdup("cannot start");
		break;
	case REASON_OUTPUT_MISSING:
		msg = xstrdup("an output is missing");
		break;
	case REASON_HTTP_STATUS:
		msg = xstrdup("unexpected http status");
		break;
	case REASON_CHECKSUM:
		msg = xstrdup("checksum mismatch");
		break;
	case REASON_LOST:
		msg = xstrdup("the attempt was lost");
		break;
	case REASON_BUDGET:
		msg = budget_error(s, i, how);
		break;
	case REASON_OOM:
		msg = xasprintf("%s: memory limit exceeded",
		    how != NULL ? how : "killed");
		break;
	default:
		msg = how != NULL ? xstrdup(how) : xstrdup("failed");
		break;
	}
	free(how);
	return (msg);
}

/* The next number of the jitter's generator (splitmix64). */
static uint64_t
rng_next(struct sched *s)
{
	uint64_t	z;

	s->rng += 0x9e3779b97f4a7c15ULL;
	z = s->rng;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (z ^ (z >> 31));
}

/* Whether a failure of class why (exit status code) is retried. A node
 * over its budget never is: its sums only grow. */
int
sched_retryable(const struct node *nd, enum reason why, int code)
{
	const struct node_extra	*x = node_extra(nd);
	size_t			 k;

	if (why == REASON_BUDGET)
		return (0);
	if (nd->retry_on & (1u << why))
		return (1);
	if (why != REASON_EXIT)
		return (0);
	for (k = 0; k < x->nretry_exits; k++)
		if (code >= x->retry_exits[k].lo &&
		    code <= x->retry_exits[k].hi)
			return (1);
	return (0);
}

/* The backoff alone. */
static int64_t
backoff_delay(const struct node *nd, int attempt)
{
	int64_t	d = nd->retry_delay_ms > 0 ? nd->retry_delay_ms : 0;
	int64_t	cap = nd->max_retry_delay_ms > 0 ? nd->max_retry_delay_ms :
		    INT64_MAX;
	int	k;

	if (nd->backoff == BACKOFF_EXPONENTIAL) {
		for (k = 1; k < attempt && d < cap; k++)
			d = d > INT64_MAX / 2 ? INT64_MAX : d * 2;
	}
	return (d < cap ? d : cap);
}

/* Backoff before the retry that follows failed attempt number attempt:
 * exponential or fixed, capped by max_retry_delay; with jitter, a delay
 * drawn uniformly between 0 and that ("full jitter"). */
int64_t
sched_retry_delay(struct sched *s, const struct node *nd, int attempt)
{
	int64_t	d = backoff_delay(nd, attempt);

	if (nd->jitter && d > 0)
		d = (int64_t)(rng_next(s) % ((uint64_t)d + 1));
	return (d);
}
