/* The inside of a job, shared by job.c and the executors (exec_*.c) and
 * what they call of one another: include it nowhere else (job.h is the
 * public face). */
#ifndef DAGEXEC_JOB_INT_H
#define DAGEXEC_JOB_INT_H

#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "cache.h"
#include "fsutil.h"
#include "job.h"
#include "log.h"
#include "loop.h"
#include "manifest.h"
#include "sched.h"
#include "secret.h"
#include "state.h"

#define READ_CHUNK		65536	/* one read of a node's output */
#define STATE_INTERVAL_MS	200	/* at most 5 state writes a second */

struct cachestore;
struct ending;
struct sbtask;
struct meter;
struct meters;
struct spawn_spec;
struct slurm_cmd;
struct statew;
struct strmap;
struct worker;

/* One output stream of a running attempt, capped at limit bytes: the first
 * half goes straight to the file, the last half is kept in a ring and
 * written at the end, after a line counting what was dropped. */
struct logsink {
	int	 fd;		/* the pipe's read end, -1 at EOF */
	int	 file;		/* the log file; -1 until the first byte */
	const struct job *job;	/* whose nodes/NODE/NAME it is: */
	const char *node;	/* the node's id (borrowed) */
	const char *name;	/* "stdout.log" or "stderr.log" */
	int	 attempt;	/* for the "--- attempt N ---" line */
	bool	 failed;	/* the file could not be opened: */
	char	*error;		/* why, for the attempt's end */
	int64_t	 head_max;	/* limit / 2 */
	int64_t	 tail_max;	/* limit - head_max */
	int64_t	 written;	/* head bytes written */
	char	*ring;		/* tail_max bytes, allocated on overflow */
	int64_t	 ring_pos;	/* next write position */
	int64_t	 ring_len;	/* valid bytes */
	int64_t	 dropped;
	struct maskstream mask;	/* bytes that may begin a secret */
	/* stderr: its last ERRTAIL_KEEP bytes, for the attempt's end */
	bool	 keep_last;
	char	*last;		/* ERRTAIL_KEEP bytes, made on the first */
	size_t	 last_pos;	/* next write position */
	int64_t	 last_seen;	/* bytes written in all */
	char	*tail;		/* sink_finish: their last lines (errtail_new),
				   or NULL; the attempt's end takes it */
};

struct nodeproc {
	struct job		*job;
	size_t			 node;
	int			 attempt;
	pid_t			 pid;		/* 0: not running */
	bool			 exited;
	int			 status;
	struct rusage		 ru;
	struct logsink		 out;
	struct logsink		 err;
	struct loop_timer	*kill_timer;
	bool			 killing;
	struct ending		*ending;	/* its outputs are being copied */
	/* executor: slurm */
	bool			 slurm;		/* this attempt runs on Slurm */
	bool			 slurm_live;	/* submitting or tracked */
	char			*slurm_id;	/* its Slurm job, once known */
	struct slurm_cmd	*slurm_cmd;	/* sbatch or the lookup */
	int			 adopt_attempt;	/* resume: the attempt still
						   on Slurm (0: none) */
	char			*adopt_id;	/* and its journalled id */
	char			*sbdir;		/* a sandboxed attempt's own
						   directory, io/-relative
						   (kept by job_proc_reset);
						   NULL: none */
	char			*cg;		/* its cgroup in the job's, or
						   NULL */
	unsigned char		 sblevel;	/* its sandbox (enum
						   sandbox_level) */
	bool			 sbclean;	/* ended with its cgroup gone:
						   none of its processes
						   lives (sbdir reusable) */
	struct meter		*meter;		/* its metrics file followed
						   (meter.c), or NULL */
};

/* A cached node's key, as computed at its last start. */
struct nodecache {
	bool	 skip;			/* never looked up (retry --from) */
	bool	 keyed;			/* key holds its last start's key */
	char	 key[CACHE_KEY_LEN + 1];
	struct cache_id refused;	/* the entry its lookup did not use */
};

/* What spawn_resolve gave for one program under one PATH, best first. */
struct resolved {
	char	 *argv0;
	char	 *path;		/* PATH, or NULL when unset */
	char	**paths;
};

