/* A retry request: what `dagexec submit --retry JOB` drops into incoming/
 * as NEWJOB.retry, and what the job owner's supervisor reads back. One
 * line a field, blank lines and '#' comments ignored:
 *
 *   retry JOB      the finished job to run again (SPOOL/done/JOB.tar.gz)
 *   from NODE      run NODE and its descendants again (any number)
 *
 * Root never reads it: it is a dropped file like a manifest. */
#ifndef DAGEXEC_RETRYREQ_H
#define DAGEXEC_RETRYREQ_H

#include <stddef.h>
#include <sys/types.h>

#include "diag.h"

struct retryreq {
	char	*job;		/* the earlier job */
	int	 job_line;	/* where it was said */
	char	**from;		/* --from nodes */
	int	*from_line;
	size_t	 nfrom;
};

/* Parse len bytes of a request into rq (zeroed first). 0, or -1 with
 * every error in d (line and column; line 0: the file as a whole). */
int retryreq_parse(const char *text, size_t len, struct retryreq *rq,
    struct diags *d);
/* Free what rq holds. */
void retryreq_release(struct retryreq *rq);
/* The text of a request for job and from[]; new. */
char *retryreq_format(const char *job, char *const *from, size_t nfrom);
/* A new job id for a retry of job (a job id): one of the same DAG name. */
char *retryreq_new_id(const char *job);
/* Open SPOOL/done/JOB.tar.gz, the bundle of a finished job, when it is a
 * plain file of uid's; its descriptor (the caller closes it), or -1 with
 * *cause and errno: ENOENT no such finished job, EPERM another user's (or
 * not a plain file), other values: it cannot be opened. */
int retryreq_open_done(const char *spool, const char *job, uid_t uid,
    char **cause);

#endif
