/*
 * Cron expressions and their firings.
 *
 * Debian has no maintained C library for cron expressions (Go, Perl,
 * PHP, Ruby and node ones only), so the parser is here: the five fields
 * of Vixie cron's crontab(5), with its rule for the two day fields.
 *
 * Firings are computed on local ("civil") times of the process's zone,
 * read with localtime_r and counted as seconds as if they were UTC
 * (timegm), so that a day is always 86400 civil seconds. A civil time a
 * DST change skips has no instant: it fires at the end of the gap; one it
 * repeats has two: it fires at the first. The zone is the C library's
 * process-wide TZ (cron_zone_use), which only a single-threaded process
 * may change: the daemon leaves it alone and asks a helper process of its
 * own, one a schedule, for the firings (wsched.c).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cron.h"
#include "strbuf.h"
#include "xmalloc.h"

#define CRON_YEARS	30	/* cron_next looks this far ahead */
#define DAY_S		86400

enum field { F_MIN, F_HOUR, F_DOM, F_MON, F_DOW, NFIELDS };

static const struct {
	const char	*name;
	int		 lo, hi;
} fields[NFIELDS] = {
	{ "minute", 0, 59 },
	{ "hour", 0, 23 },
	{ "day of the month", 1, 31 },
	{ "month", 1, 12 },
	{ "day of the week", 0, 7 },
};

static const char *const month_names[] = { "jan", "feb", "mar", "apr",
    "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec" };
static const char *const dow_names[] = { "sun", "mon", "tue", "wed", "thu",
    "fri", "sat" };

static const struct {
	const char	*name;
	const char	*expr;
} specials[] = {
	{ "@yearly", "0 0 1 1 *" },
	{ "@annually", "0 0 1 1 *" },
	{ "@monthly", "0 0 1 * *" },
	{ "@weekly", "0 0 * * 0" },
	{ "@daily", "0 0 * * *" },
	{ "@midnight", "0 0 * * *" },
	{ "@hourly", "0 * * * *" },
};

/* A field being read: its text runs from p to end; base is where the
 * whole expression starts (for columns). */
struct rd {
	const char	*base;
	const char	*p;
	const char	*end;
	enum field	 f;
	char		*cause;
	size_t		 col;
};

