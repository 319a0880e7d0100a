/* CUnit suite for secret.c: reading secret files, and masking their values
 * in whole strings and in streams cut anywhere. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "cunit_main.h"
#include "rng.h"
#include "secret.h"
#include "strbuf.h"
#include "xmalloc.h"

static void
collect(void *arg, const char *buf, size_t len)
{
	strbuf_add(arg, buf, len);
}

/* in, streamed in pieces of the given sizes (cycled), masked by s */
static char *
stream_in(const struct secrets *s, const char *in, const size_t *sizes,
    size_t nsizes)
{
	struct strbuf b = STRBUF_INIT;
	struct maskstream ms = { NULL, 0 };
	size_t len = strlen(in), off = 0, k = 0, n;

	strbuf_add(&b, "", 0);
	while (off < len) {
		n = sizes[k++ % nsizes];
		if (n > len - off)
			n = len - off;
		secrets_stream(s, &ms, in + off, n, collect, &b);
		off += n;
	}
	secrets_stream_end(s, &ms, collect, &b);
	CU_ASSERT_EQUAL(ms.nheld, 0);
	return b.s;
}

static void
test_mask(void)
{
	struct secrets *s = secrets_new();
	char *m;

	CU_ASSERT_EQUAL(secrets_count(s), 0);
	m = secrets_mask(s, "nothing to do");
	CU_ASSERT_STRING_EQUAL(m, "nothing to do");
	free(m);
	secrets_add(s, "hunter2", 7);
	secrets_add(s, "", 0);
	CU_ASSERT_EQUAL(secrets_count(s), 1);
	m = secrets_mask(s, "pw=hunter2, again hunter2hunter2.");
	CU_ASSERT_STRING_EQUAL(m, "pw=***, again ******.");
	free(m);
	CU_ASSERT(secrets_hit(s, "xxhunter2", 9));
	CU_ASSERT(!secrets_hit(s, "hunter", 6));
	CU_ASSERT_PTR_NULL(secrets_mask(s, NULL));
	m = secrets_mask(NULL, "hunter2");
	CU_ASSERT_STRING_EQUAL(m, "hunter2");
	free(m);
	/* the same value twice is one pattern */
	secrets_add(s, "hunter2", 7);
	CU_ASSERT_EQUAL(secrets_count(s), 1);
	secrets_free(s);
}

/* A multi-line value: whole, and each line of at least 4 bytes alone (a
 * trailing \r dropped); short lines are not masked alone. */
static void
test_lines(void)
{
	static const char pem[] = "BEGIN\nline-one\r\nab\nline-two";
	struct secrets *s = secrets_new();
	char *m;

	secrets_add(s, pem, strlen(pem));
	CU_ASSERT_EQUAL(secrets_count(s), 4);	/* whole, BEGIN, 2 lines */
	m = secrets_mask(s, "x BEGIN\nline-one\r\nab\nline-two y");
	CU_ASSERT_STRING_EQUAL(m, "x *** y");
	free(m);
	m = secrets_mask(s, "[line-two] [line-one] [ab]");
	CU_ASSERT_STRING_EQUAL(m, "[***] [***] [ab]");
	free(m);
	secrets_free(s);
}

/* Streams cut at every size, a byte at a time included: the result is
 * what masking the whole text gives, and no secret byte gets out early. */
static void
test_stream(void)
{
	static const char *const texts[] = {
		"the key is sk-live-123456 and that is all\n",
		"sk-live-123456",
		"sk-live-12345 is not it, sk-live-123456 is\n",
		"sk-sk-live-123456sk-live-1234567",
		"partial at the end: sk-live-1234",
		"BEGIN\nline-one\nab\nline-two\n then line-one alone\n",
		"BEGIN\nline-one\nab\n and the rest never comes",
	};
	struct secrets *s = secrets_new();
	size_t sizes[] = { 1, 2, 3, 5, 7, 64 }, k, t, one;
	char *want, *got;

	secrets_add(s, "sk-live-123456", 14);
	secrets_add(s, "BEGIN\nline-one\nab\nline-two", 26);
	for (t = 0; t < sizeof texts / sizeof texts[0]; t++) {
		want = secrets_mask(s, texts[t]);
		for (k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
			one = sizes[k];
			got = stream_in(s, texts[t], &one, 1);
			if (strcmp(got, want) != 0)
				fprintf(stderr, "text %zu in pieces of %zu: "
				    "'%s', wanted '%s'\n", t, one, got, want);
			CU_ASSERT_STRING_EQUAL(got, want);
			CU_ASSERT_PTR_NULL(strstr(got, "123456"));
			CU_ASSERT_PTR_NULL(strstr(got, "line-"));
			free(got);
		}
		free(want);
	}
	/* what is held back is only what may begin a secret: a read that
	 * ends with none of one goes out whole at once */
	{
		struct strbuf b = STRBUF_INIT;
		struct maskstream ms = { NULL, 0 };

		strbuf_add(&b, "", 0);
		secrets_stream(s, &ms, "plain text ", 11, collect, &b);
		CU_ASSERT_EQUAL(ms.nheld, 0);
		CU_ASSERT_STRING_EQUAL(b.s, "plain text ");
		secrets_stream(s, &ms, "then sk-li", 10, collect, &b);
		CU_ASSERT_EQUAL(ms.nheld, 5);
		CU_ASSERT_STRING_EQUAL(b.s, "plain text then ");
		secrets_stream(s, &ms, "ke it", 5, collect, &b);
		CU_ASSERT_EQUAL(ms.nheld, 0);
		CU_ASSERT_STRING_EQUAL(b.s, "plain text then sk-like it");
		free(b.s);
	}
	secrets_free(s);
}