struct job {
	struct loop		*loop;
	struct manifest		*m;
	struct sched		*s;
	struct journal		*jr;
	char			*id;
	char			*dir;		/* absolute */
	char			*workdir;	/* absolute */
	char			*pwd;		/* its realpath: PWD for lines
						   run without the shell */
	int			 workdir_fd;
	char			*workdir_err;	/* why workdir_fd is -1 */
	int			 nodes_fd;	/* DIR/nodes */
	bool			 outputs_made;	/* DIR/outputs is there */
	struct worker		*copier;	/* copies declared outputs */
	DIR			*io_dir;	/* DIR/io, or NULL */
	int			 io_fd;		/* its descriptor, or -1 */
	int			 io_ino;	/* inotify on io/ (creations),
						   or -1 */
	int			 io_wd;		/* its watch */
	bool			 io_dirty;	/* io/ not known to be empty */
	int			 children_fd;	/* /proc/self/task/TID/children,
						   kept open; -1: not yet */
	char			*children_buf;	/* what it last read */
	size_t			 children_cap;
	struct strmap		*rs;		/* argv0 -> index in rs_ents */
	struct resolved		*rs_ents;	/* spawn_resolve, per program */
	size_t			 nrs_ents;
	size_t			 rs_cap;
	struct statew		*sw;		/* state.yaml writer thread */
	struct state_inc	*si;		/* what it wrote last */
	char			*state_path;
	bool			 clean_env;
	enum job_progress	 progress;
	int64_t			 last_draw;
	bool			 line_shown;
	void			(*on_finish)(struct job *, void *);
	void			*arg;
	int			*slots;		/* shared: nodes running */
	int64_t			*estimates;
	bool			 resumed;	/* from an earlier run's journal */
	int			 resume_cancel;	/* its journal says it was
						   cancelled: 1 sparing when:
						   always nodes, 2 not; 0 */
	bool			 lost;		/* resumed only to end it: lost */
	bool			 spooled;	/* a job of the spool (watch) */
	char			*scheduled_at;	/* $DAGEXEC_SCHEDULED_AT, or
						   NULL */
	int64_t			 first_wall;	/* resumed: the journal's first
					   event (the job's start); -1 */
	int64_t			*first_start;	/* resumed: each node's first
					   start (wall clock); -1: none */
	int64_t			*done_span;	/* resumed: first start to end
					   of a node that succeeded */
	void			(*on_slots)(struct job *, void *);
	struct nodeproc		**procs;	/* per node: its attempt in
					   flight, or NULL (job_proc);
					   the array grows with a
					   dynamic foreach */
	struct kvlist		*outs;		/* per node: the
					   $DAGEXEC_OUTPUT values of its
					   last success */
	char			**base_env;	/* NULL-terminated, owned */
	size_t			 nbase_env;
	int64_t			 wall_base;
	int64_t			 mono_base;
	int64_t			 started;
	int64_t			 finished;
	int64_t			 last_state;
	int64_t			 state_interval;
	bool			 state_dirty;
	struct loop_timer	*state_timer;
	struct loop_timer	*wake_timer;
	struct loop_timer	*sync_timer;
	int64_t			 wake_at;
	bool			 done;
	bool			 end_failed;	/* a file of the end is missing */
	bool			 in_pump;
	bool			 pump_again;
	int			 running;
	char			*self;		/* this binary, for __http and
					   __notify children */
	pid_t			 notify_pid;	/* the __notify child, or 0 */
	bool			 notifying;
	char			*notify_status;	/* "sent", "failed" or NULL */
	char			*notify_error;
	bool			 cancel_remote;	/* interrupted: scancel too */
	bool			 interrupted;	/* job_stop(DS_INTERRUPTED) */
	char			**slurm_jobs;	/* per node, for state.yaml */
	char			**reused_from;	/* per node: the job whose
					   success it reuses, or NULL; the
					   array is NULL until one is */
	size_t			 nlogged[NS__COUNT];	/* node lines logged,
					   a status (see log_change) */
	char			*cache_dir;	/* the cache store, or NULL */
	struct nodecache	*nc;		/* per node, with cache_dir and
					   a cached node */
	struct state_cached	*cached;	/* per node: hits and what they
					   saved; NULL until one is */
	struct metric		*saved;		/* the DAG's sums of those */
	size_t			 nsaved;
	struct cgroup_job	*cg;		/* the job's cgroup, or NULL */
	struct meters		*meters;	/* the metrics of running
					   nodes followed (meter.c), or
					   NULL */
	struct secrets		*secrets;	/* every secret value read so
					   far, masked in what is written;
					   NULL until one is */
	char			*bundle;	/* for report.html, or NULL */
	char			*spool;		/* for report.html, or NULL */
	unsigned char		*sandbox;	/* per node: the weakest enum
					   sandbox_level of its attempts;
					   NULL until one ran sandboxed */
	struct worker		*sbworker;	/* makes and removes sandboxed
					   attempts' directories
					   (exec_sandbox.c) */
	struct sbtask		*sbtasks;	/* what it was given and has not
					   handed back */
	char			**sbpool;	/* directories made ahead, io/-
					   relative, for the next attempts */
	size_t			 nsbpool;
	size_t			 sbpool_cap;
	unsigned		 sbseq;		/* the last one's number */
	int			 copying;	/* endings whose outputs are being
					   copied (the worker reads the
					   manifest meanwhile) */
	size_t			*expand_wait;	/* dynamic foreach nodes due
					   while a copy ran */
	size_t			 nexpand_wait;
	size_t			 expand_wait_cap;
	struct strmap		*values_done;	/* values/SOURCE/KEY files
					   written by this run: */
	char			**values_paths;	/*   its keys */
	size_t			 nvalues_paths;
	size_t			 values_paths_cap;
};
/* ---- job.c -------------------------------------------------------------- */

