/* CUnit suite for units.c: durations and sizes, both directions. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "cunit_main.h"
#include "units.h"

static void
dur_ok(const char *s, int64_t want)
{
	const char *why = NULL;
	int64_t v = -42;

	CU_ASSERT_EQUAL_FATAL(units_parse_duration(s, &v, &why), 0);
	if (v != want)
		fprintf(stderr, "\n'%s': %lld != %lld\n", s, (long long)v,
		    (long long)want);
	CU_ASSERT_EQUAL(v, want);
}

static void
dur_bad(const char *s, const char *why_want)
{
	const char *why = NULL;
	int64_t v = -42;

	CU_ASSERT_EQUAL(units_parse_duration(s, &v, &why), -1);
	CU_ASSERT_EQUAL(v, -42);
	CU_ASSERT_PTR_NOT_NULL_FATAL(why);
	if (strstr(why, why_want) == NULL)
		fprintf(stderr, "\n'%s': why '%s', want '%s'\n", s, why,
		    why_want);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, why_want));
}

static void
size_ok(const char *s, int64_t want)
{
	const char *why = NULL;
	int64_t v = -42;

	CU_ASSERT_EQUAL_FATAL(units_parse_size(s, &v, &why), 0);
	CU_ASSERT_EQUAL(v, want);
}

static void
size_bad(const char *s, const char *why_want)
{
	const char *why = NULL;
	int64_t v = -42;

	CU_ASSERT_EQUAL(units_parse_size(s, &v, &why), -1);
	CU_ASSERT_EQUAL(v, -42);
	CU_ASSERT_PTR_NOT_NULL_FATAL(why);
	if (strstr(why, why_want) == NULL)
		fprintf(stderr, "\n'%s': why '%s', want '%s'\n", s, why,
		    why_want);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, why_want));
}

static void
test_duration_units(void)
{
	dur_ok("0", 0);
	dur_ok("500ms", 500);
	dur_ok("30s", 30000);
	dur_ok("10m", 600000);
	dur_ok("2h", 7200000);
	dur_ok("1d", 86400000);
	dur_ok("90", 90000);
	dur_ok("0ms", 0);
	dur_ok("1m30s", 90000);
	dur_ok("1h1m1s1ms", 3661001);
	dur_ok("2d3h", 2 * 86400000LL + 3 * 3600000LL);
}

static void
test_duration_fractions(void)
{
	dur_ok("1.5s", 1500);
	dur_ok("0.5", 500);
	dur_ok("1.5", 1500);
	dur_ok("0.001", 1);
	dur_ok("1.25m", 75000);
	dur_ok("0.5d", 43200000);
	dur_ok("2.000000000000000000000000s", 2000);
	dur_bad("1.5ms", "finer than a millisecond");
	dur_bad("0.0001", "finer than a millisecond");
	dur_bad("1.", "not a duration");
	dur_bad(".5s", "not a duration");
}

static void
test_duration_errors(void)
{
	dur_bad("", "empty");
	dur_bad("-1s", "negative");
	dur_bad("-0", "negative");
	dur_bad("+1s", "not a duration");
	dur_bad("10x", "unknown unit 'x'");
	dur_bad("10sec", "unknown unit 'sec'");
	dur_bad("10S", "unknown unit 'S'");
	dur_bad(" 10s", "not a duration");
	dur_bad("10s ", "not a duration");
	dur_bad("10 s", "not a duration");
	dur_bad("10s!", "not a duration");
	dur_bad("s", "not a duration");
	dur_bad("1s1m", "not a duration");
	dur_bad("1s1s", "not a duration");
	dur_bad("1m30", "not a duration");
	dur_bad("abc", "not a duration");
	dur_bad("10xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	    "unknown unit 'xxxxxxxxxxxxxxxx'");
}

static void
test_duration_range(void)
{
	dur_bad("9999999999999999d", "out of range");
	dur_bad("99999999999999999999999", "out of range");
	dur_ok("9223372036854775807ms", INT64_MAX);
	dur_bad("9223372036854775808ms", "out of range");
	dur_ok("9223372036854775s", 9223372036854775000LL);
	dur_bad("9223372036854776s", "out of range");
	dur_ok("106751991167d7h12m55s807ms", INT64_MAX);
	dur_bad("106751991167d7h12m55s808ms", "out of range");
	dur_bad("106751991167d8h", "out of range");
	dur_bad("1.0000000000000000001s", "out of range");
}

static void
test_size(void)
{
	size_ok("0", 0);
	size_ok("512", 512);
	size_ok("512B", 512);
	size_ok("64K", 65536);
	size_ok("64k", 65536);
	size_ok("64KB", 65536);
	size_ok("64KiB", 65536);
	size_ok("512M", 512LL << 20);
	size_ok("2G", 2LL << 30);
	size_ok("1T", 1LL << 40);
	size_ok("1P", 1LL << 50);
	size_ok("1E", 1LL << 60);
	size_ok("1.5M", 1572864);
	size_ok("0.5K", 512);
	size_ok("7E", 7LL << 60);
	size_bad("8E", "out of range");
	size_bad("9223372036854775808", "out of range");
	size_ok("9223372036854775807", INT64_MAX);
	size_bad("99999999999999999999", "out of range");
	size_bad("0.3K", "not a whole number of bytes");
	size_bad("1.5", "not a whole number of bytes");
	size_bad("", "empty");
	size_bad("-1K", "negative");
	size_bad("10X", "unknown unit 'X'");
	size_bad("10KX", "unknown unit 'KX'");
	size_ok("10kib", 10240);
	size_bad("10Kxb", "unknown unit 'Kxb'");
	size_bad("10iB", "unknown unit 'iB'");
}

static void
test_size_fixed(void)
{
	size_bad(" 1K", "not a size");
	size_bad("1K ", "not a size");
	size_bad("1 K", "not a size");
	size_bad("K", "not a size");
	size_bad("1K1", "not a size");
}

/* A malformed value says what the units are, and the form meant when it
 * is a number and a unit in words; a value out of range does not. */
