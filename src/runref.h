/* A run named on the command line, as every command that reads one takes
 * it (show, verify, graph --state, status, retry): the path of a result
 * bundle, the path of a job directory (of `run --keep`, or a spool's
 * active/JOB), or a job id looked up in a spool. One resolver, so that the
 * commands agree on what a name means. */
#ifndef DAGEXEC_RUNREF_H
#define DAGEXEC_RUNREF_H

#include <stdbool.h>
#include <stddef.h>

struct state_doc;

/* What a name resolved to. */
struct runref {
	char	*path;		/* the bundle, or the job directory */
	char	*job;		/* the job id */
	char	*spool;		/* the spool it is in (absolute), or NULL */
	bool	 dir;		/* path is a job directory */
};

/* Resolve arg: a path that exists wins (a directory is a job directory, a
 * file a bundle); else a job id (no '/') is looked up in spool (NULL: the
 * default spool): done/JOB.tar.gz or .tar.zst, then active/JOB. 0 and r
 * filled (release it with runref_release), or -1 with *cause and errno:
 * ENOENT no such run, EAGAIN the job is queued (it has not run yet),
 * EILSEQ not a bundle or a job directory, or a job whose file was
 * rejected; other values: it cannot be opened. */
int runref_resolve(const char *arg, const char *spool, struct runref *r,
    char **cause);
/* Read the file rel of the run (JOB/rel in a bundle, DIR/rel in a job
 * directory), at most max bytes, into a new NUL-terminated *buf. 0, or -1
 * with *cause and errno (ENOENT: there is no such file). */
int runref_read(const struct runref *r, const char *rel, size_t max,
    char **buf, size_t *len, char **cause);
/* Its state.yaml, parsed: 0 and *d, or -1 with *cause and errno (ENOENT:
 * none yet). */
int runref_state(const struct runref *r, struct state_doc **d, char **cause);
/* The bundle of the run, new in *path: itself, or for a job directory
 * the bundle its job left in its spool's done/ or beside the directory
 * (run --keep). 0, or -1 with *cause and errno ENOENT (none yet: the job
 * has not ended). */
int runref_bundle(const struct runref *r, char **path, char **cause);
/* Free what r holds; r is left empty. */
void runref_release(struct runref *r);

#endif