/* Log `LEVEL JOB/NODE EVENT detail` (node SIZE_MAX: the job's own), above
 * the progress line; below LOG_WARN only with PROGRESS_LINES. */
void	job_log(struct job *j, enum log_level lvl, size_t node,
	    const char *event, const char *fmt, ...)
	    __attribute__((format(printf, 5, 6)));
/* v in decimal, allocated (the caller frees it). */
char	*job_num(int64_t v);
/* What a child of the job gets from it (umask 077), into sp. */
void	 job_spawn_ids(const struct job *j, struct spawn_spec *sp);
/* Parse the KEY=VALUE side file path (relative to dirfd), made by a node,
 * as its owner, and remove it; *out (allocated, kvfile_free) is empty when
 * there is none. 0, or -1 with *cause naming the bad line. */
int	 job_parse_kv_file(const struct job *j, int dirfd, const char *path,
	    const char *what, bool numeric, struct kv **out, size_t *nout,
	    char **cause);
/* Node i's record of the attempt in flight, made when missing: a node
 * that waits or is over costs a pointer, not a record (job_proc_drop). */
struct nodeproc *job_proc(struct job *j, size_t i);
/* Free node i's record once its attempt is over (nothing runs, nothing is
 * being copied); the outputs of its last success are j->outs[i]'s. */
void	 job_proc_drop(struct job *j, size_t i);
/* Make DIR/outputs when it is not there yet: it is made after the first
 * nodes have started, or before, by the first that needs it. */
int	 job_outputs_dir(struct job *j, char **cause);
/* Node i's record, cleared for attempt; returned. */
struct nodeproc *job_proc_reset(struct job *j, size_t i, int attempt);
/* The attempt of np ended as e says (cause: an error line, taken, or
 * NULL): read its side files, copy its outputs, journal its end and tell
 * the scheduler. Every started attempt comes here exactly once. */
void	 job_attempt_ended(struct nodeproc *np, struct attempt_end *e,
	    char *cause);
/* Something state.yaml shows changed: write it soon. */
void	 job_state_touch(struct job *j);
/* What state.yaml shows of node i beside its scheduler record changed
 * (its Slurm job, reuse, cache hit): its entry is rendered again. */
void	 job_state_node(struct job *j, size_t i);
/* Something outside job.c told the scheduler of an event: carry out what
 * it decided (kills, starts, changes). */
void	 job_kick(struct job *j);

/* jobend.c: the files of the job's end, and its notification */
void	 job_write_end(struct job *j, bool journal);
int	 notify_start(struct job *j);	/* 0: started, on_finish later */

/* resume.c: an earlier run's journal replayed into the scheduler */
int	 job_resume(struct job *j, const char *path, char **cause);

/* statew.c: state.yaml while the job runs, and at its end */
void	 job_fill_state(const struct job *j, struct state_job *sj);
void	 statew_flush_first(struct job *j);	/* after the first starts */
void	 statew_flush(struct job *j);		/* now, on this thread */
void	 statew_stop(struct job *j);
/* argv[0] of the children that run this binary (__http, __notify). */
extern char job_argv0[];

/* ---- unrun.c: nodes that end without an attempt ------------------------ */

/* Node i reuses the success of job from (NULL: nothing is noted), for the
 * state and the summary. */
void	 job_note_reused(struct job *j, size_t i, const char *from);

/* Node i is a cache hit (state and summary). */
void	 job_note_cached(struct job *j, size_t i);
/* A hit of node i saved metric name (value: a number as text). */
void	 job_note_saved(struct job *j, size_t i, const char *name,
	    const char *value);

/* ---- cachenode.c: cached nodes ------------------------------------------ */

/* Take the cache settings of c (nothing when no node is cached). */
void	 job_cache_init(struct job *j, const struct job_config *c);
void	 job_cache_free(struct job *j);
/* Attempt of node i was just handed out: key it and, on a hit of its
 * first attempt, end it through job_succeed_unrun. True: it is over and
 * must not start. */
bool	 job_cache_start(struct job *j, size_t i, int attempt);
/* For a success of node i (its values, this attempt's metrics): what the
 * worker needs to store it, or NULL when it is not to be stored. */
struct cachestore *job_cache_store_new(struct job *j, size_t i,
	    const struct kv *values, size_t nvalues, const struct metric *m,
	    size_t nm);
