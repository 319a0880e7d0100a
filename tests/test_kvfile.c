/*
 * kvfile.c: the KEY=VALUE lines of $DAGEXEC_OUTPUT and the NAME=NUMBER lines
 * of $DAGEXEC_METRICS; above all, that an error names a bad line by its
 * number and what is wrong with it, never by what it holds.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "cunit_main.h"
#include "rng.h"
#include "kvfile.h"
#include "xmalloc.h"

#define SECRET	"hunter2-SECRET"
#define OUT	"$DAGEXEC_OUTPUT"

static void
test_good(void)
{
	static const char text[] = "a=1\n\nb.c-d_e=hello big world\n"
	    "a=x=y\nempty=\nlast=no newline";
	struct kv *v;
	char *cause = NULL;
	size_t n;

	CU_ASSERT_EQUAL_FATAL(kvfile_parse(text, sizeof text - 1, OUT, false,
	    &v, &n, &cause), 0);
	CU_ASSERT_PTR_NULL(cause);
	CU_ASSERT_EQUAL_FATAL(n, 5);
	CU_ASSERT_STRING_EQUAL(v[0].key, "a");
	CU_ASSERT_STRING_EQUAL(v[0].value, "1");
	CU_ASSERT_STRING_EQUAL(v[1].key, "b.c-d_e");
	CU_ASSERT_STRING_EQUAL(v[1].value, "hello big world");
	CU_ASSERT_STRING_EQUAL(v[2].value, "x=y");
	CU_ASSERT_STRING_EQUAL(v[3].value, "");
	CU_ASSERT_STRING_EQUAL(v[4].key, "last");
	CU_ASSERT_STRING_EQUAL(v[4].value, "no newline");
	kvfile_free(v, n);

	CU_ASSERT_EQUAL_FATAL(kvfile_parse("tokens=4500\ncost=0.05\n", 22,
	    "$DAGEXEC_METRICS", true, &v, &n, &cause), 0);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_STRING_EQUAL(v[1].value, "0.05");
	kvfile_free(v, n);

	CU_ASSERT_EQUAL(kvfile_parse("", 0, OUT, false, &v, &n, &cause), 0);
	CU_ASSERT_EQUAL(n, 0);
	kvfile_free(v, n);
}

/* KEY<<DELIM ... DELIM: multi-line values, as GitHub Actions reads them. */
static void
test_multiline(void)
{
	static const char text[] = "a=1\ntasks<<EOF\nfirst task\n\n"
	    "third=x<<y\nEOF\nb<<END\nEND\nc=2<<3\nd<<EOF\nonly\nEOF";
	struct kv *v;
	char *cause = NULL;
	size_t n;

	CU_ASSERT_EQUAL_FATAL(kvfile_parse(text, sizeof text - 1, OUT, false,
	    &v, &n, &cause), 0);
	CU_ASSERT_EQUAL_FATAL(n, 5);
	CU_ASSERT_STRING_EQUAL(v[0].value, "1");
	CU_ASSERT_STRING_EQUAL(v[1].key, "tasks");
	/* the lines between, empty ones kept, without the last newline */
	CU_ASSERT_STRING_EQUAL(v[1].value, "first task\n\nthird=x<<y");
	CU_ASSERT_STRING_EQUAL(v[2].key, "b");
	CU_ASSERT_STRING_EQUAL(v[2].value, "");
	/* "<<" after the '=' is part of a plain value */
	CU_ASSERT_STRING_EQUAL(v[3].key, "c");
	CU_ASSERT_STRING_EQUAL(v[3].value, "2<<3");
	/* the closing line may be the last, without its newline */
	CU_ASSERT_STRING_EQUAL(v[4].value, "only");
	kvfile_free(v, n);

	/* a metric has no multi-line form: no '=' */
	CU_ASSERT_EQUAL(kvfile_parse("tokens<<E\n1\nE\n", 14, "M", true, &v,
	    &n, &cause), -1);
	CU_ASSERT_STRING_EQUAL(cause, "malformed line 1 in M: no '=' "
	    "(expected NAME=NUMBER)");
	free(cause);
}

/* One malformation: the line (after a good first line and an empty one,
 * so it is line 3) and the reason the message must give. */
struct bad {
	const char	*line;
	size_t		 len;		/* 0: strlen */
	bool		 numeric;
	const char	*why;
};