static void
test_hints(void)
{
	int64_t v;
	const char *why;

	dur_bad("10 minutes", "not a duration (did you mean '10m'? units: "
	    "ms, s, m, h, d, without a space: 90s, 1h30m)");
	dur_bad("2 Hours", "did you mean '2h'?");
	dur_bad("1.5 days", "did you mean '1.5d'?");
	dur_bad("30secs", "unknown unit 'secs' (did you mean '30s'?");
	dur_bad("250 ms", "did you mean '250ms'?");
	dur_bad("10S", "unknown unit 'S' (did you mean '10s'?");
	dur_bad("abc", "not a duration (units: ms, s, m, h, d");
	dur_bad("1s1m", "not a duration (units: ");
	dur_bad("10 fortnights", "not a duration (units: ");
	size_bad("10 MB", "not a size (did you mean '10M'? units: K, M, G, T "
	    "(powers of 1024), without a space: 512M, 2G)");
	size_bad("5 gigabytes", "did you mean '5G'?");
	size_bad("100 bytes", "did you mean '100'?");
	size_bad("10X", "unknown unit 'X' (units: K, M, G, T");
	/* no hint where the unit is not the trouble */
	CU_ASSERT(units_parse_duration("9999999999999999d", &v, &why) == -1);
	CU_ASSERT_STRING_EQUAL(why, "out of range");
	CU_ASSERT(units_parse_size("1.5", &v, &why) == -1);
	CU_ASSERT_STRING_EQUAL(why, "not a whole number of bytes");
	CU_ASSERT(units_parse_duration("-1s", &v, &why) == -1);
	CU_ASSERT_STRING_EQUAL(why, "negative duration");
}

static void
fmt_dur(int64_t ms, const char *want)
{
	char buf[64];
	const char *why;
	int64_t back = -1;

	CU_ASSERT_STRING_EQUAL(units_format_duration(ms, buf, sizeof buf),
	    want);
	if (ms >= 0) {
		CU_ASSERT_EQUAL(units_parse_duration(buf, &back, &why), 0);
		CU_ASSERT_EQUAL(back, ms);
	}
}

