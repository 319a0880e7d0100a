/* CUnit suite for errtail.c: the last lines of a stream, made safe; the
 * one-line form; cutting between words; the shell's 127 and 126. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "cunit_main.h"
#include "errtail.h"
#include "log.h"
#include "rng.h"

/* errtail_new over the NUL-terminated s, compared with want (NULL: none) */
static void
tail_is(const char *s, bool cut, const char *want)
{
	char *got = errtail_new(s, strlen(s), cut);

	if (want == NULL) {
		CU_ASSERT_PTR_NULL(got);
	} else {
		CU_ASSERT_PTR_NOT_NULL_FATAL(got);
		if (strcmp(got, want) != 0)
			fprintf(stderr, "\ntail of '%s': '%s', want '%s'\n", s,
			    got, want);
		CU_ASSERT_STRING_EQUAL(got, want);
	}
	free(got);
}

static void
test_tail(void)
{
	tail_is("", false, NULL);
	tail_is("\n\n  \n\t\n", false, NULL);
	tail_is("one\n", false, "one");
	tail_is("one", false, "one");
	tail_is("sh: 1: pythn3: not found\n", false,
	    "sh: 1: pythn3: not found");
	/* the last five that are not blank, in order, indentation kept */
	tail_is("l1\nTraceback (most recent call last):\n  File \"x.py\", "
	    "line 3, in <module>\n\n    main()\n  File \"x.py\", line 2\n"
	    "ValueError: bad value\n\n", false,
	    "Traceback (most recent call last):\n  File \"x.py\", line 3, "
	    "in <module>\n    main()\n  File \"x.py\", line 2\n"
	    "ValueError: bad value");
	/* the first line of a cut stream is not whole */
	tail_is("ing of a line\nnext\n", true, "...ing of a line\nnext");
	tail_is("only a part", true, "...only a part");
	/* trailing blanks and CRLF */
	tail_is("a  \r\nb\r\n", false, "a\nb");
}

static void
test_safe(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "plain", "plain" },
		{ "\x1b[31mError\x1b[0m: x", "Error: x" },
		{ "\x1b]0;title\x07text", "text" },
		{ "a\tb", "a b" },
		{ "bell\x07", "bell\\x07" },
		{ "esc \x1b alone", "esc \\x1b alone" },
		{ "10%\r50%\r100%", "100%" },
		{ "bad \xff utf-8", "bad \\xff utf-8" },
		{ "caf\xc3\xa9", "caf\xc3\xa9" },
		{ "C:\\path", "C:\\path" },
		{ "del\x7f", "del\\x7f" },
	};
	char *s, *t;
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		s = errtail_safe(cases[i].in, strlen(cases[i].in));
		if (strcmp(s, cases[i].out) != 0)
			fprintf(stderr, "\nsafe #%zu: '%s'\n", i, s);
		CU_ASSERT_STRING_EQUAL(s, cases[i].out);
		/* safe text stays as it is */
		t = errtail_safe(s, strlen(s));
		CU_ASSERT_STRING_EQUAL(t, s);
		free(t);
		free(s);
	}
}

/* Random bytes: whatever comes out is valid UTF-8 without a control byte,
 * no line is longer than the bound, there are at most 5, and it is safe
 * already. */
static void
test_random(void)
{
	char buf[600], *t, *line, *nl, *again;
	size_t i, k, len, n;
	int bad = 0;

	rng_state = 7;
	for (i = 0; i < 20000; i++) {
		len = (rng() % (sizeof buf));
		for (k = 0; k < len; k++) {
			/* plenty of newlines, escapes and high bytes */
			switch ((rng() % (8))) {
			case 0: buf[k] = '\n'; break;
			case 1: buf[k] = 0x1b; break;
			case 2: buf[k] = (char)(0x80 + (rng() % (128)));
				break;
			default: buf[k] = (char)(rng() % (128)); break;
			}
		}
		t = errtail_new(buf, len, rng() % 2 == 0);
		if (t == NULL)
			continue;
		for (line = t, n = 0; line != NULL; line = nl, n++) {
			nl = strchr(line, '\n');
			k = nl != NULL ? (size_t)(nl - line) : strlen(line);
			if (k > ERRTAIL_LINE_MAX + 6)
				bad++;
			if (nl != NULL)
				nl++;
		}
		if (n > ERRTAIL_LINES)
			bad++;
		for (k = 0; t[k] != '\0'; k++) {
			if ((unsigned char)t[k] < 0x20 && t[k] != '\n')
				bad++;
			if (t[k] == 0x7f)
				bad++;
		}
		for (k = 0; t[k] != '\0'; ) {
			n = log_utf8_len((const unsigned char *)t + k,
			    strlen(t + k));
			if (n == 0) {
				bad++;
				break;
			}
			k += n;
		}
		again = errtail_safe(t, strlen(t));
		/* the joined lines, made safe again, are the same but for
		 * the newlines between them (which become \x0a) */
		if (strchr(t, '\n') == NULL && strcmp(again, t) != 0)
			bad++;
		free(again);
		free(t);
	}
	CU_ASSERT_EQUAL(bad, 0);
}

