/* Resuming a job from an earlier run's journal: what each node reached is
 * preset in the scheduler, and the leftovers of attempts that never ended
 * are killed before anything starts again. */
#include "config.h"

#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "job_int.h"
#include "journal.h"
#include "kvfile.h"
#include "log.h"
#include "sandbox.h"
#include "xmalloc.h"

struct resume {
	struct job	*job;
	int		*attempts;	/* highest attempt started */
	bool		*succeeded;
	pid_t		*pgid;		/* of an attempt that never ended */
	int		*lost;		/* attempts that never ended */
	int64_t		*duration;	/* of the last attempt */
	int64_t		*last_start;	/* wall clock */
	int		*slurm_open;	/* a Slurm attempt that never ended */
	char		**slurm_id;	/* and its Slurm job, when on file */
	enum node_status *status;	/* each node's last, NS_PENDING: none */
	bool		*values_lost;	/* a value that held a secret is not
					   in the private side file */
	bool		 finished;	/* the journal says the job ended: */
	enum dag_status	 end;		/*   as this */
	int		 cancel;	/* it was cancelled: 1 sparing when:
					   always nodes, 2 not; 0 */
};

/* The status named name (one of n names[]), or -1. */
static int
status_lookup(const char *name, const char *(*names)(int), int n)
{
	int k;

	for (k = 0; name != NULL && k < n; k++)
		if (strcmp(names(k), name) == 0)
			return k;
	return -1;
}

static const char *
node_status_at(int k)
{
	return node_status_name((enum node_status)k);
}

static const char *
dag_status_at(int k)
{
	return dag_status_name((enum dag_status)k);
}

static long
resume_node(const struct resume *r, const struct journal_event *ev)
{
	const char *id = journal_get(ev, "node");

	return id != NULL ? manifest_find(r->job->m, id) : -1;
}

/* A value node i wrote: from the private side file when it held a secret
 * (it is masked from now on, as the secret it holds may not be read again
 * in this run). */
static void
resume_output(struct resume *r, size_t i, const char *k, const char *v,
    bool secret)
{
	struct job *j = r->job;
	struct kvlist *o = &j->outs[i];
	char *sv = NULL;

	if (secret) {
		sv = secret_values_get(j->dir, j->m->nodes[i].id, k);
		if (sv == NULL) {
			r->values_lost[i] = true;
			return;
		}
		if (j->secrets == NULL)
			j->secrets = secrets_new();
		secrets_add(j->secrets, sv, strlen(sv));
	}
	o->v = xreallocarray(o->v, o->n + 1, sizeof *o->v);
	o->v[o->n].key = xstrdup(k);
	o->v[o->n].value = sv != NULL ? sv : xstrdup(v);
	o->n++;
}

