/* The daemon's table of supervisors (wsup.c) and the record each job's
 * lock keeps for a later daemon (wrecord.c): internal to the two. */
#ifndef DAGEXEC_WSUP_INT_H
#define DAGEXEC_WSUP_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "spool.h"
#include "wsup.h"

#define HELLO_WAIT_MS	5000	/* for adopted supervisors to say what they
				   hold, before slots are granted again */
#define PROBE_MS	1000	/* how often an unreachable supervisor's
				   lock is tested */
#define RECORD_MS	1000	/* a lock's record of slots is this old at
				   most */
#define DEATHS_LOST	3	/* deaths within DEATHS_WINDOW_MS: lost */
#define DEATHS_WINDOW_MS 60000
#define CGROUP_NAME_MAX	63	/* a claim's cgroup name in its lock */
#define CGROUP_NAME_SCAN "63"

struct wsup {
	struct wsups	*t;
	char		*claim;		/* its entry in claims/ */
	char		*job;		/* NULL until the DAG is named */
	char		*file;		/* the dropped file's name, or NULL */
	char		*cgroup;	/* its cgroup under dagexec/, named when
					   the file is claimed so that the
					   supervisor is born in it (moving a
					   process costs an RCU grace period);
					   NULL: named by the job's id */
	struct spool_claim c;		/* while being taken in */
	bool		 bundle;	/* the dropped file is an archive */
	uid_t		 uid;
	gid_t		 gid;
	pid_t		 pid;		/* 0: not known (adopted, silent) */
	int		 pidfd;		/* adopted: watched; -1 */
	bool		 child;		/* ours: the loop reaps it */
	int		 sock;		/* -1: not connected */
	int		 held;		/* node slots it holds */
	bool		 wants;
	int		 yielding;	/* slots it was asked to give back */
	bool		 dirty;		/* its record is behind */
	bool		 said;		/* it has said what it holds */
	int		 cancel;	/* to send once connected: 0 none,
					   1 cancel, 2 cancel now */
	bool		 rejected;	/* the file went to rejected/ */
	bool		 collected;	/* its bundle is in done/ */
	bool		 copying;
	bool		 gone;
	bool		 lost;		/* to be ended as lost */
	bool		 lost_spawned;	/* its supervisor was told so */
	int		 bfd;		/* the bundle being copied */
	off_t		 bsize;
	char		*bstatus;
	int		 copy_rc;
	char		*copy_cause;
	int64_t		 scheduled;	/* a scheduled firing's time, or 0 */
	int64_t		 deaths[DEATHS_LOST];
	int		 ndeaths;
	struct loop_timer *again;	/* a resume waiting for the lock */
};

/* A connection to SPOOL/ctl that has not said who it is yet. */
struct wconn {
	struct wsups	*t;
	int		 fd;
	pid_t		 pid;
	uid_t		 uid;
	int		 pidfd;
};

struct wsups {
	struct wsups_config c;
	struct wsup	**v;
	size_t		 n;
	size_t		 cap_v;
	size_t		 rr;
	int		 granted;	/* slots held by all supervisors */
	size_t		 ncollected;	/* bundles collected */
	size_t		 nfailed;	/* ... of jobs that did not succeed */
	size_t		 nrejected;	/* files its supervisors refused */
	bool		 frozen;	/* waiting for adopted ones' hello */
	bool		 stopping;	/* --stop-jobs: interrupting them */
	int		 lfd;		/* SPOOL/ctl */
	struct worker	*copier;
	struct loop_timer *thaw;
	struct loop_timer *probe;
	struct loop_timer *rec_timer;
	struct spawner	*spawner;	/* started on first use */
};

/* The lock's record, claims/CLAIM/lock: owner, slots held, and the job's
 * cgroup. Written now, or within RECORD_MS (slots change at every node's
 * start and end). */
void		 wsup_record(struct wsup *ws);
void		 wsup_record_later(struct wsup *ws);
/* Write the records that are behind now (the daemon stops). */
void		 wsup_record_flush(struct wsups *t);
/* Read claim's record: 0, or -1 when it holds no owner. *cgroup is a new
 * string, or NULL when the record names none. */
int		 wsup_read_record(struct wsups *t, const char *claim, uid_t *uid,
		    gid_t *gid, int *grants, char **cgroup);
/* The name of ws's job's cgroup under dagexec/ (NULL: none yet). */
const char	*wsup_cgroup(const struct wsup *ws);
/* A name for a claimed file's cgroup, unique among the spool's. */
char		*wsup_cgroup_new_name(void);

#endif
