/* The spawner: `watch` starts each supervisor through one small process of
 * its own, without an exec a job (spawner.c says why and how). */
#ifndef DAGEXEC_SPAWNER_H
#define DAGEXEC_SPAWNER_H

#include <stdbool.h>
#include <sys/types.h>

struct spawner;

struct spawner_req {
	bool		 drop;		/* take the owner's ids (watch is root) */
	uid_t		 uid;		/* the owner */
	gid_t		 fgid;		/* the file's gid: for a uid without a
					   passwd entry */
	char *const	*argv;		/* dagexec __supervise ... */
	int		 sock;		/* the supervisor's control socket */
	int		 lockfd;	/* the job's lock, or -1 (then no
					   filefd either): a schedule's
					   reader */
	int		 filefd;	/* the dropped file, or -1 */
};

/* Start a supervisor as r says, through *sp (started on first use, and
 * again when it died). Its pid (the caller's child), or -1 with *cause. */
pid_t	spawner_spawn(struct spawner **sp, const char *spool,
	    const struct spawner_req *r, char **cause);
/* Stop the spawner (what it started runs on). */
void	spawner_free(struct spawner *s);
/* `dagexec __spawner`: argv is main's, run the supervisor's command. */
int	spawner_main(int argc, char **argv, int (*run)(int, char **));

#endif
