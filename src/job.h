/* One DAG in flight: feeds loop events to the scheduler and carries out its
 * decisions (spawn, kill, journal, state, outputs). */
#ifndef DAGEXEC_JOB_H
#define DAGEXEC_JOB_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "loop.h"
#include "manifest.h"
#include "sched.h"

struct cgroup_job;
struct job;

enum job_progress {
	PROGRESS_NONE,		/* warnings and errors only */
	PROGRESS_LINES,		/* one log line an event */
	PROGRESS_TTY		/* one live line, redrawn; warnings above it */
};

struct job_config {
	const char	*id;		/* job id */
	const char	*dir;		/* job directory: state.yaml, events.log,
					   nodes/, outputs/, work/ */
	const char	*manifest_text;	/* written to DIR/manifest.yaml (the
					   bytes that were validated), or
					   NULL when it is there already or
					   the caller writes it */
	size_t		 manifest_len;
	bool		 manifest_nosync;	/* written without a sync:
					   nothing resumes the job (a run),
					   its bundle is synced */
	int		 jobs;		/* -j: cap on this DAG's nodes (0: none) */
	bool		 clean_env;	/* watch: PATH HOME USER LANG TZ only */
	enum job_progress progress;	/* what goes to stderr */
	void		(*on_finish)(struct job *j, void *arg);
					/* runs once the job is over; it must
					   not free the job (free it later,
					   from a timer) */
	void		*arg;
	int		*slots;		/* shared count of running nodes
					   across jobs (watch -j), or NULL */
	void		(*on_slots)(struct job *j, void *arg);
					/* with slots: a node of this job
					   ended or became ready; the owner
					   calls job_dispatch on its jobs */
	bool		 cancel_remote;	/* interrupted: scancel the Slurm jobs
					   too (else a restart adopts them) */
	const int64_t	*estimates;	/* learned durations (ms, 0 unknown)
					   per node, copied; or NULL */
	const char	*resume_log;	/* an events.log to resume from, or
					   NULL */
	bool		 lost;		/* with resume_log: run nothing, end
					   the job failed, reason lost */
	bool		 spooled;	/* a job of the spool: a work directory
					   it cannot open fails its nodes (not
					   job_new), and outputs must be plain
					   files of its owner's, one link */
	const char	*cache_dir;	/* the cache store of the nodes with
					   cache:, or NULL: no cache */
	const bool	*cache_skip;	/* per node (copied), or NULL: nodes
					   never looked up in the cache (they
					   run, and store again) */
	struct cgroup_job *cgroup;	/* the job's cgroup (the caller's,
					   freed after the job), or NULL:
					   rlimits only */
	const char	*bundle;	/* the bundle's path as report.html's
					   retry commands name it (copied),
					   or NULL */
	const char	*spool;		/* a job of `watch`: its spool, for
					   the same (copied), or NULL */
	const char	*scheduled_at;	/* a scheduled firing's time, its
					   nodes' $DAGEXEC_SCHEDULED_AT
					   (copied), or NULL */
};

/* Prepare a job for m (the job takes ownership of m): create its directory
 * layout and journal. NULL with *cause on failure. */
struct job *job_new(struct loop *l, struct manifest *m,
    const struct job_config *c, char **cause);
/* Start scheduling. Returns 0 or -1 with *cause. */
int job_start(struct job *j, char **cause);
/* With shared slots: start at most max_starts nodes that are ready;
 * returns how many were started. */
int job_dispatch(struct job *j, int max_starts);
/* With shared slots: would the job start a node if it had a free slot? */
bool job_wants_slot(struct job *j);
/* A job id for a DAG named name: NAME-YYYYMMDDTHHMMSS-XXXX (UTC, random). */
char *job_make_id(const char *name);
/* Cancel (DS_CANCELLED) or interrupt (DS_INTERRUPTED): kill running nodes. */
void job_stop(struct job *j, enum dag_status why);
/* Cancel from the user: kill running nodes and start nothing new but the
 * `when: always` nodes, which run once their needs have ended (Argo's
 * stop); with now, those too are killed or never started (terminate). A
 * cancel now after a cancel kills what the first one spared. */
void job_cancel(struct job *j, bool now);
/* Whether an interruption also cancels the Slurm jobs (scancel). */
void job_set_cancel_remote(struct job *j, bool yes);
/* True once every node is final and the final state is written. */
bool job_finished(const struct job *j);
enum dag_status job_status(const struct job *j);
const struct manifest *job_manifest(const struct job *j);
const struct sched *job_sched(const struct job *j);
/* For a finished job: write again the files of its end that could not be
 * written (state.yaml, summary.txt, graph.dot, timeline.svg, trace.json,
 * report.html: a full disk). 0 when all are written, -1 when one still
 * fails (logged). */
int job_end_retry(struct job *j);
/* How long the job ran (ms), or -1 before it finished. */
int64_t job_duration_ms(const struct job *j);
/* The job directory, absolute. */
const char *job_dir(const struct job *j);
/* Free everything; kills (SIGKILL) any process still running. */
void job_free(struct job *j);
/* The summary table of the job (render_summary, reused nodes marked). */
void job_render_summary(const struct job *j, FILE *fp);

/* Where the success of a node that the executor never starts comes from. */
enum unrun_kind {
	UNRUN_REUSED,		/* retry: it succeeded in an earlier job */
	UNRUN_CACHED		/* a cache entry of the same key */
};

/* A node's end without an attempt: what it left, taken from elsewhere. */
struct unrun {
	enum unrun_kind	 kind;
	const char	*from;		/* UNRUN_REUSED: the earlier job's id */
	const char	*key;		/* UNRUN_CACHED: the entry's key */
	const struct kv	*metrics;	/* UNRUN_CACHED: what it had cost
					   (NAME -> number), reported as
					   saved */
	size_t		 nmetrics;
	int		 outputs_fd;	/* a directory holding the node's
					   declared outputs under their names
					   (an earlier job's outputs/NODE),
					   or -1 when it declares none */
	const struct kv	*values;	/* its $DAGEXEC_OUTPUT values, copied */
	size_t		 nvalues;
};

/* Before job_start, or (UNRUN_CACHED) right after the scheduler handed out
 * its first start, which then never begins: node i ends succeeded with no
 * attempt (attempts 0), as u says. Its declared outputs are copied from u->outputs_fd into the
 * work directory and into DIR/outputs/NODE (the bundle holds them again),
 * its values reach its dependents as if it had run, and the journal
 * records all of it, so that a retry or a resume of this job finds it.
 * 0, or -1 with *cause: the node is still pending, some of its outputs may
 * have been copied, and the caller should give the job up (its dependents
 * may have been planned as reused). (unrun.c) */
int job_succeed_unrun(struct job *j, size_t i, const struct unrun *u,
    char **cause);

/* The expansions of dynamic foreach nodes the journal path (an events.log)
 * holds, made again in m: the same instances (a resumed job, before its
 * scheduler is made; a finished job read back). An expansion of a node m
 * does not have unexpanded is left out. 0, or -1 with *cause (the journal
 * cannot be read or is malformed). (expand.c) */
int job_expand_replay(struct manifest *m, const char *path, char **cause);
/* The same from the len bytes of an events.log at buf. */
int job_expand_replay_buf(struct manifest *m, const char *buf, size_t len,
    char **cause);
/* Before job_start: j's manifest was expanded for the dynamic foreach
 * group with the items of value (as an earlier job did: a retry); the
 * journal says so, so that a resumed job makes the same instances. */
void job_note_expanded(struct job *j, const char *group, const char *value);

#endif
