/* Retry requests (see retryreq.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "job.h"
#include "manifest.h"
#include "retryreq.h"
#include "spool.h"
#include "xmalloc.h"

#define RETRYREQ_MAX_FROM	4096	/* more is surely a mistake */

/* One "KEY VALUE" line (ln, 1-based, n bytes at p) into rq. */
static void
retryreq_line(const char *p, size_t n, int ln, struct retryreq *rq,
    struct diags *d)
{
	size_t k, v;
	char *key, *val;

	for (k = 0; k < n && p[k] != ' ' && p[k] != '\t'; k++)
		;
	key = xstrndup(p, k);
	for (v = k; v < n && (p[v] == ' ' || p[v] == '\t'); v++)
		;
	while (n > v && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	val = xstrndup(p + v, n - v);
	if (strcmp(key, "retry") == 0 && rq->job_line != 0)
		diags_add(d, ln, 1, "a second 'retry' line (the first is line "
		    "%d)", rq->job_line);
	else if (strcmp(key, "retry") == 0) {
		rq->job_line = ln;
		if (!spool_job_id_ok(val))
			diags_add(d, ln, (int)v + 1, "'%s' is not a job id "
			    "(NAME-YYYYMMDDTHHMMSS-XXXX)", val);
		else {
			rq->job = val;
			val = NULL;
		}
	} else if (strcmp(key, "from") == 0) {
		if (!manifest_id_ok(val))
			diags_add(d, ln, (int)v + 1, "'%s' is not a node id",
			    val);
		else if (rq->nfrom >= RETRYREQ_MAX_FROM)
			diags_add(d, ln, 1, "more than %d 'from' lines",
			    RETRYREQ_MAX_FROM);
		else {
			rq->from = xreallocarray(rq->from, rq->nfrom + 1,
			    sizeof *rq->from);
			rq->from_line = xreallocarray(rq->from_line,
			    rq->nfrom + 1, sizeof *rq->from_line);
			rq->from[rq->nfrom] = val;
			rq->from_line[rq->nfrom++] = ln;
			val = NULL;
		}
	} else
		diags_add(d, ln, 1, "unknown field '%s' (expected 'retry' or "
		    "'from')", key);
	free(key);
	free(val);
}

int
retryreq_parse(const char *text, size_t len, struct retryreq *rq,
    struct diags *d)
{
	const char *p = text, *end = text + len, *nl;
	size_t n0 = d->n;
	int ln = 0;

	memset(rq, 0, sizeof *rq);
	if (memchr(text, '\0', len) != NULL) {
		diags_add(d, 0, 0, "a NUL byte: not a retry request");
		p = end;
	}
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		ln++;
		while (p < nl && (*p == ' ' || *p == '\t'))
			p++;
		if (p < nl && *p != '#')
			retryreq_line(p, (size_t)(nl - p), ln, rq, d);
		p = nl + 1;
	}
	if (d->n == n0 && rq->job_line == 0)
		diags_add(d, 0, 0, "no 'retry JOB' line");
	if (d->n > n0) {
		retryreq_release(rq);
		return -1;
	}
	return 0;
}

void
retryreq_release(struct retryreq *rq)
{
	size_t k;

	for (k = 0; k < rq->nfrom; k++)
		free(rq->from[k]);
	free(rq->from);
	free(rq->from_line);
	free(rq->job);
	memset(rq, 0, sizeof *rq);
}

char *
retryreq_format(const char *job, char *const *from, size_t nfrom)
{
	char *t = xasprintf("# dagexec submit --retry\nretry %s\n", job), *u;
	size_t k;

	for (k = 0; k < nfrom; k++) {
		u = xasprintf("%sfrom %s\n", t, from[k]);
		free(t);
		t = u;
	}
	return t;
}

char *
retryreq_new_id(const char *job)
{
	/* JOB is NAME-YYYYMMDDTHHMMSS-XXXX */
	size_t n = strlen(job);
	char *name = xstrndup(job, n > 21 ? n - 21 : n), *id;

	id = job_make_id(name);
	free(name);
	return id;
}

int
retryreq_open_done(const char *spool, const char *job, uid_t uid,
    char **cause)
{
	char *path = xasprintf("%s/done/%s.tar.gz", spool, job);
	struct stat st;
	int fd, saved;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC);
	saved = errno;
	/* another user's bundle (0600) cannot be opened at all: say whose
	 * it is rather than "permission denied" */
	if (fd < 0 && (saved == EACCES || saved == ELOOP) &&
	    lstat(path, &st) == 0 && (!S_ISREG(st.st_mode) ||
	    st.st_uid != uid))
		saved = EPERM;
	else if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_uid != uid)) {
		close(fd);
		fd = -1;
		saved = EPERM;
	}
	if (fd < 0) {
		if (saved == ENOENT)
			*cause = xasprintf("no finished job '%s' (no '%s')",
			    job, path);
		else if (saved == EPERM)
			*cause = xasprintf("job '%s' is not yours", job);
		else
			*cause = xasprintf("cannot open '%s': %s", path,
			    strerror(saved));
	}
	free(path);
	errno = saved;
	return fd;
}
