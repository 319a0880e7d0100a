/* CUnit suite for cron.c: expressions, their next firings in named zones
 * (DST changes in Europe/Berlin and America/New_York included), zones,
 * and what an invalid expression is told. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CUnit/Basic.h>

#include "cron.h"
#include "cunit_main.h"

/* "2026-03-29T03:00:00+02:00" (or Z) as seconds since the epoch. */
static int64_t
iso(const char *s)
{
	struct tm tm;
	int off = 0, oh, om;
	char sign = 'Z';

	memset(&tm, 0, sizeof tm);
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	if (strlen(s) > 19)
		sign = s[19];
	if ((sign == '+' || sign == '-') &&
	    sscanf(s + 20, "%2d:%2d", &oh, &om) == 2)
		off = (sign == '+' ? 1 : -1) * (oh * 3600 + om * 60);
	return (int64_t)timegm(&tm) - off;
}

struct firing_case {
	const char	*zone;
	const char	*expr;
	const char	*after;
	const char	*want[6];	/* the next firings, NULL-ended */
};

static const struct firing_case firing_cases[] = {
	/* fields, steps, ranges, lists, names */
	{ "UTC", "*/15 * * * *", "2026-01-01T00:00:00Z",
	    { "2026-01-01T00:15:00Z", "2026-01-01T00:30:00Z",
	    "2026-01-01T00:45:00Z", "2026-01-01T01:00:00Z", NULL } },
	{ "UTC", "5-50/15 * * * *", "2026-01-01T00:00:00Z",
	    { "2026-01-01T00:05:00Z", "2026-01-01T00:20:00Z",
	    "2026-01-01T00:35:00Z", "2026-01-01T00:50:00Z",
	    "2026-01-01T01:05:00Z", NULL } },
	{ "UTC", "10/20 * * * *", "2026-01-01T00:10:00Z",
	    { "2026-01-01T00:30:00Z", "2026-01-01T00:50:00Z",
	    "2026-01-01T01:10:00Z", NULL } },
	{ "UTC", "0 9 * * mon-fri", "2026-01-02T10:00:00Z",	/* a Friday */
	    { "2026-01-05T09:00:00Z", "2026-01-06T09:00:00Z",
	    "2026-01-07T09:00:00Z", NULL } },
	{ "UTC", "0 12 * JAN,jul Sun", "2026-01-20T00:00:00Z",
	    { "2026-01-25T12:00:00Z", "2026-07-05T12:00:00Z",
	    "2026-07-12T12:00:00Z", NULL } },
	{ "UTC", "0 0 * * 5-7", "2026-01-01T00:00:00Z",	/* Thursday */
	    { "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z",
	    "2026-01-04T00:00:00Z", "2026-01-09T00:00:00Z", NULL } },
	{ "UTC", "@hourly", "2026-01-01T00:30:00Z",
	    { "2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z", NULL } },
	{ "UTC", "@daily", "2026-01-01T00:00:00Z",
	    { "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z", NULL } },
	{ "UTC", "@weekly", "2026-01-01T00:00:00Z",
	    { "2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z", NULL } },
	{ "UTC", "@monthly", "2026-01-15T00:00:00Z",
	    { "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z", NULL } },
	{ "UTC", "@yearly", "2026-01-15T00:00:00Z",
	    { "2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z", NULL } },
	/* Vixie: both days restricted, either matches (the 1st, Mondays) */
	{ "UTC", "0 0 1 * mon", "2026-01-31T12:00:00Z",
	    { "2026-02-01T00:00:00Z", "2026-02-02T00:00:00Z",
	    "2026-02-09T00:00:00Z", "2026-02-16T00:00:00Z",
	    "2026-02-23T00:00:00Z", "2026-03-01T00:00:00Z" } },
	/* ... and a field that begins with '*' counts as unrestricted:
	 * odd days that are Mondays */
	{ "UTC", "0 0 */2 * mon", "2026-02-01T00:00:00Z",
	    { "2026-02-09T00:00:00Z", "2026-02-23T00:00:00Z",
	    "2026-03-09T00:00:00Z", NULL } },
	{ "UTC", "0 0 29 2 *", "2026-03-01T00:00:00Z",
	    { "2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z", NULL } },
	/* Europe/Berlin, 2026-03-29: 02:00 CET becomes 03:00 CEST. The
	 * skipped 02:30 fires once, at the gap's end */
	{ "Europe/Berlin", "30 2 * * *", "2026-03-28T00:00:00Z",
	    { "2026-03-28T02:30:00+01:00", "2026-03-29T03:00:00+02:00",
	    "2026-03-30T02:30:00+02:00", NULL } },
	/* three skipped times, one firing */
	{ "Europe/Berlin", "*/20 2 * * *", "2026-03-29T00:00:00Z",
	    { "2026-03-29T03:00:00+02:00", "2026-03-30T02:00:00+02:00",
	    NULL } },
	/* the skipped 02:00 and 02:30 and the real 03:00: one firing */
	{ "Europe/Berlin", "0,30 * * * *", "2026-03-29T00:10:00Z",
	    { "2026-03-29T01:30:00+01:00", "2026-03-29T03:00:00+02:00",
	    "2026-03-29T03:30:00+02:00", NULL } },
	/* 2026-10-25: 03:00 CEST becomes 02:00 CET; the repeated 02:30
	 * fires at its first occurrence only */
	{ "Europe/Berlin", "30 2 * * *", "2026-10-24T12:00:00Z",
	    { "2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00",
	    NULL } },
	{ "Europe/Berlin", "*/30 * * * *", "2026-10-25T00:10:00Z",
	    { "2026-10-25T02:30:00+02:00", "2026-10-25T03:00:00+01:00",
	    "2026-10-25T03:30:00+01:00", NULL } },
	/* from inside the repeated hour: its times are done */
	{ "Europe/Berlin", "*/30 * * * *", "2026-10-25T01:10:00Z",
	    { "2026-10-25T03:00:00+01:00", NULL } },
	{ "Europe/Berlin", "0 9 * * *", "2026-03-28T12:00:00Z",
	    { "2026-03-29T09:00:00+02:00", "2026-03-30T09:00:00+02:00",
	    NULL } },
	/* America/New_York, 2026-03-08: 02:00 EST becomes 03:00 EDT */
	{ "America/New_York", "30 2 * * *", "2026-03-07T00:00:00Z",
	    { "2026-03-07T02:30:00-05:00", "2026-03-08T03:00:00-04:00",
	    "2026-03-09T02:30:00-04:00", NULL } },
	/* 2026-11-01: 02:00 EDT becomes 01:00 EST */
	{ "America/New_York", "30 1 * * *", "2026-10-31T12:00:00Z",
	    { "2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00",
	    NULL } },
	{ "America/New_York", "0 * * * *", "2026-11-01T04:30:00Z",
	    { "2026-11-01T01:00:00-04:00", "2026-11-01T02:00:00-05:00",
	    "2026-11-01T03:00:00-05:00", NULL } },
	{ "America/New_York", "0 0 * * *", "2026-03-07T12:00:00Z",
	    { "2026-03-08T00:00:00-05:00", "2026-03-09T00:00:00-04:00",
	    NULL } },
	/* a zone east of UTC: the local day, not UTC's */
	{ "Asia/Tokyo", "0 8 1 * *", "2026-01-31T22:30:00Z",
	    { "2026-02-01T08:00:00+09:00", "2026-03-01T08:00:00+09:00",
	    NULL } },
};

