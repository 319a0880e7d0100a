/* cgroup v2 containment: what the host gives (cgroup_probe), a job's own
 * cgroup (JOB/, with the supervisor in JOB/supervisor), one cgroup an
 * attempt (JOB/NODE.N) with its limits, its accounting and its end by
 * cgroup.kill, and the daemon's side (cgroupd.c): the daemon in a leaf of
 * its own, a cgroup a job owned by the job's user, killed when its
 * supervisor ends. Nothing here knows of scheduling. */
#ifndef DAGEXEC_CGROUP_H
#define DAGEXEC_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct loop;

/* The controllers dagexec uses, as a mask. */
#define CG_CPU		(1u << 0)
#define CG_MEMORY	(1u << 1)
#define CG_PIDS		(1u << 2)
#define CG_LIMITS	(CG_CPU | CG_MEMORY | CG_PIDS)

/* --containment: what to use. */
enum cgroup_mode {
	CGROUP_AUTO,		/* cgroups where they can be made, else rlimits */
	CGROUP_ON,		/* cgroups, or refuse to run */
	CGROUP_OFF		/* rlimits only, as before cgroups */
};

/* What a job got (state.yaml `containment`). */
enum containment {
	CONTAIN_RLIMITS,	/* no cgroups: process groups and rlimits */
	CONTAIN_NOLIMITS,	/* a cgroup an attempt, without all of the
				   memory, pids and cpu controllers */
	CONTAIN_CGROUP		/* a cgroup an attempt, with all three */
};

/* "auto", "cgroup" or "rlimits" into *m: 0, or -1. */
int cgroup_mode_parse(const char *s, enum cgroup_mode *m);
/* "rlimits", "cgroup-nolimits" or "cgroup". */
const char *containment_name(enum containment c);
/* The controllers of mask as "cpu memory pids" (static; "none"). */
const char *cgroup_mask_text(unsigned mask);

/* What this host gives a process like this one (for `dagexec doctor` and
 * the choices below). */
struct cgroup_host {
	char		*mount;		/* where cgroup2 is mounted, or NULL */
	char		*self;		/* our cgroup ("/", "/a/b"), or NULL */
	char		*dir;		/* mount + self, or NULL */
	bool		 writable;	/* we may make a child of dir and move
					   ourselves into it */
	unsigned	 available;	/* CG_* in dir/cgroup.controllers */
	unsigned	 enabled;	/* CG_* in dir/cgroup.subtree_control */
	bool		 kill;		/* cgroup.kill (Linux 5.14) */
	bool		 clone3;	/* clone3 with CLONE_INTO_CGROUP
					   (Linux 5.7) */
	char		*why;		/* when dir is NULL or not writable:
					   why, for a person */
};

/* Fill h (cgroup_host_release frees it). Never fails: what cannot be
 * found is NULL or false, with h->why. */
void cgroup_probe(struct cgroup_host *h);
void cgroup_host_release(struct cgroup_host *h);

/* ---- a job's cgroup, held by its supervisor or by `run` ----------------- */

struct cgroup_job;

/* `run`: make OURS/dagexec/ID/ with ourselves in ID/supervisor, the
 * controllers enabled on the way where they can be. With CGROUP_OFF, or
 * CGROUP_AUTO where it cannot be done: 0 and *out NULL (*why, allocated,
 * says why for CGROUP_AUTO; may be NULL). -1 with *why: CGROUP_ON and it
 * cannot be done. */
int cgroup_job_run(const char *id, enum cgroup_mode mode,
    struct cgroup_job **out, char **why);
/* A supervisor of `watch`: our cgroup is .../dagexec/NAME/supervisor
 * (the daemon started us there) and NAME/ is the job's, or NULL: we run
 * with rlimits. */
struct cgroup_job *cgroup_job_self(void);
/* What the job's attempts get. NULL: CONTAIN_RLIMITS. */
enum containment cgroup_job_containment(const struct cgroup_job *cj);
/* The controllers its attempts' cgroups have (0 for NULL). */
unsigned cgroup_job_controllers(const struct cgroup_job *cj);
/* Why a controller in `missing` is not there, for a person: "the cgroup
 * v2 hierarchy here has no pids controller", "containment is rlimits". */
char *cgroup_job_why(const struct cgroup_job *cj, unsigned missing);
/* Kill what is left of node's attempts (every JOB/NODE.N: an interrupted
 * run's), remove their cgroups; how many processes were killed. */
int cgroup_job_kill_node(struct cgroup_job *cj, const char *node);
/* The job is over: the cgroups of ended attempts still busy are removed
 * (waiting a little). `run`: we go back where we came from, JOB/ is
 * killed and removed. NULL is fine. */
void cgroup_job_free(struct cgroup_job *cj);

/* ---- an attempt's cgroup ------------------------------------------------- */

/* Limits of an attempt; 0: none. Only those of the job's controllers are
 * applied (the caller checks cgroup_job_controllers first). */
