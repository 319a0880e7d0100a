/* Cron expressions (five fields, as Vixie cron reads them) and their
 * firings in a named time zone. */
#ifndef DAGEXEC_CRON_H
#define DAGEXEC_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A parsed expression: one bit a value each field allows. */
struct cron {
	uint64_t	 minute;	/* bit m: minute m, 0-59 */
	uint32_t	 hour;		/* bit h: 0-23 */
	uint32_t	 dom;		/* bit d: day of the month, 1-31 */
	uint32_t	 month;		/* bit m: 1-12 */
	uint32_t	 dow;		/* bit d: day of the week, 0-6, Sunday 0 */
	bool		 dom_star;	/* the field began with '*': then a day */
	bool		 dow_star;	/*   matches when both fields do, else
					   when either does (Vixie) */
};

/* Parse expr: five fields (minute hour day-of-month month day-of-week)
 * of numbers, ranges (a-b), steps (*\/n, a-b/n, a/n), lists (a,b) and
 * names (jan-dec, sun-sat; 7 is Sunday too), or one of @yearly,
 * @annually, @monthly, @weekly, @daily, @midnight, @hourly. 0, or -1
 * with *cause (new) and *col, the byte offset in expr of what is wrong. */
int cron_parse(const char *expr, struct cron *c, size_t *col, char **cause);

/* Whether zone names a time zone of the system's tzdata (TZDIR, else
 * /usr/share/zoneinfo): a relative name without '..', of a TZif file.
 * 0 with its file in *path (new, or pass NULL), or -1 with *cause. An
 * unknown zone is an error here: the C library would take it as UTC. */
int cron_zone_path(const char *zone, char **path, char **cause);

/*
 * Make this process compute local times in zone (NULL or "": the
 * system's zone, as /etc/localtime or an inherited TZ says). It sets TZ
 * and calls tzset(): the zone is process-wide state that localtime_r and
 * mktime read without a lock, so this is only for a process that has no
 * other thread, and computes in one zone at a time (the daemon never
 * calls it: a helper of its own, one process a schedule, does). 0, or -1
 * with *cause.
 */
int cron_zone_use(const char *zone, char **cause);

/*
 * The first firing of c strictly after the instant after (seconds since
 * the epoch), in the zone of cron_zone_use. Each local time that c
 * matches fires once: one that a DST change skips fires at the end of
 * the gap (once, however many skipped times match), one that a DST change
 * repeats fires at its first occurrence only. 0, or -1 when c never fires
 * in the next 30 years.
 */
int cron_next(const struct cron *c, int64_t after, int64_t *next);

/* expr in a canonical spelling (its fields with one blank between them),
 * new. */
char *cron_canonical(const char *expr);

#endif
