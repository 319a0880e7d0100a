/* CUnit suite for attime.c: the TIME of `submit --at`. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CUnit/Basic.h>

#include "attime.h"
#include "cunit_main.h"

/* 2026-03-28T10:15:30Z, a Saturday; the tests run in Europe/Berlin
 * (CET, +01:00; CEST from 2026-03-29 02:00) */
#define NOW	1774692930

static void
ok(const char *s, int64_t want)
{
	char *cause = NULL;
	int64_t t = -1;

	if (attime_parse(s, NOW, &t, &cause) != 0) {
		fprintf(stderr, "\n'%s': %s\n", s, cause);
		free(cause);
		CU_FAIL("a valid time was refused");
		return;
	}
	if (t != want)
		fprintf(stderr, "\n'%s': %lld, wanted %lld\n", s, (long long)t,
		    (long long)want);
	CU_ASSERT_EQUAL(t, want);
}

static void
bad(const char *s, const char *why)
{
	char *cause = NULL;
	int64_t t = -1;

	CU_ASSERT_EQUAL(attime_parse(s, NOW, &t, &cause), -1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	if (strstr(cause, why) == NULL)
		fprintf(stderr, "\n'%s': '%s', wanted '%s'\n", s, cause, why);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, why));
	free(cause);
}

static void
test_relative(void)
{
	ok("now", NOW);
	ok("  now  ", NOW);
	ok("now + 10 minutes", NOW + 600);
	ok("now+1 minute", NOW + 60);
	ok("NOW + 2 Hours", NOW + 7200);
	ok("now + 3 days", NOW + 3 * 86400);
	ok("now + 1 week", NOW + 604800);
	ok("now + 90 seconds", NOW + 90);
	ok("now + 5 min", NOW + 300);
	ok("now + 10m", NOW + 600);
	ok("now + 2h", NOW + 7200);
	ok("now + 1d", NOW + 86400);
}

static void
test_absolute(void)
{
	ok("@1774692930", NOW);
	ok("2026-03-28T12:00:00Z", 1774699200);
	ok("2026-03-28T13:00:00+01:00", 1774699200);
	ok("2026-03-28T07:00-05:00", 1774699200);
	ok("2026-03-28T13:00+0100", 1774699200);
	/* local: Berlin, CET */
	ok("2026-03-28 13:00", 1774699200);
	ok("2026-03-28T13:00:00", 1774699200);
	/* the next day is CEST */
	ok("2026-03-29 14:00", 1774699200 + 86400);
	ok("2026-03-29", 1774738800);	/* midnight CET */
	/* HH:MM: today when still to come, else tomorrow */
	ok("13:00", 1774699200);
	ok("10:00", 1774771200);	/* tomorrow 10:00 CEST */
}

static void
test_invalid(void)
{
	bad("tomorrow", "'tomorrow' is not a time: expected 'now'");
	bad("now - 5 minutes", "expected 'now', 'now + N minutes'");
	bad("now + 5 fortnights", "unknown unit 'fortnights'");
	bad("now + soon", "'now + soon'");
	bad("25:00", "is not a time");
	bad("2026-02-30 10:00", "is not a time");
	bad("2026-13-01", "is not a time");
	bad("2026-03-28T12:00:00+25:00", "is not a time");
	bad("2026-03-28T12:00:00 CET", "is not a time");
	bad("@-5", "is not a time");
	bad("", "is not a time");
}

static int
init(void)
{
	return setenv("TZ", "Europe/Berlin", 1) != 0;
}

int
main(void)
{
	static const struct cunit_test tests[] = {
		{ "now and now + N units", test_relative },
		{ "dates, times, offsets", test_absolute },
		{ "what is not a time", test_invalid },
		{ NULL, NULL }
	};

	tzset();
	return cunit_run("attime", init, NULL, tests);
}
