/* The new job of a retry: what `dagexec retry` and a supervisor's
 * `submit --retry` share (see rerun.h). */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "job.h"
#include "log.h"
#include "manifest.h"
#include "nodedef.h"
#include "oldjob.h"
#include "rerun.h"
#include "retry.h"
#include "xmalloc.h"

struct rerun {
	struct oldjob	*old;
	struct manifest	*oldm;		/* the earlier job's manifest */
	struct manifest	*m;		/* the new job's, until taken */
	const struct manifest *mv;	/* the new job's, taken or not */
	char		*text;		/* its bytes */
	size_t		 len;
	bool		*forced;	/* per node of m: changed or new */
	bool		*reuse;
	bool		*skip;		/* --from: not from the cache */
	char		**exp_group;	/* the dynamic foreach nodes expanded
					   as the earlier job did: */
	char		**exp_value;	/*   the value their items are from */
	size_t		 nexp;
};

/* Parse text (named name) into *m; 0, or -1 with errno EILSEQ and d. */
static int
rerun_parse(const char *name, const char *text, size_t len,
    struct manifest **m, struct diags *d)
{
	if (manifest_parse(name, text, len, m, d) != 0) {
		errno = EILSEQ;
		return -1;
	}
	return 0;
}

/* A retry keeps to the nodes the earlier job had (all of its manifest's,
 * unless it was a run --target) and what they need: m cut down to them.
 * Returns true when m lost a node. */
static bool
rerun_scope(struct manifest *m, const struct oldjob *old)
{
	bool *keep = xcalloc(m->nnodes + 1, sizeof *keep), all = true;
	size_t i;

	for (i = 0; i < m->nnodes; i++)
		if (!(keep[i] = node_extra(&m->nodes[i])->foreach != NULL ?
		    oldjob_has_group(old, m->nodes[i].extra->group) :
		    oldjob_has_node(old, m->nodes[i].id)))
			all = false;
	if (all) {
		free(keep);
		return false;
	}
	(void)retry_needed(&m->graph, keep);
	manifest_keep(m, keep);
	free(keep);
	return true;
}

/* The edited manifest's changed and new nodes run again; nodes in one
 * manifest only are an error unless force; another DAG's name is an error
 * even with force. 0, or -1 with *cause. */
static int
rerun_diff(struct rerun *r, const char *edited, bool force, char **cause)
{
	char *only_old = NULL, *only_new = NULL, *a, *b;
	int rc = 0;

	/* another DAG's manifest is not an edit of this one: its nodes'
	 * history and cache entries are another DAG's, so even --force
	 * refuses it */
	if (edited != NULL && strcmp(r->oldm->name, r->m->name) != 0) {
		*cause = xasprintf("'%s' is the manifest of DAG '%s', the "
		    "earlier job ran DAG '%s'", edited, r->m->name,
		    r->oldm->name);
		errno = EILSEQ;
		return -1;
	}
	if (edited != NULL && nodedef_diff(r->oldm, r->m, r->forced,
	    &only_old, &only_new) > 0 && !force) {
		a = only_old == NULL ? xstrdup("") : xasprintf(" only in the "
		    "earlier job's manifest: %s%s", only_old,
		    only_new != NULL ? ";" : "");
		b = only_new == NULL ? xstrdup("") : xasprintf(" only in "
		    "'%s': %s", edited, only_new);
		*cause = xasprintf("the manifests do not have the same nodes:"
		    "%s%s (--force runs the new ones and drops the others)",
		    a, b);
		free(a);
		free(b);
		errno = EILSEQ;
		rc = -1;
	}
	free(only_old);
	free(only_new);
	return rc;
}

