/* CUnit suite for src/journal.c: events.log append and replay. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "cunit_main.h"
#include "fsutil.h"
#include "journal.h"
#include "xmalloc.h"

static char tmpdir[] = "/tmp/test_journal.XXXXXX";

/* What a replay saw: every event, copied. */
struct seen {
	size_t		 n;
	int64_t		 wall[64];
	char		*event[64];
	char		*k[64][4];
	char		*v[64][4];
	size_t		 nf[64];
	int		 line[64];
	int		 stop_at;	/* return 7 at this event (1-based) */
};

static int
collect(const struct journal_event *ev, void *arg)
{
	struct seen	*s = arg;
	size_t		 i;

	if (s->n < 64) {
		s->wall[s->n] = ev->wall_ms;
		s->event[s->n] = xstrdup(ev->event);
		s->line[s->n] = ev->line;
		s->nf[s->n] = ev->nf;
		for (i = 0; i < ev->nf && i < 4; i++) {
			s->k[s->n][i] = xstrdup(ev->f[i].key);
			s->v[s->n][i] = xstrdup(ev->f[i].value);
		}
	}
	s->n++;
	if (s->stop_at != 0 && (int)s->n == s->stop_at)
		return 7;
	return 0;
}

static void
seen_free(struct seen *s)
{
	size_t	i, k;

	for (i = 0; i < s->n && i < 64; i++) {
		free(s->event[i]);
		for (k = 0; k < s->nf[i] && k < 4; k++) {
			free(s->k[i][k]);
			free(s->v[i][k]);
		}
	}
	memset(s, 0, sizeof *s);
}