static void
test_format_duration(void)
{
	char small[4];
	int64_t v, back;
	const char *why;
	char buf[64];

	fmt_dur(0, "0s");
	fmt_dur(500, "500ms");
	fmt_dur(30000, "30s");
	fmt_dur(600000, "10m");
	fmt_dur(7200000, "2h");
	fmt_dur(86400000, "1d");
	fmt_dur(90000, "1m30s");
	fmt_dur(1500, "1s500ms");
	fmt_dur(90061001, "1d1h1m1s1ms");
	fmt_dur(-1500, "-1s500ms");
	fmt_dur(INT64_MAX, "106751991167d7h12m55s807ms");
	/* Truncation is safe and NUL-terminated. */
	units_format_duration(90061001, small, sizeof small);
	CU_ASSERT(strlen(small) < sizeof small);
	/* Round trips over a spread of values. */
	for (v = 1; v < INT64_MAX / 7; v = v * 7 + 3) {
		units_format_duration(v, buf, sizeof buf);
		CU_ASSERT_EQUAL(units_parse_duration(buf, &back, &why), 0);
		CU_ASSERT_EQUAL(back, v);
	}
}

static void
test_format_size(void)
{
	char buf[64];
	int64_t v, back;
	const char *why;

	CU_ASSERT_STRING_EQUAL(units_format_size(0, buf, sizeof buf), "0");
	CU_ASSERT_STRING_EQUAL(units_format_size(512, buf, sizeof buf), "512");
	CU_ASSERT_STRING_EQUAL(units_format_size(1023, buf, sizeof buf),
	    "1023");
	CU_ASSERT_STRING_EQUAL(units_format_size(1024, buf, sizeof buf), "1K");
	CU_ASSERT_STRING_EQUAL(units_format_size(65536, buf, sizeof buf),
	    "64K");
	CU_ASSERT_STRING_EQUAL(units_format_size(1572864, buf, sizeof buf),
	    "1.5M");
	CU_ASSERT_STRING_EQUAL(units_format_size(2LL << 30, buf, sizeof buf),
	    "2G");
	CU_ASSERT_STRING_EQUAL(units_format_size(1025, buf, sizeof buf), "1K");
	CU_ASSERT_STRING_EQUAL(units_format_size(1100, buf, sizeof buf),
	    "1.1K");
	CU_ASSERT_STRING_EQUAL(units_format_size(INT64_MAX, buf, sizeof buf),
	    "8E");
	/* Exact values round-trip exactly, the others within 5%. */
	for (v = 1; v < (1LL << 52); v = v * 3 + 1) {
		units_format_size(v, buf, sizeof buf);
		if (units_parse_size(buf, &back, &why) != 0) {
			/* "1.1K" style may not be whole bytes */
			CU_ASSERT_PTR_NOT_NULL(strchr(buf, '.'));
			continue;
		}
		CU_ASSERT(back * 20 >= v * 19 && back * 20 <= v * 21);
	}
	for (v = 1; v < 1024; v++) {
		units_format_size(v << 30, buf, sizeof buf);
		CU_ASSERT_EQUAL(units_parse_size(buf, &back, &why), 0);
		CU_ASSERT_EQUAL(back, v << 30);
	}
}

/* units_int gives what "%lld" gives, at the extremes and in between. */
static void
test_int(void)
{
	static const int64_t fixed[] = { 0, 1, -1, 9, 10, -10, 99, 100,
	    1795901503551LL, INT64_MAX, INT64_MIN, INT64_MIN + 1 };
	char		 buf[UNITS_INT_LEN], want[32];
	uint64_t	 x = 88172645463325252ULL;
	size_t		 i;
	int64_t		 v;

	for (i = 0; i < sizeof fixed / sizeof fixed[0] + 10000; i++) {
		if (i < sizeof fixed / sizeof fixed[0])
			v = fixed[i];
		else {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			v = (int64_t)(x >> (x % 64));
		}
		snprintf(want, sizeof want, "%lld", (long long)v);
		CU_ASSERT_STRING_EQUAL(units_int(v, buf), want);
	}
}

int
main(void)
{
	static const struct cunit_test tests[] = {
		{ "duration units", test_duration_units },
		{ "duration fractions", test_duration_fractions },
		{ "duration errors", test_duration_errors },
		{ "duration range", test_duration_range },
		{ "size", test_size },
		{ "size garbage", test_size_fixed },
		{ "hints", test_hints },
		{ "format duration", test_format_duration },
		{ "format size", test_format_size },
		{ "integers without printf", test_int },
		{ NULL, NULL }
	};

	return cunit_run("units", NULL, NULL, tests);
}