int
rerun_open(const char *path, const char *tmpbase, const char *edited,
    bool force, struct rerun **out, struct diags *d, char **name,
    char **cause)
{
	struct rerun *r = xcalloc(1, sizeof *r);
	const char *t;
	int saved;

	*out = NULL;
	*name = NULL;
	if (oldjob_open(path, tmpbase, &r->old, cause) != 0)
		goto fail;
	t = oldjob_manifest(r->old, &r->len);
	r->text = xmalloc(r->len + 1);
	memcpy(r->text, t, r->len);
	r->text[r->len] = '\0';
	*name = xasprintf("%s/manifest.yaml", oldjob_id(r->old));
	if (rerun_parse(*name, r->text, r->len, &r->oldm, d) != 0)
		goto fail;
	if (edited != NULL) {
		free(r->text);
		r->text = NULL;
		free(*name);
		*name = xstrdup(edited);
		if (fs_read_file(edited, MANIFEST_MAX_BYTES, &r->text, &r->len,
		    cause) != 0)
			goto fail;
	}
	if (rerun_parse(*name, r->text, r->len, &r->m, d) != 0)
		goto fail;
	free(*name);
	*name = NULL;
	r->mv = r->m;
	/* the edited manifest's new nodes stay, unless the earlier job ran
	 * only some of its own */
	if (rerun_scope(r->oldm, r->old))
		(void)rerun_scope(r->m, r->old);
	r->forced = xcalloc(r->m->nnodes + 1, sizeof *r->forced);
	if (rerun_diff(r, edited, force, cause) != 0)
		goto fail;
	*out = r;
	return 0;
fail:
	saved = errno;
	rerun_free(r);
	errno = saved;
	return -1;
}

/* A dynamic foreach whose node it expands over is reused: its items are
 * that node's value in the earlier job, so it is expanded here as it was
 * there, and its instances that succeeded can be reused. True when one
 * was. */
static bool
rerun_expand(struct rerun *r)
{
	struct manifest *m = r->m;
	const struct foreach_spec *f;
	const struct kv *values;
	const char **items, *v;
	char *buf, *c2 = NULL;
	size_t t, nvalues, k, n, old;
	bool did = false;

	for (t = 0; m != NULL && t < m->nnodes; t++) {
		f = node_extra(&m->nodes[t])->foreach;
		if (f == NULL || !r->reuse[f->from])
			continue;
		(void)oldjob_node(r->old, m->nodes[f->from].id, &values,
		    &nvalues);
		for (v = NULL, k = 0; k < nvalues; k++)
			if (strcmp(values[k].key, f->key) == 0)
				v = values[k].value;
		if (v == NULL)
			continue;	/* skipped when it runs */
		n = manifest_items(v, &buf, &items);
		old = m->nnodes;
		r->exp_group = xreallocarray(r->exp_group, r->nexp + 1,
		    sizeof *r->exp_group);
		r->exp_value = xreallocarray(r->exp_value, r->nexp + 1,
		    sizeof *r->exp_value);
		r->exp_group[r->nexp] = xstrdup(m->nodes[t].extra->group);
		if (n > 0 && manifest_expand(m, t, items, n, &c2) == 0) {
			r->exp_value[r->nexp++] = xstrdup(v);
			r->forced = xreallocarray(r->forced, m->nnodes + 1,
			    sizeof *r->forced);
			for (k = old; k < m->nnodes; k++)
				r->forced[k] = r->forced[t];
			did = true;
		} else
			free(r->exp_group[r->nexp]);
		free(c2);
		c2 = NULL;
		free(items);
		free(buf);
	}
	return did;
}

