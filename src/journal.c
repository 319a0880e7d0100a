#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "journal.h"
#include "units.h"
#include "xmalloc.h"

#define JOURNAL_MAX_BYTES	((size_t)1 << 30)	/* replay bound */

/*
 * A write bumps wgen; a generation is durable once an fdatasync that
 * started after its write has returned (synced). journal_sync_later hands
 * the fdatasync to a thread of the journal's, so that the loop does not
 * wait for the disk; journal_sync and journal_close wait for that thread
 * and sync themselves. Everything below mu is shared with the thread.
 */
struct journal {
	int		 fd;
	char		*path;
	off_t		 size;		/* bytes known to be in the file */
	char		*buf;		/* buffered, not yet written */
	size_t		 len;
	size_t		 cap;

	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	pthread_t	 thr;
	bool		 thr_on;
	bool		 quit;
	bool		 busy;		/* an fdatasync of the thread's */
	uint64_t	 wgen;		/* writes so far */
	uint64_t	 synced;	/* wgen as of the last good fdatasync */
	uint64_t	 want;		/* asked of the thread; 0: nothing */
	int		 err;		/* errno of the thread's failed sync */
};

static const char hexdigits[] = "0123456789ABCDEF";

/* Cut a torn last line (no '\n': the write was never completed) so that the
 * next append starts a line of its own. */
static int
journal_cut_torn(struct journal *j)
{
	char	 chunk[4096];
	off_t	 end, pos;
	ssize_t	 n, i;
	size_t	 want;

	end = j->size;
	if (end == 0)
		return 0;
	if (pread(j->fd, chunk, 1, end - 1) != 1)
		return -1;
	if (chunk[0] == '\n')
		return 0;
	pos = end;
	while (pos > 0) {
		want = pos > (off_t)sizeof chunk ? sizeof chunk : (size_t)pos;
		n = pread(j->fd, chunk, want, pos - (off_t)want);
		if (n != (ssize_t)want) {
			if (n >= 0)
				errno = EIO;
			return -1;
		}
		for (i = n - 1; i >= 0; i--) {
			if (chunk[i] == '\n')
				break;
		}
		if (i >= 0) {
			pos = pos - (off_t)want + i + 1;
			break;
		}
		pos -= (off_t)want;
	}
	if (ftruncate(j->fd, pos) != 0)
		return -1;
	j->size = pos;
	return 0;
}

struct journal *
journal_open(const char *path, char **cause)
{
	struct journal	*j;
	struct stat	 st;
	int		 saved;

	j = xcalloc(1, sizeof *j);
	j->path = xstrdup(path);
	pthread_mutex_init(&j->mu, NULL);
	pthread_cond_init(&j->cv, NULL);
	j->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (j->fd < 0) {
		saved = errno;
		*cause = xasprintf("cannot open '%s': %s", path,
		    strerror(saved));
		goto fail;
	}
	if (fstat(j->fd, &st) != 0) {
		saved = errno;
		*cause = xasprintf("cannot stat '%s': %s", path,
		    strerror(saved));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		saved = EINVAL;
		*cause = xasprintf("'%s' is not a regular file", path);
		goto fail;
	}
	j->size = st.st_size;
	if (journal_cut_torn(j) != 0) {
		saved = errno;
		*cause = xasprintf("cannot repair the torn end of '%s': %s",
		    path, strerror(saved));
		goto fail;
	}
	return j;

fail:
	if (j->fd >= 0)
		close(j->fd);
	pthread_cond_destroy(&j->cv);
	pthread_mutex_destroy(&j->mu);
	free(j->path);
	free(j);
	errno = saved;
	return NULL;
}

/* The thread: fdatasync whenever asked, until told to quit. */
static void *
journal_syncer(void *arg)
{
	struct journal	*j = arg;
	uint64_t	 gen;
	int		 r, e;

	pthread_mutex_lock(&j->mu);
	for (;;) {
		while (j->want == 0 && !j->quit)
			pthread_cond_wait(&j->cv, &j->mu);
		if (j->want == 0)
			break;
		gen = j->want;
		j->want = 0;
		j->busy = true;
		pthread_mutex_unlock(&j->mu);
		r = fdatasync(j->fd);
		e = errno;
		pthread_mutex_lock(&j->mu);
		j->busy = false;
		if (r == 0) {
			if (gen > j->synced)
				j->synced = gen;
		} else if (j->err == 0)
			j->err = e;
		pthread_cond_broadcast(&j->cv);
	}
	pthread_mutex_unlock(&j->mu);
	return NULL;
}

