/* Resolving a run's name: a bundle, a job directory, or a job id in a
 * spool. Only looks; nothing is created or changed. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "fsutil.h"
#include "runref.h"
#include "spool.h"
#include "state.h"
#include "xmalloc.h"

#define RUNREF_STATE_MAX	(1u << 30)	/* bytes of a state.yaml */

/* The spool whose sub/ holds the absolute path abs (SPOOL/sub/NAME, with
 * SPOOL/incoming/ beside it), new; else NULL. */
static char *
spool_of(const char *abs, const char *sub)
{
	const char *slash = strrchr(abs, '/'), *up;
	char *spool, *p;
	struct stat st;
	size_t n = strlen(sub);

	if (slash == NULL || slash - abs < (ptrdiff_t)n + 1)
		return NULL;
	up = slash - n;
	if (strncmp(up, sub, n) != 0 || up[-1] != '/')
		return NULL;
	spool = xstrndup(abs, (size_t)(up - 1 - abs));
	p = xasprintf("%s/incoming", spool);
	if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) {
		free(spool);
		spool = NULL;
	}
	free(p);
	return spool;
}

/* The job directory at path: it holds a state.yaml or a manifest.yaml. */
static int
resolve_dir(const char *path, struct runref *r, char **cause)
{
	char *abs, *p;
	struct stat st;
	int rc = 0;

	if ((abs = realpath(path, NULL)) == NULL) {
		*cause = xasprintf("cannot open '%s': %s", path,
		    strerror(errno));
		return -1;
	}
	p = xasprintf("%s/state.yaml", abs);
	if (stat(p, &st) != 0) {
		free(p);
		p = xasprintf("%s/manifest.yaml", abs);
		if (stat(p, &st) != 0) {
			*cause = errno == ENOENT ? xasprintf("'%s' is not a "
			    "job directory (it has no state.yaml)", path) :
			    xasprintf("cannot open '%s': %s", p,
			    strerror(errno));
			if (errno == ENOENT)
				errno = EILSEQ;
			rc = -1;
		}
	}
	free(p);
	if (rc != 0) {
		free(abs);
		return rc;
	}
	r->dir = true;
	r->path = abs;
	r->job = xstrdup(strrchr(abs, '/') + 1);
	r->spool = spool_of(abs, "active");
	return 0;
}

/* The bundle at path. */
static int
resolve_bundle(const char *path, struct runref *r, char **cause)
{
	char *abs;

	if (bundle_job(path, &r->job, cause) != 0)
		return -1;
	if ((abs = realpath(path, NULL)) == NULL)
		abs = xstrdup(path);
	r->path = abs;
	r->spool = spool_of(abs, "done");
	return 0;
}

/* Is SPOOL/sub/NAME there (not followed)? */
static bool
spool_has(const char *spool, const char *sub, const char *name)
{
	struct stat st;
	char *p = xasprintf("%s/%s/%s", spool, sub, name);
	bool yes = lstat(p, &st) == 0;

	free(p);
	return yes;
}

