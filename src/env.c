/* The environment of a job's nodes: ours, cleaned, and the manifest's,
 * the node's and dagexec's own variables over it. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "job_int.h"
#include "units.h"
#include "xmalloc.h"

extern char **environ;

static bool
env_allowed_clean(const char *e)
{
	static const char *const keep[] = { "PATH=", "HOME=", "USER=",
	    "LANG=", "TZ=" };
	size_t i;

	for (i = 0; i < sizeof keep / sizeof keep[0]; i++)
		if (strncmp(e, keep[i], strlen(keep[i])) == 0)
			return true;
	return false;
}

void
env_init_base(struct job *j)
{
	size_t n = 0, i;
	char **e;

	for (e = environ; e != NULL && *e != NULL; e++)
		n++;
	j->base_env = xcalloc(n + 1, sizeof *j->base_env);
	for (i = 0, e = environ; e != NULL && *e != NULL; e++) {
		if (strncmp(*e, "DAGEXEC_", 8) == 0 &&
		    strncmp(*e, "DAGEXEC_SPOOL=", 14) != 0)
			continue;	/* never pass our own variables down */
		if (j->clean_env && !env_allowed_clean(*e))
			continue;
		j->base_env[i++] = xstrdup(*e);
	}
	j->nbase_env = i;
}

struct envbuf {
	char	**v;
	size_t	  n;
	size_t	  cap;
	char	**base;		/* v[i] == base[i] is borrowed, not ours */
	size_t	  nbase;
};

/* Set NAME=VALUE, replacing an earlier NAME. */
static void
env_set(struct envbuf *eb, const char *name, const char *value)
{
	size_t i, len = strlen(name);

	for (i = 0; i < eb->n; i++) {
		if (strncmp(eb->v[i], name, len) == 0 && eb->v[i][len] == '=') {
			if (i >= eb->nbase || eb->v[i] != eb->base[i])
				free(eb->v[i]);
			eb->v[i] = xasprintf("%s=%s", name, value);
			return;
		}
	}
	xgrow(&eb->v, &eb->cap, eb->n + 2, sizeof *eb->v);
	eb->v[eb->n++] = xasprintf("%s=%s", name, value);
	eb->v[eb->n] = NULL;
}

void
env_free(char **v)
{
	char **p;

	if (v == NULL)
		return;
	for (p = v; *p != NULL; p++)
		free(*p);
	free(v);
}

/* NEED and KEY upper-cased, '-' and '.' made '_'. */
static char *
env_in_name(const char *need, const char *key)
{
	char *s = xasprintf("DAGEXEC_IN_%s_%s", need, key), *p;

	for (p = s + 11; *p != '\0'; p++) {
		if (*p == '-' || *p == '.')
			*p = '_';
		else if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	}
	return s;
}

char *
job_side_path(const struct job *j, size_t i, const char *name, bool rel)
{
	const char *id = j->m->nodes[i].id;
	const char *sb = j->procs[i] != NULL ? j->procs[i]->sbdir : NULL;

	if (sb == NULL)
		return rel ? xasprintf("%s.%s", id, name) :
		    xasprintf("%s/io/%s.%s", j->dir, id, name);
	return rel ? xasprintf("%s/%s", sb, name) :
	    xasprintf("%s/io/%s/%s", j->dir, sb, name);
}

char **
env_build(struct job *j, size_t i, int attempt, const char *out_path,
    const char *metrics_path, const char *tmpdir, const char *pwd)
{
	const struct node *n = &j->m->nodes[i];
	struct envbuf eb = { NULL, 0, 0, NULL, 0 };
	const struct kvlist *o;
	char nb[UNITS_INT_LEN];
	size_t k, q;
	char *s;

	/* the job's base entries are borrowed, not copied: free the result
	 * with env_build_free */
	xgrow(&eb.v, &eb.cap, j->nbase_env + 16, sizeof *eb.v);
	memcpy(eb.v, j->base_env, j->nbase_env * sizeof *eb.v);
	eb.n = j->nbase_env;
	eb.v[eb.n] = NULL;
	eb.base = j->base_env;
	eb.nbase = j->nbase_env;
	for (k = 0; k < j->m->env.n; k++)
		env_set(&eb, j->m->env.v[k].key, j->m->env.v[k].value);
	for (k = 0; k < n->env.n; k++)
		env_set(&eb, n->env.v[k].key, n->env.v[k].value);
	env_set(&eb, "DAGEXEC_JOB", j->id);
	env_set(&eb, "DAGEXEC_NODE", n->id);
	env_set(&eb, "DAGEXEC_ATTEMPT", units_int(attempt, nb));
	env_set(&eb, "DAGEXEC_WORKDIR", j->workdir);
	env_set(&eb, "DAGEXEC_OUTPUT", out_path);
	env_set(&eb, "DAGEXEC_METRICS", metrics_path);
	if (j->scheduled_at != NULL)
		env_set(&eb, "DAGEXEC_SCHEDULED_AT", j->scheduled_at);
	if (tmpdir != NULL)
		env_set(&eb, "TMPDIR", tmpdir);
	for (k = 0; k < n->nneeds; k++) {
		o = &j->outs[n->needs[k]];
		for (q = 0; q < o->n; q++) {
			s = env_in_name(j->m->nodes[n->needs[k]].id,
			    o->v[q].key);
			env_set(&eb, s, o->v[q].value);
			free(s);
		}
	}
	/* a line run without the shell gets the PWD the shell would set */
	if (pwd != NULL)
		env_set(&eb, "PWD", pwd);
	return eb.v;
}

/* Free what env_build returned (its borrowed entries stay the job's). */
void
env_build_free(const struct job *j, char **v)
{
	size_t k;

	if (v == NULL)
		return;
	for (k = 0; v[k] != NULL; k++) {
		if (k >= j->nbase_env || v[k] != j->base_env[k])
			free(v[k]);
	}
	free(v);
}
