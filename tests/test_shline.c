/* CUnit suite for shline.c: which run lines need no shell, and their words;
 * and that the words are what the shell itself gives to the program. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "cunit_main.h"
#include "shline.h"
#include "xmalloc.h"

/* The words joined by '|', or "(shell)" when the line needs the shell. */
static char *
joined(const char *line)
{
	char	**w = shline_words(line), *s, *t;
	size_t	  i;

	if (w == NULL)
		return xstrdup("(shell)");
	s = xstrdup(w[0]);
	for (i = 1; w[i] != NULL; i++) {
		t = xasprintf("%s|%s", s, w[i]);
		free(s);
		s = t;
	}
	shline_free(w);
	return s;
}

static void
expect(const char *line, const char *want)
{
	char	*got = joined(line);

	if (strcmp(got, want) != 0)
		fprintf(stderr, "\n'%s': got '%s', wanted '%s'\n", line, got,
		    want);
	CU_ASSERT_STRING_EQUAL(got, want);
	free(got);
}

static void
test_plain(void)
{
	expect("sleep 1", "sleep|1");
	expect("  sleep\t 0.5  ", "sleep|0.5");
	expect("python3 train.py --epochs=3 --lr=0.1", "python3|train.py|"
	    "--epochs=3|--lr=0.1");
	expect("/usr/bin/env", "/usr/bin/env");
	expect("./run.sh a,b c:d e+f g@h 50%", "./run.sh|a,b|c:d|e+f|g@h|50%");
	expect("dd if=a of=b", "dd|if=a|of=b");
	expect("make -j2 all", "make|-j2|all");
}

static void
test_needs_shell(void)
{
	static const char *const lines[] = {
		"", "   ", "\t",
		"echo hi", "true", "false", "cd /tmp", "exec sleep 1",
		"exit 3", "test -f x", "[ -f x ]", ": > x", ". ./env.sh",
		"export A=1", "if", "for", "while", "kill 1", "pwd",
		"printf x", "read x", "set -e", "trap x TERM", "wait",
		"A=1 env", "A=1", "sleep 1; sleep 2", "sleep 1 && true",
		"a | b", "a > out", "a < in", "a &", "a $HOME", "a `b`",
		"a 'b c'", "a \"b\"", "a\\ b", "a *", "a ?", "a [x]",
		"a ~", "~/bin/a", "a # comment", "a\nb", "(a)", "{ a; }",
		"! a", "a ^ b", "caf\xc3\xa9", "a\rb",
	};
	size_t	i;

	for (i = 0; i < sizeof lines / sizeof lines[0]; i++)
		expect(lines[i], "(shell)");
	/* a builtin's name inside a longer word, or later, is a program */
	expect("echoer x", "echoer|x");
	expect("env true", "env|true");
	expect("testsuite", "testsuite");
	shline_free(NULL);
}

/* The words are exactly what sh gives the program: run both through sh,
 * one printing the words, and compare. */
static void
test_same_as_sh(void)
{
	static const char *const lines[] = {
		"x a b", "x  a\t\tb  ", "x --k=v -n 1 a,b,c ./p/q 1.5 @x %y +z",
		"x a=b c:d",
	};
	char	 cmd[512], buf[512], *mine, *p;
	size_t	 i, n;
	FILE	*fp;

	for (i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		/* x is a function printing its words joined by '|' */
		snprintf(cmd, sizeof cmd, "sh -c 'x() { printf %%s \"$0\"; "
		    "for a; do printf \"|%%s\" \"$a\"; done; }; %s'",
		    lines[i]);
		fp = popen(cmd, "r");
		CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
		n = fread(buf, 1, sizeof buf - 1, fp);
		buf[n] = '\0';
		CU_ASSERT_EQUAL(pclose(fp), 0);
		mine = joined(lines[i]);
		/* $0 is sh's own name in a function: compare from the
		 * first argument on */
		p = strchr(mine, '|');
		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		CU_ASSERT_STRING_EQUAL(strchr(buf, '|') != NULL ?
		    strchr(buf, '|') : "", p);
		free(mine);
	}
}

int
main(void)
{
	static const struct cunit_test tests[] = {
		{ "plain lines split on blanks", test_plain },
		{ "lines that need the shell", test_needs_shell },
		{ "the words the shell gives", test_same_as_sh },
		{ NULL, NULL }
	};

	return cunit_run("shline", NULL, NULL, tests);
}
