/* A job's cached nodes (interface §8): the key of a node as it is about to
 * start (its needs are done then), a hit ended through job_succeed_unrun,
 * and after a success the key again and, when both agree, the entry stored
 * on the job's worker thread beside the copy of its outputs. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache.h"
#include "job_int.h"
#include "journal.h"
#include "kvfile.h"
#include "units.h"
#include "xmalloc.h"

/* What the worker needs to key a success again and store it: everything
 * copied or owned by the job, which outlives it (job_free waits for the
 * worker). */
struct cachestore {
	struct job	*job;		/* read-only on the worker thread */
	size_t		 node;
	char		 key[CACHE_KEY_LEN + 1];	/* at its start */
	struct kv	**need_values;	/* copies, per need */
	size_t		*nneed_values;
	struct kv	*values;	/* its own, copied */
	size_t		 nvalues;
	struct kv	*metrics;	/* summed over its attempts */
	size_t		 nmetrics;
	int64_t		 duration_ms;
	int64_t		 created_ms;
	struct cache_id	 refused;	/* what its lookup did not use */
	char		*warn;		/* for the loop to log */
	int		 stored;	/* 1 stored, 2 another run's entry kept */
};

void
job_cache_init(struct job *j, const struct job_config *c)
{
	size_t i;
	bool any = false;

	for (i = 0; i < j->m->nnodes; i++)
		any = any || node_cache(&j->m->nodes[i])->enabled;
	if (c->cache_dir == NULL || !any)
		return;
	j->cache_dir = xstrdup(c->cache_dir);
	j->nc = xcalloc(j->m->nnodes, sizeof *j->nc);
	for (i = 0; c->cache_skip != NULL && i < j->m->nnodes; i++)
		j->nc[i].skip = c->cache_skip[i];
}

void
job_cache_free(struct job *j)
{
	size_t i;

	if (j->cached != NULL) {
		for (i = 0; i < j->m->nnodes; i++)
			metrics_free(j->cached[i].saved, j->cached[i].nsaved);
		free(j->cached);
	}
	metrics_free(j->saved, j->nsaved);
	free(j->nc);
	free(j->cache_dir);
}

void
job_note_cached(struct job *j, size_t i)
{
	if (i >= j->m->nnodes)
		return;
	if (j->cached == NULL)
		j->cached = xcalloc(j->m->nnodes, sizeof *j->cached);
	j->cached[i].hit = true;
	job_state_node(j, i);
}

void
job_note_saved(struct job *j, size_t i, const char *name, const char *value)
{
	char *end;
	double v;

	if (i >= j->m->nnodes || name == NULL || value == NULL)
		return;
	v = strtod(value, &end);
	if (end == value || *end != '\0')
		return;
	job_note_cached(j, i);
	metric_add(&j->cached[i].saved, &j->cached[i].nsaved, name, v);
	metric_add(&j->saved, &j->nsaved, name, v);
}