static char *
path_in(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

static const char *awkward[] = {
	"with space", "a=b=c", "100%", "%41", "line\nbreak\r\n", "tab\there",
	"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "", "\x7f\x01\x1f",
	"\xff\xfe bytes", "  leading and trailing  ",
};
#define NAWKWARD (sizeof awkward / sizeof awkward[0])

static void
test_round_trip(void)
{
	char		*path = path_in("rt.log"), *cause = NULL;
	struct journal	*j;
	struct seen	 s;
	size_t		 i;

	memset(&s, 0, sizeof s);
	j = journal_open(path, &cause);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	for (i = 0; i < NAWKWARD; i++)
		journal_add(j, 1700000000000 + (int64_t)i, "start",
		    "node", "n-1", "value", awkward[i], "k ey=%", "x", NULL);
	journal_add(j, -5, "weird event=name", "skipped", NULL, "last", "1",
	    NULL);
	CU_ASSERT_EQUAL(journal_close(j, &cause), 0);

	CU_ASSERT_EQUAL(journal_replay(path, collect, &s, &cause), 0);
	CU_ASSERT_EQUAL_FATAL(s.n, NAWKWARD + 1);
	for (i = 0; i < NAWKWARD; i++) {
		CU_ASSERT_EQUAL(s.wall[i], 1700000000000 + (int64_t)i);
		CU_ASSERT_STRING_EQUAL(s.event[i], "start");
		CU_ASSERT_EQUAL(s.line[i], (int)i + 1);
		CU_ASSERT_EQUAL_FATAL(s.nf[i], 3);
		CU_ASSERT_STRING_EQUAL(s.k[i][0], "node");
		CU_ASSERT_STRING_EQUAL(s.v[i][0], "n-1");
		CU_ASSERT_STRING_EQUAL(s.k[i][1], "value");
		CU_ASSERT_STRING_EQUAL(s.v[i][1], awkward[i]);
		CU_ASSERT_STRING_EQUAL(s.k[i][2], "k ey=%");
		CU_ASSERT_STRING_EQUAL(s.v[i][2], "x");
	}
	/* A NULL value leaves its pair out. */
	CU_ASSERT_EQUAL(s.wall[NAWKWARD], -5);
	CU_ASSERT_STRING_EQUAL(s.event[NAWKWARD], "weird event=name");
	CU_ASSERT_EQUAL_FATAL(s.nf[NAWKWARD], 1);
	CU_ASSERT_STRING_EQUAL(s.k[NAWKWARD][0], "last");
	seen_free(&s);
	unlink(path);
	free(path);
}

static void
test_line_is_encoded(void)
{
	char		*path = path_in("enc.log"), *cause = NULL, *buf;
	struct journal	*j;
	size_t		 len;

	j = journal_open(path, &cause);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	journal_add(j, 12, "end", "error", "a b=c%\n\xc3\xa9", NULL);
	CU_ASSERT_EQUAL(journal_close(j, &cause), 0);
	CU_ASSERT_EQUAL_FATAL(fs_read_file(path, 1 << 20, &buf, &len, &cause),
	    0);
	CU_ASSERT_STRING_EQUAL(buf, "12 end error=a%20b%3Dc%25%0A%C3%A9\n");
	free(buf);
	unlink(path);
	free(path);
}

static void
test_get(void)
{
	const char	*text = "5 ev a=1 b=2 a=3\n";
	char		 ka[] = "a", va[] = "1", kb[] = "b", vb[] = "2";
	char		 name[] = "ev";
	struct journal_field f[] = { { ka, va }, { kb, vb } };
	struct journal_event ev = { 1, 5, name, f, 2 };
	struct seen	 s;
	char		*cause = NULL;

	CU_ASSERT_STRING_EQUAL(journal_get(&ev, "b"), "2");
	CU_ASSERT_PTR_NULL(journal_get(&ev, "c"));
	memset(&s, 0, sizeof s);
	CU_ASSERT_EQUAL(journal_replay_buf(text, strlen(text), collect, &s,
	    &cause), 0);
	CU_ASSERT_EQUAL(s.nf[0], 3);
	seen_free(&s);
}

static void
test_torn_last_line(void)
{
	const char	*text = "1 a x=1\n2 b y=2\n3 c z=";
	struct seen	 s;
	char		*cause = NULL;

	memset(&s, 0, sizeof s);
	CU_ASSERT_EQUAL(journal_replay_buf(text, strlen(text), collect, &s,
	    &cause), 0);
	CU_ASSERT_EQUAL(s.n, 2);
	CU_ASSERT_STRING_EQUAL(s.event[1], "b");
	seen_free(&s);

	/* Even a malformed torn line is not an error: it never happened. */
	text = "1 a\n%%%% garbage";
	CU_ASSERT_EQUAL(journal_replay_buf(text, strlen(text), collect, &s,
	    &cause), 0);
	CU_ASSERT_EQUAL(s.n, 1);
	seen_free(&s);

	CU_ASSERT_EQUAL(journal_replay_buf("", 0, collect, &s, &cause), 0);
	CU_ASSERT_EQUAL(s.n, 0);
}

static void
check_malformed(const char *text, size_t len, int line, const char *what)
{
	struct seen	 s;
	char		*cause = NULL, *want;

	memset(&s, 0, sizeof s);
	errno = 0;
	CU_ASSERT_EQUAL(journal_replay_buf(text, len, collect, &s, &cause),
	    -1);
	CU_ASSERT_EQUAL(errno, EINVAL);
	CU_ASSERT_EQUAL(s.n, (size_t)line - 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	want = xasprintf("events.log:%d: malformed event: %s", line, what);
	if (strcmp(cause, want) != 0)
		fprintf(stderr, "\n  got '%s'\n  want '%s'\n", cause, want);
	CU_ASSERT_STRING_EQUAL(cause, want);
	free(want);
	free(cause);
	seen_free(&s);
}

static void
test_malformed(void)
{
	check_malformed("1 ok\n\n", 6, 2, "empty line");
	check_malformed("x ev\n", 5, 1,
	    "bad time (not a decimal integer of milliseconds)");
	check_malformed("99999999999999999999 ev\n", 24, 1,
	    "bad time (not a decimal integer of milliseconds)");
	check_malformed("- ev\n", 5, 1,
	    "bad time (not a decimal integer of milliseconds)");
	check_malformed("12\n", 3, 1, "no event name after the time");
	check_malformed("12 \n", 4, 1, "empty event name");
	check_malformed("1 a\n2 ev a=1  b=2\n", 18, 2,
	    "empty field (doubled or trailing space)");
	check_malformed("2 ev a=1 \n", 10, 1,
	    "empty field (doubled or trailing space)");
	check_malformed("2 ev novalue\n", 13, 1, "field without '='");
	check_malformed("2 ev =v\n", 8, 1, "field with an empty key");
	check_malformed("2 ev a=b=c\n", 11, 1, "unencoded '=' in a value");
	check_malformed("2 e=v\n", 6, 1, "'=' in the event name");
	check_malformed("2 ev a=%4\n", 10, 1, "bad percent escape");
	check_malformed("2 ev a=%G0\n", 11, 1, "bad percent escape");
	check_malformed("2 ev a=%\n", 9, 1, "bad percent escape");
	check_malformed("2 ev a=%00\n", 11, 1, "encoded NUL byte");
	check_malformed("2 ev a=\tb\n", 10, 1,
	    "unencoded control or non-ASCII byte");
	check_malformed("2 ev a=\xc3\xa9\n", 10, 1,
	    "unencoded control or non-ASCII byte");
	check_malformed("2 ev a=x\0y\n", 11, 1,
	    "unencoded control or non-ASCII byte");
	check_malformed("2 ev a=1\r\n", 10, 1,
	    "unencoded control or non-ASCII byte");
}

static void
test_callback_stops(void)
{
	const char	*text = "1 a\n2 b\n3 c\n";
	struct seen	 s;
	char		*cause = NULL;

	memset(&s, 0, sizeof s);
	s.stop_at = 2;
	CU_ASSERT_EQUAL(journal_replay_buf(text, strlen(text), collect, &s,
	    &cause), 7);
	CU_ASSERT_EQUAL(s.n, 2);
	CU_ASSERT_PTR_NULL(cause);
	seen_free(&s);
}

struct counter {
	size_t	n;
	int64_t	sum;
	int	bad;
};

static int
count_cb(const struct journal_event *ev, void *arg)
{
	struct counter	*c = arg;
	const char	*v = journal_get(ev, "i");
	char		 want[32];

	snprintf(want, sizeof want, "%zu", c->n);
	if (v == NULL || strcmp(v, want) != 0 || ev->line != (int)c->n + 1)
		c->bad++;
	c->sum += ev->wall_ms;
	c->n++;
	return 0;
}

static void
test_many_events(void)
{
	char		*path = path_in("many.log"), *cause = NULL;
	struct journal	*j;
	struct counter	 c = { 0, 0, 0 };
	char		 num[32];
	size_t		 i, n = 200000;

	j = journal_open(path, &cause);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	for (i = 0; i < n; i++) {
		snprintf(num, sizeof num, "%zu", i);
		journal_add(j, (int64_t)i, "tick", "i", num, "pad",
		    "some % text = here", NULL);
		if (i % 50000 == 0)
			CU_ASSERT_EQUAL(journal_sync(j, &cause), 0);
	}
	CU_ASSERT_EQUAL(journal_close(j, &cause), 0);
	CU_ASSERT_EQUAL(journal_replay(path, count_cb, &c, &cause), 0);
	CU_ASSERT_EQUAL(c.n, n);
	CU_ASSERT_EQUAL(c.bad, 0);
	CU_ASSERT_EQUAL(c.sum, (int64_t)(n * (n - 1) / 2));
	unlink(path);
	free(path);
}

/* journal_sync_later: written at once, synced by the journal's thread a
 * moment later; journal_sync and journal_close wait for it. */
static void
test_sync_later(void)
{
	char		*path = path_in("later.log"), *cause = NULL;
	struct journal	*j;
	struct seen	 s;
	int		 i, k;

	memset(&s, 0, sizeof s);
	j = journal_open(path, &cause);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_EQUAL(journal_unsynced(j), 0);
	journal_add(j, 1, "a", NULL);
	CU_ASSERT_EQUAL(journal_unsynced(j), 1);
	CU_ASSERT_EQUAL(journal_sync_later(j, &cause), 0);
	/* in the file at once */
	CU_ASSERT_EQUAL(journal_replay(path, collect, &s, &cause), 0);
	CU_ASSERT_EQUAL(s.n, 1);
	seen_free(&s);
	/* synced a moment later (bounded: 10 s) */
	for (k = 0; k < 1000 && journal_unsynced(j); k++)
		usleep(10000);
	CU_ASSERT_EQUAL(journal_unsynced(j), 0);
	/* many in a row, some while the thread syncs, then a sync and a
	 * close that wait for it */
	for (i = 0; i < 40; i++) {
		journal_add(j, 2 + i, "b", NULL);
		CU_ASSERT_EQUAL(journal_sync_later(j, &cause), 0);
	}
	CU_ASSERT_EQUAL(journal_sync(j, &cause), 0);
	CU_ASSERT_EQUAL(journal_unsynced(j), 0);
	journal_add(j, 999, "c", NULL);
	CU_ASSERT_EQUAL(journal_sync_later(j, &cause), 0);
	CU_ASSERT_EQUAL(journal_close(j, &cause), 0);
	CU_ASSERT_EQUAL(journal_replay(path, collect, &s, &cause), 0);
	CU_ASSERT_EQUAL(s.n, 42);
	if (s.n == 42) {
		CU_ASSERT_STRING_EQUAL(s.event[0], "a");
		CU_ASSERT_STRING_EQUAL(s.event[41], "c");
	}
	seen_free(&s);
	unlink(path);
	free(path);
}

static void
test_sync_persists_and_reopen(void)
{
	char		*path = path_in("sync.log"), *cause = NULL;
	struct journal	*j, *j2;
	struct seen	 s;
	struct stat	 st;
	int		 fd;

	memset(&s, 0, sizeof s);
	j = journal_open(path, &cause);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);
	journal_add(j, 1, "a", NULL);
	/* Buffered only: nothing in the file yet. */
	CU_ASSERT_EQUAL(journal_replay(path, collect, &s, &cause), 0);
	CU_ASSERT_EQUAL(s.n, 0);
	CU_ASSERT_EQUAL(journal_sync(j, &cause), 0);
	CU_ASSERT_EQUAL(journal_replay(path, collect, &s, &cause), 0);
	CU_ASSERT_EQUAL(s.n, 1);
	seen_free(&s);
	CU_ASSERT_EQUAL(journal_sync(j, &cause), 0);	/* nothing new */
	CU_ASSERT_EQUAL(journal_close(j, &cause), 0);

	/* A crash left a torn line: the reopened journal cuts it. */
	fd = open(path, O_WRONLY | O_APPEND);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, "2 torn x=", 9), 9);
	close(fd);

	j2 = journal_open(path, &cause);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j2);
	journal_add(j2, 3, "b", "k", "v", NULL);
	CU_ASSERT_EQUAL(journal_close(j2, &cause), 0);
	CU_ASSERT_EQUAL(journal_replay(path, collect, &s, &cause), 0);
	CU_ASSERT_EQUAL_FATAL(s.n, 2);
	CU_ASSERT_STRING_EQUAL(s.event[0], "a");
	CU_ASSERT_STRING_EQUAL(s.event[1], "b");
	CU_ASSERT_EQUAL(s.line[1], 2);
	seen_free(&s);

	/* A file that is only a torn line is cut to nothing. */
	fd = open(path, O_WRONLY | O_TRUNC);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, "9 nothing-complete", 18), 18);
	close(fd);
	j2 = journal_open(path, &cause);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j2);
	CU_ASSERT_EQUAL(journal_close(j2, &cause), 0);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_size, 0);

	unlink(path);
	free(path);
}