/* Wait until the thread has nothing to do; its error, if any, is taken
 * into *err (0 when none). Called with mu held. */
static void
journal_idle(struct journal *j, int *err)
{
	while (j->busy || j->want != 0)
		pthread_cond_wait(&j->cv, &j->mu);
	*err = j->err;
	j->err = 0;
}

static void
journal_stop(struct journal *j)
{
	if (!j->thr_on)
		return;
	pthread_mutex_lock(&j->mu);
	j->quit = true;
	pthread_cond_broadcast(&j->cv);
	pthread_mutex_unlock(&j->mu);
	pthread_join(j->thr, NULL);
	j->thr_on = false;
}

int
journal_close(struct journal *j, char **cause)
{
	int	rc = 0, saved = 0;

	if (j == NULL)
		return 0;
	if (journal_sync(j, cause) != 0) {
		rc = -1;
		saved = errno;
		cause = NULL;	/* keep the first message */
	}
	journal_stop(j);
	if (close(j->fd) != 0 && rc == 0) {
		rc = -1;
		saved = errno;
		if (cause != NULL)
			*cause = xasprintf("cannot close '%s': %s", j->path,
			    strerror(saved));
	}
	pthread_cond_destroy(&j->cv);
	pthread_mutex_destroy(&j->mu);
	free(j->buf);
	free(j->path);
	free(j);
	if (rc != 0)
		errno = saved;
	return rc;
}

static int
journal_plain(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '%' && c != '=';
}

static void
journal_put(struct journal *j, const char *s, int encode)
{
	size_t	n = strlen(s), i;
	char	*p;

	/* At most three bytes out for one in. */
	if (n > (SIZE_MAX - j->len - 32) / 3)
		abort();
	xgrow(&j->buf, &j->cap, j->len + 3 * n + 32, 1);
	p = j->buf + j->len;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!encode || journal_plain(c))
			*p++ = (char)c;
		else {
			*p++ = '%';
			*p++ = hexdigits[c >> 4];
			*p++ = hexdigits[c & 0xf];
		}
	}
	j->len = (size_t)(p - j->buf);
}

void
journal_add(struct journal *j, int64_t wall_ms, const char *event, ...)
{
	va_list		 ap;
	const char	*k, *v;
	char		 num[UNITS_INT_LEN];

	/* without printf: a line an event of every node */
	journal_put(j, units_int(wall_ms, num), 0);
	journal_put(j, " ", 0);
	journal_put(j, event, 1);
	va_start(ap, event);
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		if (v == NULL)
			continue;
		journal_put(j, " ", 0);
		journal_put(j, k, 1);
		journal_put(j, "=", 0);
		journal_put(j, v, 1);
	}
	va_end(ap);
	journal_put(j, "\n", 0);
}

int
journal_write(struct journal *j, char **cause)
{
	int	saved;

	if (j->len != 0) {
		if (fs_write_all(j->fd, j->buf, j->len) != 0) {
			saved = errno;
			/* Drop what went out of a partial write; the buffer
			 * stays for the next try. */
			(void)ftruncate(j->fd, j->size);
			if (cause != NULL)
				*cause = xasprintf("cannot write '%s': %s",
				    j->path, strerror(saved));
			errno = saved;
			return -1;
		}
		j->size += (off_t)j->len;
		j->len = 0;
		pthread_mutex_lock(&j->mu);
		j->wgen++;
		pthread_mutex_unlock(&j->mu);
	}
	return 0;
}

static int
journal_sync_failed(struct journal *j, int err, char **cause)
{
	if (cause != NULL)
		*cause = xasprintf("cannot sync '%s': %s", j->path,
		    strerror(err));
	errno = err;
	return -1;
}

