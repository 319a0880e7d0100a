/* The Slurm executor's parts that know Slurm: the batch script and sbatch
 * command line of an attempt, the parsing of what sbatch and squeue print,
 * the mapping of Slurm's job states onto dagexec's failure classes, Slurm
 * commands run as asynchronous children, and the tracker that follows
 * every submitted Slurm job of the process with one squeue call a tick.
 * What a node's attempt means (journal, logs, the scheduler) is job.c's. */
#ifndef DAGEXEC_SLURM_H
#define DAGEXEC_SLURM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "loop.h"
#include "manifest.h"

/* The batch script's exit status when it cannot enter the work directory
 * on the Slurm node (not on a filesystem the nodes share). */
#define SLURM_EXIT_CHDIR	222

/* One job as squeue reported it. */
struct slurm_job_state {
	char	*id;
	char	*state;		/* PENDING, RUNNING, COMPLETED, ...; for the
				   tracker's callback also "VANISHED" */
	int	 wstatus;	/* exit_code as a wait(2) status */
	char	*comment;	/* NULL for "(null)" */
};

/* The text of the batch script of one attempt: exports every "K=V" of envp
 * whose name is a shell identifier, enters workdir (else says why on
 * stderr and exits SLURM_EXIT_CHDIR), then execs /bin/sh -c run (run not
 * NULL) or argv. Every value is single-quoted. */
char *slurm_script(char *const *envp, const char *workdir, const char *run,
    char *const *argv);
/* "dagexec:JOB:NODE:ATTEMPT", the --comment an attempt is found by. */
char *slurm_comment(const char *job, const char *node, int attempt);
/* The sbatch command line (NULL-terminated, allocated; free with
 * slurm_argv_free) of attempt of node n: --parsable, --job-name=DAG/NODE,
 * the comment, --output/--error, --chdir, --export=NONE, cpus, mem (else
 * limits.memory), time in whole minutes (else the timeout rounded up),
 * partition, account, qos, gres, extra, then the script. */
char **slurm_sbatch_argv(const struct node *n, const char *dag,
    const char *job, int attempt, const char *script, const char *out,
    const char *err, const char *workdir);
void slurm_argv_free(char **argv);
/* The job id in what `sbatch --parsable` printed ("123" or "123;cluster").
 * Returns 0 with *id allocated, or -1. */
int slurm_parse_submit(const char *out, size_t len, char **id);
/* Parse squeue lines "ID|STATE|EXIT|COMMENT|" (the format slurm_queue_argv
 * asks for). Returns 0 with *v (free with slurm_states_free), or -1 with
 * *cause naming the bad line. */
int slurm_parse_queue(const char *out, size_t len,
    struct slurm_job_state **v, size_t *n, char **cause);
void slurm_states_free(struct slurm_job_state *v, size_t n);
/* The squeue command line asking for the jobs in ids (n of them), or, with
 * ids NULL, for the jobs named name. Free with slurm_argv_free. */
char **slurm_queue_argv(char *const *ids, size_t n, const char *name);
/* Whether state is final; when it is, how the attempt ended: *reason
 * (REASON_NONE for COMPLETED), *exit_code (-1 when none) and *signo. */
bool slurm_map(const char *state, int wstatus, enum reason *reason,
    int *exit_code, int *signo);
/* Does a job's stderr say Slurm killed it for memory? */
bool slurm_says_oom(const char *text, size_t len);

/* The environment of a Slurm command: base (NULL-terminated "K=V", may be
 * NULL) without SLURM_JOB_ID/SLURM_JOBID, plus PATH and SLURM_CONF from
 * ours where base has none. Free with slurm_argv_free. */
char **slurm_env(char *const *base);

/* A Slurm command running in a child; cb gets its wait status and what it
 * printed (stdout and stderr, at most 16 MiB). */
struct slurm_cmd;
typedef void (*slurm_cmd_cb)(int status, const char *out, size_t len,
    void *arg);
/* Run argv (argv[0] looked up in envp's PATH). NULL with *cause. */
struct slurm_cmd *slurm_cmd_run(struct loop *l, char **argv, char **envp,
    slurm_cmd_cb cb, void *arg, char **cause);
/* Never call back; the child is killed and reaped. NULL is fine. */
void slurm_cmd_forget(struct loop *l, struct slurm_cmd *c);
/* Let go of the forgotten commands still running, before l is freed: the
 * loop stops watching them (their children were signalled already). */
void slurm_cmds_drop(struct loop *l);
/* How many forgotten commands still run. */
size_t slurm_cmds_forgotten(void);

/* The tracker: one squeue for every tracked job a tick, the tick doubling
 * from 250 ms to 5 s while nothing changes. cb runs once, when id reached a
 * final state (or vanished from squeue for three ticks: "VANISHED"); the
 * entry is then gone. Returns 0. */
typedef void (*slurm_track_cb)(const struct slurm_job_state *st, void *arg);
int slurm_track(struct loop *l, const char *id, slurm_track_cb cb,
    void *arg);
/* Stop tracking id for arg (no callback). */
void slurm_untrack(const char *id, void *arg);
/* scancel id, in the background (as the daemon). */
void slurm_cancel(struct loop *l, const char *id);
/* How many jobs are tracked. */
size_t slurm_tracked(void);

#endif