struct cgroup_limits {
	int64_t	memory;		/* bytes: memory.max, memory.swap.max 0 */
	int64_t	pids;		/* pids.max */
	int64_t	cpus_milli;	/* CPUs in thousandths: cpu.max */
};

/* How an attempt's cgroup was used, read at its end. */
struct cgroup_usage {
	int64_t	cpu_ms;		/* cpu.stat usage_usec / 1000; -1 */
	int64_t	peak_kb;	/* memory.peak / 1024; -1 when none */
	int64_t	oom_kills;	/* memory.events oom_kill */
	int	leftovers;	/* processes still in it, killed */
	bool	gone;		/* the cgroup is removed: none of its
				   processes lives */
};

/* Make the cgroup of attempt of node (JOB/NODE.N, where a node id has
 * only characters a cgroup name may hold, else %XX, and one too long ends
 * in a hash), apply lim, and open it (O_PATH) for the child to start in
 * (spawn_spec.cgroup_dir): the descriptor (close-on-exec; the caller
 * closes it after the spawn) and *name (allocated: the attempt's cgroup
 * from now on), or -1 with *cause. */
int cgroup_attempt_new(struct cgroup_job *cj, const char *node, int attempt,
    const struct cgroup_limits *lim, char **name, char **cause);
/* Send sig to every process in the attempt's cgroup; SIGKILL is
 * cgroup.kill (nothing escapes it: not a new session, not a double
 * fork). How many were signalled (SIGKILL: 1 when any). */
int cgroup_attempt_signal(struct cgroup_job *cj, const char *name, int sig);
/* The attempt is over: kill what is left in its cgroup, wait for it to
 * go (at most wait_ms), read *u, remove the cgroup (u->gone; else it is
 * left to cgroup_job_free while something still dies). */
void cgroup_attempt_end(struct cgroup_job *cj, const char *name, int wait_ms,
    struct cgroup_usage *u);

/* clone3(2)'s struct clone_args, as of Linux 5.7 (cgroup). */
struct cgroup_clone_args {
	uint64_t	flags, pidfd, child_tid, parent_tid, exit_signal,
			stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

/* A fork-like clone3 (no CLONE_VM, no stack of its own) with flags,
 * into the cgroup whose directory is dirfd (O_PATH will do) from the
 * child's first instruction: as fork(2), the child gets 0; -1 with errno,
 * which cgroup_clone_refused tells apart. */
long cgroup_clone(uint64_t flags, int dirfd);
/* Whether err from clone3 is its refusal as such (an old kernel, a
 * seccomp filter), rather than this child's failure: the caller falls
 * back to a clone and cgroup_join. */
bool cgroup_clone_refused(int err);

/* In a child between fork and exec (async-signal-safe: openat, write,
 * close): join the cgroup whose directory is dirfd (O_PATH will do). 0, or
 * -1 with errno. */
int cgroup_join(int dirfd);

/* ---- the daemon's side (cgroupd.c) --------------------------------------- */

struct cgroup_daemon;

/* `watch`: move ourselves into OURS/dagexec/daemon and enable the
 * controllers below OURS/dagexec where they can be. CGROUP_OFF, or
 * CGROUP_AUTO where it cannot be done: NULL (*why says why, or NULL);
 * CGROUP_ON where it cannot: NULL and *why. l: for retrying the removal
 * of a job's cgroup that is still busy. */
struct cgroup_daemon *cgroup_daemon_new(struct loop *l, enum cgroup_mode mode,
    char **why);
/* What it holds, for the log: "cgroup-nolimits under /sys/fs/...". */
char *cgroup_daemon_describe(const struct cgroup_daemon *d);
/* A supervisor is about to start for job, the name of its job's cgroup
 * (made when its file was claimed, so that a new job's supervisor is born
 * in it too; or its job id): kill what is left in JOB/ (a previous
 * supervisor of it is gone), make JOB/ and JOB/supervisor for uid:gid,
 * and return JOB/supervisor
 * opened O_PATH, for the supervisor to start in (clone3 CLONE_INTO_CGROUP,
 * or cgroup_join; close-on-exec, the caller closes it), or -1 (logged, or
 * d NULL): it runs where it is. id names the job in the log (NULL: not
 * named yet). */
int cgroup_daemon_job(struct cgroup_daemon *d, const char *job,
    const char *id, uid_t uid, gid_t gid);
/* The supervisor of job ended: kill JOB/ (a node of the same user may have
 * moved itself out of its own cgroup) and remove it; id as above. d NULL
 * or job NULL: nothing. */
void cgroup_daemon_end(struct cgroup_daemon *d, const char *job,
    const char *id);
/* Forget it (the jobs go on). With no job cgroup left, the controllers
 * it enabled are disabled again, so that a service manager can put the
 * next daemon where this one started. NULL is fine. */
void cgroup_daemon_free(struct cgroup_daemon *d);

#endif