static int
resume_event(const struct journal_event *ev, void *arg)
{
	struct resume *r = arg;
	struct kvlist *o;
	const char *s, *k, *v;
	long i = resume_node(r, ev);
	long long ms;
	char *end;
	int a;

	/* the job began with the journal: every later run resumed it */
	if (r->job->first_wall < 0)
		r->job->first_wall = ev->wall_ms;
	if (strcmp(ev->event, "stop") == 0) {
		/* a cancel holds across an interruption; a journal from
		 * before "spare" was written had only the sparing cancel */
		s = journal_get(ev, "spare");
		if (status_lookup(journal_get(ev, "status"), dag_status_at,
		    DS__COUNT) == DS_CANCELLED)
			r->cancel = s != NULL && strcmp(s, "0") == 0 ? 2 : 1;
		return 0;
	}
	if (strcmp(ev->event, "finish") == 0) {
		a = status_lookup(journal_get(ev, "status"), dag_status_at,
		    DS__COUNT);
		/* an interrupted end is no end: the job goes on */
		r->finished = a >= DS_SUCCEEDED && a != DS_INTERRUPTED;
		if (r->finished)
			r->end = (enum dag_status)a;
		return 0;
	}
	if (i < 0)
		return 0;
	o = &r->job->outs[i];
	if (strcmp(ev->event, "start") == 0) {
		s = journal_get(ev, "attempt");
		a = s != NULL ? atoi(s) : 0;
		if (a > r->attempts[i])
			r->attempts[i] = a;
		if (r->pgid[i] != 0)
			r->lost[i]++;
		s = journal_get(ev, "pgid");
		r->pgid[i] = s != NULL ? (pid_t)atol(s) : 0;
		s = journal_get(ev, "executor");
		r->slurm_open[i] = s != NULL && strcmp(s, "slurm") == 0 ? a : 0;
		if ((s = journal_get(ev, "sandbox")) != NULL &&
		    (a = sandbox_level_parse(s)) > 0)
			exec_sandbox_note(r->job, (size_t)i,
			    (enum sandbox_level)a);
		free(r->slurm_id[i]);
		r->slurm_id[i] = NULL;
		r->duration[i] = -ev->wall_ms;
		if (r->job->first_start[i] < 0)
			r->job->first_start[i] = ev->wall_ms;
		r->last_start[i] = ev->wall_ms;
		kvfile_free(o->v, o->n);
		o->v = NULL;
		o->n = 0;
		r->values_lost[i] = false;
	} else if (strcmp(ev->event, "slurm_job") == 0) {
		s = journal_get(ev, "attempt");
		v = journal_get(ev, "id");
		if (s != NULL && v != NULL && atoi(s) == r->slurm_open[i]) {
			free(r->slurm_id[i]);
			r->slurm_id[i] = xstrdup(v);
		}
	} else if (strcmp(ev->event, "end") == 0) {
		r->pgid[i] = 0;
		r->slurm_open[i] = 0;
		/* the monotonic length when recorded; else the dates (an
		 * older journal), which a jump of the clock skews */
		s = journal_get(ev, "duration_ms");
		if (s != NULL && *s >= '0' && *s <= '9' &&
		    (ms = strtoll(s, &end, 10)) >= 0 && *end == '\0' &&
		    ms < (1LL << 42))
			r->duration[i] = ms;
		else
			r->duration[i] += ev->wall_ms;
	} else if (strcmp(ev->event, "status") == 0) {
		s = journal_get(ev, "status");
		r->succeeded[i] = s != NULL && strcmp(s, "succeeded") == 0;
		a = status_lookup(s, node_status_at, NS__COUNT);
		r->status[i] = a >= 0 ? (enum node_status)a : NS_PENDING;
	} else if (strcmp(ev->event, "reuse") == 0) {
		/* ended before the job began, from an earlier job's success
		 * (its "status" event follows) */
		job_note_reused(r->job, (size_t)i, journal_get(ev, "from"));
	} else if (strcmp(ev->event, "cache") == 0) {
		/* a cache hit: no attempt, its "status" event follows */
		job_note_cached(r->job, (size_t)i);
	} else if (strcmp(ev->event, "saved") == 0) {
		job_note_saved(r->job, (size_t)i, journal_get(ev, "name"),
		    journal_get(ev, "value"));
	} else if (strcmp(ev->event, "output") == 0) {
		k = journal_get(ev, "key");
		v = journal_get(ev, "value");
		if (k != NULL && v != NULL)
			resume_output(r, (size_t)i, k, v,
			    journal_get(ev, "secret") != NULL);
	}
	return 0;
}