static int
rd_fail(struct rd *r, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
rd_fail(struct rd *r, const char *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	r->cause = xvasprintf(fmt, ap);
	va_end(ap);
	r->col = (size_t)(at - r->base);
	return -1;
}

/* One value: a number, or a name where the field has names. */
static int
rd_value(struct rd *r, int *v)
{
	const char *s = r->p, *const *names = NULL;
	size_t n = 0, i, len;
	long x;

	if (r->f == F_MON) {
		names = month_names;
		n = 12;
	} else if (r->f == F_DOW) {
		names = dow_names;
		n = 7;
	}
	if (r->p < r->end && isdigit((unsigned char)*r->p)) {
		x = 0;
		while (r->p < r->end && isdigit((unsigned char)*r->p) &&
		    x < 1000)
			x = x * 10 + (*r->p++ - '0');
		if (x < fields[r->f].lo || x > fields[r->f].hi)
			return rd_fail(r, s, "%s '%.*s' is out of range %d-%d",
			    fields[r->f].name, (int)(r->p - s), s,
			    fields[r->f].lo, fields[r->f].hi);
		*v = (int)x;
		return 0;
	}
	for (len = 0; s + len < r->end && isalpha((unsigned char)s[len]);
	    len++)
		;
	for (i = 0; len == 3 && i < n; i++) {
		if (strncasecmp(s, names[i], 3) == 0) {
			r->p += 3;
			*v = (int)i + (r->f == F_MON ? 1 : 0);
			return 0;
		}
	}
	if (len > 0 && n > 0)
		return rd_fail(r, s, "unknown %s name '%.*s' (expected %s)",
		    fields[r->f].name, (int)len, s, r->f == F_MON ?
		    "jan, feb, ... dec" : "sun, mon, ... sat");
	if (s == r->end || *s == ',')
		return rd_fail(r, s, "the %s field has an empty item",
		    fields[r->f].name);
	return rd_fail(r, s, "unexpected '%c' in the %s field", *s,
	    fields[r->f].name);
}

/* One item of a list: *, a, a-b, each with an optional /step. */
static int
rd_item(struct rd *r, uint64_t *bits, bool *star)
{
	const char *s = r->p, *at;
	int lo, hi, step = 1, v;

	if (r->p < r->end && *r->p == '*') {
		r->p++;
		lo = fields[r->f].lo;
		hi = fields[r->f].hi;
		if (r->f == F_DOW)
			hi = 6;
		*star = true;
	} else {
		if (rd_value(r, &lo) != 0)
			return -1;
		hi = lo;
		if (r->p < r->end && *r->p == '-') {
			r->p++;
			if (rd_value(r, &hi) != 0)
				return -1;
			if (hi < lo)
				return rd_fail(r, s, "the %s range '%.*s' goes "
				    "backwards", fields[r->f].name,
				    (int)(r->p - s), s);
		}
	}
	if (r->p < r->end && *r->p == '/') {
		at = ++r->p;
		if (at == r->end || !isdigit((unsigned char)*at))
			return rd_fail(r, at, "a step in the %s field needs "
			    "a number after '/'", fields[r->f].name);
		step = 0;
		while (r->p < r->end && isdigit((unsigned char)*r->p) &&
		    step < 1000)
			step = step * 10 + (*r->p++ - '0');
		if (step < 1 || step > fields[r->f].hi)
			return rd_fail(r, at, "the %s step '%.*s' is out of "
			    "range 1-%d", fields[r->f].name, (int)(r->p - at),
			    at, fields[r->f].hi);
		/* "a/n": from a to the field's end, as cronie reads it */
		if (hi == lo && *s != '*')
			hi = r->f == F_DOW ? 6 : fields[r->f].hi;
	}
	if (r->p < r->end && *r->p != ',')
		return rd_fail(r, r->p, "unexpected '%c' in the %s field",
		    *r->p, fields[r->f].name);
	for (v = lo; v <= hi; v += step)
		*bits |= (uint64_t)1 << v;
	return 0;
}

/* A field: items separated by ','. */
static int
rd_field(struct rd *r, uint64_t *bits, bool *star)
{
	*bits = 0;
	*star = false;
	for (;;) {
		if (rd_item(r, bits, star) != 0)
			return -1;
		if (r->p == r->end)
			return 0;
		r->p++;		/* the ',' */
		if (r->p == r->end)
			return rd_fail(r, r->p - 1, "the %s field ends with "
			    "','", fields[r->f].name);
	}
}

static int
days_in_month(int month, int year)
{
	static const int n[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
	    31 };

	if (month == 2 && (year % 4 == 0 && (year % 100 != 0 ||
	    year % 400 == 0)))
		return 29;
	return n[month - 1];
}

/* A day-of-the-month restriction that no allowed month has (with a day
 * of the week left open, only it counts): such an expression never
 * fires. */
static bool
cron_never(const struct cron *c)
{
	int m, d;

	if (c->dom_star || !c->dow_star)
		return false;
	for (m = 1; m <= 12; m++) {
		if (!(c->month & (1u << m)))
			continue;
		for (d = 1; d <= days_in_month(m, 2000); d++)
			if (c->dom & (1u << d))
				return false;
	}
	return true;
}

static bool
is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

static int
parse_special(const char *expr, const char *s, struct cron *c, size_t *col,
    char **cause)
{
	size_t len, i;

	for (len = 0; s[len] != '\0' && !is_blank(s[len]); len++)
		;
	for (i = 0; i < sizeof specials / sizeof specials[0]; i++) {
		if (strlen(specials[i].name) == len &&
		    strncasecmp(s, specials[i].name, len) == 0)
			break;
	}
	if (i == sizeof specials / sizeof specials[0]) {
		*col = (size_t)(s - expr);
		if (len == 7 && strncasecmp(s, "@reboot", 7) == 0)
			*cause = xstrdup("'@reboot' is not supported: a "
			    "schedule fires at times of the day");
		else
			*cause = xasprintf("unknown '%.*s' (expected @yearly, "
			    "@annually, @monthly, @weekly, @daily, @midnight "
			    "or @hourly)", (int)len, s);
		return -1;
	}
	s += len;
	while (is_blank(*s))
		s++;
	if (*s != '\0') {
		*col = (size_t)(s - expr);
		*cause = xasprintf("nothing may follow '%s'", specials[i].name);
		return -1;
	}
	return cron_parse(specials[i].expr, c, col, cause);
}

int
cron_parse(const char *expr, struct cron *c, size_t *col, char **cause)
{
	const char *s = expr, *start[NFIELDS], *end[NFIELDS];
	struct rd r;
	uint64_t bits[NFIELDS];
	bool star[NFIELDS];
	size_t n = 0;
	int f;

	memset(c, 0, sizeof *c);
	*col = 0;
	*cause = NULL;
	while (is_blank(*s))
		s++;
	if (*s == '@')
		return parse_special(expr, s, c, col, cause);
	while (*s != '\0') {
		if (n == NFIELDS) {
			*col = (size_t)(s - expr);
			*cause = xstrdup("more than five fields (minute hour "
			    "day-of-month month day-of-week; there is no "
			    "seconds or year field)");
			return -1;
		}
		start[n] = s;
		while (*s != '\0' && !is_blank(*s))
			s++;
		end[n++] = s;
		while (is_blank(*s))
			s++;
	}
	if (n < NFIELDS) {
		*col = (size_t)(s - expr);
		*cause = xasprintf("%s five fields (minute hour day-of-month "
		    "month day-of-week), not %zu", n == 0 ? "empty: expected" :
		    "expected", n);
		return -1;
	}
	for (f = 0; f < NFIELDS; f++) {
		memset(&r, 0, sizeof r);
		r.base = expr;
		r.p = start[f];
		r.f = (enum field)f;
		r.end = end[f];
		if (rd_field(&r, &bits[f], &star[f]) != 0) {
			*col = r.col;
			*cause = r.cause;
			return -1;
		}
		/* Vixie: a field that begins with '*' counts as unrestricted
		 * in the day rule, "*\/2" too */
		star[f] = *start[f] == '*';
	}
	c->minute = bits[F_MIN];
	c->hour = (uint32_t)bits[F_HOUR];
	c->dom = (uint32_t)bits[F_DOM];
	c->month = (uint32_t)bits[F_MON];
	/* 7 is Sunday too */
	c->dow = (uint32_t)(bits[F_DOW] & 0x7f) |
	    ((bits[F_DOW] & 0x80) ? 1u : 0u);
	c->dom_star = star[F_DOM];
	c->dow_star = star[F_DOW];
	if (cron_never(c)) {
		*col = (size_t)(start[F_DOM] - expr);
		*cause = xasprintf("never fires: no month it allows has the "
		    "day '%.*s'", (int)(end[F_DOM] - start[F_DOM]),
		    start[F_DOM]);
		return -1;
	}
	return 0;
}

char *
cron_canonical(const char *expr)
{
	struct strbuf sb = STRBUF_INIT;
	const char *s = expr;
	size_t len;

	while (*s != '\0') {
		while (is_blank(*s))
			s++;
		for (len = 0; s[len] != '\0' && !is_blank(s[len]); len++)
			;
		if (len == 0)
			break;
		if (sb.len > 0)
			strbuf_add(&sb, " ", 1);
		strbuf_add(&sb, s, len);
		s += len;
	}
	return sb.s != NULL ? sb.s : xstrdup("");
}

/* ---- zones --------------------------------------------------------------- */

static bool
zone_name_ok(const char *z)
{
	const char *p;

	if (*z == '\0' || *z == '/' || strlen(z) > 255)
		return false;
	for (p = z; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr("/_+-.", *p) == NULL)
			return false;
	/* no '.' or '..' component, no empty one */
	for (p = z; p != NULL; p = strchr(p, '/')) {
		if (*p == '/')
			p++;
		if (*p == '/' || *p == '\0' || *p == '.')
			return false;
	}
	return true;
}

int
cron_zone_path(const char *zone, char **path, char **cause)
{
	const char *dir = getenv("TZDIR");
	char magic[4], *p;
	struct stat st;
	ssize_t n;
	int fd;

	if (path != NULL)
		*path = NULL;
	if (!zone_name_ok(zone)) {
		*cause = xasprintf("'%s' is not a time zone name (such as "
		    "Europe/Berlin or UTC)", zone);
		return -1;
	}
	if (dir == NULL || *dir != '/')
		dir = "/usr/share/zoneinfo";
	p = xasprintf("%s/%s", dir, zone);
	fd = open(p, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (n = read(fd, magic, sizeof magic)) != (ssize_t)sizeof magic ||
	    memcmp(magic, "TZif", 4) != 0) {
		*cause = xasprintf("unknown time zone '%s' (no such zone in "
		    "'%s')", zone, dir);
		if (fd >= 0)
			close(fd);
		free(p);
		return -1;
	}
	close(fd);
	if (path != NULL)
		*path = p;
	else
		free(p);
	return 0;
}

int
cron_zone_use(const char *zone, char **cause)
{
	char *path, *tz;

	if (zone != NULL && *zone != '\0') {
		if (cron_zone_path(zone, &path, cause) != 0)
			return -1;
		/* the file itself: what was checked is what is read */
		tz = xasprintf(":%s", path);
		free(path);
		if (setenv("TZ", tz, 1) != 0) {
			*cause = xasprintf("setenv TZ: %s", strerror(errno));
			free(tz);
			return -1;
		}
		free(tz);
	}
	tzset();
	return 0;
}

/* ---- firings ------------------------------------------------------------- */

/* The local time of the instant t, as civil seconds. */
static int64_t
civil(int64_t t, long *off)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (localtime_r(&tt, &tm) == NULL) {
		*off = 0;
		return t;
	}
	*off = tm.tm_gmtoff;
	return t + tm.tm_gmtoff;
}

