/* The executor interface: how a job runs an attempt of one node kind. An
 * executor starts it, kills it, and reports its end once, through
 * job_attempt_ended; the scheduling is the job's. Private to job.c and
 * exec_*.c (struct job is in job_int.h). */
#ifndef DAGEXEC_EXEC_H
#define DAGEXEC_EXEC_H

#include <stddef.h>
#include <sys/types.h>

#include "sandbox.h"

struct attempt_end;
struct job;

struct exec_ops {
	const char	*name;
	/* Start attempt `attempt` of node i. 0: its end is reported through
	 * job_attempt_ended, exactly once; -1 with *cause (allocated): it
	 * never started and nothing will be reported. */
	int	(*start)(struct job *j, size_t i, int attempt, char **cause);
	/* Stop node i's attempt with sig (SIGTERM: SIGKILL after a grace);
	 * nothing when none runs. Its end is reported as usual. */
	void	(*kill)(struct job *j, size_t i, int sig);
	/* The job is being freed: let go of node i's attempt, if any (a local
	 * process gets SIGKILL, a Slurm job runs on for a restart to adopt);
	 * no end is reported. */
	void	(*release)(struct job *j, size_t i);
	/* Or NULL. At the attempt's end, as the job's owner: remove what the
	 * executor made for it in io/. */
	void	(*cleanup)(struct job *j, size_t i);
	/* Or NULL. At the attempt's end, before it goes on file: the
	 * executor's own account of how it ended may change e (reason,
	 * retry_after_ms) and replace *cause (allocated). */
	void	(*ended)(struct job *j, size_t i, struct attempt_end *e,
		    char **cause);
};

extern const struct exec_ops exec_local;	/* a process, here */
extern const struct exec_ops exec_http;		/* a request, made by a
						   __http child */
extern const struct exec_ops exec_slurm;	/* a Slurm job */

/* A program a local attempt runs instead of the node's own (the __http
 * child): this binary, with the argv that prepare fills (at most 4 words
 * and NULL) for node i from its environment envp, and *port the TCP port it
 * will connect to (for its sandbox; -1: none), 0 or -1 with *cause;
 * release frees what prepare allocated in argv. */
struct exec_child {
	int	(*prepare)(struct job *j, size_t i, char **envp, char **argv,
		    int *port, char **cause);
	void	(*release)(char **argv);
};

/* Start attempt of node i as a local process group, with its output into
 * its logs (child: the program to run instead of the node's own, or NULL).
 * 0, or -1 with *cause (allocated). */
int	exec_local_spawn(struct job *j, size_t i, int attempt,
	    const struct exec_child *child, char **cause);
/* exec_local's kill and release, for executors that spawn with it. */
void	exec_local_kill(struct job *j, size_t i, int sig);
void	exec_local_release(struct job *j, size_t i);
/* Send sig to every process of the job's user that carries node i's
 * DAGEXEC_JOB and DAGEXEC_NODE (a /proc scan); how many. */
int	exec_local_kill_strays(struct job *j, size_t i, int sig);
/* Resume: SIGKILL what is left in group pgid of node i's interrupted
 * attempt (the processes that carry this job's DAGEXEC_JOB). */
void	exec_local_kill_leftovers(struct job *j, size_t i, pid_t pgid);

/* ---- exec_sandbox.c: the directories of sandboxed attempts -------------- */

/* Give node i's next attempt a directory of its own in io/ (np->sbdir),
 * with tmp/ in it: an empty one the job's thread made ahead, or one made
 * now. 0, or -1 with *cause. */
int	exec_sandbox_take(struct job *j, size_t i, char **cause);
/* Retire node i's attempt's directory (np->sbdir, then NULL) on the job's
 * thread: with reuse (no process of the attempt lives), emptied of its
 * side files it serves a later attempt when all that is left is an empty
 * tmp/; else it is removed with what is in it. A failure is logged. */
void	exec_sandbox_remove(struct job *j, size_t i, bool reuse);
/* A resumed job: remove what attempts of the interrupted run left in io/. */
void	exec_sandbox_leftovers(struct job *j);
/* Remove the directories made ahead, and wait until everything given to
 * the job's thread is done. */
void	exec_sandbox_drain(struct job *j);
/* An attempt of node i ran with a sandbox of this level (SANDBOX_UNSET:
 * none asked for): j->sandbox keeps the weakest of its attempts. */
void	exec_sandbox_note(struct job *j, size_t i, enum sandbox_level level);

#endif