static void
test_firings(void)
{
	const struct firing_case *fc;
	struct cron c;
	char *cause = NULL;
	int64_t t, got;
	size_t i, k, col;

	for (i = 0; i < sizeof firing_cases / sizeof firing_cases[0]; i++) {
		fc = &firing_cases[i];
		CU_ASSERT_EQUAL_FATAL(cron_zone_use(fc->zone, &cause), 0);
		if (cron_parse(fc->expr, &c, &col, &cause) != 0) {
			fprintf(stderr, "\n'%s': %s\n", fc->expr, cause);
			free(cause);
			CU_FAIL("a valid expression was refused");
			continue;
		}
		t = iso(fc->after);
		for (k = 0; k < 6 && fc->want[k] != NULL; k++) {
			CU_ASSERT_EQUAL_FATAL(cron_next(&c, t, &got), 0);
			if (got != iso(fc->want[k]))
				fprintf(stderr, "\n%s '%s' after %s: firing %zu "
				    "is %lld, wanted %s (%lld)\n", fc->zone,
				    fc->expr, fc->after, k, (long long)got,
				    fc->want[k], (long long)iso(fc->want[k]));
			CU_ASSERT_EQUAL(got, iso(fc->want[k]));
			t = got;
		}
	}
}

/* Every firing of an every-minute schedule through a whole year of
 * Berlin: one a local minute, never twice at one instant, in order. */
