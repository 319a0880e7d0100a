#include "config.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "units.h"

/* Room for "unknown unit '...'" with the unit cut at a few characters,
 * and the hint that follows it. */
static __thread char units_why[64];
static __thread char units_hint_buf[256];

/* What a person reads after a malformed duration or size. */
#define DURATION_UNITS	"units: ms, s, m, h, d, without a space: 90s, 1h30m"
#define SIZE_UNITS	"units: K, M, G, T (powers of 1024), without a space: " \
			"512M, 2G"

/* Units written out in words, as people write them elsewhere ("10
 * minutes", "5 MB"), and the unit meant. */
struct unit_word {
	const char	*word;
	const char	*unit;
};

static const struct unit_word duration_words[] = {
	{ "ms", "ms" }, { "msec", "ms" }, { "msecs", "ms" },
	{ "millisecond", "ms" }, { "milliseconds", "ms" },
	{ "s", "s" }, { "sec", "s" }, { "secs", "s" }, { "second", "s" },
	{ "seconds", "s" },
	{ "m", "m" }, { "min", "m" }, { "mins", "m" }, { "minute", "m" },
	{ "minutes", "m" },
	{ "h", "h" }, { "hr", "h" }, { "hrs", "h" }, { "hour", "h" },
	{ "hours", "h" },
	{ "d", "d" }, { "day", "d" }, { "days", "d" },
	{ NULL, NULL }
};

static const struct unit_word size_words[] = {
	{ "b", "" }, { "byte", "" }, { "bytes", "" },
	{ "k", "K" }, { "kb", "K" }, { "kib", "K" }, { "kilobyte", "K" },
	{ "kilobytes", "K" },
	{ "m", "M" }, { "mb", "M" }, { "mib", "M" }, { "megabyte", "M" },
	{ "megabytes", "M" },
	{ "g", "G" }, { "gb", "G" }, { "gib", "G" }, { "gigabyte", "G" },
	{ "gigabytes", "G" },
	{ "t", "T" }, { "tb", "T" }, { "tib", "T" }, { "terabyte", "T" },
	{ "terabytes", "T" },
	{ NULL, NULL }
};

struct unit {
	const char	*name;
	int64_t		 mult;
};

/* Longest names first where one is a prefix of another ("ms" before "m"). */
static const struct unit duration_units[] = {
	{ "d", 86400000 },
	{ "h", 3600000 },
	{ "m", 60000 },
	{ "s", 1000 },
	{ "ms", 1 },
};
#define NDURATION_UNITS (sizeof duration_units / sizeof duration_units[0])

static const char *
units_unknown(const char *u, size_t len)
{
	if (len > 16)
		len = 16;
	snprintf(units_why, sizeof units_why, "unknown unit '%.*s'", (int)len,
	    u);
	return units_why;
}

/*
 * why, followed by what the units are and, when s is a number and a unit
 * written out or set apart by blanks ("10 minutes", "5 MB"), the form
 * meant ("10m", "5M"). A message in a per-thread buffer.
 */
static const char *
units_hint(const char *s, const char *why, const struct unit_word *words,
    const char *units)
{
	const char *n = s, *ne, *w, *mean = NULL;
	size_t wl, k;

	while ((*s >= '0' && *s <= '9') || *s == '.')
		s++;
	ne = s;
	while (*s == ' ' || *s == '\t')
		s++;
	w = s;
	while ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z'))
		s++;
	wl = (size_t)(s - w);
	if (ne > n && ne - n <= 24 && wl > 0 && wl <= 16 && *s == '\0' &&
	    *n != '.' && ne[-1] != '.') {
		for (k = 0; words[k].word != NULL && mean == NULL; k++)
			if (strlen(words[k].word) == wl &&
			    strncasecmp(words[k].word, w, wl) == 0)
				mean = words[k].unit;
	}
	/* a case the parser refused for another reason ("10S") has no
	 * meant form of its own: only the units */
	if (mean != NULL && (ne != w || strncmp(mean, w, wl) != 0 ||
	    strlen(mean) != wl))
		snprintf(units_hint_buf, sizeof units_hint_buf, "%s (did you "
		    "mean '%.*s%s'? %s)", why, (int)(ne - n), n, mean, units);
	else
		snprintf(units_hint_buf, sizeof units_hint_buf, "%s (%s)", why,
		    units);
	return units_hint_buf;
}

/*
 * Read "DIGITS[.DIGITS]" at *sp: the integer part in *ip, the fraction as
 * *fp / *fden (fden a power of ten, 1 without a fraction). Trailing zeros of
 * the fraction are dropped. Returns 0, or -1 with *why.
 */
