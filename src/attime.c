/* The TIME of `submit --at`: a few forms a user of at(1) or of ISO 8601
 * writes, nothing fuzzy. */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "attime.h"
#include "units.h"
#include "xmalloc.h"

#define FORMS	"expected 'now', 'now + N minutes' (seconds, minutes, " \
		"hours, days, weeks), 'HH:MM', 'YYYY-MM-DD HH:MM[:SS]' " \
		"(local, or ending in Z or +HH:MM) or '@SECONDS'"

static const struct {
	const char	*name;
	int64_t		 s;
} at_units[] = {
	{ "second", 1 }, { "seconds", 1 }, { "sec", 1 }, { "secs", 1 },
	{ "minute", 60 }, { "minutes", 60 }, { "min", 60 }, { "mins", 60 },
	{ "hour", 3600 }, { "hours", 3600 },
	{ "day", 86400 }, { "days", 86400 },
	{ "week", 604800 }, { "weeks", 604800 },
};

static const char *
skip_blanks(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* "now + ...": the part after '+'. */
static int
at_offset(const char *s, int64_t now, int64_t *t, char **cause)
{
	const char *why = NULL;
	const char *word;
	char *end;
	int64_t ms;
	long long n;
	size_t i, len;

	s = skip_blanks(s);
	n = strtoll(s, &end, 10);
	if (end != s && n >= 0 && n <= 100000000 &&
	    (*end == ' ' || *end == '\t')) {
		word = skip_blanks(end);
		len = strlen(word);
		while (len > 0 && (word[len - 1] == ' ' ||
		    word[len - 1] == '\t'))
			len--;
		for (i = 0; i < sizeof at_units / sizeof at_units[0]; i++)
			if (strlen(at_units[i].name) == len &&
			    strncasecmp(word, at_units[i].name, len) == 0) {
				*t = now + (int64_t)n * at_units[i].s;
				return 0;
			}
		*cause = xasprintf("unknown unit '%.*s' (expected seconds, "
		    "minutes, hours, days or weeks)", (int)len, word);
		return -1;
	}
	if (units_parse_duration(s, &ms, &why) == 0) {
		*t = now + ms / 1000;
		return 0;
	}
	*cause = xasprintf("'now + %s': %s", s, why != NULL ? why :
	    "not a duration");
	return -1;
}

/* An offset at the end of an ISO time: Z, +HH:MM, +HHMM, +HH. */
static int
at_zone(const char *s, long *off, int *has)
{
	int h = 0, m = 0, n = 0;

	*has = 0;
	*off = 0;
	if (*s == '\0')
		return 0;
	*has = 1;
	if ((*s == 'Z' || *s == 'z') && s[1] == '\0')
		return 0;
	if (*s != '+' && *s != '-')
		return -1;
	if (sscanf(s + 1, "%2d:%2d%n", &h, &m, &n) == 2 && s[1 + n] == '\0')
		;
	else if (strlen(s + 1) == 4 && sscanf(s + 1, "%2d%2d%n", &h, &m,
	    &n) == 2 && n == 4)
		;
	else if (strlen(s + 1) == 2 && sscanf(s + 1, "%2d%n", &h, &n) == 1 &&
	    n == 2)
		m = 0;
	else
		return -1;
	if (h > 23 || m > 59)
		return -1;
	*off = (*s == '-' ? -1 : 1) * (h * 3600L + m * 60L);
	return 0;
}

static bool
all_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* YYYY-MM-DD[(T| )HH:MM[:SS]][zone] */
static int
at_iso(const char *s, int64_t *t)
{
	struct tm tm, chk;
	const char *p = s;
	long off;
	int has, sec = 0;
	time_t v;

	memset(&tm, 0, sizeof tm);
	if (strlen(p) < 10 || !all_digits(p, 4) || p[4] != '-' ||
	    !all_digits(p + 5, 2) || p[7] != '-' || !all_digits(p + 8, 2))
		return -1;
	tm.tm_year = atoi(p) - 1900;
	tm.tm_mon = atoi(p + 5) - 1;
	tm.tm_mday = atoi(p + 8);
	p += 10;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (!all_digits(p, 2) || p[2] != ':' || !all_digits(p + 3, 2))
			return -1;
		tm.tm_hour = atoi(p);
		tm.tm_min = atoi(p + 3);
		p += 5;
		if (*p == ':') {
			if (!all_digits(p + 1, 2))
				return -1;
			sec = atoi(p + 1);
			p += 3;
		}
		tm.tm_sec = sec;
	}
	if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 59 ||
	    at_zone(p, &off, &has) != 0)
		return -1;
	chk = tm;
	if (has) {
		v = timegm(&tm);
		if (v == (time_t)-1)
			return -1;
		*t = (int64_t)v - off;
	} else {
		tm.tm_isdst = -1;
		v = mktime(&tm);
		if (v == (time_t)-1)
			return -1;
		*t = (int64_t)v;
	}
	/* no 31st of April: the date must survive normalisation */
	if (tm.tm_mday != chk.tm_mday || tm.tm_mon != chk.tm_mon)
		return -1;
	return 0;
}

int
attime_parse(const char *s, int64_t now, int64_t *t, char **cause)
{
	struct tm tm;
	time_t v;
	long long n;
	char *end;
	int h, m, k = 0;

	s = skip_blanks(s);
	if (strncasecmp(s, "now", 3) == 0) {
		const char *r = skip_blanks(s + 3);

		if (*r == '\0') {
			*t = now;
			return 0;
		}
		if (*r == '+')
			return at_offset(r + 1, now, t, cause);
		*cause = xasprintf("'%s': %s", s, FORMS);
		return -1;
	}
	if (*s == '@') {
		n = strtoll(s + 1, &end, 10);
		if (end != s + 1 && *end == '\0' && n >= 0) {
			*t = n;
			return 0;
		}
	} else if (sscanf(s, "%2d:%2d%n", &h, &m, &k) == 2 && s[k] == '\0' &&
	    k == 5 && h < 24 && m < 60) {
		/* today at HH:MM, or tomorrow when that has passed */
		v = (time_t)now;
		localtime_r(&v, &tm);
		tm.tm_hour = h;
		tm.tm_min = m;
		tm.tm_sec = 0;
		tm.tm_isdst = -1;
		if ((v = mktime(&tm)) != (time_t)-1 && (int64_t)v < now) {
			tm.tm_mday++;
			tm.tm_isdst = -1;
			v = mktime(&tm);
		}
		if (v != (time_t)-1) {
			*t = (int64_t)v;
			return 0;
		}
	} else if (at_iso(s, t) == 0)
		return 0;
	*cause = xasprintf("'%s' is not a time: %s", s, FORMS);
	return -1;
}