static void
test_year_of_minutes(void)
{
	struct cron c;
	char *cause = NULL;
	int64_t t, next, n = 0, end;
	size_t col;

	CU_ASSERT_EQUAL_FATAL(cron_zone_use("Europe/Berlin", &cause), 0);
	CU_ASSERT_EQUAL_FATAL(cron_parse("* * * * *", &c, &col, &cause), 0);
	t = iso("2026-01-01T00:00:00+01:00");
	end = iso("2027-01-01T00:00:00+01:00");
	while (cron_next(&c, t, &next) == 0 && next <= end) {
		CU_ASSERT(next > t);
		if (next <= t)
			break;
		t = next;
		n++;
	}
	/* 365 days of 1440 minutes, less the 60 that spring skips (they
	 * fire once, at 03:00, with 03:00 itself) and without the 60 that
	 * autumn repeats */
	CU_ASSERT_EQUAL(n, 365 * 1440 - 60);
}

static void
test_same(void)
{
	static const char *const same[][2] = {
		{ "0 0 * * 7", "0 0 * * 0" },
		{ "0 0 * * SUN", "0 0 * * 0" },
		{ "0 0 1 1 *", "@yearly" },
		{ "0 0 1 1 *", "@annually" },
		{ "0 0 * * *", "@midnight" },
		{ "0 0 * * *", "  0\t0 * *   * " },
		{ "0-59/1 * * * *", "* * * * *" },
		{ "0 0 * * 1,2,3,4,5", "0 0 * * mon-fri" },
		{ "0 0 * * 0,6", "0 0 * * 6-7" },
		{ "0 0 1 4,6 *", "0 0 1 apr,JUN *" },
	};
	struct cron a, b;
	char *cause = NULL;
	size_t i, col;

	for (i = 0; i < sizeof same / sizeof same[0]; i++) {
		CU_ASSERT_EQUAL_FATAL(cron_parse(same[i][0], &a, &col, &cause),
		    0);
		CU_ASSERT_EQUAL_FATAL(cron_parse(same[i][1], &b, &col, &cause),
		    0);
		if (memcmp(&a, &b, sizeof a) != 0)
			fprintf(stderr, "\n'%s' and '%s' differ\n", same[i][0],
			    same[i][1]);
		CU_ASSERT(memcmp(&a, &b, sizeof a) == 0);
	}
}