int
journal_sync(struct journal *j, char **cause)
{
	uint64_t	gen;
	int		err;

	if (journal_write(j, cause) != 0)
		return -1;
	pthread_mutex_lock(&j->mu);
	journal_idle(j, &err);
	gen = j->wgen;
	if (err == 0 && gen == j->synced) {
		pthread_mutex_unlock(&j->mu);
		return 0;
	}
	pthread_mutex_unlock(&j->mu);
	/* after a failed background sync, sync again: the failure is still
	 * told, and what can be made durable is */
	if (fdatasync(j->fd) != 0)
		return journal_sync_failed(j, errno, cause);
	pthread_mutex_lock(&j->mu);
	if (gen > j->synced)
		j->synced = gen;
	pthread_mutex_unlock(&j->mu);
	if (err != 0)
		return journal_sync_failed(j, err, cause);
	return 0;
}

int
journal_sync_later(struct journal *j, char **cause)
{
	sigset_t	all, old;
	int		err, rc;

	if (journal_write(j, cause) != 0)
		return -1;
	pthread_mutex_lock(&j->mu);
	err = j->err;
	j->err = 0;
	if (j->wgen != j->synced && j->want < j->wgen) {
		if (!j->thr_on) {
			/* every signal blocked: the loop reads them from
			 * its signalfd, none may be taken by this thread */
			sigfillset(&all);
			pthread_sigmask(SIG_SETMASK, &all, &old);
			rc = pthread_create(&j->thr, NULL, journal_syncer, j);
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			j->thr_on = rc == 0;
		}
		if (j->thr_on) {
			j->want = j->wgen;
			pthread_cond_signal(&j->cv);
		}
	}
	pthread_mutex_unlock(&j->mu);
	if (!j->thr_on)
		return journal_sync(j, cause);	/* no thread: as before */
	if (err != 0)
		return journal_sync_failed(j, err, cause);
	return 0;
}

int
journal_unsynced(struct journal *j)
{
	int	r;

	pthread_mutex_lock(&j->mu);
	r = j->len != 0 || j->wgen != j->synced;
	pthread_mutex_unlock(&j->mu);
	return r;
}

const char *
journal_get(const struct journal_event *ev, const char *key)
{
	size_t	i;

	for (i = 0; i < ev->nf; i++) {
		if (strcmp(ev->f[i].key, key) == 0)
			return ev->f[i].value;
	}
	return NULL;
}

static int
journal_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decode s in place (up to its NUL). NULL on success, else what is wrong. */
static const char *
journal_decode(char *s)
{
	char	*in = s, *out = s;
	int	 hi, lo;

	while (*in != '\0') {
		if (*in != '%') {
			*out++ = *in++;
			continue;
		}
		hi = journal_hexval((unsigned char)in[1]);
		lo = hi < 0 ? -1 : journal_hexval((unsigned char)in[2]);
		if (hi < 0 || lo < 0)
			return "bad percent escape";
		if (hi == 0 && lo == 0)
			return "encoded NUL byte";
		*out++ = (char)(hi << 4 | lo);
		in += 3;
	}
	*out = '\0';
	return NULL;
}

static int
journal_parse_ms(const char *s, int64_t *v)
{
	int64_t	 n = 0;
	int	 neg = 0, d;

	if (*s == '-') {
		neg = 1;
		s++;
	}
	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		d = *s - '0';
		if (n > (INT64_MAX - d) / 10)
			return -1;
		n = n * 10 + d;
	}
	*v = neg ? -n : n;
	return 0;
}

struct journal_parser {
	char			*line;		/* a NUL-terminated copy */
	size_t			 linecap;
	struct journal_field	*f;
	size_t			 fcap;
};

/* Parse the len bytes at p (without the '\n') into ev. NULL on success, else
 * what is wrong. */
static const char *
journal_parse_line(struct journal_parser *jp, const char *p, size_t len,
    struct journal_event *ev)
{
	char		*s, *tok, *next, *eq;
	const char	*why;
	size_t		 i;

