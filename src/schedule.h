/* The owner's side of a schedule (SPOOL/schedules/NAME): a helper process
 * the daemon starts as the file's owner (wsups_spawn), which reads and
 * checks the file, and computes its firings in its zone, so that root
 * neither parses a user's YAML nor changes its process's time zone. */
#ifndef DAGEXEC_SCHEDULE_H
#define DAGEXEC_SCHEDULE_H

#include <stdint.h>

#define SCHEDULE_CTL_FD		3	/* where the answer goes */
#define SCHEDULE_NEXT_MAX	64	/* firings computed at once */
#define SCHEDULE_GRACE_S	30	/* a firing this late is on time */
#define SCHEDULE_COUNT_MAX	100000	/* missed firings counted */

struct schedule_args {
	const char	*spool;		/* absolute */
	const char	*name;		/* the file in SPOOL/schedules/ */
	int64_t		 last;		/* the last firing root handled, or 0:
					   a new schedule, nothing missed */
	int64_t		 now;		/* root's clock (seconds) */
	int		 count;		/* firings after now, at most
					   SCHEDULE_NEXT_MAX */
};

/*
 * Read SPOOL/schedules/NAME (a plain file of ours, one link), parse it,
 * and send the daemon one message on SCHEDULE_CTL_FD (SOCK_SEQPACKET):
 *
 *   ok DAG OVERLAP CATCHUP_MS MISSED NMISSED NEXT...\nEXPR\nZONE
 *       with a sealed memfd of the bytes that were checked; MISSED is the
 *       latest firing after max(last, now - max(catch_up, grace)) and not
 *       after now, or 0; NMISSED how many fired after last (when not 0)
 *       and not after now, at most SCHEDULE_COUNT_MAX; NEXT the firings
 *       after now; ZONE "" for the system's
 *   reject TEXT      the file is no schedule: why, as `validate` says it
 *   gone             the file is not there (any more)
 *   busy             someone has it open for writing
 *
 * Returns the exit status: 0 when one of them was sent, 1 otherwise.
 */
int schedule_main(const struct schedule_args *a);

/* The DAG name and the time (seconds) of a one-shot job's file name
 * (ID.yaml, ID = NAME-YYYYMMDDTHHMMSS-XXXX as `submit --at` makes it):
 * 0, or -1 when name is no such file name. *dag is new. */
int schedule_at_name(const char *name, char **dag, int64_t *when);

#endif