long
rerun_plan(struct rerun *r, char *const *from, size_t nfrom, size_t *bad,
    char **cause)
{
	const struct manifest *m = r->mv;
	const struct kv *values;
	bool *succeeded;
	size_t i, nvalues, nrun, unknown;

again:
	free(r->skip);
	r->skip = xcalloc(m->nnodes + 1, sizeof *r->skip);
	/* the nodes --from names run whatever the cache holds; an instance
	 * of a foreach expanded below is known once it is */
	for (i = 0, unknown = SIZE_MAX; i < nfrom; i++)
		if (!manifest_named(m, from[i], r->skip) && unknown == SIZE_MAX)
			unknown = i;
	for (i = 0; i < m->nnodes; i++)
		if (r->skip[i])
			r->forced[i] = true;
	/* a success counts only with every declared output kept */
	succeeded = xcalloc(m->nnodes + 1, sizeof *succeeded);
	for (i = 0; i < m->nnodes; i++)
		succeeded[i] = oldjob_node(r->old, m->nodes[i].id, &values,
		    &nvalues) == NS_SUCCEEDED &&
		    oldjob_has_outputs(r->old, &m->nodes[i]);
	free(r->reuse);
	r->reuse = xcalloc(m->nnodes + 1, sizeof *r->reuse);
	nrun = retry_plan(&m->graph, succeeded, r->forced, r->reuse);
	free(succeeded);
	if (rerun_expand(r))
		goto again;
	if (unknown != SIZE_MAX) {
		*bad = unknown;
		*cause = xasprintf("unknown node '%s' in --from",
		    from[unknown]);
		errno = EINVAL;
		return -1;
	}
	return (long)nrun;
}

const char *
rerun_old_id(const struct rerun *r)
{
	return oldjob_id(r->old);
}

struct manifest *
rerun_take_manifest(struct rerun *r)
{
	struct manifest *m = r->m;

	r->m = NULL;
	return m;
}

const struct manifest *
rerun_manifest(const struct rerun *r)
{
	return r->mv;
}

const char *
rerun_text(const struct rerun *r, size_t *len)
{
	*len = r->len;
	return r->text;
}

const bool *
rerun_cache_skip(const struct rerun *r)
{
	return r->skip;
}

int
rerun_preset(const struct rerun *r, struct job *j, char **cause)
{
	const struct manifest *m = job_manifest(j);
	const struct node *n;
	const char *job = strrchr(job_dir(j), '/');
	struct unrun u;
	char *logs, *c2 = NULL;
	size_t t, i;
	int rc = 0;

	job = job != NULL ? job + 1 : job_dir(j);
	logs = xasprintf("%s/nodes", job_dir(j));
	/* the expansions first: a resumed retry makes these instances */
	for (i = 0; i < r->nexp; i++)
		job_note_expanded(j, r->exp_group[i], r->exp_value[i]);
	/* needs first: when one fails, none of what depends on it has been
	 * preset, so the nodes left pending can run as they are */
	for (t = 0; r->reuse != NULL && t < m->nnodes && rc == 0; t++) {
		i = m->graph.topo[t];
		if (!r->reuse[i])
			continue;
		n = &m->nodes[i];
		memset(&u, 0, sizeof u);
		u.kind = UNRUN_REUSED;
		u.from = oldjob_id(r->old);
		(void)oldjob_node(r->old, n->id, &u.values, &u.nvalues);
		u.outputs_fd = n->noutputs > 0 ?
		    oldjob_outputs_fd(r->old, n->id) : -1;
		rc = job_succeed_unrun(j, i, &u, cause);
		if (u.outputs_fd >= 0)
			close(u.outputs_fd);
		if (rc != 0)
			break;
		/* its logs too, so that the new bundle shows what it did */
		if (oldjob_copy_logs(r->old, n->id, logs, &c2) != 0) {
			log_event(LOG_WARN, job, n->id, "reuse", "%s", c2);
			free(c2);
			c2 = NULL;
		}
	}
	free(logs);
	return rc;
}

void
rerun_free(struct rerun *r)
{
	size_t i;

	if (r == NULL)
		return;
	oldjob_free(r->old);
	manifest_free(r->oldm);
	manifest_free(r->m);
	free(r->text);
	free(r->forced);
	free(r->reuse);
	free(r->skip);
	for (i = 0; i < r->nexp; i++) {
		free(r->exp_group[i]);
		free(r->exp_value[i]);
	}
	free(r->exp_group);
	free(r->exp_value);
	free(r);
}
