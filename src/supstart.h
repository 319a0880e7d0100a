/* Starting a job's supervisor process as the job's owner: who the owner
 * is (primary gid, supplementary groups), the environment the supervisor
 * gets, and the child's side of the fork, between fork and exec. Used by
 * the daemon (wsup.c), as root. */
#ifndef DAGEXEC_SUPSTART_H
#define DAGEXEC_SUPSTART_H

#include <pwd.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Everything the child needs, prepared in the parent before the fork. */
struct supstart {
	int		 sock;		/* becomes SUPERVISOR_CTL_FD */
	int		 lockfd;	/* becomes SUPERVISOR_LOCK_FD */
	int		 filefd;	/* becomes SUPERVISOR_FILE_FD, or -1 */
	bool		 drop;		/* take the owner's ids (we are root) */
	uid_t		 uid;
	gid_t		 gid;
	const gid_t	*groups;
	size_t		 ngroups;
	char		**argv;
	char		**envp;
};

/* The owner uid's primary gid (in *gid; fgid, the dropped file's group,
 * when uid has no passwd entry) and supplementary groups: a new array of
 * *ngroups (NULL when none). *pwp is getpwuid's answer (may be NULL). */
gid_t *supstart_identity(uid_t uid, gid_t fgid, gid_t *gid, int *ngroups,
    struct passwd **pwp);
/* The supervisor's environment: the daemon's, with (drop: when it takes
 * the owner's ids) the owner's HOME, USER and LOGNAME from pw, and without
 * what belongs to the daemon's own service manager. A new vector, freed
 * with supstart_strv_free. */
char **supstart_env(bool drop, const struct passwd *pw);
/* Free a NULL-terminated vector of strings and the strings; NULL is fine. */
void supstart_strv_free(char **v);
/* In the child, between fork and exec (async-signal-safe calls only):
 * set up the descriptors, drop the ids, exec /proc/self/exe. Never
 * returns: _exit(126) when a step fails, 127 when the exec does. */
void supstart_exec(const struct supstart *s) __attribute__((noreturn));

#endif