	if (len == 0)
		return "empty line";
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c != ' ' && !(c > 0x20 && c < 0x7f))
			return "unencoded control or non-ASCII byte";
	}
	xgrow(&jp->line, &jp->linecap, len + 1, 1);
	memcpy(jp->line, p, len);
	jp->line[len] = '\0';
	s = jp->line;

	ev->nf = 0;
	ev->f = jp->f;
	tok = s;
	next = strchr(tok, ' ');
	if (next == NULL)
		return "no event name after the time";
	*next++ = '\0';
	if (journal_parse_ms(tok, &ev->wall_ms) != 0)
		return "bad time (not a decimal integer of milliseconds)";

	tok = next;
	next = strchr(tok, ' ');
	if (next != NULL)
		*next++ = '\0';
	if (*tok == '\0')
		return "empty event name";
	if (strchr(tok, '=') != NULL)
		return "'=' in the event name";
	if ((why = journal_decode(tok)) != NULL)
		return why;
	ev->event = tok;

	while (next != NULL) {
		tok = next;
		next = strchr(tok, ' ');
		if (next != NULL)
			*next++ = '\0';
		if (*tok == '\0')
			return "empty field (doubled or trailing space)";
		eq = strchr(tok, '=');
		if (eq == NULL)
			return "field without '='";
		if (eq == tok)
			return "field with an empty key";
		*eq = '\0';
		if (strchr(eq + 1, '=') != NULL)
			return "unencoded '=' in a value";
		if ((why = journal_decode(tok)) != NULL ||
		    (why = journal_decode(eq + 1)) != NULL)
			return why;
		xgrow(&jp->f, &jp->fcap, ev->nf + 1, sizeof *jp->f);
		ev->f = jp->f;
		jp->f[ev->nf].key = tok;
		jp->f[ev->nf].value = eq + 1;
		ev->nf++;
	}
	return NULL;
}

static int
journal_replay_named(const char *name, const char *buf, size_t len,
    int (*cb)(const struct journal_event *, void *), void *arg, char **cause)
{
	struct journal_parser	 jp = { NULL, 0, NULL, 0 };
	struct journal_event	 ev;
	const char		*p = buf, *end = buf + len, *nl, *why;
	int			 line = 0, rc = 0;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			break;		/* torn by a crash: ignored */
		if (line == INT_MAX) {
			if (cause != NULL)
				*cause = xasprintf("%s: too many lines", name);
			errno = EFBIG;
			rc = -1;
			break;
		}
		line++;
		memset(&ev, 0, sizeof ev);
		ev.line = line;
		why = journal_parse_line(&jp, p, (size_t)(nl - p), &ev);
		if (why != NULL) {
			if (cause != NULL)
				*cause = xasprintf("%s:%d: malformed event: %s",
				    name, line, why);
			errno = EINVAL;
			rc = -1;
			break;
		}
		if ((rc = cb(&ev, arg)) != 0)
			break;
		p = nl + 1;
	}
	free(jp.line);
	free(jp.f);
	return rc;
}

int
journal_replay_buf(const char *buf, size_t len,
    int (*cb)(const struct journal_event *, void *), void *arg, char **cause)
{
	return journal_replay_named("events.log", buf, len, cb, arg, cause);
}

int
journal_replay(const char *path,
    int (*cb)(const struct journal_event *, void *), void *arg, char **cause)
{
	struct stat	 st;
	char		*buf;
	size_t		 len;
	int		 fd, rc, saved;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		saved = errno;
		if (cause != NULL)
			*cause = xasprintf("cannot open '%s': %s", path,
			    strerror(saved));
		errno = saved;
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		saved = errno;
		close(fd);
		if (cause != NULL)
			*cause = xasprintf("cannot stat '%s': %s", path,
			    strerror(saved));
		errno = saved;
		return -1;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > JOURNAL_MAX_BYTES) {
		close(fd);
		if (cause != NULL)
			*cause = S_ISREG(st.st_mode) ?
			    xasprintf("'%s' is larger than %zu bytes", path,
			    JOURNAL_MAX_BYTES) :
			    xasprintf("'%s' is not a regular file", path);
		errno = S_ISREG(st.st_mode) ? EFBIG : EINVAL;
		return -1;
	}
	rc = fs_read_fd(fd, path, JOURNAL_MAX_BYTES, &buf, &len, cause);
	saved = errno;
	close(fd);
	if (rc != 0) {
		errno = saved;
		return -1;
	}
	rc = journal_replay_named(path, buf, len, cb, arg, cause);
	saved = errno;
	free(buf);
	errno = saved;
	return rc;
}