/* The key of node i as things are now, with the owner's ids. */
static int
node_key(struct job *j, size_t i, struct kv *const *need_values,
    const size_t *nneed_values, char key[CACHE_KEY_LEN + 1], char **warn,
    char **cause)
{
	struct cache_keyin in;
	int rc;

	if (j->workdir_fd < 0) {
		*cause = xstrdup(j->workdir_err != NULL ? j->workdir_err :
		    "no work directory");
		return -1;
	}
	memset(&in, 0, sizeof in);
	in.m = j->m;
	in.node = i;
	in.workdir = j->workdir;
	in.workdir_fd = j->workdir_fd;
	in.need_values = (const struct kv *const *)need_values;
	in.nneed_values = nneed_values;
	in.env = j->base_env;
	in.outputs_fd = openat(AT_FDCWD, j->dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC);
	if (in.outputs_fd >= 0) {
		int fd = openat(in.outputs_fd, "outputs", O_RDONLY |
		    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		close(in.outputs_fd);
		in.outputs_fd = fd;
	}
	if (in.outputs_fd < 0) {
		*cause = xasprintf("cannot open '%s/outputs': %s", j->dir,
		    strerror(errno));
		return -1;
	}
	rc = cache_node_key(&in, key, warn, cause);
	close(in.outputs_fd);
	return rc;
}

/* The values node i's needs pass on, as the arrays node_key takes (they
 * point into the job's records). */
static void
need_values_of(struct job *j, size_t i, struct kv ***v, size_t **n)
{
	const struct node *nd = &j->m->nodes[i];
	size_t k;

	*v = xcalloc(nd->nneeds + 1, sizeof **v);
	*n = xcalloc(nd->nneeds + 1, sizeof **n);
	for (k = 0; k < nd->nneeds; k++) {
		(*v)[k] = j->outs[nd->needs[k]].v;
		(*n)[k] = j->outs[nd->needs[k]].n;
	}
}

/* An entry found for node i: a hit unless it is older than max_age or
 * does not hold what the node declares. */
static bool
entry_fits(struct job *j, size_t i, const struct cache_entry *e)
{
	const struct node *n = &j->m->nodes[i];
	char b[32];
	size_t k, q;

	if (node_cache(n)->max_age_ms > 0 &&
	    loop_wallclock() - e->created_ms > node_cache(n)->max_age_ms) {
		job_log(j, LOG_INFO, i, "cache", "entry %.12s is older than "
		    "max_age %s: the node runs", e->key,
		    units_format_duration(node_cache(n)->max_age_ms, b, sizeof b));
		return false;
	}
	for (k = 0; k < n->noutputs; k++) {
		for (q = 0; q < e->noutputs; q++)
			if (strcmp(e->outputs[q], n->outputs[k]) == 0)
				break;
		if (q == e->noutputs) {
			job_log(j, LOG_WARN, i, "cache", "entry %.12s lacks "
			    "output '%s': the node runs", e->key,
			    n->outputs[k]);
			return false;
		}
	}
	return true;
}

/* End node i from entry e (job_succeed_unrun). */
static bool
hit(struct job *j, size_t i, const struct cache_entry *e)
{
	struct unrun u;
	char *cause = NULL;
	int rc;

	memset(&u, 0, sizeof u);
	u.kind = UNRUN_CACHED;
	u.key = e->key;
	u.values = e->values;
	u.nvalues = e->nvalues;
	u.metrics = e->metrics;
	u.nmetrics = e->nmetrics;
	u.outputs_fd = j->m->nodes[i].noutputs > 0 ?
	    cache_entry_outputs(e, &cause) : -1;
	if (j->m->nodes[i].noutputs > 0 && u.outputs_fd < 0) {
		job_log(j, LOG_WARN, i, "cache", "%s: the node runs", cause);
		free(cause);
		return false;
	}
	rc = job_succeed_unrun(j, i, &u, &cause);
	if (u.outputs_fd >= 0)
		close(u.outputs_fd);
	if (rc != 0) {
		job_log(j, LOG_WARN, i, "cache", "%s: the node runs", cause);
		free(cause);
		return false;
	}
	return true;
}

bool
job_cache_start(struct job *j, size_t i, int attempt)
{
	struct nodecache *nc;
	struct cache_entry *e = NULL;
	struct kv **nv;
	size_t *nn;
	char *warn = NULL, *cause = NULL;
	bool done = false;
	int r;

	if (j->nc == NULL || !node_cache(&j->m->nodes[i])->enabled)
		return false;
	nc = &j->nc[i];
	/* the key reads its needs' outputs from there (on the loop: the
	 * store's keying, on the worker, finds it made) */
	if (job_outputs_dir(j, &cause) != 0) {
		job_log(j, LOG_WARN, i, "cache", "no key: %s", cause);
		free(cause);
		return false;
	}
	need_values_of(j, i, &nv, &nn);
	r = node_key(j, i, nv, nn, nc->key, &warn, &cause);
	free(nv);
	free(nn);
	nc->keyed = r == 0;
	if (warn != NULL)
		job_log(j, LOG_WARN, i, "cache", "%s (counted as empty)", warn);
	free(warn);
	if (r != 0) {
		job_log(j, LOG_WARN, i, "cache", "no key: %s", cause);
		free(cause);
		return false;
	}
	/* a retry keeps its attempt number and what its first attempt
	 * looked at; a named --from node runs, and replaces the entry */
	if (attempt != 1)
		return false;
	if (nc->skip) {
		cache_id_of(j->cache_dir, nc->key, &nc->refused);
		return false;
	}
	r = cache_lookup(j->cache_dir, nc->key, &e, &nc->refused, &cause);
	if (r < 0) {
		job_log(j, LOG_WARN, i, "cache", "%s: a miss", cause);
		free(cause);
	} else if (r == 0)
		job_log(j, LOG_INFO, i, "cache", "miss %.12s", nc->key);
	else if (entry_fits(j, i, e))
		done = hit(j, i, e);
	cache_entry_free(e);
	return done;
}

/* ---- storing a success ----------------------------------------------- */

struct cachestore *
job_cache_store_new(struct job *j, size_t i, const struct kv *values,
    size_t nvalues, const struct metric *m, size_t nm)
{
	const struct node *nd = &j->m->nodes[i];
	const struct node_run *r = sched_node(j->s, i);
	struct metric *sum = NULL;
	struct cachestore *cs;
	size_t k, q, nsum = 0;
	struct kv **nv;
	size_t *nn;

	if (j->nc == NULL || !node_cache(nd)->enabled || !j->nc[i].keyed)
		return NULL;
	/* the store is a file dagexec writes: no secret goes there */
	for (k = 0; k < nvalues; k++)
		if (secrets_hit(j->secrets, values[k].value,
		    strlen(values[k].value))) {
			job_log(j, LOG_INFO, i, "cache", "not stored: its "
			    "value '%s' holds a secret", values[k].key);
			return NULL;
		}
	cs = xcalloc(1, sizeof *cs);
	cs->job = j;
	cs->node = i;
	memcpy(cs->key, j->nc[i].key, sizeof cs->key);
	cs->refused = j->nc[i].refused;
	need_values_of(j, i, &nv, &nn);
	cs->need_values = xcalloc(nd->nneeds + 1, sizeof *cs->need_values);
	cs->nneed_values = nn;
	for (k = 0; k < nd->nneeds; k++) {
		cs->need_values[k] = xcalloc(nn[k] + 1, sizeof **nv);
		for (q = 0; q < nn[k]; q++) {
			cs->need_values[k][q].key = xstrdup(nv[k][q].key);
			cs->need_values[k][q].value = xstrdup(nv[k][q].value);
		}
	}
	free(nv);
	cs->values = xcalloc(nvalues + 1, sizeof *cs->values);
	for (k = 0; k < nvalues; k++) {
		cs->values[k].key = xstrdup(values[k].key);
		cs->values[k].value = xstrdup(values[k].value);
	}
	cs->nvalues = nvalues;
	/* what getting this success cost: its earlier attempts too */
	for (k = 0; r != NULL && k < r->nmetrics; k++)
		metric_add(&sum, &nsum, r->metrics[k].name,
		    r->metrics[k].value);
	for (k = 0; k < nm; k++)
		metric_add(&sum, &nsum, m[k].name, m[k].value);
	cs->metrics = xcalloc(nsum + 1, sizeof *cs->metrics);
	for (k = 0; k < nsum; k++) {
		cs->metrics[k].key = xstrdup(sum[k].name);
		cs->metrics[k].value = xasprintf("%.17g", sum[k].value);
	}
	cs->nmetrics = nsum;
	metrics_free(sum, nsum);
	cs->created_ms = loop_wallclock();
	cs->duration_ms = r != NULL && r->started_ms >= 0 ?
	    loop_now() - r->started_ms : 0;
	return cs;
}

void
job_cache_store_free(struct cachestore *cs)
{
	size_t k;

	if (cs == NULL)
		return;
	for (k = 0; k < cs->job->m->nodes[cs->node].nneeds; k++)
		kvfile_free(cs->need_values[k], cs->nneed_values[k]);
	free(cs->need_values);
	free(cs->nneed_values);
	kvfile_free(cs->values, cs->nvalues);
	kvfile_free(cs->metrics, cs->nmetrics);
	free(cs->warn);
	free(cs);
}

void
job_cache_store_run(struct cachestore *cs)
{
	struct job *j = cs->job;
	const struct node *n = &j->m->nodes[cs->node];
	struct cache_put p;
	char key[CACHE_KEY_LEN + 1], *warn = NULL, *cause = NULL, *dir;
	int r;

	/* keyed again now that it succeeded: an input that changed while
	 * it ran (a sibling wrote it) would make the entry lie */
	if (node_key(j, cs->node, cs->need_values, cs->nneed_values, key,
	    &warn, &cause) != 0) {
		cs->warn = xasprintf("not stored: no key after it ran: %s",
		    cause);
		free(cause);
		free(warn);
		return;
	}
	free(warn);
	if (strcmp(key, cs->key) != 0) {
		cs->warn = xstrdup("not stored: an input changed while it "
		    "ran");
		return;
	}
	memset(&p, 0, sizeof p);
	p.key = cs->key;
	p.node = n->id;
	p.dag = j->m->name;
	p.job = j->id;
	p.created_ms = cs->created_ms;
	p.duration_ms = cs->duration_ms;
	p.refused = cs->refused;
	p.values = cs->values;
	p.nvalues = cs->nvalues;
	p.metrics = cs->metrics;
	p.nmetrics = cs->nmetrics;
	p.outputs = n->outputs;
	p.noutputs = n->noutputs;
	/* from outputs/NODE, the copy made at its end: what it produced */
	dir = xasprintf("%s/outputs/%s", j->dir, n->id);
	p.outputs_fd = n->noutputs > 0 ? open(dir, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC) : -1;
	free(dir);
	if ((r = cache_store(j->cache_dir, &p, &cause)) < 0) {
		cs->warn = xasprintf("not stored: %s", cause);
		free(cause);
	} else
		cs->stored = r == 0 ? 1 : 2;
	if (p.outputs_fd >= 0)
		close(p.outputs_fd);
}

void
job_cache_store_done(struct cachestore *cs)
{
	struct job *j = cs->job;

	if (cs->warn != NULL)
		job_log(j, LOG_WARN, cs->node, "cache", "%s", cs->warn);
	else if (cs->stored == 1)
		job_log(j, LOG_INFO, cs->node, "cache", "stored %.12s",
		    cs->key);
	else if (cs->stored == 2)
		job_log(j, LOG_INFO, cs->node, "cache", "stored %.12s by "
		    "another run meanwhile: that entry is kept", cs->key);
}
