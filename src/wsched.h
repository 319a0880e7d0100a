/* The daemon's side of SPOOL/schedules/: recurring manifests (cron) and
 * one-shot jobs for later (`submit --at`). Root reads no schedule: a
 * helper running as the file's owner does (schedule.h) and says when it
 * fires; root keeps what it fired in its own SPOOL/sched/, and starts
 * each firing as a job of the owner's through the supervisors (wsup.h). */
#ifndef DAGEXEC_WSCHED_H
#define DAGEXEC_WSCHED_H

#include <stdbool.h>
#include <stddef.h>

struct loop;
struct spool;
struct wsups;
struct wsched;

struct wsched_config {
	struct loop	*loop;
	struct spool	*sp;
	struct wsups	*sups;
	int		 max_jobs;	/* --max-jobs: a firing waits for a
					   free one */
	void		(*changed)(void *arg);	/* a helper ended: what
					   `watch --drain` waits for may be
					   over */
	void		*arg;
};

/* The schedules of one daemon. */
struct wsched *wsched_new(const struct wsched_config *c);
/* Forget them (helpers still running finish on their own). NULL is
 * fine. */
void wsched_free(struct wsched *w);
/* Remove what a firing cut short left in SPOOL/sched/, watch and read
 * schedules/, and forget what root kept of schedules no longer there.
 * 0, or -1 with *cause. */
int wsched_start(struct wsched *w, char **cause);
/* Read schedules/ again (SIGHUP). */
void wsched_scan(struct wsched *w);
/* A job ended or was taken in: start the firings that wait for a job
 * slot or (overlap: queue) for the schedule's previous job. */
void wsched_tick(struct wsched *w);
/* How many files of schedules/ were moved to rejected/ (watch --drain's
 * exit status counts them). */
size_t wsched_rejected(const struct wsched *w);
/* Whether something is due now: a helper at work, a firing waiting, a
 * one-shot job whose time has come (`watch --drain` waits for these, not
 * for later firings). */
bool wsched_busy(const struct wsched *w);

#endif
