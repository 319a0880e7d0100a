/* A dynamic foreach in a running job: when the node it expands over has
 * succeeded, one instance a line of that node's value; the expansion is in
 * the journal before any instance starts, and a resumed job makes the same
 * instances again from it. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job_int.h"
#include "journal.h"
#include "strbuf.h"
#include "xmalloc.h"

/* Grow array v (NULL: none kept) from old to n entries, the new zero. */
#define GROW_ZERO(v, old, n) do {					\
	if ((v) != NULL) {						\
		(v) = xreallocarray((v), (n), sizeof *(v));		\
		memset((v) + (old), 0, ((n) - (old)) * sizeof *(v));	\
	}								\
} while (0)

static void
grow_minus1(int64_t **v, size_t old, size_t n)
{
	size_t i;

	if (*v == NULL)
		return;
	*v = xreallocarray(*v, n, sizeof **v);
	for (i = old; i < n; i++)
		(*v)[i] = -1;
}

void
job_grow(struct job *j, size_t old)
{
	size_t n = j->m->nnodes;

	if (n <= old && j->procs != NULL)
		return;
	/* a node's attempt record is made as it starts (job_proc): a node
	 * added costs a pointer here, and its last success's values */
	j->procs = xreallocarray(j->procs, n + 1, sizeof *j->procs);
	memset(j->procs + old, 0, (n + 1 - old) * sizeof *j->procs);
	j->outs = xreallocarray(j->outs, n + 1, sizeof *j->outs);
	memset(j->outs + old, 0, (n + 1 - old) * sizeof *j->outs);
	if (old == 0)
		return;
	GROW_ZERO(j->slurm_jobs, old, n);
	GROW_ZERO(j->reused_from, old, n);
	GROW_ZERO(j->nc, old, n);
	GROW_ZERO(j->cached, old, n);
	GROW_ZERO(j->estimates, old, n);
	GROW_ZERO(j->sandbox, old, n);
	grow_minus1(&j->first_start, old, n);
	grow_minus1(&j->done_span, old, n);
}

/* The items joined again, a line each, as the journal holds them. */
static char *
expand_join(const char *const *items, size_t n)
{
	struct strbuf b = STRBUF_INIT;
	size_t k;

	for (k = 0; k < n; k++) {
		if (k > 0)
			strbuf_lit(&b, "\n");
		strbuf_str(&b, items[k]);
	}
	return b.s != NULL ? b.s : xstrdup("");
}

/* The value key of a node's last success (its values o), or NULL. */
static const char *
expand_value(const struct kvlist *o, const char *key)
{
	const char *v = NULL;
	size_t k;

	for (k = 0; k < o->n; k++)
		if (strcmp(o->v[k].key, key) == 0)
			v = o->v[k].value;	/* the last one */
	return v;
}

/* End t without instances: skipped (why REASON_EMPTY) or failed (its
 * status change is logged and journalled with error). */
static void
expand_none(struct job *j, size_t t, enum reason why, char *error)
{
	sched_expand(j->s, t, 0, loop_now(), why, error);
	free(error);
}

