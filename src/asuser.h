/* Starting a helper process of the daemon as a user: every process that
 * reads a user's files (a job's supervisor, a schedule's reader) is
 * started this way, and only this way. */
#ifndef DAGEXEC_ASUSER_H
#define DAGEXEC_ASUSER_H

#include <sys/types.h>

/* What to start, and as whom. */
struct asuser {
	uid_t		 uid;		/* the user */
	gid_t		 fgid;		/* the group, when uid has no passwd
					   entry (the file's) */
	int		 ctl;		/* becomes descriptor 3 */
	int		 lock;		/* ... 4, or -1: none */
	int		 file;		/* ... 5, or -1: none */
	char *const	*argv;		/* of `dagexec`, this very binary */
};

/* The primary gid of uid from its passwd entry, else fgid. */
gid_t asuser_gid(uid_t uid, gid_t fgid);

/*
 * Fork a child that leads a session of its own, has a->ctl, a->lock and
 * a->file on descriptors 3, 4 and 5 and nothing else above 2 (stdin
 * /dev/null), and, when we are root, drops every id to a->uid's (its
 * primary gid and supplementary groups; with every uid non-zero the
 * kernel clears its capabilities) before it execs /proc/self/exe with
 * a->argv and the daemon's environment, less what belongs to the daemon's
 * service manager and with the user's HOME, USER and LOGNAME. The
 * caller's descriptors stay open. The pid, or -1 with errno.
 */
pid_t asuser_spawn(const struct asuser *a);

#endif