static size_t
below(size_t n)
{
	return n > 0 ? rng() % n : 0;
}

/* Random texts with secrets sown in, random cuts: streamed equals whole. */
static void
test_stream_random(void)
{
	static const char alpha[] = "abcdsk-live-123456\nBEGINline";
	struct secrets *s = secrets_new();
	char text[300], *want, *got;
	size_t sizes[8], round, k, len;

	rng_state = 4242;
	secrets_add(s, "sk-live-123456", 14);
	secrets_add(s, "BEGIN\nline-one\nab\nline-two", 26);
	secrets_add(s, "abab", 4);
	for (round = 0; round < 2000; round++) {
		len = below(sizeof text - 40);
		for (k = 0; k < len; k++)
			text[k] = alpha[below(sizeof alpha - 1)];
		text[len] = '\0';
		if (below(2) == 0 && len > 20)
			memcpy(text + below(len - 15), "sk-live-123456",
			    14);
		for (k = 0; k < 8; k++)
			sizes[k] = 1 + below(20);
		want = secrets_mask(s, text);
		got = stream_in(s, text, sizes, 8);
		CU_ASSERT_STRING_EQUAL(got, want);
		CU_ASSERT_PTR_NULL(strstr(got, "sk-live-123456"));
		free(got);
		free(want);
	}
	secrets_free(s);
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *fp = fopen(path, "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fputs(text, fp);
	fclose(fp);
	chmod(path, mode);
}

static void
test_read(void)
{
	char dir[] = "/tmp/test_secret.XXXXXX", *p, *v = NULL, *cause = NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	p = xasprintf("%s/k", dir);
	write_file(p, "value\n", 0600);
	CU_ASSERT_EQUAL(secret_read("K", p, true, &v, &cause), 0);
	CU_ASSERT_STRING_EQUAL(v, "value");
	free(v);
	/* one trailing newline only */
	write_file(p, "two\nlines\n\n", 0600);
	CU_ASSERT_EQUAL(secret_read("K", p, false, &v, &cause), 0);
	CU_ASSERT_STRING_EQUAL(v, "two\nlines\n");
	free(v);
	/* readable by others: refused when strict only */
	write_file(p, "value", 0644);
	CU_ASSERT_EQUAL(secret_read("K", p, false, &v, &cause), 0);
	free(v);
	CU_ASSERT_EQUAL(secret_read("K", p, true, &v, &cause), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "is readable by others (mode "
	    "0644)"));
	CU_ASSERT_PTR_NULL(strstr(cause, "value"));
	free(cause);
	write_file(p, "value", 0602);
	CU_ASSERT_EQUAL(secret_read("K", p, true, &v, &cause), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "is writable by others"));
	free(cause);
	/* a NUL byte, a directory, a missing file */
	write_file(p, "a", 0600);
	{
		int fd = open(p, O_WRONLY | O_APPEND);

		CU_ASSERT_EQUAL(write(fd, "\0b", 2), 2);
		close(fd);
	}
	CU_ASSERT_EQUAL(secret_read("K", p, false, &v, &cause), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "holds a NUL byte"));
	free(cause);
	CU_ASSERT_EQUAL(secret_read("K", dir, false, &v, &cause), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "is not a regular file"));
	free(cause);
	unlink(p);
	CU_ASSERT_EQUAL(secret_read("K", p, false, &v, &cause), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "secret 'K': cannot open"));
	free(cause);
	free(p);
	rmdir(dir);
}

/* The private side file: written, read back by key, any bytes. */
static void
test_values(void)
{
	char dir[] = "/tmp/test_secret.XXXXXX", *v, *cause = NULL, *p;
	char k1[] = "token", k2[] = "multi", v1[] = "Bearer x 1 2",
	    v2[] = "a\nb 3\n\nc";
	struct kv kv[2] = { { k1, v1 }, { k2, v2 } };
	struct stat st;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	CU_ASSERT_EQUAL(secret_values_write(dir, "n", kv, 2, &cause), 0);
	v = secret_values_get(dir, "n", "token");
	CU_ASSERT_STRING_EQUAL(v, v1);
	free(v);
	v = secret_values_get(dir, "n", "multi");
	CU_ASSERT_STRING_EQUAL(v, v2);
	free(v);
	CU_ASSERT_PTR_NULL(secret_values_get(dir, "n", "tok"));
	CU_ASSERT_PTR_NULL(secret_values_get(dir, "other", "token"));
	p = xasprintf("%s/private/n.values", dir);
	CU_ASSERT_EQUAL(stat(p, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);
	unlink(p);
	free(p);
	p = xasprintf("%s/private", dir);
	CU_ASSERT_EQUAL(stat(p, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0700);
	rmdir(p);
	free(p);
	rmdir(dir);
}

int
main(void)
{
	static const struct cunit_test tests[] = {
		{ "mask", test_mask },
		{ "lines", test_lines },
		{ "stream", test_stream },
		{ "stream, random", test_stream_random },
		{ "read", test_read },
		{ "values", test_values },
		{ NULL, NULL }
	};

	return (cunit_run("secret", NULL, NULL, tests));
}
