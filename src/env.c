/* The environment of a job's nodes: ours, cleaned, and the manifest's,
 * the node's and dagexec's own variables over it. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "job_int.h"
#include "strbuf.h"
#include "strmap.h"
#include "units.h"
#include "xmalloc.h"

/* A value longer than this reaches a node by its file only: Linux refuses
 * an environment string over 128 KiB (MAX_ARG_STRLEN), and E2BIG is
 * better not met half way. */
#define ENV_VALUE_MAX	(64 * 1024)
/* All of a node's DAGEXEC_IN_ values together: beyond, the longest go by
 * file only (the whole environment and argv share a limit of a quarter of
 * the stack limit, 2 MiB by default). */
#define ENV_VALUES_MAX	(1024 * 1024)

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

/* Add NAME=VALUE where no NAME can be yet: one of dagexec's own names,
 * which the job's base leaves out (DAGEXEC_SPOOL aside) and a manifest's
 * env: and secrets: may not use. No scan of what is there. */
static void
env_add(struct envbuf *eb, const char *name, const char *value)
{
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

/* PREFIX then NEED and KEY upper-cased, '-' and '.' made '_': a need
 * that is a foreach instance, NODE[A] or NODE[K=V,K2=V2], as NODE_A and
 * NODE_K_V_K2_V2 ('[', '=' and ',' made '_', ']' left out). */
static char *
env_in_name(const char *prefix, const char *need, const char *key)
{
	char *s = key != NULL ? xasprintf("%s%s_%s", prefix, need, key) :
	    xasprintf("%s%s", prefix, need), *p, *o;

	for (p = o = s + strlen(prefix); *p != '\0'; p++) {
		if (*p == ']')
			continue;
		if (*p == '-' || *p == '.' || *p == '[' || *p == '=' ||
		    *p == ',')
			*o++ = '_';
		else if (*p >= 'a' && *p <= 'z')
			*o++ = (char)(*p - 'a' + 'A');
		else
			*o++ = *p;
	}
	*o = '\0';
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

/* One value passed on: DAGEXEC_IN_<SOURCE>_<KEY> and its file. */
struct passed {
	const char	*source;	/* a need's id, or a group's */
	const char	*key;
	const char	*value;		/* the need's, or owned: */
	char		*owned;		/*   a group's, joined */
	size_t		 len;		/* at most ENV_VALUE_MAX + 1 (more
					   is not counted) */
	bool		 by_file_only;
};

/* Make directory path (mode) unless it is there. 0, or -1 with *cause. */
static int
env_mkdir(const char *path, mode_t mode, char **cause)
{
	if (mkdir(path, mode) != 0 && errno != EEXIST) {
		*cause = xasprintf("cannot create '%s': %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Write value (len bytes) to DIR/values/SOURCE/KEY once a run: a need's
 * values do not change once it has ended, and its dependents start after.
 * A value that holds a secret goes to DIR/private/values/SOURCE/KEY
 * instead, out of what a kept job directory shows (no bundle holds either).
 * Not synced: the journal holds the values, this only hands them on. The
 * path (new), or NULL with *cause. */
static char *
env_value_file(struct job *j, const struct passed *p, char **cause)
{
	static const char *const tops[] = { "values", "private/values" };
	char *dir, *path, *tmp;
	int fd, saved, t, rc = 0;

	for (t = 0; t < 2; t++) {
		path = xasprintf("%s/%s/%s/%s", j->dir, tops[t], p->source,
		    p->key);
		if (j->values_done != NULL &&
		    strmap_get(j->values_done, path, NULL))
			return path;
		free(path);
	}
	t = secrets_hit(j->secrets, p->value, strlen(p->value)) ? 1 : 0;
	if (t == 1) {
		dir = xasprintf("%s/private", j->dir);
		rc = env_mkdir(dir, 0700, cause);
		free(dir);
	}
	/* values/ is made by the first value passed on, not with the job:
	 * most jobs pass none, and a new directory costs a job's start */
	dir = xasprintf("%s/%s", j->dir, tops[t]);
	rc = rc != 0 ? rc : env_mkdir(dir, j->spooled || t == 1 ? 0700 : 0755,
	    cause);
	free(dir);
	path = xasprintf("%s/%s/%s/%s", j->dir, tops[t], p->source, p->key);
	dir = xasprintf("%s/%s/%s", j->dir, tops[t], p->source);
	rc = rc != 0 ? rc : env_mkdir(dir, 0700, cause);
	free(dir);
	if (rc != 0) {
		free(path);
		return NULL;
	}
	tmp = xasprintf("%s.tmp", path);
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0 || fs_write_all(fd, p->value, strlen(p->value)) != 0 ||
	    close(fd) != 0 || rename(tmp, path) != 0) {
		saved = errno;
		if (fd >= 0)
			(void)close(fd);
		(void)unlink(tmp);
		*cause = xasprintf("cannot write '%s': %s", path,
		    strerror(saved));
		free(tmp);
		free(path);
		return NULL;
	}
	free(tmp);
	if (j->values_done == NULL)
		j->values_done = strmap_new(64);
	xgrow(&j->values_paths, &j->values_paths_cap, j->nvalues_paths + 1,
	    sizeof *j->values_paths);
	j->values_paths[j->nvalues_paths++] = xstrdup(path);
	(void)strmap_put(j->values_done, j->values_paths[j->nvalues_paths - 1],
	    0, NULL);
	return path;
}

/* Pass value on (borrowed; owned: taken, and value is it); by file only
 * when file_only. Its length is counted no further than the environment
 * takes (a fan-out's long value is not scanned once an instance). */
static void
passed_add(struct passed **v, size_t *n, size_t *cap, const char *source,
    const char *key, const char *value, char *owned, bool file_only)
{
	xgrow(v, cap, *n + 1, sizeof **v);
	(*v)[*n].source = source;
	(*v)[*n].key = key;
	(*v)[*n].value = value;
	(*v)[*n].owned = owned;
	(*v)[*n].len = file_only ? 0 : strnlen(value, ENV_VALUE_MAX + 1);
	(*v)[*n].by_file_only = file_only;
	(*n)++;
}

static int
inst_cmp(const void *a, const void *b, void *arg)
{
	const struct manifest *m = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	size_t ix = node_extra(&m->nodes[x])->inst;
	size_t iy = node_extra(&m->nodes[y])->inst;

	return ix < iy ? -1 : ix > iy;
}

/* The values of the instances of group (needed whole by node n): for each
 * key, a line an instance that wrote it, in instance order. */
static void
env_group(struct job *j, const struct node *n, const char *group,
    struct passed **v, size_t *nv, size_t *cap)
{
	const struct manifest *m = j->m;
	const struct kvlist *o;
	const char *gx;
	struct strbuf *vals = NULL;
	const char **keys = NULL;
	size_t *inst, ninst = 0, nkeys = 0, kcap = 0, vcap = 0, k, q, x;
	const char *val;

	inst = xcalloc(n->nneeds + 1, sizeof *inst);
	for (k = 0; k < n->nneeds; k++)
		if ((gx = node_extra(&m->nodes[n->needs[k]])->group) != NULL &&
		    strcmp(gx, group) == 0)
			inst[ninst++] = n->needs[k];
	qsort_r(inst, ninst, sizeof *inst, inst_cmp, j->m);
	for (k = 0; k < ninst; k++) {
		o = &j->outs[inst[k]];
		for (q = 0; q < o->n; q++) {
			/* the last value of a key an instance wrote twice */
			for (x = q + 1; x < o->n; x++)
				if (strcmp(o->v[x].key, o->v[q].key) == 0)
					break;
			if (x < o->n)
				continue;
			val = o->v[q].value;
			for (x = 0; x < nkeys; x++)
				if (strcmp(keys[x], o->v[q].key) == 0)
					break;
			if (x == nkeys) {
				xgrow(&keys, &kcap, nkeys + 1, sizeof *keys);
				xgrow(&vals, &vcap, nkeys + 1, sizeof *vals);
				keys[nkeys] = o->v[q].key;
				memset(&vals[nkeys], 0, sizeof vals[nkeys]);
				nkeys++;
			} else
				strbuf_lit(&vals[x], "\n");
			strbuf_str(&vals[x], val);
		}
	}
	for (x = 0; x < nkeys; x++) {
		if (vals[x].s == NULL)
			vals[x].s = xstrdup("");
		passed_add(v, nv, cap, group, keys[x], vals[x].s, vals[x].s,
		    false);
	}
	free(keys);
	free(vals);
	free(inst);
}

static int
passed_longest(const void *a, const void *b)
{
	const struct passed *const *x = a, *const *y = b;

	return (*x)->len > (*y)->len ? -1 : (*x)->len < (*y)->len;
}

/* What node i's needs pass on (DAGEXEC_IN_ and _FILE) into eb. 0, or -1
 * with *cause (a file could not be written). */
static int
env_needs(struct job *j, size_t i, struct envbuf *eb, char **cause)
{
	const struct node *n = &j->m->nodes[i], *d;
	const struct node_extra *nx = node_extra(n);
	const char *dg;
	const struct kvlist *o;
	struct passed *v = NULL, **byl;
	size_t nv = 0, cap = 0, k, q, g, total = 0;
	char *name, *fname, *path;
	int rc = 0;

	for (k = 0; k < n->nneeds; k++) {
		d = &j->m->nodes[n->needs[k]];
		dg = node_extra(d)->group;
		for (g = 0; dg != NULL && g < nx->nneed_groups; g++)
			if (strcmp(nx->need_groups[g], dg) == 0)
				break;
		if (dg != NULL && g < nx->nneed_groups)
			continue;	/* with its group, below */
		o = &j->outs[n->needs[k]];
		for (q = 0; q < o->n; q++)
			/* an instance has its line in $DAGEXEC_ITEM: the
			 * value it is a line of goes by file only, or a
			 * fan-out of N would copy it N times */
			passed_add(&v, &nv, &cap, d->id, o->v[q].key,
			    o->v[q].value, NULL, nx->item_from != NULL &&
			    strcmp(nx->item_from, d->id) == 0 &&
			    strcmp(nx->item_key, o->v[q].key) == 0);
	}
	for (g = 0; g < nx->nneed_groups; g++)
		env_group(j, n, nx->need_groups[g], &v, &nv, &cap);
	/* the longest by file only, until the rest fit */
	byl = xcalloc(nv + 1, sizeof *byl);
	for (k = 0; k < nv; k++) {
		byl[k] = &v[k];
		if (v[k].len > ENV_VALUE_MAX)
			v[k].by_file_only = true;
		else if (!v[k].by_file_only)
			total += v[k].len;
	}
	qsort(byl, nv, sizeof *byl, passed_longest);
	for (k = 0; k < nv && total > ENV_VALUES_MAX; k++)
		if (!byl[k]->by_file_only) {
			byl[k]->by_file_only = true;
			total -= byl[k]->len;
		}
	free(byl);
	for (k = 0; k < nv && rc == 0; k++) {
		if ((path = env_value_file(j, &v[k], cause)) == NULL) {
			rc = -1;
			break;
		}
		name = env_in_name("DAGEXEC_IN_", v[k].source, v[k].key);
		if (!v[k].by_file_only)
			env_set(eb, name, v[k].value);
		fname = xasprintf("%s_FILE", name);
		env_set(eb, fname, path);
		free(fname);
		free(name);
		free(path);
	}
	for (k = 0; k < nv; k++)
		free(v[k].owned);
	free(v);
	return rc;
}

/* $DAGEXEC_ITEM of a foreach instance (a list), or $DAGEXEC_ITEM_<KEY> (a
 * crossed map). */
static void
env_item(const struct node *n, struct envbuf *eb)
{
	const struct kvlist *item = &node_extra(n)->item;
	char *name;
	size_t k;

	for (k = 0; k < item->n; k++) {
		if (item->v[k].key == NULL) {
			env_set(eb, "DAGEXEC_ITEM", item->v[k].value);
			continue;
		}
		name = env_in_name("DAGEXEC_ITEM_", item->v[k].key, NULL);
		env_set(eb, name, item->v[k].value);
		free(name);
	}
}

char **
env_build(struct job *j, size_t i, int attempt, const char *out_path,
    const char *metrics_path, const char *tmpdir, const char *pwd,
    const struct kv *secrets, size_t nsecrets, char **cause)
{
	const struct node *n = &j->m->nodes[i];
	struct envbuf eb = { NULL, 0, 0, NULL, 0 };
	char nb[UNITS_INT_LEN];
	size_t k;

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
	for (k = 0; k < nsecrets; k++)
		env_set(&eb, secrets[k].key, secrets[k].value);
	/* appended, not looked for: a node's start builds its environment,
	 * and the base can be long (`run` passes the caller's) */
	env_add(&eb, "DAGEXEC_JOB", j->id);
	env_add(&eb, "DAGEXEC_NODE", n->id);
	env_add(&eb, "DAGEXEC_ATTEMPT", units_int(attempt, nb));
	env_add(&eb, "DAGEXEC_WORKDIR", j->workdir);
	env_add(&eb, "DAGEXEC_OUTPUT", out_path);
	env_add(&eb, "DAGEXEC_METRICS", metrics_path);
	if (j->scheduled_at != NULL)
		env_add(&eb, "DAGEXEC_SCHEDULED_AT", j->scheduled_at);
	if (tmpdir != NULL)
		env_set(&eb, "TMPDIR", tmpdir);
	env_item(n, &eb);
	if (env_needs(j, i, &eb, cause) != 0) {
		env_build_free(j, eb.v);
		return NULL;
	}
	/* a line run without the shell gets the PWD the shell would set */
	if (pwd != NULL)
		env_set(&eb, "PWD", pwd);
	return eb.v;
}

int
env_secrets_read(struct job *j, size_t i, struct kv **out, size_t *n,
    char **cause)
{
	const struct kvlist *l = &node_extra(&j->m->nodes[i])->secrets;
	struct kv *v;
	size_t k;

	*out = NULL;
	*n = 0;
	if (l->n == 0)
		return 0;
	v = xcalloc(l->n, sizeof *v);
	for (k = 0; k < l->n; k++) {
		if (secret_read(l->v[k].key, l->v[k].value, j->spooled,
		    &v[k].value, cause) != 0) {
			env_secrets_free(v, k);
			return -1;
		}
		v[k].key = xstrdup(l->v[k].key);
		if (j->secrets == NULL)
			j->secrets = secrets_new();
		secrets_add(j->secrets, v[k].value, strlen(v[k].value));
	}
	*out = v;
	*n = l->n;
	return 0;
}

void
env_secrets_free(struct kv *v, size_t n)
{
	size_t k;

	for (k = 0; k < n; k++) {
		free(v[k].key);
		if (v[k].value != NULL) {
			explicit_bzero(v[k].value, strlen(v[k].value));
			free(v[k].value);
		}
	}
	free(v);
}

char *
job_mask(const struct job *j, const char *str)
{
	return secrets_mask(j->secrets, str);
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
