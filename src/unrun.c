/* A node that ends succeeded without the executor ever starting it: a node
 * a retry reuses from an earlier job, or a cache hit found as its first
 * start is handed out.
 * What an attempt would have left is put in place instead: the declared
 * outputs in the work directory and in outputs/NODE, the $DAGEXEC_OUTPUT
 * values where its dependents read them, and the journal's record of its
 * end. Before the job begins the scheduler is told with the preset a
 * resumed job uses; after, with sched_unstarted: one way for a node to be
 * over without an attempt. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "job_int.h"
#include "journal.h"
#include "kvfile.h"
#include "xmalloc.h"

void
job_note_reused(struct job *j, size_t i, const char *from)
{
	if (from == NULL || i >= j->m->nnodes)
		return;
	if (j->reused_from == NULL)
		j->reused_from = xcalloc(j->m->nnodes, sizeof *j->reused_from);
	free(j->reused_from[i]);
	j->reused_from[i] = xstrdup(from);
	job_state_node(j, i);
}

/* Copy node i's declared outputs from the directory fd into the work
 * directory (where its dependents look for them) and into outputs/NODE
 * (for this job's bundle), with the owner's file-system ids. */
static int
unrun_outputs(struct job *j, size_t i, int fd, char **cause)
{
	const struct node *n = &j->m->nodes[i];
	char *dest, *c2 = NULL;
	size_t k;
	int rc = 0;

	if (n->noutputs == 0)
		return 0;
	if (fd < 0 || j->workdir_fd < 0) {
		*cause = xasprintf("cannot restore the outputs of '%s': %s",
		    n->id, fd < 0 ? "none were kept" : j->workdir_err);
		return -1;
	}
	if (job_outputs_dir(j, cause) != 0)
		return -1;
	dest = xasprintf("%s/outputs/%s", j->dir, n->id);
	for (k = 0; rc == 0 && k < n->noutputs; k++) {
		if (bundle_collect_output(fd, n->outputs[k], j->workdir, NULL,
		    &c2) != 0 || bundle_collect_output(fd, n->outputs[k], dest,
		    NULL, &c2) != 0) {
			*cause = xasprintf("cannot restore the outputs of '%s': "
			    "%s", n->id, c2);
			free(c2);
			rc = -1;
		}
	}
	free(dest);
	return rc;
}

/* Whether node i may end without an attempt now: before the job begins,
 * a pending node; after, (a cache hit) a node whose first start was just
 * handed out and not carried out. */
static bool
unrun_now(const struct job *j, size_t i, const struct unrun *u)
{
	const struct node_run *r = sched_node(j->s, i);

	if (sched_status(j->s) == DS_QUEUED)
		return r->status == NS_PENDING;
	return u->kind == UNRUN_CACHED && r->status == NS_RUNNING &&
	    r->attempts == 1 && (j->procs[i] == NULL ||
	    (j->procs[i]->pid == 0 && !j->procs[i]->slurm_live &&
	    j->procs[i]->ending == NULL));
}

int
job_succeed_unrun(struct job *j, size_t i, const struct unrun *u,
    char **cause)
{
	struct kvlist *o = &j->outs[i];
	const char *id = j->m->nodes[i].id;
	int64_t now = loop_wallclock();
	bool begun = sched_status(j->s) != DS_QUEUED;
	size_t k;

	if (!unrun_now(j, i, u)) {
		*cause = xasprintf("node '%s' cannot end without an attempt "
		    "now", id);
		return -1;
	}
	if (unrun_outputs(j, i, u->outputs_fd, cause) != 0)
		return -1;
	kvfile_free(o->v, o->n);
	o->v = xcalloc(u->nvalues + 1, sizeof *o->v);
	o->n = u->nvalues;
	for (k = 0; k < u->nvalues; k++) {
		o->v[k].key = xstrdup(u->values[k].key);
		o->v[k].value = xstrdup(u->values[k].value);
	}
	/* before the job's "begin": the node ended before the job began;
	 * a resume (resume_event) and a later retry read it back */
	if (u->kind == UNRUN_REUSED) {
		journal_add(j->jr, now, "reuse", "node", id, "from", u->from,
		    (char *)NULL);
		job_note_reused(j, i, u->from);
	} else {
		/* a resume reads the hit back: the node does not run */
		journal_add(j->jr, now, "cache", "node", id, "key", u->key,
		    (char *)NULL);
		job_note_cached(j, i);
		for (k = 0; k < u->nmetrics; k++) {
			journal_add(j->jr, now, "saved", "node", id, "name",
			    u->metrics[k].key, "value", u->metrics[k].value,
			    (char *)NULL);
			job_note_saved(j, i, u->metrics[k].key,
			    u->metrics[k].value);
		}
	}
	for (k = 0; k < o->n; k++)
		journal_add(j->jr, now, "output", "node", id, "key",
		    o->v[k].key, "value", o->v[k].value,
		    (char *)NULL);
	/* a key is shown by its first 12 digits, a job id whole */
	if (u->kind == UNRUN_REUSED)
		job_log(j, LOG_INFO, i, "reused", "from %s", u->from);
	else
		job_log(j, LOG_INFO, i, "cached", "key=%.12s", u->key);
	if (begun) {
		/* its "status" event comes with the scheduler's change */
		sched_unstarted(j->s, i, loop_now());
		return 0;
	}
	journal_add(j->jr, now, "status", "node", id, "status",
	    node_status_name(NS_SUCCEEDED), (char *)NULL);
	sched_preset_succeeded(j->s, i, 0, 0);
	return 0;
}