static void
test_invalid(void)
{
	static const struct {
		const char	*expr;
		size_t		 col;
		const char	*why;
	} bad[] = {
		{ "60 * * * *", 0, "minute '60' is out of range 0-59" },
		{ "* 24 * * *", 2, "hour '24' is out of range 0-23" },
		{ "* * 0 * *", 4, "day of the month '0' is out of range 1-31" },
		{ "* * * 13 *", 6, "month '13' is out of range 1-12" },
		{ "* * * * 8", 8, "day of the week '8' is out of range 0-7" },
		{ "* * * *", 7, "expected five fields" },
		{ "", 0, "empty: expected five fields" },
		{ "* * * * * *", 10, "more than five fields" },
		{ "5-3 * * * *", 0, "range '5-3' goes backwards" },
		{ "*/0 * * * *", 2, "step '0' is out of range 1-59" },
		{ "*/ * * * *", 2, "needs a number after '/'" },
		{ "* * * foo *", 6, "unknown month name 'foo' (expected jan" },
		{ "* * * * funday", 8, "unknown day of the week name" },
		{ "* * * jan-foo *", 10, "unknown month name 'foo'" },
		{ "1,,2 * * * *", 2, "the minute field has an empty item" },
		{ "1, * * * *", 1, "the minute field ends with ','" },
		{ "* * * * mon-", 12, "empty item" },
		{ "1x * * * *", 1, "unexpected 'x' in the minute field" },
		{ "mon * * * *", 0, "unexpected 'm' in the minute field" },
		{ "@reboot", 0, "'@reboot' is not supported" },
		{ "@every 5m", 0, "unknown '@every' (expected @yearly" },
		{ "@daily 5", 7, "nothing may follow '@daily'" },
		{ "0 0 30 2 *", 4, "never fires: no month it allows has the "
		    "day '30'" },
		{ "0 0 31 4,6,9,11 *", 4, "never fires" },
	};
	struct cron c;
	char *cause;
	size_t i, col;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cause = NULL;
		col = 999;
		CU_ASSERT_EQUAL(cron_parse(bad[i].expr, &c, &col, &cause), -1);
		CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
		if (strstr(cause, bad[i].why) == NULL || col != bad[i].col)
			fprintf(stderr, "\n'%s': col %zu '%s', wanted col %zu "
			    "'%s'\n", bad[i].expr, col, cause, bad[i].col,
			    bad[i].why);
		CU_ASSERT_PTR_NOT_NULL(strstr(cause, bad[i].why));
		CU_ASSERT_EQUAL(col, bad[i].col);
		free(cause);
	}
	/* both days restricted: it fires on Mondays, whatever the 30th */
	cause = NULL;
	CU_ASSERT_EQUAL(cron_parse("0 0 30 2 mon", &c, &col, &cause), 0);
}

static void
test_zones(void)
{
	static const char *const good[] = { "UTC", "Europe/Berlin",
	    "America/New_York", "Etc/GMT+5", "America/Argentina/Buenos_Aires" };
	static const struct {
		const char	*zone;
		const char	*why;
	} bad[] = {
		{ "Europe/Atlantis", "unknown time zone 'Europe/Atlantis'" },
		{ "Mars", "unknown time zone 'Mars'" },
		{ "../../etc/passwd", "is not a time zone name" },
		{ "/etc/localtime", "is not a time zone name" },
		{ "Europe/./Berlin", "is not a time zone name" },
		{ "", "is not a time zone name" },
		{ "Europe", "unknown time zone 'Europe'" },	/* a directory */
		{ "zone.tab", "unknown time zone" },	/* not a TZif file */
		{ "Europe/Berlin ", "is not a time zone name" },
	};
	char *cause = NULL, *path = NULL;
	size_t i;

	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		CU_ASSERT_EQUAL(cron_zone_path(good[i], &path, &cause), 0);
		CU_ASSERT_PTR_NOT_NULL(path);
		free(path);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cause = NULL;
		CU_ASSERT_EQUAL(cron_zone_path(bad[i].zone, NULL, &cause), -1);
		CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
		if (strstr(cause, bad[i].why) == NULL)
			fprintf(stderr, "\n'%s': '%s'\n", bad[i].zone, cause);
		CU_ASSERT_PTR_NOT_NULL(strstr(cause, bad[i].why));
		free(cause);
	}
	/* an unknown zone is never used as UTC */
	cause = NULL;
	CU_ASSERT_EQUAL(cron_zone_use("Europe/Atlantis", &cause), -1);
	free(cause);
}

static void
test_canonical(void)
{
	char *s = cron_canonical("  0\t9  * *\tmon-fri ");

	CU_ASSERT_STRING_EQUAL(s, "0 9 * * mon-fri");
	free(s);
	s = cron_canonical("@daily");
	CU_ASSERT_STRING_EQUAL(s, "@daily");
	free(s);
}

int
main(void)
{
	static const struct cunit_test tests[] = {
		{ "next firings, DST changes included", test_firings },
		{ "a year of minutes in Berlin", test_year_of_minutes },
		{ "spellings of one expression", test_same },
		{ "invalid expressions", test_invalid },
		{ "time zones", test_zones },
		{ "canonical spelling", test_canonical },
		{ NULL, NULL }
	};

	return cunit_run("cron", NULL, NULL, tests);
}