void
job_expand(struct job *j, size_t t)
{
	const struct node *n = &j->m->nodes[t];
	const struct foreach_spec *f = node_extra(n)->foreach;
	const char *value, *from;
	const char **items = NULL;
	char *buf = NULL, *joined, *group, *cause = NULL;
	char num[32];
	size_t nitems, old, k;

	if (!sched_expanding(j->s, t) || f == NULL)
		return;
	if (j->copying > 0) {
		/* the worker reads the manifest, which this changes */
		for (k = 0; k < j->nexpand_wait; k++)
			if (j->expand_wait[k] == t)
				return;
		xgrow(&j->expand_wait, &j->expand_wait_cap,
		    j->nexpand_wait + 1, sizeof *j->expand_wait);
		j->expand_wait[j->nexpand_wait++] = t;
		return;
	}
	from = j->m->nodes[f->from].id;
	if ((value = expand_value(&j->outs[f->from], f->key)) == NULL) {
		expand_none(j, t, REASON_EMPTY, xasprintf("no items: '%s' "
		    "wrote no value '%s'", from, f->key));
		return;
	}
	/* its items become instance ids and the journal's expand line */
	if (secrets_hit(j->secrets, value, strlen(value))) {
		expand_none(j, t, REASON_SPAWN_ERROR, xasprintf("value '%s' "
		    "of '%s' holds a secret: its lines would be instance ids "
		    "and in events.log", f->key, from));
		return;
	}
	nitems = manifest_items(value, &buf, &items);
	if (nitems == 0)
		expand_none(j, t, REASON_EMPTY, xasprintf("no items: value "
		    "'%s' of '%s' is empty", f->key, from));
	else if (nitems > MANIFEST_INSTANCES_MAX)
		expand_none(j, t, REASON_SPAWN_ERROR, xasprintf("value '%s' "
		    "of '%s' has %zu items: at most %d instances a node",
		    f->key, from, nitems, MANIFEST_INSTANCES_MAX));
	if (nitems == 0 || nitems > MANIFEST_INSTANCES_MAX)
		goto out;
	/* on file before anything of it is relied on: a resumed job makes
	 * these instances, whatever the need would write if run again */
	group = xstrdup(node_extra(n)->group);
	joined = expand_join(items, nitems);
	snprintf(num, sizeof num, "%zu", nitems);
	journal_add(j->jr, loop_wallclock(), "expand", "node", group, "count",
	    num, "items", joined, (char *)NULL);
	free(joined);
	if (journal_write(j->jr, &cause) != 0) {
		job_log(j, LOG_ERROR, SIZE_MAX, "journal", "%s", cause);
		free(cause);
		cause = NULL;
	}
	job_state_quiet(j);
	old = j->m->nnodes;
	if (manifest_expand(j->m, t, items, nitems, &cause) != 0) {
		expand_none(j, t, REASON_SPAWN_ERROR, cause);
		free(group);
		goto out;
	}
	job_grow(j, old);
	sched_expand(j->s, t, nitems, loop_now(), REASON_NONE, NULL);
	job_log(j, LOG_INFO, SIZE_MAX, "expand", "node=%s instances=%zu "
	    "from=%s", group, nitems, from);
	free(group);
	job_state_touch(j);
out:
	free(items);
	free(buf);
}

void
job_expand_waiting(struct job *j)
{
	size_t *wait = j->expand_wait, n = j->nexpand_wait, k;

	j->expand_wait = NULL;
	j->nexpand_wait = j->expand_wait_cap = 0;
	for (k = 0; k < n; k++)
		job_expand(j, wait[k]);
	free(wait);
}

struct replay {
	struct manifest	*m;
	size_t		 done;
};

static int
expand_replay_event(const struct journal_event *ev, void *arg)
{
	struct replay *r = arg;
	const char *id, *items, **v = NULL;
	char *buf = NULL, *cause = NULL;
	size_t n;
	long t;

	if (strcmp(ev->event, "expand") != 0)
		return 0;
	/* a node of this manifest still to expand; anything else (an
	 * edited journal) is left alone: the node expands when it runs */
	if ((id = journal_get(ev, "node")) == NULL ||
	    (items = journal_get(ev, "items")) == NULL ||
	    (t = manifest_find(r->m, id)) < 0 ||
	    node_extra(&r->m->nodes[t])->foreach == NULL)
		return 0;
	n = manifest_items(items, &buf, &v);
	if (n > 0 && n <= MANIFEST_INSTANCES_MAX &&
	    manifest_expand(r->m, (size_t)t, v, n, &cause) == 0)
		r->done++;
	free(cause);
	free(v);
	free(buf);
	return 0;
}

int
job_expand_replay(struct manifest *m, const char *path, char **cause)
{
	struct replay r = { m, 0 };

	return journal_replay(path, expand_replay_event, &r, cause) == 0 ?
	    0 : -1;
}

int
job_expand_replay_buf(struct manifest *m, const char *buf, size_t len,
    char **cause)
{
	struct replay r = { m, 0 };

	return journal_replay_buf(buf, len, expand_replay_event, &r, cause) ==
	    0 ? 0 : -1;
}

void
job_note_expanded(struct job *j, const char *group, const char *value)
{
	const char **items;
	char *buf, *joined, num[32];
	size_t n;

	n = manifest_items(value, &buf, &items);
	joined = expand_join(items, n);
	snprintf(num, sizeof num, "%zu", n);
	journal_add(j->jr, loop_wallclock(), "expand", "node", group, "count",
	    num, "items", joined, (char *)NULL);
	free(joined);
	free(items);
	free(buf);
}