/* On the worker, with the owner's ids, after its outputs were copied:
 * key it again and store it when the keys agree. */
void	 job_cache_store_run(struct cachestore *cs);
/* Back on the loop: log what came of it. */
void	 job_cache_store_done(struct cachestore *cs);
void	 job_cache_store_free(struct cachestore *cs);

/* Wait until the state writer's thread reads nothing of the manifest. */
void	 job_state_quiet(struct job *j);

/* ---- expand.c: a dynamic foreach ----------------------------------------- */

/* Records for m->nnodes nodes (from old): the job's arrays grow. */
void	 job_grow(struct job *j, size_t old);
/* Node t, a dynamic foreach, is due (SA_EXPAND): make its instances from
 * the value of the node it expands over (journalled first), or end it
 * (no items: skipped, reason empty; too many: failed). Waits while an
 * output copy runs (the worker reads the manifest). */
void	 job_expand(struct job *j, size_t t);
/* The expansions put off by job_expand, once no copy runs. */
void	 job_expand_waiting(struct job *j);

/* ---- env.c: the environment of a job's nodes ---------------------------- */

/* Fill j->base_env from ours: no DAGEXEC_*, only the clean set with
 * clean_env. */
void	  env_init_base(struct job *j);
/* The environment of attempt of node i (out_path, metrics_path: its side
 * files; tmpdir: its TMPDIR, or NULL to keep ours; pwd: PWD for a line run
 * without the shell, or NULL; secrets: its nsecrets values from
 * env_secrets_read, or NULL); free it with env_build_free, as it borrows
 * j->base_env's entries. The values its needs pass on are written to
 * DIR/values/ first (or private/, see env_needs): NULL with *cause when
 * one cannot be. */
char	**env_build(struct job *j, size_t i, int attempt,
	    const char *out_path, const char *metrics_path, const char *tmpdir,
	    const char *pwd, const struct kv *secrets, size_t nsecrets,
	    char **cause);
/* Where the side file name ("output", "metrics", "http.json",
 * "http.result") of node i's attempt is: io/NODE.NAME, or, for an attempt
 * with a sandbox, in its own directory (it may not write in io/),
 * io/SBDIR/NAME; relative to io/ when rel, else absolute. Allocated. */
char	 *job_side_path(const struct job *j, size_t i, const char *name,
	    bool rel);
/* Read node i's secrets (its own and the manifest's) with our ids, the
 * job owner's, as its attempt starts, into *out (*n of them, free with
 * env_secrets_free); every value is masked from now on (j->secrets).
 * Under the spool a secret file must be the owner's and readable by no
 * one else. 0, or -1 with *cause (allocated), the attempt's spawn error. */
int	  env_secrets_read(struct job *j, size_t i, struct kv **out,
	    size_t *n, char **cause);
void	  env_secrets_free(struct kv *v, size_t n);
/* str with every secret value read so far replaced by "***" (allocated;
 * NULL for NULL). */
char	 *job_mask(const struct job *j, const char *str);
/* Free what env_build returned (its borrowed entries stay the job's). */
void	  env_build_free(const struct job *j, char **v);
/* Free a NULL-terminated vector of strings and the strings (NULL: none). */
void	  env_free(char **v);

/* ---- meter.c: metrics followed while nodes run --------------------------- */

/* When the DAG or a node has a budget, watch io/ so that what running
 * nodes append to $DAGEXEC_METRICS reaches the scheduler at once
 * (sched_progress); else nothing (j->meters NULL). */
void	meter_init(struct job *j);
/* Attempt of node i started (its record reset): a sandboxed one's own
 * directory is watched too. */
void	meter_start(struct job *j, size_t i);
/* The attempt of np ended: forget what was read of it. */
void	meter_end(struct nodeproc *np);
/* Stop watching (job_free). */
void	meter_free(struct job *j);

/* ---- sink.c: a node's logs ---------------------------------------------- */

/* A log sink for attempt of node i reading pipe fd (-1: none) into
 * DIR/nodes/NODE/name, capped at limit bytes; no file until a byte. */
void	sink_init(struct logsink *ls, int fd, const struct job *j, size_t i,
	    const char *name, int attempt, int64_t limit);
/* Open the log file with the owner's file-system ids (once); its fd, or -1
 * with ls->error set. */
int	sink_open(struct logsink *ls);
/* Append len bytes of buf, keeping the head and a ring of the tail. */
void	sink_write(struct logsink *ls, const char *buf, size_t len);
/* Write the kept tail and close the file; a stderr sink's last lines go
 * into ls->tail. */
void	sink_finish(struct logsink *ls);
/* A log that could not be opened fails the attempt e: its error becomes
 * *cause (taken) unless there is one. */
void	sink_take_error(struct logsink *ls, struct attempt_end *e,
	    char **cause);

#endif