/* The job id in the spool: finished, running, queued or rejected. */
static int
resolve_id(const char *id, const char *spool, struct runref *r, char **cause)
{
	static const char *const bundles[] = { ".tar.gz", ".tar.zst" };
	static const char *const dropped[] = { ".yaml", ".retry" };
	char *name, *abs, *why = NULL;
	size_t i;
	int rc = -1;

	if ((abs = realpath(spool, NULL)) == NULL)
		abs = xstrdup(spool);
	for (i = 0; i < sizeof bundles / sizeof bundles[0]; i++) {
		name = xasprintf("%s/done/%s%s", abs, id, bundles[i]);
		if (access(name, F_OK) == 0) {
			rc = resolve_bundle(name, r, cause);
			free(name);
			goto out;
		}
		free(name);
	}
	name = xasprintf("%s/active/%s", abs, id);
	if (access(name, F_OK) == 0) {
		/* a job just taken in has no state yet: it is the job's all
		 * the same */
		r->dir = true;
		r->path = name;
		r->job = xstrdup(id);
		r->spool = xstrdup(abs);
		rc = 0;
		goto out;
	}
	free(name);
	for (i = 0; i < sizeof dropped / sizeof dropped[0]; i++) {
		name = xasprintf("%s%s", id, dropped[i]);
		if (spool_has(abs, "incoming", name)) {
			*cause = xasprintf("job '%s' is queued in '%s': it has "
			    "not run yet", id, spool);
			errno = EAGAIN;
		} else if (spool_has(abs, "rejected", name)) {
			*cause = xasprintf("job '%s' was rejected: see "
			    "'%s/rejected/%s.error'", id, spool, name);
			errno = EILSEQ;
		}
		free(name);
		if (*cause != NULL)
			goto out;
	}
	if (spool_check(spool, &why) != 0)
		*cause = xasprintf("no bundle, job directory or job '%s': %s",
		    id, why);
	else
		*cause = xasprintf("no bundle, job directory or job '%s' in "
		    "spool '%s'", id, spool);
	free(why);
	errno = ENOENT;
out:
	free(abs);
	return rc;
}

int
runref_resolve(const char *arg, const char *spool, struct runref *r,
    char **cause)
{
	struct stat st;
	int rc, saved;

	memset(r, 0, sizeof *r);
	*cause = NULL;
	if (stat(arg, &st) == 0)
		rc = S_ISDIR(st.st_mode) ? resolve_dir(arg, r, cause) :
		    resolve_bundle(arg, r, cause);
	else if (errno == ENOENT && strchr(arg, '/') == NULL &&
	    spool_word_ok(arg, NAME_MAX))
		rc = resolve_id(arg, spool != NULL ? spool : spool_default(),
		    r, cause);
	else {
		*cause = xasprintf("cannot open '%s': %s", arg,
		    strerror(errno));
		rc = -1;
	}
	if (rc != 0) {
		saved = errno;
		runref_release(r);
		errno = saved;
	}
	return rc;
}

int
runref_read(const struct runref *r, const char *rel, size_t max, char **buf,
    size_t *len, char **cause)
{
	char *p;
	int rc;

	if (r->dir) {
		p = xasprintf("%s/%s", r->path, rel);
		rc = fs_read_file(p, max, buf, len, cause);
	} else {
		p = xasprintf("%s/%s", r->job, rel);
		rc = bundle_read_member(r->path, p, max, buf, len, cause);
	}
	free(p);
	return rc;
}

int
runref_state(const struct runref *r, struct state_doc **d, char **cause)
{
	char *buf = NULL;
	size_t len;
	int rc;

	if (runref_read(r, "state.yaml", RUNREF_STATE_MAX, &buf, &len,
	    cause) != 0)
		return -1;
	rc = state_read_buf(r->path, buf, len, d, cause);
	if (rc != 0)
		errno = EILSEQ;
	free(buf);
	return rc;
}

int
runref_bundle(const struct runref *r, char **path, char **cause)
{
	static const char *const exts[] = { ".tar.gz", ".tar.zst" };
	char *base, *p;
	size_t i;

	if (!r->dir) {
		*path = xstrdup(r->path);
		return 0;
	}
	/* a spool's job: its bundle in done/; run --keep: beside it */
	base = r->spool != NULL ? xasprintf("%s/done", r->spool) :
	    xstrndup(r->path, (size_t)(strrchr(r->path, '/') - r->path));
	for (i = 0; i < sizeof exts / sizeof exts[0]; i++) {
		p = xasprintf("%s/%s%s", base, r->job, exts[i]);
		if (access(p, F_OK) == 0) {
			free(base);
			*path = p;
			return 0;
		}
		free(p);
	}
	*cause = xasprintf("job '%s' has no bundle yet in '%s' (it has not "
	    "ended)", r->job, base);
	free(base);
	errno = ENOENT;
	return -1;
}

void
runref_release(struct runref *r)
{
	free(r->path);
	free(r->job);
	free(r->spool);
	memset(r, 0, sizeof *r);
}