int
job_resume(struct job *j, const char *path, char **cause)
{
	struct resume r;
	size_t n = j->m->nnodes, i;
	int rc, k;

	r.job = j;
	r.attempts = xcalloc(n, sizeof *r.attempts);
	r.succeeded = xcalloc(n, sizeof *r.succeeded);
	r.pgid = xcalloc(n, sizeof *r.pgid);
	r.lost = xcalloc(n, sizeof *r.lost);
	r.duration = xcalloc(n, sizeof *r.duration);
	r.last_start = xcalloc(n, sizeof *r.last_start);
	j->first_wall = -1;
	j->first_start = xreallocarray(NULL, n, sizeof *j->first_start);
	j->done_span = xreallocarray(NULL, n, sizeof *j->done_span);
	for (i = 0; i < n; i++)
		j->first_start[i] = j->done_span[i] = -1;
	r.slurm_open = xcalloc(n, sizeof *r.slurm_open);
	r.slurm_id = xcalloc(n, sizeof *r.slurm_id);
	r.status = xcalloc(n, sizeof *r.status);
	r.values_lost = xcalloc(n + 1, sizeof *r.values_lost);
	r.finished = false;
	r.cancel = 0;
	rc = journal_replay(path, resume_event, &r, cause);
	/* a success whose secret values are gone runs again */
	for (i = 0; rc == 0 && !r.finished && i < n; i++)
		if (r.succeeded[i] && r.values_lost[i]) {
			job_log(j, LOG_WARN, i, "resume", "a value that held a "
			    "secret is not in private/%s.values: the node "
			    "runs again", j->m->nodes[i].id);
			r.succeeded[i] = false;
		}
	if (rc == 0 && r.finished) {
		/*
		 * The job ended before the daemon went away (its bundle not
		 * yet written): nothing runs again; its end is written anew
		 * from what the journal holds.
		 */
		for (i = 0; i < n; i++) {
			sched_preset_final(j->s, i,
			    node_status_final(r.status[i]) ? r.status[i] :
			    NS_SKIPPED, r.attempts[i],
			    r.duration[i] > 0 ? r.duration[i] : 0);
			if (r.attempts[i] == 0)
				continue;
			j->done_span[i] = r.duration[i] > 0 ?
			    r.duration[i] : 0;
			if (r.last_start[i] > j->first_start[i] &&
			    j->first_start[i] >= 0)
				j->done_span[i] += r.last_start[i] -
				    j->first_start[i];
		}
		sched_preset_end(j->s, r.end);
		job_log(j, LOG_INFO, SIZE_MAX, "resume", "the job had ended "
		    "(%s): nothing runs again", dag_status_name(r.end));
	} else if (rc == 0 && j->lost) {
		/* its runner kept dying: end it, running nothing */
		for (i = 0; i < n; i++) {
			if (r.pgid[i] != 0)
				exec_local_kill_leftovers(j, i, r.pgid[i]);
			if (r.succeeded[i])
				sched_preset_succeeded(j->s, i, r.attempts[i],
				    r.duration[i] > 0 ? r.duration[i] : 0);
			else
				sched_preset_lost(j->s, i, r.attempts[i],
				    "lost: its supervisor died 3 times within "
				    "a minute");
		}
		sched_preset_end(j->s, DS_FAILED);
		job_log(j, LOG_ERROR, SIZE_MAX, "lost", "its supervisor died 3 "
		    "times within a minute: the job ends failed");
	} else if (rc == 0) {
		j->resume_cancel = r.cancel;
		for (i = 0; i < n; i++) {
			if (r.pgid[i] != 0) {
				exec_local_kill_leftovers(j, i, r.pgid[i]);
				/* and what left the group (setsid) */
				if ((k = exec_local_kill_strays(j, i,
				    SIGKILL)) > 0)
					job_log(j, LOG_WARN, i, "leftover",
					    "killed %d detached process(es) "
					    "from the interrupted run", k);
				r.lost[i]++;
			}
			/*
			 * An attempt cut short by the daemon's death is not
			 * the node's failure: it does not use up a retry.
			 */
			if (r.lost[i] > 0 && !r.succeeded[i] &&
			    j->m->nodes[i].retries >= 0 &&
			    j->m->nodes[i].retries <= INT_MAX - r.lost[i])
				j->m->nodes[i].retries += r.lost[i];
			if (r.succeeded[i]) {
				sched_preset_succeeded(j->s, i, r.attempts[i],
				    r.duration[i] > 0 ? r.duration[i] : 0);
				/* the last attempt's monotonic length, and the
				 * earlier attempts before it by the dates (a
				 * jump of the clock since cannot make it less
				 * than the last attempt) */
				j->done_span[i] = r.duration[i] > 0 ?
				    r.duration[i] : 0;
				if (r.last_start[i] > j->first_start[i] &&
				    j->first_start[i] >= 0)
					j->done_span[i] += r.last_start[i] -
					    j->first_start[i];
			}
			else if (r.slurm_open[i] > 0) {
				/* still Slurm's: its next start adopts the
				 * same attempt, never a second submission */
				job_proc(j, i)->adopt_attempt =
				    r.slurm_open[i];
				job_proc(j, i)->adopt_id = r.slurm_id[i];
				r.slurm_id[i] = NULL;
				sched_preset_attempts(j->s, i,
				    r.slurm_open[i] - 1);
			} else if (r.attempts[i] > 0)
				sched_preset_attempts(j->s, i, r.attempts[i]);
		}
	}
	/* the interrupted attempts' processes are gone: their directories
	 * can go too */
	if (rc == 0)
		exec_sandbox_leftovers(j);
	free(r.attempts);
	free(r.succeeded);
	free(r.pgid);
	free(r.lost);
	free(r.duration);
	free(r.last_start);
	for (i = 0; i < n; i++)
		free(r.slurm_id[i]);
	free(r.slurm_id);
	free(r.slurm_open);
	free(r.status);
	free(r.values_lost);
	return rc == 0 ? 0 : -1;
}
