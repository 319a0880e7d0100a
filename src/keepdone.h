/* Retention of result bundles in a spool's done/ (watch --keep-done): the
 * newest N kept, or those younger than an age; the rest removed, oldest
 * first. */
#ifndef DAGEXEC_KEEPDONE_H
#define DAGEXEC_KEEPDONE_H

#include <stddef.h>
#include <stdint.h>

/* What to keep: at most count bundles (0: no bound by count), and only
 * those stored less than max_age_ms ago (0: no bound by age). */
struct keepdone {
	size_t	count;
	int64_t	max_age_ms;
};

/* Parse watch --keep-done's argument: a bare number is a count (at least
 * 1), anything else a duration (units.h; more than 0). 0, or -1 with
 * *why a static message. */
int keepdone_parse(const char *s, struct keepdone *k, const char **why);
/* Remove from done/ (an open directory descriptor, which the caller owns)
 * the bundles (*.tar.gz, *.tar.zst: plain files, not temporaries) that k
 * does not keep, the oldest first by the time they were stored (their
 * mtime), each logged. now_ms is the wall clock. Returns how many were
 * removed, or -1 with *cause naming the first that could not be (the rest
 * are still tried). */
int keepdone_prune(int donefd, const struct keepdone *k, int64_t now_ms,
    char **cause);

#endif
