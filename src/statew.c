/* The job's state.yaml while it runs: rendered on the loop's thread and
 * written by a thread of the job's, spaced by what a rewrite costs. */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>

#include "cgroup.h"
#include "fsutil.h"
#include "job_int.h"
#include "log.h"
#include "state.h"
#include "xmalloc.h"

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


/* The state of the job as its scheduler knows it. */
static char *
statew_render(const struct job *j, const struct state_job *sj, size_t *len)
{
	const struct node_run	**runs = sched_runs(j->s);
	const struct metric	 *metrics;
	size_t			  nmetrics;
	char			 *text;

	metrics = sched_metrics(j->s, &nmetrics);
	text = state_render(j->m, runs, metrics, nmetrics, sj, len);
	free(runs);
	return text;
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
 * The rewrites while the job runs are rendered on the loop but written
 * (create, write, rename) by a thread of the job's: at 10,000 nodes the
 * write is most of a rewrite's cost, and the loop would wait for the disk
 * with its node slots idle. None is synced: state.yaml is made again from
 * the journal after a crash (fs_replace). One write at a
 * time, in order; statew_flush (the last state, and those of notify) waits
 * until the thread is idle and writes itself. The first state of a new
 * job, every node pending, is rendered by the thread too (from the
 * manifest alone: no scheduler record is read off the loop's thread).
 */
struct statew {
	pthread_t	 thr;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	const char	*path;
	uid_t		 uid;		/* state.yaml is the job owner's */
	gid_t		 gid;		/*   ((uid_t)-1: ours) */
	char		*text;		/* to write; NULL: none */
	size_t		 len;
	const struct manifest *pending_m; /* to render all pending, with */
	struct state_job pending_sj;	/*   these job fields; NULL: none */
	bool		 busy;		/* writing */
	bool		 quit;
	char		*err;		/* why the last write failed */
	int64_t		 cost;		/* CPU us the last write took */
};

static void *
statew_main(void *arg)
{
	struct statew *sw = arg;
	const struct manifest *pm;
	struct state_job psj;
	char *text, *cause;
	size_t len;
	int64_t t0;
	int rc;

	pthread_mutex_lock(&sw->mu);
	for (;;) {
		while (sw->text == NULL && sw->pending_m == NULL && !sw->quit)
			pthread_cond_wait(&sw->cv, &sw->mu);
		if (sw->text == NULL && sw->pending_m == NULL)
			break;
		text = sw->text;
		len = sw->len;
		sw->text = NULL;
		pm = sw->pending_m;
		psj = sw->pending_sj;
		sw->pending_m = NULL;
		sw->busy = true;
		pthread_mutex_unlock(&sw->mu);

		cause = NULL;
		t0 = thread_cpu_us();
		if (text == NULL)
			text = state_render(pm, NULL, NULL, 0, &psj, &len);
		rc = fs_replace_owned(sw->path, text, len, 0600, sw->uid,
		    sw->gid, &cause);
		free(text);

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

/* The writer thread, started on first use with every signal blocked (the
 * loop reads them from its signalfd: none may be taken by this thread).
 * NULL when it cannot be started: then the loop writes. */
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
	sw->uid = (uid_t)-1;
	sw->gid = (gid_t)-1;
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

/* What the thread last did: a failed write is logged, and how long its
 * last write took (ms) is returned. With wait, once it has nothing left
 * to do; else *busy says whether it is still writing. Called with the
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
	while (wait && (sw->busy || sw->text != NULL || sw->pending_m != NULL))
		pthread_cond_wait(&sw->cv, &sw->mu);
	if (busy != NULL)
		*busy = sw->busy || sw->text != NULL || sw->pending_m != NULL;
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

	if (sw == NULL)
		return;
	pthread_mutex_lock(&sw->mu);
	sw->quit = true;
	pthread_cond_signal(&sw->cv);
	pthread_mutex_unlock(&sw->mu);
	pthread_join(sw->thr, NULL);
	free(sw->text);
	free(sw->err);
	pthread_cond_destroy(&sw->cv);
	pthread_mutex_destroy(&sw->mu);
	free(sw);
	j->sw = NULL;
}

static void	statew_timer_cb(struct loop *, void *);

/* A rewrite that took cost us of CPU: a rewrite costs O(nodes), so they
 * are spaced for writing the state to take at most a hundredth of the time,
 * whatever the DAG's size (and never more often than STATE_INTERVAL_MS).
 * CPU, not wall time: a loaded machine or a slow fsync stretches the wall
 * time of a write, not its work, and must not make the state go stale. */
static void
statew_space(struct job *j, int64_t cost)
{
	int64_t ms = cost * STATE_COST_SHARE / 1000;

	j->state_interval = ms > STATE_INTERVAL_MS ? ms : STATE_INTERVAL_MS;
}

/* A rewrite while the job runs: rendered here, written by the thread. */
static void
statew_flush_async(struct job *j)
{
	struct statew *sw;
	struct state_job sj;
	char *text;
	size_t len;
	int64_t t0, cost;
	bool busy;

	if ((sw = statew_get(j)) == NULL) {
		statew_flush(j);
		return;
	}
	cost = statew_take(j, false, &busy);
	if (busy) {
		/* the last one is still being written: try again later */
		if (j->state_timer == NULL)
			j->state_timer = loop_timer_at(j->loop, loop_now() +
			    STATE_INTERVAL_MS, statew_timer_cb, j);
		return;
	}
	t0 = thread_cpu_us();
	job_fill_state(j, &sj);
	text = statew_render(j, &sj, &len);
	pthread_mutex_lock(&sw->mu);
	sw->text = text;
	sw->len = len;
	pthread_cond_signal(&sw->cv);
	pthread_mutex_unlock(&sw->mu);
	j->last_state = loop_now();
	j->state_dirty = false;
	/* as statew_flush, with the thread's last write in the cost: the
	 * state is rewritten as often as when the loop wrote it */
	statew_space(j, cost + thread_cpu_us() - t0);
}

/* The first state of a new job, every node pending: rendered and written
 * by the thread while the first nodes start. A resumed job's first state
 * has records the loop owns: rendered here. */
void
statew_flush_first(struct job *j)
{
	struct statew *sw;

	if (j->resumed || (sw = statew_get(j)) == NULL) {
		statew_flush_async(j);
		return;
	}
	pthread_mutex_lock(&sw->mu);
	job_fill_state(j, &sw->pending_sj);
	/* no Slurm job yet; the thread reads nothing the loop changes */
	sw->pending_sj.slurm_jobs = NULL;
	sw->pending_sj.reused_from = NULL;
	sw->pending_sj.cached = NULL;
	sw->pending_sj.sandbox = NULL;
	sw->pending_sj.saved = NULL;
	sw->pending_sj.nsaved = 0;
	sw->pending_m = j->m;
	pthread_cond_signal(&sw->cv);
	pthread_mutex_unlock(&sw->mu);
	j->last_state = loop_now();
	j->state_dirty = false;
}

void
statew_flush(struct job *j)
{
	struct state_job sj;
	char *cause = NULL, *text;
	size_t len;
	int64_t t0;

	(void)statew_take(j, true, NULL);
	t0 = thread_cpu_us();
	job_fill_state(j, &sj);
	text = statew_render(j, &sj, &len);
	if (fs_replace(j->state_path, text, len, 0600, &cause) != 0) {
		job_log(j, LOG_ERROR, SIZE_MAX, "state", "%s", cause);
		free(cause);
		j->end_failed = true;
	}
	free(text);
	j->last_state = loop_now();
	j->state_dirty = false;
	statew_space(j, thread_cpu_us() - t0);
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
