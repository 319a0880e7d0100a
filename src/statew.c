/* The job's state.yaml while it runs: rendered on the loop's thread and
 * written by a thread of the job's, spaced by what a rewrite costs. */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cgroup.h"
#include "fsutil.h"
#include "job_int.h"
#include "log.h"
#include "state.h"
#include "xmalloc.h"

#define STATE_BYTES_PER_MS	4096	/* and write at most 4 MB a second */
#define STATE_COST_SHARE	100	/* rewrites take at most 1/100 of the
					   time (CPU of render and write) */

void
job_fill_state(const struct job *j, struct state_job *sj)
{
	sj->job = j->id;
	sj->status = sched_status(j->s);
	sj->mono_base_ms = j->mono_base;
	sj->wall_base_ms = j->wall_base;
	sj->started_ms = j->started;
	sj->finished_ms = j->finished;
	sj->notify_status = j->notify_status;
	sj->notify_error = j->notify_error;
	sj->slurm_jobs = (const char *const *)j->slurm_jobs;
	sj->reused_from = (const char *const *)j->reused_from;
	sj->cached = j->cached;
	sj->saved = j->saved;
	sj->nsaved = j->nsaved;
	sj->sandbox = j->sandbox;
	sj->containment = containment_name(cgroup_job_containment(j->cg));
}


/* A node's record changed in the scheduler: its entry is rendered again. */
static void
statew_touched(void *arg, size_t i)
{
	state_inc_touch(arg, i);
}

/* Render the job's state into a new temporary file beside state.yaml:
 * what changed since the last one, the rest copied from it. Its descriptor,
 * *tmp its name; or -1 with *cause. */
static int
statew_render(struct job *j, char **tmp, char **cause)
{
	const struct node_run **runs;
	const struct metric *metrics;
	struct state_job sj;
	size_t nmetrics;
	int fd, rc;

	if (j->si == NULL)
		j->si = state_inc_new();
	sched_take_touched(j->s, statew_touched, j->si);
	if ((fd = fs_atomic_open(j->state_path, 0600, (uid_t)-1, (gid_t)-1,
	    tmp, cause)) < 0)
		return -1;
	job_fill_state(j, &sj);
	runs = sched_runs(j->s);
	metrics = sched_metrics(j->s, &nmetrics);
	rc = state_inc_write(j->si, fd, j->m, runs, metrics, nmetrics, &sj);
	free(runs);
	if (rc != 0) {
		*cause = xasprintf("cannot write '%s': %s", *tmp,
		    strerror(errno));
		fs_atomic_abort(fd, *tmp);
		return -1;
	}
	return fd;
}

/* The calling thread's CPU time in microseconds (0 if it cannot be read). */
static int64_t
thread_cpu_us(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * A rewrite while the job runs is rendered on the loop into a temporary
 * file (only what changed; the rest is copied in the kernel from the last
 * file) and renamed into place by a thread of the job's. None is synced:
 * state.yaml is made again from the journal after a crash. One file at a
 * time, in order; statew_flush (the last state, and those of notify) waits
 * until the thread is idle and does it all itself.
 */
struct statew {
	pthread_t	 thr;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	const char	*path;
	int		 fd;		/* to rename into place; -1: none */
	char		*tmp;		/*   its name */
	bool		 busy;		/* committing */
	bool		 quit;
	char		*err;		/* why the last commit failed */
	int64_t		 cost;		/* CPU us the last commit took */
};

static void *
statew_main(void *arg)
{
	struct statew *sw = arg;
	char *tmp, *cause;
	int64_t t0;
	int fd, rc;

	pthread_mutex_lock(&sw->mu);
	for (;;) {
		while (sw->fd < 0 && !sw->quit)
			pthread_cond_wait(&sw->cv, &sw->mu);
		if (sw->fd < 0)
			break;
		fd = sw->fd;
		tmp = sw->tmp;
		sw->fd = -1;
		sw->tmp = NULL;
		sw->busy = true;
		pthread_mutex_unlock(&sw->mu);

		cause = NULL;
		t0 = thread_cpu_us();
		rc = fs_atomic_commit(fd, tmp, sw->path, false, &cause);

		pthread_mutex_lock(&sw->mu);
		sw->busy = false;
		sw->cost = thread_cpu_us() - t0;
		if (rc != 0) {
			free(sw->err);
			sw->err = cause;
		}
		pthread_cond_broadcast(&sw->cv);
	}
	pthread_mutex_unlock(&sw->mu);
	return NULL;
}

/* The committing thread, started on first use with every signal blocked
 * (the loop reads them from its signalfd: none may be taken by this
 * thread). NULL when it cannot be started: then the loop commits. */
static struct statew *
statew_get(struct job *j)
{
	struct statew *sw;
	sigset_t all, old;
	int rc;

	if (j->sw != NULL)
		return j->sw;
	sw = xcalloc(1, sizeof *sw);
	sw->path = j->state_path;
	sw->fd = -1;
	pthread_mutex_init(&sw->mu, NULL);
	pthread_cond_init(&sw->cv, NULL);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&sw->thr, NULL, statew_main, sw);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		pthread_cond_destroy(&sw->cv);
		pthread_mutex_destroy(&sw->mu);
		free(sw);
		return NULL;
	}
	j->sw = sw;
	return sw;
}

/* What the thread last did: a failed commit is logged, and how long its
 * last commit took (us of CPU) is returned. With wait, once it has nothing
 * left to do; else *busy says whether it is still at it. Called with the
 * lock not held. */