static void
test_open_errors(void)
{
	char		*path = path_in("nodir/x.log"), *cause = NULL;
	struct seen	 s;

	memset(&s, 0, sizeof s);
	CU_ASSERT_PTR_NULL(journal_open(path, &cause));
	CU_ASSERT_EQUAL(errno, ENOENT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "cannot open '"));
	free(cause);
	cause = NULL;
	CU_ASSERT_EQUAL(journal_replay(path, collect, &s, &cause), -1);
	CU_ASSERT_EQUAL(errno, ENOENT);
	CU_ASSERT_PTR_NOT_NULL(cause);
	free(cause);
	cause = NULL;
	free(path);
	CU_ASSERT_EQUAL(journal_replay(tmpdir, collect, &s, &cause), -1);
	CU_ASSERT_PTR_NOT_NULL(cause);
	free(cause);
	CU_ASSERT_EQUAL(journal_close(NULL, NULL), 0);
}

static void
test_malformed_file_names_path(void)
{
	char		*path = path_in("events.log"), *cause = NULL, *want;
	struct seen	 s;

	memset(&s, 0, sizeof s);
	CU_ASSERT_EQUAL(fs_write_atomic(path, "1 a\n2 b c\n", 10, 0600,
	    &cause), 0);
	CU_ASSERT_EQUAL(journal_replay(path, collect, &s, &cause), -1);
	want = xasprintf("%s:2: malformed event: field without '='", path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	CU_ASSERT_STRING_EQUAL(cause, want);
	free(want);
	free(cause);
	seen_free(&s);
	unlink(path);
	free(path);
}

static int
noop_cb(const struct journal_event *ev, void *arg)
{
	size_t	*n = arg;

	(*n) += ev->nf;
	return 0;
}

/* Arbitrary bytes never crash the reader (a poor man's fuzzer). */
static void
test_random_bytes(void)
{
	static const char alphabet[] = "0123456789 =%aAfFgz\n\t\x80-";
	char		 buf[256], *cause;
	size_t		 len, i, n;
	unsigned	 seed = 12345, round;
	int		 rc;

	for (round = 0; round < 20000; round++) {
		len = (size_t)(rand_r(&seed) % sizeof buf);
		for (i = 0; i < len; i++)
			buf[i] = alphabet[rand_r(&seed) %
			    (sizeof alphabet - 1)];
		cause = NULL;
		n = 0;
		rc = journal_replay_buf(buf, len, noop_cb, &n, &cause);
		CU_ASSERT(rc == 0 || (rc == -1 && cause != NULL));
		free(cause);
	}
}

/* Any bytes but NUL survive the round trip. */
struct rvals {
	char	**v;
	size_t	  n;
	size_t	  i;
	int	  bad;
};

static int
rvals_cb(const struct journal_event *ev, void *arg)
{
	struct rvals	*r = arg;
	const char	*v = journal_get(ev, "v");

	if (r->i >= r->n || v == NULL || strcmp(v, r->v[r->i]) != 0 ||
	    strcmp(ev->event, r->v[r->i]) != 0)
		r->bad++;
	r->i++;
	return 0;
}

static void
test_random_round_trip(void)
{
	char		*path = path_in("random.log"), *cause = NULL;
	struct journal	*j;
	struct rvals	 r = { NULL, 500, 0, 0 };
	unsigned	 seed = 777;
	size_t		 i, k, len;

	r.v = xcalloc(r.n, sizeof *r.v);
	j = journal_open(path, &cause);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	for (i = 0; i < r.n; i++) {
		len = 1 + (size_t)(rand_r(&seed) % 40);
		r.v[i] = xmalloc(len + 1);
		for (k = 0; k < len; k++)
			r.v[i][k] = (char)(1 + rand_r(&seed) % 255);
		r.v[i][len] = '\0';
		journal_add(j, (int64_t)i, r.v[i], "v", r.v[i], NULL);
	}
	CU_ASSERT_EQUAL(journal_close(j, &cause), 0);
	CU_ASSERT_EQUAL(journal_replay(path, rvals_cb, &r, &cause), 0);
	CU_ASSERT_EQUAL(r.i, r.n);
	CU_ASSERT_EQUAL(r.bad, 0);
	for (i = 0; i < r.n; i++)
		free(r.v[i]);
	free(r.v);
	unlink(path);
	free(path);
}

/* Fully random bytes, not only a friendly alphabet. */
static void
test_random_raw(void)
{
	char		 buf[512], *cause;
	size_t		 len, i, n;
	unsigned	 seed = 99, round;
	int		 rc;

	for (round = 0; round < 5000; round++) {
		len = (size_t)(rand_r(&seed) % sizeof buf);
		for (i = 0; i < len; i++)
			buf[i] = (char)(rand_r(&seed) & 0xff);
		cause = NULL;
		n = 0;
		rc = journal_replay_buf(buf, len, noop_cb, &n, &cause);
		CU_ASSERT(rc == 0 || (rc == -1 && cause != NULL));
		free(cause);
	}
}

/* One long line with many fields is linear, not quadratic. */
static void
test_long_line(void)
{
	size_t		 nf = 200000, i, n = 0;
	char		*line, *p, *cause = NULL;

	line = xmalloc(nf * 4 + 16);
	p = line;
	p += sprintf(p, "1 e");
	for (i = 0; i < nf; i++)
		p += sprintf(p, " k=");
	*p++ = '\n';
	CU_ASSERT_EQUAL(journal_replay_buf(line, (size_t)(p - line), noop_cb,
	    &n, &cause), 0);
	CU_ASSERT_EQUAL(n, nf);
	free(line);
}

int
main(void)
{
	static const struct cunit_test tests[] = {
		{ "round trip of awkward values", test_round_trip },
		{ "line encoding", test_line_is_encoded },
		{ "journal_get", test_get },
		{ "torn last line", test_torn_last_line },
		{ "malformed lines", test_malformed },
		{ "callback stops", test_callback_stops },
		{ "many events", test_many_events },
		{ "sync later: written now, synced by a thread", test_sync_later },
		{ "sync persists, reopen appends",
		    test_sync_persists_and_reopen },
		{ "open errors", test_open_errors },
		{ "file name in messages", test_malformed_file_names_path },
		{ "random bytes", test_random_bytes },
		{ "long line", test_long_line },
		{ "random round trip", test_random_round_trip },
		{ "random raw bytes", test_random_raw },
		{ NULL, NULL }
	};
	char		*cause = NULL;
	int		 rc;

	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	rc = cunit_run("journal", NULL, NULL, tests);
	if (fs_remove_tree(tmpdir, &cause) != 0) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
	}
	return rc;
}
