/* One job's process under `watch`: started by the daemon with every id
 * already the job owner's, it takes the dropped file in (parse, unpack),
 * runs the job, packs its bundle and hands it to the daemon, all as the
 * owner. It outlives the daemon: without one it keeps running its nodes
 * (new ones only within the slots it holds) and reconnects to SPOOL/ctl. */
#ifndef DAGEXEC_SUPERVISOR_H
#define DAGEXEC_SUPERVISOR_H

#include <stdbool.h>
#include <stdint.h>

/* The descriptors a supervisor is started with. */
#define SUPERVISOR_CTL_FD	3	/* the daemon's end of a socket pair */
#define SUPERVISOR_LOCK_FD	4	/* the job's lock (claims/X/lock) */
#define SUPERVISOR_FILE_FD	5	/* the dropped file, when there is one */

struct supervisor_args {
	const char	*spool;		/* the spool, absolute */
	const char	*job;		/* the job id to resume, or NULL: a new
					   job from the dropped file */
	const char	*file;		/* the dropped file's name, or NULL */
	bool		 bundle;	/* the dropped file is an archive */
	bool		 retry;		/* ... a retry request (retryreq.h) */
	bool		 lost;		/* resume only to end it: failed, lost */
	bool		 cleanup;	/* its bundle is in done/ already: only
					   empty the job directory */
	bool		 cancel_remote;	/* interrupted: scancel Slurm jobs */
	int64_t		 scheduled;	/* a scheduled firing's time (seconds
					   since the epoch), or 0 */
	int		 file_fd;	/* SUPERVISOR_FILE_FD, or -1 */
};

/* Run the supervisor; returns its exit status: 0 (the bundle was taken or
 * the file was refused), 75 (stopped by the daemon: the job resumes
 * later), 1 (it could not run). */
int supervisor_main(const struct supervisor_args *a);

#endif
