#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "fsutil.h"
#include "history.h"
#include "state.h"
#include "strbuf.h"
#include "xmalloc.h"

#define HISTORY_MAX_BYTES	(64u << 20)

struct hentry {
	char	*id;
	double	 mean_ms;
	long	 runs;
};

struct hist {
	struct hentry	*v;
	size_t		 n;
	size_t		 cap;
};

static void
hist_release(struct hist *h)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		free(h->v[i].id);
	free(h->v);
	memset(h, 0, sizeof *h);
}

/* The file is written by history_update: a mapping with `nodes`, a mapping
 * of id -> {mean_ms: N, runs: N}. Anything else is an error. */
static int
hist_parse(const char *path, const char *buf, size_t len, struct hist *h,
    char **cause)
{
	yaml_parser_t p;
	yaml_event_t ev;
	int depth = 0, rc = -1, done = 0;
	char *key = NULL, *id = NULL, *field = NULL;
	struct hentry *cur = NULL;

	if (!yaml_parser_initialize(&p)) {
		*cause = xstrdup("cannot initialise the YAML parser");
		return -1;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			*cause = xasprintf("%s:%zu:%zu: %s", path,
			    p.problem_mark.line + 1, p.problem_mark.column + 1,
			    p.problem ? p.problem : "invalid YAML");
			goto out;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_MAPPING_START_EVENT:
			depth++;
			if (depth == 3) {
				if (id == NULL)
					goto bad;
				xgrow(&h->v, &h->cap, h->n + 1, sizeof *h->v);
				cur = &h->v[h->n++];
				cur->id = id;
				cur->mean_ms = 0;
				cur->runs = 0;
				id = NULL;
			}
			if (depth > 3)
				goto bad;
			break;
		case YAML_MAPPING_END_EVENT:
			if (depth == 3)
				cur = NULL;
			depth--;
			free(key);
			key = NULL;
			break;
		case YAML_SCALAR_EVENT: {
			const char *v = (const char *)ev.data.scalar.value;

			if (depth == 1) {
				if (key == NULL)
					key = xstrdup(v);
				else {
					free(key);
					key = NULL;
				}
			} else if (depth == 2) {
				free(id);
				id = xstrdup(v);
			} else if (depth == 3 && cur != NULL) {
				if (field == NULL)
					field = xstrdup(v);
				else {
					if (strcmp(field, "mean_ms") == 0)
						cur->mean_ms = strtod(v, NULL);
					else if (strcmp(field, "runs") == 0)
						cur->runs = strtol(v, NULL, 10);
					free(field);
					field = NULL;
				}
			}
			break;
		}
		case YAML_SEQUENCE_START_EVENT:
		case YAML_ALIAS_EVENT:
			yaml_event_delete(&ev);
			goto bad;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	rc = 0;
	goto out;
bad:
	*cause = xasprintf("%s: not a history file", path);
out:
	free(key);
	free(id);
	free(field);
	yaml_parser_delete(&p);
	if (rc != 0)
		hist_release(h);
	return rc;
}

static int
hist_read(const char *path, struct hist *h, char **cause)
{
	char *buf, *c2 = NULL;
	size_t len;
	int rc;

	memset(h, 0, sizeof *h);
	if (fs_read_file(path, HISTORY_MAX_BYTES, &buf, &len, &c2) != 0) {
		if (errno == ENOENT) {
			free(c2);
			return 0;
		}
		*cause = c2;
		return -1;
	}
	rc = hist_parse(path, buf, len, h, cause);
	free(buf);
	return rc;
}

int
history_load(const char *path, const struct manifest *m, int64_t *est,
    char **cause)
{
	struct hist h;
	size_t i;
	long k;

	memset(est, 0, m->nnodes * sizeof *est);
	if (hist_read(path, &h, cause) != 0)
		return -1;
	for (i = 0; i < h.n; i++) {
		k = manifest_find(m, h.v[i].id);
		if (k >= 0 && h.v[i].runs > 0 && h.v[i].mean_ms >= 1)
			est[k] = (int64_t)h.v[i].mean_ms;
	}
	hist_release(&h);
	return 0;
}

/* The length of node i's last attempt, when it succeeded: 1 and *d. */
static int
hist_duration(const struct sched *s, size_t i, double *d)
{
	const struct node_run *r = sched_node(s, i);
	const struct attempt *a;

	if (r->status != NS_SUCCEEDED || r->nhist == 0)
		return 0;
	a = &r->hist[r->nhist - 1];
	if (a->end_ms < a->start_ms)
		return 0;
	*d = (double)(a->end_ms - a->start_ms);
	return 1;
}

/*
 * The file is written as it is rendered, and renamed over the old one
 * without an fsync: a history lost in a crash only costs the estimates of
 * one run, and a large DAG's history is never held twice in memory.
 */
int
history_update(const char *path, const struct manifest *m,
    const struct sched *s, char **cause)
{
	struct strbuf b = STRBUF_INIT;
	struct hist h;
	unsigned char *seen;
	char num[80], *tmp = NULL, *c2 = NULL;
	size_t i, k;
	long at;
	double d;
	int rc = -1, fd;

	if (hist_read(path, &h, &c2) != 0) {
		free(c2);		/* a broken file is replaced */
		memset(&h, 0, sizeof h);
	}
	seen = xcalloc(m->nnodes + 1, 1);
	for (k = 0; k < h.n; k++) {
		if ((at = manifest_find(m, h.v[k].id)) < 0)
			continue;
		seen[at] = 1;
		if (!hist_duration(s, (size_t)at, &d))
			continue;
		h.v[k].mean_ms = HISTORY_WEIGHT * d +
		    (1 - HISTORY_WEIGHT) * h.v[k].mean_ms;
		h.v[k].runs++;
	}
	for (i = 0; i < m->nnodes; i++) {
		if (seen[i] || !hist_duration(s, i, &d))
			continue;
		xgrow(&h.v, &h.cap, h.n + 1, sizeof *h.v);
		k = h.n++;
		h.v[k].id = xstrdup(m->nodes[i].id);
		h.v[k].mean_ms = d;
		h.v[k].runs = 1;
	}
	free(seen);

	/* written as the state writer writes, through a buffer that
	 * spills into the file (libyaml's emitter took most of the end of
	 * a run of thousands of nodes); hist_parse, libyaml's parser, reads
	 * it back */
	if ((fd = fs_atomic_open(path, 0600, (uid_t)-1, (gid_t)-1, &tmp,
	    cause)) < 0)
		goto out;
	strbuf_init_spill(&b, fd);
	strbuf_lit(&b, "dag: ");
	state_scalar(&b, m->name, 0);
	strbuf_lit(&b, "\nnodes:\n");
	for (i = 0; i < h.n; i++) {
		strbuf_lit(&b, "  ");
		state_scalar(&b, h.v[i].id, 0);
		snprintf(num, sizeof num, ": {mean_ms: %.0f, runs: %ld}\n",
		    h.v[i].mean_ms, h.v[i].runs);
		strbuf_str(&b, num);
	}
	if (strbuf_flush(&b) != 0) {
		*cause = xasprintf("cannot write '%s': %s", tmp,
		    strerror(b.err));
		fs_atomic_abort(fd, tmp);
		goto out;
	}
	rc = fs_atomic_commit(fd, tmp, path, false, cause);
out:
	strbuf_release(&b);
	hist_release(&h);
	return rc;
}

char *
history_user_dir(char **cause)
{
	const char *v;

	if ((v = getenv("XDG_STATE_HOME")) != NULL && v[0] == '/')
		return xasprintf("%s/dagexec/history", v);
	if ((v = getenv("HOME")) != NULL && v[0] == '/')
		return xasprintf("%s/.local/state/dagexec/history", v);
	*cause = xstrdup("neither XDG_STATE_HOME nor HOME is an "
	    "absolute path");
	return NULL;
}

char *
history_file(const char *dir, const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

int
history_load_dir(const char *dir, const struct manifest *m, int64_t *est,
    char **cause)
{
	char *path;
	int rc;

	path = history_file(dir, m->name);
	if (access(path, F_OK) != 0 && errno == ENOENT) {
		free(path);
		path = xasprintf("%s/%s.yaml", dir, m->name);
	}
	rc = history_load(path, m, est, cause);
	free(path);
	return rc;
}