static int64_t
statew_take(struct job *j, bool wait, bool *busy)
{
	struct statew *sw = j->sw;
	char *err;
	int64_t cost;

	if (busy != NULL)
		*busy = false;
	if (sw == NULL)
		return 0;
	pthread_mutex_lock(&sw->mu);
	while (wait && (sw->busy || sw->fd >= 0))
		pthread_cond_wait(&sw->cv, &sw->mu);
	if (busy != NULL)
		*busy = sw->busy || sw->fd >= 0;
	err = sw->err;
	sw->err = NULL;
	cost = sw->cost;
	pthread_mutex_unlock(&sw->mu);
	if (err != NULL) {
		job_log(j, LOG_ERROR, SIZE_MAX, "state", "%s", err);
		free(err);
	}
	return cost;
}

void
job_state_quiet(struct job *j)
{
	(void)statew_take(j, true, NULL);
}

void
statew_stop(struct job *j)
{
	struct statew *sw = j->sw;

	state_inc_free(j->si);
	j->si = NULL;
	if (sw == NULL)
		return;
	pthread_mutex_lock(&sw->mu);
	sw->quit = true;
	pthread_cond_signal(&sw->cv);
	pthread_mutex_unlock(&sw->mu);
	pthread_join(sw->thr, NULL);
	if (sw->fd >= 0)
		fs_atomic_abort(sw->fd, sw->tmp);
	free(sw->err);
	pthread_cond_destroy(&sw->cv);
	pthread_mutex_destroy(&sw->mu);
	free(sw);
	j->sw = NULL;
}

static void	statew_timer_cb(struct loop *, void *);

/* A rewrite that took cost us of CPU: a rewrite copies the whole file in
 * the kernel, so they are spaced for writing the state to take at most a
 * hundredth of the time, whatever the DAG's size (and never more often
 * than STATE_INTERVAL_MS). CPU, not wall time: a loaded machine or a slow
 * disk stretches the wall time of a write, not its work, and must not
 * make the state go stale. And the bytes: each rewrite is a new file of
 * the whole state that the kernel writes back to the disk (tens of MB at
 * 100,000 nodes), which the nodes' own I/O must not queue behind. */
static void
statew_space(struct job *j, int64_t cost)
{
	int64_t ms = cost * STATE_COST_SHARE / 1000;
	int64_t by = j->si != NULL ? (int64_t)(state_inc_size(j->si) /
	    STATE_BYTES_PER_MS) : 0;

	if (ms < by)
		ms = by;
	j->state_interval = ms > STATE_INTERVAL_MS ? ms : STATE_INTERVAL_MS;
}

/* A rewrite while the job runs: rendered here, committed by the thread. */
static void
statew_flush_async(struct job *j)
{
	struct statew *sw;
	char *tmp, *cause = NULL;
	int64_t t0, cost;
	bool busy;
	int fd;

	if ((sw = statew_get(j)) == NULL) {
		statew_flush(j);
		return;
	}
	cost = statew_take(j, false, &busy);
	if (busy) {
		/* the last one is still being committed: try again later */
		if (j->state_timer == NULL)
			j->state_timer = loop_timer_at(j->loop, loop_now() +
			    STATE_INTERVAL_MS, statew_timer_cb, j);
		return;
	}
	t0 = thread_cpu_us();
	if ((fd = statew_render(j, &tmp, &cause)) < 0) {
		job_log(j, LOG_ERROR, SIZE_MAX, "state", "%s", cause);
		free(cause);
	} else {
		pthread_mutex_lock(&sw->mu);
		sw->fd = fd;
		sw->tmp = tmp;
		pthread_cond_signal(&sw->cv);
		pthread_mutex_unlock(&sw->mu);
	}
	j->last_state = loop_now();
	j->state_dirty = false;
	/* as statew_flush, with the thread's last commit in the cost */
	statew_space(j, cost + thread_cpu_us() - t0);
}

/* The first state of a job, written once its first nodes have started:
 * they show running, the others pending (or, resumed, as its journal
 * says). */
void
statew_flush_first(struct job *j)
{
	statew_flush_async(j);
}

void
statew_flush(struct job *j)
{
	char *cause = NULL, *tmp;
	int64_t t0;
	int fd;

	(void)statew_take(j, true, NULL);
	t0 = thread_cpu_us();
	if ((fd = statew_render(j, &tmp, &cause)) < 0 ||
	    fs_atomic_commit(fd, tmp, j->state_path, false, &cause) != 0) {
		job_log(j, LOG_ERROR, SIZE_MAX, "state", "%s", cause);
		free(cause);
		j->end_failed = true;
	}
	j->last_state = loop_now();
	j->state_dirty = false;
	statew_space(j, thread_cpu_us() - t0);
}

void
job_state_node(struct job *j, size_t i)
{
	if (j->si != NULL)
		state_inc_touch(j->si, i);
	job_state_touch(j);
}

static void
statew_timer_cb(struct loop *l, void *arg)
{
	struct job *j = arg;

	(void)l;
	j->state_timer = NULL;
	if (j->state_dirty && !j->done)
		statew_flush_async(j);
}

void
job_state_touch(struct job *j)
{
	int64_t now = loop_now();

	j->state_dirty = true;
	if (j->state_timer != NULL)
		return;
	if (now - j->last_state >= j->state_interval)
		statew_flush_async(j);
	else
		j->state_timer = loop_timer_at(j->loop,
		    j->last_state + j->state_interval, statew_timer_cb, j);
}