/* When the civil time s happens: its first instant, or for a time a DST
 * change skips, the first instant after it (the gap's end). */
static int64_t
first_instant(int64_t s)
{
	long off[3], o, lo_off, hi_off;
	int64_t best = INT64_MAX, t, lo, hi, mid;
	int i;

	(void)civil(s - DAY_S, &off[0]);
	(void)civil(s, &off[1]);
	(void)civil(s + DAY_S, &off[2]);
	for (i = 0; i < 3; i++) {
		t = s - off[i];
		if (civil(t, &o) == s && t < best)
			best = t;
	}
	if (best != INT64_MAX)
		return best;
	/* a gap: between the instants the two offsets give, the first
	 * whose civil time is past s */
	lo_off = hi_off = off[0];
	for (i = 1; i < 3; i++) {
		if (off[i] > hi_off)
			hi_off = off[i];
		if (off[i] < lo_off)
			lo_off = off[i];
	}
	lo = s - hi_off;
	hi = s - lo_off;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (civil(mid, &o) > s)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* Does the civil day starting at the civil seconds day match? */
static bool
day_matches(const struct cron *c, int64_t day)
{
	time_t tt = (time_t)day;
	struct tm tm;
	bool dom, dow;

	if (gmtime_r(&tt, &tm) == NULL)
		return false;
	if (!(c->month & (1u << (tm.tm_mon + 1))))
		return false;
	dom = (c->dom & (1u << tm.tm_mday)) != 0;
	dow = (c->dow & (1u << tm.tm_wday)) != 0;
	/* Vixie: with either field unrestricted both must match (the
	 * unrestricted one always does), else either */
	if (c->dom_star || c->dow_star)
		return dom && dow;
	return dom || dow;
}

int
cron_next(const struct cron *c, int64_t after, int64_t *next)
{
	int64_t s0, day, last, cand, f;
	long off;
	int h, m;

	/* civil times up to the minute of after are done: each fires no
	 * later than after (at its first instant, or the gap's end) */
	s0 = civil(after, &off);
	s0 -= ((s0 % 60) + 60) % 60;
	day = s0 - (((s0 % DAY_S) + DAY_S) % DAY_S);
	last = day + (int64_t)CRON_YEARS * 366 * DAY_S;
	for (; day <= last; day += DAY_S) {
		if (!day_matches(c, day))
			continue;
		for (h = 0; h < 24; h++) {
			if (!(c->hour & (1u << h)))
				continue;
			if (day + h * 3600 + 3599 <= s0)
				continue;
			for (m = 0; m < 60; m++) {
				if (!(c->minute & ((uint64_t)1 << m)))
					continue;
				cand = day + h * 3600 + m * 60;
				if (cand <= s0)
					continue;
				/* firings follow the civil order: the first
				 * one past after is the answer */
				f = first_instant(cand);
				if (f > after) {
					*next = f;
					return 0;
				}
			}
		}
	}
	return -1;
}
