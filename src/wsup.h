/* The daemon's side of its jobs' supervisors: starting one for a claimed
 * file or a job to resume, answering it on its control channel (job ids,
 * rejections, node slots, the finished bundle), noticing its end, and
 * adopting the supervisors an earlier daemon left running. Everything here
 * runs as root and opens nothing inside a job directory. */
#ifndef DAGEXEC_WSUP_H
#define DAGEXEC_WSUP_H

#include <stdbool.h>
#include <sys/types.h>

#include "spool.h"

struct loop;
struct wsups;

struct wsups_config {
	struct loop	*loop;
	struct spool	*sp;
	int		 cap;		/* -j across all jobs; INT_MAX: none */
	bool		 cancel_remote;	/* interrupted: scancel too */
	void		(*changed)(void *arg);	/* a supervisor ended, or a
					   job was taken in or refused */
	void		*arg;
};

/* The table of supervisors of one daemon. */
struct wsups *wsups_new(const struct wsups_config *c);
/* Forget every supervisor (they run on) and close the channels. */
void wsups_free(struct wsups *t);
/* Supervisors known (jobs being taken in, running, or ending). */
size_t wsups_count(const struct wsups *t);
/* Since wsups_new: *collected, the bundles copied into done/; *failed,
 * those of jobs that did not succeed; *rejected, the files the
 * supervisors refused. */
void wsups_outcomes(const struct wsups *t, size_t *collected, size_t *failed,
    size_t *rejected);
/* Start a supervisor for a claimed file (the claim's descriptors are
 * handed over and closed here, c is released). */
void wsups_take(struct wsups *t, struct spool_claim *c);
/* At start-up: adopt the live supervisors of claims/, resume the jobs whose
 * supervisor is gone, and put back files whose taking-in was cut short. */
void wsups_recover(struct wsups *t);
/* Is id a job of a supervisor? Then ask it to cancel (if uid, the
 * requester, is 0 or the job's owner: else *refused) and return true:
 * its `when: always` nodes still run, unless now. */
bool wsups_cancel(struct wsups *t, const char *id, uid_t uid, bool now,
    bool *refused);
/* Ask every supervisor to interrupt its job (--stop-jobs); returns how
 * many were asked. */
size_t wsups_stop(struct wsups *t);
/* Start another helper as a user through the supervisors' spawner (a
 * schedule's reader: wsched.c), the same way. Its pid (our child), or -1
 * with *cause. */
struct spawner_req;
pid_t wsups_spawn(struct wsups *t, const struct spawner_req *r,
    char **cause);
/* The descriptor of SPOOL/ctl, where supervisors reconnect, or -1 with
 * *cause. */
int wsups_listen(struct wsups *t, char **cause);

#endif