static int
units_number(const char **sp, uint64_t *ip, uint64_t *fp, uint64_t *fden,
    const char **why)
{
	const char *s = *sp, *f, *fe;
	uint64_t v = 0;
	size_t nf;

	if (*s < '0' || *s > '9') {
		*why = NULL;
		return -1;
	}
	for (; *s >= '0' && *s <= '9'; s++) {
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(*s - '0'), &v)) {
			*why = "out of range";
			return -1;
		}
	}
	*ip = v;
	*fp = 0;
	*fden = 1;
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9') {
			*why = NULL;
			return -1;
		}
		f = s;
		while (*s >= '0' && *s <= '9')
			s++;
		fe = s;
		while (fe > f && fe[-1] == '0')
			fe--;
		nf = (size_t)(fe - f);
		if (nf > 18) {
			*why = "out of range";
			return -1;
		}
		for (; f < fe; f++) {
			*fp = *fp * 10 + (uint64_t)(*f - '0');
			*fden *= 10;
		}
	}
	*sp = s;
	return 0;
}

/* ip + fp/fden times mult, exactly: 0, or -1 with *why. */
static int
units_scale(uint64_t ip, uint64_t fp, uint64_t fden, int64_t mult,
    const char *inexact, uint64_t *out, const char **why)
{
	unsigned __int128 frac;
	uint64_t v;

	if (__builtin_mul_overflow(ip, (uint64_t)mult, &v)) {
		*why = "out of range";
		return -1;
	}
	frac = (unsigned __int128)fp * (uint64_t)mult;
	if (frac % fden != 0) {
		*why = inexact;
		return -1;
	}
	frac /= fden;
	if (frac > INT64_MAX || __builtin_add_overflow(v, (uint64_t)frac, &v) ||
	    v > INT64_MAX) {
		*why = "out of range";
		return -1;
	}
	*out = v;
	return 0;
}

static int
parse_duration(const char *s, int64_t *ms, const char **why)
{
	const char *u;
	uint64_t ip, fp, fden, part, total = 0;
	size_t i, ulen, last = 0, n = 0;
	bool found;

	if (s == NULL || *s == '\0') {
		*why = "empty duration";
		return -1;
	}
	if (*s == '-') {
		*why = "negative duration";
		return -1;
	}
	while (*s != '\0') {
		if (units_number(&s, &ip, &fp, &fden, why) != 0) {
			if (*why == NULL)
				*why = "not a duration";
			return -1;
		}
		u = s;
		while ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z'))
			s++;
		ulen = (size_t)(s - u);
		if (*s != '\0' && (*s < '0' || *s > '9')) {
			*why = "not a duration";
			return -1;
		}
		if (ulen == 0) {
			/* A bare number of seconds, alone. */
			if (n != 0 || *s != '\0') {
				*why = "not a duration";
				return -1;
			}
			i = 3;
		} else {
			found = false;
			for (i = 0; i < NDURATION_UNITS; i++) {
				if (strlen(duration_units[i].name) != ulen ||
				    memcmp(duration_units[i].name, u,
				    ulen) != 0)
					continue;
				found = true;
				break;
			}
			if (!found) {
				*why = units_unknown(u, ulen);
				return -1;
			}
			/* Compound forms go from large to small units. */
			if (n != 0 && i <= last) {
				*why = "not a duration";
				return -1;
			}
		}
		if (units_scale(ip, fp, fden, duration_units[i].mult,
		    "finer than a millisecond", &part, why) != 0)
			return -1;
		if (__builtin_add_overflow(total, part, &total) ||
		    total > INT64_MAX) {
			*why = "out of range";
			return -1;
		}
		last = i;
		n++;
	}
	*ms = (int64_t)total;
	return 0;
}