static const struct bad bad_cases[] = {
	{ "password: " SECRET, 0, false, "no '='" },
	{ SECRET, 0, false, "no '='" },
	{ "=" SECRET, 0, false, "empty key" },
	{ "pass word=" SECRET, 0, false,
	  "key holds a character outside [A-Za-z0-9_.-]" },
	{ SECRET ":x=" SECRET, 0, false,
	  "key holds a character outside [A-Za-z0-9_.-]" },
	{ "k\033[31m" SECRET "=v", 0, false,
	  "key holds a character outside [A-Za-z0-9_.-]" },
	{ "key=" SECRET "\0" SECRET, sizeof("key=" SECRET) + sizeof(SECRET) - 1,
	  false, "holds a NUL byte" },
	{ "tokens=" SECRET, 0, true, "value is not a number" },
	{ "tokens=12" SECRET, 0, true, "value is not a number" },
	{ "tokens=", 0, true, "empty value" },
	{ "tokens=1e999999", 0, true, "value is out of range" },
	{ "password: " SECRET, 0, true, "no '='" },
	{ "=" SECRET, 0, true, "empty key" },
	{ "my " SECRET "=1", 0, true,
	  "key holds a character outside [A-Za-z0-9_.-]" },
	/* the KEY<<DELIM line is the one named, before the good line */
	{ "k<<EOF\n" SECRET, 0, false, "no closing delimiter line" },
	{ "k<<\n" SECRET, 0, false, "empty delimiter after '<<'" },
	{ "my key<<EOF\n" SECRET "\nEOF", 0, false,
	  "key holds a character outside [A-Za-z0-9_.-]" },
};

static void
test_bad(void)
{
	const struct bad *b;
	struct kv *v;
	char *cause, *text, *want;
	size_t i, len, n;

	for (i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		b = &bad_cases[i];
		len = b->len != 0 ? b->len : strlen(b->line);
		/* line 3, then a good line after it */
		text = xmalloc(len + 32);
		memcpy(text, "ok=1\n\n", 6);
		memcpy(text + 6, b->line, len);
		memcpy(text + 6 + len, "\nz=2\n", 5);
		cause = NULL;
		CU_ASSERT_EQUAL(kvfile_parse(text, len + 11,
		    b->numeric ? "$DAGEXEC_METRICS" : OUT, b->numeric, &v, &n,
		    &cause), -1);
		CU_ASSERT_PTR_NULL(v);
		CU_ASSERT_EQUAL(n, 0);
		CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
		want = xasprintf("malformed line 3 in %s: %s (expected %s)",
		    b->numeric ? "$DAGEXEC_METRICS" : OUT, b->why,
		    b->numeric ? "NAME=NUMBER" : "KEY=VALUE or KEY<<DELIMITER");
		CU_ASSERT_STRING_EQUAL(cause, want);
		/* no part of the line: not the secret, not a piece of it */
		CU_ASSERT_PTR_NULL(strstr(cause, SECRET));
		CU_ASSERT_PTR_NULL(strstr(cause, "hunter"));
		CU_ASSERT_PTR_NULL(strstr(cause, "password"));
		free(want);
		free(cause);
		free(text);
	}
}

/*
 * Random files mixing good lines, random bytes and the secret: whenever
 * parsing fails, the message is one of the fixed forms and holds none of
 * the secret.
 */
static void
test_random_never_quoted(void)
{
	static const char *const whys[] = {
		"no '='", "empty key",
		"key holds a character outside [A-Za-z0-9_.-]",
		"holds a NUL byte", "empty value", "value is not a number",
		"value is out of range", "no closing delimiter line",
		"empty delimiter after '<<'",
	};
	static const char alphabet[] = "=\n\0 :aZ9_.-\t\033%x<<";
	char text[512], *cause, *p;
	struct kv *v;
	size_t iter, len, n, k, w, fails = 0, bad = 0, line;
	bool numeric, known;

	rng_state = 2718;
	for (iter = 0; iter < 20000; iter++) {
		len = 0;
		while (len < sizeof text - 40) {
			switch (rng() % 4) {
			case 0:
				memcpy(text + len, "k=1\n", 4);
				len += 4;
				break;
			case 1:
				memcpy(text + len, SECRET, sizeof SECRET - 1);
				len += sizeof SECRET - 1;
				break;
			default:
				text[len++] = alphabet[rng() %
				    (sizeof alphabet - 1)];
				break;
			}
			if (rng() % 16 == 0)
				break;
		}
		numeric = rng() % 2;
		cause = NULL;
		if (kvfile_parse(text, len, "F", numeric, &v, &n,
		    &cause) == 0) {
			kvfile_free(v, n);
			continue;
		}
		fails++;
		/* "malformed line N in F: WHY (expected ...)" */
		known = false;
		if (sscanf(cause, "malformed line %zu in F: ", &line) == 1 &&
		    (p = strstr(cause, ": ")) != NULL) {
			p += 2;
			for (w = 0; w < sizeof whys / sizeof whys[0]; w++) {
				k = strlen(whys[w]);
				if (strncmp(p, whys[w], k) == 0 &&
				    strcmp(p + k, numeric ?
				    " (expected NAME=NUMBER)" :
				    " (expected KEY=VALUE or KEY<<DELIMITER)") ==
				    0)
					known = true;
			}
		}
		if (!known || strstr(cause, "hunter") != NULL)
			bad++;
		free(cause);
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT(fails > 1000);
}

int
main(void)
{
	static const struct cunit_test tests[] = {
		{ "good lines", test_good },
		{ "multi-line values", test_multiline },
		{ "each malformation, never quoted", test_bad },
		{ "random files, never quoted", test_random_never_quoted },
		{ NULL, NULL }
	};

	return cunit_run("kvfile", NULL, NULL, tests);
}
