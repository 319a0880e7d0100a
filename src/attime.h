/* The TIME of `dagexec submit --at TIME`: when a one-shot job runs. */
#ifndef DAGEXEC_ATTIME_H
#define DAGEXEC_ATTIME_H

#include <stdint.h>

/*
 * Parse s, one of:
 *   now                          now
 *   now + N UNIT                 UNIT: second(s), minute(s) (min), hour(s),
 *                                day(s), week(s); or now + DURATION as a
 *                                manifest writes one (10m, 2h, 1d)
 *   HH:MM                        the next such local time: today, else
 *                                tomorrow (as at(1))
 *   YYYY-MM-DD[THH:MM[:SS]]      a local date and time (' ' for 'T' too;
 *                                a date alone is its midnight), or with
 *                                Z or +HH:MM / -HH:MM at the end, that
 *                                offset's
 *   @SECONDS                     seconds since the epoch
 * Local times are the process's zone's (TZ). now is the current time in
 * seconds. 0 with *t, or -1 with *cause (new).
 */
int attime_parse(const char *s, int64_t now, int64_t *t, char **cause);

#endif