static int
parse_size(const char *s, int64_t *bytes, const char **why)
{
	static const char prefixes[] = "KMGTPE";
	const char *u, *u0, *p;
	uint64_t ip, fp, fden, v;
	int64_t mult = 1;
	size_t ulen, ulen0;

	if (s == NULL || *s == '\0') {
		*why = "empty size";
		return -1;
	}
	if (*s == '-') {
		*why = "negative size";
		return -1;
	}
	if (units_number(&s, &ip, &fp, &fden, why) != 0) {
		if (*why == NULL)
			*why = "not a size";
		return -1;
	}
	u = s;
	while ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z'))
		s++;
	ulen = (size_t)(s - u);
	u0 = u;
	ulen0 = ulen;
	if (*s != '\0') {
		*why = "not a size";
		return -1;
	}
	if (ulen > 0) {
		p = NULL;
		if (*u >= 'a' && *u <= 'z')
			p = strchr(prefixes, *u - 'a' + 'A');
		else if (*u != '\0')
			p = strchr(prefixes, *u);
		if (p != NULL && *p != '\0') {
			mult = (int64_t)1 << (10 * (p - prefixes + 1));
			u++;
			ulen--;
			if (ulen == 2 && u[0] == 'i' && (u[1] == 'B' ||
			    u[1] == 'b'))
				ulen = 0;
		}
		if (ulen == 1 && (u[0] == 'B' || u[0] == 'b'))
			ulen = 0;
		if (ulen != 0) {
			*why = units_unknown(u0, ulen0);
			return -1;
		}
	}
	if (units_scale(ip, fp, fden, mult, "not a whole number of bytes", &v,
	    why) != 0)
		return -1;
	*bytes = (int64_t)v;
	return 0;
}

/* rc of a parse of s: a malformed duration or size (not one out of range,
 * negative or empty) says which units there are. */
static int
units_hinted(int rc, const char *s, const char **why,
    const struct unit_word *words, const char *units)
{
	if (rc != 0 && (strcmp(*why, "not a duration") == 0 ||
	    strcmp(*why, "not a size") == 0 ||
	    strncmp(*why, "unknown unit", 12) == 0))
		*why = units_hint(s, *why, words, units);
	return rc;
}

int
units_parse_duration(const char *s, int64_t *ms, const char **why)
{
	return units_hinted(parse_duration(s, ms, why), s, why,
	    duration_words, DURATION_UNITS);
}

int
units_parse_size(const char *s, int64_t *bytes, const char **why)
{
	return units_hinted(parse_size(s, bytes, why), s, why, size_words,
	    SIZE_UNITS);
}

char *
units_format_duration(int64_t ms, char *buf, size_t len)
{
	static const struct unit parts[] = {
		{ "d", 86400000 }, { "h", 3600000 }, { "m", 60000 },
		{ "s", 1000 }, { "ms", 1 },
	};
	uint64_t v, q;
	size_t i, off = 0;
	int n;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	if (ms < 0) {
		v = (uint64_t)0 - (uint64_t)ms;
		n = snprintf(buf, len, "-");
		off = (size_t)n < len ? (size_t)n : len - 1;
	} else
		v = (uint64_t)ms;
	if (v == 0) {
		snprintf(buf + off, len - off, "0s");
		return buf;
	}
	for (i = 0; i < sizeof parts / sizeof parts[0] && v != 0; i++) {
		q = v / (uint64_t)parts[i].mult;
		if (q == 0)
			continue;
		v -= q * (uint64_t)parts[i].mult;
		n = snprintf(buf + off, len - off, "%" PRIu64 "%s", q,
		    parts[i].name);
		if (n < 0 || (size_t)n >= len - off)
			break;
		off += (size_t)n;
	}
	return buf;
}

char *
units_format_size(int64_t bytes, char *buf, size_t len)
{
	static const char prefixes[] = "KMGTPE";
	unsigned __int128 tenths;
	uint64_t v, unit = 1;
	int i, k = -1;

	if (len == 0)
		return buf;
	if (bytes < 0) {
		snprintf(buf, len, "%" PRId64, bytes);
		return buf;
	}
	v = (uint64_t)bytes;
	for (i = 0; i < 6; i++) {
		if (v < ((uint64_t)1 << (10 * (i + 1))))
			break;
		k = i;
		unit = (uint64_t)1 << (10 * (i + 1));
	}
	if (k < 0) {
		snprintf(buf, len, "%" PRIu64, v);
		return buf;
	}
	if (v % unit == 0) {
		snprintf(buf, len, "%" PRIu64 "%c", v / unit, prefixes[k]);
		return buf;
	}
	tenths = ((unsigned __int128)v * 10 + unit / 2) / unit;
	if (tenths % 10 == 0)
		snprintf(buf, len, "%" PRIu64 "%c", (uint64_t)(tenths / 10),
		    prefixes[k]);
	else
		snprintf(buf, len, "%" PRIu64 ".%u%c", (uint64_t)(tenths / 10),
		    (unsigned)(tenths % 10), prefixes[k]);
	return buf;
}

const char *
units_int(int64_t v, char buf[UNITS_INT_LEN])
{
	char		*p = buf + UNITS_INT_LEN;
	uint64_t	 u = v < 0 ? -(uint64_t)v : (uint64_t)v;

	*--p = '\0';
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		*--p = '-';
	return p;
}