static void
test_long_line(void)
{
	char buf[2000], *t;

	memset(buf, 'x', sizeof buf - 1);
	buf[sizeof buf - 1] = '\0';
	buf[10] = ' ';
	t = errtail_new(buf, strlen(buf), false);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(strlen(t), ERRTAIL_LINE_MAX + 3);
	CU_ASSERT(strcmp(t + ERRTAIL_LINE_MAX, "...") == 0);
	free(t);
	/* never in the middle of a UTF-8 character: 2-byte 'é's */
	for (size_t k = 0; k + 1 < sizeof buf - 1; k += 2) {
		buf[k] = (char)0xc3;
		buf[k + 1] = (char)0xa9;
	}
	buf[sizeof buf - 2] = '\0';
	t = errtail_new(buf, strlen(buf), false);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(strlen(t), ERRTAIL_LINE_MAX + 3);
	free(t);
}

static void
test_line(void)
{
	char *s;
	const char *last;
	size_t n;

	s = errtail_line("exited with status 1",
	    "Traceback (most recent call last):\n  File \"x\"\nValueError: v");
	CU_ASSERT_STRING_EQUAL(s, "exited with status 1; stderr: Traceback "
	    "(most recent call last): | File \"x\" | ValueError: v");
	free(s);
	s = errtail_line("exited with status 1", NULL);
	CU_ASSERT_STRING_EQUAL(s, "exited with status 1");
	free(s);
	s = errtail_line(NULL, "a\nb");
	CU_ASSERT_STRING_EQUAL(s, "a | b");
	free(s);
	s = errtail_line(NULL, NULL);
	CU_ASSERT_STRING_EQUAL(s, "");
	free(s);
	s = errtail_unecho(strdup("dagexec: GET x: 503"), "GET x: 503");
	CU_ASSERT_PTR_NULL(s);
	s = errtail_unecho(strdup("before\ndagexec: GET x: 503"),
	    "GET x: 503");
	CU_ASSERT_STRING_EQUAL(s, "before");
	free(s);
	s = errtail_unecho(strdup("GET x: 503 and more"), "GET x: 503");
	CU_ASSERT_STRING_EQUAL(s, "GET x: 503 and more");
	free(s);
	CU_ASSERT_PTR_NULL(errtail_unecho(NULL, "x"));
	last = errtail_last("a\n  last one", &n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(last);
	CU_ASSERT_EQUAL(n, 8);
	CU_ASSERT(strncmp(last, "last one", n) == 0);
	CU_ASSERT_PTR_NULL(errtail_last(NULL, &n));
}

static void
cut_is(const char *s, size_t w, const char *want)
{
	char *got = errtail_cut(s, w);

	if (strcmp(got, want) != 0)
		fprintf(stderr, "\ncut '%s' at %zu: '%s', want '%s'\n", s, w,
		    got, want);
	CU_ASSERT_STRING_EQUAL(got, want);
	free(got);
}

static void
test_cut(void)
{
	cut_is("short", 20, "short");
	cut_is("exited with status 1", 20, "exited with status 1");
	cut_is("exited with status 1", 19, "exited with...");
	cut_is("exited with status 1", 14, "exited with...");
	cut_is("exited with status 1", 13, "exited...");
	cut_is("exited with status 1", 5, "exited...");
	cut_is("averyveryverylongword", 5, "averyveryverylongword");
	cut_is("a  b  c  d", 6, "a...");
	/* width counts characters, not bytes */
	cut_is("\xc3\xa9t\xc3\xa9 d\xc3\xa9j\xc3\xa0 vu", 11,
	    "\xc3\xa9t\xc3\xa9 d\xc3\xa9j\xc3\xa0 vu");
	cut_is("\xc3\xa9t\xc3\xa9 d\xc3\xa9j\xc3\xa0 vu", 10,
	    "\xc3\xa9t\xc3\xa9...");
}

/* Random text cut at random widths: the kept part is a prefix that ends
 * at the end of a word, and the whole is never longer than the width
 * unless the first word is. */
static void
test_cut_random(void)
{
	char s[200], *c;
	size_t i, k, len, w, keep;
	int bad = 0;

	rng_state = 11;
	for (i = 0; i < 20000; i++) {
		len = 1 + (rng() % (sizeof s - 1));
		for (k = 0; k < len; k++)
			s[k] = (rng() % (4)) == 0 ? ' ' :
			    (char)('a' + (rng() % (26)));
		s[len] = '\0';
		w = (rng() % (120));
		c = errtail_cut(s, w);
		keep = strlen(c);
		if (strcmp(c, s) != 0) {
			keep -= 3;
			if (strcmp(c + keep, "...") != 0 ||
			    strncmp(c, s, keep) != 0 || s[keep] != ' ' ||
			    keep == 0 || c[keep - 1] == ' ') {
				bad++;
				fprintf(stderr, "\n'%s' %zu: '%s'", s, w, c);
			}
			/* longer than w only when it is one word */
			k = strspn(c, " ");
			if (keep + 3 > w && memchr(c + k, ' ', keep - k) !=
			    NULL) {
				bad++;
				fprintf(stderr, "\n'%s' %zu: '%s'", s, w, c);
			}
		} else if (len > w) {
			/* kept whole past the width: it is one word, with
			 * blanks only at its start */
			for (k = 0; k < len && s[k] == ' '; k++)
				;
			if (strchr(s + k, ' ') != NULL &&
			    strspn(strchr(s + k, ' '), " ") !=
			    strlen(strchr(s + k, ' ')))
				bad++;
		}
		free(c);
	}
	CU_ASSERT_EQUAL(bad, 0);
}

static void
test_shell(void)
{
	const char *e = NULL;

	CU_ASSERT_EQUAL(errtail_shell(127, "sh: 1: pythn3: not found", &e),
	    REASON_SPAWN_ERROR);
	CU_ASSERT_STRING_EQUAL(e, "command not found");
	CU_ASSERT_EQUAL(errtail_shell(127,
	    "bash: line 1: pythn3: command not found", &e), REASON_SPAWN_ERROR);
	CU_ASSERT_EQUAL(errtail_shell(126,
	    "sh: 1: ./x.sh: Permission denied", &e), REASON_SPAWN_ERROR);
	CU_ASSERT_STRING_EQUAL(e, "not executable");
	CU_ASSERT_EQUAL(errtail_shell(126, "sh: 1: ./d: Is a directory", &e),
	    REASON_SPAWN_ERROR);
	CU_ASSERT_EQUAL(errtail_shell(126,
	    "bash: ./b: cannot execute binary file: Exec format error", &e),
	    REASON_SPAWN_ERROR);
	/* a script deep in a run whose last command is missing: the same */
	CU_ASSERT_EQUAL(errtail_shell(127,
	    "working...\n./long.sh: 40: upload: not found", &e),
	    REASON_SPAWN_ERROR);
	/* exit 127 or 126 of the command itself */
	CU_ASSERT_EQUAL(errtail_shell(127, NULL, &e), REASON_NONE);
	CU_ASSERT_EQUAL(errtail_shell(127, "done, giving up", &e),
	    REASON_NONE);
	CU_ASSERT_EQUAL(errtail_shell(127, "sh: 1: x: not found\nmore", &e),
	    REASON_NONE);
	/* the right message with another status */
	CU_ASSERT_EQUAL(errtail_shell(1, "sh: 1: x: not found", &e),
	    REASON_NONE);
	CU_ASSERT_EQUAL(errtail_shell(126, "sh: 1: x: not found", &e),
	    REASON_NONE);
	CU_ASSERT_EQUAL(errtail_shell(127, "sh: 1: x: Permission denied", &e),
	    REASON_NONE);
}

int
main(void)
{
	static const struct cunit_test tests[] = {
		{ "last lines", test_tail },
		{ "safe text", test_safe },
		{ "random streams", test_random },
		{ "long lines", test_long_line },
		{ "one line", test_line },
		{ "cut between words", test_cut },
		{ "random cuts", test_cut_random },
		{ "the shell's 127 and 126", test_shell },
		{ NULL, NULL }
	};

	return cunit_run("errtail", NULL, NULL, tests);
}
